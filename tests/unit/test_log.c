/*
 * test_log.c - logfmt lines (monitor/log.c): dm_logf writes numbers as printf would and
 * strings as logfmt values (bare when a plain token, else quoted with escapes), so a line
 * stays one line whatever a value holds.  Expected strings follow from the format rules in
 * log.h and C's printf.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/cli.h"
#include "monitor/log.h"
#include "reports/report.h"

/* The part of the logged line after `msg="<msg>"`, for the call made by fn. */
static char *logged_after_msg(void (*fn)(void))
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp);
    cr_assert_eq(dup2(fileno(tmp), 2), 2);
    fn();
    fflush(stderr);
    cr_assert_eq(dup2(saved, 2), 2);
    close(saved);
    rewind(tmp);
    static char line[4096];
    cr_assert_not_null(fgets(line, sizeof line, tmp));
    fclose(tmp);
    char *m = strstr(line, " msg=\"m\"");
    cr_assert_not_null(m, "%s", line);
    return m + strlen(" msg=\"m\"");
}

static void numbers(void)
{
    dm_logf(DM_LOG_WARN, "m", "a=%d b=%lld c=%zu d=%.3f e=%g f=%u g=%" PRIu64 " h=%5d i=%-3d|", -7,
            (long long)1 << 40, (size_t)12, 0.12345, 1e-7, 4000000000u, UINT64_MAX, 42, 5);
}

Test(log, logf_numbers_as_printf_writes_them)
{
    char want[512];
    snprintf(want, sizeof want,
             " a=%d b=%lld c=%zu d=%.3f e=%g f=%u g=%" PRIu64 " h=\"%5d\" i=\"%-3d\"|\n", -7,
             (long long)1 << 40, (size_t)12, 0.12345, 1e-7, 4000000000u, UINT64_MAX, 42, 5);
    cr_assert_str_eq(logged_after_msg(numbers), want);
}

static void strings(void)
{
    const char *volatile none = NULL; /* a NULL string, which printf's checker would flag */
    dm_logf(DM_LOG_ERROR, "m", "batch=%s reason=%s none=%s pct=100%%", "day-7",
            "a \"quoted\"\nvalue\\", none);
}

Test(log, logf_strings_are_logfmt_values)
{
    cr_assert_str_eq(logged_after_msg(strings),
                     " batch=day-7 reason=\"a \\\"quoted\\\"\\nvalue\\\\\" none=null pct=100%\n");
}

static void below_level(void)
{
    dm_log_set_level(DM_LOG_ERROR);
    dm_logf(DM_LOG_INFO, "dropped", "x=%d", 1);
    dm_logf(DM_LOG_ERROR, "m", "x=%d", 2);
}

Test(log, logf_respects_the_level)
{
    cr_assert_str_eq(logged_after_msg(below_level), " x=2\n");
}

/* ---- the escaper (log.h): every expected string follows from its rules ---------------- */

static void expect_escaped(const char *in, size_t len, int flags, const char *want)
{
    char out[256];
    cr_assert_eq(dm_escape(in, len, flags, out, sizeof out), len, "all of \"%s\"", want);
    cr_assert_str_eq(out, want);
}
#define ESCAPED(lit, flags, want) expect_escaped(lit, sizeof lit - 1, flags, want)

Test(log, escape_control_characters)
{
    /* the hostile header of issue 16: a colour change and a line break */
    ESCAPED("a\x1b[31mb\nc", 0, "a\\x1b[31mb\\nc");
    ESCAPED("\t\r\x7f\x01", 0, "\\t\\r\\x7f\\x01");
    ESCAPED("x\0y", 0, "x\\x00y");
    /* C1 controls in UTF-8: U+009B is CSI, U+0085 NEL; U+00A0 is a character */
    ESCAPED("\xc2\x9b"
            "31m\xc2\x85\xc2\xa0",
            0, "\\u009b31m\\u0085\xc2\xa0");
    /* UTF-8 passes, up to four bytes */
    ESCAPED("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* not UTF-8: a stray byte, a lone C1 byte (8-bit CSI), a cut sequence, an overlong form,
     * a surrogate, past U+10FFFF */
    ESCAPED("\xff", 0, "\\xff");
    ESCAPED("\x9b", 0, "\\x9b");
    ESCAPED("\xe2\x82", 0, "\\xe2\\x82");
    ESCAPED("\xc0\xaf", 0, "\\xc0\\xaf");
    ESCAPED("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");
    ESCAPED("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80");
    /* quotes and backslashes: escaped only when quoted */
    ESCAPED("a\"b\\c", 0, "a\"b\\c");
    ESCAPED("a\"b\\c", DM_ESC_QUOTED, "a\\\"b\\\\c");
}

Test(log, escape_never_cuts_an_escape_or_a_character)
{
    char out[6];
    /* "\x1b" takes 4 bytes: a second one does not fit in 6 with the NUL */
    cr_assert_eq(dm_escape("\x1b\x1b", 2, 0, out, sizeof out), 1);
    cr_assert_str_eq(out, "\\x1b");
    /* nor does a 4-byte character after 2 bytes */
    cr_assert_eq(dm_escape("ab\xf0\x9f\x98\x80", 6, 0, out, sizeof out), 2);
    cr_assert_str_eq(out, "ab");
    cr_assert_eq(dm_escape("abc", 3, 0, out, 1), 0);
    cr_assert_str_eq(out, "");
    char *d = dm_escape_dup("\x1b\x1b\x1b\xc2\x9b");
    cr_assert_str_eq(d, "\\x1b\\x1b\\x1b\\u009b");
    free(d);
}

static void hostile(void)
{
    dm_logf(DM_LOG_ERROR, "m", "column=%s",
            "c\xc2\x9b"
            "2J\xff");
}

Test(log, logf_escapes_c1_and_bytes_that_are_not_utf8)
{
    cr_assert_str_eq(logged_after_msg(hostile), " column=\"c\\u009b2J\\xff\"\n");
}

/* The summary `compare` prints: column names and reasons are data, escaped. */
Test(log, summary_escapes_names_and_reasons)
{
    stats_column_result col;
    memset(&col, 0, sizeof col);
    col.name = "x\x1b]0;owned\x07";
    col.kind = STATS_NUM;
    col.test = STATS_TEST_WASSERSTEIN;
    col.score = 0.5;
    col.threshold = 0.1;
    col.drifted = true;
    stats_skipped_column sk = {"evil\x1b[31m\nname",
                               "numeric in reference, but the current data has "
                               "text (line 3: \"a\\\"b\")\x1b[0m"};
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.cols = &col;
    run.ncols = 1;
    run.skipped = &sk;
    run.nskipped = 1;
    run.retrain_fraction = 0.5;
    run.verdict.number_of_columns = 1;
    run.verdict.number_of_drifted_columns = 1;
    run.verdict.share_of_drifted_columns = 1.0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    dm_cli_print_summary(f, &run);
    cr_assert_eq(fclose(f), 0);
    cr_assert_null(strchr(text, '\x1b'), "%s", text);
    cr_assert_null(strchr(text, '\x07'), "%s", text);
    cr_assert_not_null(strstr(text, "  drifted  x\\x1b]0;owned\\x07 "), "%s", text);
    /* one line per column; the reason's own escapes (dm_show_value's) are not doubled */
    cr_assert_not_null(strstr(text, "  skipped  evil\\x1b[31m\\nname"), "%s", text);
    cr_assert_not_null(strstr(text, "(line 3: \"a\\\"b\")\\x1b[0m\n"), "%s", text);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 3, "%s", text);
    free(text);
}

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

#include "monitor/log.h"

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

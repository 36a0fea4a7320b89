/*
 * test_dataset.c - suite "dataset": number parsing, NA tokens, the dm_builder.
 *
 * Reference values: glibc strtod (correctly rounded, IEEE round-to-nearest) on the same
 * text, compared bit for bit; pandas' default NA list (pandas/_libs/parsers.pyx
 * STR_NA_VALUES); the others follow from the definitions in dataset.h.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/dataset.h"
#include "stats/stats.h"

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* strtod's verdict on s: a number when it consumes everything but trailing blanks and the
 * value is not NaN. */
static bool ref_parse(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\v' ||
           *end == '\f')
        end++;
    if (*end != '\0' || isnan(v))
        return false;
    *out = v;
    return true;
}

static void check_same_as_strtod(const char *s)
{
    double want = 0, got = 0;
    bool ok_want = ref_parse(s, &want);
    bool ok_got = dm_parse_number(s, strlen(s), &got);
    cr_assert_eq(ok_got, ok_want, "\"%s\": accepted %d, strtod %d", s, ok_got, ok_want);
    if (ok_want)
        cr_assert_eq(bits(got), bits(want), "\"%s\": %.17g (0x%016llx) vs strtod %.17g (0x%016llx)",
                     s, got, (unsigned long long)bits(got), want, (unsigned long long)bits(want));
}

Test(dataset, parse_edge_cases_match_strtod)
{
    static const char *const cases[] = {"0",
                                        "-0",
                                        "+0",
                                        "-0.0",
                                        "0.0",
                                        "00012",
                                        "1",
                                        "-1",
                                        "+1",
                                        ".5",
                                        "5.",
                                        "-.5",
                                        "+.5",
                                        "0.1",
                                        "0.2",
                                        "0.3",
                                        "123456.5",
                                        "0.5123456789",
                                        "123456789012345",
                                        "1234567890123456",
                                        "12345678901234567890",
                                        "9007199254740993",
                                        "9007199254740992",
                                        "0.000000000000000000001",
                                        "0.0000000000000000000001",
                                        "0.00000000000000000000001",
                                        "1.000000000000001",
                                        "3.141592653589793",
                                        "2.718281828459045235360287",
                                        "1e5",
                                        "1E5",
                                        "-1e-5",
                                        "1e400",
                                        "-1e400",
                                        "1e-400",
                                        "4.9e-324",
                                        "2.2250738585072014e-308",
                                        "1.7976931348623157e308",
                                        "1.7976931348623159e308",
                                        "0x1p3",
                                        "0X1A",
                                        "-0x1.8p1",
                                        "inf",
                                        "-inf",
                                        "+inf",
                                        "Infinity",
                                        "-Infinity",
                                        "INF",
                                        "infinity",
                                        " 1.5",
                                        "1.5 ",
                                        "\t-2\t",
                                        " \r\n7\n",
                                        "",
                                        " ",
                                        ".",
                                        "-",
                                        "+",
                                        "-.",
                                        "1..2",
                                        "--1",
                                        "+-1",
                                        "1 2",
                                        "1.5x",
                                        "x1",
                                        "1e",
                                        "1e+",
                                        "e5",
                                        "nan",
                                        "NaN",
                                        "-nan",
                                        "NAN",
                                        "nan(123)",
                                        "1,5",
                                        "1_000",
                                        "0x",
                                        "99999999999999999999999999",
                                        "0.12345678901234567890123456789",
                                        "123456789012345.0",
                                        "12345678901234.5",
                                        "1234567890123.45",
                                        "4503599627370497.5",
                                        "0.1000000000000000055511151231257827",
                                        "100000000000000000000000",
                                        "1000000000000000000000",
                                        "10000000000000000000000"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_same_as_strtod(cases[i]);
}

/* Deterministic xorshift64* generator. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

Test(dataset, parse_random_decimals_match_strtod)
{
    /* 300000 random decimals: 1..25 digits, a random point, sign, sometimes an exponent or
     * blanks: the fast path and the strtod path must both agree with strtod bit for bit. */
    char s[80];
    for (int t = 0; t < 300000; t++) {
        size_t n = 0;
        uint64_t r = rng();
        if (r & 1)
            s[n++] = (r & 2) ? '-' : '+';
        if ((r >> 2 & 15) == 0)
            s[n++] = ' ';
        unsigned ndig = 1 + (unsigned)(rng() % 25);
        unsigned point = (unsigned)(rng() % (ndig + 2)); /* ndig + 1: no point */
        for (unsigned d = 0; d < ndig; d++) {
            if (d == point)
                s[n++] = '.';
            s[n++] = (char)('0' + rng() % 10);
        }
        if (point == ndig)
            s[n++] = '.';
        if ((r >> 8 & 7) == 0)
            n += (size_t)snprintf(s + n, sizeof s - n, "e%d", (int)(rng() % 700) - 350);
        if ((r >> 12 & 15) == 0)
            s[n++] = '\t';
        s[n] = '\0';
        check_same_as_strtod(s);
    }
}

Test(dataset, parse_random_doubles_roundtrip)
{
    /* %.15g and %.17g of random bit patterns: short forms take the fast path, long ones
     * strtod; both must give strtod's bits. */
    char s[64];
    for (int t = 0; t < 100000; t++) {
        uint64_t u = rng();
        double x;
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x))
            continue;
        snprintf(s, sizeof s, (t & 1) ? "%.15g" : "%.17g", x);
        check_same_as_strtod(s);
        snprintf(s, sizeof s, "%.6f", fmod(x, 1e9));
        check_same_as_strtod(s);
    }
}

Test(dataset, parse_needs_no_nul)
{
    const char buf[] = "12345";
    double v = 0;
    cr_assert(dm_parse_number(buf, 3, &v));
    cr_assert_eq(v, 123.0);
    const char e[] = "1e5x";
    cr_assert(dm_parse_number(e, 3, &v)); /* "1e5" */
    cr_assert_eq(v, 1e5);
    cr_assert_not(dm_parse_number(e, 4, &v));
}

Test(dataset, na_tokens)
{
    /* pandas' STR_NA_VALUES, the empty string included */
    static const char *const na[] = {"",         "#N/A", "#N/A N/A", "#NA",    "-1.#IND",
                                     "-1.#QNAN", "-NaN", "-nan",     "1.#IND", "1.#QNAN",
                                     "<NA>",     "N/A",  "NA",       "NULL",   "NaN",
                                     "None",     "n/a",  "nan",      "null"};
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        cr_assert(dm_is_missing_token(na[i], strlen(na[i])), "\"%s\" is an NA token", na[i]);
    static const char *const not_na[] = {"na",   "NAN",    " NA", "NA ",    "nan ", "none", "Null",
                                         "N/A ", "#N/A N", "-",   "1.#INF", "NaNa", "0"};
    for (size_t i = 0; i < sizeof not_na / sizeof not_na[0]; i++)
        cr_assert_not(dm_is_missing_token(not_na[i], strlen(not_na[i])), "\"%s\" is not NA",
                      not_na[i]);
    /* length decides, not a NUL */
    cr_assert(dm_is_missing_token("NAxyz", 2));
}

/* ---- builder ------------------------------------------------------------------------ */

static dm_builder *one_col(const char *name, bool text)
{
    const char *names[] = {name};
    bool ft[] = {text};
    dm_builder *b = dm_builder_alloc(1, names, ft);
    cr_assert_not_null(b);
    return b;
}

static void feed(dm_builder *b, const char *const *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(dm_builder_field(b, 0, vals[i], strlen(vals[i]), (uint64_t)i + 2), 0);
        dm_builder_end_row(b);
    }
}

Test(dataset, numbers_sorted_counted_negzero_merged)
{
    dm_builder *b = one_col("x", false);
    static const char *const v[] = {"3",  "-0.0", "0",   "1.5",       "",      "NA",  "0.0",
                                    "-0", "3",    "inf", "-Infinity", "1e400", "nan", "2"};
    feed(b, v, sizeof v / sizeof v[0]);
    bool flag = true;
    cr_assert_eq(dm_builder_flipped(b, &flag), 0);
    cr_assert_not(flag);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    cr_assert_eq(ds.rows, 14);
    cr_assert_str_eq(ds.source, "mem");
    dm_column *c = &ds.col[0];
    cr_assert_eq(c->storage, DM_STORE_NUM);
    cr_assert_eq(c->missing, 3);   /* "", "NA", "nan" */
    cr_assert_eq(c->nonfinite, 3); /* inf, -Infinity, 1e400 overflows to inf */
    cr_assert_eq(c->n, 8);
    /* -0.0, 0, 0.0, -0 are one value, stored as +0.0 */
    static const double want_v[] = {0.0, 1.5, 2.0, 3.0};
    static const uint64_t want_c[] = {4, 1, 1, 2};
    cr_assert_eq(c->n_distinct, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(c->value[i], want_v[i]);
        cr_assert_eq(c->count[i], want_c[i]);
    }
    cr_assert_not(signbit(c->value[0]));
    cr_assert_not(c->is_int);
    cr_assert_null(c->first_text);
    cr_assert_eq(dm_dataset_find(&ds, "x"), 0);
    cr_assert_eq(dm_dataset_find(&ds, "y"), -1);
    dm_dataset_release(&ds);
    cr_assert_eq(ds.ncols, 0);
    cr_assert_null(ds.col);
}

/* dm_builder_numbers over a row-major block is n calls of dm_builder_number: the same
 * values, counts, missing, non-finite and integer flag, whatever the mix.  Column 0 takes
 * random numbers with NaN, infinities, -0.0 and integers; column 1 only integers (stays
 * integer); column 2 turns text first (numbers then go in as text). */
/* Two datasets with the same rows and columns, value for value. */
static void assert_same_dataset(const dm_dataset *a, const dm_dataset *b)
{
    cr_assert_eq(a->rows, b->rows);
    cr_assert_eq(a->ncols, b->ncols);
    for (size_t c = 0; c < a->ncols; c++) {
        const dm_column *x = &a->col[c], *y = &b->col[c];
        cr_assert_eq(x->storage, y->storage, "column %zu", c);
        cr_assert_eq(x->missing, y->missing, "column %zu", c);
        cr_assert_eq(x->nonfinite, y->nonfinite, "column %zu", c);
        cr_assert_eq(x->n, y->n, "column %zu", c);
        cr_assert_eq(x->is_int, y->is_int, "column %zu", c);
        if (x->storage == DM_STORE_NUM) {
            cr_assert_eq(x->n_distinct, y->n_distinct, "column %zu", c);
            cr_assert_eq(memcmp(x->value, y->value, x->n_distinct * sizeof *x->value), 0);
            cr_assert_eq(memcmp(x->count, y->count, x->n_distinct * sizeof *x->count), 0);
        } else {
            cr_assert_eq(x->n_cats, y->n_cats, "column %zu", c);
            for (size_t k = 0; k < x->n_cats; k++) {
                cr_assert_str_eq(x->cat[k], y->cat[k]);
                cr_assert_eq(x->cat_count[k], y->cat_count[k]);
            }
        }
    }
}

/* Finish and free two builders fed the same data: the same datasets, left in *a and *b. */
static void finish_both_same(dm_builder *x, dm_builder *y, dm_dataset *a, dm_dataset *b)
{
    cr_assert_eq(dm_builder_finish(x, "mem", a), 0);
    cr_assert_eq(dm_builder_finish(y, "mem", b), 0);
    dm_builder_free(x);
    dm_builder_free(y);
    assert_same_dataset(a, b);
}

Test(dataset, numbers_block_equals_number_by_number)
{
    const char *names[] = {"a", "b", "c"};
    bool ft[] = {false, false, false};
    dm_builder *one = dm_builder_alloc(3, names, ft), *blk = dm_builder_alloc(3, names, ft);
    cr_assert(one && blk);
    cr_assert_eq(dm_builder_field(one, 2, "x", 1, 2), 0);
    cr_assert_eq(dm_builder_field(blk, 2, "x", 1, 2), 0);
    enum { ROWS = 5000, BLOCK = 64 };
    double block[BLOCK * 3];
    size_t in_block = 0;
    srand(7);
    for (size_t r = 0; r < ROWS; r++) {
        int k = rand() % 10;
        double v = k == 0   ? NAN
                   : k == 1 ? INFINITY
                   : k == 2 ? -0.0
                   : k < 6  ? (double)(rand() % 50)
                            : rand() / 7.0;
        double row[3] = {v, (double)(rand() % 1000 - 500), (double)(rand() % 20) / 4.0};
        for (size_t c = 0; c < 3; c++) {
            cr_assert_eq(dm_builder_number(one, c, row[c]), 0);
            block[in_block * 3 + c] = row[c];
        }
        dm_builder_end_row(one);
        dm_builder_end_row(blk);
        if (++in_block == BLOCK || r + 1 == ROWS) {
            for (size_t c = 0; c < 3; c++)
                cr_assert_eq(dm_builder_numbers(blk, c, block + c, 3, in_block), 0);
            in_block = 0;
        }
    }
    dm_dataset a, b;
    finish_both_same(one, blk, &a, &b);
    cr_assert(a.col[0].missing > 0 && a.col[0].nonfinite > 0 && !a.col[0].is_int);
    cr_assert(a.col[1].is_int && a.col[1].missing == 0);
    cr_assert_eq(a.col[2].storage, DM_STORE_STR);
    dm_dataset_release(&a);
    dm_dataset_release(&b);
}

/* dm_builder_plain_line (the CSV reader's per-line path, which parses plain decimals while
 * it looks for the commas) against dm_builder_field on the same fields split by hand: the
 * same datasets, the same columns turned to text, the same field counts.  Fields are drawn
 * from edge cases of the number syntax (signs, points, exponents, blanks, NA tokens, 19-20
 * digits, 2^53 + 1, 23 decimals), mantissas of 15-20 digits (the fast path's limit is
 * 2^53: past it a rounding twice would show), text that starts like a number, random
 * decimals and integers; lines have fewer and more fields than the map, which skips one file
 * column. */
Test(dataset, plain_line_equals_field_by_field)
{
    /* numbers, blanks around numbers, NA tokens: none of them turns a column to text */
    static const char *const num[] = {"0",
                                      "-0",
                                      "+0",
                                      "-0.0",
                                      "00012",
                                      "1.",
                                      "-.5",
                                      ".5",
                                      "",
                                      "1e5",
                                      "1E-3",
                                      " 12",
                                      "12 ",
                                      "\t3",
                                      "NA",
                                      "NaN",
                                      "nan",
                                      "null",
                                      "N/A",
                                      "inf",
                                      "-inf",
                                      "Infinity",
                                      "0x1p3",
                                      "123456789012345678",
                                      "1234567890123456789",
                                      "12345678901234567890",
                                      "9007199254740993",
                                      "9007199254740992",
                                      "-9007199254740993.5",
                                      "0.1234567890123456789012",
                                      "1.00000000000000000000001",
                                      "3.14",
                                      "-2.5",
                                      "100",
                                      "4500",
                                      "365243",
                                      "-17000"};
    static const char *const text[] = {"+.",  "-",      "+",   ".",   "abc",
                                       "k01", "12.5.3", "--1", "+-1", "1-"};
    const size_t nnum = sizeof num / sizeof num[0], ntext = sizeof text / sizeof text[0];
    const char *names[] = {"a", "b", "c", "d", "e"};
    bool ft[] = {false, false, false, false, true};
    const long map[] = {0, -1, 1, 2, 3, 4};
    const size_t nmap = sizeof map / sizeof map[0];
    dm_builder *by_line = dm_builder_alloc(5, names, ft),
               *by_field = dm_builder_alloc(5, names, ft);
    cr_assert(by_line && by_field);
    srand(11);
    char line[512], field[64];
    for (int r = 0; r < 20000; r++) {
        size_t nf = 4 + (size_t)(rand() % 5), len = 0;
        for (size_t i = 0; i < nf; i++) {
            int k = rand() % 100;
            if ((i == 0 && k < 2) || (i >= 4 && k < 5)) /* columns a, e: some text */
                snprintf(field, sizeof field, "%s", text[(size_t)rand() % ntext]);
            else if ((i == 2 && k < 25) || (i >= 4 && k < 25)) /* column c: edge cases */
                snprintf(field, sizeof field, "%s", num[(size_t)rand() % nnum]);
            else if (i == 2 && k < 50) { /* 15-20 digits, the point anywhere: around 2^53 */
                char d[24];
                int nd = 15 + rand() % 6, pt = rand() % (nd + 1);
                for (int q = 0; q < nd; q++)
                    d[q] = (char)('0' + (q == 0 ? 1 + rand() % 9 : rand() % 10));
                snprintf(field, sizeof field, "%s%.*s.%.*s", k % 2 ? "-" : "", pt, d, nd - pt,
                         d + pt);
            } else if (k < 90) /* random decimals, up to 7 places */
                snprintf(field, sizeof field, "%.*f", rand() % 8, (rand() - RAND_MAX / 2) / 97.0);
            else
                snprintf(field, sizeof field, "%d", rand() % 1000 - 500);
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", i ? "," : "", field);
        }
        size_t got = 0;
        cr_assert_eq(dm_builder_plain_line(by_line, map, nmap, line, len, (uint64_t)r + 2, &got),
                     0);
        cr_assert_eq(got, nf, "line %d: %zu fields, %zu counted", r, nf, got);
        const char *f = line, *end = line + len;
        for (size_t i = 0;; i++) {
            const char *fe = memchr(f, ',', (size_t)(end - f));
            if (!fe)
                fe = end;
            if (i < nmap && map[i] >= 0)
                cr_assert_eq(dm_builder_field(by_field, (size_t)map[i], f, (size_t)(fe - f),
                                              (uint64_t)r + 2),
                             0);
            if (fe == end)
                break;
            f = fe + 1;
        }
        dm_builder_end_row(by_line);
        dm_builder_end_row(by_field);
    }
    bool fl_line[5], fl_field[5];
    cr_assert_eq(dm_builder_flipped(by_line, fl_line), dm_builder_flipped(by_field, fl_field));
    cr_assert_eq(memcmp(fl_line, fl_field, sizeof fl_line), 0);
    cr_assert(fl_line[0] && !fl_line[1] && !fl_line[2], "column a flipped, b and c did not");
    dm_dataset a, b;
    finish_both_same(by_line, by_field, &a, &b);
    dm_dataset_release(&a);
    dm_dataset_release(&b);
}

/* dm_builder_plain_line holds a line's numbers for (value, count) tables back until the end
 * of the line, or until it holds 64 of them: on lines of 150 fields (two flushes a line) whose
 * columns stay tables (few values), turn raw partway (many values), turn to text partway or
 * get missing values, text and infinities through the per-field path, it gives what
 * dm_builder_field gives field by field, and after every line each column is in the same
 * state (nothing of a line is still held back when the next one starts). */
Test(dataset, plain_line_wide_tables_equal_field_by_field)
{
    enum { NC = 150, ROWS = 6000 };
    char names[NC][8];
    const char *cn[NC];
    long map[NC];
    for (size_t i = 0; i < NC; i++) {
        snprintf(names[i], sizeof names[i], "c%03zu", i);
        cn[i] = names[i];
        map[i] = (long)i;
    }
    dm_builder *by_line = dm_builder_alloc(NC, cn, NULL),
               *by_field = dm_builder_alloc(NC, cn, NULL);
    cr_assert(by_line && by_field);
    dm_builder_expect(by_line, ROWS);
    dm_builder_expect(by_field, ROWS);
    srand(23);
    static char line[NC * 24];
    char field[24];
    for (int r = 0; r < ROWS; r++) {
        size_t len = 0;
        for (size_t i = 0; i < NC; i++) {
            int k = rand() % 1000;
            if (i == 7 && r == ROWS / 2)
                snprintf(field, sizeof field, "k01"); /* column 7 turns to text */
            else if (k < 10)
                field[0] = '\0'; /* missing */
            else if (k < 12)
                snprintf(field, sizeof field, "%s", k % 2 ? "inf" : "1e2");
            else if (i % 3 == 0) /* few values: stays a table */
                snprintf(field, sizeof field, "%d", rand() % 7 - 3);
            else if (i % 3 == 1) /* many: turns raw partway */
                snprintf(field, sizeof field, "%.6f", (rand() - RAND_MAX / 2) / 997.0);
            else /* a few hundred values with decimals */
                snprintf(field, sizeof field, "%.2f", (rand() % 400) / 8.0);
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", i ? "," : "", field);
        }
        size_t got = 0;
        cr_assert_eq(dm_builder_plain_line(by_line, map, NC, line, len, (uint64_t)r + 2, &got), 0);
        cr_assert_eq(got, (size_t)NC);
        const char *f = line, *end = line + len;
        for (size_t i = 0; i < NC; i++) {
            const char *fe = memchr(f, ',', (size_t)(end - f));
            if (!fe)
                fe = end;
            cr_assert_eq(dm_builder_field(by_field, i, f, (size_t)(fe - f), (uint64_t)r + 2), 0);
            f = fe + 1;
        }
        dm_builder_end_row(by_line);
        dm_builder_end_row(by_field);
        for (size_t i = 0; i < NC; i++)
            cr_assert_eq(dm_builder_state(by_line, i), dm_builder_state(by_field, i),
                         "line %d, column %zu", r + 2, i);
    }
    cr_assert_eq(dm_builder_state(by_line, 0), DM_BCOL_TABLE);
    cr_assert_eq(dm_builder_state(by_line, 1), DM_BCOL_RAW);
    cr_assert_eq(dm_builder_state(by_line, 7), DM_BCOL_TEXT);
    bool fl_line[NC], fl_field[NC];
    cr_assert_eq(dm_builder_flipped(by_line, fl_line), dm_builder_flipped(by_field, fl_field));
    cr_assert_eq(memcmp(fl_line, fl_field, sizeof fl_line), 0);
    dm_dataset a, b;
    finish_both_same(by_line, by_field, &a, &b);
    dm_dataset_release(&a);
    dm_dataset_release(&b);
}

Test(dataset, is_int_follows_pandas_int64)
{
    /* pandas reads a column as int64 only when every field is an integer literal and none
     * is missing: "1.0" or a missing value make it float64 */
    struct {
        const char *v[4];
        bool want;
    } cases[] = {
        {{"1", "-2", "+3", "007"}, true}, {{"1", "2", "3", "1.0"}, false},
        {{"1", "2", "3", ""}, false},     {{"1", "2", "3", "NA"}, false},
        {{"1", "2", "3", "inf"}, false},  {{"1", "2", "3", "1e3"}, false},
        {{" 4", "5 ", "6", "7"}, true},   {{"1", "2", "3", "12345678901234567890"}, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dm_builder *b = one_col("x", false);
        feed(b, cases[k].v, 4);
        dm_dataset ds;
        cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
        dm_builder_free(b);
        cr_assert_eq(ds.col[0].is_int, cases[k].want, "case %zu", k);
        dm_dataset_release(&ds);
    }
}

Test(dataset, text_after_numbers_flips)
{
    dm_builder *b = one_col("x", false);
    static const char *const v[] = {"", "1", "2.50", "abc", "1", "NA", "abc", "inf"};
    feed(b, v, sizeof v / sizeof v[0]);
    bool flag = false;
    cr_assert_eq(dm_builder_flipped(b, &flag), 1);
    cr_assert(flag);
    dm_builder_free(b);

    /* the re-read with the column forced to text: raw strings, as pandas' object column */
    b = one_col("x", true);
    feed(b, v, sizeof v / sizeof v[0]);
    cr_assert_eq(dm_builder_flipped(b, &flag), 0);
    cr_assert_not(flag);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    dm_column *c = &ds.col[0];
    cr_assert_eq(c->storage, DM_STORE_STR);
    cr_assert_eq(c->missing, 2);
    cr_assert_eq(c->nonfinite, 0);
    cr_assert_eq(c->n, 6);
    static const char *const want[] = {"1", "2.50", "abc", "inf"}; /* strcmp order */
    static const uint64_t wc[] = {2, 1, 2, 1};
    cr_assert_eq(c->n_cats, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(c->cat[i], want[i]);
        cr_assert_eq(c->cat_count[i], wc[i]);
    }
    cr_assert_str_eq(c->first_text, "abc");
    cr_assert_eq(c->first_text_line, 5); /* fed as line i + 2, i = 3 */
    cr_assert_not(c->is_int);
    dm_dataset_release(&ds);
}

Test(dataset, text_before_numbers_does_not_flip)
{
    dm_builder *b = one_col("x", false);
    static const char *const v[] = {"NA", "b", "a", "10", "9", "b"};
    feed(b, v, sizeof v / sizeof v[0]);
    cr_assert_eq(dm_builder_flipped(b, NULL), 0);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    dm_column *c = &ds.col[0];
    cr_assert_eq(c->storage, DM_STORE_STR);
    static const char *const want[] = {"10", "9", "a", "b"};
    static const uint64_t wc[] = {1, 1, 1, 2};
    cr_assert_eq(c->n_cats, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(c->cat[i], want[i]);
        cr_assert_eq(c->cat_count[i], wc[i]);
    }
    cr_assert_str_eq(c->first_text, "b");
    cr_assert_eq(c->first_text_line, 3);
    dm_dataset_release(&ds);
}

Test(dataset, many_categories_and_numbers)
{
    /* 20000 rows over 5000 distinct strings "k<i mod 5000>" (each 4 times), and the numbers
     * 776 - i mod 777 fed in descending runs: 20000 = 25 * 777 + 575, so the values
     * 776 - r for r < 575 (i.e. v > 201) come 26 times, the others 25. */
    const char *names[] = {"s", "v"};
    dm_builder *b = dm_builder_alloc(2, names, NULL);
    cr_assert_not_null(b);
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(buf, sizeof buf, "k%d", i % 5000);
        cr_assert_eq(dm_builder_field(b, 0, buf, (size_t)n, (uint64_t)i + 2), 0);
        cr_assert_eq(dm_builder_number(b, 1, (double)(776 - i % 777)), 0);
        dm_builder_end_row(b);
    }
    dm_builder_null(b, 1);
    cr_assert_eq(dm_builder_number(b, 1, NAN), 0);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    cr_assert_eq(ds.col[0].n_cats, 5000);
    for (size_t i = 0; i < 5000; i++) {
        cr_assert_eq(ds.col[0].cat_count[i], 4);
        if (i)
            cr_assert_lt(strcmp(ds.col[0].cat[i - 1], ds.col[0].cat[i]), 0);
    }
    dm_column *v = &ds.col[1];
    cr_assert_eq(v->n_distinct, 777);
    cr_assert_eq(v->missing, 2);
    cr_assert_eq(v->n, 20000);
    cr_assert(v->is_int == false); /* missing values present */
    for (size_t i = 0; i < 777; i++) {
        cr_assert_eq(v->value[i], (double)i);
        cr_assert_eq(v->count[i], i > 201 ? 26u : 25u, "value %zu", i);
    }
    dm_dataset_release(&ds);
}

Test(dataset, builder_edge_arguments)
{
    const char *names[] = {"a"};
    dm_builder *b = dm_builder_alloc(1, names, NULL);
    cr_assert_not_null(b);
    cr_assert_eq(dm_builder_field(b, 1, "1", 1, 2), -1); /* no column 1 */
    cr_assert_eq(dm_builder_number(b, 7, 1.0), -1);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "empty", &ds), 0); /* no rows: an empty column */
    cr_assert_eq(ds.rows, 0);
    cr_assert_eq(ds.col[0].n, 0);
    cr_assert_eq(ds.col[0].n_distinct, 0);
    cr_assert_not(ds.col[0].is_int);
    dm_dataset_release(&ds);
    dm_builder_free(b);
    dm_builder_free(NULL);
    dm_dataset_release(NULL);
}

/* ---- merging two builders (two halves of one file) ------------------------------------ */

static dm_builder *two_cols(void)
{
    const char *names[] = {"num", "txt"};
    dm_builder *b = dm_builder_alloc(2, names, NULL);
    cr_assert_not_null(b);
    return b;
}

static void row2(dm_builder *b, const char *x, const char *y, uint64_t line)
{
    cr_assert_eq(dm_builder_field(b, 0, x, strlen(x), line), 0);
    cr_assert_eq(dm_builder_field(b, 1, y, strlen(y), line), 0);
    dm_builder_end_row(b);
}

Test(dataset, merge_concatenates_numbers_and_counts_text)
{
    /* first half lines 2-4, second half lines 5-7 (its own lines 1-3, offset 3) */
    dm_builder *a = two_cols(), *b = two_cols();
    row2(a, "2", "", 2);
    row2(a, "1", "", 3);
    row2(a, "", "", 4);
    row2(b, "2", "red", 1);
    row2(b, "-0", "blue", 2);
    row2(b, "inf", "red", 3);
    cr_assert_eq(dm_builder_merge(a, b, 3), 0);
    bool flags[2] = {true, true};
    cr_assert_eq(dm_builder_flipped(a, flags), 0); /* txt had no numbers before its text */
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(a, "mem", &ds), 0);
    dm_builder_free(a);
    dm_builder_free(b);
    cr_assert_eq(ds.rows, 6);
    const dm_column *n = &ds.col[0], *t = &ds.col[1];
    /* numbers 2, 1, 2, -0: distinct 0, 1, 2 with counts 1, 1, 2; one missing, one inf */
    cr_assert_eq(n->storage, DM_STORE_NUM);
    cr_assert_eq(n->n_distinct, 3);
    cr_assert_eq(n->value[0], 0.0);
    cr_assert_eq(n->value[2], 2.0);
    cr_assert_eq(n->count[2], 2);
    cr_assert_eq(n->n, 4);
    cr_assert_eq(n->missing, 1);
    cr_assert_eq(n->nonfinite, 1);
    cr_assert_not(n->is_int); /* missing and inf */
    /* text: 3 missing in the first half, red x2 and blue in the second */
    cr_assert_eq(t->storage, DM_STORE_STR);
    cr_assert_eq(t->missing, 3);
    cr_assert_eq(t->n_cats, 2);
    cr_assert_str_eq(t->cat[0], "blue");
    cr_assert_eq(t->cat_count[1], 2);
    cr_assert_str_eq(t->first_text, "red");
    cr_assert_eq(t->first_text_line, 4); /* its line 1 + offset 3 */
    dm_dataset_release(&ds);
}

Test(dataset, merge_numbers_against_text_flips)
{
    /* numbers in the first half, text in the second: the column must be read again */
    dm_builder *a = two_cols(), *b = two_cols();
    row2(a, "1", "1.50", 2);
    row2(b, "x", "z", 1);
    cr_assert_eq(dm_builder_merge(a, b, 1), 0);
    bool flags[2] = {false, false};
    cr_assert_eq(dm_builder_flipped(a, flags), 2);
    cr_assert(flags[0] && flags[1]);
    dm_builder_free(a);
    dm_builder_free(b);
    /* text first, numbers second: the same */
    a = two_cols();
    b = two_cols();
    row2(a, "x", "", 2);
    row2(b, "1", "", 1);
    cr_assert_eq(dm_builder_merge(a, b, 1), 0);
    cr_assert_eq(dm_builder_flipped(a, flags), 1);
    cr_assert(flags[0]);
    cr_assert_not(flags[1]);
    dm_builder_free(a);
    dm_builder_free(b);
    /* mismatched builders are refused */
    const char *one[] = {"num"};
    a = dm_builder_alloc(1, one, NULL);
    b = two_cols();
    cr_assert_eq(dm_builder_merge(a, b, 0), -1);
    dm_builder_free(a);
    dm_builder_free(b);
}

Test(dataset, drop_numbers_leaves_shared_counts)
{
    uint64_t shared[2] = {1, 1};
    dm_column c;
    memset(&c, 0, sizeof c);
    c.value = malloc(2 * sizeof *c.value);
    cr_assert_not_null(c.value);
    c.count = shared;
    c.count_shared = true;
    c.n_distinct = 2;
    dm_column_drop_numbers(&c); /* must not free `shared` (valgrind / ASan would see it) */
    cr_assert_null(c.value);
    cr_assert_null(c.count);
    cr_assert_not(c.count_shared);
    cr_assert_eq(c.n_distinct, 0);
    cr_assert_eq(shared[0], 1);
}

/* A finished column keeps no more memory than its values need: a file of many columns and
 * a few rows must not cost a big array per column (issue 16: 200,000 columns of 3 rows
 * took 1.7 GB).  Both the all-distinct case (counts shared, values kept in place) and the
 * compressed one; the bound is the values' own bytes plus malloc's rounding (16 bytes). */
Test(dataset, finished_columns_keep_no_spare_room)
{
    static const char *const names[] = {"distinct", "repeated"};
    dm_builder *b = dm_builder_alloc(2, names, NULL);
    cr_assert_not_null(b);
    static const char *const rows[3][2] = {{"1", "5"}, {"2", "5"}, {"3", "6"}};
    for (size_t r = 0; r < 3; r++) {
        for (size_t i = 0; i < 2; i++)
            cr_assert_eq(dm_builder_field(b, i, rows[r][i], strlen(rows[r][i]), r + 2), 0);
        dm_builder_end_row(b);
    }
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    cr_assert_eq(ds.col[0].n_distinct, 3);
    cr_assert_eq(ds.col[1].n_distinct, 2);
    for (size_t i = 0; i < 2; i++) {
        size_t need = ds.col[i].n_distinct * sizeof(double);
        size_t got = malloc_usable_size(ds.col[i].value);
        cr_assert_leq(got, need + 16, "column %s: %zu bytes for %zu", names[i], got, need);
    }
    dm_dataset_release(&ds);
}

/* A value quoted in a message: escaped (log.h's rules, quoted) and cut at 60 bytes, never
 * inside a character. */
Test(dataset, show_value_escapes_and_cuts_at_a_character)
{
    char out[DM_SHOWN_LEN];
    static const char hostile[] = "a\x1b[2J\"\\\n";
    dm_show_value(hostile, sizeof hostile - 1, out, sizeof out);
    cr_assert_str_eq(out, "a\\x1b[2J\\\"\\\\\\n");
    char v[64];
    memset(v, 'a', 59);
    memcpy(v + 59, "\xc3\xa9zz", 4); /* bytes 59 and 60 are one character */
    dm_show_value(v, 63, out, sizeof out);
    char want[64];
    memset(want, 'a', 59);
    memcpy(want + 59, "...", 4);
    cr_assert_str_eq(out, want);
    /* the widest: 60 bytes of escapes, then "...", all in DM_SHOWN_LEN */
    memset(v, 0x1b, sizeof v);
    dm_show_value(v, sizeof v, out, sizeof out);
    cr_assert_eq(strlen(out), 60 * 4 + 3);
    cr_assert_str_eq(out + 240, "...");
}

/* ---- numbers held as (value, count) pairs (issue 20) ---------------------------------- */

/* Two finished columns, field by field and bit by bit. */
static void assert_same_column(const dm_column *x, const dm_column *y)
{
    cr_assert_str_eq(x->name, y->name);
    cr_assert_eq(x->storage, y->storage, "%s", x->name);
    cr_assert_eq(x->missing, y->missing, "%s", x->name);
    cr_assert_eq(x->nonfinite, y->nonfinite, "%s", x->name);
    cr_assert_eq(x->is_int, y->is_int, "%s", x->name);
    cr_assert_eq(x->n, y->n, "%s", x->name);
    cr_assert_eq(x->n_distinct, y->n_distinct, "%s", x->name);
    if (x->n_distinct) {
        cr_assert_eq(memcmp(x->value, y->value, x->n_distinct * sizeof *x->value), 0);
        cr_assert_eq(memcmp(x->count, y->count, x->n_distinct * sizeof *x->count), 0);
    }
    cr_assert_eq(x->count_shared, y->count_shared, "%s", x->name);
    cr_assert_eq(x->value_shared, y->value_shared, "%s", x->name);
    cr_assert_eq(x->has_moments, y->has_moments, "%s", x->name);
    cr_assert_eq(bits(x->mean), bits(y->mean), "%s", x->name);
    cr_assert_eq(bits(x->std), bits(y->std), "%s", x->name);
    cr_assert_eq(x->n_cats, y->n_cats, "%s", x->name);
    for (size_t k = 0; k < x->n_cats; k++) {
        cr_assert_str_eq(x->cat[k], y->cat[k]);
        cr_assert_eq(x->cat_count[k], y->cat_count[k]);
    }
    cr_assert_eq(x->first_text == NULL, y->first_text == NULL, "%s", x->name);
    if (x->first_text)
        cr_assert_str_eq(x->first_text, y->first_text);
    cr_assert_eq(x->first_text_line, y->first_text_line, "%s", x->name);
}

/* The finite numbers fed to a column, in feeding order: what the column must hold. */
typedef struct {
    double *v;
    size_t n, cap;
} fed;

static void fed_add(fed *f, double v)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 1024;
        f->v = realloc(f->v, f->cap * sizeof *f->v);
        cr_assert_not_null(f->v);
    }
    f->v[f->n++] = v;
}

/* A text field's finite value into f (strtod's reading; missing tokens and infinities are
 * not values of the column). */
static void fed_field(fed *f, const char *s)
{
    double v;
    if (!dm_is_missing_token(s, strlen(s)) && ref_parse(s, &v) && isfinite(v))
        fed_add(f, v);
}

/* The numeric column c against the fed values sorted and compressed by the stats library
 * (stats_sort_doubles, stats_compress_sorted): the values, counts, n and shared counts. */
static void assert_sort_compress(const dm_column *c, const fed *f)
{
    size_t n = f->n;
    double *x = malloc((n ? n : 1) * sizeof *x), *tmp = malloc((n ? n : 1) * sizeof *tmp);
    uint64_t *cnt = malloc((n ? n : 1) * sizeof *cnt);
    cr_assert(x && tmp && cnt);
    memcpy(x, f->v, n * sizeof *x);
    stats_sort_doubles(x, n, tmp);
    size_t k = stats_compress_sorted(x, n, x, cnt);
    cr_assert_eq(c->storage, DM_STORE_NUM);
    cr_assert_eq(c->n, n, "%s", c->name);
    cr_assert_eq(c->n_distinct, k, "%s", c->name);
    cr_assert_eq(c->count_shared, k == n, "%s", c->name);
    for (size_t i = 0; i < k; i++) {
        cr_assert_eq(bits(c->value[i]), bits(x[i]), "%s value %zu", c->name, i);
        cr_assert_eq(c->count[i], cnt[i], "%s count %zu", c->name, i);
    }
    free(x);
    free(tmp);
    free(cnt);
}

/* Bytes malloc has handed out and not taken back (heap and mmap'ed blocks); under
 * AddressSanitizer, whose allocator glibc's mallinfo2 does not see, its own count. */
#if defined(__SANITIZE_ADDRESS__)
#define DM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DM_TEST_ASAN 1
#endif
#endif
#ifdef DM_TEST_ASAN
size_t __sanitizer_get_current_allocated_bytes(void); /* the ASan runtime's (no header needed) */
static size_t heap_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

/* Whether heap_in_use sees the allocations (valgrind's allocator, like AddressSanitizer's, is
 * not glibc's, and mallinfo2 then counts nothing): a test bounding the heap from below is
 * skipped, by name, where it cannot measure. */
static bool heap_measurable(void)
{
    size_t before = heap_in_use();
    char *p = malloc(1 << 20);
    if (!p)
        return false;
    __asm__ volatile("" : : "r"(p) : "memory"); /* kept: the compiler may not drop the pair */
    bool seen = heap_in_use() - before >= (1u << 20);
    free(p);
    return seen;
}

static dm_builder *one_num(const char *name, bool raw)
{
    dm_builder *b = one_col(name, false);
    if (raw)
        dm_builder_raw_numbers(b);
    return b;
}

static void finish_one(dm_builder *b, dm_dataset *ds)
{
    cr_assert_eq(dm_builder_finish(b, "mem", ds), 0);
    dm_builder_free(b);
}

/* Few distinct values among many rows: held as pairs to the end, and the finished column is
 * the one the raw array gives (every field, every bit) and the one the stats library makes of
 * the fed values.  Zeros of both signs (one value, kept as +0.0), NA tokens, infinities,
 * integers and not; fed field by field, and line by line (dm_builder_plain_line). */
Test(dataset, pairs_equal_raw_few_distinct)
{
    static const char *const pool[] = {"0",    "-0",   "-0.0",  "0.0", "1",         "2",
                                       "7",    "-3",   "2.5",   "0.1", "1e-300",    "-1.5e10",
                                       "NA",   "",     "nan",   "inf", "-Infinity", "1e400",
                                       "4.50", "+4.5", "4.5e0", " 9 "};
    static const char *const ints[] = {"0", "-0", "1", "2", "7", "-3", "007", "+5"};
    enum { N = 50000 };
    for (int kind = 0; kind < 3; kind++) {
        /* 0: the mixed pool; 1: integers only (is_int); 2: integers and one "1.0" */
        const char *const *p = kind == 0 ? pool : ints;
        size_t np = kind == 0 ? sizeof pool / sizeof pool[0] : sizeof ints / sizeof ints[0];
        dm_builder *t = one_num("x", false), *r = one_num("x", true), *l = one_num("x", false);
        fed f = {0};
        rng_state = 0x1234567ull + (uint64_t)(unsigned)kind;
        long map[1] = {0};
        for (size_t i = 0; i < N; i++) {
            const char *s = kind == 2 && i == N / 2 ? "1.0" : p[rng() % np];
            cr_assert_eq(dm_builder_field(t, 0, s, strlen(s), i + 2), 0);
            cr_assert_eq(dm_builder_field(r, 0, s, strlen(s), i + 2), 0);
            size_t nf;
            cr_assert_eq(dm_builder_plain_line(l, map, 1, s, strlen(s), i + 2, &nf), 0);
            dm_builder_end_row(t);
            dm_builder_end_row(r);
            dm_builder_end_row(l);
            fed_field(&f, s);
        }
        cr_assert_eq(dm_builder_state(t, 0), DM_BCOL_TABLE);
        cr_assert_eq(dm_builder_state(l, 0), DM_BCOL_TABLE);
        cr_assert_eq(dm_builder_state(r, 0), DM_BCOL_RAW);
        dm_dataset a, b, c;
        finish_one(t, &a);
        finish_one(r, &b);
        finish_one(l, &c);
        assert_same_column(&a.col[0], &b.col[0]);
        assert_same_column(&c.col[0], &b.col[0]);
        assert_sort_compress(&a.col[0], &f);
        cr_assert_eq(a.col[0].is_int, kind == 1, "kind %d", kind);
        cr_assert_eq(a.col[0].value[kind == 0 ? 2 : 1], 0.0); /* one zero, as +0.0 */
        cr_assert_not(signbit(a.col[0].value[kind == 0 ? 2 : 1]));
        if (kind == 0)
            cr_assert(a.col[0].missing > 0 && a.col[0].nonfinite > 0);
        free(f.v);
        dm_dataset_release(&a);
        dm_dataset_release(&b);
        dm_dataset_release(&c);
    }
}

/* The point of the pairs: 200,000 rows of ten integers cost the ten pairs, not 200,000
 * doubles, even after the loader's hint of 200,000 rows (which reserves room for a raw
 * array only).  Before pairs, the column held 1.6 MB; the bound allows a 16th of that. */
Test(dataset, pairs_hold_few_distinct_in_little_memory)
{
    enum { N = 200000 };
    size_t before = heap_in_use();
    dm_builder *b = one_col("x", false);
    dm_builder_expect(b, N);
    char s[8];
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(s, sizeof s, "%zu", (i * 7) % 10);
        cr_assert_eq(dm_builder_field(b, 0, s, (size_t)len, i + 2), 0);
        dm_builder_end_row(b);
    }
    size_t held = heap_in_use() - before;
    cr_assert_lt(held, (size_t)N * sizeof(double) / 16, "%zu bytes held", held);
    dm_dataset ds;
    finish_one(b, &ds);
    cr_assert_eq(ds.col[0].n_distinct, 10);
    for (size_t i = 0; i < 10; i++) {
        cr_assert_eq(ds.col[0].value[i], (double)i);
        cr_assert_eq(ds.col[0].count[i], N / 10); /* 7 is prime to 10: each digit N/10 times */
    }
    cr_assert(ds.col[0].is_int);
    dm_dataset_release(&ds);
}

/* A column whose distinct values pass the bound mid-way turns raw once, and finishes as the
 * raw array does: with a hint (fields) and without one (blocks of rows, the crossing inside
 * a block, as a table read by COPY). */
Test(dataset, pairs_turn_raw_past_the_bound)
{
    enum { FEW = 3000, MANY = 20000 };
    /* fields: 3000 rows of 40 values (zeros of both signs among them), then 20000 distinct */
    dm_builder *t = one_num("x", false), *r = one_num("x", true);
    dm_builder_expect(t, 1000);
    dm_builder_expect(r, 1000);
    fed f = {0};
    char s[40];
    for (size_t i = 0; i < FEW + MANY; i++) {
        if (i < FEW)
            snprintf(s, sizeof s, "%s", i % 40 == 0 ? "-0" : i % 40 == 1 ? "NA" : "");
        if (i < FEW && s[0] == '\0')
            snprintf(s, sizeof s, "%.2f", (double)(i % 40) / 4.0);
        if (i >= FEW)
            snprintf(s, sizeof s, "%.17g", (double)(i - FEW) / 7.0 - 1000.0);
        cr_assert_eq(dm_builder_field(t, 0, s, strlen(s), i + 2), 0);
        cr_assert_eq(dm_builder_field(r, 0, s, strlen(s), i + 2), 0);
        dm_builder_end_row(t);
        dm_builder_end_row(r);
        fed_field(&f, s);
        if (i + 1 == FEW)
            cr_assert_eq(dm_builder_state(t, 0), DM_BCOL_TABLE);
    }
    cr_assert_eq(dm_builder_state(t, 0), DM_BCOL_RAW);
    dm_dataset a, b;
    finish_one(t, &a);
    finish_one(r, &b);
    assert_same_column(&a.col[0], &b.col[0]);
    assert_sort_compress(&a.col[0], &f);
    dm_dataset_release(&a);
    dm_dataset_release(&b);
    free(f.v);

    /* blocks of 64 rows of 2 columns, no hint: column 0 crosses mid-block (NaN, infinities,
     * -0.0 on the way), column 1 stays pairs (integers: is_int) */
    const char *names[] = {"a", "b"};
    t = dm_builder_alloc(2, names, NULL);
    r = dm_builder_alloc(2, names, NULL);
    cr_assert(t && r);
    dm_builder_raw_numbers(r);
    fed f0 = {0};
    enum { ROWS = 9000, BLOCK = 64 };
    double block[BLOCK * 2];
    size_t in = 0;
    bool crossed_inside = false;
    for (size_t i = 0; i < ROWS; i++) {
        double v = i % 97 == 0   ? NAN
                   : i % 89 == 0 ? -INFINITY
                   : i % 83 == 0 ? -0.0
                   : i < 2000    ? (double)(i % 13)
                                 : (double)i / 3.0;
        double row[2] = {v, (double)(i % 5)};
        for (size_t c = 0; c < 2; c++) {
            cr_assert_eq(dm_builder_number(r, c, row[c]), 0);
            block[in * 2 + c] = row[c];
        }
        if (isfinite(v))
            fed_add(&f0, v);
        dm_builder_end_row(t);
        dm_builder_end_row(r);
        if (++in == BLOCK || i + 1 == ROWS) {
            bool was_table = dm_builder_state(t, 0) == DM_BCOL_TABLE;
            for (size_t c = 0; c < 2; c++)
                cr_assert_eq(dm_builder_numbers(t, c, block + c, 2, in), 0);
            crossed_inside = crossed_inside || (was_table && dm_builder_state(t, 0) == DM_BCOL_RAW);
            in = 0;
        }
    }
    cr_assert(crossed_inside);
    cr_assert_eq(dm_builder_state(t, 1), DM_BCOL_TABLE);
    finish_one(t, &a);
    finish_one(r, &b);
    for (size_t c = 0; c < 2; c++)
        assert_same_column(&a.col[c], &b.col[c]);
    assert_sort_compress(&a.col[0], &f0);
    cr_assert(a.col[1].is_int);
    dm_dataset_release(&a);
    dm_dataset_release(&b);
    free(f0.v);
}

/* One half of a merge: n values of column 0, few distinct ones (pairs) or many (raw, past
 * the bound: no hint, more than the floor's distinct values). */
static dm_builder *half(bool many, size_t n, uint64_t seed, fed *f, dm_builder *all)
{
    dm_builder *b = one_num("x", false);
    rng_state = seed;
    char s[40];
    for (size_t i = 0; i < n; i++) {
        uint64_t x = rng();
        if (x % 50 == 0)
            snprintf(s, sizeof s, "NA");
        else if (x % 61 == 0)
            snprintf(s, sizeof s, "inf");
        else if (x % 7 == 0)
            snprintf(s, sizeof s, "%s", seed & 1 ? "-0.0" : "0");
        else if (many)
            snprintf(s, sizeof s, "%.17g", (double)(x >> 11) / 9007199254740992.0);
        else
            snprintf(s, sizeof s, "%.1f", (double)(x % 30) / 2.0);
        cr_assert_eq(dm_builder_field(b, 0, s, strlen(s), i + 1), 0);
        cr_assert_eq(dm_builder_field(all, 0, s, strlen(s), i + 1), 0);
        dm_builder_end_row(b);
        dm_builder_end_row(all);
        fed_field(f, s);
    }
    cr_assert_eq(dm_builder_state(b, 0), many ? DM_BCOL_RAW : DM_BCOL_TABLE);
    return b;
}

/* Merges of every kind (pairs + pairs, pairs + raw, raw + pairs, raw + raw, and pairs +
 * pairs whose union passes the bound): the merged column finishes as one raw builder fed
 * both halves does, and as the stats library sorts and compresses the values. */
Test(dataset, merge_pairs_and_raw_all_kinds)
{
    struct {
        bool many_a, many_b;
        size_t na, nb;
        dm_bcol_state want;
    } cases[] = {
        {false, false, 20000, 15000, DM_BCOL_TABLE}, {false, true, 20000, 15000, DM_BCOL_RAW},
        {true, false, 15000, 20000, DM_BCOL_RAW},    {true, true, 12000, 9000, DM_BCOL_RAW},
        {false, false, 3000, 3000, DM_BCOL_RAW}, /* below: 2,700 distinct a side */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dm_builder *all = one_num("x", true);
        fed f = {0};
        dm_builder *a, *b;
        if (k == 4) { /* two halves of 3000 distinct-ish values each, disjoint: 2 x 2,700 */
            a = one_num("x", false);
            b = one_num("x", false);
            char s[40];
            for (size_t i = 0; i < 2 * cases[k].na; i++) {
                dm_builder *h = i < cases[k].na ? a : b;
                snprintf(s, sizeof s, "%zu.25", i % 2700 + (h == b ? 5000 : 0));
                cr_assert_eq(dm_builder_field(h, 0, s, strlen(s), i + 1), 0);
                cr_assert_eq(dm_builder_field(all, 0, s, strlen(s), i + 1), 0);
                dm_builder_end_row(h);
                dm_builder_end_row(all);
                fed_field(&f, s);
            }
            cr_assert_eq(dm_builder_state(a, 0), DM_BCOL_TABLE);
            cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_TABLE);
        } else {
            a = half(cases[k].many_a, cases[k].na, 100 + 2 * k, &f, all);
            b = half(cases[k].many_b, cases[k].nb, 101 + 2 * k, &f, all);
        }
        cr_assert_eq(dm_builder_merge(a, b, cases[k].na), 0);
        cr_assert_eq(dm_builder_state(a, 0), cases[k].want, "case %zu", k);
        cr_assert_eq(dm_builder_flipped(a, NULL), 0);
        dm_dataset x, y;
        finish_one(a, &x);
        dm_builder_free(b);
        finish_one(all, &y);
        assert_same_column(&x.col[0], &y.col[0]);
        assert_sort_compress(&x.col[0], &f);
        cr_assert_eq(x.rows, y.rows);
        free(f.v);
        dm_dataset_release(&x);
        dm_dataset_release(&y);
    }
}

/* Two halves big enough for arrays of more than 2 MiB (placed and advised as huge pages,
 * grown by a copy of what they hold): every column, and the kept rows, as one builder fed
 * every row gives them (raw numbers, pairs, text, a column turning raw in the merge). */
Test(dataset, big_merge_equals_one_builder)
{
    enum { NC = 8, HALF = 160000 };
    const char *names[NC] = {"r0", "r1", "r2", "r3", "r4", "r5", "few", "text"};
    const char *keep[] = {"r0"};
    dm_builder *a = dm_builder_alloc(NC, names, NULL), *b = dm_builder_alloc(NC, names, NULL),
               *all = dm_builder_alloc(NC, names, NULL);
    cr_assert(a && b && all);
    dm_builder_keep_rows(a, keep, 1);
    dm_builder_keep_rows(b, keep, 1);
    dm_builder_keep_rows(all, keep, 1);
    rng_state = 0x5eedull;
    for (size_t i = 0; i < 2 * HALF; i++) {
        dm_builder *h = i < HALF ? a : b;
        uint64_t line = i < HALF ? i + 2 : i - HALF + 1;
        for (size_t c = 0; c < NC; c++) {
            uint64_t x = rng();
            if (c == 7) {
                char s[16];
                snprintf(s, sizeof s, "k%u", (unsigned)(x % 40));
                cr_assert_eq(dm_builder_field(h, c, s, strlen(s), line), 0);
                cr_assert_eq(dm_builder_field(all, c, s, strlen(s), i + 2), 0);
                continue;
            }
            /* r5: few values in the first half, many in the second (pairs meet raw) */
            bool few = c == 6 || (c == 5 && i < HALF);
            double v = x % 97 == 0 ? NAN
                       : few       ? (double)(x % 25) / 4.0
                                   : (double)(x >> 11) / 9007199254740992.0;
            cr_assert_eq(dm_builder_number(h, c, v), 0);
            cr_assert_eq(dm_builder_number(all, c, v), 0);
        }
        dm_builder_end_row(h);
        dm_builder_end_row(all);
    }
    cr_assert_eq(dm_builder_state(a, 5), DM_BCOL_TABLE);
    cr_assert_eq(dm_builder_state(b, 5), DM_BCOL_RAW);
    cr_assert_eq(dm_builder_state(b, 6), DM_BCOL_TABLE);
    cr_assert_eq(dm_builder_merge(a, b, HALF), 0); /* numbers keep their row as the line */
    dm_builder_free(b);
    dm_dataset x, y;
    finish_one(a, &x);
    finish_one(all, &y);
    cr_assert_eq(x.rows, 2 * HALF);
    cr_assert_eq(x.rows, y.rows);
    for (size_t c = 0; c < NC; c++)
        assert_same_column(&x.col[c], &y.col[c]);
    const dm_rows *kx = dm_dataset_rows(&x, "r0"), *ky = dm_dataset_rows(&y, "r0");
    cr_assert(kx && ky);
    cr_assert_eq(kx->n, ky->n);
    for (size_t r = 0; r < kx->n; r++) {
        cr_assert_eq(bits(kx->value[r]), bits(ky->value[r]), "row %zu", r);
        cr_assert_eq(kx->line[r], ky->line[r], "line of row %zu", r);
    }
    dm_dataset_release(&x);
    dm_dataset_release(&y);
}

/* A column turns to text after numbers, whether they were pairs or raw: flipped (the loader
 * reads again) and text from then on; and the same across a merge. */
Test(dataset, pairs_or_raw_flip_to_text)
{
    for (int raw = 0; raw < 2; raw++) {
        dm_builder *b = one_num("x", raw);
        static const char *const v[] = {"1", "2", "1", "-0", "abc", "3"};
        feed(b, v, 4);
        cr_assert_eq(dm_builder_state(b, 0), raw ? DM_BCOL_RAW : DM_BCOL_TABLE);
        feed(b, v + 4, 2);
        cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_TEXT);
        bool flag = false;
        cr_assert_eq(dm_builder_flipped(b, &flag), 1);
        cr_assert(flag);
        dm_builder_free(b);
        /* pairs or raw on one side of a merge, text on the other */
        for (int side = 0; side < 2; side++) {
            dm_builder *n = one_num("x", raw), *t = one_col("x", false);
            feed(n, v, 4);
            feed(t, v + 4, 1);
            cr_assert_eq(side ? dm_builder_merge(t, n, 1) : dm_builder_merge(n, t, 4), 0);
            dm_builder *m = side ? t : n;
            cr_assert_eq(dm_builder_state(m, 0), DM_BCOL_TEXT);
            cr_assert_eq(dm_builder_flipped(m, NULL), 1);
            dm_builder_free(n);
            dm_builder_free(t);
        }
    }
}

/* A classified text column whose every value is a number finishes as the same strings fed
 * to a numeric column do, pairs or raw (strings spelling one number, "1" and "1.0", are one
 * value; "-0" and "0" one zero). */
Test(dataset, classified_text_finishes_as_numbers_do)
{
    static const char *const pool[] = {"1",  "1.0", "-0", "0",   "0.00", "inf", "2.5",
                                       "NA", "",    "-7", "1e2", "100",  "3.25"};
    for (int raw = 0; raw < 2; raw++) {
        dm_builder *c = one_num("x", raw), *n = one_num("x", true);
        dm_builder_classify_text(c, 0);
        fed f = {0};
        rng_state = 99;
        for (size_t i = 0; i < 5000; i++) {
            const char *s = pool[rng() % (sizeof pool / sizeof pool[0])];
            cr_assert_eq(dm_builder_field(c, 0, s, strlen(s), i + 2), 0);
            cr_assert_eq(dm_builder_field(n, 0, s, strlen(s), i + 2), 0);
            dm_builder_end_row(c);
            dm_builder_end_row(n);
            fed_field(&f, s);
        }
        dm_dataset x, y;
        finish_one(c, &x);
        finish_one(n, &y);
        assert_same_column(&x.col[0], &y.col[0]);
        assert_sort_compress(&x.col[0], &f);
        free(f.v);
        dm_dataset_release(&x);
        dm_dataset_release(&y);
    }
}

/* ---- rows kept (issue 21): a column's values in row order, beside its distribution ----- */

Test(dataset, keep_rows_in_row_order_on_every_path)
{
    const char *names[] = {"score", "TARGET", "x"};
    const char *keep[] = {"TARGET", "score", "absent"};
    dm_builder *b = dm_builder_alloc(3, names, NULL);
    cr_assert_not_null(b);
    dm_builder_keep_rows(b, keep, 3);
    /* row 1 (line 2): fields; row 2 (line 3): missing tokens; row 3 (line 5): text, inf */
    cr_assert_eq(dm_builder_field(b, 0, "0.25", 4, 2), 0);
    cr_assert_eq(dm_builder_field(b, 1, "1", 1, 2), 0);
    dm_builder_end_row(b);
    cr_assert_eq(dm_builder_field(b, 0, "", 0, 3), 0);
    cr_assert_eq(dm_builder_field(b, 1, "NA", 2, 3), 0);
    dm_builder_end_row(b);
    cr_assert_eq(dm_builder_field(b, 0, "inf", 3, 5), 0);
    cr_assert_eq(dm_builder_field(b, 1, "yes", 3, 5), 0);
    dm_builder_end_row(b);
    /* row 4 (line 6): a plain CSV line through the fast path */
    const long map[] = {0, 1, 2};
    size_t nf;
    cr_assert_eq(dm_builder_plain_line(b, map, 3, "0.5,0,7", 7, 6, &nf), 0);
    dm_builder_end_row(b);
    /* a second half: rows 5-6 of its own lines 1-2, merged with the offset 6 */
    dm_builder *h = dm_builder_alloc(3, names, NULL);
    dm_builder_keep_rows(h, keep, 3);
    cr_assert_eq(dm_builder_field(h, 0, "0.75", 4, 1), 0);
    cr_assert_eq(dm_builder_field(h, 1, "0", 1, 1), 0);
    dm_builder_end_row(h);
    cr_assert_eq(dm_builder_field(h, 0, "0.1", 3, 2), 0);
    cr_assert_eq(dm_builder_field(h, 1, "2", 1, 2), 0);
    dm_builder_end_row(h);
    cr_assert_eq(dm_builder_merge(b, h, 6), 0);
    dm_builder_free(h);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "f.csv", &ds), 0);
    dm_builder_free(b);
    cr_assert_eq(ds.nkept, 2);
    cr_assert_null(dm_dataset_rows(&ds, "x"));
    const dm_rows *s = dm_dataset_rows(&ds, "score"), *l = dm_dataset_rows(&ds, "TARGET");
    cr_assert(s && l);
    cr_assert_eq(s->n, 6);
    cr_assert_eq(l->n, 6);
    const double ws[] = {0.25, NAN, INFINITY, 0.5, 0.75, 0.1};
    const double wl[] = {1, NAN, NAN, 0, 0, 2};
    const uint64_t lines[] = {2, 3, 5, 6, 7, 8};
    for (int i = 0; i < 6; i++) {
        cr_assert(isnan(ws[i]) ? isnan(s->value[i]) : s->value[i] == ws[i], "score row %d: %g", i,
                  s->value[i]);
        cr_assert(isnan(wl[i]) ? isnan(l->value[i]) : l->value[i] == wl[i], "label row %d: %g", i,
                  l->value[i]);
        cr_assert_eq(l->line[i], lines[i], "line of row %d: %llu", i,
                     (unsigned long long)l->line[i]);
    }
    /* the distributions are as without keeping: TARGET turned to text at "yes" */
    cr_assert_eq(ds.col[1].storage, DM_STORE_STR);
    cr_assert_str_eq(ds.col[1].first_text, "yes");
    dm_dataset_release(&ds);
}

Test(dataset, keep_rows_table_numbers_and_nulls)
{
    const char *names[] = {"score", "TARGET"};
    const char *keep[] = {"score", "TARGET"};
    dm_builder *b = dm_builder_alloc(2, names, NULL);
    dm_builder_keep_rows(b, keep, 2);
    /* a COPY block: rows end first, then the numbers column by column */
    const double block[] = {0.5, 1, 0.25, NAN, 0.125, 0};
    for (int r = 0; r < 3; r++)
        dm_builder_end_row(b);
    cr_assert_eq(dm_builder_numbers(b, 0, block, 2, 3), 0);
    cr_assert_eq(dm_builder_numbers(b, 1, block + 1, 2, 3), 0);
    cr_assert_eq(dm_builder_number(b, 0, 0.75), 0);
    dm_builder_null(b, 1);
    dm_builder_end_row(b);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "table t", &ds), 0);
    dm_builder_free(b);
    const dm_rows *l = dm_dataset_rows(&ds, "TARGET"), *s = dm_dataset_rows(&ds, "score");
    cr_assert(l && s && l->n == 4 && s->n == 4);
    cr_assert(l->value[0] == 1 && isnan(l->value[1]) && l->value[2] == 0 && isnan(l->value[3]));
    cr_assert(s->value[0] == 0.5 && s->value[3] == 0.75);
    cr_assert(l->line[0] == 1 && l->line[3] == 4);
    dm_dataset_release(&ds);
    /* a column fed twice in a row cannot line up: the finish refuses */
    b = dm_builder_alloc(2, names, NULL);
    dm_builder_keep_rows(b, keep, 2);
    dm_builder_number(b, 0, 0.5);
    dm_builder_number(b, 0, 0.5);
    dm_builder_number(b, 1, 1);
    dm_builder_end_row(b);
    cr_assert_eq(dm_builder_finish(b, "t", &ds), -1);
    dm_builder_free(b);
}

/* ---- spilling (issue 20) -------------------------------------------------------------- */

#include "monitor/spill.h"

/* Feed the same values to two builders of three numeric columns and a text one: builder a
 * keeps everything, builder b spills columns 1 and 2 (groups 1 and 2) after AT rows, and a
 * second-half builder c (column 1 spilled from the start, column 0 at its end, to its own
 * spill file) is merged into b.  The
 * finished columns must be the same bits: values, counts, n, missing, nonfinite, is_int. */
static void fill(dm_builder *b, size_t from, size_t to)
{
    char buf[64];
    for (size_t r = from; r < to; r++) {
        /* -0.0 and +0.0 both, infinities, NA, repeats and distinct values */
        const char *zero = r % 3 == 0 ? "-0.0" : r % 3 == 1 ? "0" : "2.5";
        dm_builder_field(b, 0, zero, strlen(zero), r + 2);
        if (r % 11 == 0)
            dm_builder_field(b, 1, r % 2 ? "-inf" : "inf", r % 2 ? 4 : 3, r + 2);
        else if (r % 13 == 0)
            dm_builder_field(b, 1, "NA", 2, r + 2);
        else {
            snprintf(buf, sizeof buf, "%.17g", (double)(r * 7919 % 1000) / 7.0 - 50.0);
            dm_builder_field(b, 1, buf, strlen(buf), r + 2);
        }
        snprintf(buf, sizeof buf, "%zu", r % 17);
        dm_builder_field(b, 2, buf, strlen(buf), r + 2);
        dm_builder_field(b, 3, r % 2 ? "x" : "y", 1, r + 2);
        dm_builder_end_row(b);
    }
}

static void same_column(const dm_column *x, const dm_column *y)
{
    cr_assert_str_eq(x->name, y->name);
    cr_assert_eq(x->storage, y->storage);
    cr_assert_eq(x->n, y->n, "%s: n %llu vs %llu", x->name, (unsigned long long)x->n,
                 (unsigned long long)y->n);
    cr_assert_eq(x->missing, y->missing);
    cr_assert_eq(x->nonfinite, y->nonfinite);
    cr_assert_eq(x->is_int, y->is_int);
    if (x->storage == DM_STORE_STR) {
        cr_assert_eq(x->n_cats, y->n_cats);
        for (size_t i = 0; i < x->n_cats; i++)
            cr_assert_str_eq(x->cat[i], y->cat[i]);
        return;
    }
    cr_assert_eq(x->n_distinct, y->n_distinct, "%s", x->name);
    for (size_t i = 0; i < x->n_distinct; i++) {
        cr_assert_eq(bits(x->value[i]), bits(y->value[i]), "%s[%zu]", x->name, i);
        cr_assert_eq(x->count[i], y->count[i], "%s[%zu]", x->name, i);
    }
}

Test(dataset, spilled_columns_finish_to_the_same_bits)
{
    const char *names[] = {"zero", "mixed", "ints", "text"};
    enum { ROWS = 30000, AT = 100, HALF = 17000 };
    dm_builder *a = dm_builder_alloc(4, names, NULL);
    dm_builder *b = dm_builder_alloc(4, names, NULL);
    dm_builder *c = dm_builder_alloc(4, names, NULL);
    cr_assert(a && b && c);
    /* raw from the start (few distinct values would be held as pairs, never spilled: the
     * pairs' own spill tests are below) */
    dm_builder_raw_numbers(b);
    dm_builder_raw_numbers(c);
    char err[512] = "";
    dm_spill *s1 = dm_spill_open(dm_spill_dir(), 3, err, sizeof err);
    dm_spill *s2 = dm_spill_open(dm_spill_dir(), 3, err, sizeof err);
    cr_assert(s1 && s2, "%s", err);
    fill(a, 0, ROWS);
    fill(b, 0, AT);
    /* a text column is not spilled; numbers are */
    cr_assert_eq(dm_builder_spill(b, 3, s1, 1), 0);
    cr_assert_eq(dm_builder_spill(b, 1, s1, 1), 1);
    cr_assert_eq(dm_builder_spill(b, 2, s1, 2), 1);
    fill(b, AT, HALF);
    cr_assert_eq(dm_builder_spill(c, 1, s2, 1), 1);
    fill(c, HALF, ROWS);
    /* column 0: raw in b, spilled (late) in c; column 2: spilled in b, raw in c */
    cr_assert_eq(dm_builder_spill(c, 0, s2, 1), 1);
    cr_assert_eq(dm_builder_merge(b, c, HALF), 0);
    cr_assert(dm_builder_is_spilled(b, 0) && dm_builder_is_spilled(b, 1) &&
              dm_builder_is_spilled(b, 2) && !dm_builder_is_spilled(b, 3));

    dm_dataset da, db;
    cr_assert_eq(dm_builder_finish(a, "x.csv", &da), 0);
    cr_assert_eq(dm_builder_finish_begin(b, "x.csv", &db), 0);
    /* the counts are known before the values are back */
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(db.col[i].n, da.col[i].n, "column %zu", i);
    size_t g0[] = {3}, g1[] = {0, 1}, g2[] = {2};
    dm_spill *sp[] = {s1, s2};
    cr_assert_eq(dm_builder_finish_columns(b, g0, 1, &db), 0);
    /* a spilled column cannot be finished before it is read back */
    cr_assert_eq(dm_builder_finish_columns(b, g2, 1, &db), -1);
    cr_assert_eq(dm_builder_unspill(b, g1, 2, sp, 2), 0, "%s", dm_spill_error(s1));
    cr_assert_eq(dm_builder_finish_columns(b, g1, 2, &db), 0);
    cr_assert_eq(dm_builder_unspill(b, g2, 1, sp, 2), 0);
    cr_assert_eq(dm_builder_finish_columns(b, g2, 1, &db), 0);
    for (size_t i = 0; i < 4; i++)
        same_column(&da.col[i], &db.col[i]);
    /* -0.0 and +0.0 are one value, kept as +0.0 */
    cr_assert_eq(bits(db.col[0].value[0]), bits(0.0));
    dm_dataset_release(&da);
    dm_dataset_release(&db);
    dm_builder_free(a);
    dm_builder_free(b);
    dm_builder_free(c);
    dm_spill_close(s1);
    dm_spill_close(s2);
}

/* A spilled column that turns to text drops its spill (and is flipped: the loader reads
 * again): raw and spilled from the start, or held as pairs with a spill target and spilled
 * once it turned raw. */
Test(dataset, spilled_column_that_turns_to_text_flips)
{
    for (int raw = 0; raw < 2; raw++) {
        const char *names[] = {"v"};
        dm_builder *b = dm_builder_alloc(1, names, NULL);
        char err[512] = "";
        dm_spill *s = dm_spill_open(dm_spill_dir(), 2, err, sizeof err);
        cr_assert(b && s, "%s", err);
        if (raw)
            dm_builder_raw_numbers(b);
        cr_assert_eq(dm_builder_field(b, 0, "1.5", 3, 2), 0);
        cr_assert_eq(dm_builder_spill(b, 0, s, 1), raw);
        cr_assert_eq(dm_builder_is_spilled(b, 0), raw);
        char buf[40];
        for (int i = 0; i < 20000; i++) { /* distinct values: the pairs turn raw */
            snprintf(buf, sizeof buf, "%d.5", i);
            cr_assert_eq(dm_builder_field(b, 0, buf, strlen(buf), (uint64_t)i + 3), 0);
        }
        cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_RAW);
        cr_assert(dm_builder_is_spilled(b, 0), "raw %d", raw);
        cr_assert_eq(dm_builder_field(b, 0, "word", 4, 30000), 0);
        cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_TEXT);
        cr_assert_not(dm_builder_is_spilled(b, 0));
        cr_assert_not(dm_builder_is_raw(b, 0));
        /* numbers after the flip are text, never spilled again */
        cr_assert_eq(dm_builder_field(b, 0, "7", 1, 30001), 0);
        cr_assert_not(dm_builder_is_spilled(b, 0));
        bool f = false;
        cr_assert_eq(dm_builder_flipped(b, &f), 1);
        cr_assert(f);
        dm_builder_free(b);
        dm_spill_close(s);
    }
}

/* ---- pairs and spilling together ------------------------------------------------------ */

/* Column 0 of b fed n values from seed: few distinct ones (held as pairs) or many (turning
 * raw: no hint, past the floor); the same fed to all and f. */
static void feed_kind(dm_builder *b, bool many, size_t n, uint64_t seed, fed *f, dm_builder *all)
{
    rng_state = seed;
    char s[40];
    for (size_t i = 0; i < n; i++) {
        uint64_t x = rng();
        if (x % 50 == 0)
            snprintf(s, sizeof s, "NA");
        else if (x % 61 == 0)
            snprintf(s, sizeof s, "-inf");
        else if (x % 7 == 0)
            snprintf(s, sizeof s, "%s", seed & 1 ? "-0.0" : "0");
        else if (many)
            snprintf(s, sizeof s, "%.17g", (double)(x >> 11) / 9007199254740992.0 - 0.5);
        else
            snprintf(s, sizeof s, "%.1f", (double)(x % 30) / 2.0);
        cr_assert_eq(dm_builder_field(b, 0, s, strlen(s), i + 1), 0);
        cr_assert_eq(dm_builder_field(all, 0, s, strlen(s), i + 1), 0);
        dm_builder_end_row(b);
        dm_builder_end_row(all);
        fed_field(f, s);
    }
}

/* A column held as pairs is never spilled, however it is asked: it stays in memory with a
 * spill target, and spills from when it turns raw; its finish (after the values are read
 * back) is the one of a builder that never spilled. */
Test(dataset, pairs_spill_only_once_raw)
{
    const char *names[] = {"few", "late"};
    dm_builder *b = dm_builder_alloc(2, names, NULL), *all = dm_builder_alloc(2, names, NULL);
    char err[512] = "";
    dm_spill *s = dm_spill_open(dm_spill_dir(), 3, err, sizeof err);
    cr_assert(b && all && s, "%s", err);
    char buf[40];
    /* the first 1,000 rows: few distinct values in both columns (pairs) */
    for (size_t r = 0; r < 30000; r++) {
        if (r == 1000) {
            cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_TABLE);
            cr_assert_eq(dm_builder_state(b, 1), DM_BCOL_TABLE);
            cr_assert_not(dm_builder_is_raw(b, 1));
            cr_assert_eq(dm_builder_spill(b, 0, s, 1), 0);
            cr_assert_eq(dm_builder_spill(b, 1, s, 2), 0);
            cr_assert_not(dm_builder_is_spilled(b, 0));
            cr_assert_not(dm_builder_is_spilled(b, 1));
        }
        for (size_t c = 0; c < 2; c++) {
            if (c == 0 || r < 1000)
                snprintf(buf, sizeof buf, "%zu", r % 5);
            else /* column 1 turns to many distinct values */
                snprintf(buf, sizeof buf, "%zu.25", r);
            cr_assert_eq(dm_builder_field(b, c, buf, strlen(buf), r + 2), 0);
            cr_assert_eq(dm_builder_field(all, c, buf, strlen(buf), r + 2), 0);
        }
        dm_builder_end_row(b);
        dm_builder_end_row(all);
    }
    cr_assert_eq(dm_builder_state(b, 0), DM_BCOL_TABLE);
    cr_assert_not(dm_builder_is_spilled(b, 0));
    cr_assert_eq(dm_builder_state(b, 1), DM_BCOL_RAW);
    cr_assert(dm_builder_is_spilled(b, 1));
    dm_dataset da, db;
    cr_assert_eq(dm_builder_finish(all, "x.csv", &da), 0);
    cr_assert_eq(dm_builder_finish_begin(b, "x.csv", &db), 0);
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(db.col[i].n, da.col[i].n, "column %zu", i);
    size_t g0[] = {0}, g1[] = {1};
    dm_spill *sp[] = {s};
    cr_assert_eq(dm_builder_finish_columns(b, g1, 1, &db), -1); /* not read back yet */
    cr_assert_eq(dm_builder_finish_columns(b, g0, 1, &db), 0);
    cr_assert_eq(dm_builder_unspill(b, g1, 1, sp, 1), 0, "%s", dm_spill_error(s));
    cr_assert_eq(dm_builder_finish_columns(b, g1, 1, &db), 0);
    for (size_t i = 0; i < 2; i++)
        same_column(&da.col[i], &db.col[i]);
    cr_assert_eq(db.col[0].n_distinct, 5);
    cr_assert_eq(db.col[1].n_distinct, 5 + 29000);
    dm_dataset_release(&da);
    dm_dataset_release(&db);
    dm_builder_free(b);
    dm_builder_free(all);
    dm_spill_close(s);
}

/* Merges of every combination of pairs (with a spill target or none), raw and spilled on
 * either side: the merged column is raw when either side is, spilled when either side was
 * or when it is raw and either side had a target, and it finishes (read back) as one
 * builder fed both halves does, and as the stats library sorts and compresses the values. */
Test(dataset, merge_pairs_raw_spilled_every_way)
{
    enum { PAIRS, PAIRS_TARGET, RAW, SPILLED, KINDS };
    static const char *const kind[] = {"pairs", "pairs+target", "raw", "spilled"};
    for (int ka = 0; ka < KINDS; ka++)
        for (int kb = 0; kb < KINDS; kb++) {
            const char *names[] = {"x"};
            dm_builder *a = dm_builder_alloc(1, names, NULL);
            dm_builder *b = dm_builder_alloc(1, names, NULL);
            dm_builder *all = dm_builder_alloc(1, names, NULL);
            char err[512] = "";
            dm_spill *sa = dm_spill_open(dm_spill_dir(), 2, err, sizeof err);
            dm_spill *sb = dm_spill_open(dm_spill_dir(), 2, err, sizeof err);
            cr_assert(a && b && all && sa && sb, "%s", err);
            dm_builder_raw_numbers(all);
            fed f = {0};
            dm_builder *side[2] = {a, b};
            dm_spill *sp[2] = {sa, sb};
            int k[2] = {ka, kb};
            for (int h = 0; h < 2; h++) {
                bool many = k[h] >= RAW;
                uint64_t seed = 300 + (uint64_t)(ka * KINDS + kb) * 2 + (uint64_t)h;
                /* many distinct values: raw past 6,000 (the floor's 3,072 keys) */
                feed_kind(side[h], many, 6000, seed, &f, all);
                cr_assert_eq(dm_builder_state(side[h], 0), many ? DM_BCOL_RAW : DM_BCOL_TABLE);
                if (k[h] == PAIRS_TARGET || k[h] == SPILLED)
                    cr_assert_eq(dm_builder_spill(side[h], 0, sp[h], 1), k[h] == SPILLED);
                feed_kind(side[h], many, 14000, seed + 1000, &f, all);
                cr_assert_eq(dm_builder_state(side[h], 0), many ? DM_BCOL_RAW : DM_BCOL_TABLE, "%s",
                             kind[k[h]]);
                cr_assert_eq(dm_builder_is_spilled(side[h], 0), k[h] == SPILLED, "%s %d",
                             kind[k[h]], h);
            }
            cr_assert_eq(dm_builder_merge(a, b, 20000), 0);
            bool raw = ka >= RAW || kb >= RAW;
            bool spilled = ka == SPILLED || kb == SPILLED ||
                           (raw && (ka == PAIRS_TARGET || kb == PAIRS_TARGET));
            cr_assert_eq(dm_builder_state(a, 0), raw ? DM_BCOL_RAW : DM_BCOL_TABLE, "%s + %s",
                         kind[ka], kind[kb]);
            cr_assert_eq(dm_builder_is_spilled(a, 0), spilled, "%s + %s", kind[ka], kind[kb]);
            dm_dataset x, y;
            cr_assert_eq(dm_builder_finish_begin(a, "x.csv", &x), 0);
            size_t g[] = {0};
            cr_assert_eq(dm_builder_unspill(a, g, 1, sp, 2), 0, "%s + %s: %s %s", kind[ka],
                         kind[kb], dm_spill_error(sa), dm_spill_error(sb));
            cr_assert_eq(dm_builder_finish_columns(a, g, 1, &x), 0);
            cr_assert_eq(dm_builder_finish(all, "x.csv", &y), 0);
            assert_same_column(&x.col[0], &y.col[0]);
            assert_sort_compress(&x.col[0], &f);
            cr_assert_eq(x.rows, 40000);
            free(f.v);
            dm_dataset_release(&x);
            dm_dataset_release(&y);
            dm_builder_free(a);
            dm_builder_free(b);
            dm_builder_free(all);
            dm_spill_close(sa);
            dm_spill_close(sb);
        }
}

/* Text on one side of a merge, pairs with a target or spilled on the other: text, flipped,
 * nothing spilled (the table and the spill both dropped). */
Test(dataset, merge_with_text_drops_pairs_and_spill)
{
    for (int spilled = 0; spilled < 2; spilled++)
        for (int side = 0; side < 2; side++) {
            const char *names[] = {"x"};
            dm_builder *n = dm_builder_alloc(1, names, NULL), *t = dm_builder_alloc(1, names, NULL);
            char err[512] = "";
            dm_spill *s = dm_spill_open(dm_spill_dir(), 2, err, sizeof err);
            cr_assert(n && t && s, "%s", err);
            fed f = {0};
            dm_builder *sink = dm_builder_alloc(1, names, NULL);
            feed_kind(n, spilled, 1000, 7, &f, sink);
            cr_assert_eq(dm_builder_spill(n, 0, s, 1), 0);
            feed_kind(n, spilled, 19000, 8, &f, sink);
            cr_assert_eq(dm_builder_is_spilled(n, 0), spilled);
            cr_assert_eq(dm_builder_field(t, 0, "abc", 3, 1), 0);
            cr_assert_eq(side ? dm_builder_merge(t, n, 1) : dm_builder_merge(n, t, 20000), 0);
            dm_builder *m = side ? t : n;
            cr_assert_eq(dm_builder_state(m, 0), DM_BCOL_TEXT);
            cr_assert_not(dm_builder_is_spilled(m, 0));
            cr_assert_eq(dm_builder_flipped(m, NULL), 1);
            free(f.v);
            dm_builder_free(n);
            dm_builder_free(t);
            dm_builder_free(sink);
            dm_spill_close(s);
        }
}

Test(dataset, spill_directory_errors_name_it)
{
    char err[512] = "";
    cr_assert_null(dm_spill_open("/nonexistent-dir-of-driftmon", 2, err, sizeof err));
    cr_assert(strstr(err, "\"/nonexistent-dir-of-driftmon\""), "%s", err);
    cr_assert_eq(dm_spill_check_space("/nonexistent-dir-of-driftmon", 1, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent-dir-of-driftmon"), "%s", err);
    cr_assert_eq(dm_spill_check_space("/", UINT64_MAX / 2, err, sizeof err), -1);
    cr_assert(strstr(err, "not enough free space"), "%s", err);
}

/* dm_spill_temp_file (a CSV reference's temporary profile): a missing directory and one
 * with too little room are errors naming it; in a directory with room the file is there to
 * write and read back, and never has a name in it. */
Test(dataset, spill_temp_file_errors_name_it_and_leave_nothing)
{
    char err[512] = "";
    cr_assert_eq(dm_spill_temp_file("/nonexistent-dir-of-driftmon", 1, err, sizeof err), -1);
    cr_assert(strstr(err, "\"/nonexistent-dir-of-driftmon\""), "%s", err);
    cr_assert_eq(dm_spill_temp_file("/", UINT64_MAX / 2, err, sizeof err), -1);
    cr_assert(strstr(err, "not enough free space") && strstr(err, "\"/\""), "%s", err);
    char dir[] = "/tmp/dm-unit-temp.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int fd = dm_spill_temp_file(dir, 1, err, sizeof err);
    cr_assert_geq(fd, 0, "%s", err);
    cr_assert_eq(write(fd, "profile", 7), 7);
    char back[8] = "";
    cr_assert_eq(pread(fd, back, 7, 0), 7);
    cr_assert_str_eq(back, "profile");
    cr_assert_eq(rmdir(dir), 0, "the directory holds a named file: %s", strerror(errno));
    close(fd);
}

/* dm_builder_text_bytes (the group plan's estimate of a text column's heap, issue 20): after
 * 4,096 rows of a column whose every string is new, the estimate for 40,960 rows is at least
 * the heap the builder holds once those rows are read (malloc's count of bytes in use, mapped
 * chunks included, before the finish; less the numeric column's, at most 16 B a row with its
 * room) and at most twice it; a column of 13 categories, every one seen hundreds of
 * times, is estimated the same whatever the rows to come (no new string is expected) and
 * small; a numeric column holds no text: 0. */
Test(dataset, text_estimate_bounds_the_heap)
{
    static const char *const names[] = {"id", "cat", "num"};
    if (!heap_measurable())
        cr_skip_test("the allocator in use is not glibc's: its heap cannot be measured here");
    size_t before = heap_in_use();
    dm_builder *b = dm_builder_alloc(3, names, NULL);
    cr_assert_not_null(b);
    char buf[64];
    uint64_t est = 0, cat_now = 0, cat_later = 0;
    const size_t rows = 40960, sample = 4096;
    for (size_t r = 0; r < rows; r++) {
        if (r == sample) {
            est = dm_builder_text_bytes(b, 0, rows);
            cat_now = dm_builder_text_bytes(b, 1, sample);
            cat_later = dm_builder_text_bytes(b, 1, 100 * rows);
            cr_assert_eq(dm_builder_text_bytes(b, 2, rows), 0);
        }
        int n = snprintf(buf, sizeof buf, "id-%08zu-%010zu", r, r * 2654435761u % 1000000007u);
        cr_assert_eq(dm_builder_field(b, 0, buf, (size_t)n, r + 2), 0);
        n = snprintf(buf, sizeof buf, "k%02zu", r * 7 % 13);
        cr_assert_eq(dm_builder_field(b, 1, buf, (size_t)n, r + 2), 0);
        n = snprintf(buf, sizeof buf, "%zu", r);
        cr_assert_eq(dm_builder_field(b, 2, buf, (size_t)n, r + 2), 0);
        dm_builder_end_row(b);
    }
    /* the numeric column's values (at most 8 B a row, with its room) are in the heap too */
    size_t held = heap_in_use() - before, num = 16 * rows;
    cr_assert_geq(est + num, held, "estimate %llu + numbers %zu >= held %zu",
                  (unsigned long long)est, num, held);
    cr_assert_leq(est, 2 * held, "estimate %llu <= 2 x held %zu", (unsigned long long)est, held);
    cr_assert_eq(cat_now, cat_later, "no new category expected: %llu vs %llu",
                 (unsigned long long)cat_now, (unsigned long long)cat_later);
    cr_assert_lt(cat_now, 8192, "13 categories: %llu bytes", (unsigned long long)cat_now);
    dm_builder_free(b);
}

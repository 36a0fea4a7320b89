/*
 * test_parse_number.c - suite "parse_number": the exact decimal parser (monitor/parse_number.h)
 * behind dm_parse_number and the CSV reader's per-line path, on full-precision decimals.
 *
 * Reference: glibc strtod on the same text (correctly rounded, round to nearest, ties to
 * even), compared bit for bit; it shares no code with the parser.  Hard cases are built
 * from their definitions: the exact decimal expansion of a halfway point between two
 * adjacent doubles (a dyadic rational, so its decimal expansion is finite and computed
 * here digit by digit), that expansion nudged by one unit in its last place, DBL_MAX and the
 * halfway point above it, the smallest subnormal and half of it, 2^53 + 1.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/dataset.h"
#include "monitor/parse_number.h"

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* dm_parse_number(s) and strtod(s) agree: both accept it with the same bits, or neither
 * does.  s is a plain number here (no blanks, no NaN), so strtod must consume all of it. */
static void check(const char *s)
{
    char *end;
    double want = strtod(s, &end);
    bool ok_want = end != s && *end == '\0' && !isnan(want);
    double got = 0;
    bool ok_got = dm_parse_number(s, strlen(s), &got);
    cr_assert_eq(ok_got, ok_want, "\"%s\": accepted %d, strtod %d", s, ok_got, ok_want);
    if (ok_want)
        cr_assert_eq(bits(got), bits(want), "\"%s\": %a vs strtod %a", s, got, want);
}

/* Python's repr of x (pandas' to_csv writes floats with it): the shortest digits that read
 * back to x, positional when the decimal exponent is in [-4, 16), else d.ddde+XX. */
static void repr(double x, char *out, size_t outlen)
{
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, x);
        if (strtod(e, NULL) == x)
            break;
    }
    /* e is [-]d[.ddd]e[+-]XX: its digits and exponent */
    char dig[24];
    size_t nd = 0;
    const char *c = e;
    bool neg = *c == '-';
    if (neg)
        c++;
    for (; *c != 'e'; c++)
        if (*c != '.')
            dig[nd++] = *c;
    int x10 = atoi(c + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    if (x10 < -4 || x10 >= 16) {
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, dig + 1, nd - 1);
            n += nd - 1;
        }
        snprintf(out + n, outlen - n, "e%c%02d", x10 < 0 ? '-' : '+', abs(x10));
        return;
    }
    if (x10 < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int k = -1; k > x10; k--)
            out[n++] = '0';
        memcpy(out + n, dig, nd);
        n += nd;
    } else {
        for (int k = 0; k <= x10; k++)
            out[n++] = (size_t)k < nd ? dig[k] : '0';
        out[n++] = '.';
        if ((size_t)x10 + 1 < nd) {
            memcpy(out + n, dig + x10 + 1, nd - (size_t)x10 - 1);
            n += nd - (size_t)x10 - 1;
        } else
            out[n++] = '0';
    }
    out[n] = '\0';
}

/* A random finite double: any bit pattern (every binade, subnormals) or, half of the time,
 * one shaped like an exported column (a uniform in [0, 1) times 10^k, k in [-6, 9]). */
static double random_double(void)
{
    for (;;) {
        uint64_t u = rng();
        double x;
        if (u & 1) {
            x = from_bits(rng());
        } else {
            x = (double)(rng() >> 11) * 0x1p-53 * pow(10, (double)((u >> 1) % 16) - 6);
            if (u & 2)
                x = -x;
        }
        if (isfinite(x))
            return x;
    }
}

/* dm_parse_decimal decides s by itself (strtod is not needed), with strtod's bits */
static bool decided(const char *s)
{
    double got;
    if (!dm_parse_decimal(s, strlen(s), &got))
        return false;
    cr_assert_eq(bits(got), bits(strtod(s, NULL)), "\"%s\": %a", s, got);
    return true;
}

Test(parse_number, random_doubles_as_exported, .timeout = 120)
{
    /* %.17g, %.16g and repr of 1,000,000 random doubles: 3,000,000 texts, each read as
     * strtod reads it; and none left to strtod (an undecided case is within 2^-64 relative
     * of a rounding boundary: about one in 10^18 of these, unless it is an exact double or
     * halfway point, which are decided exactly) */
    char s[64];
    int undecided = 0;
    /* DM_TEST_PARSE_DOUBLES: fewer under valgrind (make valgrind), which checks the memory
     * accesses, not the coverage, and runs far slower */
    const char *env = getenv("DM_TEST_PARSE_DOUBLES");
    long count = env ? strtol(env, NULL, 10) : 1000000;
    cr_assert_gt(count, 0, "DM_TEST_PARSE_DOUBLES=%s", env);
    for (long t = 0; t < count; t++) {
        double x = random_double();
        snprintf(s, sizeof s, "%.17g", x);
        check(s);
        undecided += !decided(s);
        snprintf(s, sizeof s, "%.16g", x);
        check(s);
        undecided += !decided(s);
        repr(x, s, sizeof s);
        check(s);
        undecided += !decided(s);
    }
    cr_assert_eq(undecided, 0);
}

Test(parse_number, repr_form)
{
    /* the test's own repr against Python's (Python 3 repr of these doubles) */
    static const struct {
        double x;
        const char *s;
    } cases[] = {{0.1, "0.1"},
                 {0.3112673113812225, "0.3112673113812225"},
                 {0.7959999999999999, "0.7959999999999999"},
                 {1e-5, "1e-05"},
                 {0.0001, "0.0001"},
                 {1e16, "1e+16"},
                 {123.0, "123.0"},
                 {-2.5e-300, "-2.5e-300"},
                 {1234567890123456.0, "1234567890123456.0"},
                 {5e-324, "5e-324"}};
    char s[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        repr(cases[i].x, s, sizeof s);
        cr_assert_str_eq(s, cases[i].s);
    }
}

/* The exact decimal expansion of m x 2^e (m < 2^64, -1100 < e < 1100): m times 2^e, or m
 * times 5^-e with the point -e places from the right; written to out as ddd, 0.ddd or
 * ddd.ddd. */
static void dyadic_decimal(uint64_t m, int e, char *out, size_t outlen)
{
    /* little-endian base-10^9 limbs */
    enum { L = 100 };
    uint32_t d[L] = {0};
    size_t n = 0;
    for (uint64_t v = m; v; v /= 1000000000u)
        d[n++] = (uint32_t)(v % 1000000000u);
    cr_assert(n > 0);
    unsigned by = e < 0 ? 5u : 2u;
    for (int k = 0; k < abs(e); k++) {
        uint64_t c = 0;
        for (size_t i = 0; i < n; i++) {
            c += (uint64_t)d[i] * by;
            d[i] = (uint32_t)(c % 1000000000u);
            c /= 1000000000u;
        }
        if (c)
            d[n++] = (uint32_t)c;
        cr_assert(n < L);
    }
    char digits[1000];
    size_t nd = 0;
    nd += (size_t)snprintf(digits, sizeof digits, "%u", d[n - 1]);
    for (size_t i = n - 1; i-- > 0;)
        nd += (size_t)snprintf(digits + nd, sizeof digits - nd, "%09u", d[i]);
    size_t frac = e < 0 ? (size_t)-e : 0;
    cr_assert(outlen > (nd <= frac ? frac + 2 : nd + 1));
    size_t o = 0;
    if (frac == 0) {
        memcpy(out, digits, nd);
        o = nd;
    } else if (nd <= frac) {
        out[o++] = '0';
        out[o++] = '.';
        for (size_t k = nd; k < frac; k++)
            out[o++] = '0';
        memcpy(out + o, digits, nd);
        o += nd;
    } else {
        memcpy(out + o, digits, nd - frac);
        o += nd - frac;
        out[o++] = '.';
        memcpy(out + o, digits + nd - frac, frac);
        o += frac;
    }
    out[o] = '\0';
}

/* The decimal s (digits, at most one point) a little above: a digit 1 appended after the
 * last one. */
static void above(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    cr_assert(n + 4 < outlen);
    memcpy(out, s, n);
    strcpy(out + n, strchr(s, '.') ? "01" : ".01");
}

/* The decimal s a little below: one unit off its last digit, then 99 appended. */
static void below(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    cr_assert(n + 4 < outlen);
    memcpy(out, s, n + 1);
    for (size_t i = n; i-- > 0;) {
        if (out[i] == '.')
            continue;
        if (out[i] != '0') {
            out[i]--;
            break;
        }
        out[i] = '9';
    }
    strcpy(out + n, strchr(out, '.') ? "99" : ".99");
}

static void expect(const char *s, double want, const char *what)
{
    double got = 0;
    cr_assert(dm_parse_number(s, strlen(s), &got), "%s \"%.50s...\" not read", what, s);
    cr_assert_eq(bits(got), bits(want), "%s \"%.50s...\" (%zu chars): %a, want %a", what, s,
                 strlen(s), got, want);
    check(s); /* and strtod agrees with the derivation */
}

/* x = m x 2^e (m < 2^53, an exact double) and its successor: their halfway point
 * (2m + 1) x 2^(e-1) goes to the even one of the two, anything a little below it to x,
 * anything a little above it to the successor; x's own expansion is x. */
static void check_tie(uint64_t m, int e)
{
    static char s[1400], t[1400];
    double x = ldexp((double)m, e), next = nextafter(x, INFINITY);
    cr_assert(m < (UINT64_C(1) << 53) && (m == 0 || (double)m * 1 == ldexp(x, -e)));
    dyadic_decimal(2 * m + 1, e - 1, s, sizeof s);
    expect(s, (m & 1) ? next : x, "halfway point");
    below(s, t, sizeof t);
    expect(t, x, "below halfway");
    above(s, t, sizeof t);
    expect(t, next, "above halfway");
    if (m > 0) {
        dyadic_decimal(m, e, t, sizeof t);
        expect(t, x, "exact value");
    }
}

Test(parse_number, halfway_points_and_their_neighbours, .timeout = 120)
{
    /* the edges: half the smallest subnormal (to 0), the top subnormal and the smallest
     * normal, 2^53 + 1, DBL_MAX and the halfway point above it (to inf), 0.5 + 2^-54 */
    check_tie(0, -1074);
    check_tie(1, -1074);
    check_tie((UINT64_C(1) << 52) - 1, -1074);
    check_tie(UINT64_C(1) << 52, -1074);
    check_tie(UINT64_C(1) << 52, 1);
    check_tie((UINT64_C(1) << 53) - 1, 1);
    check_tie((UINT64_C(1) << 53) - 1, 971);
    check_tie(UINT64_C(1) << 52, -53);
    /* random doubles across the binades, tens of significant digits and more */
    int done = 0;
    for (int k = 0; done < 6000; k++) {
        double x = fabs(random_double());
        if (!(x >= 1e-40 && x < 1e60))
            continue; /* the expansions stay short enough to build fast */
        int ex;
        double fr = frexp(x, &ex); /* x = fr x 2^ex, fr in [0.5, 1) */
        check_tie((uint64_t)ldexp(fr, 53), ex - 53);
        done++;
    }
}

Test(parse_number, hard_cases)
{
    static const char *const cases[] = {
        /* Home Credit's values, as pandas writes them */
        "0.3112673113812225", "0.7959999999999999", "-0.3112673113812225", "0.08525", "0.0",
        /* 2^53 + 1 style integers: halfway between two doubles, ties to even */
        "9007199254740993", "9007199254740995", "18014398509481986", "18014398509481990",
        "9007199254740993.0000000000000001", "9007199254740992.9999999999999999",
        "-9007199254740993", "123456789012345678", "1234567890123456789", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "18446744073709551617",
        /* the smallest subnormal, half of it (a tie: to 0), just above half */
        "4.9406564584124654e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "2.47032822920623272e-324", "3e-324", "1e-323", "2.2250738585072011e-308",
        "2.2250738585072012e-308", "2.2250738585072014e-308",
        "2.225073858507201136057409796709131975934819546351645648e-308",
        /* DBL_MAX and around it (its halfway point: halfway_points_and_their_neighbours) */
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        /* beyond the range */
        "1e-400", "-1e-400", "1e400", "-1e400", "1e308", "1e309", "1e-324", "1e-325",
        "0e999999999999999999", "1e-999999999999999999", "1e999999999999999999",
        /* -0.0 */
        "-0.0", "-0", "-0e10", "-0.000000000000000000000000000000",
        /* many trailing zeros, many leading zeros */
        "1.000000000000000000000000000000000000", "0.50000000000000000000",
        "100000000000000000000000000000000000000", "1000000000000000000000000.0000000",
        "0.000000000000000000000000000000000000001",
        "0.0000000000000000000000000000001234567890123",
        "123456789012345678900000000000000000000000000000000000000000000000e-50",
        /* more than 19 digits */
        "0.12345678901234567890123456789", "1.2345678901234567890123456789e200",
        "3.14159265358979323846264338327950288419716939937510", "99999999999999999999",
        "0.99999999999999999999999999", "2.7182818284590452353602874713527e-310",
        /* exponents, both spellings, with and without sign */
        "1e5", "1E5", "1e+5", "1E-5", "1.5e-7", "-.5e3", "5.e-3", "1e0", "1e-0", "1e22", "1e23",
        "1e-22", "1e-23", "8.98846567431158e307", "1.2345678901234567e-05", "1e+16",
        /* ties of 17-18 digits: 2^52 + 1/2, 2^52 + 3/2, 2^51 + 1/4, 2^51 + 3/4 */
        "4503599627370496.5", "4503599627370497.5", "2251799813685248.25", "2251799813685248.75",
        "-4503599627370497.5",
        /* exact values with long expansions, off the fast path */
        "170889932252218.25", "-4171576444446586.5", "97691119162302.625",
        "0.1000000000000000055511151231257827", "0.1000000000000000055511151231257828"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(cases[i]);
}

Test(parse_number, blanks_signs_and_rejects)
{
    /* as today: blanks around a number are allowed, a stray character is text */
    static const char *const ok[] = {" 0.3112673113812225", "0.7959999999999999 ",
                                     "\t-1.2345678901234567e-05\r\n", " +9007199254740993 "};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double got, want = strtod(ok[i], NULL);
        cr_assert(dm_parse_number(ok[i], strlen(ok[i]), &got), "\"%s\"", ok[i]);
        cr_assert_eq(bits(got), bits(want), "\"%s\"", ok[i]);
    }
    static const char *const bad[] = {
        "0.3112673113812225x",      "1.2345678901234567e",  "1e+",
        "1.2345678901234567e-05.5", "--0.3112673113812225", "0.3112673113812225 1",
        "1.23456789012345678901e5e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double got;
        cr_assert_not(dm_parse_number(bad[i], strlen(bad[i]), &got), "\"%s\"", bad[i]);
    }
}

Test(parse_number, every_power_of_ten)
{
    /* every table entry: w x 10^q for q over the whole range, w of 1 to 19 digits */
    char s[64];
    for (int q = -350; q <= 310; q++)
        for (int k = 0; k < 300; k++) {
            uint64_t w = rng() % 10000000000000000000ull;
            if (k % 3 == 1)
                w %= 100000000000000000ull; /* 17 digits, as %.17g */
            else if (k % 3 == 2)
                w %= 100000000; /* few digits, big exponent */
            snprintf(s, sizeof s, "%llue%d", (unsigned long long)w, q);
            check(s);
            double got;
            bool neg = k & 1;
            if (dm_decimal_to_double(w, q, neg, &got)) {
                snprintf(s, sizeof s, "%s%llue%d", neg ? "-" : "", (unsigned long long)w, q);
                cr_assert_eq(bits(got), bits(strtod(s, NULL)), "\"%s\": %a", s, got);
            }
        }
}

/* The CSV reader's per-line path stores strtod's value of each full-precision field. */
Test(parse_number, plain_line_full_precision)
{
    enum { ROWS = 20000 };
    const char *names[] = {"a", "b"};
    bool ft[] = {false, false};
    dm_builder *b = dm_builder_alloc(2, names, ft);
    cr_assert(b);
    const long map[] = {0, 1};
    static double want_a[ROWS], want_b[ROWS];
    char line[160], fa[64], fb[64];
    for (int r = 0; r < ROWS; r++) {
        double x = (double)(rng() >> 11) * 0x1p-53 + 0x1p-60; /* (0, 1): no zero */
        double y = random_double();
        if (y == 0)
            y = 1;
        repr(x, fa, sizeof fa);
        snprintf(fb, sizeof fb, r % 2 ? "%.17g" : "%.16g", y);
        want_a[r] = strtod(fa, NULL);
        want_b[r] = strtod(fb, NULL);
        int len = snprintf(line, sizeof line, "%s,%s", fa, fb);
        size_t nf = 0;
        cr_assert_eq(dm_builder_plain_line(b, map, 2, line, (size_t)len, (uint64_t)r + 2, &nf), 0);
        cr_assert_eq(nf, 2);
        dm_builder_end_row(b);
    }
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "mem", &ds), 0);
    dm_builder_free(b);
    double *want[2] = {want_a, want_b};
    for (size_t c = 0; c < 2; c++) {
        const dm_column *col = &ds.col[c];
        cr_assert_eq(col->storage, DM_STORE_NUM);
        /* each strtod value is stored, and nothing else */
        uint64_t total = 0;
        for (size_t i = 0; i < col->n_distinct; i++)
            total += col->count[i];
        cr_assert_eq(total, (uint64_t)ROWS);
        for (int r = 0; r < ROWS; r++) {
            double v = want[c][r];
            size_t lo = 0, hi = col->n_distinct;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (col->value[mid] < v)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            cr_assert(lo < col->n_distinct && bits(col->value[lo]) == bits(v),
                      "column %zu row %d: %a not stored", c, r, v);
        }
    }
    dm_dataset_release(&ds);
}

Test(parse_number, eight_digits_at_once)
{
    /* eight digits: their value as strtoull reads them; any byte that is not a digit, in
     * any place, and the answer is no.  Bytes next to the digits' range on both sides of
     * each nibble test ('/' ':' '?' '@' 0xb0 0xf9 0xfa 0xff) and a few others. */
    static const unsigned char nondigit[] = {'/',  ':',  '?', '@', 0xb0, 0xb9, 0xf9, 0xfa,
                                             0xff, 0x00, '.', ',', ' ',  '-',  'e',  0x20};
    char s[9];
    for (int t = 0; t < 200000; t++) {
        for (int i = 0; i < 8; i++)
            s[i] = (char)('0' + rng() % 10);
        s[8] = '\0';
        uint64_t v = 0;
        if (dm_eight_digits(s, &v))
            cr_assert_eq(v, strtoull(s, NULL, 10), "\"%s\": %llu", s, (unsigned long long)v);
        else
            cr_assert_fail("\"%s\": not read as eight digits", s);
        s[rng() % 8] = (char)nondigit[rng() % sizeof nondigit];
        cr_assert_not(dm_eight_digits(s, &v), "a non-digit read as one");
    }
}

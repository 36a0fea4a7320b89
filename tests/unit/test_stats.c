/*
 * test_stats.c - the drift statistics against closed forms.
 *
 * Every expected value is derived by hand in the comment beside it (the formulas are
 * Evidently's, as written out in ../shared/oracle/oracle.py).  Parity with the oracle on
 * random and real data is tested end to end by tests/integration/oracle_parity.py.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/numfmt.h"
#include "stats/stats.h"

static const uint64_t ONES[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static stats_num num(const double *v, const uint64_t *c, size_t k)
{
    stats_num s = {v, c, k, 0, false, false, 0, 0};
    for (size_t i = 0; i < k; i++)
        s.n += c[i];
    return s;
}

static double run_num(stats_test t, stats_kind kind, stats_num a, stats_num b)
{
    stats_column col;
    memset(&col, 0, sizeof col);
    col.kind = kind;
    col.is_numeric_data = kind == STATS_CAT;
    col.ref_num = a;
    col.cur_num = b;
    size_t need = stats_workspace_bytes(t, &col, NULL);
    void *ws = malloc(need);
    double score = -1;
    int rc = stats_run_test(t, &col, NULL, ws, need, &score);
    free(ws);
    cr_assert_eq(rc, STATS_OK, "%s: %s", stats_test_name(t), stats_strerror(rc));
    return score;
}

static double run_cat(stats_test t, const uint64_t *rc_, const uint64_t *cc, size_t k)
{
    stats_column col;
    memset(&col, 0, sizeof col);
    col.kind = STATS_CAT;
    col.ref_cat = (stats_cat){rc_, k, 0};
    col.cur_cat = (stats_cat){cc, k, 0};
    for (size_t i = 0; i < k; i++) {
        col.ref_cat.n += rc_[i];
        col.cur_cat.n += cc[i];
    }
    col.cat_first = 0;
    size_t need = stats_workspace_bytes(t, &col, NULL);
    void *ws = malloc(need);
    double score = -1;
    int rc = stats_run_test(t, &col, NULL, ws, need, &score);
    free(ws);
    cr_assert_eq(rc, STATS_OK, "%s: %s", stats_test_name(t), stats_strerror(rc));
    return score;
}

#define NEAR(a, b, tol)                                                                            \
    cr_assert(fabs((a) - (b)) <= (tol), "%.17g != %.17g", (double)(a), (double)(b))

Test(stats, names_round_trip)
{
    for (int i = 0; i < STATS_NTESTS; i++) {
        stats_test t;
        cr_assert_eq(stats_test_from_name(stats_test_name((stats_test)i), &t), STATS_OK);
        cr_assert_eq(t, (stats_test)i);
    }
    stats_test t = STATS_TEST_KS;
    cr_assert_eq(stats_test_from_name("Wasserstein", &t), STATS_EINVAL); /* case matters */
    cr_assert_eq(t, STATS_TEST_KS, "output untouched on error");
    cr_assert_eq(stats_test_from_name("", &t), STATS_EINVAL);
}

Test(stats, default_thresholds)
{
    /* Evidently: 0.05 for the p-value tests, 0.1 for the distances */
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_KS), 0.05);
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_CHISQUARE), 0.05);
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_Z), 0.05);
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_WASSERSTEIN), 0.1);
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_JENSENSHANNON), 0.1);
    cr_assert_eq(stats_test_default_threshold(STATS_TEST_ED), 0.1);
}

Test(stats, drift_direction_at_the_threshold)
{
    /* ks drifts when p <= thr; chisquare and z when p < thr; ed when score > thr; the other
     * distances when score >= thr. */
    cr_assert(stats_drifted(STATS_TEST_KS, 0.05, 0.05));
    cr_assert(!stats_drifted(STATS_TEST_CHISQUARE, 0.05, 0.05));
    cr_assert(!stats_drifted(STATS_TEST_Z, 0.05, 0.05));
    cr_assert(stats_drifted(STATS_TEST_Z, 0.0499, 0.05));
    cr_assert(!stats_drifted(STATS_TEST_ED, 0.1, 0.1));
    cr_assert(stats_drifted(STATS_TEST_ED, 0.1000001, 0.1));
    cr_assert(stats_drifted(STATS_TEST_WASSERSTEIN, 0.1, 0.1));
    cr_assert(stats_drifted(STATS_TEST_PSI, 0.1, 0.1));
    cr_assert(!stats_drifted(STATS_TEST_JENSENSHANNON, 0.0999, 0.1));
    cr_assert(!stats_drifted(STATS_TEST_JENSENSHANNON, NAN, 0.1));
    cr_assert(!stats_drifted(STATS_TEST_Z, NAN, 0.05));
}

Test(stats, default_selection_boundaries)
{
    /* rows <= 1000: numeric with > 5 values -> ks, else chisquare if > 2 values else z */
    cr_assert_eq(stats_default_test(STATS_NUM, 1000, 6), STATS_TEST_KS);
    cr_assert_eq(stats_default_test(STATS_NUM, 1000, 5), STATS_TEST_CHISQUARE);
    cr_assert_eq(stats_default_test(STATS_NUM, 1000, 3), STATS_TEST_CHISQUARE);
    cr_assert_eq(stats_default_test(STATS_NUM, 1000, 2), STATS_TEST_Z);
    cr_assert_eq(stats_default_test(STATS_CAT, 1000, 60), STATS_TEST_CHISQUARE);
    cr_assert_eq(stats_default_test(STATS_CAT, 10, 2), STATS_TEST_Z);
    /* rows > 1000: numeric with > 5 values -> wasserstein, else jensenshannon */
    cr_assert_eq(stats_default_test(STATS_NUM, 1001, 6), STATS_TEST_WASSERSTEIN);
    cr_assert_eq(stats_default_test(STATS_NUM, 1001, 5), STATS_TEST_JENSENSHANNON);
    cr_assert_eq(stats_default_test(STATS_CAT, 307511, 2), STATS_TEST_JENSENSHANNON);
    cr_assert_eq(stats_default_test(STATS_CAT, 307511, 58), STATS_TEST_JENSENSHANNON);
}

Test(stats, verdict_share_and_retrain)
{
    stats_verdict v;
    /* share 2/4 = 0.5: dataset drift at drift_share 0.5 (>=); retrain at fraction 0.5 needs
     * the share to go past it (>) */
    stats_dataset_verdict(4, 2, 0.5, 0.5, &v);
    cr_assert_eq(v.share_of_drifted_columns, 0.5);
    cr_assert(v.dataset_drift);
    cr_assert(!v.retrain);
    stats_dataset_verdict(4, 3, 0.5, 0.5, &v);
    cr_assert(v.retrain);
    stats_dataset_verdict(38, 8, 0.5, 0.5, &v);
    NEAR(v.share_of_drifted_columns, 8.0 / 38.0, 0);
    cr_assert(!v.dataset_drift && !v.retrain);
    stats_dataset_verdict(0, 0, 0.5, 0.5, &v);
    cr_assert(isnan(v.share_of_drifted_columns));
    cr_assert(!v.dataset_drift && !v.retrain);
}

Test(stats, moments_population_std)
{
    /* values 1, 2, 3, 4 with counts 1, 2, 3, 4: n = 10, mean = 30 / 10 = 3,
     * var = (4*1 + 1*2 + 0*3 + 1*4) / 10 = 1 */
    double v[] = {1, 2, 3, 4};
    uint64_t c[] = {1, 2, 3, 4};
    stats_num s = num(v, c, 4);
    double mean, sd;
    cr_assert_eq(stats_num_moments(&s, &mean, &sd), STATS_OK);
    NEAR(mean, 3.0, 1e-15);
    NEAR(sd, 1.0, 1e-15);
}

Test(stats, moments_without_counts_equal_doubled_counts)
{
    /* A sample of distinct values (n == n_distinct: the counts are not read) against the same
     * values each counted twice (the counts are read).  Doubling is exact in binary floating
     * point, so every term and partial sum of the second is twice the first's and the
     * quotients by n are equal: mean and std must match to the bit.  1001 values, so the
     * lanes' remainder is used too. */
    enum { N = 1001 };
    static double v[N];
    static uint64_t twos[N];
    uint64_t x = 88172645463325252u;
    double acc = -50.0;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        acc += (double)(x >> 11) * 0x1p-53 + 1e-3; /* ascending */
        v[i] = acc;
        twos[i] = 2;
    }
    stats_num one = {v, NULL, N, N, false, false, 0, 0}, two = num(v, twos, N);
    double m1, s1, m2, s2;
    cr_assert_eq(stats_num_moments(&one, &m1, &s1), STATS_OK);
    cr_assert_eq(stats_num_moments(&two, &m2, &s2), STATS_OK);
    cr_assert(memcmp(&m1, &m2, sizeof m1) == 0, "mean %.17g vs %.17g", m1, m2);
    cr_assert(memcmp(&s1, &s2, sizeof s1) == 0, "std %.17g vs %.17g", s1, s2);
}

Test(stats, wasserstein_long_runs_and_ties)
{
    /* a = 0, 1, ..., 999 once each; b = 0, 10, ..., 990 ten times each (b's points are
     * a's, every tenth).  Sorted, the i-th values are i and 10 floor(i / 10): W1 = mean of
     * (i mod 10) = 4.5.  The walk goes by runs of nine of a's values between ties. */
    enum { M = 1000 };
    static double a[M], b[M / 10];
    static uint64_t ca[M], cb[M / 10];
    for (size_t i = 0; i < M; i++) {
        a[i] = (double)i;
        ca[i] = 1;
    }
    for (size_t j = 0; j < M / 10; j++) {
        b[j] = 10.0 * (double)j;
        cb[j] = 10;
    }
    stats_num sa = num(a, ca, M), sb = num(b, cb, M / 10);
    double w1;
    cr_assert_eq(stats_wasserstein1(&sa, &sb, &w1), STATS_OK);
    NEAR(w1, 4.5, 1e-12);
    cr_assert_eq(stats_wasserstein1(&sb, &sa, &w1), STATS_OK); /* symmetric */
    NEAR(w1, 4.5, 1e-12);
}

Test(stats, wasserstein_shift_and_norm)
{
    /* Shifting a sample by d moves W1 by exactly d.  a = {0,1,2,3}: std (ddof 0) =
     * sqrt(((9+1+1+9)/4)/4) = sqrt(1.25); b = a + 0.5 -> W1 = 0.5, score 0.5 / sqrt(1.25). */
    double a[] = {0, 1, 2, 3}, b[] = {0.5, 1.5, 2.5, 3.5};
    double w1;
    stats_num sa = num(a, ONES, 4), sb = num(b, ONES, 4);
    cr_assert_eq(stats_wasserstein1(&sa, &sb, &w1), STATS_OK);
    NEAR(w1, 0.5, 1e-15);
    NEAR(run_num(STATS_TEST_WASSERSTEIN, STATS_NUM, sa, sb), 0.5 / sqrt(1.25), 1e-15);
}

Test(stats, wasserstein_unequal_sizes)
{
    /* a = {0, 2} (1/2 each), b = {1} : |F-G| = 1/2 on [0,1) and 1/2 on [1,2) -> W1 = 1 */
    double a[] = {0, 2}, b[] = {1};
    stats_num sa = num(a, ONES, 2), sb = num(b, ONES, 1);
    double w1;
    cr_assert_eq(stats_wasserstein1(&sa, &sb, &w1), STATS_OK);
    NEAR(w1, 1.0, 1e-15);
}

Test(stats, wasserstein_std_floor)
{
    /* constant reference: std 0 is floored at 0.001 -> score = W1 / 0.001 = 3 / 0.001 */
    double a[] = {5}, b[] = {8};
    uint64_t ca[] = {10}, cb[] = {4};
    NEAR(run_num(STATS_TEST_WASSERSTEIN, STATS_NUM, num(a, ca, 1), num(b, cb, 1)), 3000.0, 1e-9);
}

Test(stats, jensenshannon_closed_forms)
{
    /* disjoint supports: JS distance = sqrt(ln 2) (natural log) */
    uint64_t r[] = {10, 0}, c[] = {0, 7};
    NEAR(run_cat(STATS_TEST_JENSENSHANNON, r, c, 2), sqrt(log(2.0)), 1e-15);
    /* identical shares: 0 */
    uint64_t r2[] = {2, 6}, c2[] = {1, 3};
    NEAR(run_cat(STATS_TEST_JENSENSHANNON, r2, c2, 2), 0.0, 1e-15);
    /* p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4);
     * KL(p||m) = 1/2 ln(2/3) + 1/2 ln 2, KL(q||m) = ln(4/3); JS = sqrt((sum)/2) */
    uint64_t r3[] = {5, 5}, c3[] = {4, 0};
    double want = sqrt((0.5 * log(2.0 / 3.0) + 0.5 * log(2.0) + log(4.0 / 3.0)) / 2.0);
    NEAR(run_cat(STATS_TEST_JENSENSHANNON, r3, c3, 2), want, 1e-15);
}

Test(stats, psi_and_kl_closed_forms)
{
    /* r = (1/2, 1/2), c = (1/4, 3/4):
     * PSI = (1/4) ln 2 + (-1/4) ln(2/3) = (1/4) ln 3
     * KL  = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3) */
    uint64_t r[] = {50, 50}, c[] = {25, 75};
    NEAR(run_cat(STATS_TEST_PSI, r, c, 2), 0.25 * log(3.0), 1e-15);
    NEAR(run_cat(STATS_TEST_KL_DIV, r, c, 2), 0.5 * log(4.0 / 3.0), 1e-15);
}

Test(stats, psi_fills_zero_shares)
{
    /* r = (1, 0), c = (1/2, 1/2): smallest non-zero share of r is 1 > 0.0001, so r's zero
     * becomes 0.0001: PSI = (1 - 1/2) ln(2) + (0.0001 - 1/2) ln(0.0002) */
    uint64_t r[] = {4, 0}, c[] = {3, 3};
    double want = 0.5 * log(2.0) + (0.0001 - 0.5) * log(0.0001 / 0.5);
    NEAR(run_cat(STATS_TEST_PSI, r, c, 2), want, 1e-13);
}

Test(stats, hellinger_closed_forms)
{
    /* categories: BC = sum sqrt(r c) = sqrt(1/8) + sqrt(3/8); H = sqrt(1 - BC) */
    uint64_t r[] = {50, 50}, c[] = {25, 75};
    NEAR(run_cat(STATS_TEST_HELLINGER, r, c, 2), sqrt(1.0 - (sqrt(0.125) + sqrt(0.375))), 1e-15);
    /* disjoint: BC = 0 -> 1 */
    uint64_t r2[] = {3, 0}, c2[] = {0, 3};
    NEAR(run_cat(STATS_TEST_HELLINGER, r2, c2, 2), 1.0, 1e-15);
}

Test(stats, energy_distance_two_points)
{
    /* a = {0}, b = {1}: (Fa - Fb)^2 = 1 on [0, 1) -> sqrt(2) * sqrt(1) */
    double a[] = {0}, b[] = {1};
    NEAR(run_num(STATS_TEST_ED, STATS_NUM, num(a, ONES, 1), num(b, ONES, 1)), sqrt(2.0), 1e-15);
}

Test(stats, chisquare_closed_forms)
{
    /* 2 categories, ref (50, 50), cur (30, 70): expected (50, 50), chi2 = 2 * 400 / 50 = 16,
     * 1 degree of freedom: sf = erfc(sqrt(16 / 2)) */
    uint64_t r[] = {50, 50}, c[] = {30, 70};
    NEAR(run_cat(STATS_TEST_CHISQUARE, r, c, 2), erfc(sqrt(8.0)), 1e-17);
    /* 3 categories, ref (10, 10, 10), cur (5, 10, 15): expected 10 each,
     * chi2 = (25 + 0 + 25) / 10 = 5, 2 degrees of freedom: sf = exp(-5 / 2) */
    uint64_t r3[] = {10, 10, 10}, c3[] = {5, 10, 15};
    NEAR(run_cat(STATS_TEST_CHISQUARE, r3, c3, 3), exp(-2.5), 1e-15);
    /* a category only in current: expected 0 -> chi2 = inf -> p = 0 */
    uint64_t r4[] = {10, 0}, c4[] = {5, 5};
    cr_assert_eq(run_cat(STATS_TEST_CHISQUARE, r4, c4, 2), 0.0);
}

Test(stats, z_test_closed_form)
{
    /* first category 'a' (index 0).  p1 = 30/100, p2 = 50/100, pooled 0.4,
     * z = -0.2 / sqrt(0.4 * 0.6 * 0.02); p = 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2) */
    uint64_t r[] = {70, 30}, c[] = {50, 50};
    double z = 0.2 / sqrt(0.4 * 0.6 * 0.02);
    NEAR(run_cat(STATS_TEST_Z, r, c, 2), erfc(z / sqrt(2.0)), 1e-15);
    /* one and the same value on both sides: p = 1 */
    uint64_t r2[] = {0, 9}, c2[] = {0, 4};
    cr_assert_eq(run_cat(STATS_TEST_Z, r2, c2, 2), 1.0);
}

Test(stats, numeric_data_as_categories)
{
    /* numbers declared categorical: the union {1, 2, 3}; ref (1,1,2) cur (2,3):
     * shares r = (2/3, 1/3, 0), c = (0, 1/2, 1/2) -> Hellinger BC = sqrt(1/6) */
    double a[] = {1, 2}, b[] = {2, 3};
    uint64_t ca[] = {2, 1}, cb[] = {1, 1};
    NEAR(run_num(STATS_TEST_HELLINGER, STATS_CAT, num(a, ca, 2), num(b, cb, 2)),
         sqrt(1.0 - sqrt(1.0 / 6.0)), 1e-15);
}

Test(stats, sturges_edges_like_numpy)
{
    /* n = 100 values in [0, 10]: width = 10 / (log2(100) + 1) = 1.3086...,
     * nbins = ceil(10 / width) = ceil(7.6439) = 8, edges k * 1.25 */
    double e[16];
    size_t nb = 0;
    cr_assert_eq(stats_sturges_edges(0, 10, 100, false, false, e, 16, &nb), STATS_OK);
    cr_assert_eq(nb, 8);
    for (size_t k = 0; k <= 8; k++)
        cr_assert_eq(e[k], 1.25 * (double)k);
    /* a single value: numpy widens to [v - 0.5, v + 0.5] and uses one bin */
    cr_assert_eq(stats_sturges_edges(3, 3, 50, false, false, e, 16, &nb), STATS_OK);
    cr_assert_eq(nb, 1);
    cr_assert_eq(e[0], 2.5);
    cr_assert_eq(e[1], 3.5);
    /* too small a buffer: STATS_ENOSPACE, and cap 0 only reports nbins */
    cr_assert_eq(stats_sturges_edges(0, 10, 100, false, false, e, 4, &nb), STATS_ENOSPACE);
    cr_assert_eq(stats_sturges_edges(0, 10, 100, false, false, NULL, 0, &nb), STATS_OK);
    cr_assert_eq(nb, 8);
    /* numpy >= 2.1 integer rule: width 20 / (log2(1e6) + 1) < 1 -> 1 -> 20 bins */
    cr_assert_eq(stats_sturges_edges(0, 20, 1000000, true, true, NULL, 0, &nb), STATS_OK);
    cr_assert_eq(nb, 20);
    cr_assert_eq(stats_sturges_edges(0, 20, 1000000, true, false, NULL, 0, &nb), STATS_OK);
    cr_assert_eq(nb, 21); /* ceil(20 / (20 / 20.93)) = ceil(20.93) */
    cr_assert_eq(stats_sturges_edges(0, INFINITY, 10, false, false, e, 16, &nb), STATS_ERANGE);
}

Test(stats, bin_counts_last_bin_closed)
{
    /* values 0, 1.25 (edge), 9.9, 10 (last edge, counted in the last bin) */
    double v[] = {0, 1.25, 9.9, 10};
    double e[] = {0, 1.25, 2.5, 3.75, 5, 6.25, 7.5, 8.75, 10};
    uint64_t c[8];
    stats_num s = num(v, ONES, 4);
    cr_assert_eq(stats_bin_counts(&s, e, 8, c), STATS_OK);
    uint64_t want[8] = {1, 1, 0, 0, 0, 0, 0, 2};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(c[i], want[i], "bin %d", i);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(stats, radix_sort_matches_qsort)
{
    size_t n = 5000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *tmp = malloc(n * sizeof *tmp);
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0;
        switch (i % 5) {
        case 0:
            x[i] = (u - 0.5) * 1e6;
            break;
        case 1:
            x[i] = -u * 1e-310; /* negative subnormals */
            break;
        case 2:
            x[i] = (double)(s % 7) - 3;
            break;
        case 3:
            x[i] = u < 0.5 ? -0.0 : 0.0;
            break;
        default:
            x[i] = -u * 1e300;
        }
        y[i] = x[i];
    }
    stats_sort_doubles(x, n, tmp);
    qsort(y, n, sizeof *y, cmp_d);
    for (size_t i = 0; i < n; i++)
        cr_assert(x[i] == y[i], "position %zu: %g != %g", i, x[i], y[i]);
    free(x);
    free(y);
    free(tmp);
}

/* Total order on doubles: by value, -0.0 before +0.0 (what the radix keys give). */
static int cmp_total(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    return (int)(signbit(y) != 0) - (int)(signbit(x) != 0);
}

/* Small sizes and large ones (around a digit's 2048 buckets), inputs where some radix digits
 * are the same for every key (skipped passes) and where none is, values that differ only in
 * their last bits (alone, and as a dense cluster beside a wide range); compared bit for bit
 * with qsort under the total order. */
Test(stats, radix_sort_total_order_all_sizes)
{
    static const size_t sizes[] = {0, 1, 2, 63, 64, 65, 2047, 2048, 2049, 100003};
    size_t nmax = 100003;
    double *x = malloc(nmax * sizeof *x), *y = malloc(nmax * sizeof *y);
    double *tmp = malloc(nmax * sizeof *tmp);
    cr_assert(x && y && tmp);
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (int kind = 0; kind < 7; kind++) {
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            size_t n = sizes[z];
            for (size_t i = 0; i < n; i++) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                double u = (double)(s >> 11) / 9007199254740992.0;
                switch (kind) {
                case 0: /* every bit pattern class: signs, zeros, subnormals, extremes */
                    switch (i % 8) {
                    case 0:
                        x[i] = (u - 0.5) * 1e6;
                        break;
                    case 1:
                        x[i] = (u < 0.5 ? -u : u) * 4.9e-324 * 1e6; /* subnormals */
                        break;
                    case 2:
                        x[i] = u < 0.5 ? -0.0 : 0.0;
                        break;
                    case 3:
                        x[i] = u < 0.5 ? -DBL_MAX : DBL_MAX;
                        break;
                    case 4:
                        x[i] = u < 0.5 ? -DBL_MIN : DBL_MIN;
                        break;
                    default:
                        x[i] = (u - 0.5) * 1e300;
                    }
                    break;
                case 1: /* one exponent: the top digits are the same for every key */
                    x[i] = 1.0 + u;
                    break;
                case 2: /* small integers: the low digits are all zero */
                    x[i] = (double)(s % 100);
                    break;
                case 3: /* one value */
                    x[i] = -2.5;
                    break;
                case 4: /* already sorted, descending */
                    x[i] = -(double)i;
                    break;
                case 5: /* wide range, values in pairs one ulp apart, the second below */
                    x[i] = i % 2 ? nextafter(x[i - 1], -INFINITY) : (u - 0.5) * 1e12;
                    break;
                default: /* a wide range and a dense cluster one ulp apart in random order */
                    x[i] = i % 3 ? 1.0 + (double)(s % 100000) * DBL_EPSILON : u * 1e300;
                }
                y[i] = x[i];
            }
            stats_sort_doubles(x, n, tmp);
            qsort(y, n, sizeof *y, cmp_total);
            for (size_t i = 0; i < n; i++)
                cr_assert(memcmp(&x[i], &y[i], sizeof(double)) == 0,
                          "kind %d n %zu position %zu: %a != %a", kind, n, i, x[i], y[i]);
        }
    }
    free(x);
    free(y);
    free(tmp);
}

Test(stats, compress_merges_negative_zero)
{
    double x[] = {-1, -0.0, -0.0, 0.0, 2, 2, 2};
    double v[7];
    uint64_t c[7];
    size_t k = stats_compress_sorted(x, 7, v, c);
    cr_assert_eq(k, 3);
    cr_assert_eq(v[1], 0.0);
    cr_assert(!signbit(v[1]), "stored as +0.0");
    cr_assert_eq(c[0], 1);
    cr_assert_eq(c[1], 3);
    cr_assert_eq(c[2], 3);
}

Test(stats, errors_are_reported)
{
    double a[] = {1};
    stats_num sa = num(a, ONES, 1), empty = {a, ONES, 0, 0, false, false, 0, 0};
    stats_column col;
    memset(&col, 0, sizeof col);
    col.kind = STATS_NUM;
    col.ref_num = sa;
    col.cur_num = empty;
    double score = 42;
    char ws[4096];
    cr_assert_eq(stats_run_test(STATS_TEST_WASSERSTEIN, &col, NULL, ws, sizeof ws, &score),
                 STATS_EEMPTY);
    cr_assert_eq(score, 42, "output untouched on error");
    col.cur_num = sa;
    cr_assert_eq(stats_run_test(STATS_TEST_JENSENSHANNON, &col, NULL, ws, 8, &score),
                 STATS_ENOSPACE);
    /* numbers-only tests on text categories */
    uint64_t r[] = {1, 1};
    memset(&col, 0, sizeof col);
    col.kind = STATS_CAT;
    col.ref_cat = (stats_cat){r, 2, 2};
    col.cur_cat = (stats_cat){r, 2, 2};
    cr_assert_eq(stats_run_test(STATS_TEST_KS, &col, NULL, ws, sizeof ws, &score), STATS_ENOTSUP);
    cr_assert_eq(stats_run_test(STATS_TEST_WASSERSTEIN, &col, NULL, ws, sizeof ws, &score),
                 STATS_ENOTSUP);
    cr_assert_str_eq(stats_strerror(STATS_EEMPTY), "no values to compare");
}

/* The one spelling of a double: reads back exactly, and no shorter precision (down to 15,
 * where %g's spelling starts) would; non-finite values as PostgreSQL spells them. */
Test(stats, format_double_round_trips_at_the_shortest_precision)
{
    const double xs[] = {0.1,     1.0 / 3,  2.0 / 3, 1e23,   5e-324, DBL_MAX,  DBL_MIN,
                         -0.0,    123456.0, 0.5,     1e-300, 0.3,    4.35,     9007199254740993.0,
                         -2.5e10, 100,      1e15,    1e16,   1e17,   0.1 + 0.2};
    char out[STATS_DOUBLE_BUFLEN];
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double d = xs[i];
        stats_format_double(d, out, sizeof out);
        cr_assert(strtod(out, NULL) == d && signbit(strtod(out, NULL)) == signbit(d),
                  "%s does not read back as %a", out, d);
        int prec = 0;
        char shorter[64];
        for (int p = 15; p <= 17 && !prec; p++) {
            snprintf(shorter, sizeof shorter, "%.*g", p, d);
            if (strtod(shorter, NULL) == d)
                prec = p;
        }
        snprintf(shorter, sizeof shorter, "%.*g", prec, d);
        cr_assert_str_eq(out, shorter);
    }
    cr_assert_str_eq(stats_format_double(NAN, out, sizeof out), "NaN");
    cr_assert_str_eq(stats_format_double(INFINITY, out, sizeof out), "Infinity");
    cr_assert_str_eq(stats_format_double(-INFINITY, out, sizeof out), "-Infinity");
    cr_assert_str_eq(stats_format_double(0.1, out, sizeof out), "0.1");
}

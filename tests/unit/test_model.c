/* test_model.c - the model's figures (issue 17): numpy's linear quantile on a profiled sample,
 * the score's PSI on the reference's deciles, its band, the approval rate, the
 * importance-weighted drifted share and the retrain rule.  Expected values are the issue's
 * formulas worked by hand (each case says how), or numpy where cited. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "stats/stats.h"

#define NEAR(a, b, tol)                                                                            \
    cr_assert(fabs((a) - (b)) <= (tol)*fmax(1.0, fabs(b)), "%s = %.17g, want %.17g", #a,           \
              (double)(a), (double)(b))

static const double DEC[9] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

static stats_num num(const double *v, const uint64_t *c, size_t k)
{
    stats_num s;
    memset(&s, 0, sizeof s);
    s.value = v;
    s.count = c;
    s.n_distinct = k;
    for (size_t i = 0; i < k; i++)
        s.n += c[i];
    return s;
}

Test(model, quantile_linear_closed_forms)
{
    /* 1..10 once each: h = 9 q, edge = 1 + 9 q (x[i] = i + 1): 1.9, 2.8, ..., 9.1 */
    double v[10];
    uint64_t c[10];
    for (int i = 0; i < 10; i++)
        v[i] = i + 1, c[i] = 1;
    stats_num s = num(v, c, 10);
    double out[9];
    cr_assert_eq(stats_quantiles(&s, DEC, 9, out), STATS_OK);
    for (int k = 0; k < 9; k++)
        NEAR(out[k], 1.0 + 0.9 * (k + 1), 1e-15);
    /* counts: {1 x5, 2 x5}: n = 10, q = 0.4 -> h = 3.6, x[3] = x[4] = 1 -> 1 exactly;
     * q = 0.5 -> h = 4.5, x[4] = 1, x[5] = 2 -> 1.5; q = 0 and 1 -> the extremes */
    double v2[] = {1, 2};
    uint64_t c2[] = {5, 5};
    stats_num s2 = num(v2, c2, 2);
    double q[] = {0.0, 0.4, 0.5, 1.0}, o2[4];
    cr_assert_eq(stats_quantiles(&s2, q, 4, o2), STATS_OK);
    cr_assert_eq(o2[0], 1.0);
    cr_assert_eq(o2[1], 1.0);
    cr_assert_eq(o2[2], 1.5);
    cr_assert_eq(o2[3], 2.0);
}

Test(model, quantile_uses_numpys_lerp)
{
    /* numpy's _lerp computes b - (b - a)(1 - t) when t >= 0.5: here h = 37 * 0.1, t ~ 0.7,
     * and numpy 1.24.2's numpy.quantile(x, 0.1) is 0.1847, where a + (b - a) t gives
     * 0.18470000000000003 */
    static const double x[] = {0.015, 0.105, 0.115, 0.149, 0.2,   0.299, 0.365, 0.415, 0.425, 0.44,
                               0.46,  0.48,  0.497, 0.5,   0.529, 0.58,  0.62,  0.629, 0.672, 0.711,
                               0.729, 0.734, 0.758, 0.786, 0.822, 0.864, 0.89,  0.927, 0.932, 0.942,
                               0.949, 0.955, 0.957, 0.968, 0.973, 0.981, 0.995};
    uint64_t c[37];
    for (int i = 0; i < 37; i++)
        c[i] = 1;
    c[27] = 2; /* 0.927 twice: 38 values */
    stats_num s = num(x, c, 37);
    double q = 0.1, out;
    cr_assert_eq(stats_quantiles(&s, &q, 1, &out), STATS_OK);
    cr_assert_eq(out, 0.1847, "%.17g", out);
}

Test(model, psi_ties_at_the_decile_edges)
{
    /* ref {0 x5, 1 x5}: h = 0.9k; k <= 4 -> x[lo] = x[lo+1] = 0; k = 5 -> h = 4.5 -> 0.5;
     * k >= 6 -> 1: edges 0,0,0,0,0.5,1,1,1,1.  Bins (edges strictly below v): 0 -> bin 0,
     * 0.5 -> bin 4, 1 -> bin 5.  e: bin0 0.5, bin5 0.5, others 0 -> 0.0001.
     * cur {0 x2, 0.5 x2, 1 x6}: a0 0.2, a4 0.2, a5 0.6, others 0 -> 0.0001 (equal to e:
     * no term).  PSI = (0.2-0.5) ln(0.2/0.5) + (0.2-0.0001) ln(0.2/0.0001)
     *                + (0.6-0.5) ln(0.6/0.5) */
    double rv[] = {0, 1}, cv[] = {0, 0.5, 1};
    uint64_t rc[] = {5, 5}, cc[] = {2, 2, 6};
    stats_num r = num(rv, rc, 2), c = num(cv, cc, 3);
    stats_score_drift d;
    cr_assert_eq(stats_score_drift_compute(&r, &c, 0.5, &d), STATS_OK);
    double want_edges[9] = {0, 0, 0, 0, 0.5, 1, 1, 1, 1};
    for (int k = 0; k < 9; k++)
        cr_assert_eq(d.edges[k], want_edges[k], "edge %d = %g", k, d.edges[k]);
    uint64_t wr[10] = {5, 0, 0, 0, 0, 5, 0, 0, 0, 0}, wc[10] = {2, 0, 0, 0, 2, 6, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(d.ref_count[i], wr[i], "ref bin %d", i);
        cr_assert_eq(d.cur_count[i], wc[i], "cur bin %d", i);
    }
    double want = (0.2 - 0.5) * log(0.2 / 0.5) + (0.2 - 0.0001) * log(0.2 / 0.0001) +
                  (0.6 - 0.5) * log(0.6 / 0.5);
    NEAR(d.psi, want, 1e-14);
    cr_assert_eq(d.band, STATS_BAND_ACT);
    /* approval: scores < 0.5: ref 5/10, cur 2/10 (0.5 itself is refused) */
    cr_assert_eq(d.ref_approval, 0.5);
    cr_assert_eq(d.cur_approval, 0.2);
    cr_assert_eq(d.ref_n, 10);
    cr_assert_eq(d.cur_n, 10);
}

Test(model, psi_constant_scores_still_defined)
{
    /* ref all 0.3: every edge is 0.3, every reference score in bin 0 (no edge below it):
     * e = (1, 0.0001 x9).  cur {0.3, 0.7}: a0 = 0.5, a9 = 0.5 (all nine edges below 0.7).
     * PSI = (0.5 - 1) ln 0.5 + (0.5 - 0.0001) ln(0.5 / 0.0001) */
    double rv[] = {0.3}, cv[] = {0.3, 0.7};
    uint64_t rc[] = {4}, cc[] = {1, 1};
    stats_num r = num(rv, rc, 1), c = num(cv, cc, 2);
    stats_score_drift d;
    cr_assert_eq(stats_score_drift_compute(&r, &c, NAN, &d), STATS_OK);
    for (int k = 0; k < 9; k++)
        cr_assert_eq(d.edges[k], 0.3);
    NEAR(d.psi, (0.5 - 1) * log(0.5) + (0.5 - 0.0001) * log(0.5 / 0.0001), 1e-14);
    cr_assert(isnan(d.ref_approval) && isnan(d.cur_approval)); /* no decision threshold */
    /* the same constant on both sides: PSI 0, stable */
    cr_assert_eq(stats_score_drift_compute(&r, &r, 0.5, &d), STATS_OK);
    cr_assert_eq(d.psi, 0.0);
    cr_assert_eq(d.band, STATS_BAND_STABLE);
}

Test(model, psi_needs_a_score_on_both_sides)
{
    /* all scores NaN: the loader dropped them all, the sample is empty */
    double rv[] = {0.3};
    uint64_t rc[] = {4};
    stats_num r = num(rv, rc, 1), e = num(NULL, NULL, 0);
    stats_score_drift d;
    memset(&d, 0x5a, sizeof d);
    unsigned char before[sizeof d];
    memcpy(before, &d, sizeof d);
    cr_assert_eq(stats_score_drift_compute(&r, &e, 0.5, &d), STATS_EEMPTY);
    cr_assert_eq(stats_score_drift_compute(&e, &r, 0.5, &d), STATS_EEMPTY);
    cr_assert(memcmp(before, &d, sizeof d) == 0, "output touched on failure");
    double q = 0.5, out;
    cr_assert_eq(stats_quantiles(&e, &q, 1, &out), STATS_EEMPTY);
    cr_assert(isnan(stats_share_below(&e, 0.5)));
}

Test(model, bands_at_their_boundaries)
{
    cr_assert_eq(stats_psi_band_of(0.0), STATS_BAND_STABLE);
    cr_assert_eq(stats_psi_band_of(0.0999999), STATS_BAND_STABLE);
    cr_assert_eq(stats_psi_band_of(0.1), STATS_BAND_WATCH);
    cr_assert_eq(stats_psi_band_of(0.2499999), STATS_BAND_WATCH);
    cr_assert_eq(stats_psi_band_of(0.25), STATS_BAND_ACT);
    cr_assert_str_eq(stats_psi_band_name(STATS_BAND_STABLE), "stable");
    cr_assert_str_eq(stats_psi_band_name(STATS_BAND_WATCH), "watch");
    cr_assert_str_eq(stats_psi_band_name(STATS_BAND_ACT), "act");
}

static stats_column_result col(bool drifted, double importance)
{
    stats_column_result r;
    memset(&r, 0, sizeof r);
    r.drifted = drifted;
    r.importance = importance;
    return r;
}

Test(model, weighted_share_closed_forms)
{
    /* drifted 10, NaN (weighs 0), 0; not drifted 30: 10 / (10 + 30) = 0.25 */
    stats_column_result c[4] = {col(true, 10), col(false, 30), col(true, NAN), col(true, 0)};
    double s;
    cr_assert_eq(stats_weighted_share(c, 4, &s), STATS_WEIGHTED_OK);
    cr_assert_eq(s, 0.25);
    cr_assert_null(stats_weighted_status_text(STATS_WEIGHTED_OK));
    /* all importances zero (or none): null, with why */
    stats_column_result z[3] = {col(true, 0), col(false, 0), col(true, NAN)};
    cr_assert_eq(stats_weighted_share(z, 3, &s), STATS_WEIGHTED_ZERO_WEIGHT);
    cr_assert(isnan(s));
    cr_assert_not_null(strstr(stats_weighted_status_text(STATS_WEIGHTED_ZERO_WEIGHT), "sum to 0"));
    cr_assert_eq(stats_weighted_share(z, 0, &s), STATS_WEIGHTED_NO_COLUMN);
    cr_assert(isnan(s));
    /* every drifted: 1 */
    stats_column_result a[2] = {col(true, 2.5), col(true, 7.5)};
    cr_assert_eq(stats_weighted_share(a, 2, &s), STATS_WEIGHTED_OK);
    cr_assert_eq(s, 1.0);
}

Test(model, retrain_rule_any_configured_condition)
{
    stats_retrain_rule rule = {0.5, 0.5, 0.3, 0.25};
    stats_verdict v;
    /* 8 of 38 drifted (share 0.21): no share; weighted 0.034 <= 0.3; PSI 0.04 < 0.25 */
    stats_verdict_decide(&rule, 38, 8, 0.034, 0.04, &v);
    cr_assert(!v.retrain);
    cr_assert_eq(v.retrain_reasons, 0u);
    cr_assert_eq(v.importance_weighted_share, 0.034);
    cr_assert_eq(v.score_psi, 0.04);
    /* share 3/4 > 0.5 only */
    stats_verdict_decide(&rule, 4, 3, 0.1, 0.01, &v);
    cr_assert(v.retrain);
    cr_assert_eq(v.retrain_reasons, (unsigned)STATS_RETRAIN_SHARE);
    /* weighted share: strictly above ("goes past"): 0.3 does not, 0.3000001 does */
    stats_verdict_decide(&rule, 4, 1, 0.3, 0.0, &v);
    cr_assert(!v.retrain);
    stats_verdict_decide(&rule, 4, 1, 0.3000001, 0.0, &v);
    cr_assert_eq(v.retrain_reasons, (unsigned)STATS_RETRAIN_WEIGHTED_SHARE);
    /* PSI: at the threshold it holds (>=) */
    stats_verdict_decide(&rule, 4, 1, 0.0, 0.25, &v);
    cr_assert_eq(v.retrain_reasons, (unsigned)STATS_RETRAIN_SCORE_PSI);
    /* all three, named in report order */
    stats_verdict_decide(&rule, 4, 4, 1.0, 3.0, &v);
    cr_assert_eq(v.retrain_reasons, (unsigned)(STATS_RETRAIN_SHARE | STATS_RETRAIN_WEIGHTED_SHARE |
                                               STATS_RETRAIN_SCORE_PSI));
    cr_assert_str_eq(stats_retrain_reason_name(0), "share");
    cr_assert_str_eq(stats_retrain_reason_name(1), "weighted_share");
    cr_assert_str_eq(stats_retrain_reason_name(2), "score_psi");
    /* a figure that is not there (NaN) never holds; nor a condition not configured */
    stats_verdict_decide(&rule, 4, 1, NAN, NAN, &v);
    cr_assert(!v.retrain);
    stats_retrain_rule plain = {0.5, 0.5, NAN, NAN};
    stats_verdict_decide(&plain, 4, 1, 1.0, 9.0, &v);
    cr_assert(!v.retrain);
    /* no column tested: the score's condition still stands on its own */
    stats_verdict_decide(&rule, 0, 0, NAN, 0.3, &v);
    cr_assert(isnan(v.share_of_drifted_columns));
    cr_assert_eq(v.retrain_reasons, (unsigned)STATS_RETRAIN_SCORE_PSI);
    /* the old entry point is the same rule without the model */
    stats_dataset_verdict(4, 3, 0.5, 0.5, &v);
    cr_assert_eq(v.retrain_reasons, (unsigned)STATS_RETRAIN_SHARE);
    cr_assert(isnan(v.importance_weighted_share) && isnan(v.score_psi));
}

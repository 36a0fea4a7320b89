/* test_perf.c - a model's realised performance (issue 21): the confusion counts at the decision
 * threshold, AUC, recall, precision, the business cost and the optimal threshold.  Expected
 * values are the definitions worked by hand (each case shows the sums), or, for the
 * random case, the definitions computed the slow way (every pair, every candidate). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"

#define NEAR(a, b)                                                                                 \
    cr_assert(fabs((a) - (b)) <= 1e-15 * fmax(1.0, fabs(b)), "%s = %.17g, want %.17g", #a,         \
              (double)(a), (double)(b))

static stats_perf eval(const double *s, const double *l, size_t n, double t, double cfn, double cfp)
{
    void *ws = malloc(stats_perf_workspace_bytes(n) + 1);
    stats_perf p;
    memset(&p, 0xab, sizeof p);
    int rc = stats_perf_eval(s, l, n, t, cfn, cfp, ws, &p);
    free(ws);
    cr_assert_eq(rc, STATS_OK, "%s", stats_strerror(rc));
    return p;
}

static void counts(const stats_perf *p, uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn)
{
    cr_assert_eq(p->tp, tp, "tp %llu", (unsigned long long)p->tp);
    cr_assert_eq(p->fp, fp, "fp %llu", (unsigned long long)p->fp);
    cr_assert_eq(p->tn, tn, "tn %llu", (unsigned long long)p->tn);
    cr_assert_eq(p->fn, fn, "fn %llu", (unsigned long long)p->fn);
}

Test(perf, four_rows_by_hand)
{
    /* scikit-learn's roc_auc_score docstring example: positives {0.35, 0.8}, negatives
     * {0.1, 0.4}; of the 4 pairs 0.35>0.1, 0.8>0.1, 0.8>0.4 win: AUC 3/4 */
    const double s[] = {0.1, 0.4, 0.35, 0.8}, l[] = {0, 0, 1, 1};
    stats_perf p = eval(s, l, 4, 0.5, 10, 1);
    cr_assert_eq(p.rows, 4);
    cr_assert_eq(p.left_out, 0);
    NEAR(p.auc, 0.75);
    counts(&p, 1, 0, 2, 1); /* refused: 0.8 */
    NEAR(p.recall, 0.5);
    NEAR(p.precision, 1.0);
    NEAR(p.business_cost, 10.0 / 4); /* 10*1 + 1*0 */
    /* t=0.1: FP 2 -> 2/4; t=0.35: FP 1 -> 1/4; t=0.4: FN 1 FP 1 -> 11/4; t=0.8: FN 1 -> 10/4;
     * +inf: FN 2 -> 20/4 */
    NEAR(p.optimal_threshold, 0.35);
    NEAR(p.business_cost_at_optimal, 0.25);
}

Test(perf, ties_in_scores_and_threshold_at_a_tie)
{
    /* positives {0.5, 0.9}, negatives {0.5, 0.5, 0.2}: the positive at 0.5 ties two
     * negatives (1/2 each) and beats 0.2: 2; the one at 0.9 beats all 3: AUC 5/6 */
    const double s[] = {0.5, 0.5, 0.9, 0.5, 0.2}, l[] = {1, 0, 1, 0, 0};
    stats_perf p = eval(s, l, 5, 0.5, 10, 1);
    NEAR(p.auc, 5.0 / 6);
    /* threshold 0.5, at the tie: score >= 0.5 refuses all three tied rows and 0.9 */
    counts(&p, 2, 2, 1, 0);
    NEAR(p.recall, 1.0);
    NEAR(p.precision, 0.5);
    NEAR(p.business_cost, 2.0 / 5);
    /* 10/1: t=0.2 FP 3 -> 3/5; t=0.5 FP 2 -> 2/5; t=0.9 FN 1 -> 10/5; +inf 20/5 */
    NEAR(p.optimal_threshold, 0.5);
    NEAR(p.business_cost_at_optimal, 0.4);
    /* 1/1: 3, 2, 1, 2 -> t = 0.9, cost 1/5 */
    p = eval(s, l, 5, 0.5, 1, 1);
    NEAR(p.optimal_threshold, 0.9);
    NEAR(p.business_cost_at_optimal, 0.2);
    /* fn 2, fp 1: 3, 2, 2, 4 -> a tie of cost between 0.5 and 0.9: the smaller, 0.5 */
    p = eval(s, l, 5, 0.5, 2, 1);
    NEAR(p.optimal_threshold, 0.5);
    NEAR(p.business_cost_at_optimal, 0.4);
    NEAR(p.business_cost, 2.0 / 5); /* 2*0 + 1*2 */
    /* a threshold just above the tie refuses 0.9 alone */
    p = eval(s, l, 5, nextafter(0.5, 1), 10, 1);
    counts(&p, 1, 0, 3, 1);
}

Test(perf, refuse_nobody_wins_or_ties)
{
    /* positive {0.3}, negatives {0.7, 0.8}; fn 1, fp 10: t=0.3 FP 2 -> 20; t=0.7 FN 1 FP 2
     * -> 21; t=0.8 FN 1 FP 1 -> 11; +inf FN 1 -> 1: refuse nobody, 1/3 per row */
    const double s[] = {0.7, 0.3, 0.8}, l[] = {0, 1, 0};
    stats_perf p = eval(s, l, 3, 0.75, 1, 10);
    cr_assert(isinf(p.optimal_threshold) && p.optimal_threshold > 0, "%g", p.optimal_threshold);
    NEAR(p.business_cost_at_optimal, 1.0 / 3);
    NEAR(p.auc, 0.0); /* the positive is below both negatives */
    counts(&p, 0, 1, 1, 1);
    NEAR(p.business_cost, 11.0 / 3);
    cr_assert(isnan(p.recall) == false);
    NEAR(p.recall, 0.0);
    NEAR(p.precision, 0.0);
    /* positive {0.3}, negative {0.7}, 1/1: t=0.3 FP 1 -> 1; t=0.7 FN 1 FP 1 -> 2; +inf FN 1
     * -> 1: a tie with +inf keeps the smaller, 0.3 */
    const double s2[] = {0.3, 0.7}, l2[] = {1, 0};
    p = eval(s2, l2, 2, 0.5, 1, 1);
    NEAR(p.optimal_threshold, 0.3);
    NEAR(p.business_cost_at_optimal, 0.5);
}

Test(perf, one_class_and_no_rows)
{
    /* negatives only: no AUC, no recall (TP + FN = 0); threshold 0.5 refuses 0.6: FP 1,
     * precision 0/1 = 0, cost 1/2; the optimum refuses nobody at cost 0 */
    const double s[] = {0.2, 0.6}, l[] = {0, 0};
    stats_perf p = eval(s, l, 2, 0.5, 10, 1);
    cr_assert(isnan(p.auc));
    cr_assert(isnan(p.recall));
    NEAR(p.precision, 0.0);
    counts(&p, 0, 1, 1, 0);
    NEAR(p.business_cost, 0.5);
    cr_assert(isinf(p.optimal_threshold));
    NEAR(p.business_cost_at_optimal, 0.0);
    /* positives only, none refused: precision 0/0 */
    const double l1[] = {1, 1};
    p = eval(s, l1, 2, 0.9, 10, 1);
    cr_assert(isnan(p.auc) && isnan(p.precision));
    NEAR(p.recall, 0.0);
    NEAR(p.business_cost, 10.0);    /* 10*2 / 2 */
    NEAR(p.optimal_threshold, 0.2); /* refuse both: 0 */
    NEAR(p.business_cost_at_optimal, 0.0);
    /* all labels missing: nothing evaluated, every figure NaN */
    const double ln[] = {NAN, NAN};
    p = eval(s, ln, 2, 0.5, 10, 1);
    cr_assert_eq(p.rows, 0);
    cr_assert_eq(p.left_out, 2);
    counts(&p, 0, 0, 0, 0);
    cr_assert(isnan(p.auc) && isnan(p.recall) && isnan(p.precision) && isnan(p.business_cost) &&
              isnan(p.optimal_threshold) && isnan(p.business_cost_at_optimal));
    p = eval(NULL, NULL, 0, 0.5, 10, 1);
    cr_assert_eq(p.rows + p.left_out, 0);
    cr_assert(isnan(p.business_cost));
}

Test(perf, left_out_rows)
{
    /* a NaN label, a NaN score, +inf and -inf scores are left out and counted; the rest is the
     * four_rows_by_hand case */
    const double s[] = {0.1, NAN, 0.4, INFINITY, 0.35, 0.3, -INFINITY, 0.8},
                 l[] = {0, 1, 0, 0, 1, NAN, 1, 1};
    stats_perf p = eval(s, l, 8, 0.5, 10, 1);
    cr_assert_eq(p.rows, 4);
    cr_assert_eq(p.left_out, 4);
    NEAR(p.auc, 0.75);
    counts(&p, 1, 0, 2, 1);
}

Test(perf, negative_zero_is_zero)
{
    /* -0.0 and 0.0 are one score: the positive at -0.0 ties the negative at 0.0 (AUC 1/2) and
     * a threshold of 0 refuses both; the optimum is written +0.0 */
    const double s[] = {-0.0, 0.0}, l[] = {1, 0};
    stats_perf p = eval(s, l, 2, 0.0, 10, 1);
    NEAR(p.auc, 0.5);
    counts(&p, 1, 1, 0, 0);
    NEAR(p.optimal_threshold, 0.0);
    cr_assert(!signbit(p.optimal_threshold));
}

Test(perf, bad_arguments)
{
    const double s[] = {0.1, 0.2}, ok[] = {0, 1};
    double ws[4];
    stats_perf p, want;
    memset(&p, 0x5a, sizeof p);
    want = p;
    static const double bad_labels[] = {2, 0.5, -1, INFINITY};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        const double l[] = {0, bad_labels[i]};
        cr_assert_eq(stats_perf_eval(s, l, 2, 0.5, 10, 1, ws, &p), STATS_EINVAL, "label %g",
                     bad_labels[i]);
    }
    /* a bad label is refused even where the score is missing */
    const double sn[] = {0.1, NAN}, l2[] = {0, 7};
    cr_assert_eq(stats_perf_eval(sn, l2, 2, 0.5, 10, 1, ws, &p), STATS_EINVAL);
    cr_assert_eq(stats_perf_eval(s, ok, 2, NAN, 10, 1, ws, &p), STATS_EINVAL);
    cr_assert_eq(stats_perf_eval(s, ok, 2, 0.5, -1, 1, ws, &p), STATS_EINVAL);
    cr_assert_eq(stats_perf_eval(s, ok, 2, 0.5, 10, INFINITY, ws, &p), STATS_EINVAL);
    cr_assert_eq(stats_perf_eval(s, ok, 2, 0.5, 10, 1, NULL, &p), STATS_EINVAL);
    cr_assert_eq(stats_perf_eval(s, ok, 2, 0.5, 10, 1, ws, NULL), STATS_EINVAL);
    cr_assert(memcmp(&p, &want, sizeof p) == 0, "output changed on error");
    cr_assert_eq(stats_perf_workspace_bytes(2), 4 * sizeof(double));
}

/* The definitions the slow way: every (positive, negative) pair, every candidate threshold. */
Test(perf, random_ties_against_the_definitions)
{
    enum { N = 400 };
    double s[N], l[N];
    srand(21);
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < N; i++) {
            s[i] = (double)(rand() % 25) / 8.0 - 1.0; /* 25 values: many ties */
            l[i] = rand() % 5 == 0 ? 1.0 : 0.0;
            if (rand() % 40 == 0)
                l[i] = NAN;
            if (rand() % 50 == 0)
                s[i] = NAN;
        }
        double thr = (double)(rand() % 25) / 8.0 - 1.0, cfn = 1 + rand() % 12,
               cfp = 0.5 + rand() % 3;
        stats_perf p = eval(s, l, N, thr, cfn, cfp);
        double win2 = 0;
        uint64_t np = 0, nn = 0, tp = 0, fp = 0, out = 0;
        for (size_t i = 0; i < N; i++) {
            if (isnan(s[i]) || isnan(l[i])) {
                out++;
                continue;
            }
            if (l[i] == 1) {
                np++;
                tp += s[i] >= thr;
                for (size_t j = 0; j < N; j++)
                    if (!isnan(s[j]) && l[j] == 0)
                        win2 += s[i] > s[j] ? 2 : s[i] == s[j] ? 1 : 0;
            } else {
                nn++;
                fp += s[i] >= thr;
            }
        }
        uint64_t rows = np + nn;
        cr_assert_eq(p.rows, rows);
        cr_assert_eq(p.left_out, out);
        counts(&p, tp, fp, nn - fp, np - tp);
        NEAR(p.auc, win2 / (2.0 * (double)np * (double)nn));
        NEAR(p.business_cost, (cfn * (double)(np - tp) + cfp * (double)fp) / (double)rows);
        /* candidates ascending, then +inf; only a strictly lower cost wins */
        double best = (cfn * (double)np) / (double)rows, best_t = INFINITY;
        for (int k = 24; k >= -1; k--) { /* descending so that ties move to the smaller t */
            double t = k < 0 ? -2 : (double)k / 8.0 - 1.0;
            bool present = false;
            uint64_t fn_t = 0, fp_t = 0;
            for (size_t i = 0; i < N; i++) {
                if (isnan(s[i]) || isnan(l[i]))
                    continue;
                present |= s[i] == t;
                if (l[i] == 1)
                    fn_t += s[i] < t;
                else
                    fp_t += s[i] >= t;
            }
            if (!present)
                continue;
            double c = (cfn * (double)fn_t + cfp * (double)fp_t) / (double)rows;
            if (c <= best) {
                best = c;
                best_t = t;
            }
        }
        NEAR(p.business_cost_at_optimal, best);
        cr_assert_eq(p.optimal_threshold, best_t, "round %d: %g, want %g", round,
                     p.optimal_threshold, best_t);
    }
}

Test(perf, cost_increase)
{
    stats_perf ref, cur;
    memset(&ref, 0, sizeof ref);
    memset(&cur, 0, sizeof cur);
    ref.business_cost = 0.5;
    cur.business_cost = 0.75;
    NEAR(stats_perf_cost_increase(&ref, &cur), 0.5);
    cur.business_cost = 0.25;
    NEAR(stats_perf_cost_increase(&ref, &cur), -0.5);
    cur.business_cost = NAN;
    cr_assert(isnan(stats_perf_cost_increase(&ref, &cur)));
    ref.business_cost = 0;
    cur.business_cost = 0.25;
    cr_assert(isnan(stats_perf_cost_increase(&ref, &cur)));
}

Test(perf, verdict_cost_reason)
{
    stats_retrain_rule rule = {0.5, 0.5, NAN, NAN};
    stats_verdict v;
    stats_verdict_decide(&rule, 4, 1, NAN, NAN, &v);
    cr_assert(isnan(v.cost_increase));
    cr_assert(!v.retrain);
    /* "more than this fraction": 0.1 is not more than 0.1 */
    stats_verdict_cost(0.1, 0.1, &v);
    cr_assert(!v.retrain && v.retrain_reasons == 0);
    NEAR(v.cost_increase, 0.1);
    stats_verdict_cost(NAN, 0.1, &v);
    cr_assert(!v.retrain);
    stats_verdict_cost(0.5, NAN, &v); /* not configured */
    cr_assert(!v.retrain);
    stats_verdict_cost(nextafter(0.1, 1), 0.1, &v);
    cr_assert(v.retrain && v.retrain_reasons == STATS_RETRAIN_COST);
    cr_assert_str_eq(stats_retrain_reason_name(3), "cost");
    /* added to a verdict that already flags retraining */
    stats_verdict_decide(&rule, 4, 3, NAN, NAN, &v);
    stats_verdict_cost(0.2, 0.1, &v);
    cr_assert_eq(v.retrain_reasons, STATS_RETRAIN_SHARE | STATS_RETRAIN_COST);
}

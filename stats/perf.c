/* perf.c - a model's realised performance on labelled rows (issue 21; see stats.h). */
#include "stats/stats.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

size_t stats_perf_workspace_bytes(size_t n)
{
    /* the positives' and the negatives' scores (n in all), and the sort's scratch */
    return 2 * n * sizeof(double);
}

/* The number of x[0..n-1] (ascending) strictly below t. */
static size_t count_below(const double *x, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

/* The cost per row of fn false negatives and fp false positives over rows rows, written as
 * the definition reads (the oracle computes it the same way, so that ties are the same). */
static double cost_per_row(double cost_fn, double cost_fp, uint64_t fn, uint64_t fp, uint64_t rows)
{
    return (cost_fn * (double)fn + cost_fp * (double)fp) / (double)rows;
}

int stats_perf_eval(const double *score, const double *label, size_t n, double threshold,
                    double cost_fn, double cost_fp, void *ws, stats_perf *out)
{
    if (!out || (n && (!score || !label || !ws)) || isnan(threshold) || !isfinite(cost_fn) ||
        !isfinite(cost_fp) || cost_fn < 0 || cost_fp < 0)
        return STATS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isnan(label[i]) && label[i] != 0.0 && label[i] != 1.0)
            return STATS_EINVAL;

    /* positives' scores from the front of pos, negatives' from the front of neg: the two
     * share the first n doubles of ws (pos grows up, neg down from the end) */
    double *buf = ws, *tmp = buf + n;
    size_t np = 0, nn = 0;
    uint64_t left_out = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(label[i]) || !isfinite(score[i])) {
            left_out++;
            continue;
        }
        if (label[i] == 1.0)
            buf[np++] = score[i];
        else
            buf[n - 1 - nn++] = score[i];
    }
    double *pos = buf, *neg = buf + (n - nn);
    stats_sort_doubles(pos, np, tmp);
    stats_sort_doubles(neg, nn, tmp);

    stats_perf r;
    memset(&r, 0, sizeof r);
    r.rows = (uint64_t)np + (uint64_t)nn;
    r.left_out = left_out;
    /* refuse when score >= threshold */
    r.tp = np - count_below(pos, np, threshold);
    r.fn = np - r.tp;
    r.fp = nn - count_below(neg, nn, threshold);
    r.tn = nn - r.fp;
    r.recall = ratio(r.tp, r.tp + r.fn);
    r.precision = ratio(r.tp, r.tp + r.fp);
    r.auc = NAN;
    r.business_cost = r.optimal_threshold = r.business_cost_at_optimal = NAN;
    if (r.rows == 0) {
        *out = r;
        return STATS_OK;
    }
    r.business_cost = cost_per_row(cost_fn, cost_fp, r.fn, r.fp, r.rows);

    /*
     * One merge of the two sorted samples, distinct value v by distinct value (ascending):
     *   AUC: each positive at v beats the negatives below v and ties with those at v, so
     *   2 * U = sum over v of p_v * (2 * below_v + n_v), exact in 64 bits while
     *   np * nn < 2^62 (Mann-Whitney with average ranks: the same U);
     *   the threshold t = v refuses the rows >= v: FN = positives below v, FP = negatives at
     *   or above v; t = +inf refuses nobody (FN = np, FP = 0), the last candidate.  Only a
     *   strictly lower cost moves the optimum, so ties keep the smallest t.
     */
    bool exact = np == 0 || nn == 0 || (double)np * (double)nn < 0x1p62;
    uint64_t u2 = 0;
    long double u2l = 0;
    size_t i = 0, j = 0;
    double best_t = INFINITY, best = cost_per_row(cost_fn, cost_fp, np, 0, r.rows);
    bool have_best = false;
    while (i < np || j < nn) {
        double v = i < np && (j >= nn || pos[i] <= neg[j]) ? pos[i] : neg[j];
        double c = cost_per_row(cost_fn, cost_fp, i, nn - j, r.rows);
        if (!have_best || c < best) {
            best = c;
            best_t = v + 0.0; /* -0.0 reported as 0.0 */
            have_best = true;
        }
        size_t pi = i, nj = j;
        while (i < np && pos[i] == v)
            i++;
        while (j < nn && neg[j] == v)
            j++;
        uint64_t pv = i - pi, nv = j - nj;
        if (exact)
            u2 += pv * (2 * (uint64_t)nj + nv);
        else
            u2l += (long double)pv * (2.0L * (long double)nj + (long double)nv);
    }
    double c_inf = cost_per_row(cost_fn, cost_fp, np, 0, r.rows);
    if (c_inf < best) {
        best = c_inf;
        best_t = INFINITY;
    }
    r.optimal_threshold = best_t;
    r.business_cost_at_optimal = best;
    if (np && nn)
        r.auc = exact ? (double)u2 / (2.0 * (double)np * (double)nn)
                      : (double)(u2l / (2.0L * (long double)np * (long double)nn));
    *out = r;
    return STATS_OK;
}

double stats_perf_cost_increase(const stats_perf *ref, const stats_perf *cur)
{
    if (!ref || !cur || !isfinite(ref->business_cost) || !isfinite(cur->business_cost) ||
        ref->business_cost == 0)
        return NAN;
    return cur->business_cost / ref->business_cost - 1.0;
}

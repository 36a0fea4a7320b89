/*
 * model.c - the model's figures (issue 17): the score's PSI on the reference's deciles, its
 * band, the approval rates, and the importance-weighted drifted share.  The formulas are
 * stated in stats.h; the oracle (tests/oracle/model_rules.py) computes them with numpy.
 */
#include "stats/internal.h"

#include <math.h>

static const double DECILES[STATS_SCORE_NEDGES] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
/* a share of 0 counts as this (Evidently's fill for PSI) */
static const double ZERO_SHARE = 0.0001;

stats_psi_band stats_psi_band_of(double psi)
{
    if (psi >= 0.25)
        return STATS_BAND_ACT;
    if (psi >= 0.1)
        return STATS_BAND_WATCH;
    return STATS_BAND_STABLE;
}

const char *stats_psi_band_name(stats_psi_band b)
{
    switch (b) {
    case STATS_BAND_STABLE:
        return "stable";
    case STATS_BAND_WATCH:
        return "watch";
    case STATS_BAND_ACT:
        return "act";
    }
    return "?";
}

/* numpy's _lerp: a + (b - a) t, or b - (b - a) (1 - t) when t >= 0.5 (exact at both ends) */
static double lerp(double a, double b, double t)
{
    double d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

int stats_quantiles(const stats_num *s, const double *q, size_t nq, double *out)
{
    if (!s || !q || !out)
        return STATS_EINVAL;
    if (s->n == 0 || s->n_distinct == 0)
        return STATS_EEMPTY;
    if (!s->value)
        return STATS_EINVAL;
    for (size_t k = 0; k < nq; k++)
        if (!(q[k] >= 0.0 && q[k] <= 1.0) || (k > 0 && q[k] < q[k - 1]))
            return STATS_EINVAL;
    bool ones = stats_num_all_ones(s);
    size_t j = 0;       /* distinct value holding the expanded index `below` */
    uint64_t below = 0; /* expanded values before value[j] */
    uint64_t last = s->n - 1;
    for (size_t k = 0; k < nq; k++) {
        double h = (double)last * q[k]; /* numpy: (n - 1) * q */
        double fl = floor(h);
        uint64_t lo = h >= (double)last ? last : (uint64_t)fl;
        uint64_t hi = lo < last ? lo + 1 : last;
        double t = h - fl;
        /* advance to the distinct value holding index lo (q ascending: never backwards) */
        while (below + (ones ? 1 : s->count[j]) <= lo) {
            below += ones ? 1 : s->count[j];
            j++;
        }
        double a = s->value[j];
        double b = hi < below + (ones ? 1 : s->count[j]) ? a : s->value[j + 1];
        out[k] = lerp(a, b, t);
    }
    return STATS_OK;
}

double stats_share_below(const stats_num *s, double threshold)
{
    if (!s || s->n == 0 || isnan(threshold))
        return NAN;
    uint64_t k = 0;
    for (size_t i = 0; i < s->n_distinct && s->value[i] < threshold; i++)
        k += stats_num_all_ones(s) ? 1 : s->count[i];
    return (double)k / (double)s->n;
}

/* counts[i] = values of s in bin i: the number of edges strictly below the value */
static void decile_counts(const stats_num *s, const double *edges, uint64_t *counts)
{
    for (size_t i = 0; i < STATS_SCORE_NBINS; i++)
        counts[i] = 0;
    size_t bin = 0;
    for (size_t i = 0; i < s->n_distinct; i++) {
        while (bin < STATS_SCORE_NEDGES && edges[bin] < s->value[i])
            bin++;
        counts[bin] += stats_num_all_ones(s) ? 1 : s->count[i];
    }
}

int stats_score_drift_compute(const stats_num *ref, const stats_num *cur, double decision_threshold,
                              stats_score_drift *out)
{
    if (!ref || !cur || !out)
        return STATS_EINVAL;
    if (ref->n == 0 || cur->n == 0)
        return STATS_EEMPTY;
    stats_score_drift o;
    int rc = stats_quantiles(ref, DECILES, STATS_SCORE_NEDGES, o.edges);
    if (rc != STATS_OK)
        return rc;
    decile_counts(ref, o.edges, o.ref_count);
    decile_counts(cur, o.edges, o.cur_count);
    o.ref_n = ref->n;
    o.cur_n = cur->n;
    double psi = 0.0;
    for (size_t i = 0; i < STATS_SCORE_NBINS; i++) {
        double e = (double)o.ref_count[i] / (double)o.ref_n;
        double a = (double)o.cur_count[i] / (double)o.cur_n;
        if (e == 0.0)
            e = ZERO_SHARE;
        if (a == 0.0)
            a = ZERO_SHARE;
        psi += (a - e) * log(a / e);
    }
    o.psi = psi;
    o.band = stats_psi_band_of(psi);
    o.ref_approval = stats_share_below(ref, decision_threshold);
    o.cur_approval = stats_share_below(cur, decision_threshold);
    *out = o;
    return STATS_OK;
}

const char *stats_weighted_status_text(stats_weighted_status s)
{
    switch (s) {
    case STATS_WEIGHTED_OK:
        return NULL;
    case STATS_WEIGHTED_NO_COLUMN:
        return "no column was tested";
    case STATS_WEIGHTED_ZERO_WEIGHT:
        return "the tested columns' importances sum to 0";
    }
    return "?";
}

stats_weighted_status stats_weighted_share(const stats_column_result *cols, size_t n, double *share)
{
    *share = NAN;
    if (n == 0)
        return STATS_WEIGHTED_NO_COLUMN;
    double all = 0.0, drifted = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = cols[i].importance;
        if (isnan(w))
            continue;
        all += w;
        if (cols[i].drifted)
            drifted += w;
    }
    if (!(all > 0.0))
        return STATS_WEIGHTED_ZERO_WEIGHT;
    *share = drifted / all;
    return STATS_WEIGHTED_OK;
}

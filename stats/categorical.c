/*
 * categorical.c - the tests on categories and shares: Jensen-Shannon, chi-square, z, PSI,
 * Kullback-Leibler and Hellinger, on categories aligned across both sides or on Evidently's
 * bins.  Shares are count / n, then renormalised by their own sum where Evidently does so;
 * the z-test p-value is 2 * (1 - Phi(|z|)) with Phi computed as scipy's ndtr does
 * (1 - erfc/2 above 1/sqrt(2)), which keeps the same quantisation near 1.
 */
#include "stats/internal.h"
#include "stats/numsum.h"

#include <math.h>

#include <gsl/gsl_cdf.h>

/* np.sum(a) of a 1-D array: the first element, then the pairwise sum of the rest. */
static double np_sum(const double *a, size_t n)
{
    if (n == 0)
        return 0.;
    return a[0] + stats_pairwise_sum(a + 1, n - 1);
}

/* Align two numeric samples on the union of their values: counts into cp / cq. */
static size_t align_num(const stats_num *a, const stats_num *b, uint64_t *cp, uint64_t *cq)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n_distinct || j < b->n_distinct) {
        if (j >= b->n_distinct || (i < a->n_distinct && a->value[i] < b->value[j])) {
            cp[k] = a->count[i++];
            cq[k] = 0;
        } else if (i >= a->n_distinct || b->value[j] < a->value[i]) {
            cp[k] = 0;
            cq[k] = b->count[j++];
        } else {
            cp[k] = a->count[i++];
            cq[k] = b->count[j++];
        }
        k++;
    }
    return k;
}

/* Category counts for both sides (the union), in w->cp / w->cq; returns their number. */
static size_t category_counts(const stats_column *c, stats_workspace *w, uint64_t *nref,
                              uint64_t *ncur)
{
    if (uses_num(c)) {
        *nref = c->ref_num.n;
        *ncur = c->cur_num.n;
        return align_num(&c->ref_num, &c->cur_num, w->cp, w->cq);
    }
    size_t k = 0;
    for (size_t i = 0; i < c->ref_cat.n_categories; i++) {
        /* categories absent from both sides are not in pandas' union of value_counts */
        if (c->ref_cat.count[i] == 0 && c->cur_cat.count[i] == 0)
            continue;
        w->cp[k] = c->ref_cat.count[i];
        w->cq[k] = c->cur_cat.count[i];
        k++;
    }
    *nref = c->ref_cat.n;
    *ncur = c->cur_cat.n;
    return k;
}

/*
 * Evidently's get_binned_data(): numeric columns whose reference has more than 20 distinct
 * values are cut into Sturges bins over the pooled sample; everything else is categories.
 * Shares (count / n) into w->p, w->q; returns the number of bins.
 */
static int binned_shares(const stats_column *c, const stats_options *opt, stats_workspace *w,
                         size_t *nbins)
{
    uint64_t nref, ncur;
    size_t k;
    if (c->kind == STATS_NUM && c->ref_num.n_distinct > 20) {
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        int rc =
            stats_sturges_edges(num_min(a, b), num_max(a, b), a->n + b->n, a->is_int && b->is_int,
                                opt && opt->int_width_rule, w->edges, w->len + 1, &k);
        if (rc != STATS_OK)
            return rc;
        stats_bin_counts(a, w->edges, k, w->cp);
        stats_bin_counts(b, w->edges, k, w->cq);
        nref = a->n;
        ncur = b->n;
    } else {
        k = category_counts(c, w, &nref, &ncur);
    }
    for (size_t i = 0; i < k; i++) {
        w->p[i] = (double)w->cp[i] / (double)nref;
        w->q[i] = (double)w->cq[i] / (double)ncur;
    }
    *nbins = k;
    return STATS_OK;
}

/* Evidently's "feel_zeroes": replace zero shares by a small positive share. */
static void fill_zeros(double *p, size_t n)
{
    double smallest = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0. && p[i] < smallest)
            smallest = p[i];
    if (isinf(smallest))
        return; /* all zero: numpy's min of an empty selection would raise; never happens */
    double fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0.)
            p[i] = fill;
}

/* ---- the tests ----------------------------------------------------------------------- */

static double js_distance(double *p, double *q, size_t n)
{
    double sp = np_sum(p, n), sq = np_sum(q, n);
    for (size_t i = 0; i < n; i++) {
        p[i] /= sp;
        q[i] /= sq;
    }
    /* kp and kq are np.where(...).sum() over the full vectors: zeros included in the sum */
    double *tp = p, *tq = q; /* reuse: compute the terms in place after reading m */
    for (size_t i = 0; i < n; i++) {
        double m = (p[i] + q[i]) / 2.0;
        double a = p[i] > 0 ? p[i] * log(p[i] / m) : 0.;
        double b = q[i] > 0 ? q[i] * log(q[i] / m) : 0.;
        tp[i] = a;
        tq[i] = b;
    }
    double kp = np_sum(tp, n), kq = np_sum(tq, n);
    return sqrt((kp + kq) / 2.0);
}

int stats_score_jensenshannon(const stats_column *c, const stats_options *opt, stats_workspace *w,
                              double *score)
{
    size_t k;
    int rc = binned_shares(c, opt, w, &k);
    if (rc == STATS_OK)
        *score = js_distance(w->p, w->q, k);
    return rc;
}

/* Binned shares with Evidently's zero fill on both sides (PSI, Kullback-Leibler). */
static int filled_shares(const stats_column *c, const stats_options *opt, stats_workspace *w,
                         size_t *nbins)
{
    int rc = binned_shares(c, opt, w, nbins);
    if (rc == STATS_OK) {
        fill_zeros(w->p, *nbins);
        fill_zeros(w->q, *nbins);
    }
    return rc;
}

int stats_score_psi(const stats_column *c, const stats_options *opt, stats_workspace *w,
                    double *score)
{
    size_t k;
    int rc = filled_shares(c, opt, w, &k);
    if (rc != STATS_OK)
        return rc;
    for (size_t i = 0; i < k; i++)
        w->p[i] = (w->p[i] - w->q[i]) * log(w->p[i] / w->q[i]);
    *score = np_sum(w->p, k);
    return STATS_OK;
}

int stats_score_kl_div(const stats_column *c, const stats_options *opt, stats_workspace *w,
                       double *score)
{
    size_t k;
    int rc = filled_shares(c, opt, w, &k);
    if (rc != STATS_OK)
        return rc;
    double sp = np_sum(w->p, k), sq = np_sum(w->q, k);
    for (size_t i = 0; i < k; i++) {
        double r = w->p[i] / sp, q = w->q[i] / sq;
        w->p[i] = r > 0 ? r * log(r / q) : 0.;
    }
    *score = np_sum(w->p, k);
    return STATS_OK;
}

int stats_score_chisquare(const stats_column *c, stats_workspace *w, double *score)
{
    uint64_t nref, ncur;
    size_t k = category_counts(c, w, &nref, &ncur);
    double ratio = (double)ncur / (double)nref;
    for (size_t i = 0; i < k; i++) {
        double expected = (double)w->cp[i] * ratio;
        double observed = (double)w->cq[i];
        double d = observed - expected;
        w->p[i] = d * d / expected; /* expected 0: +inf, as numpy with errstate ignore */
    }
    double chi2 = np_sum(w->p, k);
    if (k < 2) {
        *score = NAN; /* chi2 with 0 degrees of freedom: scipy returns nan */
        return STATS_OK;
    }
    *score = isinf(chi2) ? 0.0 : gsl_cdf_chisq_Q(chi2, (double)(k - 1));
    return STATS_OK;
}

/* scipy.special.ndtr (cephes): keeps the rounding of 1 - erfc/2 for |x| >= 1. */
static double ndtr(double a)
{
    double x = a * M_SQRT1_2;
    double z = fabs(x);
    if (z < M_SQRT1_2)
        return 0.5 + 0.5 * erf(x);
    double y = 0.5 * erfc(z);
    return x > 0 ? 1.0 - y : y;
}

int stats_score_z(const stats_column *c, stats_workspace *w, double *score)
{
    uint64_t n1, n2;
    size_t k = category_counts(c, w, &n1, &n2);
    /* distinct values on each side */
    size_t dr = 0, dc = 0, shared_single = 0;
    for (size_t i = 0; i < k; i++) {
        dr += w->cp[i] > 0;
        dc += w->cq[i] > 0;
        shared_single += w->cp[i] > 0 && w->cq[i] > 0;
    }
    if (dr == 1 && dc == 1 && shared_single == 1) {
        *score = 1.0;
        return STATS_OK;
    }
    /* the category that sorts first: the smallest value, or the caller's cat_first */
    uint64_t first_ref, first_cur;
    if (uses_num(c)) {
        first_ref = w->cp[0];
        first_cur = w->cq[0];
    } else {
        if (c->cat_first >= c->ref_cat.n_categories)
            return STATS_EINVAL;
        first_ref = c->ref_cat.count[c->cat_first];
        first_cur = c->cur_cat.count[c->cat_first];
    }
    double p1 = (double)(n1 - first_ref) / (double)n1;
    double p2 = (double)(n2 - first_cur) / (double)n2;
    double dn1 = (double)n1, dn2 = (double)n2;
    double pooled = (p1 * dn1 + p2 * dn2) / (dn1 + dn2);
    double z = (p1 - p2) / sqrt(pooled * (1 - pooled) * (1.0 / dn1 + 1.0 / dn2));
    *score = 2 * (1 - ndtr(fabs(z)));
    return STATS_OK;
}

int stats_score_hellinger(const stats_column *c, const stats_options *opt, stats_workspace *w,
                          double *score)
{
    double bc = 0.;
    if (c->kind == STATS_CAT) {
        uint64_t nref, ncur;
        size_t k = category_counts(c, w, &nref, &ncur);
        for (size_t i = 0; i < k; i++) {
            double r = (double)w->cp[i] / (double)nref;
            double q = (double)w->cq[i] / (double)ncur;
            w->p[i] = sqrt(r * q);
        }
        bc = np_sum(w->p, k);
    } else {
        /* Evidently bins the *distinct values* of ref and cur to get the edges. */
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        size_t k;
        size_t nu = union_size(a, b);
        int rc = stats_sturges_edges(num_min(a, b), num_max(a, b), nu, a->is_int && b->is_int,
                                     opt && opt->int_width_rule, w->edges, w->len + 1, &k);
        if (rc != STATS_OK)
            return rc;
        stats_bin_counts(a, w->edges, k, w->cp);
        stats_bin_counts(b, w->edges, k, w->cq);
        double width = (w->edges[k] - w->edges[0]) / (double)k;
        for (size_t i = 0; i < k; i++) {
            double de = w->edges[i + 1] - w->edges[i];
            double hr = (double)w->cp[i] / ((double)a->n * de);
            double hc = (double)w->cq[i] / ((double)b->n * de);
            w->p[i] = sqrt(hr * hc) * width;
        }
        bc = np_sum(w->p, k);
    }
    bc = fmin(fmax(bc, 0.0), 1.0);
    *score = sqrt(1.0 - bc);
    return STATS_OK;
}

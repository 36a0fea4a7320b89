/*
 * stats.c - Evidently's tabular drift tests on profiled samples.
 *
 * Every formula below follows ../shared/oracle/oracle.py (an independent re-implementation
 * of Evidently 0.7.21 verified against Evidently itself) operation by operation, so that the
 * floating-point results agree to ~1e-15 relative:
 *   - shares are count / n, then renormalised by their own sum where Evidently does so;
 *   - Sturges edges are computed as numpy.histogram_bin_edges does (this file is built with
 *     -ffp-contract=off, so "i * step + lo" is two roundings as in numpy);
 *   - the z-test p-value is 2 * (1 - Phi(|z|)) with Phi computed as scipy's ndtr does
 *     (1 - erfc/2 above 1/sqrt(2)), which keeps the same quantisation near 1.
 */
#include "stats/stats.h"
#include "stats/numsum.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

/* ---- names and directions -------------------------------------------------------- */

static const struct {
    const char *name;
    const char *display;
    double threshold;
    bool pvalue;
} TESTS[STATS_NTESTS] = {
    [STATS_TEST_WASSERSTEIN] = {"wasserstein", "Wasserstein distance (normed)", 0.1, false},
    [STATS_TEST_JENSENSHANNON] = {"jensenshannon", "Jensen-Shannon distance", 0.1, false},
    [STATS_TEST_KS] = {"ks", "K-S p_value", 0.05, true},
    [STATS_TEST_CHISQUARE] = {"chisquare", "chi-square p_value", 0.05, true},
    [STATS_TEST_Z] = {"z", "Z-test p_value", 0.05, true},
    [STATS_TEST_PSI] = {"psi", "PSI", 0.1, false},
    [STATS_TEST_KL_DIV] = {"kl_div", "Kullback-Leibler divergence", 0.1, false},
    [STATS_TEST_HELLINGER] = {"hellinger", "Hellinger distance", 0.1, false},
    [STATS_TEST_ED] = {"ed", "Energy-distance", 0.1, false},
};

const char *stats_strerror(int status)
{
    switch (status) {
    case STATS_OK:
        return "success";
    case STATS_EINVAL:
        return "invalid argument";
    case STATS_EEMPTY:
        return "no values to compare";
    case STATS_ENOSPACE:
        return "workspace too small";
    case STATS_ERANGE:
        return "value range is not finite";
    case STATS_ENOTSUP:
        return "test does not apply to this column";
    default:
        return "unknown status";
    }
}

static bool test_valid(stats_test t)
{
    return (int)t >= 0 && t < STATS_NTESTS;
}

const char *stats_test_name(stats_test t)
{
    return test_valid(t) ? TESTS[t].name : "?";
}

const char *stats_test_display(stats_test t)
{
    return test_valid(t) ? TESTS[t].display : "?";
}

int stats_test_from_name(const char *name, stats_test *out)
{
    if (!name || !out)
        return STATS_EINVAL;
    for (int i = 0; i < STATS_NTESTS; i++) {
        if (strcmp(name, TESTS[i].name) == 0) {
            *out = (stats_test)i;
            return STATS_OK;
        }
    }
    return STATS_EINVAL;
}

double stats_test_default_threshold(stats_test t)
{
    return test_valid(t) ? TESTS[t].threshold : NAN;
}

bool stats_test_is_pvalue(stats_test t)
{
    return test_valid(t) && TESTS[t].pvalue;
}

bool stats_drifted(stats_test t, double score, double threshold)
{
    if (isnan(score))
        return false;
    switch (t) {
    case STATS_TEST_KS:
        return score <= threshold;
    case STATS_TEST_CHISQUARE:
    case STATS_TEST_Z:
        return score < threshold;
    case STATS_TEST_ED:
        return score > threshold;
    default:
        return score >= threshold;
    }
}

/* ---- selection ------------------------------------------------------------------- */

stats_test stats_default_test(stats_kind kind, uint64_t ref_rows, size_t n_values)
{
    if (ref_rows <= 1000) {
        if (kind == STATS_NUM && n_values > 5)
            return STATS_TEST_KS;
        return n_values > 2 ? STATS_TEST_CHISQUARE : STATS_TEST_Z;
    }
    if (kind == STATS_NUM && n_values > 5)
        return STATS_TEST_WASSERSTEIN;
    return STATS_TEST_JENSENSHANNON;
}

static bool uses_num(const stats_column *c)
{
    return c->kind == STATS_NUM || c->is_numeric_data;
}

/* Size of the union of two sorted distinct value lists. */
static size_t union_size(const stats_num *a, const stats_num *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n_distinct || j < b->n_distinct) {
        if (j >= b->n_distinct || (i < a->n_distinct && a->value[i] < b->value[j]))
            i++;
        else if (i >= a->n_distinct || b->value[j] < a->value[i])
            j++;
        else
            i++, j++;
        k++;
    }
    return k;
}

size_t stats_n_values(const stats_column *c, size_t cap)
{
    if (!c)
        return 0;
    size_t k = 0;
    if (uses_num(c)) {
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        if (a->n_distinct > cap || b->n_distinct > cap)
            return cap + 1;
        return union_size(a, b);
    }
    for (size_t i = 0; i < c->ref_cat.n_categories && k <= cap; i++)
        k += (c->ref_cat.count[i] + c->cur_cat.count[i]) > 0;
    return k;
}

/* ---- sums ------------------------------------------------------------------------ */

/* numpy's pairwise summation (numpy/core/src/umath/loops_utils.h.src), so that sums of
 * share vectors round as numpy's np.sum does. */
double stats_pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8], res;
        for (size_t k = 0; k < 8; k++)
            r[k] = a[k];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (size_t k = 0; k < 8; k++)
                r[k] += a[i + k];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return stats_pairwise_sum(a, n2) + stats_pairwise_sum(a + n2, n - n2);
}

/* np.sum(a) of a 1-D array: the first element, then the pairwise sum of the rest. */
static double np_sum(const double *a, size_t n)
{
    if (n == 0)
        return 0.;
    return a[0] + stats_pairwise_sum(a + 1, n - 1);
}

/* ---- moments, Wasserstein, energy -------------------------------------------------- */

/* Knuth's TwoSum: sum + term = t + e exactly, with no branch (Neumaier's test on the
 * magnitudes would be one, unpredictable); e goes to the compensation. */
#define TWO_SUM(sum, comp, term)                                                                   \
    do {                                                                                           \
        __typeof__(sum) t_ = (sum) + (term);                                                       \
        __typeof__(sum) z_ = t_ - (sum);                                                           \
        (comp) += ((sum) - (t_ - z_)) + ((term)-z_);                                               \
        (sum) = t_;                                                                                \
    } while (0)

/* Two doubles: a GCC/clang vector (an SSE2 register on x86-64), lane k doing exactly what
 * a scalar lane would. */
typedef double v2d __attribute__((vector_size(16)));

static inline v2d load_v2d(const double *p)
{
    v2d r;
    memcpy(&r, p, sizeof r);
    return r;
}

/* Two counts as doubles.  A count is at most n < 2^63, so through int64_t (one signed
 * conversion each) it rounds exactly as (double)count does. */
static inline v2d counts_v2d(const uint64_t *p)
{
    return (v2d){(double)(int64_t)p[0], (double)(int64_t)p[1]};
}

#define WTERM(f, square) ((square) ? (f) * (f) : (f))

/* Compensated sum of f(i) * count[i] (f: v - shift, or its square) over four interleaved
 * lanes (element i in lane i mod 4, the last n mod 4 in lane 0; independent chains, two
 * vectors), the lanes then added with compensation: at least as accurate as numpy's
 * pairwise sum.  ones: every count is 1 (stats_num_all_ones); f * 1.0 is f exactly, so
 * the counts are neither read nor converted and the result is the same to the bit. */
__attribute__((always_inline)) static inline double
weighted_sum_lanes(const stats_num *s, double shift, bool square, bool ones)
{
    const double *v = s->value;
    const uint64_t *cnt = s->count;
    size_t n = s->n_distinct, i = 0;
    v2d s01 = {0., 0.}, s23 = s01, c01 = s01, c23 = s01;
    for (; i + 4 <= n; i += 4) {
        v2d f01 = load_v2d(v + i) - shift, f23 = load_v2d(v + i + 2) - shift;
        v2d t01 = WTERM(f01, square), t23 = WTERM(f23, square);
        if (!ones) {
            t01 *= counts_v2d(cnt + i);
            t23 *= counts_v2d(cnt + i + 2);
        }
        TWO_SUM(s01, c01, t01);
        TWO_SUM(s23, c23, t23);
    }
    double sl[4] = {s01[0], s01[1], s23[0], s23[1]}, cl[4] = {c01[0], c01[1], c23[0], c23[1]};
    for (; i < n; i++) {
        double f = v[i] - shift;
        double t = WTERM(f, square);
        if (!ones)
            t *= (double)cnt[i];
        TWO_SUM(sl[0], cl[0], t);
    }
    double t = 0., c = 0.; /* the lanes in order, each with its compensation */
    for (int k = 0; k < 4; k++) {
        TWO_SUM(t, c, sl[k]);
        c += cl[k];
    }
    return t + c;
}

static double weighted_sum(const stats_num *s, double shift, bool square)
{
    if (stats_num_all_ones(s))
        return square ? weighted_sum_lanes(s, shift, true, true)
                      : weighted_sum_lanes(s, shift, false, true);
    return square ? weighted_sum_lanes(s, shift, true, false)
                  : weighted_sum_lanes(s, shift, false, false);
}
#undef WTERM

int stats_num_moments(const stats_num *s, double *mean, double *std)
{
    if (!s || !mean || !std)
        return STATS_EINVAL;
    if (s->n == 0)
        return STATS_EEMPTY;
    double mu = weighted_sum(s, 0.0, false) / (double)s->n;
    *mean = mu;
    *std = sqrt(weighted_sum(s, mu, true) / (double)s->n);
    return STATS_OK;
}

/*
 * Walk the merged support of a and b; for each gap between consecutive support points
 * call back with (F_a, F_b, width).  Both CDFs are right-continuous step functions.
 */
typedef struct {
    double sum_abs; /* sum |Fa - Fb| dx   (Wasserstein-1) */
    double sum_sq;  /* sum (Fa - Fb)^2 dx (energy distance) */
    double dmax;    /* max (Fa - Fb) over support points (KS, not used here) */
} cdf_sums;

/* The merged walk over both supports: at each support point u the gap since the previous
 * one times |Fa - Fb| (and (Fa - Fb)^2 when sq) is added, then the counts at u.  It goes
 * by runs: while one side's values stay below the other's next value only that side moves,
 * in a loop whose branch is predictable.  Fa - Fb = (ca nb - cb na) / (na nb): the numerator
 * is an exact integer, so the sums are taken over it and divided once at the end (no
 * division per step; rounding at least as good as scipy's two quotients).  Samples too big
 * for that (na nb >= 2^62) take the quotients per step.  The terms go to two sums in turn
 * (a's runs alternate between them, b's steps take the second), added at the end: the
 * additions of consecutive steps then do not wait for each other (measured 12 % fewer
 * cycles on the bench's columns; every term is >= 0, so the order changes the result by a
 * few units in the last place, far inside the 1e-9 the oracle parity allows). */
static inline void cdf_walk_impl(const stats_num *a, const stats_num *b, cdf_sums *out, bool sq)
{
    size_t na_d = a->n_distinct, nb_d = b->n_distinct;
    const double *av = a->value, *bv = b->value;
    const uint64_t *ac = a->count, *bc = b->count;
    double na = (double)a->n, nb = (double)b->n;
    bool exact = na * nb < 4611686018427387904.0; /* 2^62 */
    double sabs0 = 0., sabs1 = 0., ssq0 = 0., ssq1 = 0.;
    size_t i = 0, j = 0;
    uint64_t ca = 0, cb = 0;
    double prev = na_d == 0 ? (nb_d == 0 ? 0. : bv[0]) : nb_d == 0 ? av[0] : fmin(av[0], bv[0]);
#define STEP(u, k)                                                                                 \
    do {                                                                                           \
        double d_ = exact ? (double)((int64_t)(ca * b->n) - (int64_t)(cb * a->n))                  \
                          : (double)ca / na - (double)cb / nb;                                     \
        double dx_ = (u)-prev;                                                                     \
        sabs##k += fabs(d_) * dx_;                                                                 \
        if (sq)                                                                                    \
            ssq##k += d_ * d_ * dx_;                                                               \
        prev = (u);                                                                                \
    } while (0)
    while (i < na_d && j < nb_d) {
        double x = av[i], y = bv[j];
        if (x < y) {
            for (;;) { /* two steps a turn, one in each sum */
                STEP(av[i], 0);
                ca += ac[i++];
                if (!(i < na_d && av[i] < y))
                    break;
                STEP(av[i], 1);
                ca += ac[i++];
                if (!(i < na_d && av[i] < y))
                    break;
            }
        } else if (y < x) {
            do {
                STEP(bv[j], 1);
                cb += bc[j++];
            } while (j < nb_d && bv[j] < x);
        } else {
            STEP(x, 0);
            ca += ac[i++];
            cb += bc[j++];
        }
    }
    for (; i < na_d; i++) {
        STEP(av[i], 0);
        ca += ac[i];
    }
    for (; j < nb_d; j++) {
        STEP(bv[j], 1);
        cb += bc[j];
    }
#undef STEP
    double sabs = sabs0 + sabs1, ssq = ssq0 + ssq1;
    if (exact) {
        double den = na * nb;
        sabs /= den;
        ssq = ssq / den / den;
    }
    out->sum_abs = sabs;
    out->sum_sq = ssq;
    out->dmax = 0.;
}

static void cdf_walk(const stats_num *a, const stats_num *b, cdf_sums *out)
{
    cdf_walk_impl(a, b, out, true);
}

int stats_wasserstein1(const stats_num *a, const stats_num *b, double *w1)
{
    if (!a || !b || !w1)
        return STATS_EINVAL;
    if (a->n == 0 || b->n == 0)
        return STATS_EEMPTY;
    cdf_sums s;
    cdf_walk_impl(a, b, &s, false);
    *w1 = s.sum_abs;
    return STATS_OK;
}

/* ---- binning ----------------------------------------------------------------------- */

int stats_sturges_edges(double min, double max, uint64_t n, bool is_int, bool int_width_rule,
                        double *edges, size_t cap, size_t *nbins)
{
    if (!nbins || n == 0 || (cap > 0 && !edges))
        return STATS_EINVAL;
    if (!isfinite(min) || !isfinite(max))
        return STATS_ERANGE;
    double lo = min, hi = max;
    double span = hi - lo;
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    double width = span / (log2((double)n) + 1.0);
    size_t nb;
    if (width != 0.) {
        if (is_int && int_width_rule && width < 1.)
            width = 1.;
        double q = ceil((hi - lo) / width);
        if (!(q >= 1.) || q > 1e9)
            return STATS_ERANGE;
        nb = (size_t)q;
    } else {
        nb = 1;
    }
    *nbins = nb;
    if (cap < nb + 1)
        return cap == 0 ? STATS_OK : STATS_ENOSPACE;
    double step = (hi - lo) / (double)nb;
    for (size_t k = 0; k <= nb; k++)
        edges[k] = (double)k * step + lo;
    edges[nb] = hi;
    return STATS_OK;
}

int stats_bin_counts(const stats_num *s, const double *edges, size_t nbins, uint64_t *counts)
{
    if (!s || !edges || !counts || nbins == 0)
        return STATS_EINVAL;
    /* Walk the edges and the values together: edges are ascending. */
    size_t i = 0;
    uint64_t below = 0; /* values < edges[k] */
    uint64_t prev = 0;
    for (size_t k = 0; k <= nbins; k++) {
        bool last = k == nbins;
        while (i < s->n_distinct && (last ? s->value[i] <= edges[k] : s->value[i] < edges[k]))
            below += s->count[i++];
        if (k > 0)
            counts[k - 1] = below - prev;
        prev = below;
    }
    return STATS_OK;
}

/* ---- workspace --------------------------------------------------------------------- */

typedef struct {
    size_t n_union;  /* categories after alignment */
    size_t max_bins; /* largest number of bins any binning test can need */
} ws_plan;

static double num_min(const stats_num *a, const stats_num *b)
{
    return fmin(a->value[0], b->value[0]);
}

static double num_max(const stats_num *a, const stats_num *b)
{
    return fmax(a->value[a->n_distinct - 1], b->value[b->n_distinct - 1]);
}

static int plan_workspace(const stats_column *c, const stats_options *opt, ws_plan *p)
{
    p->n_union = 0;
    p->max_bins = 0;
    if (uses_num(c)) {
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        if (a->n == 0 || b->n == 0)
            return STATS_EEMPTY;
        p->n_union = union_size(a, b);
        if (c->kind == STATS_NUM) {
            bool wr = opt && opt->int_width_rule;
            bool is_int = a->is_int && b->is_int;
            size_t nb1 = 0, nb2 = 0;
            int rc = stats_sturges_edges(num_min(a, b), num_max(a, b), a->n + b->n, is_int, wr,
                                         NULL, 0, &nb1);
            if (rc != STATS_OK)
                return rc;
            rc = stats_sturges_edges(num_min(a, b), num_max(a, b), p->n_union, is_int, wr, NULL, 0,
                                     &nb2);
            if (rc != STATS_OK)
                return rc;
            p->max_bins = nb1 > nb2 ? nb1 : nb2;
        }
    } else {
        if (c->ref_cat.n_categories != c->cur_cat.n_categories)
            return STATS_EINVAL;
        if (c->ref_cat.n == 0 || c->cur_cat.n == 0)
            return STATS_EEMPTY;
        p->n_union = c->ref_cat.n_categories;
    }
    return STATS_OK;
}

/* Layout: two share vectors of max(n_union, max_bins) doubles, two count vectors of the same
 * length, and max_bins + 1 edges. */
static size_t plan_bytes(const ws_plan *p)
{
    size_t len = p->n_union > p->max_bins ? p->n_union : p->max_bins;
    return (4 * len + p->max_bins + 1) * sizeof(double) + 64;
}

static bool needs_workspace(stats_test t)
{
    return t != STATS_TEST_WASSERSTEIN && t != STATS_TEST_KS && t != STATS_TEST_ED;
}

size_t stats_workspace_bytes(stats_test t, const stats_column *col, const stats_options *opt)
{
    ws_plan p;
    if (!col || !needs_workspace(t) || plan_workspace(col, opt, &p) != STATS_OK)
        return 0;
    return plan_bytes(&p);
}

typedef struct {
    double *p, *q;     /* shares */
    uint64_t *cp, *cq; /* counts */
    double *edges;     /* max_bins + 1 */
    size_t len;        /* capacity of p, q, cp, cq */
} workspace;

static int ws_carve(void *mem, size_t bytes, const ws_plan *plan, workspace *w)
{
    if (!mem || bytes < plan_bytes(plan))
        return STATS_ENOSPACE;
    size_t len = plan->n_union > plan->max_bins ? plan->n_union : plan->max_bins;
    double *d = mem;
    w->p = d;
    w->q = d + len;
    w->cp = (uint64_t *)(void *)(d + 2 * len);
    w->cq = (uint64_t *)(void *)(d + 3 * len);
    w->edges = d + 4 * len;
    w->len = len;
    return STATS_OK;
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
static size_t category_counts(const stats_column *c, workspace *w, uint64_t *nref, uint64_t *ncur)
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
static int binned_shares(const stats_column *c, const stats_options *opt, workspace *w,
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

static int test_wasserstein(const stats_column *c, double *score)
{
    if (!uses_num(c))
        return STATS_ENOTSUP;
    double mean, sd, w1;
    int rc = STATS_OK;
    if (c->ref_num.has_moments && c->ref_num.n > 0) {
        mean = c->ref_num.mean;
        sd = c->ref_num.std;
    } else {
        rc = stats_num_moments(&c->ref_num, &mean, &sd);
    }
    if (rc != STATS_OK)
        return rc;
    rc = stats_wasserstein1(&c->ref_num, &c->cur_num, &w1);
    if (rc != STATS_OK)
        return rc;
    double norm = sd > 0.001 ? sd : 0.001;
    *score = w1 / norm;
    return STATS_OK;
}

static int test_energy(const stats_column *c, double *score)
{
    if (!uses_num(c))
        return STATS_ENOTSUP;
    cdf_sums s;
    cdf_walk(&c->ref_num, &c->cur_num, &s);
    *score = sqrt(2.0) * sqrt(s.sum_sq);
    return STATS_OK;
}

static int test_chisquare(const stats_column *c, workspace *w, double *score)
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

static int test_z(const stats_column *c, workspace *w, double *score)
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

static int test_hellinger(const stats_column *c, const stats_options *opt, workspace *w,
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

int stats_run_test(stats_test t, const stats_column *col, const stats_options *opt, void *ws,
                   size_t ws_bytes, double *score)
{
    if (!col || !score || !test_valid(t))
        return STATS_EINVAL;
    /* The workspace is planned and carved in one place, for the tests that use one. */
    workspace w;
    int rc;
    if (needs_workspace(t)) {
        ws_plan plan;
        rc = plan_workspace(col, opt, &plan);
        if (rc == STATS_OK)
            rc = ws_carve(ws, ws_bytes, &plan, &w);
        if (rc != STATS_OK)
            return rc;
    } else if (uses_num(col) && (col->ref_num.n == 0 || col->cur_num.n == 0)) {
        return STATS_EEMPTY;
    }
    size_t k;
    double s = NAN;
    switch (t) {
    case STATS_TEST_WASSERSTEIN:
        rc = test_wasserstein(col, &s);
        break;
    case STATS_TEST_ED:
        rc = test_energy(col, &s);
        break;
    case STATS_TEST_KS: {
        if (!uses_num(col))
            return STATS_ENOTSUP;
        double d;
        rc = stats_ks_2samp(&col->ref_num, &col->cur_num, &d, &s);
        break;
    }
    default: /* the tests that use the workspace */
        switch (t) {
        case STATS_TEST_JENSENSHANNON:
            rc = binned_shares(col, opt, &w, &k);
            if (rc == STATS_OK)
                s = js_distance(w.p, w.q, k);
            break;
        case STATS_TEST_PSI:
            rc = binned_shares(col, opt, &w, &k);
            if (rc == STATS_OK) {
                fill_zeros(w.p, k);
                fill_zeros(w.q, k);
                for (size_t i = 0; i < k; i++)
                    w.p[i] = (w.p[i] - w.q[i]) * log(w.p[i] / w.q[i]);
                s = np_sum(w.p, k);
            }
            break;
        case STATS_TEST_KL_DIV:
            rc = binned_shares(col, opt, &w, &k);
            if (rc == STATS_OK) {
                fill_zeros(w.p, k);
                fill_zeros(w.q, k);
                double sp = np_sum(w.p, k), sq = np_sum(w.q, k);
                for (size_t i = 0; i < k; i++) {
                    double r = w.p[i] / sp, q = w.q[i] / sq;
                    w.p[i] = r > 0 ? r * log(r / q) : 0.;
                }
                s = np_sum(w.p, k);
            }
            break;
        case STATS_TEST_CHISQUARE:
            rc = test_chisquare(col, &w, &s);
            break;
        case STATS_TEST_Z:
            rc = test_z(col, &w, &s);
            break;
        case STATS_TEST_HELLINGER:
            rc = test_hellinger(col, opt, &w, &s);
            break;
        default:
            rc = STATS_EINVAL;
        }
    }
    if (rc == STATS_OK)
        *score = s;
    return rc;
}

/* ---- sorting and compression ------------------------------------------------------- */

/* The order-preserving key of a double: negatives inverted, positives with the sign bit set
 * (branch-free: the sign bit spread over the word selects which). */
static uint64_t key_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u ^ ((uint64_t)((int64_t)u >> 63) | 0x8000000000000000ULL);
}

static double double_of(uint64_t k)
{
    uint64_t u = k ^ ((uint64_t)((int64_t)~k >> 63) | 0x8000000000000000ULL);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Generic LSD radix pass loop: `passes` digits of `bits` bits over keys a (n of them, the
 * histograms hist[p][digit] already counted), b as scratch; returns where the keys ended. */
#define RADIX_LSD(COUNT_T, bits, passes, a, b, n, hist)                                            \
    do {                                                                                           \
        const uint64_t m_ = (UINT64_C(1) << (bits)) - 1;                                           \
        for (unsigned p_ = 0; p_ < (passes); p_++) {                                               \
            COUNT_T *h_ = (hist)[p_];                                                              \
            unsigned s_ = (bits)*p_;                                                               \
            if (h_[((a)[0] >> s_) & m_] == (n))                                                    \
                continue; /* every key has this digit */                                           \
            COUNT_T sum_ = 0;                                                                      \
            for (size_t r_ = 0; r_ <= m_; r_++) {                                                  \
                COUNT_T c_ = h_[r_];                                                               \
                h_[r_] = sum_;                                                                     \
                sum_ += c_;                                                                        \
            }                                                                                      \
            for (size_t i_ = 0; i_ < (n); i_++) {                                                  \
                uint64_t k_ = (a)[i_];                                                             \
                (b)[h_[(k_ >> s_) & m_]++] = k_;                                                   \
            }                                                                                      \
            uint64_t *t_ = (a);                                                                    \
            (a) = (b);                                                                             \
            (b) = t_;                                                                              \
        }                                                                                          \
    } while (0)

/*
 * LSD radix sort on the whole order-preserving 64-bit keys (a total order: -0.0 before +0.0).
 * Up to 2^32 values: 6 passes of 11 bits (2048 buckets: the 6 x 8 KiB of counters stay in
 * L1/L2 and the scatter within the TLB), the histograms of every pass counted in the one
 * read that builds the keys; a pass whose digit is the same for every key is skipped
 * (typical for the sign and exponent bits).  Larger inputs: 8 passes of 8 bits with 64-bit
 * counters.
 */
void stats_sort_doubles(double *x, size_t n, double *tmp)
{
    if (n < 2)
        return; /* nothing to order (and no first key to read) */
    uint64_t *a = (uint64_t *)(void *)x, *b = (uint64_t *)(void *)tmp;
    if (n <= UINT32_MAX) {
        uint32_t hist[6][2048];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < n; i++) {
            uint64_t k = key_of(x[i]);
            a[i] = k;
            hist[0][k & 2047]++;
            hist[1][(k >> 11) & 2047]++;
            hist[2][(k >> 22) & 2047]++;
            hist[3][(k >> 33) & 2047]++;
            hist[4][(k >> 44) & 2047]++;
            hist[5][k >> 55]++;
        }
        RADIX_LSD(uint32_t, 11u, 6u, a, b, n, hist);
    } else {
        size_t hist[8][256];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < n; i++) {
            uint64_t k = key_of(x[i]);
            a[i] = k;
            for (unsigned p = 0; p < 8; p++)
                hist[p][(k >> (8 * p)) & 0xff]++;
        }
        RADIX_LSD(size_t, 8u, 8u, a, b, n, hist);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = double_of(a[i]);
}
#undef RADIX_LSD

size_t stats_compress_sorted(const double *x, size_t n, double *value, uint64_t *count)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        double v = x[i];
        size_t j = i + 1;
        while (j < n && x[j] == v)
            j++;
        value[k] = v == 0. ? 0. : v; /* -0.0 == 0.0: one value, stored as +0.0 */
        count[k] = (uint64_t)(j - i);
        k++;
        i = j;
    }
    return k;
}

/* ---- verdict ----------------------------------------------------------------------- */

void stats_dataset_verdict(size_t tested, size_t drifted, double drift_share,
                           double retrain_fraction, stats_verdict *out)
{
    out->number_of_columns = tested;
    out->number_of_drifted_columns = drifted;
    if (tested == 0) {
        out->share_of_drifted_columns = NAN;
        out->dataset_drift = false;
        out->retrain = false;
        return;
    }
    double share = (double)drifted / (double)tested;
    out->share_of_drifted_columns = share;
    out->dataset_drift = share >= drift_share;
    out->retrain = share > retrain_fraction;
}

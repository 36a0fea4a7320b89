/*
 * continuous.c - the tests on numbers as a distribution: moments, the normed Wasserstein
 * distance and the energy distance, over the merged supports of two profiled samples.
 */
#include "stats/internal.h"

#include <math.h>
#include <string.h>

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
 * additions of consecutive steps then do not wait for each other (every term is >= 0, so the order
 * changes the result by a few units in the last place, far inside the 1e-9 the oracle parity
 * allows). */
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

int stats_score_wasserstein(const stats_column *c, double *score)
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

int stats_score_energy(const stats_column *c, double *score)
{
    if (!uses_num(c))
        return STATS_ENOTSUP;
    cdf_sums s;
    cdf_walk(&c->ref_num, &c->cur_num, &s);
    *score = sqrt(2.0) * sqrt(s.sum_sq);
    return STATS_OK;
}

/*
 * binning.c - numpy's Sturges histogram: the edges as numpy.histogram_bin_edges computes them
 * (built with -ffp-contract=off, so "i * step + lo" is two roundings as in numpy) and the
 * counts as numpy.histogram does.
 */
#include "stats/stats.h"

#include <math.h>

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

/*
 * numsum.h - numpy's pairwise summation (numpy/core/src/umath/loops_utils.h.src), internal to
 * stats/: sums of share vectors and series must round as numpy's np.sum does, so that scores
 * agree with Evidently's (through scipy and numpy) to the last bits.
 */
#ifndef DRIFTMON_STATS_NUMSUM_H
#define DRIFTMON_STATS_NUMSUM_H

#include <stddef.h>

/* numpy's pairwise_sum(a, n): blocks of 8 accumulators up to 128 elements, halves above. */
double stats_pairwise_sum(const double *a, size_t n);

#endif

/* numsum.c - numpy's pairwise summation (see numsum.h). */
#include "stats/numsum.h"

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

/* sort.c - the radix sort of a column's doubles and their compression into values + counts. */
#include "stats/stats.h"

#include <stdint.h>
#include <string.h>

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

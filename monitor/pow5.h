/*
 * pow5.h - the powers of five behind the exact decimal parser (monitor/parse_number.c).
 *
 * For each q in [DM_POW5_QMIN, DM_POW5_QMAX], dm_pow5[q - DM_POW5_QMIN] is a 128-bit
 * integer T = hi:lo, 2^127 <= T < 2^128, and a binary exponent e2 such that
 * |5^q - T * 2^e2| < 2^e2: 5^q to 128 bits, truncated for q >= 0 (exact while
 * q <= DM_POW5_EXACT_MAX), rounded up for q < 0.  The range is the one where a decimal of
 * at most 19 significant digits can be neither 0 nor infinity as a double.
 *
 * The table is generated at build time by tools/gen_pow5.c (exact big-integer arithmetic)
 * into BUILD/gen/pow5.c: constant data, no start-up cost.
 */
#ifndef DM_POW5_H
#define DM_POW5_H

#include <stdint.h>

#define DM_POW5_QMIN (-342)
#define DM_POW5_QMAX 308
#define DM_POW5_COUNT (DM_POW5_QMAX - DM_POW5_QMIN + 1)
/* the largest q with 5^q < 2^128 */
#define DM_POW5_EXACT_MAX 55

typedef struct {
    uint64_t hi, lo;
    int32_t e2;
} dm_pow5_entry;

extern const dm_pow5_entry dm_pow5[DM_POW5_COUNT];

#endif

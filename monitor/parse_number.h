/*
 * parse_number.h - decimal text to the correctly rounded double (round to nearest, ties to
 * even: the same bits as glibc's strtod) without strtod in all but rare cases.
 *
 * Clinger's fast path when the digits and the power of ten are both exact doubles; else the
 * Eisel-Lemire method: the digits times a 128-bit power of five (monitor/pow5.h), the
 * product's error bounded, and the rounding decided only when that error cannot change it.
 * The few it cannot decide (a value within 2^-64 relative of a halfway point or of a
 * double) are left to the caller, who then asks strtod.
 */
#ifndef DM_PARSE_NUMBER_H
#define DM_PARSE_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 10^k for 0 <= k <= 22: each an exact double. */
extern const double dm_pow10_exact[23];

/* Clinger's fast path: (-1)^neg x w x 10^q when w <= 2^53 and |q| <= 22 (one correctly
 * rounded multiplication or division of exact doubles); false outside it. */
static inline bool dm_decimal_fast(uint64_t w, int64_t q, bool neg, double *out)
{
    if (w > (UINT64_C(1) << 53) || q < -22 || q > 22)
        return false;
    double v = (double)w;
    if (q < 0)
        v /= dm_pow10_exact[-q];
    else if (q > 0)
        v *= dm_pow10_exact[q];
    *out = neg ? -v : v;
    return true;
}

/* The eight bytes at p, when all are decimal digits: their value in *v, true.  Eight digits
 * at once (bytes as lanes of a 64-bit integer: pairs, then fours, then the whole), for the
 * long fractions of full-precision exports; false on a big-endian machine. */
static inline bool dm_eight_digits(const char *p, uint64_t *v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, p, sizeof x); /* p[0] in the low byte */
    const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0), zeros = UINT64_C(0x3030303030303030);
    /* each byte 0x30..0x39: high nibble 3, and still 3 after adding 6 */
    if ((x & hi) != zeros || ((x + UINT64_C(0x0606060606060606)) & hi) != zeros)
        return false;
    x -= zeros;
    x = (x * 10 + (x >> 8)) & UINT64_C(0x00FF00FF00FF00FF);   /* 10 d0 + d1, ... */
    x = (x * 100 + (x >> 16)) & UINT64_C(0x0000FFFF0000FFFF); /* d0..d3, d4..d7 */
    *v = (x & UINT64_C(0xFFFFFFFF)) * 10000 + (x >> 32);
    return true;
#else
    (void)p;
    (void)v;
    return false;
#endif
}

/* The double nearest (-1)^neg x w x 10^q, w exact (any uint64_t), any q: +-0 below the
 * subnormals, +-inf above DBL_MAX, as strtod.  false when it cannot decide: *out is then
 * untouched and the caller uses strtod. */
bool dm_decimal_to_double(uint64_t w, int64_t q, bool neg, double *out);

/* s[0..n) as [+-]digits[.digits][(e|E)[+-]digits], at least one digit before the exponent,
 * nothing else (no blanks): its correctly rounded value in *out, true.  false for any other
 * text (inf, nan, hex, a stray character) and when undecided: the caller uses strtod. */
bool dm_parse_decimal(const char *s, size_t n, double *out);

#endif

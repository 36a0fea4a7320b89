/*
 * parse_number.c - decimal text to the correctly rounded double (see parse_number.h).
 *
 * The method (Eisel and Lemire, "Number parsing at a gigabyte per second", 2021), as done
 * here: w x 10^q = w x 5^q x 2^q.  W = w shifted left until its top bit is set, 5^q = (T + e)
 * x 2^e2 with T the table's 128 bits and |e| < 1, so the value is (R + W x e) x 2^E with
 * R = W x T, a 192-bit integer computed exactly, and |W x e| < 2^64.  The double's 53 bits
 * are taken from the top of R and rounded to nearest, ties to even.  The rounding can only
 * differ from the exact value's when R is within 2^64 of a rounding boundary (a halfway
 * point or a representable value: multiples of 2^127 or more at the rounding position),
 * i.e. when bits 64..127 of R are all zeros or all ones; then the answer is left to strtod.
 * For 0 <= q <= DM_POW5_EXACT_MAX the table is exact, e = 0, and R decides every case,
 * ties included.  Digits past the 19th are cut: the value lies between w and w + 1 at the
 * same exponent, and is decided when both give the same double.
 */
#include "monitor/parse_number.h"

#include <string.h>

#include "monitor/pow5.h"

const double dm_pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

__extension__ typedef unsigned __int128 u128;

#define INF_BITS UINT64_C(0x7ff0000000000000)

/* The bits of |w x 10^q|, w != 0, q in the table's range; false when undecided. */
static bool eisel_lemire(uint64_t w, int64_t q, uint64_t *bits)
{
    const dm_pow5_entry *t = &dm_pow5[q - DM_POW5_QMIN];
    int lz = __builtin_clzll(w);
    uint64_t W = w << lz;
    u128 ph = (u128)W * t->hi, pl = (u128)W * t->lo;
    uint64_t r0 = (uint64_t)pl;
    u128 mid = (u128)(uint64_t)ph + (pl >> 64);
    uint64_t r1 = (uint64_t)mid;
    uint64_t r2 = (uint64_t)(ph >> 64) + (uint64_t)(mid >> 64);
    bool exact = q >= 0 && q <= DM_POW5_EXACT_MAX;
    if (!exact && (r1 == 0 || r1 == UINT64_MAX))
        return false;
    /* R in [2^190, 2^192): its top bit p; the value is R x 2^E */
    int64_t p = 190 + (int64_t)(r2 >> 63);
    int64_t E = (int64_t)t->e2 + q - lz;
    /* s: the position in R of the double's last bit, 2^-1074 for a subnormal */
    int64_t s = p - 52;
    if (-1074 - E > s)
        s = -1074 - E;
    if (s >= p + 2) { /* below half the smallest subnormal */
        *bits = 0;
        return true;
    }
    int sh = (int)(s - 128); /* 10..64: the last bit is in r2 */
    uint64_t m = sh == 64 ? 0 : r2 >> sh;
    uint64_t low = sh == 64 ? r2 : r2 & ((UINT64_C(1) << sh) - 1);
    uint64_t half = UINT64_C(1) << (sh - 1);
    if (low > half || (low == half && ((r1 | r0) != 0 || (m & 1))))
        m++;
    int64_t e = s + E; /* the value is m x 2^e */
    if (m == UINT64_C(1) << 53) {
        m >>= 1;
        e++;
    }
    if (m < UINT64_C(1) << 52) { /* subnormal (e = -1074) */
        *bits = m;
        return true;
    }
    int64_t biased = e + 52 + 1023;
    *bits = biased >= 2047 ? INF_BITS : (uint64_t)biased << 52 | (m & ((UINT64_C(1) << 52) - 1));
    return true;
}

/* Undecided: w x 10^q may lie on a rounding boundary.  Then it is a dyadic rational, so
 * q >= 0 (and q <= DM_POW5_EXACT_MAX, where R is exact: not here) or 5^-q divides w, which
 * needs -q <= 27 (w < 2^64 < 5^28): w x 10^q = u x 2^q, u = w / 5^-q, is (double)u (one
 * correctly rounded conversion) times a power of two, exactly.  Any other value is within
 * 2^-64 relative of a boundary without being on it: left to strtod. */
static bool on_boundary(uint64_t w, int64_t q, bool neg, double *out)
{
    if (q >= 0 || q < -27)
        return false;
    uint64_t p5 = 1;
    for (int64_t k = 0; k < -q; k++)
        p5 *= 5;
    if (w % p5 != 0)
        return false;
    double v = (double)(w / p5) / (double)(UINT64_C(1) << -q);
    *out = neg ? -v : v;
    return true;
}

bool dm_decimal_to_double(uint64_t w, int64_t q, bool neg, double *out)
{
    if (dm_decimal_fast(w, q, neg, out))
        return true;
    uint64_t bits;
    if (w == 0 || q < DM_POW5_QMIN)
        bits = 0;
    else if (q > DM_POW5_QMAX)
        bits = INF_BITS;
    else if (!eisel_lemire(w, q, &bits))
        return on_boundary(w, q, neg, out);
    bits |= (uint64_t)neg << 63;
    memcpy(out, &bits, sizeof bits);
    return true;
}

static bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

bool dm_parse_decimal(const char *s, size_t n, double *out)
{
    const char *p = s, *end = s + n;
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    /* the first 19 significant digits in w, the value w x 10^q, cut: a nonzero digit dropped */
    uint64_t w = 0;
    int64_t q = 0;
    int sig = 0;
    size_t ndig = 0;
    bool cut = false;
    for (; p < end && is_digit(*p); p++, ndig++) {
        unsigned d = (unsigned)(*p - '0');
        if (sig < 19) {
            w = w * 10 + d;
            sig += w != 0; /* leading zeros are not significant */
        } else {
            q++;
            cut |= d != 0;
        }
    }
    if (p < end && *p == '.')
        for (p++; p < end && is_digit(*p); p++, ndig++) {
            unsigned d = (unsigned)(*p - '0');
            if (sig < 19) {
                w = w * 10 + d;
                sig += w != 0;
                q--;
            } else
                cut |= d != 0;
        }
    if (ndig == 0)
        return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || !is_digit(*p))
            return false;
        int64_t x = 0;
        for (; p < end && is_digit(*p); p++)
            if (x < 100000000) /* far past any double: saturate */
                x = x * 10 + (*p - '0');
        q += eneg ? -x : x;
    }
    if (p != end)
        return false;
    if (!cut)
        return dm_decimal_to_double(w, q, neg, out);
    double lo, hi;
    if (!dm_decimal_to_double(w, q, neg, &lo) || !dm_decimal_to_double(w + 1, q, neg, &hi) ||
        memcmp(&lo, &hi, sizeof lo) != 0)
        return false;
    *out = lo;
    return true;
}

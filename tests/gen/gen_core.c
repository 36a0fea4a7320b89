/* dm-gen internals: see gen_core.h. */
#include "tests/gen/gen_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: xoshiro256** (Blackman & Vigna), seeded with splitmix64 ----------------------------
 */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void gen_rng_stream(gen_rng_t *r, uint64_t seed, uint64_t row, uint64_t group)
{
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (row * UINT64_C(0xD1B54A32D192ED03));
    h = splitmix64(&x);
    x = h ^ (group * UINT64_C(0xABC98388FB8FAC03));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t gen_rng_next(gen_rng_t *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gen_u01(gen_rng_t *r)
{
    /* (k + 0.5) / 2^53 for k in [0, 2^53): never 0, never 1 */
    return ((double)(gen_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t gen_below(gen_rng_t *r, uint64_t n)
{
    uint64_t k = (uint64_t)(gen_u01(r) * (double)n);
    return k < n ? k : n - 1;
}

/* ---- deterministic log / exp ------------------------------------------------------------------
 */

static const double LN2_HI = 6.93147180369123816490e-01; /* fdlibm's split of ln 2 */
static const double LN2_LO = 1.90821492927058770002e-10;

double gen_log(double x)
{
    int e;
    double m = frexp(x, &e); /* exact: x = m * 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    /* log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716 */
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    static const double C[13] = {1.0 / 1,  1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,
                                 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19,
                                 1.0 / 21, 1.0 / 23, 1.0 / 25};
    double p = C[12];
    for (int k = 11; k >= 0; k--)
        p = p * s2 + C[k];
    double lm = 2.0 * s * p;
    return (double)e * LN2_HI + ((double)e * LN2_LO + lm);
}

double gen_exp(double x)
{
    double kd = floor(x * 1.44269504088896340736 + 0.5);
    double r = (x - kd * LN2_HI) - kd * LN2_LO; /* |r| <= 0.35 */
    /* Taylor series to r^16 / 16!, Horner form with the coefficients 1 / k! */
    static const double F[17] = {1.0,
                                 1.0,
                                 1.0 / 2,
                                 1.0 / 6,
                                 1.0 / 24,
                                 1.0 / 120,
                                 1.0 / 720,
                                 1.0 / 5040,
                                 1.0 / 40320,
                                 1.0 / 362880,
                                 1.0 / 3628800,
                                 1.0 / 39916800,
                                 1.0 / 479001600,
                                 1.0 / 6227020800.0,
                                 1.0 / 87178291200.0,
                                 1.0 / 1307674368000.0,
                                 1.0 / 20922789888000.0};
    double p = F[16];
    for (int i = 15; i >= 0; i--)
        p = p * r + F[i];
    return ldexp(p, (int)kd);
}

double gen_normal(gen_rng_t *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    for (;;) {
        double u = 2.0 * gen_u01(r) - 1.0;
        double v = 2.0 * gen_u01(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) {
            double f = sqrt(-2.0 * gen_log(s) / s);
            r->spare = v * f;
            r->has_spare = 1;
            return u * f;
        }
    }
}

double gen_lognormal(gen_rng_t *r, double median, double sigma)
{
    return median * gen_exp(sigma * gen_normal(r));
}

double gen_exponential(gen_rng_t *r)
{
    return -gen_log(gen_u01(r));
}

/* ---- weighted tables --------------------------------------------------------------------------
 */

void gen_cat_init(gen_cat_t *t, const char *column, const gen_item_t *items, size_t n)
{
    if (n > GEN_MAX_CATS)
        n = GEN_MAX_CATS;
    t->column = column;
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        t->name[i] = items[i].name;
        t->w[i] = items[i].w;
    }
    gen_cat_finish(t);
}

void gen_cat_finish(gen_cat_t *t)
{
    double total = 0.0;
    for (size_t i = 0; i < t->n; i++)
        total += t->w[i];
    double acc = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        acc += t->w[i];
        t->cum[i] = total > 0.0 ? acc / total : (double)(i + 1) / (double)t->n;
    }
    /* the last item with a positive weight ends at exactly 1, and so does any zero-weight tail,
     * so that pick() never returns a zero-weight item */
    size_t last = t->n;
    while (last > 0 && !(t->w[last - 1] > 0.0))
        last--;
    for (size_t i = last > 0 ? last - 1 : 0; i < t->n; i++)
        t->cum[i] = 1.0;
}

int gen_cat_reweight(gen_cat_t *t, const char *category, double factor)
{
    for (size_t i = 0; i < t->n; i++) {
        if (category == NULL || strcmp(category, t->name[i]) == 0) {
            t->w[i] *= factor;
            gen_cat_finish(t);
            return 0;
        }
    }
    return -1;
}

size_t gen_cat_pick(const gen_cat_t *t, double u)
{
    size_t lo = 0, hi = t->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u < t->cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- writer -----------------------------------------------------------------------------------
 */

#define OUT_CAP (1u << 20)

int gen_out_open(gen_out_t *o, FILE *f, int format)
{
    o->f = f;
    o->cap = OUT_CAP;
    o->len = 0;
    o->format = format;
    o->first = 1;
    o->err = 0;
    o->buf = malloc(o->cap);
    return o->buf ? 0 : -1;
}

static void out_flush(gen_out_t *o)
{
    if (o->len > 0 && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->err = 1;
    o->len = 0;
}

int gen_out_close(gen_out_t *o)
{
    out_flush(o);
    free(o->buf);
    o->buf = NULL;
    if (fflush(o->f) != 0)
        o->err = 1;
    return o->err ? -1 : 0;
}

/* Room for n more bytes (n much smaller than the capacity). */
static char *out_room(gen_out_t *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
    return o->buf + o->len;
}

static void out_sep(gen_out_t *o)
{
    if (!o->first) {
        *out_room(o, 1) = o->format == GEN_CSV ? ',' : '\t';
        o->len++;
    }
    o->first = 0;
}

void gen_out_null(gen_out_t *o)
{
    out_sep(o);
    if (o->format == GEN_TSV_COPY) {
        char *p = out_room(o, 2);
        p[0] = '\\';
        p[1] = 'N';
        o->len += 2;
    }
}

void gen_out_str(gen_out_t *o, const char *s)
{
    out_sep(o);
    size_t n = strlen(s);
    char *p = out_room(o, 2 * n + 2);
    size_t k = 0;
    if (o->format == GEN_CSV) {
        int quote = strpbrk(s, ",\"\r\n") != NULL;
        if (quote)
            p[k++] = '"';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"')
                p[k++] = '"';
            p[k++] = s[i];
        }
        if (quote)
            p[k++] = '"';
    } else {
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                p[k++] = '\\';
                c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
            }
            p[k++] = c;
        }
    }
    o->len += k;
}

void gen_out_dec(gen_out_t *o, int64_t k, int dec)
{
    out_sep(o);
    char tmp[32];
    int n = 0;
    uint64_t a = k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k;
    /* digits, least significant first */
    do {
        tmp[n++] = (char)('0' + (int)(a % 10));
        a /= 10;
    } while (a > 0);
    while (n <= dec)
        tmp[n++] = '0';
    int lo = 0; /* drop trailing zeros of the fraction */
    while (lo < dec && tmp[lo] == '0')
        lo++;
    char *p = out_room(o, 34);
    size_t m = 0;
    int nonzero = 0;
    for (int i = n - 1; i >= lo; i--)
        nonzero |= tmp[i] != '0';
    if (k < 0 && nonzero)
        p[m++] = '-';
    for (int i = n - 1; i >= dec; i--)
        p[m++] = tmp[i];
    if (lo < dec) {
        p[m++] = '.';
        for (int i = dec - 1; i >= lo; i--)
            p[m++] = tmp[i];
    }
    o->len += m;
}

void gen_out_endrow(gen_out_t *o)
{
    *out_room(o, 1) = '\n';
    o->len++;
    o->first = 1;
}

int64_t gen_quantise(double v, int dec, int64_t step)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3,  1e4,  1e5, 1e6,
                                 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
    if (dec < 0)
        dec = 0;
    if (dec > 12)
        dec = 12;
    if (step < 1)
        step = 1;
    double x = floor(v * p10[dec] / (double)step + 0.5);
    double lim = 9.0e15 / (double)step;
    if (!(x < lim)) /* also catches NaN */
        x = x > 0.0 ? lim : (x < 0.0 ? -lim : 0.0);
    if (x < -lim)
        x = -lim;
    return (int64_t)x * step;
}

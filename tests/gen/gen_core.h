/* dm-gen internals: PRNG, deterministic maths, buffered writer, weighted tables.
 *
 * Everything here is deterministic: the PRNG is xoshiro256** seeded through splitmix64, and the
 * few transcendental functions the generator needs (log, exp) are computed by our own code from
 * IEEE-754 +, -, *, / and sqrt only, so a given seed produces the same bytes on every machine with
 * IEEE double arithmetic (the Makefile builds with -ffp-contract=off: no fused multiply-add). */
#ifndef DM_GEN_CORE_H
#define DM_GEN_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- PRNG ------------------------------------------------------------------------------------ */

typedef struct {
    uint64_t s[4];
    double spare; /* the second normal deviate of the polar method */
    int has_spare;
} gen_rng_t;

/* A stream for (seed, row, group): every row and every group of columns gets its own stream, so
 * a knob that changes one column never shifts the random numbers any other column sees. */
void gen_rng_stream(gen_rng_t *r, uint64_t seed, uint64_t row, uint64_t group);
uint64_t gen_rng_next(gen_rng_t *r);
double gen_u01(gen_rng_t *r);    /* uniform on (0, 1), 53 random bits */
double gen_normal(gen_rng_t *r); /* standard normal (Marsaglia polar method) */
double gen_lognormal(gen_rng_t *r, double median, double sigma);
double gen_exponential(gen_rng_t *r);         /* mean 1 */
uint64_t gen_below(gen_rng_t *r, uint64_t n); /* uniform integer in [0, n) */

double gen_log(double x); /* natural log, x > 0, about 1 ulp */
double gen_exp(double x); /* e^x, |x| < 700, about 1 ulp */

/* ---- weighted categorical tables ------------------------------------------------------------- */

#define GEN_MAX_CATS 64

typedef struct {
    const char *name;
    double w;
} gen_item_t;

typedef struct {
    const char *column; /* the column the table belongs to (for --drift), or NULL */
    size_t n;           /* number of items */
    const char *name[GEN_MAX_CATS];
    double w[GEN_MAX_CATS];   /* unnormalised weights */
    double cum[GEN_MAX_CATS]; /* cumulative normalised weights; cum[n-1] == 1 */
} gen_cat_t;

/* Fills t from items (n <= GEN_MAX_CATS) and prepares it for sampling. */
void gen_cat_init(gen_cat_t *t, const char *column, const gen_item_t *items, size_t n);
/* Recomputes cum after the weights changed. */
void gen_cat_finish(gen_cat_t *t);
/* Multiplies the weight of `category` (NULL: the first, most frequent item) by factor.
 * Returns 0, or -1 when the category is unknown. */
int gen_cat_reweight(gen_cat_t *t, const char *category, double factor);
size_t gen_cat_pick(const gen_cat_t *t, double u);

/* ---- buffered writer --------------------------------------------------------------------------
 */

enum { GEN_CSV = 0, GEN_TSV_COPY = 1 };

typedef struct {
    FILE *f;
    char *buf;
    size_t len, cap;
    int format;
    int first; /* no separator before the next field */
    int err;
} gen_out_t;

int gen_out_open(gen_out_t *o, FILE *f, int format);
int gen_out_close(gen_out_t *o); /* flushes; returns 0 or -1 */
void gen_out_null(gen_out_t *o);
void gen_out_str(gen_out_t *o, const char *s);
/* Writes k / 10^dec in plain decimal notation, trailing zeros of the fraction removed: the text
 * parses (strtod) back to the double nearest k / 10^dec, which is what the generator meant. */
void gen_out_dec(gen_out_t *o, int64_t k, int dec);
void gen_out_endrow(gen_out_t *o);

/* Rounds v * 10^dec to the nearest multiple of step (step >= 1, in units of 10^-dec). */
int64_t gen_quantise(double v, int dec, int64_t step);

#endif

/*
 * dataset.c - profiled tables and the dm_builder that every loader feeds.
 *
 * A builder column is numeric until a text value arrives, then text (an open-addressing
 * hash table interning each distinct string with its count).  Its numbers are (value, count)
 * pairs while their distinct values are few, a growable vector of finite doubles after (the
 * states are described at bcol).  dm_builder_finish() sorts and compresses the numbers
 * (stats_sort_doubles, stats_compress_sorted; the pairs to the same result) and sorts the
 * categories by strcmp.  A column fed with
 * dm_builder_classify_text() stays text while read and is turned into numbers at the finish
 * when every value was one.
 */
#include "monitor/dataset.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "monitor/log.h"
#include "monitor/parse_number.h"
#include "monitor/spill.h"
#include "stats/stats.h"

/* ---- dataset -------------------------------------------------------------------- */

void dm_dataset_init(dm_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
}

void dm_column_drop_numbers(dm_column *c)
{
    if (!c->value_shared)
        free(c->value);
    c->value_shared = false;
    if (!c->count_shared)
        free(c->count);
    c->value = NULL;
    c->count = NULL;
    c->count_shared = false;
    c->n_distinct = 0;
}

static void column_release(dm_column *c)
{
    free(c->name);
    dm_column_drop_numbers(c);
    if (c->cat)
        for (size_t i = 0; i < c->n_cats; i++)
            free(c->cat[i]);
    free(c->cat);
    free(c->cat_count);
    free(c->first_text);
    memset(c, 0, sizeof *c);
}

/* Give back the pages wholly inside [p, p + len): a page shared with the next column stays
 * (giving it back would only have it read again at once), and a column smaller than a page
 * costs no system call (a profile of many small columns would pay one per column). */
static void evict_range(const dm_dataset *ds, const void *p, size_t len)
{
    const unsigned char *a = ds->arena, *q = p;
    if (len == 0 || q < a || q + len > a + ds->arena_len)
        return;
    uintptr_t pg = 4096;
    uintptr_t lo = ((uintptr_t)q + pg - 1) & ~(pg - 1), hi = ((uintptr_t)q + len) & ~(pg - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void dm_dataset_evict(const dm_dataset *ds, size_t i)
{
    if (!ds->arena_is_file || i >= ds->ncols)
        return;
    const dm_column *c = &ds->col[i];
    if (c->storage != DM_STORE_NUM)
        return;
    evict_range(ds, c->value, c->n_distinct * sizeof(double));
    evict_range(ds, c->count, c->n_distinct * sizeof(uint64_t));
}

void dm_dataset_release(dm_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->ncols; i++)
        column_release(&ds->col[i]);
    free(ds->col);
    for (size_t i = 0; i < ds->nleft_out; i++) {
        free(ds->left_out[i].name);
        free(ds->left_out[i].reason);
    }
    free(ds->left_out);
    for (size_t i = 0; i < ds->nkept; i++) {
        free(ds->kept[i].name);
        free(ds->kept[i].value);
        free(ds->kept[i].line);
    }
    free(ds->kept);
    free(ds->source);
    free(ds->ones);
    if (ds->arena)
        munmap(ds->arena, ds->arena_len);
    dm_dataset_init(ds);
}

int dm_dataset_keep(dm_dataset *ds, const size_t *idx, size_t n)
{
    bool *kept = calloc(ds->ncols ? ds->ncols : 1, sizeof *kept);
    dm_column *col = calloc(n ? n : 1, sizeof *col);
    int rc = kept && col ? 0 : -1;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (idx[k] >= ds->ncols || kept[idx[k]])
            rc = -1;
        else
            kept[idx[k]] = true;
    }
    if (rc == 0) {
        for (size_t k = 0; k < n; k++)
            col[k] = ds->col[idx[k]];
        for (size_t i = 0; i < ds->ncols; i++) {
            if (kept[i])
                continue;
            dm_dataset_evict(ds, i);
            column_release(&ds->col[i]);
        }
        free(ds->col);
        ds->col = col;
        ds->ncols = n;
        col = NULL;
    }
    free(kept);
    free(col);
    return rc;
}

long dm_dataset_find(const dm_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->ncols; i++)
        if (ds->col[i].name && strcmp(ds->col[i].name, name) == 0)
            return (long)i;
    return -1;
}

const dm_rows *dm_dataset_rows(const dm_dataset *ds, const char *name)
{
    for (size_t i = 0; name && i < ds->nkept; i++)
        if (strcmp(ds->kept[i].name, name) == 0)
            return &ds->kept[i];
    return NULL;
}

int dm_dataset_add_left_out(dm_dataset *ds, const char *name, const char *reason)
{
    dm_left_out *nl = realloc(ds->left_out, (ds->nleft_out + 1) * sizeof *nl);
    if (!nl)
        return -1;
    ds->left_out = nl;
    char *n = strdup(name), *r = strdup(reason);
    if (!n || !r) {
        free(n);
        free(r);
        return -1;
    }
    nl[ds->nleft_out].name = n;
    nl[ds->nleft_out].reason = r;
    ds->nleft_out++;
    return 0;
}

long dm_dataset_find_left_out(const dm_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nleft_out; i++)
        if (strcmp(ds->left_out[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* ---- classification --------------------------------------------------------------- */

#define VALUE_SHOWN 60 /* bytes of a value quoted in a message */

void dm_show_value(const char *s, size_t len, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    size_t cut = len;
    if (len > VALUE_SHOWN) { /* cut at a character's start: at most 3 bytes back in UTF-8 */
        cut = VALUE_SHOWN;
        for (int k = 0; k < 3 && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80; k++)
            cut--;
    }
    out[0] = '\0';
    if (outlen < 4 + 1)
        return;
    /* room kept for "..." */
    if (dm_escape(s, cut, DM_ESC_QUOTED, out, outlen - 3) < len)
        memcpy(out + strlen(out), "...", 4);
}

/* pandas' default na_values (pandas/_libs/parsers.pyx STR_NA_VALUES), "" apart. */
#define TOK(s)                                                                                     \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
static const struct {
    const char *s;
    size_t len;
} na_tokens[] = {TOK("#N/A"), TOK("#N/A N/A"), TOK("#NA"),    TOK("-1.#IND"), TOK("-1.#QNAN"),
                 TOK("-NaN"), TOK("-nan"),     TOK("1.#IND"), TOK("1.#QNAN"), TOK("<NA>"),
                 TOK("N/A"),  TOK("NA"),       TOK("NULL"),   TOK("NaN"),     TOK("None"),
                 TOK("n/a"),  TOK("nan"),      TOK("null")};
#undef TOK

bool dm_is_missing_token(const char *s, size_t len)
{
    if (len == 0)
        return true;
    if (len > 8)
        return false;
    switch (s[0]) { /* every token starts with one of these */
    case '#':
    case '-':
    case '1':
    case '<':
    case 'N':
    case 'n':
        break;
    default:
        return false;
    }
    for (size_t i = 0; i < sizeof na_tokens / sizeof na_tokens[0]; i++)
        if (na_tokens[i].len == len && memcmp(na_tokens[i].s, s, len) == 0)
            return true;
    return false;
}

/* The blanks strtod skips in front of a number (isspace in the C locale). */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* strtod on a NUL-terminated copy of s[0..n): the whole text must be one number, NaN
 * spellings excluded.  Out of line: the fast path then needs no stack buffer. */
__attribute__((noinline)) static bool parse_slow(const char *s, size_t n, double *out)
{
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *stop = NULL;
    errno = 0;
    double v = strtod(buf, &stop);
    bool full = stop == buf + n;
    if (buf != small)
        free(buf);
    if (!full || isnan(v))
        return false; /* NaN spellings are pandas' NA tokens or text, never numbers */
    *out = v;
    return true;
}

/* A plain decimal, [+-]digits[.digits], as read by scan_decimal: its digits as one integer m
 * (wrapped when there are more than 19 of them; ndig tells). */
typedef struct {
    uint64_t m;
    size_t ndig, nfrac;
    bool neg, dot;
} decimal;

/* Read [+-]digits[.digits] from p (< end) up to the first character that cannot continue it;
 * returns that character's position. */
__attribute__((always_inline)) static inline const char *scan_decimal(const char *p,
                                                                      const char *end, decimal *d)
{
    d->neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        d->neg = *p == '-';
        p++;
    }
    uint64_t m = 0;
    const char *d0 = p;
    while (p < end && (unsigned char)(*p - '0') < 10) {
        m = m * 10 + (uint64_t)(*p - '0');
        p++;
    }
    d->ndig = (size_t)(p - d0);
    d->nfrac = 0;
    d->dot = p < end && *p == '.';
    if (d->dot) {
        const char *f0 = ++p;
        uint64_t v8;
        while (end - p >= 8 && dm_eight_digits(p, &v8)) {
            m = m * 100000000 + v8; /* wraps as the digit loop does */
            p += 8;
        }
        while (p < end && (unsigned char)(*p - '0') < 10) {
            m = m * 10 + (uint64_t)(*p - '0');
            p++;
        }
        d->nfrac = (size_t)(p - f0);
        d->ndig += d->nfrac;
    }
    d->m = m;
    return p;
}

/* Clinger's fast path: when the digits, read as an integer m, are exact in a double
 * (m <= 2^53: always true for <= 15 significant digits) and there are at most 22 decimals,
 * m / 10^k is one correctly rounded division.  false when d is outside it (or has no digit).
 * *is_int: an integer literal of at most 18 digits (certainly an int64, as pandas reads it). */
__attribute__((always_inline)) static inline bool decimal_value(const decimal *d, double *out,
                                                                bool *is_int)
{
    if (d->ndig == 0 || d->ndig > 19 || !dm_decimal_fast(d->m, -(int64_t)d->nfrac, d->neg, out))
        return false;
    *is_int = !d->dot && d->ndig <= 18;
    return true;
}

/* The same for a decimal outside Clinger's path whose digits all fit m (at most 19 of them,
 * full-precision exports have 16-17): dm_decimal_to_double, exact; false in the rare cases
 * it leaves to strtod. */
static inline bool decimal_exact(const decimal *d, double *out, bool *is_int)
{
    if (d->ndig == 0 || d->ndig > 19 ||
        !dm_decimal_to_double(d->m, -(int64_t)d->nfrac, d->neg, out))
        return false;
    *is_int = !d->dot && d->ndig <= 18;
    return true;
}

/*
 * The parser behind dm_parse_number; *is_int tells whether the text was an integer
 * literal (sign and digits only, at most 18 of them: certainly an int64, as pandas reads
 * it).
 */
static bool parse_number(const char *s, size_t len, double *out, bool *is_int)
{
    size_t b = 0, e = len;
    while (b < e && is_blank(s[b]))
        b++;
    while (e > b && is_blank(s[e - 1]))
        e--;
    *is_int = false;
    if (b == e)
        return false;
    decimal d;
    bool plain = scan_decimal(s + b, s + e, &d) == s + e; /* sign, digits, one point */
    if (plain && d.ndig == 0)
        return false; /* "+", ".", "-." */
    if (plain && (decimal_value(&d, out, is_int) || decimal_exact(&d, out, is_int)))
        return true;
    /* exponents and long mantissas; strtod for the rest (hex, inf) and the undecided */
    if (!dm_parse_decimal(s + b, e - b, out) && !parse_slow(s + b, e - b, out))
        return false;
    /* an integer literal too long for the fast path: int64-safe up to 18 digits */
    *is_int = plain && !d.dot && d.ndig <= 18;
    return true;
}

bool dm_parse_number(const char *s, size_t len, double *out)
{
    bool is_int;
    double v;
    if (!parse_number(s, len, &v, &is_int))
        return false;
    *out = v;
    return true;
}

/* ---- builder ---------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len;
    uint64_t hash;
    uint64_t count;
} str_slot;

/* One distinct number of a column held as a table: the double's bit pattern (so -0.0 and
 * +0.0 are two keys, merged at the finish as stats_compress_sorted merges them) and how
 * often it came; count 0 marks an empty slot. */
typedef struct {
    uint64_t key;
    uint64_t count;
} num_slot;

/*
 * A builder column is in exactly one of three states:
 *   TABLE  (!text && !raw): its finite numbers as (value, count) pairs in tab, an
 *          open-addressing table keyed on the bit pattern (NULL until the first number);
 *          v is NULL.  Every numeric column starts here.
 *   RAW    (!text && raw): every finite number as a double in v[0..nv), in no useful order;
 *          tab is NULL.  A table turns raw once (table_to_raw: its pairs expanded) when
 *          growing it would cost more than the raw array of the rows expected, or its first
 *          values say it will (table_may_grow); never back.  A RAW column may be spilled
 *          (spill set, dm_builder_spill): v is then the block that fills, the rest is in
 *          the spill file (spilled values), until dm_builder_unspill reads them back.
 *   TEXT   (text): distinct strings with counts in slot; v and tab are NULL.  Entered from
 *          TABLE or RAW by a text value (flipped when numbers had been seen: the loader reads
 *          again), or from the start (force_text, classify_text); the table, the array and
 *          the spill are dropped (drop_numbers).
 * A TABLE column is never spilled: dm_builder_spill gives it a spill target (spill_to) that
 * it starts spilling to if and when it turns raw.
 * missing, nonfinite, all_int and seen_num are kept in every state.  The finish gives the
 * same dm_column whether the numbers were a table or raw (finish_table, finish_column).
 */
typedef struct {
    char *name;
    bool force_text;
    bool classify; /* text kept as read, numbers at the finish if all are (classify_text) */
    bool text;     /* storing strings */
    bool raw;      /* numbers as a raw array v, not the table tab (see the states above) */
    bool flipped;  /* turned to text after numbers were seen */
    bool all_int;  /* every number so far was an integer literal */
    bool seen_num;
    uint64_t missing, nonfinite;
    /* numeric, TABLE: tslots a power of two (1 << tlg), tused of them used, tn the sum of
     * the counts */
    num_slot *tab;
    size_t tslots, tused;
    unsigned tlg;
    uint64_t tn;
    /* numeric, RAW */
    double *v;
    size_t nv, capv;
    /* rows the loader expects (dm_builder_expect), 0 when it said nothing */
    size_t expect;
    /* text */
    str_slot *slot;
    size_t nslots, nused; /* nslots: power of two */
    uint64_t ntext;
    char *first_text;
    uint64_t first_text_line;
    /* kept row by row (dm_builder_keep_rows): kv[r], kl[r] of row r */
    bool keep;
    double *kv;
    uint64_t *kl;
    size_t nk, capk;
    /* spilled (dm_builder_spill, RAW only): the numbers go to a spill file's group, v being
     * the block that fills; spilled counts those written */
    uint32_t idx;
    dm_spill *spill;
    size_t spill_group;
    uint64_t spilled;
    /* where a TABLE column given to dm_builder_spill spills once it turns raw (NULL: none) */
    dm_spill *spill_to;
    size_t spill_to_group;
    bool restoring; /* dm_builder_unspill is reading its values back */
    bool done;      /* finished into the dataset (dm_builder_finish_columns) */
} bcol;

struct dm_builder {
    size_t ncols;
    bcol *col;
    uint64_t rows;
    bool oom;
    bool raw_numbers; /* dm_builder_raw_numbers: no column is ever a table */
};

static char *dup_n(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void bcol_free(bcol *c)
{
    free(c->name);
    free(c->v);
    free(c->tab);
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slot[i].s);
    free(c->slot);
    free(c->first_text);
    free(c->kv);
    free(c->kl);
    memset(c, 0, sizeof *c);
}

dm_builder *dm_builder_alloc(size_t ncols, const char *const *names, const bool *force_text)
{
    dm_builder *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->ncols = ncols;
    b->col = calloc(ncols ? ncols : 1, sizeof *b->col);
    if (!b->col) {
        free(b);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        bcol *c = &b->col[i];
        c->name = dup_n(names[i], strlen(names[i]));
        if (!c->name) {
            dm_builder_free(b);
            return NULL;
        }
        c->force_text = force_text && force_text[i];
        c->text = c->force_text;
        c->all_int = true;
        c->idx = (uint32_t)i;
    }
    return b;
}

void dm_builder_raw_numbers(dm_builder *b)
{
    b->raw_numbers = true;
    for (size_t i = 0; i < b->ncols; i++)
        if (!b->col[i].tab)
            b->col[i].raw = true;
}

dm_bcol_state dm_builder_state(const dm_builder *b, size_t col)
{
    const bcol *c = &b->col[col];
    return c->text ? DM_BCOL_TEXT : c->raw ? DM_BCOL_RAW : DM_BCOL_TABLE;
}

void dm_builder_keep_rows(dm_builder *b, const char *const *names, size_t n)
{
    for (size_t i = 0; i < b->ncols; i++)
        for (size_t k = 0; k < n; k++)
            if (names[k] && strcmp(b->col[i].name, names[k]) == 0)
                b->col[i].keep = true;
}

/* Room for n more kept rows. */
static int keep_reserve(bcol *c, size_t n)
{
    if (c->capk - c->nk >= n)
        return 0;
    size_t cap = c->capk ? c->capk : 1024;
    while (cap - c->nk < n)
        cap *= 2;
    double *v = realloc(c->kv, cap * sizeof *v);
    if (v)
        c->kv = v;
    uint64_t *l = v ? realloc(c->kl, cap * sizeof *l) : NULL;
    if (!l)
        return -1;
    c->kl = l;
    c->capk = cap;
    return 0;
}

static int keep_push(bcol *c, double v, uint64_t line)
{
    if (c->nk == c->capk && keep_reserve(c, 1) != 0)
        return -1;
    c->kv[c->nk] = v;
    c->kl[c->nk++] = line;
    return 0;
}

/* A field of a kept column as its row's value: the number it is, else NaN. */
static int keep_field(bcol *c, const char *s, size_t len, uint64_t line)
{
    double v = NAN;
    bool is_int;
    if (len > 0 && !dm_is_missing_token(s, len) && !parse_number(s, len, &v, &is_int))
        v = NAN;
    return keep_push(c, v, line);
}

void dm_builder_classify_text(dm_builder *b, size_t col)
{
    if (col >= b->ncols)
        return;
    b->col[col].classify = true;
    b->col[col].text = true;
}

void dm_builder_free(dm_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncols; i++)
        bcol_free(&b->col[i]);
    free(b->col);
    free(b);
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int table_grow(bcol *c)
{
    size_t n = c->nslots ? c->nslots * 2 : 64;
    str_slot *t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->nslots; i++) {
        str_slot *o = &c->slot[i];
        if (!o->s)
            continue;
        size_t j = (size_t)o->hash & (n - 1);
        while (t[j].s)
            j = (j + 1) & (n - 1);
        t[j] = *o;
    }
    free(c->slot);
    c->slot = t;
    c->nslots = n;
    return 0;
}

/* Add `count` occurrences of s[0..len) (hash h) to the table; s is copied when new, or taken
 * over when own is non-NULL (then own == s, NUL-terminated, and freed when already there). */
static int intern_n(bcol *c, const char *s, size_t len, uint64_t h, uint64_t count, char *own)
{
    if ((c->nused + 1) * 4 > c->nslots * 3 && table_grow(c) != 0)
        return -1;
    size_t j = (size_t)h & (c->nslots - 1);
    for (;;) {
        str_slot *t = &c->slot[j];
        if (!t->s) {
            t->s = own ? own : dup_n(s, len);
            if (!t->s)
                return -1;
            t->len = len;
            t->hash = h;
            t->count = count;
            c->nused++;
            break;
        }
        if (t->hash == h && t->len == len && memcmp(t->s, s, len) == 0) {
            t->count += count;
            free(own);
            break;
        }
        j = (j + 1) & (c->nslots - 1);
    }
    c->ntext += count;
    return 0;
}

static int intern(bcol *c, const char *s, size_t len)
{
    if ((c->nused + 1) * 4 > c->nslots * 3 && table_grow(c) != 0)
        return -1;
    uint64_t h = hash_bytes(s, len);
    size_t j = (size_t)h & (c->nslots - 1);
    for (;;) {
        str_slot *t = &c->slot[j];
        if (!t->s) {
            t->s = dup_n(s, len);
            if (!t->s)
                return -1;
            t->len = len;
            t->hash = h;
            t->count = 1;
            c->nused++;
            break;
        }
        if (t->hash == h && t->len == len && memcmp(t->s, s, len) == 0) {
            t->count++;
            break;
        }
        j = (j + 1) & (c->nslots - 1);
    }
    c->ntext++;
    return 0;
}

/* A big array starts on a 2 MiB boundary and its whole 2 MiB spans are advised as huge
 * pages (transparent huge pages are often enabled for advised memory only): a big read
 * writes much fresh memory, and faulting it in 4 KiB at a time is a real part of the read.  It
 * takes realloc's place: p's first `keep` bytes are copied (only those), p is freed; NULL (p
 * untouched) when out of memory.  Freed by free() as any other. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *array_realloc(void *p, size_t keep, size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return realloc(p, bytes);
    void *q = NULL;
    if (posix_memalign(&q, HUGE_PAGE, bytes) != 0)
        return NULL;
    (void)madvise(q, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    if (keep > 0)
        memcpy(q, p, keep);
    free(p);
    return q;
}

/* Column c's number array resized to cap values (>= c->nv); -1 when out of memory. */
static int set_capacity(bcol *c, size_t cap)
{
    double *p = array_realloc(c->v, c->nv * sizeof *p, cap * sizeof *p);
    if (!p)
        return -1;
    c->v = p;
    c->capv = cap;
    return 0;
}

/* Room for n more numbers in column c (capacity doubling from 16: a file of many columns
 * and few rows must not cost a big array per column; a tall one gets dm_builder_expect's
 * hint after a few rows).  Out of line: it is the rare path of push_num, which the
 * per-field parse inlines. */
static int spill_flush(bcol *c, size_t n);

__attribute__((noinline)) static int reserve_num(bcol *c, size_t n)
{
    if (c->capv - c->nv >= n)
        return 0;
    if (c->spill)
        return spill_flush(c, n);
    size_t cap = c->capv ? c->capv : 16;
    while (cap - c->nv < n)
        cap *= 2;
    return set_capacity(c, cap);
}

static int push_num(bcol *c, double v)
{
    if (c->nv == c->capv && reserve_num(c, 1) != 0) /* the test inline: a per-field path */
        return -1;
    c->v[c->nv++] = v;
    return 0;
}

/* ---- a numeric column's table of (value, count) -------------------------------------- */

/* A table starts with this many slots: what a raw array starts with (16 doubles), so that a
 * file of many columns and few rows costs no more than before. */
#define TABLE_FIRST_LG 3
/* A table may always grow to this many bytes, whatever the rows: before the loader's hint
 * (the first rows of a file) and without one (a table read by COPY, whose rows are not known
 * in advance), a column of a few thousand distinct values must not turn raw for want of
 * rows seen so far. */
#define TABLE_FLOOR_BYTES ((size_t)64 * 1024)
/* Values a table must have taken before their repeats say anything (table_may_grow). */
#define TABLE_SAMPLE 4096

static uint64_t bits_of(double v)
{
    uint64_t k;
    memcpy(&k, &v, sizeof k);
    return k;
}

static double double_of_bits(uint64_t k)
{
    double v;
    memcpy(&v, &k, sizeof v);
    return v;
}

/* The slot where key k's probe starts: its bits mixed and multiplied (Fibonacci hashing;
 * the mixing brings the exponent and high mantissa bits, where small integers differ, into
 * the product's high bits, which are kept). */
static inline size_t num_hash(uint64_t k, unsigned lg)
{
    k ^= k >> 32;
    k *= 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> (64 - lg));
}

/*
 * May column c's table double?  Not when the doubled table would cost more than the raw
 * array of the rows expected (8 bytes a row: the loader's hint, or the rows seen so far when
 * larger), unless it stays within TABLE_FLOOR_BYTES: a table turning raw then holds between
 * 3/16 and 3/8 of the expected rows as distinct values, more than pairs can save memory on.
 * And not when the column's first n >= TABLE_SAMPLE values already show it will get there:
 * n draws from D equally likely values give D (1 - exp(-n / D)) distinct ones on average,
 * more the larger D is, so d distinct values among n, more than T = rows / 4 would give,
 * say D > T: past it pairs save no memory (they take 21 to 43 bytes each, the rows 8).
 * Turning raw at once spares hashing a good part of the rows first.  A skewed column
 * repeats more than equally likely values do and is kept; the first bound turns it raw
 * later, if it must.
 */
static bool table_may_grow(const bcol *c)
{
    uint64_t seen = c->tn + c->missing + c->nonfinite;
    uint64_t rows = c->expect > seen ? c->expect : seen;
    if (c->tn >= TABLE_SAMPLE) {
        double t = (double)rows / 4, n = (double)c->tn;
        if (t * -expm1(-n / t) < (double)c->tused)
            return false;
    }
    size_t want = c->tslots * 2 * sizeof(num_slot);
    if (want <= TABLE_FLOOR_BYTES)
        return true;
    return rows <= UINT64_MAX / sizeof(double) && want <= rows * sizeof(double);
}

/* Put `count` more of key k into a table known to have room for one more key. */
static inline void table_put(num_slot *tab, unsigned lg, size_t *used, uint64_t k, uint64_t count)
{
    size_t m = ((size_t)1 << lg) - 1, j = num_hash(k, lg);
    while (tab[j].count && tab[j].key != k)
        j = (j + 1) & m;
    if (!tab[j].count) {
        tab[j].key = k;
        (*used)++;
    }
    tab[j].count += count;
}

/* Column c's table resized to 1 << lg slots (room for the keys it holds). */
static int table_resize(bcol *c, unsigned lg)
{
    size_t n = (size_t)1 << lg, used = 0;
    num_slot *t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->tslots; i++)
        if (c->tab[i].count)
            table_put(t, lg, &used, c->tab[i].key, c->tab[i].count);
    free(c->tab);
    c->tab = t;
    c->tslots = n;
    c->tlg = lg;
    return 0;
}

/* `count` copies of v into a RAW column; a spilled one fills and writes its block as often
 * as it takes (the block is never grown for them). */
static int raw_add_n(bcol *c, double v, uint64_t count)
{
    if (count > SIZE_MAX / sizeof(double) || (!c->spill && reserve_num(c, (size_t)count) != 0))
        return -1;
    while (count > 0) {
        if (c->nv == c->capv && reserve_num(c, 1) != 0)
            return -1;
        size_t k = c->capv - c->nv;
        if (k > count)
            k = (size_t)count;
        for (size_t r = 0; r < k; r++)
            c->v[c->nv++] = v;
        count -= k;
    }
    return 0;
}

/* TABLE to RAW: the pairs expanded into a raw array with room for the rows expected (the
 * order of the values does not matter: the finish sorts them), or, for a column given a
 * spill target while a table (spill_to), into one block spilled from now on. */
static int table_to_raw(bcol *c)
{
    size_t need = (size_t)c->tn, cap = need * 2 > 16 ? need * 2 : 16;
    if (c->expect > cap)
        cap = c->expect;
    if (c->spill_to)
        cap = DM_SPILL_BLOCK_VALUES;
    double *v = array_realloc(NULL, 0, cap * sizeof *v);
    if (!v)
        return -1;
    num_slot *tab = c->tab;
    size_t tslots = c->tslots;
    c->tab = NULL;
    c->tslots = c->tused = 0;
    c->tlg = 0;
    c->tn = 0;
    free(c->v);
    c->v = v;
    c->nv = 0;
    c->capv = cap;
    c->raw = true;
    if (c->spill_to) {
        c->spill = c->spill_to;
        c->spill_group = c->spill_to_group;
        c->spill_to = NULL;
    }
    int rc = 0;
    for (size_t i = 0; i < tslots && rc == 0; i++)
        if (tab[i].count)
            rc = raw_add_n(c, double_of_bits(tab[i].key), tab[i].count);
    free(tab);
    return rc;
}

/* The rare path of table_add: no table yet, or a full one that grows or turns raw.  Out of
 * line, as reserve_num. */
__attribute__((noinline)) static int table_add_slow(bcol *c, uint64_t k, uint64_t count,
                                                    bool bounded)
{
    if (!c->tab) {
        if (table_resize(c, TABLE_FIRST_LG) != 0)
            return -1;
    } else if (!bounded || table_may_grow(c)) {
        if (table_resize(c, c->tlg + 1) != 0)
            return -1;
    } else {
        if (table_to_raw(c) != 0)
            return -1;
        return raw_add_n(c, double_of_bits(k), count);
    }
    table_put(c->tab, c->tlg, &c->tused, k, count);
    c->tn += count;
    return 0;
}

/* `count` more of finite v into a TABLE column (which may turn raw on the way: then v goes
 * into the raw array).  bounded false: the table grows however many keys come (a classified
 * text column turning numeric at the finish, whose strings were held anyway). */
static inline int table_add(bcol *c, double v, uint64_t count, bool bounded)
{
    uint64_t k = bits_of(v);
    if (c->tab) {
        size_t m = c->tslots - 1, j = num_hash(k, c->tlg);
        for (;;) {
            num_slot *t = &c->tab[j];
            if (!t->count)
                break;
            if (t->key == k) {
                t->count += count;
                c->tn += count;
                return 0;
            }
            j = (j + 1) & m;
        }
        if ((c->tused + 1) * 4 <= c->tslots * 3) { /* a load of at most 3/4 */
            c->tab[j].key = k;
            c->tab[j].count = count;
            c->tused++;
            c->tn += count;
            return 0;
        }
    }
    return table_add_slow(c, k, count, bounded);
}

/* `count` more of finite v into a numeric column, TABLE or RAW. */
static int num_add_n(bcol *c, double v, uint64_t count)
{
    return c->raw ? raw_add_n(c, v, count) : table_add(c, v, count, true);
}

/* An integral double that fits an int64 exactly (|v| < 2^53): the truncation gives it back.
 * No call to floor, and false for NaN and the infinities. */
static bool integral(double v)
{
    return fabs(v) < 9007199254740992.0 && (double)(int64_t)v == v;
}

/* A number held back from its column's table until the end of its CSV line (see
 * dm_builder_plain_line). */
typedef struct {
    bcol *c;
    double v;
} deferred;

/* Each number held back into its column, as add_number would have put it then (a column
 * that turned to text since has dropped its numbers: the number is dropped too). */
static int deferred_add(const deferred *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!d[i].c->text && num_add_n(d[i].c, d[i].v, 1) != 0)
            return -1;
    return 0;
}

/* Inlined into all callers: one is the per-field CSV path.  With later (not NULL), a number
 * for a table that exists is not put in but stored at *later, its slot's cache line fetched
 * meanwhile, and 1 is returned: the caller passes it to deferred_add before anything else
 * reads the column. */
__attribute__((always_inline)) static inline int add_number(bcol *c, double v, bool is_int,
                                                            deferred *later)
{
    c->seen_num = true;
    if (!is_int)
        c->all_int = false;
    if (isinf(v)) {
        c->nonfinite++;
        return 0;
    }
    if (c->raw)
        return push_num(c, v);
    if (later && c->tab) {
        __builtin_prefetch(&c->tab[num_hash(bits_of(v), c->tlg)], 1);
        later->c = c;
        later->v = v;
        return 1;
    }
    return table_add(c, v, 1, true);
}

/* Column c's numbers (table, raw array, spill) dropped: the column is turning to text (what
 * it spilled is read again as text: the loader's second pass), or its pairs were merged. */
static void drop_numbers(bcol *c)
{
    free(c->v);
    c->v = NULL;
    c->nv = c->capv = 0;
    free(c->tab);
    c->tab = NULL;
    c->tslots = c->tused = 0;
    c->tlg = 0;
    c->tn = 0;
    c->spill = NULL;
    c->spilled = 0;
    c->spill_to = NULL;
}

/* A text value for column c: remember the first, switch the column to text. */
static int add_text(bcol *c, const char *s, size_t len, uint64_t line)
{
    if (!c->first_text) {
        c->first_text = dup_n(s, len);
        if (!c->first_text)
            return -1;
        c->first_text_line = line;
    }
    if (!c->text) {
        /* numbers seen before: they were kept as doubles, the loader must re-read */
        if (c->seen_num)
            c->flipped = true;
        c->text = true;
        drop_numbers(c);
    }
    return intern(c, s, len);
}

int dm_builder_field(dm_builder *b, size_t col, const char *s, size_t len, uint64_t line)
{
    if (col >= b->ncols)
        return -1;
    bcol *c = &b->col[col];
    int rc = 0;
    if (c->keep && keep_field(c, s, len, line) != 0) {
        b->oom = true;
        return -1;
    }
    if (len == 0) {
        c->missing++;
        return 0;
    }
    if (!c->text) {
        double v;
        bool is_int;
        if (parse_number(s, len, &v, &is_int))
            rc = add_number(c, v, is_int, NULL);
        else if (dm_is_missing_token(s, len))
            c->missing++;
        else
            rc = add_text(c, s, len, line);
    } else {
        if (dm_is_missing_token(s, len)) {
            c->missing++;
            return 0;
        }
        if (!c->first_text) {
            double v;
            bool is_int;
            if (!parse_number(s, len, &v, &is_int)) {
                c->first_text = dup_n(s, len);
                if (!c->first_text)
                    rc = -1;
                c->first_text_line = line;
            }
        }
        if (rc == 0)
            rc = intern(c, s, len);
    }
    if (rc != 0)
        b->oom = true;
    return rc;
}

/* The end of the field at f: the next comma, or end.  Fields are short: a plain loop beats
 * a memchr call per field. */
static const char *field_end(const char *f, const char *end)
{
    while (f < end && *f != ',')
        f++;
    return f;
}

/* Numbers of a line held back from their tables at most (dm_builder_plain_line). */
#define DEFERRED_MAX 64

/*
 * A row touches every TABLE column's table at one slot, and the tables of a wide file
 * together outgrow the cache: a miss per field.  So the numbers of a line for tables are held
 * back (add_number's later), their slots prefetched as they are parsed, and put in at the
 * end of the line (or of DEFERRED_MAX of them), when the slots are in the cache.  A table
 * holds counts: the order its numbers come in does not matter.
 */
int dm_builder_plain_line(dm_builder *b, const long *map, size_t nmap, const char *s, size_t len,
                          uint64_t line, size_t *nfields)
{
    const char *f = s, *end = s + len;
    size_t field = 0, nd = 0;
    deferred d[DEFERRED_MAX];
    for (;;) {
        const char *fe = NULL;
        long k = field < nmap ? map[field] : -1;
        if (k >= 0) {
            bcol *c = &b->col[k];
            double v;
            bool is_int;
            decimal dec;
            const char *q = c->text ? f : scan_decimal(f, end, &dec);
            /* a plain decimal up to the comma: parse_number's fast path, without the
             * separate search for the comma and the call per field */
            if (!c->text && (q == end || *q == ',') &&
                (decimal_value(&dec, &v, &is_int) || decimal_exact(&dec, &v, &is_int))) {
                int rc = add_number(c, v, is_int, &d[nd]);
                if (rc == 1 && ++nd < DEFERRED_MAX) {
                    rc = 0;
                } else if (rc == 1) {
                    rc = deferred_add(d, nd);
                    nd = 0;
                }
                if (rc != 0 || (c->keep && keep_push(c, v, line) != 0)) {
                    b->oom = true;
                    return -1;
                }
                fe = q;
            } else {
                fe = field_end(f, end);
                if (dm_builder_field(b, (size_t)k, f, (size_t)(fe - f), line) != 0)
                    return -1;
            }
        } else {
            fe = field_end(f, end);
        }
        field++;
        if (fe == end)
            break;
        f = fe + 1;
    }
    if (deferred_add(d, nd) != 0) {
        b->oom = true;
        return -1;
    }
    *nfields = field;
    return 0;
}

int dm_builder_number(dm_builder *b, size_t col, double v)
{
    if (col >= b->ncols)
        return -1;
    bcol *c = &b->col[col];
    if (c->keep && keep_push(c, v, c->nk + 1) != 0) {
        b->oom = true;
        return -1;
    }
    if (isnan(v)) {
        c->missing++;
        return 0;
    }
    /* an integral float8 keeps the column "integer" (the database loader feeds integer
     * columns through here); looked at only while the column is all integers so far */
    bool is_int = c->all_int && integral(v);
    if (c->text) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%.17g", v);
        if (intern(c, buf, (size_t)n) != 0) {
            b->oom = true;
            return -1;
        }
        return 0;
    }
    if (add_number(c, v, is_int, NULL) != 0) {
        b->oom = true;
        return -1;
    }
    return 0;
}

/* The loop of dm_builder_number over a block, the column's counters kept in registers: a
 * wide table read row by row would otherwise fetch every column's state for each value. */
int dm_builder_numbers(dm_builder *b, size_t col, const double *vals, size_t stride, size_t n)
{
    if (col >= b->ncols)
        return -1;
    bcol *c = &b->col[col];
    if (c->text) {
        for (size_t r = 0; r < n; r++)
            if (dm_builder_number(b, col, vals[r * stride]) != 0)
                return -1;
        return 0;
    }
    if (c->keep) { /* every row's value, before the table or the array takes it */
        if (keep_reserve(c, n) != 0) {
            b->oom = true;
            return -1;
        }
        for (size_t r = 0; r < n; r++) {
            c->kv[c->nk] = vals[r * stride];
            c->kl[c->nk] = c->nk + 1;
            c->nk++;
        }
    }
    if (!c->raw) {
        /* TABLE: value by value, until the block ends or the table turns raw */
        uint64_t missing = 0, nonfinite = 0;
        bool all_int = c->all_int, seen = c->seen_num;
        size_t r = 0;
        int rc = 0;
        for (; r < n && !c->raw; r++) {
            double v = vals[r * stride];
            if (isnan(v)) {
                missing++;
                continue;
            }
            seen = true;
            if (all_int && !integral(v))
                all_int = false;
            if (isinf(v)) {
                nonfinite++;
                continue;
            }
            if ((rc = table_add(c, v, 1, true)) != 0)
                break;
        }
        c->missing += missing;
        c->nonfinite += nonfinite;
        c->all_int = all_int;
        c->seen_num = seen;
        if (rc != 0) {
            b->oom = true;
            return -1;
        }
        vals += r * stride;
        n -= r;
        if (n == 0)
            return 0;
    }
    if (reserve_num(c, n) != 0) {
        b->oom = true;
        return -1;
    }
    double *out = c->v + c->nv;
    size_t k = 0;
    uint64_t missing = 0, nonfinite = 0;
    bool all_int = c->all_int, seen = c->seen_num;
    for (size_t r = 0; r < n; r++) {
        double v = vals[r * stride];
        if (isnan(v)) {
            missing++;
            continue;
        }
        seen = true;
        if (all_int && !integral(v))
            all_int = false;
        if (isinf(v)) {
            nonfinite++;
            continue;
        }
        out[k++] = v;
    }
    c->nv += k;
    c->missing += missing;
    c->nonfinite += nonfinite;
    c->all_int = all_int;
    c->seen_num = seen;
    return 0;
}

void dm_builder_expect(dm_builder *b, size_t rows)
{
    if (rows > SIZE_MAX / sizeof(double))
        return;
    for (size_t i = 0; i < b->ncols; i++)
        b->col[i].expect = rows; /* a table's bound, and its raw array's room when it turns */
    for (size_t i = 0; i < b->ncols; i++) {
        bcol *c = &b->col[i];
        if (!c->text && c->raw && !c->spill && c->capv < rows && set_capacity(c, rows) != 0)
            return; /* only a hint: the arrays grow as they fill */
    }
}

void dm_builder_null(dm_builder *b, size_t col)
{
    if (col >= b->ncols)
        return;
    bcol *c = &b->col[col];
    c->missing++;
    if (c->keep && keep_push(c, NAN, c->nk + 1) != 0)
        b->oom = true;
}

void dm_builder_end_row(dm_builder *b)
{
    b->rows++;
}

size_t dm_builder_flipped(const dm_builder *b, bool *flags)
{
    size_t n = 0;
    for (size_t i = 0; i < b->ncols; i++) {
        bool f = b->col[i].flipped;
        if (flags)
            flags[i] = f;
        n += f;
    }
    return n;
}

/* ---- spilling (issue 20) ------------------------------------------------------------- */

#define SPILL_BLOCK DM_SPILL_BLOCK_VALUES

/* Write the block column c holds so far to its spill file; then room for n values. */
static int spill_flush(bcol *c, size_t n)
{
    if (c->nv > 0 && dm_spill_write(c->spill, c->spill_group, c->idx, c->v, c->nv) != 0)
        return -1;
    c->spilled += c->nv;
    c->nv = 0;
    return n > c->capv ? set_capacity(c, n) : 0;
}

/* Column c, spilled from now on to group g of s: what it holds is written, its array
 * becomes one block. */
static int spill_start(bcol *c, dm_spill *s, size_t g)
{
    c->spill = s;
    c->spill_group = g;
    if (spill_flush(c, 0) != 0)
        return -1;
    if (c->capv != SPILL_BLOCK) {
        free(c->v);
        c->capv = 0;
        c->v = malloc(SPILL_BLOCK * sizeof *c->v);
        if (!c->v)
            return -1;
        c->capv = SPILL_BLOCK;
    }
    return 0;
}

int dm_builder_spill(dm_builder *b, size_t col, dm_spill *s, size_t group)
{
    if (col >= b->ncols || b->oom)
        return -1;
    bcol *c = &b->col[col];
    /* only a raw column of numbers is spilled: text stays, and a column held as (value,
     * count) pairs stays in memory (it is small) until it turns raw, if it does */
    if (c->text || c->classify || c->done || c->spill)
        return 0;
    if (!c->raw) {
        c->spill_to = s;
        c->spill_to_group = group;
        return 0;
    }
    if (spill_start(c, s, group) != 0) {
        b->oom = true;
        return -1;
    }
    return 1;
}

/* What malloc takes for a string of len bytes (its NUL and the chunk header, 16-aligned). */
static uint64_t string_chunk(size_t len)
{
    uint64_t n = ((uint64_t)len + 1 + 8 + 15) & ~(uint64_t)15;
    return n < 32 ? 32 : n;
}

uint64_t dm_builder_text_bytes(const dm_builder *b, size_t col, uint64_t rows)
{
    if (col >= b->ncols)
        return 0;
    const bcol *c = &b->col[col];
    if (!c->text || c->nused == 0 || c->ntext == 0)
        return 0;
    uint64_t once = 0, str = 0;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slot[i].s) {
            once += c->slot[i].count == 1;
            str += string_chunk(c->slot[i].len);
        }
    /* the values still to come, at this column's rate of text values per row; a new distinct
     * string among them at the rate of the strings seen once so far (Good-Turing) */
    double more = b->rows > 0 && rows > b->rows
                      ? (double)c->ntext * ((double)rows / (double)b->rows - 1.0)
                      : 0.0;
    double d = (double)c->nused + more * (double)once / (double)c->ntext;
    /* the table at a load of at most 3/4, the old one beside it while it doubles, and per
     * string its bytes as the strings so far average them and its category and count once
     * finished */
    double slots = 64;
    while (slots * 3 < d * 4)
        slots *= 2;
    double bytes = slots * 1.5 * sizeof(str_slot) + d * ((double)str / (double)c->nused + 16);
    return bytes >= 1.8e19 ? UINT64_MAX : (uint64_t)bytes;
}

bool dm_builder_is_raw(const dm_builder *b, size_t col)
{
    if (col >= b->ncols)
        return false;
    const bcol *c = &b->col[col];
    return !c->text && c->raw && !c->classify && !c->done;
}

bool dm_builder_is_spilled(const dm_builder *b, size_t col)
{
    return col < b->ncols && b->col[col].spill != NULL;
}

/* The merge of two numeric columns one of which is spilled: the result is spilled, its
 * values in the spill files of both (each block tagged with the column). */
static int merge_spilled(bcol *dst, bcol *src)
{
    if (!dst->spill && spill_start(dst, src->spill, src->spill_group) != 0)
        return -1;
    if (src->nv > 0 && dm_spill_write(dst->spill, dst->spill_group, dst->idx, src->v, src->nv) != 0)
        return -1;
    dst->spilled += src->spilled + src->nv;
    free(src->v);
    src->v = NULL;
    src->nv = src->capv = 0;
    src->spilled = 0;
    src->spill = NULL;
    return 0;
}

static double *unspill_dest(void *ctx, uint32_t col, size_t n)
{
    dm_builder *b = ctx;
    if (col >= b->ncols)
        return NULL;
    bcol *c = &b->col[col];
    if (!c->restoring || c->capv - c->nv < n)
        return NULL;
    double *to = c->v + c->nv;
    c->nv += n;
    return to;
}

int dm_builder_unspill(dm_builder *b, const size_t *cols, size_t n, dm_spill *const *spills,
                       size_t nspills)
{
    if (b->oom)
        return -1;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (cols[k] >= b->ncols)
            continue;
        bcol *c = &b->col[cols[k]];
        if (!c->spill || c->text)
            continue;
        size_t want = (size_t)(c->nv + c->spilled);
        rc = set_capacity(c, want ? want : 1);
        c->restoring = rc == 0;
    }
    /* every group some of the columns are in, each read once from every spill file */
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (cols[k] >= b->ncols || !b->col[cols[k]].restoring)
            continue;
        size_t g = b->col[cols[k]].spill_group;
        bool seen = false;
        for (size_t e = 0; e < k && !seen; e++)
            seen =
                cols[e] < b->ncols && b->col[cols[e]].restoring && b->col[cols[e]].spill_group == g;
        for (size_t f = 0; f < nspills && !seen && rc == 0; f++)
            if (spills[f])
                rc = dm_spill_read(spills[f], g, unspill_dest, b);
    }
    for (size_t k = 0; k < n; k++) {
        if (cols[k] >= b->ncols)
            continue;
        bcol *c = &b->col[cols[k]];
        if (!c->restoring)
            continue;
        if (rc == 0 && c->nv != c->capv && !(c->nv == 0 && c->capv == 1))
            rc = -1; /* a block missing: cannot be, the files are this process's own */
        c->restoring = false;
        c->spill = NULL;
        c->spilled = 0;
    }
    if (rc != 0)
        b->oom = true;
    return rc;
}

/* The numbers of column src into dst, both numeric (TABLE, RAW, RAW spilled); src's are
 * given back as they go, not after the last column: the two halves of a file are otherwise
 * held together, 1.5 times the values at the peak.  The result is spilled when either side
 * was, or when it is raw and either side had a spill target (spill_to). */
static int merge_numbers(bcol *dst, bcol *src)
{
    dm_spill *to = dst->spill_to ? dst->spill_to : src->spill_to;
    size_t to_g = dst->spill_to ? dst->spill_to_group : src->spill_to_group;
    if (!dst->raw) {
        dst->spill_to = to; /* a table turning raw in the merge spills from then on */
        dst->spill_to_group = to_g;
    }
    int rc = 0;
    if (!src->raw) { /* src TABLE: its pairs into dst, a table (which may turn raw) or raw */
        for (size_t i = 0; i < src->tslots && rc == 0; i++) {
            const num_slot *t = &src->tab[i];
            if (t->count)
                rc = num_add_n(dst, double_of_bits(t->key), t->count);
        }
        drop_numbers(src);
    } else if (!dst->raw) {
        /* dst TABLE, src RAW: dst turns raw.  src's array (or block and spill) is the bigger:
         * it becomes dst's (no copy of src's values) and dst's pairs are added to it. */
        num_slot *tab = dst->tab;
        size_t tslots = dst->tslots;
        uint64_t tn = dst->tn;
        dst->tab = NULL;
        dst->tslots = dst->tused = 0;
        dst->tlg = 0;
        dst->tn = 0;
        free(dst->v);
        dst->v = src->v;
        dst->nv = src->nv;
        dst->capv = src->capv;
        dst->spill = src->spill;
        dst->spill_group = src->spill_group;
        dst->spilled = src->spilled;
        dst->raw = true;
        src->v = NULL;
        src->nv = src->capv = 0;
        src->spill = NULL;
        src->spilled = 0;
        size_t need = dst->nv + (size_t)tn;
        if (!dst->spill && (need > dst->capv || !dst->v)) /* the room at once, not doubled */
            rc = set_capacity(dst, need > 16 ? need : 16);
        for (size_t i = 0; i < tslots && rc == 0; i++)
            if (tab[i].count)
                rc = raw_add_n(dst, double_of_bits(tab[i].key), tab[i].count);
        free(tab);
    } else if (dst->spill || src->spill) {
        rc = merge_spilled(dst, src);
    } else if (src->nv > 0) {
        if (dst->nv + src->nv > dst->capv) {
            size_t cap = dst->nv + src->nv;
            double *p = array_realloc(dst->v, dst->nv * sizeof *p, cap * sizeof *p);
            if (!p)
                return -1;
            dst->v = p;
            dst->capv = cap;
        }
        memcpy(dst->v + dst->nv, src->v, src->nv * sizeof *src->v);
        dst->nv += src->nv;
        free(src->v);
        src->v = NULL;
        src->nv = src->capv = 0;
    }
    if (rc == 0 && dst->raw) {
        dst->spill_to = NULL;
        if (!dst->spill && to)
            rc = spill_start(dst, to, to_g);
    }
    return rc;
}

/* Column src (of another builder over the same columns) into dst. */
static int merge_column(bcol *dst, bcol *src, uint64_t line_offset)
{
    dst->missing += src->missing;
    dst->nonfinite += src->nonfinite;
    dst->expect += src->expect; /* the rows of both: the merged table's bound */
    dst->all_int = dst->all_int && src->all_int;
    if (!dst->first_text && src->first_text) {
        dst->first_text = src->first_text;
        dst->first_text_line = src->first_text_line + line_offset;
        src->first_text = NULL;
    }
    dst->flipped = dst->flipped || src->flipped;
    if (!dst->text && !src->text) {
        dst->seen_num = dst->seen_num || src->seen_num;
        return merge_numbers(dst, src);
    }
    /* at least one side holds text: numbers on the other side were read as doubles and
     * must be read again as text (the loader's second pass), unless there were none */
    bool dst_nums = !dst->text && dst->seen_num, src_nums = !src->text && src->seen_num;
    dst->seen_num = dst->seen_num || src->seen_num;
    if (dst_nums || src_nums)
        dst->flipped = true;
    if (!dst->text) {
        drop_numbers(dst);
        dst->text = true;
    }
    for (size_t i = 0; src->text && i < src->nslots; i++) {
        str_slot *o = &src->slot[i];
        if (!o->s)
            continue;
        if (intern_n(dst, o->s, o->len, o->hash, o->count, o->s) != 0)
            return -1;
        o->s = NULL; /* taken over (or freed) by intern_n */
    }
    return 0;
}

/* src's kept rows after dst's, their lines moved by line_offset. */
static int merge_kept(bcol *dst, const bcol *src, uint64_t line_offset)
{
    if (!dst->keep || src->nk == 0)
        return 0;
    if (keep_reserve(dst, src->nk) != 0)
        return -1;
    memcpy(dst->kv + dst->nk, src->kv, src->nk * sizeof *src->kv);
    for (size_t r = 0; r < src->nk; r++)
        dst->kl[dst->nk + r] = src->kl[r] + line_offset;
    dst->nk += src->nk;
    return 0;
}

int dm_builder_merge(dm_builder *dst, dm_builder *src, uint64_t line_offset)
{
    if (dst->ncols != src->ncols || dst->oom || src->oom) {
        dst->oom = true;
        return -1;
    }
    for (size_t i = 0; i < dst->ncols; i++)
        if (merge_column(&dst->col[i], &src->col[i], line_offset) != 0 ||
            merge_kept(&dst->col[i], &src->col[i], line_offset) != 0) {
            dst->oom = true;
            return -1;
        }
    dst->rows += src->rows;
    for (size_t i = 0; i < src->ncols; i++) {
        bcol_free(&src->col[i]);
        src->col[i].all_int = true;
        src->col[i].raw = src->raw_numbers;
        src->col[i].idx = (uint32_t)i;
    }
    src->rows = 0;
    return 0;
}

static int cmp_slot(const void *a, const void *b)
{
    const str_slot *x = a, *y = b;
    return strcmp(x->s, y->s);
}

/* Scratch memory of one finishing thread, reused from column to column (fresh memory for
 * every column would be paid in page faults). */
typedef struct {
    double *tmp;
    uint64_t *cnt;
    size_t cap;
} scratch;

static int scratch_reserve(scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    double *t = array_realloc(s->tmp, 0, n * sizeof *t); /* scratch: nothing to keep */
    if (t)
        s->tmp = t;
    uint64_t *c = array_realloc(s->cnt, 0, n * sizeof *c);
    if (c)
        s->cnt = c;
    if (!t || !c)
        return -1;
    s->cap = n;
    return 0;
}

/* A classified text column whose every value is a number (first_text NULL): its values
 * become the numbers they spell, as if each had been fed to the numeric path (the
 * infinities counted in nonfinite, all_int from the literals).  -1 when out of memory. */
static int classified_to_numbers(bcol *c)
{
    /* RAW (dm_builder_raw_numbers): every value as a double, as before tables */
    size_t total = 0;
    for (size_t i = 0; c->raw && i < c->nslots; i++)
        if (c->slot[i].s)
            total += (size_t)c->slot[i].count;
    if (c->raw) {
        free(c->v);
        c->v = malloc((total ? total : 1) * sizeof *c->v);
        if (!c->v)
            return -1;
        c->nv = 0;
        c->capv = total ? total : 1;
    }
    for (size_t i = 0; i < c->nslots; i++) {
        str_slot *t = &c->slot[i];
        if (!t->s)
            continue;
        double x;
        bool is_int;
        if (!parse_number(t->s, t->len, &x, &is_int)) /* cannot be: first_text is NULL */
            return -1;
        c->seen_num = true;
        if (!is_int)
            c->all_int = false;
        if (isinf(x))
            c->nonfinite += t->count;
        else if (c->raw)
            for (uint64_t r = 0; r < t->count; r++)
                c->v[c->nv++] = x;
        else if (table_add(c, x, t->count, false) != 0) /* strings that spell one number
                                                         * ("1", "1.0") are one pair */
            return -1;
        free(t->s);
        t->s = NULL;
    }
    c->nused = 0;
    c->ntext = 0;
    c->text = false;
    return 0;
}

/* The count of the number v in column c's table (0 when absent). */
static uint64_t table_count(const bcol *c, double v)
{
    uint64_t k = bits_of(v);
    size_t m = c->tslots - 1, j = num_hash(k, c->tlg);
    while (c->tab[j].count) {
        if (c->tab[j].key == k)
            return c->tab[j].count;
        j = (j + 1) & m;
    }
    return 0;
}

/*
 * A TABLE column's numbers into o (storage, is_int set by the caller), exactly what
 * stats_sort_doubles and stats_compress_sorted make of the same values expanded: the
 * distinct keys sorted by the same sort (the expanded array is each key repeated, in that
 * order), then the runs that compare equal merged as the compression merges them (among
 * distinct finite keys only -0.0 and +0.0 do, and they sort next to each other), a zero
 * stored as +0.0, the counts summed.
 */
static int finish_table(bcol *c, dm_column *o, scratch *sc)
{
    size_t k = c->tused;
    if (k == 0) {
        o->value = malloc(sizeof *o->value);
        if (!o->value)
            return -1;
        o->count_shared = true;
        o->n_distinct = 0;
        o->n = 0;
        return 0;
    }
    if (scratch_reserve(sc, k) != 0)
        return -1;
    double *v = malloc(k * sizeof *v);
    if (!v)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < c->tslots; i++)
        if (c->tab[i].count)
            v[j++] = double_of_bits(c->tab[i].key);
    stats_sort_doubles(v, k, sc->tmp);
    size_t m = 0;
    for (size_t i = 0; i < k;) {
        double x = v[i];
        uint64_t n = table_count(c, x);
        size_t e = i + 1;
        while (e < k && v[e] == x)
            n += table_count(c, v[e++]);
        v[m] = x == 0. ? 0. : x;
        sc->cnt[m] = n;
        m++;
        i = e;
    }
    if (m == c->tn) {
        o->count_shared = true; /* every count is 1 */
    } else {
        o->count = malloc(m * sizeof *o->count);
        if (!o->count) {
            free(v);
            return -1;
        }
        memcpy(o->count, sc->cnt, m * sizeof *o->count);
    }
    double *shrunk = m < k ? realloc(v, m * sizeof *shrunk) : v;
    o->value = shrunk ? shrunk : v;
    o->n_distinct = m;
    o->n = c->tn;
    free(c->tab);
    c->tab = NULL;
    c->tslots = c->tused = 0;
    c->tn = 0;
    return 0;
}

/* What the finish of column c will give that is known before it (dm_builder_finish_begin):
 * name, counts, storage (a classified column is text until it is finished). */
static void column_meta(bcol *c, dm_column *o)
{
    o->name = c->name;
    c->name = NULL;
    o->missing = c->missing;
    o->nonfinite = c->nonfinite;
    o->first_text = c->first_text;
    o->first_text_line = c->first_text_line;
    c->first_text = NULL;
    o->storage = c->text ? DM_STORE_STR : DM_STORE_NUM;
    o->is_int = !c->text && c->seen_num && c->all_int && c->missing == 0 && c->nonfinite == 0;
    o->n = c->text ? c->ntext : c->raw ? c->nv + c->spilled : c->tn;
}

/* Move builder column c's values into out column o (column_meta done).  A numeric column
 * whose values are all distinct gets count_shared set and count NULL: the finish points it
 * at the dataset's ones. */
static int finish_column(bcol *c, dm_column *o, scratch *sc)
{
    if (c->classify && c->text && !o->first_text) {
        if (classified_to_numbers(c) != 0)
            return -1;
        o->nonfinite = c->nonfinite;
    }
    if (!c->text) {
        o->storage = DM_STORE_NUM;
        o->is_int = c->seen_num && c->all_int && c->missing == 0 && c->nonfinite == 0;
        if (!c->raw)
            return finish_table(c, o, sc);
        size_t n = c->nv;
        if (n == 0 || !c->v) {
            o->value = malloc(sizeof *o->value);
            if (!o->value)
                return -1;
            o->count_shared = true;
            o->n_distinct = 0;
            o->n = 0;
            return 0;
        }
        if (scratch_reserve(sc, n) != 0)
            return -1;
        double *v = c->v;
        stats_sort_doubles(v, n, sc->tmp);
        size_t k = stats_compress_sorted(v, n, v, sc->cnt);
        if (k == n) {
            o->count_shared = true; /* every count is 1 */
        } else {
            o->count = malloc(k * sizeof *o->count);
            if (!o->count)
                return -1;
            memcpy(o->count, sc->cnt, k * sizeof *o->count);
        }
        /* the array's spare room (doubling, the loader's row estimate) goes back */
        double *shrunk = k < c->capv ? realloc(v, k * sizeof *shrunk) : v;
        o->value = shrunk ? shrunk : v;
        c->v = NULL;
        c->nv = c->capv = 0;
        o->n_distinct = k;
        o->n = n;
        return 0;
    }
    o->storage = DM_STORE_STR;
    o->is_int = false;
    size_t k = 0;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slot[i].s)
            c->slot[k++] = c->slot[i];
    for (size_t i = k; i < c->nslots; i++)
        c->slot[i].s = NULL;
    if (k > 1)
        qsort(c->slot, k, sizeof *c->slot, cmp_slot);
    o->cat = malloc((k ? k : 1) * sizeof *o->cat);
    o->cat_count = malloc((k ? k : 1) * sizeof *o->cat_count);
    if (!o->cat || !o->cat_count)
        return -1;
    for (size_t i = 0; i < k; i++) {
        o->cat[i] = c->slot[i].s;
        o->cat_count[i] = c->slot[i].count;
        c->slot[i].s = NULL;
    }
    o->n_cats = k;
    o->n = c->ntext;
    return 0;
}

/* Columns are finished by up to two threads taking the next column from a counter: sorting
 * is a good share of a big read, and the machine has two cores. */
typedef struct {
    dm_builder *b;
    dm_column *out;
    const size_t *cols;
    size_t ncols;
    atomic_size_t next;
    atomic_int failed;
} finish_job;

static void finish_some(finish_job *j)
{
    scratch sc = {NULL, NULL, 0};
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->ncols)
            break;
        size_t i = j->cols[k];
        if (finish_column(&j->b->col[i], &j->out[i], &sc) != 0)
            atomic_store(&j->failed, 1);
    }
    free(sc.tmp);
    free(sc.cnt);
}

static void *finish_thread(void *arg)
{
    finish_some(arg);
    return NULL;
}

/* The kept rows of b's columns into out->kept (moved).  -1 when out of memory, or when a
 * column was not fed once per row (a loader's fault: the rows would not line up). */
static int take_kept(dm_builder *b, dm_dataset *out)
{
    size_t n = 0;
    for (size_t i = 0; i < b->ncols; i++)
        n += b->col[i].keep;
    if (n == 0)
        return 0;
    out->kept = calloc(n, sizeof *out->kept);
    if (!out->kept)
        return -1;
    for (size_t i = 0; i < b->ncols; i++) {
        bcol *c = &b->col[i];
        if (!c->keep)
            continue;
        if (c->nk != b->rows)
            return -1;
        dm_rows *k = &out->kept[out->nkept];
        if (!(k->name = dup_n(c->name, strlen(c->name))))
            return -1;
        out->nkept++;
        k->value = c->kv;
        k->line = c->kl;
        k->n = c->nk;
        c->kv = NULL;
        c->kl = NULL;
        c->nk = c->capk = 0;
    }
    return 0;
}

int dm_builder_finish_begin(dm_builder *b, const char *source, dm_dataset *out)
{
    dm_dataset_init(out);
    if (b->oom)
        return -1;
    out->source = dup_n(source ? source : "", source ? strlen(source) : 0);
    out->col = calloc(b->ncols ? b->ncols : 1, sizeof *out->col);
    if (!out->source || !out->col) {
        dm_dataset_release(out);
        return -1;
    }
    out->ncols = b->ncols;
    out->rows = b->rows;
    if (take_kept(b, out) != 0) { /* before column_meta moves the names */
        dm_dataset_release(out);
        return -1;
    }
    for (size_t i = 0; i < b->ncols; i++)
        column_meta(&b->col[i], &out->col[i]);
    return 0;
}

int dm_builder_finish_columns(dm_builder *b, const size_t *cols, size_t n, dm_dataset *out)
{
    if (b->oom || b->ncols != out->ncols)
        return -1;
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    if (!todo)
        return -1;
    size_t ntodo = 0, total = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = cols[k];
        if (i >= b->ncols || b->col[i].done)
            continue;
        if (b->col[i].spill) { /* its values are not back (dm_builder_unspill) */
            free(todo);
            return -1;
        }
        b->col[i].done = true; /* listed twice: finished once */
        todo[ntodo++] = i;
        total += b->col[i].nv + b->col[i].tused;
    }
    finish_job job;
    job.b = b;
    job.out = out->col;
    job.cols = todo;
    job.ncols = ntodo;
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    pthread_t t;
    bool helper = total >= ((size_t)1 << 20) && ntodo > 1 &&
                  pthread_create(&t, NULL, finish_thread, &job) == 0;
    finish_some(&job);
    if (helper)
        pthread_join(t, NULL);
    for (size_t k = 0; k < ntodo; k++) {
        bcol_free(&b->col[todo[k]]);
        b->col[todo[k]].done = true;
    }
    free(todo);
    if (atomic_load(&job.failed))
        return -1;
    /* one array of ones for the counts of every column whose values are all distinct,
     * grown (and every column pointing at it pointed again) when a group needs more */
    size_t nones = 0;
    for (size_t i = 0; i < out->ncols; i++)
        if (out->col[i].count_shared && out->col[i].n_distinct > nones)
            nones = out->col[i].n_distinct;
    if (!out->ones || nones > out->n_ones) {
        uint64_t *ones = malloc((nones ? nones : 1) * sizeof *ones);
        if (!ones)
            return -1;
        for (size_t i = 0; i < (nones ? nones : 1); i++)
            ones[i] = 1;
        for (size_t i = 0; i < out->ncols; i++)
            if (out->col[i].count_shared && out->col[i].count == out->ones &&
                out->col[i].count != NULL)
                out->col[i].count = ones;
        free(out->ones);
        out->ones = ones;
        out->n_ones = nones;
    }
    for (size_t k = 0; k < n; k++)
        if (cols[k] < out->ncols && out->col[cols[k]].count_shared)
            out->col[cols[k]].count = out->ones;
    return 0;
}

int dm_builder_finish(dm_builder *b, const char *source, dm_dataset *out)
{
    if (dm_builder_finish_begin(b, source, out) != 0)
        return -1;
    size_t *all = malloc((b->ncols ? b->ncols : 1) * sizeof *all);
    int rc = all ? 0 : -1;
    for (size_t i = 0; all && i < b->ncols; i++)
        all[i] = i;
    if (rc == 0)
        rc = dm_builder_finish_columns(b, all, b->ncols, out);
    free(all);
    for (size_t i = 0; i < b->ncols; i++)
        bcol_free(&b->col[i]);
    b->rows = 0;
    if (rc != 0) {
        dm_dataset_release(out);
        return -1;
    }
    return 0;
}

/*
 * unitcodec.c - a group's results as a work unit's bytes, and back (compare.h:
 * dm_compare_group_save, dm_compare_group_load).
 *
 * Layout (every integer little-endian, a double as its 64 bits, a string as a u64 length and
 * its bytes, no NUL inside):
 *   "DMCU" u32 version, u64 total length,
 *   32-byte digests of the configuration, the reference and the pairing,
 *   u64 ncols, ncols x u64 current column,
 *   u64 nentries, per entry: u64 pair, u8 tag (skipped / not tested / tested) and its fields,
 *   u8 score block present (and the block), u8 outcomes block present (and the block),
 *   SHA-256 of everything before it.
 * A load reads the whole unit into its own allocations and checks it before it touches the
 * comparison: any error leaves the comparison as it was.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/compare.h"
#include "monitor/compare_internal.h"
#include "monitor/sha256.h"

#define UNIT_MAGIC "DMCU"
#define UNIT_VERSION 1u
#define DIGEST 32
#define HEAD (4 + 4 + 8 + 3 * DIGEST)

enum { TAG_SKIPPED = 0, TAG_UNTESTED = 1, TAG_TESTED = 2 };

/* ---- writing ------------------------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 8);
}

static void put_u8(wbuf *b, unsigned v)
{
    unsigned char x = (unsigned char)v;
    put(b, &x, 1);
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static void put_f64(wbuf *b, double d)
{
    put_u64(b, bits_of(d));
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    put_u64(b, n);
    put(b, s, n);
}

/* A string that may be NULL: u8 present, then the string. */
static void put_opt(wbuf *b, const char *s)
{
    put_u8(b, s != NULL);
    if (s)
        put_str(b, s);
}

static void put_side(wbuf *b, const stats_side *s)
{
    put_u64(b, s->rows);
    put_u64(b, s->missing);
    put_u64(b, s->nonfinite);
}

static void put_num(wbuf *b, const stats_num *s)
{
    put_u64(b, s->n_distinct);
    put_u64(b, s->n);
    put_u8(b, s->is_int);
    put_u8(b, s->has_moments);
    put_f64(b, s->mean);
    put_f64(b, s->std);
}

static void put_perf(wbuf *b, const stats_perf *p)
{
    const uint64_t u[] = {p->rows, p->left_out, p->tp, p->fp, p->tn, p->fn};
    const double d[] = {p->auc,
                        p->recall,
                        p->precision,
                        p->business_cost,
                        p->optimal_threshold,
                        p->business_cost_at_optimal};
    for (size_t i = 0; i < 6; i++)
        put_u64(b, u[i]);
    for (size_t i = 0; i < 6; i++)
        put_f64(b, d[i]);
}

/* ---- the digests -------------------------------------------------------------------- */

static void h_u64(dm_sha256 *h, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    dm_sha256_update(h, x, 8);
}

static void h_str(dm_sha256 *h, const char *s)
{
    if (!s) {
        h_u64(h, UINT64_MAX);
        return;
    }
    size_t n = strlen(s);
    h_u64(h, n);
    dm_sha256_update(h, s, n);
}

static void h_list(dm_sha256 *h, char *const *names, size_t n)
{
    h_u64(h, n);
    for (size_t i = 0; i < n; i++)
        h_str(h, names[i]);
}

static uint64_t col_index(const dm_dataset *ds, const dm_column *c)
{
    return c ? (uint64_t)(c - ds->col) : UINT64_MAX;
}

/* The three digests a unit is made under: d[0] the configuration (the effective drift
 * options, which hold the tests, thresholds, score, label and costs; the column lists;
 * the plots), d[1] the reference, d[2] the pairing.  0, or -1 (out of memory). */
static int digests(const struct dm_compare_work *w, unsigned char d[3][DIGEST])
{
    dm_sha256 *h = dm_sha256_alloc();
    char *drift = dm_config_drift_json(w->cfg);
    if (!h || !drift) {
        free(drift);
        if (h)
            dm_sha256_final_raw(h, d[0]);
        return -1;
    }
    h_str(h, "driftmon work unit: configuration");
    h_str(h, drift);
    free(drift);
    h_list(h, w->cfg->numeric, w->cfg->n_numeric);
    h_list(h, w->cfg->categorical, w->cfg->n_categorical);
    h_list(h, w->cfg->exclude, w->cfg->n_exclude);
    h_u64(h, w->plots);
    if (dm_sha256_final_raw(h, d[0]) != 0)
        return -1;

    const dm_dataset *ref = w->ref, *cur = w->cur;
    if (!(h = dm_sha256_alloc()))
        return -1;
    h_str(h, "driftmon work unit: reference");
    h_str(h, ref->sha256);
    h_u64(h, ref->rows);
    h_u64(h, ref->ncols);
    for (size_t i = 0; i < ref->ncols; i++) {
        const dm_column *c = &ref->col[i];
        h_str(h, c->name);
        h_u64(h, (uint64_t)c->storage);
        h_u64(h, c->n);
        h_u64(h, c->missing);
        h_u64(h, c->nonfinite);
    }
    if (dm_sha256_final_raw(h, d[1]) != 0)
        return -1;

    const dm_reconciled *p = w->pairs;
    if (!(h = dm_sha256_alloc()))
        return -1;
    h_str(h, "driftmon work unit: pairing");
    h_u64(h, cur->rows);
    h_u64(h, cur->ncols);
    for (size_t i = 0; i < cur->ncols; i++)
        h_str(h, cur->col[i].name);
    h_u64(h, p->npairs);
    for (size_t i = 0; i < p->npairs; i++) {
        h_str(h, p->pair[i].name);
        h_u64(h, col_index(ref, p->pair[i].ref));
        h_u64(h, col_index(cur, p->pair[i].cur));
    }
    h_u64(h, col_index(ref, p->score_ref));
    h_u64(h, col_index(cur, p->score_cur));
    return dm_sha256_final_raw(h, d[2]) == 0 ? 0 : -1;
}

/* Per current column: one of cols[0..n).  NULL when out of memory. */
static bool *membership(const dm_dataset *cur, const size_t *cols, size_t n)
{
    bool *in = calloc(cur->ncols + 1, sizeof *in);
    if (in)
        for (size_t k = 0; k < n; k++)
            if (cols[k] < cur->ncols)
                in[cols[k]] = true;
    return in;
}

/* The pair's current column is one of the unit's. */
static bool in_unit(const dm_dataset *cur, const dm_pair *p, const bool *in)
{
    return p->cur && in[p->cur - cur->col];
}

/* The label column (model.label_column) is one of the unit's: it carries the outcomes. */
static bool holds_label(const struct dm_compare_work *w, const dm_comparison *c, const bool *in)
{
    if (!c->has_perf || !w->cfg->label_column)
        return false;
    long j = dm_dataset_find(w->cur, w->cfg->label_column);
    return j >= 0 && in[j];
}

static bool holds_score(const struct dm_compare_work *w, const bool *in)
{
    const dm_reconciled *p = w->pairs;
    return p->score_ref && p->score_cur && in[p->score_cur - w->cur->col];
}

/* ---- saving ------------------------------------------------------------------------- */

static void put_tested(wbuf *b, const dm_comparison *c, size_t i)
{
    const stats_column_result *r = &c->cols[i];
    const stats_column *sc = &c->data[i];
    put_opt(b, r->note);
    put_u8(b, (unsigned)r->kind);
    put_u8(b, (unsigned)r->test);
    put_f64(b, r->threshold);
    put_f64(b, r->score);
    put_u8(b, r->drifted);
    put_side(b, &r->ref);
    put_side(b, &r->cur);
    put_u64(b, r->unseen_categories);
    put_f64(b, r->unseen_share);
    put_u8(b, r->data != NULL);
    put_u8(b, (unsigned)sc->kind);
    put_u8(b, sc->is_numeric_data);
    put_num(b, &sc->ref_num);
    put_num(b, &sc->cur_num);
    put_u64(b, sc->cat_first);
    put_u64(b, sc->ref_cat.n);
    put_u64(b, sc->cur_cat.n);
    size_t k = sc->ref_cat.n_categories;
    put_u8(b, c->aligned[i] != NULL);
    if (c->aligned[i]) {
        put_u64(b, k);
        for (size_t j = 0; j < k; j++)
            put_str(b, c->labels[i][j]);
        for (size_t j = 0; j < 2 * k; j++)
            put_u64(b, c->aligned[i][j]);
    }
    put_opt(b, c->plots[i]);
}

int dm_compare_group_save(const dm_comparison *c, const size_t *cols, size_t ncols,
                          unsigned char **out, size_t *len, char *err, size_t errlen)
{
    const struct dm_compare_work *w = c->work;
    if (!w) {
        snprintf(err, errlen, "cannot save a work unit of a finished comparison");
        return -1;
    }
    const dm_dataset *cur = w->cur;
    const dm_reconciled *pairs = w->pairs;
    for (size_t k = 0; k < ncols; k++) {
        if (cols[k] >= cur->ncols) {
            snprintf(err, errlen,
                     "cannot save a work unit: column %zu of %s is out of range (%zu "
                     "columns)",
                     cols[k], cur->source, cur->ncols);
            return -1;
        }
    }
    wbuf b = {NULL, 0, 0, false};
    unsigned char d[3][DIGEST];
    bool *in = membership(cur, cols, ncols);
    if (!in || digests(w, d) != 0)
        goto oom;
    /* every pair of the unit's columns compared (or skipped) before anything is written */
    size_t nentries = 0;
    for (size_t i = 0; i < pairs->npairs; i++) {
        const dm_pair *p = &pairs->pair[i];
        if (!in_unit(cur, p, in))
            continue;
        nentries++;
        if (p->kind != DM_PAIR_SKIP && w->state[i] == PAIR_PENDING) {
            char name[DM_SHOWN_LEN];
            dm_show_value(p->name, strlen(p->name), name, sizeof name);
            snprintf(err, errlen,
                     "cannot save a work unit: column \"%s\" of %s was not compared (no group "
                     "held it)",
                     name, cur->source);
            free(in);
            return -1;
        }
    }
    bool score = holds_score(w, in);
    if (score && !w->score_done) {
        snprintf(err, errlen,
                 "cannot save a work unit: the score column of %s was not compared (no group "
                 "held it)",
                 cur->source);
        free(in);
        return -1;
    }
    put(&b, UNIT_MAGIC, 4);
    unsigned char v[4] = {UNIT_VERSION & 0xff, (UNIT_VERSION >> 8) & 0xff, 0, 0};
    put(&b, v, 4);
    put_u64(&b, 0); /* the total length, set below */
    put(&b, d, sizeof d);
    put_u64(&b, ncols);
    for (size_t k = 0; k < ncols; k++)
        put_u64(&b, cols[k]);
    put_u64(&b, nentries);
    for (size_t i = 0; i < pairs->npairs; i++) {
        const dm_pair *p = &pairs->pair[i];
        if (!in_unit(cur, p, in))
            continue;
        put_u64(&b, i);
        if (p->kind == DM_PAIR_SKIP) {
            put_u8(&b, TAG_SKIPPED);
            put_str(&b, p->reason ? p->reason : "");
        } else if (w->state[i] == PAIR_UNTESTED) {
            put_u8(&b, TAG_UNTESTED);
            put_str(&b, w->why[i] ? w->why[i] : "");
        } else {
            put_u8(&b, TAG_TESTED);
            put_tested(&b, c, i);
        }
    }
    put_u8(&b, score);
    if (score) {
        unsigned note = c->score_note == NULL                   ? 0
                        : c->score_note == dm_score_note_no_ref ? 1
                        : c->score_note == dm_score_note_no_cur ? 2
                                                                : 3;
        put_f64(&b, c->decision_threshold);
        put_side(&b, &c->score_ref);
        put_side(&b, &c->score_cur);
        put_u8(&b, note);
        put_u8(&b, c->has_score_drift);
        const stats_score_drift *s = &c->score;
        for (size_t k = 0; k < STATS_SCORE_NEDGES; k++)
            put_f64(&b, s->edges[k]);
        for (size_t k = 0; k < STATS_SCORE_NBINS; k++)
            put_u64(&b, s->ref_count[k]);
        for (size_t k = 0; k < STATS_SCORE_NBINS; k++)
            put_u64(&b, s->cur_count[k]);
        put_u64(&b, s->ref_n);
        put_u64(&b, s->cur_n);
        put_f64(&b, s->psi);
        put_u8(&b, (unsigned)s->band);
        put_f64(&b, s->ref_approval);
        put_f64(&b, s->cur_approval);
    }
    bool perf = holds_label(w, c, in);
    put_u8(&b, perf);
    if (perf) {
        put_u8(&b, c->perf_ref_ok);
        put_u8(&b, c->perf_cur_ok);
        put_perf(&b, &c->perf_ref);
        put_perf(&b, &c->perf_cur);
        put_opt(&b, c->perf_ref_note);
        put_opt(&b, c->perf_cur_note);
    }
    free(in);
    in = NULL;
    if (b.oom)
        goto oom;
    uint64_t total = b.len + DIGEST;
    for (int i = 0; i < 8; i++)
        b.p[8 + i] = (unsigned char)(total >> (8 * i));
    dm_sha256 *h = dm_sha256_alloc();
    if (!h)
        goto oom;
    dm_sha256_update(h, b.p, b.len);
    unsigned char sum[DIGEST];
    if (dm_sha256_final_raw(h, sum) != 0)
        goto oom;
    put(&b, sum, DIGEST);
    if (b.oom)
        goto oom;
    *out = b.p;
    *len = b.len;
    return 0;
oom:
    free(in);
    free(b.p);
    snprintf(err, errlen, "out of memory while saving a work unit of %s", cur->source);
    return -1;
}

/* ---- loading ------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *p;
    size_t len, at;
    const char *what; /* what was being read when the bytes ran out */
    bool bad;
} rbuf;

static bool get(rbuf *r, void *dst, size_t n, const char *what)
{
    if (r->bad)
        return false;
    if (n > r->len - r->at) {
        r->what = what;
        r->bad = true;
        return false;
    }
    memcpy(dst, r->p + r->at, n);
    r->at += n;
    return true;
}

static bool get_u64(rbuf *r, uint64_t *v, const char *what)
{
    unsigned char x[8];
    if (!get(r, x, 8, what))
        return false;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | x[i];
    *v = u;
    return true;
}

static bool get_f64(rbuf *r, double *d, const char *what)
{
    uint64_t u;
    if (!get_u64(r, &u, what))
        return false;
    memcpy(d, &u, sizeof *d);
    return true;
}

static bool get_u8(rbuf *r, unsigned *v, const char *what)
{
    unsigned char x;
    if (!get(r, &x, 1, what))
        return false;
    *v = x;
    return true;
}

/* A size: a u64 that fits size_t. */
static bool get_size(rbuf *r, size_t *v, const char *what)
{
    uint64_t u;
    if (!get_u64(r, &u, what))
        return false;
    if (u > SIZE_MAX) {
        r->what = what;
        r->bad = true;
        return false;
    }
    *v = (size_t)u;
    return true;
}

/* A u8 that must be 0 or 1. */
static bool get_bool(rbuf *r, bool *v, const char *what)
{
    unsigned u;
    if (!get_u8(r, &u, what))
        return false;
    if (u > 1) {
        r->what = what;
        r->bad = true;
        return false;
    }
    *v = u == 1;
    return true;
}

/* A string's length and where its bytes are (no NUL among them); the bytes are skipped. */
static bool get_span(rbuf *r, const unsigned char **s, size_t *n, const char *what)
{
    if (!get_size(r, n, what))
        return false;
    if (*n > r->len - r->at || memchr(r->p + r->at, 0, *n)) {
        r->what = what;
        r->bad = true;
        return false;
    }
    *s = r->p + r->at;
    r->at += *n;
    return true;
}

/* A string as a malloc'ed copy; *oom when the copy failed. */
static bool get_str(rbuf *r, char **out, bool *oom, const char *what)
{
    const unsigned char *s;
    size_t n;
    if (!get_span(r, &s, &n, what))
        return false;
    *out = malloc(n + 1);
    if (!*out) {
        *oom = true;
        r->bad = true;
        return false;
    }
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return true;
}

static bool get_opt(rbuf *r, char **out, bool *oom, const char *what)
{
    bool has;
    *out = NULL;
    if (!get_bool(r, &has, what))
        return false;
    return !has || get_str(r, out, oom, what);
}

static bool get_side(rbuf *r, stats_side *s, const char *what)
{
    return get_u64(r, &s->rows, what) && get_u64(r, &s->missing, what) &&
           get_u64(r, &s->nonfinite, what);
}

static bool get_num(rbuf *r, stats_num *s, const char *what)
{
    memset(s, 0, sizeof *s);
    return get_size(r, &s->n_distinct, what) && get_u64(r, &s->n, what) &&
           get_bool(r, &s->is_int, what) && get_bool(r, &s->has_moments, what) &&
           get_f64(r, &s->mean, what) && get_f64(r, &s->std, what);
}

static bool get_perf(rbuf *r, stats_perf *p, const char *what)
{
    uint64_t *u[] = {&p->rows, &p->left_out, &p->tp, &p->fp, &p->tn, &p->fn};
    double *d[] = {&p->auc,
                   &p->recall,
                   &p->precision,
                   &p->business_cost,
                   &p->optimal_threshold,
                   &p->business_cost_at_optimal};
    for (size_t i = 0; i < 6; i++)
        if (!get_u64(r, u[i], what))
            return false;
    for (size_t i = 0; i < 6; i++)
        if (!get_f64(r, d[i], what))
            return false;
    return true;
}

/* One entry of a unit, read and checked, not yet in the comparison. */
typedef struct {
    size_t slot;
    unsigned tag;
    char *text; /* skipped / not tested: why; tested: the pair's note (NULL: none) */
    stats_column_result rc;
    stats_column sc;
    bool has_data, has_cats;
    const char **labels; /* one block: the pointers, then the strings */
    uint64_t *aligned;
    char *plot;
} staged;

typedef struct {
    staged *e;
    size_t n;
    bool score;
    double decision_threshold;
    stats_side score_ref, score_cur;
    const char *score_note;
    bool has_score_drift;
    stats_score_drift s;
    bool perf, perf_ref_ok, perf_cur_ok;
    stats_perf perf_ref, perf_cur;
    char *perf_ref_note, *perf_cur_note;
} unit;

static void unit_release(unit *u)
{
    for (size_t i = 0; u->e && i < u->n; i++) {
        free(u->e[i].text);
        free(u->e[i].labels);
        free(u->e[i].aligned);
        free(u->e[i].plot);
    }
    free(u->e);
    free(u->perf_ref_note);
    free(u->perf_cur_note);
    memset(u, 0, sizeof *u);
}

/* The categories of a tested text column: k labels into one block, 2k counts. */
static bool get_cats(rbuf *r, staged *e, bool *oom)
{
    size_t k;
    if (!get_size(r, &k, "the number of categories"))
        return false;
    /* each label takes at least its 8-byte length, each count 16 bytes over the two sides */
    if (k > (r->len - r->at) / 24) {
        r->what = "the categories";
        r->bad = true;
        return false;
    }
    size_t at0 = r->at, bytes = 0;
    for (size_t j = 0; j < k; j++) {
        const unsigned char *s;
        size_t n;
        if (!get_span(r, &s, &n, "a category's label"))
            return false;
        bytes += n + 1;
    }
    char *block = malloc((k ? k : 1) * sizeof(char *) + bytes);
    e->aligned = malloc((k ? k : 1) * 2 * sizeof *e->aligned);
    e->labels = (const char **)block;
    if (!block || !e->aligned) {
        *oom = true;
        r->bad = true;
        return false;
    }
    char *text = block + k * sizeof(char *);
    r->at = at0;
    for (size_t j = 0; j < k; j++) {
        const unsigned char *s;
        size_t n;
        get_span(r, &s, &n, "a category's label"); /* read above */
        memcpy(text, s, n);
        text[n] = '\0';
        e->labels[j] = text;
        text += n + 1;
    }
    for (size_t j = 0; j < 2 * k; j++)
        if (!get_u64(r, &e->aligned[j], "the categories' counts"))
            return false;
    e->sc.ref_cat.count = e->aligned;
    e->sc.ref_cat.n_categories = k;
    e->sc.cur_cat.count = e->aligned + k;
    e->sc.cur_cat.n_categories = k;
    return true;
}

/* The sum of n counts is want (no overflow). */
static bool sums_to(const uint64_t *c, size_t n, uint64_t want)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] > UINT64_MAX - s)
            return false;
        s += c[i];
    }
    return s == want;
}

static bool get_tested(rbuf *r, staged *e, bool *oom)
{
    stats_column_result *rc = &e->rc;
    stats_column *sc = &e->sc;
    unsigned kind, test, skind;
    if (!get_opt(r, &e->text, oom, "a column's note") || !get_u8(r, &kind, "a result") ||
        !get_u8(r, &test, "a result") || !get_f64(r, &rc->threshold, "a result") ||
        !get_f64(r, &rc->score, "a result") || !get_bool(r, &rc->drifted, "a result") ||
        !get_side(r, &rc->ref, "a result") || !get_side(r, &rc->cur, "a result") ||
        !get_size(r, &rc->unseen_categories, "a result") ||
        !get_f64(r, &rc->unseen_share, "a result") || !get_bool(r, &e->has_data, "a result") ||
        !get_u8(r, &skind, "a column's samples") ||
        !get_bool(r, &sc->is_numeric_data, "a column's samples") ||
        !get_num(r, &sc->ref_num, "a column's samples") ||
        !get_num(r, &sc->cur_num, "a column's samples") ||
        !get_size(r, &sc->cat_first, "a column's samples") ||
        !get_u64(r, &sc->ref_cat.n, "a column's samples") ||
        !get_u64(r, &sc->cur_cat.n, "a column's samples") ||
        !get_bool(r, &e->has_cats, "a column's samples"))
        return false;
    if (kind > STATS_CAT || skind != kind || test >= STATS_NTESTS) {
        r->what = "a result (its kind or test)";
        r->bad = true;
        return false;
    }
    rc->kind = (stats_kind)kind;
    rc->test = (stats_test)test;
    sc->kind = (stats_kind)kind;
    bool numbers = sc->kind == STATS_NUM || sc->is_numeric_data;
    /* a result keeps its samples (and categories) exactly when they are text */
    if (e->has_data == numbers || e->has_cats == numbers ||
        rc->drifted != stats_drifted(rc->test, rc->score, rc->threshold)) {
        r->what = "a result (its samples or its verdict)";
        r->bad = true;
        return false;
    }
    if (e->has_cats) {
        if (!get_cats(r, e, oom))
            return false;
        size_t k = sc->ref_cat.n_categories;
        if (!sums_to(e->aligned, k, sc->ref_cat.n) || !sums_to(e->aligned + k, k, sc->cur_cat.n) ||
            (k > 0 && sc->cat_first >= k)) {
            r->what = "the categories (their counts)";
            r->bad = true;
            return false;
        }
    }
    return get_opt(r, &e->plot, oom, "a column's plot");
}

static bool get_score(rbuf *r, unit *u)
{
    unsigned note, band;
    stats_score_drift *s = &u->s;
    if (!get_f64(r, &u->decision_threshold, "the score's drift") ||
        !get_side(r, &u->score_ref, "the score's drift") ||
        !get_side(r, &u->score_cur, "the score's drift") ||
        !get_u8(r, &note, "the score's drift") ||
        !get_bool(r, &u->has_score_drift, "the score's drift"))
        return false;
    for (size_t k = 0; k < STATS_SCORE_NEDGES; k++)
        if (!get_f64(r, &s->edges[k], "the score's drift"))
            return false;
    for (size_t k = 0; k < STATS_SCORE_NBINS; k++)
        if (!get_u64(r, &s->ref_count[k], "the score's drift"))
            return false;
    for (size_t k = 0; k < STATS_SCORE_NBINS; k++)
        if (!get_u64(r, &s->cur_count[k], "the score's drift"))
            return false;
    if (!get_u64(r, &s->ref_n, "the score's drift") ||
        !get_u64(r, &s->cur_n, "the score's drift") || !get_f64(r, &s->psi, "the score's drift") ||
        !get_u8(r, &band, "the score's drift") ||
        !get_f64(r, &s->ref_approval, "the score's drift") ||
        !get_f64(r, &s->cur_approval, "the score's drift"))
        return false;
    if (note > 2 || band > STATS_BAND_ACT) {
        r->what = "the score's drift (its note or band)";
        r->bad = true;
        return false;
    }
    s->band = (stats_psi_band)band;
    u->score_note = note == 0 ? NULL : note == 1 ? dm_score_note_no_ref : dm_score_note_no_cur;
    return true;
}

/* The checks of the unit against c's own pairing: the entries are exactly c's pairs of the
 * unit's columns, in order, each still to be compared in c.  0, or -1 with err. */
static int check_entries(const dm_comparison *c, const bool *in, const unit *u, char *err,
                         size_t errlen)
{
    const struct dm_compare_work *w = c->work;
    const dm_reconciled *pairs = w->pairs;
    size_t k = 0;
    for (size_t i = 0; i < pairs->npairs; i++) {
        const dm_pair *p = &pairs->pair[i];
        if (!in_unit(w->cur, p, in))
            continue;
        char name[DM_SHOWN_LEN];
        dm_show_value(p->name, strlen(p->name), name, sizeof name);
        if (k >= u->n || u->e[k].slot != i) {
            snprintf(err, errlen, "work unit does not match the pairing: column \"%s\" is missing",
                     name);
            return -1;
        }
        const staged *e = &u->e[k++];
        if (p->kind == DM_PAIR_SKIP) {
            /* skipped here: skipped there, for the same reason */
            if (e->tag != TAG_SKIPPED || strcmp(e->text, p->reason ? p->reason : "") != 0) {
                snprintf(err, errlen,
                         "work unit does not match the pairing: column \"%s\" is skipped here, "
                         "not in the unit",
                         name);
                return -1;
            }
            continue;
        }
        if (!p->ref) {
            snprintf(err, errlen, "work unit does not match the pairing: column \"%s\"", name);
            return -1;
        }
        if (w->state[i] != PAIR_PENDING) {
            snprintf(err, errlen, "work unit's column \"%s\" was already compared", name);
            return -1;
        }
        if (e->tag == TAG_TESTED &&
            (e->rc.ref.rows != w->ref->rows || e->rc.cur.rows != w->cur->rows)) {
            snprintf(err, errlen, "work unit's column \"%s\" counts other rows", name);
            return -1;
        }
    }
    if (k != u->n) {
        snprintf(err, errlen, "work unit does not match the pairing: %zu columns more", u->n - k);
        return -1;
    }
    return 0;
}

/* Read the body after the header (at r->at) into u.  0; -1 with err. */
static int read_body(const dm_comparison *c, rbuf *r, bool **inp, unit *u, char *err, size_t errlen)
{
    const struct dm_compare_work *w = c->work;
    const dm_dataset *cur = w->cur;
    bool oom = false;
    size_t ncols, n;
    bool *in = NULL;
    if (!get_size(r, &ncols, "the columns") || ncols > (r->len - r->at) / 8) {
        r->bad = true;
        r->what = "the columns";
        goto bad;
    }
    in = *inp = calloc(cur->ncols + 1, sizeof *in);
    if (!in)
        goto oom;
    for (size_t k = 0; k < ncols; k++) {
        uint64_t j;
        if (!get_u64(r, &j, "the columns"))
            goto bad;
        if (j >= cur->ncols) {
            r->bad = true;
            r->what = "the columns (one out of range)";
            goto bad;
        }
        in[j] = true;
    }
    /* an entry takes at least 9 bytes + 8 for its text */
    if (!get_size(r, &n, "the entries") || n > (r->len - r->at) / 17 || n > w->pairs->npairs) {
        r->bad = true;
        r->what = "the entries";
        goto bad;
    }
    u->e = calloc(n + 1, sizeof *u->e);
    if (!u->e)
        goto oom;
    u->n = n;
    for (size_t k = 0; k < n; k++) {
        staged *e = &u->e[k];
        uint64_t slot;
        if (!get_u64(r, &slot, "an entry") || !get_u8(r, &e->tag, "an entry"))
            goto bad;
        if (slot >= w->pairs->npairs || (k > 0 && slot <= u->e[k - 1].slot) ||
            e->tag > TAG_TESTED) {
            r->bad = true;
            r->what = "an entry (its pair or tag)";
            goto bad;
        }
        e->slot = (size_t)slot;
        if (e->tag == TAG_TESTED ? !get_tested(r, e, &oom)
                                 : !get_str(r, &e->text, &oom, "a skipped column's reason"))
            goto bad;
    }
    if (!get_bool(r, &u->score, "the score's drift") || (u->score && !get_score(r, u)) ||
        !get_bool(r, &u->perf, "the outcomes"))
        goto bad;
    if (u->perf &&
        (!get_bool(r, &u->perf_ref_ok, "the outcomes") ||
         !get_bool(r, &u->perf_cur_ok, "the outcomes") ||
         !get_perf(r, &u->perf_ref, "the outcomes") || !get_perf(r, &u->perf_cur, "the outcomes") ||
         !get_opt(r, &u->perf_ref_note, &oom, "the outcomes") ||
         !get_opt(r, &u->perf_cur_note, &oom, "the outcomes")))
        goto bad;
    if (r->at != r->len) {
        r->bad = true;
        r->what = "its end (bytes left over)";
        goto bad;
    }
    if (u->score != holds_score(w, in)) {
        snprintf(err, errlen, "work unit does not match the pairing: the score column");
        return -1;
    }
    if (u->perf != holds_label(w, c, in)) {
        snprintf(err, errlen, "work unit does not match the pairing: the label column");
        return -1;
    }
    if (u->score && w->score_done) {
        snprintf(err, errlen, "work unit's score column was already compared");
        return -1;
    }
    return check_entries(c, in, u, err, errlen);
bad:
    if (oom)
        goto oom;
    snprintf(err, errlen, "work unit is malformed: %s at byte %zu of %zu", r->what, r->at, r->len);
    return -1;
oom:
    snprintf(err, errlen, "out of memory while loading a work unit of %s", cur->source);
    return -1;
}

/* Take the checked unit into c: nothing here can fail (the room for its texts was made). */
static void commit(dm_comparison *c, unit *u)
{
    struct dm_compare_work *w = c->work;
    const dm_reconciled *pairs = w->pairs;
    for (size_t k = 0; k < u->n; k++) {
        staged *e = &u->e[k];
        size_t i = e->slot;
        const dm_pair *p = &pairs->pair[i];
        if (p->kind == DM_PAIR_SKIP)
            continue; /* skipped in c as in the unit */
        if (e->tag != TAG_TESTED) {
            /* not tested there, or skipped once its values were read there */
            free(w->why[i]);
            w->why[i] = e->text;
            e->text = NULL;
            w->state[i] = PAIR_UNTESTED;
            continue;
        }
        free(c->labels[i]);
        free(c->aligned[i]);
        free(c->plots[i]);
        c->data[i] = e->sc;
        c->labels[i] = e->labels;
        c->aligned[i] = e->aligned;
        c->plots[i] = e->plot;
        e->labels = NULL;
        e->aligned = NULL;
        e->plot = NULL;
        stats_column_result *rc = &c->cols[i];
        *rc = e->rc;
        rc->name = p->ref->name;
        rc->data = e->has_data ? &c->data[i] : NULL;
        rc->cat_labels = NULL; /* dm_compare_finish */
        rc->importance = NAN;  /* dm_compare_finish */
        rc->note = e->text;
        if (e->text)
            c->texts[c->ntexts++] = e->text;
        e->text = NULL;
        w->state[i] = PAIR_TESTED;
    }
    if (u->score) {
        c->score_column = w->cfg->score_column;
        c->decision_threshold = u->decision_threshold;
        c->score_ref = u->score_ref;
        c->score_cur = u->score_cur;
        c->score_note = u->score_note;
        c->has_score_drift = u->has_score_drift;
        c->score = u->s;
        w->score_done = true;
    }
    if (u->perf) {
        c->perf_ref_ok = u->perf_ref_ok;
        c->perf_cur_ok = u->perf_cur_ok;
        c->perf_ref = u->perf_ref;
        c->perf_cur = u->perf_cur;
        c->perf_ref_note = u->perf_ref_note;
        c->perf_cur_note = u->perf_cur_note;
        if (u->perf_ref_note)
            c->texts[c->ntexts++] = u->perf_ref_note;
        if (u->perf_cur_note)
            c->texts[c->ntexts++] = u->perf_cur_note;
        u->perf_ref_note = u->perf_cur_note = NULL;
    }
}

int dm_compare_group_load(dm_comparison *c, const unsigned char *buf, size_t len, char *err,
                          size_t errlen)
{
    struct dm_compare_work *w = c->work;
    if (!w) {
        snprintf(err, errlen, "cannot load a work unit into a finished comparison");
        return -1;
    }
    if (len < 4 || memcmp(buf, UNIT_MAGIC, 4) != 0) {
        snprintf(err, errlen, "not a work unit (%zu bytes without the \"%s\" mark)", len,
                 UNIT_MAGIC);
        return -1;
    }
    if (len < HEAD + DIGEST) {
        snprintf(err, errlen, "work unit is truncated: %zu bytes, less than its header", len);
        return -1;
    }
    uint32_t version =
        (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
    if (version != UNIT_VERSION) {
        snprintf(err, errlen, "work unit has format version %u; this driftmon reads version %u",
                 (unsigned)version, UNIT_VERSION);
        return -1;
    }
    uint64_t total = 0;
    for (int i = 7; i >= 0; i--)
        total = total << 8 | buf[8 + i];
    if (total != len) {
        snprintf(err, errlen, "work unit is %s: %zu bytes of %llu",
                 len < total ? "truncated" : "longer than it says", len, (unsigned long long)total);
        return -1;
    }
    unsigned char sum[DIGEST], d[3][DIGEST];
    dm_sha256 *h = dm_sha256_alloc();
    if (h)
        dm_sha256_update(h, buf, len - DIGEST);
    if (!h || dm_sha256_final_raw(h, sum) != 0 || digests(w, d) != 0) {
        snprintf(err, errlen, "out of memory while loading a work unit of %s", w->cur->source);
        return -1;
    }
    if (memcmp(sum, buf + len - DIGEST, DIGEST) != 0) {
        snprintf(err, errlen, "work unit is corrupted: its checksum does not match its bytes");
        return -1;
    }
    static const char *const what[3] = {"configuration (drift options, columns, plots)",
                                        "reference", "pairing of the columns"};
    for (int k = 0; k < 3; k++) {
        if (memcmp(d[k], buf + 16 + (size_t)k * DIGEST, DIGEST) != 0) {
            snprintf(err, errlen, "work unit was made under another %s", what[k]);
            return -1;
        }
    }
    rbuf r = {buf, len - DIGEST, HEAD, NULL, false};
    unit u;
    memset(&u, 0, sizeof u);
    bool *in = NULL;
    int rc = read_body(c, &r, &in, &u, err, errlen);
    free(in);
    if (rc == 0) {
        /* room for the texts the unit brings, before anything is taken */
        size_t more = 2;
        for (size_t k = 0; k < u.n; k++)
            more += u.e[k].tag == TAG_TESTED && u.e[k].text;
        char **t = realloc(c->texts, (c->ntexts + more) * sizeof *t);
        if (!t) {
            snprintf(err, errlen, "out of memory while loading a work unit of %s", w->cur->source);
            rc = -1;
        } else {
            c->texts = t;
            commit(c, &u);
        }
    }
    unit_release(&u);
    return rc;
}

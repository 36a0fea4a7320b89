/* refstore.c - store and load reference profiles in PostgreSQL (see refstore.h). */
#include "monitor/refstore.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/profile.h"
#include "stats/stats.h"

#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

void dm_refinfo_release(dm_refinfo *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->source);
    memset(r, 0, sizeof *r);
}

/* ---- binary array encoding ------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} bbuf;

static void bput(bbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
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
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void bput_u32(bbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    bput(b, x, 4);
}

static void bput_u64(bbuf *b, uint64_t v)
{
    bput_u32(b, (uint32_t)(v >> 32));
    bput_u32(b, (uint32_t)v);
}

static void array_header(bbuf *b, uint32_t elemtype, size_t n)
{
    if (n == 0) {
        bput_u32(b, 0); /* ndim 0: the empty array */
        bput_u32(b, 0);
        bput_u32(b, elemtype);
        return;
    }
    bput_u32(b, 1);
    bput_u32(b, 0);
    bput_u32(b, elemtype);
    bput_u32(b, (uint32_t)n);
    bput_u32(b, 1);
}

static void array_f8(bbuf *b, const double *v, size_t n)
{
    array_header(b, OID_FLOAT8, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &v[i], 8);
        bput_u32(b, 8);
        bput_u64(b, u);
    }
}

static void array_i8(bbuf *b, const uint64_t *v, size_t n)
{
    array_header(b, OID_INT8, n);
    for (size_t i = 0; i < n; i++) {
        bput_u32(b, 8);
        bput_u64(b, v[i]);
    }
}

static void array_text(bbuf *b, char *const *v, size_t n)
{
    array_header(b, OID_TEXT, n);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        bput_u32(b, (uint32_t)l);
        bput(b, v[i], l);
    }
}

/* ---- binary decoding ------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t len, off;
} rbuf;

static bool rget_u32(rbuf *r, uint32_t *v)
{
    if (r->len - r->off < 4)
        return false;
    const unsigned char *p = r->p + r->off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    r->off += 4;
    return true;
}

static bool rget_u64(rbuf *r, uint64_t *v)
{
    uint32_t hi, lo;
    if (!rget_u32(r, &hi) || !rget_u32(r, &lo))
        return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

/* Parse a one-dimensional array header: element count into *n. */
static bool array_open(rbuf *r, uint32_t elemtype, size_t *n)
{
    uint32_t ndim, flags, et;
    if (!rget_u32(r, &ndim) || !rget_u32(r, &flags) || !rget_u32(r, &et))
        return false;
    if (et != elemtype || flags != 0)
        return false;
    if (ndim == 0) {
        *n = 0;
        return true;
    }
    uint32_t dim, lb;
    if (ndim != 1 || !rget_u32(r, &dim) || !rget_u32(r, &lb))
        return false;
    if (dim > (r->len - r->off) / 4) /* each element has at least its length word */
        return false;
    *n = dim;
    return true;
}

static int64_t be_i64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

/* ---- store ------------------------------------------------------------------------------ */

static int fail_res(PGresult *res, PGconn *conn, const char *what, char *err, size_t errlen)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    size_t l = strlen(m);
    while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
        l--;
    snprintf(err, errlen, "%s: %.*s", what, (int)l, m);
    PQclear(res);
    return -1;
}

static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static int store_column(PGconn *conn, const char *ref_id, int ordinal, const dm_column *c,
                        char *err, size_t errlen)
{
    char ord[16], cnt[24], mis[24], nf[24], mean_s[40], std_s[40], min_s[40], max_s[40];
    snprintf(ord, sizeof ord, "%d", ordinal);
    snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)c->n);
    snprintf(mis, sizeof mis, "%llu", (unsigned long long)c->missing);
    snprintf(nf, sizeof nf, "%llu", (unsigned long long)c->nonfinite);
    bool num = c->storage == DM_STORE_NUM;
    bool have_moments = false;
    if (num && c->n_distinct > 0) {
        stats_num s = {c->value, c->count, c->n_distinct, c->n, c->is_int};
        double mean, sd;
        if (stats_num_moments(&s, &mean, &sd) == STATS_OK) {
            snprintf(mean_s, sizeof mean_s, "%.17g", mean);
            snprintf(std_s, sizeof std_s, "%.17g", sd);
            snprintf(min_s, sizeof min_s, "%.17g", c->value[0]);
            snprintf(max_s, sizeof max_s, "%.17g", c->value[c->n_distinct - 1]);
            have_moments = true;
        }
    }
    bbuf a = {0}, b = {0};
    if (num) {
        array_f8(&a, c->value, c->n_distinct);
        array_i8(&b, c->count, c->n_distinct);
    } else {
        array_text(&a, c->cat, c->n_cats);
        array_i8(&b, c->cat_count, c->n_cats);
    }
    if (a.oom || b.oom) {
        free(a.p);
        free(b.p);
        snprintf(err, errlen, "out of memory storing column \"%s\"", c->name);
        return -1;
    }
    const char *vals[16] = {ref_id,
                            ord,
                            c->name,
                            num ? "num" : "str",
                            c->is_int ? "true" : "false",
                            cnt,
                            mis,
                            nf,
                            have_moments ? mean_s : NULL,
                            have_moments ? std_s : NULL,
                            have_moments ? min_s : NULL,
                            have_moments ? max_s : NULL,
                            num ? (const char *)a.p : NULL,
                            num ? (const char *)b.p : NULL,
                            num ? NULL : (const char *)a.p,
                            num ? NULL : (const char *)b.p};
    int lens[16] = {0};
    int fmts[16] = {0};
    for (int k = 12; k < 16; k++)
        fmts[k] = 1;
    lens[num ? 12 : 14] = (int)a.len;
    lens[num ? 13 : 15] = (int)b.len;
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO driftmon.reference_column (reference_id, ordinal, name, storage, is_int, "
        "count, missing, nonfinite, mean, std, min, max, num_values, num_counts, cat_values, "
        "cat_counts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::float8[], "
        "$14::int8[], $15::text[], $16::int8[])",
        16, NULL, vals, lens, fmts, 0);
    free(a.p);
    free(b.p);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[300];
        snprintf(what, sizeof what, "could not store reference column \"%s\"", c->name);
        return fail_res(res, conn, what, err, errlen);
    }
    PQclear(res);
    return 0;
}

int dm_ref_store(PGconn *conn, const char *name, dm_dataset *ds, dm_refinfo *info, char *err,
                 size_t errlen)
{
    if (!ds->sha256[0] && dm_profile_digest(ds) != 0) {
        snprintf(err, errlen, "out of memory hashing the reference");
        return -1;
    }
    if (!exec_ok(conn, "BEGIN"))
        return fail_res(NULL, conn, "could not begin a transaction", err, errlen);
    char rows[24];
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)ds->rows);
    const char *p[5] = {name, ds->source ? ds->source : "?", rows, ds->sha256, DRIFTMON_VERSION};
    PGresult *res = PQexecParams(conn,
                                 "SELECT id, version FROM driftmon.new_reference($1, $2, "
                                 "$3::bigint, $4, $5)",
                                 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        char what[300];
        snprintf(what, sizeof what, "could not create reference \"%s\"", name);
        fail_res(res, conn, what, err, errlen);
        exec_ok(conn, "ROLLBACK");
        return -1;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    int version = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    for (size_t i = 0; i < ds->ncols; i++) {
        if (store_column(conn, id, (int)i, &ds->col[i], err, errlen) != 0) {
            exec_ok(conn, "ROLLBACK");
            return -1;
        }
    }
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fail_res(res, conn, "could not commit the reference", err, errlen);
        exec_ok(conn, "ROLLBACK");
        return -1;
    }
    PQclear(res);
    if (info) {
        memset(info, 0, sizeof *info);
        info->id = strtoll(id, NULL, 10);
        info->name = strdup(name);
        info->version = version;
        memcpy(info->sha256, ds->sha256, sizeof info->sha256);
        info->source = ds->source ? strdup(ds->source) : NULL;
        info->rows = ds->rows;
    }
    return 0;
}

/* ---- load ------------------------------------------------------------------------------- */

static int load_column(PGresult *res, int row, dm_column *c, char *err, size_t errlen)
{
    /* columns: 0 name, 1 storage, 2 is_int, 3 count, 4 missing, 5 nonfinite, 6 num_values,
     * 7 num_counts, 8 cat_values, 9 cat_counts (binary) */
    int nl = PQgetlength(res, row, 0);
    c->name = malloc((size_t)nl + 1);
    if (!c->name)
        goto oom;
    memcpy(c->name, PQgetvalue(res, row, 0), (size_t)nl);
    c->name[nl] = '\0';
    bool num = PQgetlength(res, row, 1) == 3 && memcmp(PQgetvalue(res, row, 1), "num", 3) == 0;
    c->storage = num ? DM_STORE_NUM : DM_STORE_STR;
    c->is_int = PQgetvalue(res, row, 2)[0] != 0;
    c->n = (uint64_t)be_i64(PQgetvalue(res, row, 3));
    c->missing = (uint64_t)be_i64(PQgetvalue(res, row, 4));
    c->nonfinite = (uint64_t)be_i64(PQgetvalue(res, row, 5));
    int vcol = num ? 6 : 8, ccol = num ? 7 : 9;
    if (PQgetisnull(res, row, vcol) || PQgetisnull(res, row, ccol))
        goto corrupt;
    rbuf rv = {(const unsigned char *)PQgetvalue(res, row, vcol),
               (size_t)PQgetlength(res, row, vcol), 0};
    rbuf rc = {(const unsigned char *)PQgetvalue(res, row, ccol),
               (size_t)PQgetlength(res, row, ccol), 0};
    size_t n, nc;
    if (!array_open(&rv, num ? OID_FLOAT8 : OID_TEXT, &n) || !array_open(&rc, OID_INT8, &nc) ||
        n != nc)
        goto corrupt;
    uint64_t *counts = malloc((n ? n : 1) * sizeof *counts);
    if (!counts)
        goto oom;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t l;
        if (!rget_u32(&rc, &l) || l != 8 || !rget_u64(&rc, &counts[i]) || counts[i] == 0) {
            free(counts);
            goto corrupt;
        }
        sum += counts[i];
    }
    if (sum != c->n) {
        free(counts);
        goto corrupt;
    }
    if (num) {
        c->count = counts;
        c->value = malloc((n ? n : 1) * sizeof(double));
        if (!c->value)
            goto oom;
        c->n_distinct = n;
        for (size_t i = 0; i < n; i++) {
            uint32_t l;
            uint64_t u;
            if (!rget_u32(&rv, &l) || l != 8 || !rget_u64(&rv, &u))
                goto corrupt;
            memcpy(&c->value[i], &u, 8);
            if (!isfinite(c->value[i]) || (i > 0 && !(c->value[i - 1] < c->value[i])))
                goto corrupt;
        }
    } else {
        c->cat_count = counts;
        c->cat = calloc(n ? n : 1, sizeof(char *));
        if (!c->cat)
            goto oom;
        c->n_cats = n;
        for (size_t i = 0; i < n; i++) {
            uint32_t l;
            if (!rget_u32(&rv, &l) || l > rv.len - rv.off)
                goto corrupt;
            c->cat[i] = malloc((size_t)l + 1);
            if (!c->cat[i])
                goto oom;
            memcpy(c->cat[i], rv.p + rv.off, l);
            c->cat[i][l] = '\0';
            rv.off += l;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory loading the reference");
    return -1;
corrupt:
    snprintf(err, errlen, "stored reference column \"%s\" is malformed", c->name ? c->name : "?");
    return -1;
}

int dm_ref_load(PGconn *conn, const char *name, int version, dm_dataset *out, dm_refinfo *info,
                char *err, size_t errlen)
{
    char vs[16];
    snprintf(vs, sizeof vs, "%d", version);
    const char *p[2] = {name, vs};
    PGresult *res = PQexecParams(conn,
                                 "SELECT id, name, version, sha256, source, rows FROM "
                                 "driftmon.reference WHERE name = $1 AND ($2::int = 0 OR "
                                 "version = $2::int) ORDER BY version DESC LIMIT 1",
                                 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_res(res, conn, "could not read driftmon.reference", err, errlen);
    if (PQntuples(res) == 0) {
        PQclear(res);
        if (version)
            snprintf(err, errlen,
                     "reference \"%s\" version %d does not exist (load it with `driftmon "
                     "reference load`)",
                     name, version);
        else
            snprintf(err, errlen,
                     "reference \"%s\" does not exist (load it with `driftmon reference load`)",
                     name);
        return -1;
    }
    dm_refinfo ri;
    memset(&ri, 0, sizeof ri);
    ri.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    ri.name = strdup(PQgetvalue(res, 0, 1));
    ri.version = atoi(PQgetvalue(res, 0, 2));
    snprintf(ri.sha256, sizeof ri.sha256, "%s", PQgetvalue(res, 0, 3));
    ri.source = strdup(PQgetvalue(res, 0, 4));
    ri.rows = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
    PQclear(res);
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)ri.id);
    const char *p2[1] = {idbuf};
    res = PQexecParams(conn,
                       "SELECT name, storage, is_int, count, missing, nonfinite, num_values, "
                       "num_counts, cat_values, cat_counts FROM driftmon.reference_column "
                       "WHERE reference_id = $1::bigint ORDER BY ordinal",
                       1, NULL, p2, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_refinfo_release(&ri);
        return fail_res(res, conn, "could not read driftmon.reference_column", err, errlen);
    }
    dm_dataset ds;
    dm_dataset_init(&ds);
    int nrows = PQntuples(res);
    ds.col = calloc((size_t)nrows + 1, sizeof *ds.col);
    char label[300];
    snprintf(label, sizeof label, "reference %s@%d", ri.name ? ri.name : name, ri.version);
    ds.source = strdup(label);
    ds.rows = ri.rows;
    if (!ds.col || !ds.source || !ri.name || !ri.source) {
        PQclear(res);
        dm_dataset_release(&ds);
        dm_refinfo_release(&ri);
        snprintf(err, errlen, "out of memory loading the reference");
        return -1;
    }
    for (int i = 0; i < nrows; i++) {
        ds.ncols++;
        if (load_column(res, i, &ds.col[i], err, errlen) != 0) {
            PQclear(res);
            dm_dataset_release(&ds);
            dm_refinfo_release(&ri);
            return -1;
        }
    }
    PQclear(res);
    /* the stored digest must match the stored content: tampering shows */
    if (dm_profile_digest(&ds) != 0 || strcmp(ds.sha256, ri.sha256) != 0) {
        snprintf(err, errlen,
                 "reference \"%s\" version %d: its columns do not match its sha256 (stored "
                 "%.12s..., computed %.12s...): the stored profile was changed",
                 ri.name, ri.version, ri.sha256, ds.sha256);
        dm_dataset_release(&ds);
        dm_refinfo_release(&ri);
        return -1;
    }
    *out = ds;
    if (info)
        *info = ri;
    else
        dm_refinfo_release(&ri);
    return 0;
}

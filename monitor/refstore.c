/* refstore.c - store and load reference profiles in PostgreSQL (see refstore.h). */
#include "monitor/refstore.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/profile.h"
#include "monitor/sha256.h"
#include "stats/numfmt.h"
#include "stats/stats.h"

void dm_refinfo_release(dm_refinfo *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->source);
    if (r->importance) {
        dm_importance_release(r->importance);
        free(r->importance);
    }
    memset(r, 0, sizeof *r);
}

/* ---- store ------------------------------------------------------------------------------ */

static int store_column(PGconn *conn, const char *ref_id, int ordinal, const dm_column *c,
                        char *err, size_t errlen)
{
    char ord[16], cnt[24], nd[24], mis[24], nf[24], mean_s[STATS_DOUBLE_BUFLEN],
        std_s[STATS_DOUBLE_BUFLEN], min_s[STATS_DOUBLE_BUFLEN], max_s[STATS_DOUBLE_BUFLEN];
    bool num = c->storage == DM_STORE_NUM;
    snprintf(ord, sizeof ord, "%d", ordinal);
    snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)c->n);
    snprintf(nd, sizeof nd, "%llu", (unsigned long long)(num ? c->n_distinct : c->n_cats));
    snprintf(mis, sizeof mis, "%llu", (unsigned long long)c->missing);
    snprintf(nf, sizeof nf, "%llu", (unsigned long long)c->nonfinite);
    bool have_moments = false;
    if (num && c->n_distinct > 0) {
        stats_num s = {c->value, c->count, c->n_distinct, c->n, c->is_int, false, 0., 0.};
        double mean, sd;
        if (stats_num_moments(&s, &mean, &sd) == STATS_OK) {
            stats_format_double(mean, mean_s, sizeof mean_s);
            stats_format_double(sd, std_s, sizeof std_s);
            stats_format_double(c->value[0], min_s, sizeof min_s);
            stats_format_double(c->value[c->n_distinct - 1], max_s, sizeof max_s);
            have_moments = true;
        }
    }
    size_t plen;
    unsigned char *prof = dm_profile_column_encode(c, &plen);
    if (!prof) {
        snprintf(err, errlen, "out of memory storing column \"%s\"", c->name);
        return -1;
    }
    const char *vals[14] = {ref_id,
                            ord,
                            c->name,
                            num ? "num" : "str",
                            c->is_int ? "true" : "false",
                            cnt,
                            nd,
                            mis,
                            nf,
                            have_moments ? mean_s : NULL,
                            have_moments ? std_s : NULL,
                            have_moments ? min_s : NULL,
                            have_moments ? max_s : NULL,
                            (const char *)prof};
    int lens[14] = {0};
    int fmts[14] = {0};
    lens[13] = (int)plen;
    fmts[13] = 1;
    PGresult *res = PQexecParams(
        conn,
        "SELECT driftmon.add_reference_column($1::bigint, $2::int, $3, $4, $5::boolean, "
        "$6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::float8, $11::float8, $12::float8, "
        "$13::float8, $14::bytea)",
        14, NULL, vals, lens, fmts, 0);
    free(prof);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char what[300];
        snprintf(what, sizeof what, "could not store reference column \"%s\"", c->name);
        return dm_db_fail(res, conn, what, err, errlen);
    }
    PQclear(res);
    return 0;
}

/* The importances' (column, importance) pairs of reference ref_id, in the file's order. */
static int store_importance(PGconn *conn, const char *ref_id, const dm_importance *imp, char *err,
                            size_t errlen)
{
    cJSON *a = cJSON_CreateArray();
    bool ok = a != NULL;
    for (size_t i = 0; ok && i < imp->n; i++) {
        char v[STATS_DOUBLE_BUFLEN];
        cJSON *e = cJSON_CreateArray();
        ok = e && cJSON_AddItemToArray(a, e) &&
             cJSON_AddItemToArray(e, cJSON_CreateString(imp->name[i])) &&
             cJSON_AddItemToArray(
                 e, cJSON_CreateString(stats_format_double(imp->value[i], v, sizeof v)));
    }
    char *pairs = ok ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!pairs) {
        snprintf(err, errlen, "out of memory storing the importances");
        return -1;
    }
    const char *p[2] = {ref_id, pairs};
    PGresult *res =
        PQexecParams(conn, "SELECT driftmon.add_reference_importance($1::bigint, $2::jsonb)", 2,
                     NULL, p, NULL, NULL, 0);
    free(pairs);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, conn, "could not store the importances", err, errlen);
    PQclear(res);
    return 0;
}

int dm_ref_store(PGconn *conn, const char *name, dm_dataset *ds, const dm_importance *imp,
                 const char *imp_text, size_t imp_len, dm_refinfo *info, char *err, size_t errlen)
{
    if (!ds->sha256[0] && dm_profile_digest(ds) != 0) {
        snprintf(err, errlen, "out of memory hashing the reference");
        return -1;
    }
    if (dm_db_exec(conn, "BEGIN", 0, NULL, "could not begin a transaction", err, errlen) != 0)
        return -1;
    char rows[24];
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)ds->rows);
    /* with importances: their file, name and sha256 in the reference row (010_model.sql) */
    const char *p[8] = {name,
                        ds->source ? ds->source : "?",
                        rows,
                        ds->sha256,
                        DRIFTMON_VERSION,
                        imp ? imp->source : NULL,
                        imp ? imp->sha256 : NULL,
                        imp_text};
    int lens[8] = {0, 0, 0, 0, 0, 0, 0, (int)imp_len}, fmts[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    PGresult *res = PQexecParams(conn,
                                 imp ? "SELECT id, version FROM driftmon.new_reference($1, $2, "
                                       "$3::bigint, $4, $5, $6, $7, $8::bytea)"
                                     : "SELECT id, version FROM driftmon.new_reference($1, $2, "
                                       "$3::bigint, $4, $5)",
                                 imp ? 8 : 5, NULL, p, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        char what[300];
        snprintf(what, sizeof what, "could not create reference \"%s\"%s", name,
                 imp ? " with its importances (is the schema up to date? run `driftmon init`)"
                     : "");
        dm_db_fail(res, conn, what, err, errlen);
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return -1;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    int version = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    for (size_t i = 0; i < ds->ncols; i++) {
        if (store_column(conn, id, (int)i, &ds->col[i], err, errlen) != 0) {
            dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
            return -1;
        }
        dm_dataset_evict(ds, i); /* a mapped profile's pages, once stored */
    }
    if (imp && store_importance(conn, id, imp, err, errlen) != 0) {
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return -1;
    }
    for (size_t i = 0; i < ds->nleft_out; i++) {
        char ord[24];
        snprintf(ord, sizeof ord, "%zu", i);
        const char *lp[4] = {id, ord, ds->left_out[i].name, ds->left_out[i].reason};
        res = PQexecParams(conn,
                           "SELECT driftmon.add_reference_left_out($1::bigint, $2::int, $3, $4)", 4,
                           NULL, lp, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            char what[300];
            snprintf(what, sizeof what,
                     "could not store left-out column \"%s\" (is the schema up to date? run "
                     "`driftmon init`)",
                     ds->left_out[i].name);
            dm_db_fail(res, conn, what, err, errlen);
            dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
            return -1;
        }
        PQclear(res);
    }
    if (dm_db_exec(conn, "COMMIT", 0, NULL, "could not commit the reference", err, errlen) != 0) {
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return -1;
    }
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

static int load_info(PGconn *conn, const char *name, int version, dm_refinfo *out, char *err,
                     size_t errlen)
{
    char vs[16];
    snprintf(vs, sizeof vs, "%d", version);
    const char *p[2] = {name, vs};
    PGresult *res = PQexecParams(conn,
                                 "SELECT id, name, version, sha256, source, rows FROM "
                                 "driftmon.audit_reference WHERE name = $1 AND ($2::int = 0 OR "
                                 "version = $2::int) ORDER BY version DESC LIMIT 1",
                                 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, conn, "could not read driftmon.reference", err, errlen);
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
    if (!ri.name || !ri.source) {
        dm_refinfo_release(&ri);
        snprintf(err, errlen, "out of memory loading the reference");
        return -1;
    }
    *out = ri;
    return 0;
}

/* The importances stored with reference ri (none before 010_model.sql, or when it was loaded
 * without): the stored bytes must have the stored sha256 and parse into the stored pairs.
 * 0 (ri->importance set or left NULL), or -1 with err. */
static int load_importance(PGconn *conn, dm_refinfo *ri, char *err, size_t errlen)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)ri->id);
    const char *p[1] = {idbuf};
    /* the row as jsonb: a schema from before 010 has no importance columns, and no catalog
     * query is needed to tell */
    PGresult *res = PQexecParams(
        conn,
        "SELECT s.j ->> 'importance_sha256', s.j ->> 'importance_source', "
        "pg_catalog.decode(pg_catalog.substr(s.j ->> 'importance_file', 3), 'hex') FROM (SELECT "
        "pg_catalog.to_jsonb(r) AS j FROM driftmon.audit_reference r WHERE r.id = $1::bigint) s",
        1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return dm_db_fail(res, conn, "could not read the reference's importances", err, errlen);
    if (PQgetisnull(res, 0, 0)) { /* none; a file gone under its sha256 fails below */
        PQclear(res);
        return 0;
    }
    PGresult *pr = PQexecParams(conn,
                                "SELECT json_agg(json_build_array(column_name, importance::text) "
                                "ORDER BY ordinal)::text FROM driftmon.audit_reference_importance "
                                "WHERE reference_id = $1::bigint",
                                1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(pr) != PGRES_TUPLES_OK || PQntuples(pr) != 1) {
        PQclear(res);
        return dm_db_fail(pr, conn, "could not read driftmon.reference_importance", err, errlen);
    }
    const char *sha = PQgetvalue(res, 0, 0), *file = PQgetvalue(res, 0, 2);
    size_t flen = (size_t)PQgetlength(res, 0, 2);
    char label[600], got[65];
    snprintf(label, sizeof label, "%s (stored with reference %s@%d)", PQgetvalue(res, 0, 1),
             ri->name, ri->version);
    dm_sha256_hex(file, flen, got);
    dm_importance *imp = calloc(1, sizeof *imp);
    char perr[1024] = "";
    int rc = -1;
    if (!imp) {
        snprintf(err, errlen, "out of memory loading the importances");
    } else if (strcmp(got, sha) != 0) {
        snprintf(err, errlen,
                 "reference \"%s\" version %d: its importance file does not match its sha256 "
                 "(stored %.12s..., computed %.12s...): the stored importances were changed",
                 ri->name, ri->version, sha, got);
    } else if (dm_importance_parse(file, flen, label, imp, perr, sizeof perr) != 0) {
        snprintf(err, errlen, "reference \"%s\" version %d: %s", ri->name, ri->version, perr);
    } else {
        /* the pairs auditors read must be the file's */
        cJSON *pairs = PQgetisnull(pr, 0, 0) ? NULL : cJSON_Parse(PQgetvalue(pr, 0, 0));
        size_t n = pairs ? (size_t)cJSON_GetArraySize(pairs) : 0, i = 0;
        for (const cJSON *e = pairs ? pairs->child : NULL; e && i < imp->n; e = e->next, i++) {
            const char *cn = cJSON_GetStringValue(cJSON_GetArrayItem(e, 0));
            const char *cv = cJSON_GetStringValue(cJSON_GetArrayItem(e, 1));
            if (!cn || !cv || strcmp(cn, imp->name[i]) != 0 || strtod(cv, NULL) != imp->value[i])
                break;
        }
        cJSON_Delete(pairs);
        if (i != imp->n || n != imp->n)
            snprintf(err, errlen,
                     "reference \"%s\" version %d: driftmon.reference_importance does not "
                     "match its importance file (pair %zu): the stored importances were changed",
                     ri->name, ri->version, i + 1);
        else
            rc = 0;
    }
    PQclear(res);
    PQclear(pr);
    if (rc == 0) {
        ri->importance = imp;
    } else if (imp) {
        dm_importance_release(imp);
        free(imp);
    }
    return rc;
}

/* The left-out columns of reference ref_id, in order, into ds. */
static int load_left_out(PGconn *conn, const char *ref_id, dm_dataset *ds, char *err, size_t errlen)
{
    const char *p[1] = {ref_id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT name, reason FROM driftmon.audit_reference_left_out WHERE "
                                 "reference_id = $1::bigint ORDER BY ordinal",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, conn, "could not read driftmon.reference_left_out", err, errlen);
    for (int i = 0; i < PQntuples(res); i++) {
        if (dm_dataset_add_left_out(ds, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) != 0) {
            PQclear(res);
            snprintf(err, errlen, "out of memory loading the reference");
            return -1;
        }
    }
    PQclear(res);
    return 0;
}

/* The number of stored columns of reference idbuf, and whether left-out columns are kept
 * (a schema from before them holds no reference that has any).  0, or -1 with err. */
static int count_columns(PGconn *conn, const char *idbuf, size_t *ncols, bool *left_out_kept,
                         char *err, size_t errlen)
{
    const char *p[1] = {idbuf};
    PGresult *res = PQexecParams(
        conn,
        "SELECT count(*), pg_catalog.to_regclass('driftmon.reference_left_out') "
        "IS NOT NULL FROM driftmon.audit_reference_column WHERE reference_id = $1::bigint",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, conn, "could not read driftmon.reference_column", err, errlen);
    *ncols = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    *left_out_kept = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return 0;
}

/* What becomes of each stored column's bytes as they are read (hash_stored): ordinal, the
 * section's bytes (valid during the call).  0, or -1 with err. */
typedef int (*column_fn)(void *ctx, size_t ordinal, const unsigned char *p, size_t len, char *err,
                         size_t errlen);

/* The digest of reference idbuf's stored profile: the header (rows, ncols, ds's left-out
 * count), every column's bytes in ordinal order and the left-out columns (already in ds), as
 * in the file.  Each column's bytes go to fn (NULL: only hashed) as they arrive, one row at
 * a time: no more than one column's section is held.  0 with digest, or -1 with err. */
static int hash_stored(PGconn *conn, const char *idbuf, const char *name, uint64_t rows,
                       size_t ncols, const dm_dataset *ds, column_fn fn, void *ctx, char digest[65],
                       char *err, size_t errlen)
{
    const char *p2[1] = {idbuf};
    dm_sha256 *h = dm_sha256_alloc();
    if (!h) {
        snprintf(err, errlen, "out of memory loading the reference");
        return -1;
    }
    unsigned char hdr[DM_PROFILE_HEADER_BYTES];
    dm_profile_header_encode(rows, (uint32_t)ncols, ds->nleft_out, hdr);
    dm_sha256_update(h, hdr, sizeof hdr);
    /* one row at a time: the whole result never sits in memory */
    int rc = 0;
    size_t seen = 0;
    PGresult *res;
    if (!PQsendQueryParams(
            conn,
            "SELECT profile FROM driftmon.audit_reference_column WHERE reference_id = "
            "$1::bigint ORDER BY ordinal",
            1, NULL, p2, NULL, NULL, 1) ||
        !PQsetSingleRowMode(conn)) {
        rc = dm_db_fail(NULL, conn, "could not read driftmon.reference_column", err, errlen);
    }
    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == 0 && st == PGRES_SINGLE_TUPLE) {
            if (seen >= ncols) {
                snprintf(err, errlen, "reference \"%s\": more columns than counted", name);
                rc = -1;
            } else {
                const unsigned char *pb = (const unsigned char *)PQgetvalue(res, 0, 0);
                size_t pl = (size_t)PQgetlength(res, 0, 0);
                dm_sha256_update(h, pb, pl);
                if (fn)
                    rc = fn(ctx, seen, pb, pl, err, errlen);
                seen++;
            }
        } else if (rc == 0 && st != PGRES_TUPLES_OK) {
            char m[600];
            dm_db_trim(PQresultErrorMessage(res), m, sizeof m);
            snprintf(err, errlen, "could not read driftmon.reference_column: %s", m);
            rc = -1;
        }
        PQclear(res);
    }
    if (rc == 0 && ds->nleft_out > 0) {
        size_t ll;
        unsigned char *lb = dm_profile_left_out_encode(ds, &ll);
        if (lb) {
            dm_sha256_update(h, lb, ll);
            free(lb);
        } else {
            snprintf(err, errlen, "out of memory loading the reference");
            rc = -1;
        }
    }
    dm_sha256_final(h, digest);
    if (rc == 0 && seen != ncols) {
        snprintf(err, errlen, "reference \"%s\": %zu of %zu columns read", name, seen, ncols);
        rc = -1;
    }
    return rc;
}

/* Decoded columns into memory: the column of ordinal o goes to ds->col[pos[o]] (pos NULL:
 * every column, at its ordinal; SIZE_MAX: not wanted).  Counts that are all ones are left
 * NULL (count_shared) for share_ones() to point at one array. */
typedef struct {
    dm_dataset *ds;
    const size_t *pos;
    const char *label;
} to_memory;

static int column_to_memory(void *ctx, size_t ordinal, const unsigned char *p, size_t len,
                            char *err, size_t errlen)
{
    to_memory *m = ctx;
    size_t k = m->pos ? m->pos[ordinal] : ordinal;
    if (k == SIZE_MAX)
        return 0;
    return dm_profile_column_decode(p, len, m->label, true, &m->ds->col[k], err, errlen);
}

/* One array of ones for every numeric column of ds whose counts are all 1 (as a mapped
 * profile has): the counts of a column of distinct values cost no memory of their own. */
static int share_ones(dm_dataset *ds)
{
    size_t nones = 0;
    for (size_t i = 0; i < ds->ncols; i++)
        if (ds->col[i].count_shared && !ds->col[i].count && ds->col[i].n_distinct > nones)
            nones = ds->col[i].n_distinct;
    ds->ones = malloc((nones ? nones : 1) * sizeof *ds->ones);
    if (!ds->ones)
        return -1;
    ds->n_ones = nones;
    for (size_t i = 0; i < nones; i++)
        ds->ones[i] = 1;
    for (size_t i = 0; i < ds->ncols; i++)
        if (ds->col[i].count_shared && !ds->col[i].count)
            ds->col[i].count = ds->ones;
    return 0;
}

/* Columns re-encoded into a profile file (format 2) as they arrive, each released once
 * written: the local copy is built without the reference ever being in memory whole. */
typedef struct {
    dm_profile_writer *w;
    const char *label;
    const char *file; /* for messages */
    bool write_failed;
} to_file;

static int column_to_file(void *ctx, size_t ordinal, const unsigned char *p, size_t len, char *err,
                          size_t errlen)
{
    (void)ordinal;
    to_file *f = ctx;
    dm_dataset one;
    dm_dataset_init(&one);
    one.col = calloc(1, sizeof *one.col);
    if (!one.col) {
        snprintf(err, errlen, "out of memory loading the reference");
        return -1;
    }
    one.ncols = 1;
    int rc = dm_profile_column_decode(p, len, f->label, true, &one.col[0], err, errlen);
    if (rc == 0 && dm_profile_writer_column(f->w, &one.col[0]) != 0) {
        snprintf(err, errlen, "could not write \"%s\"", f->file);
        f->write_failed = true;
        rc = -1;
    }
    if (one.col[0].count_shared && one.col[0].count == NULL)
        one.col[0].count_shared = false; /* nothing to free, nothing shared */
    dm_dataset_release(&one);
    return rc;
}

/* The local cache of one reference (dm_ref_load_cached): the directory and the file's name,
 * or dirfd -1 for none. */
typedef struct {
    int dirfd;
    const char *dir;
    const char *file;
} cache_at;

/* Reference ri's columns streamed from the database into the cache file, then that file
 * mapped as a warm check maps it (dm_profile_read_at: verified, pages given back column by
 * column).  0 with *out; -1 with err when the stored profile is wrong (nothing to retry);
 * 1 when the file could not be written or read back (logged: the caller reads the
 * reference into memory instead). */
static int load_via_file(PGconn *conn, const char *idbuf, const char *name, const char *label,
                         const dm_refinfo *ri, size_t ncols, const dm_dataset *left,
                         const cache_at *cache, dm_dataset *out, char *err, size_t errlen)
{
    dm_atomic_file f;
    char ferr[600];
    if (dm_atomic_open_at(&f, cache->dirfd, cache->dir, cache->file, DM_CACHE_MODE, ferr,
                          sizeof ferr) != 0) {
        dm_logf(DM_LOG_WARN, "could not cache the reference", "error=%s", ferr);
        return 1;
    }
    to_file tf = {dm_profile_writer_new(&f, ri->rows, (uint32_t)ncols, left->nleft_out), label,
                  f.shown, false};
    if (!tf.w) {
        dm_atomic_abort(&f);
        snprintf(err, errlen, "out of memory loading the reference");
        return -1;
    }
    char digest[65], written[65] = "";
    int rc = hash_stored(conn, idbuf, name, ri->rows, ncols, left, column_to_file, &tf, digest, err,
                         errlen);
    if (rc != 0) {
        dm_profile_writer_free(tf.w);
        dm_atomic_abort(&f);
        if (tf.write_failed) {
            dm_logf(DM_LOG_WARN, "could not cache the reference", "error=%s: %s", err,
                    f.failed ? strerror(f.failed) : "out of memory");
            return 1;
        }
        return -1;
    }
    if (strcmp(digest, ri->sha256) != 0) {
        dm_profile_writer_free(tf.w);
        dm_atomic_abort(&f);
        snprintf(err, errlen,
                 "reference \"%s\" version %d: its columns do not match its sha256 (stored "
                 "%.12s..., computed %.12s...): the stored profile was changed",
                 ri->name, ri->version, ri->sha256, digest);
        return -1;
    }
    int wrc = dm_profile_writer_finish(tf.w, left, written);
    if (wrc != 0 || strcmp(written, digest) != 0) {
        snprintf(ferr, sizeof ferr, "could not write \"%.300s\": %s", f.shown,
                 wrc == 0   ? "its content differs from the stored reference"
                 : f.failed ? strerror(f.failed)
                            : "out of memory");
        dm_atomic_abort(&f);
        dm_logf(DM_LOG_WARN, "could not cache the reference", "error=%s", ferr);
        return 1;
    }
    if (dm_atomic_commit(&f, ferr, sizeof ferr) != 0) {
        dm_logf(DM_LOG_WARN, "could not cache the reference", "error=%s", ferr);
        return 1;
    }
    dm_dataset ds;
    if (dm_profile_read_at(cache->dirfd, cache->dir, cache->file, &ds, ferr, sizeof ferr) != 0) {
        dm_logf(DM_LOG_WARN, "could not read the cached reference back", "error=%s", ferr);
        return 1;
    }
    char *src = strdup(label);
    if (!src || strcmp(ds.sha256, ri->sha256) != 0 || ds.rows != ri->rows) {
        free(src);
        dm_dataset_release(&ds);
        if (!src) {
            snprintf(err, errlen, "out of memory loading the reference");
            return -1;
        }
        dm_logf(DM_LOG_WARN, "could not read the cached reference back", "error=%s",
                "the file read back is not the stored reference");
        return 1;
    }
    free(ds.source);
    ds.source = src;
    *out = ds;
    return 0;
}

/* For each of the n columns wanted (idx, ordinals of the reference's ncols columns), its
 * position: pos[ordinal] = k for idx[k], SIZE_MAX for the others.  NULL with err when an
 * ordinal is out of range or repeated, or out of memory. */
static size_t *positions(const size_t *idx, size_t n, size_t ncols, const char *name, char *err,
                         size_t errlen)
{
    size_t *pos = malloc((ncols ? ncols : 1) * sizeof *pos);
    if (!pos) {
        snprintf(err, errlen, "out of memory loading the reference");
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++)
        pos[i] = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        if (idx[k] >= ncols || pos[idx[k]] != SIZE_MAX) {
            snprintf(err, errlen, "reference \"%s\": column %zu %s (it has %zu columns)", name,
                     idx[k], idx[k] >= ncols ? "does not exist" : "asked for twice", ncols);
            free(pos);
            return NULL;
        }
        pos[idx[k]] = k;
    }
    return pos;
}

/* Stream the columns of reference ri (its header row already read) into *out: all of them
 * (idx NULL) or the n at ordinals idx, in that order.  Through the cache file when cache
 * has one (load_via_file), else decoded into memory, the columns not wanted only hashed. */
static int load_columns(PGconn *conn, const char *name, dm_refinfo ri, const size_t *idx, size_t n,
                        const cache_at *cache, dm_dataset *out, dm_refinfo *info, char *err,
                        size_t errlen)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)ri.id);
    size_t ncols;
    bool left_out_kept;
    if (count_columns(conn, idbuf, &ncols, &left_out_kept, err, errlen) != 0) {
        dm_refinfo_release(&ri);
        return -1;
    }
    size_t *pos = NULL;
    if (idx && !(pos = positions(idx, n, ncols, ri.name ? ri.name : name, err, errlen))) {
        dm_refinfo_release(&ri);
        return -1;
    }
    dm_dataset ds;
    dm_dataset_init(&ds);
    size_t want = idx ? n : ncols;
    ds.col = calloc(want + 1, sizeof *ds.col);
    char label[300];
    snprintf(label, sizeof label, "reference %s@%d", ri.name ? ri.name : name, ri.version);
    ds.source = strdup(label);
    ds.rows = ri.rows;
    int rc = 0;
    if (!ds.col || !ds.source || !ri.name || !ri.source) {
        snprintf(err, errlen, "out of memory loading the reference");
        rc = -1;
    }
    if (rc == 0 && left_out_kept && load_left_out(conn, idbuf, &ds, err, errlen) != 0)
        rc = -1;
    char digest[65];
    bool done = false;
    if (rc == 0 && cache && cache->dirfd >= 0) {
        dm_dataset mapped;
        int frc =
            load_via_file(conn, idbuf, name, label, &ri, ncols, &ds, cache, &mapped, err, errlen);
        if (frc == 0 && idx && dm_dataset_keep(&mapped, idx, n) != 0) {
            dm_dataset_release(&mapped);
            snprintf(err, errlen, "out of memory loading the reference");
            frc = -1;
        }
        if (frc == 0) {
            dm_dataset_release(&ds);
            ds = mapped;
            done = true;
        } else if (frc < 0) {
            rc = -1;
        }
    }
    if (rc == 0 && !done) {
        ds.ncols = want; /* zeroed columns, filled as they arrive */
        to_memory tm = {&ds, pos, label};
        if (hash_stored(conn, idbuf, name, ri.rows, ncols, &ds, column_to_memory, &tm, digest, err,
                        errlen) != 0) {
            rc = -1;
        } else if (strcmp(digest, ri.sha256) != 0) {
            /* the stored digest must match the stored content: tampering shows */
            snprintf(err, errlen,
                     "reference \"%s\" version %d: its columns do not match its sha256 (stored "
                     "%.12s..., computed %.12s...): the stored profile was changed",
                     ri.name, ri.version, ri.sha256, digest);
            rc = -1;
        } else if (share_ones(&ds) != 0) {
            snprintf(err, errlen, "out of memory loading the reference");
            rc = -1;
        } else {
            memcpy(ds.sha256, digest, sizeof ds.sha256);
        }
    }
    free(pos);
    if (rc != 0) {
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

int dm_ref_stored_digest(PGconn *conn, int64_t id, uint64_t rows, char digest[65], char *err,
                         size_t errlen)
{
    char idbuf[24], label[64];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    snprintf(label, sizeof label, "reference id %lld", (long long)id);
    size_t ncols;
    bool left_out_kept;
    if (count_columns(conn, idbuf, &ncols, &left_out_kept, err, errlen) != 0)
        return -1;
    dm_dataset ds;
    dm_dataset_init(&ds);
    int rc = -1;
    if (!left_out_kept || load_left_out(conn, idbuf, &ds, err, errlen) == 0)
        rc = hash_stored(conn, idbuf, label, rows, ncols, &ds, NULL, NULL, digest, err, errlen);
    dm_dataset_release(&ds);
    return rc;
}

int dm_ref_load(PGconn *conn, const char *name, int version, dm_dataset *out, dm_refinfo *info,
                char *err, size_t errlen)
{
    return dm_ref_load_cached(conn, name, version, NULL, out, info, err, errlen);
}

/* ---- the local cache --------------------------------------------------------------------- */

static bool is_sha256_hex(const char *p)
{
    for (int i = 0; i < 64; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return p[64] == '\0';
}

/* The digests of profiles no reference of this database uses any more: every version that
 * holds them has a newer version under its name.  NULL when the query fails (logged). */
static PGresult *superseded_profiles(PGconn *conn)
{
    PGresult *res =
        PQexec(conn, "SELECT sha256 FROM (SELECT sha256, version = max(version) "
                     "OVER (PARTITION BY name) AS newest FROM driftmon.audit_reference) s "
                     "GROUP BY sha256 HAVING NOT bool_or(newest)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char m[600];
        dm_db_trim(PQresultErrorMessage(res), m, sizeof m);
        dm_logf(DM_LOG_WARN, "could not list the superseded references: the cache keeps them",
                "error=%s", m);
        PQclear(res);
        return NULL;
    }
    return res;
}

static bool in_result(const PGresult *res, const char *sha)
{
    for (int i = 0; res && i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), sha) == 0)
            return true;
    return false;
}

/* Remove the cached copies of the superseded profiles.  A check that has one open or mapped
 * keeps reading it (unlink removes the name, not the file under a reader); one that finds
 * it gone reads the reference from the database. */
static void cache_evict(const PGresult *old, int dirfd, const char *cache_dir)
{
    int n = 0;
    for (int i = 0; old && i < PQntuples(old); i++) {
        const char *sha = PQgetvalue(old, i, 0);
        char file[80];
        if (!is_sha256_hex(sha))
            continue;
        snprintf(file, sizeof file, "%s.dmp", sha);
        if (unlinkat(dirfd, file, 0) == 0)
            n++;
    }
    if (n > 0)
        dm_logf(DM_LOG_INFO, "removed superseded references from the cache", "dir=%s removed=%d",
                cache_dir, n);
}

/* dm_ref_load_cached, of every column (idx NULL) or of the n at ordinals idx. */
static int load_ref(PGconn *conn, const char *name, int version, const char *cache_dir,
                    const size_t *idx, size_t n, dm_dataset *out, dm_refinfo *info, char *err,
                    size_t errlen)
{
    dm_refinfo ri;
    if (load_info(conn, name, version, &ri, err, errlen) != 0)
        return -1;
    if (load_importance(conn, &ri, err, errlen) != 0) {
        dm_refinfo_release(&ri);
        return -1;
    }
    /* the cache directory itself must not be a symbolic link: its copies are private (0700,
     * files 0600), a link would send them wherever it points; names inside it are resolved
     * relative to it, never through a link */
    int dirfd = -1;
    char file[80] = "";
    if (cache_dir && *cache_dir && is_sha256_hex(ri.sha256)) {
        char derr[600];
        if (mkdir(cache_dir, 0700) != 0 && errno != EEXIST)
            snprintf(derr, sizeof derr, "could not create \"%s\": %s", cache_dir, strerror(errno));
        else
            dirfd = dm_dir_open(cache_dir, DM_DIR_NOFOLLOW, derr, sizeof derr);
        if (dirfd < 0)
            dm_logf(DM_LOG_WARN, "no reference cache: the reference is read from the database",
                    "reason=%s", derr);
        snprintf(file, sizeof file, "%s.dmp", ri.sha256);
    }
    if (dirfd >= 0) {
        dm_dataset ds;
        char cerr[512];
        int rrc = dm_profile_read_at(dirfd, cache_dir, file, &ds, cerr, sizeof cerr);
        if (rrc < 0) {
            /* damaged after it was written, or not a file: never used, replaced below */
            dm_log(DM_LOG_WARN, "%s; reading reference %s@%d from the database instead", cerr,
                   ri.name, ri.version);
            (void)unlinkat(dirfd, file, 0);
        } else if (rrc == 0) {
            /* usable only when its content is exactly the stored reference (verified) */
            if (strcmp(ds.sha256, ri.sha256) == 0 && ds.rows == ri.rows) {
                /* a cache in format 1 (an older driftmon) is copied into memory whole on
                 * every load: rewrite it in the current format once (best effort) */
                if (!ds.arena_is_file)
                    (void)dm_profile_write_at(&ds, dirfd, cache_dir, file, DM_CACHE_MODE, cerr,
                                              sizeof cerr);
                char label[300];
                snprintf(label, sizeof label, "reference %s@%d", ri.name, ri.version);
                char *src = strdup(label);
                size_t *pos = NULL;
                int krc = 0;
                if (src && idx) {
                    pos = positions(idx, n, ds.ncols, ri.name, err, errlen);
                    krc = !pos || dm_dataset_keep(&ds, idx, n) != 0 ? -1 : 0;
                    free(pos);
                    if (krc != 0 && pos)
                        snprintf(err, errlen, "out of memory loading the reference");
                }
                if (src && krc != 0) {
                    free(src);
                    dm_dataset_release(&ds);
                    dm_refinfo_release(&ri);
                    close(dirfd);
                    return -1;
                }
                if (src) {
                    free(ds.source);
                    ds.source = src;
                    /* this copy, when superseded, is removed too: it stays readable
                     * through the mapping this check holds */
                    PGresult *old = superseded_profiles(conn);
                    cache_evict(old, dirfd, cache_dir);
                    PQclear(old);
                    close(dirfd);
                    *out = ds;
                    if (info)
                        *info = ri;
                    else
                        dm_refinfo_release(&ri);
                    return 0;
                }
            }
            dm_dataset_release(&ds);
        }
    }
    /* a version already superseded is not cached (a newer one may have been loaded since
     * this check began); best effort: a cache that cannot be written only costs time, and
     * the reference is then read into memory */
    PGresult *old = dirfd >= 0 ? superseded_profiles(conn) : NULL;
    cache_at cache = {old && !in_result(old, ri.sha256) ? dirfd : -1, cache_dir, file};
    int rc = load_columns(conn, name, ri, idx, n, &cache, out, info, err, errlen);
    if (rc == 0 && dirfd >= 0)
        cache_evict(old, dirfd, cache_dir);
    PQclear(old);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

int dm_ref_load_cached(PGconn *conn, const char *name, int version, const char *cache_dir,
                       dm_dataset *out, dm_refinfo *info, char *err, size_t errlen)
{
    return load_ref(conn, name, version, cache_dir, NULL, 0, out, info, err, errlen);
}

int dm_ref_load_columns(PGconn *conn, const char *name, int version, const char *cache_dir,
                        const size_t *idx, size_t n, dm_dataset *out, dm_refinfo *info, char *err,
                        size_t errlen)
{
    static const size_t none[1] = {0};
    return load_ref(conn, name, version, cache_dir, idx ? idx : none, idx ? n : 0, out, info, err,
                    errlen);
}

/* "<64 hex digits>.dmp", or its temporary file ".<64 hex digits>.dmp.tmp.XXXXXX" */
static bool is_cache_file(const char *name)
{
    const char *p = name[0] == '.' ? name + 1 : name;
    for (int i = 0; i < 64; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    if (strncmp(p + 64, ".dmp", 4) != 0)
        return false;
    return name[0] == '.' ? strncmp(p + 68, ".tmp.", 5) == 0 : p[68] == '\0';
}

void dm_ref_cache_remove(const char *cache_dir)
{
    /* a symbolic link planted at cache_dir is left alone, never followed */
    int fd = dm_dir_open(cache_dir, DM_DIR_NOFOLLOW, NULL, 0);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (is_cache_file(e->d_name))
            (void)unlinkat(fd, e->d_name, 0);
    closedir(d);
    (void)rmdir(cache_dir);
}

/* dbrun.c - one drift run against PostgreSQL (see dbrun.h). */
#include "monitor/dbrun.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cJSON.h>

#include "monitor/cli.h"
#include "monitor/compare.h"
#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/outcome.h"
#include "monitor/perfstore.h"
#include "monitor/profile.h"
#include "monitor/reconcile.h"
#include "monitor/reportdir.h"
#include "monitor/sha256.h"
#include "monitor/spill.h"
#include "reports/report.h"
#include "stats/numfmt.h"

void dm_refcache_release(dm_refcache *rc)
{
    if (!rc)
        return;
    if (rc->loaded) {
        dm_dataset_release(&rc->ds);
        dm_refinfo_release(&rc->info);
    }
    rc->loaded = false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool in_list(const char *const *l, const char *s)
{
    for (size_t i = 0; l && l[i]; i++)
        if (strcmp(l[i], s) == 0)
            return true;
    return false;
}

/* Is table column c read (or listed as left out) by dm_run_read_table: not named in skip, not
 * excluded (columns.exclude)? */
static bool wanted(const dm_config *cfg, const dm_db_column *c, const char *const *skip)
{
    return !in_list(skip, c->name) && !(cfg && dm_config_is_excluded(cfg, c->name));
}

/* One COPY of a table into a builder, on conn or on a connection of its own (see
 * dm_run_read_table). */
typedef struct {
    const dm_config *cfg;
    PGconn *conn; /* used when cfg is NULL */
    const dm_db_table *table;
    const dm_db_column *sel;
    size_t n;
    const char *where;
    const char *const *params;
    size_t nparams;
    dm_builder *b;
    const char *snapshot; /* the snapshot to read in (pg_export_snapshot), or NULL */
    uint64_t rows;
    int rc; /* 0, -1 (err), DM_DB_BAD_VALUE (err), or NO_CONNECTION: read it on the caller's
             * connection instead */
    char err[1024];
} copy_half;

#define NO_CONNECTION (-9)

/* database.warm_backend before a COPY of ncols columns on c (a no-op inside a transaction:
 * the column groups' reads are warmed once, before theirs begins). */
static void warm(PGconn *c, const dm_config *cfg, size_t ncols)
{
    char werr[512];
    if (cfg && cfg->warm_backend && dm_db_warm_backend(c, ncols, werr, sizeof werr) != 0)
        dm_logf(DM_LOG_WARN, "could not warm the backend before the COPY: reading without it",
                "error=%s", werr);
}

static void *copy_half_run(void *arg)
{
    copy_half *h = arg;
    PGconn *c = h->conn;
    if (!c) {
        c = dm_db_connect(h->cfg->conninfo, h->err, sizeof h->err);
        if (!c) {
            h->rc = NO_CONNECTION;
            return NULL;
        }
    }
    h->rc = -1;
    warm(c, h->cfg, h->n);
    if (!h->snapshot || dm_db_begin_in_snapshot(c, h->snapshot, h->err, sizeof h->err) == 0) {
        h->rc = dm_db_copy_read(c, h->table, h->sel, h->n, h->where, h->params, h->nparams, h->b,
                                &h->rows, h->err, sizeof h->err);
        /* a failed read keeps its own error */
        if (h->snapshot &&
            dm_db_exec(c, h->rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL, "could not end the read",
                       h->rc == 0 ? h->err : NULL, sizeof h->err) != 0)
            h->rc = -1;
    }
    if (c != h->conn)
        PQfinish(c);
    return NULL;
}

/* Where to cut the rows matching `where` in two halves of their block range: the first
 * block, the middle one and the block after the last, or false when the rows span too few
 * blocks (256) to be worth two streams.  Both halves are bounded on both sides: an open
 * lower bound let the first half scan every block before the batch (the whole history of a
 * table that holds years of batches). */
static bool split_point(PGconn *conn, const char *name, const char *where,
                        const char *const *params, size_t nparams, long long blk[3])
{
    size_t sl = strlen(name) + strlen(where) + 200;
    char *sql = malloc(sl);
    if (sql)
        snprintf(sql, sl,
                 "SELECT (pg_catalog.min(ctid)::text::point)[0]::bigint, "
                 "(pg_catalog.max(ctid)::text::point)[0]::bigint FROM %s WHERE %s",
                 name, where);
    if (!sql)
        return false;
    PGresult *r = PQexecParams(conn, sql, (int)nparams, NULL, params, NULL, NULL, 0);
    free(sql);
    bool ok = false;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        long long b0 = atoll(PQgetvalue(r, 0, 0)), b1 = atoll(PQgetvalue(r, 0, 1));
        if (b1 - b0 >= 256) { /* 2 MB of rows or more */
            blk[0] = b0;
            blk[1] = b0 + (b1 - b0 + 1) / 2;
            blk[2] = b1 + 1;
            ok = true;
        }
    }
    PQclear(r);
    return ok;
}

/* The snapshot both halves read in: a read-only REPEATABLE READ transaction on conn, whose
 * id goes into snap; false (one stream then) when conn is inside a transaction already or
 * the server will not export one. */
static bool export_snapshot(PGconn *conn, char *snap, size_t len)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE ||
        dm_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, NULL, NULL,
                   0) != 0)
        return false;
    bool ok = dm_db_export_snapshot(conn, snap, len) == 0;
    if (!ok)
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
    return ok;
}

/* A column the outcome evaluation reads (read even when columns.exclude names it). */
static bool is_outcome(const dm_config *cfg, const char *name)
{
    const char *names[2];
    size_t n = dm_outcome_columns(cfg, names);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* A column a check reads: wanted, or an outcome column (read even when columns.exclude names
 * it, for the performance figures). */
static bool selected(const dm_config *cfg, const dm_db_column *c, const char *const *skip)
{
    return wanted(cfg, c, skip) || (cfg && !in_list(skip, c->name) && is_outcome(cfg, c->name));
}

/* The stored reference's performance figures into the comparison (a stored profile keeps no
 * rows to evaluate): the cost increase and its retrain condition follow.  0, or -1 (err). */
static int ref_perf(PGconn *conn, const dm_config *cfg, int64_t ref_id, dm_comparison *cmp,
                    char *err, size_t errlen)
{
    stats_perf p;
    const char *why = NULL;
    int rc = dm_perfstore_get(conn, ref_id, cfg, &p, &why, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        dm_comparison_set_ref_perf(cmp, cfg, &p);
    else
        cmp->perf_ref_note = why;
    return 0;
}

/* dm_run_read_once's read (dbrun.h): the spill plan while the COPY runs, one spill file per
 * COPY stream (one writer each); then the builder, the finish begun (every column's counts in
 * `all`), for the groups to be finished one by one. */
struct dm_table_read {
    const size_t *group_of; /* during the read */
    size_t ngroups;
    dm_spill *spill[2];
    dm_builder *b;  /* after the read: group 0's values, the spilled columns' blocks */
    dm_dataset all; /* after the read: dm_builder_finish_begin's */
};

/* dm_run_read_table with expect > 0, the rows the read will give (a check by column groups
 * counts them in the groups' transaction): the builder's arrays get that room at once, not
 * by doubling (dm_builder_expect); with sp, dm_run_read_once's read of all groups at once:
 * out is sp->all. */
static int read_table_sp(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                         const char *where, const char *const *params, size_t nparams,
                         const char *const *skip, uint64_t expect, dm_table_read *sp,
                         dm_dataset *out, char *err, size_t errlen);

static int read_table(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                      const char *where, const char *const *params, size_t nparams,
                      const char *const *skip, uint64_t expect, dm_dataset *out, char *err,
                      size_t errlen)
{
    return read_table_sp(conn, cfg, table, where, params, nparams, skip, expect, NULL, out, err,
                         errlen);
}

/* Stream h's builder follows sp: its columns of groups k >= 1 go to stream h's spill file
 * (opened here).  0, or -1 with err. */
static int spill_columns(dm_builder *b, size_t ncols, dm_table_read *sp, int h, char *err,
                         size_t errlen)
{
    if (!sp->spill[h] && !(sp->spill[h] = dm_spill_open(dm_spill_dir(), sp->ngroups, err, errlen)))
        return -1;
    for (size_t j = 0; j < ncols; j++)
        if (sp->group_of[j] > 0 && dm_builder_spill(b, j, sp->spill[h], sp->group_of[j]) < 0) {
            snprintf(err, errlen, "%s", dm_spill_error(sp->spill[h]));
            return -1;
        }
    return 0;
}

int dm_run_read_table(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                      const char *where, const char *const *params, size_t nparams,
                      const char *const *skip, dm_dataset *out, char *err, size_t errlen)
{
    return read_table(conn, cfg, table, where, params, nparams, skip, 0, out, err, errlen);
}

static int read_table_sp(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                         const char *where, const char *const *params, size_t nparams,
                         const char *const *skip, uint64_t expect, dm_table_read *sp,
                         dm_dataset *out, char *err, size_t errlen)
{
    const dm_db_column *cols = table->cols;
    size_t ncols = table->ncols;
    dm_db_column *sel = calloc(ncols + 1, sizeof *sel);
    int rc = DM_RUN_ENV;
    dm_builder *b = NULL;
    if (!sel) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t n = 0, nleft = 0;
    for (size_t i = 0; i < ncols; i++) {
        if (!selected(cfg, &cols[i], skip))
            continue;
        if (cols[i].kind == DM_DB_UNSUPPORTED)
            nleft++;
        else
            sel[n++] = cols[i];
    }
    if (n == 0) {
        snprintf(err, errlen, "table \"%s\" has no column driftmon can compare", table->name);
        rc = DM_RUN_INPUT;
        goto out;
    }
    b = dm_reconcile_table_builder(sel, n);
    const char *keep[2];
    size_t nkeep = cfg ? dm_outcome_columns(cfg, keep) : 0;
    if (b)
        dm_builder_keep_rows(b, keep, nkeep);
    if (b && expect > 0)
        dm_builder_expect(b, (size_t)expect); /* the whole: a second half merges into it */
    if (!b) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    uint64_t rows = 0;
    /* One stream by default: one COPY on conn.  With database.copy_streams = 2, a batch of
     * 256 blocks or more is read as two halves of its block range (ctid), on two connections
     * of their own and two threads, both in the snapshot in which the range was measured: the
     * halves are then exactly the rows one COPY would have read, whatever is written
     * meanwhile.  A half whose connection is refused (a connection limit, say) is read on
     * conn afterwards, which holds that snapshot. */
    copy_half halves[2];
    int nh = 1;
    long long blk[3] = {0, 0, 0};
    char snap[128] = "";
    bool in_snap = false;
    if (cfg && cfg->copy_streams == 2 && where && *where) {
        if ((in_snap = export_snapshot(conn, snap, sizeof snap)) &&
            split_point(conn, table->qualified, where, params, nparams, blk))
            nh = 2;
    }
    if (in_snap && nh == 1) {
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        in_snap = false;
    }
    char *wh[2] = {NULL, NULL};
    for (int h = 0; h < nh; h++) {
        memset(&halves[h], 0, sizeof halves[h]);
        halves[h].cfg = cfg;
        halves[h].conn = nh == 2 ? NULL : conn;
        halves[h].table = table;
        halves[h].sel = sel;
        halves[h].n = n;
        halves[h].params = params;
        halves[h].nparams = nparams;
        halves[h].where = where;
        halves[h].b = h == 0 ? b : dm_reconcile_table_builder(sel, n);
        if (h == 1 && halves[h].b)
            dm_builder_keep_rows(halves[h].b, keep, nkeep);
        if (nh == 2) {
            size_t wl = strlen(where) + 128;
            wh[h] = malloc(wl);
            if (wh[h])
                snprintf(wh[h], wl, "(%s) AND ctid >= '(%lld,0)'::tid AND ctid < '(%lld,0)'::tid",
                         where, blk[h], blk[h + 1]);
            halves[h].where = wh[h];
            halves[h].snapshot = snap;
        }
        bool oom = !halves[h].b || (nh == 2 && !wh[h]);
        if (oom || (sp && spill_columns(halves[h].b, n, sp, h, err, errlen) != 0)) {
            if (oom)
                snprintf(err, errlen, "out of memory");
            if (h == 1)
                dm_builder_free(halves[1].b);
            free(wh[0]);
            free(wh[1]);
            if (in_snap)
                dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
            goto out;
        }
    }
    pthread_t th;
    bool threaded = nh == 2 && pthread_create(&th, NULL, copy_half_run, &halves[1]) == 0;
    copy_half_run(&halves[0]);
    if (nh == 2 && !threaded)
        copy_half_run(&halves[1]);
    if (threaded)
        pthread_join(th, NULL);
    for (int h = 0; h < nh; h++)
        if (halves[h].rc == NO_CONNECTION) {
            dm_logf(DM_LOG_WARN,
                    "no second connection for the batch's read: half of it is read "
                    "on the first",
                    "error=%s", halves[h].err);
            halves[h].conn = conn;
            halves[h].snapshot = NULL;
            copy_half_run(&halves[h]);
        }
    /* the exporting transaction (read only) ends once both halves have read in its snapshot */
    if (in_snap)
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
    int copy_rc = 0;
    for (int h = 0; h < nh && copy_rc == 0; h++) {
        if (halves[h].rc != 0) {
            snprintf(err, errlen, "%s", halves[h].err);
            copy_rc = -1;
            if (halves[h].rc == DM_DB_BAD_VALUE)
                rc = DM_RUN_BAD_DATA; /* the same rows fail every read */
        }
    }
    if (copy_rc == 0 && nh == 2 && dm_builder_merge(b, halves[1].b, halves[0].rows) != 0) {
        snprintf(err, errlen, "out of memory");
        copy_rc = -1;
    }
    if (nh == 2)
        dm_builder_free(halves[1].b);
    free(wh[0]);
    free(wh[1]);
    if (copy_rc != 0)
        goto out;
    rows = halves[0].rows + (nh == 2 ? halves[1].rows : 0);
    (void)rows;
    char src[600];
    snprintf(src, sizeof src, "table %s", table->name);
    if ((sp ? dm_builder_finish_begin(b, src, out) : dm_builder_finish(b, src, out)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (sp) { /* the values stay in the builder and the spill files until their group */
        sp->b = b;
        b = NULL;
    }
    out->table_rows = true;
    /* the columns not read, listed with the reason in every report (monitor/reconcile.h) */
    for (size_t i = 0; nleft > 0 && i < ncols; i++) {
        char reason[600];
        if (!wanted(cfg, &cols[i], skip) || !dm_reconcile_left_out(&cols[i], reason, sizeof reason))
            continue;
        if (dm_dataset_add_left_out(out, cols[i].name, reason) != 0) {
            snprintf(err, errlen, "out of memory");
            dm_dataset_release(out);
            goto out;
        }
    }
    rc = DM_RUN_OK;
out:
    dm_builder_free(b);
    free(sel);
    return rc;
}

static char *quote_ident(PGconn *conn, const char *id)
{
    char *q = PQescapeIdentifier(conn, id, strlen(id));
    if (!q)
        return NULL;
    char *r = strdup(q);
    PQfreemem(q);
    return r;
}

/* Create dir and its missing parents with mode; what names it in err ("reports directory"). */
static int mkdir_p(const char *dir, mode_t mode, const char *what, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "could not create the %s \"%s\": %s", what, path, strerror(errno));
    return -1;
}

static char *results_json(const dm_comparison *cmp)
{
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    for (size_t i = 0; i < cmp->ncols; i++) {
        const stats_column_result *c = &cmp->cols[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        char th[STATS_DOUBLE_BUFLEN], sc[STATS_DOUBLE_BUFLEN];
        stats_format_double(c->threshold, th, sizeof th);
        stats_format_double(c->score, sc, sizeof sc);
        cJSON_AddStringToObject(o, "n", c->name);
        cJSON_AddStringToObject(o, "t", c->kind == STATS_NUM ? "num" : "cat");
        cJSON_AddStringToObject(o, "s", stats_test_name(c->test));
        cJSON_AddStringToObject(o, "th", th);
        cJSON_AddStringToObject(o, "sc", sc);
        cJSON_AddBoolToObject(o, "d", c->drifted);
        cJSON_AddNumberToObject(o, "rr", (double)c->ref.rows);
        cJSON_AddNumberToObject(o, "rm", (double)(c->ref.missing + c->ref.nonfinite));
        cJSON_AddNumberToObject(o, "cr", (double)c->cur.rows);
        cJSON_AddNumberToObject(o, "cm", (double)(c->cur.missing + c->cur.nonfinite));
        cJSON *det = cJSON_AddObjectToObject(o, "det");
        if (det) {
            cJSON_AddNumberToObject(det, "ref_missing", (double)c->ref.missing);
            cJSON_AddNumberToObject(det, "ref_nonfinite", (double)c->ref.nonfinite);
            cJSON_AddNumberToObject(det, "cur_missing", (double)c->cur.missing);
            cJSON_AddNumberToObject(det, "cur_nonfinite", (double)c->cur.nonfinite);
            if (c->kind == STATS_CAT) {
                cJSON_AddNumberToObject(det, "unseen_categories", (double)c->unseen_categories);
                cJSON_AddNumberToObject(det, "unseen_share", c->unseen_share);
            }
            /* the model's importance (010_model.sql: column_history.importance), as the
             * report spells it */
            char imp[STATS_DOUBLE_BUFLEN];
            if (isfinite(c->importance))
                cJSON_AddRawToObject(det, "importance",
                                     stats_format_double(c->importance, imp, sizeof imp));
        }
        cJSON_AddItemToArray(a, o);
    }
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* In the run's transaction: driftmon.units_done (the assembly still this daemon's; the unit
 * run deleted, a periodic window recorded).  DM_RUN_OK, DM_RUN_LOST or DM_RUN_ENV with err. */
static int units_done(PGconn *conn, const dm_run_target *t, const char *id, char *err,
                      size_t errlen)
{
    const char *p[2] = {id, t->split_by};
    PGresult *r =
        PQexecParams(conn, "SELECT driftmon.units_done($1::bigint, $2)", 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        dm_db_fail(r, conn, "could not close the work units", err, errlen);
        return DM_RUN_ENV;
    }
    bool ours = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (ours)
        return DM_RUN_OK;
    snprintf(err, errlen, "lost the assembly of the work units of run %s: another worker has it",
             id);
    return DM_RUN_LOST;
}

/* The transaction that makes the run exist, in two calls of functions the daemon's role may
 * execute (sql/011_roles.sql; the monitor's name last, 012_monitors.sql):
 * driftmon.record_results chains the column results and returns the chain head after them; the JSON
 * report is rendered with that head (run->chain_head) and written to out->json; driftmon.record_run
 * chains the run row, which holds the JSON's sha256, last (sql/009_chain.sql), with its retrain
 * alert and the batch marked done. */
static int commit_run(PGconn *conn, const dm_config *cfg, const dm_run_target *t,
                      const char *worker, const dm_refinfo *ri, const dm_comparison *cmp,
                      int64_t run_id, const char *started, const dm_run_result *out,
                      const char *html_sha, const char *html_doc, rpt_run *run, char *err,
                      size_t errlen)
{
    char *report_json = NULL;
    char json_sha[65], head[65];
    const char *mon = dm_config_monitor_name(cfg);
    if (dm_db_exec(conn, "BEGIN", 0, NULL, "could not begin the run's transaction", err, errlen) !=
        0)
        return -1;
    PGresult *r;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    char *rj = results_json(cmp);
    if (!rj) {
        snprintf(err, errlen, "out of memory");
        goto rollback;
    }
    /* a daemon's claim (worker): committed only while the batch is still ours and not done (a
     * lease that expired under a slow run may have passed it to another daemon) */
    const char *pr[5] = {id, t->batch, t->batch ? worker : NULL, rj, mon};
    r = PQexecParams(conn, "SELECT driftmon.record_results($1::bigint, $2, $3, $4::jsonb, $5)", 5,
                     NULL, pr, NULL, NULL, 0);
    free(rj);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        dm_db_fail(r, conn, "could not record the column results (run `driftmon init`?)", err,
                   errlen);
        goto rollback;
    }
    if (PQgetisnull(r, 0, 0)) {
        PQclear(r);
        snprintf(err, errlen, "lost the claim on batch \"%s\": another worker has it or it is done",
                 t->batch);
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return DM_RUN_LOST;
    }
    if (PQgetlength(r, 0, 0) != 64) {
        dm_db_fail(r, conn, "could not read the chain head", err, errlen);
        goto rollback;
    }
    memcpy(head, PQgetvalue(r, 0, 0), 65);
    PQclear(r);
    /* the JSON report carries the chain head after this run's results */
    run->chain_head = head;
    report_json = rpt_json_render(run);
    run->chain_head = NULL;
    if (!report_json) {
        snprintf(err, errlen, "out of memory rendering the reports");
        goto rollback;
    }
    if (dm_write_file_atomic(out->json, report_json, strlen(report_json), err, errlen) != 0)
        goto rollback;
    dm_sha256_hex(report_json, strlen(report_json), json_sha);
    char refid[24], ncol[24], ndr[24], share[STATS_DOUBLE_BUFLEN], dshare[STATS_DOUBLE_BUFLEN],
        frac[STATS_DOUBLE_BUFLEN];
    snprintf(refid, sizeof refid, "%lld", (long long)ri->id);
    snprintf(ncol, sizeof ncol, "%zu", cmp->verdict.number_of_columns);
    snprintf(ndr, sizeof ndr, "%zu", cmp->verdict.number_of_drifted_columns);
    stats_format_double(cmp->verdict.share_of_drifted_columns, share, sizeof share);
    stats_format_double(cfg->drift_share, dshare, sizeof dshare);
    stats_format_double(cfg->retrain_fraction, frac, sizeof frac);
    const char *all[25] = {id,
                           t->batch,
                           t->batch ? NULL : t->since,
                           t->batch ? NULL : t->until,
                           refid,
                           started,
                           ncol,
                           ndr,
                           share,
                           dshare,
                           cmp->verdict.dataset_drift ? "true" : "false",
                           frac,
                           cmp->verdict.retrain ? "true" : "false",
                           out->html,
                           html_sha,
                           out->json,
                           json_sha,
                           cfg->sha256[0] ? cfg->sha256 : NULL,
                           ri->sha256,
                           DRIFTMON_VERSION,
                           report_json,
                           html_doc,    /* 005_reports.sql: the report as written */
                           report_json, /* 009_chain.sql: the JSON as written, for verify */
                           cfg->notify_channel,
                           mon}; /* 012_monitors.sql */
    r = PQexecParams(conn,
                     "SELECT driftmon.record_run($1::bigint, $2, $3::timestamptz, "
                     "$4::timestamptz, $5::bigint, $6::timestamptz, $7::int, $8::int, $9::float8, "
                     "$10::float8, $11::boolean, $12::float8, $13::boolean, $14, $15, $16, $17, "
                     "$18, $19, $20, $21::jsonb, $22, $23, $24, $25)",
                     25, NULL, all, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_db_fail(r, conn, "could not record the run", err, errlen);
        goto rollback;
    }
    PQclear(r);
    if (t->unit) { /* a unit run's assembly: still ours, and gone with this commit */
        int lrc = units_done(conn, t, id, err, errlen);
        if (lrc != DM_RUN_OK) {
            dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
            free(report_json);
            return lrc;
        }
    }
    r = PQexec(conn, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        dm_db_fail(r, conn, "could not commit the run", err, errlen);
        goto rollback;
    }
    PQclear(r);
    free(report_json);
    return DM_RUN_OK;
rollback:
    dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
    free(report_json);
    return DM_RUN_ENV;
}

/* "first .. last" timestamp of the rows a run compares, for the report's header; "" when it
 * cannot be had (no timestamp column, a query error: the header then leaves it out).  table
 * is the check's table, as the catalog gave it. */
static void time_span(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                      const char *where, const char *const *params, size_t nparams, char *out,
                      size_t len)
{
    out[0] = '\0';
    char *ts = quote_ident(conn, cfg->timestamp_column);
    size_t sl = strlen(table->qualified) + (ts ? 2 * strlen(ts) : 0) + strlen(where) + 200;
    char *sql = ts ? malloc(sl) : NULL;
    if (sql) {
        snprintf(sql, sl,
                 "SELECT to_char(min(%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' .. ' || "
                 "to_char(max(%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' FROM %s "
                 "WHERE %s",
                 ts, ts, table->qualified, where);
        PGresult *r = PQexecParams(conn, sql, (int)nparams, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    free(sql);
    free(ts);
}

/* The reference loads on its own connection while the main one reads the batch. */
typedef struct {
    const dm_config *cfg;
    dm_refcache *cache;
    int status;
    double secs;
    char err[1024];
    char cache_dir[4096]; /* "" when there is none */
} ref_job;

static void *ref_thread(void *arg)
{
    ref_job *j = arg;
    double t0 = now_s();
    PGconn *c = dm_db_connect(j->cfg->conninfo, j->err, sizeof j->err);
    if (!c) {
        j->status = DM_RUN_ENV;
        return NULL;
    }
    /* a verified local copy of the stored profile spares moving it again (refstore.h); it
     * lives in the cache directory (config.h), never among the reports */
    char *cache_dir = j->cache_dir;
    char cerr[600];
    if (dm_config_cache_dir(j->cfg, cache_dir, sizeof j->cache_dir, cerr, sizeof cerr) != 0 ||
        mkdir_p(cache_dir, 0700, "cache directory", cerr, sizeof cerr) != 0) {
        dm_logf(DM_LOG_WARN, "no reference cache: the reference is read from the database",
                "reason=%s", cerr);
        cache_dir[0] = '\0';
    }
    char legacy[4200]; /* where versions before cache.dir kept it */
    snprintf(legacy, sizeof legacy, "%s/.reference-cache",
             j->cfg->reports_dir ? j->cfg->reports_dir : "reports");
    if (strcmp(legacy, cache_dir) != 0)
        dm_ref_cache_remove(legacy);
    if (dm_ref_load_cached(c, j->cfg->reference_name, 0, cache_dir, &j->cache->ds, &j->cache->info,
                           j->err, sizeof j->err) != 0)
        j->status = strstr(j->err, "does not exist") ? DM_RUN_INPUT : DM_RUN_ENV;
    else
        j->status = DM_RUN_OK;
    PQfinish(c);
    j->secs = now_s() - t0;
    return NULL;
}

/* Wait for the reference (loaded and verified on its own connection, ref_thread). */
static int ref_join(pthread_t th, bool *pending, ref_job *job, dm_refcache *rc, double *secs,
                    char *err, size_t errlen)
{
    if (!*pending)
        return DM_RUN_OK;
    pthread_join(th, NULL);
    *pending = false;
    *secs = job->secs;
    if (job->status != DM_RUN_OK) {
        snprintf(err, errlen, "%s", job->err);
        return job->status;
    }
    rc->loaded = true;
    return DM_RUN_OK;
}

/* "batch "B"" or "window [S, U)", for messages (untrusted values shown cut, escaped). */
static void target_name(const dm_run_target *t, char *buf, size_t len)
{
    char a[DM_SHOWN_LEN], b[DM_SHOWN_LEN];
    if (t->batch) {
        dm_show_value(t->batch, strlen(t->batch), a, sizeof a);
        snprintf(buf, len, "batch \"%s\"", a);
    } else {
        dm_show_value(t->since, strlen(t->since), a, sizeof a);
        dm_show_value(t->until, strlen(t->until), b, sizeof b);
        snprintf(buf, len, "window [%s, %s)", a, b);
    }
}

/* The check's key values as its read takes them: a batch id that the batch column's type
 * cannot hold (DM_RUN_BAD_DATA), or a window bound that is not a timestamp (--since,
 * --until: DM_RUN_INPUT), is bad input named here, not a failed read.  The batch is tried
 * in the read's own condition (LIMIT 0: no row is read).  DM_RUN_OK, or the code with
 * err. */
static int check_target(PGconn *conn, const dm_db_table *tbl, const dm_db_column *key,
                        const dm_run_target *t, const char *where, const char *const *params,
                        size_t nparams, char *err, size_t errlen)
{
    char shown[DM_SHOWN_LEN], why[512];
    for (size_t i = 0; i < (t->batch ? 1 : nparams); i++) {
        PGresult *r;
        if (t->batch) {
            size_t sl = strlen(tbl->qualified) + strlen(where) + 64;
            char *sql = malloc(sl);
            if (!sql) {
                snprintf(err, errlen, "out of memory");
                return DM_RUN_ENV;
            }
            snprintf(sql, sl, "SELECT 1 FROM %s WHERE %s LIMIT 0", tbl->qualified, where);
            r = PQexecParams(conn, sql, (int)nparams, NULL, params, NULL, NULL, 0);
            free(sql);
        } else {
            r = PQexecParams(conn, "SELECT $1::pg_catalog.timestamptz", 1, NULL, &params[i], NULL,
                             NULL, 0);
        }
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            PQclear(r);
            continue;
        }
        if (!dm_db_is_data_error(r)) {
            dm_db_fail(r, conn, "could not look up the rows to check", err, errlen);
            return DM_RUN_ENV;
        }
        dm_db_data_error(r, true, why, sizeof why);
        PQclear(r);
        dm_show_value(params[i], strlen(params[i]), shown, sizeof shown);
        if (!t->batch) {
            snprintf(err, errlen, "invalid %s \"%s\": %s", i == 0 ? "--since" : "--until", shown,
                     why);
            return DM_RUN_INPUT;
        }
        snprintf(err, errlen, "invalid batch \"%s\" for column \"%s\" (%s): %s", shown, key->name,
                 key->type, why);
        return DM_RUN_BAD_DATA;
    }
    return DM_RUN_OK;
}

/* The importances a check uses (issue 17, sql/010_model.sql): those stored with the
 * reference version, which are the reference's; a config's model.importance that differs
 * from them, or cannot be read, is a warning and not used.  Without stored ones, the
 * config's file (own; unreadable: bad input) or none.  The run records the sha256 of the
 * ones used.  0, or -1 with err. */
static int run_importance(const dm_config *cfg, const dm_refinfo *ri, dm_importance *own,
                          const dm_importance **use, char *err, size_t errlen)
{
    const dm_importance *stored = ri->importance;
    char lerr[1024];
    *use = stored;
    if (!cfg->importance_path)
        return 0;
    if (dm_importance_load(cfg->importance_path, own, stored ? lerr : err,
                           stored ? sizeof lerr : errlen) != 0) {
        if (!stored)
            return -1;
        dm_logf(DM_LOG_WARN,
                "model.importance cannot be read: the importances stored with the reference "
                "are used",
                "reference=%s@%d stored_sha256=%s error=%s", ri->name, ri->version, stored->sha256,
                lerr);
        return 0;
    }
    if (!stored)
        *use = own;
    else if (strcmp(own->sha256, stored->sha256) != 0)
        dm_logf(DM_LOG_WARN,
                "model.importance differs from the importances stored with the reference: "
                "the stored ones are used",
                "file=%s sha256=%s reference=%s@%d stored_sha256=%s", cfg->importance_path,
                own->sha256, ri->name, ri->version, stored->sha256);
    return 0;
}

char *dm_run_where(const char *qkey, bool batch)
{
    size_t wl = strlen(qkey) * 2 + 64;
    char *where = malloc(wl);
    if (!where)
        return NULL;
    if (batch)
        snprintf(where, wl, "%s = $1", qkey);
    else
        snprintf(where, wl, "%s >= $1::timestamptz AND %s < $2::timestamptz", qkey, qkey);
    return where;
}

/* ---- a check by column groups (issue 20) ------------------------------------------------ */

/* The part of limits.memory that is not the window's numeric values: the program, its
 * buffers, the results and reports. */
#define GROUP_FIXED_BYTES ((uint64_t)64 << 20)

/* Bytes of the reference held for the whole comparison: none for a mapped profile (its
 * pages are given back column by column as the columns are tested), else its values and
 * counts (16 B a distinct number, about 32 B a category). */
static uint64_t ref_resident(const dm_dataset *ref)
{
    if (!ref || ref->arena_is_file)
        return 0;
    uint64_t b = 0;
    for (size_t i = 0; i < ref->ncols; i++) {
        const dm_column *c = &ref->col[i];
        b += c->storage == DM_STORE_NUM ? (uint64_t)c->n_distinct * 16 : (uint64_t)c->n_cats * 32;
    }
    return b;
}

/* Numeric columns a group may hold for a window of `rows` rows: what limits.memory leaves
 * once the fixed part, the finish's scratch (16 B a row for each of two finishing threads,
 * monitor/dataset.c) and the resident reference are taken, at 8 B a value (the builder's
 * raw array of a column); at least 1. */
static size_t group_width(const dm_config *cfg, uint64_t rows, const dm_dataset *ref)
{
    uint64_t fixed = GROUP_FIXED_BYTES + rows * 32 + ref_resident(ref);
    uint64_t per = rows > 0 ? rows * 8 : 8;
    uint64_t w = cfg->memory_limit > fixed ? (cfg->memory_limit - fixed) / per : 0;
    return w < 1 ? 1 : w > SIZE_MAX ? SIZE_MAX : (size_t)w;
}

/* A check's rows read and compared one group of columns at a time.  The columns read are
 * dm_run_read_table's, in its order (the current dataset's); the numeric-typed ones are cut
 * into groups of `width` in that order, and group 0 also holds every other column (text,
 * bool, enum: their categories stay until the comparison is released, and their storage,
 * which the pairing needs, is known only once they are read).  Each group is one
 * dm_run_read_table of its columns, all in one REPEATABLE READ READ ONLY transaction on conn,
 * so that every group reads the same rows. */
typedef struct {
    PGconn *conn;
    const dm_config *cfg;
    const dm_db_table *tbl;
    const char *where;
    const char *const *params;
    size_t nparams;
    const char *const *keys; /* the check's skip list: key columns */
    size_t ncur;
    const dm_db_column **curcol; /* per current column, its table column */
    size_t ngroups;
    size_t **cols; /* per group, current columns ascending */
    size_t *ncols;
    const char **gskip; /* one group's skip list: keys and the other groups' columns */
    dm_reconciled *pairs;
    dm_dataset gds; /* the values of the group being compared (g >= 1) */
    uint64_t rows;  /* of the window, counted in the transaction */
    /* work units (issue 20): limits.unit_values when the check may be cut (t->split_by),
     * else 0; split: plan_read cut it (its groups are the units) */
    uint64_t unit_values;
    bool split;
    int status;      /* DM_RUN_* of a failed read */
    bool ref_failed; /* plan_read's error is the reference's, not the read's */
    double read_s;
    /* the groups read by one COPY, groups k >= 1 spilled (dm_run_read_once), not one COPY each */
    bool one_read;
    size_t *group_of;
    dm_table_read *once;
} col_groups;

static void col_groups_release(col_groups *g)
{
    for (size_t k = 0; g->cols && k < g->ngroups; k++)
        free(g->cols[k]);
    free(g->cols);
    free(g->ncols);
    free(g->curcol);
    free(g->gskip);
    dm_dataset_release(&g->gds);
    free(g->group_of);
    dm_table_read_free(g->once);
}

/* The current dataset's columns (g->curcol, dm_run_read_table's, in its order) and the
 * group arrays for ngroups groups; the numeric columns but the outcome ones counted in
 * *nnum.  0, or -1 (out of memory). */
static int plan_columns(col_groups *g, size_t *nnum)
{
    const dm_db_table *t = g->tbl;
    size_t nkeys = 0;
    *nnum = 0;
    while (g->keys && g->keys[nkeys])
        nkeys++;
    g->curcol = calloc(t->ncols + 1, sizeof *g->curcol);
    g->gskip = calloc(t->ncols + nkeys + 1, sizeof *g->gskip);
    if (!g->curcol || !g->gskip)
        return -1;
    for (size_t i = 0; i < t->ncols; i++) {
        if (!selected(g->cfg, &t->cols[i], g->keys) || t->cols[i].kind == DM_DB_UNSUPPORTED)
            continue;
        *nnum += t->cols[i].kind == DM_DB_NUMERIC && !is_outcome(g->cfg, t->cols[i].name);
        g->curcol[g->ncur++] = &t->cols[i];
    }
    return 0;
}

static int alloc_groups(col_groups *g)
{
    g->cols = calloc(g->ngroups, sizeof *g->cols);
    g->ncols = calloc(g->ngroups, sizeof *g->ncols);
    if (!g->cols || !g->ncols)
        return -1;
    for (size_t k = 0; k < g->ngroups; k++)
        if (!(g->cols[k] = malloc((g->ncur + 1) * sizeof *g->cols[k])))
            return -1;
    return 0;
}

/* Cut the columns into groups of width numeric columns.  0, or -1 (out of memory). */
static int plan_groups(col_groups *g, size_t width)
{
    size_t nnum;
    if (plan_columns(g, &nnum) != 0)
        return -1;
    g->ngroups = nnum > 0 ? (nnum + width - 1) / width : 1;
    width = nnum > 0 ? (nnum + g->ngroups - 1) / g->ngroups : 1; /* groups of even size */
    if (alloc_groups(g) != 0)
        return -1;
    size_t seen = 0;
    for (size_t j = 0; j < g->ncur; j++) {
        /* the outcome columns in group 0: their rows are kept for the comparison's start */
        bool outcome = is_outcome(g->cfg, g->curcol[j]->name);
        size_t k = g->curcol[j]->kind == DM_DB_NUMERIC && !outcome ? seen++ / width : 0;
        g->cols[k][g->ncols[k]++] = j;
    }
    return 0;
}

int dm_run_read_once(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                     const char *where, const char *const *params, size_t nparams,
                     const char *const *skip, uint64_t expect, const size_t *group_of,
                     size_t ngroups, uint64_t spilled_values, dm_table_read **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    dm_table_read *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    r->group_of = group_of;
    r->ngroups = ngroups;
    char why[768];
    if (dm_spill_check_space(dm_spill_dir(), dm_spill_bytes(spilled_values), why, sizeof why) !=
            0 ||
        !(r->spill[0] = dm_spill_open(dm_spill_dir(), ngroups, why, sizeof why))) {
        dm_logf(DM_LOG_WARN, "no spill file for the column groups: one COPY for each group",
                "table=%s groups=%zu error=%s", table->name, ngroups, why);
        free(r);
        return DM_RUN_OK;
    }
    int rc = read_table_sp(conn, cfg, table, where, params, nparams, skip, expect, r, &r->all, err,
                           errlen);
    r->group_of = NULL;
    if (rc != DM_RUN_OK) {
        dm_table_read_free(r);
        return rc;
    }
    *out = r;
    return DM_RUN_OK;
}

size_t dm_table_read_columns(const dm_table_read *r)
{
    return r->all.ncols;
}

int dm_table_read_group(dm_table_read *r, size_t k, const size_t *cols, size_t n, dm_dataset *out,
                        char *err, size_t errlen)
{
    dm_dataset *all = &r->all;
    dm_dataset_init(out);
    for (size_t m = 0; m < n; m++)
        if (cols[m] >= all->ncols || (m > 0 && cols[m] <= cols[m - 1])) {
            snprintf(err, errlen, "column group %zu: column %zu out of order", k + 1, cols[m]);
            return DM_RUN_ENV;
        }
    if (k > 0 && dm_builder_unspill(r->b, cols, n, r->spill, 2) != 0) {
        const char *e = dm_spill_error(r->spill[0])[0] ? dm_spill_error(r->spill[0])
                        : r->spill[1]                  ? dm_spill_error(r->spill[1])
                                                       : "";
        if (e[0])
            snprintf(err, errlen, "%s", e);
        else
            snprintf(err, errlen, "out of memory reading back column group %zu of %s", k + 1,
                     all->source);
        return DM_RUN_ENV;
    }
    out->col = calloc(all->ncols + 1, sizeof *out->col);
    out->source = strdup(all->source ? all->source : "");
    dm_column *col = calloc(n + 1, sizeof *col);
    if (!out->col || !out->source || !col)
        goto oom;
    out->ncols = all->ncols;
    for (size_t m = 0; m < n; m++) { /* the counts, moved */
        out->col[cols[m]] = all->col[cols[m]];
        memset(&all->col[cols[m]], 0, sizeof all->col[cols[m]]);
    }
    if (dm_builder_finish_columns(r->b, cols, n, out) != 0)
        goto oom;
    /* the group's columns alone, in order; the dataset's ones (the counts of columns whose
     * values are all distinct point at them) stay out's */
    for (size_t m = 0; m < n; m++) {
        col[m] = out->col[cols[m]];
        memset(&out->col[cols[m]], 0, sizeof col[m]);
    }
    free(out->col);
    out->col = col;
    out->ncols = n;
    out->rows = all->rows;
    out->table_rows = true;
    if (k == 0) {
        out->kept = all->kept;
        out->nkept = all->nkept;
        out->left_out = all->left_out;
        out->nleft_out = all->nleft_out;
        all->kept = NULL;
        all->nkept = 0;
        all->left_out = NULL;
        all->nleft_out = 0;
    }
    return DM_RUN_OK;
oom:
    if (out->col != col)
        free(col);
    dm_dataset_release(out);
    snprintf(err, errlen, "out of memory");
    return DM_RUN_ENV;
}

void dm_table_read_free(dm_table_read *r)
{
    if (!r)
        return;
    dm_builder_free(r->b);
    dm_dataset_release(&r->all);
    dm_spill_close(r->spill[0]);
    dm_spill_close(r->spill[1]);
    free(r);
}

static int read_group(col_groups *g, size_t k, dm_dataset *out, char *err, size_t errlen);

/* read_group when g->one_read: group 0 makes the one read (dm_run_read_once: or, with no
 * spill file, turns g->one_read off and reads its own COPY), each group is then taken from
 * it. */
static int read_group_spilled(col_groups *g, size_t k, dm_dataset *out, char *err, size_t errlen)
{
    double t0 = now_s();
    int rc = DM_RUN_OK;
    if (k == 0) {
        g->group_of = malloc((g->ncur + 1) * sizeof *g->group_of);
        if (!g->group_of) {
            snprintf(err, errlen, "out of memory");
            return DM_RUN_ENV;
        }
        uint64_t spilled = 0;
        for (size_t q = 0; q < g->ngroups; q++)
            for (size_t m = 0; m < g->ncols[q]; m++)
                g->group_of[g->cols[q][m]] = q;
        for (size_t q = 1; q < g->ngroups; q++)
            spilled += g->ncols[q] * g->rows;
        rc = dm_run_read_once(g->conn, g->cfg, g->tbl, g->where, g->params, g->nparams, g->keys,
                              g->rows, g->group_of, g->ngroups, spilled, &g->once, err, errlen);
        if (rc == DM_RUN_OK && !g->once) {
            g->one_read = false;
            return read_group(g, 0, out, err, errlen); /* no spill file: one COPY per group */
        }
        if (rc == DM_RUN_OK && dm_table_read_columns(g->once) != g->ncur) {
            snprintf(err, errlen, "table \"%s\": read %zu columns of %zu", g->tbl->name,
                     dm_table_read_columns(g->once), g->ncur);
            rc = DM_RUN_ENV;
        }
    }
    if (rc == DM_RUN_OK)
        rc = dm_table_read_group(g->once, k, g->cols[k], g->ncols[k], out, err, errlen);
    g->read_s += now_s() - t0;
    return rc;
}

/* Read group k's columns into out (dm_run_read_table: the others skipped; the arrays sized
 * from the counted rows). */
static int read_group(col_groups *g, size_t k, dm_dataset *out, char *err, size_t errlen)
{
    if (g->one_read)
        return read_group_spilled(g, k, out, err, errlen);
    double t0 = now_s();
    size_t n = 0;
    for (size_t i = 0; g->keys && g->keys[i]; i++)
        g->gskip[n++] = g->keys[i];
    for (size_t j = 0, m = 0; j < g->ncur; j++) {
        if (m < g->ncols[k] && g->cols[k][m] == j)
            m++;
        else
            g->gskip[n++] = g->curcol[j]->name;
    }
    g->gskip[n] = NULL;
    int rc = read_table(g->conn, g->cfg, g->tbl, g->where, g->params, g->nparams, g->gskip, g->rows,
                        out, err, errlen);
    if (rc == DM_RUN_OK && out->ncols != g->ncols[k]) {
        snprintf(err, errlen, "table \"%s\": read %zu columns of a group of %zu", g->tbl->name,
                 out->ncols, g->ncols[k]);
        dm_dataset_release(out);
        rc = DM_RUN_ENV;
    }
    g->read_s += now_s() - t0;
    return rc;
}

/* The current dataset from group 0's: its columns where they belong, the numeric columns of
 * the other groups as their names and storage alone, standing for "has values" (n = 1) until
 * their group is read (dm_reconcile_update).  t0 is released. */
static int skeleton(col_groups *g, dm_dataset *t0, const char *src, dm_dataset *cur)
{
    dm_dataset_init(cur);
    cur->col = calloc(g->ncur + 1, sizeof *cur->col);
    cur->source = strdup(src);
    int rc = cur->col && cur->source ? 0 : -1;
    if (rc == 0)
        cur->ncols = g->ncur;
    for (size_t j = 0, k = 0; rc == 0 && j < g->ncur; j++) {
        dm_column *c = &cur->col[j];
        if (k < g->ncols[0] && g->cols[0][k] == j) {
            *c = t0->col[k];
            memset(&t0->col[k++], 0, sizeof *c);
            continue;
        }
        c->name = strdup(g->curcol[j]->name);
        c->storage = DM_STORE_NUM;
        c->n = 1;
        rc = c->name ? 0 : -1;
    }
    cur->left_out = t0->left_out;
    cur->nleft_out = t0->nleft_out;
    cur->ones = t0->ones;
    cur->n_ones = t0->n_ones;
    cur->kept = t0->kept; /* the outcome columns' rows (group 0) */
    cur->nkept = t0->nkept;
    t0->left_out = NULL;
    t0->nleft_out = 0;
    t0->ones = NULL;
    t0->kept = NULL;
    t0->nkept = 0;
    cur->table_rows = true;
    cur->rows = t0->rows;
    dm_dataset_release(t0);
    return rc;
}

/* Group k's values (read into g->gds, which keeps them) lent to cur's columns, and their
 * pairs made again now that their counts are known.  0, or -1 (out of memory). */
static int lend_group(col_groups *g, size_t k, dm_dataset *cur)
{
    for (size_t m = 0; m < g->ncols[k]; m++) {
        dm_column *c = &cur->col[g->cols[k][m]];
        char *name = c->name;
        *c = g->gds.col[m];
        c->name = name;
    }
    return dm_reconcile_update(g->cfg, cur, g->pairs, g->cols[k], g->ncols[k]) != 0 ? -1 : 0;
}

/* dm_group_loader's load: group k >= 1 read, its columns' values lent to cur's columns
 * (g->gds keeps them) and their pairs made again now that their counts are known. */
static int load_group(void *ctx, size_t k, dm_dataset *cur, char *err, size_t errlen)
{
    col_groups *g = ctx;
    if (k == 0)
        return 0; /* read before the pairing */
    int rc = read_group(g, k, &g->gds, err, errlen);
    if (rc == DM_RUN_OK && g->gds.rows != cur->rows) {
        snprintf(err, errlen,
                 "table \"%s\": a group of columns read %llu rows, another %llu in the same "
                 "snapshot",
                 g->tbl->name, (unsigned long long)g->gds.rows, (unsigned long long)cur->rows);
        rc = DM_RUN_ENV;
    }
    if (rc != DM_RUN_OK) {
        g->status = rc;
        return -1;
    }
    if (lend_group(g, k, cur) != 0) {
        snprintf(err, errlen, "out of memory");
        g->status = DM_RUN_ENV;
        return -1;
    }
    return 0;
}

/* dm_group_loader's release: the group's values given back; each column keeps its counts
 * (missing, non-finite, n) for the report. */
static void release_group(void *ctx, size_t k, dm_dataset *cur)
{
    col_groups *g = ctx;
    for (size_t m = 0; m < g->ncols[k]; m++) {
        dm_column *c = &cur->col[g->cols[k][m]];
        if (c->storage != DM_STORE_NUM)
            continue; /* categories: the results point at them */
        if (k == 0) {
            dm_column_drop_numbers(c);
            continue;
        }
        c->value = NULL;
        c->count = NULL;
        c->n_distinct = 0;
        c->first_text = NULL;
        c->count_shared = c->value_shared = false;
    }
    if (k > 0)
        dm_dataset_release(&g->gds);
}

/* The rows a unit read against those its units were made for. */
static int unit_rows(const col_groups *g, const dm_unit_job *u, uint64_t rows, char *err,
                     size_t errlen)
{
    if (rows == u->rows)
        return DM_RUN_OK;
    snprintf(err, errlen,
             "table \"%s\": work unit %zu read %llu rows, its units were made for %llu (the rows "
             "changed)",
             g->tbl->name, u->unit, (unsigned long long)rows, (unsigned long long)u->rows);
    return DM_RUN_STALE;
}

/* Group 0 read (the text, score and label columns with the first numeric ones) and checked
 * against the rows the plan was made for (u NULL: the rows counted in the same snapshot; else
 * the rows unit u's run was made for), the current dataset's skeleton made, the pairs and the
 * importances taken: what a check by groups and a unit run's assembly both start from.
 * *read_failed: the error came from reading the rows.  DM_RUN_* with err. */
static int first_group(col_groups *g, const dm_unit_job *u, const dm_dataset *ref,
                       const dm_refinfo *ri, const char *src, dm_dataset *cur, dm_reconciled *pairs,
                       dm_importance *own_imp, const dm_importance **imp, bool *read_failed,
                       char *err, size_t errlen)
{
    const dm_config *cfg = g->cfg;
    dm_dataset t0;
    dm_dataset_init(&t0);
    int rc = read_group(g, 0, &t0, err, errlen);
    if (rc != DM_RUN_OK) {
        *read_failed = true;
        return rc;
    }
    if (u)
        rc = unit_rows(g, u, t0.rows, err, errlen);
    else if (t0.rows != g->rows) {
        snprintf(err, errlen, "table \"%s\": counted %llu rows, read %llu in the same snapshot",
                 g->tbl->name, (unsigned long long)g->rows, (unsigned long long)t0.rows);
        rc = DM_RUN_ENV;
    }
    if (rc != DM_RUN_OK) {
        dm_dataset_release(&t0);
        return rc;
    }
    if (skeleton(g, &t0, src, cur) != 0) {
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    if (dm_reconcile(cfg, ref, cur, pairs, err, errlen) != 0 ||
        run_importance(cfg, ri, own_imp, imp, err, errlen) != 0)
        return DM_RUN_INPUT;
    g->pairs = pairs;
    return DM_RUN_OK;
}

/* Read and compare by groups (g planned, its transaction open on g->conn): cur, pairs and
 * cmp as the whole read and dm_compare_run give them, byte for byte.  *read_failed: the
 * error came from reading the rows (the standby fallback applies).  DM_RUN_* with err; on
 * error cur, pairs and cmp are released. */
static int compare_by_groups(col_groups *g, const dm_dataset *ref, const dm_refinfo *ri,
                             const char *src, dm_dataset *cur, dm_reconciled *pairs,
                             dm_importance *own_imp, const dm_importance **imp, dm_comparison *cmp,
                             bool *read_failed, char *err, size_t errlen)
{
    const dm_config *cfg = g->cfg;
    *read_failed = false;
    g->one_read = true; /* one COPY, the other groups spilled (docs/SCALE.md step 3 (b)) */
    int rc = first_group(g, NULL, ref, ri, src, cur, pairs, own_imp, imp, read_failed, err, errlen);
    if (rc != DM_RUN_OK)
        return rc;
    dm_group_loader ld = {
        g->ngroups, (const size_t *const *)g->cols, g->ncols, load_group, release_group, g};
    g->status = DM_RUN_OK;
    int crc = dm_compare_groups(cfg, *imp, ref, cur, pairs, &ld, true, cmp, err, errlen);
    if (crc == 0)
        return DM_RUN_OK;
    if (g->status != DM_RUN_OK) {
        *read_failed = g->status == DM_RUN_ENV;
        return g->status;
    }
    return crc == DM_COMPARE_NONE_TESTED || crc == DM_COMPARE_BAD_INPUT ? DM_RUN_BAD_DATA
                                                                        : DM_RUN_ENV;
}

/* How the check reads its rows: *width 0 for all columns at once (today's read, whatever
 * the budget says: the rows fit), else the numeric columns per group, with g->rows counted
 * and the transaction the groups read in open on conn.  Whether the rows may not fit is
 * asked of the catalog first (the planner's estimate of the whole table's rows, or its size,
 * which the table's lookup brings: no query, no row read); only when they may not (or for a
 * view, which has neither) are the
 * window's rows counted, in the transaction, the reference joined (its resident part is
 * part of the budget) and the width taken from the count.  DM_RUN_* with err. */
static int plan_read(col_groups *g, pthread_t ref_th, bool *ref_pending, ref_job *job,
                     dm_refcache *rcache, double *ref_s, size_t *width, char *err, size_t errlen)
{
    *width = 0;
    size_t nnum = 0;
    for (size_t i = 0; i < g->tbl->ncols; i++)
        nnum += wanted(g->cfg, &g->tbl->cols[i], g->keys) && g->tbl->cols[i].kind == DM_DB_NUMERIC;
    if (nnum < 2)
        return DM_RUN_OK;
    const dm_dataset *ref = rcache->loaded ? &rcache->ds : NULL;
    double est = g->tbl->est_rows, heap = g->tbl->heap_bytes;
    /* work units: the whole table's values within limits.unit_values bound the window's */
    bool units = g->unit_values > 0;
    if (g->tbl->has_estimate && est >= 0 && est < 1e15 &&
        group_width(g->cfg, (uint64_t)est, ref) >= nnum &&
        (!units || est * (double)nnum <= (double)g->unit_values))
        return DM_RUN_OK;
    /* a table never analysed: its size bounds its values (a value takes at least a quarter
     * of its 8 bytes on disk, int2; a row at least 28 bytes, its header and line pointer) */
    if (!units && g->tbl->has_heap_bytes && heap >= 0 && heap < 1e15 &&
        4 * heap + heap / 28 * 32 + (double)(GROUP_FIXED_BYTES + ref_resident(ref)) <=
            (double)g->cfg->memory_limit)
        return DM_RUN_OK;
    warm(g->conn, g->cfg, g->tbl->ncols);
    if (dm_db_exec(g->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL,
                   "could not begin the read", err, errlen) != 0)
        return DM_RUN_ENV;
    size_t sl = strlen(g->tbl->qualified) + strlen(g->where) + 64;
    char *sql = malloc(sl);
    if (!sql) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(sql, sl, "SELECT pg_catalog.count(*) FROM %s WHERE %s", g->tbl->qualified, g->where);
    PGresult *r = PQexecParams(g->conn, sql, (int)g->nparams, NULL, g->params, NULL, NULL, 0);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        dm_db_fail(r, g->conn, "could not count the rows to check", err, errlen);
        goto fail;
    }
    g->rows = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    int rc = ref_join(ref_th, ref_pending, job, rcache, ref_s, err, errlen);
    if (rc != DM_RUN_OK) {
        g->ref_failed = true;
        dm_db_exec(g->conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return rc;
    }
    size_t w = group_width(g->cfg, g->rows, &rcache->ds);
    if (units && g->rows > 0 && (double)g->rows * (double)nnum > (double)g->unit_values) {
        uint64_t wu = g->unit_values / g->rows; /* a unit's numeric columns */
        wu = wu < 1 ? 1 : wu;
        if (wu < w)
            w = (size_t)wu;
        g->split = w < nnum;
    }
    if (w >= nnum) {
        dm_db_exec(g->conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
        return DM_RUN_OK;
    }
    *width = w;
    if (!g->split)
        dm_logf(DM_LOG_INFO, "reading the rows by column groups",
                "table=%s rows=%llu numeric_columns=%zu per_group=%zu groups=%zu memory_limit=%llu",
                g->tbl->name, (unsigned long long)g->rows, nnum, w, (nnum + w - 1) / w,
                (unsigned long long)g->cfg->memory_limit);
    return DM_RUN_OK;
fail:
    dm_db_exec(g->conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
    return DM_RUN_ENV;
}

/* ---- work units: one check over several daemons (issue 20) ----------------------------- */

/* The groups of a unit run: unit k >= 1 holds the columns its row names, group 0 every other
 * current column (as plan_groups makes group 0: text, outcome and the first numeric ones).
 * A named column that is no longer read: DM_RUN_STALE.  DM_RUN_* with err. */
static int plan_units(col_groups *g, const dm_unit_job *u, char *err, size_t errlen)
{
    size_t nnum;
    if (plan_columns(g, &nnum) != 0)
        goto oom;
    g->ngroups = u->nunits;
    if (alloc_groups(g) != 0)
        goto oom;
    size_t named = 0;
    for (size_t j = 0; j < g->ncur; j++) {
        size_t k = 0;
        for (size_t kk = 1; kk < u->nunits && k == 0; kk++)
            if (in_list(u->cols[kk], g->curcol[j]->name))
                k = kk;
        g->cols[k][g->ncols[k]++] = j;
        named += k > 0;
    }
    size_t want = 0;
    for (size_t kk = 1; kk < u->nunits; kk++)
        for (size_t m = 0; u->cols[kk][m]; m++)
            want++;
    if (named != want) {
        snprintf(err, errlen,
                 "table \"%s\": %zu of the %zu columns of the work units are no longer read (the "
                 "table changed since the units were made)",
                 g->tbl->name, want - named, want);
        return DM_RUN_STALE;
    }
    return DM_RUN_OK;
oom:
    snprintf(err, errlen, "out of memory");
    return DM_RUN_ENV;
}

/* Unit k >= 1: its columns read (one COPY) and compared, the result in out.  The current
 * dataset is the units' column names alone, the other groups' columns standing as "has
 * values" (the pairing is made by name and place, not by values): the pairs are those the
 * assembly makes, and the unit's own columns are paired again once read, as a grouped check
 * pairs them.  DM_RUN_* with err. */
static int unit_group(col_groups *g, const dm_unit_job *u, const dm_dataset *ref, const char *src,
                      dm_run_result *out, bool *read_failed, char *err, size_t errlen)
{
    const dm_config *cfg = g->cfg;
    size_t k = u->unit;
    dm_dataset cur;
    dm_dataset_init(&cur);
    dm_reconciled pairs;
    memset(&pairs, 0, sizeof pairs);
    dm_comparison cmp;
    bool have_cmp = false;
    int rc = DM_RUN_ENV;
    cur.col = calloc(g->ncur + 1, sizeof *cur.col);
    cur.source = strdup(src);
    if (!cur.col || !cur.source)
        goto oom;
    for (size_t j = 0; j < g->ncur; j++) {
        cur.col[cur.ncols].storage = DM_STORE_NUM;
        cur.col[cur.ncols].n = 1;
        if (!(cur.col[cur.ncols++].name = strdup(g->curcol[j]->name)))
            goto oom;
    }
    cur.table_rows = true;
    cur.rows = u->rows;
    if (dm_reconcile(cfg, ref, &cur, &pairs, err, errlen) != 0) {
        rc = DM_RUN_STALE; /* the planner paired these very names */
        goto out;
    }
    int crc = dm_compare_begin(cfg, NULL, ref, &cur, &pairs, true, &cmp, err, errlen);
    if (crc != 0) {
        rc = crc == DM_COMPARE_BAD_INPUT ? DM_RUN_BAD_DATA : DM_RUN_ENV;
        goto out;
    }
    have_cmp = true;
    g->pairs = &pairs;
    rc = read_group(g, k, &g->gds, err, errlen);
    if (rc != DM_RUN_OK) {
        *read_failed = true;
        goto out;
    }
    if ((rc = unit_rows(g, u, g->gds.rows, err, errlen)) != DM_RUN_OK)
        goto out;
    rc = DM_RUN_ENV;
    if (lend_group(g, k, &cur) != 0)
        goto oom;
    if (dm_compare_group(&cmp, g->cols[k], g->ncols[k], err, errlen) != 0) {
        have_cmp = false; /* released */
        goto out;
    }
    if (dm_compare_group_save(&cmp, g->cols[k], g->ncols[k], &out->unit_result, &out->unit_len, err,
                              errlen) != 0)
        goto out;
    rc = DM_RUN_OK;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = DM_RUN_ENV;
out:
    if (have_cmp)
        dm_comparison_release(&cmp);
    if (g->gds.ncols)
        release_group(g, k, &cur);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&cur);
    g->pairs = NULL;
    return rc;
}

/* The assembly (unit 0): group 0 read and compared as compare_by_groups does, every other
 * unit's saved result loaded in its place, the comparison finished: cur, pairs and cmp as a
 * grouped check gives them.  A unit's result that does not fit (made under another
 * configuration, reference or pairing): DM_RUN_STALE.  DM_RUN_* with err; on error cur,
 * pairs and cmp are released by the caller's path as compare_by_groups's are. */
static int unit_assemble(col_groups *g, const dm_unit_job *u, const dm_dataset *ref,
                         const dm_refinfo *ri, const char *src, dm_dataset *cur,
                         dm_reconciled *pairs, dm_importance *own_imp, const dm_importance **imp,
                         dm_comparison *cmp, bool *read_failed, char *err, size_t errlen)
{
    const dm_config *cfg = g->cfg;
    int rc = first_group(g, u, ref, ri, src, cur, pairs, own_imp, imp, read_failed, err, errlen);
    if (rc != DM_RUN_OK)
        return rc;
    int crc = dm_compare_begin(cfg, *imp, ref, cur, pairs, true, cmp, err, errlen);
    if (crc == 0) {
        crc = dm_compare_group(cmp, g->cols[0], g->ncols[0], err, errlen);
        release_group(g, 0, cur);
    }
    for (size_t k = 1; crc == 0 && k < u->nunits; k++) {
        if (dm_compare_group_load(cmp, u->result[k], u->result_len[k], err, errlen) == 0)
            continue;
        char *why = strdup(err);
        snprintf(err, errlen, "work unit %zu of run %lld: %s", k, (long long)u->run_id,
                 why ? why : "out of memory");
        free(why);
        dm_comparison_release(cmp);
        return DM_RUN_STALE;
    }
    if (crc == 0)
        crc = dm_compare_finish(cmp, err, errlen);
    if (crc == 0)
        return DM_RUN_OK;
    return crc == DM_COMPARE_NONE_TESTED || crc == DM_COMPARE_BAD_INPUT ? DM_RUN_BAD_DATA
                                                                        : DM_RUN_ENV;
}

/* The planned groups become the work units of run run_id (driftmon.make_units, one
 * transaction on conn): DM_RUN_UNITS; DM_RUN_LOST when the batch is no longer worker's (or
 * the batch or window has units already); DM_RUN_ENV with err. */
static int make_units(PGconn *conn, const dm_config *cfg, const dm_run_target *t,
                      const char *worker, const col_groups *g, int64_t run_id, const char *started,
                      const dm_refinfo *ri, dm_run_result *out, char *err, size_t errlen)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < g->ngroups; k++) {
        cJSON *u = cJSON_CreateArray();
        if (!u || !cJSON_AddItemToArray(a, u)) {
            cJSON_Delete(u);
            cJSON_Delete(a);
            a = NULL;
            break;
        }
        for (size_t m = 0; m < g->ncols[k]; m++)
            cJSON_AddItemToArray(u, cJSON_CreateString(g->curcol[g->cols[k][m]]->name));
    }
    char *cols = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!cols) {
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    char id[24], every[24], rows[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    snprintf(every, sizeof every, "%lld", (long long)t->every_s);
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)g->rows);
    const char *by = t->batch ? worker : t->split_by;
    const char *p[14] = {id,
                         dm_config_monitor_name(cfg),
                         t->batch,
                         t->batch ? NULL : t->since,
                         t->batch ? NULL : t->until,
                         t->batch ? NULL : t->since,
                         t->batch ? NULL : t->until,
                         t->every_s > 0 && !t->batch ? every : NULL,
                         started,
                         rows,
                         ri->sha256,
                         cfg->sha256[0] ? cfg->sha256 : NULL,
                         by,
                         cols};
    PGresult *r = PQexecParams(
        conn,
        "SELECT driftmon.make_units($1::bigint, $2, $3, $4::timestamptz, $5::timestamptz, "
        "CASE WHEN $6::text IS NULL THEN NULL ELSE ARRAY[$6::text, $7::text] END, $8::bigint, "
        "$9, $10::bigint, $11, $12, $13, $14::jsonb)",
        14, NULL, p, NULL, NULL, 0);
    free(cols);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        dm_db_fail(r, conn, "could not make the work units (run `driftmon init`?)", err, errlen);
        return DM_RUN_ENV;
    }
    bool made = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!made) {
        snprintf(err, errlen, "could not make the work units: the %s is no longer ours",
                 t->batch ? "batch" : "window");
        return DM_RUN_LOST;
    }
    out->units = g->ngroups;
    dm_logf(DM_LOG_INFO, "cut the check into work units",
            "run_id=%lld rows=%llu units=%zu unit_values=%llu monitor=%s", (long long)run_id,
            (unsigned long long)g->rows, g->ngroups, (unsigned long long)cfg->unit_values,
            dm_config_monitor_name(cfg));
    return DM_RUN_UNITS;
}

/* One unit of a unit run (t->unit): its groups planned from the unit run's columns, the
 * reference joined and checked against the unit run's, then unit_group (k >= 1) or
 * unit_assemble (0).  DM_RUN_* with err. */
static int run_unit(col_groups *g, const dm_unit_job *u, pthread_t ref_th, bool *ref_pending,
                    ref_job *job, dm_refcache *rcache, double *ref_s, const char *src,
                    dm_dataset *cur, dm_reconciled *pairs, dm_importance *own_imp,
                    const dm_importance **imp, dm_comparison *cmp, dm_run_result *out,
                    bool *read_failed, char *err, size_t errlen)
{
    *read_failed = false;
    int rc = plan_units(g, u, err, errlen);
    if (rc == DM_RUN_OK)
        rc = ref_join(ref_th, ref_pending, job, rcache, ref_s, err, errlen);
    if (rc != DM_RUN_OK)
        return rc;
    if (strcmp(rcache->info.sha256, u->ref_sha256) != 0) {
        snprintf(err, errlen,
                 "reference \"%s\" is version %d (sha256 %.12s...), the work units were made "
                 "against sha256 %.12s...",
                 rcache->info.name, rcache->info.version, rcache->info.sha256, u->ref_sha256);
        return DM_RUN_STALE;
    }
    const dm_dataset *ref = &rcache->ds;
    if (u->unit > 0)
        return unit_group(g, u, ref, src, out, read_failed, err, errlen);
    return unit_assemble(g, u, ref, &rcache->info, src, cur, pairs, own_imp, imp, cmp, read_failed,
                         err, errlen);
}

int dm_run_check(PGconn *conn, const dm_config *cfg, const dm_run_target *t, dm_refcache *cache,
                 dm_run_result *out, char *err, size_t errlen)
{
    return dm_run_check_claimed(conn, cfg, t, NULL, cache, out, err, errlen);
}

int dm_run_check_claimed(PGconn *conn, const dm_config *cfg, const dm_run_target *t,
                         const char *worker, dm_refcache *cache, dm_run_result *out, char *err,
                         size_t errlen)
{
    double t0 = now_s();
    memset(out, 0, sizeof *out);
    if (!cfg->source_table || !cfg->reference_name) {
        snprintf(err, errlen,
                 "%s: the configuration needs \"source.table\" and "
                 "\"reference.name\" for a check",
                 cfg->path ? cfg->path : "config");
        return DM_RUN_INPUT;
    }
    const char *keycol = t->batch ? cfg->batch_column : cfg->timestamp_column;
    if (!keycol) {
        snprintf(err, errlen, "%s: the configuration needs \"source.%s\"",
                 cfg->path ? cfg->path : "config", t->batch ? "batch_column" : "timestamp_column");
        return DM_RUN_INPUT;
    }
    int rc = DM_RUN_ENV;
    dm_refcache local = {0};
    dm_refcache *rcache = cache ? cache : &local;
    if (rcache->loaded && strcmp(rcache->info.name, cfg->reference_name) != 0)
        dm_refcache_release(rcache);
    ref_job job = {cfg, rcache, DM_RUN_OK, 0, "", ""};
    pthread_t ref_th;
    bool ref_pending = false;
    if (!rcache->loaded) {
        if (pthread_create(&ref_th, NULL, ref_thread, &job) == 0) {
            ref_pending = true;
        } else {
            ref_thread(&job);
            if (job.status != DM_RUN_OK) {
                snprintf(err, errlen, "%s", job.err);
                return job.status;
            }
            rcache->loaded = true;
            out->ref_s = job.secs;
        }
    }
    const dm_dataset *ref = &rcache->ds;

    dm_dataset cur;
    dm_dataset_init(&cur);
    dm_reconciled pairs;
    memset(&pairs, 0, sizeof pairs);
    dm_comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    bool have_cmp = false;
    dm_importance own_imp;
    memset(&own_imp, 0, sizeof own_imp);
    const dm_importance *imp = NULL;
    char *qkey = quote_ident(conn, keycol);
    char *where = NULL;
    dm_db_table tbl = {NULL, NULL, NULL, 0, false, 0, false, 0};
    const char **skip = NULL;
    char *html = NULL, *settings = NULL;
    dm_replica own_rep = {0}; /* a check's own, when t->replica is NULL */
    PGconn *rconn = conn;     /* where the rows are read */
    if (!qkey) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* the table, looked up once for the whole check: the key columns are metadata, not
     * compared */
    if (dm_db_table_lookup(conn, cfg->source_table, &tbl, err, errlen) != 0) {
        rc = DM_RUN_INPUT;
        goto out;
    }
    const dm_db_column *tcols = tbl.cols;
    size_t ntcols = tbl.ncols;
    const dm_db_column *key = NULL;
    skip = calloc(ntcols + 3, sizeof *skip);
    if (!skip) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t ns = 0;
    for (size_t i = 0; i < ntcols; i++) {
        if (strcmp(tcols[i].name, keycol) == 0)
            key = &tcols[i];
        if ((cfg->batch_column && strcmp(tcols[i].name, cfg->batch_column) == 0) ||
            (cfg->timestamp_column && strcmp(tcols[i].name, cfg->timestamp_column) == 0))
            skip[ns++] = tcols[i].name;
    }
    if (!key) {
        snprintf(err, errlen, "table \"%s\" has no column \"%s\" (source.%s)", cfg->source_table,
                 keycol, t->batch ? "batch_column" : "timestamp_column");
        rc = DM_RUN_INPUT;
        goto out;
    }
    where = dm_run_where(qkey, t->batch != NULL);
    if (!where) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *params[2];
    size_t nparams;
    if (t->batch) {
        params[0] = t->batch;
        nparams = 1;
    } else {
        params[0] = t->since;
        params[1] = t->until;
        nparams = 2;
    }
    rc = check_target(conn, &tbl, key, t, where, params, nparams, err, errlen);
    if (rc != DM_RUN_OK)
        goto out;
    rc = DM_RUN_ENV;
    /* reserve the run id: the report files carry it (a unit's run has its own already) */
    char started[64];
    if (t->unit) {
        out->run_id = t->unit->run_id;
        snprintf(started, sizeof started, "%s", t->unit->started);
    } else {
        PGresult *r = PQexec(conn, "SELECT driftmon.reserve_run_id(), "
                                   "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = dm_db_fail(r, conn,
                            "could not reserve a run id (is the schema initialised? run "
                            "`driftmon init`)",
                            err, errlen);
            goto out;
        }
        out->run_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(started, sizeof started, "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
    }

    double t1 = now_s();
    /* the rows (and their time span, below) are read where dm_replica_route says: the
     * batch is claimed and the run id reserved, so its rows are committed and visible here */
    char what[2 * DM_SHOWN_LEN + 32];
    target_name(t, what, sizeof what);
    dm_replica *rep = t->replica;
    if (!rep && cfg->read_conninfo) {
        dm_replica_init(&own_rep, NULL, NULL);
        rep = &own_rep;
    }
    rconn = rep ? dm_replica_route(rep, cfg, conn, what) : conn;
    /* the read's own connections (database.copy_streams 2) go where the read goes */
    dm_config rcfg = *cfg;
    if (rconn != conn)
        rcfg.conninfo = cfg->read_conninfo;
    char src[1200];
    if (t->batch)
        snprintf(src, sizeof src, "table %s, batch %s", cfg->source_table, t->batch);
    else
        snprintf(src, sizeof src, "table %s, window [%s, %s)", cfg->source_table, t->since,
                 t->until);
    /* a window whose numeric values would pass limits.memory is read and compared by column
     * groups, in one snapshot; else it is read whole, as before */
    col_groups grp;
    size_t width = 0;
    bool read_failed = false;
    double t2 = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        grp = (col_groups){.conn = rconn,
                           .cfg = rconn != conn ? &rcfg : cfg,
                           .tbl = &tbl,
                           .where = where,
                           .params = params,
                           .nparams = nparams,
                           .keys = skip,
                           .unit_values = t->split_by && !t->unit ? cfg->unit_values : 0};
        dm_dataset_init(&grp.gds);
        if (t->unit) {
            t2 = now_s();
            rc = run_unit(&grp, t->unit, ref_th, &ref_pending, &job, rcache, &out->ref_s, src, &cur,
                          &pairs, &own_imp, &imp, &cmp, out, &read_failed, err, errlen);
            width = grp.ngroups;
            out->read_s = grp.read_s;
            col_groups_release(&grp);
            if (rc == DM_RUN_OK || !(rc == DM_RUN_ENV && read_failed && rconn != conn))
                break;
            dm_replica_read_failed(rep, cfg, what, err);
            rconn = conn;
            dm_reconciled_release(&pairs);
            dm_dataset_release(&cur);
            dm_importance_release(&own_imp);
            imp = NULL;
            continue;
        }
        rc = plan_read(&grp, ref_th, &ref_pending, &job, rcache, &out->ref_s, &width, err, errlen);
        read_failed = rc == DM_RUN_ENV && !grp.ref_failed;
        if (rc == DM_RUN_OK && width == 0) {
            rc = dm_run_read_table(rconn, grp.cfg, &tbl, where, params, nparams, skip, &cur, err,
                                   errlen);
            read_failed = rc != DM_RUN_OK;
        } else if (rc == DM_RUN_OK) {
            if (plan_groups(&grp, width) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = DM_RUN_ENV;
            } else if (grp.split) {
                /* the units are made below, once the read's transaction is over */
            } else {
                t2 = now_s();
                rc = compare_by_groups(&grp, ref, &rcache->info, src, &cur, &pairs, &own_imp, &imp,
                                       &cmp, &read_failed, err, errlen);
            }
            /* the groups' transaction (read only) */
            dm_db_exec(rconn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
            out->read_s = grp.read_s;
            if (rc == DM_RUN_OK && grp.split)
                rc = make_units(conn, cfg, t, worker, &grp, out->run_id, started, &rcache->info,
                                out, err, errlen);
        }
        col_groups_release(&grp);
        if (rc == DM_RUN_OK || !(rc == DM_RUN_ENV && read_failed && rconn != conn))
            break;
        /* a recovery conflict, the standby gone, ...: read on the primary */
        dm_replica_read_failed(rep, cfg, what, err);
        rconn = conn;
        dm_reconciled_release(&pairs);
        dm_dataset_release(&cur);
        dm_importance_release(&own_imp);
        imp = NULL;
    }
    out->read_on_standby = rconn != conn;
    if (rc == DM_RUN_BAD_DATA &&
        read_failed) { /* name the batch or window whose rows could not be read */
        char *detail = strdup(err);
        snprintf(err, errlen, "%s: %s", what, detail ? detail : "out of memory");
        free(detail);
    }
    if (rc != DM_RUN_OK || (t->unit && t->unit->unit > 0))
        goto out; /* DM_RUN_UNITS: the units made; a unit k >= 1: its result in out */
    if (width == 0) {
        out->read_s = now_s() - t1;
        free(cur.source);
        cur.source = strdup(src);
        if (cur.rows == 0) {
            char shown[DM_SHOWN_LEN];
            if (t->batch) {
                dm_show_value(t->batch, strlen(t->batch), shown, sizeof shown);
                snprintf(err, errlen, "batch \"%s\" has no rows in table \"%s\" (%s = '%s')", shown,
                         cfg->source_table, keycol, shown);
            } else
                snprintf(err, errlen, "the window [%s, %s) has no rows in table \"%s\"", t->since,
                         t->until, cfg->source_table);
            rc = DM_RUN_INPUT;
            goto out;
        }
        rc = ref_join(ref_th, &ref_pending, &job, rcache, &out->ref_s, err, errlen);
        if (rc != DM_RUN_OK)
            goto out;
        t2 = now_s();
        if (dm_reconcile(cfg, ref, &cur, &pairs, err, errlen) != 0) {
            rc = DM_RUN_INPUT;
            goto out;
        }
        if (run_importance(cfg, &rcache->info, &own_imp, &imp, err, errlen) != 0) {
            rc = DM_RUN_INPUT;
            goto out;
        }
        int crc = dm_compare_run(cfg, imp, ref, &cur, &pairs, true, &cmp, err, errlen);
        if (crc != 0) {
            rc = crc == DM_COMPARE_NONE_TESTED || crc == DM_COMPARE_BAD_INPUT ? DM_RUN_BAD_DATA
                                                                              : DM_RUN_ENV;
            goto out;
        }
    }
    out->rows = cur.rows;
    have_cmp = true;
    if (cmp.has_perf && ref_perf(conn, cfg, rcache->info.id, &cmp, err, errlen) != 0) {
        rc = DM_RUN_ENV;
        goto out;
    }
    if (imp)
        dm_cli_warn_unknown_importance(&cmp, imp);
    out->compare_s = now_s() - t2 - (width ? out->read_s : 0);
    out->verdict = cmp.verdict;

    /* reports */
    const char *dir = cfg->reports_dir ? cfg->reports_dir : "reports";
    if (mkdir_p(dir, 0755, "reports directory", err, errlen) != 0) {
        rc = DM_RUN_ENV;
        goto out;
    }
    snprintf(out->html, sizeof out->html, "%s/run-%lld.html", dir, (long long)out->run_id);
    snprintf(out->json, sizeof out->json, "%s/run-%lld.json", dir, (long long)out->run_id);
    settings = dm_config_drift_json(cfg);
    char refname[600];
    snprintf(refname, sizeof refname, "%s@%d", rcache->info.name, rcache->info.version);
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.version = DRIFTMON_VERSION;
    run.generated_at = started;
    run.monitor = cfg->monitor; /* NULL in the single-monitor form: its reports stay as they were */
    run.settings_json = settings;
    dm_comparison_to_run(&cmp, cfg, ref, &cur, &run);
    run.ref_name = refname;
    char span[200] = "";
    if (cfg->timestamp_column)
        time_span(rconn, cfg, &tbl, where, params, nparams, span, sizeof span);
    run.cur_span = span[0] ? span : NULL;
    run.ref_sha256 = rcache->info.sha256;
    /* the JSON is rendered in the run's transaction, once the chain head is known */
    html = rpt_html_render(&run);
    if (!html) {
        snprintf(err, errlen, "out of memory rendering the reports");
        rc = DM_RUN_ENV;
        goto out;
    }
    if (dm_write_file_atomic(out->html, html, strlen(html), err, errlen) != 0) {
        rc = DM_RUN_ENV;
        goto out;
    }
    char hsha[65];
    dm_sha256_hex(html, strlen(html), hsha);
    rc = commit_run(conn, cfg, t, worker, &rcache->info, &cmp, out->run_id, started, out, hsha,
                    html, &run, err, errlen);
    if (rc == DM_RUN_OK) /* index.html and the history page: a failure leaves the run as is */
        dm_reportdir_refresh(conn, dir, dm_config_monitor_name(cfg), rcache->info.name,
                             cfg->history_runs);
    out->total_s = now_s() - t0;
out:
    if (ref_pending) {
        double ignored;
        char ignored_err[1024];
        ref_join(ref_th, &ref_pending, &job, rcache, &ignored, ignored_err, sizeof ignored_err);
    }
    dm_replica_release(&own_rep);
    free(html);
    free(settings);
    free(where);
    free(qkey);
    free(skip);
    dm_db_table_release(&tbl);
    if (have_cmp)
        dm_comparison_release(&cmp);
    dm_importance_release(&own_imp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&cur);
    if (!cache)
        dm_refcache_release(&local);
    return rc;
}

/* perfcohort.c - the realised performance of the runs' cohorts (see perfcohort.h). */
#include "monitor/perfcohort.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <libpq-fe.h>

#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/log.h"
#include "monitor/perfreport.h"
#include "monitor/perfstore.h"
#include "monitor/reportdir.h"
#include "stats/stats.h"

bool dm_perf_enabled(const dm_config *c)
{
    return c->label_column && c->score_column && isfinite(c->label_delay_s) &&
           c->label_delay_s >= 0;
}

/* One delayed cohort, as the sweep's query gives it. */
typedef struct {
    const char *run_id, *batch, *wstart, *wend, *reference_id;
    bool grace_over;        /* twice the delay has passed: partial labels are enough */
    bool evaluated;         /* the run has an evaluation */
    const char *last_count; /* its labels_count and labels_digest */
    const char *last_digest;
    const char *reference; /* the run's reference's name */
} cohort;

/* What a cohort's SQL needs: the table, its quoted score, label and key columns, and the
 * run's condition on the key (dm_run_where) with its parameters. */
typedef struct {
    char *qtable, *qscore, *qlabel, *where;
    const char *params[2];
    int nparams;
} cohort_sql;

static void cohort_sql_release(cohort_sql *q)
{
    free(q->qtable);
    free(q->where);
    if (q->qscore)
        PQfreemem(q->qscore);
    if (q->qlabel)
        PQfreemem(q->qlabel);
    memset(q, 0, sizeof *q);
}

static char *quoted(PGconn *conn, const char *id)
{
    return PQescapeIdentifier(conn, id, strlen(id));
}

/* The table "schema"."name" as the run read it: dm_db_table_lookup's qualified name. */
static int cohort_sql_init(PGconn *conn, const dm_config *c, const cohort *k, cohort_sql *q,
                           char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    const char *keycol = k->batch ? c->batch_column : c->timestamp_column;
    if (!keycol) {
        snprintf(err, errlen, "the configuration has no \"source.%s\" for run %s",
                 k->batch ? "batch_column" : "timestamp_column", k->run_id);
        return -1;
    }
    dm_db_table tbl;
    memset(&tbl, 0, sizeof tbl);
    if (dm_db_table_lookup(conn, c->source_table, &tbl, err, errlen) != 0)
        return -1;
    q->qtable = strdup(tbl.qualified);
    dm_db_table_release(&tbl);
    char *qkey = quoted(conn, keycol);
    q->qscore = quoted(conn, c->score_column);
    q->qlabel = quoted(conn, c->label_column);
    q->where = qkey ? dm_run_where(qkey, k->batch != NULL) : NULL;
    if (qkey)
        PQfreemem(qkey);
    if (!q->qtable || !q->qscore || !q->qlabel || !q->where) {
        snprintf(err, errlen, "out of memory");
        cohort_sql_release(q);
        return -1;
    }
    if (k->batch) {
        q->params[0] = k->batch;
        q->nparams = 1;
    } else {
        q->params[0] = k->wstart;
        q->params[1] = k->wend;
        q->nparams = 2;
    }
    return 0;
}

/* A cohort as read in its snapshot: its scores and labels (NaN: NULL), its rows with a
 * score and no label, its labels' count and digest: the sum, as PostgreSQL's sum(int8)
 * prints it, of hashfloat8extended(score, hashfloat8extended(label, 0)) over the rows with
 * both (sql/015_performance.sql), each row's term computed by the server in the same scan. */
typedef struct {
    size_t n;
    double *score, *label;
    long long unlabelled;
    char count[32];
    char digest[64];
} cohort_rows;

static void cohort_rows_release(cohort_rows *r)
{
    free(r->score);
    free(r->label);
    memset(r, 0, sizeof *r);
}

__extension__ typedef __int128 digest_sum;

static void digest_text(digest_sum v, char *out, size_t len)
{
    char t[48];
    size_t k = sizeof t;
    bool neg = v < 0;
    t[--k] = '\0';
    do {
        int d = (int)(v % 10);
        t[--k] = (char)('0' + (d < 0 ? -d : d));
        v /= 10;
    } while (v != 0);
    if (neg)
        t[--k] = '-';
    snprintf(out, len, "%s", t + k);
}

static int64_t be_i64(const char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | (unsigned char)p[i];
    return (int64_t)u;
}

static double be_double(const char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | (unsigned char)p[i];
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Read cohort k of monitor c (its score and label columns, as float8) into out.  0; 1 when
 * its values cannot be read as numbers or a label is neither 0 nor 1 (logged: bad input,
 * left for the next look); -1 with err (the database). */
static int read_cohort(PGconn *conn, const dm_config *c, const cohort *k, const cohort_sql *q,
                       cohort_rows *out, char *err, size_t errlen)
{
    const char *mon = dm_config_monitor_name(c);
    memset(out, 0, sizeof *out);
    size_t len = strlen(q->qscore) + strlen(q->qlabel) + strlen(q->qtable) + strlen(q->where) + 512;
    char *sql = malloc(len);
    if (!sql) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, len,
             "SELECT x.s, x.l, pg_catalog.hashfloat8extended(x.s, "
             "pg_catalog.hashfloat8extended(x.l, 0)) FROM (SELECT %s::pg_catalog.float8 AS s, "
             "%s::pg_catalog.float8 AS l FROM %s WHERE %s) x",
             q->qscore, q->qlabel, q->qtable, q->where);
    PGresult *r = PQexecParams(conn, sql, q->nparams, NULL, q->params, NULL, NULL, 1);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (!dm_db_is_data_error(r))
            return dm_db_fail(r, conn, "could not read the cohort's scores and labels", err,
                              errlen);
        char why[512];
        dm_db_data_error(r, false, why, sizeof why);
        dm_logf(DM_LOG_ERROR, "could not read the cohort's scores and labels as numbers",
                "monitor=%s run_id=%s score_column=%s label_column=%s reason=%s", mon, k->run_id,
                c->score_column, c->label_column, why);
        PQclear(r);
        return 1;
    }
    size_t n = (size_t)PQntuples(r);
    out->score = malloc((n ? n : 1) * sizeof *out->score);
    out->label = malloc((n ? n : 1) * sizeof *out->label);
    if (!out->score || !out->label) {
        PQclear(r);
        cohort_rows_release(out);
        snprintf(err, errlen, "out of memory for a cohort of %zu rows", n);
        return -1;
    }
    out->n = n;
    digest_sum sum = 0;
    long long labels = 0;
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        double sc = PQgetisnull(r, row, 0) ? NAN : be_double(PQgetvalue(r, row, 0));
        double lb = PQgetisnull(r, row, 1) ? NAN : be_double(PQgetvalue(r, row, 1));
        if (!isnan(lb) && lb != 0 && lb != 1) {
            dm_logf(DM_LOG_ERROR, "a label of the cohort is neither 0 nor 1: not evaluated",
                    "monitor=%s run_id=%s label_column=%s value=%.17g", mon, k->run_id,
                    c->label_column, lb);
            PQclear(r);
            cohort_rows_release(out);
            return 1;
        }
        out->score[i] = sc;
        out->label[i] = lb;
        labels += PQgetisnull(r, row, 1) ? 0 : 1;
        out->unlabelled += !PQgetisnull(r, row, 0) && PQgetisnull(r, row, 1) ? 1 : 0;
        if (!PQgetisnull(r, row, 2))
            sum += be_i64(PQgetvalue(r, row, 2));
    }
    PQclear(r);
    snprintf(out->count, sizeof out->count, "%lld", labels);
    digest_text(sum, out->digest, sizeof out->digest);
    return 0;
}

/* A figure as record_performance takes it: float8 input text, or JSON null.  false when
 * out of memory. */
static bool put_num(cJSON *o, const char *key, double v)
{
    char t[40];
    if (isnan(v))
        return cJSON_AddNullToObject(o, key) != NULL;
    if (isinf(v))
        snprintf(t, sizeof t, "%s", v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(t, sizeof t, "%.17g", v);
    return cJSON_AddStringToObject(o, key, t) != NULL;
}

static bool put_u64(cJSON *o, const char *key, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%" PRIu64, v);
    return cJSON_AddStringToObject(o, key, t) != NULL;
}

/* The reference's figures stored with its version (sql/014_perf_reference.sql,
 * monitor/perfstore.h) under c's settings: 1 found; 0 none, *why saying why; -1 with err. */
static int reference_figures(PGconn *conn, const dm_config *c, const char *reference_id,
                             stats_perf *ref, const char **why, char *err, size_t errlen)
{
    memset(ref, 0, sizeof *ref);
    return dm_perfstore_get(conn, strtoll(reference_id, NULL, 10), c, ref, why, err, errlen);
}

/* Evaluate cohort k of monitor c from its rows and record it, in the transaction
 * (REPEATABLE READ) in which they were read, which this ends (t0: when that began,
 * serve_mono_s, for the log line's timings).  1 recorded, 0 nothing recorded (the labels
 * were already evaluated, or bad input: logged), -1 with err (the database). */
static int evaluate(PGconn *conn, const dm_config *c, const cohort *k, const cohort_rows *st,
                    double t0, bool *flagged, char *err, size_t errlen)
{
    const char *mon = dm_config_monitor_name(c);
    int rc = -1;
    void *ws = NULL;
    PGresult *r = NULL;
    cJSON *f = NULL;
    char *text = NULL;
    size_t n = st->n;
    ws = malloc(stats_perf_workspace_bytes(n) + 1);
    if (!ws) {
        snprintf(err, errlen, "out of memory for a cohort of %zu rows", n);
        goto out;
    }
    double read_s = serve_mono_s() - t0;
    stats_perf cur;
    int src = stats_perf_eval(st->score, st->label, n, c->decision_threshold, c->cost_fn,
                              c->cost_fp, ws, &cur);
    if (src != STATS_OK) {
        dm_logf(DM_LOG_ERROR, "could not evaluate the cohort", "monitor=%s run_id=%s reason=%s",
                mon, k->run_id, stats_strerror(src));
        rc = 0;
        goto out;
    }
    stats_perf ref;
    const char *why = NULL;
    int have_ref = reference_figures(conn, c, k->reference_id, &ref, &why, err, errlen);
    if (have_ref < 0)
        goto out;
    double inc = have_ref ? stats_perf_cost_increase(&ref, &cur) : NAN;
    *flagged =
        isfinite(c->retrain_cost_increase) && isfinite(inc) && inc > c->retrain_cost_increase;

    f = cJSON_CreateObject();
    bool ok = f && put_u64(f, "rows", cur.rows) && put_u64(f, "left_out", cur.left_out) &&
              put_u64(f, "tp", cur.tp) && put_u64(f, "fp", cur.fp) && put_u64(f, "tn", cur.tn) &&
              put_u64(f, "fn", cur.fn) && put_num(f, "auc", cur.auc) &&
              put_num(f, "recall", cur.recall) && put_num(f, "precision", cur.precision) &&
              put_num(f, "business_cost", cur.business_cost) &&
              put_num(f, "optimal_threshold", cur.optimal_threshold) &&
              put_num(f, "business_cost_at_optimal", cur.business_cost_at_optimal) &&
              put_num(f, "reference_business_cost", have_ref ? ref.business_cost : NAN) &&
              put_num(f, "reference_auc", have_ref ? ref.auc : NAN) &&
              put_num(f, "reference_optimal_threshold", have_ref ? ref.optimal_threshold : NAN) &&
              put_num(f, "cost_increase", inc) &&
              put_num(f, "retrain_cost_increase", c->retrain_cost_increase) &&
              put_num(f, "decision_threshold", c->decision_threshold) &&
              put_num(f, "cost_fn", c->cost_fn) && put_num(f, "cost_fp", c->cost_fp) &&
              cJSON_AddBoolToObject(f, "retrain_flagged", *flagged) &&
              cJSON_AddStringToObject(f, "labels_count", st->count) &&
              cJSON_AddStringToObject(f, "labels_digest", st->digest) &&
              cJSON_AddStringToObject(f, "reference_id", k->reference_id) &&
              cJSON_AddStringToObject(f, "driftmon_version", DRIFTMON_VERSION) &&
              cJSON_AddStringToObject(f, "label_column", c->label_column) &&
              cJSON_AddStringToObject(f, "score_column", c->score_column) &&
              (!c->sha256[0] || cJSON_AddStringToObject(f, "config_sha256", c->sha256));
    text = ok ? cJSON_PrintUnformatted(f) : NULL;
    if (!text) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *p[4] = {mon, k->run_id, text, c->notify_channel};
    r = PQexecParams(conn, "SELECT driftmon.record_performance($1, $2::bigint, $3::jsonb, $4)", 4,
                     NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_db_fail(r, conn, "could not record the cohort's performance", err, errlen);
        r = NULL;
        goto out;
    }
    bool recorded = !PQgetisnull(r, 0, 0);
    char id[32];
    snprintf(id, sizeof id, "%s", recorded ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    r = NULL;
    /* the run's report with these figures, in this transaction; the evaluation stands
     * without it (perfreport.h) */
    dm_perfreport_files docs;
    memset(&docs, 0, sizeof docs);
    if (recorded) {
        dm_perfreport_in pin = {k->run_id, id, &cur, have_ref ? &ref : NULL, why, inc, *flagged};
        dm_perfreport_write(conn, c, &pin, &docs);
    }
    if (dm_db_exec(conn, "COMMIT", 0, NULL, "could not commit the cohort's performance", err,
                   errlen) != 0) {
        dm_perfreport_discard(&docs);
        goto out;
    }
    if (!recorded) {
        *flagged = false;
        rc = 0;
        goto out;
    }
    dm_logf(DM_LOG_INFO, "cohort evaluated",
            "monitor=%s run_id=%s evaluation_id=%s rows=%" PRIu64 " left_out=%" PRIu64
            " auc=%.6g business_cost=%.6g optimal_threshold=%.6g cost_increase=%.6g "
            "retrain_flagged=%s reference_figures=%s read_s=%.3f total_s=%.3f",
            mon, k->run_id, id, cur.rows, cur.left_out, cur.auc, cur.business_cost,
            cur.optimal_threshold, inc, *flagged ? "true" : "false",
            have_ref ? "stored"
            : why    ? why
                     : "none",
            read_s, serve_mono_s() - t0);
    rc = 1;
out:
    PQclear(r);
    serve_rollback_if_needed(conn);
    cJSON_Delete(f);
    free(text);
    free(ws);
    return rc;
}

/* The delayed cohorts of monitor c with their latest evaluation's labels, run id order. */
#define DELAYED_RUNS                                                                               \
    "SELECT r.id, r.batch, r.window_start::text, r.window_end::text, r.reference_id, "             \
    "r.finished_at <= clock_timestamp() - make_interval(secs => 2 * $2::float8), "                 \
    "p.labels_count, p.labels_digest, (SELECT f.name FROM driftmon.reference f "                   \
    "WHERE f.id = r.reference_id) "                                                                \
    "FROM driftmon.run r LEFT JOIN LATERAL (SELECT x.labels_count, x.labels_digest "               \
    "FROM driftmon.performance x WHERE x.run_id = r.id ORDER BY x.id DESC LIMIT 1) p ON true "     \
    "WHERE r.monitor = $1 AND r.finished_at <= clock_timestamp() - "                               \
    "make_interval(secs => $2::float8) ORDER BY r.id"

/* One monitor's sweep.  0, or -1 when the connection was lost. */
static int sweep_monitor(serve_state *s, const dm_config *c, dm_deliverer *dl)
{
    const char *mon = dm_config_monitor_name(c);
    char delay[40], err[ERRLEN];
    snprintf(delay, sizeof delay, "%.17g", c->label_delay_s);
    const char *p[2] = {mon, delay};
    PGresult *res = PQexecParams(s->conn, DELAYED_RUNS, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not list the cohorts whose labels are due",
                "monitor=%s reason=%s", mon, serve_pq_reason(s->conn, res, err, sizeof err));
        PQclear(res);
        return serve_conn_lost(s, "listing cohorts") ? -1 : 0;
    }
    int n = PQntuples(res), rc = 0;
    for (int i = 0; i < n && !g_stop && rc == 0; i++) {
        cohort k = {PQgetvalue(res, i, 0),   PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2),   PQgetvalue(res, i, 3),
                    PQgetvalue(res, i, 4),   PQgetvalue(res, i, 5)[0] == 't',
                    !PQgetisnull(res, i, 6), PQgetvalue(res, i, 6),
                    PQgetvalue(res, i, 7),   PQgetvalue(res, i, 8)};
        cohort_sql q;
        if (cohort_sql_init(s->conn, c, &k, &q, err, sizeof err) != 0) {
            dm_logf(DM_LOG_ERROR, "could not evaluate the cohort", "monitor=%s run_id=%s reason=%s",
                    mon, k.run_id, err);
            rc = serve_conn_lost(s, "evaluating a cohort") ? -1 : 0;
            break; /* the same for every cohort of the monitor */
        }
        /* the labels' look and the evaluation: one snapshot, one read */
        cohort_rows st;
        double t0 = serve_mono_s();
        int rr = dm_db_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE", 0, NULL,
                            "could not begin the cohort's look", err, sizeof err);
        if (rr == 0)
            rr = read_cohort(s->conn, c, &k, &q, &st, err, sizeof err);
        cohort_sql_release(&q);
        if (rr != 0) {
            serve_rollback_if_needed(s->conn);
            if (rr < 0) {
                dm_logf(DM_LOG_ERROR, "could not read the cohort's labels",
                        "monitor=%s run_id=%s reason=%s", mon, k.run_id, err);
                rc = serve_conn_lost(s, "evaluating a cohort") ? -1 : 0;
            }
            continue;
        }
        bool none = strcmp(st.count, "0") == 0;
        bool same = k.evaluated && strcmp(st.count, k.last_count) == 0 &&
                    strcmp(st.digest, k.last_digest) == 0;
        bool filled = st.unlabelled == 0 || k.grace_over;
        if (none || same || !filled) {
            serve_rollback_if_needed(s->conn);
            cohort_rows_release(&st);
            continue;
        }
        serve_check_begin(s);
        bool flagged = false;
        int e = evaluate(s->conn, c, &k, &st, t0, &flagged, err, sizeof err);
        serve_check_end(s, 0, -1, 0);
        cohort_rows_release(&st);
        if (e < 0) {
            dm_logf(DM_LOG_ERROR, "could not evaluate the cohort", "monitor=%s run_id=%s reason=%s",
                    mon, k.run_id, err);
            rc = serve_conn_lost(s, "evaluating a cohort") ? -1 : 0;
        } else if (e > 0) {
            if (flagged)
                dm_deliverer_wake(dl);
            /* the history page draws the cohorts' figures: a failure is a warning */
            dm_reportdir_refresh(s->conn, c->reports_dir ? c->reports_dir : "reports", mon,
                                 k.reference, c->history_runs);
        }
    }
    PQclear(res);
    return rc;
}

int dm_perf_sweep(serve_state *s, dm_deliverer *dl)
{
    for (size_t i = 0; i < s->n_mon && !g_stop; i++) {
        const dm_config *c = serve_monitor_cfg(s, i);
        double now = serve_mono_s();
        if (!dm_perf_enabled(c) || !c->source_table || now < s->mon[i].perf_next_at)
            continue;
        s->mon[i].perf_next_at = now + fmax(s->o.poll_s, c->label_delay_s / 20);
        if (sweep_monitor(s, c, dl) < 0)
            return -1;
    }
    return 0;
}

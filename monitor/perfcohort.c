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

#include "monitor/copybin.h"
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

/* The cohorts whose last look failed on bad input (a label neither 0 nor 1, a value that is
 * not a number), each with the state it failed in: "labels COUNT DIGEST UNLABELLED" (the
 * summary's figures, which a label's change changes) or "values REASON" (the server's
 * error).  The error is logged once per state; a look that finds the same state again
 * counts as failed without a log line, and without reading the rows.  The sweep runs on
 * one thread. */
static struct {
    long long *id;
    char **state;
    size_t n;
} g_failing;

static size_t failing_at(long long id)
{
    size_t i = 0;
    while (i < g_failing.n && g_failing.id[i] != id)
        i++;
    return i;
}

/* The state run id last failed in, or NULL. */
static const char *failing_state(long long id)
{
    size_t i = failing_at(id);
    return i < g_failing.n ? g_failing.state[i] : NULL;
}

/* Forget run id's failure (looked at without one). */
static void failing_clear(long long id)
{
    size_t i = failing_at(id);
    if (i == g_failing.n)
        return;
    free(g_failing.state[i]);
    g_failing.n--;
    g_failing.id[i] = g_failing.id[g_failing.n];
    g_failing.state[i] = g_failing.state[g_failing.n];
}

/* Record that run id failed in state st: true when that is news (to be logged), false when
 * it failed in that state at its last look.  Out of memory: true (logged again). */
static bool failing_new(long long id, const char *st)
{
    const char *old = failing_state(id);
    if (old && strcmp(old, st) == 0)
        return false;
    char *copy = strdup(st);
    if (!copy)
        return true;
    size_t i = failing_at(id);
    if (i == g_failing.n) {
        long long *ids = realloc(g_failing.id, (i + 1) * sizeof *ids);
        if (ids)
            g_failing.id = ids;
        char **sts = ids ? realloc(g_failing.state, (i + 1) * sizeof *sts) : NULL;
        if (!sts) {
            free(copy);
            return true;
        }
        g_failing.state = sts;
        g_failing.id[i] = id;
        g_failing.state[i] = NULL;
        g_failing.n++;
    }
    free(g_failing.state[i]);
    g_failing.state[i] = copy;
    return true;
}

/* The failing state of bad labels, from a cohort's count, digest and unlabelled rows. */
static void labels_state(const char *count, const char *digest, long long unlabelled, char *out,
                         size_t len)
{
    snprintf(out, len, "labels %s %s %lld", count, digest, unlabelled);
}

/* Log a cohort's values that cannot be read as numbers, once per reason (see g_failing). */
static void log_unreadable(const dm_config *c, const char *run_id, const char *why)
{
    char st[600];
    snprintf(st, sizeof st, "values %s", why);
    if (failing_new(strtoll(run_id, NULL, 10), st))
        dm_logf(DM_LOG_ERROR, "could not read the cohort's scores and labels as numbers",
                "monitor=%s run_id=%s score_column=%s label_column=%s reason=%s",
                dm_config_monitor_name(c), run_id, c->score_column, c->label_column, why);
}

/* The cohort's (score, label) pairs as float8 and each pair's digest term (cohort_rows), from
 * table %s (score %s, label %s) under the run's predicate %s. */
#define COHORT_PAIRS                                                                               \
    "SELECT x.s, x.l, pg_catalog.hashfloat8extended(x.s, pg_catalog.hashfloat8extended(x.l, 0)) "  \
    "AS h FROM (SELECT %s::pg_catalog.float8 AS s, %s::pg_catalog.float8 AS l FROM %s WHERE %s) x"

/* One row of read_cohort's COPY added to out: 0; 1 for a label neither 0 nor 1 (the first
 * such value in *bad; the row counted in the labels' count and digest all the same, so that
 * they are the summary's); -1 out of memory or a field that is not a float8 / int8. */
static int cohort_add(cohort_rows *out, size_t *cap, const dm_copybin_field *f, digest_sum *sum,
                      long long *labels, double *bad)
{
    if ((f[0].len != 8 && f[0].len != -1) || (f[1].len != 8 && f[1].len != -1) ||
        (f[2].len != 8 && f[2].len != -1))
        return -1;
    if (out->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4096;
        double *s = realloc(out->score, nc * sizeof *s);
        if (s)
            out->score = s;
        double *l = s ? realloc(out->label, nc * sizeof *l) : NULL;
        if (!l)
            return -1;
        out->label = l;
        *cap = nc;
    }
    double sc = f[0].len < 0 ? NAN : be_double((const char *)f[0].p);
    double lb = f[1].len < 0 ? NAN : be_double((const char *)f[1].p);
    int rc = 0;
    if (!isnan(lb) && lb != 0 && lb != 1) {
        if (isnan(*bad))
            *bad = lb;
        rc = 1;
    }
    out->score[out->n] = sc;
    out->label[out->n] = lb;
    out->n++;
    *labels += f[1].len < 0 ? 0 : 1;
    out->unlabelled += f[0].len >= 0 && f[1].len < 0 ? 1 : 0;
    if (f[2].len >= 0)
        *sum += be_i64((const char *)f[2].p);
    return rc;
}

/* Read cohort k of monitor c (its score and label columns, as float8) into out, with one
 * binary COPY (lighter than a result set of as many rows).  0; 1 when its values cannot be
 * read as numbers or a label is neither 0 nor 1 (bad input, left for the next look; logged
 * once per state, g_failing); -1 with err (the database). */
static int read_cohort(PGconn *conn, const dm_config *c, const cohort *k, const cohort_sql *q,
                       cohort_rows *out, char *err, size_t errlen)
{
    const char *mon = dm_config_monitor_name(c);
    memset(out, 0, sizeof *out);
    char *where = dm_db_where_literal(conn, q->where, q->params, (size_t)q->nparams, err, errlen);
    if (!where)
        return -1;
    size_t len = strlen(q->qscore) + strlen(q->qlabel) + strlen(q->qtable) + strlen(where) + 512;
    char *sql = malloc(len);
    if (!sql) {
        free(where);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, len, "COPY (" COHORT_PAIRS ") TO STDOUT (FORMAT binary)", q->qscore, q->qlabel,
             q->qtable, where);
    free(where);
    PGresult *r = PQexec(conn, sql);
    free(sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT)
        goto failed;
    PQclear(r);
    dm_copybin_rows rows = {0, 0};
    dm_copybin_field f[3];
    size_t cap = 0;
    digest_sum sum = 0;
    long long labels = 0;
    double bad = NAN;
    int rc = 0, bad_rows = 0;
    char perr[256];
    for (;;) {
        char *data = NULL;
        int m = PQgetCopyData(conn, &data, 0);
        if (m == -1)
            break;
        if (m < 0) {
            char why[512];
            dm_db_trim(PQerrorMessage(conn), why, sizeof why);
            snprintf(err, errlen, "could not read the cohort's scores and labels: %s", why);
            cohort_rows_release(out);
            return -1;
        }
        int more = dm_copybin_row(&rows, data, (size_t)m, f, 3, perr, sizeof perr);
        if (more > 0)
            rc = cohort_add(out, &cap, f, &sum, &labels, &bad);
        bad_rows |= rc > 0;
        PQfreemem(data);
        if (more < 0 || rc < 0) {
            dm_db_copy_abandon(conn);
            if (more < 0)
                snprintf(err, errlen, "could not read the cohort's scores and labels: %s", perr);
            else
                snprintf(err, errlen, "out of memory for a cohort of %zu rows", out->n);
            cohort_rows_release(out);
            return -1;
        }
    }
    r = PQgetResult(conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        cohort_rows_release(out);
        goto failed;
    }
    PQclear(r);
    while ((r = PQgetResult(conn)) != NULL)
        PQclear(r);
    if (rows.state != 2) {
        snprintf(err, errlen, "could not read the cohort's scores and labels: %s",
                 "the COPY stream ended without its trailer");
        cohort_rows_release(out);
        return -1;
    }
    snprintf(out->count, sizeof out->count, "%lld", labels);
    digest_text(sum, out->digest, sizeof out->digest);
    if (bad_rows) {
        char st[160];
        labels_state(out->count, out->digest, out->unlabelled, st, sizeof st);
        if (failing_new(strtoll(k->run_id, NULL, 10), st))
            dm_logf(DM_LOG_ERROR, "a label of the cohort is neither 0 nor 1: not evaluated",
                    "monitor=%s run_id=%s label_column=%s value=%.17g", mon, k->run_id,
                    c->label_column, bad);
        cohort_rows_release(out);
        return 1;
    }
    return 0;
failed:
    if (!dm_db_is_data_error(r)) {
        dm_db_fail(r, conn, "could not read the cohort's scores and labels", err, errlen);
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
        return -1;
    }
    char why[512];
    dm_db_data_error(r, false, why, sizeof why);
    log_unreadable(c, k->run_id, why);
    PQclear(r);
    while ((r = PQgetResult(conn)) != NULL)
        PQclear(r);
    return 1;
}

/* What the look needs of a cohort without its rows (read_cohort's count, digest and rows with a
 * score and no label, computed by the server from the same pairs), for cohorts that are
 * seldom due: those already evaluated, and those found not due before. */
#define COHORT_SUMMARY                                                                             \
    "SELECT pg_catalog.count(y.l)::pg_catalog.text, "                                              \
    "coalesce(pg_catalog.sum(y.h), 0)::pg_catalog.text, "                                          \
    "pg_catalog.count(*) FILTER (WHERE y.s IS NOT NULL AND y.l IS NULL) "                          \
    "FROM (" COHORT_PAIRS ") y"

/* Cohort k's summary into out (its count, digest and unlabelled; no rows).  0; 1 when its
 * values cannot be read as numbers (logged as read_cohort logs it), or when they are the
 * labels its last look failed on (not logged again: g_failing); -1 with err. */
static int summarise_cohort(PGconn *conn, const dm_config *c, const cohort *k, const cohort_sql *q,
                            cohort_rows *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(q->qscore) + strlen(q->qlabel) + strlen(q->qtable) + strlen(q->where) + 768;
    char *sql = malloc(len);
    if (!sql) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, len, COHORT_SUMMARY, q->qscore, q->qlabel, q->qtable, q->where);
    PGresult *r = PQexecParams(conn, sql, q->nparams, NULL, q->params, NULL, NULL, 0);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (!dm_db_is_data_error(r))
            return dm_db_fail(r, conn, "could not read the cohort's scores and labels", err,
                              errlen);
        char why[512];
        dm_db_data_error(r, false, why, sizeof why);
        log_unreadable(c, k->run_id, why);
        PQclear(r);
        return 1;
    }
    snprintf(out->count, sizeof out->count, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->digest, sizeof out->digest, "%s", PQgetvalue(r, 0, 1));
    out->unlabelled = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    const char *failed = failing_state(strtoll(k->run_id, NULL, 10));
    char st[160];
    labels_state(out->count, out->digest, out->unlabelled, st, sizeof st);
    if (failed && strcmp(failed, st) == 0) {
        PQclear(r);
        return 1;
    }
    PQclear(r);
    return 0;
}

/* Whether cohort k is due on its labels as st gives them: some label there, not those of its
 * latest evaluation, and all there or twice the delay passed. */
static bool cohort_due(const cohort *k, const cohort_rows *st)
{
    bool none = strcmp(st->count, "0") == 0;
    bool same = k->evaluated && strcmp(st->count, k->last_count) == 0 &&
                strcmp(st->digest, k->last_digest) == 0;
    bool filled = st->unlabelled == 0 || k->grace_over;
    return !none && !same && filled;
}

/* The runs whose cohort this process found not due (or not readable) at its last look and
 * that have no evaluation: looked at next by their summary (a cost hint only: the summary
 * decides as the rows would).  Ascending run ids; the sweep runs on one thread. */
static struct {
    long long *id;
    size_t n, cap;
} g_not_due;

static size_t not_due_at(long long id)
{
    size_t lo = 0, hi = g_not_due.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g_not_due.id[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool not_due_has(long long id)
{
    size_t i = not_due_at(id);
    return i < g_not_due.n && g_not_due.id[i] == id;
}

/* Mark (not_due true) or unmark run id; out of memory leaves it unmarked (full looks). */
static void not_due_set(long long id, bool not_due)
{
    size_t i = not_due_at(id);
    bool has = i < g_not_due.n && g_not_due.id[i] == id;
    if (has && !not_due) {
        memmove(g_not_due.id + i, g_not_due.id + i + 1, (g_not_due.n - i - 1) * sizeof(long long));
        g_not_due.n--;
    } else if (!has && not_due) {
        if (g_not_due.n == g_not_due.cap) {
            size_t nc = g_not_due.cap ? 2 * g_not_due.cap : 64;
            long long *p = realloc(g_not_due.id, nc * sizeof *p);
            if (!p)
                return;
            g_not_due.id = p;
            g_not_due.cap = nc;
        }
        memmove(g_not_due.id + i + 1, g_not_due.id + i, (g_not_due.n - i) * sizeof(long long));
        g_not_due.id[i] = id;
        g_not_due.n++;
    }
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
    double stats_s = serve_mono_s() - t0 - read_s;
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
    double t_insert = serve_mono_s(), figures_s = t_insert - t0 - read_s - stats_s;
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
    double t_report = serve_mono_s(), insert_s = t_report - t_insert;
    /* the run's report with these figures, in this transaction; the evaluation stands
     * without it (perfreport.h) */
    dm_perfreport_files docs;
    memset(&docs, 0, sizeof docs);
    if (recorded) {
        dm_perfreport_in pin = {k->run_id, id, &cur, have_ref ? &ref : NULL, why, inc, *flagged};
        dm_perfreport_write(conn, c, &pin, &docs);
    }
    double t_commit = serve_mono_s(), report_s = t_commit - t_report;
    if (dm_db_exec(conn, "COMMIT", 0, NULL, "could not commit the cohort's performance", err,
                   errlen) != 0) {
        dm_perfreport_discard(&docs);
        goto out;
    }
    double t_end = serve_mono_s(), commit_s = t_end - t_commit;
    if (!recorded) {
        *flagged = false;
        rc = 0;
        goto out;
    }
    dm_logf(DM_LOG_INFO, "cohort evaluated",
            "monitor=%s run_id=%s evaluation_id=%s rows=%" PRIu64 " left_out=%" PRIu64
            " auc=%.6g business_cost=%.6g optimal_threshold=%.6g cost_increase=%.6g "
            "retrain_flagged=%s reference_figures=%s read_s=%.3f stats_s=%.3f figures_s=%.3f "
            "insert_s=%.3f report_s=%.3f commit_s=%.3f total_s=%.3f",
            mon, k->run_id, id, cur.rows, cur.left_out, cur.auc, cur.business_cost,
            cur.optimal_threshold, inc, *flagged ? "true" : "false",
            have_ref ? "stored"
            : why    ? why
                     : "none",
            read_s, stats_s, figures_s, insert_s, report_s, commit_s, t_end - t0);
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

/* One monitor's sweep (mi: its index in s).  0, or -1 when the connection was lost. */
static int sweep_monitor(serve_state *s, size_t mi, const dm_config *c, dm_deliverer *dl)
{
    const char *mon = dm_config_monitor_name(c);
    char delay[40], err[ERRLEN];
    snprintf(delay, sizeof delay, "%.17g", c->label_delay_s);
    /* the documents of earlier evaluations whose write failed (perfreport.h) */
    if (dm_perfreport_retry(s->conn, c, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not write the reports of earlier evaluations",
                "monitor=%s reason=%s", mon, err);
        if (serve_conn_lost(s, "writing earlier evaluations' reports"))
            return -1;
    }
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
            serve_count_evaluation(s, mon, DM_EVAL_FAILED);
            rc = serve_conn_lost(s, "evaluating a cohort") ? -1 : 0;
            break; /* the same for every cohort of the monitor */
        }
        /* the labels' look and the evaluation: one snapshot; the rows read once, and only
         * for a cohort likely due (one never looked at by this process), else only when its
         * summary says it is due */
        cohort_rows st;
        long long run = strtoll(k.run_id, NULL, 10);
        bool summary = k.evaluated || not_due_has(run);
        double t0 = serve_mono_s();
        int rr = dm_db_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE", 0, NULL,
                            "could not begin the cohort's look", err, sizeof err);
        bool due = true;
        if (rr == 0 && summary) {
            rr = summarise_cohort(s->conn, c, &k, &q, &st, err, sizeof err);
            due = rr == 0 && cohort_due(&k, &st);
        }
        if (rr == 0 && due)
            rr = read_cohort(s->conn, c, &k, &q, &st, err, sizeof err);
        cohort_sql_release(&q);
        if (rr != 0) {
            serve_count_evaluation(s, mon, DM_EVAL_FAILED);
            serve_rollback_if_needed(s->conn);
            if (rr < 0) {
                dm_logf(DM_LOG_ERROR, "could not read the cohort's labels",
                        "monitor=%s run_id=%s reason=%s", mon, k.run_id, err);
                rc = serve_conn_lost(s, "evaluating a cohort") ? -1 : 0;
            } else if (!k.evaluated) {
                not_due_set(run, true);
            }
            continue;
        }
        failing_clear(run); /* read without bad input */
        if (!due || !cohort_due(&k, &st)) {
            serve_rollback_if_needed(s->conn);
            cohort_rows_release(&st);
            if (!k.evaluated)
                not_due_set(run, true);
            continue;
        }
        not_due_set(run, false);
        serve_check_begin(s);
        bool flagged = false;
        int e = evaluate(s->conn, c, &k, &st, t0, &flagged, err, sizeof err);
        serve_check_end(s, mi, -1, 0);
        serve_count_evaluation(s, mon,
                               e < 0   ? DM_EVAL_FAILED
                               : e > 0 ? (flagged ? DM_EVAL_COST_ALERT : DM_EVAL_NO_ALERT)
                                       : -1);
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
        if (sweep_monitor(s, i, c, dl) < 0)
            return -1;
    }
    return 0;
}

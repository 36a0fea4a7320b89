/* perfreport.c - a run's report once its cohort is evaluated (see perfreport.h). */
#include "monitor/perfreport.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/perfstore.h"
#include "monitor/reportdir.h"
#include "monitor/sha256.h"
#include "reports/report.h"

#define ERRLEN 1024

/* The run's stored documents and the evaluation's time and predecessor, in the evaluation's
 * transaction. */
static const char docs_sql[] =
    "SELECT r.report_html_doc, r.report_json_doc, "
    "to_char(p.evaluated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "p.supersedes FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id "
    "WHERE p.id = $1::bigint";

/* The documents' text into html and json (malloc'ed).  0; -1 with err; 1 with err when the
 * run's stored documents cannot be re-rendered (none, or without a performance section: no
 * retry will do better). */
static int render(PGconn *conn, const dm_config *c, const dm_perfreport_in *in, char **html,
                  char **json, char *err, size_t errlen)
{
    const char *p[1] = {in->evaluation_id};
    PGresult *r = PQexecParams(conn, docs_sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        return dm_db_fail(r, conn, "could not read the run's stored reports", err, errlen);
    int rc = -1;
    if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1)) {
        snprintf(err, errlen,
                 "the run has no stored HTML or JSON report (recorded before "
                 "migrations 005 and 009)");
        rc = 1;
        goto out;
    }
    rpt_perf_evaluation ev = {strtoll(in->evaluation_id, NULL, 10), PQgetvalue(r, 0, 2),
                              PQgetisnull(r, 0, 3) ? 0 : strtoll(PQgetvalue(r, 0, 3), NULL, 10),
                              in->retrain_flagged};
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.perf_label = c->label_column;
    run.perf_ref = in->ref;
    run.perf_ref_note = in->ref ? NULL : in->ref_note;
    run.perf_cur = in->cur;
    run.cost_fn = c->cost_fn;
    run.cost_fp = c->cost_fp;
    run.decision_threshold = c->decision_threshold;
    run.retrain_cost_increase = c->retrain_cost_increase;
    run.verdict.cost_increase = in->cost_increase;
    run.perf_eval = &ev;
    int h = rpt_html_replace_performance(PQgetvalue(r, 0, 0), &run, html);
    int j = h == 0 ? rpt_json_replace_performance(PQgetvalue(r, 0, 1), &run, json) : 0;
    if (h < 0 || j < 0) {
        snprintf(err, errlen, "out of memory rendering the reports");
    } else if (h > 0 || j > 0) {
        snprintf(err, errlen,
                 "the run's stored %s report has no performance section (written without "
                 "model.label_column, or by an earlier version): not re-rendered",
                 h > 0 ? "HTML" : "JSON");
        rc = 1;
    } else {
        rc = 0;
    }
out:
    PQclear(r);
    if (rc != 0) {
        free(*html);
        free(*json);
        *html = *json = NULL;
    }
    return rc;
}

static int write_store(PGconn *conn, const dm_perfreport_in *in, const char *html, const char *json,
                       dm_perfreport_files *f, char *err, size_t errlen)
{
    char hsha[65], jsha[65];
    dm_sha256_hex(html, strlen(html), hsha);
    dm_sha256_hex(json, strlen(json), jsha);
    if (dm_write_file_atomic(f->html, html, strlen(html), err, errlen) != 0)
        return -1;
    if (dm_write_file_atomic(f->json, json, strlen(json), err, errlen) != 0) {
        unlink(f->html);
        return -1;
    }
    const char *p[8] = {in->evaluation_id, f->html, hsha, html,
                        f->json,           jsha,    json, DRIFTMON_VERSION};
    PGresult *r = PQexecParams(conn,
                               "SELECT driftmon.record_performance_report($1::bigint, $2, $3, "
                               "$4, $5, $6, $7, $8)",
                               8, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        unlink(f->html);
        unlink(f->json);
        return dm_db_fail(r, conn,
                          "could not store the reports (is the schema up to date? run "
                          "`driftmon init`)",
                          err, errlen);
    }
    PQclear(r);
    return 0;
}

/* The documents of evaluation in, written and stored under a savepoint of conn's open
 * transaction (files set when done).  0; -1 with err; 1 with err when they can never be
 * rendered (render). */
static int write_docs(PGconn *conn, const dm_config *c, const dm_perfreport_in *in,
                      dm_perfreport_files *files, char *err, size_t errlen)
{
    const char *dir = c->reports_dir ? c->reports_dir : "reports";
    memset(files, 0, sizeof *files);
    dm_perfreport_files f;
    int n1 = snprintf(f.html, sizeof f.html, "%s/run-%s.performance-%s.html", dir, in->run_id,
                      in->evaluation_id);
    int n2 = snprintf(f.json, sizeof f.json, "%s/run-%s.performance-%s.json", dir, in->run_id,
                      in->evaluation_id);
    char *html = NULL, *json = NULL;
    int rc = -1;
    if (n1 < 0 || (size_t)n1 >= sizeof f.html || n2 < 0 || (size_t)n2 >= sizeof f.json)
        snprintf(err, errlen, "the reports directory's path is too long");
    else if (dm_db_exec(conn, "SAVEPOINT performance_report", 0, NULL, "could not set a savepoint",
                        err, errlen) == 0) {
        rc = render(conn, c, in, &html, &json, err, errlen);
        if (rc == 0)
            rc = write_store(conn, in, html, json, &f, err, errlen);
        char ignored[ERRLEN];
        dm_db_exec(conn,
                   rc == 0 ? "RELEASE SAVEPOINT performance_report"
                           : "ROLLBACK TO SAVEPOINT performance_report",
                   0, NULL, "could not end the savepoint", ignored, sizeof ignored);
    }
    free(html);
    free(json);
    if (rc == 0)
        *files = f;
    return rc;
}

/* The evaluations whose documents this process could not write: warned about once, then
 * retried quietly with a capped exponential backoff (a full disk is not hammered at every
 * sweep), or given up (they can never be rendered).  The sweep runs on one thread. */
enum { RETRY_WARNED = 1, RETRY_GAVE_UP = 2 };
#define RETRY_FIRST_S 5.0
#define RETRY_CAP_S 300.0
typedef struct {
    long long id;
    unsigned char flags;
    double next_at, delay; /* monotonic seconds */
} retry_entry;
static struct {
    retry_entry *e;
    size_t n;
} g_retry;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static retry_entry *retry_find(long long id)
{
    for (size_t i = 0; i < g_retry.n; i++)
        if (g_retry.e[i].id == id)
            return &g_retry.e[i];
    return NULL;
}

/* A failed write of id's documents (flags added): its next try after the backoff.  Out of
 * memory: not remembered (warned again, retried at the next sweep). */
static void retry_failed(long long id, unsigned char flags)
{
    retry_entry *e = retry_find(id);
    if (!e) {
        retry_entry *grown = realloc(g_retry.e, (g_retry.n + 1) * sizeof *grown);
        if (!grown)
            return;
        g_retry.e = grown;
        e = &g_retry.e[g_retry.n++];
        *e = (retry_entry){id, 0, 0, RETRY_FIRST_S / 2};
    }
    e->flags |= flags;
    e->delay = fmin(2 * e->delay, RETRY_CAP_S);
    e->next_at = mono_s() + e->delay;
}

static void retry_done(long long id)
{
    retry_entry *e = retry_find(id);
    if (e)
        *e = g_retry.e[--g_retry.n];
}

static void warn_unwritten(const dm_config *c, const dm_perfreport_in *in, const char *err)
{
    dm_logf(DM_LOG_WARN,
            "could not write the run's report with its cohort's performance (the "
            "evaluation is recorded)",
            "monitor=%s run_id=%s evaluation_id=%s reason=%s", dm_config_monitor_name(c),
            in->run_id, in->evaluation_id, err);
}

bool dm_perfreport_write(PGconn *conn, const dm_config *c, const dm_perfreport_in *in,
                         dm_perfreport_files *files)
{
    char err[ERRLEN] = "";
    int rc = write_docs(conn, c, in, files, err, sizeof err);
    if (rc != 0) {
        warn_unwritten(c, in, err);
        retry_failed(strtoll(in->evaluation_id, NULL, 10),
                     RETRY_WARNED | (rc > 0 ? RETRY_GAVE_UP : 0));
        return false;
    }
    dm_logf(DM_LOG_INFO, "run's report written with its cohort's performance",
            "monitor=%s run_id=%s evaluation_id=%s html=%s json=%s", dm_config_monitor_name(c),
            in->run_id, in->evaluation_id, files->html, files->json);
    return true;
}

/* The monitor's evaluations without documents that are their run's latest (an older one's
 * documents would show superseded figures), with what the documents show: the row's
 * figures and settings, and the reference's name for the index. */
static const char retry_sql[] =
    "SELECT p.id, p.run_id, p.rows, p.left_out, p.tp, p.fp, p.tn, p.fn, p.auc, p.recall, "
    "p.precision, p.business_cost, p.optimal_threshold, p.business_cost_at_optimal, "
    "p.reference_id, p.cost_increase, p.retrain_flagged, p.label_column, p.score_column, "
    "p.decision_threshold, p.cost_fn, p.cost_fp, p.retrain_cost_increase, "
    "(SELECT f.name FROM driftmon.reference f WHERE f.id = p.reference_id) "
    "FROM driftmon.performance p WHERE p.monitor = $1 AND NOT EXISTS (SELECT 1 FROM "
    "driftmon.performance_report d WHERE d.performance_id = p.id) AND NOT EXISTS (SELECT 1 "
    "FROM driftmon.performance x WHERE x.run_id = p.run_id AND x.id > p.id) ORDER BY p.id";

static double fig(const PGresult *r, int i, int j)
{
    return PQgetisnull(r, i, j) ? NAN : strtod(PQgetvalue(r, i, j), NULL);
}

static uint64_t count(const PGresult *r, int i, int j)
{
    return strtoull(PQgetvalue(r, i, j), NULL, 10);
}

/* Row i of retry_sql's result: its documents, in a transaction of their own.  1 written, 0
 * not (logged once per evaluation), -1 with err (the database). */
static int retry_one(PGconn *conn, const dm_config *c, const PGresult *r, int i,
                     dm_perfreport_files *docs, char *err, size_t errlen)
{
    const char *id = PQgetvalue(r, i, 0), *run = PQgetvalue(r, i, 1);
    long long eid = strtoll(id, NULL, 10);
    const retry_entry *prev = retry_find(eid);
    unsigned char flags = prev ? prev->flags : 0;
    if ((flags & RETRY_GAVE_UP) || (prev && mono_s() < prev->next_at))
        return 0;
    /* the figures and settings as evaluated, whatever the configuration says now */
    dm_config as = *c;
    as.label_column = PQgetvalue(r, i, 17);
    as.score_column = PQgetvalue(r, i, 18);
    as.decision_threshold = fig(r, i, 19);
    as.cost_fn = fig(r, i, 20);
    as.cost_fp = fig(r, i, 21);
    as.retrain_cost_increase = fig(r, i, 22);
    stats_perf cur = {count(r, i, 2), count(r, i, 3), count(r, i, 4), count(r, i, 5),
                      count(r, i, 6), count(r, i, 7), fig(r, i, 8),   fig(r, i, 9),
                      fig(r, i, 10),  fig(r, i, 11),  fig(r, i, 12),  fig(r, i, 13)};
    /* one writer per evaluation: another daemon may be retrying it */
    const char *p[1] = {id};
    if (dm_db_exec(conn, "BEGIN", 0, NULL, "could not begin", err, errlen) != 0)
        return -1;
    PGresult *x =
        PQexecParams(conn,
                     "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
                     "'driftmon.performance_report:' || $1, 0)), EXISTS (SELECT 1 FROM "
                     "driftmon.performance_report d WHERE d.performance_id = $1::bigint)",
                     1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(x) != PGRES_TUPLES_OK) {
        dm_db_fail(x, conn, "could not look up the evaluation's documents", err, errlen);
        return -1;
    }
    bool done = PQgetvalue(x, 0, 1)[0] == 't';
    PQclear(x);
    int rc = 0;
    if (!done) {
        stats_perf ref;
        const char *why = NULL;
        memset(&ref, 0, sizeof ref);
        int have_ref = PQgetisnull(r, i, 14)
                           ? 0
                           : dm_perfstore_get(conn, strtoll(PQgetvalue(r, i, 14), NULL, 10), &as,
                                              &ref, &why, err, errlen);
        if (have_ref < 0)
            return -1;
        dm_perfreport_in in = {run,
                               id,
                               &cur,
                               have_ref ? &ref : NULL,
                               why,
                               fig(r, i, 15),
                               PQgetvalue(r, i, 16)[0] == 't'};
        char why_not[ERRLEN] = "";
        int w = write_docs(conn, &as, &in, docs, why_not, sizeof why_not);
        if (w != 0) {
            if (!(flags & RETRY_WARNED))
                warn_unwritten(c, &in, why_not);
            retry_failed(eid, (unsigned char)(RETRY_WARNED | (w > 0 ? RETRY_GAVE_UP : 0)));
        }
        rc = w == 0;
    }
    if (dm_db_exec(conn, "COMMIT", 0, NULL, "could not commit the evaluation's documents", err,
                   errlen) != 0) {
        dm_perfreport_discard(docs);
        return -1;
    }
    if (rc) {
        retry_done(eid);
        dm_logf(DM_LOG_INFO, "run's report written with its cohort's performance at a later sweep",
                "monitor=%s run_id=%s evaluation_id=%s html=%s json=%s", dm_config_monitor_name(c),
                run, id, docs->html, docs->json);
    }
    return rc;
}

int dm_perfreport_retry(PGconn *conn, const dm_config *c, char *err, size_t errlen)
{
    const char *mon = dm_config_monitor_name(c);
    const char *p[1] = {mon};
    PGresult *r = PQexecParams(conn, retry_sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return dm_db_fail(r, conn, "could not list the evaluations without documents", err, errlen);
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        dm_perfreport_files docs;
        memset(&docs, 0, sizeof docs);
        int w = retry_one(conn, c, r, i, &docs, err, errlen);
        if (w < 0) {
            char ignored[ERRLEN];
            if (PQtransactionStatus(conn) != PQTRANS_IDLE)
                dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, ignored, sizeof ignored);
            rc = -1;
        } else if (w > 0) {
            /* index.html links the run's latest re-rendered report */
            dm_reportdir_refresh(conn, c->reports_dir ? c->reports_dir : "reports", mon,
                                 PQgetisnull(r, i, 23) ? NULL : PQgetvalue(r, i, 23),
                                 c->history_runs);
        }
    }
    PQclear(r);
    return rc;
}

void dm_perfreport_discard(dm_perfreport_files *files)
{
    if (files->html[0])
        unlink(files->html);
    if (files->json[0])
        unlink(files->json);
    memset(files, 0, sizeof *files);
}

/* perfreport.c - a run's report once its cohort is evaluated (see perfreport.h). */
#include "monitor/perfreport.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
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

/* The documents' text into html and json (malloc'ed).  0, or -1 with err. */
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
    if (h < 0 || j < 0)
        snprintf(err, errlen, "out of memory rendering the reports");
    else if (h > 0 || j > 0)
        snprintf(err, errlen,
                 "the run's stored %s report has no performance section (written without "
                 "model.label_column, or by an earlier version): not re-rendered",
                 h > 0 ? "HTML" : "JSON");
    else
        rc = 0;
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

bool dm_perfreport_write(PGconn *conn, const dm_config *c, const dm_perfreport_in *in,
                         dm_perfreport_files *files)
{
    char err[ERRLEN] = "";
    const char *mon = dm_config_monitor_name(c);
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
        snprintf(err, sizeof err, "the reports directory's path is too long");
    else if (dm_db_exec(conn, "SAVEPOINT performance_report", 0, NULL, "could not set a savepoint",
                        err, sizeof err) == 0) {
        rc = render(conn, c, in, &html, &json, err, sizeof err);
        if (rc == 0)
            rc = write_store(conn, in, html, json, &f, err, sizeof err);
        char ignored[ERRLEN];
        dm_db_exec(conn,
                   rc == 0 ? "RELEASE SAVEPOINT performance_report"
                           : "ROLLBACK TO SAVEPOINT performance_report",
                   0, NULL, "could not end the savepoint", ignored, sizeof ignored);
    }
    free(html);
    free(json);
    if (rc != 0) {
        dm_logf(DM_LOG_WARN,
                "could not write the run's report with its cohort's performance (the "
                "evaluation is recorded)",
                "monitor=%s run_id=%s evaluation_id=%s reason=%s", mon, in->run_id,
                in->evaluation_id, err);
        return false;
    }
    *files = f;
    dm_logf(DM_LOG_INFO, "run's report written with its cohort's performance",
            "monitor=%s run_id=%s evaluation_id=%s html=%s json=%s", mon, in->run_id,
            in->evaluation_id, f.html, f.json);
    return true;
}

void dm_perfreport_discard(dm_perfreport_files *files)
{
    if (files->html[0])
        unlink(files->html);
    if (files->json[0])
        unlink(files->json);
    memset(files, 0, sizeof *files);
}

/* cmd_history.c - `driftmon history` and `driftmon report` (see cmd_history.h). */
#include "monitor/cmd_history.h"

#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/sha256.h"
#include "reports/report.h"
#include "stats/numfmt.h"

#define ERRLEN 1024

static PGconn *connect_cfg(const char *config, dm_config *cfg)
{
    if (dm_cli_load_config(config, cfg) != 0)
        return NULL;
    char err[ERRLEN];
    PGconn *c = dm_db_connect(cfg->conninfo, err, sizeof err);
    if (!c) {
        dm_cli_error(err);
        dm_config_release(cfg);
    }
    return c;
}

static void pq_error(const char *what, PGresult *res, PGconn *conn)
{
    char msg[ERRLEN];
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    size_t l = strlen(m);
    while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
        l--;
    snprintf(msg, sizeof msg, "%s: %.*s", what, (int)l, m);
    dm_cli_error(msg);
}

/* ---- history --------------------------------------------------------------------------- */

enum { F_TABLE, F_CSV, F_JSON };

/* How a field of a listing is typed in JSON and aligned in a table. */
typedef enum {
    K_TEXT, /* a string */
    K_INT,  /* a number, right-aligned */
    K_NUM,  /* a number (null when not finite), right-aligned */
    K_BOOL, /* PostgreSQL's t / f */
    K_LIST, /* space-separated names: a JSON array of strings */
} field_kind;

typedef struct {
    const char *name;
    field_kind kind;
} field;

static const field hist_fields[] = {{"run_id", K_INT},       {"batch", K_TEXT},
                                    {"finished_at", K_TEXT}, {"reference_name", K_TEXT},
                                    {"column_name", K_TEXT}, {"column_type", K_TEXT},
                                    {"stattest", K_TEXT},    {"stattest_threshold", K_NUM},
                                    {"drift_score", K_NUM},  {"drift_detected", K_BOOL},
                                    {"monitor", K_TEXT}};

/* --runs: the run-level figures of driftmon.runs (issue 17) */
static const field run_fields[] = {{"run_id", K_INT},
                                   {"finished_at", K_TEXT},
                                   {"reference_name", K_TEXT},
                                   {"batch", K_TEXT},
                                   {"window_start", K_TEXT},
                                   {"window_end", K_TEXT},
                                   {"number_of_columns", K_INT},
                                   {"number_of_drifted_columns", K_INT},
                                   {"share_of_drifted_columns", K_NUM},
                                   {"importance_weighted_share", K_NUM},
                                   {"score_psi", K_NUM},
                                   {"score_band", K_TEXT},
                                   {"retrain_flagged", K_BOOL},
                                   {"retrain_reasons", K_LIST},
                                   {"monitor", K_TEXT}};

/* --performance: the cohorts' realised performance, driftmon.performance_history (issue 21) */
static const field perf_fields[] = {{"evaluation_id", K_INT},
                                    {"evaluated_at", K_TEXT},
                                    {"monitor", K_TEXT},
                                    {"cohort_kind", K_TEXT},
                                    {"cohort", K_TEXT},
                                    {"run_id", K_INT},
                                    {"supersedes", K_INT},
                                    {"rows", K_INT},
                                    {"left_out", K_INT},
                                    {"tp", K_INT},
                                    {"fp", K_INT},
                                    {"tn", K_INT},
                                    {"fn", K_INT},
                                    {"auc", K_NUM},
                                    {"recall", K_NUM},
                                    {"precision", K_NUM},
                                    {"business_cost", K_NUM},
                                    {"reference_business_cost", K_NUM},
                                    {"cost_increase", K_NUM},
                                    {"decision_threshold", K_NUM},
                                    {"optimal_threshold", K_NUM},
                                    {"business_cost_at_optimal", K_NUM},
                                    {"reference_auc", K_NUM},
                                    {"reference_name", K_TEXT},
                                    {"retrain_flagged", K_BOOL}};

/* RFC 4180: quote when the field holds a comma, a quote, CR or LF (or starts/ends with a
 * space, which some readers trim); quotes doubled. */
static void csv_field(FILE *f, const char *s)
{
    bool q = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || (*s && s[strlen(s) - 1] == ' ');
    if (!q) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* The width of a table cell: s as table_cell prints it. */
static int cell_width(const char *s)
{
    char *e = dm_escape_dup(s);
    int n = (int)strlen(e ? e : "?");
    free(e);
    return n;
}

/* A table cell: control characters escaped (dm_escape), so one row stays one line and the
 * terminal obeys none of them. */
static void table_cell(FILE *f, const char *s, int width, bool right)
{
    char *e = dm_escape_dup(s);
    const char *shown = e ? e : "?";
    int n = (int)strlen(shown);
    if (right)
        fprintf(f, "%*s", width - n > 0 ? width - n : 0, "");
    fputs(shown, f);
    if (!right)
        fprintf(f, "%*s", width - n > 0 ? width - n : 0, "");
    free(e);
}

/* A K_LIST value as a JSON array (NULL: null). */
static cJSON *json_list(const char *v)
{
    cJSON *a = cJSON_CreateArray();
    for (const char *p = v; a && *p;) {
        size_t l = strcspn(p, " ");
        char *w = strndup(p, l);
        char *u = w ? rpt_utf8_sanitize(w) : NULL;
        cJSON *it = u ? cJSON_CreateString(u) : NULL;
        free(w);
        free(u);
        if (!it || !cJSON_AddItemToArray(a, it)) {
            cJSON_Delete(it);
            cJSON_Delete(a);
            return NULL;
        }
        p += l;
        p += strspn(p, " ");
    }
    return a;
}

static cJSON *json_field(const PGresult *res, int i, int j, field_kind kind)
{
    const char *v = PQgetvalue(res, i, j);
    if (PQgetisnull(res, i, j))
        return cJSON_CreateNull();
    switch (kind) {
    case K_INT:
        return cJSON_CreateNumber(strtod(v, NULL));
    case K_NUM: { /* the shortest text that reads back as the same double, as in the reports
                   * (cJSON's own printing may lose the last bit) */
        double d = strtod(v, NULL);
        char buf[STATS_DOUBLE_BUFLEN];
        return isfinite(d) ? cJSON_CreateRaw(stats_format_double(d, buf, sizeof buf))
                           : cJSON_CreateNull();
    }
    case K_BOOL:
        return cJSON_CreateBool(v[0] == 't');
    case K_LIST:
        return json_list(v);
    case K_TEXT:
    default: {
        char *u = rpt_utf8_sanitize(v);
        cJSON *it = u ? cJSON_CreateString(u) : NULL;
        free(u);
        return it;
    }
    }
}

/* res's columns are the fields f[0..nf), in order. */
static int print_rows(PGresult *res, const field *f, int nf, int format)
{
    int n = PQntuples(res);
    if (format == F_CSV) {
        for (int j = 0; j < nf; j++) {
            if (j)
                fputc(',', stdout);
            fputs(f[j].name, stdout);
        }
        fputs("\r\n", stdout);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < nf; j++) {
                if (j)
                    fputc(',', stdout);
                if (!PQgetisnull(res, i, j))
                    csv_field(stdout, PQgetvalue(res, i, j));
            }
            fputs("\r\n", stdout);
        }
        return 0;
    }
    if (format == F_JSON) {
        cJSON *a = cJSON_CreateArray();
        if (!a)
            return -1;
        for (int i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(a, o)) {
                cJSON_Delete(o);
                cJSON_Delete(a);
                return -1;
            }
            for (int j = 0; j < nf; j++) {
                cJSON *it = json_field(res, i, j, f[j].kind);
                if (!it || !cJSON_AddItemToObject(o, f[j].name, it)) {
                    cJSON_Delete(it);
                    cJSON_Delete(a);
                    return -1;
                }
            }
        }
        char *s = cJSON_Print(a);
        cJSON_Delete(a);
        if (!s)
            return -1;
        fputs(s, stdout);
        fputc('\n', stdout);
        cJSON_free(s);
        return 0;
    }
    int *w = calloc((size_t)nf, sizeof *w);
    if (!w)
        return -1;
    for (int j = 0; j < nf; j++) {
        w[j] = (int)strlen(f[j].name);
        for (int i = 0; i < n; i++) {
            int l = cell_width(PQgetvalue(res, i, j));
            if (l > w[j])
                w[j] = l;
        }
    }
    for (int j = 0; j < nf; j++) {
        if (j)
            fputs("  ", stdout);
        table_cell(stdout, f[j].name, j == nf - 1 ? 0 : w[j], false);
    }
    fputc('\n', stdout);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < nf; j++) {
            if (j)
                fputs("  ", stdout);
            bool right = f[j].kind == K_INT || f[j].kind == K_NUM;
            table_cell(stdout, PQgetvalue(res, i, j), j == nf - 1 ? 0 : w[j], right);
        }
        fputc('\n', stdout);
    }
    free(w);
    return 0;
}

int dm_cmd_history(int argc, char **argv)
{
    static const struct option longopts[] = {{"column", required_argument, NULL, 'C'},
                                             {"since", required_argument, NULL, 's'},
                                             {"reference", required_argument, NULL, 'r'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"runs", no_argument, NULL, 'R'},
                                             {"monitor", required_argument, NULL, 'm'},
                                             {"performance", no_argument, NULL, 'P'},
                                             {NULL, 0, NULL, 0}};
    const char *column = NULL, *since = NULL, *reference = NULL, *monitor = NULL;
    const char *config = getenv("DRIFTMON_CONFIG");
    int format = F_TABLE, ch;
    bool runs = false, perf = false;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "C:s:r:f:c:Rm:P", longopts, NULL)) != -1) {
        switch (ch) {
        case 'P':
            perf = true;
            break;
        case 'm':
            monitor = optarg;
            break;
        case 'R':
            runs = true;
            break;
        case 'C':
            column = optarg;
            break;
        case 's':
            since = optarg;
            break;
        case 'r':
            reference = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0)
                format = F_TABLE;
            else if (strcmp(optarg, "csv") == 0)
                format = F_CSV;
            else if (strcmp(optarg, "json") == 0)
                format = F_JSON;
            else {
                char m[300];
                snprintf(m, sizeof m, "unknown format \"%.200s\" (table, csv or json)", optarg);
                dm_cli_error(m);
                return 2;
            }
            break;
        case 'c':
            config = optarg;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc || (runs + perf + (column != NULL)) > 1) {
        dm_cli_error("usage: driftmon history [--column C | --runs | --performance] [--since T] "
                     "[--reference R] [--monitor NAME] [--format table|csv|json] [--config FILE]");
        return 2;
    }
    if (monitor && !dm_config_monitor_name_ok(monitor)) {
        char shown[DM_SHOWN_LEN], m[DM_SHOWN_LEN + 200];
        dm_show_value(monitor, strlen(monitor), shown, sizeof shown);
        snprintf(m, sizeof m,
                 "--monitor: \"%s\" is not a monitor name (1 to %d letters, digits, '_' or '-', "
                 "starting with a letter or a digit)",
                 shown, DM_MONITOR_NAME_MAX);
        dm_cli_error(m);
        return 2;
    }
    dm_config cfg;
    PGconn *conn = connect_cfg(config, &cfg);
    if (!conn)
        return 1;
    const char *p[4] = {column, since, reference, monitor};
    PGresult *res;
    if (perf)
        res = PQexecParams(
            conn,
            "SELECT evaluation_id, to_char(evaluated_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), monitor, cohort_kind, "
            "CASE WHEN cohort_kind = 'batch' THEN batch ELSE "
            "to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '/' "
            "|| to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END, "
            "run_id, supersedes, rows, left_out, tp, fp, tn, fn, auc, recall, precision, "
            "business_cost, reference_business_cost, cost_increase, decision_threshold, "
            "optimal_threshold, business_cost_at_optimal, reference_auc, reference_name, "
            "retrain_flagged FROM driftmon.performance_history "
            "WHERE ($1::timestamptz IS NULL OR evaluated_at >= $1::timestamptz) "
            "AND ($2::text IS NULL OR reference_name = $2::text) "
            "AND ($3::text IS NULL OR monitor = $3::text) ORDER BY evaluated_at, evaluation_id",
            3, NULL, p + 1, NULL, NULL, 0);
    else if (runs)
        res = PQexecParams(
            conn,
            "SELECT run_id, to_char(finished_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), reference_name, batch, "
            "to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
            "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
            "number_of_columns, number_of_drifted_columns, share_of_drifted_columns, "
            "importance_weighted_share, score_psi, score_band, retrain_flagged, "
            "array_to_string(retrain_reasons, ' '), monitor FROM driftmon.runs "
            "WHERE ($1::timestamptz IS NULL OR finished_at >= $1::timestamptz) "
            "AND ($2::text IS NULL OR reference_name = $2::text) "
            "AND ($3::text IS NULL OR monitor = $3::text) ORDER BY finished_at, run_id",
            3, NULL, p + 1, NULL, NULL, 0);
    else
        res = PQexecParams(
            conn,
            "SELECT run_id, batch, to_char(finished_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), reference_name, column_name, column_type, "
            "stattest, stattest_threshold, drift_score, drift_detected, monitor "
            "FROM driftmon.column_history "
            "WHERE ($1::text IS NULL OR column_name = $1::text) "
            "AND ($2::timestamptz IS NULL OR finished_at >= $2::timestamptz) "
            "AND ($3::text IS NULL OR reference_name = $3::text) "
            "AND ($4::text IS NULL OR monitor = $4::text) "
            "ORDER BY finished_at, run_id, column_name COLLATE \"C\"",
            4, NULL, p, NULL, NULL, 0);
    int status = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pq_error(perf   ? "could not read driftmon.performance_history"
                 : runs ? "could not read driftmon.runs"
                        : "could not read driftmon.column_history",
                 res, conn);
        /* a malformed --since is the user's input */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        status = state && strncmp(state, "22", 2) == 0 ? 2 : 1;
    } else if ((perf ? print_rows(res, perf_fields, (int)(sizeof perf_fields / sizeof *perf_fields),
                                  format)
                : runs
                    ? print_rows(res, run_fields, (int)(sizeof run_fields / sizeof *run_fields),
                                 format)
                    : print_rows(res, hist_fields, (int)(sizeof hist_fields / sizeof *hist_fields),
                                 format)) != 0) {
        dm_cli_error("out of memory");
        status = 1;
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        dm_cli_error("could not write the history to the standard output");
        status = 1;
    }
    PQclear(res);
    PQfinish(conn);
    dm_config_release(&cfg);
    return status;
}

/* ---- report ---------------------------------------------------------------------------- */

int dm_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"html", required_argument, NULL, 'H'},
                                             {"json", required_argument, NULL, 'J'},
                                             {"config", required_argument, NULL, 'c'},
                                             {NULL, 0, NULL, 0}};
    const char *html = NULL, *json = NULL, *config = getenv("DRIFTMON_CONFIG");
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "H:J:c:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            html = optarg;
            break;
        case 'J':
            json = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        default:
            return 2;
        }
    }
    char *end = NULL;
    const char *run = optind < argc ? argv[optind] : NULL;
    if (!run || argc - optind != 1 || (!html && !json) || strtoll(run, &end, 10) <= 0 ||
        *end != '\0') {
        dm_cli_error("usage: driftmon report RUN [--html FILE] [--json FILE] [--config FILE] "
                     "(RUN: a run id)");
        return 2;
    }
    dm_config cfg;
    PGconn *conn = connect_cfg(config, &cfg);
    if (!conn)
        return 1;
    const char *p[1] = {run};
    PGresult *res =
        PQexecParams(conn,
                     "SELECT report_html_doc, report_html_sha256, "
                     "jsonb_pretty(report) FROM driftmon.audit_run WHERE id = $1::bigint",
                     1, NULL, p, NULL, NULL, 0);
    int status = 1;
    char err[ERRLEN];
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pq_error("could not read the run", res, conn);
        goto out;
    }
    if (PQntuples(res) == 0) {
        snprintf(err, sizeof err, "run %s does not exist", run);
        dm_cli_error(err);
        status = 2;
        goto out;
    }
    if (html) {
        if (PQgetisnull(res, 0, 0)) {
            snprintf(err, sizeof err,
                     "run %s has no stored HTML report (recorded before migration "
                     "005_reports.sql)",
                     run);
            dm_cli_error(err);
            status = 2;
            goto out;
        }
        const char *doc = PQgetvalue(res, 0, 0);
        size_t len = (size_t)PQgetlength(res, 0, 0);
        char sha[65];
        dm_sha256_hex(doc, len, sha);
        if (PQgetisnull(res, 0, 1) || strcmp(sha, PQgetvalue(res, 0, 1)) != 0) {
            snprintf(err, sizeof err,
                     "the stored HTML report of run %s does not match its recorded sha256 "
                     "(%s, computed %s): not written",
                     run, PQgetisnull(res, 0, 1) ? "none" : PQgetvalue(res, 0, 1), sha);
            dm_cli_error(err);
            goto out;
        }
        if (dm_write_file_atomic(html, doc, len, err, sizeof err) != 0) {
            dm_cli_error(err);
            goto out;
        }
    }
    if (json) {
        if (PQgetisnull(res, 0, 2)) {
            snprintf(err, sizeof err, "run %s has no stored JSON report", run);
            dm_cli_error(err);
            status = 2;
            goto out;
        }
        const char *doc = PQgetvalue(res, 0, 2);
        size_t len = strlen(doc);
        char *withnl = malloc(len + 2);
        if (!withnl) {
            dm_cli_error("out of memory");
            goto out;
        }
        memcpy(withnl, doc, len);
        withnl[len] = '\n';
        int rc = dm_write_file_atomic(json, withnl, len + 1, err, sizeof err);
        free(withnl);
        if (rc != 0) {
            dm_cli_error(err);
            goto out;
        }
    }
    status = 0;
out:
    PQclear(res);
    PQfinish(conn);
    dm_config_release(&cfg);
    return status;
}

/* cmd_alerts.c - `driftmon alerts`: every retrain alert (driftmon.retrain_alerts, sql/016: the
 * drift alerts of driftmon.retrain_outbox and the cost alerts of driftmon.performance_outbox),
 * one line per alert, oldest first: run id, state (pending, delivered, dead), reason (drift or
 * cost), the evaluation of a cost alert ("-" for a drift alert), monitor, attempts, batch or
 * window (the cohort, for a cost alert), when created, when next tried / delivered / dead, the
 * last error, and what the hook wrote on its last attempt (its last 4 KB, escaped onto the
 * line).  Then, when there are any, the checks that could not be made (driftmon.failed_checks,
 * sql/007: batches given up, windows without a run), oldest first, with their reason; --state
 * failed lists those alone.  Both are what an operator has to look at. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/db.h"
#include "monitor/log.h"
#include "monitor/serve.h"

static int list_failed(PGconn *conn, bool heading);

#define USAGE                                                                                      \
    "usage: driftmon alerts [--config FILE] [--state pending|delivered|dead|failed] "              \
    "[--reason drift|cost]"

/* The alerts' columns, in the order printed: the header's names and their widths (the last
 * two, the error and the hook's output, take the rest of the line). */
enum { NCOLS = 11 };
static const char *const col_names[NCOLS] = {
    "run_id",      "state",        "reason",  "evaluation",          "monitor",
    "attempts",    "batch/window", "created", "next/delivered/dead", "last_error",
    "last_output",
};
static const int col_width[NCOLS] = {8, 9, 6, 10, 12, 8, 24, 20, 20, 0, 0};

/* One line of the alerts' table: the fields, space-separated, padded to their widths; the
 * last error and the hook's output joined by " | ". */
static void print_alert(const char *const f[NCOLS])
{
    for (int j = 0; j < NCOLS - 2; j++)
        printf("%-*s ", col_width[j], f[j]);
    printf("%s | %s\n", f[NCOLS - 2], f[NCOLS - 1]);
}

int dm_cmd_alerts(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"state", required_argument, NULL, 's'},
                                             {"reason", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    const char *config = getenv("DRIFTMON_CONFIG"), *state = NULL, *reason = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:r:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 's':
            state = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        default:
            dm_cli_error(USAGE);
            return 2;
        }
    }
    bool failed = state && strcmp(state, "failed") == 0;
    if (optind != argc ||
        (state && strcmp(state, "pending") != 0 && strcmp(state, "delivered") != 0 &&
         strcmp(state, "dead") != 0 && !failed) ||
        (reason && strcmp(reason, "drift") != 0 && strcmp(reason, "cost") != 0)) {
        dm_cli_error(USAGE);
        return 2;
    }
    if (failed && reason) {
        dm_cli_error("--reason does not go with --state failed: a check that could not be made "
                     "raised no retrain alert");
        return 2;
    }
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return 2;
    char err[1024];
    PGconn *conn = dm_db_connect(cfg.conninfo, err, sizeof err);
    dm_config_release(&cfg);
    if (!conn) {
        dm_cli_error(err);
        return 1;
    }
    if (failed) {
        int st = list_failed(conn, false);
        PQfinish(conn);
        return st;
    }
    const char *p[2] = {state, reason};
    PGresult *r = PQexecParams(
        conn,
        "SELECT run_id, state, reason, coalesce(evaluation_id::text, '-'), monitor, attempts, "
        "coalesce(batch, 'window ' || "
        "to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '/' || "
        "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(CASE state WHEN 'delivered' THEN delivered_at WHEN 'dead' THEN dead_at "
        "ELSE next_attempt_at END AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce(last_error, ''), coalesce(last_output, '') FROM driftmon.retrain_alerts "
        "WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR reason = $2) "
        "ORDER BY created_at, reason DESC, run_id, evaluation_id",
        2, NULL, p, NULL, NULL, 0);
    int status = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char m[600];
        snprintf(m, sizeof m, "could not list the alerts (run `driftmon init`?): %s",
                 PQresultErrorMessage(r));
        size_t l = strlen(m);
        while (l > 0 && m[l - 1] == '\n')
            m[--l] = '\0';
        dm_cli_error(m);
        status = 1;
    } else {
        print_alert(col_names);
        for (int i = 0; i < PQntuples(r) && status == 0; i++) {
            /* the batch, the hook's error and its output are data: escaped */
            char *f[NCOLS];
            for (int j = 0; j < NCOLS; j++)
                f[j] = dm_escape_dup(PQgetvalue(r, i, j));
            for (int j = 0; j < NCOLS; j++)
                if (!f[j])
                    status = 1;
            if (status == 0)
                print_alert((const char *const *)f);
            else
                dm_cli_error("out of memory listing the alerts");
            for (int j = 0; j < NCOLS; j++)
                free(f[j]);
        }
    }
    PQclear(r);
    if (status == 0 && !state && !reason)
        status = list_failed(conn, true);
    PQfinish(conn);
    return status;
}

/* The checks that could not be made, one line each; with heading, nothing at all when there
 * are none, else a blank line and a title first.  0, or 1 after printing the error. */
static int list_failed(PGconn *conn, bool heading)
{
    PGresult *r = PQexec(
        conn,
        "SELECT coalesce(batch, 'window ' || "
        "to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '/' || "
        "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), "
        "to_char(failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), attempts, "
        "coalesce(reason, '') FROM driftmon.failed_checks ORDER BY failed_at");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char m[600];
        snprintf(m, sizeof m, "could not list the failed checks (run `driftmon init`?): %s",
                 PQresultErrorMessage(r));
        size_t l = strlen(m);
        while (l > 0 && m[l - 1] == '\n')
            m[--l] = '\0';
        dm_cli_error(m);
        PQclear(r);
        return 1;
    }
    if (!heading || PQntuples(r) > 0) {
        if (heading)
            printf("\nchecks that could not be made (driftmon.failed_checks):\n");
        printf("%-41s %-20s %-8s %s\n", "batch/window", "failed", "attempts", "reason");
        for (int i = 0; i < PQntuples(r); i++) {
            /* the batch id and the reason quote data: escaped */
            char *b = dm_escape_dup(PQgetvalue(r, i, 0)), *why = dm_escape_dup(PQgetvalue(r, i, 3));
            if (b && why)
                printf("%-41s %-20s %-8s %s\n", b, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), why);
            free(b);
            free(why);
            if (!b || !why) {
                dm_cli_error("out of memory listing the failed checks");
                PQclear(r);
                return 1;
            }
        }
    }
    PQclear(r);
    return 0;
}

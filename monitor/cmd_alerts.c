/* cmd_alerts.c - `driftmon alerts`: the retrain outbox (driftmon.alerts, sql/004 and 008), one
 * line per alert, oldest first: run id, state (pending, delivered, dead), attempts, batch or
 * window, when created, when next tried / delivered / dead, the last error, and what the hook
 * wrote on its last attempt (its last 4 KB, escaped onto the line).  Then, when there are any,
 * the checks that could not be made (driftmon.failed_checks, sql/007: batches given up,
 * windows without a run), oldest first, with their reason; --state failed lists those alone.
 * Both are what an operator has to look at. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/db.h"
#include "monitor/serve.h"

static int list_failed(PGconn *conn, bool heading);

/* s (valid UTF-8) on one line, harmless to a terminal: \n \r \t \\, other C0 controls and
 * DEL as \xHH, C1 controls as \uHHHH (the hook's output is the hook's text, not ours). */
static void put_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\r')
            fputs("\\r", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p == '\\')
            fputs("\\\\", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* a C1 control, U+0080..U+009F */
            printf("\\u%04x", *++p);
        else
            putchar(*p);
    }
}

int dm_cmd_alerts(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"state", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    const char *config = getenv("DRIFTMON_CONFIG"), *state = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 's':
            state = optarg;
            break;
        default:
            dm_cli_error("usage: driftmon alerts [--config FILE] [--state "
                         "pending|delivered|dead|failed]");
            return 2;
        }
    }
    if (optind != argc ||
        (state && strcmp(state, "pending") != 0 && strcmp(state, "delivered") != 0 &&
         strcmp(state, "dead") != 0 && strcmp(state, "failed") != 0)) {
        dm_cli_error(
            "usage: driftmon alerts [--config FILE] [--state pending|delivered|dead|failed]");
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
    if (state && strcmp(state, "failed") == 0) {
        int st = list_failed(conn, false);
        PQfinish(conn);
        return st;
    }
    const char *p[1] = {state};
    PGresult *r = PQexecParams(
        conn,
        "SELECT run_id, state, attempts, coalesce(batch, 'window ' || "
        "to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '/' || "
        "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(CASE state WHEN 'delivered' THEN delivered_at WHEN 'dead' THEN dead_at "
        "ELSE next_attempt_at END AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce(last_error, ''), coalesce((SELECT o.last_output FROM driftmon.retrain_outbox o "
        "WHERE o.run_id = alerts.run_id), '') FROM driftmon.alerts WHERE $1::text "
        "IS NULL OR state = $1 "
        "ORDER BY created_at, run_id",
        1, NULL, p, NULL, NULL, 0);
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
        printf("%-8s %-9s %-8s %-24s %-20s %-20s %s | %s\n", "run_id", "state", "attempts",
               "batch/window", "created", "next/delivered/dead", "last_error", "last_output");
        for (int i = 0; i < PQntuples(r); i++) {
            printf("%-8s %-9s %-8s %-24s %-20s %-20s %s | ", PQgetvalue(r, i, 0),
                   PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                   PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6));
            put_escaped(PQgetvalue(r, i, 7));
            putchar('\n');
        }
    }
    PQclear(r);
    if (status == 0 && !state)
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
        for (int i = 0; i < PQntuples(r); i++)
            printf("%-41s %-20s %-8s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    }
    PQclear(r);
    return 0;
}

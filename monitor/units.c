/* units.c - claiming work units, doing each, assembling the run (see units.h). */
#include "monitor/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/log.h"

/* A unit run as read for one of its units: the job and the storage behind it. */
typedef struct {
    dm_unit_job job;
    PGresult *run, *cols, *res;
    const char ***cols_of; /* per unit: its columns, NULL-terminated (into cols) */
    const char **names;
    const unsigned char **result;
    size_t *result_len;
    const char *batch, *since, *until;
    int64_t every_s;
} unit_load;

static void unit_load_release(unit_load *u)
{
    PQclear(u->run);
    PQclear(u->cols);
    PQclear(u->res);
    free(u->cols_of);
    free(u->names);
    free(u->result);
    free(u->result_len);
    memset(u, 0, sizeof *u);
}

/* Read unit run run_id for unit `unit` (the assembly: every other unit's result too).  0; 1
 * when the unit run is gone; -1 with err. */
static int load_unit(PGconn *conn, int64_t run_id, int unit, unit_load *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    const char *p[1] = {id};
    u->run = PQexecParams(conn,
                          "SELECT batch, window_text[1], window_text[2], coalesce(every_s, 0), "
                          "started_at, rows, reference_sha256, units FROM driftmon.unit_run "
                          "WHERE run_id = $1::bigint",
                          1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(u->run) != PGRES_TUPLES_OK) {
        dm_db_fail(u->run, conn, "could not read the unit run", err, errlen);
        u->run = NULL;
        return -1;
    }
    if (PQntuples(u->run) != 1)
        return 1;
    PGresult *r = u->run;
    u->batch = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);
    u->since = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
    u->until = PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2);
    u->every_s = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    dm_unit_job *j = &u->job;
    j->run_id = run_id;
    j->started = PQgetvalue(r, 0, 4);
    j->rows = strtoull(PQgetvalue(r, 0, 5), NULL, 10);
    j->ref_sha256 = PQgetvalue(r, 0, 6);
    j->nunits = (size_t)strtoul(PQgetvalue(r, 0, 7), NULL, 10);
    j->unit = (size_t)unit;
    if ((!u->batch && (!u->since || !u->until)) || j->nunits < 2 || (size_t)unit >= j->nunits) {
        snprintf(err, errlen, "unit run %s is not a valid one", id);
        return -1;
    }
    u->cols = PQexecParams(conn,
                           "SELECT u.unit, c.name FROM driftmon.work_unit u CROSS JOIN LATERAL "
                           "unnest(u.columns) WITH ORDINALITY AS c(name, ord) "
                           "WHERE u.run_id = $1::bigint AND u.unit > 0 ORDER BY u.unit, c.ord",
                           1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(u->cols) != PGRES_TUPLES_OK) {
        dm_db_fail(u->cols, conn, "could not read the work units", err, errlen);
        u->cols = NULL;
        return -1;
    }
    size_t n = (size_t)PQntuples(u->cols);
    u->cols_of = calloc(j->nunits, sizeof *u->cols_of);
    u->names = calloc(n + j->nunits, sizeof *u->names);
    if (!u->cols_of || !u->names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* each unit's names, then its NULL */
    size_t at = 0, row = 0;
    for (size_t k = 1; k < j->nunits; k++) {
        u->cols_of[k] = &u->names[at];
        while (row < n && strtoul(PQgetvalue(u->cols, (int)row, 0), NULL, 10) == k)
            u->names[at++] = PQgetvalue(u->cols, (int)row++, 1);
        u->names[at++] = NULL;
    }
    j->cols = (const char *const *const *)u->cols_of;
    if (unit != 0)
        return 0;
    u->res = PQexecParams(conn,
                          "SELECT result FROM driftmon.work_unit WHERE run_id = $1::bigint AND "
                          "unit > 0 AND done_at IS NOT NULL ORDER BY unit",
                          1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(u->res) != PGRES_TUPLES_OK) {
        dm_db_fail(u->res, conn, "could not read the work units' results", err, errlen);
        u->res = NULL;
        return -1;
    }
    if ((size_t)PQntuples(u->res) != j->nunits - 1) {
        snprintf(err, errlen, "unit run %s: %d of its %zu units are done", id, PQntuples(u->res),
                 j->nunits - 1);
        return -1;
    }
    u->result = calloc(j->nunits, sizeof *u->result);
    u->result_len = calloc(j->nunits, sizeof *u->result_len);
    if (!u->result || !u->result_len) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 1; k < j->nunits; k++) {
        u->result[k] = (const unsigned char *)PQgetvalue(u->res, (int)k - 1, 0);
        u->result_len[k] = (size_t)PQgetlength(u->res, (int)k - 1, 0);
    }
    j->result = u->result;
    j->result_len = u->result_len;
    return 0;
}

/* fail_units / release_unit, logged when they fail. */
static void unit_failed(serve_state *s, int64_t run_id, int unit, const char *err, int mode)
{
    char id[24], un[16];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    snprintf(un, sizeof un, "%d", unit);
    if (mode == 0) {
        const char *p[4] = {id, un, s->o.worker, err};
        (void)serve_exec_ok(s->conn,
                            "SELECT driftmon.release_unit($1::bigint, $2::integer, $3, $4)", 4, p,
                            "could not release the work unit");
        return;
    }
    const char *p[4] = {id, s->o.worker, err, mode == 2 ? "true" : "false"};
    (void)serve_exec_ok(s->conn, "SELECT driftmon.fail_units($1::bigint, $2, $3, $4::boolean)", 4,
                        p, "could not end the unit run");
}

/* driftmon.finish_unit: "done", "assemble" or "lost" in st; -1 with err. */
static int finish_unit(serve_state *s, int64_t run_id, int unit, const dm_run_result *res, char *st,
                       size_t stlen, char *err, size_t errlen)
{
    char id[24], un[16], lease[40];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    snprintf(un, sizeof un, "%d", unit);
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    const char *p[5] = {id, un, s->o.worker, lease, (const char *)res->unit_result};
    int len[5] = {0, 0, 0, 0, (int)res->unit_len};
    int fmt[5] = {0, 0, 0, 0, 1};
    PGresult *r = PQexecParams(
        s->conn, "SELECT driftmon.finish_unit($1::bigint, $2::integer, $3, $4::interval, $5)", 5,
        NULL, p, len, fmt, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        dm_db_fail(r, s->conn, "could not store the work unit's result", err, errlen);
        return -1;
    }
    snprintf(st, stlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

/* One claimed unit (and the assembly when it was the last).  -1 when the connection is
 * gone. */
static int do_unit(serve_state *s, size_t mi, dm_renewer *rn, dm_deliverer *dl,
                   const sigset_t *intset, int64_t run_id, int unit, int attempts)
{
    const dm_config *cfg = serve_monitor_cfg(s, mi);
    const char *mon = dm_config_monitor_name(cfg);
    char err[ERRLEN];
    dm_renewer_unit(rn, run_id, unit);
    if (attempts > DM_UNIT_MAX_ATTEMPTS) {
        snprintf(err, sizeof err, "work unit %d was claimed %d times without being done", unit,
                 attempts);
        dm_logf(DM_LOG_ERROR, "unit run given back", "run_id=%" PRId64 " reason=%s monitor=%s",
                run_id, err, mon);
        unit_failed(s, run_id, unit, err, 1);
        dm_renewer_unit(rn, 0, 0);
        return serve_conn_lost(s, "ending a unit run") ? -1 : 0;
    }
    unit_load u;
    int lrc = load_unit(s->conn, run_id, unit, &u, err, sizeof err);
    if (lrc != 0) {
        dm_renewer_unit(rn, 0, 0);
        if (lrc < 0)
            dm_logf(DM_LOG_ERROR, "could not read the work unit",
                    "run_id=%" PRId64 " unit=%d reason=%s monitor=%s", run_id, unit, err, mon);
        unit_load_release(&u);
        return serve_conn_lost(s, "reading a work unit") ? -1 : 0;
    }
    dm_run_target t;
    memset(&t, 0, sizeof t);
    t.batch = u.batch;
    t.since = u.since;
    t.until = u.until;
    t.replica = &s->replica;
    t.split_by = s->o.worker;
    t.every_s = u.every_s;
    t.unit = &u.job;
    char claim[40]; /* the batch's claim while it is in units (sql/018_units.sql) */
    snprintf(claim, sizeof claim, "units:%" PRId64, run_id);
    dm_logf(DM_LOG_INFO, "claimed work unit",
            "run_id=%" PRId64 " unit=%d units=%zu attempts=%d monitor=%s", run_id, unit,
            u.job.nunits, attempts, mon);
    dm_run_result res;
    serve_check_begin(s);
    double t0 = serve_mono_s();
    pthread_sigmask(SIG_UNBLOCK, intset, NULL);
    int rc =
        dm_run_check_claimed(s->conn, cfg, &t, claim, &s->mon[mi].cache, &res, err, sizeof err);
    pthread_sigmask(SIG_BLOCK, intset, NULL);
    dm_renewer_unit(rn, 0, 0);
    serve_check_end(s, mi,
                    rc == DM_RUN_OK && unit == 0
                        ? (res.verdict.dataset_drift ? DM_METRIC_DRIFT : DM_METRIC_NO_DRIFT)
                    : rc == DM_RUN_OK || rc == DM_RUN_LOST ? -1
                                                           : DM_METRIC_FAILED,
                    serve_mono_s() - t0);
    bool window = u.batch == NULL;
    char what[BATCH_MAX + 100];
    const char *key = window ? "window" : "batch"; /* the log's key for what */
    if (window)
        snprintf(what, sizeof what, "[%s, %s)", u.since, u.until);
    else
        snprintf(what, sizeof what, "%s", u.batch);
    int ret = 0;
    if (rc == DM_RUN_OK && unit > 0) {
        char st[32];
        if (finish_unit(s, run_id, unit, &res, st, sizeof st, err, sizeof err) != 0) {
            dm_logf(DM_LOG_ERROR, "could not store the work unit's result",
                    "run_id=%" PRId64 " unit=%d reason=%s monitor=%s", run_id, unit, err, mon);
            ret = serve_conn_lost(s, "storing a work unit") ? -1 : 0;
        } else {
            dm_logf(DM_LOG_INFO, "did work unit",
                    "run_id=%" PRId64 " unit=%d result=%s bytes=%zu read_s=%.3f total_s=%.3f "
                    "monitor=%s",
                    run_id, unit, st, res.unit_len, res.read_s, serve_mono_s() - t0, mon);
            if (strcmp(st, "assemble") == 0) {
                free(res.unit_result);
                unit_load_release(&u);
                return do_unit(s, mi, rn, dl, intset, run_id, 0, 1);
            }
        }
        free(res.unit_result);
    } else if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, window ? "checked window" : "checked batch",
                "%s=%s run_id=%" PRId64 " rows=%" PRIu64 " monitor=%s columns=%zu drifted=%zu "
                "dataset_drift=%s retrain=%s units=%zu read_s=%.3f total_s=%.3f",
                key, what, res.run_id, res.rows, mon, res.verdict.number_of_columns,
                res.verdict.number_of_drifted_columns, res.verdict.dataset_drift ? "true" : "false",
                res.verdict.retrain ? "flagged" : "no", u.job.nunits, res.read_s, res.total_s);
        if (res.verdict.retrain)
            dm_deliverer_wake(dl);
    } else if (rc == DM_RUN_LOST) {
        dm_logf(DM_LOG_WARN, "work unit discarded: lost its claim",
                "run_id=%" PRId64 " unit=%d reason=%s monitor=%s", run_id, unit, err, mon);
    } else if (serve_conn_lost(s, "a work unit")) {
        dm_logf(DM_LOG_ERROR, "could not do the work unit",
                "run_id=%" PRId64 " unit=%d reason=%s monitor=%s", run_id, unit, err, mon);
        ret = -1;
    } else {
        serve_rollback_if_needed(s->conn);
        /* the rows, the table or the reference changed, or the rows are bad input: the unit
         * run ends (bad rows are given up as run_batch gives them up, a window with bad input
         * recorded as run_window records it); anything else holds the unit back */
        bool end = rc == DM_RUN_STALE || rc == DM_RUN_BAD_DATA || rc == DM_RUN_INPUT;
        bool give_up = rc == DM_RUN_BAD_DATA || (window && rc == DM_RUN_INPUT);
        dm_logf(DM_LOG_ERROR,
                end ? "unit run ended: its units cannot complete" : "could not do the work unit",
                "%s=%s run_id=%" PRId64 " unit=%d reason=%s given_up=%s monitor=%s", key, what,
                run_id, unit, err, give_up ? "true" : "false", mon);
        unit_failed(s, run_id, unit, err, end ? (give_up ? 2 : 1) : 0);
        ret = serve_conn_lost(s, "recording a unit's failure") ? -1 : 0;
    }
    unit_load_release(&u);
    return ret;
}

int dm_units_sweep(serve_state *s, dm_renewer *rn, dm_deliverer *dl, const sigset_t *intset)
{
    char lease[40];
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    for (size_t mi = 0; mi < s->n_mon; mi++) {
        for (;;) {
            if (g_stop || g_hup) {
                s->need_sweep = true; /* again once the reload is done */
                return 0;
            }
            if (!serve_turn(s))
                return -1;
            const dm_config *cfg = serve_monitor_cfg(s, mi);
            const char *mon = dm_config_monitor_name(cfg);
            const char *p[4] = {s->o.worker, lease, mon, cfg->sha256[0] ? cfg->sha256 : NULL};
            PGresult *r = PQexecParams(
                s->conn,
                "SELECT run_id, unit, attempts FROM driftmon.claim_unit($1, $2::interval, $3, $4)",
                4, NULL, p, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                char m[600];
                dm_logf(DM_LOG_ERROR, "could not claim a work unit", "monitor=%s reason=%s", mon,
                        serve_pq_reason(s->conn, r, m, sizeof m));
                PQclear(r);
                return serve_conn_lost(s, "a unit claim") ? -1 : 0;
            }
            if (PQntuples(r) == 0) {
                PQclear(r);
                break;
            }
            int64_t run_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            int unit = atoi(PQgetvalue(r, 0, 1));
            int attempts = atoi(PQgetvalue(r, 0, 2));
            PQclear(r);
            if (do_unit(s, mi, rn, dl, intset, run_id, unit, attempts) < 0)
                return -1;
        }
    }
    return 0;
}

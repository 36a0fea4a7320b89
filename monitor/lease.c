/* lease.c - claiming batches, checking each, and renewing the claim's lease (see lease.h). */
#include "monitor/lease.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/log.h"
#include "monitor/units.h"

static void *renewer_main(void *arg);
static int run_batch(serve_state *s, size_t mi, dm_renewer *rn, dm_deliverer *dl,
                     const sigset_t *intset, const char *batch, double queued_s);

int dm_renewer_start(dm_renewer *rn, serve_state *s)
{
    memset(rn, 0, sizeof *rn);
    rn->s = s;
    pthread_mutex_init(&rn->mu, NULL);
    serve_cond_init_mono(&rn->cv);
    return pthread_create(&rn->th, NULL, renewer_main, rn) == 0 ? 0 : -1;
}

void dm_renewer_stop(dm_renewer *rn)
{
    pthread_mutex_lock(&rn->mu);
    rn->quit = true;
    pthread_cond_broadcast(&rn->cv);
    pthread_mutex_unlock(&rn->mu);
}

void dm_renewer_join(dm_renewer *rn)
{
    pthread_join(rn->th, NULL);
}

int dm_lease_sweep(serve_state *s, dm_renewer *rn, dm_deliverer *dl, const sigset_t *intset)
{
    char lease[40];
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    size_t passed = 0; /* monitors in a row that had nothing to claim */
    while (passed < s->n_mon) {
        if (g_stop)
            return 0;
        if (g_hup) {
            serve_reload(s); /* the monitors may change: a new round */
            passed = 0;
            if (!s->conn)
                return -1;
        }
        if (!serve_turn(s))
            return -1;
        size_t mi = s->turn % s->n_mon;
        s->turn = (mi + 1) % s->n_mon;
        const char *mon = dm_config_monitor_name(serve_monitor_cfg(s, mi));
        const char *p[3] = {s->o.worker, lease, mon};
        PGresult *r = PQexecParams(
            s->conn,
            "SELECT c.b, extract(epoch FROM clock_timestamp() - x.submitted_at)::float8 FROM "
            "driftmon.claim_batch($1, $2::interval, $3) AS c(b) JOIN driftmon.batch x ON "
            "x.monitor = $3 AND x.batch = c.b",
            3, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            char m[600];
            dm_logf(DM_LOG_ERROR, "could not claim a batch", "monitor=%s reason=%s", mon,
                    serve_pq_reason(s->conn, r, m, sizeof m));
            PQclear(r);
            return serve_conn_lost(s, "a claim") ? -1 : 0;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            passed++;
            continue;
        }
        passed = 0;
        char batch[BATCH_MAX];
        snprintf(batch, sizeof batch, "%s", PQgetvalue(r, 0, 0));
        double queued = strtod(PQgetvalue(r, 0, 1), NULL);
        PQclear(r);
        if (run_batch(s, mi, rn, dl, intset, batch, queued) < 0)
            return -1;
    }
    return 0;
}

/* driftmon.renew_unit: a lost unit is logged (its result will not be taken). */
static void renew_unit(PGconn *conn, const char *worker, const char *lease, int64_t run_id,
                       int unit)
{
    char id[24], un[16], err[ERRLEN];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    snprintf(un, sizeof un, "%d", unit);
    const char *p[4] = {id, un, worker, lease};
    PGresult *r =
        PQexecParams(conn, "SELECT driftmon.renew_unit($1::bigint, $2::integer, $3, $4::interval)",
                     4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        dm_logf(DM_LOG_WARN, "could not renew the lease", "run_id=%s unit=%s reason=%s", id, un,
                serve_pq_reason(conn, r, err, sizeof err));
    else if (strcmp(PQgetvalue(r, 0, 0), "lost") == 0)
        dm_logf(DM_LOG_WARN, "lost the work unit: its lease expired and another worker has it",
                "run_id=%s unit=%s", id, un);
    else
        dm_logf(DM_LOG_DEBUG, "lease renewal", "run_id=%s unit=%s result=%s", id, un,
                PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void renew_once(dm_renewer *rn, PGconn **conn, int *gen, const char *monitor,
                       const char *batch, int64_t unit_run, int unit)
{
    serve_state *s = rn->s;
    int now_gen;
    char *ci = serve_conninfo_snapshot(s, &now_gen);
    if (*conn && now_gen != *gen) {
        PQfinish(*conn);
        *conn = NULL;
    }
    char err[ERRLEN];
    if (!*conn) {
        *conn = dm_db_connect(ci, err, sizeof err);
        *gen = now_gen;
        if (!*conn) {
            dm_logf(DM_LOG_WARN, "could not renew the lease", "monitor=%s batch=%s reason=%s",
                    monitor, batch, err);
            free(ci);
            return;
        }
    }
    free(ci);
    char lease[40];
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    if (unit_run > 0) {
        renew_unit(*conn, s->o.worker, lease, unit_run, unit);
        return;
    }
    const char *p[4] = {monitor, batch, s->o.worker, lease};
    PGresult *r = PQexecParams(*conn, "SELECT driftmon.renew_lease($1, $2, $3, $4::interval)", 4,
                               NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_WARN, "could not renew the lease", "monitor=%s batch=%s reason=%s", monitor,
                batch, serve_pq_reason(*conn, r, err, sizeof err));
        PQclear(r);
        if (PQstatus(*conn) == CONNECTION_BAD) {
            PQfinish(*conn);
            *conn = NULL;
        }
        return;
    }
    const char *st = PQgetvalue(r, 0, 0);
    if (strcmp(st, "lost") == 0)
        dm_logf(DM_LOG_WARN, "lost the claim: the lease expired and another worker has the batch",
                "monitor=%s batch=%s", monitor, batch);
    else
        dm_logf(DM_LOG_DEBUG, "lease renewal", "monitor=%s batch=%s result=%s", monitor, batch, st);
    PQclear(r);
}

static void *renewer_main(void *arg)
{
    dm_renewer *rn = arg;
    PGconn *conn = NULL;
    int gen = -1;
    struct timespec due;
    serve_deadline_in(&due, rn->s->o.lease_s / 3);
    pthread_mutex_lock(&rn->mu);
    while (!rn->quit) {
        if (!rn->active) {
            pthread_cond_wait(&rn->cv, &rn->mu);
            if (rn->active)
                serve_deadline_in(&due, rn->s->o.lease_s / 3);
            continue;
        }
        if (pthread_cond_timedwait(&rn->cv, &rn->mu, &due) != ETIMEDOUT)
            continue;
        if (rn->quit || !rn->active)
            continue;
        char batch[BATCH_MAX], monitor[DM_MONITOR_NAME_MAX + 1];
        memcpy(batch, rn->batch, sizeof batch);
        memcpy(monitor, rn->monitor, sizeof monitor);
        int64_t unit_run = rn->unit_run;
        int unit = rn->unit;
        serve_deadline_in(&due, rn->s->o.lease_s / 3);
        pthread_mutex_unlock(&rn->mu);
        renew_once(rn, &conn, &gen, monitor, batch, unit_run, unit);
        pthread_mutex_lock(&rn->mu);
    }
    pthread_mutex_unlock(&rn->mu);
    if (conn)
        PQfinish(conn);
    return NULL;
}

void dm_renewer_unit(dm_renewer *rn, int64_t run_id, int unit)
{
    pthread_mutex_lock(&rn->mu);
    rn->unit_run = run_id;
    rn->unit = unit;
    rn->active = run_id > 0;
    pthread_cond_broadcast(&rn->cv);
    pthread_mutex_unlock(&rn->mu);
}

static void renewer_set(dm_renewer *rn, const char *monitor, const char *batch)
{
    pthread_mutex_lock(&rn->mu);
    rn->unit_run = 0;
    if (batch) {
        snprintf(rn->monitor, sizeof rn->monitor, "%s", monitor);
        snprintf(rn->batch, sizeof rn->batch, "%s", batch);
        rn->active = true;
    } else {
        rn->active = false;
    }
    pthread_cond_broadcast(&rn->cv);
    pthread_mutex_unlock(&rn->mu);
}

/* -1 when the connection was lost. */
static int run_batch(serve_state *s, size_t mi, dm_renewer *rn, dm_deliverer *dl,
                     const sigset_t *intset, const char *batch, double queued_s)
{
    const dm_config *cfg = serve_monitor_cfg(s, mi);
    const char *mon = dm_config_monitor_name(cfg);
    char err[ERRLEN];
    dm_run_result res;
    dm_run_target t;
    memset(&t, 0, sizeof t);
    t.batch = batch;
    t.replica = &s->replica;
    t.split_by = s->o.worker;
    dm_logf(DM_LOG_INFO, "claimed batch", "batch=%s queued_s=%.3f monitor=%s", batch, queued_s,
            mon);
    renewer_set(rn, mon, batch);
    serve_check_begin(s);
    double t0 = serve_mono_s();
    pthread_sigmask(SIG_UNBLOCK, intset, NULL); /* a second SIGINT ends the run at once */
    int rc = dm_run_check_claimed(s->conn, cfg, &t, s->o.worker, &s->mon[mi].cache, &res, err,
                                  sizeof err);
    pthread_sigmask(SIG_BLOCK, intset, NULL);
    renewer_set(rn, NULL, NULL);
    serve_check_end(s, mi,
                    rc == DM_RUN_OK
                        ? (res.verdict.dataset_drift ? DM_METRIC_DRIFT : DM_METRIC_NO_DRIFT)
                    : rc == DM_RUN_LOST || rc == DM_RUN_UNITS ? -1
                                                              : DM_METRIC_FAILED,
                    serve_mono_s() - t0);
    if (rc == DM_RUN_UNITS) /* the units are everyone's now, this daemon's first */
        return dm_units_sweep(s, rn, dl, intset);
    if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, "checked batch",
                "batch=%s run_id=%" PRId64 " rows=%" PRIu64 " monitor=%s columns=%zu drifted=%zu "
                "dataset_drift=%s retrain=%s queued_s=%.3f read_s=%.3f compare_s=%.3f "
                "read_on=%s total_s=%.3f",
                batch, res.run_id, res.rows, mon, res.verdict.number_of_columns,
                res.verdict.number_of_drifted_columns, res.verdict.dataset_drift ? "true" : "false",
                res.verdict.retrain ? "flagged" : "no", queued_s, res.read_s, res.compare_s,
                res.read_on_standby ? "standby" : "primary", res.total_s);
        if (res.verdict.retrain)
            dm_deliverer_wake(dl);
        return 0;
    }
    if (rc == DM_RUN_LOST) {
        dm_logf(DM_LOG_WARN, "run discarded: lost the claim on the batch",
                "batch=%s reason=%s monitor=%s", batch, err, mon);
        return 0;
    }
    if (serve_conn_lost(s, "a check")) {
        dm_logf(DM_LOG_ERROR, "could not check batch", "batch=%s reason=%s monitor=%s", batch, err,
                mon);
        return -1;
    }
    serve_rollback_if_needed(s->conn);
    /* rows that cannot be checked fail the same way every time: the batch is given up
     * (driftmon.failed_checks); anything else, a configuration an operator may fix included,
     * is tried again after a back-off */
    bool give_up = rc == DM_RUN_BAD_DATA;
    dm_logf(DM_LOG_ERROR, give_up ? "batch not checkable: given up" : "could not check batch",
            "batch=%s reason=%s monitor=%s", batch, err, mon);
    const char *p[4] = {mon, batch, s->o.worker, err};
    PGresult *r = PQexecParams(s->conn,
                               give_up ? "SELECT driftmon.give_up_batch($1, $2, $3, $4)"
                                       : "SELECT driftmon.fail_batch($1, $2, $3, $4)",
                               4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char m[600];
        dm_logf(DM_LOG_ERROR, "could not record the batch's failure",
                "batch=%s reason=%s monitor=%s", batch, serve_pq_reason(s->conn, r, m, sizeof m),
                mon);
    }
    PQclear(r);
    return serve_conn_lost(s, "recording a failure") ? -1 : 0;
}

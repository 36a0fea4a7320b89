/* windows.c - periodic windows: finding the next closed window, checking it, recording it
 * (see windows.h). */
#include "monitor/windows.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/log.h"

/* One monitor's windows: the daemon's state and the monitor's configuration. */
typedef struct {
    serve_state *s;
    serve_monitor *m;
    const dm_config *cfg;
    const char *name; /* the monitor's */
    char lock_key[DM_MONITOR_NAME_MAX + 40];
} win_ctx;

static int next_data_window(win_ctx *w, int64_t from, int64_t *start, bool *found);
/* window_state's answers */
enum { WINDOW_NONE, WINDOW_UNITS, WINDOW_RUN };
static int window_state(win_ctx *w, int64_t start, int64_t end, char id[24]);
static int run_window(win_ctx *w, dm_deliverer *dl, const sigset_t *intset, int64_t start,
                      int64_t end);
static int monitor_sweep(win_ctx *w, dm_deliverer *dl, const sigset_t *intset);

int dm_windows_sweep(serve_state *s, dm_deliverer *dl, const sigset_t *intset)
{
    for (size_t i = 0; i < s->n_mon && !g_stop && !g_hup; i++) {
        if (serve_wall_s() < s->mon[i].next_window_at)
            continue;
        win_ctx w = {s, &s->mon[i], serve_monitor_cfg(s, i), NULL, ""};
        w.name = dm_config_monitor_name(w.cfg);
        /* the lock of the single-monitor form keeps its key: daemons of the version before
         * monitors, running beside this one, take the same */
        if (strcmp(w.name, DM_MONITOR_DEFAULT) == 0)
            snprintf(w.lock_key, sizeof w.lock_key, "driftmon.windows");
        else
            snprintf(w.lock_key, sizeof w.lock_key, "driftmon.windows:%s", w.name);
        if (monitor_sweep(&w, dl, intset) < 0)
            return -1; /* the connection is gone */
    }
    return 0;
}

static int monitor_sweep(win_ctx *w, dm_deliverer *dl, const sigset_t *intset)
{
    serve_state *s = w->s;
    serve_monitor *m = w->m;
    double now = serve_wall_s();
    m->next_window_at = now + s->o.poll_s; /* unless all goes well, below */
    if (m->every_s <= 0) {
        m->next_window_at = INFINITY;
        return 0;
    }
    if (m->units_pending) {
        /* the windows are done in order: while the unit run of the window the last sweep
         * left in units lives, nothing else here can move, and the units sweep claims its
         * units (a unit run ends by its assembly's commit or by fail_units).  One look a
         * poll, not the lock and the search of the table for the next window */
        char id[24];
        int st = window_state(w, m->units_window, m->units_window + m->every_s, id);
        if (st < 0)
            return serve_conn_lost(s, "the window's work units") ? -1 : 0;
        if (st == WINDOW_UNITS)
            return 0;
        m->units_pending = false;
    }
    const char *pk[1] = {w->lock_key};
    PGresult *r = PQexecParams(s->conn,
                               "SELECT pg_try_advisory_lock(hashtextextended($1, 0)), "
                               "extract(epoch FROM clock_timestamp())::float8",
                               1, NULL, pk, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return serve_conn_lost(s, "the window lock") ? -1 : 0;
    }
    bool locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    double db_now = strtod(PQgetvalue(r, 0, 1), NULL);
    PQclear(r);
    if (!locked)
        return 0; /* another daemon is on the windows */
    int rc = 0;
    char e[32];
    snprintf(e, sizeof e, "%" PRId64, m->every_s);
    const char *pe[2] = {e, w->name};
    r = PQexecParams(s->conn,
                     "SELECT extract(epoch FROM max(window_end))::bigint FROM "
                     "driftmon.window_done WHERE every_s = $1::bigint AND monitor = $2",
                     2, NULL, pe, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        rc = -1;
        goto unlock;
    }
    int64_t from = PQgetisnull(r, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (from == INT64_MIN)
        from = -30000000000LL; /* 1019 AD: before any data; to_timestamp takes it */
    bool more = false, pending = false;
    for (int n = 0; !g_stop; n++) {
        if (g_hup)
            break;
        if (n >= 200) {
            more = true; /* let batches in between */
            break;
        }
        if (n > 0 && !serve_turn(s)) {
            rc = -1;
            break;
        }
        int64_t start = 0;
        bool found = false;
        if (next_data_window(w, from, &start, &found) != 0) {
            rc = -1;
            break;
        }
        if (!found || (double)(start + m->every_s) > db_now)
            break;
        int wr = run_window(w, dl, intset, start, start + m->every_s);
        if (wr < 0) {
            rc = -1;
            break;
        }
        if (wr > 0) { /* in work units: the units sweep does it, this sweep goes on after */
            s->need_sweep = pending = true;
            m->units_pending = true;
            m->units_window = start;
            break;
        }
        from = start + m->every_s;
        if (!s->conn)
            break;
    }
    if (rc == 0 && !g_stop && !g_hup && !pending) {
        int64_t next = ((int64_t)floor(now / (double)m->every_s) + 1) * m->every_s;
        m->next_window_at = more ? 0 : (double)next + 0.2;
    }
unlock:
    if (s->conn) {
        r = PQexecParams(s->conn, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, NULL, pk,
                         NULL, NULL, 0);
        PQclear(r);
        if (serve_conn_lost(s, "the window unlock"))
            return -1;
    }
    return s->conn ? 0 : -1;
}

static void iso_utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Start (epoch s, a multiple of every) of the window holding the table's first timestamp
 * >= from; 0 in *found when there is none.  -1 on error. */
static int next_data_window(win_ctx *w, int64_t from, int64_t *start, bool *found)
{
    serve_state *s = w->s;
    const dm_config *cfg = w->cfg;
    *found = false;
    char err[600];
    dm_db_table tbl; /* the name as every check parses and checks it (catalog.c) */
    if (dm_db_table_lookup(s->conn, cfg->source_table, &tbl, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not find the monitored table", "monitor=%s table=%s reason=%s",
                w->name, cfg->source_table, err);
        return -1;
    }
    char *qtable = strdup(tbl.qualified);
    dm_db_table_release(&tbl);
    char *qcol = PQescapeIdentifier(s->conn, cfg->timestamp_column, strlen(cfg->timestamp_column));
    if (!qtable || !qcol) {
        free(qtable);
        if (qcol)
            PQfreemem(qcol);
        return -1;
    }
    size_t len = strlen(qtable) + 2 * strlen(qcol) + 200;
    char *sql = malloc(len);
    int rc = -1;
    if (sql) {
        snprintf(sql, len,
                 "SELECT (floor(extract(epoch FROM min(%s)) / $2::float8) * $2::float8)::bigint "
                 "FROM %s WHERE %s >= to_timestamp($1::float8)",
                 qcol, qtable, qcol);
        char f[32], e[32];
        snprintf(f, sizeof f, "%" PRId64, from);
        snprintf(e, sizeof e, "%" PRId64, w->m->every_s);
        const char *p[2] = {f, e};
        PGresult *r = PQexecParams(s->conn, sql, 2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = 0;
            if (!PQgetisnull(r, 0, 0)) {
                *found = true;
                *start = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            }
        } else {
            dm_logf(DM_LOG_ERROR, "could not look for the next window",
                    "monitor=%s table=%s reason=%s", w->name, qtable,
                    serve_pq_reason(s->conn, r, err, sizeof err));
        }
        PQclear(r);
        free(sql);
    }
    free(qtable);
    PQfreemem(qcol);
    return rc;
}

static int record_window(win_ctx *w, int64_t start, int64_t end, const char *run_id,
                         const char *note)
{
    char e[32], a[40], b[40];
    snprintf(e, sizeof e, "%" PRId64, w->m->every_s);
    iso_utc(start, a, sizeof a);
    iso_utc(end, b, sizeof b);
    const char *p[6] = {e, a, b, run_id, note, w->name};
    return serve_exec_ok(
               w->s->conn,
               "SELECT driftmon.record_window($1::bigint, $2::timestamptz, $3::timestamptz, "
               "$4::bigint, $5, $6)",
               6, p, "could not record the window")
               ? 0
               : -1;
}

/* What is known of window [start, end) of w's monitor: WINDOW_RUN (its run id in id),
 * WINDOW_UNITS (a unit run), WINDOW_NONE; -1 on error (logged). */
static int window_state(win_ctx *w, int64_t start, int64_t end, char id[24])
{
    char a[40], b[40], err[600];
    iso_utc(start, a, sizeof a);
    iso_utc(end, b, sizeof b);
    const char *p[3] = {a, b, w->name};
    PGresult *r = PQexecParams(
        w->s->conn,
        "SELECT (SELECT id FROM driftmon.run WHERE batch IS NULL AND window_start = "
        "$1::timestamptz AND window_end = $2::timestamptz AND monitor = $3 ORDER BY id LIMIT 1), "
        "EXISTS (SELECT 1 FROM driftmon.unit_run WHERE batch IS NULL AND window_start = "
        "$1::timestamptz AND window_end = $2::timestamptz AND monitor = $3)",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not look up the window's run", "monitor=%s reason=%s", w->name,
                serve_pq_reason(w->s->conn, r, err, sizeof err));
        PQclear(r);
        return -1;
    }
    int st = !PQgetisnull(r, 0, 0)                   ? WINDOW_RUN
             : strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? WINDOW_UNITS
                                                     : WINDOW_NONE;
    if (st == WINDOW_RUN)
        snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

/* One window: 0 done (or recorded as not checkable), 1 in work units (sql/018_units.sql: done
 * by whichever daemons claim them, recorded when the run commits), -1 error (retry later). */
static int run_window(win_ctx *w, dm_deliverer *dl, const sigset_t *intset, int64_t start,
                      int64_t end)
{
    serve_state *s = w->s;
    char a[40], b[40], err[ERRLEN], id[24];
    iso_utc(start, a, sizeof a);
    iso_utc(end, b, sizeof b);
    int st = window_state(w, start, end, id);
    if (st < 0)
        return -1;
    if (st == WINDOW_RUN)
        return record_window(w, start, end, id, "run found");
    if (st == WINDOW_UNITS)
        return 1;
    dm_run_target t;
    memset(&t, 0, sizeof t);
    t.since = a;
    t.until = b;
    t.replica = &s->replica;
    t.split_by = s->o.worker;
    t.every_s = w->m->every_s;
    dm_run_result res;
    serve_check_begin(s);
    double t0 = serve_mono_s();
    pthread_sigmask(SIG_UNBLOCK, intset, NULL);
    int rc = dm_run_check_claimed(s->conn, w->cfg, &t, NULL, &w->m->cache, &res, err, sizeof err);
    pthread_sigmask(SIG_BLOCK, intset, NULL);
    serve_check_end(s, (size_t)(w->m - s->mon),
                    rc == DM_RUN_OK
                        ? (res.verdict.dataset_drift ? DM_METRIC_DRIFT : DM_METRIC_NO_DRIFT)
                    : rc == DM_RUN_UNITS ? -1
                                         : DM_METRIC_FAILED,
                    serve_mono_s() - t0);
    if (rc == DM_RUN_UNITS)
        return 1;
    if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, "checked window",
                "window_start=%s window_end=%s run_id=%" PRId64 " rows=%" PRIu64
                " columns=%zu drifted=%zu retrain=%s read_s=%.3f read_on=%s total_s=%.3f"
                " monitor=%s",
                a, b, res.run_id, res.rows, res.verdict.number_of_columns,
                res.verdict.number_of_drifted_columns, res.verdict.retrain ? "flagged" : "no",
                res.read_s, res.read_on_standby ? "standby" : "primary", res.total_s, w->name);
        snprintf(id, sizeof id, "%" PRId64, res.run_id); /* record_window's parameter */
        if (res.verdict.retrain)
            dm_deliverer_wake(dl);
        return record_window(w, start, end, id, NULL);
    }
    if (rc == DM_RUN_INPUT || rc == DM_RUN_BAD_DATA) {
        dm_logf(DM_LOG_WARN, "window not checked",
                "window_start=%s window_end=%s reason=%s monitor=%s", a, b, err, w->name);
        return record_window(w, start, end, NULL, err);
    }
    dm_logf(DM_LOG_ERROR, "could not check window",
            "window_start=%s window_end=%s reason=%s monitor=%s", a, b, err, w->name);
    if (!serve_conn_lost(s, "a window check"))
        serve_rollback_if_needed(s->conn);
    return -1;
}

/* serve.c - `driftmon serve`: the daemon loop, claims, lease renewal, windows, retrain
 * delivery (see serve.h). */
#include "monitor/serve.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/conninfo.h"
#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/hook.h"
#include "monitor/log.h"

#define ERRLEN 1024
#define BATCH_MAX 1001

/* ---- signals: the handlers only set flags ------------------------------------------- */

static volatile sig_atomic_t g_stop = 0, g_hup = 0;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        g_hup = 1;
        return;
    }
    if (sig == SIGINT && g_stop)
        _exit(130); /* a second SIGINT: at once */
    g_stop = 1;
}

/* ---- shared state ----------------------------------------------------------------------- */

typedef struct {
    const char *config_path;
    char worker[256];
    double lease_s, poll_s, retry_base_s, retry_cap_s, reconnect_cap_s;
} serve_opts;

typedef struct {
    serve_opts o;
    dm_config cfg; /* written by the main thread only, under g_cfg_mu */
    int64_t every_s;
    PGconn *conn;
    dm_refcache cache;
    bool need_sweep;
    double next_window_at; /* wall clock, seconds since the epoch */
    uint64_t rng;
    double reconnect_prev;
} serve_state;

static pthread_mutex_t g_cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_cfg_gen = 0;   /* bumped when the conninfo changes */
static atomic_int g_hook_stop = 0; /* set at shutdown: a running hook is killed */

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *pq_reason(PGconn *conn, PGresult *r, char *buf, size_t len)
{
    dm_db_trim(r ? PQresultErrorMessage(r) : PQerrorMessage(conn), buf, len);
    if (!buf[0])
        dm_db_trim(PQerrorMessage(conn), buf, len);
    return buf;
}

/* Condition variables on the monotonic clock. */
static void cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

static void deadline_in(struct timespec *ts, double s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (s < 0)
        s = 0;
    double whole = floor(s);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static char *conninfo_snapshot(serve_state *s, int *gen)
{
    pthread_mutex_lock(&g_cfg_mu);
    char *c = strdup(s->cfg.conninfo ? s->cfg.conninfo : "");
    *gen = atomic_load(&g_cfg_gen);
    pthread_mutex_unlock(&g_cfg_mu);
    return c;
}

/* ---- configuration ---------------------------------------------------------------------- */

int64_t dm_serve_parse_every(const char *s)
{
    if (!s)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || errno || n <= 0)
        return -1;
    while (*end == ' ')
        end++;
    static const struct {
        const char *name;
        int64_t secs;
    } units[] = {{"second", 1},    {"seconds", 1},   {"minute", 60}, {"minutes", 60},
                 {"hour", 3600},   {"hours", 3600},  {"day", 86400}, {"days", 86400},
                 {"week", 604800}, {"weeks", 604800}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].name) == 0) {
            if (n > INT64_MAX / units[i].secs / 1000)
                return -1;
            return (int64_t)n * units[i].secs;
        }
    return -1;
}

static int validate_config(const dm_config *c, int64_t *every, char *err, size_t errlen)
{
    const char *name = c->path ? c->path : "config";
    if (!c->source_table || !c->batch_column || !c->reference_name) {
        snprintf(err, errlen,
                 "%s: the daemon needs \"source.table\", \"source.batch_column\" and "
                 "\"reference.name\"",
                 name);
        return -1;
    }
    *every = 0;
    if (c->schedule_every) {
        if (!c->timestamp_column) {
            snprintf(err, errlen, "%s: \"schedule.every\" needs \"source.timestamp_column\"", name);
            return -1;
        }
        *every = dm_serve_parse_every(c->schedule_every);
        if (*every <= 0) {
            snprintf(err, errlen,
                     "%s: key \"schedule.every\": \"%s\" is not \"N seconds|minutes|hours|days|"
                     "weeks\"",
                     name, c->schedule_every);
            return -1;
        }
    }
    return 0;
}

static void drop_conn(serve_state *s, const char *why)
{
    if (!s->conn)
        return;
    char m[600];
    dm_db_trim(PQerrorMessage(s->conn), m, sizeof m);
    dm_logf(DM_LOG_WARN, "lost the database connection; reconnecting", "during=%s reason=%s", why,
            m[0] ? m : "-");
    PQfinish(s->conn);
    s->conn = NULL;
}

/* True (and the connection dropped) when the connection is gone. */
static bool conn_lost(serve_state *s, const char *why)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_BAD) {
        drop_conn(s, why);
        return true;
    }
    return false;
}

static void reload(serve_state *s)
{
    g_hup = 0;
    char err[ERRLEN];
    dm_config nc;
    int64_t every = 0;
    if (dm_config_load(s->o.config_path, &nc, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not reload the configuration; keeping the old one",
                "path=%s reason=%s", s->o.config_path, err);
        return;
    }
    if (validate_config(&nc, &every, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not reload the configuration; keeping the old one",
                "path=%s reason=%s", s->o.config_path, err);
        dm_config_release(&nc);
        return;
    }
    bool moved = strcmp(s->cfg.conninfo ? s->cfg.conninfo : "", nc.conninfo ? nc.conninfo : "");
    pthread_mutex_lock(&g_cfg_mu);
    dm_config old = s->cfg;
    s->cfg = nc;
    s->every_s = every;
    if (moved)
        atomic_fetch_add(&g_cfg_gen, 1);
    pthread_mutex_unlock(&g_cfg_mu);
    dm_config_release(&old);
    dm_refcache_release(&s->cache);
    s->need_sweep = true;
    s->next_window_at = 0;
    dm_logf(DM_LOG_INFO, "configuration reloaded", "path=%s sha256=%s", s->o.config_path,
            s->cfg.sha256);
    if (!s->cfg.hook)
        dm_log(DM_LOG_WARN, "retrain.hook is not set: retrain alerts stay pending");
    if (moved && s->conn) {
        dm_log(DM_LOG_INFO, "the conninfo changed: reconnecting");
        PQfinish(s->conn);
        s->conn = NULL;
    }
}

/* ---- the lease renewer -------------------------------------------------------------------- */

typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char batch[BATCH_MAX];
    bool active, quit;
    serve_state *s;
} renewer;

static void renew_once(renewer *rn, PGconn **conn, int *gen, const char *batch)
{
    serve_state *s = rn->s;
    int now_gen;
    char *ci = conninfo_snapshot(s, &now_gen);
    if (*conn && now_gen != *gen) {
        PQfinish(*conn);
        *conn = NULL;
    }
    char err[ERRLEN];
    if (!*conn) {
        *conn = dm_db_connect(ci, err, sizeof err);
        *gen = now_gen;
        if (!*conn) {
            dm_logf(DM_LOG_WARN, "could not renew the lease", "batch=%s reason=%s", batch, err);
            free(ci);
            return;
        }
    }
    free(ci);
    char lease[40];
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    const char *p[3] = {batch, s->o.worker, lease};
    PGresult *r = PQexecParams(*conn, "SELECT driftmon.renew_lease($1, $2, $3::interval)", 3, NULL,
                               p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_WARN, "could not renew the lease", "batch=%s reason=%s", batch,
                pq_reason(*conn, r, err, sizeof err));
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
                "batch=%s", batch);
    else
        dm_logf(DM_LOG_DEBUG, "lease renewal", "batch=%s result=%s", batch, st);
    PQclear(r);
}

static void *renewer_main(void *arg)
{
    renewer *rn = arg;
    PGconn *conn = NULL;
    int gen = -1;
    struct timespec due;
    deadline_in(&due, rn->s->o.lease_s / 3);
    pthread_mutex_lock(&rn->mu);
    while (!rn->quit) {
        if (!rn->active) {
            pthread_cond_wait(&rn->cv, &rn->mu);
            if (rn->active)
                deadline_in(&due, rn->s->o.lease_s / 3);
            continue;
        }
        if (pthread_cond_timedwait(&rn->cv, &rn->mu, &due) != ETIMEDOUT)
            continue;
        if (rn->quit || !rn->active)
            continue;
        char batch[BATCH_MAX];
        memcpy(batch, rn->batch, sizeof batch);
        deadline_in(&due, rn->s->o.lease_s / 3);
        pthread_mutex_unlock(&rn->mu);
        renew_once(rn, &conn, &gen, batch);
        pthread_mutex_lock(&rn->mu);
    }
    pthread_mutex_unlock(&rn->mu);
    if (conn)
        PQfinish(conn);
    return NULL;
}

static void renewer_set(renewer *rn, const char *batch)
{
    pthread_mutex_lock(&rn->mu);
    if (batch) {
        snprintf(rn->batch, sizeof rn->batch, "%s", batch);
        rn->active = true;
    } else {
        rn->active = false;
    }
    pthread_cond_broadcast(&rn->cv);
    pthread_mutex_unlock(&rn->mu);
}

/* ---- the retrain deliverer ---------------------------------------------------------------- */

typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit, wake;
    serve_state *s;
} deliverer;

typedef struct {
    char **argv; /* NULL when no hook */
    double timeout_s;
    int max_attempts;
} hook_snap;

static void hook_snap_take(serve_state *s, hook_snap *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_lock(&g_cfg_mu);
    h->timeout_s = s->cfg.hook_timeout_s;
    h->max_attempts = s->cfg.hook_max_attempts;
    if (s->cfg.hook && s->cfg.n_hook > 0) {
        h->argv = calloc(s->cfg.n_hook + 1, sizeof *h->argv);
        for (size_t i = 0; h->argv && i < s->cfg.n_hook; i++)
            h->argv[i] = strdup(s->cfg.hook[i]);
    }
    pthread_mutex_unlock(&g_cfg_mu);
}

static void hook_snap_release(hook_snap *h)
{
    for (size_t i = 0; h->argv && h->argv[i]; i++)
        free(h->argv[i]);
    free(h->argv);
    h->argv = NULL;
}

/* dm_db_exec, its failure logged here (msg=what reason=...) */
static bool exec_ok(PGconn *conn, const char *sql, int n, const char *const *p, const char *what)
{
    char m[600];
    if (dm_db_exec(conn, sql, n, p, NULL, m, sizeof m) == 0)
        return true;
    dm_logf(DM_LOG_ERROR, what, "reason=%s", m);
    return false;
}

/* 1 delivered or attempted, 0 nothing due, -1 database error. */
static int deliver_one(serve_state *s, PGconn *conn, const hook_snap *h, uint64_t *rng)
{
    char hold[40], err[ERRLEN];
    snprintf(hold, sizeof hold, "%.3f seconds", h->timeout_s + 5);
    const char *ph[1] = {hold};
    PGresult *r = PQexecParams(conn,
                               "SELECT run_id, attempts, backoff_s, batch, window_start, "
                               "window_end, report FROM driftmon.claim_alert($1::interval)",
                               1, NULL, ph, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not take a retrain alert", "reason=%s",
                pq_reason(conn, r, err, sizeof err));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    char run_id[24], batch[BATCH_MAX + 20], wstart[64], wend[64];
    snprintf(run_id, sizeof run_id, "%s", PQgetvalue(r, 0, 0));
    int attempts = atoi(PQgetvalue(r, 0, 1));
    double prev = PQgetisnull(r, 0, 2) ? 0 : strtod(PQgetvalue(r, 0, 2), NULL);
    snprintf(batch, sizeof batch, "%s", PQgetisnull(r, 0, 3) ? "" : PQgetvalue(r, 0, 3));
    snprintf(wstart, sizeof wstart, "%s", PQgetvalue(r, 0, 4));
    snprintf(wend, sizeof wend, "%s", PQgetvalue(r, 0, 5));
    char *report = strdup(PQgetisnull(r, 0, 6) ? "" : PQgetvalue(r, 0, 6));
    PQclear(r);
    if (!report)
        return -1;

    char e_run[64], e_batch[BATCH_MAX + 40], e_ws[100], e_we[100];
    snprintf(e_run, sizeof e_run, "DRIFTMON_RUN_ID=%s", run_id);
    snprintf(e_batch, sizeof e_batch, "DRIFTMON_BATCH=%s", batch);
    snprintf(e_ws, sizeof e_ws, "DRIFTMON_WINDOW_START=%s", wstart);
    snprintf(e_we, sizeof e_we, "DRIFTMON_WINDOW_END=%s", wend);
    const char *env[5] = {e_run, e_batch, e_ws, e_we, NULL};
    dm_hook_call call = {
        (const char *const *)h->argv, report, strlen(report), env, h->timeout_s, &g_hook_stop};
    double elapsed = 0;
    dm_hook_outcome oc = dm_hook_run(&call, &elapsed, err, sizeof err);
    free(report);
    const char *label = batch[0] ? batch : "-";
    if (oc == DM_HOOK_OK) {
        const char *p[1] = {run_id};
        if (!exec_ok(conn,
                     "UPDATE driftmon.retrain_outbox SET delivered_at = clock_timestamp(), "
                     "last_error = NULL WHERE run_id = $1::bigint",
                     1, p, "could not mark the retrain alert delivered"))
            return -1;
        dm_logf(DM_LOG_INFO, "delivered retrain alert", "run_id=%s batch=%s attempt=%d hook_s=%.3f",
                run_id, label, attempts, elapsed);
        return 1;
    }
    if (oc == DM_HOOK_STOPPED) {
        const char *p[1] = {run_id};
        exec_ok(conn,
                "UPDATE driftmon.retrain_outbox SET attempts = greatest(attempts - 1, 0), "
                "next_attempt_at = clock_timestamp() WHERE run_id = $1::bigint",
                1, p, "could not give the retrain alert back");
        dm_logf(DM_LOG_INFO, "retrain hook stopped by shutdown; the alert stays pending",
                "run_id=%s batch=%s", run_id, label);
        return 1;
    }
    if (attempts >= h->max_attempts) {
        const char *p[2] = {run_id, err};
        if (!exec_ok(conn,
                     "UPDATE driftmon.retrain_outbox SET dead_at = clock_timestamp(), "
                     "last_error = $2 WHERE run_id = $1::bigint",
                     2, p, "could not mark the retrain alert dead"))
            return -1;
        dm_logf(DM_LOG_ERROR, "retrain alert is dead: the hook failed on every attempt",
                "run_id=%s batch=%s attempts=%d reason=%s", run_id, label, attempts, err);
        return 1;
    }
    double d = dm_backoff_next(s->o.retry_base_s, s->o.retry_cap_s, prev, rng);
    char ds[40];
    snprintf(ds, sizeof ds, "%.3f", d);
    const char *p[3] = {run_id, ds, err};
    if (!exec_ok(conn,
                 "UPDATE driftmon.retrain_outbox SET next_attempt_at = clock_timestamp() + "
                 "make_interval(secs => $2::float8), backoff_s = $2::float8, last_error = $3 "
                 "WHERE run_id = $1::bigint",
                 3, p, "could not schedule the retrain alert's retry"))
        return -1;
    dm_logf(DM_LOG_WARN, "retrain hook failed; will retry",
            "run_id=%s batch=%s attempt=%d reason=%s hook_s=%.3f retry_in_s=%.3f", run_id, label,
            attempts, err, elapsed, d);
    return 1;
}

static void *deliverer_main(void *arg)
{
    deliverer *d = arg;
    serve_state *s = d->s;
    PGconn *conn = NULL;
    int gen = -1;
    uint64_t rng = dm_backoff_seed() ^ 0x5DEECE66DULL;
    double reprev = 0;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool quit = d->quit;
        pthread_mutex_unlock(&d->mu);
        if (quit)
            break;
        double wait = s->o.poll_s;
        hook_snap h;
        hook_snap_take(s, &h);
        int now_gen;
        char *ci = conninfo_snapshot(s, &now_gen);
        if (conn && now_gen != gen) {
            PQfinish(conn);
            conn = NULL;
        }
        if (!conn && h.argv) {
            char err[ERRLEN];
            conn = dm_db_connect(ci, err, sizeof err);
            gen = now_gen;
            if (!conn) {
                reprev = dm_backoff_next(0.1, s->o.reconnect_cap_s, reprev, &rng);
                wait = reprev;
                dm_logf(DM_LOG_DEBUG, "deliverer could not connect", "reason=%s", err);
            } else {
                reprev = 0;
            }
        }
        free(ci);
        if (conn && h.argv) {
            for (;;) {
                pthread_mutex_lock(&d->mu);
                quit = d->quit;
                pthread_mutex_unlock(&d->mu);
                if (quit)
                    break;
                int rc = deliver_one(s, conn, &h, &rng);
                if (rc == 0)
                    break;
                if (rc < 0) {
                    if (PQstatus(conn) == CONNECTION_BAD) {
                        PQfinish(conn);
                        conn = NULL;
                    }
                    wait = 1;
                    break;
                }
            }
            if (conn) {
                PGresult *r = PQexec(conn, "SELECT driftmon.next_alert_in()");
                if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0)) {
                    double n = strtod(PQgetvalue(r, 0, 0), NULL);
                    if (n < wait)
                        wait = n + 0.005;
                }
                PQclear(r);
                if (PQstatus(conn) == CONNECTION_BAD) {
                    PQfinish(conn);
                    conn = NULL;
                }
            }
        }
        hook_snap_release(&h);
        struct timespec due;
        deadline_in(&due, wait);
        pthread_mutex_lock(&d->mu);
        while (!d->quit && !d->wake)
            if (pthread_cond_timedwait(&d->cv, &d->mu, &due) == ETIMEDOUT)
                break;
        d->wake = false;
        pthread_mutex_unlock(&d->mu);
    }
    if (conn)
        PQfinish(conn);
    return NULL;
}

static void deliverer_wake(deliverer *d)
{
    pthread_mutex_lock(&d->mu);
    d->wake = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* ---- connection ---------------------------------------------------------------------------- */

/* Sleep up to s seconds, woken early by a signal (the only place besides the main wait where
 * the signals are unblocked). */
static void nap(double s, const sigset_t *waitmask)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    ppoll(NULL, 0, &ts, waitmask);
}

/* LISTEN, give back this worker's leases (nothing is in hand at connect time). */
static int setup_conn(serve_state *s, PGconn *c, char *err, size_t errlen)
{
    if (dm_db_exec(c, "LISTEN driftmon_batch", 0, NULL, "could not LISTEN", err, errlen) != 0)
        return -1;
    const char *p[1] = {s->o.worker};
    if (dm_db_exec(c,
                   "UPDATE driftmon.batch SET lease_until = NULL WHERE claimed_by = $1 AND "
                   "done_at IS NULL",
                   1, p,
                   "could not release old leases (is the schema initialised? run `driftmon init`)",
                   err, errlen) != 0)
        return -1;
    PGresult *r =
        PQexec(c, "SELECT 1 FROM pg_proc WHERE proname = 'claim_alert' AND pronamespace = "
                  "'driftmon'::regnamespace");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    if (!have) {
        snprintf(err, errlen, "the driftmon schema predates the daemon: run `driftmon init`");
        return -1;
    }
    return 0;
}

/* false when asked to stop before a connection was made. */
static bool ensure_conn(serve_state *s, const sigset_t *waitmask)
{
    while (!s->conn) {
        if (g_stop)
            return false;
        if (g_hup)
            reload(s);
        char err[ERRLEN];
        PGconn *c = dm_db_connect(s->cfg.conninfo, err, sizeof err);
        if (c && setup_conn(s, c, err, sizeof err) == 0) {
            s->conn = c;
            s->reconnect_prev = 0;
            s->need_sweep = true;
            s->next_window_at = 0;
            char scrub[600];
            (void)dm_conninfo_scrub(s->cfg.conninfo, scrub, sizeof scrub); /* it connected */
            dm_logf(DM_LOG_INFO, "connected; listening on driftmon_batch", "conninfo=%s worker=%s",
                    scrub[0] ? scrub : "(PG* environment)", s->o.worker);
            return true;
        }
        if (c)
            PQfinish(c);
        double d = dm_backoff_next(0.1, s->o.reconnect_cap_s, s->reconnect_prev, &s->rng);
        s->reconnect_prev = d;
        dm_logf(DM_LOG_WARN, "could not connect to the database; retrying",
                "reason=%s retry_in_s=%.3f", err, d);
        nap(d, waitmask);
    }
    return true;
}

static void rollback_if_needed(PGconn *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
    }
}

/* ---- batches ------------------------------------------------------------------------------ */

/* -1 when the connection was lost. */
static int run_batch(serve_state *s, renewer *rn, deliverer *dl, const sigset_t *intset,
                     const char *batch, double queued_s)
{
    char err[ERRLEN];
    dm_run_result res;
    dm_run_target t;
    memset(&t, 0, sizeof t);
    t.batch = batch;
    dm_logf(DM_LOG_INFO, "claimed batch", "batch=%s queued_s=%.3f", batch, queued_s);
    renewer_set(rn, batch);
    pthread_sigmask(SIG_UNBLOCK, intset, NULL); /* a second SIGINT ends the run at once */
    int rc =
        dm_run_check_claimed(s->conn, &s->cfg, &t, s->o.worker, &s->cache, &res, err, sizeof err);
    pthread_sigmask(SIG_BLOCK, intset, NULL);
    renewer_set(rn, NULL);
    if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, "checked batch",
                "batch=%s run_id=%" PRId64 " rows=%" PRIu64 " columns=%zu drifted=%zu "
                "dataset_drift=%s retrain=%s queued_s=%.3f read_s=%.3f compare_s=%.3f "
                "total_s=%.3f",
                batch, res.run_id, res.rows, res.verdict.number_of_columns,
                res.verdict.number_of_drifted_columns, res.verdict.dataset_drift ? "true" : "false",
                res.verdict.retrain ? "flagged" : "no", queued_s, res.read_s, res.compare_s,
                res.total_s);
        if (res.verdict.retrain)
            deliverer_wake(dl);
        return 0;
    }
    if (rc == DM_RUN_LOST) {
        dm_logf(DM_LOG_WARN, "run discarded: lost the claim on the batch", "batch=%s reason=%s",
                batch, err);
        return 0;
    }
    dm_logf(DM_LOG_ERROR, "could not check batch", "batch=%s reason=%s", batch, err);
    if (conn_lost(s, "a check"))
        return -1;
    rollback_if_needed(s->conn);
    const char *p[3] = {batch, s->o.worker, err};
    PGresult *r =
        PQexecParams(s->conn, "SELECT driftmon.fail_batch($1, $2, $3)", 3, NULL, p, NULL, NULL, 0);
    PQclear(r);
    return conn_lost(s, "recording a failure") ? -1 : 0;
}

static int sweep_batches(serve_state *s, renewer *rn, deliverer *dl, const sigset_t *intset)
{
    char lease[40];
    snprintf(lease, sizeof lease, "%.3f seconds", s->o.lease_s);
    for (;;) {
        if (g_stop)
            return 0;
        if (g_hup) {
            reload(s);
            if (!s->conn)
                return -1;
        }
        const char *p[2] = {s->o.worker, lease};
        PGresult *r = PQexecParams(
            s->conn,
            "SELECT c.b, extract(epoch FROM clock_timestamp() - x.submitted_at)::float8 FROM "
            "driftmon.claim_batch($1, $2::interval) AS c(b) JOIN driftmon.batch x ON x.batch "
            "= c.b",
            2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            char m[600];
            dm_logf(DM_LOG_ERROR, "could not claim a batch", "reason=%s",
                    pq_reason(s->conn, r, m, sizeof m));
            PQclear(r);
            return conn_lost(s, "a claim") ? -1 : 0;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            return 0;
        }
        char batch[BATCH_MAX];
        snprintf(batch, sizeof batch, "%s", PQgetvalue(r, 0, 0));
        double queued = strtod(PQgetvalue(r, 0, 1), NULL);
        PQclear(r);
        if (run_batch(s, rn, dl, intset, batch, queued) < 0)
            return -1;
    }
}

/* ---- periodic windows ------------------------------------------------------------------ */

static void iso_utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Start (epoch s, a multiple of every) of the window holding the table's first timestamp
 * >= from; 0 in *found when there is none.  -1 on error. */
static int next_data_window(serve_state *s, int64_t from, int64_t *start, bool *found)
{
    *found = false;
    char err[600];
    const char *pt[1] = {s->cfg.source_table};
    PGresult *r = PQexecParams(s->conn, "SELECT $1::regclass::text", 1, NULL, pt, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not find the monitored table", "table=%s reason=%s",
                s->cfg.source_table, pq_reason(s->conn, r, err, sizeof err));
        PQclear(r);
        return -1;
    }
    char *qtable = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    char *qcol =
        PQescapeIdentifier(s->conn, s->cfg.timestamp_column, strlen(s->cfg.timestamp_column));
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
        snprintf(e, sizeof e, "%" PRId64, s->every_s);
        const char *p[2] = {f, e};
        r = PQexecParams(s->conn, sql, 2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = 0;
            if (!PQgetisnull(r, 0, 0)) {
                *found = true;
                *start = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            }
        } else {
            dm_logf(DM_LOG_ERROR, "could not look for the next window", "table=%s reason=%s",
                    qtable, pq_reason(s->conn, r, err, sizeof err));
        }
        PQclear(r);
        free(sql);
    }
    free(qtable);
    PQfreemem(qcol);
    return rc;
}

static int record_window(serve_state *s, int64_t start, int64_t end, const char *run_id,
                         const char *note)
{
    char e[32], a[40], b[40];
    snprintf(e, sizeof e, "%" PRId64, s->every_s);
    iso_utc(start, a, sizeof a);
    iso_utc(end, b, sizeof b);
    const char *p[5] = {e, a, b, run_id, note};
    return exec_ok(s->conn,
                   "INSERT INTO driftmon.window_done (every_s, window_start, window_end, run_id, "
                   "note) VALUES ($1::bigint, $2::timestamptz, $3::timestamptz, $4::bigint, $5) "
                   "ON CONFLICT DO NOTHING",
                   5, p, "could not record the window")
               ? 0
               : -1;
}

/* One window: 0 done (or recorded as not checkable), -1 error (retry later). */
static int run_window(serve_state *s, deliverer *dl, const sigset_t *intset, int64_t start,
                      int64_t end)
{
    char a[40], b[40], err[ERRLEN];
    iso_utc(start, a, sizeof a);
    iso_utc(end, b, sizeof b);
    const char *p[2] = {a, b};
    PGresult *r = PQexecParams(s->conn,
                               "SELECT id FROM driftmon.run WHERE batch IS NULL AND window_start "
                               "= $1::timestamptz AND window_end = $2::timestamptz ORDER BY id "
                               "LIMIT 1",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not look up the window's run", "reason=%s",
                pq_reason(s->conn, r, err, sizeof err));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 1) {
        char id[24];
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return record_window(s, start, end, id, "run found");
    }
    PQclear(r);
    dm_run_target t;
    memset(&t, 0, sizeof t);
    t.since = a;
    t.until = b;
    dm_run_result res;
    pthread_sigmask(SIG_UNBLOCK, intset, NULL);
    int rc = dm_run_check_claimed(s->conn, &s->cfg, &t, NULL, &s->cache, &res, err, sizeof err);
    pthread_sigmask(SIG_BLOCK, intset, NULL);
    if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, "checked window",
                "window_start=%s window_end=%s run_id=%" PRId64 " rows=%" PRIu64
                " columns=%zu drifted=%zu retrain=%s read_s=%.3f total_s=%.3f",
                a, b, res.run_id, res.rows, res.verdict.number_of_columns,
                res.verdict.number_of_drifted_columns, res.verdict.retrain ? "flagged" : "no",
                res.read_s, res.total_s);
        char id[24]; /* record_window's parameter */
        snprintf(id, sizeof id, "%" PRId64, res.run_id);
        if (res.verdict.retrain)
            deliverer_wake(dl);
        return record_window(s, start, end, id, NULL);
    }
    if (rc == DM_RUN_INPUT) {
        dm_logf(DM_LOG_WARN, "window not checked", "window_start=%s window_end=%s reason=%s", a, b,
                err);
        return record_window(s, start, end, NULL, err);
    }
    dm_logf(DM_LOG_ERROR, "could not check window", "window_start=%s window_end=%s reason=%s", a, b,
            err);
    if (!conn_lost(s, "a window check"))
        rollback_if_needed(s->conn);
    return -1;
}

static int sweep_windows(serve_state *s, deliverer *dl, const sigset_t *intset)
{
    double now = wall_s();
    s->next_window_at = now + s->o.poll_s; /* unless all goes well, below */
    if (s->every_s <= 0) {
        s->next_window_at = INFINITY;
        return 0;
    }
    PGresult *r = PQexec(s->conn, "SELECT pg_try_advisory_lock(hashtextextended('driftmon."
                                  "windows', 0)), extract(epoch FROM clock_timestamp())::float8");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return conn_lost(s, "the window lock") ? -1 : 0;
    }
    bool locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    double db_now = strtod(PQgetvalue(r, 0, 1), NULL);
    PQclear(r);
    if (!locked)
        return 0; /* another daemon is on the windows */
    int rc = 0;
    char e[32];
    snprintf(e, sizeof e, "%" PRId64, s->every_s);
    const char *pe[1] = {e};
    r = PQexecParams(s->conn,
                     "SELECT extract(epoch FROM max(window_end))::bigint FROM "
                     "driftmon.window_done WHERE every_s = $1::bigint",
                     1, NULL, pe, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        rc = -1;
        goto unlock;
    }
    int64_t from = PQgetisnull(r, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (from == INT64_MIN)
        from = -30000000000LL; /* 1019 AD: before any data; to_timestamp takes it */
    bool more = false;
    for (int n = 0; !g_stop; n++) {
        if (g_hup)
            break;
        if (n >= 200) {
            more = true; /* let batches in between */
            break;
        }
        int64_t start = 0;
        bool found = false;
        if (next_data_window(s, from, &start, &found) != 0) {
            rc = -1;
            break;
        }
        if (!found || (double)(start + s->every_s) > db_now)
            break;
        if (run_window(s, dl, intset, start, start + s->every_s) != 0) {
            rc = -1;
            break;
        }
        from = start + s->every_s;
        if (!s->conn)
            break;
    }
    if (rc == 0 && !g_stop && !g_hup) {
        int64_t next = ((int64_t)floor(now / (double)s->every_s) + 1) * s->every_s;
        s->next_window_at = more ? 0 : (double)next + 0.2;
    }
unlock:
    if (s->conn) {
        r = PQexec(s->conn, "SELECT pg_advisory_unlock(hashtextextended('driftmon.windows', 0))");
        PQclear(r);
        if (conn_lost(s, "the window unlock"))
            return -1;
    }
    return s->conn ? 0 : -1;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static bool drain_notifies(serve_state *s)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(s->conn)) != NULL) {
        any = true;
        dm_logf(DM_LOG_DEBUG, "notified", "channel=%s batch=%s", n->relname, n->extra);
        PQfreemem(n);
    }
    return any;
}

static void usage_serve(void)
{
    dm_cli_error("usage: driftmon serve [--config FILE] [--worker NAME] [--lease S] [--poll S] "
                 "[--retry-base S] [--retry-cap S] [--reconnect-cap S]");
}

static int parse_secs(const char *arg, const char *opt, double lo, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v) || v < lo || v > 86400) {
        char m[300];
        snprintf(m, sizeof m, "%s: \"%s\" is not a number of seconds in [%g, 86400]", opt, arg, lo);
        dm_cli_error(m);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, serve_opts *o)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"worker", required_argument, NULL, 'w'},
                                             {"lease", required_argument, NULL, 'l'},
                                             {"poll", required_argument, NULL, 'p'},
                                             {"retry-base", required_argument, NULL, 'b'},
                                             {"retry-cap", required_argument, NULL, 'C'},
                                             {"reconnect-cap", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->config_path = getenv("DRIFTMON_CONFIG");
    o->lease_s = 30;
    o->poll_s = 5;
    o->retry_base_s = 1;
    o->retry_cap_s = 300;
    o->reconnect_cap_s = 10;
    char host[200] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(o->worker, sizeof o->worker, "%s:%ld", host, (long)getpid());
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:w:l:p:b:C:r:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'w':
            if (!optarg[0] || strlen(optarg) >= sizeof o->worker) {
                dm_cli_error("--worker: give a name of 1 to 255 bytes");
                return -1;
            }
            snprintf(o->worker, sizeof o->worker, "%s", optarg);
            break;
        case 'l':
            if (parse_secs(optarg, "--lease", 0.3, &o->lease_s))
                return -1;
            break;
        case 'p':
            if (parse_secs(optarg, "--poll", 0.01, &o->poll_s))
                return -1;
            break;
        case 'b':
            if (parse_secs(optarg, "--retry-base", 0.001, &o->retry_base_s))
                return -1;
            break;
        case 'C':
            if (parse_secs(optarg, "--retry-cap", 0.001, &o->retry_cap_s))
                return -1;
            break;
        case 'r':
            if (parse_secs(optarg, "--reconnect-cap", 0.01, &o->reconnect_cap_s))
                return -1;
            break;
        default:
            usage_serve();
            return -1;
        }
    }
    if (optind != argc) {
        usage_serve();
        return -1;
    }
    if (!o->config_path) {
        dm_cli_error("serve needs a configuration: --config FILE or DRIFTMON_CONFIG");
        return -1;
    }
    return 0;
}

int dm_cmd_serve(int argc, char **argv)
{
    serve_state s;
    memset(&s, 0, sizeof s);
    if (parse_opts(argc, argv, &s.o) != 0)
        return 2;
    char err[ERRLEN];
    if (dm_config_load(s.o.config_path, &s.cfg, err, sizeof err) != 0 ||
        validate_config(&s.cfg, &s.every_s, err, sizeof err) != 0) {
        dm_cli_error(err);
        if (s.cfg.path)
            dm_config_release(&s.cfg);
        return 2;
    }
    s.rng = dm_backoff_seed();

    /* signals: blocked but inside the wait (SIGINT also inside a check) */
    sigset_t block, waitmask, intset;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGINT);
    sigemptyset(&intset);
    sigaddset(&intset, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGHUP);
    sigdelset(&waitmask, SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);

    /* the helper threads inherit the blocked mask: signals reach the main thread */
    renewer rn;
    memset(&rn, 0, sizeof rn);
    rn.s = &s;
    pthread_mutex_init(&rn.mu, NULL);
    cond_init_mono(&rn.cv);
    deliverer dl;
    memset(&dl, 0, sizeof dl);
    dl.s = &s;
    pthread_mutex_init(&dl.mu, NULL);
    cond_init_mono(&dl.cv);
    if (pthread_create(&rn.th, NULL, renewer_main, &rn) != 0 ||
        pthread_create(&dl.th, NULL, deliverer_main, &dl) != 0) {
        dm_cli_error("could not start the daemon's threads");
        return 1;
    }
    dm_logf(DM_LOG_INFO, "driftmon serve starting",
            "version=%s config=%s worker=%s lease_s=%.3f poll_s=%.3f schedule=%s", DRIFTMON_VERSION,
            s.o.config_path, s.o.worker, s.o.lease_s, s.o.poll_s,
            s.cfg.schedule_every ? s.cfg.schedule_every : "none");
    if (!s.cfg.hook)
        dm_log(DM_LOG_WARN, "retrain.hook is not set: retrain alerts stay pending");

    for (;;) {
        if (g_stop)
            break;
        if (g_hup)
            reload(&s);
        if (!s.conn && !ensure_conn(&s, &waitmask))
            break;
        if (s.need_sweep) {
            s.need_sweep = false;
            if (sweep_batches(&s, &rn, &dl, &intset) < 0)
                continue;
        }
        if (g_stop)
            break;
        if (wall_s() >= s.next_window_at) {
            if (sweep_windows(&s, &dl, &intset) < 0)
                continue;
            if (s.next_window_at == 0)
                s.need_sweep = true; /* more windows: batches first, then on */
        }
        /* NOTIFYs that arrived while working may already sit in libpq's buffer */
        if (!PQconsumeInput(s.conn)) {
            drop_conn(&s, "the wait");
            continue;
        }
        if (drain_notifies(&s) || s.need_sweep) {
            s.need_sweep = true;
            continue;
        }
        double timeout = s.o.poll_s;
        double tw = s.next_window_at - wall_s();
        if (tw < timeout)
            timeout = tw < 0 ? 0 : tw;
        struct timespec ts;
        ts.tv_sec = (time_t)timeout;
        ts.tv_nsec = (long)((timeout - (double)ts.tv_sec) * 1e9);
        struct pollfd pfd = {PQsocket(s.conn), POLLIN, 0};
        int pr = ppoll(&pfd, 1, &ts, &waitmask);
        if (pr < 0) {
            if (errno != EINTR)
                dm_logf(DM_LOG_ERROR, "could not wait", "reason=%s", strerror(errno));
            continue;
        }
        if (pr == 0) {
            s.need_sweep = true; /* the periodic sweep: nothing is lost to a missed NOTIFY */
            continue;
        }
        if (!PQconsumeInput(s.conn)) {
            drop_conn(&s, "the wait");
            continue;
        }
        if (drain_notifies(&s))
            s.need_sweep = true;
    }

    dm_log(DM_LOG_INFO, "stopping: no run in hand");
    atomic_store(&g_hook_stop, 1);
    pthread_mutex_lock(&rn.mu);
    rn.quit = true;
    pthread_cond_broadcast(&rn.cv);
    pthread_mutex_unlock(&rn.mu);
    pthread_mutex_lock(&dl.mu);
    dl.quit = true;
    pthread_cond_broadcast(&dl.cv);
    pthread_mutex_unlock(&dl.mu);
    pthread_join(rn.th, NULL);
    pthread_join(dl.th, NULL);
    if (s.conn)
        PQfinish(s.conn);
    dm_refcache_release(&s.cache);
    dm_config_release(&s.cfg);
    dm_log(DM_LOG_INFO, "stopped");
    return 0;
}

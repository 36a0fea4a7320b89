/* serve.c - `driftmon serve`: options, configuration and its reload, signals, the
 * connection and its reconnect, the loop (see serve.h); batches and leases are lease.c,
 * retrain delivery outbox.c, periodic windows windows.c. */
#include "monitor/serve.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
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
#include <systemd/sd-daemon.h>

#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/conninfo.h"
#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/hook.h"
#include "monitor/lease.h"
#include "monitor/log.h"
#include "monitor/metrics.h"
#include "monitor/metrics_http.h"
#include "monitor/outbox.h"
#include "monitor/perfcohort.h"
#include "monitor/serve_internal.h"
#include "monitor/units.h"
#include "monitor/windows.h"

/* Signals: the handlers only set flags. */
volatile sig_atomic_t g_stop = 0, g_hup = 0;

pthread_mutex_t g_cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_cfg_gen = 0; /* bumped when the conninfo changes */

static void on_signal(int sig);
static int validate_config(const dm_config *c, serve_monitor **mon, size_t *n, char *err,
                           size_t errlen);
static void release_monitors(serve_monitor *mon, size_t n);
static double next_window_at(const serve_state *s);
static void drop_conn(serve_state *s, const char *why);
static void nap(serve_state *s, double secs, const sigset_t *waitmask);
static void set_db_state(serve_state *s, bool up, const char *reason);
static void watchdog_ping(serve_state *s);
static bool metrics_refresh(serve_state *s);
static bool metrics_refresh_perf(serve_state *s);
static int metrics_model_of(const dm_config *c, const dm_metrics_snapshot *prev,
                            dm_metrics_snapshot *m);
static int setup_conn(serve_state *s, PGconn *c, char *err, size_t errlen);
static bool ensure_conn(serve_state *s, const sigset_t *waitmask);
static bool drain_notifies(serve_state *s);
static void usage_serve(void);
static int parse_secs(const char *arg, const char *opt, double lo, double *out);
static int parse_opts(int argc, char **argv, serve_opts *o);

int dm_cmd_serve(int argc, char **argv)
{
    serve_state s;
    memset(&s, 0, sizeof s);
    if (parse_opts(argc, argv, &s.o) != 0)
        return 2;
    char err[ERRLEN];
    if (dm_config_load(s.o.config_path, &s.cfg, err, sizeof err) != 0 ||
        validate_config(&s.cfg, &s.mon, &s.n_mon, err, sizeof err) != 0) {
        dm_cli_error(err);
        if (s.cfg.path)
            dm_config_release(&s.cfg);
        return 2;
    }
    s.rng = dm_backoff_seed();
    /* /healthz: the loop waits at most poll_s between turns; a second for the turn's work */
    dm_metrics_hub_init(&s.hub, s.o.poll_s + 1.0);
    if (metrics_model_of(&s.cfg, NULL, &s.mm) != 0) {
        dm_cli_error("out of memory");
        release_monitors(s.mon, s.n_mon);
        dm_config_release(&s.cfg);
        return 1;
    }
    s.metrics_on = s.cfg.metrics_listen != NULL;
    /* WATCHDOG_USEC without WATCHDOG_PID counts (sd_watchdog_enabled's rule) */
    if (sd_watchdog_enabled(0, &s.watchdog_usec) <= 0)
        s.watchdog_usec = 0;

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
    dm_replica_init(&s.replica, &g_stop, &waitmask); /* the wait for the standby lets stops in */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);

    /* the helper threads inherit the blocked mask: signals reach the main thread */
    dm_metrics_http *http = NULL;
    if (s.metrics_on) {
        unsigned port = 0;
        (void)dm_metrics_publish(&s.hub, &s.mm); /* "database not connected" until then */
        http = dm_metrics_http_start(s.cfg.metrics_listen, &s.hub, &port, err, sizeof err);
        if (!http) {
            dm_cli_error(err);
            dm_metrics_model_release(&s.mm);
            dm_metrics_hub_release(&s.hub);
            dm_config_release(&s.cfg);
            return 1;
        }
        dm_logf(DM_LOG_INFO, "metrics endpoint listening", "listen=%s port=%u",
                s.cfg.metrics_listen, port);
    }
    dm_renewer rn;
    dm_deliverer dl;
    if (dm_renewer_start(&rn, &s) != 0 || dm_deliverer_start(&dl, &s) != 0) {
        dm_cli_error("could not start the daemon's threads");
        return 1;
    }
    dm_logf(DM_LOG_INFO, "driftmon serve starting",
            "version=%s config=%s worker=%s lease_s=%.3f poll_s=%.3f monitors=%zu",
            DRIFTMON_VERSION, s.o.config_path, s.o.worker, s.o.lease_s, s.o.poll_s, s.n_mon);
    for (size_t i = 0; i < s.n_mon; i++) {
        const dm_config *m = serve_monitor_cfg(&s, i);
        dm_logf(DM_LOG_INFO, "monitor", "monitor=%s table=%s reference=%s schedule=%s reports=%s",
                dm_config_monitor_name(m), m->source_table, m->reference_name,
                m->schedule_every ? m->schedule_every : "none",
                m->reports_dir ? m->reports_dir : "reports");
    }
    if (!s.cfg.hook)
        dm_log(DM_LOG_WARN, "retrain.hook is not set: retrain alerts stay pending");

    for (;;) {
        if (g_stop)
            break;
        if (g_hup)
            serve_reload(&s);
        if (!s.conn && !ensure_conn(&s, &waitmask))
            break;
        if (!serve_turn(&s))
            continue;
        if (s.need_sweep) {
            s.need_sweep = false;
            /* work units first: a run in units is under way, its batch already out of the
             * queue (monitor/units.h) */
            if (dm_units_sweep(&s, &rn, &dl, &intset) < 0 ||
                dm_lease_sweep(&s, &rn, &dl, &intset) < 0)
                continue;
        }
        if (serve_mono_s() >= s.perf_next_at) {
            s.perf_next_at = serve_mono_s() + s.o.poll_s;
            if (dm_perf_sweep(&s, &dl) < 0)
                continue;
        }
        if (!s.ready && s.conn) { /* the first connect and sweep are done */
            s.ready = true;
            sd_notify(0, "READY=1\nSTATUS=connected; batches swept");
        }
        if (g_stop)
            break;
        if (serve_wall_s() >= next_window_at(&s)) {
            if (dm_windows_sweep(&s, &dl, &intset) < 0)
                continue;
            if (next_window_at(&s) == 0)
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
        if (s.watchdog_usec && timeout > (double)s.watchdog_usec * (1e-6 / 3))
            timeout = (double)s.watchdog_usec * (1e-6 / 3);
        double tw = next_window_at(&s) - serve_wall_s();
        if (tw < timeout)
            timeout = tw < 0 ? 0 : tw;
        double tp = s.perf_next_at - serve_mono_s();
        if (tp < timeout)
            timeout = tp < 0 ? 0 : tp;
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

    sd_notify(0, "STOPPING=1");
    dm_log(DM_LOG_INFO, "stopping: no run in hand");
    dm_deliverer_stop(&dl); /* first: the hook in progress is stopped at once */
    dm_renewer_stop(&rn);
    dm_renewer_join(&rn);
    dm_deliverer_join(&dl);
    dm_metrics_http_stop(http);
    if (s.conn)
        PQfinish(s.conn);
    dm_replica_release(&s.replica);
    release_monitors(s.mon, s.n_mon);
    dm_metrics_model_release(&s.mm);
    dm_metrics_hub_release(&s.hub);
    dm_config_release(&s.cfg);
    dm_log(DM_LOG_INFO, "stopped");
    return 0;
}

int64_t dm_serve_parse_every(const char *s)
{
    return dm_config_parse_interval(s);
}

double serve_mono_s(void)
{
    return (double)dm_metrics_now_ns() * 1e-9;
}

/* The database's state as the metrics show it; reason: one line, cut. */
static void set_db_state(serve_state *s, bool up, const char *reason)
{
    char r[sizeof s->mm.down_reason];
    snprintf(r, sizeof r, "%s", up ? "" : reason && reason[0] ? reason : "unknown");
    for (char *p = r; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    if (s->mm.database_up == up && strcmp(s->mm.down_reason, r) == 0)
        return;
    s->mm.database_up = up;
    memcpy(s->mm.down_reason, r, sizeof r);
    s->mm_dirty = true;
    if (s->metrics_on && dm_metrics_publish(&s->hub, &s->mm) == 0)
        s->mm_dirty = false;
}

static void watchdog_ping(serve_state *s)
{
    if (!s->watchdog_usec)
        return;
    long long now = dm_metrics_now_ns();
    if (s->watchdog_last_ns && (double)(now - s->watchdog_last_ns) < (double)s->watchdog_usec * 250)
        return; /* a quarter of the period has not passed */
    s->watchdog_last_ns = now;
    sd_notify(0, "WATCHDOG=1");
}

/* The metrics' model for c's monitors (named as they are, in their order); prev, when not
 * NULL, the model it replaces: its process-wide values (counts of the monitors still
 * configured, durations, alerts, the database's state) carry over.  0, or -1 out of memory. */
static int metrics_model_of(const dm_config *c, const dm_metrics_snapshot *prev,
                            dm_metrics_snapshot *m)
{
    size_t n = dm_config_n_monitors(c);
    const char **names = calloc(n, sizeof *names);
    if (!names)
        return -1;
    for (size_t i = 0; i < n; i++)
        names[i] = dm_config_monitor_name(dm_config_monitor(c, i));
    int rc = dm_metrics_model_init(m, names, n);
    free(names);
    if (rc == 0)
        m->standby = c->read_conninfo != NULL;
    if (rc != 0 || !prev)
        return rc;
    for (size_t i = 0; i < m->n_monitors; i++)
        for (size_t j = 0; j < prev->n_monitors; j++)
            if (strcmp(m->monitors[i].name, prev->monitors[j].name) == 0) {
                memcpy(m->monitors[i].runs, prev->monitors[j].runs, sizeof m->monitors[i].runs);
                memcpy(m->monitors[i].evals, prev->monitors[j].evals, sizeof m->monitors[i].evals);
            }
    memcpy(m->alerts, prev->alerts, sizeof m->alerts);
    memcpy(m->duration_counts, prev->duration_counts, sizeof m->duration_counts);
    m->duration_sum = prev->duration_sum;
    m->database_up = prev->database_up;
    memcpy(m->down_reason, prev->down_reason, sizeof m->down_reason);
    m->standby_reads = prev->standby_reads;
    memcpy(m->standby_fallbacks, prev->standby_fallbacks, sizeof m->standby_fallbacks);
    return 0;
}

/* Monitor mon's newest run, when it is another run than the model's: its column results read
 * and the model updated.  false when the connection was lost. */
static bool metrics_last_run(serve_state *s, dm_metrics_monitor *mon, int64_t id, double fin,
                             double share)
{
    if (mon->has_last_run && id == mon->last_run_id)
        return true;
    char ids[24], m[600];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    PGresult *r = PQexecParams(s->conn,
                               "SELECT column_name, drift_score FROM driftmon.column_result WHERE "
                               "run_id = $1::bigint ORDER BY seq",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_WARN, "could not read the newest run's column results",
                "run_id=%s reason=%s monitor=%s", ids, serve_pq_reason(s->conn, r, m, sizeof m),
                mon->name);
        PQclear(r);
        return !serve_conn_lost(s, "reading the metrics");
    }
    size_t n = (size_t)PQntuples(r);
    const char **names = calloc(n ? n : 1, sizeof *names);
    double *scores = calloc(n ? n : 1, sizeof *scores);
    if (names && scores) {
        for (size_t i = 0; i < n; i++) {
            names[i] = PQgetvalue(r, (int)i, 0);
            scores[i] = strtod(PQgetvalue(r, (int)i, 1), NULL);
        }
        if (dm_metrics_set_columns(mon, names, scores, n) == 0) {
            mon->has_last_run = true;
            mon->last_run_id = id;
            mon->last_run_s = fin;
            mon->drifted_share = share;
            s->mm_dirty = true;
        }
    }
    free(names);
    free(scores);
    PQclear(r);
    return true;
}

/* The model's monitors' names as a text[] literal (malloc'ed; NULL out of memory): a
 * monitor's name needs no quoting (config.h). */
static char *monitor_names(const dm_metrics_snapshot *mm)
{
    size_t len = 3;
    for (size_t i = 0; i < mm->n_monitors; i++)
        len += strlen(mm->monitors[i].name) + 1;
    char *arr = malloc(len);
    if (!arr)
        return NULL;
    size_t k = 0;
    arr[k++] = '{';
    for (size_t i = 0; i < mm->n_monitors; i++) {
        if (i)
            arr[k++] = ',';
        size_t l = strlen(mm->monitors[i].name);
        memcpy(arr + k, mm->monitors[i].name, l);
        k += l;
    }
    arr[k++] = '}';
    arr[k] = '\0';
    return arr;
}

/* The database's values of the metrics (metrics.h), read in one statement (a row per
 * monitor of the model, in its order: its pending batches and newest run; the alerts on
 * each), and each monitor's newest run's column results when it is another run.  false when
 * the connection was lost. */
static bool metrics_refresh(serve_state *s)
{
    char *arr = monitor_names(&s->mm);
    if (!arr)
        return true; /* out of memory: the values stay as they were */
    const char *p[1] = {arr};
    PGresult *r = PQexecParams(
        s->conn,
        "SELECT (SELECT count(*) FROM driftmon.batch b WHERE b.monitor = m.name AND b.done_at IS "
        "NULL), o.pending, o.delivered, o.dead, l.id, extract(epoch FROM l.finished_at)::float8, "
        "l.share_of_drifted_columns FROM unnest($1::text[]) WITH ORDINALITY AS m(name, ord) "
        "CROSS JOIN (SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL) AS "
        "pending, count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered, count(*) "
        "FILTER (WHERE delivered_at IS NULL AND dead_at IS NOT NULL) AS dead FROM "
        "driftmon.retrain_outbox) o LEFT JOIN LATERAL (SELECT id, finished_at, "
        "share_of_drifted_columns FROM driftmon.run x WHERE x.monitor = m.name ORDER BY "
        "finished_at DESC, id DESC LIMIT 1) l ON true ORDER BY m.ord",
        1, NULL, p, NULL, NULL, 0);
    free(arr);
    char m[600];
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != s->mm.n_monitors) {
        if (!s->refresh_failing)
            dm_logf(DM_LOG_WARN, "could not read the metrics' values from the database",
                    "reason=%s", serve_pq_reason(s->conn, r, m, sizeof m));
        s->refresh_failing = true;
        PQclear(r);
        return !serve_conn_lost(s, "reading the metrics");
    }
    s->refresh_failing = false;
    for (int k2 = 0; k2 < DM_ALERT_STATES; k2++) {
        int64_t v = strtoll(PQgetvalue(r, 0, k2 + 1), NULL, 10);
        if (s->mm.alerts[k2] != v) {
            s->mm.alerts[k2] = v;
            s->mm_dirty = true;
        }
    }
    bool ok = true;
    for (size_t i = 0; i < s->mm.n_monitors && ok; i++) {
        dm_metrics_monitor *mon = &s->mm.monitors[i];
        int64_t pending = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        if (mon->batches_pending != pending) {
            mon->batches_pending = pending;
            s->mm_dirty = true;
        }
        if (!PQgetisnull(r, (int)i, 4))
            ok = metrics_last_run(s, mon, strtoll(PQgetvalue(r, (int)i, 4), NULL, 10),
                                  strtod(PQgetvalue(r, (int)i, 5), NULL),
                                  strtod(PQgetvalue(r, (int)i, 6), NULL));
    }
    PQclear(r);
    return ok;
}

/* The realised performance's database values (metrics.h), read in one statement (a row per
 * monitor of the model, in its order: its cost alerts by state, its newest evaluated cohort's
 * latest evaluation).  false when the connection was lost. */
static bool metrics_refresh_perf(serve_state *s)
{
    char *arr = monitor_names(&s->mm), m[600];
    if (!arr)
        return true; /* out of memory: the values stay as they were */
    const char *p[1] = {arr};
    PGresult *r = PQexecParams(
        s->conn,
        "SELECT a.pending, a.delivered, a.dead, e.at IS NOT NULL, e.at, e.business_cost, "
        "e.reference_business_cost, e.auc, e.reference_auc "
        "FROM unnest($1::text[]) WITH ORDINALITY AS m(name, ord) "
        "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE o.delivered_at IS NULL AND "
        "o.dead_at IS NULL) AS pending, count(*) FILTER (WHERE o.delivered_at IS NOT NULL) AS "
        "delivered, count(*) FILTER (WHERE o.delivered_at IS NULL AND o.dead_at IS NOT NULL) "
        "AS dead FROM driftmon.performance_outbox o JOIN driftmon.performance x ON x.id = "
        "o.performance_id WHERE x.monitor = m.name) a "
        "LEFT JOIN LATERAL (SELECT extract(epoch FROM y.evaluated_at)::float8 AS at, "
        "y.business_cost, y.reference_business_cost, y.auc, y.reference_auc FROM "
        "driftmon.performance y WHERE y.monitor = m.name ORDER BY y.run_id DESC, y.id DESC "
        "LIMIT 1) e ON true ORDER BY m.ord",
        1, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != s->mm.n_monitors) {
        if (!s->perf_refresh_failing)
            dm_logf(DM_LOG_WARN, "could not read the realised performance's metrics", "reason=%s",
                    serve_pq_reason(s->conn, r, m, sizeof m));
        s->perf_refresh_failing = true;
        PQclear(r);
        return !serve_conn_lost(s, "reading the metrics");
    }
    s->perf_refresh_failing = false;
    for (size_t i = 0; i < s->mm.n_monitors; i++) {
        dm_metrics_monitor *mon = &s->mm.monitors[i];
        int row = (int)i;
        for (int j = 0; j < DM_ALERT_STATES; j++) {
            int64_t v = strtoll(PQgetvalue(r, row, j), NULL, 10);
            s->mm_dirty |= mon->cost_alerts[j] != v;
            mon->cost_alerts[j] = v;
        }
        bool has = PQgetvalue(r, row, 3)[0] == 't';
        s->mm_dirty |= mon->has_last_eval != has;
        mon->has_last_eval = has;
        for (int g = 0; has && g < DM_PERF_GAUGES; g++) {
            double v = PQgetisnull(r, row, 4 + g) ? NAN : strtod(PQgetvalue(r, row, 4 + g), NULL);
            /* bit for bit: NaN == NaN is false, which would publish at every turn */
            s->mm_dirty |= memcmp(&mon->perf[g], &v, sizeof v) != 0;
            mon->perf[g] = v;
        }
    }
    PQclear(r);
    return true;
}

void serve_count_evaluation(serve_state *s, const char *monitor, int result)
{
    for (size_t i = 0; i < s->mm.n_monitors && result >= 0 && result < DM_EVAL_RESULTS; i++)
        if (strcmp(s->mm.monitors[i].name, monitor) == 0) {
            s->mm.monitors[i].evals[result]++;
            s->mm_dirty = true; /* published at the next turn, with the database's values */
        }
}

bool serve_turn(serve_state *s)
{
    atomic_store(&s->hub.turn_ns, dm_metrics_now_ns());
    watchdog_ping(s);
    if (s->metrics_on && s->conn && (!metrics_refresh(s) || !metrics_refresh_perf(s)))
        return false;
    if (s->metrics_on && s->mm_dirty && dm_metrics_publish(&s->hub, &s->mm) == 0)
        s->mm_dirty = false;
    return true;
}

void serve_check_begin(serve_state *s)
{
    long long now = dm_metrics_now_ns();
    atomic_store(&s->hub.turn_ns, now);
    atomic_store(&s->hub.check_ns, now);
    watchdog_ping(s);
}

void serve_check_end(serve_state *s, size_t mi, int result, double seconds)
{
    atomic_store(&s->hub.check_ns, 0);
    atomic_store(&s->hub.turn_ns, dm_metrics_now_ns());
    watchdog_ping(s);
    if (result < 0)
        return;
    if (mi < s->mm.n_monitors)
        s->mm.monitors[mi].runs[result]++;
    dm_metrics_observe(&s->mm, seconds);
    s->mm.standby_reads = atomic_load(&s->replica.standby_reads);
    for (int k = 0; k < DM_REPLICA_REASONS; k++)
        s->mm.standby_fallbacks[k] = atomic_load(&s->replica.fallbacks[k]);
    s->mm_dirty = true; /* published at the next turn, with the database's values */
}

const dm_config *serve_monitor_cfg(const serve_state *s, size_t i)
{
    return dm_config_monitor(&s->cfg, i);
}

/* The earliest time a monitor's windows are due (0: at once; INFINITY: none scheduled). */
static double next_window_at(const serve_state *s)
{
    double t = INFINITY;
    for (size_t i = 0; i < s->n_mon; i++)
        if (s->mon[i].next_window_at < t)
            t = s->mon[i].next_window_at;
    return t;
}

static void release_monitors(serve_monitor *mon, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dm_refcache_release(&mon[i].cache);
    free(mon);
}

double serve_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *serve_pq_reason(PGconn *conn, PGresult *r, char *buf, size_t len)
{
    dm_db_trim(r ? PQresultErrorMessage(r) : PQerrorMessage(conn), buf, len);
    if (!buf[0])
        dm_db_trim(PQerrorMessage(conn), buf, len);
    return buf;
}

/* Condition variables on the monotonic clock. */
void serve_cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void serve_deadline_in(struct timespec *ts, double s)
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

char *serve_conninfo_snapshot(serve_state *s, int *gen)
{
    pthread_mutex_lock(&g_cfg_mu);
    char *c = strdup(s->cfg.conninfo ? s->cfg.conninfo : "");
    *gen = atomic_load(&g_cfg_gen);
    pthread_mutex_unlock(&g_cfg_mu);
    return c;
}

/* dm_db_exec, its failure logged here (msg=what reason=...) */
bool serve_exec_ok(PGconn *conn, const char *sql, int n, const char *const *p, const char *what)
{
    char m[600];
    if (dm_db_exec(conn, sql, n, p, NULL, m, sizeof m) == 0)
        return true;
    dm_logf(DM_LOG_ERROR, what, "reason=%s", m);
    return false;
}

/* True (and the connection dropped) when the connection is gone. */
bool serve_conn_lost(serve_state *s, const char *why)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_BAD) {
        drop_conn(s, why);
        return true;
    }
    return false;
}

void serve_rollback_if_needed(PGconn *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
    }
}

void serve_reload(serve_state *s)
{
    g_hup = 0;
    char err[ERRLEN];
    dm_config nc;
    serve_monitor *mon = NULL;
    size_t n_mon = 0;
    if (dm_config_load(s->o.config_path, &nc, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not reload the configuration; keeping the old one",
                "path=%s reason=%s", s->o.config_path, err);
        return;
    }
    if (validate_config(&nc, &mon, &n_mon, err, sizeof err) != 0) {
        dm_logf(DM_LOG_ERROR, "could not reload the configuration; keeping the old one",
                "path=%s reason=%s", s->o.config_path, err);
        dm_config_release(&nc);
        return;
    }
    bool moved = strcmp(s->cfg.conninfo ? s->cfg.conninfo : "", nc.conninfo ? nc.conninfo : "");
    char *old_listen = s->cfg.metrics_listen ? strdup(s->cfg.metrics_listen) : NULL;
    pthread_mutex_lock(&g_cfg_mu);
    dm_config old = s->cfg;
    s->cfg = nc;
    if (moved)
        atomic_fetch_add(&g_cfg_gen, 1);
    pthread_mutex_unlock(&g_cfg_mu);
    dm_config_release(&old);
    release_monitors(s->mon, s->n_mon); /* their reference caches go with them */
    s->mon = mon;
    s->n_mon = n_mon;
    dm_metrics_snapshot mm;
    if (metrics_model_of(&s->cfg, &s->mm, &mm) == 0) {
        dm_metrics_model_release(&s->mm);
        s->mm = mm;
        s->mm_dirty = true;
    } else {
        dm_log(DM_LOG_WARN, "out of memory: the metrics keep the old monitors");
    }
    s->turn = 0;
    s->need_sweep = true;
    dm_logf(DM_LOG_INFO, "configuration reloaded", "path=%s sha256=%s", s->o.config_path,
            s->cfg.sha256);
    if (!s->cfg.hook)
        dm_log(DM_LOG_WARN, "retrain.hook is not set: retrain alerts stay pending");
    if (strcmp(s->cfg.metrics_listen ? s->cfg.metrics_listen : "", old_listen ? old_listen : "") !=
        0)
        dm_logf(DM_LOG_WARN, "metrics.listen changed: it takes effect when the daemon restarts",
                "listen=%s", old_listen ? old_listen : "off");
    free(old_listen);
    if (moved && s->conn) {
        dm_log(DM_LOG_INFO, "the conninfo changed: reconnecting");
        PQfinish(s->conn);
        s->conn = NULL;
        set_db_state(s, false, "reconnecting: the conninfo changed");
    }
}

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

/* Every monitor has what the daemon needs; their states, fresh, in *mon (n of them). */
static int validate_config(const dm_config *c, serve_monitor **mon, size_t *n, char *err,
                           size_t errlen)
{
    const char *name = c->path ? c->path : "config";
    size_t nm = dm_config_n_monitors(c);
    serve_monitor *ms = calloc(nm, sizeof *ms);
    if (!ms) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nm; i++) {
        const dm_config *m = dm_config_monitor(c, i);
        char at[48] = ""; /* the key path's prefix of a monitors entry */
        if (c->n_monitors)
            snprintf(at, sizeof at, "monitors[%zu].", i);
        if (!m->source_table || !m->batch_column || !m->reference_name) {
            snprintf(err, errlen,
                     "%s: the daemon needs \"%ssource.table\", \"%ssource.batch_column\" and "
                     "\"%sreference.name\"",
                     name, at, at, at);
            goto bad;
        }
        if (m->schedule_every) {
            if (!m->timestamp_column) {
                snprintf(err, errlen,
                         "%s: \"%sschedule.every\" needs \"%ssource.timestamp_column\"", name, at,
                         at);
                goto bad;
            }
            ms[i].every_s = dm_serve_parse_every(m->schedule_every);
            if (ms[i].every_s <= 0) {
                char shown[DM_SHOWN_LEN];
                dm_show_value(m->schedule_every, strlen(m->schedule_every), shown, sizeof shown);
                snprintf(err, errlen,
                         "%s: key \"%sschedule.every\": \"%s\" is not \"N seconds|minutes|hours|"
                         "days|weeks\"",
                         name, at, shown);
                goto bad;
            }
        }
    }
    *mon = ms;
    *n = nm;
    return 0;
bad:
    free(ms);
    return -1;
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
    set_db_state(s, false, m[0] ? m : "the connection was lost");
}

/* Sleep up to s seconds, woken early by a signal (the only place besides the main wait where
 * the signals are unblocked). */
static void nap(serve_state *s, double secs, const sigset_t *waitmask)
{
    double end = serve_mono_s() + secs;
    for (;;) {
        atomic_store(&s->hub.turn_ns, dm_metrics_now_ns()); /* the loop is turning */
        watchdog_ping(s);
        double left = end - serve_mono_s();
        if (left <= 0 || g_stop || g_hup)
            return;
        if (s->watchdog_usec && left > (double)s->watchdog_usec * (1e-6 / 3))
            left = (double)s->watchdog_usec * (1e-6 / 3);
        struct timespec ts;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (ppoll(NULL, 0, &ts, waitmask) < 0)
            return; /* a signal */
    }
}

/* LISTEN, give back this worker's leases (nothing is in hand at connect time). */
static int setup_conn(serve_state *s, PGconn *c, char *err, size_t errlen)
{
    if (dm_db_exec(c, "LISTEN driftmon_batch", 0, NULL, "could not LISTEN", err, errlen) != 0)
        return -1;
    const char *p[1] = {s->o.worker};
    if (dm_db_exec(c, "SELECT driftmon.release_leases($1)", 1, p,
                   "could not release old leases (is the schema initialised? run `driftmon init`)",
                   err, errlen) != 0)
        return -1;
    return dm_db_schema_current(c, err, errlen);
}

/* false when asked to stop before a connection was made. */
static bool ensure_conn(serve_state *s, const sigset_t *waitmask)
{
    while (!s->conn) {
        if (g_stop)
            return false;
        if (g_hup)
            serve_reload(s);
        char err[ERRLEN];
        PGconn *c = dm_db_connect(s->cfg.conninfo, err, sizeof err);
        if (c && setup_conn(s, c, err, sizeof err) == 0) {
            s->conn = c;
            set_db_state(s, true, NULL);
            s->reconnect_prev = 0;
            s->need_sweep = true;
            for (size_t i = 0; i < s->n_mon; i++)
                s->mon[i].next_window_at = 0;
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
        set_db_state(s, false, err);
        nap(s, d, waitmask);
    }
    return true;
}

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

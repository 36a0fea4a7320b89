/*
 * serve_internal.h - what the daemon's files (serve.c, lease.c, outbox.c, windows.c) share:
 * the options, the state, the signal flags and a few helpers, all defined in serve.c.  Not
 * for the rest of the program: the command is serve.h.
 */
#ifndef DRIFTMON_SERVE_INTERNAL_H
#define DRIFTMON_SERVE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "monitor/dbrun.h"
#include "monitor/metrics.h"
#include "monitor/replica.h"

#define ERRLEN 1024
#define BATCH_MAX 1001

typedef struct {
    const char *config_path;
    char worker[256];
    double lease_s, poll_s, retry_base_s, retry_cap_s, reconnect_cap_s;
} serve_opts;

/* What the daemon keeps per monitor (dm_config_monitor(&s->cfg, i)); main thread only. */
typedef struct {
    dm_refcache cache;
    int64_t every_s;       /* schedule.every in seconds; 0: no periodic windows */
    double next_window_at; /* wall clock, seconds since the epoch */
    /* the window a sweep left in work units (windows.c): until its unit run ends, the
     * sweeps only look whether it still lives */
    bool units_pending;
    int64_t units_window; /* that window's start, epoch seconds */
    double perf_next_at;  /* its cohorts' next look (monotonic clock; perfcohort.h) */
} serve_monitor;

typedef struct {
    serve_opts o;
    dm_config cfg;      /* written by the main thread only, under g_cfg_mu */
    serve_monitor *mon; /* one per monitor of cfg, in its order */
    size_t n_mon;
    size_t turn; /* the monitor whose turn it is to claim a batch (lease.c: round robin) */
    PGconn *conn;
    bool need_sweep;
    uint64_t rng;
    double reconnect_prev;
    /* metrics (metrics.h): the hub's heartbeat is kept whether or not metrics.listen is
     * set; the model is read from the database and published only when it is */
    dm_metrics_hub hub;
    dm_metrics_snapshot mm; /* the loop's model; main thread only */
    bool metrics_on, mm_dirty, refresh_failing;
    bool perf_refresh_failing; /* the realised performance's values (metrics.h) */
    /* systemd (sd_notify): READY=1 sent; the watchdog's period (0: off) and last ping */
    bool ready;
    uint64_t watchdog_usec;
    long long watchdog_last_ns;
    /* where checks read their rows (database.read_conninfo): the standby connection, used by
     * the main thread only; its counters (standby_reads, fallbacks[reason]) are atomics any
     * thread may read (monitor/replica.h) */
    dm_replica replica;
    /* the next sweep of the cohorts whose labels are due (monotonic clock; perfcohort.h) */
    double perf_next_at;
} serve_state;

/* The monitor i's configuration. */
const dm_config *serve_monitor_cfg(const serve_state *s, size_t i);

/* Set by the signal handlers: stop once no run is in hand; reload the configuration. */
extern volatile sig_atomic_t g_stop, g_hup;
/* Held while the main thread swaps s->cfg and while another thread reads it. */
extern pthread_mutex_t g_cfg_mu;

/* The wall clock, seconds since the epoch. */
double serve_wall_s(void);
/* The server's reason for r's failure (else the connection's), trimmed, in buf. */
const char *serve_pq_reason(PGconn *conn, PGresult *r, char *buf, size_t len);
/* A condition variable on the monotonic clock, and a deadline s seconds from now on it. */
void serve_cond_init_mono(pthread_cond_t *cv);
void serve_deadline_in(struct timespec *ts, double s);
/* A copy of the conninfo (the caller frees it) and, in *gen, its generation: another
 * generation means the conninfo changed and a connection made with the old one is stale. */
char *serve_conninfo_snapshot(serve_state *s, int *gen);
/* dm_db_exec, its failure logged here (msg=what reason=...). */
bool serve_exec_ok(PGconn *conn, const char *sql, int n, const char *const *p, const char *what);
/* True (and the connection dropped, logged with why) when the connection is gone. */
bool serve_conn_lost(serve_state *s, const char *why);
/* ROLLBACK when a transaction is open or failed. */
void serve_rollback_if_needed(PGconn *c);
/* SIGHUP's reload of the configuration (serve.h). */
void serve_reload(serve_state *s);
/* A turn of the loop, also made before each claim and each window of a sweep: the
 * heartbeat, the watchdog, the metrics' database values read and published (metrics.h).
 * false when the connection was lost (dropped and logged). */
bool serve_turn(serve_state *s);
/* Around each check: serve_check_begin before it; serve_check_end after it with its monitor's
 * index, its result (DM_METRIC_DRIFT, _NO_DRIFT, _FAILED, or -1: not counted) and wall time
 * in seconds. */
void serve_check_begin(serve_state *s);
void serve_check_end(serve_state *s, size_t mi, int result, double seconds);
/* Count one look at a cohort of monitor `monitor` in driftmon_cohort_evaluations_total
 * (result DM_EVAL_COST_ALERT, _NO_ALERT, _FAILED; -1: not counted). */
void serve_count_evaluation(serve_state *s, const char *monitor, int result);
/* The monotonic clock in seconds. */
double serve_mono_s(void);

#endif

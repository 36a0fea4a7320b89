/*
 * metrics.h - the daemon's metrics (issue 19): what `driftmon serve` shows on /metrics in
 * the Prometheus text format (version 0.0.4) and on /healthz, and how the numbers travel
 * from the loop to the HTTP thread.
 *
 * The loop owns a mutable dm_metrics_snapshot (its model) and, after a change, publishes an
 * immutable deep copy (dm_metrics_publish): a pointer swap under the hub's mutex.  The HTTP
 * thread takes a reference to the current copy (dm_metrics_acquire), renders it without any
 * lock and drops the reference (dm_metrics_release; the last one frees it).  The HTTP thread
 * never touches the daemon's connection and the loop never waits for a request.
 *
 * One dm_metrics_monitor per monitor of the daemon's configuration, named as the monitor.
 * Where each value comes from (serve.c, metrics_*):
 *   - driftmon_runs_total{monitor,result}: checks this process made since it started
 *     (result drift: the run's dataset_drift; no_drift; failed: a check that could not be
 *     made -- given up, or failed and to be retried; a run discarded because another worker
 *     took the batch is not counted).  A counter: it starts at 0 with the process, as
 *     Prometheus counters do (rate() handles the reset), and sums across daemons;
 *   - driftmon_check_duration_seconds: the same checks' wall time, a histogram;
 *   - driftmon_last_run_timestamp_seconds, driftmon_drifted_share,
 *     driftmon_column_drift_score: the monitor's newest run in the database (driftmon.run
 *     by finished_at, whichever daemon made it) and its column results; absent until a run
 *     exists;
 *   - driftmon_batches_pending: the monitor's driftmon.batch rows not done;
 *     driftmon_alerts{state}: driftmon.retrain_outbox by state (as the driftmon.alerts view
 *     names them); both absent until first read;
 *   - driftmon_database_up: 1 while the loop holds a working connection;
 *   - driftmon_standby_reads_total, driftmon_standby_fallbacks_total{reason}: with
 *     database.read_conninfo only, the checks this process read on the standby, and those
 *     it read on the primary instead, by reason (monitor/replica.h); counted since it started;
 *   - the realised performance (issue 21, monitor/perfcohort.h):
 *     driftmon_cohort_evaluations_total{monitor,result}: the cohorts this process evaluated
 *     since it started (result cost_alert: recorded with retraining flagged, reason cost;
 *     no_alert: recorded without; failed: the cohort could not be read or evaluated, counted
 *     at each look, as it is looked at again; a cohort another daemon recorded first is not
 *     counted);
 *     driftmon_cost_alerts{monitor,state}: the monitor's alerts in
 *     driftmon.performance_outbox by state, absent until first read;
 *     driftmon_last_evaluation_timestamp_seconds, driftmon_business_cost,
 *     driftmon_reference_business_cost, driftmon_auc, driftmon_reference_auc: the monitor's
 *     newest evaluated cohort (highest run id) in its latest evaluation, whichever daemon made
 *     it; each absent until there is one and while its figure is undefined (NULL).
 * The database values are read by the loop at every turn of its wait and after every check.
 */
#ifndef DRIFTMON_METRICS_H
#define DRIFTMON_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/replica.h"

/* driftmon_runs_total's result label, in this order. */
enum { DM_METRIC_DRIFT = 0, DM_METRIC_NO_DRIFT = 1, DM_METRIC_FAILED = 2, DM_METRIC_RESULTS = 3 };
/* driftmon_alerts' state label, in this order. */
enum { DM_ALERT_PENDING = 0, DM_ALERT_DELIVERED = 1, DM_ALERT_DEAD = 2, DM_ALERT_STATES = 3 };

/* driftmon_cohort_evaluations_total's result label, in this order. */
enum { DM_EVAL_COST_ALERT = 0, DM_EVAL_NO_ALERT = 1, DM_EVAL_FAILED = 2, DM_EVAL_RESULTS = 3 };

/* The newest evaluation's gauges (driftmon_last_evaluation_timestamp_seconds, ...), in this
 * order. */
enum {
    DM_PERF_EVALUATED_AT = 0,
    DM_PERF_BUSINESS_COST = 1,
    DM_PERF_REFERENCE_BUSINESS_COST = 2,
    DM_PERF_AUC = 3,
    DM_PERF_REFERENCE_AUC = 4,
    DM_PERF_GAUGES = 5
};

/* driftmon_check_duration_seconds' upper bounds (le), ascending; +Inf follows. */
enum { DM_METRICS_NBUCKETS = 12 };
extern const double dm_metrics_buckets[DM_METRICS_NBUCKETS];

typedef struct {
    char *name; /* the column's name: data (escaped when rendered) */
    double score;
} dm_metrics_column;

typedef struct {
    char *name;                       /* the monitor's name ("default" for the one monitor) */
    uint64_t runs[DM_METRIC_RESULTS]; /* since the process started */
    bool has_last_run;                /* a run exists in the database */
    int64_t last_run_id;              /* the run the three below are from */
    double last_run_s;                /* its finished_at, seconds since the epoch */
    double drifted_share;             /* its share_of_drifted_columns */
    dm_metrics_column *columns;       /* its column results */
    size_t n_columns;
    int64_t batches_pending; /* -1: not read yet */
    /* the realised performance: evaluations since the process started; the monitor's cost
     * alerts by state (-1: not read yet); its newest evaluation's time (seconds since the
     * epoch) and figures by DM_PERF_* (NaN: undefined), when has_last_eval */
    uint64_t evals[DM_EVAL_RESULTS];
    int64_t cost_alerts[DM_ALERT_STATES];
    bool has_last_eval;
    double perf[DM_PERF_GAUGES];
} dm_metrics_monitor;

typedef struct {
    dm_metrics_monitor *monitors;
    size_t n_monitors;
    int64_t alerts[DM_ALERT_STATES]; /* -1: not read yet */
    /* check durations: counts per bucket, not cumulative; [DM_METRICS_NBUCKETS] is +Inf */
    uint64_t duration_counts[DM_METRICS_NBUCKETS + 1];
    double duration_sum;
    bool database_up;
    char down_reason[256]; /* why it is down, one line; "" when up */
    /* database.read_conninfo is set: the standby's counters below are shown */
    bool standby;
    uint64_t standby_reads, standby_fallbacks[DM_REPLICA_REASONS];
    /* the hub's: the number of holders of a published copy */
    atomic_int refs;
} dm_metrics_snapshot;

/* An empty model with n monitors named names[i] (copied); 0, or -1 out of memory. */
int dm_metrics_model_init(dm_metrics_snapshot *m, const char *const *names, size_t n);
/* Free what a model or snapshot holds (not the struct itself). */
void dm_metrics_model_release(dm_metrics_snapshot *m);
/* Replace monitor mon's columns by a copy of names/scores (n of them); 0 or -1. */
int dm_metrics_set_columns(dm_metrics_monitor *mon, const char *const *names, const double *scores,
                           size_t n);
/* Count one check of `seconds` in the histogram. */
void dm_metrics_observe(dm_metrics_snapshot *m, double seconds);

/*
 * The Prometheus text exposition of s as a malloc'ed NUL-terminated string (its length in
 * *len when len is not NULL); NULL when out of memory.  Every family has HELP and TYPE;
 * label values are UTF-8 (ill-formed bytes become U+FFFD) with \ " and newline escaped
 * (\\ \" \n); values are spelled as the shortest decimal that reads back exactly, NaN,
 * +Inf or -Inf.  The histogram's buckets are cumulative and end with le="+Inf", followed
 * by _sum and _count.  A monitor's gauges are left out while their value is unknown.
 */
char *dm_metrics_render(const dm_metrics_snapshot *s, size_t *len);

/* The hub between the loop and the HTTP thread. */
typedef struct {
    pthread_mutex_t mu;
    dm_metrics_snapshot *cur; /* under mu; NULL before the first publish */
    /* CLOCK_MONOTONIC nanoseconds: the loop's last turn; the start of the check in hand
     * (0: none).  Written by the loop, read by the HTTP thread. */
    atomic_llong turn_ns, check_ns;
    double stale_s; /* /healthz: the loop must have turned within this; set before start */
} dm_metrics_hub;

void dm_metrics_hub_init(dm_metrics_hub *h, double stale_s);
/* Drop the current snapshot and destroy the mutex (no reader may remain). */
void dm_metrics_hub_release(dm_metrics_hub *h);
/* Publish a deep copy of model m; the previous copy is released.  0, or -1 when out of
 * memory (the previous copy stays). */
int dm_metrics_publish(dm_metrics_hub *h, const dm_metrics_snapshot *m);
/* The current snapshot with a reference taken (NULL before the first publish). */
dm_metrics_snapshot *dm_metrics_acquire(dm_metrics_hub *h);
void dm_metrics_release(dm_metrics_snapshot *s);
/* The monotonic clock in nanoseconds. */
long long dm_metrics_now_ns(void);

/*
 * /healthz's verdict at now_ns: 200 with "ok" when the database is up and the loop turned
 * within stale_s (or is in a check), else 503 with a one-line reason ("database not
 * connected: ...", "the loop has not turned for N s", "starting"); reason gets at most len
 * bytes, NUL-terminated.
 */
int dm_metrics_health(dm_metrics_hub *h, long long now_ns, char *reason, size_t len);

/*
 * metrics.listen: "HOST:PORT" with HOST a numeric IPv4 address or a bracketed IPv6 one
 * ("127.0.0.1:9187", "[::1]:9187", "0.0.0.0:9187") and PORT 0-65535 (0: any free port, the
 * daemon logs the one it got).  No name lookup.  0 with the address in *addr (a struct
 * sockaddr_in or sockaddr_in6, addrlen bytes long, at most sizeof *addr), or -1 with the
 * reason in why.
 */
struct sockaddr_storage;
int dm_metrics_parse_listen(const char *text, struct sockaddr_storage *addr, unsigned *addrlen,
                            char *why, size_t whylen);

#endif

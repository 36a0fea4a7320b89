/*
 * perfstore.h - a reference version's realised performance in PostgreSQL (issue 21,
 * sql/014_perf_reference.sql): written once, in the transaction that creates the version
 * (dm_ref_store_perf), read by `driftmon check` for the cost increase.
 */
#ifndef DRIFTMON_PERFSTORE_H
#define DRIFTMON_PERFSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "stats/stats.h"

/* The figures and the settings they were computed under. */
typedef struct {
    const char *label_column, *score_column; /* the configuration's, when written */
    double decision_threshold, cost_fn, cost_fp;
    stats_perf perf;
} dm_refperf;

/* Insert p for reference id (a decimal string) through driftmon.add_reference_performance,
 * inside the caller's transaction.  0, or -1 with err. */
int dm_perfstore_put(PGconn *conn, const char *id, const dm_refperf *p, char *err, size_t errlen);

/* The stored figures of reference id for cfg: 1 with *out set; 0 when none are stored or they
 * were computed under other settings (label, score column, threshold or costs), *why saying
 * which (static); -1 with err. */
int dm_perfstore_get(PGconn *conn, int64_t id, const dm_config *cfg, stats_perf *out,
                     const char **why, char *err, size_t errlen);

#endif

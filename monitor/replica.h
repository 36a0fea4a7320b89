/*
 * replica.h - where a check reads its rows: the primary, or a hot standby named by
 * database.read_conninfo (issue 19).
 *
 * Claims, runs and alerts stay on the primary; only the rows of a batch or window (the COPY
 * and the report's time span) may be read on a streaming replica.  Before each read,
 * dm_replica_route takes the primary's WAL position and waits, polling, until the standby
 * has replayed past it, at most database.replica_max_wait: the standby then sees every
 * transaction the primary had committed when the position was taken.  Otherwise (the wait
 * ran out, the standby cannot be reached, it is not in recovery, a stop was asked) the read
 * goes to the primary with one log line naming the reason, and the fallback is counted.
 * One path: `check` and `serve` both read through dm_run_check_claimed (dbrun.c), which
 * asks here.
 */
#ifndef DRIFTMON_REPLICA_H
#define DRIFTMON_REPLICA_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "monitor/config.h"

/* Why a read went to the primary although database.read_conninfo is set. */
typedef enum {
    DM_REPLICA_TIMEOUT,     /* replay did not pass the primary's position in replica_max_wait */
    DM_REPLICA_UNREACHABLE, /* no connection to the standby, or it broke */
    DM_REPLICA_NOT_STANDBY, /* the server of read_conninfo is not in recovery */
    DM_REPLICA_READ_FAILED, /* the read itself failed on the standby (e.g. a recovery conflict) */
    DM_REPLICA_STOPPING,    /* a stop was asked while waiting */
    DM_REPLICA_NO_POSITION, /* the primary's WAL position could not be taken */
    DM_REPLICA_REASONS
} dm_replica_reason;

/*
 * The standby connection and its counters.  Owned and used by one thread (the one that runs
 * checks); the counters are atomics that another thread (metrics) may read at any time with
 * atomic_load: standby_reads, reads that went to the standby; fallbacks[reason], reads that
 * went to the primary while read_conninfo was set.
 */
typedef struct {
    PGconn *conn;   /* the standby, connected lazily; NULL when not connected */
    char *conninfo; /* the read_conninfo conn was made with (a reload may change it) */
    /* the wait's sleeps: with waitmask (the daemon), a ppoll that lets the stop signals in,
     * and *stop set ends the wait; without, a plain sleep */
    volatile sig_atomic_t *stop;
    const sigset_t *waitmask;
    _Atomic uint64_t standby_reads;
    _Atomic uint64_t fallbacks[DM_REPLICA_REASONS];
} dm_replica;

/* stop and waitmask may be NULL (see above). */
void dm_replica_init(dm_replica *r, volatile sig_atomic_t *stop, const sigset_t *waitmask);
/* Close the standby connection; the counters stay. */
void dm_replica_release(dm_replica *r);

/* "timeout", "unreachable", "not_standby", "read_failed", "stopping", "no_position": the
 * log's reason= and a metrics label. */
const char *dm_replica_reason_name(dm_replica_reason why);
/* The sum of r->fallbacks. */
uint64_t dm_replica_fallbacks(const dm_replica *r);

/*
 * The connection to read on, for the check named `check` (for the log, e.g. `batch "b1"`):
 * primary when cfg->read_conninfo is NULL; else the standby once its replay has passed the
 * primary's WAL position taken now, or primary after one warning naming why.  Call it after
 * the rows to read are known committed on the primary (dbrun.c: after the batch is claimed
 * and just before its COPY).
 */
PGconn *dm_replica_route(dm_replica *r, const dm_config *cfg, PGconn *primary, const char *check);

/* The read on the standby (returned by dm_replica_route) failed with err, not on a value of
 * the rows: one warning, counted as DM_REPLICA_READ_FAILED, the connection dropped when it
 * is broken; the caller reads again on the primary. */
void dm_replica_read_failed(dm_replica *r, const dm_config *cfg, const char *check,
                            const char *err);

#endif

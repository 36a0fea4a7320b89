/*
 * units.h - work units for `driftmon serve` (issue 20: one window over several daemons;
 * sql/018_units.sql).  A check that dm_run_check_claimed cut into units (limits.unit_values)
 * is done by whichever daemons of the monitor claim its units: driftmon.claim_unit (SKIP
 * LOCKED + lease, the lease renewed by the renewer thread while the unit runs), the unit done
 * by dm_run_check_claimed with the unit as its target, its result stored by
 * driftmon.finish_unit; the daemon whose unit was the last one takes the assembly (unit 0)
 * in the same transaction and commits the run.  A unit whose rows, table or reference are
 * not those its units were made for (DM_RUN_STALE), or whose rows are bad input, ends the
 * unit run (driftmon.fail_units: the batch back in the queue with fail_batch's back-off, or
 * given up); any other failure holds the unit back (driftmon.release_unit's back-off), and a
 * unit claimed more than DM_UNIT_MAX_ATTEMPTS times ends its unit run the same way.
 */
#ifndef DRIFTMON_UNITS_H
#define DRIFTMON_UNITS_H

#include <signal.h>

#include "monitor/lease.h"
#include "monitor/outbox.h"
#include "monitor/serve_internal.h"

#define DM_UNIT_MAX_ATTEMPTS 5

/* Claim and do work units until none is left for this daemon's monitors, a claim fails or a
 * stop is asked.  A run assembled that flags retraining wakes dl; SIGINT (intset) is
 * unblocked during each unit.  -1 when the connection is gone. */
int dm_units_sweep(serve_state *s, dm_renewer *rn, dm_deliverer *dl, const sigset_t *intset);

#endif

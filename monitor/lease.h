/*
 * lease.h - batches for `driftmon serve` (serve.h).  A sweep claims them one by one with
 * driftmon.claim_batch (SKIP LOCKED + lease) and checks each with dm_run_check_claimed,
 * whose transaction commits only while the claim is still ours: one committed run per
 * batch, whatever the leases did.  While a batch is being checked, the renewer thread
 * extends its lease every lease/3 from its own connection (driftmon.renew_lease); a lost
 * claim is logged, the commit then refuses.  A check that fails on the rows themselves (a
 * value that cannot be read, no column that can be tested: DM_RUN_BAD_DATA) gives the batch
 * up at once (driftmon.give_up_batch: done and failed, listed by driftmon.failed_checks); any
 * other failure holds it back for a retry (driftmon.fail_batch's back-off).
 */
#ifndef DRIFTMON_LEASE_H
#define DRIFTMON_LEASE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "monitor/outbox.h"
#include "monitor/serve_internal.h"

/* The renewer thread (mu guards batch, unit_run, unit, active and quit): it renews the
 * batch's lease, or with unit_run > 0 that work unit's (driftmon.renew_unit, monitor/units.h). */
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char monitor[DM_MONITOR_NAME_MAX + 1];
    char batch[BATCH_MAX];
    int64_t unit_run;
    int unit;
    bool active, quit;
    serve_state *s;
} dm_renewer;

/* Start the thread, idle until a batch is claimed: 0, or -1 when it could not start. */
int dm_renewer_start(dm_renewer *rn, serve_state *s);
/* Renew work unit `unit` of unit run run_id from now on (run_id 0: nothing any more). */
void dm_renewer_unit(dm_renewer *rn, int64_t run_id, int unit);
/* Ask the thread to end, without waiting; dm_renewer_join waits for it. */
void dm_renewer_stop(dm_renewer *rn);
void dm_renewer_join(dm_renewer *rn);

/* Claim and check batches until none is left, a claim fails or a stop is asked: the monitors
 * take turns (round robin from s->turn), one batch each per turn, and a monitor without a
 * batch it can claim passes; a batch that fails is held back by driftmon.fail_batch's
 * back-off on its own, without holding back the others.  A run that flags retraining wakes
 * dl; SIGINT (intset) is unblocked during each check.  -1 when the connection is gone (lost,
 * or dropped by a reload that changed the conninfo). */
int dm_lease_sweep(serve_state *s, dm_renewer *rn, dm_deliverer *dl, const sigset_t *intset);

#endif

/*
 * outbox.h - retrain alert delivery for `driftmon serve` (serve.h).  The deliverer thread,
 * from its own connection, takes a due alert with driftmon.claim_alert (SKIP LOCKED, the
 * attempt counted and the row held for the hook's timeout + 5 s), runs the hook
 * (monitor/hook.h; its environment an allow-list plus retrain.env, its output's last 4 KB
 * logged with the outcome and kept in the alert's row, last_output, sql/008), then marks
 * the alert delivered, or schedules the retry with decorrelated-jitter backoff, or marks
 * it dead after retrain.max_attempts (logged as an error).  A hook stopped by shutdown gives
 * its attempt back.  Without retrain.hook, alerts stay pending.
 */
#ifndef DRIFTMON_OUTBOX_H
#define DRIFTMON_OUTBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "monitor/serve_internal.h"

/* The deliverer thread (mu guards quit and wake). */
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit, wake;
    serve_state *s;
} dm_deliverer;

/* Start the thread: 0, or -1 when it could not start. */
int dm_deliverer_start(dm_deliverer *d, serve_state *s);
/* Deliver what is due now (after a run that flags retraining). */
void dm_deliverer_wake(dm_deliverer *d);
/* Stop the hook in progress and ask the thread to end, without waiting; dm_deliverer_join
 * waits for it. */
void dm_deliverer_stop(dm_deliverer *d);
void dm_deliverer_join(dm_deliverer *d);

#endif

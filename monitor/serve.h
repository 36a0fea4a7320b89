/*
 * serve.h - `driftmon serve`, the daemon (DESIGN.md section 6), and `driftmon alerts`.
 *
 * Threads and connections (three per daemon):
 *   - main: the loop.  SIGTERM, SIGHUP and SIGINT are blocked except inside the one ppoll
 *     on PQsocket() (and SIGINT also during a check, so a second SIGINT ends the process at
 *     once); handlers only set flags.  On (re)connect: LISTEN driftmon_batch, give back the
 *     leases this worker still holds, sweep.  A sweep claims batches one by one with
 *     driftmon.claim_batch (SKIP LOCKED + lease) and checks each with dm_run_check_claimed,
 *     whose transaction commits only while the claim is still ours: one committed run per
 *     batch, whatever the leases did.  A sweep also runs on every poll timeout and when a
 *     periodic window closes.  Periodic windows (schedule.every: "N second(s)|minute(s)|
 *     hour(s)|day(s)|week(s)", aligned on the Unix epoch in UTC) are checked by one daemon
 *     at a time (session advisory lock), oldest first, from the last window recorded in
 *     driftmon.window_done (else the window holding the table's oldest timestamp) up to
 *     the last closed one: missed windows are caught up.  A window done is a row in
 *     window_done or a run with exactly its bounds (crash between the two).
 *   - renewer: while a batch is being checked, extends its lease every lease/3 from its own
 *     connection (driftmon.renew_lease); a lost claim is logged, the commit then refuses.
 *   - deliverer: delivers the retrain outbox from its own connection: driftmon.claim_alert
 *     (SKIP LOCKED, the attempt counted and the row held for the hook's timeout + 5 s),
 *     runs the hook (monitor/hook.h), marks it delivered, or schedules the retry with
 *     decorrelated-jitter backoff, or marks it dead after retrain.max_attempts (logged as an
 *     error).  Woken by the main thread after a run that flags retraining.
 * SIGHUP: parse the file into a new config, validate, swap (the old one stays on error,
 * with the reason logged); the reference cache is dropped; a changed conninfo reconnects.
 * SIGTERM / first SIGINT: finish the run in hand, stop the hook in progress (its attempt is
 * given back), exit 0.  Lost connection: reconnect with capped, jittered backoff.
 */
#ifndef DRIFTMON_SERVE_H
#define DRIFTMON_SERVE_H

#include <stdint.h>

/* driftmon serve [--config FILE] [--worker NAME] [--lease S] [--poll S] [--retry-base S]
 *                [--retry-cap S] [--reconnect-cap S]
 * argv[0] is "serve".  Returns the exit code: 0 after SIGTERM/SIGINT, 2 for bad usage or a
 * configuration unfit for the daemon, 1 otherwise. */
int dm_cmd_serve(int argc, char **argv);

/* driftmon alerts [--config FILE] [--state pending|delivered|dead]: the retrain outbox, one
 * line per alert (cmd_alerts.c). */
int dm_cmd_alerts(int argc, char **argv);

/* "1 hour", "7 days", "30 minutes", "2 weeks", "90 seconds" -> seconds; -1 otherwise. */
int64_t dm_serve_parse_every(const char *s);

#endif

/*
 * serve.h - `driftmon serve`, the daemon (DESIGN.md section 6), and `driftmon alerts`.
 *
 * Threads and connections (three per daemon):
 *   - main: the loop (serve.c).  SIGTERM, SIGHUP and SIGINT are blocked except inside the
 *     one ppoll on PQsocket() (and SIGINT also during a check, so a second SIGINT ends the
 *     process at once); handlers only set flags.  On (re)connect: LISTEN driftmon_batch,
 *     give back the leases this worker still holds, sweep.  A sweep claims and checks the
 *     waiting batches (lease.h); it also runs on every poll timeout and when a periodic
 *     window closes.  Periodic windows (schedule.every) are checked as windows.h says.
 *   - renewer: extends the lease of the batch being checked (lease.h).
 *   - deliverer: delivers the retrain outbox through the hook (outbox.h).  Woken by the main
 *     thread after a run that flags retraining.
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

/* driftmon alerts [--config FILE] [--state pending|delivered|dead|failed]: the retrain
 * outbox, one line per alert, then the checks that could not be made (failed: those alone);
 * cmd_alerts.c. */
int dm_cmd_alerts(int argc, char **argv);

/* "1 hour", "7 days", "30 minutes", "2 weeks", "90 seconds" -> seconds; -1 otherwise. */
int64_t dm_serve_parse_every(const char *s);

#endif

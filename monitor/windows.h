/*
 * windows.h - periodic windows for `driftmon serve` (serve.h).  With schedule.every ("N
 * second(s)|minute(s)|hour(s)|day(s)|week(s)", aligned on the Unix epoch in UTC), the closed
 * windows are checked by one daemon at a time (session advisory lock), oldest first, from
 * the last window recorded in driftmon.window_done (else the window holding the table's
 * oldest timestamp) up to the last closed one: missed windows are caught up.  A window done
 * is a row in window_done or a run with exactly its bounds (crash between the two).  A window
 * in work units (units.h) stops its monitor's sweep until its unit run ends (the run
 * committed, or ended by driftmon.fail_units); meanwhile each sweep of that monitor only
 * looks whether the unit run still lives, and the units sweep claims its units.
 */
#ifndef DRIFTMON_WINDOWS_H
#define DRIFTMON_WINDOWS_H

#include <signal.h>

#include "monitor/outbox.h"
#include "monitor/serve_internal.h"

/* Check the closed windows not done yet, at most 200 per call so that batches get in
 * between, and set s->next_window_at (0: more are waiting); a run that flags retraining
 * wakes dl; SIGINT (intset) is unblocked during each check.  -1 when the connection was
 * lost. */
int dm_windows_sweep(serve_state *s, dm_deliverer *dl, const sigset_t *intset);

#endif

/*
 * reportdir.h - the reports directory's index.html and history-<reference>.html, rebuilt from
 * the database (driftmon.runs, driftmon.column_history) after each committed run.
 *
 * Both pages are written atomically (temp file, fsync, rename: reports/report.h) and hold
 * nothing but what the database holds, so two rebuilds from the same rows give the same bytes.
 */
#ifndef DRIFTMON_REPORTDIR_H
#define DRIFTMON_REPORTDIR_H

#include <stddef.h>

#include <libpq-fe.h>

/* The history page's file name for a reference: "history-" + the name with every byte
 * outside [A-Za-z0-9._-] replaced by '_' + ".html". */
void dm_reportdir_history_name(const char *reference, char *out, size_t len);

/* Rebuild dir/index.html (every run) and, when reference is not NULL,
 * dir/history-<reference>.html (its last history_runs runs: the page's cost and size stay
 * bounded however long the history grows; it says how many runs it leaves out).
 * 0, or -1 with err naming the query or the file at fault (nothing logged). */
int dm_reportdir_update(PGconn *conn, const char *dir, const char *reference, int history_runs,
                        char *err, size_t errlen);

/* dm_reportdir_update for a run that is already committed: a failure is logged as a warning
 * (the run stands; the next run rebuilds the pages) and returned as -1. */
int dm_reportdir_refresh(PGconn *conn, const char *dir, const char *reference, int history_runs);

#endif

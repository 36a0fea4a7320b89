/*
 * reportdir.h - the reports directory's index.html and history pages, rebuilt from
 * the database (driftmon.runs, driftmon.column_history) after each committed run.
 *
 * Both pages are written atomically (temp file, fsync, rename: monitor/fsutil.h) and hold
 * nothing but what the database holds and which of its reports the directory has, so two
 * rebuilds from the same rows and files give the same bytes.
 */
#ifndef DRIFTMON_REPORTDIR_H
#define DRIFTMON_REPORTDIR_H

#include <stddef.h>

#include <libpq-fe.h>

/* The history page's file name for a reference: "history-" + a readable slug (the name's
 * first DM_REPORTDIR_SLUG_MAX bytes, each byte outside [A-Za-z0-9._-] replaced by '_') + "-"
 * + the first DM_REPORTDIR_HASH_HEX hex digits of the SHA-256 of the exact name + ".html".
 * Distinct names get distinct files (the hash), however alike their slugs, and every name
 * fits in DM_REPORTDIR_NAME_MAX bytes (len), far below NAME_MAX. */
#define DM_REPORTDIR_SLUG_MAX 64
#define DM_REPORTDIR_HASH_HEX 16
#define DM_REPORTDIR_NAME_MAX 96
void dm_reportdir_history_name(const char *reference, char *out, size_t len);

/* Rebuild, in dir (its path followed as given, names in it never through a link: fsutil.h),
 * when reference is not NULL its history page for monitor `monitor` (the runs of that monitor
 * and reference only; "default" in the single-monitor form), its last history_runs runs: the page's
 * cost and size stay bounded however long the history grows; it says how many runs it leaves out),
 * then index.html.  The index lists the runs whose HTML report is a file of dir and links the
 * history pages that are; a run of another reports directory sharing the database is left out, and
 * a history page shows such a run without a link. 0, or -1 with err naming the query or the file at
 * fault (nothing logged). */
int dm_reportdir_update(PGconn *conn, const char *dir, const char *monitor, const char *reference,
                        int history_runs, char *err, size_t errlen);

/* dm_reportdir_update for a run that is already committed: a failure is logged as a warning
 * (the run stands; the next run rebuilds the pages) and returned as -1. */
int dm_reportdir_refresh(PGconn *conn, const char *dir, const char *monitor, const char *reference,
                         int history_runs);

#endif

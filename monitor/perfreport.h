/*
 * perfreport.h - a run's report once its cohort is evaluated (issue 21,
 * sql/017_perf_report.sql): the run's stored HTML and JSON documents with their performance
 * section rendered again with the evaluation's figures (reports/report.h
 * rpt_*_replace_performance: the rest of each document byte for byte the run's), written
 * atomically into the monitor's reports directory as
 * run-<run id>.performance-<evaluation id>.html and .json, and stored with their sha256 in
 * the evaluation's transaction.
 *
 * The evaluation comes first: its documents are written after driftmon.record_performance
 * and before the transaction commits, under a savepoint.  When they cannot be rendered,
 * written or stored (a full disk, a report written without the evaluation configured), the
 * savepoint is rolled back, any file written is removed, a warning is logged and the
 * evaluation commits without documents (its alert and history do not wait on the reports
 * directory); a later sweep writes them (dm_perfreport_retry).
 */
#ifndef DRIFTMON_PERFREPORT_H
#define DRIFTMON_PERFREPORT_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "stats/stats.h"

/* One evaluation, as just recorded. */
typedef struct {
    const char *run_id, *evaluation_id; /* decimal */
    const stats_perf *cur;
    const stats_perf *ref; /* the reference's figures, or NULL (ref_note says why) */
    const char *ref_note;
    double cost_increase; /* NaN: not defined */
    bool retrain_flagged;
} dm_perfreport_in;

/* The files written, to remove when the transaction does not commit. */
typedef struct {
    char html[4200], json[4200];
} dm_perfreport_files;

/* Render, write and store the documents of evaluation in (monitor c) on conn, inside the
 * evaluation's open transaction.  true when they were written and stored (files set); false
 * when not (logged; the transaction is usable unless the connection failed, files empty). */
bool dm_perfreport_write(PGconn *conn, const dm_config *c, const dm_perfreport_in *in,
                         dm_perfreport_files *files);

/* The documents of monitor c's evaluations that have none and are their run's latest (their
 * write failed, say on a full disk), written now, each in a transaction of its own (an
 * advisory lock per evaluation: written once whichever daemon retries), from the row's
 * figures and settings; index.html refreshed after each.  A failure is warned about once
 * per evaluation in this process and tried again after 5 s, doubling to 5 minutes; one
 * that can never be rendered (no stored documents, no performance section) is not tried
 * again by it.  0, or -1 with err (the database: conn
 * back outside a transaction when it is usable). */
int dm_perfreport_retry(PGconn *conn, const dm_config *c, char *err, size_t errlen);

/* Remove the files of a transaction that did not commit (best effort). */
void dm_perfreport_discard(dm_perfreport_files *files);

#endif

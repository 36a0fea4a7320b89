/*
 * dbrun.h - one drift run against PostgreSQL: read a batch (or a time window) of the
 * monitored table, compare it with the stored reference, write the reports, and record
 * everything in one transaction.
 *
 * Order of work (DESIGN.md section 5): reserve the run id; read the rows with binary COPY;
 * compare; write run-<id>.html into reports.dir (temp + rename); then in ONE transaction:
 * the batch row (when the batch was not submitted), one row per column result (chained),
 * run-<id>.json rendered with the chain head after those results and written, the run row
 * with the report paths, documents and sha256s, the config and reference sha256 and the
 * program version (chained last: sql/009_chain.sql), the retrain outbox row when retraining
 * is flagged, and the batch marked done.  A crash before COMMIT leaves no run (report files
 * without a run are harmless: nothing refers to them, and the next run takes a new id).
 *
 * Choices where the design is silent: the batch and timestamp columns are metadata and
 * never compared; columns of a type driftmon cannot compare (date, json, ...) are listed as
 * skipped with their type; a table column absent from the reference is listed as
 * "absent from reference".
 */
#ifndef DRIFTMON_DBRUN_H
#define DRIFTMON_DBRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/db.h"
#include "monitor/refstore.h"
#include "monitor/replica.h"
#include "stats/stats.h"

/* One work unit of a check cut into units (issue 20; sql/018_units.sql, monitor/units.h):
 * what the unit run holds, as the daemon that claimed the unit read it. */
typedef struct {
    int64_t run_id;                 /* the unit run's: the run's id */
    const char *started;            /* the run's started_at */
    uint64_t rows;                  /* the rows every unit must read */
    const char *ref_sha256;         /* the stored reference every unit compares with */
    size_t nunits;                  /* units 0 .. nunits-1 */
    const char *const *const *cols; /* per unit k >= 1: its columns' names, NULL-terminated */
    size_t unit;                    /* the one to do: k >= 1 a column group, 0 the assembly */
    /* the assembly: per unit k >= 1, its saved result (dm_compare_group_save) */
    const unsigned char *const *result;
    const size_t *result_len;
} dm_unit_job;

typedef struct {
    const char *batch; /* a batch id, or NULL for a window */
    const char *since; /* window [since, until) as PostgreSQL timestamptz text */
    const char *until;
    /* where the rows are read (monitor/replica.h): the daemon's standby connection and
     * counters; NULL: a dm_replica of the check's own when database.read_conninfo is set */
    dm_replica *replica;
    /* the daemon's worker name when it may cut the check into work units
     * (limits.unit_values); NULL: the check runs whole, as `driftmon check` does */
    const char *split_by;
    int64_t every_s; /* a periodic window's schedule.every, kept with its units; else 0 */
    /* do this unit of a unit run (split_by names the daemon) instead of planning a check */
    const dm_unit_job *unit;
} dm_run_target;

typedef struct {
    int64_t run_id;
    uint64_t rows;
    stats_verdict verdict;
    char html[4096];
    char json[4096];
    double ref_s, read_s, compare_s, total_s; /* timings, for the logs */
    bool read_on_standby;                     /* the rows were read on database.read_conninfo */
    /* DM_RUN_UNITS: the units made (run_id is the unit run's); a unit k >= 1 done: its
     * result (malloc'ed: the caller frees it) */
    size_t units;
    unsigned char *unit_result;
    size_t unit_len;
} dm_run_result;

/* A reference loaded once and reused by many runs (the daemon keeps one). */
typedef struct {
    dm_dataset ds;
    dm_refinfo info;
    bool loaded;
} dm_refcache;

void dm_refcache_release(dm_refcache *rc);

/* DM_RUN_BAD_DATA: bad input in the rows themselves, which fail the same way however often
 * they are read: a value that cannot be read (a data error of the server, a malformed
 * numeric), a batch id that the batch column's type cannot hold, no column that can be
 * tested.  The daemon gives such a batch up (DM_RUN_INPUT, a setup or configuration
 * problem that an operator may fix, is retried). */
/* DM_RUN_UNITS: the check was cut into work units (t->split_by): no run yet, the units are
 * in driftmon.work_unit.  DM_RUN_STALE: a unit found the rows or the table other than when
 * its units were made (another row count, a column gone, another reference): the unit run
 * must be planned again. */
enum {
    DM_RUN_OK = 0,
    DM_RUN_ENV = -1,
    DM_RUN_INPUT = -2,
    DM_RUN_LOST = -3,
    DM_RUN_BAD_DATA = -4,
    DM_RUN_STALE = -5,
    DM_RUN_UNITS = 1
};

/* Run one check.  DM_RUN_OK, DM_RUN_INPUT or DM_RUN_BAD_DATA (bad input: exit 2, err names
 * the batch or window, and the option, column, row or value at fault) or DM_RUN_ENV
 * (database, files: exit 1) with err set; on error nothing is committed.  cache may be
 * NULL. */
int dm_run_check(PGconn *conn, const dm_config *cfg, const dm_run_target *t, dm_refcache *cache,
                 dm_run_result *out, char *err, size_t errlen);

/* The daemon's form: batch t->batch is claimed by worker (driftmon.claim_batch).  The run's
 * transaction locks the batch row (SELECT ... FOR UPDATE) and commits only while the batch
 * is not done and still claimed by worker; otherwise it rolls back and returns DM_RUN_LOST
 * (another worker took the batch after our lease expired: not an error to retry).  worker
 * NULL is dm_run_check.  Windows ignore worker.
 *
 * Work units (issue 20): with t->split_by and limits.unit_values, a check whose numeric
 * values pass limits.unit_values is planned, not run: its column groups become work units in
 * one transaction (driftmon.make_units; a batch passes from worker to the unit run) and
 * DM_RUN_UNITS is returned.  With t->unit, one unit of such a run is done: a group k >= 1 is
 * read (one COPY), compared and its result returned in out->unit_result; the assembly (unit
 * 0) reads group 0, compares it, loads every other unit's result and commits the run as
 * above (worker: the batch's claim, "units:<run_id>"), the unit run deleted in the run's
 * transaction (driftmon.units_done).  Every unit checks the rows' count and the reference
 * against the unit run's (DM_RUN_STALE). */
int dm_run_check_claimed(PGconn *conn, const dm_config *cfg, const dm_run_target *t,
                         const char *worker, dm_refcache *cache, dm_run_result *out, char *err,
                         size_t errlen);

/* The condition that selects a check's rows, on qkey (the key column, quoted): a batch's,
 * qkey = $1 (the batch id); a window's, qkey >= $1::timestamptz AND qkey < $2::timestamptz.
 * Checks and the cohort of a run (monitor/perfcohort.h) read by it.  malloc'ed; NULL when
 * out of memory. */
char *dm_run_where(const char *qkey, bool batch);

/* Read rows of table (looked up by the caller, dm_db_table_lookup: the catalog is asked
 * once) into a dataset, for `reference load --table` and for checks.  where/params as
 * dm_db_copy_read.  Columns named in skip (NULL-terminated, may be NULL) and excluded ones
 * (columns.exclude) are not read, silently; a column of a type that is not compared
 * (dm_reconcile_left_out) is not read either and goes to out->left_out with the reason.
 * DM_RUN_OK, DM_RUN_INPUT (no column to read), DM_RUN_BAD_DATA (a value that cannot be
 * read: err names it) or DM_RUN_ENV. */
int dm_run_read_table(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                      const char *where, const char *const *params, size_t nparams,
                      const char *const *skip, dm_dataset *out, char *err, size_t errlen);

/* A table read once for several groups of its columns (issue 20, docs/SCALE.md step 3 (b)):
 * one COPY (dm_run_read_table's columns, in its order), the columns of groups k >= 1 spilled
 * as they come (monitor/spill.h: unnamed files in $TMPDIR, else /tmp), group 0's held in
 * memory; each group is then finished on its own, exactly as a read of its columns alone
 * would give them.  group_of[j] (j < the read's columns) is column j's group, < ngroups;
 * expect: the rows to come (0: unknown); spilled_values: the values groups k >= 1 hold, for
 * the free space needed.  *out NULL and DM_RUN_OK when no spill file can be had (no room, or
 * $TMPDIR not writable: a warning says why): the caller reads one COPY per group instead.
 * DM_RUN_* as dm_run_read_table. */
typedef struct dm_table_read dm_table_read;
int dm_run_read_once(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                     const char *where, const char *const *params, size_t nparams,
                     const char *const *skip, uint64_t expect, const size_t *group_of,
                     size_t ngroups, uint64_t spilled_values, dm_table_read **out, char *err,
                     size_t errlen);
/* The read's columns. */
size_t dm_table_read_columns(const dm_table_read *r);
/* Group k's columns cols[0..n) (ascending, all of group k) into out, in that order: values
 * and counts as dm_run_read_table of those columns alone gives them, out->rows the read's;
 * group 0 also takes the kept rows (dm_builder_keep_rows) and the columns left out.  Each
 * group is taken once.  DM_RUN_OK, or DM_RUN_ENV with err (a spill file's error, out of
 * memory). */
int dm_table_read_group(dm_table_read *r, size_t k, const size_t *cols, size_t n, dm_dataset *out,
                        char *err, size_t errlen);
void dm_table_read_free(dm_table_read *r);

#endif

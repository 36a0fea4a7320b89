/*
 * refload.h - `reference load --table` in bounded memory: the table's columns read in groups,
 * each group finished and written to a profile file before the next is read.
 *
 * The groups are sized from limits.memory (dm_config.memory_limit): what is left of it after
 * a fixed part (REFLOAD_FIXED_BYTES: the program, buffers, results) and the finish's scratch
 * (16 B per row for each of the two finishing threads) holds `per` columns of 8 B per row
 * (a raw numeric column in the builder; text columns are counted the same, a bound for
 * the usual few categories).  The row count is an exact count(*) in the snapshot the groups
 * are read in: a planner estimate can be far off (a view, a table never analyzed) and an
 * underestimate would break the bound, while the count costs one scan without projecting a
 * column, less than any group's COPY.
 *
 * Every group is one `COPY (SELECT <its columns> FROM table) TO STDOUT (FORMAT binary)`
 * (dm_run_read_table with the other columns skipped), all in one REPEATABLE READ READ ONLY
 * transaction, so every group sees the same rows (checked: each group's row count is the
 * count's).  A group is finished and reconciled (dm_reconcile_side) as the whole table was,
 * and its columns written in table order to an unnamed temporary file (format 2, in
 * $TMPDIR, else /tmp, its free space checked first) through dm_profile_writer, which
 * computes the identity digest as they go; the file is then mapped (dm_profile_read_fd) and
 * is the reference's dataset, whose columns dm_ref_store stores one at a time as today: the
 * stored rows and the sha256 are byte for byte those of reading the table whole.  One group
 * (everything fits) is the read of today.
 */
#ifndef DRIFTMON_REFLOAD_H
#define DRIFTMON_REFLOAD_H

#include <stddef.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/db.h"

#define REFLOAD_FIXED_BYTES ((uint64_t)64 << 20)

/* Columns per group for `rows` rows under memory_limit: at least 1. */
size_t dm_refload_group_columns(uint64_t memory_limit, uint64_t rows);

/* Read table (looked up by the caller) for `reference load --table` into out, reconciled
 * (dm_reconcile_side).  DM_RUN_OK, or as dm_run_read_table (dbrun.h) with err set; a
 * reconcile failure is DM_RUN_INPUT.  The environment variable DM_TEST_GROUP_COLUMNS (tests
 * only) forces that many columns per group. */
int dm_refload_table(PGconn *conn, const dm_config *cfg, const dm_db_table *table, dm_dataset *out,
                     char *err, size_t errlen);

#endif

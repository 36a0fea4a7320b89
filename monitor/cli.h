/* cli.h - helpers shared by driftmon's subcommands (they print; the caller picks the exit
 * code). */
#ifndef DRIFTMON_CLI_H
#define DRIFTMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "monitor/compare.h"
#include "monitor/config.h"
#include "monitor/csvin.h"
#include "monitor/dataset.h"
#include "monitor/importance.h"
#include "reports/report.h"

/* "driftmon: error: MSG" on stderr, MSG's control characters escaped (dm_fputs_escaped). */
void dm_cli_error(const char *msg);
/* Load path into cfg (defaults when path is NULL); prints and returns -1 on error. */
int dm_cli_load_config(const char *path, dm_config *cfg);
/* Current UTC time as ISO-8601. */
void dm_cli_now_iso(char *buf, size_t len);
/* The options of a CSV read by column groups (csvin.h) under limits.memory less the fixed
 * part of the program and `fixed` more bytes held meanwhile; the tests' knobs
 * (DRIFTMON_TEST_GROUP_COLUMNS, DRIFTMON_TEST_RAW_NUMBERS) applied; no order, no score. */
void dm_cli_group_options(const dm_config *cfg, uint64_t fixed, dm_csv_group_options *go);
/* A whole CSV file (a reference) into *out as dm_csv_read reads it, by the same column
 * groups under limits.memory: the raw values of one group at a time, the others spilled.
 * In one group, every group finished and kept in memory; in several (it does not fit), its
 * profile written group by group to an unnamed file in the spill directory (free space
 * checked first) and *out that profile, mapped (dm_profile_read_fd: its columns' pages given
 * back once read), with the CSV's source, first-text positions and kept rows: the same
 * dataset either way, its sha256 set in the second.  0, or -1 with err set (input error, or
 * the spill directory's, naming it). */
int dm_cli_read_csv(const dm_config *cfg, const char *path, const dm_csv_options *opt,
                    dm_dataset *out, char *err, size_t errlen);
/* Load the reference (CSV, or a saved profile: verified as it is read, mapped, its checked
 * pages kept until compared while it and the current file fit limits.memory less the fixed
 * part, else given back once checked) and the current CSV, read by column groups within
 * limits.memory less the reference's part (csvin.h:
 * dm_csv_read_groups): cur holds every column's counts and text, *groups the loader of the
 * numbers (dm_csv_groups_free it).  Prints and returns -1 on error (input error: exit 2),
 * leaving nothing allocated. */
int dm_cli_load_grouped(const dm_config *cfg, const char *ref_path, const char *cur_path,
                        dm_dataset *ref, dm_dataset *cur, dm_csv_groups **groups,
                        bool *ref_is_profile);
/* Read the importance file model.importance names into imp (left empty when the config
 * names none).  Prints and returns -1 on error (input error: exit 2). */
int dm_cli_load_importance(const dm_config *cfg, dm_importance *imp);
/* Warn (log) when the importances name columns of neither dataset, listing them. */
void dm_cli_warn_unknown_importance(const dm_comparison *cmp, const dm_importance *imp);
/* The short summary printed after a run (column names and reasons escaped). */
void dm_cli_print_summary(FILE *f, const rpt_run *run);

#endif

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
/* Load the reference (CSV, or a saved profile: verified as it is read) and the current CSV.
 * Prints and returns -1 on error (input error: exit 2), leaving nothing allocated. */
int dm_cli_load_pair(const char *ref_path, const char *cur_path, dm_dataset *ref, dm_dataset *cur,
                     bool *ref_is_profile);
/* The same for `compare` with the current CSV read by column groups within limits.memory
 * (csvin.h: dm_csv_read_groups): cur holds every column's counts and text, *groups the
 * loader of the numbers (dm_csv_groups_free it).  Prints and returns -1 on error. */
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

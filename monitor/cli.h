/* cli.h - helpers shared by driftmon's subcommands (they print; the caller picks the exit
 * code). */
#ifndef DRIFTMON_CLI_H
#define DRIFTMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "reports/report.h"

/* "driftmon: error: MSG" on stderr. */
void dm_cli_error(const char *msg);
/* Load path into cfg (defaults when path is NULL); prints and returns -1 on error. */
int dm_cli_load_config(const char *path, dm_config *cfg);
/* Current UTC time as ISO-8601. */
void dm_cli_now_iso(char *buf, size_t len);
/* Load the reference (CSV or saved profile) and the current CSV.  Prints and returns -1 on
 * error (input error: exit 2), leaving nothing allocated.  A saved profile's check may still
 * be running on return (dm_profile_read_background): compare, then call
 * dm_profile_finish_check() on ref before anything is reported. */
int dm_cli_load_pair(const char *ref_path, const char *cur_path, dm_dataset *ref, dm_dataset *cur,
                     bool *ref_is_profile);
/* The short summary printed after a run. */
void dm_cli_print_summary(FILE *f, const rpt_run *run);

#endif

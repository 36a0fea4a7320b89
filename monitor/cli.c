/* cli.c - pieces shared by the subcommands: messages, config, loading a dataset pair. */
#include "monitor/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/csvin.h"
#include "monitor/profile.h"

#define ERRLEN 1024

void dm_cli_error(const char *msg)
{
    fprintf(stderr, "driftmon: error: %s\n", msg);
}

int dm_cli_load_config(const char *path, dm_config *cfg)
{
    char err[ERRLEN];
    if (!path) {
        dm_config_defaults(cfg);
        return 0;
    }
    if (dm_config_load(path, cfg, err, sizeof err) != 0) {
        dm_cli_error(err);
        return -1;
    }
    return 0;
}

void dm_cli_now_iso(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- loading --------------------------------------------------------------------------- */

/* Load the reference (CSV or profile) and the current CSV, in parallel: two CSVs by the CSV
 * reader's pair; a profile's structure at once, its check (a SHA-256 of the whole file, the
 * order and moments of its values) on a thread of its own while this one reads the CSV and
 * then compares (dm_profile_read_background).  0, or -1 after printing; a bad profile is
 * reported before a bad CSV. */
int dm_cli_load_pair(const char *ref_path, const char *cur_path, dm_dataset *ref, dm_dataset *cur,
                     bool *ref_is_profile)
{
    char err[ERRLEN];
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    *ref_is_profile = dm_profile_sniff(ref_path);
    if (!*ref_is_profile) {
        if (dm_csv_read_pair(ref_path, cur_path, &opt, ref, cur, err, sizeof err) != 0) {
            dm_cli_error(err);
            return -1;
        }
        return 0;
    }
    if (dm_profile_read_background(ref_path, ref, err, sizeof err) != 0) {
        dm_cli_error(err);
        return -1;
    }
    opt.one_reader = true; /* the profile's check takes the other core */
    if (dm_csv_read(cur_path, &opt, cur, err, sizeof err) != 0) {
        char perr[ERRLEN];
        dm_cli_error(dm_profile_finish_check(ref, perr, sizeof perr) != 0 ? perr : err);
        dm_dataset_release(ref);
        return -1;
    }
    return 0;
}

/* ---- the summary ----------------------------------------------------------------------- */

void dm_cli_print_summary(FILE *f, const rpt_run *run)
{
    const stats_verdict *v = &run->verdict;
    if (v->number_of_columns == 0) {
        fprintf(f, "no column could be tested\n");
    } else {
        fprintf(f, "%zu of %zu columns drifted (%.0f %%): %s; retraining %s (threshold %.0f %%)\n",
                v->number_of_drifted_columns, v->number_of_columns,
                100.0 * v->share_of_drifted_columns,
                v->dataset_drift ? "dataset drift" : "no dataset drift",
                v->retrain ? "FLAGGED" : "not flagged", 100.0 * run->retrain_fraction);
    }
    for (size_t i = 0; i < run->ncols; i++) {
        const stats_column_result *c = &run->cols[i];
        if (!c->drifted)
            continue;
        fprintf(f, "  drifted  %-40s %-13s %.6g (threshold %g)\n", c->name,
                stats_test_name(c->test), c->score, c->threshold);
    }
    for (size_t i = 0; i < run->nskipped; i++)
        fprintf(f, "  skipped  %-40s %s\n", run->skipped[i].name, run->skipped[i].reason);
}

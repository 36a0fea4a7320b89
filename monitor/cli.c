/* cli.c - pieces shared by the subcommands: messages, config, loading a dataset pair. */
#include "monitor/cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/compare.h"
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

/* Re-read the columns of a CSV side that must be text (categorical on the other side). */
static int reread_text(const char *path, const dm_csv_options *base, dm_dataset *ds,
                       const bool *flags, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->ncols; i++)
        n += flags[i];
    if (n == 0)
        return 0;
    const char **names = calloc(n + 1, sizeof *names);
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < ds->ncols; i++)
        if (flags[i])
            names[k++] = ds->col[i].name;
    dm_csv_options o = *base;
    o.force_text = names;
    o.n_force_text = n;
    dm_dataset again;
    int rc = dm_csv_read(path, &o, &again, err, errlen);
    free(names);
    if (rc != 0)
        return -1;
    dm_dataset_release(ds);
    *ds = again;
    return 0;
}

/*
 * Load the reference (CSV or profile) and the current CSV (two CSVs in parallel), and make sure
 * every categorical column is text on both sides or numbers on both.  0, or -1 after printing.
 */
int dm_cli_load_pair(const char *ref_path, const char *cur_path, const dm_config *cfg,
                     dm_dataset *ref, dm_dataset *cur, bool *ref_is_profile)
{
    char err[ERRLEN];
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    opt.force_numeric = (const char *const *)cfg->numeric;
    opt.n_force_numeric = cfg->n_numeric;
    *ref_is_profile = dm_profile_sniff(ref_path);
    if (*ref_is_profile) {
        /* the profile is mapped and checked (digest, order of the values, moments) before
         * anything is compared; its pages stay mapped for the comparison */
        if (dm_profile_read_keep(ref_path, ref, err, sizeof err) != 0) {
            dm_cli_error(err);
            return -1;
        }
        if (dm_csv_read(cur_path, &opt, cur, err, sizeof err) != 0) {
            dm_cli_error(err);
            dm_dataset_release(ref);
            return -1;
        }
    } else if (dm_csv_read_pair(ref_path, cur_path, &opt, ref, cur, err, sizeof err) != 0) {
        dm_cli_error(err);
        return -1;
    }
    /* categorical columns stored as numbers on one side, text on the other */
    size_t nmax = ref->ncols > cur->ncols ? ref->ncols : cur->ncols;
    bool *flags = calloc(nmax + 1, sizeof *flags);
    if (!flags) {
        dm_cli_error("out of memory");
        goto fail;
    }
    if (dm_compare_text_needed(cfg, ref, cur, true, flags) > 0) {
        if (*ref_is_profile) {
            for (size_t i = 0; i < ref->ncols; i++)
                if (flags[i] && dm_column_numbers_to_text(&ref->col[i]) != 0) {
                    dm_cli_error("out of memory");
                    goto fail;
                }
        } else if (reread_text(ref_path, &opt, ref, flags, err, sizeof err) != 0) {
            dm_cli_error(err);
            goto fail;
        }
    }
    if (dm_compare_text_needed(cfg, ref, cur, false, flags) > 0 &&
        reread_text(cur_path, &opt, cur, flags, err, sizeof err) != 0) {
        dm_cli_error(err);
        goto fail;
    }
    free(flags);
    return 0;
fail:
    free(flags);
    dm_dataset_release(ref);
    dm_dataset_release(cur);
    return -1;
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
        const rpt_column *c = &run->cols[i];
        if (!c->drifted)
            continue;
        fprintf(f, "  drifted  %-40s %-13s %.6g (threshold %g)\n", c->name,
                stats_test_name(c->test), c->score, c->threshold);
    }
    for (size_t i = 0; i < run->nskipped; i++)
        fprintf(f, "  skipped  %-40s %s\n", run->skipped[i].name, run->skipped[i].reason);
}

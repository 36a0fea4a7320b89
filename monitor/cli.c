/* cli.c - pieces shared by the subcommands: messages, config, loading a dataset pair. */
#include "monitor/cli.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/csvin.h"
#include "monitor/log.h"
#include "monitor/outcome.h"
#include "monitor/profile.h"

#define ERRLEN 1024

void dm_cli_error(const char *msg)
{
    fputs("driftmon: error: ", stderr);
    dm_fputs_escaped(msg, stderr);
    fputc('\n', stderr);
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

/* A saved profile read (mapped, hashed, checked) on a thread of its own. */
typedef struct {
    const char *path;
    dm_dataset *ds;
    int rc;
    char err[ERRLEN];
} profile_job;

static void *profile_main(void *arg)
{
    profile_job *j = arg;
    j->rc = dm_profile_read_keep(j->path, j->ds, j->err, sizeof j->err);
    return NULL;
}

/* Load the reference (CSV or profile) and the current CSV, in parallel: two CSVs by the CSV
 * reader's pair, a profile on a thread of its own while this one reads the CSV (its check,
 * a SHA-256 of the whole file, takes as long as the read).  0, or -1 after printing; a bad
 * profile is reported before a bad CSV. */
int dm_cli_load_pair(const dm_config *cfg, const char *ref_path, const char *cur_path,
                     dm_dataset *ref, dm_dataset *cur, bool *ref_is_profile)
{
    char err[ERRLEN];
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    const char *keep[2];
    opt.n_keep_rows = dm_outcome_columns(cfg, keep);
    opt.keep_rows = keep;
    *ref_is_profile = dm_profile_sniff(ref_path);
    if (!*ref_is_profile) {
        if (dm_csv_read_pair(ref_path, cur_path, &opt, ref, cur, err, sizeof err) != 0) {
            dm_cli_error(err);
            return -1;
        }
        return 0;
    }
    profile_job job = {ref_path, ref, -1, ""};
    opt.one_reader = true; /* the profile's check takes the other core */
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, profile_main, &job) == 0;
    if (!threaded)
        profile_main(&job);
    int crc = dm_csv_read(cur_path, &opt, cur, err, sizeof err);
    if (threaded)
        pthread_join(th, NULL);
    if (job.rc == 0 && crc == 0)
        return 0;
    dm_cli_error(job.rc != 0 ? job.err : err);
    if (job.rc == 0)
        dm_dataset_release(ref);
    if (crc == 0)
        dm_dataset_release(cur);
    return -1;
}

/* ---- the model's importances ------------------------------------------------------------- */

int dm_cli_load_importance(const dm_config *cfg, dm_importance *imp)
{
    char err[ERRLEN];
    memset(imp, 0, sizeof *imp);
    if (!cfg->importance_path)
        return 0;
    if (dm_importance_load(cfg->importance_path, imp, err, sizeof err) != 0) {
        dm_cli_error(err);
        return -1;
    }
    return 0;
}

void dm_cli_warn_unknown_importance(const dm_comparison *cmp, const dm_importance *imp)
{
    if (cmp->n_unknown == 0)
        return;
    /* the names, comma-separated, each cut for the line; the count says when some are left out */
    char list[1024] = "";
    size_t used = 0, listed = 0;
    for (size_t i = 0; i < cmp->nuntested; i++) {
        if (strcmp(cmp->untested[i].reason, "in neither dataset") != 0)
            continue;
        char shown[DM_SHOWN_LEN];
        dm_show_value(cmp->untested[i].name, strlen(cmp->untested[i].name), shown, sizeof shown);
        int n = snprintf(list + used, sizeof list - used, "%s%s", listed ? "," : "", shown);
        if (n < 0 || (size_t)n >= sizeof list - used) {
            list[used] = '\0';
            break;
        }
        used += (size_t)n;
        listed++;
    }
    dm_logf(DM_LOG_WARN, "importance file names columns of neither dataset",
            "file=%s count=%zu listed=%zu columns=%s", imp->source, cmp->n_unknown, listed, list);
}

/* ---- the summary ----------------------------------------------------------------------- */

/* The model's line: the importance-weighted share, the score's PSI and band, and the
 * conditions that flagged retraining; nothing without a model. */
static void print_model_summary(FILE *f, const rpt_run *run)
{
    const stats_verdict *v = &run->verdict;
    if (!run->importance_sha256 && !run->score_column)
        return;
    fprintf(f, "model:");
    if (run->importance_sha256) {
        if (isnan(v->importance_weighted_share))
            fprintf(f, " weighted share n/a (%s);",
                    run->weighted_note ? run->weighted_note : "no importances");
        else
            fprintf(f, " drifted columns carry %.1f %% of the importance;",
                    100.0 * v->importance_weighted_share);
    }
    if (run->score_column) {
        if (run->score)
            fprintf(f, " score PSI %.4f (%s), approval %.1f %% -> %.1f %%;", run->score->psi,
                    stats_psi_band_name(run->score->band), 100.0 * run->score->ref_approval,
                    100.0 * run->score->cur_approval);
        else
            fprintf(f, " score PSI n/a (%s);", run->score_note ? run->score_note : "no score");
    }
    fprintf(f, " retraining reasons:");
    if (!v->retrain_reasons)
        fprintf(f, " none");
    for (unsigned i = 0; i < STATS_RETRAIN_NREASONS; i++)
        if (v->retrain_reasons & (1u << i))
            fprintf(f, " %s", stats_retrain_reason_name(i));
    fprintf(f, "\n");
}

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
    print_model_summary(f, run);
    /* names and reasons are data: escaped (a name that cannot be escaped for want of memory
     * is shown as "?", never raw) */
    for (size_t i = 0; i < run->ncols; i++) {
        const stats_column_result *c = &run->cols[i];
        if (!c->drifted)
            continue;
        char *name = dm_escape_dup(c->name);
        fprintf(f, "  drifted  %-40s %-13s %.6g (threshold %g)\n", name ? name : "?",
                stats_test_name(c->test), c->score, c->threshold);
        free(name);
    }
    for (size_t i = 0; i < run->nskipped; i++) {
        char *name = dm_escape_dup(run->skipped[i].name);
        char *reason = dm_escape_dup(run->skipped[i].reason);
        fprintf(f, "  skipped  %-40s %s\n", name ? name : "?", reason ? reason : "?");
        free(name);
        free(reason);
    }
}

/*
 * main.c - the driftmon command line (DESIGN.md section 3).
 *
 * Exit codes: 0 success (whatever the verdict), 1 other failures (out of memory, a report
 * that cannot be written, the database unreachable), 2 bad usage or bad input, 3 with
 * --exit-code when retraining is flagged, 4 when `verify` finds the history not intact.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "monitor/cli.h"
#include "monitor/cmd_db.h"
#include "monitor/cmd_history.h"
#include "monitor/cmd_export.h"
#include "monitor/cmd_verify.h"
#include "monitor/compare.h"
#include "monitor/config.h"
#include "monitor/csvin.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/spill.h"
#include "monitor/profile.h"
#include "monitor/reconcile.h"
#include "monitor/serve.h"
#include "reports/report.h"

#define ERRLEN 1024

/* compare and profile read no table: their settings are the single-monitor form's.  A file
 * with "monitors" holds them per monitor, which neither command chooses between: refused
 * (false, released and printed) rather than run with the defaults. */
static bool single_form(dm_config *cfg, const char *cmd)
{
    if (cfg->n_monitors == 0)
        return true;
    char m[600];
    snprintf(m, sizeof m,
             "%s: %s takes a configuration without \"monitors\" (the drift settings of %s are "
             "per monitor)",
             cfg->path ? cfg->path : "config", cmd, cfg->path ? cfg->path : "the file");
    dm_cli_error(m);
    dm_config_release(cfg);
    return false;
}

static void usage(FILE *f)
{
    fputs("usage: driftmon compare REFERENCE CURRENT [--config FILE] [--html FILE] [--json FILE]\n"
          "                        [--exit-code] [--quiet]\n"
          "       driftmon profile CSV -o FILE [--config FILE]\n"
          "       driftmon init [--config FILE]\n"
          "       driftmon reference load CSV|--table NAME [--name NAME] [--importance FILE]\n"
          "                                [--monitor NAME] [--config FILE]\n"
          "       driftmon check BATCH | --since T --until T [--monitor NAME] [--config FILE]\n"
          "                      [--exit-code]\n"
          "       driftmon history [--column C | --runs] [--since T] [--reference R]\n"
          "                        [--monitor NAME] [--format table|csv|json] [--config FILE]\n"
          "       driftmon report RUN [--html FILE] [--json FILE] [--config FILE]\n"
          "       driftmon serve [--config FILE] [--worker NAME] [--lease S] [--poll S]\n"
          "       driftmon alerts [--config FILE] [--state pending|delivered|dead|failed]\n"
          "                       [--reason drift|cost]\n"
          "       driftmon verify [--since T] [--anchor FILE] [--export-anchor FILE] "
          "[--config FILE]\n"
          "       driftmon export --since T --until T --out DIR [--config FILE]\n"
          "       driftmon version\n"
          "\n"
          "REFERENCE is a CSV file or a profile saved by `driftmon profile`; CURRENT a CSV file.\n"
          "Exit status: 0 done, 1 failure, 2 bad usage or input, 3 retraining flagged "
          "(with --exit-code),\n"
          "4 integrity check failed (verify).\n",
          f);
}

/* ---- compare --------------------------------------------------------------------------- */

/* Store a rendered report (NULL: out of memory) at path, never half-written; frees text.
 * 0, or -1 with the error printed. */
static int write_report(char *text, const char *path)
{
    char err[1024];
    int rc = -1;
    if (!text)
        snprintf(err, sizeof err, "could not render the report for \"%s\": out of memory", path);
    else
        rc = dm_write_file_atomic(path, text, strlen(text), err, sizeof err);
    if (rc != 0)
        dm_cli_error(err);
    free(text);
    return rc;
}

/* The comparison of the current file's column groups in turn (issue 20): the spill
 * directory's errors are the run's input errors (DM_COMPARE_NONE_TESTED's exit code). */
static int compare_groups(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                          dm_dataset *cur, const dm_reconciled *pairs, dm_csv_groups *groups,
                          bool plots, dm_comparison *cmp, char *err, size_t errlen)
{
    dm_group_loader ld;
    dm_csv_groups_loader(groups, &ld);
    if (dm_csv_groups_count(groups) > 1)
        dm_logf(DM_LOG_INFO, "current file compared by column groups (limits.memory)",
                "current=%s groups=%zu per_group=%zu text_bytes=%llu spill_dir=%s", cur->source,
                dm_csv_groups_count(groups), dm_csv_groups_per_group(groups),
                (unsigned long long)dm_csv_groups_text_bytes(groups), dm_spill_dir());
    return dm_compare_groups(cfg, imp, ref, cur, pairs, &ld, plots, cmp, err, errlen);
}

static int cmd_compare(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"html", required_argument, NULL, 'H'},
                                             {"json", required_argument, NULL, 'J'},
                                             {"exit-code", no_argument, NULL, 'x'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config = getenv("DRIFTMON_CONFIG"), *html = NULL, *json = NULL;
    bool exit_code = false, quiet = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:H:J:xqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'H':
            html = optarg;
            break;
        case 'J':
            json = optarg;
            break;
        case 'x':
            exit_code = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        dm_cli_error("compare takes two files: REFERENCE CURRENT");
        usage(stderr);
        return 2;
    }
    const char *ref_path = argv[optind], *cur_path = argv[optind + 1];
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return 2;
    if (!single_form(&cfg, "compare"))
        return 2;
    dm_importance imp;
    memset(&imp, 0, sizeof imp);
    if (dm_cli_load_importance(&cfg, &imp) != 0) {
        dm_config_release(&cfg);
        return 2;
    }
    dm_dataset ref, cur;
    bool ref_is_profile;
    dm_csv_groups *groups = NULL;
    if (dm_cli_load_grouped(&cfg, ref_path, cur_path, &ref, &cur, &groups, &ref_is_profile) != 0) {
        dm_importance_release(&imp);
        dm_config_release(&cfg);
        return 2;
    }
    int status = 0;
    char err[ERRLEN];
    dm_reconciled pairs;
    memset(&pairs, 0, sizeof pairs);
    dm_comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    if (dm_reconcile(&cfg, &ref, &cur, &pairs, err, sizeof err) != 0) {
        dm_cli_error(err);
        status = 2;
        goto out;
    }
    int crc = compare_groups(&cfg, cfg.importance_path ? &imp : NULL, &ref, &cur, &pairs, groups,
                             html != NULL, &cmp, err, sizeof err);
    if (crc != 0) {
        dm_cli_error(err);
        status = crc == DM_COMPARE_NONE_TESTED || crc == DM_COMPARE_BAD_INPUT ? 2 : 1;
        goto out;
    }
    /* a CSV reference read through a temporary profile has the profile's digest, which is
     * the CSV's: only an in-memory one is hashed */
    if (!ref_is_profile && !ref.sha256[0] && (json || html) && dm_profile_digest(&ref) != 0) {
        dm_cli_error("out of memory while hashing the reference profile");
        status = 1;
        goto out;
    }
    dm_cli_warn_unknown_importance(&cmp, &imp);
    char now[32];
    dm_cli_now_iso(now, sizeof now);
    char *settings = dm_config_drift_json(&cfg);
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.version = DRIFTMON_VERSION;
    run.generated_at = now;
    run.settings_json = settings;
    dm_comparison_to_run(&cmp, &cfg, &ref, &cur, &run);
    if (json && write_report(rpt_json_render(&run), json) != 0)
        status = 1;
    if (status == 0 && html && write_report(rpt_html_render(&run), html) != 0)
        status = 1;
    free(settings);
    if (status == 0) {
        if (!quiet) {
            dm_cli_print_summary(stdout, &run);
            if (json)
                printf("json report: %s\n", json);
            if (html)
                printf("html report: %s\n", html);
        }
        if (exit_code && run.verdict.retrain)
            status = 3;
    }
out:
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    dm_csv_groups_free(groups);
    dm_importance_release(&imp);
    dm_config_release(&cfg);
    return status;
}

/* ---- profile --------------------------------------------------------------------------- */

static int cmd_profile(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *out = NULL, *config = getenv("DRIFTMON_CONFIG");
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1 || !out) {
        dm_cli_error("profile takes one CSV file and -o FILE");
        usage(stderr);
        return 2;
    }
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return 2;
    if (!single_form(&cfg, "profile"))
        return 2;
    /* read by column groups within limits.memory, written a group at a time (issue 20) */
    dm_dataset ds;
    char err[ERRLEN];
    int status = 0;
    dm_csv_group_options go;
    dm_cli_group_options(&cfg, 0, &go);
    dm_csv_groups *groups = NULL;
    if (dm_csv_read_groups(argv[optind], NULL, &go, &ds, &groups, err, sizeof err) != 0) {
        dm_cli_error(err);
        dm_config_release(&cfg);
        return 2;
    }
    dm_group_loader ld;
    dm_csv_groups_loader(groups, &ld);
    if (dm_csv_groups_count(groups) > 1)
        dm_logf(DM_LOG_INFO, "profiled by column groups (limits.memory)",
                "source=%s groups=%zu per_group=%zu text_bytes=%llu spill_dir=%s", ds.source,
                dm_csv_groups_count(groups), dm_csv_groups_per_group(groups),
                (unsigned long long)dm_csv_groups_text_bytes(groups), dm_spill_dir());
    if (dm_reconcile_side(&cfg, &ds, err, sizeof err) != 0) {
        dm_cli_error(err);
        status = 2;
    } else if (dm_profile_write_groups(&ds, &ld, out, err, sizeof err) != 0) {
        dm_cli_error(err);
        status = 1;
    } else {
        printf("profiled %llu rows x %zu columns of %s into %s (sha256 %s)\n",
               (unsigned long long)ds.rows, ds.ncols, argv[optind], out, ds.sha256);
    }
    dm_dataset_release(&ds);
    dm_csv_groups_free(groups);
    dm_config_release(&cfg);
    return status;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } COMMANDS[] = {
        {"compare", cmd_compare},        {"profile", cmd_profile},    {"init", dm_cmd_init},
        {"reference", dm_cmd_reference}, {"check", dm_cmd_check},     {"serve", dm_cmd_serve},
        {"alerts", dm_cmd_alerts},       {"history", dm_cmd_history}, {"report", dm_cmd_report},
        {"verify", dm_cmd_verify},       {"export", dm_cmd_export}};
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(cmd, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("driftmon %s\n", DRIFTMON_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "unknown command \"%.200s\"", cmd);
    dm_cli_error(msg);
    usage(stderr);
    return 2;
}

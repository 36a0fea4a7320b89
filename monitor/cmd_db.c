/*
 * cmd_db.c - the subcommands that talk to PostgreSQL: init, reference load, check.
 *
 * The connection comes from the config's database.conninfo, else from the PG* environment
 * (libpq's usual rules).  Exit codes: 2 for bad usage or input (unknown table or column,
 * a batch with no rows, a reference that does not exist), 1 for the environment (database
 * down, login refused, a report that cannot be written).
 */
#include "monitor/cmd_db.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/cli.h"
#include "monitor/csvin.h"
#include "monitor/db.h"
#include "monitor/dbrun.h"
#include "monitor/log.h"
#include "monitor/outcome.h"
#include "monitor/reconcile.h"
#include "monitor/refload.h"
#include "monitor/refstore.h"

#define ERRLEN 1024

static PGconn *connect_or_log(const dm_config *cfg)
{
    char err[ERRLEN];
    PGconn *c = dm_db_connect(cfg->conninfo, err, sizeof err);
    if (!c)
        dm_cli_error(err);
    return c;
}

/* Parse --config (and nothing else) for the commands that take only that. */
static const char *config_arg(int argc, char **argv, int *first_pos)
{
    const char *config = getenv("DRIFTMON_CONFIG");
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
        else
            break;
    }
    *first_pos = i;
    return config;
}

int dm_cmd_init(int argc, char **argv)
{
    int pos;
    const char *config = config_arg(argc, argv, &pos);
    if (pos != argc) {
        dm_cli_error("usage: driftmon init [--config FILE]");
        return 2;
    }
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return 2;
    PGconn *conn = connect_or_log(&cfg);
    int status = 1;
    if (conn) {
        char err[ERRLEN];
        int applied = 0;
        if (dm_db_init(conn, &cfg, &applied, err, sizeof err) != 0)
            dm_cli_error(err);
        else
            status = 0;
        PQfinish(conn);
    }
    dm_config_release(&cfg);
    return status;
}

/* The reference's performance figures to store with it (issue 21): 1 with *rp set, 0 when
 * the evaluation is not configured or the label column is absent (said on stderr when
 * configured), -1 bad input (err), -2 out of memory (err). */
static int reference_perf(const dm_config *cfg, const dm_dataset *ds, dm_refperf *rp, char *err,
                          size_t errlen)
{
    const char *why = NULL;
    int rc = dm_outcome_eval(cfg, ds, &rp->perf, &why, err, errlen);
    if (rc == 0 && dm_outcome_configured(cfg))
        dm_logf(DM_LOG_WARN, "the reference's performance is not stored", "reason=%s", why);
    if (rc != 1)
        return rc;
    rp->label_column = cfg->label_column;
    rp->score_column = cfg->score_column;
    rp->decision_threshold = cfg->decision_threshold;
    rp->cost_fn = cfg->cost_fn;
    rp->cost_fp = cfg->cost_fp;
    return 1;
}

static void print_reference_perf(const dm_refperf *rp)
{
    const stats_perf *p = &rp->perf;
    char *label = dm_escape_dup(rp->label_column);
    printf("performance against \"%s\": %" PRIu64 " rows (%" PRIu64
           " left out), AUC %.6g, business cost %.6g per application at threshold %.6g, "
           "optimal threshold %.6g\n",
           label ? label : "?", p->rows, p->left_out, p->auc, p->business_cost,
           rp->decision_threshold, p->optimal_threshold);
    free(label);
}

int dm_cmd_reference(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "load") != 0) {
        dm_cli_error("usage: driftmon reference load CSV|--table NAME [--name NAME] "
                     "[--importance FILE] [--monitor NAME] [--config FILE]");
        return 2;
    }
    static const struct option longopts[] = {
        {"table", required_argument, NULL, 't'},   {"name", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},  {"importance", required_argument, NULL, 'i'},
        {"monitor", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0}};
    const char *table = NULL, *name = NULL, *config = getenv("DRIFTMON_CONFIG"), *importance = NULL;
    const char *monitor = NULL;
    int ch;
    optind = 1;
    argc--;
    argv++;
    while ((ch = getopt_long(argc, argv, "t:n:c:i:m:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            monitor = optarg;
            break;
        case 't':
            table = optarg;
            break;
        case 'i':
            importance = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        default:
            return 2;
        }
    }
    const char *csv = optind < argc ? argv[optind] : NULL;
    if ((csv == NULL) == (table == NULL) || argc - optind > 1) {
        dm_cli_error("reference load takes one CSV file or --table NAME");
        return 2;
    }
    dm_config root;
    if (dm_cli_load_config(config, &root) != 0)
        return 2;
    /* the monitor whose columns and model settings the reference is profiled with */
    const dm_config *mon = NULL;
    {
        char serr[ERRLEN];
        if (dm_config_select(&root, monitor, &mon, serr, sizeof serr) != 0) {
            dm_cli_error(serr);
            dm_config_release(&root);
            return 2;
        }
    }
    const dm_config cfg = *mon;
    if (!name)
        name = cfg.reference_name;
    if (!name) {
        dm_cli_error("no reference name: give --name or set \"reference.name\" in the config");
        dm_config_release(&root);
        return 2;
    }
    int status = 2;
    char err[ERRLEN];
    dm_dataset ds;
    dm_dataset_init(&ds);
    PGconn *conn = NULL;
    /* the model's importances go with the version: --importance, else model.importance */
    if (!importance)
        importance = cfg.importance_path;
    dm_importance imp;
    memset(&imp, 0, sizeof imp);
    char *imp_text = NULL;
    size_t imp_len = 0;
    if (importance &&
        (dm_importance_read(importance, &imp_text, &imp_len, err, sizeof err) != 0 ||
         dm_importance_parse(imp_text, imp_len, importance, &imp, err, sizeof err) != 0)) {
        dm_cli_error(err);
        goto out;
    }
    if (csv) {
        dm_csv_options copt;
        memset(&copt, 0, sizeof copt);
        const char *keep[2];
        copt.n_keep_rows = dm_outcome_columns(&cfg, keep);
        copt.keep_rows = keep;
        if (dm_cli_read_csv(&cfg, csv, &copt, &ds, err, sizeof err) != 0 ||
            dm_reconcile_side(&cfg, &ds, err, sizeof err) != 0) {
            dm_cli_error(err);
            goto out;
        }
        conn = connect_or_log(&cfg);
        if (!conn) {
            status = 1;
            goto out;
        }
    } else {
        conn = connect_or_log(&cfg);
        if (!conn) {
            status = 1;
            goto out;
        }
        dm_db_table tbl;
        int rc = DM_RUN_INPUT;
        if (dm_db_table_lookup(conn, table, &tbl, err, sizeof err) == 0) {
            rc = dm_refload_table(conn, &cfg, &tbl, &ds, err, sizeof err);
            dm_db_table_release(&tbl);
        }
        if (rc != DM_RUN_OK) {
            dm_cli_error(err);
            status = rc == DM_RUN_ENV ? 1 : 2;
            goto out;
        }
        if (ds.rows == 0) {
            dm_cli_error("the reference table has no rows");
            goto out;
        }
        if (dm_reconcile_side(&cfg, &ds, err, sizeof err) != 0) {
            dm_cli_error(err);
            goto out;
        }
    }
    dm_refperf rp;
    int prc = reference_perf(&cfg, &ds, &rp, err, sizeof err);
    if (prc < 0) {
        dm_cli_error(err);
        status = prc == -2 ? 1 : 2;
        goto out;
    }
    dm_refinfo info;
    if (dm_ref_store_perf(conn, name, &ds, importance ? &imp : NULL, imp_text, imp_len,
                          prc == 1 ? &rp : NULL, &info, err, sizeof err) != 0) {
        dm_cli_error(err);
        status = 1;
        goto out;
    }
    char left[64] = "";
    if (ds.nleft_out > 0)
        snprintf(left, sizeof left, " (%zu more left out, listed below)", ds.nleft_out);
    char *shown_name = dm_escape_dup(info.name), *shown_source = dm_escape_dup(ds.source);
    printf("reference \"%s\" version %d: %llu rows x %zu columns%s from %s (sha256 %s)\n",
           shown_name ? shown_name : "?", info.version, (unsigned long long)info.rows, ds.ncols,
           left, shown_source ? shown_source : "?", info.sha256);
    free(shown_name);
    free(shown_source);
    for (size_t i = 0; i < ds.nleft_out; i++) {
        char shown[DM_SHOWN_LEN];
        const char *n = ds.left_out[i].name;
        dm_show_value(n, strlen(n), shown, sizeof shown);
        printf("left out \"%s\": %s\n", shown, ds.left_out[i].reason);
    }
    if (importance) {
        char *shown = dm_escape_dup(importance);
        printf("importances of %zu columns from %s (sha256 %s)\n", imp.n, shown ? shown : "?",
               imp.sha256);
        free(shown);
    }
    if (prc == 1)
        print_reference_perf(&rp);
    dm_refinfo_release(&info);
    status = 0;
out:
    if (conn)
        PQfinish(conn);
    dm_importance_release(&imp);
    free(imp_text);
    dm_dataset_release(&ds);
    dm_config_release(&root);
    return status;
}

int dm_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {{"since", required_argument, NULL, 's'},
                                             {"until", required_argument, NULL, 'u'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"exit-code", no_argument, NULL, 'x'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"monitor", required_argument, NULL, 'm'},
                                             {NULL, 0, NULL, 0}};
    const char *since = NULL, *until = NULL, *config = getenv("DRIFTMON_CONFIG"), *monitor = NULL;
    bool exit_code = false, quiet = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:u:c:xqm:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            monitor = optarg;
            break;
        case 's':
            since = optarg;
            break;
        case 'u':
            until = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'x':
            exit_code = true;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            return 2;
        }
    }
    const char *batch = optind < argc ? argv[optind] : NULL;
    bool window = since || until;
    if ((batch && window) || (!batch && !(since && until)) || argc - optind > 1) {
        dm_cli_error("usage: driftmon check BATCH | driftmon check --since T --until T "
                     "[--monitor NAME] [--config FILE]");
        return 2;
    }
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return 2;
    const dm_config *mon = NULL;
    char serr[ERRLEN];
    if (dm_config_select(&cfg, monitor, &mon, serr, sizeof serr) != 0) {
        dm_cli_error(serr);
        dm_config_release(&cfg);
        return 2;
    }
    PGconn *conn = connect_or_log(&cfg);
    if (!conn) {
        dm_config_release(&cfg);
        return 1;
    }
    dm_run_target t = {.batch = batch, .since = since, .until = until};
    dm_run_result res;
    char err[ERRLEN];
    int rc = dm_run_check(conn, mon, &t, NULL, &res, err, sizeof err);
    int status = 0;
    if (rc != DM_RUN_OK) {
        dm_cli_error(err);
        status = rc == DM_RUN_ENV ? 1 : 2;
    } else {
        if (!quiet) {
            char *shown = batch ? dm_escape_dup(batch) : NULL;
            printf("run %lld: %llu rows of %s; ", (long long)res.run_id,
                   (unsigned long long)res.rows,
                   !batch  ? "the window"
                   : shown ? shown
                           : "?");
            free(shown);
            const stats_verdict *v = &res.verdict;
            printf("%zu of %zu columns drifted; %s; retraining %s\n", v->number_of_drifted_columns,
                   v->number_of_columns, v->dataset_drift ? "dataset drift" : "no dataset drift",
                   v->retrain ? "FLAGGED" : "not flagged");
            fputs("json report: ", stdout);
            dm_fputs_escaped(res.json, stdout);
            fputs("\nhtml report: ", stdout);
            dm_fputs_escaped(res.html, stdout);
            fputc('\n', stdout);
        }
        dm_logf(DM_LOG_INFO, "run committed",
                "run_id=%lld batch=%s rows=%llu reference_s=%.3f read_s=%.3f "
                "compare_s=%.3f total_s=%.3f monitor=%s",
                (long long)res.run_id, batch ? batch : "-", (unsigned long long)res.rows, res.ref_s,
                res.read_s, res.compare_s, res.total_s, dm_config_monitor_name(mon));
        if (exit_code && res.verdict.retrain)
            status = 3;
    }
    PQfinish(conn);
    dm_config_release(&cfg);
    return status;
}

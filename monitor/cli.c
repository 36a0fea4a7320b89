/* cli.c - pieces shared by the subcommands: messages, config, loading a dataset pair. */
#include "monitor/cli.h"

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/csvin.h"
#include "monitor/log.h"
#include "monitor/outcome.h"
#include "monitor/profile.h"
#include "monitor/spill.h"

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
    bool keep; /* its checked pages kept mapped until compared (dm_profile_read_keep) */
    int rc;
    char err[ERRLEN];
} profile_job;

static void *profile_main(void *arg)
{
    profile_job *j = arg;
    j->rc = j->keep ? dm_profile_read_keep(j->path, j->ds, j->err, sizeof j->err)
                    : dm_profile_read(j->path, j->ds, j->err, sizeof j->err);
    return NULL;
}

/* ---- the current file by column groups (issue 20) ---------------------------------------- */

/* What limits.memory leaves for the current file's values: less the program, its buffers
 * and the results (DM_FIXED_BYTES), and less the reference's resident part (ref_bytes). */
#define DM_FIXED_BYTES ((uint64_t)64 << 20)

/* The memory a finished dataset holds (values, counts, categories), for the budget.  A
 * mapped profile's columns (arena_is_file) are resident only while they are compared, one
 * on each test thread: the biggest column counted for each (values and counts). */
static uint64_t dataset_bytes(const dm_dataset *ds)
{
    /* the rows kept for the model's figures: a value and a line each */
    uint64_t b = (uint64_t)ds->n_ones * 8 + (uint64_t)ds->nkept * ds->rows * 16, mapped = 0;
    for (size_t i = 0; i < ds->ncols; i++) {
        const dm_column *c = &ds->col[i];
        if (ds->arena_is_file && c->value_shared) /* its counts too, when they are not ones */
            mapped = c->n_distinct > mapped ? c->n_distinct : mapped;
        else
            b += (uint64_t)c->n_distinct * (c->count_shared ? 8 : 16);
        for (size_t k = 0; k < c->n_cats; k++)
            b += strlen(c->cat[k]) + 1 + 16 + 8;
    }
    return b + DM_COMPARE_WORKERS * 16 * mapped;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* The test-only DRIFTMON_TEST_GROUP_COLUMNS=N: N raw columns to a group whatever the
 * budget (the group tests force several groups on small files with it). */
static size_t test_per_group(void)
{
    const char *v = getenv("DRIFTMON_TEST_GROUP_COLUMNS");
    char *end = NULL;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    return v && end && *end == '\0' ? (size_t)n : 0;
}

/* The test-only DRIFTMON_TEST_RAW_NUMBERS=1: the current file's numeric columns raw from the
 * start, never (value, count) pairs, so that every one is spilled and the group tests can
 * count the groups from the file's numeric columns alone. */
static bool test_raw_numbers(void)
{
    const char *v = getenv("DRIFTMON_TEST_RAW_NUMBERS");
    return v && strcmp(v, "1") == 0;
}

void dm_cli_group_options(const dm_config *cfg, uint64_t fixed, dm_csv_group_options *go)
{
    memset(go, 0, sizeof *go);
    go->spill_dir = dm_spill_dir();
    go->per_group = test_per_group();
    go->raw_numbers = test_raw_numbers();
    fixed += DM_FIXED_BYTES;
    go->budget = cfg->memory_limit > fixed ? cfg->memory_limit - fixed : 0;
}

/* How a CSV reference's profile is called in messages (it has no name of its own). */
#define TEMP_PROFILE "the reference's temporary profile"

/* ds, read by dm_csv_read_groups in several groups (it does not fit limits.memory), profiled
 * group by group into an unnamed file in the spill directory and read back from it, mapped:
 * the dataset is the CSV's (same columns, digest, messages), its values the file's pages,
 * given back column by column once hashed and once compared or stored.  The file goes with
 * the mapping.  ds is left to the caller; 0, or -1 with err. */
static int read_through_profile(dm_dataset *ds, const dm_group_loader *ld, uint64_t text_bytes,
                                dm_dataset *out, char *err, size_t errlen)
{
    uint64_t nnum = 0;
    for (size_t i = 0; i < ds->ncols; i++)
        nnum += ds->col[i].storage == DM_STORE_NUM;
    /* a value takes 8 bytes in the profile (16 with its count when it repeats) */
    uint64_t need = dm_spill_bytes(nnum * ds->rows) + text_bytes;
    int fd = dm_spill_temp_file(dm_spill_dir(), need, err, errlen);
    if (fd < 0)
        return -1;
    dm_dataset p;
    if (dm_profile_write_groups_fd(ds, ld, fd, TEMP_PROFILE, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    char perr[ERRLEN];
    if (dm_profile_read_fd(fd, TEMP_PROFILE, &p, perr, sizeof perr) != 0) {
        snprintf(err, errlen, "%s: could not read it back: %s", ds->source, perr);
        return -1;
    }
    /* what the profile does not hold, from the CSV: its name, where each column's first
     * text is (for messages) and the rows kept for the model's figures */
    free(p.source);
    p.source = ds->source;
    ds->source = NULL;
    p.table_rows = ds->table_rows;
    for (size_t i = 0; i < p.ncols && i < ds->ncols; i++) {
        p.col[i].first_text = ds->col[i].first_text;
        p.col[i].first_text_line = ds->col[i].first_text_line;
        ds->col[i].first_text = NULL;
    }
    p.kept = ds->kept;
    p.nkept = ds->nkept;
    ds->kept = NULL;
    ds->nkept = 0;
    *out = p;
    return 0;
}

/* The groups of a CSV reference loaded before it went through a profile: they are not loaded
 * again (their values are there); the rest are the reader's. */
typedef struct {
    const dm_group_loader *in;
    size_t loaded; /* groups 0..loaded-1 */
} loaded_groups;

static int loaded_load(void *ctx, size_t k, dm_dataset *ds, char *err, size_t errlen)
{
    loaded_groups *q = ctx;
    return k < q->loaded ? 0 : q->in->load(q->in->ctx, k, ds, err, errlen);
}

static void loaded_release(void *ctx, size_t k, dm_dataset *ds)
{
    loaded_groups *q = ctx;
    q->in->release(q->in->ctx, k, ds);
}

int dm_cli_read_csv(const dm_config *cfg, const char *path, const dm_csv_options *opt,
                    dm_dataset *out, char *err, size_t errlen)
{
    dm_csv_group_options go;
    dm_cli_group_options(cfg, 0, &go);
    dm_csv_groups *g = NULL;
    dm_dataset ds;
    if (dm_csv_read_groups(path, opt, &go, &ds, &g, err, errlen) != 0)
        return -1;
    dm_group_loader ld;
    dm_csv_groups_loader(g, &ld);
    /* the groups finished and kept while what is held, with the plan's room for the next
     * (csvin.h: the finish's 40 B a row and 16 B a row per column), fits the budget */
    int rc = 0;
    size_t k = 0;
    for (; k < ld.ngroups && rc == 0; k++) {
        uint64_t room = 40 * ds.rows + 16 * ds.rows * (uint64_t)ld.ncols[k];
        if (k > 0 && dataset_bytes(&ds) + room > go.budget)
            break;
        rc = ld.load(ld.ctx, k, &ds, err, errlen);
    }
    if (rc == 0 && k < ld.ngroups) {
        dm_logf(DM_LOG_INFO, "reference profiled by column groups (limits.memory)",
                "source=%s groups=%zu kept=%zu per_group=%zu text_bytes=%llu spill_dir=%s",
                ds.source, ld.ngroups, k, dm_csv_groups_per_group(g),
                (unsigned long long)dm_csv_groups_text_bytes(g), dm_spill_dir());
        loaded_groups q = {&ld, k};
        dm_group_loader rest = ld;
        rest.load = loaded_load;
        rest.release = loaded_release;
        rest.ctx = &q;
        dm_dataset p;
        rc = read_through_profile(&ds, &rest, dm_csv_groups_text_bytes(g), &p, err, errlen);
        if (rc == 0) {
            dm_dataset_release(&ds);
            ds = p;
        }
    }
    dm_csv_groups_free(g);
    if (rc != 0) {
        dm_dataset_release(&ds);
        return -1;
    }
    *out = ds;
    return 0;
}

typedef struct {
    const dm_config *cfg;
    const char *path;
    const dm_csv_options *opt;
    dm_dataset *ds;
    int rc;
    char err[ERRLEN];
} csv_job;

static void *csv_main(void *arg)
{
    csv_job *j = arg;
    j->rc = dm_cli_read_csv(j->cfg, j->path, j->opt, j->ds, j->err, sizeof j->err);
    return NULL;
}

int dm_cli_load_grouped(const dm_config *cfg, const char *ref_path, const char *cur_path,
                        dm_dataset *ref, dm_dataset *cur, dm_csv_groups **groups,
                        bool *ref_is_profile)
{
    char err[ERRLEN];
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    const char *keep[2];
    opt.n_keep_rows = dm_outcome_columns(cfg, keep);
    opt.keep_rows = keep;
    uint64_t fixed = 0;
    *ref_is_profile = dm_profile_sniff(ref_path);
    /* the reference on a thread of its own while this one reads the current file: a saved
     * profile (its check, a SHA-256 of the whole file, takes as long as the read; its pages
     * stay resident meanwhile), or a small CSV; a big CSV first, in two halves, its size
     * then known */
    profile_job pjob = {ref_path, ref, true, -1, ""};
    dm_csv_options ref_opt; /* the reference's rows of the outcome columns, as the current's */
    memset(&ref_opt, 0, sizeof ref_opt);
    ref_opt.keep_rows = opt.keep_rows;
    ref_opt.n_keep_rows = opt.n_keep_rows;
    csv_job cjob = {cfg, ref_path, &ref_opt, ref, -1, ""};
    uint64_t big = dm_csv_split_threshold();
    bool small = file_bytes(ref_path) < big && file_bytes(cur_path) < big;
    bool ahead = !*ref_is_profile && !small;
    if (ahead) {
        csv_main(&cjob);
        if (cjob.rc != 0) {
            dm_cli_error(cjob.err);
            return -1;
        }
        fixed += dataset_bytes(ref);
        /* the raw values it was read into are freed, but stay resident in the heap's free
         * lists until given back */
        malloc_trim(0);
    } else if (*ref_is_profile) {
        /* the profile's mapping, its checked pages kept until compared (read once) while it
         * and the current file (its values about its size) fit what limits.memory leaves;
         * else each column's pages are given back once checked and the comparison reads
         * them again: resident, the columns being compared, charged as at most half of it
         * (their size is not known before the profile is read) */
        uint64_t left = cfg->memory_limit > DM_FIXED_BYTES ? cfg->memory_limit - DM_FIXED_BYTES : 0;
        uint64_t pb = file_bytes(ref_path);
        pjob.keep = pb + file_bytes(cur_path) <= left;
        fixed += pjob.keep || pb < left / 2 ? pb : left / 2;
    } else {
        fixed += 3 * file_bytes(ref_path); /* the small CSV's raw values at most */
    }
    dm_csv_group_options go;
    dm_cli_group_options(cfg, fixed, &go);
    go.score_column = cfg->score_column;
    go.order = ahead ? ref : NULL;
    opt.one_reader = *ref_is_profile; /* the profile's check takes the other core */
    pthread_t th;
    bool threaded = false;
    if (!ahead) {
        void *(*fn)(void *) = *ref_is_profile ? profile_main : csv_main;
        void *arg = *ref_is_profile ? (void *)&pjob : (void *)&cjob;
        threaded = pthread_create(&th, NULL, fn, arg) == 0;
        if (!threaded)
            fn(arg);
        /* the reference's column order is known once it is read: with the profile on its
         * thread, the file's order is used (a profile keeps its CSV's order) */
    }
    int crc = dm_csv_read_groups(cur_path, &opt, &go, cur, groups, err, sizeof err);
    if (threaded)
        pthread_join(th, NULL);
    int rrc = ahead ? 0 : *ref_is_profile ? pjob.rc : cjob.rc;
    if (rrc == 0 && crc == 0)
        return 0;
    dm_cli_error(rrc != 0 ? (*ref_is_profile ? pjob.err : cjob.err) : err);
    if (rrc == 0)
        dm_dataset_release(ref);
    if (crc == 0) {
        dm_dataset_release(cur);
        dm_csv_groups_free(*groups);
        *groups = NULL;
    }
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

/* "performance: AUC 0.75 -> 0.72, business cost 0.751 -> 1.09 per application (+44.7 %)" */
static void print_perf_summary(FILE *f, const rpt_run *run)
{
    if (!run->perf_label)
        return;
    const stats_perf *r = run->perf_ref, *c = run->perf_cur;
    fprintf(f, "performance: AUC %.4g -> %.4g, business cost %.4g -> %.4g per application",
            r ? r->auc : NAN, c ? c->auc : NAN, r ? r->business_cost : NAN,
            c ? c->business_cost : NAN);
    if (isfinite(run->verdict.cost_increase))
        fprintf(f, " (%+.1f %%)", 100.0 * run->verdict.cost_increase);
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
    print_perf_summary(f, run);
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

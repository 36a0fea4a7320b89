/*
 * test_unitcodec.c - suite "unitcodec": a group's results as a work unit's bytes
 * (compare.h: dm_compare_group_save / dm_compare_group_load, monitor/unitcodec.c).
 *
 * The expected reports are those of dm_compare_run in one process on the same data: a
 * comparison whose every group was loaded from units saved by another comparison (its own
 * datasets, released before the load) must render the same JSON and HTML, byte for byte,
 * and hold the same numbers, bit for bit.  The loading side is tried two ways: with the
 * current data read again, and with a skeleton of the current data (names and rows only, as
 * a daemon that read none of the window's values has), so that nothing can come from it.
 * Bad units (truncated, bits flipped, another configuration, reference, pairing or version,
 * loaded twice) must be refused with an error naming what, leaving the comparison as it was.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/compare.h"
#include "monitor/config.h"
#include "monitor/csvin.h"
#include "monitor/dataset.h"
#include "monitor/outcome.h"
#include "monitor/reconcile.h"
#include "monitor/sha256.h"
#include "reports/report.h"

/* ---- helpers ------------------------------------------------------------------------- */

static char tmpdir[64];

static void mk_tmp(void)
{
    strcpy(tmpdir, "/tmp/dm-test-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void config(const char *json, dm_config *c)
{
    char err[512];
    cr_assert_eq(dm_config_parse(json, strlen(json), "cfg.json", c, err, sizeof err), 0, "%s", err);
}

/* Read a CSV as `compare` reads it: the outcome columns' rows kept. */
static void read_csv(const char *path, const dm_config *cfg, dm_dataset *out)
{
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    const char *keep[2];
    opt.n_keep_rows = dm_outcome_columns(cfg, keep);
    opt.keep_rows = keep;
    char err[512];
    cr_assert_eq(dm_csv_read(path, &opt, out, err, sizeof err), 0, "%s", err);
}

/* What a daemon that read none of the window's values knows of it: the columns' names, all
 * standing as numbers with values (as dbrun's skeleton), and the rows. */
static void skeleton(const dm_dataset *full, dm_dataset *out)
{
    dm_dataset_init(out);
    out->source = strdup(full->source);
    out->rows = full->rows;
    out->col = calloc(full->ncols + 1, sizeof *out->col);
    cr_assert(out->source && out->col);
    out->ncols = full->ncols;
    for (size_t i = 0; i < full->ncols; i++) {
        out->col[i].name = strdup(full->col[i].name);
        out->col[i].storage = DM_STORE_NUM;
        out->col[i].n = 1;
    }
}

static void render(const dm_comparison *c, const dm_config *cfg, const dm_dataset *ref,
                   const dm_dataset *cur, char **json, char **html)
{
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.version = "test";
    run.generated_at = "2026-12-03T12:00:00Z";
    char *settings = dm_config_drift_json(cfg);
    cr_assert_not_null(settings);
    run.settings_json = settings;
    dm_comparison_to_run(c, cfg, ref, cur, &run);
    *json = rpt_json_render(&run);
    *html = rpt_html_render(&run);
    cr_assert(*json && *html);
    free(settings);
}

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void same_side(const stats_side *a, const stats_side *b, const char *what)
{
    cr_assert(a->rows == b->rows && a->missing == b->missing && a->nonfinite == b->nonfinite, "%s",
              what);
}

static void same_num(const stats_num *a, const stats_num *b, const char *what)
{
    cr_assert_eq(a->n_distinct, b->n_distinct, "%s", what);
    cr_assert_eq(a->n, b->n, "%s", what);
    cr_assert_eq(a->is_int, b->is_int, "%s", what);
    cr_assert_eq(a->has_moments, b->has_moments, "%s", what);
    cr_assert_eq(bits(a->mean), bits(b->mean), "%s mean", what);
    cr_assert_eq(bits(a->std), bits(b->std), "%s std", what);
}

static void same_perf(const stats_perf *a, const stats_perf *b)
{
    cr_assert(a->rows == b->rows && a->left_out == b->left_out && a->tp == b->tp &&
              a->fp == b->fp && a->tn == b->tn && a->fn == b->fn);
    cr_assert_eq(bits(a->auc), bits(b->auc));
    cr_assert_eq(bits(a->recall), bits(b->recall));
    cr_assert_eq(bits(a->precision), bits(b->precision));
    cr_assert_eq(bits(a->business_cost), bits(b->business_cost));
    cr_assert_eq(bits(a->optimal_threshold), bits(b->optimal_threshold));
    cr_assert_eq(bits(a->business_cost_at_optimal), bits(b->business_cost_at_optimal));
}

static void same_opt_str(const char *a, const char *b, const char *what)
{
    cr_assert_eq(a == NULL, b == NULL, "%s", what);
    if (a)
        cr_assert_str_eq(a, b, "%s", what);
}

static void same_score(const stats_score_drift *a, const stats_score_drift *b)
{
    for (size_t k = 0; k < STATS_SCORE_NEDGES; k++)
        cr_assert_eq(bits(a->edges[k]), bits(b->edges[k]), "score edge %zu", k);
    for (size_t k = 0; k < STATS_SCORE_NBINS; k++)
        cr_assert(a->ref_count[k] == b->ref_count[k] && a->cur_count[k] == b->cur_count[k]);
    cr_assert(a->ref_n == b->ref_n && a->cur_n == b->cur_n && a->band == b->band);
    cr_assert_eq(bits(a->psi), bits(b->psi));
    cr_assert_eq(bits(a->ref_approval), bits(b->ref_approval));
    cr_assert_eq(bits(a->cur_approval), bits(b->cur_approval));
}

/* Two finished comparisons hold the same results, every number bit for bit. */
static void same_comparison(const dm_comparison *a, const dm_comparison *b)
{
    cr_assert_eq(a->ncols, b->ncols);
    for (size_t i = 0; i < a->ncols; i++) {
        const stats_column_result *x = &a->cols[i], *y = &b->cols[i];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->kind, y->kind, "%s", x->name);
        cr_assert_eq(x->test, y->test, "%s", x->name);
        cr_assert_eq(bits(x->threshold), bits(y->threshold), "%s", x->name);
        cr_assert_eq(bits(x->score), bits(y->score), "%s", x->name);
        cr_assert_eq(x->drifted, y->drifted, "%s", x->name);
        same_side(&x->ref, &y->ref, x->name);
        same_side(&x->cur, &y->cur, x->name);
        cr_assert_eq(x->unseen_categories, y->unseen_categories, "%s", x->name);
        cr_assert_eq(bits(x->unseen_share), bits(y->unseen_share), "%s", x->name);
        same_opt_str(x->note, y->note, x->name);
        cr_assert_eq(bits(x->importance), bits(y->importance), "%s", x->name);
        cr_assert_eq(x->data == NULL, y->data == NULL, "%s", x->name);
        const stats_column *p = &a->data[i], *q = &b->data[i];
        cr_assert_eq(p->kind, q->kind, "%s", x->name);
        cr_assert_eq(p->is_numeric_data, q->is_numeric_data, "%s", x->name);
        same_num(&p->ref_num, &q->ref_num, x->name);
        same_num(&p->cur_num, &q->cur_num, x->name);
        cr_assert_eq(p->cat_first, q->cat_first, "%s", x->name);
        cr_assert_eq(p->ref_cat.n_categories, q->ref_cat.n_categories, "%s", x->name);
        cr_assert_eq(p->ref_cat.n, q->ref_cat.n, "%s", x->name);
        cr_assert_eq(p->cur_cat.n, q->cur_cat.n, "%s", x->name);
        for (size_t k = 0; k < p->ref_cat.n_categories; k++) {
            cr_assert_eq(p->ref_cat.count[k], q->ref_cat.count[k], "%s", x->name);
            cr_assert_eq(p->cur_cat.count[k], q->cur_cat.count[k], "%s", x->name);
            cr_assert_str_eq(x->cat_labels[k], y->cat_labels[k], "%s", x->name);
        }
        same_opt_str(a->plots[i], b->plots[i], x->name);
    }
    cr_assert_eq(a->nskipped, b->nskipped);
    for (size_t i = 0; i < a->nskipped; i++) {
        cr_assert_str_eq(a->skipped[i].name, b->skipped[i].name);
        cr_assert_str_eq(a->skipped[i].reason, b->skipped[i].reason);
    }
    same_opt_str(a->score_column, b->score_column, "score column");
    same_side(&a->score_ref, &b->score_ref, "score ref");
    same_side(&a->score_cur, &b->score_cur, "score cur");
    cr_assert_eq(a->has_score_drift, b->has_score_drift);
    same_score(&a->score, &b->score);
    same_opt_str(a->score_note, b->score_note, "score note");
    cr_assert_eq(bits(a->decision_threshold), bits(b->decision_threshold));
    cr_assert_eq(a->has_perf, b->has_perf);
    cr_assert_eq(a->perf_ref_ok, b->perf_ref_ok);
    cr_assert_eq(a->perf_cur_ok, b->perf_cur_ok);
    same_perf(&a->perf_ref, &b->perf_ref);
    same_perf(&a->perf_cur, &b->perf_cur);
    same_opt_str(a->perf_ref_note, b->perf_ref_note, "perf ref note");
    same_opt_str(a->perf_cur_note, b->perf_cur_note, "perf cur note");
    const stats_verdict *v = &a->verdict, *w = &b->verdict;
    cr_assert(v->number_of_columns == w->number_of_columns &&
              v->number_of_drifted_columns == w->number_of_drifted_columns &&
              v->dataset_drift == w->dataset_drift && v->retrain == w->retrain &&
              v->retrain_reasons == w->retrain_reasons);
    cr_assert_eq(bits(v->share_of_drifted_columns), bits(w->share_of_drifted_columns));
    cr_assert_eq(bits(v->importance_weighted_share), bits(w->importance_weighted_share));
    cr_assert_eq(bits(v->score_psi), bits(w->score_psi));
    cr_assert_eq(bits(v->cost_increase), bits(w->cost_increase));
}

/* A unit after its bytes were changed: its length field and checksum made right again, so
 * that only the structure is left to catch the change. */
static void reseal(unsigned char *b, size_t len)
{
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)((uint64_t)len >> (8 * i));
    dm_sha256 *h = dm_sha256_alloc();
    cr_assert_not_null(h);
    dm_sha256_update(h, b, len - 32);
    cr_assert_eq(dm_sha256_final_raw(h, b + len - 32), 0);
}

/* ---- the generated data -------------------------------------------------------------- */

static uint64_t rng = 88172645463325252u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unit_interval(void)
{
    return (double)(next() >> 11) / 9007199254740992.0;
}

/* One CSV field, quoted when it must be. */
static void field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/*
 * A reference and a current file of the shapes a check meets: numbers at full precision
 * with missing values, text with an unseen category, -0 / inf / NA, numbers on one side
 * and text on the other, numbers declared categorical, a text column whose configured test
 * needs numbers, a column with no value in current, columns on one side only, the model's
 * score and its label, labels with quotes, HTML and UTF-8.
 */
static void write_side(const char *path, bool cur, size_t rows)
{
    static const char *const ref_names[] = {"num_a",    "cat_t",  "num_int", "special",
                                            "mixed",    "catnum", "t_ks",    "empty_cur",
                                            "only_ref", "score",  "TARGET",  "utf"};
    static const char *const cur_names[] = {"utf",       "num_a", "cat_t",  "num_int",
                                            "special",   "mixed", "catnum", "t_ks",
                                            "empty_cur", "score", "TARGET", "only_cur"};
    const char *const *names = cur ? cur_names : ref_names;
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < 12; i++)
        field(f, names[i], i == 11);
    static const char *const special[] = {"-0",    "0",    "inf", "-inf",     "nan",
                                          "1e308", "-0.0", "NA",  "2.5e-310", "3"};
    static const char *const utf[] = {"caf\xc3\xa9", "<b>&amp;\"x\"</b>", "a,b", "\xe2\x82\xac",
                                      "plain"};
    for (size_t r = 0; r < rows; r++) {
        char v[12][64];
        double u = unit_interval();
        if (r % 7 == 3)
            v[0][0] = '\0';
        else
            snprintf(v[0], 64, "%.17g", (cur ? 0.3 : 0.0) + u * u * 10.0 / 3.0);
        snprintf(v[1], 64, "%c", 'A' + (int)(next() % (cur ? 7 : 6)));
        snprintf(v[2], 64, "%d", (int)(next() % (cur ? 25 : 21)));
        snprintf(v[3], 64, "%s", special[next() % 10]);
        if (cur)
            snprintf(v[4], 64, "%s", next() % 2 ? "p" : "q");
        else
            snprintf(v[4], 64, "%d", (int)(next() % 5));
        snprintf(v[5], 64, "%d", 1 + (int)(next() % (cur ? 5 : 4)));
        snprintf(v[6], 64, "k%d", (int)(next() % 3));
        snprintf(v[7], 64, "%s", cur ? "" : "1.5");
        snprintf(v[8], 64, "%.6f", unit_interval());
        double score = fmin(1.0, unit_interval() * (cur ? 1.2 : 1.0));
        snprintf(v[9], 64, "%.17g", score);
        snprintf(v[10], 64, "%d", unit_interval() < score * 0.6 ? 1 : 0);
        snprintf(v[11], 64, "%s", utf[next() % 5]);
        /* the order of the header's names */
        const char *row[12];
        if (!cur) {
            for (int i = 0; i < 12; i++)
                row[i] = v[i];
        } else {
            const int from[12] = {11, 0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 8};
            for (int i = 0; i < 12; i++)
                row[i] = v[from[i]];
        }
        for (int i = 0; i < 12; i++)
            field(f, row[i], i == 11);
    }
    cr_assert_eq(fclose(f), 0);
}

static const char gen_cfg[] =
    "{\"columns\": {\"categorical\": [\"mixed\", \"catnum\"]},"
    " \"drift\": {\"per_column_stattest\": {\"t_ks\": \"ks\"}},"
    " \"model\": {\"score_column\": \"score\", \"decision_threshold\": 0.5,"
    " \"label_column\": \"TARGET\"}}";

/* ---- the scenario -------------------------------------------------------------------- */

typedef struct {
    unsigned char *buf[8];
    size_t len[8];
    size_t n;
} units;

static void units_free(units *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->buf[i]);
    u->n = 0;
}

/* Cut cur's columns into groups by name lists (NULL-terminated, separated by ""), any name
 * absent from cur ignored; every column of cur must land in one group. */
static size_t groups_of(const dm_dataset *cur, const char *const *spec, size_t cols[8][64],
                        size_t ncols[8])
{
    size_t g = 0;
    memset(ncols, 0, 8 * sizeof *ncols);
    size_t placed = 0;
    for (const char *const *s = spec; *s; s++) {
        if (**s == '\0') {
            g++;
            continue;
        }
        long j = dm_dataset_find(cur, *s);
        if (j >= 0) {
            cols[g][ncols[g]++] = (size_t)j;
            placed++;
        }
    }
    cr_assert_eq(placed, cur->ncols, "every column in a group");
    return g + 1;
}

/* "Daemon" A: its own datasets read from the files, each group compared and saved. */
static void save_units(const char *cfg_json, const char *ref_path, const char *cur_path,
                       const char *const *spec, units *out)
{
    dm_config cfg;
    config(cfg_json, &cfg);
    dm_dataset ref, cur;
    read_csv(ref_path, &cfg, &ref);
    read_csv(cur_path, &cfg, &cur);
    dm_reconciled p;
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    dm_comparison c;
    cr_assert_eq(dm_compare_begin(&cfg, NULL, &ref, &cur, &p, true, &c, err, sizeof err), 0, "%s",
                 err);
    size_t cols[8][64], ncols[8];
    size_t ng = groups_of(&cur, spec, cols, ncols);
    for (size_t g = 0; g < ng; g++) {
        cr_assert_eq(dm_compare_group(&c, cols[g], ncols[g], err, sizeof err), 0, "%s", err);
        cr_assert_eq(dm_compare_group_save(&c, cols[g], ncols[g], &out->buf[g], &out->len[g], err,
                                           sizeof err),
                     0, "%s", err);
    }
    out->n = ng;
    dm_comparison_release(&c);
    dm_reconciled_release(&p);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    dm_config_release(&cfg);
}

/* "Daemon" B's side: its own reference and current (read again, or a skeleton). */
typedef struct {
    dm_config cfg;
    dm_dataset ref, cur;
    dm_reconciled p;
} side_b;

static void side_open(side_b *s, const char *cfg_json, const char *ref_path, const char *cur_path,
                      bool skel)
{
    config(cfg_json, &s->cfg);
    read_csv(ref_path, &s->cfg, &s->ref);
    if (skel) {
        dm_dataset full;
        read_csv(cur_path, &s->cfg, &full);
        skeleton(&full, &s->cur);
        dm_dataset_release(&full);
    } else {
        read_csv(cur_path, &s->cfg, &s->cur);
    }
    char err[512];
    cr_assert_eq(dm_reconcile(&s->cfg, &s->ref, &s->cur, &s->p, err, sizeof err), 0, "%s", err);
}

static void side_close(side_b *s)
{
    dm_reconciled_release(&s->p);
    dm_dataset_release(&s->ref);
    dm_dataset_release(&s->cur);
    dm_config_release(&s->cfg);
}

static void begin_b(side_b *s, dm_comparison *c)
{
    char err[512];
    cr_assert_eq(dm_compare_begin(&s->cfg, NULL, &s->ref, &s->cur, &s->p, true, c, err, sizeof err),
                 0, "%s", err);
}

/* The one-process run's comparison and reports. */
static void one_process(const char *cfg_json, const char *ref_path, const char *cur_path,
                        dm_comparison *c, side_b *s, char **json, char **html)
{
    side_open(s, cfg_json, ref_path, cur_path, false);
    char err[512];
    cr_assert_eq(dm_compare_run(&s->cfg, NULL, &s->ref, &s->cur, &s->p, true, c, err, sizeof err),
                 0, "%s", err);
    render(c, &s->cfg, &s->ref, &s->cur, json, html);
}

/* Load every unit into B (each way) and finish: the reports and numbers of the one run. */
static void assemble_and_compare(const char *cfg_json, const char *ref_path, const char *cur_path,
                                 const units *u)
{
    dm_comparison one;
    side_b so;
    char *json1, *html1;
    one_process(cfg_json, ref_path, cur_path, &one, &so, &json1, &html1);
    for (int skel = 0; skel < 2; skel++) {
        side_b s;
        side_open(&s, cfg_json, ref_path, cur_path, skel);
        dm_comparison c;
        begin_b(&s, &c);
        char err[512];
        for (size_t g = u->n; g-- > 0;) /* in another order than saved */
            cr_assert_eq(dm_compare_group_load(&c, u->buf[g], u->len[g], err, sizeof err), 0,
                         "unit %zu: %s", g, err);
        cr_assert_eq(dm_compare_finish(&c, err, sizeof err), 0, "%s", err);
        char *json, *html;
        render(&c, &s.cfg, &s.ref, &s.cur, &json, &html);
        cr_assert_str_eq(json, json1, "the JSON report (%s current)", skel ? "skeleton" : "read");
        cr_assert_str_eq(html, html1, "the HTML report (%s current)", skel ? "skeleton" : "read");
        same_comparison(&one, &c);
        free(json);
        free(html);
        dm_comparison_release(&c);
        side_close(&s);
    }
    free(json1);
    free(html1);
    dm_comparison_release(&one);
    side_close(&so);
}

static const char *const gen_groups[] = {"TARGET", "cat_t",     "mixed",    "",        "score",
                                         "num_a",  "special",   "",         "num_int", "catnum",
                                         "t_ks",   "empty_cur", "only_cur", "utf",     NULL};

static void gen_files(char *ref_path, char *cur_path, size_t len)
{
    snprintf(ref_path, len, "%s/ref.csv", tmpdir);
    snprintf(cur_path, len, "%s/cur.csv", tmpdir);
    rng = 88172645463325252u;
    write_side(ref_path, false, 400);
    write_side(cur_path, true, 300);
}

/* ---- the tests ----------------------------------------------------------------------- */

Test(unitcodec, generated_data_assembled_from_units_is_the_one_process_run)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    units u = {{0}, {0}, 0};
    save_units(gen_cfg, rp, cp, gen_groups, &u);
    cr_assert_eq(u.n, 3);
    assemble_and_compare(gen_cfg, rp, cp, &u);

    /* the run has what the units must carry: a text column with an unseen category, a
     * column skipped once read, an untested one, the score's drift and both outcomes */
    dm_comparison one;
    side_b s;
    char *json, *html;
    one_process(gen_cfg, rp, cp, &one, &s, &json, &html);
    cr_assert(one.has_score_drift && one.perf_ref_ok && one.perf_cur_ok);
    bool unseen = false, untested = false, empty = false;
    for (size_t i = 0; i < one.ncols; i++)
        unseen |= strcmp(one.cols[i].name, "cat_t") == 0 && one.cols[i].unseen_categories == 1;
    for (size_t i = 0; i < one.nskipped; i++) {
        untested |= strcmp(one.skipped[i].name, "t_ks") == 0;
        empty |= strcmp(one.skipped[i].name, "empty_cur") == 0;
    }
    cr_assert(unseen && untested && empty);
    cr_assert_not_null(strstr(json, "\"mixed\""));
    free(json);
    free(html);
    dm_comparison_release(&one);
    side_close(&s);
    units_free(&u);
    rm_tmp();
}

/* One group of every column, and one group per column: the same run. */
Test(unitcodec, one_unit_and_a_unit_per_column)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    static const char *const all[] = {"TARGET",   "cat_t",   "mixed",  "score", "num_a",
                                      "special",  "num_int", "catnum", "t_ks",  "empty_cur",
                                      "only_cur", "utf",     NULL};
    units u = {{0}, {0}, 0};
    save_units(gen_cfg, rp, cp, all, &u);
    cr_assert_eq(u.n, 1);
    assemble_and_compare(gen_cfg, rp, cp, &u);
    units_free(&u);
    /* eight units of one or two columns (units hold at most 8 here) */
    static const char *const each[] = {
        "TARGET", "", "cat_t", "mixed",     "", "score",    "", "num_a", "special", "", "num_int",
        "catnum", "", "t_ks",  "empty_cur", "", "only_cur", "", "utf",   NULL};
    save_units(gen_cfg, rp, cp, each, &u);
    cr_assert_eq(u.n, 8);
    assemble_and_compare(gen_cfg, rp, cp, &u);
    units_free(&u);
    rm_tmp();
}

/* The Home Credit samples: train rows as the reference, another sample as the current,
 * EXT_SOURCE_2 standing as the score, TARGET the label; four units of about 30 columns. */
Test(unitcodec, homecredit_assembled_from_units_is_the_one_process_run)
{
    const char *shared = getenv("DM_SHARED");
    char rp[1024], cp[1024];
    const char *d = shared && *shared ? shared : "../../shared";
    snprintf(rp, sizeof rp, "%s/data/homecredit-samples/application_train_head5000.csv", d);
    snprintf(cp, sizeof cp, "%s/data/homecredit-samples/application_train_random1000.csv", d);
    if (access(rp, R_OK) != 0 || access(cp, R_OK) != 0)
        cr_skip_test("Home Credit samples not found at %s (set DM_SHARED)", rp);
    static const char cfg_json[] =
        "{\"model\": {\"score_column\": \"EXT_SOURCE_2\", \"decision_threshold\": 0.4,"
        " \"label_column\": \"TARGET\"}}";
    dm_config cfg;
    config(cfg_json, &cfg);
    dm_dataset cur;
    read_csv(cp, &cfg, &cur);
    /* the columns in four groups, in the file's order, the label in the last */
    static char names[200][64];
    static const char *spec[260];
    size_t n = 0, per = (cur.ncols + 3) / 4;
    for (size_t j = 0; j < cur.ncols; j++) {
        if (j > 0 && j % per == 0)
            spec[n++] = "";
        snprintf(names[j], sizeof names[j], "%s", cur.col[j].name);
        spec[n++] = names[j];
    }
    spec[n] = NULL;
    dm_dataset_release(&cur);
    dm_config_release(&cfg);
    units u = {{0}, {0}, 0};
    save_units(cfg_json, rp, cp, spec, &u);
    cr_assert_eq(u.n, 4);
    size_t total = 0;
    for (size_t g = 0; g < u.n; g++)
        total += u.len[g];
    cr_log_info("Home Credit: %zu bytes in 4 units for 122 columns", total);
    assemble_and_compare(cfg_json, rp, cp, &u);
    units_free(&u);
}

/* Doubles keep their bits: NaN with a payload, -0, infinities, a subnormal. */
Test(unitcodec, doubles_keep_their_bits)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    side_b a, b;
    side_open(&a, gen_cfg, rp, cp, false);
    side_open(&b, gen_cfg, rp, cp, true);
    dm_comparison ca, cb;
    begin_b(&a, &ca);
    begin_b(&b, &cb);
    size_t all[16];
    for (size_t j = 0; j < a.cur.ncols; j++)
        all[j] = j;
    char err[512];
    cr_assert_eq(dm_compare_group(&ca, all, a.cur.ncols, err, sizeof err), 0, "%s", err);
    double nan_payload;
    uint64_t pb = 0x7ff8000000dead01u;
    memcpy(&nan_payload, &pb, sizeof pb);
    const double odd[] = {-0.0,        INFINITY, -INFINITY,
                          nan_payload, 4.9e-324, -1.7976931348623157e308};
    size_t tested = 0;
    for (size_t i = 0; i < a.p.npairs; i++) {
        stats_column_result *r = &ca.cols[i];
        if (!r->name)
            continue;
        double s = odd[tested % 6];
        r->score = s;
        r->threshold = odd[(tested + 1) % 6];
        r->drifted = stats_drifted(r->test, r->score, r->threshold);
        r->unseen_share = odd[(tested + 2) % 6];
        ca.data[i].ref_num.mean = odd[(tested + 3) % 6];
        ca.data[i].cur_num.std = odd[(tested + 4) % 6];
        tested++;
    }
    cr_assert_geq(tested, 6);
    ca.score.psi = -0.0;
    ca.score.edges[0] = nan_payload;
    ca.perf_cur.auc = nan_payload;
    ca.perf_cur.optimal_threshold = INFINITY;
    unsigned char *buf;
    size_t len;
    cr_assert_eq(dm_compare_group_save(&ca, all, a.cur.ncols, &buf, &len, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(dm_compare_group_load(&cb, buf, len, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < a.p.npairs; i++) {
        const stats_column_result *x = &ca.cols[i], *y = &cb.cols[i];
        if (!x->name)
            continue;
        cr_assert_eq(bits(x->score), bits(y->score), "%s", x->name);
        cr_assert_eq(bits(x->threshold), bits(y->threshold), "%s", x->name);
        cr_assert_eq(bits(x->unseen_share), bits(y->unseen_share), "%s", x->name);
        cr_assert_eq(bits(ca.data[i].ref_num.mean), bits(cb.data[i].ref_num.mean), "%s", x->name);
        cr_assert_eq(bits(ca.data[i].cur_num.std), bits(cb.data[i].cur_num.std), "%s", x->name);
    }
    cr_assert_eq(bits(cb.score.psi), bits(-0.0));
    cr_assert_eq(bits(cb.score.edges[0]), pb);
    cr_assert_eq(bits(cb.perf_cur.auc), pb);
    cr_assert_eq(bits(cb.perf_cur.optimal_threshold), bits(INFINITY));
    free(buf);
    dm_comparison_release(&ca);
    dm_comparison_release(&cb);
    side_close(&a);
    side_close(&b);
    rm_tmp();
}

static void expect_refused(dm_comparison *c, const unsigned char *buf, size_t len, const char *want)
{
    char err[512] = "";
    cr_assert_eq(dm_compare_group_load(c, buf, len, err, sizeof err), -1, "accepted (%s)", want);
    cr_assert(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
}

/* Truncated, flipped, resealed after a change, another version, twice: refused, naming
 * what, and the comparison left as it was (the units then load and give the one run). */
Test(unitcodec, bad_units_are_refused_and_change_nothing)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    units u = {{0}, {0}, 0};
    save_units(gen_cfg, rp, cp, gen_groups, &u);
    side_b s;
    side_open(&s, gen_cfg, rp, cp, true);
    dm_comparison c;
    begin_b(&s, &c);
    char err[512];
    size_t tries = 0, accepted = 0;
    for (size_t g = 0; g < u.n; g++) {
        size_t len = u.len[g];
        unsigned char *b = malloc(len);
        cr_assert_not_null(b);
        /* every truncation */
        for (size_t cut = 0; cut < len; cut++, tries++)
            cr_assert_eq(dm_compare_group_load(&c, u.buf[g], cut, err, sizeof err), -1,
                         "a unit cut at %zu of %zu bytes", cut, len);
        expect_refused(&c, u.buf[g], len - 1, "truncated");
        expect_refused(&c, u.buf[g], 3, "not a work unit");
        /* every 7th bit flipped, alone */
        for (size_t bit = 0; bit < len * 8; bit += 7, tries++) {
            memcpy(b, u.buf[g], len);
            b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            cr_assert_eq(dm_compare_group_load(&c, b, len, err, sizeof err), -1,
                         "bit %zu of %zu flipped", bit, len * 8);
        }
        memcpy(b, u.buf[g], len);
        b[len / 2] ^= 4;
        expect_refused(&c, b, len, "checksum");
        /* cut inside the body, resealed: the structure alone catches it */
        for (size_t cut = 16 + 96; cut < len - 32; cut++, tries++) {
            memcpy(b, u.buf[g], cut);
            reseal(b, cut + 32);
            cr_assert_eq(dm_compare_group_load(&c, b, cut + 32, err, sizeof err), -1,
                         "body cut at %zu, resealed", cut);
            cr_assert(strstr(err, "malformed") || strstr(err, "does not match"), "%s", err);
        }
        /* random bytes changed, resealed: refused, or taken (a number or a plot's text
         * changed) into a comparison begun again; never a crash */
        for (int k = 0; k < 400; k++, tries++) {
            memcpy(b, u.buf[g], len);
            for (int m = 0; m < 1 + k % 3; m++)
                b[112 + next() % (len - 144)] = (unsigned char)next();
            reseal(b, len);
            if (dm_compare_group_load(&c, b, len, err, sizeof err) == 0) {
                accepted++;
                dm_comparison_release(&c);
                begin_b(&s, &c);
            } else {
                cr_assert(err[0] != '\0');
            }
        }
        /* another format version */
        memcpy(b, u.buf[g], len);
        b[4] = 2;
        reseal(b, len);
        expect_refused(&c, b, len, "format version 2");
        free(b);
    }
    cr_log_info("%zu bad units refused, %zu resealed changes taken", tries, accepted);
    /* a unit loaded twice */
    cr_assert_eq(dm_compare_group_load(&c, u.buf[0], u.len[0], err, sizeof err), 0, "%s", err);
    expect_refused(&c, u.buf[0], u.len[0], "already compared");
    for (size_t g = 1; g < u.n; g++)
        cr_assert_eq(dm_compare_group_load(&c, u.buf[g], u.len[g], err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_finish(&c, err, sizeof err), 0, "%s", err);
    /* c after all the refusals: the one run's reports */
    dm_comparison one;
    side_b so;
    char *json1, *html1, *json, *html;
    one_process(gen_cfg, rp, cp, &one, &so, &json1, &html1);
    render(&c, &s.cfg, &s.ref, &s.cur, &json, &html);
    cr_assert_str_eq(json, json1);
    cr_assert_str_eq(html, html1);
    same_comparison(&one, &c);
    free(json);
    free(html);
    free(json1);
    free(html1);
    dm_comparison_release(&one);
    dm_comparison_release(&c);
    side_close(&so);
    side_close(&s);
    units_free(&u);
    rm_tmp();
}

/* A field broken on purpose and resealed, where the structure can tell: refused. */
Test(unitcodec, inconsistent_fields_are_refused)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    side_b a, b;
    side_open(&a, gen_cfg, rp, cp, false);
    side_open(&b, gen_cfg, rp, cp, true);
    dm_comparison ca, cb;
    begin_b(&a, &ca);
    begin_b(&b, &cb);
    size_t all[16];
    for (size_t j = 0; j < a.cur.ncols; j++)
        all[j] = j;
    char err[512];
    cr_assert_eq(dm_compare_group(&ca, all, a.cur.ncols, err, sizeof err), 0, "%s", err);
    long ct = -1;
    for (size_t i = 0; i < a.p.npairs; i++)
        if (strcmp(a.p.pair[i].name, "cat_t") == 0)
            ct = (long)i;
    cr_assert_geq(ct, 0);
    unsigned char *buf;
    size_t len;
    /* a drifted flag that its score and threshold deny */
    ca.cols[ct].drifted = !ca.cols[ct].drifted;
    cr_assert_eq(dm_compare_group_save(&ca, all, a.cur.ncols, &buf, &len, err, sizeof err), 0);
    expect_refused(&cb, buf, len, "verdict");
    free(buf);
    ca.cols[ct].drifted = !ca.cols[ct].drifted;
    /* categories whose counts do not add up to the column's */
    ca.aligned[ct][0]++;
    cr_assert_eq(dm_compare_group_save(&ca, all, a.cur.ncols, &buf, &len, err, sizeof err), 0);
    expect_refused(&cb, buf, len, "counts");
    free(buf);
    ca.aligned[ct][0]--;
    /* the unit is fine again */
    cr_assert_eq(dm_compare_group_save(&ca, all, a.cur.ncols, &buf, &len, err, sizeof err), 0);
    cr_assert_eq(dm_compare_group_load(&cb, buf, len, err, sizeof err), 0, "%s", err);
    free(buf);
    dm_comparison_release(&ca);
    dm_comparison_release(&cb);
    side_close(&a);
    side_close(&b);
    rm_tmp();
}

/* A unit made under another configuration, reference or pairing is refused, naming which;
 * a unit of columns not compared yet is not saved. */
Test(unitcodec, units_of_another_run_are_refused)
{
    mk_tmp();
    char rp[128], cp[128];
    gen_files(rp, cp, sizeof rp);
    units u = {{0}, {0}, 0};
    save_units(gen_cfg, rp, cp, gen_groups, &u);
    side_b s;
    char err[512];
    dm_comparison c;

    /* another threshold */
    side_open(&s,
              "{\"columns\": {\"categorical\": [\"mixed\", \"catnum\"]},"
              " \"drift\": {\"per_column_stattest\": {\"t_ks\": \"ks\"},"
              " \"stattest_threshold\": 0.2},"
              " \"model\": {\"score_column\": \"score\", \"decision_threshold\": 0.5,"
              " \"label_column\": \"TARGET\"}}",
              rp, cp, true);
    begin_b(&s, &c);
    expect_refused(&c, u.buf[0], u.len[0], "another configuration");
    dm_comparison_release(&c);
    side_close(&s);

    /* plots not drawn there */
    side_open(&s, gen_cfg, rp, cp, true);
    cr_assert_eq(dm_compare_begin(&s.cfg, NULL, &s.ref, &s.cur, &s.p, false, &c, err, sizeof err),
                 0);
    expect_refused(&c, u.buf[1], u.len[1], "another configuration");
    dm_comparison_release(&c);
    side_close(&s);

    /* another reference: one row fewer */
    char rp2[160];
    snprintf(rp2, sizeof rp2, "%s/ref2.csv", tmpdir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "head -n 400 '%s' > '%s'", rp, rp2);
    cr_assert_eq(system(cmd), 0);
    side_open(&s, gen_cfg, rp2, cp, true);
    begin_b(&s, &c);
    expect_refused(&c, u.buf[0], u.len[0], "another reference");
    dm_comparison_release(&c);
    side_close(&s);

    /* another window: one row fewer in the current */
    char cp2[160];
    snprintf(cp2, sizeof cp2, "%s/cur2.csv", tmpdir);
    snprintf(cmd, sizeof cmd, "head -n 300 '%s' > '%s'", cp, cp2);
    cr_assert_eq(system(cmd), 0);
    side_open(&s, gen_cfg, rp, cp2, true);
    begin_b(&s, &c);
    expect_refused(&c, u.buf[2], u.len[2], "another pairing");

    /* a group not compared yet is not saved; a finished comparison has no units */
    size_t col = 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    cr_assert_eq(dm_compare_group_save(&c, &col, 1, &buf, &len, err, sizeof err), -1);
    cr_assert(strstr(err, "was not compared"), "%s", err);
    cr_assert_null(buf);
    dm_comparison_release(&c);
    side_close(&s);
    units_free(&u);
    rm_tmp();
}

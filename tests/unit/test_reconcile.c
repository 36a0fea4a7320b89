/*
 * test_reconcile.c - suite "reconcile": the type rules (monitor/reconcile.c) and what the
 * comparison makes of each kind of pair.
 *
 * Expected values follow from the rules in reconcile.h and from closed forms: the
 * Jensen-Shannon distance (natural log, as scipy.spatial.distance.jensenshannon) of two
 * small count vectors is written out term by term next to each case; two distributions
 * with no category in common are at sqrt(ln 2).
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
#include "monitor/reconcile.h"

/* ---- helpers ------------------------------------------------------------------------- */

static void config(const char *json, dm_config *c)
{
    char err[512];
    cr_assert_eq(dm_config_parse(json, strlen(json), "cfg.json", c, err, sizeof err), 0, "%s", err);
}

/*
 * A dataset of ncols columns from rows of fields (rows[r][i], NULL for SQL NULL), fed to the
 * builder b row by row as lines (or rows) first, first + 1, ...
 */
static void build_from(dm_builder *b, uint64_t first, const char *source, size_t ncols,
                       size_t nrows, const char *const *rows, dm_dataset *out)
{
    cr_assert_not_null(b);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t i = 0; i < ncols; i++) {
            const char *f = rows[r * ncols + i];
            if (f)
                cr_assert_eq(dm_builder_field(b, i, f, strlen(f), first + r), 0);
            else
                dm_builder_null(b, i);
        }
        dm_builder_end_row(b);
    }
    cr_assert_eq(dm_builder_finish(b, source, out), 0);
    dm_builder_free(b);
}

/* The same, numbered as a CSV's lines: the first data line is line 2. */
static void build_with(dm_builder *b, const char *source, size_t ncols, size_t nrows,
                       const char *const *rows, dm_dataset *out)
{
    build_from(b, 2, source, ncols, nrows, rows, out);
}

/* As a CSV reader builds it: a column with any text holds every value as text. */
static void csv_dataset(const char *source, size_t ncols, const char *const *names, size_t nrows,
                        const char *const *rows, dm_dataset *out)
{
    bool *text = calloc(ncols, sizeof *text);
    cr_assert_not_null(text);
    dm_builder *b = dm_builder_alloc(ncols, names, NULL);
    build_with(b, source, ncols, nrows, rows, out);
    bool again = false;
    for (size_t i = 0; i < ncols; i++)
        if (out->col[i].storage == DM_STORE_STR) /* csvin's second pass */
            again = text[i] = true;
    if (again) {
        dm_dataset_release(out);
        build_with(dm_builder_alloc(ncols, names, text), source, ncols, nrows, rows, out);
    }
    free(text);
}

static const dm_pair *pair(const dm_reconciled *r, const char *name)
{
    for (size_t i = 0; i < r->npairs; i++)
        if (strcmp(r->pair[i].name, name) == 0)
            return &r->pair[i];
    cr_assert_fail("no pair %s", name);
    return NULL;
}

static const stats_column_result *tested(const dm_comparison *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i].name, name) == 0)
            return &c->cols[i];
    cr_assert_fail("column %s not tested", name);
    return NULL;
}

/* Reconcile and compare ref with cur under the config text. */
static void run(const char *cfg_json, const dm_dataset *ref, const dm_dataset *cur,
                dm_reconciled *pairs, dm_comparison *cmp)
{
    dm_config cfg;
    config(cfg_json, &cfg);
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, ref, cur, pairs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_run(&cfg, NULL, ref, cur, pairs, true, cmp, err, sizeof err), 0, "%s",
                 err);
    dm_config_release(&cfg);
}

static void assert_close(double got, double want)
{
    cr_assert(fabs(got - want) <= 1e-14 * fabs(want), "%.17g, expected %.17g", got, want);
}

/* ---- the catalog ----------------------------------------------------------------------- */

Test(reconcile, catalog_kinds)
{
    static const char *const text[] = {"text", "varchar", "bpchar", "char", "name"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        cr_assert_eq(dm_reconcile_catalog_kind(text[i], "b", true), DM_DB_TEXT, "%s", text[i]);
    static const char *const num[] = {"int2",   "int4",    "int8", "float4",
                                      "float8", "numeric", "money"};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        cr_assert_eq(dm_reconcile_catalog_kind(num[i], "b", true), DM_DB_NUMERIC, "%s", num[i]);
    cr_assert_eq(dm_reconcile_catalog_kind("bool", "b", true), DM_DB_CATEGORICAL);
    cr_assert_eq(dm_reconcile_catalog_kind("mood", "e", false), DM_DB_CATEGORICAL);
    cr_assert_eq(dm_reconcile_catalog_kind("citext", "b", false), DM_DB_TEXT);
    cr_assert_eq(dm_reconcile_catalog_kind("date", "b", true), DM_DB_UNSUPPORTED);
    cr_assert_eq(dm_reconcile_catalog_kind("jsonb", "b", true), DM_DB_UNSUPPORTED);
    cr_assert_eq(dm_reconcile_catalog_kind("hstore", "b", false), DM_DB_UNSUPPORTED);
}

/* ---- a table's text column reads as its CSV export --------------------------------------- */

static void assert_same_column(const dm_column *a, const dm_column *b)
{
    cr_assert_str_eq(a->name, b->name);
    cr_assert_eq(a->storage, b->storage, "%s: storage", a->name);
    cr_assert_eq(a->missing, b->missing, "%s: missing", a->name);
    cr_assert_eq(a->nonfinite, b->nonfinite, "%s: nonfinite", a->name);
    cr_assert_eq(a->is_int, b->is_int, "%s: is_int", a->name);
    cr_assert_eq(a->n, b->n, "%s: n", a->name);
    if (a->storage == DM_STORE_NUM) {
        cr_assert_eq(a->n_distinct, b->n_distinct, "%s: distinct", a->name);
        for (size_t i = 0; i < a->n_distinct; i++) {
            cr_assert_eq(memcmp(&a->value[i], &b->value[i], sizeof(double)), 0, "%s: value %zu",
                         a->name, i);
            cr_assert_eq(a->count[i], b->count[i], "%s: count %zu", a->name, i);
        }
    } else {
        cr_assert_eq(a->n_cats, b->n_cats, "%s: categories", a->name);
        for (size_t i = 0; i < a->n_cats; i++) {
            cr_assert_str_eq(a->cat[i], b->cat[i]);
            cr_assert_eq(a->cat_count[i], b->cat_count[i]);
        }
        cr_assert_str_eq(a->first_text, b->first_text);
        cr_assert_eq(a->first_text_line, b->first_text_line);
    }
}

Test(reconcile, table_text_column_reads_as_its_csv)
{
    /* nums: every value a number or missing (integers, decimals, an exponent, blanks, the
     * infinities, NA tokens); ints: integer literals only; mixed: text among numbers; flag: a
     * bool column, text whatever its values; amount: a float8 column */
    static const char *const names[] = {"nums", "ints", "mixed", "flag"};
    static const char *const rows[] = {
        "1",   "7",  "1.50", "1", /* */
        "2.0", "7",  "x",    "0", /* */
        "1e3", "-3", "2.50", "1", /* */
        " 4 ", "12", "1.50", "1", /* */
        "inf", "0",  "NA",   "0", /* */
        "NA",  "5",  "1",    "1", /* */
        NULL,  "5",  NULL,   "0", /* */
        "1.0", "7",  "1.0",  "1",
    };
    size_t nrows = sizeof rows / sizeof rows[0] / 4;
    dm_dataset csv;
    csv_dataset("t.csv", 4, names, nrows, rows, &csv);
    char c0[] = "nums", c1[] = "ints", c2[] = "mixed", c3[] = "flag";
    dm_db_column cols[4] = {{.name = c0, .kind = DM_DB_TEXT},
                            {.name = c1, .kind = DM_DB_TEXT},
                            {.name = c2, .kind = DM_DB_TEXT},
                            {.name = c3, .kind = DM_DB_CATEGORICAL}};
    dm_dataset tab;
    build_with(dm_reconcile_table_builder(cols, 4), "table t", 4, nrows, rows, &tab);

    /* nums: 1, 2, 1000, 4, 1 as numbers (1 twice), inf dropped, NA and NULL missing */
    const dm_column *n = &tab.col[0];
    cr_assert_eq(n->storage, DM_STORE_NUM);
    cr_assert_eq(n->n, 5);
    cr_assert_eq(n->n_distinct, 4);
    cr_assert_eq(n->value[0], 1.0);
    cr_assert_eq(n->count[0], 2);
    cr_assert_eq(n->value[3], 1000.0);
    cr_assert_eq(n->nonfinite, 1);
    cr_assert_eq(n->missing, 2);
    cr_assert(!n->is_int);
    /* ints: integer literals, nothing missing: pandas' int64 */
    cr_assert_eq(tab.col[1].storage, DM_STORE_NUM);
    cr_assert(tab.col[1].is_int);
    /* mixed: text, spellings kept ("1", "1.0" and "1.50" are three categories) */
    const dm_column *m = &tab.col[2];
    cr_assert_eq(m->storage, DM_STORE_STR);
    cr_assert_eq(m->n_cats, 5);
    cr_assert_str_eq(m->first_text, "x");
    cr_assert_eq(m->first_text_line, 3);
    /* flag: bool is text even when its values spell numbers */
    cr_assert_eq(tab.col[3].storage, DM_STORE_STR);

    for (size_t i = 0; i < 3; i++)
        assert_same_column(&csv.col[i], &tab.col[i]);
    dm_dataset_release(&csv);
    dm_dataset_release(&tab);
}

Test(reconcile, table_text_column_read_in_two_halves)
{
    /* two builders over the same columns merged (a batch read over two connections): the
     * same as one builder */
    char v[] = "v";
    dm_db_column cols[1] = {{.name = v, .kind = DM_DB_TEXT}};
    static const char *const a[] = {"1", "2", "2.5"}, *const b[] = {"3", "1", NULL};
    dm_builder *one = dm_reconcile_table_builder(cols, 1);
    dm_builder *h1 = dm_reconcile_table_builder(cols, 1), *h2 = dm_reconcile_table_builder(cols, 1);
    cr_assert(one && h1 && h2);
    for (size_t r = 0; r < 3; r++) {
        dm_builder_field(one, 0, a[r], strlen(a[r]), r + 1);
        dm_builder_field(h1, 0, a[r], strlen(a[r]), r + 1);
        dm_builder_end_row(one);
        dm_builder_end_row(h1);
    }
    for (size_t r = 0; r < 3; r++) {
        if (b[r]) {
            dm_builder_field(one, 0, b[r], strlen(b[r]), r + 4);
            dm_builder_field(h2, 0, b[r], strlen(b[r]), r + 1);
        } else {
            dm_builder_null(one, 0);
            dm_builder_null(h2, 0);
        }
        dm_builder_end_row(one);
        dm_builder_end_row(h2);
    }
    cr_assert_eq(dm_builder_merge(h1, h2, 3), 0);
    dm_builder_free(h2);
    dm_dataset x, y;
    cr_assert_eq(dm_builder_finish(one, "t", &x), 0);
    cr_assert_eq(dm_builder_finish(h1, "t", &y), 0);
    dm_builder_free(one);
    dm_builder_free(h1);
    cr_assert_eq(x.col[0].storage, DM_STORE_NUM);
    cr_assert_eq(x.col[0].n, 5);
    cr_assert_eq(x.col[0].missing, 1);
    assert_same_column(&x.col[0], &y.col[0]);
    dm_dataset_release(&x);
    dm_dataset_release(&y);
}

/* ---- one side: a column forced numeric --------------------------------------------------- */

Test(reconcile, declared_numeric_text_is_an_error_naming_file_line_column_value)
{
    char dir[] = "/tmp/dm-test-rec-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/num.csv", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("id,amount\n1,10\n2,12.5\n3,n.a.\n4,\n", f);
    cr_assert_eq(fclose(f), 0);
    dm_dataset ds;
    char err[512];
    cr_assert_eq(dm_csv_read(path, NULL, &ds, err, sizeof err), 0, "%s", err);
    unlink(path);
    rmdir(dir);
    dm_config cfg;
    config("{\"columns\": {\"numeric\": [\"amount\"]}}", &cfg);
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), -1);
    char want[200];
    snprintf(want, sizeof want,
             "\"%s\", line 4, column \"amount\": value \"n.a.\" is not a number (the column is "
             "declared numeric)",
             path);
    cr_assert_str_eq(err, want);
    dm_config_release(&cfg);
    /* text only in another column: fine; excluded: not looked at */
    config("{\"columns\": {\"numeric\": [\"id\"]}}", &cfg);
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), 0, "%s", err);
    dm_config_release(&cfg);
    config("{\"columns\": {\"numeric\": [\"amount\"], \"exclude\": [\"amount\"]}}", &cfg);
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), 0, "%s", err);
    dm_config_release(&cfg);
    dm_dataset_release(&ds);
}

Test(reconcile, declared_numeric_text_in_a_table_names_the_row)
{
    char code[] = "code";
    dm_db_column cols[1] = {{.name = code, .kind = DM_DB_TEXT}};
    static const char *const rows[] = {"0", "1", "?", "x"};
    dm_dataset ds;
    build_from(dm_reconcile_table_builder(cols, 1), 1, "table t, batch b1", 1, 4, rows, &ds);
    ds.table_rows = true;
    dm_config cfg;
    config("{\"columns\": {\"numeric\": [\"code\"]}}", &cfg);
    char err[512];
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), -1);
    cr_assert_str_eq(err, "table t, batch b1, row 3 in the order read, column \"code\": value "
                          "\"?\" is not a number (the column is declared numeric)");
    /* a saved profile keeps no first text value: the first in byte order that is not a
     * number ("?" sorts before "x"), and no line */
    free(ds.col[0].first_text);
    ds.col[0].first_text = NULL;
    free(ds.source);
    ds.source = strdup("profile:ref.dmp");
    ds.table_rows = false;
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), -1);
    cr_assert_str_eq(err, "profile:ref.dmp, column \"code\": value \"?\" is not a number (the "
                          "column is declared numeric)");
    dm_config_release(&cfg);
    dm_dataset_release(&ds);
}

Test(reconcile, declared_numeric_text_by_type_names_a_value)
{
    /* a bool or enum column is text by its type, even when its values spell numbers (and a
     * stored reference may be text from before): the first in byte order is shown */
    char flag[] = "flag";
    dm_db_column cols[1] = {{.name = flag, .kind = DM_DB_CATEGORICAL}};
    static const char *const rows[] = {"1", "0", "1"};
    dm_dataset ds;
    build_from(dm_reconcile_table_builder(cols, 1), 1, "table t", 1, 3, rows, &ds);
    ds.table_rows = true;
    dm_config cfg;
    config("{\"columns\": {\"numeric\": [\"flag\"]}}", &cfg);
    char err[512];
    cr_assert_eq(dm_reconcile_side(&cfg, &ds, err, sizeof err), -1);
    cr_assert_str_eq(err, "table t, column \"flag\": value \"0\" is stored as text, not as a "
                          "number (the column is declared numeric)");
    dm_config_release(&cfg);
    dm_dataset_release(&ds);
}

/* ---- pairs ------------------------------------------------------------------------------ */

/* ref and cur of the issue: c = 1.50, 2.50, 1.50, 2.50, 1.50 against 1.50, x, 2.50 */
static void issue_pair(dm_dataset *ref, dm_dataset *cur)
{
    static const char *const names[] = {"c"};
    static const char *const r[] = {"1.50", "2.50", "1.50", "2.50", "1.50"};
    static const char *const c[] = {"1.50", "x", "2.50"};
    csv_dataset("ref.csv", 1, names, 5, r, ref);
    csv_dataset("cur.csv", 1, names, 3, c, cur);
}

Test(reconcile, numbers_against_text_numeric_is_skipped_naming_line_and_value)
{
    dm_dataset ref, cur;
    issue_pair(&ref, &cur);
    dm_config cfg;
    config("{}", &cfg);
    dm_reconciled r;
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &r, err, sizeof err), 0, "%s", err);
    const dm_pair *p = pair(&r, "c");
    cr_assert_eq(p->kind, DM_PAIR_SKIP);
    cr_assert_str_eq(p->reason,
                     "numeric in reference, but the current data has text (line 3: \"x\")");
    dm_reconciled_release(&r);
    /* the same rows from a table: the row, never "line 0" */
    cur.table_rows = true;
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &r, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(pair(&r, "c")->reason, "numeric in reference, but the current data has "
                                            "text (row 3 in the order read: \"x\")");
    dm_reconciled_release(&r);
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

Test(reconcile, numbers_against_text_categorical_never_match)
{
    /* Evidently (pandas): the reference is float64, the current object (str); a float never
     * equals a str, so the two distributions share no category: sqrt(ln 2) = 0.8326 */
    dm_dataset ref, cur;
    issue_pair(&ref, &cur);
    dm_reconciled pairs;
    dm_comparison cmp;
    run("{\"columns\": {\"categorical\": [\"c\"]}, \"drift\": {\"stattest\": \"jensenshannon\"}}",
        &ref, &cur, &pairs, &cmp);
    cr_assert_eq(pair(&pairs, "c")->kind, DM_PAIR_CAT_MIXED);
    const stats_column_result *c = tested(&cmp, "c");
    assert_close(c->score, sqrt(log(2.0)));
    cr_assert_not_null(c->note);
    cr_assert(strstr(c->note, "numbers in reference, text in current") != NULL, "%s", c->note);
    /* every current category is unseen: 1.50, x, 2.50 */
    cr_assert_eq(c->unseen_categories, 3);
    cr_assert_eq(c->unseen_share, 1.0);
    /* labels: the reference's numbers spelled, then the current's texts */
    cr_assert_str_eq(c->cat_labels[0], "1.5");
    cr_assert_str_eq(c->cat_labels[1], "2.5");
    cr_assert_str_eq(c->cat_labels[2], "1.50");
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);

    /* the other way round: text in the reference, numbers in the current data */
    run("{\"columns\": {\"categorical\": [\"c\"]}, \"drift\": {\"stattest\": \"jensenshannon\"}}",
        &cur, &ref, &pairs, &cmp);
    c = tested(&cmp, "c");
    assert_close(c->score, sqrt(log(2.0)));
    cr_assert(strstr(c->note, "text in reference, numbers in current") != NULL, "%s", c->note);
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

Test(reconcile, integer_and_decimal_spellings)
{
    /* n: numbers both sides, categorical by value: 1 == 1.0 (pandas compares floats).
     *    ref 1, 1, 2 -> p = (2/3, 1/3); cur 1.0, 2.0, 2.0 -> q = (1/3, 2/3); m = (1/2, 1/2);
     *    JS = (KL(p||m) + KL(q||m)) / 2 = 2/3 ln(4/3) + 1/3 ln(2/3)
     * t: text both sides (an "a" in each): by spelling, "1" != "1.0".
     *    ref 1, 1, a -> p = (1: 2/3, 1.0: 0, a: 1/3); cur 1.0, a, a -> q = (0, 1/3, 2/3);
     *    m = (1/3, 1/6, 1/2); KL(p||m) = 2/3 ln 2 + 1/3 ln(2/3), KL(q||m) = 1/3 ln 2 +
     *    2/3 ln(4/3) */
    static const char *const names[] = {"n", "t"};
    static const char *const r[] = {"1", "1", "1", "1", "2", "a"};
    static const char *const c[] = {"1.0", "1.0", "2.0", "a", "2.0", "a"};
    dm_dataset ref, cur;
    csv_dataset("ref.csv", 2, names, 3, r, &ref);
    csv_dataset("cur.csv", 2, names, 3, c, &cur);
    dm_reconciled pairs;
    dm_comparison cmp;
    run("{\"columns\": {\"categorical\": [\"n\"]}, \"drift\": {\"stattest\": \"jensenshannon\"}}",
        &ref, &cur, &pairs, &cmp);
    cr_assert_eq(pair(&pairs, "n")->kind, DM_PAIR_CAT_NUM);
    cr_assert_eq(pair(&pairs, "t")->kind, DM_PAIR_CAT_TEXT);
    double js_n = 2.0 / 3 * log(4.0 / 3) + 1.0 / 3 * log(2.0 / 3);
    double js_t = (2.0 / 3 * log(2.0) + 1.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(2.0) +
                   2.0 / 3 * log(4.0 / 3)) /
                  2;
    assert_close(tested(&cmp, "n")->score, sqrt(js_n));
    assert_close(tested(&cmp, "t")->score, sqrt(js_t));
    cr_assert_null(tested(&cmp, "n")->note);
    cr_assert_null(tested(&cmp, "t")->note);
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);

    /* n as numeric (from the reference): W1 of {1, 1, 2} and {1, 2, 2} is 1/3, std(ref) =
     * sqrt(2)/3: normed Wasserstein 1/sqrt(2) */
    run("{\"drift\": {\"num_stattest\": \"wasserstein\"}}", &ref, &cur, &pairs, &cmp);
    cr_assert_eq(pair(&pairs, "n")->kind, DM_PAIR_NUM);
    assert_close(tested(&cmp, "n")->score, 1.0 / sqrt(2.0));
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

Test(reconcile, empty_absent_excluded_and_no_column_in_common)
{
    static const char *const rn[] = {"a", "b", "gone", "x"};
    static const char *const cn[] = {"a", "b", "new", "x"};
    /* a: numbers in reference, empty in current; b: the reverse */
    static const char *const r[] = {"1", "", "1", "1", "2", "", "2", "2"};
    static const char *const c[] = {"", "3", "1", "1", "", "4", "1", "1"};
    dm_dataset ref, cur;
    csv_dataset("ref.csv", 4, rn, 2, r, &ref);
    csv_dataset("cur.csv", 4, cn, 2, c, &cur);
    dm_config cfg;
    config("{\"columns\": {\"exclude\": [\"x\"]}}", &cfg);
    dm_reconciled p;
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.npairs, 4); /* a, b, gone, then new; x excluded */
    cr_assert_str_eq(p.pair[0].name, "a");
    cr_assert_str_eq(p.pair[0].reason, "no data in current (every value missing)");
    cr_assert_str_eq(p.pair[1].name, "b");
    cr_assert_str_eq(p.pair[1].reason, "no data in reference (every value missing)");
    cr_assert_str_eq(p.pair[2].name, "gone");
    cr_assert_str_eq(p.pair[2].reason, "absent from current");
    cr_assert_str_eq(p.pair[3].name, "new");
    cr_assert_str_eq(p.pair[3].reason, "absent from reference");
    dm_reconciled_release(&p);
    dm_config_release(&cfg);
    /* forced categorical changes nothing for an empty side */
    config("{\"columns\": {\"categorical\": [\"a\", \"b\"]}}", &cfg);
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pair(&p, "a")->kind, DM_PAIR_SKIP);
    cr_assert_eq(pair(&p, "b")->kind, DM_PAIR_SKIP);
    dm_reconciled_release(&p);
    dm_config_release(&cfg);
    /* nothing in common once a, b and x are excluded */
    config("{\"columns\": {\"exclude\": [\"a\", \"b\", \"x\"]}}", &cfg);
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), -1);
    cr_assert_str_eq(err, "ref.csv and cur.csv have no column in common");
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

Test(reconcile, forced_numeric_text_in_current_is_an_error)
{
    dm_dataset ref, cur;
    issue_pair(&ref, &cur);
    dm_config cfg;
    config("{\"columns\": {\"numeric\": [\"c\"]}}", &cfg);
    dm_reconciled p;
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), -1);
    cr_assert_str_eq(err, "\"cur.csv\", line 3, column \"c\": value \"x\" is not a number (the "
                          "column is declared numeric)");
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

/* ---- columns a loader left out ----------------------------------------------------------- */

/* The reason follows from the column's type as the catalog names it (format_type), and for a
 * domain from its base type too; a column of a type that is compared is not left out. */
Test(reconcile, left_out_reason_names_the_type)
{
    char jsonb[] = "jsonb", doc[] = "doc", arr[] = "integer[]", n[] = "c", i4[] = "int4";
    char reason[200];
    dm_db_column plain = {.name = n, .type = jsonb, .kind = DM_DB_UNSUPPORTED};
    cr_assert(dm_reconcile_left_out(&plain, reason, sizeof reason));
    cr_assert_str_eq(reason, "type jsonb is not compared");
    dm_db_column dom = {
        .name = n, .type = doc, .kind = DM_DB_UNSUPPORTED, .base_shown = jsonb, .is_domain = true};
    cr_assert(dm_reconcile_left_out(&dom, reason, sizeof reason));
    cr_assert_str_eq(reason, "type doc (a domain over jsonb) is not compared");
    dm_db_column array = {.name = n, .type = arr, .kind = DM_DB_UNSUPPORTED, .base_shown = arr};
    cr_assert(dm_reconcile_left_out(&array, reason, sizeof reason));
    cr_assert_str_eq(reason, "type integer[] is not compared");
    /* a type's name is the database's: a control character in it is shown escaped */
    char esc[] = "doc\x1b[31m";
    dm_db_column odd = {.name = n, .type = esc, .kind = DM_DB_UNSUPPORTED};
    cr_assert(dm_reconcile_left_out(&odd, reason, sizeof reason));
    cr_assert_null(strchr(reason, '\x1b'), "%s", reason);
    cr_assert_not_null(strstr(reason, "type doc\\"), "%s", reason);
    dm_db_column num = {.name = n, .type = i4, .kind = DM_DB_NUMERIC, .base_shown = i4};
    cr_assert_not(dm_reconcile_left_out(&num, reason, sizeof reason));
}

/* Each side: one column of values "v" (both), then the columns as named; left-out columns
 * added with their reasons. */
static void side(const char *source, const char *const *names, size_t ncols,
                 const char *const *left, size_t nleft, dm_dataset *out)
{
    const char *rows[3 * 4];
    for (size_t r = 0; r < 3; r++)
        for (size_t i = 0; i < ncols; i++)
            rows[r * ncols + i] = r == 0 ? "1" : r == 1 ? "2" : "3";
    csv_dataset(source, ncols, names, 3, rows, out);
    for (size_t i = 0; i < nleft; i++)
        cr_assert_eq(dm_dataset_add_left_out(out, left[2 * i], left[2 * i + 1]), 0);
}

/* The pairing of left-out columns (reconcile.h): the loader's reason as it is when the other
 * side also left the column out for that reason or does not have it; the side named when the
 * other side has the column as values, or both sides give different reasons; an excluded
 * column is never listed; nothing left out is tested or reported absent. */
Test(reconcile, left_out_columns_are_skipped_with_the_reason)
{
    static const char *const rnames[] = {"v", "only_ref_values"};
    static const char *const rleft[] = {
        "j",          "type jsonb is not compared",    /* left out on both sides */
        "k",          "type json is not compared",     /* both, another reason in cur */
        "gone",       "type uuid is not compared",     /* absent from current */
        "now_values", "type bytea is not compared",    /* current has its values */
        "ex",         "type interval is not compared", /* excluded */
    };
    static const char *const cnames[] = {"v", "now_values"};
    static const char *const cleft[] = {
        "j",
        "type jsonb is not compared",
        "k",
        "type jsonb is not compared",
        "only_ref_values",
        "type timestamp with time zone is not compared",
        "new",
        "type integer[] is not compared", /* absent from reference */
        "ex",
        "type interval is not compared",
    };
    dm_dataset ref, cur;
    side("ref.csv", rnames, 2, rleft, 5, &ref);
    side("cur.csv", cnames, 2, cleft, 5, &cur);
    dm_reconciled pairs;
    dm_comparison cmp;
    run("{\"columns\": {\"exclude\": [\"ex\"]}}", &ref, &cur, &pairs, &cmp);
    static const char *const want[][2] = {
        {"only_ref_values", "type timestamp with time zone is not compared in the current data"},
        {"j", "type jsonb is not compared"},
        {"k", "type json is not compared in the reference; type jsonb is not compared in the "
              "current data"},
        {"gone", "type uuid is not compared"},
        {"now_values", "type bytea is not compared in the reference"},
        {"new", "type integer[] is not compared"},
    };
    size_t nwant = sizeof want / sizeof want[0];
    for (size_t i = 0; i < nwant; i++) {
        const dm_pair *p = pair(&pairs, want[i][0]);
        cr_assert_eq(p->kind, DM_PAIR_SKIP, "%s", want[i][0]);
        cr_assert_str_eq(p->reason, want[i][1], "%s", want[i][0]);
    }
    /* the report: v tested, the others skipped once each in the order above, ex nowhere */
    cr_assert_eq(cmp.ncols, 1);
    cr_assert_str_eq(cmp.cols[0].name, "v");
    cr_assert_eq(cmp.nskipped, nwant);
    for (size_t i = 0; i < nwant; i++) {
        cr_assert_str_eq(cmp.skipped[i].name, want[i][0]);
        cr_assert_str_eq(cmp.skipped[i].reason, want[i][1]);
    }
    for (size_t i = 0; i < pairs.npairs; i++)
        cr_assert_str_neq(pairs.pair[i].name, "ex");
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
}

/* No column that can be tested is an error of the run (DM_COMPARE_NONE_TESTED), whatever made
 * every column skip: all missing on the current side (1,000 NULL rows), or a test that
 * cannot apply to any column; one testable column is enough for a report. */
Test(reconcile, no_column_tested_is_an_error_of_the_run)
{
    static const char *const names[] = {"a", "b"};
    enum { ROWS = 1000 };
    const char **r = calloc(2 * ROWS, sizeof *r), **c = calloc(2 * ROWS, sizeof *c);
    cr_assert(r && c);
    char num[ROWS][8];
    for (size_t i = 0; i < ROWS; i++) {
        snprintf(num[i], sizeof num[i], "%zu", i % 37);
        r[2 * i] = num[i];
        r[2 * i + 1] = i % 2 ? "x" : "y";
        c[2 * i] = c[2 * i + 1] = NULL; /* SQL NULL: every monitored column */
    }
    dm_dataset ref, cur;
    csv_dataset("ref.csv", 2, names, ROWS, r, &ref);
    build_with(dm_builder_alloc(2, names, NULL), "table t, batch b", 2, ROWS, c, &cur);
    dm_config cfg;
    config("{}", &cfg);
    dm_reconciled p;
    dm_comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_run(&cfg, NULL, &ref, &cur, &p, false, &cmp, err, sizeof err),
                 DM_COMPARE_NONE_TESTED);
    cr_assert_str_eq(err, "no column could be tested in table t, batch b against ref.csv: 2 "
                          "skipped (\"a\": no data in current (every value missing); \"b\": no "
                          "data in current (every value missing))");
    cr_assert_eq(cmp.ncols, 0);
    cr_assert_null(cmp.cols, "nothing handed out");
    dm_reconciled_release(&p);
    dm_config_release(&cfg);

    /* every column has data, but the one test asked for cannot apply to either: "a" is
     * text in the current data (numeric with text: skipped), "b" is categorical */
    dm_dataset cur2;
    for (size_t i = 0; i < ROWS; i++) {
        c[2 * i] = "z";
        c[2 * i + 1] = "x";
    }
    csv_dataset("cur.csv", 2, names, ROWS, c, &cur2);
    config("{\"drift\": {\"stattest\": \"ks\"}}", &cfg);
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur2, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_run(&cfg, NULL, &ref, &cur2, &p, false, &cmp, err, sizeof err),
                 DM_COMPARE_NONE_TESTED);
    cr_assert(
        strncmp(err, "no column could be tested in cur.csv against ref.csv: 2 skipped (", 65) == 0,
        "%s", err);
    dm_reconciled_release(&p);
    dm_config_release(&cfg);

    /* "b" testable (jensenshannon on categories): a report, "a" listed as skipped */
    config("{}", &cfg);
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur2, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_run(&cfg, NULL, &ref, &cur2, &p, false, &cmp, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(cmp.ncols, 1);
    cr_assert_eq(cmp.verdict.number_of_columns, 1);
    dm_comparison_release(&cmp);
    dm_reconciled_release(&p);
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    dm_dataset_release(&cur2);
    free(r);
    free(c);
}

/* ---- the comparison by column groups (issue 20) ------------------------------------------ */

static uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The same pairs compared by dm_compare_run and in three groups given in another order than
 * the reference's (a text column, then the last numeric ones, then the rest): the results and
 * the skipped list are the same, in the reference's order; numeric results keep no pointer
 * to the columns' values, text results keep their categories; a column in no group is an
 * error. */
Test(reconcile, groups_in_any_order_give_the_runs_results)
{
    static const char *const names[] = {"n1", "t1", "n2", "nc", "only_ref", "n3", "mixed"};
    enum { COLS = 7, ROWS = 600 };
    const char **r = calloc(COLS * ROWS, sizeof *r), **c = calloc(COLS * ROWS, sizeof *c);
    static char num[2][ROWS][3][24];
    cr_assert(r && c);
    for (size_t i = 0; i < ROWS; i++) {
        for (int s = 0; s < 2; s++) {
            const char **row = (s ? c : r) + i * COLS;
            snprintf(num[s][i][0], 24, "%.6f", (double)(i * 37 % 101) / (s ? 9.0 : 10.0));
            snprintf(num[s][i][1], 24, "%zu", (i * 13 + (size_t)s) % 9);
            snprintf(num[s][i][2], 24, "%.3f", (double)(i % 50) * (s ? 1.3 : 1.0));
            row[0] = num[s][i][0];
            row[1] = (i + (size_t)s) % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
            row[2] = num[s][i][2];
            row[3] = num[s][i][1];
            row[4] = s ? NULL : "x";
            row[5] = i % 4 ? num[s][i][2] : NULL;
            row[6] = s ? (i % 2 ? "p" : "q") : num[s][i][1];
        }
    }
    dm_dataset ref, cur;
    csv_dataset("ref.csv", COLS, names, ROWS, r, &ref);
    csv_dataset("cur.csv", COLS, names, ROWS, c, &cur);
    dm_config cfg;
    config("{\"columns\": {\"categorical\": [\"nc\", \"mixed\"]}}", &cfg);
    dm_reconciled p;
    char err[512];
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    dm_comparison one, grp;
    cr_assert_eq(dm_compare_run(&cfg, NULL, &ref, &cur, &p, true, &one, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(dm_compare_begin(&cfg, NULL, &ref, &cur, &p, true, &grp, err, sizeof err), 0);
    size_t g1[] = {1}, g2[] = {6, 5}, g3[] = {0, 2, 3, 4};
    cr_assert_eq(dm_compare_group(&grp, g1, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_group(&grp, g2, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_group(&grp, g3, 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_finish(&grp, err, sizeof err), 0, "%s", err);
    cr_assert_eq(one.ncols, 6, "only_ref is skipped: %zu tested", one.ncols);
    cr_assert_eq(grp.ncols, one.ncols);
    for (size_t i = 0; i < one.ncols; i++) {
        const stats_column_result *a = &one.cols[i], *b = &grp.cols[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_str_eq(a->name, names[i < 4 ? i : i + 1], "the reference's order");
        cr_assert_eq(a->test, b->test);
        cr_assert_eq(dbits(a->score), dbits(b->score), "%s", a->name);
        cr_assert_eq(a->drifted, b->drifted);
        cr_assert_eq(a->unseen_categories, b->unseen_categories);
        cr_assert_eq(dbits(a->unseen_share), dbits(b->unseen_share));
        cr_assert_str_eq(one.plots[i], grp.plots[i]);
        bool text = strcmp(a->name, "t1") == 0 || strcmp(a->name, "mixed") == 0;
        cr_assert_eq(b->data != NULL, text, "%s: data kept only for text", a->name);
        if (text)
            cr_assert_eq(b->data->ref_cat.n_categories, a->data->ref_cat.n_categories);
    }
    cr_assert_eq(one.nskipped, 1);
    cr_assert_eq(grp.nskipped, 1);
    cr_assert_str_eq(grp.skipped[0].name, "only_ref");
    cr_assert_str_eq(grp.skipped[0].reason, one.skipped[0].reason);
    cr_assert_eq(one.verdict.number_of_drifted_columns, grp.verdict.number_of_drifted_columns);
    dm_comparison_release(&one);
    dm_comparison_release(&grp);

    /* a group left out: an error naming the column, nothing handed out */
    cr_assert_eq(dm_compare_begin(&cfg, NULL, &ref, &cur, &p, false, &grp, err, sizeof err), 0);
    cr_assert_eq(dm_compare_group(&grp, g3, 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_finish(&grp, err, sizeof err), -1);
    cr_assert(strstr(err, "\"t1\""), "%s", err);
    cr_assert_null(grp.cols);
    dm_reconciled_release(&p);
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    free(r);
    free(c);
}

/* A check that reads a table by column groups pairs the columns before the numeric-typed ones
 * are read (their storage from the catalog, "has values" standing in for their counts), and
 * pairs them again once read (dm_reconcile_update): the pairs, and the comparison built group
 * by group over them, are those dm_reconcile and dm_compare_run give on the whole data. */
Test(reconcile, pairs_made_again_once_a_group_is_read)
{
    static const char *const names[] = {"a", "b", "c", "d"};
    static const char *const r[] = {"1", "2", "3", "4", "2", "3", "4", "5", "3", "4", "5", "6"};
    /* b: no value in current; c: only infinities; d: values */
    static const char *const c[] = {"1", "", "inf", "7", "2", "", "-inf", "8", "5", "", "inf", "9"};
    dm_dataset ref, whole, cur;
    csv_dataset("ref.csv", 4, names, 3, r, &ref);
    csv_dataset("cur.csv", 4, names, 3, c, &whole);
    csv_dataset("cur.csv", 4, names, 3, c, &cur);
    dm_config cfg;
    config("{}", &cfg);
    char err[512];
    dm_reconciled want, p;
    cr_assert_eq(dm_reconcile(&cfg, &ref, &whole, &want, err, sizeof err), 0, "%s", err);
    dm_comparison cw, cg;
    cr_assert_eq(dm_compare_run(&cfg, NULL, &ref, &whole, &want, true, &cw, err, sizeof err), 0,
                 "%s", err);
    /* b, c and d not read yet: their values set aside, n standing for "has values" */
    dm_column held[3];
    for (size_t k = 0; k < 3; k++) {
        held[k] = cur.col[k + 1];
        dm_column *h = &cur.col[k + 1];
        h->value = NULL;
        h->count = NULL;
        h->n_distinct = 0;
        h->missing = h->nonfinite = 0;
        h->n = 1;
    }
    cr_assert_eq(dm_reconcile(&cfg, &ref, &cur, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pair(&p, "b")->kind, DM_PAIR_NUM);
    cr_assert_eq(pair(&p, "c")->kind, DM_PAIR_NUM);
    cr_assert_eq(dm_compare_begin(&cfg, NULL, &ref, &cur, &p, true, &cg, err, sizeof err), 0, "%s",
                 err);
    static const size_t g0[] = {0}, g1[] = {1, 2, 3};
    cr_assert_eq(dm_compare_group(&cg, g0, 1, err, sizeof err), 0, "%s", err);
    for (size_t k = 0; k < 3; k++) {
        char *name = cur.col[k + 1].name;
        cur.col[k + 1] = held[k];
        cur.col[k + 1].name = name;
    }
    cr_assert_eq(dm_reconcile_update(&cfg, &cur, &p, g1, 3), 0);
    cr_assert_eq(dm_compare_group(&cg, g1, 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_finish(&cg, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.npairs, want.npairs);
    for (size_t i = 0; i < p.npairs; i++) {
        cr_assert_str_eq(p.pair[i].name, want.pair[i].name);
        cr_assert_eq(p.pair[i].kind, want.pair[i].kind, "%s", p.pair[i].name);
        cr_assert_eq(p.pair[i].type, want.pair[i].type, "%s", p.pair[i].name);
        if (want.pair[i].reason)
            cr_assert_str_eq(p.pair[i].reason, want.pair[i].reason);
    }
    cr_assert_str_eq(pair(&p, "b")->reason, "no data in current (every value missing)");
    cr_assert_str_eq(pair(&p, "c")->reason, "no finite value in current");
    /* the comparison: the same tested columns, scores and skipped list, in the same order */
    cr_assert_eq(cg.ncols, cw.ncols);
    cr_assert_eq(cg.ncols, 2);
    for (size_t i = 0; i < cw.ncols; i++) {
        cr_assert_str_eq(cg.cols[i].name, cw.cols[i].name);
        cr_assert_eq(cg.cols[i].test, cw.cols[i].test);
        cr_assert(memcmp(&cg.cols[i].score, &cw.cols[i].score, sizeof(double)) == 0);
        cr_assert_eq(cg.cols[i].cur.missing, cw.cols[i].cur.missing);
    }
    cr_assert_eq(cg.nskipped, cw.nskipped);
    cr_assert_eq(cg.nskipped, 2);
    for (size_t i = 0; i < cw.nskipped; i++) {
        cr_assert_str_eq(cg.skipped[i].name, cw.skipped[i].name);
        cr_assert_str_eq(cg.skipped[i].reason, cw.skipped[i].reason);
    }
    cr_assert_eq(cg.verdict.number_of_drifted_columns, cw.verdict.number_of_drifted_columns);
    dm_comparison_release(&cg);
    dm_comparison_release(&cw);
    dm_reconciled_release(&p);
    dm_reconciled_release(&want);
    dm_config_release(&cfg);
    dm_dataset_release(&ref);
    dm_dataset_release(&whole);
    dm_dataset_release(&cur);
}

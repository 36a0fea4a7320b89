/*
 * test_names.c - suite "names": the name map (stats/names.h) and what it serves, the
 * lookups of columns by name on a wide file.
 *
 * The map is checked against its contract (every name added is found with its value, a
 * name given twice keeps its first value, an absent name is -1).  The wide-file case rests
 * on one property of the comparison: a column's result depends on its own two samples, its
 * name and the settings for that name, never on the other columns.  So each column of a
 * 5,000-column file must come out exactly (bit for bit) as the same data does alone in a
 * one-column file, under names that differ from their neighbours by a blank, a case, a
 * suffix, an invisible character or a control byte; in the reference's column order; with
 * a per-column setting reaching its one column and none of its look-alikes.  The one-column
 * results themselves are checked against the oracle by the oracle-parity tests.
 */
#include <criterion/criterion.h>

#include <cJSON.h>
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
#include "reports/report.h"
#include "stats/names.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/dm-test-names-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    static const char *const files[] = {"ref.csv", "cur.csv", "nref.csv", "ncur.csv"};
    char p[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

TestSuite(names, .init = setup, .fini = teardown);

/* ---- the map ------------------------------------------------------------------------- */

Test(names, add_find_and_duplicates)
{
    stats_names m;
    stats_names_init(&m);
    cr_assert_eq(stats_names_find(&m, "a"), -1, "an empty map finds nothing");
    static const char *const names[] = {"a", "a ", " a", "A", "ab", "", "a\x1b", "\xc3\xa9"};
    size_t n = sizeof names / sizeof names[0];
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(stats_names_add(&m, names[i], 10 + i, NULL), STATS_OK, "%zu", i);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(stats_names_find(&m, names[i]), (long)(10 + i), "%zu", i);
    size_t had = 0;
    cr_assert_eq(stats_names_add(&m, "A", 99, &had), 1, "a name given twice");
    cr_assert_eq(had, 13);
    cr_assert_eq(stats_names_find(&m, "A"), 13, "the first value stays");
    cr_assert_eq(m.n, n);
    /* a copy of a name (another pointer) is the same name */
    char copy[] = "ab";
    cr_assert_eq(stats_names_find(&m, copy), 14);
    cr_assert_eq(stats_names_find(&m, "b"), -1);
    cr_assert_eq(stats_names_find(&m, "a  "), -1);
    cr_assert_eq(stats_names_find(&m, "e\xcc\x81"), -1, "NFD is not NFC: bytes decide");
    stats_names_release(&m);
    cr_assert_eq(stats_names_find(&m, "a"), -1, "released: empty");
}

Test(names, many_names_through_growth)
{
    enum { N = 100000 };
    char(*buf)[16] = malloc(N * sizeof *buf);
    const char **names = malloc(N * sizeof *names);
    cr_assert(buf && names);
    for (size_t i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "col_%zu", i);
        names[i] = buf[i];
    }
    stats_names m;
    cr_assert_eq(stats_names_index(&m, names, N), STATS_OK);
    cr_assert_eq(m.n, N);
    cr_assert_geq(m.cap, 2 * m.n, "at most half full");
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(stats_names_find(&m, names[i]), (long)i, "%s", names[i]);
    cr_assert_eq(stats_names_find(&m, "col_100000"), -1);
    stats_names_release(&m);
    /* one by one from empty: the same answers */
    stats_names_init(&m);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(stats_names_add(&m, names[N - 1 - i], N - 1 - i, NULL), STATS_OK);
    for (size_t i = 0; i < N; i += 7)
        cr_assert_eq(stats_names_find(&m, names[i]), (long)i);
    stats_names_release(&m);
    free(names);
    free(buf);
}

Test(names, index_keeps_the_first_of_a_name)
{
    static const char *const names[] = {"x", "y", "x", "z", "y"};
    stats_names m;
    cr_assert_eq(stats_names_index(&m, names, 5), STATS_OK);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(stats_names_find(&m, "x"), 0);
    cr_assert_eq(stats_names_find(&m, "y"), 1);
    cr_assert_eq(stats_names_find(&m, "z"), 3);
    stats_names_release(&m);
}

/* ---- a wide file ----------------------------------------------------------------------- */

enum { WIDE = 5000, NBASE = 10, VARIANTS = 10, REF_ROWS = 120, CUR_ROWS = 90 };

/* Column names that look alike: variant v of stem s. */
static void look_alike(size_t s, size_t v, char *out, size_t len)
{
    static const char *const before[VARIANTS] = {"c", "c", " c", "C", "c", "c", "c", "c", "c", "c"};
    /* after the number: nothing, a blank, a suffix, a no-break space, a zero width space, a
     * comma, a quote, an escape byte */
    static const char *const after[VARIANTS] = {
        "", " ", "", "", ".1", "\xc2\xa0", "\xe2\x80\x8b", ",", "\"", "\x1b"};
    snprintf(out, len, "%s%zu%s", before[v], s, after[v]);
}

/* Field of base column b (the data a wide column copies), side 0 ref / 1 cur, row r: ten
 * kinds of column, from a shifted numeric one to one the comparison skips. */
static void field(size_t b, int side, size_t r, char *out, size_t len)
{
    double u = (double)((r * 2654435761u + b * 97u + (size_t)side * 13u) % 1000u) / 1000.0;
    out[0] = '\0';
    switch (b) {
    case 0: /* numeric, shifted: drift */
        snprintf(out, len, "%.3f", u * 10 + (side ? 3 : 0));
        break;
    case 1: /* numeric, the same distribution */
        snprintf(out, len, "%.3f", u * 10);
        break;
    case 2: /* four integers: chisquare */
        snprintf(out, len, "%zu", side ? (r * 5 + 1) % 4 : (r * 7) % 4);
        break;
    case 3: /* two integers: z */
        snprintf(out, len, "%d", side ? r % 3 == 0 : (int)(r % 2));
        break;
    case 4: /* text */
        snprintf(out, len, "%c", "abc"[side ? (r % 5) % 3 : r % 3]);
        break;
    case 5: /* text with a category unseen in the reference */
        snprintf(out, len, "%s", side && r % 4 == 0 ? "zz" : r % 2 ? "p" : "q");
        break;
    case 6: /* numeric with empty fields */
        if (r % 7)
            snprintf(out, len, "%.2f", u * (side ? 4 : 5));
        break;
    case 7: /* numeric in the reference, text in the current data: skipped */
        snprintf(out, len, "%s", side && r == 3 ? "abc" : r % 2 ? "1.5" : "2.5");
        break;
    case 8: /* nothing in the current data: skipped */
        if (!side)
            snprintf(out, len, "%zu", r % 9);
        break;
    default: /* numeric with NA tokens */
        snprintf(out, len, "%s", r % 5 == 0 ? "NA" : side ? "7" : r % 3 ? "7" : "8");
        break;
    }
}

static size_t base_of(size_t j)
{
    return (j + j / VARIANTS) % NBASE; /* look-alikes of one stem hold different data */
}

static void put_name(FILE *f, const char *name)
{
    fputc('"', f);
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* A CSV of the columns names[0..n) holding bases base[0..n) on side side. */
static void write_csv(const char *path, char **names, const size_t *base, size_t n, int side,
                      size_t rows)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        put_name(f, names[i]);
    }
    fputc('\n', f);
    char v[32];
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', f);
            field(base[i], side, r, v, sizeof v);
            fputs(v, f);
        }
        fputc('\n', f);
    }
    cr_assert_eq(fclose(f), 0);
}

/* What one column came out as: tested (its stats_column_result) or skipped (its reason). */
typedef struct {
    bool tested;
    stats_column_result col;
    char reason[600];
} outcome;

static void compare_files(const char *cfg_json, const char *ref_path, const char *cur_path,
                          dm_dataset *ref, dm_dataset *cur, dm_reconciled *pairs,
                          dm_comparison *cmp, dm_config *cfg)
{
    char err[1024];
    cr_assert_eq(dm_config_parse(cfg_json, strlen(cfg_json), "cfg.json", cfg, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(dm_csv_read_pair(ref_path, cur_path, NULL, ref, cur, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(dm_reconcile(cfg, ref, cur, pairs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_compare_run(cfg, NULL, ref, cur, pairs, false, cmp, err, sizeof err), 0, "%s",
                 err);
}

/* Base b alone, as column "x", under the config text cfg_json (about "x"). */
static void narrow(size_t b, const char *cfg_json, outcome *o)
{
    char rp[128], cp[128];
    snprintf(rp, sizeof rp, "%s/nref.csv", tmpdir);
    snprintf(cp, sizeof cp, "%s/ncur.csv", tmpdir);
    /* and a column y beside it, so that a row of x alone is never a blank line */
    char x[] = "x", y[] = "y";
    char *names[2] = {x, y};
    size_t bases[2] = {b, 1};
    write_csv(rp, names, bases, 2, 0, REF_ROWS);
    write_csv(cp, names, bases, 2, 1, CUR_ROWS);
    dm_dataset ref, cur;
    dm_reconciled pairs;
    dm_comparison cmp;
    dm_config cfg;
    compare_files(cfg_json, rp, cp, &ref, &cur, &pairs, &cmp, &cfg);
    memset(o, 0, sizeof *o);
    cr_assert_eq(cmp.ncols + cmp.nskipped, 2);
    for (size_t i = 0; i < cmp.ncols; i++)
        if (strcmp(cmp.cols[i].name, "x") == 0) {
            o->tested = true;
            o->col = cmp.cols[i];
            o->col.name = NULL; /* points into the datasets */
        }
    for (size_t i = 0; i < cmp.nskipped; i++)
        if (strcmp(cmp.skipped[i].name, "x") == 0)
            snprintf(o->reason, sizeof o->reason, "%s", cmp.skipped[i].reason);
    cr_assert(o->tested != (o->reason[0] != '\0'), "x is tested or skipped");
    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    dm_config_release(&cfg);
}

static void expect_same(const stats_column_result *got, const outcome *want, const char *name)
{
    cr_assert_str_eq(got->name, name);
    cr_assert_eq(got->test, want->col.test, "column \"%s\"", name);
    cr_assert_eq(got->kind, want->col.kind, "column \"%s\"", name);
    cr_assert(memcmp(&got->score, &want->col.score, sizeof got->score) == 0,
              "column \"%s\": score %.17g, alone %.17g", name, got->score, want->col.score);
    cr_assert(memcmp(&got->threshold, &want->col.threshold, sizeof got->threshold) == 0,
              "column \"%s\"", name);
    cr_assert_eq(got->drifted, want->col.drifted, "column \"%s\"", name);
    cr_assert_eq(got->ref.missing, want->col.ref.missing, "column \"%s\"", name);
    cr_assert_eq(got->cur.missing, want->col.cur.missing, "column \"%s\"", name);
    cr_assert_eq(got->unseen_categories, want->col.unseen_categories, "column \"%s\"", name);
}

Test(names, wide_file_as_each_column_alone)
{
    /* the reference: WIDE look-alike names; the current data: the same columns in reverse
     * order, every 97th left out, and three of its own (look-alikes too) at the end */
    static char name_buf[WIDE + 3][24];
    char *names[WIDE + 3], *cur_names[WIDE + 3];
    size_t base[WIDE + 3], cur_base[WIDE + 3];
    for (size_t j = 0; j < WIDE; j++) {
        look_alike(j / VARIANTS, j % VARIANTS, name_buf[j], sizeof name_buf[j]);
        names[j] = name_buf[j];
        base[j] = base_of(j);
    }
    size_t ncur = 0;
    for (size_t k = WIDE; k-- > 0;)
        if (k % 97 != 0) {
            cur_names[ncur] = names[k];
            cur_base[ncur++] = base[k];
        }
    static const char *const extra[3] = {"c0  ", "c1.2", "C0 "};
    for (size_t e = 0; e < 3; e++) {
        snprintf(name_buf[WIDE + e], sizeof name_buf[0], "%s", extra[e]);
        cur_names[ncur] = name_buf[WIDE + e];
        cur_base[ncur++] = 1;
    }
    char rp[128], cp[128];
    snprintf(rp, sizeof rp, "%s/ref.csv", tmpdir);
    snprintf(cp, sizeof cp, "%s/cur.csv", tmpdir);
    write_csv(rp, names, base, WIDE, 0, REF_ROWS);
    write_csv(cp, cur_names, cur_base, ncur, 1, CUR_ROWS);

    /* settings for three look-alikes: j 72 (" c7", base 9), j 83 ("C8", base 1), and j 44
     * ("c4.1") left out */
    const char *wide_cfg = "{\"columns\": {\"exclude\": [\"c4.1\"]}, \"drift\": "
                           "{\"per_column_stattest_threshold\": {\" c7\": 0.5}, "
                           "\"per_column_stattest\": {\"C8\": \"psi\"}}}";
    cr_assert_str_eq(names[72], " c7");
    cr_assert_str_eq(names[83], "C8");
    cr_assert_str_eq(names[44], "c4.1");
    outcome alone[NBASE], alone_72, alone_83;
    for (size_t b = 0; b < NBASE; b++)
        narrow(b, "{}", &alone[b]);
    narrow(base[72], "{\"drift\": {\"per_column_stattest_threshold\": {\"x\": 0.5}}}", &alone_72);
    narrow(base[83], "{\"drift\": {\"per_column_stattest\": {\"x\": \"psi\"}}}", &alone_83);
    cr_assert(alone_72.tested && alone_83.tested);
    cr_assert_eq(alone_72.col.threshold, 0.5);
    cr_assert_eq(alone_83.col.test, STATS_TEST_PSI);
    cr_assert(!alone[7].tested && !alone[8].tested, "bases 7 and 8 are skipped alone");

    dm_dataset ref, cur;
    dm_reconciled pairs;
    dm_comparison cmp;
    dm_config cfg;
    compare_files(wide_cfg, rp, cp, &ref, &cur, &pairs, &cmp, &cfg);
    cr_assert_eq(ref.ncols, WIDE, "every look-alike is a column of its own");
    cr_assert_eq(cur.ncols, ncur);

    /* walk the reference's columns in order: tested ones and skipped ones each in order */
    size_t t = 0, s = 0, drifted = 0;
    for (size_t j = 0; j < WIDE; j++) {
        if (j == 44)
            continue; /* excluded: neither tested nor skipped */
        const outcome *want = j == 72 ? &alone_72 : j == 83 ? &alone_83 : &alone[base[j]];
        if (j % 97 == 0) {
            cr_assert_lt(s, cmp.nskipped);
            cr_assert_str_eq(cmp.skipped[s].name, names[j]);
            cr_assert_str_eq(cmp.skipped[s].reason, "absent from current");
            s++;
        } else if (!want->tested) {
            cr_assert_lt(s, cmp.nskipped);
            cr_assert_str_eq(cmp.skipped[s].name, names[j]);
            cr_assert_str_eq(cmp.skipped[s].reason, want->reason, "column \"%s\"", names[j]);
            s++;
        } else {
            cr_assert_lt(t, cmp.ncols);
            expect_same(&cmp.cols[t], want, names[j]);
            drifted += want->col.drifted;
            t++;
        }
    }
    for (size_t e = 0; e < 3; e++, s++) {
        cr_assert_lt(s, cmp.nskipped);
        cr_assert_str_eq(cmp.skipped[s].name, extra[e]);
        cr_assert_str_eq(cmp.skipped[s].reason, "absent from reference");
    }
    cr_assert_eq(t, cmp.ncols);
    cr_assert_eq(s, cmp.nskipped);
    cr_assert_eq(cmp.verdict.number_of_columns, t);
    cr_assert_eq(cmp.verdict.number_of_drifted_columns, drifted);

    /* the JSON report: one key per column, in the same order, none renamed */
    rpt_run run;
    memset(&run, 0, sizeof run);
    run.version = "test";
    run.generated_at = "2026-01-01T00:00:00Z";
    dm_comparison_to_run(&cmp, &cfg, &ref, &cur, &run);
    char *text = rpt_json_render(&run);
    cr_assert_not_null(text);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(root, "drift_by_columns");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(root, "skipped_columns");
    size_t i = 0;
    for (const cJSON *it = by ? by->child : NULL; it; it = it->next, i++) {
        cr_assert_lt(i, cmp.ncols);
        cr_assert_str_eq(it->string, cmp.cols[i].name);
    }
    cr_assert_eq(i, cmp.ncols);
    i = 0;
    for (const cJSON *it = sk ? sk->child : NULL; it; it = it->next, i++) {
        cr_assert_lt(i, cmp.nskipped);
        cr_assert_str_eq(it->string, cmp.skipped[i].name);
    }
    cr_assert_eq(i, cmp.nskipped);
    cJSON_Delete(root);
    free(text);

    dm_comparison_release(&cmp);
    dm_reconciled_release(&pairs);
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    dm_config_release(&cfg);
}

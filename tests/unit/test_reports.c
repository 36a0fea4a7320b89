/*
 * test_reports.c - the JSON and HTML report renderers and their helpers (reports/).
 *
 * Expected values are closed forms worked out in the comments: field names and stattest ids
 * from DESIGN.md section 4 (Evidently's as_dict of DataDriftTable), U+FFFD substitution
 * from the Unicode Standard 15.0 section 3.9 (Table 3-8), shares by plain division.
 * Outputs are validated with a UTF-8 checker written here independently of
 * reports/util.c (bit arithmetic instead of the first-byte range table).
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report.h"

/* ---- helpers ------------------------------------------------------------------- */

/* Independent UTF-8 validator: decode by the bit patterns, then reject overlong forms,
 * surrogates and code points past U+10FFFF.  Returns true when all of s[0..len) is valid. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if ((c & 0x80u) == 0) {
            i++;
            continue;
        } else if ((c & 0xE0u) == 0xC0u) {
            n = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0u) == 0xE0u) {
            n = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8u) == 0xF0u) {
            n = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += n;
    }
    return true;
}

static bool str_valid_utf8(const char *s)
{
    return utf8_valid((const unsigned char *)s, strlen(s));
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static const char *test_id(stats_test t)
{
    /* Evidently's stattest ids (DESIGN.md section 1) */
    static const char *const ids[] = {"wasserstein", "jensenshannon", "ks",        "chisquare", "z",
                                      "psi",         "kl_div",        "hellinger", "ed"};
    return ids[t];
}

/* A categorical text column: categories {"A", "B", "\xff-bad", "C"}, the last two absent
 * from reference; cat_labels name them. */
static const uint64_t cat_ref_count[] = {60, 40, 0, 0};
static const uint64_t cat_cur_count[] = {50, 30, 15, 5};
static const char *const cat_labels[] = {"A", "B", "bad\xff\xfelabel", "C"};
static stats_column cat_data;

static stats_column_result cols3[3];
static stats_skipped_column skipped2[2];

/* The run the JSON tests check:
 *  - col 0 "AMT_CREDIT": num, wasserstein, threshold 0.1, score 0.25, drifted
 *  - col 1 "NAME_CONTRACT_TYPE": cat, jensenshannon, 0.1, score 0.14755, drifted,
 *    2 unseen categories with 20 of 100 current rows (15 + 5)
 *  - col 2 "EXT_SOURCE_1": num, ks, 0.05, score NaN, not drifted
 *  3 tested, 2 drifted: share 2/3, drift_share 0.5 -> dataset drift; fraction 0.7 ->
 *  2/3 > 0.7 false -> not flagged. */
static rpt_run make_run(void)
{
    memset(&cat_data, 0, sizeof cat_data);
    cat_data.kind = STATS_CAT;
    cat_data.is_numeric_data = false;
    cat_data.ref_cat = (stats_cat){cat_ref_count, 4, 100};
    cat_data.cur_cat = (stats_cat){cat_cur_count, 4, 100};

    cols3[0] = (stats_column_result){.name = "AMT_CREDIT",
                                     .kind = STATS_NUM,
                                     .test = STATS_TEST_WASSERSTEIN,
                                     .threshold = 0.1,
                                     .score = 0.25,
                                     .drifted = true,
                                     .ref = {307511, 0, 0},
                                     .cur = {48744, 3, 2},
                                     .importance = 12.5};
    cols3[1] = (stats_column_result){.name = "NAME_CONTRACT_TYPE",
                                     .kind = STATS_CAT,
                                     .test = STATS_TEST_JENSENSHANNON,
                                     .threshold = 0.1,
                                     .score = 0.14755,
                                     .drifted = true,
                                     .ref = {307511, 7, 0},
                                     .cur = {48744, 0, 0},
                                     .unseen_categories = 2,
                                     .unseen_share = 0.2,
                                     .data = &cat_data,
                                     .cat_labels = cat_labels,
                                     .importance = NAN};
    cols3[2] = (stats_column_result){.name = "EXT_SOURCE_1",
                                     .kind = STATS_NUM,
                                     .test = STATS_TEST_KS,
                                     .threshold = 0.05,
                                     .score = NAN,
                                     .drifted = false,
                                     .ref = {307511, 173378, 0},
                                     .cur = {48744, 20532, 0},
                                     .importance = 0.0};
    skipped2[0] = (stats_skipped_column){"TARGET", "absent from current"};
    skipped2[1] = (stats_skipped_column){"EMPTY_COL", "no data in reference"};

    rpt_run r;
    memset(&r, 0, sizeof r);
    r.version = "0.1.0";
    r.generated_at = "2026-11-27T23:00:00Z";
    r.ref_source = "train.csv";
    r.ref_name = "homecredit@3";
    r.ref_rows = 307511;
    r.ref_sha256 = "ab12";
    r.cur_source = "batch-42";
    r.cur_rows = 48744;
    r.cols = cols3;
    r.ncols = 3;
    r.skipped = skipped2;
    r.nskipped = 2;
    r.drift_share = 0.5;
    r.retrain_fraction = 0.7;
    r.verdict = (stats_verdict){3, 2, 2.0 / 3.0, true, false, NAN, NAN, 0u, NAN};
    r.settings_json = "{\"drift\": {\"stattest\": null, \"drift_share\": 0.5}}";
    r.retrain_weighted_fraction = NAN; /* no model: the conditions not configured */
    r.retrain_score_psi = NAN;
    r.decision_threshold = NAN;
    return r;
}

static cJSON *render_parse(const rpt_run *r, char **text_out)
{
    char *text = rpt_json_render(r);
    cr_assert_not_null(text);
    cr_assert(str_valid_utf8(text), "JSON output is not valid UTF-8");
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "JSON output does not parse: %s", text);
    if (text_out != NULL)
        *text_out = text;
    else
        free(text);
    return root;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "missing key \"%s\"", key);
    return v;
}

static void expect_num(const cJSON *o, const char *key, double want)
{
    const cJSON *v = get(o, key);
    cr_assert(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    cr_assert(same_bits(v->valuedouble, want), "\"%s\": %.17g, want %.17g", key, v->valuedouble,
              want);
}

static void expect_str(const cJSON *o, const char *key, const char *want)
{
    const cJSON *v = get(o, key);
    cr_assert(cJSON_IsString(v), "\"%s\" is not a string", key);
    cr_assert_str_eq(v->valuestring, want, "\"%s\"", key);
}

static void expect_bool(const cJSON *o, const char *key, bool want)
{
    const cJSON *v = get(o, key);
    cr_assert(cJSON_IsBool(v), "\"%s\" is not a boolean", key);
    cr_assert_eq(cJSON_IsTrue(v) ? true : false, want, "\"%s\"", key);
}

static void expect_side(const cJSON *o, const char *key, const stats_side *s)
{
    const cJSON *side = get(o, key);
    cr_assert(cJSON_IsObject(side));
    expect_num(side, "rows", (double)s->rows);
    expect_num(side, "missing", (double)s->missing);
    expect_num(side, "nonfinite", (double)s->nonfinite);
    cr_assert_eq(cJSON_GetArraySize(side), 3);
}

static void expect_keys(const cJSON *o, const char *const *keys, size_t n)
{
    cr_assert_eq((size_t)cJSON_GetArraySize(o), n, "%d keys, want %zu", cJSON_GetArraySize(o), n);
    size_t i = 0;
    for (const cJSON *it = o->child; it != NULL; it = it->next, i++)
        cr_assert_str_eq(it->string, keys[i], "key %zu", i);
}

/* ---- JSON --------------------------------------------------------------------------- */

Test(reports, json_every_field)
{
    rpt_run r = make_run();
    cJSON *root = render_parse(&r, NULL);

    static const char *const top[] = {"driftmon_version",
                                      "generated_at",
                                      "reference",
                                      "current",
                                      "number_of_columns",
                                      "number_of_drifted_columns",
                                      "share_of_drifted_columns",
                                      "drift_share",
                                      "dataset_drift",
                                      "importance_weighted_share",
                                      "importance_weighted_share_note",
                                      "importance_sha256",
                                      "prediction_drift",
                                      "retrain",
                                      "settings",
                                      "drift_by_columns",
                                      "skipped_columns",
                                      "importance_not_tested"};
    expect_keys(root, top, sizeof top / sizeof *top);
    expect_str(root, "driftmon_version", "0.1.0");
    expect_str(root, "generated_at", "2026-11-27T23:00:00Z");
    const cJSON *ref = get(root, "reference");
    expect_str(ref, "source", "train.csv");
    expect_str(ref, "name", "homecredit@3");
    expect_num(ref, "rows", 307511);
    expect_str(ref, "profile_sha256", "ab12");
    const cJSON *cur = get(root, "current");
    expect_str(cur, "source", "batch-42");
    expect_num(cur, "rows", 48744);
    cr_assert_eq(cJSON_GetArraySize(cur), 2);
    expect_num(root, "number_of_columns", 3);
    expect_num(root, "number_of_drifted_columns", 2);
    expect_num(root, "share_of_drifted_columns", 2.0 / 3.0);
    expect_num(root, "drift_share", 0.5);
    expect_bool(root, "dataset_drift", true);
    const cJSON *rt = get(root, "retrain");
    expect_num(rt, "fraction", 0.7);
    expect_bool(rt, "flagged", false);
    /* without a model: the model's fields are there, null or empty */
    cr_assert(cJSON_IsNull(get(rt, "weighted_fraction")));
    cr_assert(cJSON_IsNull(get(rt, "score_psi")));
    cr_assert_eq(cJSON_GetArraySize(get(rt, "reasons")), 0);
    cr_assert(cJSON_IsNull(get(root, "importance_weighted_share")));
    cr_assert(cJSON_IsNull(get(root, "importance_sha256")));
    cr_assert(cJSON_IsNull(get(root, "prediction_drift")));
    cr_assert_eq(cJSON_GetArraySize(get(root, "importance_not_tested")), 0);

    /* settings embedded as an object, not as a string */
    const cJSON *st = get(root, "settings");
    cr_assert(cJSON_IsObject(st));
    const cJSON *drift = get(st, "drift");
    cr_assert(cJSON_IsNull(get(drift, "stattest")));
    expect_num(drift, "drift_share", 0.5);

    /* drift_by_columns: keyed by name, in the order of r.cols */
    const cJSON *by = get(root, "drift_by_columns");
    static const char *const names[] = {"AMT_CREDIT", "NAME_CONTRACT_TYPE", "EXT_SOURCE_1"};
    expect_keys(by, names, 3);
    for (size_t i = 0; i < 3; i++) {
        const stats_column_result *c = &r.cols[i];
        const cJSON *o = get(by, names[i]);
        expect_str(o, "column_name", names[i]);
        expect_str(o, "column_type", c->kind == STATS_CAT ? "cat" : "num");
        expect_str(o, "stattest", test_id(c->test));
        expect_str(o, "stattest_name", stats_test_display(c->test));
        expect_num(o, "stattest_threshold", c->threshold);
        const cJSON *score = get(o, "drift_score");
        if (isnan(c->score))
            cr_assert(cJSON_IsNull(score), "NaN score must be null");
        else
            expect_num(o, "drift_score", c->score);
        expect_bool(o, "drift_detected", c->drifted);
        expect_side(o, "reference", &c->ref);
        expect_side(o, "current", &c->cur);
        if (isnan(c->importance))
            cr_assert(cJSON_IsNull(get(o, "importance")), "NaN importance must be null");
        else
            expect_num(o, "importance", c->importance);
        if (c->kind == STATS_CAT) {
            expect_num(o, "unseen_categories", 2);
            expect_num(o, "unseen_share", 0.2);
            /* categories 2 and 3 have ref count 0, cur count > 0 */
            const cJSON *lab = get(o, "unseen_category_values");
            cr_assert(cJSON_IsArray(lab));
            cr_assert_eq(cJSON_GetArraySize(lab), 2);
            /* "bad\xff\xfelabel": FF and FE are each an invalid byte -> two U+FFFD */
            cr_assert_str_eq(cJSON_GetArrayItem(lab, 0)->valuestring,
                             "bad\xEF\xBF\xBD\xEF\xBF\xBDlabel");
            cr_assert_str_eq(cJSON_GetArrayItem(lab, 1)->valuestring, "C");
            cr_assert_eq(cJSON_GetArraySize(o), 13);
        } else {
            cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, "unseen_categories"));
            cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, "unseen_share"));
            cr_assert_eq(cJSON_GetArraySize(o), 10);
        }
    }

    const cJSON *sk = get(root, "skipped_columns");
    static const char *const sknames[] = {"TARGET", "EMPTY_COL"};
    expect_keys(sk, sknames, 2);
    expect_str(sk, "TARGET", "absent from current");
    expect_str(sk, "EMPTY_COL", "no data in reference");
    cJSON_Delete(root);
}

Test(reports, column_note_in_json_and_escaped_in_html)
{
    rpt_run r = make_run();
    cols3[1].note = "numbers in reference, <b>text</b> & \"more\"\xff";
    cJSON *root = render_parse(&r, NULL);
    const cJSON *by = get(root, "drift_by_columns");
    expect_str(get(by, "NAME_CONTRACT_TYPE"), "note",
               "numbers in reference, <b>text</b> & \"more\"\xEF\xBF\xBD");
    cr_assert_eq(cJSON_GetArraySize(get(by, "NAME_CONTRACT_TYPE")),
                 14); /* 12 + importance + note */
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(get(by, "AMT_CREDIT"), "note"));
    cJSON_Delete(root);
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert_not_null(strstr(h, "<td>NAME_CONTRACT_TYPE<div class=\"note\">numbers in "
                                 "reference, &lt;b&gt;text&lt;/b&gt; &amp; &quot;more&quot;"
                                 "\xEF\xBF\xBD</div></td>"),
                       "%s", h);
    cr_assert_null(strstr(h, "<b>text"));
    const char *note = strstr(h, "<div class=\"note\">");
    cr_assert_null(strstr(note + 1, "<div class=\"note\">"), "one column, one note");
    free(h);
}

Test(reports, json_drift_score_is_a_number_not_a_string)
{
    rpt_run r = make_run();
    char *text = NULL;
    cJSON *root = render_parse(&r, &text);
    /* 0.25 is exact in binary: the shortest form is "0.25"; never quoted */
    cr_assert_not_null(strstr(text, "\"drift_score\":\t0.25"), "%s", text);
    cr_assert_null(strstr(text, "\"drift_score\":\t\"0.25\""));
    cr_assert_not_null(strstr(text, "\"drift_score\":\tnull"));
    cr_assert_null(strstr(text, "NaN"));
    cr_assert_null(strstr(text, "nan"));
    /* pretty-printed: one key per line, indented */
    cr_assert_not_null(strstr(text, "{\n\t\"driftmon_version\""));
    cJSON_Delete(root);
    free(text);
}

Test(reports, json_no_column_tested_and_no_settings)
{
    rpt_run r = make_run();
    r.ncols = 0;
    r.nskipped = 0;
    r.ref_name = NULL;
    r.settings_json = NULL;
    r.verdict = (stats_verdict){0, 0, NAN, false, false, NAN, NAN, 0u, NAN};
    cJSON *root = render_parse(&r, NULL);
    cr_assert(cJSON_IsNull(get(root, "share_of_drifted_columns")));
    expect_num(root, "number_of_columns", 0);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(root, "settings"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(get(root, "reference"), "name"));
    cr_assert(cJSON_IsObject(get(root, "drift_by_columns")));
    cr_assert_eq(cJSON_GetArraySize(get(root, "drift_by_columns")), 0);
    cr_assert_eq(cJSON_GetArraySize(get(root, "skipped_columns")), 0);
    cJSON_Delete(root);

    /* invalid settings text, and valid JSON that is not an object: left out */
    static const char *const bad[] = {"{\"drift\": ", "[1, 2]", "3", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r.settings_json = bad[i];
        root = render_parse(&r, NULL);
        cr_assert_null(cJSON_GetObjectItemCaseSensitive(root, "settings"), "settings %s", bad[i]);
        cJSON_Delete(root);
    }
}

Test(reports, json_doubles_round_trip_exactly)
{
    /* cJSON 1.7.15 alone prints 0.1 + 0.2 as 0.3 (its "%1.15g" check compares with a
     * tolerance); the writer must give the 17 digits Python's repr(0.1 + 0.2) gives. */
    volatile double a = 0.1, b = 0.2;
    const double values[] = {
        a + b,                   /* 0.30000000000000004 */
        1.0 / 3.0,               /* 0.3333333333333333 (16 digits) */
        2.0 / 3.0,               /* 0.6666666666666666 */
        0.1,                     /* "0.1" */
        5e-324,                  /* smallest subnormal */
        DBL_MIN,                 /* 2.2250738585072014e-308 */
        DBL_MAX,                 /* 1.7976931348623157e+308 */
        1e-300,                  /* a p-value far in the tail */
        9007199254740993.0 - 1.0 /* 2^53 */
    };
    stats_column_result c[sizeof values / sizeof *values];
    char names[sizeof values / sizeof *values][16];
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        c[i] = (stats_column_result){.name = names[i],
                                     .kind = STATS_NUM,
                                     .test = STATS_TEST_WASSERSTEIN,
                                     .threshold = values[i],
                                     .score = values[i]};
    }
    rpt_run r = make_run();
    r.cols = c;
    r.ncols = sizeof values / sizeof *values;
    r.drift_share = a + b;
    r.retrain_fraction = 1.0 / 3.0;
    /* 2^53 + 1 rows: not a double; must be printed as the exact integer */
    r.ref_rows = UINT64_C(9007199254740993);
    r.cur_rows = UINT64_MAX;
    char *text = NULL;
    cJSON *root = render_parse(&r, &text);
    const cJSON *by = get(root, "drift_by_columns");
    for (size_t i = 0; i < r.ncols; i++) {
        const cJSON *o = get(by, names[i]);
        expect_num(o, "drift_score", values[i]);
        expect_num(o, "stattest_threshold", values[i]);
    }
    expect_num(root, "drift_share", a + b);
    expect_num(get(root, "retrain"), "fraction", 1.0 / 3.0);
    cr_assert_not_null(strstr(text, "0.30000000000000004"), "%s", text);
    cr_assert_not_null(strstr(text, "0.3333333333333333"));
    cr_assert_not_null(strstr(text, "\"rows\":\t9007199254740993"));
    cr_assert_not_null(strstr(text, "\"rows\":\t18446744073709551615"));
    cJSON_Delete(root);
    free(text);
}

Test(reports, json_invalid_utf8_becomes_valid)
{
    /* every kind of ill-formed input: lone continuation, C0 overlong, E0 overlong,
     * surrogate, > U+10FFFF, F5 lead, truncated sequence at the end */
    static const char *const bad_names[] = {
        "col\x80x",        "over\xC0\xAFlong",       "e0\xE0\x80\xAF",
        "sur\xED\xA0\x80", "big\xF4\x90\x80\x80",    "f5\xF5\x80",
        "trunc\xE2\x82",   "ok\xC3\xA9\xE2\x82\xAC",
    };
    size_t n = sizeof bad_names / sizeof *bad_names;
    stats_column_result c[8];
    for (size_t i = 0; i < n; i++)
        c[i] = (stats_column_result){.name = bad_names[i],
                                     .kind = STATS_NUM,
                                     .test = STATS_TEST_WASSERSTEIN,
                                     .threshold = 0.1,
                                     .score = 0.01};
    rpt_run r = make_run();
    r.cols = c;
    r.ncols = n;
    r.verdict = (stats_verdict){n, 0, 0.0, false, false, NAN, NAN, 0u, NAN};
    stats_skipped_column sk = {"skip\xFF", "reason \xC1\xBF"};
    r.skipped = &sk;
    r.nskipped = 1;
    r.ref_source = "src\xE0\x9F\xBF.csv";
    r.settings_json = "{\"per_column_stattest\": {\"X\xFF\": \"psi\"}}";
    char *text = NULL;
    cJSON *root = render_parse(&r, &text); /* asserts utf8_valid on the whole output */
    const cJSON *by = get(root, "drift_by_columns");
    cr_assert_eq((size_t)cJSON_GetArraySize(by), n);
    /* maximal-subpart substitution (Unicode 15.0, 3.9): "\xED\xA0\x80": ED allows 80..9F
     * next, so ED, A0, 80 are three subparts -> three U+FFFD */
    const cJSON *o = get(by, "sur\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    expect_str(o, "column_name", "sur\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    /* a valid name passes unchanged (U+00E9, U+20AC) */
    get(by, "ok\xC3\xA9\xE2\x82\xAC");
    /* "trunc\xE2\x82": one truncated sequence -> one U+FFFD */
    get(by, "trunc\xEF\xBF\xBD");
    expect_str(get(root, "skipped_columns"), "skip\xEF\xBF\xBD", "reason \xEF\xBF\xBD\xEF\xBF\xBD");
    cr_assert(cJSON_IsObject(get(get(root, "settings"), "per_column_stattest")));
    cJSON_Delete(root);
    free(text);
}

Test(reports, json_duplicate_names_keep_unique_keys)
{
    stats_column_result c[2] = {
        {.name = "x", .test = STATS_TEST_WASSERSTEIN, .threshold = 0.1, .score = 0.2},
        {.name = "x", .test = STATS_TEST_WASSERSTEIN, .threshold = 0.1, .score = 0.3},
    };
    rpt_run r = make_run();
    r.cols = c;
    r.ncols = 2;
    cJSON *root = render_parse(&r, NULL);
    const cJSON *by = get(root, "drift_by_columns");
    static const char *const keys[] = {"x", "x #2"};
    expect_keys(by, keys, 2);
    expect_str(get(by, "x #2"), "column_name", "x");
    expect_num(get(by, "x #2"), "drift_score", 0.3);
    cJSON_Delete(root);
}

/* ---- UTF-8 and HTML helpers ------------------------------------------------------- */

Test(reports, utf8_sanitize_unicode_table_3_8)
{
    /* Unicode 15.0, section 3.9, Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 ->
     * 0061 FFFD FFFD FFFD 0062 FFFD 0063 FFFD FFFD 0064 */
    char *s = rpt_utf8_sanitize("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64");
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                        "b\xEF\xBF\xBD"
                        "c\xEF\xBF\xBD\xEF\xBF\xBD"
                        "d");
    free(s);
    /* overlong "/" (C0 AF): C0 is never a lead byte -> 2 x U+FFFD */
    s = rpt_utf8_sanitize("\xC0\xAF");
    cr_assert_str_eq(s, "\xEF\xBF\xBD\xEF\xBF\xBD");
    free(s);
    /* U+110000 (F4 90 80 80): F4 allows 80..8F next -> 4 x U+FFFD */
    s = rpt_utf8_sanitize("\xF4\x90\x80\x80");
    cr_assert_str_eq(s, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    free(s);
    /* the largest and the boundary code points are kept: U+10FFFF, U+D7FF, U+E000,
     * U+FFFF, U+0080, U+07FF, U+0800, U+10000 */
    static const char ok[] = "\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xC2\x80"
                             "\xDF\xBF\xE0\xA0\x80\xF0\x90\x80\x80";
    s = rpt_utf8_sanitize(ok);
    cr_assert_str_eq(s, ok);
    free(s);
    s = rpt_utf8_sanitize("");
    cr_assert_str_eq(s, "");
    free(s);
}

Test(reports, html_escape_attacks)
{
    char *s = rpt_html_escape("<script>alert(1)</script>");
    cr_assert_str_eq(s, "&lt;script&gt;alert(1)&lt;/script&gt;");
    free(s);
    s = rpt_html_escape("<img src=x onerror=alert(1)>");
    cr_assert_str_eq(s, "&lt;img src=x onerror=alert(1)&gt;");
    free(s);
    s = rpt_html_escape("a\"b'c&d&amp;");
    cr_assert_str_eq(s, "a&quot;b&#39;c&amp;d&amp;amp;");
    free(s);
    /* controls: U+0001 -> U+2401 (E2 90 81), DEL -> U+2421 (E2 90 A1), C1 U+0085 -> U+FFFD;
     * tab and newline kept; an invalid byte -> U+FFFD */
    s = rpt_html_escape("x\x01y\x7Fz\xC2\x85\t\n\xFF");
    cr_assert_str_eq(s, "x\xE2\x90\x81y\xE2\x90\xA1z\xEF\xBF\xBD\t\n\xEF\xBF\xBD");
    free(s);
    s = rpt_html_escape("caf\xC3\xA9");
    cr_assert_str_eq(s, "caf\xC3\xA9");
    free(s);
}

/* ---- HTML --------------------------------------------------------------------------- */

Test(reports, html_escapes_every_data_string)
{
    stats_column_result c[3] = {
        {.name = "<script>alert(1)</script>",
         .test = STATS_TEST_WASSERSTEIN,
         .threshold = 0.1,
         .score = 0.2,
         .drifted = true},
        {.name = "<img src=x onerror=alert(1)>",
         .kind = STATS_CAT,
         .test = STATS_TEST_JENSENSHANNON,
         .threshold = 0.1,
         .score = 0.05},
        {.name = "Tom & \"Jerry\" 'x'\xFF",
         .test = STATS_TEST_WASSERSTEIN,
         .threshold = 0.1,
         .score = 0.01},
    };
    stats_skipped_column sk = {"<b>bold</b>", "absent from \"current\" & <i>"};
    rpt_run r = make_run();
    r.cols = c;
    r.ncols = 3;
    r.skipped = &sk;
    r.nskipped = 1;
    r.ref_source = "<ref>.csv";
    r.cur_source = "cur\"&'.csv";
    r.ref_name = "n<a>me";
    r.ref_sha256 = "<sha>";
    r.generated_at = "<t>";
    r.version = "<v>";
    r.settings_json = "{\"per_column_stattest\": {\"</pre><script>x</script>\": \"psi\"}}";
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert(str_valid_utf8(h), "HTML output is not valid UTF-8");
    cr_assert_null(strstr(h, "<script"), "unescaped script tag");
    cr_assert_null(strstr(h, "<img"), "unescaped img tag");
    cr_assert_null(strstr(h, "<b>"));
    cr_assert_null(strstr(h, "<i>"));
    cr_assert_null(strstr(h, "<ref>"));
    cr_assert_null(strstr(h, "<sha>"));
    cr_assert_null(strstr(h, "<a>"));
    cr_assert_null(strstr(h, "<t>"));
    cr_assert_null(strstr(h, "<v>"));
    cr_assert_not_null(strstr(h, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    cr_assert_not_null(strstr(h, "<td>&lt;img src=x onerror=alert(1)&gt;</td>"));
    cr_assert_not_null(strstr(h, "<td>Tom &amp; &quot;Jerry&quot; &#39;x&#39;\xEF\xBF\xBD</td>"));
    cr_assert_not_null(strstr(h, "<td>&lt;b&gt;bold&lt;/b&gt;</td>"));
    cr_assert_not_null(strstr(h, "absent from &quot;current&quot; &amp; &lt;i&gt;"));
    cr_assert_not_null(strstr(h, "cur&quot;&amp;&#39;.csv"));
    cr_assert_not_null(strstr(h, "&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;"));
    /* self-contained */
    cr_assert_not_null(strstr(h, "<meta charset=\"utf-8\">"));
    cr_assert_eq(strncmp(h, "<!DOCTYPE html>", 15), 0);
    cr_assert_null(strstr(h, "http://"));
    cr_assert_null(strstr(h, "https://"));
    cr_assert_null(strstr(h, "<link"));
    cr_assert_null(strstr(h, "@import"));
    cr_assert_null(strstr(h, "url("));
    /* the drift badge carries text, not only a colour */
    cr_assert_not_null(strstr(h, ">drifted</span>"));
    cr_assert_not_null(strstr(h, ">no drift</span>"));
    free(h);
}

static char *verdict_of(size_t tested, size_t drifted, double drift_share, double fraction,
                        bool dataset_drift, bool retrain)
{
    rpt_run r = make_run();
    r.ncols = 0;
    r.drift_share = drift_share;
    r.retrain_fraction = fraction;
    double share = tested > 0 ? (double)drifted / (double)tested : NAN;
    r.verdict = (stats_verdict){tested, drifted, share, dataset_drift, retrain, NAN, NAN, 0u, NAN};
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    const char *p = strstr(h, "id=\"verdict\">");
    cr_assert_not_null(p);
    p += strlen("id=\"verdict\">");
    const char *e = strstr(p, "</p>");
    cr_assert_not_null(e);
    char *v = strndup(p, (size_t)(e - p));
    free(h);
    return v;
}

Test(reports, html_verdict_sentence)
{
    static const struct {
        size_t tested, drifted;
        double drift_share, fraction;
        bool dataset_drift, retrain; /* worked out by hand from the share */
        const char *want;
    } cases[] = {
        /* 8/38 = 0.2105: < 0.5 no drift; not > 0.5 */
        {38, 8, 0.5, 0.5, false, false,
         "8 of 38 columns drifted (21 %): no dataset drift; retraining not flagged, "
         "threshold 50 %"},
        /* 2/4 = 0.5: >= 0.5 drift; 0.5 > 0.3 flagged */
        {4, 2, 0.5, 0.3, true, true,
         "2 of 4 columns drifted (50 %): dataset drift; retraining flagged, threshold 30 %"},
        /* 499/1000 = 49.9 %: a whole 50 % would read as reaching the 0.5 drift share */
        {1000, 499, 0.5, 0.25, false, true,
         "499 of 1000 columns drifted (49.9 %): no dataset drift; retraining flagged, "
         "threshold 25 %"},
        /* 1/300 = 0.333 %: a whole 0 % would hide the drifted column */
        {300, 1, 0.5, 0.5, false, false,
         "1 of 300 columns drifted (0.3 %): no dataset drift; retraining not flagged, "
         "threshold 50 %"},
        /* 1/1: share 1 >= 0.5; 1 > 1 is false: not flagged */
        {1, 1, 0.5, 1.0, true, false,
         "1 of 1 column drifted (100 %): dataset drift; retraining not flagged, "
         "threshold 100 %"},
        /* 3/8 = 0.375 >= 0.3 drift; 0.375 > 0.125 flagged */
        {8, 3, 0.3, 0.125, true, true,
         "3 of 8 columns drifted (38 %): dataset drift; retraining flagged, threshold 12.5 %"},
        /* nothing tested: share undefined, never drift */
        {0, 0, 0.5, 0.5, false, false,
         "0 of 0 columns drifted (no column tested): no dataset drift; retraining not "
         "flagged, threshold 50 %"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *v = verdict_of(cases[i].tested, cases[i].drifted, cases[i].drift_share,
                             cases[i].fraction, cases[i].dataset_drift, cases[i].retrain);
        cr_expect_str_eq(v, cases[i].want, "case %zu", i);
        free(v);
    }
}

Test(reports, html_sorted_by_distance_past_threshold)
{
    /* keys: distance score/threshold, p-value threshold/p (p = 0 first), NaN last:
     *  d_half  wasserstein 0.05/0.1 = 0.5     js_3   jensenshannon 0.3/0.1 = 3
     *  ks_zero ks p = 0 -> first              chi_5  chisquare 0.05/0.01 = 5
     *  z_tenth z 0.05/0.5 = 0.1               nan    wasserstein NaN -> last
     *  psi_2   psi 0.2/0.1 = 2
     * order: ks_zero, chi_5, js_3, psi_2, d_half, z_tenth, nan */
    stats_column_result c[] = {
        {.name = "d_half", .test = STATS_TEST_WASSERSTEIN, .threshold = 0.1, .score = 0.05},
        {.name = "js_3", .test = STATS_TEST_JENSENSHANNON, .threshold = 0.1, .score = 0.3},
        {.name = "ks_zero", .test = STATS_TEST_KS, .threshold = 0.05, .score = 0.0},
        {.name = "chi_5", .test = STATS_TEST_CHISQUARE, .threshold = 0.05, .score = 0.01},
        {.name = "z_tenth", .test = STATS_TEST_Z, .threshold = 0.05, .score = 0.5},
        {.name = "nan", .test = STATS_TEST_WASSERSTEIN, .threshold = 0.1, .score = NAN},
        {.name = "psi_2", .test = STATS_TEST_PSI, .threshold = 0.1, .score = 0.2},
    };
    static const char *const want[] = {"ks_zero", "chi_5",   "js_3", "psi_2",
                                       "d_half",  "z_tenth", "nan"};
    rpt_run r = make_run();
    r.cols = c;
    r.ncols = sizeof c / sizeof *c;
    r.nskipped = 0;
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    const char *prev = h;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "<tr><td>%s</td>", want[i]);
        const char *p = strstr(h, cell);
        cr_assert_not_null(p, "%s missing", want[i]);
        cr_assert_gt(p, prev, "%s out of order", want[i]);
        prev = p;
    }
    cr_assert_not_null(strstr(h, ">no score</span>"));
    free(h);
}

Test(reports, html_skipped_and_missing_share)
{
    rpt_run r = make_run();
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert_not_null(strstr(h, "<tr><td>TARGET</td><td>absent from current</td></tr>"));
    cr_assert_not_null(strstr(h, "<tr><td>EMPTY_COL</td><td>no data in reference</td></tr>"));
    /* EXT_SOURCE_1: 173378 / 307511 = 0.56381... -> 56.4 %; 20532 / 48744 = 0.42122... ->
     * 42.1 % */
    cr_assert_not_null(strstr(h, "56.4 % / 42.1 %"));
    /* header: sources, rows, sha256, name */
    cr_assert_not_null(strstr(h, "train.csv"));
    cr_assert_not_null(strstr(h, "batch-42"));
    cr_assert_not_null(strstr(h, "307511"));
    cr_assert_not_null(strstr(h, "48744"));
    cr_assert_not_null(strstr(h, "<code>ab12</code>"));
    cr_assert_not_null(strstr(h, "homecredit@3"));
    /* 2 of 3 tested: 66.7 %: a whole 67 % is on the same side of 0.5 and 0.7 */
    cr_assert_not_null(strstr(h, "2 of 3 columns drifted (67 %): dataset drift; retraining "
                                 "not flagged, threshold 70 %"));
    free(h);
}

/* The model's fields (issue 17): what the rpt_run holds, nothing computed by the renderer. */
Test(reports, json_model_fields)
{
    rpt_run r = make_run();
    static const stats_untested_importance untested[] = {{"TARGET", 3.5, "excluded"},
                                                         {"GONE", 0.0, "in neither dataset"}};
    stats_score_drift sd;
    memset(&sd, 0, sizeof sd);
    for (int i = 0; i < STATS_SCORE_NEDGES; i++)
        sd.edges[i] = 0.1 * (i + 1);
    for (int i = 0; i < STATS_SCORE_NBINS; i++) {
        sd.ref_count[i] = 10;
        sd.cur_count[i] = (uint64_t)i;
    }
    sd.ref_n = 100;
    sd.cur_n = 45;
    sd.psi = 0.1234;
    sd.band = STATS_BAND_WATCH;
    sd.ref_approval = 0.75;
    sd.cur_approval = 0.5;
    r.retrain_weighted_fraction = 0.3;
    r.retrain_score_psi = 0.1;
    r.verdict.importance_weighted_share = 0.625;
    r.verdict.score_psi = 0.1234;
    r.verdict.retrain = true;
    r.verdict.retrain_reasons = STATS_RETRAIN_WEIGHTED_SHARE | STATS_RETRAIN_SCORE_PSI;
    r.importance_sha256 = "00ff";
    r.untested = untested;
    r.nuntested = 2;
    r.score_column = "score";
    r.score = &sd;
    r.score_ref = (stats_side){307511, 7, 1};
    r.score_cur = (stats_side){48744, 2, 0};
    r.decision_threshold = 0.52;
    cJSON *root = render_parse(&r, NULL);
    expect_num(root, "importance_weighted_share", 0.625);
    cr_assert(cJSON_IsNull(get(root, "importance_weighted_share_note")));
    expect_str(root, "importance_sha256", "00ff");
    const cJSON *p = get(root, "prediction_drift");
    expect_str(p, "column", "score");
    expect_num(p, "psi", 0.1234);
    expect_str(p, "band", "watch");
    expect_num(p, "reference_rows", 100);
    expect_num(p, "current_rows", 45);
    expect_num(p, "reference_approval_rate", 0.75);
    expect_num(p, "current_approval_rate", 0.5);
    expect_num(p, "decision_threshold", 0.52);
    expect_num(p, "reference_missing", 8); /* 7 missing + 1 non-finite */
    expect_num(p, "current_missing", 2);
    const cJSON *edges = get(p, "edges"), *rc = get(p, "reference_counts"),
                *cc = get(p, "current_counts");
    cr_assert_eq(cJSON_GetArraySize(edges), 9);
    cr_assert_eq(cJSON_GetArraySize(rc), 10);
    cr_assert_eq(cJSON_GetArraySize(cc), 10);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(cJSON_GetArrayItem(edges, i)->valuedouble, 0.1 * (i + 1));
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(cJSON_GetArrayItem(rc, i)->valuedouble, 10.0);
        cr_assert_eq(cJSON_GetArrayItem(cc, i)->valuedouble, (double)i);
    }
    const cJSON *rt = get(root, "retrain");
    expect_bool(rt, "flagged", true);
    expect_num(rt, "weighted_fraction", 0.3);
    expect_num(rt, "score_psi", 0.1);
    const cJSON *reasons = get(rt, "reasons");
    cr_assert_eq(cJSON_GetArraySize(reasons), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(reasons, 0)->valuestring, "weighted_share");
    cr_assert_str_eq(cJSON_GetArrayItem(reasons, 1)->valuestring, "score_psi");
    const cJSON *nt = get(root, "importance_not_tested");
    static const char *const ntnames[] = {"TARGET", "GONE"};
    expect_keys(nt, ntnames, 2);
    expect_num(get(nt, "TARGET"), "importance", 3.5);
    expect_str(get(nt, "GONE"), "reason", "in neither dataset");
    cJSON_Delete(root);

    /* no PSI (a side without scores): psi and band null, the note says why; importances
     * summing to 0: the share null with its reason */
    r.score = NULL;
    r.score_note = "no score in current (every value missing or not finite)";
    r.verdict.importance_weighted_share = NAN;
    r.weighted_note = "the tested columns' importances sum to 0";
    root = render_parse(&r, NULL);
    p = get(root, "prediction_drift");
    cr_assert(cJSON_IsNull(get(p, "psi")));
    cr_assert(cJSON_IsNull(get(p, "band")));
    expect_str(p, "note", r.score_note);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "edges"));
    cr_assert(cJSON_IsNull(get(root, "importance_weighted_share")));
    expect_str(root, "importance_weighted_share_note", r.weighted_note);
    cJSON_Delete(root);
}

/* The memo sentence (issue 17) from the figures of make_run: 2 of 3 columns drifted, share
 * 2/3 -> "66.7"; importances 3, 1, 4 with the first two drifted: weighted share 4/8 ->
 * "50.0"; the score's PSI by the definition from the counts below -> "%.2f" (a value far
 * from the band edges 0.1 and 0.25 and from the rule's 0.2).  Without a model: the first
 * clause only. */
Test(reports, html_memo_sentence_and_reasons)
{
    rpt_run r = make_run();
    for (int i = 0; i < 3; i++) /* no model */
        cols3[i].importance = NAN;
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    char want[512];
    snprintf(want, sizeof want,
             "<p class=\"memo\" id=\"memo\">2 of 3 columns drifted (%.1f %%)</p>",
             100.0 * 2.0 / 3.0);
    cr_assert_not_null(strstr(h, want), "want %s", want);
    /* the rule without a model: one condition, not held (2/3 is not above 0.7) */
    snprintf(want, sizeof want,
             "<p id=\"reasons\">Retraining <strong>not flagged</strong>: the share of drifted "
             "columns, %.1f %%, is not above 70 %%.</p>",
             100.0 * 2.0 / 3.0);
    cr_assert_not_null(strstr(h, want), "want %s", want);
    cr_assert_null(strstr(h, "id=\"score\""));
    cr_assert_null(strstr(h, "id=\"importance\""));
    cr_assert_null(strstr(h, "id=\"by-importance\""));
    free(h);

    cols3[0].importance = 3.0;
    cols3[1].importance = 1.0;
    cols3[2].importance = 4.0;
    stats_score_drift sd;
    memset(&sd, 0, sizeof sd);
    for (int i = 0; i < STATS_SCORE_NEDGES; i++)
        sd.edges[i] = 0.1 * (i + 1);
    /* reference 10 per bin of 100; current 20, 20, 10 x 6, 0 of 100 */
    uint64_t cc[10] = {20, 20, 10, 10, 10, 10, 10, 10, 0, 0};
    cc[9] = 0;
    double psi = 0.0;
    for (int i = 0; i < 10; i++) {
        sd.ref_count[i] = 10;
        sd.cur_count[i] = cc[i];
        double e = 0.1, a = cc[i] == 0 ? 0.0001 : (double)cc[i] / 100.0;
        psi += (a - e) * log(a / e);
    }
    /* 2 (0.1 ln 2) + 2 (-0.0999 ln 0.001) = 0.1386 + 1.3802: "act" */
    sd.ref_n = 100;
    sd.cur_n = 100;
    sd.psi = psi;
    sd.band = STATS_BAND_ACT;
    sd.ref_approval = 0.6;
    sd.cur_approval = 0.45;
    r.retrain_weighted_fraction = 0.3;
    r.retrain_score_psi = 0.2;
    r.verdict.importance_weighted_share = 4.0 / 8.0;
    r.verdict.score_psi = psi;
    r.verdict.retrain = true;
    r.verdict.retrain_reasons = STATS_RETRAIN_WEIGHTED_SHARE | STATS_RETRAIN_SCORE_PSI;
    r.importance_sha256 = "00ff";
    r.score_column = "score";
    r.score = &sd;
    r.decision_threshold = 0.52;
    h = rpt_html_render(&r);
    cr_assert_not_null(h);
    snprintf(want, sizeof want,
             "<p class=\"memo\" id=\"memo\">2 of 3 columns drifted (%.1f %%); together they carry "
             "%.1f %% of the model&rsquo;s importance; the score&rsquo;s PSI is %.2f (act)</p>",
             100.0 * 2.0 / 3.0, 100.0 * 4.0 / 8.0, psi);
    cr_assert_not_null(strstr(h, want), "want %s in %s", want, h);
    snprintf(want, sizeof want,
             "the share of drifted columns, %.1f %%, is not above 70 %%; <strong>the "
             "importance-weighted share, %.1f %%, is above 30 %%</strong>; <strong>the "
             "score&rsquo;s PSI, %.2f, is at or above 0.2</strong>.</p>",
             100.0 * 2.0 / 3.0, 50.0, psi);
    cr_assert_not_null(strstr(h, want), "want %s", want);
    /* the summary comes before the column table */
    cr_assert(strstr(h, "id=\"memo\"") < strstr(h, "id=\"columns\""));
    /* the score panel: its SVG, the approval rates side by side, the threshold */
    cr_assert_not_null(strstr(h, "<svg class=\"plot score\""));
    cr_assert_not_null(strstr(h, "<tr><td>Approval rate (score &lt; 0.52)</td><td class=\"n\">60.0 "
                                 "%</td><td class=\"n\">45.0 %</td></tr>"));
    /* the chart, and the columns by importance: 4 (EXT_SOURCE_1, 50 %), 3 (AMT_CREDIT,
     * 37.5 %, cumulative 87.5 %), 1 (NAME_CONTRACT_TYPE, 12.5 %, 100 %) */
    cr_assert_not_null(strstr(h, "<svg class=\"plot importance\""));
    const char *bi = strstr(h, "id=\"by-importance\"");
    cr_assert_not_null(bi);
    const char *e1 = strstr(bi, "<tr><td>EXT_SOURCE_1</td><td class=\"n\" title=\"importance "
                                "4\">50.0 %</td><td class=\"n\">50.0 %</td>");
    const char *e2 = strstr(bi, "<tr><td>AMT_CREDIT</td><td class=\"n\" title=\"importance "
                                "3\">37.5 %</td><td class=\"n\">87.5 %</td>");
    const char *e3 = strstr(bi, "<tr><td>NAME_CONTRACT_TYPE</td><td class=\"n\" "
                                "title=\"importance 1\">12.5 %</td><td class=\"n\">100.0 %</td>");
    cr_assert(e1 != NULL && e2 != NULL && e3 != NULL && e1 < e2 && e2 < e3, "%s", bi);
    cr_assert(e3 < strstr(h, "id=\"columns\""));
    free(h);

    /* importances summing to 0: the clause says why; no chart, no importance table */
    for (int i = 0; i < 3; i++)
        cols3[i].importance = 0.0;
    r.verdict.importance_weighted_share = NAN;
    r.weighted_note = "the tested columns' importances sum to 0";
    h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert_not_null(strstr(h, "; their share of the model&rsquo;s importance is not defined "
                                 "(the tested columns&#39; importances sum to 0);"),
                       "%s", h);
    cr_assert_null(strstr(h, "id=\"importance\""));
    cr_assert_null(strstr(h, "id=\"by-importance\""));
    free(h);
}

/* ---- the outcomes (issue 21) ----------------------------------------------------------- */

Test(reports, json_performance)
{
    rpt_run r = make_run();
    cJSON *root = render_parse(&r, NULL);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(root, "performance"),
                   "performance without the evaluation configured");
    cJSON_Delete(root);
    /* the four_rows_by_hand case of test_perf.c, and a side that refuses nobody at best */
    stats_perf ref = {4, 1, 1, 0, 2, 1, 0.75, 0.5, 1.0, 2.5, 0.35, 0.25};
    stats_perf cur = {3, 0, 0, 1, 1, 1, 0.0, 0.0, 0.0, 11.0 / 3, INFINITY, 1.0 / 3};
    r.perf_label = "TARGET";
    r.perf_ref = &ref;
    r.perf_cur = &cur;
    r.cost_fn = 10;
    r.cost_fp = 1;
    r.decision_threshold = 0.5;
    r.retrain_cost_increase = 0.1;
    r.verdict.cost_increase = (11.0 / 3) / 2.5 - 1;
    r.verdict.retrain = true;
    r.verdict.retrain_reasons = STATS_RETRAIN_COST;
    root = render_parse(&r, NULL);
    const cJSON *p = get(root, "performance");
    expect_str(p, "label_column", "TARGET");
    expect_num(p, "decision_threshold", 0.5);
    expect_num(get(p, "cost"), "fn", 10);
    const cJSON *s = get(p, "reference");
    expect_num(s, "rows", 4);
    expect_num(s, "left_out", 1);
    expect_num(s, "tp", 1);
    expect_num(s, "fp", 0);
    expect_num(s, "tn", 2);
    expect_num(s, "fn", 1);
    expect_num(s, "auc", 0.75);
    expect_num(s, "optimal_threshold", 0.35);
    expect_bool(s, "optimal_refuses_nobody", false);
    expect_num(s, "default_rate", 0.5); /* (tp + fn) / rows */
    s = get(p, "current");
    cr_assert(cJSON_IsNull(get(s, "optimal_threshold")), "+inf is not written null");
    expect_bool(s, "optimal_refuses_nobody", true);
    expect_num(s, "business_cost_at_optimal", 1.0 / 3);
    expect_num(p, "cost_increase", (11.0 / 3) / 2.5 - 1);
    expect_num(get(root, "retrain"), "cost_increase", 0.1);
    const cJSON *reasons = get(get(root, "retrain"), "reasons");
    cr_assert_eq(cJSON_GetArraySize(reasons), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(reasons, 0)->valuestring, "cost");
    cJSON_Delete(root);
    /* a side without figures: null, with the reason; NaN figures null */
    stats_perf none = {0, 5, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN};
    r.perf_ref = NULL;
    r.perf_ref_note = "no rows to evaluate";
    r.perf_cur = &none;
    r.verdict.cost_increase = NAN;
    root = render_parse(&r, NULL);
    p = get(root, "performance");
    cr_assert(cJSON_IsNull(get(p, "reference")));
    expect_str(p, "reference_note", "no rows to evaluate");
    cr_assert(cJSON_IsNull(get(get(p, "current"), "auc")));
    cr_assert(cJSON_IsNull(get(get(p, "current"), "business_cost")));
    cr_assert(cJSON_IsNull(get(p, "cost_increase")));
    cJSON_Delete(root);
}

Test(reports, html_performance_escaped)
{
    rpt_run r = make_run();
    stats_perf cur = {3, 0, 0, 1, 1, 1, 0.0, 0.0, 0.0, 11.0 / 3, INFINITY, 1.0 / 3};
    r.perf_label = "<b>T&R</b>";
    r.perf_cur = &cur;
    r.perf_ref_note = "<script>x</script>";
    r.cost_fn = 10;
    r.cost_fp = 1;
    r.decision_threshold = 0.5;
    r.retrain_cost_increase = 0.1;
    r.verdict.cost_increase = NAN;
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert(strstr(h, "id=\"performance\"") != NULL);
    cr_assert(strstr(h, "&lt;b&gt;T&amp;R&lt;/b&gt;") != NULL, "label not escaped");
    cr_assert(strstr(h, "<b>T&R</b>") == NULL);
    cr_assert(strstr(h, "&lt;script&gt;x&lt;/script&gt;") != NULL, "note not escaped");
    cr_assert(strstr(h, "refuse nobody") != NULL);
    cr_assert(strstr(h, "the business cost&rsquo;s change (limit +10 %) is not defined") != NULL);
    cr_assert(strstr(h, "or the business cost &gt; the reference&rsquo;s by more than 10 %") !=
              NULL);
    free(h);
}

/* ---- a run's report once its cohort is evaluated (issue 21) ------------------------------
 * The expected documents are the whole report rendered anew with the realised figures: with
 * no cost condition configured nothing outside the performance section depends on them, so
 * splicing the section into the first document must give those very bytes. */

static rpt_run run_with_outcomes(const char *label)
{
    rpt_run r = make_run();
    r.perf_label = label;
    r.cost_fn = 10;
    r.cost_fp = 1;
    r.decision_threshold = 0.5;
    r.retrain_cost_increase = NAN; /* the reasons paragraph leaves the cost out */
    r.verdict.cost_increase = NAN;
    return r;
}

Test(reports, replace_performance_is_a_full_render)
{
    /* at the run: the labels not there yet (every row left out), no reference figures */
    static stats_perf at_run = {0, 3, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN};
    static stats_perf ref = {4, 1, 1, 0, 2, 1, 0.75, 0.5, 1.0, 2.5, 0.35, 0.25};
    static stats_perf realised = {3, 0, 0, 1, 1, 1, 0.0, 0.0, 0.0, 11.0 / 3, INFINITY, 1.0 / 3};
    rpt_run first = run_with_outcomes("<b>T&R</b>");
    first.perf_cur = &at_run;
    first.perf_ref_note = "no figures stored";
    rpt_perf_evaluation ev = {7, "2026-12-03 <i>12:00</i>", 5, true};
    rpt_run later = first;
    later.perf_cur = &realised;
    later.perf_ref = &ref;
    later.perf_eval = &ev;
    later.verdict.cost_increase = (11.0 / 3) / 2.5 - 1;

    char *h1 = rpt_html_render(&first), *h2 = rpt_html_render(&later), *spliced = NULL;
    cr_assert(h1 != NULL && h2 != NULL);
    cr_assert_eq(rpt_html_replace_performance(h1, &later, &spliced), 0);
    cr_assert_str_eq(spliced, h2, "the spliced HTML is not the full render");
    cr_assert_not_null(strstr(spliced, "(evaluation 7, superseding evaluation 5)"));
    cr_assert_not_null(strstr(spliced, "2026-12-03 &lt;i&gt;12:00&lt;/i&gt;"));
    cr_assert_null(strstr(spliced, "<i>"), "the evaluation's time is not escaped");
    cr_assert_null(strstr(spliced, "<b>T&R</b>"), "the label is not escaped");
    cr_assert_not_null(strstr(spliced, "+46.7 %"), "the realised cost change, (11/3)/2.5 - 1");
    free(spliced);

    char *j1 = rpt_json_render(&first), *j2 = rpt_json_render(&later);
    cr_assert(j1 != NULL && j2 != NULL);
    cr_assert_eq(rpt_json_replace_performance(j1, &later, &spliced), 0);
    cr_assert_str_eq(spliced, j2, "the spliced JSON is not the full render");
    cJSON *root = cJSON_Parse(spliced);
    const cJSON *e = get(get(root, "performance"), "evaluation");
    expect_num(e, "id", 7);
    expect_num(e, "supersedes", 5);
    expect_bool(e, "retrain_flagged", true);
    expect_num(get(get(root, "performance"), "current"), "business_cost", 11.0 / 3);
    cJSON_Delete(root);
    free(spliced);
    /* re-rendered again (a re-evaluation): from the first document, the same rule */
    cr_assert_eq(rpt_json_replace_performance(j2, &first, &spliced), 0);
    cr_assert_str_eq(spliced, j1);
    free(spliced);
    free(h1);
    free(h2);
    free(j1);
    free(j2);
}

Test(reports, replace_performance_needs_the_section)
{
    static stats_perf realised = {3, 0, 0, 1, 1, 1, 0.0, 0.0, 0.0, 11.0 / 3, INFINITY, 1.0 / 3};
    rpt_run none = make_run(); /* written without the evaluation configured */
    rpt_run later = run_with_outcomes("TARGET");
    later.perf_cur = &realised;
    char *h = rpt_html_render(&none), *j = rpt_json_render(&none), *out = NULL;
    cr_assert(h != NULL && j != NULL);
    cr_assert_null(strstr(h, RPT_HTML_PERF_BEGIN));
    cr_assert_eq(rpt_html_replace_performance(h, &later, &out), 1);
    cr_assert_eq(rpt_json_replace_performance(j, &later, &out), 1);
    cr_assert_null(out);
    free(h);
    free(j);
    /* markers twice, or out of order; JSON not in cJSON_Print's form */
    const char *twice =
        "a" RPT_HTML_PERF_BEGIN "b" RPT_HTML_PERF_END RPT_HTML_PERF_BEGIN "c" RPT_HTML_PERF_END;
    cr_assert_eq(rpt_html_replace_performance(twice, &later, &out), 1);
    cr_assert_eq(rpt_html_replace_performance(RPT_HTML_PERF_END RPT_HTML_PERF_BEGIN, &later, &out),
                 1);
    cr_assert_eq(rpt_json_replace_performance("{\"performance\":{\"current\":null}}", &later, &out),
                 1);
    /* a member whose text looks like the key one level down is not the section */
    cr_assert_eq(rpt_json_replace_performance(
                     "{\n\t\"x\":\t{\n\t\t\"performance\":\t{\n\t\t}\n\t}\n}", &later, &out),
                 1);
    cr_assert_null(out);
}

/*
 * json.c - the JSON report (DESIGN.md section 4), field names as Evidently's as_dict() of
 * DataDriftTable.
 *
 * Numbers are written by this file, not by cJSON: cJSON 1.7 prints "%1.15g" and keeps it
 * when it reads back *approximately* equal (0.1 + 0.2 comes out as 0.3), and keeps
 * integers as doubles.  Here a double is printed with the fewest digits (15, 16 or 17) that
 * read back to the same bits, an integer count exactly, and a non-finite value as null;
 * both go into the tree as cJSON raw items.  Every string from data goes through
 * rpt_utf8_sanitize() so the output is valid UTF-8.
 */
#include "reports/report.h"
#include "reports/html_internal.h"
#include "stats/numfmt.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many unseen category labels are listed per column. */
enum { JSON_MAX_UNSEEN_LABELS = 20 };

static bool add_double(cJSON *obj, const char *key, double d)
{
    char num[STATS_DOUBLE_BUFLEN];
    return cJSON_AddRawToObject(
               obj, key, isfinite(d) ? stats_format_double(d, num, sizeof num) : "null") != NULL;
}

static bool add_u64(cJSON *obj, const char *key, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, v);
    return cJSON_AddRawToObject(obj, key, num) != NULL;
}

static bool add_bool(cJSON *obj, const char *key, bool v)
{
    return cJSON_AddBoolToObject(obj, key, v ? 1 : 0) != NULL;
}

/* A string from data: sanitised; NULL becomes null. */
static bool add_text(cJSON *obj, const char *key, const char *s)
{
    if (s == NULL)
        return cJSON_AddNullToObject(obj, key) != NULL;
    char *clean = rpt_utf8_sanitize(s);
    if (clean == NULL)
        return false;
    bool ok = cJSON_AddStringToObject(obj, key, clean) != NULL;
    free(clean);
    return ok;
}

static bool add_side(cJSON *obj, const char *key, const stats_side *s)
{
    cJSON *o = cJSON_AddObjectToObject(obj, key);
    return o != NULL && add_u64(o, "rows", s->rows) && add_u64(o, "missing", s->missing) &&
           add_u64(o, "nonfinite", s->nonfinite);
}

/* Labels of the categories present in current and absent from reference (categorical text
 * columns with labels only), at most JSON_MAX_UNSEEN_LABELS of them. */
static bool add_unseen_labels(cJSON *obj, const stats_column_result *c)
{
    const stats_column *d = c->data;
    if (d == NULL || c->cat_labels == NULL || d->kind != STATS_CAT || d->is_numeric_data ||
        d->ref_cat.count == NULL || d->cur_cat.count == NULL)
        return true;
    cJSON *arr = cJSON_AddArrayToObject(obj, "unseen_category_values");
    if (arr == NULL)
        return false;
    size_t n = d->ref_cat.n_categories < d->cur_cat.n_categories ? d->ref_cat.n_categories
                                                                 : d->cur_cat.n_categories;
    size_t listed = 0;
    for (size_t i = 0; i < n && listed < JSON_MAX_UNSEEN_LABELS; i++) {
        if (d->ref_cat.count[i] != 0 || d->cur_cat.count[i] == 0)
            continue;
        const char *label = c->cat_labels[i] != NULL ? c->cat_labels[i] : "";
        char *clean = rpt_utf8_sanitize(label);
        cJSON *s = clean != NULL ? cJSON_CreateString(clean) : NULL;
        free(clean);
        if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return false;
        }
        listed++;
    }
    return true;
}

/* The sanitised name as a key of obj, malloc'ed.  Keys stay unique even when two names
 * sanitise to the same text (or the data has duplicate names): a repeated key gets
 * " #<position>" appended (1-based position in its list); the column_name field keeps the
 * name itself. */
static char *unique_key(const cJSON *obj, const char *name, size_t index)
{
    char *key = rpt_utf8_sanitize(name != NULL ? name : "");
    if (key == NULL || cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return key;
    size_t len = strlen(key) + 32;
    char *k2 = malloc(len);
    if (k2 != NULL)
        snprintf(k2, len, "%s #%zu", key, index + 1);
    free(key);
    return k2;
}

static bool add_column(cJSON *by_col, const stats_column_result *c, size_t index)
{
    char *key = unique_key(by_col, c->name, index);
    if (key == NULL)
        return false;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && cJSON_AddItemToObject(by_col, key, o);
    free(key);
    if (!ok) {
        cJSON_Delete(o);
        return false;
    }
    const char *tname = stats_test_name(c->test);
    const char *tdisp = stats_test_display(c->test);
    ok = add_text(o, "column_name", c->name) &&
         cJSON_AddStringToObject(o, "column_type", c->kind == STATS_CAT ? "cat" : "num") &&
         add_text(o, "stattest", tname) && add_text(o, "stattest_name", tdisp) &&
         add_double(o, "stattest_threshold", c->threshold) &&
         add_double(o, "drift_score", c->score) && add_bool(o, "drift_detected", c->drifted) &&
         add_side(o, "reference", &c->ref) && add_side(o, "current", &c->cur);
    if (ok && c->kind == STATS_CAT)
        ok = add_u64(o, "unseen_categories", (uint64_t)c->unseen_categories) &&
             add_double(o, "unseen_share", c->unseen_share) && add_unseen_labels(o, c);
    if (ok && c->note != NULL)
        ok = add_text(o, "note", c->note);
    return ok;
}

/* The settings object, sanitised first (the config may hold any bytes in column names);
 * NULL when absent, invalid or not an object. */
static cJSON *parse_settings(const char *text, bool *oom)
{
    *oom = false;
    if (text == NULL)
        return NULL;
    char *clean = rpt_utf8_sanitize(text);
    if (clean == NULL) {
        *oom = true;
        return NULL;
    }
    cJSON *s = cJSON_Parse(clean);
    free(clean);
    if (s != NULL && !cJSON_IsObject(s)) {
        cJSON_Delete(s);
        s = NULL;
    }
    return s;
}

static cJSON *build(const rpt_run *r)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    const stats_verdict *v = &r->verdict;
    cJSON *ref = NULL, *cur = NULL, *retrain = NULL, *by_col = NULL, *skipped = NULL;
    bool ok = add_text(root, "driftmon_version", r->version) &&
              add_text(root, "generated_at", r->generated_at) &&
              (ref = cJSON_AddObjectToObject(root, "reference")) != NULL &&
              add_text(ref, "source", r->ref_source) &&
              (r->ref_name == NULL || add_text(ref, "name", r->ref_name)) &&
              add_u64(ref, "rows", r->ref_rows) && add_text(ref, "profile_sha256", r->ref_sha256) &&
              (cur = cJSON_AddObjectToObject(root, "current")) != NULL &&
              add_text(cur, "source", r->cur_source) && add_u64(cur, "rows", r->cur_rows) &&
              add_u64(root, "number_of_columns", (uint64_t)v->number_of_columns) &&
              add_u64(root, "number_of_drifted_columns", (uint64_t)v->number_of_drifted_columns) &&
              add_double(root, "share_of_drifted_columns", v->share_of_drifted_columns) &&
              add_double(root, "drift_share", r->drift_share) &&
              add_bool(root, "dataset_drift", v->dataset_drift) &&
              (retrain = cJSON_AddObjectToObject(root, "retrain")) != NULL &&
              add_double(retrain, "fraction", r->retrain_fraction) &&
              add_bool(retrain, "flagged", v->retrain);
    if (ok && r->chain_head != NULL)
        ok = add_text(root, "chain_head", r->chain_head);
    if (ok) {
        bool oom;
        cJSON *settings = parse_settings(r->settings_json, &oom);
        if (oom)
            ok = false;
        else if (settings != NULL && !cJSON_AddItemToObject(root, "settings", settings)) {
            cJSON_Delete(settings);
            ok = false;
        }
    }
    ok = ok && (by_col = cJSON_AddObjectToObject(root, "drift_by_columns")) != NULL;
    for (size_t i = 0; ok && i < r->ncols; i++)
        ok = add_column(by_col, &r->cols[i], i);
    ok = ok && (skipped = cJSON_AddObjectToObject(root, "skipped_columns")) != NULL;
    for (size_t i = 0; ok && i < r->nskipped; i++) {
        char *key = unique_key(skipped, r->skipped[i].name, i);
        ok = key != NULL && add_text(skipped, key, r->skipped[i].reason);
        free(key);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

char *rpt_json_render(const rpt_run *r)
{
    if (r == NULL)
        return NULL;
    cJSON *root = build(r);
    if (root == NULL)
        return NULL;
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return NULL;
    /* cJSON allocates with its hooks (malloc by default); hand back a plain malloc'ed copy
     * with a final newline so callers free() it whatever hooks are set. */
    size_t len = strlen(text);
    char *out = malloc(len + 2);
    if (out != NULL) {
        memcpy(out, text, len);
        out[len] = '\n';
        out[len + 1] = '\0';
    }
    cJSON_free(text);
    return out;
}

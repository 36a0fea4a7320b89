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
#include "stats/names.h"
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

/* A string from data: sanitised; NULL becomes null.  The item added, or NULL. */
static cJSON *add_text_item(cJSON *obj, const char *key, const char *s)
{
    if (s == NULL)
        return cJSON_AddNullToObject(obj, key);
    char *clean = rpt_utf8_sanitize(s);
    if (clean == NULL)
        return NULL;
    cJSON *item = cJSON_AddStringToObject(obj, key, clean);
    free(clean);
    return item;
}

static bool add_text(cJSON *obj, const char *key, const char *s)
{
    return add_text_item(obj, key, s) != NULL;
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

/* An object whose keys are names from data (drift_by_columns, skipped_columns), with its
 * keys so far in a map: the keys are the items' own strings, kept by cJSON. */
typedef struct {
    cJSON *obj;
    stats_names keys;
} keyed_obj;

/* The sanitised name as a key of k->obj, malloc'ed.  Keys stay unique even when two names
 * sanitise to the same text (or the data has duplicate names): a repeated key gets
 * " #<position>" appended (1-based position in its list); the column_name field keeps the
 * name itself. */
static char *unique_key(const keyed_obj *k, const char *name, size_t index)
{
    char *key = rpt_utf8_sanitize(name != NULL ? name : "");
    if (key == NULL || stats_names_find(&k->keys, key) < 0)
        return key;
    size_t len = strlen(key) + 32;
    char *k2 = malloc(len);
    if (k2 != NULL)
        snprintf(k2, len, "%s #%zu", key, index + 1);
    free(key);
    return k2;
}

/* item, just added to k->obj (NULL when that failed), into the map of its keys */
static bool keyed_added(keyed_obj *k, const cJSON *item)
{
    return item != NULL && stats_names_add(&k->keys, item->string, 0, NULL) >= 0;
}

static bool add_column(keyed_obj *by_col, const stats_column_result *c, size_t index)
{
    char *key = unique_key(by_col, c->name, index);
    if (key == NULL)
        return false;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && cJSON_AddItemToObject(by_col->obj, key, o);
    free(key);
    if (!ok) {
        cJSON_Delete(o);
        return false;
    }
    if (!keyed_added(by_col, o))
        return false;
    const char *tname = stats_test_name(c->test);
    const char *tdisp = stats_test_display(c->test);
    ok = add_text(o, "column_name", c->name) &&
         cJSON_AddStringToObject(o, "column_type", c->kind == STATS_CAT ? "cat" : "num") &&
         add_text(o, "stattest", tname) && add_text(o, "stattest_name", tdisp) &&
         add_double(o, "stattest_threshold", c->threshold) &&
         add_double(o, "drift_score", c->score) && add_bool(o, "drift_detected", c->drifted) &&
         add_side(o, "reference", &c->ref) && add_side(o, "current", &c->cur) &&
         add_double(o, "importance", c->importance);
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

/* ---- the model (issue 17) ------------------------------------------------------------ */

/* prediction_drift: the score's PSI on the reference's deciles, its band, the approval
 * rates; null without a score column.  Beside the fields: the scores dropped
 * (missing, non-finite), the decile edges and the counts per bin (what the HTML panel
 * draws), and a note when there is no PSI. */
static bool add_prediction(cJSON *root, const rpt_run *r)
{
    if (r->score_column == NULL)
        return cJSON_AddNullToObject(root, "prediction_drift") != NULL;
    cJSON *o = cJSON_AddObjectToObject(root, "prediction_drift");
    const stats_score_drift *s = r->score;
    bool ok = o != NULL && add_text(o, "column", r->score_column) &&
              add_double(o, "psi", s ? s->psi : NAN) &&
              (s ? add_text(o, "band", stats_psi_band_name(s->band))
                 : cJSON_AddNullToObject(o, "band") != NULL) &&
              add_u64(o, "reference_rows", s ? s->ref_n : 0) &&
              add_u64(o, "current_rows", s ? s->cur_n : 0) &&
              add_double(o, "reference_approval_rate", s ? s->ref_approval : NAN) &&
              add_double(o, "current_approval_rate", s ? s->cur_approval : NAN) &&
              add_double(o, "decision_threshold", r->decision_threshold) &&
              add_u64(o, "reference_missing", r->score_ref.missing + r->score_ref.nonfinite) &&
              add_u64(o, "current_missing", r->score_cur.missing + r->score_cur.nonfinite) &&
              add_text(o, "note", r->score_note);
    if (!ok || s == NULL)
        return ok;
    cJSON *edges = cJSON_AddArrayToObject(o, "edges");
    cJSON *rc = cJSON_AddArrayToObject(o, "reference_counts");
    cJSON *cc = cJSON_AddArrayToObject(o, "current_counts");
    ok = edges != NULL && rc != NULL && cc != NULL;
    char num[STATS_DOUBLE_BUFLEN];
    for (size_t i = 0; ok && i < STATS_SCORE_NEDGES; i++)
        ok = cJSON_AddItemToArray(
            edges, cJSON_CreateRaw(stats_format_double(s->edges[i], num, sizeof num)));
    for (size_t i = 0; ok && i < STATS_SCORE_NBINS; i++) {
        snprintf(num, sizeof num, "%" PRIu64, s->ref_count[i]);
        ok = cJSON_AddItemToArray(rc, cJSON_CreateRaw(num));
        snprintf(num, sizeof num, "%" PRIu64, s->cur_count[i]);
        ok = ok && cJSON_AddItemToArray(cc, cJSON_CreateRaw(num));
    }
    return ok;
}

/* One side's performance figures; +inf as the optimal threshold (refuse nobody) is written
 * null with optimal_refuses_nobody true: JSON has no infinity, and a field that is a number
 * or null stays readable by typed parsers (a string there would not). */
static bool add_perf_side(cJSON *o, const char *key, const stats_perf *p, const char *note)
{
    if (p == NULL) {
        char nk[32];
        snprintf(nk, sizeof nk, "%s_note", key);
        return cJSON_AddNullToObject(o, key) != NULL && add_text(o, nk, note);
    }
    cJSON *s = cJSON_AddObjectToObject(o, key);
    bool inf = isinf(p->optimal_threshold);
    return s != NULL && add_u64(s, "rows", p->rows) && add_u64(s, "left_out", p->left_out) &&
           add_u64(s, "tp", p->tp) && add_u64(s, "fp", p->fp) && add_u64(s, "tn", p->tn) &&
           add_u64(s, "fn", p->fn) && add_double(s, "auc", p->auc) &&
           add_double(s, "recall", p->recall) && add_double(s, "precision", p->precision) &&
           add_double(s, "business_cost", p->business_cost) &&
           add_double(s, "optimal_threshold", p->optimal_threshold) &&
           add_bool(s, "optimal_refuses_nobody", inf) &&
           add_double(s, "business_cost_at_optimal", p->business_cost_at_optimal) &&
           add_double(s, "default_rate", p->rows ? (double)(p->tp + p->fn) / (double)p->rows : NAN);
}

/* The evaluation a re-rendered report's current figures come from (report.h). */
static bool add_perf_evaluation(cJSON *o, const rpt_perf_evaluation *e)
{
    if (e == NULL)
        return true;
    cJSON *v = cJSON_AddObjectToObject(o, "evaluation");
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)e->id);
    return v != NULL && cJSON_AddRawToObject(v, "id", id) != NULL &&
           add_text(v, "evaluated_at", e->evaluated_at) &&
           (e->supersedes > 0 ? add_u64(v, "supersedes", (uint64_t)e->supersedes)
                              : cJSON_AddNullToObject(v, "supersedes") != NULL) &&
           add_bool(v, "retrain_flagged", e->retrain_flagged);
}

/* "performance" (issue 21), only when the evaluation is configured. */
static bool add_performance(cJSON *root, const rpt_run *r)
{
    if (r->perf_label == NULL)
        return true;
    cJSON *o = cJSON_AddObjectToObject(root, "performance");
    cJSON *cost = NULL;
    return o != NULL && add_text(o, "label_column", r->perf_label) &&
           add_double(o, "decision_threshold", r->decision_threshold) &&
           (cost = cJSON_AddObjectToObject(o, "cost")) != NULL &&
           add_double(cost, "fn", r->cost_fn) && add_double(cost, "fp", r->cost_fp) &&
           add_perf_side(o, "reference", r->perf_ref, r->perf_ref_note) &&
           add_perf_side(o, "current", r->perf_cur, r->perf_cur_note) &&
           add_double(o, "cost_increase", r->verdict.cost_increase) &&
           add_perf_evaluation(o, r->perf_eval);
}

/* The top-level member key of a cJSON_Print'ed object (see report.h): the offsets of its
 * value, an object, from its '{' to its '}' included.  false when the key is not there once,
 * or its value is not an object. */
static bool member_span(const char *doc, const char *key, size_t *from, size_t *to)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n\t\"%s\":\t{", key);
    const char *a = strstr(doc, pat);
    if (a == NULL || strstr(a + 1, pat) != NULL)
        return false;
    a += strlen(pat) - 1;
    const char *z = strstr(a, "\n\t}");
    if (z == NULL)
        return false;
    *from = (size_t)(a - doc);
    *to = (size_t)(z - doc) + 3;
    return true;
}

/* Is every top-level member of a, but "performance", in b and equal, and the other way? */
static bool same_but_performance(cJSON *a, cJSON *b)
{
    cJSON *pa = cJSON_DetachItemFromObjectCaseSensitive(a, "performance");
    cJSON *pb = cJSON_DetachItemFromObjectCaseSensitive(b, "performance");
    bool same = cJSON_Compare(a, b, 1);
    cJSON_Delete(pa);
    cJSON_Delete(pb);
    return same;
}

int rpt_json_replace_performance(const char *doc, const rpt_run *r, char **out)
{
    *out = NULL;
    if (doc == NULL || r == NULL || r->perf_label == NULL)
        return 1;
    size_t from, to, nfrom, nto;
    if (!member_span(doc, "performance", &from, &to))
        return 1;
    int rc = -1;
    char *text = NULL, *o = NULL;
    cJSON *fresh = cJSON_CreateObject(), *old = NULL, *got = NULL;
    if (fresh == NULL || !add_performance(fresh, r) || (text = cJSON_Print(fresh)) == NULL)
        goto done;
    rc = 1;
    if (!member_span(text, "performance", &nfrom, &nto))
        goto done; /* not cJSON_Print's form: the check below would fail too */
    size_t tail = strlen(doc + to);
    o = malloc(from + (nto - nfrom) + tail + 1);
    if (o == NULL) {
        rc = -1;
        goto done;
    }
    memcpy(o, doc, from);
    memcpy(o + from, text + nfrom, nto - nfrom);
    memcpy(o + from + (nto - nfrom), doc + to, tail + 1);
    /* the splice is what it claims: the new performance, everything else as it was */
    cJSON_Delete(fresh); /* raw items: compared as parsed */
    fresh = cJSON_Parse(text);
    old = cJSON_Parse(doc);
    got = cJSON_Parse(o);
    if (fresh == NULL || old == NULL || got == NULL || !cJSON_IsObject(got) ||
        !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(got, "performance"),
                       cJSON_GetObjectItemCaseSensitive(fresh, "performance"), 1) ||
        !same_but_performance(old, got))
        goto done;
    *out = o;
    o = NULL;
    rc = 0;
done:
    free(o);
    cJSON_free(text);
    cJSON_Delete(fresh);
    cJSON_Delete(old);
    cJSON_Delete(got);
    return rc;
}

/* The importance figures at the top level: the weighted share (null without importances, or
 * with the reason when they sum to 0 over the tested columns) and the file's digest. */
static bool add_importance(cJSON *root, const rpt_run *r)
{
    bool have = r->importance_sha256 != NULL;
    return add_double(root, "importance_weighted_share",
                      have ? r->verdict.importance_weighted_share : NAN) &&
           add_text(root, "importance_weighted_share_note", have ? r->weighted_note : NULL) &&
           add_text(root, "importance_sha256", r->importance_sha256);
}

/* The columns the importances name that were not tested: {name: {importance, reason}}. */
static bool add_untested(cJSON *root, const rpt_run *r)
{
    cJSON *o = cJSON_AddObjectToObject(root, "importance_not_tested");
    bool ok = o != NULL;
    keyed_obj k = {o, {NULL, 0, 0}};
    for (size_t i = 0; ok && i < r->nuntested; i++) {
        char *key = unique_key(&k, r->untested[i].name, i);
        cJSON *e = key != NULL ? cJSON_CreateObject() : NULL;
        ok = e != NULL && cJSON_AddItemToObject(o, key, e);
        if (!ok)
            cJSON_Delete(e);
        free(key);
        ok = ok && keyed_added(&k, e) && add_double(e, "importance", r->untested[i].importance) &&
             add_text(e, "reason", r->untested[i].reason);
    }
    stats_names_release(&k.keys);
    return ok;
}

static bool add_reasons(cJSON *retrain, const rpt_run *r)
{
    cJSON *a = cJSON_AddArrayToObject(retrain, "reasons");
    bool ok = a != NULL;
    for (unsigned i = 0; ok && i < STATS_RETRAIN_NREASONS; i++)
        if (r->verdict.retrain_reasons & (1u << i))
            ok = cJSON_AddItemToArray(a, cJSON_CreateString(stats_retrain_reason_name(i)));
    return ok;
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
              (r->monitor == NULL || add_text(root, "monitor", r->monitor)) &&
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
              add_bool(root, "dataset_drift", v->dataset_drift) && add_importance(root, r) &&
              add_prediction(root, r) &&
              (retrain = cJSON_AddObjectToObject(root, "retrain")) != NULL &&
              add_double(retrain, "fraction", r->retrain_fraction) &&
              add_bool(retrain, "flagged", v->retrain) &&
              add_double(retrain, "weighted_fraction", r->retrain_weighted_fraction) &&
              add_double(retrain, "score_psi", r->retrain_score_psi) &&
              (r->perf_label == NULL || isnan(r->retrain_cost_increase) ||
               add_double(retrain, "cost_increase", r->retrain_cost_increase)) &&
              add_reasons(retrain, r) && add_performance(root, r);
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
    keyed_obj k = {NULL, {NULL, 0, 0}};
    ok = ok && (by_col = cJSON_AddObjectToObject(root, "drift_by_columns")) != NULL;
    k.obj = by_col;
    for (size_t i = 0; ok && i < r->ncols; i++)
        ok = add_column(&k, &r->cols[i], i);
    stats_names_release(&k.keys);
    ok = ok && (skipped = cJSON_AddObjectToObject(root, "skipped_columns")) != NULL;
    k.obj = skipped;
    for (size_t i = 0; ok && i < r->nskipped; i++) {
        char *key = unique_key(&k, r->skipped[i].name, i);
        ok = key != NULL && keyed_added(&k, add_text_item(skipped, key, r->skipped[i].reason));
        free(key);
    }
    stats_names_release(&k.keys);
    ok = ok && add_untested(root, r);
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

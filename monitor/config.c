/* config.c - parse and validate driftmon's JSON configuration (see config.h). */
#include "monitor/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cJSON.h>

#include "monitor/conninfo.h"
#include "monitor/dataset.h"
#include "monitor/metrics.h"
#include "monitor/sha256.h"
#include "stats/numfmt.h"

void dm_config_defaults(dm_config *c)
{
    memset(c, 0, sizeof *c);
    c->stattest = c->num_stattest = c->cat_stattest = DM_TEST_DEFAULT;
    c->threshold = c->num_threshold = c->cat_threshold = NAN;
    c->drift_share = 0.5;
    c->retrain_fraction = 0.5;
    c->retrain_weighted_fraction = NAN;
    c->retrain_score_psi = NAN;
    c->decision_threshold = NAN;
    c->label_delay_s = NAN;
    c->cost_fn = 10.0;
    c->cost_fp = 1.0;
    c->retrain_cost_increase = NAN;
    c->hook_timeout_s = 60.0;
    c->hook_max_attempts = 8;
    c->history_runs = DM_HISTORY_RUNS_DEFAULT;
    c->copy_streams = 1;
    c->warm_backend = true;
    c->replica_max_wait_s = DM_REPLICA_MAX_WAIT_DEFAULT;
    c->memory_limit = DM_MEMORY_LIMIT_DEFAULT;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void dm_config_release(dm_config *c)
{
    if (!c)
        return;
    free(c->path);
    free_list(c->numeric, c->n_numeric);
    free_list(c->categorical, c->n_categorical);
    free_list(c->exclude, c->n_exclude);
    for (size_t i = 0; i < c->n_per_column; i++)
        free(c->per_column[i].name);
    free(c->per_column);
    stats_names_release(&c->excluded);
    stats_names_release(&c->forced);
    stats_names_release(&c->overrides);
    free_list(c->hook, c->n_hook);
    free_list(c->hook_env, c->n_hook_env);
    free(c->notify_channel);
    free(c->importance_path);
    free(c->score_column);
    free(c->label_column);
    free(c->conninfo);
    free(c->read_conninfo);
    for (int r = 0; r < DM_ROLE_COUNT; r++)
        free(c->roles[r]);
    free(c->source_table);
    free(c->batch_column);
    free(c->timestamp_column);
    free(c->reference_name);
    free(c->reports_dir);
    free(c->cache_dir);
    free(c->schedule_every);
    free(c->metrics_listen);
    free(c->monitor);
    for (size_t i = 0; i < c->n_monitors; i++)
        dm_config_release(&c->monitors[i]);
    free(c->monitors);
    dm_config_defaults(c);
}

/* ---- error helpers ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    char *err;
    size_t errlen;
    /* "monitors[i]." inside a monitors entry, else "": every key path a message names
     * (`key "...`) is given with it, so that the message names the entry */
    const char *prefix;
} ctx;

/* msg with prefix inserted after each `key "` (into out, cut to len). */
static void prefix_keys(const char *msg, const char *prefix, char *out, size_t len)
{
    static const char mark[] = "key \"";
    size_t k = 0;
    out[0] = '\0';
    for (const char *p = msg; *p && k + 1 < len;) {
        if (strncmp(p, mark, sizeof mark - 1) == 0) {
            int n = snprintf(out + k, len - k, "%s%s", mark, prefix);
            if (n < 0 || (size_t)n >= len - k) {
                k = len - 1;
                break;
            }
            k += (size_t)n;
            p += sizeof mark - 1;
        } else {
            out[k++] = *p++;
        }
    }
    out[k < len ? k : len - 1] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
fail(ctx *x, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[640];
    if (x->prefix && x->prefix[0])
        prefix_keys(msg, x->prefix, full, sizeof full);
    else
        snprintf(full, sizeof full, "%s", msg);
    if (x->err && x->errlen)
        snprintf(x->err, x->errlen, "%s: %s", x->name, full);
    return -1;
}

/* A short, printable rendering of a JSON value for messages. */
static void show(const cJSON *v, char *buf, size_t len)
{
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        snprintf(buf, len, "?");
        return;
    }
    if (strlen(s) > 60)
        memcpy(s + 57, "...", 4);
    snprintf(buf, len, "%s", s);
    cJSON_free(s);
}

static bool is_null(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

/* Reject unknown and duplicate keys of an object. */
static int check_keys(ctx *x, const cJSON *obj, const char *path, const char *const *allowed)
{
    if (!cJSON_IsObject(obj)) {
        char b[80];
        show(obj, b, sizeof b);
        return fail(x, "key \"%s\": expected an object, got %s", path, b);
    }
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(it->string, allowed[i]) == 0)
                ok = true;
        if (!ok)
            return fail(x, "unknown key \"%s%s%s\"", path, *path ? "." : "", it->string);
        for (const cJSON *jt = it->next; jt; jt = jt->next)
            if (strcmp(it->string, jt->string) == 0)
                return fail(x, "duplicate key \"%s%s%s\"", path, *path ? "." : "", it->string);
    }
    return 0;
}

static int get_string(ctx *x, const cJSON *obj, const char *key, const char *path, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (is_null(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        char b[80];
        show(v, b, sizeof b);
        return fail(x, "key \"%s.%s\": expected a non-empty string, got %s", path, key, b);
    }
    char *s = strdup(v->valuestring);
    if (!s)
        return fail(x, "out of memory");
    free(*out);
    *out = s;
    return 0;
}

static int get_string_list(ctx *x, const cJSON *obj, const char *key, const char *path, char ***out,
                           size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (is_null(v))
        return 0;
    char b[80];
    if (!cJSON_IsArray(v)) {
        show(v, b, sizeof b);
        return fail(x, "key \"%s.%s\": expected an array of strings, got %s", path, key, b);
    }
    size_t cnt = (size_t)cJSON_GetArraySize(v);
    char **l = calloc(cnt + 1, sizeof *l);
    if (!l)
        return fail(x, "out of memory");
    size_t i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it) || !it->valuestring[0]) {
            show(it, b, sizeof b);
            free_list(l, i);
            return fail(x, "key \"%s.%s[%zu]\": expected a non-empty string, got %s", path, key, i,
                        b);
        }
        l[i] = strdup(it->valuestring);
        if (!l[i]) {
            free_list(l, i);
            return fail(x, "out of memory");
        }
    }
    *out = l;
    *n = cnt;
    return 0;
}

static int parse_test(ctx *x, const cJSON *v, const char *keypath, int *out)
{
    if (is_null(v))
        return 0;
    char b[80];
    stats_test t;
    if (!cJSON_IsString(v) || stats_test_from_name(v->valuestring, &t) != STATS_OK) {
        show(v, b, sizeof b);
        return fail(x,
                    "key \"%s\": unknown stattest %s (expected one of wasserstein, "
                    "jensenshannon, ks, chisquare, z, psi, kl_div, hellinger, ed)",
                    keypath, b);
    }
    *out = (int)t;
    return 0;
}

static int parse_number(ctx *x, const cJSON *v, const char *keypath, double lo, double hi,
                        double *out)
{
    if (is_null(v))
        return 0;
    char b[80];
    if (!cJSON_IsNumber(v)) {
        show(v, b, sizeof b);
        return fail(x, "key \"%s\": expected a number, got %s", keypath, b);
    }
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi) {
        show(v, b, sizeof b);
        if (isinf(hi))
            return fail(x, "key \"%s\": %s is out of range (expected >= %g)", keypath, b, lo);
        return fail(x, "key \"%s\": %s is out of range (expected %g to %g)", keypath, b, lo, hi);
    }
    *out = d;
    return 0;
}

static int parse_bool(ctx *x, const cJSON *v, const char *keypath, bool *out)
{
    if (is_null(v))
        return 0;
    if (!cJSON_IsBool(v)) {
        char b[80];
        show(v, b, sizeof b);
        return fail(x, "key \"%s\": expected true or false, got %s", keypath, b);
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A threshold that goes with a known p-value test must be <= 1. */
static int check_pvalue_threshold(ctx *x, int test, double thr, const char *keypath)
{
    if (test != DM_TEST_DEFAULT && stats_test_is_pvalue((stats_test)test) && !isnan(thr) &&
        thr > 1.0)
        return fail(x, "key \"%s\": %g is out of range for the p-value test \"%s\" (0 to 1)",
                    keypath, thr, stats_test_name((stats_test)test));
    return 0;
}

static dm_column_override *override_for(dm_config *c, const char *name)
{
    long i = stats_names_find(&c->overrides, name);
    if (i >= 0)
        return &c->per_column[i];
    /* room for a power of two of entries: n adds cost O(n) */
    size_t n = c->n_per_column;
    if ((n & (n - 1)) == 0) {
        dm_column_override *grown = realloc(c->per_column, (n ? 2 * n : 1) * sizeof *grown);
        if (!grown)
            return NULL;
        c->per_column = grown;
    }
    dm_column_override *o = &c->per_column[n];
    o->name = strdup(name);
    if (!o->name)
        return NULL;
    if (stats_names_add(&c->overrides, o->name, n, NULL) != 0) {
        free(o->name);
        return NULL;
    }
    o->test = DM_TEST_DEFAULT;
    o->threshold = NAN;
    c->n_per_column++;
    return o;
}

static int parse_drift(ctx *x, const cJSON *d, dm_config *c)
{
    static const char *const keys[] = {"stattest",
                                       "num_stattest",
                                       "cat_stattest",
                                       "per_column_stattest",
                                       "stattest_threshold",
                                       "num_stattest_threshold",
                                       "cat_stattest_threshold",
                                       "per_column_stattest_threshold",
                                       "drift_share",
                                       "int_width_rule",
                                       NULL};
    if (check_keys(x, d, "drift", keys))
        return -1;
    if (parse_test(x, cJSON_GetObjectItemCaseSensitive(d, "stattest"), "drift.stattest",
                   &c->stattest) ||
        parse_test(x, cJSON_GetObjectItemCaseSensitive(d, "num_stattest"), "drift.num_stattest",
                   &c->num_stattest) ||
        parse_test(x, cJSON_GetObjectItemCaseSensitive(d, "cat_stattest"), "drift.cat_stattest",
                   &c->cat_stattest))
        return -1;
    if (parse_number(x, cJSON_GetObjectItemCaseSensitive(d, "stattest_threshold"),
                     "drift.stattest_threshold", 0, INFINITY, &c->threshold) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(d, "num_stattest_threshold"),
                     "drift.num_stattest_threshold", 0, INFINITY, &c->num_threshold) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(d, "cat_stattest_threshold"),
                     "drift.cat_stattest_threshold", 0, INFINITY, &c->cat_threshold) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(d, "drift_share"), "drift.drift_share", 0,
                     1, &c->drift_share))
        return -1;
    if (check_pvalue_threshold(x, c->stattest, c->threshold, "drift.stattest_threshold") ||
        check_pvalue_threshold(x, c->num_stattest, c->num_threshold,
                               "drift.num_stattest_threshold") ||
        check_pvalue_threshold(x, c->cat_stattest, c->cat_threshold,
                               "drift.cat_stattest_threshold"))
        return -1;
    if (parse_bool(x, cJSON_GetObjectItemCaseSensitive(d, "int_width_rule"), "drift.int_width_rule",
                   &c->stats.int_width_rule))
        return -1;
    const cJSON *pcs = cJSON_GetObjectItemCaseSensitive(d, "per_column_stattest");
    if (!is_null(pcs)) {
        static const char *const any[] = {NULL};
        (void)any;
        if (!cJSON_IsObject(pcs))
            return check_keys(x, pcs, "drift.per_column_stattest", any);
        for (const cJSON *it = pcs->child; it; it = it->next) {
            char kp[300];
            snprintf(kp, sizeof kp, "drift.per_column_stattest.%s", it->string);
            dm_column_override *o = override_for(c, it->string);
            if (!o)
                return fail(x, "out of memory");
            if (parse_test(x, it, kp, &o->test))
                return -1;
        }
    }
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(d, "per_column_stattest_threshold");
    if (!is_null(pct)) {
        static const char *const any[] = {NULL};
        if (!cJSON_IsObject(pct))
            return check_keys(x, pct, "drift.per_column_stattest_threshold", any);
        for (const cJSON *it = pct->child; it; it = it->next) {
            char kp[300];
            snprintf(kp, sizeof kp, "drift.per_column_stattest_threshold.%s", it->string);
            dm_column_override *o = override_for(c, it->string);
            if (!o)
                return fail(x, "out of memory");
            if (parse_number(x, it, kp, 0, INFINITY, &o->threshold))
                return -1;
        }
    }
    for (size_t i = 0; i < c->n_per_column; i++) {
        dm_column_override *o = &c->per_column[i];
        char kp[300];
        snprintf(kp, sizeof kp, "drift.per_column_stattest_threshold.%s", o->name);
        int t;
        double thr;
        dm_config_resolve(c, o->name, STATS_NUM, &t, &thr);
        if (check_pvalue_threshold(x, t, thr, kp))
            return -1;
        dm_config_resolve(c, o->name, STATS_CAT, &t, &thr);
        if (check_pvalue_threshold(x, t, thr, kp))
            return -1;
    }
    return 0;
}

/* An environment variable's name as POSIX shells take it: letters, digits and '_', not
 * starting with a digit. */
static bool env_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

/* What a retrain object may hold where it is (the monitors form splits it): RETRAIN_ALL in
 * the single-monitor form; a monitor's conditions and its NOTIFY channel; the hook's delivery,
 * which one daemon does for every monitor, at the top level of the monitors form. */
enum { RETRAIN_ALL, RETRAIN_MONITOR, RETRAIN_DELIVERY };

static const char *const retrain_delivery_keys[] = {"hook", "hook_timeout", "max_attempts", "env",
                                                    NULL};

static bool in_list(const char *const *l, const char *k)
{
    for (size_t i = 0; l[i]; i++)
        if (strcmp(l[i], k) == 0)
            return true;
    return false;
}

static int parse_retrain(ctx *x, const cJSON *r, dm_config *c, int where)
{
    static const char *const keys[] = {"fraction",      "hook", "notify_channel",    "hook_timeout",
                                       "max_attempts",  "env",  "weighted_fraction", "score_psi",
                                       "cost_increase", NULL};
    if (check_keys(x, r, "retrain", keys))
        return -1;
    for (const cJSON *it = r->child; it && where != RETRAIN_ALL; it = it->next) {
        bool delivery = in_list(retrain_delivery_keys, it->string);
        if (where == RETRAIN_MONITOR && delivery)
            return fail(x,
                        "key \"retrain.%s\": the hook is set once, at the top level "
                        "(\"retrain.%s\" beside \"monitors\"): one daemon delivers every "
                        "monitor's alerts",
                        it->string, it->string);
        if (where == RETRAIN_DELIVERY && !delivery)
            return fail(x,
                        "key \"retrain.%s\": with \"monitors\", set it in each monitor "
                        "(\"monitors[i].retrain.%s\")",
                        it->string, it->string);
    }
    if (parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "fraction"), "retrain.fraction", 0, 1,
                     &c->retrain_fraction) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "weighted_fraction"),
                     "retrain.weighted_fraction", 0, 1, &c->retrain_weighted_fraction) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "score_psi"), "retrain.score_psi", 0,
                     INFINITY, &c->retrain_score_psi) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "cost_increase"),
                     "retrain.cost_increase", 0, INFINITY, &c->retrain_cost_increase) ||
        parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "hook_timeout"), "retrain.hook_timeout",
                     0.001, 86400, &c->hook_timeout_s))
        return -1;
    double attempts = c->hook_max_attempts;
    if (parse_number(x, cJSON_GetObjectItemCaseSensitive(r, "max_attempts"), "retrain.max_attempts",
                     1, 1000, &attempts))
        return -1;
    if (attempts != floor(attempts))
        return fail(x, "key \"retrain.max_attempts\": %g is not a whole number", attempts);
    c->hook_max_attempts = (int)attempts;
    if (get_string_list(x, r, "hook", "retrain", &c->hook, &c->n_hook))
        return -1;
    if (c->hook && c->n_hook == 0)
        return fail(x, "key \"retrain.hook\": the command is empty");
    if (get_string_list(x, r, "env", "retrain", &c->hook_env, &c->n_hook_env))
        return -1;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(r, "env");
    size_t i = 0;
    for (const cJSON *it = ev ? ev->child : NULL; it && c->hook_env; it = it->next, i++)
        if (!env_name(c->hook_env[i])) {
            char b[80];
            show(it, b, sizeof b);
            return fail(x,
                        "key \"retrain.env[%zu]\": %s is not an environment variable name "
                        "(letters, digits and '_', not starting with a digit)",
                        i, b);
        }
    return get_string(x, r, "notify_channel", "retrain", &c->notify_channel);
}

int64_t dm_config_parse_interval(const char *s)
{
    if (!s)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || errno || n <= 0)
        return -1;
    while (*end == ' ')
        end++;
    static const struct {
        const char *name;
        int64_t secs;
    } units[] = {{"second", 1},    {"seconds", 1},   {"minute", 60}, {"minutes", 60},
                 {"hour", 3600},   {"hours", 3600},  {"day", 86400}, {"days", 86400},
                 {"week", 604800}, {"weeks", 604800}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].name) == 0) {
            if (n > INT64_MAX / units[i].secs / 1000)
                return -1;
            return (int64_t)n * units[i].secs;
        }
    return -1;
}

static int parse_model(ctx *x, const cJSON *m, dm_config *c)
{
    static const char *const keys[] = {
        "importance", "score_column", "decision_threshold", "label_column", "label_delay", "cost",
        NULL};
    if (check_keys(x, m, "model", keys) ||
        get_string(x, m, "importance", "model", &c->importance_path) ||
        get_string(x, m, "score_column", "model", &c->score_column) ||
        get_string(x, m, "label_column", "model", &c->label_column))
        return -1;
    if (parse_number(x, cJSON_GetObjectItemCaseSensitive(m, "decision_threshold"),
                     "model.decision_threshold", -INFINITY, INFINITY, &c->decision_threshold))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "label_delay");
    if (!is_null(v)) {
        int64_t s = cJSON_IsString(v) ? dm_config_parse_interval(v->valuestring) : -1;
        if (s <= 0) {
            char b[80];
            show(v, b, sizeof b);
            return fail(x,
                        "key \"model.label_delay\": %s is not \"N seconds|minutes|hours|days|"
                        "weeks\"",
                        b);
        }
        c->label_delay_s = (double)s;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(m, "cost"))) {
        static const char *const cost_keys[] = {"fn", "fp", NULL};
        if (check_keys(x, v, "model.cost", cost_keys) ||
            parse_number(x, cJSON_GetObjectItemCaseSensitive(v, "fn"), "model.cost.fn", 0, INFINITY,
                         &c->cost_fn) ||
            parse_number(x, cJSON_GetObjectItemCaseSensitive(v, "fp"), "model.cost.fp", 0, INFINITY,
                         &c->cost_fp))
            return -1;
        if (c->cost_fn == 0 && c->cost_fp == 0) {
            char b[80];
            show(v, b, sizeof b);
            return fail(x, "key \"model.cost\": %s: the two costs are both 0 (no cost to weigh)",
                        b);
        }
    }
    return 0;
}

static const char *const role_keys[] = {"owner", "daemon", "engine", "auditor", NULL};

/* database.roles: PostgreSQL role names (at most 63 bytes, no control character, not
 * reserved: "public", "none", "pg_..."), four different ones. */
static int parse_roles(ctx *x, const cJSON *v, dm_config *c)
{
    if (check_keys(x, v, "database.roles", role_keys))
        return -1;
    for (int r = 0; r < DM_ROLE_COUNT; r++) {
        char path[64];
        snprintf(path, sizeof path, "database.roles.%s", role_keys[r]);
        if (get_string(x, v, role_keys[r], "database.roles", &c->roles[r]))
            return -1;
        const char *n = c->roles[r];
        if (!n)
            continue;
        char shown[DM_SHOWN_LEN];
        dm_show_value(n, strlen(n), shown, sizeof shown);
        bool ctl = false;
        for (const char *q = n; *q; q++)
            ctl |= (unsigned char)*q < 0x20 || *q == 0x7f;
        if (strlen(n) > 63 || ctl)
            return fail(x,
                        "key \"%s\": \"%s\" is not a role name (at most 63 bytes, no control "
                        "characters)",
                        path, shown);
        if (strcmp(n, "public") == 0 || strcmp(n, "none") == 0 || strncmp(n, "pg_", 3) == 0)
            return fail(x, "key \"%s\": \"%s\" is a name PostgreSQL reserves", path, shown);
    }
    for (int r = 0; r < DM_ROLE_COUNT; r++)
        for (int q = r + 1; q < DM_ROLE_COUNT; q++)
            if (strcmp(dm_config_role(c, (dm_role)r, NULL), dm_config_role(c, (dm_role)q, NULL)) ==
                0) {
                char shown[DM_SHOWN_LEN];
                const char *n = dm_config_role(c, (dm_role)r, NULL);
                dm_show_value(n, strlen(n), shown, sizeof shown);
                return fail(x,
                            "key \"database.roles.%s\": \"%s\" is also database.roles.%s: the "
                            "four roles must differ",
                            role_keys[q], shown, role_keys[r]);
            }
    return 0;
}

const char *dm_config_role(const dm_config *c, dm_role r, const char **key)
{
    /* (not a key list: tests/integration/readme.sh reads those) */
    static const char *defaults[DM_ROLE_COUNT] = {"driftmon_owner", "driftmon_daemon",
                                                  "driftmon_engine", "driftmon_auditor"};
    if (key)
        *key = role_keys[r];
    return c->roles[r] ? c->roles[r] : defaults[r];
}

/* database.<key>, a libpq conninfo: neither a wrong value nor libpq's parse error is shown,
 * either may hold a password (dm_conninfo_scrub says what is wrong in its own words). */
static int parse_conninfo(ctx *x, const cJSON *db, const char *key, char **out)
{
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(db, key);
    char why[256];
    if (!is_null(ci) && (!cJSON_IsString(ci) || !ci->valuestring[0]))
        return fail(x,
                    "key \"database.%s\": expected a non-empty string (the value is not shown: "
                    "it may hold a password)",
                    key);
    if (get_string(x, db, key, "database", out))
        return -1;
    if (*out && dm_conninfo_scrub(*out, why, sizeof why) != 0)
        return fail(x, "key \"database.%s\": %s", key, why);
    return 0;
}

/* limits.memory: a whole number of bytes, or a string "<whole number> <unit>" with the unit
 * B, KiB, MiB or GiB (the blank optional); at least 1 MiB. */
/* limits.unit_values: a whole number >= 0 (0: never cut into work units). */
static int parse_unit_values(ctx *x, const cJSON *v, uint64_t *out)
{
    if (is_null(v))
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 0x1p62 ||
        v->valuedouble != floor(v->valuedouble)) {
        char b[80];
        show(v, b, sizeof b);
        return fail(x,
                    "key \"limits.unit_values\": expected a whole number of values (rows x "
                    "numeric columns) of at least 0, got %s",
                    b);
    }
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int parse_memory(ctx *x, const cJSON *v, uint64_t *out)
{
    if (is_null(v))
        return 0;
    char b[80];
    show(v, b, sizeof b);
    double n = NAN;
    uint64_t unit = 1;
    if (cJSON_IsNumber(v)) {
        n = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        char *end;
        errno = 0;
        if (*s >= '0' && *s <= '9') {
            n = strtod(s, &end);
            while (*end == ' ')
                end++;
            static const struct {
                const char *name;
                uint64_t bytes;
            } units[] = {
                {"", 1}, {"B", 1}, {"KiB", 1u << 10}, {"MiB", 1u << 20}, {"GiB", 1u << 30}};
            bool known = false;
            for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
                if (strcmp(end, units[i].name) == 0) {
                    unit = units[i].bytes;
                    known = true;
                }
            if (!known || errno)
                n = NAN;
        }
    }
    double bytes = n * (double)unit;
    if (!(n == floor(n)) || !(bytes >= (double)(1u << 20)) || bytes > 0x1p62)
        return fail(x,
                    "key \"limits.memory\": expected a whole number of bytes of at least 1 MiB, "
                    "or a string such as \"512 MiB\" or \"2GiB\" (units B, KiB, MiB, GiB), got %s",
                    b);
    *out = (uint64_t)bytes;
    return 0;
}

/* The keys every monitor shares: database, cache, metrics (the daemon's endpoint), limits. */
static int parse_shared(ctx *x, const cJSON *root, dm_config *c)
{
    const cJSON *v;
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "database"))) {
        static const char *const k[] = {"conninfo", "copy_streams",  "warm_backend",
                                        "roles",    "read_conninfo", "replica_max_wait",
                                        NULL};
        if (check_keys(x, v, "database", k))
            return -1;
        if (parse_conninfo(x, v, "conninfo", &c->conninfo) ||
            parse_conninfo(x, v, "read_conninfo", &c->read_conninfo))
            return -1;
        if (parse_number(x, cJSON_GetObjectItemCaseSensitive(v, "replica_max_wait"),
                         "database.replica_max_wait", 0, DM_REPLICA_MAX_WAIT_LIMIT,
                         &c->replica_max_wait_s))
            return -1;
        if (parse_bool(x, cJSON_GetObjectItemCaseSensitive(v, "warm_backend"),
                       "database.warm_backend", &c->warm_backend))
            return -1;
        const cJSON *ro = cJSON_GetObjectItemCaseSensitive(v, "roles");
        if (!is_null(ro) && parse_roles(x, ro, c))
            return -1;
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(v, "copy_streams");
        if (!is_null(cs)) {
            if (!cJSON_IsNumber(cs) || (cs->valuedouble != 1.0 && cs->valuedouble != 2.0)) {
                char b[80];
                show(cs, b, sizeof b);
                return fail(x, "key \"database.copy_streams\": expected 1 or 2, got %s", b);
            }
            c->copy_streams = (int)cs->valuedouble;
        }
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "cache"))) {
        static const char *const k[] = {"dir", NULL};
        if (check_keys(x, v, "cache", k) || get_string(x, v, "dir", "cache", &c->cache_dir))
            return -1;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "limits"))) {
        static const char *const k[] = {"memory", "unit_values", NULL};
        if (check_keys(x, v, "limits", k) ||
            parse_memory(x, cJSON_GetObjectItemCaseSensitive(v, "memory"), &c->memory_limit) ||
            parse_unit_values(x, cJSON_GetObjectItemCaseSensitive(v, "unit_values"),
                              &c->unit_values))
            return -1;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "metrics"))) {
        static const char *const k[] = {"listen", NULL};
        if (check_keys(x, v, "metrics", k) ||
            get_string(x, v, "listen", "metrics", &c->metrics_listen))
            return -1;
        struct sockaddr_storage ss;
        unsigned sslen;
        char why[200];
        if (c->metrics_listen &&
            dm_metrics_parse_listen(c->metrics_listen, &ss, &sslen, why, sizeof why) != 0) {
            char b[80];
            show(cJSON_GetObjectItemCaseSensitive(v, "listen"), b, sizeof b);
            return fail(x, "key \"metrics.listen\": %s: %s", b, why);
        }
    }
    return 0;
}

/* The keys a monitor has of its own: columns, drift, retrain (its conditions; all of it in
 * the single-monitor form), model, source, reference, reports, schedule. */
static int parse_own(ctx *x, const cJSON *root, dm_config *c, int retrain_where)
{
    const cJSON *v;
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "columns"))) {
        static const char *const k[] = {"numeric", "categorical", "exclude", NULL};
        if (check_keys(x, v, "columns", k) ||
            get_string_list(x, v, "numeric", "columns", &c->numeric, &c->n_numeric) ||
            get_string_list(x, v, "categorical", "columns", &c->categorical, &c->n_categorical) ||
            get_string_list(x, v, "exclude", "columns", &c->exclude, &c->n_exclude))
            return -1;
        for (size_t i = 0; i < c->n_exclude; i++)
            if (stats_names_add(&c->excluded, c->exclude[i], 0, NULL) < 0)
                return fail(x, "out of memory");
        for (size_t i = 0; i < c->n_numeric; i++)
            if (stats_names_add(&c->forced, c->numeric[i], 1, NULL) < 0)
                return fail(x, "out of memory");
        for (size_t j = 0; j < c->n_categorical; j++) {
            size_t had = 0;
            int rc = stats_names_add(&c->forced, c->categorical[j], 2, &had);
            if (rc < 0)
                return fail(x, "out of memory");
            if (rc == 1 && had == 1)
                return fail(x,
                            "key \"columns.categorical\": \"%s\" is also listed in "
                            "columns.numeric",
                            c->categorical[j]);
        }
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "drift")) && parse_drift(x, v, c))
        return -1;
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "retrain")) &&
        parse_retrain(x, v, c, retrain_where))
        return -1;
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "model")) && parse_model(x, v, c))
        return -1;
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "source"))) {
        static const char *const k[] = {"table", "batch_column", "timestamp_column", NULL};
        if (check_keys(x, v, "source", k) ||
            get_string(x, v, "table", "source", &c->source_table) ||
            get_string(x, v, "batch_column", "source", &c->batch_column) ||
            get_string(x, v, "timestamp_column", "source", &c->timestamp_column))
            return -1;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "reference"))) {
        static const char *const k[] = {"name", NULL};
        if (check_keys(x, v, "reference", k) ||
            get_string(x, v, "name", "reference", &c->reference_name))
            return -1;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "reports"))) {
        static const char *const k[] = {"dir", "history_runs", NULL};
        if (check_keys(x, v, "reports", k) || get_string(x, v, "dir", "reports", &c->reports_dir))
            return -1;
        double hr = c->history_runs;
        if (parse_number(x, cJSON_GetObjectItemCaseSensitive(v, "history_runs"),
                         "reports.history_runs", 1, 100000, &hr))
            return -1;
        if (hr != floor(hr))
            return fail(x, "key \"reports.history_runs\": %g is not a whole number", hr);
        c->history_runs = (int)hr;
    }
    if (!is_null(v = cJSON_GetObjectItemCaseSensitive(root, "schedule"))) {
        static const char *const k[] = {"every", NULL};
        if (check_keys(x, v, "schedule", k) ||
            get_string(x, v, "every", "schedule", &c->schedule_every))
            return -1;
    }
    return 0;
}

bool dm_config_monitor_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DM_MONITOR_NAME_MAX || !isalnum((unsigned char)s[0]))
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* A directory's path for comparing two of them: trailing slashes and "./" segments off,
 * repeated slashes as one (links are not followed: the paths may not exist yet). */
static void dir_key(const char *d, char *out, size_t len)
{
    size_t k = 0;
    for (const char *p = d; *p && k + 1 < len; p++) {
        if (*p == '/' && k > 0 && out[k - 1] == '/')
            continue;
        if (*p == '.' && (p == d || p[-1] == '/') && (p[1] == '/' || p[1] == '\0')) {
            if (p[1] == '/')
                p++;
            continue;
        }
        out[k++] = *p;
    }
    while (k > 1 && out[k - 1] == '/')
        k--;
    if (k == 0)
        out[k++] = '.';
    out[k] = '\0';
}

/* The shared keys of root into m (a monitor of the monitors form). */
static int copy_shared(ctx *x, const dm_config *root, dm_config *m)
{
    m->copy_streams = root->copy_streams;
    m->warm_backend = root->warm_backend;
    m->replica_max_wait_s = root->replica_max_wait_s;
    m->memory_limit = root->memory_limit;
    m->unit_values = root->unit_values;
    if ((root->conninfo && !(m->conninfo = strdup(root->conninfo))) ||
        (root->read_conninfo && !(m->read_conninfo = strdup(root->read_conninfo))) ||
        (root->cache_dir && !(m->cache_dir = strdup(root->cache_dir))))
        return fail(x, "out of memory");
    for (int r = 0; r < DM_ROLE_COUNT; r++)
        if (root->roles[r] && !(m->roles[r] = strdup(root->roles[r])))
            return fail(x, "out of memory");
    return 0;
}

/* Keys of the single-monitor form that a monitors form sets per monitor. */
static const char *const own_keys[] = {"columns",   "drift",   "model",    "source",
                                       "reference", "reports", "schedule", NULL};

static int parse_monitors(ctx *x, const cJSON *root, const cJSON *arr, dm_config *c)
{
    static const char *const top[] = {"monitors", "database", "cache", "retrain",
                                      "metrics",  "limits",   NULL};
    for (const cJSON *it = root->child; it; it = it->next)
        if (in_list(own_keys, it->string))
            return fail(x,
                        "key \"%s\": with \"monitors\", set it in each monitor "
                        "(\"monitors[i].%s\")",
                        it->string, it->string);
    if (check_keys(x, root, "", top) || parse_shared(x, root, c))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "retrain");
    if (!is_null(v) && parse_retrain(x, v, c, RETRAIN_DELIVERY))
        return -1;
    char b[80];
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1) {
        show(arr, b, sizeof b);
        return fail(x, "key \"monitors\": expected a non-empty array of objects, got %s", b);
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    c->monitors = calloc(n, sizeof *c->monitors);
    if (!c->monitors)
        return fail(x, "out of memory");
    static const char *const entry[] = {"name",   "columns",   "drift",   "retrain",  "model",
                                        "source", "reference", "reports", "schedule", NULL};
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        dm_config *m = &c->monitors[i];
        dm_config_defaults(m);
        c->n_monitors = i + 1;
        char path[32];
        snprintf(path, sizeof path, "monitors[%zu]", i);
        if (check_keys(x, it, path, entry))
            return -1;
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (!nm)
            return fail(x, "key \"%s.name\" is missing: every monitor needs a name", path);
        if (!cJSON_IsString(nm) || !dm_config_monitor_name_ok(nm->valuestring)) {
            show(nm, b, sizeof b);
            return fail(x,
                        "key \"%s.name\": %s is not a monitor name (1 to %d letters, digits, "
                        "'_' or '-', starting with a letter or a digit)",
                        path, b, DM_MONITOR_NAME_MAX);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->monitors[j].monitor, nm->valuestring) == 0)
                return fail(x, "key \"%s.name\": \"%s\" is also the name of monitors[%zu]", path,
                            nm->valuestring, j);
        if (!(m->monitor = strdup(nm->valuestring)) || copy_shared(x, c, m))
            return fail(x, "out of memory");
        char prefix[40];
        snprintf(prefix, sizeof prefix, "%s.", path);
        ctx mx = *x;
        mx.prefix = prefix;
        if (parse_own(&mx, it, m, RETRAIN_MONITOR))
            return -1;
        if (!m->reports_dir) {
            /* reports/<name>: the single form's default directory, one folder per monitor */
            size_t len = strlen(m->monitor) + sizeof "reports/";
            if (!(m->reports_dir = malloc(len)))
                return fail(x, "out of memory");
            snprintf(m->reports_dir, len, "reports/%s", m->monitor);
        }
        char ki[4096], kj[4096];
        dir_key(m->reports_dir, ki, sizeof ki);
        for (size_t j = 0; j < i; j++) {
            dir_key(c->monitors[j].reports_dir, kj, sizeof kj);
            if (strcmp(ki, kj) == 0)
                return fail(x,
                            "key \"%s.reports.dir\": \"%s\" is also the reports directory of "
                            "monitors[%zu] (\"%s\"): each monitor needs its own",
                            path, m->reports_dir, j, c->monitors[j].monitor);
        }
    }
    return 0;
}

static int parse_root(ctx *x, const cJSON *root, dm_config *c)
{
    static const char *const keys[] = {"columns", "drift",     "retrain", "model", "database",
                                       "source",  "reference", "reports", "cache", "schedule",
                                       "metrics", "monitors",  "limits",  NULL};
    if (!cJSON_IsObject(root))
        return check_keys(x, root, "", keys); /* the message: expected an object */
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "monitors");
    if (arr)
        return parse_monitors(x, root, arr, c);
    if (check_keys(x, root, "", keys))
        return -1;
    if (parse_shared(x, root, c))
        return -1;
    return parse_own(x, root, c, RETRAIN_ALL);
}

size_t dm_config_n_monitors(const dm_config *c)
{
    return c->n_monitors ? c->n_monitors : 1;
}

const dm_config *dm_config_monitor(const dm_config *c, size_t i)
{
    return c->n_monitors ? &c->monitors[i] : c;
}

const char *dm_config_monitor_name(const dm_config *c)
{
    return c->monitor ? c->monitor : DM_MONITOR_DEFAULT;
}

int dm_config_select(const dm_config *c, const char *name, const dm_config **out, char *err,
                     size_t errlen)
{
    size_t n = dm_config_n_monitors(c);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(dm_config_monitor_name(dm_config_monitor(c, i)), name) == 0) {
            *out = dm_config_monitor(c, i);
            return 0;
        }
    if (!name && n == 1) {
        *out = dm_config_monitor(c, 0);
        return 0;
    }
    char choices[512] = "";
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof choices - 8; i++) {
        int w = snprintf(choices + k, sizeof choices - k, "%s%s", i ? ", " : "",
                         dm_config_monitor_name(dm_config_monitor(c, i)));
        if (w < 0 || (size_t)w >= sizeof choices - k)
            break;
        k += (size_t)w;
    }
    const char *file = c->path ? c->path : "config";
    if (!name) {
        snprintf(err, errlen, "%s has %zu monitors: give --monitor NAME (one of %s)", file, n,
                 choices);
    } else {
        char shown[DM_MONITOR_NAME_MAX + 8];
        size_t j = 0;
        for (const char *p = name; *p && j < DM_MONITOR_NAME_MAX; p++)
            shown[j++] = (*p >= 32 && *p < 127) ? *p : '?';
        shown[j] = '\0';
        snprintf(err, errlen, "--monitor: no monitor \"%s\" in %s (one of %s)", shown, file,
                 choices);
    }
    return -1;
}

/* ---- the canonical form (config.h) ------------------------------------------------- */

/* Numbers of the tree rewritten as raw items in numfmt's spelling, in place. */
static bool canon_numbers(cJSON *node)
{
    for (cJSON *it = node->child; it;) {
        cJSON *next = it->next;
        if (cJSON_IsNumber(it)) {
            char num[STATS_DOUBLE_BUFLEN];
            cJSON *raw = cJSON_CreateRaw(stats_format_double(it->valuedouble, num, sizeof num));
            if (!raw)
                return false;
            raw->string = it->string; /* the member's name moves to the new item */
            it->string = NULL;
            cJSON_ReplaceItemViaPointer(node, it, raw);
        } else if ((cJSON_IsObject(it) || cJSON_IsArray(it)) && !canon_numbers(it)) {
            return false;
        }
        it = next;
    }
    return true;
}

/* The scrubbed conninfo (malloc'ed), or NULL when out of memory or libpq cannot read it. */
static char *scrubbed_conninfo(const char *ci)
{
    size_t cap = 2 * strlen(ci) + 4096;
    for (;;) {
        char *out = malloc(cap);
        if (!out)
            return NULL;
        if (dm_conninfo_scrub(ci, out, cap) != 0) {
            free(out);
            return NULL;
        }
        if (strlen(out) + 1 < cap)
            return out;
        free(out); /* may have been cut: again, larger */
        cap *= 2;
    }
}

/* The canonical form of a parsed configuration (root is changed). */
static char *canonical_of(cJSON *root)
{
    static const char *const conninfo_keys[] = {"conninfo", "read_conninfo"};
    cJSON *db = cJSON_GetObjectItemCaseSensitive(root, "database");
    for (size_t k = 0; k < sizeof conninfo_keys / sizeof conninfo_keys[0]; k++) {
        cJSON *ci =
            cJSON_IsObject(db) ? cJSON_GetObjectItemCaseSensitive(db, conninfo_keys[k]) : NULL;
        if (!cJSON_IsString(ci))
            continue;
        char *shown = scrubbed_conninfo(ci->valuestring);
        cJSON *item = shown ? cJSON_CreateString(shown) : NULL;
        free(shown);
        if (!item)
            return NULL;
        item->string = ci->string;
        ci->string = NULL;
        cJSON_ReplaceItemViaPointer(db, ci, item);
    }
    if (!canon_numbers(root))
        return NULL;
    return cJSON_PrintUnformatted(root);
}

char *dm_config_canonical(const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return NULL;
    char *s = canonical_of(root);
    cJSON_Delete(root);
    return s;
}

int dm_config_parse(const char *text, size_t len, const char *name, dm_config *out, char *err,
                    size_t errlen)
{
    ctx x = {name ? name : "(config)", err, errlen, NULL};
    if (len == 0)
        return fail(&x, "line 1: the file is empty (expected a JSON object)");
    if (memchr(text, '\0', len))
        return fail(&x, "binary data (a NUL byte) where JSON text was expected");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        if (off > len)
            off = len;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        char near[24] = "";
        size_t k = 0;
        for (size_t i = off; i < len && k < 16 && text[i] != '\n'; i++)
            near[k++] = (text[i] >= 32 && text[i] < 127) ? text[i] : '?';
        near[k] = '\0';
        return fail(&x, "line %zu, column %zu: invalid JSON near \"%s\"", line, col, near);
    }
    /* trailing garbage after the object */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            size_t line = 1;
            for (const char *q = text; q < p; q++)
                line += *q == '\n';
            return fail(&x, "line %zu: unexpected text after the JSON object", line);
        }
    }
    dm_config c;
    dm_config_defaults(&c);
    int rc = parse_root(&x, root, &c);
    char *canon = rc == 0 ? canonical_of(root) : NULL;
    cJSON_Delete(root);
    if (rc == 0) {
        c.path = strdup(x.name);
        if (!c.path || !canon)
            rc = fail(&x, "out of memory");
    }
    if (rc != 0) {
        cJSON_free(canon);
        dm_config_release(&c);
        return -1;
    }
    dm_sha256_hex(canon, strlen(canon), c.sha256);
    /* a monitor's runs record the file's path and hash: the configuration that made them */
    for (size_t i = 0; i < c.n_monitors; i++) {
        memcpy(c.monitors[i].sha256, c.sha256, sizeof c.sha256);
        if (!(c.monitors[i].path = strdup(c.path))) {
            cJSON_free(canon);
            dm_config_release(&c);
            return fail(&x, "out of memory");
        }
    }
    cJSON_free(canon);
    *out = c;
    return 0;
}

int dm_config_load(const char *path, dm_config *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        if (cap > (64u << 20)) {
            fclose(f);
            free(buf);
            snprintf(err, errlen, "%s: the file is larger than 64 MiB", path);
            return -1;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        free(buf);
        snprintf(err, errlen, "could not read \"%s\"", path);
        return -1;
    }
    int rc = dm_config_parse(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

void dm_config_resolve(const dm_config *c, const char *column, stats_kind kind, int *test,
                       double *threshold)
{
    int t = c->stattest;
    int tt = kind == STATS_NUM ? c->num_stattest : c->cat_stattest;
    if (tt != DM_TEST_DEFAULT)
        t = tt;
    double thr = c->threshold;
    double th = kind == STATS_NUM ? c->num_threshold : c->cat_threshold;
    if (!isnan(th))
        thr = th;
    long i = stats_names_find(&c->overrides, column);
    if (i >= 0) {
        const dm_column_override *o = &c->per_column[i];
        if (o->test != DM_TEST_DEFAULT)
            t = o->test;
        if (!isnan(o->threshold))
            thr = o->threshold;
    }
    *test = t;
    *threshold = thr;
}

static bool absolute(const char *s)
{
    return s && s[0] == '/';
}

int dm_config_default_cache_dir(const char *cache_directory, const char *xdg_cache_home,
                                const char *home, char *out, size_t len, char *err, size_t errlen)
{
    int n;
    if (absolute(cache_directory))
        n = snprintf(out, len, "%.*s", (int)strcspn(cache_directory, ":"), cache_directory);
    else if (absolute(xdg_cache_home))
        n = snprintf(out, len, "%s/driftmon", xdg_cache_home);
    else if (absolute(home))
        n = snprintf(out, len, "%s/.cache/driftmon", strcmp(home, "/") == 0 ? "" : home);
    else {
        snprintf(err, errlen,
                 "no cache directory: cache.dir is not set, nor CACHE_DIRECTORY, XDG_CACHE_HOME "
                 "or HOME (as absolute paths)");
        return -1;
    }
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "the default cache directory is too long (%d bytes)", n);
        return -1;
    }
    return 0;
}

int dm_config_cache_dir(const dm_config *c, char *out, size_t len, char *err, size_t errlen)
{
    if (c->cache_dir) {
        int n = snprintf(out, len, "%s", c->cache_dir);
        if (n < 0 || (size_t)n >= len) {
            snprintf(err, errlen, "cache.dir is too long (%d bytes)", n);
            return -1;
        }
        return 0;
    }
    return dm_config_default_cache_dir(getenv("CACHE_DIRECTORY"), getenv("XDG_CACHE_HOME"),
                                       getenv("HOME"), out, len, err, errlen);
}

bool dm_config_is_excluded(const dm_config *c, const char *column)
{
    return stats_names_find(&c->excluded, column) >= 0;
}

int dm_config_forced_kind(const dm_config *c, const char *column)
{
    long k = stats_names_find(&c->forced, column);
    return k < 0 ? 0 : (int)k;
}

static void add_test(cJSON *o, const char *key, int t)
{
    if (t == DM_TEST_DEFAULT)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, stats_test_name((stats_test)t));
}

static void add_thr(cJSON *o, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, v);
}

char *dm_config_drift_json(const dm_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_test(o, "stattest", c->stattest);
    add_test(o, "num_stattest", c->num_stattest);
    add_test(o, "cat_stattest", c->cat_stattest);
    cJSON *pcs = cJSON_AddObjectToObject(o, "per_column_stattest");
    cJSON *pct = cJSON_AddObjectToObject(o, "per_column_stattest_threshold");
    for (size_t i = 0; pcs && pct && i < c->n_per_column; i++) {
        if (c->per_column[i].test != DM_TEST_DEFAULT)
            add_test(pcs, c->per_column[i].name, c->per_column[i].test);
        if (!isnan(c->per_column[i].threshold))
            add_thr(pct, c->per_column[i].name, c->per_column[i].threshold);
    }
    add_thr(o, "stattest_threshold", c->threshold);
    add_thr(o, "num_stattest_threshold", c->num_threshold);
    add_thr(o, "cat_stattest_threshold", c->cat_threshold);
    cJSON_AddNumberToObject(o, "drift_share", c->drift_share);
    cJSON_AddBoolToObject(o, "int_width_rule", c->stats.int_width_rule);
    cJSON_AddNumberToObject(o, "retrain_fraction", c->retrain_fraction);
    /* the model's settings only when configured: reports without a model stay as they were */
    if (!isnan(c->retrain_weighted_fraction))
        cJSON_AddNumberToObject(o, "retrain_weighted_fraction", c->retrain_weighted_fraction);
    if (!isnan(c->retrain_score_psi))
        cJSON_AddNumberToObject(o, "retrain_score_psi", c->retrain_score_psi);
    if (c->score_column)
        cJSON_AddStringToObject(o, "score_column", c->score_column);
    if (!isnan(c->decision_threshold))
        cJSON_AddNumberToObject(o, "decision_threshold", c->decision_threshold);
    if (c->label_column) {
        cJSON_AddStringToObject(o, "label_column", c->label_column);
        cJSON_AddNumberToObject(o, "cost_fn", c->cost_fn);
        cJSON_AddNumberToObject(o, "cost_fp", c->cost_fp);
    }
    if (!isnan(c->retrain_cost_increase))
        cJSON_AddNumberToObject(o, "retrain_cost_increase", c->retrain_cost_increase);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int dm_config_fuzz_one(const uint8_t *data, size_t size)
{
    dm_config c;
    char err[256];
    if (dm_config_parse((const char *)data, size, "fuzz.json", &c, err, sizeof err) == 0)
        dm_config_release(&c);
    return 0;
}

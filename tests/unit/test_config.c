/* test_config.c - the JSON configuration: Evidently's option names, precedence, and every
 * error naming the file and the line or key at fault. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/config.h"
#include "monitor/conninfo.h"
#include "monitor/sha256.h"

static int parse(const char *text, dm_config *c, char *err, size_t errlen)
{
    return dm_config_parse(text, strlen(text), "cfg.json", c, err, errlen);
}

static void expect_error(const char *text, const char *fragment1, const char *fragment2)
{
    dm_config c;
    char err[512] = "";
    cr_assert_eq(parse(text, &c, err, sizeof err), -1, "accepted: %s", text);
    cr_assert(strstr(err, "cfg.json") != NULL, "no file name in: %s", err);
    cr_assert(strstr(err, fragment1) != NULL, "\"%s\" not in: %s", fragment1, err);
    if (fragment2)
        cr_assert(strstr(err, fragment2) != NULL, "\"%s\" not in: %s", fragment2, err);
}

Test(config, defaults)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.stattest, DM_TEST_DEFAULT);
    cr_assert(isnan(c.threshold));
    cr_assert_eq(c.drift_share, 0.5);
    cr_assert_eq(c.retrain_fraction, 0.5);
    cr_assert_eq(strlen(c.sha256), 64);
    dm_config_release(&c);
}

Test(config, design_example_parses)
{
    const char *text =
        "{\n"
        "  \"columns\": {\"numeric\": [\"A\"], \"categorical\": [\"B\"], \"exclude\": "
        "[\"SK_ID_CURR\", \"TARGET\"]},\n"
        "  \"drift\": {\n"
        "    \"stattest\": null, \"num_stattest\": null, \"cat_stattest\": null,\n"
        "    \"per_column_stattest\": {\"AMT_CREDIT\": \"psi\"},\n"
        "    \"stattest_threshold\": null, \"num_stattest_threshold\": null, "
        "\"cat_stattest_threshold\": null,\n"
        "    \"per_column_stattest_threshold\": {\"AMT_CREDIT\": 0.2},\n"
        "    \"drift_share\": 0.5\n"
        "  },\n"
        "  \"retrain\": {\"fraction\": 0.5, \"hook\": [\"/usr/local/bin/retrain\", "
        "\"--reason\", \"drift\"],\n"
        "              \"notify_channel\": \"driftmon_retrain\"}\n"
        "}\n";
    dm_config c;
    char err[256];
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_assert(dm_config_is_excluded(&c, "TARGET"));
    cr_assert(!dm_config_is_excluded(&c, "target"), "names are case-sensitive");
    cr_assert_eq(dm_config_forced_kind(&c, "A"), 1);
    cr_assert_eq(dm_config_forced_kind(&c, "B"), 2);
    cr_assert_eq(c.n_hook, 3);
    cr_assert_str_eq(c.hook[2], "drift");
    cr_assert_str_eq(c.notify_channel, "driftmon_retrain");
    int t;
    double thr;
    dm_config_resolve(&c, "AMT_CREDIT", STATS_NUM, &t, &thr);
    cr_assert_eq(t, STATS_TEST_PSI);
    cr_assert_eq(thr, 0.2);
    dm_config_resolve(&c, "OTHER", STATS_NUM, &t, &thr);
    cr_assert_eq(t, DM_TEST_DEFAULT);
    cr_assert(isnan(thr));
    dm_config_release(&c);
}

Test(config, precedence_column_type_global)
{
    const char *text = "{\"drift\": {\"stattest\": \"psi\", \"num_stattest\": \"ks\","
                       " \"per_column_stattest\": {\"X\": \"ed\"},"
                       " \"stattest_threshold\": 0.3, \"cat_stattest_threshold\": 0.02,"
                       " \"per_column_stattest_threshold\": {\"Y\": 0.01}}}";
    dm_config c;
    char err[256];
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    int t;
    double thr;
    dm_config_resolve(&c, "X", STATS_NUM, &t, &thr); /* per column > per type */
    cr_assert_eq(t, STATS_TEST_ED);
    cr_assert_eq(thr, 0.3);
    dm_config_resolve(&c, "Z", STATS_NUM, &t, &thr); /* per type > global */
    cr_assert_eq(t, STATS_TEST_KS);
    dm_config_resolve(&c, "Z", STATS_CAT, &t, &thr); /* global */
    cr_assert_eq(t, STATS_TEST_PSI);
    cr_assert_eq(thr, 0.02);
    dm_config_resolve(&c, "Y", STATS_CAT, &t, &thr); /* per-column threshold wins */
    cr_assert_eq(thr, 0.01);
    dm_config_release(&c);
}

Test(config, invalid_json_names_the_line)
{
    expect_error("{\n  \"drift\": {\n    \"drift_share\": 0.5,,\n  }\n}\n", "line 3", NULL);
    expect_error("", "empty", NULL);
    expect_error("{} trailing", "unexpected text", NULL);
}

Test(config, unknown_stattest_names_key_and_value)
{
    expect_error("{\"drift\": {\"stattest\": \"wasserstien\"}}", "drift.stattest",
                 "\"wasserstien\"");
    expect_error("{\"drift\": {\"per_column_stattest\": {\"AMT\": \"t-test\"}}}",
                 "drift.per_column_stattest.AMT", "t-test");
}

Test(config, threshold_wrong_type_or_range)
{
    expect_error("{\"drift\": {\"stattest_threshold\": \"0.1\"}}", "drift.stattest_threshold",
                 "expected a number");
    expect_error("{\"drift\": {\"stattest_threshold\": -0.1}}", "drift.stattest_threshold",
                 "out of range");
    expect_error("{\"drift\": {\"drift_share\": 1.5}}", "drift.drift_share", "1.5");
    expect_error("{\"retrain\": {\"fraction\": true}}", "retrain.fraction", "true");
    /* a p-value test's threshold above 1 */
    expect_error("{\"drift\": {\"stattest\": \"ks\", \"stattest_threshold\": 5}}",
                 "drift.stattest_threshold", "ks");
    expect_error("{\"drift\": {\"per_column_stattest\": {\"A\": \"z\"},"
                 " \"per_column_stattest_threshold\": {\"A\": 2}}}",
                 "per_column_stattest_threshold.A", NULL);
}

Test(config, history_runs_default_and_range)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.history_runs, DM_HISTORY_RUNS_DEFAULT);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"reports\": {\"history_runs\": 7}}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.history_runs, 7);
    dm_config_release(&c);
    expect_error("{\"reports\": {\"history_runs\": 0}}", "reports.history_runs", "out of range");
    expect_error("{\"reports\": {\"history_runs\": 2.5}}", "reports.history_runs",
                 "not a whole number");
    expect_error("{\"reports\": {\"history_runs\": \"10\"}}", "reports.history_runs",
                 "expected a number");
}

/* The database read's opt-ins: one stream and the warm-up by default; 1 or 2 streams, a
 * boolean warm-up, anything else an error naming the key and the value. */
Test(config, database_read_opt_ins)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.copy_streams, 1);
    cr_assert(c.warm_backend);
    dm_config_release(&c);
    cr_assert_eq(
        parse("{\"database\": {\"copy_streams\": 2, \"warm_backend\": true}}", &c, err, sizeof err),
        0, "%s", err);
    cr_assert_eq(c.copy_streams, 2);
    cr_assert(c.warm_backend);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"database\": {\"copy_streams\": 1, \"warm_backend\": false}}", &c, err,
                       sizeof err),
                 0, "%s", err);
    cr_assert_eq(c.copy_streams, 1);
    cr_assert(!c.warm_backend);
    dm_config_release(&c);
    expect_error("{\"database\": {\"copy_streams\": 3}}", "database.copy_streams", "got 3");
    expect_error("{\"database\": {\"copy_streams\": 1.5}}", "database.copy_streams", "1.5");
    expect_error("{\"database\": {\"copy_streams\": \"2\"}}", "database.copy_streams", "\"2\"");
    expect_error("{\"database\": {\"warm_backend\": \"yes\"}}", "database.warm_backend", "\"yes\"");
    expect_error("{\"database\": {\"warm_backend\": 1}}", "database.warm_backend",
                 "expected true or false");
    expect_error("{\"database\": {\"copy_stream\": 2}}", "database.copy_stream", "unknown key");
}

/* The cache directory's default: systemd's CacheDirectory= ($CACHE_DIRECTORY), else the XDG
 * base directory spec's $XDG_CACHE_HOME (absolute only), else its fallback ~/.cache.  The
 * path, or "-1: " and the message. */
static const char *default_cache_in(const char *cd, const char *xdg, const char *home, size_t len)
{
    static char out[300];
    char err[256] = "";
    cr_assert(len <= sizeof out);
    if (dm_config_default_cache_dir(cd, xdg, home, out, len, err, sizeof err) != 0) {
        cr_assert(err[0] != '\0', "no message");
        snprintf(out, sizeof out, "-1: %s", err);
    }
    return out;
}

static const char *default_cache(const char *cd, const char *xdg, const char *home)
{
    return default_cache_in(cd, xdg, home, 300);
}

#define NO_CACHE_DIR                                                                               \
    "-1: no cache directory: cache.dir is not set, nor CACHE_DIRECTORY, XDG_CACHE_HOME or HOME "   \
    "(as absolute paths)"

Test(config, cache_dir_default_resolution)
{
    cr_expect_str_eq(default_cache("/var/cache/driftmon", "/x/cache", "/home/a"),
                     "/var/cache/driftmon");
    cr_expect_str_eq(default_cache("/var/cache/driftmon:/var/cache/other", NULL, NULL),
                     "/var/cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, "/x/cache", "/home/a"), "/x/cache/driftmon");
    cr_expect_str_eq(default_cache("", "/x/cache", "/home/a"), "/x/cache/driftmon");
    cr_expect_str_eq(default_cache("rel", "/x/cache", "/home/a"), "/x/cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, NULL, "/home/a"), "/home/a/.cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, "", "/home/a"), "/home/a/.cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, "cache", "/home/a"), "/home/a/.cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, NULL, "/"), "/.cache/driftmon");
    cr_expect_str_eq(default_cache(NULL, NULL, NULL), NO_CACHE_DIR);
    cr_expect_str_eq(default_cache(NULL, NULL, "home"), NO_CACHE_DIR);
    /* "/home/a/.cache/driftmon" is 23 bytes: it needs 24 with its NUL */
    cr_expect_str_eq(default_cache_in(NULL, NULL, "/home/a", 24), "/home/a/.cache/driftmon");
    cr_expect_str_eq(default_cache_in(NULL, NULL, "/home/a", 23),
                     "-1: the default cache directory is too long (23 bytes)");
}

Test(config, cache_dir_key_and_environment)
{
    dm_config c;
    char err[256], dir[256];
    cr_assert_eq(parse("{\"cache\": {\"dir\": \"/srv/dm-cache\"}}", &c, err, sizeof err), 0, "%s",
                 err);
    setenv("CACHE_DIRECTORY", "/var/cache/driftmon", 1);
    cr_assert_eq(dm_config_cache_dir(&c, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(dir, "/srv/dm-cache", "cache.dir wins over the environment");
    dm_config_release(&c);
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_config_cache_dir(&c, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(dir, "/var/cache/driftmon");
    unsetenv("CACHE_DIRECTORY");
    setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
    cr_assert_eq(dm_config_cache_dir(&c, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(dir, "/tmp/xdg/driftmon");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/analyst", 1);
    cr_assert_eq(dm_config_cache_dir(&c, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(dir, "/home/analyst/.cache/driftmon");
    unsetenv("HOME");
    cr_expect_eq(dm_config_cache_dir(&c, dir, sizeof dir, err, sizeof err), -1);
    cr_expect(strstr(err, "cache.dir") != NULL, "%s", err);
    dm_config_release(&c);
    expect_error("{\"cache\": {\"dir\": 3}}", "key \"cache.dir\": expected a non-empty string",
                 "got 3");
    expect_error("{\"cache\": {\"dir\": \"\"}}", "key \"cache.dir\"", "non-empty string");
    expect_error("{\"cache\": {\"directory\": \"/x\"}}", "unknown key \"cache.directory\"", NULL);
    expect_error("{\"cache\": \"/x\"}", "key \"cache\": expected an object", NULL);
}

Test(config, unknown_and_duplicate_keys)
{
    expect_error("{\"drift\": {\"stattest_treshold\": 0.1}}", "drift.stattest_treshold",
                 "unknown key");
    expect_error("{\"colums\": {}}", "colums", NULL);
    expect_error("{\"drift\": {\"drift_share\": 0.1, \"drift_share\": 0.2}}", "duplicate key",
                 "drift.drift_share");
    expect_error("{\"columns\": {\"numeric\": [\"A\", 3]}}", "columns.numeric[1]", "3");
    expect_error("{\"columns\": {\"numeric\": [\"A\"], \"categorical\": [\"A\"]}}", "\"A\"", NULL);
    expect_error("[1, 2]", "expected an object", NULL);
    expect_error("{\"retrain\": {\"hook\": []}}", "retrain.hook", "empty");
}

Test(config, failed_parse_leaves_output_untouched)
{
    dm_config c;
    memset(&c, 0x5a, sizeof c);
    dm_config before = c;
    char err[256];
    cr_assert_eq(parse("{\"drift\": {\"drift_share\": 7}}", &c, err, sizeof err), -1);
    cr_assert(memcmp(&c, &before, sizeof c) == 0);
}

Test(config, binary_garbage)
{
    dm_config c;
    char err[256];
    const char garbage[] = "{\"a\x00\xff\xfe";
    cr_assert_eq(dm_config_parse(garbage, sizeof garbage - 1, "cfg.json", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "binary") != NULL, "%s", err);
}

Test(config, missing_file)
{
    dm_config c;
    char err[256];
    cr_assert_eq(dm_config_load("/nonexistent/driftmon.json", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/driftmon.json") != NULL, "%s", err);
}

Test(config, drift_json_echoes_settings)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{\"drift\": {\"cat_stattest\": \"chisquare\", \"drift_share\": 0.25}}", &c,
                       err, sizeof err),
                 0);
    char *s = dm_config_drift_json(&c);
    cr_assert(strstr(s, "\"cat_stattest\":\"chisquare\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"drift_share\":0.25") != NULL, "%s", s);
    cr_assert(strstr(s, "\"stattest\":null") != NULL, "%s", s);
    free(s);
    dm_config_release(&c);
}

/* database.conninfo: neither a value of the wrong type nor a string libpq cannot parse is
 * shown (libpq's own message would quote it); the key is named */
Test(config, conninfo_never_echoed)
{
    char err[512] = "";
    dm_config c;
    expect_error("{\"database\": {\"conninfo\": \"postgresql://u:se%cret@h/d\"}}",
                 "\"database.conninfo\"", "two hexadecimal digits");
    cr_assert_eq(parse("{\"database\": {\"conninfo\": \"postgresql://u:se%cret@h/d\"}}", &c, err,
                       sizeof err),
                 -1);
    cr_assert_null(strstr(err, "cret"), "%s", err);
    cr_assert_eq(
        parse("{\"database\": {\"conninfo\": {\"password\": \"secret\"}}}", &c, err, sizeof err),
        -1);
    cr_assert_not_null(strstr(err, "\"database.conninfo\""), "%s", err);
    cr_assert_null(strstr(err, "secret"), "%s", err);
    cr_assert_eq(
        parse("{\"database\": {\"conninfo\": \"host=h password=secret\"}}", &c, err, sizeof err), 0,
        "%s", err);
    cr_assert_str_eq(c.conninfo, "host=h password=secret");
    dm_config_release(&c);
}

/* database.read_conninfo and database.replica_max_wait (issue 19): the read conninfo is
 * checked as the conninfo is, and named; the wait is a number of seconds in [0, 3600]. */
Test(config, read_conninfo_and_replica_max_wait)
{
    char err[512] = "";
    dm_config c;
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_null(c.read_conninfo);
    cr_assert_eq(c.replica_max_wait_s, 30.0);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"database\": {\"conninfo\": \"host=p\", \"read_conninfo\": "
                       "\"postgresql://u:pw@standby:5433/d\", \"replica_max_wait\": 2.5}}",
                       &c, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(c.read_conninfo, "postgresql://u:pw@standby:5433/d");
    cr_assert_str_eq(c.conninfo, "host=p");
    cr_assert_eq(c.replica_max_wait_s, 2.5);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"database\": {\"replica_max_wait\": 0}}", &c, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(c.replica_max_wait_s, 0.0);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"database\": {\"replica_max_wait\": 3600}}", &c, err, sizeof err), 0,
                 "%s", err);
    dm_config_release(&c);
    expect_error("{\"database\": {\"replica_max_wait\": -1}}", "\"database.replica_max_wait\"",
                 "out of range");
    expect_error("{\"database\": {\"replica_max_wait\": 3601}}", "\"database.replica_max_wait\"",
                 "0 to 3600");
    expect_error("{\"database\": {\"replica_max_wait\": \"30 seconds\"}}",
                 "\"database.replica_max_wait\"", "expected a number");
    expect_error("{\"database\": {\"replica_max_wiat\": 3}}", "unknown key",
                 "database.replica_max_wiat");
    /* a read conninfo libpq cannot parse, or of the wrong type: named, never shown */
    expect_error("{\"database\": {\"read_conninfo\": \"postgresql://u:se%cret@h/d\"}}",
                 "\"database.read_conninfo\"", "two hexadecimal digits");
    cr_assert_eq(parse("{\"database\": {\"read_conninfo\": \"host=h password='se cret\"}}", &c, err,
                       sizeof err),
                 -1);
    cr_assert_not_null(strstr(err, "\"database.read_conninfo\""), "%s", err);
    cr_assert_not_null(strstr(err, "closing quote"), "%s", err);
    cr_assert_null(strstr(err, "cret"), "%s", err);
    cr_assert_eq(parse("{\"database\": {\"read_conninfo\": {\"password\": \"secret\"}}}", &c, err,
                       sizeof err),
                 -1);
    cr_assert_not_null(strstr(err, "\"database.read_conninfo\""), "%s", err);
    cr_assert_null(strstr(err, "secret"), "%s", err);
    expect_error("{\"database\": {\"read_conninfo\": \"\"}}", "\"database.read_conninfo\"",
                 "non-empty string");
}

/* limits.memory (issue 20): bytes as a whole number or with a binary unit, at least 1 MiB;
 * shared by every monitor of a monitors file. */
Test(config, limits_memory)
{
    char err[512] = "";
    dm_config c;
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.memory_limit, (uint64_t)1024 * 1024 * 1024);
    dm_config_release(&c);
    static const struct {
        const char *json;
        uint64_t bytes;
    } ok[] = {{"1048576", 1048576},
              {"\"1 MiB\"", 1048576},
              {"\"512MiB\"", (uint64_t)512 << 20},
              {"\"3 GiB\"", (uint64_t)3 << 30},
              {"\"2048 KiB\"", (uint64_t)2 << 20},
              {"\"5000000 B\"", 5000000},
              {"\"5000000\"", 5000000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"limits\": {\"memory\": %s}}", ok[i].json);
        cr_assert_eq(parse(json, &c, err, sizeof err), 0, "%s: %s", json, err);
        cr_assert_eq(c.memory_limit, ok[i].bytes, "%s", json);
        dm_config_release(&c);
    }
    cr_assert_eq(parse("{\"limits\": {\"memory\": \"64 MiB\"}, \"monitors\": [{\"name\": \"a\"}, "
                       "{\"name\": \"b\"}]}",
                       &c, err, sizeof err),
                 0, "%s", err);
    for (size_t i = 0; i < dm_config_n_monitors(&c); i++)
        cr_assert_eq(dm_config_monitor(&c, i)->memory_limit, (uint64_t)64 << 20);
    dm_config_release(&c);
    expect_error("{\"limits\": {\"memory\": 1048575}}", "\"limits.memory\"", "1048575");
    expect_error("{\"limits\": {\"memory\": 0}}", "\"limits.memory\"", "at least 1 MiB");
    expect_error("{\"limits\": {\"memory\": -5}}", "\"limits.memory\"", "-5");
    expect_error("{\"limits\": {\"memory\": \"1.5 GiB\"}}", "\"limits.memory\"", "1.5 GiB");
    expect_error("{\"limits\": {\"memory\": \"2 GB\"}}", "\"limits.memory\"", "2 GB");
    expect_error("{\"limits\": {\"memory\": \"lots\"}}", "\"limits.memory\"", "lots");
    expect_error("{\"limits\": {\"memory\": true}}", "\"limits.memory\"", "true");
    expect_error("{\"limits\": {\"memry\": 5}}", "unknown key", "limits.memry");
}

/* limits.unit_values (issue 20, work units): a whole number of values, 0 (the default) for
 * never; shared by every monitor of a monitors file. */
Test(config, limits_unit_values)
{
    char err[512] = "";
    dm_config c;
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.unit_values, 0);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"limits\": {\"unit_values\": 50000000}, \"monitors\": [{\"name\": "
                       "\"a\"}, {\"name\": \"b\"}]}",
                       &c, err, sizeof err),
                 0, "%s", err);
    for (size_t i = 0; i < dm_config_n_monitors(&c); i++)
        cr_assert_eq(dm_config_monitor(&c, i)->unit_values, (uint64_t)50000000);
    dm_config_release(&c);
    expect_error("{\"limits\": {\"unit_values\": -1}}", "\"limits.unit_values\"", "-1");
    expect_error("{\"limits\": {\"unit_values\": 2.5}}", "\"limits.unit_values\"", "2.5");
    expect_error("{\"limits\": {\"unit_values\": \"many\"}}", "\"limits.unit_values\"", "many");
}

/* ---- retrain.env (issue 16) ----------------------------------------------------------- */

Test(config, retrain_env_lists_variable_names)
{
    dm_config c;
    char err[512] = "";
    cr_assert_eq(
        parse("{\"retrain\": {\"env\": [\"RETRAIN_TOKEN\", \"_x9\"]}}", &c, err, sizeof err), 0,
        "%s", err);
    cr_assert_eq(c.n_hook_env, 2);
    cr_assert_str_eq(c.hook_env[0], "RETRAIN_TOKEN");
    cr_assert_str_eq(c.hook_env[1], "_x9");
    cr_assert_null(c.hook_env[2]);
    dm_config_release(&c);
    expect_error("{\"retrain\": {\"env\": [\"OK\", \"BAD-NAME\"]}}", "\"retrain.env[1]\"",
                 "\"BAD-NAME\" is not an environment variable name");
    expect_error("{\"retrain\": {\"env\": [\"9LIVES\"]}}", "\"retrain.env[0]\"", "\"9LIVES\"");
    expect_error("{\"retrain\": {\"env\": [\"A=B\"]}}", "\"retrain.env[0]\"", "\"A=B\"");
    expect_error("{\"retrain\": {\"env\": [\"\"]}}", "retrain.env[0]", "non-empty string");
    expect_error("{\"retrain\": {\"env\": [7]}}", "retrain.env[0]", "7");
    expect_error("{\"retrain\": {\"env\": \"PGPASSWORD\"}}", "retrain.env",
                 "expected an array of strings");
    /* an untrusted value is cut and its control characters escaped */
    expect_error(
        "{\"retrain\": {\"env\": [\"X\\u001b[31mYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"
        "YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY\"]}}",
        "\"retrain.env[0]\"", "\\u001b[31m");
    cr_assert_eq(
        parse("{\"retrain\": {\"env\": [\"X\\u001b[31mYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"
              "YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"
              "YYYYYYYYYYYYYYYYYY\"]}}",
              &c, err, sizeof err),
        -1);
    cr_assert_null(strchr(err, '\x1b'), "a raw escape character in: %s", err);
    cr_assert(strlen(err) < 200, "not cut: %s", err);
}

/* ---- the recorded hash: of the canonical form, which holds no secret --------------------- */

static void sha_of(const char *text, char out[65])
{
    dm_config c;
    char err[512] = "";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s: %s", err, text);
    memcpy(out, c.sha256, 65);
    dm_config_release(&c);
}

Test(config, hash_ignores_the_password_and_follows_every_setting)
{
    char a[65], b[65], d[65], e[65], f[65], g[65];
    sha_of("{\"database\": {\"conninfo\": \"host=h user=u password=guess-1\"},\n"
           " \"drift\": {\"stattest_threshold\": 0.3}}",
           a);
    sha_of("{\"database\": {\"conninfo\": \"host=h user=u password=a-much-longer-password\"},\n"
           " \"drift\": {\"stattest_threshold\": 0.3}}",
           b);
    cr_expect_str_eq(a, b, "the hash depends on the password");
    sha_of("{\"database\": {\"conninfo\": \"host=h user=u password=guess-1\"},\n"
           " \"drift\": {\"stattest_threshold\": 0.30000000000000004}}",
           d);
    cr_expect_str_neq(a, d, "0.3 and 0.1 + 0.2 are different thresholds");
    sha_of("{\"database\": {\"conninfo\": \"host=h2 user=u password=guess-1\"},\n"
           " \"drift\": {\"stattest_threshold\": 0.3}}",
           e);
    cr_expect_str_neq(a, e, "the host is a setting");
    /* the URI spelling: password and sslpassword (both secret to libpq) */
    sha_of("{\"database\": {\"conninfo\": \"postgresql://u:pw1@h/d?sslpassword=k1\"}}", f);
    sha_of("{\"database\": {\"conninfo\": \"postgresql://u:other@h/d?sslpassword=k2\"}}", g);
    cr_expect_str_eq(f, g, "the hash depends on a URI's password or sslpassword");
    /* database.read_conninfo likewise (issue 19): its password is not hashed, its host is */
    char h[65], i[65], j[65];
    sha_of("{\"database\": {\"read_conninfo\": \"host=s user=u password=guess-1\"}}", h);
    sha_of("{\"database\": {\"read_conninfo\": \"host=s user=u password=guess-2\"}}", i);
    sha_of("{\"database\": {\"read_conninfo\": \"host=s2 user=u password=guess-1\"}}", j);
    cr_expect_str_eq(h, i, "the hash depends on the read conninfo's password");
    cr_expect_str_neq(h, j, "the standby's host is a setting");
    char *canon = dm_config_canonical(
        "{\"database\": {\"read_conninfo\": \"postgresql://u:pw1@s/d\"}}",
        strlen("{\"database\": {\"read_conninfo\": \"postgresql://u:pw1@s/d\"}}"));
    cr_assert_not_null(canon);
    cr_expect_null(strstr(canon, "pw1"), "%s", canon);
    cr_expect_not_null(strstr(canon, "password=****"), "%s", canon);
    free(canon);
}

/* The canonical form as config.h defines it, written here by hand from that definition
 * (the conninfo part from dm_conninfo_scrub, tested in test_conninfo.c). */
Test(config, hash_is_the_sha256_of_the_documented_canonical_form)
{
    const char *text = "{\n"
                       "  \"drift\": {\"stattest_threshold\": 0.30000000000000004,\n"
                       "            \"drift_share\": 5e-1, \"per_column_stattest\": {}},\n"
                       "  \"retrain\": {\"hook\": [\"/bin/r\", \"a\\\"b\\\\c\\u0001\\u00e9\"],\n"
                       "              \"max_attempts\": 3, \"env\": [\"TOKEN\"]},\n"
                       "  \"reports\": {\"dir\": null, \"history_runs\": 1e2},\n"
                       "  \"database\": {\"conninfo\": \"user=u password=s3cret dbname=d\",\n"
                       "               \"warm_backend\": false}\n"
                       "}\n";
    char shown[200];
    cr_assert_eq(dm_conninfo_scrub("user=u password=s3cret dbname=d", shown, sizeof shown), 0);
    cr_assert_null(strstr(shown, "s3cret"));
    char want[1024];
    snprintf(want, sizeof want,
             "{\"drift\":{\"stattest_threshold\":0.30000000000000004,\"drift_share\":0.5,"
             "\"per_column_stattest\":{}},"
             "\"retrain\":{\"hook\":[\"/bin/r\",\"a\\\"b\\\\c\\u0001\xc3\xa9\"],"
             "\"max_attempts\":3,\"env\":[\"TOKEN\"]},"
             "\"reports\":{\"dir\":null,\"history_runs\":100},"
             "\"database\":{\"conninfo\":\"%s\",\"warm_backend\":false}}",
             shown);
    char *canon = dm_config_canonical(text, strlen(text));
    cr_assert_not_null(canon);
    cr_expect_str_eq(canon, want);
    free(canon);
    char have[65], expect[65];
    sha_of(text, have);
    dm_sha256_hex(want, strlen(want), expect);
    cr_expect_str_eq(have, expect);
}

/* ---- the model (issue 17) ------------------------------------------------------------- */

Test(config, model_keys_and_new_retrain_conditions)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    /* not configured: NaN, so the conditions never hold */
    cr_assert(isnan(c.retrain_weighted_fraction) && isnan(c.retrain_score_psi));
    cr_assert(isnan(c.decision_threshold));
    cr_assert_null(c.importance_path);
    cr_assert_null(c.score_column);
    dm_config_release(&c);
    const char *text = "{\"model\": {\"importance\": \"importance.csv\", \"score_column\": "
                       "\"score\", \"decision_threshold\": 0.52},\n"
                       " \"retrain\": {\"fraction\": 0.5, \"weighted_fraction\": 0.3, "
                       "\"score_psi\": 0.25}}";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.importance_path, "importance.csv");
    cr_assert_str_eq(c.score_column, "score");
    cr_assert_eq(c.decision_threshold, 0.52);
    cr_assert_eq(c.retrain_fraction, 0.5);
    cr_assert_eq(c.retrain_weighted_fraction, 0.3);
    cr_assert_eq(c.retrain_score_psi, 0.25);
    char *s = dm_config_drift_json(&c);
    cr_assert(strstr(s, "\"retrain_weighted_fraction\":0.3") != NULL, "%s", s);
    cr_assert(strstr(s, "\"score_column\":\"score\"") != NULL, "%s", s);
    free(s);
    dm_config_release(&c);
}

Test(config, model_errors_name_key_and_value)
{
    expect_error("{\"model\": {\"score\": \"s\"}}", "unknown key \"model.score\"", NULL);
    expect_error("{\"model\": []}", "\"model\"", "expected an object");
    expect_error("{\"model\": {\"score_column\": \"\"}}", "\"model.score_column\"", "\"\"");
    expect_error("{\"model\": {\"importance\": 3}}", "\"model.importance\"", "3");
    expect_error("{\"model\": {\"decision_threshold\": \"0.5\"}}", "\"model.decision_threshold\"",
                 "\"0.5\"");
    expect_error("{\"retrain\": {\"weighted_fraction\": 1.5}}", "\"retrain.weighted_fraction\"",
                 "1.5");
    expect_error("{\"retrain\": {\"weighted_fraction\": -0.1}}", "\"retrain.weighted_fraction\"",
                 "-0.1");
    expect_error("{\"retrain\": {\"score_psi\": -0.25}}", "\"retrain.score_psi\"", "-0.25");
    expect_error("{\"retrain\": {\"score_psi\": true}}", "\"retrain.score_psi\"", "true");
    expect_error("{\"retrain\": {\"score_pis\": 0.1}}", "unknown key \"retrain.score_pis\"", NULL);
}

/* ---- the outcomes (issue 21) ----------------------------------------------------------- */

Test(config, outcome_keys)
{
    dm_config c;
    char err[256];
    cr_assert_eq(parse("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_null(c.label_column);
    cr_assert(isnan(c.label_delay_s) && isnan(c.retrain_cost_increase));
    cr_assert_eq(c.cost_fn, 10.0); /* the study's 10 * FN + FP */
    cr_assert_eq(c.cost_fp, 1.0);
    char *s = dm_config_drift_json(&c);
    cr_assert(strstr(s, "label_column") == NULL && strstr(s, "cost") == NULL, "%s", s);
    free(s);
    dm_config_release(&c);
    const char *text = "{\"model\": {\"score_column\": \"score\", \"decision_threshold\": 0.52, "
                       "\"label_column\": \"TARGET\", \"label_delay\": \"90 days\", "
                       "\"cost\": {\"fn\": 5, \"fp\": 0.5}},\n"
                       " \"retrain\": {\"cost_increase\": 0.1}}";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.label_column, "TARGET");
    cr_assert_eq(c.label_delay_s, 90.0 * 86400);
    cr_assert_eq(c.cost_fn, 5.0);
    cr_assert_eq(c.cost_fp, 0.5);
    cr_assert_eq(c.retrain_cost_increase, 0.1);
    s = dm_config_drift_json(&c);
    cr_assert(strstr(s, "\"label_column\":\"TARGET\",\"cost_fn\":5,\"cost_fp\":0.5") != NULL, "%s",
              s);
    cr_assert(strstr(s, "\"retrain_cost_increase\":0.1") != NULL, "%s", s);
    free(s);
    dm_config_release(&c);
    /* one cost given: the other keeps its default; a cost of 0 alone is fine */
    cr_assert_eq(parse("{\"model\": {\"cost\": {\"fp\": 0}}}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.cost_fn, 10.0);
    cr_assert_eq(c.cost_fp, 0.0);
    dm_config_release(&c);
    cr_assert_eq(parse("{\"model\": {\"label_delay\": \"36 hours\"}}", &c, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(c.label_delay_s, 36.0 * 3600);
    dm_config_release(&c);
    /* in the monitors form, a monitor's own */
    cr_assert_eq(parse("{\"monitors\": [{\"name\": \"a\", \"model\": {\"label_column\": \"y\"}, "
                       "\"retrain\": {\"cost_increase\": 0.2}}]}",
                       &c, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(dm_config_monitor(&c, 0)->label_column, "y");
    cr_assert_eq(dm_config_monitor(&c, 0)->retrain_cost_increase, 0.2);
    dm_config_release(&c);
}

Test(config, outcome_errors_name_key_and_value)
{
    expect_error("{\"model\": {\"label_column\": \"\"}}", "\"model.label_column\"", "\"\"");
    expect_error("{\"model\": {\"label_column\": 1}}", "\"model.label_column\"", "1");
    expect_error("{\"model\": {\"label_delay\": \"soon\"}}", "\"model.label_delay\"", "\"soon\"");
    expect_error("{\"model\": {\"label_delay\": 90}}", "\"model.label_delay\"", "90");
    expect_error("{\"model\": {\"label_delay\": \"0 days\"}}", "\"model.label_delay\"",
                 "\"0 days\"");
    expect_error("{\"model\": {\"cost\": {\"fn\": -1}}}", "\"model.cost.fn\"", "-1");
    expect_error("{\"model\": {\"cost\": {\"fp\": \"1\"}}}", "\"model.cost.fp\"", "\"1\"");
    expect_error("{\"model\": {\"cost\": {\"fn\": 0, \"fp\": 0}}}", "\"model.cost\"", "both 0");
    expect_error("{\"model\": {\"cost\": {\"fnn\": 1}}}", "unknown key \"model.cost.fnn\"", NULL);
    expect_error("{\"model\": {\"cost\": 10}}", "\"model.cost\"", "expected an object");
    expect_error("{\"retrain\": {\"cost_increase\": -0.1}}", "\"retrain.cost_increase\"", "-0.1");
    expect_error("{\"retrain\": {\"cost_increase\": \"10%\"}}", "\"retrain.cost_increase\"",
                 "\"10%\"");
    expect_error("{\"monitors\": [{\"name\": \"a\", \"model\": {\"cost\": {\"fp\": -2}}}]}",
                 "\"monitors[0].model.cost.fp\"", "-2");
}

/* ---- several monitors (issue 19) ------------------------------------------------------- */

Test(config, single_form_is_one_default_monitor)
{
    dm_config c;
    char err[512] = "";
    cr_assert_eq(parse("{\"source\": {\"table\": \"t\"}, \"reference\": {\"name\": \"r\"}}", &c,
                       err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(dm_config_n_monitors(&c), 1);
    cr_assert_eq(dm_config_monitor(&c, 0), &c);
    cr_assert_str_eq(dm_config_monitor_name(&c), "default");
    const dm_config *m = NULL;
    cr_assert_eq(dm_config_select(&c, NULL, &m, err, sizeof err), 0);
    cr_assert_eq(m, &c);
    cr_assert_eq(dm_config_select(&c, "default", &m, err, sizeof err), 0);
    cr_assert_eq(dm_config_select(&c, "other", &m, err, sizeof err), -1);
    cr_assert(strstr(err, "\"other\"") && strstr(err, "default"), "%s", err);
    dm_config_release(&c);
}

Test(config, monitors_each_their_own_keys_and_the_shared_ones)
{
    const char *text =
        "{\"database\": {\"conninfo\": \"dbname=scoring\", \"copy_streams\": 2},"
        " \"cache\": {\"dir\": \"/var/cache/dm\"},"
        " \"retrain\": {\"hook\": [\"/bin/true\"], \"max_attempts\": 3},"
        " \"monitors\": ["
        "  {\"name\": \"apps\", \"source\": {\"table\": \"a\", \"batch_column\": \"b\"},"
        "   \"reference\": {\"name\": \"ra\"}, \"drift\": {\"drift_share\": 0.25},"
        "   \"retrain\": {\"fraction\": 0.1, \"notify_channel\": \"ch_a\"}},"
        "  {\"name\": \"loans-2\", \"source\": {\"table\": \"l\", \"batch_column\": \"b\"},"
        "   \"reference\": {\"name\": \"rl\"}, \"reports\": {\"dir\": \"/srv/loans\"},"
        "   \"columns\": {\"exclude\": [\"id\"]}}]}";
    dm_config c;
    char err[512] = "";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_config_n_monitors(&c), 2);
    const dm_config *a = dm_config_monitor(&c, 0), *l = dm_config_monitor(&c, 1);
    cr_assert_str_eq(dm_config_monitor_name(a), "apps");
    cr_assert_str_eq(dm_config_monitor_name(l), "loans-2");
    /* own keys */
    cr_assert_str_eq(a->source_table, "a");
    cr_assert_str_eq(l->source_table, "l");
    cr_assert_str_eq(a->reference_name, "ra");
    cr_assert_eq(a->drift_share, 0.25);
    cr_assert_eq(l->drift_share, 0.5); /* the default, not the other monitor's */
    cr_assert_eq(a->retrain_fraction, 0.1);
    cr_assert_eq(l->retrain_fraction, 0.5);
    cr_assert_str_eq(a->notify_channel, "ch_a");
    cr_assert_null(l->notify_channel);
    cr_assert(dm_config_is_excluded(l, "id"));
    cr_assert(!dm_config_is_excluded(a, "id"));
    /* reports: reports/<name> unless set */
    cr_assert_str_eq(a->reports_dir, "reports/apps");
    cr_assert_str_eq(l->reports_dir, "/srv/loans");
    /* shared keys copied into each; the hook's delivery stays at the top */
    cr_assert_str_eq(a->conninfo, "dbname=scoring");
    cr_assert_str_eq(l->conninfo, "dbname=scoring");
    cr_assert_eq(l->copy_streams, 2);
    cr_assert_str_eq(l->cache_dir, "/var/cache/dm");
    cr_assert_str_eq(c.hook[0], "/bin/true");
    cr_assert_eq(c.hook_max_attempts, 3);
    /* every monitor records the file's hash */
    cr_assert_eq(strlen(c.sha256), 64);
    cr_assert_str_eq(a->sha256, c.sha256);
    cr_assert_str_eq(l->path, "cfg.json");
    /* selection */
    const dm_config *m = NULL;
    cr_assert_eq(dm_config_select(&c, "loans-2", &m, err, sizeof err), 0);
    cr_assert_eq(m, l);
    cr_assert_eq(dm_config_select(&c, NULL, &m, err, sizeof err), -1);
    cr_assert(strstr(err, "--monitor") && strstr(err, "apps, loans-2"), "%s", err);
    cr_assert_eq(dm_config_select(&c, "nope", &m, err, sizeof err), -1);
    cr_assert(strstr(err, "\"nope\"") && strstr(err, "apps, loans-2"), "%s", err);
    dm_config_release(&c);
}

Test(config, monitors_errors_name_the_key_path)
{
    expect_error("{\"monitors\": [{\"name\": \"a\"}, {\"name\": \"b\", \"source\": "
                 "{\"tablee\": \"t\"}}]}",
                 "unknown key \"monitors[1].source.tablee\"", NULL);
    expect_error("{\"monitors\": [{\"name\": \"a\", \"drift\": {\"stattest\": \"nope\"}}]}",
                 "key \"monitors[0].drift.stattest\"", "\"nope\"");
    expect_error("{\"monitors\": [{\"name\": \"a\", \"colour\": 1}]}",
                 "unknown key \"monitors[0].colour\"", NULL);
    expect_error("{\"monitors\": [{\"name\": \"a\", \"reports\": {\"history_runs\": 0}}]}",
                 "key \"monitors[0].reports.history_runs\"", NULL);
    expect_error("{\"monitors\": [{\"source\": {\"table\": \"t\"}}]}", "key \"monitors[0].name\"",
                 "missing");
    expect_error("{\"monitors\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
                 "key \"monitors[1].name\"", "monitors[0]");
    expect_error("{\"monitors\": [{\"name\": \"../etc\"}]}", "key \"monitors[0].name\"",
                 "\"../etc\"");
    expect_error("{\"monitors\": [{\"name\": \"\"}]}", "key \"monitors[0].name\"", NULL);
    expect_error("{\"monitors\": [{\"name\": \"-a\"}]}", "key \"monitors[0].name\"", NULL);
    expect_error("{\"monitors\": [{\"name\": 7}]}", "key \"monitors[0].name\"", NULL);
    expect_error("{\"monitors\": []}", "key \"monitors\"", "non-empty");
    expect_error("{\"monitors\": {\"name\": \"a\"}}", "key \"monitors\"", "array");
    expect_error("{\"monitors\": [\"a\"]}", "key \"monitors[0]\"", "object");
    /* per-monitor keys at the top, delivery keys in a monitor */
    expect_error("{\"source\": {\"table\": \"t\"}, \"monitors\": [{\"name\": \"a\"}]}",
                 "key \"source\"", "monitors[i].source");
    expect_error("{\"retrain\": {\"fraction\": 0.2}, \"monitors\": [{\"name\": \"a\"}]}",
                 "key \"retrain.fraction\"", "monitors[i].retrain.fraction");
    expect_error("{\"monitors\": [{\"name\": \"a\", \"retrain\": {\"hook\": [\"/bin/true\"]}}]}",
                 "key \"monitors[0].retrain.hook\"", "top level");
    expect_error("{\"colour\": 1, \"monitors\": [{\"name\": \"a\"}]}", "unknown key \"colour\"",
                 NULL);
    /* reports directories: one per monitor, however spelt */
    expect_error("{\"monitors\": [{\"name\": \"a\", \"reports\": {\"dir\": \"/r/x\"}},"
                 " {\"name\": \"b\", \"reports\": {\"dir\": \"/r//x/./\"}}]}",
                 "key \"monitors[1].reports.dir\"", "monitors[0]");
    expect_error("{\"monitors\": [{\"name\": \"a\"}, {\"name\": \"b\", \"reports\": {\"dir\": "
                 "\"reports/a\"}}]}",
                 "key \"monitors[1].reports.dir\"", "monitors[0]");
}

Test(config, monitor_names)
{
    cr_assert(dm_config_monitor_name_ok("a"));
    cr_assert(dm_config_monitor_name_ok("Loans_2-b"));
    cr_assert(dm_config_monitor_name_ok(
        "0123456789012345678901234567890123456789012345678901234567890123"));
    cr_assert(!dm_config_monitor_name_ok(
        "01234567890123456789012345678901234567890123456789012345678901234"));
    cr_assert(!dm_config_monitor_name_ok(""));
    cr_assert(!dm_config_monitor_name_ok("_a"));
    cr_assert(!dm_config_monitor_name_ok("a.b"));
    cr_assert(!dm_config_monitor_name_ok("a b"));
    cr_assert(!dm_config_monitor_name_ok("a/b"));
    cr_assert(!dm_config_monitor_name_ok("caf\xc3\xa9"));
}

/* metrics.listen and database.roles are the daemon's, shared: at the top of a monitors file,
 * not in an entry; the roles reach every monitor (what `check --monitor` connects as). */
Test(config, monitors_metrics_and_roles_at_the_top)
{
    dm_config c;
    char err[512] = "";
    cr_assert_eq(parse("{\"metrics\": {\"listen\": \"127.0.0.1:9187\"}, \"database\": {\"roles\": "
                       "{\"daemon\": \"d1\"}}, \"monitors\": [{\"name\": \"a\"}, {\"name\": "
                       "\"b\"}]}",
                       &c, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9187");
    cr_assert_eq(dm_config_n_monitors(&c), 2);
    for (size_t i = 0; i < 2; i++)
        cr_assert_str_eq(dm_config_role(dm_config_monitor(&c, i), DM_ROLE_DAEMON, NULL), "d1");
    dm_config_release(&c);
    expect_error("{\"monitors\": [{\"name\": \"a\", \"metrics\": {\"listen\": \"127.0.0.1:1\"}}]}",
                 "unknown key \"monitors[0].metrics\"", NULL);
    expect_error("{\"metrics\": {\"listen\": \"localhost:1\"}, \"monitors\": [{\"name\": \"a\"}]}",
                 "key \"metrics.listen\"", "\"localhost:1\"");
}

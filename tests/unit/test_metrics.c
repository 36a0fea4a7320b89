/* test_metrics.c - the daemon's metrics (issue 19): the Prometheus text rendering (label
 * escaping, the histogram's cumulative buckets, non-finite values), the hub's snapshots,
 * /healthz's verdict and metrics.listen.  Expected texts follow the exposition format's
 * rules (prometheus.io "Exposition formats", text format 0.0.4): label values escape
 * backslash, double quote and line feed as \\ \" \n; histogram buckets are cumulative,
 * le="+Inf" equals _count. */
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "monitor/config.h"
#include "monitor/metrics.h"

static dm_metrics_snapshot model(void)
{
    dm_metrics_snapshot m;
    static const char *const names[] = {"default"};
    cr_assert_eq(dm_metrics_model_init(&m, names, 1), 0);
    return m;
}

/* The one line of text that starts with prefix, or NULL. */
static const char *line_of(const char *text, const char *prefix, char *out, size_t len)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l >= n && memcmp(p, prefix, n) == 0) {
            snprintf(out, len, "%.*s", (int)l, p);
            return out;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

static void expect_line(const char *text, const char *line)
{
    char want[600];
    snprintf(want, sizeof want, "\n%s\n", line);
    cr_assert(strstr(text, want) != NULL, "line not found: %s\nin:\n%s", line, text);
}

Test(metrics, label_values_escaped)
{
    dm_metrics_snapshot m = model();
    /* a column name holding a quote, a backslash, a line feed, and one with UTF-8 */
    const char *names[] = {"a\"b", "c\\d", "e\nf", "\xc3\xa9t\xc3\xa9"};
    double scores[] = {0.5, 0.25, 1.0 / 3.0, 2};
    cr_assert_eq(dm_metrics_set_columns(&m.monitors[0], names, scores, 4), 0);
    char *t = dm_metrics_render(&m, NULL);
    cr_assert_not_null(t);
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"a\\\"b\"} 0.5");
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"c\\\\d\"} 0.25");
    /* 1/3 spelled as the shortest decimal that reads back exactly (Python's repr(1/3)) */
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"e\\nf\"} "
                   "0.3333333333333333");
    expect_line(t,
                "driftmon_column_drift_score{monitor=\"default\",column=\"\xc3\xa9t\xc3\xa9\"} 2");
    /* no raw line feed inside a series: every line is a comment or name{...} value */
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        cr_assert_not_null(e, "text does not end with a line feed");
        cr_assert(*p == '#' || strncmp(p, "driftmon_", 9) == 0, "stray line: %.*s", (int)(e - p),
                  p);
        p = e + 1;
    }
    free(t);
    dm_metrics_model_release(&m);
}

Test(metrics, ill_formed_utf8_label_replaced)
{
    dm_metrics_snapshot m = model();
    const char *names[] = {"x\xff"};
    double scores[] = {1};
    cr_assert_eq(dm_metrics_set_columns(&m.monitors[0], names, scores, 1), 0);
    char *t = dm_metrics_render(&m, NULL);
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"x\xef\xbf\xbd\"} 1");
    free(t);
    dm_metrics_model_release(&m);
}

Test(metrics, histogram_cumulative)
{
    dm_metrics_snapshot m = model();
    /* 0.1 lies on a bound (le is "less or equal"), 0.3 in (0.25, 0.5], 700 past the last */
    dm_metrics_observe(&m, 0.1);
    dm_metrics_observe(&m, 0.3);
    dm_metrics_observe(&m, 700);
    char *t = dm_metrics_render(&m, NULL);
    expect_line(t, "# TYPE driftmon_check_duration_seconds histogram");
    expect_line(t, "driftmon_check_duration_seconds_bucket{le=\"0.1\"} 1");
    expect_line(t, "driftmon_check_duration_seconds_bucket{le=\"0.25\"} 1");
    expect_line(t, "driftmon_check_duration_seconds_bucket{le=\"0.5\"} 2");
    expect_line(t, "driftmon_check_duration_seconds_bucket{le=\"600\"} 2");
    expect_line(t, "driftmon_check_duration_seconds_bucket{le=\"+Inf\"} 3");
    /* 0.1 + 0.3 + 700 in double arithmetic, in the same order */
    char want[100];
    snprintf(want, sizeof want, "driftmon_check_duration_seconds_sum %.17g", 0.1 + 0.3 + 700);
    char got[200];
    cr_assert_not_null(line_of(t, "driftmon_check_duration_seconds_sum ", got, sizeof got));
    cr_assert_eq(strtod(got + strlen("driftmon_check_duration_seconds_sum "), NULL),
                 0.1 + 0.3 + 700, "%s", got);
    expect_line(t, "driftmon_check_duration_seconds_count 3");
    /* the buckets come in ascending order of le, +Inf last, then _sum and _count */
    const char *prev = t;
    double last = -1;
    for (size_t k = 0; k < DM_METRICS_NBUCKETS; k++) {
        char pre[80];
        snprintf(pre, sizeof pre, "driftmon_check_duration_seconds_bucket{le=\"%g\"}",
                 dm_metrics_buckets[k]);
        const char *at = strstr(t, pre);
        cr_assert_not_null(at, "%s missing", pre);
        cr_assert(at > prev, "%s out of order", pre);
        cr_assert(dm_metrics_buckets[k] > last);
        last = dm_metrics_buckets[k];
        prev = at;
    }
    cr_assert(strstr(t, "le=\"+Inf\"") > prev);
    cr_assert(strstr(t, "_sum ") > strstr(t, "le=\"+Inf\""));
    cr_assert(strstr(t, "_count ") > strstr(t, "_sum "));
    free(t);
    dm_metrics_model_release(&m);
}

Test(metrics, families_help_type_and_unknown_left_out)
{
    dm_metrics_snapshot m = model();
    char *t = dm_metrics_render(&m, NULL);
    static const char *const fam[][2] = {
        {"driftmon_runs_total", "counter"},
        {"driftmon_last_run_timestamp_seconds", "gauge"},
        {"driftmon_drifted_share", "gauge"},
        {"driftmon_column_drift_score", "gauge"},
        {"driftmon_batches_pending", "gauge"},
        {"driftmon_alerts", "gauge"},
        {"driftmon_check_duration_seconds", "histogram"},
        {"driftmon_database_up", "gauge"},
    };
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        char l[200];
        snprintf(l, sizeof l, "# TYPE %s %s", fam[i][0], fam[i][1]);
        cr_assert(strstr(t, l) != NULL, "%s missing", l);
        snprintf(l, sizeof l, "# HELP %s ", fam[i][0]);
        cr_assert(strstr(t, l) != NULL, "%s missing", l);
    }
    /* no run, nothing read yet: those gauges have no series; counters start at 0 */
    cr_assert_null(strstr(t, "driftmon_last_run_timestamp_seconds{"));
    cr_assert_null(strstr(t, "driftmon_drifted_share{"));
    cr_assert_null(strstr(t, "driftmon_batches_pending{"));
    cr_assert_null(strstr(t, "driftmon_alerts{"));
    expect_line(t, "driftmon_runs_total{monitor=\"default\",result=\"failed\"} 0");
    expect_line(t, "driftmon_database_up 0");
    free(t);

    m.monitors[0].has_last_run = true;
    m.monitors[0].last_run_s = 1796278589.962287;
    m.monitors[0].drifted_share = NAN;
    m.monitors[0].batches_pending = 7;
    m.monitors[0].runs[DM_METRIC_DRIFT] = 3;
    m.alerts[DM_ALERT_DEAD] = 2;
    m.alerts[DM_ALERT_PENDING] = 0;
    m.database_up = true;
    const char *names[] = {"inf", "minf"};
    double scores[] = {INFINITY, -INFINITY};
    cr_assert_eq(dm_metrics_set_columns(&m.monitors[0], names, scores, 2), 0);
    t = dm_metrics_render(&m, NULL);
    expect_line(t, "driftmon_last_run_timestamp_seconds{monitor=\"default\"} 1796278589.962287");
    expect_line(t, "driftmon_drifted_share{monitor=\"default\"} NaN");
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"inf\"} +Inf");
    expect_line(t, "driftmon_column_drift_score{monitor=\"default\",column=\"minf\"} -Inf");
    expect_line(t, "driftmon_batches_pending{monitor=\"default\"} 7");
    expect_line(t, "driftmon_runs_total{monitor=\"default\",result=\"drift\"} 3");
    expect_line(t, "driftmon_alerts{state=\"dead\"} 2");
    expect_line(t, "driftmon_alerts{state=\"pending\"} 0");
    cr_assert_null(strstr(t, "state=\"delivered\""));
    expect_line(t, "driftmon_database_up 1");
    free(t);
    dm_metrics_model_release(&m);
}

/* The standby's counters (database.read_conninfo): absent without a standby; with one, reads
 * and every fallback reason, named as the log names them (monitor/replica.h). */
Test(metrics, standby_counters)
{
    dm_metrics_snapshot m = model();
    char *t = dm_metrics_render(&m, NULL);
    cr_assert_null(strstr(t, "driftmon_standby_"));
    free(t);
    m.standby = true;
    m.standby_reads = 5;
    m.standby_fallbacks[DM_REPLICA_TIMEOUT] = 2;
    t = dm_metrics_render(&m, NULL);
    cr_assert_not_null(strstr(t, "# TYPE driftmon_standby_reads_total counter"));
    cr_assert_not_null(strstr(t, "# TYPE driftmon_standby_fallbacks_total counter"));
    expect_line(t, "driftmon_standby_reads_total 5");
    expect_line(t, "driftmon_standby_fallbacks_total{reason=\"timeout\"} 2");
    for (int k = 0; k < DM_REPLICA_REASONS; k++) {
        char l[128];
        snprintf(l, sizeof l, "driftmon_standby_fallbacks_total{reason=\"%s\"} %d",
                 dm_replica_reason_name((dm_replica_reason)k), k == DM_REPLICA_TIMEOUT ? 2 : 0);
        expect_line(t, l);
    }
    free(t);
    dm_metrics_model_release(&m);
}

/* The realised performance (issue 21): the families typed and helped; the counters at 0 from
 * the start for every monitor; the cost alerts absent until read; the newest evaluation's
 * gauges absent without one and, with one, each absent while its figure is undefined (an AUC
 * of one class), the others with the model's values. */
Test(metrics, realised_performance)
{
    dm_metrics_snapshot m;
    static const char *const names[] = {"a", "b"};
    cr_assert_eq(dm_metrics_model_init(&m, names, 2), 0);
    static const char *const fam[][2] = {
        {"driftmon_cohort_evaluations_total", "counter"},
        {"driftmon_cost_alerts", "gauge"},
        {"driftmon_last_evaluation_timestamp_seconds", "gauge"},
        {"driftmon_business_cost", "gauge"},
        {"driftmon_reference_business_cost", "gauge"},
        {"driftmon_auc", "gauge"},
        {"driftmon_reference_auc", "gauge"},
    };
    char *t = dm_metrics_render(&m, NULL);
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        char l[200];
        snprintf(l, sizeof l, "# TYPE %s %s", fam[i][0], fam[i][1]);
        cr_assert(strstr(t, l) != NULL, "%s missing", l);
        snprintf(l, sizeof l, "# HELP %s ", fam[i][0]);
        cr_assert(strstr(t, l) != NULL, "%s missing", l);
        if (i > 0) {
            snprintf(l, sizeof l, "\n%s{", fam[i][0]);
            cr_assert_null(strstr(t, l), "%s has a series before anything was read", fam[i][0]);
        }
    }
    static const char *const results[] = {"cost_alert", "no_alert", "failed"};
    for (size_t i = 0; i < 2; i++)
        for (size_t r = 0; r < 3; r++) {
            char l[200];
            snprintf(l, sizeof l,
                     "driftmon_cohort_evaluations_total{monitor=\"%s\",result=\"%s\"} 0", names[i],
                     results[r]);
            expect_line(t, l);
        }
    free(t);

    m.monitors[1].evals[DM_EVAL_COST_ALERT] = 2;
    m.monitors[1].evals[DM_EVAL_FAILED] = 9;
    m.monitors[1].cost_alerts[DM_ALERT_PENDING] = 0;
    m.monitors[1].cost_alerts[DM_ALERT_DELIVERED] = 1;
    m.monitors[1].cost_alerts[DM_ALERT_DEAD] = 1;
    m.monitors[1].has_last_eval = true;
    m.monitors[1].perf[DM_PERF_EVALUATED_AT] = 1796278589.25;
    m.monitors[1].perf[DM_PERF_BUSINESS_COST] = 2.5;
    m.monitors[1].perf[DM_PERF_REFERENCE_BUSINESS_COST] = 0.3294;
    m.monitors[1].perf[DM_PERF_AUC] = NAN;
    m.monitors[1].perf[DM_PERF_REFERENCE_AUC] = 0.75;
    t = dm_metrics_render(&m, NULL);
    expect_line(t, "driftmon_cohort_evaluations_total{monitor=\"b\",result=\"cost_alert\"} 2");
    expect_line(t, "driftmon_cohort_evaluations_total{monitor=\"b\",result=\"failed\"} 9");
    expect_line(t, "driftmon_cohort_evaluations_total{monitor=\"a\",result=\"failed\"} 0");
    expect_line(t, "driftmon_cost_alerts{monitor=\"b\",state=\"pending\"} 0");
    expect_line(t, "driftmon_cost_alerts{monitor=\"b\",state=\"delivered\"} 1");
    expect_line(t, "driftmon_cost_alerts{monitor=\"b\",state=\"dead\"} 1");
    cr_assert_null(strstr(t, "driftmon_cost_alerts{monitor=\"a\""));
    expect_line(t, "driftmon_last_evaluation_timestamp_seconds{monitor=\"b\"} 1796278589.25");
    expect_line(t, "driftmon_business_cost{monitor=\"b\"} 2.5");
    expect_line(t, "driftmon_reference_business_cost{monitor=\"b\"} 0.3294");
    expect_line(t, "driftmon_reference_auc{monitor=\"b\"} 0.75");
    cr_assert_null(strstr(t, "\ndriftmon_auc{"), "an undefined AUC has a series");
    cr_assert_null(strstr(t, "driftmon_business_cost{monitor=\"a\"}"));
    free(t);
    dm_metrics_model_release(&m);
}

Test(metrics, several_monitors)
{
    dm_metrics_snapshot m;
    static const char *const names[] = {"default", "cards \"eu\""};
    cr_assert_eq(dm_metrics_model_init(&m, names, 2), 0);
    m.monitors[1].runs[DM_METRIC_NO_DRIFT] = 4;
    char *t = dm_metrics_render(&m, NULL);
    expect_line(t, "driftmon_runs_total{monitor=\"cards \\\"eu\\\"\",result=\"no_drift\"} 4");
    expect_line(t, "driftmon_runs_total{monitor=\"default\",result=\"no_drift\"} 0");
    free(t);
    dm_metrics_model_release(&m);
}

Test(metrics, snapshots_outlive_a_publish)
{
    dm_metrics_hub h;
    dm_metrics_hub_init(&h, 1.0);
    cr_assert_null(dm_metrics_acquire(&h));
    dm_metrics_snapshot m = model();
    m.monitors[0].runs[DM_METRIC_FAILED] = 1;
    cr_assert_eq(dm_metrics_publish(&h, &m), 0);
    dm_metrics_snapshot *a = dm_metrics_acquire(&h);
    m.monitors[0].runs[DM_METRIC_FAILED] = 2; /* the model changes; the copy does not */
    cr_assert_eq(a->monitors[0].runs[DM_METRIC_FAILED], 1);
    cr_assert_eq(dm_metrics_publish(&h, &m), 0);
    cr_assert_eq(a->monitors[0].runs[DM_METRIC_FAILED], 1); /* still held */
    cr_assert_str_eq(a->monitors[0].name, "default");
    dm_metrics_snapshot *b = dm_metrics_acquire(&h);
    cr_assert_neq(a, b);
    cr_assert_eq(b->monitors[0].runs[DM_METRIC_FAILED], 2);
    dm_metrics_release(a);
    dm_metrics_release(b);
    dm_metrics_hub_release(&h);
    dm_metrics_model_release(&m);
}

Test(metrics, health)
{
    dm_metrics_hub h;
    dm_metrics_hub_init(&h, 2.0);
    char why[300];
    cr_assert_eq(dm_metrics_health(&h, 0, why, sizeof why), 503);
    cr_assert_str_eq(why, "starting");
    dm_metrics_snapshot m = model();
    snprintf(m.down_reason, sizeof m.down_reason, "server closed the connection");
    dm_metrics_publish(&h, &m);
    const long long s = 1000000000LL;
    atomic_store(&h.turn_ns, 100 * s);
    cr_assert_eq(dm_metrics_health(&h, 100 * s, why, sizeof why), 503);
    cr_assert_str_eq(why, "database not connected: server closed the connection");
    m.database_up = true;
    dm_metrics_publish(&h, &m);
    cr_assert_eq(dm_metrics_health(&h, 101 * s, why, sizeof why), 200);
    cr_assert_str_eq(why, "ok");
    cr_assert_eq(dm_metrics_health(&h, 102 * s, why, sizeof why), 200); /* 2 s: the limit */
    cr_assert_eq(dm_metrics_health(&h, 103 * s, why, sizeof why), 503);
    cr_assert_str_eq(why, "the loop has not turned for 3.0 s (limit 2.0 s)");
    atomic_store(&h.check_ns, 101 * s); /* a check in hand: the loop is at work */
    cr_assert_eq(dm_metrics_health(&h, 110 * s, why, sizeof why), 200);
    cr_assert_str_eq(why, "ok: checking for 9.0 s");
    dm_metrics_hub_release(&h);
    dm_metrics_model_release(&m);
}

Test(metrics, parse_listen)
{
    struct sockaddr_storage ss;
    unsigned len = 0;
    char why[200];
    cr_assert_eq(dm_metrics_parse_listen("127.0.0.1:9187", &ss, &len, why, sizeof why), 0);
    cr_assert_eq(ss.ss_family, AF_INET);
    cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9187);
    cr_assert_eq(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7f000001u);
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(dm_metrics_parse_listen("[::1]:0", &ss, &len, why, sizeof why), 0);
    cr_assert_eq(ss.ss_family, AF_INET6);
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(dm_metrics_parse_listen("0.0.0.0:65535", &ss, &len, why, sizeof why), 0);
    static const char *const bad[] = {"127.0.0.1",     "127.0.0.1:",          "127.0.0.1:65536",
                                      "127.0.0.1:80x", "localhost:9187",      ":9187",
                                      "::1:9187",      "[::1]9187",           "[127.0.0.1]:80",
                                      "127.0.0.1:-1",  "127.0.0.1:000009187", "1.2.3:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(dm_metrics_parse_listen(bad[i], &ss, &len, why, sizeof why), -1, "accepted %s",
                     bad[i]);
}

Test(metrics, config_key)
{
    dm_config c;
    char err[512] = "";
    const char *ok = "{\"metrics\": {\"listen\": \"127.0.0.1:9187\"}}";
    cr_assert_eq(dm_config_parse(ok, strlen(ok), "cfg.json", &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9187");
    dm_config_release(&c);
    const char *none = "{}";
    cr_assert_eq(dm_config_parse(none, strlen(none), "cfg.json", &c, err, sizeof err), 0);
    cr_assert_null(c.metrics_listen);
    dm_config_release(&c);
    const char *bad = "{\"metrics\": {\"listen\": \"127.0.0.1:99999\"}}";
    cr_assert_eq(dm_config_parse(bad, strlen(bad), "cfg.json", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "cfg.json") && strstr(err, "metrics.listen") &&
                  strstr(err, "127.0.0.1:99999") && strstr(err, "port"),
              "%s", err);
    const char *unknown = "{\"metrics\": {\"port\": 9187}}";
    cr_assert_eq(dm_config_parse(unknown, strlen(unknown), "cfg.json", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown key \"metrics.port\""), "%s", err);
    /* a value with a control character is shown escaped, never raw */
    const char *ctl = "{\"metrics\": {\"listen\": \"a\\u001b[31m:1\"}}";
    cr_assert_eq(dm_config_parse(ctl, strlen(ctl), "cfg.json", &c, err, sizeof err), -1);
    cr_assert_null(strchr(err, '\x1b'), "%s", err);
}

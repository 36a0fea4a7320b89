/* metrics.c - the daemon's metrics: the model, its publication to the HTTP thread, the
 * Prometheus text rendering and /healthz's verdict (see metrics.h). */
#include "monitor/metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "reports/report.h"
#include "stats/numfmt.h"

/* From a tenth of a second (a small batch) to ten minutes (a long window of a wide table). */
const double dm_metrics_buckets[DM_METRICS_NBUCKETS] = {0.1, 0.25, 0.5, 1,   2.5, 5,
                                                        10,  25,   60,  120, 300, 600};

/* ---- the model ----------------------------------------------------------------------- */

static void free_columns(dm_metrics_monitor *mon)
{
    for (size_t i = 0; i < mon->n_columns; i++)
        free(mon->columns[i].name);
    free(mon->columns);
    mon->columns = NULL;
    mon->n_columns = 0;
}

int dm_metrics_model_init(dm_metrics_snapshot *m, const char *const *names, size_t n)
{
    memset(m, 0, sizeof *m);
    for (size_t k = 0; k < DM_ALERT_STATES; k++)
        m->alerts[k] = -1;
    m->monitors = calloc(n ? n : 1, sizeof *m->monitors);
    if (!m->monitors)
        return -1;
    m->n_monitors = n;
    for (size_t i = 0; i < n; i++) {
        m->monitors[i].batches_pending = -1;
        for (size_t k = 0; k < DM_ALERT_STATES; k++)
            m->monitors[i].cost_alerts[k] = -1;
        m->monitors[i].name = strdup(names[i]);
        if (!m->monitors[i].name) {
            dm_metrics_model_release(m);
            return -1;
        }
    }
    snprintf(m->down_reason, sizeof m->down_reason, "not connected yet");
    return 0;
}

void dm_metrics_model_release(dm_metrics_snapshot *m)
{
    for (size_t i = 0; m->monitors && i < m->n_monitors; i++) {
        free(m->monitors[i].name);
        free_columns(&m->monitors[i]);
    }
    free(m->monitors);
    m->monitors = NULL;
    m->n_monitors = 0;
}

int dm_metrics_set_columns(dm_metrics_monitor *mon, const char *const *names, const double *scores,
                           size_t n)
{
    dm_metrics_column *c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < n; i++) {
        c[i].name = strdup(names[i]);
        c[i].score = scores[i];
        if (!c[i].name) {
            for (size_t j = 0; j < i; j++)
                free(c[j].name);
            free(c);
            return -1;
        }
    }
    free_columns(mon);
    mon->columns = c;
    mon->n_columns = n;
    return 0;
}

void dm_metrics_observe(dm_metrics_snapshot *m, double seconds)
{
    if (!(seconds >= 0))
        seconds = 0;
    size_t b = 0;
    while (b < DM_METRICS_NBUCKETS && seconds > dm_metrics_buckets[b])
        b++;
    m->duration_counts[b]++;
    m->duration_sum += seconds;
}

/* A deep copy of m (refs 1), or NULL. */
static dm_metrics_snapshot *snapshot_copy(const dm_metrics_snapshot *m)
{
    dm_metrics_snapshot *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, m, sizeof *s);
    atomic_init(&s->refs, 1);
    s->monitors = calloc(m->n_monitors ? m->n_monitors : 1, sizeof *s->monitors);
    if (!s->monitors) {
        free(s);
        return NULL;
    }
    bool ok = true;
    for (size_t i = 0; i < m->n_monitors && ok; i++) {
        const dm_metrics_monitor *a = &m->monitors[i];
        dm_metrics_monitor *b = &s->monitors[i];
        *b = *a;
        b->columns = NULL;
        b->n_columns = 0;
        b->name = strdup(a->name);
        ok = b->name != NULL;
        if (ok && a->n_columns) {
            b->columns = calloc(a->n_columns, sizeof *b->columns);
            ok = b->columns != NULL;
            for (size_t j = 0; ok && j < a->n_columns; j++) {
                b->columns[j].score = a->columns[j].score;
                b->columns[j].name = strdup(a->columns[j].name);
                ok = b->columns[j].name != NULL;
                b->n_columns = j + 1;
            }
        }
    }
    if (!ok) {
        dm_metrics_model_release(s);
        free(s);
        return NULL;
    }
    return s;
}

/* ---- the hub ------------------------------------------------------------------------- */

void dm_metrics_hub_init(dm_metrics_hub *h, double stale_s)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->turn_ns, 0);
    atomic_init(&h->check_ns, 0);
    h->stale_s = stale_s;
}

void dm_metrics_hub_release(dm_metrics_hub *h)
{
    if (h->cur)
        dm_metrics_release(h->cur);
    h->cur = NULL;
    pthread_mutex_destroy(&h->mu);
}

int dm_metrics_publish(dm_metrics_hub *h, const dm_metrics_snapshot *m)
{
    dm_metrics_snapshot *s = snapshot_copy(m);
    if (!s)
        return -1;
    pthread_mutex_lock(&h->mu);
    dm_metrics_snapshot *old = h->cur;
    h->cur = s;
    pthread_mutex_unlock(&h->mu);
    if (old)
        dm_metrics_release(old);
    return 0;
}

dm_metrics_snapshot *dm_metrics_acquire(dm_metrics_hub *h)
{
    pthread_mutex_lock(&h->mu);
    dm_metrics_snapshot *s = h->cur;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&h->mu);
    return s;
}

void dm_metrics_release(dm_metrics_snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        dm_metrics_model_release(s);
        free(s);
    }
}

long long dm_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int dm_metrics_health(dm_metrics_hub *h, long long now_ns, char *reason, size_t len)
{
    dm_metrics_snapshot *s = dm_metrics_acquire(h);
    int code = 503;
    if (!s) {
        snprintf(reason, len, "starting");
    } else if (!s->database_up) {
        /* the reason is libpq's, cut to one line by the loop */
        snprintf(reason, len, "database not connected: %s", s->down_reason);
    } else {
        long long turn = atomic_load(&h->turn_ns), check = atomic_load(&h->check_ns);
        double age = (double)(now_ns - turn) * 1e-9;
        if (check != 0) {
            snprintf(reason, len, "ok: checking for %.1f s", (double)(now_ns - check) * 1e-9);
            code = 200;
        } else if (age > h->stale_s) {
            snprintf(reason, len, "the loop has not turned for %.1f s (limit %.1f s)", age,
                     h->stale_s);
        } else {
            snprintf(reason, len, "ok");
            code = 200;
        }
    }
    dm_metrics_release(s);
    return code;
}

/* ---- the text format ----------------------------------------------------------------- */

/* driftmon_alerts' and driftmon_cost_alerts' state label, as the driftmon.alerts view names
 * them. */
static const char *const alert_states[DM_ALERT_STATES] = {"pending", "delivered", "dead"};

/* A label value: UTF-8, with \ " and newline escaped. */
static void put_label(rpt_buf *b, const char *v)
{
    char *u = rpt_utf8_sanitize(v);
    if (!u) {
        b->failed = true;
        return;
    }
    const char *run = u;
    for (const char *q = u; *q; q++) {
        const char *esc = *q == '\\' ? "\\\\" : *q == '"' ? "\\\"" : *q == '\n' ? "\\n" : NULL;
        if (esc) {
            rpt_buf_put(b, run, (size_t)(q - run));
            rpt_buf_puts(b, esc);
            run = q + 1;
        }
    }
    rpt_buf_puts(b, run);
    free(u);
}

static void put_value(rpt_buf *b, double v)
{
    char num[STATS_DOUBLE_BUFLEN];
    if (isnan(v))
        rpt_buf_puts(b, " NaN\n");
    else if (isinf(v))
        rpt_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        rpt_buf_printf(b, " %s\n", stats_format_double(v, num, sizeof num));
}

static void family(rpt_buf *b, const char *name, const char *type, const char *help)
{
    rpt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{monitor="m"} or name{monitor="m",key="val"} */
static void series(rpt_buf *b, const char *name, const char *monitor, const char *key,
                   const char *val)
{
    rpt_buf_puts(b, name);
    rpt_buf_puts(b, "{monitor=\"");
    put_label(b, monitor);
    if (key) {
        rpt_buf_printf(b, "\",%s=\"", key);
        put_label(b, val);
    }
    rpt_buf_puts(b, "\"}");
}

/* The realised performance's families (metrics.h). */
static void render_perf(rpt_buf *b, const dm_metrics_snapshot *s)
{
    static const char *const results[DM_EVAL_RESULTS] = {"cost_alert", "no_alert", "failed"};
    static const struct {
        const char *name, *help;
    } gauges[DM_PERF_GAUGES] = {
        {"driftmon_last_evaluation_timestamp_seconds",
         "When the monitor's newest evaluated cohort was last evaluated, seconds since the "
         "epoch."},
        {"driftmon_business_cost",
         "Realised business cost per application, (cost.fn * FN + cost.fp * FP) / rows, of "
         "the monitor's newest evaluated cohort."},
        {"driftmon_reference_business_cost",
         "Business cost per application of the reference that cohort was compared with."},
        {"driftmon_auc", "Realised AUC of the monitor's newest evaluated cohort."},
        {"driftmon_reference_auc", "AUC of the reference that cohort was compared with."},
    };
    const size_t nm = s->n_monitors;

    family(b, "driftmon_cohort_evaluations_total", "counter",
           "Cohorts evaluated by this process since it started, by result (cost_alert: "
           "retraining flagged, reason cost; failed: the cohort could not be read or "
           "evaluated, counted at each look).");
    for (size_t i = 0; i < nm; i++)
        for (size_t r = 0; r < DM_EVAL_RESULTS; r++) {
            series(b, "driftmon_cohort_evaluations_total", s->monitors[i].name, "result",
                   results[r]);
            put_value(b, (double)s->monitors[i].evals[r]);
        }

    family(b, "driftmon_cost_alerts", "gauge",
           "Retrain alerts with reason cost in the outbox (driftmon.performance_outbox), by "
           "state.");
    for (size_t i = 0; i < nm; i++)
        for (size_t k = 0; k < DM_ALERT_STATES; k++)
            if (s->monitors[i].cost_alerts[k] >= 0) {
                series(b, "driftmon_cost_alerts", s->monitors[i].name, "state", alert_states[k]);
                put_value(b, (double)s->monitors[i].cost_alerts[k]);
            }

    for (size_t g = 0; g < DM_PERF_GAUGES; g++) {
        family(b, gauges[g].name, "gauge", gauges[g].help);
        for (size_t i = 0; i < nm; i++)
            if (s->monitors[i].has_last_eval && !isnan(s->monitors[i].perf[g])) {
                series(b, gauges[g].name, s->monitors[i].name, NULL, NULL);
                put_value(b, s->monitors[i].perf[g]);
            }
    }
}

char *dm_metrics_render(const dm_metrics_snapshot *s, size_t *len)
{
    static const char *const results[DM_METRIC_RESULTS] = {"drift", "no_drift", "failed"};
    rpt_buf b;
    rpt_buf_init(&b);
    const size_t nm = s->n_monitors;

    family(&b, "driftmon_runs_total", "counter",
           "Checks made by this process since it started, by result (drift: dataset drift "
           "detected; failed: the check could not be made).");
    for (size_t i = 0; i < nm; i++)
        for (size_t r = 0; r < DM_METRIC_RESULTS; r++) {
            series(&b, "driftmon_runs_total", s->monitors[i].name, "result", results[r]);
            put_value(&b, (double)s->monitors[i].runs[r]);
        }

    family(&b, "driftmon_last_run_timestamp_seconds", "gauge",
           "When the monitor's newest stored run finished, seconds since the epoch.");
    for (size_t i = 0; i < nm; i++)
        if (s->monitors[i].has_last_run) {
            series(&b, "driftmon_last_run_timestamp_seconds", s->monitors[i].name, NULL, NULL);
            put_value(&b, s->monitors[i].last_run_s);
        }

    family(&b, "driftmon_drifted_share", "gauge",
           "Share of drifted columns in the monitor's newest stored run (0 to 1).");
    for (size_t i = 0; i < nm; i++)
        if (s->monitors[i].has_last_run) {
            series(&b, "driftmon_drifted_share", s->monitors[i].name, NULL, NULL);
            put_value(&b, s->monitors[i].drifted_share);
        }

    family(&b, "driftmon_column_drift_score", "gauge",
           "Drift score of each tested column in the monitor's newest stored run (the "
           "column's stattest decides the scale).");
    for (size_t i = 0; i < nm; i++)
        for (size_t c = 0; c < s->monitors[i].n_columns; c++) {
            series(&b, "driftmon_column_drift_score", s->monitors[i].name, "column",
                   s->monitors[i].columns[c].name);
            put_value(&b, s->monitors[i].columns[c].score);
        }

    family(&b, "driftmon_batches_pending", "gauge",
           "Submitted batches not yet checked (driftmon.batch rows not done).");
    for (size_t i = 0; i < nm; i++)
        if (s->monitors[i].batches_pending >= 0) {
            series(&b, "driftmon_batches_pending", s->monitors[i].name, NULL, NULL);
            put_value(&b, (double)s->monitors[i].batches_pending);
        }

    family(&b, "driftmon_alerts", "gauge", "Retrain alerts in the outbox, by state.");
    for (size_t k = 0; k < DM_ALERT_STATES; k++)
        if (s->alerts[k] >= 0) {
            rpt_buf_printf(&b, "driftmon_alerts{state=\"%s\"}", alert_states[k]);
            put_value(&b, (double)s->alerts[k]);
        }

    render_perf(&b, s);

    family(&b, "driftmon_check_duration_seconds", "histogram",
           "Wall time of the checks made by this process since it started.");
    uint64_t cum = 0;
    char le[STATS_DOUBLE_BUFLEN];
    for (size_t k = 0; k < DM_METRICS_NBUCKETS; k++) {
        cum += s->duration_counts[k];
        rpt_buf_printf(&b, "driftmon_check_duration_seconds_bucket{le=\"%s\"}",
                       stats_format_double(dm_metrics_buckets[k], le, sizeof le));
        put_value(&b, (double)cum);
    }
    cum += s->duration_counts[DM_METRICS_NBUCKETS];
    rpt_buf_puts(&b, "driftmon_check_duration_seconds_bucket{le=\"+Inf\"}");
    put_value(&b, (double)cum);
    rpt_buf_puts(&b, "driftmon_check_duration_seconds_sum");
    put_value(&b, s->duration_sum);
    rpt_buf_puts(&b, "driftmon_check_duration_seconds_count");
    put_value(&b, (double)cum);

    family(&b, "driftmon_database_up", "gauge",
           "1 while the daemon's loop holds a working database connection, else 0.");
    rpt_buf_puts(&b, "driftmon_database_up");
    put_value(&b, s->database_up ? 1 : 0);

    if (s->standby) {
        family(&b, "driftmon_standby_reads_total", "counter",
               "Checks by this process since it started whose rows were read on the standby "
               "(database.read_conninfo).");
        rpt_buf_puts(&b, "driftmon_standby_reads_total");
        put_value(&b, (double)s->standby_reads);
        family(&b, "driftmon_standby_fallbacks_total", "counter",
               "Checks by this process since it started that read on the primary although "
               "database.read_conninfo is set, by reason.");
        for (int k = 0; k < DM_REPLICA_REASONS; k++) {
            rpt_buf_printf(&b, "driftmon_standby_fallbacks_total{reason=\"%s\"}",
                           dm_replica_reason_name((dm_replica_reason)k));
            put_value(&b, (double)s->standby_fallbacks[k]);
        }
    }

    size_t n = b.len;
    char *out = rpt_buf_take(&b); /* NULL when an append failed */
    if (out && len)
        *len = n;
    return out;
}

/* ---- metrics.listen ------------------------------------------------------------------ */

int dm_metrics_parse_listen(const char *text, struct sockaddr_storage *addr, unsigned *addrlen,
                            char *why, size_t whylen)
{
    char host[64];
    const char *port;
    const char *usage = "expected HOST:PORT with a numeric IPv4 address or a bracketed IPv6 "
                        "one, e.g. \"127.0.0.1:9187\" or \"[::1]:9187\"";
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host) {
            snprintf(why, whylen, "%s", usage);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof host || strchr(text, ':') != colon) {
            snprintf(why, whylen, "%s", usage);
            return -1;
        }
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    }
    long p = 0;
    size_t nd = 0;
    for (const char *q = port; *q; q++, nd++) {
        if (*q < '0' || *q > '9' || nd >= 5) {
            nd = 0;
            break;
        }
        p = p * 10 + (*q - '0');
    }
    if (nd == 0 || p > 65535) {
        snprintf(why, whylen, "the port is not a number from 0 to 65535");
        return -1;
    }
    memset(addr, 0, sizeof *addr);
    if (text[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(why, whylen, "the host is not a numeric IPv6 address");
            return -1;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *addrlen = (unsigned)sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            snprintf(why, whylen,
                     "the host is not a numeric IPv4 address (or a bracketed IPv6 "
                     "one)");
            return -1;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *addrlen = (unsigned)sizeof *a4;
    }
    return 0;
}

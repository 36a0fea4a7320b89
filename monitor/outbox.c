/* outbox.c - retrain alert delivery: the deliverer thread, the hook's run, the outcome and
 * the retry's backoff (see outbox.h). */
#include "monitor/outbox.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "monitor/db.h"
#include "monitor/hook.h"
#include "monitor/log.h"
#include "reports/report.h"

static atomic_int g_hook_stop = 0; /* set at shutdown: a running hook is killed */

typedef struct {
    char **argv; /* NULL when no hook */
    char **env;  /* retrain.env; NULL when none */
    double timeout_s;
    int max_attempts;
} hook_snap;

static void *deliverer_main(void *arg);

int dm_deliverer_start(dm_deliverer *d, serve_state *s)
{
    memset(d, 0, sizeof *d);
    d->s = s;
    pthread_mutex_init(&d->mu, NULL);
    serve_cond_init_mono(&d->cv);
    return pthread_create(&d->th, NULL, deliverer_main, d) == 0 ? 0 : -1;
}

void dm_deliverer_wake(dm_deliverer *d)
{
    pthread_mutex_lock(&d->mu);
    d->wake = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void dm_deliverer_stop(dm_deliverer *d)
{
    atomic_store(&g_hook_stop, 1);
    pthread_mutex_lock(&d->mu);
    d->quit = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void dm_deliverer_join(dm_deliverer *d)
{
    pthread_join(d->th, NULL);
}

static void hook_snap_take(serve_state *s, hook_snap *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_lock(&g_cfg_mu);
    h->timeout_s = s->cfg.hook_timeout_s;
    h->max_attempts = s->cfg.hook_max_attempts;
    if (s->cfg.hook && s->cfg.n_hook > 0) {
        h->argv = calloc(s->cfg.n_hook + 1, sizeof *h->argv);
        for (size_t i = 0; h->argv && i < s->cfg.n_hook; i++)
            h->argv[i] = strdup(s->cfg.hook[i]);
    }
    if (s->cfg.hook_env) {
        h->env = calloc(s->cfg.n_hook_env + 1, sizeof *h->env);
        for (size_t i = 0; h->env && i < s->cfg.n_hook_env; i++)
            h->env[i] = strdup(s->cfg.hook_env[i]);
    }
    pthread_mutex_unlock(&g_cfg_mu);
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void hook_snap_release(hook_snap *h)
{
    free_strv(h->argv);
    free_strv(h->env);
    h->argv = h->env = NULL;
}

/* The hook's kept output as text for the log line and the alert's row: valid UTF-8 without
 * NUL (a NUL byte or an ill-formed sequence becomes U+FFFD; what is left of a character cut
 * by the kept window's start is dropped).  malloc'ed; NULL when out of memory. */
static char *output_text(const dm_hook_output *o)
{
    size_t start = 0;
    if (o->total > o->len) /* the window starts inside a character: its remains go */
        while (start < o->len && start < 3 && ((unsigned char)o->tail[start] & 0xC0) == 0x80)
            start++;
    char *raw = malloc(o->len - start + 1);
    if (!raw)
        return NULL;
    size_t n = 0;
    for (size_t i = start; i < o->len; i++) /* 0xFF is never UTF-8: sanitised to U+FFFD */
        raw[n++] = o->tail[i] == '\0' ? (char)0xFF : o->tail[i];
    raw[n] = '\0';
    char *t = rpt_utf8_sanitize(raw);
    free(raw);
    return t;
}

/* The two outboxes: a run's retrain alert (drift: sql/004, 011) and an evaluation's (cost:
 * sql/015_performance.sql).  claim: the alert's key, run id, attempts, backoff_s, batch,
 * window_start, window_end and report, from the claim function ($1 the hold); attempt: the
 * outcome's record (key, outcome, retry in seconds, error, output, output bytes). */
typedef struct {
    const char *claim, *attempt;
    const char *key_field; /* NULL for drift alerts; the key column of a cost alert */
} alert_kind;

static const alert_kind RUN_ALERT = {
    "SELECT run_id, run_id, attempts, backoff_s, batch, window_start, window_end, report "
    "FROM driftmon.claim_alert($1::interval)",
    "SELECT driftmon.record_alert_attempt($1::bigint, $2, $3::float8, $4, $5, $6::bigint)", NULL};
static const alert_kind COST_ALERT = {
    "SELECT performance_id, run_id, attempts, backoff_s, batch, window_start, window_end, "
    "report FROM driftmon.claim_performance_alert($1::interval)",
    "SELECT driftmon.record_performance_alert_attempt($1::bigint, $2, $3::float8, $4, $5, "
    "$6::bigint)",
    "performance_id"};

/* 1 delivered or attempted, 0 nothing due, -1 database error. */
static int deliver_one(serve_state *s, PGconn *conn, const hook_snap *h, const alert_kind *k,
                       uint64_t *rng)
{
    char hold[40], err[ERRLEN];
    snprintf(hold, sizeof hold, "%.3f seconds", h->timeout_s + 5);
    const char *ph[1] = {hold};
    PGresult *r = PQexecParams(conn, k->claim, 1, NULL, ph, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dm_logf(DM_LOG_ERROR, "could not take a retrain alert", "reason=%s",
                serve_pq_reason(conn, r, err, sizeof err));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    char key[24], rid[24], batch[BATCH_MAX + 20], wstart[64], wend[64];
    snprintf(key, sizeof key, "%s", PQgetvalue(r, 0, 0));
    snprintf(rid, sizeof rid, "%s", PQgetvalue(r, 0, 1));
    /* the log lines' alert fields: the kind, and a cost alert's evaluation ("-" for drift) */
    const char *kind = k->key_field ? "cost" : "drift", *eval = k->key_field ? key : "-";
    int attempts = atoi(PQgetvalue(r, 0, 2));
    double prev = PQgetisnull(r, 0, 3) ? 0 : strtod(PQgetvalue(r, 0, 3), NULL);
    snprintf(batch, sizeof batch, "%s", PQgetisnull(r, 0, 4) ? "" : PQgetvalue(r, 0, 4));
    snprintf(wstart, sizeof wstart, "%s", PQgetvalue(r, 0, 5));
    snprintf(wend, sizeof wend, "%s", PQgetvalue(r, 0, 6));
    char *report = strdup(PQgetisnull(r, 0, 7) ? "" : PQgetvalue(r, 0, 7));
    PQclear(r);
    if (!report)
        return -1;

    char e_run[64], e_batch[BATCH_MAX + 40], e_ws[100], e_we[100], e_key[64], e_reason[64];
    snprintf(e_run, sizeof e_run, "DRIFTMON_RUN_ID=%s", rid);
    snprintf(e_batch, sizeof e_batch, "DRIFTMON_BATCH=%s", batch);
    snprintf(e_ws, sizeof e_ws, "DRIFTMON_WINDOW_START=%s", wstart);
    snprintf(e_we, sizeof e_we, "DRIFTMON_WINDOW_END=%s", wend);
    snprintf(e_key, sizeof e_key, "DRIFTMON_PERFORMANCE_ID=%s", key);
    snprintf(e_reason, sizeof e_reason, "DRIFTMON_RETRAIN_REASON=cost");
    const char *env[7] = {e_run, e_batch, e_ws, e_we, NULL, NULL, NULL};
    if (k->key_field) {
        env[4] = e_key;
        env[5] = e_reason;
    }
    dm_hook_output out;
    dm_hook_call call = {
        (const char *const *)h->argv, report, strlen(report), env, h->timeout_s, &g_hook_stop,
        (const char *const *)h->env,  &out};
    double elapsed = 0;
    dm_hook_outcome oc = dm_hook_run(&call, &elapsed, err, sizeof err);
    free(report);
    unsigned long long out_bytes = out.total;
    char *text = output_text(&out);
    const char *shown = text ? text : "";
    char nbytes[32];
    snprintf(nbytes, sizeof nbytes, "%llu", out_bytes);
    const char *label = batch[0] ? batch : "-";
    int rc = 1;
    if (oc == DM_HOOK_OK) {
        const char *p[6] = {key, "delivered", NULL, NULL, shown, nbytes};
        if (!serve_exec_ok(conn, k->attempt, 6, p, "could not mark the retrain alert delivered"))
            rc = -1;
        else
            dm_logf(DM_LOG_INFO, "delivered retrain alert",
                    "run_id=%s alert=%s evaluation=%s batch=%s attempt=%d hook_s=%.3f "
                    "output_bytes=%llu output=%s",
                    rid, kind, eval, label, attempts, elapsed, out_bytes, shown);
    } else if (oc == DM_HOOK_STOPPED) {
        const char *p[6] = {key, "stopped", NULL, NULL, shown, nbytes};
        serve_exec_ok(conn, k->attempt, 6, p, "could not give the retrain alert back");
        dm_logf(DM_LOG_INFO, "retrain hook stopped by shutdown; the alert stays pending",
                "run_id=%s alert=%s evaluation=%s batch=%s output_bytes=%llu output=%s", rid, kind,
                eval, label, out_bytes, shown);
    } else if (attempts >= h->max_attempts) {
        const char *p[6] = {key, "dead", NULL, err, shown, nbytes};
        if (!serve_exec_ok(conn, k->attempt, 6, p, "could not mark the retrain alert dead"))
            rc = -1;
        else
            dm_logf(DM_LOG_ERROR, "retrain alert is dead: the hook failed on every attempt",
                    "run_id=%s alert=%s evaluation=%s batch=%s attempts=%d reason=%s "
                    "output_bytes=%llu output=%s",
                    rid, kind, eval, label, attempts, err, out_bytes, shown);
    } else {
        double d = dm_backoff_next(s->o.retry_base_s, s->o.retry_cap_s, prev, rng);
        char ds[40];
        snprintf(ds, sizeof ds, "%.3f", d);
        const char *p[6] = {key, "retry", ds, err, shown, nbytes};
        if (!serve_exec_ok(conn, k->attempt, 6, p, "could not schedule the retrain alert's retry"))
            rc = -1;
        else
            dm_logf(DM_LOG_WARN, "retrain hook failed; will retry",
                    "run_id=%s alert=%s evaluation=%s batch=%s attempt=%d reason=%s hook_s=%.3f "
                    "retry_in_s=%.3f "
                    "output_bytes=%llu output=%s",
                    rid, kind, eval, label, attempts, err, elapsed, d, out_bytes, shown);
    }
    free(text);
    return rc;
}

static void *deliverer_main(void *arg)
{
    dm_deliverer *d = arg;
    serve_state *s = d->s;
    PGconn *conn = NULL;
    int gen = -1;
    uint64_t rng = dm_backoff_seed() ^ 0x5DEECE66DULL;
    double reprev = 0;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool quit = d->quit;
        pthread_mutex_unlock(&d->mu);
        if (quit)
            break;
        double wait = s->o.poll_s;
        hook_snap h;
        hook_snap_take(s, &h);
        int now_gen;
        char *ci = serve_conninfo_snapshot(s, &now_gen);
        if (conn && now_gen != gen) {
            PQfinish(conn);
            conn = NULL;
        }
        if (!conn && h.argv) {
            char err[ERRLEN];
            conn = dm_db_connect(ci, err, sizeof err);
            gen = now_gen;
            if (!conn) {
                reprev = dm_backoff_next(0.1, s->o.reconnect_cap_s, reprev, &rng);
                wait = reprev;
                dm_logf(DM_LOG_DEBUG, "deliverer could not connect", "reason=%s", err);
            } else {
                reprev = 0;
            }
        }
        free(ci);
        if (conn && h.argv) {
            for (;;) {
                pthread_mutex_lock(&d->mu);
                quit = d->quit;
                pthread_mutex_unlock(&d->mu);
                if (quit)
                    break;
                int rc = deliver_one(s, conn, &h, &RUN_ALERT, &rng);
                if (rc == 0)
                    rc = deliver_one(s, conn, &h, &COST_ALERT, &rng);
                if (rc == 0)
                    break;
                if (rc < 0) {
                    if (PQstatus(conn) == CONNECTION_BAD) {
                        PQfinish(conn);
                        conn = NULL;
                    }
                    wait = 1;
                    break;
                }
            }
            if (conn) {
                PGresult *r = PQexec(conn, "SELECT driftmon.next_alert_in()");
                if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0)) {
                    double n = strtod(PQgetvalue(r, 0, 0), NULL);
                    if (n < wait)
                        wait = n + 0.005;
                }
                PQclear(r);
                if (PQstatus(conn) == CONNECTION_BAD) {
                    PQfinish(conn);
                    conn = NULL;
                }
            }
        }
        hook_snap_release(&h);
        struct timespec due;
        serve_deadline_in(&due, wait);
        pthread_mutex_lock(&d->mu);
        while (!d->quit && !d->wake)
            if (pthread_cond_timedwait(&d->cv, &d->mu, &due) == ETIMEDOUT)
                break;
        d->wake = false;
        pthread_mutex_unlock(&d->mu);
    }
    if (conn)
        PQfinish(conn);
    return NULL;
}

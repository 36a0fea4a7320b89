/*
 * cmd_verify.c - `driftmon verify [--since T] [--anchor FILE] [--export-anchor FILE]`: what an
 * auditor relies on (docs/AUDIT.md).
 *
 * Checks, each failure named on a line of its own (FAIL ...), warnings as WARN ...:
 *   - the hash chain over run, column_result, performance and performance_report rows (from
 * --since: the links of the runs finished since then), recomputed here from the raw rows
 * (monitor/chain.h), never by a function of the database; the chain head against the last link;
 * runs recorded after runs were first chained must have a link of their own;
 *   - each run's stored HTML and JSON documents against their recorded sha256, the JSON's
 *     chain_head against the chain, the `report` jsonb (what the hook is sent) against the
 *     stored JSON document;
 *   - the files run-<id>.html and run-<id>.json in reports.dir against the same sha256
 *     (missing: a warning; changed: a failure);
 *   - each run's report re-rendered with an evaluation of its cohort (sql/017_perf_report.sql):
 *     its row's link in the chain (sql/019_perf_report_chain.sql, which covers the
 *     documents' sha256), its stored HTML and JSON documents against their sha256, and the files
 *     run-<id>.performance-<evaluation>.html and .json against the same (as above);
 *   - each reference version's stored profile against its sha256, and each chained run's
 *     reference_sha256 against its reference's;
 *   - with --anchor FILE: every head recorded there is still a link of the same run.
 * Every row is read in one read-only snapshot: the runs, then the result links as one binary
 * COPY while, on a second connection in the same snapshot and a thread of its own, the
 * documents stream in as another (each run's documents and files checked as its row
 * arrives).  That pass's lines are printed after the chain's, so the output has one order.
 * Exit 0 intact, 4 when anything fails, 2 bad usage or input, 1 environment.
 * --export-anchor FILE appends {"run_id", "chain_head", "at"} (one JSON line, fsync'ed) when
 * everything is intact.
 */
#include "monitor/cmd_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "monitor/chain.h"
#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/db.h"
#include "monitor/log.h"
#include "monitor/refstore.h"
#include "monitor/sha256.h"

#define ERRLEN 1024

enum { EXIT_INTACT = 0, EXIT_ENV = 1, EXIT_USAGE = 2, EXIT_FAILED = 4 };

typedef struct {
    int64_t id;
    int64_t seq; /* the run row's link; -1: none (recorded before 009) */
    int64_t reference_id;
    bool in_scope; /* finished at or after --since (every run without it) */
    bool has_sha_html, has_sha_json;
    char sha_html[65], sha_json[65], ref_sha[65];
    unsigned char prev[32], row[32], computed[32];
    int64_t max_result_seq; /* -1: no result link seen */
    unsigned char last_result[32];
    /* the stored JSON document's chain_head, written by the documents pass (its thread) and
     * read after it: 0 no document read, 1 in json_head, 2 missing or not 64 hex digits */
    int json_head_state;
    unsigned char json_head[32];
} run_info;

typedef struct {
    int64_t run_id;
    unsigned char head[32];
    int line;
    int64_t found_run; /* -1: not found */
} anchor;

/* Where failures and warnings go: stdout, or the documents pass's buffer, printed after the
 * chain's lines so that the output keeps one order. */
typedef struct {
    FILE *out;
    int failures, warnings;
} sink;

/* A performance row's link (sql/015_performance.sql), or a re-rendered report's
 * (sql/019_perf_report_chain.sql; report true, id its evaluation). */
typedef struct {
    int64_t seq, id, run_id;
    bool report;
    bool in_scope; /* evaluated (written) at or after --since */
    unsigned char prev[32], row[32], computed[32];
} perf_link;

typedef struct {
    sink s;
    run_info *runs;
    size_t nruns;
    perf_link *perf; /* both kinds, seq order */
    size_t nperf;
    anchor *anchors;
    size_t nanchors;
    /* the walk */
    bool started;
    int64_t expect_seq;
    unsigned char expect_prev[32];
    int64_t last_seq, last_run;
    unsigned char last_hash[32];
    size_t links;
    int64_t first_run_link; /* smallest seq of a run link; -1: none */
    int64_t runs_from;      /* chain_head.runs_from: every run chained from there; -1: unknown */
} verify_state;

static void failf(sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failf(sink *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL ", k->out);
    vfprintf(k->out, fmt, ap);
    fputc('\n', k->out);
    va_end(ap);
    k->failures++;
}

static void warnf(sink *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("WARN ", k->out);
    vfprintf(k->out, fmt, ap);
    fputc('\n', k->out);
    va_end(ap);
    k->warnings++;
}

static void usage(FILE *f)
{
    fputs("usage: driftmon verify [--since T] [--anchor FILE] [--export-anchor FILE] "
          "[--config FILE]\n",
          f);
}

static int64_t be64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | u[i];
    return (int64_t)x;
}

static int cmp_anchor(const void *a, const void *b)
{
    return memcmp(((const anchor *)a)->head, ((const anchor *)b)->head, 32);
}

static run_info *find_run(verify_state *v, int64_t id)
{
    size_t lo = 0, hi = v->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->runs[mid].id == id)
            return &v->runs[mid];
        if (v->runs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- anchors ------------------------------------------------------------------------------ */

/* Read the anchor file: one JSON object per non-empty line.  0, or -1 (bad input, printed). */
static int read_anchors(const char *path, verify_state *v)
{
    char err[ERRLEN], shown[DM_SHOWN_LEN];
    FILE *f = fopen(path, "r");
    if (!f) {
        dm_show_value(path, strlen(path), shown, sizeof shown);
        snprintf(err, sizeof err, "could not open the anchor file \"%s\": %s", shown,
                 strerror(errno));
        dm_cli_error(err);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n == 0)
            continue;
        cJSON *o = cJSON_Parse(line);
        const cJSON *id = o ? cJSON_GetObjectItemCaseSensitive(o, "run_id") : NULL;
        const cJSON *h = o ? cJSON_GetObjectItemCaseSensitive(o, "chain_head") : NULL;
        anchor a = {0, {0}, lineno, -1};
        const char *why = NULL;
        if (!cJSON_IsObject(o))
            why = "not a JSON object";
        else if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9e15 ||
                 id->valuedouble != (double)(int64_t)id->valuedouble)
            why = "\"run_id\" is not a run id";
        else if (!cJSON_IsString(h) || dm_chain_unhex(h->valuestring, a.head) != 0)
            why = "\"chain_head\" is not 64 hex digits";
        if (why) {
            char sp[DM_SHOWN_LEN], sl[DM_SHOWN_LEN];
            dm_show_value(path, strlen(path), sp, sizeof sp);
            dm_show_value(line, (size_t)n, sl, sizeof sl);
            snprintf(err, sizeof err, "invalid anchor in \"%s\" line %d: %s: \"%s\"", sp, lineno,
                     why, sl);
            dm_cli_error(err);
            rc = -1;
        } else {
            a.run_id = (int64_t)id->valuedouble;
            anchor *grown = realloc(v->anchors, (v->nanchors + 1) * sizeof *grown);
            if (!grown) {
                dm_cli_error("out of memory reading the anchors");
                rc = -1;
            } else {
                v->anchors = grown;
                v->anchors[v->nanchors++] = a;
            }
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    if (rc == 0 && v->nanchors > 1)
        qsort(v->anchors, v->nanchors, sizeof *v->anchors, cmp_anchor);
    return rc;
}

/* A link's stored hash among the anchors: record which run holds it. */
static void mark_anchor(verify_state *v, const unsigned char hash[32], int64_t run)
{
    if (v->nanchors == 0)
        return;
    anchor key;
    memcpy(key.head, hash, 32);
    anchor *a = bsearch(&key, v->anchors, v->nanchors, sizeof *v->anchors, cmp_anchor);
    if (!a)
        return;
    /* equal heads sit side by side */
    while (a > v->anchors && memcmp(a[-1].head, hash, 32) == 0)
        a--;
    for (; a < v->anchors + v->nanchors && memcmp(a->head, hash, 32) == 0; a++)
        a->found_run = run;
}

/* ---- the chain --------------------------------------------------------------------------------
 */

/* One link, in seq order. */
static void link_seen(verify_state *v, int64_t seq, int64_t run, const char *what,
                      const unsigned char prev[32], const unsigned char row[32],
                      const unsigned char computed[32])
{
    char hx[65];
    if (!v->started) {
        /* the whole chain starts at seq 1 after 32 zero bytes; a --since walk from any link */
        if (v->expect_seq == 1 && seq != 1)
            failf(&v->s, "links 1..%lld are missing before %s", (long long)seq - 1, what);
        else if (v->expect_seq == 1 && memcmp(prev, v->expect_prev, 32) != 0)
            failf(&v->s, "%s: prev_hash is not 32 zero bytes, and it is the first link", what);
        v->started = true;
    } else {
        if (seq < v->expect_seq)
            failf(&v->s, "%s: seq %lld is used twice", what, (long long)seq);
        else if (seq > v->expect_seq)
            failf(&v->s, "links %lld..%lld are missing before %s: rows deleted",
                  (long long)v->expect_seq, (long long)seq - 1, what);
        if (memcmp(prev, v->expect_prev, 32) != 0)
            failf(&v->s, "%s: prev_hash does not match the previous link's row_hash", what);
    }
    if (memcmp(row, computed, 32) != 0) {
        dm_chain_hex(computed, hx);
        failf(&v->s, "%s does not match its row_hash (recomputed %.16s...): the row was changed",
              what, hx);
    }
    mark_anchor(v, row, run);
    memcpy(v->expect_prev, row, 32);
    v->expect_seq = seq + 1;
    v->last_seq = seq;
    v->last_run = run;
    memcpy(v->last_hash, row, 32);
    v->links++;
}

static int cmp_run_seq(const void *a, const void *b)
{
    const run_info *x = *(run_info *const *)a, *y = *(run_info *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void run_link(verify_state *v, const run_info *r)
{
    char what[96];
    snprintf(what, sizeof what, "run %lld (driftmon.run, seq %lld)", (long long)r->id,
             (long long)r->seq);
    link_seen(v, r->seq, r->id, what, r->prev, r->row, r->computed);
}

/* The rows of sql (binary results; $1 the --since bound or NULL), or NULL with the error
 * printed (what: the object read). */
static PGresult *read_since(PGconn *conn, const char *sql, const char *since, const char *what)
{
    const char *p[1] = {since};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    char err[ERRLEN], m[96];
    snprintf(m, sizeof m, "could not read %s", what);
    dm_db_fail(res, conn, m, err, sizeof err);
    dm_cli_error(err);
    return NULL;
}

/* A link's stored hashes (columns pc and rc of row i): all 0xff when either was taken out or
 * is not 32 bytes, so that it matches nothing. */
static void stored_link(const PGresult *res, int i, int pc, int rc, unsigned char prev[32],
                        unsigned char row[32])
{
    memset(prev, 0xff, 32);
    memset(row, 0xff, 32);
    if (PQgetlength(res, i, pc) == 32 && PQgetlength(res, i, rc) == 32) {
        memcpy(prev, PQgetvalue(res, i, pc), 32);
        memcpy(row, PQgetvalue(res, i, rc), 32);
    }
}

/* Read every run (id order) with its link recomputed.  0, or -1 (environment, printed). */
static int load_runs(PGconn *conn, const char *since, verify_state *v)
{
    PGresult *res =
        read_since(conn,
                   "SELECT " DM_CHAIN_RUN_COLS ", ($1::timestamptz IS NULL OR "
                   "finished_at >= $1::timestamptz) FROM driftmon.audit_run ORDER BY id",
                   since, "driftmon.run");
    if (!res)
        return -1;
    char err[ERRLEN];
    int n = PQntuples(res);
    v->runs = calloc((size_t)n + 1, sizeof *v->runs);
    if (!v->runs) {
        PQclear(res);
        dm_cli_error("out of memory");
        return -1;
    }
    dm_chain_buf b = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        run_info *r = &v->runs[v->nruns++];
        r->id = be64(PQgetvalue(res, i, 1));
        r->reference_id = be64(PQgetvalue(res, i, 5));
        r->in_scope = PQgetvalue(res, i, DM_CHAIN_RUN_NCOLS)[0] != 0;
        r->max_result_seq = -1;
        r->has_sha_html = !PQgetisnull(res, i, 16);
        r->has_sha_json = !PQgetisnull(res, i, 18);
        snprintf(r->sha_html, sizeof r->sha_html, "%.64s", PQgetvalue(res, i, 16));
        snprintf(r->sha_json, sizeof r->sha_json, "%.64s", PQgetvalue(res, i, 18));
        snprintf(r->ref_sha, sizeof r->ref_sha, "%.64s", PQgetvalue(res, i, 20));
        if (PQgetisnull(res, i, 0)) {
            r->seq = -1;
            continue;
        }
        r->seq = be64(PQgetvalue(res, i, 0));
        stored_link(res, i, 22, 23, r->prev, r->row);
        if (dm_chain_run_bytes(res, i, &b, err, sizeof err) != 0 ||
            dm_chain_link_hash(r->prev, &b, r->computed) != 0) {
            dm_cli_error(err);
            rc = -1;
        }
        if (v->first_run_link < 0 || r->seq < v->first_run_link)
            v->first_run_link = r->seq;
    }
    dm_chain_buf_release(&b);
    PQclear(res);
    return rc;
}

static int cmp_perf_seq(const void *a, const void *b)
{
    const perf_link *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A kind of link outside the runs': the evaluations (sql/015_performance.sql) and the
 * re-rendered reports (sql/019_perf_report_chain.sql). */
typedef struct {
    const char *view, *table; /* the audit view read, the table named in messages */
    const char *select;       /* its link columns and the --since test ($1) */
    const char *migration;    /* that chains it */
    int ncols, run_col;       /* the link columns; which holds the run's id */
    bool report;
    int (*bytes)(const PGresult *, int, dm_chain_buf *, char *, size_t);
} link_kind;

static const link_kind PERF_LINKS = {
    "driftmon.audit_performance",
    "driftmon.performance",
    "SELECT " DM_CHAIN_PERF_COLS ", ($1::timestamptz IS NULL OR evaluated_at >= $1::timestamptz) "
    "FROM driftmon.audit_performance ORDER BY seq",
    "015_performance.sql",
    DM_CHAIN_PERF_NCOLS,
    3,
    false,
    dm_chain_perf_bytes};
static const link_kind PERF_REPORT_LINKS = {
    "driftmon.audit_performance_report",
    "driftmon.performance_report",
    "SELECT " DM_CHAIN_PERF_REPORT_COLS ", ($1::timestamptz IS NULL OR created_at >= "
    "$1::timestamptz) FROM driftmon.audit_performance_report ORDER BY seq",
    "019_perf_report_chain.sql",
    DM_CHAIN_PERF_REPORT_NCOLS,
    2,
    true,
    dm_chain_perf_report_bytes};

/* Add every link of kind k to v->perf (kept in seq order), each recomputed; none when the
 * schema predates the table.  A table there but not chained is refused: `driftmon init` chains
 * it.  0, or -1 (environment, printed). */
static int load_links(PGconn *conn, const char *since, const link_kind *k, verify_state *v)
{
    char err[ERRLEN];
    const char *p[1] = {k->view};
    PGresult *res = PQexecParams(conn,
                                 "SELECT pg_catalog.to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 "
                                 "FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                                 "pg_catalog.to_regclass($1) AND a.attname = 'row_hash' "
                                 "AND NOT a.attisdropped)",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char what[96];
        snprintf(what, sizeof what, "could not look up %s", k->view);
        dm_db_fail(res, conn, what, err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    bool exists = PQgetvalue(res, 0, 0)[0] == 't', chained = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    if (!chained) {
        snprintf(err, sizeof err,
                 "the driftmon schema predates this `driftmon verify` (migration %s; run "
                 "`driftmon init`)",
                 k->migration);
        dm_cli_error(err);
        return -1;
    }
    res = read_since(conn, k->select, since, k->table);
    if (!res)
        return -1;
    int n = PQntuples(res);
    perf_link *grown = realloc(v->perf, (v->nperf + (size_t)n + 1) * sizeof *grown);
    if (!grown) {
        PQclear(res);
        dm_cli_error("out of memory");
        return -1;
    }
    v->perf = grown;
    dm_chain_buf b = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int64_t id = be64(PQgetvalue(res, i, 1)), run = be64(PQgetvalue(res, i, k->run_col));
        if (PQgetisnull(res, i, 0)) {
            if (k->report)
                failf(&v->s,
                      "the re-rendered report of evaluation %lld of run %lld "
                      "(driftmon.performance_report) has no link in the hash chain",
                      (long long)id, (long long)run);
            else
                failf(&v->s,
                      "evaluation %lld of run %lld (driftmon.performance) has no link "
                      "in the hash chain",
                      (long long)id, (long long)run);
            continue;
        }
        perf_link *l = &v->perf[v->nperf++];
        memset(l, 0, sizeof *l);
        l->seq = be64(PQgetvalue(res, i, 0));
        l->id = id;
        l->run_id = run;
        l->report = k->report;
        l->in_scope = PQgetvalue(res, i, k->ncols)[0] != 0;
        stored_link(res, i, k->ncols - 2, k->ncols - 1, l->prev, l->row);
        if (k->bytes(res, i, &b, err, sizeof err) != 0 ||
            dm_chain_link_hash(l->prev, &b, l->computed) != 0) {
            dm_cli_error(err);
            rc = -1;
        }
    }
    dm_chain_buf_release(&b);
    PQclear(res);
    if (rc == 0 && n > 0)
        qsort(v->perf, v->nperf, sizeof *v->perf, cmp_perf_seq);
    return rc;
}

static void perf_link_seen(verify_state *v, const perf_link *l)
{
    char what[160];
    if (l->report)
        snprintf(what, sizeof what,
                 "the re-rendered report of evaluation %lld of run %lld "
                 "(driftmon.performance_report, seq %lld)",
                 (long long)l->id, (long long)l->run_id, (long long)l->seq);
    else
        snprintf(what, sizeof what, "evaluation %lld of run %lld (driftmon.performance, seq %lld)",
                 (long long)l->id, (long long)l->run_id, (long long)l->seq);
    link_seen(v, l->seq, l->run_id, what, l->prev, l->row, l->computed);
}

/* The first seq to walk from with --since: the smallest link of a run in scope; 0 when there
 * is none (nothing to walk).  -1 on error (printed). */
static int64_t since_seq(PGconn *conn, const char *since, verify_state *v)
{
    const char *p[1] = {since};
    PGresult *res =
        PQexecParams(conn,
                     "SELECT min(c.seq) FROM driftmon.audit_column_result c WHERE c.run_id "
                     "IN (SELECT r.id FROM driftmon.audit_run r WHERE r.finished_at >= "
                     "$1::timestamptz)",
                     1, NULL, p, NULL, NULL, 0);
    char err[ERRLEN];
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, "could not read driftmon.column_result", err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    int64_t from = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    for (size_t i = 0; i < v->nruns; i++)
        if (v->runs[i].in_scope && v->runs[i].seq > 0 && (from == 0 || v->runs[i].seq < from))
            from = v->runs[i].seq;
    for (size_t i = 0; i < v->nperf; i++)
        if (v->perf[i].in_scope && (from == 0 || v->perf[i].seq < from))
            from = v->perf[i].seq;
    return from;
}

/* Run `COPY (query) TO STDOUT (FORMAT binary)` and hand each row of nfields fields to fn as it
 * arrives, so that the server produces the next rows while this process checks one.  fn
 * returns 0, or -1 with err set (then the rows stop; the connection is left inside the COPY).
 * 0, or -1 with err set (the environment). */
typedef int (*copy_row_fn)(void *ctx, const dm_copybin_field *f, char *err, size_t errlen);

static int copy_rows(PGconn *conn, const char *query, size_t nfields, const char *what,
                     copy_row_fn fn, void *ctx, char *err, size_t errlen)
{
    size_t qlen = strlen(query) + 64;
    char *sql = malloc(qlen);
    dm_copybin_field *f = calloc(nfields, sizeof *f);
    int rc = -1;
    if (!sql || !f) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(sql, qlen, "COPY (%s) TO STDOUT (FORMAT binary)", query);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        dm_db_fail(res, conn, what, err, errlen);
        goto out;
    }
    PQclear(res);
    dm_copybin_rows rows = {0, 0};
    int more = 1;
    while (more) {
        char *data = NULL;
        int n = PQgetCopyData(conn, &data, 0);
        if (n == -1)
            break;
        if (n < 0) {
            dm_db_fail(NULL, conn, what, err, errlen);
            goto out;
        }
        char perr[256];
        more = dm_copybin_row(&rows, data, (size_t)n, f, nfields, perr, sizeof perr);
        if (more < 0)
            snprintf(err, errlen, "%s: %s", what, perr);
        else if (more > 0 && fn(ctx, f, err, errlen) != 0)
            more = -1;
        PQfreemem(data);
        if (more < 0)
            goto out;
    }
    if (rows.state != 2) {
        snprintf(err, errlen, "%s: the COPY ended without its trailer", what);
        goto out;
    }
    char *rest = NULL;
    if (PQgetCopyData(conn, &rest, 0) != -1) {
        PQfreemem(rest);
        snprintf(err, errlen, "%s: data after the COPY's trailer", what);
        goto out;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        dm_db_fail(res, conn, what, err, errlen);
        goto out;
    }
    PQclear(res);
    rc = 0;
out:
    free(sql);
    free(f);
    return rc;
}

/* The walk's position among the run links while the result links stream in. */
typedef struct {
    verify_state *v;
    run_info **rl;
    size_t nlinks, next;
    size_t pnext; /* the next performance link (v->perf, seq order) */
    dm_chain_buf b;
} walk_ctx;

/* The run and performance links before seq, in seq order. */
static void links_before(walk_ctx *w, int64_t seq)
{
    verify_state *v = w->v;
    for (;;) {
        bool r = w->next < w->nlinks && w->rl[w->next]->seq < seq;
        bool p = w->pnext < v->nperf && v->perf[w->pnext].seq < seq;
        if (r && (!p || w->rl[w->next]->seq < v->perf[w->pnext].seq))
            run_link(v, w->rl[w->next++]);
        else if (p)
            perf_link_seen(v, &v->perf[w->pnext++]);
        else
            break;
    }
}

static int result_link(void *ctx, const dm_copybin_field *f, char *err, size_t errlen)
{
    walk_ctx *w = ctx;
    verify_state *v = w->v;
    if (f[0].len != 8 || f[1].len != 8) {
        snprintf(err, errlen,
                 "could not read driftmon.column_result: a link's seq or run_id is "
                 "not a bigint");
        return -1;
    }
    int64_t seq = be64((const char *)f[0].p), run = be64((const char *)f[1].p);
    links_before(w, seq);
    /* hashes taken out (constraints dropped): compare against nothing, as for a run link */
    unsigned char prev[32], row[32], computed[32];
    bool hashes = f[13].len == 32 && f[14].len == 32;
    memset(prev, 0xff, 32);
    memset(row, 0xff, 32);
    if (hashes) {
        memcpy(prev, f[13].p, 32);
        memcpy(row, f[14].p, 32);
    }
    if (dm_chain_result_fields(f, &w->b, err, errlen) != 0 ||
        dm_chain_link_hash(prev, &w->b, computed) != 0) {
        if (!*err)
            snprintf(err, errlen, "could not compute a link's sha256");
        return -1;
    }
    char name[DM_SHOWN_LEN], what[DM_SHOWN_LEN + 128];
    dm_show_value((const char *)f[2].p, f[2].len < 0 ? 0 : (size_t)f[2].len, name, sizeof name);
    snprintf(what, sizeof what, "run %lld column \"%s\" (driftmon.column_result, seq %lld)",
             (long long)run, name, (long long)seq);
    link_seen(v, seq, run, what, prev, row, computed);
    run_info *r = find_run(v, run);
    if (!r) {
        failf(&v->s, "%s belongs to run %lld, which is not in driftmon.run", what, (long long)run);
    } else if (seq > r->max_result_seq) {
        r->max_result_seq = seq;
        memcpy(r->last_result, row, 32);
    }
    return 0;
}

/* Walk every link from seq `from` (1: the whole chain) in seq order: the results as one
 * binary COPY, merged with the run links.  0, or -1 (environment, printed). */
static int walk_chain(PGconn *conn, int64_t from, verify_state *v)
{
    char err[ERRLEN] = "", sql[512];
    walk_ctx w = {v, calloc(v->nruns + 1, sizeof *w.rl), 0, 0, 0, {0}};
    if (!w.rl) {
        dm_cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < v->nruns; i++)
        if (v->runs[i].seq >= from && v->runs[i].seq > 0)
            w.rl[w.nlinks++] = &v->runs[i];
    qsort(w.rl, w.nlinks, sizeof *w.rl, cmp_run_seq);
    while (w.pnext < v->nperf && v->perf[w.pnext].seq < from)
        w.pnext++;
    v->expect_seq = from;
    memset(v->expect_prev, 0, 32);
    snprintf(sql, sizeof sql,
             "SELECT " DM_CHAIN_RESULT_COLS
             " FROM driftmon.audit_column_result WHERE seq >= %lld ORDER BY seq",
             (long long)from);
    int rc = copy_rows(conn, sql, DM_CHAIN_RESULT_NCOLS, "could not read driftmon.column_result",
                       result_link, &w, err, sizeof err);
    if (rc == 0)
        links_before(&w, INT64_MAX);
    dm_chain_buf_release(&w.b);
    free(w.rl);
    if (rc != 0)
        dm_cli_error(err);
    return rc;
}

/* The head the database keeps against the last link walked. */
static int check_head(PGconn *conn, verify_state *v)
{
    PGresult *res = PQexecParams(conn, "SELECT seq, hash, runs_from FROM driftmon.audit_chain_head",
                                 0, NULL, NULL, NULL, NULL, 1);
    char err[ERRLEN];
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, "could not read driftmon.chain_head", err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8 || PQgetlength(res, 0, 1) != 32) {
        failf(&v->s, "driftmon.chain_head holds %d rows instead of one", PQntuples(res));
    } else {
        int64_t seq = be64(PQgetvalue(res, 0, 0));
        if (!PQgetisnull(res, 0, 2) && PQgetlength(res, 0, 2) == 8)
            v->runs_from = be64(PQgetvalue(res, 0, 2));
        const unsigned char *h = (const unsigned char *)PQgetvalue(res, 0, 1);
        int64_t last = v->links ? v->last_seq : 0;
        static const unsigned char zero[32];
        const unsigned char *lh = v->links ? v->last_hash : zero;
        if (seq != last || memcmp(h, lh, 32) != 0)
            failf(&v->s,
                  "driftmon.chain_head (seq %lld) does not match the last link (seq %lld): links "
                  "removed from the end, or the head moved",
                  (long long)seq, (long long)last);
    }
    PQclear(res);
    return 0;
}

/* Runs without a link of their own are those recorded before migration 009: all their
 * results come before chain_head.runs_from (and before the first run link). */
static void check_unchained(verify_state *v)
{
    int64_t from = v->first_run_link;
    if (v->runs_from > 0 && (from < 0 || v->runs_from < from))
        from = v->runs_from;
    for (size_t i = 0; i < v->nruns; i++) {
        const run_info *r = &v->runs[i];
        if (!r->in_scope || r->seq > 0)
            continue;
        if (r->max_result_seq < 0)
            failf(&v->s, "run %lld (driftmon.run) has no link and no column results in the chain",
                  (long long)r->id);
        else if (from > 0 && r->max_result_seq >= from)
            failf(&v->s,
                  "run %lld (driftmon.run) has no link of its own, but its results come after "
                  "runs were first chained (seq %lld): its link was removed",
                  (long long)r->id, (long long)from);
    }
}

static void check_anchors(const char *path, verify_state *v)
{
    int64_t first_in_scope = -1;
    for (size_t i = 0; i < v->nruns; i++)
        if (v->runs[i].in_scope) {
            first_in_scope = v->runs[i].id;
            break;
        }
    char sp[DM_SHOWN_LEN];
    dm_show_value(path, strlen(path), sp, sizeof sp);
    for (size_t i = 0; i < v->nanchors; i++) {
        const anchor *a = &v->anchors[i];
        char hx[65];
        dm_chain_hex(a->head, hx);
        if (a->found_run == a->run_id)
            continue;
        if (a->found_run < 0 && (first_in_scope < 0 || a->run_id < first_in_scope)) {
            warnf(&v->s, "anchor \"%s\" line %d (run %lld) not checked: before --since", sp,
                  a->line, (long long)a->run_id);
        } else if (a->found_run < 0) {
            failf(&v->s,
                  "anchor \"%s\" line %d: head %.16s... of run %lld is not in the chain: the "
                  "history was rewritten or cut after it was taken",
                  sp, a->line, hx, (long long)a->run_id);
        } else {
            failf(&v->s,
                  "anchor \"%s\" line %d: head %.16s... is a link of run %lld, not of run %lld", sp,
                  a->line, hx, (long long)a->found_run, (long long)a->run_id);
        }
    }
}

/* ---- documents and files: a pass of its own, on a second connection in the same snapshot
 * and on a thread of its own while the chain is walked (one core produces the documents in
 * the server while the other walks the chain); on the main connection after the walk when
 * a second one cannot be had. ------------------------------------------------------------ */

typedef struct {
    verify_state *v; /* runs: only their json_head fields are written here */
    PGconn *conn;
    const char *since;
    const dm_config *cfg; /* the reports directory of each run's monitor */
    sink s;
    char *text; /* s.out's buffer (open_memstream) */
    size_t text_len;
    size_t docs, files;
    int rc;
    char err[ERRLEN];
} docs_pass;

/* The reports directory of a run's monitor: the configured monitor's reports.dir, else the
 * configuration's own (reports.dir, or "reports"). */
static const char *run_dir(const dm_config *cfg, const char *monitor)
{
    for (size_t i = 0; i < dm_config_n_monitors(cfg); i++) {
        const dm_config *m = dm_config_monitor(cfg, i);
        if (strcmp(dm_config_monitor_name(m), monitor) == 0)
            return m->reports_dir ? m->reports_dir : "reports";
    }
    return cfg->reports_dir ? cfg->reports_dir : "reports";
}

/* A file of the run's reports.dir against the recorded sha256: missing a warning, changed a
 * failure. */
static void check_named_file(docs_pass *d, const char *dir, int64_t run, const char *name,
                             const char *sha)
{
    char path[4200], hex[65], sp[DM_SHOWN_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    dm_show_value(path, strlen(path), sp, sizeof sp);
    if (access(path, F_OK) != 0) {
        warnf(&d->s, "run %lld: report file \"%s\" is missing", (long long)run, sp);
        return;
    }
    d->files++;
    if (dm_sha256_file(path, hex) != 0)
        failf(&d->s, "run %lld: report file \"%s\" cannot be read: %s", (long long)run, sp,
              strerror(errno));
    else if (strcmp(hex, sha) != 0)
        failf(&d->s,
              "run %lld: report file \"%s\" does not match the run's recorded sha256 (%.16s... "
              "recorded, %.16s... file): the file was changed",
              (long long)run, sp, sha, hex);
}

static void check_file(docs_pass *d, const char *dir, int64_t run, const char *ext, const char *sha)
{
    char name[64];
    snprintf(name, sizeof name, "run-%lld.%s", (long long)run, ext);
    check_named_file(d, dir, run, name, sha);
}

/* One stored document against its recorded sha256. */
static void check_doc(docs_pass *d, const run_info *r, const dm_copybin_field *f, const char *what,
                      const char *column, bool has_sha, const char *sha)
{
    if (f->len < 0) {
        /* documents were kept from 005 (HTML) and 009 (JSON): a chained run has both */
        if (r->seq > 0)
            failf(&d->s, "run %lld: the stored %s document (driftmon.run.%s) is missing",
                  (long long)r->id, what, column);
        return;
    }
    d->docs++;
    char hex[65];
    dm_sha256_hex(f->p, (size_t)f->len, hex);
    if (!has_sha)
        failf(&d->s, "run %lld: the stored %s document (driftmon.run.%s) has no recorded sha256",
              (long long)r->id, what, column);
    else if (strcmp(hex, sha) != 0)
        failf(&d->s,
              "run %lld: the stored %s document (driftmon.run.%s) does not match its sha256 "
              "(%.16s... recorded, %.16s... stored): it was changed",
              (long long)r->id, what, column, sha, hex);
}

/* The stored JSON document's chain_head (kept for check_json_heads), and the jsonb the hook
 * is sent (rep, its text form) against the document. */
static void check_json(docs_pass *d, run_info *r, const dm_copybin_field *doc_f,
                       const dm_copybin_field *rep_f)
{
    if (doc_f->len < 0)
        return;
    cJSON *doc = cJSON_ParseWithLength((const char *)doc_f->p, (size_t)doc_f->len);
    if (!doc) {
        failf(&d->s,
              "run %lld: the stored JSON document (driftmon.run.report_json_doc) is not JSON",
              (long long)r->id);
        return;
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "chain_head");
    r->json_head_state =
        cJSON_IsString(h) && dm_chain_unhex(h->valuestring, r->json_head) == 0 ? 1 : 2;
    cJSON *rep =
        rep_f->len < 0 ? NULL : cJSON_ParseWithLength((const char *)rep_f->p, (size_t)rep_f->len);
    if (!rep || !cJSON_Compare(doc, rep, 1))
        failf(&d->s,
              "run %lld: driftmon.run.report (what the retrain hook is sent) differs from the "
              "stored JSON document",
              (long long)r->id);
    cJSON_Delete(rep);
    cJSON_Delete(doc);
}

/* One run's documents (id, report_html_doc, report_json_doc, report::text, monitor) and files. */
static int run_documents(void *ctx, const dm_copybin_field *f, char *err, size_t errlen)
{
    docs_pass *d = ctx;
    if (f[0].len != 8) {
        snprintf(err, errlen, "could not read driftmon.run: an id of %d bytes", (int)f[0].len);
        return -1;
    }
    run_info *r = find_run(d->v, be64((const char *)f[0].p));
    if (!r)
        return 0; /* written after the runs were read: next time */
    check_doc(d, r, &f[1], "HTML", "report_html_doc", r->has_sha_html, r->sha_html);
    check_doc(d, r, &f[2], "JSON", "report_json_doc", r->has_sha_json, r->sha_json);
    check_json(d, r, &f[2], &f[3]);
    char monitor[128] = "default";
    if (f[4].len > 0 && (size_t)f[4].len < sizeof monitor) {
        memcpy(monitor, f[4].p, (size_t)f[4].len);
        monitor[f[4].len] = '\0';
    }
    const char *dir = run_dir(d->cfg, monitor);
    if (r->has_sha_html)
        check_file(d, dir, r->id, "html", r->sha_html);
    if (r->has_sha_json)
        check_file(d, dir, r->id, "json", r->sha_json);
    return 0;
}

/* A text field of a binary COPY row into out (cut to len - 1 bytes); "" when NULL. */
static void field_text(const dm_copybin_field *f, char *out, size_t len)
{
    size_t n = f->len > 0 ? (size_t)f->len : 0;
    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(out, f->p, n);
    out[n] = '\0';
}

/* One re-rendered report of an evaluation (sql/017_perf_report.sql: performance_id, run_id,
 * monitor, report_html_doc, report_html_sha256, report_json_doc, report_json_sha256): each
 * stored document against its sha256, the files run-<run>.performance-<id>.html and .json of
 * the monitor's reports.dir against the same (missing: a warning). */
static int perf_documents(void *ctx, const dm_copybin_field *f, char *err, size_t errlen)
{
    docs_pass *d = ctx;
    if (f[0].len != 8 || f[1].len != 8) {
        snprintf(err, errlen, "could not read driftmon.performance_report: an id of %d bytes",
                 (int)(f[0].len != 8 ? f[0].len : f[1].len));
        return -1;
    }
    long long id = (long long)be64((const char *)f[0].p);
    long long run = (long long)be64((const char *)f[1].p);
    char monitor[128];
    field_text(&f[2], monitor, sizeof monitor);
    const char *dir = run_dir(d->cfg, monitor);
    static const char *const what[2] = {"HTML", "JSON"}, *const ext[2] = {"html", "json"};
    for (int k = 0; k < 2; k++) {
        const dm_copybin_field *doc = &f[3 + 2 * k];
        char sha[65], hex[65], name[96];
        field_text(&f[4 + 2 * k], sha, sizeof sha);
        d->docs++;
        dm_sha256_hex(doc->p, doc->len > 0 ? (size_t)doc->len : 0, hex);
        if (strcmp(hex, sha) != 0)
            failf(&d->s,
                  "evaluation %lld of run %lld: the stored %s document "
                  "(driftmon.performance_report.report_%s_doc) does not match its sha256 "
                  "(%.16s... recorded, %.16s... stored): it was changed",
                  id, run, what[k], ext[k], sha, hex);
        snprintf(name, sizeof name, "run-%lld.performance-%lld.%s", run, id, ext[k]);
        check_named_file(d, dir, run, name, sha);
    }
    return 0;
}

/* The re-rendered reports (none before 017). */
static int perf_documents_pass(docs_pass *d, const char *lit)
{
    PGresult *res = PQexec(d->conn, "SELECT pg_catalog.to_regclass("
                                    "'driftmon.audit_performance_report') IS NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, d->conn, "could not look up driftmon.audit_performance_report",
                          d->err, sizeof d->err);
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    size_t len = 512 + (lit ? strlen(lit) : 0);
    char *sql = malloc(len);
    if (!sql) {
        snprintf(d->err, sizeof d->err, "out of memory");
        return -1;
    }
    snprintf(sql, len,
             "SELECT performance_id, run_id, monitor, report_html_doc, report_html_sha256, "
             "report_json_doc, report_json_sha256 FROM driftmon.audit_performance_report%s%s%s "
             "ORDER BY performance_id",
             lit ? " WHERE created_at >= " : "", lit ? lit : "", lit ? "::timestamptz" : "");
    int rc = copy_rows(d->conn, sql, 7, "could not read driftmon.performance_report",
                       perf_documents, d, d->err, sizeof d->err);
    free(sql);
    return rc;
}

/* The pass: d->rc 0, or -1 with d->err (the environment). */
static void *documents_pass(void *arg)
{
    docs_pass *d = arg;
    d->rc = -1;
    char *lit = d->since ? PQescapeLiteral(d->conn, d->since, strlen(d->since)) : NULL;
    if (d->since && !lit) {
        dm_db_fail(NULL, d->conn, "could not quote --since", d->err, sizeof d->err);
        return NULL;
    }
    size_t len = 256 + (lit ? strlen(lit) : 0);
    char *sql = malloc(len);
    if (!sql) {
        PQfreemem(lit);
        snprintf(d->err, sizeof d->err, "out of memory");
        return NULL;
    }
    snprintf(sql, len,
             "SELECT id, report_html_doc, report_json_doc, report::text, monitor FROM "
             "driftmon.audit_run%s%s%s "
             "ORDER BY id",
             lit ? " WHERE finished_at >= " : "", lit ? lit : "", lit ? "::timestamptz" : "");
    d->rc = copy_rows(d->conn, sql, 5, "could not read driftmon.run", run_documents, d, d->err,
                      sizeof d->err);
    free(sql);
    if (d->rc == 0)
        d->rc = perf_documents_pass(d, lit);
    PQfreemem(lit);
    return NULL;
}

/* After the walk and the documents pass: each JSON document's chain_head against the chain
 * after its run's results. */
static void check_json_heads(verify_state *v)
{
    for (size_t i = 0; i < v->nruns; i++) {
        const run_info *r = &v->runs[i];
        if (r->json_head_state == 0 || r->seq <= 0 || r->max_result_seq <= 0)
            continue;
        char got[65], want[65];
        dm_chain_hex(r->last_result, want);
        dm_chain_hex(r->json_head, got);
        if (r->json_head_state != 1)
            failf(&v->s, "run %lld: the stored JSON document has no chain_head", (long long)r->id);
        else if (memcmp(r->json_head, r->last_result, 32) != 0)
            failf(&v->s,
                  "run %lld: the JSON document's chain_head %.16s... is not the chain after the "
                  "run's results (%.16s...)",
                  (long long)r->id, got, want);
    }
}

/* database.warm_backend before the COPYs (see dm_db_warm_backend_for): a run's documents,
 * each detoasted, converted and sent, otherwise make a backend give its memory back to the
 * kernel at every row.  Best effort. */
static void warm(PGconn *conn, const dm_config *cfg)
{
    char err[ERRLEN];
    if (cfg->warm_backend && dm_db_warm_backend_for(conn, SIZE_MAX, err, sizeof err) != 0)
        dm_logf(DM_LOG_WARN, "could not warm the backend before the COPY: reading without it",
                "error=%s", err);
}

/* A second connection reading in conn's snapshot (exported by the caller into snap), with
 * the same settings; NULL when it cannot be had (the pass then runs on conn). */
static PGconn *second_connection(const dm_config *cfg, const char *snap)
{
    char err[ERRLEN];
    PGconn *c = dm_db_connect(cfg->conninfo, err, sizeof err);
    if (c)
        warm(c, cfg);
    if (c && (dm_db_begin_in_snapshot(c, snap, err, sizeof err) != 0 ||
              dm_db_exec(c, "SET LOCAL search_path = pg_catalog, pg_temp", 0, NULL,
                         "could not set the search_path", err, sizeof err) != 0)) {
        PQfinish(c);
        c = NULL;
    }
    if (!c)
        dm_logf(DM_LOG_INFO, "no second connection: the documents are read after the chain",
                "reason=%s", err);
    return c;
}

/* Every reference version's stored profile against its sha256; the runs' reference_sha256
 * against their reference's. */
static int check_references(PGconn *conn, verify_state *v, size_t *refs)
{
    char err[ERRLEN];
    PGresult *res =
        PQexec(conn, "SELECT id, name, version, rows, sha256 FROM driftmon.audit_reference "
                     "ORDER BY id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, "could not read driftmon.reference", err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        char name[DM_SHOWN_LEN], digest[65];
        dm_show_value(PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1), name, sizeof name);
        const char *sha = PQgetvalue(res, i, 4);
        if (dm_ref_stored_digest(conn, id, strtoull(PQgetvalue(res, i, 3), NULL, 10), digest, err,
                                 sizeof err) != 0) {
            PQclear(res);
            dm_cli_error(err);
            return -1;
        }
        (*refs)++;
        if (strcmp(digest, sha) != 0)
            failf(&v->s,
                  "reference \"%s\" version %s (driftmon.reference id %lld): the stored profile "
                  "(driftmon.reference_column, reference_left_out) does not match its sha256 "
                  "(%.16s... recorded, %.16s... stored): it was changed",
                  name, PQgetvalue(res, i, 2), (long long)id, sha, digest);
        for (size_t j = 0; j < v->nruns; j++) {
            const run_info *r = &v->runs[j];
            if (r->reference_id == id && r->in_scope && r->seq > 0 && strcmp(r->ref_sha, sha) != 0)
                failf(&v->s,
                      "run %lld: its reference_sha256 %.16s... is not the sha256 of reference "
                      "\"%s\" version %s (%.16s...)",
                      (long long)r->id, r->ref_sha, name, PQgetvalue(res, i, 2), sha);
        }
    }
    PQclear(res);
    return 0;
}

/* ---- export -------------------------------------------------------------------------------------
 */

static int export_anchor(const char *path, const verify_state *v)
{
    char err[ERRLEN], sp[DM_SHOWN_LEN], hx[65], now[32], line[256];
    dm_show_value(path, strlen(path), sp, sizeof sp);
    if (v->links == 0) {
        printf("nothing to anchor: the chain is empty\n");
        return 0;
    }
    dm_chain_hex(v->last_hash, hx);
    dm_cli_now_iso(now, sizeof now);
    int n =
        snprintf(line, sizeof line, "{\"run_id\": %lld, \"chain_head\": \"%s\", \"at\": \"%s\"}\n",
                 (long long)v->last_run, hx, now);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    bool ok = fd >= 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        snprintf(err, sizeof err, "could not append the anchor to \"%s\": %s", sp, strerror(e));
        dm_cli_error(err);
        return -1;
    }
    printf("anchor appended to %s: run %lld, chain head %s\n", sp, (long long)v->last_run, hx);
    return 0;
}

/* ---- the command
 * --------------------------------------------------------------------------------- */

int dm_cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"since", required_argument, NULL, 's'},
        {"anchor", required_argument, NULL, 'a'}, {"export-anchor", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = getenv("DRIFTMON_CONFIG"), *since = NULL, *anchor_path = NULL,
               *export_path = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:a:e:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 's':
            since = optarg;
            break;
        case 'a':
            anchor_path = optarg;
            break;
        case 'e':
            export_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        dm_cli_error("verify takes no arguments besides its options");
        usage(stderr);
        return EXIT_USAGE;
    }
    verify_state v;
    memset(&v, 0, sizeof v);
    v.s.out = stdout;
    v.first_run_link = -1;
    v.runs_from = -1;
    v.last_run = -1;
    int status = EXIT_ENV;
    char err[ERRLEN];
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0)
        return EXIT_USAGE;
    PGconn *conn = NULL, *conn2 = NULL;
    docs_pass d;
    memset(&d, 0, sizeof d);
    pthread_t docs_thread;
    bool threaded = false;
    if (anchor_path && read_anchors(anchor_path, &v) != 0) {
        status = EXIT_USAGE;
        goto out;
    }
    conn = dm_db_connect(cfg.conninfo, err, sizeof err);
    if (!conn) {
        dm_cli_error(err);
        goto out;
    }
    warm(conn, &cfg);
    /* one snapshot for every check, shared with the documents' connection; only built-in
     * functions are called (pg_catalog first) */
    static const char begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                                "SET LOCAL search_path = pg_catalog, pg_temp";
    char snap[256];
    bool exported = false;
    if (dm_db_exec(conn, begin, 0, NULL, "could not begin the verification", err, sizeof err) ==
        0) {
        exported = dm_db_export_snapshot(conn, snap, sizeof snap) == 0;
        /* a refused export aborts the transaction: begin again, on one connection */
        if (!exported && (dm_db_exec(conn, "ROLLBACK", 0, NULL, "could not begin the verification",
                                     err, sizeof err) != 0 ||
                          dm_db_exec(conn, begin, 0, NULL, "could not begin the verification", err,
                                     sizeof err) != 0)) {
            dm_cli_error(err);
            goto out;
        }
    } else {
        dm_cli_error(err);
        goto out;
    }
    if (since) {
        int trc = dm_db_time_option(conn, "--since", since, NULL, 0, err, sizeof err);
        if (trc != 0) {
            dm_cli_error(err);
            status = trc == 2 ? EXIT_USAGE : EXIT_ENV;
            goto out;
        }
    }
    if (dm_db_exec(conn, "SELECT seq, report_json_doc, monitor FROM driftmon.audit_run LIMIT 0", 0,
                   NULL,
                   "the driftmon schema predates this `driftmon verify` (migrations 009_chain.sql, "
                   "011_roles.sql and 012_monitors.sql; run `driftmon init`)",
                   err, sizeof err) != 0) {
        dm_cli_error(err);
        goto out;
    }
    if (load_runs(conn, since, &v) != 0 || load_links(conn, since, &PERF_LINKS, &v) != 0 ||
        load_links(conn, since, &PERF_REPORT_LINKS, &v) != 0)
        goto out;
    d.v = &v;
    d.since = since;
    d.cfg = &cfg;
    d.s.out = stdout;
    if (exported && (conn2 = second_connection(&cfg, snap)) != NULL) {
        d.conn = conn2;
        d.s.out = open_memstream(&d.text, &d.text_len);
        threaded = d.s.out && pthread_create(&docs_thread, NULL, documents_pass, &d) == 0;
        if (!threaded) {
            if (d.s.out)
                fclose(d.s.out);
            free(d.text);
            d.text = NULL;
            d.s.out = stdout;
        }
    }
    int64_t from = 1;
    if (since) {
        from = since_seq(conn, since, &v);
        if (from < 0)
            goto out;
    }
    if (from > 0 && walk_chain(conn, from, &v) != 0)
        goto out;
    if (check_head(conn, &v) != 0)
        goto out;
    check_unchained(&v);
    if (anchor_path)
        check_anchors(anchor_path, &v);
    if (threaded) {
        pthread_join(docs_thread, NULL);
        threaded = false;
        fclose(d.s.out);
        d.s.out = stdout;
        fwrite(d.text, 1, d.text_len, stdout);
    } else {
        d.conn = conn;
        documents_pass(&d);
    }
    v.s.failures += d.s.failures;
    v.s.warnings += d.s.warnings;
    if (d.rc != 0) {
        dm_cli_error(d.err);
        goto out;
    }
    check_json_heads(&v);
    size_t refs = 0;
    if (check_references(conn, &v, &refs) != 0)
        goto out;
    dm_db_exec(conn, "COMMIT", 0, NULL, NULL, NULL, 0);
    size_t nscope = 0;
    for (size_t i = 0; i < v.nruns; i++)
        nscope += v.runs[i].in_scope;
    printf("verify: %zu links, %zu runs, %zu stored documents, %zu report files, %zu references, "
           "%zu anchors checked: %s (%d failures, %d warnings)\n",
           v.links, nscope, d.docs, d.files, refs, v.nanchors,
           v.s.failures ? "NOT INTACT" : "intact", v.s.failures, v.s.warnings);
    status = v.s.failures ? EXIT_FAILED : EXIT_INTACT;
    if (status == EXIT_INTACT && export_path && export_anchor(export_path, &v) != 0)
        status = EXIT_ENV;
    else if (status == EXIT_FAILED && export_path)
        fprintf(stderr, "driftmon: error: no anchor exported: the history is not intact\n");
out:
    if (threaded) { /* the walk failed: the documents pass still reads v.runs */
        pthread_join(docs_thread, NULL);
        fclose(d.s.out);
    }
    free(d.text);
    if (conn2)
        PQfinish(conn2);
    if (conn)
        PQfinish(conn);
    free(v.runs);
    free(v.perf);
    free(v.anchors);
    dm_config_release(&cfg);
    return status;
}

/*
 * cmd_export.c - `driftmon export --since T --until T --out DIR`: the evidence bundle of the
 * runs finished in [T1, T2) (the chain it carries: docs/AUDIT.md).
 *
 * The bundle, checkable with coreutils alone:
 *   runs.csv, column_results.csv   every column of the rows (the chained columns in the
 *                                  chain's order, DM_CHAIN_*_COLS, then the others), by seq;
 *   references.csv                 the reference versions the runs used (metadata, sha256);
 *   runs/run-N.html, run-N.json    the stored documents, byte for byte;
 *   performance.csv                the evaluations of the period (evaluated_at), every column
 *                                  (sql/015_performance.sql), by seq;
 *   performance_reports.csv        the reports re-rendered in the period (created_at), every
 *                                  column but the documents (sql/017, 019), by seq;
 *   runs/run-N.performance-E.html, .json
 *                                  their stored documents, byte for byte (the names of the
 *                                  files in the reports directory);
 *   chain.csv, chain.json          the contiguous chain segment over the period's links (its
 *                                  runs' and results', evaluations' and re-rendered
 *                                  reports'), and its heads: the one before its first link
 *                                  (the previous bundle's last), its first and its last;
 *   MANIFEST.sha256                `sha256sum -c` lines over every other file, sorted.
 * Everything is read in one read-only REPEATABLE READ snapshot and nothing of the export's
 * own time goes in: the same period exports to the same bytes.  The bundle is built in
 * DIR.tmp-XXXXXX and renamed to DIR; an existing non-empty DIR is refused.
 * The export copies what is stored; `driftmon verify` is what checks it.
 */
#include "monitor/cmd_export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/chain.h"
#include "monitor/cli.h"
#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/sha256.h"
#include "reports/report.h"

#define ERRLEN 1024
#define FETCH_DOCS 16
#define BYTEA_OID 17
#define DM_XSTR(x) #x
#define DM_STR(x) DM_XSTR(x)

enum { EXIT_DONE = 0, EXIT_ENV = 1, EXIT_USAGE = 2 };

/* the period, $1 and $2 of every query: a run's finished_at, an evaluation's evaluated_at, a
 * re-rendered report's created_at */
#define PERIOD_OF(col) col " >= $1::timestamptz AND " col " < $2::timestamptz"
#define PERIOD PERIOD_OF("finished_at")

/* the columns of driftmon.run not in its link (010), after the chained ones; the documents
 * (report_html_doc, report_json_doc and report, the JSON as jsonb) are files of their own */
#define RUN_MORE_COLS                                                                              \
    "importance_sha256, importance_weighted_share, score_column, score_psi, score_band, "          \
    "reference_approval_rate, current_approval_rate, retrain_reasons"

typedef struct {
    char *path; /* relative to the bundle */
    char sha[65];
} entry;

typedef struct {
    char *tmp; /* DIR.tmp-XXXXXX */
    int dirfd, runsfd;
    bool runs_made;
    entry *e;
    size_t n;
} bundle;

static void usage(FILE *f)
{
    fputs("usage: driftmon export --since T --until T --out DIR [--config FILE]\n", f);
}

/* One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, or is empty (so an
 * empty text differs from NULL, which is written as nothing). */
static void csv_field(rpt_buf *b, const char *v, size_t n, bool null)
{
    if (null)
        return;
    bool quote = n == 0 || strpbrk(v, ",\"\r\n") != NULL || memchr(v, '\0', n) != NULL;
    if (!quote) {
        rpt_buf_put(b, v, n);
        return;
    }
    rpt_buf_put(b, "\"", 1);
    for (const char *q; n > 0 && (q = memchr(v, '"', n)) != NULL;) {
        rpt_buf_put(b, v, (size_t)(q - v) + 1);
        rpt_buf_put(b, "\"", 1);
        n -= (size_t)(q - v) + 1;
        v = q + 1;
    }
    rpt_buf_put(b, v, n);
    rpt_buf_put(b, "\"", 1);
}

/* res (text format) as CSV: a header of its column names, then its rows, CRLF line ends;
 * bytea as its hex digits. */
static void csv_result(rpt_buf *b, const PGresult *res)
{
    int nf = PQnfields(res), nt = PQntuples(res);
    for (int j = 0; j < nf; j++) {
        if (j)
            rpt_buf_put(b, ",", 1);
        csv_field(b, PQfname(res, j), strlen(PQfname(res, j)), false);
    }
    rpt_buf_put(b, "\r\n", 2);
    for (int i = 0; i < nt; i++) {
        for (int j = 0; j < nf; j++) {
            if (j)
                rpt_buf_put(b, ",", 1);
            const char *v = PQgetvalue(res, i, j);
            size_t n = (size_t)PQgetlength(res, i, j);
            if (PQftype(res, j) == BYTEA_OID && n >= 2 && v[0] == '\\' && v[1] == 'x') {
                v += 2;
                n -= 2;
            }
            csv_field(b, v, n, PQgetisnull(res, i, j));
        }
        rpt_buf_put(b, "\r\n", 2);
    }
}

/* ---- the bundle ---------------------------------------------------------------------------- */

/* Write rel (a name in the bundle, or runs/NAME) and note its sha256.  0, or -1 (printed). */
static int put_file(bundle *bd, const char *rel, const void *data, size_t len)
{
    char err[ERRLEN], shown[4200];
    const char *slash = strchr(rel, '/');
    int fd = slash ? bd->runsfd : bd->dirfd;
    snprintf(shown, sizeof shown, "%s/%s", bd->tmp, rel);
    entry *grown = realloc(bd->e, (bd->n + 1) * sizeof *grown);
    char *path = strdup(rel);
    if (!grown || !path) {
        free(path);
        if (grown)
            bd->e = grown;
        dm_cli_error("out of memory");
        return -1;
    }
    bd->e = grown;
    if (dm_write_file_atomic_at(fd, shown, slash ? slash + 1 : rel, data, len, DM_FILE_MODE, err,
                                sizeof err) != 0) {
        free(path);
        dm_cli_error(err);
        return -1;
    }
    bd->e[bd->n].path = path;
    dm_sha256_hex(data, len, bd->e[bd->n].sha);
    bd->n++;
    return 0;
}

/* Remove what was written of an unfinished bundle. */
static void discard(bundle *bd)
{
    if (bd->dirfd < 0)
        return;
    for (size_t i = 0; i < bd->n; i++)
        (void)unlinkat(bd->dirfd, bd->e[i].path, 0);
    (void)unlinkat(bd->dirfd, "MANIFEST.sha256", 0);
    if (bd->runs_made)
        (void)unlinkat(bd->dirfd, "runs", AT_REMOVEDIR);
    (void)rmdir(bd->tmp);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static int put_manifest(bundle *bd)
{
    qsort(bd->e, bd->n, sizeof *bd->e, cmp_entry);
    rpt_buf m;
    rpt_buf_init(&m);
    for (size_t i = 0; i < bd->n; i++) {
        rpt_buf_puts(&m, bd->e[i].sha);
        rpt_buf_puts(&m, "  ");
        rpt_buf_puts(&m, bd->e[i].path);
        rpt_buf_puts(&m, "\n");
    }
    int rc = -1;
    if (m.failed)
        dm_cli_error("out of memory");
    else {
        char err[ERRLEN], shown[4200];
        snprintf(shown, sizeof shown, "%s/MANIFEST.sha256", bd->tmp);
        rc = dm_write_file_atomic_at(bd->dirfd, shown, "MANIFEST.sha256", m.data ? m.data : "",
                                     m.len, DM_FILE_MODE, err, sizeof err);
        if (rc != 0)
            dm_cli_error(err);
    }
    rpt_buf_release(&m);
    return rc;
}

/* ---- the reads ---------------------------------------------------------------------------- */

/* Run sql with the period as $1, $2 and write its rows as the CSV file rel.  The number of
 * rows, or -1 (printed). */
static int put_csv(PGconn *conn, bundle *bd, const char *rel, const char *sql, const char *const *p,
                   const char *what)
{
    char err[ERRLEN];
    PGresult *res = PQexecParams(conn, sql, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, what, err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    rpt_buf b;
    rpt_buf_init(&b);
    csv_result(&b, res);
    int n = PQntuples(res);
    PQclear(res);
    int rc = -1;
    if (b.failed)
        dm_cli_error("out of memory");
    else
        rc = put_file(bd, rel, b.data, b.len);
    rpt_buf_release(&b);
    return rc == 0 ? n : -1;
}

/* The documents a cursor's rows carry, byte for byte, under runs/: each row is a run's id, for a
 * re-rendered report (perf) its evaluation's id, then the HTML and the JSON document (a NULL
 * one is skipped), named as in the reports directory.  declare opens the cursor dm_docs over
 * the period's parameters p; what names the table in messages.  Their number, or -1. */
static long put_docs(PGconn *conn, bundle *bd, const char *const *p, const char *declare, bool perf,
                     const char *what)
{
    char err[ERRLEN], rel[96];
    long docs = 0;
    int rc = dm_db_exec(conn, declare, 2, p, what, err, sizeof err);
    while (rc == 0) {
        PGresult *res = PQexec(conn, "FETCH FORWARD " DM_STR(FETCH_DOCS) " FROM dm_docs");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = dm_db_fail(res, conn, what, err, sizeof err);
            break;
        }
        int n = PQntuples(res), first = perf ? 2 : 1;
        for (int i = 0; i < n && rc == 0; i++) {
            long long run = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            long long id = perf ? strtoll(PQgetvalue(res, i, 1), NULL, 10) : 0;
            for (int k = first; k <= first + 1 && rc == 0; k++) {
                if (PQgetisnull(res, i, k))
                    continue;
                const char *ext = k == first ? "html" : "json";
                if (perf)
                    snprintf(rel, sizeof rel, "runs/run-%lld.performance-%lld.%s", run, id, ext);
                else
                    snprintf(rel, sizeof rel, "runs/run-%lld.%s", run, ext);
                rc = put_file(bd, rel, PQgetvalue(res, i, k), (size_t)PQgetlength(res, i, k));
                docs++;
            }
        }
        PQclear(res);
        if (rc != 0)
            return -1;
        if (n < FETCH_DOCS)
            break;
    }
    if (rc == 0)
        rc = dm_db_exec(conn, "CLOSE dm_docs", 0, NULL, what, err, sizeof err);
    if (rc != 0) {
        dm_cli_error(err);
        return -1;
    }
    return docs;
}

/* The stored documents of the period's runs.  Their number, or -1. */
static long put_documents(PGconn *conn, bundle *bd, const char *const *p)
{
    return put_docs(conn, bd, p,
                    "DECLARE dm_docs NO SCROLL CURSOR FOR SELECT id, report_html_doc, "
                    "report_json_doc FROM driftmon.audit_run WHERE " PERIOD
                    " ORDER BY seq NULLS FIRST, id",
                    false, "could not read driftmon.run");
}

/* The period's re-rendered reports' documents (sql/017_perf_report.sql).  Their number, or -1. */
static long put_perf_documents(PGconn *conn, bundle *bd, const char *const *p)
{
    return put_docs(conn, bd, p,
                    "DECLARE dm_docs NO SCROLL CURSOR FOR SELECT run_id, performance_id, "
                    "report_html_doc, report_json_doc FROM driftmon.audit_performance_report "
                    "WHERE " PERIOD_OF("created_at") " ORDER BY seq",
                    true, "could not read driftmon.performance_report");
}

/* The chain segment's query: the period's links (seq) and every link between the first and
 * the last, of the tables the schema has (perf: 015's evaluations and 019's re-rendered
 * reports). */
#define CHAIN_SEGMENT_SQL                                                                          \
    "WITH p AS (SELECT id, seq FROM driftmon.audit_run WHERE " PERIOD "), "                        \
    "s AS (SELECT seq FROM p WHERE seq IS NOT NULL UNION ALL SELECT c.seq FROM "                   \
    "driftmon.audit_column_result c WHERE c.run_id IN (SELECT id FROM p)%s), "                     \
    "b AS (SELECT min(seq) AS lo, max(seq) AS hi FROM s) "                                         \
    "SELECT l.seq, l.tbl AS \"table\", l.run_id, l.column_name, l.prev_hash, l.row_hash "          \
    "FROM (SELECT r.seq, 'driftmon.run' AS tbl, r.id AS run_id, NULL::text AS column_name, "       \
    "r.prev_hash, r.row_hash FROM driftmon.audit_run r, b WHERE r.seq BETWEEN b.lo AND b.hi "      \
    "UNION ALL SELECT c.seq, 'driftmon.column_result', c.run_id, c.column_name, c.prev_hash, "     \
    "c.row_hash FROM driftmon.audit_column_result c, b WHERE c.seq BETWEEN b.lo AND b.hi%s) l "    \
    "ORDER BY l.seq"
#define CHAIN_PERF_SEQS                                                                            \
    " UNION ALL SELECT e.seq FROM driftmon.audit_performance e WHERE "                             \
    "e.evaluated_at >= $1::timestamptz AND e.evaluated_at < $2::timestamptz "                      \
    "UNION ALL SELECT d.seq FROM driftmon.audit_performance_report d WHERE "                       \
    "d.created_at >= $1::timestamptz AND d.created_at < $2::timestamptz"
#define CHAIN_PERF_LINKS                                                                           \
    " UNION ALL SELECT e.seq, 'driftmon.performance', e.run_id, NULL, e.prev_hash, e.row_hash "    \
    "FROM driftmon.audit_performance e, b WHERE e.seq BETWEEN b.lo AND b.hi "                      \
    "UNION ALL SELECT d.seq, 'driftmon.performance_report', d.run_id, NULL, d.prev_hash, "         \
    "d.row_hash FROM driftmon.audit_performance_report d, b WHERE d.seq BETWEEN b.lo AND b.hi"

/* chain.csv and chain.json: every link from the period's first to its last, contiguous so
 * that prev_hash runs from line to line.  The number of links, or -1. */
static long put_chain(PGconn *conn, bundle *bd, const char *const *p, const char *since,
                      const char *until, int runs, bool perf)
{
    char err[ERRLEN],
        sql[sizeof CHAIN_SEGMENT_SQL + sizeof CHAIN_PERF_SEQS + sizeof CHAIN_PERF_LINKS];
    snprintf(sql, sizeof sql, CHAIN_SEGMENT_SQL, perf ? CHAIN_PERF_SEQS : "",
             perf ? CHAIN_PERF_LINKS : "");
    PGresult *res = PQexecParams(conn, sql, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, "could not read the chain", err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    rpt_buf b, j;
    rpt_buf_init(&b);
    rpt_buf_init(&j);
    csv_result(&b, res);
    int n = PQntuples(res);
    char line[512];
    snprintf(line, sizeof line, "{\n  \"since\": \"%s\",\n  \"until\": \"%s\",\n  \"runs\": %d,\n",
             since, until, runs);
    rpt_buf_puts(&j, line);
    if (n == 0) {
        rpt_buf_puts(&j,
                     "  \"links\": 0,\n  \"first_seq\": null,\n  \"last_seq\": null,\n"
                     "  \"head_before\": null,\n  \"first_head\": null,\n  \"last_head\": null,\n"
                     "  \"last_run_id\": null\n}\n");
    } else {
        /* bytea in hex form: "\x" then the digits */
        snprintf(line, sizeof line,
                 "  \"links\": %d,\n  \"first_seq\": %s,\n  \"last_seq\": %s,\n"
                 "  \"head_before\": \"%.64s\",\n  \"first_head\": \"%.64s\",\n"
                 "  \"last_head\": \"%.64s\",\n  \"last_run_id\": %s\n}\n",
                 n, PQgetvalue(res, 0, 0), PQgetvalue(res, n - 1, 0), PQgetvalue(res, 0, 4) + 2,
                 PQgetvalue(res, 0, 5) + 2, PQgetvalue(res, n - 1, 5) + 2,
                 PQgetvalue(res, n - 1, 2));
        rpt_buf_puts(&j, line);
    }
    PQclear(res);
    int rc = -1;
    if (b.failed || j.failed)
        dm_cli_error("out of memory");
    else if (put_file(bd, "chain.csv", b.data, b.len) == 0 &&
             put_file(bd, "chain.json", j.data, j.len) == 0)
        rc = 0;
    rpt_buf_release(&b);
    rpt_buf_release(&j);
    return rc == 0 ? n : -1;
}

/* Whether the schema has the evaluations and their re-rendered reports chained (015, 017,
 * 019): 1 yes, 0 neither table (before 015: nothing of theirs to export); -1 (printed) when
 * the reports are there without their links (run `driftmon init`) or on error. */
static int perf_schema(PGconn *conn)
{
    char err[ERRLEN];
    PGresult *res = PQexec(conn, "SELECT to_regclass('driftmon.audit_performance') IS NOT NULL, "
                                 "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = "
                                 "to_regclass('driftmon.audit_performance_report') AND "
                                 "a.attname = 'row_hash' AND NOT a.attisdropped)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_fail(res, conn, "could not look up driftmon.audit_performance", err, sizeof err);
        dm_cli_error(err);
        return -1;
    }
    bool evals = PQgetvalue(res, 0, 0)[0] == 't', chained = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (evals && !chained) {
        dm_cli_error("the driftmon schema predates this `driftmon export` (migrations 017 and "
                     "019_perf_report_chain.sql; run `driftmon init`)");
        return -1;
    }
    return evals ? 1 : 0;
}

/* ---- the command ------------------------------------------------------------------------- */

/* A period bound: checked by the server, in UTC text into out.  0; 2 bad input, 1 environment
 * (printed). */
static int read_time(PGconn *conn, const char *opt, const char *v, char *out, size_t len)
{
    char err[ERRLEN];
    int rc = dm_db_time_option(conn, opt, v, out, len, err, sizeof err);
    if (rc != 0)
        dm_cli_error(err);
    return rc == 0 ? 0 : rc == 2 ? EXIT_USAGE : EXIT_ENV;
}

/* DIR must not exist or be an empty directory.  0, or -1 (printed). */
static int check_out(const char *out)
{
    char err[ERRLEN], shown[DM_SHOWN_LEN];
    dm_show_value(out, strlen(out), shown, sizeof shown);
    struct stat st;
    if (lstat(out, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, sizeof err, "cannot export to \"%s\": %s", shown, strerror(errno));
        dm_cli_error(err);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, sizeof err, "cannot export to \"%s\": it exists and is not a directory",
                 shown);
        dm_cli_error(err);
        return -1;
    }
    DIR *d = opendir(out);
    bool empty = d != NULL;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    if (d)
        closedir(d);
    if (!empty) {
        snprintf(err, sizeof err, "cannot export to \"%s\": the directory is not empty", shown);
        dm_cli_error(err);
        return -1;
    }
    return 0;
}

/* Make DIR.tmp-XXXXXX (0777 less the umask) with its runs/ folder.  0, or -1 (printed). */
static int make_tmp(const char *out, bundle *bd)
{
    char err[ERRLEN];
    size_t n = strlen(out) + sizeof ".tmp-XXXXXX";
    bd->tmp = malloc(n);
    if (!bd->tmp) {
        dm_cli_error("out of memory");
        return -1;
    }
    snprintf(bd->tmp, n, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(bd->tmp)) {
        char shown[DM_SHOWN_LEN];
        dm_show_value(bd->tmp, strlen(bd->tmp), shown, sizeof shown);
        snprintf(err, sizeof err, "could not create the directory \"%s\": %s", shown,
                 strerror(errno));
        dm_cli_error(err);
        free(bd->tmp);
        bd->tmp = NULL;
        return -1;
    }
    bd->dirfd = dm_dir_open(bd->tmp, DM_DIR_NOFOLLOW, err, sizeof err);
    if (bd->dirfd < 0) {
        (void)rmdir(bd->tmp);
        dm_cli_error(err);
        return -1;
    }
    char shown[DM_SHOWN_LEN];
    dm_show_value(bd->tmp, strlen(bd->tmp), shown, sizeof shown);
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(bd->dirfd, 0777 & ~mask) != 0 || mkdirat(bd->dirfd, "runs", 0777) != 0) {
        snprintf(err, sizeof err, "could not prepare the directory \"%s\": %s", shown,
                 strerror(errno));
        dm_cli_error(err);
        return -1;
    }
    bd->runs_made = true;
    bd->runsfd = openat(bd->dirfd, "runs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bd->runsfd < 0) {
        snprintf(err, sizeof err, "could not open \"%s/runs\": %s", shown, strerror(errno));
        dm_cli_error(err);
        return -1;
    }
    return 0;
}

/* The finished bundle into place: DIR.tmp-XXXXXX renamed to DIR, the parent synced.  0; 2 when
 * DIR appeared meanwhile, not empty; 1 otherwise (printed). */
static int publish(bundle *bd, const char *out)
{
    char err[ERRLEN], shown[DM_SHOWN_LEN];
    dm_show_value(out, strlen(out), shown, sizeof shown);
    if (fsync(bd->runsfd) != 0 || fsync(bd->dirfd) != 0 || rename(bd->tmp, out) != 0) {
        int e = errno;
        snprintf(err, sizeof err, "could not move the bundle to \"%s\": %s", shown, strerror(e));
        dm_cli_error(err);
        return e == ENOTEMPTY || e == EEXIST || e == ENOTDIR ? EXIT_USAGE : EXIT_ENV;
    }
    char *parent = strdup(out);
    if (parent) {
        char *slash = strrchr(parent, '/');
        const char *pd = slash ? (slash == parent ? "/" : (*slash = '\0', parent)) : ".";
        int fd = open(pd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
        free(parent);
    }
    return 0;
}

int dm_cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},  {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = getenv("DRIFTMON_CONFIG"), *since = NULL, *until = NULL, *outarg = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:u:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 's':
            since = optarg;
            break;
        case 'u':
            until = optarg;
            break;
        case 'o':
            outarg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || !since || !until || !outarg || !*outarg) {
        dm_cli_error(optind != argc ? "export takes no arguments besides its options"
                                    : "export needs --since, --until and --out");
        usage(stderr);
        return EXIT_USAGE;
    }
    /* DIR without trailing slashes: DIR.tmp-XXXXXX is its sibling */
    char *out = strdup(outarg);
    if (!out) {
        dm_cli_error("out of memory");
        return EXIT_ENV;
    }
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/';)
        out[--n] = '\0';
    if (check_out(out) != 0) {
        free(out);
        return EXIT_USAGE;
    }
    dm_config cfg;
    if (dm_cli_load_config(config, &cfg) != 0) {
        free(out);
        return EXIT_USAGE;
    }
    bundle bd = {NULL, -1, -1, false, NULL, 0};
    int status = EXIT_ENV;
    char err[ERRLEN], t1[64], t2[64];
    PGconn *conn = dm_db_connect(cfg.conninfo, err, sizeof err);
    if (!conn) {
        dm_cli_error(err);
        goto out;
    }
    /* one snapshot for every file; the text forms fixed (UTC, ISO dates, shortest exact
     * floats, hex bytea) so that the same rows give the same bytes in any session */
    if (dm_db_exec(conn,
                   "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                   "SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL TimeZone = 'UTC'; "
                   "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'iso_8601'; "
                   "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'",
                   0, NULL, "could not begin the export", err, sizeof err) != 0) {
        dm_cli_error(err);
        goto out;
    }
    int r = read_time(conn, "--since", since, t1, sizeof t1);
    if (r == 0)
        r = read_time(conn, "--until", until, t2, sizeof t2);
    if (r != 0) {
        status = r;
        goto out;
    }
    const char *p[2] = {t1, t2};
    PGresult *cmp =
        PQexecParams(conn, "SELECT $1::timestamptz < $2::timestamptz", 2, NULL, p, NULL, NULL, 0);
    bool ordered = PQresultStatus(cmp) == PGRES_TUPLES_OK && PQgetvalue(cmp, 0, 0)[0] == 't';
    PQclear(cmp);
    if (!ordered) {
        char s1[DM_SHOWN_LEN], s2[DM_SHOWN_LEN];
        dm_show_value(since, strlen(since), s1, sizeof s1);
        dm_show_value(until, strlen(until), s2, sizeof s2);
        snprintf(err, sizeof err, "invalid period: --until \"%s\" is not after --since \"%s\"", s2,
                 s1);
        dm_cli_error(err);
        status = EXIT_USAGE;
        goto out;
    }
    if (dm_db_exec(conn,
                   "SELECT seq, report_json_doc, monitor, " RUN_MORE_COLS
                   " FROM driftmon.audit_run "
                   "LIMIT 0",
                   0, NULL,
                   "the driftmon schema predates this `driftmon export` (migrations 009 to 012; "
                   "run `driftmon init`)",
                   err, sizeof err) != 0) {
        dm_cli_error(err);
        goto out;
    }
    int perf = perf_schema(conn);
    if (perf < 0)
        goto out;
    if (make_tmp(out, &bd) != 0)
        goto out;
    int runs = put_csv(conn, &bd, "runs.csv",
                       "SELECT " DM_CHAIN_RUN_COLS ", " RUN_MORE_COLS
                       " FROM driftmon.audit_run WHERE " PERIOD " ORDER BY seq NULLS FIRST, id",
                       p, "could not read driftmon.run");
    if (runs < 0)
        goto out;
    int results =
        put_csv(conn, &bd, "column_results.csv",
                "SELECT " DM_CHAIN_RESULT_COLS " FROM driftmon.audit_column_result WHERE "
                "run_id IN (SELECT id FROM driftmon.audit_run WHERE " PERIOD ") ORDER BY seq",
                p, "could not read driftmon.column_result");
    if (results < 0)
        goto out;
    int refs =
        put_csv(conn, &bd, "references.csv",
                "SELECT id, name, version, created_at, source, rows, sha256, "
                "driftmon_version, importance_sha256, importance_source FROM "
                "driftmon.audit_reference WHERE id IN (SELECT reference_id FROM driftmon.audit_run "
                "WHERE " PERIOD ") ORDER BY id",
                p, "could not read driftmon.reference");
    if (refs < 0)
        goto out;
    long docs = put_documents(conn, &bd, p);
    if (docs < 0)
        goto out;
    int evals = 0, rerendered = 0;
    if (perf) {
        evals = put_csv(
            conn, &bd, "performance.csv",
            "SELECT " DM_CHAIN_PERF_COLS
            " FROM driftmon.audit_performance WHERE " PERIOD_OF("evaluated_at") " ORDER BY seq",
            p, "could not read driftmon.performance");
        rerendered = evals < 0 ? -1
                               : put_csv(conn, &bd, "performance_reports.csv",
                                         "SELECT " DM_CHAIN_PERF_REPORT_COLS
                                         " FROM driftmon.audit_performance_report WHERE " PERIOD_OF(
                                             "created_at") " ORDER BY seq",
                                         p, "could not read driftmon.performance_report");
        long pdocs = rerendered < 0 ? -1 : put_perf_documents(conn, &bd, p);
        if (pdocs < 0)
            goto out;
        docs += pdocs;
    }
    long links = put_chain(conn, &bd, p, t1, t2, runs, perf > 0);
    if (links < 0 || put_manifest(&bd) != 0)
        goto out;
    dm_db_exec(conn, "COMMIT", 0, NULL, NULL, NULL, 0);
    status = publish(&bd, out);
    if (status != 0)
        goto out;
    char shown[DM_SHOWN_LEN];
    dm_show_value(out, strlen(out), shown, sizeof shown);
    printf("export: %d runs, %d column results, %d references, %d evaluations, %d re-rendered "
           "reports, %ld documents, %ld links written to %s\n",
           runs, results, refs, evals, rerendered, docs, links, shown);
out:
    if (status != 0)
        discard(&bd);
    if (bd.runsfd >= 0)
        close(bd.runsfd);
    if (bd.dirfd >= 0)
        close(bd.dirfd);
    for (size_t i = 0; i < bd.n; i++)
        free(bd.e[i].path);
    free(bd.e);
    free(bd.tmp);
    if (conn)
        PQfinish(conn);
    dm_config_release(&cfg);
    free(out);
    return status;
}

/*
 * db.c - the PostgreSQL layer: connect, migrate, catalog, binary COPY (see db.h).
 */
#include "monitor/db.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/conninfo.h"
#include "monitor/log.h"
#include "monitor/migrations.h"
#include "monitor/reconcile.h"
#include "monitor/sha256.h"

#ifndef DRIFTMON_VERSION
#define DRIFTMON_VERSION "unknown"
#endif

/* pg_advisory_xact_lock key of `driftmon init`: the bytes of "driftmon". */
#define DM_INIT_LOCK_KEY "7237954497483484014"

static const char copy_signature[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                        '\n', '\377', '\r', '\n', '\0'};

/* ---- small helpers ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A libpq message on one line, without its trailing newline, in the caller's buffer. */
static const char *trimmed(const char *msg, char *buf, size_t buflen)
{
    size_t n;

    if (msg == NULL || *msg == '\0') {
        return "unknown error";
    }
    /* one line: inner line breaks (and the indentation after them) become one blank */
    n = 0;
    for (const char *p = msg; *p != '\0' && n + 1 < buflen; p++) {
        if (*p == '\n' || *p == '\r') {
            while (p[1] == '\n' || p[1] == '\r' || p[1] == '\t' || p[1] == ' ') {
                p++;
            }
            buf[n++] = ' ';
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == ' ') {
        buf[--n] = '\0';
    }
    return buf;
}

static const char *conn_error(PGconn *conn, char *buf, size_t buflen)
{
    return trimmed(PQerrorMessage(conn), buf, buflen);
}

static const char *result_error(const PGresult *res, PGconn *conn, char *buf, size_t buflen)
{
    const char *m = res != NULL ? PQresultErrorMessage(res) : NULL;
    if (m == NULL || *m == '\0') {
        return conn_error(conn, buf, buflen);
    }
    return trimmed(m, buf, buflen);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

int dm_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
               const char *what, char *err, size_t errlen)
{
    char buf[1024];
    PGresult *res = nparams > 0 ? PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
                                : PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    if (what != NULL) {
        set_err(err, errlen, "%s: %s", what, result_error(res, conn, buf, sizeof buf));
    } else {
        set_err(err, errlen, "%s", result_error(res, conn, buf, sizeof buf));
    }
    PQclear(res);
    return -1;
}

static void rollback_quietly(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

/* ---- notices --------------------------------------------------------------------------- */

static void notice_processor(void *arg, const char *message)
{
    char buf[2048];
    const char *m = trimmed(message, buf, sizeof buf);
    dm_log_level level = DM_LOG_INFO;

    (void)arg;
    if (strncmp(m, "WARNING:", 8) == 0) {
        level = DM_LOG_WARN;
    } else if (strncmp(m, "DEBUG", 5) == 0 || strncmp(m, "LOG:", 4) == 0) {
        level = DM_LOG_DEBUG;
    }
    dm_logf(level, "server notice", "detail=%s", m);
}

void dm_db_trim(const char *msg, char *out, size_t len)
{
    if (len == 0)
        return;
    const char *t = trimmed(msg, out, len);
    if (t != out)
        snprintf(out, len, "%s", t);
}

int dm_db_fail(PGresult *res, PGconn *conn, const char *what, char *err, size_t errlen)
{
    char m[1024];
    dm_db_trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), m, sizeof m);
    snprintf(err, errlen, "%s: %s", what, m);
    PQclear(res);
    return -1;
}

/* ---- connect ------------------------------------------------------------------------- */

PGconn *dm_db_connect(const char *conninfo, char *err, size_t errlen)
{
    const char *keys[3] = {NULL, NULL, NULL};
    const char *vals[3] = {NULL, NULL, NULL};
    char shown[512], msg[1024], buf[1024];
    int k = 0;
    PGconn *conn;

    keys[k] = "fallback_application_name";
    vals[k++] = "driftmon";
    if (conninfo != NULL && *conninfo != '\0') {
        keys[k] = "dbname";
        vals[k++] = conninfo;
        if (dm_conninfo_scrub(conninfo, shown, sizeof shown) != 0) {
            /* libpq would fail the same way, with a message that may quote the password */
            set_err(err, errlen, "database.conninfo: %s", shown);
            return NULL;
        }
    } else {
        snprintf(shown, sizeof shown, "(PG* environment)");
    }
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        set_err(err, errlen, "could not connect to \"%s\": out of memory", shown);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        dm_conninfo_redact(conninfo, PQerrorMessage(conn), msg, sizeof msg);
        set_err(err, errlen, "could not connect to \"%s\": %s", shown,
                trimmed(msg, buf, sizeof buf));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_processor, NULL);
    if (PQsetClientEncoding(conn, "UTF8") != 0) {
        dm_conninfo_redact(conninfo, PQerrorMessage(conn), msg, sizeof msg);
        set_err(err, errlen, "could not set client_encoding UTF8 on \"%s\": %s", shown,
                trimmed(msg, buf, sizeof buf));
        PQfinish(conn);
        return NULL;
    }
    dm_logf(DM_LOG_DEBUG, "connected", "conninfo=%s database=%s user=%s", shown, PQdb(conn),
            PQuser(conn));
    return conn;
}

/* ---- init (migrations) ------------------------------------------------------------------ */

/* Does driftmon.schema_version exist?  1 yes, 0 no, -1 error. */
static int version_table_exists(PGconn *conn, char *err, size_t errlen)
{
    char buf[1024];
    PGresult *res =
        PQexec(conn, "SELECT pg_catalog.to_regclass('driftmon.schema_version') IS NOT NULL");
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        set_err(err, errlen, "could not read the schema version: %s",
                result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return r;
}

/* sha256 recorded for migration name: 1 found (hex copied), 0 not applied, -1 error. */
static int applied_sha(PGconn *conn, const char *name, char sha[65], char *err, size_t errlen)
{
    const char *params[1] = {name};
    char buf[1024];
    int exists = version_table_exists(conn, err, errlen);
    PGresult *res;

    if (exists <= 0) {
        return exists;
    }
    res = PQexecParams(conn, "SELECT sha256 FROM driftmon.schema_version WHERE name = $1", 1, NULL,
                       params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "could not read the schema version of \"%s\": %s", name,
                result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    snprintf(sha, 65, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 1;
}

static int apply_one(PGconn *conn, const dm_migration *m, bool *did, char *err, size_t errlen)
{
    char sha[65], have[65], what[300];
    const char *params[3];
    int st;

    *did = false;
    dm_sha256_hex(m->sql, strlen(m->sql), sha);
    if (dm_db_exec(conn, "BEGIN", 0, NULL, "could not start a transaction", err, errlen) != 0) {
        return -1;
    }
    if (dm_db_exec(conn, "SET LOCAL client_min_messages = warning", 0, NULL,
                   "could not set messages", err, errlen) != 0 ||
        dm_db_exec(conn, "SELECT pg_catalog.pg_advisory_xact_lock(" DM_INIT_LOCK_KEY ")", 0, NULL,
                   "could not take the init lock", err, errlen) != 0) {
        goto fail;
    }
    /* Re-check under the lock: another init may have applied it meanwhile. */
    st = applied_sha(conn, m->name, have, err, errlen);
    if (st < 0) {
        goto fail;
    }
    if (st == 1) {
        rollback_quietly(conn);
        if (strcmp(have, sha) != 0) {
            dm_logf(DM_LOG_WARN, "applied migration differs from this program's copy",
                    "name=%s applied_sha256=%s sha256=%s", m->name, have, sha);
        }
        return 0;
    }
    /* the migration: several statements, so PQexec (no parameters) */
    snprintf(what, sizeof what, "could not apply migration \"%s\"", m->name);
    if (dm_db_exec(conn, m->sql, 0, NULL, what, err, errlen) != 0) {
        goto fail;
    }
    params[0] = m->name;
    params[1] = sha;
    params[2] = DRIFTMON_VERSION;
    snprintf(what, sizeof what, "could not record migration \"%s\"", m->name);
    if (dm_db_exec(conn,
                   "INSERT INTO driftmon.schema_version (name, sha256, driftmon_version) "
                   "VALUES ($1, $2, $3)",
                   3, params, what, err, errlen) != 0) {
        goto fail;
    }
    if (dm_db_exec(conn, "COMMIT", 0, NULL, "could not commit", err, errlen) != 0) {
        goto fail;
    }
    *did = true;
    dm_logf(DM_LOG_INFO, "applied migration", "name=%s sha256=%s", m->name, sha);
    return 0;
fail:
    rollback_quietly(conn);
    return -1;
}

/* sha256 mismatch between an applied migration and ours: worth a warning, not a failure
 * (migrations are idempotent; a comment edit changes the hash). */
static void check_same(const dm_migration *m, const char *have)
{
    char sha[65];
    dm_sha256_hex(m->sql, strlen(m->sql), sha);
    if (strcmp(have, sha) != 0) {
        dm_logf(DM_LOG_WARN, "applied migration differs from this program's copy",
                "name=%s applied_sha256=%s sha256=%s", m->name, have, sha);
    }
}

int dm_db_init(PGconn *conn, int *applied, char *err, size_t errlen)
{
    int n_applied = 0, ret = -1;
    size_t missing = 0;
    char have[65], buf[1024];
    PGresult *res;

    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        set_err(err, errlen,
                "could not initialize the schema: the connection is inside a "
                "transaction");
        return -1;
    }
    /* Cheap check first, without any lock. */
    for (size_t i = 0; i < dm_migrations_count; i++) {
        int st = applied_sha(conn, dm_migrations[i].name, have, err, errlen);
        if (st < 0) {
            return -1;
        }
        missing += st == 0;
    }
    if (missing > 0) {
        /*
         * Serialize concurrent inits with a session-level advisory lock taken *outside*
         * the migration transactions: each one then starts after the other init's commits
         * and sees their catalog changes.  (Waiting on a lock inside the transaction is not
         * enough: the backend's catalog cache can still miss a schema created meanwhile,
         * and the re-check then applies a migration twice.)  The transaction-level lock
         * in apply_one() stacks on it and guards against other sessions' tools using the
         * same key per transaction.
         */
        res = PQexec(conn, "SELECT pg_catalog.pg_advisory_lock(" DM_INIT_LOCK_KEY ")");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            set_err(err, errlen, "could not take the init lock: %s",
                    result_error(res, conn, buf, sizeof buf));
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    for (size_t i = 0; missing > 0 && i < dm_migrations_count; i++) {
        bool did = false;
        if (apply_one(conn, &dm_migrations[i], &did, err, errlen) != 0) {
            goto out;
        }
        n_applied += did ? 1 : 0;
    }
    if (missing == 0) {
        for (size_t i = 0; i < dm_migrations_count; i++) {
            if (applied_sha(conn, dm_migrations[i].name, have, err, errlen) == 1) {
                check_same(&dm_migrations[i], have);
            }
        }
    }
    if (n_applied == 0) {
        dm_log(DM_LOG_INFO, "schema is up to date (%zu migrations)", dm_migrations_count);
    } else {
        dm_log(DM_LOG_INFO, "schema migrated: %d of %zu migrations applied", n_applied,
               dm_migrations_count);
    }
    if (applied != NULL) {
        *applied = n_applied;
    }
    ret = 0;
out:
    if (missing > 0) {
        PQclear(PQexec(conn, "SELECT pg_catalog.pg_advisory_unlock(" DM_INIT_LOCK_KEY ")"));
    }
    return ret;
}

/* ---- catalog -------------------------------------------------------------------------- */

typedef struct {
    char oid[16];
    char *qualified; /* "schema"."name", quoted by PQescapeIdentifier */
} table_ref;

static int resolve_table(PGconn *conn, const char *table, table_ref *t, char *err, size_t errlen)
{
    const char *params[1] = {table};
    char buf[1024];
    PGresult *res;
    char *ns, *rel;
    const char *kind;

    t->qualified = NULL;
    if (table == NULL || *table == '\0') {
        set_err(err, errlen, "no table name given");
        return -1;
    }
    /* The simple protocol, the name escaped as a literal: measured on PostgreSQL 15, a
     * binary COPY of a wide batch ran 4x slower in a session whose previous statement went
     * through the extended protocol (tests/bench/check.sh). */
    char *lit = PQescapeLiteral(conn, table, strlen(table));
    if (lit == NULL) {
        set_err(err, errlen, "could not quote table name \"%s\": %s", table,
                conn_error(conn, buf, sizeof buf));
        return -1;
    }
    char sql[1024 + 256];
    int sn = snprintf(sql, sizeof sql,
                      "SELECT c.oid, n.nspname, c.relname, c.relkind "
                      "FROM pg_catalog.pg_class c "
                      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE c.oid = pg_catalog.to_regclass(%s)",
                      lit);
    PQfreemem(lit);
    if (sn < 0 || (size_t)sn >= sizeof sql) {
        set_err(err, errlen, "table name \"%.60s...\" is too long", table);
        return -1;
    }
    (void)params;
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "could not look up table \"%s\": %s", table,
                result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) != 1) {
        set_err(err, errlen, "table \"%s\" does not exist", table);
        PQclear(res);
        return -1;
    }
    kind = PQgetvalue(res, 0, 3);
    if (strchr("rvmpf", kind[0]) == NULL) {
        set_err(err, errlen, "\"%s\" is not a table or view (relkind %s)", table, kind);
        PQclear(res);
        return -1;
    }
    snprintf(t->oid, sizeof t->oid, "%s", PQgetvalue(res, 0, 0));
    ns = PQescapeIdentifier(conn, PQgetvalue(res, 0, 1), strlen(PQgetvalue(res, 0, 1)));
    rel = PQescapeIdentifier(conn, PQgetvalue(res, 0, 2), strlen(PQgetvalue(res, 0, 2)));
    PQclear(res);
    if (ns == NULL || rel == NULL) {
        set_err(err, errlen, "could not quote the name of table \"%s\": %s", table,
                conn_error(conn, buf, sizeof buf));
        PQfreemem(ns);
        PQfreemem(rel);
        return -1;
    }
    t->qualified = malloc(strlen(ns) + strlen(rel) + 2);
    if (t->qualified != NULL) {
        sprintf(t->qualified, "%s.%s", ns, rel);
    }
    PQfreemem(ns);
    PQfreemem(rel);
    if (t->qualified == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void dm_db_columns_free(dm_db_column *cols, size_t ncols)
{
    if (cols == NULL) {
        return;
    }
    for (size_t i = 0; i < ncols; i++) {
        free(cols[i].name);
        free(cols[i].type);
        free(cols[i].base_type);
    }
    free(cols);
}

int dm_db_table_columns(PGconn *conn, const char *table, dm_db_column **cols, size_t *ncols,
                        char *err, size_t errlen)
{
    table_ref t;
    const char *params[1];
    char buf[1024];
    PGresult *res;
    dm_db_column *c = NULL;
    size_t n;

    if (resolve_table(conn, table, &t, err, errlen) != 0) {
        return -1;
    }
    free(t.qualified);
    params[0] = t.oid;
    res = PQexecParams(
        conn,
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), bt.typname, "
        "       bt.typtype, bt.typnamespace = 'pg_catalog'::pg_catalog.regnamespace "
        "FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "JOIN pg_catalog.pg_type bt "
        "  ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
        "WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "could not read the columns of table \"%s\": %s", table,
                result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    n = (size_t)PQntuples(res);
    c = calloc(n > 0 ? n : 1, sizeof *c);
    if (c == NULL) {
        PQclear(res);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        c[i].name = xstrdup(PQgetvalue(res, r, 0));
        c[i].type = xstrdup(PQgetvalue(res, r, 1));
        c[i].base_type = xstrdup(PQgetvalue(res, r, 2));
        c[i].kind = dm_reconcile_catalog_kind(PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                                              strcmp(PQgetvalue(res, r, 4), "t") == 0);
        if (c[i].name == NULL || c[i].type == NULL || c[i].base_type == NULL) {
            PQclear(res);
            dm_db_columns_free(c, i + 1);
            set_err(err, errlen, "out of memory");
            return -1;
        }
    }
    PQclear(res);
    *cols = c;
    *ncols = n;
    return 0;
}

/* ---- binary COPY parser ---------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static double be_double(const unsigned char *p)
{
    uint64_t u = (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static const char *col_name(const dm_copybin *p, size_t c, char *buf, size_t buflen)
{
    if (p->names != NULL && p->names[c] != NULL) {
        return p->names[c];
    }
    snprintf(buf, buflen, "#%zu", c + 1);
    return buf;
}

void dm_copybin_init(dm_copybin *p, size_t ncols, const bool *numeric, const char *const *names,
                     dm_builder *b)
{
    memset(p, 0, sizeof *p);
    p->ncols = ncols;
    p->numeric = numeric;
    p->names = names;
    p->b = b;
}

void dm_copybin_set_wire(dm_copybin *p, const char *wire)
{
    p->wire = wire;
}

/* The wire format of column c: 'd', 'f', 'h', 'i', 'l' or 't'. */
static char wire_of(const dm_copybin *p, size_t c)
{
    if (p->wire != NULL)
        return p->wire[c];
    return p->numeric[c] ? 'd' : 't';
}

/* The field length a wire format requires, or -1 for any (text). */
static int32_t wire_len(char w)
{
    switch (w) {
    case 'd':
    case 'l':
        return 8;
    case 'f':
    case 'i':
        return 4;
    case 'h':
        return 2;
    default:
        return -1;
    }
}

static double wire_number(char w, const unsigned char *q)
{
    switch (w) {
    case 'f': {
        uint32_t u = be32(q);
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    case 'h':
        return (double)(int16_t)(uint16_t)((unsigned)q[0] << 8 | q[1]);
    case 'i':
        return (double)(int32_t)be32(q);
    case 'l':
        return (double)(int64_t)((uint64_t)be32(q) << 32 | (uint64_t)be32(q + 4));
    default:
        return be_double(q);
    }
}

void dm_copybin_release(dm_copybin *p)
{
    free(p->pending);
    p->pending = NULL;
    p->pending_len = p->pending_cap = 0;
    free(p->block);
    p->block = NULL;
    p->block_rows = 0;
}

/* rows in dm_copybin.block: 64 x 333 columns is 170 KB, within the L2 cache */
#define COPY_BLOCK_ROWS 64

/* Hand the block's numbers to the builder, column by column. */
static int flush_block(dm_copybin *p, char *err, size_t errlen)
{
    size_t n = p->block_rows;
    p->block_rows = 0;
    for (size_t c = 0; n > 0 && c < p->ncols; c++) {
        if (wire_of(p, c) == 't')
            continue;
        if (dm_builder_numbers(p->b, c, p->block + c, p->ncols, n) != 0) {
            char nb[32];
            set_err(err, errlen, "rows %llu to %llu column \"%s\": could not store the values",
                    (unsigned long long)(p->rows - n + 1), (unsigned long long)p->rows,
                    col_name(p, c, nb, sizeof nb));
            return -1;
        }
    }
    return 0;
}

/*
 * Parse what is complete in buf[0..len): the header, whole tuples, the trailer.  *used
 * gets the bytes consumed; an incomplete header or tuple is left for the next call.
 */
static int parse(dm_copybin *p, const unsigned char *buf, size_t len, size_t *used, char *err,
                 size_t errlen)
{
    size_t pos = 0;
    char nb[32];

    *used = 0;
    if (p->state == 0) {
        uint32_t flags, extlen;
        if (len < 19) {
            if (len >= 1 && memcmp(buf, copy_signature, len < 11 ? len : 11) != 0) {
                set_err(err, errlen, "binary COPY: bad signature");
                return -1;
            }
            return 0;
        }
        if (memcmp(buf, copy_signature, 11) != 0) {
            set_err(err, errlen, "binary COPY: bad signature");
            return -1;
        }
        flags = be32(buf + 11);
        extlen = be32(buf + 15);
        if (flags & (UINT32_C(1) << 16)) {
            set_err(err, errlen, "binary COPY: rows carry OIDs (not supported)");
            return -1;
        }
        if ((flags & UINT32_C(0xfffe0000)) != 0) {
            set_err(err, errlen, "binary COPY: unknown critical header flags 0x%08x",
                    (unsigned)flags);
            return -1;
        }
        if (extlen > INT32_MAX) {
            set_err(err, errlen, "binary COPY: negative header extension length");
            return -1;
        }
        if (len - 19 < extlen) {
            return 0;
        }
        pos = 19 + (size_t)extlen;
        p->state = 1;
        *used = pos;
    }
    while (pos < len) {
        size_t q = pos;
        int16_t nf;

        if (p->state == 2) {
            set_err(err, errlen, "binary COPY: %zu bytes after the trailer", len - pos);
            return -1;
        }
        if (len - q < 2) {
            break;
        }
        nf = (int16_t)be16(buf + q);
        q += 2;
        if (nf == -1) {
            p->state = 2;
            pos = q;
            *used = pos;
            if (flush_block(p, err, errlen) != 0)
                return -1;
            continue;
        }
        if (nf < 0 || (size_t)nf != p->ncols) {
            set_err(err, errlen, "binary COPY: row %llu has %d fields, expected %zu",
                    (unsigned long long)(p->rows + 1), (int)nf, p->ncols);
            return -1;
        }
        /* First pass: is the whole tuple here, and is every field well formed? */
        bool complete = true;
        for (size_t c = 0; c < p->ncols; c++) {
            int32_t flen;
            if (len - q < 4) {
                complete = false;
                break;
            }
            flen = (int32_t)be32(buf + q);
            q += 4;
            if (flen == -1) {
                continue;
            }
            if (flen < 0) {
                set_err(err, errlen, "binary COPY: row %llu column \"%s\": field length %d",
                        (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb),
                        (int)flen);
                return -1;
            }
            int32_t want = wire_len(wire_of(p, c));
            if (want >= 0 && flen != want) {
                set_err(err, errlen,
                        "binary COPY: row %llu column \"%s\": a field of %d bytes where %d were "
                        "expected",
                        (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb), (int)flen,
                        (int)want);
                return -1;
            }
            if (len - q < (size_t)flen) {
                complete = false;
                break;
            }
            q += (size_t)flen;
        }
        if (!complete) {
            break;
        }
        /* Second pass: text fields to the builder, numbers to the block (NULL: NaN, which
         * the builder counts as missing like a NULL). */
        if (p->block == NULL) {
            p->block = malloc(COPY_BLOCK_ROWS * (p->ncols ? p->ncols : 1) * sizeof *p->block);
            if (p->block == NULL) {
                set_err(err, errlen, "binary COPY: out of memory");
                return -1;
            }
        }
        double *row = p->block + p->block_rows * p->ncols;
        q = pos + 2;
        for (size_t c = 0; c < p->ncols; c++) {
            int32_t flen = (int32_t)be32(buf + q);
            int rc = 0;
            q += 4;
            char w = wire_of(p, c);
            if (w != 't') {
                row[c] = flen == -1 ? NAN : wire_number(w, buf + q);
                if (flen > 0)
                    q += (size_t)flen;
                continue;
            }
            if (flen == -1) {
                dm_builder_null(p->b, c);
                continue;
            }
            rc = dm_builder_field(p->b, c, (const char *)(buf + q), (size_t)flen, p->rows + 1);
            if (rc != 0) {
                set_err(err, errlen, "row %llu column \"%s\": could not store the value",
                        (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb));
                return -1;
            }
            q += (size_t)flen;
        }
        dm_builder_end_row(p->b);
        p->rows++;
        pos = q;
        *used = pos;
        if (++p->block_rows == COPY_BLOCK_ROWS && flush_block(p, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int append_pending(dm_copybin *p, const unsigned char *d, size_t len, char *err,
                          size_t errlen)
{
    if (len == 0) {
        return 0;
    }
    if (p->pending_cap - p->pending_len < len) {
        size_t cap = p->pending_cap > 0 ? p->pending_cap : 4096;
        unsigned char *np;
        while (cap - p->pending_len < len) {
            if (cap > SIZE_MAX / 2) {
                set_err(err, errlen, "binary COPY: out of memory");
                return -1;
            }
            cap *= 2;
        }
        np = realloc(p->pending, cap);
        if (np == NULL) {
            set_err(err, errlen, "binary COPY: out of memory");
            return -1;
        }
        p->pending = np;
        p->pending_cap = cap;
    }
    memcpy(p->pending + p->pending_len, d, len);
    p->pending_len += len;
    return 0;
}

int dm_copybin_feed(dm_copybin *p, const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *d = data;
    size_t used = 0;

    if (len == 0) {
        return 0;
    }
    if (p->pending_len == 0) {
        /* the usual case: whole tuples per chunk, parsed in place */
        if (parse(p, d, len, &used, err, errlen) != 0) {
            return -1;
        }
        /* keep an incomplete header or tuple for the next chunk */
        return append_pending(p, d + used, len - used, err, errlen);
    }
    if (append_pending(p, d, len, err, errlen) != 0 ||
        parse(p, p->pending, p->pending_len, &used, err, errlen) != 0) {
        return -1;
    }
    memmove(p->pending, p->pending + used, p->pending_len - used);
    p->pending_len -= used;
    return 0;
}

int dm_copybin_finish(dm_copybin *p, char *err, size_t errlen)
{
    if (p->state == 0) {
        set_err(err, errlen, "binary COPY: stream ended inside the header (%zu bytes)",
                p->pending_len);
        return -1;
    }
    if (p->state != 2) {
        set_err(err, errlen,
                "binary COPY: stream truncated after row %llu (%zu bytes of an "
                "incomplete row, no trailer)",
                (unsigned long long)p->rows, p->pending_len);
        return -1;
    }
    if (p->pending_len != 0) {
        set_err(err, errlen, "binary COPY: %zu bytes after the trailer", p->pending_len);
        return -1;
    }
    return 0;
}

/* ---- COPY driver ----------------------------------------------------------------------- */

/* A growing string for building the query. */
typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->cap - b->len <= n) {
        size_t cap = b->cap > 0 ? b->cap : 256;
        char *ns;
        while (cap - b->len <= n) {
            cap *= 2;
        }
        ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_adds(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/*
 * Append the where template, each $N outside '...' and "..." replaced by the escaped
 * literal of params[N - 1].
 */
static int add_where(PGconn *conn, sbuf *q, const char *where, const char *const *params,
                     size_t nparams, char *err, size_t errlen)
{
    const char *p = where;
    char quote = 0;
    char buf[512];

    while (*p != '\0') {
        if (quote != 0) {
            sb_add(q, p, 1);
            if (*p == quote) {
                quote = 0; /* a doubled quote re-opens at once: same bytes either way */
            }
            p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            sb_add(q, p, 1);
            p++;
            continue;
        }
        if (*p == '$' && p[1] >= '1' && p[1] <= '9' && !(p[2] >= '0' && p[2] <= '9')) {
            size_t k = (size_t)(p[1] - '1');
            const char *v;
            char *lit;
            if (k >= nparams || params == NULL || params[k] == NULL) {
                set_err(err, errlen, "where clause \"%s\": no value for $%c", where, p[1]);
                return -1;
            }
            v = params[k];
            lit = PQescapeLiteral(conn, v, strlen(v));
            if (lit == NULL) {
                set_err(err, errlen, "could not quote value \"%s\": %s", v,
                        conn_error(conn, buf, sizeof buf));
                return -1;
            }
            sb_adds(q, lit);
            PQfreemem(lit);
            p += 2;
            continue;
        }
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            set_err(err, errlen, "where clause \"%s\": only $1..$9 are supported", where);
            return -1;
        }
        sb_add(q, p, 1);
        p++;
    }
    if (quote != 0) {
        set_err(err, errlen, "where clause \"%s\": unterminated quote", where);
        return -1;
    }
    return 0;
}

/* Leave COPY OUT mode after an error: cancel the query, drain, consume the results. */
static void abandon_copy(PGconn *conn)
{
    PGcancel *cancel = PQgetCancel(conn);
    char ebuf[256];
    char *row = NULL;
    PGresult *res;

    if (cancel != NULL) {
        (void)PQcancel(cancel, ebuf, (int)sizeof ebuf);
        PQfreeCancel(cancel);
    }
    while (PQgetCopyData(conn, &row, 0) > 0) {
        PQfreemem(row);
        row = NULL;
    }
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(res);
    }
}

/* A binary COPY allocates each row's send buffers (1 KB a field) in a per-row memory context
 * whose blocks double in size (128 and 256 KB for 333 columns); when they lie at the top of
 * the backend's heap, glibc gives them back at every row's reset (brk) and faults them in
 * again for the next, and the COPY takes several times as long (whether a backend falls into
 * it depends on its heap's layout when it starts).  Freeing one allocation of S bytes, which
 * malloc serves by mmap, raises glibc's dynamic mmap threshold to S and its trim threshold to
 * 2S for the rest of the session.  S is twice a row's send buffers (2 KB a column), so that no
 * block of the per-row context is mmapped and what a row frees stays under the trim
 * threshold: 1 MB up to 512 columns, at most 8 MB (ALLOCSET_DEFAULT_MAXSIZE, the largest
 * block a memory context allocates).  The value is built from copies of 8 KB and only its
 * size is sent back.  A server without glibc just builds and frees the string. */
int dm_db_warm_backend(PGconn *conn, size_t ncols, char *err, size_t errlen)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        return 0; /* a failed statement would abort the transaction the COPY reads in */
    }
    size_t copies = 128; /* x 8 KB */
    while (copies < 1024 && copies * 8192 < ncols * 2048) {
        copies *= 2;
    }
    char sql[160], buf[512];
    snprintf(sql, sizeof sql,
             "SELECT pg_catalog.octet_length(pg_catalog.repeat(pg_catalog.repeat(' ', 8192), "
             "%zu))",
             copies);
    PGresult *res = PQexec(conn, sql);
    int ret = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "%s", result_error(res, conn, buf, sizeof buf));
        ret = -1;
    }
    PQclear(res);
    return ret;
}

int dm_db_copy_read(PGconn *conn, const char *table, const dm_db_column *cols, size_t ncols,
                    const char *where, const char *const *params, size_t nparams, dm_builder *b,
                    uint64_t *rows, char *err, size_t errlen)
{
    table_ref t = {"", NULL};
    sbuf q = {NULL, 0, 0, false};
    bool *numeric = NULL;
    char *wire = NULL;
    const char **names = NULL;
    dm_copybin parser;
    char buf[1024], perr[512];
    PGresult *res = NULL;
    int ret = -1;
    bool in_copy = false;

    dm_copybin_init(&parser, 0, NULL, NULL, b);
    if (ncols == 0) {
        set_err(err, errlen, "reading table \"%s\": no columns to read", table);
        return -1;
    }
    if (resolve_table(conn, table, &t, err, errlen) != 0) {
        return -1;
    }
    numeric = calloc(ncols, sizeof *numeric);
    wire = calloc(ncols + 1, 1);
    names = calloc(ncols, sizeof *names);
    if (numeric == NULL || names == NULL || wire == NULL) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    sb_adds(&q, "COPY (SELECT ");
    for (size_t i = 0; i < ncols; i++) {
        char *id;
        if (cols[i].kind == DM_DB_UNSUPPORTED) {
            set_err(err, errlen, "table \"%s\" column \"%s\": type %s is not supported", table,
                    cols[i].name, cols[i].type != NULL ? cols[i].type : "?");
            goto out;
        }
        id = PQescapeIdentifier(conn, cols[i].name, strlen(cols[i].name));
        if (id == NULL) {
            set_err(err, errlen, "could not quote column \"%s\": %s", cols[i].name,
                    conn_error(conn, buf, sizeof buf));
            goto out;
        }
        numeric[i] = cols[i].kind == DM_DB_NUMERIC;
        names[i] = cols[i].name;
        if (i > 0) {
            sb_adds(&q, ", ");
        }
        sb_adds(&q, id);
        PQfreemem(id);
        /* Read the types whose binary form we decode as they are: a cast forces PostgreSQL
         * to project every row of a wide table, which made a 333-column batch 4x slower
         * to dump (tests/bench/check.sh).  Everything else is cast to float8 / text. */
        const char *bt = cols[i].base_type != NULL ? cols[i].base_type : "";
        static const struct {
            const char *type;
            char wire;
        } NATIVE[] = {{"float8", 'd'}, {"float4", 'f'}, {"int2", 'h'},    {"int4", 'i'},
                      {"int8", 'l'},   {"text", 't'},   {"varchar", 't'}, {"name", 't'}};
        wire[i] = 0;
        for (size_t k = 0; k < sizeof NATIVE / sizeof NATIVE[0]; k++) {
            if (strcmp(bt, NATIVE[k].type) == 0 && (NATIVE[k].wire == 't') == !numeric[i])
                wire[i] = NATIVE[k].wire;
        }
        if (wire[i] != 0) {
            continue;
        }
        if (!numeric[i]) {
            wire[i] = 't';
            sb_adds(&q, "::pg_catalog.text");
        } else if (strcmp(bt, "money") == 0) {
            wire[i] = 'd';
            sb_adds(&q, "::pg_catalog.numeric::pg_catalog.float8");
        } else {
            wire[i] = 'd';
            sb_adds(&q, "::pg_catalog.float8");
        }
    }
    sb_adds(&q, " FROM ");
    sb_adds(&q, t.qualified);
    if (where != NULL && *where != '\0') {
        sb_adds(&q, " WHERE ");
        if (add_where(conn, &q, where, params, nparams, err, errlen) != 0) {
            goto out;
        }
    }
    sb_adds(&q, ") TO STDOUT (FORMAT binary)");
    if (q.oom) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    dm_logf(DM_LOG_DEBUG, "copy", "query=%s", q.s);

    res = PQexec(conn, q.s);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        set_err(err, errlen, "could not read table \"%s\": %s", table,
                result_error(res, conn, buf, sizeof buf));
        goto out;
    }
    PQclear(res);
    res = NULL;
    in_copy = true;
    dm_copybin_init(&parser, ncols, numeric, names, b);
    dm_copybin_set_wire(&parser, wire);
    for (;;) {
        char *data = NULL;
        int n = PQgetCopyData(conn, &data, 0);
        if (n == -1) {
            break;
        }
        if (n < 0) {
            set_err(err, errlen, "reading table \"%s\": %s", table,
                    conn_error(conn, buf, sizeof buf));
            goto out;
        }
        if (dm_copybin_feed(&parser, data, (size_t)n, perr, sizeof perr) != 0) {
            PQfreemem(data);
            set_err(err, errlen, "reading table \"%s\": %s", table, perr);
            goto out;
        }
        PQfreemem(data);
    }
    in_copy = false;
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "reading table \"%s\": %s", table,
                result_error(res, conn, buf, sizeof buf));
        goto out;
    }
    if (dm_copybin_finish(&parser, perr, sizeof perr) != 0) {
        set_err(err, errlen, "reading table \"%s\": %s", table, perr);
        goto out;
    }
    if (rows != NULL) {
        *rows = parser.rows;
    }
    ret = 0;
out:
    PQclear(res);
    if (in_copy) {
        abandon_copy(conn);
    } else {
        while ((res = PQgetResult(conn)) != NULL) {
            PQclear(res);
        }
    }
    dm_copybin_release(&parser);
    free(q.s);
    free(numeric);
    free(wire);
    free(names);
    free(t.qualified);
    return ret;
}

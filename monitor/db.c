/*
 * db.c - the connection to PostgreSQL: connect, the notice processor, dm_db_exec and the
 * helpers that put a libpq message on one line (see db.h, db_internal.h).
 */
#include "monitor/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/conninfo.h"
#include "monitor/dataset.h"
#include "monitor/db_internal.h"
#include "monitor/log.h"

static const char *trimmed(const char *msg, char *buf, size_t buflen);
static void notice_processor(void *arg, const char *message);

PGconn *dm_db_connect(const char *conninfo, char *err, size_t errlen)
{
    return dm_db_connect_bounded(conninfo, 0, err, errlen);
}

PGconn *dm_db_connect_bounded(const char *conninfo, int timeout_s, char *err, size_t errlen)
{
    const char *keys[4] = {NULL, NULL, NULL, NULL};
    const char *vals[4] = {NULL, NULL, NULL, NULL};
    char shown[512], msg[1024], buf[1024], timeout[24];
    int k = 0;
    PGconn *conn;

    keys[k] = "fallback_application_name";
    vals[k++] = "driftmon";
    if (timeout_s > 0) { /* before dbname: a connect_timeout of the conninfo's own wins */
        snprintf(timeout, sizeof timeout, "%d", timeout_s);
        keys[k] = "connect_timeout";
        vals[k++] = timeout;
    }
    if (conninfo != NULL && *conninfo != '\0') {
        keys[k] = "dbname";
        vals[k++] = conninfo;
        if (dm_conninfo_scrub(conninfo, shown, sizeof shown) != 0) {
            /* libpq would fail the same way, with a message that may quote the password */
            dm_db_errf(err, errlen, "database.conninfo: %s", shown);
            return NULL;
        }
    } else {
        snprintf(shown, sizeof shown, "(PG* environment)");
    }
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        dm_db_errf(err, errlen, "could not connect to \"%s\": out of memory", shown);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        dm_conninfo_redact(conninfo, PQerrorMessage(conn), msg, sizeof msg);
        dm_db_errf(err, errlen, "could not connect to \"%s\": %s", shown,
                   trimmed(msg, buf, sizeof buf));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_processor, NULL);
    if (PQsetClientEncoding(conn, "UTF8") != 0) {
        dm_conninfo_redact(conninfo, PQerrorMessage(conn), msg, sizeof msg);
        dm_db_errf(err, errlen, "could not set client_encoding UTF8 on \"%s\": %s", shown,
                   trimmed(msg, buf, sizeof buf));
        PQfinish(conn);
        return NULL;
    }
    dm_logf(DM_LOG_DEBUG, "connected", "conninfo=%s database=%s user=%s", shown, PQdb(conn),
            PQuser(conn));
    return conn;
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
        dm_db_errf(err, errlen, "%s: %s", what, dm_db_result_error(res, conn, buf, sizeof buf));
    } else {
        dm_db_errf(err, errlen, "%s", dm_db_result_error(res, conn, buf, sizeof buf));
    }
    PQclear(res);
    return -1;
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

void dm_db_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool dm_db_is_data_error(const PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return st != NULL && strncmp(st, "22", 2) == 0;
}

const char *dm_db_data_error(const PGresult *res, bool drop_value, char *buf, size_t len)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (len == 0)
        return buf;
    if (m == NULL || *m == '\0')
        m = "unknown error";
    size_t n = strlen(m);
    const char *tail = NULL; /* the `: "` of a trailing quoted value */
    if (drop_value && n >= 4 && m[n - 1] == '"') {
        for (const char *p = strstr(m, ": \""); p; p = strstr(p + 1, ": \""))
            if (p + 3 <= m + n - 1) {
                tail = p;
                break;
            }
    }
    const char *end = tail ? tail : m + n;
    size_t o = 0;
    buf[0] = '\0';
    for (const char *p = m; p < end && o + 1 < len;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *close = q ? memchr(q + 1, '"', (size_t)(end - q - 1)) : NULL;
        /* plain text up to the next quoted part, then the part itself, shown */
        const char *plain_end = close ? q : end;
        char shown[DM_SHOWN_LEN];
        size_t pl = (size_t)(plain_end - p);
        while (pl > 0) {
            size_t chunk = pl > 60 ? 60 : pl; /* dm_show_value shows 60 bytes whole */
            dm_show_value(p, chunk, shown, sizeof shown);
            o += (size_t)snprintf(buf + o, len - o, "%s", shown);
            if (o >= len) {
                o = len - 1;
                break;
            }
            p += chunk;
            pl -= chunk;
        }
        if (!close)
            break;
        dm_show_value(q + 1, (size_t)(close - q - 1), shown, sizeof shown);
        o += (size_t)snprintf(buf + o, len - o, "\"%s\"", shown);
        if (o >= len) {
            o = len - 1;
            break;
        }
        p = close + 1;
    }
    return buf;
}

const char *dm_db_conn_error(PGconn *conn, char *buf, size_t buflen)
{
    return trimmed(PQerrorMessage(conn), buf, buflen);
}

const char *dm_db_result_error(const PGresult *res, PGconn *conn, char *buf, size_t buflen)
{
    const char *m = res != NULL ? PQresultErrorMessage(res) : NULL;
    if (m == NULL || *m == '\0') {
        return dm_db_conn_error(conn, buf, buflen);
    }
    return trimmed(m, buf, buflen);
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

int dm_db_time_option(PGconn *conn, const char *opt, const char *v, char *out, size_t outlen,
                      char *err, size_t errlen)
{
    const char *p[1] = {v};
    PGresult *r = PQexecParams(conn, "SELECT $1::timestamptz::text", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char why[512], shown[DM_SHOWN_LEN];
        bool data = dm_db_is_data_error(r);
        dm_db_data_error(r, true, why, sizeof why);
        PQclear(r);
        dm_show_value(v, strlen(v), shown, sizeof shown);
        snprintf(err, errlen, "invalid %s \"%s\": %s", opt, shown, why);
        return data ? 2 : 1;
    }
    if (out)
        snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int dm_db_export_snapshot(PGconn *conn, char *snap, size_t len)
{
    PGresult *r = PQexec(conn, "SELECT pg_catalog.pg_export_snapshot()");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              (size_t)PQgetlength(r, 0, 0) < len;
    if (ok)
        snprintf(snap, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return ok ? 0 : -1;
}

int dm_db_begin_in_snapshot(PGconn *conn, const char *snapshot, char *err, size_t errlen)
{
    if (dm_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL,
                   "could not begin the read", err, errlen) != 0)
        return -1;
    /* SET TRANSACTION SNAPSHOT takes no parameter: the id, quoted, is a literal */
    char *lit = PQescapeLiteral(conn, snapshot, strlen(snapshot));
    size_t ql = lit ? strlen(lit) + 32 : 0;
    char *q = lit ? malloc(ql) : NULL;
    int rc = -1;
    if (q) {
        snprintf(q, ql, "SET TRANSACTION SNAPSHOT %s", lit);
        rc = dm_db_exec(conn, q, 0, NULL, "could not share the read's snapshot", err, errlen);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    free(q);
    PQfreemem(lit);
    return rc;
}

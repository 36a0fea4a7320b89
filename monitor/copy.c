/*
 * copy.c - reading rows with binary COPY (see dm_db_copy_read in db.h): the query built,
 * run, its stream fed to the parser of copybin.c; and the backend's warm-up before it.
 */
#include "monitor/db.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/copybin.h"
#include "monitor/db_internal.h"
#include "monitor/log.h"

/* A growing string for building the query. */
typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n);
static void sb_adds(sbuf *b, const char *s);
static int add_where(PGconn *conn, sbuf *q, const char *where, const char *const *params,
                     size_t nparams, char *err, size_t errlen);
static void abandon_copy(PGconn *conn);
static int read_failed(PGresult *res, PGconn *conn, const char *table, char *err, size_t errlen);

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
 * size is sent back.  A server without glibc just builds and frees the string.
 * Rows of large values (verify's documents: each detoasted, converted and sent, several
 * allocations of up to a document's size per row) thrash the same way: S is then at most
 * 8 MB too, since glibc stops adjusting its thresholds above 32 MB (on 64-bit). */
int dm_db_warm_backend(PGconn *conn, size_t ncols, char *err, size_t errlen)
{
    return dm_db_warm_backend_for(conn, ncols * 2048, err, errlen);
}

int dm_db_warm_backend_for(PGconn *conn, size_t bytes, char *err, size_t errlen)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        return 0; /* a failed statement would abort the transaction the COPY reads in */
    }
    size_t copies = 128; /* x 8 KB */
    while (copies < 1024 && copies * 8192 < bytes) {
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
        dm_db_errf(err, errlen, "%s", dm_db_result_error(res, conn, buf, sizeof buf));
        ret = -1;
    }
    PQclear(res);
    return ret;
}

int dm_db_copy_read(PGconn *conn, const dm_db_table *t, const dm_db_column *cols, size_t ncols,
                    const char *where, const char *const *params, size_t nparams, dm_builder *b,
                    uint64_t *rows, char *err, size_t errlen)
{
    const char *table = t->name;
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
        dm_db_errf(err, errlen, "reading table \"%s\": no columns to read", table);
        return -1;
    }
    numeric = calloc(ncols, sizeof *numeric);
    wire = calloc(ncols + 1, 1);
    names = calloc(ncols, sizeof *names);
    if (numeric == NULL || names == NULL || wire == NULL) {
        dm_db_errf(err, errlen, "out of memory");
        goto out;
    }
    sb_adds(&q, "COPY (SELECT ");
    for (size_t i = 0; i < ncols; i++) {
        char *id;
        if (cols[i].kind == DM_DB_UNSUPPORTED) {
            dm_db_errf(err, errlen, "table \"%s\" column \"%s\": type %s is not supported", table,
                       cols[i].name, cols[i].type != NULL ? cols[i].type : "?");
            goto out;
        }
        id = PQescapeIdentifier(conn, cols[i].name, strlen(cols[i].name));
        if (id == NULL) {
            dm_db_errf(err, errlen, "could not quote column \"%s\": %s", cols[i].name,
                       dm_db_conn_error(conn, buf, sizeof buf));
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
         * to project every row of a wide table, which made a wide batch much slower
         * to dump (tests/bench/check.sh); and numeric's cast to float8 fails the whole read
         * on one value beyond the double range, which copybin.c makes +-inf.  Everything
         * else is cast to float8 / text. */
        const char *bt = cols[i].base_type != NULL ? cols[i].base_type : "";
        static const struct {
            const char *type;
            char wire;
        } NATIVE[] = {{"float8", 'd'}, {"float4", 'f'},  {"int2", 'h'},
                      {"int4", 'i'},   {"int8", 'l'},    {"numeric", 'n'},
                      {"text", 't'},   {"varchar", 't'}, {"name", 't'}};
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
    sb_adds(&q, t->qualified);
    if (where != NULL && *where != '\0') {
        sb_adds(&q, " WHERE ");
        if (add_where(conn, &q, where, params, nparams, err, errlen) != 0) {
            goto out;
        }
    }
    sb_adds(&q, ") TO STDOUT (FORMAT binary)");
    if (q.oom) {
        dm_db_errf(err, errlen, "out of memory");
        goto out;
    }
    dm_logf(DM_LOG_DEBUG, "copy", "query=%s", q.s);

    res = PQexec(conn, q.s);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        ret = read_failed(res, conn, table, err, errlen);
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
            dm_db_errf(err, errlen, "reading table \"%s\": %s", table,
                       dm_db_conn_error(conn, buf, sizeof buf));
            goto out;
        }
        int frc = dm_copybin_feed(&parser, data, (size_t)n, perr, sizeof perr);
        if (frc != 0) {
            PQfreemem(data);
            dm_db_errf(err, errlen, "%s table \"%s\": %s",
                       frc == DM_COPYBIN_BAD_VALUE ? "could not read" : "reading", table, perr);
            if (frc == DM_COPYBIN_BAD_VALUE)
                ret = DM_DB_BAD_VALUE;
            goto out;
        }
        PQfreemem(data);
    }
    in_copy = false;
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ret = read_failed(res, conn, table, err, errlen);
        goto out;
    }
    if (dm_copybin_finish(&parser, perr, sizeof perr) != 0) {
        dm_db_errf(err, errlen, "reading table \"%s\": %s", table, perr);
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
    return ret;
}

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
                dm_db_errf(err, errlen, "where clause \"%s\": no value for $%c", where, p[1]);
                return -1;
            }
            v = params[k];
            lit = PQescapeLiteral(conn, v, strlen(v));
            if (lit == NULL) {
                dm_db_errf(err, errlen, "could not quote value \"%s\": %s", v,
                           dm_db_conn_error(conn, buf, sizeof buf));
                return -1;
            }
            sb_adds(q, lit);
            PQfreemem(lit);
            p += 2;
            continue;
        }
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            dm_db_errf(err, errlen, "where clause \"%s\": only $1..$9 are supported", where);
            return -1;
        }
        sb_add(q, p, 1);
        p++;
    }
    if (quote != 0) {
        dm_db_errf(err, errlen, "where clause \"%s\": unterminated quote", where);
        return -1;
    }
    return 0;
}

/* err for a COPY the server refused or broke off: DM_DB_BAD_VALUE for a data error (a value
 * of the rows it could not produce: its message names it, cut), else -1. */
static int read_failed(PGresult *res, PGconn *conn, const char *table, char *err, size_t errlen)
{
    char buf[1024];
    if (dm_db_is_data_error(res)) {
        dm_db_errf(err, errlen, "could not read table \"%s\": %s", table,
                   dm_db_data_error(res, false, buf, sizeof buf));
        return DM_DB_BAD_VALUE;
    }
    dm_db_errf(err, errlen, "could not read table \"%s\": %s", table,
               dm_db_result_error(res, conn, buf, sizeof buf));
    return -1;
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

/* ---- for other COPY readers (perfcohort.c) ----------------------------------------------- */

char *dm_db_where_literal(PGconn *conn, const char *where, const char *const *params,
                          size_t nparams, char *err, size_t errlen)
{
    sbuf q = {NULL, 0, 0, false};
    sb_adds(&q, "");
    if (add_where(conn, &q, where, params, nparams, err, errlen) != 0) {
        free(q.s);
        return NULL;
    }
    if (q.oom) {
        free(q.s);
        dm_db_errf(err, errlen, "out of memory");
        return NULL;
    }
    return q.s;
}

void dm_db_copy_abandon(PGconn *conn)
{
    abandon_copy(conn);
}

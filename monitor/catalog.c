/*
 * catalog.c - what the catalog says about a table, in one query: its name resolved and
 * quoted, its columns and their types, domains resolved to their base type at any depth (see
 * dm_db_table_lookup in db.h).
 */
#include "monitor/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db_internal.h"
#include "monitor/reconcile.h"

static char *qualified_name(PGconn *conn, const char *ns, const char *rel);
static char *xstrdup(const char *s);

int dm_db_table_lookup(PGconn *conn, const char *table, dm_db_table *t, char *err, size_t errlen)
{
    char buf[1024];
    dm_db_table got = {NULL, NULL, NULL, 0, false, 0, false, 0};
    PGresult *res;

    if (table == NULL || *table == '\0') {
        dm_db_errf(err, errlen, "no table name given");
        return -1;
    }
    /* The name escaped as a literal and sent with the simple protocol. */
    char *lit = PQescapeLiteral(conn, table, strlen(table));
    if (lit == NULL) {
        dm_db_errf(err, errlen, "could not quote table name \"%s\": %s", table,
                   dm_db_conn_error(conn, buf, sizeof buf));
        return -1;
    }
    char sql[2048 + 1024];
    int sn = strlen(lit) > 1024
                 ? -1
                 : snprintf(sql, sizeof sql,
                            /* a domain's base type, at any depth: each column's type
                             * followed down pg_type.typbasetype to the first type that is
                             * not a domain (domains cannot form cycles) */
                            "WITH RECURSIVE rel AS (SELECT pg_catalog.to_regclass(%s) AS oid), "
                            "dom(typ, base) AS ("
                            "  SELECT a.atttypid, a.atttypid FROM pg_catalog.pg_attribute a, rel "
                            "  WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped "
                            "  UNION "
                            "  SELECT d.typ, t.typbasetype FROM dom d "
                            "  JOIN pg_catalog.pg_type t ON t.oid = d.base AND t.typtype = 'd') "
                            "SELECT c.relkind, n.nspname, c.relname, a.attname, "
                            "pg_catalog.format_type(a.atttypid, a.atttypmod), bt.typname, "
                            "bt.typtype, bt.typnamespace = 'pg_catalog'::pg_catalog.regnamespace, "
                            "ty.typtype = 'd', pg_catalog.format_type(bt.oid, NULL), "
                            /* the planner's estimate of a table's rows: its tuple density
                             * times its current size (no row read) */
                            "CASE WHEN c.relkind IN ('r', 'm') AND c.relpages > 0 "
                            "AND c.reltuples >= 0 THEN c.reltuples / c.relpages * "
                            "(pg_catalog.pg_relation_size(c.oid) / "
                            "pg_catalog.current_setting('block_size')::float8) END, "
                            "CASE WHEN c.relkind IN ('r', 'm') "
                            "THEN pg_catalog.pg_relation_size(c.oid) END "
                            "FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid "
                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                            "LEFT JOIN pg_catalog.pg_attribute a "
                            "  ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                            "LEFT JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
                            "LEFT JOIN (SELECT d.typ, t.oid, t.typname, t.typtype, t.typnamespace "
                            "  FROM dom d JOIN pg_catalog.pg_type t "
                            "  ON t.oid = d.base AND t.typtype <> 'd') bt ON bt.typ = a.atttypid "
                            "ORDER BY a.attnum",
                            lit);
    PQfreemem(lit);
    if (sn < 0 || (size_t)sn >= sizeof sql) {
        dm_db_errf(err, errlen, "table name \"%.60s...\" is too long", table);
        return -1;
    }
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_errf(err, errlen, "could not look up table \"%s\": %s", table,
                   dm_db_result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) == 0) {
        dm_db_errf(err, errlen, "table \"%s\" does not exist", table);
        PQclear(res);
        return -1;
    }
    const char *kind = PQgetvalue(res, 0, 0);
    if (strchr("rvmpf", kind[0]) == NULL) {
        dm_db_errf(err, errlen, "\"%s\" is not a table or view (relkind %s)", table, kind);
        PQclear(res);
        return -1;
    }
    got.qualified = qualified_name(conn, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    if (got.qualified == NULL) {
        dm_db_errf(err, errlen, "could not quote the name of table \"%s\": %s", table,
                   dm_db_conn_error(conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    got.has_estimate = !PQgetisnull(res, 0, 10);
    got.est_rows = got.has_estimate ? strtod(PQgetvalue(res, 0, 10), NULL) : 0;
    got.has_heap_bytes = !PQgetisnull(res, 0, 11);
    got.heap_bytes = got.has_heap_bytes ? strtod(PQgetvalue(res, 0, 11), NULL) : 0;
    /* a table without columns: one row, its column fields NULL */
    size_t n = PQgetisnull(res, 0, 3) ? 0 : (size_t)PQntuples(res);
    got.name = xstrdup(table);
    got.cols = calloc(n > 0 ? n : 1, sizeof *got.cols);
    if (got.name == NULL || got.cols == NULL) {
        goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        dm_db_column *c = &got.cols[i];
        got.ncols = i + 1;
        c->name = xstrdup(PQgetvalue(res, r, 3));
        c->type = xstrdup(PQgetvalue(res, r, 4));
        c->base_type = xstrdup(PQgetvalue(res, r, 5));
        c->kind = dm_reconcile_catalog_kind(PQgetvalue(res, r, 5), PQgetvalue(res, r, 6),
                                            strcmp(PQgetvalue(res, r, 7), "t") == 0);
        c->is_domain = strcmp(PQgetvalue(res, r, 8), "t") == 0;
        c->base_shown = xstrdup(PQgetvalue(res, r, 9));
        if (c->name == NULL || c->type == NULL || c->base_type == NULL || c->base_shown == NULL) {
            goto oom;
        }
    }
    PQclear(res);
    *t = got;
    return 0;
oom:
    PQclear(res);
    dm_db_table_release(&got);
    dm_db_errf(err, errlen, "out of memory");
    return -1;
}

void dm_db_table_release(dm_db_table *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; t->cols != NULL && i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].type);
        free(t->cols[i].base_type);
        free(t->cols[i].base_shown);
    }
    free(t->cols);
    free(t->name);
    free(t->qualified);
    memset(t, 0, sizeof *t);
}

/* "schema"."name", each part quoted by PQescapeIdentifier (malloc'ed), or NULL. */
static char *qualified_name(PGconn *conn, const char *ns, const char *rel)
{
    char *qns = PQescapeIdentifier(conn, ns, strlen(ns));
    char *qrel = PQescapeIdentifier(conn, rel, strlen(rel));
    char *q = NULL;

    if (qns != NULL && qrel != NULL) {
        size_t len = strlen(qns) + strlen(qrel) + 2;
        q = malloc(len);
        if (q != NULL) {
            snprintf(q, len, "%s.%s", qns, qrel);
        }
    }
    PQfreemem(qns);
    PQfreemem(qrel);
    return q;
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

/*
 * db_internal.h - what the files of the PostgreSQL layer (db.c, migrate.c, catalog.c,
 * copy.c) share and nothing else uses: the error line they write, libpq's messages on one
 * line, and a table's name resolved.
 */
#ifndef DRIFTMON_DB_INTERNAL_H
#define DRIFTMON_DB_INTERNAL_H

#include <stddef.h>

#include <libpq-fe.h>

/* printf into err (nothing when err is NULL or errlen 0). */
void dm_db_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* PQerrorMessage(conn) on one line, in buf (or a constant "unknown error"). */
const char *dm_db_conn_error(PGconn *conn, char *buf, size_t buflen);
/* res's error message on one line, or conn's when res has none. */
const char *dm_db_result_error(const PGresult *res, PGconn *conn, char *buf, size_t buflen);

typedef struct {
    char oid[16];
    char *qualified; /* "schema"."name", quoted by PQescapeIdentifier */
} dm_db_table_ref;

/* Resolve table (parsed as PostgreSQL parses a name) to its oid and quoted qualified name:
 * a table, view, materialized view, partitioned or foreign table.  -1 with err otherwise;
 * t->qualified is malloc'ed. */
int dm_db_resolve_table(PGconn *conn, const char *table, dm_db_table_ref *t, char *err,
                        size_t errlen);

#endif

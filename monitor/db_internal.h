/*
 * db_internal.h - what the files of the PostgreSQL layer (db.c, migrate.c, catalog.c,
 * copy.c) share and nothing else uses: the error line they write and libpq's messages on
 * one line.
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

#endif

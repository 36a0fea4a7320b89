/*
 * db.h - the PostgreSQL layer (libpq).  Only monitor/ talks to the database.
 *
 * Errors: functions return 0 / -1 (or NULL) with one line in the caller's err buffer
 * naming the table, column or migration at fault; server messages have their trailing
 * newline trimmed; a conninfo appears only through monitor/conninfo.h (no secrets).
 * Server notices go to dm_log (monitor/log.h).  Every identifier is quoted with
 * PQescapeIdentifier, every value passed as a parameter or, where PostgreSQL cannot take
 * one (COPY), through PQescapeLiteral.
 */
#ifndef DRIFTMON_DB_H
#define DRIFTMON_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "monitor/config.h"
#include "monitor/dataset.h"

/* ---- connection -------------------------------------------------------------------- */

/*
 * Connect with a libpq conninfo string (key=value or postgresql:// URI); NULL or "" uses
 * the PG* environment.  Sets client_encoding UTF8 and routes notices to dm_log.  NULL on
 * failure, with err naming the target and libpq's reason, both without secrets
 * (monitor/conninfo.h); a conninfo that libpq cannot parse is not tried.
 */
PGconn *dm_db_connect(const char *conninfo, char *err, size_t errlen);
/* dm_db_connect with libpq's connect_timeout set to timeout_s (> 0) unless conninfo sets
 * its own: a host that does not answer is given up after that long. */
PGconn *dm_db_connect_bounded(const char *conninfo, int timeout_s, char *err, size_t errlen);

/* The snapshot of conn's current transaction (begun REPEATABLE READ) for other sessions to
 * read in: its id into snap.  0, or -1 (not exported: the id does not fit, or the server
 * refused; the transaction may then be aborted). */
int dm_db_export_snapshot(PGconn *conn, char *snap, size_t len);
/* Begin a read-only REPEATABLE READ transaction on conn in an exported snapshot.  0, or -1
 * with err. */
int dm_db_begin_in_snapshot(PGconn *conn, const char *snapshot, char *err, size_t errlen);

/*
 * Run sql for its effect (any rows are discarded): with nparams > 0 through PQexecParams,
 * $1..$nparams bound to params as text; else through PQexec, which also takes several
 * statements.  0 on success; -1 with err = "WHAT: <the server's message on one line>", or
 * the message alone when what is NULL (err may be NULL: nothing is written).
 */
int dm_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
               const char *what, char *err, size_t errlen);

/* A libpq message (PQerrorMessage, PQresultErrorMessage) on one line, without its trailing
 * newline, into out. */
void dm_db_trim(const char *msg, char *out, size_t len);
/* err = "WHAT: <the message of res, or of conn when res is NULL>"; clears res; returns -1. */
int dm_db_fail(PGresult *res, PGconn *conn, const char *what, char *err, size_t errlen);

/* Is res a data error of the server (SQLSTATE class 22: a value that cannot be converted, a
 * division by zero, ...)?  The same rows or values fail the same way however often they
 * are read: bad input, not the environment. */
bool dm_db_is_data_error(const PGresult *res);
/* The primary message of res (a data error) on one line, its quoted values cut to 64
 * characters with control characters escaped (dm_show_value); with drop_value, a trailing
 * `: "VALUE"` (the value PostgreSQL repeats) is left out, for a caller that names the value
 * itself.  Returns buf. */
const char *dm_db_data_error(const PGresult *res, bool drop_value, char *buf, size_t len);

/* A timestamp given as command-line option opt (e.g. "--since"), checked by the server as
 * timestamptz; its text as the server spells it into out (may be NULL).  0; 2 when the value
 * is not a timestamp, 1 on another error, both with err naming the option and the value. */
int dm_db_time_option(PGconn *conn, const char *opt, const char *v, char *out, size_t outlen,
                      char *err, size_t errlen);

/* ---- schema -------------------------------------------------------------------------- */

/*
 * Create the four group roles of cfg's database.roles that do not exist (NOLOGIN; warns about
 * an existing one that can log in), then apply every migration of monitor/migrations.h that
 * the database's driftmon.schema_version does not list, each in its own transaction that also
 * records it (name, sha256, driftmon version), under pg_advisory_xact_lock so concurrent inits
 * are safe.  A migration runs as the owner role (SET LOCAL ROLE) once the owner owns schema
 * driftmon; before that (a database from before 011_roles.sql) as the connected
 * administrator, and 011 hands everything to the owner.  The role names reach the migrations
 * as the settings driftmon.role_owner, role_daemon, role_engine, role_auditor.  Then checks
 * that the schema is the owner's and that each role has its grants (a schema set up under
 * other names is an error naming the key).  Logs each migration applied, or "schema is up to
 * date (N migrations)"; warns when an applied migration's sha256 differs from the
 * compiled-in one.  *applied (may be NULL) gets how many were applied now.
 */
int dm_db_init(PGconn *conn, const dm_config *cfg, int *applied, char *err, size_t errlen);

/* 0 when every migration compiled in is applied; -1 with err naming the first one missing
 * ("run `driftmon init`") or the error.  What the daemon asks before it starts work. */
int dm_db_schema_current(PGconn *conn, char *err, size_t errlen);

/* ---- catalog --------------------------------------------------------------------------- */

/* What the type rules (monitor/reconcile.h, dm_reconcile_catalog_kind) make of a column's
 * type.  NUMERIC columns are read as float8; the others as text. */
typedef enum {
    DM_DB_NUMERIC = 0,     /* int2/4/8, float4/8, numeric, money: numbers */
    DM_DB_CATEGORICAL = 1, /* bool, enums: text, whatever the values */
    DM_DB_UNSUPPORTED = 2, /* date, timestamp, json, arrays, ...: not compared */
    DM_DB_TEXT = 3         /* text, varchar, bpchar, "char", name, citext: as CSV fields */
} dm_db_kind;

typedef struct {
    char *name;      /* the column's name as stored (case kept) */
    char *type;      /* format_type(), e.g. "character varying(20)", for messages */
    char *base_type; /* pg_type.typname of the type or of its domain's base type, at any
                      * depth (a domain over a domain over int4: "int4") */
    dm_db_kind kind;
    char *base_shown; /* format_type() of that base type, for messages: "jsonb", "integer[]" */
    bool is_domain;   /* the column's type is a domain (type names it, base_shown its base) */
} dm_db_column;

/* A table as the catalog describes it: looked up once per check (or per `reference load
 * --table`) and handed to everything that reads it. */
typedef struct {
    char *name;         /* as the caller gave it, for messages */
    char *qualified;    /* "schema"."name", quoted by PQescapeIdentifier, for SQL */
    dm_db_column *cols; /* in attnum order */
    size_t ncols;
    /* a table's (or materialized view's) rows as the planner estimates them (reltuples per
     * page times its pages now), for deciding whether a check may need column groups
     * (limits.memory); has_estimate false for a view, a partitioned or foreign table, or a
     * table never vacuumed or analysed */
    bool has_estimate;
    double est_rows;
    /* the size of a table's (or materialized view's) main fork in bytes; has_heap_bytes
     * false for a view, a partitioned or foreign table */
    bool has_heap_bytes;
    double heap_bytes;
} dm_db_table;

/*
 * Look table up in one catalog query: a table, view, materialized view, partitioned or
 * foreign table, and its columns.  table is parsed as PostgreSQL parses a name:
 * "applications", "public.applications", "\"Mixed Case\"".  -1 when it does not exist or is
 * of another kind (err names it); *t untouched on error.  Free with dm_db_table_release().
 */
int dm_db_table_lookup(PGconn *conn, const char *table, dm_db_table *t, char *err, size_t errlen);
void dm_db_table_release(dm_db_table *t);

/* ---- reading rows ------------------------------------------------------------------------ */

/* dm_db_copy_read's return when a value of the rows cannot be read (a data error of the
 * server, a malformed numeric): bad input, err names the table, row and column or the
 * server's reason, and the value (cut to 64 characters). */
#define DM_DB_BAD_VALUE (-2)

/*
 * Read cols[0..ncols) (chosen among table->cols) of table into builder b (builder column i =
 * cols[i]) with
 *   COPY (SELECT "c" | "c"::float8 | "c"::text, ... FROM table->qualified [WHERE where])
 *   TO STDOUT (FORMAT binary)
 * (numbers of a type whose binary form copybin.h decodes are read as they are: numeric
 * too, whose values beyond the double range become +-inf instead of failing the cast).
 * DM_DB_NUMERIC columns go through dm_builder_number / dm_builder_null, the others
 * through dm_builder_field (the builder's missing-token rules apply), then
 * dm_builder_end_row per row.  where (NULL or "" for none) is a trusted SQL template whose
 * $1..$9 placeholders outside quotes are replaced by PQescapeLiteral(params[i - 1]);
 * identifiers in it must already be quoted.  *rows (may be NULL) gets the number of rows.
 * On error the COPY is cancelled and drained, so the connection stays usable; the builder
 * may then hold a partial result and should be freed.  0, -1 (err) or DM_DB_BAD_VALUE.
 */
int dm_db_copy_read(PGconn *conn, const dm_db_table *table, const dm_db_column *cols, size_t ncols,
                    const char *where, const char *const *params, size_t nparams, dm_builder *b,
                    uint64_t *rows, char *err, size_t errlen);

/* where as dm_db_copy_read puts it into its COPY (which takes no parameters): the template
 * with each $N outside quotes replaced by PQescapeLiteral(params[N - 1]).  A new string (the
 * caller frees it), or NULL with err. */
char *dm_db_where_literal(PGconn *conn, const char *where, const char *const *params,
                          size_t nparams, char *err, size_t errlen);

/* Cancel and drain a COPY TO STDOUT left before its end, so that conn stays usable. */
void dm_db_copy_abandon(PGconn *conn);

/* Raise the backend's malloc thresholds for the rest of the session, so that a wide binary
 * COPY does not hand its per-row memory back to the kernel at every row (database.warm_backend;
 * see copy.c).  Does nothing inside a transaction.  0, or -1 with err: the connection stays
 * usable and the COPY works without it. */
int dm_db_warm_backend(PGconn *conn, size_t ncols, char *err, size_t errlen);
/* The same for rows whose allocations reach `bytes` each (rounded up to a power of two,
 * between 1 and 8 MB; SIZE_MAX: 8 MB); dm_db_warm_backend is this with 2 KB a column. */
int dm_db_warm_backend_for(PGconn *conn, size_t bytes, char *err, size_t errlen);

#endif

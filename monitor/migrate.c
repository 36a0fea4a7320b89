/*
 * migrate.c - `driftmon init`: the migrations compiled in (monitor/migrations.h) applied
 * under an advisory lock, each in its own transaction that records it in
 * driftmon.schema_version (see dm_db_init in db.h).
 */
#include "monitor/db.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "monitor/db_internal.h"
#include "monitor/log.h"
#include "monitor/migrations.h"
#include "monitor/sha256.h"

#ifndef DRIFTMON_VERSION
#define DRIFTMON_VERSION "unknown"
#endif

/* pg_advisory_xact_lock key of `driftmon init`: the bytes of "driftmon". */
#define DM_INIT_LOCK_KEY "7237954497483484014"

static void rollback_quietly(PGconn *conn);
static int version_table_exists(PGconn *conn, char *err, size_t errlen);
static int applied_sha(PGconn *conn, const char *name, char sha[65], char *err, size_t errlen);
static int apply_one(PGconn *conn, const dm_migration *m, bool *did, char *err, size_t errlen);
static void check_same(const dm_migration *m, const char *have);

int dm_db_init(PGconn *conn, int *applied, char *err, size_t errlen)
{
    int n_applied = 0, ret = -1;
    size_t missing = 0;
    char have[65], buf[1024];
    PGresult *res;

    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        dm_db_errf(err, errlen,
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
            dm_db_errf(err, errlen, "could not take the init lock: %s",
                       dm_db_result_error(res, conn, buf, sizeof buf));
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

int dm_db_schema_current(PGconn *conn, char *err, size_t errlen)
{
    char have[65];
    for (size_t i = 0; i < dm_migrations_count; i++) {
        int st = applied_sha(conn, dm_migrations[i].name, have, err, errlen);
        if (st < 0)
            return -1;
        if (st == 0) {
            dm_db_errf(err, errlen,
                       "the driftmon schema predates this driftmon: migration \"%s\" is not "
                       "applied (run `driftmon init`)",
                       dm_migrations[i].name);
            return -1;
        }
    }
    return 0;
}

static void rollback_quietly(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

/* Does driftmon.schema_version exist?  1 yes, 0 no, -1 error. */
static int version_table_exists(PGconn *conn, char *err, size_t errlen)
{
    char buf[1024];
    PGresult *res =
        PQexec(conn, "SELECT pg_catalog.to_regclass('driftmon.schema_version') IS NOT NULL");
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        dm_db_errf(err, errlen, "could not read the schema version: %s",
                   dm_db_result_error(res, conn, buf, sizeof buf));
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
        dm_db_errf(err, errlen, "could not read the schema version of \"%s\": %s", name,
                   dm_db_result_error(res, conn, buf, sizeof buf));
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

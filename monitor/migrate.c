/*
 * migrate.c - `driftmon init`: the group roles (database.roles) created or checked, the
 * migrations compiled in (monitor/migrations.h) applied under an advisory lock, each in its
 * own transaction that records it in driftmon.schema_version, as the owner role once it owns
 * the schema (see dm_db_init in db.h).
 */
#include "monitor/db.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* PostgreSQL's NAMEDATALEN (64) with room to spare: a role name. */
#define NAMEDATALEN_MAX 128

static void rollback_quietly(PGconn *conn);
static int ensure_roles(PGconn *conn, const dm_config *cfg, char *err, size_t errlen);
static int check_roles(PGconn *conn, const dm_config *cfg, char *err, size_t errlen);
static int version_table_exists(PGconn *conn, char *err, size_t errlen);
static int applied_sha(PGconn *conn, const char *name, char sha[65], char *err, size_t errlen);
static int apply_one(PGconn *conn, const dm_config *cfg, const dm_migration *m, bool *did,
                     char *err, size_t errlen);
static void check_same(const dm_migration *m, const char *have);
static int as_owner(PGconn *conn, const dm_config *cfg, char *err, size_t errlen);
static int join_owner(PGconn *conn, const dm_config *cfg, char *err, size_t errlen);
static int check_handover(PGconn *conn, const dm_config *cfg, char *err, size_t errlen);

int dm_db_init(PGconn *conn, const dm_config *cfg, int *applied, char *err, size_t errlen)
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
    if (ensure_roles(conn, cfg, err, errlen) != 0 || check_handover(conn, cfg, err, errlen) != 0)
        return -1;
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
        if (apply_one(conn, cfg, &dm_migrations[i], &did, err, errlen) != 0) {
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
    if (check_roles(conn, cfg, err, errlen) != 0)
        goto out;
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

static int apply_one(PGconn *conn, const dm_config *cfg, const dm_migration *m, bool *did,
                     char *err, size_t errlen)
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
    if (as_owner(conn, cfg, err, errlen) != 0)
        goto fail;
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

/* ---- roles --------------------------------------------------------------------------- */

/* The role's name quoted (PQescapeIdentifier; PQfreemem it), or NULL with err. */
/* Runs "<pre><name quoted as an identifier><post>"; on failure err says what (and why). */
static int exec_on_role(PGconn *conn, const char *pre, const char *name, const char *post,
                        const char *what, char *err, size_t errlen)
{
    char *q = PQescapeIdentifier(conn, name, strlen(name));
    if (!q) {
        dm_db_errf(err, errlen, "could not quote role name \"%s\": %s", name, PQerrorMessage(conn));
        return -1;
    }
    size_t len = strlen(pre) + strlen(q) + strlen(post) + 1;
    char *sql = malloc(len);
    int rc = -1;
    if (sql) {
        snprintf(sql, len, "%s%s%s", pre, q, post);
        rc = dm_db_exec(conn, sql, 0, NULL, what, err, errlen);
    } else {
        dm_db_errf(err, errlen, "out of memory");
    }
    free(sql);
    PQfreemem(q);
    return rc;
}

static int ensure_roles(PGconn *conn, const dm_config *cfg, char *err, size_t errlen)
{
    char buf[1024];
    for (int r = 0; r < DM_ROLE_COUNT; r++) {
        const char *key, *name = dm_config_role(cfg, (dm_role)r, &key);
        const char *p[1] = {name};
        PGresult *res = PQexecParams(conn,
                                     "SELECT rolcanlogin OR rolsuper, (SELECT rolsuper FROM "
                                     "pg_catalog.pg_roles WHERE rolname = current_user) FROM "
                                     "pg_catalog.pg_roles WHERE rolname = $1",
                                     1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            dm_db_errf(err, errlen, "could not look up role \"%s\" (database.roles.%s): %s", name,
                       key, dm_db_result_error(res, conn, buf, sizeof buf));
            PQclear(res);
            return -1;
        }
        if (PQntuples(res) == 1) {
            if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
                dm_logf(DM_LOG_WARN,
                        "role can log in or is a superuser: driftmon's group roles are NOLOGIN, "
                        "granted to login roles",
                        "role=%s key=database.roles.%s", name, key);
            PQclear(res);
            continue;
        }
        PQclear(res);
        char what[400];
        snprintf(what, sizeof what, "could not create role \"%s\" (database.roles.%s)", name, key);
        int rc = exec_on_role(conn, "CREATE ROLE ", name, " NOLOGIN", what, err, errlen);
        if (rc == 0)
            dm_logf(DM_LOG_INFO, "created role", "role=%s key=database.roles.%s", name, key);
        if (rc != 0)
            return -1;
    }
    return join_owner(conn, cfg, err, errlen);
}

/*
 * An administrator with CREATEROLE (not a superuser) acts as the owner through membership:
 * it hands the schema to the owner and SETs ROLE to it for migrations.  The owner role may
 * predate it (another database of the cluster, another administrator): it joins it then too.
 */
static int join_owner(PGconn *conn, const dm_config *cfg, char *err, size_t errlen)
{
    const char *owner = dm_config_role(cfg, DM_ROLE_OWNER, NULL);
    const char *p[1] = {owner};
    char buf[1024];
    PGresult *res = PQexecParams(conn,
                                 "SELECT current_user, "
                                 "pg_catalog.pg_has_role(current_user, $1, 'MEMBER')",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        dm_db_errf(err, errlen, "could not look up the membership of role \"%s\": %s", owner,
                   dm_db_result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        PQclear(res);
        return 0;
    }
    char admin[NAMEDATALEN_MAX];
    snprintf(admin, sizeof admin, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char what[600];
    snprintf(what, sizeof what,
             "could not make role \"%s\" a member of role \"%s\" (database.roles.owner), "
             "which migrations run as: run `driftmon init` as a superuser or a role with "
             "CREATEROLE",
             admin, owner);
    int rc = exec_on_role(conn, "GRANT ", owner, " TO CURRENT_USER", what, err, errlen);
    if (rc == 0)
        dm_logf(DM_LOG_INFO, "granted the owner role to the administrator",
                "role=%s key=database.roles.owner member=%s", owner, admin);
    return rc;
}

/*
 * Before any migration: when schema driftmon is not yet the owner's, init hands it and its
 * objects over (011_roles.sql) or creates it (001).  Say what a non-superuser lacks for that
 * instead of failing halfway on a permission error: membership in each current owner (objects
 * a superuser created: a superuser must run init once), and CREATE on the database.
 */
static int check_handover(PGconn *conn, const dm_config *cfg, char *err, size_t errlen)
{
    const char *owner = dm_config_role(cfg, DM_ROLE_OWNER, NULL);
    const char *p[1] = {owner};
    char buf[1024];
    /* rows: whether schema driftmon exists and is not the owner's; the current owners of it
     * and its objects the current user cannot act as; CREATE on the database */
    PGresult *res = PQexecParams(
        conn,
        "WITH n AS (SELECT oid, nspowner FROM pg_catalog.pg_namespace WHERE nspname = "
        "'driftmon'), "
        "o AS (SELECT nspowner AS owner FROM n "
        "UNION SELECT relowner FROM pg_catalog.pg_class, n WHERE relnamespace = n.oid "
        "UNION SELECT proowner FROM pg_catalog.pg_proc, n WHERE pronamespace = n.oid "
        "UNION SELECT typowner FROM pg_catalog.pg_type, n WHERE typnamespace = n.oid) "
        "SELECT current_user, current_database(), "
        "NOT EXISTS (SELECT 1 FROM n WHERE pg_catalog.pg_get_userbyid(nspowner) = $1), "
        "pg_catalog.has_database_privilege(current_database(), 'CREATE'), "
        "(SELECT pg_catalog.string_agg(pg_catalog.format('\"%s\"', pg_catalog.pg_get_userbyid("
        "owner)), ', ' ORDER BY 1) FROM o "
        "WHERE pg_catalog.pg_get_userbyid(owner) <> $1 "
        "AND NOT pg_catalog.pg_has_role(current_user, owner, 'USAGE'))",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        dm_db_errf(err, errlen, "could not read the owners of schema \"driftmon\": %s",
                   dm_db_result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    const char *me = PQgetvalue(res, 0, 0), *db = PQgetvalue(res, 0, 1);
    int rc = 0;
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        /* already the owner's: migrations run as it */
    } else if (!PQgetisnull(res, 0, 4)) {
        dm_db_errf(err, errlen,
                   "cannot hand schema \"driftmon\" to role \"%s\" (database.roles.owner): "
                   "it or objects in it are owned by %s, and role \"%s\" is neither a "
                   "superuser nor a member of that role; run `driftmon init` once as a superuser "
                   "(a database initialized before 011_roles.sql)",
                   owner, PQgetvalue(res, 0, 4), me);
        rc = -1;
    } else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
        dm_db_errf(err, errlen,
                   "cannot create or hand over schema \"driftmon\" in database \"%s\": role "
                   "\"%s\" lacks CREATE on the database (GRANT CREATE ON DATABASE to it, or run "
                   "`driftmon init` as a superuser)",
                   db, me);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Inside a migration's transaction: the role names for the migration, and SET LOCAL ROLE to
 * the owner once it owns schema driftmon. */
static int as_owner(PGconn *conn, const dm_config *cfg, char *err, size_t errlen)
{
    static const char *const settings[DM_ROLE_COUNT] = {
        "driftmon.role_owner", "driftmon.role_daemon", "driftmon.role_engine",
        "driftmon.role_auditor"};
    for (int r = 0; r < DM_ROLE_COUNT; r++) {
        const char *p[2] = {settings[r], dm_config_role(cfg, (dm_role)r, NULL)};
        if (dm_db_exec(conn, "SELECT pg_catalog.set_config($1, $2, true)", 2, p,
                       "could not pass the role names to the migration", err, errlen) != 0)
            return -1;
    }
    const char *owner = dm_config_role(cfg, DM_ROLE_OWNER, NULL);
    const char *p[1] = {owner};
    char buf[1024];
    PGresult *res = PQexecParams(conn,
                                 "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = "
                                 "'driftmon' AND pg_catalog.pg_get_userbyid(nspowner) = $1",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dm_db_errf(err, errlen, "could not read the owner of schema \"driftmon\": %s",
                   dm_db_result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    bool owns = PQntuples(res) == 1;
    PQclear(res);
    if (!owns)
        return 0;
    char what[400];
    snprintf(what, sizeof what,
             "could not act as role \"%s\" (database.roles.owner), which migrations run as", owner);
    int rc = exec_on_role(conn, "SET LOCAL ROLE ", owner, "", what, err, errlen);
    return rc;
}

/* After the migrations: the schema is the owner's and each role has its grants (a right only
 * 011_roles.sql gives it); else the schema was set up under other names. */
static int check_roles(PGconn *conn, const dm_config *cfg, char *err, size_t errlen)
{
    static const char *const probe[DM_ROLE_COUNT] = {NULL, "driftmon.claim_batch(text, interval)",
                                                     "driftmon.submit_batch(text)",
                                                     "driftmon.verify_chain()"};
    const char *p[4];
    for (int r = 0; r < DM_ROLE_COUNT; r++)
        p[r] = dm_config_role(cfg, (dm_role)r, NULL);
    char buf[1024];
    PGresult *res = PQexecParams(
        conn,
        "SELECT pg_catalog.pg_get_userbyid(nspowner), "
        "pg_catalog.has_function_privilege($2, 'driftmon.claim_batch(text, interval)', 'EXECUTE'), "
        "pg_catalog.has_function_privilege($3, 'driftmon.submit_batch(text)', 'EXECUTE'), "
        "pg_catalog.has_function_privilege($4, 'driftmon.verify_chain()', 'EXECUTE') "
        "FROM pg_catalog.pg_namespace WHERE nspname = 'driftmon' AND $1::text IS NOT NULL",
        4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        dm_db_errf(err, errlen, "could not check the roles' rights on schema \"driftmon\": %s",
                   dm_db_result_error(res, conn, buf, sizeof buf));
        PQclear(res);
        return -1;
    }
    int rc = 0;
    if (strcmp(PQgetvalue(res, 0, 0), p[DM_ROLE_OWNER]) != 0) {
        dm_db_errf(err, errlen,
                   "schema \"driftmon\" is owned by \"%s\", not by role \"%s\" "
                   "(database.roles.owner): it was set up under other role names",
                   PQgetvalue(res, 0, 0), p[DM_ROLE_OWNER]);
        rc = -1;
    }
    for (int r = DM_ROLE_DAEMON; rc == 0 && r < DM_ROLE_COUNT; r++) {
        if (strcmp(PQgetvalue(res, 0, r), "t") != 0) {
            const char *key;
            dm_config_role(cfg, (dm_role)r, &key);
            dm_db_errf(err, errlen,
                       "role \"%s\" (database.roles.%s) may not execute %s: schema "
                       "\"driftmon\" was set up under other role names (011_roles.sql)",
                       p[r], key, probe[r]);
            rc = -1;
        }
    }
    PQclear(res);
    return rc;
}

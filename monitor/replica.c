/* replica.c - where a check reads its rows: the primary or a hot standby (see replica.h). */
#include "monitor/replica.h"

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/conninfo.h"
#include "monitor/db.h"
#include "monitor/log.h"

/* The wait's polls: the first after 10 ms, each next twice as late, at most every 200 ms. */
#define POLL_FIRST_S 0.01
#define POLL_MAX_S 0.2

static const char *const reason_names[DM_REPLICA_REASONS] = {
    "timeout", "unreachable", "not_standby", "read_failed", "stopping", "no_position"};

static const char *const reason_msgs[DM_REPLICA_REASONS] = {
    "the standby did not replay up to the primary's position in time: reading on the primary",
    "could not reach the standby: reading on the primary",
    ("the server of database.read_conninfo is not a standby (not in recovery): reading on the "
     "primary"),
    "could not read on the standby: reading again on the primary",
    "stopping while waiting for the standby: reading on the primary",
    "could not take the primary's WAL position: reading on the primary"};

void dm_replica_init(dm_replica *r, volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    r->conn = NULL;
    r->conninfo = NULL;
    r->stop = stop;
    r->waitmask = waitmask;
    atomic_init(&r->standby_reads, 0);
    for (int i = 0; i < DM_REPLICA_REASONS; i++)
        atomic_init(&r->fallbacks[i], 0);
}

static void disconnect(dm_replica *r)
{
    if (r->conn)
        PQfinish(r->conn);
    r->conn = NULL;
    free(r->conninfo);
    r->conninfo = NULL;
}

void dm_replica_release(dm_replica *r)
{
    disconnect(r);
}

const char *dm_replica_reason_name(dm_replica_reason why)
{
    return why < DM_REPLICA_REASONS ? reason_names[why] : "unknown";
}

uint64_t dm_replica_fallbacks(const dm_replica *r)
{
    uint64_t n = 0;
    for (int i = 0; i < DM_REPLICA_REASONS; i++)
        n += atomic_load(&r->fallbacks[i]);
    return n;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sleep s seconds; in the daemon the stop signals may end it early (and set *r->stop). */
static void pause_s(const dm_replica *r, double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (r->waitmask)
        ppoll(NULL, 0, &ts, r->waitmask);
    else
        nanosleep(&ts, NULL);
}

/* libpq's message of conn (or of res) on one line, every secret of conninfo as ****. */
static void redacted(const char *conninfo, PGconn *conn, PGresult *res, char *out, size_t len)
{
    char m[1024];
    dm_db_trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), m, sizeof m);
    if (!m[0])
        dm_db_trim(PQerrorMessage(conn), m, sizeof m);
    dm_conninfo_redact(conninfo, m, out, len);
}

/* The one line of a fallback, and its count. */
static PGconn *fall_back(dm_replica *r, const dm_config *cfg, PGconn *primary, const char *check,
                         dm_replica_reason why, double waited_s, const char *target,
                         const char *replay, const char *error)
{
    atomic_fetch_add(&r->fallbacks[why], 1);
    char shown[512];
    if (dm_conninfo_scrub(cfg->read_conninfo, shown, sizeof shown) != 0)
        snprintf(shown, sizeof shown, "(not shown)"); /* checked when the config was read */
    dm_logf(DM_LOG_WARN, reason_msgs[why],
            "check=%s reason=%s waited_s=%.3f max_wait_s=%.3f target_lsn=%s replay_lsn=%s "
            "error=%s read_conninfo=%s fallbacks=%llu",
            check, reason_names[why], waited_s, cfg->replica_max_wait_s, target[0] ? target : "-",
            replay[0] ? replay : "-", error[0] ? error : "-", shown,
            (unsigned long long)dm_replica_fallbacks(r));
    return primary;
}

/* The standby connection for read_conninfo, connected when there is none (or it was made
 * with another conninfo, before a reload); NULL with err. */
static PGconn *standby(dm_replica *r, const char *conninfo, double left_s, char *err, size_t len)
{
    if (r->conn && (PQstatus(r->conn) != CONNECTION_OK || strcmp(r->conninfo, conninfo) != 0))
        disconnect(r);
    if (r->conn)
        return r->conn;
    r->conninfo = strdup(conninfo);
    if (!r->conninfo) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    /* a standby that does not answer costs at most the wait (libpq's minimum is 2 s) */
    int timeout = left_s < 2 ? 2 : (int)ceil(left_s);
    r->conn = dm_db_connect_bounded(conninfo, timeout, err, len);
    if (!r->conn)
        disconnect(r);
    return r->conn;
}

/*
 * The target is the primary's WAL insert position, taken after the rows to read are
 * visible on the primary to this session (the batch claimed by a committed claim_batch, or
 * a check started after its rows were committed).  A transaction becomes visible only after
 * its commit record is inserted into the WAL, so every commit this session can see ends at
 * or before the position; once the standby's replay has passed it, those commits are
 * applied there and the read's snapshot, taken after, sees them.  The insert position, not
 * pg_current_wal_lsn() (the write position): a commit made with synchronous_commit = off is
 * visible before its record is written, so the write position may still lie before it.
 *
 * "Passed": replay >= target, or replay at the very start of a WAL page and target at most
 * 40 bytes past it.  At a page boundary the insert position points past the page header
 * (24 bytes, 40 on a segment's first page) while the replay position of the record that
 * ended there stays at the boundary: no record lies between (a record needs a page header
 * and its own 24-byte header), but replay would never reach the target on an idle primary.
 */
static const char POLL_SQL[] =
    "SELECT pg_catalog.pg_is_in_recovery(), x.r::text, coalesce(x.r >= x.t OR "
    "(pg_catalog.mod(x.r - '0/0'::pg_catalog.pg_lsn, "
    "pg_catalog.current_setting('wal_block_size')::numeric) = 0 AND x.t - x.r <= 40), false) "
    "FROM (SELECT pg_catalog.pg_last_wal_replay_lsn() AS r, $1::pg_catalog.pg_lsn AS t) x";

PGconn *dm_replica_route(dm_replica *r, const dm_config *cfg, PGconn *primary, const char *check)
{
    if (!cfg->read_conninfo) {
        disconnect(r); /* a reload removed it */
        return primary;
    }
    double t0 = mono_s(), deadline = t0 + cfg->replica_max_wait_s;
    char target[64] = "", replay[64] = "", err[1024] = "";
    PGresult *res = PQexec(primary, "SELECT pg_catalog.pg_current_wal_insert_lsn()::text");
    bool have = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                (size_t)PQgetlength(res, 0, 0) < sizeof target;
    if (have)
        snprintf(target, sizeof target, "%s", PQgetvalue(res, 0, 0));
    else
        redacted(cfg->conninfo, primary, res, err, sizeof err);
    PQclear(res);
    if (!have)
        return fall_back(r, cfg, primary, check, DM_REPLICA_NO_POSITION, 0, target, replay, err);

    bool fresh = r->conn == NULL;
    double step = POLL_FIRST_S;
    for (;;) {
        PGconn *sb = standby(r, cfg->read_conninfo, deadline - mono_s(), err, sizeof err);
        if (!sb)
            return fall_back(r, cfg, primary, check, DM_REPLICA_UNREACHABLE, mono_s() - t0, target,
                             replay, err);
        const char *p[1] = {target};
        res = PQexecParams(sb, POLL_SQL, 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            redacted(cfg->read_conninfo, sb, res, err, sizeof err);
            PQclear(res);
            bool broken = PQstatus(sb) != CONNECTION_OK;
            disconnect(r);
            if (broken && !fresh) { /* a connection from an earlier read, gone since: again */
                fresh = true;
                continue;
            }
            return fall_back(r, cfg, primary, check, DM_REPLICA_UNREACHABLE, mono_s() - t0, target,
                             replay, err);
        }
        fresh = true;
        bool in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        bool passed = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        if (!PQgetisnull(res, 0, 1))
            snprintf(replay, sizeof replay, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        if (!in_recovery)
            return fall_back(r, cfg, primary, check, DM_REPLICA_NOT_STANDBY, mono_s() - t0, target,
                             replay, err);
        double now = mono_s();
        if (passed) {
            atomic_fetch_add(&r->standby_reads, 1);
            dm_logf(DM_LOG_DEBUG, "reading on the standby",
                    "check=%s waited_s=%.3f target_lsn=%s replay_lsn=%s", check, now - t0, target,
                    replay);
            return sb;
        }
        if (now >= deadline)
            return fall_back(r, cfg, primary, check, DM_REPLICA_TIMEOUT, now - t0, target, replay,
                             err);
        if (r->stop && *r->stop)
            return fall_back(r, cfg, primary, check, DM_REPLICA_STOPPING, now - t0, target, replay,
                             err);
        pause_s(r, fmin(step, deadline - now));
        step = fmin(2 * step, POLL_MAX_S);
        if (r->stop && *r->stop)
            return fall_back(r, cfg, primary, check, DM_REPLICA_STOPPING, mono_s() - t0, target,
                             replay, err);
    }
}

void dm_replica_read_failed(dm_replica *r, const dm_config *cfg, const char *check, const char *err)
{
    char shown[1024];
    dm_conninfo_redact(cfg->read_conninfo, err ? err : "", shown, sizeof shown);
    if (r->conn && PQstatus(r->conn) != CONNECTION_OK)
        disconnect(r);
    (void)fall_back(r, cfg, NULL, check, DM_REPLICA_READ_FAILED, 0, "", "", shown);
}

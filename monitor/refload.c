/* refload.c - `reference load --table` in groups of columns (see refload.h). */
#include "monitor/refload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/dbrun.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/profile.h"
#include "monitor/reconcile.h"
#include "monitor/spill.h"

size_t dm_refload_group_columns(uint64_t memory_limit, uint64_t rows)
{
    uint64_t per_col = 8 * (rows ? rows : 1);
    uint64_t fixed = REFLOAD_FIXED_BYTES + 2 * 16 * rows;
    if (memory_limit <= fixed || memory_limit - fixed < per_col)
        return 1;
    uint64_t k = (memory_limit - fixed) / per_col;
    return k > SIZE_MAX ? SIZE_MAX : (size_t)k;
}

/* The table's row count in the current snapshot.  0, or -1 with err. */
static int count_rows(PGconn *conn, const dm_db_table *t, uint64_t *rows, char *err, size_t errlen)
{
    size_t l = strlen(t->qualified) + 64;
    char *sql = malloc(l);
    if (!sql) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, l, "SELECT pg_catalog.count(*) FROM %s", t->qualified);
    PGresult *res = PQexec(conn, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        char what[600];
        snprintf(what, sizeof what, "could not count the rows of table \"%s\"", t->name);
        return dm_db_fail(res, conn, what, err, errlen);
    }
    *rows = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* The columns of `table` that are read (not skipped: excluded, or of a type not compared). */
static size_t readable(const dm_config *cfg, const dm_db_table *t, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < t->ncols; i++)
        if (!dm_config_is_excluded(cfg, t->cols[i].name) && t->cols[i].kind != DM_DB_UNSUPPORTED)
            idx[n++] = i;
    return n;
}

/* skip: every table column outside columns lo..hi-1 of idx (all groups: 0..n-1); group 0
 * leaves the columns of types not compared to the read, which lists them as left out. */
static void group_skip(const dm_db_table *table, const size_t *idx, size_t n, size_t lo, size_t hi,
                       bool first, const char **skip)
{
    size_t ns = 0;
    for (size_t i = 0, k = 0; i < table->ncols; i++) {
        while (k < n && idx[k] < i)
            k++;
        bool in_group = k < n && idx[k] == i && k >= lo && k < hi;
        bool left_out_here = first && table->cols[i].kind == DM_DB_UNSUPPORTED;
        if (!in_group && !left_out_here)
            skip[ns++] = table->cols[i].name;
    }
    skip[ns] = NULL;
}

/* Every group's columns in one COPY (dm_run_read_once: the groups after the first spilled);
 * *once NULL when there is no spill file (one COPY per group then).  DM_RUN_* with err. */
static int read_once(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                     const size_t *idx, size_t n, size_t per, uint64_t rows, const char **skip,
                     dm_table_read **once, char *err, size_t errlen)
{
    size_t *group_of = malloc((n + 1) * sizeof *group_of);
    if (!group_of) {
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    for (size_t j = 0; j < n; j++)
        group_of[j] = j / per;
    group_skip(table, idx, n, 0, n, true, skip);
    int rc = dm_run_read_once(conn, cfg, table, NULL, NULL, 0, skip, rows, group_of,
                              (n + per - 1) / per, (uint64_t)(n - per) * rows, once, err, errlen);
    free(group_of);
    if (rc == DM_RUN_OK && *once && dm_table_read_columns(*once) != n) {
        snprintf(err, errlen, "reading table \"%s\": read %zu columns of %zu", table->name,
                 dm_table_read_columns(*once), n);
        rc = DM_RUN_ENV;
    }
    return rc;
}

/* The groups read into the profile writer.  DM_RUN_* with err. */
static int read_groups(PGconn *conn, const dm_config *cfg, const dm_db_table *table,
                       const size_t *idx, size_t n, size_t per, uint64_t rows, dm_atomic_file *f,
                       dm_dataset *left, char *err, size_t errlen)
{
    const char **skip = calloc(table->ncols + 1, sizeof *skip);
    size_t *cols = malloc((per + 1) * sizeof *cols);
    dm_table_read *once = NULL;
    if (!skip || !cols) {
        free(skip);
        free(cols);
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    dm_profile_writer *w = NULL;
    size_t ngroups = (n + per - 1) / per;
    int rc = read_once(conn, cfg, table, idx, n, per, rows, skip, &once, err, errlen);
    for (size_t g = 0; g < ngroups && rc == DM_RUN_OK; g++) {
        size_t lo = g * per, hi = lo + per < n ? lo + per : n;
        dm_dataset ds;
        dm_dataset_init(&ds);
        if (once) {
            for (size_t j = lo; j < hi; j++)
                cols[j - lo] = j;
            rc = dm_table_read_group(once, g, cols, hi - lo, &ds, err, errlen);
        } else {
            group_skip(table, idx, n, lo, hi, g == 0, skip);
            rc = dm_run_read_table(conn, cfg, table, NULL, NULL, 0, skip, &ds, err, errlen);
        }
        if (rc != DM_RUN_OK)
            break;
        dm_logf(DM_LOG_DEBUG, "reference group read", "group=%zu groups=%zu columns=%zu rows=%llu",
                g + 1, ngroups, ds.ncols, (unsigned long long)ds.rows);
        if (ds.rows != rows || ds.ncols != hi - lo) {
            snprintf(err, errlen,
                     "reading table \"%s\": group %zu of %zu columns has %llu rows, the table "
                     "%llu (the snapshot was not kept)",
                     table->name, g + 1, ngroups, (unsigned long long)ds.rows,
                     (unsigned long long)rows);
            rc = DM_RUN_ENV;
        } else if (dm_reconcile_side(cfg, &ds, err, errlen) != 0) {
            rc = DM_RUN_INPUT;
        }
        if (rc == DM_RUN_OK && g == 0) {
            /* the left-out columns, for the profile's header and its last section */
            left->left_out = ds.left_out;
            left->nleft_out = ds.nleft_out;
            ds.left_out = NULL;
            ds.nleft_out = 0;
            w = dm_profile_writer_new(f, rows, (uint32_t)n, left->nleft_out);
            if (!w) {
                snprintf(err, errlen, "out of memory");
                rc = DM_RUN_ENV;
            }
        }
        for (size_t i = 0; rc == DM_RUN_OK && i < ds.ncols; i++) {
            if (dm_profile_writer_column(w, &ds.col[i]) != 0) {
                snprintf(err, errlen, "could not write the reference's profile to %s: %s", f->shown,
                         f->failed ? strerror(f->failed) : "out of memory");
                rc = DM_RUN_ENV;
            }
        }
        dm_dataset_release(&ds);
    }
    dm_table_read_free(once);
    free(skip);
    free(cols);
    char digest[65];
    if (rc == DM_RUN_OK && dm_profile_writer_finish(w, left, digest) != 0) {
        snprintf(err, errlen, "could not write the reference's profile to %s: %s", f->shown,
                 f->failed ? strerror(f->failed) : "out of memory");
        rc = DM_RUN_ENV;
    } else if (rc != DM_RUN_OK) {
        dm_profile_writer_free(w);
    }
    return rc;
}

int dm_refload_table(PGconn *conn, const dm_config *cfg, const dm_db_table *table, dm_dataset *out,
                     char *err, size_t errlen)
{
    size_t *idx = calloc(table->ncols + 1, sizeof *idx);
    if (!idx) {
        snprintf(err, errlen, "out of memory");
        return DM_RUN_ENV;
    }
    size_t n = readable(cfg, table, idx);
    bool snap = false;
    uint64_t rows = 0;
    int rc = DM_RUN_OK;
    /* a table that fits in one group is read as it always was */
    if (n > 1 && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        if (cfg->warm_backend) { /* outside the snapshot: it does nothing inside one */
            char werr[512];
            if (dm_db_warm_backend(conn, n, werr, sizeof werr) != 0)
                dm_logf(DM_LOG_WARN,
                        "could not warm the backend before the COPY: reading without it",
                        "error=%s", werr);
        }
        if (dm_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL,
                       "could not begin the reference's read", err, errlen) != 0)
            rc = DM_RUN_ENV;
        else if (snap = true, count_rows(conn, table, &rows, err, errlen) != 0)
            rc = DM_RUN_ENV;
    }
    size_t per = dm_refload_group_columns(cfg->memory_limit, rows);
    if (rc == DM_RUN_OK && (!snap || per >= n || rows == 0)) {
        rc = dm_run_read_table(conn, cfg, table, NULL, NULL, 0, NULL, out, err, errlen);
    } else if (rc == DM_RUN_OK) {
        dm_logf(DM_LOG_INFO, "reading the reference in groups of columns",
                "table=%s rows=%llu columns=%zu per_group=%zu memory_limit=%llu", table->name,
                (unsigned long long)rows, n, per, (unsigned long long)cfg->memory_limit);
        dm_atomic_file f;
        memset(&f, 0, sizeof f);
        f.dirfd = -1;
        f.fd = dm_spill_temp_file(dm_spill_dir(), rows * 8 * n, err, errlen);
        snprintf(f.shown, sizeof f.shown, "a temporary file in \"%.4000s\"", dm_spill_dir());
        dm_dataset left;
        dm_dataset_init(&left);
        if (f.fd < 0)
            rc = DM_RUN_INPUT; /* an unusable TMPDIR: the setup's, exit 2 as in compare */
        else
            rc = read_groups(conn, cfg, table, idx, n, per, rows, &f, &left, err, errlen);
        dm_dataset_release(&left);
        if (rc == DM_RUN_OK && f.failed) {
            snprintf(err, errlen, "could not write the reference's profile to %s: %s", f.shown,
                     strerror(f.failed));
            rc = DM_RUN_ENV;
        }
        if (rc == DM_RUN_OK) {
            char ferr[600];
            int fd = f.fd;
            f.fd = -1;
            if (dm_profile_read_fd(fd, "the reference's temporary profile", out, ferr,
                                   sizeof ferr) != 0) {
                snprintf(err, errlen, "could not read the reference back: %s", ferr);
                rc = DM_RUN_ENV;
            }
        }
        if (f.fd >= 0)
            close(f.fd);
        if (rc == DM_RUN_OK) {
            char src[600];
            snprintf(src, sizeof src, "table %s", table->name);
            char *s = strdup(src);
            if (!s) {
                snprintf(err, errlen, "out of memory");
                dm_dataset_release(out);
                rc = DM_RUN_ENV;
            } else {
                free(out->source);
                out->source = s;
                out->table_rows = true;
            }
        }
    }
    if (snap)
        dm_db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
    free(idx);
    return rc;
}

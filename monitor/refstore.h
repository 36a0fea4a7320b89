/*
 * refstore.h - reference profiles stored in PostgreSQL (driftmon.reference and
 * driftmon.reference_column).
 *
 * A reference is profiled once; every load under a name makes a new version (1, 2, ...)
 * and keeps the older ones, so a run names exactly the version it used.  Per column the
 * exact distribution is stored as that column's section of the profile file format
 * (bytea, monitor/profile.h), beside count, n_distinct, missing, non-finite, mean, std, min
 * and max for auditors; the columns the loader left out (dm_dataset.left_out) are kept with
 * their reason in driftmon.reference_left_out.  The reference's sha256 is the digest of its
 * profile, the same as `driftmon profile` prints for the same data; loading streams the columns one
 * row at a time (single-row mode) and recomputes the digest over exactly the bytes read, so a
 * changed stored profile is refused.  A stored reference is held once while read: with a
 * cache, each column goes from its row to the cache file (format 2) and the file is then
 * mapped, its pages given back column by column (no column is held beyond the one arriving);
 * without one, each column is decoded as it arrives, the counts of columns of distinct
 * values sharing one array of ones.
 */
#ifndef DRIFTMON_REFSTORE_H
#define DRIFTMON_REFSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "monitor/dataset.h"
#include "monitor/importance.h"

typedef struct {
    int64_t id;
    char *name;
    int version;
    char sha256[65];
    char *source;
    uint64_t rows;
    /* the model's importances stored with this version (sql/010_model.sql), or NULL;
     * owned, released with the rest */
    dm_importance *importance;
} dm_refinfo;

void dm_refinfo_release(dm_refinfo *r);

/* Store ds as a new version of `name`, in one transaction, with the model's importances imp
 * parsed from the imp_len bytes imp_text (imp NULL: none).  The bytes, imp->source and
 * imp->sha256 go into the reference row, imp's pairs into driftmon.reference_importance.
 * ds->sha256 is computed when empty.  0, or -1 with err set (nothing stored). */
int dm_ref_store(PGconn *conn, const char *name, dm_dataset *ds, const dm_importance *imp,
                 const char *imp_text, size_t imp_len, dm_refinfo *info, char *err, size_t errlen);

/* Load the newest version of `name` (version 0), or the given version, with its stored
 * importances (info->importance): their bytes must have the stored sha256 and give the
 * stored pairs, else the load fails (the importances were changed).  -1 with err naming
 * the reference when it does not exist. */
int dm_ref_load(PGconn *conn, const char *name, int version, dm_dataset *out, dm_refinfo *info,
                char *err, size_t errlen);

/* The same, keeping a local copy of the stored profile in cache_dir/<sha256>.dmp (written
 * atomically after a load from the database, created when missing, mode 0600 less the
 * umask).  The copy is taken when its content, verified as it is read (dm_profile_read),
 * has the digest recorded in the database; a copy that fails the check is deleted (logged
 * as a warning) and the reference read from the database, so a stale or damaged file is
 * never used.  cache_dir NULL disables it.
 *
 * cache_dir is created 0700 when missing and must not be a symbolic link (else no cache,
 * logged); names inside it are never followed through a link (fsutil.h).
 *
 * The cache keeps only the profiles in use: a profile is in use while it is the newest
 * version of some reference in this database.  After each load the copies of the other
 * profiles this database knows (every version holding them has a newer one) are removed,
 * and a superseded version read from the database is not cached.  A check that has a copy
 * open keeps reading it (removal unlinks the name, not the file); one that finds it gone
 * reads the database.  Files of profiles this database does not know (another database
 * sharing the directory) are left alone. */
int dm_ref_load_cached(PGconn *conn, const char *name, int version, const char *cache_dir,
                       dm_dataset *out, dm_refinfo *info, char *err, size_t errlen);

/* dm_ref_load_cached of only the n columns at the reference's ordinals idx[0..n) (its column
 * order, from 0; no repeats), into out->col[k] for idx[k]: for a comparison of a group of
 * columns at a time.  The whole stored profile is hashed and checked as by dm_ref_load (its
 * sha256 is the reference's), but only the wanted columns are decoded and held; from a
 * cached copy, the other columns' pages are given back once checked.  rows, left-out
 * columns and info are the whole reference's.  -1 with err naming the reference and the
 * ordinal when one is out of range or repeated. */
int dm_ref_load_columns(PGconn *conn, const char *name, int version, const char *cache_dir,
                        const size_t *idx, size_t n, dm_dataset *out, dm_refinfo *info, char *err,
                        size_t errlen);

/* The sha256 recomputed over the stored profile of reference `id` (header with `rows`, its
 * columns' bytes and its left-out columns, hashed exactly as dm_ref_load hashes them, without
 * decoding them): what `driftmon verify` compares with driftmon.reference.sha256.  0, or -1
 * with err. */
int dm_ref_stored_digest(PGconn *conn, int64_t id, uint64_t rows, char digest[65], char *err,
                         size_t errlen);

/* Remove a cache directory of the layout above, when it exists: its <sha256>.dmp files and
 * their temporary files, then the directory itself unless something else is left in it.
 * For the cache older versions kept in the reports directory (reports.dir/.reference-cache).
 * A symbolic link at cache_dir is left alone, never followed.  Best effort: nothing is
 * reported. */
void dm_ref_cache_remove(const char *cache_dir);

#endif

/*
 * profile_digest.c - a profile's identity: the SHA-256 of its version-1 encoding
 * (profile.h), computed for a dataset and checked as a profile is read.
 */
#include "monitor/profile_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stats/stats.h"

/* Hash p[*hashed .. upto) and, for a mapped file, give the whole pages of that range back:
 * once a column is parsed, its bytes are never read again. */
void dm_profile_hash_upto(dm_sha256 *h, const unsigned char *p, size_t *hashed, size_t upto,
                          bool drop)
{
    if (upto <= *hashed)
        return;
    dm_sha256_update(h, p + *hashed, upto - *hashed);
    if (drop) {
        size_t pg = 4096;
        uintptr_t lo = ((uintptr_t)(p + *hashed) + pg - 1) & ~(uintptr_t)(pg - 1);
        uintptr_t hi = (uintptr_t)(p + upto) & ~(uintptr_t)(pg - 1);
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    *hashed = upto;
}

void dm_profile_mismatch(char *err, size_t errlen, const char *name, const char *have,
                         const char *want)
{
    snprintf(err, errlen,
             "%s: the profile's content does not match its sha256 (%.12s... stored, %.12s... "
             "computed): the file was changed or damaged",
             name, have, want);
}

/*
 * A dataset's digest: its identity encoding streamed through SHA-256 column by column, with
 * no copy of the data.  One mechanism for both uses:
 *   - dm_profile_digest(): a dataset's digest (a CSV reference whose digest goes into the
 *     reports, a profile being written);
 *   - the check of a format-2 profile as it is read (have = the trailer's digest).  Values
 *     used in place from a mapped file are checked on the way (finite, ascending, counts)
 *     and their moments computed while the column is in cache; their pages are then given
 *     back, unless the caller keeps them for a comparison that reads them next.
 */
typedef struct {
    dm_dataset snap;  /* shallow: the columns are the dataset's */
    dm_profile_buf b; /* the hash and its staging buffer */
    bool keep_pages;  /* a checked column's pages stay mapped */
    char have[65];    /* the digest the trailer holds; "" when there is nothing to check */
    char *name;
    /* the first column whose values are wrong (checked here for values used in place) */
    const char *bad_column, *bad_why;
} hash_job;

/* Values used in place: checked (order, finiteness, counts) and their moments computed. */
static bool in_place(const hash_job *j, const dm_column *c)
{
    return j->snap.arena_is_file && c->storage == DM_STORE_NUM && c->value_shared;
}

/* Column c's values used in place: what is wrong with them (NULL: nothing), and once they
 * are known good, their mean and std (computed while the column is in cache). */
static const char *check_column(const hash_job *j, dm_column *c)
{
    const char *why = dm_profile_numbers_problem(c, c->count == j->snap.ones);
    if (!why && c->n > 0) {
        stats_num sn = {c->value, c->count, c->n_distinct, c->n, c->is_int, false, 0., 0.};
        c->has_moments = stats_num_moments(&sn, &c->mean, &c->std) == STATS_OK;
    }
    return why;
}

static void hash_columns(hash_job *j)
{
    for (size_t i = 0; i < j->snap.ncols; i++) {
        dm_column *c = &j->snap.col[i];
        if (in_place(j, c)) {
            j->bad_why = check_column(j, c);
            if (j->bad_why) {
                j->bad_column = c->name;
                break;
            }
        }
        dm_profile_encode_column(&j->b, c, false); /* the identity encoding */
        if (!j->keep_pages)
            dm_dataset_evict(&j->snap, i);
    }
    if (!j->bad_why)
        dm_profile_encode_left_out(&j->b, &j->snap);
}

/* The message for a failed check: bad values, or a digest that does not match. */
static void verify_error(const hash_job *j, const char *want, char *err, size_t errlen)
{
    if (j->bad_why)
        snprintf(err, errlen,
                 "%s: corrupt profile (column \"%s\"): %s: the file was changed or damaged",
                 j->name, j->bad_column, j->bad_why);
    else
        dm_profile_mismatch(err, errlen, j->name, j->have, want);
}

static void hash_free(hash_job *j)
{
    free(j->b.p);
    char ignored[65];
    if (j->b.h)
        dm_sha256_final(j->b.h, ignored); /* frees it */
    free(j->name);
    free(j);
}

static hash_job *hash_new(const dm_dataset *ds, const char *have, const char *name)
{
    hash_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->snap = *ds;
    j->b.p = malloc(DM_PROFILE_STAGE_BYTES);
    j->b.h = dm_sha256_alloc();
    j->name = strdup(name);
    if (!j->b.p || !j->b.h || !j->name) {
        hash_free(j);
        return NULL;
    }
    snprintf(j->have, sizeof j->have, "%s", have);
    dm_profile_put_header(ds, &j->b, DM_PROFILE_IDENTITY_VERSION);
    return j;
}

/* Hash every column: 0 and the digest in want, or -1 (values found wrong, out of memory). */
static int hash_finish(hash_job *j, char want[65])
{
    hash_columns(j);
    dm_sha256_update(j->b.h, j->b.p, j->b.staged);
    dm_sha256_final(j->b.h, want);
    j->b.h = NULL;
    return j->bad_why || j->b.oom || !want[0] ? -1 : 0;
}

int dm_profile_digest(dm_dataset *ds)
{
    hash_job *j = hash_new(ds, "", "dataset");
    if (!j)
        return -1;
    char want[65] = "";
    int rc = hash_finish(j, want);
    if (rc == 0)
        memcpy(ds->sha256, want, sizeof ds->sha256);
    hash_free(j);
    return rc;
}

int dm_profile_verify(const dm_dataset *ds, const char *have, const char *name, bool keep_pages,
                      char want[65], char *err, size_t errlen)
{
    hash_job *j = hash_new(ds, have, name);
    if (!j)
        return DM_PROFILE_VERIFY_OOM;
    j->keep_pages = keep_pages;
    int vrc = hash_finish(j, want);
    int rc = 0;
    if (vrc != 0 && !j->bad_why) {
        rc = DM_PROFILE_VERIFY_OOM;
    } else if (vrc != 0 || strcmp(want, have) != 0) {
        verify_error(j, want, err, errlen);
        rc = -1;
    }
    hash_free(j);
    return rc;
}

/*
 * profile_digest.c - a profile's identity: the SHA-256 of its version-1 encoding
 * (profile.h), computed for a dataset and checked as a profile is read.
 */
#include "monitor/profile_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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
 * no copy of the data.  One mechanism for every use:
 *   - dm_profile_digest(): a dataset's digest (a CSV reference whose digest goes into the
 *     reports, a profile being written);
 *   - the check of a format-2 profile as it is read (have = the trailer's digest).  Values
 *     used in place from a mapped file are checked on the way (finite, ascending, counts)
 *     and their moments computed while the column is in cache; their pages are then given
 *     back, unless the caller keeps them for a comparison that reads them next;
 *   - the same check on a thread of its own (dm_profile_verify_start), while the caller
 *     uses the dataset: a column's values are checked by whoever needs them first, the
 *     thread on its way or the caller (dm_dataset_column_ready), and a per-column state says
 *     who took it and what was found.  The hash itself stays on the thread, in order.
 */
enum { COL_CLAIMED = 1, COL_GOOD = 2, COL_BAD = 4 };

typedef struct {
    dm_pending base;  /* the dataset's while the check runs on a thread */
    dm_dataset snap;  /* shallow: the columns are the dataset's */
    dm_profile_buf b; /* the hash and its staging buffer */
    bool keep_pages;  /* a checked column's pages stay mapped */
    char have[65];    /* the digest the trailer holds; "" when there is nothing to check */
    char *name;
    /* per column with values used in place: who checks them and what was found (why[i] is
     * written by the one who claimed column i, before COL_GOOD or COL_BAD is set) */
    _Atomic unsigned char *state;
    const char **why;
    /* the first column whose values are wrong, once the check is over */
    const char *bad_column, *bad_why;
    pthread_t thread;
    bool threaded;
    _Atomic bool stop; /* the dataset is released: stop at the next column */
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

/* Check column i unless someone else took it: false when this call found its values wrong. */
static bool claim_and_check(hash_job *j, size_t i)
{
    dm_column *c = &j->snap.col[i];
    if (!in_place(j, c) || (atomic_fetch_or(&j->state[i], COL_CLAIMED) & COL_CLAIMED))
        return true;
    j->why[i] = check_column(j, c);
    atomic_fetch_or(&j->state[i], j->why[i] ? COL_BAD : COL_GOOD);
    return j->why[i] == NULL;
}

static void hash_columns(hash_job *j)
{
    for (size_t i = 0; i < j->snap.ncols && !atomic_load(&j->stop); i++) {
        if (!claim_and_check(j, i))
            break;
        dm_profile_encode_column(&j->b, &j->snap.col[i], false); /* the identity encoding */
        if (!j->keep_pages)
            dm_dataset_evict(&j->snap, i);
    }
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
    free((void *)(uintptr_t)j->state);
    free((void *)(uintptr_t)j->why);
    free(j->b.p);
    char ignored[65];
    if (j->b.h)
        dm_sha256_final(j->b.h, ignored); /* frees it */
    free(j->name);
    free(j);
}

static bool pending_column(dm_pending *p, size_t i);
static void pending_drop(dm_pending *p);

static hash_job *hash_new(const dm_dataset *ds, const char *have, const char *name)
{
    hash_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->base.column = pending_column;
    j->base.drop = pending_drop;
    j->snap = *ds;
    j->snap.pending = NULL;
    j->b.p = malloc(DM_PROFILE_STAGE_BYTES);
    j->b.h = dm_sha256_alloc();
    j->name = strdup(name);
    size_t n = ds->ncols ? ds->ncols : 1;
    j->state = calloc(n, sizeof *j->state);
    j->why = calloc(n, sizeof *j->why);
    if (!j->b.p || !j->b.h || !j->name || !j->state || !j->why) {
        hash_free(j);
        return NULL;
    }
    atomic_init(&j->stop, false);
    snprintf(j->have, sizeof j->have, "%s", have);
    dm_profile_put_header(ds, &j->b, DM_PROFILE_IDENTITY_VERSION);
    return j;
}

/* The hash over (every column, unless values were found wrong): 0 and the digest in want,
 * or -1 (values found wrong: bad_column and bad_why set; out of memory). */
static int hash_result(hash_job *j, char want[65])
{
    for (size_t i = 0; i < j->snap.ncols && !j->bad_why; i++)
        if (atomic_load(&j->state[i]) & COL_BAD) { /* the first in column order */
            j->bad_why = j->why[i];
            j->bad_column = j->snap.col[i].name;
        }
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
    hash_columns(j);
    int rc = hash_result(j, want);
    if (rc == 0)
        memcpy(ds->sha256, want, sizeof ds->sha256);
    hash_free(j);
    return rc;
}

/* The verdict of a finished check, as dm_profile_verify gives it. */
static int verdict(hash_job *j, char want[65], char *err, size_t errlen)
{
    int vrc = hash_result(j, want);
    if (vrc != 0 && !j->bad_why)
        return DM_PROFILE_VERIFY_OOM;
    if (vrc != 0 || strcmp(want, j->have) != 0) {
        verify_error(j, want, err, errlen);
        return -1;
    }
    return 0;
}

int dm_profile_verify(const dm_dataset *ds, const char *have, const char *name, bool keep_pages,
                      char want[65], char *err, size_t errlen)
{
    hash_job *j = hash_new(ds, have, name);
    if (!j)
        return DM_PROFILE_VERIFY_OOM;
    j->keep_pages = keep_pages;
    hash_columns(j);
    int rc = verdict(j, want, err, errlen);
    hash_free(j);
    return rc;
}

/* ---- the check on a thread of its own ------------------------------------------------ */

static void *hash_main(void *arg)
{
    hash_columns(arg);
    return NULL;
}

/* dm_dataset_column_ready: column i checked, here if the thread has not taken it, else
 * once the thread is done with it (it always finishes a column it took). */
static bool pending_column(dm_pending *p, size_t i)
{
    hash_job *j = (hash_job *)(void *)p;
    if (i >= j->snap.ncols)
        return true;
    if (!claim_and_check(j, i))
        return false;
    if (!in_place(j, &j->snap.col[i]))
        return true; /* checked as it was parsed */
    unsigned char s;
    while (!((s = atomic_load(&j->state[i])) & (COL_GOOD | COL_BAD))) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    return (s & COL_GOOD) != 0;
}

static void pending_drop(dm_pending *p)
{
    hash_job *j = (hash_job *)(void *)p;
    atomic_store(&j->stop, true);
    if (j->threaded)
        pthread_join(j->thread, NULL);
    hash_free(j);
}

int dm_profile_verify_start(dm_dataset *ds, const char *have, const char *name)
{
    hash_job *j = hash_new(ds, have, name);
    if (!j)
        return -1;
    j->keep_pages = true; /* the caller reads the columns; the check may read them after */
    if (pthread_create(&j->thread, NULL, hash_main, j) != 0) {
        hash_free(j);
        return -1;
    }
    j->threaded = true;
    ds->pending = &j->base;
    return 0;
}

int dm_profile_finish_check(dm_dataset *ds, char *err, size_t errlen)
{
    if (!ds->pending || ds->pending->column != pending_column)
        return 0;
    hash_job *j = (hash_job *)(void *)ds->pending;
    ds->pending = NULL;
    pthread_join(j->thread, NULL);
    char want[65] = "";
    int rc = verdict(j, want, err, errlen);
    if (rc == DM_PROFILE_VERIFY_OOM)
        snprintf(err, errlen, "%s: out of memory while checking the profile", j->name);
    if (rc == 0)
        memcpy(ds->sha256, want, sizeof ds->sha256);
    hash_free(j);
    return rc == 0 ? 0 : -1;
}

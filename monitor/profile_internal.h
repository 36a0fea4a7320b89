/*
 * profile_internal.h - what the three files of saved profiles share (not part of the public
 * API, profile.h): profile_format.c encodes and decodes the format, profile_digest.c computes
 * and checks the SHA-256 identity digest, profile_file.c reads and writes files.
 */
#ifndef DRIFTMON_PROFILE_INTERNAL_H
#define DRIFTMON_PROFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/dataset.h"
#include "monitor/fsutil.h"
#include "monitor/profile.h"
#include "monitor/sha256.h"

/* ---- profile_format.c ---------------------------------------------------------------- */

/* Output: a growing buffer, or (h set) a SHA-256 fed through a small staging buffer, so
 * that the digest of a big dataset needs no copy of it, or (file set) a file written
 * through the same staging buffer (p of DM_PROFILE_STAGE_BYTES): len counts every byte put,
 * so the format-2 padding is computed from the file's offset. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool oom; /* out of memory, or (file) a write failed: file->failed says why */
    dm_sha256 *h;
    size_t staged; /* bytes of p not yet hashed or written (hash and file modes) */
    dm_atomic_file *file;
} dm_profile_buf;

/* Hash or write out what is staged (hash and file modes). */
void dm_profile_buf_flush(dm_profile_buf *b);

#define DM_PROFILE_STAGE_BYTES ((size_t)1 << 16)

/* The header (magic .. ncols) of ds with the given format version. */
void dm_profile_put_header(const dm_dataset *ds, dm_profile_buf *b, uint32_t version);
/* Column c's section.  aligned: format 2 (zero padding before the values, u64 counts). */
void dm_profile_encode_column(dm_profile_buf *b, const dm_column *c, bool aligned);
/* The left-out section of ds (nothing when ds has no left-out column). */
void dm_profile_encode_left_out(dm_profile_buf *b, const dm_dataset *ds);
/* What is wrong with a numeric column's values and counts (NULL: nothing).  ones: every
 * count is 1 and need not be read. */
const char *dm_profile_numbers_problem(const dm_column *c, bool ones);
/* Does p (len bytes read from a file's start) begin with the profile magic? */
#define DM_PROFILE_MAGIC_BYTES 8
bool dm_profile_magic_ok(const unsigned char *p, size_t len);
/* Decode and verify a whole profile (dm_profile_parse).  drop: give a mapped file's pages
 * back once hashed; borrow: a format-2 file's values are used where they lie (p is a mapping
 * that the dataset then owns); keep_pages: checked pages stay mapped. */
int dm_profile_decode(const unsigned char *p, size_t len, const char *name, dm_dataset *out,
                      char *err, size_t errlen, bool drop, bool borrow, bool keep_pages);

/* ---- profile_digest.c ---------------------------------------------------------------- */

/* Hash p[*hashed .. upto) and, with drop, give the whole pages of that range back. */
void dm_profile_hash_upto(dm_sha256 *h, const unsigned char *p, size_t *hashed, size_t upto,
                          bool drop);
/* The message for a profile whose content does not match its stored digest. */
void dm_profile_mismatch(char *err, size_t errlen, const char *name, const char *have,
                         const char *want);
/* Check ds, decoded from format-2 profile `name`, against have (the trailer's digest): 0 and
 * want set; -1 with err set (values wrong, digest mismatch); DM_PROFILE_VERIFY_OOM (err not
 * set).  keep_pages: checked columns' pages stay mapped. */
#define DM_PROFILE_VERIFY_OOM (-2)
int dm_profile_verify(const dm_dataset *ds, const char *have, const char *name, bool keep_pages,
                      char want[65], char *err, size_t errlen);

#endif

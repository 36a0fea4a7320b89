/*
 * profile.h - a saved reference profile: a dm_dataset written once, reused for every
 * comparison, so a reference is never parsed again.
 *
 * Format version 1 (little-endian; every length checked on load):
 *   "DMPROF\r\n" (8 bytes) | u32 version = 1 | u32 flags = 0 | u64 rows | u32 ncols
 *   per column:
 *     u32 name_len | name bytes | u8 storage (0 num, 1 text) | u8 is_int | u8 count_width
 *     (0: every count is 1, 4: u32, 8: u64) | u8 reserved | u64 missing | u64 nonfinite | u64 n
 *     num:  u64 n_distinct | f64 value[n_distinct] | counts[n_distinct] of count_width bytes
 *     text: u64 n_cats | per category u32 len + bytes | counts[n_cats] of count_width bytes
 *   trailer: the 32-byte SHA-256 of every byte before it.
 * Format version 2 (what is written since 0.1.0's second landing) is version 1 with
 * version = 2 and, in numeric columns, 0..7 zero bytes after n_distinct so that value[]
 * starts at a file offset that is a multiple of 8 (u64 counts then are aligned too).  A
 * mapped file's values are then used in place: no copy, no allocation (dm_profile_read).
 * Its trailer is the same digest as version 1's: that of the version-1 encoding of the same
 * data (the header with version = 1, no padding).  The padding is checked to be zero and
 * the version field checked, so every byte of the file is covered all the same.
 * The hex form of that digest is the profile's identity (profile_sha256 in reports): the
 * same data gives the same digest whatever the file is called or laid out, so references
 * stored in the database (version-1 sections) and cached files agree.
 * A mapped profile must not be rewritten in place while in use; driftmon only ever
 * replaces profiles by rename (a new inode), which a mapping does not see.
 */
#ifndef DRIFTMON_PROFILE_H
#define DRIFTMON_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/dataset.h"

#define DM_PROFILE_VERSION 2u          /* what dm_profile_write writes */
#define DM_PROFILE_IDENTITY_VERSION 1u /* the encoding the digest covers */

/* Serialise ds into a malloc'ed buffer (trailer included); sets ds->sha256 as a side
 * effect.  NULL when out of memory. */
unsigned char *dm_profile_serialize(dm_dataset *ds, size_t *len);
/* The parts of the format, for stores that keep one record per column (the database):
 * the header (magic .. ncols, DM_PROFILE_HEADER_BYTES bytes) and one column's section.
 * The profile's sha256 is that of header + sections in order. */
#define DM_PROFILE_HEADER_BYTES 28
void dm_profile_header_encode(uint64_t rows, uint32_t ncols,
                              unsigned char out[DM_PROFILE_HEADER_BYTES]);
/* malloc'ed section of column c (NULL when out of memory). */
unsigned char *dm_profile_column_encode(const dm_column *c, size_t *len);
/* Decode exactly one section into *out (zeroed first).  -1 with err naming `name` and the
 * column at fault; on error *out may hold partial data: free it with dm_dataset_release on a
 * dataset that owns it, or see profile_format.c. */
int dm_profile_column_decode(const unsigned char *p, size_t len, const char *name, dm_column *out,
                             char *err, size_t errlen);

/* Only compute ds->sha256, streamed through the hash (no copy of the dataset is made).
 * 0 or -1 (out of memory). */
int dm_profile_digest(dm_dataset *ds);

/* Write atomically to path.  0, or -1 with err naming the file. */
int dm_profile_write(dm_dataset *ds, const char *path, char *err, size_t errlen);

/* Does the file start with the profile magic? (false when unreadable) */
bool dm_profile_sniff(const char *path);

/* Load and verify (magic, version, bounds, digest).  0, or -1 with err naming the file and
 * the offset or column at fault; *out untouched on error.  The file is mapped (not read);
 * a big profile's value arrays share one arena (dm_dataset.arena) and every all-ones count
 * array is the dataset's one array of ones (dm_dataset.ones).  A format-2 file's values are
 * used where they lie in the mapping, checked (finite, ascending, counts) and their moments
 * computed as they are hashed, and each column's pages are given back once hashed:
 * resident memory stays near one column's worth however big the profile. */
int dm_profile_read(const char *path, dm_dataset *out, char *err, size_t errlen);
/* The same, for a comparison that reads every column next, with the check (values, moments,
 * digest) left running on a thread of its own: the structure is checked and the columns laid
 * out at once, and the pages stay mapped.  A column's values may be read only once
 * dm_dataset_column_ready() said yes (it checks the column there and then when the thread has
 * not reached it), and nothing may be reported from the dataset, nor ds->sha256 used, before
 * dm_profile_finish_check() returned 0.  A format-1 file is checked at once. */
int dm_profile_read_background(const char *path, dm_dataset *out, char *err, size_t errlen);
/* Wait for the end of the check dm_profile_read_background started: 0 and ds->sha256 set,
 * or -1 with err naming the file and what is wrong (the first column whose values are wrong,
 * or a digest that does not match): then report nothing from ds.  0 at once when no check
 * is pending. */
int dm_profile_finish_check(dm_dataset *ds, char *err, size_t errlen);
/* The same from memory (used by the database loader and the fuzzer). */
int dm_profile_parse(const unsigned char *buf, size_t len, const char *name, dm_dataset *out,
                     char *err, size_t errlen);

#endif

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
 *   left-out section, only when flags has bit 0 (DM_PROFILE_FLAG_LEFT_OUT) set: the columns
 *     of the source that were left out with the reason (dm_dataset.left_out, a table's
 *     columns of a type that is not compared), after the last column:
 *     u32 n_left_out | per column u32 name_len + name bytes, u32 reason_len + reason bytes
 *     (names unique among the columns and the left-out columns; no other flag bit is used)
 *   trailer: the 32-byte SHA-256 of every byte before it.
 * A profile without left-out columns has flags = 0 and is byte for byte what it was before
 * the section existed (same bytes, same digest); older readers refuse one that has them.
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
#include <sys/types.h>

#include "monitor/dataset.h"
#include "monitor/fsutil.h"

#define DM_PROFILE_VERSION 2u          /* what dm_profile_write writes */
#define DM_PROFILE_IDENTITY_VERSION 1u /* the encoding the digest covers */

/* Serialise ds into a malloc'ed buffer (trailer included); sets ds->sha256 as a side
 * effect.  NULL when out of memory. */
unsigned char *dm_profile_serialize(dm_dataset *ds, size_t *len);
/* The parts of the format, for stores that keep one record per column (the database):
 * the header (magic .. ncols, DM_PROFILE_HEADER_BYTES bytes) and one column's section.
 * The profile's sha256 is that of header + sections in order. */
#define DM_PROFILE_HEADER_BYTES 28
#define DM_PROFILE_FLAG_LEFT_OUT 1u /* a left-out section follows the columns */
/* nleft_out: how many left-out columns follow the columns (sets the flag when > 0). */
void dm_profile_header_encode(uint64_t rows, uint32_t ncols, size_t nleft_out,
                              unsigned char out[DM_PROFILE_HEADER_BYTES]);
/* malloc'ed section of column c (NULL when out of memory). */
unsigned char *dm_profile_column_encode(const dm_column *c, size_t *len);
/* malloc'ed left-out section of ds (NULL when out of memory or ds has none): after the
 * column sections when the header says so. */
unsigned char *dm_profile_left_out_encode(const dm_dataset *ds, size_t *len);
/* Decode exactly one section into *out (zeroed first).  share_ones: a numeric column whose
 * counts are all 1 (not stored) gets count NULL and count_shared set, for the caller to
 * point at an array of ones of its own (dm_dataset.ones); else such counts are allocated.
 * -1 with err naming `name` and the column at fault; on error *out may hold partial data:
 * free it with dm_dataset_release on a dataset that owns it, or see profile_format.c. */
int dm_profile_column_decode(const unsigned char *p, size_t len, const char *name, bool share_ones,
                             dm_column *out, char *err, size_t errlen);

/* Only compute ds->sha256, streamed through the hash (no copy of the dataset is made).
 * 0 or -1 (out of memory). */
int dm_profile_digest(dm_dataset *ds);

/* A profile file (format 2) written a column at a time, for a dataset too big to hold at
 * once: the header of rows, ncols and nleft_out, then each of the ncols columns in order
 * (dm_profile_writer_column: the column may be released right after), then
 * dm_profile_writer_finish with the dataset that holds the nleft_out left-out columns,
 * which writes the trailer: the identity digest, computed as the columns went by, goes to
 * sha256 too.  The bytes go to the open file f (fsutil.h), which the caller commits or
 * aborts; a failed write shows in f->failed.  -1 when out of memory, a write failed, or the
 * columns are not the ones announced; finish frees the writer whatever it returns. */
typedef struct dm_profile_writer dm_profile_writer;
dm_profile_writer *dm_profile_writer_new(dm_atomic_file *f, uint64_t rows, uint32_t ncols,
                                         size_t nleft_out);
int dm_profile_writer_column(dm_profile_writer *w, const dm_column *c);
int dm_profile_writer_finish(dm_profile_writer *w, const dm_dataset *left_out, char sha256[65]);
/* Give up a writer before its finish (the file is the caller's to abort). */
void dm_profile_writer_free(dm_profile_writer *w);

/* Write atomically to path.  0, or -1 with err naming the file. */
int dm_profile_write(dm_dataset *ds, const char *path, char *err, size_t errlen);
/* The same for a dataset whose numbers come one column group at a time through ld (a CSV
 * read by dm_csv_read_groups): the columns are written in ds's order, a group loaded when
 * its first column is due, each numeric column's values dropped once written and the group
 * released after its last; the bytes are those of dm_profile_write of the whole dataset.
 * Groups whose columns follow each other in ds (a CSV's groups g > 0: its plan takes the
 * file's order) are held one at a time.  An error of the loader (a spill file's) is err as
 * the loader gave it; no file is left. */
int dm_profile_write_groups(dm_dataset *ds, const dm_group_loader *ld, const char *path, char *err,
                            size_t errlen);

/* dm_profile_write_groups into the open file fd (an unnamed temporary file: nothing to
 * commit), from its current offset; name names it in err.  0, or -1 with err (the file is
 * the caller's to close). */
int dm_profile_write_groups_fd(dm_dataset *ds, const dm_group_loader *ld, int fd, const char *name,
                               char *err, size_t errlen);

/* dm_profile_write of the entry name of the directory dirfd (fsutil.h: a link there is
 * replaced, not followed), created with mode & ~umask; dir names the directory in err. */
int dm_profile_write_at(dm_dataset *ds, int dirfd, const char *dir, const char *name, mode_t mode,
                        char *err, size_t errlen);

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
/* dm_profile_read of the entry name of the directory dirfd, never through a symbolic link
 * (a link there is an error that says so).  1 when there is no such entry. */
int dm_profile_read_at(int dirfd, const char *dir, const char *name, dm_dataset *out, char *err,
                       size_t errlen);
/* dm_profile_read of the open file fd (closed by the call; read from its start), named name
 * in messages: a file written by dm_profile_writer and never named. */
int dm_profile_read_fd(int fd, const char *name, dm_dataset *out, char *err, size_t errlen);
/* The same, the checked pages kept mapped: for a comparison that reads every column next
 * (it gives a column's pages back once it has tested it, dm_dataset_evict). */
int dm_profile_read_keep(const char *path, dm_dataset *out, char *err, size_t errlen);
/* The same from memory (used by the database loader and the fuzzer). */
int dm_profile_parse(const unsigned char *buf, size_t len, const char *name, dm_dataset *out,
                     char *err, size_t errlen);

#endif

/*
 * spill.h - spill files: a column group's parsed numbers kept on disk until the group is
 * compared (issue 20, docs/SCALE.md "Groups on the CSV path").
 *
 * One spill is one unnamed file (O_TMPFILE; where that is not supported, a file created and
 * unlinked at once) in a directory: nothing is ever left behind, whatever ends the process.
 * Values are written as blocks of (column, doubles) tagged with their group, the exact
 * 8 bytes of each value; the blocks of a group are read back in any order (the finish
 * sorts), each straight into the array its column gives.  One writer at a time; the index
 * of the blocks is held in memory (16 bytes per block).
 */
#ifndef DRIFTMON_SPILL_H
#define DRIFTMON_SPILL_H

#include <stddef.h>
#include <stdint.h>

typedef struct dm_spill dm_spill;

/* Values a spilled column holds in memory before it writes them as one block (64 KiB): a
 * builder holds one such block per spilled column. */
#define DM_SPILL_BLOCK_VALUES 8192

/* The directory spill files go to: $TMPDIR when set and absolute, else /tmp. */
const char *dm_spill_dir(void);

/* The free space a spill of `values` values needs: 8 bytes each, a tenth more for the blocks'
 * index and an estimate's error, and 1 MiB. */
uint64_t dm_spill_bytes(uint64_t values);

/* 0 when dir has at least `need` bytes free for an unprivileged writer; -1 with err naming
 * the directory, what is needed and what is free (or why it cannot be told). */
int dm_spill_check_space(const char *dir, uint64_t need, char *err, size_t errlen);

/* An unnamed file in dir, as a spill's (gone when closed, whatever ends the process), for
 * another temporary file of a run (a reference's profile); `need` bytes free checked first
 * (dm_spill_check_space).  The descriptor (read and write), or -1 with err naming dir. */
int dm_spill_temp_file(const char *dir, uint64_t need, char *err, size_t errlen);

/* A new, empty spill file in dir for groups 0..ngroups-1, or NULL with err naming dir. */
dm_spill *dm_spill_open(const char *dir, size_t ngroups, char *err, size_t errlen);

/* Append v[0..n) of column col to group g.  0, or -1 (dm_spill_error says why). */
int dm_spill_write(dm_spill *s, size_t g, uint32_t col, const double *v, size_t n);

/* Read every block of group g: dest(ctx, col, n) gives where its n values go (NULL: the
 * block is not expected, an error).  0, or -1 (dm_spill_error says why). */
typedef double *(*dm_spill_dest)(void *ctx, uint32_t col, size_t n);
int dm_spill_read(dm_spill *s, size_t g, dm_spill_dest dest, void *ctx);

/* The first error, one line naming the directory; "" when none. */
const char *dm_spill_error(const dm_spill *s);

/* Close (the file goes with it).  NULL is fine. */
void dm_spill_close(dm_spill *s);

#endif

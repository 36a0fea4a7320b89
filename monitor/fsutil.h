/*
 * fsutil.h - files written whole or not at all.
 *
 * Every file driftmon writes (reports, index and history pages, saved profiles, the
 * reference cache) goes through dm_write_file_atomic: a reader sees the old file or the new
 * one, never a part.
 */
#ifndef DRIFTMON_FSUTIL_H
#define DRIFTMON_FSUTIL_H

#include <stddef.h>

/* Write data[0..len) to path atomically (temp file in the same directory, fsync, rename,
 * fsync of the directory).  0, or -1 with err (may be NULL) set and nothing left behind. */
int dm_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif

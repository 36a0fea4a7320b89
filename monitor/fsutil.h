/*
 * fsutil.h - files written whole or not at all, with modes of their own.
 *
 * Every file driftmon writes (reports, index and history pages, saved profiles, the
 * reference cache) goes through dm_write_file_atomic or dm_write_file_atomic_at: a reader
 * sees the old file or the new one, never a part.
 *
 * Modes and links (the contract an operator relies on):
 * - a new file is created with the given mode less the umask (0666 & ~umask for reports,
 *   pages and profiles; 0600 & ~umask for the reference cache), or as the directory's
 *   default ACL says; never with a mode bit taken from another file, never setuid;
 * - the file's name is replaced by rename: a symbolic link planted at that name is
 *   replaced, never written through, and its target is left as it was;
 * - the directory is opened once and every name in it is resolved relative to it, so a
 *   link planted inside it is never followed.  The directory's own path is followed as
 *   given (an operator may point the reports directory at another disk with a link) unless
 *   the caller asks for DM_DIR_NOFOLLOW.
 */
#ifndef DRIFTMON_FSUTIL_H
#define DRIFTMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#define DM_FILE_MODE 0666  /* reports, pages, profiles: less the umask */
#define DM_CACHE_MODE 0600 /* the reference cache: private to the daemon's user */

/* Write data[0..len) to path atomically (temp file in the same directory, fsync, rename,
 * fsync of the directory), mode DM_FILE_MODE & ~umask.  0, or -1 with err (may be NULL) set
 * and nothing left behind. */
int dm_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

enum { DM_DIR_FOLLOW = 0, DM_DIR_NOFOLLOW = 1 };

/* Open the directory dir for the *_at functions (O_DIRECTORY, close-on-exec); with
 * DM_DIR_NOFOLLOW its last component must not be a symbolic link (ELOOP otherwise).  The
 * descriptor, or -1 with err naming dir (errno kept). */
int dm_dir_open(const char *dir, int flags, char *err, size_t errlen);

/* dm_write_file_atomic for the entry `name` (one path component, no '/') of the directory
 * dirfd (dm_dir_open), created with mode & ~umask.  dir names the directory in messages. */
int dm_write_file_atomic_at(int dirfd, const char *dir, const char *name, const void *data,
                            size_t len, mode_t mode, char *err, size_t errlen);

/* The same written in pieces, for a file too big to build in memory first: open a
 * temporary file beside `name` in dirfd (created O_EXCL with mode & ~umask, never through a
 * link; fd is open for reading and writing), append with dm_atomic_write (or write to fd
 * directly), then dm_atomic_commit (fsync, rename over name, fsync of the directory) or
 * dm_atomic_abort (the temporary file removed).  Every call but commit and abort leaves the
 * file open; after a failed commit nothing is left behind. */
typedef struct {
    int dirfd, fd;
    int failed; /* errno of the first failed write, 0 */
    char name[256];
    char tmp[256]; /* "" once renamed or removed */
    char shown[4096];
} dm_atomic_file;
int dm_atomic_open_at(dm_atomic_file *a, int dirfd, const char *dir, const char *name, mode_t mode,
                      char *err, size_t errlen);
/* 0, or -1 (the errno kept in a->failed; commit then fails with it). */
int dm_atomic_write(dm_atomic_file *a, const void *data, size_t len);
int dm_atomic_commit(dm_atomic_file *a, char *err, size_t errlen);
void dm_atomic_abort(dm_atomic_file *a);

#endif

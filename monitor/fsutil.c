/* fsutil.c - files written whole or not at all (see fsutil.h). */
#include "monitor/fsutil.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A temporary file's name keeps at most this much of the final name: a long final name
 * must not push ".<name>.tmp.XXXXXX" past NAME_MAX. */
#define TMP_BASE_MAX 100

static void set_err(char *err, size_t errlen, const char *what, const char *path, int errnum)
{
    char msg[128];
    if (err != NULL && errlen > 0) /* GNU strerror_r (_GNU_SOURCE): thread-safe */
        snprintf(err, errlen, "could not %s \"%s\": %s", what, path,
                 strerror_r(errnum, msg, sizeof msg));
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory so the rename itself is durable.  File systems that cannot sync a
 * directory (EINVAL, ENOTSUP) are accepted, as PostgreSQL's fsync_fname does. */
static int sync_dir(int dirfd)
{
    int rc = fsync(dirfd);
    if (rc != 0 && (errno == EINVAL || errno == ENOTSUP))
        rc = 0;
    return rc;
}

/* ".<name, cut>.tmp.XXXXXX" with six random characters. */
static void tmp_name(const char *name, char *out, size_t len)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[6];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < sizeof r; i++, x >>= 7)
            r[i] = (unsigned char)x;
    }
    char suffix[7];
    for (size_t i = 0; i < sizeof r; i++)
        suffix[i] = set[r[i] % (sizeof set - 1)];
    suffix[6] = '\0';
    snprintf(out, len, ".%.*s.tmp.%s", TMP_BASE_MAX, name, suffix);
}

/* A valid entry name: one path component. */
static bool plain_name(const char *name)
{
    return *name != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

/* dm_atomic_open_at with the file's name for messages given whole. */
static int atomic_open(dm_atomic_file *a, int dirfd, const char *shown, const char *name,
                       mode_t mode, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->dirfd = dirfd;
    snprintf(a->shown, sizeof a->shown, "%s", shown);
    if (dirfd < 0 || name == NULL || !plain_name(name) || strlen(name) >= sizeof a->name) {
        set_err(err, errlen, "write", a->shown,
                dirfd < 0 || name == NULL        ? EINVAL
                : strlen(name) >= sizeof a->name ? ENAMETOOLONG
                                                 : EISDIR);
        return -1;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    /* O_EXCL: a name that exists, link or not, is never opened; the mode is ours, less the
     * umask, never a bit of a file this one replaces */
    for (int tries = 0; tries < 100; tries++) {
        tmp_name(name, a->tmp, sizeof a->tmp);
        a->fd =
            openat(dirfd, a->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (a->fd >= 0 || errno != EEXIST)
            break;
    }
    if (a->fd < 0) {
        set_err(err, errlen, "write", a->shown, errno);
        return -1;
    }
    return 0;
}

int dm_atomic_open_at(dm_atomic_file *a, int dirfd, const char *dir, const char *name, mode_t mode,
                      char *err, size_t errlen)
{
    char shown[4096];
    snprintf(shown, sizeof shown, "%s/%s", dir ? dir : ".", name ? name : "");
    return atomic_open(a, dirfd, shown, name, mode, err, errlen);
}

int dm_atomic_write(dm_atomic_file *a, const void *data, size_t len)
{
    if (a->fd < 0 || a->failed)
        return -1;
    if (write_all(a->fd, data, len) != 0) {
        a->failed = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

int dm_atomic_commit(dm_atomic_file *a, char *err, size_t errlen)
{
    if (a->fd < 0) {
        set_err(err, errlen, "write", a->shown, EBADF);
        return -1;
    }
    int saved = a->failed;
    if (saved == 0 && fsync(a->fd) != 0)
        saved = errno;
    if (saved == 0) {
        int cfd = a->fd;
        a->fd = -1;
        if (close(cfd) != 0)
            saved = errno;
    }
    /* rename replaces the name itself: a symbolic link there is replaced, not followed */
    if (saved == 0 && renameat(a->dirfd, a->tmp, a->dirfd, a->name) != 0)
        saved = errno;
    if (saved != 0) {
        set_err(err, errlen, "write", a->shown, saved);
        dm_atomic_abort(a);
        return -1;
    }
    a->tmp[0] = '\0'; /* renamed: the file is in place */
    if (sync_dir(a->dirfd) != 0) {
        /* the new file is complete and in place, only its durability is in doubt */
        set_err(err, errlen, "sync the directory of", a->shown, errno);
        return -1;
    }
    return 0;
}

void dm_atomic_abort(dm_atomic_file *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->tmp[0])
        (void)unlinkat(a->dirfd, a->tmp, 0);
    a->tmp[0] = '\0';
}

/* The work of both entry points; shown names the file in messages. */
static int write_at(int dirfd, const char *shown, const char *name, const void *data, size_t len,
                    mode_t mode, char *err, size_t errlen)
{
    dm_atomic_file a;
    if (atomic_open(&a, dirfd, shown, name, mode, err, errlen) != 0)
        return -1;
    if (dm_atomic_write(&a, data, len) != 0) {
        set_err(err, errlen, "write", shown, a.failed);
        dm_atomic_abort(&a);
        return -1;
    }
    return dm_atomic_commit(&a, err, errlen);
}

int dm_dir_open(const char *dir, int flags, char *err, size_t errlen)
{
    int fd =
        open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (flags & DM_DIR_NOFOLLOW ? O_NOFOLLOW : 0));
    if (fd < 0) {
        int saved = errno;
        struct stat st; /* O_DIRECTORY | O_NOFOLLOW on a link: ENOTDIR on Linux, ELOOP else */
        if ((flags & DM_DIR_NOFOLLOW) && (saved == ELOOP || saved == ENOTDIR) &&
            lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
            saved = ELOOP;
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "could not open directory \"%s\": it is a symbolic link",
                         dir);
        } else
            set_err(err, errlen, "open directory", dir, saved);
        errno = saved;
    }
    return fd;
}

int dm_write_file_atomic_at(int dirfd, const char *dir, const char *name, const void *data,
                            size_t len, mode_t mode, char *err, size_t errlen)
{
    char shown[4096];
    snprintf(shown, sizeof shown, "%s/%s", dir ? dir : ".", name ? name : "");
    if (dirfd < 0 || name == NULL || (data == NULL && len > 0)) {
        set_err(err, errlen, "write", shown, EINVAL);
        return -1;
    }
    return write_at(dirfd, shown, name, data, len, mode, err, errlen);
}

int dm_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    if (path == NULL || (data == NULL && len > 0)) {
        set_err(err, errlen, "write", path != NULL ? path : "(null)", EINVAL);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    if (*base == '\0') {
        set_err(err, errlen, "write", path, EISDIR);
        return -1;
    }
    char *dir = NULL;
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL) {
        set_err(err, errlen, "write", path, ENOMEM);
        return -1;
    }
    /* the directory part is the caller's path and followed as given; the name is not */
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dirfd < 0) {
        set_err(err, errlen, "write", path, errno);
        return -1;
    }
    int rc = write_at(dirfd, path, base, data, len, DM_FILE_MODE, err, errlen);
    close(dirfd);
    return rc;
}

/* fsutil.c - files written whole or not at all (see fsutil.h). */
#include "monitor/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0 && (saved == EINVAL || saved == ENOTSUP))
        rc = 0;
    errno = saved;
    return rc;
}

int dm_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char *dir = NULL, *tmp = NULL;
    int fd = -1, rc = -1, saved = 0;

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
    size_t dirlen = slash == NULL ? 1 : (slash == path ? 1 : (size_t)(slash - path));
    dir = malloc(dirlen + 1);
    tmp = malloc(dirlen + strlen(base) + sizeof "/..tmp.XXXXXX");
    if (dir == NULL || tmp == NULL) {
        saved = ENOMEM;
        goto out;
    }
    if (slash == NULL)
        memcpy(dir, ".", 2);
    else {
        memcpy(dir, slash == path ? "/" : path, dirlen);
        dir[dirlen] = '\0';
    }
    sprintf(tmp, "%s/.%s.tmp.XXXXXX", dir, base);

    fd = mkstemp(tmp);
    if (fd < 0) {
        saved = errno;
        free(tmp);
        tmp = NULL; /* nothing was created */
        goto out;
    }
    /* mkstemp creates 0600; a report keeps the mode of the file it replaces, else 0644. */
    struct stat st;
    mode_t mode = 0644;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        mode = st.st_mode & 07777;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        saved = errno;
        goto out;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0) {
        saved = errno;
        goto out;
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: the file is in place */
    if (sync_dir(dir) != 0) {
        /* the new file is complete and in place, only its durability is in doubt */
        set_err(err, errlen, "sync directory", dir, errno);
        goto out_quiet;
    }
    rc = 0;
out:
    if (rc != 0)
        set_err(err, errlen, "write", path, saved);
out_quiet:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    free(dir);
    return rc;
}

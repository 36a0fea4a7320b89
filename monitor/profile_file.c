/* profile_file.c - saved profiles as files: written atomically, mapped to be read. */
#include "monitor/profile_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/fsutil.h"

int dm_profile_write(dm_dataset *ds, const char *path, char *err, size_t errlen)
{
    size_t len;
    unsigned char *p = dm_profile_serialize(ds, &len);
    if (!p) {
        snprintf(err, errlen, "could not write \"%s\": out of memory", path);
        return -1;
    }
    int rc = dm_write_file_atomic(path, p, len, err, errlen);
    free(p);
    return rc;
}

bool dm_profile_sniff(const char *path)
{
    unsigned char m[DM_PROFILE_MAGIC_BYTES];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    return dm_profile_magic_ok(m, n);
}

static int read_file(const char *path, dm_dataset *out, char *err, size_t errlen, bool background)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "\"%s\" is not a regular file", path);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    /* mapped, not read: no copy of the file's bytes beyond the one into the columns */
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            close(fd);
            (void)madvise(m, len, MADV_SEQUENTIAL);
            (void)madvise(m, len, MADV_WILLNEED); /* read ahead, without mapping every page */
            int rc = dm_profile_decode(m, len, path, out, err, errlen, true, true, background);
            if (rc == 0 && out->arena == m)
                return 0; /* format 2: the values are the mapping's; it lives with them */
            munmap(m, len);
            return rc;
        }
    }
    unsigned char *p = malloc(len ? len : 1);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, len);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "could not read \"%s\": %s", path,
                     n < 0 ? strerror(errno) : "file shrank while reading");
            free(p);
            close(fd);
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    int rc = dm_profile_parse(p, len, path, out, err, errlen);
    free(p);
    return rc;
}

int dm_profile_read(const char *path, dm_dataset *out, char *err, size_t errlen)
{
    return read_file(path, out, err, errlen, false);
}

int dm_profile_read_background(const char *path, dm_dataset *out, char *err, size_t errlen)
{
    return read_file(path, out, err, errlen, true);
}

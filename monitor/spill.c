/* spill.c - spill files (see spill.h). */
#include "monitor/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "monitor/dataset.h"

typedef struct {
    uint64_t off;
    uint32_t col, n;
} block;

typedef struct {
    block *b;
    size_t n, cap;
} block_list;

struct dm_spill {
    int fd;
    uint64_t end;
    block_list *group;
    size_t ngroups;
    char dir[512];
    char err[768];
};

/* A block holds at most this many values (the index's n is 32 bits). */
#define BLOCK_MAX ((size_t)1 << 24)

const char *dm_spill_dir(void)
{
    const char *t = getenv("TMPDIR");
    return t && t[0] == '/' ? t : "/tmp";
}

static void shown_dir(const char *dir, char *out, size_t len)
{
    dm_show_value(dir, strlen(dir), out, len);
}

uint64_t dm_spill_bytes(uint64_t values)
{
    uint64_t need = values * 8;
    return need + need / 10 + ((uint64_t)1 << 20);
}

/* dm_spill_check_space for files of `what` ("spill files", "a temporary file"). */
static int check_space(const char *dir, uint64_t need, const char *what, char *err, size_t errlen)
{
    char shown[DM_SHOWN_LEN], eb[128];
    shown_dir(dir, shown, sizeof shown);
    struct statvfs st;
    if (statvfs(dir, &st) != 0) {
        snprintf(err, errlen, "cannot check the free space for %s in \"%s\" (TMPDIR): %s", what,
                 shown, strerror_r(errno, eb, sizeof eb));
        return -1;
    }
    uint64_t avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    if (avail < need) {
        snprintf(err, errlen,
                 "not enough free space for %s in \"%s\" (TMPDIR): %llu MiB needed, "
                 "%llu MiB free",
                 what, shown, (unsigned long long)((need + (1u << 20) - 1) >> 20),
                 (unsigned long long)(avail >> 20));
        return -1;
    }
    return 0;
}

int dm_spill_check_space(const char *dir, uint64_t need, char *err, size_t errlen)
{
    return check_space(dir, need, "spill files", err, errlen);
}

static int open_unnamed(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
#endif
    char path[600];
    if ((size_t)snprintf(path, sizeof path, "%s/driftmon-spill-XXXXXX", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd2 = mkostemp(path, O_CLOEXEC);
    if (fd2 >= 0)
        unlink(path);
    return fd2;
}

/* open_unnamed, its failure said in err: "cannot create a WHAT in DIR (TMPDIR): why". */
static int open_said(const char *dir, const char *what, char *err, size_t errlen)
{
    int fd = open_unnamed(dir);
    if (fd < 0) {
        char shown[DM_SHOWN_LEN], eb[128];
        shown_dir(dir, shown, sizeof shown);
        snprintf(err, errlen, "cannot create a %s in \"%s\" (TMPDIR): %s", what, shown,
                 strerror_r(errno, eb, sizeof eb));
    }
    return fd;
}

int dm_spill_temp_file(const char *dir, uint64_t need, char *err, size_t errlen)
{
    if (check_space(dir, need, "a temporary file", err, errlen) != 0)
        return -1;
    return open_said(dir, "temporary file", err, errlen);
}

dm_spill *dm_spill_open(const char *dir, size_t ngroups, char *err, size_t errlen)
{
    dm_spill *s = calloc(1, sizeof *s);
    block_list *g = calloc(ngroups ? ngroups : 1, sizeof *g);
    if (!s || !g) {
        free(s);
        free(g);
        snprintf(err, errlen, "out of memory opening a spill file");
        return NULL;
    }
    s->fd = open_said(dir, "spill file", err, errlen);
    if (s->fd < 0) {
        free(s);
        free(g);
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->group = g;
    s->ngroups = ngroups;
    return s;
}

static int spill_fail(dm_spill *s, const char *what, int e)
{
    if (s->err[0] == '\0') {
        char shown[DM_SHOWN_LEN], eb[128];
        shown_dir(s->dir, shown, sizeof shown);
        snprintf(s->err, sizeof s->err, "could not %s the spill file in \"%s\" (TMPDIR): %s", what,
                 shown, e ? strerror_r(e, eb, sizeof eb) : "short read");
    }
    return -1;
}

static int write_all(int fd, const void *p, size_t len, uint64_t off)
{
    const char *q = p;
    while (len > 0) {
        ssize_t w = pwrite(fd, q, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? (errno = ENOSPC, -1) : -1;
        q += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int dm_spill_write(dm_spill *s, size_t g, uint32_t col, const double *v, size_t n)
{
    if (s->err[0])
        return -1;
    if (g >= s->ngroups) {
        errno = EINVAL;
        return spill_fail(s, "write", EINVAL);
    }
    block_list *l = &s->group[g];
    while (n > 0) {
        size_t m = n < BLOCK_MAX ? n : BLOCK_MAX;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            block *nb = realloc(l->b, cap * sizeof *nb);
            if (!nb)
                return spill_fail(s, "index", ENOMEM);
            l->b = nb;
            l->cap = cap;
        }
        if (write_all(s->fd, v, m * sizeof *v, s->end) != 0)
            return spill_fail(s, "write", errno);
        l->b[l->n++] = (block){s->end, col, (uint32_t)m};
        s->end += m * sizeof *v;
        v += m;
        n -= m;
    }
    return 0;
}

int dm_spill_read(dm_spill *s, size_t g, dm_spill_dest dest, void *ctx)
{
    if (s->err[0])
        return -1;
    if (g >= s->ngroups)
        return 0;
    const block_list *l = &s->group[g];
    for (size_t i = 0; i < l->n; i++) {
        const block *b = &l->b[i];
        char *to = (char *)dest(ctx, b->col, b->n);
        if (!to) {
            snprintf(s->err, sizeof s->err, "a spill file block of column %u is not expected",
                     (unsigned)b->col);
            return -1;
        }
        size_t len = (size_t)b->n * sizeof(double);
        uint64_t off = b->off;
        while (len > 0) {
            ssize_t r = pread(s->fd, to, len, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return spill_fail(s, "read", r < 0 ? errno : 0);
            to += r;
            len -= (size_t)r;
            off += (uint64_t)r;
        }
    }
    return 0;
}

const char *dm_spill_error(const dm_spill *s)
{
    return s ? s->err : "";
}

void dm_spill_close(dm_spill *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    for (size_t i = 0; i < s->ngroups; i++)
        free(s->group[i].b);
    free(s->group);
    free(s);
}

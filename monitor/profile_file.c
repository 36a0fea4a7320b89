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

struct dm_profile_writer {
    dm_profile_buf file; /* the format-2 bytes, to the file */
    dm_profile_buf id;   /* the identity (version-1) bytes, to the digest */
    uint32_t ncols, written;
    size_t nleft_out;
};

void dm_profile_writer_free(dm_profile_writer *w)
{
    if (!w)
        return;
    free(w->file.p);
    free(w->id.p);
    if (w->id.h) {
        char ignored[65];
        dm_sha256_final(w->id.h, ignored); /* frees it */
    }
    free(w);
}

dm_profile_writer *dm_profile_writer_new(dm_atomic_file *f, uint64_t rows, uint32_t ncols,
                                         size_t nleft_out)
{
    dm_profile_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->file.p = malloc(DM_PROFILE_STAGE_BYTES);
    w->file.file = f;
    w->id.p = malloc(DM_PROFILE_STAGE_BYTES);
    w->id.h = dm_sha256_alloc();
    if (!w->file.p || !w->id.p || !w->id.h) {
        dm_profile_writer_free(w);
        return NULL;
    }
    w->ncols = ncols;
    w->nleft_out = nleft_out;
    dm_dataset shell;
    dm_dataset_init(&shell);
    shell.rows = rows;
    shell.ncols = ncols;
    shell.nleft_out = nleft_out;
    dm_profile_put_header(&shell, &w->file, DM_PROFILE_VERSION);
    dm_profile_put_header(&shell, &w->id, DM_PROFILE_IDENTITY_VERSION);
    return w;
}

int dm_profile_writer_column(dm_profile_writer *w, const dm_column *c)
{
    if (w->written >= w->ncols)
        return -1;
    w->written++;
    dm_profile_encode_column(&w->file, c, true);
    dm_profile_encode_column(&w->id, c, false);
    return w->file.oom || w->id.oom ? -1 : 0;
}

int dm_profile_writer_finish(dm_profile_writer *w, const dm_dataset *left_out, char sha256[65])
{
    int rc = -1;
    if (w->written == w->ncols && left_out->nleft_out == w->nleft_out) {
        dm_profile_encode_left_out(&w->file, left_out);
        dm_profile_encode_left_out(&w->id, left_out);
        dm_profile_buf_flush(&w->id);
        dm_sha256_final(w->id.h, sha256);
        w->id.h = NULL;
        /* trailer: the raw digest */
        unsigned char raw[32];
        for (int i = 0; i < 32; i++) {
            const char *x = sha256 + 2 * i;
            unsigned hi = (unsigned)(x[0] <= '9' ? x[0] - '0' : x[0] - 'a' + 10);
            unsigned lo = (unsigned)(x[1] <= '9' ? x[1] - '0' : x[1] - 'a' + 10);
            raw[i] = (unsigned char)(hi << 4 | lo);
        }
        dm_profile_buf_flush(&w->file);
        if (!w->file.oom && dm_atomic_write(w->file.file, raw, sizeof raw) == 0 && !w->id.oom)
            rc = 0;
    }
    dm_profile_writer_free(w);
    return rc;
}

/* Which group of ld holds each of ds's ncols columns (malloc'ed), NULL when out of memory. */
static size_t *group_of_columns(const dm_group_loader *ld, size_t ncols)
{
    size_t *g = malloc((ncols ? ncols : 1) * sizeof *g);
    if (!g)
        return NULL;
    for (size_t i = 0; i < ncols; i++)
        g[i] = SIZE_MAX;
    for (size_t k = 0; k < ld->ngroups; k++)
        for (size_t j = 0; j < ld->ncols[k]; j++)
            if (ld->cols[k][j] < ncols)
                g[ld->cols[k][j]] = k;
    return g;
}

/* The columns' values through the loader (issue 20), in the dataset's column order: a group
 * is loaded when its first column is to be written, each numeric column's values are dropped
 * once written and the group is released after its last, so what is held is the group being
 * written and what is left of the groups begun before it (a CSV's group 0: its (value,
 * count) columns, which may lie anywhere in the file). */
typedef struct {
    const dm_group_loader *ld;
    size_t *group_of, *left; /* per column; per group, its columns still to write */
    unsigned char *state;    /* per group: 0 not loaded, 1 loaded, 2 released */
} group_walk;

static int walk_begin(group_walk *w, const dm_group_loader *ld, const dm_dataset *ds)
{
    memset(w, 0, sizeof *w);
    w->ld = ld;
    if (!ld)
        return 0;
    w->group_of = group_of_columns(ld, ds->ncols);
    w->left = calloc(ld->ngroups + 1, sizeof *w->left);
    w->state = calloc(ld->ngroups + 1, 1);
    if (!w->group_of || !w->left || !w->state)
        return -1;
    for (size_t i = 0; i < ds->ncols; i++)
        if (w->group_of[i] != SIZE_MAX)
            w->left[w->group_of[i]]++;
    return 0;
}

static void walk_end(group_walk *w, dm_dataset *ds)
{
    for (size_t k = 0; w->ld && w->state && k < w->ld->ngroups; k++)
        if (w->state[k] == 1 && w->ld->release)
            w->ld->release(w->ld->ctx, k, ds);
    free(w->group_of);
    free(w->left);
    free(w->state);
}

/* Column i's values there to be written.  0, or -1 with err. */
static int walk_load(group_walk *w, dm_dataset *ds, size_t i, char *err, size_t errlen)
{
    if (!w->ld || w->group_of[i] == SIZE_MAX)
        return 0;
    size_t k = w->group_of[i];
    if (w->state[k] != 0) /* loaded (a group is released only after its last column) */
        return 0;
    w->state[k] = 1;
    return w->ld->load ? w->ld->load(w->ld->ctx, k, ds, err, errlen) : 0;
}

/* Column i written: its values dropped, its group released after its last column. */
static void walk_done(group_walk *w, dm_dataset *ds, size_t i)
{
    if (!w->ld || w->group_of[i] == SIZE_MAX)
        return;
    size_t k = w->group_of[i];
    if (ds->col[i].storage == DM_STORE_NUM)
        dm_column_drop_numbers(&ds->col[i]);
    if (--w->left[k] == 0) {
        if (w->ld->release)
            w->ld->release(w->ld->ctx, k, ds);
        w->state[k] = 2;
    }
}

/* ds written through a writer into the open file f, its values through ld when not NULL;
 * ds->sha256 set.  0, or -1 with err. */
static int write_stream(dm_dataset *ds, const dm_group_loader *ld, dm_atomic_file *f, char *err,
                        size_t errlen)
{
    dm_profile_writer *w = dm_profile_writer_new(f, ds->rows, (uint32_t)ds->ncols, ds->nleft_out);
    group_walk gw;
    if (!w || walk_begin(&gw, ld, ds) != 0) {
        if (w)
            walk_end(&gw, ds);
        dm_profile_writer_free(w);
        snprintf(err, errlen, "could not write \"%s\": out of memory", f->shown);
        return -1;
    }
    int rc = 0;
    bool load_failed = false;
    for (size_t i = 0; i < ds->ncols && rc == 0; i++) {
        if (walk_load(&gw, ds, i, err, errlen) != 0) {
            rc = -1;
            load_failed = true;
            break;
        }
        rc = dm_profile_writer_column(w, &ds->col[i]);
        dm_dataset_evict(ds, i); /* a mapped profile's pages, once written out */
        walk_done(&gw, ds, i);
    }
    walk_end(&gw, ds);
    char digest[65];
    if (rc != 0) {
        dm_profile_writer_free(w);
    } else if (dm_profile_writer_finish(w, ds, digest) != 0) {
        rc = -1;
    }
    if (rc != 0 && !load_failed) { /* a failed load has said why */
        char msg[128];
        if (f->failed)
            snprintf(err, errlen, "could not write \"%s\": %s", f->shown,
                     strerror_r(f->failed, msg, sizeof msg));
        else
            snprintf(err, errlen, "could not write \"%s\": out of memory", f->shown);
    }
    if (rc != 0)
        return -1;
    memcpy(ds->sha256, digest, sizeof ds->sha256);
    return 0;
}

int dm_profile_write_at(dm_dataset *ds, int dirfd, const char *dir, const char *name, mode_t mode,
                        char *err, size_t errlen)
{
    dm_atomic_file f;
    if (dm_atomic_open_at(&f, dirfd, dir, name, mode, err, errlen) != 0)
        return -1;
    if (write_stream(ds, NULL, &f, err, errlen) != 0) {
        dm_atomic_abort(&f);
        return -1;
    }
    return dm_atomic_commit(&f, err, errlen);
}

int dm_profile_write_groups(dm_dataset *ds, const dm_group_loader *ld, const char *path, char *err,
                            size_t errlen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    char *dir = slash == NULL   ? strdup(".")
                : slash == path ? strdup("/")
                                : strndup(path, (size_t)(slash - path));
    if (!dir) {
        snprintf(err, errlen, "could not write \"%s\": out of memory", path);
        return -1;
    }
    /* the directory part is the caller's path and followed as given; the name is not */
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dirfd < 0) {
        snprintf(err, errlen, "could not write \"%s\": %s", path, strerror(errno));
        return -1;
    }
    dm_atomic_file f;
    int rc = dm_atomic_open_at(&f, dirfd, NULL, base, DM_FILE_MODE, err, errlen);
    if (rc == 0) {
        snprintf(f.shown, sizeof f.shown, "%s", path);
        if (write_stream(ds, ld, &f, err, errlen) != 0) {
            dm_atomic_abort(&f);
            rc = -1;
        } else {
            rc = dm_atomic_commit(&f, err, errlen);
        }
    }
    close(dirfd);
    return rc;
}

int dm_profile_write_groups_fd(dm_dataset *ds, const dm_group_loader *ld, int fd, const char *name,
                               char *err, size_t errlen)
{
    dm_atomic_file f;
    memset(&f, 0, sizeof f);
    f.dirfd = -1;
    f.fd = fd;
    snprintf(f.shown, sizeof f.shown, "%s", name);
    return write_stream(ds, ld, &f, err, errlen);
}

int dm_profile_write(dm_dataset *ds, const char *path, char *err, size_t errlen)
{
    return dm_profile_write_groups(ds, NULL, path, err, errlen);
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

/* Read the open file fd (closed here); path names it in messages. */
static int read_fd(int fd, const char *path, dm_dataset *out, char *err, size_t errlen,
                   bool keep_pages)
{
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
            int rc = dm_profile_decode(m, len, path, out, err, errlen, true, true, keep_pages);
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

static int read_file(const char *path, dm_dataset *out, char *err, size_t errlen, bool keep_pages)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    return read_fd(fd, path, out, err, errlen, keep_pages);
}

int dm_profile_read_at(int dirfd, const char *dir, const char *name, dm_dataset *out, char *err,
                       size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        snprintf(err, errlen, "could not open \"%s\": %s", path,
                 saved == ELOOP ? "it is a symbolic link" : strerror(saved));
        return saved == ENOENT ? 1 : -1;
    }
    return read_fd(fd, path, out, err, errlen, false);
}

int dm_profile_read_fd(int fd, const char *name, dm_dataset *out, char *err, size_t errlen)
{
    (void)lseek(fd, 0, SEEK_SET);
    return read_fd(fd, name, out, err, errlen, false);
}

int dm_profile_read(const char *path, dm_dataset *out, char *err, size_t errlen)
{
    return read_file(path, out, err, errlen, false);
}

int dm_profile_read_keep(const char *path, dm_dataset *out, char *err, size_t errlen)
{
    return read_file(path, out, err, errlen, true);
}

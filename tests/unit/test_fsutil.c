/*
 * test_fsutil.c - files written whole or not at all (monitor/fsutil.c): the content after a
 * write and a replacement, and every failure leaving the directory as it was (its entries
 * counted before and after).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/fsutil.h"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/dm-test-fsutil.XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert_not_null(d, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

/* Number of entries in dir other than . and .. ; names them in *list. */
static size_t dir_entries(const char *dir, char *list, size_t listlen)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    size_t n = 0;
    list[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        strncat(list, e->d_name, listlen - strlen(list) - 2);
        strcat(list, " ");
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void cleanup_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(fsutil, atomic_write_success_and_replace)
{
    char *dir = make_tmpdir();
    char path[512], list[1024];
    snprintf(path, sizeof path, "%s/report.json", dir);
    char err[256] = "";
    cr_assert_eq(dm_write_file_atomic(path, "first", 5, err, sizeof err), 0, "%s", err);
    char *got = slurp(path);
    cr_assert_str_eq(got, "first");
    free(got);
    cr_assert_eq(dm_write_file_atomic(path, "second!", 7, err, sizeof err), 0, "%s", err);
    got = slurp(path);
    cr_assert_str_eq(got, "second!");
    free(got);
    /* an empty file is a valid write */
    cr_assert_eq(dm_write_file_atomic(path, "", 0, err, sizeof err), 0, "%s", err);
    got = slurp(path);
    cr_assert_str_eq(got, "");
    free(got);
    cr_assert_eq(dir_entries(dir, list, sizeof list), 1, "left behind: %s", list);

    /* a relative path (no directory part) writes into the current directory */
    char cwd[512];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(dir), 0);
    cr_assert_eq(dm_write_file_atomic("rel.txt", "x", 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(chdir(cwd), 0);
    snprintf(path, sizeof path, "%s/rel.txt", dir);
    got = slurp(path);
    cr_assert_str_eq(got, "x");
    free(got);
    cleanup_dir(dir);
    free(dir);
}

Test(fsutil, atomic_write_failures_leave_nothing)
{
    char *dir = make_tmpdir();
    char path[512], err[512], list[1024];

    /* 1. the directory does not exist */
    snprintf(path, sizeof path, "%s/missing/report.json", dir);
    cr_assert_eq(dm_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "could not write \"%s\": %s", path, strerror(ENOENT));
    cr_assert_str_eq(err, want);
    cr_assert_eq(dir_entries(dir, list, sizeof list), 0, "left behind: %s", list);

    /* 2. the parent is a regular file (fails as root too) */
    char file[512];
    snprintf(file, sizeof file, "%s/plain", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/plain/report.json", dir);
    cr_assert_eq(dm_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "could not write \"%s\": %s", path, strerror(ENOTDIR));
    cr_assert_str_eq(err, want);
    cr_assert_eq(dir_entries(dir, list, sizeof list), 1, "left behind: %s", list);

    /* 3. the target is a directory: the temp file is created and written, the rename
     *    fails (EISDIR), the temp file must be removed */
    snprintf(path, sizeof path, "%s/adir", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(dm_write_file_atomic(path, "payload", 7, err, sizeof err), -1);
    snprintf(want, sizeof want, "could not write \"%s\": %s", path, strerror(EISDIR));
    cr_assert_str_eq(err, want);
    cr_assert_eq(dir_entries(dir, list, sizeof list), 2, "left behind: %s", list);

    /* 4. a path naming a directory ("dir/") */
    snprintf(path, sizeof path, "%s/", dir);
    cr_assert_eq(dm_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, path));
    cr_assert_eq(dir_entries(dir, list, sizeof list), 2, "left behind: %s", list);

    /* 5. a NULL / zero-length error buffer is allowed */
    snprintf(path, sizeof path, "%s/missing/r.json", dir);
    cr_assert_eq(dm_write_file_atomic(path, "x", 1, NULL, 0), -1);
    cr_assert_eq(dir_entries(dir, list, sizeof list), 2, "left behind: %s", list);
    cleanup_dir(dir);
    free(dir);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path, strerror(errno));
    cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", path);
    return st.st_mode & 07777;
}

/* A new file's mode is 0666 less the umask: never the mode of the file it replaces. */
Test(fsutil, new_file_mode_is_0666_less_the_umask)
{
    char *dir = make_tmpdir();
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/report.html", dir);
    umask(077);
    cr_assert_eq(dm_write_file_atomic(path, "a", 1, err, sizeof err), 0, "%s", err);
    cr_expect_eq(mode_of(path), 0600, "umask 077: got %o", (unsigned)mode_of(path));
    /* the file it replaces is 04755: nothing of that is taken over */
    cr_assert_eq(chmod(path, 04755), 0);
    umask(022);
    cr_assert_eq(dm_write_file_atomic(path, "b", 1, err, sizeof err), 0, "%s", err);
    cr_expect_eq(mode_of(path), 0644, "umask 022 over a 04755 file: got %o",
                 (unsigned)mode_of(path));
    umask(0);
    cr_assert_eq(dm_write_file_atomic(path, "c", 1, err, sizeof err), 0, "%s", err);
    cr_expect_eq(mode_of(path), 0666, "umask 0: got %o", (unsigned)mode_of(path));
    /* the cache's mode: 0600 less the umask */
    int fd = dm_dir_open(dir, DM_DIR_NOFOLLOW, err, sizeof err);
    cr_assert_geq(fd, 0, "%s", err);
    cr_assert_eq(dm_write_file_atomic_at(fd, dir, "c.dmp", "x", 1, DM_CACHE_MODE, err, sizeof err),
                 0, "%s", err);
    close(fd);
    snprintf(path, sizeof path, "%s/c.dmp", dir);
    cr_expect_eq(mode_of(path), 0600, "cache file: got %o", (unsigned)mode_of(path));
    cleanup_dir(dir);
    free(dir);
}

/* A symbolic link planted at the output path is replaced by the new file; its target (a
 * setuid file) keeps its content and mode, and the new file is not setuid. */
Test(fsutil, planted_symlink_is_replaced_never_written_through)
{
    char *dir = make_tmpdir();
    char path[512], target[512], err[512] = "";
    snprintf(target, sizeof target, "%s/victim", dir);
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(target, "w");
    cr_assert_not_null(f);
    fputs("precious", f);
    fclose(f);
    cr_assert_eq(chmod(target, 04755), 0);
    cr_assert_eq(symlink(target, path), 0);
    umask(022);
    cr_assert_eq(dm_write_file_atomic(path, "new", 3, err, sizeof err), 0, "%s", err);
    mode_t m = mode_of(path); /* lstat: the link itself was replaced by a regular file */
    cr_expect_eq(m & 07000, 0, "the new file has special bits %o", (unsigned)m);
    cr_expect_eq(m, 0644, "got %o", (unsigned)m);
    char *got = slurp(path);
    cr_expect_str_eq(got, "new");
    free(got);
    got = slurp(target);
    cr_expect_str_eq(got, "precious", "the link's target was written through");
    free(got);
    cr_expect_eq(mode_of(target), 04755, "the target's mode changed");
    /* the same through the directory-relative entry point */
    unlink(path);
    cr_assert_eq(symlink(target, path), 0);
    int fd = dm_dir_open(dir, DM_DIR_FOLLOW, err, sizeof err);
    cr_assert_geq(fd, 0, "%s", err);
    cr_assert_eq(
        dm_write_file_atomic_at(fd, dir, "index.html", "n2", 2, DM_FILE_MODE, err, sizeof err), 0,
        "%s", err);
    close(fd);
    cr_expect_eq(mode_of(path), 0644);
    got = slurp(target);
    cr_expect_str_eq(got, "precious");
    free(got);
    cleanup_dir(dir);
    free(dir);
}

/* DM_DIR_NOFOLLOW refuses a directory that is a symbolic link and says so; the default
 * follows the path as given. */
Test(fsutil, dir_open_nofollow_refuses_a_link)
{
    char *dir = make_tmpdir();
    char real[512], link[512], err[512] = "";
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    cr_assert_eq(mkdir(real, 0700), 0);
    cr_assert_eq(symlink(real, link), 0);
    errno = 0;
    cr_expect_eq(dm_dir_open(link, DM_DIR_NOFOLLOW, err, sizeof err), -1);
    cr_expect_eq(errno, ELOOP);
    char want[600];
    snprintf(want, sizeof want, "could not open directory \"%s\": it is a symbolic link", link);
    cr_expect_str_eq(err, want);
    int fd = dm_dir_open(link, DM_DIR_FOLLOW, err, sizeof err);
    cr_expect_geq(fd, 0, "%s", err);
    if (fd >= 0)
        close(fd);
    fd = dm_dir_open(real, DM_DIR_NOFOLLOW, err, sizeof err);
    cr_expect_geq(fd, 0, "%s", err);
    if (fd >= 0)
        close(fd);
    cleanup_dir(dir);
    free(dir);
}

/* A final name near NAME_MAX (255) is written: the temporary name stays within it. */
Test(fsutil, long_name_is_written)
{
    char *dir = make_tmpdir();
    char name[251], path[800], err[512] = "", list[2048];
    memset(name, 'n', 250);
    name[250] = '\0';
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(dm_write_file_atomic(path, "x", 1, err, sizeof err), 0, "%s", err);
    char *got = slurp(path);
    cr_expect_str_eq(got, "x");
    free(got);
    cr_expect_eq(dir_entries(dir, list, sizeof list), 1, "left behind: %s", list);
    cleanup_dir(dir);
    free(dir);
}

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

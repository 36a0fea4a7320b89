/*
 * test_profile.c - suite "profile": saved reference profiles (monitor/profile_format.c,
 * profile_digest.c, profile_file.c).
 *
 * What is checked follows from the format written down in monitor/profile.h:
 *   - the identity (the digest) is SHA-256 of the version-1 encoding, assembled here from
 *     dm_profile_header_encode + dm_profile_column_encode (the pieces the database stores)
 *     and hashed with OpenSSL: a format-2 file carries that digest, and a version-1 file of
 *     the same data loads to the same content and digest;
 *   - format 2 puts every numeric value array at a file offset that is a multiple of 8 and a
 *     mapped file's values are used in place (they lie inside the mapping, not a copy);
 *   - bytes that are not content are checked (non-zero padding, a 4-byte count width in a
 *     numeric column of format 2), and a changed value is caught by the digest.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/dataset.h"
#include "monitor/profile.h"
#include "monitor/sha256.h"
#include "stats/stats.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dm-test-profile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(profile, .init = setup, .fini = teardown);

/* Column names of lengths 1, 2, 3, ... so the value arrays fall at every alignment in
 * format 1; "a" has ties (counts up to 3), "bb" none (all counts 1), "ccc" is text, "dddd"
 * has counts up to 7, "eeeee" is empty but for missing values. */
static void build(dm_dataset *ds, size_t rows)
{
    static const char *const names[] = {"a", "bb", "ccc", "dddd", "eeeee"};
    dm_builder *b = dm_builder_alloc(5, names, NULL);
    cr_assert_not_null(b);
    char buf[64];
    for (size_t r = 0; r < rows; r++) {
        int n = snprintf(buf, sizeof buf, "%.3f", (double)(r / 3) * 0.25 - 100.0);
        cr_assert_eq(dm_builder_field(b, 0, buf, (size_t)n, r + 2), 0);
        n = snprintf(buf, sizeof buf, "%zu.5", r * 7919 % 100003);
        cr_assert_eq(dm_builder_field(b, 1, buf, (size_t)n, r + 2), 0);
        n = snprintf(buf, sizeof buf, "cat<%zu>", r % 13);
        cr_assert_eq(dm_builder_field(b, 2, buf, (size_t)n, r + 2), 0);
        n = snprintf(buf, sizeof buf, "%zu", r % (rows / 7 + 1));
        cr_assert_eq(dm_builder_field(b, 3, buf, (size_t)n, r + 2), 0);
        cr_assert_eq(dm_builder_field(b, 4, "", 0, r + 2), 0);
        dm_builder_end_row(b);
    }
    cr_assert_eq(dm_builder_finish(b, "test", ds), 0);
    dm_builder_free(b);
}

/* build() of `rows` rows, written as a profile to dir/name (its path in path). */
static void build_written(dm_dataset *ds, size_t rows, const char *name, char *path, size_t len)
{
    char err[512];
    build(ds, rows);
    snprintf(path, len, "%s/%s", dir, name);
    cr_assert_eq(dm_profile_write(ds, path, err, sizeof err), 0, "%s", err);
}

static void assert_same_content(const dm_dataset *a, const dm_dataset *b)
{
    cr_assert_eq(a->rows, b->rows);
    cr_assert_eq(a->ncols, b->ncols);
    for (size_t i = 0; i < a->ncols; i++) {
        const dm_column *x = &a->col[i], *y = &b->col[i];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->storage, y->storage);
        cr_assert_eq(x->missing, y->missing);
        cr_assert_eq(x->n, y->n);
        cr_assert_eq(x->is_int, y->is_int);
        cr_assert_eq(x->n_distinct, y->n_distinct, "%s", x->name);
        for (size_t k = 0; k < x->n_distinct; k++) {
            cr_assert_eq(memcmp(&x->value[k], &y->value[k], sizeof(double)), 0, "%s[%zu]", x->name,
                         k);
            cr_assert_eq(x->count[k], y->count[k], "%s count[%zu]", x->name, k);
        }
        cr_assert_eq(x->n_cats, y->n_cats);
        for (size_t k = 0; k < x->n_cats; k++) {
            cr_assert_str_eq(x->cat[k], y->cat[k]);
            cr_assert_eq(x->cat_count[k], y->cat_count[k]);
        }
    }
}

/* The version-1 encoding of ds, assembled from the per-column pieces; *len its length. */
static unsigned char *identity_bytes(const dm_dataset *ds, size_t *len)
{
    unsigned char hdr[DM_PROFILE_HEADER_BYTES];
    dm_profile_header_encode(ds->rows, (uint32_t)ds->ncols, hdr);
    size_t n = sizeof hdr;
    unsigned char *p = malloc(n);
    cr_assert_not_null(p);
    memcpy(p, hdr, n);
    for (size_t i = 0; i < ds->ncols; i++) {
        size_t l;
        unsigned char *s = dm_profile_column_encode(&ds->col[i], &l);
        cr_assert_not_null(s);
        p = realloc(p, n + l + 32);
        cr_assert_not_null(p);
        memcpy(p + n, s, l);
        n += l;
        free(s);
    }
    *len = n;
    return p;
}

static void put_file(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static unsigned char *get_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(*n);
    cr_assert_not_null(p);
    cr_assert_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

/* dm_profile_read_background and its check waited for: 0, or -1 with err set (nothing left
 * allocated). */
static int read_checked(const char *path, dm_dataset *out, char *err, size_t errlen)
{
    if (dm_profile_read_background(path, out, err, errlen) != 0)
        return -1;
    if (dm_profile_finish_check(out, err, errlen) != 0) {
        dm_dataset_release(out);
        return -1;
    }
    return 0;
}

static void hex_to_raw(const char *hex, unsigned char raw[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        raw[i] = (unsigned char)v;
    }
}

Test(profile, format2_carries_the_identity_digest_and_is_used_in_place)
{
    /* rows above 4 MiB of file so that format 1 would take the arena path as well */
    dm_dataset ds;
    build(&ds, 300000);
    size_t idl;
    unsigned char *id = identity_bytes(&ds, &idl);
    char want[65];
    dm_sha256_hex(id, idl, want);

    char path[128];
    snprintf(path, sizeof path, "%s/p2.dmp", dir);
    char err[512];
    cr_assert_eq(dm_profile_write(&ds, path, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(ds.sha256, want);
    size_t fl;
    unsigned char *file = get_file(path, &fl);
    uint32_t version;
    memcpy(&version, file + 8, 4);
    cr_assert_eq(version, 2u);
    char trailer[65];
    for (int i = 0; i < 32; i++)
        snprintf(trailer + 2 * i, 3, "%02x", file[fl - 32 + (size_t)i]);
    cr_assert_str_eq(trailer, want, "the trailer is the identity digest");

    dm_dataset back;
    cr_assert_eq(dm_profile_read(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.sha256, want);
    assert_same_content(&ds, &back);
    const unsigned char *base = back.arena;
    cr_assert_not_null(base, "the mapping belongs to the dataset");
    for (size_t i = 0; i < back.ncols; i++) {
        const dm_column *c = &back.col[i];
        if (c->storage != DM_STORE_NUM || c->n_distinct == 0)
            continue;
        const unsigned char *v = (const unsigned char *)c->value;
        cr_assert(v >= base && v < base + back.arena_len, "%s: values not in the mapping", c->name);
        cr_assert_eq((size_t)(v - base) % 8, 0, "%s: values at an odd offset", c->name);
        cr_assert_eq(memcmp(v, file + (v - base), c->n_distinct * 8), 0);
    }
    dm_dataset_release(&back);

    /* the same file parsed from memory (copied, not borrowed) */
    cr_assert_eq(dm_profile_parse(file, fl, "mem", &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.sha256, want);
    assert_same_content(&ds, &back);
    dm_dataset_release(&back);
    free(file);

    /* a version-1 file of the same data: same content, same identity */
    unsigned char raw[32];
    hex_to_raw(want, raw);
    memcpy(id + idl, raw, 32);
    snprintf(path, sizeof path, "%s/p1.dmp", dir);
    put_file(path, id, idl + 32);
    cr_assert_eq(dm_profile_read(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.sha256, want);
    assert_same_content(&ds, &back);
    dm_dataset_release(&back);
    free(id);
    dm_dataset_release(&ds);
}

/* Layout of the first column "a" in format 2: header 28 bytes, u32 name length, "a",
 * four flag bytes (count width at 28 + 4 + 1 + 2 = 35), four u64 (missing, nonfinite, n,
 * n_distinct) up to offset 69, then 3 bytes of padding to 72 where the values start. */
enum { A_WIDTH = 35, A_PAD = 69, A_VALUES = 72 };

static void expect_refused(const unsigned char *p, size_t n, const char *name, const char *what)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    put_file(path, p, n);
    dm_dataset ds;
    cr_assert_eq(dm_profile_read(path, &ds, err, sizeof err), -1, "%s accepted", name);
    cr_assert_not_null(strstr(err, path), "%s: file not named: %s", name, err);
    cr_assert_not_null(strstr(err, what), "%s: \"%s\" not in: %s", name, what, err);
}

Test(profile, format2_checks_the_bytes_that_are_not_content)
{
    dm_dataset ds;
    char path[128];
    build_written(&ds, 1000, "ok.dmp", path, sizeof path);
    size_t n;
    unsigned char *good = get_file(path, &n);
    cr_assert_eq(good[A_WIDTH], 8, "ties in \"a\": u64 counts in format 2");
    for (int i = A_PAD; i < A_VALUES; i++)
        cr_assert_eq(good[i], 0);
    double v0;
    memcpy(&v0, good + A_VALUES, 8);
    cr_assert_eq(v0, -100.0, "the smallest value of \"a\" at offset 72");
    unsigned char *p = malloc(n);
    cr_assert_not_null(p);

    memcpy(p, good, n);
    p[A_PAD + 1] = 1;
    expect_refused(p, n, "pad.dmp", "non-zero padding");

    memcpy(p, good, n);
    p[A_WIDTH] = 4;
    expect_refused(p, n, "width.dmp", "bad column flags");

    memcpy(p, good, n);
    p[A_VALUES] ^= 1; /* -100 becomes its neighbour: still finite and ascending */
    expect_refused(p, n, "value.dmp", "does not match its sha256");

    memcpy(p, good, n);
    memcpy(p + A_VALUES, good + A_VALUES + 8, 8); /* the first two values of "a" swapped */
    memcpy(p + A_VALUES + 8, good + A_VALUES, 8);
    expect_refused(p, n, "order.dmp", "values not ascending");

    memcpy(p, good, n);
    p[n - 1] ^= 0x80;
    expect_refused(p, n, "trailer.dmp", "does not match its sha256");

    expect_refused(good, n - 40, "short.dmp", "corrupt profile");

    free(p);
    free(good);
    dm_dataset_release(&ds);
}

/* The file offset of column `name`'s values in a format-2 file (mapped: used in place). */
static size_t values_offset(const char *path, const char *name)
{
    dm_dataset ds;
    char err[512];
    cr_assert_eq(dm_profile_read(path, &ds, err, sizeof err), 0, "%s", err);
    size_t off = 0;
    for (size_t i = 0; i < ds.ncols; i++)
        if (strcmp(ds.col[i].name, name) == 0)
            off =
                (size_t)((const unsigned char *)ds.col[i].value - (const unsigned char *)ds.arena);
    dm_dataset_release(&ds);
    cr_assert_gt(off, 0, "no column %s", name);
    return off;
}

/* A profile's check as it is read: the values used in place get their moments (those of the
 * written columns, to the bit) whether checked at once (pages given back) or on a thread
 * (pages kept), with the same content and digest; values out of order are reported for the first
 * column that has them, named; a value changed in its low bit stays ascending and is refused by the
 * digest. */
Test(profile, read_checks_values_and_computes_moments)
{
    dm_dataset ds;
    char path[128], err[512];
    build_written(&ds, 300000, "chk.dmp", path, sizeof path);
    dm_dataset now, kept;
    cr_assert_eq(dm_profile_read(path, &now, err, sizeof err), 0, "%s", err);
    cr_assert_eq(read_checked(path, &kept, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(kept.sha256, now.sha256);
    cr_assert_str_eq(now.sha256, ds.sha256);
    assert_same_content(&ds, &now);
    assert_same_content(&ds, &kept);
    size_t with_moments = 0;
    for (size_t i = 0; i < ds.ncols; i++) {
        const dm_column *w = &ds.col[i];
        if (w->storage != DM_STORE_NUM || w->n == 0)
            continue;
        stats_num sn = {w->value, w->count, w->n_distinct, w->n, w->is_int, false, 0., 0.};
        double mean, sd;
        cr_assert_eq(stats_num_moments(&sn, &mean, &sd), STATS_OK);
        const dm_column *cols[2] = {&now.col[i], &kept.col[i]};
        for (int k = 0; k < 2; k++) {
            cr_assert(cols[k]->has_moments, "%s: no moments", w->name);
            cr_assert_eq(memcmp(&cols[k]->mean, &mean, sizeof mean), 0, "%s mean", w->name);
            cr_assert_eq(memcmp(&cols[k]->std, &sd, sizeof sd), 0, "%s std", w->name);
        }
        with_moments++;
    }
    cr_assert_eq(with_moments, 3, "a, bb and dddd");
    dm_dataset_release(&now);
    dm_dataset_release(&kept);

    size_t n, off_a = values_offset(path, "a"), off_d = values_offset(path, "dddd");
    unsigned char *good = get_file(path, &n), *p = malloc(n);
    cr_assert_not_null(p);
    for (int both = 0; both < 2; both++) {
        memcpy(p, good, n);
        memcpy(p + off_d, good + off_d + 8, 8); /* the first two values of "dddd" swapped */
        memcpy(p + off_d + 8, good + off_d, 8);
        if (both) { /* and those of "a": the first column is the one named */
            memcpy(p + off_a, good + off_a + 8, 8);
            memcpy(p + off_a + 8, good + off_a, 8);
        }
        snprintf(path, sizeof path, "%s/bad%d.dmp", dir, both);
        put_file(path, p, n);
        dm_dataset bad;
        cr_assert_eq(read_checked(path, &bad, err, sizeof err), -1, "bad%d accepted", both);
        cr_assert_not_null(strstr(err, "values not ascending"), "%s", err);
        cr_assert_not_null(strstr(err, both ? "column \"a\"" : "column \"dddd\""), "%s", err);
    }
    memcpy(p, good, n);
    p[off_d + 8 * 1000] ^= 1; /* a value of "dddd" moves to its neighbour */
    snprintf(path, sizeof path, "%s/lowbit.dmp", dir);
    put_file(path, p, n);
    dm_dataset bad;
    cr_assert_eq(read_checked(path, &bad, err, sizeof err), -1, "a changed value accepted");
    cr_assert_not_null(strstr(err, "does not match its sha256"), "%s", err);
    free(p);
    free(good);
    dm_dataset_release(&ds);
}

/* The check on a thread while the caller reads the columns (dm_profile_read_background): the
 * caller asks for the columns from the last one down, so that it checks those the thread has
 * not reached itself.  A good profile: every column ready, with the moments of the written
 * columns to the bit, and the digest known only once the check is finished.  Damaged values
 * in the last column that has values: that column is refused when asked for, and the finished
 * check fails naming the file, the column and what is wrong.  A damaged stored digest: every
 * column's values are good, and the finished check fails on the digest.  A dataset released
 * with its check still running stops it (the sanitizers see no leak). */
Test(profile, background_check_meets_the_comparison_column_by_column)
{
    dm_dataset ds;
    char path[128], err[512];
    build_written(&ds, 300000, "bg.dmp", path, sizeof path);
    dm_dataset bg;
    cr_assert_eq(dm_profile_read_background(path, &bg, err, sizeof err), 0, "%s", err);
    cr_assert_eq(bg.sha256[0], '\0', "a digest before the check is over");
    size_t with_moments = 0;
    for (size_t i = ds.ncols; i-- > 0;) {
        cr_assert(dm_dataset_column_ready(&bg, i), "column %zu refused", i);
        const dm_column *w = &ds.col[i], *r = &bg.col[i];
        if (w->storage != DM_STORE_NUM || w->n == 0)
            continue;
        stats_num sn = {w->value, w->count, w->n_distinct, w->n, w->is_int, false, 0., 0.};
        double mean, sd;
        cr_assert_eq(stats_num_moments(&sn, &mean, &sd), STATS_OK);
        cr_assert(r->has_moments, "%s: no moments", w->name);
        cr_assert_eq(memcmp(&r->mean, &mean, sizeof mean), 0, "%s mean", w->name);
        cr_assert_eq(memcmp(&r->std, &sd, sizeof sd), 0, "%s std", w->name);
        with_moments++;
    }
    cr_assert_eq(with_moments, 3, "a, bb and dddd");
    assert_same_content(&ds, &bg);
    cr_assert_eq(dm_profile_finish_check(&bg, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(bg.sha256, ds.sha256);
    cr_assert_eq(dm_profile_finish_check(&bg, err, sizeof err), 0, "nothing left to check");
    dm_dataset_release(&bg);

    size_t n, off_d = values_offset(path, "dddd");
    unsigned char *good = get_file(path, &n), *p = malloc(n);
    cr_assert_not_null(p);
    memcpy(p, good, n);
    memcpy(p + off_d, good + off_d + 8, 8); /* the first two values of "dddd" swapped */
    memcpy(p + off_d + 8, good + off_d, 8);
    char bad_path[128];
    snprintf(bad_path, sizeof bad_path, "%s/bg_values.dmp", dir);
    put_file(bad_path, p, n);
    dm_dataset bad;
    cr_assert_eq(dm_profile_read_background(bad_path, &bad, err, sizeof err), 0, "%s", err);
    cr_assert_not(dm_dataset_column_ready(&bad, 3), "damaged \"dddd\" ready");
    cr_assert_eq(dm_profile_finish_check(&bad, err, sizeof err), -1, "damaged values passed");
    cr_assert_not_null(strstr(err, bad_path), "%s", err);
    cr_assert_not_null(strstr(err, "column \"dddd\""), "%s", err);
    cr_assert_not_null(strstr(err, "values not ascending"), "%s", err);
    cr_assert_eq(bad.sha256[0], '\0');
    dm_dataset_release(&bad);

    memcpy(p, good, n);
    p[n - 1] ^= 1; /* the stored digest */
    snprintf(bad_path, sizeof bad_path, "%s/bg_digest.dmp", dir);
    put_file(bad_path, p, n);
    cr_assert_eq(dm_profile_read_background(bad_path, &bad, err, sizeof err), 0, "%s", err);
    for (size_t i = ds.ncols; i-- > 0;)
        cr_assert(dm_dataset_column_ready(&bad, i), "column %zu refused", i);
    cr_assert_eq(dm_profile_finish_check(&bad, err, sizeof err), -1, "a damaged digest passed");
    cr_assert_not_null(strstr(err, bad_path), "%s", err);
    cr_assert_not_null(strstr(err, "does not match its sha256"), "%s", err);
    dm_dataset_release(&bad);

    cr_assert_eq(dm_profile_read_background(path, &bg, err, sizeof err), 0, "%s", err);
    dm_dataset_release(&bg); /* the check still running */
    free(p);
    free(good);
    dm_dataset_release(&ds);
}

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
    dm_profile_header_encode(ds->rows, (uint32_t)ds->ncols, ds->nleft_out, hdr);
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
 * written columns, to the bit) whether the pages are kept or given back, with the same
 * content and digest; values out of order are reported for the first column that has them,
 * named; a value changed in its low bit stays ascending and is refused by the digest. */
Test(profile, read_checks_values_and_computes_moments)
{
    dm_dataset ds;
    char path[128], err[512];
    build_written(&ds, 300000, "chk.dmp", path, sizeof path);
    dm_dataset now, kept;
    cr_assert_eq(dm_profile_read(path, &now, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_profile_read_keep(path, &kept, err, sizeof err), 0, "%s", err);
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
        cr_assert_eq(dm_profile_read_keep(path, &bad, err, sizeof err), -1, "bad%d accepted", both);
        cr_assert_not_null(strstr(err, "values not ascending"), "%s", err);
        cr_assert_not_null(strstr(err, both ? "column \"a\"" : "column \"dddd\""), "%s", err);
    }
    memcpy(p, good, n);
    p[off_d + 8 * 1000] ^= 1; /* a value of "dddd" moves to its neighbour */
    snprintf(path, sizeof path, "%s/lowbit.dmp", dir);
    put_file(path, p, n);
    dm_dataset bad;
    cr_assert_eq(dm_profile_read_keep(path, &bad, err, sizeof err), -1, "a changed value accepted");
    cr_assert_not_null(strstr(err, "does not match its sha256"), "%s", err);
    free(p);
    free(good);
    dm_dataset_release(&ds);
}

/* u32 little-endian, as the format writes every integer */
static size_t put_u32_at(unsigned char *p, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[off + (size_t)i] = (unsigned char)(v >> (8 * i));
    return off + 4;
}

/* The left-out section (profile.h): a profile with left-out columns has flag bit 0 set in its
 * header and, after the last column, u32 n | per column u32 len + name, u32 len + reason; its
 * identity is the version-1 encoding of all that, assembled here byte by byte.  Written
 * (format 2) and as a hand-made version-1 file it reads back with the same list and digest; a
 * changed reason is caught by the digest, an unknown flag bit and a left-out name that is a
 * column's are refused; a profile with nothing left out keeps flags 0. */
Test(profile, left_out_section_is_content)
{
    static const char *const left[][2] = {
        {"j", "type jsonb is not compared"},
        {"doc", "type doc (a domain over jsonb) is not compared"}};
    dm_dataset ds;
    char path[128], err[512];
    build_written(&ds, 50, "plain.dmp", path, sizeof path);
    size_t n;
    unsigned char *file = get_file(path, &n);
    uint32_t flags;
    memcpy(&flags, file + 12, 4);
    cr_assert_eq(flags, 0u, "nothing left out: flags 0, as before the section existed");
    free(file);

    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(dm_dataset_add_left_out(&ds, left[i][0], left[i][1]), 0);
    /* the identity: header with flags = 1, the columns, the section */
    size_t idl;
    unsigned char *id = identity_bytes(&ds, &idl);
    memcpy(&flags, id + 12, 4);
    cr_assert_eq(flags, 1u);
    id = realloc(id, idl + 4 + 2 * (8 + 64) + 32);
    cr_assert_not_null(id);
    idl = put_u32_at(id, idl, 2);
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 2; k++) {
            size_t l = strlen(left[i][k]);
            idl = put_u32_at(id, idl, (uint32_t)l);
            memcpy(id + idl, left[i][k], l);
            idl += l;
        }
    char want[65];
    dm_sha256_hex(id, idl, want);

    snprintf(path, sizeof path, "%s/left.dmp", dir);
    cr_assert_eq(dm_profile_write(&ds, path, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(ds.sha256, want);
    dm_dataset back;
    unsigned char raw[32];
    hex_to_raw(want, raw);
    memcpy(id + idl, raw, 32);
    char p1[128];
    snprintf(p1, sizeof p1, "%s/left1.dmp", dir);
    put_file(p1, id, idl + 32);
    const char *files[2] = {path, p1};
    for (int f = 0; f < 2; f++) {
        cr_assert_eq(dm_profile_read(files[f], &back, err, sizeof err), 0, "%s", err);
        cr_assert_str_eq(back.sha256, want, "%s", files[f]);
        assert_same_content(&ds, &back);
        cr_assert_eq(back.nleft_out, 2);
        for (size_t i = 0; i < 2; i++) {
            cr_assert_str_eq(back.left_out[i].name, left[i][0]);
            cr_assert_str_eq(back.left_out[i].reason, left[i][1]);
        }
        dm_dataset_release(&back);
    }

    file = get_file(path, &n);
    unsigned char *p = malloc(n);
    cr_assert_not_null(p);
    memcpy(p, file, n);
    p[n - 33] ^= 0x20; /* the last byte of the last reason: "compareD" */
    expect_refused(p, n, "reason.dmp", "does not match its sha256");
    memcpy(p, file, n);
    p[12] |= 2;
    expect_refused(p, n, "flags.dmp", "unknown flags");
    memcpy(p, file, n);
    p[12] = 0; /* the section then is bytes after the last column */
    expect_refused(p, n, "noflag.dmp", "trailing bytes");
    free(p);
    free(file);

    /* a left-out column named as a profiled column */
    cr_assert_eq(dm_dataset_add_left_out(&ds, "bb", "type uuid is not compared"), 0);
    snprintf(path, sizeof path, "%s/dup.dmp", dir);
    cr_assert_eq(dm_profile_write(&ds, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_profile_read(path, &back, err, sizeof err), -1, "a duplicate accepted");
    cr_assert_not_null(strstr(err, "duplicate column \"bb\""), "%s", err);
    free(id);
    dm_dataset_release(&ds);
}

/* A loader over a dataset whose numeric columns' values were moved out to `stash`: load puts
 * them back (numbers only: text stays), counting the calls; fail_at makes that group's load
 * fail. */
typedef struct {
    dm_dataset *stash;
    int loads[4], releases[4];
    size_t fail_at;
    size_t held, most; /* numeric columns with values now, and the most at once */
} stash_ctx;

static size_t held_now(const dm_dataset *ds)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->ncols; i++)
        n += ds->col[i].storage == DM_STORE_NUM && ds->col[i].value != NULL;
    return n;
}

static const size_t *stash_cols[3];
static size_t stash_ncols[3];

static int stash_load(void *vctx, size_t g, dm_dataset *ds, char *err, size_t errlen)
{
    stash_ctx *c = vctx;
    c->loads[g]++;
    if (g == c->fail_at) {
        snprintf(err, errlen, "group %zu could not be read back", g + 1);
        return -1;
    }
    for (size_t j = 0; j < stash_ncols[g]; j++) {
        size_t i = stash_cols[g][j];
        dm_column *s = &c->stash->col[i], *d = &ds->col[i];
        if (d->storage != DM_STORE_NUM)
            continue;
        d->value = s->value;
        d->count = s->count;
        d->n_distinct = s->n_distinct;
        d->value_shared = d->count_shared = true; /* the stash's: drop leaves them */
    }
    size_t h = held_now(ds);
    if (h > c->most)
        c->most = h;
    return 0;
}

static void stash_release(void *vctx, size_t g, dm_dataset *ds)
{
    stash_ctx *c = vctx;
    c->releases[g]++;
    for (size_t j = 0; j < stash_ncols[g]; j++)
        if (ds->col[stash_cols[g][j]].storage == DM_STORE_NUM)
            dm_column_drop_numbers(&ds->col[stash_cols[g][j]]);
}

/* dm_profile_write_groups (issue 20): a dataset whose numbers come a group at a time gives the
 * file dm_profile_write gives for it whole, byte for byte; every group is loaded once and
 * released once; the numbers held at once are those of the group being written and what is
 * left of an earlier group (group 0 = columns a, ccc, eeeee holds a and eeeee; group 1 = bb;
 * group 2 = dddd): at most 2 numeric columns of 4, where the whole dataset holds 4.  A group
 * that cannot be read back fails the write with the loader's message, leaves no file, and
 * every loaded group is released. */
Test(profile, written_by_groups_is_the_same_file)
{
    static const size_t g0[] = {0, 2, 4}, g1[] = {1}, g2[] = {3};
    stash_cols[0] = g0, stash_cols[1] = g1, stash_cols[2] = g2;
    stash_ncols[0] = 3, stash_ncols[1] = 1, stash_ncols[2] = 1;
    dm_dataset whole, stash, ds;
    char pw[128], pg[128], err[512];
    build_written(&whole, 300, "whole.dmp", pw, sizeof pw);
    build(&stash, 300);
    build(&ds, 300);
    for (size_t i = 0; i < ds.ncols; i++)
        if (ds.col[i].storage == DM_STORE_NUM)
            dm_column_drop_numbers(&ds.col[i]);
    cr_assert_eq(held_now(&whole), 4, "the whole dataset: 4 numeric columns with values");
    stash_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.stash = &stash;
    ctx.fail_at = SIZE_MAX;
    dm_group_loader ld = {3, stash_cols, stash_ncols, stash_load, stash_release, &ctx};
    snprintf(pg, sizeof pg, "%s/groups.dmp", dir);
    cr_assert_eq(dm_profile_write_groups(&ds, &ld, pg, err, sizeof err), 0, "%s", err);
    size_t nw, ng;
    unsigned char *fw = get_file(pw, &nw), *fg = get_file(pg, &ng);
    cr_assert_eq(nw, ng);
    cr_assert_eq(memcmp(fw, fg, nw), 0, "the same bytes");
    cr_assert_str_eq(ds.sha256, whole.sha256);
    free(fw);
    free(fg);
    for (size_t g = 0; g < 3; g++) {
        cr_assert_eq(ctx.loads[g], 1, "group %zu loaded once", g);
        cr_assert_eq(ctx.releases[g], 1, "group %zu released once", g);
    }
    cr_assert_leq(ctx.most, 2, "held at most 2 numeric columns at once, held %zu", ctx.most);
    cr_assert_eq(held_now(&ds), 0, "every value dropped once written");

    /* group 2's load fails: its message, no file, groups 0 and 1 released, 2 released too */
    memset(&ctx, 0, sizeof ctx);
    ctx.stash = &stash;
    ctx.fail_at = 2;
    char pf[128];
    snprintf(pf, sizeof pf, "%s/failed.dmp", dir);
    cr_assert_eq(dm_profile_write_groups(&ds, &ld, pf, err, sizeof err), -1);
    cr_assert_str_eq(err, "group 3 could not be read back");
    cr_assert_eq(access(pf, F_OK), -1, "no file left");
    for (size_t g = 0; g < 3; g++)
        cr_assert_eq(ctx.releases[g], 1, "group %zu released once", g);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 2", dir);
    cr_assert_eq(system(cmd), 0, "only whole.dmp and groups.dmp in the directory");
    dm_dataset_release(&ds);
    dm_dataset_release(&stash);
    dm_dataset_release(&whole);
}

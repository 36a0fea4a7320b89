/* test_db.c - the parts of the PostgreSQL layer that need no server: the error of a
 * refused connection, and the binary COPY stream parser behind dm_db_copy_read (fed a
 * stream PostgreSQL 15 produced, whole, byte by byte, and damaged on purpose).
 * Reading from a live server is tested by tests/integration/db.sh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/dataset.h"
#include "monitor/copybin.h"
#include "monitor/db.h"

/* ---- dm_db_connect: what a failed connection says -------------------------------------- */

/* Nothing listens on 127.0.0.1 port 1 (a privileged port no test server uses): libpq's
 * "connection refused" comes back at once.  The error names the target as
 * monitor/conninfo.h shows it, never a secret. */
static void expect_refused(const char *conninfo, const char *shown)
{
    char err[1024] = "";
    PGconn *c = dm_db_connect(conninfo, err, sizeof err);
    cr_assert_null(c, "connected to %s", conninfo);
    cr_assert_null(strstr(err, "secret"), "secret in: %s", err);
    cr_assert_not_null(strstr(err, shown), "\"%s\" not in: %s", shown, err);
}

Test(db, connect_error_never_names_a_secret)
{
    expect_refused("postgresql://u@127.0.0.1:1/db?pass%77ord=secret", "password=****");
    expect_refused("host=127.0.0.1 port=1 sslpassword=secret", "sslpassword=****");
    expect_refused("postgresql://u@127.0.0.1:1/db?sslpassword=secret", "sslpassword=****");
    expect_refused("postgresql://u:secret@127.0.0.1:1/db", "password=****");
    expect_refused("postgresql://u@127.0.0.1:1/db?password=secret", "password=****");
    expect_refused("postgresql://u@127.0.0.1:1/db", "host=127.0.0.1 port=1");
    /* libpq cannot parse it (its message would quote "se%cret"): not tried, not echoed */
    expect_refused("postgresql://u:se%cret@127.0.0.1:1/db", "two hexadecimal digits");
}

/* ---- binary COPY parser --------------------------------------------------------------- */

/*
 * Produced by PostgreSQL 15.x (tests/pg/cluster.sh) with
 *   psql -X -q -c "COPY (SELECT x::float8, t::text FROM (VALUES (1, '1.5', 'a'),
 *     (2, NULL, NULL), (3, 'NaN', ''), (4, 'Infinity', 'héllo'), (5, '-0.25', 'NA'),
 *     (6, '1.5', 'a')) v(i, x, t) ORDER BY i) TO STDOUT (FORMAT binary)" | xxd -i
 * Layout (PostgreSQL docs, "COPY", binary format): 11-byte signature, int32 flags 0,
 * int32 extension length 0, per row int16 field count 2 and per field int32 length
 * (-1 = NULL) + bytes, float8 big-endian; trailer int16 -1.  131 bytes.
 */
static const unsigned char pg_stream[] = {
    0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x3f, 0xf8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x7f, 0xf0, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f,
    0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0xbf, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x02, 0x4e, 0x41, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x3f, 0xf8, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0xff, 0xff};
/* offset of row 2's field count: 19 header + row 1 (2 + 4 + 8 + 4 + 1) */
#define ROW2_AT 38

static const char *const names[] = {"x", "t"};
static const bool numeric[] = {true, false};

typedef struct {
    dm_builder *b;
    dm_copybin p;
} fixture;

static void setup(fixture *f, size_t ncols, const bool *num)
{
    f->b = dm_builder_alloc(2, names, NULL);
    cr_assert_not_null(f->b);
    dm_copybin_init(&f->p, ncols, num, names, f->b);
}

static void teardown(fixture *f)
{
    dm_copybin_release(&f->p);
    dm_builder_free(f->b);
}

/* The dataset the stream must give, by dataset.h's rules: x = {1.5, NULL, NaN, +inf,
 * -0.25, 1.5}: NULL and NaN missing, inf non-finite, values -0.25 x1 and 1.5 x2;
 * t = {a, NULL, "", héllo, NA, a}: NULL, "" and the NA token missing; text a x2, héllo x1
 * (strcmp order: 'a' 0x61 < 'h' 0x68). */
static void expect_pg_dataset(fixture *f)
{
    dm_dataset ds;
    cr_assert_eq(f->p.rows, 6);
    cr_assert_eq(dm_builder_finish(f->b, "test", &ds), 0);
    cr_assert_eq(ds.ncols, 2);
    cr_assert_eq(ds.rows, 6);
    const dm_column *x = &ds.col[0], *t = &ds.col[1];
    cr_assert_eq(x->storage, DM_STORE_NUM);
    cr_assert_eq(x->missing, 2);
    cr_assert_eq(x->nonfinite, 1);
    cr_assert_eq(x->n, 3);
    cr_assert_eq(x->n_distinct, 2);
    cr_assert_eq(x->value[0], -0.25);
    cr_assert_eq(x->count[0], 1);
    cr_assert_eq(x->value[1], 1.5);
    cr_assert_eq(x->count[1], 2);
    cr_assert_eq(t->storage, DM_STORE_STR);
    cr_assert_eq(t->missing, 3);
    cr_assert_eq(t->n, 3);
    cr_assert_eq(t->n_cats, 2);
    cr_assert_str_eq(t->cat[0], "a");
    cr_assert_eq(t->cat_count[0], 2);
    cr_assert_str_eq(t->cat[1], "h\xc3\xa9llo");
    cr_assert_eq(t->cat_count[1], 1);
    dm_dataset_release(&ds);
}

Test(db, copybin_postgres_stream_whole)
{
    fixture f;
    char err[256] = "";
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, sizeof pg_stream, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), 0, "%s", err);
    expect_pg_dataset(&f);
    teardown(&f);
}

Test(db, copybin_postgres_stream_byte_by_byte)
{
    fixture f;
    char err[256] = "";
    setup(&f, 2, numeric);
    for (size_t i = 0; i < sizeof pg_stream; i++) {
        cr_assert_eq(dm_copybin_feed(&f.p, pg_stream + i, 1, err, sizeof err), 0, "byte %zu: %s", i,
                     err);
        /* a row reaches the builder only once complete: row 1 ends at ROW2_AT */
        if (i + 1 < ROW2_AT)
            cr_assert_eq(f.p.rows, 0, "row counted early at byte %zu", i);
    }
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), 0, "%s", err);
    expect_pg_dataset(&f);
    teardown(&f);
}

Test(db, copybin_truncated_stream)
{
    fixture f;
    char err[256] = "";
    /* cut inside row 2 (2 bytes of its 4-byte length): row 1 counted, then truncated */
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, ROW2_AT + 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.p.rows, 1);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated after row 1") != NULL, "%s", err);
    teardown(&f);

    /* every row but no trailer */
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, sizeof pg_stream - 2, err, sizeof err), 0);
    cr_assert_eq(f.p.rows, 6);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), -1);
    cr_assert(strstr(err, "no trailer") != NULL, "%s", err);
    teardown(&f);

    /* inside the header */
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, 13, err, sizeof err), 0);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), -1);
    cr_assert(strstr(err, "header") != NULL, "%s", err);
    teardown(&f);
}

Test(db, copybin_wrong_field_count)
{
    fixture f;
    char err[256] = "";
    static const bool three[] = {true, false, false};
    setup(&f, 3, three);
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, sizeof pg_stream, err, sizeof err), -1);
    cr_assert(strstr(err, "row 1 has 2 fields, expected 3") != NULL, "%s", err);
    cr_assert_eq(f.p.rows, 0);
    teardown(&f);
}

Test(db, copybin_text_field_where_float8_expected)
{
    fixture f;
    char err[256] = "";
    static const bool both_num[] = {true, true};
    setup(&f, 2, both_num);
    /* row 1's second field is the 1-byte text "a" */
    cr_assert_eq(dm_copybin_feed(&f.p, pg_stream, sizeof pg_stream, err, sizeof err), -1);
    cr_assert(strstr(err, "column \"t\"") != NULL, "%s", err);
    cr_assert(strstr(err, "a field of 1 bytes where 8 were expected") != NULL, "%s", err);
    teardown(&f);
}

Test(db, copybin_bad_signature_and_flags)
{
    fixture f;
    char err[256] = "";
    unsigned char s[sizeof pg_stream];

    memcpy(s, pg_stream, sizeof s);
    s[0] = 'X';
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, 3, err, sizeof err), -1, "bad prefix accepted");
    cr_assert(strstr(err, "signature") != NULL, "%s", err);
    teardown(&f);

    /* flags bit 16: rows carry OIDs */
    memcpy(s, pg_stream, sizeof s);
    s[12] = 0x01;
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), -1);
    cr_assert(strstr(err, "OIDs") != NULL, "%s", err);
    teardown(&f);

    /* an unknown critical flag (bit 20: flags are bytes 11..14 big-endian, bits 16-31
     * critical, so bit 20 is 0x10 in byte 12) */
    memcpy(s, pg_stream, sizeof s);
    s[12] = 0x10;
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), -1);
    cr_assert(strstr(err, "critical") != NULL, "%s", err);
    teardown(&f);

    /* bits 0-15 are not critical: the docs tell readers to ignore them (bit 12 here) */
    memcpy(s, pg_stream, sizeof s);
    s[13] = 0x10;
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), 0, "%s", err);
    expect_pg_dataset(&f);
    teardown(&f);
}

Test(db, copybin_header_extension_skipped)
{
    fixture f;
    char err[256] = "";
    /* the same stream with a 3-byte header extension {1, 2, 3} */
    unsigned char s[sizeof pg_stream + 3];
    memcpy(s, pg_stream, 19);
    s[18] = 3;
    s[19] = 1;
    s[20] = 2;
    s[21] = 3;
    memcpy(s + 22, pg_stream + 19, sizeof pg_stream - 19);
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), 0, "%s", err);
    expect_pg_dataset(&f);
    teardown(&f);
}

Test(db, copybin_bad_lengths_never_read_past)
{
    fixture f;
    char err[256] = "";
    unsigned char s[sizeof pg_stream];

    /* row 1's first field claims 0x7fffffff bytes: the parser waits for them (never
     * reads past the buffer: run under make asan / valgrind) and finish reports it */
    memcpy(s, pg_stream, sizeof s);
    static const bool texts[] = {false, false};
    s[21] = 0x7f;
    s[22] = s[23] = s[24] = 0xff;
    setup(&f, 2, texts);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.p.rows, 0);
    cr_assert_eq(dm_copybin_finish(&f.p, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated") != NULL, "%s", err);
    teardown(&f);

    /* a negative length other than -1 */
    memcpy(s, pg_stream, sizeof s);
    s[21] = 0xff;
    s[22] = s[23] = 0xff;
    s[24] = 0xfe;
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), -1);
    cr_assert(strstr(err, "field length -2") != NULL, "%s", err);
    teardown(&f);
}

Test(db, copybin_bytes_after_trailer)
{
    fixture f;
    char err[256] = "";
    unsigned char s[sizeof pg_stream + 1];
    memcpy(s, pg_stream, sizeof pg_stream);
    s[sizeof pg_stream] = 0;
    setup(&f, 2, numeric);
    cr_assert_eq(dm_copybin_feed(&f.p, s, sizeof s, err, sizeof err), -1);
    cr_assert(strstr(err, "after the trailer") != NULL, "%s", err);
    teardown(&f);
}

/* Native binary formats (no cast in the COPY): int2, int4, int8 and float4 fields decoded
 * client-side.  The stream is built by hand from the binary COPY format (PostgreSQL docs,
 * "COPY ... Binary Format"): signature, flags, extension length, one tuple, trailer.
 * Expected values: the integers themselves; float4 1.5 is exact in binary. */
Test(db, copybin_native_integer_and_float4_fields)
{
    static const unsigned char stream[] = {
        'P',  'G', 'C', 'O', 'P',  'Y',  '\n', 0xff, '\r', '\n', 0,       /* signature */
        0,    0,   0,   0,   0,    0,    0,    0,                         /* flags, extension */
        0,    4,                                                          /* 4 fields */
        0,    0,   0,   2,   0xff, 0xfe,                                  /* int2 -2 */
        0,    0,   0,   4,   0x00, 0x01, 0x11, 0x70,                      /* int4 70000 */
        0,    0,   0,   8,   0,    0,    0x01, 0,    0,    0,    0, 0x01, /* int8 2^40 + 1 */
        0,    0,   0,   4,   0x3f, 0xc0, 0,    0,                         /* float4 1.5 */
        0xff, 0xff};                                                      /* trailer */
    const char *wnames[] = {"h", "i", "l", "f"};
    bool wnumeric[] = {true, true, true, true};
    dm_builder *b = dm_builder_alloc(4, wnames, NULL);
    dm_copybin p;
    dm_copybin_init(&p, 4, wnumeric, wnames, b);
    dm_copybin_set_wire(&p, "hilf");
    char err[256] = "";
    cr_assert_eq(dm_copybin_feed(&p, stream, sizeof stream, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dm_copybin_finish(&p, err, sizeof err), 0, "%s", err);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "native", &ds), 0);
    cr_assert_eq(ds.col[0].value[0], -2.0);
    cr_assert_eq(ds.col[1].value[0], 70000.0);
    cr_assert_eq(ds.col[2].value[0], 1099511627777.0);
    cr_assert_eq(ds.col[3].value[0], 1.5);
    dm_dataset_release(&ds);
    dm_copybin_release(&p);
    dm_builder_free(b);

    /* a field of the wrong length for its wire format is refused */
    dm_builder *b2 = dm_builder_alloc(4, wnames, NULL);
    dm_copybin p2;
    dm_copybin_init(&p2, 4, wnumeric, wnames, b2);
    dm_copybin_set_wire(&p2, "ihlf"); /* int4 where the stream has 2 bytes */
    cr_assert_eq(dm_copybin_feed(&p2, stream, sizeof stream, err, sizeof err), -1);
    cr_assert(strstr(err, "\"h\"") != NULL, "%s", err);
    dm_copybin_release(&p2);
    dm_builder_free(b2);
}

/* ---- numeric fields: decoded, never a failed cast ----------------------------------------- */

/*
 * Produced by PostgreSQL 15.18 (tests/pg/cluster.sh) with
 *   psql -X -q -c "COPY (SELECT x::numeric FROM (VALUES (1, '1e400'), (2, '-1e400'),
 *     (3, '1.5'), (4, '0.1'), (5, '123456789012345678901234567890.123'), (6, '1e-400'),
 *     (7, '2.5e-310'), (8, 'NaN'), (9, 'Infinity'), (10, '-Infinity'), (11, NULL), (12, '0'),
 *     (13, '1.7976931348623157e308'), (14, '1.7976931348623159e308'), (15, '100000000'),
 *     (16, '-0.000123')) v(i, x) ORDER BY i) TO STDOUT (FORMAT binary)" | xxd -i
 * 295 bytes.  Each field is numeric_send's form (int16 ndigits, weight, sign, dscale, then
 * base-10000 digits).
 */
static const unsigned char numeric_stream[] = {
    0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x64, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x64, 0x40, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x13, 0x88, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0xff, 0xff, 0x00,
    0x00, 0x00, 0x01, 0x03, 0xe8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x09, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x03, 0x00, 0x0c, 0x0d, 0x80, 0x1e, 0xd2, 0x04, 0xd2, 0x16, 0x2e, 0x23, 0x34, 0x0d,
    0x80, 0x1e, 0xd2, 0x04, 0xce, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0xff, 0x9c, 0x00,
    0x00, 0x01, 0x90, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0xff, 0xb2, 0x00,
    0x00, 0x01, 0x37, 0x00, 0xfa, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0xc0,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00,
    0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x20, 0x00,
    0x01, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x12, 0x00, 0x05, 0x00, 0x4d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x1f, 0x28, 0x24, 0x61, 0x12, 0xfe, 0x0c, 0x55, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x12, 0x00, 0x05, 0x00, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x1f, 0x28, 0x24, 0x61, 0x12,
    0xfe, 0x0c, 0x57, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x02, 0xff, 0xff, 0x40, 0x00, 0x00,
    0x06, 0x00, 0x01, 0x08, 0xfc, 0xff, 0xff};

static double bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Each value read from the stream above one row at a time, in a builder of one column. */
Test(db, copybin_numeric_values)
{
    /* Expected: where PostgreSQL's own numeric::float8 succeeds, its result, taken from the
     * server as float8send(x::numeric::float8) (the cast is numeric_out's text read by the
     * server's strtod); where it fails ("out of range for type double precision"), what
     * strtod makes of the same digits in a CSV field: +-inf past the largest double (rows
     * 1, 2, 14: 1.7976931348623159e308 is past DBL_MAX's rounding midpoint) and 0 below the
     * smallest subnormal (row 6).  NaN and NULL are missing; the infinities non-finite. */
    const double want[] = {strtod("1e400", NULL),
                           strtod("-1e400", NULL),
                           bits(0x3ff8000000000000),
                           bits(0x3fb999999999999a),
                           bits(0x45f8ee90ff6c373e),
                           strtod("1e-400", NULL),
                           bits(0x00002e055c9a3f6c),
                           NAN,
                           INFINITY,
                           -INFINITY,
                           NAN,
                           bits(0x0000000000000000),
                           bits(0x7fefffffffffffff),
                           strtod("1.7976931348623159e308", NULL),
                           bits(0x4197d78400000000),
                           bits(0xbf201f31f46ed246)};
    cr_assert(isinf(want[0]) && want[0] > 0 && isinf(want[13]) && want[5] == 0.0);
    const char *nm[] = {"x"};
    bool num[] = {true};
    dm_builder *b = dm_builder_alloc(1, nm, NULL);
    dm_copybin p;
    dm_copybin_init(&p, 1, num, nm, b);
    dm_copybin_set_wire(&p, "n");
    char err[256] = "";
    /* byte by byte: a field split anywhere decodes the same */
    for (size_t i = 0; i < sizeof numeric_stream; i++)
        cr_assert_eq(dm_copybin_feed(&p, numeric_stream + i, 1, err, sizeof err), 0, "byte %zu: %s",
                     i, err);
    cr_assert_eq(dm_copybin_finish(&p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.rows, 16);
    dm_dataset ds;
    cr_assert_eq(dm_builder_finish(b, "numeric", &ds), 0);
    const dm_column *x = &ds.col[0];
    cr_assert_eq(x->missing, 2, "NaN and NULL: %llu", (unsigned long long)x->missing);
    cr_assert_eq(x->nonfinite, 5, "+-1e400, +-Infinity, 1.797...159e308: %llu",
                 (unsigned long long)x->nonfinite);
    /* the finite values, ascending: the dataset's distinct values */
    double fin[16];
    size_t nf = 0;
    for (size_t i = 0; i < 16; i++)
        if (isfinite(want[i]))
            fin[nf++] = want[i];
    for (size_t i = 1; i < nf; i++) /* insertion sort, 9 values */
        for (size_t j = i; j > 0 && fin[j - 1] > fin[j]; j--) {
            double t = fin[j];
            fin[j] = fin[j - 1];
            fin[j - 1] = t;
        }
    /* 0 twice (rows 6 and 12) */
    cr_assert_eq(x->n, nf);
    cr_assert_eq(x->n_distinct, nf - 1);
    for (size_t i = 0, k = 0; i < nf; i++) {
        if (i > 0 && fin[i] == fin[i - 1])
            continue;
        cr_assert(memcmp(&x->value[k], &fin[i], sizeof fin[i]) == 0, "value %zu: %a, expected %a",
                  k, x->value[k], fin[i]);
        k++;
    }
    dm_dataset_release(&ds);
    dm_copybin_release(&p);
    dm_builder_free(b);
}

/* A numeric field that cannot be a numeric (a base-10000 digit of 10000; a length that does
 * not match ndigits) is a bad value, not a broken stream: DM_COPYBIN_BAD_VALUE, with the
 * row, the column and the bytes in the message. */
Test(db, copybin_malformed_numeric_is_a_bad_value)
{
    static const unsigned char
        digit[] = {'P',  'G', 'C',  'O',  'P', 'Y', '\n', 0xff, '\r', '\n', 0,    0,
                   0,    0,   0,    0,    0,   0,   0,    0,    1,    0,    0,    0,
                   10,   0,   1,    0,    0,   0,   0,    0,    0,    0x00, 0x07, /* row 1: 7 */
                   0,    1,   0,    0,    0,   10,  0,    1,    0,    0,    0,    0,
                   0,    0,   0x27, 0x10, /* row 2: digit 10000 */
                   0xff, 0xff};
    static const unsigned char length[] = {'P',  'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r',
                                           '\n', 0,   0,   0,   0,   0,   0,    0,    0,
                                           0,    0,   1,   0,   0,   0,   10,   0,    2,
                                           0,    0,   0,   0,   0,   0,   0x00, 0x07, /* 2 digits, 1
                                                                                         sent */
                                           0xff, 0xff};
    const unsigned char *streams[] = {digit, length};
    size_t lens[] = {sizeof digit, sizeof length};
    const char *want[] = {"row 2 column \"amt\"", "row 1 column \"amt\""};
    for (int k = 0; k < 2; k++) {
        const char *nm[] = {"amt"};
        bool num[] = {true};
        dm_builder *b = dm_builder_alloc(1, nm, NULL);
        dm_copybin p;
        dm_copybin_init(&p, 1, num, nm, b);
        dm_copybin_set_wire(&p, "n");
        char err[256] = "";
        cr_assert_eq(dm_copybin_feed(&p, streams[k], lens[k], err, sizeof err),
                     DM_COPYBIN_BAD_VALUE, "case %d: %s", k, err);
        cr_assert_not_null(strstr(err, want[k]), "case %d: %s", k, err);
        if (k == 0)
            cr_assert_not_null(strstr(err, "00010000000000002710"), "bytes not shown: %s", err);
        dm_copybin_release(&p);
        dm_builder_free(b);
    }
}

/* ---- dm_copybin_row: one row per message, as PQgetCopyData hands them out ------------------ */

/* pg_stream cut where the server cuts its CopyData messages: the header goes with row 1,
 * then one row per message, then the trailer.  Row lengths from the layout above: 2 + per
 * field 4 + its bytes: (1.5, "a") 19, (NULL, NULL) 10, (NaN, "") 18, (inf, "héllo") 24,
 * (-0.25, "NA") 20, (1.5, "a") 19; the trailer 2. */
static const size_t msg_at[] = {0, 38, 48, 66, 90, 110, 129, 131};

Test(db, copybin_row_splits_each_message)
{
    dm_copybin_rows s = {0, 0};
    dm_copybin_field f[2];
    char err[256] = "";
    static const int32_t tlen[] = {1, -1, 0, 6, 2, 1};
    static const char *const text[] = {"a", NULL, "", "h\xc3\xa9llo", "NA", "a"};
    static const double x[] = {1.5, 0, NAN, INFINITY, -0.25, 1.5};
    for (size_t m = 0; m < 6; m++) {
        cr_assert_eq(dm_copybin_row(&s, pg_stream + msg_at[m], msg_at[m + 1] - msg_at[m], f, 2, err,
                                    sizeof err),
                     1, "message %zu: %s", m, err);
        cr_assert_eq(f[1].len, tlen[m], "row %zu", m + 1);
        if (text[m])
            cr_assert_eq(memcmp(f[1].p, text[m], strlen(text[m])), 0, "row %zu", m + 1);
        if (m == 1) {
            cr_assert_eq(f[0].len, -1);
            continue;
        }
        cr_assert_eq(f[0].len, 8);
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | f[0].p[i];
        double d;
        memcpy(&d, &u, 8);
        cr_assert(isnan(x[m]) ? isnan(d) : d == x[m], "row %zu: %g", m + 1, d);
    }
    cr_assert_eq(s.rows, 6);
    cr_assert_eq(dm_copybin_row(&s, pg_stream + 129, 2, f, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.state, 2);
    /* nothing may follow the trailer */
    cr_assert_eq(dm_copybin_row(&s, pg_stream + 129, 2, f, 2, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "after the trailer"), "%s", err);
}

/* No rows: the header and the trailer in one message. */
Test(db, copybin_row_empty_result)
{
    unsigned char m[21];
    memcpy(m, pg_stream, 19);
    m[19] = m[20] = 0xff;
    dm_copybin_rows s = {0, 0};
    dm_copybin_field f[2];
    char err[256] = "";
    cr_assert_eq(dm_copybin_row(&s, m, sizeof m, f, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.rows, 0);
}

static void expect_row_error(const void *msg, size_t len, size_t nfields, bool header_seen,
                             const char *want)
{
    dm_copybin_rows s = {header_seen ? 1 : 0, 0};
    dm_copybin_field f[3];
    char err[256] = "";
    cr_assert_eq(dm_copybin_row(&s, msg, len, f, nfields, err, sizeof err), -1, "accepted: %s",
                 want);
    cr_assert_not_null(strstr(err, want), "\"%s\" not in: %s", want, err);
}

Test(db, copybin_row_refuses_what_is_not_one_whole_row)
{
    /* row 1 read as 3 fields */
    expect_row_error(pg_stream, ROW2_AT, 3, false, "has 2 fields, expected 3");
    /* row 1 cut short inside its text field, and row 1 with row 2's first bytes after it */
    expect_row_error(pg_stream, ROW2_AT - 1, 2, false, "field 2: field length 1");
    expect_row_error(pg_stream, ROW2_AT + 2, 2, false, "2 bytes after row 1");
    /* a row before any header; a header alone */
    expect_row_error(pg_stream + ROW2_AT, 10, 2, false, "bad signature");
    expect_row_error(pg_stream, 19, 2, false, "the header and no row");
    /* a field length below -1 */
    unsigned char bad[10] = {0x00, 0x02, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff};
    expect_row_error(bad, sizeof bad, 2, true, "field 1: field length -2");
}

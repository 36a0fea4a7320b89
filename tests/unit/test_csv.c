/*
 * test_csv.c - suite "csv": the streaming CSV reader (monitor/csvin.c).
 *
 * Fixtures are written at test time into a mkdtemp directory.  Expected values come from
 * the fixture text itself (counted by hand, stated next to each) or from pandas
 * (/usr/bin/python3, the command next to the table).
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/csvin.h"

static char tmpdir[64];
static char paths[32][128];
static size_t npaths;

static void setup(void)
{
    strcpy(tmpdir, "/tmp/dm-test-csv-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    npaths = 0;
}

static void teardown(void)
{
    for (size_t i = 0; i < npaths; i++)
        unlink(paths[i]);
    rmdir(tmpdir);
}

TestSuite(csv, .init = setup, .fini = teardown);

/* Write len bytes of s to tmpdir/name; returns the path. */
static const char *fixture_n(const char *name, const char *s, size_t len)
{
    cr_assert_lt(npaths, 32);
    char *p = paths[npaths++];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(s, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return p;
}

static const char *fixture(const char *name, const char *s)
{
    return fixture_n(name, s, strlen(s));
}

/* Read path expecting failure; the message must hold every needle. */
static void expect_error(const char *path, const dm_csv_options *opt, const char *const *needles,
                         size_t n)
{
    char err[512] = "";
    dm_dataset ds;
    dm_dataset_init(&ds);
    ds.rows = 12345; /* untouched on error */
    cr_assert_eq(dm_csv_read(path, opt, &ds, err, sizeof err), -1, "%s read without error", path);
    cr_assert_eq(ds.rows, 12345);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
    cr_assert(strstr(err, path) != NULL, "file name missing in: %s", err);
    for (size_t i = 0; i < n; i++)
        cr_assert(strstr(err, needles[i]) != NULL, "\"%s\" missing in: %s", needles[i], err);
}

static void read_ok(const char *path, const dm_csv_options *opt, dm_dataset *ds)
{
    char err[512] = "";
    cr_assert_eq(dm_csv_read(path, opt, ds, err, sizeof err), 0, "%s", err);
}

static const dm_column *col(const dm_dataset *ds, const char *name)
{
    long i = dm_dataset_find(ds, name);
    cr_assert_geq(i, 0, "no column %s", name);
    return &ds->col[i];
}

Test(csv, basic_types_missing_and_counts)
{
    /* 4 rows; a: 1, 2.5, "", -3 ; b: x, "NA", "y,z" (quoted comma), x ; c: all integers */
    const char *p = fixture("basic.csv", "a,b,c\n1,x,10\n2.5,NA,20\n,\"y,z\",30\n-3,x,-40\n");
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    cr_assert_eq(ds.rows, 4);
    cr_assert_eq(ds.ncols, 3);
    cr_assert_str_eq(ds.source, p);
    const dm_column *a = col(&ds, "a"), *b = col(&ds, "b"), *c = col(&ds, "c");
    cr_assert_eq(a->storage, DM_STORE_NUM);
    cr_assert_eq(a->missing, 1);
    cr_assert_eq(a->n, 3);
    cr_assert_eq(a->n_distinct, 3);
    cr_assert_eq(a->value[0], -3.0);
    cr_assert_eq(a->value[1], 1.0);
    cr_assert_eq(a->value[2], 2.5);
    cr_assert_not(a->is_int); /* a missing value and 2.5 */
    cr_assert_eq(b->storage, DM_STORE_STR);
    cr_assert_eq(b->missing, 1);
    cr_assert_eq(b->n_cats, 2);
    cr_assert_str_eq(b->cat[0], "x");
    cr_assert_eq(b->cat_count[0], 2);
    cr_assert_str_eq(b->cat[1], "y,z");
    cr_assert_str_eq(b->first_text, "x");
    cr_assert_eq(b->first_text_line, 2);
    cr_assert(c->is_int);
    cr_assert_eq(c->n_distinct, 4);
    dm_dataset_release(&ds);
}

Test(csv, bom_crlf_embedded_newline_blank_lines)
{
    /* BOM before a quoted first header name; CRLF line ends; a quoted field spanning two
     * lines (with a CRLF inside, kept verbatim); a blank line; no newline at the end. */
    const char text[] = "\xEF\xBB\xBF\"id\",note,v\r\n"
                        "1,\"two\r\nlines\",-0.0\r\n"
                        "\r\n"
                        "2,plain,0\r\n"
                        "3,\"say \"\"hi\"\"\",0.5";
    const char *p = fixture("bom.csv", text);
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    cr_assert_eq(ds.rows, 3);
    cr_assert_str_eq(ds.col[0].name, "id");
    const dm_column *note = col(&ds, "note");
    cr_assert_eq(note->n_cats, 3);
    cr_assert_str_eq(note->cat[0], "plain");
    cr_assert_str_eq(note->cat[1], "say \"hi\"");
    cr_assert_str_eq(note->cat[2], "two\r\nlines");
    const dm_column *v = col(&ds, "v");
    /* -0.0 and 0 are one value */
    cr_assert_eq(v->n_distinct, 2);
    cr_assert_eq(v->value[0], 0.0);
    cr_assert_eq(v->count[0], 2);
    cr_assert(col(&ds, "id")->is_int);
    dm_dataset_release(&ds);
}

Test(csv, bom_dropped_whatever_the_size_of_the_first_reads)
{
    /* a pipe may give the first bytes one or two at a time: the byte order mark is dropped all
     * the same (dm_csv_set_test_reading asks read() for 1, 2, then 3 bytes at a time); kept,
     * it would make the quote after it a quote inside an unquoted field */
    const char *p = fixture("bom_short.csv", "\xEF\xBB\xBF\"id\",v\n1,2\n");
    const char *q = fixture("bom_short_only.csv", "\xEF\xBB\xBF");
    const char *n[] = {"empty file"};
    for (size_t chunk = 1; chunk <= 3; chunk++) {
        dm_csv_set_test_reading(chunk, false);
        dm_dataset ds;
        read_ok(p, NULL, &ds);
        expect_error(q, NULL, n, 1);
        dm_csv_set_test_reading(0, false);
        cr_assert_eq(ds.ncols, 2);
        cr_assert_str_eq(ds.col[0].name, "id", "%zu-byte reads", chunk);
        cr_assert_eq(ds.rows, 1);
        dm_dataset_release(&ds);
    }
}

Test(csv, crlf_line_numbers_in_errors)
{
    /* CRLF counts once: header line 1, rows on lines 2-3 (quoted CRLF inside), line 4 blank,
     * the bad row on line 5 */
    const char *p = fixture("crlf_bad.csv", "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,3,4\r\n");
    const char *n[] = {"line 5", "expected 2 fields, got 3"};
    expect_error(p, NULL, n, 2);
    /* a malformed quote found by byte offset after CRLF lines: line 3 */
    const char *q = fixture("crlf_badq.csv", "a,b\r\n1,2\r\n3,x\"y\r\n");
    const char *m[] = {"line 3", "quot"};
    expect_error(q, NULL, m, 2);
}

Test(csv, blanks_kept_as_pandas_keeps_them)
{
    /* /usr/bin/python3 -c 'import pandas as pd, io; df = pd.read_csv(io.StringIO(
     *   "a, b,c\n 1 ,x ,NA\n2, x, NA\n3,x,1\n")); print(df.dtypes.to_dict(),
     *   df[" b"].value_counts().to_dict(), df["c"].value_counts(dropna=False).to_dict())'
     * -> a int64; " b": {"x ": 1, " x": 1, "x": 1}; c object: {NaN: 1, " NA": 1, "1": 1} */
    const char *p = fixture("blanks.csv", "a, b,c\n 1 ,x ,NA\n2, x, NA\n3,x,1\n");
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    const dm_column *a = col(&ds, "a"), *b = col(&ds, " b"), *c = col(&ds, "c");
    cr_assert_eq(a->storage, DM_STORE_NUM);
    cr_assert(a->is_int);
    cr_assert_eq(a->n_distinct, 3);
    cr_assert_eq(b->n_cats, 3);
    cr_assert_str_eq(b->cat[0], " x");
    cr_assert_str_eq(b->cat[1], "x");
    cr_assert_str_eq(b->cat[2], "x ");
    cr_assert_eq(c->storage, DM_STORE_STR);
    cr_assert_eq(c->missing, 1);
    cr_assert_eq(c->n_cats, 2);
    cr_assert_str_eq(c->cat[0], " NA");
    cr_assert_str_eq(c->cat[1], "1");
    dm_dataset_release(&ds);
}

Test(csv, lone_cr_line_ends)
{
    const char *p = fixture("cr.csv", "a,b\r1,2\r3,x\r");
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    cr_assert_eq(ds.rows, 2);
    cr_assert_eq(col(&ds, "b")->first_text_line, 3);
    dm_dataset_release(&ds);
}

Test(csv, error_missing_file)
{
    char p[128];
    snprintf(p, sizeof p, "%s/nope.csv", tmpdir);
    const char *n[] = {"could not open", "No such file"};
    expect_error(p, NULL, n, 2);
}

Test(csv, error_empty_file)
{
    const char *n[] = {"empty"};
    expect_error(fixture("empty.csv", ""), NULL, n, 1);
    expect_error(fixture("blank.csv", "\n\r\n\n"), NULL, n, 1);
    expect_error(fixture("bomonly.csv", "\xEF\xBB\xBF"), NULL, n, 1);
}

Test(csv, error_header_only)
{
    const char *n[] = {"line 1", "header only"};
    expect_error(fixture("hdr.csv", "a,b,c\n"), NULL, n, 2);
    expect_error(fixture("hdr2.csv", "a,b,c"), NULL, n, 2);
}

Test(csv, error_ragged_row_counts_quoted_newlines)
{
    /* line 1 header, lines 2-3 one row (quoted newline), line 4 a short row */
    const char *p = fixture("ragged.csv", "a,b,c\n1,\"x\ny\",3\n4,5\n6,7,8\n");
    const char *n[] = {"line 4", "expected 3 fields, got 2"};
    expect_error(p, NULL, n, 2);
    /* a directory is not a CSV file */
    const char *d[] = {"could not read", "Is a directory"};
    expect_error(tmpdir, NULL, d, 2);
    const char *q = fixture("long.csv", "a,b\n1,2\n3,4,5\n");
    const char *m[] = {"line 3", "expected 2 fields, got 3"};
    expect_error(q, NULL, m, 2);
}

Test(csv, error_unterminated_quote)
{
    /* the open quote is on line 4 (line 2-3 hold a closed multi-line field) */
    const char *p = fixture("unterm.csv", "a,b\n1,\"ok\nstill\"\n2,\"never closed\n3,4\n");
    const char *n[] = {"line 4", "column 2", "unterminated", "never closed"};
    expect_error(p, NULL, n, 4);
}

Test(csv, error_malformed_quote)
{
    const char *p = fixture("badq.csv", "a,b\n1,2\n3,\"x\"y\n");
    const char *n[] = {"line 3", "quot"};
    expect_error(p, NULL, n, 2);
}

Test(csv, error_duplicate_and_empty_names)
{
    const char *n[] = {"line 1", "column 3", "duplicate", "\"b\"", "column 2"};
    expect_error(fixture("dup.csv", "a,b,b\n1,2,3\n"), NULL, n, 5);
    const char *m[] = {"line 1", "column 2", "empty column name"};
    expect_error(fixture("noname.csv", "a,,c\n1,2,3\n"), NULL, m, 3);
}

Test(csv, error_binary_data)
{
    const char data[] = "a,b\n1,2\n3,\0\x01\x02\n";
    const char *p = fixture_n("bin.csv", data, sizeof data - 1);
    const char *n[] = {"line 3", "binary data", "offset 10"};
    expect_error(p, NULL, n, 3);
}

Test(csv, flip_rereads_column_as_text)
{
    /* pandas.read_csv gives an object column '1','2.0','abc','inf' with NA as NaN:
     * /usr/bin/python3 -c 'import pandas as pd, io; print(pd.read_csv(io.StringIO(
     *   "k,v\n1,1\n2,2.0\n3,abc\n4,NA\n5,inf\n6,1\n"))["v"].value_counts(dropna=False))'
     * -> 1: 2, 2.0: 1, abc: 1, inf: 1, NaN: 1 */
    const char *p = fixture("flip.csv", "k,v\n1,1\n2,2.0\n3,abc\n4,NA\n5,inf\n6,1\n");
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    const dm_column *v = col(&ds, "v");
    cr_assert_eq(v->storage, DM_STORE_STR);
    cr_assert_eq(v->missing, 1);
    cr_assert_eq(v->nonfinite, 0);
    cr_assert_eq(v->n, 5);
    static const char *const want[] = {"1", "2.0", "abc", "inf"};
    static const uint64_t wc[] = {2, 1, 1, 1};
    cr_assert_eq(v->n_cats, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(v->cat[i], want[i]);
        cr_assert_eq(v->cat_count[i], wc[i]);
    }
    cr_assert_str_eq(v->first_text, "abc");
    cr_assert_eq(v->first_text_line, 4);
    const dm_column *k = col(&ds, "k");
    cr_assert_eq(k->storage, DM_STORE_NUM);
    cr_assert(k->is_int);
    dm_dataset_release(&ds);
}

Test(csv, keep)
{
    const char *p = fixture("opt.csv", "a,b,c\n1,2,3\n1,5,6\n");
    static const char *const keep[] = {"c", "a", "zz"}; /* file order kept, zz ignored */
    dm_csv_options opt = {.keep = keep, .n_keep = 3};
    dm_dataset ds;
    read_ok(p, &opt, &ds);
    cr_assert_eq(ds.ncols, 2);
    cr_assert_str_eq(ds.col[0].name, "a");
    cr_assert_str_eq(ds.col[1].name, "c");
    cr_assert_eq(ds.col[0].storage, DM_STORE_NUM);
    cr_assert_eq(ds.col[0].n_distinct, 1);
    cr_assert_eq(ds.col[0].n, 2);
    cr_assert_eq(ds.col[1].storage, DM_STORE_NUM);
    dm_dataset_release(&ds);
}

Test(csv, read_pair)
{
    const char *r = fixture("ref.csv", "a,b\n1,x\n2,y\n3,x\n");
    const char *c = fixture("cur.csv", "a,b\n4,z\n");
    dm_dataset ref, cur;
    char err[512];
    cr_assert_eq(dm_csv_read_pair(r, c, NULL, &ref, &cur, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref.rows, 3);
    cr_assert_eq(cur.rows, 1);
    cr_assert_str_eq(cur.col[1].cat[0], "z");
    dm_dataset_release(&ref);
    dm_dataset_release(&cur);
    const char *bad = fixture("bad.csv", "a,b\n1\n");
    cr_assert_eq(dm_csv_read_pair(r, bad, NULL, &ref, &cur, err, sizeof err), -1);
    cr_assert(strstr(err, bad) != NULL, "%s", err);
    cr_assert(strstr(err, "line 2") != NULL, "%s", err);
}

Test(csv, large_file_across_chunks)
{
    /* 400000 rows ("i,i*0.5,t<i mod 3>,\"q\nq\"", about 11 MB): several 1 MiB read()
     * chunks, fields and quoted newlines cut between chunks.  Header on line 1, row i on lines 2 +
     * 2i .. 3 + 2i, so a row appended at the end starts on line 2 + 2 * 400000 = 800002. */
    const int N = 400000;
    size_t cap = (size_t)N * 48 + 64, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    len += (size_t)snprintf(s + len, cap - len, "i,h,t,q\n");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(s + len, cap - len, "%d,%.1f,t%d,\"q\nq\"\n", i, i * 0.5, i % 3);
    const char *p = fixture_n("large.csv", s, len);
    dm_dataset ds;
    read_ok(p, NULL, &ds);
    cr_assert_eq(ds.rows, (uint64_t)N);
    cr_assert(col(&ds, "i")->is_int);
    cr_assert_eq(col(&ds, "h")->n_distinct, (size_t)N);
    cr_assert_eq(col(&ds, "h")->value[N - 1], (N - 1) * 0.5);
    cr_assert_eq(col(&ds, "t")->n_cats, 3);
    cr_assert_eq(col(&ds, "t")->cat_count[0], (N + 2) / 3); /* i = 0, 3, ..., 399999 */
    cr_assert_eq(col(&ds, "q")->n_cats, 1);
    cr_assert_str_eq(col(&ds, "q")->cat[0], "q\nq");
    dm_dataset_release(&ds);

    /* a ragged row at the very end */
    size_t base = len;
    len += (size_t)snprintf(s + len, cap - len, "1,2\n");
    const char *p2 = fixture_n("large_bad.csv", s, len);
    const char *n[] = {"line 800002", "expected 4 fields, got 2"};
    expect_error(p2, NULL, n, 2);

    /* text at the very end of a numeric column: the file is read again with h as text */
    len = base + (size_t)snprintf(s + base, cap - base, "1,abc,t0,x\n");
    const char *p3 = fixture_n("large_flip.csv", s, len);
    free(s);
    read_ok(p3, NULL, &ds);
    const dm_column *h = col(&ds, "h");
    cr_assert_eq(h->storage, DM_STORE_STR);
    cr_assert_eq(h->n_cats, (size_t)N + 1);
    cr_assert_str_eq(h->first_text, "abc");
    cr_assert_eq(h->first_text_line, 800002);
    cr_assert_eq(ds.rows, (uint64_t)N + 1);
    dm_dataset_release(&ds);
}

/* ---- the real Home Credit sample ----------------------------------------------------- */

/* Generated by:
 * /usr/bin/python3 -c '
 * import pandas as pd, numpy as np
 * df = pd.read_csv("application_train_head5000.csv")
 * for c in df.columns:
 *     s = df[c]
 *     print("{\"%s\", %d, %d, %d, %d}," % (c, s.isna().sum(), s.nunique(),
 *           s.dtype == object, s.dtype == np.int64))'
 * name, missing, distinct non-missing values, object dtype, int64 dtype */
static const struct {
    const char *name;
    unsigned missing, nunique;
    int is_text, is_int;
} hc_cols[] = {
    {"SK_ID_CURR", 0, 5000, 0, 1},
    {"TARGET", 0, 2, 0, 1},
    {"NAME_CONTRACT_TYPE", 0, 2, 1, 0},
    {"CODE_GENDER", 0, 2, 1, 0},
    {"FLAG_OWN_CAR", 0, 2, 1, 0},
    {"FLAG_OWN_REALTY", 0, 2, 1, 0},
    {"CNT_CHILDREN", 0, 7, 0, 1},
    {"AMT_INCOME_TOTAL", 0, 214, 0, 0},
    {"AMT_CREDIT", 0, 1290, 0, 0},
    {"AMT_ANNUITY", 0, 2720, 0, 0},
    {"AMT_GOODS_PRICE", 1, 317, 0, 0},
    {"NAME_TYPE_SUITE", 20, 7, 1, 0},
    {"NAME_INCOME_TYPE", 0, 5, 1, 0},
    {"NAME_EDUCATION_TYPE", 0, 5, 1, 0},
    {"NAME_FAMILY_STATUS", 0, 5, 1, 0},
    {"NAME_HOUSING_TYPE", 0, 6, 1, 0},
    {"REGION_POPULATION_RELATIVE", 0, 79, 0, 0},
    {"DAYS_BIRTH", 0, 4304, 0, 1},
    {"DAYS_EMPLOYED", 0, 2820, 0, 1},
    {"DAYS_REGISTRATION", 0, 4028, 0, 0},
    {"DAYS_ID_PUBLISH", 0, 3137, 0, 1},
    {"OWN_CAR_AGE", 3308, 44, 0, 0},
    {"FLAG_MOBIL", 0, 1, 0, 1},
    {"FLAG_EMP_PHONE", 0, 2, 0, 1},
    {"FLAG_WORK_PHONE", 0, 2, 0, 1},
    {"FLAG_CONT_MOBILE", 0, 2, 0, 1},
    {"FLAG_PHONE", 0, 2, 0, 1},
    {"FLAG_EMAIL", 0, 2, 0, 1},
    {"OCCUPATION_TYPE", 1545, 18, 1, 0},
    {"CNT_FAM_MEMBERS", 0, 8, 0, 0},
    {"REGION_RATING_CLIENT", 0, 3, 0, 1},
    {"REGION_RATING_CLIENT_W_CITY", 0, 3, 0, 1},
    {"WEEKDAY_APPR_PROCESS_START", 0, 7, 1, 0},
    {"HOUR_APPR_PROCESS_START", 0, 22, 0, 1},
    {"REG_REGION_NOT_LIVE_REGION", 0, 2, 0, 1},
    {"REG_REGION_NOT_WORK_REGION", 0, 2, 0, 1},
    {"LIVE_REGION_NOT_WORK_REGION", 0, 2, 0, 1},
    {"REG_CITY_NOT_LIVE_CITY", 0, 2, 0, 1},
    {"REG_CITY_NOT_WORK_CITY", 0, 2, 0, 1},
    {"LIVE_CITY_NOT_WORK_CITY", 0, 2, 0, 1},
    {"ORGANIZATION_TYPE", 0, 58, 1, 0},
    {"EXT_SOURCE_1", 2827, 2159, 0, 0},
    {"EXT_SOURCE_2", 16, 4780, 0, 0},
    {"EXT_SOURCE_3", 975, 581, 0, 0},
    {"APARTMENTS_AVG", 2487, 548, 0, 0},
    {"BASEMENTAREA_AVG", 2865, 1156, 0, 0},
    {"YEARS_BEGINEXPLUATATION_AVG", 2400, 114, 0, 0},
    {"YEARS_BUILD_AVG", 3256, 97, 0, 0},
    {"COMMONAREA_AVG", 3431, 730, 0, 0},
    {"ELEVATORS_AVG", 2601, 82, 0, 0},
    {"ENTRANCES_AVG", 2453, 80, 0, 0},
    {"FLOORSMAX_AVG", 2424, 86, 0, 0},
    {"FLOORSMIN_AVG", 3340, 64, 0, 0},
    {"LANDAREA_AVG", 2900, 1098, 0, 0},
    {"LIVINGAPARTMENTS_AVG", 3366, 438, 0, 0},
    {"LIVINGAREA_AVG", 2462, 1488, 0, 0},
    {"NONLIVINGAPARTMENTS_AVG", 3418, 73, 0, 0},
    {"NONLIVINGAREA_AVG", 2677, 687, 0, 0},
    {"APARTMENTS_MODE", 2487, 378, 0, 0},
    {"BASEMENTAREA_MODE", 2865, 1161, 0, 0},
    {"YEARS_BEGINEXPLUATATION_MODE", 2400, 110, 0, 0},
    {"YEARS_BUILD_MODE", 3256, 99, 0, 0},
    {"COMMONAREA_MODE", 3431, 716, 0, 0},
    {"ELEVATORS_MODE", 2601, 22, 0, 0},
    {"ENTRANCES_MODE", 2453, 27, 0, 0},
    {"FLOORSMAX_MODE", 2424, 23, 0, 0},
    {"FLOORSMIN_MODE", 3340, 21, 0, 0},
    {"LANDAREA_MODE", 2900, 1092, 0, 0},
    {"LIVINGAPARTMENTS_MODE", 3366, 326, 0, 0},
    {"LIVINGAREA_MODE", 2462, 1467, 0, 0},
    {"NONLIVINGAPARTMENTS_MODE", 3418, 40, 0, 0},
    {"NONLIVINGAREA_MODE", 2677, 662, 0, 0},
    {"APARTMENTS_MEDI", 2487, 459, 0, 0},
    {"BASEMENTAREA_MEDI", 2865, 1156, 0, 0},
    {"YEARS_BEGINEXPLUATATION_MEDI", 2400, 110, 0, 0},
    {"YEARS_BUILD_MEDI", 3256, 97, 0, 0},
    {"COMMONAREA_MEDI", 3431, 728, 0, 0},
    {"ELEVATORS_MEDI", 2601, 38, 0, 0},
    {"ENTRANCES_MEDI", 2453, 38, 0, 0},
    {"FLOORSMAX_MEDI", 2424, 39, 0, 0},
    {"FLOORSMIN_MEDI", 3340, 37, 0, 0},
    {"LANDAREA_MEDI", 2900, 1104, 0, 0},
    {"LIVINGAPARTMENTS_MEDI", 3366, 388, 0, 0},
    {"LIVINGAREA_MEDI", 2462, 1489, 0, 0},
    {"NONLIVINGAPARTMENTS_MEDI", 3418, 50, 0, 0},
    {"NONLIVINGAREA_MEDI", 2677, 688, 0, 0},
    {"FONDKAPREMONT_MODE", 3351, 4, 1, 0},
    {"HOUSETYPE_MODE", 2448, 3, 1, 0},
    {"TOTALAREA_MODE", 2367, 1488, 0, 0},
    {"WALLSMATERIAL_MODE", 2483, 7, 1, 0},
    {"EMERGENCYSTATE_MODE", 2324, 2, 1, 0},
    {"OBS_30_CNT_SOCIAL_CIRCLE", 23, 18, 0, 0},
    {"DEF_30_CNT_SOCIAL_CIRCLE", 23, 6, 0, 0},
    {"OBS_60_CNT_SOCIAL_CIRCLE", 23, 18, 0, 0},
    {"DEF_60_CNT_SOCIAL_CIRCLE", 23, 6, 0, 0},
    {"DAYS_LAST_PHONE_CHANGE", 0, 2118, 0, 0},
    {"FLAG_DOCUMENT_2", 0, 1, 0, 1},
    {"FLAG_DOCUMENT_3", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_4", 0, 1, 0, 1},
    {"FLAG_DOCUMENT_5", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_6", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_7", 0, 1, 0, 1},
    {"FLAG_DOCUMENT_8", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_9", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_10", 0, 1, 0, 1},
    {"FLAG_DOCUMENT_11", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_12", 0, 1, 0, 1},
    {"FLAG_DOCUMENT_13", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_14", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_15", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_16", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_17", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_18", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_19", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_20", 0, 2, 0, 1},
    {"FLAG_DOCUMENT_21", 0, 2, 0, 1},
    {"AMT_REQ_CREDIT_BUREAU_HOUR", 675, 3, 0, 0},
    {"AMT_REQ_CREDIT_BUREAU_DAY", 675, 5, 0, 0},
    {"AMT_REQ_CREDIT_BUREAU_WEEK", 675, 4, 0, 0},
    {"AMT_REQ_CREDIT_BUREAU_MON", 675, 14, 0, 0},
    {"AMT_REQ_CREDIT_BUREAU_QRT", 675, 7, 0, 0},
    {"AMT_REQ_CREDIT_BUREAU_YEAR", 675, 12, 0, 0},
};

/* First and last category (sorted) and their counts, from
 * /usr/bin/python3 -c '
 * import pandas as pd
 * df = pd.read_csv("application_train_head5000.csv")
 * for c in df.columns:
 *     if df[c].dtype == object:
 *         vc = df[c].value_counts(); ks = sorted(vc.index)
 *         print("{\"%s\", \"%s\", %d, \"%s\", %d}," % (c, ks[0], vc[ks[0]], ks[-1], vc[ks[-1]]))'
 */
static const struct {
    const char *name, *first;
    unsigned first_count;
    const char *last;
    unsigned last_count;
} hc_cats[] = {
    {"NAME_CONTRACT_TYPE", "Cash loans", 4516, "Revolving loans", 484},
    {"CODE_GENDER", "F", 3301, "M", 1699},
    {"FLAG_OWN_CAR", "N", 3308, "Y", 1692},
    {"FLAG_OWN_REALTY", "N", 1500, "Y", 3500},
    {"NAME_TYPE_SUITE", "Children", 49, "Unaccompanied", 4040},
    {"NAME_INCOME_TYPE", "Commercial associate", 1174, "Working", 2607},
    {"NAME_EDUCATION_TYPE", "Academic degree", 5, "Secondary / secondary special", 3575},
    {"NAME_FAMILY_STATUS", "Civil marriage", 467, "Widow", 292},
    {"NAME_HOUSING_TYPE", "Co-op apartment", 22, "With parents", 227},
    {"OCCUPATION_TYPE", "Accountants", 167, "Waiters/barmen staff", 19},
    {"WEEKDAY_APPR_PROCESS_START", "FRIDAY", 814, "WEDNESDAY", 833},
    {"ORGANIZATION_TYPE", "Advertising", 7, "XNA", 904},
    {"FONDKAPREMONT_MODE", "not specified", 88, "reg oper spec account", 199},
    {"HOUSETYPE_MODE", "block of flats", 2509, "terraced house", 22},
    {"WALLSMATERIAL_MODE", "Block", 178, "Wooden", 86},
    {"EMERGENCYSTATE_MODE", "No", 2637, "Yes", 39},
};

Test(csv, homecredit_head5000_matches_pandas)
{
    const char *shared = getenv("DM_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/homecredit-samples/application_train_head5000.csv",
             shared && *shared ? shared : "../../shared");
    if (access(path, R_OK) != 0)
        cr_skip_test("Home Credit sample not found at %s (set DM_SHARED)", path);
    dm_dataset ds;
    read_ok(path, NULL, &ds);
    cr_assert_eq(ds.rows, 5000);
    cr_assert_eq(ds.ncols, 122);
    cr_assert_eq(sizeof hc_cols / sizeof hc_cols[0], 122);
    for (size_t i = 0; i < 122; i++) {
        const dm_column *c = &ds.col[i];
        cr_assert_str_eq(c->name, hc_cols[i].name);
        cr_assert_eq(c->missing, hc_cols[i].missing, "%s missing", c->name);
        cr_assert_eq(c->nonfinite, 0, "%s", c->name);
        cr_assert_eq(c->storage == DM_STORE_STR, hc_cols[i].is_text, "%s storage", c->name);
        cr_assert_eq(c->is_int, hc_cols[i].is_int, "%s is_int", c->name);
        size_t distinct = c->storage == DM_STORE_STR ? c->n_cats : c->n_distinct;
        cr_assert_eq(distinct, hc_cols[i].nunique, "%s distinct", c->name);
        cr_assert_eq(c->n + c->missing, 5000, "%s", c->name);
    }
    for (size_t i = 0; i < sizeof hc_cats / sizeof hc_cats[0]; i++) {
        const dm_column *c = col(&ds, hc_cats[i].name);
        cr_assert_eq(c->storage, DM_STORE_STR);
        cr_assert_str_eq(c->cat[0], hc_cats[i].first);
        cr_assert_eq(c->cat_count[0], hc_cats[i].first_count, "%s", c->name);
        cr_assert_str_eq(c->cat[c->n_cats - 1], hc_cats[i].last);
        cr_assert_eq(c->cat_count[c->n_cats - 1], hc_cats[i].last_count, "%s", c->name);
    }
    dm_dataset_release(&ds);
}

/* ---- two readers on one file (dm_csv_set_split_threshold) ------------------------------ */

/* Deep equality of two datasets (source apart). */
static void assert_same_dataset(const dm_dataset *a, const dm_dataset *b)
{
    cr_assert_eq(a->rows, b->rows);
    cr_assert_eq(a->ncols, b->ncols);
    for (size_t i = 0; i < a->ncols; i++) {
        const dm_column *x = &a->col[i], *y = &b->col[i];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->storage, y->storage, "column %s", x->name);
        cr_assert_eq(x->missing, y->missing, "column %s", x->name);
        cr_assert_eq(x->nonfinite, y->nonfinite, "column %s", x->name);
        cr_assert_eq(x->is_int, y->is_int, "column %s", x->name);
        cr_assert_eq(x->n, y->n, "column %s", x->name);
        cr_assert_eq(x->n_distinct, y->n_distinct, "column %s", x->name);
        for (size_t k = 0; k < x->n_distinct; k++) {
            cr_assert(memcmp(&x->value[k], &y->value[k], sizeof(double)) == 0);
            cr_assert_eq(x->count[k], y->count[k]);
        }
        cr_assert_eq(x->n_cats, y->n_cats, "column %s", x->name);
        for (size_t k = 0; k < x->n_cats; k++) {
            cr_assert_str_eq(x->cat[k], y->cat[k]);
            cr_assert_eq(x->cat_count[k], y->cat_count[k]);
        }
        cr_assert_eq(x->first_text == NULL, y->first_text == NULL, "column %s", x->name);
        if (x->first_text) {
            cr_assert_str_eq(x->first_text, y->first_text);
            cr_assert_eq(x->first_text_line, y->first_text_line, "column %s", x->name);
        }
    }
}

/* Read path with one reader and with two (every file split); both must agree.  The split
 * read is left in *out. */
static void read_split_and_whole(const char *path, const dm_csv_options *opt, dm_dataset *out)
{
    dm_dataset whole;
    dm_csv_set_split_threshold(UINT64_MAX);
    read_ok(path, opt, &whole);
    dm_csv_set_split_threshold(1);
    read_ok(path, opt, out);
    dm_csv_set_split_threshold(UINT64_C(4) << 20);
    assert_same_dataset(&whole, out);
    dm_dataset_release(&whole);
}

/* Write s (malloc'ed, freed here) as fixture `name` and read it with one reader and with
 * two (read_split_and_whole): `rows` rows expected, the split read left in *ds. */
static void read_generated(const char *name, char *s, uint64_t rows, dm_dataset *ds)
{
    const char *p = fixture(name, s);
    free(s);
    read_split_and_whole(p, NULL, ds);
    cr_assert_eq(ds->rows, rows);
}

/* Rows i = 0..n-1 of "i%7,i%3 as text or missing,i/10.0": the counts follow from i. */
static char *many_rows(size_t n, const char *eol)
{
    size_t cap = 64 + n * 48, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    len += (size_t)snprintf(s, cap, "a,b,c%s", eol);
    static const char *const b[] = {"x", "", "y y"};
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%zu,%s,%.1f%s", i % 7, b[i % 3],
                                (double)i / 10.0, eol);
    return s;
}

Test(csv, split_halves_equal_one_reader)
{
    /* 2000 rows: a = i % 7 (each residue 285 or 286 times: 2000 = 7 * 285 + 5, so residues
     * 0..4 occur 286 times), b = "x" / missing / "y y" (667, 667, 666 times), c = i / 10
     * (2000 distinct values) */
    dm_dataset ds;
    read_generated("split.csv", many_rows(2000, "\n"), 2000, &ds);
    const dm_column *a = col(&ds, "a"), *b = col(&ds, "b"), *c = col(&ds, "c");
    cr_assert_eq(a->n_distinct, 7);
    for (size_t k = 0; k < 7; k++)
        cr_assert_eq(a->count[k], k < 5 ? 286u : 285u, "residue %zu", k);
    cr_assert(a->is_int);
    cr_assert_eq(b->storage, DM_STORE_STR);
    cr_assert_eq(b->missing, 667);
    cr_assert_eq(b->n_cats, 2);
    cr_assert_eq(b->cat_count[0], 667); /* "x" */
    cr_assert_eq(b->cat_count[1], 666); /* "y y" */
    cr_assert_eq(b->first_text_line, 2);
    cr_assert_eq(c->n_distinct, 2000);
    cr_assert_eq(c->value[1999], 199.9);
    dm_dataset_release(&ds);

    /* CRLF line ends: the same data */
    dm_dataset ds2;
    read_generated("split_crlf.csv", many_rows(2000, "\r\n"), 2000, &ds2);
    cr_assert_eq(col(&ds2, "b")->cat_count[0], 667);
    dm_dataset_release(&ds2);
}

/* one_reader: a file past the split threshold, read by this thread alone, gives exactly
 * what two readers give */
Test(csv, one_reader_option_reads_whole_files_alike)
{
    char *s = many_rows(2000, "\n");
    const char *path = fixture("one_reader.csv", s);
    free(s);
    dm_dataset two, one;
    dm_csv_set_split_threshold(1);
    read_ok(path, NULL, &two);
    dm_csv_options o = {.one_reader = true};
    read_ok(path, &o, &one);
    dm_csv_set_split_threshold(UINT64_C(4) << 20);
    assert_same_dataset(&two, &one);
    cr_assert_eq(one.rows, 2000);
    dm_dataset_release(&two);
    dm_dataset_release(&one);
}

/* Rows i = 0..n-1 of "i%10,i,<t>": t is "s" for the first `first` rows and 200 x 'L' after
 * them, or the other way round (long_first), so the row estimate the reader makes after its
 * first 64 KiB (monitor/csvin.c, expect_rows) is far too high or far too low. */
static char *skewed_rows(size_t n, size_t first, bool long_first)
{
    char lng[201];
    memset(lng, 'L', 200);
    lng[200] = '\0';
    size_t cap = 64 + n * 220, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    len += (size_t)snprintf(s, cap, "a,b,t\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%zu,%zu,%s\n", i % 10, i,
                                (i < first) == long_first ? lng : "s");
    return s;
}

Test(csv, row_estimate_too_high_or_too_low_changes_nothing)
{
    /* 30,000 rows, the first 10,000 short then long (estimate too high), and 10,000 long
     * then short (too low; the arrays grow past it): a = i % 10 (3,000 each), b = i (30,000
     * distinct, the largest 29,999), t: 10,000 of one and 20,000 of the other */
    for (int long_first = 0; long_first < 2; long_first++) {
        dm_dataset ds;
        read_generated(long_first ? "skew_long.csv" : "skew_short.csv",
                       skewed_rows(30000, 10000, long_first), 30000, &ds);
        const dm_column *a = col(&ds, "a"), *b = col(&ds, "b"), *t = col(&ds, "t");
        cr_assert_eq(a->n_distinct, 10);
        for (size_t k = 0; k < 10; k++)
            cr_assert_eq(a->count[k], 3000, "residue %zu", k);
        cr_assert_eq(b->n_distinct, 30000);
        cr_assert_eq(b->n, 30000);
        cr_assert_eq(b->value[0], 0.0);
        cr_assert_eq(b->value[29999], 29999.0);
        cr_assert_eq(t->n_cats, 2);
        /* categories in byte order: "L..." before "s" */
        cr_assert_eq(t->cat_count[0], long_first ? 10000 : 20000);
        cr_assert_eq(t->cat_count[1], long_first ? 20000 : 10000);
        dm_dataset_release(&ds);
    }
}

Test(csv, split_inside_quoted_field_falls_back)
{
    /* one quoted field of 60 lines spans the middle of the file: the first LF past the
     * middle is inside it, so the second reader's part is thrown away */
    char s[8192];
    size_t len = (size_t)snprintf(s, sizeof s, "a,b\n1,\"");
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(s + len, sizeof s - len, "line %02d of the field\n", i);
    len += (size_t)snprintf(s + len, sizeof s - len, "end\"\n2,3\n");
    const char *p = fixture("quoted_mid.csv", s);
    dm_dataset ds;
    read_split_and_whole(p, NULL, &ds);
    cr_assert_eq(ds.rows, 2);
    const dm_column *b = col(&ds, "b");
    cr_assert_eq(b->storage, DM_STORE_STR);
    cr_assert_eq(b->n_cats, 2); /* "3" and the long field, strcmp order */
    cr_assert_str_eq(b->cat[0], "3");
    cr_assert(strncmp(b->cat[1], "line 00 of the field\nline 01", 28) == 0);
    dm_dataset_release(&ds);
}

Test(csv, split_errors_keep_their_lines)
{
    /* 1000 rows "i,i" on lines 2..1001; line 900 is ragged (second half of the file) */
    size_t cap = 16 * 1024, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    len += (size_t)snprintf(s, cap, "k,v\n");
    for (int i = 2; i <= 1001; i++)
        len += (size_t)snprintf(s + len, cap - len, i == 900 ? "%d\n" : "%d,%d\n", i, i);
    const char *p = fixture("split_ragged.csv", s);
    dm_csv_set_split_threshold(1);
    const char *n[] = {"line 900", "expected 2 fields, got 1"};
    expect_error(p, NULL, n, 2);

    /* a text value on line 950: the second reader's line 1 is the line the first reader
     * stopped on (messages name line 950: test_reconcile.c) */
    len = (size_t)snprintf(s, cap, "k,v\n");
    for (int i = 2; i <= 1001; i++)
        len += (size_t)snprintf(s + len, cap - len, i == 950 ? "%d,n.a.\n" : "%d,%d\n", i, i);
    const char *q = fixture("split_text.csv", s);
    dm_dataset tx;
    read_split_and_whole(q, NULL, &tx);
    cr_assert_str_eq(col(&tx, "v")->first_text, "n.a.");
    cr_assert_eq(col(&tx, "v")->first_text_line, 950);
    dm_dataset_release(&tx);

    /* a column that is numbers in the first half and text in the second: read again as
     * text, as one reader does (998 distinct spellings of numbers and "abc") */
    len = (size_t)snprintf(s, cap, "k,v\n");
    for (int i = 2; i <= 1001; i++)
        len += (size_t)snprintf(s + len, cap - len, i == 990 ? "%d,abc\n" : "%d,%d\n", i, i);
    const char *f = fixture("split_flip.csv", s);
    free(s);
    dm_dataset ds;
    read_split_and_whole(f, NULL, &ds);
    const dm_column *v = col(&ds, "v");
    cr_assert_eq(v->storage, DM_STORE_STR);
    cr_assert_eq(v->n_cats, 1000);
    cr_assert_str_eq(v->first_text, "abc");
    cr_assert_eq(v->first_text_line, 990);
    dm_dataset_release(&ds);
    dm_csv_set_split_threshold(UINT64_C(4) << 20);
}

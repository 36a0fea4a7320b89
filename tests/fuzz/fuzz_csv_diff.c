/*
 * fuzz_csv_diff.c - differential libFuzzer harness for the CSV reader: the same bytes read
 *   (a) as the program reads them: plain lines split directly (fast path), the file read in
 *       chunks of a size the input chooses, split into two halves read by two threads (when
 *       the input asks for it);
 *   (b) the reference: every line through libcsv, one reader, the whole file in one read();
 * must give the same dataset (columns, storage, every value bit for bit, counts, missing,
 * nonfinite, is_int, first_text and its line, moments) or the same error message.  abort()
 * on any difference.
 *
 * Input: byte 0 = read() size for (a) (0: the real 64 KiB; 1..32: that many bytes; above, by
 * steps of 16 bytes up to 3,568, fewer read() calls for longer inputs), byte 1 = flags
 * (bit 0: split every file into two halves, bit 1: read a subset of the columns); the rest is the
 * CSV file.  The chunk and the split reach, with a few bytes, the code paths that only files of 64
 * KiB and 4 MiB reach otherwise (dm_csv_set_test_reading, dm_csv_set_split_threshold). Built and
 * run by tests/fuzz/run.sh; seeds written by tests/fuzz/seeds.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/csvin.h"
#include "tests/fuzz/input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *what, size_t col)
{
    fprintf(stderr,
            "fuzz_csv_diff: the fast/chunked/split read and the libcsv-only read differ: %s"
            " (column %zu)\n",
            what, col);
    abort();
}

static bool same_double(double x, double y)
{
    return memcmp(&x, &y, sizeof x) == 0;
}

static void compare(const dm_dataset *a, const dm_dataset *b)
{
    if (strcmp(a->source, b->source) != 0 || strcmp(a->sha256, b->sha256) != 0)
        differ("source or digest", 0);
    if (a->rows != b->rows)
        differ("rows", 0);
    if (a->ncols != b->ncols)
        differ("number of columns", 0);
    for (size_t i = 0; i < a->ncols; i++) {
        const dm_column *x = &a->col[i], *y = &b->col[i];
        if (strcmp(x->name, y->name) != 0)
            differ("name", i);
        if (x->storage != y->storage)
            differ("storage", i);
        if (x->missing != y->missing || x->nonfinite != y->nonfinite || x->n != y->n)
            differ("missing, nonfinite or n", i);
        if (x->is_int != y->is_int)
            differ("is_int", i);
        if (x->n_distinct != y->n_distinct || x->n_cats != y->n_cats)
            differ("number of distinct values", i);
        for (size_t k = 0; k < x->n_distinct; k++)
            if (!same_double(x->value[k], y->value[k]) || x->count[k] != y->count[k])
                differ("a value or its count", i);
        for (size_t k = 0; k < x->n_cats; k++)
            if (strcmp(x->cat[k], y->cat[k]) != 0 || x->cat_count[k] != y->cat_count[k])
                differ("a category or its count", i);
        if ((x->first_text == NULL) != (y->first_text == NULL) ||
            (x->first_text && (strcmp(x->first_text, y->first_text) != 0 ||
                               x->first_text_line != y->first_text_line)))
            differ("first_text or its line", i);
        if (x->has_moments != y->has_moments ||
            (x->has_moments && (!same_double(x->mean, y->mean) || !same_double(x->std, y->std))))
            differ("moments", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size - 2 >= (1u << 16))
        return 0; /* (b) must read the file in one read() */
    size_t chunk = data[0] <= 32 ? data[0] : (size_t)(data[0] - 32) * 16;
    bool split = data[1] & 1, with_opt = data[1] & 2;
    data += 2;
    size -= 2;
    const char *path = fuzz_input_file("dm-fuzz-csv-diff", data, size);

    static const char *const cols[] = {"a", "b", "c"};
    dm_csv_options opt_a = {0};
    if (with_opt)
        opt_a = (dm_csv_options){.keep = cols, .n_keep = 3};
    dm_csv_options opt_b = opt_a; /* one reader: splitting is off for (b) */

    char err_a[512] = "", err_b[512] = "";
    dm_dataset ds_a, ds_b;
    dm_csv_set_test_reading(chunk, false);
    dm_csv_set_split_threshold(split ? 1 : UINT64_MAX);
    int rc_a = dm_csv_read(path, with_opt ? &opt_a : NULL, &ds_a, err_a, sizeof err_a);
    dm_csv_set_test_reading(0, true);
    dm_csv_set_split_threshold(UINT64_MAX);
    int rc_b = dm_csv_read(path, &opt_b, &ds_b, err_b, sizeof err_b);

    if (rc_a != rc_b) {
        fprintf(stderr, "fuzz_csv_diff: (a) %s, (b) %s\n", rc_a ? err_a : "read",
                rc_b ? err_b : "read");
        abort();
    }
    if (rc_a != 0) {
        if (strcmp(err_a, err_b) != 0) {
            fprintf(stderr, "fuzz_csv_diff: messages differ:\n(a) %s\n(b) %s\n", err_a, err_b);
            abort();
        }
        return 0;
    }
    compare(&ds_a, &ds_b);
    dm_dataset_release(&ds_a);
    dm_dataset_release(&ds_b);
    return 0;
}

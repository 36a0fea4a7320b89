/*
 * fuzz_csv.c - libFuzzer harness for the CSV reader: the input is written to a temp file
 * (dm_csv_read reads files) and read with and without options; every error must come back
 * as -1 with a one-line message, never as a crash, a leak or an out-of-bounds access.
 * Built and run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/csvin.h"
#include "tests/fuzz/input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file("dm-fuzz-csv", data, size);

    char err[256];
    dm_dataset ds;
    if (dm_csv_read(path, NULL, &ds, err, sizeof err) == 0) {
        /* invariants of a loaded dataset */
        for (size_t i = 0; i < ds.ncols; i++) {
            const dm_column *c = &ds.col[i];
            uint64_t sum = 0;
            if (c->storage == DM_STORE_NUM) {
                for (size_t k = 0; k < c->n_distinct; k++) {
                    if (k > 0 && !(c->value[k - 1] < c->value[k]))
                        abort();
                    sum += c->count[k];
                }
            } else {
                for (size_t k = 0; k < c->n_cats; k++) {
                    if (k > 0 && strcmp(c->cat[k - 1], c->cat[k]) >= 0)
                        abort();
                    sum += c->cat_count[k];
                }
            }
            if (sum != c->n || c->n + c->missing + c->nonfinite != ds.rows)
                abort();
        }
        dm_dataset_release(&ds);
    } else if (strchr(err, '\n') != NULL || err[0] == '\0') {
        abort(); /* messages are one non-empty line */
    }

    /* the same with the reader's one option: a subset of the columns (forced types are the
     * reconcile stage's, after loading) */
    static const char *const cols[] = {"a", "b", "c"};
    dm_csv_options opt = {.keep = cols, .n_keep = 3};
    if (dm_csv_read(path, &opt, &ds, err, sizeof err) == 0)
        dm_dataset_release(&ds);
    return 0;
}

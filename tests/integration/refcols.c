/* refcols.c - tests/integration/bigref.sh's window on dm_ref_load_columns: load reference
 * NAME (its newest version) whole or only the columns at the ordinals given, with or without
 * a cache directory, and print one line per column of the dataset: its position, name and
 * the sha256 of its stored section (dm_profile_column_encode), then "sha256 <reference's>".
 * The script compares the lines with driftmon.reference_column.
 *
 * usage: refcols NAME CACHE_DIR|- [ORDINAL...]   (connection from the PG* environment) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db.h"
#include "monitor/profile.h"
#include "monitor/refstore.h"
#include "monitor/sha256.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: refcols NAME CACHE_DIR|- [ORDINAL...]\n");
        return 2;
    }
    char err[2048];
    PGconn *conn = dm_db_connect(NULL, err, sizeof err);
    if (!conn) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *cache = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
    size_t n = (size_t)(argc - 3);
    size_t *idx = calloc(n + 1, sizeof *idx);
    for (size_t k = 0; k < n; k++)
        idx[k] = (size_t)strtoull(argv[3 + k], NULL, 10);
    dm_dataset ds;
    int rc = n ? dm_ref_load_columns(conn, argv[1], 0, cache, idx, n, &ds, NULL, err, sizeof err)
               : dm_ref_load_cached(conn, argv[1], 0, cache, &ds, NULL, err, sizeof err);
    free(idx);
    PQfinish(conn);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    for (size_t i = 0; i < ds.ncols; i++) {
        size_t len;
        unsigned char *p = dm_profile_column_encode(&ds.col[i], &len);
        dm_sha256 *h = dm_sha256_alloc();
        char hex[65];
        if (!p || !h)
            return 1;
        dm_sha256_update(h, p, len);
        dm_sha256_final(h, hex);
        free(p);
        printf("%zu|%s|%s\n", i, ds.col[i].name, hex);
    }
    printf("sha256 %s rows %llu columns %zu\n", ds.sha256, (unsigned long long)ds.rows, ds.ncols);
    dm_dataset_release(&ds);
    return 0;
}

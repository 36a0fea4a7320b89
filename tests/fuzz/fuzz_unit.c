/*
 * fuzz_unit.c - libFuzzer harness for dm_compare_group_load (monitor/unitcodec.c).
 *
 * A random byte string would stop at the unit's mark or checksum, so the input is a script
 * of changes to a valid unit instead: byte 0 picks one of three units saved from a small
 * comparison made once (and whether to reseal), bytes 1-2 a length to cut it to (0: none),
 * then triples (offset high, offset low, value) overwrite bytes after the header.  Resealed
 * (length and checksum made right again), the changed unit reaches the structure's checks.
 * It is loaded into a comparison begun afresh: refused or taken, never a crash or a leak.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/compare.h"
#include "monitor/csvin.h"
#include "monitor/reconcile.h"
#include "monitor/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD (16 + 3 * 32)

static struct {
    bool ready;
    dm_config cfg;
    dm_dataset ref, cur;
    dm_reconciled p;
    unsigned char *unit[3];
    size_t len[3];
} S;

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void setup(void)
{
    static const char cfg[] = "{\"columns\": {\"categorical\": [\"m\"]},"
                              " \"model\": {\"score_column\": \"s\", \"decision_threshold\": 0.5,"
                              " \"label_column\": \"y\"}}";
    char dir[] = "/tmp/dm-fuzz-unit-XXXXXX", rp[64], cp[64], err[512];
    if (!mkdtemp(dir))
        abort();
    snprintf(rp, sizeof rp, "%s/r.csv", dir);
    snprintf(cp, sizeof cp, "%s/c.csv", dir);
    char r[4096] = "a,t,m,e,s,y\n", c[4096] = "t,a,m,e,s,y,x\n";
    for (int i = 0; i < 40; i++) {
        char line[160];
        snprintf(line, sizeof line, "%.17g,%c,%d,%s,%.3f,%d\n", i * 0.37 - 3, 'A' + i % 4, i % 3,
                 i % 5 ? "1.5" : "", (i * 7 % 40) / 40.0, i % 3 == 0);
        strcat(r, line);
        snprintf(line, sizeof line, "%c,%.17g,%s,,%.3f,%d,%d\n", 'A' + i % 5, i * 0.41 - 2,
                 i % 2 ? "p" : "q", (i * 11 % 40) / 41.0, i % 4 == 0, i);
        strcat(c, line);
    }
    const char *keep[2] = {"s", "y"};
    dm_csv_options opt;
    memset(&opt, 0, sizeof opt);
    opt.keep_rows = keep;
    opt.n_keep_rows = 2;
    dm_comparison a;
    if (write_file(rp, r) || write_file(cp, c) ||
        dm_config_parse(cfg, strlen(cfg), "cfg.json", &S.cfg, err, sizeof err) ||
        dm_csv_read(rp, &opt, &S.ref, err, sizeof err) ||
        dm_csv_read(cp, &opt, &S.cur, err, sizeof err) ||
        dm_reconcile(&S.cfg, &S.ref, &S.cur, &S.p, err, sizeof err) ||
        dm_compare_begin(&S.cfg, NULL, &S.ref, &S.cur, &S.p, true, &a, err, sizeof err)) {
        fprintf(stderr, "fuzz_unit setup: %s\n", err);
        abort();
    }
    unlink(rp);
    unlink(cp);
    rmdir(dir);
    for (size_t g = 0; g < 3; g++) {
        size_t cols[8], n = 0;
        for (size_t j = g; j < S.cur.ncols; j += 3)
            cols[n++] = j;
        if (dm_compare_group(&a, cols, n, err, sizeof err) ||
            dm_compare_group_save(&a, cols, n, &S.unit[g], &S.len[g], err, sizeof err)) {
            fprintf(stderr, "fuzz_unit setup: %s\n", err);
            abort();
        }
    }
    dm_comparison_release(&a);
    S.ready = true;
}

static void reseal(unsigned char *b, size_t len)
{
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)((uint64_t)len >> (8 * i));
    dm_sha256 *h = dm_sha256_alloc();
    if (!h)
        abort();
    dm_sha256_update(h, b, len - 32);
    if (dm_sha256_final_raw(h, b + len - 32) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!S.ready)
        setup();
    if (size < 3)
        return 0;
    size_t g = data[0] % 3, len = S.len[g];
    bool sealed = !(data[0] & 0x80);
    size_t cut = (size_t)data[1] << 8 | data[2];
    if (cut > 0 && cut < len)
        len = sealed && cut < HEAD + 32 ? HEAD + 32 : cut;
    unsigned char *b = malloc(len);
    if (!b)
        return 0;
    memcpy(b, S.unit[g], len);
    size_t body = len > HEAD + 32 ? len - HEAD - 32 : 0;
    for (size_t k = 3; k + 2 < size && body > 0; k += 3)
        b[HEAD + (((size_t)data[k] << 8 | data[k + 1]) % body)] = data[k + 2];
    if (sealed && len >= HEAD + 32)
        reseal(b, len); /* a cut unit: its body's first len - 32 bytes */
    dm_comparison c;
    char err[512];
    if (dm_compare_begin(&S.cfg, NULL, &S.ref, &S.cur, &S.p, true, &c, err, sizeof err) != 0)
        abort();
    if (dm_compare_group_load(&c, b, len, err, sizeof err) != 0 && err[0] == '\0')
        abort(); /* a refusal always says why */
    dm_comparison_release(&c);
    free(b);
    return 0;
}

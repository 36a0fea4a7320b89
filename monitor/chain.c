/* chain.c - the hash chain's canonical row encoding, in C (see chain.h). */
#include "monitor/chain.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/sha256.h"

void dm_chain_buf_release(dm_chain_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static bool put(dm_chain_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return true;
}

/*
 * Field kinds, one letter per column (the SQL encodings of 002 and 009):
 *   I int8, H int4 (widened to int8), F float8, S timestamptz (int8 microseconds), B bool,
 *   T text, J jsonb (binary: version byte 1, then its text form).
 * NULL is the byte 0; any value starts with the byte 1.
 */
static const char RESULT_KINDS[] = "IITTTFFBIIIIJ";
static const char RUN_KINDS[] = "IITSSISSHHFFBFBTTTTTTT";
static const char PERF_KINDS[] = "IITITSITTFFFIIIIIIFFFFFFIFFFFFBITTT";
static const char PERF_REPORT_KINDS[] = "IIITSTTTTT";

static int encode(const dm_copybin_field *f, const char *tag, const char *kinds, dm_chain_buf *b,
                  char *err, size_t errlen)
{
    static const unsigned char null_tag = 0, value_tag = 1;
    b->len = 0;
    bool ok = put(b, tag, strlen(tag));
    for (int j = 0; ok && kinds[j]; j++) {
        if (f[j].len < 0) {
            ok = put(b, &null_tag, 1);
            continue;
        }
        const unsigned char *v = f[j].p;
        size_t n = (size_t)f[j].len;
        size_t want = 0;
        switch (kinds[j]) {
        case 'I':
        case 'F':
        case 'S':
            want = 8;
            break;
        case 'H':
            want = 4;
            break;
        case 'B':
            want = 1;
            break;
        default:
            break;
        }
        if ((want && n != want) || (kinds[j] == 'J' && (n < 1 || v[0] != 1))) {
            snprintf(err, errlen, "unexpected value of %zu bytes in column %d of %s", n, j + 1,
                     tag);
            return -1;
        }
        ok = put(b, &value_tag, 1);
        if (!ok)
            break;
        switch (kinds[j]) {
        case 'H': {
            unsigned char w[8];
            memset(w, (v[0] & 0x80) ? 0xff : 0x00, 4);
            memcpy(w + 4, v, 4);
            ok = put(b, w, 8);
            break;
        }
        case 'B': {
            unsigned char x = v[0] ? 1 : 0;
            ok = put(b, &x, 1);
            break;
        }
        case 'T':
        case 'J': {
            if (kinds[j] == 'J') {
                v++;
                n--;
            }
            unsigned char l[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                                  (unsigned char)(n >> 8), (unsigned char)n};
            ok = put(b, l, 4) && put(b, v, n);
            break;
        }
        default:
            ok = put(b, v, n);
            break;
        }
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int dm_chain_result_fields(const dm_copybin_field *f, dm_chain_buf *b, char *err, size_t errlen)
{
    return encode(f, "driftmon.column_result/1", RESULT_KINDS, b, err, errlen);
}

int dm_chain_run_fields(const dm_copybin_field *f, dm_chain_buf *b, char *err, size_t errlen)
{
    if (encode(f, "driftmon.run/1", RUN_KINDS, b, err, errlen) != 0)
        return -1;
    /* the monitor, after prev_hash and row_hash: only when it is not 'default' */
    const dm_copybin_field *m = &f[DM_CHAIN_RUN_NCOLS - 1];
    size_t n = m->len < 0 ? 0 : (size_t)m->len;
    if (m->len < 0 || (n == strlen("default") && memcmp(m->p, "default", n) == 0))
        return 0;
    unsigned char l[5] = {1, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    if (!put(b, l, sizeof l) || !put(b, m->p, n)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void row_fields(const PGresult *res, int row, size_t n, dm_copybin_field *f)
{
    for (size_t j = 0; j < n; j++) {
        bool null = PQgetisnull(res, row, (int)j);
        f[j].p = (const unsigned char *)PQgetvalue(res, row, (int)j);
        f[j].len = null ? -1 : PQgetlength(res, row, (int)j);
    }
}

int dm_chain_result_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen)
{
    dm_copybin_field f[sizeof RESULT_KINDS - 1];
    row_fields(res, row, sizeof RESULT_KINDS - 1, f);
    return dm_chain_result_fields(f, b, err, errlen);
}

int dm_chain_run_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen)
{
    dm_copybin_field f[DM_CHAIN_RUN_NCOLS];
    row_fields(res, row, DM_CHAIN_RUN_NCOLS, f);
    return dm_chain_run_fields(f, b, err, errlen);
}

int dm_chain_perf_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen)
{
    dm_copybin_field f[sizeof PERF_KINDS - 1];
    row_fields(res, row, sizeof PERF_KINDS - 1, f);
    return encode(f, "driftmon.performance/1", PERF_KINDS, b, err, errlen);
}

int dm_chain_perf_report_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err,
                               size_t errlen)
{
    dm_copybin_field f[sizeof PERF_REPORT_KINDS - 1];
    row_fields(res, row, sizeof PERF_REPORT_KINDS - 1, f);
    return encode(f, "driftmon.performance_report/1", PERF_REPORT_KINDS, b, err, errlen);
}

int dm_chain_link_hash(const unsigned char prev[32], const dm_chain_buf *b, unsigned char out[32])
{
    dm_sha256 *h = dm_sha256_alloc();
    if (!h)
        return -1;
    dm_sha256_update(h, prev, 32);
    dm_sha256_update(h, b->p, b->len);
    return dm_sha256_final_raw(h, out);
}

void dm_chain_hex(const unsigned char h[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[64] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dm_chain_unhex(const char *s, unsigned char h[32])
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int a = nibble(s[2 * i]), c = nibble(s[2 * i + 1]);
        if (a < 0 || c < 0)
            return -1;
        h[i] = (unsigned char)(a << 4 | c);
    }
    return 0;
}

/*
 * copybin.c - the binary COPY stream parser (see copybin.h): bytes in, rows into a
 * dm_builder out.  No libpq: the COPY driver (copy.c) feeds it.
 */
#include "monitor/copybin.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char copy_signature[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                        '\n', '\377', '\r', '\n', '\0'};

/* rows in dm_copybin.block: 64 x 333 columns is 170 KB, within the L2 cache */
#define COPY_BLOCK_ROWS 64

static uint32_t be32(const unsigned char *p);
static uint16_t be16(const unsigned char *p);
static double be_double(const unsigned char *p);
static const char *col_name(const dm_copybin *p, size_t c, char *buf, size_t buflen);
static char wire_of(const dm_copybin *p, size_t c);
static int32_t wire_len(char w);
static double wire_number(char w, const unsigned char *q);
static int flush_block(dm_copybin *p, char *err, size_t errlen);
static int parse(dm_copybin *p, const unsigned char *buf, size_t len, size_t *used, char *err,
                 size_t errlen);
static int append_pending(dm_copybin *p, const unsigned char *d, size_t len, char *err,
                          size_t errlen);

void dm_copybin_init(dm_copybin *p, size_t ncols, const bool *numeric, const char *const *names,
                     dm_builder *b)
{
    memset(p, 0, sizeof *p);
    p->ncols = ncols;
    p->numeric = numeric;
    p->names = names;
    p->b = b;
}

void dm_copybin_set_wire(dm_copybin *p, const char *wire)
{
    p->wire = wire;
}

void dm_copybin_release(dm_copybin *p)
{
    free(p->pending);
    p->pending = NULL;
    p->pending_len = p->pending_cap = 0;
    free(p->block);
    p->block = NULL;
    p->block_rows = 0;
}

int dm_copybin_feed(dm_copybin *p, const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *d = data;
    size_t used = 0;

    if (len == 0) {
        return 0;
    }
    if (p->pending_len == 0) {
        /* the usual case: whole tuples per chunk, parsed in place */
        if (parse(p, d, len, &used, err, errlen) != 0) {
            return -1;
        }
        /* keep an incomplete header or tuple for the next chunk */
        return append_pending(p, d + used, len - used, err, errlen);
    }
    if (append_pending(p, d, len, err, errlen) != 0 ||
        parse(p, p->pending, p->pending_len, &used, err, errlen) != 0) {
        return -1;
    }
    memmove(p->pending, p->pending + used, p->pending_len - used);
    p->pending_len -= used;
    return 0;
}

int dm_copybin_finish(dm_copybin *p, char *err, size_t errlen)
{
    if (p->state == 0) {
        snprintf(err, errlen, "binary COPY: stream ended inside the header (%zu bytes)",
                 p->pending_len);
        return -1;
    }
    if (p->state != 2) {
        snprintf(err, errlen,
                 "binary COPY: stream truncated after row %llu (%zu bytes of an "
                 "incomplete row, no trailer)",
                 (unsigned long long)p->rows, p->pending_len);
        return -1;
    }
    if (p->pending_len != 0) {
        snprintf(err, errlen, "binary COPY: %zu bytes after the trailer", p->pending_len);
        return -1;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static double be_double(const unsigned char *p)
{
    uint64_t u = (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static const char *col_name(const dm_copybin *p, size_t c, char *buf, size_t buflen)
{
    if (p->names != NULL && p->names[c] != NULL) {
        return p->names[c];
    }
    snprintf(buf, buflen, "#%zu", c + 1);
    return buf;
}

/* The wire format of column c: 'd', 'f', 'h', 'i', 'l' or 't'. */
static char wire_of(const dm_copybin *p, size_t c)
{
    if (p->wire != NULL)
        return p->wire[c];
    return p->numeric[c] ? 'd' : 't';
}

/* The field length a wire format requires, or -1 for any (text). */
static int32_t wire_len(char w)
{
    switch (w) {
    case 'd':
    case 'l':
        return 8;
    case 'f':
    case 'i':
        return 4;
    case 'h':
        return 2;
    default:
        return -1;
    }
}

static double wire_number(char w, const unsigned char *q)
{
    switch (w) {
    case 'f': {
        uint32_t u = be32(q);
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    case 'h':
        return (double)(int16_t)(uint16_t)((unsigned)q[0] << 8 | q[1]);
    case 'i':
        return (double)(int32_t)be32(q);
    case 'l':
        return (double)(int64_t)((uint64_t)be32(q) << 32 | (uint64_t)be32(q + 4));
    default:
        return be_double(q);
    }
}

/* Hand the block's numbers to the builder, column by column. */
static int flush_block(dm_copybin *p, char *err, size_t errlen)
{
    size_t n = p->block_rows;
    p->block_rows = 0;
    for (size_t c = 0; n > 0 && c < p->ncols; c++) {
        if (wire_of(p, c) == 't')
            continue;
        if (dm_builder_numbers(p->b, c, p->block + c, p->ncols, n) != 0) {
            char nb[32];
            snprintf(err, errlen, "rows %llu to %llu column \"%s\": could not store the values",
                     (unsigned long long)(p->rows - n + 1), (unsigned long long)p->rows,
                     col_name(p, c, nb, sizeof nb));
            return -1;
        }
    }
    return 0;
}

/*
 * Parse what is complete in buf[0..len): the header, whole tuples, the trailer.  *used
 * gets the bytes consumed; an incomplete header or tuple is left for the next call.
 */
static int parse(dm_copybin *p, const unsigned char *buf, size_t len, size_t *used, char *err,
                 size_t errlen)
{
    size_t pos = 0;
    char nb[32];

    *used = 0;
    if (p->state == 0) {
        uint32_t flags, extlen;
        if (len < 19) {
            if (len >= 1 && memcmp(buf, copy_signature, len < 11 ? len : 11) != 0) {
                snprintf(err, errlen, "binary COPY: bad signature");
                return -1;
            }
            return 0;
        }
        if (memcmp(buf, copy_signature, 11) != 0) {
            snprintf(err, errlen, "binary COPY: bad signature");
            return -1;
        }
        flags = be32(buf + 11);
        extlen = be32(buf + 15);
        if (flags & (UINT32_C(1) << 16)) {
            snprintf(err, errlen, "binary COPY: rows carry OIDs (not supported)");
            return -1;
        }
        if ((flags & UINT32_C(0xfffe0000)) != 0) {
            snprintf(err, errlen, "binary COPY: unknown critical header flags 0x%08x",
                     (unsigned)flags);
            return -1;
        }
        if (extlen > INT32_MAX) {
            snprintf(err, errlen, "binary COPY: negative header extension length");
            return -1;
        }
        if (len - 19 < extlen) {
            return 0;
        }
        pos = 19 + (size_t)extlen;
        p->state = 1;
        *used = pos;
    }
    while (pos < len) {
        size_t q = pos;
        int16_t nf;

        if (p->state == 2) {
            snprintf(err, errlen, "binary COPY: %zu bytes after the trailer", len - pos);
            return -1;
        }
        if (len - q < 2) {
            break;
        }
        nf = (int16_t)be16(buf + q);
        q += 2;
        if (nf == -1) {
            p->state = 2;
            pos = q;
            *used = pos;
            if (flush_block(p, err, errlen) != 0)
                return -1;
            continue;
        }
        if (nf < 0 || (size_t)nf != p->ncols) {
            snprintf(err, errlen, "binary COPY: row %llu has %d fields, expected %zu",
                     (unsigned long long)(p->rows + 1), (int)nf, p->ncols);
            return -1;
        }
        /* First pass: is the whole tuple here, and is every field well formed? */
        bool complete = true;
        for (size_t c = 0; c < p->ncols; c++) {
            int32_t flen;
            if (len - q < 4) {
                complete = false;
                break;
            }
            flen = (int32_t)be32(buf + q);
            q += 4;
            if (flen == -1) {
                continue;
            }
            if (flen < 0) {
                snprintf(err, errlen, "binary COPY: row %llu column \"%s\": field length %d",
                         (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb),
                         (int)flen);
                return -1;
            }
            int32_t want = wire_len(wire_of(p, c));
            if (want >= 0 && flen != want) {
                snprintf(err, errlen,
                         "binary COPY: row %llu column \"%s\": a field of %d bytes where %d were "
                         "expected",
                         (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb),
                         (int)flen, (int)want);
                return -1;
            }
            if (len - q < (size_t)flen) {
                complete = false;
                break;
            }
            q += (size_t)flen;
        }
        if (!complete) {
            break;
        }
        /* Second pass: text fields to the builder, numbers to the block (NULL: NaN, which
         * the builder counts as missing like a NULL). */
        if (p->block == NULL) {
            p->block = malloc(COPY_BLOCK_ROWS * (p->ncols ? p->ncols : 1) * sizeof *p->block);
            if (p->block == NULL) {
                snprintf(err, errlen, "binary COPY: out of memory");
                return -1;
            }
        }
        double *row = p->block + p->block_rows * p->ncols;
        q = pos + 2;
        for (size_t c = 0; c < p->ncols; c++) {
            int32_t flen = (int32_t)be32(buf + q);
            int rc = 0;
            q += 4;
            char w = wire_of(p, c);
            if (w != 't') {
                row[c] = flen == -1 ? NAN : wire_number(w, buf + q);
                if (flen > 0)
                    q += (size_t)flen;
                continue;
            }
            if (flen == -1) {
                dm_builder_null(p->b, c);
                continue;
            }
            rc = dm_builder_field(p->b, c, (const char *)(buf + q), (size_t)flen, p->rows + 1);
            if (rc != 0) {
                snprintf(err, errlen, "row %llu column \"%s\": could not store the value",
                         (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb));
                return -1;
            }
            q += (size_t)flen;
        }
        dm_builder_end_row(p->b);
        p->rows++;
        pos = q;
        *used = pos;
        if (++p->block_rows == COPY_BLOCK_ROWS && flush_block(p, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int append_pending(dm_copybin *p, const unsigned char *d, size_t len, char *err,
                          size_t errlen)
{
    if (len == 0) {
        return 0;
    }
    if (p->pending_cap - p->pending_len < len) {
        size_t cap = p->pending_cap > 0 ? p->pending_cap : 4096;
        unsigned char *np;
        while (cap - p->pending_len < len) {
            if (cap > SIZE_MAX / 2) {
                snprintf(err, errlen, "binary COPY: out of memory");
                return -1;
            }
            cap *= 2;
        }
        np = realloc(p->pending, cap);
        if (np == NULL) {
            snprintf(err, errlen, "binary COPY: out of memory");
            return -1;
        }
        p->pending = np;
        p->pending_cap = cap;
    }
    memcpy(p->pending + p->pending_len, d, len);
    p->pending_len += len;
    return 0;
}

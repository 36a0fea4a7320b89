/*
 * copybin.c - the binary COPY stream parser (see copybin.h): bytes in, rows into a
 * dm_builder out.  No libpq: the COPY driver (copy.c) feeds it.
 */
#include "monitor/copybin.h"

#include <math.h>
#include <stdbool.h>
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
static int numeric_value(const unsigned char *q, int32_t flen, double *out);
static void bad_numeric(const dm_copybin *p, size_t c, const unsigned char *q, int32_t flen,
                        char *err, size_t errlen);
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
    int rc;
    if (p->pending_len == 0) {
        /* the usual case: whole tuples per chunk, parsed in place */
        if ((rc = parse(p, d, len, &used, err, errlen)) != 0) {
            return rc;
        }
        /* keep an incomplete header or tuple for the next chunk */
        return append_pending(p, d + used, len - used, err, errlen);
    }
    if (append_pending(p, d, len, err, errlen) != 0) {
        return -1;
    }
    if ((rc = parse(p, p->pending, p->pending_len, &used, err, errlen)) != 0) {
        return rc;
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

/* The wire format of column c: 'd', 'f', 'h', 'i', 'l', 'n' or 't'. */
static char wire_of(const dm_copybin *p, size_t c)
{
    if (p->wire != NULL)
        return p->wire[c];
    return p->numeric[c] ? 'd' : 't';
}

/* The field length a wire format requires, or -1 for any (text, numeric). */
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

/* numeric_send's layout (PostgreSQL src/backend/utils/adt/numeric.c): int16 ndigits, int16
 * weight, uint16 sign, uint16 dscale, then ndigits base-10000 digits, most significant
 * first; the value is the sum of digit[i] * 10000^(weight - i). */
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

/* 10^0 .. 10^22: exact in a double */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The binary numeric field q[0..flen) as a double (see dm_copybin.wire): NaN for NaN (read as
 * missing, as the cast's NaN was), +-inf for the infinities and for values beyond the double
 * range.  The digits, as one integer m times 10^e, are rounded once: m * 10^e or m / 10^-e
 * when m and the power are exact doubles (<= 15 digits, |e| <= 22), strtod otherwise; both are
 * correctly rounded, as the server's strtod of numeric_out's text is.  0; -1 when the field is
 * not a well-formed numeric (length, sign, dscale or a digit out of range); -2 out of memory.
 */
static int numeric_value(const unsigned char *q, int32_t flen, double *out)
{
    if (flen < 8)
        return -1;
    int ndigits = (int16_t)be16(q);
    int weight = (int16_t)be16(q + 2);
    unsigned sign = be16(q + 4), dscale = be16(q + 6);
    if (ndigits < 0 || flen != 8 + 2 * (int32_t)ndigits || (dscale & 0xC000) != 0)
        return -1;
    const unsigned char *dg = q + 8;
    for (int i = 0; i < ndigits; i++)
        if (be16(dg + 2 * i) > 9999)
            return -1;
    switch (sign) {
    case NUMERIC_NAN:
        *out = NAN;
        return ndigits == 0 ? 0 : -1;
    case NUMERIC_PINF:
        *out = INFINITY;
        return ndigits == 0 ? 0 : -1;
    case NUMERIC_NINF:
        *out = -INFINITY;
        return ndigits == 0 ? 0 : -1;
    case 0:
    case NUMERIC_NEG:
        break;
    default:
        return -1;
    }
    /* the nonzero base-10000 digits first .. last */
    int first = 0, last = ndigits - 1;
    while (first <= last && be16(dg + 2 * first) == 0)
        first++;
    while (last >= first && be16(dg + 2 * last) == 0)
        last--;
    if (first > last) {
        *out = 0.0;
        return 0;
    }
    /* their decimal digits, without leading or trailing zeros: the value is text * 10^e */
    char small[256];
    size_t cap = (size_t)(last - first + 1) * 4 + 16;
    char *text = cap <= sizeof small ? small : malloc(cap);
    if (!text)
        return -2;
    size_t n = 0;
    for (int i = first; i <= last; i++) {
        unsigned d = be16(dg + 2 * i);
        char four[4] = {(char)('0' + d / 1000), (char)('0' + d / 100 % 10),
                        (char)('0' + d / 10 % 10), (char)('0' + d % 10)};
        size_t k = 0;
        if (n == 0)
            while (k < 3 && four[k] == '0')
                k++;
        while (k < 4)
            text[n++] = four[k++];
    }
    long e = 4L * ((long)weight - (long)last);
    while (n > 1 && text[n - 1] == '0') {
        n--;
        e++;
    }
    double v;
    if (n <= 15 && e >= -22 && e <= 22) {
        uint64_t m = 0;
        for (size_t i = 0; i < n; i++)
            m = m * 10 + (uint64_t)(text[i] - '0');
        v = e >= 0 ? (double)m * pow10_exact[e] : (double)m / pow10_exact[-e];
    } else {
        snprintf(text + n, cap - n, "e%ld", e);
        v = strtod(text, NULL); /* ERANGE: +-inf, or 0 or a subnormal, as for a CSV field */
    }
    if (text != small)
        free(text);
    *out = sign == NUMERIC_NEG ? -v : v;
    return 0;
}

static void bad_numeric(const dm_copybin *p, size_t c, const unsigned char *q, int32_t flen,
                        char *err, size_t errlen)
{
    char nb[32], hex[2 * 32 + 4];
    size_t shown = flen > 32 ? 32 : (size_t)flen, o = 0;
    for (size_t i = 0; i < shown; i++)
        o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", q[i]);
    if ((size_t)flen > shown)
        snprintf(hex + o, sizeof hex - o, "...");
    snprintf(err, errlen,
             "row %llu column \"%s\": a numeric value that cannot be read (%d bytes: %s)",
             (unsigned long long)(p->rows + 1), col_name(p, c, nb, sizeof nb), (int)flen, hex);
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
/* The stream's header at buf: 0 with *hlen its length, 1 when incomplete, -1 (err) when it
 * is not a binary COPY header we can read. */
static int header_len(const unsigned char *buf, size_t len, size_t *hlen, char *err, size_t errlen)
{
    if (len < 19) {
        if (len >= 1 && memcmp(buf, copy_signature, len < 11 ? len : 11) != 0) {
            snprintf(err, errlen, "binary COPY: bad signature");
            return -1;
        }
        return 1;
    }
    if (memcmp(buf, copy_signature, 11) != 0) {
        snprintf(err, errlen, "binary COPY: bad signature");
        return -1;
    }
    uint32_t flags = be32(buf + 11), extlen = be32(buf + 15);
    if (flags & (UINT32_C(1) << 16)) {
        snprintf(err, errlen, "binary COPY: rows carry OIDs (not supported)");
        return -1;
    }
    if ((flags & UINT32_C(0xfffe0000)) != 0) {
        snprintf(err, errlen, "binary COPY: unknown critical header flags 0x%08x", (unsigned)flags);
        return -1;
    }
    if (extlen > INT32_MAX) {
        snprintf(err, errlen, "binary COPY: negative header extension length");
        return -1;
    }
    if (len - 19 < extlen) {
        return 1;
    }
    *hlen = 19 + (size_t)extlen;
    return 0;
}

int dm_copybin_row(dm_copybin_rows *s, const void *msg, size_t len, dm_copybin_field *fields,
                   size_t nfields, char *err, size_t errlen)
{
    const unsigned char *buf = msg;
    size_t q = 0;
    if (s->state == 2) {
        snprintf(err, errlen, "binary COPY: %zu bytes after the trailer", len);
        return -1;
    }
    if (s->state == 0) {
        int hrc = header_len(buf, len, &q, err, errlen);
        if (hrc > 0) {
            snprintf(err, errlen, "binary COPY: stream ended inside the header (%zu bytes)", len);
            return -1;
        }
        if (hrc < 0) {
            return -1;
        }
        s->state = 1;
        if (q == len) {
            snprintf(err, errlen, "binary COPY: a message holds the header and no row");
            return -1;
        }
    }
    if (len - q < 2) {
        snprintf(err, errlen, "binary COPY: row %llu is cut short",
                 (unsigned long long)(s->rows + 1));
        return -1;
    }
    int16_t nf = (int16_t)be16(buf + q);
    q += 2;
    if (nf == -1) {
        if (q != len) {
            snprintf(err, errlen, "binary COPY: %zu bytes after the trailer", len - q);
            return -1;
        }
        s->state = 2;
        return 0;
    }
    if (nf < 0 || (size_t)nf != nfields) {
        snprintf(err, errlen, "binary COPY: row %llu has %d fields, expected %zu",
                 (unsigned long long)(s->rows + 1), (int)nf, nfields);
        return -1;
    }
    for (size_t c = 0; c < nfields; c++) {
        if (len - q < 4) {
            snprintf(err, errlen, "binary COPY: row %llu is cut short in field %zu",
                     (unsigned long long)(s->rows + 1), c + 1);
            return -1;
        }
        int32_t flen = (int32_t)be32(buf + q);
        q += 4;
        if (flen < -1 || (flen > 0 && len - q < (size_t)flen)) {
            snprintf(err, errlen, "binary COPY: row %llu field %zu: field length %d",
                     (unsigned long long)(s->rows + 1), c + 1, (int)flen);
            return -1;
        }
        fields[c].p = buf + q;
        fields[c].len = flen;
        if (flen > 0) {
            q += (size_t)flen;
        }
    }
    if (q != len) {
        snprintf(err, errlen, "binary COPY: %zu bytes after row %llu in its message", len - q,
                 (unsigned long long)(s->rows + 1));
        return -1;
    }
    s->rows++;
    return 1;
}

static int parse(dm_copybin *p, const unsigned char *buf, size_t len, size_t *used, char *err,
                 size_t errlen)
{
    size_t pos = 0;
    char nb[32];

    *used = 0;
    if (p->state == 0) {
        int hrc = header_len(buf, len, &pos, err, errlen);
        if (hrc != 0) {
            return hrc < 0 ? -1 : 0;
        }
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
            if (w == 'n' && flen != -1) {
                int nrc = numeric_value(buf + q, flen, &row[c]);
                if (nrc == -2) {
                    snprintf(err, errlen, "binary COPY: out of memory");
                    return -1;
                }
                if (nrc != 0) {
                    bad_numeric(p, c, buf + q, flen, err, errlen);
                    return DM_COPYBIN_BAD_VALUE;
                }
                q += (size_t)flen;
                continue;
            }
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

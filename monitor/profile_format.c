/*
 * profile_format.c - the profile format (profile.h): a dataset encoded, and decoded with every
 * length checked, in memory.  The digest is profile_digest.c's, files are profile_file.c's.
 */
#include "monitor/profile_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stats/names.h"

/* profiles of at least this many bytes get their value arrays in one arena */
#define ARENA_MIN ((size_t)4 << 20)

static const unsigned char MAGIC[] = {'D', 'M', 'P', 'R', 'O', 'F', '\r', '\n'};
_Static_assert(sizeof MAGIC == DM_PROFILE_MAGIC_BYTES, "the magic's length");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the profile format is little-endian; add byte swapping for this platform"
#endif

/* ---- writing ----------------------------------------------------------------------- */

/* Bytes out of a hash or file buffer, in order. */
static void drain(dm_profile_buf *b, const void *data, size_t n)
{
    if (b->h)
        dm_sha256_update(b->h, data, n);
    else if (n > 0 && dm_atomic_write(b->file, data, n) != 0)
        b->oom = true;
}

void dm_profile_buf_flush(dm_profile_buf *b)
{
    if (b->h || b->file) {
        drain(b, b->p, b->staged);
        b->staged = 0;
    }
}

static void put(dm_profile_buf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->h || b->file) {
        b->len += n;
        bool direct = n >= DM_PROFILE_STAGE_BYTES / 4;
        if (direct || b->staged + n > DM_PROFILE_STAGE_BYTES) /* keep the bytes in order */
            dm_profile_buf_flush(b);
        if (direct) {
            drain(b, data, n);
        } else {
            memcpy(b->p + b->staged, data, n);
            b->staged += n;
        }
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u8(dm_profile_buf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_u32(dm_profile_buf *b, uint32_t v)
{
    put(b, &v, 4);
}

static void put_u64(dm_profile_buf *b, uint64_t v)
{
    put(b, &v, 8);
}

/* The narrowest width that holds every count.  total: their sum.  Counts are >= 1, so a
 * sum equal to their number means all ones (width 0) without reading them: a column of
 * distinct values, whose counts may be a shared array of ones as long as the column. */
static uint8_t count_width(const uint64_t *c, size_t n, uint64_t total)
{
    if (total == n)
        return 0;
    uint64_t mx = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i] > mx)
            mx = c[i];
    if (mx <= 1)
        return 0;
    return mx <= UINT32_MAX ? 4 : 8;
}

static void put_counts(dm_profile_buf *b, const uint64_t *c, size_t n, uint8_t width)
{
    if (width == 8) {
        put(b, c, n * 8);
    } else if (width == 4) {
        uint32_t blk[1024]; /* narrowed a block at a time: one put per block */
        for (size_t i = 0; i < n; i += 1024) {
            size_t k = n - i < 1024 ? n - i : 1024;
            for (size_t j = 0; j < k; j++)
                blk[j] = (uint32_t)c[i + j];
            put(b, blk, k * 4);
        }
    }
}

/* A column's section.  aligned (format 2, a whole file being written): zero bytes before
 * the value array up to the next multiple of 8 of the file offset (b->len), so that a mapped
 * file's values can be used where they lie. */
void dm_profile_encode_column(dm_profile_buf *b, const dm_column *c, bool aligned)
{
    size_t nl = strlen(c->name);
    put_u32(b, (uint32_t)nl);
    put(b, c->name, nl);
    bool num = c->storage == DM_STORE_NUM;
    uint8_t w = num ? count_width(c->count, c->n_distinct, c->n)
                    : count_width(c->cat_count, c->n_cats, c->n);
    if (aligned && num && w == 4)
        w = 8; /* format 2: u64 counts, used in place like the values */
    put_u8(b, num ? 0 : 1);
    put_u8(b, c->is_int ? 1 : 0);
    put_u8(b, w);
    put_u8(b, 0);
    put_u64(b, c->missing);
    put_u64(b, c->nonfinite);
    put_u64(b, c->n);
    if (num) {
        put_u64(b, c->n_distinct);
        if (aligned) {
            static const unsigned char zeros[8];
            put(b, zeros, (8 - b->len % 8) % 8);
        }
        put(b, c->value, c->n_distinct * sizeof(double));
        put_counts(b, c->count, c->n_distinct, w);
    } else {
        put_u64(b, c->n_cats);
        for (size_t k = 0; k < c->n_cats; k++) {
            size_t l = strlen(c->cat[k]);
            put_u32(b, (uint32_t)l);
            put(b, c->cat[k], l);
        }
        put_counts(b, c->cat_count, c->n_cats, w);
    }
}

void dm_profile_encode_left_out(dm_profile_buf *b, const dm_dataset *ds)
{
    if (ds->nleft_out == 0)
        return;
    put_u32(b, (uint32_t)ds->nleft_out);
    for (size_t i = 0; i < ds->nleft_out; i++) {
        const char *f[2] = {ds->left_out[i].name, ds->left_out[i].reason};
        for (int k = 0; k < 2; k++) {
            size_t l = strlen(f[k]);
            put_u32(b, (uint32_t)l);
            put(b, f[k], l);
        }
    }
}

unsigned char *dm_profile_left_out_encode(const dm_dataset *ds, size_t *len)
{
    dm_profile_buf b = {0};
    dm_profile_encode_left_out(&b, ds);
    if (b.oom || !b.p) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static void header_encode(uint32_t version, uint64_t rows, uint32_t ncols, size_t nleft_out,
                          unsigned char out[DM_PROFILE_HEADER_BYTES])
{
    uint32_t flags = nleft_out > 0 ? DM_PROFILE_FLAG_LEFT_OUT : 0;
    memcpy(out, MAGIC, sizeof MAGIC);
    memcpy(out + 8, &version, 4);
    memcpy(out + 12, &flags, 4);
    memcpy(out + 16, &rows, 8);
    memcpy(out + 24, &ncols, 4);
}

void dm_profile_header_encode(uint64_t rows, uint32_t ncols, size_t nleft_out,
                              unsigned char out[DM_PROFILE_HEADER_BYTES])
{
    header_encode(DM_PROFILE_IDENTITY_VERSION, rows, ncols, nleft_out, out);
}

unsigned char *dm_profile_column_encode(const dm_column *c, size_t *len)
{
    dm_profile_buf b = {0};
    dm_profile_encode_column(&b, c, false);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void dm_profile_put_header(const dm_dataset *ds, dm_profile_buf *b, uint32_t version)
{
    unsigned char h[DM_PROFILE_HEADER_BYTES];
    header_encode(version, ds->rows, (uint32_t)ds->ncols, ds->nleft_out, h);
    put(b, h, sizeof h);
}

static void serialize_into(dm_dataset *ds, dm_profile_buf *b)
{
    dm_profile_put_header(ds, b, DM_PROFILE_VERSION);
    for (size_t i = 0; i < ds->ncols; i++) {
        dm_profile_encode_column(b, &ds->col[i], true);
        dm_dataset_evict(ds, i); /* a mapped profile's pages, once written out */
    }
    dm_profile_encode_left_out(b, ds);
}

unsigned char *dm_profile_serialize(dm_dataset *ds, size_t *len)
{
    /* the digest is that of the identity encoding, streamed; the file is the aligned one */
    if (dm_profile_digest(ds) != 0)
        return NULL;
    dm_profile_buf b = {0};
    serialize_into(ds, &b);
    /* trailer: the raw digest */
    unsigned char raw[32];
    for (int i = 0; i < 32; i++) {
        const char *x = ds->sha256 + 2 * i;
        unsigned hi = (unsigned)(x[0] <= '9' ? x[0] - '0' : x[0] - 'a' + 10);
        unsigned lo = (unsigned)(x[1] <= '9' ? x[1] - '0' : x[1] - 'a' + 10);
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    put(&b, raw, sizeof raw);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

bool dm_profile_magic_ok(const unsigned char *p, size_t len)
{
    return len >= sizeof MAGIC && memcmp(p, MAGIC, sizeof MAGIC) == 0;
}

/* ---- reading ----------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t len, off;
    const char *name;
    char *err;
    size_t errlen;
    const char *column; /* the column being read, for messages */
    /* where value arrays go when set (dm_profile_parse of a big profile): a bump allocator
     * over the dataset's arena */
    unsigned char *arena;
    size_t arena_len, arena_used;
    /* format 2: value arrays are preceded by zero padding to an 8-byte file offset; with
     * borrow (a mapped file that outlives the dataset) they are used where they lie */
    bool aligned, borrow;
} rd;

/* In format 2 the digest is checked after the parse, so a parse error is what a damaged
 * file shows first: the message says so, as the digest's own message does. */
static int bad(rd *r, const char *what)
{
    const char *tail = r->aligned ? ": the file was changed or damaged" : "";
    if (r->column)
        snprintf(r->err, r->errlen, "%s: corrupt profile at byte %zu (column \"%s\"): %s%s",
                 r->name, r->off, r->column, what, tail);
    else
        snprintf(r->err, r->errlen, "%s: corrupt profile at byte %zu: %s%s", r->name, r->off, what,
                 tail);
    return -1;
}

static int take(rd *r, void *out, size_t n)
{
    if (n > r->len - r->off)
        return bad(r, "truncated");
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

static int take_u8(rd *r, uint8_t *v)
{
    return take(r, v, 1);
}

static int take_u32(rd *r, uint32_t *v)
{
    return take(r, v, 4);
}

static int take_u64(rd *r, uint64_t *v)
{
    return take(r, v, 8);
}

static int take_counts(rd *r, uint64_t *out, size_t n, uint8_t w)
{
    if (w == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = 1;
        return 0;
    }
    if (w == 8) {
        if (n > (r->len - r->off) / 8)
            return bad(r, "truncated counts");
        return take(r, out, n * 8);
    }
    if (n > (r->len - r->off) / 4)
        return bad(r, "truncated counts");
    const unsigned char *p = r->p + r->off;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        out[i] = v;
    }
    r->off += 4 * n;
    return 0;
}

static char *take_str(rd *r)
{
    uint32_t l = 0;
    if (take_u32(r, &l))
        return NULL;
    if (l > r->len - r->off) {
        bad(r, "string runs past the end");
        return NULL;
    }
    char *s = malloc((size_t)l + 1);
    if (!s) {
        bad(r, "out of memory");
        return NULL;
    }
    memcpy(s, r->p + r->off, l);
    s[l] = '\0';
    if (memchr(s, '\0', l)) {
        free(s);
        bad(r, "NUL byte inside a name");
        return NULL;
    }
    r->off += l;
    return s;
}

/* What is wrong with a numeric column's values and counts (NULL: nothing).  ones: every
 * count is 1 and need not be read. */
const char *dm_profile_numbers_problem(const dm_column *c, bool ones)
{
    const double *v = c->value;
    size_t n = c->n_distinct;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] - v[i] == 0.0))
            return "non-finite value";
        if (i > 0 && !(v[i - 1] < v[i]))
            return "values not ascending";
    }
    uint64_t sum = 0;
    if (ones) {
        sum = n;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (c->count[i] == 0)
                return "zero count";
            if (c->count[i] > UINT64_MAX - sum)
                return "counts overflow";
            sum += c->count[i];
        }
    }
    return sum == c->n ? NULL : "counts do not add up to the column's total";
}

/* One column section.  share_ones: a numeric column whose counts are all 1 (not stored)
 * gets count_shared set and count NULL, for the caller to point at the dataset's ones. */
static int read_column(rd *r, dm_column *c, bool share_ones)
{
    c->name = take_str(r);
    if (!c->name)
        return -1;
    r->column = c->name;
    uint8_t storage = 0, is_int = 0, w = 0, reserved = 0;
    if (take_u8(r, &storage) || take_u8(r, &is_int) || take_u8(r, &w) || take_u8(r, &reserved))
        return -1;
    if (storage > 1 || is_int > 1 || (w != 0 && w != 4 && w != 8) || reserved ||
        (r->aligned && storage == 0 && w == 4))
        return bad(r, "bad column flags");
    c->storage = storage ? DM_STORE_STR : DM_STORE_NUM;
    c->is_int = is_int;
    if (take_u64(r, &c->missing) || take_u64(r, &c->nonfinite) || take_u64(r, &c->n))
        return -1;
    uint64_t k = 0;
    if (take_u64(r, &k))
        return -1;
    /* every entry takes at least one byte in the file: bounds the allocation */
    if (k > r->len - r->off)
        return bad(r, "entry count larger than the file");
    size_t n = (size_t)k;
    uint64_t sum = 0;
    if (c->storage == DM_STORE_NUM && r->aligned) {
        size_t pad = (8 - r->off % 8) % 8;
        if (pad > r->len - r->off)
            return bad(r, "truncated padding");
        for (size_t i = 0; i < pad; i++)
            if (r->p[r->off + i] != 0)
                return bad(r, "non-zero padding before the values");
        r->off += pad;
    }
    if (c->storage == DM_STORE_NUM) {
        if (n > (r->len - r->off) / 8)
            return bad(r, "truncated values");
        c->count_shared = share_ones && w == 0;
        bool borrow = r->borrow && r->aligned && ((uintptr_t)(r->p + r->off) & 7) == 0;
        if (borrow) {
            /* the mapped file's own bytes: nothing allocated, nothing copied */
            c->value = (double *)(void *)(uintptr_t)(r->p + r->off);
            c->value_shared = true;
            r->off += n * sizeof(double);
            if (w == 8 && n <= (r->len - r->off) / 8) {
                c->count = (uint64_t *)(void *)(uintptr_t)(r->p + r->off);
                c->count_shared = true;
                r->off += n * 8;
            }
        } else if (r->arena && n * sizeof(double) <= r->arena_len - r->arena_used) {
            c->value = (double *)(void *)(r->arena + r->arena_used); /* 8-byte aligned */
            c->value_shared = true;
            r->arena_used += n * sizeof(double);
        } else {
            c->value = malloc((n ? n : 1) * sizeof(double));
        }
        if (!c->count_shared)
            c->count = malloc((n ? n : 1) * sizeof(uint64_t));
        if (!c->value || (!c->count_shared && !c->count))
            return bad(r, "out of memory");
        c->n_distinct = n;
        if ((!borrow && take(r, c->value, n * sizeof(double))) ||
            (!c->count_shared && take_counts(r, c->count, n, w)))
            return -1;
        /* values used in place are checked with the digest (hash_columns), which reads
         * them anyway and before anything else does */
        if (!borrow) {
            const char *why = dm_profile_numbers_problem(c, w == 0);
            if (why)
                return bad(r, why);
        }
        sum = c->n;
    } else {
        c->cat = calloc(n ? n : 1, sizeof(char *));
        c->cat_count = malloc((n ? n : 1) * sizeof(uint64_t));
        if (!c->cat || !c->cat_count)
            return bad(r, "out of memory");
        c->n_cats = n;
        for (size_t i = 0; i < n; i++) {
            c->cat[i] = take_str(r);
            if (!c->cat[i])
                return -1;
            if (i > 0 && strcmp(c->cat[i - 1], c->cat[i]) >= 0)
                return bad(r, "categories not in ascending order");
        }
        if (take_counts(r, c->cat_count, n, w))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (c->cat_count[i] == 0)
                return bad(r, "zero count");
            sum += c->cat_count[i];
        }
    }
    if (sum != c->n)
        return bad(r, "counts do not add up to the column's total");
    r->column = NULL;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The left-out section (the header's flag set) into ds, whose columns are read: at least one
 * entry, names unique among the columns and the left-out columns. */
static int read_left_out(rd *r, dm_dataset *ds)
{
    uint32_t n = 0;
    if (take_u32(r, &n))
        return -1;
    /* every entry takes at least 8 bytes: bounds the allocation */
    if (n == 0 || n > (r->len - r->off) / 8)
        return bad(r, n == 0 ? "empty left-out section" : "left-out count larger than the file");
    ds->left_out = calloc(n, sizeof *ds->left_out);
    if (!ds->left_out)
        return bad(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        dm_left_out *l = &ds->left_out[i];
        if (!(l->name = take_str(r)))
            return -1;
        ds->nleft_out = i + 1;
        r->column = l->name;
        if (!(l->reason = take_str(r)))
            return -1;
        r->column = NULL;
    }
    size_t total = ds->ncols + n;
    const char **names = malloc(total * sizeof *names);
    if (!names)
        return bad(r, "out of memory");
    for (size_t i = 0; i < ds->ncols; i++)
        names[i] = ds->col[i].name;
    for (size_t i = 0; i < n; i++)
        names[ds->ncols + i] = ds->left_out[i].name;
    qsort(names, total, sizeof *names, cmp_name);
    const char *dup = NULL;
    for (size_t i = 1; i < total && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    if (dup) {
        char shown[DM_SHOWN_LEN];
        dm_show_value(dup, strlen(dup), shown, sizeof shown);
        snprintf(r->err, r->errlen, "%s: duplicate column \"%s\" in profile (left out)", r->name,
                 shown);
    }
    free(names);
    return dup ? -1 : 0;
}

int dm_profile_column_decode(const unsigned char *p, size_t len, const char *name, bool share_ones,
                             dm_column *out, char *err, size_t errlen)
{
    rd r = {p, len, 0, name, err, errlen, NULL, NULL, 0, 0, false, false};
    memset(out, 0, sizeof *out);
    if (read_column(&r, out, share_ones) != 0)
        return -1;
    if (r.off != r.len)
        return bad(&r, "trailing bytes after the column");
    return 0;
}

int dm_profile_decode(const unsigned char *p, size_t len, const char *name, dm_dataset *out,
                      char *err, size_t errlen, bool drop, bool borrow, bool keep_pages)
{
    rd r = {p, len, 0, name, err, errlen, NULL, NULL, 0, 0, false, false};
    if (len < sizeof MAGIC + 32 || memcmp(p, MAGIC, sizeof MAGIC) != 0)
        return bad(&r, "not a driftmon profile (bad magic)");
    char want[65] = "", have[65];
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        have[2 * i] = digits[p[len - 32 + (size_t)i] >> 4];
        have[2 * i + 1] = digits[p[len - 32 + (size_t)i] & 15];
    }
    have[64] = '\0';
    r.len = len - 32;
    r.off = sizeof MAGIC;
    uint32_t version = 0, flags = 0, ncols = 0;
    uint64_t rows = 0;
    if (take_u32(&r, &version) || take_u32(&r, &flags))
        return -1;
    if (version != DM_PROFILE_IDENTITY_VERSION && version != DM_PROFILE_VERSION) {
        snprintf(err, errlen,
                 "%s: profile format version %u is not supported (this driftmon "
                 "reads versions %u and %u)",
                 name, version, DM_PROFILE_IDENTITY_VERSION, DM_PROFILE_VERSION);
        return -1;
    }
    r.aligned = version >= 2;
    r.borrow = borrow && r.aligned;
    if (r.borrow)
        drop = false; /* the values stay where they are */
    if (flags & ~DM_PROFILE_FLAG_LEFT_OUT)
        return bad(&r, "unknown flags in the header");
    if (take_u64(&r, &rows) || take_u32(&r, &ncols))
        return -1;
    if (ncols > r.len - r.off)
        return bad(&r, "column count larger than the file");
    dm_dataset ds;
    dm_dataset_init(&ds);
    ds.col = calloc(ncols ? ncols : 1, sizeof *ds.col);
    if (!ds.col)
        return bad(&r, "out of memory");
    ds.ncols = ncols;
    ds.rows = rows;
    /* Big profiles: every value array in one anonymous mapping (the values cannot take
     * more bytes than the file), asked for in huge pages: a few faults instead of one per
     * 4 KiB page and no allocation per column.  Pages never written cost nothing. */
    if (len >= ARENA_MIN && !r.borrow) {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            (void)madvise(m, len, MADV_HUGEPAGE);
#endif
            ds.arena = m;
            ds.arena_len = len;
            r.arena = m;
            r.arena_len = len;
        }
    }
    /* Format 1: the digest of the file's bytes, computed as they are parsed (bounds-checked,
     * so unverified bytes are safe to read); with drop, a mapped file's pages are given back
     * as they are consumed.  Format 2: the digest of the decoded content's identity encoding
     * (dm_profile_verify), once the parse has succeeded; the bytes that are not content (version,
     * padding, a count width of 8 where 4 would do) were checked by the parse. */
    dm_sha256 *h = r.aligned ? NULL : dm_sha256_alloc();
    if (!r.aligned && !h) {
        dm_dataset_release(&ds);
        return bad(&r, "out of memory");
    }
    size_t hashed = 0;
    int prc = 0;
    stats_names seen;
    stats_names_init(&seen);
    for (size_t i = 0; i < ncols && prc == 0; i++) {
        if (read_column(&r, &ds.col[i], true)) {
            prc = -1;
            break;
        }
        if (h)
            dm_profile_hash_upto(h, p, &hashed, r.off, drop);

        int nrc = stats_names_add(&seen, ds.col[i].name, i, NULL);
        if (nrc < 0) {
            snprintf(err, errlen, "%s: out of memory reading the profile", name);
            prc = -1;
        } else if (nrc == 1) {
            char shown[DM_SHOWN_LEN];
            dm_show_value(ds.col[i].name, strlen(ds.col[i].name), shown, sizeof shown);
            snprintf(err, errlen, "%s: duplicate column \"%s\" in profile", name, shown);
            prc = -1;
        }
    }
    if (prc == 0 && (flags & DM_PROFILE_FLAG_LEFT_OUT) && read_left_out(&r, &ds) != 0)
        prc = -1;
    if (h)
        dm_profile_hash_upto(h, p, &hashed, r.off, drop);
    stats_names_release(&seen);
    if (prc == 0 && r.off != r.len) {
        bad(&r, "trailing bytes after the last column");
        prc = -1;
    }
    if (h) {
        /* the digest of everything before the trailer, also after a parse error: a file
         * that was changed is reported as such rather than by the first thing that broke */
        dm_profile_hash_upto(h, p, &hashed, len - 32, drop);
        dm_sha256_final(h, want);
        if (strcmp(want, have) != 0) {
            dm_profile_mismatch(err, errlen, name, have, want);
            prc = -1;
        }
    }
    if (prc != 0) {
        dm_dataset_release(&ds);
        return -1;
    }
    /* one array of ones for every column whose counts are all 1 */
    size_t nones = 0;
    for (size_t i = 0; i < ncols; i++)
        if (ds.col[i].count_shared && !ds.col[i].count && ds.col[i].n_distinct > nones)
            nones = ds.col[i].n_distinct;
    ds.ones = malloc((nones ? nones : 1) * sizeof *ds.ones);
    if (!ds.ones) {
        dm_dataset_release(&ds);
        return bad(&r, "out of memory");
    }
    ds.n_ones = nones;
    for (size_t i = 0; i < nones; i++)
        ds.ones[i] = 1;
    for (size_t i = 0; i < ncols; i++)
        if (ds.col[i].count_shared && !ds.col[i].count)
            ds.col[i].count = ds.ones;
    size_t sl = strlen(name) + 9;
    ds.source = malloc(sl);
    if (!ds.source) {
        dm_dataset_release(&ds);
        return bad(&r, "out of memory");
    }
    snprintf(ds.source, sl, "profile:%s", name);
    if (h) {
        memcpy(ds.sha256, want, sizeof ds.sha256);
        *out = ds;
        return 0;
    }
    /* format 2: the digest of the decoded content; pages are given back column by column
     * as they are hashed (dm_dataset_evict).  The mapping is the dataset's from here on
     * (unmapped on release), except on failure below, where the caller unmaps it. */
    if (r.borrow) {
        ds.arena = (void *)(uintptr_t)p;
        ds.arena_len = len;
        ds.arena_is_file = true;
    }
    int vrc = dm_profile_verify(&ds, have, name, keep_pages, want, err, errlen);
    if (vrc != 0) {
        if (vrc == DM_PROFILE_VERIFY_OOM)
            bad(&r, "out of memory");
        ds.arena = NULL;
        ds.arena_is_file = false;
        dm_dataset_release(&ds);
        return -1;
    }
    memcpy(ds.sha256, want, sizeof ds.sha256);
    *out = ds;
    return 0;
}

int dm_profile_parse(const unsigned char *p, size_t len, const char *name, dm_dataset *out,
                     char *err, size_t errlen)
{
    return dm_profile_decode(p, len, name, out, err, errlen, false, false, false);
}

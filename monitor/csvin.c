/*
 * csvin.c - streaming CSV reader on libcsv, feeding a dm_builder.
 *
 * Line numbers: libcsv does not report positions, so the reader follows the physical line
 * from the callbacks (CSV_REPALL_NL reports every CR and LF outside fields; newlines inside
 * quoted fields are counted in the field text).  Errors found by offset (NUL byte, strict
 * mode parse error) count the lines up to that offset by reading the file again: the
 * common path pays nothing for them.
 */
#include "monitor/csvin.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/spill.h"
#include "stats/names.h"

/* bytes per read(): 64 KiB stay in the L2 cache from the copy to the parse */
#define CHUNK (1u << 16)
/* libcsv's parser state between records (ROW_NOT_BEGUN in libcsv.c) */
#define CSV_STATE_ROW_NOT_BEGUN 0

/* Files of at least this many bytes are read by two threads, one per half (a build with
 * -DDM_CSV_SPLIT_MIN_DEFAULT=1 splits every file: the integration tests then run the
 * two-reader path on every input). */
#ifndef DM_CSV_SPLIT_MIN_DEFAULT
#define DM_CSV_SPLIT_MIN_DEFAULT (UINT64_C(4) << 20)
#endif
static _Atomic uint64_t split_min = DM_CSV_SPLIT_MIN_DEFAULT;

void dm_csv_set_split_threshold(uint64_t bytes)
{
    atomic_store(&split_min, bytes);
}

uint64_t dm_csv_split_threshold(void)
{
    return atomic_load(&split_min);
}

/* dm_csv_set_test_reading: bytes per read() at most (0: CHUNK), every line through libcsv */
static _Atomic size_t test_chunk = 0;
static atomic_bool test_libcsv_only = false;

void dm_csv_set_test_reading(size_t chunk, bool libcsv_only)
{
    atomic_store(&test_chunk, chunk);
    atomic_store(&test_libcsv_only, libcsv_only);
}

typedef struct reader reader;
static void groups_step(reader *r, uint64_t off, bool at_end);
static bool groups_raw_numbers(const dm_csv_groups *g);
static void groups_drop_second(reader *r);
static int groups_begin(reader *r, size_t nflipped, dm_dataset *out);

struct reader {
    const char *path;
    const dm_csv_options *opt;
    const bool *extra_text; /* per file column (second pass), or NULL */
    char *err;
    size_t errlen;
    bool failed;
    size_t chunk;     /* bytes per read() at most (CHUNK but in tests) */
    bool plain_lines; /* fast_line may take a line (false: every line through libcsv) */

    /* header */
    bool in_header;
    char **hdr;
    size_t nhdr, caphdr;
    size_t ncols; /* fields per row */
    long *map;    /* file column -> builder column, -1 when not kept */
    size_t nkept;

    dm_builder *b;
    size_t field;      /* fields seen in the current row */
    uint64_t line;     /* physical line the parser is on (1-based) */
    uint64_t row_line; /* line where the current row started */
    bool cr_pending;   /* last event was a CR ending a row or a blank line */
    uint64_t data_rows;
    /* the bytes whose rows this reader's builder holds, [range_start, range_start +
     * range_bytes), for its row estimate (expect_rows): the first reader's are the whole
     * file's, the second half being merged into it; file_size 0 when unknown */
    uint64_t range_start, range_bytes, file_size;
    bool expected;

    /* Two halves of one file: this reader parses [0, split_at) and a second reader, started
     * on another thread once the header is known, parses [split_at, EOF) into its own
     * builder.  The second half is taken only when this reader ends a record exactly at
     * split_at outside any quoted field and the second reader succeeded; otherwise this
     * reader simply goes on (errors are then found and reported with the right lines). */
    uint64_t split_at; /* 0: one reader */
    reader *second;
    pthread_t second_thread;
    bool second_running;
    bool is_second;   /* parses a tail: no header, silent failures */
    atomic_bool stop; /* second reader: give up, the result is not wanted */

    /* a current file read by column groups (dm_csv_read_groups): shared by both halves */
    dm_csv_groups *gp;
    bool gp_applied; /* this reader's builder follows the plan */
};

/* ---- messages --------------------------------------------------------------------- */

static void fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(reader *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    if (!r->err || r->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
}

/* 1-based physical line of byte offset off (LF, CRLF or a lone CR end a line). */
static uint64_t line_at_offset(const char *path, uint64_t off)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t line = 1, pos = 0;
    bool cr = false;
    char *buf = malloc(64 * 1024);
    while (buf && pos < off) {
        ssize_t n = read(fd, buf, 64 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && pos < off; i++, pos++) {
            char c = buf[i];
            if (c == '\n') {
                if (!cr)
                    line++;
                cr = false;
            } else {
                if (cr)
                    cr = false;
                if (c == '\r') {
                    line++;
                    cr = true;
                }
            }
        }
    }
    free(buf);
    close(fd);
    return line;
}

/* ---- header ----------------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t idx;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void start_second(reader *r, const char *const *names, const bool *ft);

static void finish_header(reader *r)
{
    char shown[DM_SHOWN_LEN];
    r->ncols = r->nhdr;
    for (size_t i = 0; i < r->nhdr; i++)
        if (r->hdr[i][0] == '\0') {
            fail(r, "\"%s\", line %llu, column %zu: empty column name", r->path,
                 (unsigned long long)r->row_line, i + 1);
            return;
        }
    named *idx = malloc(r->nhdr * sizeof *idx);
    if (!idx) {
        fail(r, "\"%s\": out of memory reading the header", r->path);
        return;
    }
    for (size_t i = 0; i < r->nhdr; i++) {
        idx[i].name = r->hdr[i];
        idx[i].idx = i;
    }
    qsort(idx, r->nhdr, sizeof *idx, cmp_named);
    for (size_t k = 1; k < r->nhdr; k++)
        if (strcmp(idx[k - 1].name, idx[k].name) == 0) {
            dm_show_value(idx[k].name, strlen(idx[k].name), shown, sizeof shown);
            fail(r, "\"%s\", line %llu, column %zu: duplicate column name \"%s\" (also column %zu)",
                 r->path, (unsigned long long)r->row_line, idx[k].idx + 1, shown,
                 idx[k - 1].idx + 1);
            free(idx);
            return;
        }
    free(idx);

    const dm_csv_options *o = r->opt;
    r->map = malloc(r->ncols * sizeof *r->map);
    const char **names = malloc(r->ncols * sizeof *names);
    bool *ft = malloc(r->ncols * sizeof *ft);
    stats_names keep;
    stats_names_init(&keep);
    bool keep_ok = true;
    for (size_t i = 0; o && o->keep && i < o->n_keep && keep_ok; i++)
        keep_ok = !o->keep[i] || stats_names_add(&keep, o->keep[i], i, NULL) >= 0;
    if (r->map && names && ft && keep_ok) {
        for (size_t i = 0; i < r->ncols; i++) {
            const char *nm = r->hdr[i];
            if (o && o->keep && stats_names_find(&keep, nm) < 0) {
                r->map[i] = -1;
                continue;
            }
            r->map[i] = (long)r->nkept;
            names[r->nkept] = nm;
            ft[r->nkept] = r->extra_text && r->extra_text[i];
            r->nkept++;
        }
        r->b = dm_builder_alloc(r->nkept, names, ft);
        if (r->b && o && o->keep_rows)
            dm_builder_keep_rows(r->b, o->keep_rows, o->n_keep_rows);
        if (r->b && groups_raw_numbers(r->gp))
            dm_builder_raw_numbers(r->b);
        if (r->b && r->split_at > 0)
            start_second(r, names, ft);
    }
    if (!r->b)
        fail(r, "\"%s\": out of memory reading the header", r->path);
    stats_names_release(&keep);
    free(names);
    free(ft);
}

/* ---- libcsv callbacks ------------------------------------------------------------- */

static void on_field(void *s, size_t len, void *data)
{
    reader *r = data;
    if (r->failed)
        return;
    r->cr_pending = false;
    if (r->field == 0)
        r->row_line = r->line;
    const char *f = s ? s : "";
    if (r->in_header) {
        if (r->nhdr == r->caphdr) {
            size_t cap = r->caphdr ? r->caphdr * 2 : 64;
            char **p = realloc(r->hdr, cap * sizeof *p);
            if (!p) {
                fail(r, "\"%s\": out of memory reading the header", r->path);
                return;
            }
            r->hdr = p;
            r->caphdr = cap;
        }
        char *nm = malloc(len + 1);
        if (!nm) {
            fail(r, "\"%s\": out of memory reading the header", r->path);
            return;
        }
        memcpy(nm, f, len);
        nm[len] = '\0';
        r->hdr[r->nhdr++] = nm;
    } else if (r->field < r->ncols) {
        long c = r->map[r->field];
        if (c >= 0 && dm_builder_field(r->b, (size_t)c, f, len, r->line) != 0) {
            fail(r, "\"%s\", line %llu: out of memory", r->path, (unsigned long long)r->line);
            return;
        }
    }
    r->field++;
    /* newlines inside a quoted field */
    const char *p = f, *end = f + len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        r->line++;
        p++;
    }
}

static void on_row(int c, void *data)
{
    reader *r = data;
    if (r->failed)
        return;
    if (c == '\n' && r->cr_pending) { /* the LF of a CRLF */
        r->cr_pending = false;
        return;
    }
    r->cr_pending = c == '\r';
    bool nl = c == '\n' || c == '\r';
    if (r->field == 0) { /* blank line */
        if (nl)
            r->line++;
        return;
    }
    if (r->in_header) {
        r->in_header = false;
        finish_header(r);
    } else if (r->field != r->ncols) {
        fail(r, "\"%s\", line %llu: ragged row: expected %zu fields, got %zu", r->path,
             (unsigned long long)r->row_line, r->ncols, r->field);
    } else {
        dm_builder_end_row(r->b);
        r->data_rows++;
    }
    r->field = 0;
    if (nl)
        r->line++;
}

/* ---- one pass --------------------------------------------------------------------- */

/* libcsv trims blanks around unquoted fields by default; pandas keeps them ("normalized "
 * and "normalized" are two categories), so no character is a blank here.  Numbers with
 * blanks around them still parse (dm_parse_number allows them). */
static int no_blank(unsigned char c)
{
    (void)c;
    return 0;
}

static void free_second(reader *r);

static void reader_free(reader *r)
{
    free_second(r);
    for (size_t i = 0; i < r->nhdr; i++)
        free(r->hdr[i]);
    free(r->hdr);
    free(r->map);
    dm_builder_free(r->b);
}

/*
 * The fast path: a whole line (LF excluded) with no quote and no CR, read while libcsv is
 * between records, is split at the commas here, fields verbatim, exactly as libcsv would
 * report it (a line of nothing is a blank line).  Returns false, leaving everything as it
 * was, when the line needs libcsv.
 */
static bool fast_line(reader *r, const char *s, size_t len)
{
    if (memchr(s, '"', len) || memchr(s, '\r', len))
        return false;
    if (len > 0) {
        if (r->in_header) {
            const char *f = s, *end = s + len;
            for (;;) {
                const char *c = memchr(f, ',', (size_t)(end - f));
                const char *fe = c ? c : end;
                on_field((void *)(uintptr_t)f, (size_t)(fe - f), r);
                if (!c || r->failed)
                    break;
                f = c + 1;
            }
        } else {
            r->cr_pending = false;
            r->row_line = r->line;
            size_t field = 0;
            if (dm_builder_plain_line(r->b, r->map, r->ncols, s, len, r->line, &field) != 0) {
                fail(r, "\"%s\", line %llu: out of memory", r->path, (unsigned long long)r->line);
                return true;
            }
            r->field += field;
        }
    }
    if (!r->failed)
        on_row('\n', r);
    return true;
}

/*
 * Parse s[0..n) (no NUL byte in it): plain lines by fast_line, the rest by libcsv.  Returns
 * the bytes consumed, less than n when libcsv found an error (csv_error tells which).
 */
static size_t feed(reader *r, struct csv_parser *p, const char *s, size_t n)
{
    size_t pos = 0;
    while (pos < n && !r->failed) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) + 1 : n;
        if (nl && r->plain_lines && p->pstate == CSV_STATE_ROW_NOT_BEGUN &&
            fast_line(r, s + pos, end - 1 - pos)) {
            pos = end;
            continue;
        }
        size_t done = csv_parse(p, s + pos, end - pos, on_field, on_row, r);
        if (done < end - pos)
            return pos + done;
        pos = end;
    }
    return pos;
}

/*
 * Once some rows are read (bytes [range_start, off)), tell the builder how many the whole
 * range should hold: the rows so far scaled to the range, plus a tenth, and never more than
 * the range can hold (a row of n fields takes at least n - 1 bytes).  The columns' arrays
 * are then allocated once, at about their final size, rather than doubled and copied up to
 * it.  A file whose
 * rows grow longer further down only gets arrays too big, in pages never touched.
 */
static void expect_rows(reader *r, uint64_t off)
{
    uint64_t seen = off - r->range_start;
    if (r->data_rows < 16 || seen == 0 || r->range_bytes <= seen)
        return;
    r->expected = true;
    double est = (double)r->data_rows * ((double)r->range_bytes / (double)seen) * 1.1 + 16.0;
    uint64_t most = r->range_bytes / (r->ncols > 1 ? r->ncols - 1 : 1) + 1;
    dm_builder_expect(r->b, est < (double)most ? (size_t)est : (size_t)most);
}

/*
 * Feed the file from the current position (byte *off) to byte `end` (or EOF: *eof) to the
 * parser.  -1 when r failed (a second reader fails silently: its part is read again).
 */
static int parse_until(reader *r, struct csv_parser *p, int fd, char *buf, size_t bufsize,
                       uint64_t *off, uint64_t end, bool *eof)
{
    *eof = false;
    while (*off < end && !r->failed) {
        if (r->is_second && atomic_load(&r->stop)) {
            r->failed = true;
            break;
        }
        size_t room = bufsize;
        if (end - *off < room)
            room = (size_t)(end - *off);
        ssize_t n = read(fd, buf, room < r->chunk ? room : r->chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char eb[128];
            fail(r, "could not read \"%s\": %s", r->path, strerror_r(errno, eb, sizeof eb));
            break;
        }
        if (n == 0) {
            *eof = true;
            break;
        }
        size_t len = (size_t)n, skip = 0;
        /* the 3 bytes of a byte order mark may take more than one read (a pipe's) */
        while (*off == 0 && len < 3 && len < room) {
            ssize_t m = read(fd, buf + len, room - len < r->chunk ? room - len : r->chunk);
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0)
                break; /* end of file, or an error the next read reports */
            len += (size_t)m;
        }
        if (*off == 0 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
            skip = 3; /* UTF-8 byte order mark */
        const char *nul = memchr(buf, '\0', len);
        size_t upto = nul ? (size_t)(nul - buf) : len;
        size_t done = upto > skip ? feed(r, p, buf + skip, upto - skip) : 0;
        if (r->failed)
            break;
        if (r->is_second && (skip + done < upto || nul)) {
            r->failed = true; /* the first reader finds it again, with its line */
            break;
        }
        if (skip + done < upto) {
            int e = csv_error(p);
            uint64_t at = *off + skip + done;
            if (e == CSV_EPARSE)
                fail(r,
                     "\"%s\", line %llu: malformed quoting (a quote inside an unquoted field "
                     "or text after a closing quote), byte offset %llu",
                     r->path, (unsigned long long)line_at_offset(r->path, at),
                     (unsigned long long)at);
            else
                fail(r, "\"%s\", line %llu: %s", r->path,
                     (unsigned long long)line_at_offset(r->path, at), csv_strerror(e));
            break;
        }
        if (nul) {
            uint64_t at = *off + upto;
            fail(r, "\"%s\", line %llu: binary data (NUL byte at byte offset %llu): not a CSV file",
                 r->path, (unsigned long long)line_at_offset(r->path, at), (unsigned long long)at);
            break;
        }
        *off += len;
        if (r->gp)
            groups_step(r, *off, false);
        if (!r->expected && r->b && !r->in_header)
            expect_rows(r, *off);
    }
    return r->failed ? -1 : 0;
}

/* The second reader: [split_at, EOF) of the file, rows only. */
static void *second_main(void *arg)
{
    reader *r = arg;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    struct csv_parser p;
    char *buf = NULL;
    bool parser = false;
    uint64_t off = r->split_at;
    bool eof = false;
    if (fd < 0 || lseek(fd, (off_t)r->split_at, SEEK_SET) < 0 ||
        csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        r->failed = true;
        goto out;
    }
    parser = true;
    csv_set_space_func(&p, no_blank);
    buf = malloc(CHUNK);
    if (!buf) {
        r->failed = true;
        goto out;
    }
    r->line = r->row_line = 1;
    if (parse_until(r, &p, fd, buf, CHUNK, &off, UINT64_MAX, &eof) == 0 &&
        csv_fini(&p, on_field, on_row, r) != 0)
        r->failed = true;
out:
    if (parser)
        csv_free(&p);
    free(buf);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Called once the header is read: start the second reader (no split when that fails). */
static void start_second(reader *r, const char *const *names, const bool *ft)
{
    reader *s = calloc(1, sizeof *s);
    if (!s) {
        r->split_at = 0;
        return;
    }
    s->path = r->path;
    s->opt = r->opt;
    s->ncols = r->ncols;
    s->chunk = r->chunk;
    s->plain_lines = r->plain_lines;
    s->map = r->map; /* shared, read only; the first reader frees it after the join */
    s->hdr = r->hdr; /* the same (the column groups' plan names the columns) */
    s->nhdr = r->nhdr;
    s->nkept = r->nkept;
    s->split_at = r->split_at;
    s->range_start = r->split_at;
    s->range_bytes = r->file_size - r->split_at; /* split_at < file_size (split_point) */
    s->is_second = true;
    s->gp = r->gp;
    atomic_init(&s->stop, false);
    s->b = dm_builder_alloc(r->nkept, names, ft);
    if (s->b && r->opt && r->opt->keep_rows)
        dm_builder_keep_rows(s->b, r->opt->keep_rows, r->opt->n_keep_rows);
    if (s->b && groups_raw_numbers(s->gp))
        dm_builder_raw_numbers(s->b);
    if (!s->b || pthread_create(&r->second_thread, NULL, second_main, s) != 0) {
        dm_builder_free(s->b);
        free(s);
        r->split_at = 0;
        return;
    }
    r->second = s;
    r->second_running = true;
}

/* Wait for the second reader: 0 when it read its part without fault. */
static int join_second(reader *r)
{
    if (r->second_running) {
        pthread_join(r->second_thread, NULL);
        r->second_running = false;
    }
    return r->second && !r->second->failed ? 0 : -1;
}

static void free_second(reader *r)
{
    if (r->second) {
        atomic_store(&r->second->stop, true);
        join_second(r);
        dm_builder_free(r->second->b);
        free(r->second);
        r->second = NULL;
    }
}

/* Where to cut the file for two readers: just after the first LF past the middle; 0 for no
 * cut (small file, no LF there, not a regular file). */
static uint64_t split_point(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size < atomic_load(&split_min))
        return 0;
    uint64_t size = (uint64_t)st.st_size, pos = size / 2;
    char b[4096];
    while (pos < size) {
        ssize_t n = pread(fd, b, sizeof b, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        const char *nl = memchr(b, '\n', (size_t)n);
        if (nl) {
            uint64_t at = pos + (uint64_t)(nl - b) + 1;
            return at < size ? at : 0;
        }
        pos += (uint64_t)n;
    }
    return 0;
}

/*
 * Read path once.  On success *out holds the dataset, and flips[] (malloc'ed, ncols
 * entries, file order) is set when some column flipped to text, else NULL.
 */
static int read_pass(reader *r, dm_dataset *out, bool **flips, size_t *nflips)
{
    *flips = NULL;
    *nflips = 0;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char eb[128];
        fail(r, "could not open \"%s\": %s", r->path, strerror_r(errno, eb, sizeof eb));
        return -1;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        close(fd);
        fail(r, "\"%s\": out of memory", r->path);
        return -1;
    }
    size_t chunk = atomic_load(&test_chunk);
    r->chunk = chunk ? chunk : CHUNK;
    r->plain_lines = !atomic_load(&test_libcsv_only);
    /* small files get a buffer of their size (plus one byte to see the end) */
    size_t bufsize = CHUNK;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        r->file_size = (uint64_t)st.st_size;
        if (r->file_size < CHUNK)
            bufsize = (size_t)st.st_size + 1;
    }
    csv_set_space_func(&p, no_blank); /* fields verbatim, as pandas reads them */
    char *buf = malloc(bufsize);
    if (!buf) {
        csv_free(&p);
        close(fd);
        fail(r, "\"%s\": out of memory", r->path);
        return -1;
    }
    r->in_header = true;
    r->line = r->row_line = 1;
    r->split_at = r->opt && r->opt->one_reader ? 0 : split_point(fd);
    /* the whole file even when split: the second half is merged into this reader's arrays,
     * which then have the room for it (no copy into a bigger array at the merge) */
    r->range_bytes = r->file_size;
    uint64_t off = 0; /* bytes consumed so far */
    bool eof = false;
    parse_until(r, &p, fd, buf, bufsize, &off, r->split_at ? r->split_at : UINT64_MAX, &eof);
    if (r->split_at > 0) {
        /* between two records at the cut, outside any quoted field.  (A cut inside a quoted
         * field also makes the second reader fail: its part then holds an odd number of
         * quote characters, which strict parsing cannot end on.) */
        bool clean = !r->failed && !eof && off == r->split_at && !r->in_header &&
                     p.pstate == CSV_STATE_ROW_NOT_BEGUN && !p.quoted && r->field == 0;
        if (!clean && r->second)
            atomic_store(&r->second->stop, true);
        bool taken = false;
        if (r->second && join_second(r) == 0 && clean) {
            /* the second half's line 1 is the line this reader is on */
            if (dm_builder_merge(r->b, r->second->b, r->line - 1) != 0)
                fail(r, "\"%s\": out of memory", r->path);
            r->data_rows += r->second->data_rows;
            taken = true;
        }
        free_second(r);
        if (!taken)
            groups_drop_second(r);
        r->split_at = 0; /* the header is behind: no second reader from here on */
        if (!taken && !r->failed)
            parse_until(r, &p, fd, buf, bufsize, &off, UINT64_MAX, &eof);
    }
    close(fd);
    free(buf);
    if (!r->failed) {
        /* what an unterminated quoted field holds, for the message */
        char shown[DM_SHOWN_LEN] = "";
        if (p.quoted && p.entry_buf)
            dm_show_value((const char *)p.entry_buf, p.entry_pos, shown, sizeof shown);
        uint64_t at_line = r->line;
        size_t at_col = r->field + 1;
        if (csv_fini(&p, on_field, on_row, r) != 0 && !r->failed)
            fail(r,
                 "\"%s\", line %llu, column %zu: unterminated quoted field at end of file (value "
                 "starts \"%s\")",
                 r->path, (unsigned long long)at_line, at_col, shown);
    }
    csv_free(&p);
    if (r->failed)
        return -1;
    if (r->in_header) {
        fail(r, "\"%s\": empty file (no header row)", r->path);
        return -1;
    }
    if (r->data_rows == 0) {
        fail(r, "\"%s\", line %llu: header only, no data rows", r->path,
             (unsigned long long)r->row_line);
        return -1;
    }

    bool *bflip = calloc(r->nkept ? r->nkept : 1, sizeof *bflip);
    if (!bflip) {
        fail(r, "\"%s\": out of memory", r->path);
        return -1;
    }
    size_t nf = dm_builder_flipped(r->b, bflip);
    dm_dataset ds;
    if ((r->gp ? groups_begin(r, nf, &ds) : dm_builder_finish(r->b, r->path, &ds)) != 0) {
        free(bflip);
        fail(r, "\"%s\": out of memory", r->path);
        return -1;
    }
    if (nf > 0) {
        bool *ff = calloc(r->ncols, sizeof *ff);
        if (!ff) {
            free(bflip);
            dm_dataset_release(&ds);
            fail(r, "\"%s\": out of memory", r->path);
            return -1;
        }
        for (size_t i = 0; i < r->ncols; i++)
            ff[i] = r->map[i] >= 0 && bflip[r->map[i]];
        *flips = ff;
        *nflips = nf;
    }
    free(bflip);
    *out = ds;
    return 0;
}

int dm_csv_read(const char *path, const dm_csv_options *opt, dm_dataset *out, char *err,
                size_t errlen)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.opt = opt;
    r.err = err;
    r.errlen = errlen;
    dm_dataset ds;
    bool *flips = NULL;
    size_t nflips = 0;
    int rc = read_pass(&r, &ds, &flips, &nflips);
    reader_free(&r);
    if (rc == 0 && flips) {
        /* some columns turned to text after numbers: read again with them as text */
        dm_dataset_release(&ds);
        memset(&r, 0, sizeof r);
        r.path = path;
        r.opt = opt;
        r.err = err;
        r.errlen = errlen;
        r.extra_text = flips;
        bool *again = NULL;
        rc = read_pass(&r, &ds, &again, &nflips);
        reader_free(&r);
        if (rc == 0 && again) { /* the file changed under us */
            dm_dataset_release(&ds);
            free(again);
            if (err && errlen)
                snprintf(err, errlen, "\"%s\": the file changed while it was read", path);
            rc = -1;
        }
        free(flips);
    }
    if (rc == 0)
        *out = ds;
    return rc;
}

/* ---- two files on two threads ------------------------------------------------------ */

typedef struct {
    const char *path;
    const dm_csv_options *opt;
    dm_dataset ds;
    char err[512];
    int rc;
} pair_job;

static void *pair_thread(void *arg)
{
    pair_job *j = arg;
    j->rc = dm_csv_read(j->path, j->opt, &j->ds, j->err, sizeof j->err);
    return NULL;
}

int dm_csv_read_pair(const char *ref_path, const char *cur_path, const dm_csv_options *opt,
                     dm_dataset *ref, dm_dataset *cur, char *err, size_t errlen)
{
    pair_job *j = calloc(2, sizeof *j);
    if (!j) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory reading \"%s\"", ref_path);
        return -1;
    }
    j[0].path = ref_path;
    j[1].path = cur_path;
    j[0].opt = j[1].opt = opt;
    /* A big file is read by two threads already (halves): then one file after the other
     * keeps both cores busy to the end, where one thread per file would leave the smaller
     * file's core idle while the bigger one is read. */
    struct stat st;
    uint64_t big = atomic_load(&split_min);
    bool halves = (stat(ref_path, &st) == 0 && (uint64_t)st.st_size >= big) ||
                  (stat(cur_path, &st) == 0 && (uint64_t)st.st_size >= big);
    pthread_t t;
    bool threaded = !halves && pthread_create(&t, NULL, pair_thread, &j[0]) == 0;
    if (!threaded)
        pair_thread(&j[0]);
    if (!halves || j[0].rc == 0)
        pair_thread(&j[1]);
    if (threaded)
        pthread_join(t, NULL);
    int rc = 0;
    if (j[0].rc != 0 || j[1].rc != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", j[0].rc != 0 ? j[0].err : j[1].err);
        if (j[0].rc == 0)
            dm_dataset_release(&j[0].ds);
        if (j[1].rc == 0)
            dm_dataset_release(&j[1].ds);
        rc = -1;
    } else {
        *ref = j[0].ds;
        *cur = j[1].ds;
    }
    free(j);
    return rc;
}

/* ---- a current file read by column groups (issue 20) --------------------------------- */

struct dm_csv_groups {
    dm_csv_group_options o;
    uint64_t file_size;
    pthread_mutex_t mu;
    atomic_bool planned;
    bool plan_failed; /* err says why (set before planned) */
    char err[768];
    size_t ncols;     /* the builder's */
    size_t *group_of; /* per builder column: 0 in memory, g > 0 spilled to group g */
    size_t ngroups, per_group;
    uint64_t text_bytes; /* the text columns' estimate, taken from the budget */
    dm_spill *spill[2];  /* the first reader's, the second's (one writer each) */
    /* after the read */
    dm_builder *b;
    size_t **cols, *ncols_g;
};

static dm_csv_groups *groups_new(const dm_csv_group_options *o, const char *path)
{
    dm_csv_groups *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->o = *o;
    struct stat st;
    g->file_size = stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    pthread_mutex_init(&g->mu, NULL);
    atomic_init(&g->planned, false);
    return g;
}

void dm_csv_groups_free(dm_csv_groups *g)
{
    if (!g)
        return;
    dm_spill_close(g->spill[0]);
    dm_spill_close(g->spill[1]);
    dm_builder_free(g->b);
    for (size_t k = 0; g->cols && g->ncols_g && k < g->ngroups; k++)
        free(g->cols[k]);
    free(g->cols);
    free(g->ncols_g);
    free(g->group_of);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

size_t dm_csv_groups_count(const dm_csv_groups *g)
{
    return g ? g->ngroups : 0;
}

uint64_t dm_csv_groups_text_bytes(const dm_csv_groups *g)
{
    return g ? g->text_bytes : 0;
}

static bool groups_raw_numbers(const dm_csv_groups *g)
{
    return g && g->o.raw_numbers;
}

size_t dm_csv_groups_per_group(const dm_csv_groups *g)
{
    return g ? g->per_group : 0;
}

/* The plan, made once from the first estimate of the rows (under g->mu): the numeric columns in
 * the reference's order (then the file's), k to a group, k from the budget (below).  The
 * score column and text columns stay in memory (group 0, never spilled). */
static void plan_groups(dm_csv_groups *g, const reader *r, uint64_t rows)
{
    size_t n = r->nkept;
    g->ncols = n;
    g->group_of = calloc(n + 1, sizeof *g->group_of);
    const char **bname = calloc(n + 1, sizeof *bname);
    size_t *rank = calloc(n + 1, sizeof *rank), *ord = calloc(n + 1, sizeof *ord);
    stats_names refn;
    stats_names_init(&refn);
    bool ok = g->group_of && bname && rank && ord;
    const dm_dataset *ref = g->o.order;
    for (size_t i = 0; ok && ref && i < ref->ncols; i++)
        ok = !ref->col[i].name || stats_names_add(&refn, ref->col[i].name, i, NULL) >= 0;
    if (!ok) {
        snprintf(g->err, sizeof g->err, "\"%s\": out of memory planning the column groups",
                 r->path);
        g->plan_failed = true;
        goto out;
    }
    for (size_t i = 0; i < r->ncols; i++)
        if (r->map[i] >= 0)
            bname[r->map[i]] = r->hdr[i];
    size_t nref = ref ? ref->ncols : 0;
    for (size_t c = 0; c < n; c++) {
        long at = stats_names_find(&refn, bname[c]);
        rank[c] = at >= 0 ? (size_t)at : nref + c;
    }
    /* ord: the builder's columns by rank (an insertion sort would be quadratic on 1600
     * columns at worst: counting by rank instead, ranks being distinct and < nref + n) */
    size_t *slot = calloc(nref + n + 1, sizeof *slot);
    if (!slot) {
        snprintf(g->err, sizeof g->err, "\"%s\": out of memory planning the column groups",
                 r->path);
        g->plan_failed = true;
        goto out;
    }
    for (size_t c = 0; c < n; c++)
        slot[rank[c]] = c + 1;
    size_t m = 0;
    for (size_t k = 0; k < nref + n; k++)
        if (slot[k])
            ord[m++] = slot[k] - 1;
    free(slot);
    if (rows == 0)
        rows = 1;
    size_t nraw = 0;
    for (size_t i = 0; i < m; i++) {
        size_t c = ord[i];
        /* a column still held as (value, count) pairs is planned too: it stays in memory
         * while a table, and spills once it turns raw (dm_builder_spill) */
        bool raw = dm_builder_state(r->b, c) != DM_BCOL_TEXT &&
                   !(g->o.score_column && strcmp(g->o.score_column, bname[c]) == 0);
        ord[i] = raw ? c : SIZE_MAX;
        nraw += raw;
    }
    /* the text columns are never spilled: what their tables of strings will hold is taken
     * from the budget first (estimated from the rows so far) */
    for (size_t c = 0; c < n; c++) {
        uint64_t t = dm_builder_text_bytes(r->b, c, rows);
        g->text_bytes = t > UINT64_MAX - g->text_bytes ? UINT64_MAX : g->text_bytes + t;
    }
    size_t k = g->o.per_group;
    if (k == 0) {
        /* the finish's scratch, the dataset's array of ones (8 B a row at most), a block per
         * spilled column in each of two builders; a column 16 B a row: raw it is 8, but
         * finished its distinct values and their counts can take twice that until the
         * group is compared */
        uint64_t fixed = 40 * rows + (uint64_t)nraw * 2 * DM_SPILL_BLOCK_VALUES * 8;
        fixed += g->text_bytes > UINT64_MAX - fixed ? UINT64_MAX - fixed : g->text_bytes;
        uint64_t col = 16 * rows;
        k = g->o.budget > fixed ? (size_t)((g->o.budget - fixed) / col) : 0;
    }
    if (k == 0)
        k = 1;
    for (size_t i = 0, j = 0; i < m; i++)
        if (ord[i] != SIZE_MAX)
            g->group_of[ord[i]] = j++ / k;
    g->per_group = k;
    g->ngroups = nraw > k ? (nraw + k - 1) / k : 1;
    if (g->ngroups > 1) {
        uint64_t need = dm_spill_bytes((uint64_t)(nraw - k) * rows);
        if (dm_spill_check_space(g->o.spill_dir, need, g->err, sizeof g->err) != 0)
            g->plan_failed = true;
    }
out:
    stats_names_release(&refn);
    free(bname);
    free(rank);
    free(ord);
    atomic_store(&g->planned, true);
}

/* Follow the plan in this reader's builder: its columns of groups g > 0 go to its own
 * spill file from now on. */
static void apply_plan(reader *r)
{
    dm_csv_groups *g = r->gp;
    r->gp_applied = true;
    if (g->plan_failed) {
        fail(r, "%s", g->err);
        return;
    }
    if (g->ngroups < 2)
        return;
    int which = r->is_second ? 1 : 0;
    if (!g->spill[which]) {
        char err[768];
        g->spill[which] = dm_spill_open(g->o.spill_dir, g->ngroups, err, sizeof err);
        if (!g->spill[which]) {
            fail(r, "%s", err);
            return;
        }
    }
    for (size_t c = 0; c < g->ncols && c < r->nkept; c++)
        if (g->group_of[c] > 0 && dm_builder_spill(r->b, c, g->spill[which], g->group_of[c]) < 0) {
            fail(r, "%s", dm_spill_error(g->spill[which]));
            return;
        }
}

#define PLAN_ROWS 4096
#define PLAN_BYTES ((uint64_t)16 << 20)

/* After each block read: the plan once the rows can be estimated (the first reader to get
 * there makes it for both), then this reader follows it.  at_end: the whole file is read,
 * its rows known. */
static void groups_step(reader *r, uint64_t off, bool at_end)
{
    dm_csv_groups *g = r->gp;
    if (r->gp_applied || !r->b || r->in_header || r->failed)
        return;
    if (!atomic_load(&g->planned)) {
        uint64_t seen = off - r->range_start, rows = r->data_rows;
        if (!at_end) {
            /* rows enough for the text columns' estimate (their strings seen once so far
             * give the rate of new ones: a few dozen rows would make every category of a
             * few hundred look new), or at most 16 MiB of values held unplanned */
            bool enough = r->data_rows >= PLAN_ROWS || (r->data_rows >= 16 && seen >= PLAN_BYTES);
            if (!enough || seen == 0 || g->file_size <= seen)
                return;
            rows = (uint64_t)((double)r->data_rows * ((double)g->file_size / (double)seen));
        }
        pthread_mutex_lock(&g->mu);
        if (!atomic_load(&g->planned))
            plan_groups(g, r, rows);
        pthread_mutex_unlock(&g->mu);
    }
    apply_plan(r);
}

/* The second half was not taken: what it spilled is not part of the file's values. */
static void groups_drop_second(reader *r)
{
    if (r->gp) {
        dm_spill_close(r->gp->spill[1]);
        r->gp->spill[1] = NULL;
    }
}

/* The end of a grouped read (read_pass): every column's counts into out, the text columns
 * finished; the numbers stay in the builder (group 0) or the spill files. */
static int groups_begin(reader *r, size_t nflipped, dm_dataset *out)
{
    if (nflipped > 0) { /* read again: nothing to keep */
        dm_dataset_init(out);
        return 0;
    }
    groups_step(r, 0, true); /* a file too small for an estimate: planned now, rows known */
    if (r->failed || dm_builder_finish_begin(r->b, r->path, out) != 0)
        return -1;
    size_t *text = malloc((out->ncols + 1) * sizeof *text), nt = 0;
    if (!text) {
        dm_dataset_release(out);
        return -1;
    }
    for (size_t i = 0; i < out->ncols; i++)
        if (out->col[i].storage == DM_STORE_STR)
            text[nt++] = i;
    int rc = dm_builder_finish_columns(r->b, text, nt, out);
    free(text);
    if (rc != 0)
        dm_dataset_release(out);
    return rc;
}

/* The groups' column lists, for the loader: group 0 every column held in memory (text,
 * the score, the first raw columns), group g > 0 its spilled columns. */
static int groups_lists(dm_csv_groups *g)
{
    size_t ng = g->ngroups ? g->ngroups : 1, n = g->ncols;
    g->ngroups = ng;
    g->cols = calloc(ng, sizeof *g->cols);
    g->ncols_g = calloc(ng, sizeof *g->ncols_g);
    if (!g->cols || !g->ncols_g)
        return -1;
    for (size_t k = 0; k < ng; k++)
        if (!(g->cols[k] = malloc((n + 1) * sizeof *g->cols[k])))
            return -1;
    for (size_t c = 0; c < n; c++) {
        size_t k = dm_builder_is_spilled(g->b, c) && g->group_of ? g->group_of[c] : 0;
        g->cols[k][g->ncols_g[k]++] = c;
    }
    /* a group whose columns all turned to text after the plan is empty: dropped */
    size_t kept = 1;
    for (size_t k = 1; k < ng; k++) {
        if (g->ncols_g[k] == 0) {
            free(g->cols[k]);
            continue;
        }
        g->cols[kept] = g->cols[k];
        g->ncols_g[kept++] = g->ncols_g[k];
    }
    g->ngroups = kept;
    return 0;
}

static int groups_load(void *ctx, size_t k, dm_dataset *ds, char *err, size_t errlen)
{
    dm_csv_groups *g = ctx;
    if (dm_builder_unspill(g->b, g->cols[k], g->ncols_g[k], g->spill, 2) != 0) {
        const char *e = dm_spill_error(g->spill[0])[0] ? dm_spill_error(g->spill[0])
                                                       : dm_spill_error(g->spill[1]);
        if (e[0])
            snprintf(err, errlen, "%s", e);
        else
            snprintf(err, errlen, "out of memory reading back column group %zu of %s", k + 1,
                     ds->source);
        return -1;
    }
    if (dm_builder_finish_columns(g->b, g->cols[k], g->ncols_g[k], ds) != 0) {
        snprintf(err, errlen, "out of memory finishing column group %zu of %s", k + 1, ds->source);
        return -1;
    }
    return 0;
}

static void groups_release(void *ctx, size_t k, dm_dataset *ds)
{
    dm_csv_groups *g = ctx;
    for (size_t i = 0; i < g->ncols_g[k]; i++) {
        dm_column *c = &ds->col[g->cols[k][i]];
        if (c->storage == DM_STORE_NUM)
            dm_column_drop_numbers(c);
    }
}

void dm_csv_groups_loader(dm_csv_groups *g, dm_group_loader *ld)
{
    ld->ngroups = g->ngroups;
    ld->cols = (const size_t *const *)g->cols;
    ld->ncols = g->ncols_g;
    ld->load = groups_load;
    ld->release = groups_release;
    ld->ctx = g;
}

int dm_csv_read_groups(const char *path, const dm_csv_options *opt,
                       const dm_csv_group_options *gopt, dm_dataset *out, dm_csv_groups **groups,
                       char *err, size_t errlen)
{
    bool *extra = NULL;
    for (int pass = 0; pass < 2; pass++) {
        dm_csv_groups *g = groups_new(gopt, path);
        if (!g) {
            snprintf(err, errlen, "\"%s\": out of memory", path);
            free(extra);
            return -1;
        }
        reader r;
        memset(&r, 0, sizeof r);
        r.path = path;
        r.opt = opt;
        r.err = err;
        r.errlen = errlen;
        r.extra_text = extra;
        r.gp = g;
        dm_dataset ds;
        bool *flips = NULL;
        size_t nflips = 0;
        int rc = read_pass(&r, &ds, &flips, &nflips);
        for (int w = 0; w < 2; w++) /* the cause of an "out of memory" while spilling */
            if (rc != 0 && g->spill[w] && dm_spill_error(g->spill[w])[0])
                snprintf(err, errlen, "%s", dm_spill_error(g->spill[w]));
        if (rc == 0 && !flips) {
            g->b = r.b;
            r.b = NULL;
        }
        reader_free(&r);
        if (rc == 0 && !flips) {
            free(extra);
            if (groups_lists(g) != 0) {
                snprintf(err, errlen, "\"%s\": out of memory", path);
                dm_dataset_release(&ds);
                dm_csv_groups_free(g);
                return -1;
            }
            *out = ds;
            *groups = g;
            return 0;
        }
        dm_csv_groups_free(g);
        if (rc == 0)
            dm_dataset_release(&ds);
        free(extra);
        extra = NULL;
        if (rc != 0) {
            free(flips);
            return -1;
        }
        if (pass == 1) { /* the file changed under us */
            free(flips);
            snprintf(err, errlen, "\"%s\": the file changed while it was read", path);
            return -1;
        }
        extra = flips; /* some columns turned to text after numbers: read again */
    }
    return -1;
}

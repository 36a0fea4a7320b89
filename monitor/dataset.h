/*
 * dataset.h - a profiled table: per column the exact distribution of its values.
 *
 * Every loader (CSV, saved profile file, PostgreSQL binary COPY) produces a dm_dataset;
 * the comparison only ever sees datasets.  A column is stored either as numbers
 * (distinct finite doubles ascending, with counts) or as text (distinct strings in byte
 * order, with counts); its drift type (num / cat) is decided later from the reference.
 *
 * Loaders feed values through a dm_builder, which classifies every field (missing token,
 * number, text), so CSV and PostgreSQL share one set of rules:
 *   - missing: empty field, SQL NULL, and pandas' default NA tokens
 *     ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
 *      "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
 *     so that a CSV reads exactly as pandas.read_csv reads it for the oracle;
 *   - number: what strtod accepts in full (leading/trailing blanks allowed) ;
 *     "inf"/"-inf"/"Infinity" are numbers, counted in `nonfinite` and dropped;
 *   - text: anything else.  A column with any text value is stored as text.
 *
 * Ownership: a dm_dataset owns everything it points to; dm_dataset_release() frees it.
 * Columns may share the dataset's array of ones as their counts (count_shared).
 */
#ifndef DRIFTMON_DATASET_H
#define DRIFTMON_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { DM_STORE_NUM = 0, DM_STORE_STR = 1 } dm_storage;

typedef struct {
    char *name;
    dm_storage storage;
    uint64_t missing;   /* empty, NA tokens, NULL */
    uint64_t nonfinite; /* +inf / -inf, dropped */
    bool is_int;        /* only integers and nothing missing or non-finite (pandas int64) */
    /* DM_STORE_NUM */
    double *value; /* ascending distinct finite values */
    uint64_t *count;
    size_t n_distinct;
    /* DM_STORE_STR */
    char **cat; /* distinct NUL-terminated strings, ascending by strcmp */
    uint64_t *cat_count;
    size_t n_cats;
    /* non-missing finite values: sum of count[] or cat_count[] */
    uint64_t n;
    /* first text value seen in the column and its 1-based line (or row: see
     * dm_dataset.table_rows), for messages; NULL when every value is a number (and for a
     * saved profile, which does not keep it) */
    char *first_text;
    uint64_t first_text_line;
    /* count[] is the dataset's shared array of ones (dm_dataset.ones), value[] a slice of
     * the dataset's arena (dm_dataset.arena), not the column's own: release and
     * dm_column_drop_numbers() leave them alone */
    bool count_shared;
    bool value_shared;
    /* stats_num_moments() of the numbers, when computed as the column was loaded */
    bool has_moments;
    double mean, std;
} dm_column;

/* A column of the source that the loader left out, and why: a table column of a type that is
 * not compared ("type jsonb is not compared").  Not a dm_column: it has no values. */
typedef struct {
    char *name;
    char *reason;
} dm_left_out;

/* A column's values row by row, kept beside its distribution when the loader is asked
 * (dm_builder_keep_rows): for the figures that pair two columns of one row, the model's
 * score and its outcome (issue 21).  Not part of the profile. */
typedef struct {
    char *name;
    double *value;  /* row r's value as parsed (+-inf kept); NaN when missing or text */
    uint64_t *line; /* row r's 1-based line (or row of a table), for messages */
    uint64_t n;     /* the dataset's rows */
} dm_rows;

typedef struct {
    char *source; /* "train.csv", "profile:ref.dmp", "table public.applications" */
    /* first_text_line counts the rows of a table in the order they were read, not the
     * lines of a file */
    bool table_rows;
    uint64_t rows;
    dm_column *col;
    size_t ncols;
    /* the source's columns left out, in the source's order; part of the profile (kept in a
     * saved profile and in a stored reference, covered by the digest) so that every report
     * lists them as skipped (monitor/reconcile.h) */
    dm_left_out *left_out;
    size_t nleft_out;
    char sha256[65]; /* hex sha256 of the profile content; "" until computed */
    /* counts of columns whose every value occurs once (count_shared): n_ones ones, read
     * only, freed by dm_dataset_release (saved profiles do not store such counts) */
    uint64_t *ones;
    size_t n_ones;
    /* one anonymous mapping holding the value arrays of value_shared columns (a saved
     * profile's load: no allocation per column); munmap'ed by dm_dataset_release */
    void *arena;
    size_t arena_len;
    /* the arena is a read-only mapping of a profile file (format 2) rather than anonymous
     * memory: its pages can be given back and are read again from the file when touched */
    bool arena_is_file;
    /* the columns kept row by row (dm_builder_keep_rows), in the builder's order */
    dm_rows *kept;
    size_t nkept;
} dm_dataset;

void dm_dataset_init(dm_dataset *ds);
/* Give back the memory pages of column i's values and counts when they are a mapped
 * profile's (arena_is_file): resident memory stays near one column's worth however big the
 * reference, and the next read of the column maps the file's pages again.  A no-op for
 * anything else. */
void dm_dataset_evict(const dm_dataset *ds, size_t i);
void dm_dataset_release(dm_dataset *ds);
/* Keep only the columns idx[0..n) (indexes into ds->col, no repeats), in that order; the
 * others are released (a mapped profile's pages given back).  The rest of the dataset (rows,
 * left-out columns, sha256: the whole source's) is unchanged.  0, or -1 (an index out of
 * range or repeated, out of memory) with ds unchanged. */
int dm_dataset_keep(dm_dataset *ds, const size_t *idx, size_t n);
/* Free a numeric column's value and count arrays (what the column owns of them) and set
 * them to NULL, n_distinct to 0 (a column's release does it). */
void dm_column_drop_numbers(dm_column *c);
/* Index of the column called name, or -1: a scan, for one lookup; a stage that looks up
 * every column indexes the names once (stats/names.h). */
long dm_dataset_find(const dm_dataset *ds, const char *name);
/* The rows kept of column name (dm_builder_keep_rows), or NULL. */
const dm_rows *dm_dataset_rows(const dm_dataset *ds, const char *name);
/* Add a left-out column (name and reason copied).  0, or -1 when out of memory. */
int dm_dataset_add_left_out(dm_dataset *ds, const char *name, const char *reason);
/* Index of the left-out column called name, or -1 (a table has at most 1600 columns: a scan). */
long dm_dataset_find_left_out(const dm_dataset *ds, const char *name);

/* Copy at most 60 bytes of s[0..len) (cut at a character's start) into out for a one-line
 * message, escaped by dm_escape with DM_ESC_QUOTED (monitor/log.h: control characters,
 * quotes, backslashes), with "..." when cut; an out of DM_SHOWN_LEN bytes holds all of it. */
#define DM_SHOWN_LEN (4 * 60 + 16)
void dm_show_value(const char *s, size_t len, char *out, size_t outlen);

/* Is s[0..len) one of the missing tokens above? */
bool dm_is_missing_token(const char *s, size_t len);

/*
 * Parse s[0..len) as a number: the value correctly rounded (fast path for plain decimals
 * of <= 15 significant digits with a small power of ten, strtod otherwise).  Returns false
 * when the field is not a number in full.  s need not be NUL-terminated.
 */
bool dm_parse_number(const char *s, size_t len, double *out);

/*
 * A loader that delivers a dataset one group of columns at a time (issue 20): the CSV
 * reader's spill files (monitor/csvin.h), later a table read by groups.  The dataset holds
 * every column from the start (storage, counts, text columns' categories: what dm_reconcile
 * needs); load(ctx, g, ds) fills in the values of group g's numeric columns (cols[g][0..
 * ncols[g]), indexes of ds's columns), release(ctx, g, ds) gives them back
 * (dm_column_drop_numbers).  load NULL: the values are there already.  release (may be
 * NULL) is called after every load, also a failed one.  load: 0, or -1 with err set.
 */
typedef struct {
    size_t ngroups;
    const size_t *const *cols;
    const size_t *ncols;
    int (*load)(void *ctx, size_t g, dm_dataset *ds, char *err, size_t errlen);
    void (*release)(void *ctx, size_t g, dm_dataset *ds);
    void *ctx;
} dm_group_loader;

/* ---- builder -------------------------------------------------------------------- */
typedef struct dm_builder dm_builder;

/* A builder for ncols columns named names[i] (copied).  force_text[i] (may be NULL) keeps
 * column i as text even when every value is a number.  NULL when out of memory. */
dm_builder *dm_builder_alloc(size_t ncols, const char *const *names, const bool *force_text);
void dm_builder_free(dm_builder *b);

/*
 * How column col holds its values while read (monitor/dataset.c describes the states):
 * DM_BCOL_TABLE: numbers as (distinct value, count) pairs, where every numeric column starts;
 * DM_BCOL_RAW: numbers as an array of doubles, one per value, once the distinct values are
 * too many for pairs to save memory (a column turns raw once, never back); DM_BCOL_TEXT:
 * strings.  The finished column does not depend on it.  col must be < the builder's ncols.
 */
typedef enum { DM_BCOL_TABLE = 0, DM_BCOL_RAW = 1, DM_BCOL_TEXT = 2 } dm_bcol_state;
dm_bcol_state dm_builder_state(const dm_builder *b, size_t col);
/* Every numeric column held raw from the start, never as pairs (the way before pairs); call
 * it before the first value.  The finished dataset is the same either way: for tests and
 * measurements that compare the two. */
void dm_builder_raw_numbers(dm_builder *b);

/*
 * Column col receives text whose type is still to be found (a table's text column, read
 * once): its values are kept as text as they come, each classified as a CSV field would be,
 * and dm_builder_finish makes the column numeric when every value was a number (or missing),
 * with the values, counts, is_int and nonfinite that feeding them as CSV fields gives.  No
 * second read is needed, unlike a CSV column that turns to text (dm_builder_flipped).
 */
void dm_builder_classify_text(dm_builder *b, size_t col);

/* Keep the values of the columns called names[0..n) row by row as well (dm_rows; names the
 * builder does not have are ignored): each row's field, number or NULL is recorded as it is
 * fed, a missing value or text as NaN, with its line (a table's: its row).  Call it before
 * the first row, on every builder of the source (both halves, a second pass). */
void dm_builder_keep_rows(dm_builder *b, const char *const *names, size_t n);

/* Feed one field of row `line` (1-based line of the source, for messages). */
int dm_builder_field(dm_builder *b, size_t col, const char *s, size_t len, uint64_t line);
/* One line of CSV with no quote and no CR (LF excluded): its fields split at the commas, field
 * i fed to column map[i] (none when i >= nmap or map[i] < 0), exactly as dm_builder_field
 * field by field; plain decimals are parsed in the same pass that finds their end.  The
 * number of fields goes to *nfields.  -1 when out of memory. */
int dm_builder_plain_line(dm_builder *b, const long *map, size_t nmap, const char *s, size_t len,
                          uint64_t line, size_t *nfields);
/* Feed one value known to be a number (PostgreSQL float8), or a SQL NULL. */
int dm_builder_number(dm_builder *b, size_t col, double v);
/* n numbers for column col, value r at vals[r * stride] (a block of rows, row-major): the
 * same as n calls of dm_builder_number, with the column's state touched once. */
int dm_builder_numbers(dm_builder *b, size_t col, const double *vals, size_t stride, size_t n);
/* A hint from the loader: about `rows` rows will come.  Every raw column gets room for that
 * many values at once, so that its array is not grown (copied) again and again as it fills;
 * pages reserved and never written cost nothing.  A column still held as pairs gets that
 * room when it turns raw, and the hint bounds its pairs (at most the raw array's bytes).
 * Ignored when the memory is not there (the arrays then grow as before). */
void dm_builder_expect(dm_builder *b, size_t rows);
void dm_builder_null(dm_builder *b, size_t col);
/* One row done. */
void dm_builder_end_row(dm_builder *b);

/*
 * Columns that turned to text after numeric values had been seen: their earlier values
 * were kept as numbers, so the loader must read the source again with force_text set for
 * them.  Returns how many, and sets flags[i] (array of ncols) for those columns.
 */
size_t dm_builder_flipped(const dm_builder *b, bool *flags);

/*
 * Add everything src holds to dst (two builders over the same columns, e.g. two halves of
 * one file read on two threads); src is left empty.  line_offset is added to the line of
 * src's first text values.  A column that is text on one side and has numbers on the other
 * is reported by dm_builder_flipped().  -1 on out of memory (dst is then unusable).
 */
int dm_builder_merge(dm_builder *dst, dm_builder *src, uint64_t line_offset);

/* Sort, compress and move everything into out (initialised by the call); the builder is
 * emptied.  -1 on out of memory. */
int dm_builder_finish(dm_builder *b, const char *source, dm_dataset *out);

/*
 * The finish in parts, for a loader that finishes and compares one group of columns at a
 * time (issue 20); dm_builder_finish is begin, then every column.
 *   begin: out gets every column's name, storage, missing, nonfinite, first text, n and
 *          is_int (what dm_reconcile needs), values none yet;
 *   columns: the columns cols[0..n) (not yet finished, not spilled) are sorted, compressed
 *          and moved into out's columns, exactly as dm_builder_finish would.
 * -1 on out of memory (out is then to be released by the caller).
 */
int dm_builder_finish_begin(dm_builder *b, const char *source, dm_dataset *out);
int dm_builder_finish_columns(dm_builder *b, const size_t *cols, size_t n, dm_dataset *out);

/*
 * Spilling (monitor/spill.h): column col's numbers, those held now and those still to come,
 * go to group `group` of the spill file s instead of memory (the exact 8 bytes of each).
 * Only a RAW column (dm_builder_state) is spilled: 1 when it is, 0 when it is left as it
 * is: text, or a TABLE column, which stays in memory and is spilled to s from when it turns
 * raw, if it does; -1 when writing failed (dm_spill_error tells).  A spilled column that
 * turns to text drops what it spilled (flipped: the loader reads again).  A merge keeps the
 * spilled blocks of both builders, whichever side was a table, raw or spilled; the merged
 * column is spilled when either side was, or when it is raw and either side had a target.
 */
typedef struct dm_spill dm_spill;
int dm_builder_spill(dm_builder *b, size_t col, dm_spill *s, size_t group);
bool dm_builder_is_spilled(const dm_builder *b, size_t col);
/* Is column col in the RAW state now, not yet finished (what dm_builder_spill spills now)? */
bool dm_builder_is_raw(const dm_builder *b, size_t col);
/* The heap column col's text will hold (its table of distinct strings, the strings, and
 * their categories and counts once finished) when the source has `rows` rows: estimated
 * from what it holds now, the strings seen once so far giving the rate of new ones.  0 for
 * a column that is not text. */
uint64_t dm_builder_text_bytes(const dm_builder *b, size_t col, uint64_t rows);
/* Read the spilled values of the columns cols[0..n) back into the builder from every spill
 * file spills[0..nspills) (NULL entries skipped), for dm_builder_finish_columns.  -1 on
 * failure (out of memory, or a spill file's error). */
int dm_builder_unspill(dm_builder *b, const size_t *cols, size_t n, dm_spill *const *spills,
                       size_t nspills);

#endif

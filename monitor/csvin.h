/*
 * csvin.h - streaming CSV reader (libcsv) that profiles a file into a dm_dataset.
 *
 * The file is read with read(2) in 64 KiB chunks and tokenised in strict mode: a line with
 * no quote and no CR, met between records, is split at its commas directly; anything else
 * goes through libcsv (same results, see csvin.c).  Big files are read in two halves on two
 * threads (dm_csv_set_split_threshold).  Every field goes through the dm_builder
 * (dataset.h), so a CSV reads as pandas.read_csv reads it with its default NA tokens.
 * Rules:
 *   - the first row is the header (required); a UTF-8 BOM in front of it is dropped;
 *   - quoted fields may hold delimiters, doubled quotes and newlines; LF, CRLF and CR
 *     line ends; blank lines are skipped; an empty field is missing;
 *   - fields are taken verbatim: blanks around an unquoted field are kept, as pandas keeps
 *     them (a number may still have blanks around it); quoting is strict (RFC 4180): a
 *     quote inside an unquoted field or text after a closing quote is an error;
 *   - every row must have as many fields as the header.
 * Errors return -1 with err holding ONE line that names the file, the 1-based physical line
 * (newlines inside quoted fields count) and the column / value at fault: missing or
 * unreadable file, empty file, header only, ragged row, unterminated quote at end of file,
 * malformed quoting, duplicate or empty column name, NUL byte ("binary data").  *out is
 * untouched on error.  Which columns must be numbers is not the reader's business
 * (monitor/reconcile.h).
 *
 * A column whose values turn to text after numbers were seen is read once more with that
 * column forced to text (the builder keeps numbers as doubles until then); files without
 * such columns are read in one pass.
 */
#ifndef DRIFTMON_CSVIN_H
#define DRIFTMON_CSVIN_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/dataset.h"

typedef struct {
    /* columns to keep, in file order (NULL = all); names absent from the file are
     * ignored (the comparison reports absent columns) */
    const char *const *keep;
    size_t n_keep;
    /* read the file on this thread alone, however big (for a caller whose other core is
     * busy with other work of the same run: a second reader would only share it) */
    bool one_reader;
    /* columns whose values are also kept row by row (dm_dataset.kept, dm_builder_keep_rows),
     * NULL for none */
    const char *const *keep_rows;
    size_t n_keep_rows;
} dm_csv_options;

/* Read path into *out (source = path).  opt may be NULL.  0, or -1 with err set. */
int dm_csv_read(const char *path, const dm_csv_options *opt, dm_dataset *out, char *err,
                size_t errlen);

/*
 * Files of at least `bytes` bytes (default 4 MiB) are read by two threads: the first reads
 * the header and the rows up to the first LF past the middle, the second the rest, and the
 * halves are merged.  The second half is used only when the first ends a record exactly
 * there (not inside a quoted field) and the second read it without any fault; otherwise
 * the first thread reads on, so results and messages are those of a single reader.
 * UINT64_MAX turns splitting off.  For tests and benchmarks; process-wide.
 */
void dm_csv_set_split_threshold(uint64_t bytes);
uint64_t dm_csv_split_threshold(void);

/*
 * For tests (the fuzzers) only: ask read() for at most `chunk` bytes at a time instead of
 * 64 KiB (0: back to 64 KiB), so that inputs of a few bytes cross chunk boundaries as big
 * files do and meet short reads (a pipe's) at every offset; with libcsv_only, every line goes
 * through libcsv (no direct split of plain lines): the reference the fast path must agree
 * with.  Process-wide, like dm_csv_set_split_threshold.
 */
void dm_csv_set_test_reading(size_t chunk, bool libcsv_only);

/* Read two files at once on two threads.  0 with both filled, or -1 with err set (the
 * reference's error first) and both outputs untouched. */
int dm_csv_read_pair(const char *ref_path, const char *cur_path, const dm_csv_options *opt,
                     dm_dataset *ref, dm_dataset *cur, char *err, size_t errlen);

/*
 * The current file of a comparison read by column groups (issue 20, docs/SCALE.md): one
 * parse; once the rows can be estimated (after 4,096 rows or 16 MiB), the raw numeric columns
 * are put in groups of as many as fit `budget` (the finish's scratch and the array of ones,
 * 40 B a row, and the text columns' tables of strings, estimated from the rows so far
 * (dm_builder_text_bytes), taken first; then 16 B a row per column: its distinct values and counts
 * once finished), in the reference's column order; group 0 stays in memory, the columns of groups g
 * > 0 write their parsed values (the exact 8 bytes) to a spill file in spill_dir (spill.h; the free
 * space checked first).  Text columns and the score column stay in memory.  *out holds every column
 * (text finished; numbers without values) and *groups the loader (dm_csv_groups_loader) that reads
 * each group's values back and finishes them.  The two-reader halves, and a column that turns to
 * text after numbers (read again), work as in dm_csv_read.  0, or -1 with err set (an error of the
 * spill directory names it).
 */
typedef struct {
    uint64_t budget;          /* bytes for the current file's values and the finish */
    const dm_dataset *order;  /* the reference: its column order (NULL: the file's) */
    const char *score_column; /* kept in memory, or NULL */
    const char *spill_dir;
    size_t per_group; /* 0: from budget; else this many raw columns to a group (tests) */
    /* every numeric column raw from the start, never (value, count) pairs, so that every one
     * is spilled (tests: dm_builder_raw_numbers; the reports are the same either way) */
    bool raw_numbers;
} dm_csv_group_options;

typedef struct dm_csv_groups dm_csv_groups;
int dm_csv_read_groups(const char *path, const dm_csv_options *opt,
                       const dm_csv_group_options *gopt, dm_dataset *out, dm_csv_groups **groups,
                       char *err, size_t errlen);
/* The loader of the groups (it points into g: keep g alive while it is used). */
void dm_csv_groups_loader(dm_csv_groups *g, dm_group_loader *ld);
size_t dm_csv_groups_count(const dm_csv_groups *g);
size_t dm_csv_groups_per_group(const dm_csv_groups *g);
/* The plan's estimate of the bytes the text columns hold once read (their tables of
 * distinct strings, which stay in memory), taken from the budget before the groups. */
uint64_t dm_csv_groups_text_bytes(const dm_csv_groups *g);
/* Free g, its spill files (gone with it) and what the builder still holds. */
void dm_csv_groups_free(dm_csv_groups *g);

#endif

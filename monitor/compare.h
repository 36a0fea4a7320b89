/*
 * compare.h - compare a current dataset with a reference, column by column.
 *
 * Shared by `driftmon compare` (CSV / profile files) and `driftmon check` (PostgreSQL).
 * Column rules (DESIGN.md sections 1 and 3), in the order of the reference's columns:
 *   - excluded columns (config columns.exclude) are left out silently;
 *   - a column absent from one side, or with no value on one side, goes to skipped_columns
 *     with the reason, never into the share;
 *   - the type is forced by columns.numeric / columns.categorical, else taken from the
 *     reference (every value a number: numeric; otherwise categorical), as Evidently's legacy
 *     preset takes dtypes from the reference frame;
 *   - a numeric column with text in the current data is skipped with the first such value;
 *   - a categorical column compares text with text: a side whose values all parse as numbers
 *     must then be re-read as text (dm_compare_text_needed() tells the loader which); a
 *     categorical column that is numbers on both sides compares numbers (pandas' behaviour);
 *   - a test that cannot apply (ks, wasserstein, ed on text) skips the column with the reason.
 */
#ifndef DRIFTMON_COMPARE_H
#define DRIFTMON_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "reports/report.h"

/*
 * Which columns of `side` (the reference when is_ref, else the current) are stored as numbers
 * but must be compared as text.  Sets flags[i] for column i of side (array of side->ncols);
 * returns how many.
 */
size_t dm_compare_text_needed(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                              bool is_ref, bool *flags);

/* Turn a numeric column into a text column (shortest round-trip spelling of each value);
 * for sides that cannot be re-read (profiles, stored references).  0 or -1 (out of memory). */
int dm_column_numbers_to_text(dm_column *c);

typedef struct {
    rpt_column *cols;
    size_t ncols;
    rpt_skipped *skipped;
    size_t nskipped;
    stats_verdict verdict;
    /* owned storage behind cols[i].data / cat_labels and skipped reasons */
    stats_column *data;
    const char ***labels;
    uint64_t **aligned;
    char **reasons;
    char **plots; /* cols[i].plot */
} dm_comparison;

/* Run the comparison.  0, or -1 with err naming the column at fault (input error: exit 2)
 * or out of memory.  The comparison points into ref and cur: keep them alive. */
int dm_compare_run(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                   dm_comparison *out, char *err, size_t errlen);
void dm_comparison_release(dm_comparison *c);

/* Add one more skipped column, or give a column already skipped this reason instead (copies
 * name and reason).  0 or -1 (out of memory). */
int dm_comparison_add_skipped(dm_comparison *c, const char *name, const char *reason);

/* Fill the parts of an rpt_run that come from the comparison (columns, skipped, verdict,
 * drift_share, retrain fraction, sources and row counts). */
void dm_comparison_to_run(const dm_comparison *c, const dm_config *cfg, const dm_dataset *ref,
                          const dm_dataset *cur, rpt_run *run);

#endif

/*
 * compare.h - compare a current dataset with a reference, column by column.
 *
 * Shared by `driftmon compare` (CSV / profile files) and `driftmon check` (PostgreSQL), after
 * the type rules have paired the columns (monitor/reconcile.h): the pairs come in the
 * reference's column order; a skipped pair is listed in skipped_columns with its reason,
 * never in the share; the others are tested with the test the config or the default rule
 * picks, and a test that cannot apply (ks, wasserstein, ed on text) skips the column with
 * the reason.  Categories of a column that is numbers on one side and text on the other
 * are the two lists side by side (no category matches), and its result carries the
 * pair's note.
 */
#ifndef DRIFTMON_COMPARE_H
#define DRIFTMON_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/importance.h"
#include "monitor/reconcile.h"
#include "reports/report.h"

/* The most threads the tests of a comparison run on (one per core up to this); each holds one
 * reference column at a time. */
#define DM_COMPARE_WORKERS 4

typedef struct {
    stats_column_result *cols;
    size_t ncols;
    stats_skipped_column *skipped;
    size_t nskipped;
    stats_verdict verdict;
    /* owned storage behind cols[i].data / cat_labels and skipped reasons */
    stats_column *data;
    const char ***labels;
    uint64_t **aligned;
    char **reasons;
    char **plots; /* plots[i]: cols[i]'s SVG, drawn with its test (rpt_run.plots) */

    /* the model (issue 17); the figures the retrain rule read are in verdict
     * (importance_weighted_share, score_psi, retrain_reasons) */
    const char *score_column; /* model.score_column, or NULL: nothing below about the score */
    stats_side score_ref, score_cur; /* the score's rows, missing (NaN) and non-finite scores */
    bool has_score_drift;            /* false: a side has no score (score_note says which) */
    stats_score_drift score;
    const char *score_note; /* static, or NULL */
    double decision_threshold;
    /* importances: importance_sha256 NULL when the comparison had none */
    const char *importance_sha256;
    const char *weighted_note; /* why verdict.importance_weighted_share is NaN, or NULL */
    /* the columns the importances name that were not tested, in the file's order (owned);
     * n_unknown of them are columns of neither dataset */
    stats_untested_importance *untested;
    char **untested_text; /* owned storage behind untested[i].name and .reason */
    size_t nuntested, n_unknown;

    /* the outcomes (issue 21, monitor/outcome.h): has_perf when the evaluation is
     * configured; each side's figures when perf_*_ok, else perf_*_note says why (static);
     * verdict.cost_increase = cur / ref - 1 (NaN unless both sides have figures) */
    bool has_perf;
    bool perf_ref_ok, perf_cur_ok;
    stats_perf perf_ref, perf_cur;
    const char *perf_ref_note, *perf_cur_note;
    /* strings a loaded work unit brought (its columns' and the outcomes' notes: owned) */
    char **texts;
    size_t ntexts;
    /* while the comparison is built (dm_compare_begin .. dm_compare_finish): its state;
     * the arrays data, labels, aligned and plots have nslots entries */
    struct dm_compare_work *work;
    size_t nslots;
} dm_comparison;

/* dm_compare_run's return when the data are bad input (a label that is not 0 or 1): err
 * names the source, line, column and value. */
#define DM_COMPARE_BAD_INPUT (-3)

/* dm_compare_run's return when no column could be tested (every one skipped: all missing on
 * one side, absent, a test that cannot apply): an error of the run for every command, never
 * a report of "0 of 0 columns drifted".  err names the sources and the skipped columns'
 * reasons (the first few). */
#define DM_COMPARE_NONE_TESTED (-2)

/* Run the comparison of the pairs dm_reconcile() made of ref and cur, with the model's
 * importances imp (NULL: none): each tested column's importance, the importance-weighted
 * share, the score's drift when pairs has a score column, and the verdict of every retrain
 * condition the config sets.  With plots, each tested column's plot is drawn with its test
 * (plots[i], for the HTML report); without, plots[i] is NULL (no HTML report is wanted: a
 * plot costs about 2 KB per column until the run is done).  0; -1 with err set (out of
 * memory); DM_COMPARE_NONE_TESTED with err set, *out untouched.  The comparison points into
 * cfg, ref, cur, pairs and imp: keep them alive. */
int dm_compare_run(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                   const dm_dataset *cur, const dm_reconciled *pairs, bool plots,
                   dm_comparison *out, char *err, size_t errlen);
void dm_comparison_release(dm_comparison *c);

/* The reference's figures from elsewhere than its rows (a stored reference's, computed when
 * it was loaded): set them and decide the cost condition again. */
void dm_comparison_set_ref_perf(dm_comparison *c, const dm_config *cfg, const stats_perf *ref);

/*
 * The same comparison built one group of columns at a time, for a current dataset whose
 * numeric columns are not all in memory at once (issue 20):
 *   dm_compare_begin   once, with the pairs dm_reconcile() made (cur's columns may still
 *                      lack their values: dm_reconcile needs each column's storage and
 *                      counts only);
 *   dm_compare_group   for each group: cols[0..n) are indexes of cur's columns whose values
 *                      are loaded now; every pair whose current side is one of them is
 *                      tested (and the score's drift computed when the score column is
 *                      one of them).  The results keep no pointer into the numeric arrays
 *                      of either side (the plot and the unseen categories are made here),
 *                      so the caller may release the group's values afterwards; text
 *                      columns (their labels) must stay until the comparison is released;
 *   dm_compare_finish  once: the results in the reference's column order, the skipped
 *                      list, the importances, the verdict; DM_COMPARE_NONE_TESTED as
 *                      dm_compare_run.  A pair whose column was in no group is an error.
 * dm_compare_run is begin, one group of every column, finish.  On error each call releases
 * *out.  The same pointers as dm_compare_run's must stay alive.
 */
int dm_compare_begin(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                     const dm_dataset *cur, const dm_reconciled *pairs, bool plots,
                     dm_comparison *out, char *err, size_t errlen);
int dm_compare_group(dm_comparison *c, const size_t *cols, size_t ncols, char *err, size_t errlen);
int dm_compare_finish(dm_comparison *c, char *err, size_t errlen);

/*
 * A group's results as a work unit (issue 20: one window over several daemons): what
 * dm_compare_group produced for cur's columns cols[0..ncols) -- every pair whose current
 * side is one of them (tested: its result, categories and plot; not tested: why; skipped:
 * why), the score's drift when the score column is one of them, and the outcomes' figures
 * (monitor/outcome.h, both sides, as dm_compare_begin evaluated them) when the label column
 * is one of them -- as a self-contained byte string: little-endian, versioned, with the
 * digests of the configuration (the drift options, columns.*, the plots), of the reference
 * (digest, rows, columns and their counts) and of the pairing (the current's columns and
 * rows, each pair's name and columns) it was made under, and a SHA-256 of the whole.
 * Doubles keep their bits.  Call it after dm_compare_group for those columns, before
 * dm_compare_finish.  0 with *out (malloc'ed) and *len; -1 with err (a pair of the columns
 * not compared yet, the comparison finished, out of memory).  c is unchanged.
 */
int dm_compare_group_save(const dm_comparison *c, const size_t *cols, size_t ncols,
                          unsigned char **out, size_t *len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Put a work unit's results into c, a comparison that dm_compare_begin made (in this or
 * another process) with the same configuration, reference and pairing, as if dm_compare_group
 * had run there for the unit's columns: then dm_compare_finish as usual.  c's own pairs may
 * be those made before the unit's columns were read (monitor/reconcile.h,
 * dm_reconcile_update): the unit says which of its pairs turned out skipped and carries the
 * pairs' notes.  Text: the loaded categories' labels are c's own copies.  -1 with err naming
 * what is wrong -- not a work unit, another format version, truncated, corrupted (checksum),
 * made under another configuration, reference or pairing, a value out of its range, a
 * column already compared in c, out of memory -- and c unchanged.
 */
int dm_compare_group_load(dm_comparison *c, const unsigned char *buf, size_t len, char *err,
                          size_t errlen) __attribute__((warn_unused_result));

/* The comparison of ref with cur, cur's groups loaded, compared and released in turn by ld
 * (dataset.h: dm_group_loader): the same results as dm_compare_run on the whole of cur. */
int dm_compare_groups(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                      dm_dataset *cur, const dm_reconciled *pairs, const dm_group_loader *ld,
                      bool plots, dm_comparison *out, char *err, size_t errlen);

/* Add one more skipped column, or give a column already skipped this reason instead (copies
 * name and reason).  0 or -1 (out of memory). */
int dm_comparison_add_skipped(dm_comparison *c, const char *name, const char *reason);

/* Fill the parts of an rpt_run that come from the comparison (columns, skipped, verdict,
 * drift_share, the retrain rule, the model's figures, sources and row counts). */
void dm_comparison_to_run(const dm_comparison *c, const dm_config *cfg, const dm_dataset *ref,
                          const dm_dataset *cur, rpt_run *run);

#endif

/*
 * outcome.h - the model's realised performance on rows whose outcome is known (issue 21).
 *
 * With model.label_column, model.score_column and model.decision_threshold configured, a
 * dataset whose loader kept those two columns row by row (dm_builder_keep_rows: the CSV
 * reader and the table reader both do when asked, dm_outcome_columns) is evaluated with
 * stats_perf_eval: the confusion counts at the decision threshold, AUC, recall, precision,
 * the business cost (model.cost) and the optimal threshold.  The label is the outcome, not
 * a feature: it makes no drift pair (monitor/reconcile.h), as the score does not; its shift
 * (the default rate) is read from the figures ((tp + fn) / rows on each side).
 */
#ifndef DRIFTMON_OUTCOME_H
#define DRIFTMON_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "stats/stats.h"

/* Is the evaluation configured (label, score and decision threshold)? */
bool dm_outcome_configured(const dm_config *cfg);

/* The columns a loader keeps row by row for the evaluation: names[0..2) = score, label;
 * returns how many (0 when the evaluation is not configured). */
size_t dm_outcome_columns(const dm_config *cfg, const char *names[2]);

/*
 * Evaluate ds.  1 with *out set; 0 when ds cannot be evaluated, *why saying why (static:
 * the label column is absent, or the rows were not kept, as in a saved profile); -1 on bad
 * input, with one line in err naming the source, the line (a table's row), the label column
 * and the value that is not 0 or 1; -2 out of memory (err set).
 */
int dm_outcome_eval(const dm_config *cfg, const dm_dataset *ds, stats_perf *out, const char **why,
                    char *err, size_t errlen);

#endif

/*
 * perfcohort.h - the realised performance of the runs' cohorts, for `driftmon serve`
 * (issue 21; sql/015_performance.sql).
 *
 * A cohort is the rows of one run of a monitor whose model.label_column (and score_column)
 * is set: a batch's rows or a window's, read by the run's own condition (dm_run_where).
 * It is due when model.label_delay has passed since its run finished and its labels are
 * filled:
 *   - filled: every row with a score has a label; or, once another label_delay has passed
 *     (twice the delay since the run), the labels there are, the rows still without one
 *     left out and counted (left_out) with those without a score;
 *   - a cohort without any label is never due (nothing to evaluate).
 * A monitor's delayed cohorts are looked at every label_delay / 20, at most every --poll:
 * each in a transaction of its own (REPEATABLE READ) that reads its score and label columns
 * once, each row's term of the labels' digest computed by the server (sql/014); the rows
 * without a label and the labels' count and digest decide: when the cohort is due and they
 * differ from its latest evaluation's (or it has none), the figures are computed from the
 * same rows (stats_perf_eval), compared with the reference's (the run's reference version)
 * and appended with driftmon.record_performance in that transaction: figures and digest are
 * of one snapshot, and a re-evaluation is a new row.
 * In that transaction too, the run's report is written again with the evaluation's figures
 * (monitor/perfreport.h); the evaluation commits even when that fails.
 * Retraining is flagged with reason "cost" when retrain.cost_increase is set and the cohort's
 * business cost exceeds the reference's by more than that fraction (the alert goes through
 * driftmon.performance_outbox, delivered by the retrain hook's deliverer, monitor/outbox.c).
 */
#ifndef DRIFTMON_PERFCOHORT_H
#define DRIFTMON_PERFCOHORT_H

#include <stdbool.h>

#include "monitor/outbox.h"
#include "monitor/serve_internal.h"

/* Does monitor configuration c evaluate its cohorts (label_column, score_column and
 * label_delay set)? */
bool dm_perf_enabled(const dm_config *c);

/* One sweep over every monitor's delayed cohorts on s->conn: the due ones evaluated and
 * recorded, each in its own transaction (dl woken when one flags retraining).  Problems of
 * one cohort (a label that is not 0 or 1, a column the table lacks) are logged and that
 * cohort is left for the next sweep.  0, or -1 when the connection was lost (dropped and
 * logged). */
int dm_perf_sweep(serve_state *s, dm_deliverer *dl);

#endif

/*
 * history.h - the reports directory's pages: index.html (every run, newest first) and one
 * history page per reference (per column, its score over the runs with its threshold, drifted
 * runs marked).  Pure: the caller (monitor/reportdir.c) fills plain arrays from the database.
 *
 * The pages hold no time of their own: rendered twice from the same rows they are the same
 * bytes.  Every data-derived string (reference and column names, batch ids, links) goes
 * through rpt_buf_put_html(); links are relative file names the caller builds.
 */
#ifndef DRIFTMON_REPORTS_HISTORY_H
#define DRIFTMON_REPORTS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/svg.h"

typedef struct {
    int64_t run_id;
    const char *finished_at; /* shown as given */
    const char *target;      /* "batch b1", "window [a, b)" */
    const char *reference;   /* reference name */
    size_t ncols, ndrifted;
    double share; /* NaN when no column was tested */
    bool dataset_drift, retrain;
    const char *report_href; /* relative link to the run's HTML report, or NULL */
    /* the model's figures (issue 17); NaN when the run has none (no importances, no score
     * column, recorded before them, or a retrain condition not configured) */
    double weighted_share, score_psi;
    double retrain_fraction, retrain_weighted_fraction, retrain_score_psi;
    /* the realised performance of the run's cohort (issue 21), its latest evaluation: when
     * has_perf; each figure NaN when undefined (an AUC of one class, no reference figures;
     * an optimal threshold of +inf, refuse nobody, is drawn as a gap) */
    bool has_perf;
    double perf_cost, perf_ref_cost, perf_auc, perf_ref_auc, perf_opt, perf_thr;
    /* relative link to the run's report re-rendered with its cohort's latest evaluation
     * (issue 21), or NULL; the index shows it beside the run's */
    const char *perf_report_href;
} rpt_run_entry;

typedef struct {
    const char *text;
    const char *href;
} rpt_link;

typedef struct {
    const char *name; /* column name */
    const char *test; /* the test of its latest run (Evidently id) */
    rpt_series s;     /* x = position in the page's runs array */
} rpt_column_series;

/* index.html: runs in the order given (the caller passes newest first), links to the history
 * pages.  Malloc'ed string, NULL on out of memory. */
char *rpt_index_render(const rpt_run_entry *runs, size_t nruns, const rpt_link *pages,
                       size_t npages);

/* history page of one reference: runs oldest first (the x axis); above the columns, the
 * run-level charts (rpt_svg_run_shares, and rpt_svg_run_psi when a run has a score PSI);
 * then, when a run has an evaluation of its cohort (has_perf), the realised performance's
 * charts (rpt_svg_run_figure: business cost and AUC with the reference's, the optimal
 * threshold with the configured one); then one row and one chart per column in the order given;
 * total_runs > nruns: the page shows the last nruns of total_runs and says so.  Malloc'ed string,
 * NULL on out of memory. */
char *rpt_history_render(const char *reference, const rpt_run_entry *runs, size_t nruns,
                         size_t total_runs, const rpt_column_series *cols, size_t ncols);

#endif

/*
 * report.h - the drift report model and its renderers (JSON, HTML).
 *
 * Layer rules: reports/ includes stats/ only, never logs, never exits, writes no file: it
 * renders documents into memory, and the caller (monitor/) stores them
 * (monitor/fsutil.h).
 *
 * Everything a report shows comes from the rpt_run the caller fills; the renderers only
 * read it.  Strings from data (column names, category values) are untrusted: the JSON
 * renderer emits valid UTF-8 only (invalid bytes become U+FFFD), the HTML renderer passes
 * every such string through rpt_html_escape().
 */
#ifndef DRIFTMON_REPORT_H
#define DRIFTMON_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

/* The evaluation of a run's cohort a re-rendered report carries (issue 21: the run's report
 * once its outcomes are known; sql/015_performance.sql). */
typedef struct {
    int64_t id;               /* driftmon.performance id */
    const char *evaluated_at; /* as the database gives it */
    int64_t supersedes;       /* the evaluation it replaces; 0: the first */
    bool retrain_flagged;     /* the evaluation flagged retraining, reason "cost" */
} rpt_perf_evaluation;

typedef struct {
    const char *version;      /* driftmon version */
    const char *generated_at; /* ISO-8601 UTC */
    /* the monitor's name (issue 19), or NULL: the single-monitor form's reports leave it out */
    const char *monitor;
    const char *ref_source;
    const char *ref_name; /* stored reference name@version, or NULL */
    uint64_t ref_rows;
    const char *ref_sha256; /* hex, may be "" */
    const char *cur_source;
    const char *cur_span; /* "first .. last" timestamp of the current rows, or NULL */
    uint64_t cur_rows;
    const stats_column_result *cols;
    size_t ncols;
    /* plots[i]: the SVG of cols[i] already rendered by rpt_svg_column() ("" when there is
     * none), or NULL (or plots NULL) to render it from cols[i].data when the HTML is written */
    const char *const *plots;
    const stats_skipped_column *skipped;
    size_t nskipped;
    double drift_share;
    double retrain_fraction;
    stats_verdict verdict;
    /* the effective drift options as a JSON object text (echoed into both reports) */
    const char *settings_json;

    /* the model (issue 17).  The figures the retrain rule read are in verdict
     * (importance_weighted_share, score_psi, retrain_reasons). */
    double retrain_weighted_fraction; /* NaN: the condition is not configured */
    double retrain_score_psi;         /* NaN: the condition is not configured */
    const char *importance_sha256;    /* NULL: the run had no importances */
    const char *weighted_note;        /* why the weighted share is null, or NULL */
    /* the columns the importances name that were not tested, and why */
    const stats_untested_importance *untested;
    size_t nuntested;
    const char *score_column;       /* NULL: no score column (prediction_drift null) */
    const stats_score_drift *score; /* NULL: no PSI (score_note says why) */
    stats_side score_ref, score_cur;
    const char *score_note;
    double decision_threshold; /* NaN: not configured */
    /* the outcomes (issue 21): perf_label NULL when the evaluation is not configured (no
     * "performance" in the JSON, no panel); a side's figures NULL when it has none, its note
     * saying why; the cost increase is verdict.cost_increase */
    const char *perf_label;
    const stats_perf *perf_ref, *perf_cur;
    const char *perf_ref_note, *perf_cur_note;
    double cost_fn, cost_fp;
    double retrain_cost_increase; /* NaN: not configured (read only with perf_label) */
    /* the evaluation whose figures perf_cur holds (a report re-rendered once the cohort's
     * outcomes are known: rpt_*_replace_performance), or NULL (the figures of the run) */
    const rpt_perf_evaluation *perf_eval;
    /* hex sha256: the history's hash chain head after this run's column results (a stored
     * run; docs/AUDIT.md), or NULL (no database: left out of the JSON) */
    const char *chain_head;
} rpt_run;

/* The JSON report (DESIGN.md section 4) as a malloc'ed NUL-terminated string; NULL on
 * out of memory. */
char *rpt_json_render(const rpt_run *r);

/* The HTML report as a malloc'ed NUL-terminated string; NULL on out of memory. */
char *rpt_html_render(const rpt_run *r);

/*
 * A run's report once its cohort is evaluated (issue 21): the stored document with its
 * performance section, and nothing else, rendered again from r (perf_label, the sides'
 * figures and notes, cost_fn, cost_fp, decision_threshold, verdict.cost_increase,
 * perf_eval).  The plots need distributions the database does not keep, so the document is
 * not rendered whole again: the rest of it stays byte for byte as it was.
 *
 * HTML: rpt_html_render writes the performance panel between the lines RPT_HTML_PERF_BEGIN
 * and RPT_HTML_PERF_END (only when perf_label is set); no data can write "<!--" (every data
 * string is escaped), so the markers found once each, in order, delimit the panel.
 * JSON: rpt_json_render prints the tree with cJSON_Print, a top-level key as newline, one
 * tab, the key; a string never holds a raw newline or tab, so "\n\t\"performance\":\t{"
 * found once, up to the next "\n\t}", is the performance object, which is replaced by the
 * one add_performance writes for r.  The result is then parsed and checked: every other
 * top-level member equal to the document's, "performance" equal to r's.
 *
 * 0 with *out (malloc'ed); 1 when doc has no such section or is not in the renderer's form
 * (a report written without the evaluation configured, or by another version); -1 out of
 * memory.
 */
#define RPT_HTML_PERF_BEGIN "<!-- driftmon:performance -->\n"
#define RPT_HTML_PERF_END "<!-- /driftmon:performance -->\n"
int rpt_html_replace_performance(const char *doc, const rpt_run *r, char **out);
int rpt_json_replace_performance(const char *doc, const rpt_run *r, char **out);

/* HTML-escape s (& < > " ' and control bytes; invalid UTF-8 becomes U+FFFD) into a
 * malloc'ed string; NULL on out of memory. */
char *rpt_html_escape(const char *s);
/* Copy of s with invalid UTF-8 sequences replaced by U+FFFD; NULL on out of memory. */
char *rpt_utf8_sanitize(const char *s);

/* A growable text buffer with a sticky out-of-memory flag (reports/util.c): append without
 * checking each call, test rpt_buf_failed() or rpt_buf_take()'s NULL once at the end. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: the content is incomplete */
} rpt_buf;

void rpt_buf_init(rpt_buf *b);
void rpt_buf_release(rpt_buf *b);
/* The content as a malloc'ed string, or NULL if an append failed (the buffer is released). */
char *rpt_buf_take(rpt_buf *b);
bool rpt_buf_failed(const rpt_buf *b);
void rpt_buf_put(rpt_buf *b, const void *data, size_t len);
void rpt_buf_puts(rpt_buf *b, const char *s);
void rpt_buf_printf(rpt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

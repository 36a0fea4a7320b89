/*
 * svg.h - the small inline SVG plots of the HTML reports (pure: no I/O, no logging).
 *
 * Two steps per plot, so the numbers can be tested apart from the drawing:
 *   build  - rpt_hist_build / rpt_catbars_build / rpt_catbars_from_num compute what is shown
 *            (shares per common bin, top categories plus "other");
 *   draw   - rpt_svg_hist / rpt_svg_catbars / rpt_svg_series append one <svg> element to an
 *            rpt_buf (html_internal.h).
 * rpt_svg_column() picks the plot for a report column.
 *
 * Colours (Okabe-Ito, readable with the common colour-vision deficiencies), and never colour
 * alone: the reference is a filled blue area (histograms) or the left bar of a pair; the
 * current sample an orange line (histograms) or the right bar; a drifted run in the history
 * charts a filled vermilion square, a run without drift a hollow blue circle; thresholds a
 * dashed grey line.  History charts put p-values on a -log10 scale (see rpt_series_y).
 *
 * Every string from data (column names, category labels) goes through rpt_buf_put_html().
 * No element carries an id, a script, an event attribute or a url(): an SVG can be pasted
 * into any page any number of times.
 */
#ifndef DRIFTMON_REPORTS_SVG_H
#define DRIFTMON_REPORTS_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/html_internal.h"
#include "stats/stats.h"

enum {
    RPT_SVG_W = 240,         /* width of a plot (px, also the viewBox width) */
    RPT_SVG_H = 72,          /* height of a plot */
    RPT_HIST_BINS = 24,      /* bins of a numeric histogram */
    RPT_HIST_MAXBINS = 64,   /* capacity of rpt_hist */
    RPT_CAT_TOP = 5,         /* categories shown by name; the rest are summed as "other" */
    RPT_NUM_AS_CAT_MAX = 12, /* numeric columns with at most this many distinct values (both
                                sides together) are drawn as paired bars, one per value */
};

/*
 * Common equal-width bins over [lo, hi] for two numeric samples, as shares of each side.
 * lo and hi are the pooled (ref + cur) values of 0-based rank floor(0.01 (n - 1)) and
 * n - 1 - floor(0.01 (n - 1)) in the sorted pooled sample (1 % trimmed each end, so one
 * outlier does not squash the plot); when they are equal, the pooled min and max.  Values
 * below lo count in the first bin, above hi in the last (clipped_lo / clipped_hi tell).
 * Bin i is [lo + i w, lo + (i + 1) w), w = (hi - lo) / nbins, the last bin closed; a single
 * pooled value gives one bin.
 */
typedef struct {
    size_t nbins;
    double lo, hi;
    bool clipped_lo, clipped_hi;
    double ref_share[RPT_HIST_MAXBINS];
    double cur_share[RPT_HIST_MAXBINS];
} rpt_hist;

/* 0, or -1 when a side is empty, nbins is 0 or > RPT_HIST_MAXBINS, or an argument is NULL. */
int rpt_hist_build(const stats_num *ref, const stats_num *cur, size_t nbins, rpt_hist *out);

/*
 * Paired bars: the RPT_CAT_TOP categories with the largest max(reference share, current
 * share) (ties: lower index first), in that order, then "other" summing the rest.  When there
 * are at most RPT_CAT_TOP + 1 categories, every category is shown, in index order (the
 * loaders sort categories by name, numbers ascending), and there is no "other".
 * Shares are count / sum of the side's counts (0 for an empty side).
 */
typedef struct {
    size_t n;                      /* bars (pairs) shown */
    size_t index[RPT_CAT_TOP + 1]; /* category index of bar i; SIZE_MAX for "other" */
    double value[RPT_CAT_TOP + 1]; /* for rpt_catbars_from_num: the numeric value */
    double ref_share[RPT_CAT_TOP + 1];
    double cur_share[RPT_CAT_TOP + 1];
    size_t n_other; /* categories summed into "other" */
} rpt_catbars;

/* From aligned counts (stats_cat pairs).  0, or -1 on NULL arguments. */
int rpt_catbars_build(const uint64_t *ref_count, const uint64_t *cur_count, size_t ncat,
                      rpt_catbars *out);
/* From two numeric samples taken as categories (one per distinct value of the union, in
 * ascending order).  0, or -1 on NULL arguments or more than RPT_NUM_AS_CAT_MAX values. */
int rpt_catbars_from_num(const stats_num *ref, const stats_num *cur, rpt_catbars *out);
/* Distinct values of ref and cur together. */
size_t rpt_num_union_size(const stats_num *ref, const stats_num *cur);

/* Draw.  title (data, escaped) names the plot for screen readers and as a tooltip.
 * labels[i] names category i (may be NULL: numeric values are printed from value[]). */
void rpt_svg_hist(rpt_buf *b, const rpt_hist *h, const char *title);
void rpt_svg_catbars(rpt_buf *b, const rpt_catbars *c, const char *const *labels,
                     const char *title);

/* The plot of one report column: 0 when an <svg> was appended, 1 when the column has no data
 * to draw (nothing appended). */
int rpt_svg_column(rpt_buf *b, const stats_column *col, const char *const *labels,
                   const char *title);

/*
 * A score over runs (history pages): x = run position 0 .. nx - 1 (oldest first); points
 * with a NaN score are gaps.  The y axis is rpt_series_y(): the score itself for distances,
 * -log10(p) for p-value tests (p = 0 taken as 1e-300), so that on every chart "up" means
 * "more drift" and a drifted point lies on or above the threshold line.  It runs from 0 to
 * 1.15 x the largest y of the scores and thresholds (p-values: at least down to p = 0.01).
 */
double rpt_series_y(bool pvalue, double v);

typedef struct {
    size_t n;
    const size_t *x;
    const int64_t *run_id; /* for the tooltips; may be NULL */
    const double *score;
    const double *threshold;
    const bool *drifted;
    bool pvalue;
} rpt_series;

void rpt_svg_series(rpt_buf *b, const rpt_series *s, size_t nx, const char *title);

/*
 * The score panel (issue 17): the reference's and the current scores' shares in the ten
 * common decile bins of stats_score_drift (ref_count[i] / ref_n, cur_count[i] / cur_n), as
 * paired bars (reference left, blue; current right, vermilion), on a viewBox of
 * RPT_SCORE_W x RPT_SCORE_H with the plot area x 2 .. RPT_SCORE_W - 2, y 4 .. RPT_SCORE_H - 14;
 * bin i's group is (RPT_SCORE_W - 4) / 10 wide, its bars 0.36 of it starting 0.12 in; the
 * tallest share fills the height.  Each group's <title> names the bin's edges and shares.
 */
enum { RPT_SCORE_W = 320, RPT_SCORE_H = 110 };
void rpt_svg_score(rpt_buf *b, const stats_score_drift *s, const char *title);

/*
 * The drift-vs-importance chart (issue 17): one point per tested column with a score.
 *   x = the column's importance / the sum of the importances of the tested columns (a NaN
 *       importance weighs 0, as in the importance-weighted share);
 *   y = its drift relative to its threshold (rpt_drift_relative): 1 on the threshold, above
 *       1 drifted.
 * The "top" columns are the RPT_IMP_TOP largest positive importances (ties: table order)
 * that are also at least the average share, 1 / n (n the tested columns).
 */
enum {
    RPT_IMP_W = 480, /* viewBox; plot area x 34 .. 470, y 8 .. 176 */
    RPT_IMP_H = 200,
    RPT_IMP_TOP = 5,
};
#define RPT_IMP_YMAX 3.0 /* the y axis runs 0 .. 3 x the threshold; higher points sit on top */

/* Distance tests: score / threshold.  p-value tests: log(p) / log(threshold) (p = 0 taken as
 * 1e-300), the ratio on the -log10 scale of the history charts.  NaN when there is no score
 * or the threshold is not positive (p-value tests: not in (0, 1)). */
double rpt_drift_relative(const stats_column_result *c);

typedef struct {
    size_t index; /* into the results */
    double x, y;
    bool drifted;
    bool top;
} rpt_imp_point;

/* The points of cols[0..n) into out (room for n), in table order; *npoints set.  0, or -1
 * when the tested columns' importances sum to 0 or are not finite (no chart). */
int rpt_importance_points(const stats_column_result *cols, size_t n, rpt_imp_point *out,
                          size_t *npoints);

/* Draw: the threshold (y = 1) a dashed line; a drifted point a filled vermilion square, the
 * others a hollow blue circle; a top column ringed in black, and named (escaped, at most 18
 * code points) when it drifted.  x runs from 0 to xmax = the largest x (1 when none is
 * positive): px = 34 + x / xmax * 436, py = 176 - min(y, 3) / 3 * 168. */
void rpt_svg_importance(rpt_buf *b, const rpt_imp_point *p, size_t n,
                        const stats_column_result *cols, const char *title);

/*
 * Run-level figures over runs (history pages, issue 17) on a viewBox of RPT_RUNS_W x
 * RPT_RUNS_H, plot area x 34 .. 470, y 8 .. 122: run i of n (oldest first) at
 * px = 34 + i * 436 / (n - 1) (n = 1: 252), a value v at py = 122 - min(v, top) / top * 114.
 * A NaN value is a gap (no point; the line breaks there), never a zero.  A limit (per run, as
 * that run's configuration had it; NaN: none for that run) is a dashed segment across the
 * run's slot, half-way to each neighbour.  run_id may be NULL (no run in the tooltips).
 *
 * rpt_svg_run_shares: top = 1; the importance-weighted share a blue line with filled
 * circles, the drifted share a vermilion line with hollow squares; retrain.weighted_fraction
 * dashed blue ("6 3"), retrain.fraction dashed vermilion ("2 2").
 * rpt_svg_run_psi: top = max(0.3, 1.15 x the largest PSI or score_psi); the band edges 0.1
 * and 0.25 dashed grey, labelled "watch" and "act"; retrain.score_psi dashed vermilion
 * ("2 2"); the PSI a blue line with filled circles.  Axis labels (0, 0.1, 0.25, top) closer
 * than 9 px to the label below are left out.
 */
enum { RPT_RUNS_W = 480, RPT_RUNS_H = 140 };
double rpt_runs_x(size_t i, size_t n);
double rpt_runs_y(double v, double top);
double rpt_runs_psi_top(const double *psi, const double *score_psi, size_t n);
void rpt_svg_run_shares(rpt_buf *b, size_t n, const int64_t *run_id, const double *share,
                        const double *weighted, const double *fraction,
                        const double *weighted_fraction, const char *title);
void rpt_svg_run_psi(rpt_buf *b, size_t n, const int64_t *run_id, const double *psi,
                     const double *score_psi, const char *title);
/* A figure over runs with its yardstick (issue 21), on the same frame: top = max(floor,
 * 1.15 x the largest finite value of v and ref); v a blue line with filled circles named
 * `what` in the tooltips; ref, per run (NaN: none), a dashed vermilion ("6 3") segment. */
void rpt_svg_run_figure(rpt_buf *b, size_t n, const int64_t *run_id, const double *v,
                        const double *ref, double floor, const char *what, const char *title);

/*
 * The label of a bar: s cut to at most max_chars code points ("…" ending a cut string),
 * invalid UTF-8 sequences counted as one each (the escaper turns them into U+FFFD).
 * Returns a malloc'ed string, NULL on out of memory.  Not escaped.
 */
char *rpt_svg_shorten(const char *s, size_t max_chars);

#endif

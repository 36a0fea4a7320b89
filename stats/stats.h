/*
 * stats.h - pure drift statistics, computed exactly as Evidently 0.7.21 does.
 *
 * Layer rules (DESIGN.md section 2): this module includes nothing of the project,
 * does no I/O, never logs, never aborts, and allocates nothing behind the caller's
 * back.  Functions return STATS_OK or a negative status code (stats_strerror()).
 * Outputs are left untouched when a function fails.
 *
 * Every sample is handed over already "profiled": NaN, +inf, -inf and missing
 * values removed, and the rest compressed into distinct values with counts.
 *
 *   numeric column:      stats_num  = ascending distinct finite doubles + counts
 *   categorical column:  stats_cat  = counts over a category list the caller aligned
 *                        on both sides (index i is the same category in ref and cur;
 *                        a category absent from one side has count 0 there)
 *
 * A column can also be *numeric data treated as categories* (a numeric column with few
 * values, or a numeric column the user declared categorical): the tests then align the
 * two stats_num on the union of their values themselves.
 */
#ifndef DRIFTMON_STATS_H
#define DRIFTMON_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status codes ------------------------------------------------------------- */
enum {
    STATS_OK = 0,
    STATS_EINVAL = -1,   /* an argument is out of its domain (NULL, unsorted, ...) */
    STATS_EEMPTY = -2,   /* a sample has no values */
    STATS_ENOSPACE = -3, /* the caller's workspace is too small */
    STATS_ERANGE = -4,   /* a value range that cannot be binned (not finite) */
    STATS_ENOTSUP = -5,  /* this test does not apply to this kind of column */
    STATS_ENOMEM = -6,   /* out of memory (stats/names.h) */
};
const char *stats_strerror(int status);

/* ---- samples ------------------------------------------------------------------ */
typedef struct {
    const double *value;   /* ascending, distinct, finite; -0.0 and 0.0 are one value */
    const uint64_t *count; /* count[i] >= 1 */
    size_t n_distinct;
    uint64_t n; /* sum of counts */
    /* true when the sample came from a column of integers with no missing value at
     * all (pandas' int64 dtype); only used by the optional numpy>=2.1 bin-width rule */
    bool is_int;
    /* stats_num_moments() of this sample when already known (a stored reference's are
     * computed once, as it is loaded); false: computed when a test needs them */
    bool has_moments;
    double mean, std;
} stats_num;

/* Every count of s is 1 (its values are distinct): counts are >= 1 and add up to n, so this
 * holds exactly when n == n_distinct, and code that knows it need not read the counts. */
static inline bool stats_num_all_ones(const stats_num *s)
{
    return s->n == s->n_distinct;
}

typedef struct {
    const uint64_t *count; /* aligned with the other side's; zeros allowed */
    size_t n_categories;
    uint64_t n; /* sum of counts */
} stats_cat;

/* Column kinds as Evidently names them. */
typedef enum { STATS_NUM = 0, STATS_CAT = 1 } stats_kind;

/*
 * One column pair.  For kind STATS_NUM the num pair is used.  For kind STATS_CAT either
 * the cat pair is used (is_numeric_data false; cat_first is the index of the category
 * that sorts first, used by the z-test), or the num pair (is_numeric_data true: numbers
 * declared categorical; categories are the distinct values, the smallest sorts first).
 */
typedef struct {
    stats_kind kind;
    bool is_numeric_data;
    stats_num ref_num, cur_num;
    stats_cat ref_cat, cur_cat;
    size_t cat_first;
} stats_column;

/* ---- the tests ---------------------------------------------------------------- */
typedef enum {
    STATS_TEST_WASSERSTEIN = 0,
    STATS_TEST_JENSENSHANNON,
    STATS_TEST_KS,
    STATS_TEST_CHISQUARE,
    STATS_TEST_Z,
    STATS_TEST_PSI,
    STATS_TEST_KL_DIV,
    STATS_TEST_HELLINGER,
    STATS_TEST_ED,
    STATS_NTESTS
} stats_test;

const char *stats_test_name(stats_test t);    /* "wasserstein": Evidently's id */
const char *stats_test_display(stats_test t); /* "Wasserstein distance (normed)" */
/* STATS_OK and *out set, or STATS_EINVAL for an unknown name. */
int stats_test_from_name(const char *name, stats_test *out);
double stats_test_default_threshold(stats_test t); /* 0.1 for distances, 0.05 p-values */
bool stats_test_is_pvalue(stats_test t);           /* ks, chisquare, z */
/* Evidently's direction: distances drift when score >= threshold (ed: score > threshold);
 * ks when p <= threshold; chisquare and z when p < threshold.  A NaN score never drifts. */
bool stats_drifted(stats_test t, double score, double threshold);

typedef struct {
    /* numpy >= 2.1 forces a Sturges bin width >= 1 for integer arrays; Evidently's numbers
     * then depend on the numpy installed.  false = numpy < 2.1 (the default). */
    bool int_width_rule;
} stats_options;

/*
 * Workspace: most tests need scratch arrays (aligned counts, bin counts, shares).
 * stats_workspace_bytes() tells how many bytes test t needs on a column pair (0 for
 * wasserstein, ks and ed, which need none); the caller owns the buffer and may reuse it
 * across columns (one per thread).
 */
size_t stats_workspace_bytes(stats_test t, const stats_column *col, const stats_options *opt);

/*
 * Run test t on col.  On success *score is the drift score (a p-value for ks, chisquare and
 * z; NaN where Evidently's arithmetic gives NaN, e.g. a normed Wasserstein over a NaN std
 * cannot happen here since inputs are finite).  Errors: STATS_EEMPTY when either side has
 * no value, STATS_ENOSPACE when ws_bytes < stats_workspace_bytes(col), STATS_EINVAL.
 */
int stats_run_test(stats_test t, const stats_column *col, const stats_options *opt, void *ws,
                   size_t ws_bytes, double *score);

/* Evidently's _get_default_stattest: depends on the reference size (non-missing rows),
 * the kind, and the number of distinct values of reference and current together. */
stats_test stats_default_test(stats_kind kind, uint64_t ref_rows, size_t n_values);
/* Number of distinct values of ref and cur together (categories with a non-zero count),
 * counted up to cap + 1 at most (the default rule only asks "more than 5?"). */
size_t stats_n_values(const stats_column *col, size_t cap);

/* ---- building blocks, exposed for the tests and the reports --------------------- */

/* Population (ddof = 0) mean and standard deviation of a stats_num. */
int stats_num_moments(const stats_num *s, double *mean, double *std);
/* Exact 1-D Wasserstein-1 distance between two empirical distributions. */
int stats_wasserstein1(const stats_num *a, const stats_num *b, double *w1);

/*
 * numpy.histogram_bin_edges(pooled, bins="sturges") for a pooled sample of n values with
 * the given min and max: writes nbins + 1 edges to edges[0 .. cap-1] and sets *nbins.
 * STATS_ENOSPACE when cap < nbins + 1 (call with cap 0 to learn nbins).
 */
int stats_sturges_edges(double min, double max, uint64_t n, bool is_int, bool int_width_rule,
                        double *edges, size_t cap, size_t *nbins);
/* numpy.histogram counts of s over edges (last bin closed, outside values not counted). */
int stats_bin_counts(const stats_num *s, const double *edges, size_t nbins, uint64_t *counts);

/*
 * scipy.stats.ks_2samp(a, b, alternative="two-sided", method="auto") on profiled samples:
 * *d is the KS statistic, *p the p-value (exact path counting when max(n1, n2) <= 10000,
 * else kstwo.sf(D, round(n1*n2/(n1+n2)))).  Implemented in ks.c.
 */
int stats_ks_2samp(const stats_num *a, const stats_num *b, double *d, double *p);

/* kstwo.sf(x, n): survival function of the two-sided one-sample KS statistic
 * (Simard & L'Ecuyer, as scipy.stats._ksstats.kolmogn). */
double stats_kstwo_sf(double x, uint64_t n);

/* ---- sorting and profiling (pure; used by every loader) ------------------------- */

/*
 * Sort x[0..n-1] ascending in place (radix sort on the IEEE bit patterns; tmp is caller
 * scratch of n doubles).  Non-finite values must have been removed.
 */
void stats_sort_doubles(double *x, size_t n, double *tmp);

/*
 * Compress sorted finite x[0..n-1] into distinct values and counts (value[] and count[] of
 * capacity n, may alias x for value).  -0.0 is merged with 0.0 (stored as +0.0).
 * Returns the number of distinct values.
 */
size_t stats_compress_sorted(const double *x, size_t n, double *value, uint64_t *count);

/* ---- the result of a comparison -------------------------------------------------- */
/* What the comparison stage produces for each column pair and every consumer reads (the
 * reports, the history, the database).  Strings and data point into storage the producer
 * owns. */
typedef struct {
    uint64_t rows;      /* rows of the dataset */
    uint64_t missing;   /* empty / NA / NULL */
    uint64_t nonfinite; /* +-inf, dropped */
} stats_side;

typedef struct {
    const char *name;
    stats_kind kind;
    stats_test test;
    double threshold;
    double score; /* NaN when there is none */
    bool drifted;
    stats_side ref, cur;
    /* signals beside the test that Evidently does not give */
    size_t unseen_categories; /* categories in current absent from reference */
    double unseen_share;      /* share of current non-missing rows in those categories */
    /* what the reader should know about the column's types, e.g. numbers on one side and
     * text on the other, or NULL */
    const char *note;
    /* the samples the test read (may be NULL); cat_labels[i] names category i when the
     * column is categorical text (data->kind == STATS_CAT && !data->is_numeric_data) */
    const stats_column *data;
    const char *const *cat_labels;
    /* the model's importance of the column (issue 17): NaN when it has none */
    double importance;
} stats_column_result;

typedef struct {
    const char *name;
    const char *reason; /* "absent from current", "no data in reference", ... */
} stats_skipped_column;

/* ---- the model: its score and its feature importances (issue 17) ----------------- */

/* The score's PSI on the reference's deciles: edges[k] = numpy.quantile(ref, q_k) with
 * q = 0.1, 0.2, ..., 0.9 and numpy's default "linear" method (h = (n - 1) q, then
 * x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]) as numpy's _lerp computes it);
 * a value v falls in bin i = the number of edges strictly less than v, so the bins are
 * (-inf, q1], (q1, q2], ..., (q9, inf); a share of 0 counts as 0.0001; PSI = sum over the
 * bins of (a_i - e_i) ln(a_i / e_i), e the reference's shares and a the current's. */
#define STATS_SCORE_NEDGES 9
#define STATS_SCORE_NBINS 10

/* The credit-risk bands: PSI < 0.1 stable, 0.1 <= PSI < 0.25 watch, PSI >= 0.25 act. */
typedef enum { STATS_BAND_STABLE = 0, STATS_BAND_WATCH, STATS_BAND_ACT } stats_psi_band;
stats_psi_band stats_psi_band_of(double psi);
const char *stats_psi_band_name(stats_psi_band b); /* "stable", "watch", "act" */

/* numpy.quantile(x, q[k]) (method "linear") of the expanded sample s, for the nq
 * ascending q[k] in [0, 1].  STATS_EEMPTY when s has no value, STATS_EINVAL. */
int stats_quantiles(const stats_num *s, const double *q, size_t nq, double *out);

/* Share of s's values strictly below threshold (the approval rate: a score >= the decision
 * threshold is a refusal); NaN when s is empty or threshold is NaN. */
double stats_share_below(const stats_num *s, double threshold);

typedef struct {
    double edges[STATS_SCORE_NEDGES];      /* the reference's deciles */
    uint64_t ref_count[STATS_SCORE_NBINS]; /* scores per bin */
    uint64_t cur_count[STATS_SCORE_NBINS];
    uint64_t ref_n, cur_n; /* scores compared (the non-missing ones) */
    double psi;
    stats_psi_band band;
    double ref_approval, cur_approval; /* stats_share_below(., decision threshold) */
} stats_score_drift;

/* The score's drift between ref and cur (profiled: missing and non-finite scores already
 * dropped).  STATS_EEMPTY when a side has no score (*out untouched), STATS_EINVAL. */
int stats_score_drift_compute(const stats_num *ref, const stats_num *cur, double decision_threshold,
                              stats_score_drift *out);

/* Why an importance-weighted share is NaN (STATS_WEIGHTED_OK when it is a number). */
typedef enum {
    STATS_WEIGHTED_OK = 0,
    STATS_WEIGHTED_NO_COLUMN,   /* no column was tested */
    STATS_WEIGHTED_ZERO_WEIGHT, /* the tested columns' importances sum to 0 */
} stats_weighted_status;
const char *stats_weighted_status_text(stats_weighted_status s); /* NULL for OK */

/* The importance-weighted drifted share of n results: sum of cols[i].importance over the
 * drifted ones / sum over all of them, a NaN importance weighing 0.  *share is NaN and the
 * status says why when the denominator is 0. */
stats_weighted_status stats_weighted_share(const stats_column_result *cols, size_t n,
                                           double *share);

/* A column the importances name that was not tested, and why ("absent from current",
 * "excluded (columns.exclude)", ...). */
typedef struct {
    const char *name;
    double importance;
    const char *reason;
} stats_untested_importance;

/* ---- dataset verdict ------------------------------------------------------------ */
/* The conditions that flag retraining (stats_verdict.retrain_reasons), in report order. */
enum {
    STATS_RETRAIN_SHARE = 1u << 0, /* "share": drifted share > fraction */
    STATS_RETRAIN_WEIGHTED_SHARE = 1u
                                   << 1, /* "weighted_share": weighted share > weighted_fraction */
    STATS_RETRAIN_SCORE_PSI = 1u << 2,   /* "score_psi": score PSI >= score_psi */
    STATS_RETRAIN_COST = 1u << 3,        /* "cost": business cost increase > cost_increase */
    STATS_RETRAIN_NREASONS = 4
};
/* The name of reason bit i (0 .. STATS_RETRAIN_NREASONS - 1): "share", ... */
const char *stats_retrain_reason_name(unsigned i);

typedef struct {
    size_t number_of_columns; /* tested columns */
    size_t number_of_drifted_columns;
    double share_of_drifted_columns; /* NaN when no column was tested */
    bool dataset_drift;              /* share >= drift_share */
    bool retrain;                    /* any condition of the rule held (retrain_reasons) */
    /* the model's figures the rule read: NaN when there is none */
    double importance_weighted_share;
    double score_psi;
    unsigned retrain_reasons; /* STATS_RETRAIN_* bits */
    /* the business cost's increase over the reference's (stats_verdict_cost), NaN when
     * there is none */
    double cost_increase;
} stats_verdict;

/* The retrain rule: each condition holds only when configured (NaN = not configured) and its
 * figure is a number.  fraction is always configured. */
typedef struct {
    double drift_share;
    double fraction;          /* share > fraction */
    double weighted_fraction; /* importance-weighted share > weighted_fraction */
    double score_psi;         /* score PSI >= score_psi */
} stats_retrain_rule;

/* The verdict, the one place the rule lives: tested/drifted columns, the importance-weighted
 * share and the score's PSI (NaN when absent). */
void stats_verdict_decide(const stats_retrain_rule *rule, size_t tested, size_t drifted,
                          double weighted_share, double score_psi, stats_verdict *out);
/* The cost condition, added to a verdict once the outcomes are known (a cohort's labels
 * arrive long after its drift verdict): sets v->cost_increase and, when it is > limit (NaN
 * limit: not configured; a NaN increase never holds), the reason STATS_RETRAIN_COST and
 * v->retrain. */
void stats_verdict_cost(double cost_increase, double limit, stats_verdict *v);
/* The verdict without the model: stats_verdict_decide with the two figures NaN. */
void stats_dataset_verdict(size_t tested, size_t drifted, double drift_share,
                           double retrain_fraction, stats_verdict *out);

/* ---- the model's realised performance (issue 21) --------------------------------- */
/*
 * Rows with a label (1 = default, 0 = repaid) and a score; a row is predicted a default (the
 * loan refused) when score >= threshold.  auc: the Mann-Whitney statistic with average ranks
 * for ties (scikit-learn's roc_auc_score); business cost per row = (cost_fn * FN + cost_fp *
 * FP) / rows; optimal threshold: the smallest t among the distinct scores and +inf (refuse
 * nobody) minimising the business cost per row with "refuse when score >= t".
 */
typedef struct {
    uint64_t rows;     /* evaluated: a finite score and a label 0 or 1 */
    uint64_t left_out; /* a missing/non-finite score or a missing label */
    uint64_t tp, fp, tn, fn;
    double auc;               /* Mann-Whitney, average ranks for ties; NaN: one class or no rows */
    double recall, precision; /* NaN when the denominator is 0 */
    double business_cost;     /* (cost_fn*FN + cost_fp*FP) / rows; NaN when rows == 0 */
    double optimal_threshold; /* smallest t among distinct scores and +inf minimising
                                 the cost; +INFINITY = refuse nobody; NaN when rows==0 */
    double business_cost_at_optimal; /* NaN when rows == 0 */
} stats_perf;

/* The workspace stats_perf_eval needs for n rows (bytes). */
size_t stats_perf_workspace_bytes(size_t n);

/*
 * score[i] and label[i] for i < n: a NaN label is missing, a NaN or infinite score too (the
 * row is left out and counted); a label other than 0, 1 or NaN -> STATS_EINVAL (the caller
 * names the row), as are a NaN threshold and costs that are not finite numbers >= 0.  ws:
 * stats_perf_workspace_bytes(n) bytes.  O(n log n) (two radix sorts and one merge).  *out
 * is untouched on error.
 */
int stats_perf_eval(const double *score, const double *label, size_t n, double threshold,
                    double cost_fn, double cost_fp, void *ws, stats_perf *out);

/* cur->business_cost / ref->business_cost - 1; NaN when either is NaN or ref's is 0. */
double stats_perf_cost_increase(const stats_perf *ref, const stats_perf *cur);

#endif

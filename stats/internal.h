/*
 * internal.h - what the files of stats/ share (not part of the public API, stats.h).
 *
 * Every formula of stats/ follows ../shared/oracle/oracle.py (an independent re-implementation
 * of Evidently 0.7.21 verified against Evidently itself) operation by operation, so that the
 * floating-point results agree to ~1e-15 relative; stats/ is built with -ffp-contract=off.
 *
 * The scores: stats_run_test (run.c) plans and carves the workspace once, then calls the
 * test's function: continuous.c (wasserstein, ed) or categorical.c (the others).
 */
#ifndef DRIFTMON_STATS_INTERNAL_H
#define DRIFTMON_STATS_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

static inline bool test_valid(stats_test t)
{
    return (int)t >= 0 && t < STATS_NTESTS;
}

/* The column is compared as numbers: a numeric column, or numbers declared categorical. */
static inline bool uses_num(const stats_column *c)
{
    return c->kind == STATS_NUM || c->is_numeric_data;
}

/* Size of the union of two sorted distinct value lists. */
static inline size_t union_size(const stats_num *a, const stats_num *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n_distinct || j < b->n_distinct) {
        if (j >= b->n_distinct || (i < a->n_distinct && a->value[i] < b->value[j]))
            i++;
        else if (i >= a->n_distinct || b->value[j] < a->value[i])
            j++;
        else
            i++, j++;
        k++;
    }
    return k;
}

static inline double num_min(const stats_num *a, const stats_num *b)
{
    return fmin(a->value[0], b->value[0]);
}

static inline double num_max(const stats_num *a, const stats_num *b)
{
    return fmax(a->value[a->n_distinct - 1], b->value[b->n_distinct - 1]);
}

/* A test's scratch arrays, carved from the caller's workspace by stats_run_test (run.c). */
typedef struct {
    double *p, *q;     /* shares */
    uint64_t *cp, *cq; /* counts */
    double *edges;     /* max_bins + 1 */
    size_t len;        /* capacity of p, q, cp, cq */
} stats_workspace;

/* The scores, each exactly as Evidently computes it.  STATS_OK and *score set, or a status;
 * the column is non-empty on both sides (run.c checked it). */
int stats_score_wasserstein(const stats_column *c, double *score); /* continuous.c */
int stats_score_energy(const stats_column *c, double *score);
int stats_score_jensenshannon(const stats_column *c, const stats_options *opt, /* categorical.c */
                              stats_workspace *w, double *score);
int stats_score_psi(const stats_column *c, const stats_options *opt, stats_workspace *w,
                    double *score);
int stats_score_kl_div(const stats_column *c, const stats_options *opt, stats_workspace *w,
                       double *score);
int stats_score_chisquare(const stats_column *c, stats_workspace *w, double *score);
int stats_score_z(const stats_column *c, stats_workspace *w, double *score);
int stats_score_hellinger(const stats_column *c, const stats_options *opt, stats_workspace *w,
                          double *score);

#endif

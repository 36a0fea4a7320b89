/*
 * run.c - stats_run_test: the workspace planned and carved in one place, then the test's
 * score (continuous.c, categorical.c, ks.c).
 */
#include "stats/internal.h"

#include <math.h>

typedef struct {
    size_t n_union;  /* categories after alignment */
    size_t max_bins; /* largest number of bins any binning test can need */
} ws_plan;

static int plan_workspace(const stats_column *c, const stats_options *opt, ws_plan *p)
{
    p->n_union = 0;
    p->max_bins = 0;
    if (uses_num(c)) {
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        if (a->n == 0 || b->n == 0)
            return STATS_EEMPTY;
        p->n_union = union_size(a, b);
        if (c->kind == STATS_NUM) {
            bool wr = opt && opt->int_width_rule;
            bool is_int = a->is_int && b->is_int;
            size_t nb1 = 0, nb2 = 0;
            int rc = stats_sturges_edges(num_min(a, b), num_max(a, b), a->n + b->n, is_int, wr,
                                         NULL, 0, &nb1);
            if (rc != STATS_OK)
                return rc;
            rc = stats_sturges_edges(num_min(a, b), num_max(a, b), p->n_union, is_int, wr, NULL, 0,
                                     &nb2);
            if (rc != STATS_OK)
                return rc;
            p->max_bins = nb1 > nb2 ? nb1 : nb2;
        }
    } else {
        if (c->ref_cat.n_categories != c->cur_cat.n_categories)
            return STATS_EINVAL;
        if (c->ref_cat.n == 0 || c->cur_cat.n == 0)
            return STATS_EEMPTY;
        p->n_union = c->ref_cat.n_categories;
    }
    return STATS_OK;
}

/* Layout: two share vectors of max(n_union, max_bins) doubles, two count vectors of the same
 * length, and max_bins + 1 edges. */
static size_t plan_bytes(const ws_plan *p)
{
    size_t len = p->n_union > p->max_bins ? p->n_union : p->max_bins;
    return (4 * len + p->max_bins + 1) * sizeof(double) + 64;
}

static bool needs_workspace(stats_test t)
{
    return t != STATS_TEST_WASSERSTEIN && t != STATS_TEST_KS && t != STATS_TEST_ED;
}

size_t stats_workspace_bytes(stats_test t, const stats_column *col, const stats_options *opt)
{
    ws_plan p;
    if (!col || !needs_workspace(t) || plan_workspace(col, opt, &p) != STATS_OK)
        return 0;
    return plan_bytes(&p);
}

static int ws_carve(void *mem, size_t bytes, const ws_plan *plan, stats_workspace *w)
{
    if (!mem || bytes < plan_bytes(plan))
        return STATS_ENOSPACE;
    size_t len = plan->n_union > plan->max_bins ? plan->n_union : plan->max_bins;
    double *d = mem;
    w->p = d;
    w->q = d + len;
    w->cp = (uint64_t *)(void *)(d + 2 * len);
    w->cq = (uint64_t *)(void *)(d + 3 * len);
    w->edges = d + 4 * len;
    w->len = len;
    return STATS_OK;
}

int stats_run_test(stats_test t, const stats_column *col, const stats_options *opt, void *ws,
                   size_t ws_bytes, double *score)
{
    if (!col || !score || !test_valid(t))
        return STATS_EINVAL;
    /* The workspace is planned and carved in one place, for the tests that use one. */
    stats_workspace w;
    int rc;
    if (needs_workspace(t)) {
        ws_plan plan;
        rc = plan_workspace(col, opt, &plan);
        if (rc == STATS_OK)
            rc = ws_carve(ws, ws_bytes, &plan, &w);
        if (rc != STATS_OK)
            return rc;
    } else if (uses_num(col) && (col->ref_num.n == 0 || col->cur_num.n == 0)) {
        return STATS_EEMPTY;
    }
    double s = NAN;
    switch (t) {
    case STATS_TEST_WASSERSTEIN:
        rc = stats_score_wasserstein(col, &s);
        break;
    case STATS_TEST_ED:
        rc = stats_score_energy(col, &s);
        break;
    case STATS_TEST_KS: {
        if (!uses_num(col))
            return STATS_ENOTSUP;
        double d;
        rc = stats_ks_2samp(&col->ref_num, &col->cur_num, &d, &s);
        break;
    }
    default: /* the tests that use the workspace */
        switch (t) {
        case STATS_TEST_JENSENSHANNON:
            rc = stats_score_jensenshannon(col, opt, &w, &s);
            break;
        case STATS_TEST_PSI:
            rc = stats_score_psi(col, opt, &w, &s);
            break;
        case STATS_TEST_KL_DIV:
            rc = stats_score_kl_div(col, opt, &w, &s);
            break;
        case STATS_TEST_CHISQUARE:
            rc = stats_score_chisquare(col, &w, &s);
            break;
        case STATS_TEST_Z:
            rc = stats_score_z(col, &w, &s);
            break;
        case STATS_TEST_HELLINGER:
            rc = stats_score_hellinger(col, opt, &w, &s);
            break;
        default:
            rc = STATS_EINVAL;
        }
    }
    if (rc == STATS_OK)
        *score = s;
    return rc;
}

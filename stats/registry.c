/*
 * registry.c - the tests' names, default thresholds and drift directions, Evidently's default
 * selection of a test, and the dataset verdict.
 */
#include "stats/internal.h"

#include <math.h>
#include <string.h>

/* ---- names and directions -------------------------------------------------------- */

static const struct {
    const char *name;
    const char *display;
    double threshold;
    bool pvalue;
} TESTS[STATS_NTESTS] = {
    [STATS_TEST_WASSERSTEIN] = {"wasserstein", "Wasserstein distance (normed)", 0.1, false},
    [STATS_TEST_JENSENSHANNON] = {"jensenshannon", "Jensen-Shannon distance", 0.1, false},
    [STATS_TEST_KS] = {"ks", "K-S p_value", 0.05, true},
    [STATS_TEST_CHISQUARE] = {"chisquare", "chi-square p_value", 0.05, true},
    [STATS_TEST_Z] = {"z", "Z-test p_value", 0.05, true},
    [STATS_TEST_PSI] = {"psi", "PSI", 0.1, false},
    [STATS_TEST_KL_DIV] = {"kl_div", "Kullback-Leibler divergence", 0.1, false},
    [STATS_TEST_HELLINGER] = {"hellinger", "Hellinger distance", 0.1, false},
    [STATS_TEST_ED] = {"ed", "Energy-distance", 0.1, false},
};

const char *stats_strerror(int status)
{
    switch (status) {
    case STATS_OK:
        return "success";
    case STATS_EINVAL:
        return "invalid argument";
    case STATS_EEMPTY:
        return "no values to compare";
    case STATS_ENOSPACE:
        return "workspace too small";
    case STATS_ERANGE:
        return "value range is not finite";
    case STATS_ENOTSUP:
        return "test does not apply to this column";
    case STATS_ENOMEM:
        return "out of memory";
    default:
        return "unknown status";
    }
}

const char *stats_test_name(stats_test t)
{
    return test_valid(t) ? TESTS[t].name : "?";
}

const char *stats_test_display(stats_test t)
{
    return test_valid(t) ? TESTS[t].display : "?";
}

int stats_test_from_name(const char *name, stats_test *out)
{
    if (!name || !out)
        return STATS_EINVAL;
    for (int i = 0; i < STATS_NTESTS; i++) {
        if (strcmp(name, TESTS[i].name) == 0) {
            *out = (stats_test)i;
            return STATS_OK;
        }
    }
    return STATS_EINVAL;
}

double stats_test_default_threshold(stats_test t)
{
    return test_valid(t) ? TESTS[t].threshold : NAN;
}

bool stats_test_is_pvalue(stats_test t)
{
    return test_valid(t) && TESTS[t].pvalue;
}

bool stats_drifted(stats_test t, double score, double threshold)
{
    if (isnan(score))
        return false;
    switch (t) {
    case STATS_TEST_KS:
        return score <= threshold;
    case STATS_TEST_CHISQUARE:
    case STATS_TEST_Z:
        return score < threshold;
    case STATS_TEST_ED:
        return score > threshold;
    default:
        return score >= threshold;
    }
}

/* ---- selection ------------------------------------------------------------------- */

stats_test stats_default_test(stats_kind kind, uint64_t ref_rows, size_t n_values)
{
    if (ref_rows <= 1000) {
        if (kind == STATS_NUM && n_values > 5)
            return STATS_TEST_KS;
        return n_values > 2 ? STATS_TEST_CHISQUARE : STATS_TEST_Z;
    }
    if (kind == STATS_NUM && n_values > 5)
        return STATS_TEST_WASSERSTEIN;
    return STATS_TEST_JENSENSHANNON;
}

size_t stats_n_values(const stats_column *c, size_t cap)
{
    if (!c)
        return 0;
    size_t k = 0;
    if (uses_num(c)) {
        const stats_num *a = &c->ref_num, *b = &c->cur_num;
        if (a->n_distinct > cap || b->n_distinct > cap)
            return cap + 1;
        return union_size(a, b);
    }
    for (size_t i = 0; i < c->ref_cat.n_categories && k <= cap; i++)
        k += (c->ref_cat.count[i] + c->cur_cat.count[i]) > 0;
    return k;
}

/* ---- verdict ----------------------------------------------------------------------- */

static const char *const REASONS[STATS_RETRAIN_NREASONS] = {"share", "weighted_share", "score_psi",
                                                            "cost"};

const char *stats_retrain_reason_name(unsigned i)
{
    return i < STATS_RETRAIN_NREASONS ? REASONS[i] : "?";
}

void stats_verdict_decide(const stats_retrain_rule *rule, size_t tested, size_t drifted,
                          double weighted_share, double score_psi, stats_verdict *out)
{
    out->number_of_columns = tested;
    out->number_of_drifted_columns = drifted;
    out->share_of_drifted_columns = NAN;
    out->dataset_drift = false;
    out->importance_weighted_share = weighted_share;
    out->score_psi = score_psi;
    out->cost_increase = NAN;
    unsigned why = 0;
    if (tested > 0) {
        double share = (double)drifted / (double)tested;
        out->share_of_drifted_columns = share;
        out->dataset_drift = share >= rule->drift_share;
        if (share > rule->fraction)
            why |= STATS_RETRAIN_SHARE;
    }
    /* NaN compares false: an unconfigured condition, or a figure that is not there, never holds */
    if (weighted_share > rule->weighted_fraction)
        why |= STATS_RETRAIN_WEIGHTED_SHARE;
    if (score_psi >= rule->score_psi)
        why |= STATS_RETRAIN_SCORE_PSI;
    out->retrain_reasons = why;
    out->retrain = why != 0;
}

void stats_verdict_cost(double cost_increase, double limit, stats_verdict *v)
{
    v->cost_increase = cost_increase;
    if (cost_increase > limit) { /* NaN compares false */
        v->retrain_reasons |= STATS_RETRAIN_COST;
        v->retrain = true;
    }
}

void stats_dataset_verdict(size_t tested, size_t drifted, double drift_share,
                           double retrain_fraction, stats_verdict *out)
{
    stats_retrain_rule rule = {drift_share, retrain_fraction, NAN, NAN};
    stats_verdict_decide(&rule, tested, drifted, NAN, NAN, out);
}

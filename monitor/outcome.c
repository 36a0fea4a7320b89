/* outcome.c - the model's realised performance on a dataset's kept rows (see outcome.h). */
#include "monitor/outcome.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/numfmt.h"

bool dm_outcome_configured(const dm_config *cfg)
{
    return cfg->label_column && cfg->score_column && !isnan(cfg->decision_threshold);
}

size_t dm_outcome_columns(const dm_config *cfg, const char *names[2])
{
    if (!dm_outcome_configured(cfg))
        return 0;
    names[0] = cfg->score_column;
    names[1] = cfg->label_column;
    return 2;
}

/* "\"f.csv\", line 7" or "table t, row 7 in the order read" */
static void where(const dm_dataset *ds, uint64_t line, char *out, size_t len)
{
    const char *src = ds->source ? ds->source : "?";
    if (ds->table_rows)
        snprintf(out, len, "%s, row %llu in the order read", src, (unsigned long long)line);
    else
        snprintf(out, len, "\"%s\", line %llu", src, (unsigned long long)line);
}

static int bad_label(const dm_config *cfg, const dm_dataset *ds, uint64_t line, const char *value,
                     char *err, size_t errlen)
{
    char at[1024], cname[DM_SHOWN_LEN], shown[DM_SHOWN_LEN];
    where(ds, line, at, sizeof at);
    dm_show_value(cfg->label_column, strlen(cfg->label_column), cname, sizeof cname);
    dm_show_value(value, strlen(value), shown, sizeof shown);
    snprintf(err, errlen,
             "%s, label column \"%s\" (model.label_column): value \"%s\" is not 0 or 1 (1 = "
             "default)",
             at, cname, shown);
    return -1;
}

int dm_outcome_eval(const dm_config *cfg, const dm_dataset *ds, stats_perf *out, const char **why,
                    char *err, size_t errlen)
{
    *why = NULL;
    if (!dm_outcome_configured(cfg)) {
        *why = "not configured (model.label_column, model.score_column, "
               "model.decision_threshold)";
        return 0;
    }
    long j = dm_dataset_find(ds, cfg->label_column);
    if (j < 0) {
        *why = "the label column is absent";
        return 0;
    }
    const dm_column *lc = &ds->col[j];
    if (lc->storage == DM_STORE_STR && lc->first_text)
        return bad_label(cfg, ds, lc->first_text_line, lc->first_text, err, errlen);
    const dm_rows *score = dm_dataset_rows(ds, cfg->score_column);
    const dm_rows *label = dm_dataset_rows(ds, cfg->label_column);
    if (!score || !label || score->n != ds->rows || label->n != ds->rows) {
        *why = "no rows to evaluate (a saved profile keeps distributions only)";
        return 0;
    }
    for (uint64_t r = 0; r < label->n; r++) {
        double v = label->value[r];
        if (!isnan(v) && v != 0.0 && v != 1.0) {
            char num[STATS_DOUBLE_BUFLEN];
            return bad_label(cfg, ds, label->line[r], stats_format_double(v, num, sizeof num), err,
                             errlen);
        }
    }
    size_t n = (size_t)ds->rows;
    void *ws = malloc(stats_perf_workspace_bytes(n) + 1);
    if (!ws) {
        snprintf(err, errlen, "out of memory evaluating %s", ds->source ? ds->source : "?");
        return -2;
    }
    int rc = stats_perf_eval(score->value, label->value, n, cfg->decision_threshold, cfg->cost_fn,
                             cfg->cost_fp, ws, out);
    free(ws);
    if (rc != STATS_OK) {
        snprintf(err, errlen, "could not evaluate %s: %s", ds->source ? ds->source : "?",
                 stats_strerror(rc));
        return -1;
    }
    return 1;
}

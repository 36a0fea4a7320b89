/* perfstore.c - a reference version's performance figures in PostgreSQL (see perfstore.h). */
#include "monitor/perfstore.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db.h"
#include "stats/numfmt.h"

/* A figure as a parameter: NULL when not defined, "Infinity" for +inf (float8 reads it). */
static const char *param(double d, char *buf, size_t len)
{
    if (isnan(d))
        return NULL;
    if (isinf(d))
        return d > 0 ? "Infinity" : "-Infinity";
    return stats_format_double(d, buf, len);
}

int dm_perfstore_put(PGconn *conn, const char *id, const dm_refperf *p, char *err, size_t errlen)
{
    char num[12][STATS_DOUBLE_BUFLEN], cnt[6][24];
    const stats_perf *f = &p->perf;
    const uint64_t counts[6] = {f->rows, f->left_out, f->tp, f->fp, f->tn, f->fn};
    for (int i = 0; i < 6; i++)
        snprintf(cnt[i], sizeof cnt[i], "%" PRIu64, counts[i]);
    const char *v[18] = {id,
                         p->label_column,
                         p->score_column,
                         param(p->decision_threshold, num[0], sizeof num[0]),
                         param(p->cost_fn, num[1], sizeof num[1]),
                         param(p->cost_fp, num[2], sizeof num[2]),
                         cnt[0],
                         cnt[1],
                         cnt[2],
                         cnt[3],
                         cnt[4],
                         cnt[5],
                         param(f->auc, num[3], sizeof num[3]),
                         param(f->recall, num[4], sizeof num[4]),
                         param(f->precision, num[5], sizeof num[5]),
                         param(f->business_cost, num[6], sizeof num[6]),
                         param(f->optimal_threshold, num[7], sizeof num[7]),
                         param(f->business_cost_at_optimal, num[8], sizeof num[8])};
    PGresult *res = PQexecParams(
        conn,
        "SELECT driftmon.add_reference_performance($1::bigint, $2, $3, $4::float8, $5::float8, "
        "$6::float8, $7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, "
        "$13::float8, $14::float8, $15::float8, $16::float8, $17::float8, $18::float8)",
        18, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dm_db_fail(res, conn,
                          "could not store the reference's performance (is the schema up to "
                          "date? run `driftmon init`)",
                          err, errlen);
    PQclear(res);
    return 0;
}

static double figure(PGresult *r, int col)
{
    if (PQgetisnull(r, 0, col))
        return NAN;
    return strtod(PQgetvalue(r, 0, col), NULL); /* float8's text: "Infinity" reads as inf */
}

static uint64_t count(PGresult *r, int col)
{
    return strtoull(PQgetvalue(r, 0, col), NULL, 10);
}

int dm_perfstore_get(PGconn *conn, int64_t id, const dm_config *cfg, stats_perf *out,
                     const char **why, char *err, size_t errlen)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    /* float8 as text: with extra_float_digits >= 1 (PostgreSQL 12's default) the shortest
     * spelling that reads back exactly */
    PGresult *r = PQexecParams(conn,
                               "SELECT label_column, score_column, decision_threshold, cost_fn, "
                               "cost_fp, rows, left_out, tp, fp, tn, fn, auc, recall, "
                               "\"precision\", business_cost, optimal_threshold, "
                               "business_cost_at_optimal FROM driftmon.reference_performance "
                               "WHERE reference_id = $1::bigint",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return dm_db_fail(r, conn,
                          "could not read the reference's performance (is the schema up to "
                          "date? run `driftmon init`)",
                          err, errlen);
    *why = NULL;
    int rc = 0;
    if (PQntuples(r) != 1) {
        *why = "the reference version has no stored figures (loaded without its label and "
               "score columns, or before they were configured)";
    } else if (strcmp(PQgetvalue(r, 0, 0), cfg->label_column) != 0 ||
               strcmp(PQgetvalue(r, 0, 1), cfg->score_column) != 0 ||
               figure(r, 2) != cfg->decision_threshold || figure(r, 3) != cfg->cost_fn ||
               figure(r, 4) != cfg->cost_fp) {
        *why = "the reference's figures were computed with another label or score column, "
               "decision threshold or costs: load the reference again to compare";
    } else {
        stats_perf f;
        f.rows = count(r, 5);
        f.left_out = count(r, 6);
        f.tp = count(r, 7);
        f.fp = count(r, 8);
        f.tn = count(r, 9);
        f.fn = count(r, 10);
        f.auc = figure(r, 11);
        f.recall = figure(r, 12);
        f.precision = figure(r, 13);
        f.business_cost = figure(r, 14);
        f.optimal_threshold = figure(r, 15);
        f.business_cost_at_optimal = figure(r, 16);
        *out = f;
        rc = 1;
    }
    PQclear(r);
    return rc;
}

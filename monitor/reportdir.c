/* reportdir.c - index.html and the history pages of the reports directory (see reportdir.h). */
#include "monitor/reportdir.h"

#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/db.h"
#include "monitor/fsutil.h"
#include "monitor/log.h"
#include "monitor/sha256.h"
#include "reports/history.h"
#include "reports/report.h"

void dm_reportdir_history_name(const char *reference, char *out, size_t len)
{
    if (len == 0)
        return;
    char hash[65];
    dm_sha256_hex(reference ? reference : "", reference ? strlen(reference) : 0, hash);
    char slug[DM_REPORTDIR_SLUG_MAX + 1];
    size_t k = 0;
    for (const char *p = reference; p && *p && k < DM_REPORTDIR_SLUG_MAX; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        slug[k++] = ok ? c : '_';
    }
    slug[k] = '\0';
    snprintf(out, len, "history-%s-%.*s.html", slug, DM_REPORTDIR_HASH_HEX, hash);
}

/* Is name a regular file of the directory dirfd (not a link, not a directory)? */
static bool file_here(int dirfd, const char *name)
{
    struct stat st;
    return name[0] != '\0' && strchr(name, '/') == NULL &&
           fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int query_fail(PGresult *res, PGconn *conn, const char *what, char *err, size_t errlen)
{
    char m[600];
    dm_db_trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), m, sizeof m);
    snprintf(err, errlen, "could not read %s: %s", what, m);
    PQclear(res);
    return -1;
}

/* The runs of one reference (oldest first) or of all (newest first). */
static const char runs_sql_all[] =
    "SELECT run_id, to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), "
    "batch, to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
    "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), reference_name, "
    "number_of_columns, number_of_drifted_columns, share_of_drifted_columns, dataset_drift, "
    "retrain_flagged, report_html, importance_weighted_share, score_psi, "
    "(SELECT d.report_html FROM driftmon.performance_report d WHERE d.performance_id = "
    "(SELECT max(p.id) FROM driftmon.performance p WHERE p.run_id = runs.run_id)) "
    "FROM driftmon.runs ";

/* A float8 column of a result; NaN when NULL. */
static double num_or_nan(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NAN : strtod(PQgetvalue(res, r, c), NULL);
}

typedef struct {
    rpt_run_entry *e;
    char **target;
    char **href;
    size_t n;
} run_list;

static void run_list_free(run_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->target[i]);
        free(l->href[i]);
    }
    free(l->e);
    free(l->target);
    free(l->href);
    memset(l, 0, sizeof *l);
}

/* The file name of a path in column c of row r of res when it is a file of dirfd; else
 * NULL.  Points into res. */
static const char *file_of_dir(PGresult *res, int r, int c, int dirfd)
{
    if (PQgetisnull(res, r, c))
        return NULL;
    const char *p = PQgetvalue(res, r, c);
    const char *slash = strrchr(p, '/');
    const char *name = slash ? slash + 1 : p;
    return file_here(dirfd, name) ? name : NULL;
}

/* Fill l from a result of runs_sql_all (the strings point into res).  A run links its
 * report only when the report is a file of this directory (dirfd); with only_here, the other
 * runs are left out.  Likewise its report re-rendered with its cohort's latest evaluation
 * (issue 21): none when that evaluation has no documents (an older one's figures would pass
 * for the latest). */
static int run_list_fill(PGresult *res, int dirfd, bool only_here, run_list *l)
{
    size_t n = (size_t)PQntuples(res);
    memset(l, 0, sizeof *l);
    l->e = calloc(n + 1, sizeof *l->e);
    l->target = calloc(n + 1, sizeof *l->target);
    l->href = calloc(n + 1, sizeof *l->href);
    if (!l->e || !l->target || !l->href)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        const char *href = file_of_dir(res, r, 11, dirfd);
        if (only_here && !href)
            continue;
        size_t k = l->n++;
        rpt_run_entry *e = &l->e[k];
        e->run_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        e->finished_at = PQgetvalue(res, r, 1);
        size_t tl = strlen(PQgetvalue(res, r, 2)) + strlen(PQgetvalue(res, r, 3)) +
                    strlen(PQgetvalue(res, r, 4)) + 32;
        l->target[k] = malloc(tl);
        if (!l->target[k])
            return -1;
        if (!PQgetisnull(res, r, 2))
            snprintf(l->target[k], tl, "batch %s", PQgetvalue(res, r, 2));
        else
            snprintf(l->target[k], tl, "window [%s, %s)", PQgetvalue(res, r, 3),
                     PQgetvalue(res, r, 4));
        e->target = l->target[k];
        e->reference = PQgetvalue(res, r, 5);
        e->ncols = (size_t)strtoull(PQgetvalue(res, r, 6), NULL, 10);
        e->ndrifted = (size_t)strtoull(PQgetvalue(res, r, 7), NULL, 10);
        e->share = e->ncols > 0 ? strtod(PQgetvalue(res, r, 8), NULL) : NAN;
        e->dataset_drift = PQgetvalue(res, r, 9)[0] == 't';
        e->retrain = PQgetvalue(res, r, 10)[0] == 't';
        e->weighted_share = num_or_nan(res, r, 12);
        e->score_psi = num_or_nan(res, r, 13);
        e->perf_report_href = file_of_dir(res, r, 14, dirfd);
        e->retrain_fraction = e->retrain_weighted_fraction = e->retrain_score_psi = NAN;
        if (href) {
            l->href[k] = strdup(href);
            if (!l->href[k])
                return -1;
            e->report_href = l->href[k];
        }
    }
    return 0;
}

static int write_page(int dirfd, const char *dir, const char *name, char *text, char *err,
                      size_t errlen)
{
    if (!text) {
        snprintf(err, errlen, "could not render \"%s/%s\": out of memory", dir, name);
        return -1;
    }
    int rc =
        dm_write_file_atomic_at(dirfd, dir, name, text, strlen(text), DM_FILE_MODE, err, errlen);
    free(text);
    return rc;
}

/* index.html: the runs whose reports are in this directory, the history pages that are. */
static int update_index(PGconn *conn, int dirfd, const char *dir, char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "%sORDER BY finished_at DESC, run_id DESC", runs_sql_all);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return query_fail(res, conn, "the runs (driftmon.runs)", err, errlen);
    PGresult *refs = PQexec(conn, "SELECT DISTINCT reference_name COLLATE \"C\" AS r FROM "
                                  "driftmon.runs ORDER BY 1");
    if (PQresultStatus(refs) != PGRES_TUPLES_OK) {
        PQclear(res);
        return query_fail(refs, conn, "the references (driftmon.runs)", err, errlen);
    }
    int rc = -1;
    run_list l;
    size_t nr = (size_t)PQntuples(refs), np = 0;
    rpt_link *pages = calloc(nr + 1, sizeof *pages);
    char(*names)[DM_REPORTDIR_NAME_MAX] = calloc(nr + 1, sizeof *names);
    if (run_list_fill(res, dirfd, true, &l) != 0 || !pages || !names) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        const char *ref = PQgetvalue(refs, (int)i, 0);
        dm_reportdir_history_name(ref, names[np], sizeof names[np]);
        if (!file_here(dirfd, names[np]))
            continue; /* its runs wrote their pages elsewhere */
        pages[np].text = ref;
        pages[np].href = names[np];
        np++;
    }
    rc = write_page(dirfd, dir, "index.html", rpt_index_render(l.e, l.n, pages, np), err, errlen);
out:
    free(names);
    free(pages);
    run_list_free(&l);
    PQclear(res);
    PQclear(refs);
    return rc;
}

typedef struct {
    int64_t id;
    size_t pos;
} id_pos;

/* Rows of the column query (in no particular order) by column name (byte order, as
 * COLLATE "C"), then by run (pos: the run's place on the page): sorted here, which is
 * cheaper than PostgreSQL's sort of the same rows. */
typedef struct {
    const char *name;
    size_t pos;
    int row;
    int64_t run_id;
} name_row;

static int name_row_cmp(const void *pa, const void *pb)
{
    const name_row *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    if (a->pos != b->pos)
        return (a->pos > b->pos) - (a->pos < b->pos);
    return (a->row > b->row) - (a->row < b->row);
}

static int id_pos_cmp(const void *pa, const void *pb)
{
    const id_pos *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

/* Keep the last `keep` entries of l (dropping the oldest). */
static void run_list_keep_last(run_list *l, size_t keep)
{
    if (l->n <= keep)
        return;
    size_t drop = l->n - keep;
    for (size_t i = 0; i < drop; i++) {
        free(l->target[i]);
        free(l->href[i]);
    }
    memmove(l->e, l->e + drop, keep * sizeof *l->e);
    memmove(l->target, l->target + drop, keep * sizeof *l->target);
    memmove(l->href, l->href + drop, keep * sizeof *l->href);
    l->n = keep;
}

static int update_history(PGconn *conn, int dirfd, const char *dir, const char *monitor,
                          const char *reference, int history_runs, char *err, size_t errlen)
{
    char sql[1024], lim[32];
    snprintf(sql, sizeof sql,
             "%sWHERE reference_name = $1 AND monitor = $2 ORDER BY finished_at, run_id",
             runs_sql_all);
    snprintf(lim, sizeof lim, "%d", history_runs > 0 ? history_runs : 1);
    const char *p[3] = {reference, lim, monitor};
    const char *pr[2] = {reference, monitor};
    PGresult *res = PQexecParams(conn, sql, 2, NULL, pr, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return query_fail(res, conn, "the runs (driftmon.runs)", err, errlen);
    /* the column results of the last runs only: the costly part of the page */
    PGresult *cr = PQexecParams(
        conn,
        "SELECT column_name, stattest, stattest_threshold, drift_score, drift_detected, run_id "
        "FROM driftmon.column_history WHERE reference_name = $1 AND monitor = $3 AND run_id IN "
        "(SELECT run_id FROM driftmon.runs WHERE reference_name = $1 AND monitor = $3 ORDER BY "
        "finished_at DESC, run_id DESC LIMIT $2::int)",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(cr) != PGRES_TUPLES_OK) {
        PQclear(res);
        return query_fail(cr, conn, "the column history (driftmon.column_history)", err, errlen);
    }
    /* the retrain limits each of those runs had, from its report */
    PGresult *lr = PQexecParams(
        conn,
        "SELECT id, (report -> 'retrain' ->> 'fraction')::float8, "
        "(report -> 'retrain' ->> 'weighted_fraction')::float8, "
        "(report -> 'retrain' ->> 'score_psi')::float8 FROM driftmon.run WHERE id IN (SELECT "
        "run_id FROM driftmon.runs WHERE reference_name = $1 AND monitor = $3 ORDER BY "
        "finished_at DESC, run_id DESC LIMIT $2::int)",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(lr) != PGRES_TUPLES_OK) {
        PQclear(res);
        PQclear(cr);
        return query_fail(lr, conn, "the runs' retrain limits (driftmon.run)", err, errlen);
    }
    /* the latest evaluation of each of those runs' cohorts (issue 21) */
    PGresult *fr = PQexecParams(
        conn,
        "SELECT DISTINCT ON (run_id) run_id, business_cost, reference_business_cost, auc, "
        "reference_auc, optimal_threshold, decision_threshold FROM driftmon.performance_history "
        "WHERE run_id IN (SELECT run_id FROM driftmon.runs WHERE reference_name = $1 AND "
        "monitor = $3 ORDER BY finished_at DESC, run_id DESC LIMIT $2::int) "
        "ORDER BY run_id, evaluation_id DESC",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(fr) != PGRES_TUPLES_OK) {
        PQclear(res);
        PQclear(cr);
        PQclear(lr);
        return query_fail(fr, conn, "the cohorts' performance (driftmon.performance_history)", err,
                          errlen);
    }
    int rc = -1;
    run_list l;
    size_t nr = (size_t)PQntuples(cr);
    id_pos *map = NULL;
    name_row *order = NULL;
    size_t *x = calloc(nr + 1, sizeof *x);
    int64_t *ids = calloc(nr + 1, sizeof *ids);
    double *score = calloc(nr + 1, sizeof *score), *thr = calloc(nr + 1, sizeof *thr);
    bool *drifted = calloc(nr + 1, sizeof *drifted);
    rpt_column_series *cols = calloc(nr + 1, sizeof *cols);
    if (run_list_fill(res, dirfd, false, &l) != 0 || !x || !ids || !score || !thr || !drifted ||
        !cols)
        goto oom;
    size_t total = l.n;
    run_list_keep_last(&l, (size_t)(history_runs > 0 ? history_runs : 1));
    map = calloc(l.n + 1, sizeof *map);
    if (!map)
        goto oom;
    for (size_t i = 0; i < l.n; i++)
        map[i] = (id_pos){l.e[i].run_id, i};
    qsort(map, l.n, sizeof *map, id_pos_cmp);
    for (int i = 0; i < PQntuples(lr); i++) {
        id_pos key = {strtoll(PQgetvalue(lr, i, 0), NULL, 10), 0};
        id_pos *hit = bsearch(&key, map, l.n, sizeof *map, id_pos_cmp);
        if (hit) { /* else a run committed between the queries */
            l.e[hit->pos].retrain_fraction = num_or_nan(lr, i, 1);
            l.e[hit->pos].retrain_weighted_fraction = num_or_nan(lr, i, 2);
            l.e[hit->pos].retrain_score_psi = num_or_nan(lr, i, 3);
        }
    }
    for (int i = 0; i < PQntuples(fr); i++) {
        id_pos key = {strtoll(PQgetvalue(fr, i, 0), NULL, 10), 0};
        id_pos *hit = bsearch(&key, map, l.n, sizeof *map, id_pos_cmp);
        if (hit) {
            rpt_run_entry *e = &l.e[hit->pos];
            e->has_perf = true;
            e->perf_cost = num_or_nan(fr, i, 1);
            e->perf_ref_cost = num_or_nan(fr, i, 2);
            e->perf_auc = num_or_nan(fr, i, 3);
            e->perf_ref_auc = num_or_nan(fr, i, 4);
            e->perf_opt = num_or_nan(fr, i, 5);
            e->perf_thr = num_or_nan(fr, i, 6);
        }
    }
    size_t nc = 0;
    order = calloc(nr + 1, sizeof *order);
    if (!order)
        goto oom;
    size_t no = 0;
    for (size_t i = 0; i < nr; i++) {
        id_pos key = {strtoll(PQgetvalue(cr, (int)i, 5), NULL, 10), 0};
        id_pos *hit = bsearch(&key, map, l.n, sizeof *map, id_pos_cmp);
        if (hit) /* else a run committed between the two queries */
            order[no++] = (name_row){PQgetvalue(cr, (int)i, 0), hit->pos, (int)i, key.id};
    }
    qsort(order, no, sizeof *order, name_row_cmp);
    for (size_t i = 0; i < no; i++) {
        int r = order[i].row;
        const char *name = order[i].name;
        if (nc == 0 || strcmp(cols[nc - 1].name, name) != 0) {
            rpt_column_series *c = &cols[nc++];
            c->name = name;
            c->s.x = x + i;
            c->s.run_id = ids + i;
            c->s.score = score + i;
            c->s.threshold = thr + i;
            c->s.drifted = drifted + i;
        }
        rpt_column_series *c = &cols[nc - 1];
        c->s.n++; /* a column's rows are contiguous in order[]: row i is its entry i */
        x[i] = order[i].pos;
        ids[i] = order[i].run_id;
        score[i] = PQgetisnull(cr, r, 3) ? NAN : strtod(PQgetvalue(cr, r, 3), NULL);
        thr[i] = strtod(PQgetvalue(cr, r, 2), NULL);
        drifted[i] = PQgetvalue(cr, r, 4)[0] == 't';
        c->test = PQgetvalue(cr, r, 1);
        c->s.pvalue = strcmp(c->test, "ks") == 0 || strcmp(c->test, "chisquare") == 0 ||
                      strcmp(c->test, "z") == 0;
    }
    char name[DM_REPORTDIR_NAME_MAX];
    dm_reportdir_history_name(reference, name, sizeof name);
    rc = write_page(dirfd, dir, name, rpt_history_render(reference, l.e, l.n, total, cols, nc), err,
                    errlen);
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    free(order);
    free(map);
    free(x);
    free(ids);
    free(score);
    free(thr);
    free(drifted);
    free(cols);
    run_list_free(&l);
    PQclear(res);
    PQclear(cr);
    PQclear(lr);
    PQclear(fr);
    return rc;
}

int dm_reportdir_update(PGconn *conn, const char *dir, const char *monitor, const char *reference,
                        int history_runs, char *err, size_t errlen)
{
    /* the directory's own path is followed as configured; every page in it is written
     * relative to it (fsutil.h) */
    int dirfd = dm_dir_open(dir, DM_DIR_FOLLOW, err, errlen);
    if (dirfd < 0)
        return -1;
    /* the history page first: the index links it only once it exists */
    int rc = 0;
    if (reference &&
        update_history(conn, dirfd, dir, monitor, reference, history_runs, err, errlen) != 0)
        rc = -1;
    else if (update_index(conn, dirfd, dir, err, errlen) != 0)
        rc = -1;
    close(dirfd);
    return rc;
}

int dm_reportdir_refresh(PGconn *conn, const char *dir, const char *monitor, const char *reference,
                         int history_runs)
{
    char err[1024];
    if (dm_reportdir_update(conn, dir, monitor, reference, history_runs, err, sizeof err) == 0)
        return 0;
    dm_logf(DM_LOG_WARN, "could not update the reports index (the run is recorded)", "error=%s",
            err);
    return -1;
}

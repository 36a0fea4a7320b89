/* compare.c - test selection, the tests and the drift verdict (see compare.h). */
#include "monitor/compare.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/compare_internal.h"
#include "monitor/outcome.h"
#include "reports/svg.h"
#include "stats/numfmt.h"

/* ---- the run ------------------------------------------------------------------------- */

/* The tests themselves run after every column is set up, on up to DM_COMPARE_WORKERS threads
 * (one per core): each column's test only reads its two samples and writes its own job, and
 * every thread has its own workspace.  Results are then taken in column order, so the
 * output does not depend on the number of threads. */

typedef struct {
    size_t slot;    /* where the column was set up */
    size_t skip_at; /* o.nskipped when it was: where a failed test's skip entry goes */
    const dm_column *r, *c;
    const char *note; /* the pair's */
    stats_test test;
    double thr, score;
    int rc;
} test_job;

typedef struct {
    test_job *jobs;
    size_t njobs;
    stats_column *data;
    const char ***labels;
    char **plots;
    const dm_dataset *ref;
    const stats_options *opt;
    bool draw;
    _Atomic size_t next;
    _Atomic int oom;
} test_queue;

static void *test_worker(void *arg)
{
    test_queue *q = arg;
    void *ws = NULL;
    size_t ws_cap = 0;
    for (;;) {
        size_t k = atomic_fetch_add(&q->next, 1);
        if (k >= q->njobs)
            break;
        test_job *j = &q->jobs[k];
        const stats_column *sc = &q->data[j->slot];
        size_t need = stats_workspace_bytes(j->test, sc, q->opt);
        if (need > ws_cap) {
            free(ws);
            ws = malloc(need);
            ws_cap = ws ? need : 0;
            if (!ws) {
                atomic_store(&q->oom, 1);
                break;
            }
        }
        j->score = NAN;
        j->rc = stats_run_test(j->test, sc, q->opt, ws, ws_cap, &j->score);
        if (j->rc == STATS_OK && q->draw) {
            /* the plot too, while the column is in cache ("" when there is none) */
            rpt_buf b;
            rpt_buf_init(&b);
            bool drawn = rpt_svg_column(&b, sc, q->labels[j->slot], j->r->name) == 0;
            if (!drawn)
                rpt_buf_release(&b);
            char *plot = drawn ? rpt_buf_take(&b) : strdup("");
            /* kept until the report is rendered: without the buffer's spare room */
            char *fit = plot ? realloc(plot, strlen(plot) + 1) : NULL;
            q->plots[j->slot] = fit ? fit : plot;
            if (!q->plots[j->slot])
                atomic_store(&q->oom, 1);
        }
        /* a mapped profile's pages go back once the column is tested */
        dm_dataset_evict(q->ref, (size_t)(j->r - q->ref->col));
    }
    free(ws);
    return NULL;
}

static int run_tests(test_queue *q)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nw = nc < 1 ? 1 : (size_t)nc;
    if (nw > DM_COMPARE_WORKERS)
        nw = DM_COMPARE_WORKERS;
    if (nw > q->njobs)
        nw = q->njobs ? q->njobs : 1;
    pthread_t th[DM_COMPARE_WORKERS];
    size_t started = 0;
    for (size_t i = 1; i < nw; i++, started++)
        if (pthread_create(&th[i - 1], NULL, test_worker, q) != 0)
            break;
    test_worker(q);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&q->oom) ? -1 : 0;
}

/* A pair's state while the comparison is built: compare_internal.h. */

static int add_skip(dm_comparison *o, const char *name, const char *msg)
{
    char *r = strdup(msg);
    if (!r)
        return -1;
    o->reasons[o->nskipped] = r;
    o->skipped[o->nskipped].name = name;
    o->skipped[o->nskipped].reason = r;
    o->nskipped++;
    return 0;
}

/* Give up testing the column in `slot` (its aligned data is dropped): listed as skipped with
 * msg instead, in its place in the reference's order (dm_compare_finish). */
static int untest_slot(dm_comparison *o, size_t slot, const char *msg)
{
    struct dm_compare_work *w = o->work;
    free(o->labels[slot]);
    free(o->aligned[slot]);
    o->labels[slot] = NULL;
    o->aligned[slot] = NULL;
    memset(&o->data[slot], 0, sizeof o->data[slot]);
    free(w->why[slot]);
    w->why[slot] = strdup(msg);
    w->state[slot] = PAIR_UNTESTED;
    return w->why[slot] ? 0 : -1;
}

static void num_view(const dm_column *c, stats_num *s)
{
    s->value = c->value;
    s->count = c->count;
    s->n_distinct = c->n_distinct;
    s->n = c->n;
    s->is_int = c->is_int;
    s->has_moments = c->has_moments;
    s->mean = c->mean;
    s->std = c->std;
}

/* Hand the aligned categories of a column to its slot: k labels, then cnt[0..k) the
 * reference's counts and cnt[k..2k) the current's (both owned by the comparison from here);
 * index 0 is the category that sorts first. */
static void set_categories(const dm_column *r, const dm_column *c, dm_comparison *o, size_t slot,
                           stats_column *sc, const char **lab, uint64_t *cnt, size_t k)
{
    o->labels[slot] = lab;
    o->aligned[slot] = cnt;
    sc->ref_cat.count = cnt;
    sc->ref_cat.n_categories = k;
    sc->ref_cat.n = r->n;
    sc->cur_cat.count = cnt + k;
    sc->cur_cat.n_categories = k;
    sc->cur_cat.n = c->n;
    sc->cat_first = 0;
}

/* Align two sorted category lists on their union. */
static int align_text(const dm_column *r, const dm_column *c, dm_comparison *o, size_t slot,
                      stats_column *sc)
{
    size_t cap = r->n_cats + c->n_cats;
    const char **lab = malloc((cap ? cap : 1) * sizeof *lab);
    uint64_t *cnt = malloc((cap ? cap : 1) * 2 * sizeof *cnt);
    if (!lab || !cnt) {
        free(lab);
        free(cnt);
        return -1;
    }
    uint64_t *rc = cnt, *cc = cnt + cap;
    size_t i = 0, j = 0, k = 0;
    while (i < r->n_cats || j < c->n_cats) {
        int d = i >= r->n_cats ? 1 : j >= c->n_cats ? -1 : strcmp(r->cat[i], c->cat[j]);
        if (d < 0) {
            lab[k] = r->cat[i];
            rc[k] = r->cat_count[i++];
            cc[k] = 0;
        } else if (d > 0) {
            lab[k] = c->cat[j];
            rc[k] = 0;
            cc[k] = c->cat_count[j++];
        } else {
            lab[k] = r->cat[i];
            rc[k] = r->cat_count[i++];
            cc[k] = c->cat_count[j++];
        }
        k++;
    }
    /* the count vectors must be contiguous per side with k entries: move cur's down */
    memmove(cnt + k, cc, k * sizeof *cnt);
    set_categories(r, c, o, slot, sc, lab, cnt, k); /* index 0 sorts first: byte order */
    return 0;
}

/* The categories of a column that is numbers on one side and text on the other: no number
 * equals a text, so the union is the two lists side by side, the numbers first (ascending)
 * then the texts (byte order).  The numbers' labels (stats_format_double's spelling) live
 * in the same block as the label array, freed with it. */
static int align_mixed(const dm_column *r, const dm_column *c, dm_comparison *o, size_t slot,
                       stats_column *sc)
{
    const dm_column *num = r->storage == DM_STORE_NUM ? r : c;
    const dm_column *txt = num == r ? c : r;
    size_t nn = num->n_distinct, nt = txt->n_cats, k = nn + nt;
    enum { SPELL = STATS_DOUBLE_BUFLEN };
    const char **lab = malloc((k ? k : 1) * sizeof *lab + nn * SPELL);
    uint64_t *cnt = calloc((k ? k : 1) * 2, sizeof *cnt);
    if (!lab || !cnt) {
        free(lab);
        free(cnt);
        return -1;
    }
    char *spelled = (char *)(lab + (k ? k : 1));
    uint64_t *rc = cnt, *cc = cnt + k;
    uint64_t *ncnt = num == r ? rc : cc, *tcnt = num == r ? cc : rc;
    for (size_t i = 0; i < nn; i++) {
        stats_format_double(num->value[i], spelled, SPELL);
        lab[i] = spelled;
        spelled += strlen(spelled) + 1;
        ncnt[i] = num->count[i];
    }
    for (size_t j = 0; j < nt; j++) {
        lab[nn + j] = txt->cat[j];
        tcnt[nn + j] = txt->cat_count[j];
    }
    set_categories(r, c, o, slot, sc, lab, cnt, k); /* the smallest number sorts first */
    return 0;
}

static void unseen(const stats_column *sc, stats_column_result *rc)
{
    rc->unseen_categories = 0;
    rc->unseen_share = 0.;
    uint64_t in_unseen = 0, ncur;
    if (sc->kind != STATS_CAT)
        return;
    if (sc->is_numeric_data) {
        const stats_num *a = &sc->ref_num, *b = &sc->cur_num;
        size_t i = 0;
        for (size_t j = 0; j < b->n_distinct; j++) {
            while (i < a->n_distinct && a->value[i] < b->value[j])
                i++;
            if (i >= a->n_distinct || a->value[i] != b->value[j]) {
                rc->unseen_categories++;
                in_unseen += b->count[j];
            }
        }
        ncur = b->n;
    } else {
        for (size_t k = 0; k < sc->ref_cat.n_categories; k++) {
            if (sc->ref_cat.count[k] == 0 && sc->cur_cat.count[k] > 0) {
                rc->unseen_categories++;
                in_unseen += sc->cur_cat.count[k];
            }
        }
        ncur = sc->cur_cat.n;
    }
    rc->unseen_share = ncur ? (double)in_unseen / (double)ncur : 0.;
}

static bool test_needs_numbers(stats_test t)
{
    return t == STATS_TEST_WASSERSTEIN || t == STATS_TEST_KS || t == STATS_TEST_ED;
}

/* The error of a run in which every column was skipped: the sources and the first reasons. */
static void none_tested(const dm_comparison *o, const dm_dataset *ref, const dm_dataset *cur,
                        char *err, size_t errlen)
{
    enum { LISTED = 3 };
    int n = snprintf(err, errlen, "no column could be tested in %s against %s: %zu skipped (",
                     cur->source, ref->source, o->nskipped);
    for (size_t i = 0; i < o->nskipped && i < LISTED && n >= 0 && (size_t)n < errlen; i++) {
        char name[DM_SHOWN_LEN];
        dm_show_value(o->skipped[i].name, strlen(o->skipped[i].name), name, sizeof name);
        n += snprintf(err + n, errlen - (size_t)n, "%s\"%s\": %s", i ? "; " : "", name,
                      o->skipped[i].reason);
    }
    if (n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, "%s)", o->nskipped > LISTED ? "; ..." : "");
}

/* ---- the model ------------------------------------------------------------------------ */

const char dm_score_note_no_ref[] = "no score in reference (every value missing or not finite)";
const char dm_score_note_no_cur[] = "no score in current (every value missing or not finite)";

static void score_drift(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                        const dm_reconciled *pairs, dm_comparison *o)
{
    const dm_column *r = pairs->score_ref, *c = pairs->score_cur;
    o->score_column = cfg->score_column;
    o->decision_threshold = cfg->decision_threshold;
    o->score_ref = (stats_side){ref->rows, r->missing, r->nonfinite};
    o->score_cur = (stats_side){cur->rows, c->missing, c->nonfinite};
    stats_num a, b;
    num_view(r, &a);
    num_view(c, &b);
    if (r->n == 0)
        o->score_note = dm_score_note_no_ref;
    else if (c->n == 0)
        o->score_note = dm_score_note_no_cur;
    else
        o->has_score_drift =
            stats_score_drift_compute(&a, &b, cfg->decision_threshold, &o->score) == STATS_OK;
}

/* Each tested column's importance, and the list of the columns the importances name that
 * were not tested, with why (names looked up in maps: linear in the columns).  -1 when out
 * of memory. */
static int apply_importance(const dm_config *cfg, const dm_importance *imp,
                            const dm_reconciled *pairs, dm_comparison *o)
{
    for (size_t i = 0; i < o->ncols; i++)
        o->cols[i].importance = dm_importance_of(imp, o->cols[i].name);
    if (!imp)
        return 0;
    o->importance_sha256 = imp->sha256;
    o->untested = calloc(imp->n + 1, sizeof *o->untested);
    o->untested_text = calloc(imp->n + 1, sizeof *o->untested_text);
    if (!o->untested || !o->untested_text)
        return -1;
    int rc = -1;
    stats_names tested, skipped, paired;
    stats_names_init(&tested);
    stats_names_init(&skipped);
    stats_names_init(&paired);
    size_t had;
    for (size_t i = 0; i < o->ncols; i++)
        if (stats_names_add(&tested, o->cols[i].name, i, &had) < 0)
            goto out;
    for (size_t i = 0; i < o->nskipped; i++)
        if (stats_names_add(&skipped, o->skipped[i].name, i, &had) < 0)
            goto out;
    for (size_t i = 0; i < pairs->npairs; i++)
        if (stats_names_add(&paired, pairs->pair[i].name, i, &had) < 0)
            goto out;
    for (size_t k = 0; k < imp->n; k++) {
        const char *name = imp->name[k];
        if (stats_names_find(&tested, name) >= 0)
            continue;
        long sk = stats_names_find(&skipped, name);
        const char *why = sk >= 0 ? o->skipped[sk].reason : NULL;
        bool unknown = false;
        if (!why && cfg->score_column && strcmp(cfg->score_column, name) == 0)
            why = "the model's score column (monitored on its own)";
        else if (!why && cfg->label_column && strcmp(cfg->label_column, name) == 0)
            why = "the model's label column (its outcomes: performance)";
        else if (!why && dm_config_is_excluded(cfg, name))
            why = "excluded (columns.exclude)";
        else if (!why && stats_names_find(&paired, name) < 0)
            why = "in neither dataset", unknown = true;
        else if (!why)
            why = "not tested";
        size_t ln = strlen(name), lr = strlen(why);
        char *both = malloc(ln + lr + 2); /* name and reason in one block, freed by name */
        if (!both)
            goto out;
        memcpy(both, name, ln + 1);
        memcpy(both + ln + 1, why, lr + 1);
        o->untested_text[o->nuntested] = both;
        o->untested[o->nuntested++] =
            (stats_untested_importance){both, imp->value[k], both + ln + 1};
        o->n_unknown += unknown;
    }
    rc = 0;
out:
    stats_names_release(&tested);
    stats_names_release(&skipped);
    stats_names_release(&paired);
    return rc;
}

/* The outcomes on each side that kept its rows (monitor/outcome.h).  0, DM_COMPARE_BAD_INPUT
 * or -1 (out of memory), err set. */
static int perf_sides(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                      dm_comparison *o, char *err, size_t errlen)
{
    if (!dm_outcome_configured(cfg))
        return 0;
    o->has_perf = true;
    int rc = dm_outcome_eval(cfg, ref, &o->perf_ref, &o->perf_ref_note, err, errlen);
    if (rc >= 0) {
        o->perf_ref_ok = rc == 1;
        rc = dm_outcome_eval(cfg, cur, &o->perf_cur, &o->perf_cur_note, err, errlen);
        o->perf_cur_ok = rc == 1;
    }
    return rc == -1 ? DM_COMPARE_BAD_INPUT : rc == -2 ? -1 : 0;
}

/* The cost condition, once both sides' figures are known. */
static void decide_cost(const dm_config *cfg, dm_comparison *o)
{
    double inc = o->perf_ref_ok && o->perf_cur_ok
                     ? stats_perf_cost_increase(&o->perf_ref, &o->perf_cur)
                     : NAN;
    stats_verdict_cost(inc, cfg->retrain_cost_increase, &o->verdict);
}

void dm_comparison_set_ref_perf(dm_comparison *c, const dm_config *cfg, const stats_perf *ref)
{
    c->perf_ref = *ref;
    c->perf_ref_ok = true;
    c->perf_ref_note = NULL;
    decide_cost(cfg, c);
}

/* The verdict: the one rule (stats_verdict_decide) on the figures of this comparison. */
static void decide(const dm_config *cfg, const dm_importance *imp, dm_comparison *o)
{
    size_t drifted = 0;
    for (size_t i = 0; i < o->ncols; i++)
        drifted += o->cols[i].drifted;
    double weighted = NAN;
    if (imp)
        o->weighted_note =
            stats_weighted_status_text(stats_weighted_share(o->cols, o->ncols, &weighted));
    stats_retrain_rule rule = {cfg->drift_share, cfg->retrain_fraction,
                               cfg->retrain_weighted_fraction, cfg->retrain_score_psi};
    stats_verdict_decide(&rule, o->ncols, drifted, weighted,
                         o->has_score_drift ? o->score.psi : NAN, &o->verdict);
    decide_cost(cfg, o);
}

/* ---- the comparison, one group of columns at a time ------------------------------------ */

static void work_free(struct dm_compare_work *w)
{
    if (!w)
        return;
    if (w->why)
        for (size_t i = 0; i < w->pairs->npairs; i++)
            free(w->why[i]);
    free(w->why);
    free(w->state);
    free(w);
}

int dm_compare_begin(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                     const dm_dataset *cur, const dm_reconciled *pairs, bool plots,
                     dm_comparison *out, char *err, size_t errlen)
{
    dm_comparison o;
    memset(&o, 0, sizeof o);
    int prc = perf_sides(cfg, ref, cur, &o, err, errlen);
    if (prc != 0)
        return prc;
    size_t cap = pairs->npairs;
    o.nslots = cap + 1;
    o.cols = calloc(cap + 1, sizeof *o.cols);
    o.skipped = calloc(cap + 1, sizeof *o.skipped);
    o.data = calloc(cap + 1, sizeof *o.data);
    o.labels = calloc(cap + 1, sizeof *o.labels);
    o.aligned = calloc(cap + 1, sizeof *o.aligned);
    o.reasons = calloc(cap + 1, sizeof *o.reasons);
    o.plots = calloc(cap + 1, sizeof *o.plots);
    struct dm_compare_work *w = calloc(1, sizeof *w);
    if (w) {
        o.work = w;
        *w = (struct dm_compare_work){cfg, imp, ref, cur, pairs, plots, NULL, NULL, false};
        w->state = calloc(cap + 1, sizeof *w->state);
        w->why = calloc(cap + 1, sizeof *w->why);
    }
    if (!o.cols || !o.skipped || !o.data || !o.labels || !o.aligned || !o.reasons || !o.plots ||
        !w || !w->state || !w->why) {
        snprintf(err, errlen, "out of memory while comparing %s with %s", ref->source, cur->source);
        dm_comparison_release(&o);
        return -1;
    }
    *out = o;
    return 0;
}

/* Set up the pair in `slot` (its stats_column and aligned categories) and pick its test:
 * a job, or the column marked untested with why.  -1 when out of memory. */
static int set_up(dm_comparison *o, size_t slot, test_job *job, bool *queued)
{
    struct dm_compare_work *w = o->work;
    const dm_pair *p = &w->pairs->pair[slot];
    const dm_column *r = p->ref, *c = p->cur;
    stats_kind kind = p->type;
    stats_column *sc = &o->data[slot];
    *queued = false;
    sc->kind = kind;
    bool text = p->kind == DM_PAIR_CAT_TEXT || p->kind == DM_PAIR_CAT_MIXED;
    if (!text) {
        sc->is_numeric_data = kind == STATS_CAT;
        num_view(r, &sc->ref_num);
        num_view(c, &sc->cur_num);
    } else if (p->kind == DM_PAIR_CAT_TEXT) {
        if (align_text(r, c, o, slot, sc))
            return -1;
    } else if (align_mixed(r, c, o, slot, sc)) {
        return -1;
    }
    int t;
    double thr;
    dm_config_resolve(w->cfg, r->name, kind, &t, &thr);
    uint64_t ref_rows = r->n;
    stats_test test = t == DM_TEST_DEFAULT
                          ? stats_default_test(kind, ref_rows, stats_n_values(sc, 5))
                          : (stats_test)t;
    if (isnan(thr))
        thr = stats_test_default_threshold(test);
    if (test_needs_numbers(test) && text) {
        char msg[200];
        snprintf(msg, sizeof msg, "stattest \"%s\" needs numbers; the column holds text",
                 stats_test_name(test));
        return untest_slot(o, slot, msg);
    }
    *job = (test_job){slot, 0, r, c, p->note, test, thr, NAN, STATS_OK};
    *queued = true;
    return 0;
}

/* The kept result of a tested pair; its numbers (the columns' arrays, which the caller may
 * release once the group is done) are no longer pointed at: what the reports need of them
 * (the plot, the unseen categories) is computed here. */
static void keep_result(dm_comparison *o, const test_job *j)
{
    struct dm_compare_work *w = o->work;
    stats_column *sc = &o->data[j->slot];
    stats_column_result *rc = &o->cols[j->slot];
    rc->name = j->r->name;
    rc->kind = sc->kind;
    rc->test = j->test;
    rc->threshold = j->thr;
    rc->score = j->score;
    rc->drifted = stats_drifted(j->test, j->score, j->thr);
    rc->ref = (stats_side){w->ref->rows, j->r->missing, j->r->nonfinite};
    rc->cur = (stats_side){w->cur->rows, j->c->missing, j->c->nonfinite};
    rc->note = j->note;
    unseen(sc, rc);
    bool numbers = sc->kind == STATS_NUM || sc->is_numeric_data;
    if (numbers) {
        sc->ref_num.value = sc->cur_num.value = NULL;
        sc->ref_num.count = sc->cur_num.count = NULL;
    }
    rc->data = numbers ? NULL : sc; /* set again where the result lands (dm_compare_finish) */
    w->state[j->slot] = PAIR_TESTED;
}

int dm_compare_group(dm_comparison *o, const size_t *cols, size_t ncols, char *err, size_t errlen)
{
    struct dm_compare_work *w = o->work;
    const dm_dataset *ref = w->ref, *cur = w->cur;
    const dm_reconciled *pairs = w->pairs;
    test_job *jobs = calloc(pairs->npairs + 1, sizeof *jobs);
    bool *in = calloc(cur->ncols + 1, sizeof *in); /* per current column: in the group */
    size_t njobs = 0;
    if (!jobs || !in) {
        free(in);
        goto oom;
    }
    for (size_t k = 0; k < ncols; k++)
        if (cols[k] < cur->ncols)
            in[cols[k]] = true;
    if (pairs->score_ref && pairs->score_cur && !w->score_done && in[pairs->score_cur - cur->col]) {
        score_drift(w->cfg, ref, cur, pairs, o);
        w->score_done = true;
    }
    /* the group's pairs, in the reference's order */
    int rc = 0;
    for (size_t i = 0; i < pairs->npairs && rc == 0; i++) {
        const dm_pair *p = &pairs->pair[i];
        bool queued = false;
        if (p->kind != DM_PAIR_SKIP && w->state[i] == PAIR_PENDING && in[p->cur - cur->col])
            rc = set_up(o, i, &jobs[njobs], &queued);
        njobs += queued;
    }
    free(in);
    if (rc != 0)
        goto oom;
    test_queue q = {jobs, njobs, o->data, o->labels, o->plots, ref, &w->cfg->stats, w->plots, 0, 0};
    if (run_tests(&q) != 0)
        goto oom;
    for (size_t k = 0; k < njobs; k++) {
        test_job *j = &jobs[k];
        if (j->rc == STATS_OK) {
            keep_result(o, j);
            continue;
        }
        char msg[200];
        snprintf(msg, sizeof msg, "stattest \"%s\" failed: %s", stats_test_name(j->test),
                 stats_strerror(j->rc));
        free(o->plots[j->slot]);
        o->plots[j->slot] = NULL;
        if (untest_slot(o, j->slot, msg))
            goto oom;
    }
    free(jobs);
    return 0;
oom:
    snprintf(err, errlen, "out of memory while comparing %s with %s", ref->source, cur->source);
    free(jobs);
    dm_comparison_release(o);
    return -1;
}

int dm_compare_finish(dm_comparison *o, char *err, size_t errlen)
{
    struct dm_compare_work *w = o->work;
    const dm_dataset *ref = w->ref, *cur = w->cur;
    const dm_reconciled *pairs = w->pairs;
    /* in the reference's column order: a tested column takes the next place, a skipped or
     * untested one the next skip entry */
    size_t kept = 0;
    for (size_t i = 0; i < pairs->npairs; i++) {
        const dm_pair *p = &pairs->pair[i];
        if (p->kind == DM_PAIR_SKIP) {
            if (add_skip(o, p->name, p->reason))
                goto oom;
            continue;
        }
        if (w->state[i] == PAIR_UNTESTED) {
            o->reasons[o->nskipped] = w->why[i];
            o->skipped[o->nskipped].name = p->ref->name;
            o->skipped[o->nskipped].reason = w->why[i];
            o->nskipped++;
            w->why[i] = NULL;
            continue;
        }
        if (w->state[i] != PAIR_TESTED) {
            snprintf(err, errlen, "column \"%s\" of %s was in no group of the comparison", p->name,
                     cur->source);
            dm_comparison_release(o);
            return -1;
        }
        size_t k = kept++;
        if (k != i) {
            o->cols[k] = o->cols[i];
            o->data[k] = o->data[i];
            o->labels[k] = o->labels[i];
            o->aligned[k] = o->aligned[i];
            o->plots[k] = o->plots[i];
            o->labels[i] = NULL;
            o->aligned[i] = NULL;
            o->plots[i] = NULL;
        }
        if (o->cols[k].data)
            o->cols[k].data = &o->data[k];
        o->cols[k].cat_labels = o->labels[k];
    }
    o->ncols = kept;
    if (o->ncols == 0) {
        none_tested(o, ref, cur, err, errlen);
        dm_comparison_release(o);
        return DM_COMPARE_NONE_TESTED;
    }
    if (pairs->score_ref && pairs->score_cur && !w->score_done) {
        snprintf(err, errlen, "the score column of %s was in no group of the comparison",
                 cur->source);
        dm_comparison_release(o);
        return -1;
    }
    if (apply_importance(w->cfg, w->imp, pairs, o) != 0)
        goto oom;
    decide(w->cfg, w->imp, o);
    work_free(w);
    o->work = NULL;
    return 0;
oom:
    snprintf(err, errlen, "out of memory while comparing %s with %s", ref->source, cur->source);
    dm_comparison_release(o);
    return -1;
}

int dm_compare_run(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                   const dm_dataset *cur, const dm_reconciled *pairs, bool plots,
                   dm_comparison *out, char *err, size_t errlen)
{
    dm_comparison o;
    int brc = dm_compare_begin(cfg, imp, ref, cur, pairs, plots, &o, err, errlen);
    if (brc != 0)
        return brc; /* -1, or DM_COMPARE_BAD_INPUT (an outcome that is not 0 or 1) */
    size_t *all = malloc((cur->ncols + 1) * sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory while comparing %s with %s", ref->source, cur->source);
        dm_comparison_release(&o);
        return -1;
    }
    for (size_t j = 0; j < cur->ncols; j++)
        all[j] = j;
    int rc = dm_compare_group(&o, all, cur->ncols, err, errlen);
    free(all);
    if (rc != 0)
        return rc;
    rc = dm_compare_finish(&o, err, errlen);
    if (rc == 0)
        *out = o;
    return rc;
}

int dm_compare_groups(const dm_config *cfg, const dm_importance *imp, const dm_dataset *ref,
                      dm_dataset *cur, const dm_reconciled *pairs, const dm_group_loader *ld,
                      bool plots, dm_comparison *out, char *err, size_t errlen)
{
    dm_comparison o;
    int brc = dm_compare_begin(cfg, imp, ref, cur, pairs, plots, &o, err, errlen);
    if (brc != 0)
        return brc; /* -1, or DM_COMPARE_BAD_INPUT (an outcome that is not 0 or 1) */
    for (size_t g = 0; g < ld->ngroups; g++) {
        const size_t *cols = ld->cols[g];
        size_t n = ld->ncols[g];
        int rc = ld->load ? ld->load(ld->ctx, g, cur, err, errlen) : 0;
        if (rc == 0)
            rc = dm_compare_group(&o, cols, n, err, errlen);
        if (ld->release)
            ld->release(ld->ctx, g, cur);
        if (rc != 0) {
            dm_comparison_release(&o);
            return rc;
        }
    }
    int rc = dm_compare_finish(&o, err, errlen);
    if (rc == 0)
        *out = o;
    return rc;
}

void dm_comparison_release(dm_comparison *c)
{
    if (!c)
        return;
    work_free(c->work);
    if (c->labels) {
        for (size_t i = 0; i < c->nslots; i++) {
            free(c->labels[i]);
            free(c->aligned[i]);
            if (c->plots)
                free(c->plots[i]);
        }
    }
    if (c->reasons)
        for (size_t i = 0; i < c->nskipped; i++)
            free(c->reasons[i]);
    for (size_t i = 0; i < c->nuntested; i++)
        free(c->untested_text[i]);
    for (size_t i = 0; i < c->ntexts; i++)
        free(c->texts[i]);
    free(c->texts);
    free(c->untested);
    free(c->untested_text);
    free(c->cols);
    free(c->skipped);
    free(c->data);
    free(c->labels);
    free(c->aligned);
    free(c->reasons);
    free(c->plots);
    memset(c, 0, sizeof *c);
}

int dm_comparison_add_skipped(dm_comparison *c, const char *name, const char *reason)
{
    size_t ln = strlen(name), lr = strlen(reason);
    for (size_t i = 0; i < c->nskipped; i++) {
        if (strcmp(c->skipped[i].name, name) != 0)
            continue;
        char *both = malloc(ln + lr + 2); /* a better reason for a column already listed */
        if (!both)
            return -1;
        memcpy(both, name, ln + 1);
        memcpy(both + ln + 1, reason, lr + 1);
        free(c->reasons[i]);
        c->reasons[i] = both;
        c->skipped[i].name = both;
        c->skipped[i].reason = both + ln + 1;
        return 0;
    }
    char *both = malloc(ln + lr + 2);
    stats_skipped_column *ns = realloc(c->skipped, (c->nskipped + 2) * sizeof *ns);
    if (ns)
        c->skipped = ns;
    char **nr = realloc(c->reasons, (c->nskipped + 2) * sizeof *nr);
    if (nr)
        c->reasons = nr;
    if (!both || !ns || !nr) {
        free(both);
        return -1;
    }
    memcpy(both, name, ln + 1);
    memcpy(both + ln + 1, reason, lr + 1);
    c->reasons[c->nskipped] = both;
    c->skipped[c->nskipped].name = both;
    c->skipped[c->nskipped].reason = both + ln + 1;
    c->nskipped++;
    return 0;
}

void dm_comparison_to_run(const dm_comparison *c, const dm_config *cfg, const dm_dataset *ref,
                          const dm_dataset *cur, rpt_run *run)
{
    run->ref_source = ref->source;
    run->ref_rows = ref->rows;
    run->ref_sha256 = ref->sha256;
    run->cur_source = cur->source;
    run->cur_rows = cur->rows;
    run->cols = c->cols;
    run->ncols = c->ncols;
    run->plots = (const char *const *)c->plots;
    run->skipped = c->skipped;
    run->nskipped = c->nskipped;
    run->drift_share = cfg->drift_share;
    run->retrain_fraction = cfg->retrain_fraction;
    run->verdict = c->verdict;
    run->retrain_weighted_fraction = cfg->retrain_weighted_fraction;
    run->retrain_score_psi = cfg->retrain_score_psi;
    run->importance_sha256 = c->importance_sha256;
    run->weighted_note = c->weighted_note;
    run->untested = c->untested;
    run->nuntested = c->nuntested;
    run->score_column = c->score_column;
    run->score = c->has_score_drift ? &c->score : NULL;
    run->score_ref = c->score_ref;
    run->score_cur = c->score_cur;
    run->score_note = c->score_note;
    run->decision_threshold = c->decision_threshold;
    run->perf_label = c->has_perf ? cfg->label_column : NULL;
    run->perf_ref = c->perf_ref_ok ? &c->perf_ref : NULL;
    run->perf_cur = c->perf_cur_ok ? &c->perf_cur : NULL;
    run->perf_ref_note = c->perf_ref_note;
    run->perf_cur_note = c->perf_cur_note;
    run->cost_fn = cfg->cost_fn;
    run->cost_fp = cfg->cost_fp;
    run->retrain_cost_increase = cfg->retrain_cost_increase;
    if (c->has_perf && isnan(run->decision_threshold))
        run->decision_threshold = cfg->decision_threshold;
}

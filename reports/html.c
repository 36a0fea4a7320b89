/*
 * html.c - the self-contained HTML report: one UTF-8 file, inline CSS, no script, nothing
 * fetched.  Every data-derived string goes through rpt_buf_put_html() (rpt_html_escape).
 *
 * The page is built section by section into one rpt_buf (html_internal.h): head, header
 * with the verdict sentence, the summary (the memo sentence, the retrain rule's conditions,
 * the score panel, the performance panel between its markers (report.h), the
 * drift-vs-importance chart), the columns by importance (when the run
 * has importances), the column table (most drifted first, with its plots), the skipped
 * columns, the settings.
 */
#include "reports/report.h"
#include "reports/html_internal.h"
#include "reports/svg.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- number formatting ------------------------------------------------------------ */

static int cmp3(double a, double b)
{
    return (a > b) - (a < b);
}

/*
 * Print x * scale with "%.*f" (fixed) or "%.*g" (general) at the smallest precision from
 * prec0 up that keeps the printed number on
 * the same side of every boundary as x itself: a share of 0.4999 next to a threshold of
 * 0.5 prints "49.99", not "50".  Boundaries are in x's units (not scaled).
 */
static void format_num(char *out, size_t outlen, double x, double scale, bool fixed, int prec0,
                       const double *bounds, size_t nbounds)
{
    if (!isfinite(x)) {
        snprintf(out, outlen, "%s", isnan(x) ? "n/a" : (x > 0 ? "inf" : "-inf"));
        return;
    }
    int maxprec = fixed ? 15 : 17;
    for (int prec = prec0; prec <= maxprec; prec++) {
        if (fixed)
            snprintf(out, outlen, "%.*f", prec, x * scale);
        else
            snprintf(out, outlen, "%.*g", prec, x * scale);
        double shown = strtod(out, NULL);
        bool same = true;
        for (size_t i = 0; i < nbounds && same; i++)
            if (isfinite(bounds[i]))
                same = cmp3(shown, bounds[i] * scale) == cmp3(x, bounds[i]);
        if (same)
            return;
    }
}

/* A share in [0, 1] as a percentage ("21", "0.3", "49.99"): whole percents unless that
 * would put it on the wrong side of 0, 100 %, or one of the thresholds given. */
static void format_pct(char *out, size_t outlen, double share, int prec0, double t1, double t2)
{
    double bounds[4] = {0.0, 1.0, t1, t2};
    format_num(out, outlen, share, 100.0, true, prec0, bounds, 4);
}

/* A threshold given as a fraction, as a percentage with up to 6 significant digits. */
static void format_threshold_pct(char *out, size_t outlen, double t)
{
    format_num(out, outlen, t, 100.0, false, 6, NULL, 0);
}

/* ---- the verdict ------------------------------------------------------------------- */

/* "8 of 38 columns drifted (21 %): no dataset drift; retraining not flagged, threshold 50 %" */
static void put_verdict(rpt_buf *b, const rpt_run *r)
{
    const stats_verdict *v = &r->verdict;
    char share[64], thr[64];
    rpt_buf_printf(b, "%zu of %zu column%s drifted ", v->number_of_drifted_columns,
                   v->number_of_columns, v->number_of_columns == 1 ? "" : "s");
    if (v->number_of_columns == 0 || !isfinite(v->share_of_drifted_columns)) {
        rpt_buf_puts(b, "(no column tested)");
    } else {
        format_pct(share, sizeof share, v->share_of_drifted_columns, 0, r->drift_share,
                   r->retrain_fraction);
        rpt_buf_printf(b, "(%s %%)", share);
    }
    format_threshold_pct(thr, sizeof thr, r->retrain_fraction);
    rpt_buf_printf(b, ": %s; retraining %s, threshold %s %%",
                   v->dataset_drift ? "dataset drift" : "no dataset drift",
                   v->retrain ? "flagged" : "not flagged", thr);
}

/* ---- the column order -------------------------------------------------------------- */

typedef struct {
    size_t index;
    double key; /* how far past its threshold: larger = more drifted; NaN last */
} col_rank;

/* Distance tests: score / threshold.  p-value tests: threshold / p, p = 0 first. */
static double rank_key(const stats_column_result *c)
{
    double s = c->score, t = c->threshold;
    if (isnan(s) || isnan(t))
        return NAN;
    if (stats_test_is_pvalue(c->test)) {
        if (s <= 0.0)
            return INFINITY;
        return t / s;
    }
    if (t <= 0.0)
        return s > 0.0 ? INFINITY : 1.0;
    return s / t;
}

static int rank_cmp(const void *pa, const void *pb)
{
    const col_rank *a = pa, *b = pb;
    bool na = isnan(a->key), nb = isnan(b->key);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* ---- the model (issue 17) ------------------------------------------------------------ */

/* The figures of the memo sentence and the reasons, printed once each way: shares as
 * percentages with one decimal (more when needed to stay on the right side of a threshold),
 * the PSI with two decimals (more near a band edge or the rule's threshold). */
static void format_share1(char *out, size_t outlen, double share, double t1, double t2)
{
    format_pct(out, outlen, share, 1, t1, t2);
}

static void format_psi(char *out, size_t outlen, double psi, double rule)
{
    double bounds[3] = {0.1, 0.25, rule};
    format_num(out, outlen, psi, 1.0, true, 2, bounds, 3);
}

/* "12 of 132 columns drifted (9.1 %); together they carry 3.4 % of the model's importance;
 * the score's PSI is 0.04 (stable)": the clauses about the model only when the run had
 * importances (importance_sha256) and a score column. */
static void put_memo(rpt_buf *b, const rpt_run *r)
{
    const stats_verdict *v = &r->verdict;
    char num[64];
    rpt_buf_printf(b, "<p class=\"memo\" id=\"memo\">%zu of %zu column%s drifted ",
                   v->number_of_drifted_columns, v->number_of_columns,
                   v->number_of_columns == 1 ? "" : "s");
    if (v->number_of_columns == 0 || !isfinite(v->share_of_drifted_columns)) {
        rpt_buf_puts(b, "(no column tested)");
    } else {
        format_share1(num, sizeof num, v->share_of_drifted_columns, r->drift_share,
                      r->retrain_fraction);
        rpt_buf_printf(b, "(%s %%)", num);
    }
    if (r->importance_sha256 != NULL) {
        double w = v->importance_weighted_share;
        if (isfinite(w)) {
            format_share1(num, sizeof num, w, r->retrain_weighted_fraction, NAN);
            rpt_buf_printf(b, "; %s %s %% of the model&rsquo;s importance",
                           v->number_of_drifted_columns == 1 ? "it carries" : "together they carry",
                           num);
        } else {
            rpt_buf_puts(b, "; their share of the model&rsquo;s importance is not defined");
            if (r->weighted_note != NULL) {
                rpt_buf_puts(b, " (");
                rpt_buf_put_html(b, r->weighted_note);
                rpt_buf_puts(b, ")");
            }
        }
    }
    if (r->score_column != NULL) {
        if (r->score != NULL) {
            format_psi(num, sizeof num, r->score->psi, r->retrain_score_psi);
            rpt_buf_printf(b, "; the score&rsquo;s PSI is %s (%s)", num,
                           stats_psi_band_name(r->score->band));
        } else {
            rpt_buf_puts(b, "; the score&rsquo;s PSI is not defined");
            if (r->score_note != NULL) {
                rpt_buf_puts(b, " (");
                rpt_buf_put_html(b, r->score_note);
                rpt_buf_puts(b, ")");
            }
        }
    }
    rpt_buf_puts(b, "</p>\n");
}

/* Each configured condition of the retrain rule, its figure and whether it held (bold). */
static void put_reasons(rpt_buf *b, const rpt_run *r)
{
    const stats_verdict *v = &r->verdict;
    char fig[64], thr[64];
    rpt_buf_printf(b, "<p id=\"reasons\">Retraining <strong>%s</strong>: ",
                   v->retrain ? "flagged" : "not flagged");
    bool held = v->retrain_reasons & STATS_RETRAIN_SHARE;
    format_share1(fig, sizeof fig, v->share_of_drifted_columns, r->drift_share,
                  r->retrain_fraction);
    format_threshold_pct(thr, sizeof thr, r->retrain_fraction);
    rpt_buf_printf(b, "%sthe share of drifted columns, %s %%, is %s %s %%%s",
                   held ? "<strong>" : "", fig, held ? "above" : "not above", thr,
                   held ? "</strong>" : "");
    if (isfinite(r->retrain_weighted_fraction)) {
        held = v->retrain_reasons & STATS_RETRAIN_WEIGHTED_SHARE;
        format_threshold_pct(thr, sizeof thr, r->retrain_weighted_fraction);
        if (isfinite(v->importance_weighted_share)) {
            format_share1(fig, sizeof fig, v->importance_weighted_share,
                          r->retrain_weighted_fraction, NAN);
            rpt_buf_printf(b, "; %sthe importance-weighted share, %s %%, is %s %s %%%s",
                           held ? "<strong>" : "", fig, held ? "above" : "not above", thr,
                           held ? "</strong>" : "");
        } else {
            rpt_buf_printf(b, "; the importance-weighted share (limit %s %%) is not defined", thr);
        }
    }
    if (isfinite(r->retrain_score_psi)) {
        held = v->retrain_reasons & STATS_RETRAIN_SCORE_PSI;
        format_num(thr, sizeof thr, r->retrain_score_psi, 1.0, false, 6, NULL, 0);
        if (isfinite(v->score_psi)) {
            format_psi(fig, sizeof fig, v->score_psi, r->retrain_score_psi);
            rpt_buf_printf(b, "; %sthe score&rsquo;s PSI, %s, is %s %s%s", held ? "<strong>" : "",
                           fig, held ? "at or above" : "below", thr, held ? "</strong>" : "");
        } else {
            rpt_buf_printf(b, "; the score&rsquo;s PSI (limit %s) is not defined", thr);
        }
    }
    if (r->perf_label != NULL && isfinite(r->retrain_cost_increase)) {
        held = v->retrain_reasons & STATS_RETRAIN_COST;
        format_num(thr, sizeof thr, r->retrain_cost_increase * 100.0, 1.0, false, 6, NULL, 0);
        if (isfinite(v->cost_increase)) {
            format_num(fig, sizeof fig, v->cost_increase * 100.0, 1.0, true, 1, NULL, 0);
            rpt_buf_printf(b, "; %sthe business cost&rsquo;s change, %s %%, is %s +%s %%%s",
                           held ? "<strong>" : "", fig, held ? "above" : "not above", thr,
                           held ? "</strong>" : "");
        } else {
            rpt_buf_printf(b, "; the business cost&rsquo;s change (limit +%s %%) is not defined",
                           thr);
        }
    }
    rpt_buf_puts(b, ".</p>\n");
}

static void put_rate(rpt_buf *b, double rate)
{
    char num[64];
    format_pct(num, sizeof num, rate, 1, NAN, NAN);
    rpt_buf_printf(b, "%s%s", num, isfinite(rate) ? " %" : "");
}

/* The score panel: the two distributions on the common decile bins, the PSI and its band,
 * the approval rates side by side, the threshold. */
static void put_score_panel(rpt_buf *b, const rpt_run *r)
{
    if (r->score_column == NULL)
        return;
    const stats_score_drift *s = r->score;
    rpt_buf_puts(b, "<div class=\"panel\" id=\"score\">\n<h3>The score: ");
    rpt_buf_put_html(b, r->score_column);
    rpt_buf_puts(b, "</h3>\n");
    if (s == NULL) {
        rpt_buf_puts(b, "<p>No PSI");
        if (r->score_note != NULL) {
            rpt_buf_puts(b, ": ");
            rpt_buf_put_html(b, r->score_note);
        }
        rpt_buf_puts(b, ".</p>\n</div>\n");
        return;
    }
    char num[64];
    format_psi(num, sizeof num, s->psi, r->retrain_score_psi);
    rpt_buf_printf(b,
                   "<p>PSI <strong>%s</strong> <span class=\"band %s\">%s</span> "
                   "<span class=\"note\">(stable &lt; 0.1 &le; watch &lt; 0.25 &le; act)"
                   "</span></p>\n",
                   num, stats_psi_band_name(s->band), stats_psi_band_name(s->band));
    char *title = NULL;
    rpt_buf t;
    rpt_buf_init(&t);
    rpt_buf_puts(&t, "the score ");
    rpt_buf_puts(&t, r->score_column);
    rpt_buf_puts(&t, " on the reference's deciles: reference and current shares");
    title = rpt_buf_take(&t);
    if (title == NULL) {
        b->failed = true;
        return;
    }
    rpt_svg_score(b, s, title);
    free(title);
    rpt_buf_puts(b, "<p class=\"legend\"><span class=\"key refbar\"></span>reference "
                    "<span class=\"key curbar\"></span>current: share of scores in each decile "
                    "bin of the reference (bin 1 the lowest)</p>\n"
                    "<table class=\"rates\"><thead><tr><th></th><th>Reference</th>"
                    "<th>Current</th></tr></thead>\n<tbody>\n<tr><td>Approval rate");
    if (isfinite(r->decision_threshold)) {
        format_num(num, sizeof num, r->decision_threshold, 1.0, false, 6, NULL, 0);
        rpt_buf_printf(b, " (score &lt; %s)", num);
    }
    rpt_buf_puts(b, "</td><td class=\"n\">");
    put_rate(b, s->ref_approval);
    rpt_buf_puts(b, "</td><td class=\"n\">");
    put_rate(b, s->cur_approval);
    rpt_buf_printf(b,
                   "</td></tr>\n<tr><td>Scores compared</td><td class=\"n\">%" PRIu64
                   "</td><td class=\"n\">%" PRIu64 "</td></tr>\n"
                   "<tr><td>Scores missing or not finite</td><td class=\"n\">%" PRIu64
                   "</td><td class=\"n\">%" PRIu64 "</td></tr>\n</tbody></table>\n</div>\n",
                   s->ref_n, s->cur_n, r->score_ref.missing + r->score_ref.nonfinite,
                   r->score_cur.missing + r->score_cur.nonfinite);
}

static void put_importance_chart(rpt_buf *b, const rpt_run *r)
{
    if (r->ncols == 0)
        return;
    rpt_imp_point *p = malloc(r->ncols * sizeof *p);
    if (p == NULL) {
        b->failed = true;
        return;
    }
    size_t n = 0;
    if (rpt_importance_points(r->cols, r->ncols, p, &n) == 0 && n > 0) {
        rpt_buf_puts(b, "<div class=\"panel\" id=\"importance\">\n<h3>Drift against "
                        "importance</h3>\n");
        rpt_svg_importance(b, p, n, r->cols,
                           "drift relative to the threshold against the share of the model's "
                           "importance, one point per tested column");
        rpt_buf_printf(b,
                       "<p class=\"legend\">x: the column&rsquo;s share of the importance of "
                       "the tested columns; y: its drift score relative to its threshold "
                       "(p-value tests on the log scale; dashed line: the threshold). "
                       "<span class=\"key curbar\"></span>drifted, "
                       "&#9675; not drifted; ringed: the %d most important columns that "
                       "carry more than the average share, named when they drifted.</p>\n",
                       RPT_IMP_TOP);
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            if (!p[i].top || !p[i].drifted)
                continue;
            rpt_buf_puts(b, any ? ", "
                                : "<p class=\"where\"><strong>Drifted among the most "
                                  "important:</strong> ");
            rpt_buf_put_html(b, r->cols[p[i].index].name);
            any = true;
        }
        if (any)
            rpt_buf_puts(b, ".</p>\n");
        rpt_buf_puts(b, "</div>\n");
    }
    free(p);
}

/* The columns the importances name that were not tested. */
static void put_untested(rpt_buf *b, const rpt_run *r)
{
    if (r->nuntested == 0)
        return;
    rpt_buf_puts(b, "<p class=\"where\"><strong>With an importance but not tested:</strong> ");
    for (size_t i = 0; i < r->nuntested; i++) {
        char num[64];
        format_num(num, sizeof num, r->untested[i].importance, 1.0, false, 6, NULL, 0);
        if (i > 0)
            rpt_buf_puts(b, "; ");
        rpt_buf_put_html(b, r->untested[i].name);
        rpt_buf_printf(b, " (importance %s, ", num);
        rpt_buf_put_html(b, r->untested[i].reason);
        rpt_buf_puts(b, ")");
    }
    rpt_buf_puts(b, ".</p>\n");
}

/* One figure of a performance side as a table cell. */
static void put_perf_cell(rpt_buf *b, const stats_perf *p, int which)
{
    char num[64];
    rpt_buf_puts(b, "<td class=\"n\">");
    if (p == NULL) {
        rpt_buf_puts(b, "n/a</td>");
        return;
    }
    switch (which) {
    case 0:
        rpt_buf_printf(b, "%" PRIu64 " (%" PRIu64 " left out)", p->rows, p->left_out);
        break;
    case 1:
        rpt_buf_printf(b, "%" PRIu64 " / %" PRIu64 " / %" PRIu64 " / %" PRIu64, p->tp, p->fp, p->tn,
                       p->fn);
        break;
    case 2:
        format_num(num, sizeof num, p->auc, 1.0, true, 4, NULL, 0);
        rpt_buf_puts(b, num);
        break;
    case 3:
        format_pct(num, sizeof num, p->recall, 1, NAN, NAN);
        rpt_buf_printf(b, "%s%s", num, isfinite(p->recall) ? " %" : "");
        break;
    case 4:
        format_pct(num, sizeof num, p->precision, 1, NAN, NAN);
        rpt_buf_printf(b, "%s%s", num, isfinite(p->precision) ? " %" : "");
        break;
    case 5:
        format_num(num, sizeof num, p->business_cost, 1.0, false, 6, NULL, 0);
        rpt_buf_puts(b, num);
        break;
    case 6:
        if (isinf(p->optimal_threshold)) {
            rpt_buf_puts(b, "refuse nobody");
        } else {
            format_num(num, sizeof num, p->optimal_threshold, 1.0, false, 6, NULL, 0);
            rpt_buf_puts(b, num);
        }
        break;
    default:
        format_num(num, sizeof num, p->business_cost_at_optimal, 1.0, false, 6, NULL, 0);
        rpt_buf_puts(b, num);
        break;
    }
    rpt_buf_puts(b, "</td>");
}

static void put_perf_evaluation(rpt_buf *b, const rpt_perf_evaluation *e);

/* The outcomes (issue 21): each side's figures, the cost increase, and why a side has none. */
static void put_perf_panel(rpt_buf *b, const rpt_run *r)
{
    if (r->perf_label == NULL)
        return;
    static const char *const rows[] = {"Rows evaluated",
                                       "TP / FP / TN / FN",
                                       "AUC",
                                       "Recall",
                                       "Precision",
                                       "Business cost per application",
                                       "Optimal threshold",
                                       "Business cost at the optimal threshold"};
    char num[64], fn[64], fp[64];
    rpt_buf_puts(b, RPT_HTML_PERF_BEGIN);
    rpt_buf_puts(b, "<div class=\"panel\" id=\"performance\">\n<h3>Performance against the "
                    "outcomes: ");
    rpt_buf_put_html(b, r->perf_label);
    format_num(fn, sizeof fn, r->cost_fn, 1.0, false, 6, NULL, 0);
    format_num(fp, sizeof fp, r->cost_fp, 1.0, false, 6, NULL, 0);
    format_num(num, sizeof num, r->decision_threshold, 1.0, false, 6, NULL, 0);
    rpt_buf_printf(b,
                   "</h3>\n<p class=\"note\">A loan is refused when the score &ge; %s; "
                   "business cost = (%s &middot; FN + %s &middot; FP) / rows.</p>\n"
                   "<table class=\"rates\"><thead><tr><th></th><th>Reference</th>"
                   "<th>Current</th></tr></thead>\n<tbody>\n",
                   num, fn, fp);
    for (int i = 0; i < (int)(sizeof rows / sizeof rows[0]); i++) {
        rpt_buf_printf(b, "<tr><td>%s</td>", rows[i]);
        put_perf_cell(b, r->perf_ref, i);
        put_perf_cell(b, r->perf_cur, i);
        rpt_buf_puts(b, "</tr>\n");
    }
    rpt_buf_puts(b, "</tbody></table>\n");
    double inc = r->verdict.cost_increase;
    if (isfinite(inc)) {
        format_num(num, sizeof num, inc * 100.0, 1.0, true, 1, NULL, 0);
        rpt_buf_printf(b,
                       "<p>Business cost change: <strong>%s%s %%</strong> against the "
                       "reference.</p>\n",
                       inc > 0 ? "+" : "", num);
    } else {
        rpt_buf_puts(b, "<p>Business cost change: not defined.</p>\n");
    }
    const char *notes[2] = {r->perf_ref ? NULL : r->perf_ref_note,
                            r->perf_cur ? NULL : r->perf_cur_note};
    for (int i = 0; i < 2; i++)
        if (notes[i] != NULL) {
            rpt_buf_printf(b, "<p class=\"note\">%s: ", i == 0 ? "Reference" : "Current");
            rpt_buf_put_html(b, notes[i]);
            rpt_buf_puts(b, ".</p>\n");
        }
    put_perf_evaluation(b, r->perf_eval);
    rpt_buf_puts(b, "</div>\n" RPT_HTML_PERF_END);
}

/* The evaluation behind a re-rendered report's current figures (issue 21). */
static void put_perf_evaluation(rpt_buf *b, const rpt_perf_evaluation *e)
{
    if (e == NULL)
        return;
    rpt_buf_puts(b, "<p class=\"note\" id=\"evaluation\">Current: the cohort&rsquo;s outcomes as "
                    "evaluated at ");
    rpt_buf_put_html(b, e->evaluated_at);
    rpt_buf_printf(b, " (evaluation %lld", (long long)e->id);
    if (e->supersedes > 0)
        rpt_buf_printf(b, ", superseding evaluation %lld", (long long)e->supersedes);
    rpt_buf_printf(b, ")%s.  The rest of this report is the run&rsquo;s, as first written.</p>\n",
                   e->retrain_flagged ? "; retraining flagged for the business cost" : "");
}

static int replace_between(const char *doc, const char *begin, const char *end, const char *with,
                           char **out);

int rpt_html_replace_performance(const char *doc, const rpt_run *r, char **out)
{
    *out = NULL;
    if (doc == NULL || r == NULL || r->perf_label == NULL)
        return 1;
    rpt_buf b;
    rpt_buf_init(&b);
    put_perf_panel(&b, r);
    char *panel = rpt_buf_take(&b);
    if (panel == NULL)
        return -1;
    int rc = replace_between(doc, RPT_HTML_PERF_BEGIN, RPT_HTML_PERF_END, panel, out);
    free(panel);
    return rc;
}

/* doc with its one span from begin to end (both included, each found once, begin first)
 * replaced by with: 0 with *out; 1 no such span; -1 out of memory. */
static int replace_between(const char *doc, const char *begin, const char *end, const char *with,
                           char **out)
{
    const char *a = strstr(doc, begin);
    if (a == NULL || strstr(a + 1, begin) != NULL)
        return 1;
    const char *z = strstr(a, end);
    if (z == NULL || strstr(z + 1, end) != NULL)
        return 1;
    z += strlen(end);
    size_t head = (size_t)(a - doc), mid = strlen(with), tail = strlen(z);
    char *o = malloc(head + mid + tail + 1);
    if (o == NULL)
        return -1;
    memcpy(o, doc, head);
    memcpy(o + head, with, mid);
    memcpy(o + head + mid, z, tail + 1);
    *out = o;
    return 0;
}

static void put_model(rpt_buf *b, const rpt_run *r)
{
    rpt_buf_puts(b, "<section id=\"summary\">\n<h2>Summary</h2>\n");
    put_memo(b, r);
    put_reasons(b, r);
    put_score_panel(b, r);
    put_perf_panel(b, r);
    put_importance_chart(b, r);
    put_untested(b, r);
    rpt_buf_puts(b, "</section>\n");
}

/* ---- sections ---------------------------------------------------------------------- */

static const char html_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em;"
    "color:#1a1a1a;background:#fff;line-height:1.4}\n"
    "h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}\n"
    ".verdict{font-size:1.1em;font-weight:600;padding:.6em .8em;border-left:.4em solid #888;"
    "background:#f4f4f4}\n"
    ".verdict.drift{border-color:#b00020}.verdict.ok{border-color:#1b7f3b}\n"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:1em 0}\n"
    "dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}\n"
    "table{border-collapse:collapse;font-size:.92em}\n"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "\n"
    ".badge{display:inline-block;padding:0 .5em;border-radius:.8em;font-weight:600;"
    "border:1px solid;white-space:nowrap}\n"
    ".badge.drift{color:#b00020;background:#fde8ec}\n"
    ".badge.ok{color:#1b7f3b;background:#e6f4ea}\n"
    ".badge.na{color:#555;background:#f0f0f0}\n"
    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}\n"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto}\n"
    ".scroll{overflow-x:auto}\n"
    "td.plot{padding:.15em .3em;min-width:200px}svg.plot{display:block;max-width:100%;height:auto}"
    "\ntbody td:first-child{overflow-wrap:anywhere;min-width:11em}\n"
    "svg.plot text{fill:#333;font-family:inherit}\n"
    ".jump{font-weight:600;color:#7a3d00;white-space:nowrap}\n"
    ".note{font-weight:400;font-size:.85em;color:#555}\n"
    ".key{display:inline-block;width:1.6em;height:.8em;vertical-align:middle;margin:0 .3em}\n"
    ".key.ref{background:rgba(0,114,178,.35);border:1px solid #0072B2}\n"
    ".key.cur{border-top:2px solid #D55E00;height:0}\n"
    ".key.curbar{background:#D55E00}.key.refbar{background:#0072B2}\n"
    ".memo{font-size:1.05em;padding:.5em .8em;border:1px dashed #888;background:#fafafa}\n"
    ".panel{display:inline-block;vertical-align:top;margin:0 1.5em 1em 0}"
    ".panel h3{font-size:1em;margin:.4em 0}\n"
    ".band{font-weight:600;padding:0 .5em;border-radius:.8em;border:1px solid}"
    ".band.stable{color:#1b7f3b}.band.watch{color:#7a3d00}.band.act{color:#b00020}\n"
    "@media (max-width:700px){body{margin:.6em}table{font-size:.85em}"
    "th,td{padding:.2em .3em}tbody td:first-child{min-width:9em}\n"
    /* phones: each column of the data becomes a card, labels from CSS (no per-row bytes) */
    "#columns table,#columns tbody,#columns tr,#columns td{display:block}"
    "#columns thead{display:none}#columns table{border:0}"
    "#columns tr{border:1px solid #ccc;margin:.5em 0;padding:.3em}"
    "#columns td{border:0;padding:.1em .3em;text-align:left}"
    "#columns td:first-child{font-weight:600}"
    "#columns td:nth-child(n+2):nth-child(-n+7){display:inline-block}"
    "#columns td:nth-child(3)::before{content:'test '}"
    "#columns td:nth-child(4)::before{content:'threshold '}"
    "#columns td:nth-child(5)::before{content:'score '}"
    "#columns td:nth-child(7)::before{content:'importance '}"
    "#columns td:nth-child(8)::before{content:'missing ref / cur: '}"
    "#columns td:nth-child(9)::before{content:'unseen categories: '}"
    "#columns td:empty{display:none}}\n"
    "@media print{body{margin:0;font-size:10pt}.scroll{overflow:visible}"
    "tr{break-inside:avoid}th{background:#fff}"
    ".badge,.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

static void put_head(rpt_buf *b, const rpt_run *r)
{
    rpt_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>Data drift report: ");
    rpt_buf_put_html(b, r->cur_source != NULL ? r->cur_source : "(unknown)");
    rpt_buf_puts(b, "</title>\n<style>\n");
    rpt_buf_puts(b, html_css);
    rpt_buf_puts(b, "</style>\n</head>\n<body>\n");
}

static void put_meta_row(rpt_buf *b, const char *label, const char *text)
{
    rpt_buf_printf(b, "<dt>%s</dt><dd>", label);
    if (text != NULL && *text != '\0')
        rpt_buf_put_html(b, text);
    else
        rpt_buf_puts(b, "\xE2\x80\x94"); /* em dash */
    rpt_buf_puts(b, "</dd>\n");
}

static void put_header(rpt_buf *b, const rpt_run *r)
{
    const stats_verdict *v = &r->verdict;
    char num[64];
    rpt_buf_puts(b, "<header>\n<h1>Data drift report</h1>\n");
    rpt_buf_printf(b, "<p class=\"verdict %s\" id=\"verdict\">",
                   v->dataset_drift || v->retrain ? "drift" : "ok");
    put_verdict(b, r);
    rpt_buf_puts(b, "</p>\n<dl class=\"meta\">\n");
    put_meta_row(b, "Reference", r->ref_source);
    if (r->monitor != NULL)
        put_meta_row(b, "Monitor", r->monitor);
    if (r->ref_name != NULL)
        put_meta_row(b, "Reference name", r->ref_name);
    snprintf(num, sizeof num, "%" PRIu64, r->ref_rows);
    put_meta_row(b, "Reference rows", num);
    rpt_buf_puts(b, "<dt>Profile sha256</dt><dd>");
    if (r->ref_sha256 != NULL && *r->ref_sha256 != '\0') {
        rpt_buf_puts(b, "<code>");
        rpt_buf_put_html(b, r->ref_sha256);
        rpt_buf_puts(b, "</code>");
    } else {
        rpt_buf_puts(b, "\xE2\x80\x94");
    }
    rpt_buf_puts(b, "</dd>\n");
    put_meta_row(b, "Current", r->cur_source);
    snprintf(num, sizeof num, "%" PRIu64, r->cur_rows);
    put_meta_row(b, "Current rows", num);
    if (r->cur_span != NULL)
        put_meta_row(b, "Time span", r->cur_span);
    format_threshold_pct(num, sizeof num, r->drift_share);
    rpt_buf_printf(b, "<dt>Dataset drift when</dt><dd>share of drifted columns &ge; %s %%</dd>\n",
                   num);
    format_threshold_pct(num, sizeof num, r->retrain_fraction);
    rpt_buf_printf(b, "<dt>Retraining when</dt><dd>share of drifted columns &gt; %s %%", num);
    if (isfinite(r->retrain_weighted_fraction)) {
        format_threshold_pct(num, sizeof num, r->retrain_weighted_fraction);
        rpt_buf_printf(b, ", or importance-weighted share &gt; %s %%", num);
    }
    if (isfinite(r->retrain_score_psi)) {
        format_num(num, sizeof num, r->retrain_score_psi, 1.0, false, 6, NULL, 0);
        rpt_buf_printf(b, ", or the score&rsquo;s PSI &ge; %s", num);
    }
    if (r->perf_label != NULL && isfinite(r->retrain_cost_increase)) {
        format_num(num, sizeof num, r->retrain_cost_increase * 100.0, 1.0, false, 6, NULL, 0);
        rpt_buf_printf(b, ", or the business cost &gt; the reference&rsquo;s by more than %s %%",
                       num);
    }
    rpt_buf_puts(b, "</dd>\n");
    put_meta_row(b, "Generated", r->generated_at);
    put_meta_row(b, "driftmon", r->version);
    rpt_buf_puts(b, "</dl>\n</header>\n");
}

static void put_missing(rpt_buf *b, const stats_side *s)
{
    char pct[64];
    if (s->rows == 0) {
        rpt_buf_puts(b, "\xE2\x80\x93"); /* en dash */
        return;
    }
    if (s->missing == 0)
        rpt_buf_puts(b, "0 %");
    else {
        format_pct(pct, sizeof pct, (double)s->missing / (double)s->rows, 1, NAN, NAN);
        rpt_buf_printf(b, "%s %%", pct);
    }
    if (s->nonfinite > 0)
        rpt_buf_printf(b, " (+%" PRIu64 " non-finite)", s->nonfinite);
}

/* Share of rows without a usable value (missing or non-finite); NaN for an empty side. */
static double missing_share(const stats_side *s)
{
    if (s->rows == 0)
        return NAN;
    return (double)(s->missing + s->nonfinite) / (double)s->rows;
}

/* A jump of the missing share: at least RPT_MISSING_JUMP (absolute, 5 percentage points)
 * between reference and current.  Flagged with an arrow and words, not colour alone. */
#define RPT_MISSING_JUMP 0.05

static void put_missing_jump(rpt_buf *b, const stats_column_result *c)
{
    double r = missing_share(&c->ref), k = missing_share(&c->cur);
    if (!isfinite(r) || !isfinite(k) || fabs(k - r) < RPT_MISSING_JUMP)
        return;
    rpt_buf_printf(b,
                   " <span class=\"jump\" title=\"missing share changed by %+.1f percentage "
                   "points\">%s %+.1f pts</span>",
                   (k - r) * 100.0, k > r ? "\xE2\x96\xB2" : "\xE2\x96\xBC", (k - r) * 100.0);
}

/* The importance cell: the share of the tested columns' importance (total > 0), the raw
 * number in the tooltip; a dash without one. */
static void put_importance_cell(rpt_buf *b, double importance, double total)
{
    char num[64], raw[64];
    if (!isfinite(importance)) {
        rpt_buf_puts(b, "<td class=\"n\">\xE2\x80\x94</td>");
        return;
    }
    format_num(raw, sizeof raw, importance, 1.0, false, 6, NULL, 0);
    if (total > 0.0) {
        format_pct(num, sizeof num, importance / total, 1, NAN, NAN);
        rpt_buf_printf(b, "<td class=\"n\" title=\"importance %s\">%s %%</td>", raw, num);
    } else {
        rpt_buf_printf(b, "<td class=\"n\">%s</td>", raw);
    }
}

/* The sum of the tested columns' importances (a NaN importance weighs 0). */
static double importance_total(const rpt_run *r)
{
    double t = 0.0;
    for (size_t i = 0; i < r->ncols; i++)
        if (isfinite(r->cols[i].importance))
            t += r->cols[i].importance;
    return t;
}

static void put_column_row(rpt_buf *b, const stats_column_result *c, const char *plot, double total)
{
    char thr[64], score[64];
    double bound[1] = {c->threshold};
    format_num(thr, sizeof thr, c->threshold, 1.0, false, 4, NULL, 0);
    format_num(score, sizeof score, c->score, 1.0, false, 4, bound, 1);
    const char *badge_class, *badge_text;
    if (isnan(c->score)) {
        badge_class = "na";
        badge_text = "no score";
    } else if (c->drifted) {
        badge_class = "drift";
        badge_text = "drifted";
    } else {
        badge_class = "ok";
        badge_text = "no drift";
    }
    const char *tdisp = stats_test_display(c->test);
    rpt_buf_puts(b, "<tr><td>");
    rpt_buf_put_html(b, c->name);
    if (c->note != NULL) {
        rpt_buf_puts(b, "<div class=\"note\">");
        rpt_buf_put_html(b, c->note);
        rpt_buf_puts(b, "</div>");
    }
    rpt_buf_printf(b, "</td><td>%s</td><td title=\"", c->kind == STATS_CAT ? "cat" : "num");
    rpt_buf_put_html(b, tdisp != NULL ? tdisp : "?");
    rpt_buf_puts(b, "\">");
    rpt_buf_put_html(b, stats_test_name(c->test) != NULL ? stats_test_name(c->test) : "?");
    rpt_buf_printf(b,
                   "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                   "<td><span class=\"badge %s\">%s</span></td>",
                   thr, score, badge_class, badge_text);
    put_importance_cell(b, c->importance, total);
    rpt_buf_puts(b, "<td class=\"n\">");
    put_missing(b, &c->ref);
    rpt_buf_puts(b, " / ");
    put_missing(b, &c->cur);
    put_missing_jump(b, c);
    rpt_buf_puts(b, "</td><td class=\"n\">");
    if (c->kind == STATS_CAT) {
        char pct[64];
        rpt_buf_printf(b, "%zu", c->unseen_categories);
        if (c->unseen_categories > 0 && isfinite(c->unseen_share)) {
            format_pct(pct, sizeof pct, c->unseen_share, 1, NAN, NAN);
            rpt_buf_printf(b, " (%s %%)", pct);
        }
    }
    rpt_buf_puts(b, "</td><td class=\"plot\">");
    bool drawn;
    if (plot) { /* drawn with the test */
        drawn = plot[0] != '\0';
        rpt_buf_puts(b, plot);
    } else {
        drawn = c->data != NULL && rpt_svg_column(b, c->data, c->cat_labels, c->name) == 0;
    }
    if (!drawn)
        rpt_buf_puts(b, "\xE2\x80\x94");
    rpt_buf_puts(b, "</td></tr>\n");
}

/* "Drifted: A, B, C" in table order, so the reader sees where before reading the table; and
 * the columns whose missing share jumped. */
static void put_drifted_list(rpt_buf *b, const rpt_run *r, const col_rank *rank)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        const stats_column_result *c = &r->cols[rank[i].index];
        if (!c->drifted)
            continue;
        rpt_buf_puts(b, n == 0 ? "<p class=\"where\"><strong>Drifted:</strong> " : ", ");
        rpt_buf_put_html(b, c->name);
        n++;
    }
    if (n > 0)
        rpt_buf_puts(b, ".</p>\n");
    n = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        const stats_column_result *c = &r->cols[rank[i].index];
        double m0 = missing_share(&c->ref), m1 = missing_share(&c->cur);
        if (!isfinite(m0) || !isfinite(m1) || fabs(m1 - m0) < RPT_MISSING_JUMP)
            continue;
        rpt_buf_puts(b,
                     n == 0 ? "<p class=\"where\"><strong>Missing share jumped:</strong> " : ", ");
        rpt_buf_put_html(b, c->name);
        n++;
    }
    if (n > 0)
        rpt_buf_puts(b, ".</p>\n");
}

static void put_columns(rpt_buf *b, const rpt_run *r)
{
    rpt_buf_puts(b, "<section id=\"columns\">\n<h2>Columns</h2>\n");
    if (r->ncols == 0) {
        rpt_buf_puts(b, "<p>No column was tested.</p>\n</section>\n");
        return;
    }
    col_rank *rank = calloc(r->ncols, sizeof *rank);
    if (rank == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < r->ncols; i++) {
        rank[i].index = i;
        rank[i].key = rank_key(&r->cols[i]);
    }
    qsort(rank, r->ncols, sizeof *rank, rank_cmp);
    put_drifted_list(b, r, rank);
    rpt_buf_puts(
        b,
        "<p>Most drifted first: distance tests by score / threshold, p-value "
        "tests by threshold / p-value.</p>\n"
        "<p class=\"legend\">Plots: <span class=\"key ref\"></span>reference "
        "(filled area) <span class=\"key cur\"></span>current (line) on common "
        "bins; for categories <span class=\"key refbar\"></span>reference (left "
        "bar) <span class=\"key curbar\"></span>current (right bar), top "
        "categories then &ldquo;other&rdquo;. &#9650;/&#9660; marks a jump of the "
        "missing share of 5 points or more.</p>\n"
        "<div class=\"scroll\"><table>\n<thead><tr><th>Column</th><th>Type</th>"
        "<th>Test</th><th>Threshold</th><th>Score</th><th>Drift</th>"
        "<th>Impor\xC2\xADtance</th><th>Missing (ref / cur)</th><th>Unseen cate\xC2\xADgories</th>"
        "<th>Reference vs current</th></tr></thead>\n<tbody>\n");
    double total = importance_total(r);
    for (size_t i = 0; i < r->ncols; i++)
        put_column_row(b, &r->cols[rank[i].index], r->plots ? r->plots[rank[i].index] : NULL,
                       total);
    rpt_buf_puts(b, "</tbody>\n</table></div>\n</section>\n");
    free(rank);
}

/* Most important first, the ties in table order. */
static int importance_cmp(const void *pa, const void *pb)
{
    const col_rank *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/*
 * The columns most important first, when the tested columns' importances sum to more than 0:
 * a compact table (no plots: the plots are in the drift-first table below, which stays the
 * main one) with each column's share, the running total and the drift, so that "the top
 * columns carry 80 % of the importance and none of them drifted" can be read off.  No
 * script: a <details>, open.
 */
static void put_by_importance(rpt_buf *b, const rpt_run *r)
{
    double total = importance_total(r);
    if (r->ncols == 0 || !(total > 0.0) || !isfinite(total))
        return;
    col_rank *rank = calloc(r->ncols, sizeof *rank);
    if (rank == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < r->ncols; i++) {
        rank[i].index = i;
        rank[i].key = isfinite(r->cols[i].importance) ? r->cols[i].importance : 0.0;
    }
    qsort(rank, r->ncols, sizeof *rank, importance_cmp);
    rpt_buf_puts(b, "<section id=\"by-importance\">\n<details open>\n<summary><h2 "
                    "style=\"display:inline\">Columns by importance</h2></summary>\n"
                    "<p>Most important first; importance as a share of the tested columns&rsquo; "
                    "total, and the running total; drift / threshold as in the chart (1 on the "
                    "threshold).  The full table, most drifted first, "
                    "follows.</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>Column</th>"
                    "<th>Importance</th><th>Cumulative</th><th>Drift</th><th>Drift / "
                    "threshold</th></tr></thead>\n<tbody>\n");
    double cum = 0.0;
    for (size_t i = 0; i < r->ncols; i++) {
        const stats_column_result *c = &r->cols[rank[i].index];
        char num[64];
        rpt_buf_puts(b, "<tr><td>");
        rpt_buf_put_html(b, c->name);
        rpt_buf_puts(b, "</td>");
        put_importance_cell(b, c->importance, total);
        cum += rank[i].key;
        format_pct(num, sizeof num, cum / total, 1, NAN, NAN);
        rpt_buf_printf(b, "<td class=\"n\">%s %%</td><td><span class=\"badge %s\">%s</span></td>",
                       num,
                       isnan(c->score) ? "na"
                       : c->drifted    ? "drift"
                                       : "ok",
                       isnan(c->score) ? "no score"
                       : c->drifted    ? "drifted"
                                       : "no drift");
        double rel = rpt_drift_relative(c);
        format_num(num, sizeof num, rel, 1.0, false, 3, NULL, 0);
        rpt_buf_printf(b, "<td class=\"n\">%s</td></tr>\n", num);
    }
    rpt_buf_puts(b, "</tbody>\n</table></div>\n</details>\n</section>\n");
    free(rank);
}

static void put_skipped(rpt_buf *b, const rpt_run *r)
{
    if (r->nskipped == 0)
        return;
    rpt_buf_puts(b, "<section id=\"skipped\">\n<h2>Columns not tested</h2>\n"
                    "<table>\n<thead><tr><th>Column</th><th>Reason</th></tr></thead>\n"
                    "<tbody>\n");
    for (size_t i = 0; i < r->nskipped; i++) {
        rpt_buf_puts(b, "<tr><td>");
        rpt_buf_put_html(b, r->skipped[i].name);
        rpt_buf_puts(b, "</td><td>");
        rpt_buf_put_html(b, r->skipped[i].reason);
        rpt_buf_puts(b, "</td></tr>\n");
    }
    rpt_buf_puts(b, "</tbody>\n</table>\n</section>\n");
}

/* The settings, pretty-printed; left out when absent or not a JSON object. */
static void put_settings(rpt_buf *b, const rpt_run *r)
{
    if (r->settings_json == NULL)
        return;
    cJSON *s = cJSON_Parse(r->settings_json);
    if (s == NULL)
        return;
    char *text = cJSON_IsObject(s) ? cJSON_Print(s) : NULL;
    cJSON_Delete(s);
    if (text == NULL)
        return;
    rpt_buf_puts(b, "<section id=\"settings\">\n<h2>Settings</h2>\n<pre>");
    rpt_buf_put_html(b, text);
    rpt_buf_puts(b, "</pre>\n</section>\n");
    cJSON_free(text);
}

char *rpt_html_render(const rpt_run *r)
{
    if (r == NULL)
        return NULL;
    rpt_buf b;
    rpt_buf_init(&b);
    put_head(&b, r);
    put_header(&b, r);
    rpt_buf_puts(&b, "<main>\n");
    put_model(&b, r);
    put_by_importance(&b, r);
    put_columns(&b, r);
    put_skipped(&b, r);
    put_settings(&b, r);
    rpt_buf_puts(&b, "</main>\n</body>\n</html>\n");
    return rpt_buf_take(&b);
}

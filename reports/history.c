/*
 * history.c - index.html and the per-reference history pages (see history.h).
 */
#include "reports/history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char page_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em;"
    "color:#1a1a1a;background:#fff;line-height:1.4}\n"
    "h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}\n"
    "table{border-collapse:collapse;font-size:.92em}\n"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    "tbody td:first-child{overflow-wrap:anywhere}\n"
    ".scroll{overflow-x:auto}\n"
    ".badge{display:inline-block;padding:0 .5em;border-radius:.8em;font-weight:600;"
    "border:1px solid;white-space:nowrap}\n"
    ".badge.drift{color:#b00020;background:#fde8ec}.badge.ok{color:#1b7f3b;background:#e6f4ea}"
    "\n.badge.na{color:#555;background:#f0f0f0}\n"
    "td.plot{padding:.15em .3em;min-width:200px}"
    "svg.plot{display:block;max-width:100%;height:auto}\n"
    "svg.plot text{fill:#333;font-family:inherit}\n"
    ".key{display:inline-block;width:1.6em;height:.8em;vertical-align:middle;margin:0 .3em}\n"
    ".key.score{border-top:2px solid #0072B2;height:0}"
    ".key.thr{border-top:2px dashed #666;height:0}\n"
    ".key.wshare{border-top:2px solid #0072B2;height:0}"
    ".key.share{border-top:2px solid #D55E00;height:0}\n"
    ".key.wfrac{border-top:2px dashed #0072B2;height:0}"
    ".key.frac{border-top:2px dotted #D55E00;height:0}\n"
    ".key.drift{background:#D55E00;width:.7em;height:.7em}"
    ".key.ok{border:2px solid #0072B2;border-radius:50%;width:.5em;height:.5em}\n"
    "@media (max-width:700px){body{margin:.6em}table{font-size:.85em}"
    "th,td{padding:.2em .3em}}\n"
    "@media print{body{margin:0;font-size:10pt}.scroll{overflow:visible}"
    "tr{break-inside:avoid}th{background:#fff}"
    ".badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

static void put_head(rpt_buf *b, const char *title_prefix, const char *title_data)
{
    rpt_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
    rpt_buf_puts(b, title_prefix);
    rpt_buf_put_html(b, title_data);
    rpt_buf_puts(b, "</title>\n<style>\n");
    rpt_buf_puts(b, page_css);
    rpt_buf_puts(b, "</style>\n</head>\n<body>\n");
}

static void put_share(rpt_buf *b, double share)
{
    if (isfinite(share))
        rpt_buf_printf(b, "%.1f %%", share * 100.0);
    else
        rpt_buf_puts(b, "\xE2\x80\x93"); /* en dash */
}

static void put_verdict_badge(rpt_buf *b, const rpt_run_entry *r)
{
    if (r->ncols == 0)
        rpt_buf_puts(b, "<span class=\"badge na\">no column tested</span>");
    else if (r->dataset_drift)
        rpt_buf_puts(b, "<span class=\"badge drift\">dataset drift</span>");
    else
        rpt_buf_puts(b, "<span class=\"badge ok\">no dataset drift</span>");
    if (r->retrain)
        rpt_buf_puts(b, " <span class=\"badge drift\">retraining flagged</span>");
}

static void put_run_link(rpt_buf *b, const rpt_run_entry *r)
{
    if (r->report_href != NULL) {
        rpt_buf_puts(b, "<a href=\"");
        rpt_buf_put_html(b, r->report_href);
        rpt_buf_printf(b, "\">%lld</a>", (long long)r->run_id);
    } else {
        rpt_buf_printf(b, "%lld", (long long)r->run_id);
    }
}

char *rpt_index_render(const rpt_run_entry *runs, size_t nruns, const rpt_link *pages,
                       size_t npages)
{
    if (runs == NULL && nruns > 0)
        return NULL;
    rpt_buf b;
    rpt_buf_init(&b);
    put_head(&b, "Data drift runs", "");
    rpt_buf_printf(&b, "<header>\n<h1>Data drift runs</h1>\n<p>%zu run%s, newest first.</p>\n",
                   nruns, nruns == 1 ? "" : "s");
    if (npages > 0) {
        rpt_buf_puts(&b, "<p>Column history per reference:");
        for (size_t i = 0; i < npages; i++) {
            rpt_buf_puts(&b, i == 0 ? " <a href=\"" : ", <a href=\"");
            rpt_buf_put_html(&b, pages[i].href);
            rpt_buf_puts(&b, "\">");
            rpt_buf_put_html(&b, pages[i].text);
            rpt_buf_puts(&b, "</a>");
        }
        rpt_buf_puts(&b, "</p>\n");
    }
    rpt_buf_puts(&b, "</header>\n<main>\n");
    if (nruns == 0) {
        rpt_buf_puts(&b, "<p>No run yet.</p>\n");
    } else {
        rpt_buf_puts(&b, "<div class=\"scroll\"><table>\n<thead><tr><th>Run</th><th>Finished</th>"
                         "<th>Data</th><th>Reference</th><th>Drifted columns</th>"
                         "<th>Verdict</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < nruns; i++) {
            const rpt_run_entry *r = &runs[i];
            rpt_buf_puts(&b, "<tr><td class=\"n\">");
            put_run_link(&b, r);
            if (r->perf_report_href != NULL) {
                rpt_buf_puts(&b, " <a class=\"perf\" href=\"");
                rpt_buf_put_html(&b, r->perf_report_href);
                rpt_buf_puts(&b, "\" title=\"the run&rsquo;s report with its cohort&rsquo;s "
                                 "realised performance\">outcomes</a>");
            }
            rpt_buf_puts(&b, "</td><td>");
            rpt_buf_put_html(&b, r->finished_at);
            rpt_buf_puts(&b, "</td><td>");
            rpt_buf_put_html(&b, r->target);
            rpt_buf_puts(&b, "</td><td>");
            rpt_buf_put_html(&b, r->reference);
            rpt_buf_printf(&b, "</td><td class=\"n\">%zu of %zu (", r->ndrifted, r->ncols);
            put_share(&b, r->share);
            rpt_buf_puts(&b, ")</td><td>");
            put_verdict_badge(&b, r);
            rpt_buf_puts(&b, "</td></tr>\n");
        }
        rpt_buf_puts(&b, "</tbody>\n</table></div>\n");
    }
    rpt_buf_puts(&b, "</main>\n</body>\n</html>\n");
    return rpt_buf_take(&b);
}

/* The realised performance of the runs' cohorts (issue 21): business cost per application
 * and AUC with the reference's, the optimal threshold with the configured one; nothing when
 * no run has an evaluation.  0, or -1 out of memory. */
static int put_perf_charts(rpt_buf *b, const rpt_run_entry *runs, size_t n)
{
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        ne += runs[i].has_perf ? 1 : 0;
    if (ne == 0)
        return 0;
    int64_t *id = calloc(n, sizeof *id);
    double *v = calloc(6 * n, sizeof *v);
    if (id == NULL || v == NULL) {
        free(id);
        free(v);
        return -1;
    }
    double *cost = v, *rcost = v + n, *auc = v + 2 * n, *rauc = v + 3 * n, *opt = v + 4 * n,
           *thr = v + 5 * n;
    for (size_t i = 0; i < n; i++) {
        const rpt_run_entry *r = &runs[i];
        id[i] = r->run_id;
        cost[i] = r->has_perf ? r->perf_cost : NAN;
        rcost[i] = r->has_perf ? r->perf_ref_cost : NAN;
        auc[i] = r->has_perf ? r->perf_auc : NAN;
        rauc[i] = r->has_perf ? r->perf_ref_auc : NAN;
        opt[i] = r->has_perf ? r->perf_opt : NAN;
        thr[i] = r->has_perf ? r->perf_thr : NAN;
    }
    char title[160];
    rpt_buf_printf(b,
                   "<section class=\"perf\">\n<h2>Realised performance, once the labels are "
                   "in</h2>\n<p class=\"legend\"><span class=\"key wshare\"></span>the cohort "
                   "<span class=\"key frac\"></span>the reference (business cost, AUC) or the "
                   "configured decision threshold. %zu of %zu runs have an evaluation of their "
                   "cohort (its latest); a run without one is a gap, as is an AUC of one class "
                   "and an optimal threshold that refuses nobody.</p>\n<h3>Business cost per "
                   "application</h3>\n",
                   ne, n);
    snprintf(title, sizeof title, "business cost per application over %zu run%s", n,
             n == 1 ? "" : "s");
    rpt_svg_run_figure(b, n, id, cost, rcost, 0.01, "business cost", title);
    rpt_buf_puts(b, "\n<h3>AUC</h3>\n");
    snprintf(title, sizeof title, "AUC over %zu run%s", n, n == 1 ? "" : "s");
    rpt_svg_run_figure(b, n, id, auc, rauc, 1.0 / 1.15, "AUC", title);
    rpt_buf_puts(b, "\n<h3>Optimal threshold and the configured one</h3>\n");
    snprintf(title, sizeof title, "optimal threshold over %zu run%s", n, n == 1 ? "" : "s");
    rpt_svg_run_figure(b, n, id, opt, thr, 1.0 / 1.15, "optimal threshold", title);
    rpt_buf_puts(b, "\n</section>\n");
    free(id);
    free(v);
    return 0;
}

/* The run-level charts (issue 17): the shares over runs, the score PSI over runs.
 * 0, or -1 on out of memory. */
static int put_run_charts(rpt_buf *b, const rpt_run_entry *runs, size_t n)
{
    if (n == 0)
        return 0;
    int64_t *id = calloc(n, sizeof *id);
    double *v = calloc(6 * n, sizeof *v);
    if (id == NULL || v == NULL) {
        free(id);
        free(v);
        return -1;
    }
    double *share = v, *wshare = v + n, *frac = v + 2 * n, *wfrac = v + 3 * n, *psi = v + 4 * n,
           *spsi = v + 5 * n;
    size_t nw = 0, np = 0;
    for (size_t i = 0; i < n; i++) {
        id[i] = runs[i].run_id;
        share[i] = runs[i].share;
        wshare[i] = runs[i].weighted_share;
        frac[i] = runs[i].retrain_fraction;
        wfrac[i] = runs[i].retrain_weighted_fraction;
        psi[i] = runs[i].score_psi;
        spsi[i] = runs[i].retrain_score_psi;
        nw += isfinite(wshare[i]) ? 1 : 0;
        np += isfinite(psi[i]) ? 1 : 0;
    }
    char title[160];
    rpt_buf_puts(b, "<section class=\"runs\">\n<h2>Drifted share and importance-weighted share"
                    "</h2>\n<p class=\"legend\"><span class=\"key wshare\"></span>"
                    "importance-weighted share <span class=\"key share\"></span>drifted share "
                    "<span class=\"key wfrac\"></span>retrain.weighted_fraction "
                    "<span class=\"key frac\"></span>retrain.fraction. ");
    rpt_buf_printf(b, "%zu of %zu runs have a weighted share; a run without one is a gap.</p>\n",
                   nw, n);
    snprintf(title, sizeof title, "drifted share and importance-weighted share over %zu run%s", n,
             n == 1 ? "" : "s");
    rpt_svg_run_shares(b, n, id, share, wshare, frac, wfrac, title);
    rpt_buf_puts(b, "\n<h2>Score PSI</h2>\n");
    if (np == 0) {
        rpt_buf_puts(b, "<p>No run has a score PSI (no <code>model.score_column</code>).</p>\n");
    } else {
        rpt_buf_printf(b,
                       "<p class=\"legend\"><span class=\"key score\"></span>score PSI "
                       "<span class=\"key thr\"></span>bands: stable below 0.1, watch from "
                       "0.1, act from 0.25 <span class=\"key frac\"></span>retrain.score_psi. "
                       "%zu of %zu runs have a score PSI; a run without one is a gap.</p>\n",
                       np, n);
        snprintf(title, sizeof title, "score PSI over %zu run%s", n, n == 1 ? "" : "s");
        rpt_svg_run_psi(b, n, id, psi, spsi, title);
        rpt_buf_puts(b, "\n");
    }
    rpt_buf_puts(b, "</section>\n");
    free(id);
    free(v);
    return put_perf_charts(b, runs, n);
}

char *rpt_history_render(const char *reference, const rpt_run_entry *runs, size_t nruns,
                         size_t total_runs, const rpt_column_series *cols, size_t ncols)
{
    if ((runs == NULL && nruns > 0) || (cols == NULL && ncols > 0))
        return NULL;
    rpt_buf b;
    rpt_buf_init(&b);
    put_head(&b, "Column drift history: ", reference != NULL ? reference : "");
    rpt_buf_puts(&b, "<header>\n<h1>Column drift history: ");
    rpt_buf_put_html(&b, reference != NULL ? reference : "");
    if (total_runs > nruns)
        rpt_buf_printf(&b,
                       "</h1>\n<p>The last %zu of %zu runs (older ones: <code>driftmon "
                       "history</code> or the view <code>driftmon.column_history</code>)",
                       nruns, total_runs);
    else
        rpt_buf_printf(&b, "</h1>\n<p>%zu run%s", nruns, nruns == 1 ? "" : "s");
    if (nruns > 0) {
        rpt_buf_puts(&b, ", from run ");
        put_run_link(&b, &runs[0]);
        rpt_buf_puts(&b, " (");
        rpt_buf_put_html(&b, runs[0].finished_at);
        rpt_buf_puts(&b, ") to run ");
        put_run_link(&b, &runs[nruns - 1]);
        rpt_buf_puts(&b, " (");
        rpt_buf_put_html(&b, runs[nruns - 1].finished_at);
        rpt_buf_puts(&b, ")");
    }
    rpt_buf_puts(&b, "; oldest on the left. <a href=\"index.html\">All runs</a>.</p>\n"
                     "<p class=\"legend\"><span class=\"key score\"></span>score "
                     "<span class=\"key thr\"></span>threshold "
                     "<span class=\"key drift\"></span>drifted run "
                     "<span class=\"key ok\"></span>run without drift. Up means more drift on "
                     "every chart: distances are drawn as they are, p-values (ks, chisquare, "
                     "z) on a logarithmic scale, p = 1 at the bottom.</p>\n</header>\n"
                     "<main>\n");
    if (put_run_charts(&b, runs, nruns) != 0) {
        rpt_buf_release(&b);
        return NULL;
    }
    if (ncols == 0) {
        rpt_buf_puts(&b, "<p>No column result yet.</p>\n");
    } else {
        rpt_buf_puts(&b, "<div class=\"scroll\"><table>\n<thead><tr><th>Column</th><th>Test</th>"
                         "<th>Drifted runs</th><th>Latest score</th>"
                         "<th>Score over runs</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < ncols; i++) {
            const rpt_column_series *c = &cols[i];
            size_t drifted = 0, scored = 0;
            double last = NAN;
            for (size_t k = 0; k < c->s.n; k++) {
                drifted += c->s.drifted[k] ? 1 : 0;
                scored++;
                last = c->s.score[k];
            }
            rpt_buf_puts(&b, "<tr><td>");
            rpt_buf_put_html(&b, c->name);
            rpt_buf_puts(&b, "</td><td>");
            rpt_buf_put_html(&b, c->test);
            rpt_buf_printf(&b, "</td><td class=\"n\">%zu of %zu</td><td class=\"n\">", drifted,
                           scored);
            if (isfinite(last))
                rpt_buf_printf(&b, "%.4g", last);
            else
                rpt_buf_puts(&b, "n/a");
            rpt_buf_puts(&b, "</td><td class=\"plot\">");
            if (c->s.n > 0)
                rpt_svg_series(&b, &c->s, nruns, c->name);
            else
                rpt_buf_puts(&b, "\xE2\x80\x94");
            rpt_buf_puts(&b, "</td></tr>\n");
        }
        rpt_buf_puts(&b, "</tbody>\n</table></div>\n");
    }
    rpt_buf_puts(&b, "</main>\n</body>\n</html>\n");
    return rpt_buf_take(&b);
}

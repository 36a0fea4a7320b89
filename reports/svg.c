/*
 * svg.c - inline SVG plots for the HTML reports (see svg.h).
 */
#include "reports/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL_REF "#0072B2" /* Okabe-Ito blue */
#define COL_CUR "#D55E00" /* Okabe-Ito vermilion */
#define COL_THR "#666666"
#define COL_AXIS "#999999"

/* plot area inside the viewBox */
#define PAD_L 2.0
#define PAD_R 2.0
#define PAD_T 4.0
#define PAD_B 14.0

/* ---- numbers ------------------------------------------------------------------------- */

/* The value of 0-based rank k of the pooled sorted sample of two distinct-value samples.
 * A merged walk from whichever end is nearer: the 1 % and 99 % cuts each walk about 1 %
 * of the values. */
static double pooled_rank_value(const stats_num *a, const stats_num *b, uint64_t k)
{
    uint64_t n = a->n + b->n;
    if (k >= n)
        return NAN;
    if (k < n / 2) {
        size_t i = 0, j = 0;
        uint64_t seen = 0;
        while (i < a->n_distinct || j < b->n_distinct) {
            double v;
            uint64_t c = 0;
            if (j >= b->n_distinct || (i < a->n_distinct && a->value[i] < b->value[j])) {
                v = a->value[i];
                c = a->count[i++];
            } else if (i >= a->n_distinct || b->value[j] < a->value[i]) {
                v = b->value[j];
                c = b->count[j++];
            } else {
                v = a->value[i];
                c = a->count[i++] + b->count[j++];
            }
            seen += c;
            if (k < seen)
                return v;
        }
        return NAN;
    }
    uint64_t r = n - 1 - k; /* rank from the top */
    size_t i = a->n_distinct, j = b->n_distinct;
    uint64_t seen = 0;
    while (i > 0 || j > 0) {
        double v;
        uint64_t c = 0;
        if (j == 0 || (i > 0 && a->value[i - 1] > b->value[j - 1])) {
            v = a->value[i - 1];
            c = a->count[--i];
        } else if (i == 0 || b->value[j - 1] > a->value[i - 1]) {
            v = b->value[j - 1];
            c = b->count[--j];
        } else {
            v = a->value[i - 1];
            c = a->count[--i] + b->count[--j];
        }
        seen += c;
        if (r < seen)
            return v;
    }
    return NAN;
}

/* Distinct values of the union, counting no further than cap + 1. */
static size_t union_size_upto(const stats_num *ref, const stats_num *cur, size_t cap)
{
    size_t i = 0, j = 0, n = 0;
    while ((i < ref->n_distinct || j < cur->n_distinct) && n <= cap) {
        if (j >= cur->n_distinct || (i < ref->n_distinct && ref->value[i] < cur->value[j]))
            i++;
        else if (i >= ref->n_distinct || cur->value[j] < ref->value[i])
            j++;
        else
            i++, j++;
        n++;
    }
    return n;
}

size_t rpt_num_union_size(const stats_num *ref, const stats_num *cur)
{
    return union_size_upto(ref, cur, SIZE_MAX);
}

/* The bin of v: monotone in v (a subtraction and a division by a positive width, then
 * floor), which lets bin_side find each bin's first value by binary search. */
static size_t bin_of(const rpt_hist *h, double w, double v)
{
    if (h->nbins == 1 || v <= h->lo)
        return 0;
    if (v >= h->hi)
        return h->nbins - 1;
    double f = floor((v - h->lo) / w);
    return f >= (double)(h->nbins - 1) ? h->nbins - 1 : (size_t)f;
}

/* Share of s in each bin.  The values are sorted, so each bin is a run of them: its ends
 * are found by binary search and its counts summed as integers (exact, as the sum in
 * doubles was below 2^53).  A sample of distinct values (stats_num_all_ones) needs no
 * sum: the run's length is its count, so a 300,000-value reference costs a few binary
 * searches instead of a read of every count. */
static void bin_side(const stats_num *s, const rpt_hist *h, double *share)
{
    double w = (h->hi - h->lo) / (double)h->nbins;
    for (size_t b = 0; b < h->nbins; b++)
        share[b] = 0.0;
    if (s->n == 0)
        return;
    size_t start = 0;
    for (size_t b = 0; b < h->nbins && start < s->n_distinct; b++) {
        size_t lo = start, hi = s->n_distinct; /* first index whose bin is > b */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (bin_of(h, w, s->value[mid]) <= b)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint64_t c = 0;
        if (stats_num_all_ones(s)) {
            c = lo - start;
        } else { /* four sums: the loads do not wait on one chain of additions */
            uint64_t c1 = 0, c2 = 0, c3 = 0;
            size_t i = start;
            for (; i + 4 <= lo; i += 4) {
                c += s->count[i];
                c1 += s->count[i + 1];
                c2 += s->count[i + 2];
                c3 += s->count[i + 3];
            }
            for (; i < lo; i++)
                c += s->count[i];
            c += c1 + c2 + c3;
        }
        share[b] = (double)c;
        start = lo;
    }
    for (size_t b = 0; b < h->nbins; b++)
        share[b] /= (double)s->n;
}

int rpt_hist_build(const stats_num *ref, const stats_num *cur, size_t nbins, rpt_hist *out)
{
    if (ref == NULL || cur == NULL || out == NULL || nbins == 0 || nbins > RPT_HIST_MAXBINS ||
        ref->n_distinct == 0 || cur->n_distinct == 0 || ref->n == 0 || cur->n == 0)
        return -1;
    uint64_t n = ref->n + cur->n;
    uint64_t cut = (uint64_t)floor(0.01 * (double)(n - 1));
    double mn = fmin(ref->value[0], cur->value[0]);
    double mx = fmax(ref->value[ref->n_distinct - 1], cur->value[cur->n_distinct - 1]);
    double lo = pooled_rank_value(ref, cur, cut);
    double hi = pooled_rank_value(ref, cur, n - 1 - cut);
    rpt_hist h;
    memset(&h, 0, sizeof h);
    if (!(lo < hi)) {
        lo = mn;
        hi = mx;
    }
    h.lo = lo;
    h.hi = hi;
    h.nbins = lo < hi ? nbins : 1;
    h.clipped_lo = mn < lo;
    h.clipped_hi = mx > hi;
    bin_side(ref, &h, h.ref_share);
    bin_side(cur, &h, h.cur_share);
    *out = h;
    return 0;
}

typedef struct {
    size_t index;
    double key;
} cat_key;

static int cat_key_cmp(const void *pa, const void *pb)
{
    const cat_key *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int rpt_catbars_build(const uint64_t *ref_count, const uint64_t *cur_count, size_t ncat,
                      rpt_catbars *out)
{
    if (ref_count == NULL || cur_count == NULL || out == NULL)
        return -1;
    uint64_t rn = 0, cn = 0;
    for (size_t i = 0; i < ncat; i++) {
        rn += ref_count[i];
        cn += cur_count[i];
    }
    rpt_catbars c;
    memset(&c, 0, sizeof c);
    size_t shown = ncat <= RPT_CAT_TOP + 1 ? ncat : RPT_CAT_TOP;
    cat_key *k = NULL;
    if (ncat > 0) {
        k = malloc(ncat * sizeof *k);
        if (k == NULL)
            return -1;
    }
    for (size_t i = 0; i < ncat; i++) {
        double r = rn > 0 ? (double)ref_count[i] / (double)rn : 0.0;
        double s = cn > 0 ? (double)cur_count[i] / (double)cn : 0.0;
        k[i].index = i;
        k[i].key = r > s ? r : s;
    }
    if (ncat > shown)
        qsort(k, ncat, sizeof *k, cat_key_cmp);
    uint64_t ro = 0, co = 0;
    for (size_t i = 0; i < ncat; i++) {
        size_t idx = k[i].index;
        if (i < shown) {
            c.index[i] = idx;
            c.value[i] = NAN;
            c.ref_share[i] = rn > 0 ? (double)ref_count[idx] / (double)rn : 0.0;
            c.cur_share[i] = cn > 0 ? (double)cur_count[idx] / (double)cn : 0.0;
        } else {
            ro += ref_count[idx];
            co += cur_count[idx];
            c.n_other++;
        }
    }
    c.n = shown;
    if (c.n_other > 0) {
        c.index[c.n] = SIZE_MAX;
        c.value[c.n] = NAN;
        c.ref_share[c.n] = rn > 0 ? (double)ro / (double)rn : 0.0;
        c.cur_share[c.n] = cn > 0 ? (double)co / (double)cn : 0.0;
        c.n++;
    }
    free(k);
    *out = c;
    return 0;
}

int rpt_catbars_from_num(const stats_num *ref, const stats_num *cur, rpt_catbars *out)
{
    if (ref == NULL || cur == NULL || out == NULL)
        return -1;
    size_t nu = union_size_upto(ref, cur, RPT_NUM_AS_CAT_MAX);
    if (nu > RPT_NUM_AS_CAT_MAX)
        return -1;
    uint64_t rc[RPT_NUM_AS_CAT_MAX], cc[RPT_NUM_AS_CAT_MAX];
    double val[RPT_NUM_AS_CAT_MAX];
    size_t i = 0, j = 0, k = 0;
    while (i < ref->n_distinct || j < cur->n_distinct) {
        if (j >= cur->n_distinct || (i < ref->n_distinct && ref->value[i] < cur->value[j])) {
            val[k] = ref->value[i];
            rc[k] = ref->count[i++];
            cc[k] = 0;
        } else if (i >= ref->n_distinct || cur->value[j] < ref->value[i]) {
            val[k] = cur->value[j];
            rc[k] = 0;
            cc[k] = cur->count[j++];
        } else {
            val[k] = ref->value[i];
            rc[k] = ref->count[i++];
            cc[k] = cur->count[j++];
        }
        k++;
    }
    rpt_catbars c;
    if (rpt_catbars_build(rc, cc, k, &c) != 0)
        return -1;
    for (size_t b = 0; b < c.n; b++)
        c.value[b] = c.index[b] == SIZE_MAX ? NAN : val[c.index[b]];
    *out = c;
    return 0;
}

/* ---- text ---------------------------------------------------------------------------- */

char *rpt_svg_shorten(const char *s, size_t max_chars)
{
    if (s == NULL)
        s = "";
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0, cut = 0;
    bool cut_set = false;
    while (*p != '\0') {
        if (chars == max_chars - (max_chars > 0 ? 1 : 0) && !cut_set) {
            cut = (size_t)(p - (const unsigned char *)s);
            cut_set = true;
        }
        size_t bad = 1, n = rpt_utf8_seq(p, &bad);
        p += n > 0 ? n : bad;
        chars++;
    }
    size_t len = (size_t)(p - (const unsigned char *)s);
    if (chars <= max_chars || max_chars == 0) {
        if (max_chars == 0)
            len = 0;
        char *r = malloc(len + 1);
        if (r != NULL) {
            memcpy(r, s, len);
            r[len] = '\0';
        }
        return r;
    }
    char *r = malloc(cut + 4);
    if (r != NULL) {
        memcpy(r, s, cut);
        memcpy(r + cut, "\xE2\x80\xA6", 4); /* U+2026 and the NUL */
    }
    return r;
}

/* An axis label: 4 significant digits, large magnitudes with a k / M / G suffix. */
static void put_num_label(rpt_buf *b, double v)
{
    static const struct {
        double scale;
        const char *suffix;
    } units[] = {{1e9, "G"}, {1e6, "M"}, {1e4, "k"}};
    double a = fabs(v);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (a >= units[i].scale && a < 1e15) {
            double d = units[i].scale == 1e4 ? 1e3 : units[i].scale;
            rpt_buf_printf(b, "%.4g%s", v / d, units[i].suffix);
            return;
        }
    }
    rpt_buf_printf(b, "%.4g", v);
}

static void put_pct(rpt_buf *b, double share)
{
    rpt_buf_printf(b, "%.1f %%", share * 100.0);
}

static void svg_open_size(rpt_buf *b, const char *cls, const char *title, int w, int h)
{
    rpt_buf_printf(b,
                   "<svg class=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                   "role=\"img\" aria-label=\"",
                   cls, w, h, w, h);
    rpt_buf_put_html(b, title);
    rpt_buf_puts(b, "\"><title>");
    rpt_buf_put_html(b, title);
    rpt_buf_puts(b, "</title>");
}

static void svg_open(rpt_buf *b, const char *cls, const char *title)
{
    svg_open_size(b, cls, title, RPT_SVG_W, RPT_SVG_H);
}

/* ---- drawing ------------------------------------------------------------------------- */

/* The y scale of a paired plot: the largest share on either side, 1 when there is none. */
static double top_share(const double *ref, const double *cur, size_t n)
{
    double top = 0.0;
    for (size_t i = 0; i < n; i++) {
        top = fmax(top, ref[i]);
        top = fmax(top, cur[i]);
    }
    return top > 0.0 ? top : 1.0;
}

void rpt_svg_hist(rpt_buf *b, const rpt_hist *h, const char *title)
{
    if (h == NULL || h->nbins == 0)
        return;
    double x0 = PAD_L, x1 = RPT_SVG_W - PAD_R, y0 = PAD_T, base = RPT_SVG_H - PAD_B;
    double top = top_share(h->ref_share, h->cur_share, h->nbins);
    double bw = (x1 - x0) / (double)h->nbins, sy = (base - y0) / top;
    svg_open(b, "plot hist", title);
    rpt_buf_printf(b,
                   "<path fill=\"" COL_REF "\" fill-opacity=\".35\" stroke=\"" COL_REF
                   "\" stroke-width=\"1\" d=\"M%.1f %.1f",
                   x0, base);
    for (size_t i = 0; i < h->nbins; i++) {
        double y = base - h->ref_share[i] * sy;
        rpt_buf_printf(b, "V%.1fH%.1f", y, x0 + bw * (double)(i + 1));
    }
    rpt_buf_printf(b, "V%.1fZ\"/>", base);
    rpt_buf_printf(b,
                   "<path fill=\"none\" stroke=\"" COL_CUR "\" stroke-width=\"2\" d=\"M%.1f %.1f",
                   x0, base);
    for (size_t i = 0; i < h->nbins; i++) {
        double y = base - h->cur_share[i] * sy;
        rpt_buf_printf(b, "V%.1fH%.1f", y, x0 + bw * (double)(i + 1));
    }
    rpt_buf_printf(b, "V%.1f\"/>", base);
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" d=\"M%.1f %.1fH%.1f\"/>", x0, base + 0.5, x1);
    rpt_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">", x0, RPT_SVG_H - 3);
    if (h->clipped_lo)
        rpt_buf_puts(b, "\xE2\x89\xA4"); /* ≤: the first bin holds the values below */
    put_num_label(b, h->lo);
    rpt_buf_printf(b, "</text><text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">", x1,
                   RPT_SVG_H - 3);
    if (h->clipped_hi)
        rpt_buf_puts(b, "\xE2\x89\xA5"); /* ≥ */
    put_num_label(b, h->hi);
    rpt_buf_puts(b, "</text></svg>");
}

void rpt_svg_catbars(rpt_buf *b, const rpt_catbars *c, const char *const *labels, const char *title)
{
    if (c == NULL || c->n == 0)
        return;
    double x0 = PAD_L, x1 = RPT_SVG_W - PAD_R, y0 = PAD_T, base = RPT_SVG_H - PAD_B;
    double top = top_share(c->ref_share, c->cur_share, c->n);
    double gw = (x1 - x0) / (double)c->n, bw = gw * 0.36, sy = (base - y0) / top;
    size_t maxc = (size_t)(gw / 5.0);
    if (maxc < 2)
        maxc = 2;
    svg_open(b, "plot cat", title);
    for (size_t i = 0; i < c->n; i++) {
        char num[40];
        const char *label;
        if (c->index[i] == SIZE_MAX)
            label = "other";
        else if (labels != NULL && labels[c->index[i]] != NULL)
            label = labels[c->index[i]];
        else {
            snprintf(num, sizeof num, "%.10g", c->value[i]);
            label = num;
        }
        double gx = x0 + gw * (double)i, hr = c->ref_share[i] * sy, hc = c->cur_share[i] * sy;
        rpt_buf_puts(b, "<g><title>");
        rpt_buf_put_html(b, label);
        if (c->index[i] == SIZE_MAX)
            rpt_buf_printf(b, " (%zu categories)", c->n_other);
        rpt_buf_puts(b, ": reference ");
        put_pct(b, c->ref_share[i]);
        rpt_buf_puts(b, ", current ");
        put_pct(b, c->cur_share[i]);
        rpt_buf_printf(b,
                       "</title><rect fill=\"" COL_REF "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\"/><rect fill=\"" COL_CUR "\" x=\"%.1f\" y=\"%.1f\" "
                       "width=\"%.1f\" height=\"%.1f\"/>",
                       gx + gw * 0.12, base - hr, bw, hr, gx + gw * 0.12 + bw, base - hc, bw, hc);
        char *shortl = rpt_svg_shorten(label, maxc);
        if (shortl == NULL) {
            b->failed = true;
            return;
        }
        rpt_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"8\" text-anchor=\"middle\"%s>",
                       gx + gw / 2.0, RPT_SVG_H - 3,
                       c->index[i] == SIZE_MAX ? " font-style=\"italic\"" : "");
        rpt_buf_put_html(b, shortl);
        rpt_buf_puts(b, "</text></g>");
        free(shortl);
    }
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" d=\"M%.1f %.1fH%.1f\"/></svg>", x0, base + 0.5,
                   x1);
}

int rpt_svg_column(rpt_buf *b, const stats_column *col, const char *const *labels,
                   const char *title)
{
    if (col == NULL)
        return 1;
    const stats_num *rn = &col->ref_num, *cn = &col->cur_num;
    bool num_data = col->kind == STATS_NUM || col->is_numeric_data;
    if (num_data) {
        if (rn->n == 0 || cn->n == 0 || rn->value == NULL || cn->value == NULL)
            return 1;
        if (union_size_upto(rn, cn, RPT_NUM_AS_CAT_MAX) <= RPT_NUM_AS_CAT_MAX) {
            rpt_catbars c;
            if (rpt_catbars_from_num(rn, cn, &c) != 0)
                return 1;
            rpt_svg_catbars(b, &c, NULL, title);
            return 0;
        }
        rpt_hist *h = malloc(sizeof *h);
        if (h == NULL) {
            b->failed = true;
            return 1;
        }
        int rc = rpt_hist_build(rn, cn, RPT_HIST_BINS, h);
        if (rc == 0)
            rpt_svg_hist(b, h, title);
        free(h);
        return rc == 0 ? 0 : 1;
    }
    const stats_cat *rc = &col->ref_cat, *cc = &col->cur_cat;
    if (rc->count == NULL || cc->count == NULL || rc->n_categories != cc->n_categories ||
        rc->n_categories == 0)
        return 1;
    rpt_catbars c;
    if (rpt_catbars_build(rc->count, cc->count, rc->n_categories, &c) != 0) {
        b->failed = true;
        return 1;
    }
    rpt_svg_catbars(b, &c, labels, title);
    return 0;
}

double rpt_series_y(bool pvalue, double v)
{
    if (!pvalue)
        return v;
    return -log10(fmax(v, 1e-300));
}

static double series_y(const rpt_series *s, double v)
{
    return rpt_series_y(s->pvalue, v);
}

void rpt_svg_series(rpt_buf *b, const rpt_series *s, size_t nx, const char *title)
{
    if (s == NULL || nx == 0)
        return;
    double x0 = PAD_L + 3.0, x1 = RPT_SVG_W - PAD_R - 3.0, y0 = PAD_T + 2.0,
           base = RPT_SVG_H - PAD_B;
    double m = 0.0;
    for (size_t i = 0; i < s->n; i++) {
        if (isfinite(s->score[i]))
            m = fmax(m, series_y(s, s->score[i]));
        if (isfinite(s->threshold[i]))
            m = fmax(m, series_y(s, s->threshold[i]));
    }
    double top = m > 0.0 ? m * 1.15 : 1.0;
    if (s->pvalue && top < 2.0)
        top = 2.0; /* at least p from 1 down to 0.01 */
    double dx = nx > 1 ? (x1 - x0) / (double)(nx - 1) : 0.0, sy = (base - y0) / top;
#define XPOS(i) (nx > 1 ? x0 + dx * (double)s->x[i] : (x0 + x1) / 2.0)
#define YPOS(v) (base - fmin(fmax(series_y(s, (v)), 0.0), top) * sy)
    svg_open(b, "plot series", title);
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" d=\"M%.1f %.1fH%.1f\"/>", PAD_L, base + 0.5,
                   RPT_SVG_W - PAD_R);
    /* threshold: a dashed segment across each run's slot (it may change between runs) */
    bool open = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->threshold[i]))
            continue;
        double x = XPOS(i), y = YPOS(s->threshold[i]);
        double xa = nx > 1 ? fmax(x0, x - dx / 2.0) : x0, xb = nx > 1 ? fmin(x1, x + dx / 2.0) : x1;
        if (!open)
            rpt_buf_puts(b, "<path class=\"thr\" fill=\"none\" stroke=\"" COL_THR
                            "\" stroke-dasharray=\"4 3\" d=\"");
        open = true;
        rpt_buf_printf(b, "M%.1f %.1fH%.1f", xa, y, xb);
    }
    if (open)
        rpt_buf_puts(b, "\"/>");
    /* score line, broken at NaN */
    open = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->score[i])) {
            if (open)
                rpt_buf_puts(b, "\"/>");
            open = false;
            continue;
        }
        rpt_buf_printf(
            b, "%s%.1f %.1f",
            open ? "L" : "<path fill=\"none\" stroke=\"" COL_REF "\" stroke-width=\"1.5\" d=\"M",
            XPOS(i), YPOS(s->score[i]));
        open = true;
    }
    if (open)
        rpt_buf_puts(b, "\"/>");
    /* markers */
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->score[i]))
            continue;
        double x = XPOS(i), y = YPOS(s->score[i]);
        rpt_buf_puts(b, "<g><title>");
        if (s->run_id != NULL)
            rpt_buf_printf(b, "run %lld: ", (long long)s->run_id[i]);
        rpt_buf_printf(b, "score %.4g, threshold %.4g%s</title>", s->score[i], s->threshold[i],
                       s->drifted[i] ? ", drifted" : "");
        if (s->drifted[i])
            rpt_buf_printf(b,
                           "<rect class=\"drift\" fill=\"" COL_CUR
                           "\" x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\"/></g>",
                           x - 3.0, y - 3.0);
        else
            rpt_buf_printf(b,
                           "<circle fill=\"#fff\" stroke=\"" COL_REF
                           "\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/></g>",
                           x, y);
    }
#undef XPOS
#undef YPOS
    rpt_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%s</text>", PAD_L, RPT_SVG_H - 3,
                   s->pvalue ? "p = 1" : "0");
    rpt_buf_printf(b, "<text x=\"%.1f\" y=\"9\" font-size=\"9\">", PAD_L + 4.0);
    if (s->pvalue)
        rpt_buf_printf(b, "p = %.0e", pow(10.0, -top));
    else
        put_num_label(b, top);
    rpt_buf_puts(b, "</text></svg>");
}

/* ---- the model (issue 17) ------------------------------------------------------------ */

/* ---- run-level figures over runs (issue 17) ------------------------------------------ */

#define RUNS_X0 34.0
#define RUNS_X1 470.0
#define RUNS_Y0 8.0
#define RUNS_BASE 122.0

double rpt_runs_x(size_t i, size_t n)
{
    if (n <= 1)
        return (RUNS_X0 + RUNS_X1) / 2.0;
    return RUNS_X0 + (double)i * (RUNS_X1 - RUNS_X0) / (double)(n - 1);
}

double rpt_runs_y(double v, double top)
{
    return RUNS_BASE - fmin(fmax(v, 0.0), top) / top * (RUNS_BASE - RUNS_Y0);
}

double rpt_runs_psi_top(const double *psi, const double *score_psi, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(psi[i]))
            m = fmax(m, psi[i]);
        if (score_psi != NULL && isfinite(score_psi[i]))
            m = fmax(m, score_psi[i]);
    }
    return fmax(0.3, m * 1.15);
}

/* A per-run limit: one dashed segment per run that has it. */
static void runs_limit(rpt_buf *b, size_t n, const double *v, double top, const char *cls,
                       const char *stroke, const char *dash)
{
    if (v == NULL)
        return;
    double half = n > 1 ? (RUNS_X1 - RUNS_X0) / (double)(n - 1) / 2.0 : (RUNS_X1 - RUNS_X0) / 2.0;
    bool open = false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!open)
            rpt_buf_printf(b,
                           "<path class=\"%s\" fill=\"none\" stroke=\"%s\" "
                           "stroke-dasharray=\"%s\" d=\"",
                           cls, stroke, dash);
        open = true;
        double x = rpt_runs_x(i, n);
        rpt_buf_printf(b, "M%.1f %.1fH%.1f", fmax(RUNS_X0, x - half), rpt_runs_y(v[i], top),
                       fmin(RUNS_X1, x + half));
    }
    if (open)
        rpt_buf_puts(b, "\"/>");
}

/* A figure over runs: a line broken at each NaN, then one marker per value with its
 * tooltip (square: a hollow square, else a filled circle). */
static void runs_line(rpt_buf *b, size_t n, const int64_t *run_id, const double *v, double top,
                      const char *cls, const char *stroke, bool square, const char *what, bool pct)
{
    bool open = false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            if (open)
                rpt_buf_puts(b, "\"/>");
            open = false;
            continue;
        }
        if (!open)
            rpt_buf_printf(b,
                           "<path class=\"%s\" fill=\"none\" stroke=\"%s\" "
                           "stroke-width=\"1.5\" d=\"M",
                           cls, stroke);
        rpt_buf_printf(b, "%s%.1f %.1f", open ? "L" : "", rpt_runs_x(i, n), rpt_runs_y(v[i], top));
        open = true;
    }
    if (open)
        rpt_buf_puts(b, "\"/>");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        double x = rpt_runs_x(i, n), y = rpt_runs_y(v[i], top);
        rpt_buf_puts(b, "<g><title>");
        if (run_id != NULL)
            rpt_buf_printf(b, "run %lld: ", (long long)run_id[i]);
        rpt_buf_printf(b, "%s ", what);
        if (pct)
            put_pct(b, v[i]);
        else
            rpt_buf_printf(b, "%.4g", v[i]);
        if (square)
            rpt_buf_printf(b,
                           "</title><rect class=\"%s\" fill=\"#fff\" stroke=\"%s\" "
                           "x=\"%.1f\" y=\"%.1f\" width=\"5\" height=\"5\"/></g>",
                           cls, stroke, x - 2.5, y - 2.5);
        else
            rpt_buf_printf(b,
                           "</title><circle class=\"%s\" fill=\"%s\" cx=\"%.1f\" "
                           "cy=\"%.1f\" r=\"2.5\"/></g>",
                           cls, stroke, x, y);
    }
}

static void runs_frame(rpt_buf *b, double top, const char *const *ticks, const double *at,
                       size_t nticks)
{
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1f\"/>",
                   RUNS_X0, RUNS_BASE + 0.5, RUNS_X1, RUNS_X0 - 0.5, RUNS_Y0, RUNS_BASE + 0.5);
    double last = INFINITY; /* ticks ascend; one too close to the last drawn is left out */
    for (size_t i = 0; i < nticks; i++) {
        double y = rpt_runs_y(at[i], top);
        if (last - y < 9.0)
            continue;
        rpt_buf_printf(b,
                       "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" "
                       "text-anchor=\"end\">%s</text>",
                       RUNS_X0 - 3.0, y + 3.0, ticks[i]);
        last = y;
    }
    rpt_buf_printf(b,
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">oldest</text>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">newest</text>",
                   RUNS_X0, RPT_RUNS_H - 4, RUNS_X1, RPT_RUNS_H - 4);
}

void rpt_svg_run_shares(rpt_buf *b, size_t n, const int64_t *run_id, const double *share,
                        const double *weighted, const double *fraction,
                        const double *weighted_fraction, const char *title)
{
    if (n == 0 || share == NULL || weighted == NULL)
        return;
    static const char *const ticks[] = {"0 %", "50 %", "100 %"};
    static const double at[] = {0.0, 0.5, 1.0};
    svg_open_size(b, "plot runs shares", title, RPT_RUNS_W, RPT_RUNS_H);
    runs_frame(b, 1.0, ticks, at, 3);
    runs_limit(b, n, weighted_fraction, 1.0, "wfrac", COL_REF, "6 3");
    runs_limit(b, n, fraction, 1.0, "frac", COL_CUR, "2 2");
    runs_line(b, n, run_id, share, 1.0, "share", COL_CUR, true, "drifted share", true);
    runs_line(b, n, run_id, weighted, 1.0, "wshare", COL_REF, false, "importance-weighted share",
              true);
    rpt_buf_puts(b, "</svg>");
}

void rpt_svg_run_psi(rpt_buf *b, size_t n, const int64_t *run_id, const double *psi,
                     const double *score_psi, const char *title)
{
    if (n == 0 || psi == NULL)
        return;
    double top = rpt_runs_psi_top(psi, score_psi, n);
    char lab[32];
    snprintf(lab, sizeof lab, "%.2g", top);
    const char *ticks[] = {"0", "0.1", "0.25", lab};
    const double at[] = {0.0, 0.1, 0.25, top};
    svg_open_size(b, "plot runs psi", title, RPT_RUNS_W, RPT_RUNS_H);
    runs_frame(b, top, ticks, at, 4);
    rpt_buf_printf(b,
                   "<path class=\"band\" fill=\"none\" stroke=\"" COL_THR
                   "\" stroke-dasharray=\"4 3\" d=\"M%.1f %.1fH%.1fM%.1f %.1fH%.1f\"/>",
                   RUNS_X0, rpt_runs_y(0.1, top), RUNS_X1, RUNS_X0, rpt_runs_y(0.25, top), RUNS_X1);
    rpt_buf_printf(b,
                   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">watch</text>"
                   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">act</text>",
                   RUNS_X1, rpt_runs_y(0.1, top) - 2.0, RUNS_X1, rpt_runs_y(0.25, top) - 2.0);
    runs_limit(b, n, score_psi, top, "spsi", COL_CUR, "2 2");
    runs_line(b, n, run_id, psi, top, "psi", COL_REF, false, "score PSI", false);
    rpt_buf_puts(b, "</svg>");
}

void rpt_svg_run_figure(rpt_buf *b, size_t n, const int64_t *run_id, const double *v,
                        const double *ref, double floor, const char *what, const char *title)
{
    if (n == 0 || v == NULL)
        return;
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i]))
            m = fmax(m, v[i]);
        if (ref != NULL && isfinite(ref[i]))
            m = fmax(m, ref[i]);
    }
    double top = fmax(floor, m * 1.15);
    char lab[32];
    snprintf(lab, sizeof lab, "%.3g", top);
    const char *ticks[] = {"0", lab};
    const double at[] = {0.0, top};
    svg_open_size(b, "plot runs figure", title, RPT_RUNS_W, RPT_RUNS_H);
    runs_frame(b, top, ticks, at, 2);
    runs_limit(b, n, ref, top, "ref", COL_CUR, "6 3");
    runs_line(b, n, run_id, v, top, "fig", COL_REF, false, what, false);
    rpt_buf_puts(b, "</svg>");
}

void rpt_svg_score(rpt_buf *b, const stats_score_drift *s, const char *title)
{
    if (s == NULL || s->ref_n == 0 || s->cur_n == 0)
        return;
    double ref[STATS_SCORE_NBINS], cur[STATS_SCORE_NBINS];
    for (size_t i = 0; i < STATS_SCORE_NBINS; i++) {
        ref[i] = (double)s->ref_count[i] / (double)s->ref_n;
        cur[i] = (double)s->cur_count[i] / (double)s->cur_n;
    }
    double x0 = PAD_L, x1 = RPT_SCORE_W - PAD_R, y0 = PAD_T, base = RPT_SCORE_H - PAD_B;
    double top = top_share(ref, cur, STATS_SCORE_NBINS);
    double gw = (x1 - x0) / (double)STATS_SCORE_NBINS, bw = gw * 0.36, sy = (base - y0) / top;
    svg_open_size(b, "plot score", title, RPT_SCORE_W, RPT_SCORE_H);
    for (size_t i = 0; i < STATS_SCORE_NBINS; i++) {
        double gx = x0 + gw * (double)i, hr = ref[i] * sy, hc = cur[i] * sy;
        rpt_buf_printf(b, "<g><title>bin %zu ", i + 1);
        if (i == 0)
            rpt_buf_printf(b, "(-inf, %.4g]", s->edges[0]);
        else if (i == STATS_SCORE_NBINS - 1)
            rpt_buf_printf(b, "(%.4g, inf)", s->edges[STATS_SCORE_NEDGES - 1]);
        else
            rpt_buf_printf(b, "(%.4g, %.4g]", s->edges[i - 1], s->edges[i]);
        rpt_buf_puts(b, ": reference ");
        put_pct(b, ref[i]);
        rpt_buf_puts(b, ", current ");
        put_pct(b, cur[i]);
        rpt_buf_printf(b,
                       "</title><rect fill=\"" COL_REF "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\"/><rect fill=\"" COL_CUR "\" x=\"%.1f\" y=\"%.1f\" "
                       "width=\"%.1f\" height=\"%.1f\"/>",
                       gx + gw * 0.12, base - hr, bw, hr, gx + gw * 0.12 + bw, base - hc, bw, hc);
        rpt_buf_printf(
            b, "<text x=\"%.1f\" y=\"%d\" font-size=\"8\" text-anchor=\"middle\">%zu</text></g>",
            gx + gw / 2.0, RPT_SCORE_H - 3, i + 1);
    }
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" d=\"M%.1f %.1fH%.1f\"/></svg>", x0, base + 0.5,
                   x1);
}

double rpt_drift_relative(const stats_column_result *c)
{
    double s = c->score, t = c->threshold;
    if (!isfinite(s) || !isfinite(t) || t <= 0.0)
        return NAN;
    if (stats_test_is_pvalue(c->test)) {
        if (t >= 1.0)
            return NAN;
        return log(fmax(s, 1e-300)) / log(t);
    }
    return s / t;
}

int rpt_importance_points(const stats_column_result *cols, size_t n, rpt_imp_point *out,
                          size_t *npoints)
{
    *npoints = 0;
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(cols[i].importance))
            total += cols[i].importance;
    if (!(total > 0.0) || !isfinite(total))
        return -1;
    /* the RPT_IMP_TOP largest positive importances: a small insertion list */
    size_t top[RPT_IMP_TOP], ntop = 0;
    for (size_t i = 0; i < n; i++) {
        double w = cols[i].importance;
        if (!(w > 0.0))
            continue;
        size_t k = ntop;
        while (k > 0 && cols[top[k - 1]].importance < w)
            k--;
        if (k >= RPT_IMP_TOP)
            continue;
        size_t end = ntop < RPT_IMP_TOP ? ntop : RPT_IMP_TOP - 1;
        memmove(&top[k + 1], &top[k], (end - k) * sizeof *top);
        top[k] = i;
        if (ntop < RPT_IMP_TOP)
            ntop++;
    }
    /* and more important than the average tested column: with few columns, the fifth
     * largest importance may be a small one */
    while (ntop > 0 && cols[top[ntop - 1]].importance / total < 1.0 / (double)n)
        ntop--;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double y = rpt_drift_relative(&cols[i]);
        if (isnan(y))
            continue;
        double w = cols[i].importance;
        bool is_top = false;
        for (size_t k = 0; k < ntop; k++)
            is_top = is_top || top[k] == i;
        out[m++] = (rpt_imp_point){i, isfinite(w) ? w / total : 0.0, y, cols[i].drifted, is_top};
    }
    *npoints = m;
    return 0;
}

#define IMP_X0 34.0
#define IMP_X1 (RPT_IMP_W - 10.0)
#define IMP_Y0 8.0
#define IMP_BASE (RPT_IMP_H - 24.0)

void rpt_svg_importance(rpt_buf *b, const rpt_imp_point *p, size_t n,
                        const stats_column_result *cols, const char *title)
{
    double xmax = 0.0;
    for (size_t i = 0; i < n; i++)
        xmax = fmax(xmax, p[i].x);
    if (!(xmax > 0.0))
        xmax = 1.0;
    double sx = (IMP_X1 - IMP_X0) / xmax, sy = (IMP_BASE - IMP_Y0) / RPT_IMP_YMAX;
#define PX(v) (IMP_X0 + (v)*sx)
#define PY(v) (IMP_BASE - fmin(fmax((v), 0.0), RPT_IMP_YMAX) * sy)
    svg_open_size(b, "plot importance", title, RPT_IMP_W, RPT_IMP_H);
    rpt_buf_printf(b, "<path stroke=\"" COL_AXIS "\" fill=\"none\" d=\"M%.1f %.1fV%.1fH%.1f\"/>",
                   IMP_X0, IMP_Y0, IMP_BASE, IMP_X1);
    rpt_buf_printf(b,
                   "<path class=\"thr\" stroke=\"" COL_THR "\" stroke-dasharray=\"4 3\" "
                   "d=\"M%.1f %.1fH%.1f\"/>",
                   IMP_X0, PY(1.0), IMP_X1);
    rpt_buf_printf(
        b,
        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">threshold</text>"
        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">0</text>"
        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">3\xC3\x97</text>",
        IMP_X1, PY(1.0) - 3.0, IMP_X0 - 3.0, IMP_BASE, IMP_X0 - 3.0, IMP_Y0 + 8.0);
    rpt_buf_printf(b,
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">0</text>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">%.1f %% of the "
                   "importance</text>",
                   IMP_X0, RPT_IMP_H - 10, IMP_X1, RPT_IMP_H - 10, xmax * 100.0);
    /* the points not on top first, so the marked ones are drawn over them */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (p[i].top != (pass == 1))
                continue;
            const stats_column_result *c = &cols[p[i].index];
            double x = PX(p[i].x), y = PY(p[i].y);
            rpt_buf_puts(b, "<g><title>");
            rpt_buf_put_html(b, c->name);
            rpt_buf_printf(b,
                           ": %.3g %% of the importance, drift %.3g \xC3\x97 threshold%s</title>",
                           p[i].x * 100.0, p[i].y, p[i].drifted ? ", drifted" : "");
            if (p[i].drifted)
                rpt_buf_printf(b,
                               "<rect class=\"drift\" fill=\"" COL_CUR
                               "\" x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\"/>",
                               x - 3.0, y - 3.0);
            else
                rpt_buf_printf(b,
                               "<circle fill=\"#fff\" stroke=\"" COL_REF
                               "\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
                               x, y);
            if (p[i].top)
                rpt_buf_printf(b,
                               "<circle class=\"top\" fill=\"none\" stroke=\"#000\" cx=\"%.1f\" "
                               "cy=\"%.1f\" r=\"6\"/>",
                               x, y);
            if (p[i].top && p[i].drifted) {
                char *name = rpt_svg_shorten(c->name, 18);
                if (name == NULL) {
                    b->failed = true;
                    return;
                }
                bool left = x > (IMP_X0 + IMP_X1) / 2.0;
                rpt_buf_printf(b, "<text class=\"name\" x=\"%.1f\" y=\"%.1f\" font-size=\"9\"%s>",
                               left ? x - 8.0 : x + 8.0, y + 3.0,
                               left ? " text-anchor=\"end\"" : "");
                rpt_buf_put_html(b, name);
                rpt_buf_puts(b, "</text>");
                free(name);
            }
            rpt_buf_puts(b, "</g>");
        }
    }
#undef PX
#undef PY
    rpt_buf_puts(b, "</svg>");
}

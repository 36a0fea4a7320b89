/*
 * test_svg.c - the SVG plot builders (reports/svg.c), the history and index pages
 * (reports/history.c) and the plots inside the run report (reports/html.c).
 *
 * Expected shares are counts worked out by hand in the comments and cross-checked with numpy
 * where a histogram is involved (command next to the value).  Expected coordinates follow
 * from the plot geometry in svg.c: viewBox 240 x 72, plot area x 2 .. 238, y 4 .. 58
 * (PAD_L = PAD_R = 2, PAD_T = 4, PAD_B = 14), printed with one decimal.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/history.h"
#include "reports/html_internal.h"
#include "reports/report.h"
#include "reports/svg.h"

static size_t count_of(const char *h, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(h, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void assert_close(double got, double want, const char *what)
{
    cr_assert(fabs(got - want) <= 1e-15, "%s: %.17g, want %.17g", what, got, want);
}

/* Nothing a browser would run or fetch: no script element, no event attribute, no url(). */
static void assert_inert(const char *h)
{
    cr_assert_null(strstr(h, "<script"), "script element in %s", h);
    cr_assert_null(strstr(h, "<img"), "img element");
    /* inside tags (text never holds a raw '<' once escaped): no attribute named on... */
    for (const char *t = strchr(h, '<'); t != NULL; t = strchr(t + 1, '<')) {
        const char *e = strchr(t, '>');
        cr_assert_not_null(e, "unterminated tag");
        for (const char *q = t; q < e; q++)
            cr_assert(!(q[0] == ' ' && q[1] == 'o' && q[2] == 'n'), "event attribute in %.*s",
                      (int)(e - t + 1), t);
    }
    cr_assert_null(strstr(h, "url("));
    cr_assert_null(strstr(h, "href=\"javascript"));
}

/* An SVG fragment also carries no id: it may appear many times in one page. */
static void assert_inert_svg(const char *h)
{
    assert_inert(h);
    cr_assert_null(strstr(h, " id="));
}

/* ---- histogram bins ----------------------------------------------------------------- */

Test(svg, hist_common_bins)
{
    /* pooled n = 8, trimmed rank floor(0.01 * 7) = 0: lo = min = 1, hi = max = 6; 5 bins of
     * width 1: [1,2) [2,3) [3,4) [4,5) [5,6].
     * python3 -c 'import numpy as np; print(np.histogram([1,2,3,4],5,(1,6))[0]/4,
     *                                       np.histogram([3,4,5,6],5,(1,6))[0]/4)'
     * -> [0.25 0.25 0.25 0.25 0.] [0. 0. 0.25 0.25 0.5] */
    double rv[] = {1, 2, 3, 4}, cv[] = {3, 4, 5, 6};
    uint64_t one[] = {1, 1, 1, 1};
    stats_num ref = {rv, one, 4, 4, false, false, 0, 0}, cur = {cv, one, 4, 4, false, false, 0, 0};
    rpt_hist h;
    cr_assert_eq(rpt_hist_build(&ref, &cur, 5, &h), 0);
    cr_assert_eq(h.nbins, 5);
    assert_close(h.lo, 1.0, "lo");
    assert_close(h.hi, 6.0, "hi");
    cr_assert(!h.clipped_lo && !h.clipped_hi);
    const double wr[] = {0.25, 0.25, 0.25, 0.25, 0.0}, wc[] = {0.0, 0.0, 0.25, 0.25, 0.5};
    for (size_t i = 0; i < 5; i++) {
        assert_close(h.ref_share[i], wr[i], "ref share");
        assert_close(h.cur_share[i], wc[i], "cur share");
    }
}

Test(svg, hist_trims_one_outlier)
{
    /* ref 1..100 once each; cur 1..99 once each and 1e9.  Pooled n = 200, trimmed rank
     * floor(0.01 * 199) = 1: sorted pooled is 1,1,2,2,...,99,99,100,1e9, so lo = value of
     * rank 1 = 1, hi = value of rank 198 = 100; 1e9 > hi is counted in the last bin.  3 bins
     * of width 33: [1,34) [34,67) [67,100].  ref: 33, 33, 34 of 100; cur: 33, 33, 33 + 1.
     * python3 -c 'import numpy as np; c=np.r_[np.arange(1,100),1e9];
     *   print(np.histogram(np.clip(c,1,100),3,(1,100))[0]/100)'  -> [0.33 0.33 0.34] */
    double rv[100], cv[100];
    uint64_t cnt[100];
    for (size_t i = 0; i < 100; i++) {
        rv[i] = (double)(i + 1);
        cv[i] = i < 99 ? (double)(i + 1) : 1e9;
        cnt[i] = 1;
    }
    stats_num ref = {rv, cnt, 100, 100, false, false, 0, 0},
              cur = {cv, cnt, 100, 100, false, false, 0, 0};
    rpt_hist h;
    cr_assert_eq(rpt_hist_build(&ref, &cur, 3, &h), 0);
    assert_close(h.lo, 1.0, "lo");
    assert_close(h.hi, 100.0, "hi");
    cr_assert(!h.clipped_lo);
    cr_assert(h.clipped_hi);
    const double w[] = {0.33, 0.33, 0.34};
    for (size_t i = 0; i < 3; i++) {
        assert_close(h.ref_share[i], w[i], "ref share");
        assert_close(h.cur_share[i], w[i], "cur share");
    }
}

Test(svg, hist_single_value_and_errors)
{
    double v[] = {5};
    uint64_t c3[] = {3}, c2[] = {2};
    stats_num ref = {v, c3, 1, 3, false, false, 0, 0}, cur = {v, c2, 1, 2, false, false, 0, 0};
    rpt_hist h;
    cr_assert_eq(rpt_hist_build(&ref, &cur, 24, &h), 0);
    cr_assert_eq(h.nbins, 1); /* one pooled value: one bin holding everything */
    assert_close(h.ref_share[0], 1.0, "ref");
    assert_close(h.cur_share[0], 1.0, "cur");
    stats_num empty = {NULL, NULL, 0, 0, false, false, 0, 0};
    cr_assert_eq(rpt_hist_build(&empty, &cur, 24, &h), -1);
    cr_assert_eq(rpt_hist_build(&ref, &empty, 24, &h), -1);
    cr_assert_eq(rpt_hist_build(&ref, &cur, 0, &h), -1);
    cr_assert_eq(rpt_hist_build(&ref, &cur, RPT_HIST_MAXBINS + 1, &h), -1);
    cr_assert_eq(rpt_hist_build(NULL, &cur, 24, &h), -1);
    cr_assert_eq(rpt_hist_build(&ref, &cur, 24, NULL), -1);
}

/* ---- categorical bars ----------------------------------------------------------------- */

Test(svg, catbars_top_and_other)
{
    /* n = 100 on each side; max(ref, cur) share per category:
     *   c0 .50  c1 .30  c2 .40  c3 .05  c4 .30  c5 .03  c6 .02
     * 7 > 5 + 1 categories: top 5 by that key, ties by index: c0, c2, c1, c4, c3;
     * other = c5 + c6: ref (1 + 1) / 100 = .02, cur (3 + 2) / 100 = .05. */
    uint64_t r[] = {50, 30, 10, 5, 3, 1, 1}, c[] = {10, 10, 40, 5, 30, 3, 2};
    rpt_catbars b;
    cr_assert_eq(rpt_catbars_build(r, c, 7, &b), 0);
    cr_assert_eq(b.n, 6);
    const size_t want[] = {0, 2, 1, 4, 3, SIZE_MAX};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(b.index[i], want[i], "bar %zu: %zu", i, b.index[i]);
    cr_assert_eq(b.n_other, 2);
    assert_close(b.ref_share[0], 0.5, "c0 ref");
    assert_close(b.cur_share[1], 0.4, "c2 cur");
    assert_close(b.ref_share[5], 0.02, "other ref");
    assert_close(b.cur_share[5], 0.05, "other cur");
}

Test(svg, catbars_few_categories_all_shown_in_order)
{
    /* 3 categories <= 6: all, in index order, no other; ref n = 4, cur n = 0 (shares 0) */
    uint64_t r[] = {1, 0, 3}, c[] = {0, 0, 0};
    rpt_catbars b;
    cr_assert_eq(rpt_catbars_build(r, c, 3, &b), 0);
    cr_assert_eq(b.n, 3);
    cr_assert_eq(b.n_other, 0);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(b.index[i], i);
        assert_close(b.cur_share[i], 0.0, "cur");
    }
    assert_close(b.ref_share[2], 0.75, "ref c2");
    cr_assert_eq(rpt_catbars_build(NULL, c, 3, &b), -1);
}

Test(svg, catbars_from_numbers)
{
    /* ref {0: 3, 1: 1}, cur {1: 2, 2: 2}: union 0, 1, 2; ref .75 .25 0; cur 0 .5 .5 */
    double rv[] = {0, 1}, cv[] = {1, 2};
    uint64_t rc[] = {3, 1}, cc[] = {2, 2};
    stats_num ref = {rv, rc, 2, 4, true, false, 0, 0}, cur = {cv, cc, 2, 4, true, false, 0, 0};
    cr_assert_eq(rpt_num_union_size(&ref, &cur), 3);
    rpt_catbars b;
    cr_assert_eq(rpt_catbars_from_num(&ref, &cur, &b), 0);
    cr_assert_eq(b.n, 3);
    const double val[] = {0, 1, 2}, wr[] = {0.75, 0.25, 0}, wc[] = {0, 0.5, 0.5};
    for (size_t i = 0; i < 3; i++) {
        assert_close(b.value[i], val[i], "value");
        assert_close(b.ref_share[i], wr[i], "ref");
        assert_close(b.cur_share[i], wc[i], "cur");
    }
    /* 13 distinct values > RPT_NUM_AS_CAT_MAX = 12: refused */
    double many[13];
    uint64_t ones[13];
    for (size_t i = 0; i < 13; i++) {
        many[i] = (double)i;
        ones[i] = 1;
    }
    stats_num m = {many, ones, 13, 13, true, false, 0, 0};
    cr_assert_eq(rpt_catbars_from_num(&m, &cur, &b), -1);
}

/* ---- labels ------------------------------------------------------------------------- */

Test(svg, shorten_counts_code_points)
{
    struct {
        const char *in;
        size_t max;
        const char *want;
    } cases[] = {
        {"abcdef", 4, "abc\xE2\x80\xA6"}, /* 6 > 4: 3 characters and the ellipsis */
        {"abc", 3, "abc"},                /* fits */
        {"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3, "\xC3\xA9\xC3\xA9\xE2\x80\xA6"}, /* never a cut
                                                                                     sequence */
        {"\xFF\xFF"
         "ab",
         3, "\xFF\xFF\xE2\x80\xA6"}, /* invalid bytes count one each */
        {"", 5, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = rpt_svg_shorten(cases[i].in, cases[i].max);
        cr_assert_not_null(s);
        cr_expect_str_eq(s, cases[i].want, "case %zu", i);
        free(s);
    }
}

/* ---- drawing -------------------------------------------------------------------------- */

/* rpt_hist_build finds bins by binary search over sorted distinct values and the 1 %/99 %
 * cuts by walking from the nearer end.  Checked against the definition applied to the
 * expanded sample: every observation sorted (pooled) for the cuts, every observation binned
 * on its own with floor((v - lo) / w), clamped, then divided by n.  Random samples with ties,
 * negative values and ranges where the cuts meet (lo == hi). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ones: every count 1 (a sample of distinct values, which bin_side counts without reading
 * the counts) */
static size_t random_sample(unsigned *seed, double *v, uint64_t *c, size_t max, int spread,
                            bool ones)
{
    size_t n = 1 + (size_t)rand_r(seed) % max;
    double x = (double)(rand_r(seed) % 50) - 25.0;
    for (size_t i = 0; i < n; i++) {
        v[i] = x;
        c[i] = 1 + (uint64_t)(!ones && rand_r(seed) % 3 == 0 ? rand_r(seed) % 40 : 0);
        x += 0.25 * (double)(1 + rand_r(seed) % spread);
    }
    return n;
}

Test(svg, hist_matches_the_definition_on_random_samples)
{
    enum { MAXD = 400 };
    static double rv[MAXD], cv[MAXD], pool[2 * MAXD * 41];
    static uint64_t rc[MAXD], cc[MAXD];
    unsigned seed = 12345;
    for (int trial = 0; trial < 400; trial++) {
        int spread = trial % 4 == 0 ? 1 : 1 + trial % 97;
        size_t nr = random_sample(&seed, rv, rc, MAXD, spread, trial % 3 == 1);
        size_t nc = random_sample(&seed, cv, cc, MAXD, spread, trial % 3 != 0);
        uint64_t rn = 0, cn = 0;
        size_t np = 0;
        for (size_t i = 0; i < nr; i++)
            for (uint64_t k = 0; k < rc[i]; k++, rn++)
                pool[np++] = rv[i];
        for (size_t i = 0; i < nc; i++)
            for (uint64_t k = 0; k < cc[i]; k++, cn++)
                pool[np++] = cv[i];
        stats_num ref = {rv, rc, nr, rn, false, false, 0, 0},
                  cur = {cv, cc, nc, cn, false, false, 0, 0};
        size_t nbins = 1 + (size_t)trial % RPT_HIST_MAXBINS;
        rpt_hist h;
        cr_assert_eq(rpt_hist_build(&ref, &cur, nbins, &h), 0);
        qsort(pool, np, sizeof *pool, cmp_double);
        size_t cut = (size_t)floor(0.01 * (double)(np - 1));
        double lo = pool[cut], hi = pool[np - 1 - cut];
        if (!(lo < hi)) {
            lo = pool[0];
            hi = pool[np - 1];
        }
        cr_assert_eq(h.lo, lo, "trial %d: lo %.17g, want %.17g", trial, h.lo, lo);
        cr_assert_eq(h.hi, hi, "trial %d: hi %.17g, want %.17g", trial, h.hi, hi);
        size_t nb = lo < hi ? nbins : 1;
        cr_assert_eq(h.nbins, nb);
        double w = (hi - lo) / (double)nb, want_r[RPT_HIST_MAXBINS] = {0},
               want_c[RPT_HIST_MAXBINS] = {0};
        for (int side = 0; side < 2; side++) {
            const double *v = side ? cv : rv;
            const uint64_t *c = side ? cc : rc;
            size_t n = side ? nc : nr;
            double *want = side ? want_c : want_r;
            for (size_t i = 0; i < n; i++)
                for (uint64_t k = 0; k < c[i]; k++) {
                    size_t b = 0;
                    if (nb > 1 && v[i] >= hi)
                        b = nb - 1;
                    else if (nb > 1 && v[i] > lo) {
                        double f = floor((v[i] - lo) / w);
                        b = f >= (double)(nb - 1) ? nb - 1 : (size_t)f;
                    }
                    want[b] += 1.0;
                }
            for (size_t b = 0; b < nb; b++)
                want[b] /= (double)(side ? cn : rn);
        }
        for (size_t b = 0; b < nb; b++) {
            cr_assert_eq(h.ref_share[b], want_r[b], "trial %d bin %zu: ref %.17g, want %.17g",
                         trial, b, h.ref_share[b], want_r[b]);
            cr_assert_eq(h.cur_share[b], want_c[b], "trial %d bin %zu: cur %.17g, want %.17g",
                         trial, b, h.cur_share[b], want_c[b]);
        }
    }
}

Test(svg, hist_path_coordinates)
{
    /* the bins of hist_common_bins; tallest share .5 fills the plot height 54: 108 px per
     * unit share.  Bin width 236 / 5 = 47.2.  ref .25 -> y = 58 - 27 = 31; cur .5 -> 4. */
    double rv[] = {1, 2, 3, 4}, cv[] = {3, 4, 5, 6};
    uint64_t one[] = {1, 1, 1, 1};
    stats_num ref = {rv, one, 4, 4, false, false, 0, 0}, cur = {cv, one, 4, 4, false, false, 0, 0};
    rpt_hist h;
    cr_assert_eq(rpt_hist_build(&ref, &cur, 5, &h), 0);
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_hist(&b, &h, "AMT <x>");
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(s);
    cr_assert_not_null(
        strstr(s, "d=\"M2.0 58.0V31.0H49.2V31.0H96.4V31.0H143.6V31.0H190.8V58.0H238.0V58.0Z\""),
        "%s", s);
    cr_assert_not_null(
        strstr(s, "d=\"M2.0 58.0V58.0H49.2V58.0H96.4V31.0H143.6V31.0H190.8V4.0H238.0V58.0\""), "%s",
        s);
    cr_assert_not_null(strstr(s, "<title>AMT &lt;x&gt;</title>"));
    cr_assert_not_null(strstr(s, "aria-label=\"AMT &lt;x&gt;\""));
    cr_assert_eq(count_of(s, "<svg"), 1);
    cr_assert_eq(count_of(s, "</svg>"), 1);
    assert_inert_svg(s);
    free(s);
}

Test(svg, catbars_escape_every_label)
{
    static const char *const labels[] = {"<script>alert(1)</script>",
                                         "<img src=x onerror=alert(1)>", "a\"b'c&d"};
    uint64_t r[] = {5, 3, 2}, c[] = {1, 1, 8};
    rpt_catbars cb;
    cr_assert_eq(rpt_catbars_build(r, c, 3, &cb), 0);
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_catbars(&b, &cb, labels, "col \"<b>\"");
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(s);
    assert_inert_svg(s);
    cr_assert_null(strstr(s, "<b>"));
    /* full labels in the tooltips; shares: 5/10 = 50.0 %, 1/10 = 10.0 % */
    cr_assert_not_null(strstr(s, "<title>&lt;script&gt;alert(1)&lt;/script&gt;: reference "
                                 "50.0 %, current 10.0 %</title>"),
                       "%s", s);
    cr_assert_not_null(strstr(s, "<title>&lt;img src=x onerror=alert(1)&gt;: reference"));
    cr_assert_not_null(strstr(s, "a&quot;b&#39;c&amp;d"));
    cr_assert_eq(count_of(s, "<g>"), 3);
    cr_assert_eq(count_of(s, "</g>"), 3);
    cr_assert_eq(count_of(s, "<rect"), 6); /* a pair per category */
    free(s);
}

Test(svg, column_dispatch)
{
    rpt_buf b;
    /* numeric, 30 distinct values > 12: histogram */
    double v[30];
    uint64_t one[30];
    for (size_t i = 0; i < 30; i++) {
        v[i] = (double)i;
        one[i] = 1;
    }
    stats_column col;
    memset(&col, 0, sizeof col);
    col.kind = STATS_NUM;
    col.ref_num = (stats_num){v, one, 30, 30, false, false, 0, 0};
    col.cur_num = (stats_num){v, one, 30, 30, false, false, 0, 0};
    rpt_buf_init(&b);
    cr_assert_eq(rpt_svg_column(&b, &col, NULL, "n"), 0);
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(strstr(s, "class=\"plot hist\""));
    free(s);
    /* numeric, 3 distinct: bars labelled by value */
    col.ref_num.n_distinct = 3;
    col.ref_num.n = 3;
    col.cur_num.n_distinct = 3;
    col.cur_num.n = 3;
    rpt_buf_init(&b);
    cr_assert_eq(rpt_svg_column(&b, &col, NULL, "n"), 0);
    s = rpt_buf_take(&b);
    cr_assert_not_null(strstr(s, "class=\"plot cat\""));
    cr_assert_not_null(strstr(s, ">2</text>"));
    free(s);
    /* an empty side: nothing drawn */
    col.cur_num = (stats_num){NULL, NULL, 0, 0, false, false, 0, 0};
    rpt_buf_init(&b);
    cr_assert_eq(rpt_svg_column(&b, &col, NULL, "n"), 1);
    cr_assert_eq(b.len, 0);
    rpt_buf_release(&b);
    /* categorical text */
    uint64_t rc[] = {1, 2}, cc[] = {2, 1};
    static const char *const lab[] = {"F", "M"};
    memset(&col, 0, sizeof col);
    col.kind = STATS_CAT;
    col.ref_cat = (stats_cat){rc, 2, 3};
    col.cur_cat = (stats_cat){cc, 2, 3};
    rpt_buf_init(&b);
    cr_assert_eq(rpt_svg_column(&b, &col, lab, "g"), 0);
    s = rpt_buf_take(&b);
    cr_assert_not_null(strstr(s, ">M</text>"));
    free(s);
    rpt_buf_init(&b);
    cr_assert_eq(rpt_svg_column(&b, NULL, lab, "g"), 1);
    rpt_buf_release(&b);
}

Test(svg, series_scale_gaps_and_markers)
{
    /* -log10: p = 0.01 -> 2; p = 0 -> 1e-300 -> 300; distances as they are */
    assert_close(rpt_series_y(true, 0.01), 2.0, "p 0.01");
    assert_close(rpt_series_y(true, 0.0), 300.0, "p 0");
    assert_close(rpt_series_y(false, 0.3), 0.3, "distance");
    size_t x[] = {0, 1, 2, 3};
    int64_t id[] = {7, 8, 9, 10};
    double sc[] = {0.05, NAN, 0.2, 0.3}, th[] = {0.1, 0.1, 0.1, 0.1};
    bool dr[] = {false, false, true, true};
    rpt_series s = {4, x, id, sc, th, dr, false};
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_series(&b, &s, 4, "<col>");
    char *h = rpt_buf_take(&b);
    cr_assert_not_null(h);
    assert_inert_svg(h);
    /* the NaN run splits the score line in two; 2 drifted markers, 1 hollow (NaN: none) */
    cr_assert_eq(count_of(h, "stroke-width=\"1.5\""), 2, "%s", h);
    cr_assert_eq(count_of(h, "class=\"drift\""), 2);
    cr_assert_eq(count_of(h, "<circle"), 1);
    cr_assert_not_null(strstr(h, "<title>run 9: score 0.2, threshold 0.1, drifted</title>"));
    /* y top = 1.15 x 0.3 = 0.345; threshold 0.1 at y = 58 - 0.1 * 52 / 0.345 = 42.927...
     * (plot top y0 = 6 for series: PAD_T + 2) */
    char want[64];
    snprintf(want, sizeof want, "%.1f", 58.0 - 0.1 * 52.0 / 0.345);
    cr_assert_str_eq(want, "42.9");
    cr_assert_not_null(strstr(h, " 42.9H"), "%s", h);
    free(h);
}

/* ---- run-level charts (issue 17) -------------------------------------------------------- */

/* The documented geometry (svg.h): plot x 34 .. 470, y 8 .. 122. */
static double gx(size_t i, size_t n)
{
    return n > 1 ? 34.0 + (double)i * 436.0 / (double)(n - 1) : 252.0;
}

static double gy(double v, double top)
{
    return 122.0 - fmin(v, top) / top * 114.0;
}

#define assert_has(h, fmt, a, b)                                                                   \
    do {                                                                                           \
        char want_[128];                                                                           \
        snprintf(want_, sizeof want_, fmt, (double)(a), (double)(b));                              \
        cr_assert_not_null(strstr(h, want_), "missing %s in %s", want_, h);                        \
    } while (0)

Test(svg, run_shares_points_gaps_and_limits)
{
    int64_t id[] = {11, 12, 13, 14};
    double share[] = {0.5, 0.25, NAN, 0.75}, w[] = {0.1, NAN, 0.4, 0.05};
    double frac[] = {0.5, 0.5, 0.5, 0.5}, wfrac[] = {0.3, 0.3, NAN, 0.3};
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_run_shares(&b, 4, id, share, w, frac, wfrac, "shares");
    char *h = rpt_buf_take(&b);
    cr_assert_not_null(h);
    assert_inert_svg(h);
    cr_assert_not_null(strstr(h, "viewBox=\"0 0 480 140\""));
    /* the weighted share: 3 points, its line broken at run 12's NaN (two paths) */
    cr_assert_eq(count_of(h, "<circle class=\"wshare\""), 3, "%s", h);
    cr_assert_eq(count_of(h, "<path class=\"wshare\""), 2, "%s", h);
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(0, 4), gy(0.1, 1.0));
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(2, 4), gy(0.4, 1.0));
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(3, 4), gy(0.05, 1.0));
    char gap[64];
    snprintf(gap, sizeof gap, "cx=\"%.1f\"", gx(1, 4));
    cr_assert_null(strstr(h, gap), "a point drawn for a NaN: %s", h);
    /* the run without a weighted share is no zero: nothing at y = 122 */
    cr_assert_null(strstr(h, "cy=\"122.0\""));
    /* the drifted share: 3 hollow squares (5 x 5, centred), two lines */
    cr_assert_eq(count_of(h, "<rect class=\"share\""), 3);
    cr_assert_eq(count_of(h, "<path class=\"share\""), 2);
    assert_has(h, "x=\"%.1f\" y=\"%.1f\"", gx(1, 4) - 2.5, gy(0.25, 1.0) - 2.5);
    cr_assert_not_null(strstr(h, "<title>run 13: importance-weighted share 40.0 %</title>"));
    /* the limits: a segment per run that has one, half-way to each neighbour */
    double half = 436.0 / 3.0 / 2.0;
    char want[160];
    snprintf(want, sizeof want,
             "class=\"frac\" fill=\"none\" stroke=\"#D55E00\" "
             "stroke-dasharray=\"2 2\" d=\"M%.1f %.1fH%.1fM",
             34.0, gy(0.5, 1.0), 34.0 + half);
    cr_assert_not_null(strstr(h, want), "%s", h);
    const char *wf = strstr(h, "class=\"wfrac\"");
    cr_assert_not_null(wf);
    size_t segs = 0;
    for (const char *q = strstr(wf, "d=\""); *q != '/'; q++)
        segs += *q == 'M';
    cr_assert_eq(segs, 3, "weighted_fraction: one segment per run that has it");
    assert_has(h, "M%.1f %.1fH", gx(3, 4) - half, gy(0.3, 1.0));
    free(h);
    /* no run: nothing */
    rpt_buf_init(&b);
    rpt_svg_run_shares(&b, 0, NULL, share, w, NULL, NULL, "x");
    cr_assert_eq(b.len, 0, "an <svg> without a run");
    rpt_buf_release(&b);
}

Test(svg, run_psi_points_gaps_and_bands)
{
    /* top = max(0.3, 1.15 x 0.4) = 0.46 */
    double psi[] = {0.02, NAN, 0.12, 0.4}, spsi[] = {0.25, 0.25, 0.25, 0.25};
    double top = 1.15 * 0.4;
    assert_close(rpt_runs_psi_top(psi, spsi, 4), top, "top");
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_run_psi(&b, 4, NULL, psi, spsi, "psi");
    char *h = rpt_buf_take(&b);
    cr_assert_not_null(h);
    assert_inert_svg(h);
    cr_assert_eq(count_of(h, "<circle class=\"psi\""), 3, "%s", h);
    cr_assert_eq(count_of(h, "<path class=\"psi\""), 2, "%s", h);
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(0, 4), gy(0.02, top));
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(3, 4), gy(0.4, top));
    /* the band edges across the plot at 0.1 and 0.25 */
    char want[160];
    snprintf(want, sizeof want, "d=\"M34.0 %.1fH470.0M34.0 %.1fH470.0\"", gy(0.1, top),
             gy(0.25, top));
    cr_assert_not_null(strstr(h, want), "%s", h);
    cr_assert_not_null(strstr(h, "class=\"spsi\""));
    free(h);
    /* small PSIs: the axis still reaches 0.3, so both bands show (0.25 at y = 27) */
    double low[] = {0.01, 0.02};
    assert_close(rpt_runs_psi_top(low, NULL, 2), 0.3, "floor");
    rpt_buf_init(&b);
    rpt_svg_run_psi(&b, 2, NULL, low, NULL, "psi");
    h = rpt_buf_take(&b);
    snprintf(want, sizeof want, "M34.0 %.1fH470.0\"", gy(0.25, 0.3));
    cr_assert_str_eq(want, "M34.0 27.0H470.0\"");
    cr_assert_not_null(strstr(h, want), "%s", h);
    cr_assert_null(strstr(h, "class=\"spsi\""), "no score_psi configured: no line");
    cr_assert_not_null(strstr(h, "text-anchor=\"end\">0.1</text>"));
    free(h);
    /* a large PSI: top = 2.3, 0.1 sits 114 x 0.1 / 2.3 = 4.96 px above 0 (< 9: no label),
     * 0.25 at 12.4 px (labelled) */
    double big[] = {2.0};
    rpt_buf_init(&b);
    rpt_svg_run_psi(&b, 1, NULL, big, NULL, "psi");
    h = rpt_buf_take(&b);
    cr_assert_null(strstr(h, ">0.1</text>"), "%s", h);
    cr_assert_not_null(strstr(h, ">0.25</text>"), "%s", h);
    assert_has(h, "cx=\"%.1f\" cy=\"%.1f\"", gx(0, 1), gy(2.0, 2.3));
    free(h);
}

/* ---- pages ------------------------------------------------------------------------------ */

static rpt_run_entry entry(int64_t id, const char *ref, size_t n, size_t d, bool drift)
{
    rpt_run_entry e = {id,
                       "2026-01-01 00:00:00 UTC",
                       "batch <i>b</i>",
                       ref,
                       n,
                       d,
                       n ? (double)d / (double)n : NAN,
                       drift,
                       false,
                       "run-1.html\"><script>x</script>",
                       NAN,
                       NAN,
                       NAN,
                       NAN,
                       NAN,
                       false,
                       NAN,
                       NAN,
                       NAN,
                       NAN,
                       NAN,
                       NAN,
                       NULL};
    return e;
}

/* Issue 21: the cohorts' realised performance on the history page, only when a run has an
 * evaluation; each figure a point with its tooltip, the reference's a dashed segment. */
Test(svg, history_page_draws_the_cohorts_performance)
{
    rpt_run_entry r[2] = {entry(1, "m", 4, 1, false), entry(2, "m", 4, 0, false)};
    char *h = rpt_history_render("m", r, 2, 2, NULL, 0);
    cr_assert_not_null(h);
    cr_assert_null(strstr(h, "<section class=\"perf\">"), "no evaluation: no section");
    free(h);
    r[0].has_perf = true;
    r[0].perf_cost = 0.5;
    r[0].perf_ref_cost = 0.4;
    r[0].perf_auc = 0.7;
    r[0].perf_ref_auc = 0.75;
    r[0].perf_opt = INFINITY; /* refuse nobody: a gap */
    r[0].perf_thr = 0.52;
    h = rpt_history_render("m", r, 2, 2, NULL, 0);
    cr_assert_not_null(h);
    cr_assert_not_null(strstr(h, "<section class=\"perf\">"));
    size_t charts = 0;
    for (const char *p = h; (p = strstr(p, "<svg class=\"plot runs figure\"")) != NULL; p++)
        charts++;
    cr_assert_eq(charts, 3);
    cr_assert_not_null(strstr(h, "run 1: business cost 0.5<"));
    cr_assert_not_null(strstr(h, "run 1: AUC 0.7<"));
    cr_assert_null(strstr(h, "run 2: business cost"), "a run without an evaluation is a gap");
    cr_assert_null(strstr(h, "optimal threshold inf"), "+inf is a gap");
    /* the reference's cost at run 1 of 2: x from 34 to 34 + 436 / 2, y = 122 - 0.4 / top * 114
     * with top = 1.15 x 0.5 */
    char seg[96];
    snprintf(seg, sizeof seg, "M%.1f %.1fH%.1f", 34.0, 122.0 - 0.4 / (1.15 * 0.5) * 114.0,
             34.0 + 436.0 / 2.0);
    cr_assert_not_null(strstr(h, seg), "%s", seg);
    free(h);
}

Test(svg, index_and_history_pages_escape_and_repeat)
{
    rpt_run_entry runs[2] = {entry(2, "<ref>", 4, 3, true), entry(1, "<ref>", 4, 0, false)};
    rpt_link pages[1] = {{"<ref>", "history-_ref_.html"}};
    char *a = rpt_index_render(runs, 2, pages, 1);
    char *b2 = rpt_index_render(runs, 2, pages, 1);
    cr_assert_not_null(a);
    cr_assert_str_eq(a, b2, "rendered twice: different bytes");
    free(b2);
    assert_inert(a);
    cr_assert_null(strstr(a, "<ref>"));
    cr_assert_null(strstr(a, "<i>"));
    cr_assert_not_null(strstr(a, "href=\"run-1.html&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    /* newest first as given; 3 of 4 = 75.0 % */
    cr_assert_lt(strstr(a, ">2</a>"), strstr(a, ">1</a>"));
    cr_assert_not_null(strstr(a, "3 of 4 (75.0 %)"));
    cr_assert_null(strstr(a, "outcomes</a>"), "a link to a re-rendered report that is not there");
    free(a);
    /* issue 21: the run's report with its cohort's outcomes, beside the run's, escaped */
    runs[1].perf_report_href = "run-1.performance-9.html\"><b>";
    a = rpt_index_render(runs, 2, pages, 1);
    cr_assert_not_null(a);
    assert_inert(a);
    cr_assert_null(strstr(a, "<b>"));
    cr_assert_eq(count_of(a, "outcomes</a>"), 1);
    const char *own = strstr(a, ">1</a>"), *perf = strstr(a, " <a class=\"perf\" "
                                                             "href=\"run-1.performance-9.html"
                                                             "&quot;&gt;&lt;b&gt;\"");
    cr_assert(own != NULL && perf == own + strlen(">1</a>"), "%s", a);
    runs[1].perf_report_href = NULL;
    free(a);

    size_t x1[] = {0, 1};
    double sc[] = {0.01, 0.5}, th[] = {0.05, 0.05};
    bool dr[] = {true, false};
    rpt_column_series cols[2] = {
        {"<script>alert(1)</script>", "ks", {2, x1, NULL, sc, th, dr, true}},
        {"plain", "wasserstein", {0, NULL, NULL, NULL, NULL, NULL, false}},
    };
    rpt_run_entry old_first[2] = {runs[1], runs[0]};
    char *h = rpt_history_render("<ref>", old_first, 2, 2, cols, 2);
    char *h2 = rpt_history_render("<ref>", old_first, 2, 2, cols, 2);
    cr_assert_not_null(h);
    cr_assert_str_eq(h, h2);
    free(h2);
    assert_inert(h);
    /* the column without results has no chart (the other chart: the run-level shares) */
    cr_assert_eq(count_of(h, "<svg class=\"plot series\""), 1);
    cr_assert_eq(count_of(h, "<svg"), 2);
    cr_assert_not_null(strstr(h, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    cr_assert_not_null(strstr(h, "<td class=\"n\">1 of 2</td>"));
    free(h);
}

Test(svg, report_has_one_plot_per_column_with_data)
{
    uint64_t rc[] = {4, 1}, cc[] = {1, 4};
    static const char *const lab[] = {"<script>alert(1)</script>", "<img src=x onerror=alert(1)>"};
    stats_column data;
    memset(&data, 0, sizeof data);
    data.kind = STATS_CAT;
    data.ref_cat = (stats_cat){rc, 2, 5};
    data.cur_cat = (stats_cat){cc, 2, 5};
    stats_column_result c[3] = {
        {.name = "with_data",
         .kind = STATS_CAT,
         .test = STATS_TEST_JENSENSHANNON,
         .threshold = 0.1,
         .score = 0.4,
         .drifted = true,
         .data = &data,
         .cat_labels = lab},
        {.name = "no_data_pointer",
         .kind = STATS_NUM,
         .test = STATS_TEST_WASSERSTEIN,
         .threshold = 0.1,
         .score = 0.01},
        /* missing 0 / 100 -> 60 / 100: a jump of +60 points */
        {.name = "jump",
         .kind = STATS_CAT,
         .test = STATS_TEST_JENSENSHANNON,
         .threshold = 0.1,
         .score = 0.2,
         .drifted = true,
         .data = &data,
         .cat_labels = lab,
         .ref = {100, 0, 0},
         .cur = {100, 60, 0}},
    };
    rpt_run r;
    memset(&r, 0, sizeof r);
    r.cols = c;
    r.ncols = 3;
    r.verdict = (stats_verdict){3, 2, 2.0 / 3.0, true, true, NAN, NAN, 0u, NAN};
    r.drift_share = 0.5;
    r.retrain_fraction = 0.5;
    char *h = rpt_html_render(&r);
    cr_assert_not_null(h);
    cr_assert_eq(count_of(h, "<svg"), 2);
    assert_inert(h);
    cr_assert_not_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;: reference 80.0 %"));
    cr_assert_not_null(strstr(h, "\xE2\x96\xB2 +60.0 pts"), "missing-share jump not flagged");
    cr_assert_eq(count_of(h, " pts</span>"), 1, "a column without a jump was flagged");
    cr_assert_not_null(strstr(h, "@media print"));
    free(h);
}

/* rpt_buf_printf appends the text snprintf makes, a short one and one longer than any first
 * guess of its length. */
Test(svg, buf_printf_appends)
{
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_buf_puts(&b, "<path d=\"");
    rpt_buf_printf(&b, "M%.1f %.1fH%d", 2.25, -0.04, 7);
    char long_name[1000];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    rpt_buf_printf(&b, "\"/><title>%s %zu</title>", long_name, (size_t)12);
    char want[1200];
    snprintf(want, sizeof want, "<path d=\"M%.1f %.1fH%d\"/><title>%s %zu</title>", 2.25, -0.04, 7,
             long_name, (size_t)12);
    char *got = rpt_buf_take(&b);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want);
    cr_assert_eq(strncmp(got, "<path d=\"M2.2 -0.0H7\"", 21), 0, "%.40s", got);
    free(got);
}

/* ---- the model (issue 17): the score panel and the drift-vs-importance chart ---------- */

/* The score panel's bars from the counts: share = count / n per side; viewBox 320 x 110,
 * plot area x 2 .. 318, y 4 .. 96 (height 92); group width 316 / 10 = 31.6, bars 0.36 of
 * it (11.376) starting 0.12 in (3.792); the tallest share fills the height. */
Test(svg, score_panel_bars_from_counts)
{
    stats_score_drift sd;
    memset(&sd, 0, sizeof sd);
    for (int i = 0; i < STATS_SCORE_NEDGES; i++)
        sd.edges[i] = 0.1 * (i + 1);
    uint64_t rc[10] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10};
    uint64_t cc[10] = {0, 5, 5, 5, 5, 5, 5, 5, 5, 20}; /* 60 scores: the last bin 1/3 */
    memcpy(sd.ref_count, rc, sizeof rc);
    memcpy(sd.cur_count, cc, sizeof cc);
    sd.ref_n = 100;
    sd.cur_n = 60;
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_score(&b, &sd, "score <p>");
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(s);
    double top = 20.0 / 60.0, sy = 92.0 / top, gw = 316.0 / 10.0, bw = gw * 0.36;
    for (int i = 0; i < 10; i++) {
        double hr = 0.1 * sy, hc = (double)cc[i] / 60.0 * sy, gx = 2.0 + gw * i;
        char want[200];
        snprintf(want, sizeof want,
                 "<rect fill=\"#0072B2\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                 "<rect fill=\"#D55E00\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                 gx + gw * 0.12, 96.0 - hr, bw, hr, gx + gw * 0.12 + bw, 96.0 - hc, bw, hc);
        cr_assert_not_null(strstr(s, want), "bin %d: want %s in %s", i, want, s);
    }
    cr_assert_not_null(strstr(s, "<title>bin 1 (-inf, 0.1]: reference 10.0 %, current 0.0 %"));
    cr_assert_not_null(strstr(s, "<title>bin 10 (0.9, inf): reference 10.0 %, current 33.3 %"));
    cr_assert_not_null(strstr(s, "aria-label=\"score &lt;p&gt;\""));
    cr_assert_eq(count_of(s, "<svg"), 1);
    assert_inert_svg(s);
    free(s);
}

static stats_column_result imp_col(const char *name, stats_test t, double thr, double score,
                                   bool drifted, double importance)
{
    return (stats_column_result){.name = name,
                                 .kind = STATS_NUM,
                                 .test = t,
                                 .threshold = thr,
                                 .score = score,
                                 .drifted = drifted,
                                 .importance = importance};
}

/* Points from the definitions: x = importance / the tested columns' total (NaN weighs 0),
 * y = score / threshold (p-value tests: log p / log threshold); the top 5 by importance;
 * coordinates px = 34 + x / xmax * 436, py = 176 - min(y, 3) / 3 * 168. */
Test(svg, importance_chart_points_and_coordinates)
{
    stats_column_result c[8] = {
        imp_col("EXT_SOURCE_3", STATS_TEST_WASSERSTEIN, 0.1, 0.25, true, 40.0),
        imp_col("EXT_SOURCE_2", STATS_TEST_WASSERSTEIN, 0.1, 0.05, false, 30.0),
        imp_col("bureau_a", STATS_TEST_WASSERSTEIN, 0.1, 0.5, true, 1.0), /* y 5: on top */
        imp_col("DAYS_BIRTH", STATS_TEST_KS, 0.05, 0.0025, true, 15.0),   /* y = 2 */
        imp_col("no_importance", STATS_TEST_WASSERSTEIN, 0.1, 0.02, false, NAN),
        imp_col("no_score", STATS_TEST_WASSERSTEIN, 0.1, NAN, false, 5.0),
        imp_col("CREDIT_TERM", STATS_TEST_WASSERSTEIN, 0.1, 0.08, false, 5.0),
        imp_col("bureau_b", STATS_TEST_WASSERSTEIN, 0.1, 0.2, true, 4.0),
    };
    /* total 40 + 30 + 1 + 15 + 5 + 5 + 4 = 100; the 5 largest: 40, 30, 15 (DAYS_BIRTH), 5
     * (no_score, first in table order), 5 (CREDIT_TERM); of them at least the average share
     * 1/8 = 12.5 %: 40, 30 and 15 */
    rpt_imp_point p[8];
    size_t n = 99;
    cr_assert_eq(rpt_importance_points(c, 8, p, &n), 0);
    cr_assert_eq(n, 7, "no_score has no point: %zu", n);
    static const size_t idx[7] = {0, 1, 2, 3, 4, 6, 7};
    double wantx[7] = {0.40, 0.30, 0.01, 0.15, 0.0, 0.05, 0.04};
    double wanty[7] = {0.25 / 0.1, 0.05 / 0.1, 0.5 / 0.1, log(0.0025) / log(0.05),
                       0.02 / 0.1, 0.08 / 0.1, 0.2 / 0.1};
    bool wanttop[7] = {true, true, false, true, false, false, false};
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(p[i].index, idx[i]);
        assert_close(p[i].x, wantx[i], "x");
        assert_close(p[i].y, wanty[i], "y");
        cr_assert_eq(p[i].top, wanttop[i], "top of %s", c[idx[i]].name);
        cr_assert_eq(p[i].drifted, c[idx[i]].drifted);
    }
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_importance(&b, p, n, c, "chart");
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(s);
    double xmax = 0.40;
    for (size_t i = 0; i < 7; i++) {
        double px = 34.0 + wantx[i] / xmax * 436.0;
        double py = 176.0 - fmin(wanty[i], 3.0) / 3.0 * 168.0;
        char want[160];
        if (c[idx[i]].drifted)
            snprintf(want, sizeof want,
                     "<rect class=\"drift\" fill=\"#D55E00\" x=\"%.1f\" "
                     "y=\"%.1f\" width=\"6\" height=\"6\"/>",
                     px - 3.0, py - 3.0);
        else
            snprintf(want, sizeof want,
                     "<circle fill=\"#fff\" stroke=\"#0072B2\" cx=\"%.1f\" "
                     "cy=\"%.1f\" r=\"2.5\"/>",
                     px, py);
        cr_assert_not_null(strstr(s, want), "%s: want %s in %s", c[idx[i]].name, want, s);
    }
    /* the threshold line at y = 1: 176 - 168 / 3 = 120 */
    cr_assert_not_null(strstr(s, "d=\"M34.0 120.0H470.0\""), "%s", s);
    cr_assert_eq(count_of(s, "class=\"top\""), 3);
    /* named: the drifted top columns, EXT_SOURCE_3 and DAYS_BIRTH, not the drifted bureau ones */
    cr_assert_eq(count_of(s, "<text class=\"name\""), 2);
    cr_assert_not_null(strstr(s, ">EXT_SOURCE_3</text>"));
    cr_assert_not_null(strstr(s, ">DAYS_BIRTH</text>"));
    cr_assert_null(strstr(s, ">bureau_a</text>"));
    assert_inert_svg(s);
    free(s);

    /* importances summing to 0 over the tested columns: no chart */
    for (size_t i = 0; i < 8; i++)
        c[i].importance = i % 2 ? 0.0 : NAN;
    cr_assert_eq(rpt_importance_points(c, 8, p, &n), -1);
}

/* A hostile column name among the drifted top columns: escaped in the label and the
 * tooltip, nothing to run. */
Test(svg, importance_chart_escapes_names)
{
    const char *evil = "<script>alert(1)</script>\"&'";
    stats_column_result c[2] = {
        imp_col(evil, STATS_TEST_WASSERSTEIN, 0.1, 0.3, true, 2.0),
        imp_col("<img src=x onerror=alert(1)>", STATS_TEST_WASSERSTEIN, 0.1, 0.01, false, 1.0),
    };
    rpt_imp_point p[2];
    size_t n;
    cr_assert_eq(rpt_importance_points(c, 2, p, &n), 0);
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_svg_importance(&b, p, n, c, "chart");
    char *s = rpt_buf_take(&b);
    cr_assert_not_null(s);
    assert_inert_svg(s);
    cr_assert_null(strstr(s, "<script"));
    cr_assert_null(strstr(s, "<img"));
    /* the label is cut to 18 code points: "<script>alert(1)<" and an ellipsis */
    cr_assert_not_null(strstr(s, ">&lt;script&gt;alert(1)&lt;\xE2\x80\xA6</text>"), "%s", s);
    cr_assert_not_null(strstr(s, "<title>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;: "),
                       "%s", s);
    free(s);
}

Test(svg, history_page_has_the_run_charts)
{
    rpt_run_entry r[3] = {entry(1, "m", 4, 1, false), entry(2, "m", 4, 3, true),
                          entry(3, "m", 4, 2, true)};
    char *h = rpt_history_render("m", r, 3, 3, NULL, 0);
    cr_assert_not_null(h);
    /* no run with a model: the shares chart (weighted share all gaps), no PSI chart */
    cr_assert_not_null(strstr(h, "aria-label=\"drifted share and importance-weighted share over 3 "
                                 "runs\""));
    cr_assert_eq(count_of(h, "<circle class=\"wshare\""), 0);
    cr_assert_eq(count_of(h, "<rect class=\"share\""), 3);
    cr_assert_not_null(strstr(h, "No run has a score PSI"));
    cr_assert_null(strstr(h, "score PSI over"));
    free(h);
    r[0].weighted_share = 0.02;
    r[0].score_psi = 0.03;
    r[2].weighted_share = 0.5;
    r[2].score_psi = 0.3;
    r[2].retrain_score_psi = 0.25;
    h = rpt_history_render("m", r, 3, 3, NULL, 0);
    cr_assert_not_null(h);
    cr_assert_not_null(strstr(h, "aria-label=\"score PSI over 3 runs\""));
    cr_assert_eq(count_of(h, "<circle class=\"wshare\""), 2);
    cr_assert_eq(count_of(h, "<circle class=\"psi\""), 2);
    cr_assert_not_null(strstr(h, "2 of 3 runs have a score PSI"));
    /* above the column table */
    cr_assert_lt(strstr(h, "score PSI over"), strstr(h, "No column result yet"));
    free(h);
}

/*
 * html_internal.h - helpers shared by the report writers (not part of the public API).
 *
 * rpt_buf (reports/report.h) is a growable byte buffer with a sticky out-of-memory flag: writers
 * append without checking every call and test rpt_buf_failed() once at the end.  The later SVG plot
 * code (svg.c) appends to the same buffer.
 *
 * Ownership: rpt_buf_init() starts an empty buffer; rpt_buf_take() hands the NUL-terminated
 * string to the caller (NULL when any append failed) and resets the buffer;
 * rpt_buf_release() frees it.
 */
#ifndef DRIFTMON_REPORTS_HTML_INTERNAL_H
#define DRIFTMON_REPORTS_HTML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/report.h"

/* Append s HTML-escaped (see rpt_html_escape); NULL appends nothing. */
void rpt_buf_put_html(rpt_buf *b, const char *s);
/* Append s with invalid UTF-8 replaced by U+FFFD; NULL appends nothing. */
void rpt_buf_put_utf8(rpt_buf *b, const char *s);

/*
 * Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the bytes at s start an
 * ill-formed sequence; then *bad is set to the length of its maximal subpart (1..3), the
 * bytes one U+FFFD replaces (Unicode 15, section 3.9, "U+FFFD substitution of maximal
 * subparts").  *s must not be NUL.
 */
size_t rpt_utf8_seq(const unsigned char *s, size_t *bad);

#endif

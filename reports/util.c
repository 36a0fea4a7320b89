/*
 * util.c - UTF-8 sanitising, HTML escaping, the report buffer.
 */
#include "reports/report.h"
#include "reports/html_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char utf8_replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* ---- UTF-8 ------------------------------------------------------------------------ */

size_t rpt_utf8_seq(const unsigned char *s, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        *bad = 1; /* continuation byte, C0/C1 overlong lead, F5..FF */
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (s[i] < l || s[i] > h) { /* also stops at the terminating NUL */
            *bad = i;
            return 0;
        }
    }
    return need;
}

char *rpt_utf8_sanitize(const char *s)
{
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_buf_puts(&b, ""); /* an empty string is still a string */
    rpt_buf_put_utf8(&b, s);
    return rpt_buf_take(&b);
}

void rpt_buf_put_utf8(rpt_buf *b, const char *s)
{
    if (s == NULL)
        return;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p; /* start of the pending well-formed run */
    while (*p != '\0') {
        size_t bad = 0, n = rpt_utf8_seq(p, &bad);
        if (n > 0) {
            p += n;
            continue;
        }
        rpt_buf_put(b, run, (size_t)(p - run));
        rpt_buf_put(b, utf8_replacement, 3);
        p += bad;
        run = p;
    }
    rpt_buf_put(b, run, (size_t)(p - run));
}

/* ---- HTML ------------------------------------------------------------------------ */

void rpt_buf_put_html(rpt_buf *b, const char *s)
{
    if (s == NULL)
        return;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    while (*p != '\0') {
        const char *rep = NULL;
        char pic[4];
        size_t skip = 1, bad = 0;
        unsigned char c = *p;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '\t':
        case '\n':
        case '\r':
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                /* a visible "control picture" (U+2401..U+241F, U+2421) instead of a
                 * control character the HTML parser rejects */
                unsigned cp = c == 0x7F ? 0x2421u : 0x2400u + c;
                pic[0] = (char)(0xE0 | (cp >> 12));
                pic[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                pic[2] = (char)(0x80 | (cp & 0x3F));
                pic[3] = '\0';
                rep = pic;
            } else if (c >= 0x80) {
                size_t n = rpt_utf8_seq(p, &bad);
                if (n == 0) {
                    rep = utf8_replacement;
                    skip = bad;
                } else if (n == 2 && c == 0xC2 && p[1] < 0xA0) {
                    rep = utf8_replacement; /* C1 control U+0080..U+009F */
                    skip = 2;
                } else {
                    skip = n;
                }
            }
            break;
        }
        if (rep != NULL) {
            rpt_buf_put(b, run, (size_t)(p - run));
            rpt_buf_puts(b, rep);
            p += skip;
            run = p;
        } else {
            p += skip;
        }
    }
    rpt_buf_put(b, run, (size_t)(p - run));
}

char *rpt_html_escape(const char *s)
{
    rpt_buf b;
    rpt_buf_init(&b);
    rpt_buf_puts(&b, "");
    rpt_buf_put_html(&b, s);
    return rpt_buf_take(&b);
}

/* ---- the buffer ------------------------------------------------------------------ */

void rpt_buf_init(rpt_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void rpt_buf_release(rpt_buf *b)
{
    free(b->data);
    rpt_buf_init(b);
}

bool rpt_buf_failed(const rpt_buf *b)
{
    return b->failed;
}

char *rpt_buf_take(rpt_buf *b)
{
    if (b->failed || b->data == NULL) {
        rpt_buf_release(b);
        return NULL;
    }
    char *s = b->data;
    rpt_buf_init(b);
    return s;
}

/* Make room for extra more bytes plus the NUL. */
static bool buf_reserve(rpt_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t want = b->len + extra + 1;
    if (want <= b->cap)
        return true;
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void rpt_buf_put(rpt_buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void rpt_buf_puts(rpt_buf *b, const char *s)
{
    if (s != NULL)
        rpt_buf_put(b, s, strlen(s));
}

void rpt_buf_printf(rpt_buf *b, const char *fmt, ...)
{
    va_list ap;
    /* into a small buffer first: one conversion, not two, for the common short text */
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        rpt_buf_put(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

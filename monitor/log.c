/*
 * log.c - logfmt lines on stderr (see log.h).
 */
#include "monitor/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 8192

static dm_log_level g_level = DM_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* ---- the escaper ------------------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence of 2 to 4 bytes at s[0..n), or 0 when s[0]
 * starts none (overlong forms, surrogates and code points past U+10FFFF are not UTF-8). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k = c >= 0xc2 && c <= 0xdf   ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (k == 0 || n < k)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return k;
}

size_t dm_escape(const char *s, size_t len, int flags, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    if (outlen == 0)
        return 0;
    while (i < len) {
        unsigned char c = p[i];
        char esc[8];
        const char *put = esc;
        size_t plen = 2, used = 1;
        if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        } else if ((flags & DM_ESC_QUOTED) && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c < 0x80) {
            put = s + i;
            plen = 1;
        } else if ((used = utf8_len(p + i, len - i)) == 0) {
            used = 1; /* not UTF-8 */
            plen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        } else if (c == 0xc2 && p[i + 1] < 0xa0) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[i + 1]); /* C1 */
        } else {
            put = s + i;
            plen = used;
        }
        if (o + plen >= outlen)
            break;
        memcpy(out + o, put, plen);
        o += plen;
        i += used;
    }
    out[o] = '\0';
    return i;
}

char *dm_escape_dup(const char *s)
{
    size_t len = strlen(s);
    size_t cap = 4 * len + 1; /* at most 4 bytes for one (\xHH), 6 for two (\u0080) */
    char *out = malloc(cap);
    if (out)
        dm_escape(s, len, 0, out, cap);
    return out;
}

void dm_fputs_escaped(const char *s, FILE *f)
{
    char chunk[512];
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        i += dm_escape(s + i, len - i, 0, chunk, sizeof chunk);
        fputs(chunk, f);
    }
}

/* ---- lines --------------------------------------------------------------------------------- */

/* A growing line in a fixed buffer; truncates (with "...") rather than overflow. */
typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t len;
    bool full;
} line_buf;

static void put(line_buf *l, const char *s, size_t n)
{
    if (l->full) {
        return;
    }
    /* keep room for "...\n" and the NUL */
    size_t room = sizeof l->buf - 5 - l->len;
    if (n > room) {
        n = room;
        l->full = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    if (l->full) {
        memcpy(l->buf + l->len, "...", 3);
        l->len += 3;
    }
}

static void puts_(line_buf *l, const char *s)
{
    put(l, s, strlen(s));
}

static bool is_bare(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f) {
            return false;
        }
    }
    return true;
}

static void put_quoted(line_buf *l, const char *s)
{
    char chunk[256];
    size_t len = strlen(s);
    put(l, "\"", 1);
    for (size_t i = 0; i < len && !l->full;) {
        i += dm_escape(s + i, len - i, DM_ESC_QUOTED, chunk, sizeof chunk);
        puts_(l, chunk);
    }
    put(l, "\"", 1);
}

static void put_value(line_buf *l, const char *s)
{
    if (s == NULL) {
        puts_(l, "null");
    } else if (is_bare(s)) {
        puts_(l, s);
    } else {
        put_quoted(l, s);
    }
}

static void start_line(line_buf *l, dm_log_level level, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char stamp[64];

    l->len = 0;
    l->full = false;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    puts_(l, "ts=");
    puts_(l, stamp);
    puts_(l, " level=");
    puts_(l, level_names[level]);
    puts_(l, " msg=");
    put_quoted(l, msg);
}

static void end_line(line_buf *l)
{
    l->buf[l->len++] = '\n';
    l->buf[l->len] = '\0';
    fputs(l->buf, stderr);
}

static bool level_ok(dm_log_level level)
{
    return (int)level >= (int)g_level && (int)level >= 0 && (int)level <= (int)DM_LOG_ERROR;
}

void dm_log_set_level(dm_log_level level)
{
    g_level = level;
}

dm_log_level dm_log_get_level(void)
{
    return g_level;
}

int dm_log_parse_level(const char *name, dm_log_level *level)
{
    if (name == NULL) {
        return -1;
    }
    if (strcmp(name, "warning") == 0) {
        *level = DM_LOG_WARN;
        return 0;
    }
    for (int i = 0; i <= (int)DM_LOG_ERROR; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (dm_log_level)i;
            return 0;
        }
    }
    return -1;
}

void dm_log(dm_log_level level, const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    line_buf l;
    va_list ap;

    if (!level_ok(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    start_line(&l, level, msg);
    end_line(&l);
}

/* One conversion of a dm_logf format: the spec starts at f (just after '%'); its argument
 * is taken from ap and written to l (strings bare or quoted as values).  Returns the end of
 * the spec. */
static const char *put_conversion(line_buf *l, const char *f, va_list *ap)
{
    int width = 0, prec = -1;
    bool left = *f == '-';
    if (left)
        f++;
    for (; *f >= '0' && *f <= '9'; f++)
        width = width * 10 + (*f - '0');
    if (*f == '.')
        for (prec = 0, f++; *f >= '0' && *f <= '9'; f++)
            prec = prec * 10 + (*f - '0');
    if (left)
        width = -width;
    int longs = 0;
    bool size = false, big = false;
    for (; *f && strchr("lzjtLh", *f); f++) {
        if (*f == 'l')
            longs++;
        else if (*f == 'z' || *f == 'j' || *f == 't')
            size = true;
        else if (*f == 'L')
            big = true;
    }
    char conv = *f ? *f++ : 's';
    char out[128];
    switch (conv) {
    case 's':
        put_value(l, va_arg(*ap, const char *));
        return f;
    case 'd':
    case 'i': {
        long long v = size         ? (long long)va_arg(*ap, ptrdiff_t)
                      : longs == 2 ? va_arg(*ap, long long)
                      : longs == 1 ? (long long)va_arg(*ap, long)
                                   : (long long)va_arg(*ap, int);
        snprintf(out, sizeof out, "%*lld", width, v);
        break;
    }
    case 'u':
    case 'x': {
        unsigned long long v = size         ? (unsigned long long)va_arg(*ap, size_t)
                               : longs == 2 ? va_arg(*ap, unsigned long long)
                               : longs == 1 ? (unsigned long long)va_arg(*ap, unsigned long)
                                            : (unsigned long long)va_arg(*ap, unsigned);
        snprintf(out, sizeof out, conv == 'u' ? "%*llu" : "%*llx", width, v);
        break;
    }
    case 'f':
    case 'g':
    case 'e': {
        double v = big ? (double)va_arg(*ap, long double) : va_arg(*ap, double);
        prec = prec < 0 ? 6 : prec;
        snprintf(out, sizeof out,
                 conv == 'f'   ? "%*.*f"
                 : conv == 'g' ? "%*.*g"
                               : "%*.*e",
                 width, prec, v);
        break;
    }
    default: /* not a conversion dm_logf knows: shown as written, no argument taken */
        snprintf(out, sizeof out, "%%%c", conv);
        break;
    }
    put_value(l, out);
    return f;
}

void dm_logf(dm_log_level level, const char *msg, const char *kvfmt, ...)
{
    line_buf l;
    va_list ap;

    if (!level_ok(level)) {
        return;
    }
    start_line(&l, level, msg);
    if (kvfmt && *kvfmt)
        put(&l, " ", 1);
    va_start(ap, kvfmt);
    for (const char *f = kvfmt; f && *f;) {
        if (f[0] == '%' && f[1] == '%') {
            put(&l, "%", 1);
            f += 2;
        } else if (*f == '%') {
            f = put_conversion(&l, f + 1, &ap);
        } else {
            put(&l, f, 1);
            f++;
        }
    }
    va_end(ap);
    end_line(&l);
}

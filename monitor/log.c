/*
 * log.c - logfmt lines on stderr (see log.h).
 */
#include "monitor/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 8192

static dm_log_level g_level = DM_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

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
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            put(l, "\\\"", 2);
            break;
        case '\\':
            put(l, "\\\\", 2);
            break;
        case '\n':
            put(l, "\\n", 2);
            break;
        case '\t':
            put(l, "\\t", 2);
            break;
        case '\r':
            put(l, "\\r", 2);
            break;
        default:
            if (*p < ' ' || *p == 0x7f) {
                snprintf(esc, sizeof esc, "\\x%02x", *p);
                puts_(l, esc);
            } else {
                put(l, (const char *)p, 1);
            }
        }
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

void dm_logkv(dm_log_level level, const char *msg, ...)
{
    line_buf l;
    va_list ap;

    if (!level_ok(level)) {
        return;
    }
    start_line(&l, level, msg);
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL) {
            break;
        }
        const char *value = va_arg(ap, const char *);
        put(&l, " ", 1);
        puts_(&l, key);
        put(&l, "=", 1);
        put_value(&l, value);
    }
    va_end(ap);
    end_line(&l);
}

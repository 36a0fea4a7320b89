/* conninfo.c - what of a libpq connection string may be shown (see conninfo.h). */
#include "monitor/conninfo.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#define HIDDEN "****"

/* ---- a bounded string builder -------------------------------------------------------- */

typedef struct {
    char *s;
    size_t cap, len; /* cap > 0; s[len] == '\0' always */
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
        o->s[o->len++] = s[i];
    o->s[o->len] = '\0';
}

static void put_str(outbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

/* ---- libpq's rules ----------------------------------------------------------------------- */

/* PQconnectdbParams' rule for the dbname it expands: a connection string when it holds an
 * '=' or starts with a URI scheme designator, else a database name. */
static bool is_connection_string(const char *s)
{
    return strchr(s, '=') != NULL || strncmp(s, "postgresql://", 13) == 0 ||
           strncmp(s, "postgres://", 11) == 0;
}

static bool hidden(const PQconninfoOption *o)
{
    if (o->val == NULL)
        return false;
    if (o->dispchar != NULL && strchr(o->dispchar, '*') != NULL)
        return true;
    return strcmp(o->keyword, "dbname") == 0 && is_connection_string(o->val);
}

/* A value written as libpq's key=value syntax reads it back: bare, or quoted with \' \\. */
static void put_value(outbuf *o, const char *v)
{
    bool quote = *v == '\0';
    for (const char *p = v; *p != '\0' && !quote; p++)
        quote = isspace((unsigned char)*p) || *p == '\'' || *p == '\\';
    if (!quote) {
        put_str(o, v);
        return;
    }
    put(o, "'", 1);
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '\'' || *p == '\\')
            put(o, "\\", 1);
        put(o, p, 1);
    }
    put(o, "'", 1);
}

/*
 * What libpq found wrong, in our words.  libpq's messages (untranslated: driftmon never
 * sets a locale) quote the offending text, which may be the password, so only their fixed
 * beginnings are matched; a message not listed here is reported without detail.
 */
static const char *problem(const char *libpq_msg)
{
    static const struct {
        const char *libpq, *ours;
    } known[] = {
        {"invalid percent-encoded token",
         "a '%' not followed by two hexadecimal digits (a literal '%' is written %25)"},
        {"forbidden value %00", "a %00 escape"},
        {"missing \"=\" after", "a word without '=' (a value holding blanks must be quoted)"},
        {"unterminated quoted string", "a quoted value without its closing quote"},
        {"invalid connection option", "an option libpq does not know"},
        {"invalid URI query parameter", "a URI parameter libpq does not know"},
        {"extra key/value separator", "a URI parameter with a second '='"},
        {"missing key/value separator", "a URI parameter without '='"},
        {"unexpected character", "an unexpected character after the URI's host"},
        {"end of string reached when looking for matching \"]\"",
         "an IPv6 host without its closing ']'"},
        {"IPv6 host address may not be empty", "an empty IPv6 host"},
        {"connection info string size exceeds", "a string longer than libpq accepts"},
        {"out of memory", "out of memory"},
    };
    if (libpq_msg == NULL)
        return "out of memory";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strncmp(libpq_msg, known[i].libpq, strlen(known[i].libpq)) == 0)
            return known[i].ours;
    return "a syntax error";
}

/* libpq's options for conninfo (free with PQconninfoFree), or NULL with out = the problem. */
static PQconninfoOption *parse(const char *conninfo, char *out, size_t outlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (opts == NULL) {
        snprintf(out, outlen,
                 "libpq cannot read it: %s; its text is not shown, as it may hold a password",
                 problem(msg));
        PQfreemem(msg);
    }
    return opts;
}

/* ---- public ----------------------------------------------------------------------------- */

int dm_conninfo_scrub(const char *conninfo, char *out, size_t outlen)
{
    if (outlen == 0)
        return 0;
    outbuf o = {out, outlen, 0};
    out[0] = '\0';
    if (conninfo == NULL || conninfo[0] == '\0')
        return 0;
    if (!is_connection_string(conninfo)) {
        put_str(&o, "dbname=");
        put_value(&o, conninfo);
        return 0;
    }
    PQconninfoOption *opts = parse(conninfo, out, outlen);
    if (opts == NULL)
        return -1;
    for (const PQconninfoOption *p = opts; p->keyword != NULL; p++) {
        if (p->val == NULL)
            continue;
        if (o.len > 0)
            put(&o, " ", 1);
        put_str(&o, p->keyword);
        put(&o, "=", 1);
        if (hidden(p))
            put_str(&o, HIDDEN);
        else
            put_value(&o, p->val);
    }
    PQconninfoFree(opts);
    return 0;
}

void dm_conninfo_redact(const char *conninfo, const char *msg, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    outbuf o = {out, outlen, 0};
    out[0] = '\0';
    if (msg == NULL)
        return;
    PQconninfoOption *opts = NULL;
    if (conninfo != NULL && is_connection_string(conninfo)) {
        opts = parse(conninfo, out, outlen);
        if (opts == NULL)
            return;
    }
    /* matched against the whole message, so a cut output never ends in part of a secret */
    for (const char *m = msg; *m != '\0';) {
        size_t skip = 0;
        for (const PQconninfoOption *p = opts; p != NULL && p->keyword != NULL; p++) {
            size_t n = hidden(p) ? strlen(p->val) : 0;
            if (n > skip && strncmp(m, p->val, n) == 0)
                skip = n;
        }
        if (skip > 0) {
            put_str(&o, HIDDEN);
            m += skip;
        } else {
            put(&o, m++, 1);
        }
    }
    PQconninfoFree(opts);
}

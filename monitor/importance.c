/* importance.c - read the model's feature importances (see importance.h). */
#include "monitor/importance.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "monitor/dataset.h"
#include "monitor/sha256.h"

#define MAX_FILE (64u << 20)

typedef struct {
    dm_importance imp;
    size_t *line; /* line of entry i, for messages */
    size_t cap;
    const char *source;
    char *err;
    size_t errlen;
    /* a JSON file's text: lines are found in it only for messages (key_line) */
    const char *json;
    size_t json_len;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(reader *r, size_t line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char src[DM_SHOWN_LEN];
    dm_show_value(r->source, strlen(r->source), src, sizeof src);
    if (line)
        snprintf(r->err, r->errlen, "importance file \"%s\", line %zu: %s", src, line, msg);
    else
        snprintf(r->err, r->errlen, "importance file \"%s\": %s", src, msg);
    return -1;
}

static int oom(reader *r)
{
    return fail(r, 0, "out of memory");
}

void dm_importance_release(dm_importance *imp)
{
    if (!imp)
        return;
    for (size_t i = 0; i < imp->n; i++)
        free(imp->name[i]);
    free(imp->name);
    free(imp->value);
    free(imp->by_name);
    free(imp->source);
    memset(imp, 0, sizeof *imp);
}

/* Check the value (an importance is a finite number >= 0) and append (name, value). */
static int add(reader *r, const char *name, size_t nlen, double v, const char *spelled, size_t slen,
               size_t line)
{
    char shown[DM_SHOWN_LEN], col[DM_SHOWN_LEN];
    dm_show_value(name, nlen, col, sizeof col);
    if (nlen == 0)
        return fail(r, line, "the column name is empty");
    if (memchr(name, '\0', nlen))
        return fail(r, line, "column \"%s\": the name holds a NUL byte", col);
    if (!isfinite(v) || v < 0) {
        dm_show_value(spelled, slen, shown, sizeof shown);
        return fail(r, line, "column \"%s\": importance \"%s\" is not a finite number >= 0", col,
                    shown);
    }
    if (r->imp.n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 64;
        char **nn = realloc(r->imp.name, nc * sizeof *nn);
        if (nn)
            r->imp.name = nn;
        double *nv = realloc(r->imp.value, nc * sizeof *nv);
        if (nv)
            r->imp.value = nv;
        size_t *nl = realloc(r->line, nc * sizeof *nl);
        if (nl)
            r->line = nl;
        if (!nn || !nv || !nl)
            return oom(r);
        r->cap = nc;
    }
    char *s = malloc(nlen + 1);
    if (!s)
        return oom(r);
    memcpy(s, name, nlen);
    s[nlen] = '\0';
    r->imp.name[r->imp.n] = s;
    r->imp.value[r->imp.n] = v;
    r->line[r->imp.n] = line;
    r->imp.n++;
    return 0;
}

/* ---- CSV ----------------------------------------------------------------------------- */

/* One field of s[*i .. len): quoted ("" is a quote) or plain up to the next comma.  The
 * field's text goes to buf (malloc'ed, grown) as *blen bytes; *i ends on the comma or len.
 * -1 on a quote left open or text after a closing quote, -2 when out of memory. */
static int csv_field(const char *s, size_t len, size_t *i, char **buf, size_t *bcap, size_t *blen)
{
    size_t k = *i, n = 0;
    if (*bcap < len + 1) {
        char *nb = realloc(*buf, len + 1);
        if (!nb)
            return -2;
        *buf = nb;
        *bcap = len + 1;
    }
    char *b = *buf;
    while (k < len && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k < len && s[k] == '"') {
        k++;
        for (;;) {
            if (k >= len)
                return -1;
            if (s[k] == '"') {
                if (k + 1 < len && s[k + 1] == '"') {
                    b[n++] = '"';
                    k += 2;
                    continue;
                }
                k++;
                break;
            }
            b[n++] = s[k++];
        }
        while (k < len && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k < len && s[k] != ',')
            return -1;
    } else {
        k = *i;
        while (k < len && s[k] != ',')
            b[n++] = s[k++];
    }
    b[n] = '\0';
    *blen = n;
    *i = k;
    return 0;
}

/* Blanks around a plain field are not part of it. */
static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static int parse_csv(reader *r, const char *text, size_t len)
{
    size_t pos = 0, line = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark */
    char *f1 = NULL, *f2 = NULL;
    size_t c1 = 0, c2 = 0;
    int rc = 0;
    bool header = false;
    while (pos < len && rc == 0) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - s) : len - pos;
        pos += ll + (nl ? 1 : 0);
        line++;
        if (ll && s[ll - 1] == '\r')
            ll--;
        const char *t = s;
        size_t tl = ll;
        trim(&t, &tl);
        if (tl == 0 && header)
            continue;
        size_t i = 0, l1 = 0, l2 = 0;
        char shown[DM_SHOWN_LEN];
        dm_show_value(s, ll, shown, sizeof shown);
        int e = csv_field(s, ll, &i, &f1, &c1, &l1);
        if (e == 0 && i < ll)
            i++, e = csv_field(s, ll, &i, &f2, &c2, &l2);
        else if (e == 0)
            e = -3; /* one field */
        if (e == -2) {
            rc = oom(r);
        } else if (e == -1) {
            rc = fail(r, line, "malformed CSV line \"%s\" (a quote left open, or text after one)",
                      shown);
        } else if (e == -3 || i < ll) {
            rc = fail(r, line, "expected two fields (column,importance), got \"%s\"", shown);
        } else if (!header) {
            const char *a = f1, *b = f2;
            size_t la = l1, lb = l2;
            trim(&a, &la);
            trim(&b, &lb);
            if (la != 6 || memcmp(a, "column", 6) != 0 || lb != 10 ||
                memcmp(b, "importance", 10) != 0)
                rc = fail(r, line, "expected the header \"column,importance\", got \"%s\"", shown);
            header = true;
        } else {
            const char *v = f2;
            size_t lv = l2;
            trim(&v, &lv);
            double d = NAN;
            if (!dm_parse_number(v, lv, &d)) {
                char col[DM_SHOWN_LEN], val[DM_SHOWN_LEN];
                dm_show_value(f1, l1, col, sizeof col);
                dm_show_value(v, lv, val, sizeof val);
                rc = fail(r, line, "column \"%s\": importance \"%s\" is not a number", col, val);
            } else {
                rc = add(r, f1, l1, d, v, lv, line);
            }
        }
    }
    free(f1);
    free(f2);
    if (rc == 0 && !header)
        rc = fail(r, 1, "the file is empty (expected the header \"column,importance\")");
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------------- */

/* The line of the (skip + 1)-th `"key"` followed by a colon in text, or 0 when not found (a
 * key written with escapes). */
static size_t key_line(const char *text, size_t len, const char *key, size_t skip)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 <= len; i++) {
        if (text[i] != '"' || memcmp(text + i + 1, key, kl) != 0 || text[i + 1 + kl] != '"')
            continue;
        size_t j = i + kl + 2;
        while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
            j++;
        if (j < len && text[j] == ':' && skip-- == 0) {
            size_t line = 1;
            for (size_t k = 0; k < i; k++)
                line += text[k] == '\n';
            return line;
        }
    }
    return 0;
}

static int parse_json(reader *r, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0, line = 1;
        for (size_t i = 0; i < off; i++)
            line += text[i] == '\n';
        char near[DM_SHOWN_LEN];
        dm_show_value(text + off, len - off < 16 ? len - off : 16, near, sizeof near);
        return fail(r, line, "invalid JSON near \"%s\"", near);
    }
    for (const char *p = end; p < text + len; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            size_t line = 1;
            for (const char *q = text; q < p; q++)
                line += *q == '\n';
            cJSON_Delete(root);
            return fail(r, line, "unexpected text after the JSON object");
        }
    }
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = fail(r, 1, "expected a JSON object {\"column\": importance, ...}");
    for (const cJSON *it = root->child; rc == 0 && it; it = it->next) {
        /* the line, only for a message: the first `"key":` (duplicates are reported by
         * dm_importance_parse, which finds the second) */
        size_t line =
            cJSON_IsNumber(it) && it->valuedouble >= 0 ? 0 : key_line(text, len, it->string, 0);
        if (!cJSON_IsNumber(it)) {
            /* a string's text as written, anything else as JSON */
            char *v = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);
            const char *t = cJSON_IsString(it) ? it->valuestring : v ? v : "?";
            char col[DM_SHOWN_LEN], val[DM_SHOWN_LEN];
            dm_show_value(it->string, strlen(it->string), col, sizeof col);
            dm_show_value(t, strlen(t), val, sizeof val);
            cJSON_free(v);
            rc = fail(r, line, "column \"%s\": importance \"%s\" is not a number", col, val);
            break;
        }
        char spelled[64];
        snprintf(spelled, sizeof spelled, "%.17g", it->valuedouble);
        rc =
            add(r, it->string, strlen(it->string), it->valuedouble, spelled, strlen(spelled), line);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- the index and the entry points ------------------------------------------------------ */

static int by_name_cmp(const void *a, const void *b, void *names)
{
    char **n = names;
    int c = strcmp(n[*(const size_t *)a], n[*(const size_t *)b]);
    if (c)
        return c;
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

int dm_importance_parse(const char *text, size_t len, const char *source, dm_importance *out,
                        char *err, size_t errlen)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.source = source ? source : "(importance)";
    r.err = err;
    r.errlen = errlen;
    int rc;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (memchr(text, '\0', len))
        rc = fail(&r, 0, "binary data (a NUL byte) in the file");
    else if (i < len && text[i] == '{')
        r.json = text, r.json_len = len, rc = parse_json(&r, text, len);
    else
        rc = parse_csv(&r, text, len);
    if (rc == 0) {
        r.imp.by_name = malloc((r.imp.n ? r.imp.n : 1) * sizeof *r.imp.by_name);
        r.imp.source = strdup(r.source);
        if (!r.imp.by_name || !r.imp.source)
            rc = oom(&r);
    }
    if (rc == 0) {
        for (size_t k = 0; k < r.imp.n; k++)
            r.imp.by_name[k] = k;
        qsort_r(r.imp.by_name, r.imp.n, sizeof *r.imp.by_name, by_name_cmp, r.imp.name);
        for (size_t k = 1; rc == 0 && k < r.imp.n; k++) {
            size_t a = r.imp.by_name[k - 1], b = r.imp.by_name[k];
            if (strcmp(r.imp.name[a], r.imp.name[b]) == 0) {
                char col[DM_SHOWN_LEN];
                dm_show_value(r.imp.name[b], strlen(r.imp.name[b]), col, sizeof col);
                if (r.json) {
                    r.line[a] = key_line(r.json, r.json_len, r.imp.name[a], 0);
                    r.line[b] = key_line(r.json, r.json_len, r.imp.name[b], 1);
                }
                if (r.line[a])
                    rc = fail(&r, r.line[b], "column \"%s\" is named twice (first on line %zu)",
                              col, r.line[a]);
                else
                    rc = fail(&r, r.line[b], "column \"%s\" is named twice", col);
            }
        }
    }
    free(r.line);
    if (rc != 0) {
        dm_importance_release(&r.imp);
        return -1;
    }
    dm_sha256_hex(text, len, r.imp.sha256);
    *out = r.imp;
    return 0;
}

int dm_importance_read(const char *path, char **text, size_t *textlen, char *err, size_t errlen)
{
    char shown[DM_SHOWN_LEN];
    dm_show_value(path, strlen(path), shown, sizeof shown);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "could not open the importance file \"%s\": %s", shown,
                 strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    bool big = false;
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap >= MAX_FILE) {
            big = true;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool rerr = ferror(f);
    fclose(f);
    if (!buf || rerr || big) {
        free(buf);
        snprintf(err, errlen,
                 big ? "the importance file \"%s\" is larger than 64 MiB"
                     : "could not read the importance file \"%s\"",
                 shown);
        return -1;
    }
    *text = buf;
    *textlen = len;
    return 0;
}

int dm_importance_load(const char *path, dm_importance *out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    if (dm_importance_read(path, &buf, &len, err, errlen) != 0)
        return -1;
    int rc = dm_importance_parse(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

double dm_importance_of(const dm_importance *imp, const char *column)
{
    if (!imp || !column)
        return NAN;
    size_t lo = 0, hi = imp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(imp->name[imp->by_name[mid]], column);
        if (c == 0)
            return imp->value[imp->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NAN;
}

/* reconcile.c - the type rules (see reconcile.h). */
#include "monitor/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/names.h"

#define MSGLEN 600

/* ---- one dataset --------------------------------------------------------------------- */

/* The first value of a text column that is not a number: the one the loader saw first, or
 * (a saved profile keeps no such thing) the first in byte order; NULL when there is none. */
static const char *first_text_of(const dm_column *c)
{
    if (c->storage != DM_STORE_STR)
        return NULL;
    if (c->first_text)
        return c->first_text;
    double v;
    for (size_t i = 0; i < c->n_cats; i++)
        if (!dm_parse_number(c->cat[i], strlen(c->cat[i]), &v))
            return c->cat[i];
    /* text by its type (bool, an enum) whose values all spell numbers */
    return c->n_cats > 0 ? c->cat[0] : NULL;
}

/* Where column c's first text value is, for messages: "\"cur.csv\", line 3", "table t,
 * batch b, row 2 in the order read", or the source alone when the line is not known. */
static void where_of(const dm_dataset *ds, const dm_column *c, char *out, size_t len)
{
    const char *src = ds->source ? ds->source : "?";
    unsigned long long at = (unsigned long long)c->first_text_line;
    if (!c->first_text || at == 0)
        snprintf(out, len, "%s", src);
    else if (ds->table_rows)
        snprintf(out, len, "%s, row %llu in the order read", src, at);
    else
        snprintf(out, len, "\"%s\", line %llu", src, at);
}

/* The same place, as the skip reason gives it: "line 3", "row 2 in the order read", or ""
 * when the line is not known. */
static void line_of(const dm_dataset *ds, const dm_column *c, char *out, size_t len)
{
    unsigned long long at = (unsigned long long)c->first_text_line;
    if (!c->first_text || at == 0)
        snprintf(out, len, "%s", "");
    else if (ds->table_rows)
        snprintf(out, len, "row %llu in the order read: ", at);
    else
        snprintf(out, len, "line %llu: ", at);
}

int dm_reconcile_side(const dm_config *cfg, const dm_dataset *ds, char *err, size_t errlen)
{
    for (size_t i = 0; i < ds->ncols; i++) {
        const dm_column *c = &ds->col[i];
        if (dm_config_forced_kind(cfg, c->name) != 1 || dm_config_is_excluded(cfg, c->name))
            continue;
        const char *t = first_text_of(c);
        if (!t)
            continue;
        char where[MSGLEN], shown[DM_SHOWN_LEN], cname[DM_SHOWN_LEN];
        where_of(ds, c, where, sizeof where);
        dm_show_value(t, strlen(t), shown, sizeof shown);
        dm_show_value(c->name, strlen(c->name), cname, sizeof cname);
        double v;
        snprintf(
            err, errlen, "%s, column \"%s\": value \"%s\" is %s (the column is declared numeric)",
            where, cname, shown,
            dm_parse_number(t, strlen(t), &v) ? "stored as text, not as a number" : "not a number");
        return -1;
    }
    return 0;
}

/* ---- a pair of datasets -------------------------------------------------------------- */

static const char NOTE_REF_NUMBERS[] =
    "numbers in reference, text in current: no category of one side equals one of the other";
static const char NOTE_REF_TEXT[] =
    "text in reference, numbers in current: no category of one side equals one of the other";

/* A pair skipped for a reason of its own (copied). */
static int skip_pair(dm_reconciled *o, dm_pair *p, const char *reason)
{
    char *r = strdup(reason);
    if (!r)
        return -1;
    o->reasons[o->nreasons++] = r;
    p->kind = DM_PAIR_SKIP;
    p->reason = r;
    return 0;
}

/* The kind of the pair (r, c), both present; -1 when out of memory. */
static int pair_kind(const dm_config *cfg, const dm_dataset *cur, dm_reconciled *o, dm_pair *p)
{
    const dm_column *r = p->ref, *c = p->cur;
    int forced = dm_config_forced_kind(cfg, r->name);
    stats_kind kind = forced == 1                  ? STATS_NUM
                      : forced == 2                ? STATS_CAT
                      : r->storage == DM_STORE_NUM ? STATS_NUM
                                                   : STATS_CAT;
    p->type = kind;
    if (r->n == 0)
        return skip_pair(o, p,
                         r->nonfinite ? "no finite value in reference"
                                      : "no data in reference (every value missing)");
    if (c->n == 0)
        return skip_pair(o, p,
                         c->nonfinite ? "no finite value in current"
                                      : "no data in current (every value missing)");
    if (kind == STATS_NUM) {
        if (c->storage == DM_STORE_NUM) {
            p->kind = DM_PAIR_NUM;
            return 0;
        }
        const char *t = first_text_of(c);
        char at[MSGLEN], shown[DM_SHOWN_LEN], msg[2 * MSGLEN];
        line_of(cur, c, at, sizeof at);
        dm_show_value(t ? t : "", t ? strlen(t) : 0, shown, sizeof shown);
        snprintf(msg, sizeof msg, "numeric in reference, but the current data has text (%s\"%s\")",
                 at, shown);
        return skip_pair(o, p, msg);
    }
    if (r->storage == c->storage) {
        p->kind = r->storage == DM_STORE_NUM ? DM_PAIR_CAT_NUM : DM_PAIR_CAT_TEXT;
    } else {
        p->kind = DM_PAIR_CAT_MIXED;
        p->note = r->storage == DM_STORE_NUM ? NOTE_REF_NUMBERS : NOTE_REF_TEXT;
    }
    return 0;
}

static const dm_left_out *find_left_out(const dm_dataset *ds, const char *name)
{
    long i = dm_dataset_find_left_out(ds, name);
    return i >= 0 ? &ds->left_out[i] : NULL;
}

/* A column left out by the loader of one side or both (r: the reference's entry, c: the
 * current's; at least one set); other_has: the other side holds the column as values.  The
 * loader's reason as it is when the column is left out on both sides for the same reason or
 * missing from the other side; otherwise the side is named. */
static int left_out_pair(dm_reconciled *o, dm_pair *p, const dm_left_out *r, const dm_left_out *c,
                         bool other_has)
{
    char msg[2 * MSGLEN];
    if (r && c && strcmp(r->reason, c->reason) != 0)
        snprintf(msg, sizeof msg, "%s in the reference; %s in the current data", r->reason,
                 c->reason);
    else if (!other_has || (r && c))
        snprintf(msg, sizeof msg, "%s", r ? r->reason : c->reason);
    else
        snprintf(msg, sizeof msg, "%s in the %s", r ? r->reason : c->reason,
                 r ? "reference" : "current data");
    return skip_pair(o, p, msg);
}

void dm_reconciled_release(dm_reconciled *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nreasons; i++)
        free(r->reasons[i]);
    free(r->reasons);
    free(r->pair);
    memset(r, 0, sizeof *r);
}

/* The columns of ds by name (the first of a name given twice, as a scan would find). */
static int index_columns(const dm_dataset *ds, stats_names *m)
{
    stats_names_init(m);
    for (size_t i = 0; i < ds->ncols; i++)
        if (ds->col[i].name && stats_names_add(m, ds->col[i].name, i, NULL) < 0)
            return -1;
    return 0;
}

/* The score column of one side: a column of numbers, or -1 with err set. */
static int score_side(const dm_config *cfg, const dm_dataset *ds, const dm_column **out, char *err,
                      size_t errlen)
{
    char cname[DM_SHOWN_LEN], shown[DM_SHOWN_LEN], where[MSGLEN];
    dm_show_value(cfg->score_column, strlen(cfg->score_column), cname, sizeof cname);
    long j = dm_dataset_find(ds, cfg->score_column);
    if (j < 0) {
        snprintf(err, errlen, "score column \"%s\" (model.score_column) is absent from %s", cname,
                 ds->source);
        return -1;
    }
    const dm_column *c = &ds->col[j];
    const char *t = first_text_of(c);
    if (t) {
        where_of(ds, c, where, sizeof where);
        dm_show_value(t, strlen(t), shown, sizeof shown);
        snprintf(err, errlen,
                 "%s, score column \"%s\" (model.score_column): value \"%s\" is not a number",
                 where, cname, shown);
        return -1;
    }
    *out = c;
    return 0;
}

/* The model's score or its outcome (model.label_column): never a feature. */
static bool is_score(const dm_config *cfg, const char *name)
{
    return (cfg->score_column && strcmp(cfg->score_column, name) == 0) ||
           (cfg->label_column && strcmp(cfg->label_column, name) == 0);
}

int dm_reconcile(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                 dm_reconciled *out, char *err, size_t errlen)
{
    if (dm_reconcile_side(cfg, ref, err, errlen) != 0 ||
        dm_reconcile_side(cfg, cur, err, errlen) != 0)
        return -1;
    const dm_column *score_ref = NULL, *score_cur = NULL;
    if (cfg->score_column && (score_side(cfg, ref, &score_ref, err, errlen) != 0 ||
                              score_side(cfg, cur, &score_cur, err, errlen) != 0))
        return -1;
    dm_reconciled o;
    memset(&o, 0, sizeof o);
    stats_names ref_names, cur_names;
    stats_names_init(&ref_names);
    stats_names_init(&cur_names);
    size_t cap = ref->ncols + cur->ncols + ref->nleft_out + cur->nleft_out;
    o.pair = calloc(cap + 1, sizeof *o.pair);
    o.reasons = calloc(cap + 1, sizeof *o.reasons);
    if (!o.pair || !o.reasons || index_columns(ref, &ref_names) != 0 ||
        index_columns(cur, &cur_names) != 0)
        goto oom;
    size_t common = 0;
    for (size_t i = 0; i < ref->ncols; i++) {
        const dm_column *r = &ref->col[i];
        if (dm_config_is_excluded(cfg, r->name) || is_score(cfg, r->name))
            continue;
        dm_pair *p = &o.pair[o.npairs++];
        p->name = r->name;
        p->ref = r;
        long j = stats_names_find(&cur_names, r->name);
        if (j < 0) {
            const dm_left_out *l = find_left_out(cur, r->name);
            if ((l ? left_out_pair(&o, p, NULL, l, true)
                   : skip_pair(&o, p, "absent from current")) != 0)
                goto oom;
            continue;
        }
        common++;
        p->cur = &cur->col[j];
        if (pair_kind(cfg, cur, &o, p) != 0)
            goto oom;
    }
    for (size_t i = 0; i < ref->nleft_out; i++) {
        const dm_left_out *l = &ref->left_out[i];
        if (dm_config_is_excluded(cfg, l->name))
            continue;
        dm_pair *p = &o.pair[o.npairs++];
        p->name = l->name;
        long j = stats_names_find(&cur_names, l->name);
        p->cur = j >= 0 ? &cur->col[j] : NULL;
        if (left_out_pair(&o, p, l, find_left_out(cur, l->name), p->cur != NULL) != 0)
            goto oom;
    }
    for (size_t j = 0; j < cur->ncols; j++) {
        const dm_column *c = &cur->col[j];
        if (dm_config_is_excluded(cfg, c->name) || is_score(cfg, c->name) ||
            stats_names_find(&ref_names, c->name) >= 0 ||
            dm_dataset_find_left_out(ref, c->name) >= 0)
            continue;
        dm_pair *p = &o.pair[o.npairs++];
        p->name = c->name;
        p->cur = c;
        if (skip_pair(&o, p, "absent from reference") != 0)
            goto oom;
    }
    for (size_t j = 0; j < cur->nleft_out; j++) {
        const dm_left_out *l = &cur->left_out[j];
        if (dm_config_is_excluded(cfg, l->name) || stats_names_find(&ref_names, l->name) >= 0 ||
            dm_dataset_find_left_out(ref, l->name) >= 0)
            continue;
        dm_pair *p = &o.pair[o.npairs++];
        p->name = l->name;
        if (left_out_pair(&o, p, NULL, l, false) != 0)
            goto oom;
    }
    stats_names_release(&ref_names);
    stats_names_release(&cur_names);
    if (common == 0) {
        snprintf(err, errlen, "%s and %s have no column in common", ref->source, cur->source);
        dm_reconciled_release(&o);
        return -1;
    }
    o.score_ref = score_ref;
    o.score_cur = score_cur;
    *out = o;
    return 0;
oom:
    snprintf(err, errlen, "out of memory while pairing the columns of %s and %s", ref->source,
             cur->source);
    stats_names_release(&ref_names);
    stats_names_release(&cur_names);
    dm_reconciled_release(&o);
    return -1;
}

int dm_reconcile_update(const dm_config *cfg, const dm_dataset *cur, dm_reconciled *r,
                        const size_t *cols, size_t n)
{
    bool *in = calloc(cur->ncols + 1, sizeof *in);
    if (!in)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (cols[k] < cur->ncols)
            in[cols[k]] = true;
    int rc = 0;
    for (size_t i = 0; i < r->npairs && rc == 0; i++) {
        dm_pair *p = &r->pair[i];
        if (p->kind == DM_PAIR_SKIP || !p->ref || !p->cur || p->cur < cur->col ||
            p->cur >= cur->col + cur->ncols || !in[p->cur - cur->col])
            continue;
        p->note = NULL;
        rc = pair_kind(cfg, cur, r, p);
    }
    free(in);
    return rc;
}

/* ---- table columns ------------------------------------------------------------------- */

dm_db_kind dm_reconcile_catalog_kind(const char *base_type, const char *typtype, bool builtin)
{
    static const char *const numeric[] = {"int2",   "int4",    "int8", "float4",
                                          "float8", "numeric", "money"};
    static const char *const text[] = {"text", "varchar", "bpchar", "char", "name"};

    if (typtype[0] == 'e')
        return DM_DB_CATEGORICAL;
    if (!builtin)
        return strcmp(base_type, "citext") == 0 ? DM_DB_TEXT : DM_DB_UNSUPPORTED;
    if (strcmp(base_type, "bool") == 0)
        return DM_DB_CATEGORICAL;
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++)
        if (strcmp(base_type, numeric[i]) == 0)
            return DM_DB_NUMERIC;
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (strcmp(base_type, text[i]) == 0)
            return DM_DB_TEXT;
    return DM_DB_UNSUPPORTED;
}

bool dm_reconcile_left_out(const dm_db_column *c, char *reason, size_t len)
{
    if (c->kind != DM_DB_UNSUPPORTED)
        return false;
    /* type names are the database's identifiers: shown escaped, as any untrusted value */
    char type[DM_SHOWN_LEN], base[DM_SHOWN_LEN];
    const char *t = c->type ? c->type : "?";
    dm_show_value(t, strlen(t), type, sizeof type);
    if (c->is_domain && c->base_shown) {
        dm_show_value(c->base_shown, strlen(c->base_shown), base, sizeof base);
        snprintf(reason, len, "type %s (a domain over %s) is not compared", type, base);
    } else {
        snprintf(reason, len, "type %s is not compared", type);
    }
    return true;
}

dm_builder *dm_reconcile_table_builder(const dm_db_column *cols, size_t n)
{
    const char **names = calloc(n + 1, sizeof *names);
    bool *text = calloc(n + 1, sizeof *text);
    dm_builder *b = NULL;
    if (names && text) {
        for (size_t i = 0; i < n; i++) {
            names[i] = cols[i].name;
            text[i] = cols[i].kind == DM_DB_CATEGORICAL;
        }
        b = dm_builder_alloc(n, names, text);
        for (size_t i = 0; b && i < n; i++)
            if (cols[i].kind == DM_DB_TEXT)
                dm_builder_classify_text(b, i);
    }
    free(names);
    free(text);
    return b;
}

/*
 * reconcile.h - the type rules, all of them (DESIGN.md section 3): the stage between loading
 * a reference and a current dataset and comparing them, shared by `compare` (CSV or saved
 * profile reference), `check` and `serve` (a table's rows against a stored reference).
 *
 * How a value becomes a number or a text (the loaders, through the dm_builder):
 *   - a CSV field: a number when strtod reads it in full, missing when empty or one of
 *     pandas' NA tokens, text otherwise; a column with any text is stored as text (the
 *     spellings as read), otherwise as numbers;
 *   - a table column by its type (dm_reconcile_catalog_kind): numeric types are numbers;
 *     bool and enums are text; text types (text, varchar, char, name, citext and domains
 *     over them) follow the CSV rule value by value (dm_reconcile_table_builder), so that
 *     the same rows give the same dataset from the table and from its CSV export.
 *
 * How a reference column meets its current column (dm_reconcile), in the reference's
 * column order:
 *   - columns.exclude: left out silently;
 *   - a column absent from one side, or with no value on one side: skipped with the reason;
 *   - a column its loader left out (dm_dataset.left_out: a table column of a type that is not
 *     compared, dm_reconcile_left_out), on either side, the reference's as it was stored:
 *     skipped with the loader's reason, naming the side when the other side has the column;
 *   - the type: columns.numeric / columns.categorical force it, on every path; otherwise
 *     numeric when the reference column is all numbers, else categorical (Evidently's
 *     legacy rule: dtypes come from the reference frame);
 *   - a column forced numeric must hold numbers only, on both sides: text there is an input
 *     error naming the source, line (or row) and value (dm_reconcile_side);
 *   - numeric with text in the current data: skipped, naming the first text value and where
 *     it is;
 *   - categorical: numbers against numbers compare by value (1 == 1.0, as pandas compares
 *     floats), text against text by spelling ("1" != "1.0"), and a side of numbers against a
 *     side of text never match: no category of one equals one of the other (pandas: a float
 *     never equals a str), and the report says so for the column (dm_pair.note).  Nothing is
 *     read again or spelled differently for it.
 *   - model.score_column: the model's score is no feature: it makes no pair (whatever
 *     columns.* say), and must be a column of numbers on both sides (absent or text on a side
 *     is an input error naming the column, the source and the value); dm_reconciled.score_*
 *     point at it for the comparison's own score drift;
 *   - model.label_column: the realised outcome is no feature either: it makes no pair (its
 *     figures are the performance's, monitor/outcome.h).
 */
#ifndef DRIFTMON_RECONCILE_H
#define DRIFTMON_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/config.h"
#include "monitor/dataset.h"
#include "monitor/db.h"
#include "stats/stats.h"

typedef enum {
    DM_PAIR_SKIP,      /* not compared: reason says why */
    DM_PAIR_NUM,       /* numeric: numbers on both sides */
    DM_PAIR_CAT_NUM,   /* categorical, numbers on both sides: categories by value */
    DM_PAIR_CAT_TEXT,  /* categorical, text on both sides: categories by spelling */
    DM_PAIR_CAT_MIXED, /* categorical, numbers on one side, text on the other: no match */
} dm_pair_kind;

typedef struct {
    const char *name;     /* the reference's (or, for extra columns, the current's) */
    const dm_column *ref; /* NULL for a current column absent from the reference */
    const dm_column *cur; /* NULL for a reference column absent from the current data */
    dm_pair_kind kind;
    stats_kind type;    /* STATS_NUM or STATS_CAT (not for DM_PAIR_SKIP) */
    const char *reason; /* DM_PAIR_SKIP: why (owned by the dm_reconciled) */
    const char *note;   /* DM_PAIR_CAT_MIXED: which side was numbers (static), else NULL */
} dm_pair;

typedef struct {
    dm_pair *pair; /* the reference's columns in order, then the current's absent from it */
    size_t npairs;
    char **reasons; /* owned storage behind pair[i].reason */
    size_t nreasons;
    /* model.score_column on each side (NULL when not configured): never a pair */
    const dm_column *score_ref, *score_cur;
} dm_reconciled;

/*
 * Pair the columns of ref and cur and give each pair its kind (the rules above).  0, or -1
 * with err set: an input error (a column forced numeric holds text, no column in common) or
 * out of memory (err says which).  The pairs point into ref and cur: keep them alive.
 */
int dm_reconcile(const dm_config *cfg, const dm_dataset *ref, const dm_dataset *cur,
                 dm_reconciled *out, char *err, size_t errlen) __attribute__((warn_unused_result));
void dm_reconciled_release(dm_reconciled *r);

/*
 * The pairs whose current side is one of cur's columns cols[0..n) again, by the same rules,
 * now that those columns' values are loaded: a check that reads a table by column groups
 * pairs its columns before the numeric-typed ones are read, their counts then standing in as
 * "has values" (their storage is known from the catalog); a column that turns out to hold
 * no finite value is then skipped with dm_reconcile's reason.  Pairs skipped already stay as
 * they are.  0, or -1 when out of memory.
 */
int dm_reconcile_update(const dm_config *cfg, const dm_dataset *cur, dm_reconciled *r,
                        const size_t *cols, size_t n) __attribute__((warn_unused_result));

/*
 * The rule that applies to one dataset alone: every column forced numeric (columns.numeric)
 * holds numbers only.  0, or -1 with err naming the source, the line (CSV) or row (table,
 * in the order read), the column and the first text value.  For loaders whose output is
 * stored rather than compared (`driftmon profile`, `driftmon reference load`);
 * dm_reconcile() applies it to both sides itself.
 */
int dm_reconcile_side(const dm_config *cfg, const dm_dataset *ds, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* What a table column of type base_type (pg_type.typname of the type or of its domain's
 * base), typtype (pg_type.typtype: 'e' enum, ...) and builtin (in pg_catalog) is. */
dm_db_kind dm_reconcile_catalog_kind(const char *base_type, const char *typtype, bool builtin);

/* Is table column c left out, not read (a type whose values are not compared: json, dates
 * and times, arrays, bytea, uuid, ...)?  When it is, reason gets why: "type jsonb is not
 * compared", "type doc (a domain over jsonb) is not compared".  Every loader of a table and
 * the pairing above use this one rule. */
bool dm_reconcile_left_out(const dm_db_column *c, char *reason, size_t len);

/* A builder for the table columns cols[0..n) (none DM_DB_UNSUPPORTED) that reads each as its
 * kind says: numbers, text classified as CSV fields, or text.  NULL when out of memory. */
dm_builder *dm_reconcile_table_builder(const dm_db_column *cols, size_t n);

#endif

/*
 * importance.h - the model's feature importances (config model.importance, issue 17).
 *
 * The file is what LightGBM or XGBoost export, in one of two forms (told apart by the first
 * non-blank byte: '{' is JSON):
 *   - CSV with the header `column,importance`, one column a line; a name may be quoted
 *     ("a,b" with "" for a quote) but not span lines; blank lines are skipped;
 *   - a JSON object {"column": importance, ...}.
 * An importance is a finite number >= 0 (gain or split counts: only ratios matter).  A column
 * named twice is an error; a malformed line or value is an error naming the file, the line
 * and the value (dm_show_value).  Names that are no column of the data are not an error here:
 * the comparison lists them (dm_comparison.untested) and the command warns.
 * sha256 is of the file's bytes: a run records which importances it used.
 */
#ifndef DRIFTMON_IMPORTANCE_H
#define DRIFTMON_IMPORTANCE_H

#include <stddef.h>

typedef struct {
    char *source;    /* the file's name, for messages */
    char sha256[65]; /* hex digest of the bytes parsed */
    char **name;     /* in the file's order */
    double *value;
    size_t n;
    size_t *by_name; /* indexes of name[] in strcmp order (dm_importance_of) */
} dm_importance;

/* Parse text (len bytes) named source.  0, or -1 with one line in err (*out untouched). */
int dm_importance_parse(const char *text, size_t len, const char *source, dm_importance *out,
                        char *err, size_t errlen);
/* The bytes of the file at path (at most 64 MiB; *text malloc'ed, not NUL-terminated), for
 * a caller that keeps them (the reference's stored copy).  0, or -1 with one line in err. */
int dm_importance_read(const char *path, char **text, size_t *len, char *err, size_t errlen);
/* Read and parse the file at path (dm_importance_read, dm_importance_parse).  0, or -1 with
 * one line in err. */
int dm_importance_load(const char *path, dm_importance *out, char *err, size_t errlen);
void dm_importance_release(dm_importance *imp);

/* The importance of column (NaN when imp is NULL or does not name it). */
double dm_importance_of(const dm_importance *imp, const char *column);

#endif

/*
 * log.h - driftmon's log: one logfmt line per event on stderr.
 *
 *   ts=2026-11-27T23:50:01.123Z level=info msg="applied migration" name=001_schema.sql
 *
 * Only monitor/ logs (stats/ and reports/ return errors).  Messages follow PostgreSQL's
 * style: lower case, problem first, object in quotes, cause last.  A value is written
 * bare when it is a plain token, else double-quoted with \" \\ \n \t and \xHH escapes, so
 * a line is always one line.  Thread-safe: each line is written with one fputs.
 */
#ifndef DRIFTMON_LOG_H
#define DRIFTMON_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { DM_LOG_DEBUG = 0, DM_LOG_INFO = 1, DM_LOG_WARN = 2, DM_LOG_ERROR = 3 } dm_log_level;

/* Lines below this level are dropped (default DM_LOG_INFO). */
void dm_log_set_level(dm_log_level level);
dm_log_level dm_log_get_level(void);
/* "debug", "info", "warn"/"warning", "error" -> 0 and *level; -1 for anything else. */
int dm_log_parse_level(const char *name, dm_log_level *level);

/* msg="<printf-formatted text>" */
void dm_log(dm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* msg="<msg>" followed by key=value pairs written as one printf format, so that call sites
 * pass numbers as numbers (checked by the compiler) and never format them first:
 *   dm_logf(DM_LOG_INFO, "run committed", "run_id=%lld batch=%s read_s=%.3f", id, b, s);
 * Every converted value is written bare when it is a plain token, else quoted (a %s
 * string holding a space or a quote cannot break the line; a NULL string is written as
 * null).  Conversions: d i u x (with h hh l ll z j t), f g e (with L), s, and %%, with a
 * width ('-' for left) and a precision; no other flag, no '*'. */
void dm_logf(dm_log_level level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Data on a terminal or in a log: the one escaper.  Every control character is escaped, so
 * that a column name, a category, a batch id, a reference name or a value quoted in a
 * message can neither move the cursor, change colours, retitle the terminal nor break a
 * line: \n \r \t; other C0 bytes and DEL as \xHH; the C1 controls U+0080..U+009F (some
 * terminals obey them as escape sequences) as \u0080..\u009f; bytes that are not UTF-8 as
 * \xHH.  Other UTF-8 passes through.  With DM_ESC_QUOTED, " and \ are escaped too (\" \\),
 * so that the text stands between double quotes unambiguously (values in messages, logfmt
 * values); without it a backslash stays as it is, so that a message whose values were
 * escaped when it was written (dm_show_value) is not escaped twice where it is printed.
 * Log lines (dm_log, dm_logf), error messages (dm_cli_error) and the commands' summaries
 * go through it.
 */
enum { DM_ESC_QUOTED = 1 };

/* s[0..len) escaped into out (outlen >= 1 bytes, always NUL-terminated), stopping before a
 * character whose escape would not fit (never inside one); returns how many input bytes
 * were written (len when all of them). */
size_t dm_escape(const char *s, size_t len, int flags, char *out, size_t outlen);
/* s escaped (flags 0) as a malloc'ed string; NULL when out of memory. */
char *dm_escape_dup(const char *s);
/* fputs of s escaped (flags 0). */
void dm_fputs_escaped(const char *s, FILE *f);

#endif

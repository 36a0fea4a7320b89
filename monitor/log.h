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

#endif

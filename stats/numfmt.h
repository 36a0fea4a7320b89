/*
 * numfmt.h - the one spelling of a double everywhere driftmon writes one as text (JSON
 * reports, SQL parameters, the database's stored results): the shortest of %.15g, %.16g and
 * %.17g that reads back as exactly the same double, with '.' as the decimal separator
 * whatever the locale.  Non-finite values are spelled as PostgreSQL reads them: "NaN",
 * "Infinity", "-Infinity" (JSON has no spelling for them: its writer emits null itself).
 */
#ifndef DRIFTMON_NUMFMT_H
#define DRIFTMON_NUMFMT_H

#include <stddef.h>

/* Longest spelling plus the NUL: "-1.2345678901234567e-308". */
enum { STATS_DOUBLE_BUFLEN = 32 };

/* Spell d into out (at least STATS_DOUBLE_BUFLEN bytes); returns out. */
char *stats_format_double(double d, char *out, size_t outlen);

#endif

/*
 * conninfo.h - what of a libpq connection string may be shown.
 *
 * libpq decides what a connection string says and which of its options are secret:
 * PQconninfoParse reads both spellings (key=value and postgresql:// URIs, percent escapes
 * decoded, keys included) and marks every secret option with a '*' in its dispchar
 * (password, sslpassword, and any libpq adds).  Nothing here parses a connection string by
 * hand.  Besides the secret options, a dbname value that is itself a connection string is
 * hidden: libpq does not read it as one (only the outer string is expanded), so a password
 * in it would reach the server's "database ... does not exist" message.
 */
#ifndef DRIFTMON_CONNINFO_H
#define DRIFTMON_CONNINFO_H

#include <stddef.h>

/*
 * The connection string as libpq reads it, for logs and messages, into out (always
 * NUL-terminated, cut at outlen): "key=value" pairs of the options it sets, in libpq's
 * order, each hidden value (see above) written as ****, a value quoted as libpq quotes it
 * ('...' with \' and \\) when empty or holding a blank, a quote or a backslash.  A string
 * that libpq takes as a bare database name (no '=' and no URI prefix, libpq's rule for
 * PQconnectdbParams' dbname) gives dbname=<it>; NULL or "" gives "".  Returns 0.
 * Returns -1 when libpq cannot parse it: out then says what is wrong in our words, with
 * none of the string's text (libpq's own message quotes the text, which may be the
 * password).
 */
int dm_conninfo_scrub(const char *conninfo, char *out, size_t outlen);

/*
 * msg (e.g. PQerrorMessage after a failed connect) into out with every value that
 * dm_conninfo_scrub hides replaced by ****, wherever it appears.  libpq 15 names no
 * secret in its connection errors; this keeps that true for any libpq or server message.
 * When libpq cannot parse conninfo, out gets dm_conninfo_scrub's account of the problem
 * instead of msg (libpq's message about it may quote the password).
 */
void dm_conninfo_redact(const char *conninfo, const char *msg, char *out, size_t outlen);

#endif

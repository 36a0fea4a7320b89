/* test_conninfo.c - what of a connection string driftmon shows (monitor/conninfo.h).
 *
 * The rule: libpq's PQconninfoParse reads the string, every option whose dispchar holds
 * '*' is written ****, and so is a dbname that is itself a connection string; a string
 * libpq cannot parse is never echoed.  Each expected string below is that rule applied by
 * hand to the input ("pass%77ord" is "password" percent-decoded, RFC 3986); it is compared
 * option by option (libpq reads both back), so libpq's choice of order does not matter.
 * Every secret in these inputs is spelled with "secret" or "cret", which must never come
 * out. */
#include <criterion/criterion.h>
#include <string.h>

#include <libpq-fe.h>

#include "monitor/conninfo.h"

static void no_secret(const char *out, const char *in)
{
    cr_assert_null(strstr(out, "secret"), "secret left in %s -> %s", in, out);
    cr_assert_null(strstr(out, "cret"), "part of a secret left in %s -> %s", in, out);
}

/* in scrubs (returning 0) to the options of want, each once; nothing secret remains */
static void expect_scrub(const char *in, const char *want)
{
    char out[512], *e1 = NULL, *e2 = NULL;
    cr_assert_eq(dm_conninfo_scrub(in, out, sizeof out), 0, "scrub(%s) failed: %s", in, out);
    no_secret(out, in);
    PQconninfoOption *got = PQconninfoParse(out, &e1);
    PQconninfoOption *exp = PQconninfoParse(want, &e2);
    cr_assert_not_null(got, "libpq cannot read the scrubbed %s: %s", out, e1 ? e1 : "?");
    cr_assert_not_null(exp, "bad expectation %s", want);
    for (size_t i = 0; exp[i].keyword; i++) {
        cr_assert_str_eq(got[i].keyword, exp[i].keyword); /* both libpq's table */
        if (exp[i].val == NULL)
            cr_assert_null(got[i].val, "scrub(%s) = %s: %s is set", in, out, got[i].keyword);
        else
            cr_assert(got[i].val && strcmp(got[i].val, exp[i].val) == 0,
                      "scrub(%s) = %s: %s is \"%s\", expected \"%s\"", in, out, exp[i].keyword,
                      got[i].val ? got[i].val : "(unset)", exp[i].val);
    }
    PQconninfoFree(got);
    PQconninfoFree(exp);
}

/* in is refused (-1) with a message holding fragment and none of in's text */
static void expect_refused(const char *in, const char *fragment)
{
    char out[512];
    cr_assert_eq(dm_conninfo_scrub(in, out, sizeof out), -1, "accepted %s: %s", in, out);
    no_secret(out, in);
    cr_assert_not_null(strstr(out, fragment), "\"%s\" not in: %s", fragment, out);
    cr_assert_not_null(strstr(out, "not shown"), "%s", out);
}

Test(conninfo, percent_encoded_key)
{
    expect_scrub("postgresql://u@127.0.0.1:1/db?pass%77ord=secret",
                 "user=u password=**** dbname=db host=127.0.0.1 port=1");
    expect_scrub("postgresql://h/db?ssl%70assword=secret", "host=h dbname=db sslpassword=****");
}

Test(conninfo, sslpassword)
{
    expect_scrub("host=h sslpassword=secret", "host=h sslpassword=****");
    expect_scrub("host=h sslpassword='a secret' sslkey=/k", "host=h sslpassword=**** sslkey=/k");
    expect_scrub("postgresql://u@h/db?sslpassword=secret",
                 "user=u host=h dbname=db sslpassword=****");
}

Test(conninfo, uri_with_and_without_password)
{
    expect_scrub("postgresql://u:secret@db:5432/d?sslmode=require",
                 "user=u password=**** host=db port=5432 dbname=d sslmode=require");
    expect_scrub("postgres://u:secret@db", "user=u password=**** host=db");
    expect_scrub("postgresql://u:se%63ret@db/d", "user=u password=**** host=db dbname=d");
    expect_scrub("postgresql://u@db/d", "user=u host=db dbname=d");
    expect_scrub("postgresql:///d?host=/tmp", "dbname=d host=/tmp");
    expect_scrub("postgresql://", "");
}

Test(conninfo, uri_password_parameter)
{
    expect_scrub("postgresql://u@db/d?password=secret&application_name=x",
                 "user=u password=**** host=db dbname=d application_name=x");
    expect_scrub("postgresql://db/d?application_name=x&password=secret",
                 "password=**** host=db dbname=d application_name=x");
    /* given twice: libpq keeps the last, and neither is shown */
    expect_scrub("postgresql://u:secret1@db/d?password=secret2",
                 "user=u password=**** host=db dbname=d");
}

Test(conninfo, keyvalue)
{
    expect_scrub("host=db user=u password=secret dbname=d",
                 "host=db user=u password=**** dbname=d");
    expect_scrub("  host=db   password  =  secret  ", "host=db password=****");
    expect_scrub("password='se cr\\'et secret' host=x", "password=**** host=x");
    expect_scrub("password=se\\ cret host=x", "password=**** host=x");
    /* an empty secret is a secret option all the same */
    expect_scrub("password='' host=x", "password=**** host=x");
    expect_scrub("host=/tmp/x port=5432 dbname=driftmon", "host=/tmp/x port=5432 dbname=driftmon");
    expect_scrub("passfile=/x/.pgpass", "passfile=/x/.pgpass"); /* a file name, not a secret */
}

Test(conninfo, values_quoted_as_libpq_reads_them)
{
    char out[256];
    expect_scrub("application_name='a b' options='-c x=\\'y\\'' host='' dbname=d\\\\e",
                 "application_name='a b' options='-c x=\\'y\\'' host='' dbname='d\\\\e'");
    cr_assert_eq(dm_conninfo_scrub("host=x application_name='a b'", out, sizeof out), 0);
    cr_assert_not_null(strstr(out, "application_name='a b'"), "%s", out);
}

Test(conninfo, dbname_holding_a_connection_string)
{
    expect_scrub("host=x dbname='host=y password=secret'", "host=x dbname=****");
    expect_scrub("dbname=postgresql://u:secret@h/d", "dbname=****");
    expect_scrub("postgresql://h/?dbname=host%3Dy%20password%3Dsecret", "host=h dbname=****");
}

Test(conninfo, bare_database_name_and_empty)
{
    char out[64];
    /* no '=' and no URI prefix: PQconnectdbParams takes it as the database's name */
    expect_scrub("driftmon", "dbname=driftmon");
    cr_assert_eq(dm_conninfo_scrub("my db", out, sizeof out), 0);
    cr_assert_str_eq(out, "dbname='my db'");
    cr_assert_eq(dm_conninfo_scrub(NULL, out, sizeof out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(dm_conninfo_scrub("", out, sizeof out), 0);
    cr_assert_str_eq(out, "");
}

/* every option libpq itself marks secret, whatever this libpq's list is */
Test(conninfo, every_option_libpq_marks_secret)
{
    PQconninfoOption *d = PQconndefaults();
    int secret = 0;
    cr_assert_not_null(d);
    for (PQconninfoOption *o = d; o->keyword; o++) {
        if (!strchr(o->dispchar, '*'))
            continue;
        char in[128], want[128];
        snprintf(in, sizeof in, "host=h %s=secret", o->keyword);
        snprintf(want, sizeof want, "host=h %s=****", o->keyword);
        expect_scrub(in, want);
        snprintf(in, sizeof in, "postgresql://h?%s=secret", o->keyword);
        expect_scrub(in, want);
        secret++;
    }
    PQconninfoFree(d);
    cr_assert_geq(secret, 2, "libpq marks password and sslpassword secret");
}

Test(conninfo, unparsable_never_echoed)
{
    /* libpq: invalid percent-encoded token: "se%cret" */
    expect_refused("postgresql://u:se%cret@127.0.0.1:1/db", "two hexadecimal digits");
    expect_refused("postgresql://u@h/db?password=se%zzcret", "two hexadecimal digits");
    expect_refused("postgresql://u@h/db?password=se%00cret", "%00");
    /* libpq: missing "=" after "cret" (an unquoted blank) */
    expect_refused("host=x password=se cret", "without '='");
    expect_refused("host=x password='secret", "closing quote");
    /* libpq: invalid connection option "PASSWORD" (keys are case-sensitive) */
    expect_refused("host=x PASSWORD=secret", "libpq does not know");
    /* libpq: extra key/value separator "=" in URI query parameter: "password=se=cret" */
    expect_refused("postgresql://h/d?password=se=cret", "second '='");
    expect_refused("postgresql://h/d?password", "without '='");
    expect_refused("postgresql://h/d?secret=1", "libpq does not know");
    expect_refused("postgresql://u:secret@[::1/d", "closing ']'");
}

Test(conninfo, truncated_output_stays_whole)
{
    char out[8];
    cr_assert_eq(dm_conninfo_scrub("password=secret", out, sizeof out), 0);
    cr_assert_str_eq(out, "passwor"); /* "password=****" cut to 7 characters */
    out[0] = 'x';
    cr_assert_eq(dm_conninfo_scrub("password=secret", out, 0), 0);
    cr_assert_eq(out[0], 'x');
}

/* ---- dm_conninfo_redact -------------------------------------------------------------- */

static void expect_redact(const char *conninfo, const char *msg, const char *want)
{
    char out[256];
    dm_conninfo_redact(conninfo, msg, out, sizeof out);
    cr_assert_str_eq(out, want, "redact(%s, %s)", conninfo, msg);
}

Test(conninfo, redact_every_hidden_value)
{
    expect_redact("host=h password=s3cr3t", "FATAL: s3cr3t is wrong, s3cr3t!",
                  "FATAL: **** is wrong, ****!");
    expect_redact("postgresql://h/?pass%77ord=p%40ss", "bad p@ss", "bad ****");
    expect_redact("host=h sslpassword=abc password=abcdef", "[abcdef] [abc]", "[****] [****]");
    expect_redact("host=h dbname='user=x password=y'",
                  "database \"user=x password=y\" does not exist",
                  "database \"****\" does not exist");
    /* what is shown is not hidden: host and user stay */
    expect_redact("host=h user=u", "role \"u\" on h", "role \"u\" on h");
    expect_redact(NULL, "no conninfo", "no conninfo");
}

Test(conninfo, redact_unparsable_gives_the_problem)
{
    char out[256];
    dm_conninfo_redact("postgresql://u:se%cret@h", "invalid percent-encoded token: \"se%cret\"",
                       out, sizeof out);
    no_secret(out, "postgresql://u:se%cret@h");
    cr_assert_not_null(strstr(out, "two hexadecimal digits"), "%s", out);
}

Test(conninfo, redact_cut_output_holds_no_part_of_a_secret)
{
    char out[12];
    /* the secret starts at 8 and the output ends at 11: all of it or none */
    dm_conninfo_redact("password=secretsecret", "1234567 secretsecret", out, sizeof out);
    cr_assert_str_eq(out, "1234567 ***");
}

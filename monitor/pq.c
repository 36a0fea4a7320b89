/*
 * pq.c - libpq, loaded when first used.
 *
 * PostgreSQL's client library brings some twenty shared libraries with it (Kerberos, LDAP,
 * SASL, GnuTLS and theirs); loading them at every start took 9-10 ms, measured against an
 * empty program linked with and without -lpq (perf stat, 30 runs: 10.3 ms against 1.5).
 * driftmon's file commands (compare, profile) never talk to a database, so the program is
 * not linked against libpq: the functions driftmon uses are defined here and forward to
 * libpq.so.5 (Debian's libpq5, installed with libpq-dev), opened on the first call.  The
 * types and constants are libpq-fe.h's, so every declaration is checked against it.
 * DRIFTMON_LIBPQ names another file to open.  If the library cannot be opened, the first
 * database call stops the program with a message naming it (exit 1, the environment's
 * fault): nothing has been written to a database at that point.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define DM_PQ_SONAME "libpq.so.5"

/* For every libpq function driftmon calls: X(return type, name, parameters, arguments), or
 * V(...) for one that returns nothing. */
#define DM_PQ_FUNCTIONS(X, V)                                                                      \
    X(int, PQcancel, (PGcancel * cancel, char *errbuf, int errbufsize),                            \
      (cancel, errbuf, errbufsize))                                                                \
    V(void, PQclear, (PGresult * res), (res))                                                      \
    X(PGconn *, PQconnectdbParams,                                                                 \
      (const char *const *keywords, const char *const *values, int expand_dbname),                 \
      (keywords, values, expand_dbname))                                                           \
    X(int, PQconsumeInput, (PGconn * conn), (conn))                                                \
    X(char *, PQdb, (const PGconn *conn), (conn))                                                  \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                        \
    X(char *, PQescapeIdentifier, (PGconn * conn, const char *str, size_t len), (conn, str, len))  \
    X(char *, PQescapeLiteral, (PGconn * conn, const char *str, size_t len), (conn, str, len))     \
    X(PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query))                       \
    X(PGresult *, PQexecParams,                                                                    \
      (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,                     \
       const char *const *paramValues, const int *paramLengths, const int *paramFormats,           \
       int resultFormat),                                                                          \
      (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat)) \
    V(void, PQfinish, (PGconn * conn), (conn))                                                     \
    V(void, PQfreeCancel, (PGcancel * cancel), (cancel))                                           \
    V(void, PQfreemem, (void *ptr), (ptr))                                                         \
    X(PGcancel *, PQgetCancel, (PGconn * conn), (conn))                                            \
    X(int, PQgetCopyData, (PGconn * conn, char **buffer, int async), (conn, buffer, async))        \
    X(PGresult *, PQgetResult, (PGconn * conn), (conn))                                            \
    X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),                         \
      (res, tup_num, field_num))                                                                   \
    X(int, PQgetlength, (const PGresult *res, int tup_num, int field_num),                         \
      (res, tup_num, field_num))                                                                   \
    X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),                       \
      (res, tup_num, field_num))                                                                   \
    X(PGnotify *, PQnotifies, (PGconn * conn), (conn))                                             \
    X(int, PQntuples, (const PGresult *res), (res))                                                \
    X(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))          \
    X(char *, PQresultErrorMessage, (const PGresult *res), (res))                                  \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                                \
    X(int, PQsendQueryParams,                                                                      \
      (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,                     \
       const char *const *paramValues, const int *paramLengths, const int *paramFormats,           \
       int resultFormat),                                                                          \
      (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat)) \
    X(int, PQsetClientEncoding, (PGconn * conn, const char *encoding), (conn, encoding))           \
    X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void *arg), \
      (conn, proc, arg))                                                                           \
    X(int, PQsetSingleRowMode, (PGconn * conn), (conn))                                            \
    X(int, PQsocket, (const PGconn *conn), (conn))                                                 \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                                      \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))                  \
    X(char *, PQuser, (const PGconn *conn), (conn))

static struct {
#define X(ret, name, params, args) ret(*name) params;
    DM_PQ_FUNCTIONS(X, X)
#undef X
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_error[512];

static void pq_load(void)
{
    const char *so = getenv("DRIFTMON_LIBPQ"); /* a libpq elsewhere; tests: a missing one */
    if (!so || !*so)
        so = DM_PQ_SONAME;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(pq_error, sizeof pq_error, "%s", e ? e : so);
        return;
    }
    void *sym;
#define X(ret, name, params, args)                                                                 \
    sym = dlsym(h, #name);                                                                         \
    if (!sym) {                                                                                    \
        snprintf(pq_error, sizeof pq_error, "%s has no %s", so, #name);                            \
        return;                                                                                    \
    }                                                                                              \
    memcpy(&pq.name, &sym, sizeof sym);
    DM_PQ_FUNCTIONS(X, X)
#undef X
}

static void pq_need(void)
{
    (void)pthread_once(&pq_once, pq_load);
    if (pq_error[0]) {
        fprintf(stderr,
                "driftmon: error: PostgreSQL's client library could not be loaded (%s); "
                "install Debian's libpq5\n",
                pq_error);
        exit(1);
    }
}

/* the definitions libpq-fe.h declares, each forwarding to the loaded library */
#define X(ret, name, params, args)                                                                 \
    ret name params                                                                                \
    {                                                                                              \
        pq_need();                                                                                 \
        return pq.name args;                                                                       \
    }
#define V(ret, name, params, args)                                                                 \
    void name params                                                                               \
    {                                                                                              \
        pq_need();                                                                                 \
        pq.name args;                                                                              \
    }
DM_PQ_FUNCTIONS(X, V)
#undef X
#undef V

/*
 * copybin.h - the binary COPY stream parser (PostgreSQL's COPY ... (FORMAT binary)), on its
 * own so that it can be tested and fuzzed without a server.  No libpq.
 */
#ifndef DRIFTMON_COPYBIN_H
#define DRIFTMON_COPYBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/dataset.h"

/*
 * The binary COPY stream parser behind dm_db_copy_read, exposed for unit tests.  Feed
 * it the stream in chunks of any size (dm_copybin_feed), then dm_copybin_finish.  It
 * checks the signature, the flags (no OIDs, no unknown critical bit), the header
 * extension, each tuple's field count (must be ncols), each field's length (-1 = NULL; 8
 * for a float8 column) and the trailer; a tuple reaches the builder only once complete,
 * and nothing is read past the bytes given.
 */
typedef struct {
    size_t ncols;
    const bool *numeric; /* per column: float8 (true) or text (false) */
    /* per column wire format, overriding numeric[] when set: 'd' float8, 'f' float4,
     * 'h' int2, 'i' int4, 'l' int8, 'n' numeric (all numbers), 't' text bytes.  A numeric
     * becomes the double PostgreSQL's numeric-to-float8 cast gives (its text read by strtod,
     * correctly rounded), except that a value beyond the double range is +-inf and one below
     * the smallest subnormal is 0, as strtod reads the same digits in a CSV field: where the
     * cast fails, the value is non-finite (counted, dropped), never an error. */
    const char *wire;
    const char *const *names; /* per column, for messages; may be NULL */
    dm_builder *b;
    int state; /* 0 header, 1 tuples, 2 trailer seen */
    uint64_t rows;
    unsigned char *pending; /* an incomplete header or tuple carried to the next feed */
    size_t pending_len, pending_cap;
    /* numbers of the last rows, row-major (NaN: NULL), handed to the builder a block at a
     * time (dm_builder_numbers); text fields go to it at once */
    double *block;
    size_t block_rows;
} dm_copybin;

void dm_copybin_init(dm_copybin *p, size_t ncols, const bool *numeric, const char *const *names,
                     dm_builder *b);
void dm_copybin_release(dm_copybin *p);
/* Give each column its wire format (see dm_copybin.wire); wire must outlive the parser. */
void dm_copybin_set_wire(dm_copybin *p, const char *wire);
/* 0; -1 when the stream is broken (err says where); DM_COPYBIN_BAD_VALUE when a field is
 * well framed but its value cannot be read (a malformed numeric): err names the row, the
 * column and the value's bytes (at most 64 shown). */
#define DM_COPYBIN_BAD_VALUE (-2)
int dm_copybin_feed(dm_copybin *p, const void *data, size_t len, char *err, size_t errlen);
/* -1 when the trailer was not seen (truncated stream) or bytes are left over. */
int dm_copybin_finish(dm_copybin *p, char *err, size_t errlen);

/*
 * Rows of a binary COPY read one message at a time: libpq's PQgetCopyData returns one data
 * row per call, the first one preceded by the stream's header, and then the trailer (after
 * the header when there are no rows).  dm_copybin_row splits one such message into nfields
 * fields pointing into msg (len -1: NULL): 1 for a row, 0 for the trailer, -1 (err) when the
 * message is not one whole row of nfields fields or the header is bad.  Start with the
 * state zeroed.
 */
typedef struct {
    const unsigned char *p;
    int32_t len;
} dm_copybin_field;

typedef struct {
    int state; /* 0 header expected, 1 rows, 2 trailer seen */
    uint64_t rows;
} dm_copybin_rows;

int dm_copybin_row(dm_copybin_rows *s, const void *msg, size_t len, dm_copybin_field *fields,
                   size_t nfields, char *err, size_t errlen);

#endif

/*
 * chain.h - the history's hash chain, recomputed in the client from the raw rows
 * (sql/009_chain.sql and docs/AUDIT.md define it; this is the second implementation, the one
 * `driftmon verify` trusts: nothing the database's owner can replace takes part in it).
 *
 * A link's bytes are built from one row of a binary-format result (PQexecParams with
 * resultFormat 1, a BINARY cursor, or a binary COPY) whose columns are DM_CHAIN_RESULT_COLS,
 * DM_CHAIN_RUN_COLS, DM_CHAIN_PERF_COLS or DM_CHAIN_PERF_REPORT_COLS, in that order; the stored
 * prev_hash and row_hash follow and are not part of the bytes.  A run row's last column is its
 * monitor: one other than 'default' is appended to the bytes (enc_text, sql/012_monitors.sql),
 * 'default' adds nothing, so the runs of the single-monitor form and those chained before 012 keep
 * their bytes.
 */
#ifndef DRIFTMON_CHAIN_H
#define DRIFTMON_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "monitor/copybin.h"

#define DM_CHAIN_RESULT_COLS                                                                       \
    "seq, run_id, column_name, column_type, stattest, stattest_threshold, drift_score, "           \
    "drift_detected, ref_rows, ref_missing, cur_rows, cur_missing, details, prev_hash, "           \
    "row_hash"
#define DM_CHAIN_RESULT_NCOLS 15

#define DM_CHAIN_RUN_COLS                                                                          \
    "seq, id, batch, window_start, window_end, reference_id, started_at, finished_at, "            \
    "number_of_columns, number_of_drifted_columns, share_of_drifted_columns, drift_share, "        \
    "dataset_drift, retrain_fraction, retrain_flagged, report_html, report_html_sha256, "          \
    "report_json, report_json_sha256, config_sha256, reference_sha256, driftmon_version, "         \
    "prev_hash, row_hash, monitor"
#define DM_CHAIN_RUN_NCOLS 25

/* A performance row (sql/015_performance.sql): its links share the sequence. */
#define DM_CHAIN_PERF_COLS                                                                         \
    "seq, id, monitor, run_id, cohort_kind, evaluated_at, supersedes, label_column, "              \
    "score_column, decision_threshold, cost_fn, cost_fp, rows, left_out, tp, fp, tn, fn, auc, "    \
    "recall, precision, business_cost, optimal_threshold, business_cost_at_optimal, "              \
    "reference_id, reference_business_cost, reference_auc, reference_optimal_threshold, "          \
    "cost_increase, retrain_cost_increase, retrain_flagged, labels_count, labels_digest, "         \
    "config_sha256, driftmon_version, prev_hash, row_hash"
#define DM_CHAIN_PERF_NCOLS 37

/* A re-rendered report's row (sql/019_perf_report_chain.sql): the documents are covered
 * through their sha256. */
#define DM_CHAIN_PERF_REPORT_COLS                                                                  \
    "seq, performance_id, run_id, monitor, created_at, report_html, report_html_sha256, "          \
    "report_json, report_json_sha256, driftmon_version, prev_hash, row_hash"
#define DM_CHAIN_PERF_REPORT_NCOLS 12

/* A growing byte buffer (the link's bytes); reused from row to row. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
} dm_chain_buf;

void dm_chain_buf_release(dm_chain_buf *b);

/* The canonical bytes of row `row` of res into b (replacing its content).  0, or -1 with err
 * when a value has a width its type cannot have (a result of other columns) or out of
 * memory. */
int dm_chain_result_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen);
int dm_chain_run_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen);
int dm_chain_perf_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err, size_t errlen);
int dm_chain_perf_report_bytes(const PGresult *res, int row, dm_chain_buf *b, char *err,
                               size_t errlen);
/* The same from the fields of one binary COPY row (copybin.h) of those columns. */
int dm_chain_result_fields(const dm_copybin_field *f, dm_chain_buf *b, char *err, size_t errlen);
int dm_chain_run_fields(const dm_copybin_field *f, dm_chain_buf *b, char *err, size_t errlen);

/* row_hash = sha256(prev || bytes).  0, or -1 (the digest failed). */
int dm_chain_link_hash(const unsigned char prev[32], const dm_chain_buf *b, unsigned char out[32]);

/* 64 lowercase hex digits + NUL. */
void dm_chain_hex(const unsigned char h[32], char hex[65]);
/* 64 hex digits (either case) into h: 0, or -1 when s is not that. */
int dm_chain_unhex(const char *s, unsigned char h[32]);

#endif

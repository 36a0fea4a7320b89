#!/usr/bin/env bash
# tests/integration/db.sh - the database contract (DESIGN.md section 5) against a real,
# throwaway PostgreSQL (tests/pg/cluster.sh), stopped and removed on every exit path.
#
# Run from the repo root (make integration).  $DM_BUILD: absolute build folder (default
# build).  Stops at the first failure; ends with "db: P passed, F failed, S skipped".
#
# Checks: migrations apply in order and re-apply as no-ops (also over data); submit_batch
# inserts and NOTIFYs at commit only (not on rollback, not on re-submit); claim_batch;
# new_reference versions; run / column_result / reference refuse UPDATE, DELETE and
# TRUNCATE; the hash chain stays intact under concurrent writers and shows an edited,
# re-hashed, deleted or cut-off row; the views have exactly the contract's columns.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DM_BUILD=${DM_BUILD:-$ROOT/build}

results_name=db
. tests/lib/results.sh
fail() {
    bad "$*"
    finish
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/dm-pg.XXXXXX")
cleanup() { bash "$ROOT/tests/pg/cluster.sh" destroy "$dir" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
pgenv=$(bash tests/pg/cluster.sh start "$dir") || fail "could not start PostgreSQL (tests/pg/cluster.sh, above)"
eval "$pgenv"
export PGOPTIONS='-c client_min_messages=warning'

# psql helpers: q prints tuples only; q_fails expects an error containing $1.
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q_fails() {
    local want=$1 out
    shift
    if out=$(psql -X -q -At -v ON_ERROR_STOP=1 "$@" 2>&1); then
        fail "accepted: $* (wanted an error containing \"$want\"; got: $out)"
    fi
    [[ $out == *"$want"* ]] || fail "error for: $* lacks \"$want\": $out"
}
# apply_all DB [twice]: every migration in order; with "twice", each one again right after
# itself (a migration is a no-op on a database that has it).
apply_all() {
    local db=$1 f
    for f in sql/[0-9]*.sql; do
        q -d "$db" -1 -f "$f" >/dev/null || fail "applying $f to $db"
        [ "${2:-}" != twice ] || q -d "$db" -1 -f "$f" >/dev/null || fail "re-applying $f to $db"
    done
}
# reapply_all DB: every migration again over a migrated database, but 003_interface.sql and
# 010_model.sql: 010 adds columns at the end of 003's views and 012 at the end of 010's, and
# CREATE OR REPLACE VIEW cannot drop them, so PostgreSQL refuses 003 over 010 and 010 over
# 012 (`driftmon init` never re-applies a recorded migration).
reapply_all() {
    local db=$1 f
    for f in sql/[0-9]*.sql; do
        case "$(basename "$f")" in 003_interface.sql | 010_model.sql) continue ;; esac
        q -d "$db" -1 -f "$f" >/dev/null || fail "re-applying $f to $db"
    done
}

# ---- migrations ------------------------------------------------------------------------
apply_all driftmon twice
reapply_all driftmon
tables=$(q -c "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables
               WHERE schemaname = 'driftmon'")
[ "$tables" = "batch,chain_head,column_result,performance,performance_outbox,performance_report,reference,reference_column,reference_importance,reference_left_out,reference_performance,retrain_outbox,run,schema_version,unit_run,window_done,work_unit" ] ||
    fail "tables after two applications: $tables"
ok "migrations apply twice in order"

# ---- views: exactly the contract's columns, in order -------------------------------------
view_cols() {
    q -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
          FROM information_schema.columns WHERE table_schema = 'driftmon' AND table_name = '$1'"
}
# the contract's columns, then those later migrations add at the end (010: the model's; 012:
# the monitor)
want_runs="run_id,batch,window_start,window_end,reference_name,started_at,finished_at,number_of_columns,number_of_drifted_columns,share_of_drifted_columns,dataset_drift,retrain_flagged,report_html,report_json,importance_weighted_share,importance_sha256,score_column,score_psi,score_band,reference_approval_rate,current_approval_rate,retrain_reasons,monitor"
want_hist="run_id,batch,finished_at,reference_name,column_name,column_type,stattest,stattest_threshold,drift_score,drift_detected,importance,monitor"
[ "$(view_cols runs)" = "$want_runs" ] || fail "driftmon.runs columns: $(view_cols runs)"
[ "$(view_cols column_history)" = "$want_hist" ] ||
    fail "driftmon.column_history columns: $(view_cols column_history)"
ok "views driftmon.runs and driftmon.column_history have the contract's columns"

# ---- submit_batch and NOTIFY ------------------------------------------------------------
out=$(psql -X -v ON_ERROR_STOP=1 2>&1 <<'SQL'
LISTEN driftmon_batch;
BEGIN;
SELECT driftmon.submit_batch('B1');
SELECT 'before-commit';
COMMIT;
SELECT 'after-commit';
SQL
)
note='Asynchronous notification "driftmon_batch" with payload "B1" received'
[[ $out == *"$note"* ]] || fail "no notification for B1: $out"
# delivered at commit: after the line printed inside the transaction
before=$(grep -n 'before-commit' <<<"$out" | head -n 1 | cut -d: -f1)
at=$(grep -n "$note" <<<"$out" | head -n 1 | cut -d: -f1)
[ "$at" -gt "$before" ] || fail "notification before commit: $out"
[ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch = 'B1' AND done_at IS NULL")" = 1 ] ||
    fail "batch B1 not recorded"
ok "submit_batch records the batch and NOTIFYs driftmon_batch at commit"

out=$(psql -X -v ON_ERROR_STOP=1 2>&1 <<'SQL'
LISTEN driftmon_batch;
BEGIN;
SELECT driftmon.submit_batch('B2');
ROLLBACK;
SELECT driftmon.submit_batch('B1') AS resubmit;
SELECT 'end';
SQL
)
[[ $out != *"Asynchronous notification"* ]] || fail "notification after rollback or re-submit: $out"
[[ $out == *" f"* ]] || fail "re-submit did not return false: $out"
[ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch IN ('B1', 'B2')")" = 1 ] ||
    fail "rolled-back or re-submitted batch changed the table"
q_fails "non-empty" -c "SELECT driftmon.submit_batch('')"
q_fails "non-empty" -c "SELECT driftmon.submit_batch(NULL)"
ok "no NOTIFY on rollback or re-submit; empty batch refused"

# ---- claim_batch --------------------------------------------------------------------------
q -c "SELECT driftmon.submit_batch('B3')" >/dev/null
[ "$(q -c "SELECT driftmon.claim_batch('w1', '1 minute')")" = B1 ] || fail "claim 1"
[ "$(q -c "SELECT driftmon.claim_batch('w2', '1 minute')")" = B3 ] || fail "claim 2"
[ -z "$(q -c "SELECT driftmon.claim_batch('w3', '1 minute')")" ] || fail "claimed a leased batch"
# an expired lease comes back
q -c "UPDATE driftmon.batch SET lease_until = now() - interval '1 second' WHERE batch = 'B3'"
[ "$(q -c "SELECT driftmon.claim_batch('w3', '1 minute')")" = B3 ] || fail "expired lease not reclaimed"
[ "$(q -c "SELECT claimed_by || ':' || attempts FROM driftmon.batch WHERE batch = 'B3'")" = w3:2 ] ||
    fail "claim bookkeeping"
ok "claim_batch hands out each pending batch once per lease"

# ---- references -------------------------------------------------------------------------------
sha_a=$(printf a%.0s {1..64})
r1=$(q -c "SELECT id FROM driftmon.new_reference('train', 'train.csv', 5, '$sha_a', 'test')")
r2=$(q -c "SELECT version FROM driftmon.new_reference('train', 'train.csv', 5, '$sha_a', 'test')")
[ "$r2" = 2 ] || fail "second reference version: $r2"
blob="'\\x$(printf '00%.0s' {1..48})'"
q -c "INSERT INTO driftmon.reference_column (reference_id, ordinal, name, storage, count,
        n_distinct, missing, nonfinite, mean, std, min, max, profile)
      VALUES ($r1, 0, 'AMT', 'num', 4, 4, 1, 0, 2.5, 1.118, 1, 4, $blob)"
q -c "INSERT INTO driftmon.reference_column (reference_id, ordinal, name, storage, count,
        n_distinct, missing, nonfinite, profile)
      VALUES ($r1, 1, 'TYPE', 'str', 5, 2, 0, 0, $blob)"
q_fails "reference_column_check" -c "INSERT INTO driftmon.reference_column (reference_id, ordinal,
        name, storage, count, n_distinct, missing, nonfinite, mean, profile)
      VALUES ($r1, 2, 'BAD', 'str', 2, 1, 0, 0, 1.5, $blob)"
q_fails "violates check constraint \"reference_column_check" -c "INSERT INTO driftmon.reference_column
        (reference_id, ordinal, name, storage, count, n_distinct, missing, nonfinite, profile)
      VALUES ($r1, 3, 'BAD2', 'num', 2, 3, 0, 0, $blob)"
q_fails "append-only" -c "UPDATE driftmon.reference_column SET count = 9 WHERE reference_id = $r1"
q_fails "append-only" -c "DELETE FROM driftmon.reference WHERE id = $r1"
ok "references: versions per name, column checks, append-only"

# ---- runs and column results ---------------------------------------------------------------
# One run: insert_run BATCH NCOLS prints the run id; the columns get scores i/10.
insert_run() {
    local batch=$1 n=$2
    q -d "${3:-driftmon}" <<SQL
BEGIN;
WITH r AS (
    INSERT INTO driftmon.run (batch, window_start, window_end, reference_id, started_at,
        number_of_columns, number_of_drifted_columns, share_of_drifted_columns, drift_share,
        dataset_drift, retrain_fraction, retrain_flagged, report_html, report_json,
        config_sha256, reference_sha256, driftmon_version, report)
    SELECT $( [ "$batch" = NULL ] && echo NULL || echo "'$batch'" ),
           now() - interval '1 day', now(), (SELECT min(id) FROM driftmon.reference),
           now() - interval '1 second', $n, $n / 2, ($n / 2)::float8 / $n, 0.5,
           ($n / 2)::float8 / $n >= 0.5, 0.5, ($n / 2)::float8 / $n > 0.5,
           '/r/run.html', '/r/run.json', NULL, '$sha_a', 'test', '{"k": 1}'
    RETURNING id)
INSERT INTO driftmon.column_result (run_id, column_name, column_type, stattest,
    stattest_threshold, drift_score, drift_detected, ref_rows, ref_missing, cur_rows,
    cur_missing)
SELECT r.id, 'C' || i, CASE WHEN i % 2 = 0 THEN 'num' ELSE 'cat' END, 'wasserstein', 0.1,
       i / 10.0, i / 10.0 >= 0.1, 100, i, 50, 0
FROM r, generate_series(0, $n - 1) i
RETURNING run_id;
COMMIT;
SQL
}
run1=$(insert_run B1 4 | head -n 1)
[ -n "$run1" ] || fail "run insert"
# the run row is link 1 (009: run rows are chained too), its results 2..5
[ "$(q -c "SELECT count(*) || ':' || min(seq) || ':' || max(seq) FROM driftmon.column_result")" = 4:2:5 ] ||
    fail "chain sequence"
[ -z "$(q -c "SELECT * FROM driftmon.verify_chain()")" ] || fail "fresh chain not intact"
got=$(q -F '|' -c "SELECT run_id, batch, reference_name, number_of_columns,
        number_of_drifted_columns, share_of_drifted_columns, dataset_drift, retrain_flagged,
        report_html, report_json FROM driftmon.runs")
[ "$got" = "$run1|B1|train|4|2|0.5|t|f|/r/run.html|/r/run.json" ] || fail "driftmon.runs row: $got"
got=$(q -F '|' -c "SELECT column_name, column_type, stattest, stattest_threshold, drift_score,
        drift_detected FROM driftmon.column_history WHERE run_id = $run1 ORDER BY column_name")
want=$'C0|num|wasserstein|0.1|0|f\nC1|cat|wasserstein|0.1|0.1|t\nC2|num|wasserstein|0.1|0.2|t\nC3|cat|wasserstein|0.1|0.3|t'
[ "$got" = "$want" ] || fail "driftmon.column_history rows: $got"
ok "a run and its column results read back through the views"

q_fails "append-only" -c "UPDATE driftmon.column_result SET drift_score = 0 WHERE run_id = $run1"
q_fails "append-only" -c "DELETE FROM driftmon.column_result WHERE run_id = $run1"
q_fails "append-only" -c "TRUNCATE driftmon.column_result"
q_fails "append-only" -c "UPDATE driftmon.run SET dataset_drift = true WHERE id = $run1"
q_fails "append-only" -c "DELETE FROM driftmon.run WHERE id = $run1"
q_fails "append-only" -c "TRUNCATE driftmon.run CASCADE"
[ "$(q -c "SELECT count(*) FROM driftmon.column_result")" = 4 ] || fail "rows lost"
ok "UPDATE, DELETE and TRUNCATE refused on column_result and run"

run2=$(insert_run NULL 2 | head -n 1)
[ "$(q -c "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM driftmon.column_result WHERE run_id = $run2")" = 7,8 ] ||
    fail "window run chain"
q -c "INSERT INTO driftmon.retrain_outbox (run_id) VALUES ($run1)"
q -c "UPDATE driftmon.retrain_outbox SET attempts = attempts + 1, delivered_at = now() WHERE run_id = $run1"
q_fails "run_check" -c "INSERT INTO driftmon.run (reference_id, started_at, number_of_columns,
        number_of_drifted_columns, share_of_drifted_columns, drift_share, dataset_drift,
        retrain_flagged, reference_sha256, driftmon_version)
      VALUES ($r1, now(), 0, 0, 0, 0.5, false, false, '$sha_a', 'test')"
ok "window runs chain on; outbox rows update; a run needs a batch or a window"

# ---- concurrent writers share one chain ------------------------------------------------------
pids=()
for _ in 1 2 3; do
    (for _ in $(seq 1 15); do insert_run B1 3 >/dev/null || exit 1; done) &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || fail "a concurrent writer failed"
done
# 141 result rows and 47 run rows, one chain
[ "$(q -c "SELECT count(*) || ':' || max(seq) FROM driftmon.column_result")" = 141:188 ] ||
    fail "concurrent chain: $(q -c "SELECT count(*) || ':' || max(seq) FROM driftmon.column_result")"
problems=$(q -c "SELECT * FROM driftmon.verify_chain()")
[ -z "$problems" ] || fail "chain broken by concurrent writers: $problems"
ok "45 runs from 3 concurrent writers: one intact chain of 141 rows"

# ---- re-applying the migrations over data changes nothing -------------------------------------
before=$(q -c "SELECT count(*), sum(seq) FROM driftmon.column_result")
reapply_all driftmon
[ "$(q -c "SELECT count(*), sum(seq) FROM driftmon.column_result")" = "$before" ] ||
    fail "re-applying migrations changed results"
[ -z "$(q -c "SELECT * FROM driftmon.verify_chain()")" ] || fail "chain after re-apply"
ok "migrations re-applied over data: no change"

# ---- tampering shows -------------------------------------------------------------------------
# A superuser can switch the append-only trigger off; the chain still tells.
tamper() {
    q -c "ALTER TABLE driftmon.column_result DISABLE TRIGGER append_only;
          $1;
          ALTER TABLE driftmon.column_result ENABLE TRIGGER append_only"
}
tamper "UPDATE driftmon.column_result SET drift_score = 0.01, drift_detected = false WHERE seq = 3"
got=$(q -F '|' -c "SELECT seq, problem FROM driftmon.verify_chain()")
[ "$got" = "3|row hash mismatch: the row was changed" ] || fail "edited row: $got"
# re-hashing the edited row moves the break to the next link
tamper "UPDATE driftmon.column_result r SET row_hash = sha256(r.prev_hash || driftmon.column_result_bytes(r)) WHERE seq = 3"
got=$(q -F '|' -c "SELECT seq, problem FROM driftmon.verify_chain()")
[ "$got" = "4|prev_hash does not match the previous row" ] || fail "re-hashed row: $got"
# a deleted row: a gap and a broken link
tamper "DELETE FROM driftmon.column_result WHERE seq = 10"
got=$(q -F '|' -c "SELECT seq, problem FROM driftmon.verify_chain() WHERE seq = 11 ORDER BY problem")
[ "$got" = $'11|prev_hash does not match the previous row\n11|sequence gap: rows 10..10 missing' ] ||
    fail "deleted row: $got"
# the last row removed: only the chain head knows
tamper "DELETE FROM driftmon.column_result WHERE seq = 188"
q -F '|' -c "SELECT seq, problem FROM driftmon.verify_chain()" | grep -q '^188|chain head does not match' ||
    fail "cut-off tail not detected"
ok "hash chain shows an edited, re-hashed, deleted and cut-off row"

# ---- driftmon init ---------------------------------------------------------------------------------
bin=$DM_BUILD/driftmon
[ -x "$bin" ] || fail "$bin not built (make build)"
q -d postgres -c "CREATE DATABASE dm_init" >/dev/null
out=$(PGDATABASE=dm_init "$bin" init 2>&1) || fail "driftmon init: exit $?: $out"
want=$(for f in sql/[0-9]*.sql; do echo "$(basename "$f")|$(sha256sum <"$f" | cut -d' ' -f1)"; done)
got=$(q -d dm_init -F '|' -c "SELECT name, sha256 FROM driftmon.schema_version ORDER BY name")
[ "$got" = "$want" ] || fail "schema_version after init: $got (want $want)"
out=$(PGDATABASE=dm_init "$bin" init 2>&1) || fail "second driftmon init: $out"
migrations=(sql/[0-9]*.sql)
[[ $out == *"schema is up to date (${#migrations[@]} migrations)"* ]] ||
    fail "second init did not say up to date: $out"
# over a schema applied by psql (no versions recorded): applies again, harmlessly.  One from
# before 010 (which adds columns at the end of 003's views: PostgreSQL refuses 003 over it)
q -d postgres -c "CREATE DATABASE dm_psql" >/dev/null
for f in sql/[0-9]*.sql; do
    [[ $(basename "$f") < 010 ]] || continue
    q -d dm_psql -1 -f "$f" >/dev/null || fail "applying $f to dm_psql"
done
out=$(PGDATABASE=dm_psql "$bin" init 2>&1) || fail "init over a psql-applied schema: $out"
[ "$(PGDATABASE=dm_psql view_cols runs)" = "$want_runs" ] ||
    fail "driftmon.runs after init over a psql-applied schema: $(PGDATABASE=dm_psql view_cols runs)"
ok "driftmon init applies the embedded migrations once, records their sha256, then is a no-op"

finish

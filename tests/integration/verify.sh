#!/usr/bin/env bash
# verify.sh - `driftmon verify` against a real, throwaway PostgreSQL (issue 18).  Runs are made
# by `driftmon check`; each tampering is done as a superuser on a copy of that database
# (CREATE DATABASE ... TEMPLATE), the way the issue's reporter did it:
#   - intact history: exit 0; the JSON report and the hook's payload carry the chain head,
#     which is the chain after the run's results; the C recomputation agrees with the SQL one;
#   - triggers disabled, one drift_score changed: exit 4 naming the run and the column;
#   - session_replication_role = replica, a run's dataset_drift changed: exit 4 naming the run;
#   - chain_head moved back by an UPDATE: refused (it only moves forward);
#   - a score changed and every later link (documents, report files, head) recomputed: passes
#     without an anchor, exit 4 with an anchor exported before;
#   - the last run and its results deleted, chain_head rewound: exit 4 with an anchor exported
#     after that run;
#   - one byte of run-N.html in reports.dir changed: exit 4 naming the file; deleted: a warning,
#     exit 0;
#   - one byte of a stored reference profile changed: exit 4 naming the reference;
#   - a run's JSON document naming another chain head (its sha256, jsonb and file following it)
#     and another run's `report` jsonb changed: exactly those failures and the run row's link,
#     the chain's line first (the documents are checked on a second connection in the same
#     snapshot); a role allowed one connection: the documents are read on it, same result;
#   - a database from before migration 009: its old rows keep verifying, new runs are chained;
#   - a database from before sql/*_perf_report_chain.sql: a re-rendered report written then is
#     chained by the migration at the head and verifies; changed with its sha256, it shows.
# Run from the repo root.  $DM_BUILD: the build folder (default build).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
results_name=verify
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup verify

# ---- three runs made by `driftmon check` ------------------------------------------------------
"$GEN" --rows 3000 --seed 21 -o "$W/ref.csv"
"$GEN" --rows 1500 --seed 22 --no-target --revolving-share 0.01 --first-id 600000 \
    --format tsv-copy -o "$W/cur.tsv"
chmod 0644 "$W"/*
"$GEN" --no-target --schema apps >"$W/apps.sql"
q -f "$W/apps.sql" -c "\\copy apps FROM '$W/cur.tsv'" \
    -c "ALTER TABLE apps ADD COLUMN batch_id text, ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00'" \
    -c "UPDATE apps SET batch_id = 'b' || (\"SK_ID_CURR\" % 3 + 1), created_at = '2026-01-15 12:00+00'" ||
    { bad "could not create the monitored table"; finish; }
config() { # config FILE DATABASE REPORTS_DIR
    cat >"$1" <<EOF
{
  "database": {"conninfo": "dbname=$2"},
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$3"},
  "retrain": {"fraction": 0.0}
}
EOF
}
config "$W/c.json" driftmon "$W/reports"
C=(--config "$W/c.json")
if "$DM" init "${C[@]}" 2>"$W/err" && "$DM" reference load "$W/ref.csv" --name hc "${C[@]}" >/dev/null 2>>"$W/err" &&
    "$DM" check b1 "${C[@]}" >/dev/null 2>>"$W/err" && "$DM" check b2 "${C[@]}" >/dev/null 2>>"$W/err" &&
    "$DM" check b3 "${C[@]}" >/dev/null 2>>"$W/err"; then
    ok "three runs by driftmon check"
else
    bad "three runs by driftmon check" "$(cat "$W/err")"
    finish
fi
run1=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'b1'")
run3=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'b3'")

# verify DB [ARGS...]: run verify on database DB (its own config, the shared reports dir);
# sets $rc and $out (stdout and stderr)
verify() {
    local db=$1
    shift
    config "$W/c_$db.json" "$db" "${VERIFY_REPORTS:-$W/reports}"
    out=$("$DM" verify --config "$W/c_$db.json" "$@" 2>&1)
    rc=$?
}
# clone NAME: a copy of the pristine database to tamper with
clone() { q -d postgres -c "CREATE DATABASE $1 TEMPLATE driftmon" || fail_clone=1; }

verify driftmon
[ "$rc" = 0 ] && [[ $out == *"intact (0 failures"* ]] && ok "untouched history: verify exits 0" ||
    bad "untouched history: verify exits 0" "exit $rc: $out"
[ -z "$(q -c "SELECT * FROM driftmon.verify_chain()")" ] && ok "the database's own verify_chain() agrees" ||
    bad "verify_chain() on the untouched history" "$(q -c "SELECT * FROM driftmon.verify_chain()")"
links=$(q -c "SELECT (SELECT count(*) FROM driftmon.column_result) + (SELECT count(*) FROM driftmon.run)")
[[ $out == *"verify: $links links, 3 runs"* ]] && ok "every run row and result row is a link ($links)" ||
    bad "links walked" "want $links: $out"

# the JSON report carries the head after the run's results: the row_hash of its last result
want=$(q -c "SELECT encode(row_hash, 'hex') FROM driftmon.column_result WHERE run_id = $run3 ORDER BY seq DESC LIMIT 1")
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chain_head"])' "$W/reports/run-$run3.json")
[ -n "$want" ] && [ "$got" = "$want" ] && ok "run-N.json carries chain_head = the last result link of its run" ||
    bad "chain_head in the JSON report" "file $got, chain $want"
# ... and the run row's link, chained last, covers that JSON's sha256
got=$(q -c "SELECT r.seq = (SELECT max(c.seq) FROM driftmon.column_result c WHERE c.run_id = r.id) + 1
            AND r.report_json_sha256 = encode(sha256(convert_to(r.report_json_doc, 'UTF8')), 'hex')
            FROM driftmon.run r WHERE r.id = $run3")
[ "$got" = t ] && [ "$(q -c "SELECT report_json_sha256 FROM driftmon.run WHERE id = $run3")" = "$(sha256sum <"$W/reports/run-$run3.json" | cut -d' ' -f1)" ] &&
    ok "the run row is chained after its results and holds the JSON's sha256" || bad "run link after the results" "$got"
# the hook's payload is what driftmon.claim_alert hands the daemon (monitor/outbox.c)
payload=$(q -d driftmon -c "BEGIN; SELECT report FROM driftmon.claim_alert('1 minute') WHERE run_id = $run1; ROLLBACK" | head -n 1)
want=$(q -c "SELECT encode(row_hash, 'hex') FROM driftmon.column_result WHERE run_id = $run1 ORDER BY seq DESC LIMIT 1")
got=$(printf '%s' "$payload" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("chain_head"))' 2>/dev/null)
[ -n "$want" ] && [ "$got" = "$want" ] && ok "the retrain hook's payload carries the chain head" ||
    bad "chain_head in the hook's payload" "got '$got' want '$want' (payload ${payload:0:80})"

"$DM" verify "${C[@]}" --export-anchor "$W/anchor.jsonl" >"$W/out" 2>&1
rc=$?
line=$(cat "$W/anchor.jsonl")
head=$(q -c "SELECT encode(hash, 'hex') FROM driftmon.chain_head")
[ "$rc" = 0 ] && python3 - "$line" "$run3" "$head" <<'EOF' && ok "--export-anchor appends {run_id, chain_head, at}" || bad "--export-anchor" "exit $rc: $line $(cat "$W/out")"
import json, sys
a = json.loads(sys.argv[1])
assert set(a) == {"run_id", "chain_head", "at"}, a
assert a["run_id"] == int(sys.argv[2]) and a["chain_head"] == sys.argv[3], a
EOF
verify driftmon --anchor "$W/anchor.jsonl"
[ "$rc" = 0 ] && [[ $out == *"1 anchors checked: intact"* ]] && ok "the anchor checks out on the untouched history" ||
    bad "anchor on the untouched history" "exit $rc: $out"

# ---- one drift_score changed with the triggers disabled ---------------------------------------------
clone t_score
col=$(q -d t_score -c "SELECT column_name FROM driftmon.column_result WHERE run_id = $run1 ORDER BY seq OFFSET 5 LIMIT 1")
q -d t_score -c "ALTER TABLE driftmon.column_result DISABLE TRIGGER USER" \
    -c "UPDATE driftmon.column_result SET drift_score = drift_score + 0.25 WHERE run_id = $run1 AND column_name = '$col'" \
    -c "ALTER TABLE driftmon.column_result ENABLE TRIGGER USER"
verify t_score
[ "$rc" = 4 ] && grep -q "^FAIL run $run1 column \"$col\" (driftmon.column_result, seq [0-9]*) does not match its row_hash" <<<"$out" &&
    ok "a changed drift_score: exit 4 naming run $run1 and column $col" || bad "changed drift_score" "exit $rc: $out"

# ---- a run's dataset_drift changed with session_replication_role = replica --------------------------
clone t_run
q -d t_run -c "SET session_replication_role = replica" \
    -c "UPDATE driftmon.run SET dataset_drift = NOT dataset_drift, retrain_flagged = NOT retrain_flagged WHERE id = $run1"
verify t_run
[ "$rc" = 4 ] && grep -q "^FAIL run $run1 (driftmon.run, seq [0-9]*) does not match its row_hash" <<<"$out" &&
    ok "a run's dataset_drift changed as replica: exit 4 naming run $run1" || bad "changed run row" "exit $rc: $out"

# ---- chain_head only moves forward ------------------------------------------------------------------
if err=$(q -d t_run -c "UPDATE driftmon.chain_head SET seq = seq - 1" 2>&1); then
    bad "chain_head moved back" "accepted"
else
    [[ $err == *"only moves forward"* ]] && ok "UPDATE moving chain_head back is refused" || bad "chain_head moved back" "$err"
fi

# ---- a score changed and every link after it recomputed (documents, files and head too) ---------------
# What a superuser with time on their hands can do: only an anchor kept outside shows it.
rechain_sql() { # the change, then every later link recomputed as the triggers would
    cat <<SQL
SET session_replication_role = replica;
DO \$\$
DECLARE
    target bigint := (SELECT seq FROM driftmon.column_result WHERE run_id = $run1 ORDER BY seq OFFSET 2 LIMIT 1);
    prev bytea;
    l record;
BEGIN
    UPDATE driftmon.column_result SET drift_score = drift_score + 0.5 WHERE seq = target;
    SELECT prev_hash INTO prev FROM driftmon.column_result WHERE seq = target;
    FOR l IN SELECT seq, true AS is_result FROM driftmon.column_result WHERE seq >= target
             UNION ALL SELECT seq, false FROM driftmon.run WHERE seq >= target ORDER BY 1 LOOP
        IF l.is_result THEN
            UPDATE driftmon.column_result SET prev_hash = prev WHERE seq = l.seq;
            UPDATE driftmon.column_result c SET row_hash = sha256(c.prev_hash || driftmon.column_result_bytes(c))
                WHERE seq = l.seq RETURNING row_hash INTO prev;
        ELSE
            UPDATE driftmon.run SET prev_hash = prev,
                report_json_doc = regexp_replace(report_json_doc, '("chain_head":\s*")[0-9a-f]{64}"',
                                                 '\1' || encode(prev, 'hex') || '"')
                WHERE seq = l.seq;
            UPDATE driftmon.run SET report_json_sha256 = encode(sha256(convert_to(report_json_doc, 'UTF8')), 'hex'),
                report = report_json_doc::jsonb WHERE seq = l.seq;
            UPDATE driftmon.run r SET row_hash = sha256(r.prev_hash || driftmon.run_bytes(r))
                WHERE seq = l.seq RETURNING row_hash INTO prev;
        END IF;
    END LOOP;
    UPDATE driftmon.chain_head SET seq = (SELECT max(seq) FROM (SELECT seq FROM driftmon.column_result
                                          UNION ALL SELECT seq FROM driftmon.run) s), hash = prev;
END
\$\$;
SQL
}
clone t_rechain
rechain_sql | q -d t_rechain >/dev/null
mkdir -p "$W/rechained"
for id in $(q -d t_rechain -c "SELECT id FROM driftmon.run"); do
    printf '%s\n' "$(q -d t_rechain -c "SELECT report_json_doc FROM driftmon.run WHERE id = $id")" >"$W/rechained/run-$id.json"
    cp "$W/reports/run-$id.html" "$W/rechained/"
done
VERIFY_REPORTS=$W/rechained verify t_rechain
[ "$rc" = 0 ] && ok "a score changed and every later link recomputed: verify without an anchor passes (what the anchor is for)" ||
    bad "re-chained history without an anchor" "exit $rc (want 0: the rewrite is complete): $out"
VERIFY_REPORTS=$W/rechained verify t_rechain --anchor "$W/anchor.jsonl"
[ "$rc" = 4 ] && grep -q "^FAIL anchor .* line 1: head [0-9a-f]*\.\.\. of run $run3 is not in the chain" <<<"$out" &&
    ok "... with an anchor exported before the change: exit 4" || bad "re-chained history with an anchor" "exit $rc: $out"

# ---- the last run and its results deleted, the head rewound ----------------------------------------------
clone t_cut
q -d t_cut -c "SET session_replication_role = replica" \
    -c "DELETE FROM driftmon.retrain_outbox WHERE run_id = $run3" \
    -c "DELETE FROM driftmon.column_result WHERE run_id = $run3" \
    -c "DELETE FROM driftmon.run WHERE id = $run3" \
    -c "UPDATE driftmon.chain_head SET (seq, hash) = (SELECT seq, row_hash FROM driftmon.run WHERE seq = (SELECT max(seq) FROM driftmon.run))"
verify t_cut
rc_plain=$rc
verify t_cut --anchor "$W/anchor.jsonl"
[ "$rc_plain" = 0 ] && [ "$rc" = 4 ] && grep -q "^FAIL anchor .* of run $run3 is not in the chain" <<<"$out" &&
    ok "the last run deleted and the head rewound: exit 4 with the anchor taken after it (0 without)" ||
    bad "cut-off history" "exit $rc_plain without, $rc with the anchor: $out"

# ---- report files ---------------------------------------------------------------------------------------
f=$W/reports/run-$run1.html
cp "$f" "$W/saved.html"
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
verify driftmon
[ "$rc" = 4 ] && grep -q "^FAIL run $run1: report file \"$f\" does not match" <<<"$out" &&
    ok "one byte of run-$run1.html changed: exit 4 naming the file" || bad "changed report file" "exit $rc: $out"
rm -f "$f"
verify driftmon
[ "$rc" = 0 ] && grep -q "^WARN run $run1: report file \"$f\" is missing" <<<"$out" &&
    ok "run-$run1.html deleted: a warning naming it, exit 0" || bad "missing report file" "exit $rc: $out"
cp "$W/saved.html" "$f"

# ---- a stored reference profile ---------------------------------------------------------------------------
clone t_ref
q -d t_ref -c "SET session_replication_role = replica" \
    -c "UPDATE driftmon.reference_column SET profile = set_byte(profile, 50, get_byte(profile, 50) # 1) WHERE ordinal = 3"
verify t_ref
[ "$rc" = 4 ] && grep -q '^FAIL reference "hc" version 1 (driftmon.reference id [0-9]*): the stored profile' <<<"$out" &&
    ok "one byte of a stored reference profile changed: exit 4 naming the reference" || bad "changed profile" "exit $rc: $out"

# ---- the documents pass ------------------------------------------------------------------------------------
# run1's JSON document names another chain head, its sha256, jsonb and file made to follow it
# (the run row's link is not recomputed); run3's `report` jsonb (not part of its link) changed.
clone t_docs
fake=$(printf 'ab%.0s' $(seq 32))
q -d t_docs -c "SET session_replication_role = replica" \
    -c "UPDATE driftmon.run SET report_json_doc = regexp_replace(report_json_doc, '(\"chain_head\":\s*\")[0-9a-f]{64}\"', '\1$fake\"') WHERE id = $run1" \
    -c "UPDATE driftmon.run SET report_json_sha256 = encode(sha256(convert_to(report_json_doc, 'UTF8')), 'hex'), report = report_json_doc::jsonb WHERE id = $run1" \
    -c "UPDATE driftmon.run SET report = report || '{\"extra\": 1}' WHERE id = $run3"
mkdir -p "$W/docs"
cp "$W"/reports/run-* "$W/docs/"
printf '%s\n' "$(q -d t_docs -c "SELECT report_json_doc FROM driftmon.run WHERE id = $run1")" >"$W/docs/run-$run1.json"
q -d t_docs -c "SELECT report_json_sha256 = encode(sha256(pg_read_binary_file('$W/docs/run-$run1.json')), 'hex') FROM driftmon.run WHERE id = $run1" | grep -qx t ||
    bad "the documents pass: run-$run1.json does not match its new sha256 (the test's setup)"
docs_expect() { # WHAT: exactly the three failures, the chain's first
    local fails link head hook
    fails=$(grep -c '^FAIL' <<<"$out")
    link=$(grep -n "^FAIL run $run1 (driftmon.run, seq [0-9]*) does not match its row_hash" <<<"$out" | cut -d: -f1)
    head=$(grep -n "^FAIL run $run1: the JSON document's chain_head ${fake:0:16}\.\.\. is not the chain after the run's results" <<<"$out" | cut -d: -f1)
    hook=$(grep -n "^FAIL run $run3: driftmon.run.report (what the retrain hook is sent) differs from the stored JSON document" <<<"$out" | cut -d: -f1)
    [ "$rc" = 4 ] && [ "$fails" = 3 ] && [ -n "$link" ] && [ -n "$head" ] && [ -n "$hook" ] &&
        [ "$link" -lt "$head" ] && [ "$link" -lt "$hook" ] &&
        [[ $out == *"6 stored documents, 6 report files"* ]] && ok "$1" || bad "$1" "exit $rc: $out"
}
VERIFY_REPORTS=$W/docs verify t_docs
docs_expect "a JSON document with another chain head and a changed hook jsonb: exactly those, the run's link first"
# a role allowed one connection: no second connection for the documents, the same checks on the first
q -c "CREATE ROLE dm_one LOGIN CONNECTION LIMIT 1"
q -d t_docs -c "GRANT USAGE ON SCHEMA driftmon TO dm_one" -c "GRANT SELECT ON ALL TABLES IN SCHEMA driftmon TO dm_one"
config "$W/c_one.json" "t_docs user=dm_one" "$W/docs"
out=$("$DM" verify --config "$W/c_one.json" 2>&1)
rc=$?
docs_expect "... as a role allowed one connection: the same failures"
grep -q 'msg="no second connection: the documents are read after the chain" reason=.*too many connections' <<<"$out" &&
    ok "... and one line says the documents were read after the chain, and why" || bad "one-connection fallback" "$out"

# ---- bad input --------------------------------------------------------------------------------------------
echo '{"run_id": 1, "chain_head": "zz"}' >"$W/bad_anchor"
verify driftmon --anchor "$W/bad_anchor"
[ "$rc" = 2 ] && [[ $out == *"invalid anchor in \"$W/bad_anchor\" line 1"* ]] && ok "a malformed anchor file: exit 2 naming the line" ||
    bad "malformed anchor" "exit $rc: $out"
verify driftmon --since yesterday-ish
[ "$rc" = 2 ] && [[ $out == *'invalid --since "yesterday-ish"'* ]] && ok "a bad --since: exit 2" || bad "bad --since" "exit $rc: $out"
verify t_score --since "2000-01-01"
[ "$rc" = 4 ] && ok "--since covers the runs finished since then" || bad "--since" "exit $rc: $out"

# ---- a database from before migration 009 ----------------------------------------------------------------
q -d postgres -c "CREATE DATABASE old"
for f in sql/00[1-8]_*.sql; do q -d old -1 -f "$f" >/dev/null || bad "applying $f"; done
q -d old -f "$W/apps.sql" -c "\\copy apps FROM '$W/cur.tsv'" \
    -c "ALTER TABLE apps ADD COLUMN batch_id text DEFAULT 'b1', ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00'" >/dev/null
q -d old <<SQL >/dev/null
INSERT INTO driftmon.reference (name, version, source, rows, sha256) VALUES ('legacy', 1, 'x', 0, repeat('a', 64));
WITH r AS (
    INSERT INTO driftmon.run (batch, window_start, window_end, reference_id, started_at,
        number_of_columns, number_of_drifted_columns, share_of_drifted_columns, drift_share,
        dataset_drift, retrain_fraction, retrain_flagged, reference_sha256, driftmon_version)
    SELECT NULL, now() - interval '1 day', now(), 1, now() - interval '1 second', 4, 2, 0.5, 0.5,
           true, 0.5, false, repeat('a', 64), 'old' RETURNING id)
INSERT INTO driftmon.column_result (run_id, column_name, column_type, stattest, stattest_threshold,
    drift_score, drift_detected, ref_rows, ref_missing, cur_rows, cur_missing)
SELECT r.id, 'C' || i, 'num', 'wasserstein', 0.1, i / 10.0, i >= 1, 100, 0, 50, 0
FROM r, generate_series(0, 3) i;
SQL
config "$W/c_old.json" old "$W/reports_old"
# the legacy reference has no columns: its digest is that of an empty profile, so use a real one
if "$DM" init --config "$W/c_old.json" 2>"$W/err" &&
    "$DM" reference load "$W/ref.csv" --name hc --config "$W/c_old.json" >/dev/null 2>>"$W/err" &&
    "$DM" check b1 --config "$W/c_old.json" >/dev/null 2>>"$W/err"; then
    out=$("$DM" verify --config "$W/c_old.json" 2>&1)
    rc=$?
    n_old=$(q -d old -c "SELECT count(*) FROM driftmon.run WHERE seq IS NULL")
    # the legacy reference's recorded sha256 is made up: that failure, and only it, is expected
    others=$(grep '^FAIL' <<<"$out" | grep -v 'reference "legacy"')
    [ "$n_old" = 1 ] && [ -z "$others" ] && ok "migrated database: the old run keeps verifying, the new run is chained" ||
        bad "migrated database" "exit $rc ($n_old unchained runs): $out"
    q -d old -c "SET session_replication_role = replica" -c "UPDATE driftmon.column_result SET drift_score = 0.9 WHERE column_name = 'C0'"
    out=$("$DM" verify --config "$W/c_old.json" 2>&1)
    grep -q '^FAIL run 1 column "C0"' <<<"$out" && ok "... and a changed old result row still shows" || bad "old row changed" "$out"
    q -d old -c "SET session_replication_role = replica" -c "UPDATE driftmon.column_result SET drift_score = 0 WHERE column_name = 'C0'" \
        -c "UPDATE driftmon.run SET seq = NULL WHERE seq IS NOT NULL"
    out=$("$DM" verify --config "$W/c_old.json" 2>&1)
    grep -q "^FAIL run [0-9]* (driftmon.run) has no link of its own" <<<"$out" && ok "... a new run's link removed shows" || bad "removed run link" "$out"
else
    bad "init, reference load and check on a database from before 009" "$(cat "$W/err")"
fi

# ---- a database from before sql/*_perf_report_chain.sql: its re-rendered reports get chained ---------
# every migration before it applied by hand, a run, an evaluation and its re-rendered report
# written through the daemon's functions; then `driftmon init` applies the rest
q -d postgres -c "CREATE DATABASE pre019"
for f in sql/[0-9]*.sql; do
    case "$f" in *_perf_report_chain.sql) break ;; esac
    q -d pre019 -1 -f "$f" >/dev/null || bad "applying $f"
    # recorded as `driftmon init` records it (the later ones are not idempotent over it)
    q -d pre019 -c "INSERT INTO driftmon.schema_version (name, sha256, driftmon_version)
                    VALUES ('$(basename "$f")', '$(sha256sum <"$f" | cut -c1-64)', 'old')" >/dev/null
done
# what `driftmon init` would have left: the schema's objects owned by the owner role
q -d pre019 -f "$W/apps.sql" -c "GRANT CREATE ON DATABASE pre019 TO driftmon_owner" >/dev/null
q -d pre019 >/dev/null <<'SQL'
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = 'driftmon' AND c.relkind IN ('r', 'v', 'm', 'p') LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO driftmon_owner', r.n);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
             WHERE s.nspname = 'driftmon' LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO driftmon_owner', r.f);
    END LOOP;
    ALTER SCHEMA driftmon OWNER TO driftmon_owner;
END
$$;
SQL
HDOC=$'<p>before 019</p>'
JDOC=$'{"performance": null}'
q -d pre019 -v h="$HDOC" -v j="$JDOC" <<'SQL' >/dev/null
INSERT INTO driftmon.reference (name, version, source, rows, sha256) VALUES ('legacy', 1, 'x', 0, repeat('a', 64));
INSERT INTO driftmon.run (batch, window_start, window_end, reference_id, started_at,
    number_of_columns, number_of_drifted_columns, share_of_drifted_columns, drift_share,
    dataset_drift, retrain_fraction, retrain_flagged, reference_sha256, driftmon_version,
    report_html_doc, report_html_sha256, report_json_doc, report_json_sha256, report)
VALUES (NULL, now() - interval '1 day', now(), 1, now() - interval '1 second', 4, 2, 0.5, 0.5, true, 0.5, false,
        repeat('a', 64), 'old', '<p>run</p>', encode(sha256('<p>run</p>'), 'hex'), '{}',
        encode(sha256('{}'), 'hex'), '{}');
SELECT driftmon.record_performance('default', 1, '{"label_column": "TARGET", "score_column": "score",
    "decision_threshold": "0.5", "cost_fn": "10", "cost_fp": "1", "rows": "4", "left_out": "0",
    "tp": "1", "fp": "1", "tn": "1", "fn": "1", "labels_count": "4", "labels_digest": "7",
    "driftmon_version": "old"}', NULL) AS pid \gset
SELECT driftmon.record_performance_report(:pid, 'a.html', encode(sha256(convert_to(:'h', 'UTF8')), 'hex'), :'h',
    'a.json', encode(sha256(convert_to(:'j', 'UTF8')), 'hex'), :'j', 'old');
SQL
head_before=$(q -d pre019 -c "SELECT seq FROM driftmon.chain_head")
config "$W/c_pre019.json" pre019 "$W/reports_pre019"
if "$DM" init --config "$W/c_pre019.json" 2>"$W/err"; then
    out=$("$DM" verify --config "$W/c_pre019.json" 2>&1)
    rc=$?
    # the legacy reference's recorded sha256 is made up: that failure, and only it, is expected
    others=$(grep '^FAIL' <<<"$out" | grep -v 'reference "legacy"')
    got=$(q -d pre019 -c "SELECT d.seq = $head_before + 1 AND d.prev_hash = p.row_hash AND h.seq = d.seq
                          FROM driftmon.performance_report d, driftmon.performance p, driftmon.chain_head h
                          WHERE p.id = d.performance_id")
    [ "$got" = t ] && [ -z "$others" ] && [[ $out == *"verify: $((head_before + 1)) links"* ]] &&
        ok "migrated database: the re-rendered report written before the migration is chained at the head by it, and verifies" ||
        bad "a re-rendered report before the migration is chained" "chained: $got; exit $rc: $out"
    q -d pre019 -c "ALTER TABLE driftmon.performance_report DISABLE TRIGGER USER" \
        -c "UPDATE driftmon.performance_report SET report_json_doc = '{}', report_json_sha256 = encode(sha256(convert_to('{}', 'UTF8')), 'hex')" \
        -c "ALTER TABLE driftmon.performance_report ENABLE TRIGGER USER" >/dev/null
    out=$("$DM" verify --config "$W/c_pre019.json" 2>&1)
    rc=$?
    [ "$rc" = 4 ] && grep -q '^FAIL the re-rendered report of evaluation 1 of run 1 (driftmon.performance_report, seq [0-9]*) does not match its row_hash' <<<"$out" &&
        ok "... and its document changed afterwards with its sha256 shows (exit 4)" || bad "a migrated re-rendered report changed" "exit $rc: $out"
else
    bad "init on a database from before the re-rendered reports were chained" "$(cat "$W/err")"
fi
finish

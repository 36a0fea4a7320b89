#!/usr/bin/env bash
# check.sh - `driftmon init`, `reference load` and `check` against a real PostgreSQL 15
# started for the test (issue 3).  No mocks.  Checks:
#   - init twice (the second is a no-op);
#   - a reference loaded from CSV and from a table: same profile sha256 for the same rows;
#   - a batch check whose numbers equal `driftmon compare` on the same rows (the real Home
#     Credit samples when ../shared has them; otherwise generated data, and the real-data case
#     is reported as skipped);
#   - a window check (--since/--until);
#   - UPDATE / DELETE on results refused;
#   - kill -9 at random points during a check leaves whole runs or nothing;
#   - bad input (exit 2, naming the object) and a broken environment (exit 1, no password).
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
SHARED=${DM_SHARED:-../shared}
results_name=check
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup check

# ---- data ----------------------------------------------------------------------------------
S="$SHARED/data/homecredit-samples"
if [ -f "$S/application_train_head5000.csv" ]; then
    REF="$S/application_train_head5000.csv"
    CUR="$S/application_test_random1000.csv"
    echo "data: the real Home Credit samples"
else
    skip "check on the real Home Credit samples" "$S absent (they come from ../shared); generated Home-Credit-shaped rows instead"
    "$GEN" --rows 5000 --seed 11 -o "$W/ref.csv"
    "$GEN" --rows 1000 --seed 12 --no-target --revolving-share 0.01 --first-id 500000 -o "$W/cur.csv"
    REF="$W/ref.csv"
    CUR="$W/cur.csv"
fi
cp "$REF" "$W/ref_copy.csv"
cp "$CUR" "$W/cur_copy.csv"
chmod 0644 "$W"/*.csv

$PY tests/integration/csv2sql.py "$REF" train >"$W/train.sql"
# the monitored table: the current rows plus the batch and timestamp columns
$PY tests/integration/csv2sql.py "$CUR" applications "batch_id:text" \
    "created_at:timestamptz:'2026-01-15 12:00+00'" >"$W/apps.sql"
cols_ref=$(head -1 "$REF" | tr -d '\r\n\357\273\277')
cols_cur=$(head -1 "$CUR" | tr -d '\r\n\357\273\277')
qcols() { $PY -c 'import sys; print(",".join("\"%s\"" % c.replace("\"","\"\"") for c in sys.argv[1].split(",")))' "$1"; }
q -f "$W/train.sql" -f "$W/apps.sql" || { echo "could not create tables"; exit 1; }
q -c "\\copy train ($(qcols "$cols_ref")) FROM '$W/ref_copy.csv' WITH (FORMAT csv, HEADER true)"
q -c "\\copy applications ($(qcols "$cols_cur")) FROM '$W/cur_copy.csv' WITH (FORMAT csv, HEADER true)"
q -c "UPDATE applications SET batch_id = 'b1'"

cat >"$W/config.json" <<EOF
{
  "source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "retrain": {"fraction": 0.5}
}
EOF
C=(--config "$W/config.json")
# The reference cache goes to the default cache directory, $XDG_CACHE_HOME/driftmon here (no
# cache.dir in the config), never among the reports.  A cache an older driftmon left in the
# reports directory is removed: its files, not others.
export XDG_CACHE_HOME=$W/xdg
unset CACHE_DIRECTORY
CACHE=$XDG_CACHE_HOME/driftmon
mkdir -p "$W/reports/.reference-cache"
old_cache=$W/reports/.reference-cache/$(printf '%064d' 0).dmp
echo "a profile" >"$old_cache"
echo "not driftmon's" >"$W/reports/.reference-cache/notes.txt"

# ---- init ----------------------------------------------------------------------------------
if "$DM" init "${C[@]}" 2>"$W/err1" && "$DM" init "${C[@]}" 2>"$W/err2" &&
    grep -q "up to date" "$W/err2" &&
    [ "$(q -c 'SELECT count(*) FROM driftmon.schema_version')" -ge 3 ]; then
    ok "init twice: the second is a no-op"
else
    bad "init twice: the second is a no-op" "$(cat "$W/err1" "$W/err2")"
fi

# ---- references ----------------------------------------------------------------------------
if "$DM" reference load "$REF" --name hc "${C[@]}" >"$W/ref1.out" 2>"$W/err" &&
    "$DM" reference load --table train --name hc_table "${C[@]}" >"$W/ref2.out" 2>>"$W/err" &&
    "$DM" reference load "$REF" --name hc "${C[@]}" >"$W/ref3.out" 2>>"$W/err"; then
    ok "reference load from CSV and from a table"
else
    bad "reference load from CSV and from a table" "$(cat "$W/err")"
fi
v=$(q -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM driftmon.reference WHERE name = 'hc'")
[ "$v" = "1,2" ] && ok "a second load makes version 2 and keeps version 1" || bad "versions" "got $v"
h1=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 'hc' AND version = 1")
h3=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 'hc' AND version = 2")
hp=$("$DM" profile "$REF" -o "$W/ref.dmp" | sed 's/.*sha256 \([0-9a-f]*\).*/\1/')
[ "$h1" = "$h3" ] && [ "$h1" = "$hp" ] && ok "stored sha256 = the profile's sha256 ($h1)" ||
    bad "stored sha256 = the profile's sha256" "$h1 / $h3 / $hp"

# ---- a batch check equals compare on the same rows --------------------------------------
if "$DM" check b1 "${C[@]}" >"$W/check.out" 2>"$W/err"; then
    ok "check b1"
else
    bad "check b1" "$(cat "$W/err")"
fi
json=$(sed -n 's/^json report: //p' "$W/check.out")
"$DM" compare "$REF" "$CUR" --json "$W/compare.json" --quiet 2>>"$W/err"
if [ -n "$json" ] && $PY - "$json" "$W/compare.json" <<'EOF'; then
import json, sys
chk, cmp = (json.load(open(p)) for p in sys.argv[1:3])
a, b = chk["drift_by_columns"], cmp["drift_by_columns"]
assert set(a) == set(b), set(a) ^ set(b)
for k in a:
    for f in ("stattest", "stattest_threshold", "drift_score", "drift_detected", "column_type"):
        assert a[k][f] == b[k][f], (k, f, a[k][f], b[k][f])
assert chk["number_of_drifted_columns"] == cmp["number_of_drifted_columns"]
assert chk["reference"]["profile_sha256"] == cmp["reference"]["profile_sha256"]
assert "batch_id" not in chk["skipped_columns"] and "created_at" not in chk["skipped_columns"]
print(f"     {len(a)} columns, {chk['number_of_drifted_columns']} drifted: identical")
EOF
    ok "check's numbers == compare's numbers on the same rows"
else
    bad "check's numbers == compare's numbers on the same rows"
fi
n=$(q -c "SELECT count(*) FROM driftmon.column_history WHERE batch = 'b1'")
m=$(q -c "SELECT number_of_columns FROM driftmon.runs WHERE batch = 'b1'")
[ "$n" = "$m" ] && [ "$n" -gt 0 ] && ok "column_history has the run's $n columns" || bad "column_history" "$n vs $m"
hs=$(q -c "SELECT report_json_sha256 FROM driftmon.run WHERE batch = 'b1'")
[ -n "$hs" ] && [ -f "$json" ] && [ "$hs" = "$(sha256sum "$json" | cut -d' ' -f1)" ] && ok "stored report sha256 matches the file" || bad "report sha256"
html=$(sed -n 's/^html report: //p' "$W/check.out")
grep -q 'Time span</dt><dd>2026-01-15 12:00:00 .. 2026-01-15 12:00:00 UTC' "$html" 2>/dev/null &&
    ok "the report's header gives the batch's time span" || bad "the report's header gives the batch's time span"
d=$(q -c "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'b1'")
[ "$d" = "t" ] && ok "batch marked done" || bad "batch marked done" "$d"
in_reports=$(find "$W/reports" -name '*.dmp' | wc -l)
if [ "$in_reports" = 0 ] && [ -f "$CACHE/$h1.dmp" ] && [ "$(stat -c %a "$CACHE")" = 700 ] &&
    [ "$(stat -c %a "$XDG_CACHE_HOME")" = 700 ]; then
    ok "the reference cache is in \$XDG_CACHE_HOME/driftmon (created 0700), no .dmp among the reports"
else
    bad "the reference cache leaves the reports directory" "$in_reports .dmp in reports; $(ls -la "$CACHE" 2>&1 | head -5)"
fi
[ ! -e "$old_cache" ] && [ -f "$W/reports/.reference-cache/notes.txt" ] &&
    ok "an old cache in the reports directory is removed (its profiles only)" ||
    bad "an old cache in the reports directory is removed" "$(ls -la "$W/reports/.reference-cache" 2>&1)"
rm -rf "$W/reports/.reference-cache"

# ---- the history page draws the last reports.history_runs runs and says how many it leaves
sed 's|"reports": {"dir": "\([^"]*\)"}|"reports": {"dir": "\1", "history_runs": 1}|' "$W/config.json" >"$W/c_hist.json"
"$DM" check b1 --config "$W/c_hist.json" >/dev/null 2>"$W/err" || bad "check b1 again" "$(cat "$W/err")"
total=$(q -c "SELECT count(*) FROM driftmon.runs WHERE reference_name = 'hc'")
last=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE reference_name = 'hc'")
# the page's name: "history-", the name's slug, 16 hex digits of its SHA-256 (reportdir.h)
hpage=$W/reports/history-hc-$(printf hc | sha256sum | cut -c1-16).html
links=$(grep -o 'href="run-[0-9]*\.html"' "$hpage" 2>/dev/null | sort -u | tr '\n' ' ')
if [ "$total" -ge 2 ] && grep -q "The last 1 of $total runs" "$hpage" &&
    [ "$links" = "href=\"run-$last.html\" " ]; then
    ok "history_runs 1: the page draws the last run of $total and says so"
else
    bad "history_runs 1" "total $total, last $last, links: $links"
fi

# window check
if "$DM" check --since '2026-01-15 00:00+00' --until '2026-01-16 00:00+00' "${C[@]}" >"$W/win.out" 2>"$W/err" &&
    [ "$(q -c "SELECT count(*) FROM driftmon.runs WHERE window_start IS NOT NULL")" = 1 ]; then
    ok "window check --since/--until"
else
    bad "window check --since/--until" "$(cat "$W/err")"
fi

# ---- append-only -------------------------------------------------------------------------
if ! q -c "UPDATE driftmon.column_result SET drift_score = 0" 2>/dev/null &&
    ! q -c "DELETE FROM driftmon.column_result" 2>/dev/null &&
    ! q -c "DELETE FROM driftmon.run" 2>/dev/null; then
    ok "UPDATE and DELETE on results refused"
else
    bad "UPDATE and DELETE on results refused"
fi

# ---- bad input: exit 2, naming the object ---------------------------------------------
expect() { # CODE LABEL FRAGMENT CMD...
    local code=$1 label=$2 frag=$3
    shift 3
    "$@" >"$W/o" 2>"$W/e"
    local rc=$?
    if [ $rc = "$code" ] && grep -qF -- "$frag" "$W/e"; then ok "$label"; else bad "$label" "rc=$rc $(cat "$W/e")"; fi
}
expect 2 "a batch with no rows" '"nope"' "$DM" check nope "${C[@]}"
sed 's/"applications"/"no_such_table"/' "$W/config.json" >"$W/c_table.json"
expect 2 "unknown table" "no_such_table" "$DM" check b1 --config "$W/c_table.json"
sed 's/"batch_id"/"no_such_col"/' "$W/config.json" >"$W/c_col.json"
expect 2 "unknown batch column" "no_such_col" "$DM" check b1 --config "$W/c_col.json"
sed 's/"name": "hc"/"name": "ghost"/' "$W/config.json" >"$W/c_ref.json"
expect 2 "reference that does not exist" '"ghost"' "$DM" check b1 --config "$W/c_ref.json"
runs_before=$(q -c "SELECT count(*) FROM driftmon.run")
PGPORT=1 expect 1 "database down: exit 1" "" "$DM" check b1 "${C[@]}"
cat >"$W/c_pw.json" <<EOF
{"database": {"conninfo": "host=$PGHOST port=$PGPORT dbname=driftmon user=nobody_here password=s3cr3tpw"},
 "source": {"table": "applications", "batch_column": "batch_id"}, "reference": {"name": "hc"}}
EOF
"$DM" check b1 --config "$W/c_pw.json" >"$W/o" 2>"$W/e"
rc=$?
if [ $rc = 1 ] && ! grep -q s3cr3tpw "$W/e" && grep -q nobody_here "$W/e"; then
    ok "login refused: exit 1, the password never printed"
else
    bad "login refused: exit 1, the password never printed" "rc=$rc $(cat "$W/e")"
fi
[ "$(q -c "SELECT count(*) FROM driftmon.run")" = "$runs_before" ] && ok "failed checks wrote no run" || bad "failed checks wrote no run"

# a column whose type changed (numeric in the reference, text now): skipped with the reason
numcol=$($PY -c 'import pandas as pd,sys; d=pd.read_csv(sys.argv[1]); print([c for c in d.columns if d[c].dtype.kind=="f"][0])' "$CUR")
q -c "CREATE TABLE apps2 AS SELECT * FROM applications; ALTER TABLE apps2 ALTER COLUMN \"$numcol\" TYPE text; UPDATE apps2 SET \"$numcol\" = 'x' || \"$numcol\", batch_id = 'b2'"
sed 's/"applications"/"apps2"/' "$W/config.json" >"$W/c_apps2.json"
if "$DM" check b2 --config "$W/c_apps2.json" >"$W/o" 2>"$W/e"; then
    j=$(sed -n 's/^json report: //p' "$W/o")
    if $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); m=r["skipped_columns"][sys.argv[2]]; assert "text" in m, m' "$j" "$numcol"; then
        ok "type changed (numeric then, text now): skipped with the reason"
    else
        bad "type changed: skipped with the reason"
    fi
else
    bad "type changed: skipped with the reason" "$(cat "$W/e")"
fi

# ---- kill -9 during a check: whole runs or nothing -----------------------------------------
"$GEN" --rows 60000 --seed 21 --no-target --format tsv-copy --no-header -o "$W/big.tsv" 2>/dev/null
gcols=$("$GEN" --rows 1 --seed 21 --no-target | head -1)
if [ -s "$W/big.tsv" ] && [ "$(echo "$gcols" | tr ',' '\n' | wc -l)" -gt 10 ]; then
    "$GEN" --schema apps_big --rows 1 --seed 21 --no-target >"$W/big.sql" 2>/dev/null
    q -f "$W/big.sql" && q -c "ALTER TABLE apps_big ADD COLUMN batch_id text DEFAULT 'big'" &&
        q -c "\\copy apps_big ($(qcols "$gcols")) FROM '$W/big.tsv'"
    "$GEN" --rows 20000 --seed 22 -o "$W/gref.csv"
    "$DM" reference load "$W/gref.csv" --name gen "${C[@]}" >/dev/null
    sed -e 's/"applications"/"apps_big"/' -e 's/"name": "hc"/"name": "gen"/' "$W/config.json" >"$W/c_big.json"
    completed=0
    for delay in 0.05 0.2 0.35 0.5 0.8 1.2 1.6 2.5; do
        "$DM" check big --config "$W/c_big.json" >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        q -c "UPDATE driftmon.batch SET done_at = NULL WHERE false" >/dev/null
    done
    partial=$(q -c "SELECT count(*) FROM driftmon.run r WHERE r.number_of_columns <> (SELECT count(*) FROM driftmon.column_result c WHERE c.run_id = r.id)")
    completed=$(q -c "SELECT count(*) FROM driftmon.run WHERE batch = 'big'")
    if [ "$partial" = 0 ]; then
        ok "kill -9 at 8 points during a check: no partial run ($completed completed before the kill)"
    else
        bad "kill -9 during a check left partial runs" "$partial"
    fi
else
    bad "kill -9 test: could not generate data"
fi
# ---- the local copy of the stored reference ------------------------------------------------
cache="$CACHE/$h1.dmp"
[ -f "$cache" ] && ok "the stored reference is kept as a verified local copy" || bad "reference cache" "$(ls -la "$CACHE" 2>&1)"
if [ -f "$cache" ]; then
    printf '\x01' | dd of="$cache" bs=1 seek=4000 conv=notrunc 2>/dev/null
    q -c "INSERT INTO driftmon.batch (batch) VALUES ('b3')" >/dev/null
    q -c "UPDATE applications SET batch_id = 'b3' WHERE batch_id = 'b1'"
    if "$DM" check b3 "${C[@]}" >"$W/b3.out" 2>"$W/err"; then
        j3=$(sed -n 's/^json report: //p' "$W/b3.out")
        $PY -c 'import json,sys; a,b=(json.load(open(p))["drift_by_columns"] for p in sys.argv[1:3]); assert a==b' "$j3" "$json" &&
            ok "a damaged local copy is ignored: same numbers from the database" ||
            bad "a damaged local copy is ignored"
        # the copy is verified as it is read: the change (a low bit of a value) is found
        # there, logged, and the reference read from the database instead
        grep -q 'does not match its sha256.*reading reference .* from the database instead' "$W/err" &&
            ok "the damage is found when the copy is read, and logged" ||
            bad "the damage is found when the copy is read, and logged" "$(cat "$W/err")"
        [ -f "$cache" ] && "$DM" compare "$cache" "$CUR" --quiet >/dev/null 2>"$W/err2" &&
            ok "the damaged local copy was replaced by a good one" ||
            bad "the damaged local copy was replaced by a good one" "$(cat "$W/err2")"
    else
        bad "a damaged local copy is ignored" "$(cat "$W/err")"
    fi
fi
# a stored profile changed behind driftmon's back is refused (the cache removed first)
rm -rf "$CACHE"
q -c "ALTER TABLE driftmon.reference_column DISABLE TRIGGER USER" \
    -c "UPDATE driftmon.reference_column SET profile = set_byte(profile, 40 + octet_length(name) + 8 * 3,
          (get_byte(profile, 40 + octet_length(name) + 8 * 3) # 1))
        WHERE reference_id = (SELECT max(id) FROM driftmon.reference WHERE name = 'hc')
          AND name = 'AMT_INCOME_TOTAL'" \
    -c "ALTER TABLE driftmon.reference_column ENABLE TRIGGER USER"
q -c "UPDATE applications SET batch_id = 'b4' WHERE batch_id = 'b3'"
expect 1 "a tampered stored reference is refused" "do not match its sha256" "$DM" check b4 "${C[@]}"

# a batch big enough to be read as two halves of its block range on two connections
# (database.copy_streams = 2): the same numbers as `compare` on the same rows (the generator
# makes them again as CSV), and as one stream (the default)
same_columns() { # two JSON reports: the same columns, tests, scores and verdicts
    $PY - "$1" "$2" <<'PYEOF'
import json, sys
a, b = (json.load(open(p))["drift_by_columns"] for p in sys.argv[1:3])
assert set(a) == set(b), set(a) ^ set(b)
for k in a:
    for f in ("stattest", "drift_score", "drift_detected", "current"):
        assert a[k][f] == b[k][f], (k, f, a[k][f], b[k][f])
PYEOF
}
# with_db IN JSON OUT: config IN with JSON merged into its "database" section, written to OUT
with_db() {
    $PY -c 'import json, sys
c = json.load(open(sys.argv[1]))
c.setdefault("database", {}).update(json.loads(sys.argv[2]))
json.dump(c, open(sys.argv[3], "w"))' "$1" "$2" "$3"
}
if [ -s "$W/big.tsv" ]; then
    blocks=$(q -c "SELECT (max(ctid)::text::point)[0] - (min(ctid)::text::point)[0] FROM apps_big")
    "$GEN" --rows 60000 --seed 21 --no-target -o "$W/big.csv"
    with_db "$W/c_big.json" '{"copy_streams": 2}' "$W/c_big2.json"
    with_db "$W/c_big.json" '{"copy_streams": 1}' "$W/c_big1.json"
    for streams in 2 1; do
        if "$DM" check big --config "$W/c_big$streams.json" >"$W/big.out" 2>"$W/err"; then
            jb=$(sed -n 's/^json report: //p' "$W/big.out")
            "$DM" compare "$W/gref.csv" "$W/big.csv" --config "$W/c_big.json" --json "$W/big_cmp.json" --quiet 2>>"$W/err"
            if [ "$blocks" -ge 256 ] && same_columns "$jb" "$W/big_cmp.json"; then
                ok "a batch over $blocks blocks read over $streams connection(s) == compare on the same rows"
            else
                bad "a batch read over $streams connection(s) == compare on the same rows" "blocks=$blocks $(cat "$W/err")"
            fi
        else
            bad "a batch read over $streams connection(s) == compare on the same rows" "$(cat "$W/err")"
        fi
    done
    # the same rows again as batch big2 of a table that holds three older batches before it,
    # indexed on batch_id as a batch table is: each half is bounded on both sides, so the
    # check reads big2's blocks (once for the range, once for the rows), not the blocks before
    # it too (the lower half was open below, and read the table from block 0)
    # (no autovacuum on it: a vacuum or analyze of its ~26,000 blocks during the count, started
    # by the updates' statistics arriving after the ANALYZE below, once made the count 66,293)
    q -c "CREATE TABLE apps_seq (LIKE apps_big) WITH (autovacuum_enabled = off)" \
        -c "INSERT INTO apps_seq SELECT * FROM apps_big WHERE batch_id = 'big'" \
        -c "INSERT INTO apps_seq SELECT * FROM apps_seq" \
        -c "INSERT INTO apps_seq SELECT * FROM apps_big WHERE batch_id = 'big'" \
        -c "UPDATE apps_seq SET batch_id = 'old'" -c "VACUUM FULL apps_seq" \
        -c "INSERT INTO apps_seq SELECT * FROM apps_big WHERE batch_id = 'big'" \
        -c "UPDATE apps_seq SET batch_id = 'big2' WHERE batch_id = 'big'" -c "VACUUM FULL apps_seq" \
        -c "CREATE INDEX ON apps_seq (batch_id)" -c "ANALYZE apps_seq"
    sed -e 's/"apps_big"/"apps_seq"/' "$W/c_big2.json" >"$W/c_seq.json"
    range=$(q -c "SELECT (min(ctid)::text::point)[0] || ' ' || (max(ctid)::text::point)[0]
                       FROM apps_seq WHERE batch_id = 'big2'")
    lo=${range% *}
    hi=${range#* }
    blks() { q -c "SELECT heap_blks_read + heap_blks_hit FROM pg_statio_user_tables
                        WHERE relname = 'apps_seq'"; }
    # the servers' backends report their block counts when they exit: wait until they have
    settle() {
        local a b i
        b=$(blks)
        for i in $(seq 50); do
            sleep 0.2
            a=$b
            b=$(blks)
            [ "$a" = "$b" ] && [ "$b" != "$1" ] && break
        done
        echo "$b"
    }
    # the JSON report of a check run as given (stderr in $W/err), or nothing when it failed
    report_of() { "$@" >"$W/run.out" 2>"$W/err" && sed -n 's/^json report: //p' "$W/run.out"; }
    before=$(settle "")
    jb=$(report_of "$DM" check big2 --config "$W/c_seq.json")
    used=$(($(settle "$before") - before))
    if [ -n "$jb" ] && [ "$lo" -gt 1000 ] && [ "$used" -le $((2 * (hi - lo + 1) + 200)) ] &&
        same_columns "$jb" "$W/big_cmp.json"; then
        ok "a batch in blocks $lo-$hi read in two halves: $used block reads, not the $lo blocks before it"
    else
        bad "a batch after another read in two bounded halves" "blocks $lo-$hi, $used block reads $(cat "$W/err")"
    fi
    # a role allowed two connections: the check's own and one more; a half whose connection
    # is refused is read on the check's own connection, in the same snapshot: same numbers
    q -c "CREATE ROLE dm_lim LOGIN CONNECTION LIMIT 2" -c "GRANT postgres, driftmon_daemon TO dm_lim"
    jl=$(PGUSER=dm_lim report_of "$DM" check big --config "$W/c_big2.json")
    if [ -n "$jl" ] && grep -q 'no second connection for the batch' "$W/err" &&
        same_columns "$jl" "$W/big_cmp.json"; then
        ok "a refused second connection: that half read on the first, same numbers"
    else
        bad "a refused second connection: that half read on the first" "$(cat "$W/err")"
    fi
    # the statements a check sends, from the server's log (log_statement for driftmon's
    # sessions only): the default reads with one COPY, warmed first, and nothing else;
    # copy_streams 2 adds the snapshot and the block range; warm_backend false drops the warm-up
    statements() { # CONFIG: the check's statements in $W/stmts, its report on stdout
        local from
        from=$(($(stat -c %s "$dir/log") + 1))
        PGOPTIONS="-c log_statement=all" report_of "$DM" check big --config "$1"
        tail -c "+$from" "$dir/log" >"$W/stmts"
    }
    with_db "$W/c_big.json" '{"copy_streams": 2, "warm_backend": true}' "$W/c_big_opt.json"
    with_db "$W/c_big.json" '{"warm_backend": false}' "$W/c_big_cold.json"
    jd=$(statements "$W/c_big.json")
    if [ -n "$jd" ] && [ "$(grep -c 'COPY (SELECT' "$W/stmts")" = 1 ] &&
        grep -q 'octet_length(pg_catalog.repeat' "$W/stmts" &&
        ! grep -qE 'pg_export_snapshot|ctid|EXPLAIN' "$W/stmts" &&
        same_columns "$jd" "$W/big_cmp.json"; then
        ok "by default one COPY, warmed first: no snapshot export, block range or estimate query"
    else
        bad "by default one warmed COPY and no other read query" "$(grep -E 'COPY|pg_export_snapshot|ctid|EXPLAIN|octet_length' "$W/stmts" | head -5) $(cat "$W/err")"
    fi
    # one catalog lookup per table per check: one statement reads pg_attribute and one
    # resolves the name (to_regclass / ::regclass), with one stream and with two
    catalog_once() { [ "$(grep -c 'pg_attribute' "$W/stmts")" = 1 ] && [ "$(grep -cE 'to_regclass|::regclass' "$W/stmts")" = 1 ]; }
    if [ -n "$jd" ] && catalog_once; then
        ok "a check looks its table up in the catalog once"
    else
        bad "a check looks its table up in the catalog once" "$(grep -E 'pg_attribute|regclass' "$W/stmts" | head -6)"
    fi
    jc=$(statements "$W/c_big_cold.json")
    if [ -n "$jc" ] && grep -q 'COPY (SELECT' "$W/stmts" && ! grep -q 'octet_length' "$W/stmts" &&
        same_columns "$jc" "$W/big_cmp.json"; then
        ok "database.warm_backend = false: the COPY alone, same numbers"
    else
        bad "database.warm_backend = false: the COPY alone" "$(grep -E 'octet_length' "$W/stmts" | head -3) $(cat "$W/err")"
    fi
    jo=$(statements "$W/c_big_opt.json")
    if [ -n "$jo" ] && [ "$(grep -c 'COPY (SELECT' "$W/stmts")" = 2 ] && grep -q 'pg_export_snapshot' "$W/stmts" &&
        grep -q 'octet_length(pg_catalog.repeat' "$W/stmts" && same_columns "$jo" "$W/big_cmp.json"; then
        ok "database.copy_streams = 2 and warm_backend: two COPYs of the halves, each warmed first"
    else
        bad "database.copy_streams = 2 and warm_backend" "$(grep -c 'COPY (SELECT' "$W/stmts") COPYs $(cat "$W/err")"
    fi
    if [ -n "$jo" ] && catalog_once; then
        ok "database.copy_streams = 2: the table looked up in the catalog once"
    else
        bad "database.copy_streams = 2: the table looked up in the catalog once" "$(grep -E 'pg_attribute|regclass' "$W/stmts" | head -6)"
    fi
    # the warm-up is best effort: a server that refuses it (here: repeat() not granted to the
    # role) costs a warning, never the check
    q -c "CREATE ROLE dm_nowarm LOGIN" -c "GRANT pg_read_all_data, driftmon_daemon TO dm_nowarm" \
        -c "REVOKE EXECUTE ON FUNCTION pg_catalog.repeat(text, integer) FROM PUBLIC"
    jw=$(PGUSER=dm_nowarm report_of "$DM" check big --config "$W/c_big_opt.json")
    q -c "GRANT EXECUTE ON FUNCTION pg_catalog.repeat(text, integer) TO PUBLIC"
    if [ -n "$jw" ] && grep -q 'could not warm the backend' "$W/err" && same_columns "$jw" "$W/big_cmp.json"; then
        ok "a refused warm-up is logged and the check goes on: same numbers"
    else
        bad "a refused warm-up is logged and the check goes on" "$(cat "$W/err")"
    fi
fi

# ---- serve's log: where it connected, and why it could not --------------------------------
# with_conninfo CONNINFO OUT: the main config with database.conninfo = CONNINFO
with_conninfo() {
    $PY -c 'import json,sys; c=json.load(open(sys.argv[1])); c["database"]={"conninfo": sys.argv[2]}
json.dump(c, open(sys.argv[3], "w"))' "$W/config.json" "$1" "$2"
}
# serve_until PATTERN ARGS...: run serve with ARGS, its log in $W/serve.log (appended), until
# the log holds PATTERN (10 s at most), then stop it
serve_until() {
    local pat=$1 spid
    shift
    "$DM" serve "$@" >>"$W/serve.log" 2>&1 &
    spid=$!
    for _ in $(seq 1 100); do
        grep -q -- "$pat" "$W/serve.log" && break
        sleep 0.1
    done
    kill -TERM "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
}
# the connect line, logged on every connect, shows the secrets libpq marks as ****.  Its own
# database, so that nothing is pending for it; trust authentication and a Unix socket: the
# password and the key's passphrase are given but never needed
q -c "CREATE DATABASE dm_serve"
for ci in "host=$PGHOST port=$PGPORT dbname=dm_serve sslpassword=secret password=secret" \
    "postgresql:///dm_serve?host=$PGHOST&port=$PGPORT&ssl%70assword=secret&pass%77ord=secret"; do
    with_conninfo "$ci" "$W/c_serve.json"
    : >"$W/serve.log"
    "$DM" init --config "$W/c_serve.json" >/dev/null 2>>"$W/serve.log"
    serve_until 'listening on driftmon_batch' --config "$W/c_serve.json" --poll 30
    line=$(grep 'listening on driftmon_batch' "$W/serve.log")
    if [[ $line =~ [\"\ ]sslpassword=\*{4}[\"\ ] && $line =~ [\"\ ]password=\*{4}[\"\ ] ]] &&
        ! grep -q secret "$W/serve.log"; then
        ok "serve's connect line with $ci: sslpassword=**** password=****"
    else
        bad "serve's connect line with $ci: sslpassword=**** password=****" "$(cat "$W/serve.log")"
    fi
done
# a database without driftmon's schema: the server's reason, on one line, after what failed
q -c "CREATE DATABASE dm_bare"
with_conninfo "host=$PGHOST port=$PGPORT dbname=dm_bare" "$W/c_bare.json"
: >"$W/serve.log"
serve_until 'release old leases' --config "$W/c_bare.json" --reconnect-cap 0.2
if grep -q 'reason="could not release old leases (is the schema initialised? run `driftmon init`): ERROR:  schema \\"driftmon\\" does not exist' "$W/serve.log"; then
    ok "serve on a database without the schema: says so, with the server's reason"
else
    bad "serve on a database without the schema: says so, with the server's reason" "$(tail -3 "$W/serve.log")"
fi

chain=$(q -c "SELECT count(*) FROM driftmon.verify_chain()")
[ "$chain" = 0 ] && ok "hash chain intact" || bad "hash chain intact" "$chain broken links"

finish

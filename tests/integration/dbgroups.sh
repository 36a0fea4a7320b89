#!/usr/bin/env bash
# dbgroups.sh - `driftmon check` by column groups (issue 20): a batch whose numeric values
# would pass limits.memory is counted and read in one REPEATABLE READ snapshot, by one COPY
# whose groups of columns after the first are spilled to a spill file (monitor/spill.h), and
# compared group by group; the results must be those of the whole read, byte for byte.  Against a real PostgreSQL 15 (tests/pg/cluster.sh).  No mocks.  For each data
# set, the same batch is checked twice, with the default limits.memory (1 GiB: one read) and
# with limits.memory "1 MiB" (less than the budget's fixed part: one numeric column per
# group), and:
#   - the 1 MiB run says it read by groups, one group per numeric column, and the server
#     scanned the table once to count and once for all the groups (pg_stat_user_tables.
#     seq_scan: no index on the batch column), while the default run read it in one COPY;
#   - the two runs' stored column results (driftmon.column_history: every field but the run's
#     id, time and chain hashes) and skipped columns are equal, and so are their JSON reports
#     once the fields that name the run (run id, times, chain head, report paths) are dropped;
# on generated Home-Credit-shaped rows with the model's score and importances (cross-column
# parts: the weighted share, the score's drift), plus a numeric column with no value in the
# batch, one with only infinities, and a text column that holds numbers; and on the real
# Home Credit samples (train head 5000 as the reference table, test random 1000 as the
# batch) when ../shared has them (else reported as skipped); and `driftmon serve` with
# limits.memory 1 MiB on two batches of the generated rows under other names; and the
# generated batch by groups over two COPY streams (database.copy_streams 2: a spill file
# each, merged), and with no spill file (TMPDIR missing: one COPY per group, as before).
# A driftmon without the grouped read fails the "read by groups" checks.  KEEP=1 keeps the
# work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
SHARED=${DM_SHARED:-../shared}
results_name=dbgroups
. tests/lib/results.sh

. tests/lib/pg.sh
dpid=
pg_cleanup_extra() { # the daemon of the serve part, if the script ends while it runs
    [ -z "$dpid" ] || kill -9 "$dpid" 2>/dev/null
}
pg_setup dbg
export XDG_CACHE_HOME=$W/xdg
unset CACHE_DIRECTORY

# config NAME TABLE REFERENCE [EXTRA]: a config file for checks of TABLE against REFERENCE
config() {
    cat >"$W/$1.json" <<EOF
{
  "source": {"table": "$2", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "$3"},
  "reports": {"dir": "$W/reports-$1"},
  "retrain": {"fraction": 0.5}${4:+,
  $4}
}
EOF
}

# compare_runs LABEL TABLE REFERENCE BATCH [EXTRA]: the batch checked with the default
# limits.memory and with 1 MiB; the two runs compared
compare_runs() {
    local label=$1 table=$2 ref=$3 batch=$4 extra=${5:-}
    config "$label-whole" "$table" "$ref" "$extra"
    config "$label-groups" "$table" "$ref" "${extra:+$extra, }\"limits\": {\"memory\": \"1 MiB\"}"
    local nnum scans0 scans1 scans2
    nnum=$(q -c "SELECT count(*) FROM information_schema.columns
                 WHERE table_name = '$table' AND data_type IN ('double precision', 'bigint', 'integer', 'numeric', 'real', 'smallint')")
    scans0=$(q -c "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = '$table'")
    if ! "$DM" check "$batch" --config "$W/$label-whole.json" >"$W/$label-whole.out" 2>"$W/$label-whole.err"; then
        bad "$label: check $batch (default limits.memory)" "$(cat "$W/$label-whole.err")"
        return
    fi
    sleep 0.6 # pg_stat_user_tables: the backend's counters reach it when its transactions end
    scans1=$(q -c "SELECT pg_stat_clear_snapshot(); SELECT seq_scan FROM pg_stat_user_tables WHERE relname = '$table'" | tail -n 1)
    if ! "$DM" check "$batch" --config "$W/$label-groups.json" >"$W/$label-groups.out" 2>"$W/$label-groups.err"; then
        bad "$label: check $batch (limits.memory 1 MiB)" "$(cat "$W/$label-groups.err")"
        return
    fi
    sleep 0.6
    scans2=$(q -c "SELECT pg_stat_clear_snapshot(); SELECT seq_scan FROM pg_stat_user_tables WHERE relname = '$table'" | tail -n 1)
    local groups
    groups=$(sed -n 's/.*reading the rows by column groups.* groups=\([0-9]*\).*/\1/p' "$W/$label-groups.err")
    if grep -q "reading the rows by column groups" "$W/$label-whole.err"; then
        bad "$label: the default limits.memory reads the batch whole" "$(grep 'column groups' "$W/$label-whole.err")"
    else
        ok "$label: the default limits.memory reads the batch whole"
    fi
    # the numeric columns less the two key columns' (none numeric) and the excluded none
    if [ -n "$groups" ] && [ "$groups" -eq "$nnum" ]; then
        ok "$label: limits.memory 1 MiB reads the batch in $groups groups, one per numeric column"
    else
        bad "$label: limits.memory 1 MiB reads the batch in one group per numeric column ($nnum)" \
            "got groups=\"$groups\": $(grep -i 'group' "$W/$label-groups.err" | head -3)"
    fi
    # whole: check_target's LIMIT 0 scans nothing; the COPY and the time span scan once each;
    # by groups, the rows counted first, then one COPY for every group (the groups after the
    # first spilled, monitor/spill.h), not one per group
    local dw=$((scans1 - scans0)) dg=$((scans2 - scans1))
    if [ "$dg" -eq "$((dw + 1))" ]; then
        ok "$label: the server scanned the table once for all $groups groups, and once to count ($dg scans, $dw for the whole read)"
    else
        bad "$label: the server scanned the table once for all groups, and once to count" "$dg scans grouped, $dw whole, $nnum numeric columns"
    fi
    local a b
    a=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = '$batch' AND report_json LIKE '$W/reports-$label-whole/%'")
    b=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = '$batch' AND report_json LIKE '$W/reports-$label-groups/%'")
    # every stored field of a column result (driftmon.column_result) but the run's own: run id,
    # chain hashes, and seq, which goes in as the result's place in its run
    local diff ncol
    cols=$(q -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
                 FROM information_schema.columns
                 WHERE table_schema = 'driftmon' AND table_name = 'column_result'
                   AND column_name NOT IN ('run_id', 'seq', 'prev_hash', 'row_hash')")
    res() { echo "SELECT $cols, seq - (SELECT min(seq) FROM driftmon.column_result WHERE run_id = $1) AS place
                  FROM driftmon.column_result WHERE run_id = $1"; }
    diff=$(q -c "SELECT count(*) FROM (($(res "$a")) EXCEPT ALL ($(res "$b"))
                                      UNION ALL (($(res "$b")) EXCEPT ALL ($(res "$a")))) d" 2>&1)
    ncol=$(q -c "SELECT count(*) FROM driftmon.column_result WHERE run_id = $a")
    if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && [ "$diff" = 0 ] && [ "$ncol" -gt 0 ]; then
        ok "$label: the stored column results are equal ($ncol columns, in the same order; fields: $cols)"
    else
        bad "$label: the stored column results are equal" "runs $a / $b: $diff rows differ, $ncol columns"
    fi
    local ja jb
    ja=$(sed -n 's/^json report: //p' "$W/$label-whole.out")
    jb=$(sed -n 's/^json report: //p' "$W/$label-groups.out")
    if [ -f "$ja" ] && [ -f "$jb" ] && $PY - "$ja" "$jb" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
# the fields that name the run, not its results: dropped wherever they are
RUN = {"run_id", "generated_at", "chain_head", "report_html", "report_json", "started_at", "finished_at"}
dropped = set()
def strip(x):
    if isinstance(x, dict):
        for k in list(x):
            if k in RUN:
                dropped.add(k)
                del x[k]
            else:
                strip(x[k])
    elif isinstance(x, list):
        for v in x:
            strip(v)
strip(a)
strip(b)
assert a == b, [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
assert len(a["drift_by_columns"]) > 0
print(f"     {len(a['drift_by_columns'])} columns, {len(a['skipped_columns'])} skipped, "
      f"{a['number_of_drifted_columns']} drifted; dropped before comparing: {sorted(dropped)}")
EOF
        ok "$label: the JSON reports are equal but for the run's id, times and chain head"
    else
        bad "$label: the JSON reports are equal but for the run's id, times and chain head" "$ja / $jb"
    fi
    # the HTML report too: its plots are drawn while each group is in memory
    local ha hb
    ha=$(sed -n 's/^html report: //p' "$W/$label-whole.out")
    hb=$(sed -n 's/^html report: //p' "$W/$label-groups.out")
    if [ -f "$ha" ] && [ -f "$hb" ] && $PY - "$ha" "$hb" <<'EOF'; then
import re, sys
def norm(p):
    t = open(p, encoding="utf-8").read()
    t = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", t)
    return re.sub(r"run[- ]\d+", "run N", t)
a, b = norm(sys.argv[1]), norm(sys.argv[2])
assert a == b, next(i for i in range(min(len(a), len(b))) if a[i] != b[i])
assert a.count("<svg") > 50, a.count("<svg")
print(f"     {len(a)} bytes, {a.count('<svg')} plots")
EOF
        ok "$label: the HTML reports are equal but for the run's time and id"
    else
        bad "$label: the HTML reports are equal but for the run's time and id" "$ha / $hb"
    fi
}

# ---- generated rows -----------------------------------------------------------------------
for t in train_gen apps_gen; do
    "$GEN" --schema "$t" --no-target --score >"$W/$t.sql"
    q -f "$W/$t.sql" >/dev/null || { bad "could not create table $t"; finish; }
    # a numeric column with no value in the batch, one with only infinities in it, and a text
    # column whose values are numbers
    q -c "ALTER TABLE $t ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
          ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00',
          ADD COLUMN no_value float8, ADD COLUMN only_inf float8, ADD COLUMN num_text text,
          SET (autovacuum_enabled = off)"
done
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/apps_gen.sql" | paste -sd, -)
"$GEN" --rows 3000 --seed 1 --no-target --score --importance-out "$W/imp.csv" --format tsv-copy --no-header -o "$W/ref.tsv"
"$GEN" --rows 4000 --seed 2 --no-target --score --revolving-share 0.02 --drift AMT_CREDIT=1.3 \
    --format tsv-copy --no-header -o "$W/cur.tsv"
{
    echo "COPY train_gen ($cols) FROM STDIN;"
    cat "$W/ref.tsv"
    echo '\.'
    echo "UPDATE train_gen SET no_value = random(), only_inf = random(), num_text = (\"SK_ID_CURR\" % 97)::text;"
    echo "BEGIN; SET LOCAL dm.batch = 'g1';"
    echo "COPY apps_gen ($cols) FROM STDIN;"
    cat "$W/cur.tsv"
    echo '\.'
    echo "UPDATE apps_gen SET only_inf = 'Infinity', num_text = (\"SK_ID_CURR\" % 89)::text; COMMIT;"
} | q >/dev/null || { bad "could not load the generated rows"; finish; }
config init apps_gen gen
"$DM" init --config "$W/init.json" >/dev/null 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
"$DM" reference load --table train_gen --name gen --config "$W/init.json" >/dev/null 2>"$W/refload.err" ||
    { bad "reference load --table train_gen" "$(cat "$W/refload.err")"; finish; }
compare_runs gen apps_gen gen g1 "\"model\": {\"score_column\": \"score\", \"importance\": \"$W/imp.csv\"}"
# the special columns went where the whole read puts them
jb=$(sed -n 's/^json report: //p' "$W/gen-groups.out")
if [ -f "$jb" ] && $PY - "$jb" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
s, d = r["skipped_columns"], r["drift_by_columns"]
assert "every value missing" in s["no_value"], s.get("no_value")
assert "no finite value in current" in s["only_inf"], s.get("only_inf")
assert "num_text" in d, sorted(s)
# the cross-column parts were there to get wrong: the score's drift and the weighted share
assert isinstance(r["prediction_drift"]["psi"], float), r["prediction_drift"]
assert isinstance(r["importance_weighted_share"], float), r["importance_weighted_share"]
EOF
    ok "gen: a column without values and one of infinities are skipped as the whole read skips them; the score's drift and the weighted share are there"
else
    bad "gen: a column without values and one of infinities are skipped as the whole read skips them"
fi

# ---- serve: the daemon reads big batches by groups too ---------------------------------------
# two batches of g1's rows under other names, read by one daemon with limits.memory 1 MiB (the
# second against the reference it keeps): their column results and reports are the whole
# read's of g1 but for the batch's name in the report's current source
FAST=(--lease 30 --poll 0.5 --retry-base 0.2 --retry-cap 1 --reconnect-cap 0.5)
"$DM" serve --config "$W/gen-groups.json" "${FAST[@]}" 2>"$W/serve.log" &
dpid=$!
for bt in g2 g3; do
    q -c "BEGIN; CREATE TEMP TABLE t ON COMMIT DROP AS SELECT * FROM apps_gen WHERE batch_id = 'g1';
          UPDATE t SET batch_id = '$bt'; INSERT INTO apps_gen SELECT * FROM t;
          SELECT driftmon.submit_batch('$bt'); COMMIT;" >/dev/null
done
. tests/lib/wait.sh
wait_until 120 "SELECT count(*) = 2 FROM driftmon.run WHERE batch IN ('g2', 'g3')" >/dev/null
kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
a=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = 'g1' AND report_json LIKE '$W/reports-gen-whole/%'")
ja=$(q -c "SELECT report_json FROM driftmon.runs WHERE run_id = $a")
for bt in g2 g3; do
    b=$(q -c "SELECT run_id FROM driftmon.runs WHERE batch = '$bt'")
    jb=$(q -c "SELECT report_json FROM driftmon.runs WHERE run_id = ${b:-0}")
    n=$(grep -c "reading the rows by column groups" "$W/serve.log")
    same=$(q -c "SELECT count(*) FROM (($(res "$a")) EXCEPT ALL ($(res "${b:-0}"))
                                      UNION ALL (($(res "${b:-0}")) EXCEPT ALL ($(res "$a")))) d" 2>&1)
    if [ -n "$b" ] && [ "$n" -ge 2 ] && [ "$same" = 0 ] && $PY - "$ja" "$jb" "$bt" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    for k in ("generated_at", "chain_head"):
        r.pop(k, None)
assert b["current"]["source"] == "table apps_gen, batch " + sys.argv[3], b["current"]["source"]
b["current"]["source"] = a["current"]["source"]
assert a == b, [k for k in a if a.get(k) != b.get(k)]
EOF
        ok "serve: batch $bt read by groups (the daemon logged $n grouped reads for g2 and g3); results and JSON report those of the whole read of g1"
    else
        bad "serve: batch $bt read by groups; results and JSON report those of the whole read of g1" \
            "run ${b:-none}, $same rows differ, group reads logged $n: $(grep -E 'level=(error|warn)' "$W/serve.log" | tail -n 3)"
    fi
done

# the same by groups over two COPY streams (database.copy_streams 2): each stream spills to a
# spill file of its own, the two merged; results and reports again the whole read's
blocks=$(q -c "SELECT count(DISTINCT (ctid::text::point)[0]) FROM apps_gen WHERE batch_id = 'g1'")
if [ "${blocks:-0}" -ge 256 ]; then
    config gen-streams apps_gen gen "\"model\": {\"score_column\": \"score\", \"importance\": \"$W/imp.csv\"},
  \"limits\": {\"memory\": \"1 MiB\"}, \"database\": {\"copy_streams\": 2}"
    "$DM" check g1 --config "$W/gen-streams.json" >"$W/gen-streams.out" 2>"$W/gen-streams.err"
    a=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = 'g1' AND report_json LIKE '$W/reports-gen-whole/%'")
    b=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = 'g1' AND report_json LIKE '$W/reports-gen-streams/%'")
    same=$(q -c "SELECT count(*) FROM (($(res "$a")) EXCEPT ALL ($(res "${b:-0}"))
                                      UNION ALL (($(res "${b:-0}")) EXCEPT ALL ($(res "$a")))) d" 2>&1)
    ja=$(sed -n 's/^json report: //p' "$W/gen-whole.out")
    jb=$(sed -n 's/^json report: //p' "$W/gen-streams.out")
    if [ -n "$b" ] && [ "$same" = 0 ] && grep -q "reading the rows by column groups" "$W/gen-streams.err" &&
        [ -f "$jb" ] && $PY - "$ja" "$jb" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    for k in ("generated_at", "chain_head"):
        r.pop(k, None)
assert a == b, [k for k in a if a.get(k) != b.get(k)]
EOF
        ok "gen: by groups over two COPY streams ($blocks blocks), two spill files: results and JSON report those of the whole read"
    else
        bad "gen: by groups over two COPY streams, two spill files: results and JSON report those of the whole read" \
            "run ${b:-none}, $same rows differ: $(tail -n 3 "$W/gen-streams.err")"
    fi
else
    bad "gen: the batch spans $blocks blocks, too few for two COPY streams (256)"
fi

# and with no spill file (TMPDIR a directory that does not exist): the groups are read one
# COPY each, as before spill files, with a warning; results and reports the whole read's
nnum=$(q -c "SELECT count(*) FROM information_schema.columns
             WHERE table_name = 'apps_gen' AND data_type IN ('double precision', 'bigint', 'integer', 'numeric', 'real', 'smallint')")
scans0=$(q -c "SELECT pg_stat_clear_snapshot(); SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'apps_gen'" | tail -n 1)
TMPDIR=$W/no-such-dir "$DM" check g1 --config "$W/gen-groups.json" >"$W/gen-nospill.out" 2>"$W/gen-nospill.err"
sleep 0.6
scans1=$(q -c "SELECT pg_stat_clear_snapshot(); SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'apps_gen'" | tail -n 1)
a=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = 'g1' AND report_json LIKE '$W/reports-gen-whole/%'")
b=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE batch = 'g1' AND report_json LIKE '$W/reports-gen-groups/%'")
same=$(q -c "SELECT count(*) FROM (($(res "$a")) EXCEPT ALL ($(res "${b:-0}"))
                                  UNION ALL (($(res "${b:-0}")) EXCEPT ALL ($(res "$a")))) d" 2>&1)
ja=$(sed -n 's/^json report: //p' "$W/gen-whole.out")
jb=$(sed -n 's/^json report: //p' "$W/gen-nospill.out")
# the count, a COPY per numeric column, the time span
if [ -n "$b" ] && [ "$same" = 0 ] && grep -q "no spill file for the column groups" "$W/gen-nospill.err" &&
    [ "$((scans1 - scans0))" -ge "$((nnum + 1))" ] && [ -f "$jb" ] && $PY - "$ja" "$jb" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    for k in ("generated_at", "chain_head"):
        r.pop(k, None)
assert a == b, [k for k in a if a.get(k) != b.get(k)]
EOF
    ok "gen: no spill file: one COPY per group ($((scans1 - scans0)) scans, $nnum groups), with a warning; results and JSON report those of the whole read"
else
    bad "gen: no spill file: one COPY per group, with a warning; results and JSON report those of the whole read" \
        "run ${b:-none}, $same rows differ, $((scans1 - scans0)) scans: $(tail -n 3 "$W/gen-nospill.err")"
fi

# ---- the real Home Credit samples --------------------------------------------------------
S="$SHARED/data/homecredit-samples"
if [ -f "$S/application_train_head5000.csv" ] && [ -f "$S/application_test_random1000.csv" ]; then
    REF="$S/application_train_head5000.csv"
    CUR="$S/application_test_random1000.csv"
    cp "$REF" "$W/hc_ref.csv"
    cp "$CUR" "$W/hc_cur.csv"
    chmod 0644 "$W"/*.csv
    $PY tests/integration/csv2sql.py "$REF" hc_train >"$W/hc_train.sql"
    $PY tests/integration/csv2sql.py "$CUR" hc_apps "batch_id:text:'h1'" \
        "created_at:timestamptz:'2026-01-15 12:00+00'" >"$W/hc_apps.sql"
    qcols() { $PY -c 'import sys; print(",".join("\"%s\"" % c.replace("\"","\"\"") for c in sys.argv[1].split(",")))' "$1"; }
    cref=$(head -1 "$REF" | tr -d '\r\n\357\273\277')
    ccur=$(head -1 "$CUR" | tr -d '\r\n\357\273\277')
    if q -f "$W/hc_train.sql" -f "$W/hc_apps.sql" >/dev/null &&
        q -c "ALTER TABLE hc_apps SET (autovacuum_enabled = off)" &&
        q -c "\\copy hc_train ($(qcols "$cref")) FROM '$W/hc_ref.csv' WITH (FORMAT csv, HEADER true)" &&
        q -c "\\copy hc_apps ($(qcols "$ccur")) FROM '$W/hc_cur.csv' WITH (FORMAT csv, HEADER true)" &&
        "$DM" reference load --table hc_train --name hc --config "$W/init.json" >/dev/null 2>"$W/hcref.err"; then
        compare_runs hc hc_apps hc h1
    else
        bad "Home Credit samples: tables and reference" "$(cat "$W/hcref.err" 2>/dev/null)"
    fi
else
    skip "check by groups on the real Home Credit samples" "$S absent (they come from ../shared)"
fi
finish

#!/usr/bin/env bash
# badvalues.sh - bad values in the monitored table and runs with nothing to test (issue 16,
# items 1 and 2), against a real PostgreSQL started for the test.  No mocks.  Checks:
#   - a numeric column holding 1e400 and -1e400 (beyond the double range, which PostgreSQL's
#     own cast to float8 refuses): `check` counts them non-finite and drops them, exactly as
#     `compare` does with the same rows exported as CSV (same JSON numbers; the same stored
#     profile, bit for bit, from the table and from the CSV: values with up to 25 digits
#     and exponents from -30 to 30, 1e-400, the infinities and NaN);
#   - `check --since garbage`, `--since 2026-13-45`, a batch id of the wrong type for the
#     batch column, and a batch whose rows the server cannot produce (a view dividing by
#     zero): exit 2 with our own message naming the option, column or batch and the value;
#   - 1,000 rows whose every monitored column is NULL: `check` and `compare` exit 2 ("no
#     column could be tested"), no run is recorded;
#   - the daemon: a 1e400 row in the oldest window, an unreadable window and an all-NULL
#     window: every later window is still checked (window_done advances), the bad ones are
#     recorded without a run with their reason; an unreadable batch and an all-NULL batch
#     are given up at once (not retried), listed by driftmon.failed_checks and `driftmon
#     alerts`, and the batches after them are checked.
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
PY=/usr/bin/python3
results_name=badvalues
. tests/lib/results.sh

. tests/lib/pg.sh
dpid=
pg_cleanup_extra() {
    [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
}
pg_setup bad
. tests/lib/wait.sh

# ---- data ----------------------------------------------------------------------------------
# amt: amounts; cat: 3 categories; n2: decimals of 1 to 25 significant digits, exponents
# -30 .. 30 (both decoders' paths: the exact one and strtod's).  Deterministic (seed 16).
# rows.py KIND N SEED: TSV rows "amt<TAB>cat<TAB>n2<TAB>d" (\N = NULL); KIND normal | inf
# (rows 1 and 2: 1e400, -1e400; row 3: 1e-400; rows 4-6: Infinity, -Infinity, NaN) | div
# (row 1: d = 0) | null (every monitored column NULL).
cat >"$W/rows.py" <<'EOF'
import random, sys
kind, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
def dec():
    digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 25))).lstrip("0") or "0"
    e = rnd.randint(-30, 30)
    s = ("-" if rnd.random() < 0.3 else "") + digits
    return s + "e" + str(e) if rnd.random() < 0.5 else s + "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 8)))
for i in range(n):
    amt, cat, n2, d = "%.2f" % rnd.gauss(1000, 200), rnd.choice("xyz"), dec(), "1"
    if kind == "inf" and i < 6:
        amt = ["1e400", "-1e400", "1e-400", "Infinity", "-Infinity", "NaN"][i]
    if kind == "div" and i == 0:
        d = "0"
    if kind == "null":
        amt = cat = n2 = "\\N"
    print("\t".join((amt, cat, n2, d)))
EOF
{ echo "amt,cat,n2"; $PY "$W/rows.py" normal 600 1 | cut -f1-3 | tr '\t' ,; } >"$W/ref.csv"
q -c "CREATE TABLE ev (batch_id text, created_at timestamptz, amt numeric, cat text, n2 numeric, d numeric)" \
  -c "CREATE VIEW ev_v AS SELECT batch_id, created_at, amt, cat, n2 / d AS n2 FROM ev" \
  -c "CREATE TABLE evi (batch_id int, created_at timestamptz, amt numeric, cat text, n2 numeric)" ||
    { bad "could not create tables"; finish; }
# load BATCH TIMESTAMP KIND N SEED [TABLE]
load() {
    $PY "$W/rows.py" "$3" "$4" "$5" >"$W/rows.tsv"
    q -c "\\copy ev (amt, cat, n2, d) FROM '$W/rows.tsv'" &&
        q -c "UPDATE ev SET batch_id = '$1', created_at = '$2' WHERE batch_id IS NULL"
}
load b-inf '2100-01-01' inf 300 2 && load b-div '2100-01-01' div 300 3 &&
    load b-null '2100-01-01' null 1000 4 && load b-ok '2100-01-01' normal 300 5 ||
    { bad "could not load the rows"; finish; }
q -c "INSERT INTO evi SELECT 7, created_at, amt, cat, n2 FROM ev WHERE batch_id = 'b-ok'"
chmod 0644 "$W"/*.csv

cat >"$W/c.json" <<EOF
{"source": {"table": "ev_v", "batch_column": "batch_id", "timestamp_column": "created_at"},
 "reference": {"name": "bv"}, "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"},
 "retrain": {"fraction": 1}}
EOF
C=(--config "$W/c.json")
"$DM" init "${C[@]}" 2>"$W/init.err" || { bad "init" "$(cat "$W/init.err")"; finish; }
"$DM" reference load "$W/ref.csv" --name bv "${C[@]}" >/dev/null 2>"$W/ref.err" ||
    { bad "reference load" "$(cat "$W/ref.err")"; finish; }

# ---- 1e400 in a numeric column: non-finite, as in a CSV ------------------------------------
q -c "\\copy (SELECT amt, cat, n2 FROM ev_v WHERE batch_id = 'b-inf') TO '$W/inf.csv' WITH (FORMAT csv, HEADER true)"
"$DM" check b-inf "${C[@]}" >"$W/inf.out" 2>"$W/inf.err"
rc=$?
json=$(sed -n 's/^json report: //p' "$W/inf.out")
if [ "$rc" = 0 ] && [ -f "$json" ] && "$DM" compare "$W/ref.csv" "$W/inf.csv" --json "$W/inf_cmp.json" --quiet 2>>"$W/inf.err" &&
    $PY - "$json" "$W/inf_cmp.json" <<'EOF'; then
import json, sys
chk, cmp = (json.load(open(p)) for p in sys.argv[1:3])
a, b = chk["drift_by_columns"], cmp["drift_by_columns"]
assert set(a) == set(b) == {"amt", "cat", "n2"}, (set(a), set(b))
# 1e400, -1e400, Infinity, -Infinity: non-finite; NaN: missing (pandas' NA token in the CSV)
assert a["amt"]["current"]["nonfinite"] == 4, a["amt"]["current"]
assert a["amt"]["current"]["missing"] == 1, a["amt"]["current"]
assert a == b, [(k, a[k], b[k]) for k in a if a[k] != b[k]]
print("     amt: 4 non-finite, 1 missing; every column's numbers identical to compare's")
EOF
    ok "check: 1e400 in a numeric column is non-finite, counted and dropped as compare does with its CSV"
else
    bad "check: 1e400 in a numeric column is non-finite, as compare does with its CSV" "exit $rc: $(head -c 600 "$W/inf.err")"
fi
# the same rows stored as a reference from the view and from their CSV export: one profile
q -c "CREATE VIEW inf_rows AS SELECT amt, cat, n2 FROM ev_v WHERE batch_id = 'b-inf'"
if "$DM" reference load --table inf_rows --name t_inf "${C[@]}" >/dev/null 2>"$W/rl.err" &&
    "$DM" reference load "$W/inf.csv" --name c_inf "${C[@]}" >/dev/null 2>>"$W/rl.err"; then
    ht=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 't_inf'")
    hc=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 'c_inf'")
    [ -n "$ht" ] && [ "$ht" = "$hc" ] && ok "reference from the table = from its CSV, bit for bit (sha256 $ht)" ||
        bad "reference from the table = from its CSV" "$ht / $hc"
else
    bad "reference load --table of rows holding 1e400" "$(head -c 600 "$W/rl.err")"
fi

# ---- bad options and values: exit 2, our own message ------------------------------------------
# expect2 LABEL PATTERN ARGS...: exit 2, stderr matches PATTERN (fixed string), no raw server
# error ("ERROR:") and nothing committed
expect2() {
    local label=$1 pat=$2
    shift 2
    local before after
    before=$(q -c "SELECT count(*) FROM driftmon.run")
    "$DM" "$@" >"$W/x.out" 2>"$W/x.err"
    local rc=$?
    after=$(q -c "SELECT count(*) FROM driftmon.run")
    if [ "$rc" = 2 ] && grep -qF -- "$pat" "$W/x.err" && ! grep -q "ERROR:" "$W/x.err" && [ "$before" = "$after" ]; then
        ok "$label: exit 2, $(head -c 200 "$W/x.err")"
    else
        bad "$label" "exit $rc (want 2), runs $before -> $after: $(head -c 400 "$W/x.err")"
    fi
}
expect2 "check --since garbage" 'invalid --since "garbage"' check --since garbage --until 2026-01-02 "${C[@]}"
expect2 "check --since 2026-13-45" 'invalid --since "2026-13-45"' check --since 2026-13-45 --until 2026-01-02 "${C[@]}"
expect2 "check --until garbage" 'invalid --until "garbage"' check --since 2026-01-01 --until garbage "${C[@]}"
sed 's/"ev_v"/"evi"/' "$W/c.json" >"$W/ci.json"
expect2 "check of a text batch id on an integer batch column" 'invalid batch "abc" for column "batch_id" (integer)' check abc --config "$W/ci.json"
"$DM" check 7 --config "$W/ci.json" >/dev/null 2>"$W/i7.err" && ok "check of batch 7 on the integer batch column" ||
    bad "check of batch 7 on the integer batch column" "$(cat "$W/i7.err")"
expect2 "check of a batch whose rows the server cannot produce (division by zero)" \
    'batch "b-div": could not read table "ev_v": division by zero' check b-div "${C[@]}"
long=$(printf '9%.0s' $(seq 1 300))
expect2 "check of a 300-character batch id on an integer batch column: the value cut" \
    '999...' check "$long" --config "$W/ci.json"
if grep -q "$(printf '9%.0s' $(seq 1 80))" "$W/x.err"; then bad "the value is cut to 64 characters" "$(head -c 300 "$W/x.err")"; else ok "the value is cut to 64 characters"; fi

# ---- nothing to test: an error of the run -------------------------------------------------------
expect2 "check of 1,000 rows whose monitored columns are all NULL" 'no column could be tested in table ev_v, batch b-null' check b-null "${C[@]}"
q -c "\\copy (SELECT amt, cat, n2 FROM ev_v WHERE batch_id = 'b-null') TO '$W/null.csv' WITH (FORMAT csv, HEADER true)"
"$DM" compare "$W/ref.csv" "$W/null.csv" --json "$W/null.json" >"$W/cn.out" 2>"$W/cn.err"
rc=$?
if [ "$rc" = 2 ] && grep -qF 'no column could be tested' "$W/cn.err" && [ ! -e "$W/null.json" ]; then
    ok "compare of an all-empty CSV: exit 2, no report ($(head -c 160 "$W/cn.err"))"
else
    bad "compare of an all-empty CSV: exit 2, no report" "exit $rc: $(cat "$W/cn.out" "$W/cn.err" | head -c 400)"
fi

# ---- the daemon: windows and batches after bad ones ------------------------------------------
# Windows of 1 hour on 2026-01-01: 00h holds a 1e400 row, 01h a row the view cannot divide,
# 02h only NULLs, 03h is plain.  Batches (rows in 2100: no closed window): d-div, d-null,
# then d-ok and d-inf, submitted in that order.
load w '2026-01-01 00:10+00' inf 200 10 && load w '2026-01-01 01:10+00' div 200 11 &&
    load w '2026-01-01 02:10+00' null 200 12 && load w '2026-01-01 03:10+00' normal 200 13 ||
    { bad "could not load the windows' rows"; finish; }
for b in d-div:div d-null:null d-ok:normal d-inf:inf; do
    load "${b%%:*}" '2100-01-01' "${b#*:}" 300 20 && q -c "SELECT driftmon.submit_batch('${b%%:*}')" >/dev/null
done
sed 's/"retrain": {"fraction": 1}/"retrain": {"fraction": 1}, "schedule": {"every": "1 hour"}/' "$W/c.json" >"$W/d.json"
"$DM" serve --config "$W/d.json" --lease 5 --poll 0.5 --retry-base 0.2 --retry-cap 1 2>"$W/d.log" &
dpid=$!
if wait_until 120 "SELECT (SELECT count(*) FROM driftmon.window_done WHERE every_s = 3600) = 4
                   AND (SELECT count(*) FROM driftmon.batch WHERE batch LIKE 'd-%' AND done_at IS NOT NULL) = 4"; then
    ok "the daemon went through the 4 windows and the 4 batches"
else
    bad "the daemon went through the 4 windows and the 4 batches" "$(grep -v 'level=debug' "$W/d.log" | tail -5 | cut -c1-300)"
fi
got=$(q -c "SELECT string_agg(to_char(w.window_start AT TIME ZONE 'UTC', 'HH24') || ':' ||
                  CASE WHEN w.run_id IS NOT NULL THEN 'run' WHEN w.note LIKE '%division by zero%' THEN 'unreadable'
                       WHEN w.note LIKE 'no column could be tested%' THEN 'none-tested' ELSE coalesce(w.note, '?') END,
                  ',' ORDER BY w.window_start) FROM driftmon.window_done w WHERE every_s = 3600")
[ "$got" = "00:run,01:unreadable,02:none-tested,03:run" ] &&
    ok "windows: 1e400 in the oldest checked; the unreadable and the all-NULL recorded with their reason; the later checked ($got)" ||
    bad "windows after bad ones" "got $got"
nf=$(q -c "SELECT (r.report -> 'drift_by_columns' -> 'amt' -> 'current' ->> 'nonfinite') FROM driftmon.run r
           WHERE r.window_start = '2026-01-01 00:00+00'")
[ "$nf" = 4 ] && ok "the oldest window's run counts amt's 4 non-finite values" || bad "the oldest window's non-finite count" "got '$nf'"
runs=$(q -c "SELECT string_agg(batch, ',' ORDER BY batch) FROM driftmon.runs WHERE batch LIKE 'd-%'")
[ "$runs" = "d-inf,d-ok" ] && ok "batches after the bad ones checked (runs: $runs)" || bad "batches after the bad ones checked" "runs: $runs"
sleep 6 # past fail_batch's first back-off (5 s from the failure): a retried batch is claimed again
fc=$(q -c "SELECT string_agg(coalesce(batch, 'window ' || to_char(window_start AT TIME ZONE 'UTC', 'HH24')) || ' ' || attempts || ' ' ||
                  CASE WHEN reason LIKE '%division by zero%' THEN 'unreadable' WHEN reason LIKE 'no column could be tested%' THEN 'none-tested' ELSE reason END,
                  ',' ORDER BY coalesce(batch, 'window ' || to_char(window_start AT TIME ZONE 'UTC', 'HH24')))
           FROM driftmon.failed_checks")
[ "$fc" = "d-div 1 unreadable,d-null 1 none-tested,window 01 1 unreadable,window 02 1 none-tested" ] &&
    ok "failed_checks: the 2 batches given up after one attempt, and the 2 windows ($fc)" ||
    bad "failed_checks" "got $fc; $(grep -c 'claimed batch' "$W/d.log") claims"
grep -q 'batch not checkable: given up.*batch=d-div.*division by zero' "$W/d.log" &&
    ok "the daemon logs the batch given up with its reason" || bad "the daemon logs the batch given up" "$(grep d-div "$W/d.log" | tail -2 | cut -c1-300)"
"$DM" alerts --config "$W/d.json" >"$W/alerts.out" 2>&1
"$DM" alerts --config "$W/d.json" --state failed >"$W/failed.out" 2>&1
if grep -q '^d-div .*division by zero' "$W/alerts.out" && grep -q '^d-null .*no column could be tested' "$W/alerts.out" &&
    grep -q '^window 2026-01-01T01:00:00Z/2026-01-01T02:00:00Z .*division by zero' "$W/alerts.out" &&
    [ "$(grep -c -e '^d-' -e '^window ' "$W/failed.out")" = 4 ]; then
    ok "driftmon alerts lists the checks that could not be made (--state failed: those alone)"
else
    bad "driftmon alerts lists the checks that could not be made" "$(cat "$W/alerts.out" | head -c 800)"
fi
kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
dpid=
finish

#!/usr/bin/env bash
# units.sh - one check shared by several daemons (issue 20, item 3; sql/018_units.sql): a batch
# whose numeric values pass limits.unit_values is cut into work units (its column groups) that
# any daemon claims, and the daemon that finishes the last one assembles the run.  Against a
# real PostgreSQL 15 (tests/pg/cluster.sh).  No mocks.  The same rows (Home-Credit-shaped,
# generated, with the model's score and importances, a numeric column with no value, one of
# infinities and a text column of numbers) are submitted as several batches:
#   - u0, checked by one daemon without units (limits.unit_values unset): what every other
#     run must equal;
#   - u1, by two daemons with limits.unit_values = rows x 10 (about 12 units of 10 numeric
#     columns): both daemons did units, and the run's stored column results, its JSON and
#     its HTML report are u0's but for the run's id, times, chain head and the batch's name;
#   - u2, one daemon stopped (SIGSTOP) while it holds a unit and killed (SIGKILL): the other
#     daemon claims that unit again once its lease has passed, and the run is still u0's;
#   - u3, a daemon killed while it holds a unit, then a row added to the batch: the unit run
#     made for the old rows ends when a unit reads the new count (its units deleted, the batch
#     back in the queue), is planned again and the run compares the new rows;
#   - the window [2026-01-15, 2026-01-16), which holds every batch's rows, checked by two
#     daemons with schedule.every in units, recorded done, its JSON report that of `driftmon
#     check --since --until` in one process;
#   - the window of 2026-01-17 and batch u4 in units whose units another worker holds: the
#     daemon that planned them waits at a few statements a poll without reading the table,
#     then does the units once that worker's leases pass and assembles both runs;
# and no unit run or work unit is left at the end.  A driftmon without work units fails every
# check but u0's, which checks the baseline (limits.unit_values is an unknown key there, and
# the schema has no work units).  KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=units
. tests/lib/results.sh

. tests/lib/pg.sh
PIDS=()
pg_cleanup_extra() {
    for p in "${PIDS[@]}"; do
        kill -CONT "$p" 2>/dev/null
        kill -KILL "$p" 2>/dev/null
    done
}
pg_setup units
export XDG_CACHE_HOME=$W/xdg
unset CACHE_DIRECTORY
. tests/lib/wait.sh

ROWS=20000
# config NAME [EXTRA]
config() {
    cat >"$W/$1.json" <<EOF
{
  "source": {"table": "apps_gen", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "gen"},
  "reports": {"dir": "$W/reports-$1"},
  "model": {"score_column": "score", "importance": "$W/imp.csv"},
  "retrain": {"fraction": 0.5}${2:+,
  $2}
}
EOF
}

for t in train_gen apps_gen; do
    "$GEN" --schema "$t" --no-target --score >"$W/$t.sql"
    q -f "$W/$t.sql" >/dev/null || { bad "could not create table $t"; finish; }
    q -c "ALTER TABLE $t ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
          ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00',
          ADD COLUMN no_value float8, ADD COLUMN only_inf float8, ADD COLUMN num_text text"
done
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/apps_gen.sql" | paste -sd, -)
"$GEN" --rows 3000 --seed 1 --no-target --score --importance-out "$W/imp.csv" --format tsv-copy --no-header -o "$W/ref.tsv"
"$GEN" --rows $ROWS --seed 2 --no-target --score --revolving-share 0.02 --drift AMT_CREDIT=1.3 \
    --format tsv-copy --no-header -o "$W/cur.tsv"
{
    echo "COPY train_gen ($cols) FROM STDIN;"
    cat "$W/ref.tsv"
    echo '\.'
    echo "UPDATE train_gen SET no_value = random(), only_inf = random(), num_text = (\"SK_ID_CURR\" % 97)::text;"
    echo "BEGIN; SET LOCAL dm.batch = 'u0';"
    echo "COPY apps_gen ($cols) FROM STDIN;"
    cat "$W/cur.tsv"
    echo '\.'
    echo "UPDATE apps_gen SET only_inf = 'Infinity', num_text = (\"SK_ID_CURR\" % 89)::text; COMMIT;"
    for b in u1 u2 u3; do
        echo "BEGIN; CREATE TEMP TABLE t ON COMMIT DROP AS SELECT * FROM apps_gen WHERE batch_id = 'u0';"
        echo "UPDATE t SET batch_id = '$b'; INSERT INTO apps_gen SELECT * FROM t; COMMIT;"
    done
    echo "ANALYZE apps_gen;"
} | q >/dev/null || { bad "could not load the generated rows"; finish; }
config whole
config units "\"limits\": {\"unit_values\": $((ROWS * 10))}"
"$DM" init --config "$W/whole.json" >/dev/null 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
"$DM" reference load --table train_gen --name gen --config "$W/whole.json" >/dev/null 2>"$W/refload.err" ||
    { bad "reference load --table train_gen" "$(cat "$W/refload.err")"; finish; }
n=$(q -c "SELECT string_agg(batch_id || ':' || n, ' ' ORDER BY batch_id) FROM (SELECT batch_id, count(*) n FROM apps_gen GROUP BY 1) x")
[ "$n" = "u0:$ROWS u1:$ROWS u2:$ROWS u3:$ROWS" ] || { bad "the batches hold the same rows" "$n"; finish; }

FAST=(--lease 2 --poll 0.3 --retry-base 0.2 --retry-cap 1 --reconnect-cap 0.5)
# start_daemon NAME CONFIG [LEASE]: a daemon with worker name NAME, its log in $W/NAME.log;
# LEASE seconds instead of FAST's 2 (u1 counts every unit done once: on a loaded machine a
# 2-second lease can pass while a unit is read, and the unit is then rightly done again)
start_daemon() {
    "$DM" serve --config "$W/$2.json" --worker "$1" "${FAST[@]}" ${3:+--lease "$3"} 2>"$W/$1.log" &
    PIDS+=($!)
    eval "pid_$1=$!"
}
stop_daemon() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
run_of() { q -c "SELECT id FROM driftmon.run WHERE batch = '$1'"; }

# ---- u0: one daemon, no units -------------------------------------------------------------
start_daemon solo whole
q -c "SELECT driftmon.submit_batch('u0')" >/dev/null
wait_until 120 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'u0'" >/dev/null
stop_daemon "$pid_solo"
a=$(run_of u0)
[ -n "$a" ] || { bad "u0 checked by one daemon" "$(grep -E 'level=(error|warn)' "$W/solo.log" | tail -n 3)"; finish; }
if ! grep -q "work unit" "$W/solo.log"; then
    ok "u0: one daemon without limits.unit_values checked the batch whole (run $a, no work unit)"
else
    bad "u0: one daemon without limits.unit_values checked the batch whole" "$(grep "work unit" "$W/solo.log" | head -n 2)"
fi

# same_run LABEL BATCH: the run of BATCH against u0's: stored column results, JSON, HTML
same_run() {
    local label=$1 bt=$2 b diff ncol ja jb ha hb
    b=$(run_of "$bt")
    cols=$(q -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
                 FROM information_schema.columns
                 WHERE table_schema = 'driftmon' AND table_name = 'column_result'
                   AND column_name NOT IN ('run_id', 'seq', 'prev_hash', 'row_hash')")
    res() { echo "SELECT $cols, seq - (SELECT min(seq) FROM driftmon.column_result WHERE run_id = $1) AS place
                  FROM driftmon.column_result WHERE run_id = $1"; }
    diff=$(q -c "SELECT count(*) FROM (($(res "$a")) EXCEPT ALL ($(res "${b:-0}"))
                                      UNION ALL (($(res "${b:-0}")) EXCEPT ALL ($(res "$a")))) d" 2>&1)
    ncol=$(q -c "SELECT count(*) FROM driftmon.column_result WHERE run_id = $a")
    if [ -n "$b" ] && [ "$diff" = 0 ] && [ "$ncol" -gt 100 ]; then
        ok "$label: the stored column results are u0's ($ncol columns, in the same order)"
    else
        bad "$label: the stored column results are u0's" "run ${b:-none}: $diff rows differ"
    fi
    ja=$(q -c "SELECT report_json FROM driftmon.run WHERE id = $a")
    jb=$(q -c "SELECT report_json FROM driftmon.run WHERE id = ${b:-0}")
    if [ -f "$ja" ] && [ -f "$jb" ] && $PY - "$ja" "$jb" "$bt" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    for k in ("generated_at", "chain_head"):
        r.pop(k, None)
assert b["current"]["source"] == "table apps_gen, batch " + sys.argv[3], b["current"]["source"]
b["current"]["source"] = a["current"]["source"]
assert a == b, [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
s = a["skipped_columns"]
assert "every value missing" in s["no_value"] and "no finite value" in s["only_inf"], s
assert isinstance(a["prediction_drift"]["psi"], float) and isinstance(a["importance_weighted_share"], float)
EOF
        ok "$label: the JSON report is u0's but for the run's time, chain head and the batch's name"
    else
        bad "$label: the JSON report is u0's but for the run's time, chain head and the batch's name" "$ja / $jb"
    fi
    ha=$(q -c "SELECT report_html FROM driftmon.run WHERE id = $a")
    hb=$(q -c "SELECT report_html FROM driftmon.run WHERE id = ${b:-0}")
    if [ -f "$ha" ] && [ -f "$hb" ] && $PY - "$ha" "$hb" "$bt" <<'EOF'; then
import re, sys
def norm(p, batch):
    t = open(p, encoding="utf-8").read()
    t = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", t)
    t = t.replace("batch " + batch, "batch B")
    return re.sub(r"run[- ]\d+", "run N", t)
a, b = norm(sys.argv[1], "u0"), norm(sys.argv[2], sys.argv[3])
assert a == b, next(i for i in range(min(len(a), len(b))) if a[i] != b[i])
assert a.count("<svg") > 50, a.count("<svg")
EOF
        ok "$label: the HTML report is u0's but for the run's time, id and the batch's name"
    else
        bad "$label: the HTML report is u0's but for the run's time, id and the batch's name" "$ha / $hb"
    fi
}

# ---- u1: two daemons ----------------------------------------------------------------------
start_daemon A units 30
start_daemon B units 30
sleep 0.5
q -c "SELECT driftmon.submit_batch('u1')" >/dev/null
wait_until 180 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'u1'" >/dev/null
nunits=$(sed -n 's/.*cut the check into work units.* units=\([0-9]*\).*/\1/p' "$W/A.log" "$W/B.log" | head -n 1)
da=$(grep -c "did work unit" "$W/A.log")
db=$(grep -c "did work unit" "$W/B.log")
asm=$(grep -l "checked batch\" batch=u1 " "$W/A.log" "$W/B.log" | xargs -r -n1 basename | tr '\n' ' ')
if [ -n "$(run_of u1)" ] && [ "${nunits:-0}" -ge 5 ] && [ "$da" -ge 1 ] && [ "$db" -ge 1 ] &&
    [ $((da + db)) = $((nunits - 1)) ] && ! grep -q "lost" "$W/A.log" "$W/B.log"; then
    ok "u1: cut into $nunits units (${ROWS} rows x 10 numeric columns each); A did $da, B did $db, assembled by ${asm:-?}"
else
    bad "u1: cut into units that both daemons did" \
        "run $(run_of u1), units ${nunits:-none}, A $da, B $db: $(grep -hE 'level=(error|warn)' "$W/A.log" "$W/B.log" | tail -n 3)"
fi
same_run u1 u1

# ---- u2: a daemon killed while it holds a unit ----------------------------------------------
# stop_holding PID WORKER BATCH: SIGSTOP the daemon at a moment it holds a unit of BATCH's
# unit run (claimed, not done, lease not passed); prints the unit; 1 when the run got done first
stop_holding() {
    local pid=$1 worker=$2 bt=$3 u i
    for i in $(seq 1 600); do
        kill -STOP "$pid" 2>/dev/null || return 1
        u=$(q -c "SELECT w.unit FROM driftmon.work_unit w JOIN driftmon.unit_run r USING (run_id)
                  WHERE r.batch = '$bt' AND w.claimed_by = '$worker' AND w.done_at IS NULL
                    AND w.lease_until > clock_timestamp() LIMIT 1")
        [ -n "$u" ] && { echo "$u"; return 0; }
        [ -n "$(run_of "$bt")" ] && { kill -CONT "$pid"; return 1; }
        kill -CONT "$pid"
        sleep 0.0$((RANDOM % 5))
    done
    return 1
}
stop_daemon "$pid_B"
stop_daemon "$pid_A"
start_daemon A units # the short lease: B2 claims the killed daemon's unit again after it
q -c "SELECT driftmon.submit_batch('u2')" >/dev/null
if held=$(stop_holding "$pid_A" A u2); then
    run2=$(q -c "SELECT run_id FROM driftmon.unit_run WHERE batch = 'u2'")
    kill -KILL "$pid_A"
    wait "$pid_A" 2>/dev/null
    start_daemon B2 units
    wait_until 180 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'u2'" >/dev/null
    if [ "$(run_of u2)" = "$run2" ] && grep -q "claimed work unit\" run_id=$run2 unit=$held .*attempts=2" "$W/B2.log"; then
        ok "u2: A killed holding unit $held of run $run2; B2 claimed it again after its lease and committed run $run2"
    else
        bad "u2: the unit of the killed daemon claimed again and the run committed" \
            "held $held of ${run2:-?}, run $(run_of u2): $(grep -hE "unit=$held |level=(error|warn)" "$W/B2.log" | tail -n 3)"
    fi
    same_run u2 u2
else
    bad "u2: stopped daemon A while it held a unit" "the run was done first, or no unit seen"
fi

# ---- u3: the rows change under a unit run: it ends and is planned again ---------------------
q -c "SELECT driftmon.submit_batch('u3')" >/dev/null
if held=$(stop_holding "$pid_B2" B2 u3); then
    run3=$(q -c "SELECT run_id FROM driftmon.unit_run WHERE batch = 'u3'")
    q -c "INSERT INTO apps_gen SELECT * FROM apps_gen WHERE batch_id = 'u3' LIMIT 1" >/dev/null
    kill -KILL "$pid_B2"
    wait "$pid_B2" 2>/dev/null
    start_daemon C units
    wait_until 30 "SELECT count(*) = 0 FROM driftmon.unit_run WHERE run_id = ${run3:-0}" >/dev/null
    left=$(q -c "SELECT count(*) FROM driftmon.work_unit WHERE run_id = ${run3:-0}")
    berr=$(q -c "SELECT last_error FROM driftmon.batch WHERE batch = 'u3'")
    if [ -n "$run3" ] && [ "$left" = 0 ] && grep -q "unit run ended.*run_id=$run3 .*the rows changed" "$W/C.log" &&
        [[ "$berr" == *"the rows changed"* ]]; then
        ok "u3: unit run $run3 ended when a unit read $((ROWS + 1)) rows: its units deleted, the batch back in the queue (\"${berr:0:60}...\")"
    else
        bad "u3: the unit run of the old rows ended, its units deleted" \
            "run ${run3:-?}, $left units left, batch error \"$berr\": $(grep -hE 'level=(error|warn)' "$W/C.log" | tail -n 3)"
    fi
    wait_until 120 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'u3'" >/dev/null
    r3=$(run_of u3)
    cr=$(q -c "SELECT min(cur_rows) || ' ' || max(cur_rows) FROM driftmon.column_result WHERE run_id = ${r3:-0}")
    if [ -n "$r3" ] && [ "$r3" != "$run3" ] && [ "$cr" = "$((ROWS + 1)) $((ROWS + 1))" ] &&
        grep -q "checked batch\" batch=u3 run_id=$r3 .*units=" "$W/C.log"; then
        ok "u3: planned again in units and checked: run $r3 compares the $((ROWS + 1)) rows"
    else
        bad "u3: planned again in units and checked on the new rows" \
            "run ${r3:-none} (first ${run3:-?}), rows \"$cr\": $(grep -hE 'level=(error|warn)' "$W/C.log" | tail -n 3)"
    fi
else
    bad "u3: stopped daemon B2 while it held a unit" "the run was done first, or no unit seen"
fi

# ---- a periodic window over two daemons ---------------------------------------------------
# every batch's rows carry the same timestamp: the window [2026-01-15, 2026-01-16) holds them
# all; two daemons with schedule.every check it in units, and the run is the one `driftmon
# check --since --until` makes in one process
stop_daemon "$pid_C"
config win "\"limits\": {\"unit_values\": $((ROWS * 10))}, \"schedule\": {\"every\": \"1 day\"}"
start_daemon D1 win
start_daemon D2 win
wait_until 300 "SELECT count(*) = 1 FROM driftmon.window_done WHERE window_start = '2026-01-15 00:00+00' AND run_id IS NOT NULL" >/dev/null
stop_daemon "$pid_D1"
stop_daemon "$pid_D2"
rw=$(q -c "SELECT run_id FROM driftmon.window_done WHERE window_start = '2026-01-15 00:00+00'")
wu=$(cat "$W/D1.log" "$W/D2.log" | grep -c "did work unit")
"$DM" check --since 2026-01-15T00:00:00Z --until 2026-01-16T00:00:00Z --config "$W/whole.json" >"$W/wcheck.out" 2>"$W/wcheck.err"
jw=$(q -c "SELECT report_json FROM driftmon.run WHERE id = ${rw:-0}")
jc=$(sed -n 's/^json report: //p' "$W/wcheck.out")
if [ -n "$rw" ] && [ "$wu" -ge 5 ] && [ -f "$jw" ] && [ -f "$jc" ] && $PY - "$jw" "$jc" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    for k in ("generated_at", "chain_head"):
        r.pop(k, None)
assert a == b, [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
assert a["current"]["rows"] == 4 * 20000 + 1, a["current"]
EOF
    ok "window: checked in units by two daemons ($wu units done), recorded done with run $rw; its JSON report is that of \`driftmon check --since --until\`"
else
    bad "window: checked in units by two daemons, recorded, the JSON report that of one check" \
        "run ${rw:-none}, $wu units: $(grep -hE 'level=(error|warn)' "$W/D1.log" "$W/D2.log" "$W/wcheck.err" | tail -n 3)"
fi

# ---- a daemon waiting on units another worker holds ----------------------------------------
# A fake worker holds every unit but the assembly of a window and of a batch as they are made
# (a trigger claims each for an hour, as driftmon.claim_unit would); daemon E, which planned
# both, has nothing it can claim and must wait like any idle daemon.  Each poll (--poll 0.3)
# that is a claim_unit and a claim_batch for its monitor and one look whether the window's
# unit run still lives: 3 statements, each its own transaction in pg_stat_database, and no
# read of the monitored table.  The bound, 4 a poll over the time measured plus the second by
# which a backend's counts may reach pg_stat_database late, leaves a statement of slack; the
# code before this check, which swept the windows again each poll and searched the table for
# the next window each time, made 232 transactions and 21 reads of apps_gen in these 6
# seconds (load 2.5; 61 and 0 after).  Once the fake worker's leases pass, E claims the units
# at its next poll and assembles both runs itself, each in the transaction of its last unit.
q -c "BEGIN; CREATE TEMP TABLE t ON COMMIT DROP AS SELECT * FROM apps_gen WHERE batch_id = 'u0';
      UPDATE t SET batch_id = 'w2', created_at = '2026-01-17 12:00+00'; INSERT INTO apps_gen SELECT * FROM t;
      UPDATE t SET batch_id = 'u4', created_at = '2026-01-15 12:00+00'; INSERT INTO apps_gen SELECT * FROM t; COMMIT;
      ANALYZE apps_gen;
      CREATE FUNCTION public.fake_claim() RETURNS trigger LANGUAGE plpgsql AS \$\$
      BEGIN
          IF NEW.unit > 0 THEN
              NEW.claimed_by := 'fake'; NEW.lease_until := clock_timestamp() + interval '1 hour';
              NEW.attempts := 1;
          END IF;
          RETURN NEW;
      END \$\$;
      CREATE TRIGGER fake_claim BEFORE INSERT ON driftmon.work_unit
          FOR EACH ROW EXECUTE FUNCTION public.fake_claim();
      SELECT driftmon.submit_batch('u4');" >/dev/null
start_daemon E win
wait_until 120 "SELECT count(*) = 2 FROM driftmon.unit_run WHERE batch = 'u4' OR window_start = '2026-01-17 00:00+00'" >/dev/null
held=$(q -c "SELECT count(*) FILTER (WHERE unit > 0 AND claimed_by = 'fake') || ' ' || count(*) FILTER (WHERE unit > 0)
             || ' ' || count(*) FILTER (WHERE claimed_by = 'E') FROM driftmon.work_unit")
read -r nfake nunit nE <<<"$held"
stat() { q -c "SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())
               || ' ' || (SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables
                          WHERE relid = 'apps_gen'::regclass)"; }
POLL=0.3
SECS=6
sleep 1.5 # the planning's counts reach pg_stat_database
read -r x0 s0 <<<"$(stat)"
sleep $SECS
read -r x1 s1 <<<"$(stat)"
xacts=$((x1 - x0 - 1)) # the first stat's own
bound=$(awk -v s=$SECS -v p=$POLL 'BEGIN { printf "%d", 4 * (s + 1) / p }')
if [ "$nunit" -ge 10 ] && [ "$nfake" = "$nunit" ] && [ "$nE" = 0 ] && [ "$((s1 - s0))" = 0 ] && [ "$xacts" -le "$bound" ]; then
    ok "waiting: with the $nunit units of a window and a batch held by another worker, E made $xacts transactions in ${SECS} s at poll $POLL (bound $bound) and read the table 0 times"
else
    bad "waiting on units another worker holds: a few statements a poll, no read of the table" \
        "units held $nfake of $nunit (E $nE), $xacts transactions in ${SECS} s (bound $bound), $((s1 - s0)) reads of apps_gen"
fi
q -c "DROP TRIGGER fake_claim ON driftmon.work_unit; DROP FUNCTION public.fake_claim();
      UPDATE driftmon.work_unit SET lease_until = clock_timestamp() WHERE claimed_by = 'fake'" >/dev/null
if wait_until 10 "SELECT count(*) > 0 FROM driftmon.work_unit WHERE claimed_by = 'E'"; then
    ok "E claimed a unit within 10 s of the other worker's leases passing"
else
    bad "E claimed a unit once the other worker's leases passed" "$(grep -E 'level=(error|warn)' "$W/E.log" | tail -n 3)"
fi
wait_until 180 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'u4'" >/dev/null
wait_until 60 "SELECT count(*) = 1 FROM driftmon.window_done WHERE window_start = '2026-01-17 00:00+00' AND run_id IS NOT NULL" >/dev/null
r4=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'u4'")
rw2=$(q -c "SELECT run_id FROM driftmon.window_done WHERE window_start = '2026-01-17 00:00+00'")
rows=$(q -c "SELECT min(cur_rows) || ' ' || max(cur_rows) FROM driftmon.column_result WHERE run_id = ${rw2:-0}")
if [ -n "$r4" ] && [ -n "$rw2" ] && [ "$rows" = "$ROWS $ROWS" ] &&
    grep -q "did work unit\" run_id=$r4 .*result=assemble" "$W/E.log" &&
    grep -q "did work unit\" run_id=$rw2 .*result=assemble" "$W/E.log" &&
    grep -q "checked batch\" batch=u4 run_id=$r4 " "$W/E.log" &&
    grep -q "checked window\" window=\"\[2026-01-17T00:00:00Z, 2026-01-18T00:00:00Z)\" run_id=$rw2 " "$W/E.log"; then
    ok "E did the units, took each assembly with its last unit and committed batch u4 (run $r4) and the window of 2026-01-17 (run $rw2, ${rows% *} rows)"
else
    bad "E did the released units and assembled both runs" \
        "batch run ${r4:-none}, window run ${rw2:-none} ($rows rows): $(grep -E 'level=(error|warn)' "$W/E.log" | tail -n 3)"
fi

# ---- nothing left ---------------------------------------------------------------------------
for p in "${PIDS[@]}"; do
    kill -CONT "$p" 2>/dev/null
    stop_daemon "$p"
done
PIDS=()
n=$(q -c "SELECT (SELECT count(*) FROM driftmon.unit_run) || ' ' || (SELECT count(*) FROM driftmon.work_unit)
          || ' ' || (SELECT count(*) FROM driftmon.batch WHERE done_at IS NULL)")
if [ "$n" = "0 0 0" ]; then
    ok "no unit run, work unit or batch held by units is left once every batch is done"
else
    bad "no unit run, work unit or batch held by units is left" "unit runs, units, open batches: $n"
fi
finish

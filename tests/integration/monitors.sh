#!/usr/bin/env bash
# monitors.sh - several monitors in one daemon (issue 19), against a real PostgreSQL started
# for the test.  No mocks.  Two monitors, `a` and `b`, on two tables with two references and
# their own drift settings and reports directories, served by one daemon.  Checks:
#   - fair turns: with 4 batches of a and 2 of b queued before the daemon starts, the runs
#     alternate a b a b a a (first come, first served would give a a a a b b);
#   - batch ids shared by both monitors (`d1`, `d2`) are two batches, each with its own run,
#     tagged with its monitor, against its own reference, with the numbers (every column's
#     test and score) of `driftmon check --monitor` of the same batch; submit_batch(batch)
#     is the 'default' monitor, which this daemon does not claim;
#   - each monitor's reports in its own directory: run reports, index.html, its history page;
#     the JSON report names the monitor; `driftmon history --monitor` and the views' column;
#   - monitor b broken mid-test (its table renamed away): its batch fails, is logged with the
#     monitor and backed off and retried, while a keeps producing runs; once the table is
#     back, b's batch gets its run;
#   - /metrics (metrics.listen at the top) shows one set of series per monitor, labelled with
#     its name, with the database's values of that monitor (newest run, its drifted share and
#     column scores, pending batches, the runs this daemon made), and none for 'default';
#   - `check` without --monitor names the choices (exit 2), `compare` refuses a monitors file;
#     the hash chain covers the monitor
#     (`driftmon verify` passes, then fails once a run's monitor is rewritten).
# KEEP=1 keeps the work folder (daemon log) for a post-mortem.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
results_name=monitors
. tests/lib/results.sh

. tests/lib/pg.sh
dpid=
pg_cleanup_extra() {
    [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
}
pg_setup mon
. tests/lib/wait.sh

# ---- two tables, two references ----------------------------------------------------------
"$GEN" --schema applications --no-target >"$W/schema.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/schema.sql" | paste -sd, -)
for t in apps_a apps_b; do
    sed "s/CREATE TABLE \"applications\"/CREATE TABLE \"$t\"/" "$W/schema.sql" | q >/dev/null ||
        { echo "could not create $t"; exit 1; }
    q -c "ALTER TABLE $t ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true)"
done
"$GEN" --rows 2000 --seed 1 --no-target -o "$W/ref_a.csv"
"$GEN" --rows 2000 --seed 2 --no-target --drift AMT_INCOME_TOTAL=2,DAYS_BIRTH=2 -o "$W/ref_b.csv"
for s in 11 12 13 14 15 16 17 18 19; do
    "$GEN" --rows 200 --seed $s --no-target --format tsv-copy --no-header -o "$W/rows$s.tsv"
done

cat >"$W/mon.json" <<EOF
{
  "cache": {"dir": "$W/cache"},
  "metrics": {"listen": "127.0.0.1:0"},
  "monitors": [
    {"name": "a", "source": {"table": "apps_a", "batch_column": "batch_id"},
     "reference": {"name": "ref_a"}, "reports": {"dir": "$W/rep_a"}},
    {"name": "b", "source": {"table": "apps_b", "batch_column": "batch_id"},
     "reference": {"name": "ref_b"}, "reports": {"dir": "$W/rep_b"},
     "drift": {"num_stattest": "psi", "drift_share": 0.3}}
  ]
}
EOF
C=(--config "$W/mon.json")
"$DM" init "${C[@]}" 2>"$W/init.err" || { echo "init failed: $(cat "$W/init.err")"; exit 1; }
for m in a b; do
    "$DM" reference load "$W/ref_$m.csv" --name "ref_$m" --monitor $m "${C[@]}" >/dev/null 2>"$W/ref.err" ||
        { echo "reference load failed: $(cat "$W/ref.err")"; exit 1; }
done

# submit MONITOR BATCH TSV: the rows and submit_batch(monitor, batch) in one transaction
submit() {
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$2';"
        echo "COPY apps_$1 ($cols) FROM STDIN;"
        cat "$3"
        echo '\.'
        echo "SELECT driftmon.submit_batch('$1', '$2');"
        echo "COMMIT;"
    } | q >/dev/null
}

# ---- fair turns: the queue before the daemon starts -----------------------------------------
submit a a1 "$W/rows11.tsv"
submit a a2 "$W/rows12.tsv"
submit a a3 "$W/rows13.tsv"
submit a a4 "$W/rows14.tsv"
submit b b1 "$W/rows15.tsv"
submit b b2 "$W/rows16.tsv"
# the same batch id for both monitors, each with its own rows
submit a d1 "$W/rows17.tsv"
submit b d1 "$W/rows18.tsv"
submit a d2 "$W/rows18.tsv"
submit b d2 "$W/rows17.tsv"
# the one-argument form: the 'default' monitor, which this configuration does not have
q -c "INSERT INTO apps_a ($cols) SELECT $cols FROM apps_a WHERE batch_id = 'a1'" >/dev/null
[ "$(q -c "SELECT driftmon.submit_batch('legacy')")" = t ] &&
    [ "$(q -c "SELECT monitor FROM driftmon.batch WHERE batch = 'legacy'")" = default ] &&
    ok "submit_batch(batch) records the batch for monitor 'default'" ||
    bad "submit_batch(batch)" "$(q -c "SELECT monitor, batch FROM driftmon.batch WHERE batch = 'legacy'")"
[ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch = 'd1'")" = 2 ] &&
    [ "$(q -c "SELECT driftmon.submit_batch('a', 'd1')")" = f ] &&
    ok "batch d1 submitted for a and b: two queue entries; submitting it again for a is a no-op" ||
    bad "two queue entries for d1"
out=$(q -c "SELECT driftmon.submit_batch('../x', 'e1')" 2>&1) && bad "submit_batch with a bad monitor name accepted" ||
    { [[ $out == *'"../x" is not a monitor name'* ]] && ok "submit_batch refuses a bad monitor name, naming it" ||
        bad "submit_batch bad monitor" "$out"; }

"$DM" serve "${C[@]}" --lease 2 --poll 0.5 2>>"$W/d.log" &
dpid=$!
if wait_until 120 "SELECT count(*) = 0 FROM driftmon.batch WHERE done_at IS NULL AND monitor <> 'default'"; then
    ok "the daemon checked the 10 batches of monitors a and b"
else
    bad "10 batches checked" "$(q -c "SELECT monitor, batch, attempts, last_error FROM driftmon.batch WHERE done_at IS NULL")"
fi
order=$(q -c "SELECT string_agg(monitor, ' ' ORDER BY id) FROM driftmon.run WHERE batch IN ('a1','a2','a3','a4','b1','b2')")
[ "$order" = "a b a b a a" ] && ok "fair turns: the queued runs alternate between the monitors ($order)" ||
    bad "fair turns" "order of runs: $order"
# ---- /metrics: a set of series per monitor, equal to the database's values of that monitor ----------
port=$(sed -n 's/.*msg="metrics endpoint listening".* port=\([0-9]*\).*/\1/p' "$W/d.log" | tail -n 1)
q -c "SELECT json_object_agg(m, json_build_object(
        'runs', (SELECT count(*) FROM driftmon.run r WHERE r.monitor = m),
        'drift', (SELECT count(*) FROM driftmon.run r WHERE r.monitor = m AND r.dataset_drift),
        'pending', (SELECT count(*) FROM driftmon.batch b WHERE b.monitor = m AND b.done_at IS NULL),
        'last_ts', (SELECT extract(epoch FROM finished_at)::float8 FROM driftmon.run r WHERE r.monitor = m ORDER BY finished_at DESC, id DESC LIMIT 1),
        'share', (SELECT share_of_drifted_columns FROM driftmon.run r WHERE r.monitor = m ORDER BY finished_at DESC, id DESC LIMIT 1),
        'columns', (SELECT json_object_agg(c.column_name, c.drift_score::text) FROM driftmon.column_result c
                    WHERE c.run_id = (SELECT id FROM driftmon.run r WHERE r.monitor = m ORDER BY finished_at DESC, id DESC LIMIT 1))))
      FROM unnest(ARRAY['a', 'b']) AS m" >"$W/mdb.json"
out=$(python3 - "$port" "$W/mdb.json" 2>&1 <<'EOF'
import json, math, re, sys, time, urllib.request
port, db = sys.argv[1], json.load(open(sys.argv[2]))
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
def scrape():
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    series = {}
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            m = line_re.match(line)
            series[(m.group(1), tuple(sorted(label_re.findall(m.group(2) or ""))))] = float(m.group(3))
    return series
def get(s, name, **labels):
    return s.get((name, tuple(sorted(labels.items()))))
# the daemon publishes at its next turn: wait until its run counts reach the database's
deadline = time.time() + 20
while True:
    s = scrape()
    got = {m: sum(get(s, "driftmon_runs_total", monitor=m, result=r) or 0
                  for r in ("drift", "no_drift", "failed")) for m in db}
    if all(got[m] == db[m]["runs"] for m in db) or time.time() > deadline:
        break
    time.sleep(0.3)
errs = []
mons = sorted({dict(k[1])["monitor"] for k in s if "monitor" in dict(k[1])})
if mons != ["a", "b"]:
    errs.append(f"monitor labels {mons}")
for m, d in db.items():
    def same(what, got, want, tol=0.0):
        if got is None or want is None or abs(got - want) > tol:
            errs.append(f"{m} {what}: /metrics {got!r}, database {want!r}")
    same("runs_total", got[m], d["runs"])
    same("runs_total drift", get(s, "driftmon_runs_total", monitor=m, result="drift"), d["drift"])
    same("last_run_timestamp", get(s, "driftmon_last_run_timestamp_seconds", monitor=m), d["last_ts"], 1e-6)
    same("drifted_share", get(s, "driftmon_drifted_share", monitor=m), d["share"])
    same("batches_pending", get(s, "driftmon_batches_pending", monitor=m), d["pending"])
    cols = {dict(k[1])["column"]: v for k, v in s.items()
            if k[0] == "driftmon_column_drift_score" and dict(k[1])["monitor"] == m}
    if set(cols) != set(d["columns"]):
        errs.append(f"{m} columns differ ({len(cols)} on /metrics, {len(d['columns'])} in the database)")
    for c, v in d["columns"].items():
        if c in cols and cols[c] != float(v) and not (math.isnan(cols[c]) and math.isnan(float(v))):
            errs.append(f"{m} column {c}: /metrics {cols[c]!r}, database {v}")
print("\n".join(errs) if errs else f"same ({db['a']['runs']} and {db['b']['runs']} runs)")
EOF
)
[[ $out == same* ]] && ok "/metrics: monitors a and b (no 'default'), each with its database values: $out" ||
    bad "/metrics per monitor" "$out"

[ "$(q -c "SELECT done_at IS NULL AND claimed_by IS NULL FROM driftmon.batch WHERE batch = 'legacy'")" = t ] &&
    ok "the 'default' monitor's batch is left to a daemon that runs it" ||
    bad "legacy batch claimed" "$(q -c "SELECT * FROM driftmon.batch WHERE batch = 'legacy'")"

# ---- the same batch id, two runs ------------------------------------------------------------------
n=$(q -c "SELECT count(*) || ' ' || count(DISTINCT monitor) || ' ' || count(DISTINCT reference_name)
          FROM driftmon.runs WHERE batch = 'd1'")
[ "$n" = "2 2 2" ] && ok "batch d1: one run per monitor, each against its own reference" || bad "d1 runs" "$n"
[ "$(q -c "SELECT bool_and(reference_name = 'ref_' || monitor) FROM driftmon.runs WHERE batch IN ('d1', 'd2')")" = t ] &&
    ok "every run of d1 and d2 names its monitor's reference" || bad "references of d1/d2"
# the numbers of `driftmon check --monitor` of the same batch: every column's test and score
for m in a b; do
    for bt in d1 d2; do
        before=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE monitor = '$m' AND batch = '$bt'")
        if ! "$DM" check "$bt" --monitor $m --quiet "${C[@]}" 2>"$W/check.err"; then
            bad "check $bt --monitor $m" "$(cat "$W/check.err")"
            continue
        fi
        after=$(q -c "SELECT max(run_id) FROM driftmon.runs WHERE monitor = '$m' AND batch = '$bt'")
        diff=$(q -c "(SELECT column_name, stattest, drift_score FROM driftmon.column_history WHERE run_id = $before
                      EXCEPT SELECT column_name, stattest, drift_score FROM driftmon.column_history WHERE run_id = $after)
                     UNION ALL
                     (SELECT column_name, stattest, drift_score FROM driftmon.column_history WHERE run_id = $after
                      EXCEPT SELECT column_name, stattest, drift_score FROM driftmon.column_history WHERE run_id = $before)")
        ncol=$(q -c "SELECT count(*) FROM driftmon.column_history WHERE run_id = $before")
        [ -n "$before" ] && [ "$after" != "$before" ] && [ -z "$diff" ] && [ "$ncol" -gt 50 ] &&
            ok "monitor $m, batch $bt: the daemon's $ncol column results are check --monitor $m's" ||
            bad "monitor $m, batch $bt vs check" "runs $before/$after: $(head -c 300 <<<"$diff")"
    done
done
# ... and the two monitors' runs differ: their own settings and references
st=$(q -c "SELECT string_agg(DISTINCT monitor || ':' || stattest, ' ' ORDER BY monitor || ':' || stattest)
           FROM driftmon.column_history WHERE batch = 'd1' AND column_name = 'AMT_CREDIT'")
[ "$st" = "a:wasserstein b:psi" ] && ok "AMT_CREDIT of batch d1: wasserstein for a, psi for b (b's drift settings)" ||
    bad "per-monitor settings" "$st"
ds=$(q -c "SELECT count(DISTINCT drift_share) FROM driftmon.run WHERE batch = 'd1'")
[ "$ds" = 2 ] && ok "each monitor's run records its own drift_share" || bad "drift_share" "$ds"

# ---- reports per monitor ---------------------------------------------------------------------------
rep_ok=t
for m in a b; do
    other=$([ $m = a ] && echo b || echo a)
    for id in $(q -c "SELECT id FROM driftmon.run WHERE monitor = '$m'"); do
        [ -f "$W/rep_$m/run-$id.html" ] && [ -f "$W/rep_$m/run-$id.json" ] && [ ! -e "$W/rep_$other/run-$id.html" ] || rep_ok="run $id of $m"
        [ "$(q -c "SELECT report_html FROM driftmon.run WHERE id = $id")" = "$W/rep_$m/run-$id.html" ] || rep_ok="path of run $id"
    done
    [ -f "$W/rep_$m/index.html" ] || rep_ok="index of $m"
    hp="$W/rep_$m/history-ref_$m-$(printf 'ref_%s' $m | sha256sum | cut -c1-16).html"
    [ -f "$hp" ] || rep_ok="history page of $m ($hp)"
done
[ "$rep_ok" = t ] && ok "each monitor's reports, index.html and history page in its own reports.dir" || bad "reports per monitor" "$rep_ok"
ida=$(q -c "SELECT max(id) FROM driftmon.run WHERE monitor = 'a' AND batch = 'd1'")
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["monitor"] == "a", d.get("monitor")' \
    "$W/rep_a/run-$ida.json" 2>"$W/py.err" && grep -q '<dt>Monitor</dt><dd>a</dd>' "$W/rep_a/run-$ida.html" &&
    ok "the JSON and HTML reports name the monitor" || bad "monitor in the reports" "$(cat "$W/py.err")"
# an index lists its own monitor's runs only
nidx=$(grep -o 'run-[0-9]*\.html' "$W/rep_b/index.html" | sort -u | wc -l)
nb=$(q -c "SELECT count(*) FROM driftmon.run WHERE monitor = 'b'")
[ "$nidx" = "$nb" ] && ok "rep_b/index.html links b's $nb runs and none of a's" || bad "index of b" "$nidx links, $nb runs"

# ---- history and views ------------------------------------------------------------------------------
"$DM" history --runs --monitor b --format csv "${C[@]}" >"$W/h.csv" 2>"$W/h.err"
hb=$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), sorted({x["monitor"] for x in r}))' "$W/h.csv" 2>&1)
[ "$hb" = "$nb ['b']" ] && ok "history --runs --monitor b: b's $nb runs, with the monitor column" || bad "history --monitor" "$hb $(cat "$W/h.err")"
hc=$("$DM" history --column AMT_CREDIT --format json "${C[@]}" 2>&1 |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(sorted({x["monitor"] for x in r}))' 2>&1)
[ "$hc" = "['a', 'b']" ] && ok "history --column without --monitor: both monitors, each row named" || bad "history column" "$hc"
"$DM" check d1 "${C[@]}" >/dev/null 2>"$W/err"
rc=$?
[ $rc = 2 ] && grep -q -- '--monitor' "$W/err" && grep -q 'a, b' "$W/err" &&
    ok "check without --monitor: exit 2, naming the choices" || bad "check without --monitor" "exit $rc: $(cat "$W/err")"
"$DM" check d1 --monitor c "${C[@]}" >/dev/null 2>"$W/err"
rc=$?
[ $rc = 2 ] && grep -q '"c"' "$W/err" && ok "check --monitor c (unknown): exit 2, naming it" || bad "check --monitor c" "exit $rc: $(cat "$W/err")"

"$GEN" --rows 300 --seed 21 --no-target -o "$W/cur.csv"
"$DM" compare "$W/ref_a.csv" "$W/cur.csv" "${C[@]}" --quiet >/dev/null 2>"$W/err"
rc=$?
[ $rc = 2 ] && grep -q 'without "monitors"' "$W/err" &&
    ok "compare with a monitors file: exit 2 (its settings are per monitor), not the defaults" ||
    bad "compare with monitors" "exit $rc: $(cat "$W/err")"

# ---- monitor b broken mid-test --------------------------------------------------------------------
# b's rows of d3 are written, then its table goes away before the batch is submitted
{
    echo "BEGIN;"
    echo "SET LOCAL dm.batch = 'd3';"
    echo "COPY apps_b ($cols) FROM STDIN;"
    cat "$W/rows19.tsv"
    echo '\.'
    echo "COMMIT;"
} | q >/dev/null
q -c "ALTER TABLE apps_b RENAME TO apps_b_away"
submit a d3 "$W/rows19.tsv"
q -c "SELECT driftmon.submit_batch('b', 'd3')" >/dev/null
if wait_until 30 "SELECT attempts >= 1 AND last_error IS NOT NULL FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'" &&
    wait_until 30 "SELECT count(*) = 1 FROM driftmon.run WHERE monitor = 'a' AND batch = 'd3'"; then
    ok "table of b gone: b's batch d3 fails, a's batch d3 gets its run"
else
    bad "b broken" "$(q -c "SELECT monitor, batch, attempts, last_error, done_at FROM driftmon.batch WHERE batch = 'd3'")"
fi
err=$(q -c "SELECT last_error FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'")
[[ $err == *apps_b* ]] && grep -q 'msg="could not check batch" batch=d3 .*monitor=b$' "$W/d.log" &&
    ok "the failure names b's table and is logged with monitor=b" || bad "b's failure" "$err"
[ "$(q -c "SELECT lease_until > clock_timestamp() AND done_at IS NULL FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'")" = t ] &&
    ok "b's batch is held back (fail_batch's back-off), not given up" || bad "b's back-off"
# a keeps going while b is broken
submit a d4 "$W/rows11.tsv"
wait_until 30 "SELECT count(*) = 1 FROM driftmon.run WHERE monitor = 'a' AND batch = 'd4'" &&
    ok "a keeps producing runs while b is broken" || bad "a while b broken"
# retried after the back-off (5 s for the first failure)
wait_until 30 "SELECT attempts >= 2 FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'" &&
    ok "b's batch is retried after its back-off" || bad "b retried" "$(q -c "SELECT attempts, lease_until FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'")"
kill -0 "$dpid" 2>/dev/null && ok "the daemon is still running" || bad "the daemon died"
# fixed: b's batch gets its run at the next retry (10 s after the second failure, at most)
q -c "ALTER TABLE apps_b_away RENAME TO apps_b"
wait_until 40 "SELECT count(*) = 1 FROM driftmon.run WHERE monitor = 'b' AND batch = 'd3'" &&
    ok "b's table back: b's batch d3 gets its run" ||
    bad "b recovered" "$(q -c "SELECT attempts, last_error, done_at FROM driftmon.batch WHERE monitor = 'b' AND batch = 'd3'")"
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
[ $rc = 0 ] && ok "SIGTERM: the daemon exits 0" || bad "daemon exit" "$rc"

# ---- the chain covers the monitor -------------------------------------------------------------------
"$DM" verify "${C[@]}" >"$W/v.out" 2>&1 && ok "driftmon verify passes over runs of two monitors" ||
    bad "verify" "$(tail -n 5 "$W/v.out")"
[ "$(q -c "SELECT count(*) FROM driftmon.verify_chain()")" = 0 ] && ok "driftmon.verify_chain() finds nothing" || bad "verify_chain"
rid=$(q -c "SELECT max(id) FROM driftmon.run WHERE monitor = 'b'")
q -c "ALTER TABLE driftmon.run DISABLE TRIGGER USER; UPDATE driftmon.run SET monitor = 'a' WHERE id = $rid;
      ALTER TABLE driftmon.run ENABLE TRIGGER USER" >/dev/null
"$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
[ $rc = 4 ] && grep -q "run $rid" "$W/v.out" &&
    [ "$(q -c "SELECT count(*) FROM driftmon.verify_chain() WHERE run_id = $rid")" -ge 1 ] &&
    ok "a run's monitor rewritten: driftmon verify exits 4 naming run $rid, verify_chain() too" ||
    bad "tampered monitor" "exit $rc: $(tail -n 5 "$W/v.out")"

finish

#!/usr/bin/env bash
# perfmon.sh - the realised performance of two monitors' cohorts in one daemon, and what an
# operator sees of it (issue 21): `driftmon alerts` and /metrics.  Against a real PostgreSQL
# started for the test; the daemon runs as a login role of driftmon_daemon, `alerts` as one of
# driftmon_auditor.  Monitors `a` and `b` (the monitors form) on two tables whose label and
# score columns have other names (a: TARGET, score; b: outcome, risk), with other thresholds,
# costs, label delays (2 s and 4 s) and retrain.cost_increase; both have a batch `d1` of their
# own rows.  Checks:
#   - each monitor's cohorts are evaluated with its own settings and attributed to it: every
#     figure (counts, AUC, recall, precision, business cost, optimal threshold, the
#     reference's figures, cost_increase) is tests/oracle/perf_rules.py's on the cohort's rows
#     and the monitor's reference CSV under that monitor's `model`; the stored monitor, label
#     and score columns, threshold and costs are the monitor's; none before its own delay;
#   - a costly cohort of each flags retraining, reason cost: a's delivered (the hook exits 0),
#     b's dead (the hook refuses b's, retrain.max_attempts 2), each payload naming its monitor;
#   - `driftmon alerts` (as the auditor) lists the drift and the cost alerts with a reason
#     column: every alert of both outboxes (read from the tables, not through the view) with
#     its state, reason, evaluation, monitor, attempts and cohort; the dead one's last error and
#     the hook's output; --state and --reason filter; the view driftmon.retrain_alerts is the
#     auditor's and the daemon's, not the engine's;
#   - /metrics: driftmon_cohort_evaluations_total{monitor,result}, driftmon_cost_alerts{monitor,
#     state} and the newest evaluation's gauges per monitor equal the database's values; b's
#     cohort with a label 2 counts as failed for b only; promtool accepts the page.
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=perfmon
. tests/lib/results.sh
if ! "$PY" -c 'import numpy, pandas, sklearn' 2>/dev/null; then
    bad "$PY cannot import numpy, pandas and sklearn (make deps installs them)"
    finish
fi

. tests/lib/pg.sh
serve_pid=""
pg_cleanup_extra() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
}
pg_setup perfmon
. tests/lib/wait.sh

# ---- two tables: a's label and score are TARGET and score, b's outcome and risk ---------------
"$GEN" --schema apps --score >"$W/apps.sql"
cols_a=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/apps.sql" | paste -sd, -)
cols_b=$(sed -e 's/"TARGET"/"outcome"/' -e 's/"score"/"risk"/' <<<"$cols_a")
for t in a b; do
    sed "s/CREATE TABLE \"apps\"/CREATE TABLE \"apps_$t\"/" "$W/apps.sql" | q >/dev/null &&
        q -c "ALTER TABLE apps_$t ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true)" ||
        { bad "could not create apps_$t"; finish; }
done
q -c 'ALTER TABLE apps_b RENAME COLUMN "TARGET" TO outcome' -c 'ALTER TABLE apps_b RENAME COLUMN score TO risk' ||
    { bad "could not rename b's columns"; finish; }
"$GEN" --rows 3000 --seed 41 --score -o "$W/ref_a.csv"
"$GEN" --rows 2500 --seed 51 --score -o "$W/ref_b0.csv"
sed -e '1s/^SK_ID_CURR,TARGET,/SK_ID_CURR,outcome,/' -e '1s/,score$/,risk/' "$W/ref_b0.csv" >"$W/ref_b.csv"
head -n 1 "$W/ref_b.csv" | grep -q '^SK_ID_CURR,outcome,.*,risk$' || { bad "b's reference header"; finish; }
for b in a_d1:42:700 a_cost:43:400 a_drift:44:500 b_d1:52:600 b_cost:53:400 b_bad:54:300; do
    IFS=: read -r name seed rows <<<"$b"
    extra=()
    [ "$name" = a_drift ] && extra=(--drift AMT_INCOME_TOTAL=3,DAYS_BIRTH=2,AMT_CREDIT=3,AMT_ANNUITY=3,DAYS_EMPLOYED=2)
    "$GEN" --rows "$rows" --seed "$seed" --score --first-id $((seed * 10000)) --format tsv-copy \
        --no-header "${extra[@]}" -o "$W/$name.tsv"
done
chmod 0644 "$W"/*

cat >"$W/hook.sh" <<'EOF'
#!/bin/sh
# a cost alert of b is refused; everything else is taken
payload=$HOOK_DIR/payload.$DRIFTMON_RUN_ID.${DRIFTMON_PERFORMANCE_ID:-run}
cat >"$payload"
echo "$DRIFTMON_RUN_ID ${DRIFTMON_RETRAIN_REASON:-drift} ${DRIFTMON_PERFORMANCE_ID:--} $DRIFTMON_BATCH" >>"$HOOK_DIR/hook.log"
if [ "${DRIFTMON_RETRAIN_REASON:-}" = cost ] && grep -q '"monitor": "b"' "$payload"; then
    echo "refusing evaluation $DRIFTMON_PERFORMANCE_ID of $DRIFTMON_BATCH"
    exit 3
fi
echo "taken $DRIFTMON_RUN_ID"
EOF
chmod 0755 "$W/hook.sh"
export HOOK_DIR=$W
cat >"$W/mon.json" <<EOF
{
  "cache": {"dir": "$W/cache"},
  "metrics": {"listen": "127.0.0.1:0"},
  "retrain": {"hook": ["$W/hook.sh"], "env": ["HOOK_DIR"], "max_attempts": 2},
  "monitors": [
    {"name": "a", "source": {"table": "apps_a", "batch_column": "batch_id"},
     "reference": {"name": "ref_a"}, "reports": {"dir": "$W/rep_a"},
     "columns": {"exclude": ["SK_ID_CURR", "TARGET"]},
     "model": {"score_column": "score", "decision_threshold": 0.3, "label_column": "TARGET",
               "label_delay": "2 seconds", "cost": {"fn": 10, "fp": 1}},
     "retrain": {"fraction": 0.01, "cost_increase": 0.1}},
    {"name": "b", "source": {"table": "apps_b", "batch_column": "batch_id"},
     "reference": {"name": "ref_b"}, "reports": {"dir": "$W/rep_b"},
     "columns": {"exclude": ["SK_ID_CURR", "outcome"]},
     "model": {"score_column": "risk", "decision_threshold": 0.5, "label_column": "outcome",
               "label_delay": "4 seconds", "cost": {"fn": 4, "fp": 2.5}},
     "retrain": {"fraction": 1, "cost_increase": 0.25}}
  ]
}
EOF
C=(--config "$W/mon.json")
# each monitor's model as perf_rules.py reads it
for m in a b; do
    "$PY" -c 'import json, sys; c = json.load(open(sys.argv[1])); m = [m for m in c["monitors"] if m["name"] == sys.argv[2]][0]; json.dump({"model": m["model"], "cost_increase": m["retrain"]["cost_increase"], "delay": float(m["model"]["label_delay"].split()[0])}, open(sys.argv[3], "w"))' \
        "$W/mon.json" "$m" "$W/model_$m.json"
done
"$DM" init "${C[@]}" 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
q -c "CREATE ROLE dm_d LOGIN" -c "GRANT driftmon_daemon TO dm_d" -c "GRANT SELECT ON apps_a, apps_b TO dm_d" \
  -c "CREATE ROLE dm_a LOGIN" -c "GRANT driftmon_auditor TO dm_a" \
  -c "CREATE ROLE dm_e LOGIN" -c "GRANT driftmon_engine TO dm_e" -c "CREATE ROLE dm_x LOGIN" >/dev/null ||
    { bad "could not create the login roles"; finish; }
for m in a b; do
    PGUSER=dm_d "$DM" reference load "$W/ref_$m.csv" --name "ref_$m" --monitor $m "${C[@]}" >"$W/ref.out" 2>"$W/ref.err" ||
        { bad "reference load of $m" "$(cat "$W/ref.err")"; finish; }
done

# submit MONITOR NAME [SQL]: the batch's rows, SQL on them, and submit_batch in one transaction
submit() {
    local m=$1 name=$2 batch=${2#?_} cols=cols_$1
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$batch';"
        echo "COPY apps_$m (${!cols}) FROM STDIN;"
        cat "$W/$name.tsv"
        echo '\.'
        [ -z "${3:-}" ] || echo "$3"
        echo "SELECT driftmon.submit_batch('$m', '$batch');"
        echo "COMMIT;"
    } | q >/dev/null
}
# costly cohorts: every score above the monitor's threshold, every label 0 (good clients refused)
submit a a_d1 && submit b b_d1 &&
    submit a a_cost "UPDATE apps_a SET \"TARGET\" = 0, score = 0.9 WHERE batch_id = 'cost';" &&
    submit b b_cost "UPDATE apps_b SET outcome = 0, risk = 0.9 WHERE batch_id = 'cost';" &&
    submit a a_drift && submit b b_bad "UPDATE apps_b SET outcome = NULL WHERE batch_id = 'bad';" ||
    { bad "could not submit the batches"; finish; }

PGUSER=dm_d "$DM" serve "${C[@]}" --poll 0.3 --retry-base 0.2 --retry-cap 0.5 >"$W/serve.log" 2>&1 &
serve_pid=$!
wait_until 90 "SELECT count(*) = 6 FROM driftmon.run" || { bad "the six batches are checked" "$(tail -5 "$W/serve.log")"; finish; }
# b's `bad` cohort: its labels arrive after its run, one of them 2
q -c "UPDATE apps_b SET outcome = (\"SK_ID_CURR\" % 2)::float8 WHERE batch_id = 'bad'" \
  -c "UPDATE apps_b SET outcome = 2 WHERE batch_id = 'bad' AND \"SK_ID_CURR\" = (SELECT min(\"SK_ID_CURR\") FROM apps_b WHERE batch_id = 'bad')" >/dev/null

# ---- each monitor's cohorts, its own settings, the oracle's figures ----------------------------
if wait_until 60 "SELECT count(*) FILTER (WHERE monitor = 'a') = 3 AND count(*) FILTER (WHERE monitor = 'b') = 2 FROM driftmon.performance"; then
    sleep 1
    fails=""
    for mb in a:d1 a:cost a:drift b:d1 b:cost; do
        m=${mb%%:*} b=${mb#*:}
        lab=$([ "$m" = a ] && echo TARGET || echo outcome) sc=$([ "$m" = a ] && echo score || echo risk)
        q -c "\\copy (SELECT \"$lab\", \"$sc\" FROM apps_$m WHERE batch_id = '$b') TO '$W/cohort_${m}_$b.csv' CSV HEADER"
        "$PY" tests/oracle/perf_rules.py "$W/ref_$m.csv" "$W/cohort_${m}_$b.csv" --config "$W/model_$m.json" >"$W/oracle_${m}_$b.json" 2>"$W/oracle.err" ||
            { fails+="oracle failed on $m/$b: $(cat "$W/oracle.err"); "; continue; }
        q -c "SELECT row_to_json(x) FROM (SELECT p.*, r.batch, extract(epoch FROM p.evaluated_at - r.finished_at)::float8 AS waited
              FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id
              WHERE r.monitor = '$m' AND r.batch = '$b') x" >"$W/row_${m}_$b.json"
        d=$("$PY" - "$W/oracle_${m}_$b.json" "$W/row_${m}_$b.json" "$W/model_$m.json" "$m" <<'EOF'
import json, math, sys
o = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
cfg = json.load(open(sys.argv[3]))
mon = sys.argv[4]
model = cfg["model"]
bad = []
if len(rows) != 1:
    print(f"{len(rows)} evaluations"); sys.exit()
r = rows[0]
cur, ref = o["current"], o["reference"]
def close(k, want, got):
    if want is None or got is None:
        if want != got:
            bad.append(f"{k}: oracle {want}, stored {got}")
    elif not math.isclose(want, got, rel_tol=1e-12, abs_tol=1e-15):
        bad.append(f"{k}: oracle {want!r}, stored {got!r}")
for k in ("rows", "left_out", "tp", "fp", "tn", "fn"):
    if cur[k] != r[k]:
        bad.append(f"{k}: oracle {cur[k]}, stored {r[k]}")
for k in ("auc", "recall", "precision", "business_cost", "business_cost_at_optimal"):
    close(k, cur[k], r[k])
if cur["optimal_refuses_nobody"]:
    if r["optimal_threshold"] != "Infinity":
        bad.append(f"optimal_threshold: oracle +inf, stored {r['optimal_threshold']}")
else:
    close("optimal_threshold", cur["optimal_threshold"], r["optimal_threshold"])
close("reference_business_cost", ref["business_cost"], r["reference_business_cost"])
close("reference_auc", ref["auc"], r["reference_auc"])
if not ref["optimal_refuses_nobody"]:
    close("reference_optimal_threshold", ref["optimal_threshold"], r["reference_optimal_threshold"])
close("cost_increase", o["cost_increase"], r["cost_increase"])
if r["retrain_flagged"] != (o["cost_increase"] is not None and o["cost_increase"] > cfg["cost_increase"]):
    bad.append(f"retrain_flagged {r['retrain_flagged']} with cost_increase {o['cost_increase']} > {cfg['cost_increase']}")
want = {"monitor": mon, "label_column": model["label_column"], "score_column": model["score_column"],
        "decision_threshold": model["decision_threshold"], "cost_fn": model["cost"]["fn"],
        "cost_fp": model["cost"]["fp"], "retrain_cost_increase": cfg["cost_increase"]}
for k, v in want.items():
    if r[k] != v:
        bad.append(f"{k}: stored {r[k]!r}, the monitor's {v!r}")
if not r["waited"] >= cfg["delay"]:
    bad.append(f"evaluated {r['waited']:.2f} s after its run, before its label_delay {cfg['delay']} s")
print("; ".join(bad))
EOF
)
        [ -z "$d" ] || fails+="$m/$b: $d; "
    done
    [ -z "$fails" ] && ok "two monitors' cohorts (batch d1 in both): each evaluated with its own label and score columns, threshold, costs and delay, attributed to it, every figure perf_rules.py's" ||
        bad "two monitors' cohorts: the oracle's figures, each with its own settings" "$fails"
    fl=$(q -c "SELECT string_agg(r.monitor || '/' || r.batch, ' ' ORDER BY r.monitor, r.batch) FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id WHERE p.retrain_flagged")
    [ "$fl" = "a/cost b/cost" ] && ok "the costly cohort of each monitor flags retraining (reason cost), no other" ||
        bad "the costly cohorts flag retraining" "flagged: $fl"
else
    bad "both monitors' cohorts are evaluated" "$(q -c "SELECT monitor, count(*) FROM driftmon.performance GROUP BY 1"); $(grep -c . "$W/serve.log") log lines: $(tail -3 "$W/serve.log")"
fi

# ---- the cost alerts: a's delivered, b's dead, each through its own monitor -------------------------
if wait_until 60 "SELECT count(*) = 2 FROM driftmon.performance_outbox o WHERE o.delivered_at IS NOT NULL OR o.dead_at IS NOT NULL"; then
    st=$(q -c "SELECT string_agg(p.monitor || ':' || r.batch || ':' || CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered' ELSE 'dead' END || ':' || o.attempts, ' ' ORDER BY p.monitor)
               FROM driftmon.performance_outbox o JOIN driftmon.performance p ON p.id = o.performance_id JOIN driftmon.run r ON r.id = p.run_id")
    pa=$(q -c "SELECT o.performance_id || ' ' || p.run_id FROM driftmon.performance_outbox o JOIN driftmon.performance p ON p.id = o.performance_id WHERE p.monitor = 'a'")
    pb=$(q -c "SELECT o.performance_id || ' ' || p.run_id FROM driftmon.performance_outbox o JOIN driftmon.performance p ON p.id = o.performance_id WHERE p.monitor = 'b'")
    ma=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["monitor"])' "$W/payload.${pa#* }.${pa%% *}" 2>/dev/null)
    mb=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["monitor"])' "$W/payload.${pb#* }.${pb%% *}" 2>/dev/null)
    [ "$st" = "a:cost:delivered:1 b:cost:dead:2" ] && [ "$ma" = a ] && [ "$mb" = b ] &&
        grep -q "^${pa#* } cost ${pa%% *} cost\$" "$W/hook.log" &&
        ok "the cost alerts: a's delivered, b's dead after 2 attempts, each payload naming its monitor" ||
        bad "the cost alerts of each monitor" "$st; payload monitors $ma $mb; $(cat "$W/hook.log")"
else
    bad "the cost alerts are delivered or dead" "$(q -c "SELECT * FROM driftmon.performance_outbox")"
fi
ndrift=$(q -c "SELECT count(*) FROM driftmon.retrain_outbox")
[ "$ndrift" -ge 1 ] || bad "a drift alert exists to list beside the cost alerts" "none: a_drift did not flag"
wait_until 30 "SELECT count(*) = 0 FROM driftmon.retrain_outbox WHERE delivered_at IS NULL AND dead_at IS NULL" >/dev/null

# ---- driftmon alerts, as the auditor -----------------------------------------------------------------
# what every line must say, from the outboxes themselves (the superuser reads the tables)
want=$(q -F ' ' -c "SELECT o.run_id, CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered' WHEN o.dead_at IS NOT NULL THEN 'dead' ELSE 'pending' END,
                           'drift', '-', r.monitor, o.attempts, r.batch
                    FROM driftmon.retrain_outbox o JOIN driftmon.run r ON r.id = o.run_id
                    UNION ALL
                    SELECT p.run_id, CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered' WHEN o.dead_at IS NOT NULL THEN 'dead' ELSE 'pending' END,
                           'cost', o.performance_id::text, p.monitor, o.attempts, r.batch
                    FROM driftmon.performance_outbox o JOIN driftmon.performance p ON p.id = o.performance_id JOIN driftmon.run r ON r.id = p.run_id" | sort)
if PGUSER=dm_a "$DM" alerts "${C[@]}" >"$W/alerts.out" 2>"$W/alerts.err"; then
    got=$(tail -n +2 "$W/alerts.out" | awk 'NF { print $1, $2, $3, $4, $5, $6, $7 }' | sort)
    hdr=$(head -n 1 "$W/alerts.out" | tr -s ' ')
    [ "$got" = "$want" ] && [ "$hdr" = "run_id state reason evaluation monitor attempts batch/window created next/delivered/dead last_error | last_output" ] &&
        ok "driftmon alerts as the auditor: every drift and cost alert ($(wc -l <<<"$want")), with its state, reason, evaluation, monitor, attempts and cohort" ||
        bad "driftmon alerts lists the drift and the cost alerts" "$(diff <(echo "$want") <(echo "$got")); header: $hdr"
    line=$(grep -E "^[0-9]+ +dead +cost +${pb%% *} +b " "$W/alerts.out")
    err=$(q -c "SELECT last_error FROM driftmon.performance_outbox WHERE performance_id = ${pb%% *}")
    [ -n "$err" ] && [[ $line == *" $err | refusing evaluation ${pb%% *} of cost\\n" ]] &&
        ok "the dead cost alert's line ends with its last error and the hook's output (escaped)" ||
        bad "the dead cost alert's error and output" "line: $line; error: $err"
else
    bad "driftmon alerts as the auditor's login" "$(cat "$W/alerts.err")"
fi
sel() { PGUSER=dm_a "$DM" alerts "${C[@]}" "$@" 2>&1 | tail -n +2 | awk 'NF { print $1, $2, $3, $4, $5, $6, $7 }' | sort; }
w_dead=$(grep ' dead ' <<<"$want")
w_cost=$(grep ' cost ' <<<"$want")
w_drift=$(grep ' drift ' <<<"$want")
[ "$(sel --state dead)" = "$w_dead" ] && [ "$(sel --reason cost)" = "$w_cost" ] && [ "$(sel --reason drift)" = "$w_drift" ] &&
    [ "$(sel --state delivered --reason cost)" = "$(grep ' delivered cost ' <<<"$want")" ] &&
    ok "alerts --state and --reason select the lines" ||
    bad "alerts --state and --reason" "dead: $(sel --state dead) / cost: $(sel --reason cost)"
PGUSER=dm_a "$DM" alerts "${C[@]}" --reason price >/dev/null 2>"$W/u.err"
rc=$?
[ "$rc" = 2 ] && grep -q -- '--reason drift|cost' "$W/u.err" && ok "alerts --reason price: exit 2 with the usage" ||
    bad "alerts --reason price: exit 2" "exit $rc: $(cat "$W/u.err")"
n_view=$(PGUSER=dm_a q -c "SELECT count(*) FILTER (WHERE reason = 'cost') || ' ' || count(*) FILTER (WHERE reason = 'drift') FROM driftmon.retrain_alerts" 2>&1)
n_tab=$(q -c "SELECT (SELECT count(*) FROM driftmon.performance_outbox) || ' ' || (SELECT count(*) FROM driftmon.retrain_outbox)")
n_dae=$(PGUSER=dm_d q -c "SELECT count(*) FROM driftmon.retrain_alerts" 2>&1)
den=""
for u in dm_e dm_x; do
    out=$(PGUSER=$u psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT * FROM driftmon.retrain_alerts" 2>&1) ||
        [[ $out != *"ERROR:  42501:"* ]] || den+="$u "
done
[ "$n_view" = "$n_tab" ] && [ "$n_dae" = "$(( ${n_tab% *} + ${n_tab#* } ))" ] && [ "$den" = "dm_e dm_x " ] &&
    ok "driftmon.retrain_alerts: the auditor and the daemon read both outboxes through it ($n_tab cost/drift); the engine and a plain login are refused (42501)" ||
    bad "driftmon.retrain_alerts' grants" "auditor $n_view, tables $n_tab, daemon $n_dae, refused: $den"

# ---- /metrics ---------------------------------------------------------------------------------------
P=$(sed -n 's/.*msg="metrics endpoint listening".* port=\([0-9]*\).*/\1/p' "$W/serve.log" | tail -n 1)
wait_log 30 "$W/serve.log" 'label of the cohort is neither 0 nor 1' >/dev/null
cat >"$W/cmp.py" <<'EOF'
# cmp.py METRICS DB.JSON: the realised performance's series against the database
import json, math, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
db = json.load(open(sys.argv[2]))
series, typed = {}, {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
for line in text.split("\n"):
    if line.startswith("# TYPE "):
        _, _, n, t = line.split(" ")
        typed[n] = t
    if not line or line.startswith("#"):
        continue
    m = line_re.match(line)
    labels = tuple(sorted(re.findall(r'([a-zA-Z_]+)="([^"]*)"', m.group(2) or "")))
    series[(m.group(1), labels)] = float(m.group(3))
def get(name, **labels):
    return series.get((name, tuple(sorted(labels.items()))))
errs = []
for n, t in (("driftmon_cohort_evaluations_total", "counter"), ("driftmon_cost_alerts", "gauge"),
             ("driftmon_business_cost", "gauge"), ("driftmon_reference_business_cost", "gauge"),
             ("driftmon_auc", "gauge"), ("driftmon_reference_auc", "gauge"),
             ("driftmon_last_evaluation_timestamp_seconds", "gauge")):
    if typed.get(n) != t:
        errs.append(f"{n}: TYPE {typed.get(n)}, want {t}")
for m in ("a", "b"):
    d = db[m]
    for r, want in (("cost_alert", d["flagged"]), ("no_alert", d["unflagged"])):
        got = get("driftmon_cohort_evaluations_total", monitor=m, result=r)
        if got != want:
            errs.append(f"{m} evaluations {r}: /metrics {got}, database {want}")
    f = get("driftmon_cohort_evaluations_total", monitor=m, result="failed")
    if (m == "a" and f != 0) or (m == "b" and not (f or 0) >= 1):
        errs.append(f"{m} evaluations failed: {f}")
    for s in ("pending", "delivered", "dead"):
        got = get("driftmon_cost_alerts", monitor=m, state=s)
        if got != d["alerts"].get(s, 0):
            errs.append(f"{m} cost alerts {s}: /metrics {got}, database {d['alerts'].get(s, 0)}")
    for k, n in (("business_cost", "driftmon_business_cost"), ("reference_business_cost", "driftmon_reference_business_cost"),
                 ("auc", "driftmon_auc"), ("reference_auc", "driftmon_reference_auc"),
                 ("at", "driftmon_last_evaluation_timestamp_seconds")):
        got, want = get(n, monitor=m), d["newest"][k]
        if want is None:  # undefined (b's newest cohort has one class: no AUC): no series
            if got is not None:
                errs.append(f"{m} {n}: /metrics {got!r}, undefined in the database")
        elif got is None or abs(got - want) > (1e-6 if k == "at" else 0):
            errs.append(f"{m} {n}: /metrics {got!r}, database {want!r}")
for k in series:
    if k[0].startswith(("driftmon_cohort", "driftmon_cost", "driftmon_business", "driftmon_auc")) and dict(k[1]).get("monitor") not in ("a", "b"):
        errs.append(f"a series of another monitor: {k}")
if db["b"]["newest"]["auc"] is not None:
    errs.append("b's newest cohort has an AUC: the test meant it to have one class")
print("\n".join(errs) if errs else "same")
EOF
res="no page"
for _ in $(seq 1 50); do
    q -c "SELECT json_object_agg(m, json_build_object(
            'flagged', (SELECT count(*) FROM driftmon.performance p WHERE p.monitor = m AND p.retrain_flagged),
            'unflagged', (SELECT count(*) FROM driftmon.performance p WHERE p.monitor = m AND NOT p.retrain_flagged),
            'alerts', (SELECT coalesce(json_object_agg(s, n), '{}') FROM (SELECT CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered' WHEN o.dead_at IS NOT NULL THEN 'dead' ELSE 'pending' END s, count(*) n
                       FROM driftmon.performance_outbox o JOIN driftmon.performance p ON p.id = o.performance_id WHERE p.monitor = m GROUP BY 1) x),
            'newest', (SELECT json_build_object('at', extract(epoch FROM p.evaluated_at)::float8, 'business_cost', p.business_cost,
                              'reference_business_cost', p.reference_business_cost, 'auc', p.auc, 'reference_auc', p.reference_auc)
                       FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id WHERE r.monitor = m ORDER BY p.run_id DESC, p.id DESC LIMIT 1)))
          FROM unnest(ARRAY['a', 'b']) m" >"$W/db.json"
    "$PY" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read())' "$P" >"$W/m.txt" 2>/dev/null &&
        res=$("$PY" "$W/cmp.py" "$W/m.txt" "$W/db.json" 2>&1)
    [ "$res" = same ] && break
    sleep 0.2
done
[ "$res" = same ] &&
    ok "/metrics: evaluations by result, cost alerts by state and the newest evaluation's cost and AUC with the reference's, per monitor, equal the database (b's label 2: failed for b only)" ||
    bad "/metrics shows the realised performance per monitor" "$res"
# b's cohort with a label 2, looked at every 0.3 s: counted failed at each look, logged once
failed_b() {
    "$PY" -c 'import re, sys, urllib.request
t = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
m = re.search(r"^driftmon_cohort_evaluations_total\{[^}]*monitor=\"b\"[^}]*result=\"failed\"[^}]*\} (\S+)$|^driftmon_cohort_evaluations_total\{[^}]*result=\"failed\"[^}]*monitor=\"b\"[^}]*\} (\S+)$", t, re.M)
print(int(float(m.group(1) or m.group(2))) if m else -1)' "$P"
}
f1=$(failed_b)
sleep 1.5
f2=$(failed_b)
brid=$(q -c "SELECT id FROM driftmon.run WHERE monitor = 'b' AND batch = 'bad'")
nl=$(grep -c "neither 0 nor 1.* run_id=$brid " "$W/serve.log")
[ "$f1" -ge 1 ] && [ "$f2" -ge $((f1 + 2)) ] && [ "$nl" = 1 ] &&
    ok "b's cohort with a label 2: counted failed at every look ($f1, then $f2 1.5 s later), logged once" ||
    bad "a cohort with a bad label: failed at each look, logged once" "failed $f1 then $f2; $nl log lines for run ${brid:-none}"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$W/m.txt" >"$W/promtool.out" 2>&1 &&
        ok "promtool check metrics accepts the page" || bad "promtool check metrics" "$(head -5 "$W/promtool.out")"
else
    skip "promtool check metrics" "promtool not installed (Debian package prometheus: make deps)"
fi

finish

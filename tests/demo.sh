#!/usr/bin/env bash
# demo.sh - `make demo`: driftmon beside a simulated scoring engine, end to end.
#
#   bash tests/demo.sh          the demo (a 307,511-row reference, seven daily batches)
#   bash tests/demo.sh --short  the same story on fewer rows (run by make check)
#   bash tests/demo.sh stop     stop what an interrupted demo left running (make demo-stop)
#
# What it does: starts a throwaway PostgreSQL under demo/ (on a Unix socket; reused when
# already running), creates the demo database afresh, runs
# `driftmon init`, generates a Home-Credit-shaped reference (application columns plus the
# credit-bureau aggregates, missing for applicants without bureau history) and loads it as
# reference "homecredit", starts `driftmon serve` with a retrain hook that appends a line to
# demo/hook.log, then plays the scoring engine: seven daily batches written into table
# `applications` and submitted with driftmon.submit_batch() in the same transaction.
#
# The scoring engine is the generator's --score model (a fixed logistic model on
# EXT_SOURCE_1..3, age and credit/annuity, tests/gen/gen.c): every row carries its `score`,
# the reference's TARGET is drawn from it, and the model's importances (|b| x sd, each other
# column 0.5 %) go to data/importance.csv.
#
# The week tells the study's story.  Days 1-7: the bureau drift of the original study:
# revolving loans fall from 9.52 % to 0.9 % of applications, applicants with bureau history
# grow from 30 % to 86.8 %, and the bureau aggregates of those applicants shift a little more
# each day (x 1 + 0.15 (day-1)/6): many columns, little importance, the score stable.  Days
# 5-7: the provider of EXT_SOURCE_3, the model's most important input, rescales it (x 0.9,
# 0.8, 0.65): one column, but the score moves, PSI stable on day 5, `watch` on day 6, `act`
# on day 7.  The retrain rule (retrain.fraction 0.5, weighted_fraction 0.3, score_psi 0.25)
# flags day 7's run only, for the reason score_psi (its outcomes, below, flag it once more, for
# the cost).  The plain share reaches 9.8 % on day 7 (13 of 132, twelve of them bureau
# aggregates): the old demo's count rule (fraction 0.085) fired on that alone; the weighted
# share (`compare`, --short data, these importances: 12 x 0.5 % + EXT_SOURCE_3's 11.8 % =
# 17.8 %) stays under 0.3.  PSI day by day (full / --short): 0.000 / 0.002 on days 1-4,
# 0.042 / 0.042, 0.149 / 0.153, 0.457 / 0.426.
# The importances are stored with the reference (`reference load --importance`), so every
# run reports the weighted share.
#
# The outcomes (issue 21).  The generator's own model gives each applicant a probability of
# default p from the row's values before the provider's rescaling (dm-gen --labels-out): the
# applicant did not change, the number the provider sends did.  The score is the same formula on
# the values as sent, so it is p on days 1-4 and overstates it from day 5.  The lender's system
# writes the outcomes into `applications`.TARGET (an UPDATE, once label_delay, here 5 seconds
# for 90 days, has passed since the batch's run) for days 1-3 and for day 7; the daemon then
# evaluates each of those cohorts once (driftmon.performance_history).  The threshold is 1/11:
# refusing costs 1 - p in expectation and granting 10 p, so for a score equal to p refusing
# when score >= 1/11 gives each row its least expected cost, and any other decision costs more.
# On day 7 the overstated score refuses applicants whose p is under 1/11: the expected cost per
# application (from p) rises by about 10 % over a calibrated score's on the same applicants
# (full / --short: 0.541 -> 0.597 / 0.541 -> 0.596; the reference's 0.539 / 0.541), and the
# realised one with it (full: days 1-3 0.531, 0.540, 0.534, day 7 0.606, the reference 0.539;
# --short: 0.500, 0.540, 0.531, day 7 0.598, the reference 0.542).  At the old threshold 0.2
# the same shift lowered the expected cost (a threshold above 1/11 refuses too few; the
# overstated score moves it towards 1/11).  retrain.cost_increase 0.05 flags day 7's cohort,
# reason cost (days 1-3: -7.7 % to +0.3 %), so the hook fires twice, both for day 7.
#
# Who runs it: PostgreSQL refuses to run as root, so as root the server runs as the postgres
# user (tests/pg/cluster.sh), which cannot enter a home directory of mode 0700 such as
# root's own: the cluster then goes to a directory of its own under /tmp, recorded in
# demo/pg.path so that the next demo reuses it and `make demo-stop` finds it.  As any other
# user the server runs as that user, in demo/pg: no sudo and no postgres user needed, only
# the PostgreSQL server binaries (package postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=$BUILD/driftmon
GEN=$BUILD/dm-gen
MODE=${1:-full}
case "$MODE" in
    full)
        D=$ROOT/demo
        REF_ROWS=307511
        BATCH_ROWS=48744
        ;;
    --short)
        D=${DM_DEMO_DIR:-$(mktemp -d /tmp/dm-demo.XXXXXX)}
        REF_ROWS=30000
        BATCH_ROWS=6000
        ;;
    stop)
        D=$ROOT/demo
        if [ -f "$D/serve.pid" ]; then
            kill -TERM "$(cat "$D/serve.pid")" 2>/dev/null || true
            rm -f "$D/serve.pid"
        fi
        bash tests/pg/cluster.sh stop "$(cat "$D/pg.path" 2>/dev/null || echo "$D/pg")" 2>/dev/null || true
        echo "demo stopped"
        exit 0
        ;;
    *)
        echo "usage: demo.sh [--short|stop]" >&2
        exit 2
        ;;
esac
LABEL_DELAY=5       # seconds: the demo's 90 days between a batch's scoring and its outcomes
LABEL_DAYS="1 2 3 7" # the days whose outcomes the lender's system writes
mkdir -p "$D/data" "$D/reports"
chmod 0755 "$D"
t_start=$(date +%s)
say() { printf '%s\n' "$*"; }

# the cluster's directory: demo/pg when its owner can reach it, else one under /tmp (above)
PG=$D/pg
blocked=""
if ! blocked=$(bash tests/pg/cluster.sh reach "$D"); then
    [ -n "$blocked" ] || exit 1 # cluster.sh said why
    PG=$(cat "$D/pg.path" 2>/dev/null || true)
    if [ -z "$PG" ] || [ ! -d "$PG" ]; then
        PG=$(mktemp -d /tmp/dm-demo-pg.XXXXXX)
        echo "$PG" >"$D/pg.path"
    fi
elif [ -f "$D/pg.path" ]; then # reachable now: the one under /tmp is not needed any more
    bash tests/pg/cluster.sh destroy "$(cat "$D/pg.path")" >/dev/null 2>&1 || true
    rm -f "$D/pg.path"
fi

serve_pid=""
stop_all() {
    if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
        # a cohort's read in progress ends before the daemon does: seconds on a loaded machine
        kill -TERM "$serve_pid" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -KILL "$serve_pid" 2>/dev/null; then
            echo "demo: driftmon serve did not stop within 30 s of SIGTERM: killed" >&2
        fi
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -f "$D/serve.pid"
    if [ "$MODE" = --short ]; then
        bash tests/pg/cluster.sh destroy "$PG" >/dev/null 2>&1 || true
        rm -f "$D/pg.path"
    else
        bash tests/pg/cluster.sh stop "$PG" >/dev/null 2>&1 || true
    fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---- PostgreSQL ----------------------------------------------------------------------------
say "== PostgreSQL (throwaway cluster in $PG)"
[ -z "$blocked" ] ||
    say "   not in $D/pg: the postgres user, which runs the server for root, cannot enter $blocked"
pg_env=$(bash tests/pg/cluster.sh start "$PG") ||
    { echo "demo: could not start PostgreSQL in $PG (cluster.sh said why, above)" >&2; exit 1; }
eval "$pg_env"
export PGDATABASE=demo
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS demo" -c "CREATE DATABASE demo"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# ---- data ----------------------------------------------------------------------------------
say "== generating the reference: $REF_ROWS applications (seed 1), scored; the model's importances"
"$GEN" --rows "$REF_ROWS" --seed 1 --score --importance-out "$D/data/importance.csv" \
    -o "$D/data/reference.csv"
bureau_cols=$(head -1 "$D/data/reference.csv" | tr ',' '\n' | grep '^client_bureau' | paste -sd' ')

cat >"$D/hook.sh" <<EOF
#!/bin/sh
# the demo's retrain hook: one line per delivery, the run's JSON report (or the cohort's
# evaluation, reason cost) kept beside it
if [ -n "\${DRIFTMON_PERFORMANCE_ID:-}" ]; then
    cat >"$D/hook-cost-\$DRIFTMON_RUN_ID.json"
else
    cat >"$D/hook-run-\$DRIFTMON_RUN_ID.json"
fi
echo "\$(date -u +%Y-%m-%dT%H:%M:%SZ) retrain requested: run=\$DRIFTMON_RUN_ID batch=\$DRIFTMON_BATCH reason=\${DRIFTMON_RETRAIN_REASON:-drift}" >>"$D/hook.log"
EOF
chmod 0755 "$D/hook.sh"
rm -f "$D/hook.log" "$D"/hook-run-*.json "$D"/hook-cost-*.json
cat >"$D/config.json" <<EOF
{
  "columns": {"exclude": ["SK_ID_CURR", "TARGET"]},
  "drift": {"drift_share": 0.5},
  "model": {"importance": "$D/data/importance.csv", "score_column": "score",
            "decision_threshold": 0.0909, "label_column": "TARGET", "label_delay": "$LABEL_DELAY seconds",
            "cost": {"fn": 10, "fp": 1}},
  "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25, "cost_increase": 0.05,
              "hook": ["$D/hook.sh"], "notify_channel": "driftmon_retrain",
              "hook_timeout": 30, "max_attempts": 5},
  "source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "homecredit"},
  "reports": {"dir": "$D/reports"},
  "cache": {"dir": "$D/cache"}
}
EOF
C=(--config "$D/config.json")

say "== driftmon init"
"$DM" init "${C[@]}"
say "== driftmon reference load"
"$DM" reference load "$D/data/reference.csv" --name homecredit --importance "$D/data/importance.csv" "${C[@]}"

# the monitored table: the batch columns (no TARGET) plus batch and timestamp
"$GEN" --schema applications --rows 1 --seed 1 --no-target --score >"$D/data/schema.sql"
q -f "$D/data/schema.sql"
# TARGET: the outcome, empty until the lender's system writes it
q -c "ALTER TABLE applications ADD COLUMN batch_id text, ADD COLUMN created_at timestamptz,
      ADD COLUMN \"TARGET\" smallint"
q -c "CREATE INDEX ON applications (batch_id)" -c "CREATE INDEX ON applications (created_at)"
gen_cols=$("$GEN" --rows 1 --seed 1 --no-target --score | head -1 | sed 's/\([^,]*\)/"\1"/g')

# write_labels [wait]: the lender's system writes the outcomes (data/day-N.labels.csv, from
# dm-gen --labels-out) of each pending labelled batch whose run finished label_delay ago; with
# "wait", it waits for those still inside the delay.
pending=""
write_labels() {
    local rest="" b due
    for b in $pending; do
        while :; do
            due=$(q -c "SELECT finished_at <= clock_timestamp() - make_interval(secs => $LABEL_DELAY)
                        FROM driftmon.runs WHERE batch = '$b'")
            [ "$due" = t ] || [ "${1:-}" != wait ] && break
            sleep 0.5
        done
        if [ "$due" != t ]; then
            rest="$rest $b"
            continue
        fi
        q -1 -c "CREATE TEMP TABLE outcome (id bigint, target smallint)" \
            -c "\\copy outcome FROM '$D/data/$b.labels.csv' CSV HEADER" \
            -c "UPDATE applications a SET \"TARGET\" = o.target FROM outcome o
                WHERE a.batch_id = '$b' AND a.\"SK_ID_CURR\" = o.id" >/dev/null
        q -c "SELECT '   outcomes of $b written: ' || count(\"TARGET\") || ' applications, '
                     || sum(\"TARGET\") || ' defaults (' || round(100.0 * avg(\"TARGET\"), 1) || ' %)'
              FROM applications WHERE batch_id = '$b'"
    done
    pending=${rest# }
}

# ---- the daemon -------------------------------------------------------------------------------
say "== driftmon serve (log: $D/serve.log)"
"$DM" serve "${C[@]}" >"$D/serve.log" 2>&1 &
serve_pid=$!
echo "$serve_pid" >"$D/serve.pid"
sleep 0.5
kill -0 "$serve_pid" 2>/dev/null || { cat "$D/serve.log"; echo "driftmon serve did not start" >&2; exit 1; }

# ---- the scoring engine: seven days ---------------------------------------------------------
for day in 1 2 3 4 5 6 7; do
    rev=$(awk -v d=$day 'BEGIN { printf "%.4f", 0.0952 + (0.009 - 0.0952) * (d - 1) / 6 }')
    bs=$(awk -v d=$day 'BEGIN { printf "%.4f", 0.30 + (0.868 - 0.30) * (d - 1) / 6 }')
    f=$(awk -v d=$day 'BEGIN { printf "%.4f", 1 + 0.15 * (d - 1) / 6 }')
    ext3=$(case $day in 5) echo 0.9 ;; 6) echo 0.8 ;; 7) echo 0.65 ;; *) echo 1 ;; esac)
    drift=$(for c in $bureau_cols; do printf '%s=%s,' "$c" "$f"; done)EXT_SOURCE_3=$ext3
    batch="day-$day"
    ts="2026-11-0${day} 12:00:00+00"
    "$GEN" --rows "$BATCH_ROWS" --seed $((100 + day)) --no-target --score --first-id $((500000 + day * 100000)) \
        --revolving-share "$rev" --bureau-share "$bs" --drift "${drift%,}" \
        --format tsv-copy --no-header -o "$D/data/$batch.tsv" --labels-out "$D/data/$batch.labels.csv"
    awk -v b="$batch" -v t="$ts" 'BEGIN { OFS = "\t" } { print $0, b, t }' "$D/data/$batch.tsv" >"$D/data/$batch.rows"
    # the rows and the submission in one transaction: the NOTIFY goes out with the commit
    q -1 -c "\\copy applications ($gen_cols, batch_id, created_at) FROM '$D/data/$batch.rows'" \
        -c "SELECT driftmon.submit_batch('$batch')" >/dev/null
    printf '   %s: %d applications, revolving %.1f %%, bureau history %.1f %%, EXT_SOURCE_3 x %s ... ' \
        "$batch" "$BATCH_ROWS" "$(awk -v r=$rev 'BEGIN{print r*100}')" \
        "$(awk -v r=$bs 'BEGIN{print r*100}')" "$ext3"
    checked=false
    for _ in $(seq 1500); do
        [ "$(q -c "SELECT count(*) FROM driftmon.runs WHERE batch = '$batch'")" = 1 ] && { checked=true; break; }
        kill -0 "$serve_pid" 2>/dev/null || { echo; tail -20 "$D/serve.log"; exit 1; }
        sleep 0.2
    done
    $checked || { echo; tail -20 "$D/serve.log"; echo "demo: $batch was not checked within 5 minutes" >&2; exit 1; }
    q -c "SELECT number_of_drifted_columns || ' of ' || number_of_columns || ' columns drifted'
                 || CASE WHEN retrain_flagged THEN ', retraining flagged' ELSE '' END
          FROM driftmon.runs WHERE batch = '$batch'"
    # the figures the retrain rule read, from the run's JSON report
    run_id=$(q -c "SELECT run_id FROM driftmon.runs WHERE batch = '$batch'")
    "$DM" report "$run_id" --json "$D/data/$batch.json" "${C[@]}" >/dev/null
    python3 - "$D/data/$batch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w = r.get("importance_weighted_share")
pd = r.get("prediction_drift") or {}
reasons = r["retrain"].get("reasons") or []
print("     share %.1f %% (%d of %d), weighted share %s, score PSI %.3f (%s), approval %.1f %% -> %.1f %%, retrain: %s"
      % (100 * r["share_of_drifted_columns"], r["number_of_drifted_columns"], r["number_of_columns"],
         "%.1f %%" % (100 * w) if w is not None else "n/a",
         pd["psi"], pd["band"], 100 * pd["reference_approval_rate"], 100 * pd["current_approval_rate"],
         ", ".join(reasons) if reasons else "no"))
PY
    case " $LABEL_DAYS " in *" $day "*) pending="$pending $batch" ;; esac
    write_labels
done

# the hook: delivered by the daemon from the outbox
for _ in $(seq 300); do
    grep -q 'reason=drift' "$D/hook.log" 2>/dev/null && break
    sleep 0.2
done

# ---- the outcomes ---------------------------------------------------------------------------
say ""
say "== the outcomes: written $LABEL_DELAY s (the demo's 90 days) after each labelled batch's run"
write_labels wait
n_lab=$(echo $LABEL_DAYS | wc -w)
evaluated=false
for _ in $(seq 600); do
    [ "$(q -c "SELECT count(DISTINCT run_id) FROM driftmon.performance_history")" = "$n_lab" ] &&
        { evaluated=true; break; }
    kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$D/serve.log"; exit 1; }
    sleep 0.2
done
$evaluated || { tail -20 "$D/serve.log"; echo "demo: the labelled cohorts were not evaluated within 2 minutes" >&2; exit 1; }
for _ in $(seq 300); do
    grep -q 'reason=cost' "$D/hook.log" 2>/dev/null && break
    sleep 0.2
done
"$DM" history --performance --format json "${C[@]}" >"$D/data/performance.json"
say "== drift and realised cost of the labelled cohorts (driftmon history --performance; the drift"
say "   from each run's report); cost = (10 FN + FP) per application at threshold 0.0909"
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
rows = json.load(open(d + "/data/performance.json"))
first = rows[0]
print("   reference: business cost %.4f per application, AUC %.4f"
      % (first["reference_business_cost"], first["reference_auc"]))
print("   %-6s %-13s %-16s %6s %7s %7s %8s %8s  %s"
      % ("cohort", "drifted", "score PSI", "rows", "AUC", "cost", "vs ref", "optimal", "retrain"))
for p in rows:
    r = json.load(open("%s/data/%s.json" % (d, p["cohort"])))
    pd = r["prediction_drift"]
    print("   %-6s %-13s %-16s %6d %7.4f %7.4f %+6.1f %% %8.4f  %s"
          % (p["cohort"], "%d of %d" % (r["number_of_drifted_columns"], r["number_of_columns"]),
             "%.3f (%s)" % (pd["psi"], pd["band"]), p["rows"], p["auc"], p["business_cost"],
             100 * p["cost_increase"], p["optimal_threshold"], "cost" if p["retrain_flagged"] else "no"))
PY

say ""
say "== the seven runs"
psql -X -q -P pager=off -c "SELECT run_id, batch, number_of_columns AS tested,
        number_of_drifted_columns AS drifted, round(share_of_drifted_columns::numeric * 100, 1) AS \"share %\",
        dataset_drift, retrain_flagged FROM driftmon.runs ORDER BY run_id"
say "== retrain hook calls ($D/hook.log)"
cat "$D/hook.log" 2>/dev/null || say "(none)"
last=$(q -c "SELECT report_html FROM driftmon.runs ORDER BY run_id DESC LIMIT 1")
history_page=$(ls "$D"/reports/history-*.html 2>/dev/null | head -1)
say ""
say "report index: $D/reports/index.html"
say "last report:  $last"
say "history page: $history_page"
say "              section \"Realised performance, once the labels are in\": business cost per"
say "              application and AUC of each evaluated cohort, the reference's as a line, and"
say "              the optimal threshold beside the configured one"
say "all figures:  $DM history --performance --config $D/config.json"
say "demo took $(($(date +%s) - t_start)) s; stopping the daemon and PostgreSQL"

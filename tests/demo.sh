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
# flags day 7 only, for the reason score_psi, so the hook fires once.  The plain share
# reaches 9.8 % on day 7 (13 of 132, twelve of them bureau aggregates): the old demo's count
# rule (fraction 0.085) fired on that alone; the weighted share (`compare`, --short data, these
# importances: 12 x 0.5 % + EXT_SOURCE_3's 11.8 % = 17.8 %) stays under 0.3.  PSI day by day
# (full / --short): 0.000 / 0.002 on days 1-4, 0.042 / 0.042, 0.149 / 0.153, 0.457 / 0.426.
# The importances are stored with the reference (`reference load --importance`), so every
# run reports the weighted share.
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
        kill -TERM "$serve_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$serve_pid" 2>/dev/null || true
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
# the demo's retrain hook: one line per delivery, the run's JSON report kept beside it
cat >"$D/hook-run-\$DRIFTMON_RUN_ID.json"
echo "\$(date -u +%Y-%m-%dT%H:%M:%SZ) retrain requested: run=\$DRIFTMON_RUN_ID batch=\$DRIFTMON_BATCH" >>"$D/hook.log"
EOF
chmod 0755 "$D/hook.sh"
rm -f "$D/hook.log" "$D"/hook-run-*.json
cat >"$D/config.json" <<EOF
{
  "columns": {"exclude": ["SK_ID_CURR", "TARGET"]},
  "drift": {"drift_share": 0.5},
  "model": {"importance": "$D/data/importance.csv", "score_column": "score",
            "decision_threshold": 0.2},
  "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25,
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
q -c "ALTER TABLE applications ADD COLUMN batch_id text, ADD COLUMN created_at timestamptz"
q -c "CREATE INDEX ON applications (batch_id)" -c "CREATE INDEX ON applications (created_at)"
gen_cols=$("$GEN" --rows 1 --seed 1 --no-target --score | head -1 | sed 's/\([^,]*\)/"\1"/g')

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
        --format tsv-copy --no-header -o "$D/data/$batch.tsv"
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
done

# the hook: delivered by the daemon from the outbox
for _ in $(seq 300); do
    [ -s "$D/hook.log" ] && break
    sleep 0.2
done

say ""
say "== the seven runs"
psql -X -q -P pager=off -c "SELECT run_id, batch, number_of_columns AS tested,
        number_of_drifted_columns AS drifted, round(share_of_drifted_columns::numeric * 100, 1) AS \"share %\",
        dataset_drift, retrain_flagged FROM driftmon.runs ORDER BY run_id"
say "== retrain hook calls ($D/hook.log)"
cat "$D/hook.log" 2>/dev/null || say "(none)"
last=$(q -c "SELECT report_html FROM driftmon.runs ORDER BY run_id DESC LIMIT 1")
say ""
say "report index: $D/reports/index.html"
say "last report:  $last"
say "demo took $(($(date +%s) - t_start)) s; stopping the daemon and PostgreSQL"

#!/usr/bin/env bash
# tests/bench/serve.sh - the daemon's speed (issue 4), against a throwaway PostgreSQL.
#
#   bash tests/bench/serve.sh [LATENCY_RUNS=20] [THROUGHPUT_BATCHES=100]
#
# Batches of 10,000 rows x the 122 application columns (dm-gen homecredit shape with TARGET,
# without the bureau columns), reference 10,000 rows of another seed; the monitored table has
# an index on the batch column, as a scoring engine's table would.
#   - latency: submit_batch's transaction commits; the time to the run's commit
#     (run.finished_at - batch.submitted_at, both on the server's clock), one idle daemon,
#     one batch at a time; median (and min / max) of LATENCY_RUNS, with the daemon's own
#     split: queued (NOTIFY to claim), read (binary COPY of the batch), total (claim to
#     commit, reports included);
#   - throughput: THROUGHPUT_BATCHES batches submitted while no daemon runs, then one (then
#     two) daemons started: batches/s and rows/s from the first claim to the last commit.
# Not run by make check (a few minutes).  Prints the figures; quote ratios, not absolutes
# (machine-bound, DESIGN.md section 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
NLAT=${1:-20}
NTP=${2:-100}
ROWS=10000

dir=$(mktemp -d /tmp/dm-bserve.XXXXXX)
W=$(mktemp -d /tmp/dm-bservew.XXXXXX)
chmod 0777 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
pg_env=$(bash tests/pg/cluster.sh start "$dir")
eval "$pg_env"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

"$GEN" --schema applications --no-bureau >"$W/schema.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/schema.sql" | paste -sd, -)
ncols=$(echo "$cols" | tr ',' '\n' | wc -l)
q -f "$W/schema.sql" >/dev/null
q -c "ALTER TABLE applications ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
      ADD COLUMN created_at timestamptz DEFAULT clock_timestamp()"
q -c "CREATE INDEX ON applications (batch_id)"
"$GEN" --rows $ROWS --seed 1 --no-bureau -o "$W/ref.csv"
for s in 2 3 4; do
    "$GEN" --rows $ROWS --seed $s --no-bureau --format tsv-copy --no-header -o "$W/b$s.tsv"
done
cat >"$W/c.json" <<EOF
{
  "source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "ref"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"}
}
EOF
C=(--config "$W/c.json")
"$DM" init "${C[@]}" 2>/dev/null
"$DM" reference load "$W/ref.csv" --name ref "${C[@]}" >/dev/null 2>&1

# load NAME TSV: rows only (no submit)
load() {
    { echo "BEGIN;"; echo "SET LOCAL dm.batch = '$1';"; echo "COPY applications ($cols) FROM STDIN;"
      cat "$2"; echo '\.'; echo "COMMIT;"; } | q >/dev/null
}
submit() { q -c "SELECT driftmon.submit_batch('$1')" >/dev/null; }
start() { "$DM" serve "${C[@]}" --poll 5 2>>"$W/serve.log" & PIDS+=($!); }
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }
median() { sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
    printf "median %.3f s  (min %.3f, max %.3f, n=%d)", m, a[1], a[NR], NR }'; }

echo "batch: $ROWS rows x $ncols columns; reference $ROWS rows; PostgreSQL $(q -c 'SHOW server_version')"
echo "cores: $(nproc)"

# ---- latency -----------------------------------------------------------------------------
start
sleep 1
for i in $(seq 1 "$NLAT"); do
    load "lat-$i" "$W/b$((2 + i % 3)).tsv"
    submit "lat-$i"
    for _ in $(seq 1 600); do
        [ "$(q -c "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'lat-$i'")" = t ] && break
        sleep 0.05
    done
done
stop_all
echo "latency, submit_batch commit -> run commit, one idle daemon:"
printf '  end to end  '; q -c "SELECT extract(epoch FROM r.finished_at - b.submitted_at) FROM driftmon.run r
                                JOIN driftmon.batch b USING (batch) WHERE b.batch LIKE 'lat-%'" | median; echo
for k in queued_s read_s compare_s total_s; do
    printf '  %-11s ' "$k"
    grep 'msg="checked batch" batch=lat-' "$W/serve.log" | sed -n "s/.* $k=\([0-9.]*\).*/\1/p" | median
    echo
done

# ---- throughput ----------------------------------------------------------------------------
for nd in 1 2; do
    for i in $(seq 1 "$NTP"); do load "tp$nd-$i" "$W/b$((2 + i % 3)).tsv"; done
    for i in $(seq 1 "$NTP"); do submit "tp$nd-$i"; done
    for _ in $(seq 1 "$nd"); do start; done
    while [ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch LIKE 'tp$nd-%' AND done_at IS NULL")" != 0 ]; do
        sleep 0.2
    done
    stop_all
    span=$(q -c "SELECT extract(epoch FROM max(r.finished_at) - min(r.started_at)) FROM driftmon.run r
                 WHERE r.batch LIKE 'tp$nd-%'")
    runs=$(q -c "SELECT count(*) FROM driftmon.run WHERE batch LIKE 'tp$nd-%'")
    awk -v n="$runs" -v s="$span" -v r=$ROWS -v d="$nd" \
        'BEGIN { printf "throughput, %d daemon(s): %d batches in %.2f s = %.2f batches/s, %.0f rows/s\n", d, n, s, n / s, n * r / s }'
done
q -c "SELECT 'runs per batch: ' || string_agg(DISTINCT c::text, ',') FROM (SELECT count(*) c FROM driftmon.run GROUP BY batch) x"

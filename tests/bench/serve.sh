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
#
# The daemon timed is $DM_DRIFTMON (default $DM_BUILD/driftmon).  With $DM_DRIFTMON_B set
# too, two binaries are compared (tests/bench/ab.sh), in ROUNDS rounds (default 3), A and B
# in every round, every second round B first: latency, LATENCY_RUNS batches per round and
# binary, each daemon first given one batch that is not counted (its reference load);
# throughput, THROUGHPUT_BATCHES batches per round, binary and number of daemons.  Then the
# medians of each and the ratios B / A.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
DM_B=${DM_DRIFTMON_B:-}
ROUNDS=${ROUNDS:-3}
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
[ -z "$DM_B" ] || "$DM_B" init "${C[@]}" 2>/dev/null
"$DM" reference load "$W/ref.csv" --name ref "${C[@]}" >/dev/null 2>&1

# load NAME TSV: rows only (no submit)
load() {
    { echo "BEGIN;"; echo "SET LOCAL dm.batch = '$1';"; echo "COPY applications ($cols) FROM STDIN;"
      cat "$2"; echo '\.'; echo "COMMIT;"; } | q >/dev/null
}
submit() { q -c "SELECT driftmon.submit_batch('$1')" >/dev/null; }
# start BINARY LOG: one daemon
start() { "$1" serve "${C[@]}" --poll 5 2>>"$2" & PIDS+=($!); }
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }
median() { sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
    printf "median %.3f s  (min %.3f, max %.3f, n=%d)", m, a[1], a[NR], NR }'; }
median_of() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
done_wait() { # BATCH: until its run has committed
    for _ in $(seq 1 600); do
        [ "$(q -c "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = '$1'")" = t ] && return
        sleep 0.05
    done
}
# latency_runs BINARY LOG PREFIX N [WARMUP]: one daemon, N batches PREFIX-1..N one at a time
latency_runs() {
    start "$1" "$2"
    sleep 1
    if [ -n "${5:-}" ]; then
        load "$3-warm" "$W/b2.tsv"
        submit "$3-warm"
        done_wait "$3-warm"
    fi
    for i in $(seq 1 "$4"); do
        load "$3-$i" "$W/b$((2 + i % 3)).tsv"
        submit "$3-$i"
        done_wait "$3-$i"
    done
    stop_all
}
# latencies REGEX: submit_batch commit -> run commit of the batches whose name matches
latencies() {
    q -c "SELECT extract(epoch FROM r.finished_at - b.submitted_at) FROM driftmon.run r
          JOIN driftmon.batch b USING (batch) WHERE b.batch ~ '$1'"
}
# rate PREFIX: batches/s of the batches PREFIX-*, first claim to last commit
rate() {
    q -c "SELECT count(*) / extract(epoch FROM max(finished_at) - min(started_at)) FROM driftmon.run
          WHERE batch LIKE '$1-%'"
}
# split LOG PATTERN KEY: the daemon's own timing KEY of the batches matching PATTERN
split() { grep "msg=\"checked batch\" batch=$2" "$1" | sed -n "s/.* $3=\([0-9.]*\).*/\1/p"; }
# throughput_run BINARY LOG PREFIX N NDAEMONS: batches/s of N batches PREFIX-1..N
throughput_run() {
    for i in $(seq 1 "$4"); do load "$3-$i" "$W/b$((2 + i % 3)).tsv"; done
    for i in $(seq 1 "$4"); do submit "$3-$i"; done
    for _ in $(seq 1 "$5"); do start "$1" "$2"; done
    while [ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch LIKE '$3-%' AND done_at IS NULL")" != 0 ]; do
        sleep 0.2
    done
    stop_all
    rate "$3"
}

echo "batch: $ROWS rows x $ncols columns; reference $ROWS rows; PostgreSQL $(q -c 'SHOW server_version')"
echo "cores: $(nproc)"

if [ -z "$DM_B" ]; then
    # ---- latency -------------------------------------------------------------------------
    latency_runs "$DM" "$W/serve.log" lat "$NLAT"
    echo "latency, submit_batch commit -> run commit, one idle daemon:"
    printf '  end to end  '; latencies '^lat-[0-9]+$' | median; echo
    for k in queued_s read_s compare_s total_s; do
        printf '  %-11s ' "$k"
        split "$W/serve.log" lat- "$k" | median
        echo
    done
    # ---- throughput ----------------------------------------------------------------------
    for nd in 1 2; do
        throughput_run "$DM" "$W/serve.log" "tp$nd" "$NTP" "$nd" >/dev/null
        span=$(q -c "SELECT extract(epoch FROM max(r.finished_at) - min(r.started_at)) FROM driftmon.run r
                     WHERE r.batch LIKE 'tp$nd-%'")
        runs=$(q -c "SELECT count(*) FROM driftmon.run WHERE batch LIKE 'tp$nd-%'")
        awk -v n="$runs" -v s="$span" -v r=$ROWS -v d="$nd" \
            'BEGIN { printf "throughput, %d daemon(s): %d batches in %.2f s = %.2f batches/s, %.0f rows/s\n", d, n, s, n / s, n * r / s }'
    done
else
    echo "A: $DM"
    echo "B: $DM_B"
    declare -A BIN=([A]=$DM [B]=$DM_B)
    for r in $(seq "$ROUNDS"); do
        order="A B"
        [ $((r % 2)) = 1 ] || order="B A"
        for x in $order; do
            latency_runs "${BIN[$x]}" "$W/serve-$x.log" "lat$x-$r" "$NLAT" warmup
            line="  round $r $x: latency $(latencies "^lat$x-$r-[0-9]+\$" | median_of | xargs printf "%.3f") s"
            for nd in 1 2; do
                line+=", $nd daemon(s) $(throughput_run "${BIN[$x]}" "$W/serve-$x.log" "tp$x$nd-$r" "$NTP" "$nd" |
                    xargs printf '%.2f') batches/s"
            done
            echo "$line"
        done
    done
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }
    declare -A LAT TP
    for x in A B; do
        LAT[$x]=$(latencies "^lat$x-[0-9]+-[0-9]+\$" | median_of)
        line="median $x: latency $(printf '%.3f' "${LAT[$x]}") s (read $(split "$W/serve-$x.log" "lat$x-[0-9]*-[0-9]" read_s |
            median_of | xargs printf '%.3f'), total $(split "$W/serve-$x.log" "lat$x-[0-9]*-[0-9]" total_s |
            median_of | xargs printf '%.3f'))"
        for nd in 1 2; do
            TP[$x$nd]=$(for r in $(seq "$ROUNDS"); do rate "tp$x$nd-$r"; done | median_of)
            line+=", $nd daemon(s) $(printf '%.2f' "${TP[$x$nd]}") batches/s"
        done
        echo "$line"
    done
    echo "ratio B/A: latency $(ratio "${LAT[A]}" "${LAT[B]}"), throughput with 1 daemon $(ratio "${TP[A1]}" "${TP[B1]}"), with 2 $(ratio "${TP[A2]}" "${TP[B2]}") (latency: lower is better; throughput: higher)"
fi
q -c "SELECT 'runs per batch: ' || string_agg(DISTINCT c::text, ',') FROM (SELECT count(*) c FROM driftmon.run GROUP BY batch) x"

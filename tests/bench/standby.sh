#!/usr/bin/env bash
# tests/bench/standby.sh - what database.read_conninfo takes off the primary (issue 19): the
# primary's CPU while one daemon checks a queue of batches, reading them on the primary (A)
# or on a hot standby (B, `pg_basebackup -R`, tests/pg/cluster.sh standby), on one machine.
#
#   [SYNC=on] bash tests/bench/standby.sh [BATCHES=10] [ROUNDS=3]
#
# Batches of 10,000 rows x the 122 application columns (as tests/bench/serve.sh), reference
# 10,000 rows of another seed, an index on the batch column.  Each round: A and B (every
# second round B first), each on BATCHES fresh batches loaded and submitted while no daemon
# runs (not measured); then one daemon is started and the queue drained.  Measured from the
# daemon's start until its backends have ended: the CPU time (user + system) of the primary's
# and the standby's server processes -- each postmaster's own and reaped children's times
# (/proc/PID/stat utime, stime, cutime, cstime) plus its live children's -- and the wall time.
# A phase's rows are deleted and vacuumed after it (not measured).  A first, unmeasured phase
# of each warms the reference cache.  Prints each phase, then the medians: primary CPU
# seconds per batch A and B, their ratio B/A, the standby's, and batches/s.  Not run by make
# check; quote ratios (machine-bound, DESIGN.md section 7).  Both servers and the daemon
# share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
N=${1:-10}
ROUNDS=${2:-3}
ROWS=10000
HZ=$(getconf CLK_TCK)

P=$(mktemp -d /tmp/dm-bsbp.XXXXXX)
S=$(mktemp -d /tmp/dm-bsbs.XXXXXX)
rmdir "$S"
W=$(mktemp -d /tmp/dm-bsbw.XXXXXX)
chmod 0777 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    bash tests/pg/cluster.sh destroy "$S" >/dev/null 2>&1 || true
    bash tests/pg/cluster.sh destroy "$P" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
eval "$(bash tests/pg/cluster.sh start "$P")"
# SYNC=on: synchronous_commit on (the test clusters run with it off): the daemon's claim is
# then flushed when it commits, instead of at the WAL writer's next round
if [ -n "${SYNC:-}" ]; then
    psql -X -q -c "ALTER SYSTEM SET synchronous_commit = '$SYNC'" -c "SELECT pg_reload_conf()" >/dev/null
fi
bash tests/pg/cluster.sh standby "$S" "$P" >/dev/null
SPORT=$(cat "$S/port")
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
qs() { PGHOST=$S PGPORT=$SPORT q "$@"; }

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
common='"source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "ref"}, "reports": {"dir": "'$W'/reports"}, "cache": {"dir": "'$W'/cache"}'
echo "{ $common }" >"$W/A.json"
echo "{ $common, \"database\": {\"read_conninfo\": \"host=$S port=$SPORT dbname=driftmon user=postgres\"} }" >"$W/B.json"
"$DM" init --config "$W/A.json" 2>/dev/null
"$DM" reference load "$W/ref.csv" --name ref --config "$W/A.json" >/dev/null 2>&1

median_of() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
load() { # NAME TSV
    { echo "BEGIN;"; echo "SET LOCAL dm.batch = '$1';"; echo "COPY applications ($cols) FROM STDIN;"
      cat "$2"; echo '\.'; echo "COMMIT;"; } | q >/dev/null
}
# cpu DIR: clock ticks of a cluster's server processes, reaped children included
cpu() {
    local pm
    pm=$(head -n 1 "$1/data/postmaster.pid")
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      for c in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do
          awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true
      done; } | awk '{ s += $1 } END { print s }'
}
sessions_gone() {
    for _ in $(seq 1 200); do
        [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'driftmon'")" = 0 ] &&
            [ "$(qs -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'driftmon'")" = 0 ] && return
        sleep 0.05
    done
}
# phase MODE PREFIX: prints "primary_cpu_s standby_cpu_s wall_s reads_on_standby"
phase() {
    for i in $(seq 1 "$N"); do load "$2-$i" "$W/b$((2 + i % 3)).tsv"; done
    q -c "SELECT driftmon.submit_batch('$2-' || i) FROM generate_series(1, $N) i" >/dev/null
    # the standby has replayed the loads before the clock starts (B waits for nothing more)
    local lsn
    lsn=$(q -c "SELECT pg_current_wal_insert_lsn()")
    until [ "$(qs -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do sleep 0.05; done
    local p0 s0 t0 p1 s1 t1
    p0=$(cpu "$P"); s0=$(cpu "$S"); t0=$(date +%s.%N)
    "$DM" serve --config "$W/$1.json" --poll 5 2>>"$W/serve-$1.log" &
    local pid=$!
    PIDS+=("$pid")
    while [ "$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch LIKE '$2-%' AND done_at IS NULL")" != 0 ]; do
        sleep 0.1
    done
    kill -TERM "$pid"; wait "$pid" || true
    sessions_gone
    t1=$(date +%s.%N); p1=$(cpu "$P"); s1=$(cpu "$S")
    local on
    on=$(grep -c "msg=\"checked batch\" batch=$2-[0-9]* .*read_on=standby" "$W/serve-$1.log" || true)
    local rd
    rd=$(grep "msg=\"checked batch\" batch=$2-[0-9]* " "$W/serve-$1.log" | sed -n 's/.* read_s=\([0-9.]*\).*/\1/p' | median_of)
    q -c "DELETE FROM applications WHERE batch_id LIKE '$2-%'" >/dev/null
    q -c "VACUUM applications" >/dev/null
    awk -v p=$((p1 - p0)) -v s=$((s1 - s0)) -v hz="$HZ" -v a="$t0" -v b="$t1" -v on="$on" -v rd="$rd" \
        'BEGIN { printf "%.2f %.2f %.2f %d %.3f\n", p / hz, s / hz, b - a, on, rd }'
}

echo "batches of $ROWS rows x $ncols columns, $N per phase, $ROUNDS rounds; PostgreSQL $(q -c 'SHOW server_version'); cores: $(nproc)"
phase A warmA >/dev/null
phase B warmB >/dev/null
declare -A RES
for r in $(seq "$ROUNDS"); do
    order="A B"
    [ $((r % 2)) = 1 ] || order="B A"
    for x in $order; do
        RES[$x$r]=$(phase "$x" "r$r$x")
        read -r pc sc wall on rd <<<"${RES[$x$r]}"
        printf '  round %d %s: primary CPU %.2f s, standby CPU %.2f s, %d batches in %.2f s (read_s median %.3f), %d read on the standby\n' \
            "$r" "$x" "$pc" "$sc" "$N" "$wall" "$rd" "$on"
    done
done
for x in A B; do
    for k in 1 2 3 5; do
        declare "M$x$k=$(for r in $(seq "$ROUNDS"); do echo "${RES[$x$r]}" | cut -d' ' -f$k; done | median_of)"
    done
done
awk -v ra="$MA5" -v rb="$MB5" -v pa="$MA1" -v pb="$MB1" -v sa="$MA2" -v sb="$MB2" -v wa="$MA3" -v wb="$MB3" -v n="$N" 'BEGIN {
    printf "median primary CPU per batch: A (read on the primary) %.3f s, B (read_conninfo) %.3f s, B/A %.3f\n", pa / n, pb / n, pb / pa
    printf "median standby CPU per batch: A %.3f s, B %.3f s\n", sa / n, sb / n
    printf "median batches/s: A %.2f, B %.2f (B/A %.3f); median read_s (the wait included): A %.3f, B %.3f\n", n / wa, n / wb, wa / wb, ra, rb }'
q -c "SELECT 'runs per batch: ' || string_agg(DISTINCT c::text, ',') FROM (SELECT count(*) c FROM driftmon.run GROUP BY batch) x"

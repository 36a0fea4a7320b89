#!/usr/bin/env bash
# units.sh - one big window checked by one daemon and by two (issue 20, item 3: work units).
# Not run by make check: `bash tests/bench/units.sh` (after make).
#
# A throwaway cluster (tests/pg/cluster.sh) holds a table of ROWS (default 200,000) rows x
# COLS (default 60) float8 columns made with generate_series and random() after setseed
# (deterministic; every fifth column shifted x 1.5), all on one day, and a REF_ROWS (default
# 50,000) row reference of the same columns (`reference load --table`).  Each round checks
# that day as a periodic window (schedule.every "1 day") through a view that moves the rows
# to a day of its own (created_at + r days), so every round is a new window over the same
# rows, in three modes, in turn within each round:
#   one    one daemon, limits.unit_values unset: today's check, the window read whole
#   one-u  one daemon, limits.unit_values = ROWS x UNIT_COLS (default 10): the same check cut
#          into work units, all done by the one daemon (what the units cost)
#   two-u  two daemons, the same units shared
# The reference is in the daemons' cache (cache.dir) before the first timed round.  Per run:
#   wall     the run's finished_at - started_at (sql/001: the run id reserved .. the run row
#            written), from the database: the read, the comparison, the units' hand-offs
#   cpu_d    the daemons' CPU seconds (user + system, /proc/PID/stat before they stop)
#   cpu_pg   the server's CPU seconds: the cluster's processes (postmaster's reaped children,
#            cutime + cstime, and the live ones), the COPYs and the units' queries
# Each run starts its daemons: a second daemon's start (its connection, the reference from the
# cache, checked against the database) overlaps the check and is in its server CPU.
# ROUNDS (default 3) rounds; the table is the median of each; two-u's speed-up is one's
# median wall / two-u's.  The machine's other load makes single runs noisy: quote medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
ROWS=${ROWS:-200000}
COLS=${COLS:-60}
REF_ROWS=${REF_ROWS:-50000}
UNIT_COLS=${UNIT_COLS:-10}
ROUNDS=${ROUNDS:-3}
PG=$(mktemp -d /tmp/dm-benchu.XXXXXX)
W=$(mktemp -d /tmp/dm-benchuw.XXXXXX)
chmod 0777 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    bash tests/pg/cluster.sh destroy "$PG" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
eval "$(bash tests/pg/cluster.sh start "$PG")"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
TICK=$(getconf CLK_TCK)

cols_def() { # the window's columns: every fifth shifted
    for i in $(seq 1 "$COLS"); do
        if [ $((i % 5)) = 1 ]; then printf ', (random() * 1.5)::float8 AS c%03d' "$i"; else printf ', random()::float8 AS c%03d' "$i"; fi
    done
}
refcols=$(for i in $(seq 1 "$COLS"); do printf ', random()::float8 AS c%03d' "$i"; done)
q -c "SELECT setseed(0.5); CREATE TABLE ref AS SELECT g AS i $refcols FROM generate_series(1, $REF_ROWS) g;
      SELECT setseed(0.25); CREATE TABLE apps AS SELECT g AS i, timestamptz '2026-01-15 00:00+00'
            + (g % 86400) * interval '1 second' AS created_at, NULL::text AS batch_id $(cols_def) FROM generate_series(1, $ROWS) g;
      ANALYZE ref; ANALYZE apps;" >/dev/null
# config NAME TABLE [EXTRA]
config() {
    cat >"$W/$1.json" <<EOF
{
  "source": {"table": "$2", "timestamp_column": "created_at", "batch_column": "batch_id"},
  "reference": {"name": "ref"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "schedule": {"every": "1 day"},
  "columns": {"exclude": ["i"]}${3:+,
  $3}
}
EOF
}
config init apps
"$DM" init --config "$W/init.json" >/dev/null
"$DM" reference load --table ref --name ref --config "$W/init.json" >/dev/null 2>"$W/refload.err"

FAST=(--lease 10 --poll 0.2)
postgres_cpu() { # the cluster's CPU ticks: the postmaster's reaped children and the live ones
    local pm t=0 p
    pm=$(head -n 1 "$PG/data/postmaster.pid")
    t=$(awk '{print $16 + $17}' "/proc/$pm/stat")
    for p in $(pgrep -P "$pm"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# run_mode DAY MODE NDAEMONS EXTRA: the window of day DAY (its own view) checked; prints
# "wall cpu_d cpu_pg units"
run_mode() {
    local day=$1 mode=$2 n=$3 extra=$4 v pids=() k c0 cd=0 p
    v="apps_r$day"
    q -c "CREATE VIEW $v AS SELECT i, batch_id, created_at + $day * interval '1 day' AS created_at $(for i in $(seq 1 "$COLS"); do printf ', c%03d' "$i"; done) FROM apps" >/dev/null
    config "$mode-$day" "$v" "$extra"
    local end
    end=$(q -c "SELECT timestamptz '2026-01-16 00:00+00' + $day * interval '1 day'")
    c0=$(postgres_cpu)
    for k in $(seq 1 "$n"); do
        "$DM" serve --config "$W/$mode-$day.json" --worker "$mode-$k" "${FAST[@]}" 2>"$W/$mode-$day-$k.log" &
        pids+=($!)
        PIDS+=($!)
    done
    local t_end=$(($(date +%s) + 900))
    until [ "$(q -c "SELECT count(*) FROM driftmon.run WHERE window_end = '$end'")" = 1 ]; do
        [ "$(date +%s)" -lt "$t_end" ] || { echo "day $day $mode: no run after 900 s" >&2; tail -n 5 "$W/$mode-$day-"*.log >&2; exit 1; }
        sleep 0.2
    done
    for p in "${pids[@]}"; do
        cd=$((cd + $(awk '{print $14 + $15}' "/proc/$p/stat")))
        kill -TERM "$p"
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    local wall
    wall=$(q -c "SELECT extract(epoch FROM finished_at - started_at) FROM driftmon.run WHERE window_end = '$end'")
    local units
    units=$(cat "$W/$mode-$day-"*.log | sed -n 's/.*cut the check into work units.* units=\([0-9]*\).*/\1/p' | head -n 1)
    echo "$wall $(awk -v a="$cd" -v t="$TICK" 'BEGIN{print a / t}') $(awk -v a="$(postgres_cpu)" -v b="$c0" -v t="$TICK" 'BEGIN{print (a - b) / t}') ${units:-0}"
}

# warm: the reference into the cache, once
"$DM" serve --config "$W/init.json" --worker warm "${FAST[@]}" 2>"$W/warm.log" &
wp=$!
PIDS+=($wp)
until grep -q "checked window\|could not check" "$W/warm.log"; do
    kill -0 "$wp" 2>/dev/null || { cat "$W/warm.log" >&2; exit 1; }
    sleep 0.2
done
kill -TERM "$wp"
wait "$wp" || true
# the warm run's window is done: each round's view is a day later than the last

UV=$((ROWS * UNIT_COLS))
: >"$W/results"
for r in $(seq 1 "$ROUNDS"); do
    echo "one $(run_mode $((3 * r - 2)) one 1 '')" >>"$W/results"
    echo "one-u $(run_mode $((3 * r - 1)) one-u 1 "\"limits\": {\"unit_values\": $UV}")" >>"$W/results"
    echo "two-u $(run_mode $((3 * r)) two-u 2 "\"limits\": {\"unit_values\": $UV}")" >>"$W/results"
    tail -n 3 "$W/results" | sed "s/^/round $r: /" >&2
done
echo "window: $ROWS rows x $COLS float8 columns; reference $REF_ROWS rows; units of $UNIT_COLS columns ($UV values); $ROUNDS rounds; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
python3 - "$W/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m, *v = line.split()
    rows.setdefault(m, []).append([float(x) for x in v])
print(f"{'mode':6} {'units':>5} {'wall s':>8} {'cpu_d s':>8} {'cpu_pg s':>8}   (medians)")
med = {}
for m in ("one", "one-u", "two-u"):
    vs = rows.get(m, [])
    med[m] = [statistics.median(x[i] for x in vs) for i in range(4)]
    w, cd, cp, u = med[m]
    print(f"{m:6} {int(u):5d} {w:8.2f} {cd:8.2f} {cp:8.2f}")
print(f"two daemons vs one (one / two-u, median wall): {med['one'][0] / med['two-u'][0]:.2f}x; "
      f"units' cost on one daemon (one-u / one): {med['one-u'][0] / med['one'][0]:.2f}x")
EOF

#!/usr/bin/env bash
# tests/bench/metrics.sh - the cost of the daemon's metrics endpoint (issue 19).
#
#   bash tests/bench/metrics.sh [IDLE_S=60]
#
#   - /metrics latency, 10 monitors x 333 columns: a synthetic snapshot of that shape
#     (tests/bench/metrics_snap.c; `serve` has one monitor until several monitors per
#     daemon land) served by the daemon's own endpoint code; 500 sequential GETs from one
#     Python client (its own overhead included), median / p99 / max; and the rendering
#     alone, median of 201;
#   - a real daemon idle with metrics on: one monitor, a 333-column table, one run made;
#     CPU (utime + stime from /proc) and RSS over IDLE_S seconds with the default 5 s poll,
#     the same with metrics off, and the real page's latency (1 x 333).
# Not run by make check.  Prints the figures; machine-bound (DESIGN.md section 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
IDLE_S=${1:-60}
PY=/usr/bin/python3

dir=$(mktemp -d /tmp/dm-bmet.XXXXXX)
W=$(mktemp -d /tmp/dm-bmetw.XXXXXX)
chmod 0777 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT

# latency PORT N: median / p99 / max of N GETs of /metrics, in ms
latency() {
    $PY - "$1" "$2" <<'PYEOF'
import sys, time, urllib.request
port, n = sys.argv[1], int(sys.argv[2])
url = f"http://127.0.0.1:{port}/metrics"
for _ in range(20):
    urllib.request.urlopen(url).read()
t = []
for _ in range(n):
    a = time.perf_counter()
    body = urllib.request.urlopen(url).read()
    t.append((time.perf_counter() - a) * 1e3)
t.sort()
lines = body.count(b"\n")
print(f"{len(body)} bytes, {lines} lines; GET median {t[n // 2]:.2f} ms, p99 {t[int(n * 0.99)]:.2f} ms, max {t[-1]:.2f} ms")
PYEOF
}

# ---- synthetic: 10 monitors x 333 columns -------------------------------------------------
make --no-print-directory -s "$BUILD/libdriftmon.a" >/dev/null
mkdir -p "$BUILD/bench"
PKGS="libpq libcjson gsl libcrypto libmicrohttpd libsystemd"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -pthread -I. $(pkg-config --cflags $PKGS) -o "$BUILD/bench/metrics_snap" \
    tests/bench/metrics_snap.c "$BUILD/libdriftmon.a" $(pkg-config --libs $PKGS) -lcsv -lm -pthread
coproc SNAP { "$BUILD/bench/metrics_snap" 10 333; }
PIDS+=("$SNAP_PID")
read -r _ port _ bytes _ render <&"${SNAP[0]}"
echo "synthetic snapshot, 10 monitors x 333 columns: render median $render ms ($bytes bytes)"
echo "  $(latency "$port" 500)"
exec {SNAP[1]}>&-
wait "$SNAP_PID" 2>/dev/null || true

# ---- a real daemon, idle ----------------------------------------------------------------------
pg_env=$(bash tests/pg/cluster.sh start "$dir")
eval "$pg_env"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
$PY - "$W" <<'PYEOF'
import random, sys
w = sys.argv[1]
rnd = random.Random(1)
cols = [f"c{i:03d}" for i in range(333)]
open(f"{w}/schema.sql", "w").write("CREATE TABLE t (batch_id text, " + ", ".join(f"{c} float8" for c in cols) + ");\n")
with open(f"{w}/ref.csv", "w") as f:
    f.write(",".join(cols) + "\n")
    for _ in range(2000):
        f.write(",".join("%.6f" % rnd.gauss(0, 1) for _ in cols) + "\n")
with open(f"{w}/b.tsv", "w") as f:
    for _ in range(500):
        f.write("b1\t" + "\t".join("%.6f" % rnd.gauss(0.05, 1) for _ in cols) + "\n")
PYEOF
q -f "$W/schema.sql" >/dev/null
for m in on off; do
    listen=""
    [ "$m" = on ] && listen=', "metrics": {"listen": "127.0.0.1:0"}'
    cat >"$W/$m.json" <<JSON
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "r"},
 "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"}$listen}
JSON
done
"$DM" init --config "$W/off.json" 2>/dev/null
"$DM" reference load "$W/ref.csv" --name r --config "$W/off.json" >/dev/null 2>&1
q -c "\\copy t FROM '$W/b.tsv'"
q -c "INSERT INTO t SELECT 'b2', $(seq -f 'c%03g' 0 332 | paste -sd, -) FROM t WHERE batch_id = 'b1'"
# each daemon checks one batch first (its reference then held in memory, as in service)
for m in on off; do
    [ "$m" = on ] && b=b1 || b=b2
    q -c "SELECT driftmon.submit_batch('$b')" >/dev/null
    "$DM" serve --config "$W/$m.json" 2>"$W/$m.log" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 600); do grep -q 'msg="connected' "$W/$m.log" && break; sleep 0.1; done
    for _ in $(seq 1 600); do grep -q 'checked batch' "$W/$m.log" && break; sleep 0.1; done
    if [ "$m" = on ]; then
        sleep 6 # the next turn reads the run's 333 column results
        port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$W/$m.log" | head -n 1)
        echo "real daemon, 1 monitor x 333 columns: $(latency "$port" 200)"
    fi
    sleep 2
    read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
    sleep "$IDLE_S"
    read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    hz=$(getconf CLK_TCK)
    echo "idle daemon, metrics $m, ${IDLE_S} s at poll 5 s: CPU $(awk -v t=$(( (u1 - u0) + (s1 - s0) )) -v hz="$hz" -v s="$IDLE_S" 'BEGIN { printf "%.3f %% (%.2f s)", 100 * t / hz / s, t / hz }'), RSS $((rss / 1024)) MiB, threads $(ls "/proc/$pid/task" | wc -l)"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
done

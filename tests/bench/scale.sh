#!/usr/bin/env bash
# scale.sh - time and peak memory of driftmon against the number of rows (issue 20).  Not run
# by make check: `bash tests/bench/scale.sh [PART...]` (after make); PART is compare, check or
# refload (default: all three).
#
#   compare  driftmon compare of the bench shape (tests/bench/compare.py: dm-gen --shape bench,
#            100 columns, a 300,000-row reference, seed 1) with a current file (seed 2,
#            --drifted 10) of each size in COMPARE_SIZES (default 50000 200000 800000
#            3200000): cold (both CSV) and warm (the reference's saved profile, made once by
#            `driftmon profile`)
#   check    driftmon check of windows of each size in CHECK_SIZES (default 250000 500000
#            1000000 2000000) x 333 columns against a CHECK_REF_ROWS-row (default 307511)
#            reference of the same 333 columns, stored with `reference load --table`; and, in
#            the same rounds, a binary \copy of the same window to /dev/null ("dump", the
#            floor): first in odd rounds, last in even ones; check / dump is the median of
#            the rounds' own ratios (each round's two runs made at about the same moment)
#   refload  reference load --table of a BIG_ROWS x BIG_COLS table (default 10,000,000 x 40),
#            then a check of a BIG_WINDOW-row (default 1,000,000) window against it, the
#            reference cache emptied first (the first check after a load)
# The tables of check and refload are made inside a throwaway cluster (tests/pg/cluster.sh)
# with generate_series and random() after setseed (deterministic): 3/5 of the columns are
# continuous doubles (every seventh with 5 % NULLs), 1/5 integers 0..9, 1/5 text categories
# of 3 to 22 levels; in the windows the first 10 columns are shifted (x 1.5).  Windows of
# several sizes are views over one table (`WHERE i <= N`, the table in i order, with an index
# on i), so the disk holds the largest window only.
#
# Measured for each process: wall time, and peak memory as the process's maximum resident
# set size from wait4's rusage (GNU time's %M).  driftmon's threads share one address space,
# so one RSS high-water mark covers all of them exactly (the kernel keeps it per mm, updated
# at every unmap and at exit); a cgroup's memory.peak would add the page cache of the CSV
# files read, which is not driftmon's memory, and sampling /proc (ps, top) misses short
# peaks.  The parent must stay small: at exec, Linux folds the exec'ing process's resident
# high-water mark into the child's ru_maxrss, so a program started by a big process (a Python
# that held a table, say) reports at least that process's size; GNU time is a few MiB.  The
# PostgreSQL backend's memory is its own process and is not counted.
#
# For each part and kind of run the table of (rows, seconds, peak MiB), the median over ROUNDS
# rounds (default 1), and the least-squares slopes: seconds per million rows and MiB per
# million rows (and the intercepts).  Each run's line also gives its own CPU seconds, the
# server's (the CPU of the cluster's processes that ended while it ran: the run's backends)
# and the 1-minute load when it started.
#
# The binary timed is $DM_DRIFTMON (default $DM_BUILD/driftmon).  With $DM_DRIFTMON_B set too,
# every run is made with A and with B (every second round B first) and the tables show both
# and B/A (tests/bench/ab.sh -w scale).
#
# Disk: before generating, the space needed (estimated from a small sample of the bench shape
# and ~8.5 bytes per value in the database) is checked against what df says is free under
# $DM_BUILD and /tmp; when it does not fit, the script stops and names the variable to lower.
# Generated data (in $DM_BUILD/bench-scale and the cluster under /tmp) is removed at the end,
# unless KEEP_DATA=1 (then the CSV files are reused by the next run); the tables of the last
# run stay in $W/summary.txt.  SCALE_DIR puts the data elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
DM_B=${DM_DRIFTMON_B:-}
GEN=$BUILD/dm-gen
ROUNDS=${ROUNDS:-1}
COMPARE_SIZES=${COMPARE_SIZES:-50000 200000 800000 3200000}
COMPARE_REF_ROWS=${COMPARE_REF_ROWS:-300000}
CHECK_SIZES=${CHECK_SIZES:-250000 500000 1000000 2000000}
CHECK_REF_ROWS=${CHECK_REF_ROWS:-307511}
CHECK_COLS=${CHECK_COLS:-333}
BIG_ROWS=${BIG_ROWS:-10000000}
BIG_COLS=${BIG_COLS:-40}
BIG_WINDOW=${BIG_WINDOW:-1000000}
KEEP_DATA=${KEEP_DATA:-0}
PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(compare check refload)
for p in "${PARTS[@]}"; do
    case "$p" in
    compare | check | refload) ;;
    *) echo "scale.sh: unknown part \"$p\" (compare, check, refload)" >&2; exit 2 ;;
    esac
done
num() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: $1 takes whole numbers >= 1, got \"$2\"" >&2; exit 2; }; }
num ROUNDS "$ROUNDS"
for v in $COMPARE_SIZES; do num COMPARE_SIZES "$v"; done
for v in $CHECK_SIZES; do num CHECK_SIZES "$v"; done
for v in COMPARE_REF_ROWS CHECK_REF_ROWS CHECK_COLS BIG_ROWS BIG_COLS BIG_WINDOW; do num "$v" "${!v}"; done
[ -x "$DM" ] || { echo "scale.sh: no driftmon at \"$DM\" (make first)" >&2; exit 2; }
[ -z "$DM_B" ] || [ -x "$DM_B" ] || { echo "scale.sh: no driftmon at \"$DM_B\" (DM_DRIFTMON_B)" >&2; exit 2; }
has() { local x; for x in "${PARTS[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

W=${SCALE_DIR:-$BUILD/bench-scale}
mkdir -p "$W"
chmod 0777 "$W"
RES=$W/results.$$
PG=""
cleanup() {
    [ -z "$PG" ] || bash tests/pg/cluster.sh destroy "$PG" >/dev/null 2>&1 || true
    rm -f "$RES" "$W"/time.$$ "$W"/err.$$ "$W"/*.dmp "$W"/*.json "$W"/*.html
    rm -rf "$W/reports" "$W/cache"
    [ "$KEEP_DATA" = 1 ] || rm -f "$W"/*.csv "$W"/*.tmp
}
trap cleanup EXIT
: >"$RES"

BINS=(A)
[ -z "$DM_B" ] || BINS=(A B)
bin() { [ "$1" = A ] && echo "$DM" || echo "$DM_B"; }
# the binaries in round R's order: A first in odd rounds, B first in even ones
order() { if [ $(($1 % 2)) = 1 ] || [ ${#BINS[@]} = 1 ]; then echo "${BINS[@]}"; else echo B A; fi; }

# server_cpu: CPU seconds (user + system) of the cluster's processes that have ended (the
# postmaster's cumulative children's times: a backend's are added when it is reaped); 0
# without a cluster
server_cpu() {
    local pid
    [ -n "$PG" ] && [ -f "$PG/data/postmaster.pid" ] || { echo 0; return; }
    pid=$(head -1 "$PG/data/postmaster.pid")
    awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($14 + $15) / t }' "/proc/$pid/stat"
}
ROUND=0
# measure PART KIND BIN ROWS CMD...: run CMD, record wall seconds, peak KB, the round, the
# 1-minute load when it started, its own CPU seconds and the server's CPU seconds (the
# backends that ended while it ran: its connections' own)
measure() {
    local part=$1 kind=$2 b=$3 rows=$4 t0 t1 s kb load c0 c1 cpu scpu
    shift 4
    load=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(server_cpu)
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f "%M %U %S" -o "$W/time.$$" "$@" >/dev/null 2>"$W/err.$$"; then
        echo "scale.sh: failed: $*" >&2
        tail -5 "$W/err.$$" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    sleep 0.5 # the backends reaped
    c1=$(server_cpu)
    s=$(echo "$t1 - $t0" | bc)
    read -r kb cpu <<<"$(tail -1 "$W/time.$$" | awk '{ print $1, $2 + $3 }')"
    scpu=$(echo "$c1 - $c0" | bc)
    echo "$part|$kind|$b|$rows|$s|$kb|$ROUND|$load|$cpu|$scpu" >>"$RES"
    printf '  %-8s %-10s %s %9s rows %8.2f s %7.0f MiB  cpu %7.2f s  server cpu %7.2f s  load %s\n' "$part" "$kind" "$b" "$rows" "$s" "$(echo "$kb / 1024" | bc -l)" "$cpu" "$scpu" "$load"
    # driftmon's own timed parts (its "run committed" line), and its log kept in $W/logs
    mkdir -p "$W/logs"
    cp "$W/err.$$" "$W/logs/$part-${kind// /_}-$b-$rows-r$ROUND.log"
    grep -o 'reference_s=[^ ]* read_s=[^ ]* compare_s=[^ ]* total_s=[^ ]*' "$W/err.$$" | sed 's/^/             /' || true
}

# disk: bytes free under a path
free_bytes() { df -P -B1 "$1" | awk 'NR == 2 {print $4}'; }
need() { # WHAT BYTES PATH VAR
    local have
    have=$(free_bytes "$3")
    if [ "$2" -gt $((have - 4 * 1024 * 1024 * 1024)) ]; then
        echo "scale.sh: $1 needs about $(($2 / 1000000)) MB under $3, $((have / 1000000)) MB free (4 GB kept back): lower $4" >&2
        exit 2
    fi
    echo "disk: $1 needs about $(($2 / 1000000)) MB under $3 ($((have / 1000000)) MB free)"
}

echo "scale.sh: parts ${PARTS[*]}; rounds $ROUNDS; $(nproc) cores, $(free -g | awk '/^Mem/ {print $2}') GiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "A: $DM"
[ -z "$DM_B" ] || echo "B: $DM_B"

# ---- compare ----------------------------------------------------------------------------
if has compare; then
    "$GEN" --shape bench --rows 2000 --seed 2 --drifted 10 -o "$W/sample.tmp"
    bpr=$(($(stat -c %s "$W/sample.tmp") / 2000 + 1))
    rm -f "$W/sample.tmp"
    total=$COMPARE_REF_ROWS
    for n in $COMPARE_SIZES; do total=$((total + n)); done
    need "compare's CSV files" $((total * bpr)) "$W" COMPARE_SIZES
    ref=$W/ref$COMPARE_REF_ROWS.csv
    [ -f "$ref" ] || { "$GEN" --shape bench --rows "$COMPARE_REF_ROWS" --seed 1 -o "$W/ref.tmp" && mv "$W/ref.tmp" "$ref"; }
    for b in "${BINS[@]}"; do
        "$(bin "$b")" profile "$ref" -o "$W/ref.$b.dmp" >/dev/null 2>&1
    done
    echo "compare: reference $COMPARE_REF_ROWS rows ($(($(stat -c %s "$ref") / 1000000)) MB of CSV), profile $(($(stat -c %s "$W/ref.A.dmp") / 1000000)) MB"
    for n in $COMPARE_SIZES; do
        cur=$W/cur$n.csv
        [ -f "$cur" ] || { "$GEN" --shape bench --rows "$n" --seed 2 --drifted 10 -o "$W/cur.tmp" && mv "$W/cur.tmp" "$cur"; }
        for r in $(seq "$ROUNDS"); do
            for b in $(order "$r"); do
                d=$(bin "$b")
                measure compare cold "$b" "$n" "$d" compare "$ref" "$cur" --json "$W/out.json" --html "$W/out.html" --quiet
                measure compare warm "$b" "$n" "$d" compare "$W/ref.$b.dmp" "$cur" --json "$W/out.json" --html "$W/out.html" --quiet
            done
        done
        [ "$KEEP_DATA" = 1 ] || rm -f "$cur"
    done
fi

# ---- check and refload: a throwaway cluster ---------------------------------------------
# cols_sql K0 N SHIFT: the SELECT list of N generated columns c<K0>.. (see the top); SHIFT 1
# multiplies the first 10 continuous columns by 1.5
cols_sql() {
    /usr/bin/python3 - "$@" <<'EOF'
import sys
k0, n, shift = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
out = []
for k in range(k0, k0 + n):
    name = f"c{k:03d}"
    if k % 5 == 4:
        e = f"'v' || floor(random() ^ 2 * {3 + k % 20})::int"
    elif k % 5 == 3:
        e = "floor(random() * 10)::int"
    else:
        scale = 1 + k % 13
        e = f"(-ln(1 - random()) * {scale})::double precision" if k % 2 else f"(random() * {scale} + random())::double precision"
        if shift and k < 10:
            e = f"({e}) * 1.5"
        if k % 7 == 0:
            e = f"CASE WHEN random() < 0.05 THEN NULL ELSE {e} END"
    out.append(f"{e} AS {name}")
print(",\n".join(out))
EOF
}
colnames() { /usr/bin/python3 -c 'import sys; print(",".join("c%03d" % k for k in range(int(sys.argv[1]))))' "$1"; }

if has check || has refload; then
    bytes=0
    if has check; then
        maxw=0
        for n in $CHECK_SIZES; do [ "$n" -gt "$maxw" ] && maxw=$n; done
        bytes=$((bytes + (maxw + CHECK_REF_ROWS) * CHECK_COLS * 17 / 2))
    fi
    has refload && bytes=$((bytes + (BIG_ROWS + BIG_WINDOW) * BIG_COLS * 17 / 2))
    need "the cluster's tables" "$bytes" /tmp "CHECK_SIZES, BIG_ROWS or BIG_WINDOW"
    PG=$(mktemp -d /tmp/dm-scalepg.XXXXXX)
    pg_env=$(bash tests/pg/cluster.sh start "$PG")
    eval "$pg_env"
    export PGOPTIONS="-c client_min_messages=warning"
    q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
    q -c "ALTER SYSTEM SET max_parallel_workers_per_gather = 0" -c "SELECT pg_reload_conf()" >/dev/null
    # table NAME ROWS COLS SHIFT SEED [batch]: an unlogged table of generated rows, i = 1..ROWS
    table() {
        local t0 extra=""
        t0=$(date +%s)
        [ "${6:-}" = batch ] && extra="'w'::text AS batch_id, "
        q -c "SELECT setseed($5)" -c "CREATE UNLOGGED TABLE $1 AS SELECT i, $extra$(cols_sql 0 "$3" "$4") FROM generate_series(1, $2) AS i" >/dev/null
        [ "${6:-}" = batch ] && q -c "CREATE INDEX ON $1 (i)"
        q -c "VACUUM ANALYZE $1"
        echo "table $1: $2 rows x $3 columns in $(($(date +%s) - t0)) s, $(q -c "SELECT pg_size_pretty(pg_total_relation_size('$1'))")"
    }
    config() { # FILE TABLE REFERENCE
        cat >"$1" <<EOF
{"source": {"table": "$2", "batch_column": "batch_id"}, "reference": {"name": "$3"},
 "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"}}
EOF
    }
    config "$W/init.json" x x
    for b in "${BINS[@]}"; do "$(bin "$b")" init --config "$W/init.json" 2>/dev/null; done
fi

if has check; then
    table ref333 "$CHECK_REF_ROWS" "$CHECK_COLS" 0 0.25
    table w333 "$maxw" "$CHECK_COLS" 1 0.5 batch
    cols=$(colnames "$CHECK_COLS")
    q -c "CREATE VIEW ref333_v AS SELECT $cols FROM ref333"
    for b in "${BINS[@]}"; do
        measure check "ref load" "$b" "$CHECK_REF_ROWS" "$(bin "$b")" reference load --table ref333_v --name "r333$b" --config "$W/init.json"
    done
    first=1
    for n in $CHECK_SIZES; do
        q -c "CREATE VIEW w_$n AS SELECT batch_id, $cols FROM w333 WHERE i <= $n"
        for b in "${BINS[@]}"; do config "$W/check_$n.$b.json" "w_$n" "r333$b"; done
        if [ "$first" = 1 ]; then # the reference's cache filled, as in a running daemon
            for b in "${BINS[@]}"; do "$(bin "$b")" check w --config "$W/check_$n.$b.json" --quiet >/dev/null 2>&1; done
            first=0
        fi
        # the dump and the check(s) alternate: the dump first in odd rounds, last in even ones,
        # so that each round's ratio compares runs made at the same moment
        for r in $(seq "$ROUNDS"); do
            ROUND=$r
            [ $((r % 2)) = 0 ] || measure check dump - "$n" psql -X -q -c "\\copy (SELECT $cols FROM w_$n WHERE batch_id = 'w') TO '/dev/null' WITH (FORMAT binary)"
            for b in $(order "$r"); do
                measure check check "$b" "$n" "$(bin "$b")" check w --config "$W/check_$n.$b.json" --quiet
            done
            [ $((r % 2)) = 1 ] || measure check dump - "$n" psql -X -q -c "\\copy (SELECT $cols FROM w_$n WHERE batch_id = 'w') TO '/dev/null' WITH (FORMAT binary)"
        done
        ROUND=0
    done
    q -c "DROP TABLE w333 CASCADE" -c "DROP TABLE ref333 CASCADE"
fi

if has refload; then
    table big "$BIG_ROWS" "$BIG_COLS" 0 0.75
    table bigw "$BIG_WINDOW" "$BIG_COLS" 1 0.125 batch
    cols=$(colnames "$BIG_COLS")
    q -c "CREATE VIEW big_v AS SELECT $cols FROM big" -c "CREATE VIEW bigw_v AS SELECT batch_id, $cols FROM bigw"
    for r in $(seq "$ROUNDS"); do
        for b in $(order "$r"); do
            measure refload "ref load" "$b" "$BIG_ROWS" "$(bin "$b")" reference load --table big_v --name "big$b$r" --config "$W/init.json"
            config "$W/big.$b.json" bigw_v "big$b$r"
            # the first check after the load, from the database: A and B store the same
            # profile (one sha256, one cache file), so the second would read the first's copy
            rm -rf "$W/cache"
            measure refload check "$b" "$BIG_WINDOW" "$(bin "$b")" check w --config "$W/big.$b.json" --quiet
        done
    done
fi

# ---- the tables and slopes ----------------------------------------------------------------
echo
echo "== results (median of $ROUNDS round(s); peak = max RSS in MiB; slope: least squares over the sizes)"
awk -F'|' -v bins="${BINS[*]}" '
function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    key = $1 " " $2
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    if (!((key, $4) in seenrow)) { seenrow[key, $4] = 1; rows[key] = rows[key] " " $4 }
    s[key, $3, $4] = s[key, $3, $4] " " $5
    m[key, $3, $4] = m[key, $3, $4] " " ($6 / 1024)
    have[key, $3] = 1
    if ($7 > 0) { sec[key, $3, $4, $7] = $5; ld[key, $3, $4, $7] = $8 }
    cpu[key, $3, $4] = cpu[key, $3, $4] " " $9
    scpu[key, $3, $4] = scpu[key, $3, $4] " " $10
}
END {
    nb = split(bins, B, " ")
    for (k = 1; k <= nk; k++) {
        key = keys[k]
        nr = split(rows[key], R, " ")
        for (bi = 1; bi <= nb + 1; bi++) {
            b = bi <= nb ? B[bi] : "-"
            if (!((key, b) in have)) continue
            printf "%s (%s)\n  %10s %9s %9s\n", key, b == "-" ? "psql" : b, "rows", "seconds", "peak MiB"
            sx = sy = sm = sxx = sxy = sxm = 0
            for (i = 1; i <= nr; i++) {
                x = R[i] / 1e6; ts = med(s[key, b, R[i]]); tm = med(m[key, b, R[i]])
                T[b, R[i]] = ts; M[b, R[i]] = tm
                printf "  %10d %9.2f %9.0f\n", R[i], ts, tm
                sx += x; sy += ts; sm += tm; sxx += x * x; sxy += x * ts; sxm += x * tm
            }
            d = nr * sxx - sx * sx
            if (nr >= 2 && d > 0) {
                a = (nr * sxy - sx * sy) / d; am = (nr * sxm - sx * sm) / d
                printf "  slope: %.2f s per million rows (intercept %.2f s), %.0f MiB per million rows (intercept %.0f MiB)\n",
                    a, (sy - a * sx) / nr, am, (sm - am * sx) / nr
            }
        }
        if (nb == 2 && ((key, "A") in have)) {
            for (i = 1; i <= nr; i++)
                printf "ratio B/A %s %d rows: time %.3f, peak memory %.3f\n", key, R[i], T["B", R[i]] / T["A", R[i]], M["B", R[i]] / M["A", R[i]]
        }
        if (key == "check check" && (("check dump", "-") in have)) {
            printf "check / dump (same window, same round; median of the rounds\x27 ratios)\n"
            for (i = 1; i <= nr; i++) for (bi = 1; bi <= nb; bi++) {
                list = ""; detail = ""
                for (r = 1; (key, B[bi], R[i], r) in sec; r++) {
                    if (!(("check dump", "-", R[i], r) in sec)) continue
                    q = sec[key, B[bi], R[i], r] / sec["check dump", "-", R[i], r]
                    list = list " " q
                    detail = detail sprintf(" %.3f (load %s/%s)", q, ld[key, B[bi], R[i], r], ld["check dump", "-", R[i], r])
                }
                printf "  %10d %s median %.3f; rounds:%s\n", R[i], B[bi], med(list), detail
                printf "  %10d %s cpu: check %.1f s + server %.1f s; dump psql %.1f s + server %.1f s (medians)\n", R[i], B[bi],
                    med(cpu[key, B[bi], R[i]]), med(scpu[key, B[bi], R[i]]), med(cpu["check dump", "-", R[i]]), med(scpu["check dump", "-", R[i]])
            }
        }
    }
}' "$RES" | tee "$W/summary.txt"

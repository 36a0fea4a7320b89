#!/usr/bin/env bash
# check.sh - benchmark of `driftmon check` against a plain binary dump of the same rows
# (issue 3).  Not run by make check: `bash tests/bench/check.sh` (after make).
#
# Data: a table 333 columns wide like the model's feature table, built from the generator:
# the 134 Home Credit application + bureau columns, the 100 columns of the bench shape and 99
# more of the bench shape under another seed (prefixed b2_), plus batch_id.  The reference is
# 307,511 rows of it, profiled once into driftmon.reference; the monitored table holds two
# batches of 50,000 rows.  Then, alternating, ROUNDS times:
#   dump   psql -c "\copy (SELECT <the 333 columns> FROM t WHERE batch_id = 'b1') TO '/dev/null'
#                   WITH (FORMAT binary)"
#   dump+  the same dump, its session first freeing one 1 MB allocation (SELECT
#          octet_length(repeat(repeat(' ', 8192), 128))), as driftmon does before each COPY
#          of a 333-column table: this raises the backend's malloc thresholds (see
#          dm_db_copy_read), without which a backend whose heap happens to be laid out badly
#          gives its per-row memory back to the kernel at every row and takes 5x the time.
#          On a cluster that has served many runs the plain dump falls into that in most
#          rounds that follow a check; on this fresh one, now and then.  Both ratios are
#          printed; dump+ cannot fall into it.
#   check  driftmon check b1   (read, compare, both reports, the run's transaction)
# and prints the medians, the ratio check / dump+ (and / dump), and the check's peak memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=$BUILD/driftmon
GEN=$BUILD/dm-gen
ROUNDS=${ROUNDS:-5}
REF_ROWS=${REF_ROWS:-307511}
BATCH_ROWS=${BATCH_ROWS:-50000}
W=$BUILD/bench-check
mkdir -p "$W"
chmod 0777 "$W"
PG=$(mktemp -d /tmp/dm-benchpg.XXXXXX)
[ -n "${KEEP_PG:-}" ] || trap 'bash tests/pg/cluster.sh destroy "$PG" >/dev/null 2>&1' EXIT
pg_env=$(bash tests/pg/cluster.sh start "$PG")
eval "$pg_env"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# wide CSV: paste three generated blocks side by side, 333 columns
wide() { # ROWS SEED OUT EXTRA_GEN_ARGS...
    local rows=$1 seed=$2 out=$3
    shift 3
    "$GEN" --rows "$rows" --seed "$seed" "$@" -o "$W/a.csv"
    "$GEN" --shape bench --rows "$rows" --seed $((seed + 1)) -o "$W/b.csv"
    "$GEN" --shape bench --rows "$rows" --seed $((seed + 2)) -o "$W/c.csv"
    cut -d, -f1-100 "$W/c.csv" | sed '1s/\([a-z_0-9]*\)/b2_\1/g' >"$W/c99.csv"
    paste -d, "$W/a.csv" "$W/b.csv" "$W/c99.csv" >"$out"
    rm -f "$W/a.csv" "$W/b.csv" "$W/c.csv" "$W/c99.csv"
}
if [ ! -f "$W/ref.csv" ]; then
    echo "generating the reference ($REF_ROWS rows x 333 columns) and two batches..."
    wide "$REF_ROWS" 100 "$W/ref.csv" --no-target
    wide "$BATCH_ROWS" 200 "$W/b1.csv" --no-target --revolving-share 0.01 --bureau-share 0.87 --first-id 900000
    wide "$BATCH_ROWS" 300 "$W/b2.csv" --no-target --first-id 1000000
fi
ncols=$(head -1 "$W/ref.csv" | tr ',' '\n' | wc -l)
echo "columns: $ncols"
/usr/bin/python3 tests/integration/csv2sql.py "$W/b1.csv" t "batch_id:text" >"$W/t.sql"
q -f "$W/t.sql"
cols=$(head -1 "$W/b1.csv")
qcols=$(/usr/bin/python3 -c 'import sys; print(",".join("\"%s\"" % c for c in sys.argv[1].split(",")))' "$cols")
for b in b1 b2; do
    q -c "\\copy t ($qcols) FROM '$W/$b.csv' WITH (FORMAT csv, HEADER true)"
    q -c "UPDATE t SET batch_id = '$b' WHERE batch_id IS NULL"
done
q -c "CREATE INDEX ON t (batch_id)"
q -c "VACUUM ANALYZE t"
cat >"$W/config.json" <<EOF
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "wide"},
 "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"}}
EOF
"$DM" init --config "$W/config.json" 2>/dev/null
/usr/bin/time -f "reference load: %e s, %M KB peak" "$DM" reference load "$W/ref.csv" --name wide --config "$W/config.json"

dump_cmd=(psql -X -q -c "\\copy (SELECT $qcols FROM t WHERE batch_id = 'b1') TO '/dev/null' WITH (FORMAT binary)")
dumpp_cmd=(psql -X -q -c "SELECT pg_catalog.octet_length(pg_catalog.repeat(pg_catalog.repeat(' ', 8192), 128))"
    -c "\\copy (SELECT $qcols FROM t WHERE batch_id = 'b1') TO '/dev/null' WITH (FORMAT binary)")
check_cmd=("$DM" check b1 --config "$W/config.json" --quiet)
"${check_cmd[@]}" 2>&1 | tail -1 # one run first: its log line shows where the time goes
# warm the caches once
"${dump_cmd[@]}" >/dev/null
dumps=()
dumpps=()
checks=()
mems=()
for r in $(seq "$ROUNDS"); do
    t0=$(date +%s.%N)
    "${dump_cmd[@]}" >/dev/null
    t1=$(date +%s.%N)
    "${dumpp_cmd[@]}" >/dev/null
    t2=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$W/mem" "${check_cmd[@]}" 2>/dev/null
    t3=$(date +%s.%N)
    d=$(echo "$t1 - $t0" | bc)
    dp=$(echo "$t2 - $t1" | bc)
    c=$(echo "$t3 - $t2" | bc)
    dumps+=("$d")
    dumpps+=("$dp")
    checks+=("$c")
    mems+=("$(cat "$W/mem")")
    printf '  round %d: dump %.3f s, dump+ %.3f s, check %.3f s, check peak %d MB\n' "$r" "$d" "$dp" "$c" \
        $(($(cat "$W/mem") / 1024))
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
md=$(median "${dumps[@]}")
mdp=$(median "${dumpps[@]}")
mc=$(median "${checks[@]}")
mm=$(median "${mems[@]}")
echo "median dump: $md s; median dump+: $mdp s; median check: $mc s"
echo "ratio check/dump+: $(echo "scale=2; $mc / $mdp" | bc) (check/dump: $(echo "scale=2; $mc / $md" | bc)); check peak memory: $((${mm%.*} / 1024)) MB"

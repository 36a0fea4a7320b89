#!/usr/bin/env bash
# wide.sh - `driftmon compare` on wide CSV files (issue 16, item 3): the time must grow
# linearly with the number of columns.  Not run by make check: `bash tests/bench/wide.sh`
# (after make).
#
# Data (made once, in $DM_BUILD/bench-wide): a reference and a current CSV of 3 rows x N
# numeric columns, integers 0..99 (the two files of different seeds), for N = 10,000,
# 40,000 and 200,000; and the baseline, a tall pair holding as many cells as the 40k pair:
# 100 columns x 1,200 rows.  Then ROUNDS rounds (default 5), each timing `driftmon compare
# REF CUR` on: tall, 10k, 40k (every second round in the reverse order); and W200_ROUNDS
# rounds (default 3) of the 200k pair, each run stopped after TIMEOUT seconds (default 120).
# Prints the medians and peak memory, and the ratios:
#   40k/10k      4 when the time is linear in the columns
#   200k/10k     20 when linear
#   40k/tall     a column's cost against the same cells as rows of a narrow file
# Quote ratios, not seconds (machine-bound, DESIGN.md section 7).
#
# The binary timed is $DM_DRIFTMON (default $DM_BUILD/driftmon).  With $DM_DRIFTMON_B set
# too, two binaries are compared, A and B in every round (every second round B first), and
# the ratios B / A are printed; a binary that does not finish the 200k pair in TIMEOUT
# seconds is reported as such.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
DM_B=${DM_DRIFTMON_B:-}
ROUNDS=${ROUNDS:-5}
W200_ROUNDS=${W200_ROUNDS:-3}
TIMEOUT=${TIMEOUT:-120}
W=$BUILD/bench-wide
mkdir -p "$W"

# make N ROWS SEED OUT: a CSV of ROWS rows x N columns c0..c(N-1), integers 0..99
make_csv() {
    [ -f "$4" ] && return
    /usr/bin/python3 - "$@" <<'EOF'
import random, sys
n, rows, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = random.Random(seed)
with open(out + ".tmp", "w") as f:
    f.write(",".join("c%d" % i for i in range(n)) + "\n")
    for _ in range(rows):
        f.write(",".join(str(r.randrange(100)) for _ in range(n)) + "\n")
import os
os.rename(out + ".tmp", out)
EOF
}
for n in 10000 40000 200000; do
    make_csv "$n" 3 1 "$W/ref$n.csv"
    make_csv "$n" 3 2 "$W/cur$n.csv"
done
make_csv 100 1200 1 "$W/reftall.csv"
make_csv 100 1200 2 "$W/curtall.csv"

declare -A BIN
if [ -z "$DM_B" ]; then
    bins=(A)
    BIN[A]=$DM
else
    echo "A: $DM"
    echo "B: $DM_B"
    bins=(A B)
    BIN[A]=$DM BIN[B]=$DM_B
fi
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A T M
now() { date +%s.%N; }
fmt() { printf '%.3f' "$1"; }
# run BIN SHAPE: one timed compare; its time (or "timeout") and peak memory recorded
run() {
    local b=$1 s=$2 t0 t1 rc=0
    t0=$(now)
    /usr/bin/time -f "%M" -o "$W/mem" timeout "$TIMEOUT" "${BIN[$b]}" compare \
        "$W/ref$s.csv" "$W/cur$s.csv" >/dev/null 2>"$W/err" || rc=$?
    t1=$(now)
    if [ "$rc" = 124 ]; then
        T[$b $s]+=" timeout"
        echo -n ", $b $s > $TIMEOUT s"
        return
    fi
    if [ "$rc" != 0 ]; then
        echo
        echo "wide.sh: $b compare of $s failed (exit $rc): $(tail -1 "$W/err")" >&2
        exit 1
    fi
    local d
    d=$(echo "$t1 - $t0" | bc)
    T[$b $s]+=" $d"
    M[$b $s]+=" $(tail -1 "$W/mem")"
    echo -n ", $b $s $(fmt "$d") s"
}
order() { # ROUND ITEMS...: the items, reversed in every second round
    local r=$1
    shift
    if [ $((r % 2)) = 0 ]; then
        for ((i = $#; i >= 1; i--)); do echo "${!i}"; done
    else
        printf '%s\n' "$@"
    fi
}
jobs_small=()
for b in "${bins[@]}"; do
    for s in tall 10000 40000; do jobs_small+=("$b $s"); done
done
for r in $(seq "$ROUNDS"); do
    echo -n "  round $r"
    while read -r b s; do run "$b" "$s"; done < <(order "$r" "${jobs_small[@]}")
    echo
done
for r in $(seq "$W200_ROUNDS"); do
    echo -n "  200k round $r"
    while read -r b; do run "$b" 200000; done < <(order "$r" "${bins[@]}")
    echo
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { echo "scale=2; $1 / $2" | bc; }
# shellcheck disable=SC2086 # the lists are space-separated numbers
for b in "${bins[@]}"; do
    tt=$(median ${T[$b tall]})
    t10=$(median ${T[$b 10000]})
    t40=$(median ${T[$b 40000]})
    for s in tall 10000 40000; do
        echo "$b median $s: $(fmt "$(median ${T[$b $s]})") s, peak memory $(($(median ${M[$b $s]}) / 1024)) MB"
    done
    if [[ " ${T[$b 200000]} " == *" timeout "* ]]; then
        echo "$b 200000: did not finish in $TIMEOUT s"
        t200=
    else
        t200=$(median ${T[$b 200000]})
        echo "$b median 200000: $(fmt "$t200") s, peak memory $(($(median ${M[$b 200000]}) / 1024)) MB"
    fi
    r200=n/a
    [ -z "$t200" ] || r200=$(ratio "$t200" "$t10")
    echo "$b ratio 40k/10k: $(ratio "$t40" "$t10") (linear: 4); 200k/10k: $r200 (linear: 20); 40k/tall: $(ratio "$t40" "$tt")"
done
if [ -n "$DM_B" ]; then
    for s in tall 10000 40000 200000; do
        if [[ " ${T[A $s]} ${T[B $s]} " == *" timeout "* ]]; then
            echo "ratio B/A $s: n/a (a timeout)"
            continue
        fi
        echo "ratio B/A $s: time $(ratio "$(median ${T[B $s]})" "$(median ${T[A $s]})"), peak memory $(ratio "$(median ${M[B $s]})" "$(median ${M[A $s]})")"
    done
fi

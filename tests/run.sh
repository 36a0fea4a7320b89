#!/usr/bin/env bash
# tests/run.sh LABEL PART... - run test parts, show their output as it comes, and end with one
# line of totals, alone on the last line:
#     LABEL: P passed, F failed, S skipped
# PART is
#   unit          the Criterion binary $DM_BUILD/unit-tests, run from tests/: its Synthesis line
#                 gives passed and failed, its TAP report names the skipped and failed tests;
#   integration   every tests/integration/*.sh: each ends with "NAME: P passed, F failed" and,
#                 when it can skip, ", S skipped"; its "SKIP label: reason" lines name them
#                 (tests/lib/results.sh prints both);
#   NAME=COMMAND  a command (eval'd) counted as one check, passed when it exits 0.
# A part that exits non-zero without a failure counted, prints no totals line, or counts skips
# it does not name, counts one failure more: a missing tool or package never passes silently.
# Before the totals come the skipped checks by name, then the failed ones.  Exit status 1 when
# anything failed, and with CI=true when anything was skipped.
# Each part's output is kept in $DM_BUILD/test-logs/PART.log.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
label=${1:?usage: tests/run.sh LABEL unit|integration|NAME=COMMAND...}
shift

passed=0
failed=0
skipped=0
skipped_names=()
failed_names=()
TOTALS='^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'

# run LOG COMMAND...: run it with its output in LOG, shown as it is written; sets rc.
run() {
    local log=$1 pid
    shift
    : >"$log"
    "$@" >"$log" 2>&1 &
    pid=$!
    tail -n +1 -f --pid="$pid" "$log" &
    wait "$pid"
    rc=$?
    wait $!
}

# tally NAME P F S: add a part's counts.
tally() {
    passed=$((passed + $2))
    failed=$((failed + $3))
    skipped=$((skipped + $4))
}

# problem NAME TEXT: one failure that no test counted.
problem() {
    failed=$((failed + 1))
    failed_names+=("$1: $2")
}

unit() {
    local log=$LOGS/unit.log tap=$LOGS/unit.tap syn t p
    rm -f "$tap"
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
    run "$log" bash -c 'cd tests && exec "$1" --jobs 2 --tap="$2"' unit "$BUILD/unit-tests" "$tap"
    syn=$(grep -Eo 'Synthesis: Tested: [0-9]+ \| Passing: [0-9]+' "$log" | tail -n 1)
    if [ -z "$syn" ]; then
        problem unit "no Criterion Synthesis line (exit $rc; see $log)"
        return
    fi
    t=$(sed -E 's/.*Tested: ([0-9]+).*/\1/' <<<"$syn")
    p=$(sed -E 's/.*Passing: ([0-9]+)/\1/' <<<"$syn")
    local s=0 line
    while IFS= read -r line; do
        skipped_names+=("unit: ${line#ok - }")
        s=$((s + 1))
    done < <(grep -E '^ok - .*# SKIP' "$tap" 2>/dev/null | sed -E 's/ +# SKIP /: /')
    while IFS= read -r line; do
        failed_names+=("unit: ${line#not ok - }")
    done < <(grep -E '^not ok - ' "$tap" 2>/dev/null | sed -E 's/ +\([0-9.]+s\)$//')
    tally unit "$p" $((t - p)) "$s"
    if [ "$rc" -ne 0 ] && [ "$t" -eq "$p" ]; then
        problem unit "exit $rc with every test passing (see $log)"
    fi
}

# counted NAME LOG: a part that prints its own totals and names its skips.
counted() {
    local name=$1 log=$2 line n p f s named l
    line=$(grep -E "$TOTALS" "$log" | tail -n 1)
    if [ -z "$line" ]; then
        problem "$name" "exit $rc without a totals line (a tool or package missing? see $log)"
        return
    fi
    n=${line%%:*}
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    s=0
    [[ $line == *skipped ]] && s=$(sed -E 's/.* ([0-9]+) skipped$/\1/' <<<"$line")
    tally "$n" "$p" "$f" "$s"
    named=0
    while IFS= read -r l; do
        skipped_names+=("$n: ${l#SKIP }")
        named=$((named + 1))
    done < <(grep -E '^SKIP ' "$log")
    while IFS= read -r l; do
        failed_names+=("$n: ${l#FAIL }")
    done < <(grep -E '^FAIL ' "$log")
    [ "$named" -eq "$s" ] || problem "$n" "$s skipped but $named named by a SKIP line"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        problem "$n" "exit $rc with no failure counted (see $log)"
    fi
}

integration() {
    local t name
    for t in tests/integration/*.sh; do
        name=$(basename "$t" .sh)
        echo "== $t"
        run "$LOGS/$name.log" bash "$t"
        counted "$name" "$LOGS/$name.log"
    done
}

command_part() {
    local name=${1%%=*} cmd=${1#*=}
    echo "== $name: $cmd"
    run "$LOGS/$name.log" bash -c "$cmd"
    if [ "$rc" -eq 0 ]; then
        tally "$name" 1 0 0
    else
        problem "$name" "exit $rc (see $LOGS/$name.log)"
    fi
}

for part in "$@"; do
    case $part in
    unit) unit ;;
    integration) integration ;;
    *=*) command_part "$part" ;;
    *)
        echo "tests/run.sh: unknown part \"$part\"" >&2
        exit 2
        ;;
    esac
done

echo
for s in "${skipped_names[@]}"; do echo "skipped: $s"; done
for f in "${failed_names[@]}"; do echo "failed: $f"; done
ci_fail=0
case ${CI:-} in
true | 1 | yes)
    if [ "$skipped" -gt 0 ]; then
        echo "CI=${CI}: $skipped skipped (listed above) fail the run"
        ci_fail=1
    fi
    ;;
esac
echo "$label: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$ci_fail" -eq 0 ]

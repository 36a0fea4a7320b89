#!/usr/bin/env bash
# ab.sh - two revisions of driftmon on the same benchmark workloads, alternating, to decide
# whether a change pays (issue 15: an optimisation stays only if it gains 5 % or more end to
# end).
#
#   bash tests/bench/ab.sh [-r ROUNDS] [-w WORKLOADS] [REV_A [REV_B]]
#
#   REV_A, REV_B  git revisions (default: the branch's base, `git merge-base main HEAD`, and
#                 HEAD); "." is the working tree as built in $DM_BUILD (make build first)
#   -w            comma-separated: compare, compare-fp, check, serve, verify, scale, or all
#                 (default: compare; all is compare, check, serve and verify: scale at its
#                 full sizes takes long)
#   -r            rounds (default 5); in each, every workload runs with A and with B, every
#                 second round B first
#
# Each revision is exported (git archive) and built once into build/ab/<commit>/ (make build
# BUILD=...); later runs reuse the build.  The workloads are the benchmarks' own, with their
# data preparation, run with DM_DRIFTMON=A and DM_DRIFTMON_B=B (see each script):
#   compare  tests/bench/compare.py: compare cold (CSV reference) and warm (saved profile)
#   compare-fp  the same on the files at full precision (compare.py --full-precision: 16-17
#            significant digits, as real exports)
#   check    tests/bench/check.sh: check with the default settings, and with the database
#            opt-ins on where both binaries accept them
#   serve    tests/bench/serve.sh: latency (LATENCY_RUNS batches per round and binary,
#            default 5) and throughput with one and two daemons (THROUGHPUT_BATCHES per
#            round, default 30)
#   verify   tests/bench/verify.sh: verify over RUNS runs (default 1,000) x 333 columns
#   scale    tests/bench/scale.sh $SCALE_PARTS (default compare): time and peak memory at
#            four sizes (its size variables, e.g. COMPARE_SIZES, pass through)
# Each prints its medians and the ratios B / A; the ratios are repeated at the end.  The
# machine must be otherwise quiet for figures that decide anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
SHARED=${DM_SHARED:-$ROOT/../shared}
ROUNDS=5
WORKLOADS=compare
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "r:w:h" o; do
    case "$o" in
    r) ROUNDS=$OPTARG ;;
    w) WORKLOADS=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 2 ] || usage
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ab.sh: -r takes a whole number >= 1, got \"$ROUNDS\"" >&2; exit 2; }
[ "$WORKLOADS" = all ] && WORKLOADS=compare,check,serve,verify
for w in ${WORKLOADS//,/ }; do
    case "$w" in
    compare | compare-fp | check | serve | verify | scale) ;;
    *) echo "ab.sh: unknown workload \"$w\" (compare, compare-fp, check, serve, verify, scale, all)" >&2; exit 2 ;;
    esac
done
REV_A=${1:-$(git merge-base main HEAD)}
REV_B=${2:-HEAD}

# the current tree's build: the data generator and the benchmarks' data live there
mkdir -p "$BUILD/ab"
make --no-print-directory build BUILD="$BUILD" >"$BUILD/ab/make.log" 2>&1 ||
    { tail -20 "$BUILD/ab/make.log" >&2; exit 1; }

# binary REV: the path of REV's driftmon, built when needed (its log on failure)
binary() {
    if [ "$1" = . ]; then
        echo "$BUILD/driftmon"
        return
    fi
    local sha d
    sha=$(git rev-parse --verify -q "$1^{commit}") || { echo "ab.sh: no revision \"$1\"" >&2; return 1; }
    d=$BUILD/ab/$sha
    if [ ! -x "$d/build/driftmon" ]; then
        echo "building $1 ($sha) in $d ..." >&2
        rm -rf "$d"
        mkdir -p "$d/src"
        git archive "$sha" | tar -x -C "$d/src"
        make --no-print-directory -C "$d/src" build BUILD="$d/build" >"$d/make.log" 2>&1 ||
            { tail -20 "$d/make.log" >&2; echo "ab.sh: could not build $1 (log: $d/make.log)" >&2; return 1; }
    fi
    echo "$d/build/driftmon"
}
A=$(binary "$REV_A")
B=$(binary "$REV_B")
describe() { [ "$1" = . ] && echo "the working tree" || git log -1 --format='%h %s' "$1" | cut -c1-100; }
echo "A = $REV_A: $(describe "$REV_A")"
echo "B = $REV_B: $(describe "$REV_B")"
echo "rounds: $ROUNDS; workloads: $WORKLOADS; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

export DM_BUILD=$BUILD DM_SHARED=$SHARED DM_DRIFTMON=$A DM_DRIFTMON_B=$B ROUNDS
log=$(mktemp /tmp/dm-ab.XXXXXX)
trap 'rm -f "$log"' EXIT
for w in ${WORKLOADS//,/ }; do
    echo "== $w"
    case "$w" in
    compare) /usr/bin/python3 tests/bench/compare.py "$BUILD" "$SHARED" --rounds "$ROUNDS" ;;
    compare-fp) /usr/bin/python3 tests/bench/compare.py "$BUILD" "$SHARED" --rounds "$ROUNDS" --full-precision ;;
    check) bash tests/bench/check.sh ;;
    serve) bash tests/bench/serve.sh "${LATENCY_RUNS:-5}" "${THROUGHPUT_BATCHES:-30}" ;;
    verify) bash tests/bench/verify.sh ;;
    scale)
        read -ra parts <<<"${SCALE_PARTS:-compare}"
        bash tests/bench/scale.sh "${parts[@]}"
        ;;
    esac 2>&1 | tee -a "$log"
done
echo "== B/A (A = $REV_A, B = $REV_B; time and latency: lower is better, throughput: higher)"
grep -E 'B/A' "$log" | grep -v '^  round' || echo "(no ratio: see above)"

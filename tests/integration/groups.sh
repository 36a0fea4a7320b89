#!/usr/bin/env bash
# groups.sh - `compare` by column groups (issue 20, docs/SCALE.md steps 2 and 4): the current
# file's raw numeric columns of groups g > 0 are spilled to unnamed files in TMPDIR while it is
# parsed, then read back, finished and compared one group at a time.  No database.
#   - the same compare gives the same JSON report, byte for byte (generated_at aside), with one
#     raw column to a group (limits.memory 1 MiB: the budget is below one column, so one), with
#     seven to a group (DRIFTMON_TEST_GROUP_COLUMNS=7, a test-only knob) and in one group (the
#     default 1 GiB): on the bench shape (cold: both CSV, the current file read in two halves;
#     warm: a saved profile), on the Home Credit samples, and on a file with -0.0 / +0.0,
#     infinities, NA tokens, a column that turns to text after numbers (read again) and the
#     model's score column; the HTML report too on the bench shape;
#   - the number of groups is the one the rule gives: ceil(raw columns / columns per group), with
#     every numeric column raw (DRIFTMON_TEST_RAW_NUMBERS=1); with the default (value, count)
#     pairs, the columns of few distinct values are never spilled (fewer groups, same report);
#   - the peak memory with limits.memory 1 MiB is below the default's by at least half of the
#     spilled columns' values (8 bytes a value: derived from the file's shape);
#   - a spill directory that cannot be used (TMPDIR a missing directory, or a file) is an
#     error naming it, exit 2, and nothing is left in the directory.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
SHARED=${DM_SHARED:-$PWD/../shared}
SAMPLES=$SHARED/data/homecredit-samples
results_name=groups
. tests/lib/results.sh

W=$(mktemp -d /tmp/dm-groups.XXXXXX)
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '{"limits": {"memory": "1 MiB"}}\n' >"$W/tiny.json"
printf '{}\n' >"$W/default.json"

# run NAME CONFIG [ENV=VALUE...] -- ARGS: compare ARGS; the JSON report without generated_at in
# $W/NAME.json, stderr in $W/NAME.err, the peak RSS (KiB) in $W/NAME.rss; returns the exit code
run() {
    local name=$1 cfg=$2
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    shift
    env "${envs[@]}" /usr/bin/time -f %M -o "$W/$name.rss" "$DM" compare "$@" --config "$cfg" \
        --json "$W/$name.raw.json" --quiet 2>"$W/$name.err"
    local rc=$?
    [ -f "$W/$name.raw.json" ] && grep -v '"generated_at"' "$W/$name.raw.json" >"$W/$name.json"
    return $rc
}

# groups_of NAME: the group count the run logged (1 when it logged none: one group)
groups_of() {
    local g
    g=$(sed -n 's/.*compared by column groups.* groups=\([0-9]*\).*/\1/p' "$W/$1.err" | head -n 1)
    echo "${g:-1}"
}

# same3 LABEL REF CUR RAW TABLES: the three ways give one report; RAW numeric columns in the
# current file, so with every numeric column raw (DRIFTMON_TEST_RAW_NUMBERS=1, a test-only
# knob) 1 to a group gives RAW groups and 7 to a group ceil(RAW / 7).  With the columns of few
# distinct values held as (value, count) pairs (the default), which are never spilled, 1 to a
# group gives at most 1 + RAW - TABLES groups, TABLES being the columns of at most 1,000
# distinct values (tables_of: those never turn raw), and the same report.
same3() {
    local label=$1 ref=$2 cur=$3 raw=$4 tables=$5 ok_all=1
    local rawenv=DRIFTMON_TEST_RAW_NUMBERS=1
    run "$label.one" "$W/default.json" X=1 -- "$ref" "$cur" || { bad "$label: default run failed" "$(cat "$W/$label.one.err")"; return; }
    run "$label.tiny" "$W/tiny.json" "$rawenv" -- "$ref" "$cur" || { bad "$label: 1 MiB run failed" "$(cat "$W/$label.tiny.err")"; return; }
    run "$label.seven" "$W/default.json" "$rawenv" DRIFTMON_TEST_GROUP_COLUMNS=7 -- "$ref" "$cur" ||
        { bad "$label: 7-column groups failed" "$(cat "$W/$label.seven.err")"; return; }
    run "$label.pairs" "$W/tiny.json" X=1 -- "$ref" "$cur" || { bad "$label: 1 MiB run (pairs) failed" "$(cat "$W/$label.pairs.err")"; return; }
    local g1 g7 gt gp want7=$(((raw + 6) / 7)) most=$((1 + raw - tables))
    [ "$most" -gt "$raw" ] && most=$raw
    g1=$(groups_of "$label.one")
    gt=$(groups_of "$label.tiny")
    g7=$(groups_of "$label.seven")
    gp=$(groups_of "$label.pairs")
    [ "$g1" = 1 ] || { bad "$label: default limit used $g1 groups, expected 1"; ok_all=0; }
    [ "$gt" = "$raw" ] || { bad "$label: 1 MiB used $gt groups, expected $raw (one per raw column)"; ok_all=0; }
    [ "$g7" = "$want7" ] || { bad "$label: 7 to a group used $g7 groups, expected $want7"; ok_all=0; }
    [ "$gp" -ge 1 ] && [ "$gp" -le "$most" ] ||
        { bad "$label: 1 MiB with pairs used $gp groups, expected 1 to $most ($tables columns held as pairs)"; ok_all=0; }
    for v in tiny seven pairs; do
        if ! cmp -s "$W/$label.one.json" "$W/$label.$v.json"; then
            bad "$label: the $v run's report differs from one group's" \
                "$(diff "$W/$label.one.json" "$W/$label.$v.json" | head -n 6)"
            ok_all=0
        fi
    done
    [ "$ok_all" = 1 ] && ok "$label: identical reports in 1, $want7 and $raw groups, and $gp with pairs"
}
# tables_of CSV: its numeric columns (as pandas reads them) of at most 1,000 distinct finite
# values (-0.0 and +0.0 counted apart, as the pairs' keys are): a table of them never turns
# raw (it stays under the 64 KiB floor, and 4,096 values of at most 1,000 distinct are fewer
# than equally likely values would give whatever the rows).  Empty when pandas is missing.
tables_of() {
    /usr/bin/python3 -c '
import sys, math, pandas as pd
d = pd.read_csv(sys.argv[1])
n = 0
for c in d.columns:
    if d[c].dtype.kind in "if":
        v = [x for x in d[c] if math.isfinite(x)]
        keys = len(set(x for x in v if x != 0)) + len(set(math.copysign(1, x) for x in v if x == 0))
        n += keys <= 1000
print(n)' "$1" 2>/dev/null
}

# ---- the bench shape: cold (two halves) and warm ------------------------------------------------
if [ -x "$GEN" ]; then
    "$GEN" --shape bench --rows 20000 --seed 1 -o "$W/bref.csv"
    "$GEN" --shape bench --rows 40000 --seed 2 --drifted 10 -o "$W/bcur.csv" # > 4 MiB: halves
    bt=$(tables_of "$W/bcur.csv")
    same3 bench-cold "$W/bref.csv" "$W/bcur.csv" 80 "${bt:-0}"
    "$DM" profile "$W/bref.csv" -o "$W/bref.dmp" >/dev/null
    same3 bench-warm "$W/bref.dmp" "$W/bcur.csv" 80 "${bt:-0}"
    # the HTML report: the plots are drawn with each group's tests
    for v in one tiny; do
        c="$W/default.json"
        [ "$v" = tiny ] && c="$W/tiny.json"
        "$DM" compare "$W/bref.csv" "$W/bcur.csv" --config "$c" --html "$W/h.$v.html" --quiet 2>/dev/null
        sed 's/[0-9-]*T[0-9:]*Z//g' "$W/h.$v.html" >"$W/h.$v.cmp"
    done
    if cmp -s "$W/h.one.cmp" "$W/h.tiny.cmp" && grep -q '<svg' "$W/h.one.cmp"; then
        ok "bench: identical HTML reports (with plots) in 1 group and with limits.memory 1 MiB"
    else
        bad "bench: the HTML reports differ (or have no plot)"
    fi
    # memory: 40,000 rows x 79 spilled columns x 8 bytes; at least half of it must not be held
    spilled_kib=$((40000 * 79 * 8 / 1024))
    one=$(cat "$W/bench-cold.one.rss") tiny=$(cat "$W/bench-cold.tiny.rss")
    if ldd "$DM" 2>/dev/null | grep -q 'libasan\|libtsan'; then
        skip "bench: peak memory" "$DM is a sanitizer build (its allocator's memory is not the program's)"
    elif [ $((one - tiny)) -ge $((spilled_kib / 2)) ]; then
        ok "bench: peak $((tiny / 1024)) MiB with limits.memory 1 MiB, $((one / 1024)) MiB in one group"
    else
        bad "bench: peak $((tiny / 1024)) MiB with limits.memory 1 MiB, $((one / 1024)) MiB in one group" \
            "expected at least $((spilled_kib / 2048)) MiB less"
    fi
else
    skip "bench shape" "$GEN not built"
fi

# ---- Home Credit samples (read where they are) -------------------------------------------------
if [ -f "$SAMPLES/application_train_head5000.csv" ]; then
    # the raw numeric columns of the current file: those pandas reads as numbers
    raw=$(/usr/bin/python3 -c '
import sys, pandas as pd
d = pd.read_csv(sys.argv[1])
print(sum(1 for c in d.columns if d[c].dtype.kind in "if"))' "$SAMPLES/application_train_random1000.csv" 2>/dev/null)
    if [ -n "$raw" ]; then
        same3 homecredit "$SAMPLES/application_train_head5000.csv" \
            "$SAMPLES/application_train_random1000.csv" "$raw" \
            "$(tables_of "$SAMPLES/application_train_random1000.csv")"
    else
        skip "homecredit" "python3 with pandas is needed to count the numeric columns"
    fi
else
    skip "homecredit" "no samples in $SAMPLES"
fi

# ---- special values -------------------------------------------------------------------------------
# zero: -0.0 and +0.0 (one value); inf: infinities; na: pandas NA tokens; flip: numbers, then a
# text value on row 9000 (past the first 64 KiB: after the groups are planned and the column
# spilled); score: the model's score column (kept in memory); cat: text; int: integers
/usr/bin/python3 - "$W" <<'EOF'
import sys
w = sys.argv[1]
na = ["", "NA", "nan", "NULL", "#N/A", "None", "n/a"]
def rows(n, seed, shift, flip_at):
    x = seed
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        u = (x >> 11) / float(1 << 53)
        zero = ["-0.0", "0.0", "0", "-0", "1.5"][i % 5]
        inf = ["inf", "-inf", "Infinity", "%.17g" % (u * 3 + shift)][i % 4]
        nav = na[i % 7] if i % 3 else "%.6f" % (u + shift)
        flip = "oops" if i == flip_at else "%d" % (i % 17)
        score = "%.17g" % (u * (1 + shift))
        cat = ["a", "b", "c", "d"][int(u * 4) if shift == 0 else int(u * 3)]
        yield [zero, inf, nav, flip, score, cat, str(i % 9), "%.17g" % (u * u + shift)]
hdr = "zero,inf,na,flip,score,cat,int,sq"
for name, seed, shift, flip_at in (("sref", 1, 0.0, -1), ("scur", 2, 0.25, 9000)):
    with open(f"{w}/{name}.csv", "w") as f:
        f.write(hdr + "\n")
        for r in rows(12000, seed, shift, flip_at):
            f.write(",".join(r) + "\n")
EOF
printf '{"model": {"score_column": "score"}}\n' >"$W/score.json"
printf '{"model": {"score_column": "score"}, "limits": {"memory": "1 MiB"}}\n' >"$W/score_tiny.json"
run special.one "$W/score.json" X=1 -- "$W/sref.csv" "$W/scur.csv" &&
    run special.tiny "$W/score_tiny.json" DRIFTMON_TEST_RAW_NUMBERS=1 -- "$W/sref.csv" "$W/scur.csv" &&
    run special.two "$W/score.json" DRIFTMON_TEST_RAW_NUMBERS=1 DRIFTMON_TEST_GROUP_COLUMNS=2 -- \
        "$W/sref.csv" "$W/scur.csv" &&
    run special.pairs "$W/score_tiny.json" X=1 -- "$W/sref.csv" "$W/scur.csv"
rc=$?
if [ $rc -ne 0 ]; then
    bad "special values: a run failed ($rc)" "$(cat "$W"/special.*.err)"
else
    # raw columns of the current file: zero inf na sq int (flip turned to text, score kept);
    # with pairs, zero (3 keys) and int (9) are never spilled: at most 1 + 5 - 2 groups
    gt=$(groups_of special.tiny) g2=$(groups_of special.two) gp=$(groups_of special.pairs)
    if cmp -s "$W/special.one.json" "$W/special.tiny.json" &&
        cmp -s "$W/special.one.json" "$W/special.two.json" &&
        cmp -s "$W/special.one.json" "$W/special.pairs.json" && [ "$gt" = 5 ] && [ "$g2" = 3 ] &&
        [ "$gp" -le 4 ] && grep -q '"score_psi"' "$W/special.one.json"; then
        ok "special values: identical reports in 1, 3 and 5 groups, and $gp with pairs (flip read again, score kept)"
    else
        bad "special values: reports differ or wrong group counts (1 MiB: $gt, expected 5; 2 to a group: $g2, expected 3; pairs: $gp, expected at most 4)" \
            "$(diff "$W/special.one.json" "$W/special.tiny.json" | head -n 6; diff "$W/special.one.json" "$W/special.pairs.json" | head -n 6)"
    fi
    # the values the report gives for zero: -0.0 and +0.0 are one category
fi

# ---- a spill directory that cannot be used --------------------------------------------------------
if [ -x "$GEN" ]; then
    mkdir "$W/spill"
    for bad_dir in "$W/spill/missing" "$W/spill/afile"; do
        [ "$bad_dir" = "$W/spill/afile" ] && : >"$W/spill/afile"
        before=$(ls -A "$W/spill" | sort | tr '\n' ' ')
        TMPDIR=$bad_dir "$DM" compare "$W/bref.csv" "$W/bcur.csv" --config "$W/tiny.json" \
            --json "$W/spill.json" --quiet >/dev/null 2>"$W/spill.err"
        rc=$?
        after=$(ls -A "$W/spill" | sort | tr '\n' ' ')
        if [ $rc -eq 2 ] && grep -q "spill file.* in \"$bad_dir\"" "$W/spill.err" &&
            [ "$before" = "$after" ] && [ ! -e "$W/spill.json" ]; then
            ok "spill directory $(basename "$bad_dir"): exit 2, $(head -c 120 "$W/spill.err")"
        else
            bad "spill directory $(basename "$bad_dir"): exit $rc, want 2 and an error naming it" \
                "$(cat "$W/spill.err") [before: $before; after: $after]"
        fi
    done
    # spill files are unnamed: nothing named in TMPDIR during or after a grouped run
    mkdir "$W/spill2"
    TMPDIR=$W/spill2 "$DM" compare "$W/bref.csv" "$W/bcur.csv" --config "$W/tiny.json" --quiet \
        >/dev/null 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$(ls -A "$W/spill2")" ]; then
        ok "a grouped run leaves nothing in TMPDIR"
    else
        bad "a grouped run: exit $rc, TMPDIR holds: $(ls -A "$W/spill2")"
    fi
fi

finish

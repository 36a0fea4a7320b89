#!/usr/bin/env bash
# profgroups.sh - `driftmon profile` by column groups (issue 20, docs/SCALE.md): the CSV's raw
# numeric columns of groups g > 0 are spilled while it is parsed, then each group is read back,
# finished and written to the profile in column order before the next is read.  No database.
#   - the profile file is the same, byte for byte (and the sha256 printed the same), with one raw
#     column to a group (limits.memory 1 MiB), seven to a group (DRIFTMON_TEST_GROUP_COLUMNS=7,
#     a test-only knob), one to a group with the columns of few distinct values held as pairs
#     (DRIFTMON_TEST_GROUP_COLUMNS=1) and in one group (the default 1 GiB): on the bench shape
#     (read in two halves), on a Home Credit sample, and on a file with -0.0 / +0.0,
#     infinities, NA tokens and a column that turns to text after numbers (read again); the
#     number of groups is the one the rule gives (ceil(raw columns / columns per group), every
#     numeric column raw with DRIFTMON_TEST_RAW_NUMBERS=1);
#   - a file whose numbers as doubles are bigger than limits.memory is profiled within it (peak
#     RSS, the whole process), to the same profile;
#   - bad input found at the end of that file (a quoted field never closed) and after the read (a
#     text value in a column the config declares numeric) is an error naming the file, the line,
#     the column and the value, exit 2, within limits.memory too, and leaves neither the profile
#     nor a temporary file beside it, nor anything in TMPDIR;
#   - text columns of many distinct strings are counted in the budget: a file whose strings and
#     numbers together pass limits.memory, though either alone fits, is profiled within it.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
SHARED=${DM_SHARED:-$PWD/../shared}
SAMPLES=$SHARED/data/homecredit-samples
results_name=profgroups
. tests/lib/results.sh

W=$(mktemp -d /tmp/dm-profgroups.XXXXXX)
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$W/tmp"
export TMPDIR=$W/tmp

printf '{"limits": {"memory": "1 MiB"}}\n' >"$W/tiny.json"
printf '{}\n' >"$W/default.json"

sanitized=0
ldd "$DM" 2>/dev/null | grep -q 'libasan\|libtsan' && sanitized=1

# prof NAME CONFIG [ENV=VALUE...] -- CSV: profile CSV into $W/NAME.dmp; stdout in $W/NAME.out,
# stderr in $W/NAME.err, the peak RSS (KiB) in $W/NAME.rss; returns the exit code
prof() {
    local name=$1 cfg=$2
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    shift
    env "${envs[@]}" /usr/bin/time -f %M -o "$W/$name.rss" "$DM" profile "$1" -o "$W/$name.dmp" \
        --config "$cfg" >"$W/$name.out" 2>"$W/$name.err"
}

# groups_of NAME: the group count the run logged (1 when it logged none: one group)
groups_of() {
    local g
    g=$(sed -n 's/.*profiled by column groups.* groups=\([0-9]*\).*/\1/p' "$W/$1.err" | head -n 1)
    echo "${g:-1}"
}

# numeric_of CSV: its numeric columns as pandas reads them (empty without pandas)
numeric_of() {
    /usr/bin/python3 -c '
import sys, pandas as pd
d = pd.read_csv(sys.argv[1])
print(sum(1 for c in d.columns if d[c].dtype.kind in "if"))' "$1" 2>/dev/null
}

# same4 LABEL CSV RAW: the four ways give one profile file; RAW numeric columns in CSV
same4() {
    local label=$1 csv=$2 raw=$3 ok_all=1
    local rawenv=DRIFTMON_TEST_RAW_NUMBERS=1
    prof "$label.one" "$W/default.json" X=1 -- "$csv" || { bad "$label: default run failed" "$(cat "$W/$label.one.err")"; return; }
    prof "$label.tiny" "$W/tiny.json" "$rawenv" -- "$csv" || { bad "$label: 1 MiB run failed" "$(cat "$W/$label.tiny.err")"; return; }
    prof "$label.seven" "$W/default.json" "$rawenv" DRIFTMON_TEST_GROUP_COLUMNS=7 -- "$csv" ||
        { bad "$label: 7-column groups failed" "$(cat "$W/$label.seven.err")"; return; }
    prof "$label.pairs" "$W/default.json" DRIFTMON_TEST_GROUP_COLUMNS=1 -- "$csv" ||
        { bad "$label: 1-column groups with pairs failed" "$(cat "$W/$label.pairs.err")"; return; }
    local g1 g7 gt gp want7=$(((raw + 6) / 7))
    g1=$(groups_of "$label.one")
    gt=$(groups_of "$label.tiny")
    g7=$(groups_of "$label.seven")
    gp=$(groups_of "$label.pairs")
    [ "$g1" = 1 ] || { bad "$label: default limit used $g1 groups, expected 1"; ok_all=0; }
    [ "$gt" = "$raw" ] || { bad "$label: 1 MiB used $gt groups, expected $raw (one per raw column)"; ok_all=0; }
    [ "$g7" = "$want7" ] || { bad "$label: 7 to a group used $g7 groups, expected $want7"; ok_all=0; }
    [ "$gp" -gt 1 ] && [ "$gp" -le "$raw" ] || { bad "$label: 1 to a group with pairs used $gp groups, expected 2 to $raw"; ok_all=0; }
    local sha
    sha=$(sed -n 's/.*(sha256 \([0-9a-f]*\)).*/\1/p' "$W/$label.one.out")
    for v in tiny seven pairs; do
        if ! cmp -s "$W/$label.one.dmp" "$W/$label.$v.dmp"; then
            bad "$label: the $v run's profile differs from one group's" "$(cmp "$W/$label.one.dmp" "$W/$label.$v.dmp" 2>&1)"
            ok_all=0
        elif [ -z "$sha" ] || ! grep -q "(sha256 $sha)" "$W/$label.$v.out"; then
            bad "$label: the $v run printed another sha256" "$(cat "$W/$label.$v.out")"
            ok_all=0
        fi
    done
    [ "$ok_all" = 1 ] && ok "$label: one profile file (sha256 ${sha:0:12}...) in 1, $want7, $gp and $raw groups"
}

# ---- the bench shape (two halves) -----------------------------------------------------------------
if [ -x "$GEN" ]; then
    "$GEN" --shape bench --rows 40000 --seed 2 --drifted 10 -o "$W/b40.csv" # > 4 MiB: halves
    same4 bench "$W/b40.csv" 80
else
    skip "bench shape" "$GEN not built"
fi

# ---- a Home Credit sample ---------------------------------------------------------------------------
hc=$SAMPLES/application_train_head5000.csv
if [ -f "$hc" ]; then
    raw=$(numeric_of "$hc")
    if [ -n "$raw" ]; then
        same4 homecredit "$hc" "$raw"
    else
        skip "homecredit" "python3 with pandas is needed to count the numeric columns"
    fi
else
    skip "homecredit" "no samples in $SAMPLES"
fi

# ---- special values -------------------------------------------------------------------------------
# zero: -0.0 and +0.0; inf: infinities; na: pandas NA tokens; flip: numbers, then a text value on
# row 9000 (after the groups are planned and the column spilled: read again); cat: text
/usr/bin/python3 - "$W" <<'EOF'
import sys
w = sys.argv[1]
na = ["", "NA", "nan", "NULL", "#N/A", "None", "n/a"]
x = 2
with open(f"{w}/special.csv", "w") as f:
    f.write("zero,inf,na,flip,score,cat,int,sq\n")
    for i in range(12000):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        u = (x >> 11) / float(1 << 53)
        zero = ["-0.0", "0.0", "0", "-0", "1.5"][i % 5]
        inf = ["inf", "-inf", "Infinity", "%.17g" % (u * 3)][i % 4]
        nav = na[i % 7] if i % 3 else "%.6f" % u
        flip = "oops" if i == 9000 else "%d" % (i % 17)
        r = [zero, inf, nav, flip, "%.17g" % u, ["a", "b", "c", "d"][int(u * 4)], str(i % 9),
             "%.17g" % (u * u)]
        f.write(",".join(r) + "\n")
EOF
# numeric: zero, inf, na (its NA tokens are dataset.h's, "None" among them, which this
# machine's pandas may not take), score, int, sq; flip turns to text, cat is text
same4 special "$W/special.csv" 6

# ---- a file bigger than limits.memory -------------------------------------------------------------
# 200,000 rows x 80 numeric columns: 128 MB as doubles (8 bytes a value), beyond the limit of
# 80 MiB before the program, the text and the finish are counted
LIMIT_MIB=80
printf '{"limits": {"memory": "%d MiB"}}\n' "$LIMIT_MIB" >"$W/limit.json"
printf '{"limits": {"memory": "%d MiB"}, "columns": {"numeric": ["num_05"]}}\n' "$LIMIT_MIB" >"$W/limit_num.json"
if [ -x "$GEN" ]; then
    "$GEN" --shape bench --rows 200000 --seed 3 -o "$W/big.csv"
    values_mib=$((200000 * 80 * 8 / 1048576))
    prof big.one "$W/default.json" X=1 -- "$W/big.csv"
    rc1=$?
    prof big.limit "$W/limit.json" X=1 -- "$W/big.csv"
    rc2=$?
    peak=$(($(tail -n 1 "$W/big.limit.rss") / 1024)) one=$(($(tail -n 1 "$W/big.one.rss") / 1024))
    if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
        bad "big: a run failed ($rc1, $rc2)" "$(cat "$W/big.one.err" "$W/big.limit.err")"
    elif ! cmp -s "$W/big.one.dmp" "$W/big.limit.dmp"; then
        bad "big: the profile within $LIMIT_MIB MiB differs from one group's"
    elif [ $sanitized = 1 ]; then
        skip "big: peak memory" "$DM is a sanitizer build (its allocator's memory is not the program's)"
    elif [ "$peak" -le "$LIMIT_MIB" ] && [ "$(groups_of big.limit)" -gt 1 ]; then
        ok "big: $values_mib MiB of values profiled in $(groups_of big.limit) groups, peak $peak MiB <= limits.memory $LIMIT_MIB MiB (one group: $one MiB), same profile"
    else
        bad "big: peak $peak MiB with limits.memory $LIMIT_MIB MiB in $(groups_of big.limit) groups (one group: $one MiB)" "$(cat "$W/big.limit.err")"
    fi

    # bad input: a quoted field never closed on the last line (line 200,002, column 3)
    cp "$W/big.csv" "$W/badq.csv"
    printf '1.5,2.5,"never closed\n' >>"$W/badq.csv"
    # a text value in num_05 (declared numeric) on line 150,001: found after the whole read
    awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "num_05") c = i }
        NR == 150001 { $c = "bad<value>" } { print }' "$W/big.csv" >"$W/badn.csv"
    for case in "badq limit.json line 200002, column 3: unterminated quoted field" \
        'badn limit_num.json line 150001, column "num_05": value "bad<value>" is not a number'; do
        set -- $case
        name=$1 cfg=$2 want="${case#* * }"
        mkdir -p "$W/out.$name"
        before=$(ls -A "$TMPDIR" | tr '\n' ' ')
        /usr/bin/time -f %M -o "$W/$name.rss" "$DM" profile "$W/$name.csv" -o "$W/out.$name/p.dmp" \
            --config "$W/$cfg" >/dev/null 2>"$W/$name.err"
        rc=$?
        peak=$(($(tail -n 1 "$W/$name.rss") / 1024)) # after "Command exited with ..."
        left=$(ls -A "$W/out.$name" | tr '\n' ' ')
        after=$(ls -A "$TMPDIR" | tr '\n' ' ')
        msg=$(grep 'error:' "$W/$name.err" | head -n 1)
        if [ $rc -eq 2 ] && [[ "$msg" == *"$W/$name.csv"* ]] && [[ "$msg" == *"$want"* ]] &&
            [ -z "$left" ] &&
            [ "$before" = "$after" ] && { [ $sanitized = 1 ] || [ "$peak" -le "$LIMIT_MIB" ]; }; then
            ok "$name: exit 2, no file left, peak $peak MiB: ${msg:0:150}"
        else
            bad "$name: exit $rc (want 2), peak $peak MiB (limit $LIMIT_MIB), left [$left], TMPDIR [$before] -> [$after]" "$msg"
        fi
    done
else
    skip "big" "$GEN not built"
fi

# ---- text columns of many distinct strings ---------------------------------------------------------
# 100,000 rows: 60 numeric columns (48 MB as doubles) and 8 text columns whose every value is
# new (800,000 distinct strings of 24 bytes: with their table slots, at least 64 MB however they
# are held).  Each part alone fits 160 MiB; together, with the program and the finish, they pass
# it unless the strings are taken from the budget before the numbers are put in groups.
TEXT_LIMIT=160
printf '{"limits": {"memory": "%d MiB"}}\n' "$TEXT_LIMIT" >"$W/text.json"
awk 'BEGIN {
    srand(7)
    printf "n00"; for (j = 1; j < 60; j++) printf ",n%02d", j
    for (j = 0; j < 8; j++) printf ",t%d", j
    printf "\n"
    for (i = 0; i < 100000; i++) {
        printf "%.9f", rand(); for (j = 1; j < 60; j++) printf ",%.9f", rand() * j
        for (j = 0; j < 8; j++) printf ",id-%08d-%d-%09d", i, j, int(rand() * 1e9)
        printf "\n"
    }
}' >"$W/text.csv"
prof text.one "$W/default.json" X=1 -- "$W/text.csv"
rc1=$?
prof text.limit "$W/text.json" X=1 -- "$W/text.csv"
rc2=$?
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    bad "text: a run failed ($rc1, $rc2)" "$(cat "$W/text.one.err" "$W/text.limit.err")"
elif ! cmp -s "$W/text.one.dmp" "$W/text.limit.dmp"; then
    bad "text: the profile within $TEXT_LIMIT MiB differs from one group's"
elif [ $sanitized = 1 ]; then
    skip "text: peak memory" "$DM is a sanitizer build (its allocator's memory is not the program's)"
else
    peak=$(($(tail -n 1 "$W/text.limit.rss") / 1024)) one=$(($(tail -n 1 "$W/text.one.rss") / 1024))
    if [ "$peak" -le "$TEXT_LIMIT" ]; then
        ok "text: 8 text columns of 100,000 distinct strings and 60 numeric columns, peak $peak MiB <= limits.memory $TEXT_LIMIT MiB in $(groups_of text.limit) groups (one group: $one MiB)"
    else
        bad "text: peak $peak MiB with limits.memory $TEXT_LIMIT MiB in $(groups_of text.limit) groups (one group: $one MiB)" "$(cat "$W/text.limit.err")"
    fi
fi

finish

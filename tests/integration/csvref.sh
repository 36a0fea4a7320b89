#!/usr/bin/env bash
# csvref.sh - a CSV reference bigger than limits.memory (issue 20, item 1): `compare REF.csv
# CUR.csv` and `reference load REF.csv` read it by column groups into a temporary profile in
# TMPDIR and go on from that profile, within limits.memory.  Against a throwaway PostgreSQL 15
# for the loads.  Checks, on 200,000 rows of the bench shape with the model's score and label
# (128 MB of numbers as doubles, limits.memory 80 MiB):
#   - compare: the JSON report (its generated_at aside) is the same, byte for byte, as with
#     limits.memory 16 GiB (the reference held whole), the model's performance in both; the
#     reference's profile_sha256 is the sha256 `driftmon profile` gives the same CSV; the run
#     logged that the reference went through a profile; its peak RSS (the whole process) is
#     within limits.memory;
#   - compare warm, with the CSV's saved profile (144 MB, bigger than limits.memory) as the
#     reference: the same report as with 16 GiB (the profile's pages kept mapped there), the
#     reference's profile_sha256 the profile's; peak RSS within limits.memory;
#   - compare with seven columns to a group (DRIFTMON_TEST_GROUP_COLUMNS) and a limit that holds
#     some groups but not all: some kept in memory, the rest through the profile, the same report;
#   - reference load: the stored reference (sha256, rows, every reference_column row, the
#     performance line printed) is the one loaded with 16 GiB, and its sha256 the profile's;
#     peak RSS within limits.memory;
#   - bad input in the reference (a quoted field never closed on its last line; a text value
#     on line 150,001 of a column declared numeric, found after the read): exit 2, the message
#     names the file, the line, the column and the value (the second the same message as with
#     16 GiB), nothing left in TMPDIR, no reference stored;
#   - an unusable TMPDIR (missing; a file): exit 2, an error naming it, no reference stored.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
LIMIT_MIB=80
results_name=csvref
. tests/lib/results.sh

[ -x "$GEN" ] || { skip "csvref" "$GEN not built"; finish; }

. tests/lib/pg.sh
pg_setup csvref
mkdir "$W/tmp"
export TMPDIR=$W/tmp

sanitized=0
ldd "$DM" 2>/dev/null | grep -q 'libasan\|libtsan' && sanitized=1

# the bench shape with a score in [0, 1) and a 0/1 label appended
"$GEN" --shape bench --rows 200000 --seed 3 -o "$W/gen.csv"
"$GEN" --shape bench --rows 20000 --seed 4 --drifted 10 -o "$W/gencur.csv"
model() {
    awk -F, -v OFS=, 'NR == 1 { print $0, "score", "TARGET"; next }
        { s = ((NR * 7919) % 1000) / 1000; print $0, s, ((NR * 31) % 7 < 2 + (s > 0.7)) ? 1 : 0 }' "$1"
}
model "$W/gen.csv" >"$W/ref.csv"
model "$W/gencur.csv" >"$W/cur.csv"
rm -f "$W/gen.csv" "$W/gencur.csv"

# cfg FILE LIMIT [NUMERIC]: the model's columns, the limit, num_05 declared numeric if asked
cfg() {
    local num=""
    [ -z "${3:-}" ] || num=', "columns": {"numeric": ["num_05"]}'
    cat >"$1" <<EOF
{"model": {"score_column": "score", "label_column": "TARGET", "decision_threshold": 0.5},
 "limits": {"memory": "$2"}$num}
EOF
}
cfg "$W/limit.json" "$LIMIT_MIB MiB"
cfg "$W/huge.json" "16 GiB"
cfg "$W/limit_num.json" "$LIMIT_MIB MiB" num
cfg "$W/huge_num.json" "16 GiB" num

"$DM" init --config "$W/huge.json" >/dev/null 2>&1 || { bad "driftmon init"; finish; }

# run NAME CMD...: driftmon CMD under /usr/bin/time; stdout $W/NAME.out, stderr $W/NAME.err,
# peak RSS (MiB) $W/NAME.mib; returns the exit code
run() {
    local name=$1 rc
    shift
    /usr/bin/time -f %M -o "$W/$name.rss" "$DM" "$@" >"$W/$name.out" 2>"$W/$name.err"
    rc=$?
    echo $(($(tail -n 1 "$W/$name.rss") / 1024)) >"$W/$name.mib"
    return $rc
}
peak() { cat "$W/$1.mib"; }
within() { [ $sanitized = 1 ] || [ "$(peak "$1")" -le "$LIMIT_MIB" ]; }
through_profile() { grep -q 'reference profiled by column groups' "$W/$1.err"; }
# unbounded NAME: what is wrong with the runs NAME.limit and NAME.huge ("": nothing): the first's
# peak past limits.memory, or the reference not through a profile there, or through one in the second
unbounded() {
    if ! within "$1.limit"; then
        echo "peak $(peak "$1.limit") MiB with limits.memory $LIMIT_MIB MiB (16 GiB: $(peak "$1.huge") MiB)"
    elif ! through_profile "$1.limit" || through_profile "$1.huge"; then
        echo "the reference went through a profile with 16 GiB, or not with $LIMIT_MIB MiB: $(cat "$W/$1.limit.err")"
    fi
}

# the profile's sha256, by `driftmon profile` (its own path: written a group at a time)
"$DM" profile "$W/ref.csv" -o "$W/ref.dmp" --config "$W/huge.json" >"$W/profile.out" 2>&1 ||
    bad "driftmon profile" "$(cat "$W/profile.out")"
want_sha=$(sed -n 's/.*(sha256 \([0-9a-f]*\)).*/\1/p' "$W/profile.out")

# report_diff A B [SHA]: "same" when the JSON reports A and B are equal but for generated_at
# and carry the performance (and the reference's sha256 is SHA), else what differs
report_diff() {
    "$PY" - "$@" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("generated_at")
probs = []
if a != b:
    probs.append("reports differ in " + ",".join(k for k in a if a[k] != b.get(k)))
if not a.get("performance"):
    probs.append("no performance in the reports")
for n, d in (("A", a), ("B", b)):
    if len(sys.argv) > 3 and d["reference"]["profile_sha256"] != sys.argv[3]:
        probs.append(n + ": reference sha256 " + d["reference"]["profile_sha256"] + " is not the profile's")
print("; ".join(probs) or "same")
EOF
}

# ---- compare ------------------------------------------------------------------------------------
run cmp.huge compare "$W/ref.csv" "$W/cur.csv" --json "$W/huge.json.out" --config "$W/huge.json" -q
rc1=$?
run cmp.limit compare "$W/ref.csv" "$W/cur.csv" --json "$W/limit.json.out" --config "$W/limit.json" -q
rc2=$?
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    bad "compare: a run failed ($rc1, $rc2)" "$(cat "$W/cmp.huge.err" "$W/cmp.limit.err")"
else
    same=$(report_diff "$W/huge.json.out" "$W/limit.json.out" "$want_sha")
    if [ "$same" != same ]; then
        bad "compare: $same"
    elif [ -n "$(unbounded cmp)" ]; then
        bad "compare: $(unbounded cmp)"
    else
        ok "compare: the same report (performance, reference sha256 ${want_sha:0:12}... = its profile's) with $LIMIT_MIB MiB and 16 GiB, peak $(peak cmp.limit) MiB <= $LIMIT_MIB MiB (16 GiB: $(peak cmp.huge) MiB)"
    fi
fi

# the saved profile as the reference (warm): bigger than limits.memory, its pages given back
# once checked and read again as compared; the report the one with 16 GiB (pages kept)
run warm.huge compare "$W/ref.dmp" "$W/cur.csv" --json "$W/warm.huge.json.out" --config "$W/huge.json" -q
rc1=$?
run warm.limit compare "$W/ref.dmp" "$W/cur.csv" --json "$W/warm.limit.json.out" --config "$W/limit.json" -q
rc2=$?
dmp_mib=$(($(stat -c %s "$W/ref.dmp") >> 20))
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    bad "compare warm: a run failed ($rc1, $rc2)" "$(cat "$W/warm.huge.err" "$W/warm.limit.err")"
elif [ "$dmp_mib" -le "$LIMIT_MIB" ]; then
    bad "compare warm: the profile ($dmp_mib MiB) is not bigger than limits.memory ($LIMIT_MIB MiB)"
elif [ "$(report_diff "$W/warm.huge.json.out" "$W/warm.limit.json.out" "$want_sha")" != same ]; then
    bad "compare warm: $(report_diff "$W/warm.huge.json.out" "$W/warm.limit.json.out" "$want_sha")"
elif ! within warm.limit; then
    bad "compare warm: peak $(peak warm.limit) MiB with limits.memory $LIMIT_MIB MiB (16 GiB: $(peak warm.huge) MiB)"
else
    ok "compare warm: a $dmp_mib MiB profile, the same report with $LIMIT_MIB MiB and 16 GiB, peak $(peak warm.limit) MiB <= $LIMIT_MIB MiB (16 GiB: $(peak warm.huge) MiB)"
fi

# some groups kept in memory before the rest go through the profile (7 columns to a group,
# a limit that holds a few of them but not all): the same report
cfg "$W/mid.json" "122 MiB"
DRIFTMON_TEST_GROUP_COLUMNS=7 run cmp.mid compare "$W/ref.csv" "$W/cur.csv" \
    --json "$W/mid.json.out" --config "$W/mid.json" -q
rc=$?
kept=$(sed -n 's/.*reference profiled by column groups.* groups=\([0-9]*\) kept=\([0-9]*\).*/\1 \2/p' "$W/cmp.mid.err")
set -- $kept
if [ $rc -ne 0 ]; then
    bad "compare, groups kept then profiled: exit $rc" "$(cat "$W/cmp.mid.err")"
elif [ $# -ne 2 ] || [ "$2" -le 1 ] || [ "$2" -ge "$1" ]; then
    bad "compare, groups kept then profiled: kept [$kept], want 2 to groups - 1" "$(cat "$W/cmp.mid.err")"
elif [ "$(report_diff "$W/huge.json.out" "$W/mid.json.out")" != same ]; then
    bad "compare, groups kept then profiled: the report differs from the one with 16 GiB"
else
    ok "compare: $2 of $1 groups kept, the rest profiled: the same report"
fi

# ---- reference load -----------------------------------------------------------------------------
run load.huge reference load "$W/ref.csv" --name huge --config "$W/huge.json"
rc1=$?
run load.limit reference load "$W/ref.csv" --name limit --config "$W/limit.json"
rc2=$?
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    bad "reference load: a run failed ($rc1, $rc2)" "$(cat "$W/load.huge.err" "$W/load.limit.err")"
else
    # each reference's stored columns and its row, as text
    for n in huge limit; do
        q -c "SELECT c.ordinal, c.name, c.storage, c.is_int, c.count, c.n_distinct, c.missing,
                     c.nonfinite, c.mean, c.std, c.min, c.max, md5(c.profile)
              FROM driftmon.reference_column c JOIN driftmon.reference r ON r.id = c.reference_id
              WHERE r.name = '$n' ORDER BY c.ordinal" >"$W/stored.$n"
        q -c "SELECT sha256, rows, source FROM driftmon.reference WHERE name = '$n'" >>"$W/stored.$n"
    done
    # the printed lines but the reference's name
    sed 's/reference "[a-z]*"/reference X/' "$W/load.huge.out" >"$W/load.huge.cmp"
    sed 's/reference "[a-z]*"/reference X/' "$W/load.limit.out" >"$W/load.limit.cmp"
    ncols=$(head -n 1 "$W/ref.csv" | tr ',' '\n' | grep -vc '^score$\|^TARGET$')
    if ! cmp -s "$W/stored.huge" "$W/stored.limit" || [ "$(wc -l <"$W/stored.limit")" != $((ncols + 3)) ] ||
        ! grep -q "^$want_sha|" "$W/stored.limit"; then
        bad "reference load: stored references differ, or not $((ncols + 2)) columns, or the sha256 is not $want_sha" \
            "$(diff "$W/stored.huge" "$W/stored.limit" | head -n 5; tail -n 1 "$W/stored.limit")"
    elif ! cmp -s "$W/load.huge.cmp" "$W/load.limit.cmp" || ! grep -q '^performance against' "$W/load.limit.out"; then
        bad "reference load: printed another summary" "$(diff "$W/load.huge.cmp" "$W/load.limit.cmp")"
    elif [ -n "$(unbounded load)" ]; then
        bad "reference load: $(unbounded load)"
    else
        ok "reference load: the same stored reference (sha256 ${want_sha:0:12}..., $((ncols + 2)) columns, performance) with $LIMIT_MIB MiB and 16 GiB, peak $(peak load.limit) MiB <= $LIMIT_MIB MiB (16 GiB: $(peak load.huge) MiB)"
    fi
fi

# ---- bad input ----------------------------------------------------------------------------------
# a quoted field never closed on the last line (line 200,002, column 3)
cp "$W/ref.csv" "$W/badq.csv"
printf '1.5,2.5,"never closed\n' >>"$W/badq.csv"
# a text value in num_05 (declared numeric) on line 150,001: found after the whole read
awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "num_05") c = i }
    NR == 150001 { $c = "bad<value>" } { print }' "$W/ref.csv" >"$W/badn.csv"
# bad_case LABEL CSV CONFIG WANT: compare and reference load of CSV as reference: exit 2, the
# first error line names CSV and holds WANT (and, with WANT empty, is the 16 GiB run's), peak
# within the limit, TMPDIR as it was, nothing stored
bad_case() {
    local label=$1 csv=$2 conf=$3 want=$4 how rc msg before after stored
    for how in compare load; do
        before=$(ls -A "$TMPDIR" | tr '\n' ' ')
        if [ $how = compare ]; then
            run "$label.$how" compare "$csv" "$W/cur.csv" --config "$conf"
        else
            run "$label.$how" reference load "$csv" --name "$label" --config "$conf"
        fi
        rc=$?
        after=$(ls -A "$TMPDIR" | tr '\n' ' ')
        msg=$(grep 'error:' "$W/$label.$how.err" | head -n 1)
        stored=$(q -c "SELECT count(*) FROM driftmon.reference WHERE name = '$label'")
        local w=$want
        if [ -z "$w" ]; then # the message of the reference held whole
            if [ $how = compare ]; then
                "$DM" compare "$csv" "$W/cur.csv" --config "${conf/limit/huge}" >/dev/null 2>"$W/$label.whole.err"
            else
                "$DM" reference load "$csv" --name "$label" --config "${conf/limit/huge}" >/dev/null 2>"$W/$label.whole.err"
            fi
            w=$(grep 'error:' "$W/$label.whole.err" | head -n 1)
            w=${w#*error: }
        fi
        if [ $rc -eq 2 ] && [[ "$msg" == *"$csv"* ]] && [ -n "$w" ] && [[ "$msg" == *"$w"* ]] &&
            [ "$before" = "$after" ] && [ "$stored" = 0 ] && within "$label.$how"; then
            ok "$label ($how): exit 2, nothing left or stored, peak $(peak "$label.$how") MiB: ${msg:0:160}"
        else
            bad "$label ($how): exit $rc (want 2), peak $(peak "$label.$how") MiB, stored $stored, TMPDIR [$before] -> [$after]" "$msg (want: $w)"
        fi
    done
}
bad_case badq "$W/badq.csv" "$W/limit.json" "line 200002, column 3: unterminated quoted field"
bad_case badn "$W/badn.csv" "$W/limit_num.json" ""
grep -q 'line 150001, column "num_05": value "bad<value>" is not a number' "$W/badn.compare.err" ||
    bad "badn: the message does not name line 150001, num_05 and its value" "$(cat "$W/badn.compare.err")"

# ---- an unusable TMPDIR -------------------------------------------------------------------------
: >"$W/afile"
for t in "$W/missing" "$W/afile"; do
    for how in compare load; do
        if [ $how = compare ]; then
            TMPDIR=$t run "tmp.$how" compare "$W/ref.csv" "$W/cur.csv" --config "$W/limit.json"
        else
            TMPDIR=$t run "tmp.$how" reference load "$W/ref.csv" --name tmpdir --config "$W/limit.json"
        fi
        rc=$?
        msg=$(grep 'error:' "$W/tmp.$how.err" | head -n 1)
        stored=$(q -c "SELECT count(*) FROM driftmon.reference WHERE name = 'tmpdir'")
        if [ $rc -eq 2 ] && [[ "$msg" == *"\"$t\" (TMPDIR)"* ]] && [ "$stored" = 0 ]; then
            ok "TMPDIR ${t##*/} ($how): exit 2: ${msg:0:160}"
        else
            bad "TMPDIR ${t##*/} ($how): exit $rc (want 2), stored $stored" "$msg"
        fi
    done
done

finish

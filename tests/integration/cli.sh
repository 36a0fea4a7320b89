#!/usr/bin/env bash
# cli.sh - `driftmon compare` and `driftmon profile` from the outside: exit codes, messages
# naming the file / line / key / value at fault, reports never half-written, a saved profile
# giving the same numbers as its CSV, untrusted text escaped.  Run by `make integration`
# (and by `make asan` with DM_DRIFTMON pointing at the sanitizer build).
set -u
cd "$(dirname "$0")/../.."
DM=${DM_DRIFTMON:-${DM_BUILD:-$PWD/build}/driftmon}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
results_name=cli
. tests/lib/results.sh

# expect CODE "label" FRAGMENT... -- ARGS: run driftmon, check the exit code and that stderr
# holds every fragment
expect() {
    local code=$1 label=$2
    shift 2
    local frags=()
    while [ "$1" != "--" ]; do
        frags+=("$1")
        shift
    done
    shift
    "$DM" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" != "$code" ]; then
        bad "$label" "exit $rc, expected $code; stderr: $(head -c 400 "$T/err")"
        return
    fi
    for f in "${frags[@]}"; do
        if ! grep -qF -- "$f" "$T/err"; then
            bad "$label" "stderr lacks \"$f\": $(head -c 400 "$T/err")"
            return
        fi
    done
    if grep -qiE 'sanitizer|runtime error' "$T/err"; then
        bad "$label" "sanitizer report: $(head -c 400 "$T/err")"
        return
    fi
    ok "$label"
}

# ---- fixtures -----------------------------------------------------------------------------
printf 'a,b,c\n1,x,0.5\n2,y,0.25\n3,x,0.125\n4,y,1\n' >"$T/ref.csv"
printf 'a,b,c\n1,x,0.5\n5,y,7\n3,z,0.125\n' >"$T/cur.csv"
: >"$T/empty.csv"
printf 'a,b,c\n' >"$T/header.csv"
printf 'a,b,c\n1,x,0.5\n2,y\n' >"$T/ragged.csv"
printf 'a,b,c\n1,"x,0.5\n2,y,1\n' >"$T/quote.csv"
printf 'a,b,a\n1,2,3\n' >"$T/dup.csv"
printf 'a,b,c\n1,\0\377,3\n' >"$T/binary.csv"
printf 'x,y\n1,2\n' >"$T/other.csv"
printf 'a,b,c\n1,x,0.5\n2,y,oops\n' >"$T/text_in_c.csv"

# ---- bad usage and bad input: exit 2, one line naming what is at fault ---------------------
expect 2 "no arguments" "usage" -- 
expect 2 "unknown command" "frobnicate" -- frobnicate
expect 2 "compare with one file" "REFERENCE CURRENT" -- compare "$T/ref.csv"
expect 2 "missing file" "$T/nope.csv" -- compare "$T/nope.csv" "$T/cur.csv"
expect 2 "empty file" "$T/empty.csv" "empty" -- compare "$T/empty.csv" "$T/cur.csv"
expect 2 "header only" "$T/header.csv" -- compare "$T/ref.csv" "$T/header.csv"
expect 2 "ragged row" "$T/ragged.csv" "line 3" -- compare "$T/ref.csv" "$T/ragged.csv"
expect 2 "unterminated quote" "$T/quote.csv" -- compare "$T/quote.csv" "$T/cur.csv"
expect 2 "duplicate column" "$T/dup.csv" '"a"' -- compare "$T/dup.csv" "$T/cur.csv"
expect 2 "binary garbage" "$T/binary.csv" "binary" -- compare "$T/ref.csv" "$T/binary.csv"
expect 2 "no column in common" "no column in common" -- compare "$T/ref.csv" "$T/other.csv"

printf '{\n  "drift": {\n    "stattest": "ks",,\n  }\n}\n' >"$T/syntax.json"
expect 2 "invalid JSON config" "$T/syntax.json" "line 3" -- compare "$T/ref.csv" "$T/cur.csv" --config "$T/syntax.json"
printf '{"drift": {"stattest": "t_test"}}' >"$T/st.json"
expect 2 "unknown stattest" "$T/st.json" "drift.stattest" "t_test" -- compare "$T/ref.csv" "$T/cur.csv" --config "$T/st.json"
printf '{"drift": {"stattest_threshold": "high"}}' >"$T/thr.json"
expect 2 "threshold of the wrong type" "drift.stattest_threshold" '"high"' -- compare "$T/ref.csv" "$T/cur.csv" --config "$T/thr.json"
printf '{"drift": {"drift_share": 2}}' >"$T/share.json"
expect 2 "drift_share out of range" "drift.drift_share" "2" -- compare "$T/ref.csv" "$T/cur.csv" --config "$T/share.json"
printf '{"columns": {"numeric": ["c"]}}' >"$T/forcenum.json"
expect 2 "text in a column forced numeric" "$T/text_in_c.csv" "line 3" '"c"' "oops" -- compare "$T/ref.csv" "$T/text_in_c.csv" --config "$T/forcenum.json"
expect 2 "missing config file" "$T/none.json" -- compare "$T/ref.csv" "$T/cur.csv" --config "$T/none.json"

# ---- skipped columns are not errors -------------------------------------------------------
printf 'a,b,c,gone,empty\n1,x,0.5,1,\n2,y,0.25,2,\n' >"$T/ref2.csv"
printf 'a,b,c,new,empty\n1,x,0.5,9,\n2,x,0.25,8,\n' >"$T/cur2.csv"
if "$DM" compare "$T/ref2.csv" "$T/cur2.csv" --json "$T/r2.json" --quiet 2>"$T/err"; then
    if $PY - "$T/r2.json" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
s = r["skipped_columns"]
assert s["gone"] == "absent from current", s
assert s["new"] == "absent from reference", s
assert s["empty"].startswith("no data in reference"), s
assert r["number_of_columns"] == 3, r["number_of_columns"]
assert set(r["drift_by_columns"]) == {"a", "b", "c"}
v = r["drift_by_columns"]["c"]["drift_score"]
assert isinstance(v, (int, float)) and not isinstance(v, bool), v
EOF
        ok "absent and empty columns go to skipped_columns"
    else
        bad "absent and empty columns go to skipped_columns"
    fi
else
    bad "absent and empty columns go to skipped_columns" "$(cat "$T/err")"
fi

# numeric reference, text in current: skipped with the value, not an error
if "$DM" compare "$T/ref.csv" "$T/text_in_c.csv" --json "$T/r3.json" --quiet 2>"$T/err" &&
    $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); m=r["skipped_columns"]["c"]; assert "oops" in m and "line 3" in m, m' "$T/r3.json"; then
    ok "text in a numeric column of current is skipped with the value"
else
    bad "text in a numeric column of current is skipped with the value" "$(cat "$T/err")"
fi

# ---- reports: never half-written -----------------------------------------------------------
echo "previous report" >"$T/keep.json"
"$DM" compare "$T/ref.csv" "$T/ragged.csv" --json "$T/keep.json" >/dev/null 2>&1
if [ "$(cat "$T/keep.json")" = "previous report" ]; then
    ok "bad input leaves an existing report untouched"
else
    bad "bad input leaves an existing report untouched"
fi
"$DM" compare "$T/ref.csv" "$T/cur.csv" --json "$T/no/such/dir/r.json" >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -qF "$T/no/such/dir/r.json" "$T/err" && [ ! -e "$T/no" ]; then
    ok "unwritable report: exit 1, path named, nothing created"
else
    bad "unwritable report: exit 1, path named, nothing created" "rc=$rc $(cat "$T/err")"
fi
if ls -a "$T" | grep -q '\.tmp\.'; then
    bad "no temporary file left behind" "$(ls -a "$T")"
else
    ok "no temporary file left behind"
fi

# ---- --exit-code ---------------------------------------------------------------------------
printf '{"retrain": {"fraction": 0.1}}' >"$T/low.json"
"$DM" compare "$T/ref.csv" "$T/cur.csv" --config "$T/low.json" --exit-code --quiet
rc1=$?
"$DM" compare "$T/ref.csv" "$T/ref.csv" --config "$T/low.json" --exit-code --quiet
rc2=$?
"$DM" compare "$T/ref.csv" "$T/cur.csv" --config "$T/low.json" --quiet
rc3=$?
if [ $rc1 = 3 ] && [ $rc2 = 0 ] && [ $rc3 = 0 ]; then
    ok "--exit-code: 3 when retraining is flagged, else 0"
else
    bad "--exit-code: 3 when retraining is flagged, else 0" "got $rc1 $rc2 $rc3"
fi

# ---- a saved profile gives the same numbers as its CSV ------------------------------------
SAMPLES=${DM_SHARED:-../shared}/data/homecredit-samples
if [ -f "$SAMPLES/application_train_head5000.csv" ]; then
    REF="$SAMPLES/application_train_head5000.csv"
    CUR="$SAMPLES/application_test_random1000.csv"
else
    skip "profile identity on the real Home Credit samples" "$SAMPLES absent (they come from ../shared); checked on generated data"
    "${DM_BUILD:-build}/dm-gen" --rows 3000 --seed 7 -o "$T/g_ref.csv" >/dev/null
    "${DM_BUILD:-build}/dm-gen" --rows 800 --seed 8 --revolving-share 0.01 -o "$T/g_cur.csv" >/dev/null
    REF="$T/g_ref.csv"
    CUR="$T/g_cur.csv"
fi
# same_via_profile LABEL REF CUR DMP [CONFIG]: compare via DMP, a saved profile of REF ==
# compare via REF itself, bit for bit (JSON numbers are written in the shortest form that
# reads back)
same_via_profile() {
    local label=$1 ref=$2 cur=$3 dmp=$4 cfg=()
    [ -n "${5:-}" ] && cfg=(--config "$5")
    : >"$T/err"
    "$DM" profile "$ref" -o "$dmp" "${cfg[@]}" >"$T/out" 2>"$T/err" || bad "profile" "$(cat "$T/err")"
    "$DM" compare "$ref" "$cur" "${cfg[@]}" --json "$T/csv.json" --quiet 2>>"$T/err"
    "$DM" compare "$dmp" "$cur" "${cfg[@]}" --json "$T/prof.json" --quiet 2>>"$T/err"
    if $PY - "$T/csv.json" "$T/prof.json" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["drift_by_columns"] == b["drift_by_columns"], "per-column results differ"
assert a["skipped_columns"] == b["skipped_columns"]
assert a["reference"]["profile_sha256"] == b["reference"]["profile_sha256"]
assert len(a["reference"]["profile_sha256"]) == 64
assert a["share_of_drifted_columns"] == b["share_of_drifted_columns"]
EOF
        ok "compare via a saved profile == compare via its CSV (bit for bit): $label"
    else
        bad "compare via a saved profile == compare via its CSV (bit for bit): $label" "$(cat "$T/err")"
    fi
}
same_via_profile "$(basename "$REF")" "$REF" "$CUR" "$T/ref.dmp"
# numbers on one side and text on the other (the issue's c; t the other way round), integer
# and decimal spellings (n: 1 against 1.0, by value; s: "1" against "1.0", by spelling)
printf 'c,t,n,s\n1.50,1,1,1\n2.50,x,2,a\n1.50,2,1,1\n2.50,1,2,a\n1.50,2,1,2\n' >"$T/mix_ref.csv"
printf 'c,t,n,s\n1.50,1,1.0,1.0\nx,2,2.0,a\n2.50,2,1.0,1\n' >"$T/mix_cur.csv"
printf '{"columns": {"categorical": ["c", "n"]}, "drift": {"stattest": "jensenshannon"}}' >"$T/mix.json"
same_via_profile "numbers against text, 1 against 1.0" "$T/mix_ref.csv" "$T/mix_cur.csv" \
    "$T/mix.dmp" "$T/mix.json"

# the issue's case: numbers in the reference, text in the current data, categorical.  As in
# Evidently (pandas: a float never equals a str), no category matches: sqrt(ln 2), on both
# paths, and the report says why
if $PY - "$T/csv.json" <<'EOF'; then
import json, math, sys
r = json.load(open(sys.argv[1]))["drift_by_columns"]
want = math.sqrt(math.log(2))
for k in ("c", "t"):
    assert abs(r[k]["drift_score"] - want) <= 1e-12 * want, (k, r[k]["drift_score"])
assert "numbers in reference, text in current" in r["c"]["note"], r["c"]
assert "text in reference, numbers in current" in r["t"]["note"], r["t"]
# n: 1, 2, 1, 2, 1 against 1.0, 2.0, 1.0 by value: p = (3/5, 2/5), q = (2/3, 1/3)
p, q = (3 / 5, 2 / 5), (2 / 3, 1 / 3)
m = [(a + b) / 2 for a, b in zip(p, q)]
js = math.sqrt(sum(a * math.log(a / c) + b * math.log(b / c) for a, b, c in zip(p, q, m)) / 2)
assert abs(r["n"]["drift_score"] - js) <= 1e-12 * js, (r["n"]["drift_score"], js)
# s: "1", "a", "1", "a", "2" against "1.0", "a", "1": categories "1", "1.0", "2", "a"
p, q = (2 / 5, 0, 1 / 5, 2 / 5), (1 / 3, 1 / 3, 0, 1 / 3)
m = [(a + b) / 2 for a, b in zip(p, q)]
js = math.sqrt(sum((a * math.log(a / c) if a else 0) + (b * math.log(b / c) if b else 0)
                   for a, b, c in zip(p, q, m)) / 2)
assert abs(r["s"]["drift_score"] - js) <= 1e-12 * js, (r["s"]["drift_score"], js)
assert "note" not in r["n"] and "note" not in r["s"]
EOF
    ok "numbers against text never match as categories (sqrt(ln 2)), with a note"
else
    bad "numbers against text never match as categories (sqrt(ln 2)), with a note"
fi
# a damaged profile is refused, naming the file
cp "$T/ref.dmp" "$T/bad.dmp"
printf '\x01' | dd of="$T/bad.dmp" bs=1 seek=100 conv=notrunc 2>/dev/null
expect 2 "damaged profile refused" "$T/bad.dmp" "changed or damaged" -- compare "$T/bad.dmp" "$CUR"
# a damaged digest: named as a mismatch of the sha256
cp "$T/ref.dmp" "$T/bad2.dmp"
printf '\x01' | dd of="$T/bad2.dmp" bs=1 seek=$(($(stat -c %s "$T/ref.dmp") - 1)) conv=notrunc 2>/dev/null
expect 2 "damaged digest refused" "$T/bad2.dmp" "does not match its sha256" -- compare "$T/bad2.dmp" "$CUR" \
    --json "$T/bad2.json" --html "$T/bad2.html"
# the digest is finished while the comparison runs: no report from a profile that fails it
if [ ! -e "$T/bad2.json" ] && [ ! -e "$T/bad2.html" ]; then
    ok "no report from a damaged profile"
else
    bad "no report from a damaged profile" "$(ls "$T"/bad2.*)"
fi
# damaged values in the last numeric column (the last the check reaches, the first the
# comparison may read while it runs): its first two values swapped, so that only the check of
# their order finds it.  Refused naming the file, the column and the fault; no report.
if last=$($PY - "$T/ref.dmp" "$T/bad3.dmp" <<'EOF'
import struct, sys
p = bytearray(open(sys.argv[1], "rb").read())
assert p[:8] == b"DMPROF\r\n" and struct.unpack_from("<I", p, 8)[0] == 2
off, ncols, last = 28, struct.unpack_from("<I", p, 24)[0], None
for _ in range(ncols):
    (nl,) = struct.unpack_from("<I", p, off)
    name = p[off + 4:off + 4 + nl].decode()
    off += 4 + nl
    storage, _, w, _ = p[off:off + 4]
    (k,) = struct.unpack_from("<Q", p, off + 28)
    off += 36
    if storage == 0:
        off += (8 - off % 8) % 8
        if k >= 2:
            last = (name, off)
        off += 8 * k + w * k
    else:
        for _ in range(k):
            off += 4 + struct.unpack_from("<I", p, off)[0]
        off += w * k
assert off == len(p) - 32 and last, "not the layout of profile.h"
name, v = last
p[v:v + 8], p[v + 8:v + 16] = p[v + 8:v + 16], p[v:v + 8]
open(sys.argv[2], "wb").write(p)
print(name)
EOF
); then
    expect 2 "damaged values in the last column refused" "$T/bad3.dmp" "column \"$last\"" \
        "values not ascending" -- compare "$T/bad3.dmp" "$CUR" --json "$T/bad3.json" --html "$T/bad3.html"
    if [ ! -e "$T/bad3.json" ] && [ ! -e "$T/bad3.html" ]; then
        ok "no report from a profile whose last column is damaged"
    else
        bad "no report from a profile whose last column is damaged" "$(ls "$T"/bad3.*)"
    fi
else
    bad "damaged values in the last column refused" "could not damage $T/ref.dmp"
fi

# ---- libpq is linked as any library is (ldd and package tools see it) -------------------
if ldd "$DM" | grep -q '^[[:space:]]*libpq\.so\.5 => /'; then
    ok "linked against libpq"
else
    bad "linked against libpq" "$(ldd "$DM" 2>&1 | head -c 400)"
fi

# ---- a connection string's secrets are never printed ----------------------------------------
# Nothing listens on 127.0.0.1 port 1: every database command fails to connect (exit 1),
# and serve logs the failure while it retries.  Each secret below is spelled "secret";
# the options libpq marks secret must come out as ****.
secret_cases=(
    'postgresql://u@127.0.0.1:1/db?pass%77ord=secret'
    'host=127.0.0.1 port=1 user=u sslpassword=secret'
    'postgresql://u@127.0.0.1:1/db?sslpassword=secret'
    'postgresql://u:secret@127.0.0.1:1/db'
    'postgresql://u@127.0.0.1:1/db?password=secret'
    "host=127.0.0.1 port=1 password='a secret'"
    "host=127.0.0.1 port=1 dbname='user=u password=secret'"
)
# db_config FILE CONNINFO: a config naming everything a database command needs
db_config() {
    $PY -c 'import json,sys; json.dump({"database": {"conninfo": sys.argv[2]},
        "source": {"table": "t", "batch_column": "b"}, "reference": {"name": "r"}},
        open(sys.argv[1], "w"))' "$1" "$2"
}
for ci in "${secret_cases[@]}"; do
    db_config "$T/sec.json" "$ci"
    for cmd in init "check b1" history alerts; do
        # shellcheck disable=SC2086 # the command's words
        "$DM" $cmd --config "$T/sec.json" >"$T/out" 2>"$T/err"
        rc=$?
        if [ $rc = 1 ] && ! grep -q secret "$T/out" "$T/err" && grep -qF '****' "$T/err" &&
            grep -q 'Connection refused' "$T/err"; then
            ok "$cmd, refused, with $ci: exit 1, no secret"
        else
            bad "$cmd, refused, with $ci: exit 1, no secret" "rc=$rc $(head -c 400 "$T/err")"
        fi
    done
    "$DM" serve --config "$T/sec.json" --reconnect-cap 0.2 >"$T/out" 2>"$T/err" &
    spid=$!
    for _ in $(seq 1 100); do
        grep -q 'could not connect' "$T/err" && break
        sleep 0.1
    done
    kill -TERM "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    if grep -q 'could not connect' "$T/err" && ! grep -q secret "$T/out" "$T/err" &&
        grep -qF '****' "$T/err"; then
        ok "serve's log, refused, with $ci: no secret"
    else
        bad "serve's log, refused, with $ci: no secret" "$(head -c 600 "$T/err")"
    fi
done
# a '%' that starts no percent escape: libpq's own message would quote the password
db_config "$T/sec.json" 'postgresql://u:se%cret@127.0.0.1:1/db'
expect 2 "a malformed percent escape: named, not echoed" '"database.conninfo"' \
    "two hexadecimal digits" -- init --config "$T/sec.json"
if grep -q cret "$T/out" "$T/err"; then
    bad "a malformed percent escape: the password not printed" "$(head -c 400 "$T/err")"
else
    ok "a malformed percent escape: the password not printed"
fi

# ---- untrusted text: escaped in HTML, valid UTF-8 in JSON ---------------------------------
printf 'name\xff,kind,<script>alert(1)</script>,<img src=x onerror=alert(2)>\n1,<script>alert(1)</script>,1,2\n2,<img src=x onerror=alert(2)>,3,4\n3,a,5,6\n' >"$T/xss_ref.csv"
printf 'name\xff,kind,<script>alert(1)</script>,<img src=x onerror=alert(2)>\n1,<script>alert(1)</script>,1,2\n2,"a ""quoted"" & <b>",7,8\n' >"$T/xss_cur.csv"
if "$DM" compare "$T/xss_ref.csv" "$T/xss_cur.csv" --json "$T/x.json" --html "$T/x.html" --quiet 2>"$T/err" &&
    ! grep -q '<script>alert' "$T/x.html" && ! grep -q '<img src=x' "$T/x.html" &&
    grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/x.html" &&
    $PY -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8","strict"))' "$T/x.json"; then
    ok "category values escaped in HTML; invalid UTF-8 replaced in JSON"
else
    bad "category values escaped in HTML; invalid UTF-8 replaced in JSON" "$(cat "$T/err")"
fi

finish

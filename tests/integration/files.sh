#!/usr/bin/env bash
# files.sh - the files driftmon writes, against a real PostgreSQL 15 (issue 16, items 4, 7, 9):
#   - modes: under umask 077 every report, index.html, history page, cached reference and
#     `profile -o` output is 0600 (0666 less the umask; the cache 0600 less the umask);
#   - a symbolic link planted at an output name (to a 04755 file) is replaced: the target
#     keeps its content and mode, the new file is not setuid;
#   - a cache directory that is a symbolic link is not used (nothing written through it); a
#     link planted at reports/.reference-cache (the old cache) is not followed;
#   - history pages: `prod risk` and `prod_risk` get two pages; a 300-character name gets a
#     page that exists and that index.html links;
#   - index.html lists only the runs whose reports are in its directory, and every link in it
#     names a file that exists; a reports.dir that is itself a symbolic link is followed;
#   - the cache holds only the versions in use after three versions of a reference.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
results_name=files
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup files
mode() { stat -c %a "$1"; }

# history page name, derived here from its rule (monitor/reportdir.h): a slug of the first 64
# bytes, [A-Za-z0-9._-] kept, every other byte '_', then 16 hex digits of the name's SHA-256
hist_name() {
    local slug hash
    slug=$(printf '%s' "$1" | head -c 64 | LC_ALL=C sed 's/[^A-Za-z0-9._-]/_/g')
    hash=$(printf '%s' "$1" | sha256sum | cut -c1-16)
    printf 'history-%s-%s.html' "$slug" "$hash"
}

# ---- data: a small reference (three versions) and one batch --------------------------------
mkref() { # mkref FILE SHIFT: 200 rows, x numeric, c categorical
    awk -v s="$2" 'BEGIN { print "x,c"; for (i = 0; i < 200; i++) printf "%g,%s\n", i % 37 + s, (i % 3 ? "a" : "b") }' >"$1"
}
mkref "$W/ref1.csv" 0
mkref "$W/ref2.csv" 5
mkref "$W/ref3.csv" 9
mkref "$W/ref_n.csv" 20 # the other references: profiles of their own, not hc's
chmod 0644 "$W"/*.csv
q -c "CREATE TABLE applications (batch_id text, created_at timestamptz, x float8, c text)" \
    -c "INSERT INTO applications SELECT 'b1', '2026-01-15 12:00+00', i % 41, CASE WHEN i % 4 = 0 THEN 'b' ELSE 'a' END FROM generate_series(1, 150) i" ||
    { bad "could not create the table"; finish; }

R=$W/reports
mkdir -p "$R"
config() { # config FILE REFERENCE REPORTS_DIR CACHE_DIR
    "$PY_JSON" "$@"
}
PY_JSON=$W/mkconfig.py
cat >"$PY_JSON" <<'PYEOF'
import json, sys
path, ref, reports, cache = sys.argv[1:5]
json.dump({"source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
           "reference": {"name": ref}, "reports": {"dir": reports}, "cache": {"dir": cache},
           "retrain": {"fraction": 0.5}}, open(path, "w"))
PYEOF
PY_JSON="/usr/bin/python3 $PY_JSON"
config() { $PY_JSON "$@"; }
config "$W/c.json" hc "$R" "$W/cache"
C=(--config "$W/c.json")
"$DM" init "${C[@]}" >/dev/null 2>"$W/err" || { bad "driftmon init" "$(cat "$W/err")"; finish; }
"$DM" reference load "$W/ref1.csv" --name hc "${C[@]}" >/dev/null 2>"$W/err" ||
    { bad "reference load" "$(cat "$W/err")"; finish; }

# ---- item 4: modes under umask 077 ----------------------------------------------------------
hp=$(hist_name hc)
if (umask 077 && "$DM" check b1 "${C[@]}" >"$W/check.out" 2>"$W/err"); then
    html=$(sed -n 's/^html report: //p' "$W/check.out")
    json=$(sed -n 's/^json report: //p' "$W/check.out")
    sha=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 'hc' AND version = 1")
    got="$(mode "$html") $(mode "$json") $(mode "$R/index.html") $(mode "$R/$hp") $(mode "$W/cache/$sha.dmp")"
    [ "$got" = "600 600 600 600 600" ] &&
        ok "umask 077: run report, JSON, index.html, history page, cached reference are 0600" ||
        bad "umask 077: every file 0600" "modes (html json index history cache): $got"
else
    bad "check b1 (umask 077)" "$(cat "$W/err")"
fi
if (umask 077 && "$DM" profile "$W/ref1.csv" -o "$W/p.dmp" >/dev/null 2>"$W/err" &&
    "$DM" compare "$W/ref1.csv" "$W/ref2.csv" --html "$W/cmp.html" --json "$W/cmp.json" --quiet 2>>"$W/err"); then
    got="$(mode "$W/p.dmp") $(mode "$W/cmp.html") $(mode "$W/cmp.json")"
    [ "$got" = "600 600 600" ] && ok "umask 077: profile -o and compare --html/--json are 0600" ||
        bad "umask 077: profile -o and compare outputs 0600" "$got"
else
    bad "profile -o / compare (umask 077)" "$(cat "$W/err")"
fi
chmod 0600 "$W/p.dmp"
(umask 022 && "$DM" profile "$W/ref1.csv" -o "$W/p.dmp" >/dev/null 2>&1)
[ "$(mode "$W/p.dmp")" = 644 ] && ok "umask 022: profile -o replacing a 0600 file is 0644 (the umask's, not the old file's)" ||
    bad "umask 022: profile -o is 0644" "$(mode "$W/p.dmp")"

# ---- item 4: a planted link to a setuid file is replaced, never written through --------------
printf 'precious' >"$W/victim"
chmod 04755 "$W/victim"
ln -sf "$W/victim" "$R/index.html"
ln -sf "$W/victim" "$R/$hp"
ln -sf "$W/victim" "$W/p.dmp"
if (umask 022 && "$DM" check b1 "${C[@]}" >/dev/null 2>"$W/err" &&
    "$DM" profile "$W/ref1.csv" -o "$W/p.dmp" >/dev/null 2>>"$W/err"); then
    if [ ! -L "$R/index.html" ] && [ ! -L "$R/$hp" ] && [ ! -L "$W/p.dmp" ] &&
        [ "$(mode "$R/index.html") $(mode "$R/$hp") $(mode "$W/p.dmp")" = "644 644 644" ] &&
        [ "$(cat "$W/victim")" = precious ] && [ "$(mode "$W/victim")" = 4755 ]; then
        ok "a link planted at index.html, the history page and profile -o is replaced (0644, not setuid); its 04755 target untouched"
    else
        bad "planted links replaced, target untouched" "$(ls -la "$R/index.html" "$R/$hp" "$W/p.dmp" "$W/victim")"
    fi
else
    bad "check / profile over planted links" "$(cat "$W/err")"
fi

# ---- item 4: a symlinked cache directory, and a link planted at the old cache ---------------
mkdir -p "$W/elsewhere" "$W/other"
chmod 0700 "$W/elsewhere"
ln -s "$W/elsewhere" "$W/cache-link"
config "$W/c_link.json" hc "$R" "$W/cache-link"
old=$(printf '%064d' 7).dmp
printf 'not a cache' >"$W/other/$old"
ln -s "$W/other" "$R/.reference-cache"
if "$DM" check b1 --config "$W/c_link.json" >/dev/null 2>"$W/err"; then
    n=$(find "$W/elsewhere" -type f | wc -l)
    [ "$n" = 0 ] && grep -q "symbolic link" "$W/err" &&
        ok "a cache directory that is a symbolic link is not used (warned; nothing written through it)" ||
        bad "a symlinked cache directory is not followed" "$n files in its target; $(cat "$W/err")"
    [ -f "$W/other/$old" ] && [ -L "$R/.reference-cache" ] &&
        ok "a link planted at reports/.reference-cache: its target's files are left alone" ||
        bad "a link planted at reports/.reference-cache is not followed" "$(ls -la "$W/other" "$R/.reference-cache" 2>&1)"
else
    bad "check with a symlinked cache directory" "$(cat "$W/err")"
fi
rm -f "$R/.reference-cache"

# ---- item 7: history pages for names alike and a long name ----------------------------------
long=$(printf 'r%.0s' $(seq 300))
for n in "prod risk" "prod_risk" "$long"; do
    config "$W/c_n.json" "$n" "$R" "$W/cache"
    "$DM" reference load "$W/ref_n.csv" --name "$n" --config "$W/c_n.json" >/dev/null 2>"$W/err" &&
        "$DM" check b1 --config "$W/c_n.json" >/dev/null 2>>"$W/err" ||
        bad "check with reference \"${n:0:20}...\"" "$(cat "$W/err")"
done
p1=$(hist_name "prod risk")
p2=$(hist_name "prod_risk")
pl=$(hist_name "$long")
if [ "$p1" != "$p2" ] && [ -f "$R/$p1" ] && [ -f "$R/$p2" ] &&
    grep -q "prod risk" "$R/$p1" && ! grep -q "prod risk" "$R/$p2" && grep -q "prod_risk" "$R/$p2"; then
    ok "references \"prod risk\" and \"prod_risk\": two history pages, each its own"
else
    bad "\"prod risk\" and \"prod_risk\" get two pages" "$(ls "$R")"
fi
if [ -f "$R/$pl" ] && grep -q "href=\"$pl\"" "$R/index.html"; then
    ok "a 300-character reference name: its page (${#pl} bytes of name) is written and index.html links it"
else
    bad "a 300-character name: page written and linked" "$(ls "$R")"
fi

# ---- item 7: the index links only what exists in its directory ------------------------------
# the second directory is configured through a symbolic link: the configured path itself is
# followed (an operator may put the reports on another disk), links inside it are not
mkdir -p "$W/reports2-real"
R2=$W/reports2
ln -s "$W/reports2-real" "$R2"
config "$W/c2.json" hc "$R2" "$W/cache"
"$DM" check b1 --config "$W/c2.json" >"$W/c2.out" 2>"$W/err" || bad "check into a second reports directory" "$(cat "$W/err")"
[ -L "$R2" ] && [ -f "$W/reports2-real/index.html" ] && ls "$W/reports2-real"/run-*.html >/dev/null 2>&1 &&
    ok "a reports directory configured as a symbolic link is followed (its reports and index are in the target)" ||
    bad "a symlinked reports.dir is followed" "$(ls -la "$R2" "$W/reports2-real" 2>&1)"
in_db=$(q -c "SELECT count(*) FROM driftmon.runs")
in_r2=$(grep -o 'href="run-[0-9]*\.html"' "$R2/index.html" | sort -u | wc -l)
[ "$in_db" -ge 2 ] && [ "$in_r2" = 1 ] &&
    ok "index.html of a second reports directory lists its 1 run, not the other $((in_db - 1))" ||
    bad "the index lists only its directory's runs" "$in_r2 linked of $in_db runs"
victim_run=$(ls "$R"/run-*.html | head -1)
rm -f "$victim_run"
"$DM" check b1 "${C[@]}" >/dev/null 2>"$W/err" || bad "check b1 again" "$(cat "$W/err")"
missing=0
for d in "$R" "$R2"; do
    for h in $(grep -o 'href="[^"]*"' "$d/index.html" | sed 's/href="\(.*\)"/\1/' | sort -u); do
        [ -f "$d/$h" ] || { missing=$((missing + 1)); echo "     $d/index.html links $h, absent"; }
    done
done
r2run=$(sed -n 's/^html report: //p' "$W/c2.out")
[ "$missing" = 0 ] && ! grep -q "href=\"$(basename "$victim_run")\"" "$R/index.html" &&
    ! grep -q "href=\"$(basename "$r2run")\"" "$R/index.html" &&
    ok "every link of both indexes names a file that exists (a deleted report and the other directory's run left out)" ||
    bad "the indexes link only what exists" "$missing absent"

# ---- item 9: the cache keeps only the versions in use ---------------------------------------
config "$W/c_o.json" other "$R" "$W/cache"
"$DM" reference load "$W/ref_n.csv" --name other --config "$W/c_o.json" >/dev/null 2>"$W/err" &&
    "$DM" check b1 --config "$W/c_o.json" >/dev/null 2>>"$W/err" || bad "check with reference other" "$(cat "$W/err")"
foreign=$(printf '%064d' 42).dmp # a profile this database does not know
printf 'x' >"$W/cache/$foreign"
for v in 2 3; do
    "$DM" reference load "$W/ref$v.csv" --name hc "${C[@]}" >/dev/null 2>"$W/err" &&
        "$DM" check b1 "${C[@]}" >/dev/null 2>>"$W/err" || bad "reference load + check, version $v" "$(cat "$W/err")"
done
want=$(q -c "SELECT string_agg(sha256 || '.dmp', ' ' ORDER BY sha256) FROM (SELECT DISTINCT ON (name) sha256 FROM driftmon.reference ORDER BY name, version DESC) s")
want=$(printf '%s\n' $want $foreign | sort -u | tr '\n' ' ')
got=$(ls -A "$W/cache" | sort | tr '\n' ' ')
nv=$(q -c "SELECT count(DISTINCT sha256) FROM driftmon.reference WHERE name = 'hc' AND sha256 NOT IN (SELECT sha256 FROM driftmon.reference WHERE name <> 'hc')")
[ "$nv" = 3 ] && [ "$got" = "$want" ] &&
    ok "after 3 versions of hc the cache holds the newest of each reference (and a file the database does not know), no older version" ||
    bad "the cache holds only the versions in use" "want: $want; got: $got ($nv versions of hc)"

finish

#!/usr/bin/env bash
# browser.sh - the HTML reports in a real browser (issue 5): Debian's chromium, headless.
#   - a run report from a fixture CSV pair (`driftmon compare --html`, no database) whose data
#     carries HTML payloads: category values <script>alert(1)</script>, <img src=x
#     onerror=alert(1)>, one that would mark the page if it ran, and such a column name.
#     Checked on the DOM chromium builds (--dump-dom): one <svg> per tested column, no
#     <script> or <img> element, no event attribute, the payloads present as text, nothing
#     executed; and a screenshot;
#   - the size of the report for the 122 generated application columns (< 400 KB);
#   - against a throwaway PostgreSQL: two checks, then index.html and the history page in the
#     browser (one chart per column, drifted runs marked), `driftmon report RUN --html` byte
#     for byte the file written by the run, `driftmon history` in its three formats.
# Screenshots are kept in $DM_BROWSER_OUT (default /tmp/dm-browser) for a person to look at.
# Chromium missing: FAIL, unless DM_NO_BROWSER=1 (then the browser checks are skipped, by name,
# and the rest runs).
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
OUT=${DM_BROWSER_OUT:-/tmp/dm-browser}
results_name=browser
. tests/lib/results.sh

W=$(mktemp -d /tmp/dm-browser.XXXXXX)
chmod 0777 "$W"
pgdir=""
cleanup() {
    [ -n "$pgdir" ] && bash tests/pg/cluster.sh destroy "$pgdir" >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

# DM_CHROMIUM: another browser binary (a path that does not exist tests the "missing" path)
CHROMIUM=${DM_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] && [ ! -x "$CHROMIUM" ] && CHROMIUM=""
if [ -z "$CHROMIUM" ] && [ "${DM_NO_BROWSER:-0}" != 1 ]; then
    bad "chromium is not installed: run \`make deps\` (Debian package chromium), or set DM_NO_BROWSER=1 to skip"
    finish
fi

# chromium FLAGS... URL: a fresh profile each time, nothing fetched, no GPU.
chrome() {
    local prof
    prof=$(mktemp -d "$W/profile.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$prof" "$@" 2>>"$W/chromium.log"
}
dump_dom() { chrome --dump-dom "file://$1" >"$2"; }
shot() { chrome --window-size="${3:-1280,1600}" --screenshot="$2" "file://$1" >/dev/null; }

# ---- fixture ---------------------------------------------------------------------------------
$PY - "$W" <<'EOF'
import csv, random, sys
w = sys.argv[1]
rnd = random.Random(5)
payloads = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
            "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"]
cats = ["A", "B", "C"] + payloads
hdr = ["amount", "grade", "<img src=x onerror=alert(1)>", "children", "flag", "empty", "ref_only"]
def rows(n, shift, weights, with_ref_only):
    out = []
    for i in range(n):
        r = [f"{rnd.gauss(100 + shift, 15):.3f}", rnd.choices(cats, weights)[0],
             f"{rnd.expovariate(1 / (5 + shift / 10)):.4f}", str(rnd.choice([0, 0, 1, 1, 2, 3])),
             str(int(rnd.random() < 0.2 + shift / 100)), ""]
        if with_ref_only:
            r.append(str(i))
        out.append(r)
    return out
for name, n, shift, weights, ro in (("ref", 400, 0, [30, 25, 20, 10, 10, 5], True),
                                     ("cur", 300, 20, [10, 10, 30, 20, 20, 10], False)):
    with open(f"{w}/{name}.csv", "w", newline="") as f:
        cw = csv.writer(f)
        cw.writerow(hdr if ro else hdr[:-1])
        cw.writerows(rows(n, shift, weights, ro))
EOF

# ---- the run report ----------------------------------------------------------------------------
if "$DM" compare "$W/ref.csv" "$W/cur.csv" --html "$W/report.html" --json "$W/report.json" \
    --quiet 2>"$W/err"; then
    ok "compare writes the HTML report of the fixture"
else
    bad "compare on the fixture" "$(cat "$W/err")"
fi
cp "$W/report.html" "$OUT/report.html" 2>/dev/null

# check_dom DOM_FILE NPLOTS PAYLOAD...: the DOM as chromium built it
check_dom() {
    $PY - "$@" <<'EOF'
import sys
from html.parser import HTMLParser
dom_file, nplots, payloads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg = 0; self.bad = []; self.text = []; self.body_attrs = {}
    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svg += 1
        if tag in ("script", "img", "iframe", "object", "embed", "link"):
            self.bad.append("<%s> element" % tag)
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append("%s attribute on <%s>" % (k, tag))
            if k == "data-pwned":
                self.bad.append("a payload ran (data-pwned on <%s>)" % tag)
            if k in ("href", "src") and v and not v.startswith(("run-", "history-", "index.html")):
                self.bad.append("%s=%r on <%s>" % (k, v, tag))
    def handle_data(self, d):
        self.text.append(d)
p = P()
p.feed(open(dom_file, encoding="utf-8").read())
text = "".join(p.text)
errs = list(p.bad)
if nplots >= 0 and p.svg != nplots:
    errs.append("%d <svg> plots, want %d" % (p.svg, nplots))
for s in payloads:
    if s not in text:
        errs.append("payload not shown as text: %r" % s)
print("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
}

if [ -n "$CHROMIUM" ]; then
    ntested=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["drift_by_columns"]))' \
        "$W/report.json" 2>/dev/null || echo -1)
    if dump_dom "$W/report.html" "$W/report.dom" && [ -s "$W/report.dom" ]; then
        if msg=$(check_dom "$W/report.dom" "$ntested" "<script>alert(1)</script>" \
            "<img src=x onerror=alert(1)>" \
            "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"); then
            ok "report DOM: $ntested plots for $ntested tested columns, payloads shown as text, nothing run"
        else
            bad "report DOM" "$msg"
        fi
        # the skipped columns are listed with their reason
        if grep -q "absent from current" "$W/report.dom" && grep -q "<td>empty</td>" "$W/report.dom"; then
            ok "report lists the columns not tested with the reason"
        else
            bad "report: skipped columns not listed"
        fi
    else
        bad "chromium --dump-dom on the report" "$(tail -3 "$W/chromium.log")"
    fi
    if shot "$W/report.html" "$OUT/report.png" 1280,1400 && [ -s "$OUT/report.png" ] &&
        shot "$W/report.html" "$OUT/report-phone.png" 400,900 && [ -s "$OUT/report-phone.png" ]; then
        ok "screenshots of the report ($OUT/report.png, report-phone.png)"
    else
        bad "chromium --screenshot on the report" "$(tail -3 "$W/chromium.log")"
    fi
else
    skip "the run report in chromium (DOM, skipped columns, screenshots)" "chromium not installed and DM_NO_BROWSER=1"
fi

# ---- size for the 122 application columns ----------------------------------------------------
"$GEN" --rows 20000 --seed 21 --no-bureau -o "$W/g_ref.csv" &&
    "$GEN" --rows 20000 --seed 22 --no-bureau --revolving-share 0.01 -o "$W/g_cur.csv"
ncol=$(head -1 "$W/g_ref.csv" | tr ',' '\n' | wc -l)
if "$DM" compare "$W/g_ref.csv" "$W/g_cur.csv" --html "$W/g.html" --json "$W/g.json" --quiet 2>"$W/err"; then
    size=$(stat -c %s "$W/g.html")
    nsvg=$(grep -o '<svg' "$W/g.html" | wc -l)
    nt=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["drift_by_columns"]))' "$W/g.json")
    if [ "$size" -lt 409600 ] && [ "$nsvg" -eq "$nt" ]; then
        ok "report for $ncol generated columns ($nt tested): $size bytes < 400 KB, $nsvg plots"
    else
        bad "report size for $ncol columns" "$size bytes, $nsvg plots for $nt tested columns"
    fi
    cp "$W/g.html" "$OUT/generated.html"
else
    bad "compare on generated data" "$(cat "$W/err")"
fi

# ---- PostgreSQL: two runs, index and history pages, report re-render, history --------------
pgdir=$(mktemp -d /tmp/dm-browser-pg.XXXXXX)
pgenv=$(bash tests/pg/cluster.sh start "$pgdir") || { bad "could not start PostgreSQL (tests/pg/cluster.sh, above)"; finish; }
eval "$pgenv"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
chmod 0644 "$W"/*.csv
$PY tests/integration/csv2sql.py "$W/cur.csv" apps "batch_id:text" \
    "created_at:timestamptz:'2026-01-15 12:00+00'" >"$W/apps.sql"
cols=$($PY -c 'import csv,sys; print(",".join("\"%s\"" % c.replace("\"","\"\"") for c in next(csv.reader(open(sys.argv[1])))))' "$W/cur.csv")
psql_q -f "$W/apps.sql" &&
    psql_q -c "\\copy apps ($cols) FROM '$W/cur.csv' WITH (FORMAT csv, HEADER true)" &&
    psql_q -c "UPDATE apps SET batch_id = 'b1'"
# batch b2: the reference's own rows (no drift expected), loaded without ref_only
$PY - "$W" <<'EOF'
import csv, sys
w = sys.argv[1]
rows = list(csv.reader(open(f"{w}/ref.csv")))
with open(f"{w}/b2.csv", "w", newline="") as f:
    csv.writer(f).writerows([r[:-1] for r in rows])
EOF
chmod 0644 "$W/b2.csv"
psql_q -c "\\copy apps ($cols) FROM '$W/b2.csv' WITH (FORMAT csv, HEADER true)" &&
    psql_q -c "UPDATE apps SET batch_id = 'b2' WHERE batch_id IS NULL"
cat >"$W/config.json" <<EOF
{
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "fixture <b>ref</b>"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "retrain": {"fraction": 0.5}
}
EOF
C=(--config "$W/config.json")
if "$DM" init "${C[@]}" 2>"$W/err" &&
    "$DM" reference load "$W/ref.csv" "${C[@]}" >/dev/null 2>>"$W/err" &&
    "$DM" check b1 "${C[@]}" >/dev/null 2>>"$W/err" &&
    "$DM" check b2 "${C[@]}" >/dev/null 2>>"$W/err"; then
    ok "init, reference load, two checks"
else
    bad "init / reference load / check" "$(tail -5 "$W/err")"
    finish
fi
# the page's name: "history-", the name's slug, 16 hex digits of its SHA-256 (reportdir.h)
hist="$W/reports/history-fixture__b_ref__b_-$(printf 'fixture <b>ref</b>' | sha256sum | cut -c1-16).html"
if [ -s "$W/reports/index.html" ] && [ -s "$hist" ] &&
    [ "$(grep -c '<tr><td class="n"><a href="run-' "$W/reports/index.html")" -eq 2 ]; then
    ok "index.html lists the two runs; the history page exists"
else
    bad "index.html / history page" "$(ls "$W/reports")"
fi
cp "$W/reports/index.html" "$OUT/index.html" 2>/dev/null
cp "$hist" "$OUT/history.html" 2>/dev/null
run1=$(psql_q -c "SELECT min(id) FROM driftmon.run")
if "$DM" report "$run1" --html "$W/again.html" --json "$W/again.json" "${C[@]}" 2>"$W/err" &&
    cmp -s "$W/again.html" "$W/reports/run-$run1.html" &&
    $PY -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a!=b)' \
        "$W/again.json" "$W/reports/run-$run1.json"; then
    ok "report $run1 --html: byte for byte the file of the run; --json: the same JSON"
else
    bad "report $run1 re-render" "$(cat "$W/err")"
fi
if "$DM" report 999999 --html "$W/none.html" "${C[@]}" 2>/dev/null; then
    bad "report of a run that does not exist succeeded"
else
    [ $? -eq 2 ] && [ ! -e "$W/none.html" ] && ok "report of an unknown run: exit 2, nothing written" ||
        bad "report of an unknown run: wrong exit code"
fi
# a stored document altered behind driftmon's back (triggers off, as a superuser could) is
# refused, not written
psql_q -c "ALTER TABLE driftmon.run DISABLE TRIGGER append_only" \
    -c "UPDATE driftmon.run SET report_html_doc = report_html_doc || ' ' WHERE id = $run1" \
    -c "ALTER TABLE driftmon.run ENABLE TRIGGER append_only"
"$DM" report "$run1" --html "$W/tampered.html" "${C[@]}" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/tampered.html" ] && grep -q "does not match its recorded sha256" "$W/err"; then
    ok "report of an altered stored document: exit 1, nothing written"
else
    bad "report of an altered stored document: exit $rc" "$(cat "$W/err")"
fi
for args in "--format xml" "--since not-a-time"; do
    # shellcheck disable=SC2086
    "$DM" history $args "${C[@]}" >/dev/null 2>"$W/err"
    rc=$?
    [ $rc -eq 2 ] && ok "history $args: exit 2" || bad "history $args: exit $rc" "$(cat "$W/err")"
done
"$DM" history --since '2000-01-01 00:00+00' --format csv "${C[@]}" >"$W/h_since.csv" 2>/dev/null
"$DM" history --since '2999-01-01 00:00+00' --format csv "${C[@]}" >"$W/h_none.csv" 2>/dev/null
if [ "$(wc -l <"$W/h_none.csv")" -eq 1 ] && [ "$(wc -l <"$W/h_since.csv")" -eq 11 ]; then
    ok "history --since: all 10 results since 2000, none since 2999 (header only)"
else
    bad "history --since" "$(wc -l "$W/h_since.csv" "$W/h_none.csv")"
fi
"$DM" history --format csv "${C[@]}" >"$W/h.csv" 2>"$W/err"
"$DM" history --format json --column amount "${C[@]}" >"$W/h.json" 2>>"$W/err"
"$DM" history "${C[@]}" >"$W/h.txt" 2>>"$W/err"
if $PY - "$W" <<'EOF'; then
import csv, json, sys
w = sys.argv[1]
rows = list(csv.DictReader(open(f"{w}/h.csv", newline="")))
names = {r["column_name"] for r in rows}
assert "<img src=x onerror=alert(1)>" in names, names
assert len({r["run_id"] for r in rows}) == 2
j = json.load(open(f"{w}/h.json"))
assert len(j) == 2 and all(o["column_name"] == "amount" for o in j), j
assert isinstance(j[0]["drift_score"], float) and isinstance(j[0]["drift_detected"], bool)
assert j[0]["batch"] == "b1" and j[1]["batch"] == "b2", j
txt = open(f"{w}/h.txt").read().splitlines()
assert txt[0].split()[:3] == ["run_id", "batch", "finished_at"] and len(txt) == 1 + len(rows)
EOF
    ok "history: csv (quoted names), json (--column), table"
else
    bad "history output" "$(cat "$W/err")"
fi

if [ -n "$CHROMIUM" ]; then
    ncolh=$(psql_q -c "SELECT count(DISTINCT column_name) FROM driftmon.column_history")
    # above them the run-level charts: the shares, and the score PSI when a run has one
    nrunc=$(psql_q -c "SELECT 1 + (count(score_psi) > 0)::int FROM driftmon.runs")
    if dump_dom "$hist" "$W/hist.dom" && msg=$(check_dom "$W/hist.dom" "$((ncolh + nrunc))" \
        "<img src=x onerror=alert(1)>" "fixture <b>ref</b>"); then
        ok "history page DOM: $ncolh column charts and $nrunc run-level, names shown as text"
    else
        bad "history page DOM" "${msg:-$(tail -3 "$W/chromium.log")}"
    fi
    if grep -q 'class="drift"' "$hist"; then
        ok "history page marks the drifted runs"
    else
        bad "history page: no drifted run marked"
    fi
    if dump_dom "$W/reports/index.html" "$W/index.dom" && msg=$(check_dom "$W/index.dom" -1 \
        "fixture <b>ref</b>"); then
        ok "index DOM: reference name shown as text, only relative links"
    else
        bad "index DOM" "${msg:-$(tail -3 "$W/chromium.log")}"
    fi
    if shot "$hist" "$OUT/history.png" 1280,900 && shot "$W/reports/index.html" "$OUT/index.png" 1000,500; then
        ok "screenshots of the history page and index ($OUT)"
    else
        bad "chromium --screenshot on the history page"
    fi
else
    skip "the history page and index in chromium (DOM, drifted runs, screenshots)" "chromium not installed and DM_NO_BROWSER=1"
fi
finish

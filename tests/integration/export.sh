#!/usr/bin/env bash
# export.sh - `driftmon export` against a real, throwaway PostgreSQL (issue 18, "Evidence
# export").  Three runs are made by `driftmon check` (the setup of verify.sh), two before a
# time T and one after it; then:
#   - the bundle checks with `sha256sum -c MANIFEST.sha256`, which lists every other file;
#   - a second export of the same period (another session time zone and float setting) is
#     byte-identical (diff -r);
#   - runs.csv and column_results.csv hold the period's rows (counted by the database, read
#     with an RFC 4180 parser), in seq order, with every column of the tables;
#   - the stored documents are there byte for byte (their sha256 as the runs record it);
#   - an evaluation of the third run's cohort and its re-rendered report (recorded through
#     driftmon.record_performance and record_performance_report, as the daemon does): the
#     rows in performance.csv and performance_reports.csv (every column but the documents),
#     the documents as runs/run-N.performance-E.html and .json byte for byte, their links
#     in chain.csv;
#   - chain.csv links line to line, and the bundle of [T, end) starts where the bundle of
#     [start, T) ends: its first prev_hash and head_before are that bundle's last head;
#   - one changed byte makes `sha256sum -c` fail;
#   - a non-empty --out directory and a bad --since are refused with exit 2, nothing left;
#   - files are created 0666 less the umask.
# Run from the repo root.  $DM_BUILD: the build folder (default build).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
results_name=export
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup export

# ---- three runs made by `driftmon check`, T between the second and the third ------------------
"$GEN" --rows 3000 --seed 21 -o "$W/ref.csv"
"$GEN" --rows 1500 --seed 22 --no-target --revolving-share 0.01 --first-id 600000 \
    --format tsv-copy -o "$W/cur.tsv"
chmod 0644 "$W"/*
"$GEN" --no-target --schema apps >"$W/apps.sql"
q -f "$W/apps.sql" -c "\\copy apps FROM '$W/cur.tsv'" \
    -c "ALTER TABLE apps ADD COLUMN batch_id text, ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00'" \
    -c "UPDATE apps SET batch_id = 'b' || (\"SK_ID_CURR\" % 3 + 1), created_at = '2026-01-15 12:00+00'" ||
    { bad "could not create the monitored table"; finish; }
cat >"$W/c.json" <<EOF
{
  "database": {"conninfo": "dbname=driftmon"},
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "retrain": {"fraction": 0.0}
}
EOF
C=(--config "$W/c.json")
T0='2000-01-01 00:00+00'
T2='2100-01-01 00:00+00'
if "$DM" init "${C[@]}" 2>"$W/err" && "$DM" reference load "$W/ref.csv" --name hc "${C[@]}" >/dev/null 2>>"$W/err" &&
    "$DM" check b1 "${C[@]}" >/dev/null 2>>"$W/err" && "$DM" check b2 "${C[@]}" >/dev/null 2>>"$W/err" &&
    T1=$(q -c "SELECT clock_timestamp()") &&
    "$DM" check b3 "${C[@]}" >/dev/null 2>>"$W/err"; then
    ok "three runs by driftmon check"
else
    bad "three runs by driftmon check" "$(cat "$W/err")"
    finish
fi

# an evaluation of b3's cohort and its re-rendered documents, as the daemon records them (the
# documents: bytes a text tool could change, non-ASCII letters, CR LF, no final newline)
HDOC=$'<p>co\xc3\xbbt \xe2\x80\x94 \r\nr\xc3\xa9\xc3\xa9valu\xc3\xa9</p>'
JDOC=$'{"performance": {"rows": 4}}\n'
if pid=$(q -v h="$HDOC" -v j="$JDOC" <<'EOF' | tail -n 1
SELECT driftmon.record_performance('default', (SELECT id FROM driftmon.run WHERE batch = 'b3'),
    '{"label_column": "TARGET", "score_column": "score", "decision_threshold": "0.5",
      "cost_fn": "10", "cost_fp": "1", "rows": "4", "left_out": "0", "tp": "1", "fp": "1",
      "tn": "1", "fn": "1", "auc": "0.75", "labels_count": "4", "labels_digest": "7",
      "driftmon_version": "test"}', NULL) AS pid \gset
SELECT driftmon.record_performance_report(:pid, 'reports/run-x.performance-y.html',
    encode(sha256(convert_to(:'h', 'UTF8')), 'hex'), :'h', 'reports/run-x.performance-y.json',
    encode(sha256(convert_to(:'j', 'UTF8')), 'hex'), :'j', 'test');
SELECT :pid;
EOF
) && [ -n "$pid" ]; then
    ok "an evaluation of run b3's cohort and its re-rendered report recorded (evaluation $pid)"
else
    bad "an evaluation and its re-rendered report recorded" "$pid"
    finish
fi
prid=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'b3'")

# export FROM UNTIL DIR [ENV...]: sets $rc and $out
export_() {
    out=$("$DM" export --since "$1" --until "$2" --out "$3" "${C[@]}" 2>&1)
    rc=$?
}
runs_in() { q -c "SELECT count(*) FROM driftmon.run WHERE finished_at >= '$1' AND finished_at < '$2'"; }
# csvrows FILE: the number of records after the header (RFC 4180, embedded newlines allowed)
csvrows() { python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline=""))))-1)' "$1"; }

# ---- the whole history -------------------------------------------------------------------------
export_ "$T0" "$T2" "$W/all"
if [ "$rc" = 0 ] && [ -f "$W/all/MANIFEST.sha256" ]; then
    ok "export of the whole history: exit 0"
else
    bad "export of the whole history" "exit $rc: $out"
fi
if chk=$(cd "$W/all" && sha256sum -c --strict MANIFEST.sha256 2>&1); then
    ok "sha256sum -c MANIFEST.sha256 in the bundle: OK ($(wc -l <"$W/all/MANIFEST.sha256") files)"
else
    bad "sha256sum -c MANIFEST.sha256" "$chk"
fi
# the manifest names every file but itself, sorted, two spaces, relative paths
listed=$(sed -E 's/^[0-9a-f]{64}  //' "$W/all/MANIFEST.sha256")
present=$(cd "$W/all" && find . -type f ! -name MANIFEST.sha256 | sed 's|^\./||' | LC_ALL=C sort)
[ -n "$listed" ] && [ "$listed" = "$present" ] && ! grep -qvE '^[0-9a-f]{64}  [^/]' "$W/all/MANIFEST.sha256" &&
    ok "MANIFEST.sha256 lists every file of the bundle, sorted" || bad "manifest coverage" "listed: $listed / present: $present"

# runs.csv: the period's runs, by seq, every column of driftmon.run but the documents
want=$(runs_in "$T0" "$T2")
got=$(csvrows "$W/all/runs.csv")
[ "$want" = 3 ] && [ "$got" = "$want" ] && ok "runs.csv holds the $want runs of the period" || bad "runs.csv rows" "csv $got, database $want"
cols=$(q -c "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
             WHERE table_schema = 'driftmon' AND table_name = 'run'
             AND column_name NOT IN ('report_html_doc', 'report_json_doc', 'report')")
hdr=$(head -n 1 "$W/all/runs.csv" | tr -d '\r' | tr ',' '\n' | LC_ALL=C sort | paste -sd, -)
[ -n "$cols" ] && [ "$hdr" = "$(tr ',' '\n' <<<"$cols" | LC_ALL=C sort | paste -sd, -)" ] &&
    ok "runs.csv has every column of driftmon.run (the documents are files)" || bad "runs.csv columns" "csv $hdr / table $cols"
cols=$(q -c "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
             WHERE table_schema = 'driftmon' AND table_name = 'column_result'")
hdr=$(head -n 1 "$W/all/column_results.csv" | tr -d '\r' | tr ',' '\n' | LC_ALL=C sort | paste -sd, -)
want=$(q -c "SELECT count(*) FROM driftmon.column_result")
got=$(csvrows "$W/all/column_results.csv")
[ "$hdr" = "$(tr ',' '\n' <<<"$cols" | LC_ALL=C sort | paste -sd, -)" ] && [ "$want" -gt 0 ] && [ "$got" = "$want" ] &&
    ok "column_results.csv: every column, all $want result rows" || bad "column_results.csv" "header $hdr, rows $got of $want"
# row order by seq, and the values are the database's (a drift_score and a row_hash compared)
python3 - "$W/all/column_results.csv" "$W/all/runs.csv" >"$W/py" 2>&1 <<'EOF' && ok "rows in seq order" || bad "row order" "$(cat "$W/py")"
import csv, sys
for f in sys.argv[1:]:
    rows = list(csv.DictReader(open(f, newline="")))
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (f, seqs[:10])
EOF
want=$(q -c "SELECT seq || ' ' || drift_score || ' ' || encode(row_hash, 'hex') FROM driftmon.column_result ORDER BY seq DESC LIMIT 1")
got=$(python3 -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1], newline="")))[-1]
print(r["seq"], r["drift_score"], r["row_hash"])' "$W/all/column_results.csv")
[ -n "$want" ] && [ "$got" = "$want" ] && ok "a result row's values as the database holds them" || bad "values" "csv '$got' database '$want'"

# documents: byte for byte what the run rows record, and what reports.dir holds
bad_docs=""
ndocs=0
for id in $(q -c "SELECT id FROM driftmon.run ORDER BY id"); do
    for ext in html json; do
        rec=$(q -c "SELECT report_${ext}_sha256 FROM driftmon.run WHERE id = $id")
        f="$W/all/runs/run-$id.$ext"
        ndocs=$((ndocs + 1))
        [ -f "$f" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$rec" ] && cmp -s "$f" "$W/reports/run-$id.$ext" ||
            bad_docs="$bad_docs run-$id.$ext"
    done
done
[ -z "$bad_docs" ] && [ "$ndocs" = 6 ] && ok "runs/run-N.html and .json: the stored documents, their recorded sha256" ||
    bad "documents" "$bad_docs"
want=$(q -c "SELECT id || ',' || sha256 FROM driftmon.reference ORDER BY id" | paste -sd' ')
got=$(python3 -c '
import csv, sys
print(" ".join(r["id"] + "," + r["sha256"] for r in csv.DictReader(open(sys.argv[1], newline=""))))' "$W/all/references.csv")
[ -n "$want" ] && [ "$got" = "$want" ] && ok "references.csv: the reference used, with its sha256" || bad "references.csv" "csv '$got' database '$want'"

# the evaluation and its re-rendered report: their rows, and the documents byte for byte
python3 - "$W/all" "$prid" "$pid" "$HDOC" "$JDOC" \
    "$(q -c "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
             WHERE table_schema = 'driftmon' AND table_name = 'performance'")" \
    "$(q -c "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
             WHERE table_schema = 'driftmon' AND table_name = 'performance_report'
             AND column_name NOT IN ('report_html_doc', 'report_json_doc')")" \
    "$(q -c "SELECT row_to_json(d) FROM driftmon.performance_report d")" >"$W/py" 2>&1 <<'EOF' &&
import csv, hashlib, json, sys
d, run, pid, hdoc, jdoc, pcols, dcols, row = sys.argv[1:9]
row = json.loads(row)
p = list(csv.DictReader(open(d + "/performance.csv", newline="")))
r = list(csv.DictReader(open(d + "/performance_reports.csv", newline="")))
assert len(p) == 1 and p[0]["id"] == pid and p[0]["run_id"] == run, p
assert sorted(p[0]) == pcols.split(","), (sorted(p[0]), pcols)
assert len(r) == 1 and sorted(r[0]) == dcols.split(","), (r, dcols)
for k in ("performance_id", "run_id", "seq", "report_html_sha256", "report_json_sha256"):
    assert r[0][k] == str(row[k]), (k, r[0][k], row[k])
assert r[0]["row_hash"] == row["row_hash"][2:], (r[0]["row_hash"], row["row_hash"])
for ext, doc in (("html", hdoc), ("json", jdoc)):
    b = open(f"{d}/runs/run-{run}.performance-{pid}.{ext}", "rb").read()
    assert b == doc.encode(), (ext, b[:80])
    assert hashlib.sha256(b).hexdigest() == row[f"report_{ext}_sha256"], ext
EOF
    ok "performance.csv, performance_reports.csv (every column but the documents) and runs/run-$prid.performance-$pid.html, .json byte for byte" ||
    bad "the evaluation and its re-rendered report in the bundle" "$(cat "$W/py")"

# chain.csv: every link, each prev_hash the row_hash before it; chain.json's heads
links=$(q -c "SELECT (SELECT count(*) FROM driftmon.column_result) + (SELECT count(*) FROM driftmon.run)
                     + (SELECT count(*) FROM driftmon.performance) + (SELECT count(*) FROM driftmon.performance_report)")
head=$(q -c "SELECT encode(hash, 'hex') FROM driftmon.chain_head")
python3 - "$W/all" "$links" "$head" >"$W/py" 2>&1 <<'EOF' && ok "chain.csv: $links links, linked line to line; chain.json heads" || bad "chain segment" "$(cat "$W/py")"
import csv, json, sys
d, links, head = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(d + "/chain.csv", newline="")))
assert len(rows) == links, (len(rows), links)
assert [int(r["seq"]) for r in rows] == list(range(1, links + 1))
assert rows[0]["prev_hash"] == "0" * 64
for a, b in zip(rows, rows[1:]):
    assert b["prev_hash"] == a["row_hash"], b["seq"]
j = json.load(open(d + "/chain.json"))
assert j["head_before"] == rows[0]["prev_hash"] and j["first_head"] == rows[0]["row_hash"], j
assert j["last_head"] == rows[-1]["row_hash"] == head, (j, head)
assert j["links"] == links and j["runs"] == 3, j
EOF

# ---- a second export: byte-identical, whatever the session's settings -------------------------
d=""
PGTZ=Asia/Tokyo PGDATESTYLE='German' PGOPTIONS="$PGOPTIONS -c extra_float_digits=0 -c bytea_output=escape" \
    export_ "$T0" "$T2" "$W/again"
if [ "$rc" = 0 ] && d=$(diff -r "$W/all" "$W/again" 2>&1); then
    ok "a second export of the same period is identical (diff -r), in another time zone"
else
    bad "second export identical" "exit $rc: $out $d"
fi

# ---- two adjacent periods: the second starts at the first's last head --------------------------
export_ "$T0" "$T1" "$W/p1"
rc1=$rc
export_ "$T1" "$T2" "$W/p2"
python3 - "$W/p1" "$W/p2" "$(runs_in "$T0" "$T1")" "$(runs_in "$T1" "$T2")" >"$W/py" 2>&1 <<'EOF' &&
import csv, json, sys
p1, p2, n1, n2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assert (n1, n2) == (2, 1), (n1, n2)
for p, n in ((p1, n1), (p2, n2)):
    assert len(list(csv.DictReader(open(p + "/runs.csv", newline="")))) == n, p
a = list(csv.DictReader(open(p1 + "/chain.csv", newline="")))
b = list(csv.DictReader(open(p2 + "/chain.csv", newline="")))
ja, jb = json.load(open(p1 + "/chain.json")), json.load(open(p2 + "/chain.json"))
assert b[0]["prev_hash"] == a[-1]["row_hash"] == ja["last_head"] == jb["head_before"], (b[0], ja, jb)
assert int(b[0]["seq"]) == int(a[-1]["seq"]) + 1
EOF
    [ "$rc1" = 0 ] && [ "$rc" = 0 ] && ok "adjacent periods: the second bundle's first prev_hash is the first's last head (2 + 1 runs)" ||
    bad "adjacent periods" "exit $rc1/$rc: $out $(cat "$W/py")"

# ---- a period without runs: an empty bundle that still checks ----------------------------------------
export_ "1990-01-01 00:00+00" "$T0" "$W/none"
python3 - "$W/none" >"$W/py" 2>&1 <<'EOF' &&
import csv, json, sys
d = sys.argv[1]
for f in ("runs.csv", "column_results.csv", "references.csv", "chain.csv", "performance.csv",
          "performance_reports.csv"):
    assert len(list(csv.reader(open(d + "/" + f, newline="")))) == 1, f
j = json.load(open(d + "/chain.json"))
assert j["runs"] == 0 and j["links"] == 0 and j["last_head"] is None, j
EOF
    [ "$rc" = 0 ] && (cd "$W/none" && sha256sum -c --quiet MANIFEST.sha256) &&
    ok "a period without runs: headers only, no links, the manifest checks" || bad "empty period" "exit $rc: $out $(cat "$W/py")"

# ---- one changed byte: sha256sum -c fails ---------------------------------------------------------
cp -r "$W/all" "$W/tampered"
f=$(ls "$W/tampered/runs/" | head -n 1)
printf 'X' | dd of="$W/tampered/runs/$f" bs=1 seek=100 conv=notrunc 2>/dev/null
if chk=$(cd "$W/tampered" && sha256sum -c --quiet MANIFEST.sha256 2>&1); then
    bad "a changed byte is caught by sha256sum -c" "passed: $chk"
else
    [[ $chk == *"runs/$f: FAILED"* ]] && ok "a changed byte in runs/$f: sha256sum -c fails naming it" || bad "changed byte" "$chk"
fi

# ---- refusals: exit 2, nothing written -------------------------------------------------------------
export_ "$T0" "$T2" "$W/all"
[ "$rc" = 2 ] && [[ $out == *"is not empty"* ]] && [ -z "$(ls -d "$W"/all.tmp-* 2>/dev/null)" ] && diff -rq "$W/all" "$W/again" >/dev/null &&
    ok "an existing non-empty --out: exit 2, left as it was" || bad "non-empty --out" "exit $rc: $out"
export_ "yesterday-ish" "$T2" "$W/badtime"
[ "$rc" = 2 ] && [[ $out == *'invalid --since "yesterday-ish"'* ]] && [ ! -e "$W/badtime" ] && [ -z "$(ls -d "$W"/badtime.tmp-* 2>/dev/null)" ] &&
    ok "a bad --since: exit 2 naming it, nothing written" || bad "bad --since" "exit $rc: $out"
export_ "$T2" "$T0" "$W/backwards"
[ "$rc" = 2 ] && [[ $out == *"is not after --since"* ]] && [ ! -e "$W/backwards" ] &&
    ok "--until before --since: exit 2" || bad "backwards period" "exit $rc: $out"
mkdir "$W/empty"
out=$(umask 027 && "$DM" export --since "$T0" --until "$T2" --out "$W/empty" "${C[@]}" 2>&1)
rc=$?
m=$(stat -c %a "$W/empty/runs.csv" "$W/empty/runs/$f" "$W/empty/MANIFEST.sha256" "$W/empty" | sort -u | paste -sd' ')
[ "$rc" = 0 ] && [ "$m" = "640 750" ] && ok "an empty --out is used; files 0666 and folders 0777 less the umask (027: $m)" ||
    bad "modes" "exit $rc: $out; modes $m"

finish

#!/usr/bin/env bash
# perfreport.sh - a run's report once its cohort is evaluated (issue 21, sql/017_perf_report.sql),
# against a real PostgreSQL started for the test; `driftmon serve` runs as a login role of
# driftmon_daemon, label_delay 2 seconds.  The label column is named out<b>&come, so every
# place it is shown must escape it.  Checks:
#   - after the evaluation of a batch: run-<run>.performance-<evaluation>.html and .json in the
#     reports directory, their sha256 the ones stored with the documents; the JSON's
#     performance.current is the performance row and the oracle (tests/integration/perfd.py:
#     scikit-learn, counts by the definition); the HTML shows the row's counts, AUC and cost;
#   - the new documents are the run's own outside the performance section (HTML: outside the
#     markers, byte for byte; JSON: every other member equal);
#   - the run's report files and stored documents: the same bytes as before the evaluation,
#     and their sha256 the run row's (which the hash chain covers);
#   - the label column's name is escaped in the new HTML;
#   - labels changed later: a second pair of documents with the new evaluation's figures, which
#     supersedes the first; the first pair as it was; index.html links the latest;
#   - a document that cannot be written (its name taken by a directory): the evaluation is
#     recorded all the same, without documents, nothing left behind, a warning logged; the
#     index then links no re-rendered report of the run (not an older evaluation's); the way
#     cleared, a later sweep writes them (warned once, not evaluated again);
#   - the daemon's role cannot change driftmon.performance_report;
#   - `driftmon verify` counts the new documents and files, then finds a changed file and a
#     changed stored document;
#   - the re-rendered reports are links of the hash chain (sql/019_perf_report_chain.sql): an
#     untouched history verifies; a stored document changed with its sha256 and its file is
#     found by its link (exit 4, the row named), and by driftmon.verify_chain().
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=perfreport
. tests/lib/results.sh
if ! "$PY" -c 'import numpy, sklearn' 2>/dev/null; then
    bad "$PY cannot import numpy and sklearn (make deps installs python3-numpy python3-sklearn)"
    finish
fi

. tests/lib/pg.sh
serve_pid=""
pg_cleanup_extra() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
}
pg_setup perfr
. tests/lib/wait.sh

LABEL='out<b>&come'
# ---- data: the scoring engine's table, the outcome column renamed ----------------------------
"$GEN" --schema apps --score >"$W/apps.sql"
"$GEN" --rows 2000 --seed 51 --score -o "$W/ref0.csv"
"$PY" - "$W/ref0.csv" "$W/ref.csv" "$LABEL" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
rows[0] = [sys.argv[3] if h == "TARGET" else h for h in rows[0]]
csv.writer(open(sys.argv[2], "w", newline="")).writerows(rows)
EOF
for b in full:52:700; do
    IFS=: read -r name seed rows <<<"$b"
    "$GEN" --rows "$rows" --seed "$seed" --score --first-id $((seed * 10000)) --format tsv-copy \
        --no-header -o "$W/$name.tsv"
done
chmod 0644 "$W"/*
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/apps.sql" | paste -sd, -)
QL='"out<b>&come"'
cols=$(printf '%s' "$cols" | sed 's/"TARGET"/"out<b>\&come"/')
q -f "$W/apps.sql" \
  -c "ALTER TABLE apps ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
      ADD COLUMN created_at timestamptz DEFAULT clock_timestamp()" >/dev/null ||
    { bad "could not create the table"; finish; }
cat >"$W/c.json" <<EOF
{
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "columns": {"exclude": ["SK_ID_CURR"]},
  "model": {"score_column": "score", "decision_threshold": 0.3, "label_column": "$LABEL",
            "label_delay": "2 seconds", "cost": {"fn": 10, "fp": 1}},
  "retrain": {"fraction": 1}
}
EOF
C=(--config "$W/c.json")
"$DM" init "${C[@]}" 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
q -c "ALTER TABLE apps RENAME COLUMN \"TARGET\" TO $QL" \
  -c "CREATE TABLE truth (id bigint PRIMARY KEY, target double precision)" \
  -c "CREATE ROLE dm_d LOGIN" -c "GRANT driftmon_daemon TO dm_d" -c "GRANT SELECT ON apps TO dm_d" \
  -c "CREATE ROLE dm_a LOGIN" -c "GRANT driftmon_auditor TO dm_a" >/dev/null ||
    { bad "could not create the login roles"; finish; }
PGUSER=dm_d "$DM" reference load "$W/ref.csv" --name hc "${C[@]}" >"$W/ref.out" 2>"$W/ref.err" ||
    { bad "reference load" "$(cat "$W/ref.err")"; finish; }

# submit NAME: the batch's rows and submit_batch in one transaction, its labels not known yet
# (kept in truth, filled later by fill NAME)
submit() {
    { echo "BEGIN;"; echo "SET LOCAL dm.batch = '$1';"; echo "COPY apps ($cols) FROM STDIN;"
      cat "$W/$1.tsv"; echo '\.'
      echo "INSERT INTO truth SELECT \"SK_ID_CURR\", $QL FROM apps WHERE batch_id = '$1';"
      echo "UPDATE apps SET $QL = NULL WHERE batch_id = '$1';"
      echo "SELECT driftmon.submit_batch('$1');"; echo "COMMIT;"
    } | q >/dev/null
}
fill() { q -c "UPDATE apps a SET $QL = t.target FROM truth t WHERE a.batch_id = '$1' AND a.\"SK_ID_CURR\" = t.id"; }
# expected BATCH: the oracle's figures on the cohort's (score, label) pairs as the table holds them
expected() { q -c "SELECT score, $QL FROM apps WHERE batch_id = '$1'" | "$PY" tests/integration/perfd.py 0.3 10 1; }
# evaluation BATCH N: the batch's N-th evaluation (1: the first) as JSON
evaluation() {
    q -c "SELECT row_to_json(h) FROM driftmon.performance_history h WHERE h.batch = '$1'
          ORDER BY h.evaluation_id OFFSET $2 - 1 LIMIT 1"
}
# check_docs BATCH N: the N-th evaluation's documents against the row, the oracle and the run's
# own documents; prints what disagrees (nothing when all agree)
check_docs() {
    local row rid pid
    row=$(evaluation "$1" "$2")
    rid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["run_id"])' "$row")
    pid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["evaluation_id"])' "$row")
    "$PY" - "$W/reports" "$rid" "$pid" "$row" "$(expected "$1")" "$LABEL" \
        "$(q -c "SELECT row_to_json(d) FROM driftmon.performance_reports d WHERE d.evaluation_id = $pid")" <<'EOF'
import hashlib, json, math, os, sys
d, rid, pid, row, want, label, stored = sys.argv[1:8]
row, want = json.loads(row), json.loads(want)
stored = json.loads(stored) if stored else {}
bad = []
base = f"{d}/run-{rid}.performance-{pid}"
if not os.path.exists(base + ".html") or not os.path.exists(base + ".json"):
    print(f"no documents {base}.html/.json"); sys.exit(1)
hb, jb = open(base + ".html", "rb").read(), open(base + ".json", "rb").read()
for ext, b in (("html", hb), ("json", jb)):
    if hashlib.sha256(b).hexdigest() != stored.get(f"report_{ext}_sha256"):
        bad.append(f"{ext} file's sha256 is not the stored one")
    if stored.get(f"report_{ext}") != f"{base}.{ext}":
        bad.append(f"stored path {stored.get(f'report_{ext}')}")
doc = json.loads(jb)
perf = doc["performance"]
cur = perf["current"]
def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
for k in ("rows", "left_out", "tp", "fp", "tn", "fn"):
    if not (cur[k] == row[k] == want[k]):
        bad.append(f"{k}: document {cur[k]} row {row[k]} oracle {want[k]}")
for k in ("auc", "recall", "precision", "business_cost", "business_cost_at_optimal"):
    if not (close(cur[k], row[k]) and close(cur[k], want[k])):
        bad.append(f"{k}: document {cur[k]} row {row[k]} oracle {want[k]}")
ot = None if cur["optimal_refuses_nobody"] else cur["optimal_threshold"]
rt = None if row["optimal_threshold"] == "Infinity" else row["optimal_threshold"]
wt = None if want["optimal_threshold"] == "Infinity" else want["optimal_threshold"]
if not (close(ot, rt) and close(ot, wt)):
    bad.append(f"optimal_threshold: document {ot} row {rt} oracle {wt}")
if not close(perf["cost_increase"], row["cost_increase"]):
    bad.append(f"cost_increase: document {perf['cost_increase']} row {row['cost_increase']}")
if not close(perf["reference"]["business_cost"], row["reference_business_cost"]):
    bad.append("the reference's business cost is not the row's")
ev = perf.get("evaluation") or {}
if ev.get("id") != int(pid) or ev.get("supersedes") != row["supersedes"]:
    bad.append(f"evaluation {ev}")
if perf["label_column"] != label:
    bad.append(f"label_column {perf['label_column']!r}")
# the run's own documents, outside the performance section
oh, oj = open(f"{d}/run-{rid}.html", "rb").read(), open(f"{d}/run-{rid}.json", "rb").read()
B, E = b"<!-- driftmon:performance -->\n", b"<!-- /driftmon:performance -->\n"
def outside(h):
    a, z = h.index(B), h.index(E) + len(E)
    return h[:a], h[z:]
try:
    if outside(oh) != outside(hb):
        bad.append("the HTML differs from the run's outside the performance section")
except ValueError:
    bad.append("no performance markers")
o = json.loads(oj)
o.pop("performance", None)
doc.pop("performance", None)
if o != doc:
    bad.append("the JSON differs from the run's outside performance")
# the HTML shows the row's figures: counts, AUC ("%.4f"), business cost ("%.6g"), and escapes
h = hb.decode()
sec = h[h.index(B.decode()):h.index(E.decode())]
for t in (f"{row['tp']} / {row['fp']} / {row['tn']} / {row['fn']}",
          f"{row['rows']} ({row['left_out']} left out)", "%.4f" % row["auc"],
          "%.6g" % row["business_cost"], f"(evaluation {pid}"):
    if t not in sec:
        bad.append(f"the HTML's performance section lacks {t!r}")
if label in h or "out&lt;b&gt;&amp;come" not in sec:
    bad.append("the label column's name is not escaped in the HTML")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}
sha() { sha256sum "$1" | cut -c1-64; }

PGUSER=dm_d "$DM" serve "${C[@]}" --poll 0.3 >"$W/serve.log" 2>&1 &
serve_pid=$!
submit full || { bad "could not submit batch full"; finish; }
wait_until 60 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'full'" ||
    { bad "batch full is checked" "$(tail -5 "$W/serve.log")"; finish; }
rid=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'full'")
# the run's documents as first written (before its cohort is due)
cp "$W/reports/run-$rid.html" "$W/orig.html"
cp "$W/reports/run-$rid.json" "$W/orig.json"
orig_db=$(q -c "SELECT md5(report_html_doc) || md5(report_json_doc) FROM driftmon.run WHERE id = $rid")
grep -q '"current":	{
		"rows":	0,' "$W/orig.json" || bad "the run's report has no current figures (no labels at the run)" "$(grep -A3 '"current"' "$W/orig.json" | tail -3)"
fill full

# ---- the first evaluation: its documents -------------------------------------------------------
if wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'full'"; then
    sleep 0.5
    if d=$(check_docs full 1); then
        ok "after the evaluation: run-$rid.performance-<id>.html and .json, stored with their sha256; the JSON's current figures are the row's and the oracle's, the HTML shows them escaped, the rest is the run's own"
    else
        bad "the evaluation's documents" "$d"
    fi
else
    bad "batch full is evaluated" "$(tail -5 "$W/serve.log")"
fi
unchanged() {
    cmp -s "$W/orig.html" "$W/reports/run-$rid.html" && cmp -s "$W/orig.json" "$W/reports/run-$rid.json" &&
        [ "$(q -c "SELECT md5(report_html_doc) || md5(report_json_doc) FROM driftmon.run WHERE id = $rid")" = "$orig_db" ] &&
        [ "$(q -c "SELECT report_html_sha256 || ' ' || report_json_sha256 FROM driftmon.run WHERE id = $rid")" = "$(sha "$W/orig.html") $(sha "$W/orig.json")" ]
}
unchanged && ok "the run's report files and stored documents are the bytes first written, their sha256 the run row's" ||
    bad "the run's report files and stored documents are unchanged"

# ---- labels changed later: a second pair of documents ------------------------------------------
p1=$(q -c "SELECT evaluation_id FROM driftmon.performance_history WHERE batch = 'full'")
h1=$(sha "$W/reports/run-$rid.performance-$p1.html")
j1=$(sha "$W/reports/run-$rid.performance-$p1.json")
q -c "UPDATE apps SET $QL = 1 - $QL WHERE batch_id = 'full' AND \"SK_ID_CURR\" % 7 = 2"
if wait_until 30 "SELECT count(*) = 2 FROM driftmon.performance_history WHERE batch = 'full'"; then
    sleep 0.5
    p2=$(q -c "SELECT max(evaluation_id) FROM driftmon.performance_history WHERE batch = 'full'")
    if d=$(check_docs full 2); then
        ok "a re-evaluation: a second pair of documents with its figures (the row's, the oracle's on the new labels), superseding the first"
    else
        bad "the re-evaluation's documents" "$d"
    fi
    [ "$(sha "$W/reports/run-$rid.performance-$p1.html") $(sha "$W/reports/run-$rid.performance-$p1.json")" = "$h1 $j1" ] &&
        [ "$(q -c "SELECT count(*) FROM driftmon.performance_report WHERE run_id = $rid")" = 2 ] &&
        unchanged && ok "the first evaluation's documents and the run's own stay as they were" ||
        bad "the first documents stay as they were"
    if grep -q "href=\"run-$rid.performance-$p2.html\"" "$W/reports/index.html" &&
        ! grep -q "run-$rid.performance-$p1.html" "$W/reports/index.html"; then
        ok "index.html links the run's latest re-rendered report"
    else
        bad "index.html links the latest re-rendered report" "$(grep -o "run-$rid[^\"]*" "$W/reports/index.html" | head -3)"
    fi
else
    bad "changed labels are evaluated again" "$(tail -5 "$W/serve.log")"
fi

# ---- a document that cannot be written: the evaluation stands ------------------------------------
# labels changed again, the next evaluation's JSON name taken by a directory: its rename fails
next=$(($(q -c "SELECT max(id) FROM driftmon.performance") + 1))
mkdir -p "$W/reports/run-$rid.performance-$next.json"
q -c "UPDATE apps SET $QL = 1 - $QL WHERE batch_id = 'full' AND \"SK_ID_CURR\" % 5 = 1"
if wait_until 30 "SELECT count(*) = 3 FROM driftmon.performance_history WHERE batch = 'full'"; then
    sleep 0.5
    got=$(q -c "SELECT max(evaluation_id) FROM driftmon.performance_history WHERE batch = 'full'")
    nd=$(q -c "SELECT count(*) FROM driftmon.performance_report WHERE performance_id = $got")
    left=$(ls -A "$W/reports" | grep -c "performance-$next\.html\|\.tmp\." || true)
    if [ "$got" = "$next" ] && [ "$nd" = 0 ] && [ "$left" = 0 ] &&
        grep -q "could not write the run's report with its cohort's performance (the evaluation is recorded).*evaluation_id=$next" "$W/serve.log"; then
        ok "a document that cannot be written: the evaluation is recorded, without documents, nothing left behind, a warning logged"
    else
        bad "a failed document keeps the evaluation" "evaluation $got (want $next), $nd documents, $left files left; $(grep "evaluation_id=$next" "$W/serve.log" | tail -2)"
    fi
    sleep 0.5
    n=$(grep -c "run-$rid\.performance-" "$W/reports/index.html")
    [ "$n" = 0 ] && ok "index.html links no re-rendered report when the latest evaluation has none (not an older one's figures)" ||
        bad "index.html links no outdated re-rendered report" "$(grep -o "run-$rid\.performance-[^\"]*" "$W/reports/index.html")"
else
    bad "a cohort whose documents cannot be written is still evaluated" "$(tail -5 "$W/serve.log")"
fi
# the way cleared: a later sweep writes the documents, the evaluation not recorded again; the
# warning was logged once while every sweep retried
nwarn=$(grep -c "could not write the run's report with its cohort's performance.*evaluation_id=$next " "$W/serve.log")
rmdir "$W/reports/run-$rid.performance-$next.json"
if wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_report WHERE performance_id = $next"; then
    sleep 0.5
    if d=$(check_docs full 3) && [ "$(q -c "SELECT count(*) FROM driftmon.performance WHERE run_id = $rid")" = 3 ] &&
        [ "$nwarn" = 1 ] && [ "$(grep -c "written with its cohort's performance at a later sweep.*evaluation_id=$next " "$W/serve.log")" = 1 ] &&
        grep -q "href=\"run-$rid.performance-$next.html\"" "$W/reports/index.html"; then
        ok "documents that could not be written are written at a later sweep (the evaluation's figures, not evaluated again, warned once, index.html links them)"
    else
        bad "documents retried at a later sweep" "$d; $nwarn warnings; $(grep "evaluation_id=$next" "$W/serve.log" | tail -2)"
    fi
else
    bad "documents that could not be written are retried" "$(grep "evaluation_id=$next" "$W/serve.log" | tail -3)"
fi
kill "$serve_pid" && wait "$serve_pid"
serve_pid=""

# ---- the daemon's role cannot change the documents ------------------------------------------------
for sql in "UPDATE driftmon.performance_report SET report_html_doc = ''" \
    "DELETE FROM driftmon.performance_report" "TRUNCATE driftmon.performance_report"; do
    out=$(PGUSER=dm_d psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$sql" 2>&1)
    if [ $? -ne 0 ] && [[ $out == *"ERROR:  42501:"* ]]; then
        ok "as the daemon's login, refused with 42501: ${sql:0:50}"
    else
        bad "as the daemon's login, refused with 42501: ${sql:0:50}" "$out"
    fi
done

# ---- verify ------------------------------------------------------------------------------------------
runs=$(q -c "SELECT count(*) FROM driftmon.run")
ndocs=$(q -c "SELECT count(*) FROM driftmon.performance_report")
if [ "$ndocs" = 3 ] && PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1 &&
    grep -q "$((2 * runs + 2 * ndocs)) stored documents, $((2 * runs + 2 * ndocs)) report files" "$W/v.out"; then
    ok "verify passes, as the auditor's login; it checks the $((2 * ndocs)) re-rendered documents and their files"
else
    bad "verify checks the re-rendered documents" "$ndocs stored; $(tail -3 "$W/v.out")"
fi
f="$W/reports/run-$rid.performance-$p1.html"
cp "$f" "$W/keep.html"
printf ' ' >>"$f"
PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
if [ "$rc" = 4 ] && grep -q "^FAIL run $rid: report file \".*run-$rid.performance-$p1.html\" does not match" "$W/v.out"; then
    ok "verify finds a changed re-rendered report file (exit 4, the file named)"
else
    bad "verify finds a changed re-rendered report file" "exit $rc: $(grep FAIL "$W/v.out" | head -3)"
fi
cp "$W/keep.html" "$f"
q -c "ALTER TABLE driftmon.performance_report DISABLE TRIGGER USER" \
  -c "UPDATE driftmon.performance_report SET report_json_doc = report_json_doc || ' ' WHERE performance_id = $p1" \
  -c "ALTER TABLE driftmon.performance_report ENABLE TRIGGER USER" >/dev/null
PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
if [ "$rc" = 4 ] && grep -q "^FAIL evaluation $p1 of run $rid: the stored JSON document (driftmon.performance_report.report_json_doc) does not match its sha256" "$W/v.out"; then
    ok "verify finds a changed stored re-rendered document (exit 4, the evaluation named)"
else
    bad "verify finds a changed stored re-rendered document" "exit $rc: $(grep FAIL "$W/v.out" | head -3)"
fi

# ---- the re-rendered reports are links of the hash chain (sql/019_perf_report_chain.sql) ----------
# the stored document changed above put back: the history verifies again
q -c "ALTER TABLE driftmon.performance_report DISABLE TRIGGER USER" \
  -c "UPDATE driftmon.performance_report SET report_json_doc = left(report_json_doc, -1) WHERE performance_id = $p1" \
  -c "ALTER TABLE driftmon.performance_report ENABLE TRIGGER USER" >/dev/null
PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q ": intact (0 failures" "$W/v.out" &&
    ok "an untouched history with chained re-rendered reports verifies (exit 0)" ||
    bad "an untouched history verifies" "exit $rc: $(grep FAIL "$W/v.out" | head -3)"
# a table owner changes a stored document, its sha256 and the file together: only the link
# can tell
f="$W/reports/run-$rid.performance-$p2.html"
printf '<!-- x -->' >>"$f"
seq2=$(q -c "SELECT seq FROM driftmon.performance_report WHERE performance_id = $p2")
q -c "ALTER TABLE driftmon.performance_report DISABLE TRIGGER USER" \
  -c "UPDATE driftmon.performance_report SET report_html_doc = report_html_doc || '<!-- x -->',
      report_html_sha256 = encode(sha256(convert_to(report_html_doc || '<!-- x -->', 'UTF8')), 'hex')
      WHERE performance_id = $p2" \
  -c "ALTER TABLE driftmon.performance_report ENABLE TRIGGER USER" >/dev/null
stored=$(q -c "SELECT report_html_sha256 FROM driftmon.performance_report WHERE performance_id = $p2")
PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
nfail=$(grep -c '^FAIL' "$W/v.out")
inside=$(q -c "SELECT problem FROM driftmon.verify_chain() WHERE seq = $seq2")
if [ "$stored" = "$(sha "$f")" ] && [ "$rc" = 4 ] && [ "$nfail" = 1 ] &&
    grep -q "^FAIL the re-rendered report of evaluation $p2 of run $rid (driftmon.performance_report, seq $seq2) does not match its row_hash" "$W/v.out" &&
    [ "$inside" = "row hash mismatch: the performance_report row was changed" ]; then
    ok "verify finds a re-rendered document changed with its sha256 and its file (exit 4, the row named by its link; verify_chain() too)"
else
    bad "verify finds a re-rendered document changed with its sha256" "exit $rc, $nfail failures: $(grep FAIL "$W/v.out" | head -3); verify_chain(): $inside"
fi

finish

#!/usr/bin/env bash
# perfd.sh - the realised performance of the cohorts in `driftmon serve` (issue 21), against a
# real PostgreSQL started for the test; the daemon runs as a login role of driftmon_daemon.
# label_delay is 3 seconds.  Checks:
#   - a batch whose labels are there: evaluated once after the delay, its figures those of
#     tests/integration/perfd.py (scikit-learn's roc_auc_score, counts by the definition,
#     the optimal threshold by brute force) on the cohort's rows as the table holds them;
#   - labels filled after the delay: not evaluated before, once after;
#   - labels changed later: one new row that supersedes the first, which stays as it was;
#     labels rewritten unchanged, or no change at all: no new row;
#   - a batch without any label: never due; a batch with a quarter of its labels missing: not
#     due at the delay, evaluated after twice the delay with the rows left out counted;
#   - a label neither 0 nor 1: logged once per state of the labels (again when they change,
#     not at every look) and not evaluated; corrected, evaluated;
#   - the sweeps' looks: with no label changing, each cohort is looked at by its summary
#     (count, digest, rows without a label) and none has its rows read (the server's log);
#   - `driftmon history --performance` (json, table) as the auditor's login: the view's rows;
#   - the daemon's role cannot UPDATE, DELETE or TRUNCATE driftmon.performance, nor INSERT;
#   - `driftmon verify` passes, then finds a performance row changed by a superuser;
#   - retrain reason "cost": a cohort whose business cost exceeds the reference's by more than
#     retrain.cost_increase reaches the hook with DRIFTMON_RETRAIN_REASON=cost (needs the
#     reference's figures stored by `reference load`: skipped by name without them).
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=perfd
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
pg_setup perfd
. tests/lib/wait.sh

# ---- data: the scoring engine's table, with the score and the outcome ------------------------
"$GEN" --schema apps --score >"$W/apps.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/apps.sql" | paste -sd, -)
"$GEN" --rows 3000 --seed 41 --score -o "$W/ref.csv"
for b in full:42:800 late:43:600 none:44:300 part:45:400 costly:46:600 badlab:47:300; do
    IFS=: read -r name seed rows <<<"$b"
    "$GEN" --rows "$rows" --seed "$seed" --score --first-id $((seed * 10000)) --format tsv-copy \
        --no-header -o "$W/$name.tsv"
done
chmod 0644 "$W"/*
q -f "$W/apps.sql" \
  -c "ALTER TABLE apps ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
      ADD COLUMN created_at timestamptz DEFAULT clock_timestamp()" \
  -c "CREATE TABLE truth (id bigint PRIMARY KEY, target double precision)" >/dev/null ||
    { bad "could not create the tables"; finish; }

cat >"$W/hook.sh" <<'EOF'
#!/bin/sh
cat >"$HOOK_DIR/payload.$DRIFTMON_RUN_ID.${DRIFTMON_PERFORMANCE_ID:-run}"
echo "$DRIFTMON_RUN_ID ${DRIFTMON_RETRAIN_REASON:-drift} ${DRIFTMON_PERFORMANCE_ID:-}" >>"$HOOK_DIR/hook.log"
EOF
chmod 0755 "$W/hook.sh"
export HOOK_DIR=$W
cat >"$W/c.json" <<EOF
{
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "columns": {"exclude": ["SK_ID_CURR", "TARGET"]},
  "model": {"score_column": "score", "decision_threshold": 0.3, "label_column": "TARGET",
            "label_delay": "3 seconds", "cost": {"fn": 10, "fp": 1}},
  "retrain": {"fraction": 1, "cost_increase": 0.1, "hook": ["$W/hook.sh"], "env": ["HOOK_DIR"]}
}
EOF
C=(--config "$W/c.json")
"$DM" init "${C[@]}" 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
q -c "CREATE ROLE dm_d LOGIN" -c "GRANT driftmon_daemon TO dm_d" -c "GRANT SELECT ON apps TO dm_d" \
  -c "ALTER ROLE dm_d SET log_statement = 'all'" \
  -c "CREATE ROLE dm_a LOGIN" -c "GRANT driftmon_auditor TO dm_a" >/dev/null ||
    { bad "could not create the login roles"; finish; }
PGUSER=dm_d "$DM" reference load "$W/ref.csv" --name hc "${C[@]}" >"$W/ref.out" 2>"$W/ref.err" ||
    { bad "reference load" "$(cat "$W/ref.err")"; finish; }

# submit NAME: the batch's rows and submit_batch in one transaction; late/none/part lose
# labels (late's kept in truth), part also a few scores
submit() {
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$1';"
        echo "COPY apps ($cols) FROM STDIN;"
        cat "$W/$1.tsv"
        echo '\.'
        case $1 in
        late) echo "INSERT INTO truth SELECT \"SK_ID_CURR\", \"TARGET\" FROM apps WHERE batch_id = 'late';"
              echo "UPDATE apps SET \"TARGET\" = NULL WHERE batch_id = 'late';" ;;
        none) echo "UPDATE apps SET \"TARGET\" = NULL WHERE batch_id = 'none';" ;;
        part) echo "UPDATE apps SET \"TARGET\" = NULL WHERE batch_id = 'part' AND \"SK_ID_CURR\" % 4 = 0;"
              echo "UPDATE apps SET score = NULL WHERE batch_id = 'part' AND \"SK_ID_CURR\" % 4 = 1 AND \"SK_ID_CURR\" % 20 = 1;" ;;
        esac
        echo "SELECT driftmon.submit_batch('$1');"
        echo "COMMIT;"
    } | q >/dev/null
}
for b in full late none part; do submit $b || { bad "could not submit batch $b"; finish; }; done

# expected BATCH: perfd.py on the cohort's (score, label) pairs as the table holds them now
expected() {
    q -c "SELECT score, \"TARGET\" FROM apps WHERE batch_id = '$1'" | "$PY" tests/integration/perfd.py 0.3 10 1
}
# row BATCH [N]: the batch's N-th evaluation (1: the first) as JSON
row() {
    q -c "SELECT row_to_json(h) FROM driftmon.performance_history h WHERE h.batch = '$1'
          ORDER BY h.evaluation_id OFFSET ${2:-1} - 1 LIMIT 1"
}
# same EXPECTED ROW: every figure of EXPECTED in ROW (counts exact, the rest within 1e-12)
same() {
    "$PY" - "$1" "$2" <<'EOF'
import json, math, sys
e, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
bad = []
for k, v in e.items():
    g = r.get(k)
    if v is None or g is None or isinstance(v, str) or isinstance(g, str):
        if not (v == g or (v == "Infinity" and g == "Infinity")):
            bad.append(f"{k}: expected {v}, got {g}")
    elif isinstance(v, int) and not isinstance(v, bool):
        if v != g:
            bad.append(f"{k}: expected {v}, got {g}")
    elif not math.isclose(v, g, rel_tol=1e-12, abs_tol=1e-15):
        bad.append(f"{k}: expected {v!r}, got {g!r}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}
nrows() { q -c "SELECT count(*) FROM driftmon.performance_history WHERE batch = '$1'"; }

PGUSER=dm_d "$DM" serve "${C[@]}" --poll 0.3 >"$W/serve.log" 2>&1 &
serve_pid=$!
wait_until 60 "SELECT count(*) = 4 FROM driftmon.run" || { bad "the four batches are checked" "$(tail -5 "$W/serve.log")"; finish; }

# ---- labels there: one evaluation after the delay ----------------------------------------------
if wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'full'"; then
    early=$(q -c "SELECT count(*) FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id
                  WHERE p.evaluated_at < r.finished_at + interval '3 seconds'")
    [ "$early" = 0 ] && ok "no cohort is evaluated before label_delay has passed since its run" ||
        bad "no cohort is evaluated before label_delay" "$early evaluated early"
    part_now=$(nrows part)
    [ "$part_now" = 0 ] && ok "a cohort with a quarter of its labels missing is not due at the delay" ||
        bad "a cohort with labels missing is not due at the delay" "$part_now rows"
    if d=$(same "$(expected full)" "$(row full)"); then
        ok "the evaluation's figures are scikit-learn's and the definition's (rows, counts, AUC, recall, precision, business cost, optimal threshold)"
    else
        bad "the evaluation's figures are the oracle's" "$d"
    fi
else
    bad "a labelled batch is evaluated after the delay" "$(tail -5 "$W/serve.log")"
fi

# ---- labels filled after the delay ----------------------------------------------------------------
wait_until 30 "SELECT bool_and(finished_at < clock_timestamp() - interval '4 seconds') FROM driftmon.run WHERE batch = 'late'"
n=$(nrows late)
[ "$n" = 0 ] && ok "a batch without labels is not evaluated" || bad "a batch without labels is not evaluated" "$n rows"
q -c "UPDATE apps a SET \"TARGET\" = t.target FROM truth t WHERE a.batch_id = 'late' AND a.\"SK_ID_CURR\" = t.id"
if wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'late'"; then
    sleep 1.5 # several sweeps: still one
    n=$(nrows late)
    d=$(same "$(expected late)" "$(row late)")
    [ "$n" = 1 ] && [ -z "$d" ] && ok "labels filled after the delay: evaluated once, the oracle's figures" ||
        bad "labels filled after the delay: evaluated once" "rows $n; $d"
    dg=$(q -c "SELECT p.labels_count || ' ' || p.labels_digest = (SELECT count(\"TARGET\") || ' ' ||
                     COALESCE(sum(hashfloat8extended(score::float8, hashfloat8extended(\"TARGET\"::float8, 0))), 0)
                     FROM apps WHERE batch_id = 'late')
               FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id WHERE r.batch = 'late'")
    [ "$dg" = t ] && ok "the stored labels_count and labels_digest are sql/014's expression over the cohort" ||
        bad "the stored labels digest is sql/014's expression" "$dg"
else
    bad "labels filled after the delay are evaluated" "$(tail -5 "$W/serve.log")"
fi

# ---- labels changed later: a new row, the first unchanged ------------------------------------------
first=$(q -c "SELECT p.id || ' ' || encode(p.row_hash, 'hex') FROM driftmon.performance p
              JOIN driftmon.run r ON r.id = p.run_id WHERE r.batch = 'full'")
q -c "UPDATE apps SET \"TARGET\" = \"TARGET\" WHERE batch_id = 'full'" # rewritten, unchanged
sleep 1.5
n=$(nrows full)
[ "$n" = 1 ] && ok "labels rewritten unchanged: no new evaluation" || bad "labels rewritten unchanged: no new evaluation" "$n rows"
q -c "UPDATE apps SET \"TARGET\" = 1 - \"TARGET\" WHERE batch_id = 'full' AND \"SK_ID_CURR\" % 16 = 3"
if wait_until 30 "SELECT count(*) = 2 FROM driftmon.performance_history WHERE batch = 'full'"; then
    sleep 1.5
    second=$(row full 2)
    d=$(same "$(expected full)" "$second")
    sup=$(q -c "SELECT h2.supersedes = h1.evaluation_id AND h2.re_evaluated AND NOT h1.re_evaluated
                FROM driftmon.performance_history h1, driftmon.performance_history h2
                WHERE h1.batch = 'full' AND h2.batch = 'full' AND h2.evaluation_id > h1.evaluation_id")
    still=$(q -c "SELECT p.id || ' ' || encode(p.row_hash, 'hex') FROM driftmon.performance p
                  WHERE p.id = ${first%% *}")
    n=$(nrows full)
    [ "$n" = 2 ] && [ -z "$d" ] && [ "$sup" = t ] && [ "$still" = "$first" ] &&
        ok "labels changed later: one new row superseding the first (the oracle's figures on the new labels), the first as it was" ||
        bad "labels changed later: one new row" "rows $n supersedes $sup first $first now $still; $d"
else
    bad "labels changed later: a new evaluation" "$(tail -5 "$W/serve.log")"
fi

# ---- labels missing ---------------------------------------------------------------------------------
if wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'part'"; then
    want_left=$(q -c "SELECT count(*) FROM apps WHERE batch_id = 'part' AND (score IS NULL OR \"TARGET\" IS NULL)")
    late_ok=$(q -c "SELECT bool_and(p.evaluated_at >= r.finished_at + interval '6 seconds')
                    FROM driftmon.performance p JOIN driftmon.run r ON r.id = p.run_id WHERE r.batch = 'part'")
    d=$(same "$(expected part)" "$(row part)")
    left=$(q -c "SELECT left_out FROM driftmon.performance_history WHERE batch = 'part'")
    [ "$late_ok" = t ] && [ -z "$d" ] && [ "$left" = "$want_left" ] && [ "$want_left" -gt 100 ] &&
        ok "labels missing at the delay: evaluated after twice the delay, $left rows without a score or a label left out and counted" ||
        bad "labels missing: evaluated after twice the delay, left out counted" "after2x=$late_ok left_out=$left want=$want_left; $d"
else
    bad "a cohort with labels missing is evaluated after twice the delay" "$(tail -5 "$W/serve.log")"
fi
n=$(nrows none)
[ "$n" = 0 ] && ok "a cohort without any label is never due" || bad "a cohort without any label is never due" "$n rows"

# ---- a look at a cohort with nothing new reads none of its rows ----------------------------------
# The server logs the daemon's statements: the rows' read (its pairs' SELECT) and the summary.
# Now every cohort is evaluated or never due and no label changes: over several sweeps each
# cohort is looked at by its summary and no rows are read.
reads() { grep 'SELECT x.s, x.l, pg_catalog.hashfloat8extended' "$dir/log" | grep -vc 'count(y.l)' || true; }
summaries() { grep -c 'pg_catalog.count(y.l)' "$dir/log" || true; }
r0=$(reads) s0=$(summaries)
sleep 2
r1=$(reads) s1=$(summaries)
[ "$r1" = "$r0" ] && [ $((s1 - s0)) -ge 8 ] &&
    ok "with no label changing, the sweeps look at each cohort by its summary and read no rows ($((s1 - s0)) looks)" ||
    bad "with no label changing, the sweeps read no rows" "row reads $r0 -> $r1, summaries $s0 -> $s1"

# ---- retrain reason "cost" ------------------------------------------------------------------------
ref_cost=$(q -c "SELECT reference_business_cost FROM driftmon.performance_history WHERE batch = 'full' ORDER BY evaluation_id LIMIT 1")
if [ -z "$ref_cost" ]; then
    skip "retrain reason \"cost\" reaches the hook" "the reference's figures are not stored with its version (reference load, i21-perf)"
else
    # a cohort of refused good clients: every score above the threshold, every label 0
    submit costly
    q -c "UPDATE apps SET \"TARGET\" = 0, score = 0.9 WHERE batch_id = 'costly'"
    if wait_until 60 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'costly' AND retrain_flagged"; then
        rid=$(q -c "SELECT run_id FROM driftmon.performance_history WHERE batch = 'costly'")
        pid=$(q -c "SELECT evaluation_id FROM driftmon.performance_history WHERE batch = 'costly'")
        inc=$(q -c "SELECT cost_increase > 0.1 AND business_cost = 1 FROM driftmon.performance_history WHERE batch = 'costly'")
        if wait_log 30 "$W/hook.log" "^$rid cost $pid\$" && [ "$inc" = t ] &&
            grep -q '"reasons": \["cost"\]' "$W/payload.$rid.$pid" &&
            wait_log 10 "$W/serve.log" "msg=\"delivered retrain alert\" run_id=$rid alert=cost evaluation=$pid batch=costly "; then
            ok "a cohort costing more than retrain.cost_increase over the reference flags retraining, reason \"cost\", through the hook (logged with its own run_id, alert and evaluation fields)"
        else
            bad "retrain reason \"cost\" reaches the hook" "inc=$inc $(cat "$W/hook.log" 2>/dev/null)"
        fi
    else
        bad "a costly cohort flags retraining" "$(tail -5 "$W/serve.log")"
    fi
    # every evaluation: cost_increase = business cost / the reference's - 1, flagged exactly
    # when it exceeds 0.1; the reference's cost perfd.py's on the reference's rows
    n=$(q -c "SELECT count(*) FROM driftmon.performance_history
              WHERE cost_increase IS DISTINCT FROM business_cost / reference_business_cost - 1
                 OR retrain_flagged IS DISTINCT FROM (business_cost / reference_business_cost - 1 > 0.1)")
    nf=$(q -c "SELECT count(*) FILTER (WHERE retrain_flagged) || '/' || count(*) FROM driftmon.performance_history")
    want_ref=$("$PY" - "$W/ref.csv" <<'EOF2' | "$PY" tests/integration/perfd.py 0.3 10 1 | "$PY" -c 'import json, sys; print(repr(json.load(sys.stdin)["business_cost"]))'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["score"] + "|" + r["TARGET"])
EOF2
)
got_ref=$(q -c "SELECT DISTINCT reference_business_cost FROM driftmon.performance_history")
close=$("$PY" -c "import math,sys; print(math.isclose(float(sys.argv[1]), float(sys.argv[2]), rel_tol=1e-12))" "$want_ref" "${got_ref:-nan}")
[ "$n" = 0 ] && [ "$close" = True ] &&
    ok "every evaluation: cost_increase = its business cost / the reference's ($got_ref, the oracle's on the reference's rows) - 1, retraining flagged exactly above 0.1 ($nf flagged)" ||
    bad "cost_increase and the flag follow the reference's figures" "$n rows disagree; reference cost $got_ref, oracle $want_ref"
fi

# ---- a label neither 0 nor 1: logged, not evaluated; once corrected, evaluated --------------------
# (a check refuses such a label: it is written after the check, before the delay; the rows'
# read stops at it, and the daemon's connection must stay usable)
submit badlab
wait_until 60 "SELECT count(*) = 1 FROM driftmon.run WHERE batch = 'badlab'"
q -c "UPDATE apps SET \"TARGET\" = 2 WHERE batch_id = 'badlab' AND \"SK_ID_CURR\" % 50 = 7"
rid=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'badlab'")
if [ -n "$rid" ] && wait_log 30 "$W/serve.log" "neither 0 nor 1.* run_id=$rid .*value=2"; then
    # looked at every 0.3 s: the same labels are logged once; labels changed (still bad), again
    sleep 1.5
    n1=$(grep -c "neither 0 nor 1.* run_id=$rid " "$W/serve.log")
    q -c "UPDATE apps SET \"TARGET\" = 2 WHERE batch_id = 'badlab' AND \"SK_ID_CURR\" % 50 = 8"
    end=$(($(date +%s) + 30))
    while [ "$(grep -c "neither 0 nor 1.* run_id=$rid " "$W/serve.log")" -lt 2 ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
    sleep 1.5
    n2=$(grep -c "neither 0 nor 1.* run_id=$rid " "$W/serve.log")
    [ "$n1" = 1 ] && [ "$n2" = 2 ] &&
        ok "a label of 2 is logged once while the labels stay as they are, and once more when they change" ||
        bad "a bad label is logged once per state of the labels" "$n1 lines in 1.5 s of looks, then $n2 after a change (want 1, 2)"
    n=$(nrows badlab)
    q -c "UPDATE apps SET \"TARGET\" = 1 WHERE batch_id = 'badlab' AND \"TARGET\" = 2"
    if [ "$n" = 0 ] && wait_until 30 "SELECT count(*) = 1 FROM driftmon.performance_history WHERE batch = 'badlab'"; then
        d=$(same "$(expected badlab)" "$(row badlab)")
        [ -z "$d" ] && ok "a label of 2: logged, not evaluated; corrected, the cohort is evaluated (the oracle's figures)" ||
            bad "a corrected label: the oracle's figures" "$d"
    else
        bad "a label of 2 is not evaluated, then the corrected cohort is" "rows before $n; $(tail -3 "$W/serve.log")"
    fi
else
    bad "a label of 2 is logged" "run ${rid:-none}; $(tail -3 "$W/serve.log")"
fi

# ---- history --performance, as the auditor ---------------------------------------------------------
if PGUSER=dm_a "$DM" history --performance --format json "${C[@]}" >"$W/h.json" 2>"$W/h.err"; then
    d=$("$PY" - "$W/h.json" "$(q -c "SELECT json_agg(h ORDER BY evaluation_id) FROM driftmon.performance_history h")" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.loads(sys.argv[2])
bad = []
if len(got) != len(want):
    bad.append(f"{len(got)} rows, the view has {len(want)}")
for g, w in zip(got, want):
    for k in ("evaluation_id", "run_id", "monitor", "cohort_kind", "rows", "left_out", "tp", "fp",
              "tn", "fn", "auc", "business_cost", "supersedes", "retrain_flagged"):
        if g.get(k) != w.get(k):
            bad.append(f"evaluation {w['evaluation_id']} {k}: {g.get(k)} != {w.get(k)}")
    if g.get("cohort") != w.get("batch"):
        bad.append(f"cohort {g.get('cohort')} != batch {w.get('batch')}")
print("; ".join(bad))
EOF
)
    [ -z "$d" ] && ok "history --performance --format json, as the auditor's login: the view's rows" ||
        bad "history --performance --format json: the view's rows" "$d"
else
    bad "history --performance as the auditor's login" "$(cat "$W/h.err")"
fi
if PGUSER=dm_a "$DM" history --performance "${C[@]}" >"$W/h.txt" 2>"$W/h.err" &&
    head -n 1 "$W/h.txt" | grep -q '^evaluation_id .*business_cost' &&
    [ "$(($(wc -l <"$W/h.txt") - 1))" = "$(q -c "SELECT count(*) FROM driftmon.performance")" ]; then
    ok "history --performance prints a table, a line per evaluation"
else
    bad "history --performance prints a table" "$(cat "$W/h.txt" "$W/h.err")"
fi

# ---- the history page: business cost, AUC and the optimal threshold over the cohorts ------------
page=$(ls "$W"/reports/history-*.html 2>/dev/null | head -n 1)
# the tooltips print %.4g; compare through python's identical rule
miss=$("$PY" - "$page" <<'EOF2'
import re, subprocess, sys
page = open(sys.argv[1]).read() if sys.argv[1] else ""
rows = subprocess.run(["psql", "-X", "-At", "-F", "|", "-c",
    "SELECT DISTINCT ON (run_id) run_id, business_cost, auc, optimal_threshold, decision_threshold "
    "FROM driftmon.performance_history ORDER BY run_id, evaluation_id DESC"],
    capture_output=True, text=True, check=True).stdout.split()
bad = []
n = page.count('<svg class="plot runs figure"')
if n != 3:
    bad.append(f"{n} performance charts")
for r in rows:
    rid, bc, auc, opt, thr = r.split("|")
    for what, v in (("business cost", bc), ("AUC", auc), ("optimal threshold", opt)):
        if v in ("", "Infinity"):
            continue
        t = f"run {rid}: {what} {float(v):.4g}"
        if t not in page:
            bad.append(t)
print("; ".join(bad))
EOF2
)
if [ -n "$page" ] && [ -z "$miss" ] && grep -q '<section class="perf">' "$page"; then
    ok "the history page draws each evaluated cohort's business cost, AUC and optimal threshold (its latest evaluation)"
else
    bad "the history page draws the cohorts' performance" "${page:-no page}: $miss"
fi

# ---- the daemon's role cannot change the history ------------------------------------------------------
for sql in "UPDATE driftmon.performance SET auc = 0.5" "DELETE FROM driftmon.performance" \
    "TRUNCATE driftmon.performance" \
    "INSERT INTO driftmon.performance (monitor, run_id, cohort_kind, label_column, score_column, decision_threshold, cost_fn, cost_fp, rows, left_out, tp, fp, tn, fn, retrain_flagged, labels_count, labels_digest, driftmon_version) VALUES ('default', 1, 'batch', 'x', 'y', 0, 1, 1, 0, 0, 0, 0, 0, 0, false, 0, '0', 'x')" \
    "UPDATE driftmon.performance_outbox SET delivered_at = now()"; do
    out=$(PGUSER=dm_d psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$sql" 2>&1)
    if [ $? -ne 0 ] && [[ $out == *"ERROR:  42501:"* ]]; then
        ok "as the daemon's login, refused with 42501: ${sql:0:50}"
    else
        bad "as the daemon's login, refused with 42501: ${sql:0:50}" "$out"
    fi
done
out=$(PGUSER=dm_a psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT count(*) FROM driftmon.performance" 2>&1)
[ $? -ne 0 ] && [[ $out == *"ERROR:  42501:"* ]] && ok "the auditor reads the views, not the table" ||
    bad "the auditor reads the views, not the table" "$out"

kill "$serve_pid" && wait "$serve_pid"
serve_pid=""

# ---- verify ------------------------------------------------------------------------------------------
if PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1; then
    links=$(q -c "SELECT seq FROM driftmon.chain_head")
    grep -q "verify: $links links" "$W/v.out" && ok "verify passes; its $links links include the performance rows" ||
        bad "verify counts the performance links" "$(tail -2 "$W/v.out")"
else
    bad "verify passes" "$(tail -5 "$W/v.out")"
fi
victim=$(q -c "SELECT min(id) FROM driftmon.performance")
vrun=$(q -c "SELECT run_id FROM driftmon.performance WHERE id = $victim")
q -c "ALTER TABLE driftmon.performance DISABLE TRIGGER USER" \
  -c "UPDATE driftmon.performance SET business_cost = business_cost / 2 WHERE id = $victim" \
  -c "ALTER TABLE driftmon.performance ENABLE TRIGGER USER" >/dev/null
PGUSER=dm_a "$DM" verify "${C[@]}" >"$W/v.out" 2>&1
rc=$?
if [ "$rc" = 4 ] && grep -q "^FAIL evaluation $victim of run $vrun (driftmon.performance, seq [0-9]*) does not match its row_hash" "$W/v.out"; then
    ok "verify finds a performance row changed by a superuser (exit 4, the evaluation named)"
else
    bad "verify finds a changed performance row" "exit $rc: $(grep FAIL "$W/v.out" | head -3)"
fi
sqlv=$(q -c "SELECT problem FROM driftmon.verify_chain()")
[[ $sqlv == *"the performance row was changed"* ]] && ok "driftmon.verify_chain() finds it too" ||
    bad "driftmon.verify_chain() finds the changed performance row" "$sqlv"

finish

#!/usr/bin/env bash
# verify.sh - benchmark of `driftmon verify` over a long history (issue 18: 1,000 runs x 333
# columns in under 10 s).  Not run by make check: `bash tests/bench/verify.sh` (after make).
#
# The history is written in SQL rather than by 1,000 checks, through the path real runs take
# (monitor/dbrun.c): per run, in one transaction of its own with the results' foreign key deferred, 333
# column_result rows, then the JSON document rendered with the chain head after them, then the
# run row with both documents and their sha256; the chain triggers (sql/002, sql/009) chain
# every row.  Documents: HTML_KB (default 600) and JSON_KB (default 130) of text per run,
# hex noise that TOAST cannot compress away; the files run-N.html / run-N.json are written to
# the reports directory from the stored documents.  Then verify runs ROUNDS times (default 3)
# with --anchor (one anchor per run), and the median wall time is printed.
#
# The binary timed is $DM_DRIFTMON (default $DM_BUILD/driftmon).  With $DM_DRIFTMON_B set
# too (tests/bench/ab.sh -w verify sets both), each round runs A and B on the same history,
# B first every second round, and the medians, the ratio B/A of the medians and the per-round
# ratios B/A are printed.  KEEP_PG=1 leaves the cluster and the history in place (their paths
# are printed) for timing by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
DM_B=${DM_DRIFTMON_B:-}
RUNS=${RUNS:-1000}
COLS=${COLS:-333}
HTML_KB=${HTML_KB:-600}
JSON_KB=${JSON_KB:-130}
ROUNDS=${ROUNDS:-3}

dir=$(mktemp -d /tmp/dm-bverify.XXXXXX)
W=$(mktemp -d /tmp/dm-bverifyw.XXXXXX)
chmod 0777 "$W"
cleanup() {
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1 || true
    rm -rf "$W"
}
if [ -n "${KEEP_PG:-}" ]; then
    echo "cluster: $dir (bash tests/pg/cluster.sh env $dir), history and config: $W/c.json"
else
    trap cleanup EXIT
fi
trap 'exit 130' INT TERM
pgenv=$(bash tests/pg/cluster.sh start "$dir")
eval "$pgenv"
export PGOPTIONS='-c client_min_messages=warning'
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

cat >"$W/c.json" <<EOF
{"reference": {"name": "bench"}, "reports": {"dir": "$W/reports"}}
EOF
"$DM" init --config "$W/c.json" 2>/dev/null
# a reference with a real stored profile: 333 numeric columns of 1,000 rows
python3 - "$COLS" >"$W/ref.csv" <<'EOF'
import random, sys
n = int(sys.argv[1]); r = random.Random(7)
print(",".join(f"c{j}" for j in range(n)))
for _ in range(1000):
    print(",".join(f"{r.gauss(0, 1):.6f}" for _ in range(n)))
EOF
"$DM" reference load "$W/ref.csv" --name bench --config "$W/c.json" >/dev/null

t0=$(date +%s.%N)
q <<SQL
DO \$\$
DECLARE
    ref driftmon.reference := (SELECT r FROM driftmon.reference r WHERE name = 'bench');
    noise_html text := (SELECT string_agg(md5(k::text), '') FROM generate_series(1, $HTML_KB * 32) k);
    noise_json text := (SELECT string_agg(md5((-k)::text), '') FROM generate_series(1, $JSON_KB * 32) k);
    rid bigint;
    head text;
    html text;
    json text;
BEGIN
    FOR i IN 1..$RUNS LOOP
        SET CONSTRAINTS driftmon.column_result_run_id_fkey DEFERRED;
        rid := nextval(pg_get_serial_sequence('driftmon.run', 'id'));
        INSERT INTO driftmon.column_result (run_id, column_name, column_type, stattest,
            stattest_threshold, drift_score, drift_detected, ref_rows, ref_missing, cur_rows,
            cur_missing, details)
        SELECT rid, 'c' || j, 'num', 'wasserstein', 0.1, s, s >= 0.1, 1000, 0, 50000, j % 7,
               jsonb_build_object('ref_missing', 0, 'ref_nonfinite', 0, 'cur_missing', j % 7,
                                  'cur_nonfinite', 0)
        FROM (SELECT j, random() * 0.2 AS s FROM generate_series(0, $COLS - 1) j) x;
        head := encode((SELECT hash FROM driftmon.chain_head), 'hex');
        json := format(E'{\n\t"run_id":\t%s,\n\t"chain_head":\t"%s",\n\t"pad":\t"%s"\n}\n', rid, head, noise_json);
        html := format('<!doctype html><title>run %s</title><p>%s</p>', rid, noise_html);
        INSERT INTO driftmon.run (id, batch, window_start, window_end, reference_id, started_at,
            number_of_columns, number_of_drifted_columns, share_of_drifted_columns, drift_share,
            dataset_drift, retrain_fraction, retrain_flagged, report_html, report_html_sha256,
            report_json, report_json_sha256, config_sha256, reference_sha256, driftmon_version,
            report, report_html_doc, report_json_doc)
        OVERRIDING SYSTEM VALUE
        SELECT rid, NULL, timestamptz '2026-01-01' + i * interval '1 hour',
               timestamptz '2026-01-01' + (i + 1) * interval '1 hour', ref.id, clock_timestamp(),
               $COLS, n, n::float8 / $COLS, 0.5, n::float8 / $COLS >= 0.5, 0.5,
               n::float8 / $COLS > 0.5, 'reports/run-' || rid || '.html',
               encode(sha256(convert_to(html, 'UTF8')), 'hex'), 'reports/run-' || rid || '.json',
               encode(sha256(convert_to(json, 'UTF8')), 'hex'), NULL, ref.sha256, 'bench',
               json::jsonb, html, json
        FROM (SELECT count(*) FILTER (WHERE drift_detected) AS n FROM driftmon.column_result
              WHERE run_id = rid) d;
        COMMIT; -- one transaction per run, as real runs
    END LOOP;
END
\$\$;
SQL
t1=$(date +%s.%N)
echo "wrote $RUNS runs x $COLS columns in $(echo "$t1 - $t0" | bc) s"
mkdir -p "$W/reports"
q -0 -z -c "SELECT id, report_html_doc, report_json_doc FROM driftmon.run ORDER BY id" |
    python3 -c '
import sys, os
d = sys.argv[1]
parts = sys.stdin.buffer.read().split(b"\0")
for i in range(0, len(parts) - 2, 3):
    rid = parts[i].decode()
    open(os.path.join(d, f"run-{rid}.html"), "wb").write(parts[i + 1])
    open(os.path.join(d, f"run-{rid}.json"), "wb").write(parts[i + 2])
' "$W/reports"
# one anchor per run: the JSON reports' heads
python3 - "$W/reports" >"$W/anchors.jsonl" <<'EOF'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "run-*.json"))):
    d = json.load(open(f))
    print(json.dumps({"run_id": d["run_id"], "chain_head": d["chain_head"], "at": "x"}))
EOF
echo "links: $(q -c "SELECT seq FROM driftmon.chain_head"), stored documents: $(q -c "SELECT pg_size_pretty(sum(octet_length(report_html_doc) + octet_length(report_json_doc))) FROM driftmon.run")"

declare -A T M
names=(A)
declare -A BIN=([A]=$DM)
if [ -n "$DM_B" ]; then
    names=(A B)
    BIN[B]=$DM_B
fi
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratios=()
for r in $(seq 1 "$ROUNDS"); do
    order=("${names[@]}")
    [ $((r % 2)) = 0 ] && [ ${#names[@]} = 2 ] && order=(B A)
    line="  round $r:"
    declare -A this=()
    for k in "${order[@]}"; do
        s=$(date +%s.%N)
        out=$(/usr/bin/time -f "%M" -o "$W/mem" "${BIN[$k]}" verify --config "$W/c.json" --anchor "$W/anchors.jsonl" 2>&1) ||
            { echo "verify ($k) failed: $out" >&2; exit 1; }
        e=$(date +%s.%N)
        this[$k]=$(echo "$e - $s" | bc)
        T[$k]+=" ${this[$k]}"
        M[$k]+=" $(cat "$W/mem")"
        line+=" $k ${this[$k]} s"
    done
    if [ -n "$DM_B" ]; then
        ratios+=("$(echo "scale=3; ${this[B]} / ${this[A]}" | bc)")
        line+=", B/A ${ratios[-1]}"
    fi
    echo "$line: $(tail -n 1 <<<"$out")"
done
# shellcheck disable=SC2086 # the lists are space-separated numbers
for k in "${names[@]}"; do
    echo "verify over $RUNS runs x $COLS columns ($k = ${BIN[$k]}): median $(median ${T[$k]}) s, peak memory $(($(median ${M[$k]}) / 1024)) MB (target < 10 s)"
done
if [ -n "$DM_B" ]; then
    # shellcheck disable=SC2086
    echo "ratio B/A verify: time $(echo "scale=3; $(median ${T[B]}) / $(median ${T[A]})" | bc), per round ${ratios[*]} (median $(median "${ratios[@]}")), peak memory $(echo "scale=3; $(median ${M[B]}) / $(median ${M[A]})" | bc)"
fi

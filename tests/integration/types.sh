#!/usr/bin/env bash
# types.sh - table column types (issue 16, item 8), on a real PostgreSQL started for the test:
#   - domains are their base type at any depth: int4, a domain over int4 and a domain over a
#     domain over int4 holding the same values give the same result, and so do numeric and a
#     domain over a domain over numeric, text and a domain over a domain over text; each is
#     the closed form computed here from the values, and the same, bit for bit, as
#     `driftmon compare` of the tables' CSV exports.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
PY=/usr/bin/python3
results_name=types
. tests/lib/results.sh

dir=$(mktemp -d /tmp/dm-types.XXXXXX)
W=$(mktemp -d /tmp/dm-typesw.XXXXXX)
chmod 0777 "$W"
cleanup() {
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! pgenv=$(bash tests/pg/cluster.sh start "$dir") || ! eval "$pgenv"; then
    bad "could not start PostgreSQL: the type rules of tables are not tested"
    finish
fi
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

config() { # config FILE TABLE REFERENCE_NAME
    cat >"$1" <<EOF
{
  "drift": {"num_stattest": "wasserstein", "cat_stattest": "jensenshannon"},
  "source": {"table": "$2", "batch_column": "batch_id"},
  "reference": {"name": "$3"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"}
}
EOF
}

# ---- domains at any depth ------------------------------------------------------------------
# 10 reference rows, 6 current rows; the int columns a, b, c hold the same values, so do the
# numeric columns x, n and the text columns s, t.
psql_q >/dev/null <<'EOF' || bad "domain tables created"
CREATE DOMAIN d_int AS int4;
CREATE DOMAIN dd_int AS d_int CHECK (VALUE >= 0);
CREATE DOMAIN d_num AS numeric(10, 2);
CREATE DOMAIN dd_num AS d_num;
CREATE DOMAIN d_text AS text;
CREATE DOMAIN dd_text AS d_text;
CREATE TABLE dom_ref (a int4, b d_int, c dd_int, x numeric(10, 2), n dd_num, s text, t dd_text);
CREATE TABLE dom_cur (LIKE dom_ref, batch_id text);
INSERT INTO dom_ref
SELECT v, v, v, v * 1.25, v * 1.25, w, w
FROM unnest(ARRAY[1, 2, 2, 3, 5, 8, 8, 8, 13, 21],
            ARRAY['p', 'q', 'p', 'r', 'p', 'q', 'p', 'r', 'p', 's']) AS u(v, w);
INSERT INTO dom_cur
SELECT v, v, v, v * 1.25, v * 1.25, w, w, 'b1'
FROM unnest(ARRAY[2, 3, 3, 5, 30, 40], ARRAY['q', 'q', 'p', 's', 't', 'q']) AS u(v, w);
EOF
config "$W/dom.json" dom_cur dom
"$DM" init --config "$W/dom.json" >/dev/null 2>"$W/err" || bad "init" "$(cat "$W/err")"
if "$DM" reference load --table dom_ref --config "$W/dom.json" >"$W/dom_load.out" 2>"$W/err" &&
    "$DM" check b1 --config "$W/dom.json" >"$W/dom_check.out" 2>>"$W/err"; then
    cp "$(sed -n 's/^json report: //p' "$W/dom_check.out")" "$W/dom_table.json"
    ok "reference load --table dom_ref, check b1 of dom_cur"
else
    bad "reference load --table dom_ref, check b1 of dom_cur" "$(cat "$W/err")"
fi
grep -q "x 7 columns from" "$W/dom_load.out" &&
    ok "reference load: the 7 columns profiled, none left out" ||
    bad "reference load: the 7 columns profiled, none left out" "$(cat "$W/dom_load.out")"
psql_q -c "\\copy (SELECT a, b, c, x, n, s, t FROM dom_ref) TO '$W/dom_ref.csv' WITH (FORMAT csv, HEADER true)" &&
    psql_q -c "\\copy (SELECT a, b, c, x, n, s, t FROM dom_cur) TO '$W/dom_cur.csv' WITH (FORMAT csv, HEADER true)" ||
    bad "CSV export of the domain tables"
"$DM" compare "$W/dom_ref.csv" "$W/dom_cur.csv" --config "$W/dom.json" --json "$W/dom_csv.json" \
    --quiet 2>"$W/err" || bad "compare of the CSV exports" "$(cat "$W/err")"

if $PY - "$W" <<'EOF'; then
import json, math, sys
from fractions import Fraction as F
W = sys.argv[1]

def js(p, q):
    """Jensen-Shannon distance, natural log, of two count vectors over the same categories."""
    sp, sq = sum(p), sum(q)
    d = 0.0
    for a, b in zip(p, q):
        a, b = a / sp, b / sq
        m = (a + b) / 2
        d += (a * math.log(a / m) if a else 0.0) + (b * math.log(b / m) if b else 0.0)
    return math.sqrt(d / 2)

def w1_normed(x, y):
    """Exact W1 of two samples (integral of |F - G|), over the population std of x."""
    pts = sorted(set(x) | set(y))
    cdf = lambda s, t: F(sum(1 for v in s if v <= t), len(s))
    w = sum(abs(cdf(x, a) - cdf(y, a)) * (b - a) for a, b in zip(pts, pts[1:]))
    mean = sum(x, F(0)) / len(x)
    var = sum((v - mean) ** 2 for v in x) / len(x)
    return float(w) / max(math.sqrt(var), 0.001)

ref = [1, 2, 2, 3, 5, 8, 8, 8, 13, 21]
cur = [2, 3, 3, 5, 30, 40]
quarter = lambda l: [F(v) * F(5, 4) for v in l]
# categories p, q, r, s, t
expect = {"int": w1_normed([F(v) for v in ref], [F(v) for v in cur]),
          "num": w1_normed(quarter(ref), quarter(cur)),
          "text": js([5, 2, 2, 1, 0], [1, 3, 0, 1, 1])}
groups = {"int": ["a", "b", "c"], "num": ["x", "n"], "text": ["s", "t"]}

fails = []
def check(cond, what):
    if not cond:
        fails.append(what)

try:
    tab = json.load(open(f"{W}/dom_table.json"))
    csv = json.load(open(f"{W}/dom_csv.json"))
except (OSError, ValueError) as e:
    print(f"     no report: {e}")
    sys.exit(1)
cols = tab["drift_by_columns"]
check(tab["skipped_columns"] == {}, f"table: skipped {tab['skipped_columns']}")
for g, names in groups.items():
    for c in names:
        got = cols.get(c, {}).get("drift_score")
        check(got is not None and abs(got - expect[g]) <= 1e-12 * expect[g],
              f"table {c}: {got}, expected {expect[g]}")
        plain = dict(cols.get(names[0], {}), column_name=c)
        check(cols.get(c) == plain, f"table {c} differs from {names[0]}: {cols.get(c)} vs {plain}")
# bit for bit: the JSON numbers are written in the shortest form that reads back exactly
check(cols == csv["drift_by_columns"], "table and CSV export differ: " + "; ".join(
    f"{k}: {cols.get(k)} vs {csv['drift_by_columns'].get(k)}"
    for k in sorted(set(cols) | set(csv["drift_by_columns"]))
    if cols.get(k) != csv["drift_by_columns"].get(k)))
check(csv["skipped_columns"] == {}, f"csv: skipped {csv['skipped_columns']}")
if fails:
    print("     " + "\n     ".join(fails))
    sys.exit(1)
print(f"     {len(cols)} columns tested: int {expect['int']:.6f}, numeric {expect['num']:.6f}, "
      f"text {expect['text']:.6f}")
EOF
    ok "domains at depth 1 and 2 compared as their base type, bit-identical to the CSV export"
else
    bad "domains at depth 1 and 2 compared as their base type, bit-identical to the CSV export"
fi

finish

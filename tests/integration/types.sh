#!/usr/bin/env bash
# types.sh - table column types (issue 16, item 8), on a real PostgreSQL started for the test:
#   - domains are their base type at any depth: int4, a domain over int4 and a domain over a
#     domain over int4 holding the same values give the same result, and so do numeric and a
#     domain over a domain over numeric, text and a domain over a domain over text; each is
#     the closed form computed here from the values, and the same, bit for bit, as
#     `driftmon compare` of the tables' CSV exports;
#   - the columns of a type that is not compared (jsonb, timestamp, timestamptz, bytea, int4[],
#     interval, uuid, a domain over a domain over jsonb) are left out, never silently:
#     `reference load --table` counts and lists them with the reason, the stored reference
#     keeps them (driftmon.reference_left_out, covered by its sha256: a changed reason is
#     refused), and `check` lists them in skipped_columns with that reason, whether the
#     reference comes from the database or from the local cache; a reference from a CSV
#     (nothing left out) against the same table lists the current table's columns the same way.
# The reasons expected are PostgreSQL's own names of the types (format_type).
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
PY=/usr/bin/python3
results_name=types
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup types

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
q >/dev/null <<'EOF' || bad "domain tables created"
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
q -c "\\copy (SELECT a, b, c, x, n, s, t FROM dom_ref) TO '$W/dom_ref.csv' WITH (FORMAT csv, HEADER true)" &&
    q -c "\\copy (SELECT a, b, c, x, n, s, t FROM dom_cur) TO '$W/dom_cur.csv' WITH (FORMAT csv, HEADER true)" ||
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

# ---- columns of a type that is not compared ------------------------------------------------
q >/dev/null <<'EOF' || bad "typed tables created"
CREATE DOMAIN d_doc AS jsonb;
CREATE DOMAIN dd_doc AS d_doc;
CREATE TABLE typ_ref (v int4, j jsonb, ts timestamp, tz timestamptz, raw bytea, arr int4[],
                      iv interval, id uuid, doc dd_doc);
CREATE TABLE typ_cur (LIKE typ_ref, batch_id text);
INSERT INTO typ_ref
SELECT g, jsonb_build_object('g', g), '2026-01-01'::timestamp + g * interval '1 hour',
       '2026-01-01 00:00+00'::timestamptz + g * interval '1 day', decode(lpad(g::text, 2, '0'), 'hex'),
       ARRAY[g, g + 1], g * interval '1 minute', md5(g::text)::uuid, jsonb_build_array(g)
FROM generate_series(1, 20) g;
INSERT INTO typ_cur SELECT *, 'b1' FROM typ_ref WHERE v <= 12;
EOF
# the reasons: PostgreSQL's names of the types (format_type), the domain's with its base
cat >"$W/left_out.expected" <<'EOF'
j	type jsonb is not compared
ts	type timestamp without time zone is not compared
tz	type timestamp with time zone is not compared
raw	type bytea is not compared
arr	type integer[] is not compared
iv	type interval is not compared
id	type uuid is not compared
doc	type dd_doc (a domain over jsonb) is not compared
EOF
config "$W/typ.json" typ_cur typ
if "$DM" reference load --table typ_ref --config "$W/typ.json" >"$W/typ_load.out" 2>"$W/err"; then
    ok "reference load --table typ_ref"
else
    bad "reference load --table typ_ref" "$(cat "$W/err")"
fi
# the load's output: the count of columns says how many were left out, and each is listed
grep -q '^reference "typ" version 1: 20 rows x 1 columns (8 more left out, listed below) from table typ_ref' "$W/typ_load.out" &&
    ok "reference load: the column count says 8 more were left out" ||
    bad "reference load: the column count says 8 more were left out" "$(cat "$W/typ_load.out")"
sed -n 's/^left out "\([^"]*\)": /\1\t/p' "$W/typ_load.out" >"$W/typ_load.listed"
cmp -s "$W/typ_load.listed" "$W/left_out.expected" &&
    ok "reference load: each column left out listed with its reason" ||
    bad "reference load: each column left out listed with its reason" "$(diff "$W/left_out.expected" "$W/typ_load.listed")"
# the stored reference
q -F "	" -c "SELECT l.name, l.reason FROM driftmon.reference_left_out l JOIN driftmon.reference r ON r.id = l.reference_id WHERE r.name = 'typ' ORDER BY l.ordinal" >"$W/typ_stored" 2>"$W/err"
cmp -s "$W/typ_stored" "$W/left_out.expected" &&
    ok "stored reference: driftmon.reference_left_out lists them in order" ||
    bad "stored reference: driftmon.reference_left_out lists them in order" "$(cat "$W/err"; diff "$W/left_out.expected" "$W/typ_stored")"

# check b1: from the database (no cache yet), then from the cache the first check wrote
skipped_as_expected() { # skipped_as_expected REPORT_JSON LABEL
    $PY - "$1" "$W/left_out.expected" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
want = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]))
fails = []
if r["skipped_columns"] != want:
    fails.append(f"skipped_columns {r['skipped_columns']}")
if list(r["drift_by_columns"]) != ["v"]:
    fails.append(f"tested {list(r['drift_by_columns'])}")
if r["number_of_columns"] != 1:
    fails.append(f"number_of_columns {r['number_of_columns']}")
if fails:
    print("     " + "\n     ".join(fails))
    sys.exit(1)
EOF
}
rm -rf "$W/cache"
for from in database cache; do
    if "$DM" check b1 --config "$W/typ.json" >"$W/typ_check.out" 2>"$W/err"; then
        js=$(sed -n 's/^json report: //p' "$W/typ_check.out")
        skipped_as_expected "$js" &&
            ok "check (reference from the $from): each column left out skipped with its reason" ||
            bad "check (reference from the $from): each column left out skipped with its reason"
    else
        bad "check b1 of typ_cur (reference from the $from)" "$(cat "$W/err")"
    fi
    [ "$from" = cache ] || ls "$W"/cache/*.dmp >/dev/null 2>&1 || bad "no cached reference written"
done

# the cached copy is a saved profile that carries the list: `compare` with it as the
# reference lists the columns it left out (absent from the CSV) with the stored reason
q -c "\\copy (SELECT v FROM typ_ref) TO '$W/typ_ref.csv' WITH (FORMAT csv, HEADER true)" || bad "CSV export of typ_ref"
cached=$(ls "$W"/cache/*.dmp 2>/dev/null | head -1)
if [ -n "$cached" ] && "$DM" compare "$cached" "$W/typ_ref.csv" --config "$W/typ.json" \
    --json "$W/typ_prof.json" --quiet 2>"$W/err"; then
    skipped_as_expected "$W/typ_prof.json" &&
        ok "compare with the cached profile: its left-out columns skipped with the reason" ||
        bad "compare with the cached profile: its left-out columns skipped with the reason"
else
    bad "compare with the cached profile" "$(cat "$W/err")"
fi

# the current table's columns are left out by the same rule: a reference from a CSV (nothing
# left out) lists them as well
config "$W/typcsv.json" typ_cur typcsv
if "$DM" reference load "$W/typ_ref.csv" --config "$W/typcsv.json" >/dev/null 2>"$W/err" &&
    "$DM" check b1 --config "$W/typcsv.json" >"$W/typcsv_check.out" 2>>"$W/err"; then
    js=$(sed -n 's/^json report: //p' "$W/typcsv_check.out")
    skipped_as_expected "$js" &&
        ok "check (reference from a CSV): the current table's columns left out, with the reason" ||
        bad "check (reference from a CSV): the current table's columns left out, with the reason"
else
    bad "reference load typ_ref.csv, check b1 of typ_cur" "$(cat "$W/err")"
fi

# the left-out columns are part of the reference's identity: a reason changed behind
# driftmon's back (triggers disabled, as a superuser could) is refused, cache or not
rm -rf "$W/cache"
q >/dev/null 2>"$W/err" <<'EOF' || bad "tampering with the stored reasons" "$(cat "$W/err")"
ALTER TABLE driftmon.reference_left_out DISABLE TRIGGER append_only;
UPDATE driftmon.reference_left_out SET reason = 'type jsonb is compared' WHERE name = 'j';
ALTER TABLE driftmon.reference_left_out ENABLE TRIGGER append_only;
EOF
if "$DM" check b1 --config "$W/typ.json" >/dev/null 2>"$W/err"; then
    bad "a changed left-out reason is refused" "the check passed"
else
    grep -q "do not match its sha256" "$W/err" &&
        ok "a changed left-out reason is refused (the sha256 covers it)" ||
        bad "a changed left-out reason is refused" "$(cat "$W/err")"
fi

finish

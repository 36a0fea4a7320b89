#!/usr/bin/env bash
# paths.sh - the same rows give the same numbers on every path (issue 15): a CSV reference,
# a saved profile of it, and a table (`driftmon reference load` + `driftmon check` on a real
# PostgreSQL started for the test), on columns where the type rules matter:
#   - numbers in the reference, numbers and text in the current data (numeric: skipped,
#     naming the text value and where it is; forced categorical: no category matches);
#   - text in the reference, numbers in the current data (categorical: no category matches);
#   - integer against decimal spellings: 1 against 1.0 in a numeric and in a forced
#     categorical column (the same value), "1" against "1.0" in a text column (two
#     categories);
#   - a column numeric in one file and empty in the other, both ways;
#   - digits in a varchar column (the issue's `code varchar(4)`), numeric and forced
#     categorical.
# The tables are loaded twice: typed as pandas infers the CSV (int8, float8, text), and with
# every column of a text type (text, varchar(4), a domain over varchar).  Expected values
# are closed forms computed here from the counts written next to the data (the
# Jensen-Shannon distance with natural log; W1 exactly, with fractions); the paths must agree
# bit for bit (the JSON reports' drift_by_columns are equal).
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
PY=/usr/bin/python3
results_name=paths
. tests/lib/results.sh

dir=$(mktemp -d /tmp/dm-paths.XXXXXX)
W=$(mktemp -d /tmp/dm-pathsw.XXXXXX)
chmod 0777 "$W"
cleanup() {
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the data: 10 reference rows, 6 current rows -------------------------------------------
$PY - "$W" <<'EOF'
import sys
W = sys.argv[1]
ref = {
    "m_num":     "1.50 2.50 1.50 2.50 1.50 2.50 1.50 2.50 1.50 2.50",
    "m_cat":     "1.50 2.50 1.50 2.50 1.50 2.50 1.50 2.50 1.50 2.50",
    "m_ref":     "1 2 x 1 2 1 2 1 2 1",
    "id_num":    "1 2 3 4 5 6 7 8 9 10",
    "id_cat":    "1 1 2 2 2 3 3 3 3 1",
    "id_text":   "1 1 2 a 1 2 a 1 2 1",
    "num_empty": "0.5 1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5",
    "empty_num": "- - - - - - - - - -",
    "code":      "3 1 4 0 5 9 2 6 8 7",
    "code_cat":  "3 1 4 0 5 9 2 6 8 7",
    "kind":      "a b a b a b a b a c",
}
cur = {
    "m_num":     "1.50 x 2.50 1.50 2.50 1.50",
    "m_cat":     "1.50 x 2.50 1.50 2.50 1.50",
    "m_ref":     "1 2 1 2 1 2",
    "id_num":    "2.0 3.0 4.0 5.0 6.0 7.0",
    "id_cat":    "1.0 2.0 2.0 3.0 3.0 4.0",
    "id_text":   "1.0 1 2 a 1.0 2",
    "num_empty": "- - - - - -",
    "empty_num": "1 2 3 4 5 6",
    "code":      "0 1 2 0 1 2",
    "code_cat":  "0 1 2 0 1 2",
    "kind":      "a a b c a d",
}
for name, cols in (("ref", ref), ("cur", cur)):
    vals = [[("" if v == "-" else v) for v in c.split()] for c in cols.values()]
    with open(f"{W}/{name}.csv", "w") as f:
        f.write(",".join(cols) + "\n")
        for row in zip(*vals):
            f.write(",".join(row) + "\n")
EOF
chmod 0644 "$W"/*.csv

config() { # config FILE TABLE REFERENCE_NAME
    cat >"$1" <<EOF
{
  "columns": {"categorical": ["m_cat", "id_cat", "code_cat"]},
  "drift": {"num_stattest": "wasserstein", "cat_stattest": "jensenshannon"},
  "source": {"table": "$2", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "$3"},
  "reports": {"dir": "$W/reports"}
}
EOF
}
config "$W/c_csv.json" cur_typed none

# ---- compare: CSV reference, saved profile -------------------------------------------------
"$DM" compare "$W/ref.csv" "$W/cur.csv" --config "$W/c_csv.json" --json "$W/csv.json" \
    --html "$W/csv.html" --quiet 2>"$W/err" || bad "compare with the CSV reference" "$(cat "$W/err")"
"$DM" profile "$W/ref.csv" -o "$W/ref.dmp" --config "$W/c_csv.json" >/dev/null 2>>"$W/err" &&
    "$DM" compare "$W/ref.dmp" "$W/cur.csv" --config "$W/c_csv.json" --json "$W/prof.json" \
        --quiet 2>>"$W/err" || bad "compare with the saved profile" "$(cat "$W/err")"

# ---- check: tables ---------------------------------------------------------------------------
if pgenv=$(bash tests/pg/cluster.sh start "$dir") && eval "$pgenv"; then
    psql_q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
    allcols=$(head -1 "$W/ref.csv")
    extra=("batch_id:text:'b1'" "created_at:timestamptz:'2026-01-15 12:00+00'")
    {
        $PY tests/integration/csv2sql.py "$W/ref.csv" ref_typed
        $PY tests/integration/csv2sql.py "$W/cur.csv" cur_typed "${extra[@]}"
        $PY tests/integration/csv2sql.py "$W/ref.csv" ref_text --text "$allcols"
        $PY tests/integration/csv2sql.py "$W/cur.csv" cur_text --text "$allcols" "${extra[@]}"
        echo "CREATE DOMAIN label AS varchar(10);"
        for t in ref_text cur_text; do
            echo "ALTER TABLE $t ALTER COLUMN code TYPE varchar(4), ALTER COLUMN id_text TYPE label;"
        done
    } >"$W/tables.sql"
    loaded=true
    psql_q -f "$W/tables.sql" >/dev/null || loaded=false
    for t in ref_typed ref_text; do
        psql_q -c "\\copy $t ($allcols) FROM '$W/ref.csv' WITH (FORMAT csv, HEADER true)" || loaded=false
    done
    for t in cur_typed cur_text; do
        psql_q -c "\\copy $t ($allcols) FROM '$W/cur.csv' WITH (FORMAT csv, HEADER true)" || loaded=false
    done
    [ "$(psql_q -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'cur_text'::regclass AND attname = 'code'")" = "character varying(4)" ] || loaded=false
    $loaded && ok "tables loaded (typed as pandas reads the CSV, and all text)" || bad "tables loaded"
    config "$W/c_typed.json" cur_typed typed
    config "$W/c_text.json" cur_text text
    config "$W/c_fromcsv.json" cur_text fromcsv
    "$DM" init --config "$W/c_typed.json" >/dev/null 2>"$W/err" || bad "init" "$(cat "$W/err")"
    for v in typed text; do
        if "$DM" reference load --table "ref_$v" --config "$W/c_$v.json" >/dev/null 2>"$W/err" &&
            "$DM" check b1 --config "$W/c_$v.json" >"$W/check_$v.out" 2>>"$W/err"; then
            cp "$(sed -n 's/^json report: //p' "$W/check_$v.out")" "$W/table_$v.json"
            ok "reference load --table ref_$v, check b1 of cur_$v"
        else
            bad "reference load --table ref_$v, check b1 of cur_$v" "$(cat "$W/err")"
        fi
    done
    if "$DM" reference load "$W/ref.csv" --config "$W/c_fromcsv.json" >/dev/null 2>"$W/err" &&
        "$DM" check b1 --config "$W/c_fromcsv.json" >"$W/check_fromcsv.out" 2>>"$W/err"; then
        cp "$(sed -n 's/^json report: //p' "$W/check_fromcsv.out")" "$W/table_fromcsv.json"
        ok "reference load ref.csv, check b1 of cur_text"
    else
        bad "reference load ref.csv, check b1 of cur_text" "$(cat "$W/err")"
    fi
else
    bad "could not start PostgreSQL: the table path is not tested"
fi

# ---- expected values, and the paths against each other --------------------------------------
if $PY - "$W" <<'EOF'; then
import json, math, os, re, sys
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
    w = sum(abs(cdf(x, a) - cdf(y, a)) * (F(b) - F(a)) for a, b in zip(pts, pts[1:]))
    mean = F(sum(map(F, x)), len(x))
    var = sum((F(v) - mean) ** 2 for v in x) / len(x)
    return float(w) / max(math.sqrt(var), 0.001)

expect = {
    # numbers against text, categorical: no category in common
    "m_cat": math.sqrt(math.log(2)),
    "m_ref": math.sqrt(math.log(2)),
    # 1..10 against 2.0..7.0 (the same numbers as 2..7)
    "id_num": w1_normed(range(1, 11), range(2, 8)),
    # by value: categories 1, 2, 3, 4
    "id_cat": js([3, 3, 4, 0], [1, 2, 2, 1]),
    # by spelling: categories "1", "1.0", "2", "a"
    "id_text": js([5, 0, 3, 2], [1, 2, 2, 1]),
    # digits 0..9 once each against 0, 1, 2 twice each
    "code": w1_normed([3, 1, 4, 0, 5, 9, 2, 6, 8, 7], [0, 1, 2, 0, 1, 2]),
    "code_cat": js([1] * 10, [2, 2, 2] + [0] * 7),
    # categories a, b, c, d
    "kind": js([5, 4, 1, 0], [3, 1, 1, 1]),
}
skipped = {
    "num_empty": "no data in current (every value missing)",
    "empty_num": "no data in reference (every value missing)",
}
notes = {"m_cat": "numbers in reference, text in current", "m_ref": "text in reference, numbers in current"}

fails = []
def check(cond, what):
    if not cond:
        fails.append(what)

csv = json.load(open(f"{W}/csv.json"))
cols = csv["drift_by_columns"]
for k, v in expect.items():
    got = cols.get(k, {}).get("drift_score")
    check(got is not None and abs(got - v) <= 1e-12 * v, f"csv {k}: {got}, expected {v}")
for k in ("m_cat", "m_ref"):
    check(notes[k] in cols.get(k, {}).get("note", ""), f"csv {k}: note {cols.get(k, {}).get('note')}")
for k in expect:
    if k not in notes:
        check("note" not in cols.get(k, {}), f"csv {k}: a note where the types agree")
check(set(cols) == set(expect), f"csv tested {sorted(cols)}")
sk = csv["skipped_columns"]
check(sk.get("m_num") == 'numeric in reference, but the current data has text (line 3: "x")',
      f"csv m_num: {sk.get('m_num')}")
for k, v in skipped.items():
    check(sk.get(k) == v, f"csv {k}: {sk.get(k)}")
html = open(f"{W}/csv.html").read()
check(html.count('<div class="note">') == 2 and "numbers in reference, text in current" in html,
      "csv html: the two notes")

others = {"profile": f"{W}/prof.json"}
for v in ("typed", "text", "fromcsv"):
    others[f"table ({v})"] = f"{W}/table_{v}.json"
for name, path in others.items():
    if not os.path.exists(path):
        fails.append(f"{name}: no report")
        continue
    r = json.load(open(path))
    # bit for bit: the JSON numbers are written in the shortest form that reads back exactly
    check(r["drift_by_columns"] == cols, f"{name}: drift_by_columns differ: " + "; ".join(
        f"{k}: {r['drift_by_columns'].get(k)} vs {cols.get(k)}"
        for k in sorted(set(cols) | set(r["drift_by_columns"]))
        if r["drift_by_columns"].get(k) != cols.get(k)))
    for f in ("number_of_columns", "number_of_drifted_columns", "share_of_drifted_columns"):
        check(r[f] == csv[f], f"{name}: {f} {r[f]} vs {csv[f]}")
    check(r["reference"]["profile_sha256"] == csv["reference"]["profile_sha256"],
          f"{name}: another reference profile")
    s = r["skipped_columns"]
    check(set(s) == set(sk), f"{name}: skipped {sorted(s)} vs {sorted(sk)}")
    for k, v in skipped.items():
        check(s.get(k) == v, f"{name} {k}: {s.get(k)}")
    m = s.get("m_num", "")
    if name == "profile":
        check(m == sk.get("m_num"), f"{name} m_num: {m}")
    else:
        check(re.fullmatch(r'numeric in reference, but the current data has text \(row [1-6] in '
                           r'the order read: "x"\)', m) is not None, f"{name} m_num: {m}")
if fails:
    print("     " + "\n     ".join(fails))
    sys.exit(1)
print(f"     {len(cols)} columns tested, {len(sk)} skipped, the same on {1 + len(others)} paths")
EOF
    ok "CSV, profile and table paths: expected values, bit-identical results"
else
    bad "CSV, profile and table paths: expected values, bit-identical results"
fi

finish

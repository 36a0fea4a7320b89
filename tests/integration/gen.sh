#!/usr/bin/env bash
# Integration test of the synthetic data generator build/dm-gen (tests/gen/).
# Run from the repository root by `make integration` (DM_BUILD: absolute build dir, DM_SHARED:
# the read-only shared folder with the real Home Credit samples; the header check is skipped, by
# name, without them).  Ends with "gen: P passed, F failed, S skipped"; non-zero on failure.
#
# Checks on a 20,000-row run: determinism (same seed -> same sha256, another seed -> other bytes),
# the header equals the real samples' headers, marginals within tolerance, the drift knobs move
# what they should and nothing else, the tsv-copy format carries the same values, the bench shape.
#
# Tolerances: n = 20,000 rows; a share p has standard error sqrt(p (1 - p) / n), at most 0.0035
# (p = 0.5): every share tolerance below is >= 4 standard errors.
set -euo pipefail
cd "$(dirname "$0")/../.."
results_name=gen
. tests/lib/results.sh

BUILD=${DM_BUILD:-build}
GEN="$BUILD/dm-gen"
SHARED=${DM_SHARED:-../shared}
SAMPLES="$SHARED/data/homecredit-samples"
PY=/usr/bin/python3
N=20000

fail() {
    bad "$*"
    finish
}

[ -x "$GEN" ] || fail "generator \"$GEN\" not built (run make)"
"$PY" -c 'import pandas' 2>/dev/null || fail "$PY with pandas is needed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dm-gen-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- determinism ---------------------------------------------------------------------------------
"$GEN" --rows $N --seed 42 -o "$TMP/a.csv"
"$GEN" --rows $N --seed 42 >"$TMP/a2.csv"
"$GEN" --rows $N --seed 43 -o "$TMP/b.csv"
ha=$(sha256sum <"$TMP/a.csv" | cut -d' ' -f1)
ha2=$(sha256sum <"$TMP/a2.csv" | cut -d' ' -f1)
hb=$(sha256sum <"$TMP/b.csv" | cut -d' ' -f1)
[ "$ha" = "$ha2" ] || fail "same seed gave different output ($ha vs $ha2)"
[ "$ha" != "$hb" ] || fail "seeds 42 and 43 gave the same output"
[ "$(wc -l <"$TMP/a.csv")" -eq $((N + 1)) ] || fail "expected $N rows plus a header"
ok "determinism (sha256 $ha)"

# a prefix of the rows does not depend on --rows (one stream per row)
"$GEN" --rows 100 --seed 42 | cmp -s - <(head -n 101 "$TMP/a.csv") ||
    fail "--rows 100 is not a prefix of --rows $N"
ok "rows are independent of --rows"

# ---- headers -------------------------------------------------------------------------------------
"$GEN" --rows 1 --seed 1 --no-bureau | head -n 1 >"$TMP/h122"
"$GEN" --rows 1 --seed 1 --no-bureau --no-target | head -n 1 >"$TMP/h121"
if [ -d "$SAMPLES" ]; then
    head -n 1 "$SAMPLES/application_train_head5000.csv" | tr -d '\r' >"$TMP/real_train"
    head -n 1 "$SAMPLES/application_test_head199.csv" | tr -d '\r' >"$TMP/real_test"
    cmp -s "$TMP/h122" "$TMP/real_train" ||
        fail "header differs from application_train's: $(diff <(tr , '\n' <"$TMP/h122") \
<(tr , '\n' <"$TMP/real_train") | head -5 | tr '\n' ' ')"
    cmp -s "$TMP/h121" "$TMP/real_test" || fail "--no-target header differs from application_test's"
    head -n 1 "$TMP/a.csv" | cut -d, -f1-122 | cmp -s - "$TMP/real_train" ||
        fail "the first 122 columns of the default run are not application_train's"
    ok "headers equal the real samples' (122 train, 121 test columns)"
else
    skip "headers against the real samples" "$SAMPLES absent (the Home Credit samples come from ../shared)"
fi

# ---- marginals -----------------------------------------------------------------------------------
"$GEN" --rows $N --seed 42 --revolving-share 0.01 -o "$TMP/rev.csv"
"$GEN" --rows $N --seed 42 --bureau-share 0.87 -o "$TMP/bur.csv"
"$GEN" --rows $N --seed 42 --drift 'AMT_INCOME_TOTAL=1.5,NAME_TYPE_SUITE/Spouse, partner=4' \
    -o "$TMP/drift.csv"
"$GEN" --rows 2000 --seed 42 --format tsv-copy -o "$TMP/a.tsv"
"$GEN" --rows $N --seed 42 --bureau-fill 0 -o "$TMP/fill.csv"

"$PY" - "$TMP" <<'EOF' || fail "homecredit marginals and knobs (above)"
import sys
import numpy as np
import pandas as pd

tmp = sys.argv[1]
errors = []


def check(name, value, lo, hi):
    ok = lo <= value <= hi
    print("%s: %s = %.5f (want %.4f .. %.4f)" % ("ok" if ok else "FAIL", name, value, lo, hi))
    if not ok:
        errors.append(name)


def near(name, value, want, tol):
    check(name, value, want - tol, want + tol)


a = pd.read_csv(tmp + "/a.csv", keep_default_na=False, na_values=[""])
n = len(a)
cols = list(a.columns)
building = cols[cols.index("APARTMENTS_AVG"):cols.index("EMERGENCYSTATE_MODE") + 1]
bureau = [c for c in cols if c.startswith("client_bureau_balance_")]
if len(building) != 47:
    errors.append("building columns: %d, want 47" % len(building))
if not 8 <= len(bureau) <= 12:
    errors.append("bureau columns: %d, want 8..12" % len(bureau))

# README facts (full application_train) and shares measured on the samples
near("TARGET share of ones", a.TARGET.mean(), 0.0807, 0.008)
near("Revolving loans share", (a.NAME_CONTRACT_TYPE == "Revolving loans").mean(), 0.0952, 0.009)
sent = a.DAYS_EMPLOYED == 365243
near("DAYS_EMPLOYED sentinel share", sent.mean(), 0.180, 0.012)
pens = a.NAME_INCOME_TYPE.isin(["Pensioner", "Unemployed"])
check("sentinel rows that are not Pensioner/Unemployed", float((sent != pens).sum()), 0, 0)
check("sentinel rows whose ORGANIZATION_TYPE is not XNA",
      float((sent != (a.ORGANIZATION_TYPE == "XNA")).sum()), 0, 0)
near("EXT_SOURCE_1 missing share", a.EXT_SOURCE_1.isna().mean(), 0.564, 0.015)
check("EXT_SOURCE_2 missing share", a.EXT_SOURCE_2.isna().mean(), 0.0, 0.01)
check("EXT_SOURCE_3 missing share", a.EXT_SOURCE_3.isna().mean(), 0.15, 0.25)
for c in ["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]:
    v = a[c].dropna()
    check(c + " min", v.min(), 1e-9, 1.0)
    check(c + " max", v.max(), 0.0, 1.0 - 1e-9)
    check(c + " distinct share", v.nunique() / len(v), 0.9, 1.0)
allm = a[building].isna().all(axis=1)
near("building columns all missing", allm.mean(), 0.47, 0.015)
check("rows with EMERGENCYSTATE_MODE missing but other building data",
      float((a.EMERGENCYSTATE_MODE.isna() != allm).sum()), 0, 0)
near("CODE_GENDER F", (a.CODE_GENDER == "F").mean(), 0.6583, 0.015)
near("CODE_GENDER M", (a.CODE_GENDER == "M").mean(), 0.3416, 0.015)
check("CODE_GENDER other (XNA)", (~a.CODE_GENDER.isin(["F", "M"])).mean(), 0.0, 0.001)
check("AMT_INCOME_TOTAL not a multiple of 4500", float((a.AMT_INCOME_TOTAL % 4500 != 0).sum()), 0, 0)
check("DAYS_BIRTH outside -25000..-7500",
      float(((a.DAYS_BIRTH < -25000) | (a.DAYS_BIRTH > -7500)).sum()), 0, 0)
check("DAYS_BIRTH not integer", float((a.DAYS_BIRTH % 1 != 0).sum()), 0, 0)
check("ORGANIZATION_TYPE categories", a.ORGANIZATION_TYPE.nunique(), 50, 58)
req = [c for c in cols if c.startswith("AMT_REQ_CREDIT_BUREAU_")]
near("AMT_REQ_CREDIT_BUREAU_* missing share", a[req].isna().all(axis=1).mean(), 0.135, 0.012)
check("AMT_REQ_CREDIT_BUREAU_* missing apart", float((a[req].isna().any(axis=1) !=
                                                       a[req].isna().all(axis=1)).sum()), 0, 0)
flags = [c for c in cols if c.startswith("FLAG_") and a[c].dtype != object]
check("FLAG_* (%d numeric) values other than 0/1" % len(flags),
      float((~a[flags].isin([0, 1])).sum().sum()), 0, 0)
near("FLAG_DOCUMENT_3 share of ones", a.FLAG_DOCUMENT_3.mean(), 0.707, 0.015)
check("FLAG_EMP_PHONE == 1 exactly off the sentinel", float((a.FLAG_EMP_PHONE != (~sent)).sum()), 0, 0)
check("AMT_CREDIT / AMT_GOODS_PRICE correlation",
      np.corrcoef(a.AMT_CREDIT[a.AMT_GOODS_PRICE.notna()],
                  a.AMT_GOODS_PRICE.dropna())[0, 1], 0.9, 1.0)
check("AMT_ANNUITY / AMT_CREDIT correlation", np.corrcoef(a.AMT_ANNUITY, a.AMT_CREDIT)[0, 1],
      0.5, 1.0)
hist = a[bureau].notna().all(axis=1)
near("share with bureau history", hist.mean(), 0.30, 0.015)
check("bureau columns missing apart", float((a[bureau].notna().any(axis=1) != hist).sum()), 0, 0)

# knobs: the targeted marginals move ...
rev = pd.read_csv(tmp + "/rev.csv", keep_default_na=False, na_values=[""])
near("--revolving-share 0.01: Revolving share", (rev.NAME_CONTRACT_TYPE == "Revolving loans").mean(),
     0.01, 0.004)
bur = pd.read_csv(tmp + "/bur.csv", keep_default_na=False, na_values=[""])
near("--bureau-share 0.87: share with history", bur[bureau].notna().all(axis=1).mean(), 0.87, 0.015)
fill = pd.read_csv(tmp + "/fill.csv", keep_default_na=False, na_values=[""])
check("--bureau-fill 0: empty bureau fields", float(fill[bureau].isna().sum().sum()), 0, 0)
check("--bureau-fill 0: rows filled with 0 but with history elsewhere",
      float(((fill[bureau] == 0).all(axis=1) != ~hist).sum()), 0, 0)
dr = pd.read_csv(tmp + "/drift.csv", keep_default_na=False, na_values=[""])
near("--drift AMT_INCOME_TOTAL=1.5: mean ratio", dr.AMT_INCOME_TOTAL.mean() / a.AMT_INCOME_TOTAL.mean(),
     1.5, 0.02)
check("--drift: income still multiples of 4500", float((dr.AMT_INCOME_TOTAL % 4500 != 0).sum()), 0, 0)
# "Spouse, partner": 229 / 5975 of the non-missing sample suites; x4 -> 916 / 6662 = 0.1375
near("--drift NAME_TYPE_SUITE/Spouse, partner=4: share",
     (dr.NAME_TYPE_SUITE == "Spouse, partner").sum() / dr.NAME_TYPE_SUITE.notna().sum(), 0.1375, 0.015)


# ... and nothing else does (one random stream per row and column group)
def same_except(name, other, moved):
    diff = [c for c in cols if c not in moved and not a[c].equals(other[c])]
    check(name + ": unrelated columns changed (%s)" % ",".join(diff[:5]), float(len(diff)), 0, 0)


same_except("--revolving-share", rev, {"NAME_CONTRACT_TYPE", "AMT_CREDIT", "AMT_ANNUITY",
                                       "AMT_GOODS_PRICE"})
same_except("--bureau-share", bur, set(bureau))
same_except("--bureau-fill", fill, set(bureau))
same_except("--drift", dr, {"AMT_INCOME_TOTAL", "NAME_TYPE_SUITE"})

# tsv-copy: same values as the CSV, no header, \N for NULL
t = pd.read_csv(tmp + "/a.tsv", sep="\t", header=None, names=cols, keep_default_na=False,
                na_values=["\\N"])
head = a.head(len(t))
diff = [c for c in cols if not head[c].equals(t[c])]
check("tsv-copy columns differing from csv (%s)" % ",".join(diff[:5]), float(len(diff)), 0, 0)
check("tsv-copy rows", len(t), 2000, 2000)

if errors:
    print("gen.sh: %d check(s) failed: %s" % (len(errors), "; ".join(errors)), file=sys.stderr)
    sys.exit(1)
EOF
ok "homecredit marginals and knobs"

# ---- bench shape ---------------------------------------------------------------------------------
"$GEN" --shape bench --rows $N --seed 7 -o "$TMP/bench.csv"
"$GEN" --shape bench --rows $N --seed 7 --drifted 10 -o "$TMP/bench_d.csv"
"$PY" - "$TMP" <<'EOF' || fail "bench shape (above)"
import sys
import pandas as pd

tmp = sys.argv[1]
a = pd.read_csv(tmp + "/bench.csv", keep_default_na=False, na_values=[""])
d = pd.read_csv(tmp + "/bench_d.csv", keep_default_na=False, na_values=[""])
errors = []
num = [c for c in a.columns if a[c].dtype != object]
cat = [c for c in a.columns if a[c].dtype == object]
if len(a.columns) != 100 or len(num) != 80 or len(cat) != 20:
    errors.append("bench shape: %d columns, %d numeric, %d categorical; want 100 / 80 / 20"
                  % (len(a.columns), len(num), len(cat)))
nd = [a[c].nunique() for c in num]
if sum(k <= 5 for k in nd) < 5:
    errors.append("bench: fewer than 5 few-valued (<= 5 values) numeric columns")
if sum(k > 5000 for k in nd) < 20:
    errors.append("bench: fewer than 20 continuous numeric columns (> 5000 distinct values)")
if sum(a[c].isna().any() for c in a.columns) < 10:
    errors.append("bench: fewer than 10 columns with missing values")
nc = [a[c].nunique() for c in cat]
if min(nc) != 2 or max(nc) != 60:
    errors.append("bench: categories per column %d .. %d, want 2 .. 60" % (min(nc), max(nc)))
moved = {"num_%02d" % j for j in range(10)} | {"cat_00", "cat_01"}
changed = {c for c in a.columns if not a[c].equals(d[c])}
if changed != moved:
    errors.append("--drifted 10 changed %s, want %s" % (sorted(changed), sorted(moved)))
for j in range(10):
    c = "num_%02d" % j
    r = d[c].mean() / a[c].mean()
    if abs(r - 1.5) > 0.01:
        errors.append("--drifted 10: %s mean ratio %.4f, want 1.5" % (c, r))
k00 = (a.cat_00 == "k00").mean(), (d.cat_00 == "k00").mean()
if not k00[1] < k00[0] - 0.2:
    errors.append("--drifted 10: cat_00 k00 share %.3f -> %.3f, want a fall > 0.2" % k00)
if errors:
    print("gen.sh: FAIL: " + "; ".join(errors), file=sys.stderr)
    sys.exit(1)
print("bench shape: 80 numeric (%d few-valued, %d continuous), 20 categorical (2..60), "
      "--drifted 10 moves exactly num_00..num_09, cat_00, cat_01"
      % (sum(k <= 5 for k in nd), sum(k > 5000 for k in nd)))
EOF
ok "bench shape"

# ---- --score: the demo's scoring engine ------------------------------------------------------------
# The model is the one documented in tests/gen/gen.c (above hc_row); its constants are restated
# here as the specification the output is checked against.
"$GEN" --rows $N --seed 42 --score --importance-out "$TMP/imp.csv" -o "$TMP/score.csv"
"$GEN" --rows $N --seed 42 --score --no-target -o "$TMP/score_nt.csv"
"$PY" - "$TMP" <<'EOF' || fail "--score and --importance-out (above)"
import sys
import numpy as np
import pandas as pd

tmp = sys.argv[1]
errors = []


def check(name, ok, detail):
    print("%s: %s (%s)" % ("ok" if ok else "FAIL", name, detail))
    if not ok:
        errors.append(name)


a = pd.read_csv(tmp + "/a.csv", keep_default_na=False, na_values=[""])
s = pd.read_csv(tmp + "/score.csv", keep_default_na=False, na_values=[""])
nt = pd.read_csv(tmp + "/score_nt.csv", keep_default_na=False, na_values=[""])
n = len(s)
check("header: the plain header, then score", list(s.columns) == list(a.columns) + ["score"],
      "%d columns" % len(s.columns))
moved = {"TARGET", "EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"}
same = [c for c in a.columns if c not in moved]
diff = [c for c in same if not a[c].equals(s[c])]
check("every column but TARGET and EXT_SOURCE_1..3 equals the plain run's", not diff, diff[:5])
# the documented model, on the values as written (missing external scores -> fixed means)
x1 = s["EXT_SOURCE_1"].fillna(0.505)
x2 = s["EXT_SOURCE_2"].fillna(0.514)
x3 = s["EXT_SOURCE_3"].fillna(0.51)
age = -s["DAYS_BIRTH"] / 365.25
term = s["AMT_CREDIT"] / s["AMT_ANNUITY"]
z = 1.87 - 2.0 * x1 - 3.0 * x2 - 3.5 * x3 - 0.02 * age + 0.03 * term
p = 1.0 / (1.0 + np.exp(-z))
err = float(np.max(np.abs(p - s["score"])))
check("score = the documented logistic model (6 decimals)", err <= 5.000001e-7,
      "max |diff| %.2g" % err)
# TARGET ~ Bernoulli(score): the default count within 4 standard errors of sum(score)
want = float(s["score"].sum())
sd = float(np.sqrt((s["score"] * (1 - s["score"])).sum()))
got = int(s["TARGET"].sum())
check("TARGET ~ Bernoulli(score)", abs(got - want) <= 4 * sd,
      "%d defaults, expected %.1f +- %.1f" % (got, want, sd))
check("default rate about 8 %", 0.07 <= got / n <= 0.09, "%.4f" % (got / n))
top = s["TARGET"][s["score"] >= s["score"].quantile(0.9)].mean()
bottom = s["TARGET"][s["score"] <= s["score"].quantile(0.1)].mean()
check("the score ranks: the top decile defaults 3 x more than the bottom", top > 3 * bottom,
      "%.3f vs %.3f" % (top, bottom))
check("--no-target: same scores, no TARGET",
      "TARGET" not in nt.columns and nt["score"].equals(s["score"]), "%d columns" % len(nt.columns))
# importances: |b| x sd (ddof 1) of the inputs, term split between AMT_CREDIT and AMT_ANNUITY,
# every other written column (SK_ID_CURR, TARGET, score aside) 0.005, shares summing to 1
imp = pd.read_csv(tmp + "/imp.csv")
cols = [c for c in s.columns if c not in ("SK_ID_CURR", "TARGET", "score")]
check("the importance file lists every other column once",
      list(imp.columns) == ["column", "importance"] and list(imp["column"]) == cols,
      "%d rows" % len(imp))
raw = {"EXT_SOURCE_1": 2.0 * x1.std(), "EXT_SOURCE_2": 3.0 * x2.std(),
       "EXT_SOURCE_3": 3.5 * x3.std(), "DAYS_BIRTH": 0.02 * age.std(),
       "AMT_CREDIT": 0.03 * term.std() / 2, "AMT_ANNUITY": 0.03 * term.std() / 2}
model_share = 1 - 0.005 * (len(cols) - len(raw))
total = sum(raw.values())
want_imp = np.array([model_share * raw[c] / total if c in raw else 0.005 for c in cols])
gap = float(np.max(np.abs(want_imp - imp["importance"].to_numpy()))) if len(imp) == len(cols) else 1.0
check("importances = |b| x sd, each other column 0.005", gap <= 1e-8,
      "max |diff| %.2g, EXT_SOURCE_3 %.4f" % (gap, model_share * raw["EXT_SOURCE_3"] / total))
bureau = imp[imp["column"].str.startswith("client_bureau")]["importance"].sum()
check("the 12 bureau aggregates carry 6 %", abs(bureau - 0.06) < 1e-9, "%.3f" % bureau)
if errors:
    sys.exit(1)
EOF
ok "--score: the documented model, TARGET drawn from it, importances"

# ---- --labels-out: the outcomes the demo's lender learns later ---------------------------------------
# A --drift is the provider rescaling a column: the outcome is drawn from the documented model on
# the values before it (the undrifted run's), with TARGET's own draw; the output is unchanged.
"$GEN" --rows $N --seed 42 --score --labels-out "$TMP/lab.csv" -o "$TMP/score_l.csv" &&
    "$GEN" --rows $N --seed 42 --score --no-target --drift EXT_SOURCE_3=0.65 \
        --labels-out "$TMP/lab_d.csv" -o "$TMP/score_dl.csv" || fail "dm-gen --labels-out (above)"
"$GEN" --rows $N --seed 42 --score --no-target --drift EXT_SOURCE_3=0.65 -o "$TMP/score_d.csv"
cmp -s "$TMP/score.csv" "$TMP/score_l.csv" && cmp -s "$TMP/score_d.csv" "$TMP/score_dl.csv" ||
    fail "--labels-out changed the generated rows"
"$PY" - "$TMP" <<'EOF' || fail "--labels-out (above)"
import sys
import numpy as np
import pandas as pd

tmp = sys.argv[1]
errors = []


def check(name, ok, detail):
    print("%s: %s (%s)" % ("ok" if ok else "FAIL", name, detail))
    if not ok:
        errors.append(name)


def model(f):  # the documented model (tests/gen/gen.c above hc_row), restated
    x1 = f["EXT_SOURCE_1"].fillna(0.505)
    x2 = f["EXT_SOURCE_2"].fillna(0.514)
    x3 = f["EXT_SOURCE_3"].fillna(0.51)
    z = (1.87 - 2.0 * x1 - 3.0 * x2 - 3.5 * x3 + 0.02 * f["DAYS_BIRTH"] / 365.25
         + 0.03 * f["AMT_CREDIT"] / f["AMT_ANNUITY"])
    return 1.0 / (1.0 + np.exp(-z))


s = pd.read_csv(tmp + "/score.csv", keep_default_na=False, na_values=[""])
lab = pd.read_csv(tmp + "/lab.csv")
d = pd.read_csv(tmp + "/score_d.csv", keep_default_na=False, na_values=[""])
lab_d = pd.read_csv(tmp + "/lab_d.csv")
check("header SK_ID_CURR,TARGET, one row per application",
      list(lab.columns) == ["SK_ID_CURR", "TARGET"] and lab["SK_ID_CURR"].equals(s["SK_ID_CURR"])
      and lab_d["SK_ID_CURR"].equals(d["SK_ID_CURR"]), "%d and %d rows" % (len(lab), len(lab_d)))
check("without a --drift the labels are the TARGET column (drawn from the score)",
      lab["TARGET"].equals(s["TARGET"]), "%d differ" % int((lab["TARGET"] != s["TARGET"]).sum()))
check("--drift EXT_SOURCE_3=0.65: the labels are the undrifted run's TARGET",
      lab_d["TARGET"].equals(s["TARGET"]), "%d differ" % int((lab_d["TARGET"] != s["TARGET"]).sum()))
has3 = s["EXT_SOURCE_3"].notna()
moved = d["EXT_SOURCE_3"][has3].to_numpy() / s["EXT_SOURCE_3"][has3].to_numpy()
gap = float(np.abs(model(d) - d["score"]).max())
check("... while EXT_SOURCE_3 is x 0.65 and the score follows the values as written",
      np.abs(moved - 0.65).max() < 1e-6 and gap <= 5.000001e-7,
      "ratio %.6f .. %.6f, score max |diff| %.2g" % (moved.min(), moved.max(), gap))
# the outcomes follow the undrifted probability, not the drifted score: defaults within 4 standard
# errors of sum(p), and sum(score) of the drifted run more than 4 away
p = model(s)
want, sd, got = float(p.sum()), float(np.sqrt((p * (1 - p)).sum())), int(lab_d["TARGET"].sum())
check("labels ~ Bernoulli(p before the drift)", abs(got - want) <= 4 * sd,
      "%d defaults, expected %.1f +- %.1f" % (got, want, sd))
check("... not Bernoulli(the drifted score)", abs(got - float(d["score"].sum())) > 4 * sd,
      "sum of the drifted scores %.1f" % float(d["score"].sum()))
if errors:
    sys.exit(1)
EOF
ok "--labels-out: TARGET drawn from the model on the values before --drift, the rows unchanged"

# ---- errors are reported, not ignored ------------------------------------------------------------
expect_usage_error() {
    local rc=0
    "$GEN" "$@" >/dev/null 2>"$TMP/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "dm-gen $* exited $rc, want 2"
    [ -s "$TMP/err" ] || fail "dm-gen $* printed no message"
}
expect_usage_error --rows -1
expect_usage_error --shape nosuch
expect_usage_error --drift NO_SUCH_COLUMN=2
expect_usage_error --drift CODE_GENDER/Q=2
expect_usage_error --drift AMT_CREDIT=abc
expect_usage_error --revolving-share 1.5
expect_usage_error --drifted 3
expect_usage_error --bogus
expect_usage_error --importance-out "$TMP/x.csv"
expect_usage_error --shape bench --score
expect_usage_error --labels-out "$TMP/x.csv"
expect_usage_error --shape bench --labels-out "$TMP/x.csv"
ok "bad options exit 2 with a message"
finish

#!/usr/bin/env bash
# demo.sh (integration) - the shortened demo: the same seven days on fewer rows, through the
# real daemon and a throwaway PostgreSQL.  Asserts that the retrain hook fired exactly once,
# for the last day's run, that no earlier run flagged retraining, the score's story (below) and
# that the reports exist.
set -u
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/dm-demo.XXXXXX)
chmod 0755 "$D"
trap 'rm -rf "$D"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

if DM_DEMO_DIR="$D" timeout 600 bash tests/demo.sh --short >"$D/demo.out" 2>&1; then
    ok "the short demo ran to the end"
else
    bad "the short demo ran to the end" "$(tail -30 "$D/demo.out")"
fi
sed 's/^/     | /' "$D/demo.out" | tail -25
n=$(grep -c 'retrain requested' "$D/hook.log" 2>/dev/null)
[ "${n:-0}" = 1 ] && ok "the retrain hook fired exactly once" || bad "the retrain hook fired exactly once" "fired ${n:-0} times"
grep -q 'batch=day-7' "$D/hook.log" 2>/dev/null && ok "... for the last day" || bad "... for the last day" "$(cat "$D/hook.log" 2>/dev/null)"
flagged=$(grep -cE '^ +day-[0-9]: .*retraining flagged' "$D/demo.out")
[ "$flagged" = 1 ] && grep -qE '^ +day-7: .*retraining flagged' "$D/demo.out" &&
    ok "only day 7 flagged retraining" || bad "only day 7 flagged retraining" "$(grep -E '^ +day-' "$D/demo.out")"
# the story, from the runs' JSON reports (data/day-N.json, written by the demo) and the hook's
# payload; the score's PSI recomputed here from the generated data by the issue's definition
# (edges numpy.quantile(ref, 0.1 .. 0.9), bin = number of edges < v, a share of 0 -> 0.0001)
# and the bands from its boundaries (< 0.1 stable, < 0.25 watch, else act).  Calibrated on the
# fixed seeds: days 1-5 stable, day 6 watch, day 7 act.
hook_json=$(ls "$D"/hook-run-*.json 2>/dev/null | head -1)
if story=$(/usr/bin/python3 - "$D" "${hook_json:-}" 2>&1 <<'EOF'
import json, sys
import numpy as np
import pandas as pd

d, hook = sys.argv[1], sys.argv[2]
ref = pd.read_csv(d + "/data/reference.csv", usecols=["score"])["score"].to_numpy(dtype=float)
edges = np.quantile(ref[~np.isnan(ref)], [i / 10 for i in range(1, 10)])


def shares(v):
    v = v[~np.isnan(v)]
    s = np.bincount(np.searchsorted(edges, v, side="left"), minlength=10) / len(v)
    return np.where(s == 0, 0.0001, s)


def band(psi):
    return "stable" if psi < 0.1 else ("watch" if psi < 0.25 else "act")


e = shares(ref)
want_bands = ["stable"] * 5 + ["watch", "act"]
errors = []
for day in range(1, 8):
    r = json.load(open("%s/data/day-%d.json" % (d, day)))
    cur = np.array([float(line.rstrip("\n").split("\t")[-1])
                    for line in open("%s/data/day-%d.tsv" % (d, day))])
    a = shares(cur)
    psi = float(np.sum((a - e) * np.log(a / e)))
    pr = r["prediction_drift"]
    reasons = r["retrain"]["reasons"]
    print("day %d: share %.4f, psi %.4f (recomputed %.4f), band %s, reasons %s"
          % (day, r["share_of_drifted_columns"], pr["psi"], psi, pr["band"], reasons))
    if abs(pr["psi"] - psi) > 1e-9:
        errors.append("day %d: reported PSI %.10f, recomputed %.10f" % (day, pr["psi"], psi))
    if pr["band"] != band(psi) or band(psi) != want_bands[day - 1]:
        errors.append("day %d: band %s, by definition %s, calibrated %s"
                      % (day, pr["band"], band(psi), want_bands[day - 1]))
    if reasons != (["score_psi"] if day == 7 else []):
        errors.append("day %d: retrain reasons %s" % (day, reasons))
    # the weighted share, from the stored importances' file by the issue's definition
    imp = dict(line.rstrip("\n").split(",") for line in open(d + "/data/importance.csv")
               if not line.startswith("column,"))
    cols = r["drift_by_columns"].values()
    tot = sum(float(imp.get(c["column_name"], 0)) for c in cols)
    drift = sum(float(imp.get(c["column_name"], 0)) for c in cols if c["drift_detected"])
    w = r.get("importance_weighted_share")
    if w is None or abs(w - drift / tot) > 1e-12 or w > r["retrain"]["weighted_fraction"]:
        errors.append("day %d: weighted share %s, by definition %.6f (limit %s)"
                      % (day, w, drift / tot, r["retrain"]["weighted_fraction"]))
    if day == 7 and not r["share_of_drifted_columns"] <= r["retrain"]["fraction"]:
        errors.append("day 7: plain share %.4f passed retrain.fraction %s"
                      % (r["share_of_drifted_columns"], r["retrain"]["fraction"]))
if not hook:
    errors.append("no hook payload")
else:
    p = json.load(open(hook))
    if p["retrain"]["reasons"] != ["score_psi"] or not p["prediction_drift"]["psi"] >= 0.25:
        errors.append("hook payload: reasons %s, psi %s"
                      % (p["retrain"]["reasons"], p["prediction_drift"]["psi"]))
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF
); then
    ok "the story: score PSI as defined, bands stable x 5 / watch / act, the weighted share as defined and under its limit, day 7's plain share under retrain.fraction, retrain only on day 7 for score_psi (also in the hook's payload)"
else
    bad "the story (score PSI, bands, reasons, the hook's payload)" "$story"
fi
echo "$story" | sed 's/^/     | /'
[ -s "$D/reports/index.html" ] && ok "reports/index.html exists" || bad "reports/index.html exists"
last=$(sed -n 's/^last report: *//p' "$D/demo.out")
[ -n "$last" ] && [ -s "$last" ] && ok "the last report exists ($last)" || bad "the last report exists" "$last"
ls "$D"/reports/history-*.html >/dev/null 2>&1 && ok "a history page exists" || bad "a history page exists"
pgrep -f "$D/config.json" >/dev/null && bad "nothing left running" "$(pgrep -af "$D/config.json")" || ok "nothing left running"
echo "demo: $pass passed, $fail failed"
[ "$fail" = 0 ]

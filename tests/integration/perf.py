#!/usr/bin/python3
"""`driftmon compare`'s `performance` (issue 21) against the project's oracle
(tests/oracle/perf_rules.py: scikit-learn's roc_auc_score and confusion_matrix, numpy, the cost
and the optimal threshold by brute force), to 1e-12, and the label's input errors.

Every expected figure comes from the oracle run at test time on the same files and config;
nothing is pasted from driftmon.  Cases: the generator's scored data (a drifted current); scores
on a 0.05 grid (ties) with the decision threshold on a tie and costs 3/2; a current of one class
(AUC null); a current whose labels are all missing (every figure null, no cost increase); missing
and non-finite scores, NA tokens as labels; costs under which refusing nobody is optimal
(optimal_threshold null, optimal_refuses_nobody true); the retrain reason "cost" on each side of
the configured limit; the label not a drift pair; a saved profile as the reference (no rows: the
reference's figures null, said why); a label 2 and a label "yes" (exit 2 naming file, line,
column and value); the real Home Credit samples' TARGET with a fixed logistic score of the
EXT_SOURCE columns (skipped by name when the samples are absent).

Usage: perf.py DRIFTMON WORKDIR [--shared DIR]
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "oracle", "perf_rules.py")
GEN = None
REL = 1e-12

FIELDS_INT = ["rows", "left_out", "tp", "fp", "tn", "fn"]
FIELDS_NUM = ["auc", "recall", "precision", "business_cost", "optimal_threshold",
              "business_cost_at_optimal", "default_rate"]


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def ok(self, label):
        self.passed += 1
        print(f"ok   {label}")

    def bad(self, label, problems):
        self.failed += 1
        print(f"FAIL {label}")
        for p in problems[:8]:
            print(f"     {p}")

    def skip(self, label, reason):
        self.skipped += 1
        print(f"SKIP {label}: {reason}")

    def check(self, label, problems):
        if problems:
            self.bad(label, problems)
        else:
            self.ok(label)


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= REL * max(abs(a), abs(b))


def diff_side(name, got, want):
    if want is None or got is None:
        return [] if want is None and got is None else [f"{name}: {got!r}, oracle {want!r}"]
    out = []
    for k in FIELDS_INT + ["optimal_refuses_nobody"]:
        if got.get(k) != want[k]:
            out.append(f"{name}.{k}: {got.get(k)!r}, oracle {want[k]!r}")
    for k in FIELDS_NUM:
        if k not in got or not close(got[k], want[k]):
            out.append(f"{name}.{k}: {got.get(k)!r}, oracle {want[k]!r}")
    return out


def run(dm, *args):
    return subprocess.run([dm, *args], capture_output=True, text=True)


def compare(dm, w, ref, cur, cfg, name):
    """driftmon's performance and the oracle's for ref, cur under cfg: (perf, report, problems)."""
    cfg_path = os.path.join(w, f"{name}.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(w, f"{name}.out.json")
    html = os.path.join(w, f"{name}.html")
    r = run(dm, "compare", ref, cur, "--config", cfg_path, "--json", out, "--html", html, "--quiet")
    if r.returncode != 0:
        return None, None, [f"driftmon exit {r.returncode}: {r.stderr.strip()}"]
    o = subprocess.run(["/usr/bin/python3", ORACLE, ref, cur, "--config", cfg_path],
                       capture_output=True, text=True)
    if o.returncode != 0:
        return None, None, [f"oracle exit {o.returncode}: {o.stderr.strip()}"]
    want = json.loads(o.stdout)
    report = json.load(open(out))
    perf = report.get("performance")
    if perf is None:
        return None, report, ["no performance in the JSON report"]
    problems = diff_side("reference", perf["reference"], want["reference"])
    problems += diff_side("current", perf["current"], want["current"])
    if not close(perf["cost_increase"], want["cost_increase"]):
        problems.append(f"cost_increase: {perf['cost_increase']!r}, oracle {want['cost_increase']!r}")
    report["_html"] = open(html, encoding="utf-8").read()
    report["_want"] = want
    return perf, report, problems


def read_str(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def gen(w, name, *args):
    path = os.path.join(w, name)
    subprocess.run([GEN, *args, "--score", "-o", path], check=True)
    return path


def model(thr, fn=10, fp=1, label="TARGET", score="score"):
    return {"score_column": score, "decision_threshold": thr, "label_column": label,
            "cost": {"fn": fn, "fp": fp}}


def main():
    global GEN
    dm, w = sys.argv[1], sys.argv[2]
    shared = sys.argv[sys.argv.index("--shared") + 1] if "--shared" in sys.argv else "../shared"
    GEN = os.path.join(os.path.dirname(dm), "dm-gen")
    ck = Checks()

    ref = gen(w, "ref.csv", "--rows", "3000", "--seed", "21")
    cur = gen(w, "cur.csv", "--rows", "2000", "--seed", "22", "--drift", "EXT_SOURCE_2=0.7")

    # 1. generated, drifted current; the cost condition on both sides of the limit
    perf, rep, p = compare(dm, w, ref, cur, {"model": model(0.3)}, "gen")
    ck.check("generated data: every figure of both sides and the cost increase equal the oracle's", p)
    if perf:
        inc = rep["_want"]["cost_increase"]
        for limit, flagged in ((inc * 0.99, True), (inc * 1.01, False)):
            cfg = {"model": model(0.3), "retrain": {"cost_increase": limit, "fraction": 1.0}}
            _, r2, p2 = compare(dm, w, ref, cur, cfg, "gen_limit")
            if not p2:
                reasons = r2["retrain"]["reasons"]
                if ("cost" in reasons) != flagged or r2["retrain"]["flagged"] != flagged:
                    p2 = [f"limit {limit}: reasons {reasons}, flagged {r2['retrain']['flagged']}"]
            ck.check(f"retrain reason \"cost\" {'held' if flagged else 'not held'} with a limit "
                     f"{'below' if flagged else 'above'} the increase", p2)
        html = rep["_html"]
        ck.check("the HTML report has the performance panel",
                 [] if 'id="performance"' in html and "Business cost per application" in html
                 else ["no performance panel"])
        ck.check("the label is not a drift pair",
                 [] if "TARGET" not in rep["drift_by_columns"] else ["TARGET in drift_by_columns"])

    # 2. ties: scores on a 0.05 grid, the threshold on a tie, costs 3 / 2
    for src, dst in ((ref, "ties_ref.csv"), (cur, "ties_cur.csv")):
        d = read_str(src)
        s = pd.to_numeric(d["score"], errors="coerce")
        d["score"] = [repr(round(round(v / 0.05) * 0.05, 2)) for v in s]
        d.to_csv(os.path.join(w, dst), index=False)
    tref, tcur = os.path.join(w, "ties_ref.csv"), os.path.join(w, "ties_cur.csv")
    grid = pd.to_numeric(read_str(tcur)["score"]).value_counts()
    tie = float(grid[grid > 1].index.max()) if (grid > 1).any() else 0.1
    _, rep, p = compare(dm, w, tref, tcur, {"model": model(tie, 3, 2)}, "ties")
    ck.check(f"ties in scores, threshold {tie} on a tie, costs 3/2: equal to the oracle", p)

    # 3. a current of one class; 4. all labels missing; 5. missing scores, NA tokens
    d = read_str(cur)
    one = d.copy()
    one["TARGET"] = "0"
    one.to_csv(os.path.join(w, "one.csv"), index=False)
    perf, _, p = compare(dm, w, ref, os.path.join(w, "one.csv"), {"model": model(0.3)}, "one")
    if perf and perf["current"]["auc"] is not None:
        p.append(f"auc {perf['current']['auc']} for one class")
    ck.check("a current of one class: AUC null, the rest equal to the oracle", p)
    none = d.copy()
    none["TARGET"] = ""
    none.to_csv(os.path.join(w, "none.csv"), index=False)
    perf, _, p = compare(dm, w, ref, os.path.join(w, "none.csv"), {"model": model(0.3)}, "none")
    if perf and (perf["current"]["rows"] != 0 or perf["cost_increase"] is not None):
        p.append(f"current {perf['current']}, cost_increase {perf['cost_increase']}")
    ck.check("all labels missing: nothing evaluated, figures and cost increase null", p)
    holes = d.copy()
    rng = np.random.default_rng(21)
    tokens = ["", "NA", "nan", "NULL", "N/A"]
    for i in rng.choice(len(holes), 300, replace=False):
        if i % 3 == 0:
            holes.loc[i, "TARGET"] = tokens[i % len(tokens)]
        elif i % 3 == 1:
            holes.loc[i, "score"] = tokens[i % len(tokens)]
        else:
            holes.loc[i, "score"] = "inf" if i % 2 else "-inf"
    holes.to_csv(os.path.join(w, "holes.csv"), index=False)
    perf, _, p = compare(dm, w, ref, os.path.join(w, "holes.csv"), {"model": model(0.3)}, "holes")
    if perf and perf["current"]["left_out"] == 0:
        p.append("nothing left out")
    ck.check("missing labels and scores, NA tokens, +-inf scores: left out and counted as the "
             "oracle counts them", p)

    # 6. refusing nobody is optimal: the five highest scores are good clients, and refusing a
    # good client costs 50 defaults
    nob = d.copy()
    top = pd.to_numeric(nob["score"], errors="coerce").nlargest(5).index
    nob.loc[top, "TARGET"] = "0"
    nob.to_csv(os.path.join(w, "nobody.csv"), index=False)
    perf, _, p = compare(dm, w, ref, os.path.join(w, "nobody.csv"), {"model": model(0.3, 1, 50)},
                         "nobody")
    if perf and not perf["current"]["optimal_refuses_nobody"]:
        p.append("the oracle's optimum is not +inf here: the case tests nothing")
    ck.check("costs 1/50: the optimum refuses nobody (optimal_threshold null), as the oracle", p)

    # 7. a saved profile as the reference: no rows, said why
    prof = os.path.join(w, "ref.dmp")
    cfgp = os.path.join(w, "prof.json")
    json.dump({"model": model(0.3)}, open(cfgp, "w"))
    r = run(dm, "profile", ref, "-o", prof, "--config", cfgp)
    out = os.path.join(w, "prof.out.json")
    r2 = run(dm, "compare", prof, cur, "--config", cfgp, "--json", out, "--quiet")
    p = [] if r.returncode == 0 and r2.returncode == 0 else [r.stderr + r2.stderr]
    if not p:
        pf = json.load(open(out))["performance"]
        o = json.loads(subprocess.run(["/usr/bin/python3", ORACLE, ref, cur, "--config", cfgp],
                                      capture_output=True, text=True, check=True).stdout)
        if pf["reference"] is not None or "profile" not in (pf.get("reference_note") or ""):
            p.append(f"reference {pf['reference']}, note {pf.get('reference_note')!r}")
        p += diff_side("current", pf["current"], o["current"])
        if pf["cost_increase"] is not None:
            p.append("a cost increase without the reference's figures")
    ck.check("a saved profile as the reference: its figures null with the reason, the current's "
             "equal to the oracle", p)

    # 8. labels that are not 0/1: exit 2, naming file, line, column and value
    cfgb = os.path.join(w, "bad.json")
    json.dump({"model": model(0.3)}, open(cfgb, "w"))
    for value, row in (("2", 17), ("yes", 40)):
        bad = d.copy()
        bad.loc[row, "TARGET"] = value
        path = os.path.join(w, f"bad_{value}.csv")
        bad.to_csv(path, index=False)
        r = run(dm, "compare", ref, path, "--config", cfgb, "--quiet")
        line = row + 2  # the header is line 1; no field spans lines
        want = [path, f"line {line}", '"TARGET"', f'"{value}"', "not 0 or 1"]
        miss = [x for x in want if x not in r.stderr]
        ck.check(f"label {value!r} on line {line}: exit 2 naming file, line, column and value",
                 [] if r.returncode == 2 and not miss else
                 [f"exit {r.returncode}: {r.stderr.strip()} (missing {miss})"])

    # 9. the real Home Credit samples' TARGET, with a fixed logistic score of EXT_SOURCE_*
    hc = os.path.join(shared, "data", "homecredit-samples")
    a, b = os.path.join(hc, "application_train_random1000.csv"), os.path.join(hc, "application_train_head5000.csv")
    if not (os.path.exists(a) and os.path.exists(b)):
        ck.skip("the Home Credit samples' TARGET against the oracle", f"{hc} is absent")
    else:
        paths = []
        for src, dst in ((a, "hc_ref.csv"), (b, "hc_cur.csv")):
            t = read_str(src)
            ext = np.column_stack([pd.to_numeric(t[c], errors="coerce")
                                   for c in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")])
            with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
                __import__("warnings").simplefilter("ignore")
                m = np.nanmean(ext, axis=1)
            z = -2.5 - 6.0 * (m - 0.5)
            sc = 1.0 / (1.0 + np.exp(-z))
            t["score"] = ["" if not math.isfinite(v) else repr(float(v)) for v in sc]
            paths.append(os.path.join(w, dst))
            t.to_csv(paths[-1], index=False)
        for thr, fn, fp in ((0.1, 10, 1), (0.08, 4, 1.5)):
            perf, _, p = compare(dm, w, paths[0], paths[1], {"model": model(thr, fn, fp)}, "hc")
            if perf and perf["current"]["rows"] < 4000:
                p.append(f"only {perf['current']['rows']} rows evaluated")
            ck.check(f"the Home Credit samples' TARGET, logistic score of EXT_SOURCE_1..3, "
                     f"threshold {thr}, costs {fn}/{fp}: equal to the oracle", p)

    print(f"perf: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""`driftmon compare` with a model (issue 17) against the project's oracle
(tests/oracle/model_rules.py: numpy's quantile, the issue's formulas), and the model's input
errors.

Every expected figure comes from the oracle run at test time on the same files and config, or
from the issue's definitions in closed form (noted where so); nothing is pasted from driftmon.
Cases: seeded random data with a score column and importance files (CSV and JSON), drift in
high- and low-importance columns, each retrain condition alone and together; a saved profile as
the reference; the score column listed in columns.exclude; ties at the decile edges (scores on
a 0.1 grid); constant reference scores; all current scores NaN (no PSI, said why); all
importances 0 (no weighted share, said why); importances naming unknown columns (a warning
listing them, exit 0); malformed importance files (exit 2 naming file, line and value); a
duplicate column; the score column absent from one side or holding text (exit 2); unknown and
out-of-range config keys (exit 2); the real Home Credit samples from ../shared with EXT_SOURCE_3
as the score (skipped by name when absent).

Usage: model.py DRIFTMON WORKDIR [--shared DIR]
"""
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import model_rules  # noqa: E402

REL = 1e-9
ABS = 1e-12


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= REL * max(abs(a), abs(b)) + ABS


def fmt(v):
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    return str(v)


def write_csv(path, cols):
    names = list(cols)
    n = len(cols[names[0]])
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(fmt(cols[c][i]) for c in names) + "\n")


def make(seed, n, shift_hi, shift_lo, score_shift, score=None):
    """Columns: hi1, hi2 (high importance), lo1..lo6 (bureau-like, low importance), cat, the
    score and TARGET.  shift_hi / shift_lo move the high / low columns, score_shift the score."""
    rng = np.random.default_rng(seed)
    d = {}
    d["hi1"] = list(np.round(rng.normal(shift_hi, 1, n), 4))
    d["hi2"] = list(np.round(rng.normal(0, 1 + 0.5 * shift_hi, n), 4))
    for k in range(1, 7):
        d[f"lo{k}"] = list(np.round(rng.lognormal(shift_lo * 0.8, 1, n), 3))
    d["cat"] = list(rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]))
    if score is None:
        s = 1 / (1 + np.exp(-(rng.normal(-1 + score_shift, 1, n))))
        d["score"] = [float("nan") if rng.random() < 0.03 else float(round(x, 5)) for x in s]
    else:
        d["score"] = score(rng, n)
    d["TARGET"] = [int(x) for x in rng.random(n) < 0.08]
    return d


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class Checker:
    def __init__(self, driftmon, work):
        self.driftmon, self.work = driftmon, work
        self.passed = self.failed = self.skipped = 0

    def ok(self, label):
        self.passed += 1
        print(f"ok   {label}")

    def bad(self, label, problems):
        self.failed += 1
        print(f"FAIL {label}")
        for p in problems[:12]:
            print("     " + p)

    def skip(self, label, reason):
        self.skipped += 1
        print(f"SKIP {label}: {reason}")

    def write_config(self, config):
        path = os.path.join(self.work, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def compare(self, ref, cur, config):
        out = os.path.join(self.work, "out.json")
        if os.path.exists(out):
            os.unlink(out)
        rc, so, se = run([self.driftmon, "compare", ref, cur, "--config", self.write_config(config),
                          "--json", out])
        dm = json.load(open(out)) if rc == 0 else None
        return rc, so, se, dm

    def parity(self, label, ref, cur, config, oracle_ref=None, expect=None):
        """driftmon's JSON against the oracle; expect: extra checks (dm, orc) -> problems."""
        rc, so, se, dm = self.compare(ref, cur, config)
        if rc != 0:
            return self.bad(label, [f"driftmon exit {rc}: {se.strip()}"])
        orc = model_rules.model_verdict(pd.read_csv(oracle_ref or ref), pd.read_csv(cur), config)
        problems = self.check(dm, orc)
        if expect:
            problems += expect(dm, orc, so, se)
        if problems:
            self.bad(label, problems)
        else:
            self.ok(label)

    def check(self, dm, orc):
        p = []
        drift = orc["drift"]
        if dm["number_of_columns"] != drift["number_of_columns"]:
            p.append(f"number_of_columns {dm['number_of_columns']} != oracle {drift['number_of_columns']}")
        if dm["number_of_drifted_columns"] != drift["number_of_drifted_columns"]:
            p.append(f"drifted {dm['number_of_drifted_columns']} != oracle {drift['number_of_drifted_columns']}")
        score_col = (self.config_model(dm) or {}).get("score_column")
        if score_col and score_col in dm["drift_by_columns"]:
            p.append(f"score column {score_col} tested as a feature")
        if not close(dm["importance_weighted_share"], orc["importance_weighted_share"]):
            p.append(f"importance_weighted_share {dm['importance_weighted_share']} != oracle {orc['importance_weighted_share']}")
        if orc["importance_not_tested"] is not None:
            got = sorted(dm["importance_not_tested"])
            if got != orc["importance_not_tested"]:
                p.append(f"importance_not_tested {got} != oracle {orc['importance_not_tested']}")
        pd_dm, pd_or = dm["prediction_drift"], orc["prediction_drift"]
        if pd_or is None:
            if pd_dm is not None and pd_dm.get("psi") is not None:
                p.append(f"psi {pd_dm['psi']} where the oracle has none")
        elif pd_dm is None:
            p.append("prediction_drift null, oracle has one")
        else:
            for k in ("psi", "reference_approval_rate", "current_approval_rate"):
                if not close(pd_dm[k], pd_or[k]):
                    p.append(f"prediction_drift.{k} {pd_dm[k]!r} != oracle {pd_or[k]!r}")
            for k in ("band", "reference_rows", "current_rows", "reference_counts", "current_counts"):
                if pd_dm[k] != pd_or[k]:
                    p.append(f"prediction_drift.{k} {pd_dm[k]!r} != oracle {pd_or[k]!r}")
            # numpy.quantile's linear method, operation by operation: the same bits
            if pd_dm["edges"] != pd_or["edges"]:
                p.append(f"prediction_drift.edges {pd_dm['edges']} != numpy {pd_or['edges']}")
        if dm["retrain"]["reasons"] != orc["retrain_reasons"]:
            p.append(f"retrain.reasons {dm['retrain']['reasons']} != oracle {orc['retrain_reasons']}")
        if dm["retrain"]["flagged"] != orc["retrain_flagged"]:
            p.append(f"retrain.flagged {dm['retrain']['flagged']} != oracle {orc['retrain_flagged']}")
        imp = {}
        if self.last_importance:
            imp = model_rules.read_importance(self.last_importance)
        for name, c in dm["drift_by_columns"].items():
            want = imp.get(name)
            if not close(c["importance"], want):
                p.append(f"{name}: importance {c['importance']} != file {want}")
        return p

    last_importance = None
    last_config = None

    def config_model(self, dm):
        return (self.last_config or {}).get("model")

    def expect_fail(self, label, ref, cur, config, must_contain):
        rc, so, se, _ = self.compare(ref, cur, config)
        missing = [s for s in must_contain if s not in se]
        if rc != 2 or missing:
            self.bad(label, [f"exit {rc} (want 2), stderr: {se.strip()[:300]}",
                             f"stderr lacks {missing}"])
        else:
            self.ok(label)


def main():
    warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
    args = sys.argv[1:]
    shared = args[args.index("--shared") + 1] if "--shared" in args else "../shared"
    driftmon, work = args[0], args[1]
    os.makedirs(work, exist_ok=True)
    ck = Checker(driftmon, work)
    W = lambda name: os.path.join(work, name)  # noqa: E731

    imp_csv = W("importance.csv")
    with open(imp_csv, "w") as f:
        f.write("column,importance\nhi1,420.5\nhi2,300\n")
        for k in range(1, 7):
            f.write(f"lo{k},{k * 2.25}\n")
        f.write('"cat",7\nTARGET,0\n')
    imp_json = W("importance.json")
    with open(imp_json, "w") as f:
        json.dump({"hi1": 12, "hi2": 0.5, "lo1": 3, "lo2": 3, "cat": 1.25, "score": 9}, f, indent=1)

    base = {"columns": {"exclude": ["TARGET"]},
            "model": {"importance": imp_csv, "score_column": "score", "decision_threshold": 0.35},
            "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25}}

    def case(label, ref, cur, config, importance, **kw):
        ck.last_importance, ck.last_config = importance, config
        ck.parity(label, ref, cur, config, **kw)

    ref = W("ref.csv")
    write_csv(ref, make(1, 4000, 0, 0, 0))
    scenarios = [
        ("bureau columns drift, score stable", make(2, 2500, 0, 1.5, 0)),
        ("high-importance column drifts, score moves", make(3, 2500, 1.0, 0, 0.6)),
        ("both drift, score moves far", make(4, 2500, 1.5, 1.5, 1.5)),
        ("nothing drifts", make(5, 2500, 0, 0, 0)),
    ]
    for k, (label, cur) in enumerate(scenarios):
        cp = W(f"cur{k}.csv")
        write_csv(cp, cur)
        case(f"{label}: all conditions", ref, cp, base, imp_csv)
        only_w = json.loads(json.dumps(base))
        only_w["retrain"] = {"fraction": 1.0, "weighted_fraction": 0.2}
        case(f"{label}: weighted_fraction only", ref, cp, only_w, imp_csv)
        only_p = json.loads(json.dumps(base))
        only_p["retrain"] = {"score_psi": 0.1}
        only_p["model"].pop("importance")
        case(f"{label}: score_psi only, no importances", ref, cp, only_p, None)
        js = json.loads(json.dumps(base))
        js["model"]["importance"] = imp_json
        case(f"{label}: JSON importances (score named in them)", ref, cp, js, imp_json)

    cur_bureau = W("cur0.csv")
    # a saved profile as the reference: the same figures
    prof = W("ref.dmp")
    rc, so, se = run([driftmon, "profile", ref, "-o", prof])
    if rc != 0:
        ck.bad("profile reference", [se])
    else:
        case("saved profile as the reference", prof, cur_bureau, base, imp_csv, oracle_ref=ref)

    # the score column listed in columns.exclude: still monitored, never a feature
    ex = json.loads(json.dumps(base))
    ex["columns"]["exclude"].append("score")
    case("score column also excluded", ref, cur_bureau, ex, imp_csv,
         expect=lambda dm, o, so, se: [] if dm["prediction_drift"]["psi"] is not None else ["no psi"])

    # the plain share would flag (7 of 9 bureau-like columns), the weighted rule does not
    def not_flagged_by_weight(dm, orc, so, se):
        p = []
        if "share" not in dm["retrain"]["reasons"] or "weighted_share" in dm["retrain"]["reasons"]:
            p.append(f"reasons {dm['retrain']['reasons']}: want share without weighted_share")
        if "model:" not in so or "retraining reasons: share" not in so:
            p.append(f"summary lacks the model line: {so!r}")
        return p
    case("study's story: many low-importance columns drift", ref, cur_bureau, base, imp_csv,
         expect=not_flagged_by_weight)

    # ties at the decile edges: scores on a 0.1 grid, so every edge is a score value
    grid = lambda rng, n: [float(x) for x in np.round(rng.choice(np.arange(0, 1.01, 0.1), n), 1)]  # noqa: E731
    rt, ct = W("ref_ties.csv"), W("cur_ties.csv")
    write_csv(rt, make(11, 997, 0, 0, 0, score=grid))
    write_csv(ct, make(12, 1203, 0, 0, 0, score=grid))
    case("ties at the decile edges", rt, ct, base, imp_csv)

    # constant reference scores: every edge is that value; PSI closed form.  ref all 0.2 ->
    # bin 0 (no edge < 0.2), e = (1, 0.0001 x 9); cur half 0.2 half 0.9 -> a0 = a9 = 0.5:
    # PSI = (0.5 - 1) ln 0.5 + (0.5 - 0.0001) ln(0.5 / 0.0001)
    rc_, cc_ = W("ref_const.csv"), W("cur_const.csv")
    write_csv(rc_, make(13, 1500, 0, 0, 0, score=lambda rng, n: [0.2] * n))
    write_csv(cc_, make(14, 1000, 0, 0, 0, score=lambda rng, n: [0.2] * (n // 2) + [0.9] * (n - n // 2)))
    want = (0.5 - 1) * math.log(0.5) + (0.5 - 0.0001) * math.log(0.5 / 0.0001)
    case("constant reference scores", rc_, cc_, base, imp_csv,
         expect=lambda dm, o, so, se: [] if close(dm["prediction_drift"]["psi"], want) and
         dm["prediction_drift"]["band"] == "act" else [f"psi {dm['prediction_drift']} != closed form {want}"])

    # all current scores NaN: no PSI, said why; the score_psi condition cannot hold
    cn = W("cur_nan.csv")
    write_csv(cn, make(15, 800, 0, 0, 0, score=lambda rng, n: [float("nan")] * n))
    def no_psi(dm, orc, so, se):
        pdr = dm["prediction_drift"]
        p = []
        if pdr["psi"] is not None or pdr["band"] is not None or "no score in current" not in (pdr["note"] or ""):
            p.append(f"prediction_drift {pdr}")
        if pdr["current_missing"] != 800:
            p.append(f"current_missing {pdr['current_missing']} != 800")
        return p
    case("all current scores NaN", ref, cn, base, imp_csv, expect=no_psi)

    # all importances 0: the weighted share is null and the report says why
    zero = W("zero.csv")
    with open(zero, "w") as f:
        f.write("column,importance\nhi1,0\nhi2,0.0\nlo1,0e5\n")
    zc = json.loads(json.dumps(base))
    zc["model"]["importance"] = zero
    case("all importances zero", ref, cur_bureau, zc, zero,
         expect=lambda dm, o, so, se: [] if dm["importance_weighted_share"] is None and
         "sum to 0" in (dm["importance_weighted_share_note"] or "") else
         [f"share {dm['importance_weighted_share']} note {dm['importance_weighted_share_note']}"])

    # unknown columns: a warning listing them, not an error
    unk = W("unknown.csv")
    with open(unk, "w") as f:
        f.write("column,importance\nhi1,5\nNOT_A_COLUMN,2\nALSO_NOT,1\n")
    uc = json.loads(json.dumps(base))
    uc["model"]["importance"] = unk
    case("importances naming unknown columns", ref, cur_bureau, uc, unk,
         expect=lambda dm, o, so, se: [] if "importance file names columns of neither dataset" in se and
         "NOT_A_COLUMN,ALSO_NOT" in se and
         dm["importance_not_tested"]["NOT_A_COLUMN"]["reason"] == "in neither dataset"
         else [f"stderr {se!r}"])

    # malformed importance files: exit 2 naming the file, the line and the value
    bad = [("negative importance", "column,importance\nhi1,3\nhi2,-1.5\n", ["bad.csv", "line 3", "-1.5"]),
           ("text importance", "column,importance\nhi1,lots\n", ["bad.csv", "line 2", "lots"]),
           ("wrong header", "feature,gain\nhi1,3\n", ["bad.csv", "line 1", "feature,gain"]),
           ("three fields", "column,importance\nhi1,3,4\n", ["bad.csv", "line 2", "hi1,3,4"]),
           ("duplicate column", "column,importance\nhi1,3\nhi2,1\nhi1,4\n", ["bad.csv", "line 4", "hi1", "line 2"]),
           ("value cut to its first characters", "column,importance\nhi1," + "9" * 100 + "x\n",
            ["bad.csv", "line 2", "9" * 50 + "..."]),
           ("JSON string value", '{\n "hi1": 3,\n "hi2": "big"\n}\n', ["bad.csv", "line 3", "big"]),
           ("JSON negative value", '{"hi1": 3,\n\n"lo1": -2}', ["bad.csv", "line 3", "-2"]),
           ("invalid JSON", '{"hi1": 3,\n "hi2" 4}', ["bad.csv", "line 2", "invalid JSON"])]
    for label, text, needles in bad:
        bp = W("bad.csv")
        with open(bp, "w") as f:
            f.write(text)
        bc = json.loads(json.dumps(base))
        bc["model"]["importance"] = bp
        ck.expect_fail(f"malformed importance file: {label}", ref, cur_bureau, bc, needles)
    mc = json.loads(json.dumps(base))
    mc["model"]["importance"] = W("no-such-file.csv")
    ck.expect_fail("importance file absent", ref, cur_bureau, mc, ["no-such-file.csv"])

    # the score column absent from one side, or holding text: exit 2
    d = make(16, 500, 0, 0, 0)
    d.pop("score")
    nos = W("cur_noscore.csv")
    write_csv(nos, d)
    ck.expect_fail("score column absent from current", ref, nos, base, ['score column "score"', "absent from", "cur_noscore.csv"])
    ck.expect_fail("score column absent from reference", nos, cur_bureau, base, ['score column "score"', "cur_noscore.csv"])
    txt = W("cur_textscore.csv")
    write_csv(txt, make(17, 50, 0, 0, 0, score=lambda rng, n: ["0.5"] * 4 + ["high"] + ["0.1"] * (n - 5)))
    ck.expect_fail("score column holding text", ref, txt, base, ["cur_textscore.csv", "line 6", "high"])

    # config keys: unknown and out of range
    for label, cfg, needles in [
        ("unknown model key", {"model": {"score_colum": "score"}}, ['"model.score_colum"']),
        ("weighted_fraction above 1", {"retrain": {"weighted_fraction": 1.5}}, ['"retrain.weighted_fraction"', "1.5"]),
        ("negative score_psi", {"retrain": {"score_psi": -0.1}}, ['"retrain.score_psi"', "-0.1"]),
        ("threshold as text", {"model": {"decision_threshold": "0.5"}}, ['"model.decision_threshold"', '"0.5"'])]:
        ck.expect_fail(f"config: {label}", ref, cur_bureau, cfg, needles)

    # the real Home Credit samples: EXT_SOURCE_3 (20 % missing) as the score
    dd = os.path.join(shared, "data", "homecredit-samples")
    tr, te = os.path.join(dd, "application_train_head5000.csv"), os.path.join(dd, "application_test_random1000.csv")
    missing = [p for p in (tr, te) if not os.path.isfile(p)]
    if missing:
        ck.skip("real: train_head5000 vs test_random1000 with EXT_SOURCE_3 as the score",
                f"{missing[0]} is absent (the Home Credit samples come from ../shared)")
    else:
        cols = [c for c in pd.read_csv(te, nrows=1).columns if c not in ("SK_ID_CURR", "EXT_SOURCE_3")]
        rimp = W("real_importance.csv")
        with open(rimp, "w") as f:  # a deterministic spread: the k-th column weighs 1 / (k + 1)
            f.write("column,importance\n")
            for k, c in enumerate(cols):
                f.write(f"{c},{1 / (k + 1)!r}\n")
        rc = {"columns": {"exclude": ["SK_ID_CURR", "TARGET"]},
              "model": {"importance": rimp, "score_column": "EXT_SOURCE_3", "decision_threshold": 0.5},
              "retrain": {"fraction": 0.5, "weighted_fraction": 0.1, "score_psi": 0.01}}
        case("real: train_head5000 vs test_random1000 with EXT_SOURCE_3 as the score", tr, te, rc, rimp)

    print(f"model: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()

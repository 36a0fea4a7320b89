#!/usr/bin/python3
"""Parity of `driftmon compare` with tests/oracle/evidently_rules.py (Evidently 0.7.21's rules).

Every expected value here comes from the project's oracle, run at test time on the same CSV files
with the same configuration file as driftmon; nothing is pasted from driftmon's output.  The
oracle itself is held to Evidently's published numbers by tests/integration/oracle_fixtures.sh.

Cases: seeded random datasets that reach every branch of Evidently's rules (small reference
<= 1000 rows -> ks / chisquare / z; large -> wasserstein / jensenshannon; numeric with <= 5
values; numeric with <= 20 reference values (JS on categories) and > 20 (Sturges bins);
constant columns (std floor 0.001); missing values; unseen categories; negative zero; ties),
each run with the default selection and with every one of the nine tests forced globally,
plus per-type and per-column overrides and thresholds; and the real Home Credit samples
(application_train_head5000 vs application_test_random1000) from ../shared: when they are absent,
each of those cases is reported as skipped, by name.

Where Evidently aborts the whole report (a column empty or absent on one side, numbers-only
tests on text), the oracle gives that column an "error" and computes the share over the tested
columns, as driftmon does (DESIGN.md section 1): every oracle "error" column must be in driftmon's
skipped_columns, and the share is always compared.

Usage: oracle_parity.py DRIFTMON WORKDIR [--shared DIR] [--quick]
Prints one line per case ("ok", "FAIL" or "SKIP label: reason") and a closing
"oracle_parity: N passed, N failed, N skipped" line; exit 1 on any failure.
"""
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
import evidently_rules as oracle  # noqa: E402

REL = 1e-9
ABS = 1e-12
TESTS = ["wasserstein", "jensenshannon", "ks", "chisquare", "z", "psi", "kl_div", "hellinger", "ed"]
NUMERIC_ONLY = {"wasserstein", "ks", "ed"}


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


def make_case(seed, nref, ncur, drift):
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}

    def both(name, fr, fc):
        ref[name] = fr(nref)
        cur[name] = fc(ncur)

    s = drift
    both("cont", lambda n: list(np.round(rng.normal(100, 15, n), 3)),
         lambda n: list(np.round(rng.normal(100 + 10 * s, 15 * (1 + s), n), 3)))
    both("cont_wide", lambda n: list(rng.lognormal(10, 1, n)),
         lambda n: list(rng.lognormal(10 + s, 1, n)))
    both("int_many", lambda n: [int(x) for x in rng.integers(0, 60, n)],
         lambda n: [int(x) for x in rng.integers(int(5 * s), 60, n)])
    both("int_few20", lambda n: [int(x) for x in rng.integers(0, 15, n)],
         lambda n: [int(x) for x in rng.integers(0, 15 + int(4 * s), n)])
    both("few5", lambda n: [float(x) for x in rng.choice([0.5, 1.5, 2.5, 3.5], n)],
         lambda n: [float(x) for x in rng.choice([0.5, 1.5, 2.5, 3.5], n, p=[0.25 + 0.1 * s, 0.25, 0.25, 0.25 - 0.1 * s])])
    both("binary", lambda n: [int(x) for x in rng.random(n) < 0.3],
         lambda n: [int(x) for x in rng.random(n) < 0.3 + 0.2 * s])
    both("const", lambda n: [7.25] * n, lambda n: [7.25] * (n - 1) + [7.25 + s])
    both("ties", lambda n: [float(x) for x in rng.integers(0, 4000, n) / 8.0],
         lambda n: [float(x) for x in rng.integers(0, 4000, n) / 8.0 + s])
    both("negzero", lambda n: [(-0.0 if x < 0.3 else (0.0 if x < 0.6 else float(round(x * 50, 1)))) for x in rng.random(n)],
         lambda n: [(0.0 if x < 0.5 else float(round(x * 50, 1))) for x in rng.random(n)])

    def with_nan(vals, share):
        out = [float("nan") if rng.random() < share else v for v in vals]
        out[0] = float("nan")  # at least one NaN: Evidently's legacy path only cleans then
        return out

    both("missing", lambda n: with_nan(list(np.round(rng.normal(0, 1, n), 4)), 0.4),
         lambda n: with_nan(list(np.round(rng.normal(0.2 * s, 1, n), 4)), 0.2))
    both("with_inf", lambda n: with_nan([float("inf") if rng.random() < 0.02 else float(x) for x in np.round(rng.normal(5, 2, n), 2)], 0.05),
         lambda n: with_nan([float("-inf") if rng.random() < 0.02 else float(x) for x in np.round(rng.normal(5 + s, 2, n), 2)], 0.05))
    cats = ["Cash loans", "Revolving loans", "Consumer", "Mortgage", "Car", "Micro", "Other"]
    both("cat_many", lambda n: list(rng.choice(cats[:6], n, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05])),
         lambda n: list(rng.choice(cats, n, p=[0.45 - 0.1 * s, 0.2, 0.1, 0.1 + 0.1 * s, 0.05, 0.05, 0.05])))
    both("cat_bin", lambda n: list(rng.choice(["N", "Y"], n, p=[0.7, 0.3])),
         lambda n: list(rng.choice(["N", "Y"], n, p=[0.7 - 0.2 * s, 0.3 + 0.2 * s])))
    both("cat_missing", lambda n: [("" if rng.random() < 0.3 else str(rng.choice(["a", "b", "c"]))) for _ in range(n)],
         lambda n: [("" if rng.random() < 0.1 else str(rng.choice(["a", "b", "c", "d"]))) for _ in range(n)])
    both("cat_one", lambda n: ["same"] * n, lambda n: ["same"] * n)
    # empty strings are missing in both readers: write NaN for the categorical blanks
    for side in (ref, cur):
        side["cat_missing"] = [float("nan") if v == "" else v for v in side["cat_missing"]]
    return ref, cur


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= REL * max(abs(a), abs(b)) + ABS


class Checker:
    def __init__(self, driftmon, work):
        self.driftmon, self.work = driftmon, work
        self.passed = self.failed = self.skipped = 0
        self.columns_compared = 0

    def skip(self, label, reason):
        self.skipped += 1
        print(f"SKIP {label}: {reason}")

    def case(self, label, ref_csv, cur_csv, config):
        cfg_path = os.path.join(self.work, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f)
        out = os.path.join(self.work, "out.json")
        if os.path.exists(out):
            os.unlink(out)
        rc, so, se = run([self.driftmon, "compare", ref_csv, cur_csv, "--config", cfg_path, "--json", out, "--quiet"])
        problems = []
        if rc != 0:
            problems.append(f"driftmon exit {rc}: {se.strip()}")
        if not problems:
            dm = json.load(open(out))
            orc = oracle.dataset_drift(pd.read_csv(ref_csv), pd.read_csv(cur_csv), oracle.Options(config))
            problems += self.compare(dm, orc)
        if problems:
            self.failed += 1
            print(f"FAIL {label}")
            for p in problems[:12]:
                print("     " + p)
        else:
            self.passed += 1
            print(f"ok   {label}")

    def compare(self, dm, orc):
        problems = []
        cols = dm["drift_by_columns"]
        skipped = dm.get("skipped_columns", {})
        for name, o in orc["columns"].items():
            if "error" in o:
                if name not in skipped:
                    problems.append(f"{name}: oracle error ({o['error'][:60]}) but driftmon tested it")
                continue
            if name not in cols:
                problems.append(f"{name}: tested by the oracle, driftmon: {skipped.get(name, 'absent')}")
                continue
            d = cols[name]
            self.columns_compared += 1
            for key in ("column_type", "stattest", "stattest_name", "drift_detected"):
                if d[key] != o[key]:
                    problems.append(f"{name}: {key} {d[key]!r} != oracle {o[key]!r}")
            if not close(d["stattest_threshold"], o["stattest_threshold"]):
                problems.append(f"{name}: threshold {d['stattest_threshold']} != {o['stattest_threshold']}")
            if not close(d["drift_score"], o["drift_score"]):
                problems.append(f"{name}: drift_score {d['drift_score']!r} != oracle {o['drift_score']!r} ({o['stattest']})")
        for name in cols:
            if name not in orc["columns"]:
                problems.append(f"{name}: tested by driftmon, unknown to the oracle")
        if orc["share_of_drifted_columns"] is not None:
            if dm["number_of_columns"] != orc["number_of_columns"]:
                problems.append(f"number_of_columns {dm['number_of_columns']} != {orc['number_of_columns']}")
            if dm["number_of_drifted_columns"] != orc["number_of_drifted_columns"]:
                problems.append(f"drifted {dm['number_of_drifted_columns']} != {orc['number_of_drifted_columns']}")
            if not close(dm["share_of_drifted_columns"], orc["share_of_drifted_columns"]):
                problems.append("share_of_drifted_columns differs")
            if dm["dataset_drift"] != orc["dataset_drift"]:
                problems.append("dataset_drift differs")
        return problems


def main():
    warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
    args = sys.argv[1:]
    quick = "--quick" in args
    shared = None
    if "--shared" in args:
        shared = args[args.index("--shared") + 1]
    driftmon, work = args[0], args[1]
    os.makedirs(work, exist_ok=True)
    ck = Checker(driftmon, work)

    sizes = [(60, 45, 0), (500, 700, 1), (1000, 300, 1), (1001, 400, 0), (4000, 2500, 1)]
    if not quick:
        sizes += [(12000, 9000, 1), (200, 200, 1)]
    for k, (nr, nc, drift) in enumerate(sizes):
        ref, cur = make_case(1000 + k, nr, nc, drift)
        rp, cp = os.path.join(work, f"ref{k}.csv"), os.path.join(work, f"cur{k}.csv")
        write_csv(rp, ref)
        write_csv(cp, cur)
        tag = f"ref={nr} cur={nc} drift={drift}"
        ck.case(f"{tag} default selection", rp, cp, {})
        for t in TESTS:
            # Evidently aborts the whole report when a numbers-only test meets a text column:
            # force those through num_stattest (same precedence path)
            key = "num_stattest" if t in NUMERIC_ONLY else "stattest"
            ck.case(f"{tag} {key}={t}", rp, cp, {"drift": {key: t}})
        # per type, per column, thresholds: precedence per column > per type > global
        cfg = {"drift": {"stattest": "psi", "num_stattest": "hellinger", "cat_stattest": "chisquare",
                         "per_column_stattest": {"cont": "kl_div", "cat_bin": "z"},
                         "stattest_threshold": 0.2, "num_stattest_threshold": 0.15,
                         "per_column_stattest_threshold": {"cont": 0.05, "few5": 0.01},
                         "drift_share": 0.3}}
        ck.case(f"{tag} overrides", rp, cp, cfg)
        cfg = {"columns": {"categorical": ["int_few20", "binary"], "numeric": ["few5"]}}
        ck.case(f"{tag} forced types", rp, cp, cfg)

    # the real Home Credit samples: (label, reference, current, config)
    d = os.path.join(shared or "../shared", "data", "homecredit-samples")
    tr, te = "application_train_head5000.csv", "application_test_random1000.csv"
    real = [("real: train_head5000 vs test_random1000 default", tr, te, {})]
    for t in ([] if quick else TESTS):
        key = "num_stattest" if t in NUMERIC_ONLY else "stattest"
        real.append((f"real: {key}={t}", tr, te, {"drift": {key: t}}))
    real.append(("real: train_random1000 vs test_head199 (p-value tests)", "application_train_random1000.csv",
                 "application_test_head199.csv", {}))
    for label, r, c, cfg in real:
        r, c = os.path.join(d, r), os.path.join(d, c)
        missing = [p for p in (r, c) if not os.path.isfile(p)]
        if missing:
            ck.skip(label, f"{missing[0]} is absent (the Home Credit samples come from ../shared)")
        else:
            ck.case(label, r, c, cfg)

    print(f"oracle parity: {ck.columns_compared} column results compared")
    print(f"oracle_parity: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()

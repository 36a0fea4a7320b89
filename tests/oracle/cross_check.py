#!/usr/bin/python3
"""One-off check of tests/oracle/evidently_rules.py against ../shared/oracle/oracle.py.

Not a project test (make check never runs it; the project's tests need nothing from ../shared
but the Home Credit samples).  Run it by hand after changing the oracle:

    /usr/bin/python3 tests/oracle/cross_check.py [SHARED_ORACLE] [--datasets N]

Both oracles read the same generated CSV files with pandas and are run in this process on every
dataset with a list of configurations (the default selection, each of the nine tests forced,
per-type and per-column overrides and thresholds, forced types, numpy's integer bin-width rule on
and off).  Every column must get the same type, test, threshold and verdict, the same error or
none, and scores within REL; the dataset counts and share must agree where the shared oracle has
a share.  Prints the largest relative score difference per test and exits 1 on any disagreement.
"""
import argparse
import importlib.util
import io
import math
import os
import sys
import tempfile
from collections import defaultdict

import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evidently_rules as mine  # noqa: E402

REL = 1e-12
TESTS = list(mine.TESTS)
NUMBERS_ONLY = {"wasserstein", "ks", "ed"}


def load_shared(path):
    spec = importlib.util.spec_from_file_location("shared_oracle", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- data ----------------------------------------------------------------------------------


def gen(rng, nref, ncur, drift):
    """Two frames of columns that reach every branch of the rules."""
    ref, cur = {}, {}
    s = drift

    def both(name, f):
        ref[name] = f(nref, 0.0)
        cur[name] = f(ncur, s)

    def nan_some(v, share):
        v = np.asarray(v, dtype=object if v.dtype == object else float).copy()
        mask = rng.random(v.size) < share
        mask[0] = True
        v[mask] = np.nan
        return v

    both("normal", lambda n, d: np.round(rng.normal(100 + 10 * d, 15 * (1 + d), n), int(rng.integers(0, 6))))
    both("lognormal", lambda n, d: rng.lognormal(10 + d, 1, n))
    both("tiny", lambda n, d: rng.normal(0, 1e-9, n) + d * 1e-9)
    both("huge", lambda n, d: rng.normal(1e15, 1e13 * (1 + d), n))
    both("int_many", lambda n, d: rng.integers(int(7 * d), 80, n))
    both("int_narrow", lambda n, d: rng.integers(0, 25 + int(3 * d), n))  # int rule matters
    both("int_wide", lambda n, d: rng.integers(-10**6, 10**6, n))
    both("int_few20", lambda n, d: rng.integers(0, 15 + int(4 * d), n))
    both("few5", lambda n, d: rng.choice([0.5, 1.5, 2.5, 3.5, 4.5], n, p=[0.2 + 0.1 * d, 0.2, 0.2, 0.2, 0.2 - 0.1 * d]))
    both("three", lambda n, d: rng.choice([1, 2, 3], n, p=[0.5 - 0.2 * d, 0.3, 0.2 + 0.2 * d]))
    both("binary", lambda n, d: (rng.random(n) < 0.3 + 0.2 * d).astype(int))
    both("const", lambda n, d: np.full(n, 7.25) + (np.arange(n) == n - 1) * d)
    both("ties", lambda n, d: rng.integers(0, 4000, n) / 8.0 + d)
    both("negzero", lambda n, d: np.where(rng.random(n) < 0.3, -0.0, np.where(rng.random(n) < 0.5, 0.0,
                                                                           np.round(rng.random(n) * 50, 1))))
    both("missing", lambda n, d: nan_some(np.round(rng.normal(0.2 * d, 1, n), 4), 0.4 - 0.2 * d))
    both("with_inf", lambda n, d: nan_some(np.where(rng.random(n) < 0.02, np.inf if d == 0 else -np.inf,
                                                    np.round(rng.normal(5 + d, 2, n), 2)), 0.05))
    cats = np.array(["Cash loans", "Revolving loans", "Consumer", "Mortgage", "Car", "Micro", "Other"])
    both("cat_many", lambda n, d: rng.choice(cats[:6 + int(d)], n))
    both("cat_bin", lambda n, d: rng.choice(["N", "Y"], n, p=[0.7 - 0.2 * d, 0.3 + 0.2 * d]))
    both("cat_missing", lambda n, d: nan_some(rng.choice(np.array(["a", "b", "c", "d"], dtype=object)[:3 + int(d)], n), 0.3))
    both("cat_one", lambda n, d: np.array(["same"] * n, dtype=object))
    both("cat_many_values", lambda n, d: np.array([f"k{x}" for x in rng.integers(0, 40 + int(10 * d), n)], dtype=object))
    both("bool_text", lambda n, d: rng.choice(["True", "False"], n, p=[0.6, 0.4]))
    # spellings: integers on one side, decimals on the other; numbers vs text
    ref["spell"] = rng.integers(0, 4, nref)
    cur["spell"] = rng.integers(0, 4, ncur) + 0.0 + (rng.random(ncur) < 0.1 * s) * 0.5
    ref["mixed"] = rng.choice([1.5, 2.5, 3.5], nref)
    cur["mixed"] = rng.choice(np.array(["1.5", "x", "2.5", "3.5"], dtype=object), ncur)
    ref["empty_cur"] = rng.normal(0, 1, nref)
    cur["empty_cur"] = np.full(ncur, np.nan)
    ref["only_ref"] = rng.normal(0, 1, nref)
    cur["only_cur"] = rng.normal(0, 1, ncur)
    return pd.DataFrame(ref), pd.DataFrame(cur)


def csv_round_trip(df):
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    buf.seek(0)
    return buf.getvalue()


# ---- configurations: (label, driftmon config, shared-oracle arguments) -----------------------


def configs(ref):
    out = [("default", {}, [])]
    for t in TESTS:
        key, flag = ("num_stattest", "--num-stattest") if t in NUMBERS_ONLY else ("stattest", "--stattest")
        out.append((f"{key}={t}", {"drift": {key: t}}, [flag, t]))
    drift = {"stattest": "psi", "num_stattest": "hellinger", "cat_stattest": "chisquare",
             "per_column_stattest": {"normal": "kl_div", "cat_bin": "z", "few5": "ks", "lognormal": "ed"},
             "stattest_threshold": 0.2, "num_stattest_threshold": 0.15, "cat_stattest_threshold": 0.3,
             "per_column_stattest_threshold": {"normal": 0.05, "few5": 0.01}, "drift_share": 0.3}
    out.append(("overrides", {"drift": drift},
                ["--stattest", "psi", "--num-stattest", "hellinger", "--cat-stattest", "chisquare",
                 "--per-column-stattest", "normal=kl_div,cat_bin=z,few5=ks,lognormal=ed",
                 "--threshold", "0.2", "--num-threshold", "0.15", "--cat-threshold", "0.3",
                 "--per-column-threshold", "normal=0.05,few5=0.01", "--drift-share", "0.3"]))
    # forced types: driftmon's lists only force; the shared oracle's (ColumnMapping) also select
    forced_cat = [c for c in ("int_few20", "binary", "mixed", "spell", "int_narrow") if c in ref.columns]
    forced_num = ["few5"]
    text = [c for c in ref.columns if mine.column_type(c, ref[c], mine.Options()) == mine.CAT and c not in forced_cat]
    nums = [c for c in ref.columns if c not in text and c not in forced_cat]
    out.append(("forced types", {"columns": {"categorical": forced_cat, "numeric": forced_num}},
                ["--cat", ",".join(forced_cat + text), "--num", ",".join(nums)]))
    for t in ("jensenshannon", "psi", "kl_div", "hellinger"):
        out.append((f"int_width_rule {t}", {"drift": {"stattest": t, "int_width_rule": True}},
                    ["--stattest", t, "--int-width-rule", "on"]))
    return out


# ---- comparison ----------------------------------------------------------------------------


def rel(a, b):
    if a == b:
        return 0.0
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def compare(theirs, ours, worst, counts):
    problems = []
    for name, t in theirs["columns"].items():
        o = ours["columns"].get(name)
        if o is None:
            problems.append(f"{name}: missing from ours")
            continue
        if "error" in t or "error" in o:
            if ("error" in t) != ("error" in o):
                problems.append(f"{name}: error theirs={t.get('error')!r} ours={o.get('error')!r}")
            else:
                counts["errors agreed"] += 1
            continue
        for k in ("column_type", "stattest", "stattest_name", "drift_detected", "stattest_threshold"):
            if t[k] != o[k]:
                problems.append(f"{name}: {k} theirs={t[k]!r} ours={o[k]!r}")
        if t["stattest"] == "hellinger" and None not in (t["drift_score"], o["drift_score"]):
            # score = sqrt(1 - coefficient): near 0 the square root magnifies the coefficient's
            # rounding (summation order), so the coefficients are compared
            r = abs(t["drift_score"] ** 2 - o["drift_score"] ** 2)
        else:
            r = rel(t["drift_score"], o["drift_score"])
        if not r <= REL:
            problems.append(f"{name}: score theirs={t['drift_score']!r} ours={o['drift_score']!r} rel={r:.3g}")
        if r > worst[t["stattest"]]:
            worst[t["stattest"]] = r
            counts["worst " + t["stattest"]] = name
        counts[t["stattest"]] += 1
    extra = set(ours["columns"]) - set(theirs["columns"])
    if extra:
        problems.append(f"columns only ours: {sorted(extra)}")
    if theirs.get("share_of_drifted_columns") is not None:
        for k in ("number_of_columns", "number_of_drifted_columns", "dataset_drift"):
            if theirs[k] != ours[k]:
                problems.append(f"{k} theirs={theirs[k]} ours={ours[k]}")
        if rel(theirs["share_of_drifted_columns"], ours["share_of_drifted_columns"]) > REL:
            problems.append("share differs")
        counts["dataset shares agreed"] += 1
    return problems


def check_edges(rng):
    """The int-width replica, where the rule changes nothing, equals numpy bit for bit."""
    bad = checked = 0
    for _ in range(2000):
        n = int(rng.integers(1, 5000))
        lo = int(rng.integers(-10**6, 10**6))
        a = rng.integers(lo, lo + int(rng.integers(0, 10**5)) + 1, n)
        want = np.histogram_bin_edges(a, bins="sturges")
        width = (a.max() - a.min()) / (np.log2(a.size) + 1.0)
        if width >= 1 or width == 0:
            got = mine.sturges_edges(a, True)
            bad += not np.array_equal(want, got)
            checked += 1
    return bad, checked


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shared", nargs="?", default=os.path.join(HERE, "../../../shared/oracle/oracle.py"))
    p.add_argument("--datasets", type=int, default=40)
    a = p.parse_args()
    warnings.simplefilter("ignore")  # ks_2samp's fallback notice, divisions by zero shares
    shared = load_shared(a.shared)
    rng = np.random.default_rng(20260502)
    sizes = [(60, 45), (200, 200), (999, 300), (1000, 1000), (1001, 400), (3000, 2500), (12000, 9000), (25, 3000)]
    worst, counts = defaultdict(float), defaultdict(int)
    failures = runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.datasets):
            nref, ncur = sizes[k % len(sizes)]
            drift = [0.0, 0.3, 1.0][k % 3]
            ref_df, cur_df = gen(rng, nref, ncur, drift)
            rp, cp = os.path.join(tmp, "ref.csv"), os.path.join(tmp, "cur.csv")
            with open(rp, "w") as f:
                f.write(csv_round_trip(ref_df))
            with open(cp, "w") as f:
                f.write(csv_round_trip(cur_df))
            ref, cur = pd.read_csv(rp), pd.read_csv(cp)
            # the shared oracle gives no share when Evidently cannot test a column: the
            # second pass leaves those columns out
            untestable = {"mixed", "empty_cur", "only_ref"}
            testable = ref[[c for c in ref.columns if c not in untestable]]
            runs_here = [(lb, c, ar, ref) for lb, c, ar in configs(ref)]
            runs_here += [(f"{lb}, testable columns only", c, ar, testable) for lb, c, ar in configs(testable)
                          if lb in ("default", "overrides", "forced types")]
            for label, cfg, args, frame in runs_here:
                # the shared oracle sorts the values of a z-test and raises on numbers mixed
                # with text; ours reports that column: compare the rest
                if "z" in label and "mixed" in frame.columns:
                    frame = frame.drop(columns="mixed")
                theirs = shared.run(frame, cur, shared.parse_args([rp, cp] + args))
                ours = mine.dataset_drift(frame, cur, mine.Options(cfg))
                runs += 1
                problems = compare(theirs, ours, worst, counts)
                if problems:
                    failures += 1
                    print(f"FAIL dataset {k} ({nref}/{ncur}, drift {drift}) {label}")
                    for pr in problems[:10]:
                        print("     " + pr)
    bad_edges, edges_checked = check_edges(rng)
    print(f"{runs} runs on {a.datasets} datasets, {failures} disagreeing")
    for t in sorted(worst):
        what = "difference of 1 - score^2" if t == "hellinger" else "relative difference"
        print(f"  {t:14s} {counts[t]:6d} column results, largest {what} {worst[t]:.3g}"
              + (f" ({counts['worst ' + t]})" if worst[t] else ""))
    print(f"  errors agreed: {counts['errors agreed']}, dataset shares agreed: {counts['dataset shares agreed']}")
    print(f"int-width replica vs numpy.histogram_bin_edges: {bad_edges} of {edges_checked} integer arrays differ")
    sys.exit(1 if failures or bad_edges else 0)


if __name__ == "__main__":
    main()

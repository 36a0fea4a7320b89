#!/usr/bin/python3
"""Evidently's own published numbers, which tests/oracle/evidently_rules.py must reproduce.

Every case is an assertion of Evidently's test suite (github.com/evidentlyai/evidently, commit
a4aa4c2b37fe7a4344cc5031f566deccf3d69e4f), with its data, its expected value and its tolerance
as written there:
  S = tests/stattests/test_stattests.py           (a stattest called on two series)
  T = tests/metrics/data_drift/test_data_drift_table.py   (DataDriftTable, stattest_threshold 0.7)
  D = tests/metrics/data_drift/test_dataset_drift_metric.py (DatasetDriftMetric, threshold 0.7)
  M = tests/multitest/metrics/data_drift.py       (ColumnDriftMetric)
Stattest cases call the oracle's test function on the raw series, as Evidently's tests call
`.func`; dataset cases run the oracle's dataset rule on the same frames.  Evidently types the
columns named target and prediction through ColumnMapping's roles (categorical here), which the
oracle does not model: those cases force that type through the configuration.  Evidently's tests
publish no number for wasserstein, jensenshannon, kl_div or ks; they are covered by the
cross-check against ../shared/oracle (tests/oracle/README.md).

Prints one line per case and "oracle-fixtures: N passed, N failed"; exit 1 on any failure.
"""
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evidently_rules as er  # noqa: E402

nan = np.nan


def rep(values, counts):
    return pd.Series(values).repeat(counts)


def stattest(name, ref, cur, ctype, thr):
    return er.TESTS[name][0](ref, cur, ctype, thr, False)


# (source, label, function returning (score, drifted), expected score, abs tolerance, expected drift)
STATTEST_CASES = [
    ("S test_freq_obs_eq_freq_exp", "chisquare",
     lambda: stattest("chisquare", rep([1, 2, 3, 4, 5, 6], [16, 18, 16, 14, 12, 12]),
                      rep([1, 2, 3, 4, 5, 6], [16, 16, 16, 16, 16, 8]), "cat", 0.5), 0.67309, 1e-5, False),
    ("S test_freq_obs_eq_freq_exp", "hellinger cat",
     lambda: stattest("hellinger", rep([1, 2, 3, 4, 5, 6], [16, 18, 16, 14, 12, 12]),
                      rep([1, 2, 3, 4, 5, 6], [16, 16, 16, 16, 16, 8]), "cat", 0.1), 0.06812, 1e-5, False),
    ("S test_freq_obs_not_eq_freq_exp", "chisquare",
     lambda: stattest("chisquare", rep([1, 2, 3, 4, 5, 6], [32, 36, 32, 28, 24, 24]),
                      rep([1, 2, 3, 4, 5, 6], [16, 16, 16, 16, 16, 8]), "cat", 0.5), 0.67309, 1e-5, False),
    ("S test_freq_obs_not_eq_freq_exp", "hellinger cat",
     lambda: stattest("hellinger", rep([1, 2, 3, 4, 5, 6], [32, 36, 32, 28, 24, 24]),
                      rep([1, 2, 3, 4, 5, 6], [16, 16, 16, 16, 16, 8]), "cat", 0.1), 0.06812, 1e-5, False),
    ("S test_cat_feature_with_nans", "chisquare",
     lambda: stattest("chisquare", rep(["a", "b", nan], [10, 10, 10]), rep(["a", "b", nan], [10, 10, 10]),
                      "cat", 0.5), 1.0, 1e-5, False),
    ("S test_cat_feature_with_nans", "hellinger cat",
     lambda: stattest("hellinger", rep(["a", "b", nan], [10, 10, 10]), rep(["a", "b", nan], [10, 10, 10]),
                      "cat", 0.1), 0.0, 1e-5, False),
    ("S test_num_features", "hellinger num",
     lambda: stattest("hellinger", pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0, nan]),
                      pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0, nan]), "num", 0.1), 0.0, 1e-5, False),
    ("S test_chi_stat_test_cat_feature", "chisquare",
     lambda: stattest("chisquare", rep(["a", "b", "c"], [10, 10, 10]), rep(["a", "b", "c"], [10, 10, 10]),
                      "cat", 0.5), 1.0, 1e-5, False),
    ("S test_z_stat_test_cat_feature[0]", "z",
     lambda: stattest("z", pd.Series(["a", "b"] * 10), pd.Series(["a", "b"] * 10), "cat", 0.5), 1.0, 1e-5, False),
    ("S test_z_stat_test_cat_feature[1]", "z, NaN counted as not the first value",
     lambda: stattest("z", pd.Series(["a", nan] * 10), pd.Series(["a", "b"] * 10), "cat", 0.5), 1.0, 1e-5, False),
    ("S test_hellinger_distance", "hellinger num",
     lambda: stattest("hellinger", pd.Series([1, 1, 1, 1, 1] * 10), pd.Series([1, 1, 1, 1, 1] * 10), "num", 0.1),
     0.0, 1e-3, False),
    ("S test_hellinger_distance", "hellinger cat",
     lambda: stattest("hellinger", pd.Series([1, 1, 1, 1, 1] * 10), pd.Series([1, 1, 1, 1, 1] * 10), "cat", 0.1),
     0.0, 1e-3, False),
    ("S test_energy_distance", "ed, same sample",
     lambda: stattest("ed", pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0]),
                      pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0]), "num", 0.1), 0.0, 1e-5, False),
    ("S test_energy_distance", "ed, shifted by 5",
     lambda: stattest("ed", pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0]),
                      pd.Series([38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0]) + 5, "num", 0.1), 1.9, 1e-1, True),
    ("M column_drift_metric_values[0]", "chisquare (default selection)",
     lambda: column("col", [1, 2, 3], [1, 2, 3]), 1.0, 0, False),
    ("M column_drift_metric_values[1]", "chisquare (default selection)",
     lambda: column("col", [1, 2, 3], [5, 8, 3]), 0.0, 0, True),
    ("M column_drift_metric_values[2]", "psi",
     lambda: column("col", [3, 2, 2], [1, 2, 3], "psi", 0.1), 2.93, 0.01, True),
]


def column(name, ref, cur, test=None, thr=None):
    res = er.column_drift(pd.Series(ref), pd.Series(cur), er.CAT, test, thr)
    return res["drift_score"], res["drift_detected"]


# dataset cases: (source, frames, forced categorical, {column: (test, score, tolerance, drift)},
#                 (tested, drifted, share, share tolerance, dataset_drift))
DATASET_CASES = [
    ("T test_data_drift_metrics_with_options",
     pd.DataFrame({"category_feature": ["a", "a", "b"], "target": [1, 4, 5], "prediction": [1, 0, 1]}),
     pd.DataFrame({"category_feature": ["a", "b", "a"], "target": [1, 2, 3], "prediction": [1, 0, 1]}),
     {"category_feature": ("z", 1.0, 0, False), "prediction": ("z", 1.0, 0, False),
      "target": ("chisquare", 0.0, 0, True)},
     (3, 1, 0.3333333333333333, 0, False)),
    ("T test_data_drift_metrics_json_output",
     pd.DataFrame({"category_feature": ["a", "a", "b", "b"], "target": [1, 4, 5, 5], "prediction": [1, 5, 4, 4]}),
     pd.DataFrame({"category_feature": ["a", "b", "a", nan], "target": [nan, nan, 3, 4],
                   "prediction": [1, 0, nan, 5]}),
     {"category_feature": ("z", 0.66, 0.01, True), "prediction": ("chisquare", 0.0, 0, True),
      "target": ("chisquare", 0.0, 0, True)},
     (3, 3, 1.0, 0, True)),
    ("D test_dataset_drift_metric_with_options",
     pd.DataFrame({"category_feature": ["a", "a", "b"], "target": [1, 4, 5], "prediction": [1, 0, 1]}),
     pd.DataFrame({"category_feature": ["az", "bz", "az"], "target": [1, 2, 3], "prediction": [1, 0, 1]}),
     {}, (3, 2, 0.67, 0.01, True)),
    ("D test_dataset_drift_metric_json_output",
     pd.DataFrame({"category_feature": ["a", "a", "b", "b"], "target": [1, 4, 5, 1], "prediction": [1, 0, 1, 0]}),
     pd.DataFrame({"category_feature": ["a", "b", None], "target": [1, nan, 3], "prediction": [1, 0, 1]}),
     {}, (3, 2, 0.67, 0.01, True)),
]


def near(got, want, tol):
    return got is not None and abs(got - want) <= tol


def main():
    passed = failed = 0

    def report(ok, label, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {label}")
        else:
            failed += 1
            print(f"FAIL {label}\n     {detail}")

    for source, what, run, want, tol, want_drift in STATTEST_CASES:
        score, drifted = run()
        score = float(score)
        report(near(score, want, tol) and bool(drifted) == want_drift, f"{source}: {what} = {want} +- {tol}",
               f"oracle: {score!r}, drift {bool(drifted)} (want {want_drift})")
    for source, ref, cur, cols, (n, nd, share, share_tol, dd) in DATASET_CASES:
        config = {"columns": {"categorical": ["target", "prediction"]}, "drift": {"stattest_threshold": 0.7}}
        out = er.dataset_drift(ref, cur, er.Options(config))
        problems = []
        for name, (test, score, tol, drift) in cols.items():
            c = out["columns"][name]
            if c.get("stattest") != test or not near(c.get("drift_score"), score, tol) or c.get("drift_detected") != drift:
                problems.append(f"{name}: {c} (want {test} {score} +- {tol}, drift {drift})")
        got = (out["number_of_columns"], out["number_of_drifted_columns"], out["dataset_drift"])
        if got != (n, nd, dd) or not near(out["share_of_drifted_columns"], share, share_tol):
            problems.append(f"dataset: {got} share {out['share_of_drifted_columns']} (want {(n, nd, dd)} share {share})")
        report(not problems, f"{source}: {nd} of {n} columns drifted, share {share}", "; ".join(problems))
    print(f"oracle-fixtures: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

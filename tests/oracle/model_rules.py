#!/usr/bin/python3
"""The project's oracle for the model's figures (issue 17), in Python with numpy.

    model_rules.py REFERENCE.csv CURRENT.csv --config CONFIG.json

prints one JSON document: the columns' drift (evidently_rules.dataset_drift, with the score
column left out of the features), the importance-weighted drifted share, the score's PSI and
band, the approval rates and the retrain reasons.  CONFIG is driftmon's configuration file;
besides `columns` and `drift` (evidently_rules) it reads `model` (importance, score_column,
decision_threshold) and `retrain` (fraction, weighted_fraction, score_psi).  The importance
file's path is taken as driftmon takes it (as written, relative to the working directory).

The formulas, as issue 17 states them (nothing here is read from driftmon):
  weighted share  sum of the importances of the drifted tested columns / sum of the importances
                  of all tested columns; a tested column without an importance weighs 0; None
                  when the denominator is 0 (or no importance file).
  score PSI       scores: pandas' reading, NaN and +-inf dropped; edges =
                  numpy.quantile(ref, [0.1, ..., 0.9]) (numpy's default "linear" method); a
                  value's bin = the number of edges strictly less than it; e, a = reference and
                  current shares per bin, a share of 0 replaced by 0.0001; PSI = sum (a - e) ln(a / e).
  band            PSI < 0.1 stable, < 0.25 watch, else act.
  approval rate   share of the (non-missing) scores < decision_threshold.
  retrain         "share": share > fraction; "weighted_share": weighted share > weighted_fraction;
                  "score_psi": PSI >= score_psi; a condition absent from the config never holds.
"""
import argparse
import csv
import io
import json
import math
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evidently_rules  # noqa: E402

DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
ZERO_SHARE = 0.0001


def read_importance(path):
    """{column: importance} from a `column,importance` CSV or a JSON object."""
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        return {k: float(v) for k, v in json.loads(text).items()}
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(x.strip() for x in r)]
    assert [x.strip() for x in rows[0]] == ["column", "importance"], rows[0]
    return {r[0]: float(r[1]) for r in rows[1:]}


def scores(series):
    v = pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
    return v[np.isfinite(v)]


def band(psi):
    return "stable" if psi < 0.1 else ("watch" if psi < 0.25 else "act")


def score_drift(ref, cur, threshold):
    """The score's figures, or None when a side has no score."""
    if len(ref) == 0 or len(cur) == 0:
        return None
    edges = np.quantile(ref, DECILES)
    def shares(v):
        bins = (v[:, None] > edges[None, :]).sum(axis=1)  # edges strictly less than the value
        counts = np.bincount(bins, minlength=10)
        s = counts / len(v)
        return np.where(s == 0, ZERO_SHARE, s), counts
    e, ec = shares(ref)
    a, ac = shares(cur)
    psi = 0.0
    for ai, ei in zip(a, e):
        psi += (ai - ei) * math.log(ai / ei)
    out = {"psi": psi, "band": band(psi), "reference_rows": len(ref), "current_rows": len(cur),
           "edges": [float(x) for x in edges], "reference_counts": [int(x) for x in ec],
           "current_counts": [int(x) for x in ac]}
    for side, v in (("reference", ref), ("current", cur)):
        out[f"{side}_approval_rate"] = None if threshold is None else float(np.mean(v < threshold))
    return out


def model_verdict(ref, cur, config):
    model = config.get("model") or {}
    retrain = config.get("retrain") or {}
    score_col = model.get("score_column")
    opt = evidently_rules.Options(config)
    if score_col:
        opt.exclude = set(opt.exclude) | {score_col}
    drift = evidently_rules.dataset_drift(ref, cur, opt)
    imp = read_importance(model["importance"]) if model.get("importance") else None
    tested = {n: c for n, c in drift["columns"].items() if "error" not in c}
    out = {"drift": drift, "importance_weighted_share": None, "importance_not_tested": None}
    if imp is not None:
        total = sum(imp.get(n, 0.0) for n in tested)
        moved = sum(imp.get(n, 0.0) for n, c in tested.items() if c["drift_detected"])
        out["importance_weighted_share"] = moved / total if total > 0 else None
        out["importance_not_tested"] = sorted(n for n in imp if n not in tested)
    pred = None
    if score_col:
        pred = score_drift(scores(ref[score_col]), scores(cur[score_col]), model.get("decision_threshold"))
    out["prediction_drift"] = pred
    reasons = []
    share = drift["share_of_drifted_columns"]
    fraction = retrain.get("fraction", 0.5)
    if share is not None and share > fraction:
        reasons.append("share")
    ws, wf = out["importance_weighted_share"], retrain.get("weighted_fraction")
    if ws is not None and wf is not None and ws > wf:
        reasons.append("weighted_share")
    sp = retrain.get("score_psi")
    if pred is not None and sp is not None and pred["psi"] >= sp:
        reasons.append("score_psi")
    out["retrain_reasons"] = reasons
    out["retrain_flagged"] = bool(reasons)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reference")
    p.add_argument("current")
    p.add_argument("--config", required=True)
    a = p.parse_args(argv)
    with open(a.config, encoding="utf-8") as f:
        config = json.load(f)
    out = model_verdict(pd.read_csv(a.reference), pd.read_csv(a.current), config)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The project's oracle for the model's realised performance (issue 21), with scikit-learn.

    perf_rules.py REFERENCE.csv CURRENT.csv --config CONFIG.json

prints one JSON document, the shape of driftmon's `performance`: per side rows, left_out, tp,
fp, tn, fn, auc, recall, precision, business_cost, optimal_threshold, optimal_refuses_nobody,
business_cost_at_optimal, default_rate, then cost_increase.  CONFIG is driftmon's configuration
file; `model` (score_column, label_column, decision_threshold, cost.fn, cost.fp) is read.  A
label that is not 0, 1 or missing is an error (exit 2, naming the file, line and value).

The rules, as issue 21 states them (nothing here is read from driftmon):
  reading        pandas.read_csv with its default NA tokens (the score read as floats,
                 round-trip precision); a row is evaluated when its score is finite and its
                 label is 0 or 1, else left out (and counted).
  confusion      sklearn.metrics.confusion_matrix(label, score >= decision_threshold,
                 labels=[0, 1]): a score at or above the threshold is a refusal (predicted 1).
  AUC            sklearn.metrics.roc_auc_score(label, score) (the Mann-Whitney statistic with
                 average ranks); None with one class.
  recall         TP / (TP + FN); precision TP / (TP + FP); None when the denominator is 0.
  business cost  (cost.fn * FN + cost.fp * FP) / rows, defaults 10 and 1.
  optimal        brute force: every candidate t among the distinct scores and +inf, in
                 ascending order, FN(t) and FP(t) counted with numpy for "refuse when score >=
                 t"; the first (smallest) t of least cost; +inf written None with
                 optimal_refuses_nobody true (JSON has no infinity).
  cost_increase  current business cost / reference business cost - 1; None when undefined.
"""
import argparse
import json
import math
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score


def fail(msg):
    print(f"perf_rules.py: {msg}", file=sys.stderr)
    sys.exit(2)


def num(x):
    return None if x is None or not math.isfinite(x) else float(x)


def evaluate(path, model):
    label_col, score_col = model["label_column"], model["score_column"]
    thr = float(model["decision_threshold"])
    cost = model.get("cost") or {}
    cfn, cfp = float(cost.get("fn", 10)), float(cost.get("fp", 1))
    df = pd.read_csv(path, usecols=lambda c: c in (label_col, score_col), float_precision="round_trip",
                     skip_blank_lines=True)
    if label_col not in df.columns:
        return None
    label = pd.to_numeric(df[label_col], errors="coerce").to_numpy(dtype=float)
    raw = df[label_col]
    for i in range(len(df)):
        v = raw.iloc[i]
        if pd.isna(v):
            continue
        lv = label[i]
        if not (lv == 0.0 or lv == 1.0):
            fail(f"{path}, line {i + 2}: label {v!r} is not 0 or 1")
    score = pd.to_numeric(df[score_col], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(score) & ~np.isnan(label)
    s, y = score[ok], label[ok].astype(int)
    rows = int(ok.sum())
    out = {"rows": rows, "left_out": int(len(df) - rows)}
    if rows == 0:
        out.update(tp=0, fp=0, tn=0, fn=0, auc=None, recall=None, precision=None, business_cost=None,
                   optimal_threshold=None, optimal_refuses_nobody=False, business_cost_at_optimal=None,
                   default_rate=None)
        return out
    tn, fp, fn, tp = confusion_matrix(y, (s >= thr).astype(int), labels=[0, 1]).ravel()
    tp, fp, tn, fn = int(tp), int(fp), int(tn), int(fn)
    auc = roc_auc_score(y, s) if 0 < y.sum() < rows else None
    best_t, best = None, None
    pos, neg = s[y == 1], s[y == 0]
    for t in list(np.unique(s)) + [math.inf]:
        fn_t = int((pos < t).sum())
        fp_t = int((neg >= t).sum())
        c = (cfn * fn_t + cfp * fp_t) / rows
        if best is None or c < best:
            best, best_t = c, t
    out.update(tp=tp, fp=fp, tn=tn, fn=fn, auc=num(auc),
               recall=tp / (tp + fn) if tp + fn else None,
               precision=tp / (tp + fp) if tp + fp else None,
               business_cost=(cfn * fn + cfp * fp) / rows,
               optimal_threshold=None if math.isinf(best_t) else float(best_t) + 0.0,
               optimal_refuses_nobody=bool(math.isinf(best_t)),
               business_cost_at_optimal=best, default_rate=(tp + fn) / rows)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("current")
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    model = json.load(open(a.config))["model"]
    ref, cur = evaluate(a.reference, model), evaluate(a.current, model)
    inc = None
    if ref and cur and ref["business_cost"] and cur["business_cost"] is not None:
        inc = cur["business_cost"] / ref["business_cost"] - 1
    print(json.dumps({"reference": ref, "current": cur, "cost_increase": inc}, indent=1))


if __name__ == "__main__":
    main()

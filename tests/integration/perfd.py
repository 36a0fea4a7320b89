#!/usr/bin/python3
"""perfd.py - the expected figures of one cohort, for tests/integration/perfd.sh.

Reads "score|label" lines (psql -At; an empty field is NULL) on stdin and prints the figures
of issue 21 as JSON, derived independently of driftmon: the confusion counts by the
definition (refused when score >= threshold), AUC by scikit-learn's roc_auc_score, the
optimal threshold by brute force over the distinct scores and +inf.

usage: perfd.py THRESHOLD COST_FN COST_FP
"""
import json
import math
import sys

import numpy as np
from sklearn.metrics import roc_auc_score


def main():
    thr, cfn, cfp = (float(a) for a in sys.argv[1:4])
    s, y, left_out = [], [], 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        a, b = line.split("|")
        if a == "" or b == "" or not math.isfinite(float(a)):
            left_out += 1
            continue
        s.append(float(a))
        y.append(int(float(b)))
    s = np.array(s)
    y = np.array(y)
    n = len(s)
    pred = s >= thr
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))

    def cost(t):
        p = s >= t
        return (cfn * np.sum(~p & (y == 1)) + cfp * np.sum(p & (y == 0))) / n

    best_t, best_c = None, None
    for t in sorted(set(s.tolist())) + [math.inf]:
        c = cost(t)
        if best_c is None or c < best_c:
            best_t, best_c = t, c
    out = {
        "rows": n, "left_out": left_out, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "auc": float(roc_auc_score(y, s)) if len(set(y.tolist())) == 2 else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "business_cost": float(cost(thr)) if n else None,
        "optimal_threshold": best_t if best_t is None or math.isfinite(best_t) else "Infinity",
        "business_cost_at_optimal": float(best_c) if n else None,
    }
    print(json.dumps(out))


main()

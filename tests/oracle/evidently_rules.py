#!/usr/bin/python3
"""The project's parity oracle: Evidently's column-drift rules, in Python.

    evidently_rules.py REFERENCE.csv CURRENT.csv [--config CONFIG.json] [--int-width-rule on|off]

prints one JSON document: per column the type, the test, its threshold, the score and the verdict
(or the reason the column could not be tested), then the dataset verdict.  CONFIG is driftmon's own
configuration file (README, DESIGN.md section 3); only `columns` and `drift` are read, with
Evidently's DataDriftOptions names, so the same file drives driftmon and this oracle.

Only Debian's python3-numpy, python3-scipy and python3-pandas are used, and wherever Evidently calls
a numpy or scipy function this file calls the same one with the same arguments; no Evidently code
is imported.  The rules, as Evidently 0.7.21 (legacy DataDriftPreset; the new API shares the
maths) states them in evidently/legacy/calculations/stattests/*.py, stattests/registry.py
(_get_default_stattest), utils/data_drift_utils.py (precedence) and calculations/data_drift.py
(get_one_column_drift), and as DESIGN.md section 1 restates them:

  reading      pandas.read_csv with its defaults: a column is numeric when pandas gives it a
               numeric dtype (bool is not numeric), otherwise categorical (the legacy ColumnMapping
               rule, taken from the reference); `columns.numeric` / `columns.categorical` force a
               type, `columns.exclude` drops a column.  Category identity is Python's: 1 and 1.0
               are one category, 1.5 and "1.5" two (a number never matches a text).
  cleaning     NaN, +inf and -inf dropped from both samples.
  selection    n_values = distinct values of ref and cur together, rows = reference rows:
               rows <= 1000: numeric with n_values > 5 -> ks; otherwise chisquare when
               n_values > 2, else z.  rows > 1000: numeric with n_values > 5 -> wasserstein;
               otherwise jensenshannon.
  precedence   test: per column > per type > global > the selection above; threshold: per column
               > per type > global > the test's default.
  wasserstein  scipy.stats.wasserstein_distance / max(np.std(ref) (ddof 0), 0.001); drift >= thr.
  jensenshannon scipy.spatial.distance.jensenshannon (natural log) on shares of the union of
               values, or, for a numeric column whose reference has > 20 distinct values, on
               np.histogram counts over np.histogram_bin_edges(ref + cur pooled, "sturges"); no
               zero filling; drift >= thr.
  psi, kl_div  the same shares with zero shares filled (min share / 1e6 when that minimum is
               <= 0.0001, else 0.0001); sum((r - c) ln(r / c)) and scipy.stats.entropy(r, c);
               drift >= thr.
  hellinger    categorical: 1 - sum sqrt(p q) over the union; numeric: density histograms on
               sturges edges built from the distinct values; clipped to [0, 1], then sqrt;
               drift >= thr.
  ed           scipy.stats.energy_distance; drift > thr (strict).
  ks           scipy.stats.ks_2samp(ref, cur) p-value (method "auto"); drift <= thr.
  chisquare    scipy.stats.chisquare(observed cur counts, ref counts * n_cur / n_ref) p-value
               over the union of values; drift < thr.
  z            two-proportion z-test of "not the first value of the sorted union", two-sided
               normal tail; p = 1 when both sides hold the same single value; drift < thr.
  dataset      share = drifted / tested columns, dataset_drift when share >= drift_share.
  int_width_rule  numpy >= 2.1 gives integer data a sturges bin width of at least 1; Debian's
               numpy 1.24 does not.  Off by default, as driftmon's `drift.int_width_rule`.

Where Evidently stops, this oracle says what driftmon does instead (DESIGN.md section 1), so that
parity can still be checked on the rest:
  * a column empty after cleaning, absent from the current data, numeric in the reference but
    text in the current data, or given a numbers-only test (wasserstein, ks, ed) while holding
    text: Evidently aborts the whole report; here the column gets an "error" and is left out of
    the share ("evidently_aborts" says so).
  * Evidently refuses chisquare / z for a numeric column and ks / wasserstein / ed for a
    categorical one when they are asked for by name; here they are computed (on the values, or
    on the numbers of a categorical column that holds numbers), as driftmon computes them.
  * Evidently's legacy path leaves +-inf in a column that has no NaN; here they are always
    dropped.
  * ColumnMapping's roles (columns named target, prediction, datetime, id) are not modelled.
  * a z-test whose values mix numbers and text makes Evidently raise TypeError (it sorts them):
    reported as an error.
"""
import argparse
import json
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

NUM, CAT = "num", "cat"
FEW_VALUES = 5  # numeric columns with at most this many values (ref + cur) are tested like categories
BINARY = 2
SMALL_REFERENCE = 1000  # reference rows at most this: p-value tests
BIN_NUMERIC_ABOVE = 20  # numeric columns whose reference has more distinct values are binned
STD_FLOOR = 0.001


class ColumnError(Exception):
    """The column cannot be tested; the message says why."""


# ---- binning -------------------------------------------------------------------------------


def sturges_edges(values, int_width_rule=False):
    """np.histogram_bin_edges(values, bins="sturges"); with int_width_rule, numpy >= 2.1's rule
    that integer data get a bin width of at least 1 (same steps as numpy's _get_bin_edges)."""
    a = np.asarray(values)
    if not (int_width_rule and np.issubdtype(a.dtype, np.integer)):
        return np.histogram_bin_edges(a, bins="sturges")
    first, last = a.min(), a.max()
    width = float(last - first) / (np.log2(a.size) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    nbins = int(np.ceil(float(last - first) / max(width, 1.0))) if width else 1
    return np.linspace(first, last, nbins + 1)


def value_keys(ref, cur):
    """The union of the non-missing values of both samples (Evidently's
    get_unique_not_nan_values_list_from_series)."""
    return list(set(ref.dropna().unique()) | set(cur.dropna().unique()))


def value_counts(series, keys):
    counts = {**dict.fromkeys(keys, 0), **dict(series.value_counts())}
    return [counts[k] for k in keys]


def shares(ref, cur, ctype, fill_zeros, int_width_rule):
    """Evidently's get_binned_data: (reference shares, current shares)."""
    if ctype == NUM and ref.nunique() > BIN_NUMERIC_ABOVE:
        edges = sturges_edges(np.asarray(pd.concat([ref, cur], axis=0).values), int_width_rule)
        r = np.histogram(ref, edges)[0] / len(ref)
        c = np.histogram(cur, edges)[0] / len(cur)
    else:
        keys = value_keys(ref, cur)
        r = np.array([n / len(ref) for n in value_counts(ref, keys)])
        c = np.array([n / len(cur) for n in value_counts(cur, keys)])
    if fill_zeros:
        for p in (r, c):
            smallest = min(p[p != 0])
            np.place(p, p == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return r, c


# ---- the tests: (score, drifted); each takes the cleaned samples -----------------------------


def numbers(series, name):
    if not pd.api.types.is_numeric_dtype(series):
        raise ColumnError(f'stattest "{name}" needs numbers; the column holds text')
    return series


def t_wasserstein(ref, cur, ctype, thr, iw):
    ref, cur = numbers(ref, "wasserstein"), numbers(cur, "wasserstein")
    norm = max(float(np.std(ref)), STD_FLOOR)
    score = stats.wasserstein_distance(ref, cur) / norm
    return score, score >= thr


def t_jensenshannon(ref, cur, ctype, thr, iw):
    r, c = shares(ref, cur, ctype, False, iw)
    score = distance.jensenshannon(r, c)
    return score, score >= thr


def t_psi(ref, cur, ctype, thr, iw):
    r, c = shares(ref, cur, ctype, True, iw)
    score = np.sum((r - c) * np.log(r / c))
    return score, score >= thr


def t_kl_div(ref, cur, ctype, thr, iw):
    r, c = shares(ref, cur, ctype, True, iw)
    score = stats.entropy(r, c)
    return score, score >= thr


def t_hellinger(ref, cur, ctype, thr, iw):
    ref, cur = ref.dropna(), cur.dropna()
    keys = list(set(ref.unique()) | set(cur.unique()))
    total = 0.0
    if ctype == CAT:
        p = {**dict.fromkeys(keys, 0), **(ref.value_counts() / len(ref)).to_dict()}
        q = {**dict.fromkeys(keys, 0), **(cur.value_counts() / len(cur)).to_dict()}
        for k in keys:
            total += math.sqrt(float(p[k]) * float(q[k]))
    else:
        edges = sturges_edges(np.asarray(keys), iw)
        h1 = np.histogram(ref.to_numpy(), bins=edges, density=True)[0]
        h2 = np.histogram(cur.to_numpy(), bins=edges, density=True)[0]
        width = (max(edges) - min(edges)) / (len(edges) - 1)
        for a, b in zip(h1, h2):
            total += math.sqrt(float(a) * float(b)) * width
    score = math.sqrt(1 - np.clip(total, 0, 1))
    return score, score >= thr


def t_ed(ref, cur, ctype, thr, iw):
    score = stats.energy_distance(numbers(ref, "ed"), numbers(cur, "ed"))
    return score, score > thr


def t_ks(ref, cur, ctype, thr, iw):
    p = stats.ks_2samp(numbers(ref, "ks"), numbers(cur, "ks"))[1]
    return p, p <= thr


def t_chisquare(ref, cur, ctype, thr, iw):
    keys = value_keys(ref, cur)
    scale = cur.shape[0] / ref.shape[0]
    expected = [n * scale for n in value_counts(ref, keys)]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.chisquare(value_counts(cur, keys), expected)[1]
    return p, p < thr


def t_z(ref, cur, ctype, thr, iw):
    if ref.nunique() == 1 and cur.nunique() == 1 and ref.unique()[0] == cur.unique()[0]:
        p = 1
    else:
        try:
            first = sorted(value_keys(ref, cur))[0]
        except TypeError as e:
            raise ColumnError(f"z-test on numbers and text: Evidently raises TypeError ({e})") from None
        a = ref.apply(lambda x: 0 if x == first else 1)
        b = cur.apply(lambda x: 0 if x == first else 1)
        n1, n2 = len(a), len(b)
        p1, p2 = float(sum(a)) / n1, float(sum(b)) / n2
        pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
        p = 2 * (1 - stats.norm.cdf(np.abs(z)))
    return p, p < thr


# name -> (function, display name, default threshold)
TESTS = {
    "wasserstein": (t_wasserstein, "Wasserstein distance (normed)", 0.1),
    "jensenshannon": (t_jensenshannon, "Jensen-Shannon distance", 0.1),
    "psi": (t_psi, "PSI", 0.1),
    "kl_div": (t_kl_div, "Kullback-Leibler divergence", 0.1),
    "hellinger": (t_hellinger, "Hellinger distance", 0.1),
    "ed": (t_ed, "Energy-distance", 0.1),
    "ks": (t_ks, "K-S p_value", 0.05),
    "chisquare": (t_chisquare, "chi-square p_value", 0.05),
    "z": (t_z, "Z-test p_value", 0.05),
}


def default_test(ref, cur, ctype):
    n_values = pd.concat([ref, cur]).nunique()
    if ref.shape[0] <= SMALL_REFERENCE:
        if ctype == NUM and n_values > FEW_VALUES:
            return "ks"
        return "chisquare" if n_values > BINARY else "z"
    if ctype == NUM and n_values > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"


# ---- one column, one dataset ---------------------------------------------------------------


class Options:
    """The `drift` and `columns` settings of a driftmon configuration (null = the default)."""

    def __init__(self, config=None, int_width_rule=None):
        config = config or {}
        cols = config.get("columns") or {}
        drift = config.get("drift") or {}
        self.numeric = set(cols.get("numeric") or [])
        self.categorical = set(cols.get("categorical") or [])
        self.exclude = set(cols.get("exclude") or [])
        self.stattest = drift.get("stattest")
        self.type_stattest = {NUM: drift.get("num_stattest"), CAT: drift.get("cat_stattest")}
        self.column_stattest = drift.get("per_column_stattest") or {}
        self.threshold = drift.get("stattest_threshold")
        self.type_threshold = {NUM: drift.get("num_stattest_threshold"), CAT: drift.get("cat_stattest_threshold")}
        self.column_threshold = drift.get("per_column_stattest_threshold") or {}
        share = drift.get("drift_share")
        self.drift_share = 0.5 if share is None else share
        rule = drift.get("int_width_rule") if int_width_rule is None else int_width_rule
        self.int_width_rule = bool(rule)

    def test_for(self, name, ctype):
        test = self.stattest
        if self.type_stattest[ctype] is not None:
            test = self.type_stattest[ctype]
        return self.column_stattest.get(name, test)

    def threshold_for(self, name, ctype):
        if name in self.column_threshold:
            return self.column_threshold[name]
        if self.type_threshold[ctype] is not None:
            return self.type_threshold[ctype]
        return self.threshold


def clean(series):
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def column_drift(ref, cur, ctype, test=None, threshold=None, int_width_rule=False):
    """One column: the cleaned samples' test, score and verdict; ColumnError when untestable."""
    ref, cur = clean(ref), clean(cur)
    for side, s in (("reference", ref), ("current", cur)):
        if s.empty:
            raise ColumnError(f"no data in {side}")
    if ctype == NUM and not pd.api.types.is_numeric_dtype(cur):
        raise ColumnError("numeric in reference, text in current")
    test = test or default_test(ref, cur, ctype)
    func, display, default_threshold = TESTS[test]
    thr = default_threshold if threshold is None else threshold
    score, drifted = func(ref, cur, ctype, thr, int_width_rule)
    score = float(score)
    return {
        "column_type": ctype,
        "stattest": test,
        "stattest_name": display,
        "stattest_threshold": thr,
        "drift_score": None if math.isnan(score) else score,
        "drift_detected": bool(drifted),
        "reference_rows": int(ref.shape[0]),
        "current_rows": int(cur.shape[0]),
    }


def column_type(name, series, opt):
    if name in opt.categorical:
        return CAT
    if name in opt.numeric:
        if not pd.api.types.is_numeric_dtype(series):
            raise ColumnError("declared numeric but the reference has text")
        return NUM
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    return NUM if numeric else CAT


def dataset_drift(ref, cur, opt):
    columns, drifted, tested = {}, 0, 0
    for name in ref.columns:
        if name in opt.exclude:
            continue
        try:
            ctype = column_type(name, ref[name], opt)
        except ColumnError as e:
            columns[name] = {"error": str(e)}
            continue
        try:
            if name not in cur.columns:
                raise ColumnError("absent from current")
            res = column_drift(ref[name], cur[name], ctype, opt.test_for(name, ctype),
                               opt.threshold_for(name, ctype), opt.int_width_rule)
        except ColumnError as e:
            columns[name] = {"column_type": ctype, "error": str(e)}
            continue
        columns[name] = res
        tested += 1
        drifted += res["drift_detected"]
    share = drifted / tested if tested else None
    return {
        "columns": columns,
        "number_of_columns": tested,
        "number_of_drifted_columns": drifted,
        "share_of_drifted_columns": share,
        "drift_share": opt.drift_share,
        "dataset_drift": None if share is None else bool(share >= opt.drift_share),
        "evidently_aborts": any("error" in c for c in columns.values()),
        "int_width_rule": opt.int_width_rule,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reference")
    p.add_argument("current")
    p.add_argument("--config", help="driftmon's JSON configuration (columns, drift)")
    p.add_argument("--int-width-rule", choices=["on", "off"], help="overrides drift.int_width_rule")
    a = p.parse_args(argv)
    config = None
    if a.config:
        with open(a.config, encoding="utf-8") as f:
            config = json.load(f)
    iw = None if a.int_width_rule is None else a.int_width_rule == "on"
    out = dataset_drift(pd.read_csv(a.reference), pd.read_csv(a.current), Options(config, iw))
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Benchmark of `driftmon compare` against the oracle, in the same run (issue 2).

Data: build/dm-gen --shape bench, 300,000 reference x 50,000 current rows x 100 columns
(80 numeric, 20 categorical), drift in a known subset of columns.  Then, alternating, three
rounds of:
  oracle   /usr/bin/python3 ../shared/oracle/oracle.py REF.csv CUR.csv   (numpy/scipy/pandas)
  cold     driftmon compare REF.csv CUR.csv --json ... --html ...         (both CSV)
  warm     driftmon compare REF.dmp CUR.csv --json ... --html ...         (saved profile)
Wall time and peak resident memory of each process (wait4's rusage) are recorded; the medians
and the ratios against the oracle's median are printed.  Targets (issue 2): cold >= 8x faster
than the oracle, warm >= 50x, cold peak memory <= 60 % of the oracle's.  The machine is
shared and noisy: read the ratios, not single timings.

The binary timed is $DM_DRIFTMON (default BUILD_DIR/driftmon).  With $DM_DRIFTMON_B set too,
two binaries are compared instead (tests/bench/ab.sh): no oracle; cold and warm of A and of B
in every round, the order of A and B swapped from one round to the next; the medians and the
ratios B / A are printed: of the medians, and the median of the per-round ratios (wall and CPU
time).

--model: the cost of the model's figures (issue 17) on one binary ($DM_DRIFTMON), no oracle.
The same two files with a score column appended (`score`, a fixed logistic model on five
numeric columns, written with 6 decimals as dm-gen --score writes its own; see add_score) and
the model's importances (|b| x sd of each input over the reference, as dm-gen
--importance-out, each other column 0.005).  Cold and warm, each in three forms, in every
round, the order reversed from one round to the next:
  plain    the files with the score column, no configuration: the score is tested as a column
  model    the same with model.importance, model.score_column, model.decision_threshold,
           retrain.weighted_fraction and retrain.score_psi
  noscore  the files without the score column (the benchmark's own), no configuration
Then the medians, and the ratios model / plain and model / noscore: of the medians, and the
median of the per-round ratios.

--full-precision: the same rounds (oracle, cold, warm; or A and B) on the same two files
written as real exports are (issue 20): pandas writes a float64 column with Python's repr,
the shortest string that reads back to the same double, 16-17 significant digits for most
values (0.3112673113812225), where the bench shape writes at most 9.  Each value of a
continuous column (more than 100 distinct non-integers; a discrete one keeps its exact
values, as in a real export) is multiplied by (1 + e), e uniform in +-4e-10 (below the
9-digit rounding, so the distributions are the bench shape's), and every column is written
by pandas' to_csv: an integer column with missing values as 47.0, as pandas does.  Made
once (seeded) next to the bench files, as ref{N}_fp.csv and cur{N}_fp.csv.

Usage: compare.py BUILD_DIR SHARED_DIR [--ref-rows N] [--cur-rows N] [--rounds N] [--model]
                  [--full-precision]
"""
import math
import os
import statistics
import subprocess
import sys
import time


def run(cmd, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{err}")
    return wall, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime  # s, MiB, CPU s


def arg(name, default):
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def medians(res):
    return {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
            for k, v in res.items()}


def rounds_of(cmds, rounds, order):
    """Run every command once per round, in the order order(round) gives; the results."""
    res = {k: [] for k in cmds}
    for r in range(rounds):
        for k in order(r):
            res[k].append(run(cmds[k]))
            print(f"  round {r + 1} {k:12s} {res[k][-1][0]:7.3f} s {res[k][-1][1]:7.0f} MiB", flush=True)
    return res


# add_score's model: logit p = B0 + sum of B[k] x (x_k - mean_k) / sd_k over these inputs (none
# has missing values), the means and sds the reference's; B0 puts the mean p near 11 %
SCORE_INPUTS = ("num_00", "num_08", "num_09", "num_10", "num_12")
SCORE_B = (0.8, -0.6, 0.5, -0.4, 0.3)
SCORE_B0 = -2.6
OTHER_SHARE = 0.005


def add_score(src, dst, stats=None):
    """Write dst: src with the column `score` appended.  The inputs' (mean, sd) are stats, or
    the src's own when None (the reference); returns them."""
    with open(src) as f:
        header = f.readline().rstrip("\n").split(",")
        idx = [header.index(c) for c in SCORE_INPUTS]
        rows = [line.rstrip("\n") for line in f]
    xs = [[float(r.split(",")[i]) for i in idx] for r in rows]
    if stats is None:
        n = len(xs)
        mean = [sum(x[k] for x in xs) / n for k in range(len(idx))]
        sd = [math.sqrt(sum((x[k] - mean[k]) ** 2 for x in xs) / (n - 1)) for k in range(len(idx))]
        stats = (mean, sd)
    mean, sd = stats
    tmp = dst + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join(header) + ",score\n")
        for r, x in zip(rows, xs):
            z = SCORE_B0 + sum(SCORE_B[k] * (x[k] - mean[k]) / sd[k] for k in range(len(idx)))
            f.write(f"{r},{1.0 / (1.0 + math.exp(-z)):.6f}\n")
    os.replace(tmp, dst)
    return stats


def write_importance(path, header):
    """The model's importances: |b| x sd of its standardised inputs (so |b|) as shares of what
    the other columns (each OTHER_SHARE) leave."""
    others = [c for c in header if c not in SCORE_INPUTS]
    share = 1.0 - OTHER_SHARE * len(others)
    tot = sum(abs(b) for b in SCORE_B)
    with open(path + ".tmp", "w") as f:
        f.write("column,importance\n")
        for c in header:
            v = share * abs(SCORE_B[SCORE_INPUTS.index(c)]) / tot if c in SCORE_INPUTS else OTHER_SHARE
            f.write(f"{c},{v:.9f}\n")
    os.replace(path + ".tmp", path)


def full_precision(src, dst, seed):
    """Write dst: src's values at full precision (see the top)."""
    import numpy as np
    import pandas as pd
    df = pd.read_csv(src, keep_default_na=False, na_values=[""])
    rng = np.random.default_rng(seed)
    for c in df.columns:
        x = df[c]
        v = x.dropna()
        if x.dtype == np.float64 and v[v != v.round()].nunique() > 100:
            df[c] = x * (1.0 + rng.uniform(-4e-10, 4e-10, len(x)))
    df.to_csv(dst + ".tmp", index=False)
    os.replace(dst + ".tmp", dst)


def ratio_lines(res, forms, base):
    """Print the medians of each form and the ratios of the first form to the others."""
    for w in ("cold", "warm"):
        med = {f: statistics.median(x[0] for x in res[f"{w} {f}"]) for f in forms}
        mem = {f: statistics.median(x[1] for x in res[f"{w} {f}"]) for f in forms}
        cpu = {f: statistics.median(x[2] for x in res[f"{w} {f}"]) for f in forms}
        print(f"median {w}: " + ", ".join(f"{f} {med[f]:.3f} s ({cpu[f]:.3f} CPU-s) {mem[f]:.0f} MiB"
                                          for f in forms))
        for f in forms[1:]:
            per = [a[0] / b[0] for a, b in zip(res[f"{w} {base}"], res[f"{w} {f}"])]
            print(f"ratio {w} {base}/{f}: time {med[base] / med[f]:.3f} (medians), per round "
                  f"{' '.join(f'{x:.3f}' for x in per)} (median {statistics.median(per):.3f}); "
                  f"CPU time {cpu[base] / cpu[f]:.3f}; peak memory {mem[base] / mem[f]:.3f}")


def model_variant(dm, work, ref, cur, prof, nref, ncur, rounds):
    ref_s, cur_s = os.path.join(work, f"ref{nref}_s.csv"), os.path.join(work, f"cur{ncur}_s.csv")
    prof_s, imp = os.path.join(work, f"ref{nref}_s.dmp"), os.path.join(work, f"imp{nref}.csv")
    if not os.path.exists(cur_s) or not os.path.exists(ref_s) or not os.path.exists(imp):
        stats = add_score(ref, ref_s)
        add_score(cur, cur_s, stats)
        with open(ref) as f:
            write_importance(imp, f.readline().rstrip("\n").split(","))
    run([dm, "profile", ref_s, "-o", prof_s])
    cfg = os.path.join(work, "model.json")
    with open(cfg, "w") as f:
        f.write('{"model": {"importance": "%s", "score_column": "score", "decision_threshold": 0.15},\n'
                ' "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25}}\n' % os.path.abspath(imp))
    out = os.path.join(work, "out")

    def compare(reference, current, *extra):
        return [dm, "compare", reference, current, "--json", out + ".json", "--html", out + ".html",
                "--quiet", *extra]

    cmds = {"cold plain": compare(ref_s, cur_s), "cold model": compare(ref_s, cur_s, "--config", cfg),
            "cold noscore": compare(ref, cur), "warm plain": compare(prof_s, cur_s),
            "warm model": compare(prof_s, cur_s, "--config", cfg), "warm noscore": compare(prof, cur)}
    forms = ("model", "plain", "noscore")
    print(f"model variant: {dm}; score and importances in {cur_s}, {imp}")
    res = rounds_of(cmds, rounds, lambda r: [f"{w} {f}" for w in ("cold", "warm")
                                             for f in (forms if r % 2 == 0 else forms[::-1])])
    ratio_lines(res, forms, "model")


def main():
    if sys.argv[1] == "--convert":
        full_precision(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    build, shared = sys.argv[1], sys.argv[2]
    nref, ncur, rounds = arg("--ref-rows", 300000), arg("--cur-rows", 50000), arg("--rounds", 3)
    gen = os.path.join(build, "dm-gen")
    dm = os.environ.get("DM_DRIFTMON") or os.path.join(build, "driftmon")
    dm_b = os.environ.get("DM_DRIFTMON_B")
    oracle = os.path.join(shared, "oracle", "oracle.py")
    work = os.path.join(build, "bench")
    os.makedirs(work, exist_ok=True)
    ref, cur = os.path.join(work, f"ref{nref}.csv"), os.path.join(work, f"cur{ncur}.csv")
    prof = os.path.join(work, f"ref{nref}.dmp")
    if not os.path.exists(ref):
        run([gen, "--shape", "bench", "--rows", str(nref), "--seed", "1", "-o", ref])
    if not os.path.exists(cur):
        run([gen, "--shape", "bench", "--rows", str(ncur), "--seed", "2", "--drifted", "10", "-o", cur])
    if "--full-precision" in sys.argv:
        fp = [os.path.join(work, f"ref{nref}_fp.csv"), os.path.join(work, f"cur{ncur}_fp.csv")]
        for src, dst, seed in ((ref, fp[0], 1), (cur, fp[1], 2)):
            if not os.path.exists(dst):
                # in a process of its own: Linux counts the exec'ing process's earlier
                # resident high-water mark in a child's ru_maxrss, so a child of this
                # process after pandas held the table would report at least that much
                subprocess.run([sys.executable, __file__, "--convert", src, dst, str(seed)], check=True)
        ref, cur = fp
        prof = os.path.join(work, f"ref{nref}_fp.dmp")
        print("full precision: the bench shape's values written with Python's repr (16-17 digits)")
    t_prof, m_prof, _ = run([dm, "profile", ref, "-o", prof])
    mb = (os.path.getsize(ref) + os.path.getsize(cur)) / 1e6
    print(f"data: reference {nref} rows, current {ncur} rows, 100 columns, {mb:.0f} MB of CSV")
    print(f"profile once: {t_prof:.2f} s, {m_prof:.0f} MiB peak, profile file "
          f"{os.path.getsize(prof) / 1e6:.0f} MB")
    if "--model" in sys.argv:
        model_variant(dm, work, ref, cur, prof, nref, ncur, rounds)
        return
    out = os.path.join(work, "out")

    def compare(binary, reference):
        return [binary, "compare", reference, cur, "--json", out + ".json", "--html", out + ".html", "--quiet"]

    if dm_b:
        print(f"A: {dm}\nB: {dm_b}")
        cmds = {"cold A": compare(dm, ref), "cold B": compare(dm_b, ref),
                "warm A": compare(dm, prof), "warm B": compare(dm_b, prof)}
        # A first in even rounds, B first in odd ones
        res = rounds_of(cmds, rounds, lambda r: [f"{w} {x}" for w in ("cold", "warm")
                                                 for x in (("A", "B") if r % 2 == 0 else ("B", "A"))])
        med = medians(res)
        for w in ("cold", "warm"):
            (ta, ma), (tb, mb_) = med[f"{w} A"], med[f"{w} B"]
            # B's time over A's in each round: the load of a shared machine mostly cancels
            per = [b[0] / a[0] for a, b in zip(res[f"{w} A"], res[f"{w} B"])]
            cpu = statistics.median(b[2] / a[2] for a, b in zip(res[f"{w} A"], res[f"{w} B"]))
            print(f"median {w}: A {ta:.3f} s, {ma:.0f} MiB; B {tb:.3f} s, {mb_:.0f} MiB -> "
                  f"B/A time {tb / ta:.3f}, memory {mb_ / ma:.3f}; per round "
                  f"{' '.join(f'{x:.3f}' for x in per)}: B/A median of rounds {statistics.median(per):.3f}, "
                  f"CPU time {cpu:.3f}")
        return
    cmds = {"oracle": ["/usr/bin/python3", oracle, ref, cur], "cold": compare(dm, ref), "warm": compare(dm, prof)}
    med = medians(rounds_of(cmds, rounds, lambda r: list(cmds)))
    o_t, o_m = med["oracle"]
    print(f"median oracle: {o_t:.3f} s, {o_m:.0f} MiB peak")
    for k in ("cold", "warm"):
        t, m = med[k]
        print(f"median {k}:   {t:.3f} s, {m:.0f} MiB peak -> {o_t / t:.1f}x faster, memory {100 * m / o_m:.0f} % of the oracle's")
    cold_x, warm_x = o_t / med["cold"][0], o_t / med["warm"][0]
    mem = med["cold"][1] / o_m
    print(f"targets: cold >= 8x: {'met' if cold_x >= 8 else 'NOT met'} ({cold_x:.1f}x); "
          f"warm >= 50x: {'met' if warm_x >= 50 else 'NOT met'} ({warm_x:.1f}x); "
          f"cold memory <= 60 %: {'met' if mem <= 0.6 else 'NOT met'} ({100 * mem:.0f} %)")


if __name__ == "__main__":
    main()

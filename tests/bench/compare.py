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
ratios B / A are printed.

Usage: compare.py BUILD_DIR SHARED_DIR [--ref-rows N] [--cur-rows N] [--rounds N]
"""
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
    return wall, ru.ru_maxrss / 1024.0  # MiB


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
            print(f"  round {r + 1} {k:8s} {res[k][-1][0]:7.3f} s {res[k][-1][1]:7.0f} MiB", flush=True)
    return res


def main():
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
    t_prof, m_prof = run([dm, "profile", ref, "-o", prof])
    mb = (os.path.getsize(ref) + os.path.getsize(cur)) / 1e6
    print(f"data: reference {nref} rows, current {ncur} rows, 100 columns, {mb:.0f} MB of CSV")
    print(f"profile once: {t_prof:.2f} s, {m_prof:.0f} MiB peak, profile file "
          f"{os.path.getsize(prof) / 1e6:.0f} MB")
    out = os.path.join(work, "out")

    def compare(binary, reference):
        return [binary, "compare", reference, cur, "--json", out + ".json", "--html", out + ".html", "--quiet"]

    if dm_b:
        print(f"A: {dm}\nB: {dm_b}")
        cmds = {"cold A": compare(dm, ref), "cold B": compare(dm_b, ref),
                "warm A": compare(dm, prof), "warm B": compare(dm_b, prof)}
        # A first in even rounds, B first in odd ones
        med = medians(rounds_of(cmds, rounds, lambda r: [f"{w} {x}" for w in ("cold", "warm")
                                                         for x in (("A", "B") if r % 2 == 0 else ("B", "A"))]))
        for w in ("cold", "warm"):
            (ta, ma), (tb, mb_) = med[f"{w} A"], med[f"{w} B"]
            print(f"median {w}: A {ta:.3f} s, {ma:.0f} MiB; B {tb:.3f} s, {mb_:.0f} MiB -> "
                  f"B/A time {tb / ta:.3f}, memory {mb_ / ma:.3f}")
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

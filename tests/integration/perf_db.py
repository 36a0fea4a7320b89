#!/usr/bin/python3
"""The reference's performance through the database (issue 21, sql/014_perf_reference.sql):
`reference load` (CSV and --table) stores the figures with the version, `check` reads them for
the cost increase; every figure compared with the project's oracle (tests/oracle/perf_rules.py,
scikit-learn) to 1e-12.

Cases: reference load from a CSV and from a table (the label listed in columns.exclude is still
read); the stored row's figures and settings; the daemon's role cannot write the table but through
driftmon.add_reference_performance, which refuses a version not created in its transaction; the
owner cannot change a stored row (append-only); check on a batch: the reference's stored figures,
the batch's own, the cost increase and the retrain reason "cost"; a configuration with other
costs: the reference's figures not used, said why; a label 2 in the batch: exit 2 naming the
table, row, column and value; no row stored when the label column is absent.

Usage: perf_db.py DRIFTMON WORKDIR
"""
import json
import os
import subprocess
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
sys.path.insert(0, HERE)
import perf_rules  # noqa: E402
from perf import Checks, close, diff_side  # noqa: E402

FIGS = ["rows", "left_out", "tp", "fp", "tn", "fn", "auc", "recall", "precision", "business_cost",
        "optimal_threshold", "business_cost_at_optimal"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def q(sql, role=None):
    if role:
        sql = f'SET ROLE "{role}"; {sql}'
    rc, so, se = run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "|", "-c", sql])
    if rc != 0:
        raise RuntimeError(se.strip())
    return so.rstrip("\n")


def stored(name, version):
    row = q("SELECT " + ", ".join(f'p."{f}"' for f in FIGS) + ", label_column, score_column, "
            "decision_threshold, cost_fn, cost_fp FROM driftmon.reference_performance p JOIN "
            f"driftmon.reference r ON r.id = p.reference_id WHERE r.name = '{name}' "
            f"AND r.version = {version}")
    if not row:
        return None, None
    v = row.split("|")
    figs = {}
    for f, x in zip(FIGS, v):
        figs[f] = None if x == "" else (int(x) if f in FIGS[:6] else float(x))
    return figs, v[len(FIGS):]


def as_oracle(figs):
    """The stored row in the oracle's shape ('Infinity' = refuse nobody)."""
    f = dict(figs)
    inf = f["optimal_threshold"] is not None and f["optimal_threshold"] == float("inf")
    f["optimal_refuses_nobody"] = inf
    if inf:
        f["optimal_threshold"] = None
    f["default_rate"] = (f["tp"] + f["fn"]) / f["rows"] if f["rows"] else None
    return f


def main():
    dm, work = sys.argv[1], sys.argv[2]
    W = lambda n: os.path.join(work, n)  # noqa: E731
    gen = os.path.join(os.path.dirname(dm), "dm-gen")
    ck = Checks()
    run([gen, "--rows", "3000", "--seed", "31", "--score", "-o", W("ref.csv")])
    run([gen, "--rows", "1500", "--seed", "32", "--score", "--drift", "EXT_SOURCE_2=0.7", "-o",
         W("cur.csv")])
    os.chmod(work, 0o777)
    for n in os.listdir(work):
        os.chmod(W(n), 0o644)
    csv2sql = os.path.join(HERE, "csv2sql.py")
    _, train_sql, _ = run([sys.executable, csv2sql, W("ref.csv"), "train"])
    _, apps_sql, _ = run([sys.executable, csv2sql, W("cur.csv"), "applications", "batch_id:text",
                          "created_at:timestamptz:'2026-01-15 12:00+00'"])
    q(train_sql)
    q(apps_sql)
    cols = ",".join(f'"{c}"' for c in pd.read_csv(W("ref.csv"), nrows=1).columns)
    q(f"\\copy train ({cols}) FROM '{W('ref.csv')}' WITH (FORMAT csv, HEADER true)")
    q(f"\\copy applications ({cols}) FROM '{W('cur.csv')}' WITH (FORMAT csv, HEADER true)")
    q("UPDATE applications SET batch_id = 'a'")
    q("CREATE TABLE train_nolabel AS SELECT * FROM train")
    q('ALTER TABLE train_nolabel DROP COLUMN "TARGET"')

    model = {"score_column": "score", "decision_threshold": 0.3, "label_column": "TARGET",
             "cost": {"fn": 10, "fp": 1}}

    def config(name, ref="r", cost=None, limit=None, memory=None):
        m = dict(model, cost=cost or model["cost"])
        c = {"columns": {"exclude": ["TARGET", "SK_ID_CURR"]}, "model": m,
             "source": {"table": "applications", "batch_column": "batch_id",
                        "timestamp_column": "created_at"},
             "reference": {"name": ref}, "reports": {"dir": W("reports")},
             "cache": {"dir": W("cache")}, "retrain": {"fraction": 1.0}}
        if limit is not None:
            c["retrain"]["cost_increase"] = limit
        if memory is not None:
            c["limits"] = {"memory": memory}
        json.dump(c, open(W(name), "w"))
        return W(name)

    cfg = config("db.json")
    rc, _, se = run([dm, "init", "--config", cfg])
    if rc != 0:
        ck.bad("driftmon init", [se.strip()])
        print(f"perf_db: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
        sys.exit(1)
    want_ref = perf_rules.evaluate(W("ref.csv"), model)
    want_cur = perf_rules.evaluate(W("cur.csv"), model)

    # reference load: CSV (version 1), --table (version 2); a table without the label
    for how, args, version in (("a CSV", [W("ref.csv")], 1), ("--table", ["--table", "train"], 2)):
        rc, so, se = run([dm, "reference", "load", *args, "--name", "r", "--config", cfg])
        p = [] if rc == 0 else [f"exit {rc}: {se.strip()}"]
        if not p:
            figs, settings = stored("r", version)
            if figs is None:
                p.append("no row in driftmon.reference_performance")
            else:
                p += diff_side("stored", as_oracle(figs), want_ref)
                if settings[:2] != ["TARGET", "score"] or [float(x) for x in settings[2:]] != [0.3, 10, 1]:
                    p.append(f"settings stored {settings}")
            if "performance against" not in so:
                p.append(f"the output does not say it: {so.strip()}")
        ck.check(f"reference load from {how}: the figures stored with version {version} equal "
                 "the oracle's, with their settings", p)
    rc, so, se = run([dm, "reference", "load", "--table", "train_nolabel", "--name", "nolabel",
                      "--config", cfg])
    figs, _ = stored("nolabel", 1) if rc == 0 else (None, None)
    ck.check("reference load without the label column: loaded, no figures stored, said why",
             [] if rc == 0 and figs is None and "label column is absent" in se
             else [f"exit {rc}, stored {figs}: {se.strip()}"])

    # the daemon's role writes only through the function, and only for a new version; nobody
    # changes a stored row
    rid = q("SELECT id FROM driftmon.reference WHERE name = 'r' AND version = 2")
    args = f"{rid}, 'TARGET', 'score', 0.3, 10, 1, 1, 0, 1, 0, 0, 0, NULL, 1, 1, 0, 'Infinity', 0"
    problems = []
    for what, sql, role, expect in (
            ("an INSERT as the daemon's role",
             f"INSERT INTO driftmon.reference_performance (reference_id, label_column, score_column, "
             f"decision_threshold, cost_fn, cost_fp, rows, left_out, tp, fp, tn, fn) VALUES "
             f"({rid}, 'x', 'y', 0, 1, 1, 0, 0, 0, 0, 0, 0)", "driftmon_daemon", "permission denied"),
            ("the function on an existing version, as the daemon's role",
             f"SELECT driftmon.add_reference_performance({args})", "driftmon_daemon",
             "was not created in this transaction"),
            ("the function as the engine's role",
             f"SELECT driftmon.add_reference_performance({args})", "driftmon_engine",
             "permission denied"),
            ("an UPDATE as the owner",
             f"UPDATE driftmon.reference_performance SET tp = tp + 1 WHERE reference_id = {rid}",
             "driftmon_owner", "")):
        try:
            q(sql, role)
            problems.append(f"{what} succeeded")
        except RuntimeError as e:
            if expect and expect not in str(e):
                problems.append(f"{what}: {e}")
    try:
        q("SELECT reference_name, reference_version, tp FROM driftmon.audit_reference_performance "
          "LIMIT 1", "driftmon_auditor")
    except RuntimeError as e:
        problems.append(f"the auditor cannot read the view: {e}")
    ck.check("the figures are written only through driftmon.add_reference_performance in the "
             "version's own transaction, never changed; the auditor reads the view", problems)

    # check: the stored figures, the batch's own, the cost increase, the reason
    inc = want_cur["business_cost"] / want_ref["business_cost"] - 1
    # the last: limits.memory 1 MiB, the batch read and compared by column groups (issue 20)
    for limit, flagged, memory in ((inc * 0.99, True, None), (inc * 1.01, False, None),
                                   (inc * 0.99, True, "1 MiB")):
        c = config("lim.json", limit=limit, memory=memory)
        rc, so, se = run([dm, "check", "a", "--config", c])
        p = [] if rc == 0 else [f"exit {rc}: {se.strip()}"]
        if not p:
            run_id = so.split()[1].rstrip(":")
            rep = json.load(open(W(f"reports/run-{run_id}.json")))
            perf = rep.get("performance")
            if perf is None:
                p.append("no performance in the run's report")
            else:
                p += diff_side("reference", perf["reference"], want_ref)
                p += diff_side("current", perf["current"], want_cur)
                if not close(perf["cost_increase"], inc):
                    p.append(f"cost_increase {perf['cost_increase']}, oracle {inc}")
                if ("cost" in rep["retrain"]["reasons"]) != flagged:
                    p.append(f"reasons {rep['retrain']['reasons']}")
                flag = q(f"SELECT retrain_flagged, array_to_string(retrain_reasons, ' ') FROM "
                         f"driftmon.runs WHERE run_id = {run_id}")
                if flag != ("t|cost" if flagged else "f|"):
                    p.append(f"driftmon.runs: {flag}")
        ck.check(f"check: the stored reference's figures and the batch's equal the oracle's; "
                 f"retrain reason \"cost\" {'held' if flagged else 'not held'} with a limit "
                 f"{'below' if flagged else 'above'} the increase"
                 f"{', read by column groups (limits.memory 1 MiB)' if memory else ''}", p)

    # other costs than the stored ones: not compared, said why
    c = config("costs.json", cost={"fn": 5, "fp": 1})
    rc, so, se = run([dm, "check", "a", "--config", c])
    p = [] if rc == 0 else [f"exit {rc}: {se.strip()}"]
    if not p:
        run_id = so.split()[1].rstrip(":")
        perf = json.load(open(W(f"reports/run-{run_id}.json")))["performance"]
        if perf["reference"] is not None or "costs" not in (perf.get("reference_note") or ""):
            p.append(f"reference {perf['reference']}, note {perf.get('reference_note')!r}")
        if perf["cost_increase"] is not None:
            p.append("a cost increase against figures computed under other costs")
        p += diff_side("current", perf["current"],
                       perf_rules.evaluate(W("cur.csv"), dict(model, cost={"fn": 5, "fp": 1})))
    ck.check("check under other costs than the reference's: its figures not used, said why", p)

    # a label 2 in the batch
    q("INSERT INTO applications SELECT * FROM applications WHERE batch_id = 'a' LIMIT 50")
    q("UPDATE applications SET batch_id = 'bad' WHERE ctid IN (SELECT ctid FROM applications "
      "WHERE batch_id = 'a' ORDER BY ctid DESC LIMIT 50)")
    q("UPDATE applications SET \"TARGET\" = 2 WHERE batch_id = 'bad' AND \"SK_ID_CURR\" = "
      "(SELECT max(\"SK_ID_CURR\") FROM applications WHERE batch_id = 'bad')")
    rc, so, se = run([dm, "check", "bad", "--config", cfg])
    want = ["applications", "row ", '"TARGET"', '"2"', "not 0 or 1"]
    miss = [x for x in want if x not in se]
    ck.check("check on a batch with a label 2: exit 2 naming the table, row, column and value",
             [] if rc == 2 and not miss else [f"exit {rc}: {se.strip()} (missing {miss})"])

    print(f"perf_db: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()

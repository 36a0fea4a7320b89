#!/usr/bin/python3
"""The model's figures (issue 17) through the database: `driftmon reference load --importance`,
`check` and `serve`, against `driftmon compare` on the same rows and against the project's
oracle (tests/oracle/model_rules.py, numpy).  Run by model_db.sh, which starts PostgreSQL.

Expected values: the oracle's, computed at test time from the CSV files and the configuration
(issue 17's formulas), and `compare`'s JSON on the same rows, which check's must equal field for
field (the same doubles: JSON numbers are compared after parsing, == not within a tolerance);
the stored sha256 is sha256sum's of the importance file, the stored pairs the file's as the
oracle reads it.  Cases:
  - `reference load --table ... --importance FILE`: the reference row's importance_sha256, the
    driftmon.reference_importance pairs;
  - `check` of two batches (bureau-like columns drift with the score stable; a high-importance
    column and the score move): its JSON equals compare's in every model field and the oracle's;
    driftmon.runs holds the same figures (importance_weighted_share, importance_sha256,
    score_psi, score_band, approval rates, retrain_reasons) and driftmon.column_history each
    column's importance;
  - a config model.importance that differs from the stored one: a warning, the stored one used;
  - a reference without stored importances: the config's file is used and recorded;
  - the stored importances changed behind driftmon's back (file bytes, or a pair): refused;
  - the score column missing from the batch table: exit 2 naming it;
  - `serve`: a batch whose score shifts flags retraining with reason score_psi (as the oracle
    says), the hook's payload and the run row list it with the stored importances' figures;
  - `driftmon history --runs`: its csv equals driftmon.runs field for field, its json each
    run's JSON report; the history page draws the two run-level charts over the runs.

Usage: model_db.py DRIFTMON WORKDIR   (PG* environment: the test's cluster)
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import model  # noqa: E402  (tests/integration/model.py: data, the oracle check)
import model_rules  # noqa: E402

MODEL_KEYS = ("importance_weighted_share", "importance_weighted_share_note", "importance_sha256",
              "importance_not_tested", "prediction_drift", "retrain", "number_of_columns",
              "number_of_drifted_columns", "share_of_drifted_columns")


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def q(sql):
    rc, so, se = run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "|", "-c", sql])
    if rc != 0:
        raise RuntimeError(f"psql: {se.strip()}")
    return so.rstrip("\n")


def qv(sql):
    """q for a query that verifies: its error is the text it returns (then a check fails)."""
    try:
        return q(sql)
    except RuntimeError as e:
        return str(e)


def num(text):
    return None if text == "" else float(text)


def main():
    warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
    driftmon, work = sys.argv[1], sys.argv[2]
    W = lambda name: os.path.join(work, name)  # noqa: E731
    ck = model.Checker(driftmon, work)

    # ---- data: model.py's generator (hi1, hi2 important; lo1..lo6 bureau-like; the score) ----
    imp_csv = W("importance.csv")
    with open(imp_csv, "w") as f:
        f.write("column,importance\nhi1,420.5\nhi2,300\n")
        for k in range(1, 7):
            f.write(f"lo{k},{k * 2.25}\n")
        f.write('"cat",7\nTARGET,0\nnot_a_column,1.5\n')
    other_imp = W("other.json")
    with open(other_imp, "w") as f:
        json.dump({"hi1": 1, "lo1": 50, "lo2": 50}, f)
    ref_csv = W("ref.csv")
    model.write_csv(ref_csv, model.make(1, 4000, 0, 0, 0))
    batches = {"a": model.make(2, 2500, 0, 1.5, 0),      # bureau columns drift, score stable
               "b": model.make(3, 2500, 1.0, 0, 0.6),    # a high-importance column and the score
               "s": model.make(6, 2500, 0, 0, 1.5)}      # the score alone shifts (serve)
    for b, d in batches.items():
        model.write_csv(W(f"cur_{b}.csv"), d)
    os.chmod(work, 0o777)
    for name in os.listdir(work):
        os.chmod(W(name), 0o644)

    csv2sql = os.path.join(HERE, "csv2sql.py")
    _, train_sql, _ = run([sys.executable, csv2sql, ref_csv, "train"])
    _, apps_sql, _ = run([sys.executable, csv2sql, W("cur_a.csv"), "applications", "batch_id:text",
                          "created_at:timestamptz:'2026-01-15 12:00+00'"])
    q(train_sql)
    q(apps_sql)
    cols = ",".join(f'"{c}"' for c in pd.read_csv(ref_csv, nrows=1).columns)
    q(f"\\copy train ({cols}) FROM '{ref_csv}' WITH (FORMAT csv, HEADER true)")
    for b in ("a", "b"):
        q(f"\\copy applications ({cols}) FROM '{W(f'cur_{b}.csv')}' WITH (FORMAT csv, HEADER true)")
        q(f"UPDATE applications SET batch_id = '{b}' WHERE batch_id IS NULL")
    q("CREATE TABLE apps_noscore AS SELECT * FROM applications")
    q("ALTER TABLE apps_noscore DROP COLUMN score")

    base = {"columns": {"exclude": ["TARGET"]},
            "model": {"score_column": "score", "decision_threshold": 0.35},
            "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25}}

    def db_config(name, ref_name="m", table="applications", importance=None, extra=None):
        c = json.loads(json.dumps(base))
        c.update({"source": {"table": table, "batch_column": "batch_id",
                             "timestamp_column": "created_at"},
                  "reference": {"name": ref_name}, "reports": {"dir": W("reports")},
                  "cache": {"dir": W("cache")}})
        if importance:
            c["model"]["importance"] = importance
        c.update(extra or {})
        path = W(name + ".json")
        with open(path, "w") as f:
            json.dump(c, f)
        return path, c

    cfg, _ = db_config("db")
    rc, so, se = run([driftmon, "init", "--config", cfg])
    if rc != 0:
        ck.bad("driftmon init", [se.strip()])
        return finish(ck)

    # ---- reference load --importance ---------------------------------------------------
    rc, so, se = run([driftmon, "reference", "load", "--table", "train", "--importance", imp_csv,
                      "--config", cfg])
    file_sha = run(["sha256sum", imp_csv])[1].split()[0]
    if rc != 0:
        ck.bad("reference load --table --importance", [f"exit {rc}: {se.strip()}"])
        # without its importances, so that every later check still runs (and says what fails)
        run([driftmon, "reference", "load", "--table", "train", "--config", cfg])
    got = qv("SELECT importance_sha256 FROM driftmon.reference WHERE name = 'm'")
    want_pairs = list(model_rules.read_importance(imp_csv).items())
    pairs = [tuple(r.split("|")) for r in
             qv("SELECT column_name, importance FROM driftmon.reference_importance i JOIN "
               "driftmon.reference r ON r.id = i.reference_id WHERE r.name = 'm' "
               "ORDER BY ordinal").split("\n")]
    pairs = [(r[0], float(r[1])) if len(r) == 2 else r for r in pairs]
    problems = []
    if got != file_sha:
        problems.append(f"stored importance_sha256 {got} != sha256sum {file_sha}")
    if pairs != want_pairs:
        problems.append(f"stored pairs {pairs} != the file's {want_pairs}")
    if file_sha not in so:
        problems.append(f"output does not name the sha256: {so.strip()}")
    ck.bad("reference load --importance", problems) if problems else \
        ck.ok("reference load --table --importance: the file's sha256 and pairs stored with it")

    # ---- check == compare == oracle; the run row and column_history ---------------------
    cmp_cfg = json.loads(json.dumps(base))
    cmp_cfg["model"]["importance"] = imp_csv
    run_ids = {}
    for b in ("a", "b"):
        rc, so, se = run([driftmon, "check", b, "--config", cfg])
        if rc != 0:
            ck.bad(f"check batch {b}", [f"exit {rc}: {se.strip()}"])
            continue
        run_id = so.split()[1].rstrip(":")
        run_ids[b] = run_id
        dm = json.load(open(W(f"reports/run-{run_id}.json")))
        crc, _, cse, cj = ck.compare(ref_csv, W(f"cur_{b}.csv"), cmp_cfg)
        if crc != 0:
            ck.bad(f"compare batch {b}", [cse.strip()])
            continue
        p = [f"{k}: check {dm.get(k)!r} != compare {cj.get(k)!r}" for k in MODEL_KEYS
             if dm.get(k) != cj.get(k)]
        for name, c in cj["drift_by_columns"].items():
            d = dm["drift_by_columns"].get(name, {})
            for k in ("importance", "drift_score", "drift_detected"):
                if d.get(k) != c[k]:
                    p.append(f"{name}.{k}: check {d.get(k)!r} != compare {c[k]!r}")
        if dm["importance_sha256"] != file_sha:
            p.append(f"importance_sha256 {dm['importance_sha256']} != sha256sum {file_sha}")
        ck.last_importance, ck.last_config = imp_csv, cmp_cfg
        orc = model_rules.model_verdict(pd.read_csv(ref_csv), pd.read_csv(W(f"cur_{b}.csv")),
                                        cmp_cfg)
        p += ["oracle: " + x for x in ck.check(dm, orc)]
        ck.bad(f"batch {b}: check's model figures", p) if p else \
            ck.ok(f"batch {b}: check's model figures equal compare's and the oracle's "
                  f"(reasons {dm['retrain']['reasons']})")

        try:
            row = q("SELECT importance_weighted_share, importance_sha256, score_column, score_psi, "
                    "score_band, reference_approval_rate, current_approval_rate, "
                    f"array_to_json(retrain_reasons) FROM driftmon.runs WHERE run_id = {run_id}")
            hist = dict((r.split("|")[0], num(r.split("|")[1])) for r in q(
                "SELECT column_name, importance FROM driftmon.column_history "
                f"WHERE run_id = {run_id}").split("\n"))
        except RuntimeError as e:
            ck.bad(f"batch {b}: the run row and column_history", [str(e)])
            continue
        f = row.split("|")
        pd_ = dm["prediction_drift"]
        want = [dm["importance_weighted_share"], dm["importance_sha256"], pd_["column"],
                pd_["psi"], pd_["band"], pd_["reference_approval_rate"],
                pd_["current_approval_rate"], dm["retrain"]["reasons"]]
        have = [num(f[0]), f[1], f[2], num(f[3]), f[4], num(f[5]), num(f[6]), json.loads(f[7])]
        p = [f"{k}: row {h!r} != report {w!r}" for k, h, w in
             zip(("importance_weighted_share", "importance_sha256", "score_column", "score_psi",
                  "score_band", "reference_approval_rate", "current_approval_rate",
                  "retrain_reasons"), have, want) if h != w]
        for name, c in dm["drift_by_columns"].items():
            if hist.get(name, "absent") != c["importance"]:
                p.append(f"column_history {name}.importance {hist.get(name, 'absent')!r} != "
                         f"report {c['importance']!r}")
        ck.bad(f"batch {b}: the run row and column_history", p) if p else \
            ck.ok(f"batch {b}: driftmon.runs and driftmon.column_history hold the report's figures")

    # ---- a config importance that differs from the stored one ---------------------------
    q("INSERT INTO applications SELECT * FROM applications WHERE batch_id = 'a'")
    q("UPDATE applications SET batch_id = 'a2' WHERE ctid IN (SELECT ctid FROM applications "
      "WHERE batch_id = 'a' OFFSET 2500)")
    cfg_other, _ = db_config("db_other", importance=other_imp)
    rc, so, se = run([driftmon, "check", "a2", "--config", cfg_other])
    p = []
    if rc != 0:
        p.append(f"exit {rc}: {se.strip()}")
    else:
        dm = json.load(open(W(f"reports/run-{so.split()[1].rstrip(':')}.json")))
        if dm["importance_sha256"] != file_sha:
            p.append(f"used {dm['importance_sha256']}, not the stored {file_sha}")
        if "model.importance differs" not in se or file_sha not in se:
            p.append(f"no warning naming the stored sha256: {se.strip()[:300]}")
    ck.bad("config importance differing from the stored one", p) if p else \
        ck.ok("a config model.importance that differs: warned, the stored importances used")

    # ---- a reference without stored importances: the config's file --------------------
    cfg_plain, _ = db_config("db_plain", ref_name="plain")
    rc, so, se = run([driftmon, "reference", "load", ref_csv, "--config", cfg_plain])
    cfg_plain_imp, _ = db_config("db_plain_imp", ref_name="plain", importance=other_imp)
    q("UPDATE applications SET batch_id = 'a3' WHERE batch_id = 'a2'")
    rc2, so2, se2 = run([driftmon, "check", "a3", "--config", cfg_plain_imp])
    other_sha = hashlib.sha256(open(other_imp, "rb").read()).hexdigest()
    stored = qv("SELECT coalesce(importance_sha256, 'none') FROM driftmon.reference "
               "WHERE name = 'plain'")
    p = []
    if rc != 0 or rc2 != 0:
        p.append(f"exit {rc}/{rc2}: {se.strip()} {se2.strip()}")
    else:
        rid = so2.split()[1].rstrip(":")
        dm = json.load(open(W(f"reports/run-{rid}.json")))
        row = qv(f"SELECT importance_sha256 FROM driftmon.runs WHERE run_id = {rid}")
        if stored != "none" or dm["importance_sha256"] != other_sha or row != other_sha:
            p.append(f"stored {stored}, report {dm['importance_sha256']}, row {row}, "
                     f"want none and {other_sha}")
    ck.bad("reference without importances", p) if p else \
        ck.ok("a reference without importances: the config's file used and recorded")

    # ---- stored importances changed behind driftmon's back: refused --------------------
    for label, table, change in (
            ("a pair", "reference_importance",
             "UPDATE driftmon.reference_importance SET importance = importance * 2 "
             "WHERE ordinal = 0 AND reference_id = (SELECT max(id) FROM driftmon.reference "
             "WHERE name = 't')"),
            ("the file's bytes", "reference",
             "UPDATE driftmon.reference SET importance_file = importance_file || '\\x0a'::bytea "
             "WHERE name = 't'")):
        rc, so, se = run([driftmon, "reference", "load", "--table", "train", "--importance",
                          imp_csv, "--name", "t", "--config", cfg])
        qv(f"ALTER TABLE driftmon.{table} DISABLE TRIGGER append_only; {change}; "
          f"ALTER TABLE driftmon.{table} ENABLE TRIGGER append_only")
        cfg_t, _ = db_config("db_t", ref_name="t")
        before = q("SELECT count(*) FROM driftmon.run")
        rc2, so2, se2 = run([driftmon, "check", "b", "--config", cfg_t])
        after = q("SELECT count(*) FROM driftmon.run")
        if rc2 == 0 or "stored importances were changed" not in se2 or before != after:
            ck.bad(f"stored importances changed ({label})",
                   [f"exit {rc2}, runs {before} -> {after}: {se2.strip()[:300]}"])
        else:
            ck.ok(f"stored importances changed ({label}): the check refused, no run")

    # ---- the score column missing from the batch table: exit 2 -------------------------
    cfg_ns, _ = db_config("db_ns", table="apps_noscore")
    rc, so, se = run([driftmon, "check", "b", "--config", cfg_ns])
    if rc != 2 or 'score column "score"' not in se:
        ck.bad("score column absent from the batch table", [f"exit {rc}: {se.strip()[:300]}"])
    else:
        ck.ok("score column absent from the batch table: exit 2 naming it")

    # ---- serve: the score shifts, the hook's payload says score_psi -------------------
    hook_dir = W("hook")
    os.makedirs(hook_dir)
    os.chmod(hook_dir, 0o777)
    hook = W("hook.sh")
    with open(hook, "w") as f:
        f.write(f'#!/bin/sh\ncat >"{hook_dir}/payload-$DRIFTMON_RUN_ID.json"\n')
    os.chmod(hook, 0o755)
    serve_retrain = {"fraction": 1.0, "score_psi": 0.25, "hook": [hook], "hook_timeout": 10}
    cfg_s, cs = db_config("db_serve", extra={"retrain": serve_retrain})
    orc_cfg = json.loads(json.dumps(cs))
    orc_cfg["model"]["importance"] = imp_csv
    orc = model_rules.model_verdict(pd.read_csv(ref_csv), pd.read_csv(W("cur_s.csv")), orc_cfg)
    if orc["retrain_reasons"] != ["score_psi"]:
        ck.bad("serve: the test's data", [f"the oracle's reasons {orc['retrain_reasons']}, "
                                          "want only score_psi: the batch does not test it"])
        return finish(ck)
    q(f"\\copy applications ({cols}) FROM '{W('cur_s.csv')}' WITH (FORMAT csv, HEADER true)")
    q("UPDATE applications SET batch_id = 's' WHERE batch_id IS NULL")
    q("SELECT driftmon.submit_batch('s')")
    log = open(W("serve.log"), "w")
    daemon = subprocess.Popen([driftmon, "serve", "--config", cfg_s, "--poll", "0.5"],
                              stdout=log, stderr=log)
    run_id, payload = None, None
    try:
        end = time.time() + 60
        while time.time() < end:
            r = q("SELECT r.id FROM driftmon.run r JOIN driftmon.retrain_outbox o ON o.run_id = r.id "
                  "WHERE r.batch = 's' AND o.delivered_at IS NOT NULL")
            if r:
                run_id = r
                break
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
    p = []
    if not run_id:
        p.append("no delivered alert for batch s in 60 s: " + open(W("serve.log")).read()[-600:])
    else:
        try:
            payload = json.load(open(os.path.join(hook_dir, f"payload-{run_id}.json")))
        except (OSError, ValueError) as e:
            p.append(f"hook payload: {e}")
    if payload is not None:
        if payload["retrain"]["reasons"] != ["score_psi"] or not payload["retrain"]["flagged"]:
            p.append(f"payload retrain {payload['retrain']}")
        if not model.close(payload["prediction_drift"]["psi"], orc["prediction_drift"]["psi"]):
            p.append(f"payload psi {payload['prediction_drift']['psi']} != oracle "
                     f"{orc['prediction_drift']['psi']}")
        if payload["importance_sha256"] != file_sha or not model.close(
                payload["importance_weighted_share"], orc["importance_weighted_share"]):
            p.append(f"payload importances {payload['importance_sha256']} "
                     f"{payload['importance_weighted_share']} != stored {file_sha} / oracle "
                     f"{orc['importance_weighted_share']}")
        row = qv(f"SELECT array_to_json(retrain_reasons), score_band, score_psi FROM "
                 f"driftmon.runs WHERE run_id = {run_id}").split("|")
        if len(row) != 3 or json.loads(row[0] or "null") != ["score_psi"] or row[1] != payload["prediction_drift"]["band"] \
                or float(row[2]) != payload["prediction_drift"]["psi"]:
            p.append(f"run row {row}")
    ck.bad("serve: score shift", p) if p else \
        ck.ok(f"serve: the score's shift (PSI {payload['prediction_drift']['psi']:.3f}) flags "
              "retraining for score_psi; the hook's payload and the run row say so")
    history_runs(ck, driftmon, cfg, W)
    history_page(ck, W)
    return finish(ck)


RUN_FIELDS = ("run_id", "finished_at", "reference_name", "batch", "window_start", "window_end",
              "number_of_columns", "number_of_drifted_columns", "share_of_drifted_columns",
              "importance_weighted_share", "score_psi", "score_band", "retrain_flagged",
              "retrain_reasons", "monitor")


def history_runs(ck, driftmon, cfg, W):
    """`driftmon history --runs`: csv equals driftmon.runs (numbers parsed and compared with ==,
    finished_at as the same instant), json equals each run's JSON report."""
    import csv
    import datetime
    import io
    p = []
    rc, so, se = run([driftmon, "history", "--runs", "--format", "csv", "--config", cfg])
    if rc != 0:
        ck.bad("history --runs --format csv", [f"exit {rc}: {se.strip()[:300]}"])
        return
    rows = list(csv.reader(io.StringIO(so, newline="")))
    if not rows or tuple(rows[0]) != RUN_FIELDS:
        p.append(f"header {rows[:1]}")
    db = [r.split("|") for r in q(
        "SELECT run_id, extract(epoch FROM finished_at), reference_name, coalesce(batch, ''), "
        "coalesce(extract(epoch FROM window_start)::text, ''), "
        "coalesce(extract(epoch FROM window_end)::text, ''), number_of_columns, "
        "number_of_drifted_columns, share_of_drifted_columns, "
        "coalesce(importance_weighted_share::text, ''), coalesce(score_psi::text, ''), "
        "coalesce(score_band, ''), retrain_flagged, coalesce(array_to_json(retrain_reasons)::text, "
        "'null'), monitor FROM driftmon.runs ORDER BY finished_at, run_id").split("\n")]
    got = rows[1:]
    if len(got) != len(db) or len(db) < 4:
        p.append(f"{len(got)} rows, driftmon.runs has {len(db)} (want at least 4)")

    def epoch(t):
        return "" if t == "" else datetime.datetime.strptime(
            t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()

    for g, d in zip(got, db):
        have = [int(g[0]), epoch(g[1]), g[2], g[3], epoch(g[4]), epoch(g[5]), int(g[6]),
                int(g[7]), float(g[8]), num(g[9]), num(g[10]), g[11], g[12],
                g[13].split() if g[13] else None, g[14]]
        want = [int(d[0]), float(d[1]), d[2], d[3], float(d[4]) if d[4] else "",
                float(d[5]) if d[5] else "", int(d[6]), int(d[7]), float(d[8]), num(d[9]),
                num(d[10]), d[11], d[12], json.loads(d[13]) or None, d[14]]
        p += [f"run {d[0]} {k}: csv {h!r} != driftmon.runs {w!r}"
              for k, h, w in zip(RUN_FIELDS, have, want) if h != w]
    models = sum(1 for d in db if d[10] != "")
    if models < 3:
        p.append(f"only {models} runs with a score PSI: the test does not test it")
    ck.bad("history --runs --format csv", p) if p else \
        ck.ok(f"history --runs --format csv: {len(db)} runs, each field equal to driftmon.runs")

    p = []
    rc, so, se = run([driftmon, "history", "--runs", "--reference", "m", "--format", "json",
                      "--config", cfg])
    if rc != 0:
        ck.bad("history --runs --format json", [f"exit {rc}: {se.strip()[:300]}"])
        return
    arr = json.loads(so)
    n_m = int(q("SELECT count(*) FROM driftmon.runs WHERE reference_name = 'm'"))
    if len(arr) != n_m:
        p.append(f"{len(arr)} runs for reference m, driftmon.runs has {n_m}")
    for o in arr:
        rep = json.load(open(W(f"reports/run-{o['run_id']}.json")))
        pd_ = rep.get("prediction_drift") or {}
        want = {"share_of_drifted_columns": rep["share_of_drifted_columns"],
                "importance_weighted_share": rep["importance_weighted_share"],
                "score_psi": pd_.get("psi"), "score_band": pd_.get("band"),
                "retrain_flagged": rep["retrain"]["flagged"],
                "retrain_reasons": rep["retrain"]["reasons"]}
        p += [f"run {o['run_id']} {k}: json {o.get(k)!r} != report {w!r}"
              for k, w in want.items() if o.get(k) != w]
    ck.bad("history --runs --format json", p) if p else \
        ck.ok(f"history --runs --reference m --format json: {len(arr)} runs equal to their reports")


def history_page(ck, W):
    """The reference's history page: the two run-level charts over its runs, one point per run
    with the figure, at the documented geometry (reports/svg.h)."""
    import glob
    import re
    pages = glob.glob(W("reports/history-m-*.html"))
    if len(pages) != 1:
        ck.bad("history page: run charts", [f"pages {pages}"])
        return
    h = open(pages[0]).read()
    rows = [r.split("|") for r in q(
        "SELECT coalesce(v.importance_weighted_share::text, ''), "
        "coalesce(v.score_psi::text, ''), coalesce((r.report -> 'retrain' ->> 'score_psi'), '') FROM driftmon.runs v JOIN "
        "driftmon.run r ON r.id = v.run_id WHERE reference_name = 'm' "
        "ORDER BY v.finished_at, v.run_id").split("\n")]
    n = len(rows)
    p = []
    for title in (f"drifted share and importance-weighted share over {n} runs",
                  f"score PSI over {n} runs"):
        if f'aria-label="{title}"' not in h:
            p.append(f"no chart {title!r}")
    x = [252.0] if n == 1 else [34 + i * 436 / (n - 1) for i in range(n)]
    psi = [num(r[1]) for r in rows]
    lim = [num(r[2]) for r in rows]
    top = max([0.3] + [1.15 * v for v in psi + lim if v is not None])
    want_psi = [(f"{x[i]:.1f}", f"{122 - min(v, top) / top * 114:.1f}")
                for i, v in enumerate(psi) if v is not None]
    have_psi = re.findall(r'<circle class="psi" fill="[^"]*" cx="([^"]*)" cy="([^"]*)"', h)
    if have_psi != want_psi:
        p.append(f"psi points {have_psi} != {want_psi}")
    want_w = [f"{x[i]:.1f}" for i, r in enumerate(rows) if r[0] != ""]
    have_w = re.findall(r'<circle class="wshare" fill="[^"]*" cx="([^"]*)"', h)
    if have_w != want_w:
        p.append(f"weighted share points at x {have_w} != {want_w}")
    bands = f'd="M34.0 {122 - 0.1 / top * 114:.1f}H470.0M34.0 {122 - 0.25 / top * 114:.1f}H470.0"'
    if bands not in h:
        p.append(f"no band lines {bands}")
    ck.bad("history page: run charts", p) if p else \
        ck.ok(f"history page: the shares and score PSI charts over {n} runs, "
              f"{len(want_psi)} PSI points where the geometry puts them")


def finish(ck):
    print(f"model_db: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()

-- 015_performance.sql - the model's realised performance per cohort, once the outcomes are
-- known (issue 21).
--
-- A cohort is the rows of one run: a batch (the batch column = the run's batch) or a window
-- (the timestamp column in [window_start, window_end)), read by the same predicate as the
-- run (monitor/perfcohort.c).  The daemon evaluates a cohort once model.label_delay has
-- passed since its run and its labels are filled, and again only when its labels change;
-- each evaluation is a new row of driftmon.performance, never an update.
--
--   - driftmon.performance: append-only (002's triggers) and a link of the hash chain (009),
--     its bytes (`driftmon verify` recomputes them, monitor/chain.c):
--       the 22 ASCII bytes "driftmon.performance/1", then enc_i8 seq, enc_i8 id,
--       enc_text monitor, enc_i8 run_id, enc_text cohort_kind, enc_ts evaluated_at,
--       enc_i8 supersedes, enc_text label_column, enc_text score_column,
--       enc_f8 decision_threshold, enc_f8 cost_fn, enc_f8 cost_fp, enc_i8 rows,
--       enc_i8 left_out, enc_i8 tp, enc_i8 fp, enc_i8 tn, enc_i8 fn, enc_f8 auc,
--       enc_f8 recall, enc_f8 precision, enc_f8 business_cost, enc_f8 optimal_threshold,
--       enc_f8 business_cost_at_optimal, enc_i8 reference_id, enc_f8 reference_business_cost,
--       enc_f8 reference_auc, enc_f8 reference_optimal_threshold, enc_f8 cost_increase,
--       enc_f8 retrain_cost_increase, enc_bool retrain_flagged, enc_i8 labels_count,
--       enc_text labels_digest, enc_text config_sha256, enc_text driftmon_version
--     A figure that is undefined (AUC of one class, a cost of no rows) is NULL.
--   - labels_count and labels_digest: the labels the evaluation saw, the count of rows with a
--     label and the sum (numeric, as text) over them of
--     hashfloat8extended(score::float8, hashfloat8extended(label::float8, 0))
--     (monitor/perfcohort.c): it depends on the multiset of (score, label) pairs only,
--     which is what the figures depend on, so a change of a label that changes a figure
--     changes it (but for a hash collision) and a row rewritten unchanged does not.  The
--     daemon compares them with the cohort's current ones to re-evaluate.
--   - supersedes: the run's previous evaluation (set by the writer, not the client).
--   - driftmon.record_performance(...): the daemon's only way in (SECURITY DEFINER, search_path
--     fixed, granted to the daemon's role): the row, chained; NULL when the run's latest
--     evaluation saw the same labels (another daemon was first); with retrain_flagged, a row
--     of driftmon.performance_outbox (the retrain hook, reason "cost", monitor/outbox.c) and a
--     NOTIFY on notify_channel.
--   - driftmon.performance_history: what auditors read (`driftmon history --performance`).
--   - driftmon.verify_chain() covers the new links too.
-- Runs as the owner (`driftmon init` SET ROLEs to it).  Idempotent.

CREATE TABLE IF NOT EXISTS driftmon.performance (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    monitor text NOT NULL CHECK (driftmon.monitor_name_ok(monitor)),
    run_id bigint NOT NULL REFERENCES driftmon.run (id),
    cohort_kind text NOT NULL CHECK (cohort_kind IN ('batch', 'window')),
    evaluated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    supersedes bigint REFERENCES driftmon.performance (id),
    label_column text NOT NULL,
    score_column text NOT NULL,
    decision_threshold float8 NOT NULL,
    cost_fn float8 NOT NULL CHECK (cost_fn >= 0),
    cost_fp float8 NOT NULL CHECK (cost_fp >= 0),
    rows bigint NOT NULL CHECK (rows >= 0),
    left_out bigint NOT NULL CHECK (left_out >= 0),
    tp bigint NOT NULL CHECK (tp >= 0),
    fp bigint NOT NULL CHECK (fp >= 0),
    tn bigint NOT NULL CHECK (tn >= 0),
    fn bigint NOT NULL CHECK (fn >= 0),
    auc float8,
    recall float8,
    precision float8,
    business_cost float8,
    optimal_threshold float8,
    business_cost_at_optimal float8,
    reference_id bigint REFERENCES driftmon.reference (id),
    reference_business_cost float8,
    reference_auc float8,
    reference_optimal_threshold float8,
    cost_increase float8,
    retrain_cost_increase float8,
    retrain_flagged boolean NOT NULL,
    labels_count bigint NOT NULL CHECK (labels_count >= 0),
    labels_digest text NOT NULL,
    config_sha256 text CHECK (config_sha256 ~ '^[0-9a-f]{64}$'),
    driftmon_version text NOT NULL,
    seq bigint NOT NULL UNIQUE,
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash bytea NOT NULL CHECK (octet_length(row_hash) = 32),
    CHECK (tp + fp + tn + fn = rows)
);
CREATE INDEX IF NOT EXISTS performance_run ON driftmon.performance (run_id, id);
COMMENT ON TABLE driftmon.performance IS
    'the realised performance of a run''s cohort, one row per evaluation (append-only, chained)';

DROP TRIGGER IF EXISTS append_only ON driftmon.performance;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.performance
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.performance;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.performance
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON driftmon.performance FROM PUBLIC;

-- The bytes hashed for one performance row (see above).
CREATE OR REPLACE FUNCTION driftmon.performance_bytes(p driftmon.performance) RETURNS bytea
LANGUAGE sql STABLE SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT convert_to('driftmon.performance/1', 'UTF8')
        || driftmon.enc_i8(p.seq)
        || driftmon.enc_i8(p.id)
        || driftmon.enc_text(p.monitor)
        || driftmon.enc_i8(p.run_id)
        || driftmon.enc_text(p.cohort_kind)
        || driftmon.enc_ts(p.evaluated_at)
        || driftmon.enc_i8(p.supersedes)
        || driftmon.enc_text(p.label_column)
        || driftmon.enc_text(p.score_column)
        || driftmon.enc_f8(p.decision_threshold)
        || driftmon.enc_f8(p.cost_fn)
        || driftmon.enc_f8(p.cost_fp)
        || driftmon.enc_i8(p.rows)
        || driftmon.enc_i8(p.left_out)
        || driftmon.enc_i8(p.tp)
        || driftmon.enc_i8(p.fp)
        || driftmon.enc_i8(p.tn)
        || driftmon.enc_i8(p.fn)
        || driftmon.enc_f8(p.auc)
        || driftmon.enc_f8(p.recall)
        || driftmon.enc_f8(p.precision)
        || driftmon.enc_f8(p.business_cost)
        || driftmon.enc_f8(p.optimal_threshold)
        || driftmon.enc_f8(p.business_cost_at_optimal)
        || driftmon.enc_i8(p.reference_id)
        || driftmon.enc_f8(p.reference_business_cost)
        || driftmon.enc_f8(p.reference_auc)
        || driftmon.enc_f8(p.reference_optimal_threshold)
        || driftmon.enc_f8(p.cost_increase)
        || driftmon.enc_f8(p.retrain_cost_increase)
        || driftmon.enc_bool(p.retrain_flagged)
        || driftmon.enc_i8(p.labels_count)
        || driftmon.enc_text(p.labels_digest)
        || driftmon.enc_text(p.config_sha256)
        || driftmon.enc_text(p.driftmon_version)
$$;

CREATE OR REPLACE FUNCTION driftmon.performance_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    head driftmon.chain_head;
BEGIN
    SELECT * INTO STRICT head FROM driftmon.chain_head WHERE id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.row_hash := sha256(NEW.prev_hash || driftmon.performance_bytes(NEW));
    UPDATE driftmon.chain_head SET seq = NEW.seq, hash = NEW.row_hash WHERE id;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS hash_chain ON driftmon.performance;
CREATE TRIGGER hash_chain BEFORE INSERT ON driftmon.performance
    FOR EACH ROW EXECUTE FUNCTION driftmon.performance_chain();

-- ---- retrain alerts with reason "cost" -------------------------------------------------
-- As driftmon.retrain_outbox (001, 004, 008), keyed by the evaluation: delivered at least
-- once, the performance id the idempotency key.
CREATE TABLE IF NOT EXISTS driftmon.performance_outbox (
    performance_id bigint PRIMARY KEY REFERENCES driftmon.performance (id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at timestamptz,
    dead_at timestamptz,
    last_error text,
    backoff_s float8,
    last_output text,
    last_output_bytes bigint CHECK (last_output_bytes >= 0)
);
CREATE INDEX IF NOT EXISTS performance_outbox_due ON driftmon.performance_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;

-- ---- what auditors read ----------------------------------------------------------------
CREATE OR REPLACE VIEW driftmon.performance_history AS
SELECT p.monitor,
       p.cohort_kind,
       CASE WHEN p.cohort_kind = 'batch' THEN r.batch
            ELSE r.window_start::text || ' / ' || r.window_end::text END AS cohort,
       p.run_id,
       p.id AS evaluation_id,
       p.evaluated_at,
       p.supersedes,
       p.supersedes IS NOT NULL AS re_evaluated,
       p.rows,
       p.left_out,
       p.tp,
       p.fp,
       p.tn,
       p.fn,
       p.auc,
       p.recall,
       p.precision,
       p.business_cost,
       p.optimal_threshold,
       p.business_cost_at_optimal,
       p.decision_threshold,
       p.cost_fn,
       p.cost_fp,
       ref.name AS reference_name,
       ref.version AS reference_version,
       p.reference_business_cost,
       p.reference_auc,
       p.reference_optimal_threshold,
       p.cost_increase,
       p.retrain_cost_increase,
       p.retrain_flagged,
       p.labels_count,
       r.window_start,
       r.window_end,
       r.batch
FROM driftmon.performance p
JOIN driftmon.run r ON r.id = p.run_id
LEFT JOIN driftmon.reference ref ON ref.id = p.reference_id;

CREATE OR REPLACE VIEW driftmon.audit_performance AS SELECT * FROM driftmon.performance;

-- ---- the daemon's writes -----------------------------------------------------------------
-- One evaluation of run run_id's cohort.  f: a JSON object of the figures, numbers as text
-- (float8's input: 'Infinity' for a threshold that refuses nobody; null for an undefined
-- figure): rows, left_out, tp, fp, tn, fn, auc, recall, precision, business_cost,
-- optimal_threshold, business_cost_at_optimal, reference_id, reference_business_cost,
-- reference_auc, reference_optimal_threshold, cost_increase, retrain_cost_increase,
-- retrain_flagged (boolean), label_column, score_column, decision_threshold, cost_fn,
-- cost_fp, labels_count, labels_digest, config_sha256, driftmon_version.  The run must be
-- monitor's.  Returns the new row's id; NULL when the run's latest evaluation has the same
-- labels_count and labels_digest (nothing new: another daemon was first).
CREATE OR REPLACE FUNCTION driftmon.record_performance(monitor text, run_id bigint, f jsonb,
                                                       notify_channel text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    r driftmon.run;
    prev driftmon.performance;
    new_id bigint;
BEGIN
    SELECT * INTO r FROM driftmon.run x WHERE x.id = record_performance.run_id;
    IF NOT FOUND OR r.monitor IS DISTINCT FROM record_performance.monitor THEN
        RAISE EXCEPTION 'driftmon.record_performance: run % is not a run of monitor "%"',
                        record_performance.run_id, left(record_performance.monitor, 64)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('driftmon.performance:'
                                                   || record_performance.run_id::text, 0));
    SELECT * INTO prev FROM driftmon.performance p WHERE p.run_id = record_performance.run_id
        ORDER BY p.id DESC LIMIT 1;
    IF FOUND AND prev.labels_count = (f ->> 'labels_count')::bigint
       AND prev.labels_digest = f ->> 'labels_digest' THEN
        RETURN NULL;
    END IF;
    INSERT INTO driftmon.performance (
        monitor, run_id, cohort_kind, supersedes, label_column, score_column,
        decision_threshold, cost_fn, cost_fp, rows, left_out, tp, fp, tn, fn, auc, recall,
        precision, business_cost, optimal_threshold, business_cost_at_optimal, reference_id,
        reference_business_cost, reference_auc, reference_optimal_threshold, cost_increase,
        retrain_cost_increase, retrain_flagged, labels_count, labels_digest, config_sha256,
        driftmon_version)
    VALUES (
        r.monitor, r.id, CASE WHEN r.batch IS NOT NULL THEN 'batch' ELSE 'window' END,
        prev.id, f ->> 'label_column', f ->> 'score_column',
        (f ->> 'decision_threshold')::float8, (f ->> 'cost_fn')::float8,
        (f ->> 'cost_fp')::float8, (f ->> 'rows')::bigint, (f ->> 'left_out')::bigint,
        (f ->> 'tp')::bigint, (f ->> 'fp')::bigint, (f ->> 'tn')::bigint, (f ->> 'fn')::bigint,
        (f ->> 'auc')::float8, (f ->> 'recall')::float8, (f ->> 'precision')::float8,
        (f ->> 'business_cost')::float8, (f ->> 'optimal_threshold')::float8,
        (f ->> 'business_cost_at_optimal')::float8, coalesce((f ->> 'reference_id')::bigint,
                                                             r.reference_id),
        (f ->> 'reference_business_cost')::float8, (f ->> 'reference_auc')::float8,
        (f ->> 'reference_optimal_threshold')::float8, (f ->> 'cost_increase')::float8,
        (f ->> 'retrain_cost_increase')::float8, coalesce((f ->> 'retrain_flagged')::boolean,
                                                          false),
        (f ->> 'labels_count')::bigint, f ->> 'labels_digest', f ->> 'config_sha256',
        f ->> 'driftmon_version')
    RETURNING id INTO new_id;
    IF coalesce((f ->> 'retrain_flagged')::boolean, false) THEN
        INSERT INTO driftmon.performance_outbox (performance_id) VALUES (new_id);
        IF record_performance.notify_channel IS NOT NULL THEN
            PERFORM pg_notify(record_performance.notify_channel, r.id::text);
        END IF;
    END IF;
    RETURN new_id;
END
$$;

-- A due "cost" alert (claim_alert's rule, 004): the attempt counted, held for `hold`.
-- report: what the hook reads, {"run_id", "batch", "window_start", "window_end", "monitor",
-- "retrain": {"flagged": true, "reasons": ["cost"]}, "performance": the evaluation's row}.
CREATE OR REPLACE FUNCTION driftmon.claim_performance_alert(hold interval)
RETURNS TABLE (performance_id bigint, run_id bigint, attempts integer, backoff_s float8,
               batch text, window_start timestamptz, window_end timestamptz, report text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH c AS (
        UPDATE driftmon.performance_outbox o
        SET attempts = o.attempts + 1,
            next_attempt_at = clock_timestamp() + claim_performance_alert.hold
        WHERE o.performance_id = (
            SELECT x.performance_id FROM driftmon.performance_outbox x
            WHERE x.delivered_at IS NULL AND x.dead_at IS NULL
              AND x.next_attempt_at <= clock_timestamp()
            ORDER BY x.next_attempt_at, x.performance_id
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
        RETURNING o.performance_id, o.attempts, o.backoff_s)
    SELECT c.performance_id, r.id, c.attempts, c.backoff_s, r.batch, r.window_start,
           r.window_end,
           jsonb_build_object('run_id', r.id, 'batch', r.batch, 'window_start', r.window_start,
                              'window_end', r.window_end, 'monitor', r.monitor,
                              'retrain', jsonb_build_object('flagged', true, 'reasons',
                                                            jsonb_build_array('cost')),
                              'performance',
                              to_jsonb(h) - 'batch' - 'window_start' - 'window_end')::text
    FROM c
    JOIN driftmon.performance p ON p.id = c.performance_id
    JOIN driftmon.run r ON r.id = p.run_id
    JOIN driftmon.performance_history h ON h.evaluation_id = p.id
$$;

-- The outcome of one delivery attempt of a "cost" alert (record_alert_attempt's, 011).
CREATE OR REPLACE FUNCTION driftmon.record_performance_alert_attempt(
    performance_id bigint, outcome text, retry_in_s float8, error text, output text,
    output_bytes bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    pid bigint := record_performance_alert_attempt.performance_id;
    msg text := record_performance_alert_attempt.error;
    o_text text := record_performance_alert_attempt.output;
    o_bytes bigint := record_performance_alert_attempt.output_bytes;
    retry_in float8 := record_performance_alert_attempt.retry_in_s;
BEGIN
    CASE record_performance_alert_attempt.outcome
    WHEN 'delivered' THEN
        UPDATE driftmon.performance_outbox o
        SET delivered_at = clock_timestamp(), last_error = NULL, last_output = o_text,
            last_output_bytes = o_bytes
        WHERE o.performance_id = pid;
    WHEN 'stopped' THEN
        UPDATE driftmon.performance_outbox o
        SET attempts = greatest(o.attempts - 1, 0), next_attempt_at = clock_timestamp(),
            last_output = o_text, last_output_bytes = o_bytes
        WHERE o.performance_id = pid;
    WHEN 'dead' THEN
        UPDATE driftmon.performance_outbox o
        SET dead_at = clock_timestamp(), last_error = msg, last_output = o_text,
            last_output_bytes = o_bytes
        WHERE o.performance_id = pid;
    WHEN 'retry' THEN
        UPDATE driftmon.performance_outbox o
        SET next_attempt_at = clock_timestamp() + make_interval(secs => retry_in),
            backoff_s = retry_in, last_error = msg, last_output = o_text,
            last_output_bytes = o_bytes
        WHERE o.performance_id = pid;
    ELSE
        RAISE EXCEPTION 'driftmon.record_performance_alert_attempt: unknown outcome "%"',
                        left(record_performance_alert_attempt.outcome, 64)
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$$;

-- Seconds until the next alert of either outbox is due (NULL: none pending).
CREATE OR REPLACE FUNCTION driftmon.next_alert_in() RETURNS float8
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT greatest(0, extract(epoch FROM min(t.at) - clock_timestamp()))::float8
    FROM (SELECT o.next_attempt_at AS at FROM driftmon.retrain_outbox o
          WHERE o.delivered_at IS NULL AND o.dead_at IS NULL
          UNION ALL
          SELECT p.next_attempt_at FROM driftmon.performance_outbox p
          WHERE p.delivered_at IS NULL AND p.dead_at IS NULL) t
$$;

-- ---- the chain, checked in the database (009's, with the performance links) ------------
CREATE OR REPLACE FUNCTION driftmon.verify_chain()
RETURNS TABLE (seq bigint, run_id bigint, column_name text, problem text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH links AS (
        SELECT r.seq, r.run_id, r.column_name, 'r' AS kind, r.prev_hash, r.row_hash,
               sha256(r.prev_hash || driftmon.column_result_bytes(r)) AS recomputed
        FROM driftmon.column_result r
        UNION ALL
        SELECT r.seq, r.id, NULL::text, 'u', r.prev_hash, r.row_hash,
               sha256(r.prev_hash || driftmon.run_bytes(r))
        FROM driftmon.run r WHERE r.seq IS NOT NULL
        UNION ALL
        SELECT p.seq, p.run_id, NULL::text, 'p', p.prev_hash, p.row_hash,
               sha256(p.prev_hash || driftmon.performance_bytes(p))
        FROM driftmon.performance p
    ), c AS (
        SELECT l.*, lag(l.row_hash) OVER w AS before_hash, lag(l.seq) OVER w AS before_seq
        FROM links l WINDOW w AS (ORDER BY l.seq)
    ), last AS (
        SELECT l.seq, l.row_hash FROM links l ORDER BY l.seq DESC LIMIT 1
    ), problems AS (
        SELECT c.seq, c.run_id, c.column_name,
               CASE c.kind WHEN 'u' THEN 'row hash mismatch: the run row was changed'
                           WHEN 'p' THEN 'row hash mismatch: the performance row was changed'
                           ELSE 'row hash mismatch: the row was changed' END
        FROM c WHERE c.row_hash <> c.recomputed
        UNION ALL
        SELECT c.seq, c.run_id, c.column_name, 'prev_hash does not match the previous row'
        FROM c WHERE c.prev_hash <> coalesce(c.before_hash, decode(repeat('00', 32), 'hex'))
        UNION ALL
        SELECT c.seq, c.run_id, c.column_name,
               format('sequence gap: rows %s..%s missing', coalesce(c.before_seq, 0) + 1,
                      c.seq - 1)
        FROM c WHERE c.seq <> coalesce(c.before_seq, 0) + 1
        UNION ALL
        SELECT h.seq, NULL::bigint, NULL::text,
               'chain head does not match the last row: rows removed from the end'
        FROM driftmon.chain_head h
        WHERE (h.seq, h.hash) IS DISTINCT FROM
              (coalesce((SELECT l.seq FROM last l), 0),
               coalesce((SELECT l.row_hash FROM last l), decode(repeat('00', 32), 'hex')))
    )
    SELECT * FROM problems p ORDER BY p.seq
$$;

-- ---- grants (011's pattern: nothing PUBLIC's, every right by role name) -----------------
DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    REVOKE ALL ON driftmon.performance, driftmon.performance_outbox,
                  driftmon.performance_history, driftmon.audit_performance FROM PUBLIC;
    -- as 011 leaves every sequence of the schema: its ACL written out, nothing PUBLIC's
    REVOKE ALL ON SEQUENCE driftmon.performance_id_seq FROM PUBLIC;
    REVOKE ALL ON FUNCTION driftmon.performance_bytes(driftmon.performance),
                           driftmon.performance_chain(),
                           driftmon.record_performance(text, bigint, jsonb, text),
                           driftmon.claim_performance_alert(interval),
                           driftmon.record_performance_alert_attempt(bigint, text, float8, text,
                                                                     text, bigint),
                           driftmon.next_alert_in(),
                           driftmon.verify_chain()
        FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.performance, driftmon.performance_outbox TO %I', d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'driftmon.record_performance(text, bigint, jsonb, text), '
                   'driftmon.claim_performance_alert(interval), '
                   'driftmon.record_performance_alert_attempt(bigint, text, float8, text, text, '
                   'bigint), '
                   'driftmon.next_alert_in() TO %I', d);
    EXECUTE format('GRANT SELECT ON driftmon.performance_history, driftmon.audit_performance '
                   'TO %I', a);
    EXECUTE format('GRANT SELECT ON driftmon.performance_history TO %I', d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.verify_chain() TO %I', a);
END
$$;

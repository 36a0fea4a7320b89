-- 011_monitors.sql - several monitors in one database and one daemon (issue 19).
--
-- A monitor is a named (source table, reference, settings) of the configuration; the
-- single-monitor form is the monitor named 'default'.  Batches, runs and periodic windows are
-- tagged with their monitor; every row written before this migration belongs to 'default'.
--
--   - driftmon.batch: the queue is keyed by (monitor, batch): one batch id (a date, say)
--     submitted for two monitors is two batches, checked once each; a daemon claims only the
--     batches of the monitors it runs.
--   - driftmon.submit_batch(monitor, batch): the engine names the monitor;
--     driftmon.submit_batch(batch) is submit_batch('default', batch), as before.  The NOTIFY
--     payload is the batch for 'default' (as before), 'monitor:batch' for another monitor
--     (a monitor's name holds no ':'); the daemon only logs it.
--   - claim_batch / renew_lease / fail_batch / give_up_batch gain the monitor as an
--     argument; their older forms act on 'default'.
--   - driftmon.run.monitor; the hash chain (009) covers it: driftmon.run_bytes appends
--     enc_text(monitor) when the monitor is not 'default', and nothing otherwise, so every
--     existing link and every run of the single-monitor form keeps its bytes.
--   - driftmon.window_done is keyed by (monitor, every_s, window_start).
--   - the views runs and column_history gain `monitor` as their last column (CREATE OR
--     REPLACE VIEW only adds columns at the end), so 010, which defines their earlier
--     columns, cannot be applied again over this migration (as 003 cannot over 010);
--     `driftmon init` never re-applies a recorded migration.  failed_checks and alerts stay
--     as they are (their rows name the batch or the run, whose monitor is in batch / run).
--   - the daemon's writes (011_roles.sql) carry the monitor: record_results, record_run and
--     record_window take it as their last argument; their forms without it are dropped.
--   - like 011's, every function here runs as its owner (SECURITY DEFINER, search_path fixed),
--     is not PUBLIC's, and is granted by name: submit_batch(monitor, batch) to the engine, the
--     queue's and the record_* functions to the daemon; audit_run shows the monitor too.
-- Runs as the owner (`driftmon init` SET ROLEs to it after 011).  Idempotent.

-- ---- the monitor's name: what the configuration accepts (monitor/config.h) -------------
CREATE OR REPLACE FUNCTION driftmon.monitor_name_ok(m text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m IS NOT NULL AND m ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'
$$;

-- ---- the queue ---------------------------------------------------------------------------
ALTER TABLE driftmon.batch ADD COLUMN IF NOT EXISTS monitor text NOT NULL DEFAULT 'default'
    CHECK (driftmon.monitor_name_ok(monitor));
COMMENT ON COLUMN driftmon.batch.monitor IS
    'the monitor the batch was submitted for (''default'': the single-monitor form)';
-- runs referred to batches by id alone; now by (monitor, batch)
ALTER TABLE driftmon.run DROP CONSTRAINT IF EXISTS run_batch_fkey;
ALTER TABLE driftmon.run DROP CONSTRAINT IF EXISTS run_monitor_batch_fkey;
ALTER TABLE driftmon.batch DROP CONSTRAINT IF EXISTS batch_pkey;
ALTER TABLE driftmon.batch ADD CONSTRAINT batch_pkey PRIMARY KEY (monitor, batch);
CREATE INDEX IF NOT EXISTS batch_pending_monitor ON driftmon.batch (monitor, submitted_at)
    WHERE done_at IS NULL;

ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS monitor text NOT NULL DEFAULT 'default'
    CHECK (driftmon.monitor_name_ok(monitor));
COMMENT ON COLUMN driftmon.run.monitor IS
    'the monitor of the run (''default'': the single-monitor form); in the hash chain when not default';
ALTER TABLE driftmon.run ADD CONSTRAINT run_monitor_batch_fkey FOREIGN KEY (monitor, batch)
    REFERENCES driftmon.batch (monitor, batch);
CREATE INDEX IF NOT EXISTS run_monitor_batch ON driftmon.run (monitor, batch);

-- ---- submitting --------------------------------------------------------------------------
-- As submit_batch(batch) (003), for monitor `monitor`.  SECURITY DEFINER: the engine's role
-- needs only EXECUTE on driftmon.submit_batch(text, text) (granted below).
CREATE OR REPLACE FUNCTION driftmon.submit_batch(monitor text, batch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    IF NOT driftmon.monitor_name_ok(submit_batch.monitor) THEN
        RAISE EXCEPTION 'driftmon.submit_batch: "%" is not a monitor name',
                        left(coalesce(submit_batch.monitor, 'NULL'), 64)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '1 to 64 letters, digits, _ or -, starting with a letter or a digit';
    END IF;
    IF submit_batch.batch IS NULL OR submit_batch.batch = '' THEN
        RAISE EXCEPTION 'driftmon.submit_batch: the batch must be a non-empty text'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO driftmon.batch AS b (monitor, batch)
        VALUES (submit_batch.monitor, submit_batch.batch)
        ON CONFLICT ON CONSTRAINT batch_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_notify('driftmon_batch',
                      CASE WHEN submit_batch.monitor = 'default' THEN submit_batch.batch
                           ELSE submit_batch.monitor || ':' || submit_batch.batch END);
    RETURN true;
END
$$;

-- The one-argument form: the 'default' monitor (its grants stay as they were).
CREATE OR REPLACE FUNCTION driftmon.submit_batch(batch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    RETURN driftmon.submit_batch('default', submit_batch.batch);
END
$$;

-- ---- claiming, one monitor at a time -----------------------------------------------------
-- The oldest batch of `monitor` that is not done and not leased by a live worker (003's
-- claim_batch, per monitor: the daemon takes turns between its monitors).
CREATE OR REPLACE FUNCTION driftmon.claim_batch(worker text, lease interval, monitor text)
RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    UPDATE driftmon.batch b
    SET claimed_by = claim_batch.worker, claimed_at = clock_timestamp(),
        lease_until = clock_timestamp() + claim_batch.lease, attempts = b.attempts + 1
    WHERE (b.monitor, b.batch) = (
        SELECT p.monitor, p.batch FROM driftmon.batch p
        WHERE p.monitor = claim_batch.monitor AND p.done_at IS NULL
          AND (p.lease_until IS NULL OR p.lease_until < clock_timestamp())
        ORDER BY p.submitted_at, p.batch
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
    RETURNING b.batch
$$;

CREATE OR REPLACE FUNCTION driftmon.claim_batch(worker text, lease interval) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT driftmon.claim_batch(claim_batch.worker, claim_batch.lease, 'default')
$$;

CREATE OR REPLACE FUNCTION driftmon.renew_lease(monitor text, batch text, worker text,
                                                lease interval)
RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH u AS (
        UPDATE driftmon.batch b SET lease_until = clock_timestamp() + renew_lease.lease
        WHERE b.monitor = renew_lease.monitor AND b.batch = renew_lease.batch
          AND b.claimed_by = renew_lease.worker AND b.done_at IS NULL
        RETURNING 1)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'renewed'
                WHEN EXISTS (SELECT 1 FROM driftmon.batch d
                             WHERE d.monitor = renew_lease.monitor
                               AND d.batch = renew_lease.batch AND d.done_at IS NOT NULL)
                    THEN 'done'
                ELSE 'lost' END
$$;

CREATE OR REPLACE FUNCTION driftmon.renew_lease(batch text, worker text, lease interval)
RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT driftmon.renew_lease('default', renew_lease.batch, renew_lease.worker,
                                renew_lease.lease)
$$;

CREATE OR REPLACE FUNCTION driftmon.fail_batch(monitor text, batch text, worker text, error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    UPDATE driftmon.batch b
    SET last_error = fail_batch.error,
        lease_until = clock_timestamp()
            + least(interval '1 hour',
                    interval '5 seconds' * power(2, least(greatest(b.attempts, 1) - 1, 10)))
    WHERE b.monitor = fail_batch.monitor AND b.batch = fail_batch.batch
      AND b.claimed_by = fail_batch.worker AND b.done_at IS NULL
$$;

CREATE OR REPLACE FUNCTION driftmon.fail_batch(batch text, worker text, error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT driftmon.fail_batch('default', fail_batch.batch, fail_batch.worker, fail_batch.error)
$$;

CREATE OR REPLACE FUNCTION driftmon.give_up_batch(monitor text, batch text, worker text,
                                                  error text)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH u AS (
        UPDATE driftmon.batch b
        SET done_at = clock_timestamp(), failed_at = clock_timestamp(), lease_until = NULL,
            last_error = give_up_batch.error
        WHERE b.monitor = give_up_batch.monitor AND b.batch = give_up_batch.batch
          AND b.claimed_by = give_up_batch.worker AND b.done_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;

CREATE OR REPLACE FUNCTION driftmon.give_up_batch(batch text, worker text, error text)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT driftmon.give_up_batch('default', give_up_batch.batch, give_up_batch.worker,
                                  give_up_batch.error)
$$;

-- ---- periodic windows, per monitor -------------------------------------------------------
ALTER TABLE driftmon.window_done ADD COLUMN IF NOT EXISTS monitor text NOT NULL
    DEFAULT 'default' CHECK (driftmon.monitor_name_ok(monitor));
ALTER TABLE driftmon.window_done DROP CONSTRAINT IF EXISTS window_done_pkey;
ALTER TABLE driftmon.window_done ADD CONSTRAINT window_done_pkey
    PRIMARY KEY (monitor, every_s, window_start);

-- ---- the chain: the monitor of a run that is not 'default' -------------------------------
CREATE OR REPLACE FUNCTION driftmon.run_bytes(r driftmon.run) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT convert_to('driftmon.run/1', 'UTF8')
        || driftmon.enc_i8(r.seq)
        || driftmon.enc_i8(r.id)
        || driftmon.enc_text(r.batch)
        || driftmon.enc_ts(r.window_start)
        || driftmon.enc_ts(r.window_end)
        || driftmon.enc_i8(r.reference_id)
        || driftmon.enc_ts(r.started_at)
        || driftmon.enc_ts(r.finished_at)
        || driftmon.enc_i8(r.number_of_columns)
        || driftmon.enc_i8(r.number_of_drifted_columns)
        || driftmon.enc_f8(r.share_of_drifted_columns)
        || driftmon.enc_f8(r.drift_share)
        || driftmon.enc_bool(r.dataset_drift)
        || driftmon.enc_f8(r.retrain_fraction)
        || driftmon.enc_bool(r.retrain_flagged)
        || driftmon.enc_text(r.report_html)
        || driftmon.enc_text(r.report_html_sha256)
        || driftmon.enc_text(r.report_json)
        || driftmon.enc_text(r.report_json_sha256)
        || driftmon.enc_text(r.config_sha256)
        || driftmon.enc_text(r.reference_sha256)
        || driftmon.enc_text(r.driftmon_version)
        || CASE WHEN r.monitor = 'default' THEN '\x'::bytea
                ELSE driftmon.enc_text(r.monitor) END
$$;

-- ---- views: `monitor` last -----------------------------------------------------------------
CREATE OR REPLACE VIEW driftmon.runs AS
SELECT r.id AS run_id,
       r.batch,
       r.window_start,
       r.window_end,
       ref.name AS reference_name,
       r.started_at,
       r.finished_at,
       r.number_of_columns,
       r.number_of_drifted_columns,
       r.share_of_drifted_columns,
       r.dataset_drift,
       r.retrain_flagged,
       r.report_html,
       r.report_json,
       r.importance_weighted_share,
       r.importance_sha256,
       r.score_column,
       r.score_psi,
       r.score_band,
       r.reference_approval_rate,
       r.current_approval_rate,
       r.retrain_reasons,
       r.monitor
FROM driftmon.run r
JOIN driftmon.reference ref ON ref.id = r.reference_id;

CREATE OR REPLACE VIEW driftmon.column_history AS
SELECT c.run_id,
       r.batch,
       r.finished_at,
       ref.name AS reference_name,
       c.column_name,
       c.column_type,
       c.stattest,
       c.stattest_threshold,
       c.drift_score,
       c.drift_detected,
       (c.details ->> 'importance')::float8 AS importance,
       r.monitor
FROM driftmon.column_result c
JOIN driftmon.run r ON r.id = c.run_id
JOIN driftmon.reference ref ON ref.id = r.reference_id;

-- ---- the daemon's writes, per monitor (011_roles.sql's, with the monitor last) -------------
-- record_results as in 011: with worker, the batch (monitor, batch) must still be this
-- worker's claim and not done (else NULL); the batch is recorded for its monitor; the column
-- results of run run_id are chained in the array's order; returns the chain head, hex.
DROP FUNCTION IF EXISTS driftmon.record_results(bigint, text, text, jsonb);
CREATE OR REPLACE FUNCTION driftmon.record_results(run_id bigint, batch text, worker text,
                                                   results jsonb, monitor text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    ours boolean;
    head text;
BEGIN
    IF record_results.batch IS NOT NULL AND record_results.worker IS NOT NULL THEN
        SELECT b.done_at IS NULL AND b.claimed_by IS NOT DISTINCT FROM record_results.worker
        INTO ours
        FROM driftmon.batch b
        WHERE b.monitor = record_results.monitor AND b.batch = record_results.batch FOR UPDATE;
        IF ours IS NOT TRUE THEN
            RETURN NULL;
        END IF;
    END IF;
    IF record_results.batch IS NOT NULL THEN
        INSERT INTO driftmon.batch AS b (monitor, batch)
            VALUES (record_results.monitor, record_results.batch)
            ON CONFLICT ON CONSTRAINT batch_pkey DO NOTHING;
    END IF;
    IF EXISTS (SELECT 1 FROM driftmon.run r WHERE r.id = record_results.run_id) THEN
        RAISE EXCEPTION 'driftmon.record_results: run % is recorded: results come before their run',
                        record_results.run_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SET CONSTRAINTS driftmon.column_result_run_id_fkey DEFERRED;
    INSERT INTO driftmon.column_result (run_id, column_name, column_type, stattest,
                                        stattest_threshold, drift_score, drift_detected,
                                        ref_rows, ref_missing, cur_rows, cur_missing, details)
    SELECT record_results.run_id, x.n, x.t, x.s, x.th::float8, x.sc::float8, x.d, x.rr, x.rm,
           x.cr, x.cm, x.det
    FROM ROWS FROM (jsonb_to_recordset(record_results.results) AS
                    (n text, t text, s text, th text, sc text, d boolean, rr bigint, rm bigint,
                     cr bigint, cm bigint, det jsonb))
         WITH ORDINALITY AS x(n, t, s, th, sc, d, rr, rm, cr, cm, det, ord)
    ORDER BY x.ord;
    SELECT encode(h.hash, 'hex') INTO STRICT head FROM driftmon.chain_head h WHERE h.id FOR UPDATE;
    RETURN head;
END
$$;

-- record_run as in 011, the run tagged with its monitor and its batch (monitor, batch) done.
DROP FUNCTION IF EXISTS driftmon.record_run(bigint, text, timestamptz, timestamptz, bigint,
                                            timestamptz, integer, integer, float8, float8,
                                            boolean, float8, boolean, text, text, text, text,
                                            text, text, text, jsonb, text, text, text);
CREATE OR REPLACE FUNCTION driftmon.record_run(
    run_id bigint, batch text, window_start timestamptz, window_end timestamptz,
    reference_id bigint, started_at timestamptz, number_of_columns integer,
    number_of_drifted_columns integer, share_of_drifted_columns float8, drift_share float8,
    dataset_drift boolean, retrain_fraction float8, retrain_flagged boolean, report_html text,
    report_html_sha256 text, report_json text, report_json_sha256 text, config_sha256 text,
    reference_sha256 text, driftmon_version text, report jsonb, report_html_doc text,
    report_json_doc text, notify_channel text, monitor text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    INSERT INTO driftmon.run (id, batch, window_start, window_end, reference_id, started_at,
                              number_of_columns, number_of_drifted_columns,
                              share_of_drifted_columns, drift_share, dataset_drift,
                              retrain_fraction, retrain_flagged, report_html, report_html_sha256,
                              report_json, report_json_sha256, config_sha256, reference_sha256,
                              driftmon_version, report, report_html_doc, report_json_doc, monitor)
    OVERRIDING SYSTEM VALUE
    VALUES (record_run.run_id, record_run.batch, record_run.window_start, record_run.window_end,
            record_run.reference_id, record_run.started_at, record_run.number_of_columns,
            record_run.number_of_drifted_columns, record_run.share_of_drifted_columns,
            record_run.drift_share, record_run.dataset_drift, record_run.retrain_fraction,
            record_run.retrain_flagged, record_run.report_html, record_run.report_html_sha256,
            record_run.report_json, record_run.report_json_sha256, record_run.config_sha256,
            record_run.reference_sha256, record_run.driftmon_version, record_run.report,
            record_run.report_html_doc, record_run.report_json_doc, record_run.monitor);
    IF record_run.retrain_flagged THEN
        INSERT INTO driftmon.retrain_outbox (run_id) VALUES (record_run.run_id);
        IF record_run.notify_channel IS NOT NULL THEN
            PERFORM pg_notify(record_run.notify_channel, record_run.run_id::text);
        END IF;
    END IF;
    IF record_run.batch IS NOT NULL THEN
        UPDATE driftmon.batch b SET done_at = clock_timestamp(), lease_until = NULL,
                                    last_error = NULL
        WHERE b.monitor = record_run.monitor AND b.batch = record_run.batch;
    END IF;
END
$$;

-- A periodic window of `monitor` handled.
DROP FUNCTION IF EXISTS driftmon.record_window(bigint, timestamptz, timestamptz, bigint, text);
CREATE OR REPLACE FUNCTION driftmon.record_window(every_s bigint, window_start timestamptz,
                                                  window_end timestamptz, run_id bigint,
                                                  note text, monitor text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    INSERT INTO driftmon.window_done (monitor, every_s, window_start, window_end, run_id, note)
    VALUES (record_window.monitor, record_window.every_s, record_window.window_start,
            record_window.window_end, record_window.run_id, record_window.note)
    ON CONFLICT DO NOTHING
$$;

-- ---- what the auditor reads: the run row with its monitor ----------------------------------
CREATE OR REPLACE VIEW driftmon.audit_run AS SELECT * FROM driftmon.run;

-- ---- grants (011's pattern: nothing PUBLIC's, every right by role name) -------------------
DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    e text := coalesce(nullif(current_setting('driftmon.role_engine', true), ''),
                       'driftmon_engine');
BEGIN
    REVOKE ALL ON FUNCTION driftmon.monitor_name_ok(text),
                           driftmon.submit_batch(text, text),
                           driftmon.submit_batch(text),
                           driftmon.claim_batch(text, interval, text),
                           driftmon.claim_batch(text, interval),
                           driftmon.renew_lease(text, text, text, interval),
                           driftmon.renew_lease(text, text, interval),
                           driftmon.fail_batch(text, text, text, text),
                           driftmon.fail_batch(text, text, text),
                           driftmon.give_up_batch(text, text, text, text),
                           driftmon.give_up_batch(text, text, text),
                           driftmon.run_bytes(driftmon.run),
                           driftmon.record_results(bigint, text, text, jsonb, text),
                           driftmon.record_run(bigint, text, timestamptz, timestamptz, bigint,
                                               timestamptz, integer, integer, float8, float8,
                                               boolean, float8, boolean, text, text, text, text,
                                               text, text, text, jsonb, text, text, text, text),
                           driftmon.record_window(bigint, timestamptz, timestamptz, bigint, text,
                                                  text)
        FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.submit_batch(text, text), '
                   'driftmon.submit_batch(text) TO %I', e);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'driftmon.claim_batch(text, interval, text), '
                   'driftmon.claim_batch(text, interval), '
                   'driftmon.renew_lease(text, text, text, interval), '
                   'driftmon.renew_lease(text, text, interval), '
                   'driftmon.fail_batch(text, text, text, text), '
                   'driftmon.fail_batch(text, text, text), '
                   'driftmon.give_up_batch(text, text, text, text), '
                   'driftmon.give_up_batch(text, text, text), '
                   'driftmon.record_results(bigint, text, text, jsonb, text), '
                   'driftmon.record_run(bigint, text, timestamptz, timestamptz, bigint, '
                   'timestamptz, integer, integer, float8, float8, boolean, float8, boolean, '
                   'text, text, text, text, text, text, text, jsonb, text, text, text, text), '
                   'driftmon.record_window(bigint, timestamptz, timestamptz, bigint, text, text) '
                   'TO %I', d);
END
$$;

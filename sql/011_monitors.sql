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
-- Idempotent.

-- ---- the monitor's name: what the configuration accepts (monitor/config.h) -------------
CREATE OR REPLACE FUNCTION driftmon.monitor_name_ok(m text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
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
-- needs only GRANT EXECUTE ON FUNCTION driftmon.submit_batch(text, text).
CREATE OR REPLACE FUNCTION driftmon.submit_batch(monitor text, batch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
REVOKE ALL ON FUNCTION driftmon.submit_batch(text, text) FROM PUBLIC;

-- The one-argument form: the 'default' monitor (its grants stay as they were).
CREATE OR REPLACE FUNCTION driftmon.submit_batch(batch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN driftmon.submit_batch('default', submit_batch.batch);
END
$$;
REVOKE ALL ON FUNCTION driftmon.submit_batch(text) FROM PUBLIC;

-- ---- claiming, one monitor at a time -----------------------------------------------------
-- The oldest batch of `monitor` that is not done and not leased by a live worker (003's
-- claim_batch, per monitor: the daemon takes turns between its monitors).
CREATE OR REPLACE FUNCTION driftmon.claim_batch(worker text, lease interval, monitor text)
RETURNS text
LANGUAGE sql AS $$
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
LANGUAGE sql AS $$
    SELECT driftmon.claim_batch(claim_batch.worker, claim_batch.lease, 'default')
$$;

CREATE OR REPLACE FUNCTION driftmon.renew_lease(monitor text, batch text, worker text,
                                                lease interval)
RETURNS text
LANGUAGE sql AS $$
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
LANGUAGE sql AS $$
    SELECT driftmon.renew_lease('default', renew_lease.batch, renew_lease.worker,
                                renew_lease.lease)
$$;

CREATE OR REPLACE FUNCTION driftmon.fail_batch(monitor text, batch text, worker text, error text)
RETURNS void
LANGUAGE sql AS $$
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
LANGUAGE sql AS $$
    SELECT driftmon.fail_batch('default', fail_batch.batch, fail_batch.worker, fail_batch.error)
$$;

CREATE OR REPLACE FUNCTION driftmon.give_up_batch(monitor text, batch text, worker text,
                                                  error text)
RETURNS boolean
LANGUAGE sql AS $$
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
LANGUAGE sql AS $$
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

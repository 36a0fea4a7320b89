-- 003_interface.sql - what other programs call and read (DESIGN.md section 5, contract):
-- driftmon.submit_batch(text), the views driftmon.runs and driftmon.column_history; and
-- the daemon's helpers driftmon.claim_batch() and driftmon.new_reference().
-- Idempotent.

-- Called by the scoring engine in the transaction that wrote the batch's rows: records
-- the batch and NOTIFYs channel driftmon_batch with the batch as payload.  NOTIFY is
-- delivered at commit, so the daemon never sees a batch whose rows are not visible; a
-- rolled-back transaction sends nothing.  Re-submitting a known batch changes nothing,
-- sends nothing and returns false; a new batch returns true.
-- SECURITY DEFINER: the engine's role needs only
--   GRANT USAGE ON SCHEMA driftmon TO engine;
--   GRANT EXECUTE ON FUNCTION driftmon.submit_batch(text) TO engine;
CREATE OR REPLACE FUNCTION driftmon.submit_batch(batch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF batch IS NULL OR batch = '' THEN
        RAISE EXCEPTION 'driftmon.submit_batch: the batch must be a non-empty text'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO driftmon.batch AS b (batch) VALUES (submit_batch.batch)
        ON CONFLICT ON CONSTRAINT batch_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_notify('driftmon_batch', submit_batch.batch);
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION driftmon.submit_batch(text) FROM PUBLIC;

-- A daemon takes the oldest batch that is not done and not leased by a live worker;
-- SKIP LOCKED lets several daemons share the queue, the lease brings a crashed one's
-- batch back.  NULL when there is nothing to do.
CREATE OR REPLACE FUNCTION driftmon.claim_batch(worker text, lease interval) RETURNS text
LANGUAGE sql AS $$
    UPDATE driftmon.batch b
    SET claimed_by = claim_batch.worker, claimed_at = clock_timestamp(),
        lease_until = clock_timestamp() + claim_batch.lease, attempts = b.attempts + 1
    WHERE b.batch = (
        SELECT p.batch FROM driftmon.batch p
        WHERE p.done_at IS NULL AND (p.lease_until IS NULL OR p.lease_until < clock_timestamp())
        ORDER BY p.submitted_at, p.batch
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
    RETURNING b.batch
$$;

-- A new version of reference `name` (1, 2, ...): the caller then inserts its columns into
-- driftmon.reference_column in the same transaction.  Concurrent loads of one name are
-- serialized by a transaction-level advisory lock.
CREATE OR REPLACE FUNCTION driftmon.new_reference(name text, source text, rows bigint,
                                                  sha256 text, driftmon_version text)
RETURNS driftmon.reference
LANGUAGE plpgsql AS $$
DECLARE
    r driftmon.reference;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('driftmon.reference:' || new_reference.name, 0));
    INSERT INTO driftmon.reference (name, version, source, rows, sha256, driftmon_version)
    SELECT new_reference.name, coalesce(max(x.version), 0) + 1, new_reference.source,
           new_reference.rows, new_reference.sha256, new_reference.driftmon_version
    FROM driftmon.reference x WHERE x.name = new_reference.name
    RETURNING * INTO r;
    RETURN r;
END
$$;

-- The auditor's views (contract: these columns, in this order).
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
       r.report_json
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
       c.drift_detected
FROM driftmon.column_result c
JOIN driftmon.run r ON r.id = c.run_id
JOIN driftmon.reference ref ON ref.id = r.reference_id;

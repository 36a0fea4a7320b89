-- 004_daemon.sql - what `driftmon serve` needs beyond 001-003 (DESIGN.md section 6):
-- lease renewal and failure back-off for claimed batches, the record of periodic windows
-- checked, and the retrain outbox's delivery helpers.
-- Idempotent.

-- Extend the lease of a batch this worker still holds: 'renewed'; 'done' when the batch is
-- done (the run just committed); 'lost' when the lease expired and another worker claimed it.
CREATE OR REPLACE FUNCTION driftmon.renew_lease(batch text, worker text, lease interval)
RETURNS text
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE driftmon.batch b SET lease_until = clock_timestamp() + renew_lease.lease
        WHERE b.batch = renew_lease.batch AND b.claimed_by = renew_lease.worker
          AND b.done_at IS NULL
        RETURNING 1)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'renewed'
                WHEN EXISTS (SELECT 1 FROM driftmon.batch d
                             WHERE d.batch = renew_lease.batch AND d.done_at IS NOT NULL)
                    THEN 'done'
                ELSE 'lost' END
$$;

-- A check of a claimed batch failed (no rows, a database error, ...): keep the error and
-- hold the batch back for 5 s x 2^(attempts - 1), at most 1 hour, before any worker tries
-- again.  Nothing happens when the batch is no longer this worker's.
CREATE OR REPLACE FUNCTION driftmon.fail_batch(batch text, worker text, error text)
RETURNS void
LANGUAGE sql AS $$
    UPDATE driftmon.batch b
    SET last_error = fail_batch.error,
        lease_until = clock_timestamp()
            + least(interval '1 hour',
                    interval '5 seconds' * power(2, least(greatest(b.attempts, 1) - 1, 10)))
    WHERE b.batch = fail_batch.batch AND b.claimed_by = fail_batch.worker AND b.done_at IS NULL
$$;

-- Periodic windows (schedule.every) already handled: one row per window, written after
-- the window's run committed (run_id) or when the window had no rows / bad input (run_id
-- NULL, note says why).  A window is done when it has a row here or a run with exactly
-- its bounds (a daemon that died between the run's commit and this row).
CREATE TABLE IF NOT EXISTS driftmon.window_done (
    every_s bigint NOT NULL CHECK (every_s > 0),
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    run_id bigint REFERENCES driftmon.run (id),
    done_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    note text,
    PRIMARY KEY (every_s, window_start),
    CHECK (window_start < window_end)
);
CREATE INDEX IF NOT EXISTS run_window ON driftmon.run (window_start, window_end)
    WHERE window_start IS NOT NULL;

-- Retrain delivery: decorrelated-jitter state of the last retry.
ALTER TABLE driftmon.retrain_outbox ADD COLUMN IF NOT EXISTS backoff_s float8;

-- Take the oldest due alert (SKIP LOCKED: several daemons share the outbox), count the
-- attempt and hold it for `hold` (the hook's timeout plus a margin) so no other worker
-- delivers it meanwhile; a worker that dies mid-delivery gives it back when hold ends.
-- Returns the run's id, batch, window and JSON report.
CREATE OR REPLACE FUNCTION driftmon.claim_alert(hold interval)
RETURNS TABLE (run_id bigint, attempts integer, backoff_s float8, batch text,
               window_start timestamptz, window_end timestamptz, report text)
LANGUAGE sql AS $$
    WITH c AS (
        UPDATE driftmon.retrain_outbox o
        SET attempts = o.attempts + 1, next_attempt_at = clock_timestamp() + claim_alert.hold
        WHERE o.run_id = (
            SELECT p.run_id FROM driftmon.retrain_outbox p
            WHERE p.delivered_at IS NULL AND p.dead_at IS NULL
              AND p.next_attempt_at <= clock_timestamp()
            ORDER BY p.next_attempt_at, p.run_id
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
        RETURNING o.run_id, o.attempts, o.backoff_s)
    SELECT c.run_id, c.attempts, c.backoff_s, r.batch, r.window_start, r.window_end,
           r.report::text
    FROM c JOIN driftmon.run r ON r.id = c.run_id
$$;

-- Seconds until the next alert is due (NULL: none pending).
CREATE OR REPLACE FUNCTION driftmon.next_alert_in() RETURNS float8
LANGUAGE sql STABLE AS $$
    SELECT greatest(0, extract(epoch FROM min(o.next_attempt_at) - clock_timestamp()))::float8
    FROM driftmon.retrain_outbox o
    WHERE o.delivered_at IS NULL AND o.dead_at IS NULL
$$;

-- What `driftmon alerts` lists.
CREATE OR REPLACE VIEW driftmon.alerts AS
SELECT o.run_id,
       r.batch,
       r.window_start,
       r.window_end,
       CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered'
            WHEN o.dead_at IS NOT NULL THEN 'dead'
            ELSE 'pending' END AS state,
       o.attempts,
       o.created_at,
       o.next_attempt_at,
       o.delivered_at,
       o.dead_at,
       o.last_error
FROM driftmon.retrain_outbox o
JOIN driftmon.run r ON r.id = o.run_id;

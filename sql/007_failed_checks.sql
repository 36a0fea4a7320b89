-- 007_failed_checks.sql - checks that cannot be made (issue 16).  A batch whose rows cannot
-- be read, or in which no column can be tested, fails the same way however often it is
-- tried: the daemon gives it up at once (done, failed, with the reason) instead of retrying
-- it, as a periodic window in that state is recorded in window_done without a run.
-- driftmon.failed_checks lists both; `driftmon alerts` shows it.
-- Idempotent.

ALTER TABLE driftmon.batch ADD COLUMN IF NOT EXISTS failed_at timestamptz;
COMMENT ON COLUMN driftmon.batch.failed_at IS
    'when the batch was given up as not checkable (last_error says why); done_at is set too';

-- Give up a batch this worker holds: it cannot be checked (bad input).  Marked done, so that
-- no worker claims it again, and failed with the reason.  false (nothing changed) when the
-- batch is no longer this worker's or is done.
CREATE OR REPLACE FUNCTION driftmon.give_up_batch(batch text, worker text, error text)
RETURNS boolean
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE driftmon.batch b
        SET done_at = clock_timestamp(), failed_at = clock_timestamp(), lease_until = NULL,
            last_error = give_up_batch.error
        WHERE b.batch = give_up_batch.batch AND b.claimed_by = give_up_batch.worker
          AND b.done_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;

-- Every check that could not be made: batches given up, and periodic windows recorded
-- without a run (window_done.note says why).
CREATE OR REPLACE VIEW driftmon.failed_checks AS
SELECT b.batch,
       NULL::timestamptz AS window_start,
       NULL::timestamptz AS window_end,
       b.failed_at,
       b.attempts,
       b.last_error AS reason
FROM driftmon.batch b
WHERE b.failed_at IS NOT NULL
UNION ALL
SELECT NULL,
       w.window_start,
       w.window_end,
       w.done_at,
       1,
       w.note
FROM driftmon.window_done w
WHERE w.run_id IS NULL;

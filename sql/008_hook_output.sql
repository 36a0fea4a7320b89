-- 008_hook_output.sql - what the retrain hook wrote (issue 16): its standard output and
-- error, one stream, kept with the alert's last attempt as its last 4096 bytes made valid
-- UTF-8 (a NUL or an ill-formed byte shows as U+FFFD, the remains of a character cut by the
-- window are dropped), with the count of bytes it wrote in all.  Written by the daemon with
-- each attempt's outcome (retrain_outbox is the delivery's state, updated in place: no
-- append-only trigger here); NULL before the first attempt and for attempts made before
-- this migration.
-- Idempotent.
ALTER TABLE driftmon.retrain_outbox ADD COLUMN IF NOT EXISTS last_output text;
ALTER TABLE driftmon.retrain_outbox ADD COLUMN IF NOT EXISTS last_output_bytes bigint
    CHECK (last_output_bytes >= 0);
COMMENT ON COLUMN driftmon.retrain_outbox.last_output IS
    'the last 4096 bytes the hook wrote to stdout and stderr on the last attempt';
COMMENT ON COLUMN driftmon.retrain_outbox.last_output_bytes IS
    'bytes the hook wrote on the last attempt, in all';

-- The view driftmon.alerts (004) stays as it is: 004 is re-applied over later migrations
-- (CREATE OR REPLACE VIEW cannot drop a column), so `driftmon alerts` joins these columns.

-- 009_chain.sql - the hash chain covers run rows as well as column results, and its head only
-- moves forward (issue 18).  `driftmon verify` recomputes the chain in the client from the
-- raw rows (docs/AUDIT.md); driftmon.verify_chain() below is the same check inside the
-- database, for convenience only: whoever owns the schema can replace it.
--
-- One chain, one sequence: a link is a column_result row (002) or, from this migration on,
-- a run row.  Each link has seq = previous seq + 1, prev_hash = the previous link's
-- row_hash (32 zero bytes before the first) and row_hash = sha256(prev_hash || bytes),
-- where bytes is the row's canonical encoding:
--
--   enc_text(t)  NULL: 0x00;  else 0x01, int4 big-endian byte length, the UTF-8 bytes
--   enc_i8(x)    NULL: 0x00;  else 0x01, int8 big-endian (integer columns widened to int8)
--   enc_f8(x)    NULL: 0x00;  else 0x01, IEEE 754 binary64 big-endian (float8send)
--   enc_bool(x)  NULL: 0x00;  else 0x01 then 0x01 (true) or 0x00 (false)
--   enc_ts(t)    NULL: 0x00;  else 0x01, int8 big-endian microseconds since
--                2000-01-01 00:00:00 UTC (timestamptz_send)
--
--   column_result (002, unchanged): the 24 ASCII bytes "driftmon.column_result/1", then
--     enc_i8 seq, enc_i8 run_id, enc_text column_name, enc_text column_type,
--     enc_text stattest, enc_f8 stattest_threshold, enc_f8 drift_score,
--     enc_bool drift_detected, enc_i8 ref_rows, enc_i8 ref_missing, enc_i8 cur_rows,
--     enc_i8 cur_missing, enc_text details (jsonb's text form)
--   run (new): the 14 ASCII bytes "driftmon.run/1", then
--     enc_i8 seq, enc_i8 id, enc_text batch, enc_ts window_start, enc_ts window_end,
--     enc_i8 reference_id, enc_ts started_at, enc_ts finished_at, enc_i8 number_of_columns,
--     enc_i8 number_of_drifted_columns, enc_f8 share_of_drifted_columns, enc_f8 drift_share,
--     enc_bool dataset_drift, enc_f8 retrain_fraction, enc_bool retrain_flagged,
--     enc_text report_html, enc_text report_html_sha256, enc_text report_json,
--     enc_text report_json_sha256, enc_text config_sha256, enc_text reference_sha256,
--     enc_text driftmon_version
--   The documents themselves (report_html_doc, report_json_doc, report) are covered through
--   their sha256: `driftmon verify` hashes each stored document and compares.
--
-- A run writes its column results first and its run row last, in one transaction (the
-- foreign key from column_result to run is checked at commit: DEFERRABLE here, deferred by
-- the run's transaction).  The JSON report carries "chain_head": the chain's head after the
-- run's column results, which is known before the JSON is rendered; the run row's link
-- follows and covers the JSON's sha256.  So every delivered report names a link of its own
-- run (an anchor, docs/AUDIT.md).
--
-- Existing databases: result rows keep their links and keep verifying; runs recorded before
-- this migration have no link of their own (seq NULL) and are covered by their results'
-- links only.  Every run written after it is chained.
--
-- The head (driftmon.chain_head) only moves forward, one link at a time: an UPDATE that does
-- anything else is refused, as are DELETE and TRUNCATE (002).  Its runs_from is the first
-- seq chained after this migration: from there on every run has a link of its own.
-- Idempotent.

ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS report_json_doc text;
COMMENT ON COLUMN driftmon.run.report_json_doc IS
    'the JSON report exactly as written (sha256 = report_json_sha256)';
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS seq bigint UNIQUE;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS prev_hash bytea
    CHECK (octet_length(prev_hash) = 32);
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS row_hash bytea
    CHECK (octet_length(row_hash) = 32);
COMMENT ON COLUMN driftmon.run.seq IS
    'the run row''s link in the hash chain (NULL: recorded before migration 009)';

-- results before their run, in the run's transaction
ALTER TABLE driftmon.column_result ALTER CONSTRAINT column_result_run_id_fkey
    DEFERRABLE INITIALLY IMMEDIATE;

CREATE OR REPLACE FUNCTION driftmon.enc_ts(t timestamptz) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || timestamptz_send(t) END
$$;

-- The bytes hashed for one run row (see above).
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
$$;

CREATE OR REPLACE FUNCTION driftmon.run_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head driftmon.chain_head;
BEGIN
    SELECT * INTO STRICT head FROM driftmon.chain_head WHERE id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.row_hash := sha256(NEW.prev_hash || driftmon.run_bytes(NEW));
    UPDATE driftmon.chain_head SET seq = NEW.seq, hash = NEW.row_hash WHERE id;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS hash_chain ON driftmon.run;
CREATE TRIGGER hash_chain BEFORE INSERT ON driftmon.run
    FOR EACH ROW EXECUTE FUNCTION driftmon.run_chain();

-- runs_from: the first seq chained after this migration.  A run without a link of its own
-- whose results come at or after it lost its link.  Set once, here.
ALTER TABLE driftmon.chain_head ADD COLUMN IF NOT EXISTS runs_from bigint;
UPDATE driftmon.chain_head SET runs_from = seq + 1 WHERE runs_from IS NULL;

-- The head moves forward by one link per UPDATE, and only so; runs_from never changes.
CREATE OR REPLACE FUNCTION driftmon.chain_head_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.seq IS DISTINCT FROM OLD.seq + 1
       OR NEW.runs_from IS DISTINCT FROM OLD.runs_from THEN
        RAISE EXCEPTION 'driftmon.chain_head only moves forward, one link at a time: % refused',
                        TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'the head is advanced by the chain triggers as rows are inserted';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS append_only_update ON driftmon.chain_head;
CREATE TRIGGER append_only_update BEFORE UPDATE ON driftmon.chain_head
    FOR EACH ROW EXECUTE FUNCTION driftmon.chain_head_forward();

-- Every broken link over both tables, in chain order; no rows when the chain is intact.
-- run_id and column_name name the row (column_name NULL: a run row).
CREATE OR REPLACE FUNCTION driftmon.verify_chain()
RETURNS TABLE (seq bigint, run_id bigint, column_name text, problem text)
LANGUAGE sql STABLE AS $$
    WITH links AS (
        SELECT r.seq, r.run_id, r.column_name, r.prev_hash, r.row_hash,
               sha256(r.prev_hash || driftmon.column_result_bytes(r)) AS recomputed
        FROM driftmon.column_result r
        UNION ALL
        SELECT r.seq, r.id, NULL::text, r.prev_hash, r.row_hash,
               sha256(r.prev_hash || driftmon.run_bytes(r))
        FROM driftmon.run r WHERE r.seq IS NOT NULL
    ), c AS (
        SELECT l.*, lag(l.row_hash) OVER w AS before_hash, lag(l.seq) OVER w AS before_seq
        FROM links l WINDOW w AS (ORDER BY l.seq)
    ), last AS (
        SELECT l.seq, l.row_hash FROM links l ORDER BY l.seq DESC LIMIT 1
    ), problems AS (
        SELECT c.seq, c.run_id, c.column_name,
               CASE WHEN c.column_name IS NULL THEN 'row hash mismatch: the run row was changed'
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

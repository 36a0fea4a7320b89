-- 019_perf_report_chain.sql - the re-rendered reports (017) become links of the hash chain
-- (issue 21: the performance history is "append-only and chained like the rest").
--
-- Until now a driftmon.performance_report row was checked against its own sha256 only, so
-- whoever could change the table could change a document and its sha256 together.  From
-- this migration on each row is a link of the one chain (009), in the same sequence as the
-- column results, the runs and the evaluations: seq = previous seq + 1, prev_hash = the
-- previous link's row_hash, row_hash = sha256(prev_hash || bytes), bytes being
--
--   the 29 ASCII bytes "driftmon.performance_report/1", then enc_i8 seq,
--   enc_i8 performance_id, enc_i8 run_id, enc_text monitor, enc_ts created_at,
--   enc_text report_html, enc_text report_html_sha256, enc_text report_json,
--   enc_text report_json_sha256, enc_text driftmon_version
--
-- (the encodings of 009).  The documents themselves (report_html_doc, report_json_doc) are
-- covered through their sha256, as a run's are: `driftmon verify` hashes each stored
-- document and compares, and recomputes the link from the raw row (monitor/chain.c).
--
-- Rows written before this migration: chained here, once, in performance_id order, at the
-- head of the chain as it stands when `driftmon init` applies this migration (their links
-- come after every link already there; their created_at is kept).  So from then on a change
-- to any of them is found by `verify`; what they held before the migration is vouched for,
-- as before, by their sha256 against the files in the reports directory.  This is the one
-- UPDATE ever made to the table: the append-only trigger is disabled for it, inside this
-- migration's transaction, and enabled again before it commits.  Every row then has a link
-- (seq, prev_hash and row_hash NOT NULL); a row without one is a failure of `verify`.
--
-- driftmon.verify_chain() (the check inside the database, for convenience only) covers the
-- new links too.  Runs as the owner (`driftmon init` SET ROLEs to it); applied once.

ALTER TABLE driftmon.performance_report ADD COLUMN IF NOT EXISTS seq bigint UNIQUE;
ALTER TABLE driftmon.performance_report ADD COLUMN IF NOT EXISTS prev_hash bytea
    CHECK (octet_length(prev_hash) = 32);
ALTER TABLE driftmon.performance_report ADD COLUMN IF NOT EXISTS row_hash bytea
    CHECK (octet_length(row_hash) = 32);
COMMENT ON COLUMN driftmon.performance_report.seq IS
    'the row''s link in the hash chain (rows written before migration 019 were chained by it)';

-- The bytes hashed for one row (see above).
CREATE OR REPLACE FUNCTION driftmon.performance_report_bytes(d driftmon.performance_report)
RETURNS bytea
LANGUAGE sql STABLE SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT convert_to('driftmon.performance_report/1', 'UTF8')
        || driftmon.enc_i8(d.seq)
        || driftmon.enc_i8(d.performance_id)
        || driftmon.enc_i8(d.run_id)
        || driftmon.enc_text(d.monitor)
        || driftmon.enc_ts(d.created_at)
        || driftmon.enc_text(d.report_html)
        || driftmon.enc_text(d.report_html_sha256)
        || driftmon.enc_text(d.report_json)
        || driftmon.enc_text(d.report_json_sha256)
        || driftmon.enc_text(d.driftmon_version)
$$;

-- The existing rows, in performance_id order (see above).
ALTER TABLE driftmon.performance_report DISABLE TRIGGER append_only;
DO $$
DECLARE
    head driftmon.chain_head;
    d driftmon.performance_report;
BEGIN
    FOR d IN SELECT * FROM driftmon.performance_report x WHERE x.seq IS NULL
             ORDER BY x.performance_id
    LOOP
        SELECT * INTO STRICT head FROM driftmon.chain_head WHERE id FOR UPDATE;
        d.seq := head.seq + 1;
        d.prev_hash := head.hash;
        d.row_hash := sha256(d.prev_hash || driftmon.performance_report_bytes(d));
        UPDATE driftmon.performance_report x
        SET seq = d.seq, prev_hash = d.prev_hash, row_hash = d.row_hash
        WHERE x.performance_id = d.performance_id;
        UPDATE driftmon.chain_head SET seq = d.seq, hash = d.row_hash WHERE id;
    END LOOP;
END
$$;
ALTER TABLE driftmon.performance_report ENABLE TRIGGER append_only;
ALTER TABLE driftmon.performance_report ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN row_hash SET NOT NULL;

CREATE OR REPLACE FUNCTION driftmon.performance_report_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    head driftmon.chain_head;
BEGIN
    SELECT * INTO STRICT head FROM driftmon.chain_head WHERE id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.row_hash := sha256(NEW.prev_hash || driftmon.performance_report_bytes(NEW));
    UPDATE driftmon.chain_head SET seq = NEW.seq, hash = NEW.row_hash WHERE id;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS hash_chain ON driftmon.performance_report;
CREATE TRIGGER hash_chain BEFORE INSERT ON driftmon.performance_report
    FOR EACH ROW EXECUTE FUNCTION driftmon.performance_report_chain();

-- the raw rows for `verify`, now with their links (017's view named its columns at creation)
CREATE OR REPLACE VIEW driftmon.audit_performance_report AS
SELECT * FROM driftmon.performance_report;

-- ---- the chain, checked in the database (015's, with the re-rendered reports' links) ---------
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
        UNION ALL
        SELECT d.seq, d.run_id, NULL::text, 'd', d.prev_hash, d.row_hash,
               sha256(d.prev_hash || driftmon.performance_report_bytes(d))
        FROM driftmon.performance_report d
    ), c AS (
        SELECT l.*, lag(l.row_hash) OVER w AS before_hash, lag(l.seq) OVER w AS before_seq
        FROM links l WINDOW w AS (ORDER BY l.seq)
    ), last AS (
        SELECT l.seq, l.row_hash FROM links l ORDER BY l.seq DESC LIMIT 1
    ), problems AS (
        SELECT c.seq, c.run_id, c.column_name,
               CASE c.kind WHEN 'u' THEN 'row hash mismatch: the run row was changed'
                           WHEN 'p' THEN 'row hash mismatch: the performance row was changed'
                           WHEN 'd' THEN 'row hash mismatch: the performance_report row was '
                                         'changed'
                           ELSE 'row hash mismatch: the row was changed' END
        FROM c WHERE c.row_hash IS DISTINCT FROM c.recomputed
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
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    REVOKE ALL ON driftmon.audit_performance_report FROM PUBLIC;
    REVOKE ALL ON FUNCTION driftmon.performance_report_bytes(driftmon.performance_report),
                           driftmon.performance_report_chain(),
                           driftmon.verify_chain()
        FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.audit_performance_report TO %I', a);
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.verify_chain() TO %I', a);
END
$$;

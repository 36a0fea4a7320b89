-- 002_integrity.sql - append-only results and the hash chain over column results.
--
-- run, column_result, reference and reference_column reject UPDATE, DELETE and TRUNCATE
-- (trigger; a superuser can still disable triggers, which is what the chain is for).
--
-- Hash chain: every column_result row gets seq = previous seq + 1, prev_hash = the previous
-- row's row_hash (32 zero bytes before the first) and
--   row_hash = sha256(prev_hash || driftmon.column_result_bytes(row))
-- where column_result_bytes encodes every other field unambiguously (length-prefixed UTF-8
-- texts, float8send / int8send big-endian binaries, a tag byte for NULL), so the hash
-- depends neither on client settings nor on float output formatting.  The chain head
-- (last seq and hash) lives in driftmon.chain_head; the trigger locks it (SELECT ... FOR
-- UPDATE), so concurrent runs are serialized into one chain and never fork.
-- SELECT * FROM driftmon.verify_chain() lists every broken link (no rows: intact).
-- Idempotent.

-- ---- append-only ------------------------------------------------------------------
CREATE OR REPLACE FUNCTION driftmon.reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'driftmon.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'results are kept as they were measured; write a new run instead';
END
$$;

DROP TRIGGER IF EXISTS append_only ON driftmon.run;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.run
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.run;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.run
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();

DROP TRIGGER IF EXISTS append_only ON driftmon.column_result;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.column_result
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.column_result;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.column_result
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();

DROP TRIGGER IF EXISTS append_only ON driftmon.reference;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.reference
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.reference;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.reference
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();

DROP TRIGGER IF EXISTS append_only ON driftmon.reference_column;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.reference_column
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.reference_column;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.reference_column
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();

REVOKE UPDATE, DELETE, TRUNCATE ON driftmon.run, driftmon.column_result, driftmon.reference,
    driftmon.reference_column FROM PUBLIC;

-- ---- hash chain --------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS driftmon.chain_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
INSERT INTO driftmon.chain_head (id, seq, hash)
VALUES (true, 0, decode(repeat('00', 32), 'hex'))
ON CONFLICT (id) DO NOTHING;

DROP TRIGGER IF EXISTS append_only ON driftmon.chain_head;
CREATE TRIGGER append_only BEFORE DELETE ON driftmon.chain_head
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.chain_head;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();

-- Unambiguous encodings: a tag byte 0 for NULL, else 1 followed by the value.
CREATE OR REPLACE FUNCTION driftmon.enc_text(t text) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || int4send(octet_length(convert_to(t, 'UTF8')))
                     || convert_to(t, 'UTF8') END
$$;
CREATE OR REPLACE FUNCTION driftmon.enc_f8(x float8) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || float8send(x) END
$$;
CREATE OR REPLACE FUNCTION driftmon.enc_i8(x bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || int8send(x) END
$$;
CREATE OR REPLACE FUNCTION driftmon.enc_bool(x boolean) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x IS NULL THEN '\x00'::bytea
                WHEN x THEN '\x0101'::bytea ELSE '\x0100'::bytea END
$$;

-- The bytes hashed for one row (everything but prev_hash and row_hash).
CREATE OR REPLACE FUNCTION driftmon.column_result_bytes(r driftmon.column_result) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT convert_to('driftmon.column_result/1', 'UTF8')
        || driftmon.enc_i8(r.seq)
        || driftmon.enc_i8(r.run_id)
        || driftmon.enc_text(r.column_name)
        || driftmon.enc_text(r.column_type)
        || driftmon.enc_text(r.stattest)
        || driftmon.enc_f8(r.stattest_threshold)
        || driftmon.enc_f8(r.drift_score)
        || driftmon.enc_bool(r.drift_detected)
        || driftmon.enc_i8(r.ref_rows)
        || driftmon.enc_i8(r.ref_missing)
        || driftmon.enc_i8(r.cur_rows)
        || driftmon.enc_i8(r.cur_missing)
        || driftmon.enc_text(r.details::text)
$$;

CREATE OR REPLACE FUNCTION driftmon.column_result_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head driftmon.chain_head;
BEGIN
    SELECT * INTO STRICT head FROM driftmon.chain_head WHERE id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.row_hash := sha256(NEW.prev_hash || driftmon.column_result_bytes(NEW));
    UPDATE driftmon.chain_head SET seq = NEW.seq, hash = NEW.row_hash WHERE id;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS hash_chain ON driftmon.column_result;
CREATE TRIGGER hash_chain BEFORE INSERT ON driftmon.column_result
    FOR EACH ROW EXECUTE FUNCTION driftmon.column_result_chain();

-- Every broken link, in chain order; no rows when the chain is intact.
CREATE OR REPLACE FUNCTION driftmon.verify_chain()
RETURNS TABLE (seq bigint, run_id bigint, column_name text, problem text)
LANGUAGE sql STABLE AS $$
    WITH c AS (
        SELECT r.seq, r.run_id, r.column_name, r.prev_hash, r.row_hash,
               sha256(r.prev_hash || driftmon.column_result_bytes(r)) AS recomputed,
               lag(r.row_hash) OVER w AS before_hash,
               lag(r.seq) OVER w AS before_seq
        FROM driftmon.column_result r
        WINDOW w AS (ORDER BY r.seq)
    ), last AS (
        SELECT r.seq, r.row_hash FROM driftmon.column_result r ORDER BY r.seq DESC LIMIT 1
    ), problems AS (
        SELECT c.seq, c.run_id, c.column_name, 'row hash mismatch: the row was changed'::text
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

-- 010_model.sql - the model's figures in the database (issue 17).
--
-- A reference version may carry the model's feature importances (`driftmon reference load
-- ... --importance FILE`): the file's bytes, its name and its sha256 are part of the
-- reference row, set when the version is created (driftmon.new_reference below) and
-- append-only as the row is, so no importance can be added to or changed under an existing
-- version; driftmon.reference_importance repeats the file's (column, importance) pairs, in
-- the file's order, for auditors.  A check recomputes the sha256 of the stored bytes and
-- compares the pairs with the parsed file: a change to either is refused.
--
-- Each run keeps the model's figures of its JSON report (the hook's payload) in columns of
-- driftmon.run, filled from driftmon.run.report by the trigger below whatever the client
-- sends, so the row and the report cannot disagree: importance_sha256 (the importances the
-- run used), importance_weighted_share, score_column, score_psi, score_band, the approval
-- rates and retrain_reasons (empty when retraining is not flagged).  Runs recorded before
-- this migration have NULL there.  A column result's importance is in its details
-- ("importance", absent without one), which the hash chain covers.
--
-- The views driftmon.runs and driftmon.column_history gain these as their last columns
-- (CREATE OR REPLACE VIEW can only add columns at the end).  So 003, which defines the
-- views' first columns, cannot be applied again over this migration; `driftmon init`
-- never re-applies a recorded migration.
-- Idempotent.

ALTER TABLE driftmon.reference ADD COLUMN IF NOT EXISTS importance_sha256 text
    CHECK (importance_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE driftmon.reference ADD COLUMN IF NOT EXISTS importance_source text;
ALTER TABLE driftmon.reference ADD COLUMN IF NOT EXISTS importance_file bytea;
COMMENT ON COLUMN driftmon.reference.importance_sha256 IS
    'sha256 of importance_file, the model''s feature importances stored with this version';

CREATE TABLE IF NOT EXISTS driftmon.reference_importance (
    reference_id bigint NOT NULL REFERENCES driftmon.reference (id),
    ordinal integer NOT NULL CHECK (ordinal >= 0),
    column_name text NOT NULL,
    importance float8 NOT NULL CHECK (importance >= 0 AND importance < 'infinity'),
    PRIMARY KEY (reference_id, ordinal),
    UNIQUE (reference_id, column_name)
);
COMMENT ON TABLE driftmon.reference_importance IS
    'the importances of a reference''s importance_file, in its order (checked against it)';

DROP TRIGGER IF EXISTS append_only ON driftmon.reference_importance;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.reference_importance
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.reference_importance;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.reference_importance
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON driftmon.reference_importance FROM PUBLIC;

-- new_reference (003) with the importance file: the caller then inserts the file's pairs
-- into driftmon.reference_importance in the same transaction.
CREATE OR REPLACE FUNCTION driftmon.new_reference(name text, source text, rows bigint,
                                                  sha256 text, driftmon_version text,
                                                  importance_source text,
                                                  importance_sha256 text,
                                                  importance_file bytea)
RETURNS driftmon.reference
LANGUAGE plpgsql AS $$
DECLARE
    r driftmon.reference;
BEGIN
    IF importance_file IS NULL OR importance_sha256 IS DISTINCT FROM
            encode(pg_catalog.sha256(importance_file), 'hex') THEN
        RAISE EXCEPTION 'driftmon.new_reference: importance_sha256 is not the sha256 of importance_file'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('driftmon.reference:' || new_reference.name, 0));
    INSERT INTO driftmon.reference (name, version, source, rows, sha256, driftmon_version,
                                    importance_source, importance_sha256, importance_file)
    SELECT new_reference.name, coalesce(max(x.version), 0) + 1, new_reference.source,
           new_reference.rows, new_reference.sha256, new_reference.driftmon_version,
           new_reference.importance_source, new_reference.importance_sha256,
           new_reference.importance_file
    FROM driftmon.reference x WHERE x.name = new_reference.name
    RETURNING * INTO r;
    RETURN r;
END
$$;

-- ---- runs ------------------------------------------------------------------------------
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS importance_sha256 text
    CHECK (importance_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS importance_weighted_share float8;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS score_column text;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS score_psi float8;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS score_band text
    CHECK (score_band IN ('stable', 'watch', 'act'));
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS reference_approval_rate float8;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS current_approval_rate float8;
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS retrain_reasons text[];
COMMENT ON COLUMN driftmon.run.retrain_reasons IS
    'the retrain conditions that held (share, weighted_share, score_psi); NULL before 010';

-- The model's columns of a new run row, from its report (the JSON numbers are the shortest
-- text that reads back as the same double: the columns hold the report's very values).
CREATE OR REPLACE FUNCTION driftmon.run_model_figures() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb := NEW.report;
    p jsonb := NEW.report -> 'prediction_drift';
BEGIN
    NEW.importance_sha256 := j ->> 'importance_sha256';
    NEW.importance_weighted_share := (j ->> 'importance_weighted_share')::float8;
    NEW.score_column := p ->> 'column';
    NEW.score_psi := (p ->> 'psi')::float8;
    NEW.score_band := p ->> 'band';
    NEW.reference_approval_rate := (p ->> 'reference_approval_rate')::float8;
    NEW.current_approval_rate := (p ->> 'current_approval_rate')::float8;
    NEW.retrain_reasons := CASE WHEN jsonb_typeof(j -> 'retrain' -> 'reasons') = 'array'
        THEN ARRAY(SELECT jsonb_array_elements_text(j -> 'retrain' -> 'reasons')) END;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS model_figures ON driftmon.run;
CREATE TRIGGER model_figures BEFORE INSERT ON driftmon.run
    FOR EACH ROW EXECUTE FUNCTION driftmon.run_model_figures();

-- ---- views (003's columns, then these) -----------------------------------------------
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
       r.retrain_reasons
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
       (c.details ->> 'importance')::float8 AS importance
FROM driftmon.column_result c
JOIN driftmon.run r ON r.id = c.run_id
JOIN driftmon.reference ref ON ref.id = r.reference_id;

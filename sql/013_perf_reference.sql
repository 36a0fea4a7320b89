-- 013_perf_reference.sql - the reference's realised performance (issue 21).
--
-- `driftmon reference load` evaluates the reference's rows when the configuration names the
-- model's label and score columns and its decision threshold (monitor/outcome.h): the
-- confusion counts at that threshold, AUC, recall, precision, the business cost under
-- model.cost, the optimal threshold.  They are stored with the reference version, once, in
-- the transaction that creates it (driftmon.add_reference_performance refuses any other
-- reference: driftmon.reference_is_new), append-only like the version itself, together with
-- the settings they were computed under, so that `driftmon check` compares a cohort's cost
-- with the reference's only under the same threshold and costs.  A NULL figure is one that
-- is not defined (AUC with one class, recall or precision over 0, every figure over 0 rows);
-- optimal_threshold 'Infinity' means refusing nobody is optimal.
-- The daemon's role writes them only through the function (granted below); the auditor reads
-- driftmon.audit_reference_performance.  Runs as the owner.  Idempotent.

CREATE TABLE IF NOT EXISTS driftmon.reference_performance (
    reference_id bigint PRIMARY KEY REFERENCES driftmon.reference (id),
    label_column text NOT NULL CHECK (label_column <> ''),
    score_column text NOT NULL CHECK (score_column <> ''),
    decision_threshold float8 NOT NULL,
    cost_fn float8 NOT NULL CHECK (cost_fn >= 0 AND cost_fn < 'infinity'),
    cost_fp float8 NOT NULL CHECK (cost_fp >= 0 AND cost_fp < 'infinity'),
    rows bigint NOT NULL CHECK (rows >= 0),
    left_out bigint NOT NULL CHECK (left_out >= 0),
    tp bigint NOT NULL CHECK (tp >= 0),
    fp bigint NOT NULL CHECK (fp >= 0),
    tn bigint NOT NULL CHECK (tn >= 0),
    fn bigint NOT NULL CHECK (fn >= 0),
    auc float8 CHECK (auc BETWEEN 0 AND 1),
    recall float8 CHECK (recall BETWEEN 0 AND 1),
    "precision" float8 CHECK ("precision" BETWEEN 0 AND 1),
    business_cost float8 CHECK (business_cost >= 0),
    optimal_threshold float8,
    business_cost_at_optimal float8 CHECK (business_cost_at_optimal >= 0),
    CHECK (tp + fp + tn + fn = rows)
);
COMMENT ON TABLE driftmon.reference_performance IS
    'the reference version''s realised performance, computed when it was loaded (issue 21)';
COMMENT ON COLUMN driftmon.reference_performance.optimal_threshold IS
    'the smallest threshold of least business cost; ''Infinity'': refuse nobody';

DROP TRIGGER IF EXISTS append_only ON driftmon.reference_performance;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.reference_performance
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.reference_performance;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.reference_performance
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();
REVOKE ALL ON driftmon.reference_performance FROM PUBLIC;

CREATE OR REPLACE FUNCTION driftmon.add_reference_performance(
    reference_id bigint, label_column text, score_column text, decision_threshold float8,
    cost_fn float8, cost_fp float8, rows bigint, left_out bigint, tp bigint, fp bigint,
    tn bigint, fn bigint, auc float8, recall float8, "precision" float8, business_cost float8,
    optimal_threshold float8, business_cost_at_optimal float8)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    PERFORM driftmon.reference_is_new(add_reference_performance.reference_id);
    INSERT INTO driftmon.reference_performance
        (reference_id, label_column, score_column, decision_threshold, cost_fn, cost_fp, rows,
         left_out, tp, fp, tn, fn, auc, recall, "precision", business_cost, optimal_threshold,
         business_cost_at_optimal)
    VALUES (add_reference_performance.reference_id, add_reference_performance.label_column,
            add_reference_performance.score_column, add_reference_performance.decision_threshold,
            add_reference_performance.cost_fn, add_reference_performance.cost_fp,
            add_reference_performance.rows, add_reference_performance.left_out,
            add_reference_performance.tp, add_reference_performance.fp,
            add_reference_performance.tn, add_reference_performance.fn,
            add_reference_performance.auc, add_reference_performance.recall,
            add_reference_performance."precision", add_reference_performance.business_cost,
            add_reference_performance.optimal_threshold,
            add_reference_performance.business_cost_at_optimal);
END
$$;
REVOKE ALL ON FUNCTION driftmon.add_reference_performance(bigint, text, text, float8, float8,
    float8, bigint, bigint, bigint, bigint, bigint, bigint, float8, float8, float8, float8, float8,
    float8) FROM PUBLIC;

CREATE OR REPLACE VIEW driftmon.audit_reference_performance AS
SELECT r.name AS reference_name, r.version AS reference_version, p.*
FROM driftmon.reference_performance p
JOIN driftmon.reference r ON r.id = p.reference_id;

DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    EXECUTE format('GRANT SELECT ON driftmon.reference_performance TO %I', d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.add_reference_performance(bigint, text, '
                   'text, float8, float8, float8, bigint, bigint, bigint, bigint, bigint, '
                   'bigint, float8, float8, float8, float8, float8, float8) TO %I', d);
    EXECUTE format('GRANT SELECT ON driftmon.audit_reference_performance TO %I', a);
END
$$;

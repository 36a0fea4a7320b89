-- 017_perf_report.sql - a run's report once its cohort's outcomes are known (issue 21).
--
-- Each evaluation of a run's cohort (driftmon.performance, 015) gets a new HTML and JSON
-- document: the run's stored documents (report_html_doc, 005; report_json_doc, 009) with
-- their performance section, and nothing else, rendered again with the evaluation's figures
-- (monitor/perfreport.c, reports/report.h rpt_*_replace_performance).  The run's own
-- documents and files are never changed.  The files are written atomically into the run's
-- reports directory as run-<run id>.performance-<evaluation id>.html and .json.
--
--   - driftmon.performance_report: one row per evaluation that has its documents, written
--     in the evaluation's own transaction (the files are written before its commit); an
--     evaluation whose documents could not be written stays recorded without a row here.
--     Append-only (002's triggers).  Not a link of the hash chain: `driftmon verify` checks
--     each stored document against its sha256 and the files against the same sha256.
--   - driftmon.record_performance_report(...): the daemon's only way in (SECURITY DEFINER,
--     search_path fixed); it checks each document's sha256 and takes the run and monitor
--     from the evaluation.
--   - driftmon.performance_reports: what auditors read (without the documents);
--     driftmon.audit_performance_report: the raw rows, for `verify`.
-- Runs as the owner (`driftmon init` SET ROLEs to it).  Idempotent.

CREATE TABLE IF NOT EXISTS driftmon.performance_report (
    performance_id bigint PRIMARY KEY REFERENCES driftmon.performance (id),
    run_id bigint NOT NULL REFERENCES driftmon.run (id),
    monitor text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    report_html text NOT NULL,
    report_html_sha256 text NOT NULL CHECK (report_html_sha256 ~ '^[0-9a-f]{64}$'),
    report_html_doc text NOT NULL,
    report_json text NOT NULL,
    report_json_sha256 text NOT NULL CHECK (report_json_sha256 ~ '^[0-9a-f]{64}$'),
    report_json_doc text NOT NULL,
    driftmon_version text NOT NULL
);
CREATE INDEX IF NOT EXISTS performance_report_run
    ON driftmon.performance_report (run_id, performance_id);
COMMENT ON TABLE driftmon.performance_report IS
    'a run''s report re-rendered with an evaluation of its cohort (append-only)';

DROP TRIGGER IF EXISTS append_only ON driftmon.performance_report;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.performance_report
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.performance_report;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.performance_report
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON driftmon.performance_report FROM PUBLIC;

-- The documents of evaluation performance_id; their sha256 checked here.
CREATE OR REPLACE FUNCTION driftmon.record_performance_report(
    performance_id bigint, report_html text, report_html_sha256 text, report_html_doc text,
    report_json text, report_json_sha256 text, report_json_doc text, driftmon_version text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    p driftmon.performance;
    f CONSTANT text := 'driftmon.record_performance_report';
BEGIN
    SELECT * INTO p FROM driftmon.performance x
    WHERE x.id = record_performance_report.performance_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: no evaluation %', f, record_performance_report.performance_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF encode(sha256(convert_to(record_performance_report.report_html_doc, 'UTF8')), 'hex')
           IS DISTINCT FROM record_performance_report.report_html_sha256
       OR encode(sha256(convert_to(record_performance_report.report_json_doc, 'UTF8')), 'hex')
           IS DISTINCT FROM record_performance_report.report_json_sha256 THEN
        RAISE EXCEPTION '%: a document does not match its sha256 (evaluation %)', f, p.id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO driftmon.performance_report (
        performance_id, run_id, monitor, report_html, report_html_sha256, report_html_doc,
        report_json, report_json_sha256, report_json_doc, driftmon_version)
    VALUES (p.id, p.run_id, p.monitor, record_performance_report.report_html,
            record_performance_report.report_html_sha256,
            record_performance_report.report_html_doc, record_performance_report.report_json,
            record_performance_report.report_json_sha256,
            record_performance_report.report_json_doc,
            record_performance_report.driftmon_version);
END
$$;

-- ---- what auditors read ----------------------------------------------------------------
CREATE OR REPLACE VIEW driftmon.performance_reports AS
SELECT d.performance_id AS evaluation_id,
       d.run_id,
       d.monitor,
       d.created_at,
       p.evaluated_at,
       p.supersedes,
       d.report_html,
       d.report_html_sha256,
       d.report_json,
       d.report_json_sha256,
       d.driftmon_version
FROM driftmon.performance_report d
JOIN driftmon.performance p ON p.id = d.performance_id;

CREATE OR REPLACE VIEW driftmon.audit_performance_report AS
SELECT * FROM driftmon.performance_report;

-- ---- grants (011's pattern: nothing PUBLIC's, every right by role name) -----------------
DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    REVOKE ALL ON driftmon.performance_report, driftmon.performance_reports,
                  driftmon.audit_performance_report FROM PUBLIC;
    REVOKE ALL ON FUNCTION driftmon.record_performance_report(bigint, text, text, text, text,
                                                              text, text, text) FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.performance_report TO %I', d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.record_performance_report(bigint, text, '
                   'text, text, text, text, text, text) TO %I', d);
    EXECUTE format('GRANT SELECT ON driftmon.performance_reports, '
                   'driftmon.audit_performance_report TO %I', a);
    EXECUTE format('GRANT SELECT ON driftmon.performance_reports TO %I', d);
END
$$;

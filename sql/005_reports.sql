-- 005_reports.sql - the rendered HTML report kept in the run row (issue 5), so that
-- `driftmon report RUN --html FILE` gives back the very bytes written at the time of the run
-- (the plots need the distributions, which the database does not keep).  The document is
-- written in the run's transaction; report_html_sha256 (001) is its sha256, checked when it
-- is re-rendered.  Runs recorded before this migration have NULL here.
-- Idempotent.
ALTER TABLE driftmon.run ADD COLUMN IF NOT EXISTS report_html_doc text;
COMMENT ON COLUMN driftmon.run.report_html_doc IS
    'the HTML report exactly as written (sha256 = report_html_sha256)';

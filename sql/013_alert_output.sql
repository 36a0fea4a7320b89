-- 013_alert_output.sql - the retrain hook's last output (008) for the auditor: `driftmon alerts`
-- shows it beside each alert, and the auditor reads views only (011), never
-- driftmon.retrain_outbox itself.  A view of the two columns, granted like 011's views.
-- Idempotent.
CREATE OR REPLACE VIEW driftmon.alert_output AS
    SELECT run_id, last_output, last_output_bytes FROM driftmon.retrain_outbox;
COMMENT ON VIEW driftmon.alert_output IS
    'per retrain alert: the last 4096 bytes its hook wrote on the last attempt, and how many in all';

DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    REVOKE ALL ON driftmon.alert_output FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.alert_output TO %I, %I', d, a);
END
$$;

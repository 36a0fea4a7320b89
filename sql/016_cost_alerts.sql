-- 016_cost_alerts.sql - every retrain alert in one view, drift and cost alike (issue 21):
-- driftmon.retrain_outbox (a run's alert, 001/004/008) and driftmon.performance_outbox (a
-- cohort's evaluation's alert, reason "cost", 015).  `driftmon alerts` lists it; the auditor
-- reads it as the other views (011), never the outboxes themselves.
--
--   driftmon.retrain_alerts, one row per alert:
--     reason         'drift' (retrain_outbox: the run's conditions, run.retrain_reasons) or
--                    'cost' (performance_outbox)
--     run_id         the run; for a cost alert, the run whose cohort was evaluated
--     evaluation_id  the evaluation (driftmon.performance_history.evaluation_id) of a cost
--                    alert; NULL for a drift alert
--     monitor, batch, window_start, window_end: the run's (the cohort's, for a cost alert)
--     state          'pending', 'delivered' or 'dead' (driftmon.alerts' rule)
--     attempts, created_at, next_attempt_at, delivered_at, dead_at, last_error,
--     last_output, last_output_bytes: the delivery's state, as the outbox holds it
--   The view driftmon.alerts (004) stays as it is: drift alerts only.
--   performance_monitor_run: the monitor's newest evaluation, which /metrics reads at every
--   turn of the daemon's loop (monitor/serve.c).
-- Runs as the owner.  Idempotent.

CREATE OR REPLACE VIEW driftmon.retrain_alerts AS
SELECT 'drift'::text AS reason,
       o.run_id,
       NULL::bigint AS evaluation_id,
       r.monitor,
       r.batch,
       r.window_start,
       r.window_end,
       CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered'
            WHEN o.dead_at IS NOT NULL THEN 'dead'
            ELSE 'pending' END AS state,
       o.attempts,
       o.created_at,
       o.next_attempt_at,
       o.delivered_at,
       o.dead_at,
       o.last_error,
       o.last_output,
       o.last_output_bytes
FROM driftmon.retrain_outbox o
JOIN driftmon.run r ON r.id = o.run_id
UNION ALL
SELECT 'cost'::text,
       p.run_id,
       o.performance_id,
       p.monitor,
       r.batch,
       r.window_start,
       r.window_end,
       CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered'
            WHEN o.dead_at IS NOT NULL THEN 'dead'
            ELSE 'pending' END,
       o.attempts,
       o.created_at,
       o.next_attempt_at,
       o.delivered_at,
       o.dead_at,
       o.last_error,
       o.last_output,
       o.last_output_bytes
FROM driftmon.performance_outbox o
JOIN driftmon.performance p ON p.id = o.performance_id
JOIN driftmon.run r ON r.id = p.run_id;
COMMENT ON VIEW driftmon.retrain_alerts IS
    'every retrain alert, reason drift (a run''s, retrain_outbox) or cost (an evaluation''s, performance_outbox), with its delivery''s state and the hook''s last output';

CREATE INDEX IF NOT EXISTS performance_monitor_run
    ON driftmon.performance (monitor, run_id DESC, id DESC);

-- ---- grants (011's pattern: nothing PUBLIC's, every right by role name) -----------------
DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
BEGIN
    REVOKE ALL ON driftmon.retrain_alerts FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.retrain_alerts TO %I, %I', d, a);
END
$$;

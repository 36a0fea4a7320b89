-- 011_roles.sql - four NOLOGIN group roles and who may do what (issue 18).
--
--   owner    owns schema driftmon and every object in it; migrations run as it.
--   daemon   `serve`, `check`, `reference load`: reads every driftmon table, writes only
--            through the SECURITY DEFINER functions granted below (owned by owner, search_path
--            fixed), so it can neither change a recorded row nor ALTER or disable a trigger.
--   engine   driftmon.submit_batch(text), nothing else.
--   auditor  SELECT on the views (driftmon.runs, column_history, ... and the audit_* views
--            below, which `verify` and `export` read) and EXECUTE on driftmon.verify_chain().
-- Administrators grant these to login roles.  Reading the monitored table is the
-- administrator's grant on that table to the daemon's login role.
--
-- Role names: the settings driftmon.role_owner, role_daemon, role_engine, role_auditor, which
-- `driftmon init` sets in the migration's transaction from database.roles; when unset (psql),
-- driftmon_owner, driftmon_daemon, driftmon_engine, driftmon_auditor.  A role missing here is
-- created NOLOGIN (init creates them first; psql needs CREATEROLE).
--
-- Databases migrated before this one: everything in schema driftmon belonged to whoever ran
-- `driftmon init`; this migration, run by that administrator, hands the schema and every
-- object in it to the owner.  Every later migration runs as the owner (`driftmon init`
-- SET ROLEs to it), so what it creates is the owner's; functions are not executable by
-- PUBLIC unless granted (the owner's default privileges, below).
-- Idempotent.

DO $$
DECLARE
    k text;
    n text;
BEGIN
    FOREACH k IN ARRAY ARRAY['owner', 'daemon', 'engine', 'auditor'] LOOP
        n := coalesce(nullif(current_setting('driftmon.role_' || k, true), ''), 'driftmon_' || k);
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', n);
        END IF;
    END LOOP;
END
$$;

-- ---- what `verify`, `export` and `report` read, for the auditor ---------------------------
-- The raw rows, read-only: the auditor has no right on the tables themselves.
CREATE OR REPLACE VIEW driftmon.audit_run AS SELECT * FROM driftmon.run;
CREATE OR REPLACE VIEW driftmon.audit_column_result AS SELECT * FROM driftmon.column_result;
CREATE OR REPLACE VIEW driftmon.audit_chain_head AS SELECT * FROM driftmon.chain_head;
CREATE OR REPLACE VIEW driftmon.audit_reference AS SELECT * FROM driftmon.reference;
CREATE OR REPLACE VIEW driftmon.audit_reference_column AS SELECT * FROM driftmon.reference_column;
CREATE OR REPLACE VIEW driftmon.audit_reference_left_out AS
    SELECT * FROM driftmon.reference_left_out;
CREATE OR REPLACE VIEW driftmon.audit_reference_importance AS
    SELECT * FROM driftmon.reference_importance;

-- ---- the daemon's writes ------------------------------------------------------------------
-- A run id for the report files, before the run exists.
CREATE OR REPLACE FUNCTION driftmon.reserve_run_id() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    SELECT pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('driftmon.run', 'id'))
$$;

-- First half of a run's transaction: with worker, the batch must still be this worker's claim
-- and not done (else NULL: the claim was lost); the batch is recorded; the column results of
-- run run_id (which must not exist yet: its row follows, driftmon.record_run) are chained
-- in the array's order, from a JSON array of objects {n, t, s, th, sc, d, rr, rm, cr, cm,
-- det} (monitor/dbrun.c).  Returns the chain head after them, hex, locked until the
-- transaction ends.
CREATE OR REPLACE FUNCTION driftmon.record_results(run_id bigint, batch text, worker text,
                                                   results jsonb)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    ours boolean;
    head text;
BEGIN
    IF record_results.batch IS NOT NULL AND record_results.worker IS NOT NULL THEN
        SELECT b.done_at IS NULL AND b.claimed_by IS NOT DISTINCT FROM record_results.worker
        INTO ours
        FROM driftmon.batch b WHERE b.batch = record_results.batch FOR UPDATE;
        IF ours IS NOT TRUE THEN
            RETURN NULL;
        END IF;
    END IF;
    IF record_results.batch IS NOT NULL THEN
        INSERT INTO driftmon.batch AS b (batch) VALUES (record_results.batch)
            ON CONFLICT ON CONSTRAINT batch_pkey DO NOTHING;
    END IF;
    IF EXISTS (SELECT 1 FROM driftmon.run r WHERE r.id = record_results.run_id) THEN
        RAISE EXCEPTION 'driftmon.record_results: run % is recorded: results come before their run',
                        record_results.run_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SET CONSTRAINTS driftmon.column_result_run_id_fkey DEFERRED;
    INSERT INTO driftmon.column_result (run_id, column_name, column_type, stattest,
                                        stattest_threshold, drift_score, drift_detected,
                                        ref_rows, ref_missing, cur_rows, cur_missing, details)
    SELECT record_results.run_id, x.n, x.t, x.s, x.th::float8, x.sc::float8, x.d, x.rr, x.rm,
           x.cr, x.cm, x.det
    FROM ROWS FROM (jsonb_to_recordset(record_results.results) AS
                    (n text, t text, s text, th text, sc text, d boolean, rr bigint, rm bigint,
                     cr bigint, cm bigint, det jsonb))
         WITH ORDINALITY AS x(n, t, s, th, sc, d, rr, rm, cr, cm, det, ord)
    ORDER BY x.ord;
    SELECT encode(h.hash, 'hex') INTO STRICT head FROM driftmon.chain_head h WHERE h.id FOR UPDATE;
    RETURN head;
END
$$;

-- Second half: the run row (chained last), its retrain alert and NOTIFY on notify_channel
-- when retraining is flagged, the batch marked done.
CREATE OR REPLACE FUNCTION driftmon.record_run(
    run_id bigint, batch text, window_start timestamptz, window_end timestamptz,
    reference_id bigint, started_at timestamptz, number_of_columns integer,
    number_of_drifted_columns integer, share_of_drifted_columns float8, drift_share float8,
    dataset_drift boolean, retrain_fraction float8, retrain_flagged boolean, report_html text,
    report_html_sha256 text, report_json text, report_json_sha256 text, config_sha256 text,
    reference_sha256 text, driftmon_version text, report jsonb, report_html_doc text,
    report_json_doc text, notify_channel text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    INSERT INTO driftmon.run (id, batch, window_start, window_end, reference_id, started_at,
                              number_of_columns, number_of_drifted_columns,
                              share_of_drifted_columns, drift_share, dataset_drift,
                              retrain_fraction, retrain_flagged, report_html, report_html_sha256,
                              report_json, report_json_sha256, config_sha256, reference_sha256,
                              driftmon_version, report, report_html_doc, report_json_doc)
    OVERRIDING SYSTEM VALUE
    VALUES (record_run.run_id, record_run.batch, record_run.window_start, record_run.window_end,
            record_run.reference_id, record_run.started_at, record_run.number_of_columns,
            record_run.number_of_drifted_columns, record_run.share_of_drifted_columns,
            record_run.drift_share, record_run.dataset_drift, record_run.retrain_fraction,
            record_run.retrain_flagged, record_run.report_html, record_run.report_html_sha256,
            record_run.report_json, record_run.report_json_sha256, record_run.config_sha256,
            record_run.reference_sha256, record_run.driftmon_version, record_run.report,
            record_run.report_html_doc, record_run.report_json_doc);
    IF record_run.retrain_flagged THEN
        INSERT INTO driftmon.retrain_outbox (run_id) VALUES (record_run.run_id);
        IF record_run.notify_channel IS NOT NULL THEN
            PERFORM pg_notify(record_run.notify_channel, record_run.run_id::text);
        END IF;
    END IF;
    IF record_run.batch IS NOT NULL THEN
        UPDATE driftmon.batch b SET done_at = clock_timestamp(), lease_until = NULL,
                                    last_error = NULL
        WHERE b.batch = record_run.batch;
    END IF;
END
$$;

-- A (re)connected daemon gives back the leases of its worker name.
CREATE OR REPLACE FUNCTION driftmon.release_leases(worker text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    UPDATE driftmon.batch b SET lease_until = NULL
    WHERE b.claimed_by = release_leases.worker AND b.done_at IS NULL
$$;

-- A periodic window handled (driftmon.window_done, 004).
CREATE OR REPLACE FUNCTION driftmon.record_window(every_s bigint, window_start timestamptz,
                                                  window_end timestamptz, run_id bigint,
                                                  note text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    INSERT INTO driftmon.window_done (every_s, window_start, window_end, run_id, note)
    VALUES (record_window.every_s, record_window.window_start, record_window.window_end,
            record_window.run_id, record_window.note)
    ON CONFLICT DO NOTHING
$$;

-- The outcome of one delivery attempt of a retrain alert taken by driftmon.claim_alert:
-- 'delivered'; 'stopped' (the daemon stopped the hook: the attempt does not count, due now);
-- 'dead' (no attempt left); 'retry' (due again in retry_in_s seconds, the backoff state).
CREATE OR REPLACE FUNCTION driftmon.record_alert_attempt(run_id bigint, outcome text,
                                                         retry_in_s float8, error text,
                                                         output text, output_bytes bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    CASE record_alert_attempt.outcome
    WHEN 'delivered' THEN
        UPDATE driftmon.retrain_outbox o
        SET delivered_at = clock_timestamp(), last_error = NULL,
            last_output = record_alert_attempt.output,
            last_output_bytes = record_alert_attempt.output_bytes
        WHERE o.run_id = record_alert_attempt.run_id;
    WHEN 'stopped' THEN
        UPDATE driftmon.retrain_outbox o
        SET attempts = greatest(o.attempts - 1, 0), next_attempt_at = clock_timestamp(),
            last_output = record_alert_attempt.output,
            last_output_bytes = record_alert_attempt.output_bytes
        WHERE o.run_id = record_alert_attempt.run_id;
    WHEN 'dead' THEN
        UPDATE driftmon.retrain_outbox o
        SET dead_at = clock_timestamp(), last_error = record_alert_attempt.error,
            last_output = record_alert_attempt.output,
            last_output_bytes = record_alert_attempt.output_bytes
        WHERE o.run_id = record_alert_attempt.run_id;
    WHEN 'retry' THEN
        UPDATE driftmon.retrain_outbox o
        SET next_attempt_at = clock_timestamp()
                + make_interval(secs => record_alert_attempt.retry_in_s),
            backoff_s = record_alert_attempt.retry_in_s, last_error = record_alert_attempt.error,
            last_output = record_alert_attempt.output,
            last_output_bytes = record_alert_attempt.output_bytes
        WHERE o.run_id = record_alert_attempt.run_id;
    ELSE
        RAISE EXCEPTION 'driftmon.record_alert_attempt: unknown outcome "%"',
                        record_alert_attempt.outcome
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$$;

-- A reference's rows are added only in the transaction that created it (driftmon.new_reference):
-- a stored version cannot gain a column, an importance or a left-out column later.
CREATE OR REPLACE FUNCTION driftmon.reference_is_new(reference_id bigint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM driftmon.reference r
                   WHERE r.id = reference_is_new.reference_id
                     AND r.xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'reference id % was not created in this transaction: a stored reference '
                        'does not change', reference_is_new.reference_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION driftmon.add_reference_column(
    reference_id bigint, ordinal integer, name text, storage text, is_int boolean, count bigint,
    n_distinct bigint, missing bigint, nonfinite bigint, mean float8, std float8, min float8,
    max float8, profile bytea)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    PERFORM driftmon.reference_is_new(add_reference_column.reference_id);
    INSERT INTO driftmon.reference_column (reference_id, ordinal, name, storage, is_int, count,
                                           n_distinct, missing, nonfinite, mean, std, min, max,
                                           profile)
    VALUES (add_reference_column.reference_id, add_reference_column.ordinal,
            add_reference_column.name, add_reference_column.storage, add_reference_column.is_int,
            add_reference_column.count, add_reference_column.n_distinct,
            add_reference_column.missing, add_reference_column.nonfinite,
            add_reference_column.mean, add_reference_column.std, add_reference_column.min,
            add_reference_column.max, add_reference_column.profile);
END
$$;

-- pairs: a JSON array of [column, importance as text], in the file's order.
CREATE OR REPLACE FUNCTION driftmon.add_reference_importance(reference_id bigint, pairs jsonb)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    PERFORM driftmon.reference_is_new(add_reference_importance.reference_id);
    INSERT INTO driftmon.reference_importance (reference_id, ordinal, column_name, importance)
    SELECT add_reference_importance.reference_id, (x.ord - 1)::int, x.e ->> 0,
           (x.e ->> 1)::float8
    FROM jsonb_array_elements(add_reference_importance.pairs) WITH ORDINALITY AS x(e, ord);
END
$$;

CREATE OR REPLACE FUNCTION driftmon.add_reference_left_out(reference_id bigint, ordinal integer,
                                                           name text, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    PERFORM driftmon.reference_is_new(add_reference_left_out.reference_id);
    INSERT INTO driftmon.reference_left_out (reference_id, ordinal, name, reason)
    VALUES (add_reference_left_out.reference_id, add_reference_left_out.ordinal,
            add_reference_left_out.name, add_reference_left_out.reason);
END
$$;

-- The earlier helpers run as the owner too (they write driftmon's tables), search_path fixed.
ALTER FUNCTION driftmon.claim_batch(text, interval)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.renew_lease(text, text, interval)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.fail_batch(text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.give_up_batch(text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.claim_alert(interval)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.next_alert_in()
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.new_reference(text, text, bigint, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
ALTER FUNCTION driftmon.new_reference(text, text, bigint, text, text, text, text, bytea)
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;
-- read-only: the auditor may run it without reading the tables
ALTER FUNCTION driftmon.verify_chain()
    SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp;

-- ---- the owner owns everything --------------------------------------------------------------
DO $$
DECLARE
    o text := coalesce(nullif(current_setting('driftmon.role_owner', true), ''), 'driftmon_owner');
    r record;
BEGIN
    EXECUTE format('ALTER SCHEMA driftmon OWNER TO %I', o);
    -- relations (indexes and identity sequences follow their table)
    FOR r IN
        SELECT c.oid::regclass AS rel,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                              WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END AS kind
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'driftmon'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
          AND NOT (c.relkind = 'S' AND EXISTS (
                SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype IN ('a', 'i')))
        ORDER BY c.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.rel, o);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn,
               CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                              ELSE 'FUNCTION' END AS kind
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'driftmon'::regnamespace
        ORDER BY p.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.fn, o);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS typ, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
        FROM pg_catalog.pg_type t
        WHERE t.typnamespace = 'driftmon'::regnamespace AND t.typtype IN ('d', 'e', 'r', 'm')
        ORDER BY t.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.typ, o);
    END LOOP;
END
$$;

-- ---- grants ---------------------------------------------------------------------------------
DO $$
DECLARE
    o text := coalesce(nullif(current_setting('driftmon.role_owner', true), ''), 'driftmon_owner');
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
    e text := coalesce(nullif(current_setting('driftmon.role_engine', true), ''),
                       'driftmon_engine');
    a text := coalesce(nullif(current_setting('driftmon.role_auditor', true), ''),
                       'driftmon_auditor');
    v regclass;
BEGIN
    -- nothing is PUBLIC's: every right below is granted by name
    REVOKE ALL ON SCHEMA driftmon FROM PUBLIC;
    REVOKE ALL ON ALL TABLES IN SCHEMA driftmon FROM PUBLIC;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA driftmon FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA driftmon FROM PUBLIC;
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC',
                   o);
    EXECUTE format('GRANT USAGE ON SCHEMA driftmon TO %I, %I, %I', d, e, a);

    -- the scoring engine
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.submit_batch(text) TO %I', e);

    -- the daemon: reads everything (tables later migrations add too), writes through these
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA driftmon TO %I', d);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA driftmon GRANT SELECT ON TABLES '
                   'TO %I', o, d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'driftmon.claim_batch(text, interval), '
                   'driftmon.renew_lease(text, text, interval), '
                   'driftmon.fail_batch(text, text, text), '
                   'driftmon.give_up_batch(text, text, text), '
                   'driftmon.release_leases(text), '
                   'driftmon.reserve_run_id(), '
                   'driftmon.record_results(bigint, text, text, jsonb), '
                   'driftmon.record_run(bigint, text, timestamptz, timestamptz, bigint, '
                   'timestamptz, integer, integer, float8, float8, boolean, float8, boolean, '
                   'text, text, text, text, text, text, text, jsonb, text, text, text), '
                   'driftmon.record_window(bigint, timestamptz, timestamptz, bigint, text), '
                   'driftmon.claim_alert(interval), '
                   'driftmon.next_alert_in(), '
                   'driftmon.record_alert_attempt(bigint, text, float8, text, text, bigint), '
                   'driftmon.new_reference(text, text, bigint, text, text), '
                   'driftmon.new_reference(text, text, bigint, text, text, text, text, bytea), '
                   'driftmon.add_reference_column(bigint, integer, text, text, boolean, bigint, '
                   'bigint, bigint, bigint, float8, float8, float8, float8, bytea), '
                   'driftmon.add_reference_importance(bigint, jsonb), '
                   'driftmon.add_reference_left_out(bigint, integer, text, text) '
                   'TO %I', d);

    -- the auditor: the views and the verification function
    FOR v IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'driftmon'::regnamespace AND c.relkind = 'v' ORDER BY c.oid
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO %I', v, a);
    END LOOP;
    EXECUTE format('GRANT EXECUTE ON FUNCTION driftmon.verify_chain() TO %I', a);
END
$$;

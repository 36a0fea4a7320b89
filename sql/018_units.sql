-- 018_units.sql - one check shared by several daemons: work units (issue 20, item 3).
--
-- A daemon whose check of a batch or window finds more numeric values than limits.unit_values
-- (monitor/config.h) cuts it into work units: the column groups of the grouped check
-- (monitor/dbrun.c), one row of driftmon.work_unit each, under one driftmon.unit_run that
-- holds what every unit must agree on.  Any daemon of the same monitor and configuration
-- claims a unit (FOR UPDATE SKIP LOCKED, a lease renewed while it runs, as batches are
-- claimed), reads its columns with one COPY, compares them and stores the result
-- (monitor/compare.h: dm_compare_group_save).  Unit 0 is the assembly: it can be claimed
-- only once every other unit is done (the daemon that finishes the last one takes it in the
-- same transaction); it reads group 0 (the text and outcome columns, whose categories and
-- rows the comparison keeps to its end), loads the other units' results, and commits the run
-- in the ordinary run transaction, which also deletes the unit run (driftmon.units_done).  The
-- run is the one a single daemon would have made: the same run id (reserved when the units
-- were made), start time, rows, reference and configuration.
--
-- The rows every unit reads: a batch's by its id (a batch's rows do not change once it is
-- submitted), a window's by its bounds (a window is checked once it is closed).  Each unit
-- reads its rows anew and checks their count against unit_run.rows, counted in the snapshot
-- in which the units were planned; a unit that reads another count fails the unit run
-- (driftmon.fail_units), which is planned again from the rows as they are then.
--
-- A batch in units is claimed by 'units:<run_id>' with an endless lease: no daemon claims it
-- again while its unit run lives; the run's commit marks it done (record_results checks that
-- claim), driftmon.fail_units hands it back (fail_batch's back-off) or gives it up.  A
-- daemon killed mid-unit loses that unit's lease only: any daemon claims the unit again once
-- the lease has passed.  A unit run whose batch is done or whose window is recorded by other
-- means is deleted by the next claim_unit of its monitor.
-- Runs as the owner; functions SECURITY DEFINER, granted to the daemon by name.  Idempotent.

CREATE TABLE IF NOT EXISTS driftmon.unit_run (
    run_id bigint PRIMARY KEY,       -- the run's id, reserved (reserve_run_id) by the planner
    monitor text NOT NULL CHECK (driftmon.monitor_name_ok(monitor)),
    batch text,
    window_start timestamptz,
    window_end timestamptz,
    window_text text[],              -- [since, until] as the planner was given them (the
                                     -- report's source names them)
    every_s bigint,                  -- a periodic window's schedule.every: recorded at commit
    started_at text NOT NULL,        -- the run's started_at, as its reports show it
    rows bigint NOT NULL CHECK (rows > 0),
    reference_sha256 text NOT NULL,  -- the stored reference every unit compares with
    config_sha256 text,              -- the configuration every unit runs (NULL: none known)
    units integer NOT NULL CHECK (units >= 2),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((batch IS NULL) <> (window_start IS NULL)),
    CHECK ((window_start IS NULL) = (window_end IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS unit_run_batch ON driftmon.unit_run (monitor, batch)
    WHERE batch IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unit_run_window
    ON driftmon.unit_run (monitor, window_start, window_end) WHERE batch IS NULL;

CREATE TABLE IF NOT EXISTS driftmon.work_unit (
    run_id bigint NOT NULL REFERENCES driftmon.unit_run (run_id) ON DELETE CASCADE,
    unit integer NOT NULL CHECK (unit >= 0),  -- the column group; 0: the assembly
    columns text[] NOT NULL,                  -- the group's columns, in the table's order
    claimed_by text,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    result bytea,     -- dm_compare_group_save's bytes
    done_at timestamptz,
    PRIMARY KEY (run_id, unit),
    CHECK (done_at IS NULL OR unit = 0 OR result IS NOT NULL)
);

-- Make the units of run run_id (one transaction): columns is a JSON array of arrays of
-- column names, unit 0's first.  For a batch, the batch must still be worker's claim, and
-- passes to the unit run.  false when the batch is no longer worker's or the batch or
-- window already has a unit run.
CREATE OR REPLACE FUNCTION driftmon.make_units(run_id bigint, monitor text, batch text,
                                               window_start timestamptz,
                                               window_end timestamptz, window_text text[],
                                               every_s bigint, started_at text, rows bigint,
                                               reference_sha256 text, config_sha256 text,
                                               worker text, columns jsonb)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    IF make_units.batch IS NOT NULL THEN
        PERFORM 1 FROM driftmon.batch b
        WHERE b.monitor = make_units.monitor AND b.batch = make_units.batch
          AND b.claimed_by = make_units.worker AND b.done_at IS NULL
        FOR UPDATE;
        IF NOT FOUND THEN
            RETURN false;
        END IF;
    END IF;
    INSERT INTO driftmon.unit_run (run_id, monitor, batch, window_start, window_end,
                                   window_text, every_s, started_at, rows, reference_sha256,
                                   config_sha256, units, created_by)
    VALUES (make_units.run_id, make_units.monitor, make_units.batch, make_units.window_start,
            make_units.window_end, make_units.window_text, make_units.every_s,
            make_units.started_at, make_units.rows,
            make_units.reference_sha256, make_units.config_sha256,
            jsonb_array_length(make_units.columns), make_units.worker)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO driftmon.work_unit (run_id, unit, columns)
    SELECT make_units.run_id, (x.ord - 1)::integer,
           ARRAY(SELECT jsonb_array_elements_text(x.c))
    FROM jsonb_array_elements(make_units.columns) WITH ORDINALITY AS x(c, ord);
    IF make_units.batch IS NOT NULL THEN
        UPDATE driftmon.batch b
        SET claimed_by = 'units:' || make_units.run_id, lease_until = 'infinity'
        WHERE b.monitor = make_units.monitor AND b.batch = make_units.batch;
    END IF;
    PERFORM pg_notify('driftmon_batch', 'units:' || make_units.run_id);
    RETURN true;
END
$$;

-- renew_lease (012) once the batch has passed to a unit run (make_units, in the middle of the
-- check whose lease is being renewed): 'units', not 'lost'.
CREATE OR REPLACE FUNCTION driftmon.renew_lease(monitor text, batch text, worker text,
                                                lease interval)
RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH u AS (
        UPDATE driftmon.batch b SET lease_until = clock_timestamp() + renew_lease.lease
        WHERE b.monitor = renew_lease.monitor AND b.batch = renew_lease.batch
          AND b.claimed_by = renew_lease.worker AND b.done_at IS NULL
        RETURNING 1)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'renewed'
                WHEN EXISTS (SELECT 1 FROM driftmon.batch d
                             WHERE d.monitor = renew_lease.monitor
                               AND d.batch = renew_lease.batch AND d.done_at IS NOT NULL)
                    THEN 'done'
                WHEN EXISTS (SELECT 1 FROM driftmon.batch d
                             WHERE d.monitor = renew_lease.monitor
                               AND d.batch = renew_lease.batch
                               AND d.claimed_by LIKE 'units:%')
                    THEN 'units'
                ELSE 'lost' END
$$;

-- Claim a unit of `monitor` made under configuration config_sha256 whose lease is free or
-- passed: the oldest run's first; unit 0 (the assembly) once every other unit is done.
-- Unit runs of the monitor that are dead (their batch done or no longer theirs, their
-- window recorded) are deleted first.
CREATE OR REPLACE FUNCTION driftmon.claim_unit(worker text, lease interval, monitor text,
                                               config_sha256 text)
RETURNS TABLE (run_id bigint, unit integer, attempts integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    DELETE FROM driftmon.unit_run r
    WHERE r.monitor = claim_unit.monitor
      AND CASE WHEN r.batch IS NOT NULL THEN
               NOT EXISTS (SELECT 1 FROM driftmon.batch b
                           WHERE b.monitor = r.monitor AND b.batch = r.batch
                             AND b.done_at IS NULL AND b.claimed_by = 'units:' || r.run_id)
          ELSE EXISTS (SELECT 1 FROM driftmon.window_done w
                       WHERE w.monitor = r.monitor AND w.window_start = r.window_start
                         AND w.window_end = r.window_end)
               OR EXISTS (SELECT 1 FROM driftmon.run x WHERE x.id = r.run_id) END;
    RETURN QUERY
    UPDATE driftmon.work_unit u
    SET claimed_by = claim_unit.worker, lease_until = clock_timestamp() + claim_unit.lease,
        attempts = u.attempts + 1
    WHERE (u.run_id, u.unit) = (
        SELECT p.run_id, p.unit FROM driftmon.work_unit p
        JOIN driftmon.unit_run r ON r.run_id = p.run_id
        WHERE r.monitor = claim_unit.monitor
          AND r.config_sha256 IS NOT DISTINCT FROM claim_unit.config_sha256
          AND p.done_at IS NULL
          AND (p.lease_until IS NULL OR p.lease_until < clock_timestamp())
          AND (p.unit > 0 OR NOT EXISTS (SELECT 1 FROM driftmon.work_unit q
                                         WHERE q.run_id = p.run_id AND q.unit > 0
                                           AND q.done_at IS NULL))
        ORDER BY p.run_id, p.unit
        LIMIT 1
        FOR UPDATE OF p SKIP LOCKED)
    RETURNING u.run_id, u.unit, u.attempts;
END
$$;

-- Extend the lease of a unit worker holds: 'renewed'; 'done' (the unit is, or its run was
-- committed); 'lost' (another worker has it, or its unit run ended).
CREATE OR REPLACE FUNCTION driftmon.renew_unit(run_id bigint, unit integer, worker text,
                                               lease interval)
RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    WITH u AS (
        UPDATE driftmon.work_unit w SET lease_until = clock_timestamp() + renew_unit.lease
        WHERE w.run_id = renew_unit.run_id AND w.unit = renew_unit.unit
          AND w.claimed_by = renew_unit.worker AND w.done_at IS NULL
        RETURNING 1)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'renewed'
                WHEN EXISTS (SELECT 1 FROM driftmon.work_unit d
                             WHERE d.run_id = renew_unit.run_id AND d.unit = renew_unit.unit
                               AND d.done_at IS NOT NULL)
                  OR EXISTS (SELECT 1 FROM driftmon.run r WHERE r.id = renew_unit.run_id)
                    THEN 'done'
                ELSE 'lost' END
$$;

-- Store the result of unit `unit` (> 0) of run run_id, still worker's: 'done'; 'assemble'
-- when it was the last one, the assembly (unit 0) then claimed by worker for `lease`;
-- 'lost' when the unit is not worker's any more (nothing stored).  Finishers take the unit
-- run's row lock in turn, so exactly one of them sees no unit left.
CREATE OR REPLACE FUNCTION driftmon.finish_unit(run_id bigint, unit integer, worker text,
                                                lease interval, result bytea)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
BEGIN
    PERFORM 1 FROM driftmon.unit_run r WHERE r.run_id = finish_unit.run_id FOR UPDATE;
    IF NOT FOUND OR finish_unit.unit < 1 THEN
        RETURN 'lost';
    END IF;
    UPDATE driftmon.work_unit w
    SET done_at = clock_timestamp(), result = finish_unit.result,
        lease_until = NULL, last_error = NULL
    WHERE w.run_id = finish_unit.run_id AND w.unit = finish_unit.unit
      AND w.claimed_by = finish_unit.worker AND w.done_at IS NULL;
    IF NOT FOUND THEN
        RETURN 'lost';
    END IF;
    IF EXISTS (SELECT 1 FROM driftmon.work_unit q
               WHERE q.run_id = finish_unit.run_id AND q.unit > 0 AND q.done_at IS NULL) THEN
        RETURN 'done';
    END IF;
    UPDATE driftmon.work_unit w
    SET claimed_by = finish_unit.worker, lease_until = clock_timestamp() + finish_unit.lease,
        attempts = w.attempts + 1
    WHERE w.run_id = finish_unit.run_id AND w.unit = 0 AND w.done_at IS NULL
      AND (w.lease_until IS NULL OR w.lease_until < clock_timestamp());
    RETURN CASE WHEN FOUND THEN 'assemble' ELSE 'done' END;
END
$$;

-- An attempt at a unit failed for a reason that may pass (the database, a file): keep the
-- error and hold the unit back for fail_batch's back-off before any worker tries again.
CREATE OR REPLACE FUNCTION driftmon.release_unit(run_id bigint, unit integer, worker text,
                                                 error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
    UPDATE driftmon.work_unit w
    SET last_error = release_unit.error,
        lease_until = clock_timestamp()
            + least(interval '1 hour',
                    interval '5 seconds' * power(2, least(greatest(w.attempts, 1) - 1, 10)))
    WHERE w.run_id = release_unit.run_id AND w.unit = release_unit.unit
      AND w.claimed_by = release_unit.worker AND w.done_at IS NULL
$$;

-- The unit run cannot complete (its rows changed, they cannot be read, a unit failed too
-- often): deleted with its units, by a worker holding one of them.  Its batch goes back to
-- the queue with fail_batch's back-off, or is given up (give_up: the rows themselves are bad
-- input); a periodic window given up is recorded with the error, else planned again by the
-- next sweep.  false when worker holds no unit of the run (nothing changed).
CREATE OR REPLACE FUNCTION driftmon.fail_units(run_id bigint, worker text, error text,
                                               give_up boolean)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    r driftmon.unit_run;
BEGIN
    SELECT * INTO r FROM driftmon.unit_run x WHERE x.run_id = fail_units.run_id FOR UPDATE;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM driftmon.work_unit w
                                WHERE w.run_id = fail_units.run_id
                                  AND w.claimed_by = fail_units.worker AND w.done_at IS NULL)
    THEN
        RETURN false;
    END IF;
    DELETE FROM driftmon.unit_run x WHERE x.run_id = fail_units.run_id;
    IF r.batch IS NOT NULL THEN
        UPDATE driftmon.batch b SET claimed_by = fail_units.worker
        WHERE b.monitor = r.monitor AND b.batch = r.batch
          AND b.claimed_by = 'units:' || r.run_id AND b.done_at IS NULL;
        IF fail_units.give_up THEN
            PERFORM driftmon.give_up_batch(r.monitor, r.batch, fail_units.worker,
                                           fail_units.error);
        ELSE
            PERFORM driftmon.fail_batch(r.monitor, r.batch, fail_units.worker, fail_units.error);
        END IF;
    ELSIF fail_units.give_up AND r.every_s IS NOT NULL THEN
        INSERT INTO driftmon.window_done (monitor, every_s, window_start, window_end, run_id,
                                          note)
        VALUES (r.monitor, r.every_s, r.window_start, r.window_end, NULL, fail_units.error)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN true;
END
$$;

-- In the run's own transaction, after driftmon.record_run: the assembly (unit 0) must still
-- be worker's; the unit run and its units are deleted and a periodic window is recorded
-- done.  false (roll back: another worker has the assembly) otherwise.
CREATE OR REPLACE FUNCTION driftmon.units_done(run_id bigint, worker text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, driftmon, pg_temp AS $$
DECLARE
    r driftmon.unit_run;
BEGIN
    SELECT * INTO r FROM driftmon.unit_run x WHERE x.run_id = units_done.run_id FOR UPDATE;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM driftmon.work_unit w
                                WHERE w.run_id = units_done.run_id AND w.unit = 0
                                  AND w.claimed_by = units_done.worker AND w.done_at IS NULL)
    THEN
        RETURN false;
    END IF;
    DELETE FROM driftmon.unit_run x WHERE x.run_id = units_done.run_id;
    IF r.batch IS NULL AND r.every_s IS NOT NULL THEN
        INSERT INTO driftmon.window_done (monitor, every_s, window_start, window_end, run_id)
        VALUES (r.monitor, r.every_s, r.window_start, r.window_end, r.run_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN true;
END
$$;

DO $$
DECLARE
    d text := coalesce(nullif(current_setting('driftmon.role_daemon', true), ''),
                       'driftmon_daemon');
BEGIN
    REVOKE ALL ON driftmon.unit_run, driftmon.work_unit FROM PUBLIC;
    REVOKE ALL ON FUNCTION driftmon.make_units(bigint, text, text, timestamptz, timestamptz,
                                               text[], bigint, text, bigint, text, text, text,
                                               jsonb),
                           driftmon.claim_unit(text, interval, text, text),
                           driftmon.renew_unit(bigint, integer, text, interval),
                           driftmon.finish_unit(bigint, integer, text, interval, bytea),
                           driftmon.release_unit(bigint, integer, text, text),
                           driftmon.fail_units(bigint, text, text, boolean),
                           driftmon.units_done(bigint, text)
        FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON driftmon.unit_run, driftmon.work_unit TO %I', d);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'driftmon.make_units(bigint, text, text, timestamptz, timestamptz, text[], '
                   'bigint, text, bigint, text, text, text, jsonb), '
                   'driftmon.claim_unit(text, interval, text, text), '
                   'driftmon.renew_unit(bigint, integer, text, interval), '
                   'driftmon.finish_unit(bigint, integer, text, interval, bytea), '
                   'driftmon.release_unit(bigint, integer, text, text), '
                   'driftmon.fail_units(bigint, text, text, boolean), '
                   'driftmon.units_done(bigint, text) TO %I', d);
END
$$;

-- 001_schema.sql - driftmon's tables (DESIGN.md section 5).
--
-- Idempotent: every statement can run again on a database that already has it.
-- Applied by `driftmon init` in one transaction (or `psql -1 -f`); no BEGIN/COMMIT here.

CREATE SCHEMA IF NOT EXISTS driftmon;

-- Migrations applied, written by `driftmon init` (name, sha256 of the file's bytes).
CREATE TABLE IF NOT EXISTS driftmon.schema_version (
    name text PRIMARY KEY,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    driftmon_version text
);

-- A reference profile: stored once, compared against many times.  version counts up per
-- name (driftmon.new_reference() assigns it).  sha256 is the profile's content hash.
CREATE TABLE IF NOT EXISTS driftmon.reference (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    version integer NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    source text NOT NULL,
    rows bigint NOT NULL CHECK (rows >= 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    driftmon_version text,
    UNIQUE (name, version)
);

-- One row per column of a reference: its exact distribution in `profile`, the column's
-- section of the profile file format (monitor/profile.h: distinct finite float8 values
-- ascending with their counts, or distinct texts in byte order with their counts; counts
-- left out when all are 1), so that loading a wide reference moves as few bytes as the
-- profile file holds and the reference's sha256 is computed over exactly these bytes.
-- The scalar columns repeat what an auditor queries without decoding: storage 'num' or
-- 'str', count = non-missing finite values (the sum of the counts), n_distinct, missing,
-- non-finite, and mean / std (population) / min / max for numbers.
CREATE TABLE IF NOT EXISTS driftmon.reference_column (
    reference_id bigint NOT NULL REFERENCES driftmon.reference (id),
    ordinal integer NOT NULL CHECK (ordinal >= 0),
    name text NOT NULL,
    storage text NOT NULL CHECK (storage IN ('num', 'str')),
    is_int boolean NOT NULL DEFAULT false,
    count bigint NOT NULL CHECK (count >= 0),
    n_distinct bigint NOT NULL CHECK (n_distinct >= 0 AND n_distinct <= count),
    missing bigint NOT NULL CHECK (missing >= 0),
    nonfinite bigint NOT NULL CHECK (nonfinite >= 0),
    mean float8,
    std float8,
    min float8,
    max float8,
    profile bytea NOT NULL CHECK (octet_length(profile) >= 40),
    PRIMARY KEY (reference_id, ordinal),
    UNIQUE (reference_id, name),
    CHECK (storage = 'num' OR (mean IS NULL AND std IS NULL AND min IS NULL AND max IS NULL))
);

-- Batches submitted by the scoring engine (driftmon.submit_batch) and claimed by daemons
-- with a lease (driftmon.claim_batch); done_at is set in the run's transaction.
CREATE TABLE IF NOT EXISTS driftmon.batch (
    batch text PRIMARY KEY CHECK (batch <> '' AND octet_length(batch) <= 1000),
    submitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_by text,
    claimed_at timestamptz,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    done_at timestamptz,
    last_error text
);
CREATE INDEX IF NOT EXISTS batch_pending ON driftmon.batch (submitted_at) WHERE done_at IS NULL;

-- One comparison.  Written once, complete, in one transaction with its column results and
-- its outbox row; append-only (002).  report_html / report_json are the report files'
-- paths, report the JSON document itself.
CREATE TABLE IF NOT EXISTS driftmon.run (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch text REFERENCES driftmon.batch (batch),
    window_start timestamptz,
    window_end timestamptz,
    reference_id bigint NOT NULL REFERENCES driftmon.reference (id),
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    number_of_columns integer NOT NULL CHECK (number_of_columns >= 0),
    number_of_drifted_columns integer NOT NULL
        CHECK (number_of_drifted_columns BETWEEN 0 AND number_of_columns),
    share_of_drifted_columns float8 NOT NULL,
    drift_share float8 NOT NULL,
    dataset_drift boolean NOT NULL,
    retrain_fraction float8,
    retrain_flagged boolean NOT NULL,
    report_html text,
    report_html_sha256 text CHECK (report_html_sha256 ~ '^[0-9a-f]{64}$'),
    report_json text,
    report_json_sha256 text CHECK (report_json_sha256 ~ '^[0-9a-f]{64}$'),
    config_sha256 text CHECK (config_sha256 ~ '^[0-9a-f]{64}$'),
    reference_sha256 text NOT NULL CHECK (reference_sha256 ~ '^[0-9a-f]{64}$'),
    driftmon_version text NOT NULL,
    report jsonb,
    CHECK (batch IS NOT NULL OR (window_start IS NOT NULL AND window_end IS NOT NULL)),
    CHECK (window_start IS NULL OR window_end IS NULL OR window_start <= window_end),
    CHECK (finished_at >= started_at)
);
CREATE INDEX IF NOT EXISTS run_batch ON driftmon.run (batch);
CREATE INDEX IF NOT EXISTS run_finished_at ON driftmon.run (finished_at);

-- One tested column of a run.  seq, prev_hash and row_hash are set by the chain trigger
-- (002), whatever the client sends.
CREATE TABLE IF NOT EXISTS driftmon.column_result (
    run_id bigint NOT NULL REFERENCES driftmon.run (id),
    column_name text NOT NULL,
    column_type text NOT NULL CHECK (column_type IN ('num', 'cat')),
    stattest text NOT NULL,
    stattest_threshold float8 NOT NULL,
    drift_score float8 NOT NULL,
    drift_detected boolean NOT NULL,
    ref_rows bigint NOT NULL CHECK (ref_rows >= 0),
    ref_missing bigint NOT NULL CHECK (ref_missing >= 0),
    cur_rows bigint NOT NULL CHECK (cur_rows >= 0),
    cur_missing bigint NOT NULL CHECK (cur_missing >= 0),
    details jsonb,
    seq bigint NOT NULL UNIQUE,
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash bytea NOT NULL CHECK (octet_length(row_hash) = 32),
    PRIMARY KEY (run_id, column_name)
);
CREATE INDEX IF NOT EXISTS column_result_name ON driftmon.column_result (column_name);

-- Retrain hook deliveries: at least once, run_id is the idempotency key.
CREATE TABLE IF NOT EXISTS driftmon.retrain_outbox (
    run_id bigint PRIMARY KEY REFERENCES driftmon.run (id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at timestamptz,
    dead_at timestamptz,
    last_error text
);
CREATE INDEX IF NOT EXISTS retrain_outbox_due ON driftmon.retrain_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;

-- 006_left_out.sql - the columns a reference left out, with the reason (issue 16): a table's
-- columns of a type that is not compared (jsonb, timestamps, arrays, bytea, uuid, ...) are
-- not profiled, and are listed here so that `driftmon check` reports them as skipped with the
-- reason stored at load time.  They are part of the reference's profile: its sha256 covers
-- them (the profile format's left-out section, monitor/profile.h), in `ordinal` order.
-- References loaded before this migration have no rows here.  Append-only, as
-- reference_column.  Idempotent.
CREATE TABLE IF NOT EXISTS driftmon.reference_left_out (
    reference_id bigint NOT NULL REFERENCES driftmon.reference (id),
    ordinal integer NOT NULL CHECK (ordinal >= 0),
    name text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (reference_id, ordinal),
    UNIQUE (reference_id, name)
);
COMMENT ON TABLE driftmon.reference_left_out IS
    'columns of a reference that were not profiled, with the reason (covered by its sha256)';

DROP TRIGGER IF EXISTS append_only ON driftmon.reference_left_out;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON driftmon.reference_left_out
    FOR EACH ROW EXECUTE FUNCTION driftmon.reject_change();
DROP TRIGGER IF EXISTS append_only_truncate ON driftmon.reference_left_out;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON driftmon.reference_left_out
    FOR EACH STATEMENT EXECUTE FUNCTION driftmon.reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON driftmon.reference_left_out FROM PUBLIC;

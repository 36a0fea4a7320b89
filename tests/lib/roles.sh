# shellcheck shell=bash
# tests/lib/roles.sh - sourced by the integration scripts on driftmon's group roles
# (tests/integration/roles.sh, roles_admin.sh), after tests/lib/results.sh, with the cluster's
# PG* variables exported.  Each psql call goes to $PGDATABASE as $PGUSER unless told otherwise.
#   q PSQL-ARGS...        psql, quiet, unaligned, stopping at the first error
#   roles_fixtures DIR    dm-gen's files in DIR: ref.csv (3000 rows), cur.tsv and cur2.tsv (COPY
#                         text of batches), importance.csv, apps.sql (the table); sets $cols
#   roles_apps DIR        the monitored table apps in $PGDATABASE, batch b1 loaded from cur.tsv
#   roles_snapshot        every driftmon role of the cluster, the owner and ACL of schema
#                         driftmon and of everything in it
#   roles_not_owned ROLE  "none", or what in schema driftmon ROLE does not own
#   roles_pre011 DB       migrations 001-010 applied to DB with psql, as an init before
#                         011_roles.sql left it (recorded in driftmon.schema_version)
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

roles_fixtures() {
    local d=$1
    "$GEN" --rows 3000 --seed 31 -o "$d/ref.csv" &&
        "$GEN" --rows 1200 --seed 32 --no-target --revolving-share 0.01 --first-id 600000 \
            --format tsv-copy --no-header -o "$d/cur.tsv" &&
        "$GEN" --rows 600 --seed 33 --no-target --first-id 700000 --format tsv-copy --no-header \
            -o "$d/cur2.tsv" &&
        printf 'column,importance\nAMT_CREDIT,3\nAMT_ANNUITY,1\n' >"$d/importance.csv" &&
        chmod 0644 "$d"/* &&
        "$GEN" --no-target --schema apps >"$d/apps.sql" || return 1
    cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$d/apps.sql" | paste -sd, -)
}

roles_apps() {
    q -f "$1/apps.sql" \
        -c "ALTER TABLE apps ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
            ADD COLUMN created_at timestamptz DEFAULT '2026-01-15 12:00+00'" \
        -c "\\copy apps ($cols) FROM '$1/cur.tsv'" -c "UPDATE apps SET batch_id = 'b1'"
}

roles_snapshot() {
    q -c "SELECT string_agg(rolname || ':' || rolcanlogin, ' ' ORDER BY rolname) FROM pg_roles
          WHERE rolname LIKE 'driftmon%' OR rolname LIKE 'dm %'" \
      -c "SELECT nspowner::regrole || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'driftmon'" \
      -c "SELECT c.relname || ' ' || c.relowner::regrole || ' ' || coalesce(c.relacl::text, '')
          FROM pg_class c WHERE c.relnamespace = 'driftmon'::regnamespace ORDER BY c.relname" \
      -c "SELECT p.oid::regprocedure || ' ' || p.proowner::regrole || ' ' || p.prosecdef || ' '
                 || coalesce(p.proacl::text, '') || ' ' || coalesce(p.proconfig::text, '')
          FROM pg_proc p WHERE p.pronamespace = 'driftmon'::regnamespace ORDER BY 1" \
      -c "SELECT count(*) FROM pg_default_acl"
}

roles_not_owned() {
    # on stdin: psql interpolates :'r' (quoted) there, not in -c; a missing role owns nothing
    q 2>&1 -v r="$1" <<'SQL'
WITH r AS (SELECT coalesce((SELECT oid FROM pg_roles WHERE rolname = :'r'), 0) AS oid)
SELECT coalesce(string_agg(x, ', '), 'none') FROM (
    SELECT 'schema' AS x FROM pg_namespace, r WHERE nspname = 'driftmon' AND nspowner <> r.oid
    UNION ALL SELECT relname FROM pg_class, r WHERE relnamespace = 'driftmon'::regnamespace AND relowner <> r.oid
    UNION ALL SELECT proname FROM pg_proc, r WHERE pronamespace = 'driftmon'::regnamespace AND proowner <> r.oid
    UNION ALL SELECT typname FROM pg_type, r WHERE typnamespace = 'driftmon'::regnamespace AND typowner <> r.oid) s
SQL
}

roles_pre011() {
    local f
    for f in sql/0*.sql; do
        [[ $(basename "$f") < 011 ]] || continue
        q -d "$1" -1 -f "$f" >/dev/null &&
            q -d "$1" -c "INSERT INTO driftmon.schema_version (name, sha256) VALUES ('$(basename "$f")', '$(sha256sum <"$f" | cut -d' ' -f1)')" ||
            return 1
    done
}

#!/usr/bin/env bash
# roles_admin.sh - `driftmon init` run by an administrator with CREATEROLE who is not a
# superuser (README, Security: Roles), on a real, throwaway PostgreSQL:
#   - its one database privilege beyond PUBLIC's: CREATE on the database; without it init
#     refuses before creating anything, naming the database and the privilege;
#   - a fresh database: the four NOLOGIN roles, the owner owns schema driftmon and every object
#     in it, a second init changes nothing, `reference load` and `check` succeed as a daemon
#     login the administrator created; with CREATE revoked afterwards a migration still applies
#     (init runs it as the owner);
#   - a database whose migrations 001-010 a superuser applied (before 011_roles.sql): refused
#     with a message naming the superuser's objects' owner, nothing changed; after one init by a
#     superuser the administrator's init is a no-op and the daemon's login works there too;
#     001-010 applied by the administrator itself: its init hands everything over;
#   - owner roles a superuser created beforehand (database.roles): the administrator joins the
#     owner role and initialises the database.
# Run from the repo root.  $DM_BUILD: the build folder (default build).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
results_name=roles_admin
. tests/lib/results.sh
. tests/lib/roles.sh

. tests/lib/pg.sh
pg_setup radm
SU=$PGUSER # the cluster's superuser

roles_fixtures "$W" || { bad "could not generate the data"; finish; }
q -c "CREATE ROLE dm_admin LOGIN CREATEROLE" ||
    { bad "could not create the administrator"; finish; }
[ "$(q -c "SELECT rolsuper || ' ' || rolcreaterole FROM pg_roles WHERE rolname = 'dm_admin'")" = "false true" ] ||
    bad "dm_admin is not a superuser and has CREATEROLE"
config() { # FILE DATABASE [extra json members of "database"]
    cat >"$1" <<JSON
{
  "database": {"conninfo": "dbname=$2"${3:+, $3}},
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports-$2"},
  "cache": {"dir": "$W/cache-$2"}
}
JSON
}
as() { local u=$1; shift; PGUSER=$u "$@"; }
db() { # DATABASE: the monitored table in a new database
    q -c "CREATE DATABASE $1" && PGDATABASE=$1 roles_apps "$W" && q -d "$1" -c "GRANT SELECT ON apps TO dm_d"
}
daemon_works() { # DATABASE: reference load and check as the daemon's login
    if as dm_d "$DM" reference load "$W/ref.csv" --name hc --importance "$W/importance.csv" \
        --config "$W/$1.json" >"$W/out" 2>"$W/err" &&
        as dm_d "$DM" check b1 --config "$W/$1.json" >"$W/out" 2>"$W/err" &&
        [ "$(q -d "$1" -c "SELECT count(*) FROM driftmon.run WHERE batch = 'b1'")" = 1 ]; then
        ok "$1: reference load and check as the daemon's login"
    else
        bad "$1: reference load and check as the daemon's login" "$(cat "$W/out" "$W/err")"
    fi
}
unchanged_init() { # DATABASE LABEL: init as dm_admin is a no-op
    local before
    before=$(PGDATABASE=$1 roles_snapshot)
    if as dm_admin "$DM" init --config "$W/$1.json" 2>"$W/err" && grep -q "schema is up to date" "$W/err" &&
        [ "$(PGDATABASE=$1 roles_snapshot)" = "$before" ]; then
        ok "$2"
    else
        bad "$2" "$(cat "$W/err"; diff <(echo "$before") <(PGDATABASE=$1 roles_snapshot))"
    fi
}
# the daemon's login, created by the administrator as the README's block does
as dm_admin q -c "CREATE ROLE dm_d LOGIN" || { bad "the administrator could not create a login role"; finish; }

# ---- (a) a fresh database ------------------------------------------------------------------------
db fresh || { bad "could not create database fresh"; finish; }
config "$W/fresh.json" fresh
if ! as dm_admin "$DM" init --config "$W/fresh.json" >/dev/null 2>"$W/err" &&
    grep -q 'database "fresh".*"dm_admin" lacks CREATE on the database' "$W/err" &&
    ! grep -q 'permission denied' "$W/err" &&
    [ "$(q -d fresh -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'driftmon'")" = 0 ]; then
    ok "fresh: without CREATE on the database, init refuses before any migration, naming the database and CREATE"
else
    bad "fresh: without CREATE on the database, init refuses before any migration, naming the database and CREATE" "$(cat "$W/err")"
fi
q -c "GRANT CREATE ON DATABASE fresh TO dm_admin"
if as dm_admin "$DM" init --config "$W/fresh.json" 2>"$W/err"; then
    ok "fresh: init as dm_admin (CREATEROLE, CREATE on the database)"
else
    bad "fresh: init as dm_admin (CREATEROLE, CREATE on the database)" "$(cat "$W/err")"
    finish
fi
roles=$(q -c "SELECT string_agg(rolname || ':' || rolcanlogin, ' ' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'driftmon%'")
[ "$roles" = "driftmon_auditor:false driftmon_daemon:false driftmon_engine:false driftmon_owner:false" ] &&
    ok "fresh: the four NOLOGIN group roles exist" || bad "fresh: the four NOLOGIN group roles exist" "$roles"
others=$(PGDATABASE=fresh roles_not_owned driftmon_owner)
[ "$others" = none ] && ok "fresh: driftmon_owner owns the schema and every object in it" ||
    bad "fresh: driftmon_owner owns the schema and every object in it" "not the owner's: $others"
unchanged_init fresh "fresh: a second init as dm_admin checks and changes nothing"
as dm_admin q -c "GRANT driftmon_daemon TO dm_d" || bad "the administrator could not grant driftmon_daemon"
daemon_works fresh
# CREATE on the database is needed only to create the schema and hand it over: a later
# migration (011 again here) runs as the owner
q -c "REVOKE CREATE ON DATABASE fresh FROM dm_admin" -d fresh -c "DELETE FROM driftmon.schema_version WHERE name = '011_roles.sql'"
if as dm_admin "$DM" init --config "$W/fresh.json" 2>"$W/err" && grep -q "applied migration.*011_roles.sql" "$W/err" &&
    [ "$(PGDATABASE=fresh roles_not_owned driftmon_owner)" = none ]; then
    ok "fresh: CREATE revoked, a migration still applies as the owner"
else
    bad "fresh: CREATE revoked, a migration still applies as the owner" "$(cat "$W/err")"
fi

# ---- (b) migrations 001-010 applied by a superuser ----------------------------------------------
db old && roles_pre011 old && q -c "GRANT CREATE ON DATABASE old TO dm_admin" ||
    { bad "could not prepare database old"; finish; }
config "$W/old.json" old
before=$(PGDATABASE=old roles_snapshot)
if ! as dm_admin "$DM" init --config "$W/old.json" >/dev/null 2>"$W/err" &&
    grep -q "cannot hand schema \"driftmon\" to role \"driftmon_owner\" (database.roles.owner).*owned by \"$SU\".*\"dm_admin\" is neither a superuser nor a member.*as a superuser" "$W/err" &&
    ! grep -q 'permission denied' "$W/err" && [ "$(PGDATABASE=old roles_snapshot)" = "$before" ]; then
    ok "old (001-010 by a superuser): init as dm_admin refused, naming the owner and the superuser needed; nothing changed"
else
    bad "old (001-010 by a superuser): init as dm_admin refused, naming the owner and the superuser needed; nothing changed" \
        "$(cat "$W/err"; diff <(echo "$before") <(PGDATABASE=old roles_snapshot))"
fi
if "$DM" init --config "$W/old.json" 2>"$W/err" && [ "$(PGDATABASE=old roles_not_owned driftmon_owner)" = none ]; then
    ok "old: init as the superuser hands everything to driftmon_owner"
else
    bad "old: init as the superuser hands everything to driftmon_owner" "$(cat "$W/err")"
fi
unchanged_init old "old: then init as dm_admin checks and changes nothing"
daemon_works old

# 001-010 applied by the administrator itself (an older driftmon it ran): it hands them over
q -c "CREATE DATABASE mine" -c "GRANT CREATE ON DATABASE mine TO dm_admin" &&
    PGUSER=dm_admin roles_pre011 mine || { bad "could not prepare database mine"; finish; }
config "$W/mine.json" mine
if as dm_admin "$DM" init --config "$W/mine.json" 2>"$W/err" && grep -q "applied migration.*011_roles.sql" "$W/err" &&
    [ "$(PGDATABASE=mine roles_not_owned driftmon_owner)" = none ]; then
    ok "mine (001-010 by dm_admin): init as dm_admin hands everything to driftmon_owner"
else
    bad "mine (001-010 by dm_admin): init as dm_admin hands everything to driftmon_owner" "$(cat "$W/err")"
fi

# ---- (c) group roles a superuser created before: the administrator joins the owner ---------------
q -c "CREATE ROLE \"dm own\"\"er\" NOLOGIN" -c "CREATE ROLE \"dm daemon\" NOLOGIN" \
  -c "CREATE ROLE \"dm engine\" NOLOGIN" -c "CREATE ROLE \"dm auditor\" NOLOGIN" \
  -c "CREATE DATABASE named" -c "GRANT CREATE ON DATABASE named TO dm_admin" ||
    { bad "could not prepare database named"; finish; }
config "$W/named.json" named '"roles": {"owner": "dm own\"er", "daemon": "dm daemon", "engine": "dm engine", "auditor": "dm auditor"}'
if as dm_admin "$DM" init --config "$W/named.json" 2>"$W/err" &&
    [ "$(PGDATABASE=named roles_not_owned 'dm own"er')" = none ] &&
    [ "$(q -c "SELECT pg_has_role('dm_admin', 'dm own\"er', 'MEMBER')")" = t ]; then
    ok "named (roles a superuser created): dm_admin joins the owner role and hands everything to it"
else
    bad "named (roles a superuser created): dm_admin joins the owner role and hands everything to it" "$(cat "$W/err")"
fi

finish

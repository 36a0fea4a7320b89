#!/usr/bin/env bash
# roles.sh - driftmon's four group roles (issue 18, sql/011_roles.sql) on a real, throwaway
# PostgreSQL:
#   - `driftmon init` creates driftmon_owner, _daemon, _engine, _auditor (NOLOGIN), the owner
#     owns schema driftmon and every object in it; a second init changes nothing (roles, owners
#     and every privilege compared before and after);
#   - login roles granted each group role try what they must not do (UPDATE, DELETE, TRUNCATE
#     of run, column_result, chain_head, reference; INSERT; ALTER TABLE ... DISABLE TRIGGER;
#     session_replication_role; DROP; CREATE OR REPLACE FUNCTION driftmon.verify_chain; a
#     reference written or extended by another role; the raw tables read by the engine and the
#     auditor; the daemon's functions called by the engine and the auditor): every one refused
#     by PostgreSQL with SQLSTATE 42501;
#   - the work still succeeds under the roles: `reference load` (CSV with importances, and a
#     table with a left-out column), `check` as the daemon's login; `serve` as the daemon's login
#     runs a batch the engine's login submitted (submit_batch) and delivers its retrain alert,
#     and records its periodic window; `verify`, `export`, `history`, `report` as the auditor's
#     login; verify says intact after all the refused attempts;
#   - a database initialised before 011 (objects owned by the administrator) is handed to the
#     owner by the next init; role names from database.roles (quoted identifiers) are used.
# Run from the repo root.  $DM_BUILD: the build folder (default build).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${DM_BUILD:-$ROOT/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
results_name=roles
. tests/lib/results.sh
. tests/lib/roles.sh

. tests/lib/pg.sh
serve_pid=""
pg_cleanup_extra() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
}
pg_setup roles

# ---- the monitored table, written by the engine's login, read by the daemon's ------------------
roles_fixtures "$W" && roles_apps "$W" || { bad "could not create the monitored table"; finish; }

cat >"$W/hook.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "$DRIFTMON_RUN_ID $DRIFTMON_BATCH" >>"$HOOK_LOG"
EOF
chmod 0755 "$W/hook.sh"
export HOOK_LOG=$W/hook.log
config() { # FILE [extra json members]
    cat >"$1" <<EOF
{
  "source": {"table": "apps", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "retrain": {"fraction": 0.0, "hook": ["$W/hook.sh"], "env": ["HOOK_LOG"]}${2:+,
  $2}
}
EOF
}
config "$W/c.json"
C=(--config "$W/c.json")

# ---- init creates the roles; the owner owns everything; a second init changes nothing ---------
if "$DM" init "${C[@]}" 2>"$W/err"; then
    ok "driftmon init as the cluster's superuser"
else
    bad "driftmon init as the cluster's superuser" "$(cat "$W/err")"
    finish
fi
roles=$(q -c "SELECT string_agg(rolname || ':' || rolcanlogin, ' ' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'driftmon%'")
[ "$roles" = "driftmon_auditor:false driftmon_daemon:false driftmon_engine:false driftmon_owner:false" ] &&
    ok "init created the four NOLOGIN group roles" || bad "init created the four NOLOGIN group roles" "$roles"
others=$(roles_not_owned driftmon_owner)
[ "$others" = none ] && ok "driftmon_owner owns the schema and every object in it" ||
    bad "driftmon_owner owns the schema and every object in it" "not the owner's: $others"
# every function: not PUBLIC's; the writers run as the owner with 011's search_path (012's
# per-monitor forms too)
loose=$(q -c "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), 'none') FROM pg_proc p
              WHERE p.pronamespace = 'driftmon'::regnamespace
                AND (has_function_privilege('public', p.oid, 'EXECUTE')
                     OR (p.proname IN ('submit_batch', 'claim_batch', 'renew_lease', 'fail_batch',
                                       'give_up_batch', 'record_results', 'record_run',
                                       'record_window', 'add_reference_performance')
                         AND NOT (p.prosecdef AND p.proconfig::text
                                  = '{\"search_path=pg_catalog, driftmon, pg_temp\"}')))")
[ "$loose" = none ] && ok "no function is PUBLIC's; the writers (012's per-monitor forms too) are SECURITY DEFINER with a fixed search_path" ||
    bad "no function is PUBLIC's; the writers are SECURITY DEFINER with a fixed search_path" "$loose"
before=$(roles_snapshot)
if "$DM" init "${C[@]}" 2>"$W/err" && grep -q "schema is up to date" "$W/err" && [ "$(roles_snapshot)" = "$before" ]; then
    ok "a second init checks and changes nothing"
else
    bad "a second init checks and changes nothing" "$(cat "$W/err"; diff <(echo "$before") <(roles_snapshot))"
fi

# 011 and 012 applied again, now as the owner (init SET ROLEs to it once it owns the schema):
# the same result (012 after 011: 012 replaces 011's record_* functions by their forms with the
# monitor)
q -c "DELETE FROM driftmon.schema_version WHERE name IN ('011_roles.sql', '012_monitors.sql')"
if "$DM" init "${C[@]}" 2>"$W/err" && grep -q "applied migration.*011_roles.sql" "$W/err" &&
    grep -q "applied migration.*012_monitors.sql" "$W/err" && [ "$(roles_snapshot)" = "$before" ]; then
    ok "011 and 012 applied again as the owner: nothing changes"
else
    bad "011 and 012 applied again as the owner: nothing changes" "$(cat "$W/err"; diff <(echo "$before") <(roles_snapshot))"
fi

# ---- login roles --------------------------------------------------------------------------------
q -c "CREATE ROLE dm_d LOGIN" -c "GRANT driftmon_daemon TO dm_d" -c "GRANT SELECT ON apps TO dm_d" \
  -c "CREATE ROLE dm_e LOGIN" -c "GRANT driftmon_engine TO dm_e" -c "GRANT INSERT ON apps TO dm_e" \
  -c "CREATE ROLE dm_a LOGIN" -c "GRANT driftmon_auditor TO dm_a" ||
    { bad "could not create the login roles"; finish; }

# ---- the daemon's work, as dm_d ------------------------------------------------------------------
as() { local u=$1; shift; PGUSER=$u "$@"; }
if as dm_d "$DM" reference load "$W/ref.csv" --name hc --importance "$W/importance.csv" "${C[@]}" >"$W/out" 2>"$W/err"; then
    ok "reference load (CSV, importances) as the daemon's login"
else
    bad "reference load (CSV, importances) as the daemon's login" "$(cat "$W/err")"
fi
if as dm_d "$DM" reference load --table apps --name from_table "${C[@]}" >"$W/out" 2>"$W/err" &&
    grep -q 'left out "created_at"' "$W/out"; then
    ok "reference load --table (a left-out column) as the daemon's login"
else
    bad "reference load --table (a left-out column) as the daemon's login" "$(cat "$W/out" "$W/err")"
fi
if as dm_d "$DM" check b1 "${C[@]}" >"$W/out" 2>"$W/err"; then
    ok "check as the daemon's login"
else
    bad "check as the daemon's login" "$(cat "$W/err")"
fi

# ---- what each must not do: PostgreSQL refuses with 42501 -------------------------------------
# deny LOGIN SQL: the statement fails with SQLSTATE 42501 (insufficient_privilege)
ndeny=0 nwant=0
deny() {
    local out
    nwant=$((nwant + 1))
    out=$(PGUSER=$1 psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$2" 2>&1)
    if [ $? -ne 0 ] && [[ $out == *"ERROR:  42501:"* ]]; then
        ndeny=$((ndeny + 1))
    else
        bad "as $1, refused with 42501: $2" "$out"
    fi
}
run1=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'b1'")
ref1=$(q -c "SELECT id FROM driftmon.reference WHERE name = 'hc'")
for u in dm_d dm_e dm_a; do
    deny $u "UPDATE driftmon.run SET dataset_drift = NOT dataset_drift"
    deny $u "UPDATE driftmon.column_result SET drift_score = drift_score + 1"
    deny $u "UPDATE driftmon.chain_head SET seq = seq + 1"
    deny $u "UPDATE driftmon.reference SET rows = rows + 1"
    deny $u "DELETE FROM driftmon.run"
    deny $u "DELETE FROM driftmon.column_result"
    deny $u "DELETE FROM driftmon.chain_head"
    deny $u "DELETE FROM driftmon.reference"
    deny $u "TRUNCATE driftmon.run CASCADE"
    deny $u "TRUNCATE driftmon.column_result"
    deny $u "TRUNCATE driftmon.chain_head"
    deny $u "TRUNCATE driftmon.reference CASCADE"
    deny $u "INSERT INTO driftmon.column_result SELECT * FROM driftmon.column_result LIMIT 1"
    deny $u "INSERT INTO driftmon.batch (batch) VALUES ('forged')"
    deny $u "INSERT INTO driftmon.batch (monitor, batch) VALUES ('other', 'forged')"
    deny $u "UPDATE driftmon.batch SET done_at = now()"
    deny $u "ALTER TABLE driftmon.run DISABLE TRIGGER append_only"
    deny $u "ALTER TABLE driftmon.column_result DISABLE TRIGGER USER"
    deny $u "SET session_replication_role = replica"
    deny $u "DROP TABLE driftmon.column_result"
    deny $u "DROP VIEW driftmon.runs"
    deny $u "DROP FUNCTION driftmon.verify_chain()"
    deny $u "CREATE OR REPLACE FUNCTION driftmon.verify_chain() RETURNS TABLE (seq bigint, run_id bigint, column_name text, problem text) LANGUAGE sql AS 'SELECT NULL::bigint, NULL::bigint, NULL::text, NULL::text WHERE false'"
    deny $u "CREATE TABLE driftmon.x (i int)"
    deny $u "SELECT driftmon.add_reference_column($ref1, 99, 'x', 'num', false, 0, 0, 0, 0, NULL, NULL, NULL, NULL, decode(repeat('00', 40), 'hex'))"
    deny $u "SELECT driftmon.add_reference_left_out($ref1, 99, 'x', 'forged')"
    deny $u "SELECT driftmon.record_results($run1, NULL, NULL, '[{\"n\": \"x\", \"t\": \"num\", \"s\": \"ks\", \"th\": \"0.05\", \"sc\": \"0.5\", \"d\": false, \"rr\": 1, \"rm\": 0, \"cr\": 1, \"cm\": 0, \"det\": null}]', 'default')"
done
for u in dm_e dm_a; do # another reference, the daemon's functions
    deny $u "SELECT driftmon.new_reference('forged', 'x', 1, repeat('0', 64), 'x')"
    deny $u "SELECT driftmon.claim_batch('w', '1 minute')"
    deny $u "SELECT driftmon.claim_batch('w', '1 minute', 'other')" # 012: per monitor
    deny $u "SELECT driftmon.renew_lease('other', 'b', 'w', '1 minute')"
    deny $u "SELECT driftmon.fail_batch('other', 'b', 'w', 'x')"
    deny $u "SELECT driftmon.give_up_batch('other', 'b', 'w', 'x')"
    deny $u "SELECT driftmon.record_window(86400, now(), now(), NULL, 'forged', 'other')"
    deny $u "SELECT driftmon.record_run($run1 + 1000, NULL, now(), now(), $ref1, now(), 0, 0, 0, 0.5, false, 0.5, false, 'x', 'x', 'x', 'x', NULL, 'x', 'x', '{}', NULL, NULL, NULL, 'other')"
    deny $u "SELECT driftmon.reserve_run_id()"
    deny $u "SELECT driftmon.record_alert_attempt($run1, 'delivered', NULL, NULL, NULL, 0)"
    deny $u "SELECT driftmon.release_leases('w')"
    deny $u "SELECT * FROM driftmon.run"
    deny $u "SELECT * FROM driftmon.column_result"
    deny $u "SELECT * FROM driftmon.reference_column"
    deny $u "SELECT * FROM driftmon.chain_head"
    deny $u "SELECT * FROM driftmon.batch"
done
for t in runs column_history alerts audit_run audit_column_result audit_reference_column; do
    deny dm_e "SELECT * FROM driftmon.$t" # the engine reads nothing
done
deny dm_a "SELECT driftmon.submit_batch('forged')" # the auditor writes nothing
deny dm_d "SELECT driftmon.submit_batch('forged')"
deny dm_a "SELECT driftmon.submit_batch('other', 'forged')" # 012: a monitor's batch
deny dm_d "SELECT driftmon.submit_batch('other', 'forged')"
deny dm_e "SELECT * FROM driftmon.verify_chain()"
deny dm_d "SELECT * FROM driftmon.verify_chain()"
# a reference's rows added in the transaction that created another one: still refused
deny dm_d "BEGIN; SELECT driftmon.new_reference('hc', 'x', 1, repeat('0', 64), 'x'); SELECT driftmon.add_reference_left_out($ref1, 98, 'x', 'forged'); COMMIT"
[ "$ndeny" = "$nwant" ] && ok "every forbidden statement refused by PostgreSQL with SQLSTATE 42501 ($ndeny statements)" ||
    bad "every forbidden statement refused by PostgreSQL with SQLSTATE 42501" "$ndeny of $nwant"
left=$(q -c "SELECT (SELECT count(*) FROM driftmon.batch WHERE batch = 'forged') + (SELECT count(*) FROM driftmon.reference WHERE name = 'forged') + (SELECT count(*) FROM driftmon.window_done WHERE note = 'forged')")
[ "$left" = 0 ] && ok "nothing forged was written" || bad "nothing forged was written" "$left rows"
# the engine names a monitor (012): its batch is queued for that monitor alone
if out=$(PGUSER=dm_e q -c "SELECT driftmon.submit_batch('other', 'b9')" 2>&1) && [ "$out" = t ] &&
    [ "$(q -c "SELECT string_agg(monitor || '/' || batch, ' ') FROM driftmon.batch WHERE batch = 'b9'")" = other/b9 ]; then
    ok "the engine's login submits a batch for a named monitor (submit_batch(monitor, batch))"
else
    bad "the engine's login submits a batch for a named monitor (submit_batch(monitor, batch))" "$out"
fi

# ---- serve as dm_d: a batch submitted by the engine's login ---------------------------------------
config "$W/s.json" '"schedule": {"every": "1 day"}'
PGUSER=dm_d "$DM" serve --config "$W/s.json" 2>"$W/serve.log" &
serve_pid=$!
{
    echo "BEGIN;"
    echo "SET LOCAL dm.batch = 'b2';"
    echo "COPY apps ($cols) FROM STDIN;"
    cat "$W/cur2.tsv"
    echo '\.'
    echo "SELECT driftmon.submit_batch('b2');"
    echo "COMMIT;"
} | PGUSER=dm_e q >"$W/submit.out" 2>&1 && ok "the engine's login writes a batch and submits it" ||
    bad "the engine's login writes a batch and submits it" "$(cat "$W/submit.out")"
. tests/lib/wait.sh
if wait_until 60 "SELECT count(*) = 1 FROM driftmon.run r JOIN driftmon.retrain_outbox o ON o.run_id = r.id
                  WHERE r.batch = 'b2' AND o.delivered_at IS NOT NULL" &&
    wait_until 30 "SELECT count(*) >= 1 FROM driftmon.window_done WHERE run_id IS NOT NULL"; then
    ok "serve as the daemon's login: the batch run, its retrain alert delivered, the window recorded"
else
    bad "serve as the daemon's login: the batch run, its retrain alert delivered, the window recorded" "$(tail -n 20 "$W/serve.log")"
fi
kill -TERM "$serve_pid" 2>/dev/null
wait "$serve_pid" 2>/dev/null
src=$?
serve_pid=""
[ "$src" = 0 ] && ! grep -q 'level=error' "$W/serve.log" && ok "serve stopped cleanly, no error logged" ||
    bad "serve stopped cleanly, no error logged" "exit $src: $(grep 'level=error' "$W/serve.log" | head -5)"

# ---- the auditor's commands, as dm_a --------------------------------------------------------------
run2=$(q -c "SELECT id FROM driftmon.run WHERE batch = 'b2'")
if as dm_a "$DM" verify "${C[@]}" >"$W/out" 2>"$W/err" && grep -q ': intact' "$W/out"; then
    ok "verify as the auditor's login: intact (after every refused attempt)"
else
    bad "verify as the auditor's login: intact" "$(cat "$W/out" "$W/err")"
fi
if as dm_a "$DM" export --since 2000-01-01 --until 2100-01-01 --out "$W/bundle" "${C[@]}" >"$W/out" 2>"$W/err" &&
    [ -s "$W/bundle/runs.csv" ] && [ "$(grep -c . "$W/bundle/runs.csv")" -ge 3 ]; then
    ok "export as the auditor's login"
else
    bad "export as the auditor's login" "$(cat "$W/out" "$W/err"; ls "$W/bundle" 2>&1)"
fi
if as dm_a "$DM" history --format csv "${C[@]}" >"$W/out" 2>"$W/err" && grep -q "^$run2," "$W/out"; then
    ok "history as the auditor's login"
else
    bad "history as the auditor's login" "$(head -3 "$W/out"; cat "$W/err")"
fi
if as dm_a "$DM" report "$run1" --html "$W/r1.html" "${C[@]}" 2>"$W/err" && cmp -s "$W/r1.html" "$W/reports/run-$run1.html"; then
    ok "report as the auditor's login gives back the stored HTML"
else
    bad "report as the auditor's login gives back the stored HTML" "$(cat "$W/err")"
fi

if as dm_a "$DM" alerts "${C[@]}" >"$W/out" 2>"$W/err" && grep -q " delivered " "$W/out"; then
    ok "alerts as the auditor's login (013: the hook's output through a view)"
else
    bad "alerts as the auditor's login" "$(cat "$W/out" "$W/err")"
fi

# ---- a database from before 011 (as an older init left it), role names from database.roles ------
q -d postgres -c "CREATE DATABASE old" >/dev/null
roles_pre011 old || bad "applying migrations 001-010 to database old"
cat >"$W/named.json" <<'EOF'
{"database": {"conninfo": "dbname=old",
              "roles": {"owner": "dm own\"er", "daemon": "dm daemon", "engine": "dm engine",
                        "auditor": "dm auditor"}}}
EOF
if "$DM" init --config "$W/named.json" 2>"$W/err"; then
    o=$(q -d old -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'driftmon'::regnamespace AND relowner <> (SELECT oid FROM pg_roles WHERE rolname = 'dm own\"er')")
    g=$(q -d old -c "SELECT has_function_privilege('dm daemon', 'driftmon.record_run(bigint, text, timestamptz, timestamptz, bigint, timestamptz, integer, integer, float8, float8, boolean, float8, boolean, text, text, text, text, text, text, text, jsonb, text, text, text, text)', 'EXECUTE')
                            AND has_function_privilege('dm daemon', 'driftmon.claim_batch(text, interval, text)', 'EXECUTE')
                            AND has_function_privilege('dm engine', 'driftmon.submit_batch(text, text)', 'EXECUTE')
                            AND NOT has_function_privilege('driftmon_engine', 'driftmon.submit_batch(text, text)', 'EXECUTE')
                            AND has_function_privilege('dm engine', 'driftmon.submit_batch(text)', 'EXECUTE')
                            AND has_table_privilege('dm auditor', 'driftmon.audit_run', 'SELECT')
                            AND NOT has_table_privilege('dm auditor', 'driftmon.run', 'SELECT')
                            AND NOT has_function_privilege('driftmon_daemon', 'driftmon.claim_batch(text, interval)', 'EXECUTE')")
    [ "$o" = 0 ] && [ "$g" = t ] &&
        ok "init over a database from before 011: everything handed to database.roles.owner, grants to the named roles" ||
        bad "init over a database from before 011" "objects not the owner's: $o; grants: $g"
else
    bad "init over a database from before 011" "$(cat "$W/err")"
fi
# the same database under other names: refused, naming the key
cat >"$W/other.json" <<'EOF'
{"database": {"conninfo": "dbname=old"}}
EOF
if ! "$DM" init --config "$W/other.json" 2>"$W/err" && grep -q 'database.roles.owner' "$W/err"; then
    ok "init with other role names than the schema's: refused, naming database.roles.owner"
else
    bad "init with other role names than the schema's: refused, naming database.roles.owner" "$(cat "$W/err")"
fi
printf '{"database": {"roles": {"owner": "x", "daemon": "x"}}}' >"$W/dup.json"
printf '{"database": {"roles": {"owner": "pg_x"}}}' >"$W/res.json"
printf '{"database": {"roles": {"admin": "x"}}}' >"$W/unk.json"
for f in dup res unk; do
    "$DM" init --config "$W/$f.json" >/dev/null 2>"$W/err.$f"
    echo $? >"$W/rc.$f"
done
[ "$(cat "$W/rc.dup")" = 2 ] && grep -q 'database.roles.daemon.*also database.roles.owner' "$W/err.dup" &&
    [ "$(cat "$W/rc.res")" = 2 ] && grep -q 'database.roles.owner.*reserves' "$W/err.res" &&
    [ "$(cat "$W/rc.unk")" = 2 ] && grep -q 'admin' "$W/err.unk" &&
    ok "database.roles: duplicate, reserved and unknown names refused (exit 2, naming the key)" ||
    bad "database.roles: duplicate, reserved and unknown names refused" "$(cat "$W"/err.dup "$W"/err.res "$W"/err.unk)"

finish

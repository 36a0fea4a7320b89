#!/usr/bin/env bash
# standby.sh - reading batches from a hot standby (database.read_conninfo, issue 19), against a
# real primary and a real streaming standby made by `pg_basebackup -R` (tests/pg/cluster.sh
# standby).  No mocks.  Checks:
#   (a) a batch is read on the standby: the primary's read counters of the monitored table
#       (pg_stat_user_tables seq_tup_read + idx_tup_fetch) do not move while the standby's grow
#       by the batch's rows, and the run is on the primary; `driftmon check` likewise;
#   (b) replay paused (pg_wal_replay_pause): the daemon waits replica_max_wait (2 s), then
#       reads on the primary and says why (reason=timeout, the LSNs); a SIGTERM during a longer
#       wait ends the wait at once (reason=stopping) and the run still commits;
#   (c) the standby stopped: the read goes to the primary at once (reason=unreachable); the
#       standby started again is used again (reconnect);
#   in every case each batch gets exactly one run, whose drift_by_columns equal those of
#   `driftmon check` on the primary of the same rows (under another batch name); the read
#   conninfo's password is never printed.
# Against a driftmon without database.read_conninfo every check fails (exit 2: unknown key).
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=standby
. tests/lib/results.sh

P=$(mktemp -d /tmp/dm-sbp.XXXXXX)
S=$(mktemp -d /tmp/dm-sbs.XXXXXX)
rmdir "$S" # cluster.sh standby makes it
W=$(mktemp -d /tmp/dm-sbw.XXXXXX)
chmod 0777 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    bash tests/pg/cluster.sh destroy "$S" >/dev/null 2>&1
    bash tests/pg/cluster.sh destroy "$P" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_env=$(bash tests/pg/cluster.sh start "$P") && eval "$pg_env" ||
    { bad "could not start PostgreSQL (tests/pg/cluster.sh, above)"; finish; }
command -v pg_basebackup >/dev/null 2>&1 || PATH=$PATH:$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
sb_env=$(bash tests/pg/cluster.sh standby "$S" "$P") ||
    { bad "could not make the standby (tests/pg/cluster.sh standby, above)"; finish; }
SPORT=$(cat "$S/port")
# WAL kept for the standby while it is stopped in (c)
psql -X -q -c "ALTER SYSTEM SET wal_keep_size = '256MB'" -c "SELECT pg_reload_conf()" >/dev/null
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
qs() { PGHOST=$S PGPORT=$SPORT q "$@"; } # on the standby

# ---- data ---------------------------------------------------------------------------------
"$GEN" --schema applications --no-target >"$W/schema.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/schema.sql" | paste -sd, -)
q -f "$W/schema.sql" >/dev/null || { bad "could not create the table"; finish; }
# no autovacuum/analyze on the primary's table: its reads must be the daemon's alone
q -c "ALTER TABLE applications ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
      ADD COLUMN created_at timestamptz DEFAULT clock_timestamp(),
      SET (autovacuum_enabled = off)"
q -c "CREATE INDEX ON applications (batch_id)"
"$GEN" --rows 2000 --seed 1 --no-target -o "$W/ref.csv"
ROWS=500
for s in 2 3 4 5 6 7; do "$GEN" --rows $ROWS --seed $s --no-target --format tsv-copy --no-header -o "$W/b$s.tsv"; done

# rows NAME TSV [submit]: the rows, and with "submit" driftmon.submit_batch, in one transaction
rows() {
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$1';"
        echo "COPY applications ($cols) FROM STDIN;"
        cat "$2"
        echo '\.'
        [ "${3:-}" = submit ] && echo "SELECT driftmon.submit_batch('$1');"
        echo "COMMIT;"
    } | q >/dev/null
}
. tests/lib/wait.sh
has_run() { wait_until 30 "SELECT count(*) > 0 FROM driftmon.run WHERE batch = '$1'"; }
runs_of() { q -c "SELECT count(*) FROM driftmon.run WHERE batch = '$1'"; }
# the rows read out of applications so far, on the primary (q) or the standby (qs); a
# backend's counters reach the view when it ends, so driftmon's sessions are waited out first
reads() {
    "$1" -c "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables
             WHERE relname = 'applications'"
}
no_driftmon_sessions() {
    local end=$(($(date +%s) + 20)) n
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'driftmon'")
        [ "$(bash tests/pg/cluster.sh status "$S" >/dev/null 2>&1 && echo up)" = up ] &&
            n=$((n + $(qs -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'driftmon'")))
        [ "$n" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# config NAME MAX_WAIT: the primary through PG*, the standby through read_conninfo, whose
# password (ignored by the trust authentication) must never be printed
SECRET=standby-pw-9f3c1e
config() {
    cat >"$W/$1.json" <<EOF
{
  "source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "database": {"read_conninfo": "host=$S port=$SPORT dbname=driftmon user=postgres password=$SECRET"${2:+,
               \"replica_max_wait\": $2}}
}
EOF
}
config sb 2
config sb30 30
# sb30's daemon serves /metrics too (port 0: a free port, logged): scenario (c) reads its standby counters
sed -i 's|^  "cache": {"dir": "\(.*\)"},$|  "cache": {"dir": "\1"}, "metrics": {"listen": "127.0.0.1:0"},|' "$W/sb30.json"
cat >"$W/primary.json" <<EOF
{
  "source": {"table": "applications", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"}
}
EOF
"$DM" init --config "$W/primary.json" 2>"$W/init.err" || { bad "driftmon init" "$(cat "$W/init.err")"; finish; }
"$DM" reference load "$W/ref.csv" --name hc --config "$W/primary.json" >/dev/null 2>"$W/ref.err" ||
    { bad "reference load" "$(cat "$W/ref.err")"; finish; }

FAST=(--lease 5 --poll 0.5 --retry-base 0.2 --retry-cap 1 --reconnect-cap 0.5)
start_daemon() { # CONFIG LOG: sets $dpid
    "$DM" serve --config "$W/$1.json" "${FAST[@]}" 2>>"$2" &
    dpid=$!
    PIDS+=("$dpid")
}
stop_daemon() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# the log line of batch B's check
checked() { grep "msg=\"checked batch\" batch=$2 " "$1"; }
fallback_of() { grep "level=warn" "$1" | grep "check=\"batch \\\\\"$2\\\\\"\""; }

# ---- (a) a batch read on the standby ---------------------------------------------------------
L=$W/a.log
start_daemon sb "$L"
sleep 1
if kill -0 "$dpid" 2>/dev/null; then
    ok "the daemon starts with database.read_conninfo and database.replica_max_wait"
else
    wait "$dpid"
    bad "the daemon starts with database.read_conninfo and database.replica_max_wait" "exit $?: $(tail -n 3 "$L")"
    finish # nothing else can be checked
fi
rows a1 "$W/b2.tsv" submit
has_run a1 || bad "(a) batch a1 has a run" "$(tail -n 5 "$L")"
stop_daemon "$dpid"
no_driftmon_sessions || bad "(a) driftmon's sessions ended"
p0=$(reads q)
s0=$(reads qs)
rows a2 "$W/b3.tsv" submit
start_daemon sb "$L"
has_run a2 || bad "(a) batch a2 has a run" "$(tail -n 5 "$L")"
stop_daemon "$dpid"
no_driftmon_sessions || bad "(a) driftmon's sessions ended"
p1=$(reads q)
s1=$(reads qs)
if [ "$p1" = "$p0" ] && [ $((s1 - s0)) -ge $ROWS ]; then
    ok "(a) the batch is read on the standby: the primary's reads of the table do not move ($p0 -> $p1), the standby's grow by $((s1 - s0)) >= $ROWS rows"
else
    bad "(a) the batch is read on the standby" "primary $p0 -> $p1, standby $s0 -> $s1 (rows $ROWS)"
fi
checked "$L" a2 | grep -q "read_on=standby" && ok "(a) the daemon logs read_on=standby" ||
    bad "(a) the daemon logs read_on=standby" "$(checked "$L" a2)"
grep -q "on the primary" "$L" && bad "(a) no fallback while the standby keeps up" "$(grep "on the primary" "$L")" ||
    ok "(a) no fallback while the standby keeps up"

# `driftmon check`, one-shot, goes the same way
rows a3 "$W/b4.tsv"
p0=$(reads q)
s0=$(reads qs)
if "$DM" check a3 --config "$W/sb.json" >"$W/check.out" 2>"$W/check.err"; then
    no_driftmon_sessions
    p1=$(reads q)
    s1=$(reads qs)
    if [ "$p1" = "$p0" ] && [ $((s1 - s0)) -ge $ROWS ]; then
        ok "(a) driftmon check reads on the standby too (primary $p0 -> $p1, standby +$((s1 - s0)))"
    else
        bad "(a) driftmon check reads on the standby too" "primary $p0 -> $p1, standby $s0 -> $s1"
    fi
else
    bad "(a) driftmon check with database.read_conninfo" "$(cat "$W/check.err")"
fi

# ---- (b) replay paused: wait replica_max_wait, then the primary -----------------------------
qs -c "SELECT pg_wal_replay_pause()" >/dev/null
L=$W/b.log
rows b1 "$W/b5.tsv" submit
p0=$(reads q)
start_daemon sb "$L"
has_run b1 || bad "(b) batch b1 has a run" "$(tail -n 5 "$L")"
stop_daemon "$dpid"
no_driftmon_sessions
p1=$(reads q)
line=$(fallback_of "$L" b1)
waited=$(echo "$line" | sed -n 's/.* waited_s=\([0-9.]*\).*/\1/p')
if echo "$line" | grep -q "reason=timeout" && echo "$line" | grep -q "target_lsn=[0-9A-F]*/[0-9A-F]* replay_lsn=[0-9A-F]*/[0-9A-F]*" &&
    awk -v w="${waited:-0}" 'BEGIN { exit !(w >= 2 && w < 4) }'; then
    ok "(b) paused replay: the daemon waited replica_max_wait (waited_s=$waited of 2) and says why (reason=timeout, the LSNs)"
else
    bad "(b) paused replay: the daemon waits replica_max_wait and says why" "${line:-no warning for b1}"
fi
[ $((p1 - p0)) -ge $ROWS ] && checked "$L" b1 | grep -q "read_on=primary" &&
    ok "(b) ... then reads on the primary (its reads of the table +$((p1 - p0)))" ||
    bad "(b) ... then reads on the primary" "primary $p0 -> $p1; $(checked "$L" b1)"
echo "$line" | grep -q "fallbacks=1" && ok "(b) the fallback is counted (fallbacks=1)" ||
    bad "(b) the fallback is counted (fallbacks=1)" "$line"

# a stop asked during a long wait ends the wait; the run in hand still commits
L=$W/b2.log
start_daemon sb30 "$L"
sleep 1
rows b2 "$W/b6.tsv" submit
wait_log 15 "$L" 'msg="claimed batch" batch=b2 ' || bad "(b) batch b2 claimed" "$(tail -n 3 "$L")"
sleep 0.5
t0=$(date +%s.%N)
stop_daemon "$dpid"
t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
if fallback_of "$L" b2 | grep -q "reason=stopping" && awk -v t="$took" 'BEGIN { exit !(t < 10) }' &&
    [ "$(runs_of b2)" = 1 ]; then
    ok "(b) SIGTERM during a 30 s wait: the daemon reads on the primary at once (reason=stopping), commits the run and exits in $took s"
else
    bad "(b) SIGTERM during a 30 s wait ends the wait" "took $took s; runs $(runs_of b2); $(fallback_of "$L" b2)"
fi
qs -c "SELECT pg_wal_replay_resume()" >/dev/null

# ---- (c) the standby stopped: the primary at once ------------------------------------------
bash tests/pg/cluster.sh stop "$S" || bad "(c) could not stop the standby"
L=$W/c.log
rows c1 "$W/b7.tsv" submit
start_daemon sb30 "$L"
has_run c1 || bad "(c) batch c1 has a run" "$(tail -n 5 "$L")"
line=$(fallback_of "$L" c1)
waited=$(echo "$line" | sed -n 's/.* waited_s=\([0-9.]*\).*/\1/p')
if echo "$line" | grep -q "reason=unreachable" && echo "$line" | grep -q "error=\"could not connect" &&
    awk -v w="${waited:-99}" 'BEGIN { exit !(w < 1) }' && checked "$L" c1 | grep -q "read_on=primary"; then
    ok "(c) standby down: read on the primary at once (waited_s=$waited of 30, reason=unreachable, libpq's reason)"
else
    bad "(c) standby down: read on the primary at once" "${line:-no warning for c1}"
fi
# the standby back: the daemon reconnects and reads there again
bash tests/pg/cluster.sh start "$S" >/dev/null || bad "(c) could not start the standby again"
rows c2 "$W/b2.tsv" submit
has_run c2 || bad "(c) batch c2 has a run" "$(tail -n 5 "$L")"
checked "$L" c2 | grep -q "read_on=standby" && ok "(c) the standby back: read there again" ||
    bad "(c) the standby back: read there again" "$(checked "$L" c2) $(fallback_of "$L" c2)"
# this daemon made two checks: c1 fell back (the standby unreachable), c2 read on the standby
mport=$(sed -n 's/.*msg="metrics endpoint listening".* port=\([0-9]*\).*/\1/p' "$L" | tail -n 1)
$PY -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read())' "${mport:-0}" >"$W/c.metrics" 2>&1
want='driftmon_standby_fallbacks_total{reason="no_position"} 0
driftmon_standby_fallbacks_total{reason="not_standby"} 0
driftmon_standby_fallbacks_total{reason="read_failed"} 0
driftmon_standby_fallbacks_total{reason="stopping"} 0
driftmon_standby_fallbacks_total{reason="timeout"} 0
driftmon_standby_fallbacks_total{reason="unreachable"} 1
driftmon_standby_reads_total 1'
got=$(grep '^driftmon_standby_' "$W/c.metrics" | sort)
[ "$got" = "$want" ] && ok "(c) /metrics counts the standby read (1) and the fallback by its reason (unreachable 1, the others 0)" ||
    bad "(c) /metrics counts the standby read and the fallback by reason" "$got $(head -c 300 "$W/c.metrics")"
stop_daemon "$dpid"

# ---- every case: one run per batch, the numbers of a check on the primary -------------------
once=0
for b in a1 a2 b1 b2 c1 c2; do
    n=$(runs_of $b)
    [ "$n" = 1 ] && once=$((once + 1)) || bad "batch $b has exactly one run" "$n runs"
done
[ "$once" = 6 ] && ok "every batch of the daemon (a1 a2 b1 b2 c1 c2) has exactly one run"
declare -A TSV=([a1]=b2 [a2]=b3 [a3]=b4 [b1]=b5 [b2]=b6 [c1]=b7 [c2]=b2)
same=0
for b in a1 a2 a3 b1 b2 c1 c2; do
    rows "$b-primary" "$W/${TSV[$b]}.tsv"
    "$DM" check "$b-primary" --config "$W/primary.json" >/dev/null 2>"$W/pc.err" ||
        { bad "driftmon check $b-primary on the primary" "$(cat "$W/pc.err")"; continue; }
    q -c "SELECT report_json_doc FROM driftmon.run WHERE batch = '$b'" >"$W/$b.json"
    q -c "SELECT report_json_doc FROM driftmon.run WHERE batch = '$b-primary'" >"$W/$b-primary.json"
    if $PY - "$W/$b.json" "$W/$b-primary.json" 2>/dev/null <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["drift_by_columns"] == b["drift_by_columns"] and len(a["drift_by_columns"]) > 0
         and a["current"]["rows"] == b["current"]["rows"] else 1)
EOF
        same=$((same + 1))
    else
        bad "batch $b: drift_by_columns equal those of driftmon check on the primary"
    fi
done
[ "$same" = 7 ] && ok "every run's drift_by_columns equal driftmon check's on the primary (7 batches)"
# the comparison can tell: batches of other rows differ
$PY - "$W/a1.json" "$W/a2.json" 2>/dev/null <<'EOF' && ok "(the comparison tells batches of other rows apart)" || bad "batches a1 and a2 differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["drift_by_columns"] != b["drift_by_columns"] else 1)
EOF

# ---- the password of the read conninfo is never printed ---------------------------------------
if cat "$W"/*.log "$W"/*.err "$W/check.out" 2>/dev/null | grep -q "$SECRET"; then
    bad "the read conninfo's password is never printed" "$(grep -l "$SECRET" "$W"/*.log "$W"/*.err)"
elif fallback_of "$W/b.log" b1 | grep -q "read_conninfo=\"[^\"]*password=\*\*\*\*[^\"]*port=$SPORT"; then
    ok "the read conninfo's password is never printed (shown as ****)"
else
    bad "the read conninfo is shown scrubbed in the fallback line" "$(fallback_of "$W/b.log" b1)"
fi

finish

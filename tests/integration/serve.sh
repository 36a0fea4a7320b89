#!/usr/bin/env bash
# serve.sh - `driftmon serve`, the daemon (issue 4), against a real PostgreSQL started for the
# test.  No mocks.  Checks:
#   - a batch submitted to an idle daemon (poll 30 s) is claimed by NOTIFY (queued_s < 5 s);
#   - two daemons, 50 batches in bursts: every batch exactly one run, none lost;
#   - kill -9 of a daemon at 20 random points: afterwards every batch has exactly one run and
#     every flagged retrain reached the hook (distinct run ids; raw call count reported);
#   - PostgreSQL restarted 5 times (pg_ctl restart -m fast) while the daemon waits and while
#     it works: it reconnects and the batches submitted meanwhile are checked;
#   - hooks: fails twice then succeeds -> delivered on the third try; always fails -> dead
#     after max_attempts (logged as an error); hangs -> killed at its timeout; reads its
#     input after its daemon was killed -> the whole report, and the alert delivered again;
#   - the hook's environment is an allow-list: the daemon's PGPASSWORD and unlisted variables
#     never reach it, DRIFTMON_* and the names in retrain.env do;
#   - the hook's output (10 MB from one hook) is captured: the last 4 KB stored with the
#     alert's attempt and logged, escaped, as a field of the delivery's line; every line of
#     the daemon's log stays a whole logfmt line; `driftmon alerts` shows it;
#   - the recorded config hash: the same when only the password changes, another when a
#     threshold changes, and the SHA-256 of the canonical form computed independently
#     (config_sha256.py, libpq through ctypes); the hash logged on reload is the same;
#   - SIGHUP with a broken config keeps the old one; SIGTERM exits 0 soon (5 s) after the
#     run in hand finishes; a second SIGINT exits at once, the run unfinished;
#   - periodic windows: closed windows caught up once, none twice across restarts and with
#     two daemons; `driftmon alerts` lists the states.
# Small batches (200-3000 rows) keep the whole file within a few minutes.
# KEEP=1 keeps the work folder (daemon logs) for a post-mortem.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=serve
. tests/lib/results.sh

. tests/lib/pg.sh
PIDS=()
pg_cleanup_extra() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
pg_setup serve
PGBIN_DIR=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_ctl)")
[ -x "$PGBIN_DIR/pg_ctl" ] || PGBIN_DIR=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_restart() { as_owner "$PGBIN_DIR/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 restart >/dev/null; }
now() { date +%s.%N; }

# ---- data: the monitored tables and the reference ----------------------------------------
"$GEN" --schema applications --no-target >"$W/schema.sql"
sed 's/CREATE TABLE "applications"/CREATE TABLE "apps_w"/' "$W/schema.sql" >"$W/schema_w.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/schema.sql" | paste -sd, -)
q -f "$W/schema.sql" -f "$W/schema_w.sql" >/dev/null || { echo "could not create tables"; exit 1; }
for t in applications apps_w; do
    q -c "ALTER TABLE $t ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
          ADD COLUMN created_at timestamptz DEFAULT coalesce(nullif(current_setting('dm.ts', true), '')::timestamptz, clock_timestamp())"
done
q -c "CREATE INDEX ON applications (batch_id)"
q -c "CREATE INDEX ON apps_w (created_at)"
"$GEN" --rows 2000 --seed 1 --no-target -o "$W/ref.csv"
for s in 2 3 4; do "$GEN" --rows 200 --seed $s --no-target --format tsv-copy --no-header -o "$W/small$s.tsv"; done
"$GEN" --rows 200 --seed 5 --no-target --format tsv-copy --no-header \
    --drift AMT_INCOME_TOTAL=3,AMT_CREDIT=3,AMT_ANNUITY=3,DAYS_BIRTH=2 -o "$W/drift.tsv"
"$GEN" --rows 3000 --seed 6 --no-target --format tsv-copy --no-header -o "$W/big.tsv"

# submit NAME TSV [TABLE] [TIMESTAMP]: the rows and submit_batch in one transaction
submit() {
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$1';"
        [ -n "${4:-}" ] && echo "SET LOCAL dm.ts = '$4';"
        echo "COPY ${3:-applications} (${COPY_COLS:-$cols}) FROM STDIN;"
        cat "$2"
        echo '\.'
        echo "SELECT driftmon.submit_batch('$1');"
        echo "COMMIT;"
    } | q >/dev/null
}
. tests/lib/wait.sh
# lock_table / unlock_table: hold ACCESS EXCLUSIVE on applications from another session
# until told (a daemon that claims a batch then waits to read it), not for a fixed time
lock_table() {
    PGAPPNAME=dm-locker q -c "BEGIN; LOCK TABLE applications IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600); COMMIT;" >/dev/null 2>&1 &
    locker=$!
    wait_until 30 "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                   WHERE a.application_name = 'dm-locker' AND l.mode = 'AccessExclusiveLock' AND l.granted"
}
unlock_table() {
    q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'dm-locker'" >/dev/null
    wait "$locker" 2>/dev/null
}
all_done="SELECT count(*) = 0 FROM driftmon.batch WHERE done_at IS NULL"
no_pending="SELECT count(*) = 0 FROM driftmon.retrain_outbox WHERE delivered_at IS NULL AND dead_at IS NULL"
# batches (matching LIKE) without exactly one run
not_once() {
    q -c "SELECT count(*) FROM driftmon.batch b WHERE b.batch LIKE '$1'
          AND (SELECT count(*) FROM driftmon.run r WHERE r.batch = b.batch) <> 1"
}

# config NAME HOOK [extra json members]
config() {
    cat >"$W/$1.json" <<EOF
{
  "source": {"table": "${TABLE:-applications}", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "${REF:-hc}"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "retrain": {"fraction": 0, "hook": ["$2"], "hook_timeout": ${HOOK_TIMEOUT:-5},
              "max_attempts": ${MAX_ATTEMPTS:-8}, "notify_channel": "driftmon_retrain",
              "env": ["HOOK_LOG", "HOOK_DIR"]}${3:+,
  $3}
}
EOF
}
# the recording hook: one line per call "run_id batch first-byte-of-stdin", and in env.log
# what it saw of the daemon's environment
cat >"$W/hook_rec.sh" <<'EOF'
#!/bin/sh
c=$(head -c 1)
printf '%s %s %s\n' "$DRIFTMON_RUN_ID" "$DRIFTMON_BATCH" "$c" >>"$HOOK_LOG"
printf 'PGPASSWORD=%s HOOK_UNLISTED=%s DRIFTMON_TEST_MARK=%s\n' "${PGPASSWORD-unset}" \
    "${HOOK_UNLISTED-unset}" "${DRIFTMON_TEST_MARK-unset}" >>"${HOOK_DIR:?}/env.log"
EOF
# flaky-*: fails twice then succeeds; dead-*: always fails; hang-*: never ends; loud-*:
# writes 5 MiB to stdout and 5 MiB to stderr, then "loud end" without a newline.  Each says
# on both streams which attempt it is, the last line unfinished.
cat >"$W/hook_var.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
n=$(cat "$HOOK_DIR/n.$DRIFTMON_RUN_ID" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$HOOK_DIR/n.$DRIFTMON_RUN_ID"
case "$DRIFTMON_BATCH" in flaky-* | dead-*)
    echo "attempt $n of $DRIFTMON_BATCH"
    printf 'to stderr\tunfinished' >&2 ;;
esac
case "$DRIFTMON_BATCH" in
    flaky-*) [ "$n" -ge 3 ] && exit 0; exit 1 ;;
    dead-*) exit 7 ;;
    loud-*)
        head -c 5242880 /dev/zero | tr '\000' o
        head -c 5242880 /dev/zero | tr '\000' e >&2
        printf 'loud end'
        exit 0 ;;
    hang-*) exec sleep 31.25 ;;
esac
exit 0
EOF
chmod 0755 "$W/hook_rec.sh" "$W/hook_var.sh"
export HOOK_LOG=$W/hook.log HOOK_DIR=$W
# the daemon's environment holds a password (ignored by the trust authentication), a variable
# retrain.env does not name, and a DRIFTMON_* one
export PGPASSWORD=serve-test-password HOOK_UNLISTED=leaked DRIFTMON_TEST_MARK=seen
: >"$HOOK_LOG"
config main "$W/hook_rec.sh"
C=(--config "$W/main.json")
"$DM" init "${C[@]}" 2>"$W/init.err" || { echo "init failed: $(cat "$W/init.err")"; exit 1; }
"$DM" reference load "$W/ref.csv" --name hc "${C[@]}" >/dev/null 2>"$W/ref.err" ||
    { echo "reference load failed: $(cat "$W/ref.err")"; exit 1; }
[ "$(q -c "SELECT count(*) FROM driftmon.schema_version WHERE name = '004_daemon.sql'")" = 1 ] &&
    ok "migration 004_daemon.sql applied" || bad "migration 004_daemon.sql applied"

# start_daemon LOG ARGS...: sets $dpid
start_daemon() {
    local log=$1
    shift
    "$DM" serve "$@" 2>>"$log" &
    dpid=$!
    PIDS+=("$dpid")
}
stop_daemon() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
FAST=(--lease 2 --poll 0.5 --retry-base 0.1 --retry-cap 0.5 --reconnect-cap 0.5)

# ---- an idle daemon is woken by NOTIFY --------------------------------------------------
# With a 30 s poll, a batch claimed within 5 s was announced by NOTIFY (the margin holds on
# a loaded machine); the latency itself is measured by tests/bench/serve.sh.
start_daemon "$W/d1.log" "${C[@]}" "${FAST[@]}" --poll 30
d1=$dpid
wait_log 30 "$W/d1.log" "listening on driftmon_batch" || bad "daemon 1 connects" "$(tail -3 "$W/d1.log")"
sleep 0.3
submit lat-1 "$W/small2.tsv"
wait_log 30 "$W/d1.log" 'msg="checked batch" batch=lat-1' || true
qs=$(sed -n 's/.*msg="claimed batch" batch=lat-1 queued_s=\([0-9.]*\).*/\1/p' "$W/d1.log")
if [ -n "$qs" ] && awk -v x="$qs" 'BEGIN { exit !(x < 5) }'; then
    ok "a submitted batch is claimed by NOTIFY, not the 30 s poll (queued ${qs} s)"
else
    bad "a submitted batch is claimed by NOTIFY, not the 30 s poll" "queued_s=$qs; $(tail -3 "$W/d1.log")"
fi

# ---- two daemons, 50 batches in bursts ---------------------------------------------------
start_daemon "$W/d2.log" "${C[@]}" "${FAST[@]}"
d2=$dpid
wait_log 30 "$W/d2.log" "listening on driftmon_batch"
for burst in 1 2 3 4 5; do
    for i in $(seq 1 10); do submit "two-$burst-$i" "$W/small$((2 + i % 3)).tsv" & done
    wait_pids=$(jobs -p | grep -v -e "^$d1\$" -e "^$d2\$")
    for p in $wait_pids; do wait "$p"; done
    sleep 0.2
done
if wait_until 180 "$all_done"; then
    n=$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch LIKE 'two-%'")
    bad_n=$(not_once 'two-%')
    c1=$(grep -c 'msg="checked batch" batch=two-' "$W/d1.log")
    c2=$(grep -c 'msg="checked batch" batch=two-' "$W/d2.log")
    [ "$n" = 50 ] && [ "$bad_n" = 0 ] &&
        ok "two daemons, 50 batches: each exactly one run (daemon 1: $c1, daemon 2: $c2)" ||
        bad "two daemons, 50 batches" "batches=$n, without exactly one run: $bad_n"
else
    bad "two daemons, 50 batches: all done within 180 s" "$(q -c "SELECT count(*) FROM driftmon.batch WHERE done_at IS NULL")"
fi
wait_until 120 "$no_pending" || bad "alerts of the burst delivered"
stop_daemon "$d1"
stop_daemon "$d2"

# ---- kill -9 at 20 random points ------------------------------------------------------------
for i in $(seq 1 20); do
    if [ $((i % 4)) = 0 ]; then submit "kill-$i" "$W/drift.tsv"; else submit "kill-$i" "$W/small$((2 + i % 3)).tsv"; fi
done
killed_mid=0
for i in $(seq 1 20); do
    start_daemon "$W/kill.log" "${C[@]}" "${FAST[@]}" --worker killer
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.05 + (r % 600) / 1000 }')"
    tail -n 1 "$W/kill.log" | grep -q 'claimed batch' && killed_mid=$((killed_mid + 1))
    kill -9 "$dpid" 2>/dev/null
    wait "$dpid" 2>/dev/null
    [ $((i % 5)) = 0 ] && submit "kill-late-$i" "$W/small2.tsv"
done
start_daemon "$W/kill.log" "${C[@]}" "${FAST[@]}" --worker killer
dk=$dpid
if wait_until 180 "$all_done" && wait_until 120 "$no_pending"; then
    bad_n=$(not_once 'kill-%')
    n=$(q -c "SELECT count(*) FROM driftmon.batch WHERE batch LIKE 'kill-%'")
    [ "$bad_n" = 0 ] && [ "$n" = 24 ] &&
        ok "kill -9 x20 (about $killed_mid in a check): all $n batches have exactly one run" ||
        bad "kill -9 x20: exactly one run per batch" "batches=$n, without exactly one run: $bad_n"
    flagged=$(q -c "SELECT string_agg(r.id::text, ' ' ORDER BY r.id) FROM driftmon.run r
                    WHERE r.retrain_flagged AND r.batch LIKE 'kill-%'")
    hooked=$(grep ' kill-' "$HOOK_LOG" | cut -d' ' -f1 | sort -un | paste -sd' ' -)
    raw=$(grep -c ' kill-' "$HOOK_LOG")
    nflag=$(echo "$flagged" | wc -w)
    if [ -n "$flagged" ] && [ "$flagged" = "$hooked" ] && ! grep ' kill-' "$HOOK_LOG" | grep -qv ' {$'; then
        ok "every flagged retrain reached the hook: $nflag distinct run ids, $raw raw calls"
    else
        bad "every flagged retrain reached the hook" "flagged: $flagged / hook: $hooked"
    fi
else
    bad "after kill -9 x20 everything is checked and delivered" "$(q -c "SELECT batch, claimed_by, lease_until, last_error FROM driftmon.batch WHERE done_at IS NULL")"
fi

# ---- PostgreSQL restarted 5 times ----------------------------------------------------------
restart_ok=true
for i in 1 2 3 4 5; do
    submit "pg-big-$i" "$W/big.tsv"
    sleep 0.$((RANDOM % 3))
    pg_restart || { restart_ok=false; break; }
    submit "pg-after-$i" "$W/small3.tsv" || { restart_ok=false; break; }
    sleep 0.5 # the daemon waits while the server is down / reconnects
    if ! wait_until 30 "SELECT count(*) = 0 FROM driftmon.batch WHERE done_at IS NULL AND batch LIKE 'pg-%'"; then
        restart_ok=false
        break
    fi
done
recon=$(grep -c 'lost the database connection' "$W/kill.log")
if $restart_ok && kill -0 "$dk" 2>/dev/null && [ "$(not_once 'pg-%')" = 0 ] && [ "$recon" -ge 5 ]; then
    ok "PostgreSQL restarted 5 times: reconnected ($recon times), all 10 batches one run each"
else
    bad "PostgreSQL restarted 5 times" "restart_ok=$restart_ok reconnects=$recon not_once=$(not_once 'pg-%'); $(grep -E 'level=(warn|error)' "$W/kill.log" | tail -3)"
fi
stop_daemon "$dk"

# ---- hooks: flaky, dead, hanging ---------------------------------------------------------
HOOK_TIMEOUT=2 MAX_ATTEMPTS=3 config hooks "$W/hook_var.sh"
start_daemon "$W/hooks.log" --config "$W/hooks.json" "${FAST[@]}"
dh=$dpid
submit flaky-1 "$W/drift.tsv"
submit dead-1 "$W/drift.tsv"
submit hang-1 "$W/drift.tsv"
submit loud-1 "$W/drift.tsv"
wait_until 120 "SELECT ($all_done) AND ($no_pending)" || true
st() { q -c "SELECT a.state || ' ' || a.attempts FROM driftmon.alerts a WHERE a.batch = '$1'"; }
[ "$(st flaky-1)" = "delivered 3" ] && ok "a hook that fails twice is delivered on the third try" ||
    bad "a hook that fails twice is delivered on the third try" "$(st flaky-1)"
if [ "$(st dead-1)" = "dead 3" ] && grep -q 'level=error msg="retrain alert is dead.*batch=dead-1' "$W/hooks.log"; then
    ok "a hook that always fails is dead after 3 attempts, logged as an error"
else
    bad "a hook that always fails is dead after 3 attempts" "$(st dead-1)"
fi
herr=$(q -c "SELECT a.last_error FROM driftmon.alerts a WHERE a.batch = 'hang-1'")
if [ "$(st hang-1)" = "dead 3" ] && [[ "$herr" == *"timed out after 2.0 s"* ]] && ! pgrep -f 'sleep 31.25' >/dev/null; then
    ok "a hanging hook is killed at its timeout (3 x 2 s, then dead; no sleep left)"
else
    bad "a hanging hook is killed at its timeout" "$(st hang-1) / $herr / $(pgrep -fa 'sleep 31.25')"
fi
"$DM" alerts --config "$W/hooks.json" >"$W/alerts.out" 2>&1
grep -q ' delivered ' "$W/alerts.out" && grep -q ' dead ' "$W/alerts.out" &&
    [ "$("$DM" alerts --config "$W/hooks.json" --state dead | grep -c ' dead ')" = 2 ] &&
    ok "driftmon alerts lists delivered and dead alerts (--state filters)" ||
    bad "driftmon alerts" "$(cat "$W/alerts.out")"
# the hook's output, stored with the alert's attempt and logged
out_of() {
    q -c "SELECT o.last_output_bytes || ':' || o.last_output FROM driftmon.alerts a
          JOIN driftmon.retrain_outbox o USING (run_id) WHERE a.batch = '$1'"
}
with_len() { printf '%s:%s' "$(printf %s "$1" | wc -c)" "$1"; }
want_flaky=$(with_len "$(printf 'attempt 3 of flaky-1\nto stderr\tunfinished')")
want_dead=$(with_len "$(printf 'attempt 3 of dead-1\nto stderr\tunfinished')")
[ "$(out_of flaky-1)" = "$want_flaky" ] && [ "$(out_of dead-1)" = "$want_dead" ] &&
    ok "the hook's stdout and stderr are stored with the alert's last attempt" ||
    bad "the hook's output stored with the attempt" "flaky-1: $(out_of flaky-1) / dead-1: $(out_of dead-1)"
loud=$(q -c "SELECT a.state || ' ' || a.attempts || ' ' || o.last_output_bytes || ' ' ||
                    octet_length(o.last_output) || ' ' ||
                    (o.last_output = repeat('e', 4096 - 8) || 'loud end')
             FROM driftmon.alerts a JOIN driftmon.retrain_outbox o USING (run_id)
             WHERE a.batch = 'loud-1'")
[ "$loud" = "delivered 1 10485768 4096 true" ] &&
    ok "a hook writing 10 MiB is delivered; its last 4096 bytes are kept, the 10485768 counted" ||
    bad "a hook writing 10 MiB" "state attempts bytes kept last-4096-right: $loud"
# every line of the daemon's log is a whole logfmt line: nothing of a hook in it, no line
# glued onto a hook's unfinished one
strays=$(grep -cv '^ts=[^ ]* level=[a-z]* msg="' "$W/hooks.log")
logsize=$(stat -c %s "$W/hooks.log")
if [ "$strays" = 0 ] && [ "$logsize" -lt 1048576 ] &&
    grep -F 'msg="delivered retrain alert"' "$W/hooks.log" | grep -F 'batch=flaky-1' |
    grep -qF "output_bytes=${want_flaky%%:*} output=\"attempt 3 of flaky-1\\nto stderr\\tunfinished\""; then
    ok "the delivery's log line carries the hook's output, escaped; the log holds only whole lines"
else
    bad "the hook's output in the log" "$strays stray lines, $logsize bytes; $(grep -v '^ts=' "$W/hooks.log" | head -c 300)"
fi
grep -F ' flaky-1 ' "$W/alerts.out" | grep -qF '| attempt 3 of flaky-1\nto stderr\tunfinished' &&
    ok "driftmon alerts shows the hook's last output, escaped on the alert's line" ||
    bad "driftmon alerts shows the hook's output" "$(grep -F flaky-1 "$W/alerts.out")"

# ---- SIGHUP with a broken config; SIGTERM after the run in hand ---------------------------
cp "$W/hooks.json" "$W/hooks.good"
echo '{"source": {"table": ' >"$W/hooks.json"
kill -HUP "$dh"
wait_log 30 "$W/hooks.log" 'could not reload the configuration; keeping the old one' &&
    submit hup-1 "$W/small2.tsv" &&
    wait_until 30 "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'hup-1'" &&
    ok "SIGHUP with a broken config keeps the old one (and says why)" ||
    bad "SIGHUP with a broken config keeps the old one" "$(tail -3 "$W/hooks.log")"
cp "$W/hooks.good" "$W/hooks.json"
kill -HUP "$dh"
wait_log 30 "$W/hooks.log" 'msg="configuration reloaded"' && ok "SIGHUP with a good config reloads" ||
    bad "SIGHUP with a good config reloads"
: >"$W/term.log"
stop_daemon "$dh"
start_daemon "$W/term.log" --config "$W/hooks.json" "${FAST[@]}"
dt=$dpid
wait_log 30 "$W/term.log" "listening on driftmon_batch"
submit term-1 "$W/big.tsv"
wait_log 30 "$W/term.log" 'claimed batch.*term-1'
kill -TERM "$dt"
wait "$dt"
rc=$?
t_exit=$(now)
fin=$(q -c "SELECT extract(epoch FROM finished_at) FROM driftmon.run WHERE batch = 'term-1'")
if [ "$rc" = 0 ] && [ -n "$fin" ] && awk -v a="$t_exit" -v b="$fin" 'BEGIN { exit !(a - b < 5) }'; then
    ok "SIGTERM finishes the run in hand and exits 0 soon after (within 5 s: $(awk -v a="$t_exit" -v b="$fin" 'BEGIN { printf "%.3f", a - b }') s)"
else
    bad "SIGTERM finishes the run in hand and exits 0" "rc=$rc finished=$fin exit=$t_exit"
fi
# the daemon claims int-1 and waits to read it (the table is locked) while it gets both
submit int-1 "$W/big.tsv"
lock_table
start_daemon "$W/int.log" --config "$W/hooks.json" "${FAST[@]}"
di=$dpid
wait_log 30 "$W/int.log" 'claimed batch.*int-1'
kill -INT "$di"
sleep 0.02
kill -INT "$di"
t0=$(now)
wait "$di"
rc=$?
el=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
unlock_table
[ "$rc" = 130 ] && ! grep -q 'checked batch.*int-1' "$W/int.log" &&
    ok "a second SIGINT exits at once (status 130, ${el} s, run not finished)" ||
    bad "a second SIGINT exits at once" "rc=$rc; $(tail -2 "$W/int.log")"
# its run was interrupted on purpose: not left for the daemons below (other tables)
q -c "UPDATE driftmon.batch SET done_at = clock_timestamp() WHERE batch = 'int-1'"

# ---- a daemon killed while its hook runs: the hook still reads the whole report -----------
# The hook marks its start and reads nothing for 2 s; the daemon is killed meanwhile.
# The report must be larger than a pipe's 64 KiB buffer (a daemon writing it into a pipe
# would leave a truncated document behind), so the table and reference have every column
# twice (name and name_B).  The alert stays pending and a new daemon delivers it.
{
    echo 'CREATE TABLE "apps_late" ('
    sed -n 's/^ *"\([^"]*\)" \([^,]*\),\{0,1\}$/    "\1" \2,/p' "$W/schema.sql"
    sed -n 's/^ *"\([^"]*\)" \([^,]*\),\{0,1\}$/    "\1_B" \2,/p' "$W/schema.sql"
    echo '    batch_id text DEFAULT current_setting($$dm.batch$$, true), created_at timestamptz DEFAULT clock_timestamp());'
} >"$W/schema_late.sql"
q -f "$W/schema_late.sql" >/dev/null
cols_late="$cols,$(echo "$cols" | sed 's/"\([^"]*\)"/"\1_B"/g')"
paste -d, "$W/ref.csv" <(sed '1s/,/_B,/g; 1s/$/_B/' "$W/ref.csv") >"$W/ref_late.csv"
paste "$W/drift.tsv" "$W/drift.tsv" >"$W/drift_late.tsv"
cat >"$W/hook_late.sh" <<'EOF2'
#!/bin/sh
case "$DRIFTMON_BATCH" in late-*) ;; *) cat >/dev/null; exit 0 ;; esac
n=$(cat "$HOOK_DIR/late.n" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$HOOK_DIR/late.n"
: >"$HOOK_DIR/late.started.$n"
[ "$n" = 1 ] && sleep 2
cat >"$HOOK_DIR/late.$n.tmp"
mv "$HOOK_DIR/late.$n.tmp" "$HOOK_DIR/late.$n.json"
EOF2
chmod 0755 "$W/hook_late.sh"
wait_file() { # SECONDS FILE
    local end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ -e "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
TABLE=apps_late REF=late config late "$W/hook_late.sh"
"$DM" reference load "$W/ref_late.csv" --name late --config "$W/late.json" >/dev/null 2>"$W/ref.err" ||
    bad "reference load (every column twice)" "$(cat "$W/ref.err")"
start_daemon "$W/late.log" --config "$W/late.json" "${FAST[@]}"
dl=$dpid
COPY_COLS=$cols_late submit late-1 "$W/drift_late.tsv" apps_late
if wait_file 60 "$W/late.started.1"; then
    kill -9 "$dl"
    wait "$dl" 2>/dev/null
    wait_file 30 "$W/late.1.json"
    size=$(stat -c %s "$W/late.1.json" 2>/dev/null || echo 0)
    perr=$($PY -c 'import json, sys; json.load(open(sys.argv[1]))' "$W/late.1.json" 2>&1 | tail -n 1)
    if [ "$size" -gt 65536 ] && [ -z "$perr" ]; then
        ok "a hook that reads after its daemon was killed gets the whole report ($size bytes, valid JSON)"
    else
        bad "a hook that reads after its daemon was killed gets the whole report" "$size bytes (must be > 64 KiB); $perr"
    fi
    st_late=$(st late-1)
    start_daemon "$W/late.log" --config "$W/late.json" "${FAST[@]}"
    dl=$dpid
    # the first claim holds the alert for hook_timeout + 5 s before it is due again
    wait_until 60 "SELECT state = 'delivered' FROM driftmon.alerts WHERE batch = 'late-1'" || true
    stop_daemon "$dl"
    if [ "$st_late" = "pending 1" ] && [ "$(st late-1)" = "delivered 2" ] &&
        cmp -s "$W/late.1.json" "$W/late.2.json"; then
        ok "the alert stays pending when its daemon is killed; a new daemon delivers it (same report)"
    else
        bad "the alert stays pending, then is delivered again" "after the kill: $st_late; now: $(st late-1); $(grep -E 'level=(warn|error)' "$W/late.log" | tail -2)"
    fi
else
    kill -9 "$dl" 2>/dev/null
    bad "a hook that reads after its daemon was killed" "the hook did not start; $(tail -3 "$W/late.log")"
fi

# ---- a claim lost under a slow run: that run is discarded, the batch still gets one ------
# The daemon claims steal-1 and then blocks reading it (the table is locked by the test);
# meanwhile the claim passes to "thief"; when the lock goes, the daemon's commit must refuse.
submit steal-1 "$W/big.tsv"
submit empty-1 /dev/null # a batch without rows: an input error, held back, not retried hot
lock_table
start_daemon "$W/steal.log" --config "$W/hooks.json" "${FAST[@]}"
ds=$dpid
if wait_log 30 "$W/steal.log" 'claimed batch.*steal-1'; then
    q -c "UPDATE driftmon.batch SET claimed_by = 'thief', lease_until = clock_timestamp() + interval '1 second' WHERE batch = 'steal-1'"
fi
unlock_table
wait_until 60 "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'steal-1'" || true
sleep 0.5
if grep -q 'msg="run discarded: lost the claim on the batch" batch=steal-1' "$W/steal.log" &&
    [ "$(not_once 'steal-%')" = 0 ]; then
    ok "a run whose claim was lost is not committed; the batch still gets exactly one run"
else
    bad "a lost claim is not committed" "$(grep steal-1 "$W/steal.log" | tail -4)"
fi
e=$(q -c "SELECT last_error IS NOT NULL AND lease_until > clock_timestamp() AND done_at IS NULL FROM driftmon.batch WHERE batch = 'empty-1'")
ne=$(grep -c 'msg="could not check batch" batch=empty-1' "$W/steal.log")
[ "$e" = t ] && [ "$ne" = 1 ] && ok "a batch without rows: error logged once, held back with last_error" ||
    bad "a batch without rows" "held=$e, logged $ne times"
stop_daemon "$ds"
q -c "UPDATE driftmon.batch SET done_at = clock_timestamp() WHERE batch = 'empty-1'"

# ---- periodic windows ---------------------------------------------------------------------
h0=$(q -c "SELECT extract(epoch FROM date_trunc('hour', now()))::bigint")
for k in 5 3 2; do
    submit "w-$k" "$W/small$((2 + k % 3)).tsv" apps_w "$(date -u -d "@$((h0 - k * 3600 + 600))" '+%Y-%m-%d %H:%M:%S+00')"
done
q -c "UPDATE driftmon.batch SET done_at = now() WHERE batch LIKE 'w-%'" # rows for windows only
TABLE=apps_w config win "$W/hook_rec.sh" '"schedule": {"every": "1 hour"}'
start_daemon "$W/win.log" --config "$W/win.json" "${FAST[@]}"
w1=$dpid
start_daemon "$W/win2.log" --config "$W/win.json" "${FAST[@]}"
w2=$dpid
wruns="SELECT count(*) FROM driftmon.run WHERE window_start IS NOT NULL"
wait_until 30 "SELECT ($wruns) >= 3" || true
sleep 1
n1=$(q -c "$wruns")
stop_daemon "$w1"
stop_daemon "$w2"
start_daemon "$W/win.log" --config "$W/win.json" "${FAST[@]}"
w3=$dpid
sleep 2
n2=$(q -c "$wruns")
stop_daemon "$w3"
exp=$(q -c "SELECT string_agg(to_char(to_timestamp($h0 - k * 3600) AT TIME ZONE 'UTC', 'HH24'), ',' ORDER BY k DESC) FROM unnest(ARRAY[5,3,2]) k")
got=$(q -c "SELECT string_agg(to_char(window_start AT TIME ZONE 'UTC', 'HH24'), ',' ORDER BY window_start) FROM driftmon.run WHERE window_start IS NOT NULL")
if [ "$n1" = 3 ] && [ "$n2" = 3 ] && [ "$got" = "$exp" ]; then
    ok "periodic windows: the 3 closed windows with rows caught up once (hours $got), none twice"
else
    bad "periodic windows" "runs $n1 then $n2; hours $got, expected $exp"
fi

# ---- a hook that cannot be started (no shell: the argv is run as given) -------------------
MAX_ATTEMPTS=1 config nostart "$W/no such hook.sh"
start_daemon "$W/nostart.log" --config "$W/nostart.json" "${FAST[@]}"
dn=$dpid
submit nostart-1 "$W/drift.tsv"
wait_until 60 "SELECT ($all_done) AND ($no_pending)" || true
stop_daemon "$dn"
ne=$(q -c "SELECT a.state || ': ' || a.last_error FROM driftmon.alerts a WHERE a.batch = 'nostart-1'")
[ "$ne" = "dead: could not run \"$W/no such hook.sh\": No such file or directory" ] &&
    ok "a hook that cannot be started: the error names it (argv, not a shell line)" ||
    bad "a hook that cannot be started" "$ne"

# ---- the recorded config hash: no secret in it ------------------------------------------
# Three window checks whose configs differ only in the password (the conninfo also quotes a
# value with a blank), then only in a threshold.  The expected hash is computed by
# config_sha256.py from the README's rule, libpq's PQconninfoParse called through ctypes.
hash_cfg() { # NAME PASSWORD THRESHOLD
    cat >"$W/$1.json" <<EOF
{
  "database": {"conninfo": "host=$PGHOST port=$PGPORT dbname=driftmon user=postgres password=$2 application_name='dm hash'"},
  "source": {"table": "apps_w", "batch_column": "batch_id", "timestamp_column": "created_at"},
  "reference": {"name": "hc"},
  "reports": {"dir": "$W/reports"},
  "cache": {"dir": "$W/cache"},
  "drift": {"stattest_threshold": $3}
}
EOF
}
since=$(date -u -d "@$((h0 - 6 * 3600))" '+%Y-%m-%d %H:%M:%S+00')
until=$(date -u -d "@$h0" '+%Y-%m-%d %H:%M:%S+00')
declare -A stored
for spec in hash1:guess-1:0.1 hash2:a-much-longer-password-2:0.1 hash3:guess-1:0.25; do
    IFS=: read -r n pw th <<<"$spec"
    hash_cfg "$n" "$pw" "$th"
    if "$DM" check --since "$since" --until "$until" --config "$W/$n.json" >/dev/null 2>"$W/$n.err"; then
        stored[$n]=$(q -c "SELECT config_sha256 FROM driftmon.run ORDER BY id DESC LIMIT 1")
    else
        stored[$n]="check failed: $(tail -n 2 "$W/$n.err")"
    fi
done
mapfile -t want < <($PY tests/integration/config_sha256.py "$W/hash1.json" "$W/hash2.json" "$W/hash3.json")
if [ "${stored[hash1]}" = "${stored[hash2]}" ] && [ "${stored[hash1]}" != "${stored[hash3]}" ] &&
    [ "${#want[@]}" = 3 ] && [ "${stored[hash1]}" = "${want[0]}" ] &&
    [ "${stored[hash3]}" = "${want[2]}" ]; then
    ok "the stored config hash ignores the password, follows the threshold, and is the canonical form's"
else
    bad "the stored config hash" "stored: ${stored[hash1]} ${stored[hash2]} ${stored[hash3]}; computed: ${want[*]}"
fi
! grep -rqF -e guess-1 -e a-much-longer-password-2 "$W"/hash*.err "$W/reports" &&
    ok "the passwords are in no message and no report" ||
    bad "a password was printed" "$(grep -rlF -e guess-1 -e a-much-longer-password-2 "$W"/hash*.err "$W/reports")"
# the hash logged on reload is the same (hooks.json, reloaded above)
logged=$(sed -n 's/.*msg="configuration reloaded" .*sha256=\([0-9a-f]*\).*/\1/p' "$W/hooks.log" | tail -n 1)
[ -n "$logged" ] && [ "$logged" = "$($PY tests/integration/config_sha256.py "$W/hooks.json")" ] &&
    ok "the config hash logged on reload is the canonical form's" ||
    bad "the config hash logged on reload" "logged $logged"

# ---- logs ----------------------------------------------------------------------------------
envs=$(sort -u "$W/env.log" | paste -sd'|' -)
[ "$envs" = "PGPASSWORD=unset HOOK_UNLISTED=unset DRIFTMON_TEST_MARK=seen" ] &&
    ok "the hook's environment: no PGPASSWORD, no unlisted variable; DRIFTMON_* and retrain.env's names ($(wc -l <"$W/env.log") calls)" ||
    bad "the hook's environment is an allow-list" "$envs"
if grep -h 'msg="checked batch"' "$W"/*.log | head -1 | grep -Eq '^ts=[^ ]+ level=info msg="checked batch" batch=[^ ]+ run_id=[0-9]+ rows=[0-9]+ .* total_s=[0-9.]+$'; then
    ok "log lines are logfmt with level, batch and duration"
else
    bad "log lines are logfmt" "$(grep -h 'checked batch' "$W"/*.log | head -1)"
fi

finish

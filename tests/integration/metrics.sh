#!/usr/bin/env bash
# metrics.sh - the daemon's metrics, health and systemd notifications (issue 19), against a
# real PostgreSQL started for the test.  No mocks.  Checks:
#   - metrics.listen: a bad address or port, or an unknown metrics key, is exit 2 naming the
#     key and the value; an address in use is exit 1 naming it;
#   - after real runs (batches without drift, with drift, one not checkable, alerts
#     delivered, dead and pending, a batch held by another worker) every value of /metrics
#     equals what SELECTs on driftmon.runs, column_history, failed_checks, alerts and batch
#     say; the column names are data (one holds a quote, a backslash, a line feed and an
#     e-acute) and come back unescaped exactly; the histogram is cumulative and its count
#     is the number of checks; `promtool check metrics` (Debian's prometheus) accepts the
#     page (or the check is reported skipped when promtool is missing);
#   - /healthz: 200 "ok"; PostgreSQL stopped -> 503 "database not connected: ..." and
#     driftmon_database_up 0; restarted -> 200 again once the loop reconnected;
#   - 40 idle connections held open on the endpoint do not delay the loop: a batch
#     submitted meanwhile is checked within 10 s; /metrics is scraped every 20 ms while
#     batches are checked (the HTTP thread and the loop together: run under `make tsan`);
#   - sd_notify, with a datagram socket the test binds as NOTIFY_SOCKET: READY=1 only after
#     the first connect and sweep (a batch waiting at start is done when READY=1 comes; no
#     READY=1 while the database cannot be reached, but WATCHDOG=1 goes on); WATCHDOG=1 at
#     at least every 0.8 s with WATCHDOG_USEC=1 s and an idle loop whose poll is 30 s;
#     none without WATCHDOG_USEC; STOPPING=1 on SIGTERM, then exit 0.
# KEEP=1 keeps the work folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
GEN=$BUILD/dm-gen
PY=/usr/bin/python3
results_name=metrics
. tests/lib/results.sh

. tests/lib/pg.sh
PIDS=()
pg_cleanup_extra() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
pg_setup met

# ---- data: a 100-column table with one more column whose name is data ---------------------
ODD=$'odd "q" \\ \xc3\xa9\nline'
"$GEN" --shape bench --schema applications --no-target >"$W/schema.sql"
cols=$(sed -n 's/^ *\("[^"]*"\) .*/\1/p' "$W/schema.sql" | paste -sd, -)
q -f "$W/schema.sql" >/dev/null || { bad "could not create the table"; finish; }
q -v odd="$ODD" <<'EOF' || { bad "could not add the columns"; finish; }
ALTER TABLE applications ADD COLUMN batch_id text DEFAULT current_setting('dm.batch', true),
    ADD COLUMN :"odd" float8 DEFAULT random();
EOF
"$GEN" --shape bench --rows 2000 --seed 1 --no-target -o "$W/ref0.csv"
$PY - "$W/ref0.csv" "$W/ref.csv" "$ODD" <<'EOF'
import csv, random, sys
rnd = random.Random(7)
rows = list(csv.reader(open(sys.argv[1], newline="")))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(rows[0] + [sys.argv[3]])
    for r in rows[1:]:
        w.writerow(r + ["%.6f" % rnd.random()])
EOF
for s in 2 3 4; do "$GEN" --shape bench --rows 300 --seed $s --no-target --format tsv-copy --no-header -o "$W/small$s.tsv"; done
"$GEN" --shape bench --rows 300 --seed 5 --no-target --drifted 80 --format tsv-copy --no-header -o "$W/drift.tsv"

# submit NAME TSV: the rows and submit_batch in one transaction
submit() {
    {
        echo "BEGIN;"
        echo "SET LOCAL dm.batch = '$1';"
        echo "COPY applications ($cols) FROM STDIN;"
        cat "$2"
        echo '\.'
        echo "SELECT driftmon.submit_batch('$1');"
        echo "COMMIT;"
    } | q >/dev/null
}
# a batch whose every monitored column is NULL: not checkable, given up at once
submit_null() {
    q -v odd="$ODD" -v b="$1" >/dev/null <<'EOF'
BEGIN;
SET LOCAL dm.batch = :'b';
INSERT INTO applications (:"odd") SELECT NULL FROM generate_series(1, 50);
SELECT driftmon.submit_batch(:'b');
COMMIT;
EOF
}
. tests/lib/wait.sh
# http PORT PATH: "STATUS BODY" (the body's first line)
http() {
    $PY - "$1" "$2" <<'EOF'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=10)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except Exception as e:
    code, body = 0, str(e).encode()
print(code, body.decode("utf-8", "replace").split("\n")[0])
EOF
}
fetch_metrics() { # PORT FILE
    $PY -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read())' "$1" >"$2"
}

# the hook: delivered for ok-*, fails (dead after one attempt) for dead-*, hangs for slow-*
cat >"$W/hook.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
case "$DRIFTMON_BATCH" in
    dead-*) exit 1 ;;
    slow-*) exec sleep 60 ;;
esac
exit 0
EOF
chmod 0755 "$W/hook.sh"
# config NAME LISTEN [conninfo]
config() {
    $PY - "$W/$1.json" "$W" "${2:-}" "${3:-}" <<'EOF'
import json, sys
out, w, listen, conninfo = sys.argv[1:5]
c = {"source": {"table": "applications", "batch_column": "batch_id"},
     "reference": {"name": "bench"}, "reports": {"dir": f"{w}/reports"},
     "cache": {"dir": f"{w}/cache"},
     "retrain": {"fraction": 0, "hook": [f"{w}/hook.sh"], "hook_timeout": 120, "max_attempts": 1}}
if listen:
    c["metrics"] = {"listen": listen}
if conninfo:
    c["database"] = {"conninfo": conninfo}
json.dump(c, open(out, "w"), indent=1)
EOF
}
config main 127.0.0.1:0
config plain
C=(--config "$W/main.json")
"$DM" init --config "$W/plain.json" 2>"$W/init.err" || { bad "init" "$(cat "$W/init.err")"; finish; }
"$DM" reference load "$W/ref.csv" --name bench --config "$W/plain.json" >/dev/null 2>"$W/ref.err" ||
    { bad "reference load" "$(cat "$W/ref.err")"; finish; }

start_daemon() { # LOG ARGS...: sets $dpid
    local log=$1
    shift
    "$DM" serve "$@" 2>>"$log" &
    dpid=$!
    PIDS+=("$dpid")
}
stop_daemon() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
port_of() { sed -n 's/.*msg="metrics endpoint listening".* port=\([0-9]*\).*/\1/p' "$1" | tail -n 1; }
FAST=(--lease 2 --poll 0.3 --retry-base 0.1 --retry-cap 0.5 --reconnect-cap 0.5)

# ---- metrics.listen is checked ------------------------------------------------------------
for v in 127.0.0.1 127.0.0.1:99999 localhost:9187 '[::1:9187' 1.2.3.4:80x; do
    config badlisten "$v"
    "$DM" serve --config "$W/badlisten.json" >/dev/null 2>"$W/bl.err"
    rc=$?
    if [ "$rc" = 2 ] && grep -q 'metrics.listen' "$W/bl.err" && grep -qF "$v" "$W/bl.err"; then
        ok "metrics.listen \"$v\": exit 2 naming the key and the value"
    else
        bad "metrics.listen \"$v\": exit 2 naming the key and the value" "exit $rc: $(cat "$W/bl.err")"
    fi
done
sed 's/"listen"/"port"/' "$W/main.json" >"$W/badkey.json"
"$DM" serve --config "$W/badkey.json" >/dev/null 2>"$W/bk.err"
rc=$?
[ "$rc" = 2 ] && grep -q 'unknown key "metrics.port"' "$W/bk.err" &&
    ok "an unknown metrics key is an error (exit 2)" || bad "an unknown metrics key is an error" "exit $rc: $(cat "$W/bk.err")"

# ---- real runs; /metrics against the database ----------------------------------------------
start_daemon "$W/d1.log" "${C[@]}" "${FAST[@]}"
d1=$dpid
wait_log 30 "$W/d1.log" "listening on driftmon_batch" || bad "daemon connects" "$(tail -3 "$W/d1.log")"
P=$(port_of "$W/d1.log")
[ -n "$P" ] && ok "the endpoint's port is logged ($P)" || { bad "the endpoint's port is logged"; finish; }

# scrape every 20 ms while the batches are checked
$PY - "$P" "$W/scrapes" <<'EOF' &
import os, sys, time, urllib.request
port, out = sys.argv[1], sys.argv[2]
n = bad = 0
end = time.time() + 600
while time.time() < end:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        n += 1
        if not body.endswith(b"driftmon_database_up 1\n") and not body.endswith(b"driftmon_database_up 0\n"):
            bad += 1
    except Exception:
        break
    open(out + ".tmp", "w").write(f"{n} {bad}\n")
    os.replace(out + ".tmp", out)  # whole, whenever the scraper is stopped
    time.sleep(0.02)
EOF
scraper=$!
PIDS+=("$scraper")

submit ok-1 "$W/small2.tsv"
submit ok-2 "$W/small3.tsv"
submit dead-1 "$W/small4.tsv"
submit ok-drift "$W/drift.tsv"
submit_null null-1
wait_until 120 "SELECT count(*) = 0 FROM driftmon.batch WHERE done_at IS NULL" || bad "the batches are checked" "$(tail -3 "$W/d1.log")"
wait_until 60 "SELECT count(*) = 0 FROM driftmon.alerts WHERE state = 'pending'" || bad "the alerts are delivered or dead"
submit slow-1 "$W/small2.tsv" # its alert stays pending: the hook hangs
wait_until 60 "SELECT count(*) = 1 FROM driftmon.runs WHERE batch = 'slow-1'" || bad "slow-1 checked"
# a batch another worker holds: pending, and not ours to claim
q -c "INSERT INTO driftmon.batch (batch, claimed_by, claimed_at, lease_until) VALUES ('held-1', 'other', now(), now() + interval '1 hour')"
kill "$scraper" 2>/dev/null
wait "$scraper" 2>/dev/null
read -r nscr nbad <"$W/scrapes" 2>/dev/null || { nscr=0; nbad=0; }
[ "${nscr:-0}" -ge 20 ] && [ "${nbad:-1}" = 0 ] &&
    ok "/metrics scraped $nscr times while batches were checked, every page whole" ||
    bad "/metrics scraped while batches were checked" "scrapes=$nscr truncated=$nbad"

# the database's view, as JSON
q -c "SELECT json_build_object(
    'drift', (SELECT count(*) FROM driftmon.runs WHERE dataset_drift),
    'no_drift', (SELECT count(*) FROM driftmon.runs WHERE NOT dataset_drift),
    'failed', (SELECT count(*) FROM driftmon.failed_checks),
    'last_ts', (SELECT extract(epoch FROM finished_at)::float8 FROM driftmon.runs ORDER BY finished_at DESC, run_id DESC LIMIT 1),
    'share', (SELECT share_of_drifted_columns FROM driftmon.runs ORDER BY finished_at DESC, run_id DESC LIMIT 1),
    'columns', (SELECT json_object_agg(column_name, drift_score::text) FROM driftmon.column_history
                WHERE run_id = (SELECT run_id FROM driftmon.runs ORDER BY finished_at DESC, run_id DESC LIMIT 1)),
    'pending', (SELECT count(*) FROM driftmon.batch WHERE done_at IS NULL),
    'alerts', (SELECT coalesce(json_object_agg(state, n), '{}') FROM (SELECT state, count(*) n FROM driftmon.alerts GROUP BY state) a),
    'wall', (SELECT sum(extract(epoch FROM finished_at - started_at))::float8 FROM driftmon.runs))" >"$W/db.json"
cat >"$W/compare.py" <<'EOF'
# compare.py METRICS DB.JSON: parse the exposition (its escapes undone) and compare with the
# database's values; prints one line per mismatch, "same" when none.
import json, math, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
db = json.load(open(sys.argv[2]))
series = {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)
for line in text.split("\n"):
    if not line or line.startswith("#"):
        continue
    m = line_re.match(line)
    if not m:
        print("unparsable line:", repr(line)); sys.exit(1)
    labels = tuple(sorted((k, unescape(v)) for k, v in label_re.findall(m.group(2) or "")))
    series[(m.group(1), labels)] = float(m.group(3))
def get(name, **labels):
    return series.get((name, tuple(sorted(labels.items()))))
errs = []
def same(what, got, want, tol=0.0):
    if got is None or want is None or abs(got - want) > tol:
        errs.append(f"{what}: /metrics {got!r}, database {want!r}")
for r in ("drift", "no_drift", "failed"):
    same(f"runs_total {r}", get("driftmon_runs_total", monitor="default", result=r), db[r])
same("last_run_timestamp", get("driftmon_last_run_timestamp_seconds", monitor="default"), db["last_ts"], 1e-6)
same("drifted_share", get("driftmon_drifted_share", monitor="default"), db["share"])
cols = {dict(k[1])["column"]: v for k, v in series.items() if k[0] == "driftmon_column_drift_score"}
if set(cols) != set(db["columns"]):
    errs.append(f"columns differ: only in /metrics {sorted(set(cols) - set(db['columns']))[:3]}, only in the database {sorted(set(db['columns']) - set(cols))[:3]}")
for c, v in db["columns"].items():
    if c in cols and cols[c] != float(v) and not (math.isnan(cols[c]) and math.isnan(float(v))):
        errs.append(f"column {c!r}: /metrics {cols[c]!r}, database {v}")
same("batches_pending", get("driftmon_batches_pending", monitor="default"), db["pending"])
for s in ("pending", "delivered", "dead"):
    same(f"alerts {s}", get("driftmon_alerts", state=s), db["alerts"].get(s, 0))
same("database_up", get("driftmon_database_up"), 1)
# the histogram: cumulative, +Inf = _count = checks counted; _sum >= the runs' own time
buckets = sorted((float(dict(k[1])["le"]), v) for k, v in series.items() if k[0] == "driftmon_check_duration_seconds_bucket")
counts = [v for _, v in buckets]
if counts != sorted(counts) or buckets[-1][0] != math.inf:
    errs.append(f"buckets not cumulative or no +Inf: {buckets}")
n = db["drift"] + db["no_drift"] + db["failed"]
same("histogram +Inf", buckets[-1][1], n)
same("histogram _count", get("driftmon_check_duration_seconds_count"), n)
s = get("driftmon_check_duration_seconds_sum")
if s is None or s < db["wall"] - 0.01 * n:
    errs.append(f"histogram _sum {s} below the runs' own time {db['wall']}")
print("\n".join(errs) if errs else "same")
print(f"({len(cols)} columns, {n} checks, alerts {db['alerts']}, pending {db['pending']})", file=sys.stderr)
EOF
res=""
for _ in $(seq 1 50); do # the loop reads the database at its next turn (poll 0.3 s)
    fetch_metrics "$P" "$W/m.txt" && res=$($PY "$W/compare.py" "$W/m.txt" "$W/db.json" 2>"$W/cmp.info")
    [ "$res" = same ] && break
    sleep 0.2
done
[ "$res" = same ] && ok "/metrics equals the database after real runs $(cat "$W/cmp.info")" ||
    bad "/metrics equals the database after real runs" "$res"
$PY - "$W/db.json" "$ODD" <<'EOF' && ok "the column whose name holds a quote, a backslash, a line feed and é is there, unescaped" || bad "the odd column name comes back exactly"
import json, sys
db = json.load(open(sys.argv[1]))
assert sys.argv[2] in db["columns"], list(db["columns"])[-3:]
EOF
grep -qF 'column="odd \"q\" \\ é\nline"' "$W/m.txt" &&
    ok "its label value is escaped as the text format says" || bad "the odd column's label escaped" "$(grep -a 'odd' "$W/m.txt" | head -2)"
a=$(q -c "SELECT string_agg(state || '=' || n, ',' ORDER BY state) FROM (SELECT state, count(*) n FROM driftmon.alerts GROUP BY state) s")
[ "$a" = "dead=1,delivered=3,pending=1" ] && ok "alerts in all three states ($a)" || bad "alerts in all three states" "$a"
d=$(q -c "SELECT count(*) FILTER (WHERE dataset_drift) || ',' || count(*) FILTER (WHERE NOT dataset_drift) FROM driftmon.runs")
[ "$d" = "1,4" ] && ok "runs with and without drift (1 and 4), one batch given up" || bad "runs with and without drift" "$d"
if command -v promtool >/dev/null; then
    promtool check metrics <"$W/m.txt" >"$W/promtool.out" 2>&1 &&
        ok "promtool check metrics accepts the page" || bad "promtool check metrics" "$(head -5 "$W/promtool.out")"
else
    skip "promtool check metrics" "promtool not installed (Debian package prometheus: make deps)"
fi
ctype=$($PY -c 'import sys, urllib.request; print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).headers["Content-Type"])' "$P")
[ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] &&
    ok "Content-Type text/plain; version=0.0.4" || bad "Content-Type of /metrics"
[ "$(http "$P" /nothing)" = "404 not found: try /metrics or /healthz" ] && ok "another path: 404" || bad "another path: 404" "$(http "$P" /nothing)"

# ---- idle connections do not hold the loop ----------------------------------------------------
$PY - "$P" <<'EOF' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(40)]
time.sleep(15)
EOF
holder=$!
PIDS+=("$holder")
sleep 0.5
t0=$(date +%s.%N)
submit ok-idle "$W/small3.tsv"
if wait_until 10 "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'ok-idle'"; then
    ok "40 idle HTTP connections: a batch is still checked at once ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
else
    bad "40 idle HTTP connections: a batch is still checked within 10 s"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# ---- another daemon on the same address: exit 1 ------------------------------------------------
config taken "127.0.0.1:$P"
"$DM" serve --config "$W/taken.json" "${FAST[@]}" >/dev/null 2>"$W/taken.err"
rc=$?
[ "$rc" = 1 ] && grep -q "could not listen on \"127.0.0.1:$P\"" "$W/taken.err" &&
    ok "an address in use: exit 1 naming it" || bad "an address in use: exit 1 naming it" "exit $rc: $(cat "$W/taken.err")"

# ---- /healthz through a PostgreSQL stop and start ---------------------------------------------
h=$(http "$P" /healthz)
[ "$h" = "200 ok" ] && ok "/healthz: 200 ok" || bad "/healthz: 200 ok" "$h"
bash tests/pg/cluster.sh stop "$dir" >/dev/null 2>&1
h=""
for _ in $(seq 1 100); do
    h=$(http "$P" /healthz)
    case "$h" in 503\ database\ not\ connected:*) break ;; esac
    sleep 0.1
done
case "$h" in
    503\ database\ not\ connected:*) ok "PostgreSQL stopped: /healthz 503 with the reason (${h:0:90}...)" ;;
    *) bad "PostgreSQL stopped: /healthz 503 with the reason" "$h" ;;
esac
fetch_metrics "$P" "$W/down.txt"
grep -qx 'driftmon_database_up 0' "$W/down.txt" && ok "PostgreSQL stopped: driftmon_database_up 0" || bad "driftmon_database_up 0" "$(grep database_up "$W/down.txt")"
bash tests/pg/cluster.sh start "$dir" >/dev/null 2>&1 || bad "PostgreSQL restarts"
h=""
for _ in $(seq 1 300); do
    h=$(http "$P" /healthz)
    [ "$h" = "200 ok" ] && break
    sleep 0.1
done
[ "$h" = "200 ok" ] && ok "PostgreSQL back: /healthz 200 once the loop reconnected" || bad "PostgreSQL back: /healthz 200" "$h"
stop_daemon "$d1"

# ---- sd_notify ------------------------------------------------------------------------------------
# notify.py SOCKET OUT: receive datagrams; one line per message "t=<monotonic s> <msg with \n as |>";
# on READY=1 also "ready_batch_done=<t|f>" for batch pre-1
cat >"$W/notify.py" <<'EOF'
import os, socket, subprocess, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
with open(out, "w") as f:
    while True:
        msg = s.recv(4096).decode()
        f.write(f"t={time.monotonic():.3f} {msg.replace(chr(10), '|')}\n")
        if "READY=1" in msg:
            r = subprocess.run(["psql", "-X", "-At", "-c", "SELECT done_at IS NOT NULL FROM driftmon.batch WHERE batch = 'pre-1'"],
                               capture_output=True, text=True)
            f.write(f"ready_batch_done={r.stdout.strip()}\n")
        f.flush()
EOF
listen_notify() { # NAME: sets $npid; socket $W/NAME.sock, messages in $W/NAME.msgs
    rm -f "$W/$1.sock"
    : >"$W/$1.msgs"
    $PY "$W/notify.py" "$W/$1.sock" "$W/$1.msgs" &
    npid=$!
    PIDS+=("$npid")
    for _ in $(seq 1 50); do [ -S "$W/$1.sock" ] && break; sleep 0.05; done
}
# a batch waits before the daemon starts: READY=1 comes after it was checked
submit pre-1 "$W/small4.tsv"
listen_notify n1
NOTIFY_SOCKET=$W/n1.sock WATCHDOG_USEC=1000000 start_daemon "$W/d2.log" "${C[@]}" "${FAST[@]}" --poll 30
d2=$dpid
wait_log 30 "$W/n1.msgs" "READY=1" || true
sleep 0.3
if grep -q '^ready_batch_done=t$' "$W/n1.msgs" && [ "$(grep -c 'READY=1' "$W/n1.msgs")" = 1 ]; then
    ok "READY=1 once, after the first connect and sweep (the waiting batch was checked)"
else
    bad "READY=1 after the first connect and sweep" "$(grep -v WATCHDOG "$W/n1.msgs" | head -5)"
fi
sleep 4 # idle, poll 30 s: only the watchdog bounds the wait
$PY - "$W/n1.msgs" <<'EOF' && ok "WATCHDOG=1 at least every 0.8 s (WATCHDOG_USEC=1 s, poll 30 s)" || bad "WATCHDOG=1 at least every 0.8 s"
import sys
lines = open(sys.argv[1]).read().split("\n")
ready = next(i for i, l in enumerate(lines) if "READY=1" in l)  # idle from there on
ts = [float(l.split()[0][2:]) for l in lines[ready:] if "WATCHDOG=1" in l]
gaps = [b - a for a, b in zip(ts, ts[1:])]
print(f"     {len(ts)} pings, largest gap {max(gaps) if gaps else None}")
sys.exit(0 if len(ts) >= 8 and max(gaps) < 0.8 else 1)
EOF
kill -TERM "$d2"
wait "$d2"
rc=$?
sleep 0.2
[ "$rc" = 0 ] && tail -n 1 "$W/n1.msgs" | grep -q 'STOPPING=1' &&
    ok "SIGTERM: STOPPING=1 last, exit 0" || bad "SIGTERM: STOPPING=1, exit 0" "exit $rc; $(tail -n 2 "$W/n1.msgs")"
kill "$npid" 2>/dev/null

# no database: no READY=1, the watchdog goes on; no WATCHDOG_USEC: no WATCHDOG=1
config nodb "" "host=$W/nowhere dbname=x connect_timeout=1"
listen_notify n2
NOTIFY_SOCKET=$W/n2.sock WATCHDOG_USEC=1000000 start_daemon "$W/d3.log" --config "$W/nodb.json" "${FAST[@]}" --reconnect-cap 5
d3=$dpid
listen_notify n3
NOTIFY_SOCKET=$W/n3.sock start_daemon "$W/d4.log" "${C[@]}" "${FAST[@]}" --poll 30
d4=$dpid
sleep 3
stop_daemon "$d3"
stop_daemon "$d4"
sleep 0.2
if ! grep -q 'READY=1' "$W/n2.msgs" && [ "$(grep -c 'WATCHDOG=1' "$W/n2.msgs")" -ge 4 ]; then
    ok "database unreachable: no READY=1, WATCHDOG=1 goes on ($(grep -c 'WATCHDOG=1' "$W/n2.msgs") in 3 s)"
else
    bad "database unreachable: no READY=1, WATCHDOG=1 goes on" "$(head -3 "$W/n2.msgs")"
fi
grep -q 'READY=1' "$W/n3.msgs" && ! grep -q 'WATCHDOG' "$W/n3.msgs" && grep -q 'STOPPING=1' "$W/n3.msgs" &&
    ok "without WATCHDOG_USEC: READY=1 and STOPPING=1, no WATCHDOG=1" || bad "without WATCHDOG_USEC" "$(cat "$W/n3.msgs")"
finish

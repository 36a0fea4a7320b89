#!/usr/bin/env bash
# demo.sh (integration) - the shortened demo: the same seven days on fewer rows, through the
# real daemon and a throwaway PostgreSQL.  Asserts that the retrain hook fired exactly once,
# for the last day's run, that no earlier run flagged retraining, and that the reports exist.
set -u
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/dm-demo.XXXXXX)
chmod 0755 "$D"
trap 'rm -rf "$D"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

if DM_DEMO_DIR="$D" timeout 600 bash tests/demo.sh --short >"$D/demo.out" 2>&1; then
    ok "the short demo ran to the end"
else
    bad "the short demo ran to the end" "$(tail -30 "$D/demo.out")"
fi
sed 's/^/     | /' "$D/demo.out" | tail -25
n=$(grep -c 'retrain requested' "$D/hook.log" 2>/dev/null)
[ "${n:-0}" = 1 ] && ok "the retrain hook fired exactly once" || bad "the retrain hook fired exactly once" "fired ${n:-0} times"
grep -q 'batch=day-7' "$D/hook.log" 2>/dev/null && ok "... for the last day" || bad "... for the last day" "$(cat "$D/hook.log" 2>/dev/null)"
flagged=$(grep -cE '^ +day-[0-9]: .*retraining flagged' "$D/demo.out")
[ "$flagged" = 1 ] && grep -qE '^ +day-7: .*retraining flagged' "$D/demo.out" &&
    ok "only day 7 flagged retraining" || bad "only day 7 flagged retraining" "$(grep -E '^ +day-' "$D/demo.out")"
[ -s "$D/reports/index.html" ] && ok "reports/index.html exists" || bad "reports/index.html exists"
last=$(sed -n 's/^last report: *//p' "$D/demo.out")
[ -n "$last" ] && [ -s "$last" ] && ok "the last report exists ($last)" || bad "the last report exists" "$last"
ls "$D"/reports/history-*.html >/dev/null 2>&1 && ok "a history page exists" || bad "a history page exists"
pgrep -f "$D/config.json" >/dev/null && bad "nothing left running" "$(pgrep -af "$D/config.json")" || ok "nothing left running"
echo "demo: $pass passed, $fail failed"
[ "$fail" = 0 ]

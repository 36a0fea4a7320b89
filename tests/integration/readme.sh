#!/usr/bin/env bash
# readme.sh - the README cannot go stale:
#   - its example configuration and every key of its configuration table are accepted by
#     driftmon's parser, and every key the parser knows is in the table;
#   - its `driftmon compare` / `driftmon profile` lines run as written (on generated data);
#   - every other driftmon subcommand it shows is run by an integration test or the demo.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=$BUILD/driftmon
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

# the blocks of the README
$PY - README.md "$T" <<'EOF'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
out = sys.argv[2]
blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
json_blocks = [b for lang, b in blocks if lang == "json"]
open(f"{out}/example.json", "w").write(json_blocks[0])
sh = "\n".join(b for lang, b in blocks if lang == "sh")
open(f"{out}/commands.txt", "w").write(sh)
# the configuration table: `a.b` keys in the first column
keys = []
for line in text.splitlines():
    m = re.match(r"\| (`[^|]+`) \|", line)
    if m:
        keys += re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", m.group(1))
        keys += re.findall(r"`(monitors)(?:\[\])?`", m.group(1))
open(f"{out}/keys.txt", "w").write("\n".join(keys))
# one config with every key of the table, each with a plausible value
vals = {"columns": [], "drift.stattest": "psi", "drift.num_stattest": "wasserstein",
        "drift.cat_stattest": "jensenshannon", "drift.per_column_stattest": {"x": "ks"},
        "drift.per_column_stattest_threshold": {"x": 0.05}, "drift.int_width_rule": False,
        "retrain.hook": ["/bin/true"], "retrain.notify_channel": "c", "retrain.max_attempts": 3,
        "retrain.hook_timeout": 5, "database.conninfo": "dbname=x",
        "database.read_conninfo": "host=standby dbname=x", "database.replica_max_wait": 5,
        "database.copy_streams": 2, "database.warm_backend": True, "source.table": "t",
        "source.batch_column": "b", "source.timestamp_column": "ts", "reference.name": "r",
        "reports.dir": "rep", "reports.history_runs": 30, "cache.dir": "cache",
        "schedule.every": "1 day", "retrain.env": ["HTTPS_PROXY"], "model.importance": f"{out}/importance.csv",
        "model.score_column": "EXT_SOURCE_2", "model.decision_threshold": 0.5,
        "model.label_column": "TARGET", "model.label_delay": "90 days", "model.cost.fn": 10,
        "model.cost.fp": 1, "retrain.cost_increase": 0.1,
        "database.roles.owner": "o", "database.roles.daemon": "d", "database.roles.engine": "e",
        "database.roles.auditor": "a", "metrics.listen": "127.0.0.1:9187", "limits.memory": "512 MiB",
        "limits.unit_values": 50000000}
open(f"{out}/importance.csv", "w").write("column,importance\nAMT_CREDIT,3\n")
cfg = {}
for k in keys:
    if "." not in k:
        continue  # `monitors`: the other form, below
    *path, name = k.split(".")
    v = vals.get(k, vals["columns"] if path[0] == "columns" else 0.2)
    d = cfg
    for part in path:
        d = d.setdefault(part, {})
    d[name] = v
json.dump(cfg, open(f"{out}/all_keys.json", "w"))
# the monitors form (issue 19): the same keys, those of a monitor in each of two entries,
# database, cache, metrics, limits and the hook's delivery at the top
delivery = {"hook", "hook_timeout", "max_attempts", "env"}
top = {s: cfg[s] for s in ("database", "cache", "metrics", "limits") if s in cfg}
top["retrain"] = {k: v for k, v in cfg.get("retrain", {}).items() if k in delivery}
own = {s: v for s, v in cfg.items() if s not in ("database", "cache", "metrics", "limits", "retrain")}
own["retrain"] = {k: v for k, v in cfg.get("retrain", {}).items() if k not in delivery}
m1 = dict(own, name="m1", reports=dict(own.get("reports", {}), dir="rep1"))
m2 = dict(own, name="m2", reports=dict(own.get("reports", {}), dir="rep2"))
top["monitors"] = [m1, m2]
json.dump(top, open(f"{out}/all_keys_monitors.json", "w"))
EOF

# data for the file-only commands
"$BUILD/dm-gen" --rows 3000 --seed 5 -o "$T/train.csv"
"$BUILD/dm-gen" --rows 800 --seed 6 --no-target --revolving-share 0.01 -o "$T/current.csv"

if "$DM" compare "$T/train.csv" "$T/current.csv" --config "$T/example.json" --quiet 2>"$T/err"; then
    ok "the README's example configuration is accepted"
else
    bad "the README's example configuration is accepted" "$(cat "$T/err")"
fi
if "$DM" compare "$T/train.csv" "$T/current.csv" --config "$T/all_keys.json" --quiet 2>"$T/err"; then
    ok "every key of the README's configuration table is accepted ($(wc -l <"$T/keys.txt") keys)"
else
    bad "every key of the README's configuration table is accepted" "$(cat "$T/err")"
fi
# the monitors form of the same keys parses: check names the monitors before it connects
"$DM" check b1 --monitor none --config "$T/all_keys_monitors.json" >/dev/null 2>"$T/err"
if [ $? = 2 ] && grep -q 'no monitor "none" in .*(one of m1, m2)' "$T/err"; then
    ok "every key of the table is accepted in the monitors form (two monitors)"
else
    bad "every key of the table is accepted in the monitors form" "$(cat "$T/err")"
fi
# and the parser knows no key the table leaves out
missing=""
parser_keys=$($PY -c '
import re
src = open("monitor/config.c").read()
arrays = re.findall(r"static const char \*const \w+\[\] = \{(.*?)\};", src, re.S)
print(" ".join(sorted({k for a in arrays for k in re.findall(r"\"([a-z_]+)\"", a)})))')
[ -n "$parser_keys" ] || bad "could not read the parser's keys"
for k in $parser_keys; do
    grep -qE "(^|\.)$k(\.|\$)" "$T/keys.txt" || missing="$missing $k"
done
[ -z "$missing" ] && ok "every key the parser accepts is documented" || bad "undocumented config keys:$missing"

# the file-only command lines, run as written in the data folder
(
    cd "$T" || exit 1
    grep -E '^driftmon (compare|profile) ' commands.txt | sed 's/ *#.*//' >file_cmds.txt
    n=0
    while read -r line; do
        n=$((n + 1))
        # shellcheck disable=SC2086
        if "$DM" ${line#driftmon } >out.txt 2>err.txt; then
            echo "ok   README: $line"
        else
            echo "FAIL README: $line"
            cat err.txt
            exit 1
        fi
    done <file_cmds.txt
    [ "$n" -ge 2 ] || { echo "FAIL README: no compare/profile line found"; exit 1; }
    # the saved profile in place of the CSV, as the README says
    "$DM" compare train.dmp current.csv --quiet || exit 1
) && ok "the README's compare and profile lines run" || bad "the README's compare and profile lines run"

# every other subcommand it shows is run by a test or the demo
for sub in $(grep -oE '^driftmon [a-z]+( load)?' "$T/commands.txt" | sort -u | sed 's/^driftmon //; s/ /_/'); do
    case "$sub" in compare | profile) continue ;; esac
    pat="driftmon ${sub/_/ }"
    word=${sub%%_*}
    if grep -lqE "(\"\\\$DM\"|\\\$DM|driftmon) ${word}( |\$)" tests/integration/*.sh tests/demo.sh 2>/dev/null ||
        grep -lqE "\"\\\$DM\" \"?${word}\"?" tests/integration/*.sh tests/demo.sh 2>/dev/null; then
        ok "README's \"$pat\" is run by a test or the demo"
    else
        bad "README's \"$pat\" is run by no test"
    fi
done

echo "readme: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# check.sh - benchmark of `driftmon check` against a plain binary dump of the same rows
# (issue 3).  Not run by make check: `bash tests/bench/check.sh` (after make).
#
# Data: a table 333 columns wide like the model's feature table, built from the generator:
# the 134 Home Credit application + bureau columns, the 100 columns of the bench shape and 99
# more of the bench shape under another seed (prefixed b2_), plus batch_id.  The reference is
# 307,511 rows of it, profiled once into driftmon.reference; the monitored table holds two
# batches of 50,000 rows.  Then, alternating, ROUNDS times:
#   dump   psql -c "\copy (SELECT <the 333 columns> FROM t WHERE batch_id = 'b1') TO '/dev/null'
#                   WITH (FORMAT binary)"
#   dump+  the same dump, its session first freeing one 1 MB allocation (SELECT
#          octet_length(repeat(repeat(' ', 8192), 128))), as driftmon does before each COPY
#          with database.warm_backend: this raises the backend's malloc thresholds (see
#          dm_db_warm_backend), without which a backend whose heap happens to be laid out
#          badly gives its per-row memory back to the kernel at every row.  Both ratios are
#          printed; dump+ cannot fall into it.
#   check  driftmon check b1 with the default settings (read, compare, both reports, the
#          run's transaction)
#   opt    the same with database.copy_streams 2 (the warm-up is on by default)
# and prints the medians, the ratios check / dump+ and opt / dump+ (and / dump), and the
# checks' peak memory.
#
# The binary timed is $DM_DRIFTMON (default $DM_BUILD/driftmon).  With $DM_DRIFTMON_B set
# too, two binaries are compared (tests/bench/ab.sh): check and opt of A and of B in every
# round, every second round in the other order; opt only with a binary that accepts the
# opt-in keys.  Then the medians and the ratios B / A.
#
# MODEL=1: the cost of the model's figures (issue 17) on one binary ($DM_DRIFTMON), on data
# of its own: the same tables with the generator's score column (dm-gen --score: the column
# `score` after the Home Credit block) and the model's importances (dm-gen --importance-out
# over the reference's rows; each column of the other two blocks 0.005, as the generator
# weighs the columns its model does not use).  Timed, alternating, every second round in the
# other order (no opt):
#   plain    check of table t (with the score column) against reference wide_s (the same
#            columns, no importances), no model key: the score is tested as a column
#   model    the same table against wide_m (the same CSV, loaded with --importance) with
#            model.importance, model.score_column, model.decision_threshold,
#            retrain.weighted_fraction and retrain.score_psi
#   noscore  check of table t_ns (t without the score column) against wide (the reference
#            without it), no model key
# Then the medians, and the ratios model / plain and model / noscore: of the medians, and
# the median of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
DM_B=${DM_DRIFTMON_B:-}
GEN=$BUILD/dm-gen
ROUNDS=${ROUNDS:-5}
REF_ROWS=${REF_ROWS:-307511}
BATCH_ROWS=${BATCH_ROWS:-50000}
MODEL=${MODEL:-0}
[ "$MODEL" = 0 ] || [ "$MODEL" = 1 ] || { echo "check.sh: MODEL is 0 or 1, got \"$MODEL\"" >&2; exit 2; }
[ "$MODEL" = 0 ] || [ -z "$DM_B" ] || { echo "check.sh: MODEL=1 times one binary (DM_DRIFTMON_B is set)" >&2; exit 2; }
W=$BUILD/bench-check/$REF_ROWS-$BATCH_ROWS # data made once per size
[ "$MODEL" = 0 ] || W=$W-score
SCORE=() # the Home Credit block's score column, with MODEL=1
[ "$MODEL" = 0 ] || SCORE=(--score)
mkdir -p "$W"
chmod 0777 "$BUILD/bench-check"
chmod 0777 "$W"
PG=$(mktemp -d /tmp/dm-benchpg.XXXXXX)
[ -n "${KEEP_PG:-}" ] || trap 'bash tests/pg/cluster.sh destroy "$PG" >/dev/null 2>&1' EXIT
pg_env=$(bash tests/pg/cluster.sh start "$PG")
eval "$pg_env"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# wide CSV: paste three generated blocks side by side, 333 columns
wide() { # ROWS SEED OUT EXTRA_GEN_ARGS...
    local rows=$1 seed=$2 out=$3
    shift 3
    "$GEN" --rows "$rows" --seed "$seed" "$@" -o "$W/a.csv"
    "$GEN" --shape bench --rows "$rows" --seed $((seed + 1)) -o "$W/b.csv"
    "$GEN" --shape bench --rows "$rows" --seed $((seed + 2)) -o "$W/c.csv"
    cut -d, -f1-100 "$W/c.csv" | sed '1s/\([a-z_0-9]*\)/b2_\1/g' >"$W/c99.csv"
    paste -d, "$W/a.csv" "$W/b.csv" "$W/c99.csv" >"$out"
    rm -f "$W/a.csv" "$W/b.csv" "$W/c.csv" "$W/c99.csv"
}
if [ ! -f "$W/ref.csv" ]; then
    echo "generating the reference ($REF_ROWS rows x 333 columns) and two batches..."
    if [ "$MODEL" = 1 ]; then
        wide "$REF_ROWS" 100 "$W/ref.tmp" --no-target --score --importance-out "$W/imp_a.csv"
        # the model's importances: the generator's for the Home Credit block, 0.005 for each
        # column of the other two
        {
            cat "$W/imp_a.csv"
            head -1 "$W/ref.tmp" | tr ',' '\n' | grep -E '^(b2_)?(num|cat)_' | sed 's/$/,0.005/'
        } >"$W/importance.csv"
        rm -f "$W/imp_a.csv"
        mv "$W/ref.tmp" "$W/ref.csv"
    else
        wide "$REF_ROWS" 100 "$W/ref.csv" --no-target
    fi
    wide "$BATCH_ROWS" 200 "$W/b1.csv" --no-target "${SCORE[@]}" --revolving-share 0.01 --bureau-share 0.87 --first-id 900000
    wide "$BATCH_ROWS" 300 "$W/b2.csv" --no-target "${SCORE[@]}" --first-id 1000000
fi
if [ "$MODEL" = 1 ] && [ ! -f "$W/ref_ns.csv" ]; then # the reference without the score column
    sc=$(head -1 "$W/ref.csv" | tr ',' '\n' | grep -nx score | cut -d: -f1)
    cut -d, --complement -f"$sc" "$W/ref.csv" >"$W/ref_ns.tmp"
    mv "$W/ref_ns.tmp" "$W/ref_ns.csv"
fi
ncols=$(head -1 "$W/ref.csv" | tr ',' '\n' | wc -l)
echo "columns: $ncols"
/usr/bin/python3 tests/integration/csv2sql.py "$W/b1.csv" t "batch_id:text" >"$W/t.sql"
q -f "$W/t.sql"
cols=$(head -1 "$W/b1.csv")
qcols=$(/usr/bin/python3 -c 'import sys; print(",".join("\"%s\"" % c for c in sys.argv[1].split(",")))' "$cols")
for b in b1 b2; do
    q -c "\\copy t ($qcols) FROM '$W/$b.csv' WITH (FORMAT csv, HEADER true)"
    q -c "UPDATE t SET batch_id = '$b' WHERE batch_id IS NULL"
done
q -c "CREATE INDEX ON t (batch_id)"
q -c "VACUUM ANALYZE t"
cat >"$W/config.json" <<EOF
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "wide"},
 "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"}}
EOF
cat >"$W/config_opt.json" <<EOF
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "wide"},
 "reports": {"dir": "$W/reports"}, "database": {"copy_streams": 2, "warm_backend": true}}
EOF
"$DM" init --config "$W/config.json" 2>/dev/null
[ -z "$DM_B" ] || "$DM_B" init --config "$W/config.json" 2>/dev/null
if [ "$MODEL" = 1 ]; then
    # t_ns: t without the score column; the three references and configs (see the top)
    nscols=$(/usr/bin/python3 -c 'import sys; print(",".join("\"%s\"" % c for c in sys.argv[1].split(",") if c != "score"))' "$cols")
    q -c "CREATE TABLE t_ns AS SELECT $nscols, batch_id FROM t"
    q -c "CREATE INDEX ON t_ns (batch_id)"
    q -c "VACUUM ANALYZE t_ns"
    ld() { /usr/bin/time -f "reference load ($1): %e s, %M KB peak" "$DM" reference load "$2" --name "$1" "${@:3}" --config "$W/config.json"; }
    ld wide_s "$W/ref.csv"
    ld wide_m "$W/ref.csv" --importance "$W/importance.csv"
    ld wide "$W/ref_ns.csv"
    cat >"$W/config_plain.json" <<EOF
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "wide_s"},
 "reports": {"dir": "$W/reports_plain"}, "cache": {"dir": "$W/cache"}}
EOF
    cat >"$W/config_model.json" <<EOF
{"source": {"table": "t", "batch_column": "batch_id"}, "reference": {"name": "wide_m"},
 "reports": {"dir": "$W/reports_model"}, "cache": {"dir": "$W/cache"},
 "model": {"importance": "$W/importance.csv", "score_column": "score", "decision_threshold": 0.15},
 "retrain": {"fraction": 0.5, "weighted_fraction": 0.3, "score_psi": 0.25}}
EOF
    cat >"$W/config_noscore.json" <<EOF
{"source": {"table": "t_ns", "batch_column": "batch_id"}, "reference": {"name": "wide"},
 "reports": {"dir": "$W/reports_noscore"}, "cache": {"dir": "$W/cache"}}
EOF
else
    /usr/bin/time -f "reference load: %e s, %M KB peak" "$DM" reference load "$W/ref.csv" --name wide --config "$W/config.json"
fi

dump_cmd=(psql -X -q -c "\\copy (SELECT $qcols FROM t WHERE batch_id = 'b1') TO '/dev/null' WITH (FORMAT binary)")
dumpp_cmd=(psql -X -q -c "SELECT pg_catalog.octet_length(pg_catalog.repeat(pg_catalog.repeat(' ', 8192), 128))"
    -c "\\copy (SELECT $qcols FROM t WHERE batch_id = 'b1') TO '/dev/null' WITH (FORMAT binary)")
# the checks timed: a name -> the binary and the config
declare -A BIN CFG
if [ "$MODEL" = 1 ]; then
    names=(plain model noscore)
    BIN[plain]=$DM BIN[model]=$DM BIN[noscore]=$DM
elif [ -z "$DM_B" ]; then
    names=(check opt)
    BIN[check]=$DM BIN[opt]=$DM
else
    echo "A: $DM"
    echo "B: $DM_B"
    names=("check A" "check B" "opt A" "opt B")
    BIN["check A"]=$DM BIN["opt A"]=$DM BIN["check B"]=$DM_B BIN["opt B"]=$DM_B
fi
for k in "${names[@]}"; do
    case "$k" in
    plain | model | noscore) CFG[$k]=$W/config_$k.json ;;
    check*) CFG[$k]=$W/config.json ;;
    *) CFG[$k]=$W/config_opt.json ;;
    esac
done
# one run of each first: its log line shows where the time goes; a binary that refuses the
# opt-in keys (one older than them) leaves that check out
timed=()
for k in "${names[@]}"; do
    if "${BIN[$k]}" check b1 --config "${CFG[$k]}" >/dev/null 2>"$W/err"; then
        echo "$k: $(tail -1 "$W/err")"
        timed+=("$k")
    else
        echo "$k: left out ($(tail -1 "$W/err"))"
    fi
done
# warm the caches once
"${dump_cmd[@]}" >/dev/null
declare -A T M C S U # wall s, peak KB, driftmon's own CPU s (user + system), compare_s, total_s
now() { date +%s.%N; }
fmt() { printf '%.3f' "$1"; }
for r in $(seq "$ROUNDS"); do
    t0=$(now)
    "${dump_cmd[@]}" >/dev/null
    t1=$(now)
    "${dumpp_cmd[@]}" >/dev/null
    t2=$(now)
    d=$(echo "$t1 - $t0" | bc)
    dp=$(echo "$t2 - $t1" | bc)
    T[dump]+=" $d"
    T[dump+]+=" $dp"
    line="  round $r: dump $(fmt "$d") s, dump+ $(fmt "$dp") s"
    order=("${timed[@]}")
    if [ $((r % 2)) = 0 ]; then # every second round in the other order (B before A)
        order=()
        for ((i = ${#timed[@]} - 1; i >= 0; i--)); do order+=("${timed[$i]}"); done
    fi
    for k in "${order[@]}"; do
        t0=$(now)
        /usr/bin/time -f "%M %U %S" -o "$W/mem" "${BIN[$k]}" check b1 --config "${CFG[$k]}" --quiet 2>"$W/log"
        t1=$(now)
        c=$(echo "$t1 - $t0" | bc)
        T[$k]+=" $c"
        read -r mem usr sys <"$W/mem"
        M[$k]+=" $mem"
        C[$k]+=" $(echo "$usr + $sys" | bc)"
        # the check's own stage timings (its log line): compare_s (reconcile, importances,
        # tests, the model's figures) and total_s
        S[$k]+=" $(sed -n 's/.* compare_s=\([0-9.]*\).*/\1/p' "$W/log" | tail -1)"
        U[$k]+=" $(sed -n 's/.* total_s=\([0-9.]*\).*/\1/p' "$W/log" | tail -1)"
        line+=", $k $(fmt "$c") s"
    done
    echo "$line"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { echo "scale=3; $1 / $2" | bc; }
# shellcheck disable=SC2086 # the lists are space-separated numbers
{
    md=$(median ${T[dump]})
    mdp=$(median ${T[dump+]})
    echo "median dump: $md s; median dump+: $mdp s"
    for k in "${timed[@]}"; do
        mc=$(median ${T[$k]})
        mm=$(median ${M[$k]})
        echo "median $k: $mc s, peak memory $((${mm%.*} / 1024)) MB; ratio $k/dump+: $(ratio "$mc" "$mdp") ($k/dump: $(ratio "$mc" "$md"))"
    done
    if [ "$MODEL" = 1 ]; then
        mm=$(median ${T[model]})
        for k in "${timed[@]}"; do
            echo "median $k: compare_s $(median ${S[$k]}) s, total_s $(median ${U[$k]}) s (the check's log line)"
        done
        for k in plain noscore; do
            read -ra a <<<"${T[model]}"
            read -ra b <<<"${T[$k]}"
            per=()
            for i in "${!a[@]}"; do per+=("$(ratio "${a[$i]}" "${b[$i]}")"); done
            echo "ratio model/$k: time $(ratio "$mm" "$(median ${T[$k]})") (medians), per round ${per[*]} (median $(median "${per[@]}")); driftmon's CPU time $(ratio "$(median ${C[model]})" "$(median ${C[$k]})") ($(median ${C[model]}) / $(median ${C[$k]}) s); peak memory $(ratio "$(median ${M[model]})" "$(median ${M[$k]})")"
        done
    fi
    if [ -n "$DM_B" ]; then
        for w in check opt; do
            [ -n "${T[$w A]:-}" ] && [ -n "${T[$w B]:-}" ] || continue
            echo "ratio B/A $w: time $(ratio "$(median ${T[$w B]})" "$(median ${T[$w A]})"), peak memory $(ratio "$(median ${M[$w B]})" "$(median ${M[$w A]})")"
        done
    fi
}

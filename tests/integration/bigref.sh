#!/usr/bin/env bash
# bigref.sh - a big stored reference in bounded memory (issue 20, item 2), against a real
# PostgreSQL 15 started for the test.  Checks:
#   - `reference load --table` with limits.memory "1 MiB" (below the fixed part of the
#     budget: one column per group, all read in one snapshot) and with a limit that
#     gives seven columns per group store exactly what the default (one group) stores: the
#     same sha256, rows and reference_column rows byte for byte (compared in SQL), on a
#     generated table (NULLs, -0.0 and +0.0, infinities, NaN, numeric, integers, text,
#     numbers stored as text, columns of types not compared) and on the real Home Credit
#     samples (read from ../shared; skipped by name when absent);
#   - the groups are read by one COPY, the groups after the first spilled to a spill file
#     (monitor/spill.h): the server scans the table as often as for a whole read, not once
#     more per group (pg_stat_user_tables.seq_scan);
#   - the one-column groups hold one column's values at a time: the load's peak memory is
#     lower than the one-group load's by more than half the table's numeric values as
#     doubles (rows x numeric columns x 8 B);
#   - the first check against a stored reference (its cache file not there yet) holds the
#     reference once: its peak exceeds the next check's (the cache file mapped) by less than
#     half the profile's size (before, the decoded reference and its serialized copy were
#     held together);
#   - the grouped load with an unusable TMPDIR (missing; a file) for its temporary profile:
#     exit 2, an error naming it, nothing stored;
#   - dm_ref_load_columns (tests/integration/refcols.c): the columns at the ordinals asked
#     for, in that order, each exactly the stored section, with the reference's sha256, read
#     from the database into memory, streamed into an empty cache and from the cache; an
#     ordinal out of range or repeated is refused, naming it.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
DM=${DM_DRIFTMON:-$BUILD/driftmon}
PY=/usr/bin/python3
SHARED=${DM_SHARED:-../shared}
ROWS=${BIGREF_ROWS:-400000}
results_name=bigref
. tests/lib/results.sh

. tests/lib/pg.sh
pg_setup bigref

cfg() { # FILE TABLE REFERENCE [LIMIT]
    local lim=""
    [ -z "${4:-}" ] || lim=", \"limits\": {\"memory\": $4}"
    cat >"$1" <<EOF
{"source": {"table": "$2", "batch_column": "batch_id"}, "reference": {"name": "$3"},
 "reports": {"dir": "$W/reports"}, "cache": {"dir": "$W/cache"}$lim}
EOF
}
cfg "$W/init.json" x x
"$DM" init --config "$W/init.json" >/dev/null 2>&1 || { bad "driftmon init"; finish; }

# load TABLE NAME LIMIT: reference load --table, its peak KiB in $W/NAME.kb, its log in
# $W/NAME.log
load() {
    cfg "$W/$2.json" x "$2" "$3"
    if /usr/bin/time -f %M -o "$W/$2.kb" "$DM" reference load --table "$1" --name "$2" \
        --config "$W/$2.json" >"$W/$2.out" 2>"$W/$2.log"; then
        return 0
    fi
    bad "reference load --table $1 as $2" "$(tail -3 "$W/$2.log")"
    return 1
}

# same_reference A B LABEL: the two references' rows, sha256 and stored columns are equal
same_reference() {
    local diff
    diff=$(q -c "
      WITH a AS (SELECT c.ordinal, c.name, c.storage, c.is_int, c.count, c.n_distinct, c.missing,
                        c.nonfinite, c.mean, c.std, c.min, c.max, c.profile
                 FROM driftmon.reference_column c JOIN driftmon.reference r ON r.id = c.reference_id
                 WHERE r.name = '$1'),
           b AS (SELECT c.ordinal, c.name, c.storage, c.is_int, c.count, c.n_distinct, c.missing,
                        c.nonfinite, c.mean, c.std, c.min, c.max, c.profile
                 FROM driftmon.reference_column c JOIN driftmon.reference r ON r.id = c.reference_id
                 WHERE r.name = '$2'),
           la AS (SELECT l.ordinal, l.name, l.reason FROM driftmon.reference_left_out l
                  JOIN driftmon.reference r ON r.id = l.reference_id WHERE r.name = '$1'),
           lb AS (SELECT l.ordinal, l.name, l.reason FROM driftmon.reference_left_out l
                  JOIN driftmon.reference r ON r.id = l.reference_id WHERE r.name = '$2')
      SELECT (SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) x)
           + (SELECT count(*) FROM ((TABLE la EXCEPT ALL TABLE lb) UNION ALL (TABLE lb EXCEPT ALL TABLE la)) y)
           || ' ' || (SELECT count(*) FROM a) || ' ' || (SELECT count(*) FROM la) || ' '
           || (SELECT count(DISTINCT (sha256, rows)) FROM driftmon.reference WHERE name IN ('$1', '$2'))")
    set -- "$1" "$2" "$3" $diff
    if [ "$4" = 0 ] && [ "$5" -gt 0 ] && [ "$7" = 1 ]; then
        ok "$3: the same sha256, rows and $5 stored columns ($6 left out) byte for byte"
    else
        bad "$3: stored references differ" "rows differing $4, columns $5, left out $6, distinct (sha256, rows) $7"
    fi
}

# groups NAME PER: the load of NAME was read in groups of PER columns
groups() {
    if grep -q "reading the reference in groups of columns.*per_group=$2 " "$W/$1.log"; then
        ok "$1: read in groups of $2 column(s)"
    else
        bad "$1: not read in groups of $2 column(s)" "$(grep -i group "$W/$1.log" | head -2)"
    fi
}

# ---- a generated table -----------------------------------------------------------------------
# 20 continuous float8 columns (every fourth with 5 % NULLs), one of -0.0 / +0.0 / infinities
# / NaN / NULL among numbers, integers 0..9, a numeric, text categories, numbers stored as
# text, and a jsonb and a date column (not compared: left out)
cont=""
for k in $(seq 0 19); do
    e="(random() * $((k + 1)))::float8"
    [ $((k % 4)) = 0 ] && e="CASE WHEN random() < 0.05 THEN NULL ELSE $e END"
    cont="$cont, $e AS f$k"
done
q -c "SELECT setseed(0.5)" -c "CREATE TABLE gen AS SELECT i::int8 AS id$cont,
        CASE i % 9 WHEN 0 THEN '-0'::float8 WHEN 1 THEN '0'::float8 WHEN 2 THEN 'Infinity'::float8
                   WHEN 3 THEN '-Infinity'::float8 WHEN 4 THEN 'NaN'::float8 WHEN 5 THEN NULL
                   ELSE round(random() * 100)::float8 END AS odd,
        floor(random() * 10)::int4 AS small,
        round((random() * 1000)::numeric, 3) AS amount,
        'v' || floor(random() ^ 2 * 12)::int AS cat,
        (floor(random() * 500) / 4)::text AS numtext,
        jsonb_build_object('k', i) AS doc,
        DATE '2020-01-01' + (i % 365) AS day
      FROM generate_series(1, $ROWS) AS i" >/dev/null || { bad "could not create the generated table"; finish; }
q -c "ANALYZE gen"
ncols=$(q -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'gen' AND data_type NOT IN ('jsonb', 'date')")
# numeric columns as doubles in the builder: id, f0..f19, odd, small, amount
numbytes=$((ROWS * 24 * 8))
# limits.memory for 7 columns per group: the fixed part, the scratch, 7 x 8 B per row
seven=$((64 * 1024 * 1024 + 32 * ROWS + 7 * 8 * ROWS + 1000))

# seq_scan of gen (read after the backend's counters reach the statistics)
scans() { sleep 1; q -c "SELECT pg_stat_clear_snapshot(); SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'gen'" | tail -n 1; }
if s0=$(scans) && load gen g_all '"1 GiB"' && s1=$(scans) && load gen g_one '"1 MiB"' &&
    s2=$(scans) && load gen g_seven "$seven"; then
    groups g_one 1
    groups g_seven 7
    # by groups: one COPY for every group (those after the first spilled), not one COPY per
    # group; whole: one COPY (the rows are counted either way)
    if [ $((s2 - s1)) = $((s1 - s0)) ]; then
        ok "g_one: the server scanned the table as often as for the whole read ($((s2 - s1)) scans: one COPY for all $ncols groups)"
    else
        bad "g_one: the server scanned the table as often as for the whole read (one COPY for all groups)" \
            "$((s2 - s1)) scans for $ncols groups, $((s1 - s0)) for the whole read"
    fi
    if grep -q "groups of columns" "$W/g_all.log"; then
        bad "g_all: the default limit should read $ROWS rows x $ncols columns in one group"
    else
        ok "g_all: read whole (one group) under the default limit"
    fi
    same_reference g_all g_one "generated table, one column per group"
    same_reference g_all g_seven "generated table, seven columns per group"
    # the printed sha256 is the stored one
    sha_all=$(q -c "SELECT sha256 FROM driftmon.reference WHERE name = 'g_all'")
    if grep -q "sha256 $sha_all" "$W/g_one.out"; then ok "g_one: prints the stored sha256"; else bad "g_one: printed sha256" "$(cat "$W/g_one.out")"; fi
    kb_all=$(cat "$W/g_all.kb") kb_one=$(cat "$W/g_one.kb")
    if [ $((kb_one * 1024 + numbytes / 2)) -lt $((kb_all * 1024)) ]; then
        ok "one column per group: peak $((kb_one / 1024)) MiB, one group $((kb_all / 1024)) MiB (values $((numbytes / 1048576)) MiB)"
    else
        bad "one column per group does not bound the load's memory" "peak $((kb_one / 1024)) MiB vs $((kb_all / 1024)) MiB one group; values $((numbytes / 1048576)) MiB"
    fi
fi

# ---- an unusable TMPDIR for the grouped load's temporary profile -----------------------------
# a missing directory and a file: exit 2, an error naming it as TMPDIR, nothing stored
: >"$W/tmp-file"
for t in "$W/no-such-dir" "$W/tmp-file"; do
    cfg "$W/g_tmp.json" x g_tmp '"1 MiB"'
    TMPDIR=$t "$DM" reference load --table gen --name g_tmp --config "$W/g_tmp.json" >/dev/null 2>"$W/g_tmp.log"
    rc=$?
    msg=$(grep -v "groups of columns" "$W/g_tmp.log" | head -n 1)
    stored=$(q -c "SELECT count(*) FROM driftmon.reference WHERE name = 'g_tmp'")
    if [ $rc -eq 2 ] && [[ "$msg" == *"\"$t\" (TMPDIR)"* ]] && [ "$stored" = 0 ]; then
        ok "grouped load, TMPDIR ${t##*/}: exit 2: ${msg:0:160}"
    else
        bad "grouped load, TMPDIR ${t##*/}: exit $rc (want 2), stored $stored" "$msg"
    fi
done

# ---- the first check against it holds the reference once ------------------------------------
q -c "CREATE TABLE win AS SELECT 'w'::text AS batch_id, * FROM gen WHERE id <= 2000" >/dev/null
cfg "$W/check.json" win g_all
rm -rf "$W/cache"
if /usr/bin/time -f %M -o "$W/cold.kb" "$DM" check w --config "$W/check.json" --quiet >/dev/null 2>"$W/cold.log" &&
    /usr/bin/time -f %M -o "$W/warm.kb" "$DM" check w --config "$W/check.json" --quiet >/dev/null 2>"$W/warm.log"; then
    prof=$(stat -c %s "$W/cache/$sha_all.dmp" 2>/dev/null || echo 0)
    cold=$(cat "$W/cold.kb") warm=$(cat "$W/warm.kb")
    if [ "$prof" -gt 0 ] && [ $((cold * 1024)) -lt $((warm * 1024 + prof / 2)) ]; then
        ok "first check: peak $((cold / 1024)) MiB, cached $((warm / 1024)) MiB, profile $((prof / 1048576)) MiB"
    else
        bad "the first check holds the reference more than once" "peak $((cold / 1024)) MiB, cached $((warm / 1024)) MiB, profile $prof bytes"
    fi
    set -- $(q -F ' ' -c "SELECT count(DISTINCT run_id), count(*), count(DISTINCT (column_name, column_type, stattest, drift_score, drift_detected)) FROM driftmon.column_history")
    if [ "$1" = 2 ] && [ "$3" -gt 0 ] && [ "$2" = $((2 * $3)) ]; then
        ok "the checks from the database and from the cache give the same $3 column results"
    else
        bad "the checks from the database and from the cache differ"
    fi
else
    bad "check against g_all" "$(tail -3 "$W/cold.log" "$W/warm.log")"
fi

# ---- dm_ref_load_columns --------------------------------------------------------------------
PKGS="libpq libcjson gsl libcrypto libmicrohttpd libsystemd"
if ! cc -std=c11 -D_GNU_SOURCE -O1 -pthread -I. $(pkg-config --cflags $PKGS) -o "$W/refcols" \
    tests/integration/refcols.c "$BUILD/libdriftmon.a" $(pkg-config --libs $PKGS) -lcsv -lm -pthread 2>"$W/cc.log"; then
    bad "could not build tests/integration/refcols.c" "$(head -3 "$W/cc.log")"
else
    # expected: the stored sections' sha256 at the ordinals, in the order asked
    expect() { # NAME ORDINAL...
        local n=$1 k=0 o
        shift
        for o in "$@"; do
            echo "$k|$(q -c "SELECT c.name || '|' || encode(sha256(c.profile), 'hex') FROM driftmon.reference_column c JOIN driftmon.reference r ON r.id = c.reference_id WHERE r.name = '$n' AND c.ordinal = $o")"
            k=$((k + 1))
        done
        echo "sha256 $(q -c "SELECT sha256 || ' rows ' || rows FROM driftmon.reference WHERE name = '$n'") columns $#"
    }
    all=$(seq 0 $((ncols - 1)))
    rm -rf "$W/cache"
    for how in "database, into memory:-" "database, streamed into an empty cache:$W/cache" "the cache:$W/cache"; do
        label=${how%%:*} cache=${how#*:}
        got=$("$W/refcols" g_one "$cache" 3 0 17 2>&1)
        if [ "$got" = "$(expect g_one 3 0 17)" ]; then ok "columns 3, 0, 17 from $label"; else bad "columns 3, 0, 17 from $label" "$(diff <(echo "$got") <(expect g_one 3 0 17) | head -4)"; fi
    done
    rm -rf "$W/cache"
    for cache in - "$W/cache"; do
        # shellcheck disable=SC2086
        got=$("$W/refcols" g_one "$cache" 2>&1)
        if [ "$got" = "$(expect g_one $all)" ]; then ok "every column (cache $cache)"; else bad "every column (cache $cache)" "$(diff <(echo "$got") <(expect g_one $all) | head -4)"; fi
    done
    for bad_ords in "0 $ncols:does not exist" "5 5:asked for twice"; do
        # shellcheck disable=SC2086
        out=$("$W/refcols" g_one - ${bad_ords%%:*} 2>&1)
        rc=$?
        if [ $rc = 2 ] && echo "$out" | grep -q "reference \"g_one\": column [0-9]* ${bad_ords#*:}"; then
            ok "ordinals ${bad_ords%%:*} refused: $out"
        else
            bad "ordinals ${bad_ords%%:*}: exit $rc" "$out"
        fi
    done
fi

# ---- the Home Credit samples -----------------------------------------------------------------
S="$SHARED/data/homecredit-samples"
if [ -f "$S/application_train_head5000.csv" ]; then
    hc_csv="$S/application_train_head5000.csv"
    hc_cols=$(head -1 "$hc_csv" | tr -d '\r\n\357\273\277' |
        $PY -c 'import sys; print(",".join("\"%s\"" % c.replace("\"","\"\"") for c in sys.stdin.read().split(",")))')
    cp "$hc_csv" "$W/hc.csv" && chmod 0644 "$W/hc.csv"
    { $PY tests/integration/csv2sql.py "$W/hc.csv" hc >"$W/hc.sql" && q -f "$W/hc.sql" >/dev/null &&
        q -c "\\copy hc ($hc_cols) FROM '$W/hc.csv' WITH (FORMAT csv, HEADER true)" >/dev/null; } ||
        bad "could not load the Home Credit sample"
    if load hc hc_all '"1 GiB"' && load hc hc_one '"1 MiB"'; then
        groups hc_one 1
        same_reference hc_all hc_one "Home Credit application_train_head5000, one column per group"
    fi
else
    skip "reference load in groups on the real Home Credit samples" "$S absent (they come from ../shared)"
fi
finish

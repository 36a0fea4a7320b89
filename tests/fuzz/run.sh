#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - build every tests/fuzz/fuzz_*.c as a libFuzzer binary
# (clang -fsanitize=fuzzer,address,undefined) linked with the library sources (stats/,
# reports/, monitor/ except main.c), then run each for SECONDS (default 60).
# Binaries, corpora and logs go to $DM_BUILD/fuzz (default build/fuzz); crash inputs are
# kept there as crash-*.  Exit status 1 when a harness does not build or finds a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=${DM_BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}

lib_src=$(ls stats/*.c reports/*.c monitor/*.c 2>/dev/null | grep -v '^monitor/main\.c$' || true)
cflags="-std=c11 -D_GNU_SOURCE -ffp-contract=off -pthread -I. -g -O1 -fno-omit-frame-pointer
        -DDRIFTMON_VERSION=\"$(cat VERSION 2>/dev/null || echo 0.0.0)\"
        $(pkg-config --cflags libpq libcjson gsl libcrypto 2>/dev/null)"
libs="$(pkg-config --libs libpq libcjson gsl libcrypto 2>/dev/null) -lcsv -lm -pthread"

status=0
# The library sources go into an archive, so a harness pulls in only the objects it needs.
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
rm -f "$out/libfuzz.a"
objs=()
for src in $lib_src; do
    obj="$out/obj/${src%.c}.o"
    mkdir -p "$(dirname "$obj")"
    # shellcheck disable=SC2086
    if ! $CC $cflags $san -c -o "$obj" "$src"; then
        echo "FAILED to compile $src" >&2
        status=1
        continue
    fi
    objs+=("$obj")
done
ar rcs "$out/libfuzz.a" "${objs[@]}"

shopt -s nullglob
for h in tests/fuzz/fuzz_*.c; do
    name=$(basename "$h" .c)
    bin="$out/$name"
    echo "== building $name"
    # shellcheck disable=SC2086
    if ! $CC $cflags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -o "$bin" "$h" "$out/libfuzz.a" $libs; then
        echo "FAILED to build $name" >&2
        status=1
        continue
    fi
    corpus="$out/$name.corpus"
    mkdir -p "$corpus"
    seeds="tests/fuzz/seeds/${name#fuzz_}"
    dirs=("$corpus")
    [ -d "$seeds" ] && dirs+=("$seeds")
    echo "== running $name for ${secs}s"
    if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/$name-" -print_final_stats=1 "${dirs[@]}" \
        > "$out/$name.log" 2>&1; then
        echo "FAILED: $name found a crash (see $out/$name.log, $out/$name-crash-*)" >&2
        tail -40 "$out/$name.log" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|cov:|#[0-9]+.*DONE)' "$out/$name.log" | tail -2 || true
    fi
done
exit $status

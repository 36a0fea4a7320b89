#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - build every tests/fuzz/fuzz_*.c as a libFuzzer binary
# (clang -fsanitize=fuzzer,address,undefined) against the library sources (stats/*.c,
# reports/*.c, monitor/*.c except monitor/main.c, archived so that a harness pulls in only
# the objects it needs), then run each for SECONDS (default 60).
# Binaries, corpora and logs go to $DM_BUILD/fuzz (default build/fuzz); crash inputs are
# kept there as fuzz_<name>-crash-*.  Optional seeds: tests/fuzz/seeds/<name>/ (read only).
# Exit status 1 when something does not build or a harness finds a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=${DM_BUILD:-build}/fuzz
mkdir -p "$out"
cc=${FUZZ_CC:-clang}

lib_src=()
for f in stats/*.c reports/*.c monitor/*.c; do
    [ -e "$f" ] && [ "$f" != monitor/main.c ] && lib_src+=("$f")
done
version=$(cat VERSION 2>/dev/null || echo 0.0.0)
# shellcheck disable=SC2207 # pkg-config output is a list of flags
pkg_cflags=($(pkg-config --cflags libpq libcjson gsl libcrypto 2>/dev/null || true))
# shellcheck disable=SC2207
pkg_libs=($(pkg-config --libs libpq libcjson gsl libcrypto 2>/dev/null || true))
cflags=(-std=c11 -D_GNU_SOURCE -ffp-contract=off -pthread -I. -g -O1 -fno-omit-frame-pointer
        "-DDRIFTMON_VERSION=\"$version\"" "${pkg_cflags[@]}")
# shellcheck disable=SC2054 # the commas belong to the flag
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
libs=("${pkg_libs[@]}" -lcsv -lm -pthread -ldl)

status=0
rm -f "$out/libfuzz.a"
objs=()
for src in "${lib_src[@]}"; do
    obj="$out/obj/${src%.c}.o"
    mkdir -p "$(dirname "$obj")"
    if ! "$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c -o "$obj" "$src"; then
        echo "FAILED to compile $src" >&2
        status=1
        continue
    fi
    objs+=("$obj")
done
[ ${#objs[@]} -gt 0 ] && ar rcs "$out/libfuzz.a" "${objs[@]}"

shopt -s nullglob
for h in tests/fuzz/fuzz_*.c; do
    name=$(basename "$h" .c)
    bin="$out/$name"
    echo "== building $name"
    if ! "$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer -o "$bin" "$h" "$out/libfuzz.a" \
        "${libs[@]}"; then
        echo "FAILED to build $name" >&2
        status=1
        continue
    fi
    corpus="$out/$name.corpus"
    mkdir -p "$corpus"
    dirs=("$corpus")
    seeds="tests/fuzz/seeds/${name#fuzz_}"
    [ -d "$seeds" ] && dirs+=("$seeds")
    echo "== running $name for ${secs}s"
    if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/$name-" -print_final_stats=1 "${dirs[@]}" \
        >"$out/$name.log" 2>&1; then
        echo "FAILED: $name found a crash (see $out/$name.log, $out/$name-crash-*)" >&2
        tail -40 "$out/$name.log" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' "$out/$name.log" | tail -2 || true
    fi
done
exit $status

#!/usr/bin/env bash
# make bench: driftmon compare vs the oracle (tests/bench/compare.py says what is measured).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-build}
SHARED=${DM_SHARED:-../shared}
exec /usr/bin/python3 tests/bench/compare.py "$BUILD" "$SHARED" "$@"

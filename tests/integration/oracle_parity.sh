#!/usr/bin/env bash
# oracle_parity.sh - driftmon compare vs the project's oracle (tests/oracle/evidently_rules.py) on
# seeded random data and on the real Home Credit samples from ../shared (skipped by name when
# absent); tests/integration/oracle_parity.py says what and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
SHARED=${DM_SHARED:-../shared}
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, scipy, pandas' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, scipy and pandas (make deps installs python3-numpy python3-scipy python3-pandas)"
    echo "oracle_parity: 0 passed, 1 failed"
    exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$PY" tests/integration/oracle_parity.py "$BUILD/driftmon" "$W" --shared "$SHARED" ${DM_PARITY_QUICK:+--quick}

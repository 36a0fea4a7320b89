#!/usr/bin/env bash
# perf.sh - driftmon compare's `performance` (issue 21: confusion counts, AUC, recall,
# precision, business cost, optimal threshold, cost increase, retrain reason "cost") against
# the project's oracle (tests/oracle/perf_rules.py, scikit-learn and numpy) to 1e-12, and the
# label's input errors; the real Home Credit samples from ../shared when present (skipped by
# name otherwise).  tests/integration/perf.py says what and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
SHARED=${DM_SHARED:-../shared}
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, pandas, sklearn' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, pandas and sklearn (make deps installs python3-numpy python3-pandas python3-sklearn)"
    echo "perf: 0 passed, 1 failed"
    exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$PY" tests/integration/perf.py "${DM_DRIFTMON:-$BUILD/driftmon}" "$W" --shared "$SHARED"

#!/usr/bin/env bash
# model.sh - driftmon compare with a model (issue 17: importance-weighted share, the score's PSI
# and band, approval rates, the retrain reasons) against the project's oracle
# (tests/oracle/model_rules.py, numpy), and the model's input errors; the real Home Credit
# samples from ../shared when present (skipped by name otherwise).  tests/integration/model.py
# says what and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
SHARED=${DM_SHARED:-../shared}
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, scipy, pandas' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, scipy and pandas (make deps installs python3-numpy python3-scipy python3-pandas)"
    echo "model: 0 passed, 1 failed"
    exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$PY" tests/integration/model.py "${DM_DRIFTMON:-$BUILD/driftmon}" "$W" --shared "$SHARED"

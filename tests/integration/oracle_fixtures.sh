#!/usr/bin/env bash
# oracle_fixtures.sh - the project's oracle (tests/oracle/evidently_rules.py) reproduces the
# numbers Evidently's own test suite publishes (tests/oracle/evidently_fixtures.py cites each).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, scipy, pandas' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, scipy and pandas (make deps installs python3-numpy python3-scipy python3-pandas)"
    echo "oracle-fixtures: 0 passed, 1 failed"
    exit 1
fi
exec "$PY" tests/oracle/evidently_fixtures.py

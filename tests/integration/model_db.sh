#!/usr/bin/env bash
# model_db.sh - the model's figures through the database (issue 17): `reference load
# --importance`, `check` and `serve` against a real PostgreSQL started for the test, compared
# with `driftmon compare` on the same rows and with the project's oracle
# (tests/oracle/model_rules.py).  tests/integration/model_db.py says what and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, scipy, pandas' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, scipy and pandas (make deps installs python3-numpy python3-scipy python3-pandas)"
    echo "model_db: 0 passed, 1 failed"
    exit 1
fi
results_name=model_db
. tests/lib/results.sh
. tests/lib/pg.sh
pg_setup modeldb
"$PY" tests/integration/model_db.py "${DM_DRIFTMON:-$BUILD/driftmon}" "$W"

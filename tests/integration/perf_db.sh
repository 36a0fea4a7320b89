#!/usr/bin/env bash
# perf_db.sh - the reference's performance through the database (issue 21): `reference load`
# (CSV and --table) stores the figures with the version (sql/014_perf_reference.sql), `check`
# reads them for the cost increase and the retrain reason "cost", against a real PostgreSQL
# started for the test and the project's oracle (tests/oracle/perf_rules.py, scikit-learn).
# tests/integration/perf_db.py says what and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, pandas, sklearn' 2>/dev/null; then
    echo "FAIL $PY cannot import numpy, pandas and sklearn (make deps installs python3-numpy python3-pandas python3-sklearn)"
    echo "perf_db: 0 passed, 1 failed"
    exit 1
fi
results_name=perf_db
. tests/lib/results.sh
. tests/lib/pg.sh
pg_setup perfdb
"$PY" tests/integration/perf_db.py "${DM_DRIFTMON:-$BUILD/driftmon}" "$W"

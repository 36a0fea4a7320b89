#!/usr/bin/env bash
# oracle_parity.sh - driftmon compare vs ../shared/oracle/oracle.py on seeded random data and
# on the real Home Credit samples (tests/integration/oracle_parity.py says what and why).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
SHARED=${DM_SHARED:-../shared}
ORACLE="$SHARED/oracle/oracle.py"
if [ ! -f "$ORACLE" ]; then
    echo "skip: the oracle ($ORACLE) is absent"
    exit 0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
exec /usr/bin/python3 tests/integration/oracle_parity.py "$BUILD/driftmon" "$ORACLE" "$W" --shared "$SHARED" ${DM_PARITY_QUICK:+--quick}

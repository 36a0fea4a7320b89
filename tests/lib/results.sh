# shellcheck shell=bash
# tests/lib/results.sh - sourced by the integration scripts: count the checks and say how many.
#   ok LABEL             a check passed
#   bad LABEL [DETAIL]   a check failed
#   skip LABEL REASON    a check could not run here: printed as "SKIP LABEL: REASON" and counted
#                        (tests/run.sh lists every skipped check by name; with CI=true it fails)
#   finish               print "NAME: P passed, F failed, S skipped" (the line tests/run.sh
#                        sums; NAME is $results_name) and exit, non-zero when a check failed
# Set results_name before sourcing this file.
pass=0
fail=0
skipped=0
ok() {
    pass=$((pass + 1))
    echo "ok   $1"
}
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -z "${2:-}" ] || echo "     $2"
}
skip() {
    skipped=$((skipped + 1))
    echo "SKIP $1: $2"
}
finish() {
    echo "${results_name:?set results_name before sourcing tests/lib/results.sh}: $pass passed, $fail failed, $skipped skipped"
    [ "$fail" -eq 0 ]
    exit
}

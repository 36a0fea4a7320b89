# wait.sh - polling helpers for the integration scripts (sourced; the script defines q, its
# psql on the cluster under test).
#   wait_until SECONDS SQL          until the query prints t; 1 when the time runs out
#   wait_log SECONDS FILE PATTERN   until FILE holds a line matching PATTERN (grep); 1 likewise

wait_until() {
    local end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(q -c "$2" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    return 1
}

wait_log() {
    local end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        grep -q "$3" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

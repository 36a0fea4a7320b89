# shellcheck shell=bash
# tests/lib/pg.sh - one throwaway PostgreSQL 15 for an integration script (sourced after
# tests/lib/results.sh, whose bad and finish it uses, from the repo root).
#   pg_setup NAME   makes $dir (the cluster's folder) and $W (a work folder, mode 0777 so that
#                   the postgres user can read files the script writes there), sets the EXIT
#                   trap, starts the cluster (tests/pg/cluster.sh) on a Unix socket in $dir and
#                   exports its environment (PGHOST, PGPORT, ...), quiets notices (PGOPTIONS)
#                   and defines q, psql on it (unaligned, tuples only, stop on error).  A
#                   cluster that does not start is a failed check and the end of the script.
# On exit: pg_cleanup_extra first when the script defines it (its daemons, say; then their
# wait), then the cluster destroyed and $W removed (KEEP=1 keeps $W for a post-mortem).
pg_cleanup() {
    if declare -F pg_cleanup_extra >/dev/null; then
        pg_cleanup_extra
        wait 2>/dev/null
    fi
    bash tests/pg/cluster.sh destroy "$dir" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}

pg_setup() {
    dir=$(mktemp -d "/tmp/dm-$1.XXXXXX")
    W=$(mktemp -d "/tmp/dm-$1w.XXXXXX")
    chmod 0777 "$W"
    trap pg_cleanup EXIT
    trap 'exit 130' INT TERM
    local pgenv
    pgenv=$(bash tests/pg/cluster.sh start "$dir") && eval "$pgenv" ||
        { bad "could not start PostgreSQL (tests/pg/cluster.sh, above)"; finish; }
    export PGOPTIONS='-c client_min_messages=warning'
}

q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

#!/usr/bin/env bash
# tests/pg/cluster.sh - a throwaway PostgreSQL cluster for tests and the demo.
#
#   cluster.sh start DIR    initdb (if needed) and start a server listening only on a Unix
#                           socket in DIR; create database driftmon; print the export line
#   cluster.sh stop DIR     stop it (pg_ctl stop -m fast); no-op when not running
#   cluster.sh destroy DIR  stop it and remove DIR (only a DIR this script created)
#   cluster.sh env DIR      print the export line again
#   cluster.sh status DIR   exit 0 when running, 3 when not
#   cluster.sh reach DIR    exit 0 when the cluster's owner can reach DIR (the part of the
#                           path that exists); else print the directory in the way, exit 1
#   cluster.sh standby DIR PRIMARY
#                           a hot standby of the running cluster in PRIMARY: pg_basebackup -R
#                           (streaming replication, WAL streamed during the copy) into DIR,
#                           listening only on a Unix socket in DIR on its own port; start it
#                           and print its export line.  stop, start, destroy, env and status
#                           then work on DIR as on any cluster.
#
# Typical caller:
#   dir=$(mktemp -d /tmp/dm-pg.XXXXXX)
#   trap 'bash tests/pg/cluster.sh destroy "$dir"' EXIT
#   pg_env=$(bash tests/pg/cluster.sh start "$dir") && eval "$pg_env" || exit 1
# (not eval "$(...)": eval of the empty output of a failed start succeeds)
#
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the postgres user
# (runuser -u postgres --) and DIR is handed to it; otherwise as the current user, who then
# owns the cluster (no sudo needed).  As root, DIR must be reachable by postgres: not under
# a directory only its owner may enter, like root's home (mode 0700); start says which one.
# Binaries: $PGBIN, else /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin.
# Messages go to stderr; only the export line goes to stdout.
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { echo "usage: cluster.sh start|stop|destroy|env|status|reach DIR | cluster.sh standby DIR PRIMARY" >&2; exit 2; }

{ [ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = standby ]; }; } || usage
cmd=$1
# The path goes into postgresql.conf and a shell export line: keep it plain.
plain_dir() {
    local d=$1
    [ -n "$d" ] || usage
    case "$d" in
        /*) ;;
        *) d="$(pwd)/$d" ;;
    esac
    case "$d" in
        *[!A-Za-z0-9/._+-]*) die "unsupported characters in directory \"$d\" (use [A-Za-z0-9/._+-])" ;;
    esac
    echo "${d%/}"
}
dir=$(plain_dir "$2")
data=$dir/data
marker=$dir/.driftmon-cluster

find_bin() {
    if [ -n "${PGBIN:-}" ]; then
        [ -x "$PGBIN/pg_ctl" ] || die "PGBIN=$PGBIN has no pg_ctl"
        echo "$PGBIN"
        return
    fi
    if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
        echo /usr/lib/postgresql/15/bin
        return
    fi
    local b
    b=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [ -n "$b" ] && [ -x "$b/pg_ctl" ] ||
        die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    echo "$b"
}

# Run a command as the cluster's owner (as postgres from /, which it can always enter).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

need_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user (apt-get install postgresql)"
    fi
}

owner_name() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

# The first directory on the way to $1 that the cluster's owner cannot enter (none: exit 1).
unreachable_dir() {
    local p="" part parts
    IFS=/ read -ra parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        p="$p/$part"
        [ -d "$p" ] || return 1
        as_owner test -x "$p" || { echo "$p"; return 0; }
    done
    return 1
}

port_of() {
    [ -f "$dir/port" ] || die "\"$dir\" holds no cluster (no port file); run: cluster.sh start $dir"
    cat "$dir/port"
}

print_env() {
    local port
    port=$(port_of) || exit 1
    echo "export PGHOST=$dir PGPORT=$port PGDATABASE=driftmon PGUSER=postgres"
}

# A free port number: the socket file name is the only thing it names here.
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((5500 + RANDOM % 1000))
        if [ ! -e "$dir/.s.PGSQL.$p" ] && [ ! -e "$dir/.s.PGSQL.$p.lock" ] &&
            [ ! -e "/tmp/.s.PGSQL.$p" ] && [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ]; then
            echo "$p"
            return
        fi
    done
    die "no free port number found in 5500..6499"
}

# A new, empty DIR handed to the cluster's owner, with the marker destroy looks for.
make_dir() {
    if [ ! -d "$dir" ]; then
        mkdir -p "$(dirname "$dir")"
        mkdir -m 0700 "$dir"
    fi
    for f in "$dir"/* "$dir"/.[!.]*; do
        [ -e "$f" ] && [ "$f" != "$marker" ] && die "\"$dir\" is not empty and holds no cluster"
    done
    chmod 0700 "$dir"
    touch "$marker"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    if blocked=$(unreachable_dir "$dir"); then
        die "the $(owner_name) user cannot enter \"$blocked\" ($(stat -c '%A, owner %U' "$blocked")), so it cannot use \"$dir\"$( [ "$(id -u)" = 0 ] &&
            echo "; PostgreSQL refuses to run as root, so the server runs as postgres: put DIR where postgres can reach it (e.g. under /tmp)")"
    fi
    as_owner test -w "$dir" || die "\"$dir\" is not writable by $(owner_name)"
}

# Start the server of DIR (when not running) and wait until it accepts connections.
start_server() {
    local port
    port=$(port_of)
    if ! running; then
        as_owner "$BIN/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 start >/dev/null ||
            { tail -n 20 "$dir/log" >&2 || true; die "could not start the server (log: $dir/log)"; }
    fi
    for _ in $(seq 1 100); do
        "$BIN/pg_isready" -q -h "$dir" -p "$port" && break
        sleep 0.1
    done
    "$BIN/pg_isready" -q -h "$dir" -p "$port" || die "server in \"$dir\" does not accept connections (log: $dir/log)"
}

running() {
    [ -f "$data/postmaster.pid" ] || return 1
    as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

BIN=$(find_bin)

case "$cmd" in
start)
    need_owner
    if [ ! -f "$data/PG_VERSION" ]; then
        make_dir
        port=$(free_port)
        as_owner "$BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            --no-sync >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF

# cluster.sh: throwaway test cluster
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 64MB
CONF
        echo "$port" | as_owner tee "$dir/port" >/dev/null
    fi
    start_server
    port=$(port_of)
    if [ "$("$BIN/psql" -X -At -h "$dir" -p "$port" -U postgres -d postgres \
        -c "SELECT count(*) FROM pg_database WHERE datname = 'driftmon'")" = 0 ]; then
        "$BIN/createdb" -h "$dir" -p "$port" -U postgres driftmon ||
            die "could not create database driftmon"
    fi
    print_env
    ;;
standby)
    need_owner
    primary=$(plain_dir "$3")
    [ -f "$primary/port" ] || die "\"$primary\" holds no cluster (no port file)"
    [ -f "$data/PG_VERSION" ] && die "\"$dir\" holds a cluster already (start it with: cluster.sh start $dir)"
    make_dir
    port=$(free_port)
    # -R: standby.signal and primary_conninfo (the primary's socket) in postgresql.auto.conf;
    # the primary's pg_hba.conf (initdb) lets local connections replicate
    as_owner "$BIN/pg_basebackup" -h "$primary" -p "$(cat "$primary/port")" -U postgres \
        -D "$data" -R -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1 ||
        { cat "$dir/basebackup.log" >&2; die "pg_basebackup from \"$primary\" failed (log: $dir/basebackup.log)"; }
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF

# cluster.sh: hot standby of $primary
unix_socket_directories = '$dir'
port = $port
hot_standby = on
CONF
    echo "$port" | as_owner tee "$dir/port" >/dev/null
    start_server
    print_env
    ;;
stop)
    [ -d "$data" ] || exit 0
    if running; then
        as_owner "$BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
            die "could not stop the server in \"$dir\" (log: $dir/log)"
    fi
    ;;
destroy)
    [ -d "$dir" ] || exit 0
    [ -f "$marker" ] || die "\"$dir\" was not made by cluster.sh: not removing it"
    if [ -d "$data" ] && running; then
        as_owner "$BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
            die "could not stop the server in \"$dir\" (log: $dir/log)"
    fi
    rm -rf -- "$dir"
    ;;
env)
    print_env
    ;;
reach)
    need_owner
    if blocked=$(unreachable_dir "$dir"); then
        echo "$blocked"
        exit 1
    fi
    ;;
status)
    if running; then
        echo "running: $(print_env)"
        exit 0
    fi
    echo "not running: $dir"
    exit 3
    ;;
*)
    usage
    ;;
esac

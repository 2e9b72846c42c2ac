#!/usr/bin/env bash
# A throwaway PostgreSQL server for the history store's tests.
#
#   .ci/postgres.sh start [DIR]   init a cluster in DIR (default: a new temporary folder),
#                                 start it on 127.0.0.1 on a free port, create a database,
#                                 print its SQLAlchemy URL on the last line of stdout
#   .ci/postgres.sh stop DIR      stop the server started in DIR
#
# Idempotent: starting in a DIR whose server runs prints the same URL again; starting a
# stopped one again keeps its port when it is still free. Installs Debian's
# postgresql with apt-get when no initdb/pg_ctl is found. initdb refuses to run as root, so as
# root the cluster belongs to the "postgres" system user and commands run through runuser.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    local candidate
    candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ]; then
        echo "$candidate"
        return 0
    fi
    return 1
}

ensure_bindir() {
    if BINDIR=$(find_bindir); then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
        exit 1
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >&2
    BINDIR=$(find_bindir) || { log "postgresql installed but no pg_ctl found"; exit 1; }
}

# Run a PostgreSQL program as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

port_is_free() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
with socket.socket() as s:
    # as PostgreSQL does: the connections it closed may linger in TIME_WAIT
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}

url_of() {
    echo "postgresql+psycopg://deploycheck@127.0.0.1:$1/deploycheck"
}

start() {
    local dir=${1:-}
    ensure_bindir
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/deploycheck-pg.XXXXXX")
    fi
    mkdir -p "$dir"
    dir=$(readlink -f "$dir")
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
        chown postgres: "$dir"
    fi
    local data="$dir/data"
    if [ -f "$dir/port" ] && as_owner "$BINDIR/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        url_of "$(cat "$dir/port")"
        return 0
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        log "initdb in $data"
        as_owner "$BINDIR/initdb" -D "$data" -U deploycheck -A trust -E UTF8 --no-sync >/dev/null
    fi
    local port
    # A cluster started again keeps its port (and so its URL) while the port is free.
    if [ -f "$dir/port" ] && port_is_free "$(cat "$dir/port")"; then
        port=$(cat "$dir/port")
    else
        port=$(free_port)
    fi
    echo "$port" >"$dir/port"
    # fsync off: a test cluster that is thrown away needs speed, not durability.
    as_owner "$BINDIR/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    if ! as_owner "$BINDIR/psql" -h 127.0.0.1 -p "$port" -U deploycheck -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'deploycheck'" | grep -q 1; then
        as_owner "$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U deploycheck deploycheck
    fi
    log "running in $dir on port $port"
    url_of "$port"
}

stop() {
    local dir=${1:?usage: postgres.sh stop DIR}
    ensure_bindir
    if [ -f "$dir/data/PG_VERSION" ]; then
        as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

case "${1:-start}" in
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    *) log "usage: postgres.sh start [DIR] | stop DIR"; exit 2 ;;
esac

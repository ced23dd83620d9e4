#!/usr/bin/env bash
# A PostgreSQL for the tests: prints the URL to put in MISTRI_TEST_POSTGRES_URL.
#
#   export MISTRI_TEST_POSTGRES_URL="$(tools/pg.sh)" && python3 tools/uv.py run pytest
#
# Installs Debian's `postgresql` when it is missing (as root), makes a cluster of its own
# (`mistri-test`, never the machine's `main`) on a free port of localhost, starts it, and makes
# a role and a database for the tests; run again, it only starts what is stopped. The cluster
# is tuned for tests, not for data: no fsync, no synchronous commit (a crash may lose it all).
# `initdb` refuses to run as root, so as root Debian's wrappers run the server as `postgres`;
# as anyone else it is a plain `initdb` under .cache/postgres. Quiet: the URL on stdout, and
# on failure one line on stderr (exit 1).
#
#   tools/pg.sh stop     stops the cluster (the data stays; the next run starts it again)
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=mistri-test
ROLE=mistri_test
PASSWORD=mistri_test # a throw-away cluster on 127.0.0.1, for tests only
DATABASE=mistri_test
# Tests make and drop a database each; durability is not wanted here, speed is.
# (It listens on localhost, PostgreSQL's default.)
SETTINGS=(fsync=off synchronous_commit=off full_page_writes=off max_connections=200
    shared_buffers=64MB)

fail() {
    echo "tools/pg.sh: $*" >&2
    exit 1
}

as_root() { [ "$(id -u)" -eq 0 ]; }

newest_bin() {
    local bin
    bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

install() {
    as_root || fail "PostgreSQL is not installed; as root: apt-get install -y postgresql"
    command -v apt-get > /dev/null || fail "PostgreSQL is not installed and there is no apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq postgresql > /dev/null 2>&1 \
        || { apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq postgresql > /dev/null 2>&1; } \
        || fail "apt-get could not install postgresql"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# psql as the cluster's superuser, on stdin: quiet, stopping at the first error.
superuser_sql() {
    if as_root; then
        runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKETS" -p "$PORT" -d postgres
    else
        psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKETS" -p "$PORT" -d postgres
    fi
}

# Root: Debian's cluster, run by the postgres user (`pg_createcluster`, `pg_ctlcluster`).
debian_cluster() {
    local version conf
    version="$(basename "$(dirname "$BIN")")"
    SOCKETS=/var/run/postgresql
    if ! pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c { found = 1 } END { exit !found }'; then
        local options=()
        for setting in "${SETTINGS[@]}"; do options+=(-o "$setting"); done
        pg_createcluster -q -p "$(free_port)" "${options[@]}" "$version" "$CLUSTER" \
            -- --auth-local=peer --auth-host=scram-sha-256 > /dev/null \
            || fail "pg_createcluster failed"
    fi
    conf="/etc/postgresql/$version/$CLUSTER/postgresql.conf"
    PORT="$(sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$conf")"
    if ! pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c && $4 == "online" { up = 1 } END { exit !up }'; then
        pg_ctlcluster "$version" "$CLUSTER" start > /dev/null 2>&1 \
            || fail "the cluster did not start; see /var/log/postgresql/postgresql-$version-$CLUSTER.log"
    fi
}

# Anyone else: a plain initdb in the project's cache, run by this user.
user_cluster() {
    local data="$PWD/.cache/postgres"
    SOCKETS="$data"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        "$BIN/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            > /dev/null || fail "initdb failed in $data"
        { for setting in "${SETTINGS[@]}"; do echo "$setting"; done
          echo "port = $(free_port)"
          echo "unix_socket_directories = '$data'"; } >> "$data/postgresql.conf"
    fi
    PORT="$(sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1)"
    if ! "$BIN/pg_ctl" -D "$data" status > /dev/null 2>&1; then
        "$BIN/pg_ctl" -D "$data" -l "$data/server.log" -w start > /dev/null \
            || fail "the cluster did not start; see $data/server.log"
    fi
    export PGUSER=postgres
}

BIN="$(newest_bin || true)"
if [ -z "$BIN" ]; then
    install
    BIN="$(newest_bin)" || fail "postgresql is installed but its programs are not found"
fi

if [ "${1:-}" = stop ]; then
    if as_root; then
        pg_ctlcluster "$(basename "$(dirname "$BIN")")" "$CLUSTER" stop > /dev/null 2>&1 || true
    else
        "$BIN/pg_ctl" -D "$PWD/.cache/postgres" -w stop > /dev/null 2>&1 || true
    fi
    exit 0
fi

if as_root; then debian_cluster; else user_cluster; fi

# The role may create databases: the tests make one per test from a migrated template.
superuser_sql << SQL || fail "could not create the role and database"
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$ROLE', '$PASSWORD')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$DATABASE', '$ROLE')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE') \gexec
SQL

echo "postgresql+asyncpg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"

#!/usr/bin/env bash
# A throwaway PostgreSQL for the test suite, on loopback only.
#
#   scripts/pg-test-server.sh start   # prints the admin URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg-test-server.sh stop
#
# Data lives in $IDFED_PG_DIR (default /tmp/idfed-pg) and is recreated at every start. fsync is
# off: this server holds test data only. Tests create one database each on it.
set -euo pipefail
port=${IDFED_PG_PORT:-54329}
dir=${IDFED_PG_DIR:-/tmp/idfed-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
url="postgres://postgres@127.0.0.1:$port/postgres"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case ${1:-start} in
  start)
    if "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then echo "$url"; exit 0; fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "$url"
    ;;
  stop)
    [ -d "$dir/data" ] && as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks: loopback only, a free port, a temporary directory.
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # starts it and prints `export MOA_TEST_PG_URL=...` and its directory
#   npm test                                      # the PostgreSQL tests run because MOA_TEST_PG_URL is set
#   scripts/pg-test-cluster.sh stop               # stops it and deletes its directory (MOA_TEST_PG_DIR, or the argument)
#
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root); otherwise as you.
# Passwords are checked on TCP (scram-sha-256): the tests need a wrong password to be refused.
set -euo pipefail

find_bin() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ]; then echo "pg-test-cluster: no PostgreSQL found (install Debian's postgresql, or put pg_ctl on PATH)" >&2; exit 1; fi
  echo "$d"
}

# Run a command as the cluster's owner.
as_owner() {
  # From /: the postgres user may not be allowed into the caller's directory (pg_ctl would say so last, after the tests).
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  local bin dir port password
  bin=$(find_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/moa-pg-XXXXXX")
  chmod 755 "$dir"
  password=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
  printf '%s\n' "$password" > "$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port=$(free_port)
  # fsync off: a test cluster trades durability for speed. Unix socket in the cluster's own directory.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "export MOA_TEST_PG_URL=postgres://postgres:$password@127.0.0.1:$port/postgres"
  echo "export MOA_TEST_PG_DIR=$dir"
}

stop() {
  local dir="${1:-${MOA_TEST_PG_DIR:-}}"
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then echo "pg-test-cluster: no cluster directory (pass it, or set MOA_TEST_PG_DIR)" >&2; exit 1; fi
  as_owner "$(find_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) shift; stop "${1:-}" ;;
  *) echo "usage: $0 start | stop [dir]" >&2; exit 2 ;;
esac

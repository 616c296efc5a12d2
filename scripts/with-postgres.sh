#!/usr/bin/env bash
# Runs a command beside a real PostgreSQL that this script starts in a temporary directory and
# removes afterwards, with TEEKA_TEST_POSTGRES_URL pointing at it. Works on a fresh machine:
# installs the PostgreSQL server packages when they are missing (needs root or sudo for that
# step only). Used by scripts/test.sh, and by hand for the PostgreSQL benchmarks:
#   TEEKA_PG_DURABLE=1 scripts/with-postgres.sh sh -c 'target/release/teeka bench booking --database-url "$TEEKA_TEST_POSTGRES_URL"'
set -euo pipefail
cd "$(dirname "$0")/.."

find_pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

PG_BIN=$(find_pg_bin || true)
if [ -z "$PG_BIN" ]; then
  echo "== PostgreSQL server not found; installing it"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(find_pg_bin)
fi

# Tests need no durability; a benchmark that compares with SQLite does (TEEKA_PG_DURABLE=1).
DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${TEEKA_PG_DURABLE:-0}" = "1" ] && DURABILITY=""

PG_DIR=$(mktemp -d /tmp/teeka-pg.XXXXXX)
# initdb refuses to run as root: run the cluster as an unprivileged user.
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
  PG_USER=postgres
  id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_USER"
  chown "$PG_USER" "$PG_DIR"
  RUN_AS=(runuser -u "$PG_USER" --)
fi

PG_PORT=""
for port in $(seq 54329 54399); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then PG_PORT=$port; break; fi
done
[ -n "$PG_PORT" ] || { echo "no free port for PostgreSQL"; exit 1; }

cleanup() {
  "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT

echo "== Starting a throwaway PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$PG_PORT"
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U teeka -A trust --no-sync -E UTF8 >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 $DURABILITY" \
  start >/dev/null

export TEEKA_TEST_POSTGRES_URL="postgres://teeka@127.0.0.1:$PG_PORT/postgres"
export TEEKA_PG_BIN="$PG_BIN"
export TEEKA_REQUIRE_POSTGRES=1

"$@"

#!/usr/bin/env bash
# Run a command with WRITEBACK_TEST_POSTGRES_URL pointing at a working PostgreSQL database.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# - WRITEBACK_TEST_POSTGRES_URL already set: run CMD as is (use your own server).
# - PostgreSQL server binaries installed (Debian's /usr/lib/postgresql/*/bin, or initdb on
#   PATH): start a throwaway cluster in a temp dir on a free 127.0.0.1 port with trust auth,
#   create database writeback_test, run CMD, then always stop the server and delete the dir.
# - Neither: say that PostgreSQL tests will be skipped and run CMD without the variable;
#   with WRITEBACK_REQUIRE_POSTGRES=1 fail instead.
#
# Exits with CMD's exit code.
set -euo pipefail

readonly DB_NAME=writeback_test
readonly DB_USER=postgres

log() { echo "with-postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -gt 0 ]] || die "usage: scripts/with-postgres.sh CMD [ARGS...]"

if [[ -n "${WRITEBACK_TEST_POSTGRES_URL:-}" ]]; then
  exec "$@"
fi

find_bindir() {
  # Highest Debian-packaged major version first; then whatever initdb is on PATH.
  local initdb
  initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  if [[ -x "$initdb" ]]; then
    dirname "$initdb"
  elif initdb=$(command -v initdb 2>/dev/null); then
    dirname "$initdb"
  fi
  return 0
}

BINDIR=$(find_bindir)
if [[ -z "$BINDIR" ]]; then
  if [[ "${WRITEBACK_REQUIRE_POSTGRES:-}" == 1 ]]; then
    die "WRITEBACK_REQUIRE_POSTGRES=1 but no PostgreSQL server is installed" \
      "(no /usr/lib/postgresql/*/bin/initdb); install it: apt-get install postgresql"
  fi
  log "PostgreSQL not installed; PostgreSQL tests will be reported as skipped" \
    "(install it with: apt-get install postgresql)"
  exec "$@"
fi

# initdb and postgres refuse to run as root, so as root the server runs as the `postgres`
# system user that Debian's package creates.
as_server_user=()
if [[ $(id -u) -eq 0 ]]; then
  id -u "$DB_USER" >/dev/null 2>&1 \
    || die "running as root, but there is no '$DB_USER' system user to run the server as"
  as_server_user=(runuser -u "$DB_USER" --)
fi

# As root use /tmp: a custom TMPDIR (e.g. under /root) may not be reachable by `postgres`.
tmp_base=${TMPDIR:-/tmp}
[[ ${#as_server_user[@]} -eq 0 ]] || tmp_base=/tmp
PGTMP=$(mktemp -d "$tmp_base/writeback-pg.XXXXXX")
PGDATA_DIR="$PGTMP/data"
PGLOG="$PGTMP/server.log"  # written by the server user, so not created here
SETUP_LOG="$PGTMP/setup.log"

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  # postmaster.pid exists from the moment a server starts, even a half-started one.
  if [[ -e "$PGDATA_DIR/postmaster.pid" ]]; then
    # Immediate mode: the data is thrown away, so skip the shutdown checkpoint.
    (cd "$PGTMP" && "${as_server_user[@]}" "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -m immediate \
      -w stop >/dev/null 2>&1) || log "warning: could not stop the server in $PGTMP"
  fi
  rm -rf "$PGTMP"
}
trap cleanup EXIT
# Until CMD runs, turn signals into a normal exit so the EXIT trap always runs.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ ${#as_server_user[@]} -gt 0 ]]; then
  chown "$DB_USER:" "$PGTMP"
fi
chmod 700 "$PGTMP"

# Run as the server user from inside the temp dir: the caller's cwd (e.g. /root) may not be
# readable by that user, which makes initdb and pg_ctl complain.
server() { (cd "$PGTMP" && "${as_server_user[@]}" "$@"); }

free_port() {
  local py
  py=$(command -v python3 || command -v python) || die "python3 is needed to pick a free port"
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server "$BINDIR/initdb" -D "$PGDATA_DIR" -U "$DB_USER" --auth=trust --encoding=UTF8 \
  --locale=C --no-sync >"$SETUP_LOG" 2>&1 || { cat "$SETUP_LOG" >&2; die "initdb failed"; }

# A port picked this way can be taken before the server binds it; retry a few times.
port=
started=0
for _attempt in 1 2 3; do
  port=$(free_port)
  # fsync etc. off: durability is pointless for a throwaway test database.
  opts="-c listen_addresses=127.0.0.1 -p $port -k $PGTMP -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  if server "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -o "$opts" -w -t 30 start \
    >>"$SETUP_LOG" 2>&1; then
    started=1
    break
  fi
  # pg_ctl may have left a half-started server behind; make sure it is gone before retrying.
  server "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
done
show_logs() { tail -n 30 "$SETUP_LOG" "$PGLOG" >&2 2>/dev/null || true; }
[[ $started == 1 ]] || { show_logs; die "PostgreSQL did not start"; }

for _ in $(seq 1 100); do
  "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" && break
  sleep 0.1
done
"$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" \
  || { show_logs; die "PostgreSQL is not accepting connections"; }

"$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME" \
  || die "could not create database $DB_NAME"

export WRITEBACK_TEST_POSTGRES_URL="postgresql+asyncpg://$DB_USER@127.0.0.1:$port/$DB_NAME"
log "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') ready at" \
  "$WRITEBACK_TEST_POSTGRES_URL"

# Not exec: the server must be stopped after CMD. CMD runs in the background so that a TERM
# or HUP sent to this script reaches it at once (bash defers traps while a foreground child
# runs); `<&0` keeps the caller's stdin, which bash would otherwise replace with /dev/null.
# Ctrl-C already goes to CMD through the terminal, so INT just waits for CMD to finish.
child=
# shellcheck disable=SC2317  # called from traps
forward() { [[ -z "$child" ]] || kill -"$1" "$child" 2>/dev/null || true; }
trap 'forward TERM' TERM
trap 'forward HUP' HUP
trap ':' INT
set +e
if { : <&0; } 2>/dev/null; then
  "$@" <&0 &
else
  "$@" & # stdin is closed (CI): nothing to pass on
fi
child=$!
# wait also returns (>128) when a trapped signal arrives: keep waiting while CMD lives, then
# wait once more, which gives CMD's own saved exit status.
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
done
wait "$child"
exit $?

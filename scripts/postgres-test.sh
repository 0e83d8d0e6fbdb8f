#!/usr/bin/env bash
# postgres-test.sh start|stop|dsn — a throwaway PostgreSQL cluster for the
# store contract tests (pgstore). It listens on 127.0.0.1 only, in a
# temporary directory, with a random password, and creates the database
# vigil_test. "start" says where it listens, not the password (its output
# lands in logs); "dsn" prints the DSN, password included, for
# VIGIL_TEST_POSTGRES:
#
#   scripts/postgres-test.sh start
#   export VIGIL_TEST_POSTGRES="$(scripts/postgres-test.sh dsn)"
#   go test ./internal/store/pgstore/
#   scripts/postgres-test.sh stop
#
# Works as root (the server runs as the postgres user, as it must) and as an
# ordinary user. Needs Debian's postgresql package:
#   apt-get install -y postgresql
# Environment: VIGIL_PG_DIR (state directory, default
# ${TMPDIR:-/tmp}/vigil-postgres-test), VIGIL_PG_PORT (first port tried,
# default 55432).
set -euo pipefail

dir="${VIGIL_PG_DIR:-${TMPDIR:-/tmp}/vigil-postgres-test}"
data="$dir/data"
first_port="${VIGIL_PG_PORT:-55432}"

die() { echo "postgres-test: $*" >&2; exit 1; }

bindir() {
	local d
	# The newest installed major version.
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
	if [[ -z "$d" || ! -x "$d/initdb" ]]; then
		d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
	fi
	[[ -x "$d/initdb" ]] || die "PostgreSQL server binaries not found; install them with: apt-get install -y postgresql"
	echo "$d"
}

# as_owner runs a command as the cluster's owner: postgres when we are root
# (initdb and postgres refuse to run as root), else ourselves.
as_owner() {
	if [[ "$(id -u)" == 0 ]]; then
		if command -v runuser >/dev/null; then
			runuser -u postgres -- "$@"
		else
			su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
		fi
	else
		"$@"
	fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dsn() {
	[[ -f "$dir/dsn" ]] || die "no cluster in $dir; run: $0 start"
	cat "$dir/dsn"
}

running() {
	[[ -f "$data/postmaster.pid" ]] && as_owner "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
	local bin port password
	bin="$(bindir)"
	if running; then
		started
		return
	fi
	# Refuse to wipe a directory this script did not make.
	if [[ -d "$dir" && -n "$(ls -A "$dir")" && ! -e "$dir/data" && ! -e "$dir/dsn" ]]; then
		die "$dir exists and is not a cluster made by this script"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [[ "$(id -u)" == 0 ]]; then
		getent passwd postgres >/dev/null || die "user postgres missing (it comes with the postgresql package)"
		chown postgres: "$dir"
	fi
	password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
	printf '%s\n' "$password" >"$dir/pwfile"
	[[ "$(id -u)" == 0 ]] && chown postgres: "$dir/pwfile"
	as_owner "$bin/initdb" -D "$data" -U vigil --pwfile="$dir/pwfile" --auth=scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	rm -f "$dir/pwfile"

	port="$first_port"
	while port_in_use "$port"; do
		port=$((port + 1))
		((port < first_port + 100)) || die "no free port from $first_port"
	done
	as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; die "server did not start"; }

	PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U vigil vigil_test ||
		die "createdb vigil_test failed"
	printf 'postgres://vigil:%s@127.0.0.1:%s/vigil_test?sslmode=disable\n' "$password" "$port" >"$dir/dsn"
	started
}

# started says where the cluster listens, with the DSN's password left out.
started() {
	echo "postgres-test: running: $(dsn | sed 's|^\(postgres://[^:]*:\)[^@]*@|\1****@|') (the DSN: $0 dsn)"
}

stop() {
	if running; then
		as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
dsn) dsn ;;
*) echo "usage: $0 start|stop|dsn" >&2; exit 2 ;;
esac

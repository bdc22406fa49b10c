#!/bin/bash
# Entrypoint of the image built by scripts/build-postgres-image.sh.
#
# It mirrors the parts of the official postgres image's docker-entrypoint.sh that
# querylab and testcontainers rely on, so the image is a drop-in for `postgres:NN`:
#   - POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#     POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default $POSTGRES_USER),
#     POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256);
#   - initdb on first start, as the postgres user (the container starts as root and
#     drops privileges with setpriv, as the official image does with gosu);
#   - *.sql and *.sh files in /docker-entrypoint-initdb.d run once after initdb
#     (testcontainers' Postgres::with_init_sql copies files there);
#   - listens on 0.0.0.0:5432, password auth for every non-local connection;
#   - `docker run IMAGE -c fsync=off ...`: arguments starting with '-' go to postgres;
#   - readiness: during init a temporary server (unix socket only) is started with
#     pg_ctl, whose log goes to stdout, then the real server logs to stderr. Both print
#     "database system is ready to accept connections", which is exactly what
#     testcontainers-modules' Postgres waits for (once on stderr, once on stdout).
set -Eeuo pipefail

# `IMAGE -c x=y` means `IMAGE postgres -c x=y`, as in the official image.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = '0' ]; then
	# Root only prepares directories, then re-runs this script as postgres.
	mkdir -p "$PGDATA" /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 2777 /var/run/postgresql
	export HOME=/var/lib/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
: "${POSTGRES_INITDB_ARGS:=}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD to a non-empty value for the superuser, or
			       POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a
			       password (not recommended).
		EOM
		exit 1
	fi

	# The password goes through a pipe, never on a command line (visible in ps).
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list by design.
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
		$POSTGRES_INITDB_ARGS

	# Local (socket) connections stay trusted as in the official image; every TCP
	# connection from outside must authenticate.
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

	# Temporary server for the init steps: unix socket only, so nobody connects from
	# outside before initialisation is complete; it gets the same extra settings as
	# the real server (e.g. fsync=off), as in the official image. pg_ctl sends its
	# log to stdout.
	pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${@:2}" -c listen_addresses='' -p 5432)" -w start

	psql_init=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi

	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) echo "$0: running $f"; . "$f" ;;
			*.sql) echo "$0: running $f"; "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
			*.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${psql_init[@]}" --dbname "$POSTGRES_DB" ;;
			*) echo "$0: ignoring $f" ;;
		esac
	done
	shopt -u nullglob

	pg_ctl -D "$PGDATA" -m fast -w stop
	echo
	echo 'PostgreSQL init process complete; ready for start up.'
	echo
fi

exec "$@"

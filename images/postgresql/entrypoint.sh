#!/bin/sh
# Starts PostgreSQL on PGDATA, initialising it on first start as the official image does:
# a superuser POSTGRES_USER (default postgres) with POSTGRES_PASSWORD, the database
# POSTGRES_DB (default the user's name), then each /docker-entrypoint-initdb.d/*.sql in
# order. Clients on the network authenticate with scram-sha-256; the local socket trusts.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "PGDATA ($PGDATA) is empty and POSTGRES_PASSWORD is not set: set it to initialise" \
      "the database." >&2
    exit 1
  fi
  echo "Initialising $PGDATA for user $POSTGRES_USER and database $POSTGRES_DB ..."
  password=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$password"
  initdb --username="$POSTGRES_USER" --pwfile="$password" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 > /dev/null
  rm "$password"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # Listening on the socket only while it is set up, so nothing connects half-way.
  pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
  run_sql() { psql --quiet --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    run_sql --dbname=postgres --set=db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
  fi
  for script in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$script" ] || continue
    echo "Running $script"
    run_sql --dbname="$POSTGRES_DB" --file="$script"
  done
  pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
fi
exec postgres -c listen_addresses='*'

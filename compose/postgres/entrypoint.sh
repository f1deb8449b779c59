#!/bin/sh
# PostgreSQL for compose. On the first start it creates the cluster, sets the superuser's password
# and creates one role + database per MovR service, each with the SCRAM-SHA-256 verifier from
# /run/movr/roles/<role>.scram (written by compose/setup.sh; the passwords themselves never enter
# this container). Network logins: TLS only (hostssl), SCRAM only.
set -eu
secrets=/run/movr
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" --username=postgres --auth-local=peer --auth-host=reject --encoding=UTF8 --locale=C >/dev/null
  cat > "$PGDATA/pg_hba.conf" <<HBA
# type  database user     address    method
local   all      postgres            peer
hostssl all      all      0.0.0.0/0  scram-sha-256
hostssl all      all      ::/0       scram-sha-256
HBA
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  for file in "$secrets"/roles/*.scram; do
    role=$(basename "$file" .scram)
    verifier=$(cat "$file")
    if [ "$role" = postgres ]; then
      psql -q -v ON_ERROR_STOP=1 -U postgres -d postgres -v verifier="$verifier" <<'SQL'
ALTER ROLE postgres PASSWORD :'verifier';
SQL
    else
      psql -q -v ON_ERROR_STOP=1 -U postgres -d postgres -v role="$role" -v verifier="$verifier" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'verifier';
CREATE DATABASE :"role" OWNER :"role" ENCODING 'UTF8';
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"role" TO :"role";
SQL
    fi
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "movr-postgres: cluster initialised"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c max_connections=200 \
  -c password_encryption=scram-sha-256 -c ssl=on -c ssl_min_protocol_version=TLSv1.2 \
  -c ssl_cert_file="$secrets/postgres.pem" -c ssl_key_file="$secrets/postgres.key" \
  -c unix_socket_directories=/var/run/postgresql

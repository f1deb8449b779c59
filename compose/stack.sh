#!/usr/bin/env bash
# The composed MovR stack under podman (docs/operations.md, "Containers"):
#   compose/stack.sh up [multi|single]   build missing images, create secrets, start, wait, print the URL
#   compose/stack.sh down                stop and remove containers, networks, volumes and the API socket
#   compose/stack.sh setup [multi|single] only the secrets (for Docker: then docker-compose up -d)
#   compose/stack.sh setup cockroach     the secrets of compose/cockroach-multi-region.yml (validated
#                                        only: no CockroachDB image can be obtained here; `up` refuses it)
#   compose/stack.sh cockroach-certs     only CockroachDB's certificates (needs openssl, not movr)
#   compose/stack.sh distribute DIR      copy certificates from DIR (a `movr certs` directory, or the
#                                        stages of a rotation) into every container's own directory
# State lives in $MOVR_COMPOSE_DIR (default .movr-compose/): pki/ (the CA and every certificate;
# never mounted), secrets/ (database passwords, 0600), run/<container>/ (what one container
# mounts at /run/movr: its own key only, 0600, owned by the uid it runs as), stack.json, and for
# the CockroachDB file cockroach-pki/ (CockroachDB's CA and every node and client certificate;
# never mounted).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/compose/podman/containers.conf}"
state="${MOVR_COMPOSE_DIR:-$root/.movr-compose}"
project="${MOVR_COMPOSE_PROJECT:-movr}"
movr="$root/.build/release/movr"
regions=(us-east1 us-central1 us-west1 europe-west1)
services=(users vehicles rides)
# uids of the images (compose/Dockerfile, compose/postgres/Dockerfile, compose/lb/Dockerfile;
# cockroachdb/cockroach runs as root)
movr_uid=10001 postgres_uid=10002 lb_uid=10003 cockroach_uid=0
# compose/cockroach-multi-region.yml: three database regions of three nodes, one per zone.
roach_regions=(us-east1 us-west1 europe-west1)
roach_zones=(a b c)

mode_file="$state/mode"
mode() { cat "$mode_file" 2>/dev/null || echo multi; }
compose_file() {
  case "$(mode)" in
    single) echo compose/single-region.yml ;;
    cockroach) echo compose/cockroach-multi-region.yml ;;
    *) echo compose/multi-region.yml ;;
  esac
}

export DOCKER_HOST="unix://$state/podman.sock"
export MOVR_RUN_DIR="$state/run"
dc() { docker-compose --no-ansi -p "$project" -f "$(compose_file)" "$@"; }

# The Docker-compatible API that docker-compose talks to, started once per stack.
start_api() {
  if [ -S "$state/podman.sock" ] && curl -sf --unix-socket "$state/podman.sock" http://d/_ping >/dev/null; then return; fi
  rm -f "$state/podman.sock"
  setsid podman system service --time=0 "unix://$state/podman.sock" >"$state/podman-service.log" 2>&1 &
  echo $! > "$state/podman-service.pid"
  for _ in $(seq 50); do
    curl -sf --unix-socket "$state/podman.sock" http://d/_ping >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "podman system service did not start; see $state/podman-service.log" >&2; exit 1
}

stop_api() {
  if [ -f "$state/podman-service.pid" ]; then
    kill "$(cat "$state/podman-service.pid")" 2>/dev/null || true
    rm -f "$state/podman-service.pid" "$state/podman.sock"
  fi
}

# Names of the MovR containers of the current mode: "<identity> <container>".
containers() {
  if [ "$(mode)" = single ]; then
    for identity in gateway "${services[@]}"; do echo "$identity $identity"; done
  else
    for region in "${regions[@]}"; do
      for identity in gateway "${services[@]}"; do echo "$identity $identity-$region"; done
    done
  fi
}

# Installs $1 as $3 (mode $4, owner $5) atomically: a reloading reader never sees half a file.
put() {
  local source=$1 directory=$2 name=$3 perm=$4 owner=$5
  local temporary="$directory/.$name.tmp"
  cp "$source" "$temporary" && chmod "$perm" "$temporary" && chown "$owner" "$temporary" && mv -f "$temporary" "$directory/$name"
}

container_dir() {
  local directory="$state/run/$1" owner=$2
  mkdir -p "$directory" && chmod 0700 "$directory" && chown "$owner" "$directory"
  echo "$directory"
}

# Certificates from $1 into each container's directory: its own identity's key and certificate
# and the CA certificate (bundle); never ca.key, never another identity's key.
distribute() {
  local pki=$1 identity name directory
  while read -r identity name; do
    directory=$(container_dir "$name" "$movr_uid:$movr_uid")
    put "$pki/ca.pem" "$directory" ca.pem 0644 "$movr_uid:$movr_uid"
    put "$pki/$identity.pem" "$directory" "$identity.pem" 0644 "$movr_uid:$movr_uid"
    put "$pki/$identity.key" "$directory" "$identity.key" 0600 "$movr_uid:$movr_uid"
    if [ "$identity" = gateway ]; then
      put "$pki/public.pem" "$directory" public.pem 0644 "$movr_uid:$movr_uid"
      put "$pki/public.key" "$directory" public.key 0600 "$movr_uid:$movr_uid"
    fi
  done < <(containers)
  if [ "$(mode)" != cockroach ]; then
    directory=$(container_dir postgres "$postgres_uid:$postgres_uid")
    put "$pki/postgres.pem" "$directory" postgres.pem 0644 "$postgres_uid:$postgres_uid"
    put "$pki/postgres.key" "$directory" postgres.key 0600 "$postgres_uid:$postgres_uid"
  fi
  if [ "$(mode)" != single ]; then
    directory=$(container_dir lb "$lb_uid:$lb_uid")
    cat "$pki/public.pem" "$pki/public.key" > "$state/lb.pem.tmp"
    put "$state/lb.pem.tmp" "$directory" lb.pem 0600 "$lb_uid:$lb_uid"
    rm -f "$state/lb.pem.tmp"
    put "$pki/ca.pem" "$directory" ca.pem 0644 "$lb_uid:$lb_uid"
  fi
}

# SCRAM-SHA-256 verifier of a password (what PostgreSQL stores), so only verifiers reach the
# database container.
scram() {
  python3 - "$1" <<'PY'
import base64, hashlib, hmac, os, sys
password = open(sys.argv[1], "rb").read().strip()
salt, iterations = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
b64 = lambda data: base64.b64encode(data).decode()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")
PY
}

# CockroachDB's secure mode: its own CA (RSA 2048, as `cockroach cert` makes), per node a
# certificate with CN=node, SAN its service name, localhost and 127.0.0.1, usable as server and
# as client (nodes dial each other); per SQL user (root, each service role) a client certificate
# with CN=<user>. Every certificate is checked with `openssl verify` against the CA. Files use
# CockroachDB's names (ca.crt, node.crt/.key, client.<user>.crt/.key) in each container's own
# directory; ca.key never leaves cockroach-pki/.
roach_nodes() { local region zone; for region in "${roach_regions[@]}"; do for zone in "${roach_zones[@]}"; do echo "roach-$region-$zone"; done; done; }

roach_issue() {
  local pki=$1 base=$2 subject=$3 extensions=$4
  if [ ! -s "$pki/$base.crt" ]; then
    (umask 077; openssl genrsa -out "$pki/$base.key" 2048 2>/dev/null)
    openssl req -new -key "$pki/$base.key" -subj "/O=MovR/CN=$subject" -out "$pki/$base.csr"
    printf '%b\n' "$extensions" > "$pki/$base.ext"
    openssl x509 -req -in "$pki/$base.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 825 -sha256 \
      -extfile "$pki/$base.ext" -out "$pki/$base.crt" 2>/dev/null
    rm -f "$pki/$base.csr" "$pki/$base.ext"
  fi
  openssl verify -CAfile "$pki/ca.crt" "$pki/$base.crt" >/dev/null
}

cockroach_certs() {
  local pki="$state/cockroach-pki" node user identity name directory
  mkdir -p "$pki" "$state/run" && chmod 0700 "$state" "$pki"
  if [ ! -s "$pki/ca.crt" ]; then
    (umask 077; openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null)
    openssl req -new -x509 -key "$pki/ca.key" -subj "/O=MovR/CN=MovR CockroachDB CA" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$pki/ca.crt"
  fi
  local leaf="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment"
  while read -r node; do
    roach_issue "$pki" "node.$node" node "$leaf\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:$node,DNS:localhost,IP:127.0.0.1"
  done < <(roach_nodes)
  for user in root movr_users movr_vehicles movr_rides; do
    roach_issue "$pki" "client.$user" "$user" "$leaf\nextendedKeyUsage=clientAuth"
  done
  while read -r node; do
    directory=$(container_dir "$node" "$cockroach_uid:$cockroach_uid")
    put "$pki/ca.crt" "$directory" ca.crt 0644 "$cockroach_uid:$cockroach_uid"
    put "$pki/node.$node.crt" "$directory" node.crt 0644 "$cockroach_uid:$cockroach_uid"
    put "$pki/node.$node.key" "$directory" node.key 0600 "$cockroach_uid:$cockroach_uid"
  done < <(roach_nodes)
  # roach-init runs `cockroach init` as root; migrate connects as root, then as each role.
  directory=$(container_dir roach-init "$cockroach_uid:$cockroach_uid")
  put "$pki/ca.crt" "$directory" ca.crt 0644 "$cockroach_uid:$cockroach_uid"
  put "$pki/client.root.crt" "$directory" client.root.crt 0644 "$cockroach_uid:$cockroach_uid"
  put "$pki/client.root.key" "$directory" client.root.key 0600 "$cockroach_uid:$cockroach_uid"
  directory=$(container_dir migrate "$movr_uid:$movr_uid")
  put "$pki/ca.crt" "$directory" ca.crt 0644 "$movr_uid:$movr_uid"
  for user in root movr_users movr_vehicles movr_rides; do
    put "$pki/client.$user.crt" "$directory" "client.$user.crt" 0644 "$movr_uid:$movr_uid"
    put "$pki/client.$user.key" "$directory" "client.$user.key" 0600 "$movr_uid:$movr_uid"
  done
  # Each service container: its own role's client certificate only.
  for region in "${regions[@]}"; do
    for identity in "${services[@]}"; do
      name="$identity-$region" user="movr_$identity"
      directory=$(container_dir "$name" "$movr_uid:$movr_uid")
      put "$pki/ca.crt" "$directory" ca.crt 0644 "$movr_uid:$movr_uid"
      put "$pki/client.$user.crt" "$directory" "client.$user.crt" 0644 "$movr_uid:$movr_uid"
      put "$pki/client.$user.key" "$directory" "client.$user.key" 0600 "$movr_uid:$movr_uid"
    done
  done
}

setup() {
  mkdir -p "$state/secrets" "$state/run" && chmod 0700 "$state" "$state/secrets"
  local names=(--postgres-name postgres --public-name gateway)
  for region in "${regions[@]}"; do names+=(--public-name "gateway-$region"); done
  "$movr" certs --dir "$state/pki" "${names[@]}" >/dev/null
  if [ "$(mode)" = cockroach ]; then
    distribute "$state/pki"
    cockroach_certs
    return
  fi
  # One password per database role, generated once, kept 0600 by the operator.
  local role directory
  for role in postgres movr_users movr_vehicles movr_rides; do
    [ -s "$state/secrets/$role.password" ] || (umask 077; openssl rand -hex 24 > "$state/secrets/$role.password")
  done
  directory=$(container_dir postgres "$postgres_uid:$postgres_uid")
  mkdir -p "$directory/roles" && chown "$postgres_uid:$postgres_uid" "$directory/roles" && chmod 0700 "$directory/roles"
  for role in postgres movr_users movr_vehicles movr_rides; do
    [ -s "$directory/roles/$role.scram" ] && continue
    scram "$state/secrets/$role.password" > "$state/scram.tmp"
    put "$state/scram.tmp" "$directory/roles" "$role.scram" 0600 "$postgres_uid:$postgres_uid"
  done
  rm -f "$state/scram.tmp"
  distribute "$state/pki"
  # Each service container: a pgpass with its own role's password only.
  local identity name
  while read -r identity name; do
    [ "$identity" = gateway ] && continue
    printf 'postgres:5432:movr_%s:movr_%s:%s\n' "$identity" "$identity" "$(cat "$state/secrets/movr_$identity.password")" > "$state/pgpass.tmp"
    put "$state/pgpass.tmp" "$state/run/$name" pgpass 0600 "$movr_uid:$movr_uid"
  done < <(containers)
  rm -f "$state/pgpass.tmp"
}

published() { podman port "${project}_$1_1" "$2" 2>/dev/null | head -1 | sed 's/.*://'; }

# stack.json for tools and tests on this host: the load balancer for every region, the primary
# region's internal services and PostgreSQL on their published 127.0.0.1 ports.
write_stack_file() {
  local lb_url primary_prefix users vehicles rides pg
  if [ "$(mode)" = single ]; then
    lb_url="https://127.0.0.1:$(published gateway 8443)"; primary_prefix=""
  else
    lb_url="https://127.0.0.1:$(published lb 8443)"; primary_prefix="-us-east1"
  fi
  users=$(published "users$primary_prefix" 9441); vehicles=$(published "vehicles$primary_prefix" 9442)
  rides=$(published "rides$primary_prefix" 9443); pg=$(published postgres 5432)
  python3 - "$state" "$lb_url" "$users" "$vehicles" "$rides" "$pg" "$(mode)" <<'PY'
import json, os, sys
state, lb, users, vehicles, rides, pg, mode = sys.argv[1:]
password = open(f"{state}/secrets/postgres.password").read().strip()
regions = ["us-east1"] if mode == "single" else ["us-east1", "us-central1", "us-west1", "europe-west1"]
endpoints = {region: {"gateway": lb} for region in regions}
endpoints["us-east1"].update(users=f"https://127.0.0.1:{users}", vehicles=f"https://127.0.0.1:{vehicles}",
                             rides=f"https://127.0.0.1:{rides}")
stack = {"ca": f"{state}/pki/ca.pem", "client_cert": f"{state}/pki/operator.pem", "client_key": f"{state}/pki/operator.key",
         "database_url": f"postgresql://postgres:{password}@127.0.0.1:{pg}/postgres?sslmode=verify-full&sslrootcert={state}/pki/ca.pem",
         "primary_region": "us-east1", "regions": endpoints}
path = f"{state}/stack.json"
with open(os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump(stack, f, indent=2, sort_keys=True)
os.replace(path + ".tmp", path)
PY
  echo "$lb_url"
}

# Waits until the load balancer serves vehicles.list (gateway, vehicles service, database) for a
# city of every region.
wait_ready() {
  local url=$1 deadline=$((SECONDS + ${2:-240})) city
  for city in "new york" chicago seattle paris; do
    until curl -sf --cacert "$state/pki/ca.pem" -H 'content-type: application/json' -H "x-city: $city" \
        -d '{"jsonrpc":"2.0","method":"vehicles.list","params":{},"id":1}' "$url/rpc" 2>/dev/null | grep -q '"result"'; do
      if [ $SECONDS -ge $deadline ]; then
        echo "the stack did not become ready; container states:" >&2
        podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}} {{.Status}}' >&2
        return 1
      fi
      sleep 1
    done
  done
}

case "${1:-}" in
  up)
    if [ "${2:-multi}" = cockroach ]; then
      echo "the CockroachDB file is validated only (no CockroachDB image here): use setup cockroach, then docker-compose" >&2
      exit 2
    fi
    mkdir -p "$state"
    echo "${2:-multi}" > "$mode_file"
    [ -x "$movr" ] || swift build -c release --static-swift-stdlib --product movr
    compose/build-images.sh
    setup
    start_api
    started=$SECONDS
    dc up -d --no-build >"$state/compose-up.log" 2>&1 || { tail -30 "$state/compose-up.log"; exit 1; }
    url=$(write_stack_file)
    wait_ready "$url"
    "$movr" demo-data --stack "$state/stack.json" >/dev/null
    echo "MovR ($(mode)-region, project $project) is up in $((SECONDS - started)) s."
    echo "  public endpoint: $url   (JSON-RPC at $url/rpc; the X-City header picks the city)"
    echo "  CA certificate: $state/pki/ca.pem"
    echo "  stack file (operator cert, published ports, database URL): $state/stack.json"
    echo "  stop with: make compose-down"
    ;;
  down)
    if [ -d "$state" ]; then
      start_api
      dc down --volumes --remove-orphans >"$state/compose-down.log" 2>&1 || tail -20 "$state/compose-down.log"
      stop_api
    fi
    # Anything the project left (e.g. after an interrupted run).
    podman ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r podman rm -f >/dev/null
    podman network ls -q --filter "label=com.docker.compose.project=$project" | xargs -r podman network rm -f >/dev/null
    podman volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r podman volume rm -f >/dev/null
    echo "MovR compose stack $project removed."
    ;;
  setup)
    # Secrets only, for running the compose files with another engine (Docker).
    mkdir -p "$state"; echo "${2:-multi}" > "$mode_file"
    [ -x "$movr" ] || swift build -c release --static-swift-stdlib --product movr
    setup
    echo "secrets ready under $state; now: MOVR_RUN_DIR=$state/run docker-compose -f $(compose_file) up -d"
    ;;
  distribute) distribute "$2" ;;
  cockroach-certs) mkdir -p "$state"; cockroach_certs; echo "CockroachDB certificates ready under $state" ;;
  stack-file) write_stack_file ;;
  wait) wait_ready "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["regions"]["us-east1"]["gateway"])' "$state/stack.json")" "${2:-240}" ;;
  *) echo "usage: $0 up [multi|single] | down | setup [multi|single|cockroach] | cockroach-certs | distribute DIR | stack-file | wait [SECONDS]" >&2; exit 2 ;;
esac

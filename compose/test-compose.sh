#!/usr/bin/env bash
# make test-compose: the composed multi-region stack under podman, tested from this host only
# through ports published on 127.0.0.1 (docs/operations.md, "What a failure looks like"):
#   1. up from scratch (images cached), every container's health check passes;
#   2. the integration suite's external-stack tests against the load balancer;
#   3. a region failure during a ride-cycle load: every us-east1 container stopped for
#      $OUTAGE_SECONDS, a New York client probed throughout; no client error, every
#      acknowledged write present afterwards, `movr check` clean once the region is back;
#   4. certificate rotation to a new CA while serving, without restarting any container.
# Always removes its containers, networks and volumes (trap). Figures go to
# .movr-compose/test-compose-report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CONTAINERS_CONF="$root/compose/podman/containers.conf"
export PATH="/opt/swift/usr/bin:$PATH"
export MOVR_COMPOSE_PROJECT="${MOVR_COMPOSE_PROJECT:-movrtest}"
export MOVR_CERT_RELOAD_SECONDS=2
# Every request of this run comes from one client (this machine, through the load balancer), so
# the per-client limits would treat the whole test suite as one client; as `movr up` does, raise
# them. The process-wide limits (registrations per second, the hashing queue) stay.
export MOVR_REGISTER_PER_CLIENT_PER_MINUTE=100000 MOVR_LOGIN_CLIENT_FREE_FAILURES=100000
state="$root/.movr-compose"
movr="$root/.build/release/movr"
report="$state/test-compose-report.txt"
LOAD_SECONDS="${LOAD_SECONDS:-60}" OUTAGE_SECONDS="${OUTAGE_SECONDS:-25}"
region=us-east1 city="new york"
started=$SECONDS

# Long steps run in the background and are waited for, so a signal (make's timeout) runs the
# cleanup at once instead of after the step.
run() { "$@" & step_pid=$!; wait "$step_pid"; local status=$?; step_pid=""; return $status; }

cleanup() {
  status=$?
  [ -n "${step_pid:-}" ] && kill "$step_pid" 2>/dev/null || true
  [ -n "${probe_pid:-}" ] && kill "$probe_pid" 2>/dev/null || true
  [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null || true
  compose/stack.sh down >/dev/null 2>&1 || true
  echo "test-compose: $([ $status = 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s (containers, networks and volumes removed)"
  exit $status
}
trap cleanup EXIT INT TERM

step() { echo "== $*"; echo "== $*" >> "$report"; }
fail() { echo "FAILED: $*" | tee -a "$report" >&2; exit 1; }
# What a failing log says, for CI's short excerpt: every crash report in it (from Swift's
# "Fatal error" or "*** Signal" line to its registers, at most 200 lines in all), then its end.
show_failure() {
  awk '/Fatal error:|\*\*\* Signal [0-9]+/ { showing = 1 } showing && shown < 200 { print; shown++ }
       /^Registers:/ { showing = 0 }' "$1"
  tail -60 "$1"
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }
container() { echo "${MOVR_COMPOSE_PROJECT}_$1_1"; }

compose/stack.sh down >/dev/null 2>&1 || true
rm -rf "$state/pki" "$state/run" "$state/secrets" "$state/failover" && mkdir -p "$state" && : > "$report"

step "1. stack up (podman $(podman version --format '{{.Client.Version}}'), images cached)"
run compose/stack.sh up multi > "$state/up.log" 2>&1 || { cat "$state/up.log"; fail "stack up"; }
tee -a "$report" < "$state/up.log"
stack="$state/stack.json" lb=$(json "$state/stack.json" 'd["regions"]["us-east1"]["gateway"]') ca="$state/pki/ca.pem"
names=$(podman ps --format '{{.Names}}' --filter "label=com.docker.compose.project=$MOVR_COMPOSE_PROJECT" | sort)
for name in $names; do
  case $name in *_lb_1) continue ;; esac
  podman healthcheck run "$name" >/dev/null 2>&1 || fail "health check of $name"
done
echo "health checks passed: $(echo "$names" | grep -vc _lb_1) containers" | tee -a "$report"
# Secrets: each container sees only its own key; no container has ca.key.
for name in $names; do
  case $name in *_lb_1|*_postgres_1) continue ;; esac
  keys=$(podman exec "$name" sh -c 'ls /run/movr/*.key' | tr '\n' ' ')
  case $name in
    *gateway*) [ "$keys" = "/run/movr/gateway.key /run/movr/public.key " ] || fail "$name has keys: $keys" ;;
    *) [ "$(echo $keys | wc -w)" = 1 ] || fail "$name has keys: $keys" ;;
  esac
done
podman exec "$(container users-us-east1)" sh -c 'test ! -e /run/movr/ca.key && stat -c "%a %U" /run/movr/users.key' | grep -qx "600 movr" \
  || fail "users-us-east1's key is not 0600 movr"
echo "secrets: one identity key per container (0600, owner movr), no ca.key in any container" | tee -a "$report"

step "2. integration tests against the load balancer ($lb)"
MOVR_GATEWAY_URL="$lb" MOVR_STACK_FILE="$stack" run swift test --skip-build --filter "${COMPOSE_TEST_FILTER:-IntegrationTests.(AccountsTests|AuthorizationTests|VehiclesTests|RidesTests|WalkingSkeletonTests|ToolTests)}" \
  > "$state/integration.log" 2>&1 || { show_failure "$state/integration.log"; fail "integration tests (log: $state/integration.log)"; }
grep -E "Test run with [0-9]+ tests" "$state/integration.log" | tail -1 | tee -a "$report"

step "3. region $region down for ${OUTAGE_SECONDS}s during a ${LOAD_SECONDS}s ride-cycle load"
failover="$state/failover" && mkdir -p "$failover"
run "$movr" load init --stack "$stack" --users-file "$failover/users.json" --users-per-city 4 --vehicles-per-city 8 \
  --fleet-owners-per-city 1 --concurrency 8 > "$failover/init.log" 2>&1 || { tail "$failover/init.log"; fail "movr load init"; }
python3 compose/probe-city.py run --url "$lb" --ca "$ca" --city "$city" --out "$failover/probe.log" --until-file "$failover/stop" &
probe_pid=$!
"$movr" load run --stack "$stack" --users-file "$failover/users.json" --duration "$LOAD_SECONDS" --concurrency 8 \
  --mix "rides.start=30,rides.update_location=20,rides.end=30,vehicles.list=20" \
  --ack-log "$failover/acks.log" --json "$failover/load.json" > "$failover/load.txt" 2> "$failover/load.err" &
load_pid=$!
sleep 15
region_containers="$(container gateway-$region) $(container users-$region) $(container vehicles-$region) $(container rides-$region)"
down_at=$(date +%s.%N)
podman stop -t 0 $region_containers >/dev/null 2>&1
echo "stopped: $region_containers" | tee -a "$report"
run sleep "$OUTAGE_SECONDS"
up_at=$(date +%s.%N)
podman start $region_containers >/dev/null 2>&1
wait "$load_pid" || fail "movr load run"; load_pid=""
# The region's gateway is back in the load balancer when its cities are served by it again.
for _ in $(seq 60); do
  podman logs "$(container lb)" 2>&1 | grep -q "gateway-$region/$region is UP" && break; sleep 1
done
sleep 3; touch "$failover/stop"; wait "$probe_pid" || true; probe_pid=""
back_at=$(date +%s.%N)
python3 compose/probe-city.py summary "$failover/probe.log" --down-at "$down_at" --up-at "$up_at" > "$failover/probe.json"
cat "$failover/load.txt" >> "$report"
echo "probe ($city, one vehicles.list each 0.2 s): $(cat "$failover/probe.json")" | tee -a "$report"
errors=$(json "$failover/load.json" 'd["totals"]["errors"]')
echo "load: $(json "$failover/load.json" 'd["totals"]["count"]') requests, $errors errors, $(json "$failover/load.json" 'd["totals"]["expected"]') expected outcomes" | tee -a "$report"
# Requests in flight inside the region when it stopped cannot finish: their clients get a
# retryable 503/504 (not an acknowledgement), and the load's workers list the rider's rides before
# they start or end one again (the first attempt may have committed). Anything else, a 409
# active_ride_exists or ride_already_ended included, is a failure.
unexpected=$(json "$failover/load.json" '",".join(o["operation"]+" "+o["kind"] for o in d["outcomes"] if not o["expected"] and not (o["kind"].startswith("503 ") or o["kind"].startswith("504 ")))')
[ -z "$unexpected" ] || fail "the load saw non-retryable errors: $unexpected"
[ "$errors" -le "${MAX_INFLIGHT_ERRORS:-16}" ] || fail "the load saw $errors errors (more than twice the 8 requests the load keeps in flight)"
echo "errors by kind: $(json "$failover/load.json" '", ".join("%s %s x%d" % (o["operation"], o["kind"], o["count"]) for o in d["outcomes"] if not o["expected"]) or "none"')" | tee -a "$report"
# The probe's request in flight in the region when it stopped may fail (502/503/504); nothing
# else may, and the city must be served again within the bound (docs/operations.md).
[ "$(json "$failover/probe.json" 'all(any("HTTP_Error_%d" % c in k for c in (502, 503, 504)) for k in d["error_kinds"]) and d["failed"] <= 2')" = True ] \
  || fail "the $city probe saw failures beyond the requests in flight: $(cat "$failover/probe.json")"
served=$(json "$failover/probe.json" 'd["served_after_s"]')
python3 -c "import sys; sys.exit(0 if float('$served') <= ${FAILOVER_BOUND_SECONDS:-10} else 1)" \
  || fail "$city was not served for ${served}s after the region stopped (bound ${FAILOVER_BOUND_SECONDS:-10}s)"
"$movr" load verify "$failover/acks.log" --stack "$stack" | tee -a "$report" || fail "acknowledged writes lost"
run "$movr" check --database-url "$(json "$stack" 'd["database_url"]')" --bound 30 --wait 60 > "$failover/check.txt" 2>&1 \
  || { cat "$failover/check.txt"; fail "movr check after the region returned"; }
tail -1 "$failover/check.txt" | tee -a "$report"

step "4. certificate rotation to a new CA, no restart"
starts_before=$(for name in $names; do podman inspect "$name" --format '{{.Name}} {{.State.StartedAt}} {{.RestartCount}}'; done)
rotation="$state/rotation" && rm -rf "$rotation" && mkdir -p "$rotation"
names_args=(--postgres-name postgres --public-name gateway)
for r in us-east1 us-central1 us-west1 europe-west1; do names_args+=(--public-name "gateway-$r"); done
"$movr" certs --dir "$rotation/next" "${names_args[@]}" >/dev/null
old_serial=$(echo | openssl s_client -connect "127.0.0.1:$(podman port "$(container gateway-us-central1)" 8443 | sed 's/.*://')" -CAfile "$ca" 2>/dev/null | openssl x509 -noout -serial)
reload_wait=$((MOVR_CERT_RELOAD_SECONDS * 2 + 2))
# a) trust both CAs everywhere; b) every identity's new certificate (PostgreSQL's too, reloaded
# by SIGHUP); c) trust only the new CA.
mkdir -p "$rotation/trust-both" "$rotation/new-leaves"
cp "$state/pki/"*.pem "$state/pki/"*.key "$rotation/trust-both/"
cat "$state/pki/ca.pem" "$rotation/next/ca.pem" > "$rotation/trust-both/ca.pem"
cp "$rotation/next/"* "$rotation/new-leaves/" && cp "$rotation/trust-both/ca.pem" "$rotation/new-leaves/ca.pem"
# Clients keep working throughout: a load that trusts both CAs (as clients must while the
# public certificate's CA changes) runs across the three steps.
python3 - "$stack" "$rotation/both-ca.pem" "$rotation/stack.json" <<'PY'
import json, sys
stack = json.load(open(sys.argv[1])); stack["ca"] = sys.argv[2]; json.dump(stack, open(sys.argv[3], "w"))
PY
cat "$state/pki/ca.pem" "$rotation/next/ca.pem" > "$rotation/both-ca.pem"
"$movr" load run --stack "$rotation/stack.json" --users-file "$failover/users.json" --duration $((reload_wait * 3 + 6)) --concurrency 4 \
  --json "$rotation/during.json" > "$rotation/during.txt" 2>&1 &
load_pid=$!
sleep 3
compose/stack.sh distribute "$rotation/trust-both"; podman kill --signal USR2 "$(container lb)" >/dev/null; sleep "$reload_wait"
compose/stack.sh distribute "$rotation/new-leaves"; podman kill --signal HUP "$(container postgres)" >/dev/null; sleep "$reload_wait"
# The last step by SIGHUP (an immediate reload), the two before by the periodic file check.
compose/stack.sh distribute "$rotation/next"; podman kill --signal USR2 "$(container lb)" >/dev/null
for name in $names; do case $name in *_lb_1|*_postgres_1) ;; *) podman kill --signal HUP "$name" >/dev/null ;; esac; done
sleep 2
wait "$load_pid" || fail "movr load run during the rotation"; load_pid=""
[ "$(json "$rotation/during.json" 'd["totals"]["errors"]')" = 0 ] \
  || fail "errors during the rotation: $(json "$rotation/during.json" 'd["outcomes"]')"
echo "load during the rotation: $(json "$rotation/during.json" 'd["totals"]["count"]') requests, 0 errors" | tee -a "$report"
new_serial=$(echo | openssl s_client -connect "127.0.0.1:$(podman port "$(container gateway-us-central1)" 8443 | sed 's/.*://')" -CAfile "$rotation/next/ca.pem" 2>/dev/null | openssl x509 -noout -serial)
[ -n "$new_serial" ] && [ "$new_serial" != "$old_serial" ] || fail "gateway-us-central1 still presents $old_serial"
echo "gateway-us-central1 public certificate: $old_serial -> $new_serial (verified against the new CA only)" | tee -a "$report"
# Every service's new certificate over a fresh mutual-TLS connection that trusts only the new CA.
for name in $names; do
  case $name in *_lb_1|*_postgres_1) continue ;; esac
  identity=$(echo "$name" | sed -E "s/^${MOVR_COMPOSE_PROJECT}_([a-z]+)-.*/\1/")
  podman exec "$name" movr health "$identity" >/dev/null || fail "$name after rotation"
done
echo "every gateway and service answers its health check under the new CA" | tee -a "$report"
cp "$rotation/next/"* "$state/pki/"   # host tools now use the new CA and operator certificate
compose/stack.sh stack-file >/dev/null
curl -sf --cacert "$state/pki/ca.pem" -H 'content-type: application/json' -H "x-city: paris" \
  -d '{"jsonrpc":"2.0","method":"vehicles.list","params":{},"id":1}' "$lb/rpc" >/dev/null || fail "the load balancer under the new CA"
"$movr" load run --stack "$stack" --users-file "$failover/users.json" --duration 10 --concurrency 4 --json "$rotation/load.json" >/dev/null 2>&1 \
  || fail "load after rotation"
[ "$(json "$rotation/load.json" 'd["totals"]["errors"]')" = 0 ] || fail "errors after rotation: $(json "$rotation/load.json" 'd["totals"]')"
"$movr" check --database-url "$(json "$stack" 'd["database_url"]')" > "$rotation/check.txt" 2>&1 || { cat "$rotation/check.txt"; fail "movr check under the new CA"; }
starts_after=$(for name in $names; do podman inspect "$name" --format '{{.Name}} {{.State.StartedAt}} {{.RestartCount}}'; done)
# The region stopped in step 3 restarted then; nothing restarted during the rotation.
[ "$starts_before" = "$starts_after" ] || fail "containers restarted during rotation"
echo "rotation done without restarting any container; load after rotation: $(json "$rotation/load.json" 'd["totals"]["count"]') requests, 0 errors" | tee -a "$report"
echo "report: $report"

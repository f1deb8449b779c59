#!/usr/bin/env bash
# make test-faults: faults injected into a private local stack while a ride-cycle load runs
# (docs/reliability.md). One region (us-east1: gateway, users, vehicles, rides) on its own
# --dir and --port-base, every link between the executables and to PostgreSQL through a
# resettable proxy (`movr up --fault-proxies`). For each fault, a fresh `movr load run` (ride
# cycles and listings, every acknowledged write journaled, every request on a timeline); the
# fault comes FAULT_AT seconds in. Then Tools/faults/judge.py decides from the timeline, the
# load report, the server logs, `movr load verify`, `movr check` and the rides table whether
# the fault passed, and prints the figures. Exit status 1 when any fault failed.
# Only 127.0.0.1 is used. Signals go to process ids this script read from the stack's pids file.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin="${MOVR_BIN:-$root/.build/debug}"
movr="$bin/movr"
state="${FAULTS_DIR:-$root/.movr-faults}"
port_base="${FAULTS_PORT_BASE:-9700}"
LOAD_SECONDS="${LOAD_SECONDS:-24}" FAULT_AT="${FAULT_AT:-8}" RECOVERY_BOUND="${RECOVERY_BOUND_SECONDS:-10}"
FAULTS="${FAULTS:-kill:gateway kill:users kill:vehicles kill:rides restart:postgres reset:services reset:postgres term:gateway term:users term:vehicles term:rides}"
region=us-east1 cities="new york,boston,washington dc"
mix="rides.start=20,rides.update_location=10,rides.end=20,rides.list=10,vehicles.list=20,vehicles.get=10,users.me=10"
started=$SECONDS

up_pid="" load_pid=""
cleanup() {
  status=$?
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  if [ -n "$up_pid" ]; then
    kill -TERM "$up_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  echo "test-faults: $([ $status = 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s (stack stopped; state in $state)"
  exit $status
}
trap cleanup EXIT INT TERM

[ -x "$movr" ] || { echo "$movr not found: build first (swift build)"; exit 1; }
rm -rf "$state" && mkdir -p "$state"
# A lower scrypt cost than production (17), as the integration tests' stack: the load
# registers and signs in riders on two shared cores (docs/operations.md, Configuration).
export MOVR_SCRYPT_LOG2N="${MOVR_SCRYPT_LOG2N:-14}"

echo "== stack: $region on 127.0.0.1, port base $port_base, fault proxies on, state $state"
"$movr" up --dir "$state" --port-base "$port_base" --regions "$region" --no-demo-data --fault-proxies \
  --exit-with-parent > "$state/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 360); do
  grep -q "MovR is up." "$state/up.log" && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$state/up.log"; echo "movr up exited"; exit 1; }
  sleep 0.5
done
grep -q "MovR is up." "$state/up.log" || { cat "$state/up.log"; echo "movr up did not come up in 180 s"; exit 1; }
grep -E "fault proxies|->" "$state/up.log" | head -8
stack="$state/stack.json"
db_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["database_url"])' "$stack")
# The rides database, keeping the URL's query (its `passfile=`: the stack's roles use SCRAM).
rides_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/movr_rides")))' "$db_url")

echo "== load init (riders and vehicles in $cities)"
"$movr" load init --stack "$stack" --cities "$cities" --users-file "$state/users.json" --users-per-city 8 \
  --vehicles-per-city 16 --fleet-owners-per-city 1 --concurrency 4 > "$state/init.log" 2>&1 \
  || { tail -20 "$state/init.log"; exit 1; }
tail -1 "$state/init.log"

pid_of() { awk -v name="$region/$1" '$2 == name { print $1 }' "$state/pids"; }
pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
as_owner() {  # PostgreSQL's tools run as the unprivileged user owning the cluster (as movr up does)
  local owner; owner=$(stat -c %U "$state/pgdata")
  if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then /usr/sbin/runuser -u "$owner" -- "$@"; else "$@"; fi
}

inject() {  # kind target -> performs the fault, prints what it did
  local kind=$1 target=$2 pid
  case $kind in
    kill|term)
      pid=$(pid_of "$target"); [ -n "$pid" ] || { echo "no pid for $region/$target"; return 1; }
      kill "-$([ "$kind" = kill ] && echo KILL || echo TERM)" "$pid"; echo "SIG$([ "$kind" = kill ] && echo KILL || echo TERM) to $region/$target (pid $pid)" ;;
    restart)
      as_owner "$pg_ctl" -D "$state/pgdata" -l "$state/pgdata/server.log" -w -t 60 -m fast restart > "$state/pg_ctl.out" 2>&1 \
        || { cat "$state/pg_ctl.out"; return 1; }
      echo "pg_ctl restart -m fast (as $(stat -c %U "$state/pgdata"))" ;;
    reset)
      rm -f "$state/faults/reset.done"; echo "$target" > "$state/faults/reset.tmp"; mv "$state/faults/reset.tmp" "$state/faults/reset"
      for _ in $(seq 100); do [ -f "$state/faults/reset.done" ] && break; sleep 0.05; done
      [ -f "$state/faults/reset.done" ] || { echo "the fault proxies did not answer"; return 1; }
      echo "reset $(cut -d' ' -f2 "$state/faults/reset.done") open connections ($target links)" ;;
  esac
}

failed=0
for fault in $FAULTS; do
  kind=${fault%%:*} target=${fault#*:} dir="$state/runs/$kind-$target"
  rm -rf "$dir" && mkdir -p "$dir"   # the ack journal appends: one per run
  echo "== $kind $target: ${LOAD_SECONDS}s load, fault at ${FAULT_AT}s"
  load_start=$(date +%s.%N)
  "$movr" load run --stack "$stack" --users-file "$state/users.json" --duration "$LOAD_SECONDS" --concurrency 8 \
    --mix "$mix" --ack-log "$dir/acks.log" --timeline "$dir/timeline" --json "$dir/load.json" \
    > "$dir/load.txt" 2> "$dir/load.err" &
  load_pid=$!
  sleep "$FAULT_AT"
  fault_at=$(date +%s.%N)
  action=$(inject "$kind" "$target" 2>&1) || action="FAILED: $action"
  fault_done=$(date +%s.%N)
  echo "   $action"
  load_status=0; wait "$load_pid" || load_status=$?; load_pid=""
  load_end=$(date +%s.%N)
  "$movr" load verify "$dir/acks.log" --stack "$stack" > "$dir/verify.txt" 2>&1 && verify=0 || verify=$?
  "$movr" check --database-url "$db_url" --bound 30 --wait 60 > "$dir/check.txt" 2>&1 && check=0 || check=$?
  # Rides the database holds that this run's requests created (no other client writes here).
  rides_created=$(psql "$rides_url" -X -A -t -c \
    "SELECT count(*) FROM rides WHERE start_time >= to_timestamp($load_start) AND start_time <= to_timestamp($load_end)" || echo "?")
  python3 "$root/Tools/faults/judge.py" fault --name "$kind $target" --kind "$kind" --target "$target" \
    --dir "$dir" --fault-at "$fault_at" --fault-done "$fault_done" --action "$action" --load-status "$load_status" \
    --verify-status "$verify" --check-status "$check" --rides-created "$rides_created" \
    --logs "$state/logs" --region "$region" --bound "$RECOVERY_BOUND" > "$dir/result.json" \
    && cat "$dir/result.json" >> "$state/results.jsonl" \
    && python3 "$root/Tools/faults/judge.py" line "$state/results.jsonl" \
    || { failed=1; echo "   FAILED (figures: $dir)"; }
done

python3 "$root/Tools/faults/judge.py" table "$state/results.jsonl" --bound "$RECOVERY_BOUND" | tee "$state/report.md"
[ "$failed" = 0 ]

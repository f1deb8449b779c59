#!/bin/bash
# Same-run A/B of two builds of MovR on one hot path: vehicles.list (25 rows, X-City new york:
# one gateway, one vehicles service) with wrk, CPU per request from /proc. Usage:
#   Tools/scripts/bench-ab.sh DIR_A DIR_B [ROUNDS]
# where each DIR holds release binaries (movr, movr-gateway, movr-users, movr-vehicles, movr-rides),
# e.g. copies of .build/release from two commits. Run from the repository root; needs wrk.
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-2}
LUA=$(mktemp --suffix=.lua)
cat > "$LUA" <<'LUA'
local body = '{"jsonrpc":"2.0","id":1,"method":"vehicles.list","params":{"limit":25}}'
request = function()
  return wrk.format("POST", "/rpc", { ["Content-Type"] = "application/json", ["X-City"] = "new york" }, body)
end
LUA
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
pid_on() { ss -ltnp | grep ":$1 " | sed 's/.*pid=\([0-9]*\).*/\1/'; }
for round in $(seq 1 "$ROUNDS"); do
  for dir in "$A" "$B"; do
    work=$(mktemp -d)
    "$dir/movr" up --dir "$work/stack" --port-base 19440 --log-level warning > "$work/up.log" 2>&1 &
    up=$!
    for _ in $(seq 1 180); do grep -q "Press Ctrl-C\|Error" "$work/up.log" && break; sleep 1; done
    gw=$(pid_on 19443); vh=$(pid_on 19445)
    wrk -t2 -c16 -d3s -s "$LUA" https://127.0.0.1:19443/rpc > /dev/null 2>&1
    g0=$(cpu "$gw"); v0=$(cpu "$vh")
    wrk -t2 -c16 -d12s --latency -s "$LUA" https://127.0.0.1:19443/rpc > "$work/wrk.txt" 2>&1
    g1=$(cpu "$gw"); v1=$(cpu "$vh")
    n=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
    ticks=$(getconf CLK_TCK)
    echo "round $round $dir: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") req/s," \
         "p50 $(awk '$1=="50%" {print $2}' "$work/wrk.txt"), p99 $(awk '$1=="99%" {print $2}' "$work/wrk.txt")," \
         "gateway $(( (g1 - g0) * 1000000 / ticks / n )) µs/req, vehicles $(( (v1 - v0) * 1000000 / ticks / n )) µs/req"
    kill -INT "$up"; wait "$up" 2>/dev/null || true
    rm -rf "$work"
  done
done
rm -f "$LUA"

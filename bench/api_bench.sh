#!/usr/bin/env bash
# API benchmark: GetRegisteredDevices under wrk, 10,000 associates x
# 3 devices, keep-alive, 64 connections; redis-benchmark on the same machine in
# the same run for scale; herald's peak RSS. Loopback only; ends by itself.
# Usage: bench/api_bench.sh [duration_seconds]   (prints a Markdown table row set)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
HERALD_WITH_BENCH_TOOLS=1 ./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target herald seed_devices >/dev/null

work=$(mktemp -d /tmp/herald-bench-XXXXXX)
redis_port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
http_port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

token=bench-token
# A configuration outside the source tree: catalogs and time zones are built in.
cat >"$work/herald.yaml" <<YAML
server:
  listen: 127.0.0.1:$http_port
  threads: ${HERALD_THREADS:-1}
redis:
  url: redis://127.0.0.1:$redis_port/0
  key_prefix: bench
auth:
  tokens:
    - name: bench
      sha256: "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
      scopes: [devices.read]
log:
  level: warning
YAML
./build/bench/seed_devices "$redis_port" bench 10000 3
./build/herald serve --config "$work/herald.yaml" 2>"$work/herald.log" &
herald_pid=$!
pids+=($herald_pid)
ready=0
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null && { ready=1; break; }
  kill -0 "$herald_pid" 2>/dev/null || break
  sleep 0.05
done
if [ "$ready" != 1 ]; then
  echo "herald did not become ready; its log:" >&2
  cat "$work/herald.log" >&2
  exit 1
fi

# warm-up, then the measured run
ASSOCIATES=10000 TOKEN=$token wrk -t2 -c64 -d3s -s bench/get_devices.lua "http://127.0.0.1:$http_port" >/dev/null
result=$(ASSOCIATES=10000 TOKEN=$token wrk -t2 -c64 -d"${duration}s" --latency -s bench/get_devices.lua "http://127.0.0.1:$http_port" | tail -1)
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$herald_pid/status)
redis_rate=$(redis-benchmark -p "$redis_port" -n 200000 -c 64 -t get,hset --csv 2>/dev/null | tr -d '"' | awk -F, 'NR>1 {printf "%s_rps=%s %s_p99_ms=%s  ", $1, $2, $1, $7}')
sample=$(curl -s -X POST "http://127.0.0.1:$http_port/api/v1/Agents/Pocket/GetRegisteredDevices" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"AssociateId":77}' | head -c 120)

echo "wrk: $result"
echo "herald_peak_rss_kb=$rss_kb"
echo "redis-benchmark: $redis_rate"
echo "sample response: $sample..."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

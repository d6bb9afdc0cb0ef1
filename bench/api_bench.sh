#!/usr/bin/env bash
# API benchmark: GetRegisteredDevices under wrk (10,000 associates x 3
# devices, keep-alive, a random associate per request) against the reference
# in the same run: redis-benchmark GET on the same Redis at the same
# concurrency. Each GetRegisteredDevices is one HVALS round trip to that Redis,
# so Redis's own GET rate is the ceiling. Herald's peak RSS. Loopback only;
# ends by itself.
#
# Usage: bench/api_bench.sh [duration_seconds] [connections]   (defaults 15, 64)
# Env:   BUILD_DIR (default build), API_BENCH_NO_BUILD=1 skips the build,
#        HERALD_THREADS (server.threads, default 1),
#        API_BENCH_BASELINE=path of another herald binary: also measured, right
#        after Herald, against the same Redis (A/B).
# The reference must be faster than Herald: when it is not, the script says
# so loudly (exit status 3). Last line: Herald's req/s and p99, redis-benchmark
# GET's req/s and p99, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
conns=${2:-64}
build=${BUILD_DIR:-build}
HERALD_WITH_BENCH_TOOLS=1 ./scripts/install-deps.sh
if [ "${API_BENCH_NO_BUILD:-0}" != 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target herald seed_devices >/dev/null
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

work=$(mktemp -d /tmp/herald-bench-XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
redis_port=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
"$build/bench/seed_devices" "$redis_port" bench 10000 3 >/dev/null

token=bench-token
# run_herald label binary -> sets $wrk_line and $rss_kb
run_herald() {
  local label=$1 bin=$2 http_port
  http_port=$(free_port)
  cat >"$work/$label.yaml" <<YAML
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
locales:
  directory: $PWD/config/locales
timezones:
  table_file: $PWD/config/timezones.yaml
log:
  level: warning
YAML
  "$bin" serve --config "$work/$label.yaml" 2>"$work/$label.log" &
  local herald_pid=$!
  pids+=($herald_pid)
  local ready=0
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null && { ready=1; break; }
    kill -0 "$herald_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ "$ready" != 1 ]; then
    echo "api_bench.sh: $label did not become ready; its log:" >&2
    cat "$work/$label.log" >&2
    exit 1
  fi
  local sample
  sample=$(curl -s -X POST "http://127.0.0.1:$http_port/api/v1/Agents/Pocket/GetRegisteredDevices" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"AssociateId":77}')
  grep -q '"DeviceIdentifier"' <<<"$sample" || grep -qi 'bench-77-0' <<<"$sample" ||
    { echo "api_bench.sh: unexpected answer from $label: ${sample:0:300}" >&2; exit 1; }
  echo "$label sample response: ${sample:0:120}..."
  # warm-up, then the measured run
  ASSOCIATES=10000 TOKEN=$token timeout $(( duration + 30 )) wrk -t2 -c"$conns" -d3s -s bench/get_devices.lua \
    "http://127.0.0.1:$http_port" >/dev/null
  wrk_line=$(ASSOCIATES=10000 TOKEN=$token timeout $(( duration + 30 )) wrk -t2 -c"$conns" -d"${duration}s" --latency \
    -s bench/get_devices.lua "http://127.0.0.1:$http_port" | tail -1)
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$herald_pid/status")
  kill "$herald_pid" 2>/dev/null || true
  wait "$herald_pid" 2>/dev/null || true
  echo "$label wrk: $wrk_line herald_peak_rss_kb=$rss_kb"
  if ! grep -q 'errors_status=0 ' <<<"$wrk_line"; then
    echo "api_bench.sh: $label answered non-2xx statuses" >&2
    exit 1
  fi
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
fmt() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

run_herald herald "$build/herald"
herald_wrk=$wrk_line
baseline_wrk=
if [ -n "${API_BENCH_BASELINE:-}" ]; then
  run_herald baseline "$API_BENCH_BASELINE"
  baseline_wrk=$wrk_line
fi

# The reference: redis-benchmark on the same Redis, same connection count and
# client threads as wrk (2), no pipelining (wrk does not pipeline either),
# about as many requests as Herald gets in the run at Redis's usual rate.
# CSV columns: test, rps, avg, min, p50, p95, p99, max latency (ms).
redis_csv=$(timeout 300 redis-benchmark -p "$redis_port" -n $(( duration * 20000 )) -c "$conns" --threads 2 -t set,get --csv \
  2>/dev/null | tr -d '"')
get_rps=$(awk -F, '$1 == "GET" {print $2}' <<<"$redis_csv")
get_p99=$(awk -F, '$1 == "GET" {print $7}' <<<"$redis_csv")
set_rps=$(awk -F, '$1 == "SET" {print $2}' <<<"$redis_csv")
[ -n "$get_rps" ] || { echo "api_bench.sh: redis-benchmark gave no GET figure" >&2; exit 1; }
echo "redis-benchmark (-c $conns --threads 2, same Redis): GET $(fmt "$get_rps") req/s p99 $get_p99 ms; SET $(fmt "$set_rps") req/s"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"

rate=$(field req_per_s "$herald_wrk")
p99=$(field p99_ms "$herald_wrk")
status=0
if ! awk "BEGIN{exit !($get_rps > $rate)}"; then
  msg="!!! REFERENCE NOT FASTER THAN HERALD: redis-benchmark GET $(fmt "$get_rps")/s, Herald $(fmt "$rate")/s; the machine is the bottleneck, the ratio is meaningless"
  echo "$msg"
  echo "$msg" >&2  # twice, not through tee /dev/stderr (reopening a redirected stderr truncates it)
  status=3
fi
last="api_bench.sh result: GetRegisteredDevices herald $(fmt "$rate") req/s p99 $p99 ms vs redis-benchmark GET $(fmt "$get_rps") req/s p99 $get_p99 ms (same Redis, $conns connections) = $(awk "BEGIN{printf \"%.2f\", $rate/$get_rps}") of the rate, p99 $(awk "BEGIN{printf \"%.1f\", $p99/($get_p99+0.0001)}")x"
if [ -n "$baseline_wrk" ]; then
  base=$(field req_per_s "$baseline_wrk")
  last+="; baseline $(fmt "$base") req/s p99 $(field p99_ms "$baseline_wrk") ms, herald/baseline = $(awk "BEGIN{printf \"%.2f\", $rate/$base}")"
fi
echo "$last"
exit $status

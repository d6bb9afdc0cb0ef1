#!/usr/bin/env bash
# Alarm broker benchmark (issue 4), loopback only, ends by itself:
#  burst:  100,000 alarms due in the same second over 10,000 associates with 2
#          devices each (200,000 notifications) -> seconds until all were
#          answered by the mock APNs server.
#  steady: alarms due at a steady 2,000/s for 10 s -> due-to-sent p50/p99
#          (from herald_broker_due_to_sent_seconds).
# Usage: bench/broker_bench.sh [burst_alarms] [steady_rate] [steady_seconds]
# HERALD_DAEMONS=N runs N daemons on the one Redis (default 1); the counts
# and CPU are summed over them. HERALD_SKIP_STEADY=1 runs the burst only.
set -euo pipefail
cd "$(dirname "$0")/.."
burst=${1:-100000}
rate=${2:-2000}
steady_s=${3:-10}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target herald seed_devices seed_alarms mock_push_server >/dev/null

work=$(mktemp -d /tmp/herald-broker-bench-XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

./build/tests/mocks/mock_push_server --generate-pki "$work/pki" >/dev/null
apns_port=$(free_port)
./build/tests/mocks/mock_push_server --apns --pki "$work/pki" --port "$apns_port" --max-streams 1000 >"$work/mock.log" 2>&1 &
pids+=($!)

tck=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tck" '{printf "%.1f", ($14+$15)/t}' "/proc/$1/stat"; }

run_case() {  # mode count rate
  local mode=$1 count=$2 r=$3
  local redis_port http_port
  redis_port=$(free_port); http_port=$(free_port)
  mkdir -p "$work/$mode"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/$mode" --daemonize no >"$work/$mode/redis.log" 2>&1 &
  local redis_pid=$!
  pids+=($redis_pid)
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  cat >"$work/$mode/herald.yaml" <<YAML
server:
  listen: 127.0.0.1:$http_port
  threads: ${HERALD_THREADS:-1}
redis:
  url: redis://127.0.0.1:$redis_port/0
  key_prefix: bench
  max_pending: 1000000
apps:
  pocket:
    apns:
      team_id: TEAM123456
      key_id: TESTKEY123
      key_file: $work/pki/AuthKey_TESTKEY123.p8
      topic: com.example.herald
      endpoint: https://127.0.0.1:$apns_port
      ca_file: $work/pki/ca.pem
      connections: 2
broker:
  interval: 30s
  max_lateness: 15m
locales:
  directory: $PWD/config/locales
timezones:
  table_file: $PWD/config/timezones.yaml
log:
  level: warning
YAML
  ./build/bench/seed_devices "$redis_port" bench 10000 2 apple >/dev/null
  local t0_ms=$(( $(date +%s%3N) + 600000 ))  # far ahead while seeding; moved below
  ./build/bench/seed_alarms "$redis_port" bench "$count" 10000 "$t0_ms" "$mode" "$r" >/dev/null
  local redis_cpu_seeding mock_cpu0
  redis_cpu_seeding=$(cpu_s "$redis_pid"); mock_cpu0=$(cpu_s "${pids[0]}")
  local herald_pids=() http_ports=()
  for d in $(seq "${HERALD_DAEMONS:-1}"); do
    local dport=$http_port
    [ "$d" -gt 1 ] && dport=$(free_port)
    sed "s/listen: 127.0.0.1:$http_port/listen: 127.0.0.1:$dport/" "$work/$mode/herald.yaml" >"$work/$mode/herald-$d.yaml"
    env ${HERALD_ENV:-} ${HERALD_BIN:-./build/herald} serve --config "$work/$mode/herald-$d.yaml" 2>"$work/$mode/herald-$d.log" &
    herald_pids+=($!); pids+=($!); http_ports+=($dport)
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$dport/readyz" >/dev/null && break; sleep 0.05; done
  done
  local herald_pid=${herald_pids[0]}
  # Move the whole schedule to start 2 s from now (same spacing).
  local start_ms=$(( $(date +%s%3N) + 2000 ))
  redis-cli -p "$redis_port" eval "
    local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #ids, 2 do redis.call('ZADD', KEYS[1], tonumber(ids[i+1]) - tonumber(ARGV[1]) + tonumber(ARGV[2]), ids[i]) end
    return #ids / 2" 1 bench:alarms "$t0_ms" "$start_ms" >/dev/null
  redis-cli -p "$redis_port" xadd bench:alarms:changes '*' due "$start_ms" >/dev/null  # wake the timer
  [ -n "${PERF_OUT:-}" ] && [ "$mode" = burst ] && { perf record ${PERF_ARGS:--g} -o "$PERF_OUT" -p "$herald_pid" -- sleep 8 >/dev/null 2>&1 & }
  local want=$(( count * 2 )) got=0 now_ms
  local deadline=$(( $(date +%s) + ${BENCH_TIMEOUT:-300} ))
  while :; do
    got=0
    for p in "${http_ports[@]}"; do
      local n
      n=$(curl -s "http://127.0.0.1:$p/metrics" | awk -F' ' '/^herald_broker_notifications_total\{kind="alarm",outcome="delivered"\}/ {print $2}')
      got=$(( got + ${n:-0} ))
    done
    [ "$got" -ge "$want" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && { echo "timeout: $got of $want (work dir $work)" >&2; curl -s "http://127.0.0.1:$http_port/metrics" | grep -E "^herald_(broker|push)" >&2; break; }
    sleep 0.05
  done
  now_ms=$(date +%s%3N)
  local metrics; metrics=$(curl -s "http://127.0.0.1:$http_port/metrics")
  local rss_kb; rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$herald_pid/status)
  local herald_cpu=0
  for p in "${herald_pids[@]}"; do herald_cpu=$(awk "BEGIN{printf \"%.1f\", $herald_cpu + $(cpu_s "$p")}"); done
  local cpu="daemons=${#herald_pids[@]} herald_cpu_s=$herald_cpu redis_cpu_s=$(awk "BEGIN{printf \"%.1f\", $(cpu_s $redis_pid) - $redis_cpu_seeding}") mock_cpu_s=$(awk "BEGIN{printf \"%.1f\", $(cpu_s ${pids[0]}) - $mock_cpu0}")"
  local pct
  pct=$(echo "$metrics" | awk -F'[{}" ]+' '
    /^herald_broker_due_to_sent_seconds_bucket/ { le=$3; n=$NF; b[++k]=le; c[k]=n }
    /^herald_broker_due_to_sent_seconds_count/ { total=$NF }
    END { p50=""; p99="";
      for (i=1;i<=k;i++) { if (p50=="" && c[i]>=total*0.5) p50=b[i]; if (p99=="" && c[i]>=total*0.99) p99=b[i] }
      printf "p50<=%ss p99<=%ss", p50, p99 }')
  local elapsed_ms=$(( now_ms - start_ms ))
  echo "$mode: alarms=$count notifications=$got/$want elapsed_s=$(awk "BEGIN{printf \"%.2f\", $elapsed_ms/1000}") notifications_per_s=$(awk "BEGIN{printf \"%.0f\", $got*1000/$elapsed_ms}") due_to_sent $pct herald_peak_rss_kb=$rss_kb $cpu"
  kill "${herald_pids[@]}" "$redis_pid" 2>/dev/null || true
  wait "${herald_pids[@]}" 2>/dev/null || true
}

run_case burst "$burst" 1
[ "${HERALD_SKIP_STEADY:-0}" = 1 ] || run_case steady $(( rate * steady_s )) "$rate"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

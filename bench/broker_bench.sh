#!/usr/bin/env bash
# Alarm broker benchmark, loopback only, ends by itself:
#  burst:  N alarms (default 100,000) due in the same second over 10,000
#          associates with 2 devices each (2N notifications) -> seconds until
#          all were answered by the provider server.
#  steady: alarms due at a steady rate (default 2,000/s for 10 s) ->
#          due-to-sent p50/p99 (from herald_broker_due_to_sent_seconds).
#
# The provider server is nghttpd (TLS HTTP/2, one worker) answering every APNs
# POST 200 from memory: the seeded devices share 10 device tokens, each an
# empty file of its docroot that nghttpd keeps open; it reads and drops the
# body and validates nothing. It must cost less CPU than Herald and be faster
# than Herald: the script reports its CPU share (server CPU / Herald CPU in the
# burst), measures h2load against it in the same run (the same 10 paths,
# payload and headers of Herald's size, as many connections as Herald), and
# says so loudly when either check fails (exit status 3). Each case also
# prints Redis's commands per notification and the memory the run left in
# Redis (redis_bytes_per_notification: delivery records, the trace).
#
# Usage: bench/broker_bench.sh [burst_alarms] [steady_rate] [steady_seconds]
# Env:   BUILD_DIR (default build); BROKER_BENCH_NO_BUILD=1 skips the build;
#        BROKER_BENCH_BASELINE=<build dir> (or a herald binary) also runs the
#          burst with that build, right after Herald's, against the same server
#          (A/B; a build dir's own bench/seed_* are used when present);
#        HERALD_THREADS (server.threads, default 1), HERALD_ENV (e.g. LD_PRELOAD=...),
#        HERALD_DAEMONS=N runs N daemons on the one Redis (counts and CPU summed),
#        HERALD_SKIP_STEADY=1 runs the burst only, BROKER_BENCH_TRACE=off turns
#          Herald's delivery trace off (trace.max_events: 0), BROKER_BENCH_BASELINE_TRACE=off
#          the baseline's (a baseline older than the trace key must keep it on),
#          BENCH_TIMEOUT (s, default 300),
#        PERF_OUT=file [PERF_ARGS] records a perf profile of the burst, KEEP=1 keeps the work dir,
#        BROKER_BENCH_PIN=0 lets the kernel place the processes (default with 2+
#          cores: Herald on CPU 0, Redis and the provider server on CPU 1, h2load
#          on CPU 0 for the reference; see the note at pin()).
# Last line: Herald's burst rate, the reference (h2load on the same server, same
# run) and their ratio, the server's CPU share, and the baseline's rate and
# Herald/baseline when BROKER_BENCH_BASELINE is set.
set -euo pipefail
cd "$(dirname "$0")/.."
burst=${1:-100000}
rate=${2:-2000}
steady_s=${3:-10}
build=${BUILD_DIR:-build}
apns_connections=2

for tool in nghttpd h2load openssl python3 redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "broker_bench.sh: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ "${BROKER_BENCH_NO_BUILD:-0}" != 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target herald seed_devices seed_alarms >/dev/null
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

work=$(mktemp -d /tmp/herald-broker-bench-XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# Throwaway PKI: CA, server certificate for 127.0.0.1, APNs .p8 key (PKCS#8 P-256).
pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=herald-bench-ca \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/san.cnf"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 1 \
  -extfile "$pki/san.cnf" -out "$pki/server.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/AuthKey_TESTKEY123.p8" 2>/dev/null

# Docroot: the 10 device tokens bench/seed_devices.cpp gives its devices
# (a fixed 63-digit prefix + the device number mod 10). A token missing here
# would be answered 404 and stop the run (see the progress loop).
apns_port=$(free_port)
python3 - "$work" "$apns_port" <<'PY'
import base64, json, os, sys, time
work, port = sys.argv[1], sys.argv[2]
dev = os.path.join(work, "docroot", "3", "device")
os.makedirs(dev)
with open(os.path.join(work, "uris.txt"), "w") as uris:
    for d in range(10):
        token = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f%d" % d
        open(os.path.join(dev, token), "w").close()
        uris.write("https://127.0.0.1:%s/3/device/%s\n" % (port, token))
# An alarm notification of the size Herald sends (title, body, custom data).
compact = lambda o: json.dumps(o, separators=(",", ":"))
with open(os.path.join(work, "apns.json"), "w") as f:
    f.write(compact({"aps": {"alert": {"title": "Meeting: Quarterly review",
                                       "body": "Starts at 14:00 (in 15 minutes), Room 4"}, "sound": "default"},
                     "herald": {"appointment_id": "100042", "event": "AppointmentAlarm"}}))
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
with open(os.path.join(work, "jwt.txt"), "w") as f:
    f.write(".".join([b64(b'{"alg":"ES256","kid":"TESTKEY123"}'),
                      b64(('{"iss":"TEAM123456","iat":%d}' % int(time.time())).encode()), b64(os.urandom(64))]))
PY
nghttpd -a 127.0.0.1 -d "$work/docroot" "$apns_port" "$pki/server.key" "$pki/server.pem" >"$work/nghttpd.log" 2>&1 &
server_pid=$!
pids+=($server_pid)
for _ in $(seq 100); do
  h2load -n 1 -c 1 -i "$work/uris.txt" 2>/dev/null | grep -q '1 succeeded' && break
  sleep 0.05
done

# Pinning: on a 2-core machine the kernel tends to wake Redis and nghttpd on
# Herald's core (each send wakes its peer), so Herald sits runnable behind
# them while the other core idles, and the rate says more about the
# scheduler than about Herald (on the development machine: ~10,000/s
# unpinned, ~16,800/s pinned, same build, same CPU per notification). Pinned,
# every process of every case (and the reference) runs where the others do
# not steal its core; the A/B baseline is pinned the same way.
pin_on=0
[ "${BROKER_BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && pin_on=1
pin() { [ "$pin_on" = 1 ] && taskset -a -p "$1" "$2" >/dev/null; return 0; }  # pin <cpu mask> <pid>
pin 2 "$server_pid"

tck=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
calc() { awk "BEGIN{printf \"$1\", $2}"; }
redis_used_memory() { redis-cli -p "$redis_port" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }
fmt() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# The reference: h2load against the same server, as many requests as the burst sends.
reference() {
  local n=$(( burst * 2 )) out
  local pin_cmd=()
  [ "$pin_on" = 1 ] && pin_cmd=(taskset 1)
  out=$(timeout 120 "${pin_cmd[@]}" h2load -n "$n" -c "$apns_connections" -m 100 --data="$work/apns.json" \
    -H "authorization: bearer $(cat "$work/jwt.txt")" -H 'apns-id: 6d7b1c4e-25a4-8f3e-9a51-0c3e8f1b2d47' \
    -H 'apns-topic: com.example.herald' -H 'apns-push-type: alert' -H 'apns-priority: 10' \
    -H 'apns-expiration: 1767225600' -H 'content-type: application/json' -i "$work/uris.txt" 2>&1 || true)
  if grep -q "$n succeeded" <<<"$out" && grep -q "$n 2xx" <<<"$out"; then
    sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
  else
    echo 0
  fi
}

# run_case label herald_binary seed_dir mode count rate -> prints and sets $result (one "key=value ..." line)
run_case() {
  local label=$1 herald_bin=$2 seeds=$3 mode=$4 count=$5 r=$6
  local dir=$work/$label-$mode redis_port http_port
  redis_port=$(free_port); http_port=$(free_port)
  mkdir -p "$dir"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize no >"$dir/redis.log" 2>&1 &
  local redis_pid=$!
  pids+=($redis_pid)
  pin 2 "$redis_pid"
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  cat >"$dir/herald.yaml" <<YAML
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
      key_file: $pki/AuthKey_TESTKEY123.p8
      topic: com.example.herald
      endpoint: https://127.0.0.1:$apns_port
      ca_file: $pki/ca.pem
      connections: $apns_connections
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
  # BROKER_BENCH_TRACE=off: Herald under test keeps no delivery trace (the
  # baseline may predate the trace and its config key).
  local trace=${BROKER_BENCH_TRACE:-on}
  [ "$label" = baseline ] && trace=${BROKER_BENCH_BASELINE_TRACE:-on}
  if [ "$trace" = off ]; then
    printf 'trace:\n  max_events: 0\n' >>"$dir/herald.yaml"
  fi
  "$seeds/seed_devices" "$redis_port" bench 10000 2 apple >/dev/null
  local t0_ms=$(( $(date +%s%3N) + 600000 ))  # far ahead while seeding; moved below
  "$seeds/seed_alarms" "$redis_port" bench "$count" 10000 "$t0_ms" "$mode" "$r" >/dev/null
  local redis_cpu0 server_cpu0
  local herald_pids=() http_ports=() d dport p
  for d in $(seq "${HERALD_DAEMONS:-1}"); do
    dport=$http_port
    [ "$d" -gt 1 ] && dport=$(free_port)
    sed "s/listen: 127.0.0.1:$http_port/listen: 127.0.0.1:$dport/" "$dir/herald.yaml" >"$dir/herald-$d.yaml"
    env ${HERALD_ENV:-} "$herald_bin" serve --config "$dir/herald-$d.yaml" 2>"$dir/herald-$d.log" &
    herald_pids+=($!); pids+=($!); http_ports+=($dport)
    pin "$([ "${HERALD_THREADS:-1}" -gt 1 ] && echo 3 || echo 1)" "$!"
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$dport/readyz" >/dev/null && break; sleep 0.05; done
  done
  local herald_pid=${herald_pids[0]} herald_cpu=0
  # Herald's start-up (catalogs, time zones, TLS) is not counted.
  for p in "${herald_pids[@]}"; do herald_cpu=$(calc %.2f "$herald_cpu - $(cpu_s "$p")"); done
  # Move the whole schedule to start 2 s from now (same spacing).
  local start_ms=$(( $(date +%s%3N) + 2000 ))
  redis-cli -p "$redis_port" eval "
    local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #ids, 2 do redis.call('ZADD', KEYS[1], tonumber(ids[i+1]) - tonumber(ARGV[1]) + tonumber(ARGV[2]), ids[i]) end
    return #ids / 2" 1 bench:alarms "$t0_ms" "$start_ms" >/dev/null
  # Redis's CPU and commands are counted from here: seeding and this move excluded.
  redis_cpu0=$(cpu_s "$redis_pid"); server_cpu0=$(cpu_s "$server_pid")
  redis-cli -p "$redis_port" config resetstat >/dev/null
  local redis_mem0
  redis_mem0=$(redis_used_memory)
  redis-cli -p "$redis_port" xadd bench:alarms:changes '*' due "$start_ms" >/dev/null  # wake the timer
  if [ -n "${PERF_OUT:-}" ] && [ "$mode" = burst ] && [ "$label" = herald ]; then
    perf record ${PERF_ARGS:--g} -o "$PERF_OUT" -p "$herald_pid" -- sleep 8 >/dev/null 2>&1 &
  fi
  local want=$(( count * 2 )) got=0 other=0 now_ms
  # Progress polls disturb what they measure: forking curl, awk and a
  # subshell for each one cost milliseconds of CPU on this kind of VM, on
  # whichever core the kernel picked, preempting a pinned process (the
  # steady case's alarms over 8 ms came in clusters every ~0.6 s with a
  # 0.5 s poll; p50 <= 5-10 ms with a 50 ms poll against <= 1 ms without).
  # So one resident poller does it (below); the burst's elapsed time needs
  # a fine poll (50 ms), and the steady case, whose figure is Herald's own
  # latency histogram, does not poll until the last alarm is due.
  local poll_s=0.05
  if [ "$mode" = steady ]; then
    poll_s=0.5
    local quiet_s
    quiet_s=$(calc %.3f "($start_ms + $count * 1000 / $r - $(date +%s%3N)) / 1000")
    if awk "BEGIN{exit !($quiet_s > 0)}"; then sleep "$quiet_s"; fi
  fi
  local deadline=$(( $(date +%s) + ${BENCH_TIMEOUT:-300} ))
  # One resident poller (keep-alive, no fork per poll) prints "delivered
  # other" when done; its status says how it ended (0 all delivered, 1 some
  # were not, 2 timeout).
  local progress rc=0
  progress=$(python3 - "$want" "$poll_s" "${BENCH_TIMEOUT:-300}" "${http_ports[@]}" <<'PY'
import http.client, re, sys, time
want, poll, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
conns = [http.client.HTTPConnection("127.0.0.1", int(p), timeout=10) for p in sys.argv[4:]]
counter = re.compile(rb'^herald_broker_notifications_total\{kind="alarm",outcome="([^"]*)"\} (\S+)$', re.M)
deadline = time.monotonic() + timeout
while True:
    got = other = 0
    for c in conns:
        try:
            c.request("GET", "/metrics")
            body = c.getresponse().read()
        except (OSError, http.client.HTTPException):
            c.close()  # opened again by the next request
            continue
        for outcome, value in counter.findall(body):
            if outcome == b"delivered":
                got += int(float(value))
            else:
                other += int(float(value))
    status = 0 if got >= want else 1 if other > 0 else 2 if time.monotonic() >= deadline else None
    if status is not None:
        print(got, other)
        sys.exit(status)
    time.sleep(poll)
PY
  ) || rc=$?
  got=${progress% *} other=${progress#* }
  if [ "$rc" = 1 ]; then
    echo "broker_bench.sh: $other notifications were not delivered (work dir $work):" >&2
    curl -s "http://127.0.0.1:$http_port/metrics" | grep -E '^herald_(broker_notifications|push)' >&2
    exit 1
  elif [ "$rc" != 0 ]; then
    echo "broker_bench.sh: timeout or poller failure (status $rc): ${got:-?} of $want (work dir $work)" >&2
    curl -s "http://127.0.0.1:$http_port/metrics" | grep -E "^herald_(broker|push)" >&2
    exit 1
  fi
  now_ms=$(date +%s%3N)
  local metrics rss_kb redis_cpu server_cpu
  metrics=$(curl -s "http://127.0.0.1:$http_port/metrics")
  echo "$metrics" >"$dir/metrics.txt"  # KEEP=1 keeps it
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$herald_pid/status")
  for p in "${herald_pids[@]}"; do herald_cpu=$(calc %.2f "$herald_cpu + $(cpu_s "$p")"); done
  redis_cpu=$(calc %.2f "$(cpu_s "$redis_pid") - $redis_cpu0")
  server_cpu=$(calc %.2f "$(cpu_s "$server_pid") - $server_cpu0")
  # Redis commands per notification (Herald's start-up and the bench's own
  # polling included; both are small next to 2 per alarm), top ones named.
  local calls
  calls=$(redis-cli -p "$redis_port" info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$want" '
    /^cmdstat_/ { sub("cmdstat_", "", $1); total += $3; c[$1] = $3; u[$1] = $5 }
    END { printf "redis_calls_per_notification=%.2f", total / n;
      top = ""; for (k in c) if (c[k] / n >= 0.05 || u[k] / n >= 0.5) top = top sprintf("%s%s:%.2f(%.2fus)", top == "" ? "" : ",", k, c[k] / n, u[k] / n);
      printf " redis_calls=%s", top }')
  local pct
  pct=$(echo "$metrics" | awk -F'[{}" ]+' '
    /^herald_broker_due_to_sent_seconds_bucket/ { le=$3; n=$NF; b[++k]=le; c[k]=n }
    /^herald_broker_due_to_sent_seconds_count/ { total=$NF }
    END { p50=""; p99="";
      for (i=1;i<=k;i++) { if (p50=="" && c[i]>=total*0.5) p50=b[i]; if (p99=="" && c[i]>=total*0.99) p99=b[i] }
      printf "due_to_sent_p50<=%ss due_to_sent_p99<=%ss", p50, p99 }')
  # What the run left in Redis (delivery records, the trace), per notification.
  local redis_mem_delta=$(( $(redis_used_memory) - redis_mem0 ))
  local elapsed_ms=$(( now_ms - start_ms ))
  result="$label $mode: alarms=$count notifications=$got/$want elapsed_s=$(calc %.2f "$elapsed_ms/1000")"
  result+=" notifications_per_s=$(calc %.0f "$got*1000/$elapsed_ms") $pct herald_peak_rss_kb=$rss_kb daemons=${#herald_pids[@]}"
  result+=" $calls herald_cpu_s=$herald_cpu redis_cpu_s=$redis_cpu server_cpu_s=$server_cpu"
  result+=" herald_us_per_notification=$(calc %.1f "$herald_cpu*1e6/$want") redis_us_per_notification=$(calc %.1f "$redis_cpu*1e6/$want")"
  result+=" server_us_per_notification=$(calc %.1f "$server_cpu*1e6/$want") server_cpu_share=$(calc %.2f "$server_cpu/($herald_cpu+0.001)")"
  result+=" redis_memory_mb=$(calc %.1f "$redis_mem_delta/1048576") redis_bytes_per_notification=$(calc %.0f "$redis_mem_delta/$want")"
  echo "$result"
  kill "${herald_pids[@]}" "$redis_pid" 2>/dev/null || true
  wait "${herald_pids[@]}" "$redis_pid" 2>/dev/null || true
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

ref=$(reference)
result=
run_case herald "$build/herald" "$build/bench" burst "$burst" 1
herald_line=$result
baseline_line=
if [ -n "${BROKER_BENCH_BASELINE:-}" ]; then
  if [ -d "$BROKER_BENCH_BASELINE" ]; then
    base_bin=$BROKER_BENCH_BASELINE/herald base_seeds=$BROKER_BENCH_BASELINE/bench
    [ -x "$base_seeds/seed_alarms" ] || base_seeds=$build/bench
  else
    base_bin=$BROKER_BENCH_BASELINE base_seeds=$build/bench
  fi
  run_case baseline "$base_bin" "$base_seeds" burst "$burst" 1
  baseline_line=$result
fi
if [ "${HERALD_SKIP_STEADY:-0}" != 1 ]; then
  run_case herald "$build/herald" "$build/bench" steady $(( rate * steady_s )) "$rate"
fi
echo "provider server: nghttpd (1 worker, answers from memory); h2load against it in the same run, $apns_connections connections, -m 100: $(fmt "$ref") req/s"
echo "placement: $([ "$pin_on" = 1 ] && echo "pinned: herald and h2load on CPU 0, redis-server and nghttpd on CPU 1" || echo "not pinned (the kernel places every process)")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"

herald_rate=$(field notifications_per_s "$herald_line")
share=$(field server_cpu_share "$herald_line")
status=0
if ! awk "BEGIN{exit !($ref > $herald_rate)}"; then
  msg="!!! REFERENCE NOT FASTER THAN HERALD: h2load got $(fmt "$ref") req/s from the provider server, Herald $(fmt "$herald_rate")/s; the server or the machine is the bottleneck"
  echo "$msg"
  echo "$msg" >&2  # twice, not through tee /dev/stderr (reopening a redirected stderr truncates it)
  status=3
fi
if ! awk "BEGIN{exit !($share < 1)}"; then
  msg="!!! THE PROVIDER SERVER COST MORE CPU THAN HERALD (share $share): it is not a cheap reference"
  echo "$msg"
  echo "$msg" >&2  # twice, not through tee /dev/stderr (reopening a redirected stderr truncates it)
  status=3
fi
last="broker_bench.sh result: burst herald $(fmt "$herald_rate") notifications/s vs h2load $(fmt "$ref") req/s on the same server = $(calc %.2f "$herald_rate/($ref+0.001)"); server CPU share $share of herald's; herald $(field herald_us_per_notification "$herald_line") us CPU, redis $(field redis_us_per_notification "$herald_line") us CPU per notification"
if [ -n "$baseline_line" ]; then
  base_rate=$(field notifications_per_s "$baseline_line")
  last+="; baseline $(fmt "$base_rate")/s, herald/baseline = $(calc %.2f "$herald_rate/($base_rate+0.001)")"
fi
echo "$last"
exit $status

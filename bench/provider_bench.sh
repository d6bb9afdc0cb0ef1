#!/usr/bin/env bash
# Provider benchmark: Herald's APNs and FCM send paths against a local TLS
# HTTP/2 server (nghttpd), over 1 and over 4 connections (4 also with
# providers.threads 2: provider_bench --threads 2, binary "herald-t2"), with h2load against
# the same server in the same run as the reference, and Herald's RSS after
# every 50,000 results. Loopback only; every process ends by itself (bounded
# counts, `timeout`); the temp dir is removed on exit.
#
# Usage: bench/provider_bench.sh [count]     (default 200000; prints Markdown)
# Env:   BUILD_DIR (default build), PROVIDER_BENCH_NO_BUILD=1 to skip the build,
#        PROVIDER_BENCH=path to measure another provider_bench binary,
#        PROVIDER_BENCH_BASELINE=path to also measure a second one (e.g. an older build)
#        right after each run of the first, against the same server (it must
#        know --same-device).
# On a shared machine run it alone, e.g. `flock /tmp/herald-build.lock bench/provider_bench.sh`.
#
# The server: nghttpd answering every request from memory. Every notification
# goes to ONE device path (provider_bench --same-device; /3/device/<64 hex>)
# and the FCM send path, each an empty or small file of the docroot that
# nghttpd keeps open, so every POST is answered 200 without a file lookup
# (nghttpd reads and drops the body). One file per device path made nghttpd
# the bottleneck (it opens each file): then h2load itself got only ~41,600
# req/s from it. nghttpd's default SETTINGS_MAX_CONCURRENT_STREAMS is 100, so
# h2load runs with -m 100; it sends what Herald sends: the same path, the same
# payload bytes, the same headers with values of the same length (a
# JWT-shaped bearer token).
#
# The reference must be faster than what it measures: the script checks that
# h2load's rate beats Herald's in every row, says so loudly when it does not
# (exit status 3), and prints as its LAST line Herald's rate, h2load's rate in
# the same run and their ratio for every row. A row whose notifications were
# not all delivered names the other results by reason in its "delivered"
# cell and on stderr; provider_bench itself reports on stderr any 5 s
# without a result while it runs ("provider_bench: stalled ...").
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200000}
build=${BUILD_DIR:-build}
bench=${PROVIDER_BENCH:-$build/bench/provider_bench}

for tool in nghttpd h2load openssl python3; do
  command -v "$tool" >/dev/null || { echo "provider_bench.sh: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ "${PROVIDER_BENCH_NO_BUILD:-0}" != 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target provider_bench -j"$(nproc)" >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/herald-provider-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Throwaway PKI: CA, server certificate for 127.0.0.1, APNs .p8 key (PKCS#8 P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=herald-bench-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/san.cnf" -out "$work/server.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/AuthKey_BENCHKEY01.p8" 2>/dev/null

# Docroot, h2load's inputs: the one device path provider_bench --same-device
# uses (hex of 0x5eed0000, 64 digits), payloads byte for byte as Herald builds them.
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
python3 - "$work" "$count" "$port" <<'PY'
import base64, json, os, sys, time
work, count, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dev = os.path.join(work, "docroot", "3", "device")
os.makedirs(dev)
fcm = os.path.join(work, "docroot", "v1", "projects", "herald-bench")
os.makedirs(fcm)
with open(os.path.join(fcm, "messages:send"), "w") as f:
    f.write('{"name":"projects/herald-bench/messages/0"}')
token = "%064x" % 0x5EED0000
open(os.path.join(dev, token), "w").close()
with open(os.path.join(work, "apns-uri.txt"), "w") as f:
    f.write("https://127.0.0.1:%s/3/device/%s" % (port, token))
compact = lambda o: json.dumps(o, separators=(",", ":"))
custom = {"appointment_id": "42", "event": "AppointmentAlarm"}
alert = {"title": "Meeting", "body": "Starts at 14:00 (in 15 minutes), Room 4"}
with open(os.path.join(work, "apns.json"), "w") as f:
    f.write(compact({"aps": {"alert": alert, "sound": "default"}, "herald": custom}))
with open(os.path.join(work, "fcm.json"), "w") as f:
    f.write(compact({"message": {"token": "bench-fcm-token-0", "notification": alert,
                                 "data": {"herald": compact(custom)}, "android": {"priority": "HIGH"}}}))
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
jwt = ".".join([b64(b'{"alg":"ES256","kid":"BENCHKEY01"}'),
                b64(('{"iss":"BENCHTEAM1","iat":%d}' % int(time.time())).encode()), b64(os.urandom(64))])
with open(os.path.join(work, "jwt.txt"), "w") as f:
    f.write(jwt)
PY

nghttpd -a 127.0.0.1 -d "$work/docroot" "$port" "$work/server.key" "$work/server.pem" >"$work/nghttpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  h2load -n 1 -c 1 "https://127.0.0.1:$port/v1/projects/herald-bench/messages:send" 2>/dev/null | grep -q '1 succeeded' && break
  sleep 0.05
done

jwt=$(cat "$work/jwt.txt")
apns_headers=(-H "authorization: bearer $jwt" -H 'apns-id: 6d7b1c4e-25a4-8f3e-9a51-0c3e8f1b2d47'
  -H 'apns-topic: com.example.herald' -H 'apns-push-type: alert' -H 'apns-priority: 10' -H 'apns-expiration: 0'
  -H 'content-type: application/json')
fcm_headers=(-H 'content-type: application/json; charset=utf-8' -H 'authorization: Bearer bench-access-token')

# h2load: prints req/s (or "failed").
run_h2load() {  # provider connections
  local out
  if [ "$1" = apns ]; then
    out=$(timeout 120 h2load -n "$count" -c "$2" -m 100 --data="$work/apns.json" "${apns_headers[@]}" \
      "$(cat "$work/apns-uri.txt")" 2>&1 || true)
  else
    out=$(timeout 120 h2load -n "$count" -c "$2" -m 100 --data="$work/fcm.json" "${fcm_headers[@]}" \
      "https://127.0.0.1:$port/v1/projects/herald-bench/messages:send" 2>&1 || true)
  fi
  grep -q "$count succeeded" <<<"$out" && grep -q "$count 2xx" <<<"$out" || { echo failed; return; }
  sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

# provider_bench: key=value lines.
run_herald() {  # binary provider connections [threads]
  local bin=$1 threads=${4:-1}
  shift
  local extra=()
  if [ "$1" = apns ]; then
    extra=(--apns-key "$work/AuthKey_BENCHKEY01.p8" --key-id BENCHKEY01 --team-id BENCHTEAM1 --topic com.example.herald)
  else
    extra=(--fcm-access-token bench-access-token)
  fi
  timeout 120 "$bin" --provider "$1" --endpoint "https://127.0.0.1:$port" --ca-file "$work/ca.pem" \
    --count "$count" --connections "$2" --concurrency 1000 --same-device "${extra[@]}" \
    $([ "$threads" = 1 ] || echo --threads "$threads") || echo "failed=1"
}
source bench/report.sh

# Warm-up (TLS, nghttpd's file cache), not reported.
run_h2load apns 1 >/dev/null

# A baseline must send to one device path too (older builds lack --same-device:
# build that revision with this tool's --same-device option, or go without).
baseline=${PROVIDER_BENCH_BASELINE:-}
if [ -n "$baseline" ] && grep -q 'unknown option' <<<"$("$baseline" --same-device 2>&1 || true)"; then
  echo "!!! PROVIDER_BENCH_BASELINE=$baseline does not know --same-device: no baseline rows"
  echo "!!! PROVIDER_BENCH_BASELINE=$baseline does not know --same-device: no baseline rows" >&2
  baseline=
fi
rows=() summary=() slow_reference=()
row() {  # label provider connections ceiling output
  local out=$5 rate ratio=n/a
  rate=$(val notifications_per_s "$out")
  [ "$4" = failed ] && slow_reference+=("$2/$3: h2load failed against the server")
  if [ -n "$rate" ] && [ "$4" != failed ]; then
    ratio=$(python3 -c "print(f'{$rate / $4:.2f}')")
    python3 -c "import sys; sys.exit(0 if $4 > $rate else 1)" ||
      slow_reference+=("$2/$3 $1: h2load $(fmt "$4") req/s is not faster than $(fmt "$rate")/s")
  fi
  summary+=("$2 c$3 $1 $(fmt "$rate")/s vs h2load $(fmt "$4")/s = $ratio")
  # Results other than delivered, by reason, in the delivered cell (and on
  # stderr at once, with the longest time without any result).
  local delivered failures
  delivered=$(val outcome_delivered "$out")
  if [ "${delivered:-0}" != "$count" ]; then
    failures=$(sed -n 's/^reason \(.*\): \([0-9]*\)$/\1 \2/p' <<<"$out" | paste -sd, - | sed 's/,/, /g')
    delivered="${delivered:-0} (not delivered: ${failures:-no result})"
    echo "!!! $2/$3 $1: $delivered; longest time without a result $(val longest_gap_ms "$out") ms" >&2
  fi
  rows+=("| $2 | $3 | $1 | $(fmt "$rate") | $(val latency_p50_ms "$out") ms | $(val latency_p99_ms "$out") ms | $(fmt "$4") | $ratio | $delivered | $(val rss_kb_after_50000 "$out") | $(val "rss_kb_after_$count" "$out") | $(val peak_rss_kb "$out") |")
}
for provider in apns fcm; do
  for conns in 1 4; do
    ceiling=$(run_h2load "$provider" "$conns")
    row herald "$provider" "$conns" "$ceiling" "$(run_herald "$bench" "$provider" "$conns")"
    if [ "$conns" -gt 1 ]; then
      row herald-t2 "$provider" "$conns" "$ceiling" "$(run_herald "$bench" "$provider" "$conns" 2)"
    fi
    if [ -n "$baseline" ]; then
      row baseline "$provider" "$conns" "$ceiling" "$(run_herald "$baseline" "$provider" "$conns")"
    fi
  done
done

finish_report "provider_bench.sh: $count notifications per run to one device path, concurrency 1000, nghttpd -m 100 (1 worker), build $build_type" \
  "| provider | connections | binary | notifications/s | p50 | p99 | h2load req/s (same server) | ratio to h2load | delivered (200) | RSS KiB after 50k | RSS KiB after $count | peak RSS KiB |" \
  "the server or the machine is the bottleneck" \
  "provider_bench.sh result (herald/s vs h2load req/s, same run = ratio)"

#!/usr/bin/env bash
# WNS and Web Push benchmark: Herald's send paths (provider_bench --provider
# wns|webpush: token or VAPID JWT, toast XML or RFC 8291 encryption per
# message, pool, classification) against the mock services in their
# validation-off mode (mock_push_server --no-validate: every send answered at
# once from memory, nothing verified or decrypted), over HTTP/1.1 (the mock
# started --http1-only, so ALPN decides HTTP/1.1) and over HTTP/2 (ALPN
# decides h2). The reference runs in the same run against the same mock
# process: wrk (HTTP/1.1 keep-alive, the same number of connections, one
# request at a time on each, like Herald's HTTP/1.1 pool) and h2load (HTTP/2,
# the same number of connections, -m 100 = the mock's
# SETTINGS_MAX_CONCURRENT_STREAMS). Both send what Herald sends: the request
# of `provider_bench --print-request` (same path, headers, body bytes).
# Loopback only; every process ends by itself (bounded counts, `timeout`);
# the temp dir is removed on exit.
#
# Usage: bench/platforms_bench.sh [count]     (default 50000; prints Markdown)
# Env:   BUILD_DIR (default build), PLATFORMS_BENCH_NO_BUILD=1 to skip the build,
#        H1_CONNECTIONS (default 4), H2_CONNECTIONS (default 1),
#        WRK_SECONDS (default 8: wrk runs for a duration, not a count).
# On a shared machine run it alone, e.g. `flock /tmp/herald-build.lock bench/platforms_bench.sh`.
#
# CPU split: Herald's bench process reports its own CPU time (getrusage);
# the mock's comes from /proc/<pid>/stat before and after each measured run,
# the reference tool's from its rusage. On 2 cores the client and the
# single-threaded mock compete for the same CPUs, so the columns say who used
# what while the rate was measured.
#
# The reference must be faster than what it measures: the script checks that
# the reference's rate beats Herald's in every row, says so loudly when it
# does not (exit status 3), and prints as its LAST line Herald's rate, the
# reference's rate in the same run and their ratio for every row.
# shellcheck disable=SC2154  # port_<mock> and pid_<mock> are set by start_mock (printf -v)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-50000}
build=${BUILD_DIR:-build}
h1_conns=${H1_CONNECTIONS:-4}
h2_conns=${H2_CONNECTIONS:-1}
wrk_seconds=${WRK_SECONDS:-8}
bench=$build/bench/provider_bench
mock=$build/tests/mocks/mock_push_server

for tool in wrk h2load openssl python3; do
  command -v "$tool" >/dev/null || { echo "platforms_bench.sh: $tool missing (scripts/install-deps.sh, HERALD_WITH_BENCH_TOOLS=1)" >&2; exit 1; }
done
if [ "${PLATFORMS_BENCH_NO_BUILD:-0}" != 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target provider_bench mock_push_server -j"$(nproc)" >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")
clk_tck=$(getconf CLK_TCK)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/herald-platforms-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$mock" --generate-pki "$work/pki" >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/vapid.pem" 2>/dev/null
vapid_public=$(openssl pkey -in "$work/vapid.pem" -pubout -outform DER 2>/dev/null | tail -c 65 |
  python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.stdin.buffer.read()).rstrip(b"=").decode())')

# start_mock NAME provider [--http1-only]: sets port_NAME and pid_NAME.
start_mock() {
  local name=$1 provider=$2
  shift 2
  local extra=()
  [ "$provider" = webpush ] && extra=(--vapid-public-key "$vapid_public")
  "$mock" "--$provider" --pki "$work/pki" --no-validate "$@" "${extra[@]}" >"$work/mock-$name.out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    grep -q '^port=' "$work/mock-$name.out" && break
    sleep 0.05
  done
  local port
  port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$work/mock-$name.out")
  [ -n "$port" ] || { echo "platforms_bench.sh: mock $name did not start: $(cat "$work/mock-$name.out")" >&2; exit 1; }
  printf -v "port_$name" '%s' "$port"
  printf -v "pid_$name" '%s' "$pid"
}
start_mock wns_h1 wns --http1-only
start_mock wns_h2 wns
start_mock webpush_h1 webpush --http1-only
start_mock webpush_h2 webpush

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
seconds_of() { python3 -c "print(f'{$1 / $clk_tck:.2f}')"; }
# Runs a command; its CPU seconds (user+sys, with children) go to $work/cpu.
timed() {
  python3 - "$work/cpu" "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f" % (r.ru_utime + r.ru_stime))
sys.exit(rc)
PY
}

# The request Herald sends, for the references: wrk Lua script, h2load headers.
request_of() {  # provider port -> $work/req-<provider>.{txt,txt.body,lua}
  local provider=$1 port=$2 req="$work/req-$1.txt"
  "$bench" --provider "$provider" --endpoint "https://127.0.0.1:$port" --same-device --vapid-key "$work/vapid.pem" \
    --print-request "$req" >/dev/null
  python3 - "$req" <<'PY'
import json, sys
req = sys.argv[1]
lines = open(req).read().splitlines()
method = next(l[7:] for l in lines if l.startswith("method "))
path = next(l[5:] for l in lines if l.startswith("path "))
headers = [l[7:].split(": ", 1) for l in lines if l.startswith("header ")]
with open(req + ".lua", "w") as f:
    f.write("wrk.method = %s\nwrk.path = %s\n" % (json.dumps(method), json.dumps(path)))
    for name, value in headers:
        f.write("wrk.headers[%s] = %s\n" % (json.dumps(name), json.dumps(value)))
    f.write('local f = assert(io.open(%s, "rb"))\nwrk.body = f:read("*a")\nf:close()\n' % json.dumps(req + ".body"))
with open(req + ".h2load", "w") as f:
    f.write("%s\n" % path)
    for name, value in headers:
        f.write("%s: %s\n" % (name, value))
PY
}
request_of wns "$port_wns_h1"
request_of webpush "$port_webpush_h1"

# References: print req/s (or "failed").
run_wrk() {  # provider port connections seconds
  local out
  out=$(timed timeout $(($4 + 30)) wrk -t1 -c"$3" -d"$4"s -s "$work/req-$1.txt.lua" "https://127.0.0.1:$2" 2>&1 || true)
  if grep -q 'Non-2xx\|Socket errors' <<<"$out" || ! grep -q 'Requests/sec' <<<"$out"; then
    echo "$out" >>"$work/reference-errors.log"
    echo failed
    return
  fi
  sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out"
}
run_h2load() {  # provider port connections count
  local out path args=()
  path=$(head -1 "$work/req-$1.txt.h2load")
  while IFS= read -r h; do args+=(-H "$h"); done < <(tail -n +2 "$work/req-$1.txt.h2load")
  out=$(timed timeout 120 h2load -n "$4" -c "$3" -m 100 --data="$work/req-$1.txt.body" "${args[@]}" \
    "https://127.0.0.1:$2$path" 2>&1 || true)
  if ! grep -q "$4 succeeded" <<<"$out" || ! grep -q "$4 2xx" <<<"$out"; then
    echo "$out" >>"$work/reference-errors.log"
    echo failed
    return
  fi
  sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}
run_herald() {  # provider port connections
  timeout 300 "$bench" --provider "$1" --endpoint "https://127.0.0.1:$2" --ca-file "$work/pki/ca.pem" \
    --count "$count" --connections "$3" --concurrency 1000 --same-device --vapid-key "$work/vapid.pem" \
    2>"$work/herald.err" || echo "failed=1"
}
source bench/report.sh

# Warm-up (TLS session setup, the mocks' first allocations), not reported.
run_wrk wns "$port_wns_h1" 1 1 >/dev/null
run_h2load wns "$port_wns_h2" 1 2000 >/dev/null

rows=() summary=() slow_reference=()
for provider in wns webpush; do
  for proto in http/1.1 h2; do
    if [ "$proto" = h2 ]; then name=${provider}_h2 conns=$h2_conns tool=h2load; else name=${provider}_h1 conns=$h1_conns tool=wrk; fi
    port_var=port_$name pid_var=pid_$name
    port=${!port_var} pid=${!pid_var}

    before=$(cpu_ticks "$pid")
    out=$(run_herald "$provider" "$port" "$conns")
    mock_herald=$(($(cpu_ticks "$pid") - before))
    selected=$(sed -n 's/.*event=alpn_selected.*protocol=\([^ ]*\).*/\1/p' "$work/herald.err" | head -1)
    [ "$selected" = "$proto" ] || slow_reference+=("$provider $proto: Herald negotiated '${selected:-nothing}', expected $proto")

    before=$(cpu_ticks "$pid")
    if [ "$tool" = wrk ]; then ceiling=$(run_wrk "$provider" "$port" "$conns" "$wrk_seconds"); else ceiling=$(run_h2load "$provider" "$port" "$conns" "$count"); fi
    mock_reference=$(($(cpu_ticks "$pid") - before))
    reference_cpu=$(cat "$work/cpu" 2>/dev/null || echo n/a)

    rate=$(val notifications_per_s "$out") ratio=n/a
    [ "$ceiling" = failed ] && slow_reference+=("$provider $proto: $tool failed against the mock")
    if [ -n "$rate" ] && [ "$ceiling" != failed ]; then
      ratio=$(python3 -c "print(f'{$rate / $ceiling:.2f}')")
      python3 -c "import sys; sys.exit(0 if $ceiling > $rate else 1)" ||
        slow_reference+=("$provider $proto c$conns: $tool $(fmt "$ceiling") req/s is not faster than $(fmt "$rate")/s")
    fi
    herald_cpu=$(python3 -c "import sys; print(f'{float(sys.argv[1] or 0) + float(sys.argv[2] or 0):.2f}')" \
      "$(val cpu_user_s "$out")" "$(val cpu_sys_s "$out")")
    delivered=$(val outcome_delivered "$out")
    if [ "${delivered:-0}" != "$count" ]; then
      slow_reference+=("$provider $proto: Herald delivered ${delivered:-0} of $count ($(grep '^reason' <<<"$out" | head -3 | tr '\n' ' ' || true))")
      tail -5 "$work/herald.err" >&2
    fi
    summary+=("$provider $proto c$conns $(fmt "$rate")/s vs $tool $(fmt "$ceiling")/s = $ratio")
    rows+=("| $provider | $proto | $conns | $(fmt "$rate") | $(val latency_p50_ms "$out") ms | $(val latency_p99_ms "$out") ms | $tool $(fmt "$ceiling") | $ratio | $herald_cpu s / $(seconds_of "$mock_herald") s | $reference_cpu s / $(seconds_of "$mock_reference") s | ${delivered:-0} | $(val peak_rss_kb "$out") |")
  done
done

status=0
finish_report "platforms_bench.sh: $count notifications per Herald run to one device (concurrency 1000), wrk ${wrk_seconds}s -t1, h2load $count requests -m 100; mocks --no-validate (1 thread each); build $build_type" \
  "| provider | protocol (ALPN) | connections | Herald notifications/s | p50 | p99 | reference req/s (same mock, same run) | ratio to reference | CPU Herald / mock during Herald's run | CPU reference / mock during its run | delivered | Herald peak RSS KiB |" \
  "the mock or the machine is the bottleneck, or the run was invalid" \
  "platforms_bench.sh result (herald/s vs reference req/s, same run = ratio)" || status=$?
[ "$status" = 0 ] || { [ -f "$work/reference-errors.log" ] && tail -20 "$work/reference-errors.log" >&2; }
exit $status

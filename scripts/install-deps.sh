#!/usr/bin/env bash
# Installs the Debian 12 packages Herald needs to build, test and run, if any
# is missing. Idempotent: does nothing (quickly) when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libnghttp2-dev libssl-dev libhiredis-dev libyaml-cpp-dev libicu-dev libpugixml-dev libsystemd-dev
  libgtest-dev libgmock-dev
  libmimalloc-dev               # the daemon's allocator (HERALD_ALLOCATOR, default)
  libjemalloc-dev               # HERALD_ALLOCATOR=jemalloc
  redis-server redis-tools redis-sentinel nghttp2-client nghttp2-server
  faketime                      # the broker test of a daemon whose clock is 30 s fast
  curl ca-certificates python3 openssl   # openssl: the legacy-PKCS#12 test exports one
  clang libclang-rt-14-dev      # libFuzzer targets (tests/fuzz)
  nodejs                        # the stock SOAP client test (npm "soap")
  prometheus                    # promtool checks contrib/prometheus/herald-rules.yml
  lintian dpkg-dev file         # the Debian package test (dpkg-shlibdeps, lintian)
)
# npm may come from elsewhere on the machine (a newer one); Debian's otherwise.
command -v npm >/dev/null 2>&1 || packages+=(npm)
# bench/api_bench.sh needs wrk; perf profiles the benchmarks (bench/broker_bench.sh PERF_OUT=...).
[ "${HERALD_WITH_BENCH_TOOLS:-0}" = 1 ] && packages+=(wrk linux-perf)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged redis-server and prometheus services are not ours: tests and
# run.sh start their own Redis (and sentinels), and only promtool is used.
for service in redis-server redis-sentinel prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done

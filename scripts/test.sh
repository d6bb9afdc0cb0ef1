#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest (unit and
# integration, real redis-server and TLS HTTP/2 mocks on loopback), the
# libFuzzer targets for 30 s each, then the same tests again under ASan+UBSan.
# HERALD_SKIP_SANITIZE=1 / HERALD_SKIP_FUZZ=1 skip those passes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=$(nproc)
werror=OFF
[ "${CI:-}" = true ] && werror=ON

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_WERROR=$werror >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j2 --timeout 300

# libFuzzer targets (SOAP decoder, JSON request decoders, $select), 30 s each.
if [ "${HERALD_SKIP_FUZZ:-0}" != 1 ]; then
  ./tests/fuzz/run.sh "${HERALD_FUZZ_SECONDS:-30}"
fi

if [ "${HERALD_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON -DHERALD_BENCH=OFF -DHERALD_WERROR=$werror >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 --timeout 600
fi

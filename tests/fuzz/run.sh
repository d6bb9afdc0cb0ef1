#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# ${1:-30} seconds on a copy of the seed corpus. Needs clang-14 and
# libclang-rt-14-dev (Debian). Crashes are left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
command -v clang++ >/dev/null || { echo "clang++ not found: apt-get install clang-14 libclang-rt-14-dev" >&2; exit 2; }
cmake -S tests/fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
mkdir -p build-fuzz/artifacts
for t in soap_decoder:soap json_decoders:json parse_select:select; do
  name=${t%%:*} corpus=${t##*:}
  mkdir -p "build-fuzz/corpus/$corpus"
  cp -n tests/fuzz/corpus/$corpus/* "build-fuzz/corpus/$corpus/" 2>/dev/null || true
  echo "== fuzz_$name (${secs}s)"
  "build-fuzz/fuzz_$name" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/ "build-fuzz/corpus/$corpus" 2>&1 | tail -4
done

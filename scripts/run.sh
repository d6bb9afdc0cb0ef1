#!/usr/bin/env bash
# Installs what is missing, builds, starts a private redis-server (data under
# ./var/) and runs `herald serve` on config/herald.yaml in the foreground.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target herald

mkdir -p var/redis
redis_port=6390
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$PWD/var/redis" --appendonly yes \
  --save "" --daemonize no --logfile "$PWD/var/redis/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

listen=$(sed -n 's/^ *listen: *\([^ #]*\).*/\1/p' config/herald.yaml | head -1)
cat <<MSG
Herald API: http://$listen   (health: /healthz, readiness: /readyz, metrics: /metrics)
Redis:      127.0.0.1:$redis_port (data in ./var/redis)
Register a device, then list it (development token from config/tokens.yaml):
  curl -i -X POST http://$listen/api/v1/Agents/Pocket/RegisterDeviceForPushNotification \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' \\
    -d '{"DeviceInfo":{"DeviceName":"My iPhone","DeviceIdentifier":"iphone-1","PocketVersion":"10.2.1","Language":"en-US","PNSHandle":"a1b2c3d4","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261}}'
  curl -s -X POST http://$listen/api/v1/Agents/Pocket/GetRegisteredDevices \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' -d '{"AssociateId":919}'
Ctrl-C stops Herald and Redis.
MSG

./build/herald serve --config config/herald.yaml &
pids+=($!)
wait "${pids[-1]}"

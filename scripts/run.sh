#!/usr/bin/env bash
# Installs what is missing, builds, starts a private redis-server (data under
# ./var/), the local APNs/FCM simulators, and runs `herald serve` on
# config/herald.yaml (+ the simulators' apps section, as ./var/herald.yaml)
# in the foreground.
# Also the local WNS and Web Push simulators, with a throwaway VAPID key and
# one browser subscription (./var/web-subscription.json).
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target herald mock_push_server

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

# Local provider simulators: the mock APNs and FCM servers of the test suite
# (TLS HTTP/2 on loopback, validating like the real services), with a
# throwaway PKI under ./var/pki. Herald runs on config/herald.yaml plus an
# `apps:` section pointing at them, written to ./var/herald.yaml.
[ -f var/pki/ca.pem ] || ./build/tests/mocks/mock_push_server --generate-pki var/pki >/dev/null
./build/tests/mocks/mock_push_server --apns --pki var/pki --port 2197 >var/mock-apns.log 2>&1 &
pids+=($!)
./build/tests/mocks/mock_push_server --fcm --pki var/pki --port 9443 >var/mock-fcm.log 2>&1 &
pids+=($!)
# WNS (Microsoft devices) and Web Push (browsers) simulators (HTTP/2 via ALPN, as
# Herald negotiates it; HTTP/1.1 for clients that offer only that). A new
# VAPID key each run; the Web Push simulator creates the subscription a
# browser would hand over and writes it to ./var/web-subscription.json.
umask 077
printf 'herald-test-wns-secret\n' >var/wns-secret
rm -f var/vapid.pem
./build/herald webpush keygen --out var/vapid.pem >var/vapid.pub 2>/dev/null
umask 022
./build/tests/mocks/mock_push_server --wns --pki var/pki --port 9444 >var/mock-wns.log 2>&1 &
pids+=($!)
./build/tests/mocks/mock_push_server --webpush --pki var/pki --port 9445 --vapid-public-key "$(cat var/vapid.pub)" \
  --subscribe browser-1 --subscription-out var/web-subscription.json >var/mock-webpush.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "port=" var/mock-apns.log 2>/dev/null && grep -q "port=" var/mock-fcm.log 2>/dev/null &&
    grep -q "port=" var/mock-wns.log 2>/dev/null && grep -q "port=" var/mock-webpush.log 2>/dev/null && break
  sleep 0.05
done
sed -e "s#tokens_file: tokens.yaml#tokens_file: $PWD/config/tokens.yaml#" \
    -e "s@^  # directory: locales.*@  directory: $PWD/config/locales@" \
    -e "s@^  # table_file: timezones.yaml.*@  table_file: $PWD/config/timezones.yaml@" config/herald.yaml >var/herald.yaml
cat >>var/herald.yaml <<YAML

# Added by scripts/run.sh: the local provider simulators.
apps:
  pocket:
    apns:
      team_id: TEAM123456
      key_id: TESTKEY123
      key_file: $PWD/var/pki/AuthKey_TESTKEY123.p8
      topic: com.example.herald
      environment: production
      endpoint: https://127.0.0.1:2197
      ca_file: $PWD/var/pki/ca.pem
    fcm:
      service_account_file: $PWD/var/pki/service-account.json
      endpoint: https://127.0.0.1:9443
      ca_file: $PWD/var/pki/ca.pem
    wns:
      client_id: ms-app://s-1-15-2-herald-test
      client_secret_file: $PWD/var/wns-secret
      token_endpoint: https://127.0.0.1:9444/token
      allowed_hosts: [127.0.0.1]
      ca_file: $PWD/var/pki/ca.pem
    webpush:
      vapid_private_key_file: $PWD/var/vapid.pem
      subject: mailto:ops@example.com
      allowed_hosts: [127.0.0.1]
      ca_file: $PWD/var/pki/ca.pem
YAML
web_subscription=$(sed 's/"/\\"/g' var/web-subscription.json)

listen=$(sed -n 's/^ *listen: *\([^ #]*\).*/\1/p' config/herald.yaml | head -1)
cat <<MSG
Herald API: http://$listen   (health: /healthz, readiness: /readyz, metrics: /metrics)
Redis:      127.0.0.1:$redis_port (data in ./var/redis)
Register a device, then list it (development token from config/tokens.yaml):
  curl -i -X POST http://$listen/api/v1/Agents/Pocket/RegisterDeviceForPushNotification \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' \\
    -d '{"DeviceInfo":{"DeviceName":"My iPhone","DeviceIdentifier":"iphone-1","PocketVersion":"10.2.1","Language":"en-US","PNSHandle":"a1b2c3d4e5f60718","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261}}'
  curl -s -X POST http://$listen/api/v1/Agents/Pocket/GetRegisteredDevices \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' -d '{"AssociateId":919}'
Register a browser (Platform "Web": the PNSHandle is its push subscription JSON,
here the one the Web Push simulator on 127.0.0.1:9445 created) and a Windows device
(a WNS channel URI on the WNS simulator, 127.0.0.1:9444):
  curl -i -X POST http://$listen/api/v1/Agents/Pocket/RegisterDeviceForPushNotification \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' \\
    -d '{"DeviceInfo":{"DeviceName":"Browser","DeviceIdentifier":"browser-1","Language":"en-US","PNSHandle":"$web_subscription","Platform":"Web","TimeZoneId":261}}'
  curl -i -X POST http://$listen/api/v1/Agents/Pocket/RegisterDeviceForPushNotification \\
    -H 'Authorization: Bearer dev-token-change-me' -H 'Content-Type: application/json' \\
    -d '{"DeviceInfo":{"DeviceName":"Surface","DeviceIdentifier":"windows-1","Language":"en-US","PNSHandle":"https://127.0.0.1:9444/w/?token=windows-1","Platform":"Microsoft","TimeZoneId":261}}'
Send them a first notification (APNs, WNS and Web Push simulators; the Web Push one decrypts it):
  ./build/herald send --config var/herald.yaml --associate 919 --title Hello --body 'First notification'
Ctrl-C stops Herald, Redis and the simulators.
MSG

./build/herald serve --config var/herald.yaml &
pids+=($!)
wait "${pids[-1]}"

#!/usr/bin/env bash
# ctest driver for the npm `soap` client test: starts redis-server and
# `herald serve` on free loopback ports, installs the npm packages into the
# build tree (once), and runs client_test.js. Exits 77 (skipped) when node or
# npm is missing or the npm registry cannot be reached.
# Usage: run_test.sh HERALD_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
herald=$1 src=$2 work=$3
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (apt-get install nodejs npm)"; exit 77
fi
mkdir -p "$work"
cp "$src/tests/soap_client/package.json" "$src/tests/soap_client/client_test.js" "$work/"
if [ ! -d "$work/node_modules/soap" ]; then
  if ! (cd "$work" && npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    echo "SKIP: npm install failed (registry unreachable?):"; tail -5 "$work/npm.log"; exit 77
  fi
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port) hport=$(free_port)
run=$(mktemp -d /tmp/herald-soap-client.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run"; }
trap cleanup EXIT
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$run" >"$run/redis.log" 2>&1 &
pids+=($!)
ticket="soap-client-ticket"
sha=$(printf '%s' "$ticket" | sha256sum | cut -d' ' -f1)
cat >"$run/herald.yaml" <<YAML
server:
  listen: 127.0.0.1:$hport
redis:
  url: redis://127.0.0.1:$rport/0
  key_prefix: soapclient
auth:
  application_tokens: ["7f14c33dfe13ac4af4884e14da5760f9b930205aa8055478c3e74296470d71af"]  # sha256 of app-token
  tokens:
    - name: crm
      sha256: "$sha"
      scopes: [devices.read, devices.write, broker.run, messages.write]
      associate_id: 919
locales:
  directory: $src/config/locales
timezones:
  table_file: $src/config/timezones.yaml
YAML
"$herald" serve --config "$run/herald.yaml" >"$run/herald.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! node "$work/client_test.js" "http://127.0.0.1:$hport" "$ticket"; then
  echo "--- herald log"; tail -30 "$run/herald.log"; exit 1
fi

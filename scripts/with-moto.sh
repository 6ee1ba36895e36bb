#!/usr/bin/env bash
# Runs a command with a DynamoDB/Secrets Manager/SSM API server (moto, from .venv) listening
# on 127.0.0.1, and stops the server afterwards. The command sees its address in
# OASIS_TEST_AWS_ENDPOINT, plus dummy credentials so no real AWS account is ever touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# moto's own server, with requests serialised so its transactions are atomic (see the script).
python=$root/.venv/bin/python
[ -x "$root/.venv/bin/moto_server" ] || { echo "moto_server is not installed in .venv: run 'make tools'" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$python" "$root/scripts/moto-serial.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 1 150); do
  curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if ! curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
  echo "moto_server did not start on 127.0.0.1:$port:" >&2
  cat "$log" >&2
  exit 1
fi
export OASIS_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
"$@"

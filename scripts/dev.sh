#!/usr/bin/env bash
# Serves every function locally with `cargo lambda watch` on the embedded SQLite store,
# creating dev signing keys and demo data on first run. State lives in .oasis/ (ignored by
# git); set OASIS_DEV_DIR and PORT to run a second, separate instance.
#
# OASIS_STORE=dynamodb OASIS_AWS_ENDPOINT=http://127.0.0.1:8000 uses DynamoDB tables on a local
# DynamoDB-API server instead (e.g. `.venv/bin/moto_server -H 127.0.0.1 -p 8000`); state then
# lives in .oasis/dynamodb/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
backend=${OASIS_STORE:-sqlite}
case "$backend" in
  sqlite) state=${OASIS_DEV_DIR:-$root/.oasis} ;;
  dynamodb)
    state=${OASIS_DEV_DIR:-$root/.oasis/dynamodb}
    : "${OASIS_AWS_ENDPOINT:?OASIS_STORE=dynamodb needs OASIS_AWS_ENDPOINT, a local DynamoDB-API server such as .venv/bin/moto_server -H 127.0.0.1 -p 8000}"
    export OASIS_TABLE_PREFIX=${OASIS_TABLE_PREFIX:-oasis-local}
    # A local server accepts any credentials; fixed dummies keep real ones out of the SDK
    # (and out of the env file below).
    export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    ;;
  *) echo "OASIS_STORE must be sqlite or dynamodb" >&2; exit 2 ;;
esac
port=${PORT:-9000}
command -v cargo-lambda >/dev/null || { echo "cargo-lambda not found: run 'make dev' (it installs it into .venv)" >&2; exit 1; }
# cargo-lambda exits with status 0 and no word about the port when it cannot listen, so look
# first.
port_free() { python3 scripts/port-free.py "$port" 2>/dev/null; }
busy() {
  echo "make dev: port $port on 127.0.0.1 is already in use (another 'make dev'?). Stop that, or pick another port: PORT=9001 make dev" >&2
  exit 1
}
case "$port" in ''|*[!0-9]*) echo "make dev: PORT must be a port number, not '$port'" >&2; exit 2 ;; esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { echo "make dev: PORT must be 1-65535, not $port" >&2; exit 2; }
port_free || busy

mkdir -p "$state"
chmod 700 "$state"
cargo build --quiet -p oasis-admin
# Build each function exactly as `cargo lambda watch` will run it (`cargo run --bin <name>`), so
# the first request to a function starts a built binary instead of waiting on the compiler.
for function in token secure-data search signin; do cargo build --quiet --bin "$function"; done
admin=$root/target/debug/oasis-admin
export OASIS_STORE=$backend OASIS_SQLITE_PATH=$state/oasis.db OASIS_KEYS_FILE=$state/keys.json OASIS_JWKS_FILE=$state/jwks.json
if [ "$backend" = dynamodb ]; then
  # The README starts the server in the background just before `make dev`: give it a moment.
  for _ in $(seq 50); do curl -s -o /dev/null --max-time 1 "$OASIS_AWS_ENDPOINT" && break; sleep 0.2; done
  "$admin" tables create
fi
[ -f "$OASIS_KEYS_FILE" ] || "$admin" keys init
[ -f "$OASIS_JWKS_FILE" ] || "$admin" keys jwks > /dev/null
"$admin" dev-seed --out "$state"
"$admin" catalog load --if-empty "$root/tools/admin/data/catalog.jsonl"
if [ ! -f "$state/cursor.key" ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$state/cursor.key")
fi

cat > "$state/local.env" <<ENV
OASIS_STORE=$backend
OASIS_SQLITE_PATH=$state/oasis.db
OASIS_KEYS_FILE=$state/keys.json
OASIS_JWKS_FILE=$state/jwks.json
OASIS_CURSOR_KEY_FILE=$state/cursor.key
OASIS_ISSUER=http://127.0.0.1:$port
OASIS_AUDIENCE=oasis-api
OASIS_CORS_ALLOWED_ORIGINS=http://localhost:5173
RUST_LOG=info
ENV
if [ "$backend" = dynamodb ]; then
  cat >> "$state/local.env" <<ENV
OASIS_TABLE_PREFIX=$OASIS_TABLE_PREFIX
OASIS_AWS_ENDPOINT=$OASIS_AWS_ENDPOINT
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
ENV
fi

port_free || busy
echo "Oasis on http://127.0.0.1:$port (demo credentials: $state/demo.env)"
# shellcheck disable=SC2086 # OASIS_WATCH_ARGS is a list of extra flags
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --disable-cors \
  --env-file "$state/local.env" ${OASIS_WATCH_ARGS:-}

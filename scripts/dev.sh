#!/usr/bin/env bash
# Serves every function locally with `cargo lambda watch` on the embedded SQLite store,
# creating dev signing keys and demo data on first run. State lives in .oasis/ (ignored by
# git); set OASIS_DEV_DIR and PORT to run a second, separate instance.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${OASIS_DEV_DIR:-$root/.oasis}
port=${PORT:-9000}
command -v cargo-lambda >/dev/null || { echo "cargo-lambda not found: run 'make dev' (it installs it into .venv)" >&2; exit 1; }

mkdir -p "$state"
chmod 700 "$state"
cargo build --quiet -p oasis-admin
admin=$root/target/debug/oasis-admin
export OASIS_SQLITE_PATH=$state/oasis.db OASIS_KEYS_FILE=$state/keys.json OASIS_JWKS_FILE=$state/jwks.json
[ -f "$OASIS_KEYS_FILE" ] || "$admin" keys init
[ -f "$OASIS_JWKS_FILE" ] || "$admin" keys jwks > /dev/null
[ -f "$state/demo.env" ] || "$admin" dev-seed --out "$state"
if [ ! -f "$state/catalog.loaded" ]; then
  "$admin" catalog load "$root/shared/admin/data/catalog.jsonl"
  touch "$state/catalog.loaded"
fi
if [ ! -f "$state/cursor.key" ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$state/cursor.key")
fi

cat > "$state/local.env" <<ENV
OASIS_STORE=sqlite
OASIS_SQLITE_PATH=$state/oasis.db
OASIS_KEYS_FILE=$state/keys.json
OASIS_JWKS_FILE=$state/jwks.json
OASIS_CURSOR_KEY_FILE=$state/cursor.key
OASIS_ISSUER=http://127.0.0.1:$port
OASIS_AUDIENCE=oasis-api
OASIS_CORS_ALLOWED_ORIGINS=http://localhost:5173
RUST_LOG=info
ENV

echo "Oasis on http://127.0.0.1:$port (demo credentials: $state/demo.env)"
# shellcheck disable=SC2086 # OASIS_WATCH_ARGS is a list of extra flags
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --disable-cors \
  --env-file "$state/local.env" ${OASIS_WATCH_ARGS:-}

#!/usr/bin/env bash
# Installs Debian packages the tests and `make monitor` need, each given as COMMAND:PACKAGE
# (prometheus:prometheus, chromedriver:chromium-driver): nothing when every command is there.
# As root (CI) it installs them without letting a package start its system service (which
# would listen on every interface); otherwise it says what to run and fails.
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${missing[*]}. Install them: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
# policy-rc.d answering 101 stops the packages' post-install scripts starting their services;
# one already there is the machine's own and is kept (after saying so).
deny=/usr/sbin/policy-rc.d
made=
if [ -e "$deny" ] || [ -L "$deny" ]; then
  echo "note: keeping the existing $deny; services are stopped after the install instead" >&2
else
  printf '#!/bin/sh\nexit 101\n' > "$deny"; chmod +x "$deny"; made=1
fi
trap '[ -z "$made" ] || rm -f "$deny"' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package enables a system service listening on every interface: not here.
if printf '%s\n' "${missing[@]}" | grep -qx prometheus; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus prometheus-node-exporter 2>/dev/null || true
  fi
  if command -v service >/dev/null; then service prometheus stop >/dev/null 2>&1 || true; fi
fi
for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || { echo "${pair%%:*} still missing after installing ${pair#*:}" >&2; exit 1; }; done

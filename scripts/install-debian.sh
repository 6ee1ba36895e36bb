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
deny=/usr/sbin/policy-rc.d
made=
if [ ! -e "$deny" ]; then printf '#!/bin/sh\nexit 101\n' > "$deny"; chmod +x "$deny"; made=1; fi
trap '[ -z "$made" ] || rm -f "$deny"' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || { echo "${pair%%:*} still missing after installing ${pair#*:}" >&2; exit 1; }; done

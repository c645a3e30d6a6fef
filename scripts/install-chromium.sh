#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the dashboard's browser test
# (e2e/tests/it/dashboard.rs), unless a Chromium is already there (or CHROMIUM_PATH points at one).
# Needs root or sudo for apt-get; runs `apt-get update` first when the package is unknown.
# Usage: scripts/install-chromium.sh
set -euo pipefail
log() { echo "install-chromium: $*" >&2; }

if [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]]; then
  log "using CHROMIUM_PATH=$CHROMIUM_PATH"
  exit 0
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [[ -x "$candidate" ]]; then
    log "$("$candidate" --version 2>/dev/null || echo "$candidate") already installed"
    exit 0
  fi
done

if [[ "$(id -u)" -eq 0 ]]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  log "chromium is not installed and neither root nor sudo is available: install the 'chromium' package"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "chromium is not installed and apt-get is missing: install Chromium and set CHROMIUM_PATH"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  log "apt-get update (the package list does not know chromium yet)"
  "${sudo_cmd[@]}" apt-get update -qq
fi
log "apt-get install chromium"
if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  log "apt-get install failed; retrying after apt-get update"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

#!/usr/bin/env bash
# Installs the pinned yt-dlp into a virtualenv (default: .venv/ytdlp in the repository).
# Plain install on purpose (urllib stack, no curl_cffi): see ARCHITECTURE.md "yt-dlp".
# Usage: scripts/install-ytdlp.sh [VENV_DIR]
set -euo pipefail
YTDLP_VERSION="2026.10.26"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv_dir="${1:-$repo_root/.venv/ytdlp}"
python_bin="${PYTHON:-python3}"

if [[ -x "$venv_dir/bin/yt-dlp" ]] && [[ "$("$venv_dir/bin/yt-dlp" --version 2>/dev/null)" == "$YTDLP_VERSION" ]]; then
  echo "yt-dlp $YTDLP_VERSION already installed in $venv_dir"
  exit 0
fi
# Debian/Ubuntu ship python3 without venv/ensurepip (package python3-venv): install it when the
# virtualenv cannot be made, then try again.
if ! "$python_bin" -m venv "$venv_dir" >/dev/null 2>&1; then
  rm -rf "$venv_dir"
  if command -v apt-get >/dev/null 2>&1; then
    echo "install-ytdlp: python3 -m venv failed; installing python3-venv with apt-get" >&2
    run_as_root() {
      if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
    }
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  "$python_bin" -m venv "$venv_dir"
fi
"$venv_dir/bin/pip" install --quiet --disable-pip-version-check "yt-dlp==$YTDLP_VERSION"
echo "installed yt-dlp $("$venv_dir/bin/yt-dlp" --version) in $venv_dir"

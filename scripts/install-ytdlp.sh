#!/usr/bin/env bash
# Installs the pinned yt-dlp with its impersonation extra (curl_cffi: Chrome's TLS and HTTP/2
# fingerprint for TikTok's page requests) into a virtualenv (default: .venv/ytdlp in the repository).
# curl_cffi is pinned to the version yt-dlp's own `pin-curl-cffi` extra names for this release
# (docs/ytdlp.md "Impersonation").
# Usage: scripts/install-ytdlp.sh [VENV_DIR]
set -euo pipefail
YTDLP_VERSION="2026.10.26"
CURL_CFFI_VERSION="0.17.0"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv_dir="${1:-$repo_root/.venv/ytdlp}"
python_bin="${PYTHON:-python3}"

installed_curl_cffi() {
  "$venv_dir/bin/python" -c 'import curl_cffi; print(curl_cffi.__version__)' 2>/dev/null || true
}
if [[ -x "$venv_dir/bin/yt-dlp" ]] && [[ "$("$venv_dir/bin/yt-dlp" --version 2>/dev/null)" == "$YTDLP_VERSION" ]] \
  && [[ "$(installed_curl_cffi)" == "$CURL_CFFI_VERSION" ]]; then
  echo "yt-dlp $YTDLP_VERSION with curl_cffi $CURL_CFFI_VERSION already installed in $venv_dir"
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
"$venv_dir/bin/pip" install --quiet --disable-pip-version-check \
  "yt-dlp[curl-cffi]==$YTDLP_VERSION" "curl-cffi==$CURL_CFFI_VERSION"
# yt-dlp lists its impersonation targets only when curl_cffi loads: fail here, not in production.
if ! "$venv_dir/bin/yt-dlp" --list-impersonate-targets 2>/dev/null | grep -qi 'chrome.*curl_cffi'; then
  echo "install-ytdlp: yt-dlp cannot impersonate Chrome (curl_cffi did not load)" >&2
  exit 1
fi
echo "installed yt-dlp $("$venv_dir/bin/yt-dlp" --version) with curl_cffi $(installed_curl_cffi) in $venv_dir"

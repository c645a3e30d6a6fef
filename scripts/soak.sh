#!/usr/bin/env bash
# A bounded soak of a shared tokworks (see scripts/soak.py for what it does and checks): three
# keys submit mixed jobs for 60 s while anonymous clients hammer /health, /stats and /metrics; a
# worker is kill -9ed, Redis and Postgres are restarted; then every accepted job must have
# finished exactly once with no 5xx but documented 503s. Builds the release binaries first.
# It restarts the local Postgres: run it on a machine you own. Logs go to .tokworks/soak/.
# Usage: scripts/soak.sh [--seconds 60] [--latency-ms 20] [--pg-restart 'command']
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"
scripts/ensure-services.sh
scripts/install-ytdlp.sh
cargo build --release -q --bin tokworks-api --bin tokworks-worker --bin tokworks-sim
export YTDLP_PATH="${YTDLP_PATH:-$repo_root/.venv/ytdlp/bin/yt-dlp}"
exec python3 scripts/soak.py "$@"

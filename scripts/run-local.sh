#!/usr/bin/env bash
# Runs the whole tokworks service on loopback without Docker: makes Postgres and Redis available
# (installing them if absent), installs the pinned yt-dlp, builds the release binaries, starts the
# api and N workers (and, with --with-sim, the offline TikTok simulator as their upstream), prints
# the URL and the API key, and stops everything on Ctrl-C. Logs go to .tokworks/logs/.
# Usage: scripts/run-local.sh [--workers N] [--bind 127.0.0.1:8000] [--with-sim] [--debug]
#   --debug uses a debug build (faster to build, slower to run).
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"

worker_count=2
bind_address="${BIND_ADDR:-127.0.0.1:8000}"
with_sim=false
build_profile=release
sim_address="127.0.0.1:8899"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) worker_count="$2"; shift 2 ;;
    --bind) bind_address="$2"; shift 2 ;;
    --with-sim) with_sim=true; shift ;;
    --debug) build_profile=debug; shift ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-local: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

scripts/ensure-services.sh
scripts/ensure-build-tools.sh
scripts/install-ytdlp.sh

echo "run-local: building $build_profile binaries" >&2
if [[ "$build_profile" == release ]]; then
  cargo build --release --bin tokworks-api --bin tokworks-worker --bin tokworks-sim
else
  cargo build --bin tokworks-api --bin tokworks-worker --bin tokworks-sim
fi

export DATABASE_URL="${DATABASE_URL:-postgres://tokworks:tokworks@127.0.0.1:5432/tokworks}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export QUEUE_NAMESPACE="${QUEUE_NAMESPACE:-tokworks}"
export YTDLP_PATH="${YTDLP_PATH:-$repo_root/.venv/ytdlp/bin/yt-dlp}"
export RUST_LOG="${RUST_LOG:-info}"
if [[ -z "${API_KEY:-}" ]]; then
  API_KEY="tok_$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
fi
export API_KEY

binaries="$repo_root/target/$build_profile"
log_directory="$repo_root/.tokworks/logs"
mkdir -p "$log_directory"
started_pids=()

stop_everything() {
  trap - INT TERM EXIT
  if [[ ${#started_pids[@]} -gt 0 ]]; then
    echo "run-local: stopping (pids ${started_pids[*]})" >&2
    kill -TERM "${started_pids[@]}" 2>/dev/null || true
    wait "${started_pids[@]}" 2>/dev/null || true
  fi
}
trap stop_everything INT TERM EXIT

if [[ "$with_sim" == true ]]; then
  "$binaries/tokworks-sim" --listen "$sim_address" >"$log_directory/sim.log" 2>&1 &
  started_pids+=("$!")
  export TIKTOK_PROXY_URL="http://$sim_address"
  export TIKTOK_PROXY_INSECURE_TLS=true
  echo "run-local: simulator on http://$sim_address (try: curl http://$sim_address/_sim/videos?limit=3)" >&2
fi

BIND_ADDR="$bind_address" "$binaries/tokworks-api" serve >"$log_directory/api.log" 2>&1 &
api_pid=$!
started_pids+=("$api_pid")

# Wait (bounded) for the api to be ready before starting workers.
for ((attempt = 1; attempt <= 120; attempt++)); do
  if curl -fsS "http://$bind_address/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "run-local: the api exited; see $log_directory/api.log" >&2
    tail -n 20 "$log_directory/api.log" >&2
    exit 1
  fi
  sleep 0.5
done
if ! curl -fsS "http://$bind_address/readyz" >/dev/null 2>&1; then
  echo "run-local: the api is not ready after 60 s; see $log_directory/api.log" >&2
  exit 1
fi

for ((number = 1; number <= worker_count; number++)); do
  WORKER_NAME="local-w$number" "$binaries/tokworks-worker" >"$log_directory/worker-$number.log" 2>&1 &
  started_pids+=("$!")
done

cat <<EOF

tokworks is running on http://$bind_address ($worker_count workers; logs in $log_directory)
  API key: $API_KEY
  docs:    http://$bind_address/docs
  try:     curl -s -H "x-api-key: $API_KEY" -H 'Prefer: wait=30' \\
             -d '{"kind":"video","url":"https://www.tiktok.com/@user/video/ID"}' \\
             -H 'content-type: application/json' http://$bind_address/v1/jobs
Press Ctrl-C to stop.
EOF

# Exit (and stop the rest) as soon as any process ends.
wait -n "${started_pids[@]}"
echo "run-local: a process exited; stopping the others" >&2

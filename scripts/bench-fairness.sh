#!/usr/bin/env bash
# Fairness across API keys: against a running tokworks with the simulator (start it with
# `TOKWORKS_SIM_VIDEOS=1002 scripts/run-local.sh --with-sim`), measures key B's single-video
# latency (POST with `Prefer: wait`) on the idle service, then again while key A's N-URL batch
# runs, and prints both and their difference. Every job asks for `refresh` (no cache hits).
# Usage: API_KEY=… scripts/bench-fairness.sh [--count 1000] [--api http://127.0.0.1:8000]
#                                             [--sim http://127.0.0.1:8899] [--binaries target/release]
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"

count=1000
api_url="http://127.0.0.1:8000"
sim_url="http://127.0.0.1:8899"
binaries="$repo_root/target/release"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --api) api_url="$2"; shift 2 ;;
    --sim) sim_url="$2"; shift 2 ;;
    --binaries) binaries="$2"; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-fairness: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
: "${API_KEY:?set API_KEY (run-local.sh prints it): key A}"
export DATABASE_URL="${DATABASE_URL:-postgres://tokworks:tokworks@127.0.0.1:5432/tokworks}"

# Key B: a fresh key (its first line of output is the key).
key_b="$("$binaries/tokworks-api" keys create --name "bench-fairness-b-$(date +%s)" | head -n 1)"

urls_file="$(mktemp)"
batch_file="$(mktemp)"
trap 'rm -f "$urls_file" "$batch_file"' EXIT
curl -sf "$sim_url/_sim/videos?limit=$((count + 2))" | python3 -c '
import json, sys
print("\n".join(video["canonical_url"] for video in json.load(sys.stdin)["videos"]))
' >"$urls_file"
[[ "$(wc -l <"$urls_file")" -ge $((count + 2)) ]] || {
  echo "bench-fairness: the simulator has fewer than $((count + 2)) videos (TOKWORKS_SIM_VIDEOS)" >&2
  exit 1
}
python3 - "$urls_file" "$count" >"$batch_file" <<'PY'
import json, sys
urls = open(sys.argv[1]).read().split()[: int(sys.argv[2])]
json.dump({"kind": "batch", "urls": urls, "options": {"refresh": True}}, sys.stdout)
PY
idle_url="$(sed -n "$((count + 1))p" "$urls_file")"
loaded_url="$(sed -n "$((count + 2))p" "$urls_file")"

# Seconds from POST to the finished job (Prefer: wait answers when it has finished).
single_video_latency() {
  local url="$1"
  curl -sf -o /dev/null -w '%{time_total}' "$api_url/v1/jobs" -H "x-api-key: $key_b" \
    -H 'content-type: application/json' -H 'Prefer: wait=300' \
    --data "{\"kind\":\"video\",\"url\":\"$url\",\"options\":{\"refresh\":true}}"
}
job_field() {
  curl -sf "$api_url/v1/jobs/$1" -H "x-api-key: $API_KEY" |
    python3 -c "import json,sys; job=json.load(sys.stdin); print($2)"
}

idle="$(single_video_latency "$idle_url")"
echo "bench-fairness: B's video on the idle service: ${idle} s" >&2

started="$(date +%s.%N)"
batch_id="$(curl -sf "$api_url/v1/jobs" -H "x-api-key: $API_KEY" -H 'content-type: application/json' \
  --data-binary "@$batch_file" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
while [[ "$(job_field "$batch_id" 'job["counts"]["succeeded"]')" -lt 1 ]]; do sleep 0.1; done
echo "bench-fairness: A's $count-URL batch is running; B submits one video" >&2
loaded="$(single_video_latency "$loaded_url")"
a_done_at_b="$(job_field "$batch_id" 'job["counts"]["succeeded"] + job["counts"]["failed"]')"
while :; do
  status="$(curl -sf "$api_url/v1/jobs/$batch_id" -H "x-api-key: $API_KEY" -H 'Prefer: wait=30' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
  case "$status" in queued | running) ;; *) break ;; esac
done
finished="$(date +%s.%N)"

python3 - "$idle" "$loaded" "$a_done_at_b" "$count" "$started" "$finished" "$status" <<'PY'
import sys
idle, loaded = float(sys.argv[1]), float(sys.argv[2])
a_done, count = int(sys.argv[3]), int(sys.argv[4])
batch_wall = float(sys.argv[6]) - float(sys.argv[5])
print(f"B's video, idle service:        {idle:.3f} s")
print(f"B's video, during A's batch:    {loaded:.3f} s")
print(f"difference:                     {loaded - idle:+.3f} s")
print(f"A's items done when B finished: {a_done} of {count}")
print(f"A's batch: {sys.argv[7]} after {batch_wall:.1f} s")
PY

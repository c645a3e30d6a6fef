#!/usr/bin/env bash
# The 1,000-URL batch benchmark: submits one batch of N distinct simulator videos to a running
# tokworks (start it with `TOKWORKS_SIM_VIDEOS=1000 scripts/run-local.sh --with-sim`), waits for
# the job to finish, and prints the wall time, items/s and the per-stage p50/p95 of /v1/stats.
# Usage: API_KEY=… scripts/bench-batch.sh [--count 1000] [--api http://127.0.0.1:8000]
#                                          [--sim http://127.0.0.1:8899]
set -euo pipefail

count=1000
api_url="http://127.0.0.1:8000"
sim_url="http://127.0.0.1:8899"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --api) api_url="$2"; shift 2 ;;
    --sim) sim_url="$2"; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-batch: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
: "${API_KEY:?set API_KEY (run-local.sh prints it)}"

body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
curl -sf "$sim_url/_sim/videos?limit=$count" | python3 -c '
import json, sys
videos = json.load(sys.stdin)["videos"]
urls = [{"url": video["canonical_url"], "custom_id": str(index)} for index, video in enumerate(videos)]
json.dump({"kind": "batch", "urls": urls}, sys.stdout)
' >"$body_file"
submitted="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["urls"]))' "$body_file")"
echo "bench-batch: submitting $submitted URLs" >&2

started="$(date +%s.%N)"
job_id="$(curl -sf "$api_url/v1/jobs" -H "x-api-key: $API_KEY" -H 'content-type: application/json' \
  --data-binary "@$body_file" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
accepted="$(date +%s.%N)"
while :; do
  job="$(curl -sf "$api_url/v1/jobs/$job_id" -H "x-api-key: $API_KEY" -H 'Prefer: wait=30')"
  status="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$job")"
  case "$status" in queued | running) ;; *) break ;; esac
done
finished="$(date +%s.%N)"

python3 - "$started" "$accepted" "$finished" "$job" <<'PY'
import json, sys
started, accepted, finished = map(float, sys.argv[1:4])
job = json.loads(sys.argv[4])
counts = job["counts"]
wall = finished - started
print(f"job {job['id']}: {job['status']}, {counts['succeeded']} succeeded, {counts['failed']} failed")
print(f"submit (validate + insert + enqueue): {accepted - started:.2f} s")
print(f"wall time: {wall:.2f} s, {counts['total'] / wall:.1f} items/s")
PY
echo "stage timings (GET /v1/stats):"
curl -sf "$api_url/v1/stats" -H "x-api-key: $API_KEY" | python3 -c '
import json, sys
stats = json.load(sys.stdin)
print(json.dumps({key: value for key, value in stats.items() if "stage" in key or "cache" in key}, indent=1))
'

#!/usr/bin/env bash
# The trending benchmark (issue #4): N trending videos with the simulator answering every TikTok
# request after LATENCY ms, cold feed cache, timed end to end (submit with `Prefer: wait=30` until
# the finished job is answered); then the same request again (served from the feed cache), and
# the old fetcher's `GET /trending` (compatibility endpoint) cold, with `refresh`-free defaults.
# Start tokworks first: `API_KEY=tok_local_benchmark_key_0123456789abcdef scripts/run-local.sh --with-sim` (release build).
# Usage: API_KEY=… scripts/bench-trending.sh [--count 30] [--latency-ms 300] [--runs 5]
#                                             [--api http://127.0.0.1:8000] [--sim http://127.0.0.1:8899]
set -euo pipefail

count=30
latency_ms=300
runs=5
api_url="http://127.0.0.1:8000"
sim_url="http://127.0.0.1:8899"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --latency-ms) latency_ms="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --api) api_url="$2"; shift 2 ;;
    --sim) sim_url="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-trending: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
: "${API_KEY:?set API_KEY (run-local.sh prints it)}"

curl -sf -X POST "$sim_url/_sim/config" -H 'content-type: application/json' \
  --data "{\"latency_ms\": $latency_ms, \"jitter_ms\": 0}" >/dev/null
trap 'curl -sf -X POST "$sim_url/_sim/config" -H "content-type: application/json" --data "{\"latency_ms\": 0}" >/dev/null || true' EXIT

# Prints "<seconds> <status> <items> <tiktok requests> (<route>:<count>,…) +<new proxy tunnels>"
# for one request.
timed_request() {
  local method="$1" path="$2" body="$3"
  curl -sf -X POST "$sim_url/_sim/reset" >/dev/null
  curl -sf -X POST "$sim_url/_sim/config" -H 'content-type: application/json' \
    --data "{\"latency_ms\": $latency_ms, \"jitter_ms\": 0}" >/dev/null
  local started finished answer
  started="$(date +%s.%N)"
  if [[ "$method" == POST ]]; then
    answer="$(curl -sf "$api_url$path" -H "x-api-key: $API_KEY" -H 'content-type: application/json' \
      -H 'Prefer: wait=30' --data-binary "$body")"
  else
    answer="$(curl -sf "$api_url$path" -H "x-api-key: $API_KEY")"
  fi
  finished="$(date +%s.%N)"
  local tiktok_requests
  tiktok_requests="$(curl -sf "$sim_url/_sim/counters" | python3 -c '
import json, sys
routes = json.load(sys.stdin)["routes"]
# "connect" counts proxy CONNECT tunnels (new TLS connections), not TikTok requests.
tiktok = {route: count for route, count in routes.items() if route not in ("control", "openai", "connect") and count}
by_route = ",".join(f"{route}:{count}" for route, count in sorted(tiktok.items()))
tunnels = routes.get("connect", 0)
print(f"{sum(tiktok.values())} ({by_route}) +{tunnels} tunnels")
')"
  python3 - "$started" "$finished" "$tiktok_requests" "$answer" <<'PY'
import json, sys
started, finished = float(sys.argv[1]), float(sys.argv[2])
answer = json.loads(sys.argv[4])
if isinstance(answer, list):
    status, items = "list", len(answer)
else:
    status, items = answer["status"], answer["counts"]["succeeded"]
print(f"{finished - started:.3f} {status} {items} {sys.argv[3]}")
PY
}

body="{\"kind\": \"trending\", \"count\": $count, \"options\": {\"refresh\": true}}"
echo "bench-trending: $count trending videos, simulator latency $latency_ms ms per TikTok request, $runs runs" >&2
echo "run  cold (refresh) s  status  items  tiktok requests | cached s  status  items  tiktok requests"
for run in $(seq 1 "$runs"); do
  cold="$(timed_request POST /v1/jobs "$body")"
  cached="$(timed_request POST /v1/jobs "{\"kind\": \"trending\", \"count\": $count}")"
  echo "$run    $cold | $cached"
done
echo "compatibility GET /trending?count=$count (cache as left by the runs above; then refreshed by a new count):"
timed_request GET "/trending?count=$count" ""
timed_request GET "/trending?count=$((count + 1))" ""

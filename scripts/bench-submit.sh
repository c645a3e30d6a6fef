#!/usr/bin/env bash
# Submit-and-read benchmark: the api alone (no workers) on a fresh database, loaded by wrk on
# this machine, side by side with pgbench committing the same rows in the same run.
#   1. POST /v1/jobs (video, a distinct URL per request) against pgbench inserting a job row and
#      an item row, both as the api does it (one statement) and as two inserts in a transaction;
#   2. GET /v1/jobs/{id} of a finished video job;
#   3. end to end with 2 workers: cache-hit video jobs, submit -> succeeded, against the raw
#      apalis-redis push+consume rate (worker/examples/queue_throughput.rs) with the same settings;
#   4. the api's RSS idle and after the load.
# Builds release binaries first. Needs wrk and pgbench (apt-get install wrk postgresql-contrib).
# The api runs with per-key limits far above the load (KEY_* settings), so the limiter's Redis
# round trip is measured but never refuses.
# Usage: scripts/bench-submit.sh [--duration 15] [--connections 32] [--pg-clients 16]
#                                [--pool N (DATABASE_MAX_CONNECTIONS of the api)] [--skip-e2e]
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"

duration=15
connections=32
pg_clients=16
pool=""
skip_e2e=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --pg-clients) pg_clients="$2"; shift 2 ;;
    --pool) pool="$2"; shift 2 ;;
    --skip-e2e) skip_e2e=1; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-submit: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in wrk pgbench psql curl; do
  command -v "$tool" >/dev/null || { echo "bench-submit: $tool is not installed" >&2; exit 2; }
done

target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
admin_url="${BENCH_ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database="tokworks_bench_submit"
database_url="${admin_url%/*}/$database"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
namespace="bench_submit_$$"
port=18470
api_url="http://127.0.0.1:$port"
api_key="tok_bench_$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> building release binaries" >&2
cargo build --release -q -p tokworks-api -p tokworks-worker --bins --example queue_throughput

echo "==> fresh database $database" >&2
psql -q "$admin_url" -c "drop database if exists $database" -c "create database $database"

start_api() {
  env DATABASE_URL="$database_url" REDIS_URL="$redis_url" QUEUE_NAMESPACE="$namespace" \
    API_KEY="$api_key" BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn \
    KEY_REQUESTS_PER_SECOND=1000000 KEY_URLS_PER_MINUTE=100000000 KEY_MAX_ITEMS_IN_FLIGHT=100000000 \
    ${pool:+DATABASE_MAX_CONNECTIONS=$pool} \
    "$target_dir"/release/tokworks-api >"$work/api.log" 2>&1 &
  api_pid=$!
  pids+=("$api_pid")
  for _ in $(seq 1 200); do
    curl -sf "$api_url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench-submit: the api did not become ready:" >&2; cat "$work/api.log" >&2; exit 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start_api
idle_rss="$(rss_kib "$api_pid")"
key_id="$(psql -tAq "$database_url" -c "select api_key_id from api_keys where is_bootstrap and revoked_at is null")"

# --- 1. POST /v1/jobs against pgbench ---------------------------------------------------------
cat >"$work/submit.lua" <<'LUA'
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  counter = 0
  prefix = string.format("7%02d%06d", tid, math.random(0, 999999))
  key = os.getenv("API_KEY")
end
function request()
  counter = counter + 1
  local body = '{"kind":"video","url":"https://www.tiktok.com/@bench/video/'
    .. string.format("%s%010d", prefix, counter) .. '"}'
  return wrk.format("POST", "/v1/jobs", {["x-api-key"] = key, ["content-type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

run_wrk() { # name label script path
  local name="$1" label="$2" script="$3" path="$4"
  API_KEY="$api_key" wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$script" "$api_url$path" \
    >"$work/$name.wrk" 2>&1 || { cat "$work/$name.wrk" >&2; exit 1; }
  local result
  result="$(grep '^RESULT' "$work/$name.wrk")"
  python3 - "$label" "$result" <<'PY'
import sys
label, result = sys.argv[1], dict(part.split("=") for part in sys.argv[2].split()[1:])
rate = int(result["requests"]) / float(result["seconds"])
print(f"{label}: {rate:,.0f} req/s, p50 {float(result['p50_ms']):.1f} ms, p99 {float(result['p99_ms']):.1f} ms, "
      f"non-2xx {result['errors_status']}")
PY
  grep '^RESULT' "$work/$name.wrk" | sed -E 's/.*requests=([0-9]+).*seconds=([0-9.]+).*/\1 \2/' \
    | awk '{printf "%.1f\n", $1 / $2}' >"$work/$name.rate"
}

echo "==> POST /v1/jobs: wrk, 2 threads, $connections connections, ${duration} s" >&2
run_wrk post "POST /v1/jobs" "$work/submit.lua" "/v1/jobs"
post_rate="$(cat "$work/post.rate")"
stored="$(psql -tAq "$database_url" -c "select count(*) from jobs")"
echo "jobs stored: $stored"

cat >"$work/one_statement.sql" <<SQL
with new_job as (
  insert into jobs (job_id, api_key_id, kind, status, request, options, metadata, items_total)
  values (gen_random_uuid(), '$key_id', 'video', 'queued',
          '{"kind":"video","url":"https://www.tiktok.com/@bench/video/7000000000000000001"}',
          '{}', '{}', 1)
  returning job_id
)
insert into job_items (item_id, job_id, position, input_url, canonical_url, video_id, status,
                       max_attempts, task_id, enqueued_at)
select gen_random_uuid(), job_id, 0, 'https://www.tiktok.com/@bench/video/7000000000000000001',
       'https://www.tiktok.com/@bench/video/7000000000000000001', '7000000000000000001', 'queued',
       4, '01JBENCHTASK0000000000000', now()
from new_job;
SQL
cat >"$work/two_inserts.sql" <<SQL
begin;
insert into jobs (job_id, api_key_id, kind, status, request, options, metadata, items_total)
values (gen_random_uuid(), '$key_id', 'video', 'queued',
        '{"kind":"video","url":"https://www.tiktok.com/@bench/video/7000000000000000001"}',
        '{}', '{}', 1)
returning job_id \gset
insert into job_items (item_id, job_id, position, input_url, canonical_url, video_id, status,
                       max_attempts, task_id, enqueued_at)
values (gen_random_uuid(), ':job_id', 0, 'https://www.tiktok.com/@bench/video/7000000000000000001',
        'https://www.tiktok.com/@bench/video/7000000000000000001', '7000000000000000001', 'queued',
        4, '01JBENCHTASK0000000000000', now());
commit;
SQL
pgbench_tps() { # script
  pgbench -n -M simple -c "$pg_clients" -j 2 -T "$duration" -f "$1" "$database_url" 2>/dev/null \
    | awk '/^tps/ {printf "%.0f\n", $3}'
}
echo "==> pgbench, $pg_clients clients, ${duration} s: one statement (the api's shape)" >&2
pg_one="$(pgbench_tps "$work/one_statement.sql")"
echo "==> pgbench: two inserts in one transaction" >&2
pg_two="$(pgbench_tps "$work/two_inserts.sql")"
echo "pgbench one statement: $pg_one tps; two inserts in a transaction: $pg_two tps"
python3 -c "import sys; p, a, b = map(float, sys.argv[1:]); print(f'POST /v1/jobs / pgbench: {p / a:.2f} (one statement), {p / b:.2f} (two inserts)')" \
  "$post_rate" "$pg_one" "$pg_two"
loaded_rss="$(rss_kib "$api_pid")"

# --- 2. GET /v1/jobs/{id} of a finished video job ---------------------------------------------
finished_job="$(python3 - "$key_id" <<'PY' | psql -tAq "$database_url"
import json, sys
key_id = sys.argv[1]
video_id = "7000000000000000002"
video = {
    "schema_version": 1, "id": video_id, "url": f"https://www.tiktok.com/@bench/video/{video_id}",
    "kind": "video", "caption": "a benchmark caption #one #two " + "x" * 200,
    "hashtags": [{"name": f"tag{n}"} for n in range(8)],
    "author": {"id": "1", "unique_id": "bench", "nickname": "Bench", "verified": False},
    "stats": {"plays": 123456, "likes": 2345, "comments": 34, "shares": 5, "saves": 6},
    "music": {"id": "2", "title": "original sound", "author": "bench", "duration_seconds": 15},
    "media": {"duration_seconds": 15, "width": 1080, "height": 1920,
              "formats": [{"quality": f"q{n}", "bitrate": 1000 * n, "url": "https://example.invalid/" + "v" * 150} for n in range(6)]},
    "subtitles": [], "created_at": "2026-01-01T00:00:00Z",
}
data = json.dumps(video).replace("'", "''")
print(f"""
insert into videos (video_id, data, source, fetched_at, updated_at)
values ('{video_id}', '{data}', 'ytdlp', now(), now());
with j as (
  insert into jobs (job_id, api_key_id, kind, status, request, options, metadata, items_total,
                    items_succeeded, started_at, finished_at)
  values (gen_random_uuid(), '{key_id}', 'video', 'succeeded',
          '{{"kind":"video","url":"https://www.tiktok.com/@bench/video/{video_id}"}}', '{{}}', '{{}}',
          1, 1, now(), now())
  returning job_id
), i as (
  insert into job_items (item_id, job_id, position, input_url, canonical_url, video_id, status,
                         max_attempts, attempts, result_video_id, cache_hit, finished_at)
  select gen_random_uuid(), job_id, 0, 'https://www.tiktok.com/@bench/video/{video_id}',
         'https://www.tiktok.com/@bench/video/{video_id}', '{video_id}', 'succeeded', 4, 1,
         '{video_id}', false, now()
  from j
  returning item_id
), t as (
  insert into item_stage_timings (item_id, attempt, stage, duration_ms)
  select item_id, 1, stage, ms from i,
         (values ('queue_wait', 3.0), ('extract', 410.5), ('thumbnail', 80.2), ('store', 4.1),
                 ('total', 498.0)) as s(stage, ms)
)
select job_id from j;
""")
PY
)"
finished_job="$(echo "$finished_job" | grep -E '^[0-9a-f-]{36}$' | head -n 1)"
curl -sf "$api_url/v1/jobs/$finished_job" -H "x-api-key: $api_key" \
  | python3 -c 'import json,sys; job=json.load(sys.stdin); assert job["status"]=="succeeded" and job["result"]["id"], job; print("GET body:", len(json.dumps(job)), "bytes")'
cat >"$work/get.lua" <<'LUA'
function init(args) key = os.getenv("API_KEY") end
function request() return wrk.format("GET", nil, {["x-api-key"] = key}) end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
echo "==> GET /v1/jobs/{id} (finished video job): wrk, 2 threads, $connections connections" >&2
run_wrk get "GET /v1/jobs/{id}" "$work/get.lua" "/v1/jobs/$finished_job"
after_rss="$(rss_kib "$api_pid")"
echo "api RSS: idle $((idle_rss / 1024)) MiB, after POST load $((loaded_rss / 1024)) MiB, after GET load $((after_rss / 1024)) MiB"

# --- 3. End to end: cache-hit video jobs through 2 workers --------------------------------------
if (( skip_e2e == 0 )); then
  e2e_jobs=5000
  echo "==> raw apalis push+consume (2 workers x 4, no-op handler)" >&2
  raw_line="$("$target_dir"/release/examples/queue_throughput "$redis_url" "$e2e_jobs" 2 4)"
  echo "$raw_line"
  raw_rate="$(sed -E 's/.*= ([0-9]+) tasks\/s/\1/' <<<"$raw_line")"

  # The jobs of part 1 are cache misses: remove them before any worker starts (and point the
  # workers' TikTok client at a closed local port, so a miss could never leave this machine).
  psql -q "$database_url" -c "truncate jobs cascade"
  psql -q "$database_url" -c "insert into videos (video_id, data, source, fetched_at, updated_at)
    select '71' || lpad(n::text, 17, '0'),
           jsonb_set(v.data, '{id}', to_jsonb('71' || lpad(n::text, 17, '0'))),
           'ytdlp', now(), now()
    from generate_series(1, $e2e_jobs) as n, videos v where v.video_id = '7000000000000000002'"
  ytdlp="${YTDLP_PATH:-$repo_root/.venv/ytdlp/bin/yt-dlp}"
  for worker in 1 2; do
    env DATABASE_URL="$database_url" REDIS_URL="$redis_url" QUEUE_NAMESPACE="$namespace" \
      YTDLP_PATH="$ytdlp" TIKTOK_PROXY_URL="http://127.0.0.1:9" RUST_LOG=warn \
      "$target_dir"/release/tokworks-worker >"$work/worker$worker.log" 2>&1 &
    pids+=("$!")
  done
  for _ in $(seq 1 600); do
    live="$(psql -tAq "$database_url" -c "select count(*) from worker_heartbeats where last_seen_at > now() - interval '10 seconds'")"
    (( live >= 2 )) && break
    sleep 0.05
  done
  cat >"$work/cached.lua" <<LUA
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) counter = 0; key = os.getenv("API_KEY") end
function request()
  counter = counter + 1
  local n = (counter - 1) * 2 + tid
  if n > $e2e_jobs then n = ((n - 1) % $e2e_jobs) + 1 end
  local body = '{"kind":"video","url":"https://www.tiktok.com/@bench/video/71' .. string.format("%017d", n) .. '"}'
  return wrk.format("POST", "/v1/jobs", {["x-api-key"] = key, ["content-type"] = "application/json"}, body)
end
LUA
  started="$(date +%s.%N)"
  API_KEY="$api_key" wrk -t2 -c16 -d5s -s "$work/cached.lua" "$api_url/v1/jobs" >"$work/cached.wrk" 2>&1
  submitted_at="$(date +%s.%N)"
  for _ in $(seq 1 1200); do
    left="$(psql -tAq "$database_url" -c "select count(*) from jobs where status in ('queued', 'running')")"
    (( left == 0 )) && break
    sleep 0.05
  done
  finished="$(date +%s.%N)"
  if ! grep -q . <<<"$left" || (( left > 0 )); then
    echo "bench-submit: jobs still unfinished; worker logs:" >&2
    tail -n 20 "$work"/worker*.log >&2
  fi
  read -r total succeeded <<<"$(psql -tAq -F ' ' "$database_url" -c "select count(*), count(*) filter (where status = 'succeeded') from jobs")"
  python3 - "$started" "$submitted_at" "$finished" "$total" "$succeeded" "$raw_rate" <<'PY'
import sys
started, submitted, finished = map(float, sys.argv[1:4])
total, succeeded, raw = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
rate = total / (finished - started)
print(f"end to end cache-hit video jobs: {total} submitted in {submitted - started:.1f} s, {succeeded} succeeded, "
      f"all finished after {finished - started:.1f} s = {rate:,.0f} jobs/s; raw apalis {raw:,.0f} tasks/s; ratio {rate / raw:.2f}")
PY
fi

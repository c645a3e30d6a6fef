#!/usr/bin/env bash
# Extraction engine benchmark (issue #11), the issue's table side by side in one run, against the
# simulator at 0 ms and at 150 ms per TikTok answer:
#   - the old analyzer (dpyudha/tiktok-video-analyzer, run as its README runs it: `python main.py`,
#     in a venv with its requirements and yt-dlp pinned to ours, HTTPS_PROXY/HTTP_PROXY = the
#     simulator), 16 concurrent clients on POST /extract;
#   - tokworks' compatibility POST /extract, the same 16 clients;
#   - tokworks, one batch job (POST /v1/jobs, kind batch).
# tokworks is the api + 2 workers with their defaults (EXTRACTOR=auto, WORKER_CONCURRENCY=64,
# YTDLP_HELPERS=2), release build, a fresh database. Every URL is distinct across the whole run
# (the old analyzer caches by URL, tokworks by video id). Thumbnail analysis is off on both sides.
# It also prints the workers' CPU per extracted item and their largest RSS (helpers aside) during
# the batches, and the most Postgres connections the run had busy at once.
# The old analyzer's code is checked out into a temporary directory and never copied here.
# Usage: scripts/bench-engine.sh [--items 240] [--batch-items 1000 (the most one batch accepts)] [--clients 16]
#          [--latencies "0 150"] [--old-analyzer GIT_DIR_OR_URL] [--skip-old] [--with-ytdlp]
#   --old-analyzer: a clone (or bare repository) of the old analyzer, default its GitHub URL.
#   --with-ytdlp: also run the tokworks rows with EXTRACTOR=ytdlp (the old default engine).
# Needs: python3 (with venv), psql, curl; Postgres and Redis on loopback (scripts/ensure-services.sh).
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"

items=240
batch_items=1000
clients=16
latencies="0 150"
old_source="https://github.com/dpyudha/tiktok-video-analyzer.git"
skip_old=0
with_ytdlp=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --items) items="$2"; shift 2 ;;
    --batch-items) batch_items="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --latencies) latencies="$2"; shift 2 ;;
    --old-analyzer) old_source="$2"; shift 2 ;;
    --skip-old) skip_old=1; shift ;;
    --with-ytdlp) with_ytdlp=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-engine: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in python3 psql curl git; do
  command -v "$tool" >/dev/null || { echo "bench-engine: $tool is not installed" >&2; exit 2; }
done

ytdlp_version="$(sed -n 's/^YTDLP_VERSION="\(.*\)"/\1/p' scripts/install-ytdlp.sh)"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
bin="$target_dir/release"
default_admin="postgres://tokworks:tokworks@127.0.0.1:5432/postgres"
admin_url="${BENCH_ADMIN_DATABASE_URL:-${DATABASE_URL:+${DATABASE_URL%/*}/postgres}}"
admin_url="${admin_url:-$default_admin}"
database="tokworks_bench_engine"
database_url="${admin_url%/*}/$database"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
namespace="bench_engine_$$"
api_port=18480
sim_port=18481
old_port=8000 # the old analyzer's main.py always listens on 8000
api_url="http://127.0.0.1:$api_port"
sim_url="http://127.0.0.1:$sim_port"
api_key="tok_bench_engine_$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"
work="$(mktemp -d)"
old_dir="${BENCH_OLD_ANALYZER_DIR:-${TMPDIR:-/tmp}/tokworks-bench-old-analyzer}"
pids=()
tokworks_pids=()
worker_pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> building release binaries" >&2
cargo build --release -q -p tokworks-api -p tokworks-worker -p tokworks-sim --bins
ytdlp_path="${YTDLP_PATH:-$repo_root/.venv/ytdlp/bin/yt-dlp}"
[[ -x "$ytdlp_path" ]] || scripts/install-ytdlp.sh >&2

wait_for() { # url what
  for _ in $(seq 1 600); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench-engine: $2 did not become ready ($1)" >&2
  exit 1
}

# --- the simulator: enough distinct plain videos for every phase -------------------------------
phases_per_latency=2
[[ "$with_ytdlp" == 1 ]] && phases_per_latency=4
latency_count="$(wc -w <<<"$latencies")"
needed=$(( latency_count * (items * (phases_per_latency / 2 + 1) + batch_items * (phases_per_latency / 2)) ))
corpus=$(( needed * 2 + 500 ))
"$bin/tokworks-sim" --listen "127.0.0.1:$sim_port" --videos "$corpus" --no-builtin-faults \
  >"$work/sim.log" 2>&1 &
pids+=("$!")
wait_for "$sim_url/_sim/health" "the simulator"
curl -sf "$sim_url/_sim/videos?limit=$corpus" | python3 -c '
import json, sys
videos = json.load(sys.stdin)["videos"]
for video in videos:
    if video["kind"] == "video" and video["duration"] <= 300:
        print(video["canonical_url"])
' >"$work/urls.txt"
available="$(wc -l <"$work/urls.txt")"
(( available >= needed )) || { echo "bench-engine: $available plain videos, $needed needed" >&2; exit 1; }
next_url=1
take_urls() { # count file
  sed -n "${next_url},$(( next_url + $1 - 1 ))p" "$work/urls.txt" >"$2"
  next_url=$(( next_url + $1 ))
}
set_latency() {
  curl -sf -X POST "$sim_url/_sim/config" -H 'content-type: application/json' \
    -d "{\"latency_ms\": $1, \"jitter_ms\": 0}" >/dev/null
}

# --- the load generator -------------------------------------------------------------------------
cat >"$work/load.py" <<'PY'
"""POST /extract with N concurrent clients, or one batch job; prints one JSON line."""
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

def post(url, body, key, timeout=120):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "x-api-key": key})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

def extract(base, key, urls, clients):
    def one(url):
        status, body = post(base + "/extract", {"url": url, "include_thumbnail_analysis": False}, key)
        return status == 200 and bool(body) and body.get("success") is True
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, urls))
    seconds = time.monotonic() - started
    ok = sum(results)
    return {"ok": ok, "failed": len(urls) - ok, "seconds": seconds, "rate": ok / seconds}

def batch(base, key, urls):
    started = time.monotonic()
    status, job = post(base + "/v1/jobs", {"kind": "batch", "urls": [{"url": url} for url in urls]}, key)
    assert status in (200, 201, 202), (status, job)
    while job["status"] in ("queued", "running"):
        request = urllib.request.Request(f"{base}/v1/jobs/{job['id']}",
            headers={"x-api-key": key, "prefer": "wait=30"})
        with urllib.request.urlopen(request, timeout=60) as response:
            job = json.loads(response.read())
    seconds = time.monotonic() - started
    ok = job["counts"]["succeeded"]
    return {"ok": ok, "failed": job["counts"]["failed"], "seconds": seconds, "rate": ok / seconds}

mode, base, key, url_file = sys.argv[1:5]
urls = [line.strip() for line in open(url_file) if line.strip()]
result = extract(base, key, urls, int(sys.argv[5])) if mode == "extract" else batch(base, key, urls)
print(json.dumps(result))
PY

# --- the old analyzer ---------------------------------------------------------------------------
start_old_analyzer() {
  if [[ ! -f "$old_dir/main.py" ]]; then
    echo "==> checking out the old analyzer from $old_source into $old_dir" >&2
    rm -rf "$old_dir"
    git clone -q "$old_source" "$old_dir"
  fi
  if [[ ! -x "$old_dir.venv/bin/python" ]] \
    || [[ "$("$old_dir.venv/bin/python" -m yt_dlp --version 2>/dev/null)" != "$ytdlp_version" ]]; then
    echo "==> installing its requirements (yt-dlp pinned to $ytdlp_version) into $old_dir.venv" >&2
    python3 -m venv "$old_dir.venv"
    echo "yt-dlp==$ytdlp_version" >"$work/constraints.txt"
    "$old_dir.venv/bin/pip" install -q --disable-pip-version-check \
      -r "$old_dir/requirements.txt" -c "$work/constraints.txt"
  fi
  if curl -s "http://127.0.0.1:$old_port/" >/dev/null 2>&1; then
    echo "bench-engine: port $old_port is taken; the old analyzer needs it" >&2
    exit 1
  fi
  (cd "$old_dir" && exec env -i PATH="$PATH" HOME="$HOME" API_KEY="$api_key" OPENAI_API_KEY=sk-unused \
    HTTPS_PROXY="$sim_url" HTTP_PROXY="$sim_url" https_proxy="$sim_url" http_proxy="$sim_url" \
    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost LOG_LEVEL=WARNING \
    "$old_dir.venv/bin/python" main.py >"$work/old.log" 2>&1) &
  old_pid=$!
  pids+=("$old_pid")
  wait_for "http://127.0.0.1:$old_port/" "the old analyzer"
}

# --- tokworks -----------------------------------------------------------------------------------
start_tokworks() { # extractor
  for pid in "${tokworks_pids[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  for pid in "${tokworks_pids[@]:-}"; do [[ -n "$pid" ]] && while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
  tokworks_pids=()
  worker_pids=()
  psql -q "$admin_url" -c "drop database if exists $database" -c "create database $database"
  local common=(DATABASE_URL="$database_url" REDIS_URL="$redis_url" QUEUE_NAMESPACE="$namespace$1" RUST_LOG=warn)
  env "${common[@]}" API_KEY="$api_key" BIND_ADDR="127.0.0.1:$api_port" \
    KEY_REQUESTS_PER_SECOND=1000000 KEY_URLS_PER_MINUTE=100000000 KEY_MAX_ITEMS_IN_FLIGHT=100000000 \
    "$bin/tokworks-api" >"$work/api-$1.log" 2>&1 &
  tokworks_pids+=("$!"); pids+=("$!")
  wait_for "$api_url/readyz" "the api"
  for number in 1 2; do
    env "${common[@]}" EXTRACTOR="$1" TIKTOK_PROXY_URL="$sim_url" TIKTOK_PROXY_INSECURE_TLS=true \
      YTDLP_PATH="$ytdlp_path" WORKER_NAME="bench$number" MAX_VIDEO_DURATION_SECONDS=0 \
      "$bin/tokworks-worker" >"$work/worker-$1-$number.log" 2>&1 &
    tokworks_pids+=("$!"); pids+=("$!"); worker_pids+=("$!")
  done
  # Ready when both workers' heartbeats are in Postgres.
  for _ in $(seq 1 600); do
    live="$(psql -tAq "$database_url" -c "select count(*) from worker_heartbeats where last_seen_at > now() - interval '10 seconds'" 2>/dev/null || echo 0)"
    [[ "$live" == 2 ]] && return 0
    sleep 0.1
  done
  echo "bench-engine: the workers did not start" >&2; cat "$work"/worker-"$1"-*.log >&2; exit 1
}

cpu_ticks() { # pids...: utime + stime of the processes themselves (helpers are separate processes)
  local total=0
  for pid in "$@"; do total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") )); done
  echo "$total"
}
sample_while() { # pid-of-load file: worker RSS (KiB, summed max per worker) and busy Postgres connections
  while kill -0 "$1" 2>/dev/null; do
    local rss=""
    for pid in "${worker_pids[@]}"; do rss+="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") "; done
    local busy running
    busy="$(psql -tAq "$admin_url" -c "select count(*) from pg_stat_activity where datname = '$database' and state <> 'idle'" 2>/dev/null || echo 0)"
    running="$(psql -tAq "$database_url" -c "select count(*) from job_items where status = 'running'" 2>/dev/null || echo 0)"
    echo "$rss$busy $running" >>"$2"
    sleep 0.2
  done
}

run_phase() { # label mode base urls-count
  local label="$1" mode="$2" base="$3" count="$4"
  take_urls "$count" "$work/phase.txt"
  local before=0
  [[ "$base" == "$api_url" ]] && before="$(cpu_ticks "${worker_pids[@]}")"
  python3 "$work/load.py" "$mode" "$base" "$api_key" "$work/phase.txt" "$clients" >"$work/result.json" &
  local load_pid=$!
  : >"$work/samples.txt"
  [[ "$base" == "$api_url" ]] && sample_while "$load_pid" "$work/samples.txt" &
  local sampler_pid=$!
  wait "$load_pid"
  wait "$sampler_pid" 2>/dev/null || true
  local cpu_ms="null"
  if [[ "$base" == "$api_url" ]]; then
    local after; after="$(cpu_ticks "${worker_pids[@]}")"
    cpu_ms="$(( (after - before) * 1000 / $(getconf CLK_TCK) ))"
  fi
  python3 - "$label" "$cpu_ms" "$work/result.json" "$work/samples.txt" >>"$work/table.jsonl" <<'PY'
import json, sys
label, cpu_ms, result_file, samples_file = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
result = json.load(open(result_file))
result["label"] = label
if cpu_ms != "null":
    result["worker_cpu_ms_per_item"] = int(cpu_ms) / max(result["ok"], 1)
rows = [list(map(int, line.split())) for line in open(samples_file) if line.strip()]
if rows:
    result["worker_rss_mib_max"] = max(max(row[:-2]) for row in rows) / 1024
    result["pg_busy_max"] = max(row[-2] for row in rows)
    result["items_running_max"] = max(row[-1] for row in rows)
print(json.dumps(result))
PY
  tail -1 "$work/table.jsonl" >&2
}

: >"$work/table.jsonl"
for latency in $latencies; do
  set_latency "$latency"
  if [[ "$skip_old" == 0 ]]; then
    echo "==> $latency ms: old analyzer, POST /extract, $clients clients, $items URLs" >&2
    [[ -n "${old_pid:-}" ]] || start_old_analyzer
    run_phase "$latency ms | old analyzer POST /extract" extract "http://127.0.0.1:$old_port" "$items"
  fi
  engines="auto"
  [[ "$with_ytdlp" == 1 ]] && engines="auto ytdlp"
  for engine in $engines; do
    start_tokworks "$engine"
    echo "==> $latency ms: tokworks ($engine) compat POST /extract, $clients clients, $items URLs" >&2
    run_phase "$latency ms | tokworks EXTRACTOR=$engine compat POST /extract" extract "$api_url" "$items"
    echo "==> $latency ms: tokworks ($engine) one batch job of $batch_items URLs" >&2
    run_phase "$latency ms | tokworks EXTRACTOR=$engine one batch job" batch "$api_url" "$batch_items"
    fallbacks="$(psql -tAq "$database_url" -c "select coalesce(sum(fallbacks), 0) from extractor_fallbacks")"
    echo "    extractor fallbacks to yt-dlp: $fallbacks" >&2
  done
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/table.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
old = {}
print("| latency | path | items ok / failed | seconds | items/s | × old | worker CPU ms/item | worker RSS max MiB | items running max | Postgres busy max |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in rows:
    latency, path = [part.strip() for part in row["label"].split("|")]
    if path.startswith("old analyzer"):
        old[latency] = row["rate"]
    ratio = row["rate"] / old[latency] if old.get(latency) else None
    def fmt(key, spec):
        return format(row[key], spec) if key in row else "—"
    print(f"| {latency} | {path} | {row['ok']} / {row['failed']} | {row['seconds']:.1f} | {row['rate']:.1f} | "
          f"{'—' if ratio is None else format(ratio, '.1f') + '×'} | {fmt('worker_cpu_ms_per_item', '.2f')} | "
          f"{fmt('worker_rss_mib_max', '.0f')} | {fmt('items_running_max', 'd')} | {fmt('pg_busy_max', 'd')} |")
PY

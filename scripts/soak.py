#!/usr/bin/env python3
"""A bounded soak of a shared tokworks: three keys submit mixed jobs for --seconds while
anonymous clients hammer /health, /stats and /metrics; meanwhile a worker is kill -9ed and
restarted, Redis is restarted, and Postgres is restarted. Afterwards it checks that every
accepted job finished exactly once, that no answer was a 5xx other than a documented 503,
how key B's single videos fared against the idle service, and that process counts and memory
are back to idle.

Started by scripts/soak.sh (which builds the release binaries); stdlib only. Everything runs on
127.0.0.1: a private redis-server, the simulator as TikTok, a fresh database on the local
Postgres (which IS restarted: run it on a machine you own).
"""

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

TERMINAL = ("succeeded", "partial", "failed", "canceled", "expired")


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Answers:
    """Every HTTP status the load saw, by client."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_client = {}
        self.bad = []

    def record(self, client, status, detail=""):
        with self.lock:
            counts = self.by_client.setdefault(client, {})
            counts[status] = counts.get(status, 0) + 1
            if status >= 500 and status != 503 or status == 0:
                self.bad.append((client, status, detail[:200]))


def http(method, url, key=None, body=None, headers=None, timeout=40):
    request = urllib.request.Request(url, method=method)
    if key:
        request.add_header("x-api-key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        return 0, str(error).encode()


class Stack:
    """The processes under test."""

    def __init__(self, args):
        self.args = args
        self.bin = args.target_dir + "/release"
        self.logs = args.log_dir
        os.makedirs(self.logs, exist_ok=True)
        self.procs = {}
        self.api_url = f"http://127.0.0.1:{args.api_port}"
        self.sim_url = f"http://127.0.0.1:{args.sim_port}"
        self.redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
        self.database_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
        self.api_key = "tok_soak_" + secrets.token_hex(20)
        self.env = dict(os.environ,
                        DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
                        QUEUE_NAMESPACE="soak", RUST_LOG="warn",
                        TIKTOK_PROXY_URL=self.sim_url, TIKTOK_PROXY_INSECURE_TLS="true",
                        YTDLP_PATH=args.ytdlp)

    def spawn(self, name, argv, env=None):
        out = open(f"{self.logs}/{name}.log", "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            env=env or self.env)
        return self.procs[name]

    def start_redis(self):
        self.spawn("redis", ["redis-server", "--port", str(self.args.redis_port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"])
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(self.args.redis_port), "ping"],
                                          capture_output=True).stdout.strip() == b"PONG", 20, "redis up")

    def start_worker(self, number):
        env = dict(self.env, WORKER_NAME=f"soak-w{number}")
        return self.spawn(f"worker{number}", [f"{self.bin}/tokworks-worker"], env)

    def start(self):
        psql(self.args.admin_url, f"drop database if exists {self.args.database}")
        psql(self.args.admin_url, f"create database {self.args.database}")
        self.start_redis()
        self.spawn("sim", [f"{self.bin}/tokworks-sim", "--listen", f"127.0.0.1:{self.args.sim_port}",
                           "--videos", "4000", "--latency-ms", str(self.args.latency_ms)])
        wait_until(lambda: http("GET", self.sim_url + "/_sim/videos?limit=1")[0] == 200, 30, "sim up")
        env = dict(self.env, API_KEY=self.api_key, BIND_ADDR=f"127.0.0.1:{self.args.api_port}")
        self.spawn("api", [f"{self.bin}/tokworks-api"], env)
        wait_until(lambda: http("GET", self.api_url + "/readyz")[0] == 200, 60, "api ready")
        for number in (1, 2):
            self.start_worker(number)
        wait_until(lambda: self.count_heartbeats() >= 2, 60, "2 live workers")

    def count_heartbeats(self):
        out = psql(self.database_url,
                   "select count(*) from worker_heartbeats where last_seen_at > now() - interval '5 seconds'",
                   check=False)
        return int(out or 0)

    def create_key(self, name):
        out = subprocess.run([f"{self.bin}/tokworks-api", "keys", "create", "--name", name],
                             env=self.env, capture_output=True, text=True, check=True).stdout
        return out.splitlines()[0].strip()

    def kill9(self, name):
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()


def psql(url, sql, check=True):
    result = subprocess.run(["psql", "-tAq", url, "-c", sql], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - a probe failing means "not yet"
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def children(pid):
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in result.stdout.split()]


def snapshot_processes(stack):
    figures = {}
    for name in ("api", "worker1", "worker2"):
        proc = stack.procs[name]
        kids = children(proc.pid)
        figures[name] = {"rss_mib": round(rss_kib(proc.pid) / 1024, 1), "children": len(kids),
                         "children_rss_mib": round(sum(rss_kib(kid) for kid in kids) / 1024, 1)}
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--latency-ms", type=int, default=20, help="simulated TikTok latency")
    parser.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    parser.add_argument("--ytdlp", default=os.environ.get("YTDLP_PATH", ".venv/ytdlp/bin/yt-dlp"))
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="tokworks_soak")
    parser.add_argument("--pg-restart", default="pg_ctlcluster --skip-systemctl-redirect "
                        + (os.listdir("/etc/postgresql")[0] if os.path.isdir("/etc/postgresql") else "15")
                        + " main restart", help="command that restarts Postgres")
    parser.add_argument("--api-port", type=int, default=18490)
    parser.add_argument("--sim-port", type=int, default=18899)
    parser.add_argument("--redis-port", type=int, default=16490)
    parser.add_argument("--log-dir", default=".tokworks/soak")
    args = parser.parse_args()

    stack = Stack(args)
    answers = Answers()
    accepted = {}  # job id -> key name
    accepted_lock = threading.Lock()
    b_latencies, b_idle = [], []
    try:
        stack.start()
        keys = {name: stack.create_key(f"soak-{name}") for name in ("A", "B", "C")}
        status, body = http("GET", stack.sim_url + "/_sim/videos?limit=4000")
        urls = [video["canonical_url"] for video in json.loads(body)["videos"]]
        next_url = iter(urls)
        url_lock = threading.Lock()

        def take(count):
            with url_lock:
                return [next(next_url) for _ in range(count)]

        def submit(client, key_name, body, wait=None):
            headers = {"prefer": f"wait={wait}"} if wait else {}
            started = time.monotonic()
            status, raw = http("POST", stack.api_url + "/v1/jobs", keys[key_name], body, headers)
            answers.record(client, status, raw.decode(errors="replace"))
            if status in (200, 202):
                job = json.loads(raw)
                with accepted_lock:
                    accepted[job["id"]] = key_name
                return job, time.monotonic() - started
            return None, time.monotonic() - started

        log("idle baseline: key B's single videos")
        for url in take(5):
            job, seconds = submit("B", "B", {"kind": "video", "url": url}, wait=30)
            if job and job["status"] == "succeeded":
                b_idle.append(seconds)
        idle_processes = snapshot_processes(stack)

        stop = threading.Event()

        def key_a():
            while not stop.is_set():
                submit("A", "A", {"kind": "batch", "urls": take(40)})
                stop.wait(2)

        def key_b():
            while not stop.is_set():
                job, seconds = submit("B", "B", {"kind": "video", "url": take(1)[0]}, wait=30)
                if job and job["status"] == "succeeded":
                    b_latencies.append(seconds)
                stop.wait(1)

        def key_c():
            turn = 0
            while not stop.is_set():
                body = ({"kind": "trending", "count": 10} if turn % 2 == 0
                        else {"kind": "video", "url": take(1)[0], "options": {"transcript": True}})
                submit("C", "C", body)
                turn += 1
                stop.wait(3)

        def anonymous(path):
            while not stop.is_set():
                status, raw = http("GET", stack.api_url + path, timeout=10)
                answers.record("anonymous " + path, status, raw.decode(errors="replace"))

        threads = [threading.Thread(target=target, daemon=True) for target in (key_a, key_b, key_c)]
        threads += [threading.Thread(target=anonymous, args=(path,), daemon=True)
                    for path in ("/health", "/stats", "/metrics") for _ in range(2)]
        log(f"load for {args.seconds} s")
        started = time.monotonic()
        for thread in threads:
            thread.start()
        timeline = [(0.15, "kill -9 worker 1", lambda: stack.kill9("worker1")),
                    (0.25, "restart worker 1", lambda: stack.start_worker(1)),
                    (0.45, "restart Redis", lambda: (stack.kill9("redis"), stack.start_redis())),
                    (0.70, "restart Postgres", lambda: subprocess.run(args.pg_restart, shell=True, check=True))]
        for fraction, what, action in timeline:
            time.sleep(max(0.0, started + fraction * args.seconds - time.monotonic()))
            log(what)
            action()
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

        log(f"load over: {len(accepted)} jobs accepted; waiting for all to finish")
        ids = list(accepted)
        id_list = "'{" + ",".join(ids) + "}'::uuid[]"

        def unfinished():
            return int(psql(stack.database_url,
                            f"select count(*) from jobs where job_id = any({id_list}) "
                            f"and status not in {TERMINAL!r}"))
        wait_until(lambda: unfinished() == 0, 600, "every accepted job to finish")
        drained = time.monotonic()
        # Give the workers' helpers a moment to settle back to idle (they are per-worker pools).
        wait_until(lambda: all(snapshot_processes(stack)[name]["children"] <= idle_processes[name]["children"]
                               for name in ("worker1", "worker2")), 60, "helper processes back to idle")
        end_processes = snapshot_processes(stack)

        found = int(psql(stack.database_url, f"select count(*) from jobs where job_id = any({id_list})"))
        twice = int(psql(stack.database_url,
                         "select count(*) from (select item_id from item_executions where outcome = 'succeeded' "
                         "group by item_id having count(*) > 1) t"))
        counters_off = int(psql(stack.database_url,
                                "select count(*) from jobs j where status in ('succeeded','partial','failed') and "
                                "j.items_total <> j.items_succeeded + j.items_failed + j.items_canceled"))
        statuses = psql(stack.database_url,
                        f"select status || '=' || count(*) from jobs where job_id = any({id_list}) group by status")
        report = {
            "seconds": args.seconds,
            "jobs_accepted": len(ids),
            "jobs_found": found,
            "job_statuses": statuses.split(),
            "items_succeeded_twice": twice,
            "finished_jobs_with_inconsistent_counters": counters_off,
            "answers": answers.by_client,
            "unexpected_answers": answers.bad[:20],
            "b_idle_seconds": [round(value, 2) for value in b_idle],
            "b_under_load_p50_s": round(statistics.median(b_latencies), 2) if b_latencies else None,
            "b_under_load_max_s": round(max(b_latencies), 2) if b_latencies else None,
            "b_under_load_n": len(b_latencies),
            "drain_seconds_after_load": round(drained - started - args.seconds, 1),
            "processes_idle": idle_processes,
            "processes_after": end_processes,
        }
        print(json.dumps(report, indent=1))
        failures = []
        if found != len(ids):
            failures.append("accepted jobs missing from Postgres")
        if twice:
            failures.append("items that succeeded twice")
        if counters_off:
            failures.append("finished jobs whose counters do not add up")
        if answers.bad:
            failures.append("5xx answers other than 503, or connection failures")
        if failures:
            log("FAILED: " + "; ".join(failures))
            return 1
        log("passed")
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

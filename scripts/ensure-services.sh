#!/usr/bin/env bash
# Makes Postgres and Redis available on loopback (127.0.0.1) for tests and local runs:
# starts them when they are stopped, installs them from Debian's packages when they are absent,
# and creates the role `tokworks` (LOGIN, CREATEDB, password `tokworks`) and the database `tokworks`.
# Idempotent: on a machine where both already run it only checks them and the role.
# Usage: scripts/ensure-services.sh
set -euo pipefail

postgres_host="127.0.0.1"
postgres_port="${POSTGRES_PORT:-5432}"
redis_host="127.0.0.1"
redis_port="${REDIS_PORT:-6379}"
readiness_attempts=60 # × 0.5 s

log() { echo "ensure-services: $*" >&2; }

run_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing $* from Debian's packages"
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

postgres_is_ready() { pg_isready -q -h "$postgres_host" -p "$postgres_port" >/dev/null 2>&1; }
redis_is_ready() { [[ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" == "PONG" ]]; }

wait_until() {
  local description="$1"
  shift
  for ((attempt = 1; attempt <= readiness_attempts; attempt++)); do
    if "$@"; then return 0; fi
    sleep 0.5
  done
  log "$description did not become ready within $((readiness_attempts / 2)) s"
  return 1
}

# Runs psql as a Postgres superuser: over TCP as `postgres` (trust auth, as on CI machines),
# else over the local socket as the `postgres` OS user (peer auth, a fresh Debian install).
admin_psql() {
  if psql -h "$postgres_host" -p "$postgres_port" -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    psql -h "$postgres_host" -p "$postgres_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
  else
    run_as_root runuser -u postgres -- psql -p "$postgres_port" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
  fi
}

ensure_postgres() {
  if postgres_is_ready; then
    log "postgres is ready on $postgres_host:$postgres_port"
  else
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      apt_install postgresql
    fi
    local cluster_version
    cluster_version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    log "starting postgres cluster $cluster_version/main"
    run_as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start || true
    wait_until "postgres" postgres_is_ready
    log "postgres is ready on $postgres_host:$postgres_port"
  fi

  if [[ "$(admin_psql -c "select 1 from pg_roles where rolname = 'tokworks'")" != "1" ]]; then
    log "creating role tokworks"
    admin_psql -c "create role tokworks with login createdb password 'tokworks'"
  fi
  if [[ "$(admin_psql -c "select 1 from pg_database where datname = 'tokworks'")" != "1" ]]; then
    log "creating database tokworks"
    admin_psql -c "create database tokworks owner tokworks"
  fi
}

ensure_redis() {
  if redis_is_ready; then
    log "redis is ready on $redis_host:$redis_port"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
  fi
  run_as_root mkdir -p /var/lib/redis /var/log/redis
  log "starting redis-server on $redis_host:$redis_port"
  run_as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_until "redis" redis_is_ready
  log "redis is ready on $redis_host:$redis_port"
}

ensure_postgres
ensure_redis

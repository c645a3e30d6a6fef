#!/usr/bin/env bash
# Runs the whole test suite (the README's test command): makes Postgres and Redis available,
# installs the native build tools (cmake, libclang-dev), the pinned yt-dlp and headless Chromium (the dashboard's browser test), builds every
# binary and test (the end-to-end tests spawn the api, worker and simulator binaries), then runs
# every test with cargo-nextest.
# Exits non-zero when any test fails; nextest prints its summary either way.
# Usage: scripts/test.sh [extra cargo-nextest arguments, e.g. -E 'package(tokworks-e2e)']
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"

"$repo_root/scripts/ensure-services.sh"
"$repo_root/scripts/ensure-build-tools.sh"
"$repo_root/scripts/install-ytdlp.sh"
"$repo_root/scripts/install-chromium.sh"

# Values already set win; these defaults match scripts/ensure-services.sh.
# DATABASE_URL must be allowed to create databases: tests make one per test and drop it after.
export DATABASE_URL="${DATABASE_URL:-postgres://tokworks:tokworks@127.0.0.1:5432/tokworks}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export YTDLP_PATH="${YTDLP_PATH:-$repo_root/.venv/ytdlp/bin/yt-dlp}"

# A fresh machine has cargo but not cargo-nextest: install it (once, into ~/.cargo/bin).
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi

echo "test.sh: building binaries and tests" >&2
cargo build --workspace --bins --tests

echo "test.sh: running tests (Postgres ${DATABASE_URL#*@}, Redis ${REDIS_URL#*@})" >&2
exec cargo nextest run --workspace --no-fail-fast --profile "${NEXTEST_PROFILE:-ci}" "$@"

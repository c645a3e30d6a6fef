#!/usr/bin/env bash
# Makes the native build tools of the workspace available: cmake and libclang-dev, which the
# `wreq` crate needs to compile BoringSSL from source (ARCHITECTURE.md "Written by hand, and the
# crates we chose"). Installs them with apt-get when missing; elsewhere it names what to install.
# Usage: scripts/ensure-build-tools.sh
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# bindgen loads libclang at build time; Debian/Ubuntu ship it in libclang-dev (any version).
# Only libclang itself counts: libclang-cpp.so.N (installed by other LLVM packages) is not it.
has_libclang() {
  local pattern
  for pattern in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* \
    /usr/lib/*/libclang.so* /usr/lib/*/libclang-[0-9]*.so*; do
    compgen -G "$pattern" >/dev/null && return 0
  done
  return 1
}
if ! has_libclang; then
  missing+=(libclang-dev)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-build-tools: install ${missing[*]} (needed to compile BoringSSL for wreq)" >&2
  exit 1
fi
echo "ensure-build-tools: installing ${missing[*]} with apt-get" >&2
run_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"

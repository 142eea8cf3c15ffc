#!/usr/bin/env bash
# Builds (if needed) and runs the manifest benchmark: N generated remains
# records (default 100,000) parsed from CSV, committed into an encrypted
# LevelDB manifest store, proven and verified on one thread, next to the raw
# BLAKE2b rate measured in the same run.   bash bench/manifest.sh [N] [scratch-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parley_manifest_bench -j "$(nproc)" >/dev/null
exec "$build/bench/parley_manifest_bench" "${1:-100000}" "${2:-${TMPDIR:-/tmp}}"

#!/usr/bin/env bash
# Builds (if needed) and runs the audit memory benchmark: peak RSS of
# `parley audit` (text and --json) on a bundle of N malformed records
# (default 1,000,000), next to `parley audit` of a small valid bundle
# measured in the same run.   bash bench/audit_memory.sh [N] [scratch-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parley parley_audit_memory_bench -j "$(nproc)" >/dev/null
exec "$build/bench/parley_audit_memory_bench" "${1:-1000000}" "${2:-${TMPDIR:-/tmp}}"

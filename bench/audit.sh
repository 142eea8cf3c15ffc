#!/usr/bin/env bash
# Builds (if needed) and runs the audit benchmark: a generated bundle of
# N entries (default 1,000,000) audited on two threads, next to the raw
# two-thread Ed25519 verify rate measured in the same run; peak RSS of the
# auditing process.   bash bench/audit.sh [N] [scratch-dir]
# RSS growth per entry between two sizes (target: <= 120 bytes from 1M to 4M):
#   bash bench/audit.sh --growth 1000000 4000000 [scratch-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parley_audit_bench -j "$(nproc)" >/dev/null
if [[ "${1:-}" == --growth ]]; then
  exec "$build/bench/parley_audit_bench" --growth "${2:-1000000}" "${3:-4000000}" "${4:-${TMPDIR:-/tmp}}"
fi
exec "$build/bench/parley_audit_bench" "${1:-1000000}" "${2:-${TMPDIR:-/tmp}}"

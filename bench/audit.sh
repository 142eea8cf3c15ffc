#!/usr/bin/env bash
# Builds (if needed) and runs the audit benchmark: a generated bundle of
# N entries (default 1,000,000) audited on two threads, next to the raw
# two-thread Ed25519 verify rate measured in the same run; peak RSS of the
# auditing process.   bash bench/audit.sh [N] [scratch-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parley_audit_bench -j "$(nproc)" >/dev/null
exec "$build/bench/parley_audit_bench" "${1:-1000000}" "${2:-${TMPDIR:-/tmp}}"

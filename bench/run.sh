#!/usr/bin/env bash
# Builds (if needed) and runs the Parley benchmark. See bench/README.md.
#
#   bash bench/run.sh                 # full run (about 2-6 minutes)
#   bash bench/run.sh --entries 20000 --seconds 2 --statements 300   # quicker
#   BUILD_DIR=/tmp/b bash bench/run.sh                               # another build folder
#
# Arguments are passed to the bench binary (parley_bench --help lists them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  echo "configuring $build ..." >&2
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "building parley and parley_bench in $build ..." >&2
if ! log="$(cmake --build "$build" --target parley parley_bench -j "$(nproc)" 2>&1)"; then
  echo "$log" >&2
  echo "bench/run.sh: build failed in $build" >&2
  exit 1
fi

exec "$build/bench/parley_bench" "$@"

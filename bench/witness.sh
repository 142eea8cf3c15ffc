#!/usr/bin/env bash
# Builds (if needed) and runs the witness benchmark: `parley witness` pinned
# to one core (taskset) serving add-checkpoint over HTTP on 127.0.0.1 to
# concurrent logs, next to the raw Ed25519 verify + sign rate on that core
# measured in the same run (bench/README.md, figure 4).
#   bash bench/witness.sh [--clients 64[,128]] [--seconds 5] [--per-log 3000] [--core 0] [--dir DIR]
# The state folder defaults to the system temp dir; pass --dir to put it on
# the disk a real witness would use.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parley_witness_bench parley -j 2 >/dev/null
dir="${TMPDIR:-/tmp}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ "${args[i]}" == --dir ]] && dir="${args[i + 1]:-$dir}"; done
mkdir -p "$dir"
fstype=$(findmnt -no FSTYPE -T "$dir" 2>/dev/null | head -1 || true)
echo "state folder file system: ${fstype:-$(stat -f -c %T "$dir" 2>/dev/null || echo unknown)} ($dir)"
exec "$build/bench/parley_witness_bench" "$@"

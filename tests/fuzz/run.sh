#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]
#
# Builds the libFuzzer targets with clang (a separate CMake project rooted at
# tests/fuzz/, build directory build-fuzz/ or $PARLEY_FUZZ_BUILD_DIR), replays
# every committed corpus (tests/fuzz/corpus/<target>/, -runs=0), then fuzzes
# each target for SECONDS (default 30) on a scratch copy of its corpus, so
# the committed corpus is never written. Prints, per target: execs, exec/s,
# new coverage units and crashes (with the reproducer's path).
# Exit status: 0 if nothing crashed, 1 if a replay or a fuzz run crashed
# (including leaks, timeouts and out-of-memory), 2 on a build failure.
#
# Environment:
#   PARLEY_FUZZ_BUILD_DIR  build directory (default: <repo>/build-fuzz)
#   PARLEY_FUZZ_CXX        clang++ to use (default: clang++-14 or clang++)
#   PARLEY_FUZZ_TARGETS    space-separated subset (default: all ten)
#   PARLEY_FUZZ_PARALLEL   targets fuzzed at once (default: 2 if nproc >= 2)
set -euo pipefail

SECS=${1:-30}
FUZZ_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$FUZZ_DIR/../.." && pwd)
BUILD=${PARLEY_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
TARGETS=(${PARLEY_FUZZ_TARGETS:-fuzz_envelope fuzz_ingest fuzz_bundle fuzz_key_file fuzz_manifest_csv fuzz_proof_file fuzz_submit fuzz_note fuzz_add_checkpoint fuzz_http_frame})
NPROC=$(nproc 2>/dev/null || echo 1)
PARALLEL=${PARLEY_FUZZ_PARALLEL:-$([ "$NPROC" -ge 2 ] && echo 2 || echo 1)}

if [ -n "${PARLEY_FUZZ_CXX:-}" ]; then
  CXX_BIN=$PARLEY_FUZZ_CXX
elif command -v clang++-14 >/dev/null; then
  CXX_BIN=clang++-14
elif command -v clang++ >/dev/null; then
  CXX_BIN=clang++
else
  echo "fuzz: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

# Per-target libFuzzer flags. -max_len keeps inputs near what each parser
# meets; fuzz_key_file runs Argon2id (~0.1 s) on most inputs that reach it.
flags_for() {
  case "$1" in
    fuzz_envelope) echo "-max_len=4096" ;;
    fuzz_ingest)   echo "-max_len=2048 -len_control=20 -timeout=30" ;;
    fuzz_bundle)   echo "-max_len=16384 -timeout=30" ;;
    fuzz_key_file) echo "-max_len=256 -timeout=30 -rss_limit_mb=3072" ;;
    fuzz_manifest_csv) echo "-max_len=4096" ;;
    fuzz_proof_file)   echo "-max_len=8192" ;;
    fuzz_submit)       echo "-max_len=4096 -timeout=30" ;;
    fuzz_add_checkpoint) echo "-max_len=4096" ;;
    fuzz_http_frame)     echo "-max_len=512" ;;
  esac
}

# --- build -------------------------------------------------------------------
mkdir -p "$BUILD"
# Keep the build directory out of `git status` without touching .gitignore.
[ -f "$BUILD/.gitignore" ] || echo '*' > "$BUILD/.gitignore"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
echo "fuzz: building with $CXX_BIN into $BUILD"
if ! cmake -S "$FUZZ_DIR" -B "$BUILD" "${GEN[@]}" -DCMAKE_CXX_COMPILER="$CXX_BIN" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/configure.log" 2>&1; then
  cat "$BUILD/configure.log" >&2
  exit 2
fi
if ! cmake --build "$BUILD" -j "$NPROC" >"$BUILD/build.log" 2>&1; then
  tail -50 "$BUILD/build.log" >&2
  exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
total_execs=0
total_crashes=0

# --- replay the committed corpora -------------------------------------------
for t in "${TARGETS[@]}"; do
  corpus="$FUZZ_DIR/corpus/$t"
  mkdir -p "$BUILD/logs"
  log="$BUILD/logs/$t.replay.log"
  # shellcheck disable=SC2046
  mkdir -p "$BUILD/artifacts/replay"
  if "$BUILD/$t" -runs=0 $(flags_for "$t") -artifact_prefix="$BUILD/artifacts/replay/$t-" "$corpus" >"$log" 2>&1; then
    echo "fuzz: replay $t: $(ls "$corpus" | wc -l) inputs OK"
  else
    echo "fuzz: replay $t: CRASH (log: $log)"
    grep -E "ERROR|FUZZ_CHECK|invariant failed|runtime error|Running:" "$log" | head -20 | sed 's/^/    /'
    status=1
    total_crashes=$((total_crashes + 1))
  fi
done

# --- fuzz ------------------------------------------------------------------
fuzz_one() {
  local t=$1
  local scratch="$BUILD/scratch/$t" art="$BUILD/artifacts/$t/"
  rm -rf "$scratch" "$art"
  mkdir -p "$scratch" "$art"
  cp -r "$FUZZ_DIR/corpus/$t/." "$scratch/"
  local before
  before=$(ls "$scratch" | wc -l)
  # shellcheck disable=SC2046
  ( cd "$BUILD" && "$BUILD/$t" "$scratch" $(flags_for "$t") -max_total_time="$SECS" \
      -print_final_stats=1 -artifact_prefix="$art" ) >"$BUILD/logs/$t.fuzz.log" 2>&1 || true
  echo "$before" >"$BUILD/logs/$t.before"
}

if [ "$SECS" -gt 0 ]; then
  echo "fuzz: fuzzing ${TARGETS[*]} for ${SECS}s each, $PARALLEL at a time"
  running=0
  for t in "${TARGETS[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true

  printf '%-18s %10s %8s %9s %8s\n' target execs exec/s new_units crashes
  for t in "${TARGETS[@]}"; do
    log="$BUILD/logs/$t.fuzz.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    crashes=$(find "$BUILD/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                -o -name 'oom-*' \) | wc -l)
    printf '%-18s %10s %8s %9s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${units:-?}" "$crashes"
    total_execs=$((total_execs + ${execs:-0}))
    total_crashes=$((total_crashes + crashes))
    if [ "$crashes" -gt 0 ] || [ -z "$execs" ]; then
      [ -n "$execs" ] || total_crashes=$((total_crashes + 1))  # the run died before its stats
      status=1
      echo "    log: $log"
      find "$BUILD/artifacts/$t" -type f ! -name 'slow-unit-*' | sed 's/^/    reproducer: /'
      grep -E "ERROR|FUZZ_CHECK|invariant failed|runtime error" "$log" | head -10 | sed 's/^/    /'
    fi
  done
fi

# One line for callers (setup.sh's summary): replay crashes count as crashes.
if [ "$SECS" -gt 0 ]; then
  echo "fuzz: ${#TARGETS[@]} targets, $total_execs execs, $total_crashes crashes"
else
  echo "fuzz: ${#TARGETS[@]} targets, replay only, $total_crashes crashes"
fi
exit "$status"

#!/usr/bin/env bash
# Parley's one entry point on a fresh Debian 12 machine (as root):
#   ./setup.sh test   install missing packages, then, in order:
#                       1. build with AddressSanitizer + UndefinedBehaviorSanitizer
#                          (./build-asan, -DPARLEY_SANITIZE=ON) and run the whole
#                          test suite (ctest: unit + e2e), the `parley` processes
#                          the e2e tests start sanitized too;
#                       2. the libFuzzer targets (tests/fuzz/run.sh): replay the
#                          committed corpora, then fuzz each target for
#                          PARLEY_FUZZ_SECONDS (default 20) seconds.
#                     With PARLEY_TEST_PLAIN=1 the suite also runs in the
#                     optimized build (./build) first. (Both builds take
#                     minutes on 2 cores; the sanitized run is the stricter.)
#                     Every stage runs even if an earlier one failed; the exit
#                     status is non-zero if any failed; a summary comes last.
#   ./setup.sh demo   install missing packages, build, play the demo exchange
#   ./setup.sh build  install missing packages and build only
#   ./setup.sh package
#                     install missing packages, build `parley` (install prefix
#                     /usr) and make the Debian package with CPack:
#                     ./build/parley_VERSION_ARCH.deb (the binary, the systemd
#                     unit parley@.service, man pages, bash completion; see
#                     docs/OPERATIONS.md, "Installing from the package")
# The build goes to ./build (override with PARLEY_BUILD_DIR); the sanitized
# one to ./build-asan (PARLEY_ASAN_BUILD_DIR), the fuzzers to ./build-fuzz
# (PARLEY_FUZZ_BUILD_DIR).
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
BUILD_DIR=${PARLEY_BUILD_DIR:-build}
ASAN_BUILD_DIR=${PARLEY_ASAN_BUILD_DIR:-build-asan}
FUZZ_SECONDS=${PARLEY_FUZZ_SECONDS:-20}
JOBS=$(nproc)

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev libleveldb-dev libsnappy-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  doctest-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  prometheus-cpp-dev
  chromium fonts-dejavu-core
)
# Only for `test`: the fuzz targets (clang, libFuzzer and its sanitizer
# runtimes), llvm-symbolizer for readable sanitizer stack traces, and the
# JSON Schema validator.
# python3-jsonschema: the suite validates JSON output against
# docs/audit.schema.json.
TEST_PACKAGES=(clang libclang-rt-14-dev llvm python3 python3-jsonschema)
# The package and its tests (tests/package_test.sh, service_unit_test.sh):
# cpack's dependency scan (dpkg-shlibdeps, file), systemd-analyze, and groff
# and man to render the man pages.
PACKAGE_PACKAGES=(dpkg-dev file)
TEST_PACKAGES+=("${PACKAGE_PACKAGES[@]}" systemd groff-base man-db)

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure_and_build DIR [cmake args...] [-- targets...]
configure_and_build() {
  local dir=$1
  shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && targets=("$@")
  mkdir -p "$dir"
  # Keep every build directory out of `git status` (see also .gitignore).
  [ -f "$dir/.gitignore" ] || echo '*' >"$dir/.gitignore"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$JOBS"
  fi
}

build() {
  install_missing "${PACKAGES[@]}"
  configure_and_build "$BUILD_DIR"
}

heading() {
  echo
  echo "=============================================================================="
  echo "== $*"
  echo "=============================================================================="
}

# --- the stages of `test`; each prints its own result line into RESULTS -------
RESULTS=()
FAILED=0
PASSED=0

stage_done() {  # stage_done NAME STATUS START_SECONDS DETAIL
  local name=$1 status=$2 start=$3 detail=$4
  local secs=$((SECONDS - start))
  local word=passed
  if [ "$status" -ne 0 ]; then
    word=FAILED
    FAILED=$((FAILED + 1))
  else
    PASSED=$((PASSED + 1))
  fi
  RESULTS+=("$(printf '%-12s %-7s %4dm%02ds  %s' "$name:" "$word" $((secs / 60)) $((secs % 60)) "$detail")")
}

# The last "N tests failed out of M" line of a ctest log, shortened.
ctest_detail() {
  local line
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -1 || true)
  [ -n "$line" ] && echo "ctest: $line" || echo "ctest did not finish (see above)"
}

stage_tests() {
  heading "build and test (unit + e2e) in $BUILD_DIR"
  local start=$SECONDS status=0 log
  log=$(mktemp)
  if configure_and_build "$BUILD_DIR"; then
    (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 1200) 2>&1 | tee "$log" || status=1
  else
    echo "setup: build failed"
    echo "build failed" >"$log"
    status=1
  fi
  stage_done "unit+e2e" "$status" "$start" "$(ctest_detail "$log")"
  rm -f "$log"
}

stage_asan() {
  heading "ASan + UBSan build and test (unit + e2e) in $ASAN_BUILD_DIR"
  local start=$SECONDS status=0 log reports
  log=$(mktemp)
  # Every sanitized process, the test binary and each `parley` it starts,
  # writes its reports to $reports/<tool>.<pid> (child nodes' stderr goes to
  # logs the tests delete). Any report fails the stage, whatever the test's
  # own verdict was.
  mkdir -p "$ASAN_BUILD_DIR"
  reports="$(cd "$ASAN_BUILD_DIR" && pwd)/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  # Only what the suite runs (the benchmarks are left out of this build), at
  # -O1 -g1 (line tables only): about a third less compile time than -O2 -g,
  # with file:line in every report.
  if configure_and_build "$ASAN_BUILD_DIR" -DPARLEY_SANITIZE=ON \
       "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -- parley parley_tests; then
    (
      cd "$ASAN_BUILD_DIR"
      export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:detect_stack_use_after_return=0:log_path=$reports/asan"
      # tests/lsan.supp: one leak inside OpenSSL at a TLS node's exit (see there).
      export LSAN_OPTIONS="exitcode=86:suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
      export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$reports/ubsan"
      ctest --output-on-failure --timeout 1800
    ) 2>&1 | tee "$log" || status=1
  else
    echo "setup: sanitized build failed"
    echo "build failed" >"$log"
    status=1
  fi
  local n
  n=$(find "$reports" -type f | wc -l)
  if [ "$n" -gt 0 ]; then
    status=1
    echo "setup: $n sanitizer report(s) in $reports:"
    for f in $(find "$reports" -type f | sort | head -10); do
      echo "--- $f"
      head -60 "$f"
    done
  fi
  stage_done "asan+ubsan" "$status" "$start" "$(ctest_detail "$log"); $n sanitizer reports"
  rm -f "$log"
}

stage_fuzz() {
  heading "fuzz: replay the corpora, then ${FUZZ_SECONDS}s per target (tests/fuzz/run.sh)"
  local start=$SECONDS status=0 log detail
  log=$(mktemp)
  bash tests/fuzz/run.sh "$FUZZ_SECONDS" 2>&1 | tee "$log" || status=1
  # run.sh ends with "fuzz: N targets, N execs, N crashes".
  detail=$(grep -E "^fuzz: [0-9]+ targets" "$log" | tail -1 | sed 's/^fuzz: //' || true)
  stage_done "fuzz" "$status" "$start" "${detail:-run.sh did not finish}"
  rm -f "$log"
}

run_tests() {
  local start=$SECONDS
  install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  # A failing stage must not stop the later ones.
  set +e
  [ "${PARLEY_TEST_PLAIN:-0}" = 1 ] && stage_tests
  stage_asan
  stage_fuzz
  set -e
  local secs=$((SECONDS - start))
  heading "summary ($((secs / 60))m$((secs % 60))s)"
  for r in "${RESULTS[@]}"; do echo "$r"; done
  echo "stages: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

case "${1:-}" in
  build)
    build
    ;;
  test)
    run_tests
    ;;
  package)
    install_missing "${PACKAGES[@]}" "${PACKAGE_PACKAGES[@]}"
    configure_and_build "$BUILD_DIR" -DCMAKE_INSTALL_PREFIX=/usr -- parley
    (cd "$BUILD_DIR" && cpack -G DEB)
    ls -l "$BUILD_DIR"/parley_*.deb
    ;;
  demo)
    build
    if [ ! -x "$BUILD_DIR/node/parley" ]; then
      echo "setup: the demo arrives with the node (issue 'Two nodes that replicate'); not built yet" >&2
      exit 2
    fi
    exec "$BUILD_DIR/node/parley" demo --dir "${PARLEY_DEMO_DIR:-demo-data}"
    ;;
  *)
    echo "usage: $0 test|demo|build|package" >&2
    exit 2
    ;;
esac

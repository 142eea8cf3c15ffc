#!/usr/bin/env bash
# Parley's one entry point on a fresh Debian 12 machine (as root):
#   ./setup.sh test   install missing packages, build, run the whole test suite
#   ./setup.sh demo   install missing packages, build, play the demo exchange
#   ./setup.sh build  install missing packages and build only
# The build goes to ./build (override with PARLEY_BUILD_DIR).
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=${PARLEY_BUILD_DIR:-build}

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev libleveldb-dev libsnappy-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  doctest-dev libcli11-dev nlohmann-json3-dev
  chromium fonts-dejavu-core
)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  install_missing
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

case "${1:-}" in
  build)
    build
    ;;
  test)
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure --timeout 1200
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
    echo "usage: $0 test|demo|build" >&2
    exit 2
    ;;
esac

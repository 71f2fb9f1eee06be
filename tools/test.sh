#!/usr/bin/env bash
# Command 2: install what is missing, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --with-test-tools
BUILD_DIR="${BUILD_DIR:-build/release}"
BUILD_DIR="$BUILD_DIR" tools/build.sh
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"

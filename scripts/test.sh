#!/usr/bin/env bash
# The tests: install what is missing, build the Release and the ASan+UBSan
# builds, run every test in both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
echo "== Release build"
scripts/build.sh release
echo "== ASan+UBSan build"
scripts/build.sh asan
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"

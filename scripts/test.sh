#!/usr/bin/env bash
# The tests: install what is missing, build the Release and the ASan+UBSan
# builds, run every test in both, then the regression gate (the CI subset
# under the sim backend against results/baselines/sim-ci.json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh --tests
echo "== Release build"
scripts/build.sh release
echo "== ASan+UBSan build"
scripts/build.sh asan
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
echo "== regression gate (sim backend: CI subset vs results/baselines/sim-ci.json)"
scripts/gate.sh

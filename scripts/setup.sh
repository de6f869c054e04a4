#!/usr/bin/env bash
# setup.sh [--tests]: installs what cachetick needs from Debian's packages,
# only what is missing; --tests adds what only the tests need (the report's
# browser test: chromium, ~100 MB the suite does not use). Safe to run
# again: with everything present it does nothing and says so.
set -euo pipefail
tests=0
case ${1:-} in
  --tests) tests=1 ;;
  "") ;;
  *) echo "setup: unknown option '$1' (usage: setup.sh [--tests])" >&2; exit 2 ;;
esac

packages=(
  # toolchain
  g++ cmake ninja-build git
  # harness
  libbenchmark-dev libgtest-dev libcli11-dev nlohmann-json3-dev libpapi-dev papi-tools valgrind
  # the peers a user would otherwise pick
  libabsl-dev robin-map-dev pdqsort-dev libhwy-dev libboost-dev
  libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev
  # charts, report, statistics (Debian's interpreter: /usr/bin/python3)
  python3 python3-matplotlib python3-scipy
)
# the report's browser test (tests/scripts/test_report_browser.py: headless)
if [[ $tests -eq 1 ]]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
if ! command -v apt-get >/dev/null; then
  echo "setup: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: not root and no sudo; install these packages by hand: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"

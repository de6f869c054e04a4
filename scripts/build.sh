#!/usr/bin/env bash
# build.sh [release|asan]: configure (once) and build into build/ or build-asan/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
case $kind in
  release) dir=$root/build; extra=() ;;
  asan) dir=$root/build-asan; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCACHETICK_SANITIZE=ON) ;;
  *) echo "build.sh: unknown build '$kind' (release or asan)" >&2; exit 2 ;;
esac
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [[ ! -f $dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$dir" "${gen[@]}" "${extra[@]}" >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"

#!/usr/bin/env bash
# gate.sh [--regenerate] [compare.py options]: the regression gate.
#
# Runs the CI subset (results/baselines/ci-subset.regex) under the sim
# backend (valgrind callgrind, deterministic counts) and compares it with the
# committed baseline results/baselines/sim-ci.json: exit 0 nothing regressed,
# 1 a regression (named), 2 bad input (e.g. benchmarks added or removed:
# regenerate). The comparison is also written as Markdown (for a PR comment)
# to build/sim-ci.md.
#
# --regenerate: rewrite the baseline from this build instead (when a change
# in the counts is meant; commit the new baseline with the change). The
# subset runs in several heap layouts (--sim-heap-layout), and the baseline
# keeps each count's range over them (scripts/layout_range.py): a count
# that moves with the layout alone is judged against that range, so that a
# commit which only moves the heap does not fail the gate.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
baseline=results/baselines/sim-ci.json
subset=results/baselines/ci-subset.regex
regenerate=0
if [[ ${1:-} == --regenerate ]]; then regenerate=1; shift; fi

# The subset file as one regex: includes OR-ed, '!' lines as a lookahead.
inc=() exc=()
while IFS= read -r line || [[ -n $line ]]; do
  [[ -z ${line// } || $line == \#* ]] && continue
  if [[ $line == !* ]]; then exc+=("${line:1}"); else inc+=("$line"); fi
done <"$subset"
if [[ ${#inc[@]} -eq 0 ]]; then echo "gate.sh: $subset selects nothing" >&2; exit 2; fi
join() { local IFS='|'; echo "$*"; }
filter="(?:$(join "${inc[@]}"))"
if [[ ${#exc[@]} -gt 0 ]]; then filter="^(?!.*(?:$(join "${exc[@]}")))(?=.*$filter)"; fi

[[ -x build/cachetick ]] || scripts/build.sh release
start=$SECONDS
if [[ $regenerate -eq 1 ]]; then
  # Layout 0 is the heap as it is (the values the gate compares with);
  # 1-7 perturb it as seven different changes to earlier code would.
  layouts=(0 1 2 3 4 5 6 7)
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  files=()
  for n in "${layouts[@]}"; do
    echo "gate.sh: heap layout $n of ${#layouts[@]}"
    files+=("$scratch/layout-$n.json")
    build/cachetick run --backend sim --filter "$filter" --sim-heap-layout "$n" -o "${files[-1]}" >/dev/null
  done
  /usr/bin/python3 scripts/layout_range.py "${files[@]}" -o "$baseline"
  echo "gate.sh: baseline rewritten in $((SECONDS - start)) s: $baseline (commit it with the change)"
  exit 0
fi
mkdir -p build
build/cachetick run --backend sim --filter "$filter" -o build/sim-ci.json
echo "gate.sh: CI subset simulated in $((SECONDS - start)) s"
/usr/bin/python3 scripts/compare.py "$baseline" build/sim-ci.json --markdown build/sim-ci.md \
  --environment-mismatch skip "$@"

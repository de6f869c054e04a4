#!/usr/bin/env bash
# The main job: install what is missing, build, run the whole suite on this
# machine and write the result under results/runs/.
#   scripts/suite.sh                 full suite, 3 repetitions (about 10-15 minutes)
#   scripts/suite.sh --quick         smoke run (about a minute)
#   scripts/suite.sh --family hash   any `cachetick run` option passes through
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/build.sh release >/dev/null
mkdir -p results/runs
# The machine's own limits, which every row is judged against: measured once
# per host (~5-20 s), then read from results/calibration/<host>.json.
build/cachetick calibrate --brief
out=results/runs/$(date -u +%Y%m%d-%H%M%S)-$(hostname | tr -c 'A-Za-z0-9-\n' '_').json
status=0
build/cachetick run -o "$out" "$@" || status=$?
exit $status

#!/usr/bin/env bash
# The main job: install what is missing, build, run the whole suite on this
# machine and write the result under results/runs/.
#   scripts/suite.sh                 full suite, 3 repetitions (16 minutes on a quiet 2-core VM)
#   scripts/suite.sh --quick         smoke run (about a minute)
#   scripts/suite.sh --family hash   any `cachetick run` option passes through
#   scripts/suite.sh -o FILE         write the result to FILE instead
# Then writes the HTML report and charts next to the JSON (scripts/report.sh).
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
# An explicit -o/--out FILE wins (e.g. the reference run, see README).
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    -o | --out) out=${args[i + 1]:-$out}; unset 'args[i]' 'args[i+1]'; ((++i)) ;;
    --out=*) out=${args[i]#--out=}; unset 'args[i]' ;;
    --no-out) out= ;;
    --) break ;;
  esac
done
status=0
build/cachetick run ${out:+-o "$out"} "${args[@]}" || status=$?
# The report next to the JSON (out.report/report.html), also after a failed or
# interrupted run: the file holds every benchmark that finished.
if [[ -n $out && -s $out ]]; then
  scripts/report.sh --quiet "$out" || echo "suite: the report could not be written (see above); the results are in $out" >&2
fi
exit $status

#!/usr/bin/env bash
# python.sh ARGS...: run a Python that can draw charts (matplotlib; scipy for
# significance tests) with ARGS. The `python3` first on PATH may be a private
# build without them (pyenv, conda), so Debian's /usr/bin/python3 comes first.
# CACHETICK_PYTHON=/path/to/python3 picks one by hand.
set -euo pipefail
candidates=()
[[ -n ${CACHETICK_PYTHON:-} ]] && candidates+=("$CACHETICK_PYTHON")
candidates+=(/usr/bin/python3 /usr/local/bin/python3)
command -v python3 >/dev/null && candidates+=("$(command -v python3)")
# First choice: matplotlib and scipy; second: matplotlib only (no significance tests).
for need in "matplotlib, scipy" "matplotlib"; do
  for py in "${candidates[@]}"; do
    [[ -x $py ]] || continue
    if "$py" -c "import $need" 2>/dev/null; then
      [[ $need == matplotlib ]] &&
        echo "python.sh: $py has no scipy: changes will not be tested for significance (apt-get install python3-scipy)" >&2
      exec "$py" "$@"
    fi
  done
done
echo "python.sh: no python3 here can import matplotlib (tried: ${candidates[*]})." >&2
echo "  On Debian/Ubuntu: sudo apt-get install python3-matplotlib python3-scipy (or scripts/setup.sh);" >&2
echo "  elsewhere: CACHETICK_PYTHON=/path/to/python3 with matplotlib and scipy installed." >&2
exit 3

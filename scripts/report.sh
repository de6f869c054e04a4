#!/usr/bin/env bash
# report.sh RESULT.json [...] [--baseline OLD.json] [-o DIR]: charts and a
# self-contained HTML report from result files (see scripts/report.py -h).
# Exit 0 done, 2 bad input, 3 no Python with matplotlib.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/python.sh" "$here/report.py" "$@"

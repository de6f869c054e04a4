#!/usr/bin/env bash
# The cachetick command line as a new user meets it: every bad input gives a
# clear message and exit 2, and Ctrl-C keeps every finished benchmark.
set -u
bin=$(realpath "${1:?usage: cli_test.sh path/to/cachetick}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect CODE PATTERN -- command...: exit code and a stderr/stdout pattern.
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then
    echo "FAIL: '$*' exited $rc, expected $code"; echo "$out" | head -5; fail=$((fail+1)); return
  fi
  if ! grep -qiE -- "$pattern" <<<"$out"; then
    echo "FAIL: '$*' output lacks /$pattern/"; echo "$out" | head -5; fail=$((fail+1)); return
  fi
  pass=$((pass+1))
}

# json_check FILE PYTHON-EXPR: the file parses and the expression holds.
json_check() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2], {"d": d})
sys.exit(0 if ok else 1)
PY
}

cd "$tmp"
expect 0 "Usage|run"            -- "$bin" --help
expect 0 "filter"               -- "$bin" run --help
expect 2 "subcommand|required"  -- "$bin"
expect 2 "unknown command .bogus." -- "$bin" bogus
expect 2 "--nonsense|not expected|extra" -- "$bin" run --nonsense
expect 2 "repetitions|range"    -- "$bin" run --repetitions 0
expect 2 "repetitions|could not|convert" -- "$bin" run --repetitions abc
expect 2 "budget"               -- "$bin" run --budget-ns -3
expect 2 "unknown family 'nope'.*layout" -- "$bin" run --family nope
expect 2 "no benchmark matches" -- "$bin" run --filter 'zzz_no_such'
expect 2 "invalid --filter"     -- "$bin" run --filter '(['
expect 2 "cannot write results" -- "$bin" run --filter harness -o /nonexistent/dir/out.json
expect 2 "is a directory"       -- "$bin" run --filter harness -o "$tmp"
expect 2 "Google Benchmark flag" -- "$bin" run --filter harness -- --not_a_gb_flag
expect 2 "unrecognized"         -- "$bin" run --filter harness -- --benchmark_bogus=1
expect 0 "layout/aos/seq_64B/16KiB" -- "$bin" list
expect 0 "^layout "             -- "$bin" list --families
expect 2 "unknown family"       -- "$bin" list --family nope

# A real (tiny) run: table, budget summary, a complete JSON result.
expect 0 "Budget: [0-9]+ of [0-9]+ benchmarks within" -- \
  "$bin" run --quick --filter 'harness|layout/soa/seq_64B/16KiB' -o "$tmp/ok.json"
# The fields Google Benchmark's tools/compare.py reads (name, time_unit,
# real_time, cpu_time, run_type, aggregate_name) are there, as GB writes them.
if json_check "$tmp/ok.json" 'd["cachetick"]["complete"] is True and len(d["benchmarks"]) == 2 and all("ns_per_op" in b["cachetick"] for b in d["benchmarks"]) and "caches" in d["context"] and all(isinstance(b[k], (int, float)) for b in d["benchmarks"] for k in ("real_time", "cpu_time", "iterations")) and all(b["time_unit"] == "ns" and b["run_type"] == "iteration" and b["name"] == b["run_name"] for b in d["benchmarks"])'; then
  pass=$((pass+1)); else echo "FAIL: ok.json is not a complete result"; fail=$((fail+1)); fi

# Default destination: results/runs/<date>-<host>.json under the current directory.
expect 0 "Results: results/runs/" -- "$bin" run --quick --filter harness
if ls results/runs/*.json >/dev/null 2>&1; then pass=$((pass+1)); else
  echo "FAIL: no default result under results/runs"; fail=$((fail+1)); fi

# Ctrl-C mid-run: finished benchmarks stay, the file says incomplete, exit 130.
"$bin" run --filter 'layout/.*/seq_64B' --repetitions 2 --min-time 0.05 -o "$tmp/int.json" >"$tmp/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  if [[ -f "$tmp/int.json" ]] && json_check "$tmp/int.json" 'len(d["benchmarks"]) >= 2' 2>/dev/null; then break; fi
  sleep 0.1
done
kill -INT $pid; wait $pid; rc=$?
if [[ $rc -eq 130 ]] && grep -q "interrupted" "$tmp/int.log" &&
   json_check "$tmp/int.json" 'd["cachetick"]["complete"] is False and len(d["benchmarks"]) >= 2'; then
  pass=$((pass+1))
else
  echo "FAIL: Ctrl-C: rc=$rc"; tail -3 "$tmp/int.log"; fail=$((fail+1))
fi
if ls "$tmp"/int.json.tmp.* >/dev/null 2>&1; then echo "FAIL: temp file left behind"; fail=$((fail+1)); else pass=$((pass+1)); fi

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

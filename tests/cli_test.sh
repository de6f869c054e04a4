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
expect 2 "CACHETICK_PRETEND: unknown condition 'no-such'.*no-rdtscp" -- env CACHETICK_PRETEND=no-such "$bin" list
expect 0 "CACHETICK_PRETEND=no-rdtscp: host conditions injected" -- \
  env CACHETICK_PRETEND=no-rdtscp "$bin" run --quick --filter '^harness' --no-out
expect 0 "end lfence; rdtsc; lfence \(CPUID's RDTSCP ignored" -- \
  env CACHETICK_PRETEND=no-rdtscp "$bin" run --quick --filter '^harness' --no-out
expect 0 "caches \(unknown\): not known" -- \
  env CACHETICK_PRETEND=no-sysfs-caches,no-cpuid-caches "$bin" run --quick --filter '^harness' --no-out
expect 2 "--nonsense|not expected|extra" -- "$bin" run --nonsense
expect 2 "rounds: .*range"    -- "$bin" run --repetitions 0
expect 2 "rounds: .*range"    -- "$bin" run --rounds -3
expect 2 "rounds: .*abc"      -- "$bin" run --rounds abc
expect 2 "rounds-target: .*range" -- "$bin" run --rounds-target 0
expect 2 "rounds-target: .*range" -- "$bin" run --rounds-target -0.1
expect 2 "margin: .*range"    -- "$bin" run --margin -0.01
expect 2 "group-cap: .*range" -- "$bin" run --group-cap 0
expect 2 "processes: .*range" -- "$bin" run --processes 0
expect 2 "processes: .*range" -- "$bin" run --processes -1
expect 2 "--processes applies to the time backend" -- "$bin" run --backend sim --processes 2 --no-out
expect 2 "--margin applies to the time backend" -- "$bin" run --backend sim --margin 0.1 --no-out
# DRAM-scale groups only with --large.
expect 2 "working sets above 16MiB, which a default run skips; add --large" -- "$bin" run --filter 'io/.*/1GiB$' --no-out
# A paired run compares a group's variants: one variant alone, or a group
# without its reference, is bad input unless --unpaired says so.
expect 2 "group hash/hit/4096 cannot be paired: only ct is selected.*--unpaired" -- \
  "$bin" run --filter 'hash/ct/hit/4096$' --no-out
expect 2 "group hash/hit/4096 cannot be paired: its reference .* is not selected" -- \
  "$bin" run --filter 'hash/(naive|std_unordered_map)/hit/4096$' --no-out
expect 2 "budget"               -- "$bin" run --budget-ns -3
expect 2 "unknown family 'nope'.*layout" -- "$bin" run --family nope
expect 2 "no benchmark matches" -- "$bin" run --filter 'zzz_no_such'
expect 2 "invalid --filter"     -- "$bin" run --filter '(['
expect 2 "cannot write results" -- "$bin" run --filter harness -o /nonexistent/dir/out.json
expect 2 "is a directory"       -- "$bin" run --filter harness -o "$tmp"
expect 2 "cannot write results to '/proc/x.json'" -- "$bin" run --filter harness -o /proc/x.json
# calibrate checks its output before it measures (a measurement takes 10-60 s;
# the timeout turns one that starts into exit 124, not 2).
expect 2 "cachetick calibrate: cannot write '/proc/x.json'" -- timeout 5 "$bin" calibrate --force -o /proc/x.json
expect 2 "cachetick calibrate: cannot write '/nonexistent/dir/cal.json'" -- \
  timeout 5 "$bin" calibrate -o /nonexistent/dir/cal.json
expect 2 "Google Benchmark flag" -- "$bin" run --filter harness -- --not_a_gb_flag
expect 2 "unrecognized"         -- "$bin" run --filter harness -- --benchmark_bogus=1
expect 0 "layout/aos/seq_64B/16KiB" -- "$bin" list
expect 0 "^layout "             -- "$bin" list --families
for fam in sharing records smallvec; do
  expect 0 "^$fam "             -- "$bin" list --families
done
expect 0 "records::Loose: 80 B, align 8; fields 46 B, padding 34 B" -- "$bin" layout-report
expect 0 "layout::Record<Cold312>: 312 B" -- "$bin" layout-report
expect 2 "not expected"        -- "$bin" layout-report --bogus
expect 2 "unknown family"       -- "$bin" list --family nope

# Each group (family/workload/size) of these families has exactly one
# optimised variant: the reference of paired comparisons (issue 17) and of
# the claims table. counters and harness measure the harness itself: no optimised variant.
bad_groups=$("$bin" list --family arena,buffers,hash,io,layout,parse,pool,records,sharing,smallvec,sort,strings | awk 'NR > 1 { split($1, n, "/"); g = n[1] "/" n[3] "/" n[4];
  seen[g]; if ($2 == "optimised") opt[g]++ } END { for (g in seen) if (opt[g] != 1) print g, opt[g] + 0 }')
if [[ -z $bad_groups ]] && "$bin" list --family arena,buffers,hash,io,layout,parse,pool,records,sharing,smallvec,sort,strings | grep -q optimised; then pass=$((pass+1)); else
  echo "FAIL: groups without exactly one optimised variant: $bad_groups"; fail=$((fail+1)); fi

# A real (tiny) run: table, budget summary, a complete JSON result.
expect 0 "Budget: [0-9]+ of [0-9]+ benchmarks within" -- \
  "$bin" run --quick --unpaired --filter 'harness|layout/soa/seq_64B/16KiB' -o "$tmp/ok.json"
# The fields Google Benchmark's tools/compare.py reads (name, time_unit,
# real_time, cpu_time, run_type, aggregate_name) are there, as GB writes them.
if json_check "$tmp/ok.json" 'd["cachetick"]["complete"] is True and len({b["run_name"] for b in d["benchmarks"]}) == 2 and all("ns_per_op" in b["cachetick"] for b in d["benchmarks"] if b.get("aggregate_name") != "cv") and "caches" in d["context"] and all(isinstance(b[k], (int, float)) for b in d["benchmarks"] for k in ("real_time", "cpu_time", "iterations")) and all(b["time_unit"] == "ns" and b["name"] == b["run_name"] and b["repetitions"] == 6 for b in d["benchmarks"] if b["run_type"] == "iteration") and sorted(b["aggregate_name"] for b in d["benchmarks"] if b["run_type"] == "aggregate") == sorted(2 * ["mean", "median", "stddev", "cv"])'; then
  pass=$((pass+1)); else echo "FAIL: ok.json is not a complete result"; fail=$((fail+1)); fi

# Counters: unknown names are bad input; what cannot be counted is said, never a 0.
expect 2 "unknown counter 'bogus'.*cycles.*page-faults" -- "$bin" run --filter harness --counters bogus
expect 2 "none cannot be combined" -- "$bin" run --filter harness --counters none,cycles
expect 2 "unknown counter"      -- "$bin" counters --counters cycels
# A raw PAPI name: unknown to a working PAPI, or PAPI is unavailable; exit 2 either way.
expect 2 "counter 'PAPI_NOPE'" -- "$bin" run --filter harness --counters PAPI_NOPE
# (A build without PAPI stays one: papi-disabled cannot make it more available.)
expect 2 "counter 'PAPI_NOPE' is a raw PAPI event name, but PAPI is unavailable here: (PAPI's perf_event component is disabled|cachetick was built without PAPI).*page-faults" -- \
  env CACHETICK_PRETEND=papi-disabled "$bin" run --filter harness --counters PAPI_NOPE
expect 2 "counter 'PAPI_NOPE' is a raw PAPI event name, but PAPI is unavailable here: cachetick was built without PAPI" -- \
  env CACHETICK_PRETEND=no-papi "$bin" run --filter harness --counters PAPI_NOPE
expect 2 "PAPI is unavailable here" -- env CACHETICK_PRETEND=no-papi "$bin" counters --counters perf::PAGE-FAULTS
expect 2 "unknown condition 'bogus'" -- env CACHETICK_PRETEND=bogus "$bin" counters
expect 0 "allocs +allocation +(alloc_hooks +malloc/new hooks +yes|- +malloc/new hooks +no +allocation hooks are off in sanitizer builds)" -- "$bin" counters
# Without a PMU, every hardware event says so, whichever backend was tried.
expect 0 "cycles +hardware +- .* no +hardware event, but no hardware PMU exposed" -- env CACHETICK_PRETEND=no-pmu "$bin" counters
expect 0 "l2-misses +hardware +- .* no +hardware event, but no hardware PMU exposed" -- env CACHETICK_PRETEND=papi-disabled,no-pmu "$bin" counters
if "$bin" counters | grep -q "^PMU: not available"; then
  # A VM without PMU passthrough (our machines): say so for every hardware event.
  expect 0 "cycles +hardware +- .* no +hardware event, but (no hardware PMU|not permitted)" -- "$bin" counters
fi
# PAPI disabled (libpfm4 does not know the CPU): the kernel's perf_event counts the software events.
kernel_down=$(env -u CACHETICK_PRETEND "$bin" counters | grep "^perf_event: unavailable")
if [[ -z $kernel_down ]]; then
  expect 0 "page-faults +software +perf_event +page-faults +yes" -- env CACHETICK_PRETEND=papi-disabled "$bin" counters
  expect 0 "context-switches +software +perf_event +context-switches +yes" -- env CACHETICK_PRETEND=papi-disabled "$bin" counters
else
  echo "cli: this kernel refuses perf_event_open ($kernel_down): the perf_event checks are skipped"
fi
expect 0 "page-faults +software +- .* no +PAPI: unavailable: .*; perf_event: unavailable: this kernel has no perf_event_open" -- \
  env CACHETICK_PRETEND=papi-disabled,no-perf-event "$bin" counters
"$bin" run --rounds 2 --min-time 0.001 --filter 'counters/(malloc_free|fresh_pages)' -o "$tmp/cnt.json" >"$tmp/cnt.log" 2>&1
if json_check "$tmp/cnt.json" '(
all(b["name"] != "" for b in d["benchmarks"]) and
(lambda c: all(all(x["name"] not in b for b in d["benchmarks"]) for x in c["counters"] if not x["available"]) and
           all(all(x["name"] in b for b in d["benchmarks"]) for x in c["counters"] if x["available"] and x["kind"] in ("software", "hardware")))(d["cachetick"]["counters"]) and
(not d["cachetick"]["counters"]["allocations"]["available"] or
 ([b["cachetick"]["allocs_per_op"] for b in d["benchmarks"] if "malloc_free" in b["name"] and b.get("aggregate_name") == "median"] == [1.0] and
  [b["cachetick"]["alloc_bytes_per_op"] for b in d["benchmarks"] if "malloc_free" in b["name"] and b.get("aggregate_name") == "median"] == [64.0])))'
then pass=$((pass+1)); else echo "FAIL: --counters auto result"; cat "$tmp/cnt.log"; fail=$((fail+1)); fi
# One fault per fresh page, plus ASan's shadow (one page per 8) in sanitizer builds.
max_faults='(1.13 if "-fsanitize=address" in d["cachetick"]["build"]["cxx_flags"] else 1.01)'
if json_check "$tmp/cnt.json" '[x for x in d["cachetick"]["counters"]["counters"] if x["name"] == "page-faults"][0]["available"]'; then
  if json_check "$tmp/cnt.json" "[1.0 <= b['page-faults'] <= $max_faults for b in d['benchmarks'] if 'fresh_pages' in b['name'] and b.get('aggregate_name') == 'median'] == [True]"
  then pass=$((pass+1)); else
    echo "FAIL: fresh_pages does not read ~1 page fault per page"; cat "$tmp/cnt.log"; fail=$((fail+1)); fi
fi
# The same on a host whose PAPI is disabled (here, whatever this host is):
# 1 page fault per fresh 4 KiB page and a context-switch count, by perf_event.
CACHETICK_PRETEND=papi-disabled "$bin" run --rounds 2 --min-time 0.001 --family counters --filter fresh_pages \
  -o "$tmp/pd.json" >"$tmp/pd.log" 2>&1
if [[ -z $kernel_down ]]; then
  if json_check "$tmp/pd.json" '((lambda c: c["page-faults"]["backend"] == "perf_event" and
      c["context-switches"]["backend"] == "perf_event" and not c["cycles"]["available"])(
        {x["name"]: x for x in d["cachetick"]["counters"]["counters"]}) and
      [1.0 <= b["page-faults"] <= '"$max_faults"' and "context-switches" in b and "cycles" not in b
       for b in d["benchmarks"] if b.get("aggregate_name") == "median"] == [True] and
      d["cachetick"]["machine"]["pretend"] == ["papi-disabled"] and
      d["cachetick"]["counters"]["backends"]["perf_event"]["start_stop_cost_us"] > 0)' &&
     grep -q "page-faults (perf_event)" "$tmp/pd.log"
  then pass=$((pass+1)); else echo "FAIL: papi-disabled fresh_pages"; cat "$tmp/pd.log"; fail=$((fail+1)); fi
fi
# No perf_event either: the counters are absent from the rows, never 0, and the header says why.
CACHETICK_PRETEND=papi-disabled,no-perf-event "$bin" run --rounds 2 --min-time 0.001 --family counters --filter fresh_pages \
  -o "$tmp/np.json" >"$tmp/np.log" 2>&1
if json_check "$tmp/np.json" '(all(k not in b for b in d["benchmarks"] for k in ("page-faults", "context-switches", "task-clock")) and
    all(not x["available"] and "perf_event: unavailable" in x["reason"] for x in d["cachetick"]["counters"]["counters"] if x["kind"] == "software"))' &&
   grep -q "not counted: .*page-faults.*perf_event: unavailable" "$tmp/np.log"
then pass=$((pass+1)); else echo "FAIL: no-perf-event run"; cat "$tmp/np.log"; fail=$((fail+1)); fi
"$bin" run --rounds 2 --min-time 0.001 --filter 'counters/malloc_free' --counters none -o "$tmp/none.json" >/dev/null 2>&1
if json_check "$tmp/none.json" 'all("page-faults" not in b and "allocs_per_op" not in b["cachetick"] and "allocs_per_iter" not in b for b in d["benchmarks"]) and d["cachetick"]["counters"]["mode"] == "none"'
then pass=$((pass+1)); else echo "FAIL: --counters none still counted"; fail=$((fail+1)); fi

# Default destination: results/runs/<date>-<host>.json under the current directory.
expect 0 "Results: results/runs/" -- "$bin" run --quick --filter harness
if ls results/runs/*.json >/dev/null 2>&1; then pass=$((pass+1)); else
  echo "FAIL: no default result under results/runs"; fail=$((fail+1)); fi

# Ctrl-C mid-run: finished benchmarks stay, the file says incomplete, exit 130.
# (Snapshots are written per family: the harness family's comes first.)
"$bin" run --filter '^harness|layout/.*/seq_64B' --repetitions 2 --min-time 0.05 -o "$tmp/int.json" >"$tmp/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  if [[ -f "$tmp/int.json" ]] && json_check "$tmp/int.json" 'len(d["benchmarks"]) >= 1' 2>/dev/null; then break; fi
  sleep 0.1
done
kill -INT $pid; wait $pid; rc=$?
if [[ $rc -eq 130 ]] && grep -q "interrupted" "$tmp/int.log" &&
   json_check "$tmp/int.json" 'd["cachetick"]["complete"] is False and len(d["benchmarks"]) >= 1'; then
  pass=$((pass+1))
else
  echo "FAIL: Ctrl-C: rc=$rc"; tail -3 "$tmp/int.log"; fail=$((fail+1))
fi
if ls "$tmp"/int.json.tmp.* >/dev/null 2>&1; then echo "FAIL: temp file left behind"; fail=$((fail+1)); else pass=$((pass+1)); fi

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

#!/usr/bin/env bash
# The sim backend and the regression gate end to end, under real valgrind:
#   - bad input to `run --backend sim` exits 2 with a message;
#   - two sim runs (different cwd, output path, one under CPU load) give
#     identical counts, every event to the line, and the gate passes on them;
#   - an extra pass injected into one kernel (siminject_slow, see
#     tests/sim_inject_bench.cpp) fails the gate naming that benchmark and
#     no other; the clean build run again passes; so with a baseline that
#     holds each count's range over heap layouts (--sim-heap-layout);
#   - the time and sim backends write one document shape (harness/result.h);
#   - families are isolated: siminject's counts are the same, every event to
#     the count, whether or not simheap (which leaves the heap changed) runs
#     before it in the same invocation;
#   - a family whose child dies (simcrash) is named with valgrind's log, the
#     run exits 1, and the families before it are kept, marked incomplete;
#   - counts do not depend on what the host's files say (sysfs caches,
#     /proc/cpuinfo, host name: another guest faked by tests/fake_host.sh);
#   - --sim-cache host takes sysfs, else CPUID, else says it cannot;
#   - the gate refuses to compare different simulated geometries or sim
#     counts with timings (exit 2).
set -u
bin=$(realpath "${1:?usage: sim_gate_test.sh cachetick siminject_clean siminject_slow compare.py}")
clean=$(realpath "$2") slow=$(realpath "$3") compare=$(realpath "$4")
py=/usr/bin/python3
here_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }

# expect CODE PATTERN -- command...
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then bad "'$*' exited $rc, expected $code"; echo "$out" | tail -8; return; fi
  if ! grep -qiE -- "$pattern" <<<"$out"; then bad "'$*' output lacks /$pattern/"; echo "$out" | tail -8; return; fi
  ok
}

cd "$tmp"
expect 2 "no benchmark matches" -- "$bin" run --backend sim --filter zzz_none
expect 2 "backend"              -- "$bin" run --backend bogus
expect 2 "sim-cache"            -- "$bin" run --backend sim --sim-cache bogus
expect 2 "do not apply"          -- "$bin" run --backend sim --filter harness -- --benchmark_min_time=1
expect 2 "needs valgrind"       -- env PATH=/nonexistent "$bin" run --backend sim --filter harness

# Determinism: same selection twice, from different directories and paths.
sel='harness|layout/(aos|soa)/(seq|rand)_64B/16KiB'
mkdir -p a/b
expect 0 "Results: .*one.json" -- "$bin" run --backend sim --filter "$sel" -o "$tmp/one.json"
# The second under load: timing-dependent code then takes other paths.
hogs=()
for _ in 1 2; do ( while :; do :; done ) & hogs+=($!); done
( cd a/b && "$bin" run --backend sim --filter "$sel" -o ../two.json >/dev/null 2>&1 ) || bad "second sim run failed"
kill "${hogs[@]}" 2>/dev/null; wait "${hogs[@]}" 2>/dev/null
if $py - "$tmp/one.json" "$tmp/a/two.json" <<'PY'
import json, sys
def totals(p):
    d = json.load(open(p))
    assert d["cachetick"]["backend"] == "sim" and d["cachetick"]["sim"]["geometry"]["D1"]["size_bytes"] == 32768
    return {b["name"]: b["cachetick"]["sim"]["totals"] for b in d["benchmarks"]}
a, b = totals(sys.argv[1]), totals(sys.argv[2])
assert len(a) == 5 and a.keys() == b.keys(), (a, b)
# Executed work and simulated misses are identical, every event to the count:
# timing-dependent code outside the regions (the second run shares the CPU
# with two busy loops) must not reach them.
for n in a:
    assert a[n] == b[n], (n, a[n], b[n])
# Names are the time backend's: no "/iterations:N" suffix.
assert all("iterations:" not in n for n in a)
PY
then ok; else bad "two sim runs differ (or the result lacks its sim blocks)"; fi
expect 0 "Gate: passed: 5 benchmark"  -- $py "$compare" "$tmp/one.json" "$tmp/a/two.json"

# One document shape (harness/result.h) whichever backend measured: the same
# top-level blocks, the same blocks the result module writes (with the same
# keys: a field that does not apply to a backend is there, 0 or null), the
# same summary keys, and the same Spec fields in every benchmark's block.
shape_sel='^(harness/|layout/soa/seq_64B/16KiB$)'
"$bin" run --quick --unpaired --filter "$shape_sel" -o shape-time.json >/dev/null 2>&1 || bad "time run for the shape test failed"
"$bin" run --backend sim --filter "$shape_sel" -o shape-sim.json >/dev/null 2>&1 || bad "sim run for the shape test failed"
if $py - shape-time.json shape-sim.json <<'PY'
import json, sys
t, s = (json.load(open(p)) for p in sys.argv[1:3])
assert t.keys() == s.keys() == {"context", "benchmarks", "cachetick"}, (t.keys(), s.keys())
tc, sc = t["cachetick"], s["cachetick"]
assert (tc["backend"], sc["backend"]) == ("time", "sim"), (tc["backend"], sc["backend"])
owned = {"backend", "machine", "build", "options", "notes", "units", "complete", "summary"}
assert owned <= tc.keys() and owned <= sc.keys(), (owned - tc.keys(), owned - sc.keys())
for k in ("machine", "build", "options", "summary"):
    assert tc[k].keys() == sc[k].keys(), (k, tc[k].keys() ^ sc[k].keys())
assert tc["summary"]["benchmarks_done"] == sc["summary"]["benchmarks_done"] == 2, (tc["summary"], sc["summary"])
assert sc["summary"]["judged"] == 0 and tc["summary"]["judged"] == 2, (tc["summary"], sc["summary"])
assert tc["complete"] is True and sc["complete"] is True
spec = {"family", "variant", "role", "workload", "size", "size_label", "working_set_bytes", "op", "ops_per_iter", "backend"}
for d in (t, s):
    # one row per benchmark: the time backend writes an entry per round and the aggregates
    assert len({b["run_name"] for b in d["benchmarks"]}) == 2 and all(spec <= b["cachetick"].keys() for b in d["benchmarks"]), d["benchmarks"]
PY
then ok; else bad "the time and sim result files differ in shape"; fi

# The injected extra pass: caught and named; nothing else flagged.
# (Not simcrash: it only runs when a test selects it.)
inj='^sim(heap|inject)/'
"$clean" run --backend sim --filter "$inj" -o base.json >/dev/null 2>&1 || bad "clean siminject run failed"
"$slow" run --backend sim --filter "$inj" -o slow.json >/dev/null 2>&1 || bad "slow siminject run failed"
expect 1 "REGRESSED siminject/aos/seq_64B/256KiB: instructions \+" -- \
  $py "$compare" base.json slow.json --markdown gate.md
if $py "$compare" base.json slow.json 2>&1 | grep -E "REGRESSED siminject/(soa|hotcold)"; then
  bad "the gate flagged a benchmark that did not change"; else ok; fi
if grep -q "siminject/aos/seq_64B/256KiB" gate.md && grep -q "FAILED: 1 regression" gate.md; then ok; else
  bad "markdown report lacks the regression"; fi
# Reverted (the clean build again): passes.
"$clean" run --backend sim --filter "$inj" -o again.json >/dev/null 2>&1 || bad "clean siminject rerun failed"
expect 0 "Gate: passed: 4 benchmark" -- $py "$compare" base.json again.json

# A baseline with each count's range over heap layouts (what gate.sh
# --regenerate writes): the layout is recorded, the range hides no real
# regression (the injected pass still fails), the clean build still passes.
expect 2 "apply to --backend sim only" -- "$bin" run --sim-heap-layout 3 --filter harness --no-out
"$clean" run --backend sim --filter "$inj" --sim-heap-layout 5 -o layout5.json >/dev/null 2>&1 || bad "layout 5 run failed"
expect 0 "4 benchmarks over 2 heap layouts" -- $py "$(dirname "$compare")/layout_range.py" base.json layout5.json -o ranged.json
if $py -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["cachetick"]["sim"]["heap_layout"] == 5' layout5.json; then
  ok; else bad "the result does not record --sim-heap-layout 5"; fi
expect 1 "REGRESSED siminject/aos/seq_64B/256KiB: instructions \+" -- $py "$compare" ranged.json slow.json
expect 0 "Gate: passed: 4 benchmark" -- $py "$compare" ranged.json again.json

# Isolation: siminject alone against siminject after simheap (base.json).
# In one shared child simheap's leftovers moved siminject's buffers (D1 and
# LL misses differed by 1-18 per benchmark); one child per family must not.
"$clean" run --backend sim --filter '^siminject/' -o alone.json >/dev/null 2>&1 || bad "siminject-alone run failed"
if $py - base.json alone.json <<'PY'
import json, sys
def totals(p):
    d = json.load(open(p))
    return {b["name"]: b["cachetick"]["sim"]["totals"] for b in d["benchmarks"]}
both, alone = totals(sys.argv[1]), totals(sys.argv[2])
assert "simheap/keep/blocks/40B" in both and len(alone) == 3, (both.keys(), alone.keys())
for n in alone:
    assert both[n] == alone[n], (n, {k: (both[n][k], alone[n][k]) for k in alone[n] if both[n][k] != alone[n][k]})
PY
then ok; else bad "siminject's counts depend on the family run before it"; fi

# A family whose child dies: named, with valgrind's log; exit 1; the family
# before it kept in a file marked incomplete.
out=$("$clean" run --backend sim --filter '^sim(heap|crash)/' -o crash.json 2>&1); rc=$?
if [[ $rc -eq 1 ]] && grep -q "family 'simcrash' failed; every family before it is kept in crash.json" <<<"$out" &&
   grep -q "valgrind's log ends:" <<<"$out" && grep -q "signal 6 (SIGABRT)" <<<"$out"; then ok; else
  bad "a crashed family: exit $rc (expected 1), or the family or valgrind's log not shown"; echo "$out" | tail -8; fi
if $py - crash.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cachetick"]["complete"] is False, d["cachetick"]["complete"]
assert [b["name"] for b in d["benchmarks"]] == ["simheap/keep/blocks/40B"], d["benchmarks"]
PY
then ok; else bad "crash.json does not hold simheap alone, marked incomplete"; fi
expect 2 "interrupted run" -- $py "$compare" base.json crash.json

# Host independence: the same counts when the host looks like another
# machine (tests/fake_host.sh: an Intel guest's sysfs caches, cpuinfo and
# host name bound over this host's). A heap-sensitive row (a flyweight is
# hashed by its address): with children that see their host as it is
# (harness/host_view.h), its D1 misses read 584 here and 313 under the fake host.
one='^strings/boost_flyweight/map_key/24B$'
"$bin" run --backend sim --filter "$one" -o here.json >/dev/null 2>&1 || bad "sim run (this host) failed"
"$here_dir/fake_host.sh" "$bin" run --backend sim --filter "$one" -o there.json >there.log 2>&1; rc=$?
if [[ $rc -eq 77 ]]; then
  echo "SKIP: host independence (no user namespaces to fake another host here)"
elif [[ $rc -ne 0 ]]; then
  bad "sim run under a faked host failed (exit $rc)"; tail -5 there.log
elif $py - here.json there.json <<'PY'
import json, sys
def totals(p):
    return [b["cachetick"]["sim"]["totals"] for b in json.load(open(p))["benchmarks"]]
a, b = totals(sys.argv[1]), totals(sys.argv[2])
assert len(a) == 1 and a == b, (a, b)
PY
then ok; else bad "counts depend on what the host's files say (sysfs, cpuinfo, host name)"; fi

# Where the kernel refuses the namespaces: the child reads this host, the
# result says so, and the gate does not judge it against a canonical run.
expect 0 "host view: no user namespaces" -- env CACHETICK_PRETEND=no-namespaces \
  "$bin" run --backend sim --filter "$one" -o hostview.json
expect 0 "not judged: .*host_view" -- $py "$compare" here.json hostview.json --environment-mismatch skip
expect 2 "host_view: baseline 'canonical" -- $py "$compare" here.json hostview.json

# --sim-cache host: from sysfs, else CPUID; with neither, a clear error.
expect 0 "CPUID" -- env CACHETICK_PRETEND=no-sysfs-caches "$clean" run --backend sim --sim-cache host \
  --filter '^siminject/aos/seq_64B' -o cpuid.json
expect 2 "do not include an L1i.*use the reference" -- env CACHETICK_PRETEND=no-sysfs-caches,no-cpuid-caches \
  "$clean" run --backend sim --sim-cache host --filter "$inj" -o none.json

# Incomparable inputs.
expect 0 "LL" -- env -u CACHETICK_PRETEND "$clean" run --backend sim --sim-cache host --filter "$inj" -o host.json
expect 2 "geometries differ" -- $py "$compare" base.json host.json
"$clean" run --quick --unpaired --filter "$inj" -o time.json >/dev/null 2>&1 || bad "time run failed"
expect 2 "compare sim with sim" -- $py "$compare" base.json time.json

echo "sim_gate_test: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

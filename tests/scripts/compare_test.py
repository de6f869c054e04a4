#!/usr/bin/python3
"""Tests for scripts/compare.py: its decisions and its bad-input paths.

Run: /usr/bin/python3 tests/scripts/compare_test.py scripts/compare.py
Each case writes small result files and runs the script as CI would.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

COMPARE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), "../../scripts/compare.py"))
LAYOUT_RANGE = os.path.join(os.path.dirname(COMPARE), "layout_range.py")
PY = "/usr/bin/python3"
GEOMETRY = {"I1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "D1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "LL": {"size_bytes": 33554432, "assoc": 16, "line_bytes": 64}}


ENVIRONMENT = {"valgrind": "valgrind-3.19.0",
               "guest": {"glibc": "2.36", "cpu_features": {"basic.family": "0x6", "isa_1": "0x7"}},
               "child_env": ["PATH=/usr/bin:/bin", "LC_ALL=C"]}


def sim_doc(rows, geometry=GEOMETRY, complete=True, environment=ENVIRONMENT, heap_layout=0):
    """rows: name -> (instructions, d1, ll, est_cycles) per op."""
    bs = []
    for name, (ir, d1, ll, cyc) in rows.items():
        bs.append({"name": name, "run_name": name, "run_type": "iteration", "iterations": 16,
                   "real_time": 1e6, "cpu_time": 1e6, "time_unit": "ns",
                   "instructions_per_op": ir, "d1_misses_per_op": d1,
                   "ll_misses_per_op": ll, "est_cycles_per_op": cyc,
                   "cachetick": {"backend": "sim"}})
    return {"context": {}, "benchmarks": bs,
            "cachetick": {"backend": "sim", "complete": complete,
                          "sim": {"geometry": geometry, "environment": environment,
                                  "heap_layout": heap_layout}}}


def time_doc(rows, cachetick=True, core=None):
    """rows: name -> list of ns/op, one per repetition (plus GB's aggregates);
    core: name -> list of core shares, one per repetition."""
    bs = []
    for name, samples in rows.items():
        for i, t in enumerate(samples):
            b = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": len(samples),
                 "repetition_index": i, "iterations": 1000, "real_time": t / 1000 if not cachetick else t * 7,
                 "cpu_time": t, "time_unit": "us" if not cachetick else "ns"}
            if cachetick:
                b["cachetick"] = {"ns_per_op": t}
            if core and name in core:
                b["core_share"] = core[name][i]
            bs.append(b)
        bs.append({"name": name + "_median", "run_name": name, "run_type": "aggregate",
                   "aggregate_name": "median", "real_time": 0, "cpu_time": 0, "time_unit": "ns"})
    return {"context": {"library_build_type": "debug"}, "benchmarks": bs}


ZEN5 = {"cpu_model": "AMD EPYC", "logical_cpus": 2, "kernel": "Linux 6.18.44-fc-v1272", "arch": "x86_64"}
INTEL = dict(ZEN5, cpu_model="Intel(R) Xeon(R) Processor", kernel="Linux 6.18.44-fc-v669")
BUILD = {"build_type": "Release", "compiler": "GNU 12.2.0", "cxx_flags": "-O3 -DNDEBUG"}


def paired_doc(groups, machine=ZEN5, seed=1, noise=0.02):
    """A time-backend result as the paired schema (/work/paired-schema.md)
    has it: groups = {(family, workload, size_label): {variant: (ns, rounds,
    paired)}}, the first variant the group's reference; paired = (ratio, lo,
    hi) or None (the reference row, an unpaired group). One iteration entry
    per round (repetition_index = round), then GB's aggregates."""
    rnd = random.Random(seed)
    bs, meta = [], []
    for (fam, wl, size), variants in groups.items():
        ref = next(iter(variants))
        meta.append({"family": fam, "workload": wl, "size_label": size, "reference": ref,
                     "variants": list(variants), "rounds": max(r for _, r, _ in variants.values()),
                     "stop": "narrow", "half_width": 0.02, "target": 0.03, "seconds": 1.0, "shared_rounds": 0})
        for var, (ns, rounds, paired) in variants.items():
            name = f"{fam}/{var}/{wl}/{size}"
            ct = {"family": fam, "variant": var, "role": "optimised" if var == ref else "peer",
                  "workload": wl, "size": 4096, "size_label": size}
            if paired:
                ratio, lo, hi = paired
                ct["paired"] = {"reference": ref, "ratio": ratio, "lo": lo, "hi": hi, "confidence": 0.961,
                                "rounds": rounds, "shared_rounds": 0, "margin": 0.03, "without_shared": None,
                                "verdict": "slower" if lo > 1.03 else "faster" if hi < 1 / 1.03 else "no_difference",
                                "detail": "synthetic"}
            samples = [ns * (1 + rnd.uniform(-noise, noise)) for _ in range(rounds)]
            for r, t in enumerate(samples):
                bs.append({"name": name, "run_name": name, "run_type": "iteration", "repetitions": rounds,
                           "repetition_index": r, "threads": 1, "iterations": 1000, "real_time": t,
                           "cpu_time": t, "time_unit": "ns", "ticks_per_op": t * 2.1, "core_share": 1.0,
                           "cachetick": dict(ct, ns_per_op=t)})
            for agg in ("mean", "median", "stddev", "cv"):
                v = {"mean": sum(samples) / rounds, "median": sorted(samples)[rounds // 2],
                     "stddev": 0.1, "cv": 0.01}[agg]
                bs.append({"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate",
                           "aggregate_name": agg, "repetitions": rounds, "iterations": rounds, "real_time": v,
                           "cpu_time": v, "time_unit": "ns", "cachetick": dict(ct, ns_per_op=v)})
    return {"context": {"host_name": "vm", "num_cpus": machine["logical_cpus"], "library_build_type": "debug"},
            "benchmarks": bs,
            "cachetick": {"machine": machine, "build": BUILD, "complete": True, "groups": meta,
                          "paired": {"target": 0.03, "group_cap_s": 2.0, "margin": 0.03, "confidence": 0.95,
                                     "min_rounds": 6, "method": "sign test"}}}


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, doc):
        p = os.path.join(self.dir.name, name)
        with open(p, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return p

    def run_compare(self, base, new, *extra):
        r = subprocess.run([PY, COMPARE, base, new, *extra], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def sim_pair(self, base_rows, new_rows, *extra):
        return self.run_compare(self.write("base.json", sim_doc(base_rows)),
                                self.write("new.json", sim_doc(new_rows)), *extra)

    # ---- deterministic counts -------------------------------------------------

    def test_identical_counts_pass(self):
        rows = {"a/x/w/1": (10.0, 0.5, 0.01, 20.0), "a/y/w/1": (3.0, 0.0, 0.0, 3.0)}
        rc, out = self.sim_pair(rows, rows)
        self.assertEqual(rc, 0, out)
        self.assertIn("Gate: passed: 2 benchmark(s) compared", out)

    def test_instruction_growth_over_1pct_regresses_and_is_named(self):
        rc, out = self.sim_pair({"a/x/w/1": (100.0, 1, 0, 110), "a/y/w/1": (100.0, 1, 0, 110)},
                                {"a/x/w/1": (101.5, 1, 0, 111.5), "a/y/w/1": (100.0, 1, 0, 110)})
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED a/x/w/1: instructions +1.5%", out)
        self.assertNotIn("REGRESSED a/y/w/1", out)

    def test_growth_within_tolerance_passes(self):
        rc, out = self.sim_pair({"a/x/w/1": (100.0, 1, 0, 110)}, {"a/x/w/1": (100.9, 1, 0, 110.9)})
        self.assertEqual(rc, 0, out)

    def test_floor_ignores_tiny_counts(self):
        # 2.00 -> 2.03 instructions/op is +1.5% but only 0.03/op... above the
        # 0.02 floor: regression. 0.0001 -> 0.0003 LL misses/op is +200% but
        # under the 0.01 floor: not.
        rc, out = self.sim_pair({"h/e/l/1": (2.0, 0, 0.0001, 2)}, {"h/e/l/1": (2.0, 0, 0.0003, 2)})
        self.assertEqual(rc, 0, out)
        rc, out = self.sim_pair({"h/e/l/1": (2.0, 0, 0, 2)}, {"h/e/l/1": (2.03, 0, 0, 2.03)})
        self.assertEqual(rc, 1, out)
        rc, out = self.sim_pair({"h/e/l/1": (2.0, 0, 0, 2)}, {"h/e/l/1": (2.03, 0, 0, 2.03)},
                                "--floor", "instructions=0.05")
        self.assertEqual(rc, 0, out)

    def test_miss_growth_regresses_from_zero(self):
        rc, out = self.sim_pair({"a/x/w/1": (10, 0.0, 0, 10)}, {"a/x/w/1": (10, 0.5, 0, 12)})
        self.assertEqual(rc, 1, out)
        self.assertIn("d1_misses +inf%", out)

    def test_improvement_passes_and_is_counted(self):
        rc, out = self.sim_pair({"a/x/w/1": (100, 1, 0, 110)}, {"a/x/w/1": (50, 0.5, 0, 55)})
        self.assertEqual(rc, 0, out)
        self.assertIn("1 improved", out)

    def test_custom_tolerance(self):
        args = ("--tolerance", "instructions=0.1")
        rc, out = self.sim_pair({"a/x/w/1": (100, 1, 0, 110)}, {"a/x/w/1": (105, 1, 0, 110)}, *args)
        self.assertEqual(rc, 0, out)
        rc, out = self.sim_pair({"a/x/w/1": (100, 1, 0, 110)}, {"a/x/w/1": (105, 1, 0, 110)})
        self.assertEqual(rc, 1, out)

    def test_markdown_report(self):
        md = os.path.join(self.dir.name, "gate.md")
        rc, out = self.sim_pair({"a/x/w/1": (100, 1, 0, 110)}, {"a/x/w/1": (200, 2, 0, 220)},
                                "--markdown", md)
        self.assertEqual(rc, 1, out)
        with open(md) as f:
            text = f.read()
        self.assertIn("FAILED: 1 regression", text)
        self.assertIn("**a/x/w/1**", text)
        self.assertIn("| `a/x/w/1` | 100 → 200 (+100.0%)", text)

    def test_filter_restricts(self):
        rc, out = self.sim_pair({"a/x/w/1": (100, 1, 0, 110), "b/x/w/1": (1, 0, 0, 1)},
                                {"a/x/w/1": (100, 1, 0, 110), "b/x/w/1": (9, 0, 0, 9)},
                                "--filter", "^a/")
        self.assertEqual(rc, 0, out)

    # ---- timings ------------------------------------------------------------------

    def test_time_clear_slowdown_regresses(self):
        base = self.write("b.json", time_doc({"t/x/w/1": [10.0, 10.1, 9.9, 10.2, 10.0]}))
        new = self.write("n.json", time_doc({"t/x/w/1": [12.0, 12.2, 11.9, 12.1, 12.3]}))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED t/x/w/1: time +20.6% (interval +17.8%..+23.0%)", out)

    def test_time_significant_but_small_passes(self):
        base = self.write("b.json", time_doc({"t/x/w/1": [10.0, 10.01, 10.02, 10.03, 10.04]}))
        new = self.write("n.json", time_doc({"t/x/w/1": [10.2, 10.21, 10.22, 10.23, 10.24]}))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 0, out)  # p is tiny, but +2% < the 5% minimum effect

    def test_time_large_but_noisy_passes(self):
        base = self.write("b.json", time_doc({"t/x/w/1": [10, 30, 12, 28, 11]}))
        new = self.write("n.json", time_doc({"t/x/w/1": [13, 29, 14, 31, 12]}))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 0, out)  # median +18% but p > 0.05

    def test_time_too_few_repetitions_is_untested(self):
        base = self.write("b.json", time_doc({"t/x/w/1": [10, 10, 10]}))
        new = self.write("n.json", time_doc({"t/x/w/1": [20, 20, 20]}))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 0, out)  # not a regression, and not hidden as a pass either
        self.assertIn("t/x/w/1          10.0        20.0   +100.0%                 -    3/3  not enough samples", out)
        self.assertIn("Not enough samples: 1 timing row(s) cannot be judged: with 3 and 3", out)
        self.assertIn("Gate: NOTHING JUDGED: 1 benchmark(s) compared: 1 not enough samples to judge", out)

    def test_time_on_a_shared_core_is_shown_not_judged(self):
        slow = {"t/x/w/1": [12.0, 12.2, 11.9, 12.1, 12.3], "t/y/w/1": [5.0, 5.1, 4.9, 5.0, 5.2]}
        base = self.write("b.json", time_doc({"t/x/w/1": [10.0, 10.1, 9.9, 10.2, 10.0],
                                              "t/y/w/1": [5.0, 5.1, 4.9, 5.0, 5.2]}))
        # t/x: the new run's repetitions mostly ran beside a busy sibling.
        new = self.write("n.json", time_doc(slow, core={"t/x/w/1": [0.5, 0.52, 1.0, 0.49, 0.51],
                                                        "t/y/w/1": [1.0, 0.99, 1.0, 0.5, 1.0]}))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 0, out)
        self.assertIn("Shared core: 1 timing row(s)", out)
        self.assertIn("t/x/w/1: new result (51%)", out)
        self.assertIn("shared core: not judged", out)
        self.assertIn("1 not judged (shared core)", out)
        rc, out = self.run_compare(base, new, "--judge-shared")
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED t/x/w/1", out)

    def test_plain_google_benchmark_json(self):
        base = self.write("b.json", time_doc({"BM_x": [10.0, 10.1, 9.9, 10.2, 10.0]}, cachetick=False))
        new = self.write("n.json", time_doc({"BM_x": [15.0, 15.1, 14.9, 15.2, 15.0]}, cachetick=False))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED BM_x", out)

    # ---- two files of the paired schema --------------------------------------------

    def paired_pair(self, base_groups, new_groups, base_machine=ZEN5, new_machine=ZEN5, *extra):
        return self.run_compare(self.write("base.json", paired_doc(base_groups, base_machine, seed=1)),
                                self.write("new.json", paired_doc(new_groups, new_machine, seed=2)), *extra)

    HASH = ("hash", "miss", "4096")

    def test_ten_percent_slower_with_eight_rounds_regresses(self):
        base = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.3, 1.27, 1.33))}}
        new = {self.HASH: {"ct": (1.1, 8, None), "robin": (1.3, 8, (1.18, 1.15, 1.21))}}
        rc, out = self.paired_pair(base, new)
        self.assertEqual(rc, 1, out)
        self.assertTrue(out.startswith("Same machine: CPU model AMD EPYC, cores 2"), out)
        self.assertRegex(out, r"REGRESSED hash/ct/miss/4096: time \+(9|10|11)\.\d% \(interval \+\d")
        self.assertRegex(out, r"hash/robin/miss/4096 .* 8/8  no difference shown \(equivalent\)")
        self.assertIn("Gate: FAILED: 1 regression(s); 2 benchmark(s) compared: 1 regressed, "
                      "1 no difference shown, 1 ratio(s) to the reference changed", out)

    def test_identical_distributions_show_no_difference(self):
        groups = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.3, 1.27, 1.33))}}
        rc, out = self.paired_pair(groups, groups)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("REGRESSED", out)
        self.assertIn("Gate: passed: 2 benchmark(s) compared, none regressed: 2 no difference shown", out)
        self.assertIn("Ratios to the reference (paired rounds in both files): 1 compared, 0 changed", out)

    def test_two_machines_are_named_first_and_timings_not_judged(self):
        base = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.3, 1.27, 1.33))}}
        new = {self.HASH: {"ct": (1.5, 8, None), "robin": (1.6, 8, (1.07, 1.04, 1.1))}}
        rc, out = self.paired_pair(base, new, INTEL, ZEN5)
        self.assertEqual(rc, 0, out)
        lines = out.splitlines()
        self.assertEqual(lines[0], "Different machines (CPU model, kernel): timings are not judged; "
                                   "--judge-across-machines judges them. Simulated counts are still judged.")
        self.assertEqual(lines[1], "  CPU model: baseline 'Intel(R) Xeon(R) Processor', new 'AMD EPYC'")
        self.assertNotIn("REGRESSED", out)
        self.assertIn("other machine: not judged", out)
        self.assertIn("Gate: NOTHING JUDGED: 2 benchmark(s) compared: 2 timings not judged "
                      "(different machines: CPU model, kernel), 1 ratio(s) to the reference changed", out)
        # The ratio to the reference is still compared: it carries across machines.
        self.assertIn("hash/robin/miss/4096 vs ct: 1.30 [1.27-1.33] -> 1.07 [1.04-1.10]: relatively faster", out)
        rc, out = self.paired_pair(base, new, INTEL, ZEN5, "--judge-across-machines")
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED hash/ct/miss/4096", out)
        self.assertIn("REGRESSED hash/robin/miss/4096", out)

    def test_other_build_is_another_machine(self):
        groups = {self.HASH: {"ct": (1.0, 8, None)}}
        base = paired_doc(groups)
        base["cachetick"]["build"] = dict(BUILD, build_type="Debug", cxx_flags="-O0 -g")
        rc, out = self.run_compare(self.write("b.json", base), self.write("n.json", paired_doc(groups)))
        self.assertEqual(rc, 0, out)
        self.assertTrue(out.startswith("Different machines (build type, compiler flags)"), out)

    def test_sim_counts_are_judged_across_machines(self):
        base, new = sim_doc({"a/x/w/1": (100.0, 1, 0, 110)}), sim_doc({"a/x/w/1": (101.5, 1, 0, 111.5)})
        base["cachetick"]["machine"], new["cachetick"]["machine"] = INTEL, ZEN5
        rc, out = self.run_compare(self.write("b.json", base), self.write("n.json", new))
        self.assertEqual(rc, 1, out)
        self.assertTrue(out.startswith("Different machines (CPU model, kernel)"), out)
        self.assertIn("REGRESSED a/x/w/1: instructions +1.5%", out)

    def test_three_repetitions_are_counted_not_passed(self):
        # Old files: 3 repetitions, no paired blocks. Against 8 rounds a
        # row can be judged; 3 against 3 cannot, and the verdict line says so.
        old = {self.HASH: {"ct": (1.0, 3, None), "robin": (1.3, 3, None)}}
        rc, out = self.paired_pair(old, old)
        self.assertEqual(rc, 0, out)
        self.assertIn("Gate: NOTHING JUDGED: 2 benchmark(s) compared: 2 not enough samples to judge", out)
        self.assertIn("Not enough samples: 2 timing row(s) cannot be judged: with 3 and 3 samples", out)
        new = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 3, None)}}
        rc, out = self.paired_pair(old, new)
        self.assertEqual(rc, 0, out)
        self.assertIn("Gate: passed: 2 benchmark(s) compared, none regressed: 1 no difference shown, "
                      "1 not enough samples to judge", out)

    def test_markdown_of_a_paired_comparison(self):
        md = os.path.join(self.dir.name, "gate.md")
        base = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.3, 1.27, 1.33))}}
        new = {self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.5, 1.45, 1.55))}}
        rc, out = self.paired_pair(base, new, ZEN5, ZEN5, "--markdown", md)
        self.assertEqual(rc, 0, out)
        with open(md) as f:
            text = f.read()
        self.assertIn("| benchmark | base ns/op | new ns/op | new/base | 95% interval | n | verdict |", text)
        self.assertIn("- `hash/robin/miss/4096` vs ct: 1.30 [1.27-1.33] -> 1.50 [1.45-1.55]: relatively slower",
                      text)

    def test_plain_google_benchmark_files_from_other_core_counts(self):
        base = time_doc({"BM_x": [10.0, 10.1, 9.9, 10.2, 10.0]}, cachetick=False)
        new = time_doc({"BM_x": [15.0, 15.1, 14.9, 15.2, 15.0]}, cachetick=False)
        base["context"]["num_cpus"], new["context"]["num_cpus"] = 2, 8
        rc, out = self.run_compare(self.write("b.json", base), self.write("n.json", new))
        self.assertEqual(rc, 0, out)
        self.assertIn("  cores: baseline 2, new 8", out)
        self.assertNotIn("REGRESSED", out)

    def test_a_bad_paired_block_is_bad_input(self):
        doc = paired_doc({self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, (1.3, 1.27, 1.33))}})
        for e in doc["benchmarks"]:
            if "paired" in e["cachetick"]:
                e["cachetick"]["paired"]["lo"] = 1.4  # above the ratio
        ok = self.write("ok.json", paired_doc({self.HASH: {"ct": (1.0, 8, None), "robin": (1.3, 8, None)}}))
        self.assertBad(*self.run_compare(ok, self.write("bad.json", doc)), "bad 'paired' block")

    # ---- bad input: exit 2, a message, no traceback ---------------------------------

    def assertBad(self, rc, out, pattern):
        self.assertEqual(rc, 2, out)
        self.assertRegex(out, pattern)
        self.assertNotIn("Traceback", out)

    def test_missing_file(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        self.assertBad(*self.run_compare(ok, os.path.join(self.dir.name, "nope.json")), "no such file")
        self.assertBad(*self.run_compare(os.path.join(self.dir.name, "nope.json"), ok), "no such file")

    def test_corrupt_json(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        bad = self.write("bad.json", '{"benchmarks": [')
        self.assertBad(*self.run_compare(ok, bad), "not valid JSON")

    def test_binary_garbage(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        p = os.path.join(self.dir.name, "bin.json")
        with open(p, "wb") as f:
            f.write(b"\xff\xfe\x00garbage")
        self.assertBad(*self.run_compare(ok, p), "not valid JSON")

    def test_wrong_format(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        for doc in ('[1, 2]', '{"foo": 1}', '{"benchmarks": [{"no_name": 1}]}',
                    '{"benchmarks": [{"name": "a", "instructions_per_op": "x"}]}',
                    '{"benchmarks": [{"name": "a"}]}'):
            self.assertBad(*self.run_compare(ok, self.write("w.json", doc)),
                           "not a Google Benchmark|has no name|not a count|no real_time")

    def test_only_one_side(self):
        rc, out = self.sim_pair({"a/x/w/1": (1, 0, 0, 1), "a/gone/w/1": (1, 0, 0, 1)},
                                {"a/x/w/1": (1, 0, 0, 1), "a/added/w/1": (1, 0, 0, 1)})
        self.assertBad(rc, out, "baseline only: a/gone/w/1")
        self.assertIn("new result only: a/added/w/1", out)
        self.assertIn("a/x/w/1", out)  # the common rows are still compared

    def test_one_sided_beats_regression(self):
        rc, out = self.sim_pair({"a/x/w/1": (1, 0, 0, 1), "a/gone/w/1": (1, 0, 0, 1)},
                                {"a/x/w/1": (9, 0, 0, 9)})
        self.assertBad(rc, out, "baseline only")
        self.assertIn("a/x/w/1", out)

    def test_interrupted_run(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        cut = self.write("cut.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}, complete=False))
        self.assertBad(*self.run_compare(ok, cut), "interrupted")

    def test_geometry_mismatch(self):
        other = json.loads(json.dumps(GEOMETRY))
        other["LL"]["size_bytes"] = 1 << 20
        base = self.write("b.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        new = self.write("n.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}, geometry=other))
        self.assertBad(*self.run_compare(base, new), "geometries differ")

    def test_environment_mismatch_is_named_and_not_judged(self):
        rows = {"a/x/w/1": (10.0, 0.5, 0.01, 20.0)}
        slower = {"a/x/w/1": (20.0, 0.5, 0.01, 40.0)}
        other = json.loads(json.dumps(ENVIRONMENT))
        other["guest"]["cpu_features"]["isa_1"] = "0x3"  # a host without AVX2: another CPU model
        base = self.write("base.json", sim_doc(rows))
        new = self.write("new.json", sim_doc(slower, environment=other))
        rc, out = self.run_compare(base, new)
        self.assertEqual(rc, 2, out)
        self.assertIn("guest.cpu_features.isa_1: baseline '0x7', new '0x3'", out)
        rc, out = self.run_compare(base, new, "--environment-mismatch", "skip")
        self.assertEqual(rc, 0, out)
        self.assertIn("not judged", out)
        self.assertNotIn("REGRESSED", out)
        # Same environment: judged as usual, the regression caught.
        rc, out = self.run_compare(base, self.write("same.json", sim_doc(slower)),
                                   "--environment-mismatch", "skip")
        self.assertEqual(rc, 1, out)

    def test_sim_against_time(self):
        base = self.write("b.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        new = self.write("n.json", time_doc({"a/x/w/1": [1, 1, 1, 1]}))
        self.assertBad(*self.run_compare(base, new), "compare sim with sim")

    def test_failed_benchmark(self):
        base = self.write("b.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        doc = sim_doc({"a/x/w/1": (1, 0, 0, 1)})
        doc["benchmarks"][0] = {"name": "a/x/w/1", "run_name": "a/x/w/1", "error_occurred": True,
                                "error_message": "boom"}
        self.assertBad(*self.run_compare(base, self.write("n.json", doc)), "failed in the new result: boom")

    # ---- counts that move with the heap's layout (scripts/layout_range.py) ----

    def layout_baseline(self, d1_per_layout, name="s/peer/map_key/24B"):
        """A baseline from one sim file per heap layout, d1 misses as given."""
        paths = [self.write(f"layout-{n}.json", sim_doc({name: (30.0, d1, 0.001, 40.0)}, heap_layout=n))
                 for n, d1 in enumerate(d1_per_layout)]
        out = os.path.join(self.dir.name, "baseline.json")
        r = subprocess.run([PY, LAYOUT_RANGE, *paths, "-o", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"over {len(paths)} heap layouts", r.stdout)
        self.assertIn("1 count(s) move with the layout by more than the gate's rule", r.stdout)
        return out

    def test_a_count_that_moves_with_the_layout_is_judged_against_its_range(self):
        base = self.layout_baseline([0.0085, 0.0047, 0.0274, 0.012])
        with open(base) as f:
            ct = json.load(f)["benchmarks"][0]["cachetick"]["layout_range"]
        self.assertEqual((ct["layouts"], ct["d1_misses_per_op"]), ([0, 1, 2, 3], [0.0047, 0.0274]))
        # 0.0085 -> 0.0203: +139%, a regression for the plain rule, inside the layouts' range.
        inside = self.write("n1.json", sim_doc({"s/peer/map_key/24B": (30.0, 0.0203, 0.001, 40.0)}))
        rc, out = self.run_compare(base, inside)
        self.assertEqual(rc, 0, out)
        self.assertIn("+138.8%~", out)
        self.assertIn("s/peer/map_key/24B d1_misses 0.0047..0.0274", out)
        # Beyond the range by more than its width: a regression all the same.
        beyond = self.write("n2.json", sim_doc({"s/peer/map_key/24B": (30.0, 0.06, 0.001, 40.0)}))
        rc, out = self.run_compare(base, beyond)
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSED s/peer/map_key/24B: d1_misses", out)
        # A count the layout does not move keeps the plain rule: +2% instructions fails.
        more = self.write("n3.json", sim_doc({"s/peer/map_key/24B": (30.6, 0.0085, 0.001, 40.0)}))
        rc, out = self.run_compare(base, more)
        self.assertEqual(rc, 1, out)
        self.assertIn("instructions +2.0%", out)

    def test_layout_range_refuses_files_that_do_not_match(self):
        a = self.write("a.json", sim_doc({"x/y/w/1": (1, 0, 0, 1)}))
        b = self.write("b.json", sim_doc({"x/y/w/2": (1, 0, 0, 1)}, heap_layout=1))
        c = self.write("c.json", sim_doc({"x/y/w/1": (1, 0, 0, 1)}))
        t = self.write("t.json", time_doc({"x/y/w/1": [1, 1, 1, 1]}))
        other = json.loads(json.dumps(GEOMETRY))
        other["LL"]["size_bytes"] = 1 << 20
        g = self.write("g.json", sim_doc({"x/y/w/1": (1, 0, 0, 1)}, geometry=other, heap_layout=2))
        out = os.path.join(self.dir.name, "out.json")
        for files, why in (([a, b], "other benchmarks"), ([a, c], "already in the set"),
                           ([a, g], "simulated otherwise"),
                           ([t, a], "not a sim backend result"), ([a, "/nonexistent.json"], "no such file")):
            r = subprocess.run([PY, LAYOUT_RANGE, *files, "-o", out], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(why, r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_a_bad_layout_range_is_bad_input(self):
        doc = sim_doc({"x/y/w/1": (1.0, 0.5, 0, 1)})
        doc["benchmarks"][0]["cachetick"]["layout_range"] = {"d1_misses_per_op": [0.6, 0.9]}  # misses 0.5
        base = self.write("b.json", doc)
        self.assertBad(*self.run_compare(base, self.write("n.json", sim_doc({"x/y/w/1": (1.0, 0.5, 0, 1)}))),
                       "layout_range 'd1_misses_per_op'")

    def test_bad_options(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        self.assertBad(*self.run_compare(ok, ok, "--tolerance", "bogus=1"), "METRIC=VALUE")
        self.assertBad(*self.run_compare(ok, ok, "--tolerance", "instructions=-1"), ">= 0")
        self.assertBad(*self.run_compare(ok, ok, "--filter", "(["), "invalid --filter")
        self.assertBad(*self.run_compare(ok, ok, "--alpha", "2"), "alpha")
        self.assertBad(*self.run_compare(ok, ok, "--margin", "-0.1"), "margin")
        self.assertBad(*self.run_compare(ok, ok, "--markdown", "/nonexistent/dir/x.md"), "cannot write")
        rc, out = self.run_compare(ok, ok, "--no-such-option")
        self.assertEqual(rc, 2, out)
        r = subprocess.run([PY, COMPARE], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)

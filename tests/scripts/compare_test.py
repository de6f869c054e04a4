#!/usr/bin/python3
"""Tests for scripts/compare.py: its decisions and its bad-input paths.

Run: /usr/bin/python3 tests/scripts/compare_test.py scripts/compare.py
Each case writes small result files and runs the script as CI would.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

COMPARE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), "../../scripts/compare.py"))
PY = "/usr/bin/python3"
GEOMETRY = {"I1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "D1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "LL": {"size_bytes": 33554432, "assoc": 16, "line_bytes": 64}}


ENVIRONMENT = {"valgrind": "valgrind-3.19.0",
               "guest": {"glibc": "2.36", "cpu_features": {"basic.family": "0x6", "isa_1": "0x7"}},
               "child_env": ["PATH=/usr/bin:/bin", "LC_ALL=C"]}


def sim_doc(rows, geometry=GEOMETRY, complete=True, environment=ENVIRONMENT):
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
                          "sim": {"geometry": geometry, "environment": environment}}}


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

    def test_bad_options(self):
        ok = self.write("ok.json", sim_doc({"a/x/w/1": (1, 0, 0, 1)}))
        self.assertBad(*self.run_compare(ok, ok, "--tolerance", "bogus=1"), "METRIC=VALUE")
        self.assertBad(*self.run_compare(ok, ok, "--tolerance", "instructions=-1"), ">= 0")
        self.assertBad(*self.run_compare(ok, ok, "--filter", "(["), "invalid --filter")
        self.assertBad(*self.run_compare(ok, ok, "--alpha", "2"), "alpha")
        self.assertBad(*self.run_compare(ok, ok, "--markdown", "/nonexistent/dir/x.md"), "cannot write")
        rc, out = self.run_compare(ok, ok, "--no-such-option")
        self.assertEqual(rc, 2, out)
        r = subprocess.run([PY, COMPARE], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)

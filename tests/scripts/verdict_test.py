#!/usr/bin/python3
"""Tests for scripts/verdict.py, and that the gate and the report agree.

The rules are tested as the pure functions they are; then the same pairs of
result files go through the regression gate (compare.py, as CI runs it) and
the report's baseline comparison (report.py, in-process), and every
benchmark must get the same verdict from both.

Run: /usr/bin/python3 tests/scripts/verdict_test.py   (needs matplotlib; the rules need only the standard library)
"""

import contextlib
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import cachetick_results as cr  # noqa: E402
import report  # noqa: E402
import verdict as vd  # noqa: E402

PY = "/usr/bin/python3"
COMPARE = os.path.join(ROOT, "scripts", "compare.py")
GEOMETRY = {"I1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "D1": {"size_bytes": 32768, "assoc": 8, "line_bytes": 64},
            "LL": {"size_bytes": 33554432, "assoc": 16, "line_bytes": 64}}
ENVIRONMENT = {"valgrind": "valgrind-3.19.0", "guest": {"glibc": "2.36"}}


def ct_block(name, **extra):
    """The cachetick block of a row named family/variant/workload/size."""
    fam, var, wl, label = name.split("/")
    return dict(family=fam, variant=var, role="optimised", workload=wl, size=int(label),
                size_label=label, **extra)


def sim_doc(rows):
    """rows: name -> (instructions, d1, ll, est_cycles) per op."""
    bs = [{"name": n, "run_name": n, "run_type": "iteration", "iterations": 16, "real_time": 1e6,
           "cpu_time": 1e6, "time_unit": "ns", "instructions_per_op": ir, "d1_misses_per_op": d1,
           "ll_misses_per_op": ll, "est_cycles_per_op": cyc, "cachetick": ct_block(n, backend="sim")}
          for n, (ir, d1, ll, cyc) in rows.items()]
    return {"context": {}, "benchmarks": bs,
            "cachetick": {"backend": "sim", "complete": True,
                          "sim": {"geometry": GEOMETRY, "environment": ENVIRONMENT}}}


def time_doc(rows, core=None):
    """rows: name -> ns/op of each repetition; core: name -> core share of each."""
    bs = []
    for n, samples in rows.items():
        for i, t in enumerate(samples):
            b = {"name": n, "run_name": n, "run_type": "iteration", "repetitions": len(samples),
                 "repetition_index": i, "iterations": 1000, "real_time": t, "cpu_time": t, "time_unit": "ns",
                 "cachetick": ct_block(n, ns_per_op=t)}
            if core and n in core:
                b["core_share"] = core[n][i]
            bs.append(b)
    return {"context": {}, "benchmarks": bs, "cachetick": {"complete": True}}


# ---- the rules, as functions -------------------------------------------------------

class Rules(unittest.TestCase):
    D1 = vd.COUNT_RULES["d1_misses_per_op"]  # tolerance 2%, floor 0.01 per op

    def test_a_count_needs_both_tolerance_and_floor(self):
        self.assertEqual(vd.judge_count("d1_misses_per_op", 10.0, 10.15, self.D1).status, vd.UNCHANGED)  # +1.5%
        self.assertEqual(vd.judge_count("d1_misses_per_op", 10.0, 10.3, self.D1).status, vd.REGRESSION)  # +3%
        self.assertEqual(vd.judge_count("d1_misses_per_op", 0.1, 0.105, self.D1).status, vd.UNCHANGED)  # +5%, 0.005/op
        self.assertEqual(vd.judge_count("d1_misses_per_op", 10.0, 9.0, self.D1).status, vd.IMPROVEMENT)
        f = vd.judge_count("d1_misses_per_op", 0.0, 0.5, self.D1)
        self.assertEqual((f.status, f.change), (vd.REGRESSION, math.inf))

    def test_a_count_that_moves_with_the_layout_is_judged_against_its_range(self):
        # Layouts gave 0.5..0.7 (width 0.2): within hi + width it is the heap's doing.
        f = vd.judge_count("d1_misses_per_op", 0.5, 0.85, self.D1, (0.5, 0.7))
        self.assertEqual((f.status, f.layouts), (vd.UNCHANGED, (0.5, 0.7)))
        self.assertEqual(vd.judge_count("d1_misses_per_op", 0.5, 0.95, self.D1, (0.5, 0.7)).status, vd.REGRESSION)
        self.assertEqual(vd.judge_count("d1_misses_per_op", 0.5, 0.35, self.D1, (0.5, 0.7)).status, vd.UNCHANGED)
        self.assertEqual(vd.judge_count("d1_misses_per_op", 0.5, 0.2, self.D1, (0.5, 0.7)).status,
                         vd.IMPROVEMENT)
        # A range narrower than the rule changes nothing and is not shown.
        f = vd.judge_count("d1_misses_per_op", 10.0, 10.3, self.D1, (10.0, 10.001))
        self.assertEqual((f.status, f.layouts), (vd.REGRESSION, None))

    def test_a_benchmark_is_as_bad_as_its_worst_count(self):
        base = {"instructions_per_op": 100.0, "d1_misses_per_op": 1.0}
        v = vd.judge_counts(base, {"instructions_per_op": 50.0, "d1_misses_per_op": 1.5})
        self.assertEqual(v.status, vd.REGRESSION)
        self.assertEqual(v.reason(), "d1_misses +50.0%")
        v = vd.judge_counts(base, {"instructions_per_op": 50.0, "d1_misses_per_op": 1.0})
        self.assertEqual((v.status, v.reason()), (vd.IMPROVEMENT, "instructions -50.0%"))
        self.assertEqual(vd.judge_counts({}, {}).status, vd.UNTESTED)

    def test_timings(self):
        rule = vd.TimeRule()
        base = [10.0, 10.1, 9.9, 10.2, 10.0]
        v = vd.judge_samples(base, [12.0, 12.2, 11.9, 12.1, 12.3], rule)
        self.assertEqual(v.status, vd.REGRESSION)
        # 5 and 5: the 3rd and 23rd of the 25 pairwise ratios, coverage 1 - 2 * 4/252.
        self.assertAlmostEqual(v.interval[0], 11.9 / 10.1)
        self.assertAlmostEqual(v.interval[1], 12.3 / 10.0)
        self.assertAlmostEqual(v.confidence, 1 - 8 / 252)
        self.assertEqual(v.reason(), "time +20.6% (interval +17.8%..+23.0%)")
        # +2% with +-1% noise: the interval reaches past +3% (too wide to tell); noisy: too wide.
        v = vd.judge_samples(base, [x * 1.02 for x in base], rule)
        self.assertEqual(v.status, vd.UNCHANGED)
        self.assertIn("too wide to tell", v.note)
        self.assertEqual(vd.judge_samples([10, 30, 12, 28, 11], [13, 29, 14, 31, 12], rule).status,
                         vd.UNCHANGED)
        # A margin of 5%: +2% with that noise is then shown equivalent.
        v = vd.judge_samples(base, [x * 1.02 for x in base], vd.TimeRule(margin=0.05))
        self.assertEqual((v.status, v.note), (vd.UNCHANGED, "equivalent: within +-5%"))

    def test_interval_against_known_critical_values(self):
        # Published two-sided 5% critical values of U: the interval is
        # d(U+1)..d(mn-U) of the sorted pairwise differences.
        for m, n, u in ((4, 4, 0), (5, 5, 2), (6, 6, 5), (8, 8, 13), (3, 8, 2), (7, 10, 14), (20, 20, 127)):
            k, coverage = vd._u_rank(m, n, 0.05)
            self.assertEqual(k, u + 1, (m, n))
            self.assertGreaterEqual(coverage, 0.95)
        self.assertEqual(vd._u_rank(3, 3, 0.05), (0, None))  # the smallest p is 0.1
        # Beyond 20000 pairs the normal approximation: within 2 ranks of the exact.
        k, coverage = vd._u_rank(145, 140, 0.05)
        cum, total = vd._u_lower_tail(140, 145, 145 * 140 // 2), math.comb(285, 140)
        exact = next(j for j in range(len(cum)) if cum[j] > 0.025 * total)
        self.assertLessEqual(abs(k - exact), 2)

    def test_interval_coverage_and_power(self):
        # Log-normal timings (5% spread), 8 samples a side, true ratio 1.10:
        # the interval covers 1.10 in about 95% of draws; identical
        # distributions (a skewed, exponential tail) are called slower or
        # faster in well under 5%. Seeded: the same draws every run.
        rnd = random.Random(17)
        draw = lambda scale: [scale * rnd.lognormvariate(0, 0.05) for _ in range(8)]
        covered = 0
        for _ in range(1000):
            iv = vd.ratio_interval(draw(10), draw(11))
            covered += iv.lo <= 1.1 <= iv.hi
        self.assertGreater(covered, 930)
        skew = lambda: [10 + rnd.expovariate(1) for _ in range(6)]
        called = sum(vd.judge_samples(skew(), skew()).status != vd.UNCHANGED for _ in range(1000))
        self.assertLess(called, 30)

    def test_a_ten_percent_slowdown_with_eight_rounds_regresses(self):
        rnd = random.Random(5)
        base = [10 * (1 + rnd.uniform(-0.02, 0.02)) for _ in range(8)]
        new = [11 * (1 + rnd.uniform(-0.02, 0.02)) for _ in range(8)]
        v = vd.judge_samples(base, new)
        self.assertEqual(v.status, vd.REGRESSION)
        self.assertLess(v.interval[0], 1.1)
        self.assertGreater(v.interval[1], 1.1)
        self.assertEqual(vd.judge_samples(new, base).status, vd.IMPROVEMENT)

    def test_too_few_repetitions(self):
        v = vd.judge_samples([10, 10, 10], [20, 20, 20])
        self.assertEqual((v.status, v.p, v.min_p, v.interval), (vd.UNTESTED, None, 0.1, None))
        self.assertIn("not enough samples to judge", v.note)
        v = vd.judge_samples([10], [20])
        self.assertEqual((v.status, v.min_p), (vd.UNTESTED, None))
        self.assertAlmostEqual(v.figure("time").change, 1.0)
        # 3 old repetitions against 8 paired rounds: an interval exists.
        self.assertIsNotNone(vd.judge_samples([10, 10.1, 9.9], [20 + i / 10 for i in range(8)]).interval)
        # A sample that is not a positive number gives no ratio, not a crash.
        self.assertEqual(vd.judge_samples([0.0, 1, 1, 1], [1, 1, 1, 1]).status, vd.UNTESTED)

    def test_the_margin_rule_is_the_paired_verdicts(self):
        # harness/paired.cpp judge_ratio: beyond 1 + m, or below 1 / (1 + m).
        self.assertEqual(vd.margin_verdict(1.031, 1.2, 0.03)[0], vd.REGRESSION)
        self.assertEqual(vd.margin_verdict(1.03, 1.2, 0.03)[0], vd.UNCHANGED)
        self.assertEqual(vd.margin_verdict(0.5, 1 / 1.031, 0.03)[0], vd.IMPROVEMENT)
        self.assertEqual(vd.margin_verdict(0.98, 1.02, 0.03), (vd.UNCHANGED, "equivalent: within +-3%"))

    def test_machines(self):
        intel = {"CPU model": "Intel(R) Xeon(R) Processor", "cores": 2, "kernel": "Linux 6.18"}
        amd = {"CPU model": "AMD EPYC", "cores": 2, "kernel": "Linux 6.18", "compiler": "GNU 12.2.0"}
        self.assertEqual(vd.machine_differences(intel, amd),
                         [("CPU model", "Intel(R) Xeon(R) Processor", "AMD EPYC")])
        self.assertEqual(vd.machine_differences(intel, {}), [])
        base, slow = [10.0, 10.1, 9.9, 10.2, 10.0], [12.0, 12.2, 11.9, 12.1, 12.3]
        v = vd.judge_time(base, slow, vd.TimeRule(), machines_differ=True)
        self.assertEqual((v.status, v.figure("time").status), (vd.OTHER_MACHINE, vd.REGRESSION))
        v = vd.judge_time(base, slow, vd.TimeRule(judge_across_machines=True), machines_differ=True)
        self.assertEqual(v.status, vd.REGRESSION)

    def test_paired_ratio_change(self):
        P = lambda ratio, lo, hi, ref="ct": cr.Paired(ref, ratio, lo, hi, 0.96)
        c = vd.judge_ratio_change(P(1.42, 1.38, 1.47), P(1.20, 1.15, 1.25))
        self.assertEqual(c.status, vd.IMPROVEMENT)
        self.assertEqual(c.note, "vs ct: 1.42 [1.38-1.47] -> 1.20 [1.15-1.25]")
        self.assertEqual(vd.judge_ratio_change(P(1.0, 0.98, 1.02), P(1.1, 1.06, 1.14)).status, vd.REGRESSION)
        # Apart, but by less than the margin: no change shown.
        self.assertEqual(vd.judge_ratio_change(P(1.0, 0.99, 1.01), P(1.025, 1.02, 1.03)).status, vd.UNCHANGED)
        self.assertIsNone(vd.judge_ratio_change(P(1.0, 0.9, 1.1), None))
        self.assertIsNone(vd.judge_ratio_change(P(1.0, 0.9, 1.1), P(2.0, 1.9, 2.1, ref="other")))

    def test_shared_core_is_not_judged_but_keeps_its_figures(self):
        base, slow = [10.0, 10.1, 9.9, 10.2, 10.0], [12.0, 12.2, 11.9, 12.1, 12.3]
        v = vd.judge_time(base, slow, vd.TimeRule(), shares=(1.0, 0.51))
        self.assertEqual(v.status, vd.SHARED_CORE)
        self.assertEqual(v.figure("time").status, vd.REGRESSION)  # what the figures alone say
        self.assertEqual(vd.judge_time(base, slow, vd.TimeRule(judge_shared=True), (1.0, 0.51)).status,
                         vd.REGRESSION)
        self.assertEqual(vd.judge_time(base, slow, vd.TimeRule(), (None, 0.8)).status, vd.REGRESSION)

    def test_rules_cover_exactly_the_counts_the_loader_reads(self):
        self.assertEqual(set(vd.COUNT_RULES), set(cr.SIM_COUNTS))


# ---- one verdict, two tools ------------------------------------------------------------

GATE_WORDS = {"REGRESSED": vd.REGRESSION, "improved": vd.IMPROVEMENT, "ok": vd.UNCHANGED,
              "no difference shown": vd.UNCHANGED, "untested": vd.UNTESTED,
              "not enough samples": vd.UNTESTED, "shared core: not judged": vd.SHARED_CORE,
              "other machine: not judged": vd.OTHER_MACHINE}


class SameVerdict(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, doc):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def gate(self, base, new):
        """benchmark -> status, read from the gate's Markdown table; and its exit code."""
        md = os.path.join(self.dir.name, "gate.md")
        r = subprocess.run([PY, COMPARE, base, new, "--markdown", md], capture_output=True, text=True)
        with open(md) as f:
            rows = [line.split(" | ") for line in f if line.startswith("| `")]
        return {cells[0].strip("| `"): GATE_WORDS[cells[-1].strip(" |\n").split(" (")[0]] for cells in rows}, r.returncode

    def report(self, base, new):
        """benchmark -> status as the report gives it (its comparison table, in
        the manifest); the significant ones also as the compare chart draws them."""
        out = os.path.join(self.dir.name, "report")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = report.main([new, "--baseline", base, "-o", out, "--no-png", "-q"])
        self.assertEqual(code, 0)
        with open(os.path.join(out, "manifest.json")) as f:
            man = json.load(f)
        given = {c["name"]: c["status"] for c in man["comparison"]}
        drawn = {}
        for c in man["charts"]:
            if c["kind"] == "compare":
                for s in c["panels"][0]["series"]:
                    status = s["gid"][len("series:"):].replace("_", " ")
                    drawn.update({name: status for name in s["categories"]})
        self.assertEqual(drawn, {n: st for n, st in given.items() if st in (vd.REGRESSION, vd.IMPROVEMENT)})
        return given

    def both(self, base_doc, new_doc):
        base, new = self.write("base.json", base_doc), self.write("new.json", new_doc)
        gate, code = self.gate(base, new)
        drawn = self.report(base, new)
        self.assertEqual(gate, drawn)
        return gate, code

    def test_sim_counts(self):
        same = (100.0, 10.0, 0.5, 200.0)
        names = ("d1_small", "d1_estcyc", "d1_big", "ll_tiny", "instr", "fewer", "same")
        base = {f"v/{k}/w/1024": same for k in names}
        new = dict(base)
        new["v/d1_small/w/1024"] = (100.0, 10.15, 0.5, 200.0)  # D1 +1.5%, above the floor, under 2%
        # D1 and estcyc (the count the report draws) +1.5%, above their floors,
        # under their 2%: the report's old flat 1% drew it red, the gate passed it.
        new["v/d1_estcyc/w/1024"] = (100.0, 10.15, 0.5, 203.0)
        new["v/d1_big/w/1024"] = (100.0, 10.3, 0.5, 200.0)     # D1 +3%: above both; estcyc unchanged
        new["v/ll_tiny/w/1024"] = (100.0, 10.0, 0.504, 200.0)  # LL +0.8%: under both
        new["v/instr/w/1024"] = (101.5, 10.0, 0.5, 201.5)      # instructions +1.5%: over 1%
        new["v/fewer/w/1024"] = (50.0, 5.0, 0.5, 100.0)
        verdicts, code = self.both(sim_doc(base), sim_doc(new))
        self.assertEqual(verdicts, {
            "v/d1_small/w/1024": vd.UNCHANGED, "v/d1_estcyc/w/1024": vd.UNCHANGED, "v/d1_big/w/1024": vd.REGRESSION, "v/ll_tiny/w/1024": vd.UNCHANGED,
            "v/instr/w/1024": vd.REGRESSION, "v/fewer/w/1024": vd.IMPROVEMENT, "v/same/w/1024": vd.UNCHANGED})
        self.assertEqual(code, 1)

    def test_timings_with_a_shared_core(self):
        base = [10.0, 10.1, 9.9, 10.2, 10.0]
        slow = [12.0, 12.2, 11.9, 12.1, 12.3]
        rows = {"v/shared/w/1024": base, "v/slower/w/1024": base, "v/tiny/w/1024": base,
                "v/same/w/1024": base}
        new = {"v/shared/w/1024": slow, "v/slower/w/1024": slow,
               "v/tiny/w/1024": [x * 1.02 for x in base], "v/same/w/1024": base}
        core = {n: [1.0] * 5 for n in new}
        core["v/shared/w/1024"] = [0.5, 0.52, 1.0, 0.49, 0.51]  # beside a busy sibling: median 51%
        verdicts, code = self.both(time_doc(rows), time_doc(new, core))
        self.assertEqual(verdicts, {"v/shared/w/1024": vd.SHARED_CORE, "v/slower/w/1024": vd.REGRESSION,
                                    "v/tiny/w/1024": vd.UNCHANGED, "v/same/w/1024": vd.UNCHANGED})
        self.assertEqual(code, 1)

    def test_two_machines(self):
        # Baseline and new from two CPUs: both say so and judge no timing,
        # however large the change.
        base_doc = time_doc({"v/x/w/1024": [10.0, 10.1, 9.9, 10.2, 10.0]})
        new_doc = time_doc({"v/x/w/1024": [20.0, 20.1, 19.9, 20.2, 20.0]})
        base_doc["cachetick"]["machine"] = {"cpu_model": "Intel(R) Xeon(R) Processor 5950", "logical_cpus": 2}
        new_doc["cachetick"]["machine"] = {"cpu_model": "AMD EPYC", "logical_cpus": 2}
        verdicts, code = self.both(base_doc, new_doc)
        self.assertEqual((verdicts, code), ({"v/x/w/1024": vd.OTHER_MACHINE}, 0))

    def test_three_repetitions(self):
        # Both judge the row untested (no 95% interval exists with 3 a side)
        # and the report counts it so, not as unchanged, and says why.
        base = self.write("base.json", time_doc({"v/x/w/1024": [10.0, 10.1, 9.9]}))
        new = self.write("new.json", time_doc({"v/x/w/1024": [20.0, 20.1, 19.9]}))
        gate, code = self.gate(base, new)
        self.assertEqual((gate, code), ({"v/x/w/1024": vd.UNTESTED}, 0))
        self.assertEqual(self.report(base, new), gate)
        cmp = report.compare(cr.load(base), cr.load(new))
        (row,) = cmp["rows"]
        self.assertEqual((row["verdict"].status, row["status"]), (vd.UNTESTED, vd.UNTESTED))
        self.assertIn("smallest possible p is 0.1", report.significance_text(cmp))


if __name__ == "__main__":
    unittest.main(verbosity=1)

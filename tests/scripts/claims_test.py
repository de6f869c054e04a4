#!/usr/bin/python3
"""Tests for the claims table (scripts/claims.py, the claim rule in
scripts/verdict.py, the paired block in scripts/cachetick_results.py) and
for scripts/claims.json: every pair names rows the cachetick binary has.

Run: /usr/bin/python3 tests/scripts/claims_test.py [path/to/cachetick]
(ctest passes the binary; without it the mapping check is skipped).
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import cachetick_results as cr  # noqa: E402
import claims  # noqa: E402
import verdict as vd  # noqa: E402

BINARY = None  # set from argv


def entry(name, role, ns, rep, core=0.97, paired=None, counters=None, error=None):
    fam, var, wl, label = name.split("/")
    ct = {"family": fam, "variant": var, "role": role, "workload": wl, "size_label": label, "size": 1,
          "ns_per_op": ns}
    if paired is not None:
        ct["paired"] = paired
    e = {"name": name, "run_name": name, "run_type": "iteration", "repetition_index": rep, "iterations": 10,
         "real_time": ns, "cpu_time": ns, "time_unit": "ns", "core_share": core, "cachetick": ct}
    e.update(counters or {})
    if error:
        e.update(error_occurred=True, error_message=error)
    return e


def doc(rows, reps=3):
    """rows: (name, role, ns/op, extra kwargs for entry)."""
    out = []
    for name, role, ns, kw in rows:
        out += [entry(name, role, ns * (1 + 0.001 * i), i, **kw) for i in range(reps)]
    return {"context": {}, "benchmarks": out, "cachetick": {"complete": True}}


def paired(reference, ratio, lo, hi, confidence=0.95, rounds=12, shared=0, verdict="slower"):
    return dict(reference=reference, ratio=ratio, lo=lo, hi=hi, confidence=confidence, rounds=rounds,
                shared_rounds=shared, verdict=verdict)


CLAIMS = {"sources": {"t": "a test"}, "claims": [
    {"id": "pool", "source": "t", "claim": "pooling: 2-3x faster", "factor": [2, 3], "figure": "time",
     "pairs": [{"family": "buf", "workload": "touch", "better": "pool", "baseline": "fresh"}]},
    {"id": "mem", "source": "t", "claim": "90% less memory", "factor": [10, 10], "figure": "bytes_per_record",
     "pairs": [{"family": "str", "workload": "memory", "sizes": ["1M"], "better": "interned", "baseline": "string"}]},
    {"id": "none", "source": "t", "claim": "compression", "factor": [0.8, 0.9], "figure": "time", "pairs": [],
     "note": "no family"},
]}


class Rule(unittest.TestCase):
    def test_range_widens_by_the_tolerance(self):
        lo, hi = vd.claimed_range([3, 5])
        self.assertAlmostEqual(lo, 3 / 1.05)
        self.assertAlmostEqual(hi, 5 * 1.05)
        self.assertEqual(vd.claimed_range([2, None])[1], math.inf)
        self.assertEqual(vd.claimed_range("faster"), (1.05, math.inf))
        lo, hi = vd.claimed_range("neutral", vd.ClaimRule(tolerance=0.1))
        self.assertAlmostEqual(lo, 1 / 1.1)
        self.assertAlmostEqual(hi, 1.1)
        self.assertEqual(vd.claimed_range(1.1), vd.claimed_range([1.1, 1.1]))

    def test_point_estimates(self):
        self.assertEqual(vd.judge_claim(4.0, [3, 5]).status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(2.9, [3, 5]).status, vd.CLAIM_HELD)  # within the tolerance
        self.assertEqual(vd.judge_claim(2.8, [3, 5]).status, vd.CLAIM_SHORT)
        self.assertEqual(vd.judge_claim(5.3, [3, 5]).status, vd.CLAIM_EXCEEDED)
        self.assertEqual(vd.judge_claim(1.04, "faster").status, vd.CLAIM_SHORT)
        self.assertEqual(vd.judge_claim(1.06, "faster").status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(0.97, "neutral").status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(0.9, "neutral").status, vd.CLAIM_SHORT)
        self.assertEqual(vd.judge_claim(0.85, [0.8, 0.9]).status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(None, [3, 5]).status, vd.CLAIM_UNMEASURED)

    def test_intervals(self):
        self.assertEqual(vd.judge_claim(4.0, [3, 5], (3.1, 4.9)).status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(4.0, [3, 5], (3.1, 7.0)).status, vd.CLAIM_HELD)
        self.assertEqual(vd.judge_claim(6.0, [3, 5], (5.5, 7.0)).status, vd.CLAIM_EXCEEDED)
        self.assertEqual(vd.judge_claim(3.0, [3, 5], (2.0, 4.0)).status, vd.CLAIM_UNDECIDED)
        self.assertEqual(vd.judge_claim(2.0, [3, 5], (1.5, 2.5)).status, vd.CLAIM_SHORT)
        # The point alone would hold; the interval says the run cannot tell.
        self.assertEqual(vd.judge_claim(1.0, "neutral", (0.9, 1.1)).status, vd.CLAIM_UNDECIDED)

    def test_shared_core_point_estimates_are_not_judged(self):
        v = vd.judge_claim(4.0, [3, 5], shared=True)
        self.assertEqual(v.status, vd.SHARED_CORE)
        self.assertIn("as measured: held", v.note)
        self.assertEqual(vd.judge_claim(4.0, [3, 5], shared=True, rule=vd.ClaimRule(judge_shared=True)).status,
                         vd.CLAIM_HELD)
        # A paired interval has counted its shared rounds itself: judged.
        self.assertEqual(vd.judge_claim(4.0, [3, 5], (3.5, 4.5), shared=True).status, vd.CLAIM_HELD)

    def test_describe(self):
        self.assertEqual(vd.describe_claim([3, 5]), "3-5x")
        self.assertEqual(vd.describe_claim([1.1, 1.1]), "1.1x")
        self.assertEqual(vd.describe_claim([2, None]), "at least 2x")
        self.assertEqual(vd.describe_claim("neutral"), "no difference")


class PairedBlock(unittest.TestCase):
    def test_read_from_the_row(self):
        res = cr.from_doc(doc([("b/fresh/t/4KiB", "naive", 30.0, dict(paired=paired("pool", 3.0, 2.5, 3.6)))]))
        p = res.rows[0].paired
        self.assertEqual((p.reference, p.ratio, p.lo, p.hi, p.confidence, p.rounds, p.verdict),
                         ("pool", 3.0, 2.5, 3.6, 0.95, 12, "slower"))
        self.assertIsNone(cr.from_doc(doc([("b/fresh/t/4KiB", "naive", 30.0, {})])).rows[0].paired)

    def test_bad_blocks_are_refused_with_the_reason(self):
        bad = [("not a dict", "not an object"),
               (paired("pool", 3.0, 3.2, 3.6), "not inside a positive interval"),
               (paired("pool", 3.0, -1, 3.6), "not inside a positive interval"),
               (paired("", 3.0, 2.5, 3.6), "no reference"),
               (paired("pool", 3.0, 2.5, 3.6, confidence=95), "confidence 95"),
               (paired("pool", 3.0, 2.5, 3.6, verdict="quicker"), "verdict 'quicker'")]
        for block, message in bad:
            with self.subTest(block=block):
                with self.assertRaisesRegex(cr.ResultError, f"b/fresh/t/4KiB: .*{message}"):
                    cr.from_doc(doc([("b/fresh/t/4KiB", "naive", 30.0, dict(paired=block))]))


def rows_of(spec):
    return {r.variant: r for r in cr.from_doc(doc(spec)).rows}


class Measure(unittest.TestCase):
    def test_ratio_of_medians_without_pairing(self):
        r = rows_of([("b/pool/t/4KiB", "optimised", 10.0, {}), ("b/fresh/t/4KiB", "naive", 25.0, {})])
        m = claims.measure(r["pool"], r["fresh"], "time")
        self.assertAlmostEqual(m.factor, 2.5)
        self.assertIsNone(m.interval)
        self.assertIn("ratio of medians", m.method)
        self.assertFalse(m.shared)

    def test_shared_core_rows_are_flagged(self):
        r = rows_of([("b/pool/t/4KiB", "optimised", 10.0, dict(core=0.5)), ("b/fresh/t/4KiB", "naive", 25.0, {})])
        self.assertTrue(claims.measure(r["pool"], r["fresh"], "time").shared)

    def test_paired_against_the_better_variant(self):
        r = rows_of([("b/pool/t/4KiB", "optimised", 10.0, {}),
                     ("b/fresh/t/4KiB", "naive", 25.0, dict(paired=paired("pool", 2.4, 2.2, 2.7, shared=3)))])
        m = claims.measure(r["pool"], r["fresh"], "time")
        self.assertEqual((m.factor, m.interval, m.confidence), (2.4, (2.2, 2.7), 0.95))  # the paired ratio, not 2.5
        self.assertIn("3 on a shared core", m.method)

    def test_paired_against_the_baseline_is_inverted(self):
        r = rows_of([("b/fast/t/4KiB", "peer", 10.0, dict(paired=paired("ref", 0.5, 0.4, 0.625))),
                     ("b/ref/t/4KiB", "optimised", 20.0, {})])
        m = claims.measure(r["fast"], r["ref"], "time")
        self.assertAlmostEqual(m.factor, 2.0)
        self.assertAlmostEqual(m.interval[0], 1.6)
        self.assertAlmostEqual(m.interval[1], 2.5)

    def test_two_rows_against_a_third_give_a_conservative_interval(self):
        r = rows_of([("b/a/t/4KiB", "peer", 10.0, dict(paired=paired("ref", 1.0, 0.9, 1.1))),
                     ("b/b/t/4KiB", "peer", 30.0, dict(paired=paired("ref", 3.0, 2.7, 3.3))),
                     ("b/ref/t/4KiB", "optimised", 10.0, {})])
        m = claims.measure(r["a"], r["b"], "time")
        self.assertAlmostEqual(m.factor, 3.0)
        self.assertAlmostEqual(m.interval[0], 2.7 / 1.1)
        self.assertAlmostEqual(m.interval[1], 3.3 / 0.9)
        self.assertAlmostEqual(m.confidence, 0.9)
        self.assertIn("conservative", m.method)

    def test_a_counter_figure(self):
        r = rows_of([("s/interned/memory/1M", "optimised", 10.0, dict(counters={"bytes_per_record": 4.0})),
                     ("s/string/memory/1M", "peer", 10.0, dict(counters={"bytes_per_record": 50.0}))])
        self.assertAlmostEqual(claims.measure(r["interned"], r["string"], "bytes_per_record").factor, 12.5)
        self.assertIsNone(claims.measure(r["interned"], r["string"], "no_such_counter").factor)


class Table(unittest.TestCase):
    def table(self, spec, claims_doc=CLAIMS, rule=vd.ClaimRule()):
        return {c["id"]: lines for c, lines in claims.table([cr.from_doc(doc(spec))], claims_doc, rule)}

    def test_lines_per_size_and_missing_rows(self):
        t = self.table([("buf/pool/touch/4KiB", "optimised", 10.0, {}), ("buf/fresh/touch/4KiB", "naive", 25.0, {}),
                        ("buf/pool/touch/64KiB", "optimised", 10.0, {}), ("buf/fresh/touch/64KiB", "naive", 15.0, {}),
                        ("buf/pool/touch/1MiB", "optimised", 10.0, {})])
        lines = t["pool"]
        self.assertEqual([ln.size for ln in lines], ["4KiB", "64KiB", "1MiB"])
        self.assertEqual([ln.verdict.status for ln in lines], [vd.CLAIM_HELD, vd.CLAIM_SHORT, vd.CLAIM_UNMEASURED])
        self.assertIn("not in this run: buf/fresh/touch/1MiB", lines[2].missing)
        self.assertEqual(claims.claim_status(lines), "held 1, fell short 1, not measured 1 (of 3)")
        self.assertEqual([ln.verdict.status for ln in t["mem"]], [vd.CLAIM_UNMEASURED])
        self.assertEqual(t["none"], [])
        self.assertEqual(claims.claim_status(t["none"]), "no benchmark")

    def test_a_failed_row_is_not_measured(self):
        t = self.table([("buf/pool/touch/4KiB", "optimised", 10.0, dict(error="no test file")),
                        ("buf/fresh/touch/4KiB", "naive", 25.0, {})])
        self.assertEqual(t["pool"][0].verdict.status, vd.CLAIM_UNMEASURED)
        self.assertIn("failed: buf/pool/touch/4KiB", t["pool"][0].missing)

    def test_rows_split_over_files_are_paired_and_said_so(self):
        a = cr.from_doc(doc([("buf/pool/touch/4KiB", "optimised", 10.0, {})]), "a.json")
        b = cr.from_doc(doc([("buf/fresh/touch/4KiB", "naive", 25.0, {})]), "b.json")
        (_, lines), *_ = claims.table([a, b], CLAIMS)
        self.assertEqual(lines[0].verdict.status, vd.CLAIM_HELD)
        self.assertIn("different files", lines[0].measure.method)

    def test_a_pair_is_taken_from_one_file_when_one_has_both(self):
        a = cr.from_doc(doc([("buf/pool/touch/4KiB", "optimised", 10.0, {})]), "a.json")
        b = cr.from_doc(doc([("buf/pool/touch/4KiB", "optimised", 5.0, {}),
                             ("buf/fresh/touch/4KiB", "naive", 25.0, {})]), "b.json")
        (_, lines), *_ = claims.table([a, b], CLAIMS)
        self.assertAlmostEqual(lines[0].measure.factor, 5.0, places=2)
        self.assertNotIn("different files", lines[0].measure.method)


class ClaimsFile(unittest.TestCase):
    def write(self, content):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        f.write(content if isinstance(content, str) else json.dumps(content))
        f.close()
        self.addCleanup(os.remove, f.name)
        return f.name

    def test_the_repository_file_loads(self):
        d = claims.load_claims()
        self.assertGreaterEqual(len(d["claims"]), 10)
        for c in d["claims"]:
            self.assertIn(c["source"], d["sources"], c["id"])

    def test_bad_files(self):
        good = CLAIMS["claims"][0]
        cases = [("{", "not valid JSON"), ({"claims": []}, "non-empty 'claims'"),
                 ({"claims": [dict(good, factor=[5, 3])]}, "factor \\[5, 3\\]"),
                 ({"claims": [dict(good, factor="quicker")]}, "factor 'quicker'"),
                 ({"claims": [dict(good, pairs=[{"family": "buf"}])]}, "pair #0 needs"),
                 ({"claims": [dict(good, pairs=[], note="")]}, "no pairs and no note"),
                 ({"claims": [good, good]}, "'pool' appears more than once"),
                 ({"claims": [{k: v for k, v in good.items() if k != "figure"}]}, "no 'figure'")]
        for content, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(claims.ClaimsError, message):
                    claims.load_claims(self.write(content))
        with self.assertRaisesRegex(claims.ClaimsError, "no such claims file"):
            claims.load_claims("/nonexistent/claims.json")

    def test_every_pair_names_rows_the_binary_has(self):
        if not BINARY:
            self.skipTest("no cachetick binary given")
        listing = subprocess.run([BINARY, "list"], capture_output=True, text=True, check=True).stdout
        names = {line.split()[0] for line in listing.splitlines()[1:] if line.strip()}
        families = {n.split("/")[0] for n in names}
        for c in claims.load_claims()["claims"]:
            for p in c["pairs"]:
                if p["family"] not in families:
                    continue  # a family on another branch (smallvec, records): "not in this run" until merged
                for v in (p["better"], p["baseline"]):
                    prefix = f"{p['family']}/{v}/{p['workload']}/"
                    sizes = {n[len(prefix):] for n in names if n.startswith(prefix)}
                    with self.subTest(claim=c["id"], rows=prefix):
                        self.assertTrue(sizes, f"no rows {prefix}*")
                        self.assertFalse(set(p.get("sizes", [])) - sizes, f"{prefix}: sizes not registered")


class Command(unittest.TestCase):
    def run_claims(self, *args):
        return subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "claims.py"), *args],
                              capture_output=True, text=True)

    def test_prints_the_table(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            with open(path, "w") as f:
                json.dump(doc([("parse/ct_table/parse/2MiB", "optimised", 50.0, {}),
                               ("parse/std_string/parse/2MiB", "naive", 200.0, {})]), f)
            p = self.run_claims(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"parse/parse/2MiB: ct_table vs std_string +4\.00x +- +held")
        self.assertIn("Zero-copy deserialization: 3-5x faster", p.stdout)
        self.assertIn("ratio of two medians of one run", p.stdout)

    def test_bad_input_exits_2(self):
        p = self.run_claims("/nonexistent.json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent.json: no such file", p.stderr)
        p = self.run_claims(os.path.join(ROOT, "scripts", "claims.json"), "--claims", "/nonexistent/c.json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no such claims file", p.stderr)
        p = self.run_claims("x.json", "--tolerance", "2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tolerance 2 is not in [0, 1)", p.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        BINARY = sys.argv.pop(1)
    unittest.main()

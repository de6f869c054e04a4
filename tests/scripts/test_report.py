"""Tests for scripts/report.py: every chart is drawn with the series it should
carry (read back from the matplotlib figure into the manifest), bad input
exits 2 with a message, partial results still give the charts they can.

Run: scripts/python.sh tests/scripts/test_report.py   (ctest runs it as `report`)
"""

import contextlib
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "scripts", "data")
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import cachetick_results as cr  # noqa: E402
import charts_style as cs  # noqa: E402
import report  # noqa: E402

CACHES = [{"level": 1, "type": "Data", "size": "48KiB", "size_bytes": 49152},
          {"level": 1, "type": "Instruction", "size": "32KiB", "size_bytes": 32768},
          {"level": 2, "type": "Unified", "size": "2MiB", "size_bytes": 2 << 20},
          {"level": 3, "type": "Unified", "size": "32MiB", "size_bytes": 32 << 20}]


def make_doc(rows, reps=1, host="hostA", budget=10.0, seed=1, noise=0.01, extra_ct=None, backend=None):
    """A cachetick result built from (family, variant, role, workload, size_label,
    ws_bytes, ns, counters) tuples: `reps` iteration entries per benchmark with
    small noise, plus median/mean/stddev/cv aggregates when reps > 1."""
    rnd = random.Random(seed)
    out = []
    for fam, var, role, wl, label, ws, ns, counters in rows:
        name = f"{fam}/{var}/{wl}/{label}"
        ct = {"family": fam, "variant": var, "role": role, "workload": wl, "size": ws or 1,
              "size_label": label, "working_set_bytes": ws, "op": "lookup", "ops_per_iter": 1000.0}
        samples = [ns * (1 + rnd.uniform(-noise, noise)) for _ in range(reps)] if ns is not None else []
        for i in range(reps):
            e = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": reps,
                 "repetition_index": i, "threads": 1, "iterations": 1000,
                 "real_time": (samples[i] if samples else 1.0) * 1000, "cpu_time": 1.0, "time_unit": "ns",
                 "cachetick": dict(ct)}
            if samples:
                e["cachetick"].update(ns_per_op=samples[i], budget_ns=budget,
                                      verdict="within" if samples[i] <= budget else "over")
            if backend:
                e["cachetick"]["backend"] = backend
            e.update(counters or {})
            out.append(e)
        if reps > 1 and samples:
            srt = sorted(samples)
            med = srt[len(srt) // 2] if len(srt) % 2 else (srt[len(srt) // 2 - 1] + srt[len(srt) // 2]) / 2
            for agg, v in (("mean", sum(samples) / reps), ("median", med), ("stddev", 0.01), ("cv", 0.01)):
                e = {"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate", "repetitions": reps,
                     "threads": 1, "aggregate_name": agg, "aggregate_unit": "percentage" if agg == "cv" else "time",
                     "iterations": reps, "real_time": v * 1000, "cpu_time": 1.0, "time_unit": "ns",
                     "cachetick": dict(ct)}
                if agg in ("mean", "median"):
                    e["cachetick"].update(ns_per_op=v, budget_ns=budget, verdict="within" if v <= budget else "over")
                e.update(counters or {})
                out.append(e)
    ct = {"machine": {"host": host, "cpu_model": f"Test CPU of {host}", "logical_cpus": 2, "caches": CACHES,
                      "pmu": {"available": False, "reason": "test"}},
          "build": {"build_type": "Release", "compiler": "GNU 12.2.0"},
          "options": {"budget_ns": budget, "repetitions": reps}, "complete": True}
    if backend:
        ct["backend"] = backend
    ct.update(extra_ct or {})
    return {"context": {"host_name": host, "date": "2026-11-21T00:00:00+00:00", "num_cpus": 2,
                        "library_build_type": "debug"},
            "benchmarks": out, "cachetick": ct}


HASH_ROWS = [
    ("hash", v, role, wl, label, ws, ns, None)
    for wl in ("hit", "miss")
    for v, role, base in (("ct_l1", "optimised", 1.2), ("naive", "naive", 3.0),
                          ("std_unordered_map", "peer", 4.0), ("absl_flat_hash_map", "peer", 2.5))
    for label, ws, mult in (("4096", 32768, 1), ("65536", 524288, 2), ("1M", 8 << 20, 6), ("16M", 128 << 20, 30))
    for ns in [base * mult]
]


def sign_test_interval(xs, confidence=0.95):
    """(lo, hi, coverage): the distribution-free interval of the median from
    order statistics, as the paired schema describes it."""
    xs, n = sorted(xs), len(xs)
    best = None
    for k in range(n // 2, -1, -1):  # widest first is k = 0; find the narrowest with enough coverage
        cover = 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
        if cover >= confidence:
            best = (xs[k], xs[n - 1 - k], cover)
            break
    return best or (xs[0], xs[-1], 1 - 2 / 2 ** n)


def paired_block(ref, ratios, margin=0.03, shared=0):
    xs = sorted(ratios)
    n = len(xs)
    med = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    lo, hi, cover = sign_test_interval(xs)
    verdict = "faster" if hi < 1 - margin else "slower" if lo > 1 + margin else "no_difference"
    detail = (f"{med:.2f}x slower" if verdict == "slower" else f"{1 / med:.2f}x faster" if verdict == "faster"
              else f"within +-{margin * 100:.0f}%" if lo >= 1 - margin and hi <= 1 + margin
              else f"interval {lo:.2f}-{hi:.2f}: too wide to tell")
    return {"reference": ref, "ratio": med, "lo": lo, "hi": hi, "confidence": cover, "rounds": n,
            "shared_rounds": shared, "verdict": verdict, "margin": margin, "detail": detail,
            "without_shared": None}


def make_paired_doc(groups, rounds=14, host="hostP", seed=3, noise=0.02, cpu=None, date="2026-12-01T10:00:00+00:00",
                    commit="abcdef1234567890"):
    """A time-backend result in the paired schema (/work/paired-schema.md, issue
    17): groups = [(family, workload, size_label, ws_bytes, ref_ns, [(variant,
    role, true ratio to the reference)])], the first variant the reference.
    Every row has one iteration entry per round and GB aggregates; every
    non-reference row a `paired` block computed from the per-round ratios."""
    rnd = random.Random(seed)
    out, top = [], []
    for fam, wl, label, ws, ref_ns, variants in groups:
        ref = variants[0][0]
        ref_t = [ref_ns * (1 + rnd.uniform(-noise, noise)) for _ in range(rounds)]
        for var, role, ratio in variants:
            ts = ref_t if var == ref else [t * ratio * (1 + rnd.uniform(-noise, noise)) for t in ref_t]
            name = f"{fam}/{var}/{wl}/{label}"
            ct = {"family": fam, "variant": var, "role": role, "workload": wl, "size": ws, "size_label": label,
                  "working_set_bytes": ws, "op": "lookup", "ops_per_iter": 1000.0}
            if var != ref:
                ct["paired"] = paired_block(ref, [a / b for a, b in zip(ts, ref_t)])
            for i, t in enumerate(ts):
                e = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": rounds,
                     "repetition_index": i, "threads": 1, "iterations": 1000, "real_time": t * 1000,
                     "cpu_time": t * 1000, "time_unit": "ns", "ticks_per_op": t * 2.5, "core_share": 1.0,
                     "cachetick": dict(ct, ns_per_op=t, budget_ns=10.0, verdict="within" if t <= 10 else "over")}
                out.append(e)
            srt = sorted(ts)
            med = (srt[rounds // 2 - 1] + srt[rounds // 2]) / 2 if rounds % 2 == 0 else srt[rounds // 2]
            for agg, v in (("mean", sum(ts) / rounds), ("median", med), ("stddev", 0.01), ("cv", 0.01)):
                out.append({"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate",
                            "repetitions": rounds, "threads": 1, "aggregate_name": agg,
                            "aggregate_unit": "percentage" if agg == "cv" else "time", "iterations": rounds,
                            "real_time": v if agg == "cv" else v * 1000, "cpu_time": v if agg == "cv" else v * 1000,
                            "time_unit": "ns",
                            "cachetick": dict(ct, **({"ns_per_op": v} if agg in ("mean", "median") else {}))})
        top.append({"family": fam, "workload": wl, "size_label": label, "reference": ref,
                    "variants": [v for v, _, _ in variants], "rounds": rounds, "stop": "narrow",
                    "half_width": 0.02, "target": 0.03, "seconds": 1.0, "shared_rounds": 0})
    ct = {"machine": {"host": host, "cpu_model": cpu or f"Test CPU of {host}", "logical_cpus": 2, "caches": CACHES,
                      "kernel": "6.1.0", "pmu": {"available": False, "reason": "test"}},
          "build": {"build_type": "Release", "compiler": "GNU 12.2.0", "git_commit": commit},
          "options": {"budget_ns": 10.0, "repetitions": rounds}, "complete": True, "backend": "time",
          "groups": top, "paired": {"target": 0.03, "group_cap_s": 4.0, "margin": 0.03, "confidence": 0.95,
                                    "min_rounds": 6, "method": "sign test on per-round ratios"}}
    return {"context": {"host_name": host, "date": date, "num_cpus": 2, "library_build_type": "release"},
            "benchmarks": out, "cachetick": ct}


def real_shape(doc, dropped=None):
    """A make_paired_doc document in the shape the time backend really writes
    (a `--quick` run on the Zen 5 guest): the paired block on the row's
    MEDIAN aggregate only, with rounds_run, preempted_rounds,
    dropped_disturbed, every_round {ratio, lo, hi, verdict, ...} and
    disturbed_changes_verdict (no without_shared); groups with
    preempted_rounds. dropped: {row name: (rounds kept, rounds run, the
    every-round verdict)} for rows whose disturbed rounds were dropped."""
    dropped = dropped or {}
    for e in doc["benchmarks"]:
        ct = e["cachetick"]
        if "paired" not in ct:
            continue
        if e.get("aggregate_name") != "median":
            e["cachetick"] = {k: v for k, v in ct.items() if k != "paired"}
            continue
        p = dict(ct["paired"])
        del p["without_shared"]
        kept, run, every = dropped.get(e["run_name"], (p["rounds"], p["rounds"], p["verdict"]))
        p.update(rounds=kept, rounds_run=run, preempted_rounds=run - kept, dropped_disturbed=kept < run,
                 half_width=(p["hi"] / p["lo"]) ** 0.5 - 1, disturbed_changes_verdict=every != p["verdict"],
                 every_round={"ratio": p["ratio"], "lo": p["lo"] * 0.98, "hi": p["hi"] * 1.02, "verdict": every,
                              "confidence": p["confidence"], "rounds": run, "detail": "every round",
                              "half_width": 0.03})
        e["cachetick"] = dict(ct, paired=p)
    for g in doc["cachetick"]["groups"]:
        g["preempted_rounds"] = 0
    return doc


def hash_groups(big_absl=0.8, scale=1.0):
    """hash hit/miss at four sizes: ct the reference; absl wins misses from 1M up."""
    out = []
    for wl in ("hit", "miss"):
        for label, ws, ns in (("4096", 32768, 1.2), ("65536", 524288, 2.0), ("1M", 8 << 20, 6.0),
                              ("16M", 128 << 20, 30.0)):
            absl = big_absl if wl == "miss" and label in ("1M", "16M") else 1.5
            out.append(("hash", wl, label, ws, ns, [("ct", "optimised", 1.0), ("ct_scalar", "reference", 1.0),
                                                     ("absl_flat_hash_map", "peer", absl * scale),
                                                     ("std_unordered_map", "peer", 2.5), ("naive", "naive", 3.0)]))
    return out


class ReportCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="report-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            if isinstance(doc, str):
                f.write(doc)
            else:
                json.dump(doc, f)
        return path

    def run_report(self, *args, png=False):
        """report.main in-process: (exit code, stdout, stderr, manifest or None)."""
        out_dir = os.path.join(self.tmp, "out")
        argv = list(args) + ["-o", out_dir] + ([] if png else ["--no-png"])
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                code = report.main(argv)
            except SystemExit as ex:  # argparse
                code = ex.code
        man = None
        mpath = os.path.join(out_dir, "manifest.json")
        if code == 0:
            with open(mpath) as f:
                man = json.load(f)
            man["dir"] = out_dir
        return code, o.getvalue(), e.getvalue(), man

    def page(self, man):
        with open(os.path.join(man["dir"], "report.html")) as f:
            return f.read()

    def chart(self, man, chart_id):
        found = [c for c in man["charts"] if c["id"] == chart_id]
        self.assertEqual(len(found), 1, f"chart {chart_id} missing; have {[c['id'] for c in man['charts']]}")
        return found[0]

    def series(self, panel, label_prefix=None, gid=None):
        s = panel["series"]
        if gid is not None:
            s = [x for x in s if x["gid"] == gid]
        return s

    def assert_budget(self, panel, value=10.0):
        b = [ln for ln in panel["lines"] if ln["gid"] == "budget"]
        self.assertEqual(len(b), 1, f"panel {panel['title']} has no budget line")
        self.assertAlmostEqual(b[0]["at"], value)

    def assert_files(self, man, chart, png=False):
        for kind in ("svg",) + (("png",) if png else ()):
            p = os.path.join(man["dir"], chart["files"][kind])
            self.assertTrue(os.path.getsize(p) > 1000, p)
        with open(os.path.join(man["dir"], chart["files"]["svg"])) as f:
            svg = f.read()
        self.assertIn("<svg", svg)
        self.assertIn(chart["title"].split(":")[0], svg)


class LayoutRun(ReportCase):
    """The committed layout run (3 repetitions): 4 workloads x 3 variants x 5 sizes."""

    @classmethod
    def setUpClass(cls):
        cls.case = ReportCase()
        cls.case.setUp()
        cls.code, cls.out, cls.err, cls.man = cls.case.run_report(os.path.join(DATA, "layout_rep3.json"), png=True)

    @classmethod
    def tearDownClass(cls):
        cls.case.tearDown()

    def test_exit_and_message(self):
        self.assertEqual(self.code, 0, self.err)
        self.assertIn("Report: ", self.out)

    def test_bars(self):
        c = self.chart(self.man, "bars_layout")
        self.assertEqual([p["title"] for p in c["panels"]],
                         ["workload seq_64B", "workload rand_64B", "workload seq_312B", "workload rand_312B"])
        for p in c["panels"]:
            self.assertEqual([s["gid"] for s in p["series"]], ["series:soa", "series:hotcold", "series:aos"])
            self.assertEqual([s["label"] for s in p["series"]], ["soa (optimised)", "hotcold (optimised)", "aos (naive)"])
            for s in p["series"]:
                self.assertEqual(s["n"], 5)
                self.assertEqual(s["categories"], ["16KiB", "256KiB", "4MiB", "64MiB", "256MiB"])
                self.assertTrue(all(v > 0 for v in s["values"]))
            self.assert_budget(p)
            self.assertIn("ns per element", p["ylabel"])
        # The bars carry the medians from the file.
        res = cr.load(os.path.join(DATA, "layout_rep3.json"))
        aos = {r.size_label: r.ns_per_op for r in res.rows if r.variant == "aos" and r.workload == "rand_64B"}
        p = c["panels"][1]
        s = self.series(p, gid="series:aos")[0]
        for lab, v in zip(s["categories"], s["values"]):
            self.assertAlmostEqual(v, aos[lab], places=6)
        self.assertEqual(p["yscale"], "log")  # 4 to 270 ns: a wide range
        self.assertTrue(c["caption"] and c["title"])
        self.assert_files(self.man, c, png=True)

    def test_sweep(self):
        c = self.chart(self.man, "sweep_layout")
        self.assertEqual(len(c["panels"]), 4)
        for p in c["panels"]:
            lines = [s for s in p["series"] if s["type"] == "line"]
            self.assertEqual(len(lines), 3)
            for s in lines:
                self.assertEqual(s["n"], 5)
                self.assertEqual(s["x"], sorted(s["x"]))
            self.assertEqual(sorted(ln["gid"] for ln in p["lines"] if ln["gid"].startswith("cache:")),
                             ["cache:L1d", "cache:L2", "cache:L3"])
            self.assertEqual({ln["at"] for ln in p["lines"] if ln["gid"] == "cache:L2"}, {2097152})
            self.assert_budget(p)
            self.assertIn("working set", p["xlabel"])
            self.assertEqual(p["xscale"], "log")
        self.assert_files(self.man, c, png=True)

    def test_no_charts_without_data(self):
        kinds = {c["kind"] for c in self.man["charts"]}
        self.assertEqual(kinds, {"findings", "bars", "sweep"})  # no counters, no calibration, one host
        self.assertFalse(any(c["id"] == "bars_harness" for c in self.man["charts"]))

    def test_html_is_self_contained(self):
        with open(os.path.join(self.man["dir"], "report.html")) as f:
            page = f.read()
        for c in self.man["charts"]:
            self.assertIn(f"id='{c['id']}'", page)
        self.assertEqual(page.count("data:image/webp;base64,"), len(self.man["charts"]))
        self.assertNotIn("<script", page)
        self.assertIn("Intel(R) Xeon(R) Processor", page)
        self.assertIn("not available", page)  # PMU
        self.assertIn("within the budget of 10 ns/op", page)


class ReferenceResults(ReportCase):
    """Whatever is committed under results/reference/: every family gets its
    bars, with the series the data asks for (computed here independently)."""

    def test_reference(self):
        ref = os.path.join(ROOT, "results", "reference")
        files = sorted(f for f in os.listdir(ref) if f.endswith(".json")) if os.path.isdir(ref) else []
        self.assertTrue(files, "no reference result committed under results/reference/")
        path = os.path.join(ref, files[0])
        code, out, err, man = self.run_report(path)
        self.assertEqual(code, 0, err)
        with open(path) as f:
            doc = json.load(f)
        expect = {}  # family -> workload -> variant -> {sizes}
        for e in doc["benchmarks"]:
            ct = e.get("cachetick") or {}
            if ct.get("ns_per_op") is None:
                continue
            expect.setdefault(ct["family"], {}).setdefault(ct["workload"], {}).setdefault(
                ct["variant"], set()).add(ct["size_label"])
        for fam, wls in expect.items():
            if sum(len(sz) for v in wls.values() for sz in v.values()) < 2:
                self.assertFalse([c for c in man["charts"] if c["id"] == f"bars_{report.slug(fam)}"])
                continue  # a single benchmark (the harness's empty loop) is a table row only
            c = self.chart(man, f"bars_{report.slug(fam)}")
            self.assertEqual([p["title"] for p in c["panels"]], [f"workload {w}" for w in wls])
            for p, (w, variants) in zip(c["panels"], wls.items()):
                got = {s["gid"][len("series:"):]: s["n"] for s in p["series"] if s["type"] == "bars"}
                self.assertEqual(got, {v: len(sz) for v, sz in variants.items()}, f"{fam}/{w}")
                self.assert_budget(p, doc["cachetick"]["options"]["budget_ns"])
        # A full suite: one page under 3 MB, no chart over the height cap, readable findings.
        self.assertLess(os.path.getsize(os.path.join(man["dir"], "report.html")), 3_000_000)
        for c in man["charts"]:
            self.assertLessEqual(c["figsize"][1], cs.MAX_FIG_H, c["id"])
        with_ref = {e["cachetick"]["family"] for e in doc["benchmarks"] if e["cachetick"].get("role") == "optimised"}
        finds = {c["family"]: c for c in man["charts"] if c["kind"] == "findings"}
        self.assertEqual(set(finds), with_ref)
        for c in finds.values():
            self.assertEqual(c["overlaps"], [], c["id"])
            self.assertTrue(c["sentence"].endswith("(ratios of medians, unpaired)."), c["sentence"])


class PlainGoogleBenchmark(ReportCase):
    def test_foreign_file(self):
        code, out, err, man = self.run_report(os.path.join(DATA, "gbench_plain.json"))
        self.assertEqual(code, 0, err)
        self.assertIn("BM_StringCopy", err)  # the size-less benchmark is named in a warning
        bars = self.chart(man, "bars_gb")
        (p,) = bars["panels"]
        got = {s["label"]: s["n"] for s in p["series"]}
        self.assertEqual(got, {"BM_memcpy": 5, "BM_vector_sum": 5, "BM_StringCopy": 1})
        self.assertEqual(self.series(p, gid="series:BM_memcpy")[0]["categories"],
                         ["64", "512", "4096", "32768", "262144"])
        self.assertFalse([ln for ln in p["lines"] if ln["gid"] == "budget"])  # no budget in a foreign file
        self.assertIn("ns per iteration", p["ylabel"])
        sweep = self.chart(man, "sweep_gb")
        (p,) = sweep["panels"]
        self.assertEqual(sorted((s["label"], s["n"]) for s in p["series"]), [("BM_memcpy", 5), ("BM_vector_sum", 5)])
        self.assertFalse([ln for ln in p["lines"] if ln["gid"].startswith("cache:")])  # arguments are not bytes
        self.assertIn("size argument", p["xlabel"])
        counters = [c for c in man["charts"] if c["kind"] == "counters"]
        self.assertEqual(len(counters), 1)
        self.assertEqual([q["title"] for q in counters[0]["panels"]], ["time (ns per iteration)", "elements"])


class Counters(ReportCase):
    def test_counters_beside_time(self):
        rows = [(f, v, r, w, lab, ws, ns, {"allocs_per_op": 0.0 if v == "ct_l1" else 1.0,
                                           "page-faults": 0.001, "peak_heap_bytes": 4096})
                for f, v, r, w, lab, ws, ns, _ in HASH_ROWS]
        code, out, err, man = self.run_report(self.write("c.json", make_doc(rows, reps=3)))
        self.assertEqual(code, 0, err)
        for wl in ("hit", "miss"):
            c = self.chart(man, f"counters_hash_{wl}")
            self.assertEqual([p["title"] for p in c["panels"]], ["time (ns per lookup)", "allocs_per_op", "page-faults"])
            for p in c["panels"]:
                self.assertEqual(len(p["series"]), 4)
                self.assertTrue(all(s["n"] == 4 for s in p["series"]))
            self.assert_budget(c["panels"][0])
            self.assertFalse([ln for ln in c["panels"][1]["lines"] if ln["gid"] == "budget"])
            zero = self.series(c["panels"][1], gid="series:ct_l1")[0]
            self.assertEqual(zero["values"], [0.0] * 4)  # a real zero is drawn as zero
        bars = self.chart(man, "bars_hash")
        p = bars["panels"][0]
        self.assertEqual([s["label"] for s in p["series"]],
                         ["ct_l1 (optimised)", "naive (naive)", "std_unordered_map (peer)", "absl_flat_hash_map (peer)"])
        self.assertEqual(p["yscale"], "log")  # 1.2 to 120 ns

    def test_missing_counter_is_not_zero(self):
        rows = [(f, v, r, w, lab, ws, ns, {"l1d-misses": 1.0} if v != "naive" else None)
                for f, v, r, w, lab, ws, ns, _ in HASH_ROWS]
        code, out, err, man = self.run_report(self.write("c.json", make_doc(rows)))
        self.assertEqual(code, 0, err)
        p = self.chart(man, "counters_hash_hit")["panels"][1]
        self.assertEqual(sorted(s["gid"] for s in p["series"]),
                         ["series:absl_flat_hash_map", "series:ct_l1", "series:std_unordered_map"])

    def test_shared_core_is_a_column_and_a_warning_not_a_chart(self):
        rows = [(f, v, r, w, lab, ws, ns, {"core_share": 0.5 if v == "ct_l1" else 0.97, "page-faults": 0.001})
                for f, v, r, w, lab, ws, ns, _ in HASH_ROWS]
        code, out, err, man = self.run_report(self.write("c.json", make_doc(rows, reps=3)))
        self.assertEqual(code, 0, err)
        titles = [p["title"] for p in self.chart(man, "counters_hash_hit")["panels"]]
        self.assertNotIn("core_share", titles)
        with open(os.path.join(self.tmp, "out", "report.html")) as f:
            page = f.read()
        self.assertIn("8 of 32 rows ran with less than 80% of the core", page)
        self.assertIn("<td class=n>50%!</td>", page)
        self.assertIn("<td class=n>97%</td>", page)


class RealCounterAndCalibrationRuns(ReportCase):
    """Files written by the counter (PAPI software events, allocations) and the
    calibration work in progress: quick layout runs, 3 sizes up to 4 MiB."""

    def test_counters_file(self):
        code, out, err, man = self.run_report(os.path.join(DATA, "counters_layout_quick.json"))
        self.assertEqual(code, 0, err)
        for wl in ("seq_64B", "rand_64B", "seq_312B", "rand_312B"):
            c = self.chart(man, f"counters_layout_{wl}")
            self.assertEqual([p["title"] for p in c["panels"]],
                             ["time (ns per element)", "context-switches", "page-faults", "alloc_bytes_per_op", "allocs_per_op"])
            for p in c["panels"]:
                self.assertEqual([(s["gid"], s["n"]) for s in p["series"]],
                                 [("series:soa", 3), ("series:hotcold", 3), ("series:aos", 3)])
            self.assert_budget(c["panels"][0])
        with open(os.path.join(man["dir"], "report.html")) as f:
            page = f.read()
        self.assertIn("<code>page-faults</code>", page)

    def test_calibration_file(self):
        path = os.path.join(DATA, "calibrated_layout_quick.json")
        with open(path) as f:
            cal = json.load(f)["cachetick"]["calibration"]
        code, out, err, man = self.run_report(path)
        self.assertEqual(code, 0, err)
        lat, bw = self.chart(man, "calibration")["panels"]
        self.assertEqual([(s["gid"], s["n"]) for s in lat["series"]],
                         [("series:latency:ns", len(cal["latency"]["points"]))])
        self.assertEqual([(s["gid"], s["n"]) for s in bw["series"]],
                         [("series:bandwidth:read_gb_per_s", len(cal["bandwidth"]["points"])),
                          ("series:bandwidth:write_gb_per_s", len(cal["bandwidth"]["points"]))])
        for p in (lat, bw):
            self.assertEqual(sorted(ln["gid"] for ln in p["lines"] if ln["gid"].startswith("cache:")),
                             ["cache:L1d", "cache:L2", "cache:L3"])
        with open(os.path.join(man["dir"], "report.html")) as f:
            self.assertIn("Estimated core clock", f.read())


class Calibration(ReportCase):
    CAL = {"kind": "cachetick calibration",
           "latency": {"unit": "ns per load", "points": [{"bytes": 4096 << i, "ns": v, "ticks": v * 2}
                                                          for i, v in enumerate([1.1, 1.1, 1.2, 4, 4, 5, 14, 15, 90, 120])]},
           "bandwidth": {"unit": "GB/s", "points": [{"bytes": 4096 << i, "read_gb_per_s": 200 / (1 + i), "write_gb_per_s": 90 / (1 + i),
                                                     "read_best_gb_per_s": 1} for i in range(10)]},
           "levels": [{"name": "L1", "boundary_bytes": 49152, "separated": True},
                      {"name": "L2", "boundary_bytes": 2 << 20, "separated": True}, {"name": "L3", "separated": False}]}

    def test_curves(self):
        doc = make_doc(HASH_ROWS, extra_ct={"calibration": self.CAL})
        code, out, err, man = self.run_report(self.write("cal.json", doc))
        self.assertEqual(code, 0, err)
        c = self.chart(man, "calibration")
        lat, bw = c["panels"]
        self.assertEqual([(s["gid"], s["n"]) for s in lat["series"]], [("series:latency:ns", 10)])
        self.assertEqual(sorted((s["gid"], s["n"]) for s in bw["series"]),
                         [("series:bandwidth:read_gb_per_s", 10), ("series:bandwidth:write_gb_per_s", 10)])
        for p in (lat, bw):
            gids = [ln["gid"] for ln in p["lines"]]
            # 4 KiB to 2 MiB measured: L3 (32 MiB) lies beyond the curve and is not drawn.
            self.assertEqual(sorted(g for g in gids if g.startswith("cache:")), ["cache:L1d", "cache:L2"])
            self.assertEqual(sorted(g for g in gids if g.startswith("boundary:")), ["boundary:L1", "boundary:L2"])
        self.assertEqual(lat["yscale"], "log")

    # Format 3: levels against the known hierarchy, other steps apart, and a
    # multi-stream read curve.
    CAL3 = dict(CAL, hierarchy={"source": "sysfs", "known": True,
                                "known_levels": [{"name": "L1d", "bytes": 49152}, {"name": "L2", "bytes": 2 << 20}]},
                levels=[{"name": "L1d", "known_bytes": 49152, "boundary_bytes": 49152, "separated": True, "latency_ns": 1.1,
                         "read_gb_per_s": 200, "read_multi_gb_per_s": 210},
                        {"name": "L2", "known_bytes": 2 << 20, "boundary_bytes": 1 << 20, "separated": True},
                        {"name": "DRAM", "known_bytes": None, "separated": True, "latency_ns": 120}],
                steps=[{"kind": "tlb_reach", "name": "TLB reach (4 KiB pages x 64 entries)", "edge_bytes": 256 << 10,
                        "spill_bytes": 384 << 10, "below_ns": 4, "above_ns": 5.2, "note": "a TLB covers 64 x 4 KiB pages"},
                       {"kind": "page_walks", "name": "page walks", "edge_bytes": 1 << 30, "below_ns": 120, "above_ns": 190}],
                bandwidth={"unit": "GB/s", "points": [{"bytes": 4096 << i, "read_gb_per_s": 200 / (1 + i),
                                                       "read_multi_gb_per_s": 230 / (1 + i), "write_gb_per_s": 90 / (1 + i),
                                                       "read_multi": {"streams": 4, "by_streams": {"2": 1, "4": 230 / (1 + i)}}}
                                                      for i in range(10)]})

    def test_steps_are_not_drawn_as_cache_edges(self):
        doc = make_doc(HASH_ROWS, extra_ct={"calibration": self.CAL3})
        code, out, err, man = self.run_report(self.write("cal.json", doc))
        self.assertEqual(code, 0, err)
        lat, bw = self.chart(man, "calibration")["panels"]
        gids = lambda p, pre: sorted(ln["gid"] for ln in p["lines"] if ln["gid"].startswith(pre))
        for p in (lat, bw):
            self.assertEqual(gids(p, "boundary:"), ["boundary:L1d", "boundary:L2"])
        # The TLB step lies on the curve (4 KiB..2 MiB) and is drawn on the latency
        # panel only; the page-walk step at 1 GiB lies beyond it.
        self.assertEqual(gids(lat, "step:"), ["step:tlb_reach:262144"])
        self.assertEqual(gids(bw, "step:"), [])
        self.assertEqual(sorted(s["gid"] for s in bw["series"]),
                         ["series:bandwidth:read_gb_per_s", "series:bandwidth:read_multi_gb_per_s",
                          "series:bandwidth:write_gb_per_s"])
        with open(os.path.join(man["dir"], "report.html")) as f:
            page = f.read()
        self.assertIn("TLB reach (4 KiB pages x 64 entries)", page)
        self.assertIn("<th>size (sysfs)</th>", page)
        self.assertIn("<td class=n>210</td>", page)  # L1d read, 2-8 streams

    def test_unknown_hierarchy_names_no_level(self):
        cal = dict(self.CAL3, hierarchy={"source": "unknown", "known": False, "known_levels": []}, levels=[],
                   steps=[{"kind": "unnamed", "name": "step 1", "edge_bytes": 49152, "below_ns": 1.1, "above_ns": 4}])
        doc = make_doc(HASH_ROWS, extra_ct={"calibration": cal})
        code, out, err, man = self.run_report(self.write("cal.json", doc))
        self.assertEqual(code, 0, err)
        lat, bw = self.chart(man, "calibration")["panels"]
        self.assertEqual([ln["gid"] for ln in lat["lines"] if ln["gid"].startswith(("boundary:", "step:"))],
                         ["step:unnamed:49152"])
        with open(os.path.join(man["dir"], "report.html")) as f:
            page = f.read()
        self.assertIn("Cache levels unknown", page)
        self.assertIn("<td>step 1</td>", page)

    def test_unknown_shape_is_skipped(self):
        doc = make_doc(HASH_ROWS, extra_ct={"calibration": {"something": [1, 2, 3]}})
        code, out, err, man = self.run_report(self.write("cal.json", doc))
        self.assertEqual(code, 0, err)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "calibration"])
        with open(os.path.join(man["dir"], "report.html")) as f:
            self.assertIn("in a shape this report does not chart", f.read())


class Baseline(ReportCase):
    def docs(self, reps, slower=1.5, faster=0.7):
        base = make_doc(HASH_ROWS, reps=reps, seed=1)
        rows = []
        for f, v, r, w, lab, ws, ns, c in HASH_ROWS:
            if (v, w, lab) == ("ct_l1", "hit", "65536"):
                ns *= slower
            if (v, w, lab) == ("naive", "miss", "4096"):
                ns *= faster
            rows.append((f, v, r, w, lab, ws, ns, c))
        new = make_doc(rows, reps=reps, seed=2)
        return self.write("base.json", base), self.write("new.json", new)

    def test_regression_marked(self):
        base, new = self.docs(reps=5)
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        self.assertIn("1 significant regression(s): hash/ct_l1/hit/65536", out)
        c = self.chart(man, "compare_hash")
        (p,) = c["panels"]
        by = {s["gid"]: s for s in p["series"]}
        # Only the significant changes are drawn; the unchanged are counted and tabled.
        self.assertEqual(set(by), {"series:regression", "series:improvement"})
        self.assertEqual(by["series:regression"]["categories"], ["hash/ct_l1/hit/65536"])
        self.assertAlmostEqual(by["series:regression"]["values"][0], 50, delta=3)
        self.assertEqual(by["series:improvement"]["categories"], ["hash/naive/miss/4096"])
        self.assertIn("Mann-Whitney", c["caption"])
        self.assertEqual(c["overlaps"], [])
        page = self.page(man)
        self.assertRegex(page, r"<td><a href='#compare_hash'>hash</a></td><td class='n reg'>1</td>"
                               r"<td class='n imp'>1</td><td class=n>30</td><td class=n>0</td>")
        self.assertIn(f"all {len(HASH_ROWS)} benchmarks compared, as a table", page)

    def test_shared_core_row_is_not_judged(self):
        # The slowed row ran beside a busy SMT sibling in the new run: shown, not a regression.
        base = make_doc(HASH_ROWS, reps=5, seed=1)
        rows = [(f, v, r, w, lab, ws, ns * 1.5 if (v, w, lab) == ("ct_l1", "hit", "65536") else ns,
                 {"core_share": 0.5} if (v, w, lab) == ("ct_l1", "hit", "65536") else {"core_share": 1.0})
                for f, v, r, w, lab, ws, ns, _ in HASH_ROWS]
        code, out, err, man = self.run_report(self.write("new.json", make_doc(rows, reps=5, seed=2)),
                                              "--baseline", self.write("base.json", base))
        self.assertEqual(code, 0, err)
        self.assertIn("0 significant regression(s)", out)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "compare"])  # nothing significant to draw
        page = self.page(man)
        self.assertIn("1 not judged (shared core)", page)
        self.assertIn("No significant change in any family", page)

    def test_three_repetitions_cannot_be_significant(self):
        base, new = self.docs(reps=3)
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "compare"])
        page = self.page(man)
        self.assertIn("smallest possible p is 0.1", page)
        # Counted as the gate counts them: not judged, never "unchanged".
        self.assertIn(f"0 unchanged (no difference shown), {len(HASH_ROWS)} not enough samples to judge", page)
        self.assertEqual({c["status"] for c in man["comparison"]}, {"untested"})

    def test_single_runs_are_not_tested(self):
        base, new = self.docs(reps=1)
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "compare"])
        self.assertIn(f"{len(HASH_ROWS)} not enough samples to judge", self.page(man))

    def test_deterministic_counts(self):
        def sim(mult):
            rows = [(f, v, r, w, lab, ws, None, {"est_cycles_per_op": 10.0 * (mult if v == "naive" and lab == "4096" else 1),
                                                 "instructions_per_op": 7.0})
                    for f, v, r, w, lab, ws, ns, _ in HASH_ROWS]
            return make_doc(rows, backend="sim")
        base, new = self.write("b.json", sim(1.0)), self.write("n.json", sim(1.02))
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        (p,) = self.chart(man, "compare_hash")["panels"]
        by = {s["gid"]: s for s in p["series"]}
        self.assertEqual(sorted(by["series:regression"]["categories"]), ["hash/naive/hit/4096", "hash/naive/miss/4096"])
        self.assertIn("est cycles per op", p["xlabel"])
        # A sim result has no time: no time bars, counters charts without a time panel.
        self.assertFalse([c for c in man["charts"] if c["kind"] in ("bars", "sweep")])
        c = self.chart(man, "counters_hash_hit")
        self.assertEqual([q["title"] for q in c["panels"]], ["est_cycles_per_op", "instructions_per_op"])

    def test_many_changes_chart_stays_compact(self):
        """300 benchmarks, 60 of them changed: the chart shows the 30 largest, largest first."""
        rows = [("big", f"v{v}", "peer", f"w{w}", str(1 << s), 1 << s, 2.0 + v, None)
                for v in range(10) for w in range(6) for s in range(5)]
        base = make_doc(rows, reps=5, seed=1)
        changed = [r[:6] + (r[6] * (1.1 + 0.02 * i if i % 5 == 0 else 1),) + r[7:] for i, r in enumerate(rows)]
        code, out, err, man = self.run_report(self.write("n.json", make_doc(changed, reps=5, seed=2)),
                                              "--baseline", self.write("b.json", base))
        self.assertEqual(code, 0, err)
        c = self.chart(man, "compare_big")
        self.assertIn("the 30 largest of 60 significant changes", c["title"])
        (p,) = c["panels"]
        vals = [v for s in p["series"] for v in s["values"]]
        self.assertEqual(len(vals), 30)
        self.assertEqual(vals, sorted(vals, reverse=True))  # one status here: the bars in drawing order
        self.assertLessEqual(c["figsize"][1], cs.MAX_FIG_H)
        self.assertEqual(c["overlaps"], [])

    def test_two_machines_judge_no_timing(self):
        """Baseline from another CPU: the page says so first, and no timing is
        judged however much it moved (as the gate: verdict.machine_differences);
        --judge-across-machines judges them."""
        base = self.write("intel.json", make_paired_doc(hash_groups(), cpu="Intel(R) Xeon(R) Processor 5950"))
        new = self.write("zen5.json", make_paired_doc(hash_groups(scale=1.3), cpu="AMD EPYC", seed=4))
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        self.assertIn("0 significant regression(s)", out)
        self.assertEqual({c["status"] for c in man["comparison"]}, {"other machine"})
        self.assertEqual(man["machines_differ"], [["CPU model", "Intel(R) Xeon(R) Processor 5950", "AMD EPYC"]])
        self.assertFalse([c for c in man["charts"] if c["kind"] == "compare"])
        page = self.page(man)
        first = page.index("<div class=bad id=machines-differ>")
        self.assertLess(first, page.index("<h2 id=findings>"))  # before anything else is said
        self.assertIn("CPU model: baseline Intel(R) Xeon(R) Processor 5950, new AMD EPYC", page[first:])
        self.assertIn(f"{len(man['comparison'])} not judged (different machines)", page)
        # What carries across machines: the paired ratios to the reference (absl's, 1.3x, moved; no other).
        self.assertIn("32 rows were paired in both files: 8 ratio(s) to the group's reference moved", page)
        self.assertIn("<tr><td>hash/absl_flat_hash_map/miss/16M</td><td>vs ct: 0.8", page)
        # Asked to, it judges them: absl is 1.3x slower at every hash size but the 1M/16M misses' 0.8x -> 1.04x.
        code, out, err, man = self.run_report(new, "--baseline", base, "--judge-across-machines")
        self.assertEqual(code, 0, err)
        judged = {c["name"]: c["status"] for c in man["comparison"]}
        self.assertEqual(judged["hash/absl_flat_hash_map/hit/4096"], "regression")
        self.assertEqual(judged["hash/ct/hit/4096"], "unchanged")
        self.assertIn("Timings are judged anyway", self.page(man))

    def test_same_machine_says_nothing_of_machines(self):
        base = self.write("a.json", make_paired_doc(hash_groups()))
        new = self.write("b.json", make_paired_doc(hash_groups(), seed=5))
        code, out, err, man = self.run_report(new, "--baseline", base)
        self.assertEqual(code, 0, err)
        self.assertEqual(man["machines_differ"], [])
        self.assertNotIn("id=machines-differ", self.page(man))
        self.assertIn("32 rows were paired in both files: 0 ratio(s) to the group's reference moved", self.page(man))
        self.assertNotIn("other machine", {c["status"] for c in man["comparison"]})

    def test_margin_is_the_gates(self):
        # A 4% slowdown over 14 rounds a side: beyond the gate's 3% margin, within a 5% one.
        base = self.write("a.json", make_paired_doc(hash_groups(), noise=0.002))
        new = self.write("b.json", make_paired_doc(hash_groups(scale=1.04), seed=5, noise=0.002))
        name = "hash/absl_flat_hash_map/hit/4096"
        for extra, want in (((), "regression"), (("--margin", "0.05"), "unchanged"),
                            (("--min-change", "5"), "unchanged")):
            code, out, err, man = self.run_report(new, "--baseline", base, *extra)
            self.assertEqual(code, 0, err)
            self.assertEqual({c["name"]: c["status"] for c in man["comparison"]}[name], want, extra)
        self.assertEqual(self.run_report(new, "--baseline", base, "--margin", "1.5")[0], 2)

    def test_nothing_in_common(self):
        other = make_doc([("sort", "pdq", "peer", "rand", "4K", 16384, 5.0, None),
                          ("sort", "pdq", "peer", "rand", "1M", 4 << 20, 9.0, None)])
        code, out, err, man = self.run_report(self.write("new.json", make_doc(HASH_ROWS)), "--baseline",
                                              self.write("other.json", other))
        self.assertEqual(code, 2)
        self.assertIn("no benchmark in common", err)


class Hosts(ReportCase):
    def test_side_by_side(self):
        a = self.write("a.json", make_doc(HASH_ROWS, host="target"))
        half = [r for r in HASH_ROWS if r[3] == "hit"]
        # The laptop is 2x slower everywhere and absl beats ct_l1 there: absolute times would hide that.
        b = self.write("b.json", make_doc([(f, v, r, w, lab, ws, ns * 2 * (0.3 if v == "absl_flat_hash_map" else 1), c)
                                           for f, v, r, w, lab, ws, ns, c in half], host="laptop"))
        code, out, err, man = self.run_report(a, b)
        self.assertEqual(code, 0, err)
        c = self.chart(man, "hosts_hash")
        self.assertEqual(c["hosts"], ["target (Test of target)", "laptop (Test of laptop)"])
        self.assertEqual(len(c["panels"]), 2)  # only "hit" is on both machines: one panel per machine
        self.assertEqual(c["overlaps"], [])
        res = [cr.load(a), cr.load(b)]
        for p, r in zip(c["panels"], res):
            self.assertEqual(p["xscale"], "log")
            self.assertEqual([ln["at"] for ln in p["lines"] if ln["gid"] == "reference"], [1.0])
            ns = {(x.variant, x.size_label): x.ns_per_op for x in r.rows if x.workload == "hit"}
            absl = [s for s in p["series"] if s["gid"].startswith("series:absl_flat_hash_map")]
            got = sorted(x for s in absl for x in s["x"])
            want = sorted(ns[("absl_flat_hash_map", lab)] / ns[("ct_l1", lab)] for lab in ("4096", "65536", "1M", "16M"))
            for g, w in zip(got, want):
                self.assertAlmostEqual(g, w, places=9)
        self.assertIn("Test CPU of laptop", self.page(man))  # both machines in the header

    def test_labels_never_overlap(self):
        """Long host names, many variants and sizes, three machines: measured, not hoped."""
        groups = hash_groups() + [("hash", "erase", lab, ws, 2.0, [("ct", "optimised", 1.0)] + [
            (f"peer_with_a_long_name_{i}", "peer", 1 + i / 5) for i in range(9)])
            for lab, ws in (("4096", 32768), ("65536", 524288), ("1M", 8 << 20), ("16M", 128 << 20), ("64M", 1 << 29))]
        files = [self.write(f"{h}.json", make_paired_doc(groups, host=h, seed=i, cpu=f"Intel(R) Xeon(R) Platinum 8480+ {h}"))
                 for i, h in enumerate(("a-very-long-ci-runner-hostname-01", "laptop", "zen5-guest"))]
        code, out, err, man = self.run_report(*files)
        self.assertEqual(code, 0, err)
        for c in man["charts"]:
            if c["kind"] in ("hosts", "findings"):
                self.assertEqual(c["overlaps"], [], c["id"])
                self.assertLessEqual(c["figsize"][1], cs.MAX_FIG_H)

    def test_merge(self):
        half1 = [r for r in HASH_ROWS if r[3] == "hit"]
        half2 = [r for r in HASH_ROWS if r[3] == "miss"]
        a, b = self.write("a.json", make_doc(half1)), self.write("b.json", make_doc(half2))
        code, out, err, man = self.run_report(a, b, "--merge")
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.chart(man, "bars_hash")["panels"]), 2)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "hosts"])


class Findings(ReportCase):
    """The page opens with the paired verdicts: a forest plot and a sentence per family."""

    def test_paired_forest_and_sentence(self):
        path = self.write("paired.json", make_paired_doc(hash_groups()))
        code, out, err, man = self.run_report(path)
        self.assertEqual(code, 0, err)
        c = self.chart(man, "findings_hash")
        self.assertTrue(c["paired"])
        self.assertEqual(c["overlaps"], [])
        self.assertEqual(len(c["findings"]), 8 * 4)  # 8 groups, 4 variants beside the reference
        res = cr.load(path)
        by = {(f["workload"], f["size_label"], f["variant"]): f for f in c["findings"]}
        for r in res.rows:
            if r.paired is None:
                self.assertEqual(r.variant, "ct")
                continue
            f = by[(r.workload, r.size_label, r.variant)]
            self.assertEqual((f["ratio"], f["lo"], f["hi"], f["verdict"], f["reference"]),
                             (r.paired.ratio, r.paired.lo, r.paired.hi, r.paired.verdict, "ct"))
        self.assertEqual(by[("miss", "16M", "absl_flat_hash_map")]["verdict"], "faster")
        self.assertEqual(by[("hit", "16M", "absl_flat_hash_map")]["verdict"], "slower")
        self.assertEqual(by[("hit", "4096", "ct_scalar")]["verdict"], "no_difference")
        self.assertRegex(c["sentence"],
                         r"^ct is faster than every rival in 6 of 8 workload/size groups \(closest rival 1\.[45](-1\.[56])?x "
                         r"slower\); beaten by absl_flat_hash_map on miss at 1M, 16M \([0-9.-]+x faster\); "
                         r"reference point ct_scalar: no difference shown in 8 group\(s\)\.$")
        self.assertRegex(c["sentence"], r"at 1M, 16M \(1\.2(-1\.3)?x faster\)")
        # Drawn: one panel per workload, log ratio axis, a line at 1, the points at the file's ratios.
        self.assertEqual([p["title"] for p in c["panels"]], ["workload hit", "workload miss"])
        for p in c["panels"]:
            self.assertEqual(p["xscale"], "log")
            self.assertEqual([ln["at"] for ln in p["lines"] if ln["gid"] == "reference"], [1.0])
        std = [s for s in c["panels"][0]["series"] if s["gid"] == "series:std_unordered_map"][0]
        self.assertEqual(sorted(std["x"]), sorted(by[("hit", lab, "std_unordered_map")]["ratio"]
                                                  for lab in ("4096", "65536", "1M", "16M")))
        hollow = [s for s in c["panels"][0]["series"] if s["gid"] == "series:ct_scalar:no_difference"]
        self.assertEqual(hollow[0]["n"], 4)
        # Findings come first: before any warning box and the index.
        page = self.page(man)
        self.assertLess(page.index("<h2 id=findings>"), page.index("<details class=index>"))
        self.assertLess(page.index(c["sentence"].replace("'", "&#x27;")[:40]), page.index("<h2 id=machine>"))
        self.assertNotIn("unpaired", page[:page.index("<h2 id=machine>")])

    def test_real_shape_median_entry_only(self):
        """The backend's real shape: one entry per round, aggregates, the paired
        block on the median entry only (with rounds_run, every_round...): the
        findings are that block's, the samples the rounds."""
        drop = {"hash/naive/miss/16M": (12, 14, "slower"),                   # 2 disturbed rounds dropped
                "hash/ct_scalar/hit/4096": (11, 14, "slower")}               # and the verdict would differ
        doc = real_shape(make_paired_doc(hash_groups()), drop)
        blocks = {e["run_name"]: e["cachetick"]["paired"] for e in doc["benchmarks"] if "paired" in e["cachetick"]}
        self.assertTrue(all(e.get("aggregate_name") == "median" for e in doc["benchmarks"]
                            if "paired" in e["cachetick"]))
        self.assertEqual(len(blocks), 8 * 4)
        path = self.write("real.json", doc)
        res = cr.load(path)
        for r in res.rows:
            entries = [e for e in doc["benchmarks"] if e["run_name"] == r.name]
            self.assertEqual(r.samples, [e["cachetick"]["ns_per_op"] for e in entries if e["run_type"] == "iteration"])
            self.assertEqual(len(r.samples), 14)
            self.assertEqual(r.ns_per_op, [e for e in entries if e.get("aggregate_name") == "median"][0]
                             ["cachetick"]["ns_per_op"])
            self.assertEqual(r.paired is None, r.variant == "ct")
        naive = next(r for r in res.rows if r.name == "hash/naive/miss/16M").paired
        self.assertEqual((naive.rounds, naive.rounds_run, naive.preempted_rounds, naive.disturbed_changes_verdict),
                         (12, 14, 2, False))
        code, out, err, man = self.run_report(path)
        self.assertEqual(code, 0, err)
        c = self.chart(man, "findings_hash")
        self.assertTrue(c["paired"])
        self.assertEqual(len(c["findings"]), 8 * 4)
        for f in c["findings"]:
            b = blocks[f"hash/{f['variant']}/{f['workload']}/{f['size_label']}"]
            self.assertEqual((f["ratio"], f["lo"], f["hi"], f["verdict"], f["reference"], f["rounds"], f["rounds_run"]),
                             (b["ratio"], b["lo"], b["hi"], b["verdict"], "ct", b["rounds"], b["rounds_run"]))
        # The verdict drawn is the block's own (not every_round's): ct_scalar hollow at all 4 hit sizes.
        hit = c["panels"][0]
        self.assertEqual([s["n"] for s in hit["series"] if s["gid"] == "series:ct_scalar:no_difference"], [4])
        self.assertFalse([s for s in hit["series"] if s["gid"] == "series:ct_scalar"])
        filled = {s["gid"]: s for s in hit["series"]}["series:std_unordered_map"]
        self.assertEqual(sorted(filled["x"]), sorted(blocks[f"hash/std_unordered_map/hit/{lab}"]["ratio"]
                                                     for lab in ("4096", "65536", "1M", "16M")))
        page = self.page(man)
        self.assertIn("<td class=n>12 of 14</td>", page)
        self.assertIn("<td class=n>11 of 14</td>", page)

    def test_sentence_when_the_reference_wins(self):
        groups = [g[:5] + ([v for v in g[5] if v[0] != "ct_scalar"],) for g in hash_groups(big_absl=1.3)]
        code, out, err, man = self.run_report(self.write("p.json", make_paired_doc(groups)))
        self.assertEqual(code, 0, err)
        self.assertRegex(self.chart(man, "findings_hash")["sentence"],
                         r"^ct is faster than every rival in 8 of 8 workload/size groups "
                         r"\(closest rival 1\.[23]-1\.[56]x slower\)\.$")

    def test_unpaired_fallback(self):
        code, out, err, man = self.run_report(self.write("old.json", make_doc(HASH_ROWS, reps=3)))
        self.assertEqual(code, 0, err)
        c = self.chart(man, "findings_hash")
        self.assertFalse(c["paired"])
        self.assertTrue(c["sentence"].endswith("(ratios of medians, unpaired)."))
        self.assertIn("unpaired", c["caption"])
        f = [f for f in c["findings"] if (f["workload"], f["size_label"], f["variant"]) == ("hit", "4096", "naive")][0]
        self.assertAlmostEqual(f["ratio"], 3.0 / 1.2, delta=0.1)
        self.assertEqual(f["lo"], f["hi"])  # no interval without pairs
        self.assertIn("unpaired", self.page(man))

    def test_no_reference_no_findings(self):
        rows = [r[:2] + ("peer",) + r[3:] for r in HASH_ROWS]
        code, out, err, man = self.run_report(self.write("noref.json", make_doc(rows)))
        self.assertEqual(code, 0, err)
        self.assertFalse([c for c in man["charts"] if c["kind"] == "findings"])
        self.assertIn("No family of this run has a reference variant", self.page(man))

    def test_page_is_one_small_file(self):
        code, out, err, man = self.run_report(self.write("p.json", make_paired_doc(hash_groups())))
        self.assertEqual(code, 0, err)
        page = self.page(man)
        self.assertEqual(page.count("data:image/webp;base64,"), len(man["charts"]))
        self.assertNotIn("<script", page)
        self.assertNotIn("data:image/svg", page)
        for c in man["charts"]:
            self.assertTrue(os.path.exists(os.path.join(man["dir"], c["files"]["svg"])))
            self.assertLessEqual(c["figsize"][1], cs.MAX_FIG_H, c["id"])


class History(ReportCase):
    def runs(self):
        dates = ["2026-12-01T10:00:00+00:00", "2026-12-02T10:00:00+00:00", "2026-12-03T10:00:00+00:00"]
        docs = [make_paired_doc(hash_groups(), date=dates[0], commit="1111111aaaa", seed=1),
                make_paired_doc(hash_groups(scale=1.4), date=dates[1], commit="2222222bbbb", seed=2),
                make_paired_doc(hash_groups(scale=1.4), date=dates[2], commit="3333333cccc", seed=3)]
        # Given out of order: the history sorts by date.
        return [self.write(n, d) for n, d in (("c.json", docs[2]), ("a.json", docs[0]), ("b.json", docs[1]))]

    def test_moves_marked(self):
        code, out, err, man = self.run_report(*self.runs(), "--history")
        self.assertEqual(code, 0, err)
        self.assertEqual([os.path.basename(p) for p in man["inputs"]], ["a.json", "b.json", "c.json"])
        c = self.chart(man, "history_hash")
        self.assertEqual(c["overlaps"], [])
        self.assertEqual([(m["variant"], m["run"]) for m in c["moves"]], [("absl_flat_hash_map", 1)])
        self.assertAlmostEqual(c["moves"][0]["after"] / c["moves"][0]["before"], 1.4, delta=0.05)
        (p,) = c["panels"]
        self.assertEqual([ln["gid"] for ln in p["lines"] if ln["gid"].startswith("move:")], ["move:absl_flat_hash_map:1"])
        lines = {s["gid"]: s for s in p["series"]}
        self.assertEqual(set(lines), {"series:ct_scalar", "series:absl_flat_hash_map", "series:std_unordered_map",
                                      "series:naive"})
        self.assertEqual(lines["series:naive"]["n"], 3)
        self.assertIn("12-02 10:00", self.page(man))
        self.assertIn("2222222b", self.page(man))

    def test_one_run_is_not_a_history(self):
        one = self.runs()[0]
        code, out, err, man = self.run_report(one, "--history")
        self.assertEqual(code, 2)
        self.assertIn("--history needs two result files or more", err)
        code, out, err, man = self.run_report(one, one, "--history", "--baseline", one)
        self.assertEqual(code, 2)
        self.assertIn("takes neither --baseline nor --merge", err)


class Jobs(ReportCase):
    def drawn(self, path, jobs):
        """Every file of the report drawn with `jobs` processes, by name."""
        code, out, err, man = self.run_report(path, "--jobs", str(jobs), png=True)
        self.assertEqual(code, 0, err)
        files = {}
        for d, _, names in os.walk(man["dir"]):
            for n in names:
                if n != "report.html":  # it carries the time it was made
                    with open(os.path.join(d, n), "rb") as f:
                        files[os.path.relpath(os.path.join(d, n), man["dir"])] = f.read()
        shutil.rmtree(man["dir"])
        return files

    def test_same_files_whatever_the_processes(self):
        path = self.write("p.json", make_paired_doc(hash_groups()))
        one = self.drawn(path, 1)
        self.assertGreaterEqual(sum(n.endswith(".svg") for n in one), 3)
        self.assertEqual(self.drawn(path, 3), one)

    def test_no_processes_is_an_error(self):
        code, out, err, man = self.run_report(self.write("p.json", make_paired_doc(hash_groups())), "--jobs", "0")
        self.assertEqual(code, 2)
        self.assertIn("--jobs must be 1 or more", err)


class AtomicWrite(ReportCase):
    def test_a_failed_write_keeps_the_old_file(self):
        import atomic

        path = os.path.join(self.tmp, "manifest.json")
        atomic.write_text(path, "old")
        with self.assertRaises(RuntimeError):
            with atomic.atomic_path(path) as tmp:
                with open(tmp, "w") as f:
                    f.write("half")
                raise RuntimeError("interrupted")
        with open(path) as f:
            self.assertEqual(f.read(), "old")
        self.assertEqual(os.listdir(self.tmp), ["manifest.json"])
        atomic.write_text(path, "new")
        with open(path) as f:
            self.assertEqual(f.read(), "new")
        self.assertEqual(os.listdir(self.tmp), ["manifest.json"])


class Partial(ReportCase):
    def test_lacking_fields_still_charts(self):
        doc = make_doc(HASH_ROWS)
        for e in doc["benchmarks"]:
            for k in ("role", "working_set_bytes", "op", "budget_ns", "verdict"):
                e["cachetick"].pop(k, None)
        del doc["cachetick"]["machine"], doc["cachetick"]["options"]
        code, out, err, man = self.run_report(self.write("p.json", doc))
        self.assertEqual(code, 0, err)
        p = self.chart(man, "bars_hash")["panels"][0]
        self.assertEqual(len(p["series"]), 4)
        self.assertFalse([ln for ln in p["lines"] if ln["gid"] == "budget"])
        sweep = self.chart(man, "sweep_hash")["panels"][0]
        self.assertEqual(len(sweep["series"]), 4)
        self.assertIn("size argument", sweep["xlabel"])

    def test_no_sweep_when_every_variant_has_one_size(self):
        # sharing on a 2-core machine: one size, working sets differ by variant
        rows = [("sharing", "packed", "naive", "own_counter", "2T", 16, 1.7, None),
                ("sharing", "ct_padded", "optimised", "own_counter", "2T", 128, 0.6, None),
                ("sharing", "padded_128", "reference", "own_counter", "2T", 256, 0.6, None)]
        code, out, err, man = self.run_report(self.write("s.json", make_doc(rows)))
        self.assertEqual(code, 0, err)
        self.assertTrue(self.chart(man, "bars_sharing"))
        self.assertFalse([c for c in man["charts"] if c["id"] == "sweep_sharing"])

    def test_incomplete_run_is_flagged(self):
        doc = make_doc(HASH_ROWS)
        doc["cachetick"]["complete"] = False
        code, out, err, man = self.run_report(self.write("p.json", doc))
        self.assertEqual(code, 0, err)
        with open(os.path.join(man["dir"], "report.html")) as f:
            self.assertIn("Incomplete run", f.read())

    def test_failed_benchmark_is_a_table_row_not_a_bar(self):
        doc = make_doc(HASH_ROWS)
        e = doc["benchmarks"][0]
        e["error_occurred"], e["error_message"] = True, "out of memory"
        del e["cachetick"]["ns_per_op"]
        code, out, err, man = self.run_report(self.write("p.json", doc))
        self.assertEqual(code, 0, err)
        p = self.chart(man, "bars_hash")["panels"][0]
        self.assertEqual(self.series(p, gid="series:ct_l1")[0]["n"], 3)
        with open(os.path.join(man["dir"], "report.html")) as f:
            self.assertIn("error: out of memory", f.read())


class BadInput(ReportCase):
    def expect_2(self, path, words, *extra):
        code, out, err, man = self.run_report(path, *extra)
        self.assertEqual(code, 2, err)
        for w in words:
            self.assertIn(w, err)
        self.assertNotIn("Traceback", err)
        return err

    def test_missing(self):
        self.expect_2(os.path.join(self.tmp, "nope.json"), ["no such file"])

    def test_corrupt(self):
        with open(os.path.join(DATA, "gbench_plain.json")) as f:
            text = f.read()
        self.expect_2(self.write("cut.json", text[: len(text) // 2]), ["not valid JSON", "line"])

    def test_not_text(self):
        path = os.path.join(self.tmp, "bin.json")
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n\xff\xfe")
        self.expect_2(path, ["not a text file"])

    def test_foreign_json(self):
        self.expect_2(self.write("f.json", {"name": "package.json", "version": "1"}), ["not a cachetick or Google Benchmark result"])
        self.expect_2(self.write("l.json", [1, 2, 3]), ["not a cachetick or Google Benchmark result"])

    def test_no_benchmarks(self):
        self.expect_2(self.write("e.json", {"context": {}, "benchmarks": []}), ["no benchmarks"])

    def test_no_sizes(self):
        doc = {"context": {"executable": "x"}, "benchmarks": [
            {"name": "BM_a", "run_name": "BM_a", "run_type": "iteration", "real_time": 5, "time_unit": "ns", "iterations": 1},
            {"name": "BM_b/real_time", "run_name": "BM_b/real_time", "run_type": "iteration", "real_time": 5,
             "time_unit": "ns", "iterations": 1}]}
        self.expect_2(self.write("s.json", doc), ["none of the 2 benchmarks has a size", "BM_a"])

    def test_cachetick_entries_without_size(self):
        doc = make_doc(HASH_ROWS)
        for e in doc["benchmarks"]:
            del e["cachetick"]["size"], e["cachetick"]["size_label"]
            e["name"] = e["run_name"] = e["name"].rsplit("/", 1)[0]
        self.expect_2(self.write("s.json", doc), ["has a size"])

    def test_all_problems_reported(self):
        err = self.expect_2(os.path.join(self.tmp, "a.json"), ["a.json: no such file", "b.json: no such file"],
                            os.path.join(self.tmp, "b.json"))
        self.assertEqual(err.count("no such file"), 2)

    def test_unwritable_output(self):
        blocker = self.write("file", "x")
        e = io.StringIO()
        with contextlib.redirect_stderr(e):
            code = report.main([os.path.join(DATA, "gbench_plain.json"), "-o", os.path.join(blocker, "sub"), "--no-png", "-q"])
        self.assertEqual(code, 2)
        self.assertIn("cannot write the report", e.getvalue())


class Claims(ReportCase):
    """The claims section (scripts/claims.py measures, verdict.py judges)."""
    ROWS = [("parse", "ct_table", "optimised", "parse", "2MiB", 2 << 20, 50.0, None),
            ("parse", "std_string", "naive", "parse", "2MiB", 2 << 20, 210.0, None),
            ("parse", "ct_table", "optimised", "parse", "64KiB", 64 << 10, 50.0, None),
            ("parse", "std_string", "naive", "parse", "64KiB", 64 << 10, 100.0, None)]

    def test_section_and_manifest(self):
        code, _, err, man = self.run_report(self.write("r.json", make_doc(self.ROWS, reps=3)))
        self.assertEqual(code, 0, err)
        claims = {c["id"]: c for c in man["claims"]}
        lines = {ln["pair"]: ln for ln in claims["zero-copy-speed"]["lines"]}
        self.assertAlmostEqual(lines["parse/parse/2MiB: ct_table vs std_string"]["factor"], 4.2, delta=0.05)
        self.assertEqual(lines["parse/parse/2MiB: ct_table vs std_string"]["status"], "held")
        self.assertEqual(lines["parse/parse/64KiB: ct_table vs std_string"]["status"], "fell short")
        self.assertEqual(lines["parse/parse/256MiB: ct_table vs std_string"]["status"], "not measured")
        self.assertEqual(claims["compression"]["status"], "no benchmark")
        with open(os.path.join(man["dir"], "report.html")) as f:
            page = f.read()
        self.assertIn("<h2 id=claims>Claims</h2>", page)
        self.assertIn("Zero-copy deserialization: 3-5x faster", page)
        self.assertIn("no family measures compression", page)

    def test_left_out_on_request_and_bad_claims_file(self):
        path = self.write("r.json", make_doc(self.ROWS, reps=3))
        code, _, err, man = self.run_report(path, "--no-claims")
        self.assertEqual(code, 0, err)
        self.assertIsNone(man["claims"])
        code, _, err, _ = self.run_report(path, "--claims", self.write("c.json", {"claims": []}))
        self.assertEqual(code, 2)
        self.assertIn("non-empty 'claims'", err)


class Wrapper(ReportCase):
    """scripts/report.sh as a user runs it: finds a Python with matplotlib."""

    def test_cli(self):
        p = subprocess.run([os.path.join(ROOT, "scripts", "report.sh"), os.path.join(DATA, "gbench_plain.json"),
                            "-o", os.path.join(self.tmp, "r"), "--no-png"], capture_output=True, text=True,
                           env=dict(os.environ, PATH="/usr/bin:/bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"Report: {os.path.join(self.tmp, 'r', 'report.html')}", p.stdout)
        p = subprocess.run([os.path.join(ROOT, "scripts", "report.sh"), os.path.join(self.tmp, "missing.json")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("missing.json: no such file", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

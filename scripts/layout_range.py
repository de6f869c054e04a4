#!/usr/bin/env python3
"""layout_range.py BASE.json OTHER.json... -o OUT.json: the gate's baseline
with each simulated count's range over several heap layouts.

Why: the sim backend's counts are deterministic for one binary, but some
depend on where the heap puts things. A peer that hashes addresses
(boost::flyweight in a std::unordered_map) collides in other buckets when its
blocks move, and which cache sets a buffer uses moves with it. Any change to
the binary can move the heap (the sim child's allocations before a family's
benchmarks are code too), so such a count "regressed" after a commit that
touched nothing of its kernel: d1 misses of strings/boost_flyweight/map_key
went 0.0085 -> 0.0203 per op after a harness-only change. The range says how
far a count moves with the layout alone; compare.py judges a count against
it (scripts/verdict.py, judge_count).

BASE is a sim run (--sim-heap-layout 0, the heap as it is): its values stay
the baseline's values. Each OTHER file is the same selection run with another
--sim-heap-layout. Every benchmark's entry in OUT gets
cachetick.layout_range: {"layouts": [N...], "<count>_per_op": [lo, hi], ...}.
Too few layouts to be sure of a range (eight give a 1-in-9 chance that a
ninth layout lands above all of them), hence the widening in judge_count.
Exit 0, or 2 with a message on files that do not match.
"""
import argparse
import json
import sys

import cachetick_results as cr
import verdict as vd
from atomic import write_text


def fail(msg):
    print(f"layout_range.py: {msg}", file=sys.stderr)
    sys.exit(2)


def load_sim(path):
    """(the loaded Result, its heap layout, {benchmark: {count: per-op}})."""
    try:
        res = cr.load(path)
    except cr.ResultError as e:
        fail(str(e))
    if res.sim_heap_layout is None:
        fail(f"{path}: not a sim backend result (no cachetick.sim block)")
    counts = {}
    for r in res.rows:
        if r.error or any(k not in r.counters for k in cr.SIM_COUNTS):
            fail(f"{path}: {r.name}: " + (r.error or "lacks a simulated count"))
        counts[r.name] = {k: r.counters[k] for k in cr.SIM_COUNTS}
    return res, res.sim_heap_layout, counts


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("others", nargs="+")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args(argv)
    base_res, base_layout, base = load_sim(args.base)
    doc = base_res.doc
    layouts, runs = [base_layout], [base]
    for path in args.others:
        res, layout, counts = load_sim(path)
        env_diff = vd.environment_differences(base_res.sim_environment, res.sim_environment)
        if env_diff or vd.geometries_differ(base_res.sim_geometry, res.sim_geometry):
            fail(f"{path}: simulated otherwise than {args.base} (another cache geometry or environment: "
                 + ("; ".join(env_diff) or "geometry") + "): its counts are not the same code's in another layout")
        if set(counts) != set(base):
            fail(f"{path}: other benchmarks than {args.base} (run the same selection)")
        if layout in layouts:
            fail(f"{path}: heap layout {layout} is already in the set: each file needs its own")
        layouts.append(layout)
        runs.append(counts)
    for e in doc["benchmarks"]:
        rng = {k: [min(r[e["name"]][k] for r in runs), max(r[e["name"]][k] for r in runs)]
               for k in cr.SIM_COUNTS}
        e.setdefault("cachetick", {})["layout_range"] = {"layouts": layouts, **rng}
    try:
        write_text(args.out, json.dumps(doc, indent=1) + "\n")
    except OSError as e:
        fail(f"{args.out}: cannot write ({e.strerror})")
    moved = sum(1 for e in doc["benchmarks"] for k, rule in vd.COUNT_RULES.items()
                if vd.layout_moves(rule, *e["cachetick"]["layout_range"][k]))
    print(f"layout_range.py: {len(doc['benchmarks'])} benchmarks over {len(layouts)} heap layouts "
          f"({', '.join(map(str, layouts))}); {moved} count(s) move with the layout by more than the "
          "gate's rule allows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

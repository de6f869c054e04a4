#!/usr/bin/python3
"""compare.py BASELINE NEW: the regression gate.

Reads two result files (cachetick's, or plain Google Benchmark JSON) and
decides, benchmark by benchmark, whether NEW regressed against BASELINE.

* Deterministic counts (`cachetick run --backend sim`): instructions, D1
  misses, LL misses and estimated cycles per op. They do not vary from run to
  run, so the rule is a plain threshold: a metric regresses when it grows by
  more than its tolerance (default 1% for instructions) AND by more than an
  absolute floor per op (so that 0.0001 -> 0.0002 misses/op is not +100%).
* Timings with repetitions: a two-sided Mann-Whitney U test over the
  repetitions (alpha 0.05) AND a minimum effect size on the medians (5%):
  significant but tiny, or large but not significant, is not a regression.
  With too few repetitions to ever reach alpha the row is reported untested.
  A row whose median core share (cachetick's `core` column) is below 80% on
  either side ran beside a busy SMT sibling, which slows wide code up to 2x
  at the same clock: it is shown but not judged (--judge-shared judges it).

Exit 0: nothing regressed. 1: a regression (named). 2: bad input (missing
or corrupt file, not a benchmark result, runs interrupted, benchmarks on
only one side, incomparable files); what can be compared is still shown.

Needs Debian's /usr/bin/python3 (python3-scipy).
"""
import argparse
import json
import math
import re
import statistics
import sys

from cachetick_results import SHARED_CORE_BELOW  # the console's `!` threshold too
from textstats import pct, sig3 as num

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2

# metric key in the result file -> (column title, default tolerance, floor per op)
SIM_METRICS = {
    "instructions_per_op": ("instr/op", 0.01, 0.02),
    "d1_misses_per_op": ("D1miss/op", 0.02, 0.01),
    "ll_misses_per_op": ("LLmiss/op", 0.05, 0.01),
    "est_cycles_per_op": ("estcyc/op", 0.02, 0.1),
}
SHORT = {k: k[: -len("_per_op")] for k in SIM_METRICS}  # "instructions" ...
TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class BadInput(Exception):
    pass


# ---- reading ------------------------------------------------------------------

class Result:
    """One file: benchmark name -> its sim counts, or its timing samples."""

    def __init__(self, path):
        self.path = path
        self.sim = {}        # name -> {metric: value}
        self.samples = {}    # name -> [ns per op, one per repetition]
        self.errors = {}     # name -> error message
        self.core = {}       # name -> [core share, one per repetition that has one]
        self.order = []
        self.geometry = None
        self.environment = None  # sim: what the child's libraries saw (flattened)
        self.load()

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            raise BadInput(f"{self.path}: no such file")
        except OSError as e:
            raise BadInput(f"{self.path}: cannot read: {e.strerror}")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BadInput(f"{self.path}: not valid JSON ({e})")
        if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
            raise BadInput(f"{self.path}: not a Google Benchmark or cachetick result "
                           "(no 'benchmarks' list)")
        ct = doc.get("cachetick")
        if isinstance(ct, dict):
            if ct.get("complete") is False:
                raise BadInput(f"{self.path}: an interrupted run (cachetick.complete is false)")
            sim = ct.get("sim")
            if isinstance(sim, dict) and isinstance(sim.get("geometry"), dict):
                g = sim["geometry"]
                self.geometry = {k: g.get(k) for k in ("I1", "D1", "LL")}
            if isinstance(sim, dict) and isinstance(sim.get("environment"), dict):
                self.environment = flatten(sim["environment"])
        for i, b in enumerate(doc["benchmarks"]):
            if not isinstance(b, dict) or not isinstance(b.get("name"), str):
                raise BadInput(f"{self.path}: benchmark #{i} has no name")
            if b.get("run_type") == "aggregate":
                continue  # recomputed from the repetitions themselves
            name = b.get("run_name") if isinstance(b.get("run_name"), str) else b["name"]
            if name not in self.order:
                self.order.append(name)
            if b.get("error_occurred"):
                self.errors[name] = str(b.get("error_message", "error"))
                continue
            if "instructions_per_op" in b:
                m = {}
                for k in SIM_METRICS:
                    v = b.get(k)
                    if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                        raise BadInput(f"{self.path}: {name}: '{k}' missing or not a count")
                    m[k] = float(v)
                self.sim[name] = m
                continue
            self.samples.setdefault(name, []).append(self.ns_per_op(b, name))
            share = b.get("core_share")
            if isinstance(share, (int, float)) and math.isfinite(share):
                self.core.setdefault(name, []).append(float(share))

    def ns_per_op(self, b, name):
        ct = b.get("cachetick")
        if isinstance(ct, dict) and isinstance(ct.get("ns_per_op"), (int, float)):
            return float(ct["ns_per_op"])
        t, unit = b.get("real_time"), b.get("time_unit", "ns")
        if not isinstance(t, (int, float)) or unit not in TIME_UNITS:
            raise BadInput(f"{self.path}: {name}: no real_time/time_unit")
        return float(t) * TIME_UNITS[unit]

    def names(self):
        return self.order

    def shared(self, name):
        """The median core share when it is below the threshold, else None."""
        c = self.core.get(name)
        if not c:
            return None
        m = statistics.median(c)
        return m if m < SHARED_CORE_BELOW else None

    def kind(self, name):
        if name in self.errors:
            return "error"
        return "sim" if name in self.sim else "time"


# ---- deciding -----------------------------------------------------------------

def flatten(d, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}: one key per fact, for naming differences."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def environment_differences(base, new):
    """The sim facts that differ between two results ([] when equal or unrecorded)."""
    if not base.environment or not new.environment:
        return []
    keys = sorted(set(base.environment) | set(new.environment))
    return [f"{k}: baseline {base.environment.get(k)!r}, new {new.environment.get(k)!r}"
            for k in keys if base.environment.get(k) != new.environment.get(k)]


def compare_sim(base, new, tol, floor):
    """Per metric: (base, new, relative change, status)."""
    out = {}
    for k in SIM_METRICS:
        b, n = base[k], new[k]
        d = n - b
        rel = d / b if b > 0 else (math.inf if d > 0 else 0.0)
        status = "ok"
        if d > floor[k] and rel > tol[k]:
            status = "regressed"
        elif -d > floor[k] and rel < -tol[k]:
            status = "improved"
        out[k] = (b, n, rel, status)
    return out


def min_two_sided_p(n1, n2):
    # The smallest p-value an exact two-sided test can give: every new sample
    # above every baseline sample.
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def compare_time(base, new, alpha, min_effect):
    from scipy.stats import mannwhitneyu
    mb, mn = statistics.median(base), statistics.median(new)
    change = mn / mb - 1 if mb > 0 else 0.0
    res = {"base": mb, "new": mn, "change": change, "n": (len(base), len(new)), "p": None}
    if len(base) < 2 or len(new) < 2 or min_two_sided_p(len(base), len(new)) >= alpha:
        res["status"] = "untested"
        return res
    p = float(mannwhitneyu(new, base, alternative="two-sided").pvalue)
    res["p"] = p
    if p < alpha and change > min_effect:
        res["status"] = "regressed"
    elif p < alpha and change < -min_effect:
        res["status"] = "improved"
    else:
        res["status"] = "ok"
    return res


# ---- the command ----------------------------------------------------------------

def parse_pairs(items, what, allowed):
    out = {}
    for it in items or []:
        m = re.fullmatch(r"([a-z0-9_]+)=([0-9.eE+-]+)", it)
        key = m.group(1) if m else None
        if key in SHORT.values():
            key += "_per_op"
        if not m or key not in allowed:
            raise BadInput(f"--{what} '{it}': expected METRIC=VALUE with METRIC one of "
                           + ", ".join(SHORT.values()))
        v = float(m.group(2))
        if not math.isfinite(v) or v < 0:
            raise BadInput(f"--{what} '{it}': the value must be a number >= 0")
        out[key] = v
    return out


def main(argv):
    ap = argparse.ArgumentParser(
        prog="compare.py",
        description="Regression gate: compare a new cachetick (or Google Benchmark) result "
                    "with a baseline. Exit 0 ok, 1 regression, 2 bad input.")
    ap.add_argument("baseline")
    ap.add_argument("new")
    ap.add_argument("--tolerance", action="append", metavar="METRIC=FRACTION",
                    help="relative tolerance for a count, e.g. instructions=0.01 (defaults: "
                    + ", ".join(f"{SHORT[k]} {v[1]:g}" for k, v in SIM_METRICS.items()) + ")")
    ap.add_argument("--floor", action="append", metavar="METRIC=PER_OP",
                    help="absolute change per op below which a count never regresses (defaults: "
                    + ", ".join(f"{SHORT[k]} {v[2]:g}" for k, v in SIM_METRICS.items()) + ")")
    ap.add_argument("--alpha", type=float, default=0.05, help="timings: significance level (0.05)")
    ap.add_argument("--min-effect", type=float, default=0.05,
                    help="timings: smallest median change that counts (0.05 = 5%%)")
    ap.add_argument("--judge-shared", action="store_true",
                    help="timings: judge rows that ran on a shared core too (median core share "
                         f"< {SHARED_CORE_BELOW:g} on either side); by default they are shown, not judged")
    ap.add_argument("--environment-mismatch", choices=("error", "skip"), default="error",
                    help="sim: when the baseline was simulated in another environment (valgrind, "
                         "glibc, the CPU model valgrind presents, the child's environment): "
                         "error = exit 2; skip = say so and exit 0 without judging (the gate)")
    ap.add_argument("--filter", help="only benchmarks whose name matches this regex")
    ap.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (PR comment)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_BAD_INPUT

    problems = []
    try:
        tol = {k: v[1] for k, v in SIM_METRICS.items()}
        tol.update(parse_pairs(args.tolerance, "tolerance", SIM_METRICS))
        floor = {k: v[2] for k, v in SIM_METRICS.items()}
        floor.update(parse_pairs(args.floor, "floor", SIM_METRICS))
        if not 0 < args.alpha < 1:
            raise BadInput("--alpha must be between 0 and 1")
        if args.min_effect < 0:
            raise BadInput("--min-effect must be >= 0")
        flt = re.compile(args.filter) if args.filter else None
        base, new = Result(args.baseline), Result(args.new)
    except BadInput as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except re.error as e:
        print(f"compare.py: invalid --filter: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT

    env_diff = environment_differences(base, new)
    if env_diff:
        why = ("the counts were simulated in different environments, so the same code may have "
               "run differently (another glibc choice, another valgrind): " + "; ".join(env_diff))
        if args.environment_mismatch == "skip":
            print(f"compare.py: not judged: {why}. Regenerate the baseline in this environment "
                  "to gate here (scripts/baseline.sh).")
            return EXIT_OK
        problems.append(why)
    if base.geometry and new.geometry and base.geometry != new.geometry:
        problems.append("the simulated cache geometries differ (baseline "
                        f"{json.dumps(base.geometry)}, new {json.dumps(new.geometry)}): "
                        "counts are not comparable; rerun with the same --sim-cache")

    def keep(n):
        return flt is None or flt.search(n)
    names = [n for n in base.names() if keep(n)]
    only_base = [n for n in names if n not in new.names()]
    only_new = [n for n in new.names() if keep(n) and n not in base.names()]
    common = [n for n in names if n in new.names()]
    if only_base:
        problems.append(f"{len(only_base)} benchmark(s) in the baseline only: " + ", ".join(only_base))
    if only_new:
        problems.append(f"{len(only_new)} benchmark(s) in the new result only: " + ", ".join(only_new)
                        + " (a meant change? regenerate the baseline)")
    if not common:
        problems.append("no benchmark in common")

    sim_rows, time_rows, regressions, improved, untested, shared = [], [], [], [], [], []
    for n in common:
        kb, kn = base.kind(n), new.kind(n)
        if "error" in (kb, kn):
            side = "baseline" if kb == "error" else "new result"
            msg = base.errors.get(n) if kb == "error" else new.errors.get(n)
            problems.append(f"{n}: failed in the {side}: {msg}")
            continue
        if kb != kn:
            problems.append(f"{n}: the baseline has {kb} figures, the new result {kn} figures "
                            "(compare sim with sim, time with time)")
            continue
        if kb == "sim":
            r = compare_sim(base.sim[n], new.sim[n], tol, floor)
            sim_rows.append((n, r))
            bad = [f"{SHORT[k]} {pct(v[2])}" for k, v in r.items() if v[3] == "regressed"]
            if bad:
                regressions.append((n, ", ".join(bad)))
            elif any(v[3] == "improved" for v in r.values()):
                improved.append(n)
        else:
            r = compare_time(base.samples[n], new.samples[n], args.alpha, args.min_effect)
            sb, sn = base.shared(n), new.shared(n)
            if (sb is not None or sn is not None) and not args.judge_shared:
                r["judged_as"] = r["status"]
                r["status"] = "shared"
                shared.append((n, "baseline" if sn is None else "new result" if sb is None else "both",
                               sb if sb is not None else sn))
            time_rows.append((n, r))
            if r["status"] == "regressed":
                regressions.append((n, f"time {pct(r['change'])} (p={r['p']:.3g})"))
            elif r["status"] == "improved":
                improved.append(n)
            elif r["status"] == "untested":
                untested.append(n)

    lines, md = render(sim_rows, time_rows, tol, floor, args)
    print("\n".join(lines))
    if untested:
        print(f"\nUntested: {len(untested)} timing row(s) have too few repetitions for a "
              f"Mann-Whitney U test to reach alpha {args.alpha:g} (need >= 4 per side; "
              "use `cachetick run --repetitions 5`).")
    if shared:
        print(f"\nShared core: {len(shared)} timing row(s) ran beside a busy SMT sibling (median core "
              f"share < {SHARED_CORE_BELOW * 100:.0f}%) and were not judged: rerun them, or "
              "--judge-shared:")
        for n, side, v in shared:
            print(f"  {n}: {side} ({v * 100:.0f}%)")
    for p in problems:
        print(f"compare.py: bad input: {p}", file=sys.stderr)

    if problems:
        verdict, code = f"BAD INPUT ({len(problems)} problem(s)); see above", EXIT_BAD_INPUT
    elif regressions:
        verdict, code = f"FAILED: {len(regressions)} regression(s)", EXIT_REGRESSION
    else:
        verdict, code = (f"passed: {len(common)} benchmark(s) compared, none regressed"
                         + (f", {len(improved)} improved" if improved else "")
                         + (f", {len(shared)} not judged (shared core)" if shared else "")), EXIT_OK
    print(f"\nGate: {verdict}")
    for n, why in regressions:
        print(f"  REGRESSED {n}: {why}")

    if args.markdown:
        head = [f"### cachetick regression gate: {verdict}", ""]
        if regressions:
            head += [f"- **{n}**: {why}" for n, why in regressions] + [""]
        if problems:
            head += [f"- bad input: {p}" for p in problems] + [""]
        try:
            with open(args.markdown, "w", encoding="utf-8") as f:
                f.write("\n".join(head + md) + "\n")
        except OSError as e:
            print(f"compare.py: cannot write {args.markdown}: {e.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return code


def render(sim_rows, time_rows, tol, floor, args):
    """Console lines and Markdown lines for the same tables."""
    lines, md = [], []
    mark = {"ok": "", "improved": "improved", "regressed": "REGRESSED"}
    if sim_rows:
        w = max(9, *(len(n) for n, _ in sim_rows))
        hdr = f"{'benchmark':<{w}}" + "".join(f" {SIM_METRICS[k][0]:>10} {'change':>8}" for k in SIM_METRICS)
        lines += [hdr + "  verdict"]
        md += ["| benchmark | " + " | ".join(SIM_METRICS[k][0] + " (base → new)" for k in SIM_METRICS)
               + " | verdict |", "|---" * (len(SIM_METRICS) + 2) + "|"]
        for n, r in sim_rows:
            worst = ("regressed" if any(v[3] == "regressed" for v in r.values()) else
                     "improved" if any(v[3] == "improved" for v in r.values()) else "ok")
            cells = "".join(f" {num(v[1]):>10} {('=' if v[0] == v[1] else pct(v[2])):>8}"
                            for v in r.values())
            lines.append(f"{n:<{w}}{cells}  {mark[worst]}")
            md.append(f"| `{n}` | " + " | ".join(
                f"{num(v[0])} → {num(v[1])} ({'=' if v[0] == v[1] else pct(v[2])})"
                + (" ❗" if v[3] == "regressed" else "") for v in r.values())
                + f" | {mark[worst] or 'ok'} |")
        note = ("Counts per op (new values; change vs baseline). A count regresses when it grows by "
                "more than its tolerance and its floor: "
                + ", ".join(f"{SHORT[k]} {tol[k] * 100:g}% / {floor[k]:g}" for k in SIM_METRICS)
                + ". estcyc = L1 hits + 5 x LL hits + 35 x RAM hits (simulated).")
        lines += ["", note]
        md += ["", note]
    if time_rows:
        if lines:
            lines.append("")
            md.append("")
        w = max(9, *(len(n) for n, _ in time_rows))
        lines.append(f"{'benchmark':<{w}} {'base ns/op':>11} {'new ns/op':>11} {'change':>8} "
                     f"{'p':>7} {'reps':>6}  verdict")
        md += ["| benchmark | base ns/op | new ns/op | change | p (Mann-Whitney U) | reps | verdict |",
               "|---|---|---|---|---|---|---|"]
        tmark = dict(mark, untested="untested", shared="shared core: not judged")
        for n, r in time_rows:
            p = "-" if r["p"] is None else f"{r['p']:.3g}"
            reps = f"{r['n'][0]}/{r['n'][1]}"
            lines.append(f"{n:<{w}} {num(r['base']):>11} {num(r['new']):>11} {pct(r['change']):>8} "
                         f"{p:>7} {reps:>6}  {tmark[r['status']]}")
            md.append(f"| `{n}` | {num(r['base'])} | {num(r['new'])} | {pct(r['change'])} | {p} | "
                      f"{reps} | {tmark[r['status']] or 'ok'} |")
        note = (f"Timings: medians of the repetitions; a regression needs p < {args.alpha:g} "
                f"(two-sided Mann-Whitney U) and a median change above {args.min_effect * 100:g}%.")
        lines += ["", note]
        md += ["", note]
    return lines, md


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

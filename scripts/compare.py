#!/usr/bin/python3
"""compare.py BASELINE NEW: the regression gate.

Reads two result files (cachetick's, or plain Google Benchmark JSON) and
decides, benchmark by benchmark, whether NEW regressed against BASELINE.
The rules are verdict.py's, the same the report's baseline comparison uses:

* Deterministic counts (`cachetick run --backend sim`): instructions, D1
  misses, LL misses and estimated cycles per op. They do not vary from run to
  run, so the rule is a plain threshold: a metric regresses when it grows by
  more than its tolerance (default 1% for instructions) AND by more than an
  absolute floor per op (so that 0.0001 -> 0.0002 misses/op is not +100%).
* Timings: each row's samples a side (repetitions, or the rounds of a
  paired run) give the ratio new/baseline with a distribution-free 95%
  interval (Hodges-Lehmann with the Mann-Whitney interval); as in the
  paired verdicts, slower (a regression) or faster only when the whole
  interval lies beyond +-3% (--margin), else "no difference shown". Too few
  samples for a 95% interval (3 a side) is "not enough samples to judge",
  counted in the verdict line. A row whose median core share (cachetick's
  `core` column) is below 80% on either side ran beside a busy SMT sibling,
  which slows wide code up to 2x at the same clock: it is shown but not
  judged (--judge-shared judges it).
* Machines: when the two files come from different machines (CPU model,
  cores, kernel, arch, build type, compiler, flags), the first lines say
  which facts differ and no timing is judged (--judge-across-machines
  judges them); sim counts still are (their own environment check guards
  them).
* Paired runs: where both files carry a row's ratio to its group's
  reference variant, a ratio that moved (intervals apart by more than the
  margin) is listed: information, not a regression (either side may have
  moved).

Exit 0: nothing regressed (or nothing judged: the verdict line says why).
1: a regression (named). 2: bad input (missing or corrupt file, not a
benchmark result, runs interrupted, benchmarks on only one side,
incomparable files, an unwritable --markdown file, an unknown option); what
can be compared is still shown.

Needs Debian's /usr/bin/python3 (standard library only).
"""
import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cachetick_results as cr  # noqa: E402
import verdict as vd  # noqa: E402
from atomic import write_text  # noqa: E402
from textstats import pct, sig3  # noqa: E402

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2

# How the gate shows what verdict.py decides: a column title per count, a
# word per status (blank: unchanged; the Markdown table says "ok").
COLUMN = {"instructions_per_op": "instr/op", "d1_misses_per_op": "D1miss/op",
          "ll_misses_per_op": "LLmiss/op", "est_cycles_per_op": "estcyc/op"}
MARK = {vd.REGRESSION: "REGRESSED", vd.IMPROVEMENT: "improved", vd.UNCHANGED: "",
        vd.UNTESTED: "untested", vd.SHARED_CORE: "shared core: not judged",
        vd.OTHER_MACHINE: "other machine: not judged"}
# Timings' words where they differ: the paired verdicts' (harness/paired.cpp).
TIME_MARK = dict(MARK, **{vd.UNCHANGED: "no difference shown", vd.UNTESTED: "not enough samples"})


class BadInput(Exception):
    pass


# ---- the rules, from the command line -----------------------------------------------

def parse_args(argv):
    defaults = vd.COUNT_RULES.items()
    ap = argparse.ArgumentParser(
        prog="compare.py",
        description="Regression gate: compare a new cachetick (or Google Benchmark) result "
                    "with a baseline. Exit 0 ok, 1 regression, 2 bad input.")
    ap.add_argument("baseline")
    ap.add_argument("new")
    ap.add_argument("--tolerance", action="append", metavar="METRIC=FRACTION",
                    help="relative tolerance for a count, e.g. instructions=0.01 (defaults: "
                    + ", ".join(f"{vd.short(k)} {r.tolerance:g}" for k, r in defaults) + ")")
    ap.add_argument("--floor", action="append", metavar="METRIC=PER_OP",
                    help="absolute change per op below which a count never regresses (defaults: "
                    + ", ".join(f"{vd.short(k)} {r.floor:g}" for k, r in defaults) + ")")
    ap.add_argument("--alpha", type=float, default=0.05,
                    help="timings: 1 - the interval's confidence (0.05: a 95%% interval)")
    ap.add_argument("--margin", type=float, default=vd.TimeRule.margin,
                    help="timings: slower/faster only when the whole interval of new/baseline lies beyond "
                         f"+-this (default {vd.TimeRule.margin:g} = 3%%, as the paired verdicts)")
    ap.add_argument("--min-effect", dest="margin", type=float, help=argparse.SUPPRESS)  # the old name
    ap.add_argument("--judge-across-machines", action="store_true",
                    help="timings: judge them even when the files come from different machines "
                         "(CPU model, cores, kernel, build); by default they are shown, not judged")
    ap.add_argument("--judge-shared", action="store_true",
                    help="timings: judge rows that ran on a shared core too (median core share "
                         f"< {vd.SHARED_CORE_BELOW:g} on either side); by default they are shown, not judged")
    ap.add_argument("--environment-mismatch", choices=("error", "skip"), default="error",
                    help="sim: when the baseline was simulated in another environment (valgrind, "
                         "glibc, the CPU model valgrind presents, the child's environment): "
                         "error = exit 2; skip = say so and exit 0 without judging (the gate)")
    ap.add_argument("--filter", help="only benchmarks whose name matches this regex")
    ap.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (PR comment)")
    return ap.parse_args(argv)


def parse_pairs(items, what):
    """['instructions=0.005', ...] -> {'instructions_per_op': 0.005, ...}."""
    out = {}
    for it in items or []:
        m = re.fullmatch(r"([a-z0-9_]+)=([0-9.eE+-]+)", it)
        key = m.group(1) if m else None
        if key and key + "_per_op" in vd.COUNT_RULES:
            key += "_per_op"
        if not m or key not in vd.COUNT_RULES:
            raise BadInput(f"--{what} '{it}': expected METRIC=VALUE with METRIC one of "
                           + ", ".join(map(vd.short, vd.COUNT_RULES)))
        v = float(m.group(2))
        if not math.isfinite(v) or v < 0:
            raise BadInput(f"--{what} '{it}': the value must be a number >= 0")
        out[key] = v
    return out


def rules_from(args):
    tol, floor = parse_pairs(args.tolerance, "tolerance"), parse_pairs(args.floor, "floor")
    if not 0 < args.alpha < 1:
        raise BadInput("--alpha must be between 0 and 1")
    if not 0 <= args.margin < 1:
        raise BadInput("--margin must be between 0 and 1 (0.03 = 3%)")
    counts = {k: vd.CountRule(tol.get(k, r.tolerance), floor.get(k, r.floor))
              for k, r in vd.COUNT_RULES.items()}
    return vd.Rules(counts, vd.TimeRule(args.alpha, args.margin, args.judge_shared,
                                        args.judge_across_machines))


# ---- judging -----------------------------------------------------------------------

class Judged:
    """Every common benchmark's verdict, in file order, and the input problems."""

    def __init__(self, machines=(), judge_across=False):
        self.rows = []      # (name, kind, Verdict)
        self.problems = []  # bad input, in words
        self.shared = []    # (name, which side, its core share)
        self.machines = list(machines)  # (fact, baseline's, new's) that differ
        self.judge_across = judge_across  # --judge-across-machines
        self.ratios = []    # (name, vd.RatioChange) of rows paired in both files

    def named(self, status, kind=None):
        return [(n, v) for n, k, v in self.rows if v.status == status and kind in (None, k)]


def environment_text(env_diff):
    return ("the counts were simulated in different environments, so the same code may have "
            "run differently (another glibc choice, another valgrind): " + "; ".join(env_diff))


def file_problems(base, new, env_diff):
    """What makes the two files incomparable as a whole."""
    out = [environment_text(env_diff)] if env_diff else []
    if vd.geometries_differ(base.sim_geometry, new.sim_geometry):
        out.append("the simulated cache geometries differ (baseline "
                   f"{json.dumps(base.sim_geometry)}, new {json.dumps(new.sim_geometry)}): "
                   "counts are not comparable; rerun with the same --sim-cache")
    return out


def common_names(base, new, flt, problems):
    """The benchmarks in both files (after --filter); the others are problems."""
    keep = [r.name for r in base.rows if flt is None or flt.search(r.name)]
    new_names = [r.name for r in new.rows]
    only_base = [n for n in keep if n not in new_names]
    only_new = [n for n in new_names if (flt is None or flt.search(n)) and n not in keep]
    if only_base:
        problems.append(f"{len(only_base)} benchmark(s) in the baseline only: " + ", ".join(only_base))
    if only_new:
        problems.append(f"{len(only_new)} benchmark(s) in the new result only: " + ", ".join(only_new)
                        + " (a meant change? regenerate the baseline)")
    common = [n for n in keep if n in new_names]
    if not common:
        problems.append("no benchmark in common")
    return common


def comparable(b, n, problems):
    """Whether two rows of one benchmark can be judged; if not, say why."""
    if "error" in (b.kind, n.kind):
        side, row = ("baseline", b) if b.kind == "error" else ("new result", n)
        problems.append(f"{b.name}: failed in the {side}: {row.error}")
        return False
    if b.kind != n.kind:
        problems.append(f"{b.name}: the baseline has {b.kind} figures, the new result {n.kind} figures "
                        "(compare sim with sim, time with time)")
        return False
    missing = [f"{side}: '{k}'" for side, row in (("baseline", b), ("new result", n)) if row.kind == "sim"
               for k in vd.COUNT_RULES if k not in row.counters]
    if missing:
        problems.append(f"{b.name}: counts missing in the " + ", ".join(missing))
    return not missing


def judge_all(base, new, names, rules, judged):
    base_rows, new_rows = {r.name: r for r in base.rows}, {r.name: r for r in new.rows}
    for name in names:
        b, n = base_rows[name], new_rows[name]
        if not comparable(b, n, judged.problems):
            continue
        v = vd.judge_rows(b, n, rules, machines_differ=bool(judged.machines))
        judged.rows.append((name, b.kind, v))
        if v.status == vd.SHARED_CORE:
            sb, sn = (s if vd.shared_core(s) else None for s in (b.core_share, n.core_share))
            judged.shared.append((name, "baseline" if sn is None else "new result" if sb is None else "both",
                                  sb if sb is not None else sn))
        change = vd.judge_ratio_change(b.paired, n.paired, rules.time.margin)
        if change is not None:
            judged.ratios.append((name, change))


def machine_lines(base, new, judged):
    """The first lines of the output: whether both files come from one machine."""
    if judged.machines:
        names = ", ".join(k for k, _, _ in judged.machines)
        return ([f"Different machines ({names}): "
                 + ("timings judged anyway (--judge-across-machines): a change may be the machine's, "
                    "not the code's." if judged.judge_across else
                    "timings are not judged; --judge-across-machines judges them. Simulated counts are "
                    "still judged.")]
                + [f"  {k}: baseline {b!r}, new {n!r}" for k, b, n in judged.machines] + [""])
    same = {k: v for k, v in base.machine_facts.items() if new.machine_facts.get(k) == v}
    if not same:
        return ["Machines: not recorded in the files; whether they come from one machine cannot be told.", ""]
    return ["Same machine: " + ", ".join(f"{k} {v}" for k, v in same.items()), ""]


# ---- the command ---------------------------------------------------------------------

def load(args):
    """The rules, the filter and both files, or BadInput / ResultError."""
    rules = rules_from(args)
    try:
        flt = re.compile(args.filter) if args.filter else None
    except re.error as e:
        raise BadInput(f"invalid --filter: {e}")
    base, new = cr.load(args.baseline), cr.load(args.new)
    for res in (base, new):
        if not res.complete:
            raise BadInput(f"{res.path}: an interrupted run (cachetick.complete is false)")
    return rules, flt, base, new


def main(argv):
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_BAD_INPUT
    try:
        rules, flt, base, new = load(args)
    except (BadInput, cr.ResultError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT

    env_diff = vd.environment_differences(base.sim_environment, new.sim_environment)
    if env_diff and args.environment_mismatch == "skip":
        print(f"compare.py: not judged: {environment_text(env_diff)}. Regenerate the baseline in this "
              "environment to gate here (scripts/baseline.sh).")
        return EXIT_OK
    judged = Judged(vd.machine_differences(base.machine_facts, new.machine_facts),
                    rules.time.judge_across_machines)
    machines = machine_lines(base, new, judged)
    print("\n".join(machines))
    judged.problems += file_problems(base, new, env_diff)
    names = common_names(base, new, flt, judged.problems)
    judge_all(base, new, names, rules, judged)

    lines, md = render(judged, rules)
    lines_r, md_r = ratio_lines(judged, rules)
    print("\n".join(lines + lines_r))
    md = [("- " + m.strip()) if m.startswith("  ") else m for m in machines] + md + md_r
    print_notes(judged, rules)
    for p in judged.problems:
        print(f"compare.py: bad input: {p}", file=sys.stderr)
    verdict, code = gate_verdict(judged, len(names))
    print(f"\nGate: {verdict}")
    for n, v in judged.named(vd.REGRESSION):
        print(f"  REGRESSED {n}: {v.reason()}")
    if args.markdown and not write_markdown(args.markdown, verdict, judged, md):
        return EXIT_BAD_INPUT
    return code


def tally(judged):
    """What became of the rows, in words: '3 regressed, 1 improved, ...'."""
    count = lambda status, kind=None: len(judged.named(status, kind))
    why = ", ".join(k for k, _, _ in judged.machines)
    parts = [(count(vd.REGRESSION), "regressed"), (count(vd.IMPROVEMENT), "improved"),
             (count(vd.UNCHANGED, "sim"), "unchanged"),
             (count(vd.UNCHANGED, "time"), "no difference shown"),
             (count(vd.UNTESTED, "time"), "not enough samples to judge"),
             (count(vd.UNTESTED, "sim"), "untested"),
             (count(vd.SHARED_CORE), "not judged (shared core)"),
             (count(vd.OTHER_MACHINE), f"timings not judged (different machines: {why})"),
             (sum(c.status != vd.UNCHANGED for _, c in judged.ratios), "ratio(s) to the reference changed")]
    return ", ".join(f"{n} {what}" for n, what in parts if n)


def gate_verdict(judged, n_common):
    """The one-line verdict and the exit code."""
    if judged.problems:
        return (f"BAD INPUT ({len(judged.problems)} problem(s)); see above"
                + (f"; of the rest, {len(judged.rows)} compared: {tally(judged)}" if judged.rows else "")), \
            EXIT_BAD_INPUT
    regressions = judged.named(vd.REGRESSION)
    judged_rows = [v for _, _, v in judged.rows if v.status in (vd.REGRESSION, vd.IMPROVEMENT, vd.UNCHANGED)]
    head = (f"FAILED: {len(regressions)} regression(s)" if regressions else
            "passed" if judged_rows else "NOTHING JUDGED")
    text = f"{head}{'; ' if regressions else ': '}{n_common} benchmark(s) compared" + (f": {tally(judged)}" if tally(judged) else "")
    if not regressions and judged_rows:
        text = text.replace(" compared:", " compared, none regressed:", 1)
    return text, EXIT_REGRESSION if regressions else EXIT_OK


def print_notes(judged, rules):
    untested = judged.named(vd.UNTESTED, "time")
    if untested:
        worst_n = min((v.n for _, v in untested), key=min)
        print(f"\nNot enough samples: {len(untested)} timing row(s) cannot be judged: with "
              f"{worst_n[0]} and {worst_n[1]} samples no {100 * (1 - rules.time.alpha):g}% interval exists "
              "(4 a side are the least; a paired run's 6+ rounds, or `cachetick run --repetitions 6`).")
    if judged.shared:
        print(f"\nShared core: {len(judged.shared)} timing row(s) ran beside a busy SMT sibling (median core "
              f"share < {vd.SHARED_CORE_BELOW * 100:.0f}%) and were not judged: rerun them, or "
              "--judge-shared:")
        for n, side, share in judged.shared:
            print(f"  {n}: {side} ({share * 100:.0f}%)")


def write_markdown(path, verdict, judged, md):
    head = [f"### cachetick regression gate: {verdict}", ""]
    if judged.named(vd.REGRESSION):
        head += [f"- **{n}**: {v.reason()}" for n, v in judged.named(vd.REGRESSION)] + [""]
    if judged.problems:
        head += [f"- bad input: {p}" for p in judged.problems] + [""]
    try:
        write_text(path, "\n".join(head + md) + "\n")
    except OSError as e:
        print(f"compare.py: cannot write {path}: {e.strerror}", file=sys.stderr)
        return False
    return True


# ---- tables ----------------------------------------------------------------------------

def change_cell(f):
    """The change, and '~' when the count moves with the heap's layout."""
    return ("=" if f.base == f.new else pct(f.change)) + ("~" if f.layouts else "")


def render(judged, rules):
    """Console lines and Markdown lines for the same tables."""
    lines, md = [], []
    for table in (sim_table, time_table):
        rows = [(n, v) for n, k, v in judged.rows if k == ("sim" if table is sim_table else "time")]
        if not rows:
            continue
        if lines:
            lines.append("")
            md.append("")
        part_lines, part_md = table(rows, rules)
        lines += part_lines
        md += part_md
    return lines, md


def sim_table(rows, rules):
    w = max(9, *(len(n) for n, _ in rows))
    lines = [f"{'benchmark':<{w}}" + "".join(f" {COLUMN[k]:>10} {'change':>8}" for k in COLUMN) + "  verdict"]
    md = ["| benchmark | " + " | ".join(COLUMN[k] + " (base → new)" for k in COLUMN) + " | verdict |",
          "|---" * (len(COLUMN) + 2) + "|"]
    for n, v in rows:
        lines.append(f"{n:<{w}}" + "".join(f" {sig3(f.new):>10} {change_cell(f):>8}" for f in v.figures)
                     + f"  {MARK[v.status]}")
        md.append(f"| `{n}` | " + " | ".join(
            f"{sig3(f.base)} → {sig3(f.new)} ({change_cell(f)})" + (" ❗" if f.status == vd.REGRESSION else "")
            for f in v.figures) + f" | {MARK[v.status] or 'ok'} |")
    note = ("Counts per op (new values; change vs baseline). " + vd.count_rule_text(rules.counts)
            + " estcyc = L1 hits + 5 x LL hits + 35 x RAM hits (simulated).")
    notes = [note]
    moved = [(n, f) for n, v in rows for f in v.figures if f.layouts]
    if moved:
        notes.append(f"~ : {len(moved)} count(s) move with the heap's layout alone by more than the rule allows "
                     "(the baseline's range over several --sim-heap-layout runs, scripts/layout_range.py); each is "
                     "judged against that range widened by its width: " + ", ".join(
                         f"{n} {vd.short(f.name)} {sig3(f.layouts[0])}..{sig3(f.layouts[1])}" for n, f in moved))
    return lines + [""] + notes, md + [""] + notes


def ratio_lines(judged, rules):
    """Paired rows whose ratio to the reference changed (console, Markdown)."""
    if not judged.ratios:
        return [], []
    moved = [(n, c) for n, c in judged.ratios if c.status != vd.UNCHANGED]
    head = (f"Ratios to the reference (paired rounds in both files): {len(judged.ratios)} compared, "
            f"{len(moved)} changed (the intervals apart by more than +-{rules.time.margin * 100:g}%)"
            + (": a ratio, unlike a time, carries across machines, so a change here is the code's or "
               "the CPU's" if judged.machines else "") + (":" if moved else "."))
    word = {vd.REGRESSION: "relatively slower", vd.IMPROVEMENT: "relatively faster"}
    lines = [f"  {n} {c.note}: {word[c.status]}" for n, c in moved]
    md = [f"- `{n}` {c.note}: {word[c.status]}" for n, c in moved]
    return ["", head] + lines, ["", head] + md


def time_mark(v):
    """A timing's verdict in words: the status, and for no difference
    whether the interval sits within the margin or is too wide to tell."""
    if v.status == vd.UNCHANGED and v.note:
        return TIME_MARK[v.status] + (" (equivalent)" if v.note.startswith("equivalent") else " (too wide)")
    return TIME_MARK[v.status]


def time_table(rows, rules):
    w = max(9, *(len(n) for n, _ in rows))
    conf = f"{100 * (1 - rules.time.alpha):g}%"
    lines = [f"{'benchmark':<{w}} {'base ns/op':>11} {'new ns/op':>11} {'new/base':>9} {conf + ' interval':>17} "
             f"{'n':>6}  verdict"]
    md = [f"| benchmark | base ns/op | new ns/op | new/base | {conf} interval | n | verdict |",
          "|---|---|---|---|---|---|---|"]
    for n, v in rows:
        t = v.figure("time")
        iv = "-" if v.interval is None else f"{pct(v.interval[0] - 1)}..{pct(v.interval[1] - 1)}"
        reps = f"{v.n[0]}/{v.n[1]}"
        lines.append(f"{n:<{w}} {sig3(t.base):>11} {sig3(t.new):>11} {pct(t.change):>9} {iv:>17} "
                     f"{reps:>6}  {time_mark(v)}")
        md.append(f"| `{n}` | {sig3(t.base)} | {sig3(t.new)} | {pct(t.change)} | {iv} | {reps} | {time_mark(v)} |")
    note = f"Timings: ns/op are the medians of the samples; {vd.time_rule_text(rules.time)}."
    return lines + ["", note], md + ["", note]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

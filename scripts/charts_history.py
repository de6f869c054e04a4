"""History: each family's key ratios across runs, in time order, with the
run that moved a ratio marked (what a CI user looks at when a gate fails).

A family's key ratios are, per variant, the geometric mean of its ratios to
the group's reference (charts_findings: paired when the run was, else ratios
of medians) over the workload/size groups that every run measured, so a run
of a subset does not move the line by itself.
"""

from __future__ import annotations

import datetime
import math
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charts_findings as cf  # noqa: E402
import charts_style as cs  # noqa: E402
from textstats import ordered  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

MOVE = 0.10  # a key ratio that changes by more than this between two runs is marked


def run_date(res):
    d = res.context.get("date")
    try:
        return datetime.datetime.fromisoformat(str(d)) if d else None
    except ValueError:
        return None


def run_commit(res):
    b = res.ct.get("build") if isinstance(res.ct.get("build"), dict) else {}
    c = str(b.get("git_commit") or "")[:8]
    return c + ("+" if c and b.get("git_dirty") else "")


def order_runs(results):
    """Oldest first by the date in the file (files without one keep their order, last)."""
    key = lambda ir: (run_date(ir[1]) is None, run_date(ir[1]).timestamp() if run_date(ir[1]) else 0, ir[0])
    return [r for _, r in sorted(enumerate(results), key=key)]


def run_label(res):
    d = run_date(res)
    return (d.strftime("%m-%d %H:%M") if d else os.path.basename(res.path)) + (
        f"\n{run_commit(res)}" if run_commit(res) else "")


@dataclass
class Move:
    family: str
    variant: str
    run: int            # index of the run that moved the ratio (the later of the two)
    before: float
    after: float

    @property
    def change(self):
        return self.after / self.before - 1


def key_ratios(results, family):
    """({variant: [geometric-mean ratio per run]}, [index of those runs]) over
    the runs that measured the family and the groups all of them have."""
    per = [{(f.workload, f.size_label, f.variant): f.ratio for f in cf.findings(res, family)} for res in results]
    runs = [i for i, p in enumerate(per) if p]
    if len(runs) < 2:
        return {}, runs
    common = set.intersection(*[set(per[i]) for i in runs])
    out = {}
    for v in ordered(k[2] for k in sorted(common, key=lambda k: list(per[runs[0]]).index(k))):
        keys = [k for k in common if k[2] == v]
        out[v] = [math.exp(sum(math.log(per[i][k]) for k in keys) / len(keys)) for i in runs]
    return out, runs


def moves(family, series, runs):
    """The biggest step of each variant's line, when it exceeds MOVE."""
    out = []
    for v, ys in series.items():
        steps = [(abs(math.log(ys[i] / ys[i - 1])), i) for i in range(1, len(ys))]
        if not steps:
            continue
        size, i = max(steps)
        if size > math.log(1 + MOVE):
            out.append(Move(family, v, runs[i], ys[i - 1], ys[i]))
    return sorted(out, key=lambda m: -abs(math.log(1 + m.change)))


@dataclass
class History:
    series: dict   # key_ratios' lines
    runs: list     # the runs they span
    moves: list    # their moves (Move), biggest first


def family_history(results, family):
    """The family's key ratios across the runs and their moves; None when
    fewer than two runs measured it (no line to draw)."""
    series, runs = key_ratios(results, family)
    return History(series, runs, moves(family, series, runs)) if series else None


def chart_history(results, family, history):
    series, runs, found = history.series, history.runs, history.moves
    rows = [r for res in results for r in res.rows if r.family == family]
    styles = cs.variant_styles(rows)
    fig, ax = plt.subplots(figsize=(10.5, 4.2))
    xs = list(range(len(results)))  # every run keeps its place; a family's line skips runs without it
    for v, ys in series.items():
        role, colour, _ = styles.get(v, ("unknown", "#555555", ""))
        ax.plot(runs, ys, marker=cs.ROLE_MARK.get(role, "o"), ms=4, lw=1.4, ls=cs.ROLE_LINE.get(role, "-"),
                color=colour, label=f"{v} ({role})", gid=f"series:{v}")
    for m in found:
        ax.plot([m.run], [m.after], ls="none", marker="o", ms=12, mfc="none", mec="#b2182b", mew=1.6,
                gid=f"move:{m.variant}:{m.run}")
    ax.axhline(1.0, color="black", lw=0.9, gid="reference")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    step = max(1, math.ceil(len(xs) / 10))  # at most ten labelled runs: labels never collide
    ax.set_xticks(xs[::step])
    ax.set_xticklabels([run_label(results[i]) for i in xs[::step]], fontsize=7)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_xlabel("run (date, commit), oldest first")
    refs = ordered(f.reference for f in cf.findings(results[runs[-1]], family))
    ax.set_ylabel(f"time / {'/'.join(refs)}'s (log)")
    cs.figure_legend(fig, [ax])
    title = f"{family}: each variant's ratio to {'/'.join(refs)} across {len(runs)} runs"
    cs.finish(fig, title, cs.legend_rows(len(series)))
    caption = ("Per variant, the geometric mean of its ratios to the reference over the workload/size groups every "
               f"run measured; red rings: the run at which a ratio moved by more than {MOVE * 100:.0f}% since the "
               "run before. " + "; ".join(f"{os.path.basename(r.path)}: {cf.method_text(cf.findings(r, family))}"
                                          for r in [results[runs[-1]]]))
    return fig, title, caption


def move_sentence(m, results):
    r = results[m.run]
    return (f"{m.variant}'s ratio moved from {m.before:.3g} to {m.after:.3g} ({m.change * 100:+.0f}%) at the run of "
            f"{run_label(r).replace(chr(10), ', commit ')} ({os.path.basename(r.path)})")

"""Findings: what a family's run says, first. Every variant of a comparison
group (family / workload / size) against the group's reference variant: the
paired ratio with its interval when the run was paired (issue 17: the row's
`cachetick.paired` block), else the ratio of two medians, labelled unpaired
and judged by a stated margin. Drawn as a forest plot per family, told in
one generated sentence, and side by side for several machines.

ratio = this variant's time / the reference's time: below 1 it is faster
than the reference, above 1 slower.
"""

from __future__ import annotations

import math
import os
import textwrap
import sys
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charts_style as cs  # noqa: E402
from textstats import ordered  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

# Without paired rounds there is no interval: a ratio of medians within this
# margin of 1 is not called either way (timing noise on shared machines).
UNPAIRED_MARGIN = 0.05
FASTER, SLOWER, NO_DIFF = "faster", "slower", "no_difference"


@dataclass
class Finding:
    family: str
    workload: str
    size_label: str
    size: float
    variant: str
    role: str
    reference: str
    ratio: float
    lo: float
    hi: float
    verdict: str          # FASTER / SLOWER / NO_DIFF, this variant against the reference
    paired: bool          # False: a ratio of medians, no interval
    rounds: int | None = None


def group_reference(rows):
    """The group's reference variant: the one its paired blocks name, else
    its (first) optimised variant; None when there is neither."""
    named = [r.paired.reference for r in rows if r.paired is not None]
    if named:
        return named[0]
    return next((r.variant for r in rows if r.role == "optimised"), None)


def unpaired_verdict(ratio):
    if ratio < 1 - UNPAIRED_MARGIN:
        return FASTER
    return SLOWER if ratio > 1 + UNPAIRED_MARGIN else NO_DIFF


def group_findings(rows):
    ref = group_reference(rows)
    ref_row = next((r for r in rows if r.variant == ref), None)
    out = []
    for r in rows:
        if ref is None or r.variant == ref:
            continue
        p = r.paired
        size = r.size if r.size is not None else math.inf
        if p is not None and p.reference == ref:
            out.append(Finding(r.family, r.workload, r.size_label, size, r.variant, r.role, ref, p.ratio, p.lo,
                               p.hi, p.verdict or unpaired_verdict(p.ratio), True, p.rounds))
        elif ref_row is not None and r.ns_per_op and ref_row.ns_per_op:
            q = r.ns_per_op / ref_row.ns_per_op
            out.append(Finding(r.family, r.workload, r.size_label, size, r.variant, r.role, ref, q, q, q,
                               unpaired_verdict(q), False))
    return out


def findings(res, family=None):
    """Every variant against its group's reference, in the file's order."""
    groups = {}
    for r in res.rows:
        if r.error is None and (family is None or r.family == family):
            groups.setdefault((r.family, r.workload, r.size_label), []).append(r)
    return [f for rows in groups.values() for f in group_findings(rows)]


def is_paired(finds):
    return bool(finds) and all(f.paired for f in finds)


def method_text(finds):
    if is_paired(finds):
        return "paired: median of per-round ratios, 95% sign-test interval"
    if any(f.paired for f in finds):
        return "partly paired (intervals drawn); the rest are ratios of medians, unpaired"
    return (f"unpaired: ratios of medians, no interval; within +-{UNPAIRED_MARGIN * 100:.0f}% counts as "
            "no difference shown")


# ---------------------------------------------------------------------------
# The sentence

def times(x):
    return f"{x:.2g}x" if x < 10 else f"{x:.0f}x"


def span(vals):
    lo, hi = min(vals), max(vals)
    return times(lo) if f"{lo:.2g}" == f"{hi:.2g}" else f"{lo:.2g}-{times(hi)}"


def family_sentence(finds):
    """One sentence from the data: does the reference win its groups, by how
    much over the closest rival, and who beats it where."""
    if not finds:
        return ""
    refs = ordered(f.reference for f in finds)
    groups = {}
    for f in finds:
        groups.setdefault((f.workload, f.size_label), []).append(f)
    # Variants of role "reference" are reference points beside the optimised
    # one (a scalar build, another arena), not rivals: a tie with them is no loss.
    rivals = lambda g: [f for f in g if f.role != "reference"] or g
    won = [g for g in groups.values() if all(f.verdict == SLOWER for f in rivals(g))]
    lost = [f for g in groups.values() for f in rivals(g) if f.verdict == FASTER]
    open_ = [g for g in groups.values() if g not in won and not any(f.verdict == FASTER for f in rivals(g))]
    points = [f for f in finds if f.role == "reference" and any(x.role != "reference" for x in finds)]
    who = "/".join(refs)
    parts = []
    if won:
        closest = [min(f.ratio for f in rivals(g)) for g in won]
        parts.append(f"{who} is faster than every rival in {len(won)} of {len(groups)} workload/size "
                     f"groups (closest rival {span(closest)} slower)")
    else:
        parts.append(f"{who} is faster than every rival in none of its {len(groups)} workload/size groups")
    if lost:
        by = {}
        for f in lost:
            by.setdefault((f.variant, f.workload), []).append(f)
        worst = sorted(by.items(), key=lambda kv: (-len(kv[1]), min(f.ratio for f in kv[1])))
        said = [f"{v} on {w} at {', '.join(f.size_label for f in fs)} ({span([1 / f.ratio for f in fs])} faster)"
                for (v, w), fs in worst[:3]]
        more = len(worst) - 3
        parts.append("beaten by " + "; ".join(said) + (f"; and {more} more variant/workload pair(s)" if more > 0 else ""))
    if open_:
        parts.append(f"{len(open_)} group(s) with no difference shown against the closest rival")
    for v in ordered(f.variant for f in points):
        fs = [f for f in points if f.variant == v]
        n = {k: [f for f in fs if f.verdict == k] for k in (FASTER, SLOWER, NO_DIFF)}
        said = ([f"{span([1 / f.ratio for f in n[FASTER]])} faster in {len(n[FASTER])}"] if n[FASTER] else []) + \
               ([f"{span([f.ratio for f in n[SLOWER]])} slower in {len(n[SLOWER])}"] if n[SLOWER] else []) + \
               ([f"no difference shown in {len(n[NO_DIFF])}"] if n[NO_DIFF] else [])
        parts.append(f"reference point {v}: " + ", ".join(said) + " group(s)")
    tail = "" if is_paired(finds) else " (ratios of medians, unpaired)"
    return "; ".join(parts) + tail + "."


# ---------------------------------------------------------------------------
# The forest plot

def ratio_axis(ax, values):
    vals = [v for v in values if v and v > 0 and math.isfinite(v)] + [1.0]
    lo, hi = min(vals), max(vals)
    pad = (hi / lo) ** 0.06 if hi > lo else 1.2
    ax.set_xscale("log")
    ax.set_xlim(lo / pad, hi * pad)
    decades = math.log10(hi * pad / (lo / pad))
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter() if decades > 0.7 else FuncFormatter(lambda v, _: f"{v:g}"))
    ax.axvline(1.0, color="black", lw=1.0, gid="reference")


def forest_panel(ax, finds, styles, sizes, xvals, marker=4.5):
    """One workload: a band per size (smallest at the top), one point per
    variant inside it, its interval as a line; hollow = no difference shown."""
    variants = [v for v in styles if any(f.variant == v for f in finds)]
    n = max(1, len(variants))
    for i, v in enumerate(variants):
        role, colour, _ = styles[v]
        pts = [(sizes.index(f.size_label) + (i + 0.5) / n * 0.8 - 0.4, f) for f in finds if f.variant == v]
        for decided in (True, False):
            sel = [(y, f) for y, f in pts if (f.verdict != NO_DIFF) == decided]
            if not sel:
                continue
            ax.plot([f.ratio for _, f in sel], [y for y, _ in sel], ls="none", marker=cs.ROLE_MARK.get(role, "o"),
                    ms=marker, color=colour, mfc=colour if decided else "white", mew=1.0,
                    label=f"{v} ({role})" if decided or not any(f.verdict != NO_DIFF for _, f in pts) else None,
                    gid=f"series:{v}" + ("" if decided else ":no_difference"))
        iv = [(y, f) for y, f in pts if f.hi > f.lo]
        if iv:
            ax.hlines([y for y, _ in iv], [f.lo for _, f in iv], [f.hi for _, f in iv], color=colour, lw=1.2)
    ax.set_yticks(range(len(sizes)))
    ax.set_yticklabels(sizes)
    ax.set_ylim(len(sizes) - 0.5, -0.5)
    for k in range(1, len(sizes)):
        ax.axhline(k - 0.5, color="0.85", lw=0.6)
    ax.grid(axis="y", visible=False)
    ratio_axis(ax, xvals)


def forest_layout(n_panels, n_sizes, n_variants, ncols=2):
    """Panel height from its bands, capped so the figure stays under MAX_FIG_H."""
    nrows = math.ceil(n_panels / ncols)
    want = 0.75 + n_sizes * max(0.32, 0.075 * n_variants)
    top = 1.0 + 0.24 * cs.legend_rows(n_variants)
    return nrows, min(want, (cs.MAX_FIG_H - top) / nrows), top


def chart_forest(res, family, finds=None):
    finds = findings(res, family) if finds is None else finds
    if not finds:
        return None
    rows = [r for r in res.rows if r.family == family]
    styles = {v: s for v, s in cs.variant_styles(rows).items() if any(f.variant == v for f in finds)}
    workloads = ordered(f.workload for f in finds)
    ncols = 1 if len(workloads) == 1 else 2
    sizes = {w: sorted(ordered(f.size_label for f in finds if f.workload == w),
                       key=lambda s: next(f.size for f in finds if f.size_label == s)) for w in workloads}
    nrows, h, top = forest_layout(len(workloads), max(len(s) for s in sizes.values()), len(styles), ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols if ncols > 1 else 9, h * nrows + top), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[len(workloads):]:
        a.remove()
    xvals = [x for f in finds for x in (f.lo, f.hi, f.ratio)]
    crowd = max(len(s) for s in sizes.values()) * len(styles)
    for ax, w in zip(flat, workloads):
        forest_panel(ax, [f for f in finds if f.workload == w], styles, sizes[w], xvals,
                     marker=4.5 if crowd <= 40 else 3.2)
        ax.set_title(f"workload {w}" if w != "-" else "all benchmarks", loc="left")
    refs = ordered(f.reference for f in finds)
    for ax in flat[len(workloads) - ncols:len(workloads)]:
        ax.set_xlabel(f"time / {'/'.join(refs)}'s time (log; left of 1 = faster than it)")
    cs.figure_legend(fig, flat[:len(workloads)])
    title = f"{family}: every variant against {'/'.join(refs)}, by workload and size"
    cs.finish(fig, title, cs.legend_rows(len(styles)))
    caption = (f"Ratio of time per operation to the reference ({method_text(finds)}). Filled = a difference "
               "shown, hollow = none shown; lines = the interval"
               + ("" if any(f.hi > f.lo for f in finds) else " (none: an unpaired run has no interval)")
               + "; size bands from small (top) to large.")
    return fig, title, caption


def findings_table(finds, esc, sig3):
    """Every finding as a compact HTML table (esc/sig3: the report's formatters)."""
    out = ["<table><tr><th>workload</th><th>size</th><th>variant</th><th>ratio to reference</th>"
           "<th>interval</th><th>verdict</th><th>rounds</th></tr>"]
    for f in finds:
        cls = {FASTER: "reg", SLOWER: "imp"}.get(f.verdict, "")
        out.append(f"<tr><td>{esc(f.workload)}</td><td>{esc(f.size_label)}</td><td>{esc(f.variant)}</td>"
                   f"<td class=n>{sig3(f.ratio)}</td>"
                   f"<td class=n>{sig3(f.lo) + '-' + sig3(f.hi) if f.paired else 'unpaired'}</td>"
                   f"<td class={cls}>{esc(f.verdict.replace('_', ' '))} than {esc(f.reference)}</td>"
                   f"<td class=n>{f.rounds if f.rounds is not None else '-'}</td></tr>")
    out.append("</table>")
    return "".join(out).replace("no difference than", "no difference shown against")


def manifest(finds):
    return [{k: v for k, v in asdict(f).items() if k != "size"} for f in finds]


# ---------------------------------------------------------------------------
# Several machines: the same findings per host, side by side

def chart_hosts_forest(results, labels, family):
    """Panels: one row per workload, one column per machine, same axes: where
    the lesson holds and where it turns."""
    per = [findings(res, family) for res in results]
    keys = lambda fs: {(f.workload, f.size_label, f.variant) for f in fs}
    have = [i for i, fs in enumerate(per) if fs]
    if len(have) < 2:
        return None
    common = set.intersection(*[keys(per[i]) for i in have])
    if not common:
        return None
    per = [[f for f in per[i] if (f.workload, f.size_label, f.variant) in common] for i in have]
    labs = [labels[i] for i in have]
    rows = [r for i in have for r in results[i].rows if r.family == family]
    styles = {v: s for v, s in cs.variant_styles(rows).items() if any(v == k[2] for k in common)}
    workloads = ordered(f.workload for f in per[0])
    sizes = {w: sorted(ordered(f.size_label for f in per[0] if f.workload == w),
                       key=lambda s: next(f.size for f in per[0] if f.size_label == s)) for w in workloads}
    ncols = len(per)
    nrows, h, top = forest_layout(len(workloads) * ncols, max(len(s) for s in sizes.values()), len(styles), ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(4.6 * ncols, 9), h * nrows + top),
                             squeeze=False, sharex=True)
    xvals = [x for fs in per for f in fs for x in (f.lo, f.hi, f.ratio)]
    for r, w in enumerate(workloads):
        for c, fs in enumerate(per):
            ax = axes[r][c]
            forest_panel(ax, [f for f in fs if f.workload == w], styles, sizes[w], xvals, marker=3.6)
            head = f"{wshort(w)} \u2014 {labs[c]}" if r == 0 else wshort(w)
            ax.set_title(fit(head, fig.get_figwidth() / ncols, 8.5), loc="left", fontsize=8.5)
            if c > 0:
                ax.set_yticklabels([])
        for c in range(ncols):
            axes[-1][c].set_xlabel("time / reference's (log)")
    cs.figure_legend(fig, [a for row in axes for a in row])
    refs = ordered(f.reference for fs in per for f in fs)
    title = f"{family}: every variant against {'/'.join(refs)} on {ncols} machines"
    cs.finish(fig, title, cs.legend_rows(len(styles)))
    caption = ("One column per machine, the same benchmarks and axes: a point left of 1 is faster than the "
               "reference on that machine. " + "; ".join(f"{lab}: {method_text(fs)}" for lab, fs in zip(labs, per)))
    return fig, title, caption


def fit(text, width_in, points):
    """Text wrapped to a width in inches (a character is about 0.6 em)."""
    return "\n".join(textwrap.wrap(text, max(12, int(width_in * 72 / (points * 0.62)) - 2)))


def wshort(w):
    return "all" if w == "-" else w

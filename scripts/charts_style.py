"""The look every cachetick chart shares (report.py and the chart modules
beside it): role colours, the size order, grids of panels whose height is
capped, the shared legend, and a check that no two texts of a drawn figure
overlap."""

from __future__ import annotations

import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cachetick_results as cr  # noqa: E402
from textstats import ordered  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

# No chart taller than this (inches): at the report's thumbnail resolution
# (THUMB_DPI) that is about 1100 pixels, less than two screens.
MAX_FIG_H = 13.5
THUMB_DPI = 80

# Same bytes in, same SVG out: reference charts do not churn in git.
plt.rcParams.update({
    "svg.hashsalt": "cachetick", "svg.fonttype": "none", "font.size": 9,
    "axes.titlesize": 10, "axes.titleweight": "bold", "figure.titlesize": 12,
    "axes.spines.top": False, "axes.spines.right": False, "axes.axisbelow": True,
    "axes.grid": True, "grid.color": "0.88", "grid.linewidth": 0.6,
    "legend.fontsize": 8, "legend.frameon": False,
})

# Colour says the role, hatching says "a library": optimised in blues, naive
# in reds, peers in distinct earthy/green/purple hues with hatching (so they
# read in greyscale too), reference in grey dots.
ROLE_COLOURS = {
    "optimised": ["#1f4e9c", "#3d85d8", "#84b6ee", "#0b2d5e", "#5f9bd4"],
    "naive": ["#b2312a", "#e07a5f", "#7a1e18", "#f0a58f"],
    "peer": ["#e69f00", "#009e73", "#cc79a7", "#8c6d31", "#bcbd22", "#9467bd", "#17becf",
             "#f0e442", "#7f7f7f", "#b5651d", "#2ca02c", "#ff9896"],
    "reference": ["#9e9e9e", "#cfcfcf"],
    "unknown": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"],
}
ROLE_HATCH = {"optimised": "", "naive": "", "peer": "////", "reference": "....", "unknown": ""}
ROLE_LINE = {"optimised": "-", "naive": "-", "peer": "--", "reference": ":", "unknown": "-"}
ROLE_MARK = {"optimised": "o", "naive": "s", "peer": "^", "reference": "x", "unknown": "o"}
ROLE_ORDER = {r: i for i, r in enumerate(cr.ROLES)}
HOST_COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
HOST_HATCH = ["", "////", "....", "xxxx", "\\\\\\\\", "++"]
LOG_RATIO = 20  # a panel whose values span more than this goes to log scale


def slug(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(s)).strip("-") or "x"


def bytes_formatter():
    return FuncFormatter(lambda x, _: cr.format_bytes(x) if x > 0 else "")


def variant_styles(rows):
    """variant -> (role, colour, hatch), consistent across a family's charts."""
    roles = {}
    for r in rows:
        roles.setdefault(r.variant, r.role)
    order = sorted(roles, key=lambda v: (ROLE_ORDER.get(roles[v], 9), first_index(rows, v)))
    used = {}
    out = {}
    for v in order:
        role = roles[v]
        pal = ROLE_COLOURS.get(role, ROLE_COLOURS["unknown"])
        i = used.get(role, 0)
        used[role] = i + 1
        out[v] = (role, pal[i % len(pal)], ROLE_HATCH.get(role, ""))
    return out


def role_labels(styles):
    return {v: v if role == "unknown" else f"{v} ({role})" for v, (role, _, _) in styles.items()}


def first_index(rows, variant):
    return next(i for i, r in enumerate(rows) if r.variant == variant)


def sizes_in_order(rows):
    """Size labels sorted by size (then by first appearance)."""
    labels = ordered(r.size_label for r in rows)
    size = {}
    for r in rows:
        size.setdefault(r.size_label, r.size if r.size is not None else math.inf)
    return sorted(labels, key=lambda l: (size[l], labels.index(l)))


def op_unit(rows):
    ops = ordered(r.op for r in rows)
    return ops[0] if len(ops) == 1 else "op"


def log_axis(axis, vals):
    """Log scale labelled 1, 2, 5, 10, 20, 50...: readable without 10^n."""
    axis.axes.set_yscale("log") if axis is axis.axes.yaxis else axis.axes.set_xscale("log")
    decades = math.log10(max(vals) / min(vals))
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1000 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def grid(n, ncols_max=2, w=6.2, h=3.4, top_extra=0.7):
    ncols = min(ncols_max, max(1, n))
    nrows = math.ceil(n / ncols)
    h = min(h, (MAX_FIG_H - top_extra) / nrows)  # many panels: flatter ones, never a taller figure
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows + top_extra), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.remove()
    return fig, flat[:n]


def figure_legend(fig, axes, ncol=None):
    handles, labels = [], []
    for ax in axes:
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in labels:
                handles.append(hd)
                labels.append(lb)
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.36 / fig.get_figheight()),
                   ncol=ncol or math.ceil(len(labels) / legend_rows(len(labels))), handlelength=2.2,
                   columnspacing=1.2)


def finish(fig, title, n_legend_rows=1):
    """Title at the top, then the shared legend, then the panels: margins in
    inches so every figure height reads the same."""
    fig.tight_layout()
    h = fig.get_figheight()
    fig.subplots_adjust(top=1 - (0.42 + 0.24 * n_legend_rows + 0.28) / h)
    fig.suptitle(title, x=0.01, y=1 - 0.06 / h, ha="left")


def legend_rows(n_labels, ncol=6):
    return math.ceil(n_labels / ncol)




def ticklabels_drawn(axis):
    """The tick labels matplotlib draws: those of the ticks inside the view
    (get_ticklabels also returns stale ticks kept from an earlier view)."""
    ticks = axis._update_ticks()  # matplotlib's own list of the ticks it will draw
    return [t for tick in ticks for t in (tick.label1, tick.label2) if t.get_visible()]


def drawn_texts(fig):
    """The texts a reader sees in a drawn figure: titles, axis labels, the
    tick labels matplotlib kept for the view, annotations, legends."""
    texts = list(fig.texts)
    for lg in fig.legends:
        texts += lg.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += ticklabels_drawn(ax.xaxis) + ticklabels_drawn(ax.yaxis) + ax.texts
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def text_overlaps(fig, drawn=False):
    """Pairs of visible, non-empty texts of a figure whose boxes overlap,
    measured by matplotlib's renderer: [(text a, text b)]. Empty when every
    label can be read. drawn: the caller has just drawn the figure."""
    if not drawn:
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in drawn_texts(fig):
        bb = t.get_window_extent(renderer)
        if bb.width > 0 and bb.height > 0:
            boxes.append((t.get_text(), bb.expanded(0.96, 0.85)))  # touching is not overlapping
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if boxes[i][1].overlaps(boxes[j][1]):
                out.append((boxes[i][0], boxes[j][0]))
    return out

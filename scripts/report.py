#!/usr/bin/python3
"""cachetick report: charts and a self-contained HTML page from result files.

    scripts/report.sh RESULT.json                       one run
    scripts/report.sh NEW.json --baseline OLD.json      what changed, with significance
    scripts/report.sh A.json B.json                     several hosts side by side
    scripts/report.sh hash.json sort.json --merge       files of one run, as one
    scripts/report.sh results/runs/*.json --history     key ratios across runs, moves marked

Writes DIR/report.html (findings first; charts inlined as small PNGs, one file to share), every chart as
DIR/charts/<id>.svg and .png, and DIR/manifest.json (each chart's panels and
series, read back from the drawn figure: what the tests check). DIR defaults
to the first result's path without .json plus `.report`.

Exit codes: 0 done, 2 bad input (missing, corrupt or foreign file, no
benchmarks, no sizes, unwritable output), 1 a bug in this script.
Run it with Debian's interpreter (scripts/report.sh finds one): it needs
python3-matplotlib, and python3-scipy for significance tests.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import io
import json
import math
import multiprocessing
import os
import re
import sys
from dataclasses import replace
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cachetick_results as cr  # noqa: E402
import charts_findings as cf  # noqa: E402
import charts_history as ch  # noqa: E402
import claims as cl  # noqa: E402
import verdict as vd  # noqa: E402
from atomic import atomic_path, write_text  # noqa: E402
from textstats import ordered, sig3  # noqa: E402
from charts_style import (  # noqa: E402
    HOST_COLOURS, LOG_RATIO, ROLE_LINE, ROLE_MARK, THUMB_DPI, figure_legend, finish, grid,
    legend_rows, log_axis, op_unit, role_labels, sizes_in_order, slug, text_overlaps, variant_styles)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

STATUS_STYLE = {  # baseline vs new (verdict.py decides); regressions are dark red, crossed and marked
    vd.REGRESSION: dict(color="#b2182b", hatch="xxxx", edgecolor="black", mark="\u25b2 slower"),
    vd.IMPROVEMENT: dict(color="#1a7a3c", hatch="", edgecolor="black", mark="\u25bc faster"),
    vd.UNCHANGED: dict(color="#c8c8c8", hatch="", edgecolor="#888888", mark=""),
    vd.UNTESTED: dict(color="white", hatch="....", edgecolor="#555555", mark="?"),
    vd.SHARED_CORE: dict(color="white", hatch="////", edgecolor="#555555", mark="shared"),
    vd.OTHER_MACHINE: dict(color="white", hatch="\\\\", edgecolor="#555555", mark="other machine"),
}


# ---------------------------------------------------------------------------
# Panels

def set_value_scale(ax, values, extra=()):
    vals = [v for v in list(values) + list(extra) if v is not None and v > 0]
    if len(vals) >= 2 and max(vals) / min(vals) > LOG_RATIO:
        log_axis(ax.yaxis, vals)
        return True
    ax.set_ylim(bottom=0)
    return False


def bars_panel(ax, rows, styles, value, budget=None, title=None, ylabel="", legend_labels=None):
    """Grouped bars: one group per size, one bar per variant, whiskers = min-max
    of the repetitions. Returns the values drawn."""
    sizes = sizes_in_order(rows)
    variants = [v for v in styles if any(r.variant == v for r in rows)]
    n = max(1, len(variants))
    width = 0.8 / n
    drawn = []
    for i, v in enumerate(variants):
        role, colour, hatch = styles[v]
        xs, hs, lo, hi = [], [], [], []
        for j, s in enumerate(sizes):
            r = next((r for r in rows if r.variant == v and r.size_label == s), None)
            val = value(r) if r is not None else None
            if val is None:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            hs.append(val)
            samp = r.samples if value is ns_value and len(r.samples) >= 2 else []
            lo.append(val - min(samp) if samp else 0)
            hi.append(max(samp) - val if samp else 0)
        if not xs:
            continue
        label = v if legend_labels is None else legend_labels.get(v, v)
        ax.bar(xs, hs, width * 0.92, color=colour, hatch=hatch, edgecolor="black" if hatch else colour,
               linewidth=0.4, label=label, gid=f"series:{v}")
        for x, h in zip(xs, hs):
            if h == 0:  # a measured zero, told apart from a missing bar
                ax.annotate("0", (x, 0), xytext=(0, 1), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, color=colour)
        if any(lo) or any(hi):
            ax.errorbar(xs, hs, yerr=[lo, hi], fmt="none", ecolor="black", elinewidth=0.6, capsize=1.5)
        drawn += hs
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels(sizes, rotation=0 if len(sizes) <= 8 else 45)
    ax.set_xlim(-0.6, len(sizes) - 0.4)
    log = set_value_scale(ax, drawn, [budget] if budget else [])
    if budget:
        ax.axhline(budget, color="black", ls="--", lw=1.0, gid="budget",
                   label=f"budget {budget:g} ns/op")
    ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
    ax.set_xlabel("size")
    if title:
        ax.set_title(title, loc="left")
    return drawn


def wl_title(w):
    return "all benchmarks" if w == "-" else f"workload {w}"


def ns_value(r):
    return r.ns_per_op


# ---------------------------------------------------------------------------
# Charts. Each returns (figure, title, caption) or None when it does not apply.

def chart_family_bars(res, family):
    rows = [r for r in res.rows if r.family == family and r.ns_per_op is not None]
    if len(rows) < 2:  # one bar compares nothing (e.g. the harness's empty loop): table only
        return None
    styles = variant_styles(rows)
    workloads = ordered(r.workload for r in rows)
    budget = res.budget_ns
    per_panel = max(len(sizes_in_order([r for r in rows if r.workload == w])) *
                    len(ordered(r.variant for r in rows if r.workload == w)) for w in workloads)
    fig, axes = grid(len(workloads), ncols_max=1 if per_panel > 24 else 2,
                     w=12.4 if per_panel > 24 else 6.2)
    unit = op_unit(rows)
    labels = role_labels(styles)
    for ax, w in zip(axes, workloads):
        wr = [r for r in rows if r.workload == w]
        bars_panel(ax, wr, styles, ns_value, budget, title=wl_title(w), ylabel=f"ns per {op_unit(wr)}",
                   legend_labels=labels)
    figure_legend(fig, axes)
    reps = max(len(r.samples) for r in rows)
    title = f"{family}: time per {unit} by variant, for each workload and size"
    finish(fig, title, legend_rows(len(labels) + (1 if budget else 0)))
    roles = {r.role for r in rows} - {"unknown"}
    caption = (f"Lower is better. Bars: {'median of ' + str(reps) + ' repetitions, whiskers min to max' if reps > 1 else 'one repetition'}"
               + ("; blue = cachetick's optimised variants, red = naive, hatched = peer libraries, dotted = reference" if roles else "")
               + (f"; dashed line: the {budget:g} ns/op budget." if budget else "."))
    return fig, title, caption


def chart_family_sweep(res, family):
    rows = [r for r in res.rows if r.family == family and r.ns_per_op is not None and r.size is not None]
    bytes_axis = all(r.working_set_bytes for r in rows)
    xval = (lambda r: r.working_set_bytes) if bytes_axis else (lambda r: r.size)
    # A sweep needs a line: some variant at two sizes or more. (One size per
    # variant, as sharing's 2T on a 2-core machine, gave scattered dots at
    # the variants' strides, which read as a sweep and are none.)
    workloads = [w for w in ordered(r.workload for r in rows)
                 if any(len({xval(r) for r in rows if r.workload == w and r.variant == v and xval(r)}) >= 2
                        for v in {r.variant for r in rows if r.workload == w})]
    if not workloads:
        return None
    styles = variant_styles(rows)
    budget = res.budget_ns
    caches = res.caches() if bytes_axis else []
    fig, axes = grid(len(workloads))
    unit = op_unit(rows)
    for ax, w in zip(axes, workloads):
        wr = [r for r in rows if r.workload == w and xval(r)]
        ys_all = []
        for v in styles:
            pts = sorted((xval(r), r.ns_per_op) for r in wr if r.variant == v)
            if not pts:
                continue
            role, colour, _ = styles[v]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], ls=ROLE_LINE.get(role, "-"),
                    marker=ROLE_MARK.get(role, "o"), ms=4, lw=1.4, color=colour, label=role_labels(styles)[v],
                    gid=f"series:{v}")
            ys_all += [p[1] for p in pts]
        ax.set_xscale("log", base=2)
        log = set_value_scale(ax, ys_all, [budget] if budget else [])
        xs = [xval(r) for r in wr]
        lo, hi = min(xs) / 1.6, max(xs) * 1.6
        ax.set_xlim(lo, hi)
        for name, size in caches:
            if lo <= size <= hi:
                ax.axvline(size, color="0.35", ls=":", lw=1.0, gid=f"cache:{name}")
                ax.text(size, 1.0, f" {name} {cr.format_bytes(size)}", transform=ax.get_xaxis_transform(),
                        rotation=90, va="top", ha="right", fontsize=7, color="0.3")
        if budget:
            ax.axhline(budget, color="black", ls="--", lw=1.0, gid="budget", label=f"budget {budget:g} ns/op")
        if bytes_axis:
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=40))
            ax.xaxis.set_major_formatter(FuncFormatter(
                lambda x, _: cr.format_bytes(x) if x > 0 and round(math.log2(x)) % 2 == 0 else ""))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("working set (bytes, log scale)" if bytes_axis else "size argument (log scale)")
        ax.set_ylabel(f"ns per {op_unit(wr)}" + (" (log scale)" if log else ""))
        ax.set_title(wl_title(w), loc="left")
    figure_legend(fig, axes)
    title = f"{family}: time per {unit} against working-set size"
    finish(fig, title, legend_rows(len(styles) + 1))
    caption = ("Where each variant falls off a cache level: one line per variant (dashed = peer libraries), "
               + (f"dotted verticals = this machine's L1d/L2/L3 sizes ({res.caches_source()})" if caches else
                  "cache sizes not marked (sizes are arguments, not bytes)")
               + (f"; dashed horizontal = {budget:g} ns/op budget." if budget else "."))
    return fig, title, caption


def counter_label(res, name, per_op=True):
    units = res.ct.get("units") if isinstance(res.ct.get("units"), dict) else {}
    if name in units:
        text = str(units[name])
        return text if len(text) <= 48 else name.replace("_", " ")
    if name.endswith("_per_op") or not res.is_cachetick:
        return name.replace("_", " ")
    return f"{name} per op"


def chart_family_counters(res, family, workload):
    rows = [r for r in res.rows if r.family == family and r.workload == workload]
    names = ordered(k for r in rows for k in r.counters)
    if not names:
        return None
    styles = variant_styles(rows)
    timed = [r for r in rows if r.ns_per_op is not None]
    panels = (["time"] if timed else []) + names
    labels = role_labels(styles)
    fig, axes = grid(len(panels), ncols_max=3, w=4.6, h=3.2)
    unit = op_unit(rows)
    for ax, p in zip(axes, panels):
        if p == "time":
            bars_panel(ax, timed, styles, ns_value, res.budget_ns, title=f"time (ns per {unit})",
                       ylabel=f"ns per {unit}", legend_labels=labels)
        else:
            vals = [r for r in rows if p in r.counters]
            bars_panel(ax, vals, styles, lambda r, p=p: r.counters.get(p), None, title=p,
                       ylabel=counter_label(res, p), legend_labels=labels)
    figure_legend(fig, axes)
    title = f"{family}{'' if workload == '-' else ' / ' + workload}: counters per {unit} beside the time"
    finish(fig, title, legend_rows(len(styles) + 1))
    caption = ("Per-operation counters read once per batch, as the result file names them (median of the "
               "repetitions); a missing bar means the counter was not available for that row, never zero.")
    if not res.is_cachetick:
        caption = "Google Benchmark user counters as written in the file (it does not say whether they are per iteration)."
    return fig, title, caption


def find_calibration(res):
    cal = res.ct.get("calibration")
    return cal if isinstance(cal, dict) else None


def calibration_curves(cal):
    """[(panel title, y label, {series: [(bytes, value)]})] from whatever curves
    the calibration block holds: any {"points": [{"bytes": ..., numbers...}]}."""
    panels = []
    for key, block in sorted(cal.items(), key=lambda kv: kv[0] != "latency"):
        pts = block.get("points") if isinstance(block, dict) else (block if isinstance(block, list) else None)
        if not isinstance(pts, list) or not pts or not all(isinstance(p, dict) and "bytes" in p for p in pts):
            continue
        fields = ordered(k for p in pts for k, v in p.items()
                         if k != "bytes" and isinstance(v, (int, float)) and not isinstance(v, bool))
        if key == "latency" and "ns" in fields:
            fields = ["ns"]
        else:  # the headline fields; best/median/min twins and other units add clutter
            fields = [f for f in fields if not re.search(r"best|median|min|max|ticks|est_cycles", f)] or fields
        series = {f: [(cr._num(p["bytes"]), cr._num(p.get(f))) for p in pts
                      if cr._num(p["bytes"]) and cr._num(p.get(f)) is not None] for f in fields}
        series = {f: s for f, s in series.items() if len(s) >= 2}
        if not series:
            continue
        unit = block.get("unit", "") if isinstance(block, dict) else ""
        ylabel = ("ns per load" if key == "latency" else
                  "GB/s" if all("gb_per_s" in f for f in series) else key)
        panels.append((key, ylabel, series, unit))
    return panels


CAL_NAMES = {"ns": "latency", "read_gb_per_s": "read, 1 stream", "write_gb_per_s": "write",
             "read_multi_gb_per_s": "read, fastest of 2/4/8 streams"}


def calibration_steps(cal):
    """The latency curve's steps that are not cache levels (format 3: TLB
    reach, page walks, not separable; or unnamed when the levels are unknown)."""
    steps = cal.get("steps")
    return [st for st in steps if isinstance(st, dict) and cr._num(st.get("edge_bytes"))] if isinstance(steps, list) else []


def chart_calibration(res):
    cal = find_calibration(res)
    if not cal:
        return None
    panels = calibration_curves(cal)
    if not panels:
        return None
    fig, axes = grid(len(panels), ncols_max=2)
    caches = res.caches()
    levels = cal.get("levels") if isinstance(cal.get("levels"), list) else []
    for ax, (key, ylabel, series, unit) in zip(axes, panels):
        for i, (f, pts) in enumerate(series.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1.4,
                    color=HOST_COLOURS[i % len(HOST_COLOURS)], label=CAL_NAMES.get(f, f.replace("_", " ")),
                    gid=f"series:{key}:{f}")
        xs = [p[0] for pts in series.values() for p in pts]
        ys = [p[1] for pts in series.values() for p in pts]
        ax.set_xscale("log", base=2)
        if key == "latency" or (min(ys) > 0 and max(ys) / min(ys) > LOG_RATIO):
            log_axis(ax.yaxis, ys)
        lo, hi = min(xs) / 1.4, max(xs) * 1.4
        ax.set_xlim(lo, hi)
        for name, size in caches:
            if not lo <= size <= hi:
                continue
            ax.axvline(size, color="0.35", ls=":", lw=1.0, gid=f"cache:{name}")
            ax.text(size, 1.0, f" {name} {cr.format_bytes(size)}", transform=ax.get_xaxis_transform(),
                    rotation=90, va="top", ha="right", fontsize=7, color="0.3")
        for lv in levels:
            b = cr._num(lv.get("boundary_bytes")) if isinstance(lv, dict) else None
            if b and lo <= b <= hi:
                ax.axvline(b, color="#b2312a", ls="-.", lw=0.9, gid=f"boundary:{lv.get('name')}")
                ax.text(b, 0.02, f" {lv.get('name')} edge found", transform=ax.get_xaxis_transform(),
                        rotation=90, va="bottom", ha="left", fontsize=7, color="#b2312a")
        # Other steps (TLB reach, page walks...) are no cache edges: thin grey
        # dots on the latency panel only, named at the top.
        for st in calibration_steps(cal) if key == "latency" else []:
            b = cr._num(st.get("edge_bytes"))
            if lo <= b <= hi:
                ax.axvline(b, color="0.55", ls=(0, (1, 3)), lw=0.8, gid=f"step:{st.get('kind')}:{int(b)}")
                ax.text(b, 0.98, f" {st.get('name', '')}", transform=ax.get_xaxis_transform(),
                        rotation=90, va="top", ha="left", fontsize=6, color="0.45")
        ax.xaxis.set_major_locator(LogLocator(base=2, numticks=40))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda x, _: cr.format_bytes(x) if x > 0 and round(math.log2(x)) % 2 == 0 else ""))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("working set (bytes, log scale)")
        ax.set_ylabel(ylabel + (" (log scale)" if ax.get_yscale() == "log" else ""))
        ax.set_title(key + (f": {unit}" if unit and len(unit) < 50 else ""), loc="left")
        ax.legend(loc="best")
    title = "calibration: this machine's memory latency and bandwidth against working-set size"
    finish(fig, title, 0)
    caption = ("Measured by `cachetick calibrate` (dependent loads for latency, sequential passes for "
               "bandwidth, one and 2/4/8 concurrent streams); dotted = cache sizes "
               f"({res.caches_source() or 'not recorded'}), dash-dot red = cache-level edges the calibration "
               "detected, grey dots (latency panel) = other steps it named (TLB reach, page walks, not "
               "separable, or unnamed when the cache levels are unknown).")
    return fig, title, caption


# ---------------------------------------------------------------------------
# Baseline vs new

def metric_for(base, new):
    """What to compare: ns/op when both have it, else the first shared counter
    (a sim result has instruction and miss counts but no time)."""
    if any(r.ns_per_op is not None for r in base.rows) and any(r.ns_per_op is not None for r in new.rows):
        return "ns_per_op", "ns/op"
    shared = [k for k in new.counter_names() if k in base.counter_names()]
    pref = [k for k in ("est_cycles_per_op", "instructions_per_op") if k in shared]
    if pref or shared:
        k = (pref or shared)[0]
        return k, k.replace("_", " ")
    return None, None


def judge(o, r, metric, rules, machines_differ=False):
    """verdict.py's verdict on one benchmark, as the gate would give it: sim
    rows on their counts, timings on their samples (repetitions or rounds),
    not judged when the files come from different machines. A result
    without times is compared on a counter: its samples, by the timing rule
    (and not across machines either)."""
    if metric == "ns_per_op" or o.kind == "sim":
        return vd.judge_rows(o, r, rules, machines_differ=machines_differ)
    v = vd.judge_samples(o.counter_samples.get(metric, []), r.counter_samples.get(metric, []),
                         rules.time, name=metric)
    if machines_differ and not rules.time.judge_across_machines:
        return replace(v, status=vd.OTHER_MACHINE, note="the files come from different machines")
    return v


def drawn_figure(v, o, r, metric):
    """(baseline, new, relative change) of the figure the chart draws: the
    verdict's own figure, else (a row with aggregates but no repetitions)
    the file's values. None when there is nothing finite to draw."""
    f = v.figure("time" if metric == "ns_per_op" else metric) if v is not None else None
    if f is not None and f.change is not None:
        a, b, change = f.base, f.new, f.change
    else:
        a = o.ns_per_op if metric == "ns_per_op" else o.counters.get(metric)
        b = r.ns_per_op if metric == "ns_per_op" else r.counters.get(metric)
        if a is None or b is None:
            return None
        change = vd.relative_change(a, b)
    return (a, b, change) if math.isfinite(change) else None


def compare(base, new, rules=vd.Rules()):
    """Every benchmark in both results, judged by verdict.py with the gate's
    rules, with the figure the chart draws (the metric metric_for picks).
    Timings from two different machines (verdict.machine_differences) are
    not judged, unless the rules say so, as in the gate."""
    metric, label = metric_for(base, new)
    machines = vd.machine_differences(base.machine_facts, new.machine_facts)
    old_by = {r.name: r for r in base.rows}
    out, only_new = [], []
    for r in new.rows:
        o = old_by.get(r.name)
        if o is None:
            only_new.append(r.name)
            continue
        v = judge(o, r, metric, rules, machines_differ=bool(machines))
        drawn = drawn_figure(v, o, r, metric)
        if v is None or drawn is None:
            continue  # a failed row, sim against time, or no figure to draw
        a, b, change = drawn
        out.append(dict(name=r.name, family=r.family, old=a, new=b, change=change * 100, p=v.p,
                        status=v.status, verdict=v, kind=o.kind, n_old=v.n[0], n_new=v.n[1],
                        ratio=vd.judge_ratio_change(o.paired, r.paired, rules.time.margin)))
    new_names = {r.name for r in new.rows}
    only_old = [r.name for r in base.rows if r.name not in new_names]
    return dict(metric=metric, label=label, rows=out, only_new=only_new, only_old=only_old, rules=rules,
                machines=machines)


SIGNIFICANT = (vd.REGRESSION, vd.IMPROVEMENT)
MAX_CHANGE_BARS = 30  # the compact chart's rows at most; the rest is in the table


def significant_changes(cmp, family):
    """The family's regressions and improvements, largest change first."""
    rows = [c for c in cmp["rows"] if c["family"] == family and c["status"] in SIGNIFICANT]
    return sorted(rows, key=lambda c: -abs(c["change"]))


def chart_baseline(cmp, family, base, new):
    """Only the significant changes, largest first, at most MAX_CHANGE_BARS
    of them: the chart's height is bounded whatever the suite's size."""
    sig = significant_changes(cmp, family)
    if not sig:
        return None
    rows = sig[:MAX_CHANGE_BARS]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(10.5, 1.6 + 0.24 * n))
    ys = list(range(n))[::-1]
    for status, st in STATUS_STYLE.items():
        sel = [(y, c) for y, c in zip(ys, rows) if c["status"] == status]
        if not sel:
            continue
        ax.barh([y for y, _ in sel], [c["change"] for _, c in sel], 0.7, color=st["color"], hatch=st["hatch"],
                edgecolor=st["edgecolor"], linewidth=0.5, label=status_label(status, cmp), gid="series:" + status.replace(" ", "_"))
    span = max(abs(c["change"]) for c in rows) or 1
    for y, c in zip(ys, rows):
        mark = STATUS_STYLE[c["status"]]["mark"]
        txt = f"{c['change']:+.1f}%" + (f"  {mark}" if mark else "")
        if c["kind"] == "sim":
            txt += f" ({c['verdict'].reason()})"  # the counts that decided, maybe not the one drawn
        reach = [c["change"]] + [(x - 1) * 100 for x in (c["verdict"].interval or ())]  # past the whisker
        ax.text(max(reach) + 0.02 * span if c["change"] >= 0 else min(reach) - 0.02 * span, y, txt,
                va="center", ha="left" if c["change"] >= 0 else "right", fontsize=7,
                fontweight="bold" if c["status"] == vd.REGRESSION else "normal")
    iv = [(y, c["verdict"].interval) for y, c in zip(ys, rows) if c["verdict"].interval]
    if iv:  # the 95% interval of the change, as a whisker on its bar
        ax.hlines([y for y, _ in iv], [(lo - 1) * 100 for _, (lo, _) in iv], [(hi - 1) * 100 for _, (_, hi) in iv],
                  color="black", lw=1.0, gid="intervals")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([c["name"] for c in rows], fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    ends = [c["change"] for c in rows] + [(x - 1) * 100 for _, i in iv for x in i]
    lo, hi = min(0, min(ends)), max(0, max(ends))
    ax.set_xlim(lo * 1.6 - 0.05 * span, hi * 1.6 + 0.05 * span)  # room for the labels, no empty half
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"change in {cmp['label']}, new vs baseline (%; positive = slower)")
    figure_legend(fig, [ax], ncol=4)
    more = len(sig) - n
    title = (f"{family}: the {n} significant change(s) in {cmp['label']}, largest first" if not more else
             f"{family}: the {n} largest of {len(sig)} significant changes in {cmp['label']}")
    finish(fig, title, 1)
    caption = (f"Baseline {os.path.basename(base.path)} ({base.host}) against {os.path.basename(new.path)} ({new.host}); "
               + ("black whiskers: the change's 95% interval; " if iv else "")
               + "unchanged and not judged benchmarks are counted above and listed in the table. " + significance_text(cmp))
    return fig, title, caption


def status_label(status, cmp):
    return {vd.REGRESSION: "significant regression (\u25b2, crossed)", vd.IMPROVEMENT: "significant improvement (\u25bc)",
            vd.UNCHANGED: "no difference shown", vd.UNTESTED: "not enough samples to judge",
            vd.SHARED_CORE: "not judged (ran on a shared core)",
            vd.OTHER_MACHINE: "not judged (different machines)"}[status]


def interval_pct(v):
    """A timing verdict's 95% interval of the change, '-2.1%..+4.0%' ('' without one)."""
    if not v.interval:
        return ""
    lo, hi = v.interval
    return f"{(lo - 1) * 100:+.1f}%..{(hi - 1) * 100:+.1f}%"


def machines_text(cmp):
    """The machine facts that differ between baseline and new, in one sentence ('' when none)."""
    if not cmp["machines"]:
        return ""
    judged = cmp["rules"].time.judge_across_machines
    facts = "; ".join(f"{k}: baseline {b}, new {n}" for k, b, n in cmp["machines"])
    return (f"The baseline comes from a different machine ({facts}). "
            + ("Timings are judged anyway (--judge-across-machines): a change may be the machine's, not the code's."
               if judged else "Timings are not judged (as in the gate; --judge-across-machines judges them); "
               "simulated counts still are. Compare the findings (ratios within each run) instead."))


def significance_text(cmp):
    """How the rows were judged: verdict.py's rules, in its words."""
    rules, label = cmp["rules"], cmp["label"]
    if any(c["kind"] == "sim" for c in cmp["rows"]):
        return (f"Judged as the regression gate judges sim counts: {vd.count_rule_text(rules.counts)} "
                f"A benchmark is marked by its worst count; the bars show {label}.")
    if cmp["metric"] == "ns_per_op":
        t = (f"Judged as the regression gate judges timings: {vd.time_rule_text(rules.time)}; a row that "
             f"ran on a shared core (median core share below {vd.SHARED_CORE_BELOW * 100:.0f}% on either "
             "side) is not judged.")
    else:
        t = f"Compared on {label}: {vd.time_rule_text(rules.time)}."
    if not vd.have_u_test():
        t += " scipy is not installed, so nothing was tested (apt-get install python3-scipy)."
    under = [c["verdict"] for c in cmp["rows"] if c["verdict"].min_p is not None]
    if under:
        v = max(under, key=lambda v: v.min_p)
        t += (f" With {min(v.n)} samples a side the smallest possible p is {sig3(v.min_p)}, so no 95% interval "
              "exists: such rows are counted as not enough samples to judge; a paired run (6+ rounds a row) "
              "or --repetitions 5 or more can be judged.")
    return t


# ---------------------------------------------------------------------------
# Several hosts

def host_labels(results):
    labels = []
    for r in results:
        lab = r.host
        cpu = r.machine.get("cpu_model")
        if cpu:
            lab += f" ({short_cpu(cpu)})"
        labels.append(lab)
    if len(set(labels)) < len(labels):
        labels = [f"{lab} [{os.path.basename(r.path)}]" for lab, r in zip(labels, results)]
    return labels


def short_cpu(cpu):
    cpu = re.sub(r"\((R|TM)\)|CPU|Processor|@.*$|\d+-Core", "", str(cpu))
    return re.sub(r"\s+", " ", cpu).strip()


# ---------------------------------------------------------------------------
# Saving charts and reading back what was drawn

def describe_axes(ax):
    """The series a reader sees in a panel, read from the matplotlib artists."""
    def cat_labels(horizontal):
        ticks = ax.get_yticks() if horizontal else ax.get_xticks()
        labs = [t.get_text() for t in (ax.get_yticklabels() if horizontal else ax.get_xticklabels())]
        return list(zip(ticks, labs))

    series, lines = [], []
    for c in ax.containers:
        if not isinstance(c, BarContainer) or not c.patches:
            continue
        horizontal = getattr(c, "orientation", None) == "horizontal"
        cats = cat_labels(horizontal)
        vals, where = [], []
        for p in c.patches:
            centre = p.get_y() + p.get_height() / 2 if horizontal else p.get_x() + p.get_width() / 2
            vals.append(p.get_width() if horizontal else p.get_height())
            near = min(cats, key=lambda t: abs(t[0] - centre)) if cats else (None, "")
            where.append(near[1] if near[0] is not None and abs(near[0] - centre) <= 0.5 else "")
        series.append({"type": "bars", "label": c.get_label(), "gid": (c.patches[0].get_gid() or ""),
                       "n": len(vals), "values": vals, "categories": where})
    for ln in ax.get_lines():
        gid = ln.get_gid() or ""
        xy = ln.get_xydata().tolist()
        if gid in ("budget", "reference") or gid.startswith(("cache:", "boundary:", "step:", "move:")):
            horizontal = len(xy) > 1 and xy[0][1] == xy[-1][1] and xy[0][0] != xy[-1][0]
            at = xy[0] if gid.startswith("move:") else xy[0][1] if horizontal else xy[0][0]
            lines.append({"gid": gid, "label": ln.get_label(), "at": at})
        elif gid.startswith("series:"):
            series.append({"type": "line", "label": ln.get_label(), "gid": gid, "n": len(xy),
                           "x": [p[0] for p in xy], "y": [p[1] for p in xy]})
    return {"title": ax.get_title(loc="left") or ax.get_title(), "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(), "yscale": ax.get_yscale(), "xscale": ax.get_xscale(),
            "series": series, "lines": lines}


# Charts whose labels the report checks for collisions (manifest "overlaps").
CHECK_TEXT = ("findings", "hosts", "compare", "history")


DETAIL_DPI = 68  # the collapsed detail charts (bars, sweeps, counters): smaller still


PNG_DPI = 130  # the full-size PNG beside the report


def thumbnail(fig, dpi, box):
    """The figure as a small image for the page, drawn at its own dpi (text
    drawn small stays crisper and compresses better than a resampled
    full-size PNG: 2.3 MB against 4.7 MB for a full suite's report): a
    64-colour lossless WebP (charts are flat colour; it is 3-5x smaller
    than a full-colour PNG, and every current browser shows it)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=box, metadata={"Software": None})
    buf.seek(0)
    img = Image.open(buf).convert("RGB")
    size = img.size
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="WEBP", lossless=True, method=4)
    return out.getvalue(), size


class Charts:
    """Every chart drawn: its SVG (and PNG) beside the report, a thumbnail
    for the page, and what it shows, read back from the figure. add() queues
    a chart, draw() draws the queue over `jobs` processes."""

    def __init__(self, outdir, png=True, jobs=1):
        self.outdir = outdir
        self.chartdir = os.path.join(outdir, "charts")
        self.png = png
        self.jobs = jobs
        self.pending = []
        self.items = []

    def add(self, chart_id, kind, make, **meta):
        """Queue a chart: make() returns (figure, title, caption), or None
        when there is nothing to draw (no chart, no item)."""
        self.pending.append((chart_id, kind, make, meta))

    def draw(self):
        """Draw the queued charts; items keep the queue's order. Drawing is
        most of a report's time (a full suite's 58 charts: ~75 s of CPU) and
        every chart is independent, so they are drawn in forked processes,
        one per CPU: a fork sees the queue (makers, results) without
        pickling it, and only the items (a few KiB each) come back. The
        files are the same whatever the number of processes (the SVG ids'
        salt is fixed: charts_style)."""
        global _DRAWING
        n = min(self.jobs, len(self.pending))
        _DRAWING = self
        try:
            if n <= 1:
                made = [_draw_queued(i) for i in range(len(self.pending))]
            else:
                with multiprocessing.get_context("fork").Pool(n) as pool:
                    made = pool.map(_draw_queued, range(len(self.pending)), chunksize=1)
        finally:
            _DRAWING = None
        self.items += [item for item in made if item is not None]
        self.pending = []

    def save(self, chart_id, kind, made, meta):
        """Write one chart's files; its item (None when nothing was made)."""
        if made is None:
            return None
        fig, title, caption = made
        os.makedirs(self.chartdir, exist_ok=True)
        svg_path = os.path.join(self.chartdir, chart_id + ".svg")
        png_path = os.path.join(self.chartdir, chart_id + ".png")
        # One layout pass for everything below: savefig's "tight" box would
        # draw the figure once more for each file (drawing is most of the
        # report's time: 7 draws a chart made a full suite's report take
        # 4-7 minutes, 4 take under 2).
        fig.canvas.draw()
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)  # savefig's pad_inches
        overlaps = text_overlaps(fig, drawn=True) if kind in CHECK_TEXT else None
        with atomic_path(svg_path) as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None}, bbox_inches=box)
        files = {"svg": os.path.relpath(svg_path, self.outdir)}
        if self.png:
            with atomic_path(png_path) as tmp:
                fig.savefig(tmp, format="png", dpi=PNG_DPI, bbox_inches=box, metadata={"Software": None})
            files["png"] = os.path.relpath(png_path, self.outdir)
        thumb, (w, h) = thumbnail(fig, THUMB_DPI if kind in CHECK_TEXT else DETAIL_DPI, box)
        item = dict(id=chart_id, kind=kind, title=title, caption=caption, files=files,
                    figsize=[round(x, 2) for x in fig.get_size_inches()], thumb_px=[w, h],
                    panels=[describe_axes(a) for a in fig.axes if a.get_visible()], **meta)
        if overlaps is not None:
            item["overlaps"] = [list(p) for p in overlaps]
        item["_thumb"] = thumb
        plt.close(fig)
        return item

    def manifest(self):
        return [{k: v for k, v in c.items() if not k.startswith("_")} for c in self.items]


_DRAWING = None  # the Charts whose queue draw() is drawing (read by the forked processes)


def _draw_queued(i):
    chart_id, kind, make, meta = _DRAWING.pending[i]
    return _DRAWING.save(chart_id, kind, make(), meta)


def default_jobs():
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


# ---------------------------------------------------------------------------
# HTML

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:24px;margin:0 0 4px} h2{font-size:19px;margin:36px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:22px 0 6px}
.sub{color:#555;margin:0 0 16px} table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top} th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.kv th{width:190px;font-weight:600}
.warn{background:#fff4e5;border-left:4px solid #e69f00;padding:8px 12px;margin:8px 0}
.bad{background:#fdecea;border-left:4px solid #b2182b;padding:8px 12px;margin:8px 0}
figure{margin:14px 0 26px} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:13px;color:#333;margin-top:4px} figcaption .files{color:#777;font-size:12px}
.over{color:#b2182b;font-weight:600} .reg{color:#b2182b;font-weight:700} .imp{color:#1a7a3c;font-weight:600}
nav ul{columns:3;font-size:13px} .finding{font-size:15px;margin:4px 0 6px}
.scroll{overflow-x:auto} table{display:block;overflow-x:auto;max-width:100%} details{margin:6px 0} summary{cursor:pointer;color:#1f4e9c}
code{background:#f3f3f3;padding:0 3px}
"""


def esc(s):
    return html.escape(str(s), quote=True)


def kv_table(pairs):
    return "<table class=kv>" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs if v not in (None, "")) + "</table>"


def machine_pairs(res):
    m, b, ctx, o = res.machine, res.ct.get("build") or {}, res.context, res.ct.get("options") or {}
    caches = ", ".join(f"{n} {cr.format_bytes(s)}" for n, s in res.caches())
    source = res.caches_source()
    caches = (f"{caches} (from {source})" if caches else
              "unknown (no sysfs cache directories, and CPUID describes none)" if source == "unknown"
              else "not recorded")
    tsc = m.get("tsc") if isinstance(m.get("tsc"), dict) else {}
    pmu = m.get("pmu") if isinstance(m.get("pmu"), dict) else None
    load = ctx.get("load_avg")
    pairs = [
        ("host", esc(res.host)),
        ("CPU", esc(f"{m.get('cpu_model', '?')}, {m.get('logical_cpus', ctx.get('num_cpus', '?'))} logical CPUs"
                    + (", virtualised" if m.get("hypervisor") else "")) if m else
         esc(f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz (Google Benchmark context)")),
        ("caches", esc(caches)),
        ("TSC", esc(f"{tsc.get('ghz', 0):.3f} GHz, {tsc.get('source', '')}; ticks are not core cycles") if tsc else ""),
        ("PMU", ("available" if pmu.get("available") else "<span class=over>not available</span>: " + esc(pmu.get("reason", ""))) if pmu else ""),
        ("kernel", esc(m.get("kernel", ""))),
        ("build", esc(" ".join(str(x) for x in (b.get("build_type"), b.get("compiler"), f"flags '{b.get('cxx_flags')}'" if b.get("cxx_flags") else None) if x)) if b else ""),
        ("Google Benchmark", esc(", ".join(x for x in (b.get("google_benchmark_version"),
                                                       f"library built as {ctx.get('library_build_type')}" if ctx.get("library_build_type") else None) if x))),
        ("cachetick", esc(f"{b.get('cachetick_version', '')} at {str(b.get('git_commit', ''))[:12]}" + (" (uncommitted changes)" if b.get("git_dirty") else "")) if b else "not a cachetick file: Google Benchmark JSON, names split as family/variant/workload/size where possible"),
        ("date", esc(ctx.get("date", ""))),
        ("load average", esc(", ".join(f"{x:.2f}" for x in load) + (" (busy: other work shared the CPUs)" if load and load[0] > 0.5 * (ctx.get("num_cpus") or 1) else "")) if isinstance(load, list) and load else ""),
        ("backend", esc(res.ct.get("backend", ""))),
        ("options", esc(", ".join(f"{k}={v}" for k, v in o.items() if k in ("repetitions", "min_time_s", "quick", "budget_ns", "filter", "families") and v not in ("", [], None)))),
        ("command", "<code>" + esc(" ".join(o.get("command_line", []))) + "</code>" if o.get("command_line") else ""),
        ("file", f"<code>{esc(res.path)}</code>"),
    ]
    return pairs


def counters_html(res):
    parts = []
    pmu = res.machine.get("pmu") if isinstance(res.machine.get("pmu"), dict) else None
    if pmu is not None:
        parts.append("Hardware PMU: " + ("available." if pmu.get("available") else
                                        "<b>not available</b> (" + esc(pmu.get("reason", "")) + "): no cycles, instructions or cache-miss counts from hardware."))
    c = res.ct.get("counters")
    if isinstance(c, dict):
        for line in c.get("summary", []) if isinstance(c.get("summary"), list) else []:
            parts.append(esc(line))
        ev = c.get("events") if isinstance(c.get("events"), list) else []
        rows = [e for e in ev if isinstance(e, dict)]
        if rows:
            parts.append("<table><tr><th>counter</th><th>available</th><th>why not</th></tr>" + "".join(
                f"<tr><td>{esc(e.get('name', e.get('event', '?')))}</td><td>{'yes' if e.get('available') else 'no'}</td>"
                f"<td>{esc(e.get('reason', ''))}</td></tr>" for e in rows) + "</table>")
        al = c.get("allocations")
        if isinstance(al, dict) and not al.get("available", True):
            parts.append("Allocation counts: not available (" + esc(al.get("reason", "")) + ").")
    sim = res.ct.get("sim")
    if isinstance(sim, dict):
        parts.append("Simulated counters: " + esc(sim.get("tool", "callgrind")) + "; " + esc(sim.get("est_cycles_model", "")))
    names = res.counter_names()
    parts.append("Counters in this file: " + (", ".join(f"<code>{esc(n)}</code>" for n in names) if names else
                                              "none beyond time and TSC ticks per op."))
    cal = find_calibration(res)
    parts.append("Calibration: " + ("present (see its chart)." if cal and calibration_curves(cal) else
                                    "present, in a shape this report does not chart." if cal else
                                    "not in this file (run <code>cachetick calibrate</code>)."))
    return "<ul>" + "".join(f"<li>{p}</li>" for p in parts) + "</ul>"


def budget_html(res):
    s = res.ct.get("summary") if isinstance(res.ct.get("summary"), dict) else {}
    judged = [r for r in res.rows if r.verdict in ("within", "over")]
    budget = res.budget_ns
    if not budget and not judged:
        return "<p>No budget in this file (not a cachetick result).</p>"
    if not judged and budget:  # a foreign file: judge by the default budget
        judged = [r for r in res.rows if r.ns_per_op is not None]
        over = [r for r in judged if r.ns_per_op > budget]
    else:
        over = [r for r in judged if r.verdict == "over"]
    out = [f"<p><b>{len(judged) - len(over)} of {len(judged)}</b> benchmarks within the budget of {budget:g} ns/op"
           + (f"; {s.get('errors')} failed" if s.get("errors") else "")
           + (f"; {s.get('unstable')} rows varied more than 5% between repetitions" if s.get("unstable") else "")
           + ".</p>"]
    fams = ordered(r.family for r in judged)
    out.append("<table><tr><th>family</th><th>within</th><th>over</th><th>best ns/op</th><th>worst ns/op</th></tr>")
    for f in fams:
        fr = [r for r in judged if r.family == f]
        fo = [r for r in fr if r in over]
        out.append(f"<tr><td><a href='#fam-{slug(f)}'>{esc(f)}</a></td><td class=n>{len(fr) - len(fo)}</td>"
                   f"<td class=n>{len(fo)}</td><td class=n>{sig3(min(r.ns_per_op for r in fr))}</td>"
                   f"<td class=n>{sig3(max(r.ns_per_op for r in fr))}</td></tr>")
    out.append("</table>")
    if over:
        out.append(f"<details><summary>{len(over)} over budget</summary><p>" +
                   ", ".join(f"<code>{esc(r.name)}</code> {sig3(r.ns_per_op)}" for r in over) + "</p></details>")
    return "".join(out)


def core_cell(r):
    v = r.core_share
    return "-" if v is None else f"{v * 100:.0f}%" + ("!" if vd.shared_core(v) else "")


def data_table(res, family):
    rows = [r for r in res.rows if r.family == family]
    cnames = ordered(k for r in rows for k in r.counters)
    head = ["variant", "role", "workload", "size", "working set", "ns/op", "cv%", "core", "ticks/op", "GB/s", "budget"] + cnames
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = [esc(r.variant), esc(r.role), esc(r.workload), esc(r.size_label), esc(cr.format_bytes(r.working_set_bytes)),
                 sig3(r.ns_per_op) if r.error is None else f"<span class=over>error: {esc(r.error)}</span>",
                 (f"{r.cv * 100:.1f}" + ("!" if r.cv > 0.05 else "")) if r.cv is not None else "-",
                 core_cell(r),
                 sig3(r.ticks_per_op), sig3(r.gb_per_s),
                 ("<span class=over>OVER</span>" if r.verdict == "over" else "ok" if r.verdict == "within" else "-")]
        cells += [sig3(r.counters.get(k)) for k in cnames]
        out.append("<tr>" + "".join(f"<td class=n>{c}</td>" if i >= 5 else f"<td>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def levels_table(cal):
    """The cache levels the calibration read off its curve, beside the sizes
    the CPU reports, then the other steps it found."""
    levels = [lv for lv in cal.get("levels", []) if isinstance(lv, dict)] if isinstance(cal.get("levels"), list) else []
    steps = calibration_steps(cal)
    if not levels and not steps:
        return ""
    clock = cal.get("core_clock") if isinstance(cal.get("core_clock"), dict) else {}
    hier = cal.get("hierarchy") if isinstance(cal.get("hierarchy"), dict) else {}
    source = hier.get("source", "sysfs")
    out = []
    if hier.get("known") is False:
        out.append("<p>Cache levels unknown (this system describes no caches): the calibration names "
                   "no level; its steps are listed unnamed.</p>")
    if levels:
        out.append(f"<table><tr><th>level</th><th>size ({esc(source)})</th><th>edge found</th><th>latency ns</th>"
                   "<th>est. core cycles</th><th>read GB/s, 1 stream</th><th>read GB/s, 2-8 streams</th>"
                   "<th>write GB/s</th><th>note</th></tr>")
        for lv in levels:
            num = lambda k: sig3(cr._num(lv.get(k)))
            size = lambda k: cr.format_bytes(cr._num(lv.get(k))) if cr._num(lv.get(k)) else "-"
            known = "known_bytes" if "known_bytes" in lv else "sysfs_bytes"
            out.append(f"<tr><td>{esc(lv.get('name', '?'))}</td><td class=n>{size(known)}</td>"
                       f"<td class=n>{size('boundary_bytes')}</td><td class=n>{num('latency_ns')}</td>"
                       f"<td class=n>{num('latency_est_cycles')}</td><td class=n>{num('read_gb_per_s')}</td>"
                       f"<td class=n>{num('read_multi_gb_per_s')}</td>"
                       f"<td class=n>{num('write_gb_per_s')}</td><td>{esc(lv.get('note', ''))}</td></tr>")
        out.append("</table>")
    if steps:
        out.append("<table><tr><th>other step</th><th>edge</th><th>spills at</th><th>ns before</th>"
                   "<th>ns after</th><th>why this name</th></tr>")
        for st in steps:
            size = lambda k: cr.format_bytes(cr._num(st.get(k))) if cr._num(st.get(k)) else "-"
            out.append(f"<tr><td>{esc(st.get('name', '?'))}</td><td class=n>{size('edge_bytes')}</td>"
                       f"<td class=n>{size('spill_bytes')}</td><td class=n>{sig3(cr._num(st.get('below_ns')))}</td>"
                       f"<td class=n>{sig3(cr._num(st.get('above_ns')))}</td><td>{esc(st.get('note', ''))}</td></tr>")
        out.append("</table>")
    if cr._num(clock.get("estimate_ghz")):
        out.append(f"<p>Estimated core clock {clock['estimate_ghz']:.2f} GHz (an estimate from a chain of dependent adds, "
                   "not a PMU reading); core cycles above are ns x that clock.</p>")
    return "".join(out)


CLAIM_CLASS = {vd.CLAIM_EXCEEDED: "imp", vd.CLAIM_HELD: "imp", vd.CLAIM_SHORT: "reg"}


def claims_html(claim_rows, claims_doc, rule):
    """The seeds' claims beside this run's factors (claims.py measures,
    verdict.py judges): one row per pair and size, claims without a row
    of this run in one line at the end."""
    measured = [(c, lines) for c, lines in claim_rows if any(ln.measure is not None for ln in lines)]
    if not measured:
        return "<p>No row of this run measures a claim of scripts/claims.json.</p>"
    h = ["<p>Each claim of the seeds' tables beside what this run measured for its benchmark pairs. "
         "factor = the baseline's figure / the better variant's (above 1: better, as claimed). "
         f"Rule: {esc(vd.claim_rule_text(rule))}. Without paired rows (issue 17) a factor is the ratio of two "
         "medians of one run, with no interval: one measurement.</p>",
         "<table><tr><th>claim</th><th>claimed</th><th>pair (better vs baseline)</th><th>size</th>"
         "<th>factor</th><th>interval</th><th>verdict</th><th>how</th></tr>"]
    for c, lines in measured:
        for i, ln in enumerate(lines):
            first = f"<td rowspan={len(lines)}>{esc(c['claim'])} <span class=sub>({esc(c['source'])}, " \
                    f"{esc(cl.claim_status(lines))})</span></td><td rowspan={len(lines)}>" \
                    f"{esc(vd.describe_claim(c['factor']))}</td>" if i == 0 else ""
            p = ln.pair
            how = "; ".join(x for x in ((ln.measure.method if ln.measure else ln.missing), ln.verdict.note) if x)
            h.append(f"<tr>{first}<td>{esc(p['family'])}/{esc(p['workload'])}: {esc(p['better'])} vs "
                     f"{esc(p['baseline'])}</td><td>{esc(ln.size or '-')}</td>"
                     f"<td class=n>{cl.factor_text(ln.measure.factor if ln.measure else None)}</td>"
                     f"<td class=n>{esc(cl.interval_text(ln.measure))}</td>"
                     f"<td class={CLAIM_CLASS.get(ln.verdict.status, '')}>{esc(ln.verdict.status)}</td>"
                     f"<td>{esc(how)}</td></tr>")
    h.append("</table>")
    rest = [c for c, lines in claim_rows if not any(ln.measure is not None for ln in lines)]
    if rest:
        h.append("<p>Not measured by this run: " + "; ".join(
            f"{esc(c['claim'])} ({esc(c.get('note') or 'its rows are not in this run')})" for c in rest) + ".</p>")
    return "".join(h)


def figure_html(item):
    """A chart on the page: its inline thumbnail (the page stays one file that
    opens offline), linked to the full SVG beside the report."""
    data = base64.b64encode(item["_thumb"]).decode("ascii")
    w, h = item["thumb_px"]
    files = " &middot; ".join(f"<a href='{esc(p)}'>{esc(k.upper())}</a>" for k, p in item["files"].items())
    return (f"<figure id='{esc(item['id'])}'><a href='{esc(item['files']['svg'])}'><img class=chart alt='{esc(item['title'])}' "
            f"width={w} height={h} src='data:image/webp;base64,{data}'></a>"
            f"<figcaption><b>{esc(item['title'])}.</b> {esc(item['caption'])} <span class=files>(full size: {files})</span>"
            "</figcaption></figure>")


def compare_table(cmp):
    out = ["<table><tr><th>benchmark</th><th>baseline</th><th>new</th><th>change</th><th>95% interval</th>"
           "<th>samples</th><th>verdict</th></tr>"]
    for c in sorted(cmp["rows"], key=lambda c: (c["status"] not in SIGNIFICANT, -abs(c["change"]))):
        cls = {vd.REGRESSION: "reg", vd.IMPROVEMENT: "imp"}.get(c["status"], "")
        why = f" ({c['verdict'].reason()})" if c["kind"] == "sim" and cls else ""
        word = status_label(c["status"], cmp) if c["kind"] != "sim" else c["status"]
        out.append(f"<tr><td>{esc(c['name'])}</td><td class=n>{sig3(c['old'])}</td><td class=n>{sig3(c['new'])}</td>"
                   f"<td class='n {cls}'>{c['change']:+.1f}%</td><td class=n>{interval_pct(c['verdict']) or '-'}</td>"
                   f"<td class=n>{c['n_old']}/{c['n_new']}</td><td class={cls}>{esc(word + why)}</td></tr>")
    out.append("</table>")
    return "".join(out)


NOT_JUDGED = (vd.UNTESTED, vd.SHARED_CORE, vd.OTHER_MACHINE)


def compare_summary(cmp):
    """Per family: improved / regressed / unchanged / not judged."""
    fams = ordered(c["family"] for c in cmp["rows"])
    out = ["<table><tr><th>family</th><th>regressed</th><th>improved</th><th>unchanged</th><th>not judged</th>"
           "<th>largest change</th></tr>"]
    for f in fams:
        rows = [c for c in cmp["rows"] if c["family"] == f]
        n = lambda sts: sum(c["status"] in sts for c in rows)
        sig = significant_changes(cmp, f)
        big = f"{esc(sig[0]['name'])} {sig[0]['change']:+.1f}%" if sig else "-"
        name = f"<a href='#compare_{slug(f)}'>{esc(f)}</a>" if sig else esc(f)  # a chart only when something changed
        out.append(f"<tr><td>{name}</td>"
                   f"<td class='n{' reg' if n((vd.REGRESSION,)) else ''}'>{n((vd.REGRESSION,))}</td>"
                   f"<td class='n{' imp' if n((vd.IMPROVEMENT,)) else ''}'>{n((vd.IMPROVEMENT,))}</td>"
                   f"<td class=n>{n((vd.UNCHANGED,))}</td><td class=n>{n(NOT_JUDGED)}</td><td>{big}</td></tr>")
    out.append("</table>")
    return "".join(out)


def ratio_changes_html(cmp):
    """Rows paired in both files: did their ratio to the group's reference
    move (verdict.judge_ratio_change, as the gate lists them)? Information,
    not a regression; the lesson that carries across machines."""
    both = [c for c in cmp["rows"] if c["ratio"] is not None]
    if not both:
        return []
    moved = [c for c in both if c["ratio"].status != vd.UNCHANGED]
    margin = cmp["rules"].time.margin * 100
    h = [f"<p>{len(both)} rows were paired in both files: {len(moved)} ratio(s) to the group's reference moved "
         f"(the intervals apart by more than +-{margin:g}%; information, not a regression: either side may have "
         "moved).</p>"]
    if moved:
        h.append(f"<details><summary>the {len(moved)} moved ratio(s)</summary><table><tr><th>benchmark</th>"
                 "<th>ratio to the reference, baseline -> new</th><th>moved</th></tr>" + "".join(
                     f"<tr><td>{esc(c['name'])}</td><td>{esc(c['ratio'].note)}</td><td class="
                     f"{'reg' if c['ratio'].status == vd.REGRESSION else 'imp'}>"
                     f"{'relatively slower' if c['ratio'].status == vd.REGRESSION else 'relatively faster'}</td></tr>"
                     for c in moved) + "</table></details>")
    return h


def compare_html(cmp, figures):
    """The "Baseline vs new" section: counts by status per family, the
    significant changes as charts, everything in a collapsed table."""
    count = lambda status: sum(c["status"] == status for c in cmp["rows"])
    h = ["<h2 id=compare>Baseline vs new</h2>"]
    if cmp["machines"]:
        h.append(f"<div class=bad>{esc(machines_text(cmp))}</div>")
    h += [f"<p>{len(cmp['rows'])} benchmarks in both files: <span class=reg>{count(vd.REGRESSION)} significant "
          f"regression(s)</span>, <span class=imp>{count(vd.IMPROVEMENT)} improvement(s)</span>, "
          f"{count(vd.UNCHANGED)} unchanged (no difference shown), {count(vd.UNTESTED)} not enough samples to "
          f"judge, {count(vd.SHARED_CORE)} not judged (shared core), {count(vd.OTHER_MACHINE)} not judged "
          f"(different machines). {esc(significance_text(cmp))}</p>", compare_summary(cmp)]
    if cmp["only_old"] or cmp["only_new"]:
        some = lambda names: esc(", ".join(names[:20])) + (" ..." if len(names) > 20 else "")
        h.append("<div class=warn>" + (f"Only in the baseline: {some(cmp['only_old'])}. " if cmp["only_old"] else "")
                 + (f"Only in the new result: {some(cmp['only_new'])}." if cmp["only_new"] else "") + "</div>")
    if not figures:
        h.append("<p>No significant change in any family: no chart.</p>")
    h += [figure_html(c) for c in figures]
    h += ratio_changes_html(cmp)
    h.append(f"<details><summary>all {len(cmp['rows'])} benchmarks compared, as a table</summary>"
             + compare_table(cmp) + "</details>")
    return "".join(h)


def head_html(res, title):
    date = res.context.get("date", "")
    h = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
         f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{CSS}</style></head><body><main>",
         f"<h1>{esc(title)}</h1><p class=sub>{esc(date)} &middot; {len(res.rows)} benchmarks in {len(res.families())} "
         f"famil{'y' if len(res.families()) == 1 else 'ies'} &middot; ns/op = wall-clock nanoseconds per operation, "
         f"the median of the {'rounds (paired, interleaved)' if any(r.paired for r in res.rows) else 'repetitions'}; "
         "TSC ticks are not core cycles.</p>"]
    if res.ct and res.ct.get("complete") is False:
        h.append("<div class=bad><b>Incomplete run:</b> the run was interrupted; this file holds only the benchmarks that finished.</div>")
    return h


def findings_html(res, charts):
    """The first answer: per family, its sentence and forest plot, the
    ratios as a collapsed table."""
    items = [c for c in charts.items if c["kind"] == "findings"]
    if not items:
        return ["<h2 id=findings>Findings</h2><p>No family of this run has a reference variant (an optimised "
                "variant, or a paired block naming one): nothing to compare against. The charts per family "
                "are below.</p>"]
    h = ["<h2 id=findings>Findings</h2>"]
    if not any(c["paired"] for c in items):
        h.append("<p class=sub>This run was not paired (older file, or the sim backend): the ratios are ratios of "
                 "medians, without an interval (<b>unpaired</b>); within "
                 f"&plusmn;{cf.UNPAIRED_MARGIN * 100:.0f}% counts as no difference shown.</p>")
    for c in items:
        fam = c["family"]
        h.append(f"<h3 id='find-{slug(fam)}'>{esc(fam)}</h3><p class=finding>{esc(c['sentence'])}</p>")
        h.append(figure_html(c))
        h.append(f"<details><summary>{esc(fam)}: every ratio as a table</summary>"
                 f"{cf.findings_table(cf.findings(res, fam), esc, sig3)}</details>")
    none = [f for f in res.families() if not any(c["family"] == f for c in items)]
    if none:
        h.append("<p class=sub>No reference variant, so no findings, in: " + esc(", ".join(none)) + ".</p>")
    return h


def warnings_html(res, warnings):
    h = [f"<div class=warn>{esc(n)}</div>" for n in (res.ct.get("notes", []) if isinstance(res.ct.get("notes"), list) else [])]
    h += [f"<div class=warn>{esc(w)}</div>" for w in warnings]
    unstable = [r for r in res.rows if r.cv is not None and r.cv > 0.05]
    if unstable:
        h.append(f"<div class=warn>{len(unstable)} of {len(res.rows)} rows varied by more than 5% between repetitions "
                 "(cv% marked ! in the tables): the machine was busy; compare ratios within this run, or rerun "
                 "with more repetitions on a quiet machine.</div>")
    shared = [r for r in res.rows if vd.shared_core(r.core_share)]
    if shared:
        h.append(f"<div class=warn>{len(shared)} of {len(res.rows)} rows ran with less than "
                 f"{vd.SHARED_CORE_BELOW * 100:.0f}% of the core's issue slots (core marked ! in the tables): another "
                 "hardware thread (an SMT sibling; on a VM, often a neighbour) competed, which slows wide, "
                 "throughput-bound code up to 2x at the same clock. Rerun those rows before reading them.</div>")
    return h


def machines_html(results, base):
    res = results[0]
    h = ["<h2 id=machine>Machine</h2>"]
    if len(results) == 1:
        h.append(kv_table(machine_pairs(res)))
    else:
        labels = host_labels(results)
        pairs = [machine_pairs(r) for r in results]
        keys = ordered(k for p in pairs for k, _ in p)
        h.append("<div class=scroll><table class=kv><tr><th></th>" + "".join(f"<th>{esc(l)}</th>" for l in labels) + "</tr>")
        for k in keys:
            h.append(f"<tr><th>{esc(k)}</th>" + "".join(f"<td>{dict(p).get(k, '')}</td>" for p in pairs) + "</tr>")
        h.append("</table></div>")
    if base is not None:
        h.append("<h3>Baseline machine</h3>" + kv_table(machine_pairs(base)))
    return h


def write_html(path, results, charts, cmp, base, args, warnings):
    """Findings first; then what changed, the machines side by side, the
    warnings, the index; the details (machine, counters, budget, claims,
    every family's charts and rows) last, collapsed."""
    res = results[0]
    title = args.title or f"{'cachetick' if res.is_cachetick else 'benchmark'} report: {res.host}"
    h = head_html(res, title)
    if cmp is not None and cmp["machines"]:
        h.append(f"<div class=bad id=machines-differ><b>Different machines:</b> {esc(machines_text(cmp))}</div>")
    by_kind = lambda kind, fam=None: [c for c in charts.items if c["kind"] == kind and (fam is None or c.get("family") == fam)]
    h += findings_html(res, charts)
    if cmp is not None:
        h.append(compare_html(cmp, by_kind("compare")))
    if by_kind("hosts"):
        h.append("<h2 id=hosts>Machines side by side</h2><p>The findings of each machine, as ratios to the "
                 "reference measured on that machine (absolute times on two CPUs say little).</p>")
        h += [figure_html(c) for c in by_kind("hosts")]
    h += warnings_html(res, warnings)
    h.append("<details class=index><summary>Index: every chart</summary><nav><ul>" + "".join(
        f"<li><a href='#{esc(c['id'])}'>{esc(c['title'])}</a></li>" for c in charts.items) + "</ul></nav></details>")
    h += machines_html(results, base)
    h.append("<h2 id=counters>Counters</h2>" + counters_html(res))
    h.append("<h2 id=budget>Budget</h2>" + budget_html(res))
    if args.claim_rows is not None:
        h.append("<h2 id=claims>Claims</h2>" + claims_html(args.claim_rows, args.claims_doc, vd.ClaimRule()))
    if by_kind("calibration"):
        h.append("<h2 id=calibration>Calibration</h2>")
        h += [figure_html(c) for c in by_kind("calibration")]
        h.append(levels_table(find_calibration(res)))
    h.append("<h2 id=families>Every family in detail</h2>")
    for fam in res.families():
        charts_here = [figure_html(c) for kind in ("bars", "sweep", "counters") for c in by_kind(kind, fam)]
        h.append(f"<details id='fam-{slug(fam)}'><summary>{esc(fam)}: {len(charts_here)} chart(s) of time and "
                 f"counters, all rows</summary>" + "".join(charts_here) + data_table(res, fam) + "</details>")
    h.append(f"<p class=sub>Made by <code>scripts/report.sh</code> from {esc(', '.join(r.path for r in results))}"
             + (f" against baseline {esc(base.path)}" if base is not None else "")
             + f" on {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.</p>")
    h.append("</main></body></html>\n")
    write_text(path, "\n".join(h))


# ---------------------------------------------------------------------------

def build(results, base, args):
    """Draw every chart that the inputs allow; returns (charts, comparison)."""
    res = results[0]
    charts = Charts(args.out, png=not args.no_png, jobs=args.jobs)
    cmp = None
    if base is not None:
        rules = vd.Rules(time=vd.TimeRule(alpha=args.alpha, margin=args.margin,
                                          judge_across_machines=args.judge_across_machines))
        cmp = compare(base, res, rules)
        if cmp["metric"] is None:
            raise cr.ResultError(f"{base.path} and {res.path} share no figure to compare (no ns/op, no common counter)")
        if not cmp["rows"]:
            raise cr.ResultError(f"{base.path} and {res.path} have no benchmark in common: nothing to compare")
        for fam in ordered(c["family"] for c in cmp["rows"]):
            charts.add(f"compare_{slug(fam)}", "compare", partial(chart_baseline, cmp, fam, base, res), family=fam)
    for fam in res.families():
        finds = cf.findings(res, fam)
        charts.add(f"findings_{slug(fam)}", "findings", partial(cf.chart_forest, res, fam, finds), family=fam,
                   sentence=cf.family_sentence(finds), paired=cf.is_paired(finds), findings=cf.manifest(finds))
    if len(results) > 1:
        labels = host_labels(results)
        for fam in ordered(f for r in results for f in r.families()):
            charts.add(f"hosts_{slug(fam)}", "hosts", partial(cf.chart_hosts_forest, results, labels, fam), family=fam,
                       hosts=labels)
    charts.add("calibration", "calibration", partial(chart_calibration, res))
    for fam in res.families():
        charts.add(f"bars_{slug(fam)}", "bars", partial(chart_family_bars, res, fam), family=fam)
        charts.add(f"sweep_{slug(fam)}", "sweep", partial(chart_family_sweep, res, fam), family=fam)
        for w in ordered(r.workload for r in res.rows if r.family == fam):
            charts.add(f"counters_{slug(fam)}_{slug(w)}", "counters", partial(chart_family_counters, res, fam, w),
                       family=fam, workload=w)
    charts.draw()
    return charts, cmp


def require_chartable(res):
    """Raise ResultError when a result gives nothing to draw: no benchmark
    with a size, or none with a time or a counter. Benchmarks without a size
    stay in the tables (a warning says so)."""
    sizeless = [r.name for r in res.rows if r.size is None]
    some = ", ".join(sizeless[:5]) + (" ..." if len(sizeless) > 5 else "")
    if len(sizeless) == len(res.rows):
        raise cr.ResultError(
            f"{res.path}: none of the {len(res.rows)} benchmarks has a size (no cachetick 'size' and no "
            "numeric argument in the name, e.g. BM_copy/4096), so there is nothing to place on "
            "a chart: " + some)
    if sizeless:
        res.warnings.append(f"{len(sizeless)} benchmark(s) without a size are shown as size '-' and "
                            "left out of the size sweeps: " + some)
    if not any(r.ns_per_op is not None or r.counters for r in res.rows):
        raise cr.ResultError(f"{res.path}: no benchmark has a time or a counter (all failed?)")


def load_inputs(args):
    """The results (merged with --merge) and the baseline, each checked for
    something to draw; every problem is collected before giving up."""
    results = cr.load_all(args.results)
    base = cr.load(args.baseline) if args.baseline else None
    problems = []
    for res in results + ([base] if base else []):
        try:
            require_chartable(res)
        except cr.ResultError as e:
            problems.append(str(e))
    if problems:
        raise cr.ResultError("\n".join(problems))
    if args.merge and len(results) > 1:
        results = [cr.merge(results)]
    return results, base


def comparability_warnings(base, new):
    """What makes the gate refuse a pair of files, said in the report too
    (its verdicts are then drawn, but mean little)."""
    out = []
    env = vd.environment_differences(base.sim_environment, new.sim_environment)
    if env:
        out.append("the baseline's counts were simulated in another environment, so the same code may have "
                   "run differently; the gate does not judge such a pair: " + "; ".join(env))
    if vd.geometries_differ(base.sim_geometry, new.sim_geometry):
        out.append("the baseline was simulated with other cache geometries: its counts are not comparable "
                   "(the gate refuses such a pair)")
    if not base.complete:
        out.append(f"the baseline {base.path} is an interrupted run (the gate refuses it)")
    return out


def claims_manifest(claim_rows):
    """The claims section's figures, for tools and tests (None: left out)."""
    if claim_rows is None:
        return None
    return [{"id": c["id"], "status": cl.claim_status(lines),
             "lines": [{"pair": cl.pair_text(ln), "factor": ln.measure.factor if ln.measure else None,
                        "interval": list(ln.measure.interval) if ln.measure and ln.measure.interval else None,
                        "status": ln.verdict.status} for ln in lines]} for c, lines in claim_rows]


def default_out(path):
    stem = path[:-5] if path.endswith(".json") else path
    return stem + ".report"


def make_out_dir(out):
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        open(probe, "w").close()
        os.remove(probe)
    except OSError as e:
        raise cr.ResultError(f"cannot write the report to {out}: {e.strerror}")


def history_main(results, args):
    """--history: the runs in date order, each family's key ratios across
    them, the moves named. Raises ResultError on bad input."""
    runs = ch.order_runs(results)
    args.out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.results[0])), "history.report")
    make_out_dir(args.out)
    charts, moved = Charts(args.out, png=not args.no_png, jobs=args.jobs), {}
    for fam in ordered(f for r in runs for f in r.families()):
        history = ch.family_history(runs, fam)
        if history is None:
            continue
        moved[fam] = history.moves
        charts.add(f"history_{slug(fam)}", "history", partial(ch.chart_history, runs, fam, history), family=fam,
                   moves=[dict(variant=m.variant, run=m.run, before=m.before, after=m.after) for m in history.moves])
    charts.draw()
    if not charts.items:
        raise cr.ResultError("no family has a reference variant measured in every run: no ratio to follow")
    html_path = os.path.join(args.out, "report.html")
    write_history_html(html_path, runs, charts, moved, args)
    write_text(os.path.join(args.out, "manifest.json"),
               json.dumps({"inputs": [r.path for r in runs], "charts": charts.manifest()}, indent=1))
    print(f"Report: {html_path}")
    return 0


def write_history_html(path, runs, charts, moved, args):
    hosts = ordered(r.host + (f" ({short_cpu(r.machine.get('cpu_model'))})" if r.machine.get("cpu_model") else "")
                    for r in runs)
    title = args.title or f"cachetick history: {len(runs)} runs"
    h = head_html(runs[-1], title)[:1] + [
        f"<h1>{esc(title)}</h1><p class=sub>{esc(runs[0].context.get('date', '?'))} to "
        f"{esc(runs[-1].context.get('date', '?'))}, oldest first &middot; ratios to each group's reference "
        "variant, so runs on one machine compare; ns/op = wall-clock nanoseconds per operation.</p>"]
    if len(hosts) > 1:
        h.append(f"<div class=warn>These runs come from {len(hosts)} machines ({esc(', '.join(hosts))}): a move "
                 "between them may be the machine, not the code.</div>")
    h.append("<h2 id=findings>Key ratios across the runs</h2>")
    if not any(moved.values()):
        h.append(f"<p>No key ratio moved by more than {ch.MOVE * 100:.0f}% between two runs.</p>")
    for c in charts.items:
        ms = moved.get(c["family"], [])
        said = "; ".join(ch.move_sentence(m, runs) for m in ms[:3]) + (f"; and {len(ms) - 3} more" if len(ms) > 3 else "")
        h.append(f"<h3>{esc(c['family'])}</h3><p class=finding>"
                 + (esc(said) + "." if ms else f"no key ratio moved by more than {ch.MOVE * 100:.0f}%.") + "</p>")
        h.append(figure_html(c))
    h.append("<h2 id=runs>Runs</h2><table><tr><th>#</th><th>date</th><th>commit</th><th>host</th><th>rows</th>"
             "<th>file</th></tr>" + "".join(
                 f"<tr><td class=n>{i}</td><td>{esc(r.context.get('date', '?'))}</td><td>{esc(ch.run_commit(r))}</td>"
                 f"<td>{esc(r.host)}</td><td class=n>{len(r.rows)}</td><td><code>{esc(r.path)}</code></td></tr>"
                 for i, r in enumerate(runs)) + "</table>")
    h.append("</main></body></html>\n")
    write_text(path, "\n".join(h))


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="report", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("results", nargs="+", help="result JSON files (cachetick or Google Benchmark)")
    ap.add_argument("--baseline", help="an older result to compare the (first) result with")
    ap.add_argument("--merge", action="store_true", help="the files are parts of one run (e.g. one per family)")
    ap.add_argument("--history", action="store_true",
                    help="the files are runs over time: each family's key ratios in date order, moves marked "
                         "(default -o: history.report beside the first file)")
    ap.add_argument("-o", "--out", help="output directory (default: first result without .json, plus .report)")
    ap.add_argument("--title", help="report title")
    ap.add_argument("--alpha", type=float, default=0.05,
                    help="1 - the confidence of the ratio's Mann-Whitney interval (0.05: 95%%), as the gate's --alpha")
    ap.add_argument("--margin", type=float, default=vd.TimeRule.margin,
                    help="a timing regressed or improved only when its whole interval lies beyond +-this "
                         f"(default {vd.TimeRule.margin:g} = 3%%, as the gate's --margin and the paired verdicts)")
    ap.add_argument("--min-change", type=float, help=argparse.SUPPRESS)  # the old name, in %
    ap.add_argument("--judge-across-machines", action="store_true",
                    help="judge timings even when the baseline comes from another machine (as the gate's option)")
    ap.add_argument("--claims", default=cl.DEFAULT_CLAIMS,
                    help="the claims to check against the run (default scripts/claims.json)")
    ap.add_argument("--no-claims", action="store_true", help="leave the claims section out")
    ap.add_argument("--no-png", action="store_true", help="SVG files only (faster)")
    ap.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                    help="processes drawing the charts (default: one per CPU this process may use)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the report's path")
    args = ap.parse_args(argv)
    if args.min_change is not None:
        args.margin = args.min_change / 100
    return args


def check_args(args):
    """Raises ResultError for options that cannot work together or at all."""
    if not 0 <= args.margin < 1:
        raise cr.ResultError("--margin must be between 0 and 1 (0.03 = 3%)")
    if args.jobs < 1:
        raise cr.ResultError(f"--jobs must be 1 or more (got {args.jobs})")
    if not 0 < args.alpha < 1:
        raise cr.ResultError("--alpha must be between 0 and 1 (0.05: a 95% interval)")
    if args.history and (args.baseline or args.merge):
        raise cr.ResultError("--history draws runs over time: it takes neither --baseline nor --merge")
    if args.history and len(args.results) < 2:
        raise cr.ResultError(f"--history needs two result files or more to draw a history (got one: "
                             f"{args.results[0]}); e.g. scripts/report.sh results/runs/*.json --history")


def write_manifest(path, results, base, charts, cmp, warnings, claim_rows):
    comparison = None if cmp is None else [
        {"name": c["name"], "family": c["family"], "status": c["status"], "change_pct": c["change"],
         "interval": list(c["verdict"].interval) if c["verdict"].interval else None,
         "samples": [c["n_old"], c["n_new"]]} for c in cmp["rows"]]
    doc = {"inputs": [r.path for r in results], "baseline": base.path if base else None,
           "charts": charts.manifest(), "warnings": warnings, "comparison": comparison,
           "machines_differ": None if cmp is None else [list(m) for m in cmp["machines"]],
           "claims": claims_manifest(claim_rows)}
    write_text(path, json.dumps(doc, indent=1))


def print_summary(args, charts, cmp, warnings):
    for w in warnings:
        print(f"report: warning: {w}", file=sys.stderr)
    kinds = ordered(c["kind"] for c in charts.items)
    counts = ", ".join(f"{sum(c['kind'] == k for c in charts.items)} {k}" for k in kinds)
    print(f"report: {len(charts.items)} charts ({counts}) in {os.path.join(args.out, 'charts')}")
    if cmp is not None:
        reg = [c["name"] for c in cmp["rows"] if c["status"] == vd.REGRESSION]
        print(f"report: {len(reg)} significant regression(s)" + (": " + ", ".join(reg[:8]) if reg else ""))


def main(argv=None):
    args = parse_args(argv)
    try:
        check_args(args)
        results, base = load_inputs(args)
        if args.history:
            return history_main(results, args)
        args.out = args.out or default_out(args.results[0])
        make_out_dir(args.out)
        warnings = [w for r in results + ([base] if base else []) for w in r.warnings]
        warnings += comparability_warnings(base, results[0]) if base else []
        args.claims_doc = None if args.no_claims else cl.load_claims(args.claims)
        charts, cmp = build(results, base, args)
        args.claim_rows = None if args.no_claims else cl.table(results[:1], args.claims_doc)
    except cr.ResultError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    html_path = os.path.join(args.out, "report.html")
    write_html(html_path, results, charts, cmp, base, args, warnings)
    write_manifest(os.path.join(args.out, "manifest.json"), results, base, charts, cmp, warnings, args.claim_rows)
    if not args.quiet:
        print_summary(args, charts, cmp, warnings)
    print(f"Report: {html_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


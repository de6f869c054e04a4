"""The small helpers every cachetick script writes numbers with.

One copy of each, so that a figure reads the same in the gate's table, the
report's charts and its HTML: three significant digits, a signed percentage,
binary byte units. Standard library only (the gate runs without matplotlib).

Medians are statistics.median (the standard library's): no script keeps its
own.
"""

import math


def sig3(v):
    """About three significant digits, never hiding the integer part:
    1,234 / 12.3 / 1.23 / 0.0123; '-' for no value (None, NaN, inf)."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return "-"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def pct(fraction):
    """A relative change as a signed percentage: 0.015 -> '+1.5%'. Growth
    from zero is '+inf%'; no change known is '-'."""
    if fraction is None:
        return "-"
    if math.isinf(fraction):
        return "+inf%" if fraction > 0 else "-inf%"
    return f"{fraction * 100:+.1f}%"


def format_bytes(n):
    """Binary units like the harness: 16KiB, 4MiB, 1.5GiB."""
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            s = f"{n:.3g}" if n != int(n) else f"{int(n)}"
            return s + unit
        n /= 1024
    return f"{n}TiB"


def ordered(values):
    """The distinct values in order of first appearance."""
    return list(dict.fromkeys(values))

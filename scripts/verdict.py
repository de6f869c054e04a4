"""Did a benchmark change, and what is the change called?

The one place where cachetick decides whether a difference between a
baseline and a new result matters. The regression gate (compare.py) and the
report's baseline comparison (report.py) both ask it, so a benchmark gets the
same verdict in both, for the same reasons; changing a rule is an edit here.

Two kinds of figures, two rules:

* Counts from the sim backend (instructions, D1 misses, LL misses and
  estimated cycles per op) do not vary from run to run, so the rule is a
  plain threshold: a count regresses when it grows by more than its
  tolerance AND by more than its floor per op (so that 0.0001 -> 0.0002
  misses/op is not +100%). A benchmark is as bad as its worst count.
* Timings vary from run to run: a change counts when a two-sided
  Mann-Whitney U test over the repetitions gives p < alpha AND the medians
  differ by more than a minimum effect; significant but tiny, or large but
  not significant, is no change. With too few repetitions to ever reach
  alpha the benchmark is untested. A timing that ran beside a busy SMT
  sibling (median core share below SHARED_CORE_BELOW on either side) is
  shown but not judged: the sibling slows wide code up to 2x at the same
  clock.

Each judgement is a small pure function: figures and rules in, a Verdict
out (a status and the figures that justify it). The front ends choose only
how a status looks (a word, a colour, a mark).

Next (issue 17): timings as paired, interleaved rounds with a confidence
interval on the ratio to a reference variant. That is one more judge_*
function here returning the same Verdict, with the interval among its
figures; the gate and the report then show it without deciding anything.

A third question, asked by the claims table (claims.py): did a published
claim ("3-5x faster") hold in this run? judge_claim compares a measured
factor (the baseline's figure / the better variant's), with its interval
when the rows were paired, against the claimed range widened by a
tolerance.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace

from textstats import pct, sig3

# The statuses, worst first (a benchmark with several counts takes the first
# of its counts' statuses in this order).
REGRESSION = "regression"
IMPROVEMENT = "improvement"
UNCHANGED = "unchanged"
UNTESTED = "untested"        # too few repetitions, or no test available
SHARED_CORE = "shared core"  # ran beside a busy SMT sibling: not judged
STATUSES = (REGRESSION, IMPROVEMENT, UNCHANGED, UNTESTED, SHARED_CORE)

# A timing whose median core share is below this ran beside a busy SMT
# sibling (harness/core_share.h: kSharedCoreBelow, the console's `!`).
SHARED_CORE_BELOW = 0.8


# ---- rules ---------------------------------------------------------------------

@dataclass(frozen=True)
class CountRule:
    tolerance: float  # relative growth that is still no change (0.01 = 1%)
    floor: float      # absolute growth per op that is still no change


# Defaults per count, keyed as the result file names the counts.
COUNT_RULES = {
    "instructions_per_op": CountRule(tolerance=0.01, floor=0.02),
    "d1_misses_per_op": CountRule(tolerance=0.02, floor=0.01),
    "ll_misses_per_op": CountRule(tolerance=0.05, floor=0.01),
    "est_cycles_per_op": CountRule(tolerance=0.02, floor=0.1),
}


@dataclass(frozen=True)
class TimeRule:
    alpha: float = 0.05        # significance level of the U test
    min_effect: float = 0.05   # smallest median change that counts (0.05 = 5%)
    judge_shared: bool = False  # judge shared-core timings too


@dataclass(frozen=True)
class Rules:
    """Everything a verdict depends on besides the figures: the gate builds
    it from its options, the report from its own (same defaults)."""
    counts: dict = field(default_factory=lambda: dict(COUNT_RULES))
    time: TimeRule = TimeRule()


def short(count):
    """'instructions_per_op' -> 'instructions': how the tools name a count."""
    return count[: -len("_per_op")] if count.endswith("_per_op") else count


def count_rule_text(counts):
    """The count rule in one sentence, with its thresholds."""
    return ("A count regresses when it grows by more than its tolerance and its floor: "
            + ", ".join(f"{short(k)} {r.tolerance * 100:g}% / {r.floor:g}" for k, r in counts.items()) + ".")


def time_rule_text(rule):
    """The timing rule in one sentence, with its thresholds."""
    return (f"a change is significant when a two-sided Mann-Whitney U test over the repetitions "
            f"gives p < {rule.alpha:g} and the medians differ by more than {rule.min_effect * 100:g}%")


# ---- verdicts ------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One figure before and after, and what it alone says."""
    name: str            # "time", or a count's key
    base: float | None
    new: float | None
    change: float | None  # new / base - 1; +inf for growth from zero
    status: str


@dataclass(frozen=True)
class Verdict:
    """A status and the figures that justify it (issue 17 adds its interval)."""
    status: str
    figures: tuple = ()          # the Figures the status rests on
    p: float | None = None       # the U test's p-value, when it ran
    n: tuple = (0, 0)            # samples a side
    min_p: float | None = None   # untested for too few samples: the smallest p they allow
    note: str = ""               # why untested or not judged, in words

    def figure(self, name):
        return next((f for f in self.figures if f.name == name), None)

    def reason(self):
        """The figures behind the status: 'instructions +1.5%', 'time +21.0% (p=0.00794)'."""
        named = [f for f in self.figures if f.status == self.status] or list(self.figures)
        text = ", ".join(f"{short(f.name)} {pct(f.change)}" for f in named)
        return text + (f" (p={self.p:.3g})" if self.p is not None else "")


def worst(statuses):
    """The first of the statuses in STATUSES order (untested when none)."""
    return min(statuses, key=STATUSES.index, default=UNTESTED)


def relative_change(base, new):
    """new / base - 1; from a zero base, +inf for any growth, else 0.

    This form rather than (new - base) / base: the two differ in the last
    bit, which decides a change of exactly the tolerance (10 -> 10.2 is
    0.020000000000000018 here, 0.019999999999999928 there); the timing rule
    and the report's tests have always used this one."""
    if base > 0:
        return new / base - 1
    return math.inf if new > base else 0.0


def judge_count(name, base, new, rule):
    """One count: a Figure with its status under its tolerance and floor."""
    growth, change = new - base, relative_change(base, new)
    status = UNCHANGED
    if growth > rule.floor and change > rule.tolerance:
        status = REGRESSION
    elif -growth > rule.floor and change < -rule.tolerance:
        status = IMPROVEMENT
    return Figure(name, base, new, change, status)


def judge_counts(base, new, rules=COUNT_RULES):
    """Deterministic counts ({key: per-op value} a side): every count with a
    rule that both sides have; the benchmark takes the worst."""
    figures = tuple(judge_count(k, base[k], new[k], rule) for k, rule in rules.items()
                    if k in base and k in new)
    if not figures:
        return Verdict(UNTESTED, note="no count with a rule on both sides")
    return Verdict(worst(f.status for f in figures), figures)


def smallest_p(n1, n2):
    """The smallest p an exact two-sided U test can give with n1 and n2
    samples: every new sample beyond every baseline sample."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def have_u_test():
    """Whether scipy is there for the U test (the report draws without it,
    calling the timings untested; the gate needs python3-scipy)."""
    try:
        import scipy.stats  # noqa: F401  imported when needed: slow, and only timings need it
    except ImportError:
        return False
    return True


def u_test(base, new):
    """The two-sided Mann-Whitney U test's p-value; None without scipy."""
    if not have_u_test():
        return None
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(new, base, alternative="two-sided").pvalue)


def judge_samples(base, new, rule=TimeRule(), name="time"):
    """Repeated measurements (ns/op, or counts that vary from run to run):
    the U test and the minimum effect on the medians."""
    n = (len(base), len(new))
    mb = statistics.median(base) if base else None
    mn = statistics.median(new) if new else None
    change = relative_change(mb, mn) if n[0] and n[1] else None

    def verdict(status, p=None, min_p=None, note=""):
        return Verdict(status, (Figure(name, mb, mn, change, status),), p, n, min_p, note)

    if min(n) < 2:
        return verdict(UNTESTED, note="fewer than 2 repetitions a side")
    if smallest_p(*n) >= rule.alpha:
        # No p then: with ties scipy's approximation can print a p below
        # alpha that the exact test could never give.
        return verdict(UNTESTED, min_p=smallest_p(*n),
                       note=f"too few repetitions: with {n[0]} and {n[1]} the smallest possible p is "
                            f"{sig3(smallest_p(*n))}, not below {rule.alpha:g}")
    p = u_test(base, new)
    if p is None:
        return verdict(UNTESTED, note="scipy is not installed")
    if p < rule.alpha and change > rule.min_effect:
        return verdict(REGRESSION, p)
    if p < rule.alpha and change < -rule.min_effect:
        return verdict(IMPROVEMENT, p)
    return verdict(UNCHANGED, p)


def shared_core(share):
    """Whether a median core share says the row ran beside a busy sibling."""
    return share is not None and share < SHARED_CORE_BELOW


def judge_time(base, new, rule=TimeRule(), shares=(None, None)):
    """Timings (ns/op a repetition a side) with each side's median core share:
    the sample rule, unless a side ran on a shared core (then the figures
    are kept, the status is SHARED_CORE, and the figure keeps what it alone
    says)."""
    v = judge_samples(base, new, rule)
    if rule.judge_shared or not any(shared_core(s) for s in shares):
        return v
    return replace(v, status=SHARED_CORE, note="ran beside a busy SMT sibling: rerun it")


def judge_rows(base, new, rules=Rules()):
    """One benchmark in two loaded results (cachetick_results.Row): counts
    for sim rows, timings otherwise. None when there is nothing to judge (a
    failed row, or sim figures against timings): the caller says why."""
    if base.kind != new.kind or base.kind == "error":
        return None
    if base.kind == "sim":
        return judge_counts(base.counters, new.counters, rules.counts)
    return judge_time(base.samples, new.samples, rules.time, (base.core_share, new.core_share))


# ---- can two results be compared at all? ------------------------------------------

def environment_differences(base, new):
    """The sim environment's facts ({flattened key: value} a side) that
    differ: counts simulated under another valgrind, glibc or presented CPU
    may differ with no change in the code. [] when equal or unrecorded."""
    if not base or not new:
        return []
    return [f"{k}: baseline {base.get(k)!r}, new {new.get(k)!r}"
            for k in sorted(set(base) | set(new)) if base.get(k) != new.get(k)]


def geometries_differ(base, new):
    """Whether two recorded simulated cache geometries differ (counts under
    other caches are not comparable)."""
    return bool(base and new and base != new)


# ---- did a claim hold? ---------------------------------------------------------------

CLAIM_EXCEEDED = "exceeded"      # better than the whole claimed range
CLAIM_HELD = "held"              # within the claimed range (or its interval at or above its floor)
CLAIM_SHORT = "fell short"       # below the claimed range
CLAIM_UNDECIDED = "undecided"    # the interval spans the claimed floor
CLAIM_UNMEASURED = "not measured"  # no pair of rows in this run (or one failed)
CLAIM_STATUSES = (CLAIM_EXCEEDED, CLAIM_HELD, CLAIM_UNDECIDED, CLAIM_SHORT, SHARED_CORE, CLAIM_UNMEASURED)


@dataclass(frozen=True)
class ClaimRule:
    """How strictly a claim is read. A claimed figure is a rounded figure
    from a write-up, and a timing varies from run to run: a numeric range
    widens by `tolerance` on each side (3-5x accepts 2.86-5.25x; 1x,
    "neutral", accepts 0.952-1.05x). A claim that gives no figure
    ("faster") must be beaten by more than the tolerance."""
    tolerance: float = 0.05
    judge_shared: bool = False  # judge point estimates of rows that ran on a shared core


def claimed_range(factor, rule=ClaimRule()):
    """The factors (baseline / better; above 1 = better) that satisfy a
    claim, as (low, high): factor is [lo, hi] (hi None: no upper end), a
    single number, or one of "faster", "slower", "neutral"."""
    t = 1 + rule.tolerance
    if factor == "faster":
        return t, math.inf
    if factor == "slower":
        return 0.0, 1 / t
    if factor == "neutral":
        factor = [1, 1]
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        factor = [factor, factor]
    lo, hi = factor
    return lo / t, (math.inf if hi is None else hi * t)


def describe_claim(factor):
    """A claimed factor in words: '3-5x', '1.1x', 'at least 2x', 'faster'."""
    if isinstance(factor, str):
        return "no difference" if factor == "neutral" else factor
    if isinstance(factor, (int, float)):
        return f"{factor:g}x"
    lo, hi = factor
    if hi is None:
        return f"at least {lo:g}x"
    return f"{lo:g}x" if lo == hi else f"{lo:g}-{hi:g}x"


@dataclass(frozen=True)
class ClaimVerdict:
    status: str
    low: float           # the accepted range (claimed_range)
    high: float
    factor: float | None  # what was measured
    interval: tuple | None = None  # its confidence interval, when paired
    note: str = ""


def judge_claim(factor, claimed, interval=None, rule=ClaimRule(), shared=False):
    """A measured factor (baseline / better) against a claimed one. With an
    interval (paired rows) the whole interval must clear the claim's floor
    to hold, and lie wholly below it to fall short; else undecided. A point
    estimate of timings that ran on a shared core is not judged."""
    low, high = claimed_range(claimed, rule)
    verdict = lambda status, note="": ClaimVerdict(status, low, high, factor, interval, note)
    if factor is None or not math.isfinite(factor) or factor <= 0:
        return verdict(CLAIM_UNMEASURED, "no figure for one of the rows")
    a, b = interval if interval is not None else (factor, factor)
    if a > high:
        status, note = CLAIM_EXCEEDED, ""
    elif a >= low:
        status, note = CLAIM_HELD, ""
    elif b < low:
        status, note = CLAIM_SHORT, ""
    else:
        status, note = CLAIM_UNDECIDED, "the interval spans the claim's floor"
    if interval is None and shared and not rule.judge_shared:
        return verdict(SHARED_CORE, f"not judged: a row ran on a shared core (as measured: {status})")
    return verdict(status, note)


def claim_rule_text(rule):
    """The claim rule in one sentence."""
    return (f"a claimed range widens by {rule.tolerance * 100:g}% each side; a claim without a figure "
            f"('faster') needs more than {rule.tolerance * 100:g}%; with a paired interval, held means the "
            "whole interval is at or above the range's floor, fell short that it is wholly below it")

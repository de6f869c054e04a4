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
  A count that moves with the heap's layout alone (the baseline measured
  its range over several layouts) is judged against that range.
* Timings vary from run to run. Each file holds R samples of a row (its
  repetitions, or the rounds of a paired run); ratio_interval gives the
  ratio new/base with a distribution-free 95% interval (Hodges-Lehmann,
  with the Mann-Whitney interval: see there why), and margin_verdict
  judges it with the rule of the paired verdicts (harness/paired.cpp):
  slower or faster only when the WHOLE interval lies beyond +-margin (3%),
  else "no difference shown". Samples too few for any 95% interval (3 a
  side) are "not enough samples to judge", never a pass in disguise.
  A timing that ran beside a busy SMT sibling (median core share below
  SHARED_CORE_BELOW on either side) is shown but not judged: the sibling
  slows wide code up to 2x at the same clock. Timings from two different
  machines (machine_differences) are not judged either, unless asked.

Each judgement is a small pure function: figures and rules in, a Verdict
out (a status and the figures that justify it). The front ends choose only
how a status looks (a word, a colour, a mark).

Paired runs (issue 17) also carry, per row, its ratio to the group's
reference variant with an interval from interleaved rounds; judge_ratio_change
says whether that ratio moved between two files (the lesson a reader can
take from one machine to another, which absolute times are not).

A third question, asked by the claims table (claims.py): did a published
claim ("3-5x faster") hold in this run? judge_claim compares a measured
factor (the baseline's figure / the better variant's), with its interval
when the rows were paired, against the claimed range widened by a
tolerance.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass, field, replace

from textstats import pct, sig3

# The statuses, worst first (a benchmark with several counts takes the first
# of its counts' statuses in this order).
REGRESSION = "regression"
IMPROVEMENT = "improvement"
UNCHANGED = "unchanged"          # timings: "no difference shown"
UNTESTED = "untested"            # not enough samples to judge
SHARED_CORE = "shared core"      # ran beside a busy SMT sibling: not judged
OTHER_MACHINE = "other machine"  # timings from two different machines: not judged
STATUSES = (REGRESSION, IMPROVEMENT, UNCHANGED, UNTESTED, SHARED_CORE, OTHER_MACHINE)

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
    alpha: float = 0.05          # 1 - the interval's confidence (0.05: 95%)
    margin: float = 0.03         # the paired verdicts' margin (harness/paired.h): 3%
    judge_shared: bool = False   # judge shared-core timings too
    judge_across_machines: bool = False  # judge timings from two different machines too


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
    return (f"the ratio new/baseline is the Hodges-Lehmann estimate over the samples (repetitions or "
            f"rounds) with its Mann-Whitney {100 * (1 - rule.alpha):g}% interval; slower or faster only when "
            f"the whole interval lies beyond +-{rule.margin * 100:g}%, else no difference shown; with too "
            f"few samples for such an interval (3 a side) not enough samples to judge")


# ---- verdicts ------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One figure before and after, and what it alone says."""
    name: str            # "time", or a count's key
    base: float | None
    new: float | None
    change: float | None  # new / base - 1 (timings: the estimated ratio - 1); +inf for growth from zero
    status: str
    layouts: tuple | None = None  # the baseline's (lo, hi) over heap layouts, when wider than the rule


@dataclass(frozen=True)
class Verdict:
    """A status and the figures that justify it."""
    status: str
    figures: tuple = ()          # the Figures the status rests on
    p: float | None = None       # a test's p-value (no rule gives one today)
    n: tuple = (0, 0)            # samples a side
    min_p: float | None = None   # not enough samples: the smallest two-sided p they allow
    note: str = ""               # why untested or not judged, or what the interval says, in words
    interval: tuple | None = None     # timings: (lo, hi) of the ratio new/base
    confidence: float | None = None   # its exact coverage (>= 1 - alpha)

    def figure(self, name):
        return next((f for f in self.figures if f.name == name), None)

    def reason(self):
        """The figures behind the status: 'instructions +1.5%',
        'time +21.0% (95% interval +19.0%..+23.0%)'."""
        named = [f for f in self.figures if f.status == self.status] or list(self.figures)
        text = ", ".join(f"{short(f.name)} {pct(f.change)}" for f in named)
        if self.interval is not None:
            text += f" ({interval_text(self.interval)})"
        return text + (f" (p={self.p:.3g})" if self.p is not None else "")


def interval_text(interval):
    """(0.95, 1.10) -> 'interval -5.0%..+10.0%'."""
    lo, hi = interval
    return f"interval {pct(lo - 1)}..{pct(hi - 1)}"


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


def judge_count(name, base, new, rule, layouts=None):
    """One count: a Figure with its status under its tolerance and floor.

    layouts: the baseline's (lo, hi) of this count over several heap layouts
    (scripts/layout_range.py), when it was measured. A count that moves with
    the layout alone (a peer hashing addresses, a buffer landing in other
    cache sets) is then judged against that range, widened by its own width:
    a move of the layout's size is the heap's doing, not the code's, and any
    commit can move the heap. A count the layout does not move (lo == hi)
    gets the plain rule."""
    lo, hi = layouts if layouts else (base, base)
    width, up, down = hi - lo, new - hi, lo - new
    status = UNCHANGED
    if up > rule.floor and up > width and relative_change(hi, new) > rule.tolerance:
        status = REGRESSION
    elif down > rule.floor and down > width and relative_change(lo, new) < -rule.tolerance:
        status = IMPROVEMENT
    return Figure(name, base, new, relative_change(base, new), status,
                  (lo, hi) if layout_moves(rule, lo, hi) else None)


def layout_moves(rule, lo, hi):
    """Whether a count's range over heap layouts is wide enough to fail the
    plain rule on its own (the gate marks such counts)."""
    return hi - lo > rule.floor and relative_change(lo, hi) > rule.tolerance


def judge_counts(base, new, rules=COUNT_RULES, layouts=None):
    """Deterministic counts ({key: per-op value} a side): every count with a
    rule that both sides have; the benchmark takes the worst. layouts: the
    baseline's {key: (lo, hi)} over heap layouts, when measured."""
    layouts = layouts or {}
    figures = tuple(judge_count(k, base[k], new[k], rule, layouts.get(k)) for k, rule in rules.items()
                    if k in base and k in new)
    if not figures:
        return Verdict(UNTESTED, note="no count with a rule on both sides")
    return Verdict(worst(f.status for f in figures), figures)


# ---- timings: a ratio with its interval, and the margin rule ------------------------

def smallest_p(n1, n2):
    """The smallest p an exact two-sided U test can give with n1 and n2
    samples (every new sample beyond every baseline sample): below alpha,
    or no interval at 1 - alpha exists."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def have_u_test():
    """Always True now: the interval needs no scipy (the exact U
    distribution is computed here). Kept for report.py, which asks."""
    return True


@functools.lru_cache(maxsize=256)
def _u_lower_tail(m, n, upto):
    """Cumulative counts of the Mann-Whitney U statistic's null distribution
    for samples of m and n, for U = 0..upto: the coefficients of the
    Gaussian binomial [m+n choose m]_q = prod_i (1 - q^(n+i)) / (1 - q^i),
    as power series truncated after q^upto (exact, integers)."""
    c = [1] + [0] * upto
    for i in range(1, m + 1):
        for k in range(upto, n + i - 1, -1):
            c[k] -= c[k - n - i]
        for k in range(i, upto + 1):
            c[k] += c[k - i]
    total, out = 0, []
    for v in c:
        total += v
        out.append(total)
    return tuple(out)


def _u_rank(m, n, alpha):
    """(k, coverage): the interval [d(k), d(mn+1-k)] of the m*n sorted
    pairwise differences covers the shift with probability coverage =
    1 - 2 P(U <= k-1) >= 1 - alpha; k = 0 when no such interval exists.
    Exact up to m*n = 20000 pairs; beyond, the normal approximation of U."""
    mn = m * n
    if mn > 20000:
        z = statistics.NormalDist().inv_cdf(1 - alpha / 2)
        k = int(mn / 2 - z * math.sqrt(mn * (m + n + 1) / 12))
        return (k, 1 - alpha) if k >= 1 else (0, None)
    cum, total = _u_lower_tail(min(m, n), max(m, n), mn // 2), math.comb(m + n, m)
    k = 0
    while k + 1 <= mn // 2 and cum[k] <= alpha / 2 * total:
        k += 1
    return (k, 1 - 2 * cum[k - 1] / total) if k else (0, None)


@dataclass(frozen=True)
class RatioInterval:
    """The ratio new/base of two independent samples with its interval."""
    ratio: float | None       # Hodges-Lehmann estimate (None: a sample is empty or not positive)
    lo: float | None = None   # the interval (None: too few samples for one)
    hi: float | None = None
    confidence: float | None = None  # exact coverage (>= 1 - alpha)
    n: tuple = (0, 0)

    @property
    def valid(self):
        return self.lo is not None


def ratio_interval(base, new, alpha=0.05):
    """The ratio new/base of two independent samples of timings (e.g. ns/op
    per repetition or per round in two result files) with a
    distribution-free 1 - alpha interval.

    Method: on log times, the Hodges-Lehmann shift (the median of all
    pairwise differences log new_j - log base_i) with the interval from the
    Mann-Whitney U test's exact null distribution (order statistics
    d(k)..d(mn+1-k) of those differences; Lehmann 1963). Why: the two
    files' samples are independent, not paired round by round, so the sign
    test of the paired verdicts (harness/paired.cpp) has nothing to pair;
    this is its two-sample counterpart, equally free of any distribution
    (timings are skewed and have outlier rounds: no t interval), exact at
    small n (a bootstrap undercovers with 6-8 samples), robust (an outlier
    moves a bound by one rank), and on logs it is a ratio, as the paired
    verdicts are. Its one assumption: the two samples differ by a factor
    (the same shape on a log scale); a spell that hits some rounds of one
    file breaks it a little, which is what the margin absorbs.
    Too few samples for any interval (3 and 3: the smallest p is 0.1) give
    lo = hi = None."""
    n = (len(base), len(new))
    if min(n) == 0 or not all(v > 0 and math.isfinite(v) for v in (*base, *new)):
        return RatioInterval(None, n=n)
    lb, ln = [math.log(v) for v in base], [math.log(v) for v in new]
    d = sorted(y - x for x in lb for y in ln)
    ratio = math.exp(statistics.median(d))
    k, coverage = _u_rank(n[0], n[1], alpha)
    if not k:
        return RatioInterval(ratio, n=n)
    return RatioInterval(ratio, math.exp(d[k - 1]), math.exp(d[len(d) - k]), coverage, n)


def margin_verdict(lo, hi, margin):
    """The paired verdicts' rule (harness/paired.cpp judge_ratio) on an
    interval of a ratio (new/base, or variant/reference): slower
    (REGRESSION) when it lies wholly above 1 + margin, faster (IMPROVEMENT)
    wholly below 1 / (1 + margin), else no difference shown (UNCHANGED);
    with the reason in words."""
    up, down = 1 + margin, 1 / (1 + margin)
    if lo > up:
        return REGRESSION, f"slower: the whole interval is above +{margin * 100:g}%"
    if hi < down:
        return IMPROVEMENT, f"faster: the whole interval is below -{margin * 100:g}%"
    if lo >= down and hi <= up:
        return UNCHANGED, f"equivalent: within +-{margin * 100:g}%"
    return UNCHANGED, f"{interval_text((lo, hi))} reaches past +-{margin * 100:g}%: too wide to tell"


def judge_samples(base, new, rule=TimeRule(), name="time"):
    """Repeated measurements (ns/op, or counts that vary from run to run)
    a side: ratio_interval judged by margin_verdict. The Figure keeps the
    medians and the estimated change (ratio - 1)."""
    iv = ratio_interval(base, new, rule.alpha)
    n = iv.n
    mb = statistics.median(base) if base else None
    mn = statistics.median(new) if new else None
    change = iv.ratio - 1 if iv.ratio is not None else (relative_change(mb, mn) if min(n) else None)

    def verdict(status, note, min_p=None):
        interval = (iv.lo, iv.hi) if iv.valid else None
        return Verdict(status, (Figure(name, mb, mn, change, status),), None, n, min_p, note,
                       interval, iv.confidence)

    if iv.ratio is None and min(n):
        return verdict(UNTESTED, "a sample is not a positive number: no ratio")
    if min(n) < 2:
        return verdict(UNTESTED, f"not enough samples to judge: {n[0]} and {n[1]}")
    if not iv.valid:
        return verdict(UNTESTED, f"not enough samples to judge: with {n[0]} and {n[1]} no "
                                 f"{100 * (1 - rule.alpha):g}% interval exists (the smallest possible p "
                                 f"is {sig3(smallest_p(*n))}); 4 a side are the least, 6+ paired rounds "
                                 "the norm", smallest_p(*n))
    status, note = margin_verdict(iv.lo, iv.hi, rule.margin)
    return verdict(status, note)


def shared_core(share):
    """Whether a median core share says the row ran beside a busy sibling."""
    return share is not None and share < SHARED_CORE_BELOW


def judge_time(base, new, rule=TimeRule(), shares=(None, None), machines_differ=False):
    """Timings (ns/op a sample a side) with each side's median core share:
    the sample rule, unless the files come from different machines or a
    side ran on a shared core (then the figures are kept, the status says
    why the row is not judged, and the figure keeps what it alone says)."""
    v = judge_samples(base, new, rule)
    if machines_differ and not rule.judge_across_machines:
        return replace(v, status=OTHER_MACHINE, note="the files come from different machines")
    if rule.judge_shared or not any(shared_core(s) for s in shares):
        return v
    return replace(v, status=SHARED_CORE, note="ran beside a busy SMT sibling: rerun it")


def judge_rows(base, new, rules=Rules(), machines_differ=False):
    """One benchmark in two loaded results (cachetick_results.Row): counts
    for sim rows, timings otherwise (not judged across machines unless the
    rule says so: pass machines_differ=bool(machine_differences(...))).
    None when there is nothing to judge (a failed row, or sim figures
    against timings): the caller says why."""
    if base.kind != new.kind or base.kind == "error":
        return None
    if base.kind == "sim":
        return judge_counts(base.counters, new.counters, rules.counts, base.layout_range)
    return judge_time(base.samples, new.samples, rules.time, (base.core_share, new.core_share),
                      machines_differ)


# ---- paired runs: did a row's ratio to its reference change? ---------------------------

@dataclass(frozen=True)
class RatioChange:
    """A row's ratio to its group's reference variant in two paired files."""
    status: str           # REGRESSION: relatively slower now; IMPROVEMENT: faster; UNCHANGED
    reference: str
    base: tuple           # (ratio, lo, hi)
    new: tuple
    note: str = ""


def judge_ratio_change(base, new, margin=TimeRule.margin):
    """Two paired blocks (cachetick_results.Paired) of one row: changed when
    the intervals do not overlap even after widening the baseline's by the
    margin (new lo above base hi * (1 + margin), or new hi below base lo /
    (1 + margin)), the margin rule applied to a ratio of ratios. None when
    a side is unpaired or the references differ."""
    if base is None or new is None or base.reference != new.reference:
        return None
    b, n = (base.ratio, base.lo, base.hi), (new.ratio, new.lo, new.hi)
    if new.lo > base.hi * (1 + margin):
        status = REGRESSION
    elif new.hi < base.lo / (1 + margin):
        status = IMPROVEMENT
    else:
        status = UNCHANGED
    note = (f"vs {base.reference}: {sig3(b[0])} [{sig3(b[1])}-{sig3(b[2])}] -> "
            f"{sig3(n[0])} [{sig3(n[1])}-{sig3(n[2])}]")
    return RatioChange(status, base.reference, b, n, note)


# ---- can two results be compared at all? ------------------------------------------

def machine_differences(base, new):
    """The machine and build facts ({name: value} a side, from
    cachetick_results.Result.machine_facts) that both files record and that
    differ, as (name, baseline's, new's): timings from another CPU, core
    count, kernel or build do not measure the code alone. [] when equal or
    unrecorded."""
    return [(k, base[k], new[k]) for k in base if k in new and base[k] != new[k]]


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

"""Load cachetick (or plain Google Benchmark) result files into rows.

One row per benchmark: where it belongs (family, variant, role, workload,
size), its ns/op (the median of the repetitions), the per-repetition samples
a significance test needs, and its extra per-op counters. It is the one
reader of result files: the report (report.py) and the regression gate
(compare.py) both load through it, and it needs only the standard library,
so the gate runs without matplotlib. What it reads is judged elsewhere
(verdict.py); what can be charted, the report decides.

cachetick files carry a `cachetick` block in every benchmark entry (see the
README, "Result files"); files from other Google Benchmark programs are read
too: names like `family/variant/workload/size` are split, other names become
variant = function name, size = the last numeric argument.

Bad input raises ResultError with a message meant for the user.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field

# format_bytes lives in textstats with the other number helpers; kept here
# too because report.py's calibration code calls it as cr.format_bytes.
from textstats import format_bytes, ordered  # noqa: F401

ROLES = ("optimised", "naive", "peer", "reference", "unknown")

# Google Benchmark's own keys in a benchmark entry: everything else that is a
# number is a user counter.
GB_KEYS = {
    "name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
    "iterations", "real_time", "cpu_time", "time_unit", "family_index",
    "per_family_instance_index", "aggregate_name", "aggregate_unit", "label",
    "error_occurred", "error_message", "cachetick", "big_o", "rms", "complexity",
}
# User counters that are not per-op figures: kept in tables, never charted.
NOT_PER_OP = {
    "ticks_per_op",  # the time again, in TSC ticks
    "bytes_per_second", "items_per_second",  # rates, shown as GB/s elsewhere
    "allocs_per_iter", "max_bytes_used", "total_allocated_bytes", "net_heap_growth",
    "peak_heap_bytes", "alloc_pass_iterations",
    "core_share",  # how much of the core the batch had (harness/core_share.h)
    "mpx_running",  # share of the batch perf_event's PMU group was counted (multiplexing)
}
# The per-op counts the sim backend writes (harness/sim_parent.cpp): a row that has
# them is a sim row, judged on them and never on its (simulated) time.
SIM_COUNTS = ("instructions_per_op", "d1_misses_per_op", "ll_misses_per_op", "est_cycles_per_op")
# Keys of the per-entry cachetick block that are not counters.
CT_KEYS = {
    "family", "variant", "role", "workload", "size", "size_label", "working_set_bytes",
    "op", "ops_per_iter", "ns_per_op", "ticks_per_op", "useful_gb_per_s", "budget_ns",
    "verdict", "bytes_per_op", "note", "backend", "sim", "paired", "layout_range",
}
# The verdicts a paired comparison (issue 17) can give a row against its
# group's reference variant.
PAIRED_VERDICTS = ("faster", "slower", "no_difference")

_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)(B?)$", re.IGNORECASE)
_GB_SUFFIX_RE = re.compile(
    r"/(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
    r"min_time:[0-9.]+s?|min_warmup_time:[0-9.]+s?)(?=/|$)")


class ResultError(Exception):
    """A result file that cannot be used, with a message for the user."""


def parse_size(label):
    """'16KiB' -> (16384, True); '4096' -> (4096, False); junk -> (None, False).

    The flag says whether the label was in bytes (had a B suffix)."""
    m = _SIZE_RE.match(str(label).strip())
    if not m:
        return None, False
    value, prefix, binary, b = m.groups()
    mult = {"": 1, "K": 1, "M": 2, "G": 3, "T": 4}[prefix.upper()]
    base = 1024 if (binary or b) else 1000
    if not prefix:
        base = 1
    return float(value) * base ** mult, bool(b)


def _num(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _block(d, key):
    """d[key] when it is an object, else {}: a missing or odd block reads as empty."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, dict) else {}


def flatten(d, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}: one key per fact, for naming differences."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@dataclass(frozen=True)
class Paired:
    """A row's paired comparison with its group's reference variant (issue
    17): interleaved rounds, ratio = this row's time / the reference's."""

    reference: str          # the reference variant (the group's optimised one)
    ratio: float            # median per-round ratio
    lo: float               # its confidence interval
    hi: float
    confidence: float       # 0.95
    rounds: int | None = None         # the rounds the ratio rests on
    shared_rounds: int | None = None  # rounds that ran beside a busy SMT sibling
    verdict: str | None = None        # one of PAIRED_VERDICTS
    rounds_run: int | None = None     # rounds measured (more than `rounds` when disturbed ones were dropped)
    preempted_rounds: int | None = None  # rounds in which the group's process lost the CPU
    disturbed_changes_verdict: bool | None = None  # the verdict on every round differs from this one


@dataclass
class Row:
    """One benchmark, all its repetitions folded together."""

    name: str
    family: str
    variant: str
    role: str
    workload: str
    size: float | None
    size_label: str
    working_set_bytes: float | None = None
    op: str = "op"
    ns_per_op: float | None = None
    samples: list = field(default_factory=list)  # ns/op of each repetition
    cv: float | None = None
    ticks_per_op: float | None = None
    gb_per_s: float | None = None
    budget_ns: float | None = None
    verdict: str | None = None
    counters: dict = field(default_factory=dict)  # name -> per-op value (median)
    counter_samples: dict = field(default_factory=dict)  # name -> per-repetition values
    other: dict = field(default_factory=dict)  # numbers kept for the table only
    error: str | None = None
    paired: Paired | None = None  # the paired comparison with the group's reference, when run
    # sim counts' (lo, hi) over several heap layouts (scripts/layout_range.py), by count
    layout_range: dict = field(default_factory=dict)
    order: int = 0

    @property
    def key(self):
        return (self.family, self.variant, self.workload, self.size_label)

    @property
    def kind(self):
        """'error' (a repetition failed), 'sim' (deterministic counts) or 'time'."""
        if self.error is not None:
            return "error"
        return "sim" if any(k in self.counters for k in SIM_COUNTS) else "time"

    @property
    def core_share(self):
        """The median share of the core the repetitions had (None: not measured)."""
        return self.other.get("core_share")


@dataclass
class Result:
    path: str
    doc: dict
    rows: list
    is_cachetick: bool
    warnings: list = field(default_factory=list)

    @property
    def ct(self):
        return _block(self.doc, "cachetick")

    @property
    def context(self):
        return _block(self.doc, "context")

    @property
    def machine(self):
        return _block(self.ct, "machine")

    @property
    def machine_facts(self):
        """What a timing depends on besides the code, as {name: value} for
        the facts this file records: CPU model, logical cores, kernel, arch
        (cachetick's machine block; a plain Google Benchmark file has only
        its context's num_cpus) and how cachetick was built (build type,
        compiler, flags). verdict.machine_differences compares two."""
        m = self.machine or _block(self.context, "machine")
        b = _block(self.ct, "build") or _block(self.context, "build")
        facts = {"CPU model": m.get("cpu_model"),
                 "cores": m.get("logical_cpus", self.context.get("num_cpus")),
                 "kernel": m.get("kernel"), "arch": m.get("arch"),
                 "build type": b.get("build_type"), "compiler": b.get("compiler"),
                 "compiler flags": b.get("cxx_flags")}
        return {k: v for k, v in facts.items() if v not in (None, "")}

    @property
    def complete(self):
        """False when cachetick says the run was interrupted."""
        return self.ct.get("complete") is not False

    @property
    def sim_geometry(self):
        """The simulated caches ({I1, D1, LL}), None when not a sim result."""
        g = _block(_block(self.ct, "sim"), "geometry")
        return {k: g.get(k) for k in ("I1", "D1", "LL")} if g else None

    @property
    def sim_heap_layout(self):
        """The sim child's heap layout (--sim-heap-layout; 0: the heap as it
        is); None when not a sim result."""
        sim = _block(self.ct, "sim")
        return int(sim.get("heap_layout", 0)) if sim else None

    @property
    def sim_environment(self):
        """What the sim child's libraries saw, one key per fact (None: not recorded)."""
        env = _block(_block(self.ct, "sim"), "environment")
        return flatten(env) if env else None

    @property
    def host(self):
        return str(self.machine.get("host") or self.context.get("host_name") or "unknown host")

    @property
    def budget_ns(self):
        b = _num(_block(self.ct, "options").get("budget_ns"))
        if b:
            return b
        budgets = [r.budget_ns for r in self.rows if r.budget_ns]
        return statistics.median(budgets) if budgets else None

    def caches(self):
        """Data/unified caches as [(name, bytes)], from the cachetick machine
        block (sysfs) or Google Benchmark's context."""
        src = self.machine.get("caches") or self.context.get("caches") or []
        out = []
        for c in src if isinstance(src, list) else []:
            if not isinstance(c, dict) or c.get("type") == "Instruction":
                continue
            size = _num(c.get("size_bytes"))
            if size is None:
                size = _num(c.get("size"))
                if size is None and c.get("size") is not None:
                    size, _ = parse_size(c.get("size"))
            level = c.get("level")
            if size and level is not None:
                name = f"L{level}" + ("d" if c.get("type") == "Data" else "")
                if all(n != name for n, _ in out):
                    out.append((name, size))
        return out

    def caches_source(self):
        """Where the cache sizes come from: 'sysfs', 'CPUID leaf 4', ... or
        'unknown' (cachetick's machine block), Google Benchmark's context
        (which reads sysfs), or None when neither has any."""
        src = self.machine.get("caches_source")
        if isinstance(src, str) and src:
            return src
        if self.machine.get("caches"):
            return "sysfs"
        return "sysfs (Google Benchmark)" if self.context.get("caches") else None

    def families(self):
        return ordered(r.family for r in self.rows)

    def counter_names(self):
        return ordered(k for r in self.rows for k in r.counters)

    def has_repetitions(self):
        return any(len(r.samples) >= 2 for r in self.rows)


def _ns(value, unit):
    v = _num(value)
    unit = str(unit or "ns")
    if v is None or unit not in _UNITS:
        return None
    return v * _UNITS[unit]


def _split_foreign(name, executable):
    """A plain Google Benchmark name -> (family, variant, workload, size, label, bytes?)."""
    base = _GB_SUFFIX_RE.sub("", name)
    parts = base.split("/")
    if len(parts) == 4 and parse_size(parts[3])[0] is not None:
        size, in_bytes = parse_size(parts[3])
        return parts[0], parts[1], parts[2], size, parts[3], in_bytes
    family = os.path.basename(str(executable or "")) or "benchmarks"
    variant, args = parts[0], parts[1:]
    args = [a.split(":", 1)[1] if ":" in a and not a.startswith("threads:") else a for a in args]
    size = label = None
    in_bytes = False
    for i in range(len(args) - 1, -1, -1):
        s, b = parse_size(args[i])
        if s is not None:
            size, label, in_bytes = s, args[i], b
            del args[i]
            break
    workload = "/".join(args) or "-"
    return family, variant, workload, size, label, in_bytes


def load(path):
    """Read one result file into a Result, or raise ResultError."""
    if not os.path.exists(path):
        raise ResultError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultError(f"{path}: is a directory, not a result file")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except UnicodeDecodeError:
        raise ResultError(f"{path}: not valid JSON: not a text file (expected cachetick or "
                          "Google Benchmark JSON)")
    except json.JSONDecodeError as e:
        raise ResultError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
                          "a truncated file from an interrupted run? cachetick writes atomically, "
                          "so a partial file did not come from it")
    except OSError as e:
        raise ResultError(f"{path}: cannot read ({e.strerror})")
    return from_doc(doc, path)


def from_doc(doc, path="<result>"):
    """A parsed result document as a Result, or raise ResultError."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        what = ("a JSON object without 'benchmarks'" if isinstance(doc, dict) else
                f"a JSON {'list' if isinstance(doc, list) else type(doc).__name__}")
        raise ResultError(f"{path}: not a cachetick or Google Benchmark result: it is {what}, not a "
                          "Google Benchmark result object ('context' and a 'benchmarks' list, as written "
                          "by `cachetick run -o FILE` or `--benchmark_out=FILE --benchmark_out_format=json`)")
    entries = doc["benchmarks"]
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or e.get("name") is None:
            raise ResultError(f"{path}: benchmark #{i} has no name")
    if not entries:
        raise ResultError(f"{path}: no benchmarks in this result (an empty run, or a filter that "
                          "matched nothing)")
    is_ct = any(isinstance(e.get("cachetick"), dict) for e in entries)
    executable = _block(doc, "context").get("executable")
    groups = {}  # one group per benchmark: its repetitions and aggregates
    for e in entries:
        key = e.get("run_name") or re.sub(r"_(mean|median|stddev|cv)$", "", str(e["name"]))
        groups.setdefault(str(key), []).append(e)
    rows = [_fold(key, es, executable, order, path) for order, (key, es) in enumerate(groups.items())]
    return Result(path=path, doc=doc, rows=rows, is_cachetick=is_ct)


def _fold(key, entries, executable, order, path):
    """One benchmark's entries (repetitions and aggregates) as one Row."""
    ct = next((e["cachetick"] for e in entries if isinstance(e.get("cachetick"), dict)), None)
    row = _describe(key, ct, executable, order)
    iters = [e for e in entries if e.get("run_type", "iteration") == "iteration"]
    aggs = {e.get("aggregate_name"): e for e in entries if e.get("run_type") == "aggregate"}
    errors = [e for e in entries if e.get("error_occurred")]
    if errors:
        row.error = str(errors[0].get("error_message") or "error")
    good = [e for e in iters if not e.get("error_occurred")]
    main = aggs.get("median") or aggs.get("mean")
    _check_sim_counts(good, key, path)
    _fold_time(row, good, main, aggs, ct)
    _fold_counters(row, good, main)
    row.paired = _paired(entries, key, path)
    row.layout_range = _layout_range(ct, row, path)
    if row.ns_per_op is None and not row.counters and row.error is None:
        raise ResultError(f"{path}: {key}: no time (no real_time/time_unit, no cachetick ns_per_op) "
                          "and no counter")
    return row


def _describe(key, ct, executable, order):
    """Where a benchmark belongs: from its cachetick block, else its name."""
    if ct:
        size = _num(ct.get("size"))
        label = str(ct.get("size_label") if ct.get("size_label") is not None
                    else ("" if size is None else f"{size:g}"))
        if size is None and label:
            size, _ = parse_size(label)
        ws = _num(ct.get("working_set_bytes"))
        row = Row(name=key, family=str(ct.get("family") or "?"), variant=str(ct.get("variant") or "?"),
                  role=str(ct.get("role") or "unknown"), workload=str(ct.get("workload") or "-"),
                  size=size, size_label=label or "-", working_set_bytes=ws if ws else None,
                  op=str(ct.get("op") or "op"), order=order)
    else:
        fam, var, wl, size, label, in_bytes = _split_foreign(key, executable)
        row = Row(name=key, family=fam, variant=var, role="unknown", workload=wl, size=size,
                  size_label=label or "-", working_set_bytes=size if in_bytes else None,
                  op="iteration", order=order)
    if row.role not in ROLES:
        row.role = "unknown"
    return row


def _paired(entries, key, path):
    """The row's paired block (the first entry that has one: the time
    backend writes it on the row's median aggregate only), checked: a
    ratio inside a positive interval, a confidence in (0, 1), a known
    verdict. None when the run was not paired."""
    block = next((e["cachetick"]["paired"] for e in entries
                  if isinstance(e.get("cachetick"), dict) and "paired" in e["cachetick"]), None)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ResultError(f"{path}: {key}: 'paired' is not an object ({block!r})")
    nums = {k: _num(block.get(k)) for k in ("ratio", "lo", "hi", "confidence", "rounds", "shared_rounds",
                                            "rounds_run", "preempted_rounds")}
    ref, verdict = block.get("reference"), block.get("verdict")
    problems = []
    if not isinstance(ref, str) or not ref:
        problems.append("no reference variant")
    if None in (nums["ratio"], nums["lo"], nums["hi"]) or not 0 < nums["lo"] <= nums["ratio"] <= nums["hi"]:
        problems.append(f"ratio {block.get('ratio')!r} is not inside a positive interval "
                        f"[{block.get('lo')!r}, {block.get('hi')!r}]")
    if nums["confidence"] is None or not 0 < nums["confidence"] < 1:
        problems.append(f"confidence {block.get('confidence')!r} is not in (0, 1)")
    if verdict is not None and verdict not in PAIRED_VERDICTS:
        problems.append(f"verdict {verdict!r} is not one of {', '.join(PAIRED_VERDICTS)}")
    if problems:
        raise ResultError(f"{path}: {key}: bad 'paired' block: " + "; ".join(problems))
    count = lambda k: int(nums[k]) if nums[k] is not None else None
    return Paired(reference=ref, ratio=nums["ratio"], lo=nums["lo"], hi=nums["hi"],
                  confidence=nums["confidence"], rounds=count("rounds"),
                  shared_rounds=count("shared_rounds"), verdict=verdict, rounds_run=count("rounds_run"),
                  preempted_rounds=count("preempted_rounds"),
                  disturbed_changes_verdict=(block["disturbed_changes_verdict"]
                                             if isinstance(block.get("disturbed_changes_verdict"), bool) else None))


def _layout_range(ct, row, path):
    """A sim row's counts' ranges over heap layouts, checked: each a [lo, hi]
    with lo <= hi that holds the row's own value. {} when not recorded."""
    block = ct.get("layout_range") if ct else None
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ResultError(f"{path}: {row.name}: 'layout_range' is not an object ({block!r})")
    out = {}
    for k in SIM_COUNTS:
        v = block.get(k)
        if v is None:
            continue
        lo, hi = (_num(x) for x in v) if isinstance(v, list) and len(v) == 2 else (None, None)
        own = row.counters.get(k)
        if lo is None or hi is None or not lo <= hi or (own is not None and not lo <= own <= hi):
            raise ResultError(f"{path}: {row.name}: layout_range '{k}' {v!r} is not a [lo, hi] "
                              f"that holds the row's value {own!r}")
        out[k] = (lo, hi)
    return out


def _check_sim_counts(entries, key, path):
    """A sim count that is there must be a count: the gate judges on them."""
    for e in entries:
        for k in SIM_COUNTS:
            if k in e and (_num(e[k]) is None or e[k] < 0):
                raise ResultError(f"{path}: {key}: '{k}' is not a count ({e[k]!r})")


def _fold_time(row, good, main, aggs, ct):
    """ns/op (the median aggregate's, else the median of the repetitions),
    the samples, their spread, and the per-op figures cachetick adds."""
    def ns_of(e):
        c = e.get("cachetick")
        if isinstance(c, dict):
            return _num(c.get("ns_per_op"))
        if ct:  # a cachetick row without its own figures (error, sim backend)
            return None
        return _ns(e.get("real_time"), e.get("time_unit"))

    row.samples = [v for v in (ns_of(e) for e in good) if v is not None]
    if main is not None and ns_of(main) is not None:
        row.ns_per_op = ns_of(main)
    elif row.samples:
        row.ns_per_op = statistics.median(row.samples)
    if "cv" in aggs and _num(aggs["cv"].get("real_time")) is not None:
        row.cv = _num(aggs["cv"].get("real_time"))
    elif len(row.samples) >= 2 and statistics.mean(row.samples) > 0:
        row.cv = statistics.stdev(row.samples) / statistics.mean(row.samples)

    src = main if main is not None else (good[0] if len(good) == 1 else None)
    src_ct = _block(src, "cachetick")
    row.ticks_per_op = _num(src_ct.get("ticks_per_op"))
    row.gb_per_s = _num(src_ct.get("useful_gb_per_s"))
    row.budget_ns = _num(src_ct.get("budget_ns"))
    row.verdict = src_ct.get("verdict")
    if row.gb_per_s is None and not ct and src is not None and _num(src.get("bytes_per_second")):
        row.gb_per_s = _num(src.get("bytes_per_second")) / 1e9


def _counters_of(e):
    """An entry's counters: flat user counters (how Google Benchmark writes
    them) and any extra numbers in the cachetick block (calibration-derived
    figures)."""
    out = {k: _num(v) for k, v in e.items() if k not in GB_KEYS and _num(v) is not None}
    for k, v in _block(e, "cachetick").items():
        if k not in CT_KEYS and _num(v) is not None:
            out.setdefault(k, _num(v))
    return out


def _fold_counters(row, good, main):
    """Each counter's value (the median aggregate's, else the median of the
    repetitions) and its per-repetition samples."""
    per_rep = [_counters_of(e) for e in good]
    main_counters = _counters_of(main) if main is not None else {}
    for k in ordered(k for d in per_rep + [main_counters] for k in d):
        vals = [d[k] for d in per_rep if k in d]
        v = main_counters[k] if k in main_counters else statistics.median(vals)
        if k in NOT_PER_OP:
            row.other[k] = v
        else:
            row.counters[k] = v
            row.counter_samples[k] = vals


def load_all(paths):
    """Load every path; collect every problem before giving up."""
    results, problems = [], []
    for p in paths:
        try:
            results.append(load(p))
        except ResultError as e:
            problems.append(str(e))
    if problems:
        raise ResultError("\n".join(problems))
    return results


def merge(results):
    """Several files of one run (e.g. one per family) as one result."""
    first = results[0]
    doc = dict(first.doc)
    rows, seen, warnings = [], set(), list(first.warnings)
    for res in results:
        for r in res.rows:
            if r.name in seen:
                warnings.append(f"{r.name} appears in more than one file; kept the first ({first.path})")
                continue
            seen.add(r.name)
            r.order = len(rows)
            rows.append(r)
        if res is not first:
            warnings += res.warnings
            if res.host != first.host:
                warnings.append(f"merged files come from different hosts ({first.host}, {res.host}): "
                                "use several files without --merge to compare hosts")
    return Result(path=" + ".join(r.path for r in results), doc=doc, rows=rows,
                  is_cachetick=any(r.is_cachetick for r in results), warnings=warnings)

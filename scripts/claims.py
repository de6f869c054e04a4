#!/usr/bin/python3
"""cachetick claims: the seeds' published claims against what a run measured.

    scripts/claims.py RESULT.json [MORE.json ...]     the table (files of one run)
    scripts/claims.py RESULT.json --claims FILE       other claims (default scripts/claims.json)

Each claim of scripts/claims.json ("Buffer pooling: 2-3x faster") names the
benchmark pairs that measure it (buffers/touch_line: ct_pool against
new_delete). For every pair and size in the run the table shows the factor
measured (the baseline's figure / the better variant's: above 1, the claim's
direction), its interval when the run was paired (issue 17: each row's
`cachetick.paired` block, ratio to its group's reference variant), else the
ratio of the two medians of this one run, and whether the claim held
(verdict.py decides: judge_claim).

Exit codes: 0 done, 2 bad input (a missing or corrupt result or claims
file), 1 a bug in this script. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cachetick_results as cr  # noqa: E402
import verdict as vd  # noqa: E402
from textstats import sig3  # noqa: E402

DEFAULT_CLAIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "claims.json")
PAIR_KEYS = ("family", "workload", "better", "baseline")


class ClaimsError(cr.ResultError):
    """A claims file that cannot be used, with a message for the user."""


# ---- the claims file ---------------------------------------------------------------

def _check_factor(factor):
    if factor in ("faster", "slower", "neutral"):
        return True
    if isinstance(factor, bool):
        return False
    if isinstance(factor, (int, float)):
        return factor > 0
    if isinstance(factor, list) and len(factor) == 2:
        lo, hi = factor
        return (isinstance(lo, (int, float)) and not isinstance(lo, bool) and lo > 0
                and (hi is None or (isinstance(hi, (int, float)) and not isinstance(hi, bool) and hi >= lo)))
    return False


def _claim_problems(i, c):
    """What is wrong with claim #i (a list of sentences, empty when fine)."""
    if not isinstance(c, dict):
        return [f"claim #{i} is not an object"]
    name = f"claim #{i} ({c.get('id', 'no id')})"
    out = [f"{name}: no '{k}'" for k in ("id", "source", "claim", "figure")
           if not isinstance(c.get(k), str) or not c.get(k)]
    if not _check_factor(c.get("factor")):
        out.append(f"{name}: factor {c.get('factor')!r} is not [lo, hi], [lo, null], a positive number, "
                   "'faster', 'slower' or 'neutral'")
    pairs = c.get("pairs", [])
    if not isinstance(pairs, list):
        return out + [f"{name}: 'pairs' is not a list"]
    for j, p in enumerate(pairs):
        if not isinstance(p, dict) or any(not isinstance(p.get(k), str) or not p.get(k) for k in PAIR_KEYS):
            out.append(f"{name}: pair #{j} needs {', '.join(PAIR_KEYS)} (strings)")
        elif "sizes" in p and (not isinstance(p["sizes"], list) or not all(isinstance(s, str) for s in p["sizes"])):
            out.append(f"{name}: pair #{j}: 'sizes' is not a list of size labels")
    if not pairs and not c.get("note"):
        out.append(f"{name}: no pairs and no note saying why")
    return out


def load_claims(path=DEFAULT_CLAIMS):
    """The claims file as {'sources': {...}, 'claims': [...]}, checked; or ClaimsError."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ClaimsError(f"{path}: no such claims file")
    except IsADirectoryError:
        raise ClaimsError(f"{path}: is a directory, not a claims file")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ClaimsError(f"{path}: not valid JSON ({e})")
    except OSError as e:
        raise ClaimsError(f"{path}: cannot read ({e.strerror})")
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list) or not doc["claims"]:
        raise ClaimsError(f"{path}: not a claims file: expected an object with a non-empty 'claims' list")
    problems = [p for i, c in enumerate(doc["claims"]) for p in _claim_problems(i, c)]
    ids = [c.get("id") for c in doc["claims"] if isinstance(c, dict)]
    problems += [f"claim id {i!r} appears more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise ClaimsError(f"{path}: " + "; ".join(problems))
    if not isinstance(doc.get("sources"), dict):
        doc["sources"] = {}
    return doc


# ---- measuring a pair ----------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    factor: float | None          # baseline / better (above 1: the better variant is better)
    interval: tuple | None        # (lo, hi) when paired
    confidence: float | None
    method: str                   # how the factor was obtained, in words
    shared: bool = False          # a point estimate from a row that ran on a shared core


def _figure(row, figure):
    if figure == "time":
        return row.ns_per_op
    return row.counters.get(figure, row.other.get(figure))


def _paired(better, baseline):
    """The factor from the rows' paired blocks, or None when they have none
    that relates them. The reference's own row may carry no block."""
    pa, pb = baseline.paired, better.paired
    if pa is not None and pa.reference == better.variant:
        return Measure(pa.ratio, (pa.lo, pa.hi), pa.confidence,
                       f"paired, {pa.rounds or '?'} rounds" + _shared_rounds(pa))
    if pb is not None and pb.reference == baseline.variant:
        return Measure(1 / pb.ratio, (1 / pb.hi, 1 / pb.lo), pb.confidence,
                       f"paired, {pb.rounds or '?'} rounds" + _shared_rounds(pb))
    if pa is not None and pb is not None and pa.reference == pb.reference:
        # Two intervals against one reference: their quotient's interval
        # covers the truth whenever both cover theirs (Bonferroni: at least
        # 1 - both misses).
        conf = max(0.0, pa.confidence + pb.confidence - 1)
        return Measure(pa.ratio / pb.ratio, (pa.lo / pb.hi, pa.hi / pb.lo), conf,
                       f"paired, each against {pa.reference}: a conservative interval")
    return None


def _shared_rounds(p):
    return f", {p.shared_rounds} on a shared core" if p.shared_rounds else ""


def measure(better, baseline, figure):
    """How much better `better` is than `baseline` in this run."""
    if figure == "time" and better.kind == "time" and baseline.kind == "time":
        m = _paired(better, baseline)
        if m is not None:
            return m
    a, b = _figure(baseline, figure), _figure(better, figure)
    if a is None or b is None or b <= 0:
        return Measure(None, None, None, "no figure" if a is None or b is None else "a zero figure")
    if figure != "time":
        return Measure(a / b, None, None, f"{figure}, one run")
    shared = vd.shared_core(better.core_share) or vd.shared_core(baseline.core_share)
    return Measure(a / b, None, None, "ratio of medians, one run", shared)


# ---- the table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One pair at one size: what was measured and the verdict."""
    claim: dict
    pair: dict
    size: str | None
    measure: Measure | None
    verdict: vd.ClaimVerdict
    missing: str = ""   # what the run lacks, when not measured


def _index(results):
    """(family, variant, workload, size) -> [(row, file index)], first file first."""
    out = {}
    for i, res in enumerate(results):
        for r in res.rows:
            out.setdefault(r.key, []).append((r, i))
    return out


def _find_pair(index, better_key, baseline_key):
    """The two rows from one file if any file has both, else each from the
    first file that has it (None where none has it)."""
    a, b = index.get(better_key, []), index.get(baseline_key, [])
    files_b = {i: (r, i) for r, i in b}
    same = next(((x, files_b[x[1]]) for x in a if x[1] in files_b), None)
    if same is not None:
        return same
    return (a[0] if a else None), (b[0] if b else None)


def _sizes(pair, index):
    if "sizes" in pair:
        return list(pair["sizes"])
    found = [(r.size if r.size is not None else math.inf, r.order, r.size_label)
             for (f, v, w, _), ((r, _), *_) in index.items()
             if f == pair["family"] and w == pair["workload"] and v in (pair["better"], pair["baseline"])]
    return list(dict.fromkeys(label for _, _, label in sorted(found))) or [None]


def _pair_lines(claim, pair, index, rule):
    for size in _sizes(pair, index):
        key = lambda v: (pair["family"], v, pair["workload"], size)
        got = dict(zip((pair["better"], pair["baseline"]),
                       _find_pair(index, key(pair["better"]), key(pair["baseline"]))))
        absent = [f"{pair['family']}/{v}/{pair['workload']}/{size or '*'}" for v, g in got.items() if g is None]
        failed = [g[0].name for g in got.values() if g is not None and g[0].kind == "error"]
        if absent or failed:
            why = ("not in this run: " + ", ".join(absent)) if absent else ("failed: " + ", ".join(failed))
            yield Line(claim, pair, size, None, vd.ClaimVerdict(vd.CLAIM_UNMEASURED, 0, 0, None, note=why), why)
            continue
        (better, fb), (baseline, fa) = got[pair["better"]], got[pair["baseline"]]
        m = measure(better, baseline, claim["figure"])
        if fa != fb:
            m = Measure(m.factor, m.interval, m.confidence, m.method + "; the two rows come from different files",
                        m.shared)
        v = vd.judge_claim(m.factor, claim["factor"], m.interval, rule, m.shared)
        yield Line(claim, pair, size, m, v)


def table(results, claims_doc, rule=vd.ClaimRule()):
    """Every claim's lines against the loaded results (one run, maybe in
    several files): a list of (claim, [Line])."""
    index = _index(results)
    out = []
    for c in claims_doc["claims"]:
        lines = [ln for p in c.get("pairs", []) for ln in _pair_lines(c, p, index, rule)]
        out.append((c, lines))
    return out


def claim_status(lines):
    """A claim's lines summed up in words: 'held 4 of 5, undecided 1'."""
    if not lines:
        return "no benchmark"
    counts = {s: sum(ln.verdict.status == s for ln in lines) for s in vd.CLAIM_STATUSES}
    measured = sum(n for s, n in counts.items() if s != vd.CLAIM_UNMEASURED)
    if not measured:
        return vd.CLAIM_UNMEASURED
    parts = [f"{s} {n}" for s, n in counts.items() if n]
    return ", ".join(parts) + f" (of {len(lines)})"


def factor_text(x):
    return "-" if x is None else f"{sig3(x)}x"


def interval_text(m):
    if m is None or m.interval is None:
        return "-"
    lo, hi = m.interval
    return f"{sig3(lo)}-{sig3(hi)}x ({m.confidence * 100:g}%)"


def pair_text(ln):
    p = ln.pair
    return f"{p['family']}/{p['workload']}/{ln.size or '*'}: {p['better']} vs {p['baseline']}"


def render_text(rows, claims_doc, rule):
    """The table as text for the terminal."""
    out = []
    for c, lines in rows:
        out.append(f"{c['claim']}  [claimed {vd.describe_claim(c['factor'])}; {c['figure']}; source {c['source']}]"
                   f"  -> {claim_status(lines)}")
        if not lines:
            out.append(f"    {c.get('note', '')}")
        for ln in lines:
            if ln.measure is None:
                out.append(f"    {pair_text(ln):58s} not measured: {ln.missing}")
                continue
            note = "; ".join(x for x in (ln.measure.method, ln.verdict.note) if x)
            out.append(f"    {pair_text(ln):58s} {factor_text(ln.measure.factor):>8s} {interval_text(ln.measure):>20s}"
                       f"  {ln.verdict.status:12s} ({note})")
        if lines and c.get("note"):
            out.append(f"    note: {c['note']}")
    out.append("")
    out.append("factor = the baseline's figure / the better variant's (above 1: better, as claimed); "
               "time = ns/op. Rule: " + vd.claim_rule_text(rule) + ".")
    out.append("Without paired rows (cachetick.paired, issue 17) a factor is the ratio of two medians of one "
               "run, with no interval: read it as one measurement.")
    out.append("Sources: " + "; ".join(f"{k} = {v}" for k, v in claims_doc["sources"].items()))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="claims", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("results", nargs="+", help="result JSON files of one run (cachetick run -o FILE)")
    ap.add_argument("--claims", default=DEFAULT_CLAIMS, help="the claims file (default scripts/claims.json)")
    ap.add_argument("--tolerance", type=float, default=vd.ClaimRule.tolerance,
                    help="a claimed range widens by this much each side (0.05)")
    ap.add_argument("--judge-shared", action="store_true",
                    help="judge point estimates of rows that ran on a shared core too")
    args = ap.parse_args(argv)
    if not 0 <= args.tolerance < 1:
        print(f"claims: --tolerance {args.tolerance:g} is not in [0, 1)", file=sys.stderr)
        return 2
    try:
        claims_doc = load_claims(args.claims)
        results = cr.load_all(args.results)
    except cr.ResultError as e:
        print(f"claims: {e}", file=sys.stderr)
        return 2
    rule = vd.ClaimRule(tolerance=args.tolerance, judge_shared=args.judge_shared)
    print(render_text(table(results, claims_doc, rule), claims_doc, rule))
    return 0


if __name__ == "__main__":
    sys.exit(main())

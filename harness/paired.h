// Paired comparisons: how a group of variants is measured in rounds, and
// what the rounds allow us to say. Pure functions, no measurement.
//
// Why rounds: cachetick's answer is a ratio ("the pool is 3x faster than
// tcmalloc"). Measured one row after another, the two sides of a ratio are
// minutes apart, and on a shared VM a spell (a neighbour on our SMT sibling,
// turbo moving) falls on one side only: the same binary gave the L1 table
// vs tsl::robin_map as 1.14 vs 1.27 ns in one run and 1.03 vs 1.00 half an
// hour later. Measured in rounds - every variant once per round, back to
// back - a spell lasting seconds falls on all variants of the rounds it
// spans alike, and the per-round ratio cancels it.
//
// Why rotate: the first variant of a round follows whatever ran before
// (another group's set-up, a context switch), the last one follows its own
// group. Round r starts one variant later than round r-1 (a Latin square:
// every variant sits in every position once every V rounds), and every
// other cycle of V rounds runs backwards (ABBA for two variants), so that
// position and a slow drift cancel over the rounds.
//
// Why this interval: the per-round log ratios are not normal (a spell that
// hits half a round gives an outlier, a drift gives a skew), so no t
// interval. The interval for their median from the sign test (order
// statistics d(k)..d(n+1-k), k from the binomial) holds at >= 95% for any
// continuous distribution, and an outlier round moves it by one rank at
// most. Hodges-Lehmann would be narrower but assumes the log ratios are
// symmetric about their centre, which spells break. The price: at least 6
// rounds before any 95% interval exists (with 5, all five ratios on one
// side still happen 1 time in 16).
//
// Why a margin: between runs some effects do not cancel within a run (where
// the heap landed, which pages were huge, the core's frequency that day);
// on our VM they move a ratio by a few percent. A verdict must not flip
// between runs, so a ratio is only called faster or slower when its whole
// interval lies beyond +-margin (default 3%); otherwise "no difference
// shown", and the detail says whether the interval sits inside the margin
// (equivalent) or is too wide to tell.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cachetick {

// The order in which round `round` times variants 0..n-1.
std::vector<std::size_t> round_order(std::size_t n, std::size_t round);

// The smallest number of rounds for which a two-sided interval at
// `confidence` exists (6 at 95%).
std::size_t min_rounds(double confidence = 0.95);

struct RatioInterval {
  bool valid = false;   // false: too few rounds for the confidence asked
  double ratio = 0;     // median of the per-round ratios (variant / reference time)
  double lo = 0, hi = 0;
  std::size_t rounds = 0;
  double confidence = 0;  // what the order statistics give (>= the one asked)
  // Half the interval's width in log space, as a fraction: hi/lo = ((1+w)/(1-w))-ish;
  // exp(half log width) - 1. The stopping rule compares it with the target.
  double half_width() const;
};

// Sign-test interval for the median of per-round ratios (each > 0).
// Throws std::invalid_argument on a non-positive or non-finite ratio.
RatioInterval ratio_interval(const std::vector<double>& ratios, double confidence = 0.95);

enum class Verdict { faster, slower, no_difference };
const char* to_string(Verdict v);  // for people: "no difference shown"
const char* verdict_key(Verdict v);  // for files: "faster", "slower", "no_difference"

struct Judgement {
  Verdict verdict = Verdict::no_difference;
  std::string detail;  // "1.42x slower", "within +-3%", "interval 0.91-1.12: too wide to tell"
};
// `margin` as a fraction (0.03). An invalid interval is "no difference
// shown" with the reason.
Judgement judge_ratio(const RatioInterval& r, double margin);

// When a group's rounds may stop: every interval valid and its half width
// at most `target` (a fraction), or the cap reached (the caller says so).
bool narrow_enough(const std::vector<RatioInterval>& intervals, double target);

// One variant against its group's reference, from the rounds both ran:
// per round, the variant's ns/op over the reference's.
//
// Disturbed rounds: a round in which either batch lost part of its core
// (the core-share probe read below the shared-core threshold: a neighbour
// on our SMT sibling) or its CPU (the scheduler preempted it:
// harness/preemption.h). The ratio cancels a spell that spans both
// batches; one that starts between them does not. So the headline interval
// leaves disturbed rounds out when at least min_rounds() clean ones
// remain, and says how many it dropped; the interval over every round is
// kept beside it, with whether its verdict differs.
//
// Processes: a group's rounds may come from several processes (timed.cpp
// runs each group in --processes of them, one after another). Within a
// process the rounds are paired, but some effects are fixed for a whole
// process and differ between processes: which physical pages its memory
// got (and so which L2 sets and DRAM banks a table maps to), where its
// heap landed. On our Zen 5 guest hash/chain/32768's naive/ct ratio read
// 0.904, 1.031, 1.083, 1.096, 1.102, 1.115, 1.153 in seven processes, each
// with a +-2-5% interval: a verdict from one process flipped between runs.
// The sign-test interval over the pooled rounds does not see that
// component, so with several processes the headline interval is widened
// to cover every process's own median ratio: faster or slower then needs
// every process to agree beyond the margin.
struct RoundFlags {
  bool shared = false, preempted = false;
  std::size_t process = 0;  // which of the group's processes ran the round
};
//
// Shared core: when the headline could not leave the disturbed rounds out
// (fewer than min_rounds() clean ones) and most of its rounds ran beside a
// busy SMT sibling, the ratio is kept but not judged. Contention for the
// core's issue slots does not slow variants alike (wide SIMD code more
// than scalar code): on our Zen 5 guest hash/insert/32768's ct_scalar/ct
// read 1.186 [1.155, 1.209] in a run with clean rounds and 0.852 [0.817,
// 0.876] in one whose 60 rounds were all shared (core share 0.67). The
// same rule as scripts/verdict.py's "shared core: not judged" for two files.
struct PairedFigures {
  std::string reference;  // the reference variant's name (Spec::variant)
  double margin = 0.03;
  RatioInterval ratio;    // the headline (its .rounds: the rounds it used)
  Judgement judgement;
  std::size_t rounds = 0;  // every round run
  std::size_t shared_rounds = 0, preempted_rounds = 0;
  bool dropped_disturbed = false;  // the headline left the disturbed rounds out
  RatioInterval every_round;       // with the disturbed rounds
  Judgement every_round_judgement;
  std::size_t processes = 1;           // how many processes the rounds came from
  std::vector<double> process_ratios;  // each process's median ratio (the headline's rounds), when > 1
  bool widened = false;                // the headline interval was widened to cover them
  bool shared_core = false;            // the headline's rounds were mostly shared: not judged
  bool disturbed_changes_verdict() const { return every_round_judgement.verdict != judgement.verdict; }
};
// Sizes must match (else std::invalid_argument).
PairedFigures pair_rounds(const std::string& reference, const std::vector<double>& variant_ns,
                          const std::vector<double>& reference_ns, const std::vector<RoundFlags>& flags,
                          double margin, double confidence = 0.95);

// The document's `paired` block of a row (and back, for a child's answer).
nlohmann::json to_json(const PairedFigures& p);
PairedFigures paired_from_json(const nlohmann::json& j);

}  // namespace cachetick

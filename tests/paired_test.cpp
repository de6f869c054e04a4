// The paired-rounds statistics (harness/paired.h): rotation, the sign-test
// interval, verdicts and the stopping rule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "harness/paired.h"

using namespace cachetick;

TEST(PairedOrder, EveryVariantTakesEveryPositionOncePerCycle) {
  const std::size_t n = 4;
  for (std::size_t cycle = 0; cycle < 3; ++cycle)
    for (std::size_t pos = 0; pos < n; ++pos) {
      std::set<std::size_t> seen;
      for (std::size_t r = cycle * n; r < (cycle + 1) * n; ++r) {
        const auto o = round_order(n, r);
        ASSERT_EQ(std::set<std::size_t>(o.begin(), o.end()).size(), n);  // a permutation
        seen.insert(o[pos]);
      }
      EXPECT_EQ(seen.size(), n) << "position " << pos << " cycle " << cycle;
    }
}

TEST(PairedOrder, TwoVariantsRunAbba) {
  std::string s;
  for (std::size_t r = 0; r < 8; ++r)
    for (std::size_t v : round_order(2, r)) s += char('A' + v);
  EXPECT_EQ(s, "ABBABAAB" "ABBABAAB");
  EXPECT_TRUE(round_order(0, 3).empty());
  EXPECT_EQ(round_order(1, 5), std::vector<std::size_t>{0});
}

TEST(PairedInterval, NeedsSixRoundsAt95Percent) {
  EXPECT_EQ(min_rounds(0.95), 6u);
  EXPECT_EQ(min_rounds(0.99), 8u);  // 2/2^7 = 1.6% > 1%, 2/2^8 = 0.8%
  EXPECT_FALSE(ratio_interval({1.1, 1.2, 1.0, 1.3, 1.1}).valid);
  const RatioInterval r = ratio_interval({1.1, 1.2, 1.0, 1.3, 1.1, 1.15});
  ASSERT_TRUE(r.valid);
  EXPECT_DOUBLE_EQ(r.lo, 1.0);
  EXPECT_DOUBLE_EQ(r.hi, 1.3);
  EXPECT_NEAR(r.confidence, 1 - 2.0 / 64, 1e-12);
  EXPECT_NEAR(r.ratio, std::sqrt(1.1 * 1.15), 1e-12);  // median of the logs
}

TEST(PairedInterval, OrderStatisticsForTwentyRounds) {
  // Bin(20, 1/2): P(X <= 5) = 2.07% <= 2.5% < P(X <= 6) = 5.77%: ranks 6 and 15.
  std::vector<double> r;
  for (int i = 1; i <= 20; ++i) r.push_back(1 + i / 100.0);
  std::shuffle(r.begin(), r.end(), std::mt19937(7));
  const RatioInterval ci = ratio_interval(r);
  ASSERT_TRUE(ci.valid);
  EXPECT_NEAR(ci.lo, 1.06, 1e-12);
  EXPECT_NEAR(ci.hi, 1.15, 1e-12);
  EXPECT_NEAR(ci.confidence, 0.9586, 1e-3);
}

TEST(PairedInterval, OneWildRoundMovesItByOneRankAtMost) {
  std::vector<double> r = {1.20, 1.22, 1.25, 1.24, 1.26, 1.23, 1.25, 1.21, 1.27, 1.24};
  const RatioInterval calm = ratio_interval(r);
  r[3] = 3.0;  // a spell on the variant's batch of one round
  const RatioInterval spell = ratio_interval(r);
  EXPECT_NEAR(spell.ratio, calm.ratio, 0.02);
  EXPECT_LE(spell.hi, 1.27);
}

TEST(PairedInterval, CoversTheTrueRatioAtLeast95PercentOfTheTime) {
  // Log-normal rounds around 1.25 with 10% outlier rounds (spells): the
  // interval must hold its level without any assumption of normality.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0, 0.03);
  std::uniform_real_distribution<double> u(0, 1);
  int covered = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> r;
    for (int i = 0; i < 12; ++i) {
      double d = std::log(1.25) + noise(rng);
      if (u(rng) < 0.1) d += (u(rng) < 0.5 ? -1 : 1) * 0.5;  // symmetric outliers keep the median
      r.push_back(std::exp(d));
    }
    const RatioInterval ci = ratio_interval(r);
    covered += ci.lo <= 1.25 && 1.25 <= ci.hi;
  }
  EXPECT_GE(covered, 0.95 * trials);
}

TEST(PairedInterval, RefusesRatiosThatAreNotPositive) {
  EXPECT_THROW(ratio_interval({1, 0, 1, 1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(ratio_interval({1, -2, 1, 1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(ratio_interval({1, NAN, 1, 1, 1, 1}), std::invalid_argument);
  EXPECT_FALSE(ratio_interval({}).valid);
}

TEST(PairedVerdict, CallsOnlyWhatLiesBeyondTheMargin) {
  auto ci = [](double lo, double ratio, double hi) {
    RatioInterval r;
    r.valid = true, r.lo = lo, r.ratio = ratio, r.hi = hi, r.rounds = 10;
    return r;
  };
  EXPECT_EQ(judge_ratio(ci(0.60, 0.62, 0.65), 0.03).verdict, Verdict::faster);
  EXPECT_EQ(judge_ratio(ci(0.60, 0.62, 0.65), 0.03).detail, "1.61x faster");
  EXPECT_EQ(judge_ratio(ci(1.40, 1.42, 1.45), 0.03).verdict, Verdict::slower);
  const Judgement same = judge_ratio(ci(0.99, 1.00, 1.02), 0.03);
  EXPECT_EQ(same.verdict, Verdict::no_difference);
  EXPECT_NE(same.detail.find("equivalent"), std::string::npos);
  // Significant (the interval excludes 1) but inside the margin: not called.
  EXPECT_EQ(judge_ratio(ci(1.01, 1.02, 1.025), 0.03).verdict, Verdict::no_difference);
  const Judgement wide = judge_ratio(ci(0.90, 1.05, 1.20), 0.03);
  EXPECT_EQ(wide.verdict, Verdict::no_difference);
  EXPECT_NE(wide.detail.find("too wide"), std::string::npos);
  RatioInterval few;
  few.rounds = 4;
  EXPECT_NE(judge_ratio(few, 0.03).detail.find("at least 6"), std::string::npos);
  EXPECT_STREQ(to_string(Verdict::no_difference), "no difference shown");
}

TEST(PairedStop, StopsWhenEveryIntervalIsNarrow) {
  RatioInterval a, b;
  a.valid = b.valid = true;
  a.lo = 0.99, a.hi = 1.01;  // +-1%
  b.lo = 1.90, b.hi = 2.10;  // +-5%
  EXPECT_NEAR(a.half_width(), 0.01, 1e-3);
  EXPECT_TRUE(narrow_enough({a}, 0.03));
  EXPECT_FALSE(narrow_enough({a, b}, 0.03));
  EXPECT_TRUE(narrow_enough({a, b}, 0.06));
  b.valid = false;
  EXPECT_FALSE(narrow_enough({a, b}, 0.5));
  EXPECT_TRUE(narrow_enough({}, 0.03));
}

namespace {

// Rounds of `per` ratios around each process's centre (multiplicative
// noise of +-1%), as pair_rounds takes them: variant and reference ns.
struct Series {
  std::vector<double> variant, reference;
  std::vector<RoundFlags> flags;
};
Series rounds_around(const std::vector<double>& centres, std::size_t per, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> noise(0.99, 1.01);
  Series s;
  for (std::size_t p = 0; p < centres.size(); ++p)
    for (std::size_t i = 0; i < per; ++i) {
      s.reference.push_back(10.0);
      s.variant.push_back(10.0 * centres[p] * noise(rng));
      s.flags.push_back({false, false, p});
    }
  return s;
}

}  // namespace

TEST(PairedProcesses, OneProcessIsThePlainSignTestInterval) {
  const Series s = rounds_around({1.2}, 20, 1);
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  std::vector<double> ratios;
  for (std::size_t i = 0; i < s.variant.size(); ++i) ratios.push_back(s.variant[i] / s.reference[i]);
  const RatioInterval plain = ratio_interval(ratios);
  EXPECT_EQ(p.processes, 1u);
  EXPECT_TRUE(p.process_ratios.empty());
  EXPECT_FALSE(p.widened);
  EXPECT_DOUBLE_EQ(p.ratio.lo, plain.lo);
  EXPECT_DOUBLE_EQ(p.ratio.hi, plain.hi);
  EXPECT_EQ(p.judgement.verdict, Verdict::slower);
}

// The case that made processes necessary: each process's own rounds are
// narrow, but the processes disagree (0.90, 1.00, 1.10: what one
// process's physical pages give). One process alone would say faster or
// slower; together the interval covers every process's median, so no
// difference is shown.
TEST(PairedProcesses, DisagreeingProcessesWidenTheIntervalToNoDifference) {
  const Series s = rounds_around({0.90, 1.00, 1.10}, 12, 2);
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  ASSERT_EQ(p.processes, 3u);
  ASSERT_EQ(p.process_ratios.size(), 3u);
  EXPECT_NEAR(p.process_ratios[0], 0.90, 0.01);
  EXPECT_NEAR(p.process_ratios[2], 1.10, 0.012);
  EXPECT_TRUE(p.widened);
  EXPECT_LE(p.ratio.lo, p.process_ratios[0]);
  EXPECT_GE(p.ratio.hi, p.process_ratios[2]);
  EXPECT_EQ(p.judgement.verdict, Verdict::no_difference);
  EXPECT_LE(p.every_round.lo, p.process_ratios[0]);  // the every-round interval is widened alike
  // Each process alone would have called it.
  const Series first = rounds_around({0.90}, 12, 2);
  EXPECT_EQ(pair_rounds("ct", first.variant, first.reference, first.flags, 0.03).judgement.verdict,
            Verdict::faster);
}

TEST(PairedProcesses, AgreeingProcessesKeepTheirVerdict) {
  const Series s = rounds_around({1.50, 1.52, 1.49}, 10, 3);
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  EXPECT_EQ(p.processes, 3u);
  EXPECT_EQ(p.judgement.verdict, Verdict::slower);
  EXPECT_GE(p.ratio.lo, 1.45);
  EXPECT_LE(p.ratio.hi, 1.55);
}

TEST(PairedProcesses, DisturbedRoundsLeaveEachProcessMedianToo) {
  Series s = rounds_around({1.30, 1.31}, 10, 4);
  for (std::size_t i = 0; i < 3; ++i) {  // three wild rounds in process 1, flagged shared
    s.variant[10 + i] = 40.0;
    s.flags[10 + i].shared = true;
  }
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  EXPECT_TRUE(p.dropped_disturbed);
  ASSERT_EQ(p.process_ratios.size(), 2u);
  EXPECT_NEAR(p.process_ratios[1], 1.31, 0.02);  // the flagged rounds are not in its median
  EXPECT_EQ(p.judgement.verdict, Verdict::slower);
}

TEST(PairedProcesses, FileBlockRoundTrips) {
  const Series s = rounds_around({0.90, 1.00, 1.10}, 8, 5);
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  const PairedFigures back = paired_from_json(to_json(p));
  EXPECT_EQ(back.processes, 3u);
  EXPECT_EQ(back.process_ratios, p.process_ratios);
  EXPECT_TRUE(back.widened);
  EXPECT_DOUBLE_EQ(back.ratio.lo, p.ratio.lo);
  // A block written before processes existed reads as one process.
  nlohmann::json old = to_json(p);
  old.erase("processes");
  old.erase("process_ratios");
  old.erase("widened_by_processes");
  EXPECT_EQ(paired_from_json(old).processes, 1u);
  EXPECT_FALSE(paired_from_json(old).widened);
}

// Most rounds beside a busy SMT sibling and too few clean ones to leave
// them out: the ratio is kept, the verdict is not given.
TEST(PairedSharedCore, MostlySharedRoundsAreNotJudged) {
  Series s = rounds_around({0.85}, 20, 6);
  for (std::size_t i = 0; i < 16; ++i) s.flags[i].shared = true;  // 4 clean: fewer than 6
  const PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  EXPECT_FALSE(p.dropped_disturbed);
  EXPECT_TRUE(p.shared_core);
  EXPECT_EQ(p.judgement.verdict, Verdict::no_difference);
  EXPECT_NE(p.judgement.detail.find("16 of 20 rounds on a shared core"), std::string::npos) << p.judgement.detail;
  EXPECT_NE(p.judgement.detail.find("(0.85"), std::string::npos) << p.judgement.detail;
  EXPECT_NEAR(p.ratio.ratio, 0.85, 0.01);
  EXPECT_FALSE(p.disturbed_changes_verdict());
  EXPECT_TRUE(paired_from_json(to_json(p)).shared_core);
}

TEST(PairedSharedCore, CleanRoundsOrAFewSharedOnesAreJudged) {
  Series s = rounds_around({0.85}, 20, 7);
  for (std::size_t i = 0; i < 14; ++i) s.flags[i].shared = true;  // 6 clean: the headline leaves them out
  PairedFigures p = pair_rounds("ct", s.variant, s.reference, s.flags, 0.03);
  EXPECT_TRUE(p.dropped_disturbed);
  EXPECT_FALSE(p.shared_core);
  EXPECT_EQ(p.judgement.verdict, Verdict::faster);
  Series few = rounds_around({0.85}, 8, 8);
  for (std::size_t i = 0; i < 3; ++i) few.flags[i].shared = true;  // 5 clean, 3 shared of 8: a minority
  p = pair_rounds("ct", few.variant, few.reference, few.flags, 0.03);
  EXPECT_FALSE(p.shared_core);
  EXPECT_EQ(p.judgement.verdict, Verdict::faster);
}

// Calibration: the pointer-chase permutation, the curve reader on simulated
// hierarchies (clean, noisy, with a level that cannot be separated), unit
// conversions, the per-row judgement and the cache's validity checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "harness/calibrate.h"
#include "harness/curve.h"

namespace cachetick {
namespace {

constexpr std::uint64_t KiB = 1024, MiB = 1024 * 1024;

// ---------------------------------------------------------------- permutation

TEST(Sattolo, OneCycleThroughEverySlot) {
  for (std::size_t n : {1u, 2u, 3u, 7u, 64u, 1000u, 100003u}) {
    const auto next = sattolo_cycle(n, 42 + n);
    ASSERT_EQ(next.size(), n);
    EXPECT_EQ(cycle_length(next), n) << "n=" << n;
    if (n > 1) {
      for (std::size_t i = 0; i < n; ++i) ASSERT_NE(next[i], i) << "fixed point at " << i;
    }
  }
}

TEST(Sattolo, DeterministicPerSeedAndSeedsDiffer) {
  EXPECT_EQ(sattolo_cycle(4096, 7), sattolo_cycle(4096, 7));
  EXPECT_NE(sattolo_cycle(4096, 7), sattolo_cycle(4096, 8));
}

TEST(Sattolo, ReachesEveryCyclicPermutationOfFour) {
  // There are (4-1)! = 6 four-cycles; Sattolo must produce all of them and
  // nothing else (Fisher-Yates would also produce the 18 others).
  std::set<std::vector<std::uint32_t>> seen;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    auto p = sattolo_cycle(4, seed);
    ASSERT_EQ(cycle_length(p), 4u);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(Sattolo, BadSize) { EXPECT_THROW(sattolo_cycle(0, 1), std::invalid_argument); }

TEST(CycleLength, RejectsWhatIsNotOneCycle) {
  EXPECT_EQ(cycle_length({}), 0u);
  EXPECT_EQ(cycle_length({0, 1, 2}), 1u);        // identity: slot 0 maps to itself
  EXPECT_EQ(cycle_length({1, 0, 3, 2}), 2u);     // two 2-cycles: 0 and 1 only
  EXPECT_EQ(cycle_length({1, 1, 0}), 0u);        // not a permutation
  EXPECT_EQ(cycle_length({5, 0}), 0u);           // out of range
  EXPECT_EQ(cycle_length({1, 2, 0}), 3u);
}

// ------------------------------------------------------ simulated hierarchies

// Latency of a simple inclusive hierarchy: the fastest level the set fits,
// and a transition value for a set between 1x and 1.5x a level (partly hits).
struct Level {
  std::uint64_t bytes;
  double ns;
};
std::vector<CurvePoint> simulate(const std::vector<Level>& levels, double dram_ns, std::uint64_t lo,
                                 std::uint64_t hi, double noise = 0, std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-noise, noise);
  std::vector<CurvePoint> c;
  for (std::uint64_t s : size_grid(lo, hi, 2)) {
    double v = dram_ns;
    for (const Level& l : levels)
      if (s <= l.bytes) {
        v = l.ns;
        break;
      }
    c.push_back({s, v * (1 + u(rng))});
  }
  return c;
}

const std::vector<std::pair<std::string, std::uint64_t>> kSysfs = {
    {"L1d", 32 * KiB}, {"L2", 1 * MiB}, {"L3", 32 * MiB}};

TEST(Plateaus, CleanHierarchy) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}, {32 * MiB, 15}}, 100, 4 * KiB, 512 * MiB);
  auto p = find_plateaus(c);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].to_bytes, 32 * KiB);
  EXPECT_EQ(p[0].next_bytes, 48 * KiB);
  EXPECT_EQ(p[1].to_bytes, 1 * MiB);
  EXPECT_EQ(p[2].to_bytes, 32 * MiB);
  EXPECT_EQ(p[3].next_bytes, 0u);
  EXPECT_DOUBLE_EQ(p[0].value, 1.1);
  EXPECT_DOUBLE_EQ(p[3].value, 100);

  auto lv = match_levels(p, kSysfs, 512 * MiB);
  ASSERT_EQ(lv.size(), 4u);
  for (const auto& l : lv) EXPECT_TRUE(l.separated) << l.name << ": " << l.note;
  EXPECT_EQ(lv[0].name, "L1d");
  EXPECT_EQ(lv[0].boundary_bytes, 32 * KiB);
  EXPECT_EQ(lv[2].boundary_bytes, 32 * MiB);
  EXPECT_EQ(lv[3].name, "DRAM");
  EXPECT_DOUBLE_EQ(lv[3].value, 100);
  EXPECT_TRUE(lv[1].note.empty()) << lv[1].note;
}

TEST(Plateaus, NoiseAndSpikesDoNotMakeLevels) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}, {32 * MiB, 15}}, 100, 4 * KiB, 512 * MiB, 0.10, seed);
    c[5].value *= 6;   // one preempted sample inside L1
    c[20].value *= 3;  // and one in L3
    auto p = find_plateaus(c);
    ASSERT_EQ(p.size(), 4u) << "seed " << seed;
    auto lv = match_levels(p, kSysfs, 512 * MiB);
    EXPECT_NEAR(lv[0].value, 1.1, 0.15);
    EXPECT_NEAR(lv[1].value, 4, 0.5);
    EXPECT_NEAR(lv[3].value, 100, 12);
    // Boundaries within a factor of 2 of the truth.
    EXPECT_GE(lv[0].boundary_bytes, 16 * KiB);
    EXPECT_LE(lv[0].boundary_bytes, 64 * KiB);
    EXPECT_GE(lv[1].boundary_bytes, 512 * KiB);
    EXPECT_LE(lv[1].boundary_bytes, 2 * MiB);
  }
}

TEST(Plateaus, TransitionPointsAreNotLevels) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}}, 80, 4 * KiB, 64 * MiB);
  // The set 1.5x the L1 is partly served by it: a value between the levels.
  for (auto& pt : c)
    if (pt.bytes == 48 * KiB) pt.value = 2.2;
  auto p = find_plateaus(c);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].to_bytes, 32 * KiB);
  EXPECT_EQ(p[1].from_bytes, 64 * KiB);
}

TEST(Plateaus, SharedL3ThatCannotBeSeparated) {
  // L1 and L2 clean; beyond L2 the latency climbs steadily to DRAM (a shared
  // L3 whose share keeps shrinking): no plateau of its own.
  std::vector<CurvePoint> c;
  for (std::uint64_t s : size_grid(4 * KiB, 512 * MiB, 2)) {
    double v = s <= 32 * KiB ? 1.1 : s <= 1 * MiB ? 4 : std::min(120.0, 10 * std::pow(1.45, std::log2(double(s) / MiB) * 2));
    c.push_back({s, v});
  }
  auto p = find_plateaus(c);
  auto lv = match_levels(p, kSysfs, 512 * MiB);
  ASSERT_EQ(lv.size(), 4u);
  EXPECT_TRUE(lv[0].separated);
  EXPECT_TRUE(lv[1].separated);
  EXPECT_FALSE(lv[2].separated);
  EXPECT_NE(lv[2].note.find("could not be separated"), std::string::npos) << lv[2].note;
  EXPECT_TRUE(lv[3].separated);  // DRAM: the flat end
  EXPECT_DOUBLE_EQ(lv[3].value, 120);
}

TEST(Plateaus, SmallEffectiveL3IsReportedAgainstSysfs) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}, {4 * MiB, 30}}, 120, 4 * KiB, 512 * MiB);
  auto lv = match_levels(find_plateaus(c), kSysfs, 512 * MiB);
  EXPECT_TRUE(lv[2].separated);
  EXPECT_EQ(lv[2].boundary_bytes, 4 * MiB);
  EXPECT_NE(lv[2].note.find("8x below sysfs 32MiB"), std::string::npos) << lv[2].note;
}

TEST(Plateaus, CurveThatStopsBeforeMemory) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}, {32 * MiB, 15}}, 100, 4 * KiB, 16 * MiB);
  auto lv = match_levels(find_plateaus(c), kSysfs, 16 * MiB);
  EXPECT_TRUE(lv[2].separated);  // L3, open-ended
  EXPECT_EQ(lv[2].boundary_bytes, 0u);
  EXPECT_FALSE(lv[3].separated);
  EXPECT_NE(lv[3].note.find("not reached"), std::string::npos) << lv[3].note;
}

TEST(Plateaus, NoSysfsNamesLevelsByOrder) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}}, 90, 4 * KiB, 64 * MiB);
  auto lv = match_levels(find_plateaus(c), {}, 64 * MiB);
  ASSERT_EQ(lv.size(), 3u);
  EXPECT_EQ(lv[0].name, "level 1");
  EXPECT_EQ(lv[2].name, "memory");
}

TEST(Plateaus, NoisyLevelSaysSo) {
  auto c = simulate({{32 * KiB, 1.1}, {1 * MiB, 4}, {32 * MiB, 15}}, 100, 4 * KiB, 512 * MiB);
  for (auto& pt : c)
    if (pt.bytes == 4 * MiB) pt.value = 19;  // within 30% of the plateau, yet a 27% spread
  for (auto& pt : c)
    if (pt.bytes == 8 * MiB) pt.value = 13.5;
  auto lv = match_levels(find_plateaus(c), kSysfs, 512 * MiB);
  ASSERT_TRUE(lv[2].separated);
  EXPECT_NE(lv[2].note.find("noisy"), std::string::npos) << lv[2].note;
}

TEST(Plateaus, BadCurves) {
  EXPECT_THROW(find_plateaus({}), std::invalid_argument);
  EXPECT_THROW(find_plateaus({{8192, 1}, {4096, 2}}), std::invalid_argument);
  EXPECT_THROW(find_plateaus({{4096, 1}, {8192, 0}}), std::invalid_argument);
  EXPECT_THROW(find_plateaus({{4096, NAN}}), std::invalid_argument);
  auto one = find_plateaus({{4096, 1}});
  EXPECT_TRUE(one.empty());  // one point is not a plateau (min_points 2)
}

// --------------------------------------------------------- conversions, grid

TEST(Units, Conversions) {
  EXPECT_DOUBLE_EQ(ticks_to_ns(2000, 2e9), 1000);
  EXPECT_NEAR(ns_to_cycles(1.79, 2.79e9), 4.994, 1e-3);
  EXPECT_DOUBLE_EQ(gb_per_s(64e9, 1e9), 64);  // 64e9 bytes in one second
  EXPECT_DOUBLE_EQ(gb_per_s(64, 1), 64);      // 64 B/ns = 64 GB/s
}

TEST(Units, InterpolateLog) {
  std::vector<CurvePoint> c = {{4 * KiB, 10}, {16 * KiB, 30}, {64 * KiB, 30}};
  EXPECT_DOUBLE_EQ(interpolate_log(c, 4 * KiB), 10);
  EXPECT_DOUBLE_EQ(interpolate_log(c, 8 * KiB), 20);  // halfway in log(size)
  EXPECT_DOUBLE_EQ(interpolate_log(c, 1), 10);        // clamped
  EXPECT_DOUBLE_EQ(interpolate_log(c, 1 * MiB), 30);
  EXPECT_THROW(interpolate_log({}, 1), std::invalid_argument);
}

TEST(Units, SizeGrid) {
  EXPECT_EQ(size_grid(4 * KiB, 64 * KiB, 2),
            (std::vector<std::uint64_t>{4 * KiB, 6 * KiB, 8 * KiB, 12 * KiB, 16 * KiB, 24 * KiB,
                                        32 * KiB, 48 * KiB, 64 * KiB}));
  EXPECT_EQ(size_grid(4 * KiB, 8 * KiB, 4),
            (std::vector<std::uint64_t>{4 * KiB, 5 * KiB, 6 * KiB, 7 * KiB, 8 * KiB}));
  EXPECT_EQ(size_grid(4 * KiB, 32 * KiB, 1).size(), 4u);
  for (auto s : size_grid(4 * KiB, 1 << 30, 4)) EXPECT_EQ(s % 64, 0u);
  EXPECT_THROW(size_grid(8192, 4096, 2), std::invalid_argument);
}

// ------------------------------------------------------------ per-row limits

TEST(JudgeRow, Figures) {
  Limits lim;
  lim.valid = true;
  lim.core_hz = 3e9;
  lim.l1_ns = 2;
  lim.read_gbps = {{4 * KiB, 100}, {16 * KiB, 50}};
  RowLimits r = judge_row(lim, 6, 8 * KiB, 15, true);
  EXPECT_DOUBLE_EQ(r.est_cycles_per_op, 18);
  EXPECT_DOUBLE_EQ(r.l1_latencies, 3);
  EXPECT_DOUBLE_EQ(r.read_gbps_at_ws, 75);
  EXPECT_DOUBLE_EQ(r.pct_read_bw, 20);

  r = judge_row(lim, 6, 8 * KiB, -1, false);  // neither latency-bound nor streaming
  EXPECT_DOUBLE_EQ(r.est_cycles_per_op, 18);
  EXPECT_LT(r.l1_latencies, 0);
  EXPECT_LT(r.pct_read_bw, 0);

  r = judge_row(Limits{}, 6, 8 * KiB, 15, true);  // no calibration: nothing
  EXPECT_LT(r.est_cycles_per_op, 0);
  EXPECT_LT(r.l1_latencies, 0);
  EXPECT_LT(r.pct_read_bw, 0);
}

// -------------------------------------------------- measurement and the cache

class CalibrationFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cachetick_cal_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(CalibrationFile, SmallRealCalibrationRoundTrips) {
  CalibrateOptions o;
  o.min_bytes = 4 * KiB;
  o.max_bytes = 64 * KiB;
  o.progress = false;
  const nlohmann::json cal = calibrate(o);
  ASSERT_EQ(cal["latency"]["points"].size(), size_grid(4 * KiB, 64 * KiB, 2).size());
  for (const auto& p : cal["latency"]["points"]) EXPECT_GT(p["ns"].get<double>(), 0);
  for (const auto& p : cal["bandwidth"]["points"]) EXPECT_GT(p["read_gb_per_s"].get<double>(), 0);
  EXPECT_GT(cal["core_clock"]["estimate_hz"].get<double>(), 1e8);
  EXPECT_EQ(cal["core_clock"]["label"], "estimate");
  bool has_rdtsc = false;
  for (const auto& t : cal["timers"]) has_rdtsc = has_rdtsc || t["name"] == "rdtsc";
  EXPECT_TRUE(has_rdtsc);

  std::string why;
  const auto path = write("ok.json", cal.dump());
  const nlohmann::json back = load_calibration(path, &why);
  ASSERT_FALSE(back.is_null()) << why;
  const Limits lim = limits_from(back);
  EXPECT_TRUE(lim.valid);
  EXPECT_GT(lim.l1_ns, 0);

  nlohmann::json other = cal;
  other["identity"]["cpu_model"] = "Some Other CPU";
  EXPECT_TRUE(load_calibration(write("other.json", other.dump()), &why).is_null());
  EXPECT_NE(why.find("cpu_model"), std::string::npos) << why;

  other = cal;
  other["format"] = kCalibrationFormat + 1;
  EXPECT_TRUE(load_calibration(write("fmt.json", other.dump()), &why).is_null());
  EXPECT_NE(why.find("format"), std::string::npos) << why;
}

TEST_F(CalibrationFile, BadFilesSayWhy) {
  std::string why;
  EXPECT_TRUE(load_calibration((dir_ / "missing.json").string(), &why).is_null());
  EXPECT_NE(why.find("no calibration"), std::string::npos) << why;
  EXPECT_TRUE(load_calibration(write("bad.json", "{not json"), &why).is_null());
  EXPECT_NE(why.find("not valid JSON"), std::string::npos) << why;
  EXPECT_TRUE(load_calibration(write("run.json", R"({"benchmarks": []})"), &why).is_null());
  EXPECT_NE(why.find("not a cachetick calibration"), std::string::npos) << why;
  EXPECT_FALSE(limits_from(nlohmann::json()).valid);
  EXPECT_FALSE(limits_from(nlohmann::json::parse(R"({"core_clock": 3})")).valid);
}

}  // namespace
}  // namespace cachetick

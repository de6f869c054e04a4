// The records family: every layout holds the same information and answers
// the query exactly as the information itself does (randomised data, scan
// and random lookups, edge cases); the padding report agrees with layouts
// computed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/records/layouts.h"
#include "kernels/records/padding.h"
#include "kernels/records/records.h"

using namespace cachetick::records;

namespace {

std::vector<std::uint32_t> indices(std::size_t n, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> idx(count);
  for (auto& i : idx) i = static_cast<std::uint32_t>(rng() % n);
  return idx;
}

template <class T>
void expect_answers(std::uint64_t seed, std::size_t n) {
  const auto in = random_infos(n, seed);
  const T t(in);
  const auto idx = indices(n, 3 * n + 1, seed + 1);
  for (unsigned c = 0; c < kCountries; c += 7) {
    const std::uint16_t want = country_code(c);
    EXPECT_EQ(t.scan(want), reference_scan(in, want)) << "country " << c;
    EXPECT_EQ(t.lookup(idx, want), reference_lookup(in, idx, want)) << "country " << c;
  }
  EXPECT_EQ(t.scan(0), Answer{});  // no such country
}

TEST(RecordsQuery, EveryLayoutAnswersLikeTheInformation) {
  for (std::uint64_t seed : {1u, 2u, 3u})
    for (std::size_t n : {1u, 7u, 1000u, 20000u}) {
      SCOPED_TRACE(n);
      expect_answers<Table<Loose>>(seed, n);
      expect_answers<Table<Reordered>>(seed, n);
      expect_answers<Table<BitFlags>>(seed, n);
      expect_answers<HotColdTable>(seed, n);
      expect_answers<Table<Packed>>(seed, n);
      expect_answers<Table<Bitfield>>(seed, n);
      expect_answers<Table<StdBitset>>(seed, n);
    }
}

// Every combination of the eight flags, so that no layout confuses a bit.
TEST(RecordsQuery, AllFlagCombinations) {
  std::vector<Info> in(256 * 2);
  for (unsigned m = 0; m < in.size(); ++m) {
    Info& i = in[m];
    i = Info{};
    i.country = country_code(m & 256 ? 3 : 4);
    i.risk = m;
    i.active = m & 1, i.anycast = m & 2, i.bogon = m & 4, i.hosting = m & 8;
    i.vpn = m & 16, i.tor = m & 32, i.verified = m & 64, i.deprecated = m & 128;
    EXPECT_EQ(flags_of(i), m & 255);
  }
  const std::uint16_t want = country_code(3);
  const Answer ref = reference_scan(in, want);
  EXPECT_EQ(ref.count, 64u);  // active, not bogon: 1 in 4 of the 256 with country 3
  EXPECT_EQ(Table<Loose>(in).scan(want), ref);
  EXPECT_EQ(Table<Reordered>(in).scan(want), ref);
  EXPECT_EQ(Table<BitFlags>(in).scan(want), ref);
  EXPECT_EQ(HotColdTable(in).scan(want), ref);
  EXPECT_EQ(Table<Packed>(in).scan(want), ref);
  EXPECT_EQ(Table<Bitfield>(in).scan(want), ref);
  EXPECT_EQ(Table<StdBitset>(in).scan(want), ref);
}

TEST(RecordsQuery, EmptyTable) {
  const std::vector<Info> none;
  EXPECT_EQ(Table<BitFlags>(none).scan(country_code(0)), Answer{});
  EXPECT_EQ(HotColdTable(none).lookup({}, country_code(0)), Answer{});
}

TEST(RecordsQuery, RebuildWritesTheSameRecords) {
  auto in = random_infos(500, 9);
  Table<BitFlags> t(in);
  auto other = random_infos(500, 10);
  t.rebuild(other);
  EXPECT_EQ(t.scan(country_code(5)), reference_scan(other, country_code(5)));
  t.rebuild(in);
  EXPECT_EQ(t.scan(country_code(5)), reference_scan(in, country_code(5)));
}

TEST(RecordsData, QueryMatchesAboutOneRecordInFiftyFive) {
  const auto in = random_infos(200000, 1);
  const double share = double(reference_scan(in, country_code(7)).count) / double(in.size());
  EXPECT_GT(share, 0.014);  // 0.90 active x 0.98 not bogon / 50 countries = 1.76%
  EXPECT_LT(share, 0.021);
}

// ---- the padding report against layouts computed by hand ------------------------------

const StructLayout& layout_named(const std::string& name) {
  static const std::vector<StructLayout> all = record_layouts();
  auto it = std::find_if(all.begin(), all.end(), [&](const StructLayout& s) { return s.name == name; });
  if (it == all.end()) throw std::runtime_error("no layout " + name);
  return *it;
}

struct ExpectedHole {
  std::size_t offset, size;
  const char* after;
};

void expect_report(const std::string& name, std::size_t size, std::size_t align, std::size_t padding,
                   std::vector<ExpectedHole> holes, std::size_t best) {
  SCOPED_TRACE(name);
  const StructLayout& s = layout_named(name);
  const PaddingReport r = analyse(s);
  EXPECT_EQ(s.size, size);
  EXPECT_EQ(s.align, align);
  EXPECT_EQ(r.padding, padding);
  EXPECT_EQ(r.field_bytes + r.padding, size);
  ASSERT_EQ(r.holes.size(), holes.size());
  for (std::size_t i = 0; i < holes.size(); ++i) {
    EXPECT_EQ(r.holes[i].offset, holes[i].offset) << i;
    EXPECT_EQ(r.holes[i].size, holes[i].size) << i;
    EXPECT_EQ(r.holes[i].after, holes[i].after) << i;
  }
  EXPECT_EQ(r.best_size, best);
}

TEST(RecordsPadding, HandComputedLayouts) {
  // Loose: bool@0 [7] u64@8 u32@16 bool@20 [3] u32@24 bool@28 [1] u16@30
  // bool@32 [7] double@40 bool@48 [3] u32@52 bool@56 [7] u64@64 bool@72
  // bool@73 [6 tail] = 80.
  expect_report("records::Loose", 80, 8, 34,
                {{1, 7, "active"}, {21, 3, "anycast"}, {29, 1, "bogon"}, {33, 7, "hosting"},
                 {49, 3, "vpn"}, {57, 7, "tor"}, {74, 6, "deprecated"}},
                48);
  // 3 x 8 + 3 x 4 + 2 + 8 x 1 = 46, rounded to 8.
  expect_report("records::Reordered", 48, 8, 2, {{46, 2, "deprecated"}}, 48);
  expect_report("records::BitFlags", 40, 8, 1, {{39, 1, "flags"}}, 40);
  expect_report("records::Hot", 8, 4, 1, {{7, 1, "flags"}}, 8);
  expect_report("records::Cold", 32, 8, 0, {}, 32);
  expect_report("records::Bitfield", 40, 8, 1, {{39, 1, "flags"}}, 40);
  // std::bitset<8> is an unsigned long: 8 B, aligned 8, after a 2 B hole.
  expect_report("records::StdBitset", 48, 8, 2, {{38, 2, "country"}}, 48);
  // Packed: no holes, 46 B, and the natural-alignment order would need 48.
  expect_report("records::Packed", 46, 1, 0, {}, 48);
  EXPECT_EQ(analyse(layout_named("records::Packed")).misaligned, 7u);
  // The layout family's records: 24 + 40 and 24 + 288, no padding anywhere.
  expect_report("layout::Record<Cold64>", 64, 8, 0, {}, 64);
  expect_report("layout::Record<Cold312>", 312, 8, 0, {}, 312);
  expect_report("layout::Cold64", 40, 8, 0, {}, 40);
  expect_report("layout::Cold312", 288, 8, 0, {}, 288);
}

TEST(RecordsPadding, BestOrderIsByAlignmentAndHasNoHoles) {
  const PaddingReport r = analyse(layout_named("records::Loose"));
  std::size_t at = 0;
  for (std::size_t i = 0; i < r.best_order.size(); ++i) {
    EXPECT_EQ(r.best_order[i].offset, at) << r.best_order[i].name;  // no hole
    if (i) {
      EXPECT_LE(r.best_order[i].align, r.best_order[i - 1].align);
    }
    at += r.best_order[i].size;
  }
  EXPECT_EQ(at, 46u);
  EXPECT_EQ(r.best_order.front().name, "updated_at");
  EXPECT_EQ(r.best_order.back().name, "deprecated");
}

// A synthetic layout (no compiler involved): holes at the start and the end.
TEST(RecordsPadding, SyntheticLayout) {
  StructLayout s{"S", 24, 8, {{"a", 4, 2, 2}, {"b", 8, 8, 8}, {"c", 16, 1, 1}}};
  const PaddingReport r = analyse(s);
  ASSERT_EQ(r.holes.size(), 3u);
  EXPECT_EQ(r.holes[0].offset, 0u);
  EXPECT_EQ(r.holes[0].after, "");
  EXPECT_EQ(r.holes[1].offset, 6u);
  EXPECT_EQ(r.holes[1].size, 2u);
  EXPECT_TRUE(r.holes[2].tail);
  EXPECT_EQ(r.holes[2].size, 7u);
  EXPECT_EQ(r.best_size, 16u);  // b a c: 8 + 2 + 1 = 11 -> 16
  EXPECT_NE(format_report(s).find("saves 8 B"), std::string::npos);
}

TEST(RecordsPadding, ReportNamesEveryLayout) {
  const std::string text = padding_report();
  for (const StructLayout& s : record_layouts()) EXPECT_NE(text.find(s.name + ":"), std::string::npos);
  EXPECT_NE(text.find("7 B at offset   1 after active"), std::string::npos);
}

}  // namespace

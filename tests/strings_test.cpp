// Behaviour of the strings family: cachetick's interner, the naive
// (cookbook) interner, the byte hash/equality and the corpus generator.
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/strings/arena.h"
#include "kernels/strings/corpus.h"
#include "kernels/strings/hash.h"
#include "kernels/strings/interner.h"
#include "kernels/strings/naive_interner.h"

namespace cs = cachetick::strings;
using namespace std::string_literals;

namespace {

// Every tag collides: forces the byte-compare and probe paths on every
// lookup, so correctness cannot lean on the hash being good.
struct ConstHash {
  std::uint64_t operator()(std::string_view) const { return 0x1234567800000005ull; }
};

// Random strings with random bytes (NULs included) and random lengths.
std::vector<std::string> random_strings(std::size_t n, std::size_t max_len, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out(n);
  for (auto& s : out) {
    s.resize(rng() % (max_len + 1));
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0 : rng());
  }
  return out;
}

// Checks an interner against a std::unordered_map reference on a stream
// with repeats: same string <-> same id, round trip, dense first-seen ids.
template <class I>
void check_against_reference(I& in, const std::vector<std::string>& stream) {
  std::unordered_map<std::string, std::uint32_t> ref;
  for (const auto& s : stream) {
    const std::uint32_t id = in.intern(s);
    auto [it, inserted] = ref.emplace(s, static_cast<std::uint32_t>(ref.size()));
    ASSERT_EQ(id, it->second) << "inserted=" << inserted;
    ASSERT_EQ(in.view(id), std::string_view(s));
  }
  ASSERT_EQ(in.size(), ref.size());
  for (const auto& [s, id] : ref) ASSERT_EQ(in.view(id), std::string_view(s));
}

}  // namespace

// ---------------------------------------------------------------- hash/eq

TEST(StringsBytes, EqualityMatchesStdAtEveryLengthAndMismatchPosition) {
  for (std::size_t n = 0; n <= 80; ++n) {
    std::string a(n, 'x');
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + (i * 7) % 26);
    std::string b = a;
    ASSERT_TRUE(cs::bytes_equal(a.data(), b.data(), n)) << n;
    for (std::size_t pos = 0; pos < n; ++pos) {
      std::string c = a;
      c[pos] = static_cast<char>(c[pos] ^ 0x01);
      ASSERT_FALSE(cs::bytes_equal(a.data(), c.data(), n)) << n << " " << pos;
    }
  }
}

TEST(StringsBytes, HashSeesEveryByteAndTheLength) {
  // Up to 200 B: every size class, including 2+ steps of the 64 B loop.
  for (std::size_t n = 0; n <= 200; ++n) {
    std::string a(n, '\0');
    const std::uint64_t h = cs::hash_bytes(a.data(), n);
    // A zero-filled string of another length must hash differently.
    std::string longer(n + 1, '\0');
    EXPECT_NE(h, cs::hash_bytes(longer.data(), n + 1)) << n;
    for (std::size_t pos = 0; pos < n; ++pos) {
      std::string c = a;
      c[pos] = 1;
      EXPECT_NE(h, cs::hash_bytes(c.data(), n)) << n << " " << pos;
    }
  }
}

TEST(StringsBytes, HashIsDeterministicAcrossCalls) {
  EXPECT_EQ(cs::hash_bytes("hello", 5), cs::hash_bytes(std::string("hello").data(), 5));
}

TEST(StringsBytes, NoTagCollisionsOnTheCorpora) {
  for (std::size_t len : {8u, 24u, 64u}) {
    auto c = cs::fixed_length_corpus(len, 2000);
    std::set<std::uint64_t> tags;
    for (const auto& s : c.distinct) tags.insert(cs::hash_bytes(s.data(), s.size()) >> 32);
    EXPECT_EQ(tags.size(), c.distinct.size()) << len;
  }
}

// ---------------------------------------------------------------- arena

TEST(StringsArena, ViewsStayValidAcrossChunksAndOversizeStrings) {
  cs::ByteArena a;
  std::vector<std::pair<std::string, std::string_view>> kept;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 300, static_cast<char>('a' + i % 26));
    if (i % 997 == 0) s.assign(200000, 'Z');  // larger than any chunk
    kept.emplace_back(s, a.copy(s));
  }
  for (auto& [s, v] : kept) ASSERT_EQ(std::string_view(s), v);
  EXPECT_GE(a.bytes_reserved(), a.bytes_used());
  EXPECT_GT(a.chunks(), 1u);
}

TEST(StringsArena, EmptyStringHasNonNullData) {
  cs::ByteArena a;
  auto v = a.copy({});
  EXPECT_TRUE(v.empty());
  EXPECT_NE(v.data(), nullptr);
  EXPECT_EQ(a.bytes_used(), 0u);
}

// ---------------------------------------------------------------- interner

template <class T>
class InternerTest : public ::testing::Test {};
using InternerTypes = ::testing::Types<cs::Interner, cs::BasicInterner<ConstHash>, cs::NaiveInterner>;
TYPED_TEST_SUITE(InternerTest, InternerTypes);

TYPED_TEST(InternerTest, RoundTripsEveryCorpusString) {
  TypeParam in;
  auto c = cs::mixed_corpus(300);
  std::vector<std::string> stream;
  for (auto i : c.stream(20000, 1)) stream.push_back(c.distinct[i]);
  check_against_reference(in, stream);
  for (const auto& s : c.distinct) EXPECT_EQ(in.view(in.intern(s)), s);
}

TYPED_TEST(InternerTest, EqualStringsEqualIdsDifferentStringsDifferentIds) {
  TypeParam in;
  // Equal contents from different buffers get the same id.
  std::string a = "organisation-name-with-a-long-common-prefix-0001";
  std::string b = a;
  std::string c = a;
  c.back() = '2';  // differs in the last byte only
  const auto ia = in.intern(a);
  EXPECT_EQ(in.intern(b), ia);
  EXPECT_NE(in.intern(c), ia);
  EXPECT_NE(in.intern(a.substr(0, a.size() - 1)), ia);  // a prefix of a
  EXPECT_EQ(in.size(), 3u);
}

TYPED_TEST(InternerTest, EmptyString) {
  TypeParam in;
  const auto e = in.intern("");
  EXPECT_EQ(in.intern(std::string_view()), e);
  EXPECT_NE(in.intern("x"), e);
  EXPECT_NE(in.intern(std::string_view("\0", 1)), e);
  EXPECT_TRUE(in.view(e).empty());
  EXPECT_EQ(in.size(), 3u);
}

TYPED_TEST(InternerTest, EmbeddedNulBytesAreContentNotTerminators) {
  TypeParam in;
  const std::string a("ab\0cd", 5), b("ab\0ce", 5), c("ab", 2), d("\0\0", 2), e("\0", 1);
  const auto ia = in.intern(a), ib = in.intern(b), ic = in.intern(c), id = in.intern(d),
             ie = in.intern(e);
  std::set<std::uint32_t> ids{ia, ib, ic, id, ie};
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(in.view(ia), std::string_view(a));
  EXPECT_EQ(in.view(id), std::string_view(d));
  EXPECT_EQ(in.intern(std::string("ab\0cd", 5)), ia);
}

TYPED_TEST(InternerTest, LongStrings) {
  TypeParam in;
  std::string big(1 << 20, 'q');
  std::string big2 = big;
  big2[big2.size() - 1] = 'r';
  const auto i1 = in.intern(big), i2 = in.intern(big2);
  EXPECT_NE(i1, i2);
  EXPECT_EQ(in.view(i1), big);
  EXPECT_EQ(in.view(i2), big2);
  EXPECT_EQ(in.intern(std::string(big)), i1);
}

TYPED_TEST(InternerTest, RandomBytesWithRepeatsAgainstReference) {
  TypeParam in;
  auto base = random_strings(std::is_same_v<TypeParam, cs::Interner> ? 3000 : 400, 40, 11);
  std::mt19937_64 rng(3);
  std::vector<std::string> stream;
  for (int i = 0; i < 6000; ++i) stream.push_back(base[rng() % base.size()]);
  check_against_reference(in, stream);
}

TYPED_TEST(InternerTest, InvalidIdThrows) {
  TypeParam in;
  EXPECT_THROW((void)in.view(0), std::out_of_range);  // nothing issued yet
  in.intern("a");
  in.intern("b");
  EXPECT_NO_THROW((void)in.view(1));
  EXPECT_THROW((void)in.view(2), std::out_of_range);
  EXPECT_THROW((void)in.view(0xFFFFFFFFu), std::out_of_range);
  try {
    (void)in.view(7);
    FAIL() << "no throw";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("never issued"), std::string::npos) << e.what();
  }
}

TEST(StringsInterner, IdsAndViewsStableAcrossGrowth) {
  cs::Interner in;  // starts at 16 slots: grows many times below
  std::vector<std::string> strs;
  for (int i = 0; i < 50000; ++i) strs.push_back("k" + std::to_string(i * 7919) + std::string(i % 50, '.'));
  std::vector<std::uint32_t> ids;
  std::vector<std::string_view> views;
  for (std::size_t i = 0; i < strs.size(); ++i) {
    ids.push_back(in.intern(strs[i]));
    views.push_back(in.view(ids.back()));
    ASSERT_EQ(ids.back(), i);  // dense, first-seen order
    if (i == 100) {
      ASSERT_EQ(in.slot_count(), 256u);
    }
  }
  EXPECT_GE(in.slot_count(), 2 * strs.size());
  for (std::size_t i = 0; i < strs.size(); ++i) {
    ASSERT_EQ(in.intern(strs[i]), ids[i]);
    ASSERT_EQ(in.view(ids[i]).data(), views[i].data());  // the bytes never moved
    ASSERT_EQ(views[i], strs[i]);                        // and were not overwritten
  }
}

TEST(StringsInterner, FindNeverInserts) {
  cs::Interner in;
  EXPECT_FALSE(in.find("missing").has_value());
  const auto id = in.intern("present");
  EXPECT_EQ(in.find("present"), id);
  EXPECT_FALSE(in.find("presenT").has_value());
  EXPECT_FALSE(in.find("").has_value());
  EXPECT_EQ(in.size(), 1u);
}

TEST(StringsInterner, StoresEachDistinctStringOnce) {
  cs::Interner in;
  auto c = cs::mixed_corpus(300);
  std::size_t distinct_bytes = 0;
  for (const auto& s : c.distinct) distinct_bytes += s.size();
  for (auto i : c.stream(100000, 5)) in.intern(c.distinct[i]);
  // Every distinct value was drawn at least once? Not guaranteed for the
  // Zipf tail, so intern them all explicitly and count bytes exactly.
  for (const auto& s : c.distinct) in.intern(s);
  EXPECT_EQ(in.size(), c.distinct.size());
  EXPECT_EQ(in.string_bytes(), distinct_bytes);
  EXPECT_GE(in.memory_bytes(), distinct_bytes);
}

TEST(StringsInterner, MoveKeepsViewsValidAndLeavesAUsableEmptySource) {
  cs::Interner a;
  const auto id = a.intern("moved string that is longer than SSO");
  a.intern("second");
  const auto v = a.view(id);
  cs::Interner b = std::move(a);
  EXPECT_EQ(b.view(id).data(), v.data());
  EXPECT_EQ(b.intern("moved string that is longer than SSO"), id);
  // The moved-from interner is empty, rejects old ids and works again
  // without touching b's table or arena.
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): that is the test
  EXPECT_FALSE(a.find("second").has_value());
  EXPECT_THROW((void)a.view(id), std::out_of_range);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.intern("fresh" + std::to_string(i)), static_cast<std::uint32_t>(i));
  EXPECT_EQ(b.view(id), "moved string that is longer than SSO");
  EXPECT_EQ(b.view(1), "second");
  EXPECT_EQ(b.size(), 2u);
}

TEST(StringsInterner, MoveAssignmentReplacesTheTarget) {
  cs::Interner a, b;
  a.intern("a0");
  a.intern("a1");
  b.intern("b0");
  const auto v = a.view(1);
  b = std::move(a);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.view(1).data(), v.data());
  EXPECT_EQ(b.intern("a1"), 1u);
  EXPECT_FALSE(b.find("b0").has_value());
  EXPECT_EQ(a.intern("x"), 0u);  // NOLINT(bugprone-use-after-move)
}

TEST(StringsInterner, ImpossibleCapacityIsAClearError) {
  EXPECT_THROW(cs::Interner(std::size_t{1} << 33), std::length_error);
}

TEST(StringsArena, MovedFromArenaDoesNotWriteIntoTheMovedChunks) {
  cs::ByteArena a;
  const auto v = a.copy("kept bytes");
  cs::ByteArena b = std::move(a);
  const auto w = a.copy("new bytes after the move");  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(v, "kept bytes");
  EXPECT_EQ(w, "new bytes after the move");
  EXPECT_EQ(b.bytes_used(), 10u);
  EXPECT_EQ(a.bytes_used(), 24u);
}

TEST(StringsInterner, AllInternersAgree) {
  cs::Interner ct;
  cs::BasicInterner<ConstHash> colliding;
  cs::NaiveInterner naive;
  auto c = cs::mixed_corpus(500, 9);
  for (auto i : c.stream(30000, 2)) {
    const auto& s = c.distinct[i];
    const auto a = ct.intern(s);
    ASSERT_EQ(a, naive.intern(s));
    ASSERT_EQ(a, colliding.intern(s));
  }
  EXPECT_EQ(ct.size(), naive.size());
}

// ---------------------------------------------------------------- corpus

TEST(StringsCorpus, DeterministicDistinctAndShaped) {
  auto a = cs::fixed_length_corpus(24, 300, 42), b = cs::fixed_length_corpus(24, 300, 42);
  EXPECT_EQ(a.distinct, b.distinct);
  EXPECT_EQ(a.stream(1000, 3), b.stream(1000, 3));
  std::set<std::string> uniq(a.distinct.begin(), a.distinct.end());
  EXPECT_EQ(uniq.size(), 300u);
  for (const auto& s : a.distinct) {
    ASSERT_EQ(s.size(), 24u);
    ASSERT_EQ(s.substr(0, 20), a.distinct[0].substr(0, 20));  // common prefix
  }
}

TEST(StringsCorpus, ZipfHeadDominatesAndLengthsInRange) {
  auto c = cs::mixed_corpus(300);
  std::size_t shorts = 0;
  for (const auto& s : c.distinct) {
    if (s.size() <= 3) ++shorts;
    else ASSERT_TRUE(s.size() >= 24 && s.size() <= 64) << s.size();
  }
  EXPECT_EQ(shorts, 100u);
  std::vector<std::size_t> count(c.distinct.size());
  auto st = c.stream(200000, 1);
  for (auto i : st) ++count[i];
  // Zipf s=1 over 300 values: rank 1 ~ 1/H(300) = 15.9%, rank 2 half that.
  EXPECT_NEAR(double(count[0]) / st.size(), 0.159, 0.01);
  EXPECT_NEAR(double(count[1]) / count[0], 0.5, 0.05);
  EXPECT_GT(count[0], count[299] * 100);
}

TEST(StringsCorpus, BadSpecThrows) {
  cs::CorpusSpec s;
  s.distinct = 0;
  EXPECT_THROW(cs::make_corpus(s), std::invalid_argument);
  s.distinct = 10;
  s.min_len = 9;
  s.max_len = 8;
  EXPECT_THROW(cs::make_corpus(s), std::invalid_argument);
  s.min_len = s.max_len = 2;  // long values need >= 4 bytes for unique suffixes
  EXPECT_THROW(cs::make_corpus(s), std::invalid_argument);
}

// Behaviour of the sort family: every sort equals std::stable_sort, for any
// length, input shape and chunk size, and keeps equal keys in input order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/sort/cache_size.h"
#include "kernels/sort/chunked_merge_sort.h"
#include "kernels/sort/key_chunks.h"
#include "kernels/sort/naive_merge_sort.h"
#include "kernels/sort/radix_sort.h"
#include "kernels/sort/stream_scatter.h"

namespace {

using namespace cachetick::sort;

// A key/payload record: the payload is the input position, so equal keys in
// the output must carry increasing payloads.
struct Rec {
  std::uint32_t key;
  std::uint32_t pos;
};
struct RecKey {
  std::uint32_t operator()(const Rec& r) const { return r.key; }
};
struct Rec64 {
  std::uint64_t key;
  std::uint64_t pos;
};
struct Rec64Key {
  std::uint64_t operator()(const Rec64& r) const { return r.key; }
};

// reversed_ties: non-increasing with long runs of equal keys (the reversal
// shortcut must keep each run in input order); sawtooth: non-increasing runs
// of 1000 with ties, so single chunks take the shortcut but the whole does not.
enum class Shape { random, sorted, reversed, few_unique, noisy_sorted, all_equal, reversed_ties, sawtooth };
const Shape kShapes[] = {Shape::random,       Shape::sorted,    Shape::reversed,
                         Shape::few_unique,   Shape::noisy_sorted, Shape::all_equal,
                         Shape::reversed_ties, Shape::sawtooth};
const char* name(Shape s) {
  switch (s) {
    case Shape::random: return "random";
    case Shape::sorted: return "sorted";
    case Shape::reversed: return "reversed";
    case Shape::few_unique: return "few_unique";
    case Shape::noisy_sorted: return "noisy_sorted";
    case Shape::all_equal: return "all_equal";
    case Shape::reversed_ties: return "reversed_ties";
    case Shape::sawtooth: return "sawtooth";
  }
  return "?";
}

template <class K>
std::vector<K> make_keys(std::size_t n, Shape shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<K> v(n);
  for (auto& x : v) x = static_cast<K>(rng());
  switch (shape) {
    case Shape::random: break;
    case Shape::sorted: std::sort(v.begin(), v.end()); break;
    case Shape::reversed: std::sort(v.begin(), v.end(), std::greater<K>()); break;
    case Shape::few_unique:
      // Few values but spread over the high bits too: every radix digit
      // varies, and every merge sees long runs of ties.
      for (auto& x : v) x = static_cast<K>((rng() % 7) * (K(~K(0)) / 7));
      break;
    case Shape::noisy_sorted:
      std::sort(v.begin(), v.end());
      for (std::size_t k = 0; k < n / 100 + 1 && n > 0; ++k)
        std::swap(v[rng() % n], v[rng() % n]);
      break;
    case Shape::all_equal: std::fill(v.begin(), v.end(), K(42)); break;
    case Shape::reversed_ties:
      for (auto& x : v) x = static_cast<K>(rng() % 5);
      std::sort(v.begin(), v.end(), std::greater<K>());
      break;
    case Shape::sawtooth:
      for (auto& x : v) x = static_cast<K>(rng() % 50);
      for (std::size_t s = 0; s < n; s += 1000)
        std::sort(v.begin() + s, v.begin() + std::min(n, s + 1000), std::greater<K>());
      break;
  }
  return v;
}

// Lengths: 0, 1, tiny, primes, powers of two and their neighbours.
std::vector<std::size_t> lengths() {
  std::vector<std::size_t> v = {0, 1, 2, 3, 5, 7, 13, 31, 97, 257, 1021, 4093, 65521};
  for (std::size_t p = 2; p <= (1u << 17); p *= 4) {
    v.push_back(p - 1);
    v.push_back(p);
    v.push_back(p + 1);
  }
  return v;
}

// Chunk overrides small enough to give many merge levels, odd ones to give
// ragged last chunks, and the machine default.
const std::size_t kChunks[] = {1, 2, 3, 7, 64, 1000, 0};

template <class K>
void expect_sorted_like_std(std::vector<K> in, std::size_t chunk, const std::string& what) {
  std::vector<K> want = in;
  std::stable_sort(want.begin(), want.end());
  std::vector<K> got = in;
  chunked_merge_sort(std::span<K>(got), Identity{}, chunk);
  ASSERT_EQ(got, want) << what << " chunk=" << chunk;
}

TEST(SortCacheSize, SysfsOrFallbackIsPlausible) {
  EXPECT_GE(cache_size_bytes(1), 4u << 10);
  EXPECT_GE(cache_size_bytes(2), cache_size_bytes(1));
  EXPECT_GE(cache_size_bytes(3), 1u << 20);
  EXPECT_GE(default_chunk_elems<std::uint32_t>(), 1u);
  EXPECT_EQ(detail::parse_cache_size("48K"), 48u << 10);
  EXPECT_EQ(detail::parse_cache_size("105M"), 105u << 20);
  EXPECT_EQ(detail::parse_cache_size("512"), 512u);
  EXPECT_EQ(detail::parse_cache_size("garbage"), 0u);
}

TEST(SortChunked, U32EqualsStableSortAllLengthsShapesChunks) {
  for (Shape s : kShapes)
    for (std::size_t n : lengths())
      for (std::size_t c : kChunks) {
        if (c != 0 && c < 64 && n > 5000) continue;  // keep ASan runtime sane
        expect_sorted_like_std(make_keys<std::uint32_t>(n, s, n * 31 + c), c,
                               std::string(name(s)) + " n=" + std::to_string(n));
      }
}

TEST(SortChunked, U64EqualsStableSortAllLengthsShapesChunks) {
  for (Shape s : kShapes)
    for (std::size_t n : lengths())
      for (std::size_t c : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{0}}) {
        if (c != 0 && c < 64 && n > 5000) continue;
        expect_sorted_like_std(make_keys<std::uint64_t>(n, s, n * 17 + c), c,
                               std::string(name(s)) + " n=" + std::to_string(n));
      }
}

TEST(SortChunked, AroundChunkBoundaries) {
  // n = k*chunk + {-1, 0, +1} for k = 1..9: the last chunk is full, missing one
  // element, or a single element; the merge tree is balanced or lopsided.
  for (std::size_t chunk : {std::size_t{5}, std::size_t{64}, std::size_t{1000}})
    for (std::size_t k = 1; k <= 9; ++k)
      for (int d = -1; d <= 1; ++d) {
        const std::size_t n = k * chunk + d;
        expect_sorted_like_std(make_keys<std::uint32_t>(n, Shape::random, n), chunk,
                               "n=" + std::to_string(n));
      }
  // And around the machine's default chunk.
  const std::size_t w = default_chunk_elems<std::uint32_t>();
  for (std::size_t n : {w - 1, w, w + 1, 2 * w - 1, 2 * w + 1, 3 * w})
    expect_sorted_like_std(make_keys<std::uint32_t>(n, Shape::random, n), 0,
                           "default-chunk n=" + std::to_string(n));
}

// Chunks by key (key_chunks.h). Small `fit` values force partitions and
// re-partitions of crowded chunks down to the last digit; 0 is the default
// (whole-array radix up to 16 MiB).
const std::size_t kFits[] = {1, 2, 3, 7, 64, 1000, 0};

// Every case runs twice: partitions scattered through the cache, and (stream
// threshold 1 byte) every partition through stream_scatter's line buffers.
template <class K>
void expect_key_chunked_like_std(std::vector<K> in, std::size_t fit, const std::string& what) {
  std::vector<K> want = in;
  std::stable_sort(want.begin(), want.end());
  std::vector<K> streamed = in;
  key_chunked_sort(std::span<K>(in), Identity{}, fit, std::numeric_limits<std::size_t>::max());
  ASSERT_EQ(in, want) << what << " fit=" << fit;
  key_chunked_sort(std::span<K>(streamed), Identity{}, fit, 1);
  ASSERT_EQ(streamed, want) << what << " fit=" << fit << " streamed";
}

TEST(SortKeyChunked, EqualsStableSortAllLengthsShapesFits) {
  for (Shape s : kShapes)
    for (std::size_t n : lengths())
      for (std::size_t f : kFits) {
        expect_key_chunked_like_std(make_keys<std::uint32_t>(n, s, n * 13 + f), f,
                                    std::string(name(s)) + " u32 n=" + std::to_string(n));
        if (n <= 5000 || f == 0 || f == 1000)
          expect_key_chunked_like_std(make_keys<std::uint64_t>(n, s, n * 7 + f), f,
                                      std::string(name(s)) + " u64 n=" + std::to_string(n));
      }
}

TEST(SortKeyChunked, CrowdedAndSkewedKeys) {
  // Keys that leave the top byte (or several) constant, or crowd most keys
  // into one top-byte value: the partition must pick a lower digit, and a
  // chunk above `fit` must be partitioned again.
  std::mt19937_64 rng(3);
  for (std::size_t fit : {std::size_t{1}, std::size_t{100}, std::size_t{0}})
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<std::uint32_t> v(20000);
      for (auto& x : v) {
        const auto r = static_cast<std::uint32_t>(rng());
        x = kind == 0   ? r & 0xFFFFu                                 // two top bytes 0
            : kind == 1 ? (r & 0xFF00FFu)                             // holes in the middle
            : kind == 2 ? (r % 10 == 0 ? r : 0x7F000000u | (r & 0xFF))  // 90% in one chunk
                        : 0xABCD0000u | (r & 0x3u);                  // only the low bits vary
      }
      expect_key_chunked_like_std(v, fit, "kind=" + std::to_string(kind));
    }
  expect_key_chunked_like_std(std::vector<std::uint64_t>(3000, 1ull << 40), 7, "u64 all equal");
}

TEST(SortKeyChunked, MisalignedAndInteriorRanges) {
  // Sort a range starting 1..7 elements into a buffer (not 32-byte aligned)
  // and check nothing outside it moves.
  for (std::size_t off = 0; off < 8; ++off)
    for (std::size_t fit : {std::size_t{64}, std::size_t{0}}) {
      auto buf = make_keys<std::uint32_t>(5000 + 16, Shape::random, off);
      auto want = buf;
      std::stable_sort(want.begin() + off, want.begin() + off + 5000);
      std::vector<std::uint32_t> scratch(5000 + 1);
      auto streamed = buf;
      key_chunked_sort(buf.data() + off, 5000, scratch.data() + 1, Identity{}, fit);
      ASSERT_EQ(buf, want) << "off=" << off << " fit=" << fit;
      key_chunked_sort(streamed.data() + off, 5000, scratch.data() + 1, Identity{}, fit, 1);
      ASSERT_EQ(streamed, want) << "streamed off=" << off << " fit=" << fit;
      auto mbuf = make_keys<std::uint32_t>(5000 + 16, Shape::random, off + 100);
      auto mwant = mbuf;
      std::stable_sort(mwant.begin() + off, mwant.begin() + off + 5000);
      chunked_merge_sort(mbuf.data() + off, 5000, scratch.data() + 1, Identity{}, fit);
      ASSERT_EQ(mbuf, mwant) << "merge off=" << off << " chunk=" << fit;
    }
}

// stream_scatter against a plain stable counting scatter: every element
// type it buffers (4, 8, 16 B), destinations 0..15 elements past a line
// start, lengths around one line, digit distributions from one bucket to
// all 256; nothing outside dst[0, n) is written.
struct Odd12 {  // 12 B: does not divide a line, so it is not buffered
  std::uint32_t key, a, b;
};
template <class T, class KeyFn>
void expect_stream_scatter_like_plain(const std::vector<T>& src, const KeyFn& key, int shift,
                                      const std::string& what) {
  const std::size_t n = src.size();
  std::array<std::size_t, 257> start{};
  for (const T& v : src) ++start[((key(v) >> shift) & 0xFF) + 1];
  for (int b = 0; b < 256; ++b) start[b + 1] += start[b];
  std::vector<T> want(n);
  std::array<std::size_t, 256> next;
  std::copy(start.begin(), start.end() - 1, next.begin());
  for (const T& v : src) want[next[(key(v) >> shift) & 0xFF]++] = v;
  for (std::size_t off = 0; off < 16; ++off) {
    std::vector<T> buf(n + 32);
    std::memset(static_cast<void*>(buf.data()), 0xA5, buf.size() * sizeof(T));
    // Place dst `off` elements past a 64 B boundary inside buf.
    std::size_t first = 0;
    while ((reinterpret_cast<std::uintptr_t>(buf.data() + first) % 64) / sizeof(T) != off % (64 / sizeof(T)) &&
           first < 16)
      ++first;
    T* dst = buf.data() + first;
    ASSERT_TRUE(detail::stream_scatter(src.data(), dst, n, key, shift, start)) << what;
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ(0, std::memcmp(&dst[i], &want[i], sizeof(T))) << what << " off=" << off << " i=" << i;
    for (std::size_t i = 0; i < buf.size(); ++i) {
      if (i >= first && i < first + n) continue;
      const auto* b = reinterpret_cast<const unsigned char*>(&buf[i]);
      for (std::size_t k = 0; k < sizeof(T); ++k)
        ASSERT_EQ(b[k], 0xA5) << what << " off=" << off << ": wrote outside dst at " << i;
    }
  }
}

TEST(SortStreamScatter, EqualsPlainScatter) {
  std::mt19937_64 rng(11);
  for (std::size_t n : {0u, 1u, 5u, 15u, 16u, 17u, 33u, 100u, 1000u, 50000u})
    for (int spread : {1, 3, 256}) {  // distinct top bytes: one bucket, a few, all
      const std::string what = "n=" + std::to_string(n) + " spread=" + std::to_string(spread);
      std::vector<std::uint32_t> k32(n);
      std::vector<std::uint64_t> k64(n);
      std::vector<Rec> r(n);
      std::vector<Rec64> r64(n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto x = rng();
        k32[i] = static_cast<std::uint32_t>(x % spread) << 24 | static_cast<std::uint32_t>(x >> 40);
        k64[i] = x;
        r[i] = {static_cast<std::uint32_t>(x % spread) << 8, static_cast<std::uint32_t>(i)};
        r64[i] = {(x % spread) << 56, i};
      }
      expect_stream_scatter_like_plain(k32, Identity{}, 24, "u32 " + what);
      expect_stream_scatter_like_plain(k64, Identity{}, 8, "u64 " + what);
      expect_stream_scatter_like_plain(r, RecKey{}, 8, "rec " + what);
      expect_stream_scatter_like_plain(r64, Rec64Key{}, 56, "rec64 " + what);
    }
}

TEST(SortStreamScatter, DeclinesWhatItCannotBuffer) {
  // A 12 B element does not divide a line; a destination not aligned to its
  // element size cannot be lined up. Both: false, nothing written.
  std::vector<Odd12> src(100, Odd12{1, 2, 3}), dst(100, Odd12{9, 9, 9});
  std::array<std::size_t, 257> start{};
  for (int b = 1; b < 257; ++b) start[b] = 100;
  auto key12 = [](const Odd12& o) { return o.key; };
  EXPECT_FALSE(detail::stream_scatter(src.data(), dst.data(), 100, key12, 0, start));
  EXPECT_EQ(dst[0].key, 9u);
  std::vector<std::uint64_t> s64(100, 1);
  std::vector<unsigned char> raw(100 * 8 + 8, 7);
  auto* odd = reinterpret_cast<std::uint64_t*>(raw.data() + 1);  // never dereferenced
  EXPECT_FALSE(detail::stream_scatter(s64.data(), odd, 100, Identity{}, 0, start));
  EXPECT_EQ(raw[1], 7);
}

TEST(SortRadix, LowDigitsOnlyWhenTheCallerVouches) {
  // Keys that share their top bytes: sorting the low `digits` bytes is the
  // whole sort; 0 (and anything out of range) means every byte.
  std::mt19937_64 rng(5);
  for (int digits : {0, 1, 2, 3, 4, 9}) {
    std::vector<std::uint32_t> v(3000), tmp(3000);
    const int low = digits >= 1 && digits <= 4 ? digits : 4;
    for (auto& x : v) {
      const auto r = static_cast<std::uint32_t>(rng());
      x = low == 4 ? r : (0xC3A5E1F7u & ~((1u << (8 * low)) - 1)) | (r & ((1u << (8 * low)) - 1));
    }
    auto want = v;
    std::stable_sort(want.begin(), want.end());
    std::uint32_t* r = detail::radix_sort_ping_pong(v.data(), tmp.data(), v.size(), Identity{}, digits);
    ASSERT_EQ(std::vector<std::uint32_t>(r, r + v.size()), want) << "digits=" << digits;
  }
}

TEST(SortKeyChunked, SorterReusesScratchAcrossSizes) {
  KeyChunkedSorter<std::uint32_t> sorter(100);
  EXPECT_EQ(sorter.fit_elems(), 100u);
  EXPECT_EQ(KeyChunkedSorter<std::uint64_t>().fit_elems(), default_fit_elems<std::uint64_t>());
  for (std::size_t n : {1000u, 10u, 0u, 5000u, 4999u, 1u, 20000u}) {
    auto v = make_keys<std::uint32_t>(n, Shape::random, n);
    auto want = v;
    std::stable_sort(want.begin(), want.end());
    sorter.sort(std::span<std::uint32_t>(v));
    EXPECT_EQ(v, want) << "n=" << n;
  }
}

// The merge alone, on two sorted runs of every length pair up to 40 and some
// long lopsided ones: covers the vector merge's lane split, its short-rest
// finish and the scalar fallbacks. uint32_t with Identity takes the AVX2 path
// where the CPU has it; the same keys through a lambda key take the scalar one.
TEST(SortMerge, AllLengthPairsBothPaths) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::size_t, std::size_t>> sizes;
  for (std::size_t na = 0; na <= 40; ++na)
    for (std::size_t nb = 0; nb <= 40; ++nb) sizes.emplace_back(na, nb);
  for (auto [na, nb] : {std::pair<std::size_t, std::size_t>{1000, 3}, {3, 1000}, {1000, 17},
                        {17, 1000}, {4096, 4095}, {5000, 9000}})
    sizes.emplace_back(na, nb);
  for (std::uint32_t range : {3u, 1000u, ~0u})
    for (auto [na, nb] : sizes) {
      std::vector<std::uint32_t> in(na + nb);
      for (auto& x : in) x = range == ~0u ? static_cast<std::uint32_t>(rng()) : rng() % range;
      std::sort(in.begin(), in.begin() + na);
      std::sort(in.begin() + na, in.end());
      std::vector<std::uint32_t> want(in), got(na + nb), got_scalar(na + nb);
      std::sort(want.begin(), want.end());
      detail::merge_runs(in.data(), na, in.data() + na, nb, got.data(), Identity{});
      detail::merge_runs(in.data(), na, in.data() + na, nb, got_scalar.data(),
                         [](std::uint32_t x) { return x; });
      ASSERT_EQ(got, want) << "vector path na=" << na << " nb=" << nb << " range=" << range;
      ASSERT_EQ(got_scalar, want) << "scalar path na=" << na << " nb=" << nb;
    }
}

TEST(SortChunked, ScalarMergePathU32) {
  // A key function other than Identity forces the scalar merge for u32 too.
  auto key = [](std::uint32_t x) { return x; };
  for (Shape s : kShapes)
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{65537}})
      for (std::size_t c : {std::size_t{3}, std::size_t{64}, std::size_t{0}}) {
        auto v = make_keys<std::uint32_t>(n, s, n + c);
        auto want = v;
        std::stable_sort(want.begin(), want.end());
        chunked_merge_sort(std::span<std::uint32_t>(v), key, c);
        ASSERT_EQ(v, want) << name(s) << " n=" << n << " c=" << c;
      }
}

TEST(SortChunked, KeyExtremes) {
  // Keys 0 and all-ones, where an off-by-one in a digit or a sentinel shows.
  std::vector<std::uint32_t> v;
  for (int i = 0; i < 1000; ++i) v.push_back(i % 3 == 0 ? 0u : i % 3 == 1 ? ~0u : 1u << 31);
  expect_sorted_like_std(v, 7, "extremes u32");
  std::vector<std::uint64_t> w;
  for (int i = 0; i < 1000; ++i) w.push_back(i % 3 == 0 ? 0ull : i % 3 == 1 ? ~0ull : 1ull << 63);
  expect_sorted_like_std(w, 7, "extremes u64");
}

// Stability: keys drawn from a small set, payload = input position. After a
// stable sort the (key, pos) pairs must be exactly std::stable_sort's.
template <class R, class KeyFn, class SortFn>
void expect_stable(SortFn sort_fn, const std::string& what) {
  for (Shape s : kShapes)
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{100},
                          std::size_t{4097}, std::size_t{50000}}) {
      auto keys = make_keys<decltype(R{}.key)>(n, s, n + 5);
      std::vector<R> in(n);
      for (std::size_t i = 0; i < n; ++i) {
        // Keep few distinct keys even for random shapes: ties everywhere.
        in[i].key = s == Shape::random ? keys[i] % 16 : keys[i];
        in[i].pos = static_cast<decltype(R{}.pos)>(i);
      }
      std::vector<R> want = in;
      std::stable_sort(want.begin(), want.end(),
                       [](const R& a, const R& b) { return a.key < b.key; });
      std::vector<R> got = in;
      sort_fn(got);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(got[i].key, want[i].key) << what << " " << name(s) << " n=" << n << " i=" << i;
        ASSERT_EQ(got[i].pos, want[i].pos) << what << " " << name(s) << " n=" << n << " i=" << i;
      }
    }
}

// Both chunked sorts keep equal keys in input order, for every chunk (fit)
// size: 1, odd, larger, and the default (0).
template <class Sort>
void expect_stable_for_widths(const std::string& what, Sort sort) {
  for (std::size_t c : {std::size_t{1}, std::size_t{3}, std::size_t{100}, std::size_t{0}}) {
    expect_stable<Rec, RecKey>([&](std::vector<Rec>& v) { sort(std::span<Rec>(v), RecKey{}, c); },
                               what + " u32 c=" + std::to_string(c));
    expect_stable<Rec64, Rec64Key>([&](std::vector<Rec64>& v) { sort(std::span<Rec64>(v), Rec64Key{}, c); },
                                   what + " u64 c=" + std::to_string(c));
  }
}

TEST(SortStability, ChunkedMergeSortPairs) {
  expect_stable_for_widths("chunked", [](auto v, auto key, std::size_t c) { chunked_merge_sort(v, key, c); });
}

TEST(SortStability, KeyChunkedPairs) {
  expect_stable_for_widths("key_chunked", [](auto v, auto key, std::size_t c) { key_chunked_sort(v, key, c); });
  // Streamed partitions (16 B records: four to a line).
  expect_stable_for_widths("key_chunked streamed",
                           [](auto v, auto key, std::size_t c) { key_chunked_sort(v, key, c, 1); });
}

TEST(SortStability, RadixNaiveAndNaiveChunkedPairs) {
  expect_stable<Rec, RecKey>([](std::vector<Rec>& v) { radix_sort(std::span<Rec>(v), RecKey{}); },
                             "radix");
  expect_stable<Rec64, Rec64Key>(
      [](std::vector<Rec64>& v) { radix_sort(std::span<Rec64>(v), Rec64Key{}); }, "radix64");
  expect_stable<Rec, RecKey>(
      [](std::vector<Rec>& v) { naive_merge_sort(std::span<Rec>(v), RecKey{}); }, "naive");
  expect_stable<Rec, RecKey>(
      [](std::vector<Rec>& v) { naive_chunked_sort(std::span<Rec>(v), RecKey{}, 333); },
      "naive_chunked");
}

TEST(SortBaselines, EqualStableSortOnAllShapes) {
  for (Shape s : kShapes)
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{999},
                          std::size_t{65536}, std::size_t{70001}}) {
      auto in = make_keys<std::uint32_t>(n, s, n);
      auto want = in;
      std::stable_sort(want.begin(), want.end());
      auto a = in, b = in, c = in;
      naive_merge_sort(std::span<std::uint32_t>(a));  // > 65,536: the cookbook overflowed
      radix_sort(std::span<std::uint32_t>(b));
      naive_chunked_sort(std::span<std::uint32_t>(c), Identity{}, 1000);
      EXPECT_EQ(a, want) << "naive " << name(s) << " n=" << n;
      EXPECT_EQ(b, want) << "radix " << name(s) << " n=" << n;
      EXPECT_EQ(c, want) << "naive_chunked " << name(s) << " n=" << n;
      auto in64 = make_keys<std::uint64_t>(n, s, n);
      auto want64 = in64;
      std::stable_sort(want64.begin(), want64.end());
      radix_sort(std::span<std::uint64_t>(in64));
      EXPECT_EQ(in64, want64) << "radix64 " << name(s) << " n=" << n;
    }
}

TEST(SortSorter, ReusesScratchAcrossSizes) {
  // Grow, shrink, grow again: the kept scratch must never be too small.
  ChunkedMergeSorter<std::uint32_t> sorter(100);
  EXPECT_EQ(sorter.chunk_elems(), 100u);
  for (std::size_t n : {1000u, 10u, 0u, 5000u, 4999u, 1u, 20000u}) {
    auto v = make_keys<std::uint32_t>(n, Shape::random, n);
    auto want = v;
    std::stable_sort(want.begin(), want.end());
    sorter.sort(std::span<std::uint32_t>(v));
    EXPECT_EQ(v, want) << "n=" << n;
  }
}

TEST(SortErrors, NullDataWithLengthIsRejected) {
  // Read through a volatile: with a literal nullptr GCC -O3 inlines the sort
  // past the throwing check and warns (-Warray-bounds) about the dead path.
  std::uint32_t* volatile null_data = nullptr;
  std::uint32_t scratch[4];
  EXPECT_THROW(chunked_merge_sort<std::uint32_t>(null_data, 4, scratch), std::invalid_argument);
  EXPECT_THROW(radix_sort<std::uint32_t>(null_data, 4, scratch), std::invalid_argument);
  EXPECT_THROW(naive_merge_sort<std::uint32_t>(null_data, 4, scratch), std::invalid_argument);
  EXPECT_THROW(key_chunked_sort<std::uint32_t>(null_data, 4, scratch), std::invalid_argument);
  std::uint32_t data[4] = {3, 2, 1, 0};
  EXPECT_THROW(chunked_merge_sort<std::uint32_t>(data, 4, null_data), std::invalid_argument);
  EXPECT_THROW(key_chunked_sort<std::uint32_t>(data, 4, null_data), std::invalid_argument);
  // Null with length 0 is an empty array, not an error.
  EXPECT_NO_THROW(chunked_merge_sort<std::uint32_t>(null_data, 0, null_data));
  EXPECT_NO_THROW(key_chunked_sort<std::uint32_t>(null_data, 0, null_data));
  EXPECT_EQ(data[0], 3u);  // the rejected calls left the array alone
}

}  // namespace

// Chunks chosen by key instead of by position: one radix partition on the
// most significant digit that varies, then an in-cache LSD radix per chunk.
//
// A chunked merge sort cuts the array by position: every chunk holds keys
// from the whole range, so the sorted chunks still have to be merged, and a
// merge tree of C chunks moves the whole array through memory log2(C) more
// times. Cut by key instead - one stable counting-sort pass on the top
// varying byte - and chunk b holds exactly the keys that belong between
// chunk b-1 and chunk b+1: sorted in place (in cache), the chunks are the
// answer. No merge at all. Per element, from memory: one counting read, one
// scatter (read, write), then each chunk is read once into cache and written
// once to its final place; the remaining digits are sorted while it is there.
//
// Up to a size measured per key width (default_fit_elems: 16 MiB of elements
// for 32-bit keys, 1 MiB for 64-bit ones) the whole range is one chunk, i.e. a plain LSD radix sort: measured, it beats
// partition-then-chunks there, one counting pass fewer.
//
// A chunk larger than that budget (keys crowded into few top-byte
// values) is partitioned again on the next varying digit: recursion depth is
// at most the key's byte count. Stable: every pass is a stable counting sort.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "kernels/sort/key.h"
#include "kernels/sort/radix_sort.h"
#include "kernels/sort/stream_scatter.h"

namespace cachetick::sort::detail {

// Histogram of the byte at `shift` alone: the partition needs one digit,
// and counting all four of a 32-bit key costs 3x more (Zen 5 guest, 16M
// random u32: 0.33 against 1.09 ns per element; each count is a
// read-modify-write in L1, about one per cycle).
template <class T, class KeyFn>
std::array<std::size_t, 256> count_digit(const T* src, std::size_t n, const KeyFn& key, int shift) {
  std::array<std::size_t, 256> c{};
  for (std::size_t i = 0; i < n; ++i) ++c[(key(src[i]) >> shift) & 0xFF];
  return c;
}

// Stable counting-sort pass of src[0, n) into dst on the most significant
// key byte that is not the same for every element; start[b] .. start[b+1] is
// where chunk b landed. Returns that byte's index (0: the lowest), or -1
// (having moved nothing) when every key is equal. Arrays of at least
// `stream_bytes` are scattered whole lines at a time, non-temporal stores
// (stream_scatter.h).
template <class T, class KeyFn>
int partition_top_digit(const T* src, T* dst, std::size_t n, const KeyFn& key,
                         std::size_t stream_bytes, std::array<std::size_t, 257>& start) {
  using K = key_type_t<T, KeyFn>;
  // Random keys vary in the top byte: one histogram. Crowded ones (the top
  // byte the same everywhere) pay one counting pass for all digits.
  int d = sizeof(K) - 1;
  std::array<std::size_t, 256> top = count_digit(src, n, key, 8 * d);
  if (top[(key(src[0]) >> (8 * d)) & 0xFF] == n) {
    const auto count = count_digits(src, n, key);
    const K first = key(src[0]);
    while (d >= 0 && count[d][(first >> (8 * d)) & 0xFF] == n) --d;
    if (d < 0) return -1;
    top = count[d];
  }
  start[0] = 0;
  for (int b = 0; b < 256; ++b) start[b + 1] = start[b] + top[b];
  const int shift = 8 * d;
  if (n * sizeof(T) >= stream_bytes && stream_scatter(src, dst, n, key, shift, start)) return d;
  std::array<std::size_t, 256> next;
  std::copy(start.begin(), start.end() - 1, next.begin());
  for (std::size_t i = 0; i < n; ++i) {
    const T v = src[i];
    dst[next[(key(v) >> shift) & 0xFF]++] = v;
  }
  return d;
}

// Sorts data[0, n) stably by key, tmp[0, n) being the ping-pong partner. A
// range of at most `fit` elements is radix-sorted in cache; a larger one is
// partitioned (data -> tmp) on its most significant varying byte, and each
// chunk is then sorted from tmp back into its place in data.
template <class T, class KeyFn>
void key_chunk_sort(T* data, T* tmp, std::size_t n, std::size_t fit, std::size_t stream_bytes,
                    const KeyFn& key) {
  if (n < 2) return;
  if (n <= fit) {
    T* r = radix_sort_ping_pong(data, tmp, n, key);
    if (r != data) std::memcpy(data, r, n * sizeof(T));
    return;
  }
  std::array<std::size_t, 257> start;
  const int d = partition_top_digit(data, tmp, n, key, stream_bytes, start);
  if (d < 0) return;  // all keys equal
  for (int b = 0; b < 256; ++b) {
    const std::size_t lo = start[b], m = start[b + 1] - lo;
    if (m == 0) continue;
    if (m <= fit) {  // its keys differ below digit d only: sort (and count) those
      T* r = d == 0 ? tmp + lo : radix_sort_ping_pong(tmp + lo, data + lo, m, key, d);
      if (r != data + lo) std::memcpy(data + lo, r, m * sizeof(T));
    } else {  // crowded chunk: partition it again, on its next digit
      key_chunk_sort(tmp + lo, data + lo, m, fit, stream_bytes, key);
      std::memcpy(data + lo, tmp + lo, m * sizeof(T));
    }
  }
}

}  // namespace cachetick::sort::detail

namespace cachetick::sort {

// Largest range sorted by whole-array LSD radix without a partition first.
// A partition costs two passes over memory and moves the key's remaining
// passes into cache, so it pays earlier for wider keys. Measured on the Zen 5
// guest (random keys, ns/element): 32-bit keys, at 1M and 4M elements (4 and
// 16 MiB) the plain radix beat partition + chunks (5.2 vs 6.0, 5.5 vs 6.3) -
// its scatter streams still hit L3 - while at 16M (64 MiB) it fell to 11.3
// against 6.6-7.9: 16 MiB. 64-bit keys (8 passes): at 1M (8 MiB) the
// partition was faster in 12 of 15 interleaved rounds, twice; at 64K (512
// KiB) whole radix 7.3 vs 11.8 partitioned: 1 MiB, the L2 of the AMD guests.
template <class T, class KeyFn = Identity>
constexpr std::size_t default_fit_elems() {
  constexpr std::size_t bytes = sizeof(key_type_t<T, KeyFn>) == 4 ? std::size_t{16} << 20
                                                                   : std::size_t{1} << 20;
  return std::max<std::size_t>(1, bytes / sizeof(T));
}

// Sorts data[0, n) stably by key with scratch[0, n) as the ping-pong partner:
// one partition by key into chunks of at most `fit_elems` (0: the default),
// then an LSD radix sort per chunk. A partition of at least `stream_bytes`
// (0: detail::kStreamBytes) streams its lines past the cache.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void key_chunked_sort(T* data, std::size_t n, T* scratch, const KeyFn& key = {},
                      std::size_t fit_elems = 0, std::size_t stream_bytes = 0) {
  detail::check_span(data, n, "key_chunked_sort");
  detail::check_span(scratch, n, "key_chunked_sort (scratch)");
  if (n < 2) return;
  // Ascending or non-increasing input: a scan (stopping at the first pair
  // that disagrees) instead of a partition of what is already in order.
  if (detail::sort_if_presorted(data, n, key)) return;
  const std::size_t fit = fit_elems ? fit_elems : default_fit_elems<T, KeyFn>();
  detail::key_chunk_sort(data, scratch, n, fit, stream_bytes ? stream_bytes : detail::kStreamBytes,
                         key);
}

// Owns its scratch buffer (GrowOnlyScratch: allocated and page-faulted once
// for many arrays of similar size).
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
class KeyChunkedSorter {
 public:
  // fit_elems, stream_bytes: as key_chunked_sort's (0: the defaults).
  explicit KeyChunkedSorter(std::size_t fit_elems = 0, KeyFn key = {}, std::size_t stream_bytes = 0)
      : fit_(fit_elems ? fit_elems : default_fit_elems<T, KeyFn>()),
        stream_(stream_bytes),  // 0 stays 0: key_chunked_sort's default
        key_(key) {}

  void sort(std::span<T> v) {
    if (v.size() < 2) return;
    key_chunked_sort(v.data(), v.size(), scratch_.at_least(v.size()), key_, fit_, stream_);
  }

  std::size_t fit_elems() const { return fit_; }

 private:
  std::size_t fit_, stream_;
  KeyFn key_;
  GrowOnlyScratch<T> scratch_;
};

// One-shot form: allocates scratch for this call.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void key_chunked_sort(std::span<T> v, const KeyFn& key = {}, std::size_t fit_elems = 0,
                      std::size_t stream_bytes = 0) {
  KeyChunkedSorter<T, KeyFn>(fit_elems, key, stream_bytes).sort(v);
}

}  // namespace cachetick::sort

// LSD radix sort: the floor for integer keys, and the chunked sort's
// in-chunk sort.
//
// Least-significant-digit radix sort with 8-bit digits: one read pass counts
// all digits at once (4 histograms for 32-bit keys, 8 for 64-bit), then one
// stable scatter pass per digit moves every element from one buffer to the
// other. No comparisons, so no branch mispredictions: on random keys that is
// what makes it several times faster than quicksort-family sorts.
//
// Why 8-bit digits and not 11 (3 passes for 32-bit keys): a scatter pass keeps
// one write stream per bucket, and 256 streams x 64 B lines = 16 KiB of lines
// being filled fits L1d with room to spare; 2048 streams (128 KiB) do not, and
// the partially written lines then bounce between L1 and L2.
//
// Cheap wins kept because they cost nearly nothing where they do not apply:
// a digit that is the same for every key (small or few-unique keys) skips its
// pass, and an input that is already ascending (or non-increasing: reversed,
// then runs of equal keys put back in input order) is not counted or
// scattered at all - a scan that stops at the first disagreeing pair.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "kernels/sort/key.h"

namespace cachetick::sort {

namespace detail {

// After reversing a non-increasing array, runs of equal keys are in reverse
// input order; reversing each run back makes the whole reversal stable.
template <class T, class KeyFn>
void unreverse_equal_runs(T* v, std::size_t n, const KeyFn& key) {
  for (std::size_t s = 0; s < n;) {
    std::size_t e = s + 1;
    while (e < n && !(key(v[s]) < key(v[e]))) ++e;  // ascending now: equal
    std::reverse(v + s, v + e);
    s = e;
  }
}

// Copies src[0, n), which is non-increasing, to dst ascending and stably.
template <class T, class KeyFn>
void reverse_stable_copy(const T* src, std::size_t n, T* dst, const KeyFn& key) {
  std::reverse_copy(src, src + n, dst);
  unreverse_equal_runs(dst, n, key);
}

// Already ascending (returns 1) or non-increasing (returns -1)? Both scans
// stop at the first pair that disagrees: on random input after one or two
// compares, so the check is free where it does not help.
template <class T, class KeyFn>
int presorted(const T* src, std::size_t n, const KeyFn& key) {
  std::size_t i = 1;
  while (i < n && !(key(src[i]) < key(src[i - 1]))) ++i;
  if (i >= n) return 1;
  i = 1;
  while (i < n && !(key(src[i - 1]) < key(src[i]))) ++i;
  return i >= n ? -1 : 0;
}

// Sorts v[0, n) in place, stably, if it is already ascending or
// non-increasing (a reverse, then the runs of equal keys put back in their
// order) and says whether it did: the whole sort for such input is a scan.
template <class T, class KeyFn>
bool sort_if_presorted(T* v, std::size_t n, const KeyFn& key) {
  const int p = presorted(v, n, key);
  if (p < 0) {
    std::reverse(v, v + n);
    unreverse_equal_runs(v, n, key);
  }
  return p != 0;
}

// One counting pass for the low D digits: the keys are read once, not per
// digit. Counts in size_t: a chunk is small, but the floor sorts whole arrays.
template <int D, class T, class KeyFn>
auto count_low_digits(const T* src, std::size_t n, const KeyFn& key) {
  using K = key_type_t<T, KeyFn>;
  std::array<std::array<std::size_t, 256>, D> count{};
  for (std::size_t i = 0; i < n; ++i) {
    const K k = key(src[i]);
    // Spelled out per digit (a fold, not a loop over d): GCC -O2 does not
    // unroll the loop, and the rolled version costs 2-3x in this pass.
    [&]<std::size_t... d>(std::index_sequence<d...>) {
      (++count[d][(k >> (8 * d)) & 0xFF], ...);
    }(std::make_index_sequence<D>{});
  }
  return count;
}

template <class T, class KeyFn>
auto count_digits(const T* src, std::size_t n, const KeyFn& key) {
  return count_low_digits<sizeof(key_type_t<T, KeyFn>)>(src, n, key);
}

// The LSD passes over the low D digits (the caller has checked for presorted
// input). Each count is a read-modify-write in L1, about one per cycle on
// the Zen 5 guest, so digits known to be equal are not even counted.
template <int D, class T, class KeyFn>
T* radix_low_digits(T* src, T* tmp, std::size_t n, const KeyFn& key) {
  using K = key_type_t<T, KeyFn>;
  auto count = count_low_digits<D>(src, n, key);
  const K first = key(src[0]);
  for (int d = 0; d < D; ++d) {
    auto& c = count[d];
    // Every key has the same digit d: the pass would copy in order. Skip it.
    if (c[(first >> (8 * d)) & 0xFF] == n) continue;
    std::size_t sum = 0;
    for (auto& x : c) {  // exclusive prefix sum: bucket start offsets
      const std::size_t t = x;
      x = sum;
      sum += t;
    }
    const int shift = 8 * d;
    for (std::size_t i = 0; i < n; ++i) {
      const T v = src[i];
      tmp[c[(key(v) >> shift) & 0xFF]++] = v;
    }
    std::swap(src, tmp);
  }
  return src;
}

// Sorts src[0, n) using tmp[0, n) as the other half of a ping-pong pair and
// returns whichever of the two now holds the sorted elements. Both buffers
// are used; neither is allocated here. `digits` (1 .. key bytes, 0: all):
// only the low `digits` bytes are sorted, the caller vouching that every key
// has the same bytes above them (a chunk of the key-chunked sort).
template <class T, class KeyFn>
  requires SortableBy<T, KeyFn>
T* radix_sort_ping_pong(T* src, T* tmp, std::size_t n, const KeyFn& key, int digits = 0) {
  constexpr int kDigits = sizeof(key_type_t<T, KeyFn>);
  if (n < 2) return src;
  if (const int p = presorted(src, n, key)) {
    if (p > 0) return src;
    reverse_stable_copy(src, n, tmp, key);
    return tmp;
  }
  if (digits <= 0 || digits > kDigits) digits = kDigits;
  T* r = src;
  [&]<int... d>(std::integer_sequence<int, d...>) {
    ((digits == d + 1 ? (r = radix_low_digits<d + 1>(src, tmp, n, key), 0) : 0), ...);
  }(std::make_integer_sequence<int, kDigits>{});
  return r;
}

}  // namespace detail

// Sorts data[0, n) stably by key, using scratch[0, n) (caller-provided, so a
// caller sorting many arrays allocates once). The result is in `data`.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void radix_sort(T* data, std::size_t n, T* scratch, const KeyFn& key = {}) {
  detail::check_span(data, n, "radix_sort");
  detail::check_span(scratch, n, "radix_sort (scratch)");
  T* r = detail::radix_sort_ping_pong(data, scratch, n, key);
  if (r != data) std::memcpy(data, r, n * sizeof(T));
}

// Convenience form: allocates its own scratch (once per call).
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void radix_sort(std::span<T> v, const KeyFn& key = {}) {
  if (v.size() < 2) return;
  auto scratch = std::make_unique_for_overwrite<T[]>(v.size());
  radix_sort(v.data(), v.size(), scratch.get(), key);
}

}  // namespace cachetick::sort

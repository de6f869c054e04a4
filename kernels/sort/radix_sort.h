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
// Cheap wins kept because they cost one compare per element in the counting
// pass: a digit that is the same for every key (small or few-unique keys)
// skips its pass, and an input that is already ascending (or strictly
// descending: no equal keys whose order could flip) needs no scatter at all.
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

// Sorts src[0, n) using tmp[0, n) as the other half of a ping-pong pair and
// returns whichever of the two now holds the sorted elements. Both buffers
// are used; neither is allocated here.
template <class T, class KeyFn>
  requires SortableBy<T, KeyFn>
T* radix_sort_ping_pong(T* src, T* tmp, std::size_t n, const KeyFn& key) {
  using K = key_type_t<T, KeyFn>;
  constexpr int kDigits = sizeof(K);
  if (n < 2) return src;

  // One counting pass for every digit: the keys are read once, not per digit.
  // Counts in size_t: a chunk is small, but the floor sorts whole arrays.
  std::array<std::array<std::size_t, 256>, kDigits> count{};
  std::size_t falls = 0;  // adjacent pairs with k[i] < k[i-1]
  K prev = key(src[0]);
  for (std::size_t i = 0; i < n; ++i) {
    const K k = key(src[i]);
    falls += k < prev;
    prev = k;
    // Spelled out per digit (a fold, not a loop over d): GCC -O2 does not
    // unroll the loop, and the rolled version costs 2-3x in this pass.
    [&]<std::size_t... d>(std::index_sequence<d...>) {
      (++count[d][(k >> (8 * d)) & 0xFF], ...);
    }(std::make_index_sequence<kDigits>{});
  }
  if (falls == 0) return src;  // already ascending
  if (falls == n - 1) {        // strictly descending: reversing is the stable sort
    std::reverse_copy(src, src + n, tmp);
    return tmp;
  }

  const K first = key(src[0]);
  for (int d = 0; d < kDigits; ++d) {
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

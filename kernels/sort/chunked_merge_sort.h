// cachetick's chunked merge sort: sort cache-sized chunks, merge branch-free.
//
// The shape is the textbook cache-aware sort - cut the array into chunks that
// fit a cache level, sort each chunk there, merge the sorted chunks - and the
// textbook version of it (naive_chunked_sort) is no faster than std::sort.
// Four decisions make the difference:
//
//  1. Chunks sized to the machine. A chunk and its scratch half together take
//     a quarter of L2 (read from sysfs, overridable): the in-chunk sort runs
//     from L2, and the first merge of two fresh sibling chunks still reads L2.
//
//  2. A fast stable in-chunk sort: LSD radix (radix_sort.h). No comparisons,
//     no mispredictions, four sequential passes over L2-resident data.
//
//  3. A branch-free merge. `if (a < b) take a else take b` mispredicts about
//     half the time on random data (~15-20 cycles each). Here the comparison
//     becomes a 0/1 value that picks the element (a cmov) and advances one
//     of the two cursors arithmetically. What remains is a loop-carried
//     dependency (load, compare, advance); merging from BOTH ends at once - the
//     smallest remaining element to the front, the largest to the back - runs
//     two independent chains per iteration and nearly doubles throughput.
//
//  4. Ping-pong buffers, allocated once. Runs move between the caller's array
//     and one scratch array of the same size, never back and forth with a
//     memcpy per merge (the cookbook's mistake). The recursion knows how deep
//     each chunk sits, so it sorts each chunk straight into the buffer its
//     level of merging needs, and the last merge lands in the caller's array.
//     A ChunkedMergeSorter keeps its scratch between calls.
//
// Order: depth-first over chunks, so two sibling chunks are merged right
// after they are sorted, while both are still in L2; only the upper merge
// levels stream through L3/DRAM.
//
// Stable; any length including 0 and 1; keys as in key.h.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>

#include "kernels/sort/cache_size.h"
#include "kernels/sort/key.h"
#include "kernels/sort/radix_sort.h"

namespace cachetick::sort {

// Default chunk: a quarter of L2 for chunk + scratch, i.e. L2/8 bytes of
// elements per chunk. (One half of L2 for the pair measured slower: the
// first merge then reads and writes 4 chunks' worth, more than L2.)
template <class T>
std::size_t default_chunk_elems() {
  return std::max<std::size_t>(1, cache_size_bytes(2) / 8 / sizeof(T));
}

namespace detail {

// Merges a[0, na) and b[0, nb) into out[0, na + nb); equal keys: a first.
// `out` must not overlap the inputs.
template <class T, class KeyFn>
void merge_branchless(const T* a, std::size_t na, const T* b, std::size_t nb,
                      T* out, const KeyFn& key) {
  // Runs already in order (sorted or nearly sorted input): a plain copy.
  if (na == 0 || nb == 0 || !(key(b[0]) < key(a[na - 1]))) {
    std::memcpy(out, a, na * sizeof(T));
    std::memcpy(out + na, b, nb * sizeof(T));
    return;
  }
  // Remaining input: a[i, ie) and b[j, je); output lo.. (front) and ..hi (back).
  std::size_t i = 0, ie = na, j = 0, je = nb, lo = 0, hi = na + nb;
  for (;;) {
    const std::size_t m = std::min(ie - i, je - j);
    if (m < 2) break;
    // s front steps and s back steps consume at most 2s <= m elements of
    // each input, so every head and tail read below is still unconsumed: no
    // bounds checks inside, and the loop body has no data-dependent branch.
    for (std::size_t s = m / 2; s != 0; --s) {
      const T va = a[i], vb = b[j];
      const bool take_b = key(vb) < key(va);  // tie -> a: stable
      out[lo++] = take_b ? vb : va;
      i += !take_b;
      j += take_b;

      const T wa = a[ie - 1], wb = b[je - 1];
      const bool take_a = key(wb) < key(wa);  // tie -> b's tail: stable
      out[--hi] = take_a ? wa : wb;
      ie -= take_a;
      je -= !take_a;
    }
  }
  // At most one element left on one side: finish with a plain checked merge.
  while (i < ie && j < je) {
    const bool take_b = key(b[j]) < key(a[i]);
    out[lo++] = take_b ? b[j] : a[i];
    i += !take_b;
    j += take_b;
  }
  std::memcpy(out + lo, a + i, (ie - i) * sizeof(T));
  lo += ie - i;
  std::memcpy(out + lo, b + j, (je - j) * sizeof(T));
}

// Sorts chunks [c0, c1) of the array (chunk c = elements [c*w, min(n, c*w+w)))
// and leaves the sorted run in `dst` (buffer 0 = data, 1 = scratch). The input
// is always read from `data`.
template <class T, class KeyFn>
void chunked_sort_rec(T* data, T* scratch, std::size_t n, std::size_t w,
                      std::size_t c0, std::size_t c1, int dst, const KeyFn& key) {
  T* buf[2] = {data, scratch};
  const std::size_t lo = c0 * w, hi = std::min(n, c1 * w);
  if (c1 - c0 == 1) {
    T* r = radix_sort_ping_pong(data + lo, scratch + lo, hi - lo, key);
    T* want = buf[dst] + lo;
    if (r != want) std::memcpy(want, r, (hi - lo) * sizeof(T));  // L2-hot copy
    return;
  }
  const std::size_t cm = c0 + (c1 - c0) / 2;
  chunked_sort_rec(data, scratch, n, w, c0, cm, 1 - dst, key);
  chunked_sort_rec(data, scratch, n, w, cm, c1, 1 - dst, key);
  const std::size_t mid = cm * w;
  merge_branchless(buf[1 - dst] + lo, mid - lo, buf[1 - dst] + mid, hi - mid,
                   buf[dst] + lo, key);
}

}  // namespace detail

// Sorts data[0, n) stably by key with scratch[0, n) as the ping-pong partner.
// chunk_elems = 0: default_chunk_elems<T>().
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void chunked_merge_sort(T* data, std::size_t n, T* scratch, const KeyFn& key = {},
                        std::size_t chunk_elems = 0) {
  detail::check_span(data, n, "chunked_merge_sort");
  detail::check_span(scratch, n, "chunked_merge_sort (scratch)");
  if (n < 2) return;
  const std::size_t w = chunk_elems ? chunk_elems : default_chunk_elems<T>();
  const std::size_t chunks = n / w + (n % w != 0);
  detail::chunked_sort_rec(data, scratch, n, w, 0, chunks, 0, key);
}

// Owns the scratch buffer, which only grows: sorting many arrays of similar
// size allocates (and page-faults) once.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
class ChunkedMergeSorter {
 public:
  explicit ChunkedMergeSorter(std::size_t chunk_elems = 0, KeyFn key = {})
      : chunk_elems_(chunk_elems ? chunk_elems : default_chunk_elems<T>()),
        key_(key) {}

  void sort(std::span<T> v) {
    if (v.size() < 2) return;
    if (v.size() > capacity_) {
      scratch_ = std::make_unique_for_overwrite<T[]>(v.size());
      capacity_ = v.size();
    }
    chunked_merge_sort(v.data(), v.size(), scratch_.get(), key_, chunk_elems_);
  }

  std::size_t chunk_elems() const { return chunk_elems_; }

 private:
  std::size_t chunk_elems_;
  KeyFn key_;
  std::unique_ptr<T[]> scratch_;
  std::size_t capacity_ = 0;
};

// One-shot form: allocates scratch for this call.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void chunked_merge_sort(std::span<T> v, const KeyFn& key = {},
                        std::size_t chunk_elems = 0) {
  ChunkedMergeSorter<T, KeyFn>(chunk_elems, key).sort(v);
}

}  // namespace cachetick::sort

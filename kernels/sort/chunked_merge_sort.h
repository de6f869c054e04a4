// cachetick's chunked merge sort: sort cache-sized chunks, merge branch-free.
// (The benchmark's `ct_merge` row. The optimised row, `ct_chunked`, is now
// key_chunks.h: chunks cut by key need no merge tree; README says by how much.)
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
//     dependency (load, compare, advance). Each merge is split at its midpoint
//     (a binary search) into two independent merges, and each of those is
//     worked from BOTH ends - smallest remaining to the front, largest to the
//     back - so four independent chains run per loop iteration. For plain
//     uint32_t keys on AVX2 CPUs a vector merge (merge_avx2.h) moves eight
//     elements per step instead.
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
#include <type_traits>

#include "kernels/sort/cache_size.h"
#include "kernels/sort/key.h"
#include "kernels/sort/merge_avx2.h"
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

// One merge in progress, worked from both ends: the remaining input is
// a[al, ah) and b[bl, bh); the front of the output grows at ol, the back
// shrinks at oh. Pointers, not indices: two lanes must fit x86's 16 registers.
template <class T, class KeyFn>
struct MergeLane {
  const T *al, *ah, *bl, *bh;
  T *ol, *oh;

  // Steps both ends may take before either input could run dry: s front and
  // s back steps consume at most 2s <= min(remaining a, remaining b) of each.
  std::size_t safe_pairs() const {
    return static_cast<std::size_t>(std::min(ah - al, bh - bl)) / 2;
  }

  // Smallest remaining element to the front; ties take a (stable).
  // The comparison becomes a 0/1 that selects (cmov) and advances: no branch.
  void front(const KeyFn& key) {
    const T va = *al, vb = *bl;
    const bool take_b = key(vb) < key(va);
    *ol++ = take_b ? vb : va;
    al += !take_b;
    bl += take_b;
  }
  // Largest remaining element to the back; ties take b's tail (stable: among
  // equal keys b's elements come last).
  void back(const KeyFn& key) {
    const T wa = ah[-1], wb = bh[-1];
    const bool take_a = key(wb) < key(wa);
    *--oh = take_a ? wa : wb;
    ah -= take_a;
    bh -= !take_a;
  }

  // Two dependency chains (front, back) per iteration.
  void run(const KeyFn& key) {
    for (std::size_t s; (s = safe_pairs()) != 0;)
      for (; s != 0; --s) {
        front(key);
        back(key);
      }
    finish(key);
  }

  // At most one element left on one side: plain checked merge, then copies.
  void finish(const KeyFn& key) {
    while (al != ah && bl != bh) front(key);
    ol = std::copy(al, ah, ol);
    std::copy(bl, bh, ol);
  }
};

// Where the first k outputs of merging a and b end in a (they are a[0, i)
// and b[0, k - i)): the smallest i with b[k-i-1] < a[i]. Binary search, so
// splitting a merge costs O(log n) compares.
template <class T, class KeyFn>
std::size_t merge_split(const T* a, std::size_t na, const T* b, std::size_t nb,
                        std::size_t k, const KeyFn& key) {
  std::size_t lo = k > nb ? k - nb : 0, hi = std::min(k, na);
  while (lo < hi) {
    const std::size_t i = lo + (hi - lo) / 2;
    if (key(b[k - i - 1]) < key(a[i])) hi = i;
    else lo = i + 1;
  }
  return lo;
}

// Merges a[0, na) and b[0, nb) into out[0, na + nb); equal keys: a first.
// `out` must not overlap the inputs.
//
// Each lane's chain is load -> compare -> advance -> next load: about 7
// cycles of latency per element, whatever the bandwidth. So the merge is cut
// at the output's midpoint into two independent merges, each worked from both
// ends: four chains in flight per loop iteration.
template <class T, class KeyFn>
void merge_branchless(const T* a, std::size_t na, const T* b, std::size_t nb,
                      T* out, const KeyFn& key) {
  // Runs already in order (sorted or nearly sorted input): a plain copy.
  if (na == 0 || nb == 0 || !(key(b[0]) < key(a[na - 1]))) {
    std::copy(b, b + nb, std::copy(a, a + na, out));  // (memcpy; null-safe)
    return;
  }
  const std::size_t n = na + nb, k = n / 2;
  const std::size_t i = merge_split(a, na, b, nb, k, key), j = k - i;
  MergeLane<T, KeyFn> x{a, a + i, b, b + j, out, out + k};
  MergeLane<T, KeyFn> y{a + i, a + na, b + j, b + nb, out + k, out + n};
  for (std::size_t s; (s = std::min(x.safe_pairs(), y.safe_pairs())) != 0;)
    for (; s != 0; --s) {
      x.front(key);
      y.front(key);
      x.back(key);
      y.back(key);
    }
  x.run(key);
  y.run(key);
}

// The merge the sort uses: the AVX2 vector merge for plain uint32_t keys on
// CPUs that have AVX2 (8 elements per step), the scalar branch-free merge
// otherwise. Any non-Identity key function takes the scalar path.
template <class T, class KeyFn>
void merge_runs(const T* a, std::size_t na, const T* b, std::size_t nb, T* out,
                const KeyFn& key) {
  if constexpr (std::is_same_v<T, std::uint32_t> && std::is_same_v<KeyFn, Identity>) {
    if (cpu_has_avx2() && na >= 16 && nb >= 16 && key(b[0]) < key(a[na - 1])) {
#if CACHETICK_SORT_AVX2_MERGE
      merge_u32_avx2(
          a, na, b, nb, out,
          [](const T* x, std::size_t nx, const T* y, std::size_t ny, std::size_t k) {
            return merge_split(x, nx, y, ny, k, Identity{});
          },
          [](const T* x, std::size_t nx, const T* y, std::size_t ny, T* o) {
            merge_branchless(x, nx, y, ny, o, Identity{});
          });
      return;
#endif
    }
  }
  merge_branchless(a, na, b, nb, out, key);
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
  merge_runs(buf[1 - dst] + lo, mid - lo, buf[1 - dst] + mid, hi - mid,
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
  // Whole input already ascending or non-increasing: a scan (that stops at
  // the first disagreeing pair) instead of log2(chunks) copying merge levels.
  if (detail::sort_if_presorted(data, n, key)) return;
  const std::size_t w = chunk_elems ? chunk_elems : default_chunk_elems<T>();
  const std::size_t chunks = n / w + (n % w != 0);
  detail::chunked_sort_rec(data, scratch, n, w, 0, chunks, 0, key);
}

// Owns its scratch buffer (GrowOnlyScratch: sorting many arrays of similar
// size allocates and page-faults once).
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
class ChunkedMergeSorter {
 public:
  explicit ChunkedMergeSorter(std::size_t chunk_elems = 0, KeyFn key = {})
      : chunk_elems_(chunk_elems ? chunk_elems : default_chunk_elems<T>()),
        key_(key) {}

  void sort(std::span<T> v) {
    if (v.size() < 2) return;
    chunked_merge_sort(v.data(), v.size(), scratch_.at_least(v.size()), key_, chunk_elems_);
  }

  std::size_t chunk_elems() const { return chunk_elems_; }

 private:
  std::size_t chunk_elems_;
  KeyFn key_;
  GrowOnlyScratch<T> scratch_;
};

// One-shot form: allocates scratch for this call.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void chunked_merge_sort(std::span<T> v, const KeyFn& key = {},
                        std::size_t chunk_elems = 0) {
  ChunkedMergeSorter<T, KeyFn>(chunk_elems, key).sort(v);
}

}  // namespace cachetick::sort

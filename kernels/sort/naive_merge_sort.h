// The naive baselines: what the textbook (and the seed cookbook) write.
//
// 1. naive_merge_sort: the cookbook's "L2 sort". It is a plain top-down
//    recursive merge sort: split in half down to single elements, merge each
//    pair of halves into a temp buffer with a data-dependent branch, memcpy the
//    result back. Nothing in it knows the cache: the "L2" in its name was a
//    buffer-size constant, and that constant counted elements, not bytes, and
//    was too small - the cookbook overflowed its temp buffer past 65,536
//    elements. Here the temp buffer holds all n elements, so any length works.
//    Costs: log2(n) full passes over the data, each with one hard-to-predict
//    branch per element on random input (~50% mispredicted), plus a memcpy
//    back per merge.
//
// 2. naive_chunked_sort: the "obvious" cache-aware fix - sort L2-sized chunks
//    with the standard library (std::stable_sort), then merge them pairwise
//    with std::merge. The chunking is right; the tools are not: std::merge
//    branches per element exactly like (1), and std::stable_sort allocates
//    its own buffer per chunk. It usually lands near std::sort, not below it.
//
// cachetick's version of (2) is in chunked_merge_sort.h.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "kernels/sort/cache_size.h"
#include "kernels/sort/key.h"

namespace cachetick::sort {

namespace detail {

template <class T, class KeyFn>
void naive_merge_sort_rec(T* data, std::size_t n, T* temp, const KeyFn& key) {
  if (n <= 1) return;
  const std::size_t mid = n / 2;
  naive_merge_sort_rec(data, mid, temp, key);
  naive_merge_sort_rec(data + mid, n - mid, temp, key);
  std::size_t i = 0, j = mid, k = 0;
  while (i < mid && j < n) {
    // `<=` takes the left element on ties: that is what makes it stable.
    if (key(data[i]) <= key(data[j])) temp[k++] = data[i++];
    else temp[k++] = data[j++];
  }
  while (i < mid) temp[k++] = data[i++];
  while (j < n) temp[k++] = data[j++];
  std::memcpy(data, temp, n * sizeof(T));
}

}  // namespace detail

// Stable; temp must hold n elements.
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void naive_merge_sort(T* data, std::size_t n, T* temp, const KeyFn& key = {}) {
  detail::check_span(data, n, "naive_merge_sort");
  detail::check_span(temp, n, "naive_merge_sort (temp)");
  detail::naive_merge_sort_rec(data, n, temp, key);
}

template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void naive_merge_sort(std::span<T> v, const KeyFn& key = {}) {
  if (v.size() < 2) return;
  auto temp = std::make_unique_for_overwrite<T[]>(v.size());
  naive_merge_sort(v.data(), v.size(), temp.get(), key);
}

// Stable. chunk_elems = 0 takes a quarter of L2 (chunk + merge output fit).
template <class T, class KeyFn = Identity>
  requires SortableBy<T, KeyFn>
void naive_chunked_sort(std::span<T> v, const KeyFn& key = {},
                        std::size_t chunk_elems = 0) {
  const std::size_t n = v.size();
  if (n < 2) return;
  if (chunk_elems == 0)
    chunk_elems = std::max<std::size_t>(1, cache_size_bytes(2) / 4 / sizeof(T));
  auto less = [&key](const T& a, const T& b) { return key(a) < key(b); };
  for (std::size_t lo = 0; lo < n; lo += chunk_elems)
    std::stable_sort(v.begin() + lo, v.begin() + std::min(n, lo + chunk_elems), less);
  if (chunk_elems >= n) return;
  auto buf = std::make_unique_for_overwrite<T[]>(n);
  T* src = v.data();
  T* dst = buf.get();
  for (std::size_t w = chunk_elems; w < n; w *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * w) {
      const std::size_t mid = std::min(n, lo + w), hi = std::min(n, lo + 2 * w);
      std::merge(src + lo, src + mid, src + mid, src + hi, dst + lo, less);
    }
    std::swap(src, dst);
  }
  if (src != v.data()) std::memcpy(v.data(), src, n * sizeof(T));
}

}  // namespace cachetick::sort

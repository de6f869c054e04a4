// An AVX2 merge for plain uint32_t keys: eight elements per step.
//
// The scalar branch-free merge (chunked_merge_sort.h) still moves one element
// per dependency chain step. With whole vectors the chain step moves eight:
// keep the 8 largest elements seen so far in a register H; load the next 8
// from whichever input has the smaller head; a bitonic network sorts H and
// the new block into 16, the lower 8 go out, the upper 8 become H.
//
// Why that is correct: every element in H is <= the head of the input NOT
// loaded from (elements of that input already loaded precede its head;
// elements of the other input loaded before are <= the block just loaded,
// whose head was the smaller one). So H alone, or the new block alone,
// supplies 8 elements <= anything still unloaded: the lower 8 are final.
//
// Equal keys are indistinguishable for plain integers, so a vector merge
// needs no stability argument; records with payloads use the scalar merge.
//
// Compiled with a target attribute and chosen at run time (cpuid), so the
// project builds for baseline x86-64 and still uses AVX2 where it exists.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CACHETICK_SORT_AVX2_MERGE 1
#include <immintrin.h>
#else
#define CACHETICK_SORT_AVX2_MERGE 0
#endif

namespace cachetick::sort::detail {

#if CACHETICK_SORT_AVX2_MERGE

inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

#define CACHETICK_AVX2 __attribute__((target("avx2")))

// Sorts a bitonic sequence of 8: compare-exchange at distance 4, 2, 1. Each
// stage: one shuffle to pair lanes, min and max, one blend to keep the
// min in the lower and the max in the upper lane of each pair.
CACHETICK_AVX2 inline __m256i bitonic_sort8(__m256i v) {
  __m256i t = _mm256_permute2x128_si256(v, v, 0x01);  // t[i] = v[i ^ 4]
  v = _mm256_blend_epi32(_mm256_min_epu32(v, t), _mm256_max_epu32(v, t), 0xF0);
  t = _mm256_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2));  // t[i] = v[i ^ 2]
  v = _mm256_blend_epi32(_mm256_min_epu32(v, t), _mm256_max_epu32(v, t), 0xCC);
  t = _mm256_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1));  // t[i] = v[i ^ 1]
  v = _mm256_blend_epi32(_mm256_min_epu32(v, t), _mm256_max_epu32(v, t), 0xAA);
  return v;
}

// h and n sorted ascending: returns the lower 8 of the 16 sorted, leaves the
// upper 8 in h. Reversing n makes (h, reversed n) bitonic; one min/max splits
// it into two bitonic halves, every element of the lower <= the upper.
CACHETICK_AVX2 inline __m256i merge8(__m256i& h, __m256i n) {
  const __m256i rev = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  n = _mm256_permutevar8x32_epi32(n, rev);  // off the H chain: n is fresh
  const __m256i lo = _mm256_min_epu32(h, n);
  h = bitonic_sort8(_mm256_max_epu32(h, n));
  return bitonic_sort8(lo);
}

// One vector merge in progress: a[.., ae) and b[.., be) not yet loaded, h the
// 8 carried elements, out the next output slot.
struct Avx2Lane {
  const std::uint32_t *a, *ae, *b, *be;
  std::uint32_t* out;
  __m256i h;

  bool can_step() const { return ae - a >= 8 && be - b >= 8; }

  CACHETICK_AVX2 void start() {
    __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    a += 8;
    b += 8;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), merge8(h, va));
    out += 8;
  }

  // The block choice is a branch, but one per 8 elements: a mispredict costs
  // ~2 cycles per element instead of ~8.
  CACHETICK_AVX2 void step() {
    const std::uint32_t* src;
    if (*a < *b) {
      src = a;
      a += 8;
    } else {
      src = b;
      b += 8;
    }
    const __m256i n = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), merge8(h, n));
    out += 8;
  }

  // One input has < 8 left. Merge h with that short rest on the stack (at
  // most 15 elements), then merge the result with the long rest.
  template <class ScalarMerge>
  CACHETICK_AVX2 void finish(ScalarMerge scalar_merge) {
    alignas(32) std::uint32_t hbuf[8];
    std::uint32_t tbuf[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(hbuf), h);
    const bool a_short = ae - a < 8;
    const std::uint32_t* s = a_short ? a : b;
    const std::size_t ns = static_cast<std::size_t>(a_short ? ae - a : be - b);
    const std::uint32_t* l = a_short ? b : a;
    const std::size_t nl = static_cast<std::size_t>(a_short ? be - b : ae - a);
    scalar_merge(hbuf, 8, s, ns, tbuf);
    scalar_merge(tbuf, 8 + ns, l, nl, out);
  }
};

// Merges a[0, na) and b[0, nb) into out (no overlap). Cut at the output's
// midpoint into two lanes whose vector steps interleave: the H chain of each
// (a shuffle network, ~12 cycles per 8 elements) hides behind the other's.
// `split` and `scalar_merge` come from the scalar merge.
template <class Split, class ScalarMerge>
CACHETICK_AVX2 void merge_u32_avx2(const std::uint32_t* a, std::size_t na,
                                   const std::uint32_t* b, std::size_t nb,
                                   std::uint32_t* out, Split split,
                                   ScalarMerge scalar_merge) {
  const std::size_t n = na + nb, k = n / 2;
  const std::size_t i = split(a, na, b, nb, k), j = k - i;
  Avx2Lane x{a, a + i, b, b + j, out, {}};
  Avx2Lane y{a + i, a + na, b + j, b + nb, out + k, {}};
  if (i < 8 || j < 8 || na - i < 8 || nb - j < 8) {  // lopsided or short
    scalar_merge(a, na, b, nb, out);
    return;
  }
  x.start();
  y.start();
  while (x.can_step() && y.can_step()) {
    x.step();
    y.step();
  }
  while (x.can_step()) x.step();
  while (y.can_step()) y.step();
  x.finish(scalar_merge);
  y.finish(scalar_merge);
}

#undef CACHETICK_AVX2

#else

inline bool cpu_has_avx2() { return false; }

#endif

}  // namespace cachetick::sort::detail

// A radix scatter for arrays larger than the cache: whole cache lines,
// written with non-temporal stores.
//
// A plain scatter pass (`dst[next[digit]++] = v`) writes each element into
// one of 256 lines that are being filled. When dst is far larger than the
// last-level cache, every one of those lines is first read from DRAM (the
// store misses, and the core fetches the line it will overwrite: a
// read-for-ownership) and later written back: 4 B read + 4 B written per
// 4 B key, with 256 streams of misses in flight. Measured on the Zen 5 guest
// (random u32, ns per element): the top-byte scatter 0.64-0.66 at 1M (in
// cache) against 2.4-2.7 at 16M-64M.
//
// Here each bucket fills a buffer of two 64 B lines in L1 first (256
// buckets x 128 B = 32 KiB); a full buffer goes to dst as two lines of
// non-temporal stores, which write a line without reading it and without
// evicting anything useful. The same pass: 1.38-1.47 ns at 16M, 1.55 at 64M.
// Buffer size, same runs: one line per bucket 1.67-1.76 (the flush branch
// mispredicts once per buffer: twice as often), four lines 1.26-1.57 and
// eight 1.24-1.27 - but 64 and 128 KiB do not fit L1 or a small thread
// stack. In cache it loses (1.25 against 0.64 at 1M: one more store per
// element and the flush), and a line streamed to memory is not in cache
// for whoever reads it next, so the chunked sort uses it only above
// kStreamBytes.
//
// Tried and not kept: a flush of the buffer completed *before* the one
// just filled (a wide load right after the narrow stores that filled it
// might wait on them) - no faster (1.72 against 1.63 at 1M, one-line
// buffers); the buffers flushed with ordinary stores - slower than no
// buffers at 16M (3.4 against 2.5: the read-for-ownership is still there).
//
// Lines, not elements, are streamed: a bucket's first buffer may start
// inside the previous bucket (bucket starts are not line-aligned), so a
// buffer that is only partly the bucket's own is written element by
// element, as is every bucket's last, unfilled one. The buffers are indexed
// by position in dst's lines, not by element count, so every streamed line
// is aligned.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels/sort/key.h"

namespace cachetick::sort::detail {

// Arrays of at least this many bytes are partitioned with the streaming
// scatter: well past any one core's share of a last-level cache (a Zen CCX
// has 32 MiB; the chunked sort partitions 32-bit keys only above 16 MiB).
inline constexpr std::size_t kStreamBytes = std::size_t{32} << 20;

// Elements whose size divides a 64 B line can be buffered a line at a time.
template <class T>
inline constexpr bool kLineBuffered = sizeof(T) <= 64 && 64 % sizeof(T) == 0;

// Writes one whole 64 B line from an aligned buffer to an aligned address,
// bypassing the caches where the ISA lets us say so.
inline void stream_line(void* dst, const void* src) {
#if defined(__SSE2__)
  const auto* s = static_cast<const __m128i*>(src);
  auto* d = static_cast<__m128i*>(dst);
  _mm_stream_si128(d + 0, _mm_load_si128(s + 0));
  _mm_stream_si128(d + 1, _mm_load_si128(s + 1));
  _mm_stream_si128(d + 2, _mm_load_si128(s + 2));
  _mm_stream_si128(d + 3, _mm_load_si128(s + 3));
#else
  std::memcpy(dst, src, 64);
#endif
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();  // non-temporal stores are weakly ordered: publish them
#endif
}

// Stable scatter of src[0, n) into dst by the 8-bit digit at `shift`:
// bucket b goes to dst[start[b], start[b+1]). Returns false, having written
// nothing, when T cannot be line-buffered or dst is not aligned to sizeof(T)
// (the caller then scatters plainly).
template <class T, class KeyFn>
bool stream_scatter(const T* src, T* dst, std::size_t n, const KeyFn& key, int shift,
                    const std::array<std::size_t, 257>& start) {
  if constexpr (!kLineBuffered<T>) {
    return false;
  } else {
    constexpr std::size_t kBytes = 128;             // two lines per bucket
    constexpr std::size_t kPer = kBytes / sizeof(T);  // elements per buffer
    const auto addr = reinterpret_cast<std::uintptr_t>(dst);
    if (addr % sizeof(T) != 0) return false;
    // Element i of dst sits at slot (i + skew) % kPer of its buffer.
    const std::size_t skew = (addr % 64) / sizeof(T);
    // Bytes, not T[]: a trivially copyable T need not be default-constructible.
    alignas(64) unsigned char buf[256][kBytes];
    auto slot = [&](unsigned b, std::size_t p) { return buf[b] + p % kPer * sizeof(T); };
    auto put = [&](std::size_t k, unsigned b) {  // dst element k - skew from its slot
      std::memcpy(dst + (k - skew), slot(b, k), sizeof(T));
    };
    std::array<std::size_t, 256> pos;  // next slot of each bucket, counted from the
    for (int b = 0; b < 256; ++b) pos[b] = start[b] + skew;  // line that holds dst[0]
    for (std::size_t i = 0; i < n; ++i) {
      const T v = src[i];
      const unsigned b = static_cast<unsigned>(key(v) >> shift) & 0xFF;
      std::size_t p = pos[b];
      std::memcpy(slot(b, p), &v, sizeof(T));
      pos[b] = ++p;
      if (p % kPer == 0) [[unlikely]] {
        const std::size_t first = p - kPer;  // the buffer's first slot
        if (first >= start[b] + skew) {
          for (std::size_t l = 0; l < kBytes / 64; ++l)
            stream_line(dst + (first - skew) + l * (64 / sizeof(T)), buf[b] + l * 64);
        } else {  // the buffer begins in an earlier bucket: only our part
          for (std::size_t k = start[b] + skew; k < p; ++k) put(k, b);
        }
      }
    }
    for (unsigned b = 0; b < 256; ++b) {  // each bucket's unfilled last buffer
      const std::size_t p = pos[b];
      for (std::size_t k = std::max(p - p % kPer, start[b] + skew); k < p; ++k) put(k, b);
    }
    stream_fence();
    return true;
  }
}

}  // namespace cachetick::sort::detail

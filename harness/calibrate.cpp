#include "harness/calibrate.h"

#include "harness/core_share.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/atomic_file.h"
#include "harness/context.h"
#include "harness/tsc.h"

#if CACHETICK_HAVE_TSC
#include <immintrin.h>
#endif
#if CACHETICK_HAVE_PAPI
#include <papi.h>
#endif

namespace cachetick {

// ---------------------------------------------------------------------------
// The permutation

namespace {
// splitmix64: fast, well mixed, and the same stream on every platform
// (std::uniform_int_distribution is not specified bit-for-bit).
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// Uniform in [0, n) by Lemire's multiply-shift (bias < n / 2^64: nil here).
std::uint32_t below(std::uint64_t& s, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<unsigned __int128>(splitmix(s)) * n) >> 64);
}
}  // namespace

std::vector<std::uint32_t> sattolo_cycle(std::size_t n, std::uint64_t seed) {
  if (n == 0 || n > 0xffffffffull) throw std::invalid_argument("sattolo_cycle: need 1 <= n < 2^32");
  std::vector<std::uint32_t> a(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<std::uint32_t>(i);
  // Sattolo: like Fisher-Yates but j < i strictly, which yields exactly the
  // (n-1)! permutations that are one n-cycle, each equally likely. Read as
  // i -> a[i], it is the successor map of that cycle.
  std::uint64_t s = seed;
  for (std::size_t i = n - 1; i > 0; --i) std::swap(a[i], a[below(s, static_cast<std::uint32_t>(i))]);
  return a;
}

std::size_t cycle_length(const std::vector<std::uint32_t>& next) {
  const std::size_t n = next.size();
  if (n == 0) return 0;
  std::vector<char> seen(n, 0);
  for (std::uint32_t v : next) {
    if (v >= n || seen[v]) return 0;  // not a permutation
    seen[v] = 1;
  }
  std::size_t len = 0, i = 0;
  do {
    i = next[i];
    ++len;
  } while (i != 0 && len <= n);
  return i == 0 ? len : 0;
}

StreamFigure fastest_streams(const std::vector<StreamFigure>& by_streams) {
  StreamFigure best;
  for (const StreamFigure& f : by_streams)
    if (f.gbps > best.gbps) best = f;  // strictly faster: the fewer streams win a tie
  return best;
}

double read_limit_gbps(double one_stream, double streams) { return std::max(one_stream, streams); }

// ---------------------------------------------------------------------------
// Measurement

namespace {

double tsc_hz() { return tsc_info().hz; }

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// One big anonymous mapping, 2 MiB aligned, for every working set: the
// small sets are its first bytes. Hugepages (THP via MADV_HUGEPAGE) keep the
// page walk out of the latency curve up to the STLB's reach (a few GiB), so
// the steps are the caches, not the TLB; --no-hugepages shows the TLB too.
struct Region {
  char* p = nullptr;
  std::size_t bytes = 0;
  void* map = nullptr;
  std::size_t map_bytes = 0;
  std::uint64_t anon_huge_bytes = 0;
  std::string advice;

  Region(std::size_t n, bool huge) : bytes(n) {
    const std::size_t align = 2u << 20;
    map_bytes = n + align;
    map = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
      throw std::runtime_error("cannot map " + format_bytes(map_bytes) + " for calibration: " +
                               std::strerror(errno));
    p = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(map) + align - 1) & ~(align - 1));
#ifdef MADV_HUGEPAGE
    advice = huge ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE";
    if (madvise(p, n, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
      advice += std::string(" (refused: ") + std::strerror(errno) + ")";
#else
    advice = "none (no MADV_HUGEPAGE on this system)";
#endif
    std::memset(p, 1, n);  // fault every page in now, not inside a timing
    anon_huge_bytes = huge_bytes_in_mapping();
  }
  ~Region() { munmap(map, map_bytes); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  // AnonHugePages of our mapping in /proc/self/smaps: whether THP took.
  std::uint64_t huge_bytes_in_mapping() const {
    std::ifstream f("/proc/self/smaps");
    std::string line;
    bool ours = false;
    const auto lo = reinterpret_cast<std::uintptr_t>(map);
    while (std::getline(f, line)) {
      unsigned long a, b;
      if (std::sscanf(line.c_str(), "%lx-%lx ", &a, &b) == 2 && line.find(':') > line.find(' ')) {
        ours = a <= lo && lo < b;
        continue;
      }
      if (ours && line.rfind("AnonHugePages:", 0) == 0)
        return std::strtoull(line.c_str() + 14, nullptr, 10) << 10;
    }
    return 0;
  }
};

// Sixteen dependent loads per trip: the loop's counter runs beside the
// chain, so the time per step is the load-to-use latency.
__attribute__((noinline)) const void* chase(const void* p, std::size_t trips) {
  for (std::size_t i = 0; i < trips; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) p = *static_cast<const void* const*>(p);
  }
  return p;
}

// Why minima: the machine may be shared (other processes, other tenants of
// the host). Time spent descheduled or waiting for a neighbour's traffic
// only ever makes a sample slower, so the fastest of many short samples
// (~0.1 ms, well under a scheduler slice) is the machine's own limit; the
// median is kept beside it to show how busy the machine was.
struct Sample {
  double best = 0, median = 0;  // ns per load, or GB/s
};

Sample summarise(std::vector<double> v, bool higher_is_better) {
  Sample s;
  s.median = median(v);
  s.best = higher_is_better ? *std::max_element(v.begin(), v.end()) : *std::min_element(v.begin(), v.end());
  return s;
}

constexpr double kSampleNs = 100e3;  // target length of one sample

Sample measure_latency(char* base, std::size_t bytes, bool full, std::uint64_t seed) {
  const std::size_t line = 64;
  const std::size_t n = bytes / line;
  const std::vector<std::uint32_t> next = sattolo_cycle(n, seed);
  for (std::size_t i = 0; i < n; ++i)
    *reinterpret_cast<char**>(base + i * line) = base + std::size_t{next[i]} * line;
  // Warm-up: one lap, so the set sits in whichever level holds it. Capped:
  // for sets far beyond the caches a lap takes a second, and the linking
  // loop above has just written every line anyway.
  const void* p = chase(base, std::clamp<std::size_t>(n, 4096, 1u << 18) / 16);
  auto sample = [&](std::size_t trips) {
    const std::uint64_t t0 = tsc_begin();
    p = chase(p, trips);
    const std::uint64_t t1 = tsc_end();
    return ticks_to_ns(static_cast<double>(t1 - t0), tsc_hz());
  };
  std::size_t trips = 256;  // 4096 loads
  while (sample(trips) < kSampleNs && trips < (1u << 22)) trips *= 2;
  std::vector<double> v;
  for (int r = 0, reps = full ? 31 : 11; r < reps; ++r) v.push_back(sample(trips) / (trips * 16.0));
  volatile std::uintptr_t sink = reinterpret_cast<std::uintptr_t>(p);
  (void)sink;
  return summarise(v, false);
}

// Sequential bandwidth. The build has no -march=native (results compare
// across machines of one ISA), so the loops pick AVX2 at run time through a
// target attribute when the CPU has it, else SSE2 (baseline x86-64): 256-bit
// aligned loads (vmovdqa) summed into four vpaddq accumulators, or 256-bit
// aligned stores (vmovdqa, ordinary stores: a set beyond the caches costs a
// read-for-ownership per line as well - not streaming stores).
#if CACHETICK_HAVE_TSC
__attribute__((target("avx2"), noinline)) std::uint64_t read_avx2(const char* p, std::size_t bytes,
                                                                   int passes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < bytes; i += 128) {
      a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
      a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
      a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
      a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  return static_cast<std::uint64_t>(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 3));
}
__attribute__((target("avx2"), noinline)) void write_avx2(char* p, std::size_t bytes, int passes,
                                                          std::uint64_t v) {
  for (int r = 0; r < passes; ++r) {
    const __m256i x = _mm256_set1_epi64x(static_cast<long long>(v + r));
    for (std::size_t i = 0; i < bytes; i += 128) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(p + i), x);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p + i + 32), x);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p + i + 64), x);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p + i + 96), x);
    }
    asm volatile("" : : "r"(p) : "memory");  // every pass's stores happen
  }
}
__attribute__((noinline)) std::uint64_t read_sse2(const char* p, std::size_t bytes, int passes) {
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < bytes; i += 64) {
      a0 = _mm_add_epi64(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
      a1 = _mm_add_epi64(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
      a2 = _mm_add_epi64(a2, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 32)));
      a3 = _mm_add_epi64(a3, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 48)));
    }
  const __m128i s = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(s));
}
__attribute__((noinline)) void write_sse2(char* p, std::size_t bytes, int passes, std::uint64_t v) {
  for (int r = 0; r < passes; ++r) {
    const __m128i x = _mm_set1_epi64x(static_cast<long long>(v + r));
    for (std::size_t i = 0; i < bytes; i += 64) {
      _mm_store_si128(reinterpret_cast<__m128i*>(p + i), x);
      _mm_store_si128(reinterpret_cast<__m128i*>(p + i + 16), x);
      _mm_store_si128(reinterpret_cast<__m128i*>(p + i + 32), x);
      _mm_store_si128(reinterpret_cast<__m128i*>(p + i + 48), x);
    }
    asm volatile("" : : "r"(p) : "memory");
  }
}
bool have_avx2() { return __builtin_cpu_supports("avx2"); }
#else
__attribute__((noinline)) std::uint64_t read_scalar(const char* p, std::size_t bytes, int passes) {
  std::uint64_t s = 0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < bytes; i += 8) {
      std::uint64_t v;
      std::memcpy(&v, p + i, 8);
      s += v;
    }
  return s;
}
__attribute__((noinline)) void write_scalar(char* p, std::size_t bytes, int passes, std::uint64_t v) {
  for (int r = 0; r < passes; ++r) {
    for (std::size_t i = 0; i < bytes; i += 8) std::memcpy(p + i, &v, 8);
    asm volatile("" : : "r"(p) : "memory");
  }
}
#endif

// K concurrent read streams over disjoint parts of the set, one 64-byte line
// of each per trip: what code walking several arrays at once (a struct of
// arrays, STREAM's triad) can draw from a level. One stream leaves bandwidth
// unused: the core's line fill buffers and the prefetchers' stream trackers
// work on several streams at once.
#if CACHETICK_HAVE_TSC
template <int K>
__attribute__((target("avx2"), noinline)) std::uint64_t read_streams_avx2(const char* const* base,
                                                                           std::size_t each, int passes) {
  const char* q[K];
  for (int s = 0; s < K; ++s) q[s] = base[s];
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < each; i += 64) {
#pragma GCC unroll 8
      for (int s = 0; s < K; ++s) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(q[s] + i));
        const __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(q[s] + i + 32));
        if (s % 2) a2 = _mm256_add_epi64(a2, x), a3 = _mm256_add_epi64(a3, y);
        else a0 = _mm256_add_epi64(a0, x), a1 = _mm256_add_epi64(a1, y);
      }
    }
  const __m256i t = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  return static_cast<std::uint64_t>(_mm256_extract_epi64(t, 0) ^ _mm256_extract_epi64(t, 3));
}
template <int K>
__attribute__((noinline)) std::uint64_t read_streams_sse2(const char* const* base, std::size_t each,
                                                          int passes) {
  const char* q[K];
  for (int s = 0; s < K; ++s) q[s] = base[s];
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < each; i += 64) {
#pragma GCC unroll 8
      for (int s = 0; s < K; ++s) {
        const __m128i* l = reinterpret_cast<const __m128i*>(q[s] + i);
        a0 = _mm_add_epi64(a0, _mm_load_si128(l)), a1 = _mm_add_epi64(a1, _mm_load_si128(l + 1));
        a2 = _mm_add_epi64(a2, _mm_load_si128(l + 2)), a3 = _mm_add_epi64(a3, _mm_load_si128(l + 3));
      }
    }
  const __m128i t = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(t));
}
template <int K>
std::uint64_t read_streams(const char* const* q, std::size_t each, int passes) {
  return have_avx2() ? read_streams_avx2<K>(q, each, passes) : read_streams_sse2<K>(q, each, passes);
}
#else
template <int K>
__attribute__((noinline)) std::uint64_t read_streams(const char* const* q, std::size_t each, int passes) {
  std::uint64_t s = 0;
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < each; i += 8)
      for (int k = 0; k < K; ++k) {
        std::uint64_t v;
        std::memcpy(&v, q[k] + i, 8);
        s += v;
      }
  return s;
}
#endif

std::uint64_t read_k_streams(int k, const char* const* q, std::size_t each, int passes) {
  switch (k) {
    case 2: return read_streams<2>(q, each, passes);
    case 4: return read_streams<4>(q, each, passes);
    case 8: return read_streams<8>(q, each, passes);
  }
  throw std::logic_error("read_k_streams: 2, 4 or 8 streams");
}

constexpr int kStreamCounts[] = {2, 4, 8};

// The set split into k equal parts, one stream each. Like the single stream
// (see measure_bandwidth below): 4 MiB per sample in all, the whole set
// repeated while it is small, else a rotating slice of every part.
Sample measure_read_streams(char* p, std::size_t bytes, bool full, int k) {
  const std::size_t part = bytes / k / 64 * 64;
  const std::size_t each = std::min<std::size_t>(part, (4u << 20) / k / 64 * 64);
  const int passes = static_cast<int>(std::max<std::size_t>(1, (4u << 20) / (part * k)));
  const std::size_t slices = part / each;
  volatile std::uint64_t sink = 0;
  const char* q[8];
  auto point = [&](std::size_t slice) {
    for (int s = 0; s < k; ++s) q[s] = p + s * part + slice * each;
  };
  for (std::size_t sl = 0; sl < slices; ++sl) {  // warm: the set is in its level
    point(sl);
    sink = sink + read_k_streams(k, q, each, 1);
  }
  std::vector<double> v;
  for (int i = 0, reps = full ? 31 : 11; i < reps; ++i) {
    point(static_cast<std::size_t>(i) % slices);
    const std::uint64_t t0 = tsc_begin();
    sink = sink + read_k_streams(k, q, each, passes);
    const std::uint64_t t1 = tsc_end();
    v.push_back(gb_per_s(double(each) * k * passes, ticks_to_ns(static_cast<double>(t1 - t0), tsc_hz())));
  }
  return summarise(v, true);
}

struct Bandwidth {
  Sample read, write;
  std::vector<StreamFigure> by_streams;  // the best sample for each stream count
  StreamFigure multi;                     // the fastest of them
  double multi_median = 0;                // that count's median sample
  double multi_seconds = 0;               // wall time the multi-stream figures took
};

// One sample streams a window of the set: the whole set (repeated) while it
// is small, else a 4 MiB slice at a rotating offset, so that every sample is
// short yet each slice was last touched a whole set ago - as in full passes.
Bandwidth measure_bandwidth(char* p, std::size_t bytes, bool full) {
  const std::size_t window = std::min<std::size_t>(bytes, 4u << 20);
  const int passes = static_cast<int>(std::max<std::size_t>(1, (4u << 20) / bytes));
  const std::size_t slices = bytes / window;
  const int reps = full ? 31 : 11;
  volatile std::uint64_t sink = 0;
#if CACHETICK_HAVE_TSC
  const bool avx2 = have_avx2();
  auto rd = [&](char* q, std::size_t b, int n) { sink = sink + (avx2 ? read_avx2(q, b, n) : read_sse2(q, b, n)); };
  auto wr = [&](char* q, std::size_t b, int n) { avx2 ? write_avx2(q, b, n, sink) : write_sse2(q, b, n, sink); };
#else
  auto rd = [&](char* q, std::size_t b, int n) { sink = sink + read_scalar(q, b, n); };
  auto wr = [&](char* q, std::size_t b, int n) { write_scalar(q, b, n, sink); };
#endif
  auto run = [&](auto&& f) {
    std::vector<double> v;
    f(p, bytes, 1);  // warm: the set is in its level before the first sample
    std::size_t slice = 0;
    for (int i = 0; i < reps; ++i) {
      char* q = p + (slice++ % slices) * window;
      const std::uint64_t t0 = tsc_begin();
      f(q, window, passes);
      const std::uint64_t t1 = tsc_end();
      v.push_back(gb_per_s(double(window) * passes, ticks_to_ns(static_cast<double>(t1 - t0), tsc_hz())));
    }
    return summarise(v, true);
  };
  Bandwidth b;
  b.read = run(rd);
  b.write = run(wr);
  std::vector<double> medians;
  const auto t0 = std::chrono::steady_clock::now();
  for (int k : kStreamCounts) {
    const Sample m = measure_read_streams(p, bytes, full, k);
    b.by_streams.push_back({k, m.best});
    medians.push_back(m.median);
  }
  b.multi_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  b.multi = fastest_streams(b.by_streams);
  for (std::size_t i = 0; i < b.by_streams.size(); ++i)
    if (b.by_streams[i].streams == b.multi.streams) b.multi_median = medians[i];
  return b;
}

std::string bandwidth_isa() {
#if CACHETICK_HAVE_TSC
  return have_avx2()
             ? "AVX2 via __attribute__((target(\"avx2\"))) chosen at run time: 256-bit aligned "
               "loads (vmovdqa) into 4 vpaddq accumulators; 256-bit aligned ordinary stores "
               "(no streaming stores: writes beyond the caches also pay a read-for-ownership)"
             : "SSE2 (baseline x86-64; no AVX2 on this CPU): 128-bit aligned loads into 4 paddq "
               "accumulators; 128-bit aligned ordinary stores";
#else
  return "scalar 64-bit loads and stores (no x86 SIMD on this architecture)";
#endif
}

// A chain of dependent register adds: each waits for the previous one, and
// an integer add has a latency of exactly one core cycle on every x86 core
// of the last 20 years. Adds per TSC second = core cycles per second. The
// second operand is a register, not an immediate: Golden Cove and later can
// fold chains of add-immediate at rename and run them faster than 1/cycle.
// A 3-cycle imul chain checks the method (its ratio to the add chain should
// be 3.0).
__attribute__((noinline)) std::uint64_t add_chain(std::uint64_t trips, std::uint64_t x, std::uint64_t one) {
  for (std::uint64_t i = 0; i < trips; ++i)
    asm volatile(".rept 128\n\taddq %1, %0\n\t.endr" : "+r"(x) : "r"(one));
  return x;
}
__attribute__((noinline)) std::uint64_t imul_chain(std::uint64_t trips, std::uint64_t x, std::uint64_t one) {
  for (std::uint64_t i = 0; i < trips; ++i)
    asm volatile(".rept 128\n\timulq %1, %0\n\t.endr" : "+r"(x) : "r"(one));
  return x;
}

nlohmann::json measure_core_clock(bool full) {
  volatile std::uint64_t one_src = 1;
  const std::uint64_t one = one_src;
  const std::uint64_t trips = 3000;  // 384k adds: ~0.1 ms at 3.5 GHz
  const int reps = full ? 201 : 51;
  std::vector<double> hz;
  double best_add_s = 1e300, best_imul_s = 1e300;
  volatile std::uint64_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    std::uint64_t t0 = tsc_begin();
    sink = sink + add_chain(trips, r, one);
    std::uint64_t t1 = tsc_end();
    const double add_s = (t1 - t0) / tsc_hz();
    t0 = tsc_begin();
    sink = sink + imul_chain(trips / 3, r, one);
    t1 = tsc_end();
    best_add_s = std::min(best_add_s, add_s);
    best_imul_s = std::min(best_imul_s, (t1 - t0) / tsc_hz());
    hz.push_back(128.0 * trips / add_s);
  }
  // The fastest sample: a sample interrupted by another process, or by the
  // hypervisor, only ever looks slower (a lower clock).
  const double best = *std::max_element(hz.begin(), hz.end());
  nlohmann::json j;
  j["estimate_hz"] = best;
  j["estimate_ghz"] = best / 1e9;
  j["median_ghz"] = median(hz) / 1e9;
  j["imul_to_add_ratio"] = (best_imul_s / (trips / 3)) / (best_add_s / trips);
  j["label"] = "estimate";
  j["method"] = "fastest of " + std::to_string(reps) +
                " samples of a chain of 384k dependent register adds (1 core cycle each) timed by "
                "the TSC; check: a dependent imul chain (3 cycles each) should take 3.0x as long per op";
  return j;
}

// L1 latency in core cycles without trusting a clock: a VM's core clock
// drifts with the host's turbo (5-10% between runs here), so the 4 KiB chase
// and the add chain are timed in alternation and divided - cycles per load
// as a ratio of two measurements taken under the same clock.
nlohmann::json l1_cycles_by_ratio(char* base, bool full) {
  const std::size_t n = 64;  // 4 KiB of 64-byte nodes
  const std::vector<std::uint32_t> next = sattolo_cycle(n, 0x11);
  for (std::size_t i = 0; i < n; ++i)
    *reinterpret_cast<char**>(base + i * 64) = base + std::size_t{next[i]} * 64;
  volatile std::uint64_t one_src = 1;
  const std::uint64_t one = one_src;
  const void* p = chase(base, 64);
  double best_load = 1e300, best_add = 1e300;
  volatile std::uint64_t sink = 0;
  for (int r = 0, reps = full ? 101 : 31; r < reps; ++r) {
    std::uint64_t t0 = tsc_begin();
    p = chase(p, 2048);  // 32k loads
    std::uint64_t t1 = tsc_end();
    best_load = std::min(best_load, (t1 - t0) / 32768.0);
    t0 = tsc_begin();
    sink = sink + add_chain(256, r, one);  // 32k adds
    t1 = tsc_end();
    best_add = std::min(best_add, (t1 - t0) / 32768.0);
  }
  sink = sink + reinterpret_cast<std::uintptr_t>(p);
  return {{"cycles", best_load / best_add},
          {"method", "4 KiB pointer chase and dependent add chain timed alternately, fastest of each; "
                     "load time / add time (an add is 1 core cycle)"}};
}

// Back-to-back calls: the cost a timing pays per read, in ns and TSC ticks.
nlohmann::json timer_entry(const std::string& name, double ticks_per_call, const std::string& note) {
  return {{"name", name},
          {"ns_per_call", ticks_to_ns(ticks_per_call, tsc_hz())},
          {"ticks_per_call", ticks_per_call},
          {"note", note}};
}

// The fastest of 21 short batches (see "Why minima" above).
template <class F>
double ticks_per_call(int calls, F&& f) {
  double best = 1e300;
  for (int r = 0; r < 21; ++r) {
    const std::uint64_t t0 = tsc_begin();
    for (int i = 0; i < calls; ++i) f();
    const std::uint64_t t1 = tsc_end();
    best = std::min(best, static_cast<double>(t1 - t0) / calls);
  }
  return best;
}

nlohmann::json papi_read_cost() {
#if CACHETICK_HAVE_PAPI
  nlohmann::json j = {{"name", "PAPI_read"}};
  if (PAPI_is_initialized() == PAPI_NOT_INITED) {
    const int v = PAPI_library_init(PAPI_VER_CURRENT);
    if (v != PAPI_VER_CURRENT) {
      j["available"] = false;
      j["note"] = std::string("PAPI_library_init failed: ") + PAPI_strerror(v);
      return j;
    }
  }
  int es = PAPI_NULL;
  if (int rc = PAPI_create_eventset(&es); rc != PAPI_OK) {
    j["available"] = false;
    j["note"] = std::string("PAPI_create_eventset: ") + PAPI_strerror(rc);
    return j;
  }
  // A hardware event first; without a PMU, a software event of the
  // perf_event component (each read is then a read() syscall).
  std::string event, tried;
  for (const char* name : {"PAPI_TOT_INS", "perf::TASK-CLOCK"}) {
    const int rc = PAPI_add_named_event(es, name);
    if (rc == PAPI_OK) {
      event = name;
      break;
    }
    tried += std::string(tried.empty() ? "" : "; ") + name + ": " + PAPI_strerror(rc);
  }
  if (event.empty()) {
    j["available"] = false;
    j["note"] = "no PAPI event could be added (" + tried + ")";
  } else if (int rc = PAPI_start(es); rc != PAPI_OK) {
    j["available"] = false;
    j["note"] = std::string("PAPI_start: ") + PAPI_strerror(rc);
  } else {
    long long v[1] = {0};
    const double t = ticks_per_call(200, [&] { PAPI_read(es, v); });
    PAPI_stop(es, v);
    j = timer_entry("PAPI_read", t,
                    "PAPI low-level API, one event: " + event +
                        (tried.empty() ? "" : " (" + tried + ")"));
    j["available"] = true;
    j["event"] = event;
  }
  PAPI_cleanup_eventset(es);
  PAPI_destroy_eventset(&es);
  return j;
#else
  return {{"name", "PAPI_read"}, {"available", false},
          {"note", "built without PAPI (libpapi-dev not found at configure time)"}};
#endif
}

nlohmann::json measure_timers() {
  nlohmann::json t = nlohmann::json::array();
  volatile std::uint64_t sink = 0;
  const int calls = 2000;
#if CACHETICK_HAVE_TSC
  t.push_back(timer_entry("rdtsc", ticks_per_call(calls, [&] { sink = sink + __rdtsc(); }),
                          "unfenced: may execute out of order with the code it times"));
  const EndRead& end = tsc_info().end_read;
  if (end.rdtscp)
    t.push_back(timer_entry("rdtscp", ticks_per_call(calls, [&] {
                              unsigned aux;
                              sink = sink + __rdtscp(&aux);
                            }),
                            "waits for earlier instructions; later ones may still start early"));
  else
    t.push_back({{"name", "rdtscp"}, {"available", false}, {"note", "not used here: " + end.why}});
  t.push_back(timer_entry("lfence+rdtsc+lfence", ticks_per_call(calls, [&] {
                            _mm_lfence();
                            sink = sink + __rdtsc();
                            _mm_lfence();
                          }),
                          "fully fenced (what the harness's tsc_begin() does, and tsc_end() where rdtscp is not used)"));
#endif
  t.push_back(timer_entry("steady_clock::now", ticks_per_call(calls, [&] {
                            sink = sink + std::chrono::steady_clock::now().time_since_epoch().count();
                          }),
                          "clock_gettime(CLOCK_MONOTONIC) through the vDSO"));
  t.push_back(papi_read_cost());
  return t;
}

// Keep the calibration on one CPU: a migration mid-curve would start a
// measurement with cold private caches. Restores the old mask on exit.
struct PinToCurrentCpu {
  cpu_set_t old;
  bool ok = false;
  int cpu = -1;
  PinToCurrentCpu() {
    cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof old, &old) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ok = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~PinToCurrentCpu() {
    if (ok) sched_setaffinity(0, sizeof old, &old);
  }
};

// What must match for a cached calibration to describe this machine.
nlohmann::json identity() {
  const nlohmann::json m = machine_context();
  nlohmann::json id;
  id["host"] = m.value("host", std::string());
  id["cpu_model"] = m.value("cpu_model", std::string());
  id["kernel"] = m.value("kernel", std::string());
  id["logical_cpus"] = m.value("logical_cpus", 0);
  // A calibration taken with injected conditions (a test) or against caches
  // from another source describes another host: never reuse it for this one.
  id["caches_source"] = m.value("caches_source", std::string());
  id["pretend"] = m.value("pretend", nlohmann::json::array());
  return id;
}

// THE place calibration learns which caches this CPU has: every question
// about the hierarchy goes through here, and so through host_caches()
// (sysfs, else CPUID - some VMs have no /sys/devices/system/cpu/cpu0/cache -
// else "unknown").
struct KnownHierarchy {
  KnownLevels levels;  // data or unified caches, sizes ascending
  std::string source;  // "sysfs", "CPUID leaf 4", ..., or "unknown" when levels is empty
};
KnownHierarchy known_data_levels() {
  KnownHierarchy h;
  const HostCaches& host = host_caches();
  for (const CacheLevel& c : host.levels)
    if (c.type != "Instruction" && c.size_bytes)
      h.levels.push_back({"L" + std::to_string(c.level) + (c.type == "Data" ? "d" : ""), c.size_bytes});
  std::sort(h.levels.begin(), h.levels.end(), [](auto& a, auto& b) { return a.second < b.second; });
  h.source = h.levels.empty() ? "unknown" : host.source;
  return h;
}

// A second opinion from the read-bandwidth curve (as ns per KiB, so that it
// steps up like latency): a level whose random-access latency is lost in
// noise (a shared L3) can still show as a bandwidth plateau. Only against
// known levels: with none there is nothing to name.
std::vector<LevelReading> cost_levels(const nlohmann::json& bw, const KnownHierarchy& known,
                                      std::uint64_t largest) {
  if (known.levels.empty()) return {};
  std::vector<CurvePoint> cost;
  for (const auto& b : bw)
    cost.push_back({b["bytes"].get<std::uint64_t>(), 1024.0 / b["read_gb_per_s"].get<double>()});
  // (No "noisy" note here: its figures would be in ns per KiB.)
  return match_levels(find_plateaus(cost), known.levels, largest, 1e300, known.source);
}

// Median read (one stream and several) and write bandwidth over [from, to].
void bandwidth_on(nlohmann::json& j, const nlohmann::json& bw, std::uint64_t from, std::uint64_t to) {
  std::vector<double> rd, wr, multi;
  for (const auto& b : bw)
    if (b["bytes"] >= from && b["bytes"] <= to) {
      rd.push_back(b["read_gb_per_s"].get<double>());
      wr.push_back(b["write_gb_per_s"].get<double>());
      multi.push_back(b["read_multi_gb_per_s"].get<double>());
    }
  j["read_gb_per_s"] = median(rd);
  j["read_multi_gb_per_s"] = median(multi);
  j["write_gb_per_s"] = median(wr);
}

nlohmann::json levels_json(const HierarchyReading& h, const nlohmann::json& bw,
                           const std::vector<LevelReading>& by_bw, double core_hz) {
  nlohmann::json lv = nlohmann::json::array();
  for (std::size_t li = 0; li < h.levels.size(); ++li) {
    const LevelReading& r = h.levels[li];
    nlohmann::json j = {{"name", r.name}, {"separated", r.separated}, {"note", r.note}};
    if (li < by_bw.size()) {
      const LevelReading& b = by_bw[li];
      nlohmann::json k = {{"separated", b.separated}, {"note", b.note}};
      if (b.separated) {
        k["read_gb_per_s"] = 1024.0 / b.value;
        k["plateau_from_bytes"] = b.from_bytes;
        k["plateau_to_bytes"] = b.to_bytes;
        if (b.boundary_bytes) k["boundary_bytes"] = b.boundary_bytes;
      }
      j["by_bandwidth"] = k;
    }
    j["known_bytes"] = r.known_bytes ? nlohmann::json(r.known_bytes) : nlohmann::json(nullptr);
    if (r.separated) {
      j["latency_ns"] = r.value;
      j["latency_est_cycles"] = ns_to_cycles(r.value, core_hz);
      j["plateau_from_bytes"] = r.from_bytes;
      j["plateau_to_bytes"] = r.to_bytes;
      if (r.boundary_bytes) {
        j["boundary_bytes"] = r.boundary_bytes;
        j["spill_bytes"] = r.spill_bytes;
      }
      bandwidth_on(j, bw, r.from_bytes, r.to_bytes);
    }
    lv.push_back(j);
  }
  return lv;
}

nlohmann::json steps_json(const HierarchyReading& h, double core_hz) {
  nlohmann::json st = nlohmann::json::array();
  for (const StepReading& s : h.steps)
    st.push_back({{"kind", s.kind},
                  {"name", s.name},
                  {"edge_bytes", s.edge_bytes},
                  {"spill_bytes", s.spill_bytes},
                  {"below_ns", s.below},
                  {"above_ns", s.above},
                  {"above_est_cycles", ns_to_cycles(s.above, core_hz)},
                  {"at_end", s.at_end},
                  {"note", s.note}});
  return st;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

nlohmann::json calibrate(const CalibrateOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  const std::uint64_t max_bytes = opt.max_bytes ? opt.max_bytes : (opt.full ? 1ull << 30 : 512ull << 20);
  const std::vector<std::uint64_t> sizes = size_grid(opt.min_bytes, max_bytes, opt.full ? 4 : 2);
  if (sizes.empty()) throw std::invalid_argument("calibration: no working-set sizes to measure");
  PinToCurrentCpu pin;
  auto dot = [&](const char* s) {
    if (opt.progress) std::fputs(s, stderr), std::fflush(stderr);
  };

  nlohmann::json doc;
  doc["kind"] = "cachetick calibration";
  doc["format"] = kCalibrationFormat;
  doc["identity"] = identity();
  doc["created_utc"] = utc_now();
  doc["mode"] = opt.full ? "full" : "quick";
  const TscInfo& t = tsc_info();
  doc["tsc"] = {{"hz", t.hz}, {"ghz", t.hz / 1e9}, {"source", t.source}, {"unit", t.unit}};
  doc["pinned_cpu"] = pin.ok ? nlohmann::json(pin.cpu) : nlohmann::json(nullptr);

  dot("cachetick calibrate: clocks");
  doc["core_clock"] = measure_core_clock(opt.full);
  const double core_hz = doc["core_clock"]["estimate_hz"].get<double>();
  // The core-share probe's uncontended cost (harness/core_share.h): samples
  // spread over the whole calibration, since a busy SMT sibling comes and
  // goes in spells; the fastest is the core to itself.
  std::vector<double> issue;
  auto probe_issue = [&](int n) {
    for (int i = 0; i < n; ++i) issue.push_back(issue_probe_cycles());
  };
  probe_issue(20);
  dot(", timers");
  doc["timers"] = measure_timers();

  dot(", memory ");
  Region region(sizes.back(), opt.hugepages);
  doc["pages"] = {{"advice", region.advice},
                  {"thp_enabled", read_line("/sys/kernel/mm/transparent_hugepage/enabled")},
                  {"anon_huge_bytes", region.anon_huge_bytes},
                  {"buffer_bytes", region.bytes},
                  {"huge_fraction", static_cast<double>(region.anon_huge_bytes) / region.bytes}};
  doc["l1_latency_cycles"] = l1_cycles_by_ratio(region.p, opt.full);
  nlohmann::json lat = nlohmann::json::array(), bw = nlohmann::json::array();
  std::vector<CurvePoint> curve;
  double multi_seconds = 0;
  for (std::uint64_t s : sizes) {
    const Sample l = measure_latency(region.p, s, opt.full, 0x5eed0000 + s);
    const Bandwidth b = measure_bandwidth(region.p, s, opt.full);
    multi_seconds += b.multi_seconds;
    curve.push_back({s, l.best});
    probe_issue(10);
    lat.push_back({{"bytes", s},
                   {"ns", l.best},
                   {"ns_median", l.median},
                   {"ticks", l.best * t.hz / 1e9},
                   {"est_cycles", ns_to_cycles(l.best, core_hz)}});
    nlohmann::json by = nlohmann::json::object();
    for (const StreamFigure& f : b.by_streams) by[std::to_string(f.streams)] = f.gbps;
    bw.push_back({{"bytes", s},
                  {"read_gb_per_s", b.read.best},
                  {"read_multi_gb_per_s", b.multi.gbps},
                  {"write_gb_per_s", b.write.best},
                  {"read_median_gb_per_s", b.read.median},
                  {"read_multi_median_gb_per_s", b.multi_median},
                  {"write_median_gb_per_s", b.write.median},
                  {"read_multi", {{"streams", b.multi.streams}, {"by_streams", by}}}});
    dot(".");
  }
  dot("\n");
  doc["latency"] = {
      {"method", "dependent loads (p = *p) through one random cycle over all 64-byte lines of the "
                 "working set (Sattolo's algorithm), 16 per loop trip; one warm-up lap (capped at "
                 "256k loads), then the fastest of " +
                     std::to_string(opt.full ? 31 : 11) +
                     " samples of >= 0.1 ms each (ns_median: their median), timed by the TSC"},
      {"unit", "ns per load (est_cycles: x the core clock estimate)"},
      {"points", lat}};
  doc["bandwidth"] = {{"isa", bandwidth_isa()},
                      {"method", "sequential: each sample streams 4 MiB, the whole set repeated "
                                 "or a 4 MiB slice of a larger one at a rotating offset; the best of " +
                                     std::to_string(opt.full ? 31 : 11) + " samples (median also kept). "
                                 "read_multi_gb_per_s: the same with 2, 4 and 8 concurrent read streams "
                                 "over equal disjoint parts of the set, one 64-byte line of each per "
                                 "trip, the fastest count (read_multi.by_streams: each count's best). "
                                 "The read limit rows are judged against is the higher of read_gb_per_s "
                                 "and read_multi_gb_per_s"},
                      {"unit", "GB/s = 1e9 bytes per second, one core"},
                      {"multi_stream_seconds", multi_seconds},
                      {"points", bw}};

  const KnownHierarchy known = known_data_levels();
  const PageBacking pages{region.bytes, region.anon_huge_bytes};
  const HierarchyReading h = read_hierarchy(curve, known.levels, known.source, pages);
  doc["hierarchy"] = {{"source", known.source},
                      {"known", h.known},
                      {"known_levels", nlohmann::json::array()}};
  for (const auto& [name, bytes] : known.levels)
    doc["hierarchy"]["known_levels"].push_back({{"name", name}, {"bytes", bytes}});
  doc["levels"] = levels_json(h, bw, cost_levels(bw, known, sizes.back()), core_hz);
  doc["steps"] = steps_json(h, core_hz);
  nlohmann::json pl = nlohmann::json::array();
  for (const Plateau& p : h.plateaus)
    pl.push_back({{"from_bytes", p.from_bytes}, {"to_bytes", p.to_bytes}, {"ns", p.value}});
  doc["plateaus"] = pl;
  probe_issue(20);
  {
    std::vector<double> ok;
    for (double v : issue)
      if (std::isfinite(v) && v > 0) ok.push_back(v);
    if (!ok.empty()) {
      const double best = *std::min_element(ok.begin(), ok.end());
      const auto shared = std::count_if(ok.begin(), ok.end(),
                                        [&](double v) { return best / v < kSharedCoreBelow; });
      doc["core_share_probe"] = {
          {"best_cycles", best},
          {"median_cycles", median(ok)},
          {"samples", ok.size()},
          {"shared_fraction", static_cast<double>(shared) / ok.size()},
          {"method", "24 independent uops per trip (16 adds, 8 L1 loads) timed against 24 "
                     "dependent adds (24 cycles), fastest of 3 alternations per sample; best_cycles = the fastest "
                     "sample = the core's issue slots to this thread alone; shared_fraction = the "
                     "samples below " + std::to_string(kSharedCoreBelow).substr(0, 3) +
                     " of it (another hardware thread competing)"}};
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  doc["duration_s"] = wall;
  // How much of a CPU the calibration got: well under 1 means the machine
  // was busy (medians then sit well above the minima).
  doc["cpu_share"] = (cpu_seconds() - cpu0) / wall;
  return doc;
}

// ---------------------------------------------------------------------------
// Report

namespace {

std::string f3(double v) {  // 3 significant digits
  char b[32];
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  std::snprintf(b, sizeof b, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
  return b;
}

std::string bytes_or_dash(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? format_bytes(j[k].get<std::uint64_t>()) : "-";
}

// A level's size as the CPU reports it; 0 for memory or unknown.
std::uint64_t known_bytes(const nlohmann::json& l) {
  for (const char* k : {"known_bytes", "sysfs_bytes"})  // sysfs_bytes: format 2
    if (l.contains(k) && l[k].is_number()) return l[k].get<std::uint64_t>();
  return 0;
}
std::string known_size(const nlohmann::json& l) { return known_bytes(l) ? format_bytes(known_bytes(l)) : "-"; }

double num(const nlohmann::json& j, const char* k) { return j.value(k, std::nan("")); }

void print_levels(const nlohmann::json& cal, std::FILE* out) {
  std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s  %s\n", "level", "known", "detected",
               "spills at", "latency", "~cycles", "read", "read", "write", "bandwidth", "");
  std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s\n", "", "size", "(fits to)", "", "ns", "",
               "1 stream", "2-8 str.", "GB/s", "fits to");
  for (const auto& l : cal["levels"]) {
    const nlohmann::json bwl = l.value("by_bandwidth", nlohmann::json::object());
    const bool bw_sep = bwl.value("separated", false);
    const std::string name = l["name"].get<std::string>(), note = l.value("note", "");
    if (l["separated"].get<bool>()) {
      std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s  %s\n", name.c_str(),
                   known_size(l).c_str(), bytes_or_dash(l, "boundary_bytes").c_str(),
                   bytes_or_dash(l, "spill_bytes").c_str(), f3(num(l, "latency_ns")).c_str(),
                   f3(num(l, "latency_est_cycles")).c_str(), f3(num(l, "read_gb_per_s")).c_str(),
                   f3(num(l, "read_multi_gb_per_s")).c_str(), f3(num(l, "write_gb_per_s")).c_str(),
                   bw_sep ? bytes_or_dash(bwl, "boundary_bytes").c_str() : "-", note.c_str());
      continue;
    }
    std::fprintf(out, "  %-5s %8s  latency %s\n", name.c_str(), known_size(l).c_str(), note.c_str());
    if (bw_sep)
      std::fprintf(out, "  %-5s %8s  bandwidth: a plateau of its own, %s to %s, read %s GB/s%s\n", "", "",
                   bytes_or_dash(bwl, "plateau_from_bytes").c_str(),
                   bytes_or_dash(bwl, "plateau_to_bytes").c_str(), f3(num(bwl, "read_gb_per_s")).c_str(),
                   bwl.value("note", "").empty() ? "" : (" (" + bwl.value("note", "") + ")").c_str());
  }
}

// Plateaus, when no level could be named: the curve's own steps.
void print_plateaus(const nlohmann::json& cal, std::FILE* out) {
  std::fprintf(out, "  %10s %10s %9s %8s\n", "from", "to", "ns", "~cycles");
  const double ghz = cal["core_clock"]["estimate_ghz"].get<double>();
  for (const auto& p : cal.value("plateaus", nlohmann::json::array()))
    std::fprintf(out, "  %10s %10s %9s %8s\n", bytes_or_dash(p, "from_bytes").c_str(),
                 bytes_or_dash(p, "to_bytes").c_str(), f3(num(p, "ns")).c_str(),
                 f3(num(p, "ns") * ghz).c_str());
}

void print_steps(const nlohmann::json& cal, std::FILE* out) {
  const auto steps = cal.value("steps", nlohmann::json::array());
  if (steps.empty()) return;
  std::fprintf(out, "\n%s\n  %-40s %8s %10s %22s\n",
               cal["hierarchy"].value("known", false)
                   ? "Other steps in the latency curve (not cache levels; named for what they likely are)"
                   : "Steps in the latency curve (unnamed: the cache levels are unknown)",
               "step", "edge", "spills at", "ns before -> after");
  for (const auto& st : steps) {
    const std::string ba = f3(num(st, "below_ns")) + " -> " + f3(num(st, "above_ns")) +
                           (st.value("at_end", false) ? " (end)" : "");
    std::fprintf(out, "  %-40s %8s %10s %22s\n", st["name"].get<std::string>().c_str(),
                 bytes_or_dash(st, "edge_bytes").c_str(), bytes_or_dash(st, "spill_bytes").c_str(), ba.c_str());
    if (st.value("kind", "") != "unnamed")  // the heading already says why those have no name
      std::fprintf(out, "    %s\n", st.value("note", "").c_str());
  }
}

void print_hierarchy(const nlohmann::json& cal, std::FILE* out) {
  const auto& pg = cal["pages"];
  const nlohmann::json hi = cal.value("hierarchy", nlohmann::json::object());
  std::string known;
  for (const auto& k : hi.value("known_levels", nlohmann::json::array()))
    known += (known.empty() ? "" : ", ") + k["name"].get<std::string>() + " " + bytes_or_dash(k, "bytes");
  const double huge = pg.value("huge_fraction", 0.0);
  std::fprintf(out, "\nCache hierarchy: %s\n",
               hi.value("known", true)
                   ? (hi.value("source", "sysfs") + ": " + known).c_str()
                   : "unknown: this system describes no caches, so no plateau is named a cache level");
  std::fprintf(out, "Pages: %s, %s of %s (%.0f%%) on 2 MiB pages; THP %s\n",
               pg["advice"].get<std::string>().c_str(),
               format_bytes(pg["anon_huge_bytes"].get<std::uint64_t>()).c_str(),
               format_bytes(pg["buffer_bytes"].get<std::uint64_t>()).c_str(), 100 * huge,
               pg["thp_enabled"].get<std::string>().c_str());
  if (hi.value("known", true)) {
    std::fprintf(out, "\nCache levels read off the latency curve\n");
    print_levels(cal, out);
  } else {
    std::fprintf(out, "\nPlateaus of the latency curve\n");
    print_plateaus(cal, out);
  }
  print_steps(cal, out);
}

// The curves, one row per working set, with the known sizes marked where a
// set first exceeds them. The bar is log(latency), so each level is a step of
// its own however far apart they are.
void print_curves(const nlohmann::json& cal, std::FILE* out) {
  const auto& lat = cal["latency"]["points"];
  const auto& bw = cal["bandwidth"]["points"];
  double lo = 1e300, hi = 0, bwmax = 0;
  for (const auto& p : lat) lo = std::min(lo, p["ns"].get<double>()), hi = std::max(hi, p["ns"].get<double>());
  for (const auto& p : bw) bwmax = std::max(bwmax, p["read_gb_per_s"].get<double>());
  std::vector<std::pair<std::string, std::uint64_t>> marks;
  for (const auto& l : cal["levels"])
    if (known_bytes(l)) marks.push_back({l["name"], known_bytes(l)});
  const std::string source = cal.value("hierarchy", nlohmann::json::object()).value("source", "sysfs");
  std::size_t next_mark = 0;
  std::fprintf(out,
               "\nLatency and bandwidth curves (%s;\n  %s)\n  %9s %8s %8s %8s %10s %8s  %s\n",
               "latency: dependent loads over a random cycle of 64 B lines",
               "bandwidth: sequential, one core; read xN: the fastest of 2, 4, 8 concurrent streams",
               "set", "ns", "~cycles", "read", "read xN", "write",
               "latency (log scale)                       read GB/s");
  for (std::size_t i = 0; i < lat.size(); ++i) {
    const std::uint64_t b = lat[i]["bytes"];
    while (next_mark < marks.size() && b > marks[next_mark].second) {
      std::fprintf(out, "  ---------- %s %s (%s) ----------\n", marks[next_mark].first.c_str(),
                   format_bytes(marks[next_mark].second).c_str(), source.c_str());
      ++next_mark;
    }
    const double ns = lat[i]["ns"], rd = bw[i]["read_gb_per_s"], wr = bw[i]["write_gb_per_s"];
    const double multi = num(bw[i], "read_multi_gb_per_s");
    const int k = bw[i].value("read_multi", nlohmann::json::object()).value("streams", 0);
    const std::string mk = f3(multi) + (k ? "/" + std::to_string(k) : "");
    const int w = hi > lo ? 1 + static_cast<int>(std::lround(39 * std::log(ns / lo) / std::log(hi / lo))) : 1;
    const int wb = bwmax > 0 ? std::max(1, static_cast<int>(std::lround(20 * rd / bwmax))) : 1;
    std::fprintf(out, "  %9s %8s %8s %8s %10s %8s  %-40s %s\n", format_bytes(b).c_str(), f3(ns).c_str(),
                 f3(lat[i]["est_cycles"].get<double>()).c_str(), f3(rd).c_str(), mk.c_str(), f3(wr).c_str(),
                 std::string(w, '#').c_str(), std::string(wb, '=').c_str());
  }
  std::fprintf(out, "\n  bandwidth code: %s\n", cal["bandwidth"]["isa"].get<std::string>().c_str());
  std::fprintf(out, "  read xN: GB/s/streams (measured in %.2f s). Rows are judged (%%BW) against the higher of\n"
                    "  read and read xN.\n", cal["bandwidth"].value("multi_stream_seconds", 0.0));
  std::fprintf(out, "  ~cycles = ns x the core clock ESTIMATE; GB/s = 1e9 bytes/s.\n");
}

}  // namespace

void print_calibration(const nlohmann::json& cal, std::FILE* out, bool brief) {
  const double core_ghz = cal["core_clock"]["estimate_ghz"].get<double>();
  const auto& id = cal["identity"];
  std::fprintf(out, "cachetick calibration (%s, %s, %.1f s) on %s, %s, %d logical CPUs\n",
               cal["mode"].get<std::string>().c_str(), cal["created_utc"].get<std::string>().c_str(),
               cal.value("duration_s", 0.0), id["cpu_model"].get<std::string>().c_str(),
               id["kernel"].get<std::string>().c_str(), id["logical_cpus"].get<int>());
  const double share = cal.value("cpu_share", 1.0);
  std::fprintf(out, "  it had %.0f%% of a CPU%s; figures are the fastest of many short samples\n",
               100 * share, share < 0.8 ? " (the machine was BUSY: medians in the JSON show by how much)" : "");
  std::fprintf(out, "\nClocks\n  TSC          %.3f GHz (%s): ticks are wall-clock units, not cycles\n",
               cal["tsc"]["ghz"].get<double>(), cal["tsc"]["source"].get<std::string>().c_str());
  const auto& cc = cal["core_clock"];
  std::fprintf(out,
               "  core clock   ~%.2f GHz ESTIMATE (dependent add chain, 1 cycle/add, fastest sample; "
               "median %.2f GHz;\n               check: imul/add = %.2f, expect 3.00)\n",
               core_ghz, cc["median_ghz"].get<double>(), cc["imul_to_add_ratio"].get<double>());
  if (cal.contains("l1_latency_cycles"))
    std::fprintf(out,
                 "  L1 load      %.2f core cycles, load-to-use (4 KiB chase / add chain timed alternately:\n"
                 "               a ratio, immune to the clock drifting between measurements)\n",
                 cal["l1_latency_cycles"]["cycles"].get<double>());
  if (cal.contains("core_share_probe")) {
    const auto& cs = cal["core_share_probe"];
    const double sf = cs["shared_fraction"].get<double>();
    std::fprintf(out,
                 "  core share   probe best %.2f cycles (24 uops: %.1f uops/cycle), median %.2f; "
                 "%.0f%% of %d samples\n               saw another hardware thread on this core%s\n",
                 cs["best_cycles"].get<double>(), 24 / cs["best_cycles"].get<double>(),
                 cs["median_cycles"].get<double>(), 100 * sf, cs["samples"].get<int>(),
                 sf > 0.05 ? " (an SMT sibling busy: throughput-bound code slows up to 2x in spells)" : "");
  }

  if (!brief) std::fprintf(out, "\nTimer costs (back-to-back calls, fastest of 21 batches)\n");
  for (const auto& t : brief ? nlohmann::json::array() : cal["timers"]) {
    if (t.value("available", true))
      std::fprintf(out, "  %-20s %7s ns  %7s ticks  %s\n", t["name"].get<std::string>().c_str(),
                   f3(t["ns_per_call"].get<double>()).c_str(),
                   f3(t["ticks_per_call"].get<double>()).c_str(), t["note"].get<std::string>().c_str());
    else
      std::fprintf(out, "  %-20s unavailable: %s\n", t["name"].get<std::string>().c_str(),
                   t["note"].get<std::string>().c_str());
  }

  print_hierarchy(cal, out);
  if (brief) return;
  print_curves(cal, out);
}

// ---------------------------------------------------------------------------
// Cache and per-row judgement

std::string calibration_cache_path() { return "results/calibration/" + host_name() + ".json"; }

nlohmann::json load_calibration(const std::string& path, std::string* why_not) {
  auto fail = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return nlohmann::json();
  };
  std::ifstream f(path);
  if (!f) return fail("no calibration at " + path);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    return fail(path + " is not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object() || doc.value("kind", "") != "cachetick calibration")
    return fail(path + " is not a cachetick calibration");
  if (doc.value("format", 0) != kCalibrationFormat)
    return fail(path + " has format " + std::to_string(doc.value("format", 0)) + ", this cachetick writes " +
                std::to_string(kCalibrationFormat));
  const nlohmann::json now = identity();
  for (const auto& [k, v] : now.items())
    if (!doc["identity"].contains(k) || doc["identity"][k] != v)
      return fail(path + " was measured with a different " + k + " (" +
                  (doc["identity"].contains(k) ? doc["identity"][k].dump() : "none") + ", now " +
                  v.dump() + ")");
  if (!limits_from(doc).valid) return fail(path + " lacks the L1 latency or the core clock");
  return doc;
}

Limits limits_from(const nlohmann::json& cal) {
  Limits l;
  if (!cal.is_object()) return l;
  try {
    l.core_hz = cal.at("core_clock").at("estimate_hz").get<double>();
    for (const auto& lv : cal.at("levels"))
      if (lv.at("separated").get<bool>()) {  // the first separated level is the fastest
        l.l1_ns = lv.at("latency_ns").get<double>();
        break;
      }
    // Unknown hierarchy: no level is named, but the first plateau (the
    // smallest sets) is the L1 on any CPU.
    if (!(l.l1_ns > 0) && cal.contains("plateaus") && !cal["plateaus"].empty())
      l.l1_ns = cal["plateaus"][0].at("ns").get<double>();
    for (const auto& p : cal.at("bandwidth").at("points")) {
      const double one = p.at("read_gb_per_s").get<double>();
      const double multi = p.value("read_multi_gb_per_s", 0.0);
      l.read_gbps.push_back({p.at("bytes").get<std::uint64_t>(), read_limit_gbps(one, multi)});
    }
  } catch (const nlohmann::json::exception&) {
    return Limits{};
  }
  l.valid = l.core_hz > 0 && l.l1_ns > 0 && !l.read_gbps.empty();
  return l;
}

RowLimits judge_row(const Limits& lim, double ns_per_op, std::uint64_t ws, double useful_gbps,
                    bool latency_bound) {
  RowLimits r;
  if (!lim.valid || !(ns_per_op > 0)) return r;
  r.est_cycles_per_op = ns_to_cycles(ns_per_op, lim.core_hz);
  if (latency_bound) r.l1_latencies = ns_per_op / lim.l1_ns;
  if (useful_gbps > 0) {
    r.read_gbps_at_ws = interpolate_log(lim.read_gbps, ws ? ws : lim.read_gbps.front().bytes);
    if (r.read_gbps_at_ws > 0) r.pct_read_bw = 100 * useful_gbps / r.read_gbps_at_ws;
  }
  return r;
}

int calibrate_command(const CalibrateOptions& opt, bool force, const std::string& out_arg, bool no_out,
                      bool brief) {
  const std::string out = no_out ? "" : (out_arg.empty() ? calibration_cache_path() : out_arg);
  if (!force && !out.empty()) {
    std::string why;
    nlohmann::json cached = load_calibration(out, &why);
    const bool enough = !cached.is_null() && (!opt.full || cached.value("mode", "") == "full") &&
                        cached["pages"].value("advice", "").rfind(opt.hugepages ? "MADV_HUGEPAGE"
                                                                                : "MADV_NOHUGEPAGE", 0) == 0;
    if (enough) {
      print_calibration(cached, stdout, brief);
      std::printf("\nCached: %s (measured %s; --force measures again)\n", out.c_str(),
                  cached["created_utc"].get<std::string>().c_str());
      return 0;
    }
    if (!cached.is_null()) why = "cached calibration is quick or used other pages";
    if (out_arg.empty()) {
      std::error_code ec;  // an unwritable directory is reported by check_writable below
      std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
    }
    if (std::string bad = check_writable(out); !bad.empty()) {
      std::fprintf(stderr, "cachetick calibrate: cannot write '%s': %s\n", out.c_str(), bad.c_str());
      return 2;
    }
    std::fprintf(stderr, "cachetick calibrate: measuring (%s)\n", why.c_str());
  } else if (!out.empty()) {
    if (out_arg.empty()) {
      std::error_code ec;  // an unwritable directory is reported by check_writable below
      std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
    }
    if (std::string bad = check_writable(out); !bad.empty()) {
      std::fprintf(stderr, "cachetick calibrate: cannot write '%s': %s\n", out.c_str(), bad.c_str());
      return 2;
    }
  }
  nlohmann::json cal;
  try {
    cal = calibrate(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick calibrate: %s\n", e.what());
    return 1;
  }
  print_calibration(cal, stdout, brief);
  if (!out.empty()) {
    write_file_atomic(out, cal.dump(2) + "\n");
    std::printf("\nSaved: %s (every `cachetick run` from this directory attaches it)\n", out.c_str());
  }
  return 0;
}

}  // namespace cachetick

#include "harness/measure.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "harness/curve.h"
#include "harness/stats.h"
#include "harness/text.h"
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

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

PinToCurrentCpu::PinToCurrentCpu() {
  cpu = sched_getcpu();
  if (cpu < 0 || sched_getaffinity(0, sizeof old, &old) != 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ok = sched_setaffinity(0, sizeof one, &one) == 0;
}

PinToCurrentCpu::~PinToCurrentCpu() {
  if (ok) sched_setaffinity(0, sizeof old, &old);
}

// ---------------------------------------------------------------------------
// The buffer

namespace {

// AnonHugePages of the mapping at `map` in /proc/self/smaps: whether THP took.
std::uint64_t huge_bytes_in_mapping(const void* map) {
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

}  // namespace

Region::Region(std::size_t n, bool huge) : bytes(n) {
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
  anon_huge_bytes = huge_bytes_in_mapping(map);
}

Region::~Region() { munmap(map, map_bytes); }

// ---------------------------------------------------------------------------
// The loops

namespace {

double tsc_hz() { return tsc_info().hz; }

// Sixteen dependent loads per trip: the loop's counter runs beside the
// chain, so the time per step is the load-to-use latency.
__attribute__((noinline)) const void* chase(const void* p, std::size_t trips) {
  for (std::size_t i = 0; i < trips; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) p = *static_cast<const void* const*>(p);
  }
  return p;
}

Sample summarise(std::vector<double> v, bool higher_is_better) {
  Sample s;
  s.median = median(v);
  s.best = higher_is_better ? *std::max_element(v.begin(), v.end()) : *std::min_element(v.begin(), v.end());
  return s;
}

constexpr double kSampleNs = 100e3;  // target length of one sample

}  // namespace

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

CoreClock measure_core_clock(bool full) {
  volatile std::uint64_t one_src = 1;
  const std::uint64_t one = one_src;
  const std::uint64_t trips = 3000;  // 384k adds: ~0.1 ms at 3.5 GHz
  CoreClock c;
  c.samples = full ? 201 : 51;
  std::vector<double> hz;
  double best_add_s = 1e300, best_imul_s = 1e300;
  volatile std::uint64_t sink = 0;
  for (int r = 0; r < c.samples; ++r) {
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
  c.best_hz = *std::max_element(hz.begin(), hz.end());
  c.median_hz = median(hz);
  c.imul_to_add = (best_imul_s / (trips / 3)) / (best_add_s / trips);
  return c;
}

// L1 latency in core cycles without trusting a clock: a VM's core clock
// drifts with the host's turbo (5-10% between runs here), so the 4 KiB chase
// and the add chain are timed in alternation and divided - cycles per load
// as a ratio of two measurements taken under the same clock.
double l1_latency_cycles(char* base, bool full) {
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
  return best_load / best_add;
}

namespace {

// The fastest of 21 short batches of back-to-back calls (see "Why minima").
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

TimerCost unavailable(std::string name, std::string why) { return {std::move(name), false, 0, std::move(why), ""}; }

#if CACHETICK_HAVE_PAPI
// A hardware event first; without a PMU, a software event of the perf_event
// component (each read is then a read() syscall). Returns the event added,
// or "" with every refusal in `tried`.
std::string add_papi_event(int es, std::string& tried) {
  for (const char* name : {"PAPI_TOT_INS", "perf::TASK-CLOCK"}) {
    const int rc = PAPI_add_named_event(es, name);
    if (rc == PAPI_OK) return name;
    tried += std::string(tried.empty() ? "" : "; ") + name + ": " + PAPI_strerror(rc);
  }
  return "";
}

TimerCost papi_read_cost() {
  if (PAPI_is_initialized() == PAPI_NOT_INITED) {
    const int v = PAPI_library_init(PAPI_VER_CURRENT);
    if (v != PAPI_VER_CURRENT) return unavailable("PAPI_read", std::string("PAPI_library_init failed: ") + PAPI_strerror(v));
  }
  int es = PAPI_NULL;
  if (int rc = PAPI_create_eventset(&es); rc != PAPI_OK)
    return unavailable("PAPI_read", std::string("PAPI_create_eventset: ") + PAPI_strerror(rc));
  std::string tried;
  const std::string event = add_papi_event(es, tried);
  TimerCost t;
  if (event.empty()) {
    t = unavailable("PAPI_read", "no PAPI event could be added (" + tried + ")");
  } else if (int rc = PAPI_start(es); rc != PAPI_OK) {
    t = unavailable("PAPI_read", std::string("PAPI_start: ") + PAPI_strerror(rc));
  } else {
    long long v[1] = {0};
    const double ticks = ticks_per_call(200, [&] { PAPI_read(es, v); });
    PAPI_stop(es, v);
    t = {"PAPI_read", true, ticks,
         "PAPI low-level API, one event: " + event + (tried.empty() ? "" : " (" + tried + ")"), event};
  }
  PAPI_cleanup_eventset(es);
  PAPI_destroy_eventset(&es);
  return t;
}
#else
TimerCost papi_read_cost() {
  return unavailable("PAPI_read", "built without PAPI (libpapi-dev not found at configure time)");
}
#endif

}  // namespace

std::vector<TimerCost> measure_timers() {
  std::vector<TimerCost> t;
  volatile std::uint64_t sink = 0;
  const int calls = 2000;
#if CACHETICK_HAVE_TSC
  t.push_back({"rdtsc", true, ticks_per_call(calls, [&] { sink = sink + __rdtsc(); }),
               "unfenced: may execute out of order with the code it times", ""});
  const EndRead& end = tsc_info().end_read;
  if (end.rdtscp)
    t.push_back({"rdtscp", true, ticks_per_call(calls, [&] {
                   unsigned aux;
                   sink = sink + __rdtscp(&aux);
                 }),
                 "waits for earlier instructions; later ones may still start early", ""});
  else
    t.push_back(unavailable("rdtscp", "not used here: " + end.why));
  t.push_back({"lfence+rdtsc+lfence", true, ticks_per_call(calls, [&] {
                 _mm_lfence();
                 sink = sink + __rdtsc();
                 _mm_lfence();
               }),
               "fully fenced (what the harness's tsc_begin() does, and tsc_end() where rdtscp is not used)", ""});
#endif
  t.push_back({"steady_clock::now", true, ticks_per_call(calls, [&] {
                 sink = sink + std::chrono::steady_clock::now().time_since_epoch().count();
               }),
               "clock_gettime(CLOCK_MONOTONIC) through the vDSO", ""});
  t.push_back(papi_read_cost());
  return t;
}

}  // namespace cachetick

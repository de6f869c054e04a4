// Family "pool": cost of one allocation + its free, fixed-size pools against
// the allocators people switch to. See kernels/alloc/README.md.
//
// One op = one allocation and its matching free. Every allocation writes one
// 8-byte word into the object (as a constructor would) and its pointer goes
// through benchmark::DoNotOptimize or into an array the loop reads back, so
// no allocate/free pair can be folded away.
//
// mimalloc, jemalloc and tcmalloc replace malloc process-wide when linked, so
// they are reached by their own entry points instead: mimalloc (mi_malloc /
// mi_free) and tcmalloc (tc_malloc / tc_free) from their Debian .so loaded
// with dlopen(RTLD_LOCAL), which does not interpose the process's malloc;
// jemalloc (whose .so cannot be dlopen'ed: its initial-exec TLS does not fit
// the static TLS surplus) from Debian's libjemalloc_pic.a with its symbols
// renamed to cachetick_je_* at build time (CMakeLists.txt). Every malloc-like
// peer, glibc included, is called through a function pointer: the cost of the
// PLT call a program pays for a shared-library malloc.
#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <boost/pool/object_pool.hpp>
#include <boost/pool/pool.hpp>

#include "harness/registry.h"
#include "kernels/alloc/fixed_pool.h"
#include "kernels/alloc/list_pool.h"
#include "kernels/alloc/naive_pool.h"

#if CACHETICK_HAVE_PREFIXED_JEMALLOC
extern "C" void* cachetick_je_malloc(std::size_t);
extern "C" void cachetick_je_free(void*);
extern "C" int cachetick_je_mallctl(const char*, void*, std::size_t*, void*, std::size_t);
#endif

namespace {

using namespace cachetick;
namespace ca = cachetick::alloc;

constexpr std::size_t kAlign = alignof(std::max_align_t);  // what malloc promises

// ---------------------------------------------------------------- peers ---

// A process-wide allocator keeps what earlier rows freed (cached pages,
// thread caches, retained segments), so without a reset a row's figure
// depends on what ran before it in the process (issue 17: mimalloc
// random_1m/64B 24 ns in a full suite, 357 alone). Every row of a malloc
// peer starts by returning the allocator's free memory to the system:
// the state of a fresh process, whatever ran before.
struct MallocFns {
  void* (*alloc)(std::size_t) = nullptr;
  void (*release)(void*) = nullptr;
  void (*settle)() = nullptr;  // return cached free memory (may be null)
  std::string error;  // why the allocator is unavailable
};

template <class Fn>
Fn sym(void* h, const char* name) {
  return reinterpret_cast<Fn>(dlsym(h, name));
}

MallocFns load(const char* lib, const char* alloc_sym, const char* free_sym) {
  MallocFns f;
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    f.error = std::string("dlopen ") + lib + ": " + dlerror();
    return f;
  }
  f.alloc = sym<void* (*)(std::size_t)>(h, alloc_sym);
  f.release = sym<void (*)(void*)>(h, free_sym);
  if (f.alloc == nullptr || f.release == nullptr) f.error = std::string(lib) + ": symbols missing";
  return f;  // never dlclose: blocks may outlive a benchmark
}

void glibc_settle() { malloc_trim(0); }

const MallocFns& glibc_fns() {
  static const MallocFns f = [] {
    MallocFns m;
    m.alloc = &std::malloc;
    m.release = &std::free;
    m.settle = &glibc_settle;
    return m;
  }();
  return f;
}
const MallocFns& mimalloc_fns() {
  static const MallocFns f = [] {
    MallocFns m = load("libmimalloc.so.2", "mi_malloc", "mi_free");
    static void (*collect)(bool) = nullptr;
    if (void* h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD))
      collect = sym<void (*)(bool)>(h, "mi_collect");
    if (collect != nullptr) m.settle = [] { collect(true); };
    return m;
  }();
  return f;
}
const MallocFns& tcmalloc_fns() {
  static const MallocFns f = [] {
    MallocFns m = load("libtcmalloc_minimal.so.4", "tc_malloc", "tc_free");
    if (void* h = dlopen("libtcmalloc_minimal.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD))
      m.settle = sym<void (*)()>(h, "MallocExtension_ReleaseFreeMemory");
    return m;
  }();
  return f;
}
#if CACHETICK_HAVE_PREFIXED_JEMALLOC
void jemalloc_settle() {
  // Flush this thread's cache, then purge every arena (4096 =
  // MALLCTL_ARENAS_ALL).
  cachetick_je_mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  cachetick_je_mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}
#endif
const MallocFns& jemalloc_fns() {
  static const MallocFns f = [] {
    MallocFns m;
#if CACHETICK_HAVE_PREFIXED_JEMALLOC
    m.alloc = &cachetick_je_malloc;
    m.release = &cachetick_je_free;
    m.settle = &jemalloc_settle;
#else
    m.error = "built without the prefixed jemalloc archive (libjemalloc_pic.a not found)";
#endif
    return m;
  }();
  return f;
}

// Adapters: alloc(n) / release(p, n). n is the object size; fixed-size pools
// ignore it (they were built for it), sized APIs use it.

class MallocAdapter {
 public:
  MallocAdapter(const MallocFns& f, std::size_t) : f_(f) {
    if (f_.settle != nullptr) f_.settle();  // a defined start: see MallocFns
  }
  void* alloc(std::size_t n) {
    void* p = f_.alloc(n);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void release(void* p, std::size_t) { f_.release(p); }

 private:
  MallocFns f_;  // a copy: the pointers live in the adapter, one load each
};

struct NewDelete {
  explicit NewDelete(std::size_t) {}
  void* alloc(std::size_t n) { return ::operator new(n); }
  void release(void* p, std::size_t n) { ::operator delete(p, n); }  // sized, as `delete` calls it
};

struct PmrPool {
  explicit PmrPool(std::size_t) {}
  void* alloc(std::size_t n) { return r.allocate(n, kAlign); }
  void release(void* p, std::size_t n) { r.deallocate(p, n, kAlign); }
  std::pmr::unsynchronized_pool_resource r;
};

template <std::size_t Size>
struct BoostObjectPool {
  struct alignas(kAlign) Obj {
    unsigned char b[Size];
  };
  explicit BoostObjectPool(std::size_t) {}
  void* alloc(std::size_t) {
    void* p = pool.malloc();
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void release(void* p, std::size_t) { pool.free(static_cast<Obj*>(p)); }
  boost::object_pool<Obj> pool;
};

struct BoostPool {
  explicit BoostPool(std::size_t n) : pool(n) {}
  void* alloc(std::size_t) {
    void* p = pool.malloc();
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void release(void* p, std::size_t) { pool.free(p); }
  boost::pool<> pool;
};

// cachetick's pools, unchecked whatever the build type, so numbers do not
// depend on NDEBUG.
struct CtPool {
  explicit CtPool(std::size_t n) : pool(n, kAlign) {}
  void* alloc(std::size_t) { return pool.allocate(); }
  void release(void* p, std::size_t) { pool.deallocate(p); }
  ca::BasicFixedPool<false> pool;
};

// The previous design (batched intrusive list) and the textbook list.
template <std::size_t Batch>
struct CtListPool {
  static ca::ListPoolOptions opts() {
    ca::ListPoolOptions o;
    o.batch = Batch;
    return o;
  }
  explicit CtListPool(std::size_t n) : pool(n, kAlign, opts()) {}
  void* alloc(std::size_t) { return pool.allocate(); }
  void release(void* p, std::size_t) { pool.deallocate(p); }
  ca::BasicListPool<false> pool;
};

struct Naive {
  explicit Naive(std::size_t n) : pool(n, 0, kAlign) {}
  void* alloc(std::size_t) { return pool.allocate(); }
  void release(void* p, std::size_t) { pool.deallocate(p); }
  ca::NaivePool pool;
};

// A fixed-size pool per size class (16, 32, 64, 128, 256 B): how a program
// uses fixed-size pools for mixed sizes. The class is computed per call, as
// malloc computes its own.
constexpr std::array<std::size_t, 5> kClasses{16, 32, 64, 128, 256};
inline std::size_t class_of(std::size_t n) {
  return n <= 16 ? 0 : static_cast<std::size_t>(std::bit_width(n - 1)) - 4;
}
template <class P>
struct SizeClassed {
  explicit SizeClassed(std::size_t)
      : pools{P(kClasses[0]), P(kClasses[1]), P(kClasses[2]), P(kClasses[3]), P(kClasses[4])} {}
  void* alloc(std::size_t n) { return pools[class_of(n)].alloc(n); }
  void release(void* p, std::size_t n) { pools[class_of(n)].release(p, n); }
  std::array<P, 5> pools;
};
// boost::object_pool is typed: one pool type per size class, picked by a
// switch on the size (well predicted: a couple of instructions per call).
struct BoostObjectClassed {
  explicit BoostObjectClassed(std::size_t) {}
  void* alloc(std::size_t n) {
    switch (class_of(n)) {
      case 0: return p16.alloc(n);
      case 1: return p32.alloc(n);
      case 2: return p64.alloc(n);
      case 3: return p128.alloc(n);
      default: return p256.alloc(n);
    }
  }
  void release(void* p, std::size_t n) {
    switch (class_of(n)) {
      case 0: return p16.release(p, n);
      case 1: return p32.release(p, n);
      case 2: return p64.release(p, n);
      case 3: return p128.release(p, n);
      default: return p256.release(p, n);
    }
  }
  BoostObjectPool<16> p16{16};
  BoostObjectPool<32> p32{32};
  BoostObjectPool<64> p64{64};
  BoostObjectPool<128> p128{128};
  BoostObjectPool<256> p256{256};
};

// ------------------------------------------------------------ workloads ---

inline void touch(void* p, std::uint64_t v) { std::memcpy(p, &v, sizeof v); }

constexpr std::size_t kHotPairs = 1024;
constexpr std::size_t kLifoBatch = 1024;
constexpr std::size_t kChurnLive = 4096;
constexpr std::size_t kChurnOps = 4096;

std::vector<std::uint32_t> shuffled(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> v(n);
  std::iota(v.begin(), v.end(), 0u);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  return v;
}

// The same pointer comes back each time for most allocators: this is the
// floor of each allocator's fast path.
template <class A>
void hot(benchmark::State& st, Probe& pr, A& a, std::size_t size) {
  a.release(a.alloc(size), size);  // first allocation (chunk, page) untimed
  pr.run(st, [&] {
    for (std::size_t k = 0; k < kHotPairs; ++k) {
      void* q = a.alloc(size);
      touch(q, k);
      benchmark::DoNotOptimize(q);
      a.release(q, size);
    }
  });
}

template <class A>
void lifo(benchmark::State& st, Probe& pr, A& a, std::size_t size) {
  std::vector<void*> ptrs(kLifoBatch);
  auto round = [&] {
    for (std::size_t i = 0; i < kLifoBatch; ++i) {
      ptrs[i] = a.alloc(size);
      touch(ptrs[i], i);
    }
    for (std::size_t i = kLifoBatch; i-- > 0;) a.release(ptrs[i], size);
    benchmark::ClobberMemory();
  };
  round();  // warm-up: chunks obtained and pages faulted before timing
  pr.run(st, round);
}

// N objects live at once, freed in a random order fixed per run. After the
// first round the allocator's free structures are scrambled, so allocation
// order is random in memory: what a long-running program sees.
template <class A>
void random_free(benchmark::State& st, Probe& pr, A& a, std::size_t size, std::size_t n) {
  std::vector<void*> ptrs(n);
  const std::vector<std::uint32_t> order = shuffled(n, 12345 + size);
  auto round = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      ptrs[i] = a.alloc(size);
      touch(ptrs[i], i);
    }
    for (std::size_t i = 0; i < n; ++i) a.release(ptrs[order[i]], size);
    benchmark::ClobberMemory();
  };
  round();
  pr.run(st, round);
}

// 4096 live objects of 16..256 B (uniform byte sizes); each op frees a random
// live object and allocates a new one of a random size in its slot.
template <class A>
void churn(benchmark::State& st, Probe& pr, A& a) {
  std::mt19937_64 rng(777);
  std::uniform_int_distribution<std::uint32_t> size_d(16, 256);
  std::vector<void*> live(kChurnLive);
  std::vector<std::uint32_t> live_size(kChurnLive);
  std::vector<std::uint32_t> slot(kChurnOps), next_size(kChurnOps);
  for (auto& s : slot) s = static_cast<std::uint32_t>(rng() % kChurnLive);
  for (auto& s : next_size) s = size_d(rng);
  for (std::size_t i = 0; i < kChurnLive; ++i) {
    live_size[i] = size_d(rng);
    live[i] = a.alloc(live_size[i]);
    touch(live[i], i);
  }
  auto round = [&] {
    for (std::size_t j = 0; j < kChurnOps; ++j) {
      std::uint32_t s = slot[j];
      a.release(live[s], live_size[s]);
      live[s] = a.alloc(next_size[j]);
      live_size[s] = next_size[j];
      touch(live[s], j);
    }
    benchmark::ClobberMemory();
  };
  round();
  pr.run(st, round);
  for (std::size_t i = 0; i < kChurnLive; ++i) a.release(live[i], live_size[i]);
}

// --------------------------------------------------------- registration ---

// Why a peer cannot run here ("" = it can). Its rows are registered anyway
// and skipped with that message, so a missing allocator is visible.
using WhyNot = std::string (*)();
std::string available() { return {}; }

template <class Body>
void run_or_skip(benchmark::State& st, Probe& pr, WhyNot why, Body body) {
  if (std::string w = why(); !w.empty()) {
    st.SkipWithError(w.c_str());
    pr.run(st, [] {});  // the loop does not execute after SkipWithError
    return;
  }
  // Every row, pools included (their chunks come from glibc), starts from a
  // trimmed glibc heap; a malloc peer's adapter settles its own allocator.
  glibc_settle();
  body();
}

Spec pool_spec(const std::string& variant, Role role, const std::string& note,
               const char* workload, std::size_t size, const std::string& label,
               double ops, std::uint64_t ws) {
  Spec s;
  s.family = "pool";
  s.variant = variant;
  s.role = role;
  s.workload = workload;
  s.size = size;
  s.size_label = label;
  s.working_set_bytes = ws;
  s.op = "allocation";
  s.ops_per_iter = ops;
  s.note = note;
  return s;
}

// hot, lifo, random_4k, random_1m for 16, 64, 256 B objects.
template <class Make>
void register_fixed(const std::string& variant, Role role, const std::string& note, Make make,
                    WhyNot why = &available, bool skip_random_1m = false) {
  for (std::size_t size : {16u, 64u, 256u}) {
    const std::string label = std::to_string(size) + "B";
    add(pool_spec(variant, role, note, "hot", size, label, kHotPairs, size),
        [=](benchmark::State& st, Probe& pr) {
          run_or_skip(st, pr, why, [&] {
            auto a = make(size);
            hot(st, pr, *a, size);
          });
        });
    add(pool_spec(variant, role, note, "lifo", size, label, kLifoBatch, kLifoBatch * size),
        [=](benchmark::State& st, Probe& pr) {
          run_or_skip(st, pr, why, [&] {
            auto a = make(size);
            lifo(st, pr, *a, size);
          });
        });
    for (std::size_t n : {std::size_t{4096}, std::size_t{1} << 20}) {
      if (n > 4096 && skip_random_1m) continue;
      const char* w = n == 4096 ? "random_4k" : "random_1m";
      add(pool_spec(variant, role, note, w, size, label, double(n), n * (size + sizeof(void*))),
          [=](benchmark::State& st, Probe& pr) {
            run_or_skip(st, pr, why, [&] {
              auto a = make(size);
              random_free(st, pr, *a, size, n);
            });
          });
    }
  }
}

template <class Make>
void register_churn(const std::string& variant, Role role, const std::string& note, Make make,
                    WhyNot why = &available) {
  add(pool_spec(variant, role, note, "churn", 256, "16-256B", kChurnOps, kChurnLive * 136),
      [=](benchmark::State& st, Probe& pr) {
        run_or_skip(st, pr, why, [&] {
          auto a = make();
          churn(st, pr, *a);
        });
      });
}

template <const MallocFns& (*Fns)()>
void register_malloc(const std::string& variant, const std::string& note) {
  WhyNot why = [] { return Fns().error; };
  register_fixed(
      variant, Role::peer, note, [](std::size_t n) { return std::make_unique<MallocAdapter>(Fns(), n); },
      why);
  register_churn(
      variant, Role::peer, note + ", mixed sizes",
      [] { return std::make_unique<MallocAdapter>(Fns(), 0); }, why);
}

}  // namespace

CACHETICK_FAMILY(pool, "Fixed-size pools vs malloc: ns per allocation+free, 16-256 B, hot/LIFO/random/churn") {
  register_fixed("ct_pool", Role::optimised,
                 "cachetick pool: per-page free bitmaps, address-ordered refills, 4096-block LIFO cache",
                 [](std::size_t n) { return std::make_unique<CtPool>(n); });
  // The previous designs stay as reference rows: one optimised variant per
  // group (the reference of paired comparisons).
  register_fixed("ct_pool_batched", Role::reference,
                 "cachetick's previous pool: intrusive free list batched in the free blocks (<=63 per node)",
                 [](std::size_t n) { return std::make_unique<CtListPool<63>>(n); });
  register_fixed("ct_pool_list", Role::reference,
                 "cachetick list pool, batch 0: the textbook one-pointer intrusive free list",
                 [](std::size_t n) { return std::make_unique<CtListPool<0>>(n); });
  register_fixed("naive_pool", Role::naive, "cookbook pool (fixed): stack of separately malloc'ed blocks",
                 [](std::size_t n) { return std::make_unique<Naive>(n); });
  register_fixed("new_delete", Role::peer, "::operator new / sized ::operator delete (libstdc++ -> glibc)",
                 [](std::size_t n) { return std::make_unique<NewDelete>(n); });
  register_fixed("pmr_unsync_pool", Role::peer, "std::pmr::unsynchronized_pool_resource (libstdc++ 12)",
                 [](std::size_t n) { return std::make_unique<PmrPool>(n); });
  register_fixed("boost_pool", Role::peer, "boost::pool<> malloc/free (unordered free list, O(1))",
                 [](std::size_t n) { return std::make_unique<BoostPool>(n); });
  // object_pool frees in address order (ordered_free walks its free list):
  // O(free blocks) per free, hours for 1M random frees: that row is not run.
  register_fixed("boost_object_pool", Role::peer,
                 "boost::object_pool malloc/free (ordered_free: O(free list) per free)",
                 [](std::size_t) { return std::make_unique<BoostObjectClassed>(0); },
                 &available, /*skip_random_1m=*/true);
  register_malloc<glibc_fns>("glibc_malloc", "glibc 2.36 malloc/free (tcache)");
  register_malloc<mimalloc_fns>("mimalloc", "mimalloc 2.0 mi_malloc/mi_free (.so via dlopen RTLD_LOCAL)");
  register_malloc<jemalloc_fns>("jemalloc", "jemalloc 5.3 malloc/free (static archive, symbols prefixed)");
  register_malloc<tcmalloc_fns>("tcmalloc", "gperftools tc_malloc/tc_free (tcmalloc_minimal .so via dlopen)");

  register_churn("ct_pool", Role::optimised, "one ct_pool per size class 16..256",
                 [] { return std::make_unique<SizeClassed<CtPool>>(0); });
  register_churn("ct_pool_batched", Role::reference, "one batched-list pool per size class",
                 [] { return std::make_unique<SizeClassed<CtListPool<63>>>(0); });
  register_churn("ct_pool_list", Role::reference, "one textbook-list pool per size class",
                 [] { return std::make_unique<SizeClassed<CtListPool<0>>>(0); });
  register_churn("naive_pool", Role::naive, "one naive pool per size class",
                 [] { return std::make_unique<SizeClassed<Naive>>(0); });
  register_churn("new_delete", Role::peer, "new/delete, mixed sizes",
                 [] { return std::make_unique<NewDelete>(0); });
  register_churn("pmr_unsync_pool", Role::peer, "unsynchronized_pool_resource, mixed sizes",
                 [] { return std::make_unique<PmrPool>(0); });
  register_churn("boost_pool", Role::peer, "one boost::pool per size class",
                 [] { return std::make_unique<SizeClassed<BoostPool>>(0); });
  register_churn("boost_object_pool", Role::peer, "one boost::object_pool per size class",
                 [] { return std::make_unique<BoostObjectClassed>(0); });
}

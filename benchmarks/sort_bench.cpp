// The sort family: cachetick's chunked merge sort against the sorts people
// use, on five input shapes and four sizes (4K .. 16M elements).
//
// Every iteration restores the unsorted input with one memcpy from a
// pristine copy, inside the timed loop (PauseTiming/ResumeTiming would cost
// hundreds of ns each and perturb the caches anyway). So every row INCLUDES
// one copy of the array; the `copy` row (role reference) measures that copy
// alone, to be subtracted by the reader when comparing absolute costs.
// ns per element = real time / n.
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/sort/flat_stable_sort/flat_stable_sort.hpp>
#include <boost/sort/spinsort/spinsort.hpp>
#include <hwy/contrib/sort/vqsort.h>
#include <pdqsort.h>

#include "harness/registry.h"
#include "harness/tuning.h"
#include "kernels/sort/chunked_merge_sort.h"
#include "kernels/sort/key_chunks.h"
#include "kernels/sort/naive_merge_sort.h"
#include "kernels/sort/radix_sort.h"

namespace {

using namespace cachetick;
namespace cs = cachetick::sort;

// vqsort, loaded on first use. libhwy's static initialiser measures its
// timer in a loop that runs until enough wall time has passed, allocating as
// it goes; linked in, it ran before main in every cachetick process and left
// the heap in a timing-dependent shape, which under the sim backend moved
// other benchmarks' heap objects across cache lines (a simulated miss more
// or less between identical runs). dlopen'ed, it runs only in a process that
// sorts with vqsort, at that benchmark's set-up. hwy::Sorter is constructed
// and called through its exported symbols (Itanium ABI: `this` first); it
// lives for the process, so its destructor (inline, calling Delete) is never
// instantiated.
template <class K>
class VqSort {
 public:
  static const VqSort& get() {
    static const VqSort v;  // throws (and retries next time) if loading fails
    return v;
  }
  void operator()(K* p, std::size_t n) const {
    sort_(reinterpret_cast<const hwy::Sorter*>(storage_), p, n, hwy::SortAscending());
  }

 private:
  using Ctor = void (*)(hwy::Sorter*);
  using Sort = void (*)(const hwy::Sorter*, K*, std::size_t, hwy::SortAscending);
  static_assert(sizeof(K) == 4 || sizeof(K) == 8);
  static constexpr const char* kLib = "libhwy_contrib.so.1";
  static constexpr const char* kSort = sizeof(K) == 4 ? "_ZNK3hwy6SorterclEPjmNS_13SortAscendingE"
                                                      : "_ZNK3hwy6SorterclEPmmNS_13SortAscendingE";

  VqSort() {
    void* h = dlopen(kLib, RTLD_NOW | RTLD_LOCAL);
    if (!h) throw std::runtime_error(std::string("hwy_vqsort: dlopen ") + kLib + ": " + dlerror() +
                                     " (Debian: apt-get install libhwy-dev)");
    auto ctor = reinterpret_cast<Ctor>(dlsym(h, "_ZN3hwy6SorterC1Ev"));
    sort_ = reinterpret_cast<Sort>(dlsym(h, kSort));
    if (!ctor || !sort_)
      throw std::runtime_error(std::string("hwy_vqsort: ") + kLib + " lacks hwy::Sorter (" + kSort +
                               "): not Highway 1.0.x?");
    ctor(reinterpret_cast<hwy::Sorter*>(storage_));
  }

  alignas(hwy::Sorter) unsigned char storage_[sizeof(hwy::Sorter)];
  Sort sort_ = nullptr;
};

// Inputs are generated once per benchmark (not timed), seeded by shape and
// size so every variant sorts exactly the same array.
template <class K>
std::vector<K> make_input(const std::string& shape, std::size_t n) {
  std::mt19937_64 rng(n * 1000003u + std::hash<std::string>{}(shape));
  std::vector<K> v(n);
  for (auto& x : v) x = static_cast<K>(rng());
  if (shape == "sorted") {
    std::sort(v.begin(), v.end());
  } else if (shape == "reversed") {
    std::sort(v.begin(), v.end(), std::greater<K>());
  } else if (shape == "few_unique") {
    // 16 distinct values spread over the whole key range: every radix digit
    // varies (no pass is skipped) and merges see long runs of equal keys.
    for (auto& x : v) x = static_cast<K>((rng() % 16) * (K(~K(0)) / 16));
  } else if (shape == "noisy_sorted") {
    // Sorted, then 1% of positions swapped with random others.
    std::sort(v.begin(), v.end());
    for (std::size_t k = 0; k < n / 100; ++k) std::swap(v[rng() % n], v[rng() % n]);
  }
  return v;
}

// The rows of one (shape, size) run one after another, so the last input
// is kept: generating a sorted 16M input costs a 16M std::sort, which would
// otherwise be repeated for each of the eleven variants.
template <class K>
const std::vector<K>& cached_input(const std::string& shape, std::size_t n) {
  static std::string last_shape;
  static std::vector<K> last;
  if (shape != last_shape || n != last.size()) {
    last = make_input<K>(shape, n);
    last_shape = shape;
  }
  return last;
}

// The kernels' chunks come from the harness's tuning hierarchy (harness/
// tuning.h), not from the kernel's own sysfs probe: the host's L2 in a timed
// run, a fixed one under the sim backend. Read when a benchmark runs, never
// at registration (a static initialiser reading the host would shape the
// sim child's heap).
template <class K>
std::size_t chunk_elems(std::size_t l2_fraction) {
  return std::max<std::size_t>(1, tuning().l2 / l2_fraction / sizeof(K));
}

// One sort under test: `prepare` runs once, untimed (allocates any scratch a
// caller of that library would keep); `sort` is what the timed loop calls.
// `keeps_buffers`: the sort keeps memory between calls (a sorter's scratch),
// which the row's set-up then warms with one untimed sort (see register_rows).
template <class K>
struct Variant {
  std::string name;
  Role role;
  std::string note;
  std::function<std::function<void(K*, std::size_t)>(std::size_t n)> prepare;
  bool keeps_buffers = false;
};

template <class K>
std::vector<Variant<K>> variants() {
  using Fn = std::function<void(K*, std::size_t)>;
  return {
      {"ct_chunked", Role::optimised,
       "cachetick: chunks by key (one MSD radix partition above 16 MiB, u64 keys: 1 MiB), LSD "
       "radix per chunk, scratch kept",
       [](std::size_t) -> Fn {
         auto sorter = std::make_shared<cs::KeyChunkedSorter<K>>();
         return [sorter](K* p, std::size_t m) { sorter->sort(std::span<K>(p, m)); };
       },
       true},
      {"ct_merge", Role::reference,
       "cachetick's previous design: radix-sorted L2/8 chunks by position, branch-free merges "
       "(AVX2 for u32), scratch kept",
       [](std::size_t) -> Fn {
         auto sorter = std::make_shared<cs::ChunkedMergeSorter<K>>(chunk_elems<K>(8));
         return [sorter](K* p, std::size_t m) { sorter->sort(std::span<K>(p, m)); };
       },
       true},
      {"naive", Role::naive,
       "seed cookbook's recursive merge sort (buffer bug fixed), memcpy back per merge",
       [](std::size_t n) -> Fn {
         auto temp = std::make_shared<std::vector<K>>(n);
         return [temp](K* p, std::size_t m) { cs::naive_merge_sort(p, m, temp->data()); };
       },
       true},
      {"naive_chunked", Role::naive,
       "std::stable_sort per L2/4 chunk, then std::merge passes (allocates per call)",
       [](std::size_t) -> Fn {
         return [chunk = chunk_elems<K>(4)](K* p, std::size_t m) {
           cs::naive_chunked_sort(std::span<K>(p, m), cs::Identity{}, chunk);
         };
       }},
      {"std_sort", Role::peer, "std::sort (introsort; not stable)",
       [](std::size_t) -> Fn { return [](K* p, std::size_t m) { std::sort(p, p + m); }; }},
      {"std_stable_sort", Role::peer, "std::stable_sort (allocates per call)",
       [](std::size_t) -> Fn {
         return [](K* p, std::size_t m) { std::stable_sort(p, p + m); };
       }},
      {"pdqsort_branchless", Role::peer, "pdqsort-dev pdqsort_branchless (not stable)",
       [](std::size_t) -> Fn {
         return [](K* p, std::size_t m) { pdqsort_branchless(p, p + m); };
       }},
      {"boost_spinsort", Role::peer, "Boost.Sort 1.74 spinsort (stable, allocates n/2)",
       [](std::size_t) -> Fn {
         return [](K* p, std::size_t m) { boost::sort::spinsort(p, p + m); };
       }},
      {"boost_flat_stable_sort", Role::peer,
       "Boost.Sort 1.74 flat_stable_sort (stable, small extra memory)",
       [](std::size_t) -> Fn {
         return [](K* p, std::size_t m) { boost::sort::flat_stable_sort(p, p + m); };
       }},
      {"hwy_vqsort", Role::peer,
       "Highway 1.0.3 vqsort (hwy::Sorter, runtime SIMD dispatch; not stable)",
       [](std::size_t) -> Fn {
         const VqSort<K>& vq = VqSort<K>::get();
         return [&vq](K* p, std::size_t m) { vq(p, m); };
       }},
      {"radix", Role::reference,
       "floor: whole-array LSD radix, 8-bit digits, scratch kept (stable)",
       [](std::size_t n) -> Fn {
         auto scratch = std::make_shared<std::vector<K>>(n);
         return [scratch](K* p, std::size_t m) { cs::radix_sort(p, m, scratch->data()); };
       },
       true},
      {"copy", Role::reference,
       "the input-restoring memcpy alone: included in every other row of this size",
       [](std::size_t) -> Fn { return [](K*, std::size_t) {}; }},
  };
}

// One row: the variant sorts `shape`'s input of n keys, restored from a
// pristine copy by one memcpy inside every timed iteration.
template <class K>
void add_row(const std::string& shape, std::size_t n, const std::string& workload,
             const Variant<K>& v) {
  Spec s;
  s.family = "sort";
  s.variant = v.name;
  s.role = v.role;
  s.workload = workload;
  s.size = n;
  s.size_label = n >= (1u << 20) ? std::to_string(n >> 20) + "M" : std::to_string(n >> 10) + "K";
  // The array and its pristine copy; sorts with a scratch buffer touch one
  // more array (not counted, so that one size has one working set).
  s.working_set_bytes = 2 * n * sizeof(K);
  s.op = "element";
  s.ops_per_iter = static_cast<double>(n);
  s.bytes_per_op = 0;
  s.note = v.note;
  auto prepare = v.prepare;
  const bool sorts = v.name != "copy", warm = v.keeps_buffers;
  add(s, [shape, n, prepare, sorts, warm](benchmark::State& st, Probe& p) {
    const std::vector<K>& pristine = cached_input<K>(shape, n);
    std::vector<K> work(pristine);  // touched once: no page faults when timed
    std::function<void(K*, std::size_t)> sort_fn;
    try {
      sort_fn = prepare(n);
    } catch (const std::exception& e) {  // a peer that cannot be loaded
      st.SkipWithError(e.what());
      return;
    }
    // A sort that keeps buffers between calls sorts this very input once,
    // untimed: its scratch is then grown, faulted in and warm, and the last
    // memory the set-up touched is the row's own, as for every other row
    // (whose set-up ends with the copy above). A 1M sort is one iteration
    // per batch, so that state is what the timed sort starts from: when
    // ct_chunked's scratch was warmed on a separate array instead, it read
    // 8-14% slower than ct_merge_4096KiB, the same radix code at 1M (one
    // chunk) behind a set-up that sorted the input itself.
    if (warm) sort_fn(work.data(), n);
    p.run(st, [&] {
      std::memcpy(work.data(), pristine.data(), n * sizeof(K));
      benchmark::DoNotOptimize(work.data());
      sort_fn(work.data(), n);
      benchmark::DoNotOptimize(work.data());
      benchmark::ClobberMemory();
    });
    // A sort that leaves the array unsorted must not produce a number.
    if (sorts && !std::is_sorted(work.begin(), work.end()))
      st.SkipWithError("output not sorted");
  });
}

template <class K>
void register_rows(const std::string& shape, std::size_t n, const std::string& workload) {
  for (const Variant<K>& v : variants<K>()) add_row(shape, n, workload, v);
}

// Where the cache boundaries fall: ct_merge on random uint32_t with the
// chunk forced from L1-sized to beyond L2. Larger chunks mean fewer merge
// levels but radix passes that miss the cache the chunk was meant to fit.
void register_chunk_sweep(std::size_t n) {
  using Fn = std::function<void(std::uint32_t*, std::size_t)>;
  for (std::size_t kib : {16u, 64u, 256u, 1024u, 4096u}) {
    const std::size_t chunk = kib * 1024 / sizeof(std::uint32_t);
    add_row<std::uint32_t>(
        "random", n, "random",
        {"ct_merge_" + std::to_string(kib) + "KiB",
         Role::reference,  // one optimised row per group: ct_chunked
         "chunk sweep: ct_merge with " + std::to_string(kib) +
             " KiB chunks (default: L2/8, see `cachetick run`'s tuning line)",
         [chunk](std::size_t) -> Fn {
           auto sorter = std::make_shared<cs::ChunkedMergeSorter<std::uint32_t>>(chunk);
           return [sorter](std::uint32_t* p, std::size_t m) {
             sorter->sort(std::span<std::uint32_t>(p, m));
           };
         },
         true});
  }
}

// What the partition's streaming scatter buys (kernels/sort/stream_scatter.h):
// ct_chunked with every partition scattered plainly, through the cache.
void register_plain_partition(std::size_t n) {
  using Fn = std::function<void(std::uint32_t*, std::size_t)>;
  add_row<std::uint32_t>(
      "random", n, "random",
      {"ct_chunked_plain", Role::reference,
       "ct_chunked with its partition scattered through the cache (no line buffers, no "
       "non-temporal stores)",
       [](std::size_t) -> Fn {
         auto sorter = std::make_shared<cs::KeyChunkedSorter<std::uint32_t>>(
             0, cs::Identity{}, std::numeric_limits<std::size_t>::max());
         return [sorter](std::uint32_t* p, std::size_t m) {
           sorter->sort(std::span<std::uint32_t>(p, m));
         };
       },
       true});
}

}  // namespace

CACHETICK_FAMILY(sort, "Chunked merge sort against the sorts people use (ns/element)") {
  for (std::size_t n : {std::size_t{1} << 12, std::size_t{1} << 16, std::size_t{1} << 20,
                        std::size_t{1} << 24})
    for (const char* shape : {"random", "sorted", "reversed", "few_unique", "noisy_sorted"})
      register_rows<std::uint32_t>(shape, n, shape);
  // 64-bit keys: the radix needs twice the passes, the merge moves twice the
  // bytes. One shape, two sizes.
  for (std::size_t n : {std::size_t{1} << 16, std::size_t{1} << 20})
    register_rows<std::uint64_t>("random", n, "random_u64");
  for (std::size_t n : {std::size_t{1} << 20, std::size_t{1} << 24}) register_chunk_sweep(n);
  register_plain_partition(std::size_t{1} << 24);
}

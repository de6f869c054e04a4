// strings family: interned ids vs raw strings (std::string, string_view,
// boost::flyweight, an absl map interner) on a Zipf corpus.
//
// Workloads (each iteration = kStream ops over one Zipf-drawn stream):
//   intern        id of a string already interned (the lookup every record
//                 pays when it is parsed)
//   equal_count   count equal pairs: independent, vectorisable for ids
//   equal_chain   the same count as a dependent scalar chain (each result
//                 consumed before the next compare; cannot be vectorised)
//   equal_filter  branch-free selection out[n] = i; n += (a[i] == b[i]): a
//                 real use (WHERE field == ...) whose cursor n is a chain
//   hash          hash each value
//   map_key       look a value up in a map keyed by it
//   memory        build a 1M-record column (bytes/record as counters)
//   breakeven     intern cost / per-use saving (counters), see README.md
// Values: fixed-length corpora of 8, 24 and 64 B whose values share all but
// their last 4 bytes, so no raw compare can exit early.
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <boost/flyweight.hpp>
#include <boost/functional/hash.hpp>

#include "harness/registry.h"
#include "kernels/strings/corpus.h"
#include "kernels/strings/hash.h"
#include "kernels/strings/interner.h"
#include "kernels/strings/naive_interner.h"

using namespace cachetick;
namespace cs = cachetick::strings;

namespace {

constexpr std::size_t kStream = 1024;   // ops per iteration
constexpr std::size_t kDistinct = 300;  // "a few hundred distinct values"
constexpr std::size_t kRecords = 1u << 20;
constexpr std::size_t kLengths[] = {8, 24, 64};

// boost::flyweight as a user gets it: hashed factory, refcounted, locked.
using Flyweight = boost::flyweight<std::string>;

// The interner a user would write with absl: a map from views of owned
// strings to dense ids. std::deque never moves its elements, so the views
// (even into short-string buffers) stay valid.
class AbslInterner {
 public:
  cs::StringId intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const std::string& owned = store_.emplace_back(s);
    const auto id = static_cast<cs::StringId>(views_.size());
    views_.push_back(owned);
    ids_.emplace(owned, id);
    return id;
  }
  std::size_t size() const { return views_.size(); }

 private:
  absl::flat_hash_map<std::string_view, cs::StringId> ids_;
  std::deque<std::string> store_;
  std::vector<std::string_view> views_;
};

// The same with std::unordered_map<std::string, id> and C++20 heterogeneous
// lookup (no std::string built per lookup).
struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
class StdInterner {
 public:
  cs::StringId intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<cs::StringId>(ids_.size());
    ids_.emplace(std::string(s), id);
    return id;
  }

 private:
  std::unordered_map<std::string, cs::StringId, SvHash, std::equal_to<>> ids_;
};

// One Zipf stream over a fixed-length corpus, materialised the ways the
// variants consume it. Raw bytes live back to back in one buffer, as in a
// parsed request; std::string copies are separate objects (heap for > 15 B).
struct Stream {
  cs::Corpus corpus;
  std::vector<std::uint32_t> idx;
  std::string buffer;
  std::vector<std::string_view> views;
  std::vector<std::string> strings;
};

Stream make_stream(std::size_t len, std::uint64_t seed) {
  Stream s;
  s.corpus = cs::fixed_length_corpus(len, kDistinct);
  s.idx = s.corpus.stream(kStream, seed);
  for (auto i : s.idx) s.buffer += s.corpus.distinct[i];
  for (std::size_t k = 0; k < s.idx.size(); ++k) {
    s.views.emplace_back(s.buffer.data() + k * len, len);
    s.strings.emplace_back(s.views.back());
  }
  return s;
}

// Interners are warmed in first-seen order of a separate stream (realistic:
// frequent values arrive first), then given every distinct value, so each
// timed intern is a hit.
template <class I>
void warm(I& in, const Stream& s) {
  for (auto i : s.corpus.stream(4 * kStream, 99)) in.intern(s.corpus.distinct[i]);
  for (const auto& d : s.corpus.distinct) in.intern(d);
}

std::string size_label(std::size_t len) { return std::to_string(len) + "B"; }

Spec spec(const char* variant, Role role, const char* workload, std::size_t len,
          const char* op, std::uint64_t ws, const char* note) {
  Spec s;
  s.family = "strings";
  s.variant = variant;
  s.role = role;
  s.workload = workload;
  s.size = len;
  s.size_label = size_label(len);
  s.working_set_bytes = ws;
  s.op = op;
  s.ops_per_iter = kStream;
  s.note = note;
  return s;
}

// ------------------------------------------------------------------ intern

template <class MakeAndIntern>
void add_intern(const char* variant, Role role, std::size_t len, const char* note,
                MakeAndIntern factory) {
  add(spec(variant, role, "intern", len, "intern", kStream * (len + 16) + kDistinct * (len + 32), note),
      [len, factory](benchmark::State& st, Probe& p) {
        Stream s = make_stream(len, 1);
        factory(st, p, s);
      });
}

void register_intern() {
  for (std::size_t len : kLengths) {
    add_intern("ct_interner", Role::optimised, len,
               "cachetick interner: tagged open addressing + arena", [](auto& st, Probe& p, Stream& s) {
                 cs::Interner in;
                 warm(in, s);
                 p.run(st, [&] {
                   std::uint64_t acc = 0;
                   for (auto v : s.views) acc += in.intern(v);
                   benchmark::DoNotOptimize(acc);
                 });
               });
    add_intern("naive_interner", Role::naive, len, "seed cookbook linear-scan interner (fixed)",
               [](auto& st, Probe& p, Stream& s) {
                 cs::NaiveInterner in;
                 warm(in, s);
                 p.run(st, [&] {
                   std::uint64_t acc = 0;
                   for (auto v : s.views) acc += in.intern(v);
                   benchmark::DoNotOptimize(acc);
                 });
               });
    add_intern("absl_flat_hash_map", Role::peer, len, "absl::flat_hash_map<string_view,id> interner",
               [](auto& st, Probe& p, Stream& s) {
                 AbslInterner in;
                 warm(in, s);
                 p.run(st, [&] {
                   std::uint64_t acc = 0;
                   for (auto v : s.views) acc += in.intern(v);
                   benchmark::DoNotOptimize(acc);
                 });
               });
    add_intern("std_unordered_map", Role::peer, len,
               "std::unordered_map<string,id> interner, heterogeneous find",
               [](auto& st, Probe& p, Stream& s) {
                 StdInterner in;
                 warm(in, s);
                 p.run(st, [&] {
                   std::uint64_t acc = 0;
                   for (auto v : s.views) acc += in.intern(v);
                   benchmark::DoNotOptimize(acc);
                 });
               });
    add_intern("boost_flyweight", Role::peer, len,
               "boost::flyweight<string> (default: refcounted, locked) from string_view",
               [](auto& st, Probe& p, Stream& s) {
                 // Hold every value so the timed flyweights are hits, not
                 // first inserts followed by erasure at refcount 0.
                 std::vector<Flyweight> held(s.corpus.distinct.begin(), s.corpus.distinct.end());
                 p.run(st, [&] {
                   std::uint64_t acc = 0;
                   for (auto v : s.views) {
                     Flyweight f(v);
                     acc += reinterpret_cast<std::uintptr_t>(&f.get());
                   }
                   benchmark::DoNotOptimize(acc);
                 });
               });
  }
}

// ------------------------------------------------------------ equality

// Two independent Zipf streams: ~4% of pairs are equal; the rest differ only
// in their last 4 bytes (common prefix), so raw compares read every byte.
struct Pairs {
  Stream a, b;
  std::vector<cs::StringId> ida, idb;
  std::vector<Flyweight> fa, fb;
  std::vector<std::uint32_t> out = std::vector<std::uint32_t>(kStream + 1);
  cs::Interner in;
};

std::unique_ptr<Pairs> make_pairs(std::size_t len) {
  auto p = std::make_unique<Pairs>();
  p->a = make_stream(len, 1);
  p->b = make_stream(len, 2);
  warm(p->in, p->a);
  for (auto v : p->a.views) p->ida.push_back(p->in.intern(v));
  for (auto v : p->b.views) p->idb.push_back(p->in.intern(v));
  for (auto v : p->a.views) p->fa.emplace_back(v);
  for (auto v : p->b.views) p->fb.emplace_back(v);
  return p;
}

// The three loops every equality variant runs, on its own representation.
// Unrolled by 8 for all variants alike, so loop overhead does not hide the
// cost of a cheap compare.
template <class T>
std::size_t equal_count(const std::vector<T>& a, const std::vector<T>& b) {
  std::size_t c = 0;
#pragma GCC unroll 8
  for (std::size_t i = 0; i < kStream; ++i) c += (a[i] == b[i]);
  return c;
}
// The empty asm makes `c` a register the compiler must materialise after
// every compare: a loop-carried scalar chain that cannot be vectorised or
// reassociated - each result is consumed before the next, as when the
// compare feeds a branch or a running state. It emits no instruction.
template <class T>
std::size_t equal_chain(const std::vector<T>& a, const std::vector<T>& b) {
  std::size_t c = 0;
#pragma GCC unroll 8
  for (std::size_t i = 0; i < kStream; ++i) {
    c += (a[i] == b[i]);
    asm("" : "+r"(c));
  }
  return c;
}
template <class T>
std::size_t equal_filter(const std::vector<T>& a, const std::vector<T>& b, std::uint32_t* out) {
  std::size_t n = 0;
#pragma GCC unroll 8
  for (std::size_t i = 0; i < kStream; ++i) {
    out[n] = static_cast<std::uint32_t>(i);  // store address depends on n: scalar
    n += (a[i] == b[i]);
  }
  return n;
}

template <class Get>
void add_equal(const char* variant, Role role, std::size_t len, const char* note, Get get) {
  for (const char* wl : {"equal_count", "equal_chain", "equal_filter"}) {
    const std::string w = wl;
    add(spec(variant, role, wl, len, "compare", 2 * kStream * (len + 32), note),
        [len, get, w](benchmark::State& st, Probe& p) {
          auto pr = make_pairs(len);
          const auto& a = get(*pr, 0);
          const auto& b = get(*pr, 1);
          std::uint32_t* out = pr->out.data();
          if (w == "equal_filter") {
            p.run(st, [&] {
              std::size_t n = equal_filter(a, b, out);
              benchmark::DoNotOptimize(n);
              benchmark::DoNotOptimize(out);
            });
          } else if (w == "equal_chain") {
            p.run(st, [&] {
              std::size_t n = equal_chain(a, b);
              benchmark::DoNotOptimize(n);
            });
          } else {
            p.run(st, [&] {
              std::size_t n = equal_count(a, b);
              benchmark::DoNotOptimize(n);
            });
          }
        });
  }
}

void register_equal() {
  for (std::size_t len : kLengths) {
    add_equal("ct_interner", Role::optimised, len, "uint32 id ==",
              [](Pairs& p, int w) -> const auto& { return w ? p.idb : p.ida; });
    add_equal("std_string", Role::peer, len, "std::string ==",
              [](Pairs& p, int w) -> const auto& { return w ? p.b.strings : p.a.strings; });
    add_equal("std_string_view", Role::peer, len, "std::string_view ==",
              [](Pairs& p, int w) -> const auto& { return w ? p.b.views : p.a.views; });
    add_equal("boost_flyweight", Role::peer, len, "boost::flyweight == (address compare)",
              [](Pairs& p, int w) -> const auto& { return w ? p.fb : p.fa; });
  }
}

// ------------------------------------------------------------------ hash

template <class Body>
void add_hash(const char* variant, Role role, std::size_t len, const char* note, Body body) {
  add(spec(variant, role, "hash", len, "hash", kStream * (len + 32), note),
      [len, body](benchmark::State& st, Probe& p) {
        auto pr = make_pairs(len);
        p.run(st, [&] {
          std::uint64_t acc = body(*pr);
          benchmark::DoNotOptimize(acc);
        });
      });
}

void register_hash() {
  for (std::size_t len : kLengths) {
    add_hash("ct_interner", Role::optimised, len, "hash of a uint32 id (one multiply)", [](Pairs& p) {
      std::uint64_t acc = 0;
      for (auto id : p.ida) acc += (id * 0x9E3779B97F4A7C15ull) >> 32;  // Fibonacci hash
      return acc;
    });
    add_hash("ct_bytes_hash", Role::reference, len, "cachetick byte hash (what intern pays)",
             [](Pairs& p) {
               std::uint64_t acc = 0;
               for (auto v : p.a.views) acc += cs::hash_bytes(v.data(), v.size());
               return acc;
             });
    add_hash("std_string", Role::peer, len, "std::hash<std::string>", [](Pairs& p) {
      std::uint64_t acc = 0;
      for (const auto& s : p.a.strings) acc += std::hash<std::string>{}(s);
      return acc;
    });
    add_hash("std_string_view", Role::peer, len, "std::hash<std::string_view>", [](Pairs& p) {
      std::uint64_t acc = 0;
      for (auto v : p.a.views) acc += std::hash<std::string_view>{}(v);
      return acc;
    });
    add_hash("absl_hash", Role::peer, len, "absl::Hash<std::string_view>", [](Pairs& p) {
      std::uint64_t acc = 0;
      for (auto v : p.a.views) acc += absl::Hash<std::string_view>{}(v);
      return acc;
    });
    add_hash("boost_flyweight", Role::peer, len, "boost::hash<flyweight> (hashes the address)",
             [](Pairs& p) {
               std::uint64_t acc = 0;
               for (const auto& f : p.fa) acc += boost::hash<Flyweight>{}(f);
               return acc;
             });
  }
}

// --------------------------------------------------------------- map_key

template <class Setup>
void add_map(const char* variant, Role role, std::size_t len, const char* note, Setup setup) {
  add(spec(variant, role, "map_key", len, "lookup", kStream * (len + 32) + kDistinct * (len + 64), note),
      [len, setup](benchmark::State& st, Probe& p) {
        auto pr = make_pairs(len);
        setup(st, p, *pr);
      });
}

void register_map() {
  for (std::size_t len : kLengths) {
    add_map("ct_interner", Role::optimised, len, "ids are dense: the map is a vector indexed by id",
            [](auto& st, Probe& p, Pairs& pr) {
              std::vector<std::uint64_t> m(pr.in.size());
              for (std::size_t i = 0; i < m.size(); ++i) m[i] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                for (auto id : pr.ida) acc += m[id];
                benchmark::DoNotOptimize(acc);
              });
            });
    add_map("ct_interner_absl_map", Role::reference, len, "absl::flat_hash_map<id,value>",
            [](auto& st, Probe& p, Pairs& pr) {
              absl::flat_hash_map<cs::StringId, std::uint64_t> m;
              for (std::size_t i = 0; i < pr.in.size(); ++i) m[static_cast<cs::StringId>(i)] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                for (auto id : pr.ida) acc += m.find(id)->second;
                benchmark::DoNotOptimize(acc);
              });
            });
    add_map("std_string", Role::peer, len, "std::unordered_map<std::string,value>",
            [](auto& st, Probe& p, Pairs& pr) {
              std::unordered_map<std::string, std::uint64_t> m;
              for (std::size_t i = 0; i < pr.a.corpus.distinct.size(); ++i) m[pr.a.corpus.distinct[i]] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                for (const auto& s : pr.a.strings) acc += m.find(s)->second;
                benchmark::DoNotOptimize(acc);
              });
            });
    add_map("std_string_view", Role::peer, len, "std::unordered_map<std::string_view,value>",
            [](auto& st, Probe& p, Pairs& pr) {
              std::unordered_map<std::string_view, std::uint64_t> m;
              for (std::size_t i = 0; i < pr.a.corpus.distinct.size(); ++i) m[pr.a.corpus.distinct[i]] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                for (auto v : pr.a.views) acc += m.find(v)->second;
                benchmark::DoNotOptimize(acc);
              });
            });
    add_map("absl_flat_hash_map", Role::peer, len, "absl::flat_hash_map<std::string,value>",
            [](auto& st, Probe& p, Pairs& pr) {
              absl::flat_hash_map<std::string, std::uint64_t> m;
              for (std::size_t i = 0; i < pr.a.corpus.distinct.size(); ++i) m[pr.a.corpus.distinct[i]] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                // Debian's absl has its own absl::string_view (not std's).
                for (auto v : pr.a.views) acc += m.find(absl::string_view(v.data(), v.size()))->second;
                benchmark::DoNotOptimize(acc);
              });
            });
    add_map("boost_flyweight", Role::peer, len, "std::unordered_map<flyweight,value,boost::hash>",
            [](auto& st, Probe& p, Pairs& pr) {
              std::unordered_map<Flyweight, std::uint64_t, boost::hash<Flyweight>> m;
              for (std::size_t i = 0; i < pr.a.corpus.distinct.size(); ++i) m[Flyweight(pr.a.corpus.distinct[i])] = i * 3;
              p.run(st, [&] {
                std::uint64_t acc = 0;
                for (const auto& f : pr.fa) acc += m.find(f)->second;
                benchmark::DoNotOptimize(acc);
              });
            });
  }
}

// ---------------------------------------------------------------- memory

// Heap bytes in use, malloc's own view (small blocks + mmapped big blocks),
// including per-block overhead: what the process really pays. glibc only.
std::size_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// The records corpus: a third 2-3 B codes, two thirds 24-64 B names.
// Its own seed keeps its values out of the fixed-length corpora (whose
// flyweights other benchmarks hold).
const cs::Corpus& records_corpus() {
  static const cs::Corpus c = cs::mixed_corpus(kDistinct, 7);
  return c;
}

// A build function returns the column (one handle per record) together with
// whatever owns the strings, and reports the column array's own heap bytes
// through its `col` argument; the rest of the heap growth is the strings.
struct Column {
  virtual ~Column() = default;
};
template <class T>
struct ColumnOf : Column {
  T v;
};

template <class Build>
void add_memory(const char* variant, Role role, bool shared, const char* note, Build build) {
  Spec s;
  s.family = "strings";
  s.variant = variant;
  s.role = role;
  s.workload = "memory";
  s.size = kRecords;
  s.size_label = "1M";
  s.op = "record";
  s.ops_per_iter = kRecords;
  s.working_set_bytes = kRecords * 36;  // the std::string column: skipped by quick mode
  s.note = note;
  add(s, [build, shared](benchmark::State& st, Probe& p) {
    const auto& c = records_corpus();
    const auto idx = c.stream(kRecords, 3);
    std::vector<std::string_view> in;
    in.reserve(kRecords);
    for (auto i : idx) in.push_back(c.distinct[i]);
    // Measured once outside the timed loop; the timed loop builds a fresh
    // column (and frees it) each iteration.
    std::size_t col_bytes = 0;
    const std::size_t before = heap_in_use();
    {
      auto col = build(in, &col_bytes);
      const std::size_t total = heap_in_use() - before;
      // Everything the column owns, per record: the handles plus the
      // strings (shared store, or each record's own heap buffer).
      st.counters["bytes_per_record"] = double(total) / kRecords;
      st.counters["handle_bytes_per_record"] = double(col_bytes) / kRecords;
      st.counters["string_bytes_total"] = double(total - col_bytes);
      // For a shared store: what each distinct value costs in it.
      if (shared) st.counters["store_bytes_per_distinct"] = double(total - col_bytes) / c.distinct.size();
      benchmark::DoNotOptimize(col);
    }
    p.run(st, [&] {
      std::size_t ignored;
      auto col = build(in, &ignored);
      benchmark::DoNotOptimize(col);
    });
  });
}

// The column's own allocation as malloc sees it (header included).
template <class V>
std::size_t vec_bytes(const V& v) {
  return malloc_usable_size(const_cast<void*>(static_cast<const void*>(v.data()))) + 8;
}

void register_memory() {
  using In = std::vector<std::string_view>;
  add_memory("ct_interner", Role::optimised, true, "uint32 id per record + one shared interner",
             [](const In& in, std::size_t* col) {
               auto c = std::make_unique<ColumnOf<std::pair<cs::Interner, std::vector<cs::StringId>>>>();
               auto& [interner, ids] = c->v;
               ids.reserve(in.size());
               for (auto v : in) ids.push_back(interner.intern(v));
               *col = vec_bytes(ids);
               return c;
             });
  add_memory("naive_interner", Role::naive, true, "uint32 id per record + linear-scan interner",
             [](const In& in, std::size_t* col) {
               auto c = std::make_unique<ColumnOf<std::pair<cs::NaiveInterner, std::vector<cs::StringId>>>>();
               auto& [interner, ids] = c->v;
               ids.reserve(in.size());
               for (auto v : in) ids.push_back(interner.intern(v));
               *col = vec_bytes(ids);
               return c;
             });
  add_memory("absl_flat_hash_map", Role::peer, true, "uint32 id per record + absl map interner",
             [](const In& in, std::size_t* col) {
               auto c = std::make_unique<ColumnOf<std::pair<AbslInterner, std::vector<cs::StringId>>>>();
               auto& [interner, ids] = c->v;
               ids.reserve(in.size());
               for (auto v : in) ids.push_back(interner.intern(v));
               *col = vec_bytes(ids);
               return c;
             });
  add_memory("std_string", Role::peer, false, "one std::string per record (heap buffer if > 15 B)",
             [](const In& in, std::size_t* col) {
               auto c = std::make_unique<ColumnOf<std::vector<std::string>>>();
               c->v.reserve(in.size());
               for (auto v : in) c->v.emplace_back(v);
               *col = vec_bytes(c->v);
               return c;
             });
  add_memory("boost_flyweight", Role::peer, true, "one flyweight (pointer) per record + factory",
             [](const In& in, std::size_t* col) {
               auto c = std::make_unique<ColumnOf<std::vector<Flyweight>>>();
               c->v.reserve(in.size());
               for (auto v : in) c->v.emplace_back(v);
               *col = vec_bytes(c->v);
               return c;
             });
}

// ------------------------------------------------------------- breakeven

// Best-of-7 ns/op of `body` (which does kStream ops) over 64-call samples,
// with steady_clock read per sample (65,536 ops), never per op.
template <class Body>
double calibrate_ns(Body body) {
  double best = 1e30;
  for (int r = 0; r < 7; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < 64; ++k) body();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / (64.0 * kStream));
  }
  return best;
}

void register_breakeven() {
  for (std::size_t len : kLengths) {
    add(spec("ct_interner", Role::optimised, "breakeven", len, "intern",
             kStream * (len + 16) + kDistinct * (len + 32),
             "timed: intern; counters: uses until interning has paid for itself"),
        [len](benchmark::State& st, Probe& p) {
          auto pr = make_pairs(len);
          std::uint32_t* out = pr->out.data();
          // Per-use costs, same process, same data: a use = one equality in
          // a dependent (filter) loop, or one map lookup by key.
          const double raw_eq = calibrate_ns([&] {
            auto n = equal_filter(pr->a.strings, pr->b.strings, out);
            benchmark::DoNotOptimize(n);
          });
          const double id_eq = calibrate_ns([&] {
            auto n = equal_filter(pr->ida, pr->idb, out);
            benchmark::DoNotOptimize(n);
          });
          std::unordered_map<std::string, std::uint64_t> smap;
          std::vector<std::uint64_t> imap(pr->in.size(), 1);
          for (const auto& d : pr->a.corpus.distinct) smap[d] = 1;
          const double raw_map = calibrate_ns([&] {
            std::uint64_t acc = 0;
            for (const auto& s : pr->a.strings) acc += smap.find(s)->second;
            benchmark::DoNotOptimize(acc);
          });
          const double id_map = calibrate_ns([&] {
            std::uint64_t acc = 0;
            for (auto id : pr->ida) acc += imap[id];
            benchmark::DoNotOptimize(acc);
          });
          auto& in = pr->in;
          auto intern_all = [&] {
            std::uint64_t acc = 0;
            for (auto v : pr->a.views) acc += in.intern(v);
            benchmark::DoNotOptimize(acc);
          };
          // Intern is calibrated the same way as the uses (best of 7, same
          // clock), so the ratio compares like with like even on a busy
          // machine; the timed loop below gives the harness's ns/op.
          const double intern_ns = calibrate_ns(intern_all);
          p.run(st, intern_all);
          st.counters["intern_ns"] = intern_ns;
          st.counters["eq_saving_ns"] = raw_eq - id_eq;
          st.counters["map_saving_ns"] = raw_map - id_map;
          // A saving <= 0 means interning never pays on that use: say so
          // with -1 rather than a meaningless negative or infinite count.
          st.counters["breakeven_eq_uses"] = raw_eq > id_eq ? intern_ns / (raw_eq - id_eq) : -1;
          st.counters["breakeven_map_uses"] = raw_map > id_map ? intern_ns / (raw_map - id_map) : -1;
        });
  }
}

}  // namespace

CACHETICK_FAMILY(strings, "Interned ids vs raw strings: intern, compare, hash, map key, memory") {
  register_intern();
  register_equal();
  register_hash();
  register_map();
  register_memory();
  register_breakeven();
}

// Family "arena": bump arenas against the heap. See kernels/alloc/README.md.
//
// request: one "request" makes M small allocations of mixed sizes (8..128 B,
//   8-byte aligned), writes 8 bytes into each, then releases everything: the
//   arena by reset() / release(), the heap variants by freeing each block.
//   op = one allocation, its share of the release included.
// list_traverse: a linked list of N 32-byte nodes is built (untimed) in an
//   aged, fragmented heap, then traversed (timed). op = one node visited.
//   Heap ageing, the same for every variant: N blocks of 16..512 B are
//   allocated and a random half freed; then, while the list is built, each
//   node is followed by a "noise" allocation (16..256 B) with probability
//   1/2 and by the free of a random live noise block with probability 1/4 -
//   other code using the heap meanwhile. The arena variants take their nodes
//   from the arena and leave the noise to malloc, as a program would.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "harness/registry.h"
#include "kernels/alloc/arena.h"
#include "kernels/alloc/naive_arena.h"

namespace {

using namespace cachetick;
namespace ca = cachetick::alloc;

constexpr std::size_t kAlign = 8;

// A typed 8-byte store, as a constructor would do. (A memcpy/char store may
// alias anything, including an allocator's cursor, in the compiler's eyes.)
inline void touch(void* p, std::uint64_t v) { *static_cast<std::uint64_t*>(p) = v; }

// Keeps `p` computed without spilling it or clobbering memory. GCC's
// benchmark::DoNotOptimize("+m,r" plus a memory clobber) would push every
// pointer through the stack and force the allocator's cursor to be reloaded:
// a store and two loads per op, more than a bump allocation costs. The
// stores into the objects are made observable by one ClobberMemory() per
// request instead. Used identically for every variant.
inline void keep(void* p) { asm volatile("" : : "r"(p)); }

// ---------------------------------------------------------------- request ---

struct RequestShape {
  std::vector<std::uint32_t> sizes;  // one request's allocation sizes
  std::size_t bytes = 0;             // their sum with alignment slack
};

RequestShape make_request(std::size_t m) {
  RequestShape r;
  std::mt19937 rng(2024);
  std::uniform_int_distribution<std::uint32_t> d(8, 128);
  r.sizes.resize(m);
  for (auto& s : r.sizes) {
    s = d(rng);
    r.bytes += (s + kAlign - 1) / kAlign * kAlign;
  }
  return r;
}

// Enough requests per iteration for >= 1024 allocations.
std::size_t requests_per_iter(std::size_t m) { return m >= 1024 ? 1 : 1024 / m; }

// Memory the monotonic resource starts from: the same size as the arena's
// first chunk, pre-faulted like it.
struct Buffer {
  explicit Buffer(std::size_t n) : bytes(n), p(static_cast<std::byte*>(::operator new(n, std::align_val_t{64}))) {
    std::memset(p, 0, n);
  }
  ~Buffer() { ::operator delete(p, bytes, std::align_val_t{64}); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  std::size_t bytes;
  std::byte* p;
};

ca::ArenaOptions prefaulted(std::size_t first) {
  ca::ArenaOptions o;
  o.first_chunk_bytes = first;
  o.prefault = true;
  return o;
}

// One policy per variant: alloc(n, i) for the i-th allocation of a request,
// release() at the end of the request. Each policy owns its allocator as a
// plain member of a local object, so the inline ones (ct_arena, the naive
// arena, the monotonic resource called directly) can keep their cursor in
// registers across the request loop, as they would in a user's function.
struct CtArena {
  explicit CtArena(const RequestShape& r) : arena(prefaulted(r.bytes * 2)) {}
  void* alloc(std::size_t n, std::size_t) { return arena.allocate(n, kAlign); }
  void release() { arena.reset(); }
  ca::Arena arena;
};

struct CtArenaPmr {
  explicit CtArenaPmr(const RequestShape& r) : arena(prefaulted(r.bytes * 2)), res(arena), pa(&res) {}
  void* alloc(std::size_t n, std::size_t) { return pa.allocate_bytes(n, kAlign); }
  void release() { arena.reset(); }
  ca::Arena arena;
  ca::ArenaResource res;
  std::pmr::polymorphic_allocator<std::byte> pa;
};

struct NaiveArenaPolicy {
  explicit NaiveArenaPolicy(const RequestShape& r) : arena(r.bytes * 2) {
    std::memset(arena.allocate(r.bytes * 2, 1), 0, r.bytes * 2);  // pre-fault
    arena.reset();
  }
  void* alloc(std::size_t n, std::size_t) {
    void* p = arena.allocate(n, kAlign);
    if (p == nullptr) std::abort();  // sized for the request: cannot happen
    return p;
  }
  void release() { arena.reset(); }
  ca::NaiveArena arena;
};

struct Monotonic {
  explicit Monotonic(const RequestShape& r) : buf(r.bytes * 2), res(buf.p, buf.bytes) {}
  void* alloc(std::size_t n, std::size_t) { return res.allocate(n, kAlign); }
  void release() { res.release(); }  // back to the start of buf
  Buffer buf;
  std::pmr::monotonic_buffer_resource res;
};

struct MonotonicPoly {
  explicit MonotonicPoly(const RequestShape& r) : buf(r.bytes * 2), res(buf.p, buf.bytes), pa(&res) {}
  void* alloc(std::size_t n, std::size_t) { return pa.allocate_bytes(n, kAlign); }
  void release() { res.release(); }
  Buffer buf;
  std::pmr::monotonic_buffer_resource res;
  std::pmr::polymorphic_allocator<std::byte> pa;
};

// The heap has no bulk release: the request frees what it allocated.
struct GlibcMalloc {
  explicit GlibcMalloc(const RequestShape& r) : ptrs(r.sizes.size()) {}
  void* alloc(std::size_t n, std::size_t i) {
    void* p = std::malloc(n);
    if (p == nullptr) throw std::bad_alloc();
    return ptrs[i] = p;
  }
  void release() {
    for (void* p : ptrs) std::free(p);
  }
  std::vector<void*> ptrs;
};

struct NewDelete {
  explicit NewDelete(const RequestShape& r) : ptrs(r.sizes.size()), sizes(r.sizes.data()) {}
  void* alloc(std::size_t n, std::size_t i) { return ptrs[i] = ::operator new(n); }
  void release() {
    for (std::size_t i = 0; i < ptrs.size(); ++i) ::operator delete(ptrs[i], sizes[i]);
  }
  std::vector<void*> ptrs;
  const std::uint32_t* sizes;
};

template <class Policy>
void request(benchmark::State& st, Probe& pr, std::size_t m) {
  const RequestShape r = make_request(m);
  const std::uint32_t* sizes = r.sizes.data();
  const std::size_t requests = requests_per_iter(m);
  Policy a(r);
  // Warm-up request (first touches, malloc's caches), untimed.
  for (std::size_t i = 0; i < m; ++i) touch(a.alloc(sizes[i], i), i);
  a.release();
  pr.run(st, [&] {
    for (std::size_t q = 0; q < requests; ++q) {
      for (std::size_t i = 0; i < m; ++i) {
        void* p = a.alloc(sizes[i], i);
        touch(p, i);
        keep(p);
      }
      benchmark::ClobberMemory();
      a.release();
    }
  });
}

// ------------------------------------------------------------ list_traverse ---

struct Node {
  Node* next;
  std::uint64_t value;
  std::uint64_t payload[2];
};
static_assert(sizeof(Node) == 32);

// Ages the heap and keeps the noise alive until destroyed, so the holes it
// punched stay where they are while the list is traversed.
class HeapNoise {
 public:
  explicit HeapNoise(std::size_t n) : rng_(31337) {
    std::uniform_int_distribution<std::size_t> d(16, 512);
    std::vector<void*> age(n);
    for (auto& p : age) p = checked(std::malloc(d(rng_)));
    std::shuffle(age.begin(), age.end(), rng_);
    for (std::size_t i = 0; i < n / 2; ++i) std::free(age[i]);
    live_.assign(age.begin() + n / 2, age.end());
  }
  ~HeapNoise() {
    for (void* p : live_) std::free(p);
  }
  // Between two node allocations: other code allocating and freeing.
  void step() {
    std::uint32_t r = static_cast<std::uint32_t>(rng_());
    if (r & 1) live_.push_back(checked(std::malloc(16 + (r >> 8) % 241)));
    if ((r & 6) == 0 && !live_.empty()) {
      std::size_t k = (r >> 16) % live_.size();
      std::free(live_[k]);
      live_[k] = live_.back();
      live_.pop_back();
    }
  }

 private:
  static void* checked(void* p) {
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  std::mt19937_64 rng_;
  std::vector<void*> live_;
};

// Builds n nodes with `alloc`, interleaved with heap noise; links them in
// build order and returns the head.
template <class Alloc>
Node* build_list(std::size_t n, HeapNoise& noise, Alloc alloc, std::vector<Node*>* keep) {
  Node* head = nullptr;
  Node* tail = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    Node* x = ::new (alloc()) Node{nullptr, i, {i, i}};
    if (keep != nullptr) keep->push_back(x);
    (tail ? tail->next : head) = x;
    tail = x;
    noise.step();
  }
  return head;
}

void traverse(benchmark::State& st, Probe& pr, Node* head) {
  pr.run(st, [&] {
    std::uint64_t sum = 0;
    for (Node* p = head; p != nullptr; p = p->next) sum += p->value;
    benchmark::DoNotOptimize(sum);
  });
}

void list_ct_arena(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  ca::Arena arena;  // default 64 KiB first chunk, doubling: chunk jumps included
  Node* head = build_list(n, noise, [&] { return arena.allocate(sizeof(Node), alignof(Node)); }, nullptr);
  traverse(st, pr, head);
}

void list_naive_arena(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  ca::NaiveArena arena(n * sizeof(Node));
  Node* head = build_list(n, noise, [&] {
    void* p = arena.allocate(sizeof(Node), alignof(Node));
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }, nullptr);
  traverse(st, pr, head);
}

void list_pmr_monotonic(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  std::pmr::monotonic_buffer_resource res;  // grows geometrically from new/delete
  Node* head = build_list(n, noise, [&] { return res.allocate(sizeof(Node), alignof(Node)); }, nullptr);
  traverse(st, pr, head);
}

void list_pmr_monotonic_polyalloc(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  std::pmr::monotonic_buffer_resource res;
  std::pmr::polymorphic_allocator<Node> pa(&res);
  Node* head = build_list(n, noise, [&] { return static_cast<void*>(pa.allocate(1)); }, nullptr);
  traverse(st, pr, head);
}

void list_glibc(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  std::vector<Node*> nodes;
  nodes.reserve(n);
  Node* head = build_list(n, noise, [] {
    void* p = std::malloc(sizeof(Node));
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }, &nodes);
  traverse(st, pr, head);
  for (Node* x : nodes) std::free(x);
}

void list_new_delete(benchmark::State& st, Probe& pr, std::size_t n) {
  HeapNoise noise(n);
  std::vector<Node*> nodes;
  nodes.reserve(n);
  Node* head = build_list(n, noise, [] { return ::operator new(sizeof(Node)); }, &nodes);
  traverse(st, pr, head);
  for (Node* x : nodes) ::operator delete(x, sizeof(Node));
}

// ------------------------------------------------------------ registration ---

using Fn = void (*)(benchmark::State&, Probe&, std::size_t);

struct Variant {
  const char* name;
  Role role;
  const char* note;
  Fn request;
  Fn list;
};

}  // namespace

CACHETICK_FAMILY(arena, "Bump arena vs heap: ns per allocation (reset included), list traversal after building") {
  const Variant variants[] = {
      {"ct_arena", Role::optimised, "cachetick bump arena (inline fast path, reset keeps first chunk)",
       &request<CtArena>, &list_ct_arena},
      {"ct_arena_pmr", Role::reference, "cachetick arena through ArenaResource + polymorphic_allocator",
       &request<CtArenaPmr>, nullptr},
      {"naive_arena", Role::naive, "cookbook arena (alignment fixed): one fixed malloc'ed buffer",
       &request<NaiveArenaPolicy>, &list_naive_arena},
      {"pmr_monotonic", Role::peer, "std::pmr::monotonic_buffer_resource, allocate() called directly",
       &request<Monotonic>, &list_pmr_monotonic},
      {"pmr_monotonic_polyalloc", Role::peer, "monotonic_buffer_resource through polymorphic_allocator",
       &request<MonotonicPoly>, &list_pmr_monotonic_polyalloc},
      {"glibc_malloc", Role::peer, "glibc malloc/free (each block freed at request end)", &request<GlibcMalloc>,
       &list_glibc},
      {"new_delete", Role::peer, "::operator new / sized delete", &request<NewDelete>, &list_new_delete},
  };
  for (const Variant& v : variants) {
    for (std::size_t m : {std::size_t{64}, std::size_t{4096}}) {
      Spec s;
      s.family = "arena";
      s.variant = v.name;
      s.role = v.role;
      s.workload = "request";
      s.size = m;
      s.size_label = std::to_string(m);
      s.working_set_bytes = make_request(m).bytes;
      s.op = "allocation";
      s.ops_per_iter = double(m * requests_per_iter(m));
      s.note = v.note;
      Fn fn = v.request;
      add(s, [fn, m](benchmark::State& st, Probe& pr) { fn(st, pr, m); });
    }
    if (v.list == nullptr) continue;
    for (std::size_t n : {std::size_t{4096}, std::size_t{65536}, std::size_t{1} << 20}) {
      Spec s;
      s.family = "arena";
      s.variant = v.name;
      s.role = v.role;
      s.workload = "list_traverse";
      s.size = n;
      s.size_label = n == 4096 ? "4k" : n == 65536 ? "64k" : "1m";
      s.working_set_bytes = n * sizeof(Node);
      s.op = "node";
      s.latency_bound = true;  // p = p->next: a chain of dependent loads
      s.ops_per_iter = double(n);
      s.note = v.note;
      Fn fn = v.list;
      add(s, [fn, n](benchmark::State& st, Probe& pr) { fn(st, pr, n); });
    }
  }
}

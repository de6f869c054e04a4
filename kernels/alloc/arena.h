// Bump arena: allocation is "round the cursor up, add the size, compare".
//
// Objects allocated together end up next to each other in address order, so
// code that walks them later streams through consecutive cache lines (and the
// hardware prefetcher follows), instead of hopping over malloc's headers and
// whatever else the heap put between them. There is no per-object free: the
// whole arena is released (or reset for the next request) at once, which is
// what makes both allocation and release nearly free.
//
// Chunks grow by doubling. reset() keeps the first chunk and releases the
// others, so a request that fits the first chunk never calls malloc again;
// size the first chunk to the typical request's high-water mark.
//
// Not thread-safe (one arena per request/thread). Destructors of objects in
// the arena never run: create<T>() accepts trivially destructible types only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc {

struct ArenaOptions {
  std::size_t first_chunk_bytes = 64 * 1024;
  std::size_t max_chunk_bytes = 64 * 1024 * 1024;
  // Touch every page of each new chunk when it is obtained, so page faults
  // happen at set-up rather than inside the first requests.
  bool prefault = false;
};

class Arena {
 public:
  static constexpr std::size_t kDefaultAlign = alignof(std::max_align_t);
  // The cursor always sits on a multiple of kGrain (sizes are rounded up),
  // so requests aligned to 8 or less need no rounding of the cursor: the
  // loop-carried dependency from one allocation to the next is one add.
  static constexpr std::size_t kGrain = 8;

  explicit Arena(ArenaOptions opt = {}) {
    first_bytes_ = chunk_size(opt.first_chunk_bytes < 256 ? 256 : opt.first_chunk_bytes);
    max_chunk_ = opt.max_chunk_bytes < first_bytes_ ? first_bytes_ : opt.max_chunk_bytes;
    prefault_ = opt.prefault;
    next_chunk_ = first_bytes_;
    first_ = new_chunk(first_bytes_, prefault_);
    head_ = first_;
    cur_ = data_begin(first_);
    end_ = data_end(first_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { release_chunks(head_, nullptr); }

  // Any size; alignment a power of two up to 4096 (std::invalid_argument
  // otherwise). Throws std::bad_alloc when memory runs out. Size 0 returns a
  // valid pointer that may equal the next allocation's.
  CACHETICK_INLINE void* allocate(std::size_t n, std::size_t align = kDefaultAlign) {
    if (CACHETICK_UNLIKELY(!is_pow2(align) || align > kMaxAlign)) bad_alignment();
    std::uintptr_t p = align <= kGrain ? cur_ : align_up(cur_, align);
    // Both compares are off the cursor's dependency chain. end_ - p cannot
    // wrap when align <= kGrain (cur_ <= end_); p <= end_ guards the rest.
    // end_ is a multiple of kGrain, so n fitting implies its rounding fits.
    if (CACHETICK_LIKELY((align <= kGrain || p <= end_) && n <= end_ - p)) {
      cur_ = p + ((n + (kGrain - 1)) & ~(kGrain - 1));
      CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
      return reinterpret_cast<void*>(p);
    }
    // The slow path takes and returns the state by value instead of taking
    // `this`: an arena whose address never escapes can then keep cur_ and
    // end_ in registers across a loop of allocations (otherwise every
    // allocation pays a store-to-load forwarding round trip, ~5 cycles).
    // (Scalars, not a State aggregate: GCC would load cur_/end_ as one
    // 16-byte vector for the aggregate, and that load cannot be forwarded
    // from the 8-byte store of cur_ by the previous allocation: a ~15-cycle
    // stall on every call.)
    Grown g = allocate_slow(head_, cur_, end_, next_chunk_, max_chunk_, prefault_, n, align);
    head_ = g.s.head;
    cur_ = g.s.cur;
    end_ = g.s.end;
    next_chunk_ = g.s.next_chunk;
    return g.p;
  }

  template <class T, class... Args>
  T* create(Args&&... args) {
    static_assert(std::is_trivially_destructible_v<T>,
                  "Arena::create: the arena never runs destructors; use a "
                  "trivially destructible type (or std::pmr containers on an ArenaResource)");
    return ::new (allocate(sizeof(T), alignof(T))) T(std::forward<Args>(args)...);
  }

  // Uninitialised storage for n objects of T.
  template <class T>
  T* allocate_array(std::size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(allocate(n * sizeof(T), alignof(T)));
  }

  // Everything allocated so far becomes invalid. Keeps the first chunk (its
  // pages stay mapped and warm); releases the rest.
  void reset() {
    // Usually nothing but the first chunk exists: keep the release loop
    // (calls to operator delete) out of line, so a request loop around
    // reset() does not have to save registers for it.
    if (CACHETICK_UNLIKELY(head_ != first_ || first_->prev != nullptr))
      release_chunks(head_, first_);
    head_ = first_;
    cur_ = data_begin(first_);
    end_ = data_end(first_);
    CACHETICK_POISON(reinterpret_cast<void*>(cur_), end_ - cur_);
  }

  // Bytes handed out since the last reset in the current chunk plus the
  // sizes of the earlier chunks (an upper bound of what is in use).
  std::size_t used_bytes() const {
    std::size_t s = cur_ - data_begin(head_);
    for (Chunk* c = head_->prev; c != nullptr; c = c->prev) s += c->bytes;
    return s;
  }
  std::size_t chunk_count() const {
    std::size_t k = 0;
    for (Chunk* c = head_; c != nullptr; c = c->prev) ++k;
    return k;
  }
  std::size_t remaining_in_chunk() const { return end_ - cur_; }
  std::size_t first_chunk_bytes() const { return first_->bytes; }

 private:
  // Header at the start of each chunk: the chunk list costs no extra malloc.
  struct Chunk {
    Chunk* prev;        // older chunk (nullptr for the first)
    std::size_t bytes;  // whole chunk including this header
  };
  static constexpr std::size_t kChunkAlign = 64;
  static_assert(sizeof(Chunk) % kGrain == 0);

  struct State {
    Chunk* head;
    std::uintptr_t cur, end;
    std::size_t next_chunk;
  };
  struct Grown {
    void* p;
    State s;
  };

  static std::size_t chunk_size(std::size_t bytes) {
    return (bytes + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
  }
  static std::uintptr_t data_begin(const Chunk* c) {
    return reinterpret_cast<std::uintptr_t>(c) + sizeof(Chunk);
  }
  static std::uintptr_t data_end(const Chunk* c) {
    return reinterpret_cast<std::uintptr_t>(c) + c->bytes;
  }

  [[noreturn]] CACHETICK_NOINLINE static void bad_alignment() {
    throw std::invalid_argument("Arena: alignment must be a power of two <= 4096");
  }

  static Chunk* new_chunk(std::size_t bytes, bool prefault) {
    void* raw = ::operator new(bytes, std::align_val_t{kChunkAlign});
    Chunk* c = ::new (raw) Chunk{nullptr, bytes};
    if (prefault) {
      // One write per page; volatile so the stores are not elided.
      volatile char* b = static_cast<char*>(raw);
      for (std::size_t i = sizeof(Chunk); i < bytes; i += 4096) b[i] = 0;
    }
    CACHETICK_POISON(reinterpret_cast<void*>(data_begin(c)), bytes - sizeof(Chunk));
    return c;
  }

  CACHETICK_NOINLINE static Grown allocate_slow(Chunk* head, std::uintptr_t cur, std::uintptr_t end,
                                                std::size_t next_chunk, std::size_t max_chunk,
                                                bool prefault, std::size_t n, std::size_t align) {
    State s{head, cur, end, next_chunk};
    // Worst case the data start is only kGrain-aligned: reserve `align` more.
    if (n > SIZE_MAX / 2 - align - sizeof(Chunk)) throw std::bad_alloc();
    std::size_t need = chunk_size(n + align + sizeof(Chunk));
    if (need > s.next_chunk / 2 && s.end - s.cur >= 4096) {
      // A big request while the current chunk still has a useful tail: give
      // it its own chunk, slotted behind the current one, and keep bumping.
      Chunk* c = new_chunk(need, false);
      c->prev = s.head->prev;
      s.head->prev = c;
      std::uintptr_t p = align_up(data_begin(c), align);
      CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
      return {reinterpret_cast<void*>(p), s};
    }
    while (s.next_chunk < need && s.next_chunk < max_chunk) s.next_chunk *= 2;
    std::size_t bytes = s.next_chunk < need ? need : s.next_chunk;
    Chunk* c = new_chunk(bytes, prefault);
    c->prev = s.head;
    s.head = c;
    if (s.next_chunk < max_chunk) s.next_chunk *= 2;
    std::uintptr_t p = align_up(data_begin(c), align > kGrain ? align : kGrain);
    s.cur = p + ((n + (kGrain - 1)) & ~(kGrain - 1));
    s.end = data_end(c);
    CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
    return {reinterpret_cast<void*>(p), s};
  }

  // Frees the chunks from `head` down to (not including) `keep`, then any
  // oversized chunks slotted behind `keep`. Static: see allocate().
  CACHETICK_NOINLINE static void release_chunks(Chunk* head, Chunk* keep) {
    Chunk* c = head;
    while (c != nullptr && c != keep) {
      Chunk* prev = c->prev;
      release(c);
      c = prev;
    }
    if (keep != nullptr) {
      Chunk* extra = keep->prev;
      while (extra != nullptr) {
        Chunk* prev = extra->prev;
        release(extra);
        extra = prev;
      }
      keep->prev = nullptr;
    }
  }
  static void release(Chunk* c) {
    std::size_t bytes = c->bytes;
    CACHETICK_UNPOISON(c, bytes);
    ::operator delete(c, bytes, std::align_val_t{kChunkAlign});
  }

  // Hot state first.
  std::uintptr_t cur_ = 0, end_ = 0;  // both multiples of kGrain
  Chunk* head_ = nullptr;             // chunk being bumped
  Chunk* first_ = nullptr;            // kept across reset()
  std::size_t next_chunk_ = 0, max_chunk_ = 0, first_bytes_ = 0;
  bool prefault_ = false;
};

// std::pmr adapter: std::pmr::vector<int> v(&resource) allocates from the
// arena. deallocate is a no-op (memory comes back at reset), so a vector that
// grows by doubling leaves its old buffers behind in the arena: reserve().
class ArenaResource final : public std::pmr::memory_resource {
 public:
  explicit ArenaResource(Arena& arena) : arena_(&arena) {}
  Arena& arena() const { return *arena_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    return arena_->allocate(bytes, align);
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    auto* o = dynamic_cast<const ArenaResource*>(&other);
    return o != nullptr && o->arena_ == arena_;
  }

  Arena* arena_;
};

}  // namespace cachetick::alloc

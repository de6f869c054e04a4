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

  explicit Arena(ArenaOptions opt = {}) : opt_(opt) {
    if (opt_.first_chunk_bytes < 256) opt_.first_chunk_bytes = 256;
    if (opt_.max_chunk_bytes < opt_.first_chunk_bytes)
      opt_.max_chunk_bytes = opt_.first_chunk_bytes;
    next_chunk_ = opt_.first_chunk_bytes;
    first_ = new_chunk(opt_.first_chunk_bytes);
    head_ = first_;
    use(first_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { release_after(nullptr); }

  // Any size; alignment a power of two up to 4096 (std::invalid_argument
  // otherwise). Throws std::bad_alloc when memory runs out. Size 0 returns a
  // valid pointer that may equal the next allocation's.
  CACHETICK_INLINE void* allocate(std::size_t n, std::size_t align = kDefaultAlign) {
    if (CACHETICK_UNLIKELY(!is_pow2(align) || align > kMaxAlign)) bad_alignment();
    std::uintptr_t p = align_up(cur_, align);
    std::uintptr_t e = p + n;
    // e >= p rejects a size so large that p + n wrapped around.
    if (CACHETICK_LIKELY(e <= end_ && e >= p)) {
      cur_ = e;
      CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
      return reinterpret_cast<void*>(p);
    }
    return allocate_slow(n, align);
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
    release_after(first_);
    head_ = first_;
    first_->prev = nullptr;
    use(first_);
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

  static std::uintptr_t data_begin(const Chunk* c) {
    return reinterpret_cast<std::uintptr_t>(c) + sizeof(Chunk);
  }
  static std::uintptr_t data_end(const Chunk* c) {
    return reinterpret_cast<std::uintptr_t>(c) + c->bytes;
  }
  void use(Chunk* c) {
    cur_ = data_begin(c);
    end_ = data_end(c);
  }

  [[noreturn]] CACHETICK_NOINLINE static void bad_alignment() {
    throw std::invalid_argument("Arena: alignment must be a power of two <= 4096");
  }

  Chunk* new_chunk(std::size_t bytes) {
    void* raw = ::operator new(bytes, std::align_val_t{kChunkAlign});
    Chunk* c = ::new (raw) Chunk{nullptr, bytes};
    if (opt_.prefault) {
      // One write per page; volatile so the stores are not elided.
      volatile char* b = static_cast<char*>(raw);
      for (std::size_t i = sizeof(Chunk); i < bytes; i += 4096) b[i] = 0;
    }
    CACHETICK_POISON(reinterpret_cast<void*>(data_begin(c)), bytes - sizeof(Chunk));
    return c;
  }

  CACHETICK_NOINLINE void* allocate_slow(std::size_t n, std::size_t align) {
    // Worst case: data start only header-aligned, so reserve `align` extra.
    if (n > SIZE_MAX / 2 - align - sizeof(Chunk)) throw std::bad_alloc();
    std::size_t need = n + align + sizeof(Chunk);
    if (need > next_chunk_ / 2 && end_ - cur_ >= 4096) {
      // A big request while the current chunk still has a useful tail: give
      // it its own chunk, slotted behind the current one, and keep bumping.
      Chunk* c = new_chunk(need);
      c->prev = head_->prev;
      head_->prev = c;
      std::uintptr_t p = align_up(data_begin(c), align);
      CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
      return reinterpret_cast<void*>(p);
    }
    while (next_chunk_ < need && next_chunk_ < opt_.max_chunk_bytes) next_chunk_ *= 2;
    std::size_t bytes = next_chunk_ < need ? need : next_chunk_;
    Chunk* c = new_chunk(bytes);
    c->prev = head_;
    head_ = c;
    use(c);
    if (next_chunk_ < opt_.max_chunk_bytes) next_chunk_ *= 2;
    std::uintptr_t p = align_up(cur_, align);
    cur_ = p + n;
    CACHETICK_UNPOISON(reinterpret_cast<void*>(p), n);
    return reinterpret_cast<void*>(p);
  }

  // Frees the chunks from head_ down to (not including) `keep`.
  void release_after(Chunk* keep) {
    Chunk* c = head_;
    while (c != nullptr && c != keep) {
      Chunk* prev = c->prev;
      release(c);
      c = prev;
    }
    // Oversized chunks may sit behind `keep` (slotted behind the head when
    // keep was the head): free those too.
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
  std::uintptr_t cur_ = 0, end_ = 0;
  Chunk* head_ = nullptr;   // chunk being bumped
  Chunk* first_ = nullptr;  // kept across reset()
  std::size_t next_chunk_ = 0;
  ArenaOptions opt_;
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

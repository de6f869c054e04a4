// Per-request buffers: where a request's scratch memory comes from.
//
// A server that takes a fresh 64 KiB buffer from malloc for every request
// pays malloc's large-block path each time: blocks above tcache's 1032 B go
// through glibc's bins (a lock, a search, splitting and coalescing with the
// neighbours), and a free that leaves more than M_TRIM_THRESHOLD (128 KiB by
// default, raised dynamically) at the top of the heap gives pages back to the
// kernel - the next malloc faults them in again, one fault per 4 KiB page.
// Whatever the allocator does, a fresh buffer is also a buffer whose lines
// are not in the cache: the request's first writes miss.
//
// Three ways not to:
//
//   BufferPool    (cachetick) fixed-size buffers recycled last-in first-out,
//                 one pool per thread, no lock. It is the alloc family's
//                 FixedPool (kernels/alloc/fixed_pool.h) with a buffer as its
//                 block: acquire/release of the same size in a loop is a
//                 pop and a push on the pool's 4096-entry LIFO cache, and the
//                 buffer handed out is the one just returned, still in L1/L2.
//                 Lease returns it when it goes out of scope.
//   SharedPool    the seed write-up's BufferPool, in C++: a mutex around a
//                 vector of free buffers, at most `keep` kept. Usable from
//                 any thread; pays a lock/unlock per acquire and release even
//                 when only one thread uses it.
//   thread_buffer one buffer per thread (thread_local), grown to the largest
//                 size asked: no acquire at all, but only one buffer per
//                 thread - a request that needs two, or a buffer that must
//                 outlive the call (handed to another thread), cannot use it.
//
// None of them zeroes a buffer: a request that relies on zeroed memory must
// clear what it uses (std::vector<char>(n) zeroes all n bytes every time).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "kernels/alloc/fixed_pool.h"

namespace cachetick::buffers {

class BufferPool {
 public:
  // Buffers of `buffer_bytes`, aligned to a cache line.
  explicit BufferPool(std::size_t buffer_bytes) : pool_(buffer_bytes, 64), bytes_(buffer_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer on loan: returned to its pool when the Lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), p_(o.p_) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        give_back();
        pool_ = std::exchange(o.pool_, nullptr);
        p_ = o.p_;
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { give_back(); }

    char* data() const { return p_; }
    std::size_t size() const { return pool_ != nullptr ? pool_->bytes_ : 0; }

   private:
    friend class BufferPool;
    Lease(BufferPool* pool, char* p) : pool_(pool), p_(p) {}
    void give_back() {
      if (pool_ != nullptr) pool_->release(p_);
      pool_ = nullptr;
    }
    BufferPool* pool_;
    char* p_;
  };

  Lease acquire() { return Lease(this, static_cast<char*>(pool_.allocate())); }
  std::size_t buffer_bytes() const { return bytes_; }
  // Memory the pool holds (buffers in use and free): its high-water mark.
  std::size_t reserved_bytes() const { return pool_.reserved_bytes(); }

 private:
  void release(char* p) { pool_.deallocate(p); }
  alloc::FixedPool pool_;
  std::size_t bytes_;
};

// The seed's design: Mutex<Vec<Vec<u8>>>, at most `keep` buffers kept.
class SharedPool {
 public:
  SharedPool(std::size_t buffer_bytes, std::size_t keep = 100) : bytes_(buffer_bytes), keep_(keep) {}

  std::unique_ptr<char[]> acquire() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!free_.empty()) {
        std::unique_ptr<char[]> b = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    return std::make_unique_for_overwrite<char[]>(bytes_);
  }

  // Keeps the buffer for the next acquire, or frees it when `keep` are kept.
  void release(std::unique_ptr<char[]> b) {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.size() < keep_) free_.push_back(std::move(b));
  }

  std::size_t buffer_bytes() const { return bytes_; }
  std::size_t kept() const {
    std::lock_guard<std::mutex> lock(m_);
    return free_.size();
  }

 private:
  mutable std::mutex m_;
  std::vector<std::unique_ptr<char[]>> free_;
  std::size_t bytes_, keep_;
};

// This thread's scratch buffer, at least `bytes` long. Valid until the next
// call on the same thread with a larger size (which reallocates).
inline char* thread_buffer(std::size_t bytes) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local std::size_t size = 0;
  if (bytes > size) {
    buf = std::make_unique_for_overwrite<char[]>(bytes);
    size = bytes;
  }
  return buf.get();
}

}  // namespace cachetick::buffers

// The seed cookbook's "fixed-size pool", with its bugs fixed: every block is
// its own malloc, and the pool is a stack of pointers to them.
//
// Fixed here: the cookbook kept a fixed array of 1024 pointers with no bound
// check (block_count > 1024 wrote past it), freed 1024 slots on destroy
// whatever had been filled, and leaked blocks freed into a full stack. This
// version sizes the stack to what it owns, grows by one malloc when empty,
// and frees exactly the blocks it allocated.
//
// What is still naive, and what the benchmarks show: each block carries
// malloc's header and lands wherever malloc puts it, so blocks are neither
// contiguous nor line-aligned, and a pool of N blocks costs N mallocs.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <vector>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc {

class NaivePool {
 public:
  NaivePool(std::size_t block_size, std::size_t initial_blocks,
            std::size_t align = alignof(std::max_align_t))
      : block_(block_size), align_(align) {
    if (block_size == 0) throw std::invalid_argument("NaivePool: block size 0");
    if (!is_pow2(align) || align > kMaxAlign)
      throw std::invalid_argument("NaivePool: alignment must be a power of two <= 4096");
    owned_.reserve(initial_blocks);
    free_.reserve(initial_blocks);
    for (std::size_t i = 0; i < initial_blocks; ++i) free_.push_back(new_block());
  }
  NaivePool(const NaivePool&) = delete;
  NaivePool& operator=(const NaivePool&) = delete;
  ~NaivePool() {
    for (void* p : owned_) std::free(p);
  }

  void* allocate() {
    if (free_.empty()) return new_block();
    void* p = free_.back();
    free_.pop_back();
    return p;
  }

  // The stack can hold every owned block, so a push never reallocates and
  // never drops a block.
  void deallocate(void* p) { free_.push_back(p); }

  std::size_t owned() const { return owned_.size(); }
  std::size_t block_size() const { return block_; }

 private:
  void* new_block() {
    // Grow both vectors before the malloc, so a throwing reserve cannot leak
    // the block and deallocate() never has to grow (or throw).
    if (owned_.size() == owned_.capacity()) owned_.reserve(owned_.capacity() * 2 + 16);
    if (free_.capacity() < owned_.capacity()) free_.reserve(owned_.capacity());
    void* p;
    if (align_ <= alignof(std::max_align_t)) {
      p = std::malloc(block_);
    } else {
      // aligned_alloc wants a size that is a multiple of the alignment.
      p = std::aligned_alloc(align_, (block_ + align_ - 1) / align_ * align_);
    }
    if (p == nullptr) throw std::bad_alloc();
    owned_.push_back(p);
    return p;
  }

  std::size_t block_, align_;
  std::vector<void*> owned_;  // every block, for the destructor
  std::vector<void*> free_;   // stack of free blocks
};

}  // namespace cachetick::alloc

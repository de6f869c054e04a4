// The seed cookbook's arena, with its bugs fixed: one fixed malloc'ed buffer
// and a "used" counter.
//
// Fixed here: the cookbook ignored alignment (a double after a 3-byte string
// landed misaligned: undefined behaviour, and a split cache line or a fault
// with aligned SIMD loads), did not check malloc, and `used + size` could
// wrap around. This version aligns every allocation, checks the size without
// overflow, and reports a full arena by returning nullptr (the cookbook's
// contract), which callers must check.
//
// What is still naive: a fixed capacity chosen up front (no growth), and the
// size/alignment arithmetic is done on offsets, re-adding the base pointer on
// every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc {

class NaiveArena {
 public:
  explicit NaiveArena(std::size_t capacity) : size_(capacity) {
    memory_ = static_cast<char*>(std::malloc(capacity == 0 ? 1 : capacity));
    if (memory_ == nullptr) throw std::bad_alloc();
  }
  NaiveArena(const NaiveArena&) = delete;
  NaiveArena& operator=(const NaiveArena&) = delete;
  ~NaiveArena() { std::free(memory_); }

  // nullptr when the arena is full. Alignment: power of two up to 4096.
  void* allocate(std::size_t n, std::size_t align = alignof(std::max_align_t)) {
    if (!is_pow2(align) || align > kMaxAlign)
      throw std::invalid_argument("NaiveArena: alignment must be a power of two <= 4096");
    // Align the address, not the offset: malloc only promises 16 bytes.
    std::uintptr_t base = reinterpret_cast<std::uintptr_t>(memory_);
    std::size_t start = align_up(base + used_, align) - base;
    if (start > size_ || n > size_ - start) return nullptr;
    used_ = start + n;
    return memory_ + start;
  }

  void reset() { used_ = 0; }
  std::size_t used() const { return used_; }
  std::size_t capacity() const { return size_; }

 private:
  char* memory_ = nullptr;
  std::size_t size_ = 0;
  std::size_t used_ = 0;
};

}  // namespace cachetick::alloc

// Bookkeeping for checked pools: which chunks belong to the pool and which
// blocks are live. Exact (a bit per block), so a double free is caught on the
// second free rather than guessed from a magic value the user may have
// overwritten. Costs a binary search over chunks per call: debug only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc::detail {

class PoolChecker {
 public:
  PoolChecker(const char* who, std::size_t block) : who_(who), block_(block) {}

  void add_chunk(const void* begin, std::size_t bytes) {
    Region r;
    r.begin = reinterpret_cast<std::uintptr_t>(begin);
    r.end = r.begin + bytes / block_ * block_;
    r.carved = r.begin;
    r.live.assign((bytes / block_ + 63) / 64, 0);
    auto at = std::upper_bound(regions_.begin(), regions_.end(), r.begin,
                               [](std::uintptr_t b, const Region& x) { return b < x.begin; });
    regions_.insert(at, std::move(r));
  }

  void on_carve(const void* p) {
    Region& r = region_of(p, "carve");
    r.carved = reinterpret_cast<std::uintptr_t>(p) + block_;
  }

  void on_allocate(const void* p) {
    Region& r = region_of(p, "allocate");
    std::size_t i = index(r, p);
    std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (r.live[i / 64] & bit)
      misuse(who_, "allocate: free list corrupt, block handed out twice "
                   "(was it written to after being freed?)", p);
    r.live[i / 64] |= bit;
    ++live_;
  }

  void on_deallocate(const void* p) {
    if (p == nullptr) misuse(who_, "deallocate: null pointer", p);
    Region* r = find(p);
    if (r == nullptr)
      misuse(who_, "deallocate: foreign pointer, not allocated by this pool", p);
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    if ((a - r->begin) % block_ != 0)
      misuse(who_, "deallocate: pointer into the middle of a block", p);
    if (a >= r->carved)
      misuse(who_, "deallocate: pointer inside the pool but never allocated", p);
    std::size_t i = index(*r, p);
    std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (!(r->live[i / 64] & bit)) misuse(who_, "deallocate: double free", p);
    r->live[i / 64] &= ~bit;
    --live_;
  }

  std::size_t live() const { return live_; }

 private:
  struct Region {
    std::uintptr_t begin = 0, end = 0, carved = 0;
    std::vector<std::uint64_t> live;
  };

  Region* find(const void* p) {
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    auto it = std::upper_bound(regions_.begin(), regions_.end(), a,
                               [](std::uintptr_t b, const Region& x) { return b < x.begin; });
    if (it == regions_.begin()) return nullptr;
    --it;
    return a < it->end ? &*it : nullptr;
  }
  Region& region_of(const void* p, const char* what) {
    Region* r = find(p);
    if (r == nullptr) misuse(who_, what, p);  // internal error: our own block
    return *r;
  }
  std::size_t index(const Region& r, const void* p) const {
    return (reinterpret_cast<std::uintptr_t>(p) - r.begin) / block_;
  }

  const char* who_;
  std::size_t block_;
  std::size_t live_ = 0;
  std::vector<Region> regions_;
};

// Stand-in for unchecked pools: every hook compiles away.
struct NoChecker {
  NoChecker(const char*, std::size_t) {}
  void add_chunk(const void*, std::size_t) {}
  void on_carve(const void*) {}
  void on_allocate(const void*) {}
  void on_deallocate(const void*) {}
};

}  // namespace cachetick::alloc::detail

// The large chunks a pool carves its blocks from: obtained aligned, poisoned
// for ASan until carved, released together when the pool dies. One owner
// for FixedPool and ListPool (the arena links its chunks through headers
// inside them instead, so that reset() can walk them without a vector).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc::detail {

class ChunkList {
 public:
  ChunkList() = default;
  ChunkList(const ChunkList&) = delete;
  ChunkList& operator=(const ChunkList&) = delete;
  ~ChunkList() {
    for (const Chunk& c : chunks_) {
      CACHETICK_UNPOISON(c.p, c.bytes);
      ::operator delete(c.p, c.bytes, std::align_val_t{align_});
    }
  }

  // A new chunk of `bytes`, aligned to `align` (one alignment per list: a
  // pool's chunks all share it), poisoned. Throws std::bad_alloc and then
  // owns nothing more (a chunk whose record cannot be stored is given back).
  void* add(std::size_t bytes, std::size_t align) {
    void* p = ::operator new(bytes, std::align_val_t{align});
    try {
      chunks_.push_back({p, bytes});
    } catch (...) {
      ::operator delete(p, bytes, std::align_val_t{align});
      throw;
    }
    align_ = align;
    CACHETICK_POISON(p, bytes);
    return p;
  }

  std::size_t count() const { return chunks_.size(); }
  std::size_t bytes() const {
    std::size_t s = 0;
    for (const Chunk& c : chunks_) s += c.bytes;
    return s;
  }

 private:
  struct Chunk {
    void* p;
    std::size_t bytes;
  };
  std::vector<Chunk> chunks_;
  std::size_t align_ = 0;
};

}  // namespace cachetick::alloc::detail

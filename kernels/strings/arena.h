// A chunked byte arena: the storage behind cachetick's interner.
//
// Why chunks that never move: the interner hands out std::string_view into
// this storage and promises they stay valid for its whole life. A growing
// std::vector<char> would relocate (and dangle every view) on growth; a list
// of fixed chunks never does. Chunks double from 4 KiB up to 64 KiB so a
// family of a few hundred short strings costs a few KiB, not a megabyte,
// while a big vocabulary still pays one malloc per 64 KiB, not per string.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace cachetick::strings {

class ByteArena {
 public:
  static constexpr std::size_t kFirstChunk = 4 * 1024;
  static constexpr std::size_t kMaxChunk = 64 * 1024;

  ByteArena() = default;
  ByteArena(const ByteArena&) = delete;             // views point into us
  ByteArena& operator=(const ByteArena&) = delete;
  // A move hands the chunks over (they stay put, so views stay valid) and
  // leaves the source empty: it must not keep bumping into chunks it no
  // longer owns.
  ByteArena(ByteArena&& o) noexcept
      : chunks_(std::move(o.chunks_)),
        cur_(std::exchange(o.cur_, nullptr)),
        end_(std::exchange(o.end_, nullptr)),
        next_(std::exchange(o.next_, kFirstChunk / 2)),
        used_(std::exchange(o.used_, 0)),
        reserved_(std::exchange(o.reserved_, 0)) {
    o.chunks_.clear();
  }
  ByteArena& operator=(ByteArena&& o) noexcept {
    if (this != &o) {
      ByteArena tmp(std::move(o));
      chunks_.swap(tmp.chunks_);
      std::swap(cur_, tmp.cur_);
      std::swap(end_, tmp.end_);
      std::swap(next_, tmp.next_);
      std::swap(used_, tmp.used_);
      std::swap(reserved_, tmp.reserved_);
    }
    return *this;
  }

  // Copies `s` into the arena; the returned view lives as long as the arena.
  // No alignment: strings are read with unaligned (memcpy) loads anyway, and
  // packing them back to back keeps a vocabulary in as few lines as possible.
  std::string_view copy(std::string_view s) {
    if (s.empty()) return std::string_view(empty_, 0);  // never null data()
    if (static_cast<std::size_t>(end_ - cur_) < s.size()) grow(s.size());
    char* dst = cur_;
    std::memcpy(dst, s.data(), s.size());
    cur_ += s.size();
    used_ += s.size();
    return std::string_view(dst, s.size());
  }

  std::size_t bytes_used() const { return used_; }          // string bytes
  std::size_t bytes_reserved() const { return reserved_; }  // chunk bytes
  std::size_t chunks() const { return chunks_.size(); }

 private:
  void grow(std::size_t need) {
    next_ = std::min(next_ * 2, kMaxChunk);
    // A string longer than a chunk gets a chunk of its own size: no upper
    // limit on string length, no wasted tail larger than kMaxChunk.
    std::size_t size = std::max(need, next_);
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    cur_ = chunks_.back().get();
    end_ = cur_ + size;
    reserved_ += size;
  }

  std::vector<std::unique_ptr<char[]>> chunks_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  std::size_t next_ = kFirstChunk / 2;
  std::size_t used_ = 0;
  std::size_t reserved_ = 0;
  static inline const char empty_[1] = {0};
};

}  // namespace cachetick::strings

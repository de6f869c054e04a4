// The seed cookbook's interner ("Pattern 7"), kept as the naive baseline:
// a linear scan over every stored string per intern, O(distinct) compares.
//
// The seed's defects are fixed, its algorithm is not:
//  - strcmp on NUL-terminated strings -> length + memcmp on string_view, so
//    embedded NUL bytes and the empty string work;
//  - unchecked realloc -> std::vector (throws std::bad_alloc, never writes
//    through a null pointer);
//  - get_interned_string returned NULL for a bad id -> throws out_of_range;
//  - one strdup per string stays (one heap block each, as in the seed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cachetick::strings {

class NaiveInterner {
 public:
  std::uint32_t intern(std::string_view s) {
    for (std::size_t i = 0; i < views_.size(); ++i) {
      const std::string_view v = views_[i];
      // memcmp with a null pointer is undefined even for 0 bytes, and an
      // empty string_view may carry one.
      if (v.size() == s.size() && (s.empty() || std::memcmp(v.data(), s.data(), s.size()) == 0))
        return static_cast<std::uint32_t>(i);
    }
    if (views_.size() >= 0xFFFFFFFFull)
      throw std::length_error("cachetick::strings::NaiveInterner: more than 2^32-1 strings");
    // Each string its own block (the seed's strdup): its address never moves
    // when the vector of views grows.
    auto block = std::make_unique_for_overwrite<char[]>(s.size() + 1);
    if (!s.empty()) std::memcpy(block.get(), s.data(), s.size());
    block[s.size()] = '\0';
    blocks_.push_back(std::move(block));
    views_.emplace_back(blocks_.back().get(), s.size());
    return static_cast<std::uint32_t>(views_.size() - 1);
  }

  std::string_view view(std::uint32_t id) const {
    if (id >= views_.size())
      throw std::out_of_range("cachetick::strings::NaiveInterner: id " +
                              std::to_string(id) + " was never issued (" +
                              std::to_string(views_.size()) + " strings interned)");
    return views_[id];
  }

  std::size_t size() const { return views_.size(); }

 private:
  std::vector<std::string_view> views_;
  std::vector<std::unique_ptr<char[]>> blocks_;
};

}  // namespace cachetick::strings

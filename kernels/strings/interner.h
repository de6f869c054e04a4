// cachetick's string interner: string_view in, 32-bit id out, id back to
// string_view.
//
// Layout (what a lookup of an existing string touches):
//   slots_  open-addressing index, 8 B per slot = {hash tag:32 | id+1:32},
//           linear probing, load <= 1/2. A few hundred distinct strings fit
//           in 1024 slots = 8 KiB: L1-resident next to the data being parsed.
//   views_  id -> string_view (16 B each) into the arena: the id's bytes.
//   arena_  the distinct strings, each stored once, back to back.
// A hit costs: hash the input (~2-5 ns), one 8 B slot load, a 32-bit tag
// compare that rejects all but ~1 in 4 billion wrong candidates, then one
// views_ load and one full byte compare against the right string (which
// equality requires anyway). The string bytes of *other* strings are never
// touched, unlike a std::unordered_map<std::string, id> (node per key) or a
// linear scan. A hit does not allocate.
//
// Ids are dense (0, 1, 2, ... in first-seen order), so anything keyed by a
// string becomes an array indexed by its id.
//
// Not thread-safe (single writer, like std containers). Ids and views stay
// valid for the interner's life: growth rehashes slots_ only; strings never
// move (ByteArena chunks are never reallocated).
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/strings/arena.h"
#include "kernels/strings/hash.h"

namespace cachetick::strings {

using StringId = std::uint32_t;

template <class Hash = BytesHash>
class BasicInterner {
 public:
  // The largest id we can issue: slots store id+1 and keep 0 for "empty".
  static constexpr std::uint64_t kMaxStrings = 0xFFFFFFFEull;

  explicit BasicInterner(std::size_t expected_distinct = 0, Hash hash = Hash())
      : hash_(hash) {
    if (expected_distinct > kMaxStrings)
      throw std::length_error("cachetick::strings::Interner: expected_distinct > 2^32-2");
    std::size_t cap = kMinSlots;
    while (cap < 2 * expected_distinct) cap *= 2;
    slots_.assign(cap, 0);
    table_ = slots_.data();
    mask_ = cap - 1;
    views_.reserve(expected_distinct);
  }

  BasicInterner(const BasicInterner&) = delete;  // views point into arena_
  BasicInterner& operator=(const BasicInterner&) = delete;
  // A move hands over the table, the views and the arena chunks (views stay
  // valid: the bytes do not move). The source becomes a valid empty
  // interner: its table is the shared all-empty sentinel, so a probe finds
  // "absent" and the first insert allocates - no allocation in the move.
  BasicInterner(BasicInterner&& o) noexcept
      : hash_(o.hash_),
        slots_(std::move(o.slots_)),
        table_(std::exchange(o.table_, kEmptyTable)),
        mask_(std::exchange(o.mask_, 0)),
        views_(std::move(o.views_)),
        arena_(std::move(o.arena_)) {
    o.slots_.clear();
    o.views_.clear();
  }
  BasicInterner& operator=(BasicInterner&& o) noexcept {
    if (this != &o) {
      BasicInterner tmp(std::move(o));
      std::swap(hash_, tmp.hash_);
      slots_.swap(tmp.slots_);
      std::swap(table_, tmp.table_);
      std::swap(mask_, tmp.mask_);
      views_.swap(tmp.views_);
      std::swap(arena_, tmp.arena_);
    }
    return *this;
  }

  // The id of `s`, adding it if new. Existing strings: no allocation.
  // Forced inline: the hit path is ~40 instructions and callers loop over
  // it; a call would spill the table pointers and serialise the hashes.
  [[gnu::always_inline]] StringId intern(std::string_view s) {
    const std::uint64_t h = hash_(s);
    const std::uint64_t tag = h >> 32;  // high bits: independent of the slot
    // The probe loop looks at tags only; the byte compare sits after it,
    // once, so the compiler keeps the loop tiny instead of hoisting the
    // compare's set-up into registers (and spilling) for every probe.
    std::size_t i = h & mask_;
    std::uint64_t slot;
    while ((slot = table_[i]) != 0 && (slot >> 32) != tag) i = (i + 1) & mask_;
    if (slot == 0) return insert(s, h, i);
    const StringId id = static_cast<StringId>(slot) - 1;
    const std::string_view v = views_[id];
    if (v.size() == s.size() && bytes_equal(v.data(), s.data(), s.size())) [[likely]]
      return id;
    return intern_after_collision(s, h, (i + 1) & mask_);  // 1 in ~2^32
  }

  // The id of `s` if it was interned; never inserts, never allocates.
  [[gnu::always_inline]] std::optional<StringId> find(std::string_view s) const {
    const std::uint64_t h = hash_(s);
    return find_from(s, h, h & mask_);
  }

  // The string behind `id`; throws std::out_of_range for an id never issued.
  std::string_view view(StringId id) const {
    if (id >= views_.size()) [[unlikely]]
      throw std::out_of_range("cachetick::strings::Interner: id " +
                              std::to_string(id) + " was never issued (" +
                              std::to_string(views_.size()) + " strings interned)");
    return views_[id];
  }
  // Unchecked: for loops over ids known to be valid.
  std::string_view view_unchecked(StringId id) const { return views_[id]; }

  std::size_t size() const { return views_.size(); }
  std::size_t slot_count() const { return slots_.size(); }
  std::size_t string_bytes() const { return arena_.bytes_used(); }
  // Everything the interner owns on the heap (capacities, not sizes).
  std::size_t memory_bytes() const {
    return arena_.bytes_reserved() + slots_.capacity() * sizeof(std::uint64_t) +
           views_.capacity() * sizeof(std::string_view) +
           arena_.chunks() * sizeof(void*);
  }

 private:
  static constexpr std::size_t kMinSlots = 16;
  static constexpr std::uint64_t kEmptyTable[1] = {0};

  // The full probe (tag, then bytes, for every candidate) from slot i.
  std::optional<StringId> find_from(std::string_view s, std::uint64_t h, std::size_t i) const {
    const std::uint64_t tag = h >> 32;
    for (;; i = (i + 1) & mask_) {
      const std::uint64_t slot = table_[i];
      if (slot == 0) return std::nullopt;
      if ((slot >> 32) == tag) {
        const StringId id = static_cast<StringId>(slot) - 1;
        const std::string_view v = views_[id];
        if (v.size() == s.size() && bytes_equal(v.data(), s.data(), s.size())) return id;
      }
    }
  }

  // A 32-bit tag matched a different string: keep probing with full checks.
  [[gnu::noinline, gnu::cold]] StringId intern_after_collision(std::string_view s, std::uint64_t h,
                                                                std::size_t i) {
    const std::uint64_t tag = h >> 32;
    for (;; i = (i + 1) & mask_) {
      const std::uint64_t slot = table_[i];
      if (slot == 0) return insert(s, h, i);
      if ((slot >> 32) == tag) {
        const StringId id = static_cast<StringId>(slot) - 1;
        const std::string_view v = views_[id];
        if (v.size() == s.size() && bytes_equal(v.data(), s.data(), s.size())) return id;
      }
    }
  }

  // Out of line and cold: keeps the hit path (the loop callers inline) small.
  [[gnu::noinline, gnu::cold]] StringId insert(std::string_view s, std::uint64_t h, std::size_t i) {
    if (views_.size() >= kMaxStrings) [[unlikely]]
      throw std::length_error("cachetick::strings::Interner: more than 2^32-1 strings");
    // Keep load <= 1/2: linear probing's expected hit probe stays ~1.5 slots
    // and a miss ~2.5, so lookups are one cache line almost always.
    if (2 * (views_.size() + 1) > slots_.size()) {
      grow();
      i = h & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
    }
    const StringId id = static_cast<StringId>(views_.size());
    views_.push_back(arena_.copy(s));
    slots_[i] = ((h >> 32) << 32) | (std::uint64_t(id) + 1);
    return id;
  }

  // Rehash from the stored strings: slots keep only 32 bits of hash, and
  // growth is rare (log2 of the vocabulary), so recomputing is cheaper than
  // doubling every slot to keep the full hash.
  void grow() {
    std::vector<std::uint64_t> bigger(std::max(kMinSlots, slots_.size() * 2), 0);
    mask_ = bigger.size() - 1;
    for (std::size_t id = 0; id < views_.size(); ++id) {
      const std::uint64_t h = hash_(views_[id]);
      std::size_t i = h & mask_;
      while (bigger[i] != 0) i = (i + 1) & mask_;
      bigger[i] = ((h >> 32) << 32) | (std::uint64_t(id) + 1);
    }
    slots_.swap(bigger);
    table_ = slots_.data();
  }

  Hash hash_;
  std::vector<std::uint64_t> slots_;            // owns the table
  const std::uint64_t* table_ = kEmptyTable;    // slots_.data(), or the sentinel
  std::size_t mask_ = 0;
  std::vector<std::string_view> views_;
  ByteArena arena_;
};

using Interner = BasicInterner<>;

}  // namespace cachetick::strings

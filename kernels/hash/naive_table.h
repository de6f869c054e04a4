// The cookbook's L1 hash table ("Pattern 9" of the seed), with its bugs
// fixed and its design kept, as the baseline cachetick's L1Table is measured
// against.
//
// Kept from the cookbook (the design being taught against):
//  * identity hash: home = key & mask. Free to compute, but strided keys
//    (multiples of 256, say) all land on a few homes and form long runs;
//  * separate keys[] and values[] arrays: a hit touches two cache lines;
//  * key 0 marks an empty slot, so the probe loop tests "empty?" and
//    "equal?" on every slot.
//
// Fixed (each was a real bug):
//  * key 0 could not be stored (it read as an empty slot). It now lives out
//    of band (has_zero_/zero_value_), at the price of a branch per call;
//  * a full table made insert and lookup probe forever. At most slots - 1
//    keys go in the arrays, so an empty slot always ends a probe run, and
//    insert answers `full` beyond that;
//  * there was no erase. Erase uses backward-shift deletion (Knuth's
//    Algorithm R) rather than a tombstone, which would need a second
//    reserved key and lengthens probe runs under churn.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/hash/common.h"

namespace cachetick::hash {

class NaiveTable {
 public:
  // `slots` a power of two >= 2 (the cookbook's L1_HASH_SIZE was 4096).
  // Holds up to slots - 1 keys plus key 0.
  explicit NaiveTable(std::size_t slots) {
    if (slots < 2 || slots > (std::size_t{1} << 31) || !std::has_single_bit(slots))
      throw std::invalid_argument("NaiveTable: slots must be a power of two in [2, 2^31], got " +
                                  std::to_string(slots));
    keys_.assign(slots, 0);
    values_.assign(slots, 0);
    mask_ = static_cast<std::uint32_t>(slots - 1);
  }

  std::uint32_t get_or(std::uint32_t key, std::uint32_t absent) const {
    if (key == 0) return has_zero_ ? zero_value_ : absent;
    std::uint32_t i = key & mask_;
    while (keys_[i] != 0) {
      if (keys_[i] == key) return values_[i];
      i = (i + 1) & mask_;
    }
    return absent;
  }

  const std::uint32_t* find(std::uint32_t key) const {
    if (key == 0) return has_zero_ ? &zero_value_ : nullptr;
    const std::uint32_t i = slot_of(key);
    return keys_[i] == key ? &values_[i] : nullptr;
  }
  bool contains(std::uint32_t key) const { return find(key) != nullptr; }

  InsertResult insert(std::uint32_t key, std::uint32_t value) {
    if (key == 0) {
      const bool had = has_zero_;
      has_zero_ = true;
      zero_value_ = value;
      return had ? InsertResult::assigned : InsertResult::inserted;
    }
    const std::uint32_t i = slot_of(key);
    if (keys_[i] == key) {
      values_[i] = value;
      return InsertResult::assigned;
    }
    if (count_ == mask_) return InsertResult::full;  // keep one slot empty
    keys_[i] = key;
    values_[i] = value;
    ++count_;
    return InsertResult::inserted;
  }

  bool erase(std::uint32_t key) {
    if (key == 0) {
      const bool had = has_zero_;
      has_zero_ = false;
      return had;
    }
    std::uint32_t hole = slot_of(key);
    if (keys_[hole] != key) return false;
    // Algorithm R: walk the rest of the run; a key whose home does not lie
    // cyclically in (hole, j] can fill the hole, which then moves to j.
    for (std::uint32_t j = (hole + 1) & mask_; keys_[j] != 0; j = (j + 1) & mask_) {
      const std::uint32_t home = keys_[j] & mask_;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      keys_[hole] = keys_[j];
      values_[hole] = values_[j];
      hole = j;
    }
    keys_[hole] = 0;
    --count_;
    return true;
  }

  void clear() {
    keys_.assign(keys_.size(), 0);
    count_ = 0;
    has_zero_ = false;
  }

  template <class F>
  void for_each(F&& f) const {
    if (has_zero_) f(std::uint32_t{0}, zero_value_);
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] != 0) f(keys_[i], values_[i]);
  }

  std::size_t size() const { return count_ + (has_zero_ ? 1 : 0); }
  bool empty() const { return size() == 0; }
  std::size_t max_entries() const { return mask_ + std::size_t{1}; }  // slots - 1, plus key 0
  std::size_t slot_count() const { return keys_.size(); }
  std::size_t bytes() const { return 2 * keys_.size() * sizeof(std::uint32_t); }

 private:
  // The key's slot, or the empty slot where it would go (key != 0).
  std::uint32_t slot_of(std::uint32_t key) const {
    std::uint32_t i = key & mask_;  // the identity hash
    while (keys_[i] != 0 && keys_[i] != key) i = (i + 1) & mask_;
    return i;
  }

  std::vector<std::uint32_t> keys_;  // 0 = empty
  std::vector<std::uint32_t> values_;
  std::uint32_t mask_ = 0;
  std::size_t count_ = 0;  // keys in the arrays (key 0 excluded)
  bool has_zero_ = false;
  std::uint32_t zero_value_ = 0;
};

}  // namespace cachetick::hash

// cachetick's L1-sized hash table: u32 -> u32, open addressing.
//
// The lesson in one paragraph. A lookup in a table that lives in L1 costs a
// hash, one load and a compare: ~10 core cycles end to end. Everything in
// this file serves that single load:
//
//  * Interleaved 8-byte slots {key, value}. One load returns both, so a hit
//    never touches a second cache line (the cookbook's separate keys[] and
//    values[] arrays cost two lines per hit), and 8 slots share a 64 B line,
//    so the short probe runs below stay inside the line already fetched.
//  * Fibonacci (multiplicative) hash, x = key * 2654435769 mod 2^32, home
//    slot = the TOP bits of x. One imul and one shift, no mask; the top bits
//    mix every key bit, so strided keys spread out (the identity hash piles
//    them into a few slots). The multiplier is odd, so the hash is a
//    bijection: the table stores x instead of the key (key = x * inverse).
//  * Ordered linear probing (Amble & Knuth 1974; Robin Hood with ties broken
//    by hash): each run of occupied slots is sorted by x. A lookup walks
//    forward while the resident x is smaller (circularly) than its own and
//    stops at the first slot that is not: a hit if equal, a miss otherwise.
//    Misses stop as early as hits, without probing to an empty slot.
//  * Empty slots need no flag and steal no key. Empty slot i holds
//    x = (i + 1) << shift: the smallest hash whose home is the NEXT slot.
//    Every lookup that reaches slot i started at or before i, so its x is
//    smaller: the empty slot stops it and never equals it. All 2^32 keys,
//    0 and UINT32_MAX included, are storable, and the probe loop has one
//    compare per slot: no "is it empty?" branch, no metadata byte array.
//  * A 4-slot window, branch-free. get_or compares 4 slots at once (SSE2:
//    a shuffle, a subtract, a movmskps, a tzcnt) and picks the value with
//    a cmov. A one-slot-at-a-time loop exits after a data-dependent number
//    of slots, and at 3/4 load only ~36% of keys sit in their home slot, so
//    it mispredicts on most lookups (get_or_scalar keeps it, for the
//    lesson). 4 slots (32 B) rather than 8: fewer uops and fewer lookups
//    that straddle two lines, for ~14% of lookups that continue past the
//    window (measured faster than 8 at 3/4 and at 1/2 load).
//  * Erase is backward-shift deletion, not tombstones: the followers of the
//    erased key slide one slot back, so probe runs stay as short after
//    heavy erase/insert churn as after the first fill (tombstones lengthen
//    every miss until a rehash).
//  * Bounded, never-infinite probing. Inserts beyond max_entries (3/4 of the
//    slots by default) answer `full`, and so does an insert that would push
//    any key more than max_disp = slots/2 - 3 slots from its home. Tables
//    sized by slots_for() have at least 256 slots or hold at most
//    max_disp + 1 keys, so only crafted keys sharing one home can hit that
//    bound. The bound is what makes the circular compare exact: two hashes
//    compared in one probe are always less than half the ring apart.
//
// Sizing: slots are a power of two >= 16; the default load is 3/4, so the
// L1 point of the benchmarks, 3072 keys, lives in 4096 slots = 32 KiB, which
// leaves a third of this machine's 48 KiB L1d for everything else.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "kernels/hash/common.h"

namespace cachetick::hash {

class L1Table {
 public:
  static constexpr std::uint32_t kMul = 2654435769u;  // 2^32 / golden ratio, odd
  static constexpr std::uint32_t kInv = 340573321u;   // kMul * kInv == 1 mod 2^32
  static constexpr std::size_t kMinSlots = 16;
  static constexpr std::uint32_t kWindow = 4;  // slots compared at once by a lookup

  static std::uint32_t hash(std::uint32_t key) { return key * kMul; }
  static std::uint32_t unhash(std::uint32_t x) { return x * kInv; }

  // Slots needed to hold max_entries at the default 3/4 load.
  static std::size_t slots_for(std::size_t max_entries) {
    if (max_entries == 0 || max_entries > (std::size_t{3} << 29))
      throw std::invalid_argument("L1Table: max_entries must be in [1, 3 * 2^29], got " +
                                  std::to_string(max_entries));
    std::size_t need = (max_entries * 4 + 2) / 3;
    std::size_t slots = std::bit_ceil(need < kMinSlots ? kMinSlots : need);
    // Small tables: make the displacement bound unreachable (a run of n keys
    // displaces none by more than n - 1), so `full` means max_entries.
    while (slots < 256 && max_entries + 2 > slots / 2) slots *= 2;
    return slots;
  }

  // A table for up to max_entries keys in slots_for(max_entries) slots.
  explicit L1Table(std::size_t max_entries)
      : L1Table(slots_for(max_entries), max_entries) {}

  // Explicit geometry: `slots` a power of two in [16, 2^31], and
  // 1 <= max_entries <= slots * 3/4 (keeps probe runs short). A small table
  // filled near 3/4 may answer `full` early on the displacement bound.
  L1Table(std::size_t slots, std::size_t max_entries) {
    if (slots < kMinSlots || slots > (std::size_t{1} << 31) || !std::has_single_bit(slots))
      throw std::invalid_argument("L1Table: slots must be a power of two in [16, 2^31], got " +
                                  std::to_string(slots));
    if (max_entries == 0 || max_entries > slots / 4 * 3)
      throw std::invalid_argument("L1Table: max_entries must be in [1, slots*3/4], got " +
                                  std::to_string(max_entries));
    mask_ = static_cast<std::uint32_t>(slots - 1);
    shift_ = 32u - static_cast<unsigned>(std::countr_zero(slots));
    max_entries_ = max_entries;
    max_disp_ = static_cast<std::uint32_t>(slots / 2 - 3);
    // 64 B aligned: a slot never straddles lines and 8 slots share one.
    // kWindow - 1 mirror slots after the end let the window read past the
    // last slot without a wrap test.
    slots_ = static_cast<Slot*>(
        ::operator new((slots + kWindow) * sizeof(Slot), std::align_val_t{64}));
    clear();
  }

  L1Table(const L1Table&) = delete;
  L1Table& operator=(const L1Table&) = delete;
  ~L1Table() { ::operator delete(slots_, std::align_val_t{64}); }

  // The value of `key`, or `absent`. Branch-free unless the answer lies 4
  // or more slots past home: compare a window of 4 slots at once, take the
  // first slot that is not before x, and select its value with a cmov.
  std::uint32_t get_or(std::uint32_t key, std::uint32_t absent) const {
    const std::uint32_t x = hash(key);
    const Slot s = slots_[locate(x)];
    return select_if_equal(s.x, x, s.value, absent);
  }

  // The same answer from the one-slot-at-a-time loop: a branch per probed
  // slot. Kept for the lesson (benchmark variant ct_scalar): it loses on
  // independent lookups (mispredicts) but wins on dependent ones, where a
  // correct guess of the probe length lets the next lookup start before
  // this one's compare resolves.
  std::uint32_t get_or_scalar(std::uint32_t key, std::uint32_t absent) const {
    const std::uint32_t x = hash(key);
    std::uint32_t i = x >> shift_;
    Slot s = slots_[i];
    while (static_cast<std::int32_t>(s.x - x) < 0) {
      i = (i + 1) & mask_;
      s = slots_[i];
    }
    return s.x == x ? s.value : absent;
  }

  // Pointer to the value of `key`, nullptr if absent (valid until the next
  // insert or erase, which may move entries).
  const std::uint32_t* find(std::uint32_t key) const {
    const auto i = static_cast<std::uint32_t>(locate(hash(key)) & mask_);
    return slots_[i].x == hash(key) ? &slots_[i].value : nullptr;
  }
  bool contains(std::uint32_t key) const { return find(key) != nullptr; }

  // Inserts key -> value, or assigns value if key is present.
  InsertResult insert(std::uint32_t key, std::uint32_t value) {
    const std::uint32_t x = hash(key);
    const auto at = static_cast<std::uint32_t>(locate(x) & mask_);
    if (slots_[at].x == x) {  // present (an empty slot never equals x)
      slots_[at].value = value;
      if (at < kWindow - 1) sync_mirror();
      return InsertResult::assigned;
    }
    if (count_ == max_entries_) return InsertResult::full;
    // x goes to `at`; the run from `at` to the next empty slot moves one
    // slot forward. Every key that moves sorts after x, so its home is at or
    // after x's and it lands at most end - home(x) from home: one check
    // bounds them all, before anything moves (a refused insert changes
    // nothing). It can refuse a little early, and only for runs longer than
    // max_disp_, which random keys do not build.
    std::uint32_t end = at;
    while (!empty(end)) end = (end + 1) & mask_;
    if (((end - (x >> shift_)) & mask_) > max_disp_) return InsertResult::full;
    for (std::uint32_t j = end; j != at;) {
      const std::uint32_t prev = (j - 1) & mask_;
      slots_[j] = slots_[prev];
      j = prev;
    }
    slots_[at] = Slot{x, value};
    if (at < kWindow - 1 || end < at) sync_mirror();  // touched a mirrored slot
    ++count_;
    return InsertResult::inserted;
  }

  // Removes key; false if it was absent. Backward-shift deletion: followers
  // that are not in their home slot move back one, keeping every run sorted
  // and as short as if the key had never been inserted.
  bool erase(std::uint32_t key) {
    const std::uint32_t x = hash(key);
    const auto at = static_cast<std::uint32_t>(locate(x) & mask_);
    if (slots_[at].x != x) return false;
    std::uint32_t j = at;
    for (;;) {
      const std::uint32_t next = (j + 1) & mask_;
      // Stop at a key in its home slot (distance 0) or an empty slot (its
      // sentinel reads as distance slots-1): one unsigned compare for both.
      if (disp(next, slots_[next].x) - 1u >= max_disp_) break;
      slots_[j] = slots_[next];
      j = next;
    }
    slots_[j] = Slot{sentinel(j), 0};
    if (at < kWindow - 1 || j < at) sync_mirror();  // touched a mirrored slot
    --count_;
    return true;
  }

  void clear() {
    for (std::uint32_t i = 0; i <= mask_; ++i) slots_[i] = Slot{sentinel(i), 0};
    sync_mirror();
    count_ = 0;
  }

  // Calls f(key, value) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i = 0; i <= mask_; ++i)
      if (!empty(i)) f(unhash(slots_[i].x), slots_[i].value);
  }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::size_t max_entries() const { return max_entries_; }
  std::size_t max_displacement() const { return max_disp_; }
  std::size_t slot_count() const { return std::size_t{mask_} + 1; }
  std::size_t bytes() const { return slot_count() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t x;  // hash(key), or sentinel(i) when the slot is empty
    std::uint32_t value;
  };
  static_assert(sizeof(Slot) == 8);

  std::uint32_t sentinel(std::uint32_t i) const { return ((i + 1) & mask_) << shift_; }
  bool empty(std::uint32_t i) const { return slots_[i].x == sentinel(i); }
  // Distance of a key with hash x, sitting in slot i, from its home slot.
  std::uint32_t disp(std::uint32_t i, std::uint32_t x) const { return (i - (x >> shift_)) & mask_; }

  // First slot on x's probe run whose resident is not before x: x's slot if
  // present, else where x belongs. May return an index in the mirror
  // [slots, slots + kWindow - 1): reads only, callers that write use & mask_.
  std::size_t locate(std::uint32_t x) const {
    const std::size_t home = x >> shift_;  // size_t: no zero-extension in the address math
    const std::size_t stop = window_stop(slots_ + home, x);
    if (stop < kWindow) [[likely]]
      return home + stop;
    std::size_t i = (home + kWindow) & mask_;
    while (static_cast<std::int32_t>(slots_[i].x - x) < 0) i = (i + 1) & mask_;
    return i;
  }

  // a == b ? value : absent, as a cmov. GCC 12 compiles the plain `?:`
  // (and its mask equivalents) into a branch or five ALU ops; the branch
  // mispredicts on half the lookups of a 50/50 hit/miss stream.
  static std::uint32_t select_if_equal(std::uint32_t a, std::uint32_t b, std::uint32_t value,
                                       std::uint32_t absent) {
#if defined(__x86_64__) && defined(__GNUC__)
    asm("cmpl %[b], %[a]\n\tcmovne %[absent], %[value]"
        : [value] "+r"(value)
        : [a] "r"(a), [b] "r"(b), [absent] "r"(absent)
        : "cc");
    return value;
#else
    return a == b ? value : absent;
#endif
  }

  // Position in w[0..4) of the first slot whose resident is not before x,
  // 4 if there is none. SSE (every x86-64): one shuffle gathers the 4
  // hashes, one subtract and one movmskps read the 4 "before x" sign bits.
  static std::uint32_t window_stop(const Slot* w, std::uint32_t x) {
#if defined(__SSE2__)
    const __m128i xs = _mm_set1_epi32(static_cast<int>(x));
    const auto* p = reinterpret_cast<const float*>(w);
    const __m128 a = _mm_loadu_ps(p), b = _mm_loadu_ps(p + 4);  // x0 v0 x1 v1 | x2 v2 x3 v3
    const __m128i hashes = _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
    const unsigned before =
        static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_sub_epi32(hashes, xs))));
    // ~before has bit 4 set: 4 = "none". (The | 0x10 tells GCC the operand
    // is nonzero, so it emits no zero test.)
    return static_cast<std::uint32_t>(std::countr_zero(~before | 0x10u));
#else
    std::uint32_t k = 0;
    while (k < kWindow && static_cast<std::int32_t>(w[k].x - x) < 0) ++k;
    return k;
#endif
  }

  // The window may read up to 3 slots past the last one: keep a copy of
  // the first 3 there (24 bytes, cheaper than a wrap test per lookup).
  void sync_mirror() { std::memcpy(slots_ + mask_ + 1, slots_, (kWindow - 1) * sizeof(Slot)); }

  Slot* slots_ = nullptr;
  std::uint32_t mask_ = 0;
  unsigned shift_ = 0;
  std::uint32_t max_disp_ = 0;
  std::size_t count_ = 0;
  std::size_t max_entries_ = 0;
};

}  // namespace cachetick::hash

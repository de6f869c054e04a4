// cachetick's L1-sized hash table: u32 -> u32, open addressing.
//
// The lesson in one paragraph. A lookup in a table that lives in L1 costs a
// hash, one load and a compare: ~10 core cycles end to end. Everything in
// this file serves that single load, and keeps the instructions around it
// few, because a lookup is judged twice: by throughput (independent
// lookups: the core overlaps several, so what counts is the number of uops
// and mispredicts) and by latency (a chain where each answer is the next
// key: what counts is the length of the dependent path). One probe serves
// both here.
//
//  * Interleaved 8-byte slots {key, value}. One load returns both, so a hit
//    never touches a second cache line (the cookbook's separate keys[] and
//    values[] arrays cost two lines per hit), and 8 slots share a 64 B line.
//  * Fibonacci (multiplicative) hash, x = key * 2654435769 mod 2^32, home
//    slot = the TOP bits of x. One imul and one shift, no mask; the top bits
//    mix every key bit, so strided keys spread out (the identity hash piles
//    them into a few slots). The multiplier is odd, so the hash is a
//    bijection: the table stores x instead of the key (key = x * inverse).
//  * Ordered linear probing (Amble & Knuth 1974; Robin Hood with ties broken
//    by hash): each run of occupied slots is sorted by x. A probe stops at
//    the first slot whose resident is not before x (circularly): a hit if
//    equal, a miss otherwise. Misses stop as early as hits, without probing
//    to an empty slot.
//  * Empty slots need no flag and steal no key. Empty slot i holds
//    x = (i + 1) << shift: the smallest hash whose home is the NEXT slot.
//    Every lookup that reaches slot i started at or before i, so its x is
//    smaller: the empty slot stops it and never equals it. All 2^32 keys,
//    0 and UINT32_MAX included, are storable, with no metadata array.
//  * Load at most 1/2 by default, and a 2-slot probe. At 1/2 load 89% of
//    keys sit in their home slot or the next one, and most misses stop
//    there too, so get_or reads those two slots (16 bytes, one line 7 times
//    in 8), picks the answer with two cmovs, and branches on to a loop only
//    when the second slot is still before x: a branch taken on ~11% of
//    lookups. Per lookup that is ~15 instructions and no data-dependent
//    branch in the common case, so hits and misses mixed at random cost no
//    mispredicts; and on a dependent chain the critical path is imul ->
//    shift -> load -> cmp -> cmov -> cmov (~13 cycles), as the exit branch
//    is predicted and the core runs on before it resolves.
//    Tried and measured slower (kernels/hash/README.md): a 4-slot SSE2
//    window at 3/4 load (shuffle, movmskps and tzcnt put ~10 cycles in front
//    of the load of the answer: 2x the chain), and an absl-style tag byte
//    per slot (a miss reads only the tags, but every lookup pays ~40
//    instructions).
//  * Erase is backward-shift deletion, not tombstones: the followers of the
//    erased key slide one slot back, so probe runs stay as short after
//    heavy erase/insert churn as after the first fill (tombstones lengthen
//    every miss until a rehash).
//  * Bounded, never-infinite probing. Inserts beyond max_entries answer
//    `full`, and so does an insert that would push any key more than
//    max_disp = slots/2 - 3 slots from its home. Tables sized by slots_for()
//    have at least 256 slots or hold at most max_disp + 1 keys, so only
//    crafted keys sharing one home can hit that bound. An explicit small
//    geometry loaded past 1/2 can hit it with random keys: L1Table(16, 12)
//    refused early in 23% of random fills (README). The bound is what
//    makes the circular compare exact: two hashes compared in one probe are
//    always less than half the ring apart.
//
// Sizing: slots are a power of two >= 16, twice the keys by default. 2048
// keys live in 4096 slots = 32 KiB, two thirds of this machine's 48 KiB L1d;
// 4096 keys take 8192 slots = 64 KiB (L1 + L2): independent lookups hide
// the L2 hits, a chain pays some of them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/hash/common.h"

namespace cachetick::hash {

class L1Table {
 public:
  static constexpr std::uint32_t kMul = 2654435769u;  // 2^32 / golden ratio, odd
  static constexpr std::uint32_t kInv = 340573321u;   // kMul * kInv == 1 mod 2^32
  static constexpr std::size_t kMinSlots = 16;

  static std::uint32_t hash(std::uint32_t key) { return key * kMul; }
  static std::uint32_t unhash(std::uint32_t x) { return x * kInv; }

  // Slots needed to hold max_entries at the default load of 1/2.
  static std::size_t slots_for(std::size_t max_entries) {
    if (max_entries == 0 || max_entries > (std::size_t{1} << 30))
      throw std::invalid_argument("L1Table: max_entries must be in [1, 2^30], got " +
                                  std::to_string(max_entries));
    const std::size_t need = max_entries * 2;
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
  // 1 <= max_entries <= slots * 3/4. Above 1/2 load lookups stay correct
  // but leave the 2-slot fast path more often (39% of hits at 3/4), and a
  // small table filled near 3/4 may answer `full` early on the
  // displacement bound.
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
    // One mirror slot after the end (a copy of slot 0) lets get_or read
    // home + 1 without a wrap test.
    slots_ = static_cast<Slot*>(::operator new((slots + 1) * sizeof(Slot), std::align_val_t{64}));
    clear();
  }

  L1Table(const L1Table&) = delete;
  L1Table& operator=(const L1Table&) = delete;
  ~L1Table() { ::operator delete(slots_, std::align_val_t{64}); }

  // The value of `key`, or `absent`. Reads the home slot and the next one
  // (sorted runs: if x is in the table and not past them, it is one of
  // them; if slot home + 1 is not before x, nothing further can be x) and
  // selects with cmovs. Branches to the loop only when slot home + 1 is
  // still before x: ~11% of lookups at 1/2 load, predicted not taken.
  // For independent lookups and for dependent chains alike.
  std::uint32_t get_or(std::uint32_t key, std::uint32_t absent) const {
    const std::uint32_t x = hash(key);
    const std::size_t home = x >> shift_;  // size_t: no zero-extension in the address math
    const Slot* p = slots_ + home;
    const Slot s0 = p[0], s1 = p[1];  // p[1] may be the mirror of slot 0
    if (before(s1.x, x)) [[unlikely]] {
      std::size_t i = (home + 2) & mask_;
      while (before(slots_[i].x, x)) i = (i + 1) & mask_;
      return slots_[i].x == x ? slots_[i].value : absent;
    }
    // At most one of s0, s1 equals x (an empty slot there never does).
    return select_if_equal(s0.x, x, s0.value, select_if_equal(s1.x, x, s1.value, absent));
  }

  // The same answer from the one-slot-at-a-time loop: a branch per probed
  // slot. Kept for the lesson (benchmark variant ct_scalar). On a chain its
  // critical path is shorter when the key is at home (imul -> shift ->
  // load, the compare is speculated past), but 36% of keys at 1/2 load are
  // not, and each of those is a mispredict; on a 50/50 hit/miss stream its
  // exit branch is a coin flip.
  std::uint32_t get_or_scalar(std::uint32_t key, std::uint32_t absent) const {
    const std::uint32_t x = hash(key);
    std::uint32_t i = x >> shift_;
    Slot s = slots_[i];
    while (before(s.x, x)) {
      i = (i + 1) & mask_;
      s = slots_[i];
    }
    return s.x == x ? s.value : absent;
  }

  // Pointer to the value of `key`, nullptr if absent (valid until the next
  // insert or erase, which may move entries).
  const std::uint32_t* find(std::uint32_t key) const {
    const std::uint32_t x = hash(key);
    const std::uint32_t i = locate(x);
    return slots_[i].x == x ? &slots_[i].value : nullptr;
  }
  bool contains(std::uint32_t key) const { return find(key) != nullptr; }

  // Inserts key -> value, or assigns value if key is present.
  InsertResult insert(std::uint32_t key, std::uint32_t value) {
    const std::uint32_t x = hash(key);
    const std::uint32_t at = locate(x);
    if (slots_[at].x == x) {  // present (an empty slot never equals x)
      slots_[at].value = value;
      if (at == 0) sync_mirror();
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
    if (at == 0 || end < at) sync_mirror();  // touched slot 0
    ++count_;
    return InsertResult::inserted;
  }

  // Removes key; false if it was absent. Backward-shift deletion: followers
  // that are not in their home slot move back one, keeping every run sorted
  // and as short as if the key had never been inserted.
  bool erase(std::uint32_t key) {
    const std::uint32_t x = hash(key);
    const std::uint32_t at = locate(x);
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
    if (at == 0 || j < at) sync_mirror();  // touched slot 0
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

  // For tests: the mirror slot equals slot 0.
  bool mirror_consistent() const {
    return slots_[mask_ + 1].x == slots_[0].x && slots_[mask_ + 1].value == slots_[0].value;
  }

 private:
  struct Slot {
    std::uint32_t x;  // hash(key), or sentinel(i) when the slot is empty
    std::uint32_t value;
  };
  static_assert(sizeof(Slot) == 8);

  // "a is before b" on the hash ring (exact: a probe never compares hashes
  // half a ring apart, see max_disp_).
  static bool before(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
  std::uint32_t sentinel(std::uint32_t i) const { return ((i + 1) & mask_) << shift_; }
  bool empty(std::uint32_t i) const { return slots_[i].x == sentinel(i); }
  // Distance of a key with hash x, sitting in slot i, from its home slot.
  std::uint32_t disp(std::uint32_t i, std::uint32_t x) const { return (i - (x >> shift_)) & mask_; }

  // First slot on x's probe run whose resident is not before x: x's slot if
  // present, else where x belongs.
  std::uint32_t locate(std::uint32_t x) const {
    std::uint32_t i = x >> shift_;
    while (before(slots_[i].x, x)) i = (i + 1) & mask_;
    return i;
  }

  // a == b ? value : absent, as a cmov. GCC 12 compiles the plain `?:`
  // (and its mask equivalents) into a branch or five ALU ops; the branch
  // mispredicts on half the lookups of a 50/50 hit/miss stream, and 36% of
  // the links of a chain (keys not in their home slot).
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

  // get_or may read slot home + 1 = one past the last: keep a copy of
  // slot 0 there (8 bytes, cheaper than a wrap test per lookup).
  void sync_mirror() { slots_[mask_ + 1] = slots_[0]; }

  Slot* slots_ = nullptr;
  std::uint32_t mask_ = 0;
  unsigned shift_ = 0;
  std::uint32_t max_disp_ = 0;
  std::size_t count_ = 0;
  std::size_t max_entries_ = 0;
};

}  // namespace cachetick::hash

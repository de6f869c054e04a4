// A single-producer, single-consumer ring of fixed-size messages.
//
// Two threads hand messages over through a power-of-two array of slots and
// two counters: the producer owns `tail` (next slot to write), the consumer
// owns `head` (next slot to read). Each side writes only its own counter and
// reads the other's, so no lock and no read-modify-write instruction is
// needed: a release store publishes a counter, an acquire load reads it (on
// x86 both are plain MOVs; the ordering costs nothing but the compiler's
// restraint). What a message costs is then decided by cache lines moving
// between the two cores, ~100-200 ns a round trip on a VM's cores, and the
// design is about moving as few of them as possible:
//
//  * The counters are free-running 64-bit integers: slot = counter & mask,
//    full = tail - head == N, empty = tail == head. No slot is sacrificed to
//    tell full from empty, and a 64-bit counter does not wrap in practice.
//  * Each counter sits on its own 64-byte line, next to the private copy the
//    same thread keeps of the OTHER counter; the slots start on a line of
//    their own. Counters sharing a line (the textbook layout) make every
//    push invalidate the consumer's copy of head as well, and every pop the
//    producer's copy of tail: false sharing on every message.
//  * Cached counters (Rigtorp's SPSCQueue; also in folly's
//    ProducerConsumerQueue's descendants): the producer reads the consumer's
//    head only when its private copy says the ring is full, the consumer
//    reads tail only when its copy says empty. A consumer that is behind
//    then drains a whole run of messages per read of tail, one cross-core
//    line transfer for many messages instead of one per message. With
//    CacheCounters = false both sides read the other's counter every time
//    (the ct_ring_nocache row).
//  * Slots are copied whole (T must be trivially copyable): a 64-byte message
//    is one line; 16-byte messages share a line four by four, so the
//    consumer takes a line only once the producer has filled it - if it is
//    behind.
//
// Not for more than one producer or more than one consumer: two producers
// would write the same slot. Capacity is fixed at compile time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace cachetick::buffers {

inline constexpr std::size_t kLine = 64;

template <class T, std::size_t Capacity, bool CacheCounters = true>
class SpscRing {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "SpscRing: capacity must be a power of two");
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing: messages are copied as bytes");

 public:
  static constexpr std::size_t capacity() { return Capacity; }

  // Producer only. False (and nothing written) when the ring is full.
  bool try_push(const T& v) {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_seen_ == Capacity) {
      head_seen_ = head_.load(std::memory_order_acquire);  // the consumer's progress
      if (t - head_seen_ == Capacity) return false;
    }
    slots_[t & kMask] = v;
    tail_.store(t + 1, std::memory_order_release);  // publishes the slot
    return true;
  }

  // Consumer only. False (and `out` untouched) when the ring is empty.
  bool try_pop(T& out) {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_seen_) {
      tail_seen_ = tail_.load(std::memory_order_acquire);  // the producer's progress
      if (h == tail_seen_) return false;
    }
    out = slots_[h & kMask];
    head_.store(h + 1, std::memory_order_release);  // frees the slot
    return true;
  }

  // Either side; exact only when the other side is idle.
  std::size_t size_approx() const {
    return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }

 private:
  static constexpr std::uint64_t kMask = Capacity - 1;

  // Without caching, the "seen" copies are re-read on every call: a
  // reference that forwards to the shared counter.
  struct Forward {
    const std::atomic<std::uint64_t>* c;
    operator std::uint64_t() const { return c->load(std::memory_order_acquire); }
    Forward& operator=(std::uint64_t) { return *this; }
  };
  using Seen = std::conditional_t<CacheCounters, std::uint64_t, Forward>;

  // Producer's line: its counter and its copy of the consumer's.
  alignas(kLine) std::atomic<std::uint64_t> tail_{0};
  Seen head_seen_ = seen_init(head_);
  // Consumer's line.
  alignas(kLine) std::atomic<std::uint64_t> head_{0};
  Seen tail_seen_ = seen_init(tail_);
  alignas(kLine) T slots_[Capacity]{};  // zeroed once: never read before written, but GCC cannot tell

  static Seen seen_init(const std::atomic<std::uint64_t>& c) {
    if constexpr (CacheCounters)
      return 0;
    else
      return Forward{&c};
  }
};

}  // namespace cachetick::buffers

// False sharing: per-thread counters that share a cache line.
//
// The lesson. Caches keep coherence per LINE (64 B on every x86-64 core),
// not per variable. A core may write a line only while it holds the only
// copy (MESI's Modified/Exclusive), so when two cores each write their OWN
// counter, and the two counters sit in one line, every write by one core
// invalidates the other core's copy, and that core's next write must fetch
// the line back across the chip (tens of ns: an L3 or cross-CCX transfer,
// more on a VM whose vCPUs sit on different dies). Nothing is shared in the
// program: the counters are distinct objects, no increment is lost, no
// lock is taken. Only the line is shared, hence "false" sharing, and the
// whole cost is coherence traffic.
//
// The layouts below hold one counter per worker:
//   Packed      8 B apart: up to eight workers' counters in one line.
//   Padded      kLineStride apart (std::hardware_destructive_interference_size,
//               64 B with GCC 12 on x86-64: see line.h): one line each.
//   Padded128   128 B apart: one line each AND an untouched neighbour line,
//               for cores whose L2 prefetcher fetches lines in 128 B pairs
//               (Intel's spatial prefetcher; AMD documents an "adjacent
//               line" L2 prefetcher too).
// and two ways to count:
//   count_in_place   every increment is a load, add and store of the shared
//                    counter (what `++stats[thread_id]` compiles to);
//   count_locally    increments go to a register; the counter is written
//                    once at the end: the structural fix, no line to share.
//
// The increment is a relaxed atomic load + store, not fetch_add: each
// counter has ONE writer, so no read-modify-write is needed, and atomics
// (unlike a plain uint64_t) keep the compiler from merging the n stores
// into one and let another thread read the counter at any time. A
// fetch_add would add a locked instruction (~8-20 cycles on its own) to
// every increment and hide part of the effect under its own cost.
//
// The second pattern is the classic "flag next to the lock": a counter one
// thread writes all the time, and beside it a flag every other thread
// reads on every iteration (a stop request, a configuration epoch) but
// nobody writes. Each write invalidates the readers' copies; each read
// pulls the line back to Shared, so the writer's next write must invalidate
// again. Moving the flag to a line of its own (FlagApart) makes its reads
// L1 hits again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/sharing/line.h"

namespace cachetick::sharing {

// Workers a layout has room for (more than any machine we run on has cores
// to give one benchmark).
inline constexpr unsigned kMaxWorkers = 64;

using Counter = std::atomic<std::uint64_t>;
static_assert(Counter::is_always_lock_free);

// Keeps `v` in a register the compiler must assume is read and changed
// here: the loop below stays one add per increment instead of being folded
// into `local += n`. Emits no instruction.
inline void keep(std::uint64_t& v) {
#if defined(__GNUC__)
  asm volatile("" : "+r"(v));
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// ---- the layouts ----------------------------------------------------------------

// One counter per worker, Stride bytes apart. Stride = sizeof(Counter) is
// the packed array; a Stride of a line or more gives each counter its own.
template <std::size_t Stride>
struct Counters {
  static_assert(Stride >= sizeof(Counter) && (Stride & (Stride - 1)) == 0);
  static constexpr std::size_t stride = Stride;

  struct alignas(Stride) Slot {
    Counter value{0};
  };
  static_assert(sizeof(Slot) == Stride);

  Slot slot[kMaxWorkers];

  Counter& operator[](unsigned w) { return slot[w].value; }
  const Counter& operator[](unsigned w) const { return slot[w].value; }
};

using Packed = Counters<sizeof(Counter)>;
using Padded = Counters<kLineStride>;
using Padded128 = Counters<128>;

// The flag and the hot counter side by side: one line.
struct FlagBeside {
  Counter hot{0};
  std::atomic<std::uint32_t> stop{0};
};
static_assert(sizeof(FlagBeside) == 16);

// The same two fields a padding unit apart: two lines.
struct FlagApart {
  alignas(kLineStride) Counter hot{0};
  alignas(kLineStride) std::atomic<std::uint32_t> stop{0};
};
static_assert(sizeof(FlagApart) == 2 * kLineStride);

// ---- the increments ---------------------------------------------------------------

// One increment of a counter that only this worker writes.
inline void bump(Counter& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// n increments, each one a write of the counter's line.
inline void count_in_place(Counter& c, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) bump(c);
}

// n increments in a register, one write of the counter at the end.
inline void count_locally(Counter& c, std::uint64_t n) {
  std::uint64_t local = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    ++local;
    keep(local);
  }
  c.store(c.load(std::memory_order_relaxed) + local, std::memory_order_relaxed);
}

// n iterations of a loop that reads the flag each time and counts the
// iterations it found clear (all of them: nobody sets it while we measure).
template <class Flag>
std::uint64_t poll_flag(const Flag& f, std::uint64_t n) {
  std::uint64_t seen = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    seen += f.stop.load(std::memory_order_relaxed) == 0;
    keep(seen);
  }
  return seen;
}

// ---- jobs: what each worker of a crew (crew.h) runs on the shared block ----------

// Worker w increments its own counter n times, in place.
template <class Layout>
void own_counter_job(void* shared, unsigned w, std::uint64_t n) {
  count_in_place((*static_cast<Layout*>(shared))[w], n);
}

// Worker w counts n increments in a register and writes its counter once.
template <class Layout>
void local_counter_job(void* shared, unsigned w, std::uint64_t n) {
  count_locally((*static_cast<Layout*>(shared))[w], n);
}

// Worker 0 writes the hot counter; every other worker polls the flag and
// adds what it saw to its own (padded) tally.
template <class Flag>
struct FlagBlock {
  Flag flag;
  Padded seen;
};

template <class Flag>
void flag_job(void* shared, unsigned w, std::uint64_t n) {
  auto& b = *static_cast<FlagBlock<Flag>*>(shared);
  if (w == 0) {
    count_in_place(b.flag.hot, n);
  } else {
    const std::uint64_t s = poll_flag(b.flag, n);
    b.seen[w].store(b.seen[w].load(std::memory_order_relaxed) + s, std::memory_order_relaxed);
  }
}

}  // namespace cachetick::sharing

// Calibration's measurement loops: what is timed and how, returning plain
// numbers. Turning them into the calibration document is calibrate.cpp's
// job; reading levels off the curve is curve.h's.
//
// Why minima: the machine may be shared (other processes, other tenants of
// the host). Time spent descheduled or waiting for a neighbour's traffic
// only ever makes a sample slower, so the fastest of many short samples
// (~0.1 ms, well under a scheduler slice) is the machine's own limit; the
// median is kept beside it to show how busy the machine was.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cachetick {

// A random cyclic permutation of 0..n-1 (Sattolo's algorithm): next[i] is
// the slot visited after i, and following it from any slot visits every slot
// exactly once before returning. Deterministic for a seed. n >= 1.
std::vector<std::uint32_t> sattolo_cycle(std::size_t n, std::uint64_t seed);

// Length of the cycle through slot 0 (== next.size() for a single cycle);
// 0 if `next` is not a permutation of 0..n-1 or leaves slot 0 on a path that
// never returns.
std::size_t cycle_length(const std::vector<std::uint32_t>& next);

// Read bandwidth with several concurrent streams: the best sample for one
// stream count, in GB/s.
struct StreamFigure {
  int streams = 0;
  double gbps = 0;
};
// The fastest of the figures, the fewest streams on a tie; {0, 0} if empty.
StreamFigure fastest_streams(const std::vector<StreamFigure>& by_streams);

// One big anonymous mapping, 2 MiB aligned, for every working set: the
// small sets are its first bytes. Hugepages (THP via MADV_HUGEPAGE) keep the
// page walk out of the latency curve up to the STLB's reach (a few GiB), so
// the steps are the caches, not the TLB; --no-hugepages shows the TLB too.
struct Region {
  char* p = nullptr;
  std::size_t bytes = 0;
  void* map = nullptr;
  std::size_t map_bytes = 0;
  std::uint64_t anon_huge_bytes = 0;  // what THP gave (/proc/self/smaps)
  std::string advice;                 // the madvise given, and whether it was refused

  Region(std::size_t n, bool huge);  // throws std::runtime_error when it cannot map
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
};

struct Sample {
  double best = 0, median = 0;  // ns per load, or GB/s
};

// Load-to-use latency at a working set of `bytes` at `base`: dependent loads
// through one random cycle over its 64-byte lines.
Sample measure_latency(char* base, std::size_t bytes, bool full, std::uint64_t seed);

struct Bandwidth {
  Sample read, write;
  std::vector<StreamFigure> by_streams;  // the best sample for each stream count
  StreamFigure multi;                     // the fastest of them
  double multi_median = 0;                // that count's median sample
  double multi_seconds = 0;               // wall time the multi-stream figures took
};
// Sequential read and write bandwidth, and reads with 2, 4 and 8 streams.
Bandwidth measure_bandwidth(char* p, std::size_t bytes, bool full);
std::string bandwidth_isa();  // which loads and stores measure_bandwidth uses

// The core clock from a chain of dependent adds (1 cycle each), checked by a
// chain of imuls (3 cycles each).
struct CoreClock {
  double best_hz = 0, median_hz = 0;
  double imul_to_add = 0;  // expect 3.0
  int samples = 0;
};
CoreClock measure_core_clock(bool full);

// L1 load-to-use latency in core cycles, as a ratio to the add chain (the
// buffer at `base` is overwritten with a 4 KiB cycle).
double l1_latency_cycles(char* base, bool full);

// What one timer read costs, back to back: the fastest of 21 batches.
struct TimerCost {
  std::string name;
  bool available = true;
  double ticks_per_call = 0;
  std::string note;   // what the timer is, or why it is unavailable
  std::string event;  // PAPI_read: the event read
};
std::vector<TimerCost> measure_timers();

// Keep the calibration on one CPU: a migration mid-curve would start a
// measurement with cold private caches. Restores the old mask on exit.
struct PinToCurrentCpu {
  cpu_set_t old;
  bool ok = false;
  int cpu = -1;
  PinToCurrentCpu();
  ~PinToCurrentCpu();
};

double cpu_seconds();  // this process's CPU time

}  // namespace cachetick

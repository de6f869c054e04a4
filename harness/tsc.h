// Time stamp counter: a constant-rate clock, NOT core cycles.
//
// On x86 with constant_tsc the TSC ticks at a fixed frequency whatever the
// core clock does (turbo, power states), so "ticks" here are wall-clock
// units, reported beside ns, never labelled as cycles.
#pragma once

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CACHETICK_HAVE_TSC 1
#else
#include <chrono>
#define CACHETICK_HAVE_TSC 0
#endif

namespace cachetick {

// Read at the start of a batch: the lfence before rdtsc keeps earlier loads
// from being timed into the batch; the one after keeps the batch's first
// instructions from starting before the read.
inline std::uint64_t tsc_begin() {
#if CACHETICK_HAVE_TSC
  _mm_lfence();
  std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
#else
  return std::chrono::steady_clock::now().time_since_epoch().count();
#endif
}

// Read at the end: rdtscp waits until every earlier instruction has
// executed; the lfence keeps later instructions from running before it.
inline std::uint64_t tsc_end() {
#if CACHETICK_HAVE_TSC
  unsigned aux;
  std::uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
#else
  return std::chrono::steady_clock::now().time_since_epoch().count();
#endif
}

struct TscInfo {
  double hz = 0;            // ticks per second
  std::string source;       // "cpuid 0x15", "hypervisor leaf", "measured"
  double measured_hz = 0;   // always measured against CLOCK_MONOTONIC_RAW
  bool invariant = false;   // CPUID says the TSC rate is constant
  std::string unit = "TSC ticks";
};

// Measured once per process (about 40 ms), then cached.
const TscInfo& tsc_info();

}  // namespace cachetick

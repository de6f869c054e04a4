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

// How a batch's end is read, chosen once from CPUID (see select_end_read):
// rdtscp where the CPU advertises it, else lfence + rdtsc. Until chosen (and
// wherever rdtscp may not run) the fenced rdtsc is used: valid on every x86-64.
namespace detail {
inline bool g_end_rdtscp = false;
}

// Read at the end. rdtscp waits until every earlier instruction has
// executed; an lfence before rdtsc orders it the same way on CPUs without
// rdtscp (Intel documents lfence as dispatch-serialising; AMD makes it so
// on every Zen, and Linux relies on it). The lfence after keeps later
// instructions from running before the read.
inline std::uint64_t tsc_end() {
#if CACHETICK_HAVE_TSC
  if (detail::g_end_rdtscp) {
    unsigned aux;
    const std::uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
  }
#endif
  return tsc_begin();  // lfence; rdtsc; lfence (off x86: the steady clock)
}

// The choice of end-of-batch read and why, for the header and the result.
struct EndRead {
  bool rdtscp = false;
  std::string instructions;  // "rdtscp; lfence" or "lfence; rdtsc; lfence"
  std::string why;
};
// Pure: rdtscp only when CPUID advertises it (leaf 0x80000001, EDX bit 27),
// we are not under valgrind (whose CPUID view can claim rdtscp on a host
// whose CPU lacks it, and which then refuses the instruction: SIGILL), and
// no test injected `no-rdtscp`.
EndRead choose_end_read(bool cpuid_rdtscp, bool under_valgrind, bool pretend_no_rdtscp);
// Chooses from this host, installs the choice for tsc_end(), returns it.
// Called once at start-up (tsc_info() calls it); later calls re-read CPUID
// and the injected conditions (tests).
const EndRead& select_end_read();

struct TscInfo {
  double hz = 0;            // ticks per second
  std::string source;       // "cpuid 0x15", "hypervisor leaf", "measured"
  double measured_hz = 0;   // always measured against CLOCK_MONOTONIC_RAW
  bool invariant = false;   // CPUID says the TSC rate is constant
  std::string unit = "TSC ticks";
  EndRead end_read;         // how a batch's end is read
};

// Measured once per process (about 40 ms), then cached.
const TscInfo& tsc_info();

}  // namespace cachetick

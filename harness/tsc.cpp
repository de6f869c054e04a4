#include "harness/tsc.h"

#include <time.h>

#include <algorithm>
#include <cmath>

#if CACHETICK_HAVE_TSC
#include <cpuid.h>
#include <valgrind/valgrind.h>
#endif

#include "harness/pretend.h"

namespace cachetick {

namespace {

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Ticks per second against CLOCK_MONOTONIC_RAW (not slewed by NTP).
// Median of five 8 ms windows: one preempted window cannot skew it.
double measure_hz() {
  double r[5];
  for (double& hz : r) {
    double s0 = now_s();
    std::uint64_t t0 = tsc_begin();
    double s1;
    do s1 = now_s(); while (s1 - s0 < 0.008);
    std::uint64_t t1 = tsc_end();
    hz = (t1 - t0) / (s1 - s0);
  }
  std::sort(r, r + 5);
  return r[2];
}

#if CACHETICK_HAVE_TSC
// CPUID 0x15 gives the TSC/crystal ratio on Intel; KVM and VMware also
// publish the TSC rate in the hypervisor leaf 0x40000010.
double cpuid_hz(std::string& source) {
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) >= 0x15) {
    __cpuid_count(0x15, 0, a, b, c, d);
    if (a && b && c) {
      source = "cpuid 0x15";
      return static_cast<double>(c) * b / a;
    }
  }
  __cpuid(1, a, b, c, d);
  if (c & (1u << 31)) {  // running under a hypervisor
    __cpuid(0x40000000, a, b, c, d);
    if (a >= 0x40000010) {
      __cpuid(0x40000010, a, b, c, d);
      if (a) {
        source = "hypervisor leaf 0x40000010";
        return a * 1e3;
      }
    }
  }
  return 0;
}

// Bit `bit` of EDX in the extended CPUID leaf `leaf`; false where the CPU
// has no such leaf.
bool extended_edx_bit(unsigned leaf, unsigned bit) {
  unsigned a, b, c, d;
  if (__get_cpuid_max(0x80000000, nullptr) < leaf) return false;
  __cpuid(leaf, a, b, c, d);
  return d & (1u << bit);
}

bool invariant_tsc() { return extended_edx_bit(0x80000007, 8); }
#endif

#if CACHETICK_HAVE_TSC
bool cpuid_rdtscp() { return extended_edx_bit(0x80000001, 27); }
#endif

TscInfo probe() {
  TscInfo t;
  t.end_read = select_end_read();
  t.measured_hz = measure_hz();
#if CACHETICK_HAVE_TSC
  t.invariant = invariant_tsc();
  std::string src;
  double declared = cpuid_hz(src);
  // Trust a declared rate only if our own measurement agrees within 1%.
  if (declared > 0 && std::fabs(declared - t.measured_hz) < 0.01 * declared) {
    t.hz = declared;
    t.source = src + " (agrees with measurement)";
  } else {
    t.hz = t.measured_hz;
    t.source = "measured against CLOCK_MONOTONIC_RAW";
  }
#else
  t.hz = 1e9;
  t.source = "no TSC on this architecture: steady_clock nanoseconds";
  t.unit = "ns";
#endif
  return t;
}

}  // namespace

EndRead choose_end_read(bool cpuid_rdtscp, bool under_valgrind, bool pretend_no_rdtscp) {
  EndRead r;
  r.rdtscp = cpuid_rdtscp && !under_valgrind && !pretend_no_rdtscp;
  r.instructions = r.rdtscp ? "rdtscp; lfence" : "lfence; rdtsc; lfence";
  if (r.rdtscp)
    r.why = "CPUID advertises RDTSCP";
  else if (pretend_no_rdtscp)
    r.why = "CPUID's RDTSCP ignored (injected: CACHETICK_PRETEND=no-rdtscp)";
  else if (under_valgrind)
    r.why = "under valgrind (it decodes rdtscp only where the host CPU advertises it, "
            "whatever CPUID it shows the program)";
  else
    r.why = "CPUID does not advertise RDTSCP";
  return r;
}

const EndRead& select_end_read() {
  static EndRead r;
#if CACHETICK_HAVE_TSC
  r = choose_end_read(cpuid_rdtscp(), RUNNING_ON_VALGRIND != 0, pretending(Pretend::no_rdtscp));
#else
  r = choose_end_read(false, false, false);
  r.instructions = "steady_clock::now()";
  r.why = "no TSC on this architecture";
#endif
  detail::g_end_rdtscp = r.rdtscp;
  return r;
}

const TscInfo& tsc_info() {
  static const TscInfo info = probe();
  return info;
}

}  // namespace cachetick

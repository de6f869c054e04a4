// Host conditions a test can inject: `CACHETICK_PRETEND=no-rdtscp,papi-disabled`.
//
// Why: our machines differ in exactly the features the harness adapts to. One
// guest's CPUID advertises RDTSCP and another's does not; one has PAPI's
// perf_event component working and another has it disabled (libpfm4 does not
// know the CPU); one has /sys/devices/system/cpu/cpu0/cache and another has
// not. Each path must be tested on every host, so each fact the harness reads
// from the host can be overridden here, and only here: the code that reads a
// fact asks `pretending(...)` first and, if so, behaves as a host lacking it.
//
// A run with an injected condition says so (the header and the result's
// `machine.pretend`): its figures describe a pretended host, not this one.
#pragma once

#include <string>
#include <vector>

namespace cachetick {

enum class Pretend {
  no_rdtscp,        // CPUID does not advertise RDTSCP: lfence + rdtsc ends a batch
  papi_disabled,    // PAPI initialises but its perf_event component is disabled
  no_papi,          // as if built without PAPI
  no_pmu,           // perf_event_open refuses hardware events (ENOENT), as in a VM
  no_perf_event,    // perf_event_open refuses every event (ENOSYS): no kernel counters
  no_sysfs_caches,  // /sys/devices/system/cpu/cpu0/cache is missing
  no_cpuid_caches,  // CPUID describes no cache (an unknown vendor or a bare hypervisor)
  no_namespaces,    // the kernel refuses user namespaces: sim children see this host as it is
};

// True when the condition is injected (CACHETICK_PRETEND, read once).
bool pretending(Pretend c);

// The injected conditions by name, in the order above ("" when none).
std::vector<std::string> pretended();

// "" when CACHETICK_PRETEND is unset or valid; otherwise the message for an
// exit 2 (an unknown name, with the valid ones).
std::string check_pretend_env();

// Tests: replace the injected set (same syntax as the variable); "" clears.
// Throws std::invalid_argument on an unknown name.
void set_pretend_for_test(const std::string& spec);
// Tests: back to what CACHETICK_PRETEND says (the suite may run injected).
void restore_pretend_from_env();

}  // namespace cachetick

// The kernel's own counters as a second backend: perf_event_open(2) on the
// generic events every Linux kernel names (hardware, hw-cache, software),
// with no PAPI and no libpfm4 in between.
//
// Why a second backend: PAPI reaches the kernel through libpfm4, which must
// know the CPU. Where it does not (Debian's libpfm4 on AMD family 26), PAPI
// disables its whole perf_event component and counts nothing, not even the
// software events the kernel counts in any VM. The generic events need no
// CPU table: the kernel maps cycles or LLC misses to its PMU itself.
//
// Read once per batch, like the PAPI collector: RESET + ENABLE before the
// timed loop, DISABLE + one read per group after it (outside the TSC
// window: the probe starts collectors before its first TSC read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/counters.h"
#include "harness/event_collector.h"

namespace cachetick {

// One generic kernel event, as perf(1) spells it.
struct KernelEvent {
  const char* name;      // "cycles", "L1-dcache-load-misses", "page-faults"
  std::uint32_t type;    // PERF_TYPE_HARDWARE, PERF_TYPE_HW_CACHE, PERF_TYPE_SOFTWARE
  std::uint64_t config;
  bool user_only;        // exclude_kernel (see the table for the exceptions)
};
const std::vector<KernelEvent>& kernel_events();
const KernelEvent* find_kernel_event(const std::string& name);
// Needs one of the PMU's counters (hardware and hw-cache events).
bool is_pmu_event(const KernelEvent& e);
// The kernel "PMU" that counts it: events group only with their own kind.
enum class EventGroupKind {
  pmu,       // hardware, hw-cache: one group, scheduled on the counters as one
  software,  // page-faults, context-switches: the kernel's swevent PMU
  clock,     // task-clock: an hrtimer PMU of its own, in a group of its own
};
EventGroupKind group_kind(const KernelEvent& e);

// perf_event_open for the calling thread, any CPU, created disabled, never
// the hypervisor; user space only when asked. Honours CACHETICK_PRETEND:
// no-perf-event refuses every event (ENOSYS), no-pmu every PMU event
// (ENOENT), as the kernels of such hosts do. Returns the fd, or -errno.
int open_perf_event(std::uint32_t type, std::uint64_t config, bool user_only, int group_fd);

// A count scaled for multiplexing: raw x enabled / running. Nothing when
// the event never ran (running == 0): no estimate exists, and 0 would lie.
std::optional<double> scaled_count(std::uint64_t raw, std::uint64_t enabled, std::uint64_t running);

class PerfEventBackend : public EventBackend {
 public:
  std::string name() const override { return "perf_event"; }
  std::string unavailable_reason() const override;
  std::string description() const override;
  EventProbe probe(const std::string& event) override;
  EventProbe probe_set(const std::vector<std::string>& events, bool multiplex) override;
};
PerfEventBackend& perf_event_backend();

// The open groups of one event set: PMU events in one group (one group
// each when multiplexed, so the kernel can rotate them), software events in
// another, so that a PMU group that cannot be scheduled never costs the
// software counts, and task-clock alone. Measured here (Linux 6.18): in a
// group with page-faults or context-switches, task-clock read 0-100% of
// the thread's CPU time as a member, and as the leader it made the others
// lose counts (page faults -9536 over 30 batches); alone, and with the two
// in a group of their own, all three matched mmap'ed pages, getrusage and
// CLOCK_THREAD_CPUTIME_ID.
class PerfGroups {
 public:
  PerfGroups() = default;
  ~PerfGroups() { close_all(); }
  PerfGroups(const PerfGroups&) = delete;
  PerfGroups& operator=(const PerfGroups&) = delete;

  // Opens every event; on failure closes all and says which event failed.
  EventProbe open(const std::vector<std::string>& events, bool multiplex);
  bool empty() const { return groups_.empty(); }
  void start();  // RESET + ENABLE each group
  bool stop();   // DISABLE + one read per group; false if a read failed
  // Event i's count in the last batch, scaled; nothing if it never ran.
  std::optional<double> value(std::size_t i) const;
  // Lowest share of its enabled time any PMU group ran in the last batch.
  double pmu_running_share() const;

 private:
  struct Group {
    int leader = -1;
    EventGroupKind kind = EventGroupKind::software;
    std::vector<int> fds;
    std::vector<std::size_t> events;  // indices into the event set
    std::vector<std::uint64_t> values;
    std::uint64_t enabled = 0, running = 0;            // this batch
    std::uint64_t total_enabled = 0, total_running = 0;  // since open (RESET keeps them)
  };
  bool read_group(Group& g);
  void close_all();
  std::vector<Group> groups_;
  std::vector<std::pair<std::size_t, std::size_t>> where_;  // event -> (group, slot)
};

// Counts the plan's perf_event events, once per batch.
class PerfEventCollector : public EventCollector {
 public:
  explicit PerfEventCollector(const CounterPlan& plan);

  void start() override;
  void stop() override;
  void report(benchmark::State& state, double ops) override;

 private:
  bool counting() const override { return !groups_.empty(); }
  PerfGroups groups_;
};

}  // namespace cachetick

#include "harness/perf_events.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "harness/pretend.h"

namespace cachetick {

namespace {

constexpr std::uint64_t read_miss(std::uint64_t cache) {
  return cache | (PERF_COUNT_HW_CACHE_OP_READ << 8) | (PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
}

std::string paranoid() {
  std::ifstream f("/proc/sys/kernel/perf_event_paranoid");
  std::string s;
  std::getline(f, s);
  return s.empty() ? "?" : s;
}

// What perf_event_open's errno means for one event. EINVAL on a group
// member: x86 refuses a group its counters cannot hold with EINVAL.
EventProbe from_errno(int err, const std::string& event, bool member) {
  const std::string d = "perf_event_open(" + event + "): " + std::strerror(err);
  switch (err) {
    case ENOENT: case EOPNOTSUPP: case ENODEV: return {EventStatus::no_such_event, d};
    case EACCES: case EPERM: return {EventStatus::not_permitted, d};
    case EINVAL: case ENOSPC:
      return {member ? EventStatus::conflict : EventStatus::failed, d};
    default: return {EventStatus::failed, d};
  }
}

std::string injected(Pretend c, const char* name) {
  return pretending(c) ? std::string(" (injected: CACHETICK_PRETEND=") + name + ")" : "";
}

}  // namespace

const std::vector<KernelEvent>& kernel_events() {
  static const std::vector<KernelEvent> t = {
      {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true},
      {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true},
      {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, true},
      {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, true},
      {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, true},
      {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE, read_miss(PERF_COUNT_HW_CACHE_L1D), true},
      {"LLC-load-misses", PERF_TYPE_HW_CACHE, read_miss(PERF_COUNT_HW_CACHE_LL), true},
      {"dTLB-load-misses", PERF_TYPE_HW_CACHE, read_miss(PERF_COUNT_HW_CACHE_DTLB), true},
      // Faults the benchmark's own loads and stores take (user mode).
      {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, true},
      // A switch happens in the kernel: with exclude_kernel it is never
      // counted and the counter reads 0 whatever happened.
      {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, false},
      // Counting ignores exclude_kernel here: the thread's CPU time, kernel
      // included; asked for as such so the attribute does not pretend otherwise.
      {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, false},
  };
  return t;
}

const KernelEvent* find_kernel_event(const std::string& name) {
  for (const auto& e : kernel_events())
    if (name == e.name) return &e;
  return nullptr;
}

bool is_pmu_event(const KernelEvent& e) {
  return e.type == PERF_TYPE_HARDWARE || e.type == PERF_TYPE_HW_CACHE;
}

EventGroupKind group_kind(const KernelEvent& e) {
  if (is_pmu_event(e)) return EventGroupKind::pmu;
  return e.type == PERF_TYPE_SOFTWARE && (e.config == PERF_COUNT_SW_TASK_CLOCK ||
                                          e.config == PERF_COUNT_SW_CPU_CLOCK)
             ? EventGroupKind::clock
             : EventGroupKind::software;
}

int open_perf_event(std::uint32_t type, std::uint64_t config, bool user_only, int group_fd) {
  if (pretending(Pretend::no_perf_event)) return -ENOSYS;
  if (pretending(Pretend::no_pmu) && type != PERF_TYPE_SOFTWARE) return -ENOENT;
  perf_event_attr a;
  std::memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = type;
  a.config = config;
  a.disabled = group_fd < 0;  // members follow their leader's ENABLE
  a.exclude_kernel = user_only;
  a.exclude_hv = 1;
  a.read_format =
      PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  const long fd = syscall(SYS_perf_event_open, &a, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

std::optional<double> scaled_count(std::uint64_t raw, std::uint64_t enabled, std::uint64_t running) {
  if (running == 0) return std::nullopt;
  if (running >= enabled) return static_cast<double>(raw);
  return static_cast<double>(raw) * static_cast<double>(enabled) / static_cast<double>(running);
}

// ---------------------------------------------------------------------------
std::string PerfEventBackend::unavailable_reason() const {
  // A software event any unprivileged thread may count at paranoid <= 2.
  const int fd = open_perf_event(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, true, -1);
  if (fd >= 0) {
    close(fd);
    return "";
  }
  const std::string inj = injected(Pretend::no_perf_event, "no-perf-event");
  if (-fd == ENOSYS)
    return "this kernel has no perf_event_open (ENOSYS: built without CONFIG_PERF_EVENTS, or a "
           "seccomp filter such as a container's blocks it)" + inj;
  if (-fd == EACCES || -fd == EPERM)
    return "perf_event_open is not permitted: perf_event_paranoid=" + paranoid() +
           " (lower it, e.g. sysctl kernel.perf_event_paranoid=2)";
  return "perf_event_open(page-faults) failed: " + std::string(std::strerror(-fd)) + inj;
}

std::string PerfEventBackend::description() const {
  utsname u;
  const std::string k = uname(&u) == 0 ? std::string(" (Linux ") + u.release + ")" : "";
  return "perf_event_open generic events" + k;
}

EventProbe PerfEventBackend::probe(const std::string& event) {
  PerfGroups g;
  return g.open({event}, false);
}

EventProbe PerfEventBackend::probe_set(const std::vector<std::string>& events, bool multiplex) {
  PerfGroups g;
  EventProbe p = g.open(events, multiplex);
  if (p.status != EventStatus::ok) return p;
  // Opening is not scheduling: a group the counters cannot hold with what
  // else runs (an NMI watchdog, another perf user) opens and then waits.
  g.start();
  g.stop();
  if (!multiplex && g.pmu_running_share() < 1)
    return {EventStatus::conflict, "the hardware group was not on the counters all the time "
                                   "(time running < time enabled)"};
  return {};
}

PerfEventBackend& perf_event_backend() {
  static PerfEventBackend b;
  return b;
}

// ---------------------------------------------------------------------------
EventProbe PerfGroups::open(const std::vector<std::string>& events, bool multiplex) {
  close_all();
  int pmu = -1, sw = -1;  // the shared groups being filled
  for (std::size_t i = 0; i < events.size(); ++i) {
    const KernelEvent* k = find_kernel_event(events[i]);
    if (!k) {
      close_all();
      return {EventStatus::unknown_name, "the kernel backend knows no event '" + events[i] + "'"};
    }
    const EventGroupKind kind = group_kind(*k);
    int own = -1;
    int& gi = kind == EventGroupKind::pmu ? pmu : kind == EventGroupKind::software ? sw : own;
    if (gi < 0 || (kind == EventGroupKind::pmu && multiplex)) {
      groups_.emplace_back();
      gi = static_cast<int>(groups_.size()) - 1;
      groups_[gi].kind = kind;
    }
    Group& g = groups_[gi];
    const int fd = open_perf_event(k->type, k->config, k->user_only, g.leader);
    if (fd < 0) {
      EventProbe p = from_errno(-fd, events[i], g.leader >= 0);
      close_all();
      return p;
    }
    if (g.leader < 0) g.leader = fd;
    g.fds.push_back(fd);
    where_.push_back({static_cast<std::size_t>(gi), g.events.size()});
    g.events.push_back(i);
    g.values.push_back(0);
  }
  return {};
}

void PerfGroups::close_all() {
  for (Group& g : groups_)
    for (auto it = g.fds.rbegin(); it != g.fds.rend(); ++it) close(*it);  // members first
  groups_.clear();
  where_.clear();
}

void PerfGroups::start() {
  for (Group& g : groups_) {
    ioctl(g.leader, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
    ioctl(g.leader, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
  }
}

bool PerfGroups::stop() {
  // Every group stops before any is read: the reads are not counted.
  for (Group& g : groups_) ioctl(g.leader, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
  bool ok = true;
  for (Group& g : groups_) ok = read_group(g) && ok;
  return ok;
}

// PERF_FORMAT_GROUP layout: nr, time_enabled, time_running, value[nr].
// RESET zeroes the counts but not the times: the batch's are differences.
bool PerfGroups::read_group(Group& g) {
  std::vector<std::uint64_t> buf(3 + g.fds.size());
  const ssize_t want = static_cast<ssize_t>(buf.size() * sizeof(std::uint64_t));
  if (read(g.leader, buf.data(), want) != want || buf[0] != g.fds.size()) return false;
  g.enabled = buf[1] - g.total_enabled;
  g.running = buf[2] - g.total_running;
  g.total_enabled = buf[1];
  g.total_running = buf[2];
  std::copy(buf.begin() + 3, buf.end(), g.values.begin());
  return true;
}

std::optional<double> PerfGroups::value(std::size_t i) const {
  if (i >= where_.size()) return std::nullopt;
  const Group& g = groups_[where_[i].first];
  return scaled_count(g.values[where_[i].second], g.enabled, g.running);
}

double PerfGroups::pmu_running_share() const {
  double share = 1;
  for (const Group& g : groups_)
    if (g.kind == EventGroupKind::pmu && g.enabled > 0)
      share = std::min(share, static_cast<double>(g.running) / static_cast<double>(g.enabled));
  return share;
}

// ---------------------------------------------------------------------------
PerfEventCollector::PerfEventCollector(const CounterPlan& plan) {
  if (plan.kernel.events.empty()) return;
  EventProbe p = groups_.open(plan.kernel.events, plan.kernel.multiplexed);
  if (p.status != EventStatus::ok) {
    error_ = "perf_event groups could not be opened: " + p.detail;
    return;
  }
  outs_ = counter_outputs(plan, plan.kernel);
}

void PerfEventCollector::start() {
  have_values_ = false;
  // Remembered per batch: the pause may end before the probe reports.
  paused_ = collectors_paused();
  if (groups_.empty() || paused_) return;
  groups_.start();
  running_ = true;
}

void PerfEventCollector::stop() {
  if (!running_) return;
  running_ = false;
  have_values_ = groups_.stop();
}

void PerfEventCollector::report(benchmark::State& state, double ops) {
  if (groups_.empty() || paused_) return;
  if (!have_values_) {
    // Never a zero for a count that was not taken: fail the row instead.
    state.SkipWithError("perf_event could not read the counters for this batch");
    return;
  }
  for (const CounterOutput& o : outs_) {
    if (o.ipc) {
      const auto cyc = groups_.value(o.cyc), ins = groups_.value(o.ins);
      if (cyc && ins && *cyc > 0) state.counters[o.name] = *ins / *cyc;
    } else if (const auto v = groups_.value(o.index)) {
      state.counters[o.name] = *v / ops;  // absent when the event never ran
    }
  }
  // The counts of this row are estimates: say by how much they were scaled.
  const double share = groups_.pmu_running_share();
  if (share < 1) state.counters["mpx_running"] = share;
}

}  // namespace cachetick

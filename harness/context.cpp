#include "harness/context.h"

#include <linux/perf_event.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/build_info.h"
#include "harness/perf_events.h"
#include "harness/pretend.h"
#include "harness/tsc.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifndef CACHETICK_SOURCE_DIR
#define CACHETICK_SOURCE_DIR "."
#endif

namespace cachetick {

namespace {

std::uint64_t parse_size(const std::string& s) {  // "48K", "2048K", "105M"
  if (s.empty()) return 0;
  char* end = nullptr;
  std::uint64_t v = std::strtoull(s.c_str(), &end, 10);
  switch (end && *end ? *end : ' ') {
    case 'K': return v << 10;
    case 'M': return v << 20;
    case 'G': return v << 30;
    default: return v;
  }
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(p + 2);
    }
  }
  return "unknown";
}

// A command's output, or "" when it failed (git outside a checkout).
std::string run_command(const std::string& cmd) {
  int status = 0;
  std::string out = command_output(cmd, &status);
  return status == 0 ? out : std::string();
}

}  // namespace

std::string host_name() {
  char h[256] = {};
  if (gethostname(h, sizeof h - 1) != 0 || !h[0]) return "host";
  std::string s = h;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  return s;
}

std::vector<CacheLevel> sysfs_caches(const std::string& root) {
  std::vector<CacheLevel> out;
  for (int i = 0;; ++i) {
    const std::string d = root + "/index" + std::to_string(i) + "/";
    const std::string level = read_line(d + "level");
    if (level.empty()) break;
    CacheLevel c;
    c.level = std::atoi(level.c_str());
    c.type = read_line(d + "type");
    c.size_bytes = parse_size(read_line(d + "size"));
    c.line_bytes = std::atoi(read_line(d + "coherency_line_size").c_str());
    c.ways = std::atoi(read_line(d + "ways_of_associativity").c_str());
    c.shared_cpu_list = read_line(d + "shared_cpu_list");
    out.push_back(c);
  }
  return out;
}

CpuidRegs host_cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
#if defined(__x86_64__) || defined(__i386__)
  const unsigned top = __get_cpuid_max(leaf & 0x80000000u, nullptr);
  if (top >= leaf) __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#else
  (void)leaf, (void)subleaf;
#endif
  return r;
}

namespace {

const char* cache_type(unsigned t) {
  return t == 1 ? "Data" : t == 2 ? "Instruction" : t == 3 ? "Unified" : nullptr;
}

// Intel's leaf 4 and AMD's 0x8000001D share one format: one subleaf per
// cache, until a type of 0. Size = ways x partitions x line x sets.
std::vector<CacheLevel> deterministic_leaf(CpuidFn cpuid, unsigned leaf) {
  std::vector<CacheLevel> out;
  for (unsigned i = 0; i < 16; ++i) {
    const CpuidRegs r = cpuid(leaf, i);
    const char* type = cache_type(r.eax & 0x1f);
    if (!type) break;
    CacheLevel c;
    c.level = static_cast<int>((r.eax >> 5) & 7);
    c.type = type;
    c.ways = static_cast<int>((r.ebx >> 22) + 1);
    c.line_bytes = static_cast<int>((r.ebx & 0xfff) + 1);
    const std::uint64_t partitions = ((r.ebx >> 12) & 0x3ff) + 1, sets = std::uint64_t(r.ecx) + 1;
    c.size_bytes = c.ways * partitions * c.line_bytes * sets;
    out.push_back(c);
  }
  return out;
}

// AMD's legacy leaves encode L2/L3 ways as a code; 9 means "see 0x8000001D".
int amd_ways(unsigned code) {
  static const int ways[16] = {0, 1, 2, 3, 4, 0, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0};
  return code == 5 ? 6 : ways[code & 15];
}

std::vector<CacheLevel> amd_legacy(CpuidFn cpuid) {
  std::vector<CacheLevel> out;
  const CpuidRegs l1 = cpuid(0x80000005, 0), l23 = cpuid(0x80000006, 0);
  auto l1_entry = [](unsigned reg, const char* type) {
    return CacheLevel{1, type, std::uint64_t(reg >> 24) << 10, static_cast<int>(reg & 0xff),
                      static_cast<int>((reg >> 16) & 0xff), ""};
  };
  if (l1.ecx >> 24) out.push_back(l1_entry(l1.ecx, "Data"));
  if (l1.edx >> 24) out.push_back(l1_entry(l1.edx, "Instruction"));
  if (l23.ecx >> 16)
    out.push_back({2, "Unified", std::uint64_t(l23.ecx >> 16) << 10, static_cast<int>(l23.ecx & 0xff),
                   amd_ways((l23.ecx >> 12) & 15), ""});
  if (l23.edx >> 18)
    out.push_back({3, "Unified", std::uint64_t(l23.edx >> 18) << 19, static_cast<int>(l23.edx & 0xff),
                   amd_ways((l23.edx >> 12) & 15), ""});
  return out;
}

}  // namespace

std::vector<CacheLevel> cpuid_caches(CpuidFn cpuid, std::string* source) {
  const CpuidRegs v = cpuid(0, 0);
  std::string vendor(12, ' ');
  std::memcpy(vendor.data(), &v.ebx, 4), std::memcpy(vendor.data() + 4, &v.edx, 4),
      std::memcpy(vendor.data() + 8, &v.ecx, 4);
  const bool amd = vendor == "AuthenticAMD" || vendor == "HygonGenuine";
  std::vector<CacheLevel> out;
  if (v.eax >= 4 && !amd) {  // AMD's leaf 4 is reserved (reads as zeros)
    out = deterministic_leaf(cpuid, 4);
    if (!out.empty()) return *source = "CPUID leaf 4", out;
  }
  const unsigned ext = cpuid(0x80000000, 0).eax;
  const bool topoext = ext >= 0x80000001 && (cpuid(0x80000001, 0).ecx & (1u << 22));
  if (amd && topoext && ext >= 0x8000001D) {
    out = deterministic_leaf(cpuid, 0x8000001D);
    if (!out.empty()) return *source = "CPUID leaf 0x8000001D", out;
  }
  if (amd && ext >= 0x80000006) {
    out = amd_legacy(cpuid);
    if (!out.empty()) return *source = "CPUID leaves 0x80000005/6", out;
  }
  source->clear();
  return {};
}

HostCaches choose_caches(std::vector<CacheLevel> sysfs, CpuidFn cpuid) {
  HostCaches h;
  if (!sysfs.empty()) return {std::move(sysfs), "sysfs"};
  if (cpuid) h.levels = cpuid_caches(cpuid, &h.source);
  if (h.levels.empty()) h.source = "unknown";
  return h;
}

const HostCaches& host_caches() {
  static const HostCaches h = choose_caches(
      pretending(Pretend::no_sysfs_caches) ? std::vector<CacheLevel>{} : sysfs_caches(),
      pretending(Pretend::no_cpuid_caches) ? nullptr : host_cpuid);
  return h;
}

std::uint64_t data_cache_bytes(int level) {
  for (const auto& c : host_caches().levels)
    if (c.level == level && c.type != "Instruction") return c.size_bytes;
  return 0;
}

std::string caches_text(const std::vector<CacheLevel>& levels) {
  std::string s;
  for (const auto& c : levels)
    if (c.type != "Instruction")
      s += (s.empty() ? "L" : " L") + std::to_string(c.level) + (c.type == "Data" ? "d " : " ") +
           format_bytes(c.size_bytes);
  return s;
}

// Through open_perf_event, so that CACHETICK_PRETEND=no-pmu / no-perf-event
// reach this answer as they reach the counters.
PmuStatus pmu_status() {
  const int fd = open_perf_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true, -1);
  PmuStatus s;
  if (fd >= 0) {
    close(fd);
    s.available = true;
    s.reason = "perf_event_open(cycles) succeeded";
    return s;
  }
  const int e = -fd;
  const std::string paranoid = read_line("/proc/sys/kernel/perf_event_paranoid");
  if (e == ENOENT || e == EOPNOTSUPP || e == ENODEV)
    s.reason = "no hardware PMU exposed to this system (virtualised without "
               "PMU passthrough?): perf_event_open(cycles) failed with " +
               std::string(std::strerror(e));
  else if (e == EACCES || e == EPERM)
    s.reason = "not permitted: perf_event_paranoid=" + paranoid +
               " (lower it, e.g. sysctl kernel.perf_event_paranoid=1)";
  else
    s.reason = "perf_event_open(cycles) failed: " + std::string(std::strerror(e));
  return s;
}

namespace {

std::string turbo_state() {
  const std::string no_turbo = read_line("/sys/devices/system/cpu/intel_pstate/no_turbo");
  const std::string boost = read_line("/sys/devices/system/cpu/cpufreq/boost");
  if (!no_turbo.empty()) return no_turbo == "0" ? "enabled" : "disabled";
  if (!boost.empty()) return boost == "1" ? "enabled" : "disabled";
  return "";
}

bool under_hypervisor() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("flags", 0) == 0) return line.find(" hypervisor") != std::string::npos;
  return false;
}

}  // namespace

Machine machine_info() {
  Machine m;
  m.cpu_model = cpu_model();
  m.logical_cpus = std::thread::hardware_concurrency();
  m.caches = host_caches();
  m.tsc = tsc_info();
  utsname u;
  if (uname(&u) == 0) {
    m.kernel = std::string(u.sysname) + " " + u.release;
    m.arch = u.machine;
    m.host = u.nodename;
  }
  m.pmu = pmu_status();
  m.perf_event_paranoid = read_line("/proc/sys/kernel/perf_event_paranoid");
  // Injected host conditions (harness/pretend.h): the figures describe a
  // pretended host, and the file must say so.
  m.pretend = pretended();
  m.governor = read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  m.turbo = turbo_state();
  m.hypervisor = under_hypervisor();
  return m;
}

Build build_info() {
  Build b;
  b.cachetick_version = CACHETICK_VERSION;
  b.compiler = CACHETICK_COMPILER;
  b.build_type = CACHETICK_BUILD_TYPE;
  b.cxx_flags = CACHETICK_CXX_FLAGS;
  b.google_benchmark_version = CACHETICK_BENCHMARK_VERSION;
  const std::string src = CACHETICK_SOURCE_DIR;
  b.git_commit = run_command("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  if (!b.git_commit.empty())
    b.git_dirty = !run_command("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty();
  return b;
}

}  // namespace cachetick

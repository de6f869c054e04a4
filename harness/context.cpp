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

#ifndef CACHETICK_SOURCE_DIR
#define CACHETICK_SOURCE_DIR "."
#endif

namespace cachetick {

namespace {

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f || !std::getline(f, s)) return {};
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

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

std::string run_command(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    if (pclose(p) != 0) return {};
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

nlohmann::json nullable(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
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

std::string format_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (v == static_cast<std::uint64_t>(v))
    std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(v), units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
  return buf;
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

std::uint64_t data_cache_bytes(int level) {
  for (const auto& c : sysfs_caches())
    if (c.level == level && c.type != "Instruction") return c.size_bytes;
  return 0;
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

nlohmann::json machine_context() {
  nlohmann::json j;
  j["cpu_model"] = cpu_model();
  j["logical_cpus"] = std::thread::hardware_concurrency();
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : sysfs_caches())
    caches.push_back({{"level", c.level}, {"type", c.type}, {"size_bytes", c.size_bytes},
                      {"size", format_bytes(c.size_bytes)}, {"line_bytes", c.line_bytes},
                      {"ways", c.ways}, {"shared_cpu_list", c.shared_cpu_list}});
  j["caches"] = caches;
  const TscInfo& t = tsc_info();
  j["tsc"] = {{"hz", t.hz}, {"ghz", t.hz / 1e9}, {"source", t.source},
              {"measured_hz", t.measured_hz}, {"invariant", t.invariant},
              {"unit", t.unit},
              {"note", "TSC ticks count at a constant rate; they are not core cycles"}};
  utsname u;
  if (uname(&u) == 0) {
    j["kernel"] = std::string(u.sysname) + " " + u.release;
    j["arch"] = u.machine;
    j["host"] = u.nodename;
  }
  const PmuStatus pmu = pmu_status();
  j["pmu"] = {{"available", pmu.available}, {"reason", pmu.reason},
              {"perf_event_paranoid",
               nullable(read_line("/proc/sys/kernel/perf_event_paranoid"))}};
  // Injected host conditions (harness/pretend.h): the figures describe a
  // pretended host, and the file must say so.
  j["pretend"] = pretended();
  j["governor"] = nullable(read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"));
  const std::string no_turbo = read_line("/sys/devices/system/cpu/intel_pstate/no_turbo");
  const std::string boost = read_line("/sys/devices/system/cpu/cpufreq/boost");
  if (!no_turbo.empty())
    j["turbo"] = no_turbo == "0" ? "enabled" : "disabled";
  else if (!boost.empty())
    j["turbo"] = boost == "1" ? "enabled" : "disabled";
  else
    j["turbo"] = nullptr;  // not readable here (typical in a VM)
  {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    bool hv = false;
    while (std::getline(f, line))
      if (line.rfind("flags", 0) == 0) {
        hv = line.find(" hypervisor") != std::string::npos;
        break;
      }
    j["hypervisor"] = hv;
  }
  return j;
}

nlohmann::json build_context() {
  nlohmann::json j;
  j["cachetick_version"] = CACHETICK_VERSION;
  j["compiler"] = CACHETICK_COMPILER;
  j["build_type"] = CACHETICK_BUILD_TYPE;
  j["cxx_flags"] = CACHETICK_CXX_FLAGS;
  j["google_benchmark_version"] = CACHETICK_BENCHMARK_VERSION;
  const std::string src = CACHETICK_SOURCE_DIR;
  const std::string rev = run_command("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  j["git_commit"] = nullable(rev);
  if (!rev.empty())
    j["git_dirty"] = !run_command("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty();
  j["git_note"] = "commit of the source tree when the run started";
  return j;
}

}  // namespace cachetick

// Machine context: everything a reader needs to judge a result file from a
// machine they have never seen (CPU, caches, TSC, kernel, PMU, power policy,
// compiler, library versions, source commit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cachetick {

struct CacheLevel {
  int level = 0;
  std::string type;  // Data, Instruction, Unified
  std::uint64_t size_bytes = 0;
  int line_bytes = 0;
  int ways = 0;
  std::string shared_cpu_list;
};

// Caches of CPU 0 as sysfs reports them (empty where sysfs is missing).
std::vector<CacheLevel> sysfs_caches(const std::string& root = "/sys/devices/system/cpu/cpu0/cache");

// Size of the data (or unified) cache at `level`, 0 if unknown.
std::uint64_t data_cache_bytes(int level);

// Whether the kernel exposes a hardware PMU to this process, with the reason
// when it does not (probed with perf_event_open on the cycles event).
struct PmuStatus {
  bool available = false;
  std::string reason;
};
PmuStatus pmu_status();

nlohmann::json machine_context();
nlohmann::json build_context();

// The host name made safe for a file name (results/runs/, results/calibration/).
std::string host_name();

// "16KiB", "4MiB", "1.5GiB": binary units, as sysfs and the issue speak.
std::string format_bytes(std::uint64_t bytes);

}  // namespace cachetick

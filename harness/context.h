// Machine context: everything a reader needs to judge a result file from a
// machine they have never seen (CPU, caches, TSC, kernel, PMU, power policy,
// compiler, library versions, source commit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/text.h"  // format_bytes, which every user of sizes needs
#include "harness/tsc.h"

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

// One CPUID query: {eax, ebx, ecx, edx} for (leaf, subleaf). Injectable, so
// that the decoding is tested with recorded Intel and AMD answers anywhere.
struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};
using CpuidFn = CpuidRegs (*)(unsigned leaf, unsigned subleaf);
CpuidRegs host_cpuid(unsigned leaf, unsigned subleaf);  // all zero off x86

// The caches CPUID describes, and which leaves said so ("" when none):
// leaf 4 (Intel, and any vendor that implements it), else AMD's 0x8000001D
// (with TOPOEXT), else AMD's legacy 0x80000005/6 (sizes, lines and ways;
// an L3 whose ways 0x80000006 defers to 0x8000001D gets ways 0 = unknown).
std::vector<CacheLevel> cpuid_caches(CpuidFn cpuid, std::string* source);

// This machine's caches and where they come from: sysfs where the kernel
// exposes it, else CPUID (some VMs have no cache directories in sysfs; CPUID
// still knows), else none, with source "unknown". Every use of cache sizes in
// the harness goes through here. Read once; `no-sysfs-caches` and
// `no-cpuid-caches` (harness/pretend.h) skip a source.
struct HostCaches {
  std::vector<CacheLevel> levels;
  std::string source;  // "sysfs", "CPUID leaf 4", ..., or "unknown"
};
const HostCaches& host_caches();
// The same choice from given sources (tests).
HostCaches choose_caches(std::vector<CacheLevel> sysfs, CpuidFn cpuid);

// Size of the data (or unified) cache at `level`, 0 if unknown.
std::uint64_t data_cache_bytes(int level);

// "L1d 48KiB L2 1MiB L3 508MiB" (data and unified levels), "" when none.
std::string caches_text(const std::vector<CacheLevel>& levels);

// Whether the kernel exposes a hardware PMU to this process, with the reason
// when it does not (probed with perf_event_open on the cycles event).
struct PmuStatus {
  bool available = false;
  std::string reason;
};
PmuStatus pmu_status();

// The machine a run measured, as a reader of its result needs it (the
// result module, harness/result.cpp, writes it; the header prints it).
// Strings a host does not have are "" (written as null).
struct Machine {
  std::string cpu_model, kernel, arch, host;
  unsigned logical_cpus = 0;
  HostCaches caches;
  TscInfo tsc;
  PmuStatus pmu;
  std::string perf_event_paranoid;
  std::vector<std::string> pretend;  // injected conditions (harness/pretend.h)
  std::string governor;
  std::string turbo;  // "enabled", "disabled", or "" when not readable (typical in a VM)
  bool hypervisor = false;
};
Machine machine_info();

// The build that measured it.
struct Build {
  std::string cachetick_version, compiler, build_type, cxx_flags, google_benchmark_version;
  std::string git_commit;  // "" outside a git checkout
  bool git_dirty = false;
};
Build build_info();

// The host name made safe for a file name (results/runs/, results/calibration/).
std::string host_name();

}  // namespace cachetick

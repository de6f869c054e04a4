// One host for every sim child: what the program can read about the machine
// from files is replaced by a fixed description, so that simulated counts do
// not depend on which machine ran them.
//
// Why: Google Benchmark describes the host before the first benchmark
// (CPUInfo reads the sysfs cache directories and /proc/cpuinfo; SystemInfo
// the host name) into strings and vectors whose sizes differ by machine.
// Those blocks shape the heap the counted benchmarks then use: on the Zen 5
// guest, strings/boost_flyweight/map_key/24B (a flyweight is hashed by its
// address) counted 584 D1 misses with an Intel guest's sysfs, cpuinfo and
// host name bound over this one's (tests/fake_host.sh) and 313 without.
// Describing the host on a thread of its own kept those blocks off the main
// heap but left glibc in its multi-threaded mode for good: every glibc
// malloc/free row then counted 11-12% more instructions (locks) than the
// single-threaded process that runs natively.
//
// How: the forked child, before it execs valgrind, enters new user, mount
// and UTS namespaces (no privilege needed where the kernel allows user
// namespaces) and there sees /sys/devices/system/cpu/cpu0 empty (no cache
// directories: no sysfs description, as on some VMs), /proc/cpuinfo as one
// fixed processor, and the host name "cachetick-sim". Nothing else changes:
// same files, same process, same uid as far as the benchmarks care.
#pragma once

#include <string>

namespace cachetick::sim {

// In the forked child, before exec: enters the canonical view, writing its
// cpuinfo into `scratch_dir`. False (errno set) when the kernel refuses.
bool enter_canonical_host(const std::string& scratch_dir);

// "" when a child can enter the canonical view here (tried once, in a
// throwaway child); otherwise why not.
std::string canonical_host_unavailable(const std::string& scratch_dir);

// What the child's view of the host is, for the result and the gate.
inline constexpr const char* kCanonicalHostView =
    "canonical: /sys/devices/system/cpu/cpu0 empty, /proc/cpuinfo one fixed processor, host name "
    "cachetick-sim (user, mount and UTS namespaces)";

}  // namespace cachetick::sim

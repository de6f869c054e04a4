// What the kernels are tuned for: the cache sizes a benchmark hands to a
// kernel that sizes its blocks by the cache (the chunked sort's chunks).
//
// In a timed run that is this machine's hierarchy (host_caches(): sysfs, else
// CPUID). Under the sim backend it is one fixed hierarchy whatever the host,
// so that the simulated counts of an unchanged tree are the same on every
// machine: with the host's sizes, a sort row run on an Intel guest (sysfs:
// L2 2 MiB) and on a Zen 5 guest (no sysfs; inside valgrind CPUID is
// valgrind's own canned CPU) sorted in different chunks and counted
// different instructions.
#pragma once

#include <cstdint>
#include <string>

namespace cachetick {

struct Tuning {
  std::uint64_t l1d = 0, l2 = 0, l3 = 0;  // bytes
  std::string source;
};

// The sim backend's fixed hierarchy: the reference Zen 4 machine's L1d, L2
// and L3 (its L1d and L3 are also the simulated D1 and LL of sim.h).
Tuning reference_tuning();

// The hierarchy in force (the host's unless use_reference_tuning() was
// called). A level the host does not describe takes the reference size,
// and `source` says so.
const Tuning& tuning();

// The sim child calls this before any benchmark runs.
void use_reference_tuning();

}  // namespace cachetick

#include "harness/tuning.h"

#include <tuple>

#include "harness/context.h"

namespace cachetick {

Tuning reference_tuning() {
  return {32u << 10, 1u << 20, 32u << 20,
          "reference hierarchy (L1d 32KiB, L2 1MiB, L3 32MiB), fixed whatever the host"};
}

namespace {

Tuning from_host() {
  const Tuning ref = reference_tuning();
  Tuning t{data_cache_bytes(1), data_cache_bytes(2), data_cache_bytes(3), host_caches().source};
  std::string assumed;
  for (auto [v, r, name] : {std::tuple{&t.l1d, ref.l1d, "L1d"}, std::tuple{&t.l2, ref.l2, "L2"},
                            std::tuple{&t.l3, ref.l3, "L3"}})
    if (*v == 0) *v = r, assumed += std::string(assumed.empty() ? "" : ", ") + name;
  if (!assumed.empty()) t.source += "; " + assumed + " unknown here, the reference size assumed";
  return t;
}

// Set by the sim child before the first benchmark. The host is then never
// read in the child: reading sysfs or CPUID allocates host-dependent strings
// and buffers, which would shape the heap the counted benchmarks use.
bool g_reference = false;

}  // namespace

const Tuning& tuning() {
  if (g_reference) {
    static const Tuning r = reference_tuning();
    return r;
  }
  static const Tuning h = from_host();
  return h;
}

void use_reference_tuning() { g_reference = true; }

}  // namespace cachetick

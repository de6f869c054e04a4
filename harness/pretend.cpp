#include "harness/pretend.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace cachetick {

namespace {

struct Name {
  Pretend c;
  const char* name;
};
constexpr Name kNames[] = {
    {Pretend::no_rdtscp, "no-rdtscp"},           {Pretend::papi_disabled, "papi-disabled"},
    {Pretend::no_papi, "no-papi"},               {Pretend::no_pmu, "no-pmu"},
    {Pretend::no_perf_event, "no-perf-event"},   {Pretend::no_sysfs_caches, "no-sysfs-caches"},
    {Pretend::no_cpuid_caches, "no-cpuid-caches"}, {Pretend::no_namespaces, "no-namespaces"},
};

std::string valid_names() {
  std::string s;
  for (const Name& n : kNames) s += (s.empty() ? "" : ", ") + std::string(n.name);
  return s;
}

// Bit i set = kNames[i] pretended. Throws on an unknown name.
unsigned parse(const std::string& spec) {
  unsigned bits = 0;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    bool known = false;
    for (const Name& n : kNames)
      if (item == n.name) bits |= 1u << static_cast<unsigned>(n.c), known = true;
    if (!known)
      throw std::invalid_argument("CACHETICK_PRETEND: unknown condition '" + item +
                                  "' (valid: " + valid_names() + ")");
  }
  return bits;
}

unsigned from_env() {
  const char* v = std::getenv("CACHETICK_PRETEND");
  try {
    return v ? parse(v) : 0;
  } catch (const std::invalid_argument&) {
    return 0;  // check_pretend_env() reports it; main() exits 2 before any use
  }
}

unsigned& bits() {
  static unsigned b = from_env();
  return b;
}

}  // namespace

bool pretending(Pretend c) { return bits() & (1u << static_cast<unsigned>(c)); }

std::vector<std::string> pretended() {
  std::vector<std::string> out;
  for (const Name& n : kNames)
    if (pretending(n.c)) out.push_back(n.name);
  return out;
}

std::string check_pretend_env() {
  const char* v = std::getenv("CACHETICK_PRETEND");
  try {
    if (v) parse(v);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

void set_pretend_for_test(const std::string& spec) { bits() = parse(spec); }

void restore_pretend_from_env() { bits() = from_env(); }

}  // namespace cachetick

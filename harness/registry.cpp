#include "harness/registry.h"

#include <cstdio>
#include <cstdlib>
#include <unordered_set>

namespace cachetick {

const char* to_string(Role r) {
  switch (r) {
    case Role::naive: return "naive";
    case Role::optimised: return "optimised";
    case Role::peer: return "peer";
    case Role::reference: return "reference";
  }
  return "?";
}

std::string Spec::name() const {
  return family + "/" + variant + "/" + workload + "/" + size_label;
}

namespace {
// Function-local statics: families register from static initialisers in
// other translation units, whose order is unspecified.
std::vector<Entry>& entry_store() {
  static std::vector<Entry> v;
  return v;
}
std::vector<Family>& family_store() {
  static std::vector<Family> v;
  return v;
}
}  // namespace

void add(Spec spec, BenchFn fn) {
  static std::unordered_set<std::string> names;
  const std::string n = spec.name();
  if (spec.family.empty() || spec.variant.empty() || spec.workload.empty() ||
      spec.size_label.empty() || spec.op.empty() || !(spec.ops_per_iter > 0)) {
    std::fprintf(stderr, "cachetick: incomplete benchmark spec '%s'\n", n.c_str());
    std::abort();
  }
  if (!names.insert(n).second) {
    std::fprintf(stderr, "cachetick: benchmark '%s' registered twice\n", n.c_str());
    std::abort();
  }
  entry_store().push_back({std::move(spec), std::move(fn)});
}

void add_family(std::string name, std::string description) {
  family_store().push_back({std::move(name), std::move(description)});
}

const std::vector<Entry>& entries() { return entry_store(); }
const std::vector<Family>& families() { return family_store(); }

const Entry* find(const std::string& name) {
  for (const auto& e : entry_store())
    if (e.spec.name() == name) return &e;
  return nullptr;
}

void run_measured(const Entry& e, benchmark::State& st) {
  Probe p(e.spec.name());
  e.fn(st, p);
  if (!p.ran()) {
    // A benchmark that skipped itself (a peer that cannot load) said why.
    if (!st.error_occurred()) st.SkipWithError("benchmark did not call probe.run() exactly once");
    return;
  }
  p.report(st, e.spec.ops_per_iter);
}

namespace detail {
FamilyRegistrar::FamilyRegistrar(const char* name, const char* description,
                                 void (*fn)()) {
  add_family(name, description);
  fn();
}
}  // namespace detail

}  // namespace cachetick

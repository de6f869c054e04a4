#include "harness/groups.h"

#include <algorithm>
#include <map>

namespace cachetick {

namespace {

// Does the family compare anything (has an optimised variant at all)?
bool family_compares(const std::string& family) {
  return std::any_of(entries().begin(), entries().end(),
                     [&](const Entry& e) { return e.spec.family == family && e.spec.role == Role::optimised; });
}

// Can the group be paired at all, whatever is selected: two variants or
// more in the registry, one of them optimised? (A few rows stand alone by
// design, e.g. a break-even sweep of one kernel.)
bool pairable_by_design(const Group& g) {
  std::size_t n = 0, opt = 0;
  for (const Entry& e : entries())
    if (e.spec.family == g.family && e.spec.workload == g.workload && e.spec.size_label == g.size_label) {
      ++n;
      opt += e.spec.role == Role::optimised;
    }
  return n >= 2 && opt == 1;
}

void choose_reference(Group& g) {
  std::vector<const Entry*> opt;
  for (const Entry* e : g.variants)
    if (e->spec.role == Role::optimised) opt.push_back(e);
  if (!family_compares(g.family)) {
    g.unpaired_why = "the " + g.family + " family compares nothing (no optimised variant)";
  } else if (!pairable_by_design(g)) {
    g.unpaired_why = "the group has no second variant or no optimised one";
  } else if (g.variants.size() < 2) {
    g.unpaired_why = "only " + g.variants.front()->spec.variant + " is selected";
  } else if (opt.size() != 1) {
    g.unpaired_why = opt.empty() ? "its reference (the optimised variant) is not selected"
                                 : "it has more than one optimised variant";
  } else {
    g.reference = opt.front();
  }
}

}  // namespace

std::vector<Group> comparison_groups(const std::vector<const Entry*>& chosen) {
  std::vector<Group> out;
  std::map<std::string, std::size_t> index;
  for (const Entry* e : chosen) {
    const std::string key = e->spec.family + "/" + e->spec.workload + "/" + e->spec.size_label;
    auto [it, fresh] = index.emplace(key, out.size());
    if (fresh) out.push_back({e->spec.family, e->spec.workload, e->spec.size_label, {}, nullptr, ""});
    out[it->second].variants.push_back(e);
  }
  for (Group& g : out) choose_reference(g);
  return out;
}

std::string check_pairable(const std::vector<Group>& groups) {
  for (const Group& g : groups)
    if (!g.paired() && family_compares(g.family) && pairable_by_design(g))
      return "group " + g.name() + " cannot be paired: " + g.unpaired_why +
             ". A paired run compares every variant of a group with its reference; select the group's "
             "variants (e.g. --filter '" + g.family + "/.*/" + g.workload + "/" + g.size_label +
             "$'), or pass --unpaired to measure the rows alone";
  return "";
}

}  // namespace cachetick

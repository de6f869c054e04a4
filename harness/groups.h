// Comparison groups: what a paired run compares (harness/paired.h).
//
// A group is one family/workload/size: every selected variant of it. Its
// reference is the family's optimised variant (Role::optimised; every
// family with comparisons has exactly one per group, checked by the cli
// test), and every other variant's figure is a ratio to it, per round.
// Families that compare nothing (the harness's own rows, the counters)
// have no optimised variant: their groups are measured in rounds alone.
#pragma once

#include <string>
#include <vector>

#include "harness/registry.h"

namespace cachetick {

struct Group {
  std::string family, workload, size_label;
  std::vector<const Entry*> variants;  // registration order
  const Entry* reference = nullptr;     // nullptr: nothing to pair with
  std::string unpaired_why;             // when reference is nullptr

  std::string name() const { return family + "/" + workload + "/" + size_label; }
  bool paired() const { return reference != nullptr; }
};

// The selection cut into groups, in order of each group's first variant.
std::vector<Group> comparison_groups(const std::vector<const Entry*>& chosen);

// "" when every group can be paired or cannot by design (its family
// compares nothing, or the registry gives it one variant or no reference);
// otherwise why not (a group with one variant selected, or without its
// reference), for a clear exit 2 unless the user asked for unpaired rows.
std::string check_pairable(const std::vector<Group>& groups);

}  // namespace cachetick

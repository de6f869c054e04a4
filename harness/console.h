// The console: a thin table fed from the typed rows (harness/figures.h) and
// the run context (harness/result.h). It computes no figure and keeps no
// count: what it prints at the end is the document's Summary.
#pragma once

#include <string>
#include <vector>

#include "harness/figures.h"
#include "harness/limits.h"
#include "harness/registry.h"
#include "harness/result.h"

namespace cachetick {

// The name columns, as wide as the selection needs.
struct Columns {
  int family = 6, variant = 7, workload = 8, size = 4;
};
Columns columns_for(const std::vector<const Entry*>& selected);

// "family ERROR: family/variant/workload/size: why" (both backends).
void print_error_row(const Columns& w, const Row& row);

// Time backend: the header (machine, build, counters, calibration, notes,
// what the columns mean), the table's head, one line per row, the ending.
void print_time_header(const RunContext& ctx, const Limits& limits, double budget_ns);
void print_time_table_head(const Columns& w);
void print_time_row(const Columns& w, const Row& row, double default_budget_ns);
void print_time_summary(const Summary& s, double budget_ns, double unstable_cv, const std::string& out);

// Time backend, paired groups: per family, every variant against its
// group's reference (ratio, 95% interval, verdict at +-margin), before the
// family's detailed table. Prints nothing for a family without paired rows.
void print_findings(const std::string& family, const std::vector<Row>& rows, double margin);

// Sim backend: the per-op counts of every row, and what they mean.
void print_sim_table(const Columns& w, const std::vector<Row>& rows);

// The first `show` names as one --filter alternation (regex metacharacters
// escaped), for rerunning flagged rows.
std::string rerun_regex(const std::vector<std::string>& names, std::size_t show);

}  // namespace cachetick

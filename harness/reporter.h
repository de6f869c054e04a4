// The time backend's reporter: turns what Google Benchmark reports into the
// result document's entries and rows (figures computed once per run, in
// harness/figures.h). A group's child process (harness/rounds.h) feeds it
// the group's rounds as repetitions, then their aggregates; the parent
// prints the rows and writes the document (harness/timed.cpp).
#pragma once

#include <vector>

#include "harness/figures.h"
#include "harness/gb_runs.h"
#include "harness/limits.h"
#include "harness/registry.h"
#include "harness/result.h"

namespace cachetick {

struct ReportOptions {
  double budget_ns = 10;               // the run's default per-op budget
  Limits limits;                       // from the run's calibration; invalid without one
  std::vector<const Entry*> selected;  // what will run (for column widths)
  RowThresholds thresholds;            // what flags a row unstable or on a shared core
};

class Reporter {
 public:
  Reporter(ResultDocument& doc, ReportOptions opts);

  // One report: a benchmark's repetitions, or its aggregates.
  void on_runs(const std::vector<GbRun>& runs);

 private:
  ResultDocument& doc_;
  ReportOptions opts_;
};

}  // namespace cachetick

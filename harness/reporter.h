// The time backend's reporter: turns what Google Benchmark reports into the
// result document's entries and rows (figures computed once per run, in
// harness/figures.h), prints each row, and writes the document after every
// benchmark so that an interrupted run keeps what finished.
//
// It is fed by a RunCollector (harness/gb_runs.h) and may be fed by several
// Google Benchmark invocations: each report is appended.
#pragma once

#include <vector>

#include "harness/console.h"
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
  bool print = true;                   // false: build the rows only (a group's child process)
};

class Reporter {
 public:
  Reporter(ResultDocument& doc, ReportOptions opts);

  // Google Benchmark's context: kept by the document; the first prints the
  // header and writes the first (empty, incomplete) snapshot.
  void on_context(const benchmark::BenchmarkReporter::Context& context);
  // One report: a benchmark's repetitions, or its aggregates.
  void on_runs(const std::vector<GbRun>& runs);
  // The complete document, and the summary on the console.
  void finish();

  // A RunCollector that feeds this reporter.
  RunCollector collector();

 private:
  ResultDocument& doc_;
  ReportOptions opts_;
  Columns columns_;
  bool header_printed_ = false;
};

}  // namespace cachetick

// The run's one reporter. Google Benchmark hands it every finished
// benchmark; it prints a row of the console table and rewrites the JSON
// result file (atomically) so that an interrupted run keeps what finished.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "harness/limits.h"
#include "harness/registry.h"

namespace cachetick {

struct ReportOptions {
  double budget_ns = 10;
  std::string out_path;         // empty: console only
  nlohmann::json run_context;   // the "cachetick" block of the result file
  std::vector<const Entry*> selected;  // what will run (for column widths)
  double unstable_cv = 0.05;    // flag rows whose run-to-run CV exceeds this
};

// Per-op figures of one Google Benchmark run (an iteration run or an
// aggregate), derived from the run and its spec.
struct OpFigures {
  double ns_per_op = 0;
  double ticks_per_op = -1;  // < 0: not measured
  double gb_per_s = -1;      // useful bytes; < 0: n/a
  bool within_budget = false;
  double budget_ns = 0;
};
OpFigures op_figures(const benchmark::BenchmarkReporter::Run& run, const Spec& spec,
                     double default_budget_ns);

class Reporter : public benchmark::BenchmarkReporter {
 public:
  explicit Reporter(ReportOptions opts);

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

  int judged() const { return judged_; }
  int within() const { return within_; }
  int errors() const { return errors_; }
  std::size_t benchmarks_done() const { return done_; }

 private:
  void print_header();
  void print_row(const Spec& spec, const Run& row, double cv, const std::string& extra);
  void write_snapshot(bool complete);

  ReportOptions opts_;
  nlohmann::json doc_;
  int judged_ = 0, within_ = 0, errors_ = 0, unstable_ = 0;
  std::size_t done_ = 0;
  std::vector<std::string> over_;
  std::vector<std::string> shared_rows_;  // core share below kSharedCoreBelow
  std::vector<std::string> above_limit_;  // %BW above 100: a bug to explain
  Limits limits_;  // from run_context["calibration"]; invalid without one
  int w_family_ = 6, w_variant_ = 7, w_workload_ = 8, w_size_ = 4;
};

}  // namespace cachetick

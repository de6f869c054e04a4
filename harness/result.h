// The result document: one owner for what a run writes, whichever backend
// measured it.
//
// The file is Google Benchmark's own JSON (its "context" and "benchmarks",
// so its tools read ours) plus cachetick blocks: one at the top (the run
// context below, `complete`, and one Summary) and one in every benchmark
// entry (who the benchmark is, from its Spec, and its figures). Both
// backends fill the same document: the same top-level blocks and the same
// summary keys, a field that does not apply to a backend present as 0 or
// null. Blocks other modules own (calibration, counters, core_share, tuning,
// overhead, sim) are attached as their owners made them.
//
// Rows may come from several Google Benchmark invocations: the document
// only appends, and the summary is derived from its rows when written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/context.h"
#include "harness/figures.h"
#include "harness/registry.h"

namespace cachetick {

// What the run was asked for, as it ran. Both backends write every field;
// one that does not apply to a backend is null.
struct RecordedOptions {
  std::string filter;
  std::vector<std::string> families;
  bool quick = false;
  int repetitions = 1;
  std::optional<double> min_time_s;   // time backend
  std::optional<double> budget_ns;    // time backend: the default per-op budget
  std::vector<std::string> passthrough;  // Google Benchmark's own flags
  std::optional<std::string> sim_cache;  // sim backend: the simulated geometry
  std::vector<std::string> command_line;
};

struct RunContext {
  std::string backend;  // "time" or "sim"
  Machine machine;
  Build build;
  RecordedOptions options;
  std::vector<std::string> notes;  // what a reader must know (quick mode, no calibration...)
  nlohmann::json units;            // what each per-op figure means, for this backend
  // Blocks owned by other modules, by key, as they made them.
  std::vector<std::pair<std::string, nlohmann::json>> attached;

  void attach(std::string key, nlohmann::json block) { attached.emplace_back(std::move(key), std::move(block)); }
  const nlohmann::json* find(const std::string& key) const;  // an attached block, or nullptr
};

// The run's outcome, the same keys for both backends: a time run judges
// budgets and flags rows; a sim run judges nothing (its counts are compared
// by the gate), so those counts are 0 there.
struct Summary {
  int judged = 0, within_budget = 0, errors = 0, unstable = 0;
  std::size_t benchmarks_done = 0;  // benchmarks with a row (ran or failed)
  std::vector<std::string> over_budget_rows, shared_core_rows, above_read_limit_rows;
};
Summary summarise(const std::vector<Row>& rows);

nlohmann::json to_json(const Machine& m);
nlohmann::json to_json(const Build& b);
nlohmann::json to_json(const RecordedOptions& o);
nlohmann::json to_json(const RunContext& c);
nlohmann::json to_json(const Summary& s);

// The cachetick block of one benchmark entry: who the benchmark is.
nlohmann::json entry_block(const Spec& s, const std::string& backend);
// Adds a time run's figures to its entry's block; `with_verdict` for the
// runs a budget judges (each repetition, the mean and the median).
void add_figures(nlohmann::json& block, const TimeFigures& f, bool with_verdict);

class ResultDocument {
 public:
  // out_path "": console only, write() does nothing.
  ResultDocument(RunContext context, std::string out_path);

  const RunContext& context() const { return context_; }
  const std::string& out_path() const { return out_; }

  // Google Benchmark's "context" block: the first invocation's is kept.
  void set_gb_context(nlohmann::json gb_context);
  // One Google Benchmark entry, its cachetick block already attached.
  void add_entry(nlohmann::json entry);
  void add_row(Row row);
  // A paired comparison group's block (harness/rounds.h): the document's
  // top-level "groups".
  void add_group(nlohmann::json group);

  const std::vector<Row>& rows() const { return rows_; }
  std::size_t entries() const { return entries_.size(); }
  Summary summary() const { return summarise(rows_); }

  nlohmann::json to_json(bool complete) const;
  // The document as it stands, written whole (atomic_file.h): a run writes
  // it after every benchmark with `complete` false, so an interrupted run
  // keeps what finished. Throws std::runtime_error.
  void write(bool complete) const;

 private:
  RunContext context_;
  std::string out_;
  nlohmann::json gb_context_;
  std::vector<nlohmann::json> entries_;
  std::vector<Row> rows_;
  nlohmann::json groups_ = nlohmann::json::array();
};

}  // namespace cachetick

#include "harness/gb_runs.h"

#include <regex>
#include <sstream>

// Exported by Debian's libbenchmark 1.7.1 (src/statistics.h) but not
// declared by its installed header.
namespace benchmark {
std::vector<BenchmarkReporter::Run> ComputeStats(const std::vector<BenchmarkReporter::Run>& reports);
double StatisticsMean(const std::vector<double>& v);
double StatisticsMedian(const std::vector<double>& v);
double StatisticsStdDev(const std::vector<double>& v);
double StatisticsCV(const std::vector<double>& v);
}  // namespace benchmark

namespace cachetick {

bool init_google_benchmark(std::vector<std::string> args) {
  // Google Benchmark keeps argv[0] (its context's executable name) for the
  // rest of the process: the strings must outlive this call.
  static std::vector<std::string> kept;
  kept = std::move(args);
  std::vector<char*> argv;
  for (auto& a : kept) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(kept.size());
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) return false;
  benchmark::SetDefaultTimeUnit(benchmark::kNanosecond);
  return true;
}

nlohmann::json gb_context_json(const benchmark::BenchmarkReporter::Context& context) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportContext(context);
  os << "\n  ]\n}\n";  // close the "benchmarks" array it opened
  return nlohmann::json::parse(os.str()).at("context");
}

nlohmann::json gb_entries_json(const std::vector<GbRun>& runs) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportRuns(runs);
  static const std::regex non_finite(R"(": -?(NaN|Infinity)\b)");
  return nlohmann::json::parse("[" + std::regex_replace(os.str(), non_finite, "\": null") + "]");
}

std::vector<GbRun> aggregates_of(std::vector<GbRun>& reps) {
  // Google Benchmark's default statistics, in its order. Runs point at the
  // statistics of their benchmark instance, which is gone once its
  // invocation returns: they point here instead.
  static const std::vector<benchmark::internal::Statistics> stats = {
      {"mean", benchmark::StatisticsMean},
      {"median", benchmark::StatisticsMedian},
      {"stddev", benchmark::StatisticsStdDev},
      {"cv", benchmark::StatisticsCV, benchmark::kPercentage}};
  for (std::size_t i = 0; i < reps.size(); ++i) {
    reps[i].repetitions = static_cast<std::int64_t>(reps.size());
    reps[i].repetition_index = static_cast<std::int64_t>(i);
    reps[i].statistics = &stats;
  }
  if (reps.size() < 2) return {};
  return benchmark::ComputeStats(reps);
}

}  // namespace cachetick

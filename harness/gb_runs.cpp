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

nlohmann::json run_to_json(const GbRun& r) {
  nlohmann::json counters = nlohmann::json::object();
  for (const auto& [name, c] : r.counters)
    counters[name] = {{"value", c.value}, {"flags", static_cast<int>(c.flags)}, {"one_k", static_cast<int>(c.oneK)}};
  return {{"name", r.run_name.function_name},
          {"family_index", r.family_index},
          {"per_family_instance_index", r.per_family_instance_index},
          {"label", r.report_label},
          {"error", r.error_occurred ? nlohmann::json(r.error_message) : nlohmann::json(nullptr)},
          {"iterations", r.iterations},
          {"threads", r.threads},
          {"time_unit", static_cast<int>(r.time_unit)},
          {"real_s", r.real_accumulated_time},
          {"cpu_s", r.cpu_accumulated_time},
          {"counters", counters}};
}

GbRun run_from_json(const nlohmann::json& j) {
  GbRun r;
  r.run_name.function_name = j.at("name").get<std::string>();
  r.family_index = j.at("family_index").get<std::int64_t>();
  r.per_family_instance_index = j.at("per_family_instance_index").get<std::int64_t>();
  r.run_type = GbRun::RT_Iteration;
  r.report_label = j.at("label").get<std::string>();
  r.error_occurred = !j.at("error").is_null();
  if (r.error_occurred) r.error_message = j.at("error").get<std::string>();
  r.iterations = j.at("iterations").get<benchmark::IterationCount>();
  r.threads = j.at("threads").get<std::int64_t>();
  r.time_unit = static_cast<benchmark::TimeUnit>(j.at("time_unit").get<int>());
  r.real_accumulated_time = j.at("real_s").get<double>();
  r.cpu_accumulated_time = j.at("cpu_s").get<double>();
  for (const auto& [name, c] : j.at("counters").items())
    r.counters[name] = benchmark::Counter(c.at("value").get<double>(),
                                          static_cast<benchmark::Counter::Flags>(c.at("flags").get<int>()),
                                          static_cast<benchmark::Counter::OneK>(c.at("one_k").get<int>()));
  return r;
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

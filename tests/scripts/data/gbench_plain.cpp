// How tests/scripts/data/gbench_plain.json was made: a plain Google Benchmark
// program (not cachetick), the kind of file the report must also read.
//   g++ -O2 gbench_plain.cpp -o gb -lbenchmark -lpthread
//   ./gb --benchmark_repetitions=3 --benchmark_min_time=0.01 \
//        --benchmark_out=gbench_plain.json --benchmark_out_format=json
#include <benchmark/benchmark.h>
#include <cstring>
#include <string>
#include <vector>
static void BM_memcpy(benchmark::State& state) {
  std::vector<char> src(state.range(0), 'x'), dst(state.range(0));
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), state.range(0));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_memcpy)->RangeMultiplier(8)->Range(64, 1 << 18);
static void BM_vector_sum(benchmark::State& state) {
  std::vector<int> v(state.range(0), 1);
  for (auto _ : state) {
    long s = 0;
    for (int x : v) s += x;
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
  state.counters["elements"] = state.range(0);
}
BENCHMARK(BM_vector_sum)->RangeMultiplier(8)->Range(64, 1 << 18);
static void BM_StringCopy(benchmark::State& state) {
  std::string x = "hello";
  for (auto _ : state) { std::string copy(x); benchmark::DoNotOptimize(copy); }
}
BENCHMARK(BM_StringCopy);
BENCHMARK_MAIN();

// Family "sharing": false sharing between workers on different cores
// (kernels/sharing/counters.h), run by a crew of forked workers on shared
// memory (kernels/sharing/crew.h: why processes, not threads).
//
// One op = one increment (own_counter) or one loop trip (flag) BY EACH
// WORKER: the T workers each do ops_per_iter ops in the same timed window,
// so ns/op is the time per increment per thread.
//
// The batch. The workers are forked and warmed up (one untimed job, which
// leaves them spinning) before the probe starts. In the first iteration of
// the timed loop the caller hands the other workers the WHOLE batch
// (iterations x kPiece ops each) and then does its own share, kPiece per
// iteration; the last iteration waits for the others. So every worker runs
// for the whole window, with one hand-off at each end of it (a cache-line
// transfer each, ~0.1-1 us against a window of milliseconds), not one per
// iteration; the tail where a worker finishes before the others is in the
// window and counts against the layout that caused it.
#include <absl/base/optimization.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "harness/registry.h"
#include "kernels/sharing/counters.h"
#include "kernels/sharing/crew.h"

namespace {

using namespace cachetick;
using namespace cachetick::sharing;

constexpr std::uint64_t kPiece = 1 << 16;  // ops per iteration, per worker

#define CT_STR2(x) #x
#define CT_STR(x) CT_STR2(x)
#define ABSL_CACHELINE_SIZE_TEXT CT_STR(ABSL_CACHELINE_SIZE)

// The peer: absl's cache-line alignment macro (64 B on x86-64, 128 B on
// POWER), as an absl user would pad per-thread counters.
struct AbslCounters {
  struct ABSL_CACHELINE_ALIGNED Slot {
    Counter value{0};
  };
  Slot slot[kMaxWorkers];
  Counter& operator[](unsigned w) { return slot[w].value; }
};

// Every row also measures itself against the group's optimised layout,
// interleaved in the same crew (samples alternate A, B, A, B ...), so the
// ratio holds even when a neighbour takes a core for part of the run. The
// reference layout lives kRefOffset into the shared block.
constexpr std::size_t kRefOffset = 16 << 10;
static_assert(sizeof(Padded128) <= kRefOffset && sizeof(FlagBlock<FlagApart>) <= kRefOffset);

template <JobFn Inner>
void at_ref(void* shared, unsigned w, std::uint64_t n) {
  Inner(static_cast<char*>(shared) + kRefOffset, w, n);
}

// Best-of-5 ratio time(a) / time(b), each sample a whole-crew job of 2^17
// ops per worker, timed with steady_clock outside the harness's window.
double interleaved_ratio(Crew& crew, JobFn a, JobFn b) {
  using clock = std::chrono::steady_clock;
  auto timed = [&](JobFn f) {
    const auto t0 = clock::now();
    crew.run(f, 1 << 17);
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  double best_a = 1e30, best_b = 1e30;
  for (int i = 0; i < 5; ++i) {
    best_a = std::min(best_a, timed(a));
    best_b = std::min(best_b, timed(b));
  }
  return best_a / best_b;
}

struct Variant {
  const char* name;
  Role role;
  JobFn job;      // on the block at offset 0
  JobFn ref_job;  // the group's optimised layout, at kRefOffset (null: this is it)
  void (*ref_construct)(void* block);
  std::size_t stride;  // bytes between two workers' hot words (working set)
  void (*construct)(void* block);
  bool (*exact)(const void* block, unsigned workers, std::uint64_t n);
  const char* note;
};

template <class L>
void construct(void* p) {
  ::new (p) L();
}

template <class L>
bool counters_exact(const void* p, unsigned workers, std::uint64_t n) {
  auto& c = *static_cast<L*>(const_cast<void*>(p));
  for (unsigned w = 0; w < workers; ++w)
    if (c[w].load() != n) return false;
  return true;
}

template <class F>
bool flag_exact(const void* p, unsigned workers, std::uint64_t n) {
  auto& b = *static_cast<const FlagBlock<F>*>(p);
  if (b.flag.hot.load() != n) return false;
  for (unsigned w = 1; w < workers; ++w)
    if (b.seen[w].load() != n) return false;
  return true;
}

void run_variant(benchmark::State& st, Probe& p, const Variant& v, unsigned workers) {
  Crew crew(workers, kRefOffset + (16 << 10));
  void* block = crew.shared();
  v.construct(block);
  std::uint64_t done = 0;  // ops each worker has done on the block
  if (v.ref_job != nullptr) {
    v.ref_construct(static_cast<char*>(block) + kRefOffset);
    st.counters["vs_ct_padded"] = interleaved_ratio(crew, v.job, v.ref_job);
    done += 5 << 17;
  } else {
    crew.run(v.job, kPiece);  // warm-up: every worker has its line, and spins
    done += kPiece;
  }
  const std::int64_t iters = st.max_iterations;
  std::int64_t i = 0;
  p.run(st, [&] {
    if (i == 0) crew.start(v.job, kPiece * static_cast<std::uint64_t>(iters));
    v.job(block, 0, kPiece);
    if (++i == iters) crew.wait();
  });
  done += kPiece * static_cast<std::uint64_t>(iters);
  if (!v.exact(block, workers, done)) st.SkipWithError("lost increments: the counts are not exact");
}

std::vector<unsigned> crew_sizes() {
  // 2 workers always (the lesson needs two cores); more where the machine
  // has them: powers of two up to its hardware threads, and that count.
  const unsigned hw = std::min(std::max(std::thread::hardware_concurrency(), 2u), Crew::kMaxCrew);
  std::vector<unsigned> t;
  for (unsigned n = 2; n <= hw; n *= 2) t.push_back(n);
  if (t.back() != hw) t.push_back(hw);
  return t;
}

void add_variant(const char* workload, const char* op, const Variant& v, unsigned workers) {
  Spec s;
  s.family = "sharing";
  s.variant = v.name;
  s.role = v.role;
  s.workload = workload;
  s.size = workers;
  s.size_label = std::to_string(workers) + "T";
  s.working_set_bytes = workers * v.stride;
  s.op = op;
  s.ops_per_iter = kPiece;
  s.sim_iterations = 4;
  s.note = std::to_string(workers) + " workers (caller + " + std::to_string(workers - 1) +
           " forked), ns per " + op + " per worker: " + v.note;
  add(s, [v, workers](benchmark::State& st, Probe& p) { run_variant(st, p, v, workers); });
}

void register_own_counter(unsigned workers) {
  const JobFn ref = &at_ref<&own_counter_job<Padded>>;
  const auto rc = &construct<Padded>;
  static const std::string stride_note =
      std::string("counters ") + std::to_string(kLineStride) + " B apart (" +
      (kStrideFromStd ? "std::hardware_destructive_interference_size" : "no std value here: 64") + ")";
  const Variant vs[] = {
      {"packed", Role::naive, &own_counter_job<Packed>, ref, rc, 8, &construct<Packed>,
       &counters_exact<Packed>, "counters 8 B apart, one line"},
      {"ct_padded", Role::optimised, &own_counter_job<Padded>, nullptr, nullptr, kLineStride,
       &construct<Padded>, &counters_exact<Padded>, stride_note.c_str()},
      {"absl_cacheline", Role::peer, &own_counter_job<AbslCounters>, ref, rc, ABSL_CACHELINE_SIZE,
       &construct<AbslCounters>, &counters_exact<AbslCounters>,
       "counters ABSL_CACHELINE_ALIGNED (ABSL_CACHELINE_SIZE = " ABSL_CACHELINE_SIZE_TEXT " B apart)"},
      {"padded_128", Role::reference, &own_counter_job<Padded128>, ref, rc, 128,
       &construct<Padded128>, &counters_exact<Padded128>,
       "counters 128 B apart (adjacent-line prefetch pairs)"},
      {"local", Role::reference, &local_counter_job<Packed>, ref, rc, 8, &construct<Packed>,
       &counters_exact<Packed>, "register increments, one write per piece into packed counters"},
  };
  for (const Variant& v : vs) add_variant("own_counter", "increment", v, workers);
}

void register_flag(unsigned workers) {
  const Variant vs[] = {
      {"packed", Role::naive, &flag_job<FlagBeside>, &at_ref<&flag_job<FlagApart>>,
       &construct<FlagBlock<FlagApart>>, 16, &construct<FlagBlock<FlagBeside>>,
       &flag_exact<FlagBeside>, "worker 0 increments a counter, the others poll a flag beside it"},
      {"ct_padded", Role::optimised, &flag_job<FlagApart>, nullptr, nullptr, 2 * kLineStride,
       &construct<FlagBlock<FlagApart>>, &flag_exact<FlagApart>,
       "the same, the flag on a line of its own"},
  };
  for (const Variant& v : vs) add_variant("flag", "iteration", v, workers);
}

}  // namespace

CACHETICK_FAMILY(sharing, "False sharing: per-thread counters packed vs padded, a flag beside a hot counter") {
  for (unsigned workers : crew_sizes()) {
    register_own_counter(workers);
    register_flag(workers);
  }
}

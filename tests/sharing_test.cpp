// The sharing family: every layout counts exactly (no lost increments),
// whether its workers are forked processes (the crew the benchmarks use) or
// threads; the layouts put counters where the lesson says; the crew runs
// each job once per worker, repeatedly, and reports a dead worker.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdint>
#include <new>
#include <thread>
#include <vector>

#include "kernels/sharing/counters.h"
#include "kernels/sharing/crew.h"

using namespace cachetick::sharing;

namespace {

std::uintptr_t line_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p) / 64; }

TEST(SharingLayout, PackedCountersShareOneLine) {
  alignas(64) static Packed c;
  EXPECT_EQ(Packed::stride, 8u);
  for (unsigned w = 1; w < 8; ++w) EXPECT_EQ(line_of(&c[w]), line_of(&c[0])) << w;
  EXPECT_NE(line_of(&c[8]), line_of(&c[0]));
}

TEST(SharingLayout, PaddedCountersOwnTheirLines) {
  static Padded p;
  static Padded128 q;
  EXPECT_EQ(Padded::stride, kLineStride);
  EXPECT_EQ(Padded128::stride, 128u);
  for (unsigned w = 1; w < kMaxWorkers; ++w) {
    EXPECT_EQ(reinterpret_cast<char*>(&p[w]) - reinterpret_cast<char*>(&p[w - 1]),
              static_cast<std::ptrdiff_t>(kLineStride));
    EXPECT_NE(line_of(&p[w]), line_of(&p[w - 1]));
    // 128 B apart: the neighbour of each counter's line is nobody's.
    EXPECT_EQ(line_of(&q[w]) - line_of(&q[w - 1]), 2u);
  }
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&p) % kLineStride, 0u);
}

TEST(SharingLayout, StrideIsTheStandardValueWhereDefined) {
#if defined(__cpp_lib_hardware_interference_size)
  EXPECT_TRUE(kStrideFromStd);
  EXPECT_EQ(kLineStride, sizeof(Padded::Slot));
#else
  EXPECT_FALSE(kStrideFromStd);
  EXPECT_EQ(kLineStride, 64u);
#endif
}

TEST(SharingLayout, FlagBesideSharesAndFlagApartDoesNot) {
  alignas(64) static FlagBeside b;
  static FlagApart a;
  EXPECT_EQ(line_of(&b.hot), line_of(&b.stop));
  EXPECT_NE(line_of(&a.hot), line_of(&a.stop));
  EXPECT_GE(reinterpret_cast<const char*>(&a.stop) - reinterpret_cast<const char*>(&a.hot),
            static_cast<std::ptrdiff_t>(kLineStride));
}

// ---- exact counts through the crew ---------------------------------------------------

template <class Layout>
void expect_exact_counts(JobFn job, unsigned workers, std::uint64_t n, int rounds) {
  Crew crew(workers, sizeof(Layout));
  auto* c = ::new (crew.shared()) Layout();
  for (int r = 0; r < rounds; ++r) crew.run(job, n + r);
  const std::uint64_t want = rounds * n + rounds * (rounds - 1) / 2;
  for (unsigned w = 0; w < workers; ++w) EXPECT_EQ((*c)[w].load(), want) << "worker " << w;
  for (unsigned w = workers; w < kMaxWorkers; ++w) EXPECT_EQ((*c)[w].load(), 0u) << "worker " << w;
}

TEST(SharingCrew, InPlaceCountsAreExactForEveryLayout) {
  for (unsigned workers : {1u, 2u, 3u, 8u, 9u}) {
    SCOPED_TRACE(workers);
    expect_exact_counts<Packed>(&own_counter_job<Packed>, workers, 100000, 3);
    expect_exact_counts<Padded>(&own_counter_job<Padded>, workers, 100000, 3);
    expect_exact_counts<Padded128>(&own_counter_job<Padded128>, workers, 100000, 3);
  }
}

TEST(SharingCrew, LocalCountsAreExactForEveryLayout) {
  for (unsigned workers : {1u, 2u, 5u}) {
    SCOPED_TRACE(workers);
    expect_exact_counts<Packed>(&local_counter_job<Packed>, workers, 100000, 3);
    expect_exact_counts<Padded>(&local_counter_job<Padded>, workers, 100000, 3);
  }
}

// The benchmarks' pattern: the workers get the whole batch at once while
// the caller does its share in pieces between start() and wait().
TEST(SharingCrew, CallerMayWorkInPiecesBetweenStartAndWait) {
  Crew crew(3, sizeof(Packed));
  auto* c = ::new (crew.shared()) Packed();
  const std::uint64_t piece = 4096, pieces = 37;
  crew.start(&own_counter_job<Packed>, piece * pieces);
  for (std::uint64_t i = 0; i < pieces; ++i) own_counter_job<Packed>(crew.shared(), 0, piece);
  crew.wait();
  for (unsigned w = 0; w < 3; ++w) EXPECT_EQ((*c)[w].load(), piece * pieces);
}

template <class Flag>
void expect_flag_counts(unsigned workers) {
  Crew crew(workers, sizeof(FlagBlock<Flag>));
  auto* b = ::new (crew.shared()) FlagBlock<Flag>();
  crew.run(&flag_job<Flag>, 50000);
  crew.run(&flag_job<Flag>, 70000);
  EXPECT_EQ(b->flag.hot.load(), 120000u);
  EXPECT_EQ(b->flag.stop.load(), 0u);
  EXPECT_EQ(b->seen[0].load(), 0u);  // worker 0 writes, never polls
  for (unsigned w = 1; w < workers; ++w) EXPECT_EQ(b->seen[w].load(), 120000u) << w;
}

TEST(SharingCrew, FlagJobCountsAreExact) {
  for (unsigned workers : {2u, 4u}) {
    expect_flag_counts<FlagBeside>(workers);
    expect_flag_counts<FlagApart>(workers);
  }
}

TEST(SharingCrew, EmptyCrewAndNoJobAreFine) {
  Crew crew(2, 0);
  crew.wait();  // nothing started
  EXPECT_EQ(crew.workers(), 2u);
  EXPECT_THROW(Crew(0, 64), std::invalid_argument);
  EXPECT_THROW(Crew(Crew::kMaxCrew + 1, 64), std::invalid_argument);
}

void die_in_worker(void*, unsigned w, std::uint64_t) {
  if (w == 1) ::_exit(3);
}

TEST(SharingCrew, ADeadWorkerMakesWaitThrow) {
  Crew crew(2, 64);
  crew.start(&die_in_worker, 1);
  EXPECT_THROW(crew.wait(), std::runtime_error);
}

TEST(SharingCrew, WorkersAreReapedWithTheCrew) {
  { Crew crew(3, 64); crew.run(&own_counter_job<Packed>, 0); }
  // No child of ours is left, not even a zombie.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// ---- the same layouts under std::thread ------------------------------------------------

template <class Layout>
void expect_exact_with_threads(JobFn job, unsigned workers, std::uint64_t n) {
  auto c = std::make_unique<Layout>();
  std::vector<std::thread> t;
  for (unsigned w = 0; w < workers; ++w) t.emplace_back(job, c.get(), w, n);
  for (auto& x : t) x.join();
  for (unsigned w = 0; w < workers; ++w) EXPECT_EQ((*c)[w].load(), n) << "worker " << w;
}

TEST(SharingThreads, CountsAreExactForEveryLayout) {
  for (unsigned workers : {2u, 4u}) {
    expect_exact_with_threads<Packed>(&own_counter_job<Packed>, workers, 200000);
    expect_exact_with_threads<Padded>(&own_counter_job<Padded>, workers, 200000);
    expect_exact_with_threads<Padded128>(&own_counter_job<Padded128>, workers, 200000);
    expect_exact_with_threads<Packed>(&local_counter_job<Packed>, workers, 200000);
  }
}

}  // namespace

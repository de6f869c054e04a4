// The buffers family: the buffer pools hand out distinct, aligned, reusable
// buffers; the queues deliver every message once, in order, full and empty
// handled, across wrap-around, and between two threads (a stress test that
// checks every message; never timed).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/buffers/buffer_pool.h"
#include "kernels/buffers/mutex_queue.h"
#include "kernels/buffers/spsc_ring.h"

namespace cb = cachetick::buffers;

namespace {

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

// ------------------------------------------------------------ buffer pools ---

TEST(BufferPool, DistinctAlignedWritableBuffers) {
  for (std::size_t bytes : {std::size_t{100}, std::size_t{4096}, std::size_t{65536}}) {
    cb::BufferPool pool(bytes);
    std::vector<cb::BufferPool::Lease> held;
    for (int i = 0; i < 40; ++i) {
      held.push_back(pool.acquire());
      ASSERT_EQ(addr(held.back().data()) % 64, 0u);
      ASSERT_EQ(held.back().size(), bytes);
      std::memset(held.back().data(), i, bytes);  // the whole buffer is ours (ASan checks)
    }
    std::vector<std::uintptr_t> a;
    for (auto& l : held) a.push_back(addr(l.data()));
    std::sort(a.begin(), a.end());
    for (std::size_t i = 1; i < a.size(); ++i) ASSERT_GE(a[i] - a[i - 1], bytes);
    for (int i = 0; i < 40; ++i)
      ASSERT_EQ(static_cast<unsigned char>(held[i].data()[bytes - 1]), static_cast<unsigned char>(i));
  }
}

TEST(BufferPool, ReleasedBufferComesBackFirst) {
  cb::BufferPool pool(4096);
  char* first;
  {
    cb::BufferPool::Lease l = pool.acquire();
    first = l.data();
  }  // returned here
  cb::BufferPool::Lease again = pool.acquire();
  EXPECT_EQ(again.data(), first);  // LIFO: the buffer still in the cache
  const std::size_t reserved = pool.reserved_bytes();
  for (int i = 0; i < 1000; ++i) {
    cb::BufferPool::Lease l = pool.acquire();
    l.data()[0] = 1;
  }
  EXPECT_EQ(pool.reserved_bytes(), reserved);  // a loop of requests never grows the pool
}

TEST(BufferPool, LeasesMove) {
  cb::BufferPool pool(256);
  cb::BufferPool::Lease a = pool.acquire();
  char* p = a.data();
  cb::BufferPool::Lease b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.size(), 0u);  // moved-from: owns nothing, returns nothing
  cb::BufferPool::Lease c = pool.acquire();
  c = std::move(b);  // c's own buffer goes back, p moves in
  EXPECT_EQ(c.data(), p);
  cb::BufferPool::Lease d = pool.acquire();
  EXPECT_NE(d.data(), p);
}

TEST(SharedPool, ReusesUpToKeepAndWorksAcrossThreads) {
  cb::SharedPool pool(1024, 2);
  auto a = pool.acquire(), b = pool.acquire(), c = pool.acquire();
  char* pa = a.get();
  pool.release(std::move(a));
  pool.release(std::move(b));
  pool.release(std::move(c));  // beyond `keep`: freed
  EXPECT_EQ(pool.kept(), 2u);
  auto x = pool.acquire(), y = pool.acquire();
  EXPECT_TRUE(x.get() == pa || y.get() == pa);
  pool.release(std::move(x));
  pool.release(std::move(y));
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&pool, t] {
      for (int i = 0; i < 20000; ++i) {
        auto buf = pool.acquire();
        std::memset(buf.get(), t, 1024);
        ASSERT_EQ(buf[1023], static_cast<char>(t));
        pool.release(std::move(buf));
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_LE(pool.kept(), 2u);
}

TEST(ThreadBuffer, GrowsAndIsPerThread) {
  char* a = cb::thread_buffer(100);
  EXPECT_EQ(cb::thread_buffer(50), a);  // smaller: the same buffer
  char* b = cb::thread_buffer(1 << 20);
  std::memset(b, 0, 1 << 20);
  char* other = nullptr;
  std::thread([&] { other = cb::thread_buffer(100); }).join();
  EXPECT_NE(other, b);
}

// ------------------------------------------------------------------ queues ---

namespace {

struct Msg {
  std::uint64_t seq;
  std::uint64_t check;  // derived from seq: a torn copy shows
};
Msg msg(std::uint64_t s) { return {s, s * 0x9e3779b97f4a7c15ull ^ 0x5555}; }

template <class Q>
Q make_queue();

template <class Q>
struct QueueTest : ::testing::Test {};

using Ring8 = cb::SpscRing<Msg, 8>;
using Ring8NoCache = cb::SpscRing<Msg, 8, false>;
struct Mutex8 : cb::MutexQueue<Msg> {
  Mutex8() : cb::MutexQueue<Msg>(8) {}
};
using Queues = ::testing::Types<Ring8, Ring8NoCache, Mutex8>;
TYPED_TEST_SUITE(QueueTest, Queues);

}  // namespace

TYPED_TEST(QueueTest, EmptyFullAndOrder) {
  TypeParam q;
  Msg m{};
  EXPECT_FALSE(q.try_pop(m));  // empty
  for (std::uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(q.try_push(msg(i)));
  EXPECT_FALSE(q.try_push(msg(99)));  // full: nothing written
  for (std::uint64_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(q.try_pop(m));
    ASSERT_EQ(m.seq, i);
    ASSERT_EQ(m.check, msg(i).check);
  }
  EXPECT_FALSE(q.try_pop(m));
}

TYPED_TEST(QueueTest, WrapsAroundManyTimes) {
  TypeParam q;
  std::uint64_t in = 0, out = 0;
  // Fill levels 1..4 on top of up to 4 in flight, drains of varying size:
  // head and tail meet at every slot, the ring is full now and then.
  for (int round = 0; round < 200; ++round) {
    const int fill = 1 + round % 4;
    for (int k = 0; k < fill; ++k) ASSERT_TRUE(q.try_push(msg(in++)));
    const int drain = 1 + (round * 5) % fill;
    Msg m{};
    for (int k = 0; k < drain; ++k) {
      ASSERT_TRUE(q.try_pop(m));
      ASSERT_EQ(m.seq, out++);
    }
    while (in - out > 4) {  // keep room for the next round
      ASSERT_TRUE(q.try_pop(m));
      ASSERT_EQ(m.seq, out++);
    }
  }
  Msg m{};
  while (q.try_pop(m)) ASSERT_EQ(m.seq, out++);
  EXPECT_EQ(in, out);  // no loss
}

// Two threads, a small queue (so both full and empty are hit constantly):
// every message arrives exactly once, in order, intact.
TYPED_TEST(QueueTest, TwoThreadStressEveryMessageOnceInOrder) {
  TypeParam q;
  constexpr std::uint64_t kCount = 1u << 19;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i)
      while (!q.try_push(msg(i))) std::this_thread::yield();
  });
  std::uint64_t next = 0, torn = 0, out_of_order = 0;
  Msg m{};
  while (next < kCount) {
    if (!q.try_pop(m)) {
      std::this_thread::yield();
      continue;
    }
    out_of_order += m.seq != next;
    torn += m.check != msg(m.seq).check;
    next = m.seq + 1;
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(torn, 0u);
  EXPECT_FALSE(q.try_pop(m));  // nothing extra
}

TEST(SpscRing, LayoutKeepsTheCountersApart) {
  // Each side's line holds its counter and its copy of the other's; the
  // slots start on a line of their own.
  EXPECT_GE(sizeof(cb::SpscRing<Msg, 8>), 2 * cb::kLine + 8 * sizeof(Msg));
  EXPECT_EQ(alignof(cb::SpscRing<Msg, 8>), cb::kLine);
}

// Family "buffers": per-request buffers, and handing messages between two
// threads. See kernels/buffers/README.md.
//
// request workloads (op = one request; 64 requests per iteration): take a
// buffer, write the request's message into it, read the message back (a
// checksum), give the buffer back.
//   touch_line the message is one 64-byte line: what getting and giving
//              back a buffer costs, with next to no work around it
//   small_msg  the message is 1 KiB whatever the buffer's size: a buffer
//              sized for the worst case, used for a typical request
//   fill       the message fills the buffer
// spsc (op = one message; 16384 per iteration): a producer thread pushes
//   numbered messages through a queue of 1024 slots, the benchmark's thread
//   pops and checks them. Both spin briefly (pause), then yield, when the
//   queue is full or empty: on a 2-vCPU guest shared with other work a
//   thread that only spins can hold the core its partner needs.
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <string>
#include <thread>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/lockfree/spsc_queue.hpp>

#include "harness/context.h"
#include "harness/registry.h"
#include "kernels/buffers/buffer_pool.h"
#include "kernels/buffers/mutex_queue.h"
#include "kernels/buffers/spsc_ring.h"

namespace {

using namespace cachetick;
namespace cb = cachetick::buffers;

// ---------------------------------------------------------------- requests ---

constexpr std::size_t kRequests = 64;      // per iteration
constexpr std::size_t kSmallMsg = 1024;    // small_msg's message

// The request's work: copy the message in, sum it back (8-byte words).
inline std::uint64_t serve(char* buf, const char* msg, std::size_t n) {
  std::memcpy(buf, msg, n);
  benchmark::ClobberMemory();  // the copy happens; the sum reads the buffer
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, buf + i, 8);
    s += w;
  }
  return s;
}

// One policy per variant: with(n, fn) runs fn(buffer) on a buffer of n bytes.
struct NewDelete {
  explicit NewDelete(std::size_t) {}
  template <class F>
  std::uint64_t with(std::size_t n, F f) {
    std::unique_ptr<char[]> b(new char[n]);  // not zeroed (default-initialised)
    return f(b.get());
  }
};

struct VectorZeroed {
  explicit VectorZeroed(std::size_t) {}
  template <class F>
  std::uint64_t with(std::size_t n, F f) {
    std::vector<char> b(n);  // value-initialised: n zero bytes written first
    return f(b.data());
  }
};

struct PmrPool {
  static std::pmr::pool_options opts(std::size_t n) {
    std::pmr::pool_options o;
    o.largest_required_pool_block = n;  // pooled, not passed upstream
    return o;
  }
  explicit PmrPool(std::size_t n) : r(opts(n)) {}
  template <class F>
  std::uint64_t with(std::size_t n, F f) {
    void* b = r.allocate(n, 64);
    const std::uint64_t s = f(static_cast<char*>(b));
    r.deallocate(b, n, 64);
    return s;
  }
  std::pmr::unsynchronized_pool_resource r;
};

struct Shared {
  explicit Shared(std::size_t n) : pool(n) {}
  template <class F>
  std::uint64_t with(std::size_t, F f) {
    std::unique_ptr<char[]> b = pool.acquire();
    const std::uint64_t s = f(b.get());
    pool.release(std::move(b));
    return s;
  }
  cb::SharedPool pool;
};

struct ThreadLocal {
  explicit ThreadLocal(std::size_t) {}
  template <class F>
  std::uint64_t with(std::size_t n, F f) {
    return f(cb::thread_buffer(n));
  }
};

struct CtPool {
  explicit CtPool(std::size_t n) : pool(n) {}
  template <class F>
  std::uint64_t with(std::size_t, F f) {
    cb::BufferPool::Lease b = pool.acquire();
    return f(b.data());
  }
  cb::BufferPool pool;
};

template <class Policy>
void request(benchmark::State& st, Probe& p, std::size_t buffer, std::size_t msg_bytes) {
  std::vector<char> msg(msg_bytes);
  for (std::size_t i = 0; i < msg_bytes; ++i) msg[i] = static_cast<char>(i * 131);
  Policy pol(buffer);
  std::uint64_t sum = 0;
  auto work = [&](char* b) { return serve(b, msg.data(), msg_bytes); };
  for (std::size_t r = 0; r < kRequests; ++r) sum += pol.with(buffer, work);  // warm-up
  p.run(st, [&] {
    for (std::size_t r = 0; r < kRequests; ++r) sum += pol.with(buffer, work);
    benchmark::DoNotOptimize(sum);
  });
}

// ------------------------------------------------------------------- spsc ---

constexpr std::size_t kMessages = 16384;  // per iteration
constexpr std::size_t kSlots = 1024;

template <std::size_t Bytes>
struct Message {
  std::uint64_t seq;
  std::uint64_t payload[Bytes / 8 - 1];
};

// Spin a little, then give the core away.
struct Backoff {
  unsigned n = 0;
  void wait() {
    if (++n < 64) {
#if defined(__SSE2__)
      _mm_pause();
#endif
    } else {
      n = 0;
      sched_yield();
    }
  }
};

template <class M>
struct RingQ {
  bool push(const M& m) { return q.try_push(m); }
  bool pop(M& m) { return q.try_pop(m); }
  cb::SpscRing<M, kSlots> q;
};
template <class M>
struct RingNoCacheQ {
  bool push(const M& m) { return q.try_push(m); }
  bool pop(M& m) { return q.try_pop(m); }
  cb::SpscRing<M, kSlots, false> q;
};
template <class M>
struct MutexQ {
  bool push(const M& m) { return q.try_push(m); }
  bool pop(M& m) { return q.try_pop(m); }
  cb::MutexQueue<M> q{kSlots};
};
template <class M>
struct BoostQ {
  bool push(const M& m) { return q.push(m); }
  bool pop(M& m) { return q.pop(m); }
  boost::lockfree::spsc_queue<M, boost::lockfree::capacity<kSlots>> q;
};

// The producer runs a batch of kMessages whenever the consumer bumps `go`.
template <class Q, class M>
class Producer {
 public:
  explicit Producer(Q& q) : q_(q), th_([this] { loop(); }) {}
  ~Producer() {
    stop_.store(true, std::memory_order_release);
    th_.join();
  }
  void start_batch() { go_.fetch_add(1, std::memory_order_release); }

 private:
  void loop() {
    std::uint64_t done = 0, seq = 0;
    Backoff idle;
    while (!stop_.load(std::memory_order_acquire)) {
      if (go_.load(std::memory_order_acquire) == done) {
        idle.wait();
        continue;
      }
      ++done;
      M m{};
      for (std::size_t i = 0; i < kMessages; ++i, ++seq) {
        m.seq = seq;
        m.payload[0] = seq * 3;
        Backoff full;
        while (!q_.push(m)) full.wait();
      }
    }
  }
  Q& q_;
  std::atomic<std::uint64_t> go_{0};
  std::atomic<bool> stop_{false};
  std::thread th_;  // last: starts once the rest is constructed
};

template <template <class> class QT, std::size_t Bytes>
void spsc(benchmark::State& st, Probe& p) {
  using M = Message<Bytes>;
  auto q = std::make_unique<QT<M>>();
  Producer<QT<M>, M> producer(*q);
  std::uint64_t expect = 0, bad = 0;
  auto batch = [&] {
    producer.start_batch();
    M m;
    for (std::size_t i = 0; i < kMessages; ++i) {
      Backoff empty;
      while (!q->pop(m)) empty.wait();
      bad += (m.seq != expect) | (m.payload[0] != expect * 3);
      ++expect;
    }
  };
  batch();  // warm-up: the thread runs, the slots are touched
  p.run(st, batch);
  if (bad != 0) st.SkipWithError(("spsc: " + std::to_string(bad) + " messages out of order or torn").c_str());
}

// ------------------------------------------------------------ registration ---

using ReqFn = void (*)(benchmark::State&, Probe&, std::size_t, std::size_t);
struct ReqVariant {
  const char* name;
  Role role;
  ReqFn fn;
  const char* note;
};
const ReqVariant kReqVariants[] = {
    {"new_delete", Role::naive, &request<NewDelete>, "a fresh new char[n] per request (not zeroed), deleted after"},
    {"vector_zeroed", Role::peer, &request<VectorZeroed>, "std::vector<char>(n) per request: malloc plus n zero bytes"},
    {"pmr_pool", Role::peer, &request<PmrPool>,
     "std::pmr::unsynchronized_pool_resource (largest_required_pool_block = n)"},
    {"seed_pool", Role::reference, &request<Shared>,
     "the seed's BufferPool: a mutex around a vector of free buffers (at most 100 kept)"},
    {"thread_local", Role::reference, &request<ThreadLocal>, "one thread_local buffer reused: no acquire at all"},
    {"ct_pool", Role::optimised, &request<CtPool>,
     "cachetick's BufferPool: the alloc family's FixedPool, LIFO, per thread, no lock"},
};

using SpscFn = void (*)(benchmark::State&, Probe&);
struct SpscVariant {
  const char* name;
  Role role;
  SpscFn fn16, fn64;
  const char* note;
};
const SpscVariant kSpscVariants[] = {
    {"mutex_deque", Role::naive, &spsc<MutexQ, 16>, &spsc<MutexQ, 64>,
     "std::deque behind a std::mutex, bounded at 1024 (lock per push and per pop)"},
    {"boost_spsc", Role::peer, &spsc<BoostQ, 16>, &spsc<BoostQ, 64>,
     "boost::lockfree::spsc_queue<M, capacity<1024>>"},
    {"ct_ring_nocache", Role::reference, &spsc<RingNoCacheQ, 16>, &spsc<RingNoCacheQ, 64>,
     "cachetick's ring without the cached counters: reads the other side's counter every time"},
    {"ct_ring", Role::optimised, &spsc<RingQ, 16>, &spsc<RingQ, 64>,
     "cachetick's SPSC ring: counters on their own lines, each side caches the other's"},
};

}  // namespace

CACHETICK_FAMILY(buffers, "Per-request buffers (fresh, pooled, thread-local) and a 2-thread SPSC ring vs a mutex deque") {
  for (const char* workload : {"touch_line", "small_msg", "fill"})
    for (std::size_t buffer : {std::size_t{4096}, std::size_t{65536}})
      for (const ReqVariant& v : kReqVariants) {
        const bool fill = std::string(workload) == "fill";
        const std::size_t msg = fill ? buffer : workload[0] == 't' ? 64 : kSmallMsg;
        Spec s;
        s.family = "buffers";
        s.variant = v.name;
        s.role = v.role;
        s.workload = workload;
        s.size = buffer;
        s.size_label = format_bytes(buffer);
        s.working_set_bytes = buffer + msg;
        s.op = "request";
        s.ops_per_iter = kRequests;
        s.budget_ns = fill ? static_cast<double>(buffer) / 4 : 100;  // fill: 4 GB/s written and read
        s.note = std::string(v.note) + "; writes and reads " + format_bytes(msg);
        add(s, [fn = v.fn, buffer, msg](benchmark::State& st, Probe& p) { fn(st, p, buffer, msg); });
      }
  for (std::size_t bytes : {std::size_t{16}, std::size_t{64}})
    for (const SpscVariant& v : kSpscVariants) {
      Spec s;
      s.family = "buffers";
      s.variant = v.name;
      s.role = v.role;
      s.workload = "spsc";
      s.size = bytes;
      s.size_label = std::to_string(bytes) + "B";
      s.working_set_bytes = kSlots * bytes;
      s.op = "message";
      s.ops_per_iter = kMessages;
      s.budget_ns = 50;
      s.note = std::string(v.note) + "; " + std::to_string(bytes) + " B messages, 2 threads";
      add(s, bytes == 16 ? v.fn16 : v.fn64);
    }
}

// A crew of workers that run one job at the same time, on memory they share.
//
// Worker 0 is the calling thread; workers 1..n-1 are PROCESSES forked when
// the crew is made, and the job's data lives in an anonymous MAP_SHARED
// mapping that every worker sees at the same address. Why processes and
// not std::thread:
//
//  * Coherence works on physical lines: two processes writing one shared
//    page ping-pong its lines exactly as two threads of one process do.
//    The false-sharing lesson does not need a shared address space.
//  * A thread changes the process for good. glibc's first pthread_create
//    clears __libc_single_threaded and never sets it back: from then on
//    malloc takes its arena lock (callgrind: glibc malloc/free rows +11-12%
//    instructions, see the README's sim notes) and libstdc++'s shared_ptr
//    uses locked increments (measured here: a shared_ptr copy 5-10 ns before
//    the first thread, 15-16 ns after it was joined). In cachetick every
//    family runs in one process, so one thread started by this family would
//    slow every malloc- or shared_ptr-using row measured after it. A forked
//    worker leaves the parent single-threaded.
//  * The price of fork: the parent's page tables are copied (a few ms for a
//    process holding a few GiB, outside any timed region), and pages that
//    existed at the fork are write-protected; the parent's first write to
//    each after the workers exit costs a minor fault (no copy). The crew
//    lives for one benchmark invocation, so that is all.
//
// Protocol (all in a shared control block, each word on its own 128 B):
// start() writes the job (a plain function pointer: the same code is
// mapped at the same address in every forked worker) and bumps `epoch`;
// each worker spins on `epoch` with pause, falls back to a futex sleep after
// ~1M spins (so an idle crew does not steal a core), runs the job and
// stores the epoch into its own `done` word; wait() spins until every
// `done` word holds the epoch. A worker that dies makes wait() throw
// instead of hanging.
//
// Jobs must not allocate, throw or use locks: they run in a forked child of
// a process that may hold malloc's lock at the fork. The crew's own workers
// never return: they _exit when the crew is destroyed, or are killed
// (PR_SET_PDEATHSIG) if the parent dies first. Linux only.
#pragma once

#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace cachetick::sharing {

// A job: every worker w in [0, n) runs fn(shared, w, ops).
using JobFn = void (*)(void* shared, unsigned worker, std::uint64_t ops);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

class Crew {
 public:
  static constexpr unsigned kMaxCrew = 64;

  // `workers` >= 1 (worker 0 is the caller); `shared_bytes` of zeroed
  // memory shared by all of them, page-aligned. Throws std::system_error if
  // the mapping or a fork fails (the workers forked so far are reaped).
  Crew(unsigned workers, std::size_t shared_bytes) : n_(workers), bytes_(shared_bytes) {
    if (workers < 1 || workers > kMaxCrew) throw std::invalid_argument("Crew: 1-64 workers");
    map_ = ::mmap(nullptr, kControlBytes + bytes_, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map_ == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "Crew: mmap");
    ctl_ = ::new (map_) Control();
    try {
      for (unsigned w = 1; w < n_; ++w) fork_worker(w);
    } catch (...) {
      shut_down();
      throw;
    }
  }
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;
  ~Crew() { shut_down(); }

  unsigned workers() const { return n_; }
  void* shared() const { return static_cast<char*>(map_) + kControlBytes; }
  std::size_t shared_bytes() const { return bytes_; }

  // Workers 1..n-1 start fn(shared, w, ops); returns at once. The caller
  // then does worker 0's part however it likes, and calls wait().
  void start(JobFn fn, std::uint64_t ops) {
    ctl_->job.fn = fn;
    ctl_->job.ops = ops;
    publish();
  }

  // Until every worker has finished the job start() gave it.
  void wait() {
    const std::uint32_t e = ctl_->epoch.v.load(std::memory_order_relaxed);
    for (unsigned w = 1; w < n_; ++w)
      for (std::uint64_t spins = 0; ctl_->done[w].v.load(std::memory_order_acquire) != e; ++spins) {
        cpu_relax();
        if ((spins & 0xFFFF) == 0xFFFF) check_alive(w);
      }
  }

  // The whole job on every worker, the caller included.
  void run(JobFn fn, std::uint64_t ops) {
    start(fn, ops);
    fn(shared(), 0, ops);
    wait();
  }

 private:
  struct alignas(128) Word {
    std::atomic<std::uint32_t> v{0};
  };
  struct Control {
    Word epoch;     // bumped by start(); the futex word workers sleep on
    Word sleepers;  // workers inside (or about to enter) the futex wait
    Word quit;
    struct alignas(128) Job {
      JobFn fn = nullptr;
      std::uint64_t ops = 0;
    } job;
    Word done[kMaxCrew];  // the epoch each worker finished last
  };
  // The job's memory starts on a page of its own.
  static constexpr std::size_t kControlBytes = (sizeof(Control) + 4095) / 4096 * 4096;
  static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

  static long futex(std::atomic<std::uint32_t>& w, int op, std::uint32_t val) {
    // Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
    return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), op, val, nullptr, nullptr, 0);
  }

  // Bumps the epoch (release: the job is visible before it) and wakes
  // sleeping workers. seq_cst on both sides: either we see a sleeper, or
  // the sleeper sees the new epoch before it sleeps.
  void publish() {
    ctl_->epoch.v.fetch_add(1, std::memory_order_seq_cst);
    if (ctl_->sleepers.v.load(std::memory_order_seq_cst) != 0)
      futex(ctl_->epoch.v, FUTEX_WAKE, INT_MAX);
  }

  void fork_worker(unsigned w) {
    const pid_t parent = ::getpid();
    // Read before the fork: a job started before the child first looks must
    // still be new to it.
    const std::uint32_t epoch = ctl_->epoch.v.load(std::memory_order_acquire);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "Crew: fork");
    if (pid == 0) {
      // The parent handles Ctrl-C; the worker dies with the parent.
      ::signal(SIGINT, SIG_IGN);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      worker_loop(w, epoch);
    }
    pids_.push_back(pid);
  }

  [[noreturn]] void worker_loop(unsigned w, std::uint32_t seen) {
    for (;;) {
      seen = next_epoch(seen);
      if (ctl_->quit.v.load(std::memory_order_acquire)) ::_exit(0);
      ctl_->job.fn(shared(), w, ctl_->job.ops);
      ctl_->done[w].v.store(seen, std::memory_order_release);
    }
  }

  // Spins until the epoch moves past `seen`, then sleeps on the futex.
  std::uint32_t next_epoch(std::uint32_t seen) {
    auto& ep = ctl_->epoch.v;
    for (std::uint32_t spins = 0; spins < (1u << 20); ++spins) {
      const std::uint32_t e = ep.load(std::memory_order_acquire);
      if (e != seen) return e;
      cpu_relax();
    }
    for (;;) {
      ctl_->sleepers.v.fetch_add(1, std::memory_order_seq_cst);
      if (ep.load(std::memory_order_seq_cst) == seen) futex(ep, FUTEX_WAIT, seen);
      ctl_->sleepers.v.fetch_sub(1, std::memory_order_seq_cst);
      const std::uint32_t e = ep.load(std::memory_order_acquire);
      if (e != seen) return e;
    }
  }

  void check_alive(unsigned w) {
    int status = 0;
    if (::waitpid(pids_[w - 1], &status, WNOHANG) == pids_[w - 1]) {
      pids_[w - 1] = -1;
      throw std::runtime_error("Crew: worker " + std::to_string(w) + " died (status " +
                               std::to_string(status) + ")");
    }
  }

  void shut_down() {
    if (ctl_ != nullptr) {
      ctl_->quit.v.store(1, std::memory_order_release);
      publish();
    }
    for (pid_t pid : pids_)
      if (pid > 0) ::waitpid(pid, nullptr, 0);
    pids_.clear();
    if (map_ != nullptr && map_ != MAP_FAILED) ::munmap(map_, kControlBytes + bytes_);
    map_ = nullptr;
    ctl_ = nullptr;
  }

  unsigned n_;
  std::size_t bytes_;
  void* map_ = nullptr;
  Control* ctl_ = nullptr;
  std::vector<pid_t> pids_;
};

}  // namespace cachetick::sharing

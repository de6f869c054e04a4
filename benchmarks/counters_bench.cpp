// The counters checking themselves, in a normal run.
//
// - dep_chain/counters_on vs counters_off: the same ~1 ns/op kernel (a
//   dependent add/xor chain, 2 cycles a step) with cachetick's collectors
//   live and paused. Collectors are read outside the timed loop, so the two
//   rows should agree within noise: the cost of counting, measured under
//   the same machine load in one run.
// - fresh_pages: every op first-touches a fresh 4 KiB page, so page-faults
//   must read ~1 per op wherever perf_event software events work (VMs too).
// - new_delete / malloc_free: exactly one allocation of 64 B per op, so
//   allocs must read 1 and bytes 64.
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

#include "harness/counters.h"
#include "harness/registry.h"

using namespace cachetick;

namespace {

Spec base(const char* variant, const char* workload, const char* size_label, double ops) {
  Spec s;
  s.family = "counters";
  s.variant = variant;
  s.role = Role::reference;
  s.workload = workload;
  s.size_label = size_label;
  s.size = static_cast<std::uint64_t>(ops);
  s.ops_per_iter = ops;
  return s;
}

// 1024 dependent steps: x feeds the next add and shift, so the chain runs
// at the add+xor latency (2 cycles) whatever the core's width.
void dep_chain(benchmark::State& st, Probe& p) {
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  p.run(st, [&] {
    for (std::uint64_t i = 0; i < 1024; ++i) x = (x + i) ^ (x >> 1);
    benchmark::DoNotOptimize(x);
  });
}

constexpr std::size_t kPage = 4096, kPages = 1024;

}  // namespace

CACHETICK_FAMILY(counters, "The counters checking themselves: cost on/off, page faults, allocations") {
  for (bool on : {true, false}) {
    Spec s = base("dep_chain", on ? "counters_on" : "counters_off", "1024", 1024);
    s.op = "step";
    s.working_set_bytes = 8;
    s.note = on ? "~1 ns/op dependent chain with the collectors live (compare with counters_off)"
                : "the same chain with cachetick's collectors paused (compare with counters_on)";
    if (on)
      add(s, dep_chain);
    else
      add(s, [](benchmark::State& st, Probe& p) {
        PauseCollectors pause;
        dep_chain(st, p);
      });
  }
  {
    Spec s = base("fresh_pages", "touch", "4MiB", kPages);
    s.op = "page";
    s.working_set_bytes = kPages * kPage;
    s.budget_ns = 50000;  // a plumbing check: a page fault is a kernel trip (several us in a VM)
    s.note = "map 4 MiB, write one byte per 4 KiB page, unmap: page-faults/op must be ~1 "
             "(mmap/munmap included in the time)";
    add(s, [](benchmark::State& st, Probe& p) {
      p.run(st, [] {
        void* m = mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) std::abort();
        // Transparent huge pages would fault 2 MiB at a time: keep 4 KiB pages.
        madvise(m, kPages * kPage, MADV_NOHUGEPAGE);
        auto* b = static_cast<volatile char*>(m);
        for (std::size_t i = 0; i < kPages; ++i) b[i * kPage] = 1;
        munmap(m, kPages * kPage);
      });
    });
  }
  {
    Spec s = base("new_delete", "64B", "1024", 1024);
    s.op = "allocation";
    s.working_set_bytes = 64;
    s.budget_ns = 1000;  // a plumbing check (counts), not a speed target
    s.note = "new + delete of a 64 B object per op: allocs/op must be 1, bytes/op 64";
    add(s, [](benchmark::State& st, Probe& p) {
      struct Obj {
        std::uint64_t v[8];
      };
      p.run(st, [] {
        for (int i = 0; i < 1024; ++i) {
          Obj* o = new Obj;
          benchmark::DoNotOptimize(+o);  // a copy: the lvalue form can clobber it
          delete o;
        }
      });
    });
  }
  {
    Spec s = base("malloc_free", "64B", "1024", 1024);
    s.op = "allocation";
    s.working_set_bytes = 64;
    s.budget_ns = 1000;  // a plumbing check (counts), not a speed target
    s.note = "malloc + free of 64 B per op: allocs/op must be 1, bytes/op 64";
    add(s, [](benchmark::State& st, Probe& p) {
      p.run(st, [] {
        for (int i = 0; i < 1024; ++i) {
          void* m = std::malloc(64);
          benchmark::DoNotOptimize(+m);  // a copy: the lvalue form can clobber it
          std::free(m);
        }
      });
    });
  }
}

#include "harness/alloc_tracker.h"

#include <malloc.h>

#include "harness/counters.h"

namespace cachetick {

namespace alloc_detail {

constinit Counts g_counts;
constinit std::atomic<bool> g_counting{false};
constinit std::atomic<int> g_hooks{0};
using set_counting_fn = void (*)(bool);
constinit set_counting_fn g_set_counting = nullptr;

void note_alloc(void* p, std::size_t requested) {
  if (!p) return;
  g_counts.allocs.fetch_add(1, std::memory_order_relaxed);
  g_counts.bytes.fetch_add(static_cast<std::int64_t>(requested), std::memory_order_relaxed);
  // Live and peak in usable sizes: the only size free() can learn again.
  const auto u = static_cast<std::int64_t>(malloc_usable_size(p));
  const std::int64_t live = g_counts.live.fetch_add(u, std::memory_order_relaxed) + u;
  std::int64_t peak = g_counts.peak.load(std::memory_order_relaxed);
  while (live > peak && !g_counts.peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

void note_free(void* p) {
  if (!p) return;
  g_counts.frees.fetch_add(1, std::memory_order_relaxed);
  g_counts.live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)),
                          std::memory_order_relaxed);
}

}  // namespace alloc_detail

using namespace alloc_detail;

std::string alloc_hooks_unavailable() {
  const int h = g_hooks.load();
  if (h & 4)
    return "allocation hooks are off in sanitizer builds (ASan owns malloc and operator new)";
  if (!(h & 1))
    return "the allocation hooks (harness/alloc_hooks.cpp) are not linked into this executable";
  return "";
}

std::string alloc_hooks_description() {
  return "malloc, calloc, realloc, free and the aligned variants, and operator new/delete "
         "through malloc; allocators called through their own API (je_*, mi_*, tc_* entry "
         "points) are not counted";
}

AllocTracker::Snap AllocTracker::snap() {
  return {g_counts.allocs.load(std::memory_order_relaxed),
          g_counts.bytes.load(std::memory_order_relaxed)};
}

void AllocTracker::Start() {
  // The pass starts from zero: peak and live are relative to this moment.
  g_counts.allocs = 0;
  g_counts.frees = 0;
  g_counts.bytes = 0;
  g_counts.live = 0;
  g_counts.peak = 0;
  pass_ = true;
  looped_ = false;
  skipped_ = false;
  current_.clear();
  loop_ops_ = 0;
  loop_iters_ = 0;
  g_counting.store(true, std::memory_order_relaxed);
  if (g_set_counting) g_set_counting(true);
}

void AllocTracker::Stop(Result* r) {
  if (g_set_counting) g_set_counting(false);
  g_counting.store(false, std::memory_order_relaxed);
  pass_ = false;
  r->num_allocs = g_counts.allocs.load();
  r->max_bytes_used = g_counts.peak.load();
  r->total_allocated_bytes = g_counts.bytes.load();
  r->net_heap_growth = g_counts.live.load();
  AllocRecord rec(r, *r);
  rec.skipped = skipped_;
  rec.name = current_;
  if (looped_ && loop_ops_ > 0) {
    if (!current_.empty()) measured_.insert(current_);
    rec.figures.measured = true;
    rec.figures.allocs_per_op = static_cast<double>(loop1_.allocs - loop0_.allocs) / loop_ops_;
    rec.figures.bytes_per_op = static_cast<double>(loop1_.bytes - loop0_.bytes) / loop_ops_;
    rec.figures.peak_bytes = r->max_bytes_used;
    rec.figures.pass_iterations = loop_iters_;
  }
  records_.push_back(rec);
}

// The probe starts collectors in installation order and stops them in
// reverse; the tracker is installed last, so it brackets the loop most
// tightly and other collectors' own allocations stay outside.
void AllocTracker::start() {
  if (!pass_ || collectors_paused()) return;
  loop0_ = snap();
}

void AllocTracker::stop() {
  if (!pass_ || collectors_paused()) return;
  loop1_ = snap();
  looped_ = true;
}

void AllocTracker::report(benchmark::State& state, double ops) {
  // Only the memory pass has counts; its State is discarded by Google
  // Benchmark, so the figures travel through the record made in Stop().
  if (!pass_ || !looped_) return;
  loop_ops_ = ops;
  loop_iters_ = state.iterations();
}

bool AllocTracker::skip_pass(const std::string& name) {
  if (!pass_) return false;
  current_ = name;
  if (measured_.count(name)) return skipped_ = true;
  return false;
}

const AllocRecord* AllocTracker::take(const benchmark::MemoryManager::Result* key,
                                      const std::string& name) {
  if (!key) return nullptr;
  for (auto& r : records_)
    if (!r.taken && r.key == key && (r.name.empty() || r.name == name)) {
      r.taken = true;
      return &r;
    }
  return nullptr;
}

std::shared_ptr<AllocTracker> alloc_tracker() {
  static std::shared_ptr<AllocTracker> t = std::make_shared<AllocTracker>();
  return t;
}

}  // namespace cachetick

// The allocation hooks: replacements for malloc & co. that count while
// cachetick's AllocTracker says so (operator new reaches them through
// libstdc++'s malloc call).
//
// Linked into the executables (cachetick, cachetick_harness_tests), never into the
// harness library: replacing malloc is a whole-program decision.
//
// Every hook forwards to the NEXT definition in the lookup order
// (dlsym(RTLD_NEXT)): glibc's malloc, ASan's interceptor in a sanitizer
// build, or jemalloc/tcmalloc if one is linked in - the program keeps the
// allocator it would have had.
//
// malloc and free are what the allocator benchmarks time, so while not
// counting they cost what the PLT stub they replace costs: one indirect jump
// through a pointer. A counting flag tested on every call (the first design)
// added 13 instructions to every malloc/free pair, ~1 ns of bias against
// exactly the glibc and new/delete rows the pool and arena are compared
// with. Counting swaps the pointers instead (AllocTracker::Start/Stop, with
// no other thread allocating: Google Benchmark's memory pass is serial).
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "harness/alloc_tracker.h"

#if defined(CACHETICK_ASAN)
// Sanitizer builds: ASan owns malloc and operator new (its shadow memory and
// quarantine depend on it), and forwarding them from here crashed it. The
// hooks stay out and the harness says allocation accounting is unavailable.
namespace {
__attribute__((constructor(101))) void mark_off() { cachetick::alloc_detail::g_hooks.fetch_or(4); }
}  // namespace
#else

using cachetick::alloc_detail::g_counting;
using cachetick::alloc_detail::note_alloc;
using cachetick::alloc_detail::note_free;

namespace {

using malloc_fn = void* (*)(std::size_t);
using calloc_fn = void* (*)(std::size_t, std::size_t);
using realloc_fn = void* (*)(void*, std::size_t);
using free_fn = void (*)(void*);
using memalign_fn = void* (*)(std::size_t, std::size_t);
using posix_memalign_fn = int (*)(void**, std::size_t, std::size_t);
using valloc_fn = void* (*)(std::size_t);

// dlsym may itself allocate (calloc for its error buffer) before the real
// functions are known: those few early requests are served from here and
// never freed.
alignas(64) char boot_heap[16384];
std::size_t boot_used;
bool resolving;

void* boot_alloc(std::size_t n) {
  n = (n + 63) & ~std::size_t{63};
  if (boot_used + n > sizeof boot_heap) return nullptr;
  void* p = boot_heap + boot_used;
  boot_used += n;
  return p;  // static storage: already zero, so it serves calloc too
}
inline bool from_boot(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(boot_heap) <
         sizeof boot_heap;
}

void resolve();
extern malloc_fn next_malloc;
extern free_fn next_free;

// Until resolved, every pointer leads to a stub that resolves first; after
// that, malloc and free jump straight to the real ones (or the counting
// versions), the rest test the counting flag and jump.
void* stub_malloc(std::size_t n) {
  if (resolving) return boot_alloc(n);
  resolve();
  return next_malloc(n);
}
void* stub_calloc(std::size_t a, std::size_t b) {
  if (resolving) return a && b > static_cast<std::size_t>(-1) / a ? nullptr : boot_alloc(a * b);
  resolve();
  return calloc(a, b);
}
void* stub_realloc(void* p, std::size_t n) { resolve(); return realloc(p, n); }
void stub_free(void* p) {
  resolve();
  if (!from_boot(p)) next_free(p);
}
void* stub_memalign(std::size_t a, std::size_t n) { resolve(); return memalign(a, n); }
void* stub_aligned_alloc(std::size_t a, std::size_t n) { resolve(); return aligned_alloc(a, n); }
int stub_posix_memalign(void** o, std::size_t a, std::size_t n) { resolve(); return posix_memalign(o, a, n); }
void* stub_valloc(std::size_t n) { resolve(); return valloc(n); }
void* stub_pvalloc(std::size_t n) { resolve(); return pvalloc(n); }

malloc_fn next_malloc = stub_malloc;
calloc_fn next_calloc = stub_calloc;
realloc_fn next_realloc = stub_realloc;
free_fn next_free = stub_free;
memalign_fn next_memalign = stub_memalign, next_aligned_alloc = stub_aligned_alloc;
posix_memalign_fn next_posix_memalign = stub_posix_memalign;
valloc_fn next_valloc = stub_valloc, next_pvalloc = stub_pvalloc;

// What malloc and free jump to. Stubs until resolved.
malloc_fn malloc_target = stub_malloc;
free_fn free_target = stub_free;

// A block from the boot heap is never handed to the real free. Only needed
// when dlsym allocated while the hooks were resolving (it does so only on an
// error path): otherwise free forwards without the range check.
void checked_free(void* p) {
  if (__builtin_expect(from_boot(p), 0)) return;
  next_free(p);
}

template <class F>
void sym(F& f, const char* name) {
  if (F real = reinterpret_cast<F>(dlsym(RTLD_NEXT, name))) f = real;
}

void resolve() {
  static bool done = false;
  if (done || resolving) return;
  resolving = true;
  malloc_fn m = nullptr;
  free_fn f = nullptr;
  sym(m, "malloc");
  sym(f, "free");
  if (!m || !f) {
    static const char msg[] = "cachetick: allocation hooks cannot find the real malloc\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(70);
  }
  sym(next_calloc, "calloc");
  sym(next_realloc, "realloc");
  sym(next_memalign, "memalign");
  sym(next_aligned_alloc, "aligned_alloc");
  sym(next_posix_memalign, "posix_memalign");
  sym(next_valloc, "valloc");
  sym(next_pvalloc, "pvalloc");
  next_malloc = m;
  next_free = f;
  malloc_target = m;
  free_target = boot_used ? checked_free : f;
  resolving = false;
  done = true;
  cachetick::alloc_detail::g_hooks.fetch_or(1);
}

inline bool counting() {
  return __builtin_expect(g_counting.load(std::memory_order_relaxed), 0);
}

// Allocations made inside another hook's forwarded call are not counted
// twice (kept as a named constant: today no hook nests another).
constexpr bool in_new = false;

void* counted_malloc(std::size_t n) {
  void* p = next_malloc(n);
  if (!in_new) note_alloc(p, n);
  return p;
}
void counted_free(void* p) {
  if (from_boot(p)) return;
  if (p && !in_new) note_free(p);
  next_free(p);
}

void set_counting(bool on) {
  malloc_target = on ? counted_malloc : next_malloc;
  free_target = on ? counted_free : boot_used ? checked_free : next_free;
}

__attribute__((constructor(101))) void resolve_early() {
  resolve();
  cachetick::alloc_detail::g_set_counting = set_counting;
}

}  // namespace

extern "C" {

// Compiled to a single `jmp *target(%rip)`.
void* malloc(std::size_t n) { return malloc_target(n); }
void free(void* p) { free_target(p); }

void* calloc(std::size_t a, std::size_t b) {
  void* p = next_calloc(a, b);
  if (counting() && !in_new) note_alloc(p, a * b);
  return p;
}

void* realloc(void* old, std::size_t n) {
  if (from_boot(old)) {  // never handed to the real allocator: copy out
    void* p = malloc(n);
    if (p) std::memcpy(p, old, std::min<std::size_t>(n, boot_heap + sizeof boot_heap -
                                                           static_cast<char*>(old)));
    return p;
  }
  if (!counting()) return next_realloc(old, n);
  // A move is an allocation of the new size plus a free of the old block.
  if (old) note_free(old);
  void* p = next_realloc(old, n);
  if (p)
    note_alloc(p, n);
  else if (old && n)  // failed: the old block is still live
    note_alloc(old, 0);
  return p;
}

void* memalign(std::size_t align, std::size_t n) {
  void* p = next_memalign(align, n);
  if (counting() && !in_new) note_alloc(p, n);
  return p;
}

void* aligned_alloc(std::size_t align, std::size_t n) {
  void* p = next_aligned_alloc(align, n);
  if (counting() && !in_new) note_alloc(p, n);
  return p;
}

int posix_memalign(void** out, std::size_t align, std::size_t n) {
  const int rc = next_posix_memalign(out, align, n);
  if (rc == 0 && counting() && !in_new) note_alloc(*out, n);
  return rc;
}

void* valloc(std::size_t n) {
  void* p = next_valloc(n);
  if (counting() && !in_new) note_alloc(p, n);
  return p;
}

void* pvalloc(std::size_t n) {
  void* p = next_pvalloc(n);
  if (counting() && !in_new) note_alloc(p, n);
  return p;
}

}  // extern "C"


#endif  // CACHETICK_ASAN

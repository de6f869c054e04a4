// The test binary's replacement operator new/delete, for allocation-failure
// tests (fail_new.h), and a check that the injection does what it says.
// Replacing them is global to the binary; off (the default) they are
// malloc/free, which harness/alloc_hooks.cpp counts as before. ASan still
// checks every block (overflows, use after free, leaks); what it can no
// longer tell apart in this binary is new from new[] from malloc.
#include "tests/fail_new.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

namespace cachetick_test {
thread_local long fail_new_at = 0;
}

// Every non-aligned form is replaced, so that each block comes from malloc
// and goes back through free whichever form a library calls (libstdc++'s
// temporary buffers take the nothrow new, then call plain delete: under
// ASan, one form replaced and not its partner reads as a mismatch). The
// aligned forms are left to the runtime; they pair among themselves.
namespace {
void* fail_or_malloc(std::size_t n) noexcept {
  long& k = cachetick_test::fail_new_at;
  if (k > 0 && --k == 0) return nullptr;
  return std::malloc(n != 0 ? n : 1);
}
void* malloc_or_throw(std::size_t n) {
  if (void* p = fail_or_malloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return malloc_or_throw(n); }
void* operator new[](std::size_t n) { return malloc_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return fail_or_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return fail_or_malloc(n); }
// GCC pairs the free() below with the operator new it sees the pointer come
// from; here they are the same malloc block by construction.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

TEST(FailNew, ThrowsAtTheKthAllocationOnlyThenStops) {
  // No gtest macro inside the window: they allocate too.
  int thrown_at = 0, done = 0;
  cachetick_test::fail_new_at = 3;
  for (int i = 1; i <= 5; ++i) {
    try {
      // An explicit call: a new-expression's allocation may be elided.
      void* p = ::operator new(sizeof(int));
      done += i;
      ::operator delete(p);
    } catch (const std::bad_alloc&) {
      thrown_at = i;
    }
  }
  const long left = cachetick_test::fail_new_at;
  EXPECT_EQ(thrown_at, 3);
  EXPECT_EQ(done, 1 + 2 + 4 + 5);
  EXPECT_EQ(left, 0);  // off again after firing
}

}  // namespace

// Misuse detection shared by the pools and the arena.
//
// A pool hands out raw memory, so a double free or a pointer from elsewhere
// silently corrupts its free list, and the crash comes much later in unrelated
// code. Checked builds catch both at the faulty call with a message that says
// what went wrong; unchecked builds pay nothing.
//
// CACHETICK_ALLOC_CHECKS selects the default: 1 in debug builds (!NDEBUG),
// 0 with NDEBUG; define it to 0 or 1 to override. Independently of the macro,
// every pool has an explicitly checked type (CheckedFixedPool ...) so a
// release build can still check one suspicious pool without an ODR-unsafe
// mix of macro settings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#ifndef CACHETICK_ALLOC_CHECKS
#ifdef NDEBUG
#define CACHETICK_ALLOC_CHECKS 0
#else
#define CACHETICK_ALLOC_CHECKS 1
#endif
#endif

// AddressSanitizer support: memory a pool or arena holds but has not handed
// out is poisoned, so ASan reports a use after free/reset at the faulty access
// instead of the access silently reading recycled memory.
#if defined(__SANITIZE_ADDRESS__)
#define CACHETICK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHETICK_ASAN 1
#endif
#endif
#ifndef CACHETICK_ASAN
#define CACHETICK_ASAN 0
#endif

#if CACHETICK_ASAN
#include <sanitizer/asan_interface.h>
#define CACHETICK_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define CACHETICK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CACHETICK_POISON(p, n) ((void)(p), (void)(n))
#define CACHETICK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__GNUC__)
#define CACHETICK_LIKELY(x) __builtin_expect(!!(x), 1)
#define CACHETICK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CACHETICK_NOINLINE __attribute__((noinline))
#define CACHETICK_INLINE inline __attribute__((always_inline))
#else
#define CACHETICK_LIKELY(x) (x)
#define CACHETICK_UNLIKELY(x) (x)
#define CACHETICK_NOINLINE
#define CACHETICK_INLINE inline
#endif

namespace cachetick::alloc {

inline constexpr bool kDefaultChecks = CACHETICK_ALLOC_CHECKS != 0;

// Largest alignment the pools and the arena accept: one 4 KiB page. Larger
// alignments are for page-table tricks, not for objects, and would waste up
// to the whole alignment per allocation in a bump arena.
inline constexpr std::size_t kMaxAlign = 4096;

constexpr bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

constexpr std::uintptr_t align_up(std::uintptr_t x, std::size_t a) {
  return (x + (a - 1)) & ~static_cast<std::uintptr_t>(a - 1);
}

// Misuse is a programming error, not a recoverable condition: the pool's
// state may already be corrupt, so report and stop rather than throw.
[[noreturn]] CACHETICK_NOINLINE inline void misuse(const char* who,
                                                   const char* what,
                                                   const void* p) {
  std::fprintf(stderr, "cachetick::%s: %s (pointer %p)\n", who, what, p);
  std::fflush(stderr);
  std::abort();
}

}  // namespace cachetick::alloc

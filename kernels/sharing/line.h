// How far apart two independently written objects must be: the padding unit.
//
// C++17 names it std::hardware_destructive_interference_size: "the minimum
// offset between two objects to avoid false sharing". Two facts about it
// decide how cachetick uses it:
//
//  * It is a compile-time guess, not the machine's line. GCC 12 defines it
//    (__cpp_lib_hardware_interference_size = 201703) as 64 on x86-64 for
//    every -mtune we tried (generic, skylake, native on Zen 5); clang 14
//    with libstdc++ does not define it at all. Intel's own optimisation
//    manual recommends 128 B on cores whose L2 "spatial prefetcher" fetches
//    lines in 128 B pairs: there a write to the neighbouring line of the
//    pair can still cost the other core a transfer. The sharing family
//    measures 128 B beside it (padded_128) to see whether that matters on
//    the machine at hand.
//  * GCC warns (-Winterference-size, on by default) at every use in a
//    header: the value may change with -mtune or the compiler version, so
//    a struct whose layout depends on it must not be part of an ABI shared
//    by code built with other flags. cachetick builds everything with one
//    set of flags and never exposes these structs across libraries, so the
//    value is read ONCE, here, with the warning suppressed for that line,
//    and every other use goes through kLineStride. Pinning it for a build
//    is `--param destructive-interference-size=N`.
#pragma once

#include <cstddef>
#include <new>

namespace cachetick::sharing {

#if defined(__cpp_lib_hardware_interference_size)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winterference-size"
#endif
inline constexpr std::size_t kLineStride = std::hardware_destructive_interference_size;
inline constexpr bool kStrideFromStd = true;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#else
// No std value (clang 14 with libstdc++): a 64 B line, what every x86-64
// and most ARM cores have.
inline constexpr std::size_t kLineStride = 64;
inline constexpr bool kStrideFromStd = false;
#endif

static_assert(kLineStride >= 16 && (kLineStride & (kLineStride - 1)) == 0,
              "the padding unit is a power of two, wider than a counter");

}  // namespace cachetick::sharing

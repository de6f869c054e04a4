// Byte-string hashing and equality for the interner's hot path.
//
// Why our own hash instead of absl::Hash or std::hash:
//  - std::hash<string_view> (libstdc++: murmur2, 4-byte steps, out of line)
//    costs ~3x more on 24-64 B strings than two 64x64->128 multiplies;
//  - absl::Hash is good but seeded per process (ASLR), so table layout, probe
//    lengths and simulated cache counts change from run to run; cachetick
//    wants identical probes every run (and under callgrind).
// The mixing is the wyhash idea (folded 128-bit multiply), fixed seed: it is
// NOT flood-resistant; an interner fed attacker-chosen strings should use a
// seeded hash (the interner takes it as a template parameter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cachetick::strings {

namespace detail {
inline std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);  // one unaligned mov on x86
  return v;
}
inline std::uint64_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
// Folded 64x64->128 multiply: every output bit depends on every input bit of
// both operands, in ~4 cycles (mul latency) - the cheapest good mixer on x86.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
constexpr std::uint64_t kP0 = 0xa0761d6478bd642full;
constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbull;
constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ull;
constexpr std::uint64_t kP3 = 0x589965cc75374cc3ull;
}  // namespace detail

// Reads only bytes inside [p, p+n): short strings use two overlapping loads
// instead of a byte loop, so 1..16 B cost the same. Up to 64 B every 16 B
// lane is mixed independently (overlapping loads cover the tail), so the
// multiplies run in parallel and the dependency chain is 2 multiplies deep
// whatever the length: the interner's next step (the slot load) waits on
// that latency, not on the multiply throughput.
[[gnu::always_inline]] inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  using namespace detail;
  const std::uint64_t seed = kP0 ^ n;
  std::uint64_t acc;
  if (n <= 16) {
    std::uint64_t a, b;
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = (std::uint64_t(std::uint8_t(p[0])) << 16) |
          (std::uint64_t(std::uint8_t(p[n >> 1])) << 8) |
          std::uint64_t(std::uint8_t(p[n - 1]));
      b = 0;
    } else {
      a = b = 0;
    }
    acc = mix(a ^ kP1, b ^ seed);
  } else if (n <= 32) {
    acc = mix(load64(p) ^ kP1, load64(p + 8) ^ seed) ^
          mix(load64(p + n - 16) ^ kP2, load64(p + n - 8) ^ seed);
  } else {
    std::uint64_t s = seed;
    const char* const end = p + n;
    // Long strings: 64 B per step, four independent lanes per step; only
    // the step-to-step seed is a chain. The last 64 B (overlapping the
    // previous step if n is not a multiple of 64) close the hash.
    while (end - p > 64) {
      s = mix(load64(p) ^ kP1, load64(p + 8) ^ s) ^ mix(load64(p + 16) ^ kP2, load64(p + 24) ^ s) ^
          mix(load64(p + 32) ^ kP3, load64(p + 40) ^ s) ^ mix(load64(p + 48) ^ kP0, load64(p + 56) ^ s);
      p += 64;
    }
    const char* t = n <= 64 ? p : end - 64;  // 33..64 B: first 32 + last 32
    const char* u = end - 32;
    acc = mix(load64(t) ^ kP1, load64(t + 8) ^ s) ^ mix(load64(t + 16) ^ kP2, load64(t + 24) ^ s) ^
          mix(load64(u) ^ kP3, load64(u + 8) ^ s) ^ mix(load64(u + 16) ^ kP0, load64(u + 24) ^ s);
  }
  return mix(kP3 ^ n, acc);
}

struct BytesHash {
  [[gnu::always_inline]] std::uint64_t operator()(std::string_view s) const {
    return hash_bytes(s.data(), s.size());
  }
};

// Equality of two byte ranges of the same length n, inlined. glibc's memcmp
// is fast on long inputs but is a call plus a size dispatch; for the 2-64 B
// keys interning is about, a few overlapping 8-byte loads win.
[[gnu::always_inline]] inline bool bytes_equal(const char* a, const char* b, std::size_t n) {
  using namespace detail;
  if (n >= 8) {
    // First and last 8 bytes (overlapping when n < 16): 8..16 B in two
    // loads per side; 17..32 B in four, straight-line, no loop.
    std::uint64_t diff = (load64(a) ^ load64(b)) | (load64(a + n - 8) ^ load64(b + n - 8));
    if (n <= 16) return diff == 0;
    diff |= (load64(a + 8) ^ load64(b + 8)) | (load64(a + n - 16) ^ load64(b + n - 16));
    if (n <= 32) return diff == 0;
    for (std::size_t i = 16; i < n - 16; i += 16)  // the middle, 16 B a step
      diff |= (load64(a + i) ^ load64(b + i)) | (load64(a + i + 8) ^ load64(b + i + 8));
    return diff == 0;
  }
  if (n >= 4) {
    return ((load32(a) ^ load32(b)) | (load32(a + n - 4) ^ load32(b + n - 4))) == 0;
  }
  std::uint32_t diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff |= std::uint8_t(a[i]) ^ std::uint8_t(b[i]);
  return diff == 0;
}

}  // namespace cachetick::strings

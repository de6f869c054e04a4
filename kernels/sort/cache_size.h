// How big is this machine's cache at level L? Asked once, from sysfs.
//
// The chunked sort sizes its chunks so that a chunk and its scratch half stay
// inside one cache level while the chunk is sorted and first merged. Linux
// describes each cache of cpu0 in /sys/devices/system/cpu/cpu0/cache/indexN/
// (level, type, size such as "2048K"); instruction caches are skipped because
// the sort only moves data. Where sysfs is missing (containers, other OSes)
// sysconf is tried, then a conservative default: the sizes are a tuning input,
// never a correctness one, so a wrong guess costs speed, not results.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace cachetick::sort {

namespace detail {

// Parses sysfs size strings: "48K", "2048K", "105M", "512" (bytes).
inline std::size_t parse_cache_size(const std::string& s) {
  std::size_t v = 0, i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
  if (i == 0) return 0;
  if (i < s.size()) {
    if (s[i] == 'K' || s[i] == 'k') v <<= 10;
    else if (s[i] == 'M' || s[i] == 'm') v <<= 20;
    else if (s[i] == 'G' || s[i] == 'g') v <<= 30;
  }
  return v;
}

inline std::size_t sysfs_cache_size(int level) {
  for (int idx = 0; idx < 16; ++idx) {
    const std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/";
    std::ifstream lf(dir + "level");
    if (!lf) break;  // indices are dense: the first missing one ends the list
    int lv = 0;
    std::string type, size;
    lf >> lv;
    std::ifstream(dir + "type") >> type;
    std::ifstream(dir + "size") >> size;
    if (lv == level && type != "Instruction") return parse_cache_size(size);
  }
  return 0;
}

inline std::size_t sysconf_cache_size(int level) {
  long v = -1;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  if (level == 1) v = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  if (level == 2) v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (level == 3) v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  return v > 0 ? static_cast<std::size_t>(v) : 0;
}

}  // namespace detail

// Bytes of the data (or unified) cache at `level` (1, 2, 3) as seen by cpu0.
// Never 0: falls back to 32 KiB / 1 MiB / 8 MiB, sizes every x86 of the last
// decade meets or exceeds. Read once per level and cached.
inline std::size_t cache_size_bytes(int level) {
  auto probe = [](int lv) {
    std::size_t s = detail::sysfs_cache_size(lv);
    if (s == 0) s = detail::sysconf_cache_size(lv);
    if (s == 0) s = lv <= 1 ? (32u << 10) : lv == 2 ? (1u << 20) : (8u << 20);
    return s;
  };
  static const std::size_t l1 = probe(1), l2 = probe(2), l3 = probe(3);
  return level <= 1 ? l1 : level == 2 ? l2 : l3;
}

}  // namespace cachetick::sort

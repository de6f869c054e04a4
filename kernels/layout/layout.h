// Data layout: array of structs (AoS) vs struct of arrays (SoA) vs hot/cold.
//
// The lesson. An update that reads 24 hot bytes per entity (position and
// velocity) but stores them inside a 64- or 312-byte record drags the whole
// record through the cache: the hardware moves 64-byte lines, not fields.
//   * AoS: one record after another. A sequential pass moves every byte of
//     every record: 64 B of traffic for 24 useful bytes (312 B for 24 with
//     the large record), so beyond L1 it runs at 24/64 (or 24/312) of the
//     bandwidth it could have.
//   * SoA: one array per field. A sequential pass streams only the six hot
//     arrays (24 B per entity) and the loop vectorises: at L1 size the gain
//     is SIMD, beyond L2 it is bytes not moved.
//   * Hot/cold split: the hot fields packed in a 24-byte struct, the cold
//     payload in a parallel array. Nearly SoA's traffic, and a random access
//     touches one or two lines instead of SoA's six (one per field array).
// Random-index order defeats the prefetchers: there each access pays the
// latency of its level, and the number of distinct lines per entity decides.
//
// All three compute exactly the same floats (same operations per element, no
// cross-element reduction), which tests/layout_test.cpp checks bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace cachetick::layout {

// ---- the records -----------------------------------------------------------

struct Hot {  // 24 bytes: what the update reads
  float x, y, z;
  float vx, vy, vz;
};
static_assert(sizeof(Hot) == 24);

// A particle: 24 hot bytes + 40 cold bytes = one cache line.
struct Cold64 {
  std::uint32_t id;
  float mass;
  char tag[16];
  std::uint64_t flags;
  std::uint64_t owner;
};
static_assert(sizeof(Cold64) == 40);

// A game player (the seed chapter's 312-byte Player): name, inventory and
// statistics ride along with the position the frame update needs.
struct Cold312 {
  char name[32];
  std::uint32_t inventory[40];
  float stats[16];
  std::uint64_t guild, last_seen, flags, session;
};
static_assert(sizeof(Cold312) == 288);

template <class Cold>
struct Record {  // AoS element: hot fields first, cold payload after
  Hot hot;
  Cold cold;
};
static_assert(sizeof(Record<Cold64>) == 64);
static_assert(sizeof(Record<Cold312>) == 312);

// ---- the update: x += vx * dt (per axis), one "element" per entity -----------

inline void step(Hot& h, float dt) {
  h.x += h.vx * dt;
  h.y += h.vy * dt;
  h.z += h.vz * dt;
}

// ---- AoS: the naive layout -------------------------------------------------

template <class Cold>
struct AoS {
  std::vector<Record<Cold>> r;
  explicit AoS(std::size_t n) : r(n) {}
  std::size_t size() const { return r.size(); }
  Hot get(std::size_t i) const { return r[i].hot; }
  void set(std::size_t i, const Hot& h) { r[i].hot = h; }

  void update_seq(float dt) {
    for (auto& e : r) step(e.hot, dt);
  }
  void update_idx(std::span<const std::uint32_t> idx, float dt) {
    for (std::uint32_t i : idx) step(r[i].hot, dt);
  }
};

// ---- SoA: one array per field ----------------------------------------------

template <class Cold>
struct SoA {
  // Six separate arrays: a sequential pass is six unit-stride streams, which
  // the prefetchers follow and the compiler turns into SIMD.
  std::vector<float> x, y, z, vx, vy, vz;
  std::vector<Cold> cold;  // payload still exists, never touched by the update
  explicit SoA(std::size_t n) : x(n), y(n), z(n), vx(n), vy(n), vz(n), cold(n) {}
  std::size_t size() const { return x.size(); }
  Hot get(std::size_t i) const { return {x[i], y[i], z[i], vx[i], vy[i], vz[i]}; }
  void set(std::size_t i, const Hot& h) {
    x[i] = h.x, y[i] = h.y, z[i] = h.z, vx[i] = h.vx, vy[i] = h.vy, vz[i] = h.vz;
  }

  void update_seq(float dt) {
    const std::size_t n = size();
    // __restrict: the arrays never alias, so the loop vectorises without a
    // runtime overlap check.
    float* __restrict px = x.data();
    float* __restrict py = y.data();
    float* __restrict pz = z.data();
    const float* __restrict qx = vx.data();
    const float* __restrict qy = vy.data();
    const float* __restrict qz = vz.data();
    for (std::size_t i = 0; i < n; ++i) {
      px[i] += qx[i] * dt;
      py[i] += qy[i] * dt;
      pz[i] += qz[i] * dt;
    }
  }
  // Random order: six lines per entity, one per array. The price of SoA
  // when access is not a stream.
  void update_idx(std::span<const std::uint32_t> idx, float dt) {
    for (std::uint32_t i : idx) {
      x[i] += vx[i] * dt;
      y[i] += vy[i] * dt;
      z[i] += vz[i] * dt;
    }
  }
};

// ---- hot/cold split ----------------------------------------------------------

template <class Cold>
struct HotCold {
  std::vector<Hot> hot;    // 24 B per entity, 2.67 entities per line
  std::vector<Cold> cold;  // parallel array, same index
  explicit HotCold(std::size_t n) : hot(n), cold(n) {}
  std::size_t size() const { return hot.size(); }
  Hot get(std::size_t i) const { return hot[i]; }
  void set(std::size_t i, const Hot& h) { hot[i] = h; }

  void update_seq(float dt) {
    for (auto& h : hot) step(h, dt);
  }
  void update_idx(std::span<const std::uint32_t> idx, float dt) {
    for (std::uint32_t i : idx) step(hot[i], dt);
  }
};

}  // namespace cachetick::layout

// Every layout computes the same floats, bit for bit, in either order.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "kernels/layout/layout.h"

using namespace cachetick::layout;

namespace {

template <class L>
L make(std::size_t n, std::uint64_t seed) {
  L a(n);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-100.f, 100.f);
  for (std::size_t i = 0; i < n; ++i) a.set(i, {u(rng), u(rng), u(rng), u(rng), u(rng), u(rng)});
  return a;
}

// Reference: the same update on plain Hot values, one element at a time.
std::vector<Hot> reference(std::size_t n, std::uint64_t seed, int steps, float dt) {
  auto a = make<HotCold<Cold64>>(n, seed);
  std::vector<Hot> h(a.hot);
  for (int s = 0; s < steps; ++s)
    for (auto& e : h) {
      e.x = e.x + e.vx * dt;
      e.y = e.y + e.vy * dt;
      e.z = e.z + e.vz * dt;
    }
  return h;
}

template <class L>
void expect_same(const L& a, const std::vector<Hot>& ref) {
  ASSERT_EQ(a.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) {
    Hot h = a.get(i);
    ASSERT_EQ(h.x, ref[i].x) << "element " << i;
    ASSERT_EQ(h.y, ref[i].y) << "element " << i;
    ASSERT_EQ(h.z, ref[i].z) << "element " << i;
    ASSERT_EQ(h.vx, ref[i].vx) << "element " << i;  // velocities untouched
  }
}

template <class L>
void check(std::size_t n) {
  const float dt = 0.37f;
  const int steps = 5;
  auto ref = reference(n, 99 + n, steps, dt);
  std::vector<std::uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  std::shuffle(idx.begin(), idx.end(), std::mt19937_64(n));

  auto seq = make<L>(n, 99 + n);
  for (int s = 0; s < steps; ++s) seq.update_seq(dt);
  expect_same(seq, ref);

  auto rnd = make<L>(n, 99 + n);
  for (int s = 0; s < steps; ++s) rnd.update_idx(idx, dt);
  expect_same(rnd, ref);
}

}  // namespace

// Sizes include 0, 1 and odd counts that leave a vector remainder.
class LayoutSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LayoutSizes, AoS64) { check<AoS<Cold64>>(GetParam()); }
TEST_P(LayoutSizes, SoA64) { check<SoA<Cold64>>(GetParam()); }
TEST_P(LayoutSizes, HotCold64) { check<HotCold<Cold64>>(GetParam()); }
TEST_P(LayoutSizes, AoS312) { check<AoS<Cold312>>(GetParam()); }
TEST_P(LayoutSizes, SoA312) { check<SoA<Cold312>>(GetParam()); }
TEST_P(LayoutSizes, HotCold312) { check<HotCold<Cold312>>(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Layout, LayoutSizes, ::testing::Values(0, 1, 7, 64, 1001, 4099));

TEST(Layout, RecordSizesAreWhatTheLessonSays) {
  EXPECT_EQ(sizeof(Record<Cold64>), 64u);
  EXPECT_EQ(sizeof(Record<Cold312>), 312u);
  EXPECT_EQ(sizeof(Hot), 24u);
}

TEST(Layout, ColdPayloadSurvivesUpdates) {
  AoS<Cold64> a(10);
  for (std::size_t i = 0; i < 10; ++i) a.r[i].cold.id = static_cast<std::uint32_t>(i * 3);
  a.update_seq(1.f);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(a.r[i].cold.id, i * 3);
}

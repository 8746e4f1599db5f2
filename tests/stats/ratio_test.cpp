#include "lmzip/stats/ratio.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lmzip::stats {
namespace {

TEST(Ratio, StandardErrorHandWorked) {
  // y = 1, 6, 2 over x = 1, 2, 1: R = 9/4; residuals −1.25, 1.5, −0.25; Σ d² = 3.875;
  // SE = sqrt(3/2 · 3.875) / 4 = 0.60272817256...
  EXPECT_DOUBLE_EQ(ratio_of_sums({1, 6, 2}, {1, 2, 1}), 2.25);
  EXPECT_NEAR(ratio_stderr({1, 6, 2}, {1, 2, 1}), 0.6027281725620597, 1e-15);
  // Equal x: the standard error of a mean, s / sqrt(n): y = 1, 3 → s = sqrt(2), SE = 1.
  EXPECT_NEAR(ratio_stderr({1, 3}, {1, 1}), 1.0, 1e-15);
  EXPECT_TRUE(std::isnan(ratio_stderr({1}, {1})));
  EXPECT_TRUE(std::isnan(ratio_stderr({1, 2}, {0, 0})));
  EXPECT_TRUE(std::isnan(ratio_of_sums({1}, {0})));
}

TEST(Ratio, BootstrapIntervalHandWorked) {
  // Two units: a draw's R is 1, 2 or 3 with p = 1/4, 1/2, 1/4, so the 95% interval of 1000 draws is [1, 3].
  int used = 0;
  Interval ci = bootstrap_ratio_interval({1, 3}, {1, 1}, 1000, 42, 0.95, &used);
  EXPECT_EQ(used, 1000);
  EXPECT_DOUBLE_EQ(ci.low, 1.0);
  EXPECT_DOUBLE_EQ(ci.high, 3.0);
  // Identical units: every draw has the same R.
  ci = bootstrap_ratio_interval({2, 2, 2}, {1, 1, 1}, 100, 1);
  EXPECT_DOUBLE_EQ(ci.low, 2.0);
  EXPECT_DOUBLE_EQ(ci.high, 2.0);
  // Seeded: the same seed, the same interval.
  Interval a = bootstrap_ratio_interval({1, 5, 2, 8, 3}, {1, 2, 1, 3, 2}, 300, 9);
  Interval b = bootstrap_ratio_interval({1, 5, 2, 8, 3}, {1, 2, 1, 3, 2}, 300, 9);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  // Draws with Σx = 0 have no ratio and are skipped; fewer than two units give no interval.
  bootstrap_ratio_interval({1, 0}, {1, 0}, 1000, 3, 0.95, &used);
  EXPECT_LT(used, 1000);
  EXPECT_GT(used, 600);  // P(both draws are the zero unit) = 1/4
  EXPECT_TRUE(std::isnan(bootstrap_ratio_interval({1}, {1}, 100, 1).low));
}

}  // namespace
}  // namespace lmzip::stats

#include "lmzip/score/min_k.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lmzip {
namespace {

// P = (1/2, 1/4, 1/4): ln p = (-ln 2, -2 ln 2, -2 ln 2); mu = -1.5 ln 2; E[(ln p)^2] = 2.5 (ln 2)^2, so
// sigma^2 = 0.25 (ln 2)^2, sigma = 0.5 ln 2. Token 0: (-ln 2 + 1.5 ln 2) / (0.5 ln 2) = +1; token 1: -1.
TEST(MinKpp, TokenScoreByHand) {
  const std::vector<float> z{static_cast<float>(std::log(2.0)), 0.0f, 0.0f};
  EXPECT_NEAR(min_k_pp_token(z, 0), 1.0, 1e-6);
  EXPECT_NEAR(min_k_pp_token(z, 1), -1.0, 1e-6);
  EXPECT_NEAR(min_k_pp_token(z, 2), -1.0, 1e-6);
  // A uniform distribution has sigma = 0: the token is neutral.
  EXPECT_EQ(min_k_pp_token(std::vector<float>{3.0f, 3.0f}, 1), 0.0);
}

TEST(MinKpp, MeanOfTheLowestK) {
  const std::vector<double> s{0.5, -2.0, 1.0, -1.0, 3.0};
  EXPECT_DOUBLE_EQ(min_k_pp(s, 0.2), -2.0);   // ceil(1) lowest
  EXPECT_DOUBLE_EQ(min_k_pp(s, 0.5), -2.5 / 3);  // ceil(2.5) = 3 lowest: (-2 - 1 + 0.5) / 3
  EXPECT_DOUBLE_EQ(min_k_pp(s, 1.0), 0.3);
  EXPECT_EQ(min_k_pp({}, 0.2), 0.0);
}

}  // namespace
}  // namespace lmzip

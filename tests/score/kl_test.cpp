#include "lmzip/score/kl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lmzip {
namespace {

// P = (1/2, 1/2), Q = (3/4, 1/4): KL(P||Q) = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3).
TEST(KlPosition, TwoTokenDistributionsByHand) {
  const std::vector<float> ref{0.0f, 0.0f};
  const std::vector<float> model{static_cast<float>(std::log(3.0)), 0.0f};
  const KlPosition p = kl_position(ref, model, 1);
  EXPECT_NEAR(p.kl, 0.5 * std::log(4.0 / 3.0), 1e-7);
  EXPECT_NEAR(p.nll_ref, std::log(2.0), 1e-7);
  EXPECT_NEAR(p.nll_model, std::log(4.0), 1e-7);
  EXPECT_TRUE(p.same_top);  // the reference's tie goes to id 0, the model's maximum is id 0
}

// P = (1/4, 1/2, 1/4), Q uniform: KL = 2 · 1/4 ln(3/4) + 1/2 ln(3/2) = 1/2 ln(9/8); argmaxes 1 and 0.
TEST(KlPosition, ThreeTokenDistributionsByHand) {
  const std::vector<float> ref{0.0f, static_cast<float>(std::log(2.0)), 0.0f};
  const std::vector<float> model{5.0f, 5.0f, 5.0f};  // a shift of all logits changes nothing
  const KlPosition p = kl_position(ref, model, 2);
  EXPECT_NEAR(p.kl, 0.5 * std::log(9.0 / 8.0), 1e-7);
  EXPECT_NEAR(p.nll_ref, std::log(4.0), 1e-7);
  EXPECT_NEAR(p.nll_model, std::log(3.0), 1e-7);
  EXPECT_FALSE(p.same_top);
}

TEST(KlPosition, IdenticalRowsGiveExactlyZero) {
  const std::vector<float> z{1.5f, -2.0f, 0.25f, 7.0f};
  const KlPosition p = kl_position(z, z, 0);
  EXPECT_EQ(p.kl, 0.0);
  EXPECT_EQ(p.nll_ref, p.nll_model);
  EXPECT_TRUE(p.same_top);
}

TEST(KlSummary, StatisticsAsLlamaCpp) {
  KlAccumulator acc;
  // KL values 0, 1, ..., 10; every other position agrees on the top token.
  for (int i = 0; i <= 10; ++i) acc.add({.kl = double(i), .nll_ref = 1.0, .nll_model = 1.5, .same_top = i % 2 == 0});
  const KlSummary s = acc.summary();
  EXPECT_EQ(s.positions, 11u);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  // E[kl^2] = 385/11 = 35, so the variance is 10 and the standard error sqrt(10 / 10) = 1.
  EXPECT_NEAR(s.stderr_mean, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.median, 5.0);
  EXPECT_NEAR(s.p90, 9.0, 1e-12);   // 0.9 · 10 = 9 exactly
  EXPECT_NEAR(s.p99, 9.9, 1e-12);   // 0.99 · 10 = 9.9: between 9 and 10
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_DOUBLE_EQ(s.min, 0.0);
  EXPECT_NEAR(s.top1_agreement, 100.0 * 6 / 11, 1e-12);
  EXPECT_DOUBLE_EQ(s.nats_ref, 11.0);
  EXPECT_DOUBLE_EQ(s.nats_model, 16.5);
}

TEST(KlSummary, EvenCountMedianIsTheMeanOfTheMiddleTwo) {
  KlAccumulator acc;
  for (double v : {4.0, 1.0, 3.0, 2.0}) acc.add({.kl = v});
  EXPECT_DOUBLE_EQ(acc.summary().median, 2.5);
  EXPECT_NEAR(sorted_percentile(std::vector<double>{1, 2, 3, 4}, 0.5), 2.5, 1e-12);
}

TEST(KlSummary, EmptyIsZero) {
  const KlSummary s = KlAccumulator{}.summary();
  EXPECT_EQ(s.positions, 0u);
  EXPECT_EQ(s.mean, 0.0);
}

}  // namespace
}  // namespace lmzip

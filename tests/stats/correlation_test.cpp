// Hand-worked examples and reference values (scipy.stats 1.10 for the distributions, ranks and tau).
#include <gtest/gtest.h>

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/stats/correlation.h"
#include "lmzip/stats/distributions.h"

namespace lmzip::stats {
namespace {

// x = 1..5, y = 2 4 5 4 5: Sxx = 10, Syy = 6, Sxy = 6.
const std::vector<double> kX = {1, 2, 3, 4, 5};
const std::vector<double> kY = {2, 4, 5, 4, 5};

TEST(Distributions, NormalAndStudentT) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(normal_quantile(0.001), -3.090232306167813, 1e-10);
  EXPECT_NEAR(normal_cdf(1.0), 0.8413447460685429, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736174698, 1e-8);
  EXPECT_NEAR(student_t_quantile(0.975, 3), 3.182446305284263, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 17), 2.109815577833317, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.025, 17), -2.109815577833317, 1e-9);
  EXPECT_NEAR(student_t_cdf(2.0, 5), 0.9490302605850709, 1e-12);
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-12);  // 1 - sum_{k<2} C(4,k) .4^k .6^(4-k)
}

TEST(Correlation, PearsonHandWorked) {
  EXPECT_NEAR(pearson(kX, kY), 6 / std::sqrt(60.0), 1e-15);
  EXPECT_NEAR(pearson(kX, {10, 8, 6, 4, 2}), -1.0, 1e-15);
  // p-value: t = r sqrt(3/(1-r^2)) = 2.1213, df 3 -> 0.1240 (scipy.stats.pearsonr)
  EXPECT_NEAR(pearson_p_value(6 / std::sqrt(60.0), 5), 0.12402706265755976, 1e-9);
}

TEST(Correlation, RanksAndSpearmanWithTies) {
  std::vector<double> r = average_ranks(kY);
  EXPECT_EQ(r, (std::vector<double>{1, 2.5, 4.5, 2.5, 4.5}));
  // Pearson of (1..5) with (1, 2.5, 4.5, 2.5, 4.5): Sxy = 7, Sxx = 10, Syy = 9.
  EXPECT_NEAR(spearman(kX, kY), 7 / std::sqrt(90.0), 1e-15);
}

TEST(Correlation, KendallTauB) {
  // Pairs of kY: 10 pairs, ties in y: (4,4) and (5,5) -> 2; concordant 7, discordant 1.
  EXPECT_NEAR(kendall_tau_b(kX, kY), 6 / std::sqrt(10.0 * 8.0), 1e-15);
  EXPECT_NEAR(kendall_tau_b(kX, {5, 4, 3, 2, 1}), -1.0, 1e-15);
}

TEST(Correlation, FisherInterval) {
  // z = atanh(0.9) = 1.4722, se = 1/sqrt(16) -> tanh(1.4722 -+ 0.49) = 0.7540 .. 0.9613
  Interval ci = fisher_interval(0.9, 19);
  EXPECT_NEAR(ci.low, std::tanh(std::atanh(0.9) - 1.959963984540054 / 4), 1e-12);
  EXPECT_NEAR(ci.high, std::tanh(std::atanh(0.9) + 1.959963984540054 / 4), 1e-12);
  EXPECT_NEAR(ci.low, 0.75403, 1e-5);
  EXPECT_NEAR(ci.high, 0.96126, 1e-5);
  EXPECT_THROW(fisher_interval(0.9, 3), Error);
}

TEST(Correlation, BootstrapIsDeterministicAndBracketsR) {
  std::vector<double> x, y;
  for (int i = 0; i < 20; ++i) {
    x.push_back(i);
    y.push_back(-0.5 * i + std::sin(i * 1.7));  // strong negative trend plus bounded noise
  }
  int used1 = 0, used2 = 0;
  Interval a = bootstrap_pearson_interval(x, y, 1000, 7, 0.95, &used1);
  Interval b = bootstrap_pearson_interval(x, y, 1000, 7, 0.95, &used2);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_EQ(used1, 1000);
  double r = pearson(x, y);
  EXPECT_LT(a.low, r);
  EXPECT_GT(a.high, r);
  EXPECT_GT(a.low, -1.0);
  EXPECT_LT(a.high, -0.8);
}

TEST(Regression, LeastSquaresHandWorked) {
  LineFit f = least_squares(kX, kY);
  EXPECT_NEAR(f.slope, 0.6, 1e-15);
  EXPECT_NEAR(f.intercept, 2.2, 1e-14);
  // residuals -0.8 0.6 1.0 -0.6 -0.2: SSE 2.4, SST 6
  EXPECT_NEAR(f.r2, 0.6, 1e-14);
  EXPECT_NEAR(f.rmse, std::sqrt(2.4 / 5), 1e-14);
  EXPECT_NEAR(f.sigma, std::sqrt(2.4 / 3), 1e-14);
}

TEST(Regression, LeaveOneOutHandWorked) {
  // x = 0 1 2 3, y = 0 1 2 4: each left-out prediction worked by hand from the 3-point line.
  std::vector<double> x = {0, 1, 2, 3}, y = {0, 1, 2, 4};
  // leave 0: fit (1,1)(2,2)(3,4): slope 1.5, int -0.6667 -> pred -0.6667, err 0.6667
  // leave 1: fit (0,0)(2,2)(3,4): slope 9/7, int -1/7 -> pred 8/7, err -1/7
  // leave 2: fit (0,0)(1,1)(3,4): slope 19/14, int -1/7 -> pred 18/7, err -4/7
  // leave 3: fit (0,0)(1,1)(2,2): slope 1, int 0 -> pred 3, err 1
  double expect = std::sqrt((4.0 / 9 + 1.0 / 49 + 16.0 / 49 + 1) / 4);
  EXPECT_NEAR(leave_one_out_rmse(x, y), expect, 1e-12);
}

TEST(Regression, PredictionInterval) {
  LineFit f = least_squares(kX, kY);
  Prediction p = predict(f, 3.0);
  EXPECT_NEAR(p.y, 4.0, 1e-14);
  // se = sigma sqrt(1 + 1/5 + 0) ; half = t_{.975,3} se
  double half = 3.182446305284263 * std::sqrt(2.4 / 3) * std::sqrt(1.2);
  EXPECT_NEAR(p.interval.low, 4.0 - half, 1e-8);
  EXPECT_NEAR(p.interval.high, 4.0 + half, 1e-8);
}

TEST(Correlation, DegenerateInputIsAnErrorNotNaN) {
  EXPECT_THROW(pearson({1, 1, 1}, {1, 2, 3}), Error);
  EXPECT_THROW(pearson({1, 2, 3}, {5, 5, 5}), Error);
  EXPECT_THROW(pearson({1}, {2}), Error);
  EXPECT_THROW(least_squares({2, 2, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(pearson({1, NAN, 3}, {1, 2, 3}), Error);
  EXPECT_THROW(kendall_tau_b({1, 1, 1}, {1, 2, 3}), Error);
  EXPECT_THROW(leave_one_out_rmse({1, 2}, {1, 2}), Error);
}

}  // namespace
}  // namespace lmzip::stats

#include <gtest/gtest.h>

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/stats/fit.h"

namespace lmzip::stats {
namespace {

// Five models on a line y = 1 - x except "off" (residual +0.1) and "gap" (no score).
Dataset toy() {
  Dataset d;
  d.name = "toy";
  const char* names[] = {"a", "b", "c", "d", "off"};
  for (int i = 0; i < 5; ++i) {
    double x = 0.5 + 0.1 * i;
    d.add_bpc(names[i], "cc", x);
    d.add_bpc(names[i], "py", x / 2);
    d.add_score(names[i], "s1", 1 - x + (i == 4 ? 0.1 : 0));
    d.add_score(names[i], "s2", 0.5);
  }
  d.add_bpc("gap", "cc", 0.7);
  return d;
}

std::string error_of(const Dataset& d, const FitSpec& s) {
  try {
    run_fit(d, s);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Fit, JoinsSelectsAndReportsResiduals) {
  FitReport f = run_fit(toy(), {.corpora = {"cc"}, .y_groups = {{"s1"}}});
  EXPECT_EQ(f.n, 5);
  EXPECT_EQ(f.missing, std::vector<std::string>{"gap"});
  EXPECT_EQ(f.points[f.furthest[0]].model, "off");
  double sum = 0;
  for (const auto& p : f.points) sum += p.residual;
  EXPECT_NEAR(sum, 0, 1e-12);  // least-squares residuals sum to zero
  EXPECT_LT(f.pearson_r, -0.8);
  ASSERT_TRUE(f.fisher_ci.has_value());
  EXPECT_LT(f.fisher_ci->low, f.pearson_r);
}

TEST(Fit, MeansOverCorporaAndGroups) {
  // X = mean(cc, py) = 0.75 x; Y = mean(s1, s2): a linear map of the single-column fit, so r is unchanged.
  FitReport one = run_fit(toy(), {.corpora = {"cc"}, .y_groups = {{"s1"}}});
  FitReport two = run_fit(toy(), {.corpora = {"cc", "py"}, .y_groups = {{"s1"}, {"s2"}}});
  EXPECT_NEAR(two.pearson_r, one.pearson_r, 1e-12);
  EXPECT_NEAR(two.points[0].x, 0.75 * 0.5, 1e-15);
  EXPECT_NEAR(two.points[0].y, (0.5 + 0.5) / 2, 1e-15);
  EXPECT_NEAR(two.line.slope, one.line.slope / 0.75 / 2, 1e-12);
  FitReport area = run_fit(toy(), {.corpora = {"cc"}, .y_groups = {{"s1", "s2"}}});
  EXPECT_NEAR(area.points[1].y, (1 - 0.6 + 0.5) / 2, 1e-15);
}

TEST(Fit, OnlyAndExcludeWithGlobs) {
  FitReport f = run_fit(toy(), {.corpora = {"cc"}, .y_groups = {{"s1"}}, .exclude = {"of*"}});
  EXPECT_EQ(f.n, 4);
  EXPECT_NEAR(f.pearson_r, -1.0, 1e-12);
  EXPECT_NEAR(f.line.rmse, 0, 1e-12);
  f = run_fit(toy(), {.corpora = {"cc"}, .y_groups = {{"s1"}}, .only = {"a", "b", "c"}});
  EXPECT_EQ(f.n, 3);
  EXPECT_FALSE(f.fisher_ci.has_value());
}

TEST(Fit, BadInputNamesTheProblem) {
  Dataset d = toy();
  EXPECT_EQ(error_of(d, {.corpora = {"web"}, .y_groups = {{"s1"}}}), "unknown corpus 'web' (toy has: cc, py)");
  EXPECT_EQ(error_of(d, {.corpora = {"cc"}, .y_groups = {{"mmlu"}}}), "unknown benchmark 'mmlu' (toy has: s1, s2)");
  EXPECT_EQ(error_of(d, {.corpora = {"cc"}, .y_groups = {{"s1"}}, .exclude = {"zz"}}),
            "unknown model 'zz' in --exclude (toy has: a, b, c, d, off, gap)");
  EXPECT_EQ(error_of(d, {.corpora = {"cc"}, .y_groups = {{"s1"}}, .only = {"a", "b", "gap"}}),
            "a fit needs at least 3 models with both a BPC (BPC cc) and a score (s1); found 2 (lacking data: gap)");
  EXPECT_EQ(error_of(d, {.corpora = {"cc"}, .y_groups = {{"s2"}}}), "Pearson correlation: y (score) is constant over all points");
  EXPECT_EQ(error_of(d, {.corpora = {}, .y_groups = {{"s2"}}}), "no corpus chosen for X (the BPC axis)");
}

}  // namespace
}  // namespace lmzip::stats

namespace lmzip::stats {
namespace {

// Scores generated exactly from a log law: score = 0.9 - 0.3 ln(BPC).
Dataset log_law() {
  Dataset d;
  d.name = "log-law";
  const double xs[] = {0.5, 0.7, 1.0, 1.3, 1.8, 2.4};
  for (int i = 0; i < 6; ++i) {
    const std::string m = "m" + std::to_string(i);
    d.add_bpc(m, "code", xs[i]);
    d.add_score(m, "humaneval", 0.9 - 0.3 * std::log(xs[i]));
  }
  return d;
}

TEST(FitForm, LogFormRecoversALogLawExactly) {
  FitSpec spec{.corpora = {"code"}, .y_groups = {{"humaneval"}}, .bootstrap_resamples = 200};
  spec.form = FitForm::Log;
  const FitReport log = run_fit(log_law(), spec);
  EXPECT_EQ(log.form, FitForm::Log);
  EXPECT_NEAR(log.line.slope, -0.3, 1e-12);
  EXPECT_NEAR(log.line.intercept, 0.9, 1e-12);
  EXPECT_NEAR(log.pearson_r, -1.0, 1e-12);
  EXPECT_LT(log.line.rmse, 1e-12);
  EXPECT_LT(log.loo_rmse, 1e-12);
  for (const auto& p : log.points) EXPECT_NEAR(p.residual, 0.0, 1e-12);
  EXPECT_EQ(describe_x(spec), "ln(BPC code)");
  // The straight line in BPC misses the curvature.
  spec.form = FitForm::Linear;
  const FitReport lin = run_fit(log_law(), spec);
  EXPECT_GT(lin.line.rmse, 0.01);
  EXPECT_GT(lin.loo_rmse, lin.line.rmse);
  EXPECT_LT(log.aic, lin.aic);
  EXPECT_GT(lin.pearson_r, -1.0);
}

// Points (1, 0), (2, 1), (3, 0): the line is flat at 1/3, SSE = 1/9 + 4/9 + 1/9 = 2/3, AIC = 3 ln(2/9) + 6.
TEST(FitForm, AicByHand) {
  Dataset d;
  d.name = "three";
  for (int i = 0; i < 3; ++i) {
    d.add_bpc("m" + std::to_string(i), "cc", 1.0 + i);
    d.add_score("m" + std::to_string(i), "s", i == 1 ? 1.0 : 0.0);
  }
  const FitReport r = run_fit(d, FitSpec{.corpora = {"cc"}, .y_groups = {{"s"}}, .bootstrap_resamples = 50});
  EXPECT_NEAR(r.line.slope, 0.0, 1e-15);
  EXPECT_NEAR(r.aic, 3 * std::log(2.0 / 9.0) + 6, 1e-12);
}

TEST(FitForm, LogFormRefusesANonPositiveBpc) {
  Dataset d = log_law();
  d.add_bpc("zero", "code", 0.0);
  d.add_score("zero", "humaneval", 0.5);
  FitSpec spec{.corpora = {"code"}, .y_groups = {{"humaneval"}}};
  spec.form = FitForm::Log;
  EXPECT_NE(error_of(d, spec).find("zero"), std::string::npos);
}

}  // namespace
}  // namespace lmzip::stats

namespace lmzip::stats {
namespace {

// Six models on the line score = 1 - BPC, so r = -1 and the plain bootstrap interval is [-1, -1].
Dataset exact_line(double se) {
  Dataset d;
  d.name = "line";
  for (int i = 0; i < 6; ++i) {
    const double x = 0.5 + 0.1 * i;
    d.add_bpc("m" + std::to_string(i), "cc", x, se);
    d.add_score("m" + std::to_string(i), "s", 1 - x);
  }
  return d;
}

TEST(FitPropagation, ZeroStandardErrorsGiveThePlainBootstrapExactly) {
  FitSpec spec{.corpora = {"cc"}, .y_groups = {{"s"}}, .bootstrap_resamples = 500};
  spec.propagate_bpc_se = true;
  Dataset d = exact_line(0.0);
  d.add_score("m0", "s", 0.52);  // off the line, so the intervals are not degenerate
  const FitReport r = run_fit(d, spec);
  ASSERT_TRUE(r.propagated_ci.has_value());
  EXPECT_EQ(r.propagated_ci->low, r.bootstrap_ci.low);
  EXPECT_EQ(r.propagated_ci->high, r.bootstrap_ci.high);
  EXPECT_EQ(r.propagated_used, r.bootstrap_used);
}

TEST(FitPropagation, StandardErrorsWidenTheIntervalAndAreSeeded) {
  FitSpec spec{.corpora = {"cc"}, .y_groups = {{"s"}}, .bootstrap_resamples = 500};
  spec.propagate_bpc_se = true;
  const FitReport exact = run_fit(exact_line(0.0), spec);
  EXPECT_DOUBLE_EQ(exact.propagated_ci->high, -1.0);
  const FitReport small = run_fit(exact_line(0.01), spec);
  const FitReport large = run_fit(exact_line(0.1), spec);
  EXPECT_EQ(small.pearson_r, exact.pearson_r);  // the point estimate ignores the errors
  EXPECT_GT(small.propagated_ci->high, -1.0);
  EXPECT_LT(small.propagated_ci->high, -0.95);  // SE 0.01 against a BPC spread of 0.5: r stays near -1
  // Larger errors: a wider interval, pulled towards 0 (noise in X attenuates r).
  EXPECT_GT(large.propagated_ci->high - large.propagated_ci->low, small.propagated_ci->high - small.propagated_ci->low);
  EXPECT_GT(large.propagated_ci->high, small.propagated_ci->high);
  const FitReport again = run_fit(exact_line(0.1), spec);
  EXPECT_EQ(again.propagated_ci->low, large.propagated_ci->low);  // seeded: the same draws
  // The mean over corpora carries sqrt(sum se^2) / k.
  Dataset two = exact_line(0.03);
  for (int i = 0; i < 6; ++i) two.add_bpc("m" + std::to_string(i), "py", 0.5 + 0.1 * i, 0.04);
  spec.corpora = {"cc", "py"};
  EXPECT_NEAR(run_fit(two, spec).points[0].x_se, 0.025, 1e-15);  // sqrt(0.03^2 + 0.04^2) / 2
}

TEST(FitPropagation, AModelWithoutAStandardErrorIsNamed) {
  FitSpec spec{.corpora = {"cc"}, .y_groups = {{"s"}}, .bootstrap_resamples = 50};
  spec.propagate_bpc_se = true;
  Dataset d = exact_line(0.01);
  d.add_bpc("m3", "cc", 0.8);  // a later run without one replaces it
  const std::string e = error_of(d, spec);
  EXPECT_NE(e.find("m3"), std::string::npos) << e;
  EXPECT_NE(e.find("standard error"), std::string::npos) << e;
}

}  // namespace
}  // namespace lmzip::stats

// Correlation and least squares on paired samples (x[i], y[i]). The primitives the fit report is built from;
// each takes plain vectors of equal length and throws lmzip::Error on input a statistic is undefined for
// (too few points, a constant variable), so that no caller ever prints NaN.
#pragma once

#include <cstdint>
#include <vector>

namespace lmzip::stats {

// Pearson's r. Needs n >= 2 and neither x nor y constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Ranks 1..n, ties get the mean of their positions (as scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& v);

// Spearman's rho: Pearson's r of the average ranks.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// Kendall's tau-b (tie-corrected, as scipy.stats.kendalltau's default). O(n^2): n is a count of models.
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

struct Interval {
  double low = 0, high = 0;
};

// 95%-style confidence interval of r by Fisher's z transform: tanh(atanh(r) +- z_{(1+level)/2} / sqrt(n-3)).
// Needs n >= 4; |r| = 1 gives the degenerate interval [r, r].
Interval fisher_interval(double r, int n, double level = 0.95);

// Percentile bootstrap interval of Pearson's r: `resamples` draws of n pairs with replacement from a fixed-seed
// generator (so the same input always gives the same interval). Draws where x or y is constant have no r and
// are skipped; `used` (when given) receives how many draws counted. Needs n >= 3.
Interval bootstrap_pearson_interval(const std::vector<double>& x, const std::vector<double>& y, int resamples,
                                    uint64_t seed, double level = 0.95, int* used = nullptr);

// The same with measurement error in x (docs/FIT.md, "Propagating BPC uncertainty"): each draw resamples n pairs
// with replacement and replaces each drawn x[k] by x[k] + x_se[k]·z, z standard normal (Box-Muller on the same
// generator; no z is drawn where x_se[k] is 0, so all-zero errors give bootstrap_pearson_interval exactly), then
// applies `transform` (nullptr: identity; a draw where it returns NaN is skipped, e.g. ln of a BPC <= 0).
Interval bootstrap_pearson_interval_xerr(const std::vector<double>& x, const std::vector<double>& y,
                                         const std::vector<double>& x_se, int resamples, uint64_t seed,
                                         double level = 0.95, double (*transform)(double) = nullptr,
                                         int* used = nullptr);

// Least squares y = intercept + slope * x.
struct LineFit {
  double slope = 0, intercept = 0;
  double r2 = 0;          // coefficient of determination
  double rmse = 0;        // sqrt(SSE / n): the study's e when y is a fraction
  double sigma = 0;       // sqrt(SSE / (n - 2)): residual standard error (0 when n == 2)
  double mean_x = 0, sxx = 0;  // for prediction intervals
  int n = 0;
};
LineFit least_squares(const std::vector<double>& x, const std::vector<double>& y);

// Leave-one-out prediction RMSE: each point predicted by the line fitted to the other n-1. Needs n >= 3 and x
// that stays non-constant without any one point.
double leave_one_out_rmse(const std::vector<double>& x, const std::vector<double>& y);

// Prediction at x0 with its two-sided prediction interval for a new observation (t with n-2 df). Needs n >= 3.
struct Prediction {
  double x = 0, y = 0;
  Interval interval;
  double level = 0.95;
};
Prediction predict(const LineFit& fit, double x0, double level = 0.95);

}  // namespace lmzip::stats

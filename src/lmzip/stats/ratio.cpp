#include "lmzip/stats/ratio.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lmzip/core/error.h"
#include "lmzip/stats/resample.h"

namespace lmzip::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double a : v) s += a;
  return s;
}

}  // namespace

double ratio_of_sums(const std::vector<double>& y, const std::vector<double>& x) {
  LMZIP_CHECK(x.size() == y.size(), "ratio: y and x differ in length");
  double sx = sum(x);
  return sx != 0 ? sum(y) / sx : kNaN;
}

double ratio_stderr(const std::vector<double>& y, const std::vector<double>& x) {
  LMZIP_CHECK(x.size() == y.size(), "ratio: y and x differ in length");
  const size_t n = x.size();
  const double sx = sum(x);
  if (n < 2 || sx == 0) return kNaN;
  const double r = sum(y) / sx;
  double ss = 0;  // Σ d_i², d_i = y_i − R·x_i (the linearized residuals; Σ d_i = 0)
  for (size_t i = 0; i < n; ++i) {
    double d = y[i] - r * x[i];
    ss += d * d;
  }
  return std::sqrt(double(n) / double(n - 1) * ss) / sx;
}

Interval bootstrap_ratio_interval(const std::vector<double>& y, const std::vector<double>& x, int resamples,
                                  uint64_t seed, double level, int* used) {
  LMZIP_CHECK(x.size() == y.size(), "ratio: y and x differ in length");
  LMZIP_CHECK(level > 0 && level < 1, "bootstrap level must be in (0, 1)");
  if (used) *used = 0;
  const size_t n = x.size();
  if (n < 2 || resamples < 1) return {kNaN, kNaN};
  SplitMix64 rng{seed};
  std::vector<double> rs;
  rs.reserve(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    double sy = 0, sx = 0;
    for (size_t i = 0; i < n; ++i) {
      size_t k = rng.below(n);
      sy += y[k];
      sx += x[k];
    }
    if (sx != 0) rs.push_back(sy / sx);
  }
  if (used) *used = static_cast<int>(rs.size());
  if (rs.empty()) return {kNaN, kNaN};
  std::sort(rs.begin(), rs.end());
  return {quantile_sorted(rs, 0.5 - level / 2), quantile_sorted(rs, 0.5 + level / 2)};
}

}  // namespace lmzip::stats

#include "lmzip/stats/correlation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "lmzip/core/error.h"
#include "lmzip/stats/distributions.h"
#include "lmzip/stats/resample.h"

namespace lmzip::stats {
namespace {

void require_pairs(const std::vector<double>& x, const std::vector<double>& y, size_t min_n, const char* what) {
  LMZIP_CHECK(x.size() == y.size(), "x and y differ in length");
  if (x.size() < min_n) {
    throw Error(std::string(what) + " needs at least " + std::to_string(min_n) + " points, got " +
                std::to_string(x.size()));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      throw Error(std::string(what) + ": point " + std::to_string(i + 1) + " is not a finite number");
    }
  }
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

// Centered sums of squares and products (two-pass: accurate for BPC-like values with a large common offset).
struct Moments {
  double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
};
Moments moments(const std::vector<double>& x, const std::vector<double>& y) {
  Moments m;
  m.mx = mean(x);
  m.my = mean(y);
  for (size_t i = 0; i < x.size(); ++i) {
    double dx = x[i] - m.mx, dy = y[i] - m.my;
    m.sxx += dx * dx;
    m.syy += dy * dy;
    m.sxy += dx * dy;
  }
  return m;
}

// A variable whose spread is at rounding level of its magnitude is constant for our purposes.
bool is_constant(double ss, double mean_value, size_t n) {
  double scale = std::max(1.0, std::fabs(mean_value));
  return !(ss > 1e-24 * scale * scale * static_cast<double>(n));
}

}  // namespace

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  require_pairs(x, y, 2, "Pearson correlation");
  Moments m = moments(x, y);
  if (is_constant(m.sxx, m.mx, x.size())) throw Error("Pearson correlation: x (BPC) is constant over all points");
  if (is_constant(m.syy, m.my, y.size())) throw Error("Pearson correlation: y (score) is constant over all points");
  return std::clamp(m.sxy / std::sqrt(m.sxx * m.syy), -1.0, 1.0);
}

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double rank = 0.5 * (i + j) + 1;  // mean of positions i..j, 1-based
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  require_pairs(x, y, 2, "Spearman correlation");
  return pearson(average_ranks(x), average_ranks(y));
}

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  require_pairs(x, y, 2, "Kendall correlation");
  double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = i + 1; j < x.size(); ++j) {
      double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;  // tied in both: counts in neither denominator term
      if (dx == 0) { ties_x += 1; continue; }
      if (dy == 0) { ties_y += 1; continue; }
      (dx * dy > 0 ? concordant : discordant) += 1;
    }
  }
  double denom = std::sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
  if (denom == 0) throw Error("Kendall correlation: x or y is constant over all points");
  return (concordant - discordant) / denom;
}

Interval fisher_interval(double r, int n, double level) {
  if (n < 4) throw Error("Fisher confidence interval needs at least 4 points, got " + std::to_string(n));
  if (std::fabs(r) >= 1) return {r, r};
  double z = std::atanh(r), half = normal_quantile(0.5 + level / 2) / std::sqrt(n - 3.0);
  return {std::tanh(z - half), std::tanh(z + half)};
}

Interval bootstrap_pearson_interval(const std::vector<double>& x, const std::vector<double>& y, int resamples,
                                    uint64_t seed, double level, int* used) {
  require_pairs(x, y, 3, "bootstrap interval");
  if (resamples < 1) throw Error("bootstrap: the number of resamples must be positive");
  SplitMix64 rng{seed};
  std::vector<double> rs, bx(x.size()), by(x.size());
  rs.reserve(resamples);
  for (int b = 0; b < resamples; ++b) {
    for (size_t i = 0; i < x.size(); ++i) {
      size_t k = rng.below(x.size());
      bx[i] = x[k];
      by[i] = y[k];
    }
    Moments m = moments(bx, by);
    if (is_constant(m.sxx, m.mx, bx.size()) || is_constant(m.syy, m.my, by.size())) continue;
    rs.push_back(std::clamp(m.sxy / std::sqrt(m.sxx * m.syy), -1.0, 1.0));
  }
  if (used) *used = static_cast<int>(rs.size());
  if (rs.empty()) throw Error("bootstrap: every resample had a constant variable (too few distinct points)");
  std::sort(rs.begin(), rs.end());
  return {quantile_sorted(rs, 0.5 - level / 2), quantile_sorted(rs, 0.5 + level / 2)};
}

Interval bootstrap_pearson_interval_xerr(const std::vector<double>& x, const std::vector<double>& y,
                                         const std::vector<double>& x_se, int resamples, uint64_t seed,
                                         double level, double (*transform)(double), int* used) {
  require_pairs(x, y, 3, "bootstrap interval");
  if (x_se.size() != x.size()) throw Error("bootstrap: one standard error per point is needed");
  if (resamples < 1) throw Error("bootstrap: the number of resamples must be positive");
  SplitMix64 rng{seed};
  auto unit = [&rng] { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; };  // [0, 1)
  std::vector<double> rs, bx(x.size()), by(x.size());
  rs.reserve(resamples);
  for (int b = 0; b < resamples; ++b) {
    bool valid = true;
    for (size_t i = 0; i < x.size(); ++i) {
      size_t k = rng.below(x.size());
      double xv = x[k];
      if (x_se[k] > 0) {
        const double u1 = 1.0 - unit(), u2 = unit();  // u1 in (0, 1]
        xv += x_se[k] * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      }
      bx[i] = transform ? transform(xv) : xv;
      by[i] = y[k];
      if (std::isnan(bx[i])) valid = false;
    }
    if (!valid) continue;
    Moments m = moments(bx, by);
    if (is_constant(m.sxx, m.mx, bx.size()) || is_constant(m.syy, m.my, by.size())) continue;
    rs.push_back(std::clamp(m.sxy / std::sqrt(m.sxx * m.syy), -1.0, 1.0));
  }
  if (used) *used = static_cast<int>(rs.size());
  if (rs.empty()) throw Error("bootstrap: every resample had a constant variable (too few distinct points)");
  std::sort(rs.begin(), rs.end());
  return {quantile_sorted(rs, 0.5 - level / 2), quantile_sorted(rs, 0.5 + level / 2)};
}

LineFit least_squares(const std::vector<double>& x, const std::vector<double>& y) {
  require_pairs(x, y, 2, "least squares fit");
  Moments m = moments(x, y);
  if (is_constant(m.sxx, m.mx, x.size())) throw Error("least squares fit: x (BPC) is constant over all points");
  LineFit f;
  f.n = static_cast<int>(x.size());
  f.slope = m.sxy / m.sxx;
  f.intercept = m.my - f.slope * m.mx;
  f.mean_x = m.mx;
  f.sxx = m.sxx;
  double sse = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double e = y[i] - (f.intercept + f.slope * x[i]);
    sse += e * e;
  }
  f.r2 = m.syy > 0 ? std::max(0.0, 1 - sse / m.syy) : 0;
  f.rmse = std::sqrt(sse / f.n);
  f.sigma = f.n > 2 ? std::sqrt(sse / (f.n - 2)) : 0;
  return f;
}

double leave_one_out_rmse(const std::vector<double>& x, const std::vector<double>& y) {
  require_pairs(x, y, 3, "leave-one-out RMSE");
  double sum_sq = 0;
  std::vector<double> rx, ry;
  for (size_t i = 0; i < x.size(); ++i) {
    rx.clear();
    ry.clear();
    for (size_t j = 0; j < x.size(); ++j) {
      if (j == i) continue;
      rx.push_back(x[j]);
      ry.push_back(y[j]);
    }
    LineFit f = least_squares(rx, ry);
    double e = y[i] - (f.intercept + f.slope * x[i]);
    sum_sq += e * e;
  }
  return std::sqrt(sum_sq / x.size());
}

Prediction predict(const LineFit& fit, double x0, double level) {
  if (fit.n < 3) throw Error("a prediction interval needs at least 3 points, got " + std::to_string(fit.n));
  if (!std::isfinite(x0)) throw Error("prediction: the BPC value is not a finite number");
  Prediction p;
  p.x = x0;
  p.level = level;
  p.y = fit.intercept + fit.slope * x0;
  double dx = x0 - fit.mean_x;
  double se = fit.sigma * std::sqrt(1 + 1.0 / fit.n + dx * dx / fit.sxx);
  double half = student_t_quantile(0.5 + level / 2, fit.n - 2) * se;
  p.interval = {p.y - half, p.y + half};
  return p;
}

}  // namespace lmzip::stats

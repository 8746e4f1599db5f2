// A ratio of sums over units, R = Σy / Σx (BPC: y = bits, x = characters, one unit per document), with its
// uncertainty when the units are a sample: the ratio estimator's standard error (the delta method) and a seeded
// percentile bootstrap interval over units. Both are NaN where they are undefined (fewer than 2 units, Σx = 0),
// so a caller prints "n/a" or JSON null instead of a number that means nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "lmzip/stats/correlation.h"

namespace lmzip::stats {

// Σy / Σx (NaN when Σx = 0).
double ratio_of_sums(const std::vector<double>& y, const std::vector<double>& x);

// sqrt(n / (n − 1) · Σ (y_i − R·x_i)²) / Σx: the standard error of R by the delta method (the linearized ratio
// estimator of survey sampling, with the n − 1 correction). NaN when n < 2 or Σx = 0.
double ratio_stderr(const std::vector<double>& y, const std::vector<double>& x);

// Percentile bootstrap interval of R: `resamples` draws of n units with replacement (SplitMix64 from `seed`, so
// the same input and seed always give the same interval, and every ratio over the same units sees the same
// draws), the (1 ± level)/2 quantiles of the draws' R (numpy's "linear" quantile). Draws with Σx = 0 have no R
// and are skipped; `used` (when given) receives how many counted. {NaN, NaN} when n < 2 or no draw counted.
Interval bootstrap_ratio_interval(const std::vector<double>& y, const std::vector<double>& x, int resamples,
                                  uint64_t seed, double level = 0.95, int* used = nullptr);

}  // namespace lmzip::stats

#include "lmzip/score/min_k.h"

#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip {

double min_k_pp_token(std::span<const float> z, TokenId target) {
  LMZIP_CHECK(!z.empty() && target >= 0 && static_cast<size_t>(target) < z.size(), "min_k_pp_token: bad row");
  const double zmax = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (float v : z) sum += std::exp(static_cast<double>(v) - zmax);
  const double log_norm = zmax + std::log(sum);
  double mu = 0, m2 = 0;
  for (float v : z) {
    const double lp = static_cast<double>(v) - log_norm;
    const double p = std::exp(lp);
    mu += p * lp;
    m2 += p * lp * lp;
  }
  const double var = m2 - mu * mu;
  // Rounding leaves ~1e-17 of variance in a flat distribution: below this it is taken as none.
  if (!(var > 1e-12 * std::max(1.0, mu * mu))) return 0;
  return (static_cast<double>(z[static_cast<size_t>(target)]) - log_norm - mu) / std::sqrt(var);
}

double min_k_pp(std::vector<double> s, double k) {
  if (s.empty()) return 0;
  const size_t take =
      std::clamp<size_t>(static_cast<size_t>(std::ceil(k * static_cast<double>(s.size()))), 1, s.size());
  std::partial_sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(take), s.end());
  double sum = 0;
  for (size_t i = 0; i < take; ++i) sum += s[i];
  return sum / static_cast<double>(take);
}

}  // namespace lmzip

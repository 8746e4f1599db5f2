#include "lmzip/score/uncertainty.h"

#include <cmath>

#include "lmzip/stats/ratio.h"

namespace lmzip {
namespace {

// A rate = scale · Σy/Σx with its standard error and interval.
RateUncertainty rate(const std::vector<double>& y, const std::vector<double>& x, double scale,
                     const UncertaintyOptions& o, int* used) {
  RateUncertainty r;
  r.value = scale * stats::ratio_of_sums(y, x);
  r.se = scale * stats::ratio_stderr(y, x);
  stats::Interval ci = stats::bootstrap_ratio_interval(y, x, o.resamples, o.seed, o.level, used);
  r.ci = {scale * ci.low, scale * ci.high};
  return r;
}

}  // namespace

BpcUncertainty estimate_uncertainty(const std::vector<DocScore>& docs, const UncertaintyOptions& o) {
  std::vector<double> nats, chars, bytes, tokens;
  for (const DocScore& d : docs) {
    nats.push_back(d.nats);
    chars.push_back(double(d.chars));
    bytes.push_back(double(d.bytes));
    tokens.push_back(double(d.scored_tokens));
  }
  const double bits = 1 / std::log(2.0);
  BpcUncertainty u;
  u.units = docs.size();
  u.seed = o.seed;
  u.level = o.level;
  // The same seed and number of documents give the same draws for every rate.
  u.bpc = rate(nats, chars, bits, o, &u.resamples);
  u.bpb = rate(nats, bytes, bits, o, nullptr);
  u.compression_rate = rate(nats, bytes, bits / 8 * 100, o, nullptr);
  u.bits_per_token = rate(nats, tokens, bits, o, nullptr);
  RateUncertainty nats_per_token = rate(nats, tokens, 1, o, nullptr);
  u.ppl.value = std::exp(nats_per_token.value);
  u.ppl.se = u.ppl.value * nats_per_token.se;
  u.ppl.ci = {std::exp(nats_per_token.ci.low), std::exp(nats_per_token.ci.high)};
  return u;
}

}  // namespace lmzip

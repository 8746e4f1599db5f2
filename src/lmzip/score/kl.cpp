// KL divergence per position and its summary (llama.cpp perplexity.cpp's kl-divergence statistics).
#include "lmzip/score/kl.h"

#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

struct LogSoftmax {
  double log_norm;  // max + ln sum exp(z - max): ln P(v) = z[v] - log_norm
  size_t argmax;    // lowest id among the maxima
};

LogSoftmax log_softmax(std::span<const float> z) {
  size_t argmax = 0;
  for (size_t v = 1; v < z.size(); ++v) {
    if (z[v] > z[argmax]) argmax = v;
  }
  const double zmax = z[argmax];
  double sum = 0;
  for (float x : z) sum += std::exp(static_cast<double>(x) - zmax);
  return {zmax + std::log(sum), argmax};
}

}  // namespace

KlPosition kl_position(std::span<const float> ref_logits, std::span<const float> model_logits, TokenId target) {
  LMZIP_CHECK(ref_logits.size() == model_logits.size() && !ref_logits.empty(), "kl_position: rows of unequal size");
  LMZIP_CHECK(target >= 0 && static_cast<size_t>(target) < ref_logits.size(), "kl_position: target outside the row");
  const LogSoftmax r = log_softmax(ref_logits), m = log_softmax(model_logits);
  double kl = 0;
  for (size_t v = 0; v < ref_logits.size(); ++v) {
    const double lp_ref = ref_logits[v] - r.log_norm;
    const double lp_model = model_logits[v] - m.log_norm;
    kl += std::exp(lp_ref) * (lp_ref - lp_model);
  }
  const auto t = static_cast<size_t>(target);
  return {.kl = kl,
          .nll_ref = r.log_norm - ref_logits[t],
          .nll_model = m.log_norm - model_logits[t],
          .same_top = r.argmax == m.argmax};
}

void KlAccumulator::add(const KlPosition& p) {
  kl_.push_back(p.kl);
  sum_ += p.kl;
  sum2_ += p.kl * p.kl;
  nats_ref_ += p.nll_ref;
  nats_model_ += p.nll_model;
  same_top_ += p.same_top ? 1 : 0;
}

double sorted_percentile(std::span<const double> sorted, double fraction) {
  LMZIP_CHECK(!sorted.empty(), "sorted_percentile: no values");
  if (fraction <= 0) return sorted.front();
  if (fraction >= 1) return sorted.back();
  const double at = fraction * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<size_t>(at);
  const double f = at - static_cast<double>(i);
  return (1 - f) * sorted[i] + f * sorted[std::min(i + 1, sorted.size() - 1)];
}

KlSummary KlAccumulator::summary() const {
  KlSummary s;
  s.positions = kl_.size();
  if (kl_.empty()) return s;
  const double n = static_cast<double>(kl_.size());
  s.mean = sum_ / n;
  const double var = sum2_ / n - s.mean * s.mean;
  s.stderr_mean = kl_.size() > 1 && var > 0 ? std::sqrt(var / (n - 1)) : 0;
  std::vector<double> sorted = kl_;
  std::sort(sorted.begin(), sorted.end());
  // The median as llama.cpp prints it: the middle value, or the mean of the two middle ones.
  const size_t k = sorted.size();
  s.median = k % 2 == 0 ? 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]) : sorted[k / 2];
  s.p90 = sorted_percentile(sorted, 0.90);
  s.p99 = sorted_percentile(sorted, 0.99);
  s.max = sorted.back();
  s.min = sorted.front();
  s.top1_agreement = 100.0 * static_cast<double>(same_top_) / n;
  s.nats_ref = nats_ref_;
  s.nats_model = nats_model_;
  return s;
}

}  // namespace lmzip

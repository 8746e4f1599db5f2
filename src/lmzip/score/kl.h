// KL divergence of a model's next-token distributions from a reference model's on the same tokens (llama.cpp
// perplexity's --kl-divergence; docs/PROTOCOLS.md, "KL divergence against a reference model").
//
// Per scored position: KL(P_ref || P_model) = sum_v P_ref(v) (ln P_ref(v) - ln P_model(v)) over the whole
// vocabulary, from both models' logits by a log-softmax in double (no truncation of small probabilities), with
// both targets' NLLs and whether the two argmaxes agree. The accumulator keeps one double per position (for the
// percentiles) and the sums; nothing here holds more than one row of logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct KlPosition {
  double kl = 0;         // nats
  double nll_ref = 0;    // -ln P_ref(target)
  double nll_model = 0;  // -ln P_model(target)
  bool same_top = false; // argmax P_ref == argmax P_model (ties: the lowest id)
};

// One position from the two rows of logits (same size, the vocabulary) and the target token.
KlPosition kl_position(std::span<const float> ref_logits, std::span<const float> model_logits, TokenId target);

struct KlSummary {
  uint64_t positions = 0;
  double mean = 0, stderr_mean = 0;  // stderr: sqrt((E[kl^2] - mean^2) / (n - 1)) as llama.cpp (0 for n < 2)
  double median = 0, p90 = 0, p99 = 0, max = 0, min = 0;  // llama.cpp's percentiles (linear interpolation)
  double top1_agreement = 0;  // percent of positions whose argmaxes agree
  double nats_ref = 0, nats_model = 0;  // sums of the targets' NLLs
};

class KlAccumulator {
 public:
  void add(const KlPosition& p);
  KlSummary summary() const;  // all zeros when empty

 private:
  std::vector<double> kl_;
  double sum_ = 0, sum2_ = 0, nats_ref_ = 0, nats_model_ = 0;
  uint64_t same_top_ = 0;
};

// llama.cpp's percentile of sorted values: linear interpolation at fraction·(n-1); the first/last value at the
// ends. `sorted` non-empty.
double sorted_percentile(std::span<const double> sorted, double fraction);

}  // namespace lmzip

// Min-K%++ (Zhang et al. 2024, "Min-K%++: Improved Baseline for Detecting Pre-Training Data from Large Language
// Models", arXiv 2404.02936; its reference code computes mu = sum p·log p, sigma^2 = sum p·(log p)^2 - mu^2 over
// the vocabulary): each token's log-probability standardized by the model's own next-token distribution, and a
// document's score the mean of its k% lowest token scores. Higher: the text looks more like what the model was
// trained on. Min-K% itself (Shi et al. 2023) is eval::min_k_prob over the same tokens' NLLs.
#pragma once

#include <span>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// (ln p(target) - mu) / sigma from one row of logits (log-softmax in double); 0 when sigma is 0 (a flat or
// one-hot distribution: sigma^2 below 1e-12·max(1, mu^2)), which leaves such positions neutral.
double min_k_pp_token(std::span<const float> logits, TokenId target);

// The mean of the ceil(k·n) lowest token scores (at least one); 0 for no tokens. k in (0, 1].
double min_k_pp(std::vector<double> token_scores, double k);

}  // namespace lmzip

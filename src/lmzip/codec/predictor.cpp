#include "lmzip/codec/predictor.h"

#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip::codec {

void TokenPredictor::logits_for(std::span<const TokenId> tokens,
                                const std::function<void(size_t, const std::vector<float>&)>& on_logits) {
  std::vector<float> logits;
  for (size_t i = 0; i < tokens.size(); ++i) {
    next_logits(logits);
    on_logits(i, logits);
    accept(tokens[i]);
  }
}

CountPredictor::CountPredictor(size_t vocab_size, std::optional<TokenId> bos) : vocab_(vocab_size), bos_(bos) {
  LMZIP_CHECK(vocab_size >= 1, "empty vocabulary");
  reset();
}

void CountPredictor::reset() {
  order0_.assign(vocab_, 0);
  order1_.assign(vocab_, {});
  prev_ = -1;
  if (bos_) prev_ = *bos_;
}

void CountPredictor::next_logits(std::vector<float>& logits) {
  // p(x) ∝ 1 + 4 * order0[x] + 64 * order1[prev][x]: a crude blend that still learns repetitions fast.
  logits.resize(vocab_);
  for (size_t i = 0; i < vocab_; ++i) logits[i] = 1.0f + 4.0f * static_cast<float>(order0_[i]);
  if (prev_ >= 0) {
    for (const auto& [next, count] : order1_[static_cast<size_t>(prev_)]) {
      logits[static_cast<size_t>(next)] += 64.0f * static_cast<float>(count);
    }
  }
  for (float& x : logits) x = std::log(x);
}

void CountPredictor::accept(TokenId token) {
  LMZIP_CHECK(token >= 0 && static_cast<size_t>(token) < vocab_, "token out of range");
  ++order0_[static_cast<size_t>(token)];
  if (prev_ >= 0) {
    auto& row = order1_[static_cast<size_t>(prev_)];
    bool found = false;
    for (auto& [next, count] : row) {
      if (next == token) ++count, found = true;
    }
    if (!found) row.emplace_back(token, 1);
  }
  prev_ = token;
}

}  // namespace lmzip::codec

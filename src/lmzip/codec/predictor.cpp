#include "lmzip/codec/predictor.h"

#include <bit>

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
  // The log is an integer log2 with 4 fraction bits times one float constant: no libm, so test vectors
  // (tests/codec/golden) are the same on every machine and build.
  counts_.resize(vocab_);
  for (size_t i = 0; i < vocab_; ++i) counts_[i] = 1 + 4 * uint64_t{order0_[i]};
  if (prev_ >= 0) {
    for (const auto& [next, count] : order1_[static_cast<size_t>(prev_)]) {
      counts_[static_cast<size_t>(next)] += 64 * uint64_t{count};
    }
  }
  logits.resize(vocab_);
  for (size_t i = 0; i < vocab_; ++i) {
    uint64_t w = counts_[i];
    int k = std::bit_width(w) - 1;
    uint64_t frac = ((w << 4) >> k) & 15;  // the 4 bits after the leading one
    logits[i] = static_cast<float>(16 * k + static_cast<int>(frac)) * 0.04332169878f;  // ln(2) / 16
  }
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

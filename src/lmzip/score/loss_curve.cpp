#include "lmzip/score/loss_curve.h"

#include "lmzip/core/error.h"

namespace lmzip {

LossCurve::LossCurve(const ScoringPlan& plan, const Tokenizer& tokenizer) : plan_(&plan) {
  const auto& tokens = plan.stream.tokens;
  const auto& doc_of = plan.stream.doc_of;
  bytes_of_.resize(tokens.size());
  byte_offset_.resize(tokens.size());
  pending_.assign(plan.docs.size(), 0.0);
  uint64_t offset = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i == 0 || doc_of[i] != doc_of[i - 1]) offset = 0;
    const TokenId id = tokens[i];
    bytes_of_[i] = static_cast<uint32_t>(tokenizer.decode(std::span<const TokenId>(&id, 1), true).size());
    byte_offset_[i] = offset;
    offset += bytes_of_[i];
  }
}

void LossCurve::add_window(size_t window, std::span<const double> nats) {
  const Window& w = plan_->windows.at(window);
  LMZIP_CHECK(nats.size() == w.n_scored, "LossCurve: nats of another window");
  for (size_t k = 0; k < nats.size(); ++k) {
    const size_t position = w.first_scored + k;
    if (token_.size() <= position) token_.resize(position + 1);
    token_[position].sum += nats[k];
    token_[position].count += 1;
    const size_t target = w.begin + position + 1;  // stream index of the predicted token
    const uint32_t doc = plan_->stream.doc_of[target];
    const uint32_t n = bytes_of_[target];
    if (n == 0) {
      pending_[doc] += nats[k];
      continue;
    }
    const double per_byte = (nats[k] + pending_[doc]) / n;
    pending_[doc] = 0;
    const uint64_t first = byte_offset_[target];
    if (byte_.size() < first + n) byte_.resize(first + n);
    for (uint64_t b = first; b < first + n; ++b) {
      byte_[b].sum += per_byte;
      byte_[b].count += 1;
    }
  }
}

std::vector<CurvePoint> LossCurve::by_byte_position() const {
  size_t end = 0;
  while (end < byte_.size() && byte_[end].count > 0) ++end;
  return {byte_.begin(), byte_.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace lmzip

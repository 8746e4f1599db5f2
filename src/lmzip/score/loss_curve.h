// Mean loss by position (lmzip bpc --loss-curve): by the scored output's position in its window, and by byte
// position in the document (Uncheatable Eval's byte-wise curve, evaluator.py `track_byte_wise_data`: each
// token's loss spread evenly over its bytes; a token with no bytes passes its loss on to the document's next
// token that has bytes). docs/PROTOCOLS.md, "Loss curves".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lmzip/score/bpc.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct CurvePoint {
  double sum = 0;      // nats
  uint64_t count = 0;  // targets (token curve) or documents' bytes (byte curve) at this position
  double mean() const { return count ? sum / double(count) : 0.0; }
};

class LossCurve {
 public:
  // The bytes each stream token stands for (special tokens: none) come from the tokenizer's decode.
  LossCurve(const ScoringPlan& plan, const Tokenizer& tokenizer);
  // The nats of window `window`'s targets, in order (RunOptions::on_window).
  void add_window(size_t window, std::span<const double> nats);

  const std::vector<CurvePoint>& by_token_position() const { return token_; }
  // Uncheatable Eval's cut: the positions before the first one no scored byte reaches.
  std::vector<CurvePoint> by_byte_position() const;

 private:
  const ScoringPlan* plan_;
  std::vector<uint32_t> bytes_of_;       // per stream token
  std::vector<uint64_t> byte_offset_;    // per stream token: bytes of its document before it
  std::vector<double> pending_;          // per document: loss of byte-less tokens not yet spread
  std::vector<CurvePoint> token_, byte_;
};

}  // namespace lmzip

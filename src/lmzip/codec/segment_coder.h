// One segment's payload (docs/FORMAT.md, "Segment payload grammar"): span headers, model-coded tokens and
// raw bytes in one range-coded stream. Encoder and decoder walk the same grammar in the same order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lmzip/codec/plan.h"
#include "lmzip/codec/predictor.h"

namespace lmzip::codec {

struct SegmentStats {
  uint64_t tokens = 0;
  uint64_t raw_bytes = 0;
  double model_bits = 0;  // the model's cross-entropy on the coded tokens, -log2 softmax (double)
  double freq_bits = 0;   // the same tokens under the integer frequency tables actually coded
  double raw_bits = 0;    // the raw bytes under the adaptive byte model
};

// Codes the segment `bytes` laid out by `plan` (spans relative to `bytes`). `predictor` is reset first.
std::string encode_segment(std::string_view bytes, const SegmentPlan& plan, TokenPredictor& predictor,
                           SegmentStats* stats);

// What the decoder knows about a segment from the segment table.
struct SegmentLimits {
  uint32_t original_bytes = 0;
  uint32_t token_count = 0;
};

// Decodes one payload. Throws lmzip::Error (without file/segment; the caller adds them) when the payload breaks
// the grammar or the limits; the caller checks the segment checksum.
std::string decode_segment(std::string_view payload, const SegmentLimits& limits, TokenPredictor& predictor,
                           const Tokenizer& tokenizer);

// The adaptive order-0 byte model of raw spans (state persists across the raw spans of a segment).
class RawByteModel {
 public:
  RawByteModel();
  uint32_t cum(uint8_t b) const;
  uint32_t freq(uint8_t b) const { return counts_[b]; }
  uint32_t total() const { return total_; }
  uint8_t find(uint32_t target) const;
  void update(uint8_t b);

 private:
  uint32_t counts_[256];
  uint32_t total_ = 256;
};

}  // namespace lmzip::codec

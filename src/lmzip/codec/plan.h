// Segmentation (encoder side only; the decoder just follows the spans in each payload).
//
// The input is cut into segments of at most `segment_tokens` model tokens, each coded independently (fresh
// context), so segments compress and decompress in parallel and damage stays local. Inside a segment, text that
// the tokenizer round-trips exactly becomes text spans (model-coded tokens); everything else (invalid UTF-8,
// binary, text the tokenizer normalizes) becomes raw spans, so every input round-trips.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip::codec {

struct Span {
  bool raw = false;
  uint64_t begin = 0, end = 0;   // bytes, relative to the segment start
  std::vector<TokenId> tokens;   // text spans: decode(tokens) == the span's bytes (verified)
};

struct SegmentPlan {
  uint64_t offset = 0, size = 0;  // bytes of the input
  std::vector<Span> spans;
  uint32_t token_count = 0;
};

struct PlanOptions {
  uint32_t segment_tokens = 1024;
  uint32_t max_segment_bytes = 1u << 20;  // bounds raw-only segments (binary input)
  uint32_t min_text_run = 8;              // shorter valid-UTF-8 runs between invalid bytes are coded raw
};

// The spans of one piece of input (no token budget applied).
std::vector<Span> analyze_spans(std::string_view bytes, const Tokenizer& tokenizer, const PlanOptions& options);

// Cuts the whole input into segments, each within the token budget and max_segment_bytes.
std::vector<SegmentPlan> plan_segments(std::string_view input, const Tokenizer& tokenizer,
                                       const PlanOptions& options);

// Length of the valid UTF-8 sequence starting at bytes[0] (1..4), or 0 when it is not valid (overlong, surrogate,
// beyond U+10FFFF, truncated, or a stray continuation byte).
size_t utf8_sequence_length(std::string_view bytes);

}  // namespace lmzip::codec

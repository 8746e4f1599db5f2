#include "lmzip/codec/plan.h"

#include <algorithm>

#include "lmzip/core/error.h"

namespace lmzip::codec {
namespace {

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Tokens for `text` when the tokenizer reproduces it exactly, else nothing.
std::optional<std::vector<TokenId>> round_trip(std::string_view text, const Tokenizer& tokenizer) {
  std::vector<TokenId> tokens = tokenizer.encode(text, {.add_special = false, .parse_special = false});
  if (tokens.empty() || tokenizer.decode(tokens) != text) return std::nullopt;
  return tokens;
}

void add_raw(std::vector<Span>& spans, uint64_t begin, uint64_t end) {
  if (begin == end) return;
  if (!spans.empty() && spans.back().raw && spans.back().end == begin) {
    spans.back().end = end;  // merge neighbours: one span header instead of two
  } else {
    spans.push_back({.raw = true, .begin = begin, .end = end, .tokens = {}});
  }
}

// A valid UTF-8 run [begin, end): as one text span when it round-trips, else line by line (consecutive good
// lines re-joined when the group still round-trips), bad lines raw.
void add_text_run(std::vector<Span>& spans, std::string_view bytes, uint64_t begin, uint64_t end,
                  const Tokenizer& tokenizer) {
  std::string_view run = bytes.substr(begin, end - begin);
  if (auto tokens = round_trip(run, tokenizer)) {
    spans.push_back({.raw = false, .begin = begin, .end = end, .tokens = std::move(*tokens)});
    return;
  }
  uint64_t group_begin = begin;  // start of the current group of good lines
  std::vector<Span> group;
  auto flush_group = [&](uint64_t group_end) {
    if (group.size() > 1) {
      if (auto tokens = round_trip(bytes.substr(group_begin, group_end - group_begin), tokenizer)) {
        spans.push_back({.raw = false, .begin = group_begin, .end = group_end, .tokens = std::move(*tokens)});
        group.clear();
      }
    }
    for (Span& s : group) spans.push_back(std::move(s));
    group.clear();
  };
  for (uint64_t line = begin; line < end;) {
    uint64_t nl = bytes.find('\n', line);
    uint64_t line_end = nl == std::string_view::npos || nl >= end ? end : nl + 1;
    if (auto tokens = round_trip(bytes.substr(line, line_end - line), tokenizer)) {
      if (group.empty()) group_begin = line;
      group.push_back({.raw = false, .begin = line, .end = line_end, .tokens = std::move(*tokens)});
    } else {
      flush_group(line);
      add_raw(spans, line, line_end);
    }
    line = line_end;
  }
  flush_group(end);
}

// Where to end a segment that should end near `target` (begin < target < bytes.size()): after a newline in
// the last quarter of the piece, else before a space there, else at a UTF-8 character boundary.
uint64_t cut_point(std::string_view bytes, uint64_t begin, uint64_t target) {
  uint64_t half = begin + (target - begin) * 3 / 4;
  for (uint64_t i = target; i > half; --i) {
    if (bytes[i - 1] == '\n') return i;
  }
  for (uint64_t i = target; i > half; --i) {
    if (bytes[i] == ' ') return i;
  }
  uint64_t i = target;
  for (int k = 0; k < 3 && i > begin + 1 && is_continuation(static_cast<uint8_t>(bytes[i])); ++k) --i;
  return i;
}

uint32_t count_tokens(const std::vector<Span>& spans) {
  uint64_t n = 0;
  for (const Span& s : spans) n += s.tokens.size();
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
}

}  // namespace

size_t utf8_sequence_length(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (s.empty()) return 0;
  uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (len == 0 || c > 0xF4 || s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if (!is_continuation(b(i))) return 0;
  }
  if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
  if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
  if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
  if (c == 0xF4 && b(1) >= 0x90) return 0;  // beyond U+10FFFF
  return len;
}

std::vector<Span> analyze_spans(std::string_view bytes, const Tokenizer& tokenizer, const PlanOptions& options) {
  std::vector<Span> spans;
  uint64_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t run_end = pos;
    while (run_end < bytes.size()) {
      size_t len = utf8_sequence_length(bytes.substr(run_end));
      if (len == 0) break;
      run_end += len;
    }
    if (run_end - pos >= options.min_text_run || (run_end > pos && pos == 0 && run_end == bytes.size())) {
      add_text_run(spans, bytes, pos, run_end, tokenizer);
    } else {
      add_raw(spans, pos, run_end);
    }
    uint64_t bad_end = run_end;
    while (bad_end < bytes.size() && utf8_sequence_length(bytes.substr(bad_end)) == 0) ++bad_end;
    add_raw(spans, run_end, bad_end);
    pos = bad_end;
  }
  return spans;
}

std::vector<SegmentPlan> plan_segments(std::string_view input, const Tokenizer& tokenizer,
                                       const PlanOptions& options) {
  LMZIP_CHECK(options.segment_tokens >= 1 && options.max_segment_bytes >= 16, "bad plan options");
  std::vector<SegmentPlan> plans;
  double bytes_per_token = 4.0;  // first guess; then learnt from the segments so far
  uint64_t pos = 0;
  while (pos < input.size()) {
    uint64_t remaining = input.size() - pos;
    auto guess = static_cast<uint64_t>(bytes_per_token * options.segment_tokens);
    uint64_t size = std::clamp<uint64_t>(guess, 16, options.max_segment_bytes);
    SegmentPlan best;
    // A few tries: shrink while over the token budget, grow while well under it (a fuller segment gives the
    // model more context). The last plan within budget wins.
    for (int attempt = 0; attempt < 4; ++attempt) {
      uint64_t end = size >= remaining ? input.size() : cut_point(input, pos, pos + size);
      SegmentPlan plan{.offset = pos, .size = end - pos, .spans = {}, .token_count = 0};
      plan.spans = analyze_spans(input.substr(pos, end - pos), tokenizer, options);
      plan.token_count = count_tokens(plan.spans);
      double ratio = plan.token_count ? static_cast<double>(options.segment_tokens) / plan.token_count : 2.0;
      if (plan.token_count <= options.segment_tokens) {
        if (plan.size > best.size) best = std::move(plan);
        if (end == input.size() || ratio < 1.15 || size >= options.max_segment_bytes) break;
        size = std::min<uint64_t>(options.max_segment_bytes, static_cast<uint64_t>(size * ratio * 0.97));
      } else {
        size = std::max<uint64_t>(1, static_cast<uint64_t>((end - pos) * ratio * 0.95));
      }
    }
    while (best.size == 0) {  // still over budget: halve until it fits
      size = std::max<uint64_t>(1, size / 2);
      uint64_t end = size >= remaining ? input.size() : cut_point(input, pos, pos + size);
      SegmentPlan plan{.offset = pos, .size = end - pos, .spans = {}, .token_count = 0};
      plan.spans = analyze_spans(input.substr(pos, end - pos), tokenizer, options);
      plan.token_count = count_tokens(plan.spans);
      if (plan.token_count > options.segment_tokens && size == 1) {
        // One character the tokenizer needs more tokens for than the budget (SentencePiece's "a" is "▁" "a"):
        // code its bytes raw, which costs no tokens. Without this the loop never ends (--segment-tokens 1).
        plan.spans.clear();
        add_raw(plan.spans, 0, plan.size);
        plan.token_count = 0;
      }
      if (plan.token_count <= options.segment_tokens) best = std::move(plan);
    }
    if (best.token_count > 0) bytes_per_token = static_cast<double>(best.size) / best.token_count;
    pos += best.size;
    plans.push_back(std::move(best));
  }
  return plans;
}

}  // namespace lmzip::codec

#include "lmzip/codec/segment_coder.h"

#include <cmath>

#include "lmzip/codec/freq.h"
#include "lmzip/codec/range_coder.h"
#include "lmzip/core/error.h"

namespace lmzip::codec {
namespace {

void put_varint(RangeEncoder& enc, uint64_t value) {
  LMZIP_CHECK(value <= UINT32_MAX, "varint too large");
  do {
    uint32_t byte = value & 0x7F;
    value >>= 7;
    enc.encode(byte | (value ? 0x80 : 0), 1, 256);
  } while (value);
}

uint32_t get_varint(RangeDecoder& dec) {
  uint64_t value = 0;
  for (int i = 0; i < 5; ++i) {
    uint32_t byte = dec.decode_uniform(256);
    value |= uint64_t{byte & 0x7F} << (7 * i);
    if (!(byte & 0x80)) {
      if (value > UINT32_MAX) break;
      return static_cast<uint32_t>(value);
    }
  }
  throw Error("corrupt payload: a length field (varint) is longer than 32 bits");
}

// Calls end_segment() when the segment's coding leaves scope, normally or by an exception.
struct SegmentScope {
  explicit SegmentScope(TokenPredictor& p) : predictor(p) { predictor.reset(); }
  ~SegmentScope() { predictor.end_segment(); }
  SegmentScope(const SegmentScope&) = delete;
  SegmentScope& operator=(const SegmentScope&) = delete;
  TokenPredictor& predictor;
};

void check_logits(const std::vector<float>& logits, const TokenPredictor& predictor) {
  LMZIP_CHECK(logits.size() == predictor.vocab_size(), "predictor returned the wrong number of logits");
}

}  // namespace

RawByteModel::RawByteModel() {
  for (uint32_t& c : counts_) c = 1;
}

uint32_t RawByteModel::cum(uint8_t b) const {
  uint32_t sum = 0;
  for (int i = 0; i < b; ++i) sum += counts_[i];
  return sum;
}

uint8_t RawByteModel::find(uint32_t target) const {
  uint32_t sum = 0;
  for (int i = 0; i < 255; ++i) {
    if (target < sum + counts_[i]) return static_cast<uint8_t>(i);
    sum += counts_[i];
  }
  return 255;
}

void RawByteModel::update(uint8_t b) {
  counts_[b] += 32;
  total_ += 32;
  if (total_ > (1u << 16)) {  // halve: keeps adapting to the recent bytes and total within 2^16
    total_ = 0;
    for (uint32_t& c : counts_) total_ += c = (c + 1) >> 1;
  }
}

std::string encode_segment(std::string_view bytes, const SegmentPlan& plan, TokenPredictor& predictor,
                           SegmentStats* stats) {
  SegmentStats local;
  RangeEncoder enc;
  RawByteModel raw;
  FreqTable table;
  std::vector<uint64_t> weights;
  SegmentScope scope(predictor);
  // Layout 0: the whole segment is one text span of token_count tokens (the table has the count), the common
  // case, coded in 1 bit instead of ~25.
  bool single_text = plan.spans.size() == 1 && !plan.spans[0].raw;
  enc.encode(single_text ? 0 : 1, 1, 2);
  if (!single_text) put_varint(enc, plan.spans.size());
  for (const Span& span : plan.spans) {
    if (!single_text) enc.encode(span.raw ? 1 : 0, 1, 2);
    if (span.raw) {
      put_varint(enc, span.end - span.begin);
      for (uint64_t i = span.begin; i < span.end; ++i) {
        auto b = static_cast<uint8_t>(bytes[i]);
        local.raw_bits -= std::log2(static_cast<double>(raw.freq(b)) / raw.total());
        enc.encode(raw.cum(b), raw.freq(b), raw.total());
        raw.update(b);
      }
      local.raw_bytes += span.end - span.begin;
      continue;
    }
    if (!single_text) put_varint(enc, span.tokens.size());
    predictor.logits_for(span.tokens, [&](size_t i, const std::vector<float>& logits) {
      check_logits(logits, predictor);
      auto token = static_cast<uint32_t>(span.tokens[i]);
      LMZIP_CHECK(token < logits.size(), "token id beyond the vocabulary");
      logits_to_freqs(logits, table, weights);
      enc.encode(table.cum[token], table.freq(token), kFreqTotal);
      local.model_bits += model_bits(logits, token);
      local.freq_bits -= std::log2(static_cast<double>(table.freq(token)) / kFreqTotal);
    });
    local.tokens += span.tokens.size();
  }
  if (stats) *stats = local;
  return enc.finish();
}

std::string decode_segment(std::string_view payload, const SegmentLimits& limits, TokenPredictor& predictor,
                           const Tokenizer& tokenizer) {
  RangeDecoder dec(payload);
  RawByteModel raw;
  FreqTable table;
  std::vector<uint64_t> weights;
  std::vector<float> logits;
  std::vector<TokenId> tokens;
  std::string out;
  uint64_t tokens_done = 0;
  SegmentScope scope(predictor);
  bool single_text = dec.decode_uniform(2) == 0;
  if (single_text && limits.token_count == 0) throw Error("corrupt payload: a text segment without tokens");
  uint32_t span_count = single_text ? 1 : get_varint(dec);
  if (span_count > limits.original_bytes) throw Error("corrupt payload: more spans than bytes");
  for (uint32_t s = 0; s < span_count; ++s) {
    uint32_t kind = single_text ? 0 : dec.decode_uniform(2);
    uint32_t length = single_text ? limits.token_count : get_varint(dec);
    if (length == 0) throw Error("corrupt payload: a span of length 0");
    if (kind == 1) {
      if (length > limits.original_bytes - out.size()) throw Error("corrupt payload: more bytes than the table says");
      for (uint32_t i = 0; i < length; ++i) {
        uint8_t b = raw.find(dec.decode(raw.total()));
        dec.consume(raw.cum(b), raw.freq(b));
        raw.update(b);
        out.push_back(static_cast<char>(b));
      }
      continue;
    }
    if (length > limits.token_count - tokens_done) throw Error("corrupt payload: more tokens than the table says");
    tokens.clear();
    for (uint32_t i = 0; i < length; ++i) {
      predictor.next_logits(logits);
      check_logits(logits, predictor);
      logits_to_freqs(logits, table, weights);
      uint32_t token = table.find(dec.decode(kFreqTotal));
      dec.consume(table.cum[token], table.freq(token));
      predictor.accept(static_cast<TokenId>(token));
      tokens.push_back(static_cast<TokenId>(token));
    }
    tokens_done += length;
    std::string text = tokenizer.decode(tokens);
    if (text.size() > limits.original_bytes - out.size()) throw Error("corrupt payload: more bytes than the table says");
    out += text;
    if (dec.overrun()) throw Error("corrupt payload: it ends too early");
  }
  if (out.size() != limits.original_bytes || tokens_done != limits.token_count) {
    throw Error("corrupt payload: decoded " + std::to_string(out.size()) + " bytes and " +
                std::to_string(tokens_done) + " tokens, the segment table says " +
                std::to_string(limits.original_bytes) + " and " + std::to_string(limits.token_count));
  }
  return out;
}

}  // namespace lmzip::codec

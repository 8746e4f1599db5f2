#include "lmzip/codec/range_coder.h"

#include "lmzip/core/error.h"

namespace lmzip::codec {
namespace {
constexpr uint64_t kTop = uint64_t{1} << 48;     // normalize when range drops below this
constexpr uint64_t kLowMask = (uint64_t{1} << 56) - 1;
}  // namespace

void RangeEncoder::encode(uint32_t cum, uint32_t freq, uint32_t total) {
  LMZIP_CHECK(freq >= 1 && total <= kMaxTotal && uint64_t{cum} + freq <= total, "bad symbol interval");
  uint64_t r = range_ / total;
  low_ += r * cum;
  range_ = r * freq;
  while (range_ < kTop) {
    range_ <<= 8;
    shift_low();
  }
}

// Emits the top byte of `low` once no carry can change it any more. A top byte of 0xFF might still become 0x00
// by a later carry, so such bytes are counted in `pending_` and emitted together when the carry is known.
void RangeEncoder::shift_low() {
  if (low_ < (uint64_t{0xFF} << 48) || low_ > kLowMask) {
    auto carry = static_cast<uint8_t>(low_ >> 56);
    if (have_cache_) out_.push_back(static_cast<char>(static_cast<uint8_t>(cache_ + carry)));
    for (; pending_ > 0; --pending_) out_.push_back(static_cast<char>(static_cast<uint8_t>(0xFF + carry)));
    cache_ = static_cast<uint8_t>(low_ >> 48);
    have_cache_ = true;
  } else {
    ++pending_;
  }
  low_ = (low_ << 8) & kLowMask;
}

std::string RangeEncoder::finish() {
  // The value in [low, low + range) with the most trailing zero bits: range >= 2^48, so rounding low up to a
  // multiple of 2^48 stays inside. Its zero bytes need not be stored: the decoder reads zeros past the end.
  low_ = (low_ + kTop - 1) & ~(kTop - 1);
  shift_low();
  shift_low();
  while (!out_.empty() && out_.back() == '\0') out_.pop_back();
  return std::move(out_);
}

RangeDecoder::RangeDecoder(std::string_view payload) : payload_(payload) {
  for (int i = 0; i < 7; ++i) code_ = (code_ << 8) | next();
}

uint32_t RangeDecoder::decode(uint32_t total) {
  LMZIP_CHECK(total >= 1 && total <= kMaxTotal, "bad total");
  r_ = range_ / total;
  uint64_t q = code_ / r_;
  return q < total ? static_cast<uint32_t>(q) : total - 1;  // only corrupt data can exceed
}

void RangeDecoder::consume(uint32_t cum, uint32_t freq) {
  code_ -= r_ * cum;  // no underflow: cum <= target <= code / r
  range_ = r_ * freq;
  while (range_ < kTop) {
    code_ = (code_ << 8) | next();  // wraps only on corrupt data; the checksums catch it
    range_ <<= 8;
  }
}

uint32_t RangeDecoder::decode_uniform(uint32_t total) {
  uint32_t v = decode(total);
  consume(v, 1);
  return v;
}

}  // namespace lmzip::codec

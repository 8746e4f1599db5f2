// The range coder of the .lmz format (docs/FORMAT.md, "Payload: the range coder"): 56-bit range, 64-bit low
// with carry propagation through a cached byte and a count of pending 0xFF bytes, frequency totals up to 2^28.
// After normalization 2^48 <= range < 2^56, so range / total >= 2^20: the coding loss is below 1.5e-6 bits
// per symbol. Neither class is thread-safe; use one per segment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmzip::codec {

inline constexpr uint32_t kMaxTotal = 1u << 28;

class RangeEncoder {
 public:
  // Codes the symbol occupying [cum, cum + freq) of [0, total). Requires freq >= 1, cum + freq <= total,
  // total <= kMaxTotal (checked: a violation is a bug in the caller's frequency table).
  void encode(uint32_t cum, uint32_t freq, uint32_t total);
  // Flushes the final interval and returns the payload (trailing zero bytes removed). Call once.
  std::string finish();
  size_t bytes_so_far() const { return out_.size(); }

 private:
  void shift_low();
  uint64_t low_ = 0;
  uint64_t range_ = (uint64_t{1} << 56) - 1;
  uint64_t pending_ = 0;
  uint8_t cache_ = 0;
  bool have_cache_ = false;
  std::string out_;
};

class RangeDecoder {
 public:
  // `payload` must outlive the decoder. Bytes past its end read as zero.
  explicit RangeDecoder(std::string_view payload);
  // The target in [0, total) of the next symbol; then find the symbol and call consume() with its interval.
  uint32_t decode(uint32_t total);
  void consume(uint32_t cum, uint32_t freq);
  // Convenience for uniform symbols (varint bytes, span kinds): decode + consume of [v, v + 1) of [0, total).
  uint32_t decode_uniform(uint32_t total);
  // True when the decoder has read past the payload by more than the 7 bytes a valid stream may need;
  // a sign of corruption or truncation.
  bool overrun() const { return pos_ > payload_.size() + 7; }

 private:
  uint8_t next() { return pos_ < payload_.size() ? static_cast<uint8_t>(payload_[pos_++]) : (pos_++, 0); }
  std::string_view payload_;
  size_t pos_ = 0;
  uint64_t code_ = 0;
  uint64_t range_ = (uint64_t{1} << 56) - 1;
  uint64_t r_ = 0;  // range / total of the pending decode()
};

}  // namespace lmzip::codec

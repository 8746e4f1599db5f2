// libFuzzer target for the .lmz reader: the container parser (header, segment table, checksums) and, for files
// that parse, the range decoder and payload grammar of every segment (with a small count predictor and a
// byte tokenizer standing in for the model). Bad input must give lmzip::Error, never a crash, a hang or UB.
// Build and run: see docs/CODEC.md ("Fuzzing").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lmzip/codec/container.h"
#include "lmzip/codec/segment_coder.h"
#include "lmzip/core/error.h"

namespace {

// One token per byte (id = byte + 1), id 0 = BOS decoding to nothing.
class ByteTokenizer : public lmzip::Tokenizer {
 public:
  ByteTokenizer() : Tokenizer(make_vocab()) {}
  std::vector<lmzip::TokenId> encode(std::string_view text, const lmzip::EncodeOptions& = {}) const override {
    std::vector<lmzip::TokenId> ids;
    for (char c : text) ids.push_back(static_cast<uint8_t>(c) + 1);
    return ids;
  }
  std::string decode(std::span<const lmzip::TokenId> ids, bool = false) const override {
    std::string out;
    for (lmzip::TokenId id : ids) {
      if (id > 0) out.push_back(static_cast<char>(id - 1));
    }
    return out;
  }

 private:
  static lmzip::Vocab make_vocab() {
    lmzip::Vocab v;
    v.tokens.assign(257, "t");
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ByteTokenizer tokenizer;
  std::string_view file(reinterpret_cast<const char*>(data), size);
  try {
    lmzip::codec::ParsedLmz lmz = lmzip::codec::parse_lmz(file, "fuzz.lmz");
    lmzip::codec::CountPredictor predictor(257, 0);
    for (size_t k = 0; k < lmz.payloads.size(); ++k) {
      const auto& e = lmz.header.segments[k];
      if (e.original_bytes > 4096 || e.token_count > 256) continue;  // keep each run fast
      try {
        lmzip::codec::check_payload(lmz, k, "fuzz.lmz");
      } catch (const lmzip::Error&) {
        // decode anyway: the decoder must survive payloads whose checksum is wrong too
      }
      try {
        lmzip::codec::decode_segment(lmz.payloads[k], {.original_bytes = e.original_bytes, .token_count = e.token_count},
                                     predictor, tokenizer);
      } catch (const lmzip::Error&) {
      }
    }
  } catch (const lmzip::Error&) {
  }
  return 0;
}

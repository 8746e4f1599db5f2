// libFuzzer target for the SentencePiece tokenizer.model reader (protobuf wire format): any input must load or
// throw lmzip::Error — never crash, hang, read out of bounds or allocate without bound. Whatever loads is built
// into a tokenizer and used. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/tok/sp_model.h"
#include "lmzip/tok/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lmzip::Vocab vocab = lmzip::vocab_from_sp_model(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.model");
    std::unique_ptr<lmzip::Tokenizer> tok = lmzip::Tokenizer::from_vocab(std::move(vocab), "fuzz.model");
    for (bool parse_special : {false, true}) {
      const std::vector<lmzip::TokenId> ids =
          tok->encode("Hello  world, 123 <s> \xC3\xA9\n\t ab", {.add_special = true, .parse_special = parse_special});
      (void)tok->decode(ids);
    }
  } catch (const lmzip::Error&) {
  }
  return 0;
}

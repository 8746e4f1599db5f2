// libFuzzer target for the Hugging Face tokenizer.json / tokenizer_config.json loader: any input must load or
// throw lmzip::Error — never crash, hang or allocate without bound. The input is a tokenizer.json, optionally
// followed by a NUL byte and a tokenizer_config.json. Whatever loads is built into a tokenizer and used.
// Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/tok/hf_json.h"
#include "lmzip/tok/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  const std::string_view config = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  try {
    lmzip::Vocab vocab = lmzip::vocab_from_hf_json(json, "fuzz.json", config, "fuzz_config.json");
    std::unique_ptr<lmzip::Tokenizer> tok = lmzip::Tokenizer::from_vocab(std::move(vocab), "fuzz.json");
    for (bool parse_special : {false, true}) {
      const std::vector<lmzip::TokenId> ids =
          tok->encode("Hello world, 123 <s> \xC3\xA9\n\t ab", {.add_special = true, .parse_special = parse_special});
      (void)tok->decode(ids);
    }
  } catch (const lmzip::Error&) {
  }
  return 0;
}

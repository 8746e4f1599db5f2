// libFuzzer target for the GGUF reader: any input must parse or throw lmzip::Error — never crash, hang,
// read out of bounds or allocate without bound. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "lmzip/core/error.h"
#include "lmzip/format/gguf.h"
#include "lmzip/tok/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lmzip::GgufFile f = lmzip::GgufFile::parse("fuzz", data, size);
    // Exercise the accessors the tools use on whatever parsed.
    for (const auto& [key, value] : f.metadata()) (void)value.to_display();
    for (const auto& t : f.tensors()) (void)t.shape_string();
    try {
      (void)lmzip::Vocab::from_gguf(f);
    } catch (const lmzip::Error&) {
    }
  } catch (const lmzip::Error&) {
  }
  return 0;
}

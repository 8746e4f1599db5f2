// libFuzzer target for the safetensors header parser: any input must parse or throw lmzip::Error — never crash,
// hang, read out of bounds or allocate without bound. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "lmzip/core/error.h"
#include "lmzip/format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lmzip::SafetensorsFile f = lmzip::SafetensorsFile::parse("fuzz", data, size);
    // Touch every byte a tensor claims: an out-of-bounds view shows up under ASan.
    uint64_t sum = 0;
    for (const auto& t : f.tensors()) {
      (void)t.shape_string();
      for (uint64_t i = 0; i < t.n_bytes; ++i) sum += t.data[i];
    }
    (void)sum;
  } catch (const lmzip::Error&) {
  }
  return 0;
}

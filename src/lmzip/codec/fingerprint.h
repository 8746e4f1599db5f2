// Model fingerprints for the .lmz header (docs/FORMAT.md, "Model fingerprint"): chains of XXH64 over the
// tokenizer's definition and over every tensor (name, type, dims, data), so a file is only decoded with the
// model it was written with.
#pragma once

#include <cstdint>

#include "lmzip/format/gguf.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::codec {

uint64_t tokenizer_fingerprint(const Vocab& vocab);
uint64_t weights_fingerprint(const GgufFile& file);

}  // namespace lmzip::codec

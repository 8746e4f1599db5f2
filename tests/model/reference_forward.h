// A naive reference forward pass for llama-family GGUF models, written apart from the engine: double precision,
// plain loops, one token at a time, every logit materialized. It reads metadata and tensors straight from the
// GGUF file (weights dequantized element by element with dequantize_element_reference) and shares no code with
// model/ or the fast kernels. Slow: for small test models only.
#pragma once

#include <span>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"

namespace lmzip::test {

// -ln p(target | input[0..position]) for each target, in double.
std::vector<double> reference_nll(const GgufFile& file, std::span<const TokenId> input,
                                  std::span<const ScoredTarget> targets);

}  // namespace lmzip::test

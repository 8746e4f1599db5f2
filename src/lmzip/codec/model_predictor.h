// The codec's TokenPredictor over the lmzip engine (src/lmzip/model), and the ModelIdentity of a model file.
//
// Decoding must recompute exactly the logits the encoder saw. The engine's Session computes them with
// fixed-order kernels, independent of the thread count and of how tokens are split into calls; the codec
// still makes the very same calls on both sides (one token at a time). The predictor id names the build's
// floating-point feature class (e.g. x86-64+avx2+fma), which could change the rounding of the kernels.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "lmzip/codec/predictor.h"
#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"

namespace lmzip::codec {

// "lmzip-session-1/<architecture>/<numerics class>", e.g. "lmzip-session-1/llama/x86-64+avx2+fma".
std::string engine_predictor_id(const Model& model);

// The model's identity: name (general.name, else the file name), predictor id, fingerprints, vocabulary size.
ModelIdentity identify_model(const GgufFile& file, const Model& model, const Tokenizer& tokenizer);

// Makes predictors over `model` (which must outlive them) for segments of up to `max_tokens` coded tokens;
// `bos` starts every segment's context when set; each predictor runs the engine on `threads_each` threads
// (the results do not depend on it). Thread-safe.
PredictorFactory engine_predictor_factory(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens,
                                          int threads_each = 1);

}  // namespace lmzip::codec

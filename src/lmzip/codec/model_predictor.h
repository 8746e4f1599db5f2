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

// Predictors that run their segments in lockstep: `slots` segments are coded at once (one worker thread each),
// and every step appends the next token of all of them in one pass of a deterministic MultiSession on
// `cpu_threads` threads, so the weights are read once per step for all segments instead of once per segment.
// The logits are bit-identical to engine_predictor_factory's (same kernels, row by row), so files are the same.
// The factory makes at most `slots` predictors; run the codec with threads = slots. Thread-safe.
PredictorFactory lockstep_predictor_factory(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens,
                                            int slots, int cpu_threads);

// Segments worth coding in lockstep for this model: up to `wanted`, fewer when their caches would pass 1 GiB.
int lockstep_slots(const Model& model, uint32_t max_tokens, uint64_t wanted);

}  // namespace lmzip::codec

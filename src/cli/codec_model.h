// What `lmzip compress` and `lmzip decompress` share: the model file loaded once (GGUF mapping, tokenizer,
// engine, identity) and a predictor factory over it.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "lmzip/codec/model_predictor.h"
#include "lmzip/format/gguf.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/model/model.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::cli {

struct CodecModel {
  ModelSource source;  // a GGUF file or a Hugging Face checkpoint
  const GgufFile& file;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Model> model;
  codec::ModelIdentity identity;

  explicit CodecModel(const std::string& path)
      : source(open_model_source(path)),
        file(source.file),
        tokenizer(source.tokenizer()),
        model(source.load_model()),
        identity(codec::identify_model(file, *model, *tokenizer)) {}

  // How `threads` CPU threads code `segments` segments: up to kLockstepSegments segments at once, in lockstep
  // (each step appends the next token of every segment in one pass over the weights; the logits, and so the
  // files, are bit-identical to coding each segment alone). Run the codec with `workers` worker threads.
  struct Plan {
    codec::PredictorFactory factory;
    int workers = 1;
  };
  static constexpr uint64_t kLockstepSegments = 16;
  Plan plan(uint32_t segment_tokens, int threads, uint64_t segments) const {
    const int slots = codec::lockstep_slots(*model, segment_tokens, std::min(segments, kLockstepSegments));
    return {codec::lockstep_predictor_factory(*model, tokenizer->bos(), segment_tokens, slots, threads), slots};
  }
};

}  // namespace lmzip::cli

// What `lmzip compress` and `lmzip decompress` share: the model file loaded once (GGUF mapping, tokenizer,
// engine, identity) and a predictor factory over it.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "lmzip/codec/model_predictor.h"
#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::cli {

struct CodecModel {
  GgufFile file;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Model> model;
  codec::ModelIdentity identity;

  explicit CodecModel(const std::string& path)
      : file(GgufFile::open(path)),
        tokenizer(Tokenizer::from_gguf(file)),
        model(Model::load(file)),
        identity(codec::identify_model(file, *model, *tokenizer)) {}

  // `threads` in all, shared by `segments` segments: spare threads go to each predictor's engine.
  codec::PredictorFactory factory(uint32_t segment_tokens, int threads, uint64_t segments) const {
    uint64_t workers = std::max<uint64_t>(1, std::min<uint64_t>(segments, static_cast<uint64_t>(threads)));
    return codec::engine_predictor_factory(*model, tokenizer->bos(), segment_tokens,
                                           std::max(1, threads / static_cast<int>(workers)));
  }
};

}  // namespace lmzip::cli

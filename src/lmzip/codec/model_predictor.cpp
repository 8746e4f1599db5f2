#include "lmzip/codec/model_predictor.h"

#include <filesystem>

#include "lmzip/codec/fingerprint.h"
#include "lmzip/core/error.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/session.h"

namespace lmzip::codec {
namespace {

// The build's floating-point feature class. The engine's fixed-order kernels give the same floats for every
// thread count and every split of the tokens, but a build with FMA (contracted a*b+c) or another vector ISA may
// round differently, so files name the class they were made with.
std::string numerics_class() {
  std::string c;
#if defined(__x86_64__)
  c = "x86-64";
#elif defined(__aarch64__)
  c = "arm64";
#else
  c = "other";
#endif
#if defined(__AVX512F__)
  c += "+avx512f";
#elif defined(__AVX2__)
  c += "+avx2";
#elif defined(__AVX__)
  c += "+avx";
#endif
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  c += "+fma";
#endif
  return c;
}

// The engine's Session, one token at a time: after reset() (and BOS), each next_logits() appends the one
// pending token (the KV cache keeps the rest) and reads the full-vocabulary logits of the last position.
class EnginePredictor : public TokenPredictor {
 public:
  EnginePredictor(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens, int threads)
      : bos_(bos), session_(model, static_cast<int64_t>(max_tokens) + 1, 1), pool_(threads),
        vocab_(static_cast<size_t>(model.config().n_vocab)) {
    reset();
  }
  size_t vocab_size() const override { return vocab_; }

  void reset() override {
    session_.reset();
    pending_ = bos_;
  }

  void next_logits(std::vector<float>& logits) override {
    if (pending_) {
      TokenId token = *pending_;
      pending_.reset();
      session_.append(std::span<const TokenId>(&token, 1), pool_);
    }
    std::span<const float> l = session_.logits();
    if (l.empty()) {
      logits.assign(vocab_, 0.0f);  // no context at all (no BOS, first token): uniform
    } else {
      logits.assign(l.begin(), l.end());
    }
  }

  void accept(TokenId token) override {
    if (pending_) {  // logits were never asked for: still keep the context complete
      TokenId previous = *pending_;
      session_.append(std::span<const TokenId>(&previous, 1), pool_);
    }
    pending_ = token;
  }

 private:
  std::optional<TokenId> bos_;
  Session session_;
  ThreadPool pool_;
  size_t vocab_;
  std::optional<TokenId> pending_;  // appended before the next logits are read
};

}  // namespace

std::string engine_predictor_id(const Model& model) {
  return "lmzip-session-1/" + model.config().architecture + "/" + numerics_class();
}

ModelIdentity identify_model(const GgufFile& file, const Model& model, const Tokenizer& tokenizer) {
  std::string name = file.get_string("general.name").value_or(std::filesystem::path(file.name()).filename());
  if (name.size() > 256) name.resize(256);
  return {.name = name,
          .predictor_id = engine_predictor_id(model),
          .tokenizer_hash = tokenizer_fingerprint(tokenizer.vocab()),
          .weights_hash = weights_fingerprint(file),
          .vocab_size = static_cast<uint32_t>(model.config().n_vocab)};
}

PredictorFactory engine_predictor_factory(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens,
                                          int threads_each) {
  if (model.config().n_ctx_train > 0 && max_tokens + 1 > static_cast<uint32_t>(model.config().n_ctx_train)) {
    throw Error(model.file_name() + ": segments of " + std::to_string(max_tokens) +
                " tokens exceed the model's context of " + std::to_string(model.config().n_ctx_train) +
                " positions; use a smaller --segment-tokens");
  }
  return [&model, bos, max_tokens, threads_each] {
    return std::make_unique<EnginePredictor>(model, bos, max_tokens, std::max(1, threads_each));
  };
}

}  // namespace lmzip::codec

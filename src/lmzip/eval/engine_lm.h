// LanguageModel on lmzip's engine: a Session (KV cache) over a loaded Model and its Tokenizer.
//
// Option scoring shares the prefix: the context is run once, then each option continues from the cached
// context (Session::truncate rolls the cache back between options). Tokenization follows lm-eval's
// _encode_pair: trailing whitespace of the context moves to the continuation; context tokens = enc(context),
// continuation tokens = enc(context + continuation)[len(enc(context)):]. Like lm-eval's HF models by default,
// no BOS is added (add_bos = false), except that an empty context is replaced by the BOS token.
//
// Not thread-safe (one Session); the Model and Tokenizer are shared read-only.
#pragma once

#include <memory>

#include "lmzip/eval/runner.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
#include "lmzip/model/session.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::eval {

struct EngineOptions {
  int64_t max_context = 2048;  // tokens per request; longer contexts lose their oldest tokens (lm-eval too)
  bool add_bos = false;
  // true: options continue from the context's KV cache (Session, deterministic fixed-order kernels);
  // false: each context + option is one Model::score pass (the BLAS path). bench_eval measures both: on this
  // engine the BLAS path is faster despite recomputing the context (zoo-m2, 25-shot, 4 options: 0.4 s vs 1.5 s).
  bool share_prefix = false;
};

class SessionLanguageModel : public LanguageModel {
 public:
  SessionLanguageModel(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, EngineOptions options);

  std::vector<Continuation> loglikelihoods(const std::string& context,
                                           const std::vector<std::string>& continuations) override;
  std::string generate(const std::string& context, const std::vector<std::string>& until, int max_tokens) override;

  uint64_t tokens_computed() const { return tokens_computed_; }  // tokens run through the model so far

 private:
  std::vector<TokenId> encode_context(const std::string& text) const;
  void append(std::span<const TokenId> tokens);
  Continuation score_from_scratch(const std::vector<TokenId>& ctx, const std::vector<TokenId>& cont);

  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  EngineOptions options_;
  Session session_;
  uint64_t tokens_computed_ = 0;
};

}  // namespace lmzip::eval

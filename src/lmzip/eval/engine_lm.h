// LanguageModel on lmzip's engine: packed evaluation (model/packed.h) over a loaded Model and its Tokenizer.
//
// Option log-likelihoods share the prefix and are batched: each context runs once and its options continue
// from its cached keys and values, and the requests of several documents are packed into one forward pass of at
// most batch_tokens tokens. Generation is greedy with a KV cache per sequence, up to max_in_flight requests
// decoded together (continuous batching: a finished sequence's slot takes the next request).
//
// Tokenization follows lm-eval's _encode_pair: trailing whitespace of the context moves to the continuation;
// context tokens = enc(context), continuation tokens = enc(context + continuation)[len(enc(context)):]. Like
// lm-eval's HF models by default, no BOS is added (add_bos = false), except that an empty context is replaced by
// the BOS token. Results do not depend on how requests are batched beyond floating-point rounding.
//
// Not thread-safe; the Model and Tokenizer are shared read-only.
#pragma once

#include <memory>

#include "lmzip/eval/runner.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
#include "lmzip/model/packed.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::eval {

struct EngineOptions {
  int64_t max_context = 2048;  // tokens per request; longer contexts lose their oldest tokens (lm-eval too)
  bool add_bos = false;
  int64_t batch_tokens = 2048;  // tokens per packed scoring pass (a larger single request runs alone)
  int max_in_flight = 8;        // generations decoded together (fewer when their caches would pass 1 GiB)
};

class EngineLanguageModel : public LanguageModel {
 public:
  EngineLanguageModel(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, EngineOptions options);
  ~EngineLanguageModel() override;

  std::vector<Continuation> loglikelihoods(const std::string& context,
                                           const std::vector<std::string>& continuations) override;
  std::string generate(const std::string& context, const std::vector<std::string>& until, int max_tokens) override;
  std::vector<std::vector<Continuation>> loglikelihoods_batch(const std::vector<LoglikelihoodRequest>& requests) override;
  std::vector<std::string> generate_batch(const std::vector<GenerationRequest>& requests) override;

  uint64_t tokens_computed() const { return tokens_computed_; }  // tokens run through the model so far
  uint64_t forward_passes() const { return forward_passes_; }

 private:
  std::vector<TokenId> encode_context(const std::string& text) const;
  ContextWithContinuations encode_request(const LoglikelihoodRequest& request) const;

  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  EngineOptions options_;
  std::unique_ptr<MultiSession> sessions_;  // for generation, allocated on first use
  uint64_t tokens_computed_ = 0, forward_passes_ = 0;
};

}  // namespace lmzip::eval

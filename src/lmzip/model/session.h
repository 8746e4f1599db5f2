// Incremental evaluation over one growing context with a key/value cache: for the codec (which must compute
// the same probabilities when compressing and when decompressing) and for generation.
//
// Numerics are deterministic: every kernel on this path computes each output element wholly on one thread
// with a fixed-order reduction (kernels matmul_fixed, causal_attention_fixed, reduce.h), so the logits depend
// only on the model and the tokens: not on the thread count, and not on how the tokens were split into
// append() calls. (Model::score uses the faster BLAS path, whose rounding may differ in the last bits.)
//
// Thread safety: a Session is not thread-safe; use one per concurrent user. The Model is shared read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

struct ForwardState;

class Session {
 public:
  // max_context: the most tokens the session will hold (its cache is allocated up front:
  // 2 * n_layer * max_context * n_head_kv * head_dim floats). max_batch: tokens processed per internal step.
  Session(const Model& model, int64_t max_context, int64_t max_batch = 32);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the model over `tokens`, appended after the current context. Throws lmzip::Error when the context
  // would exceed max_context or a token id is outside the vocabulary (the session is then unchanged).
  void append(std::span<const TokenId> tokens, ThreadPool& pool);

  int64_t size() const { return n_tokens_; }
  int64_t max_context() const;
  void reset();  // back to an empty context; the cache stays allocated
  // Keeps the first n tokens (0 <= n <= size()) and drops the rest, e.g. to score several continuations of one
  // shared prefix. The cache of the kept tokens is untouched, so later appends compute exactly what they would
  // after appending only those n tokens. logits() is empty until the next append().
  // A recurrent model (Mamba) cannot go back: truncate() then accepts only 0 and size() (see can_truncate()).
  void truncate(int64_t n);
  bool can_truncate() const { return !model_.config().recurrent(); }

  // The logits over the whole vocabulary ([n_vocab]) predicting the token after the last one appended;
  // empty before the first append().
  std::span<const float> logits() const { return logits_; }
  // -ln softmax(logits())[target] in nats (double sums, lmzip's own exp): the codec's probability.
  double nll(TokenId target) const;

 private:
  const Model& model_;
  std::unique_ptr<ForwardState> state_;
  int64_t n_tokens_ = 0;
  std::vector<float> logits_;
};

}  // namespace lmzip

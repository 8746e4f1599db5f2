// Packed evaluation for downstream benchmarks: many short requests in few forward passes, on the fast (BLAS)
// kernels, with the key/value cache of a shared context reused instead of recomputed.
//
//   score_continuations: contexts, each with continuations (the options of a multiple-choice question); every
//     context runs once and each continuation attends to its context's cached keys and values. Several
//     documents are packed into one pass, so the weights are read once for all of them.
//   MultiSession: several growing sequences (generations in flight), each with its own cache region; one
//     append() runs the new tokens of all of them in one pass.
//
// Results equal scoring each context + continuation alone up to floating-point rounding (the GEMM blocking
// differs with the batch); a deterministic MultiSession (the codec) is bit-exact instead, and slower.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

struct ForwardState;

struct ContextWithContinuations {
  std::vector<TokenId> context;                      // non-empty
  std::vector<std::vector<TokenId>> continuations;   // each non-empty
};

// out[i][j][t] = -ln p(continuations[j][t] | context, continuations[j][0..t)) in nats, for request i. All the
// requests run in one forward pass (a recurrent model, which cannot share a context's state, runs each option
// after its own copy of the context): callers bound the total tokens (contexts plus continuations minus one each).
// Throws lmzip::Error for an empty context or continuation, or a token outside the vocabulary.
std::vector<std::vector<std::vector<double>>> score_continuations(const Model& model,
                                                                  std::span<const ContextWithContinuations> requests,
                                                                  ThreadPool& pool);

// Tokens one score_continuations pass runs for these requests.
int64_t packed_tokens(const ContextWithContinuations& request);

class MultiSession {
 public:
  // n_sequences sequences of at most max_context tokens each; the cache is allocated up front.
  // deterministic: the fixed-order kernels of Session, so that each sequence's logits are bit-identical to a
  // Session fed the same tokens, whatever else shares the pass (the codec decodes segments in lockstep).
  MultiSession(const Model& model, int n_sequences, int64_t max_context, bool deterministic = false);
  ~MultiSession();
  MultiSession(const MultiSession&) = delete;
  MultiSession& operator=(const MultiSession&) = delete;

  struct Append {
    int sequence;
    std::span<const TokenId> tokens;  // non-empty
  };
  // Appends each entry's tokens to its sequence (each sequence at most once per call), all in one pass, and
  // returns the logits [n_vocab] after each entry's last token, in entry order. Throws lmzip::Error when a
  // sequence would exceed max_context or a token is outside the vocabulary (the sessions are then unchanged).
  std::vector<std::vector<float>> append(std::span<const Append> entries, ThreadPool& pool);

  int64_t size(int sequence) const { return sizes_.at(static_cast<size_t>(sequence)); }
  void reset(int sequence) { sizes_.at(static_cast<size_t>(sequence)) = 0; }
  int n_sequences() const { return static_cast<int>(sizes_.size()); }
  int64_t max_context() const { return max_context_; }

 private:
  const Model& model_;
  int64_t max_context_;
  bool deterministic_;
  std::vector<int64_t> sizes_;
  std::unique_ptr<ForwardState> state_;
};

}  // namespace lmzip

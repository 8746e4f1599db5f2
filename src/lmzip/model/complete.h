// A prompt's log-probabilities with the most likely alternatives, then a greedy continuation on the same state:
// what an OpenAI-style completions server returns (lmzip serve).
//
// The prompt's values are bit-identical to Model::score's for the same tokens: the same fast-path forward pass
// (forward_tokens from position 0 with every row carried through the last layer) and the same output-layer call
// (output_nll over the rows 0..n-2). The alternatives come from the full logits of those rows (log-softmax in
// double); where the scored token is among them its value is the exact one, so "the token is the argmax" can be
// tested by equality. Generated tokens continue on the prompt's key/value cache, one token per pass.
//
// Thread safety: like Model::score (a per-thread forward state); the Model is shared read-only.
#pragma once

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

struct TokenLogprob {
  TokenId token = 0;
  double logprob = 0;                            // ln p(token | everything before it)
  std::vector<std::pair<TokenId, double>> top;   // the top_k (id, ln p), most likely first (ties: lower id)
};

struct CompletionOptions {
  int top_k = 0;           // alternatives per position (0: none)
  bool prompt_logprobs = true;  // score the prompt's tokens 1..n-1 (false: only run it)
  int max_new_tokens = 0;  // greedy tokens to generate
  // Called after each generated token with all generated so far; true stops generation (stop strings, EOS).
  std::function<bool(std::span<const TokenId> generated)> stop;
};

struct CompletionResult {
  std::vector<TokenLogprob> prompt;     // tokens 1..n-1 of the prompt (empty when !prompt_logprobs)
  std::vector<TokenLogprob> generated;  // the greedy continuation
  bool stopped = false;                 // options.stop returned true (else max_new_tokens were generated)
};

// `prompt` non-empty; every id inside the vocabulary (lmzip::Error otherwise).
CompletionResult complete(const Model& model, std::span<const TokenId> prompt, const CompletionOptions& options,
                          ThreadPool& pool);

// Many prompts scored in one packed pass (a server's concurrent requests): for each, the log-probabilities of
// its tokens 1..n-1 with top_k alternatives (CompletionResult::prompt) and, with next_token, the greedy token
// after it (CompletionResult::generated, one entry). Prompts that begin alike share the rows of their common
// prefix (at least kMinSharedPrefix tokens), so a multiple-choice question's context runs once for all its
// options. A recurrent model runs each prompt alone through complete().
//
// Values equal complete()'s for the same prompt up to floating-point rounding (the packed pass blocks its
// products differently); the serve tests measure the difference.
inline constexpr size_t kMinSharedPrefix = 8;
std::vector<CompletionResult> complete_packed(const Model& model, std::span<const std::vector<TokenId>> prompts,
                                              int top_k, bool next_token, ThreadPool& pool);

// The greedy token of one row of logits with its ln p and (top_k > 0) the top_k alternatives, most likely first,
// ties by lower id: what complete() generates from its logits (MultiSession's, for generations in flight together).
TokenLogprob greedy_of_logits(std::span<const float> logits, int top_k);

// Rows one complete_packed pass runs for these prompts (their tokens, each shared prefix counted once).
int64_t packed_prompt_rows(std::span<const std::vector<TokenId>> prompts);

}  // namespace lmzip

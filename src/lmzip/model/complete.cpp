// complete(): the prompt's log-probabilities (as Model::score) with alternatives, then greedy decoding.
#include "lmzip/model/complete.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lmzip/core/error.h"
#include "lmzip/kernels/logits.h"
#include "lmzip/model/forward.h"

namespace lmzip {
namespace {

constexpr int64_t kLogitRowsPerPass = 16;  // rows of full logits held at once ([16 x n_vocab] floats)

// ln sum_v exp(z[v]) in double.
double log_sum_exp(std::span<const float> z) {
  const float zmax = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (float v : z) sum += std::exp(static_cast<double>(v) - zmax);
  return zmax + std::log(sum);
}

// The k most likely (id, ln p) of one row of logits, most likely first, ties by lower id.
std::vector<std::pair<TokenId, double>> top_of_row(std::span<const float> z, int k) {
  const double lse = log_sum_exp(z);
  const size_t n = std::min<size_t>(static_cast<size_t>(k), z.size());
  std::vector<TokenId> ids(z.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), [&](TokenId a, TokenId b) {
    return z[static_cast<size_t>(a)] != z[static_cast<size_t>(b)] ? z[static_cast<size_t>(a)] > z[static_cast<size_t>(b)]
                                                                  : a < b;
  });
  std::vector<std::pair<TokenId, double>> top(n);
  for (size_t i = 0; i < n; ++i) top[i] = {ids[i], static_cast<double>(z[static_cast<size_t>(ids[i])]) - lse};
  return top;
}

// Fills entries[i].top with the top_k alternatives of the rows h[i]; the scored token's own entry takes its
// exact value (entries[i].logprob).
void add_alternatives(const Model& model, const std::vector<float>& h, std::span<TokenLogprob> entries, int top_k,
                      ThreadPool& pool) {
  const int64_t d = model.config().n_embd, v = model.config().n_vocab;
  const int64_t m = static_cast<int64_t>(entries.size());
  std::vector<float> logits(static_cast<size_t>(std::min(m, kLogitRowsPerPass) * v));
  for (int64_t r0 = 0; r0 < m; r0 += kLogitRowsPerPass) {
    const int64_t rows = std::min(kLogitRowsPerPass, m - r0);
    output_logits(model, h.data() + r0 * d, rows, logits.data(), /*deterministic=*/false, pool);
    for (int64_t r = 0; r < rows; ++r) {
      TokenLogprob& e = entries[static_cast<size_t>(r0 + r)];
      e.top = top_of_row(std::span<const float>(logits.data() + r * v, static_cast<size_t>(v)), top_k);
      for (auto& [id, lp] : e.top) {
        if (id == e.token) lp = e.logprob;
      }
    }
  }
}

// The greedy token after the row `row` of the state, with its log-probability and alternatives.
TokenLogprob greedy_step(const Model& model, const ForwardState& s, int64_t row, int top_k, ThreadPool& pool) {
  const int64_t v = model.config().n_vocab;
  const std::vector<int64_t> rows{row};
  const std::vector<float> h = final_norm_rows(model, s, rows, pool);
  std::vector<float> logits(static_cast<size_t>(v));
  output_logits(model, h.data(), 1, logits.data(), /*deterministic=*/false, pool);
  const auto best = top_of_row(logits, std::max(top_k, 1));
  TokenLogprob e{.token = best[0].first, .logprob = best[0].second, .top = {}};
  if (top_k > 0) e.top = best;
  return e;
}

}  // namespace

CompletionResult complete(const Model& model, std::span<const TokenId> prompt, const CompletionOptions& options,
                          ThreadPool& pool) {
  if (prompt.empty()) throw Error("complete: the prompt is empty");
  if (options.top_k < 0 || options.max_new_tokens < 0) throw Error("complete: negative top_k or max_new_tokens");
  check_tokens(model, prompt);
  const ModelConfig& c = model.config();
  const int64_t n = static_cast<int64_t>(prompt.size());
  CompletionResult result;
  ForwardState& s = thread_fast_state(c, n, n + options.max_new_tokens);
  // As Model::score for targets at positions 0..n-2: every row goes through the last layer.
  const bool score_prompt = options.prompt_logprobs && n > 1;
  forward_tokens(model, prompt, 0, s, pool, score_prompt ? 0 : n - 1);
  if (score_prompt) {
    const size_t m = static_cast<size_t>(n - 1);
    std::vector<int64_t> rows(m);
    std::vector<int32_t> targets(m);
    for (size_t i = 0; i < m; ++i) {
      rows[i] = static_cast<int64_t>(i);
      targets[i] = prompt[i + 1];
    }
    const std::vector<float> h = final_norm_rows(model, s, rows, pool);
    std::vector<double> nll(m);
    output_nll(h.data(), static_cast<int64_t>(m), model.weights().output, targets, nll.data(), pool, c.final_softcap);
    result.prompt.resize(m);
    for (size_t i = 0; i < m; ++i) result.prompt[i] = {.token = targets[i], .logprob = -nll[i], .top = {}};
    if (options.top_k > 0) add_alternatives(model, h, result.prompt, options.top_k, pool);
  }
  if (options.max_new_tokens == 0) return result;

  // Greedy decoding: the row after the prompt, then one token per pass on the cache.
  std::vector<TokenId> generated;
  int64_t pos = n, row = n - 1;
  for (int i = 0; i < options.max_new_tokens; ++i) {
    if (i > 0) {
      const TokenId last = generated.back();
      forward_tokens(model, std::span<const TokenId>(&last, 1), pos, s, pool, 0);
      ++pos;
      row = 0;
    }
    result.generated.push_back(greedy_step(model, s, row, options.top_k, pool));
    generated.push_back(result.generated.back().token);
    if (options.stop && options.stop(generated)) {
      result.stopped = true;
      break;
    }
  }
  return result;
}

}  // namespace lmzip

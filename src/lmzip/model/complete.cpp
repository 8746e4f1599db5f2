// complete(): the prompt's log-probabilities (as Model::score) with alternatives, then greedy decoding.
#include "lmzip/model/complete.h"

#include <algorithm>
#include <cmath>

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

// The k most likely (id, ln p) of one row of logits whose log-sum-exp is `lse`, most likely first, ties by lower
// id. One pass with a small sorted list (k is at most a few dozen).
std::vector<std::pair<TokenId, double>> top_of_row(std::span<const float> z, int k, double lse) {
  const size_t n = std::min<size_t>(static_cast<size_t>(k), z.size());
  std::vector<TokenId> best;  // sorted: larger logit first, then lower id
  best.reserve(n + 1);
  for (size_t i = 0; i < z.size(); ++i) {
    if (best.size() == n && !(z[i] > z[static_cast<size_t>(best.back())])) continue;  // ties keep the lower id
    size_t at = best.size();
    while (at > 0 && z[i] > z[static_cast<size_t>(best[at - 1])]) --at;
    best.insert(best.begin() + static_cast<std::ptrdiff_t>(at), static_cast<TokenId>(i));
    if (best.size() > n) best.pop_back();
  }
  std::vector<std::pair<TokenId, double>> top(best.size());
  for (size_t i = 0; i < best.size(); ++i) top[i] = {best[i], static_cast<double>(z[static_cast<size_t>(best[i])]) - lse};
  return top;
}

std::vector<std::pair<TokenId, double>> top_of_row(std::span<const float> z, int k) {
  return top_of_row(z, k, log_sum_exp(z));
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
  return greedy_of_logits(logits, top_k);
}

}  // namespace

TokenLogprob greedy_of_logits(std::span<const float> logits, int top_k) {
  const auto best = top_of_row(logits, std::max(top_k, 1));
  TokenLogprob e{.token = best[0].first, .logprob = best[0].second, .top = {}};
  if (top_k > 0) e.top = best;
  return e;
}

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

namespace {

constexpr int64_t kPackedLogitRows = 64;  // rows of full logits held at once by complete_packed

// Each entry's ln p and top_k alternatives from one output-layer pass over its row's full logits (blocks of
// kPackedLogitRows rows; the rows' log-sum-exp and top lists in parallel): the packed path computes the logits
// once where complete() runs output_nll and then the logits again, since its values must be Model::score's.
void score_from_logits(const Model& model, const std::vector<float>& h, std::span<TokenLogprob> entries, int top_k,
                       ThreadPool& pool) {
  const int64_t d = model.config().n_embd, v = model.config().n_vocab;
  const int64_t m = static_cast<int64_t>(entries.size());
  std::vector<float> logits(static_cast<size_t>(std::min(m, kPackedLogitRows) * v));
  for (int64_t r0 = 0; r0 < m; r0 += kPackedLogitRows) {
    const int64_t rows = std::min(kPackedLogitRows, m - r0);
    output_logits(model, h.data() + r0 * d, rows, logits.data(), /*deterministic=*/false, pool);
    pool.parallel_items(static_cast<size_t>(rows), [&](size_t r) {
      const std::span<const float> z(logits.data() + static_cast<int64_t>(r) * v, static_cast<size_t>(v));
      TokenLogprob& e = entries[static_cast<size_t>(r0) + r];
      const double lse = log_sum_exp(z);
      e.top = top_of_row(z, top_k, lse);
      e.logprob = static_cast<double>(z[static_cast<size_t>(e.token)]) - lse;
      for (auto& [id, lp] : e.top) {
        if (id == e.token) lp = e.logprob;
      }
    });
  }
}

// Prompts that share a prefix: members (indices into the prompts) and the shared length (0: no sharing).
struct PrefixGroup {
  std::vector<size_t> members;
  size_t shared = 0;
};

size_t common_prefix(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Each prompt joins the earlier group it shares the longest prefix with (at least kMinSharedPrefix tokens, and
// leaving every member one token of its own), else starts one. Deterministic in the prompts' order.
std::vector<PrefixGroup> group_by_prefix(std::span<const std::vector<TokenId>> prompts) {
  std::vector<PrefixGroup> groups;
  for (size_t i = 0; i < prompts.size(); ++i) {
    size_t best = SIZE_MAX, best_len = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& leader = prompts[groups[g].members[0]];
      size_t len = std::min(common_prefix(leader, prompts[i]), prompts[i].size() - 1);
      len = std::min(len, groups[g].members.size() == 1 ? leader.size() - 1 : groups[g].shared);
      if (len >= kMinSharedPrefix && len > best_len) best = g, best_len = len;
    }
    if (best == SIZE_MAX) {
      groups.push_back({.members = {i}, .shared = 0});
    } else {
      groups[best].members.push_back(i);
      groups[best].shared = best_len;
    }
  }
  return groups;
}

}  // namespace

int64_t packed_prompt_rows(std::span<const std::vector<TokenId>> prompts) {
  int64_t rows = 0;
  for (const PrefixGroup& g : group_by_prefix(prompts)) {
    rows += static_cast<int64_t>(g.shared);
    for (size_t m : g.members) rows += static_cast<int64_t>(prompts[m].size() - g.shared);
  }
  return rows;
}

std::vector<CompletionResult> complete_packed(const Model& model, std::span<const std::vector<TokenId>> prompts,
                                              int top_k, bool next_token, ThreadPool& pool) {
  if (top_k < 0) throw Error("complete_packed: negative top_k");
  for (const auto& p : prompts) {
    if (p.empty()) throw Error("complete_packed: a prompt is empty");
    check_tokens(model, p);
  }
  std::vector<CompletionResult> results(prompts.size());
  if (model.config().recurrent()) {  // no shared rows for a recurrent state: each prompt alone
    for (size_t i = 0; i < prompts.size(); ++i) {
      results[i] = complete(model, prompts[i], {.top_k = top_k, .prompt_logprobs = true,
                                                .max_new_tokens = next_token ? 1 : 0, .stop = {}}, pool);
    }
    return results;
  }
  // Layout: per group, its shared prefix as one chunk, then each member's own tokens as a chunk that continues
  // it. Scored (row, target) pairs are listed once where members share them (the prefix's own predictions).
  std::vector<TokenId> tokens;
  std::vector<SequenceChunk> chunks;
  std::vector<int64_t> rows;                     // per scored entry
  std::vector<TokenLogprob> entries;             // per scored entry: target (logprob filled below)
  std::vector<std::vector<size_t>> entry_of(prompts.size());  // per prompt position 0..n-2: its entry
  std::vector<int64_t> next_row(prompts.size());
  for (const PrefixGroup& g : group_by_prefix(prompts)) {
    const int64_t p0 = static_cast<int64_t>(tokens.size()), shared = static_cast<int64_t>(g.shared);
    const auto& leader = prompts[g.members[0]];
    std::vector<size_t> prefix_entries;  // positions 0..shared-2 of the prefix
    if (shared > 0) {
      tokens.insert(tokens.end(), leader.begin(), leader.begin() + shared);
      chunks.push_back({.n_tokens = shared, .first_pos = 0, .first_slot = p0, .own_begin = p0});
      for (int64_t j = 0; j + 1 < shared; ++j) {
        prefix_entries.push_back(entries.size());
        rows.push_back(p0 + j);
        entries.push_back({.token = leader[static_cast<size_t>(j + 1)], .logprob = 0, .top = {}});
      }
    }
    for (size_t m : g.members) {
      const auto& p = prompts[m];
      const int64_t n = static_cast<int64_t>(p.size()), own0 = static_cast<int64_t>(tokens.size());
      tokens.insert(tokens.end(), p.begin() + shared, p.end());
      SequenceChunk c{.n_tokens = n - shared, .first_pos = shared, .first_slot = own0, .own_begin = own0};
      if (shared > 0) c.prefix_begin = p0, c.prefix_end = p0 + shared;
      chunks.push_back(c);
      auto row_of = [&](int64_t pos) { return pos < shared ? p0 + pos : own0 + (pos - shared); };
      entry_of[m] = prefix_entries;
      for (int64_t j = std::max<int64_t>(shared - 1, 0); j + 1 < n; ++j) {
        entry_of[m].push_back(entries.size());
        rows.push_back(row_of(j));
        entries.push_back({.token = p[static_cast<size_t>(j + 1)], .logprob = 0, .top = {}});
      }
      next_row[m] = row_of(n - 1);
    }
  }
  const int64_t n_rows = static_cast<int64_t>(tokens.size());
  ForwardState& s = thread_fast_state(model.config(), n_rows, n_rows);
  forward_packed(model, tokens, chunks, s, pool);
  if (!entries.empty()) {
    const std::vector<float> h = final_norm_rows(model, s, rows, pool);
    std::vector<int32_t> targets(entries.size());
    for (size_t e = 0; e < entries.size(); ++e) targets[e] = entries[e].token;
    if (top_k == 0) {
      std::vector<double> nll(entries.size());
      output_nll(h.data(), static_cast<int64_t>(entries.size()), model.weights().output, targets, nll.data(), pool,
                 model.config().final_softcap);
      for (size_t e = 0; e < entries.size(); ++e) entries[e].logprob = -nll[e];
    } else {
      score_from_logits(model, h, entries, top_k, pool);
    }
  }
  for (size_t m = 0; m < prompts.size(); ++m) {
    for (size_t e : entry_of[m]) results[m].prompt.push_back(entries[e]);
  }
  if (next_token) {
    const std::vector<float> h = final_norm_rows(model, s, next_row, pool);
    const int64_t v = model.config().n_vocab, d = model.config().n_embd;
    std::vector<float> logits(static_cast<size_t>(v));
    for (size_t m = 0; m < prompts.size(); ++m) {
      output_logits(model, h.data() + static_cast<int64_t>(m) * d, 1, logits.data(), /*deterministic=*/false, pool);
      results[m].generated.push_back(greedy_of_logits(logits, top_k));
    }
  }
  return results;
}

}  // namespace lmzip

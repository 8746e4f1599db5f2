#include "lmzip/model/packed.h"

#include <algorithm>

#include "lmzip/core/error.h"
#include "lmzip/kernels/logits.h"
#include "lmzip/model/forward.h"

namespace lmzip {

int64_t packed_tokens(const ContextWithContinuations& request) {
  int64_t n = static_cast<int64_t>(request.context.size());
  for (const auto& c : request.continuations) n += std::max<int64_t>(0, static_cast<int64_t>(c.size()) - 1);
  return n;
}

namespace {

// A recurrent state cannot be shared by several continuations: each option runs after its own copy of the
// context, one sequence at a time (the same numbers, without the prefix sharing).
std::vector<std::vector<std::vector<double>>> score_continuations_separately(
    const Model& model, std::span<const ContextWithContinuations> requests, ThreadPool& pool) {
  std::vector<std::vector<std::vector<double>>> out(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const ContextWithContinuations& r = requests[i];
    if (r.context.empty()) throw Error("score_continuations: empty context");
    for (const auto& cont : r.continuations) {
      if (cont.empty()) throw Error("score_continuations: empty continuation");
      std::vector<TokenId> input(r.context.begin(), r.context.end());
      input.insert(input.end(), cont.begin(), cont.end() - 1);
      std::vector<ScoredTarget> targets;
      for (size_t t = 0; t < cont.size(); ++t) {
        targets.push_back({static_cast<uint32_t>(r.context.size() - 1 + t), cont[t]});
      }
      out[i].push_back(model.score(input, targets, pool));
    }
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::vector<double>>> score_continuations(const Model& model,
                                                                  std::span<const ContextWithContinuations> requests,
                                                                  ThreadPool& pool) {
  if (model.config().recurrent()) return score_continuations_separately(model, requests, pool);
  // Layout: per request, its context as one chunk, then each continuation but its last token as a chunk that
  // continues the context (positions after it, prefix = the context's slots). Slots are rows: the pass needs no
  // cache beyond itself.
  std::vector<TokenId> tokens;
  std::vector<SequenceChunk> chunks;
  std::vector<int64_t> out_rows;     // row whose output predicts each target
  std::vector<int32_t> targets;
  for (const ContextWithContinuations& r : requests) {
    if (r.context.empty()) throw Error("score_continuations: empty context");
    check_tokens(model, r.context);
    const int64_t ctx0 = static_cast<int64_t>(tokens.size()), n_ctx = static_cast<int64_t>(r.context.size());
    tokens.insert(tokens.end(), r.context.begin(), r.context.end());
    chunks.push_back({.n_tokens = n_ctx, .first_pos = 0, .first_slot = ctx0, .own_begin = ctx0});
    for (const auto& cont : r.continuations) {
      if (cont.empty()) throw Error("score_continuations: empty continuation");
      check_tokens(model, cont);
      out_rows.push_back(ctx0 + n_ctx - 1);
      targets.push_back(cont[0]);
      const int64_t n = static_cast<int64_t>(cont.size()) - 1, row0 = static_cast<int64_t>(tokens.size());
      if (n == 0) continue;
      tokens.insert(tokens.end(), cont.begin(), cont.end() - 1);
      chunks.push_back({.n_tokens = n, .first_pos = n_ctx, .first_slot = row0, .own_begin = row0,
                        .prefix_begin = ctx0, .prefix_end = ctx0 + n_ctx});
      for (int64_t t = 0; t < n; ++t) {
        out_rows.push_back(row0 + t);
        targets.push_back(cont[static_cast<size_t>(t + 1)]);
      }
    }
  }
  std::vector<std::vector<std::vector<double>>> out(requests.size());
  if (tokens.empty()) return out;
  const int64_t rows = static_cast<int64_t>(tokens.size());
  ForwardState& s = thread_fast_state(model.config(), rows, rows);
  forward_packed(model, tokens, chunks, s, pool);
  const std::vector<float> h = final_norm_rows(model, s, out_rows, pool);
  std::vector<double> nll(targets.size());
  if (!targets.empty()) {
    output_nll(h.data(), static_cast<int64_t>(targets.size()), model.weights().output, targets, nll.data(), pool,
               model.config().final_softcap);
  }
  // Targets were laid out request by request, continuation by continuation, token by token.
  size_t k = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    for (const auto& cont : requests[i].continuations) {
      out[i].emplace_back(nll.begin() + static_cast<long>(k), nll.begin() + static_cast<long>(k + cont.size()));
      k += cont.size();
    }
  }
  return out;
}

MultiSession::MultiSession(const Model& model, int n_sequences, int64_t max_context, bool deterministic)
    : model_(model), max_context_(max_context), deterministic_(deterministic),
      sizes_(static_cast<size_t>(std::max(n_sequences, 0)), 0) {
  if (n_sequences <= 0 || max_context <= 0) throw Error("MultiSession: n_sequences and max_context must be positive");
  // Sequence b owns cache slots [b * max_context, (b + 1) * max_context). Passes hold at most kMaxRows tokens.
  constexpr int64_t kMaxRows = 1024;
  state_ = std::make_unique<ForwardState>(model.config(), std::min(kMaxRows, n_sequences * max_context),
                                          n_sequences * max_context, deterministic, n_sequences);
}

MultiSession::~MultiSession() = default;

std::vector<std::vector<float>> MultiSession::append(std::span<const Append> entries, ThreadPool& pool) {
  std::vector<bool> seen(sizes_.size(), false);
  for (const Append& e : entries) {
    if (e.sequence < 0 || e.sequence >= n_sequences() || seen[static_cast<size_t>(e.sequence)]) {
      throw Error("MultiSession::append: sequence " + std::to_string(e.sequence) + " is out of range or repeated");
    }
    seen[static_cast<size_t>(e.sequence)] = true;
    if (e.tokens.empty()) throw Error("MultiSession::append: no tokens for sequence " + std::to_string(e.sequence));
    if (size(e.sequence) + static_cast<int64_t>(e.tokens.size()) > max_context_) {
      throw Error("MultiSession: " + std::to_string(size(e.sequence) + e.tokens.size()) +
                  " tokens exceed the context of " + std::to_string(max_context_));
    }
    check_tokens(model_, e.tokens);
  }
  const ModelConfig& c = model_.config();
  std::vector<std::vector<float>> logits(entries.size());
  std::vector<size_t> done(entries.size(), 0);
  size_t next = 0;  // first entry with tokens left
  while (next < entries.size()) {
    // Fill one pass with as many of the remaining tokens as fit, entry by entry (an entry may span passes).
    std::vector<TokenId> tokens;
    std::vector<SequenceChunk> chunks;
    std::vector<std::pair<size_t, int64_t>> finished;  // entry, its last row in this pass
    for (size_t i = next; i < entries.size() && static_cast<int64_t>(tokens.size()) < state_->max_batch; ++i) {
      const Append& e = entries[i];
      const size_t take = std::min(e.tokens.size() - done[i],
                                   static_cast<size_t>(state_->max_batch) - tokens.size());
      const int64_t base = int64_t{e.sequence} * max_context_;
      int64_t& len = sizes_[static_cast<size_t>(e.sequence)];
      chunks.push_back({.n_tokens = static_cast<int64_t>(take), .first_pos = len, .first_slot = base + len,
                        .own_begin = base, .state = e.sequence});
      tokens.insert(tokens.end(), e.tokens.begin() + static_cast<long>(done[i]),
                    e.tokens.begin() + static_cast<long>(done[i] + take));
      done[i] += take;
      len += static_cast<int64_t>(take);
      if (done[i] == e.tokens.size()) finished.emplace_back(i, static_cast<int64_t>(tokens.size()) - 1);
    }
    forward_packed(model_, tokens, chunks, *state_, pool);
    if (!finished.empty()) {
      std::vector<int64_t> rows;
      for (const auto& f : finished) rows.push_back(f.second);
      const std::vector<float> h = final_norm_rows(model_, *state_, rows, pool);
      std::vector<float> all(rows.size() * static_cast<size_t>(c.n_vocab));
      output_logits(model_, h.data(), static_cast<int64_t>(rows.size()), all.data(), deterministic_, pool);
      for (size_t k = 0; k < finished.size(); ++k) {
        logits[finished[k].first].assign(all.begin() + static_cast<long>(k * c.n_vocab),
                                         all.begin() + static_cast<long>((k + 1) * c.n_vocab));
      }
    }
    while (next < entries.size() && done[next] == entries[next].tokens.size()) ++next;
  }
  return logits;
}

}  // namespace lmzip

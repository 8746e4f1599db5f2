#include "lmzip/eval/engine_lm.h"

#include <algorithm>
#include <deque>
#include <optional>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/core/pystr.h"

namespace lmzip::eval {
namespace {

// lm-eval _encode_pair: n_spaces = len(context) - len(context.rstrip()), here in bytes of the UTF-8 text.
size_t trailing_space(const std::string& s) { return s.size() - py_rstrip(s).size(); }

TokenId argmax(const std::vector<float>& logits) {
  return static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace

EngineLanguageModel::EngineLanguageModel(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                         EngineOptions options)
    : model_(model), tokenizer_(tokenizer), pool_(pool), options_(options) {
  if (options_.max_context < 2) throw Error("eval: max_context must be at least 2");
  options_.batch_tokens = std::max<int64_t>(options_.batch_tokens, 1);
  options_.max_in_flight = std::max(options_.max_in_flight, 1);
}

EngineLanguageModel::~EngineLanguageModel() = default;

std::vector<TokenId> EngineLanguageModel::encode_context(const std::string& text) const {
  std::vector<TokenId> ids;
  if (options_.add_bos && tokenizer_.bos()) ids.push_back(*tokenizer_.bos());
  auto body = tokenizer_.encode(text, {.add_special = false});
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

ContextWithContinuations EngineLanguageModel::encode_request(const LoglikelihoodRequest& request) const {
  const size_t n_spaces = trailing_space(request.context);
  const std::string context = request.context.substr(0, request.context.size() - n_spaces);
  const std::string moved = request.context.substr(context.size());
  ContextWithContinuations r;
  r.context = encode_context(context);
  size_t longest = 1;
  for (const std::string& c : request.continuations) {
    std::vector<TokenId> whole = encode_context(context + moved + c);
    const size_t shared = std::min(r.context.size(), whole.size());
    r.continuations.emplace_back(whole.begin() + static_cast<long>(shared), whole.end());
    if (r.continuations.back().empty()) {
      throw Error("eval: the continuation '" + c + "' adds no token to its context");
    }
    longest = std::max(longest, r.continuations.back().size());
  }
  if (r.context.empty()) {
    if (!tokenizer_.bos()) throw Error("eval: an empty context needs a BOS token, and the vocabulary has none");
    r.context.push_back(*tokenizer_.bos());
  }
  // Keep the newest context tokens that fit with the longest continuation (lm-eval truncates on the left).
  const size_t room = static_cast<size_t>(std::max<int64_t>(1, options_.max_context - static_cast<int64_t>(longest)));
  if (r.context.size() > room) r.context.erase(r.context.begin(), r.context.end() - static_cast<long>(room));
  return r;
}

std::vector<std::vector<LanguageModel::Continuation>> EngineLanguageModel::loglikelihoods_batch(
    const std::vector<LoglikelihoodRequest>& requests) {
  std::vector<ContextWithContinuations> encoded;
  for (const auto& r : requests) encoded.push_back(encode_request(r));
  std::vector<std::vector<Continuation>> out(requests.size());
  // Pack consecutive requests into passes of at most batch_tokens tokens (a larger request runs alone).
  size_t first = 0;
  while (first < encoded.size()) {
    size_t last = first;
    int64_t tokens = packed_tokens(encoded[first]);
    while (last + 1 < encoded.size() && tokens + packed_tokens(encoded[last + 1]) <= options_.batch_tokens) {
      tokens += packed_tokens(encoded[++last]);
    }
    const auto nlls = score_continuations(model_, std::span(encoded).subspan(first, last - first + 1), pool_);
    for (size_t i = first; i <= last; ++i) {
      for (const auto& token_nlls : nlls[i - first]) {
        Continuation c;
        c.token_nlls = token_nlls;
        for (double x : token_nlls) c.loglikelihood -= x;
        out[i].push_back(std::move(c));
      }
    }
    tokens_computed_ += static_cast<uint64_t>(tokens);
    ++forward_passes_;
    first = last + 1;
  }
  return out;
}

std::vector<LanguageModel::Continuation> EngineLanguageModel::loglikelihoods(
    const std::string& context, const std::vector<std::string>& continuations) {
  return loglikelihoods_batch({{context, continuations}})[0];
}

std::vector<std::string> EngineLanguageModel::generate_batch(const std::vector<GenerationRequest>& requests) {
  std::vector<std::string> out(requests.size());
  if (requests.empty()) return out;
  if (!sessions_) {
    // Sequences whose caches fit in 1 GiB, at most max_in_flight.
    const ModelConfig& c = model_.config();
    // A KV cache per sequence (a recurrent model's state is small: count it as one cache row per layer).
    const double per_sequence =
        std::max(1.0, 2.0 * c.n_layer * options_.max_context * c.n_head_kv * c.head_dim * sizeof(float));
    const int n = std::clamp(static_cast<int>(double(1 << 30) / per_sequence), 1, options_.max_in_flight);
    sessions_ = std::make_unique<MultiSession>(model_, n, options_.max_context);
  }
  struct Live {
    size_t request;
    int64_t budget;
    std::vector<TokenId> generated;
  };
  std::vector<std::optional<Live>> slots(static_cast<size_t>(sessions_->n_sequences()));
  std::vector<std::vector<TokenId>> pending_input(slots.size());  // what each slot appends next
  std::deque<size_t> queue;
  for (size_t i = 0; i < requests.size(); ++i) queue.push_back(i);
  auto start = [&](size_t slot) {
    const size_t i = queue.front();
    queue.pop_front();
    const GenerationRequest& r = requests[i];
    std::vector<TokenId> ctx = encode_context(r.context);
    if (ctx.empty() && tokenizer_.bos()) ctx.push_back(*tokenizer_.bos());
    if (ctx.empty()) throw Error("eval: generation needs a context, and the vocabulary has no BOS token");
    const int64_t budget = std::clamp<int64_t>(r.max_tokens, 1, options_.max_context - 1);
    const size_t room = static_cast<size_t>(options_.max_context - budget);
    if (ctx.size() > room) ctx.erase(ctx.begin(), ctx.end() - static_cast<long>(room));
    sessions_->reset(static_cast<int>(slot));
    slots[slot] = Live{i, budget, {}};
    pending_input[slot] = std::move(ctx);
  };
  for (size_t s = 0; s < slots.size() && !queue.empty(); ++s) start(s);
  while (true) {
    std::vector<MultiSession::Append> entries;
    std::vector<size_t> entry_slot;
    for (size_t s = 0; s < slots.size(); ++s) {
      if (slots[s] && !pending_input[s].empty()) {
        entries.push_back({static_cast<int>(s), pending_input[s]});
        entry_slot.push_back(s);
        tokens_computed_ += pending_input[s].size();
      }
    }
    if (entries.empty()) break;
    const auto logits = sessions_->append(entries, pool_);
    ++forward_passes_;
    for (size_t e = 0; e < entries.size(); ++e) {
      const size_t s = entry_slot[e];
      Live& live = *slots[s];
      const GenerationRequest& r = requests[live.request];
      pending_input[s].clear();
      const TokenId next = argmax(logits[e]);
      bool finished = tokenizer_.eos() && next == *tokenizer_.eos();
      if (!finished) {
        live.generated.push_back(next);
        const std::string text = tokenizer_.decode(live.generated);
        finished = cut_at_stop(text, r.until).size() < text.size() ||
                   static_cast<int64_t>(live.generated.size()) >= live.budget;
        if (!finished) pending_input[s] = {next};
      }
      if (finished) {
        out[live.request] = cut_at_stop(tokenizer_.decode(live.generated), r.until);
        slots[s].reset();
        if (!queue.empty()) start(s);
      }
    }
  }
  return out;
}

std::string EngineLanguageModel::generate(const std::string& context, const std::vector<std::string>& until,
                                          int max_tokens) {
  return generate_batch({{context, until, max_tokens}})[0];
}

}  // namespace lmzip::eval

#include "lmzip/eval/engine_lm.h"

#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"

namespace lmzip::eval {
namespace {

// -ln softmax(logits)[target] in nats, in double.
double nll_of(std::span<const float> logits, TokenId target) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float z : logits) sum += std::exp(static_cast<double>(z) - max);
  return max + std::log(sum) - logits[static_cast<size_t>(target)];
}

size_t trailing_space(const std::string& s) { return s.size() - py_strip("x" + s).size() + 1; }

}  // namespace

SessionLanguageModel::SessionLanguageModel(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                           EngineOptions options)
    : model_(model), tokenizer_(tokenizer), pool_(pool), options_(options), session_(model, options.max_context, /*max_batch=*/512) {}

std::vector<TokenId> SessionLanguageModel::encode_context(const std::string& text) const {
  std::vector<TokenId> ids;
  if (options_.add_bos && tokenizer_.bos()) ids.push_back(*tokenizer_.bos());
  auto body = tokenizer_.encode(text, {.add_special = false});
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

void SessionLanguageModel::append(std::span<const TokenId> tokens) {
  session_.append(tokens, pool_);
  tokens_computed_ += tokens.size();
}

std::vector<LanguageModel::Continuation> SessionLanguageModel::loglikelihoods(
    const std::string& context_in, const std::vector<std::string>& continuations) {
  const size_t n_spaces = trailing_space(context_in);
  const std::string context = context_in.substr(0, context_in.size() - n_spaces);
  const std::string moved = context_in.substr(context.size());
  std::vector<TokenId> ctx = encode_context(context);
  std::vector<std::vector<TokenId>> conts;
  size_t longest = 1;
  for (const std::string& c : continuations) {
    std::vector<TokenId> whole = encode_context(context + moved + c);
    size_t shared = std::min(ctx.size(), whole.size());
    conts.emplace_back(whole.begin() + static_cast<long>(shared), whole.end());
    longest = std::max(longest, conts.back().size());
  }
  if (ctx.empty()) {
    if (!tokenizer_.bos()) throw Error("eval: an empty context needs a BOS token, and the vocabulary has none");
    ctx.push_back(*tokenizer_.bos());
  }
  // Keep the newest context tokens that fit with the longest continuation (lm-eval truncates on the left).
  const size_t room = static_cast<size_t>(std::max<int64_t>(1, options_.max_context - static_cast<int64_t>(longest)));
  if (ctx.size() > room) ctx.erase(ctx.begin(), ctx.end() - static_cast<long>(room));

  std::vector<Continuation> out;
  if (!options_.share_prefix) {
    for (const auto& cont : conts) out.push_back(score_from_scratch(ctx, cont));
    return out;
  }
  session_.reset();
  append(ctx);
  const std::vector<float> context_logits(session_.logits().begin(), session_.logits().end());
  for (const auto& cont : conts) {
    Continuation c;
    for (size_t i = 0; i < cont.size(); ++i) {
      if (i > 0) append(std::span<const TokenId>(&cont[i - 1], 1));
      double nll = i == 0 ? nll_of(context_logits, cont[0]) : nll_of(session_.logits(), cont[i]);
      c.token_nlls.push_back(nll);
      c.loglikelihood -= nll;
    }
    session_.truncate(static_cast<int64_t>(ctx.size()));
    out.push_back(std::move(c));
  }
  return out;
}

LanguageModel::Continuation SessionLanguageModel::score_from_scratch(const std::vector<TokenId>& ctx,
                                                                     const std::vector<TokenId>& cont) {
  std::vector<TokenId> input = ctx;
  input.insert(input.end(), cont.begin(), cont.end());
  std::vector<ScoredTarget> targets;
  for (size_t p = ctx.size(); p < input.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), input[p]});
  Continuation c;
  c.token_nlls = model_.score(input, targets, pool_);
  for (double nll : c.token_nlls) c.loglikelihood -= nll;
  tokens_computed_ += input.size();
  return c;
}

std::string SessionLanguageModel::generate(const std::string& context, const std::vector<std::string>& until,
                                           int max_tokens) {
  std::vector<TokenId> ctx = encode_context(context);
  if (ctx.empty() && tokenizer_.bos()) ctx.push_back(*tokenizer_.bos());
  LMZIP_CHECK(!ctx.empty(), "generation needs a context");
  const int64_t budget = std::clamp<int64_t>(max_tokens, 1, options_.max_context - 1);
  const size_t room = static_cast<size_t>(options_.max_context - budget);
  if (ctx.size() > room) ctx.erase(ctx.begin(), ctx.end() - static_cast<long>(room));
  session_.reset();
  append(ctx);
  std::vector<TokenId> generated;
  std::string text;
  for (int64_t step = 0; step < budget; ++step) {
    auto logits = session_.logits();
    const TokenId next = static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (tokenizer_.eos() && next == *tokenizer_.eos()) break;
    generated.push_back(next);
    text = tokenizer_.decode(generated);
    if (cut_at_stop(text, until).size() < text.size()) break;
    if (step + 1 < budget) append(std::span<const TokenId>(&next, 1));
  }
  return cut_at_stop(text, until);
}

}  // namespace lmzip::eval

#include "lmzip/model/session.h"

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/ops.h"
#include "lmzip/kernels/reduce.h"
#include "lmzip/model/forward.h"

namespace lmzip {

Session::Session(const Model& model, int64_t max_context, int64_t max_batch) : model_(model) {
  if (max_context <= 0 || max_batch <= 0) throw Error("Session: max_context and max_batch must be positive");
  state_ = std::make_unique<ForwardState>(model.config(), std::min(max_batch, max_context), max_context,
                                          /*deterministic=*/true);
}

Session::~Session() = default;

int64_t Session::max_context() const { return state_->max_context; }

void Session::reset() {
  n_tokens_ = 0;
  logits_.clear();
}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_tokens_) {
    throw Error("Session::truncate: " + std::to_string(n) + " is outside 0.." + std::to_string(n_tokens_));
  }
  if (!can_truncate() && n != 0 && n != n_tokens_) {
    throw Error(model_.file_name() + ": Session::truncate: a " + model_.config().architecture +
                " model keeps a recurrent state, which cannot go back to an earlier position (use reset())");
  }
  n_tokens_ = n;
  logits_.clear();
}

void Session::append(std::span<const TokenId> tokens, ThreadPool& pool) {
  if (tokens.empty()) return;
  check_tokens(model_, tokens);
  if (n_tokens_ + static_cast<int64_t>(tokens.size()) > state_->max_context) {
    throw Error("Session: " + std::to_string(n_tokens_ + tokens.size()) + " tokens exceed the context of " +
                std::to_string(state_->max_context) + " the session was created with");
  }
  const ModelConfig& c = model_.config();
  size_t done = 0;
  while (done < tokens.size()) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(state_->max_batch));
    forward_tokens(model_, tokens.subspan(done, n), n_tokens_, *state_, pool);
    n_tokens_ += static_cast<int64_t>(n);
    done += n;
    if (done == tokens.size()) {
      // logits[n_vocab] = output · output_norm(x of the last token)
      const int64_t last = static_cast<int64_t>(n) - 1;
      const std::vector<float> h = final_norm_rows(model_, *state_, std::span<const int64_t>(&last, 1), pool);
      logits_.resize(static_cast<size_t>(c.n_vocab));
      output_logits(model_, h.data(), 1, logits_.data(), /*deterministic=*/true, pool);
    }
  }
}

double Session::nll(TokenId target) const {
  LMZIP_CHECK(!logits_.empty(), "Session::nll before any append()");
  if (target < 0 || target >= static_cast<TokenId>(logits_.size())) {
    throw Error("Session::nll: token id " + std::to_string(target) + " is outside the vocabulary");
  }
  const float max = max_of(logits_.data(), static_cast<int64_t>(logits_.size()));
  // logsumexp in double from the float exps, in index order.
  double sum = 0;
  for (float z : logits_) sum += exp_approx(z - max);
  return max + std::log(sum) - logits_[static_cast<size_t>(target)];
}

}  // namespace lmzip

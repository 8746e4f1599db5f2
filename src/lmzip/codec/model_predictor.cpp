#include "lmzip/codec/model_predictor.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <utility>

#include "lmzip/codec/fingerprint.h"
#include "lmzip/core/error.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/packed.h"
#include "lmzip/model/session.h"

namespace lmzip::codec {
namespace {

// The build's floating-point feature class. The engine's fixed-order kernels give the same floats for every
// thread count and every split of the tokens, but a build with FMA (contracted a*b+c) or another vector ISA may
// round differently, so files name the class they were made with.
std::string numerics_class() {
  std::string c;
#if defined(__x86_64__)
  c = "x86-64";
#elif defined(__aarch64__)
  c = "arm64";
#else
  c = "other";
#endif
#if defined(__AVX512F__)
  c += "+avx512f";
#elif defined(__AVX2__)
  c += "+avx2";
#elif defined(__AVX__)
  c += "+avx";
#endif
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  c += "+fma";
#endif
  return c;
}

// The engine's Session, one token at a time: after reset() (and BOS), each next_logits() appends the one
// pending token (the KV cache keeps the rest) and reads the full-vocabulary logits of the last position.
class EnginePredictor : public TokenPredictor {
 public:
  EnginePredictor(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens, int threads)
      : bos_(bos), session_(model, static_cast<int64_t>(max_tokens) + 1, 1), pool_(threads),
        vocab_(static_cast<size_t>(model.config().n_vocab)) {
    reset();
  }
  size_t vocab_size() const override { return vocab_; }

  void reset() override {
    session_.reset();
    pending_ = bos_;
  }

  void next_logits(std::vector<float>& logits) override {
    if (pending_) {
      TokenId token = *pending_;
      pending_.reset();
      session_.append(std::span<const TokenId>(&token, 1), pool_);
    }
    std::span<const float> l = session_.logits();
    if (l.empty()) {
      logits.assign(vocab_, 0.0f);  // no context at all (no BOS, first token): uniform
    } else {
      logits.assign(l.begin(), l.end());
    }
  }

  void accept(TokenId token) override {
    if (pending_) {  // logits were never asked for: still keep the context complete
      TokenId previous = *pending_;
      session_.append(std::span<const TokenId>(&previous, 1), pool_);
    }
    pending_ = token;
  }

 private:
  std::optional<TokenId> bos_;
  Session session_;
  ThreadPool pool_;
  size_t vocab_;
  std::optional<TokenId> pending_;  // appended before the next logits are read
};

// The shared state of lockstep predictors: one deterministic MultiSession, a slot per predictor, and a step
// barrier. A step runs when every slot with a segment in progress has asked for one; the last to ask (or a
// waiter woken by a segment's end) runs the pass for all of them.
class LockstepEngine {
 public:
  LockstepEngine(const Model& model, int slots, uint32_t max_tokens, int cpu_threads)
      : sessions_(model, slots, static_cast<int64_t>(max_tokens) + 1, /*deterministic=*/true), pool_(cpu_threads),
        active_(static_cast<size_t>(slots), false), request_(static_cast<size_t>(slots)),
        logits_(static_cast<size_t>(slots)), served_(static_cast<size_t>(slots), false),
        errors_(static_cast<size_t>(slots)) {}

  int acquire() {
    std::lock_guard lock(mutex_);
    if (next_slot_ >= static_cast<int>(active_.size())) throw Error("lockstep predictor: no free slot");
    return next_slot_++;
  }

  void begin(int slot) {
    std::lock_guard lock(mutex_);
    sessions_.reset(slot);  // the slot is not in any pass: only this thread touches its sequence
    if (!active_[static_cast<size_t>(slot)]) ++n_active_;
    active_[static_cast<size_t>(slot)] = true;
  }

  void end(int slot) {
    std::lock_guard lock(mutex_);
    if (!active_[static_cast<size_t>(slot)]) return;
    active_[static_cast<size_t>(slot)] = false;
    --n_active_;
    cv_.notify_all();  // the others may be complete now
  }

  // Appends `token` to the slot's sequence; returns the logits after it once a step has served it. A slot whose
  // segment began while a pass was running asks during that pass: it is served by the next one.
  std::vector<float> step(int slot, TokenId token) {
    const size_t s = static_cast<size_t>(slot);
    std::unique_lock lock(mutex_);
    request_[s] = token;
    served_[s] = false;
    ++n_requests_;
    while (!served_[s]) {
      if (!running_ && n_requests_ == n_active_) {
        run_step(lock);
      } else {
        cv_.wait(lock);
      }
    }
    if (errors_[s]) std::rethrow_exception(std::exchange(errors_[s], nullptr));
    return std::move(logits_[s]);
  }

 private:
  // Called with the lock held; runs the pass without it.
  void run_step(std::unique_lock<std::mutex>& lock) {
    running_ = true;
    std::vector<MultiSession::Append> entries;
    std::vector<TokenId> tokens(request_.size());
    for (size_t s = 0; s < request_.size(); ++s) {
      if (!request_[s]) continue;
      tokens[s] = *request_[s];
      request_[s].reset();
      entries.push_back({static_cast<int>(s), std::span<const TokenId>(&tokens[s], 1)});
    }
    n_requests_ -= static_cast<int>(entries.size());
    lock.unlock();
    std::vector<std::vector<float>> out;
    std::exception_ptr error;
    try {
      out = sessions_.append(entries, pool_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    for (size_t e = 0; e < entries.size(); ++e) {
      const size_t s = static_cast<size_t>(entries[e].sequence);
      if (error) errors_[s] = error;
      else logits_[s] = std::move(out[e]);
      served_[s] = true;
    }
    running_ = false;
    cv_.notify_all();
  }

  MultiSession sessions_;
  ThreadPool pool_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<bool> active_;
  std::vector<std::optional<TokenId>> request_;
  std::vector<std::vector<float>> logits_;
  std::vector<bool> served_;
  std::vector<std::exception_ptr> errors_;
  int next_slot_ = 0, n_active_ = 0, n_requests_ = 0;  // n_requests_: asked and not yet taken by a pass
  bool running_ = false;
};

// EnginePredictor's protocol (BOS, one pending token appended before the next logits) over a lockstep slot.
class LockstepPredictor : public TokenPredictor {
 public:
  LockstepPredictor(std::shared_ptr<LockstepEngine> engine, std::optional<TokenId> bos, size_t vocab)
      : engine_(std::move(engine)), slot_(engine_->acquire()), bos_(bos), vocab_(vocab) {}
  ~LockstepPredictor() override { engine_->end(slot_); }
  size_t vocab_size() const override { return vocab_; }

  void reset() override {
    engine_->begin(slot_);
    pending_ = bos_;
    logits_.clear();
  }

  void next_logits(std::vector<float>& logits) override {
    if (pending_) {
      logits_ = engine_->step(slot_, *pending_);
      pending_.reset();
    }
    if (logits_.empty()) {
      logits.assign(vocab_, 0.0f);  // no context at all (no BOS, first token): uniform
    } else {
      logits = logits_;
    }
  }

  void accept(TokenId token) override {
    if (pending_) logits_ = engine_->step(slot_, *pending_);  // keep the context complete
    pending_ = token;
  }

  void end_segment() override { engine_->end(slot_); }

 private:
  std::shared_ptr<LockstepEngine> engine_;
  int slot_;
  std::optional<TokenId> bos_;
  size_t vocab_;
  std::optional<TokenId> pending_;
  std::vector<float> logits_;
};

void check_segment_context(const Model& model, uint32_t max_tokens) {
  if (model.config().n_ctx_train > 0 && max_tokens + 1 > static_cast<uint32_t>(model.config().n_ctx_train)) {
    throw Error(model.file_name() + ": segments of " + std::to_string(max_tokens) +
                " tokens exceed the model's context of " + std::to_string(model.config().n_ctx_train) +
                " positions; use a smaller --segment-tokens");
  }
}

}  // namespace

std::string engine_predictor_id(const Model& model) {
  return "lmzip-session-1/" + model.config().architecture + "/" + numerics_class();
}

ModelIdentity identify_model(const GgufFile& file, const Model& model, const Tokenizer& tokenizer) {
  std::string name = file.get_string("general.name").value_or(std::filesystem::path(file.name()).filename());
  if (name.size() > 256) name.resize(256);
  return {.name = name,
          .predictor_id = engine_predictor_id(model),
          .tokenizer_hash = tokenizer_fingerprint(tokenizer.vocab()),
          .weights_hash = weights_fingerprint(file),
          .vocab_size = static_cast<uint32_t>(model.config().n_vocab)};
}

PredictorFactory engine_predictor_factory(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens,
                                          int threads_each) {
  check_segment_context(model, max_tokens);
  return [&model, bos, max_tokens, threads_each] {
    return std::make_unique<EnginePredictor>(model, bos, max_tokens, std::max(1, threads_each));
  };
}

}  // namespace lmzip::codec

namespace lmzip::codec {

int lockstep_slots(const Model& model, uint32_t max_tokens, uint64_t wanted) {
  const ModelConfig& c = model.config();
  const double per_slot = std::max(1.0, 2.0 * c.n_layer * (max_tokens + 1.0) * c.n_head_kv * c.head_dim * sizeof(float));
  const double fit = std::max(1.0, double(1 << 30) / per_slot);
  return static_cast<int>(std::clamp<double>(static_cast<double>(wanted), 1.0, std::min(fit, 64.0)));
}

PredictorFactory lockstep_predictor_factory(const Model& model, std::optional<TokenId> bos, uint32_t max_tokens,
                                            int slots, int cpu_threads) {
  check_segment_context(model, max_tokens);
  auto engine = std::make_shared<LockstepEngine>(model, std::max(1, slots), max_tokens, std::max(1, cpu_threads));
  const size_t vocab = static_cast<size_t>(model.config().n_vocab);
  return [engine, bos, vocab] { return std::make_unique<LockstepPredictor>(engine, bos, vocab); };
}

}  // namespace lmzip::codec

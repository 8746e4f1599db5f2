// The codec's view of a language model: the next-token distribution given the tokens so far in a segment.
//
// The codec needs nothing else from a model, so it is tested with a small count model (CountPredictor) and
// runs on the real engine through an adapter (model_predictor.h). A predictor is used by one thread at a
// time; a PredictorFactory makes one per worker thread and must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip::codec {

class TokenPredictor {
 public:
  virtual ~TokenPredictor() = default;
  virtual size_t vocab_size() const = 0;
  // Starts a new segment: a fresh context (the predictor adds BOS itself when its model wants one).
  virtual void reset() = 0;
  // Logits (vocab_size() floats) of the next token. Must be a pure function of the tokens accepted since
  // reset(): identical on every call, thread count and machine of the same `id()`.
  virtual void next_logits(std::vector<float>& logits) = 0;
  // Appends the token just coded to the context.
  virtual void accept(TokenId token) = 0;
  // The segment begun by reset() is over (coded, or abandoned by an error): the predictor may let others run
  // without it (the lockstep engine predictor waits for every segment in progress before a step).
  virtual void end_segment() {}
  // Logits after each prefix of `tokens` (position i: the distribution of tokens[i]), delivered in order;
  // leaves the context after all of them. The default calls next_logits/accept; a model may batch, but must
  // produce the very same floats.
  virtual void logits_for(std::span<const TokenId> tokens,
                          const std::function<void(size_t, const std::vector<float>&)>& on_logits);
};

using PredictorFactory = std::function<std::unique_ptr<TokenPredictor>()>;

// What identifies a predictor in the .lmz header: the decoder's must match the encoder's.
struct ModelIdentity {
  std::string name;          // for messages only
  std::string predictor_id;  // predictor and numerics class, e.g. "llama/f32/avx2" (<= 256 bytes)
  uint64_t tokenizer_hash = 0;
  uint64_t weights_hash = 0;
  uint32_t vocab_size = 0;
};

// A deterministic adaptive model over token ids for tests and benchmarks: blended order-0/1 counts,
// logits = an integer log2 of the smoothed counts. Fast and bit-exact everywhere, a stand-in for a language model.
class CountPredictor : public TokenPredictor {
 public:
  explicit CountPredictor(size_t vocab_size, std::optional<TokenId> bos = std::nullopt);
  size_t vocab_size() const override { return vocab_; }
  void reset() override;
  void next_logits(std::vector<float>& logits) override;
  void accept(TokenId token) override;

 private:
  size_t vocab_;
  std::optional<TokenId> bos_;
  std::vector<uint32_t> order0_;
  std::vector<std::vector<std::pair<TokenId, uint32_t>>> order1_;  // previous token -> (next, count)
  std::vector<uint64_t> counts_;                                    // scratch: smoothed counts
  TokenId prev_ = -1;
};

}  // namespace lmzip::codec

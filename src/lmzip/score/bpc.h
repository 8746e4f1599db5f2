// Bits per character of a model on a corpus: tokenize, plan windows under a protocol, run them through a
// scorer (the model), and sum nats in double. The scorer is a function so that tests can use exact toy models
// and the CLI can plug in the engine; nothing here knows about the model's internals.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/score/corpus.h"
#include "lmzip/score/protocol.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct ScoreTarget {
  uint32_t position;  // output position within the window
  TokenId token;      // the token that output must predict
};

// Runs one window: -ln p(target) in nats for each target, in order.
using WindowScorer =
    std::function<std::vector<double>(std::span<const TokenId> input, std::span<const ScoreTarget> targets)>;

// Runs several windows of one length at once (a GPU engine): for each, -ln p(target) per target, in order.
struct WindowInput {
  std::span<const TokenId> input;
  std::span<const ScoreTarget> targets;
};
using BatchScorer = std::function<std::vector<std::vector<double>>(std::span<const WindowInput> windows)>;

struct DocScore {
  double nats = 0;
  uint64_t scored_tokens = 0;
  uint64_t chars = 0;  // Unicode code points
  uint64_t bytes = 0;  // UTF-8 bytes
};

struct BpcResult {
  uint64_t documents = 0, chars = 0, bytes = 0, tokens = 0, windows = 0, scored_tokens = 0;
  double total_nats = 0;
  std::vector<DocScore> per_doc;
  double seconds = 0;         // wall time of the scoring run (this process)
  uint64_t scored_this_run = 0;  // targets scored by this process (excludes those restored from a checkpoint)
  bool resumed = false;       // part of the sums came from a checkpoint

  double bpc() const;
  double bpb() const;
  double bits_per_token() const;
  double ppl() const;  // exp(mean nats over scored tokens)
  // Uncheatable Eval's compression rate in percent: total nats / ln 2 / 8 / bytes × 100 (= BPB × 12.5).
  double compression_rate() const;
};

// Everything decided before the model runs.
struct ScoringPlan {
  ProtocolParams params;
  TokenStream stream;
  std::vector<Window> windows;
  std::vector<DocScore> docs;  // chars and bytes per document (sums filled by the run)
  uint64_t chars = 0, bytes = 0;
  uint64_t scored_tokens = 0;  // planned
};

// The token every uncheatable chunk starts with under `mode`: BOS, EOS, or the first token of the tokenizer's
// encoding of "\n" with its default special tokens (Uncheatable Eval's `tokenizer.encode("\n")[0]`, which is
// BOS for a tokenizer that adds BOS). lmzip::Error when the tokenizer lacks the token.
TokenId uncheatable_prefix(BosMode mode, const Tokenizer& tokenizer);

// Tokenizes the corpus (documents in parallel over `threads`) and plans the windows. lmzip::Error when the plan
// is empty (e.g. a corpus shorter than one hkust window), with the fix.
ScoringPlan plan_scoring(const Corpus& corpus, const Tokenizer& tokenizer, const ProtocolParams& params,
                         int threads);

struct ScoringProgress {
  size_t windows_done, windows_total;
  uint64_t scored_done, scored_total;
  double seconds;  // since this run started
};

struct RunOptions {
  std::string checkpoint_path;  // empty: no checkpoint
  std::string run_id;           // identifies model + arguments; a checkpoint with another run_id is refused
  std::string corpus_key;       // identifies the corpus within the checkpoint (e.g. its sha256 + field)
  double checkpoint_every_seconds = 20;
  std::function<void(const ScoringProgress&)> on_progress{};
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGINT): save the checkpoint and throw Interrupted
  // Optional: up to batch_windows consecutive windows of equal length go to batch_scorer in one call (the sums,
  // checkpoints and progress are still kept window by window, in order); otherwise `scorer` runs each window.
  BatchScorer batch_scorer{};
  size_t batch_windows = 1;
  // A shard (score/shard.h): only windows [first_window, end_window) of the plan run, and on_window receives
  // each one's nats in order. The result's sums then cover those windows only. No checkpoint with a range.
  size_t first_window = 0;
  size_t end_window = SIZE_MAX;
  std::function<void(size_t window, std::span<const double> nats)> on_window{};
};

// Thrown when RunOptions::cancel was set; the checkpoint (if any) is saved.
class Interrupted : public Error {
 public:
  using Error::Error;
};

BpcResult run_scoring(const ScoringPlan& plan, const WindowScorer& scorer, const RunOptions& options);

}  // namespace lmzip

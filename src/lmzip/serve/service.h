// lmzip serve's endpoints without sockets: an HTTP request (method, path, body, Authorization header) in, a
// status and a JSON body out. The CLI (src/cli/serve.cpp) adapts cpp-httplib to handle(); tests call it
// directly.
//
// The model runs on one engine thread (so the forward pass's per-thread state exists once), taking work in
// arrival order. Scoring requests (max_tokens 0 or 1: what lm-eval's loglikelihood sends) waiting together are
// gathered into one packed pass of at most max_batch_tokens rows, prompts with a common prefix sharing its rows
// (model/complete.h: complete_packed); a request alone in its pass runs exactly as lmzip bpc scores it, so its
// values equal bpc's bit for bit, and in a shared pass they equal them up to rounding (the tests measure it).
// Generations (max_tokens > 1, no echoed log-probabilities) waiting together run in flight together, one token
// per sequence per pass (model/packed.h: MultiSession), again within rounding of one at a time; a generation
// with echoed log-probabilities and /v1/lmzip/bpc run alone. Waiting requests beyond max_queue get 503 with
// Retry-After; a request whose client has gone, or that waited past its timeout, is dropped unrun.
//
//   POST /v1/completions   legacy OpenAI completions: echo + logprobs over the prompt, greedy generation
//   POST /v1/lmzip/bpc     documents in, lmzip bpc --json's result out (when ServiceOptions::bpc_json is set)
//   GET  /v1/models        the one model
//   POST /tokenize, POST /detokenize, GET /tokenizer_info   vLLM's schema (lm-eval's remote tokenizer)
//   GET  /health, GET /metrics (Prometheus text)
//   POST /v1/chat/completions: 404 with a message (chat is not served)
//
// Thread safety: handle() may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/complete.h"
#include "lmzip/model/model.h"
#include "lmzip/score/bpc.h"
#include "lmzip/score/corpus.h"
#include "lmzip/serve/protocol.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::serve {

struct ServiceOptions {
  std::string model_name;        // what /v1/models lists and responses name
  int64_t max_tokens_per_request = 2048;  // per prompt: prompt tokens + max_tokens
  int64_t context_length = 2048;           // reported as max_model_len / model_max_length
  double request_timeout_s = 600;          // a request still running after this many seconds gets 504
  int max_queue = 64;                      // requests waiting for the model beyond this get 503
  std::string api_key;                     // non-empty: every endpoint but /health needs "Bearer KEY"
  int64_t max_batch_tokens = 4096;         // rows of one packed scoring pass (a longer prompt runs alone)
  int threads = 1;                         // reported in /v1/lmzip/bpc results
  // The /v1/lmzip/bpc result object (lmzip bpc --json's, built by the CLI, which knows the model's provenance);
  // unset: the endpoint answers 404.
  std::function<nlohmann::json(const BpcResult&, const ProtocolParams&, const Corpus&)> bpc_json;
};

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string path;           // without the query string
  std::string body;
  std::string authorization;  // the Authorization header ("" when absent)
  std::function<bool()> client_gone;  // true once the client closed its connection (may be unset)
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

class Service {
 public:
  Service(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, ServiceOptions options);
  ~Service();  // finishes the request the engine is running; queued ones get 503
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  HttpResponse handle(const HttpRequest& request);

  // The engine behind POST /v1/completions (runs on the engine thread, waiting its turn); ApiError for what the
  // client got wrong.
  nlohmann::ordered_json complete(const CompletionRequest& request, std::function<bool()> client_gone = {});
  const Limits& limits() const { return limits_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Job;
  class StopRule;
  // Runs on the engine thread.
  void engine_loop();
  void run_alone(Job& job);
  void run_packed(std::vector<std::shared_ptr<Job>>& jobs);
  void run_generations(std::vector<std::shared_ptr<Job>>& jobs);
  static constexpr size_t kMaxGenerations = 64;  // sequences generating together
  Choice run_prompt(const std::vector<TokenId>& prompt, const CompletionRequest& request, const Job& job);
  Choice make_choice(const std::vector<TokenId>& prompt, const CompletionRequest& request, const CompletionResult& res,
                     const StopRule& stop);
  nlohmann::json bpc(const Job& job);
  // Queues the job and waits for it (until its deadline): the engine's result, or the ApiError it threw.
  void submit(const std::shared_ptr<Job>& job);
  HttpResponse route(const HttpRequest& request);
  nlohmann::json tokenizer_info() const;
  std::string metrics() const;
  void observe_latency(double seconds);

  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  ServiceOptions options_;
  Limits limits_;
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;  // under queue_mutex_
  std::thread engine_;
  std::atomic<int> waiting_{0};
  std::atomic<uint64_t> requests_{0}, errors_{0}, scored_tokens_{0}, generated_tokens_{0}, completion_id_{0};
  std::atomic<uint64_t> busy_microseconds_{0}, passes_{0}, packed_prompts_{0}, dropped_{0};
  static constexpr double kLatencyBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  static constexpr size_t kLatencyBuckets = sizeof kLatencyBounds / sizeof kLatencyBounds[0];
  mutable std::mutex latency_mutex_;
  uint64_t latency_counts_[kLatencyBuckets + 1] = {};  // per bucket (not cumulative); the last: above all bounds
  double latency_sum_ = 0;
};

// Constant-time comparison of an Authorization header with "Bearer " + key.
bool authorized(const std::string& header, const std::string& key);

}  // namespace lmzip::serve

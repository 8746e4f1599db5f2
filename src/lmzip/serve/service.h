// lmzip serve's endpoints without sockets: an HTTP request (method, path, body, Authorization header) in, a
// status and a JSON body out. The CLI (src/cli/serve.cpp) adapts cpp-httplib to handle(); tests call it
// directly. The model runs on one engine thread, one request at a time, taking requests in arrival order (so the
// forward pass's per-thread state exists once); waiting requests beyond max_queue get 503 with Retry-After.
//
//   POST /v1/completions   legacy OpenAI completions: echo + logprobs over the prompt, greedy generation
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
#include <mutex>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
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
};

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string path;           // without the query string
  std::string body;
  std::string authorization;  // the Authorization header ("" when absent)
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
  nlohmann::ordered_json complete(const CompletionRequest& request);
  const Limits& limits() const { return limits_; }

 private:
  using Clock = std::chrono::steady_clock;
  Choice run_prompt(const std::vector<TokenId>& prompt, const CompletionRequest& request, Clock::time_point deadline);
  HttpResponse route(const HttpRequest& request);
  nlohmann::json tokenizer_info() const;
  std::string metrics() const;

  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  ServiceOptions options_;
  Limits limits_;
  void engine_loop();
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<bool> stopping_{false};
  std::thread engine_;
  std::atomic<int> waiting_{0};
  std::atomic<uint64_t> requests_{0}, errors_{0}, scored_tokens_{0}, generated_tokens_{0}, completion_id_{0};
  std::atomic<uint64_t> busy_microseconds_{0};
};

// Constant-time comparison of an Authorization header with "Bearer " + key.
bool authorized(const std::string& header, const std::string& key);

}  // namespace lmzip::serve

// The endpoints (service.h): routing, the completions engine glue and the tokenizer endpoints.
#include "lmzip/serve/service.h"

#include <algorithm>
#include <ctime>
#include <future>
#include <optional>

#include "lmzip/core/error.h"
#include "lmzip/model/complete.h"

namespace lmzip::serve {
namespace {

using json = nlohmann::json;

HttpResponse json_response(int status, const std::string& body) { return {.status = status, .body = body, .content_type = "application/json", .headers = {}}; }
HttpResponse error_response(const ApiError& e) { return json_response(e.status(), dump(error_body(e))); }

// The text token `id` adds after token `prev`: decode({prev, id}) minus decode({prev}), so that a SentencePiece
// token's leading space (dropped only at the start of a decode) is kept. decode({id}) where that is no prefix.
std::string text_after(const Tokenizer& tok, TokenId prev, TokenId id) {
  const TokenId pair[2] = {prev, id};
  const std::string before = tok.decode({&prev, 1}), both = tok.decode(pair);
  if (both.size() >= before.size() && both.compare(0, before.size(), before) == 0) return both.substr(before.size());
  return tok.decode({&id, 1});
}

// Byte offsets in `text` == decode(ids) where each token starts: from the in-context token texts when they add up
// to `text`, else from decoding every prefix.
std::vector<size_t> token_offsets(const Tokenizer& tok, const std::vector<TokenId>& ids, const std::string& text) {
  std::vector<size_t> off(ids.size(), 0);
  if (ids.empty()) return off;
  std::string joined = tok.decode({ids.data(), 1});
  for (size_t i = 1; i < ids.size(); ++i) {
    off[i] = joined.size();
    joined += text_after(tok, ids[i - 1], ids[i]);
  }
  if (joined == text) return off;
  for (size_t i = 1; i < ids.size(); ++i) {
    off[i] = std::min(text.size(), tok.decode({ids.data(), i}).size());
    off[i] = std::max(off[i], off[i - 1]);
  }
  return off;
}

}  // namespace

bool authorized(const std::string& header, const std::string& key) {
  const std::string expected = "Bearer " + key;
  unsigned diff = header.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned>(static_cast<unsigned char>(expected[i]) ^
                                  static_cast<unsigned char>(i < header.size() ? header[i] : 0));
  }
  return diff == 0;
}

Service::Service(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, ServiceOptions options)
    : model_(model), tokenizer_(tokenizer), pool_(pool), options_(std::move(options)) {
  limits_.n_vocab = model.config().n_vocab;
  limits_.max_tokens_per_request = options_.max_tokens_per_request;
  engine_ = std::thread([this] { engine_loop(); });
}

Service::~Service() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  engine_.join();
}

void Service::engine_loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        for (auto& t : queue_) t();  // each refuses itself (stopping_ is set)
        queue_.clear();
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

Choice Service::run_prompt(const std::vector<TokenId>& prompt, const CompletionRequest& r, Clock::time_point deadline) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  if (n + r.max_tokens > options_.max_tokens_per_request) {
    throw ApiError(413, "the prompt has " + std::to_string(n) + " tokens; with max_tokens " +
                            std::to_string(r.max_tokens) + " that is more than the server's limit of " +
                            std::to_string(options_.max_tokens_per_request) + " tokens (--max-tokens-per-request)",
                   "prompt");
  }
  const std::optional<TokenId> eos = tokenizer_.eos(), eot = tokenizer_.vocab().eot;
  size_t max_stop = 0;
  for (const std::string& s : r.stop) max_stop = std::max(max_stop, s.size());
  std::string gen_text;  // the generation's text so far (for stop strings)
  bool hit_eos = false, hit_stop = false;

  CompletionOptions copt;
  copt.top_k = r.logprobs.value_or(0);
  copt.prompt_logprobs = r.echo && r.logprobs.has_value();
  copt.max_new_tokens = r.max_tokens;
  copt.stop = [&](std::span<const TokenId> g) {
    if (Clock::now() > deadline) {
      throw ApiError(504, "the request ran longer than the server's timeout of " +
                              std::to_string(options_.request_timeout_s) + " s", "", "timeout_error");
    }
    const TokenId last = g.back();
    if ((eos && last == *eos) || (eot && last == *eot)) return hit_eos = true;
    if (r.stop.empty()) return false;
    const size_t from = gen_text.size() > max_stop ? gen_text.size() - max_stop : 0;
    gen_text += text_after(tokenizer_, g.size() > 1 ? g[g.size() - 2] : prompt.back(), last);
    for (const std::string& s : r.stop) {
      if (gen_text.find(s, from) != std::string::npos) return hit_stop = true;
    }
    return false;
  };
  const CompletionResult res = lmzip::complete(model_, prompt, copt, pool_);
  scored_tokens_ += res.prompt.size();
  generated_tokens_ += res.generated.size();

  // Texts: the prompt's and the completion's (an end-of-text token adds none), cut at the first stop string.
  std::vector<TokenId> gen_ids;
  for (const TokenLogprob& t : res.generated) gen_ids.push_back(t.token);
  std::vector<TokenId> text_ids = prompt;
  text_ids.insert(text_ids.end(), gen_ids.begin(), gen_ids.end() - (hit_eos ? 1 : 0));
  const std::string prompt_text = tokenizer_.decode(prompt);
  const std::string full = tokenizer_.decode(text_ids);
  const bool prefix_ok = full.compare(0, prompt_text.size(), prompt_text) == 0;
  std::string completion = prefix_ok ? full.substr(prompt_text.size())
                                     : tokenizer_.decode({text_ids.data() + n, text_ids.size() - static_cast<size_t>(n)});
  std::vector<size_t> offsets = token_offsets(tokenizer_, text_ids, prefix_ok ? full : prompt_text + completion);
  size_t keep_generated = gen_ids.size();
  if (hit_stop) {
    size_t cut = completion.size();
    for (const std::string& s : r.stop) cut = std::min(cut, completion.find(s));
    completion.resize(cut);
    keep_generated = 0;  // the generated tokens that start before the cut
    while (keep_generated < gen_ids.size() &&
           offsets[static_cast<size_t>(n) + keep_generated] < prompt_text.size() + cut) {
      ++keep_generated;
    }
  }

  Choice c;
  c.text = r.echo ? prompt_text + completion : completion;
  c.finish_reason = hit_eos || hit_stop ? "stop" : "length";
  c.prompt_tokens = n;
  c.completion_tokens = static_cast<int64_t>(keep_generated);
  if (!r.logprobs) return c;
  const size_t base = r.echo ? 0 : prompt_text.size();  // offsets are into c.text
  const size_t full_size = prompt_text.size() + completion.size();
  auto add = [&](size_t index, TokenId prev, TokenId id, std::optional<double> lp, const std::vector<std::pair<TokenId, double>>* top) {
    ChoiceToken t;
    t.id = id;
    const size_t begin = index < offsets.size() ? std::min(offsets[index], full_size) : full_size;
    const size_t end = index + 1 < offsets.size() ? std::min(offsets[index + 1], full_size) : full_size;
    t.text = index < offsets.size() ? (prompt_text + completion).substr(begin, end - begin) : tokenizer_.decode({&id, 1});
    t.logprob = lp;
    if (top) {
      t.has_top = true;
      for (const auto& [alt, alp] : *top) t.top.emplace_back(text_after(tokenizer_, prev, alt), alp);
    }
    c.tokens.push_back(std::move(t));
    c.text_offset.push_back(begin >= base ? begin - base : 0);
  };
  if (r.echo) {
    add(0, prompt[0], prompt[0], std::nullopt, nullptr);
    for (size_t i = 1; i < prompt.size(); ++i) {
      const TokenLogprob& t = res.prompt.at(i - 1);
      add(i, prompt[i - 1], t.token, t.logprob, &t.top);
    }
  }
  for (size_t j = 0; j < keep_generated; ++j) {
    const TokenLogprob& t = res.generated[j];
    add(static_cast<size_t>(n) + j, j == 0 ? prompt.back() : gen_ids[j - 1], t.token, t.logprob, &t.top);
  }
  return c;
}

nlohmann::ordered_json Service::complete(const CompletionRequest& r) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options_.request_timeout_s * 1e6));
  std::vector<std::vector<TokenId>> prompts;
  for (const PromptInput& p : r.prompts) {
    if (const auto* ids = std::get_if<std::vector<TokenId>>(&p)) {
      prompts.push_back(*ids);
      continue;
    }
    const std::string& text = std::get<std::string>(p);
    std::vector<TokenId> ids = tokenizer_.encode(text, {.add_special = r.add_special_tokens, .parse_special = true});
    if (ids.empty()) throw ApiError(400, "a prompt is empty (no tokens): send at least one token", "prompt");
    prompts.push_back(std::move(ids));
  }
  std::packaged_task<std::vector<Choice>()> task([&] {
    std::vector<Choice> choices;
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_error");
    const auto start = Clock::now();
    for (const auto& ids : prompts) choices.push_back(run_prompt(ids, r, deadline));
    busy_microseconds_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
    return choices;
  });
  std::future<std::vector<Choice>> done = task.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_error");
    queue_.emplace_back([&task] { task(); });
  }
  queue_cv_.notify_one();
  const std::vector<Choice> choices = done.get();  // rethrows what the engine threw
  const std::string id = "cmpl-lmzip-" + std::to_string(++completion_id_);
  return completion_response(r, choices, id, static_cast<int64_t>(std::time(nullptr)), options_.model_name);
}

json Service::tokenizer_info() const {
  auto text = [&](std::optional<TokenId> id) -> json {
    if (!id || *id < 0 || static_cast<size_t>(*id) >= tokenizer_.vocab_size()) return nullptr;
    return tokenizer_.piece(*id);
  };
  const Vocab& v = tokenizer_.vocab();
  return {{"tokenizer_class", "lmzip-" + (v.model.empty() ? std::string("unknown") : v.model)},
          {"eos_token", text(v.eos)}, {"bos_token", text(v.bos)}, {"pad_token", text(v.pad)},
          {"unk_token", text(v.unk)}, {"add_bos_token", v.add_bos}, {"add_eos_token", v.add_eos},
          {"model_max_length", options_.context_length}, {"vocab_size", tokenizer_.vocab_size()},
          {"source", tokenizer_.source()}};
}

std::string Service::metrics() const {
  std::string m;
  auto line = [&](const char* name, const char* type, const char* help, double value) {
    m += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(value) + "\n";
  };
  line("lmzip_requests_total", "counter", "HTTP requests handled", static_cast<double>(requests_.load()));
  line("lmzip_request_errors_total", "counter", "requests answered with an error", static_cast<double>(errors_.load()));
  line("lmzip_scored_tokens_total", "counter", "prompt tokens scored", static_cast<double>(scored_tokens_.load()));
  line("lmzip_generated_tokens_total", "counter", "tokens generated", static_cast<double>(generated_tokens_.load()));
  line("lmzip_queue_depth", "gauge", "requests waiting for the model", static_cast<double>(waiting_.load()));
  line("lmzip_engine_busy_seconds_total", "counter", "seconds the model spent on completions",
       static_cast<double>(busy_microseconds_.load()) / 1e6);
  return m;
}

HttpResponse Service::handle(const HttpRequest& request) {
  ++requests_;
  HttpResponse response;
  try {
    response = route(request);
  } catch (const ApiError& e) {
    response = error_response(e);
  } catch (const Error& e) {
    // Inputs the protocol passed but the engine refused (e.g. a model that cannot run these tokens).
    response = error_response(ApiError(400, e.what()));
  } catch (const std::bad_alloc&) {
    response = error_response(ApiError(503, "the server ran out of memory for this request", "", "server_error"));
  } catch (const std::exception& e) {
    response = error_response(ApiError(500, std::string("internal error: ") + e.what(), "", "server_error"));
  }
  if (response.status >= 400) ++errors_;
  return response;
}

HttpResponse Service::route(const HttpRequest& q) {
  const std::string& path = q.path;
  if (path == "/health") return json_response(200, R"({"status":"ok"})");
  if (!options_.api_key.empty() && !authorized(q.authorization, options_.api_key)) {
    throw ApiError(401, "a valid API key is required: send the header \"Authorization: Bearer KEY\"", "",
                   "authentication_error");
  }
  auto require = [&](const char* method) {
    if (q.method != method) {
      throw ApiError(405, q.method + " " + path + " is not served: use " + method, "", "invalid_request_error");
    }
  };
  if (path == "/v1/completions") {
    require("POST");
    const CompletionRequest r = parse_completion_request(parse_body(q.body), limits_);
    struct Waiting {
      std::atomic<int>& n;
      ~Waiting() { --n; }
    };
    if (waiting_.fetch_add(1) >= options_.max_queue) {
      --waiting_;
      HttpResponse busy = error_response(ApiError(503, "the server is busy (" + std::to_string(options_.max_queue) +
                                                           " requests waiting); retry later", "", "server_busy"));
      busy.headers.emplace_back("Retry-After", "1");
      return busy;
    }
    Waiting guard{waiting_};
    return json_response(200, dump(complete(r)));
  }
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    throw ApiError(404, "lmzip serve answers the legacy completions API only (POST /v1/completions); chat "
                        "completions are not served: format the chat yourself and send it as a prompt",
                   "", "not_found_error");
  }
  if (path == "/v1/models" || path == "/models") {
    require("GET");
    const json model = {{"id", options_.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "lmzip"},
                        {"max_model_len", options_.context_length}};
    return json_response(200, dump(json{{"object", "list"}, {"data", json::array({model})}}));
  }
  if (path == "/tokenize") {
    require("POST");
    const TokenizeRequest r = parse_tokenize_request(parse_body(q.body));
    const std::vector<TokenId> ids =
        tokenizer_.encode(r.prompt, {.add_special = r.add_special_tokens, .parse_special = true});
    return json_response(200, dump(json{{"count", ids.size()}, {"max_model_len", options_.context_length},
                                        {"tokens", ids}}));
  }
  if (path == "/detokenize") {
    require("POST");
    const std::vector<TokenId> ids = parse_detokenize_request(parse_body(q.body), limits_);
    return json_response(200, dump(json{{"prompt", tokenizer_.decode(ids)}}));
  }
  if (path == "/tokenizer_info") {
    require("GET");
    return json_response(200, dump(tokenizer_info()));
  }
  if (path == "/metrics") {
    require("GET");
    return {.status = 200, .body = metrics(), .content_type = "text/plain; version=0.0.4", .headers = {}};
  }
  throw ApiError(404, "no endpoint " + q.method + " " + path +
                          " (lmzip serve has POST /v1/completions, GET /v1/models, POST /tokenize, POST /detokenize, "
                          "GET /tokenizer_info, GET /health, GET /metrics)",
                 "", "not_found_error");
}

}  // namespace lmzip::serve

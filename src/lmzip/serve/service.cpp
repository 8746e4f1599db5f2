// The endpoints (service.h): routing, the completions engine glue and the tokenizer endpoints.
#include "lmzip/serve/service.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <optional>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/model/complete.h"
#include "lmzip/model/packed.h"
#include "lmzip/score/corpus.h"

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

// One request's work for the engine thread; shared with the waiting handler, which may give up on it.
struct Service::Job {
  CompletionRequest completion;
  std::vector<std::vector<TokenId>> prompts;
  std::optional<BpcRequest> bpc;  // set: a /v1/lmzip/bpc job
  int64_t rows = 0;               // a scoring job's rows in a packed pass
  bool packable = false;          // max_tokens 0 or 1: can share a packed pass
  bool generates = false;         // max_tokens > 1 without echoed log-probabilities: can generate beside others
  int64_t context = 0;            // a generating job's longest prompt + max_tokens
  Clock::time_point deadline;
  std::function<bool()> client_gone;
  std::atomic<bool> abandoned{false};  // the handler stopped waiting (timeout): nothing to run
  std::promise<void> done;
  std::vector<Choice> choices;
  json bpc_result;
};

// Stops a generation at EOS / end-of-turn or a stop string (recording which), and aborts it when the request
// passed its deadline or its client left.
class Service::StopRule {
 public:
  StopRule(const Service& service, const std::vector<TokenId>& prompt, const CompletionRequest& r, const Job& job)
      : service_(service), prompt_(prompt), r_(r), job_(job) {
    for (const std::string& s : r.stop) max_stop_ = std::max(max_stop_, s.size());
  }
  bool operator()(std::span<const TokenId> g) {
    if (Clock::now() > job_.deadline) throw timeout(service_.options_.request_timeout_s);
    if (g.size() % 16 == 0 && job_.client_gone && job_.client_gone()) throw client_left();
    const TokenId last = g.back();
    const std::optional<TokenId> eos = service_.tokenizer_.eos(), eot = service_.tokenizer_.vocab().eot;
    if ((eos && last == *eos) || (eot && last == *eot)) return hit_eos = true;
    if (r_.stop.empty()) return false;
    const size_t from = gen_text_.size() > max_stop_ ? gen_text_.size() - max_stop_ : 0;
    gen_text_ += text_after(service_.tokenizer_, g.size() > 1 ? g[g.size() - 2] : prompt_.back(), last);
    for (const std::string& s : r_.stop) {
      if (gen_text_.find(s, from) != std::string::npos) return hit_stop = true;
    }
    return false;
  }
  static ApiError timeout(double seconds) {
    return ApiError(504, "the request ran longer than the server's timeout of " + std::to_string(seconds) + " s", "",
                    "timeout_error");
  }
  static ApiError client_left() { return ApiError(499, "the client closed the connection", "", "client_closed"); }
  bool hit_eos = false, hit_stop = false;

 private:
  const Service& service_;
  const std::vector<TokenId>& prompt_;
  const CompletionRequest& r_;
  const Job& job_;
  size_t max_stop_ = 0;
  std::string gen_text_;  // the generation's text so far (for stop strings)
};

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
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        for (auto& job : queue_) {
          job->done.set_exception(std::make_exception_ptr(ApiError(503, "the server is shutting down", "", "server_error")));
        }
        queue_.clear();
        return;
      }
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
      // Gather the scoring requests waiting behind the first into its pass, in arrival order, while they fit.
      if (batch[0]->packable) {
        int64_t rows = batch[0]->rows;
        for (auto it = queue_.begin(); it != queue_.end();) {
          if ((*it)->packable && rows + (*it)->rows <= options_.max_batch_tokens) {
            rows += (*it)->rows;
            batch.push_back(std::move(*it));
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
      } else if (batch[0]->generates) {
        // Generations in flight together: every sequence gets the longest one's cache slots; the slots stay
        // within max_batch_tokens.
        size_t seqs = batch[0]->prompts.size();
        int64_t context = batch[0]->context;
        const int64_t budget = options_.max_batch_tokens;
        for (auto it = queue_.begin(); it != queue_.end();) {
          const size_t s2 = seqs + (*it)->prompts.size();
          const int64_t c2 = std::max(context, (*it)->context);
          if ((*it)->generates && s2 <= kMaxGenerations && static_cast<int64_t>(s2) * c2 <= budget) {
            seqs = s2;
            context = c2;
            batch.push_back(std::move(*it));
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    // Requests nobody waits for any more are dropped unrun.
    std::vector<std::shared_ptr<Job>> live;
    for (auto& job : batch) {
      std::exception_ptr refused;
      if (job->abandoned) refused = std::make_exception_ptr(StopRule::timeout(options_.request_timeout_s));
      else if (job->client_gone && job->client_gone()) refused = std::make_exception_ptr(StopRule::client_left());
      else if (Clock::now() > job->deadline) refused = std::make_exception_ptr(StopRule::timeout(options_.request_timeout_s));
      if (refused) {
        ++dropped_;
        job->done.set_exception(refused);
      } else {
        live.push_back(std::move(job));
      }
    }
    if (live.empty()) continue;
    const auto start = Clock::now();
    ++passes_;
    const bool together = live.size() > 1 || live[0]->prompts.size() > 1;
    if (together && live[0]->packable) {
      run_packed(live);
    } else if (together && live[0]->generates) {
      run_generations(live);
    } else {
      for (auto& job : live) run_alone(*job);
    }
    busy_microseconds_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  }
}

void Service::run_alone(Job& job) {
  try {
    if (job.bpc) {
      job.bpc_result = bpc(job);
    } else {
      for (const auto& ids : job.prompts) job.choices.push_back(run_prompt(ids, job.completion, job));
    }
    job.done.set_value();
  } catch (...) {
    job.done.set_exception(std::current_exception());
  }
}

void Service::run_packed(std::vector<std::shared_ptr<Job>>& jobs) {
  std::vector<std::vector<TokenId>> prompts;
  int top_k = 0;
  bool next_token = false;
  for (const auto& job : jobs) {
    prompts.insert(prompts.end(), job->prompts.begin(), job->prompts.end());
    top_k = std::max(top_k, job->completion.logprobs.value_or(0));
    next_token = next_token || job->completion.max_tokens == 1;
  }
  std::vector<CompletionResult> results;
  try {
    results = complete_packed(model_, prompts, top_k, next_token, pool_);
  } catch (...) {  // one request's problem must not fail the others: each runs alone and meets its own error
    for (const auto& job : jobs) run_alone(*job);
    return;
  }
  packed_prompts_ += prompts.size();
  size_t k = 0;
  for (const auto& job : jobs) {
    try {
      const CompletionRequest& r = job->completion;
      const size_t keep = static_cast<size_t>(r.logprobs.value_or(0));
      for (const auto& prompt : job->prompts) {
        CompletionResult& res = results[k++];
        // The pass computed the widest request's alternatives; a top-k list's prefix is the narrower top list.
        for (auto& t : res.prompt) t.top.resize(std::min(t.top.size(), keep));
        for (auto& t : res.generated) t.top.resize(std::min(t.top.size(), keep));
        if (r.max_tokens == 0) res.generated.clear();
        StopRule stop(*this, prompt, r, *job);
        if (!res.generated.empty()) res.stopped = stop(std::vector<TokenId>{res.generated[0].token});
        job->choices.push_back(make_choice(prompt, r, res, stop));
      }
      job->done.set_value();
    } catch (...) {
      job->done.set_exception(std::current_exception());
    }
  }
}

void Service::run_generations(std::vector<std::shared_ptr<Job>>& jobs) {
  // One sequence per prompt, in the jobs' order.
  struct Sequence {
    Job* job;
    const std::vector<TokenId>* prompt;
    std::unique_ptr<StopRule> stop;
    CompletionResult result;
    std::vector<TokenId> generated;
    bool done = false;
  };
  std::vector<Sequence> seqs;
  int64_t context = 0;
  for (const auto& job : jobs) {
    context = std::max(context, job->context);
    for (const auto& p : job->prompts) {
      seqs.push_back({.job = job.get(), .prompt = &p,
                      .stop = std::make_unique<StopRule>(*this, p, job->completion, *job), .result = {},
                      .generated = {}, .done = false});
    }
  }
  std::vector<std::exception_ptr> failed(jobs.size());
  auto job_index = [&](const Job* j) {
    size_t i = 0;
    while (jobs[i].get() != j) ++i;
    return i;
  };
  try {
    MultiSession session(model_, static_cast<int>(seqs.size()), context);
    std::vector<MultiSession::Append> entries;
    for (size_t i = 0; i < seqs.size(); ++i) entries.push_back({static_cast<int>(i), *seqs[i].prompt});
    std::vector<int> in_pass(seqs.size());  // the sequences of this pass, in entry order
    for (size_t i = 0; i < seqs.size(); ++i) in_pass[i] = static_cast<int>(i);
    while (!entries.empty()) {
      const std::vector<std::vector<float>> logits = session.append(entries, pool_);
      std::vector<int> next;
      for (size_t k = 0; k < in_pass.size(); ++k) {
        Sequence& q = seqs[static_cast<size_t>(in_pass[k])];
        const size_t j = job_index(q.job);
        if (failed[j]) continue;
        const CompletionRequest& r = q.job->completion;
        q.result.generated.push_back(greedy_of_logits(logits[k], r.logprobs.value_or(0)));
        q.generated.push_back(q.result.generated.back().token);
        try {
          q.result.stopped = (*q.stop)(q.generated);
        } catch (...) {  // timeout or a client gone: the whole request fails, its other prompts stop
          failed[j] = std::current_exception();
          continue;
        }
        if (q.result.stopped || static_cast<int>(q.generated.size()) >= r.max_tokens) {
          q.done = true;
        } else {
          next.push_back(in_pass[k]);
        }
      }
      entries.clear();
      in_pass.clear();
      for (int i : next) {
        if (failed[job_index(seqs[static_cast<size_t>(i)].job)]) continue;
        entries.push_back({i, std::span<const TokenId>(&seqs[static_cast<size_t>(i)].generated.back(), 1)});
        in_pass.push_back(i);
      }
    }
  } catch (...) {  // the pass itself failed (e.g. out of memory): each request runs alone and meets its own error
    for (const auto& job : jobs) run_alone(*job);
    return;
  }
  for (size_t j = 0; j < jobs.size(); ++j) {
    Job& job = *jobs[j];
    if (failed[j]) {
      job.done.set_exception(failed[j]);
      continue;
    }
    try {
      for (Sequence& q : seqs) {
        if (q.job == &job) job.choices.push_back(make_choice(*q.prompt, job.completion, q.result, *q.stop));
      }
      job.done.set_value();
    } catch (...) {
      job.done.set_exception(std::current_exception());
    }
  }
}

Choice Service::run_prompt(const std::vector<TokenId>& prompt, const CompletionRequest& r, const Job& job) {
  StopRule stop(*this, prompt, r, job);
  CompletionOptions copt;
  copt.top_k = r.logprobs.value_or(0);
  copt.prompt_logprobs = r.echo && r.logprobs.has_value();
  copt.max_new_tokens = r.max_tokens;
  copt.stop = [&](std::span<const TokenId> g) { return stop(g); };
  const CompletionResult res = lmzip::complete(model_, prompt, copt, pool_);
  return make_choice(prompt, r, res, stop);
}

Choice Service::make_choice(const std::vector<TokenId>& prompt, const CompletionRequest& r,
                            const CompletionResult& res, const StopRule& stop) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  const bool hit_eos = stop.hit_eos, hit_stop = stop.hit_stop;
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

void Service::submit(const std::shared_ptr<Job>& job) {
  struct Waiting {
    std::atomic<int>& n;
    ~Waiting() { --n; }
  };
  if (waiting_.fetch_add(1) >= options_.max_queue) {
    --waiting_;
    throw ApiError(503, "the server is busy (" + std::to_string(options_.max_queue) + " requests waiting); retry later",
                   "", "server_busy");
  }
  Waiting guard{waiting_};
  std::future<void> done = job->done.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_error");
    queue_.push_back(job);
  }
  queue_cv_.notify_one();
  if (done.wait_until(job->deadline) == std::future_status::timeout) {
    job->abandoned = true;  // the engine drops it unrun, or its generation stops at the deadline
    throw StopRule::timeout(options_.request_timeout_s);
  }
  done.get();  // rethrows what the engine threw
}

nlohmann::ordered_json Service::complete(const CompletionRequest& r, std::function<bool()> client_gone) {
  auto job = std::make_shared<Job>();
  job->completion = r;
  job->deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options_.request_timeout_s * 1e6));
  job->client_gone = std::move(client_gone);
  for (const PromptInput& p : r.prompts) {
    std::vector<TokenId> ids;
    if (const auto* given = std::get_if<std::vector<TokenId>>(&p)) {
      ids = *given;
    } else {
      ids = tokenizer_.encode(std::get<std::string>(p), {.add_special = r.add_special_tokens, .parse_special = true});
      if (ids.empty()) throw ApiError(400, "a prompt is empty (no tokens): send at least one token", "prompt");
    }
    const int64_t n = static_cast<int64_t>(ids.size());
    if (n + r.max_tokens > options_.max_tokens_per_request) {
      throw ApiError(413, "the prompt has " + std::to_string(n) + " tokens; with max_tokens " +
                              std::to_string(r.max_tokens) + " that is more than the server's limit of " +
                              std::to_string(options_.max_tokens_per_request) + " tokens (--max-tokens-per-request)",
                     "prompt");
    }
    job->prompts.push_back(std::move(ids));
  }
  job->rows = packed_prompt_rows(job->prompts);
  job->packable = r.max_tokens <= 1 && job->rows <= options_.max_batch_tokens;
  for (const auto& p : job->prompts) job->context = std::max(job->context, static_cast<int64_t>(p.size()) + r.max_tokens);
  // A generation shares a MultiSession only when its own sequences fit one (a request of many long prompts runs
  // them one at a time instead of allocating a cache for all of them).
  job->generates = r.max_tokens > 1 && !(r.echo && r.logprobs) && job->prompts.size() <= kMaxGenerations &&
                   static_cast<int64_t>(job->prompts.size()) * job->context <= options_.max_batch_tokens;
  submit(job);
  const std::string id = "cmpl-lmzip-" + std::to_string(++completion_id_);
  return completion_response(r, job->choices, id, static_cast<int64_t>(std::time(nullptr)), options_.model_name);
}

json Service::bpc(const Job& job) {
  const BpcRequest& r = *job.bpc;
  ProtocolParams params;
  try {
    params = resolve_protocol(r.protocol, model_.config().n_ctx_train);
  } catch (const UsageError& e) {
    std::string message = e.what();  // names lmzip bpc's option; the request names the field
    for (const char* f : {"window", "stride", "bos-mode", "max-chunks"}) {
      const size_t at = message.find(std::string("--") + f);
      if (at != std::string::npos) {
        std::string field = f;
        std::replace(field.begin(), field.end(), '-', '_');
        message.replace(at, std::strlen(f) + 2, "'" + field + "'");
      }
    }
    throw ApiError(400, message, "protocol");
  }
  Corpus corpus;
  corpus.name = r.corpus;
  corpus.path = "(request)";
  corpus.documents = r.documents;
  for (size_t i = 0; i < r.documents.size(); ++i) corpus.sources.push_back("documents[" + std::to_string(i) + "]");
  corpus.sha256 = sha256_hex(json(r.documents).dump());
  const ScoringPlan plan = plan_scoring(corpus, tokenizer_, params, options_.threads);
  WindowScorer scorer = [&](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    if (Clock::now() > job.deadline) throw StopRule::timeout(options_.request_timeout_s);
    if (job.client_gone && job.client_gone()) throw StopRule::client_left();
    std::vector<ScoredTarget> t(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) t[i] = {targets[i].position, targets[i].token};
    return model_.score(input, t, pool_);
  };
  const BpcResult result = run_scoring(plan, scorer, {});
  scored_tokens_ += result.scored_tokens;
  return options_.bpc_json(result, params, corpus);
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
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queued = queue_.size();
  }
  line("lmzip_queue_depth", "gauge", "requests waiting for the model", static_cast<double>(queued));
  line("lmzip_requests_in_flight", "gauge", "requests waiting or running", static_cast<double>(waiting_.load()));
  line("lmzip_engine_busy_seconds_total", "counter", "seconds the model spent on requests",
       static_cast<double>(busy_microseconds_.load()) / 1e6);
  line("lmzip_engine_passes_total", "counter", "engine runs (a packed pass serves several requests)",
       static_cast<double>(passes_.load()));
  line("lmzip_packed_prompts_total", "counter", "prompts scored in packed passes", static_cast<double>(packed_prompts_.load()));
  line("lmzip_dropped_requests_total", "counter", "requests dropped unrun (client gone or timed out while waiting)",
       static_cast<double>(dropped_.load()));
  // Prometheus histogram: cumulative buckets, then sum and count.
  const char* name = "lmzip_request_duration_seconds";
  m += std::string("# HELP ") + name + " time to answer POST /v1/completions and /v1/lmzip/bpc\n# TYPE " + name +
       " histogram\n";
  std::lock_guard<std::mutex> lock(latency_mutex_);
  uint64_t cumulative = 0;
  char bound[32];
  for (size_t b = 0; b <= kLatencyBuckets; ++b) {
    cumulative += latency_counts_[b];
    if (b < kLatencyBuckets) std::snprintf(bound, sizeof bound, "%g", kLatencyBounds[b]);
    m += std::string(name) + "_bucket{le=\"" + (b < kLatencyBuckets ? bound : "+Inf") + "\"} " +
         std::to_string(cumulative) + "\n";
  }
  m += std::string(name) + "_sum " + std::to_string(latency_sum_) + "\n" + name + "_count " +
       std::to_string(cumulative) + "\n";
  return m;
}

void Service::observe_latency(double seconds) {
  size_t b = 0;
  while (b < kLatencyBuckets && seconds > kLatencyBounds[b]) ++b;
  std::lock_guard<std::mutex> lock(latency_mutex_);
  ++latency_counts_[b];
  latency_sum_ += seconds;
}

HttpResponse Service::handle(const HttpRequest& request) {
  ++requests_;
  const auto start = Clock::now();
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
  if (response.status == 503) response.headers.emplace_back("Retry-After", "1");
  if (request.path == "/v1/completions" || request.path == "/v1/lmzip/bpc") {
    observe_latency(std::chrono::duration<double>(Clock::now() - start).count());
  }
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
    return json_response(200, dump(complete(r, q.client_gone)));
  }
  if (path == "/v1/lmzip/bpc") {
    require("POST");
    if (!options_.bpc_json) throw ApiError(404, "this server does not offer /v1/lmzip/bpc", "", "not_found_error");
    auto job = std::make_shared<Job>();
    job->bpc = parse_bpc_request(parse_body(q.body), limits_);
    job->deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options_.request_timeout_s * 1e6));
    job->client_gone = q.client_gone;
    submit(job);
    return json_response(200, dump(job->bpc_result));
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
                          " (lmzip serve has POST /v1/completions, POST /v1/lmzip/bpc, GET /v1/models, POST /tokenize, POST /detokenize, "
                          "GET /tokenizer_info, GET /health, GET /metrics)",
                 "", "not_found_error");
}

}  // namespace lmzip::serve

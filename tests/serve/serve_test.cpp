// lmzip serve's protocol and engine glue without sockets, on the zoo model: echo log-probabilities equal
// Model::score's (what lmzip bpc sums), alternatives agree with the logits, byte offsets on multi-byte text,
// batching, generation with stops, and every error the parser gives.
#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <thread>

#include "lmzip/hf/model_source.h"
#include "lmzip/model/session.h"
#include "lmzip/score/bpc.h"
#include "lmzip/serve/protocol.h"
#include "lmzip/serve/service.h"
#include "testutil/testutil.h"

namespace lmzip::serve {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;  // responses: top_logprobs keep their order (most likely first)

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::shared_has("zoo/models/zoo-s1.gguf")) return;
    source_ = new ModelSource(open_model_source(test::shared_dir() + "/zoo/models/zoo-s1.gguf"));
    tokenizer_ = source_->tokenizer().release();
    model_ = source_->load_model().release();
    pool_ = new ThreadPool(2);
    service_ = new Service(*model_, *tokenizer_, *pool_, {.model_name = "zoo-s1", .max_tokens_per_request = 256,
                                                          .context_length = 2048, .request_timeout_s = 60,
                                                          .max_queue = 8, .api_key = "", .max_batch_tokens = 4096,
                                                          .threads = 1, .bpc_json = {}});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete pool_;
    delete model_;
    delete tokenizer_;
    delete source_;
  }
  void SetUp() override { LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf"); }

  static ojson complete(const json& body) {
    return ojson::parse(dump(service_->complete(parse_completion_request(body, service_->limits()))));
  }
  static HttpResponse post(const std::string& path, const std::string& body, const std::string& auth = "") {
    return service_->handle({.method = "POST", .path = path, .body = body, .authorization = auth, .client_gone = {}});
  }

  static inline ModelSource* source_ = nullptr;
  static inline Tokenizer* tokenizer_ = nullptr;
  static inline Model* model_ = nullptr;
  static inline ThreadPool* pool_ = nullptr;
  static inline Service* service_ = nullptr;
};

HttpResponse post_to(Service& service, const std::string& path, const std::string& body) {
  return service.handle({.method = "POST", .path = path, .body = body, .authorization = "", .client_gone = {}});
}

// A metric's value in /metrics' text ("name value" on its own line); -1 when absent.
double metric(Service& service, const std::string& name) {
  const std::string text = service.handle({.method = "GET", .path = "/metrics", .body = "", .authorization = "", .client_gone = {}}).body;
  const size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

// Documents that keep the engine busy for a while (a /v1/lmzip/bpc request), so that requests sent meanwhile
// wait together.
json long_bpc_body(int n_docs = 12) {
  std::vector<std::string> docs;
  for (int i = 0; i < n_docs; ++i) {
    std::string d;
    for (int k = 0; k < 60; ++k) d += "Sentence " + std::to_string(i * 100 + k) + " of a long document about rivers. ";
    docs.push_back(d);
  }
  return {{"documents", docs}, {"protocol", "doc"}, {"window", 256}};
}

ServiceOptions bpc_options(const std::string& name) {
  ServiceOptions o{.model_name = name, .max_tokens_per_request = 256, .context_length = 2048,
                   .request_timeout_s = 60, .max_queue = 64, .api_key = "", .max_batch_tokens = 4096,
                   .threads = 1, .bpc_json = {}};
  o.bpc_json = [](const BpcResult& r, const ProtocolParams& p, const Corpus& c) {
    return json{{"bpc", r.bpc()}, {"total_nats", r.total_nats}, {"scored_tokens", r.scored_tokens},
                {"protocol", protocol_name(p.protocol)}, {"window", p.window}, {"corpus", c.name}};
  };
  return o;
}


const char* kText = "The quick brown fox jumps over the lazy dog. Zürich, naïve café — ✓ 東京.";

TEST_F(ServeTest, EchoLogprobsEqualModelScoreExactly) {
  const std::vector<TokenId> ids = tokenizer_->encode(kText);
  ASSERT_GT(ids.size(), 10u);
  std::vector<ScoredTarget> targets;
  for (size_t i = 0; i + 1 < ids.size(); ++i) targets.push_back({static_cast<uint32_t>(i), ids[i + 1]});
  const std::vector<double> nll = model_->score(ids, targets, *pool_);
  const ojson r = complete({{"prompt", ids}, {"echo", true}, {"logprobs", 1}, {"max_tokens", 1}, {"temperature", 0}});
  const ojson& lp = r["choices"][0]["logprobs"];
  ASSERT_EQ(lp["token_logprobs"].size(), ids.size() + 1);  // the prompt, then the generated token
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_TRUE(lp["top_logprobs"][0].is_null());
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(lp["token_logprobs"][i].get<double>(), -nll[i - 1]) << i;
  EXPECT_EQ(r["usage"]["prompt_tokens"], ids.size());
  EXPECT_EQ(r["usage"]["completion_tokens"], 1);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
}

TEST_F(ServeTest, TopLogprobsSortedAndConsistentWithTheLogits) {
  const std::vector<TokenId> ids = tokenizer_->encode("Hello world, this is a test of alternatives");
  const int k = 5;
  const ojson r = complete({{"prompt", ids}, {"echo", true}, {"logprobs", k}, {"max_tokens", 1}});
  const ojson& lp = r["choices"][0]["logprobs"];
  Session session(*model_, static_cast<int64_t>(ids.size()) + 1);
  for (size_t i = 1; i <= ids.size(); ++i) {
    session.append(std::span<const TokenId>(&ids[i - 1], 1), *pool_);
    const ojson& top = lp["top_logprobs"][i];
    ASSERT_TRUE(top.is_object());
    ASSERT_GE(top.size(), 1u);
    ASSERT_LE(top.size(), static_cast<size_t>(k + 1));
    // The reference: log-softmax of the (deterministic) session's logits.
    const std::span<const float> z = session.logits();
    std::vector<double> ref(z.size());
    const float zmax = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (float v : z) sum += std::exp(double(v) - zmax);
    for (size_t v = 0; v < z.size(); ++v) ref[v] = double(z[v]) - zmax - std::log(sum);
    std::vector<double> sorted = ref;
    std::sort(sorted.rbegin(), sorted.rend());
    // Insertion order is most likely first; the values are the k largest of the distribution.
    std::vector<double> values;
    for (auto it = top.begin(); it != top.end(); ++it) values.push_back(it.value().get<double>());
    EXPECT_TRUE(std::is_sorted(values.rbegin(), values.rend())) << "position " << i;
    for (size_t j = 0; j < std::min<size_t>(values.size(), k); ++j) EXPECT_NEAR(values[j], sorted[j], 1e-4) << i;
    double mass = 0;
    for (double v : values) mass += std::exp(v);
    EXPECT_LE(mass, 1.0 + 1e-6);
    if (i < ids.size()) {
      // The scored token: its value agrees with the logits, and it is an alternative exactly when it is in the top k.
      const double own = lp["token_logprobs"][i].get<double>();
      EXPECT_NEAR(own, ref[static_cast<size_t>(ids[i])], 1e-4);
      if (own >= sorted[0] - 1e-12) {
        EXPECT_EQ(values[0], own) << "argmax token's top value is its exact logprob";
      }
    } else {
      // The generated token is the argmax.
      const TokenId argmax = static_cast<TokenId>(std::max_element(z.begin(), z.end()) - z.begin());
      EXPECT_NEAR(lp["token_logprobs"][i].get<double>(), sorted[0], 1e-4);
      EXPECT_NEAR(ref[static_cast<size_t>(argmax)], lp["token_logprobs"][i].get<double>(), 1e-4);
    }
  }
}

TEST_F(ServeTest, TextOffsetsAreByteOffsetsOnMultiByteText) {
  const ojson r = complete({{"prompt", kText}, {"echo", true}, {"logprobs", 0}, {"max_tokens", 0}});
  const ojson& c = r["choices"][0];
  const std::string text = c["text"];
  EXPECT_EQ(text, kText);  // string prompts round-trip through the tokenizer
  const ojson& lp = c["logprobs"];
  const std::vector<TokenId> ids = tokenizer_->encode(kText, {.add_special = false, .parse_special = true});
  ASSERT_EQ(lp["tokens"].size(), ids.size());
  ASSERT_EQ(lp["text_offset"].size(), ids.size());
  size_t expected = 0;
  bool saw_multibyte = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t off = lp["text_offset"][i];
    const std::string piece = tokenizer_->decode(std::span<const TokenId>(ids.data(), i + 1));
    EXPECT_EQ(off, tokenizer_->decode(std::span<const TokenId>(ids.data(), i)).size()) << i;
    EXPECT_EQ(off, expected) << i;
    const std::string tok = lp["tokens"][i];
    if (tok.rfind("bytes:", 0) != 0) {
      EXPECT_EQ(text.compare(off, tok.size(), tok), 0) << i << " '" << tok << "'";
      expected += tok.size();
    } else {
      expected += (tok.size() - 6) / 4;  // bytes:\xNN per byte
    }
    for (unsigned char ch : tok) saw_multibyte |= ch >= 0x80;
  }
  EXPECT_EQ(expected, text.size());
  EXPECT_TRUE(saw_multibyte);
  EXPECT_EQ(r["usage"]["completion_tokens"], 0);
}

TEST_F(ServeTest, ListOfListsEqualsOneAtATime) {
  const std::vector<TokenId> a = tokenizer_->encode("First prompt here"), b = tokenizer_->encode("And a second, longer one");
  const ojson batch = complete({{"prompt", {a, b}}, {"echo", true}, {"logprobs", 2}, {"max_tokens", 2}});
  ASSERT_EQ(batch["choices"].size(), 2u);
  const ojson one_a = complete({{"prompt", a}, {"echo", true}, {"logprobs", 2}, {"max_tokens", 2}});
  const ojson one_b = complete({{"prompt", json::array({b})}, {"echo", true}, {"logprobs", 2}, {"max_tokens", 2}});
  EXPECT_EQ(batch["choices"][0]["logprobs"], one_a["choices"][0]["logprobs"]);
  EXPECT_EQ(batch["choices"][1]["logprobs"], one_b["choices"][0]["logprobs"]);
  EXPECT_EQ(batch["choices"][1]["index"], 1);
  EXPECT_EQ(batch["usage"]["prompt_tokens"], a.size() + b.size());
  // A list of strings too.
  const ojson strings = complete({{"prompt", {"First prompt here", "And a second, longer one"}}, {"echo", true},
                                 {"logprobs", 2}, {"max_tokens", 2}, {"add_special_tokens", true}});
  EXPECT_EQ(strings["choices"][1]["logprobs"], one_b["choices"][0]["logprobs"]);
}

TEST_F(ServeTest, GreedyGenerationWithStopStrings) {
  const ojson free = complete({{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}, {"seed", 1234}});
  const std::string text = free["choices"][0]["text"];
  EXPECT_EQ(free["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(free["usage"]["completion_tokens"], 24);
  // Deterministic: the same request gives the same text.
  EXPECT_EQ(complete({{"prompt", "Once upon a time"}, {"max_tokens", 24}})["choices"][0]["text"], text);
  // A stop string taken from the middle of the greedy text: generation stops there and the text is cut before it.
  size_t at = std::string::npos;
  for (size_t i = 2; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) < 0x80 && text[i] != '\0' && text.find(text[i]) == i) {
      at = i;
      break;
    }
  }
  if (at == std::string::npos) GTEST_SKIP() << "no ASCII character to stop at in '" << text << "'";
  const std::string stop(1, text[at]);
  const ojson stopped = complete({{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"stop", {stop, "never-seen"}},
                                 {"echo", false}, {"logprobs", 1}});
  EXPECT_EQ(stopped["choices"][0]["text"], text.substr(0, at));
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
  EXPECT_LT(stopped["usage"]["completion_tokens"].get<int>(), 24);
  const ojson single = complete({{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"stop", stop}});
  EXPECT_EQ(single["choices"][0]["text"], text.substr(0, at));
}

TEST_F(ServeTest, LmEvalLoglikelihoodRequest) {
  // What lm-eval's local-completions sends for one option (_create_payload, generate=False) and how
  // parse_logprobs reads the answer: sum(token_logprobs[ctxlen:-1]), greedy when each equals max(top).
  const std::vector<TokenId> ctx = tokenizer_->encode("Question: what color is the sky? Answer:");
  const std::vector<TokenId> cont = tokenizer_->encode(" blue", {.add_special = false});
  std::vector<TokenId> all = ctx;
  all.insert(all.end(), cont.begin(), cont.end());
  const ojson r = complete({{"model", "zoo-s1"}, {"prompt", {all}}, {"temperature", 0}, {"max_tokens", 1},
                           {"logprobs", 1}, {"seed", 1234}, {"echo", true}});
  const ojson& lp = r["choices"][0]["logprobs"];
  double sum = 0;
  bool greedy = true;
  for (size_t i = ctx.size(); i + 1 < lp["token_logprobs"].size(); ++i) {
    sum += lp["token_logprobs"][i].get<double>();
    double best = -INFINITY;
    for (auto it = lp["top_logprobs"][i].begin(); it != lp["top_logprobs"][i].end(); ++it) best = std::max(best, it.value().get<double>());
    greedy &= lp["token_logprobs"][i].get<double>() == best;
  }
  std::vector<ScoredTarget> targets;
  for (size_t i = ctx.size(); i < all.size(); ++i) targets.push_back({static_cast<uint32_t>(i - 1), all[i]});
  // The same sum over Model::score's values for the whole prompt (what lmzip bpc adds up) is exact.
  std::vector<ScoredTarget> every;
  for (size_t i = 0; i + 1 < all.size(); ++i) every.push_back({static_cast<uint32_t>(i), all[i + 1]});
  const std::vector<double> nll = model_->score(all, every, *pool_);
  double ref = 0;
  for (size_t i = ctx.size(); i < all.size(); ++i) ref -= nll[i - 1];
  EXPECT_EQ(sum, ref);
  // Against only the continuation's targets (a different output-layer batch): equal within rounding.
  double alone = 0;
  for (double v : model_->score(all, targets, *pool_)) alone -= v;
  EXPECT_NEAR(sum, alone, 1e-5);
  // lm-eval's is_greedy: each continuation token equals max(top) exactly when it is the argmax.
  bool argmax_everywhere = true;
  Session session(*model_, static_cast<int64_t>(all.size()));
  session.append(std::span<const TokenId>(all.data(), ctx.size()), *pool_);
  for (size_t i = ctx.size(); i < all.size(); ++i) {
    const auto z = session.logits();
    argmax_everywhere &= std::max_element(z.begin(), z.end()) - z.begin() == all[i];
    session.append(std::span<const TokenId>(&all[i], 1), *pool_);
  }
  EXPECT_EQ(greedy, argmax_everywhere);
  EXPECT_EQ(r["model"], "zoo-s1");
}

// One multiple-choice document as lm-eval's local-completions scores it with batch_size 4: one request with the
// four (context + option) token lists, each option's log-likelihood = sum(token_logprobs[ctxlen:-1]); its answer
// (acc: argmax; acc_norm: argmax of the sum over the option's byte length) equals the one from Model::score.
TEST_F(ServeTest, LmEvalMultipleChoiceDocumentGetsLmEvalsAnswer) {
  const std::vector<TokenId> ctx = tokenizer_->encode("The capital of France is");
  const std::vector<std::string> options = {" Paris", " London", " a city on the river Seine", " Berlin"};
  std::vector<std::vector<TokenId>> prompts;
  for (const std::string& o : options) {
    std::vector<TokenId> p = ctx;
    for (TokenId t : tokenizer_->encode(o, {.add_special = false})) p.push_back(t);
    prompts.push_back(p);
  }
  const ojson r = complete({{"model", "zoo-s1"}, {"prompt", prompts}, {"temperature", 0}, {"max_tokens", 1},
                           {"logprobs", 1}, {"seed", 1234}, {"echo", true}});
  ASSERT_EQ(r["choices"].size(), 4u);
  auto argmax = [](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
  std::vector<double> ll, ll_norm, ref, ref_norm;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const ojson& lp = r["choices"][i]["logprobs"]["token_logprobs"];
    ASSERT_EQ(lp.size(), prompts[i].size() + 1);
    double sum = 0;
    for (size_t t = ctx.size(); t + 1 < lp.size(); ++t) sum += lp[t].get<double>();
    std::vector<ScoredTarget> targets;
    for (size_t t = ctx.size(); t < prompts[i].size(); ++t) targets.push_back({static_cast<uint32_t>(t - 1), prompts[i][t]});
    double want = 0;
    for (double v : model_->score(prompts[i], targets, *pool_)) want -= v;
    EXPECT_NEAR(sum, want, 1e-4) << options[i];
    ll.push_back(sum);
    ref.push_back(want);
    ll_norm.push_back(sum / static_cast<double>(options[i].size()));
    ref_norm.push_back(want / static_cast<double>(options[i].size()));
  }
  EXPECT_EQ(argmax(ll), argmax(ref));
  EXPECT_EQ(argmax(ll_norm), argmax(ref_norm));
}

TEST_F(ServeTest, ParserErrorsNameTheField) {
  const Limits& lim = service_->limits();
  auto param_of = [&](const json& body) -> std::string {
    try {
      (void)parse_completion_request(body, lim);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status() == 400 || e.status() == 413, true) << e.what();
      return e.param();
    }
    return "(accepted)";
  };
  EXPECT_EQ(param_of({{"max_tokens", 1}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", 3}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", json::array()}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {1, "a"}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {"a", 1}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {json::array({1, 2}), json::array()}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {1, 99999999}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {1, -1}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", {1, 2.5}}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"max_tokens", "3"}}), "max_tokens");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"max_tokens", -1}}), "max_tokens");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"max_tokens", 1.5}}), "max_tokens");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"logprobs", 21}}), "logprobs");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"logprobs", true}}), "logprobs");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"echo", "yes"}}), "echo");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"temperature", 0.7}}), "temperature");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"temperature", 0.7}, {"max_tokens", 0}}), "(accepted)");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"stop", 3}}), "stop");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"stop", {""}}}), "stop");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"stream", true}}), "stream");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"n", 2}}), "n");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"seed", "s"}}), "seed");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"model", 1}}), "model");
  // Unknown fields are ignored; nulls mean "absent".
  EXPECT_EQ(param_of({{"prompt", "x"}, {"top_p", 1}, {"whatever", {{"a", 1}}}, {"stop", nullptr}, {"logprobs", nullptr}}),
            "(accepted)");
  const CompletionRequest r = parse_completion_request({{"prompt", {{1, 2}, {3}}}, {"stop", "\n"}}, lim);
  EXPECT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(r.max_tokens, 16);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
}

TEST_F(ServeTest, HttpStatusCodes) {
  auto status = [](const HttpResponse& r) { return r.status; };
  EXPECT_EQ(status(post("/v1/completions", "{not json")), 400);
  EXPECT_EQ(status(post("/v1/completions", "[1,2]")), 400);
  const HttpResponse bad = post("/v1/completions", R"({"prompt": "x", "max_tokens": "many"})");
  EXPECT_EQ(bad.status, 400);
  const json err = json::parse(bad.body);
  EXPECT_EQ(err["error"]["param"], "max_tokens");
  EXPECT_EQ(err["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(err["error"]["message"].is_string());
  // Over the per-request token limit (256 here): 413.
  EXPECT_EQ(status(post("/v1/completions", dump(json{{"prompt", std::vector<int>(300, 5)}}))), 413);
  EXPECT_EQ(status(post("/v1/completions", dump(json{{"prompt", std::vector<int>(250, 5)}, {"max_tokens", 10}}))), 413);
  EXPECT_EQ(status(post("/v1/chat/completions", "{}")), 404);
  EXPECT_NE(json::parse(post("/v1/chat/completions", "{}").body)["error"]["message"].get<std::string>().find("chat"),
            std::string::npos);
  EXPECT_EQ(status(post("/nowhere", "{}")), 404);
  EXPECT_EQ(status(service_->handle({.method = "GET", .path = "/v1/completions", .body = "", .authorization = "", .client_gone = {}})), 405);
  EXPECT_EQ(status(service_->handle({.method = "GET", .path = "/health", .body = "", .authorization = "", .client_gone = {}})), 200);
  const HttpResponse models = service_->handle({.method = "GET", .path = "/v1/models", .body = "", .authorization = "", .client_gone = {}});
  EXPECT_EQ(json::parse(models.body)["data"][0]["id"], "zoo-s1");
  EXPECT_NE(service_->handle({.method = "GET", .path = "/metrics", .body = "", .authorization = "", .client_gone = {}}).body.find(
                "lmzip_scored_tokens_total"),
            std::string::npos);
}

TEST_F(ServeTest, TokenizerEndpointsAsLmEvalsRemoteTokenizer) {
  const json info = json::parse(service_->handle({.method = "GET", .path = "/tokenizer_info", .body = "", .authorization = "", .client_gone = {}}).body);
  ASSERT_TRUE(info.contains("eos_token"));
  const std::string eos = info["eos_token"];
  // lm-eval: eos_token_id = encode(eos_token)[0] with add_special_tokens false.
  const json t = json::parse(post("/tokenize", dump(json{{"prompt", eos}, {"add_special_tokens", false}})).body);
  ASSERT_FALSE(t["tokens"].empty());
  EXPECT_EQ(t["tokens"][0].get<TokenId>(), *tokenizer_->eos());
  const json hello = json::parse(post("/tokenize", dump(json{{"prompt", kText}, {"add_special_tokens", false}})).body);
  EXPECT_EQ(hello["tokens"].get<std::vector<TokenId>>(), tokenizer_->encode(kText, {.add_special = false, .parse_special = true}));
  EXPECT_EQ(hello["count"], hello["tokens"].size());
  const json back = json::parse(post("/detokenize", dump(json{{"tokens", hello["tokens"]}})).body);
  EXPECT_EQ(back["prompt"], kText);
  EXPECT_EQ(post("/detokenize", R"({"tokens": [1, 100000000]})").status, 400);
  EXPECT_EQ(post("/tokenize", R"({"prompt": 5})").status, 400);
}

TEST_F(ServeTest, WaitingScoringRequestsShareOnePassAndMatchOneAtATime) {
  // Scoring requests as lm-eval sends them (echo, logprobs 1, max_tokens 1): four options of one question
  // (a shared prefix) and two unrelated prompts, first one at a time, then all sent while the engine is busy.
  const std::vector<TokenId> q = tokenizer_->encode("Question: which of these rivers is the longest in the world? Answer:");
  std::vector<std::vector<TokenId>> prompts;
  for (const char* option : {" the Nile", " the Amazon", " the Danube", " the Thames"}) {
    std::vector<TokenId> p = q;
    for (TokenId t : tokenizer_->encode(option, {.add_special = false})) p.push_back(t);
    prompts.push_back(p);
  }
  prompts.push_back(tokenizer_->encode("An unrelated prompt about the weather"));
  prompts.push_back(tokenizer_->encode("Zürich"));
  auto body = [&](const std::vector<TokenId>& p) {
    return json{{"prompt", p}, {"echo", true}, {"logprobs", 1}, {"max_tokens", 1}, {"temperature", 0}};
  };
  Service service(*model_, *tokenizer_, *pool_, bpc_options("zoo-s1"));
  std::vector<ojson> alone;
  for (const auto& p : prompts) {
    alone.push_back(ojson::parse(dump(service.complete(parse_completion_request(body(p), service.limits())))));
  }
  const double passes_before = metric(service, "lmzip_engine_passes_total");
  ASSERT_EQ(metric(service, "lmzip_packed_prompts_total"), 0);

  auto blocker = std::async(std::launch::async, [&] {
    return service.handle({.method = "POST", .path = "/v1/lmzip/bpc", .body = dump(long_bpc_body()), .authorization = "", .client_gone = {}});
  });
  while (metric(service, "lmzip_engine_passes_total") < passes_before + 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::future<ojson>> together;
  for (const auto& p : prompts) {
    together.push_back(std::async(std::launch::async, [&, p] {
      return ojson::parse(dump(service.complete(parse_completion_request(body(p), service.limits()))));
    }));
  }
  EXPECT_EQ(blocker.get().status, 200);
  double worst = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const ojson got = together[i].get();
    const ojson& a = alone[i]["choices"][0]["logprobs"];
    const ojson& b = got["choices"][0]["logprobs"];
    ASSERT_EQ(a["tokens"], b["tokens"]) << i;
    EXPECT_EQ(a["text_offset"], b["text_offset"]);
    ASSERT_EQ(a["token_logprobs"].size(), prompts[i].size() + 1);
    for (size_t t = 1; t < a["token_logprobs"].size(); ++t) {
      const double d = std::abs(a["token_logprobs"][t].get<double>() - b["token_logprobs"][t].get<double>());
      worst = std::max(worst, d);
      EXPECT_LT(d, 1e-4) << i << "/" << t;
    }
    EXPECT_EQ(alone[i]["choices"][0]["text"], got["choices"][0]["text"]);
  }
  // The six waited behind the bpc request and were gathered (at least some of them) into shared passes.
  EXPECT_GE(metric(service, "lmzip_packed_prompts_total"), 2);
  std::cout << "largest |packed - alone| token log-probability: " << worst << "\n";
}

// Generations waiting together (several prompts of one request, and requests sent while the engine is busy)
// run in flight together: the same tokens and text as one at a time, log-probabilities within rounding.
TEST_F(ServeTest, GenerationsInFlightTogetherMatchOneAtATime) {
  Service service(*model_, *tokenizer_, *pool_, bpc_options("zoo-s1"));
  const std::vector<std::string> prompts = {"Once upon a time", "The river flows", "In the year 1900 the city",
                                            "Zürich is"};
  auto body = [](const json& prompt) {
    return json{{"prompt", prompt}, {"max_tokens", 12}, {"logprobs", 2}, {"temperature", 0}};
  };
  auto run = [&](const json& b) {
    return ojson::parse(dump(service.complete(parse_completion_request(b, service.limits()))));
  };
  std::vector<ojson> alone;
  for (const auto& p : prompts) alone.push_back(run(body(p)));
  const double passes = metric(service, "lmzip_engine_passes_total");
  const ojson together = run(body(prompts));  // one request, four sequences
  EXPECT_EQ(metric(service, "lmzip_engine_passes_total"), passes + 1);
  // Two more requests sent while a bpc request keeps the engine busy go together as well.
  auto blocker = std::async(std::launch::async, [&] {
    return service.handle({.method = "POST", .path = "/v1/lmzip/bpc", .body = dump(long_bpc_body()),
                           .authorization = "", .client_gone = {}});
  });
  while (metric(service, "lmzip_engine_passes_total") < passes + 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto first = std::async(std::launch::async, [&] { return run(body(prompts[0])); });
  auto second = std::async(std::launch::async, [&] { return run(body(prompts[3])); });
  EXPECT_EQ(blocker.get().status, 200);
  const ojson one = first.get(), four = second.get();
  auto same = [](const ojson& a, const ojson& b) {
    EXPECT_EQ(a["text"], b["text"]);
    EXPECT_EQ(a["finish_reason"], b["finish_reason"]);
    EXPECT_EQ(a["logprobs"]["tokens"], b["logprobs"]["tokens"]);
    const ojson& x = a["logprobs"]["token_logprobs"];
    const ojson& y = b["logprobs"]["token_logprobs"];
    ASSERT_EQ(x.size(), y.size());
    for (size_t t = 0; t < x.size(); ++t) EXPECT_NEAR(x[t].get<double>(), y[t].get<double>(), 1e-4) << t;
  };
  for (size_t i = 0; i < prompts.size(); ++i) same(together["choices"][i], alone[i]["choices"][0]);
  same(one["choices"][0], alone[0]["choices"][0]);
  same(four["choices"][0], alone[3]["choices"][0]);
  // bpc, the four-prompt request, and the two gathered requests in one run: at most passes + 3.
  EXPECT_LE(metric(service, "lmzip_engine_passes_total"), passes + 3);
}

// A generation request whose sequences do not fit --max-batch-tokens runs its prompts one at a time (no cache
// for all of them at once): exactly the lone runs' results.
TEST_F(ServeTest, GenerationTooLargeToShareAPassRunsPromptByPrompt) {
  ServiceOptions o = bpc_options("zoo-s1");
  o.max_batch_tokens = 16;
  Service service(*model_, *tokenizer_, *pool_, o);
  const std::vector<std::string> prompts = {"Once upon a time", "The river flows"};
  auto run = [&](const json& prompt) {
    const json b = {{"prompt", prompt}, {"max_tokens", 12}, {"logprobs", 1}, {"temperature", 0}};
    return ojson::parse(dump(service.complete(parse_completion_request(b, service.limits()))));
  };
  const ojson both = run(prompts);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const ojson one = run(prompts[i]);
    EXPECT_EQ(both["choices"][i]["text"], one["choices"][0]["text"]);
    EXPECT_EQ(both["choices"][i]["logprobs"]["token_logprobs"], one["choices"][0]["logprobs"]["token_logprobs"]);
  }
}

TEST_F(ServeTest, RequestOfAClientThatLeftIsDroppedUnrun) {
  Service service(*model_, *tokenizer_, *pool_, bpc_options("zoo-s1"));
  const HttpResponse r = service.handle({.method = "POST", .path = "/v1/completions",
                                         .body = R"({"prompt": "Hello", "max_tokens": 5})", .authorization = "",
                                         .client_gone = [] { return true; }});
  EXPECT_EQ(r.status, 499);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "client_closed");
  EXPECT_EQ(metric(service, "lmzip_dropped_requests_total"), 1);
  EXPECT_EQ(metric(service, "lmzip_generated_tokens_total"), 0);
}

TEST_F(ServeTest, TimeoutWhileWaitingIs504AndTheRequestNeverRuns) {
  ServiceOptions o = bpc_options("zoo-s1");
  o.request_timeout_s = 0.05;
  Service service(*model_, *tokenizer_, *pool_, o);
  // The bpc request itself runs past 50 ms (504 from its scorer); the completion behind it times out waiting.
  auto blocker = std::async(std::launch::async, [&] {
    return service.handle({.method = "POST", .path = "/v1/lmzip/bpc", .body = dump(long_bpc_body()), .authorization = "", .client_gone = {}});
  });
  while (metric(service, "lmzip_engine_passes_total") < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const HttpResponse r = post_to(service, "/v1/completions", R"({"prompt": "Hello", "max_tokens": 3})");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(blocker.get().status, 504);
  EXPECT_EQ(metric(service, "lmzip_generated_tokens_total"), 0);
}

TEST_F(ServeTest, FullQueueIs503WithRetryAfter) {
  ServiceOptions o = bpc_options("zoo-s1");
  o.max_queue = 1;
  Service service(*model_, *tokenizer_, *pool_, o);
  auto blocker = std::async(std::launch::async, [&] {
    return service.handle({.method = "POST", .path = "/v1/lmzip/bpc", .body = dump(long_bpc_body()),
                           .authorization = "", .client_gone = {}});
  });
  while (metric(service, "lmzip_requests_in_flight") < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const HttpResponse r = post_to(service, "/v1/completions", R"({"prompt": "Hello", "max_tokens": 0, "echo": true})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "server_busy");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(blocker.get().status, 200);
  EXPECT_EQ(post_to(service, "/v1/completions", R"({"prompt": "Hello", "max_tokens": 0, "echo": true})").status, 200);
}

TEST_F(ServeTest, BpcEndpointEqualsScoringTheDocuments) {
  Service service(*model_, *tokenizer_, *pool_, bpc_options("zoo-s1"));
  const std::vector<std::string> docs = {"The first document, about rivers and their deltas.",
                                         "Zweites Dokument: Flüsse, Täler und Brücken über den Rhein."};
  const HttpResponse r = post_to(service, "/v1/lmzip/bpc",
                                 dump(json{{"documents", docs}, {"protocol", "doc"}, {"window", 16}, {"stride", 8},
                                           {"corpus", "two"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  // The same plan scored directly with Model::score (what lmzip bpc runs).
  Corpus c;
  c.name = "two";
  c.documents = docs;
  ProtocolParams p = default_params(Protocol::Doc);
  p.window = 16;
  p.stride = 8;
  const ScoringPlan plan = plan_scoring(c, *tokenizer_, p, 1);
  const BpcResult ref = run_scoring(plan, [&](std::span<const TokenId> in, std::span<const ScoreTarget> t) {
    std::vector<ScoredTarget> st;
    for (const ScoreTarget& x : t) st.push_back({x.position, x.token});
    return model_->score(in, st, *pool_);
  }, {});
  EXPECT_EQ(j["total_nats"].get<double>(), ref.total_nats);
  EXPECT_EQ(j["bpc"].get<double>(), ref.bpc());
  EXPECT_EQ(j["scored_tokens"], ref.scored_tokens);
  EXPECT_EQ(j["protocol"], "doc");
  EXPECT_EQ(j["corpus"], "two");
  // Field errors name the field; a stride for a disjoint protocol is refused as lmzip bpc refuses it.
  auto param = [&](const json& body) {
    const HttpResponse e = post_to(service, "/v1/lmzip/bpc", dump(body));
    EXPECT_EQ(e.status, 400) << body.dump();
    return json::parse(e.body)["error"]["param"];
  };
  EXPECT_EQ(param(json{{"documents", json::array()}}), "documents");
  EXPECT_EQ(param(json{{"documents", {"a", 3}}}), "documents");
  EXPECT_EQ(param(json{{"documents", {"a", ""}}}), "documents");
  EXPECT_EQ(param(json{{"documents", {"abc"}}, {"window", "long"}}), "window");
  EXPECT_EQ(param(json{{"documents", {"abc"}}, {"protocol", "zip"}}), "protocol");
  EXPECT_EQ(param(json{{"documents", {"abc"}}, {"protocol", "llama.cpp"}, {"stride", 5}}), "protocol");
  // Without a result builder the endpoint is not offered.
  EXPECT_EQ(post("/v1/lmzip/bpc", dump(json{{"documents", {"abc"}}})).status, 404);
}

TEST_F(ServeTest, MetricsHaveALatencyHistogram) {
  Service service(*model_, *tokenizer_, *pool_, bpc_options("zoo-s1"));
  for (int i = 0; i < 3; ++i) post_to(service, "/v1/completions", R"({"prompt": "Hi", "max_tokens": 0, "echo": true})");
  post_to(service, "/v1/completions", "{bad");
  const std::string text = service.handle({.method = "GET", .path = "/metrics", .body = "", .authorization = "", .client_gone = {}}).body;
  EXPECT_NE(text.find("# TYPE lmzip_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("lmzip_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_EQ(metric(service, "lmzip_request_duration_seconds_count"), 4);
  // Buckets are cumulative: never decreasing, the last equal to the count.
  double last = 0;
  for (size_t at = text.find("_bucket{"); at != std::string::npos; at = text.find("_bucket{", at + 1)) {
    const double v = std::stod(text.substr(text.find("} ", at) + 2));
    EXPECT_GE(v, last);
    last = v;
  }
  EXPECT_EQ(last, 4);
}

TEST(ServeAuth, BearerKey) {
  EXPECT_TRUE(authorized("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(authorized("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(authorized("Bearer s3cret2", "s3cret"));
  EXPECT_FALSE(authorized("", "s3cret"));
  EXPECT_FALSE(authorized("s3cret", "s3cret"));
}

TEST(ServeProtocol, TokenTextEscapesPartialCharacters) {
  EXPECT_EQ(token_text("ab"), "ab");
  EXPECT_EQ(token_text("\xc3"), "bytes:\\xc3");
  EXPECT_EQ(token_text("\xe2\x9c"), "bytes:\\xe2\\x9c");
}

}  // namespace
}  // namespace lmzip::serve

// lmzip serve end to end: starts the server on a free loopback port, drives it with a real HTTP client
// (cpp-httplib's), checks the responses and every error status, then stops it with SIGTERM (exit 0).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "testutil/testutil.h"

namespace {

using json = nlohmann::json;

// A running `lmzip serve`; its stdout's first line gives the port.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::vector<char*> argv;
      std::string bin = lmzip::test::lmzip_bin();
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;  // "listening on http://127.0.0.1:PORT"
    close(out[0]);
    const size_t colon = line.rfind(':');
    if (line.rfind("listening on http://", 0) == 0 && colon != std::string::npos) port_ = std::stoi(line.substr(colon + 1));
  }
  ~ServerProcess() {
    if (pid_ > 0 && !stopped_) stop();
  }
  int port() const { return port_; }
  int stop() {  // SIGTERM; the exit status
    stopped_ = true;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int port_ = -1;
  bool stopped_ = false;
};

std::string model() { return lmzip::test::shared_dir() + "/zoo/models/zoo-s1.gguf"; }

TEST(ServeCli, CompletionsTokenizerAndErrorsOverHttp) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  ServerProcess server({"serve", "-m", model(), "--port", "0", "-t", "2", "--max-tokens-per-request", "512",
                        "--max-body-bytes", "100000"});
  ASSERT_GT(server.port(), 0) << "the server did not report a port";
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_read_timeout(60, 0);

  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // lm-eval's remote tokenizer: /tokenizer_info then /tokenize.
  auto info = cli.Get("/tokenizer_info");
  ASSERT_TRUE(info);
  ASSERT_EQ(info->status, 200);
  EXPECT_TRUE(json::parse(info->body).contains("eos_token"));
  auto tok = cli.Post("/tokenize", R"({"prompt": "Question: 2+2? Answer:", "add_special_tokens": false})", "application/json");
  ASSERT_TRUE(tok);
  const std::vector<int> ctx = json::parse(tok->body)["tokens"];
  auto cont_r = cli.Post("/tokenize", R"({"prompt": " four", "add_special_tokens": false})", "application/json");
  const std::vector<int> cont = json::parse(cont_r->body)["tokens"];
  std::vector<int> all = ctx;
  all.insert(all.end(), cont.begin(), cont.end());

  // The loglikelihood request lm-eval's local-completions sends (tokenized, batch of one).
  const json payload = {{"model", "zoo-s1"}, {"prompt", {all}}, {"temperature", 0}, {"max_tokens", 1},
                        {"logprobs", 1}, {"seed", 1234}, {"echo", true}};
  auto r = cli.Post("/v1/completions", payload.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json out = json::parse(r->body);
  const json& lp = out["choices"][0]["logprobs"];
  ASSERT_EQ(lp["token_logprobs"].size(), all.size() + 1);
  double sum = 0;
  for (size_t i = ctx.size(); i + 1 < lp["token_logprobs"].size(); ++i) sum += lp["token_logprobs"][i].get<double>();
  EXPECT_LT(sum, 0);

  // Batched = one at a time.
  const json two = {{"prompt", {ctx, all}}, {"echo", true}, {"logprobs", 1}, {"max_tokens", 0}};
  auto rb = cli.Post("/v1/completions", two.dump(), "application/json");
  ASSERT_EQ(rb->status, 200);
  const json single = {{"prompt", all}, {"echo", true}, {"logprobs", 1}, {"max_tokens", 0}};
  auto rs = cli.Post("/v1/completions", single.dump(), "application/json");
  // The two prompts of one request share a packed pass: the same tokens and offsets, values within rounding.
  const json both = json::parse(rb->body), alone = json::parse(rs->body);
  const json& packed = both["choices"][1]["logprobs"];
  const json& one = alone["choices"][0]["logprobs"];
  EXPECT_EQ(packed["tokens"], one["tokens"]);
  EXPECT_EQ(packed["text_offset"], one["text_offset"]);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_NEAR(packed["token_logprobs"][i].get<double>(), one["token_logprobs"][i].get<double>(), 1e-4) << i;
  }
  for (size_t i = ctx.size(); i < all.size(); ++i) {
    EXPECT_EQ(json::parse(rs->body)["choices"][0]["logprobs"]["token_logprobs"][i], lp["token_logprobs"][i]);
  }

  // Generation.
  auto g = cli.Post("/v1/completions", R"({"prompt": "Once upon a time", "max_tokens": 5, "temperature": 0})", "application/json");
  ASSERT_EQ(g->status, 200);
  EXPECT_EQ(json::parse(g->body)["usage"]["completion_tokens"], 5);

  // Errors.
  EXPECT_EQ(cli.Post("/v1/completions", "{oops", "application/json")->status, 400);
  EXPECT_EQ(cli.Post("/v1/completions", R"({"prompt": "x", "logprobs": "1"})", "application/json")->status, 400);
  EXPECT_EQ(cli.Post("/v1/chat/completions", "{}", "application/json")->status, 404);
  EXPECT_EQ(cli.Get("/v2/anything")->status, 404);
  EXPECT_EQ(cli.Post("/v1/completions", json{{"prompt", std::vector<int>(600, 7)}}.dump(), "application/json")->status, 413);
  auto big = cli.Post("/v1/completions", std::string(200000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(cli.Get("/v1/models")->status, 200);

  EXPECT_EQ(server.stop(), 0);
}

// POST /v1/lmzip/bpc answers with lmzip bpc --json's object: the same numbers, bit for bit, as the command on
// the same documents in a JSONL file.
TEST(ServeCli, BpcEndpointEqualsLmzipBpc) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::vector<std::string> docs = {"A first document about the weather in spring, and the rain it brings.",
                                         "Ein zweites Dokument über Flüsse und Brücken.", "三番目の文書です。"};
  const std::string corpus = lmzip::test::temp_dir() + "/serve-docs.jsonl";
  {
    std::string text;
    for (const auto& d : docs) text += json{{"content", d}}.dump() + "\n";
    FILE* f = fopen(corpus.c_str(), "wb");
    ASSERT_TRUE(f);
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
  }
  const lmzip::test::CliResult ref =
      lmzip::test::run_lmzip("bpc --no-db --json -t 2 --protocol doc --window 24 --stride 8 -m " + model() + " " + corpus);
  ASSERT_EQ(ref.rc, 0) << ref.err;
  const json want = json::parse(ref.out);
  ServerProcess server({"serve", "-m", model(), "--port", "0", "-t", "2"});
  ASSERT_GT(server.port(), 0);
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_read_timeout(60, 0);
  auto r = cli.Post("/v1/lmzip/bpc", json{{"documents", docs}, {"protocol", "doc"}, {"window", 24}, {"stride", 8},
                                          {"corpus", "serve-docs"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json got = json::parse(r->body);
  for (const char* k : {"bpc", "bpb", "total_nats", "documents", "chars", "bytes", "tokens", "windows",
                        "scored_tokens", "protocol", "window", "stride", "model", "model_id", "corpus", "bpc_stderr"}) {
    EXPECT_EQ(got[k], want[k]) << k;
  }
  EXPECT_EQ(cli.Post("/v1/lmzip/bpc", R"({"documents": []})", "application/json")->status, 400);
  EXPECT_EQ(server.stop(), 0);
}

// A client that closes its connection while its request waits frees its place: the request is dropped unrun.
TEST(ServeCli, RequestOfADisconnectedClientIsDropped) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  ServerProcess server({"serve", "-m", model(), "--port", "0", "-t", "1"});
  ASSERT_GT(server.port(), 0);
  // Keep the engine busy with a long bpc request from one client...
  std::vector<std::string> docs;
  for (int i = 0; i < 60; ++i) {
    std::string d;
    for (int k = 0; k < 60; ++k) d += "Sentence " + std::to_string(i * 100 + k) + " about rivers and bridges. ";
    docs.push_back(d);
  }
  std::thread busy([&] {
    httplib::Client a("127.0.0.1", server.port());
    a.set_read_timeout(120, 0);
    auto r = a.Post("/v1/lmzip/bpc", json{{"documents", docs}, {"protocol", "doc"}, {"window", 256}}.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
  });
  httplib::Client probe("127.0.0.1", server.port());
  for (int i = 0; i < 2000; ++i) {  // until the bpc request runs
    auto m = probe.Get("/metrics");
    if (m && m->body.find("\nlmzip_engine_passes_total 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // ...then send a generation on a raw socket and hang up without reading the answer.
  const std::string body = R"({"prompt": "Once upon a time", "max_tokens": 50})";
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  for (int i = 0; i < 2000; ++i) {  // until it waits in the queue
    auto m = probe.Get("/metrics");
    if (m && m->body.find("\nlmzip_queue_depth 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  close(fd);
  busy.join();
  for (int i = 0; i < 2000; ++i) {  // until the engine has taken the hung-up request too
    auto m = probe.Get("/metrics");
    if (m && m->body.find("\nlmzip_requests_in_flight 0") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto m = probe.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("\nlmzip_dropped_requests_total 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("\nlmzip_generated_tokens_total 0"), std::string::npos) << m->body;
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServeCli, ApiKey) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  ServerProcess server({"serve", "-m", model(), "--port", "0", "-t", "1", "--api-key", "k3y"});
  ASSERT_GT(server.port(), 0);
  httplib::Client cli("127.0.0.1", server.port());
  EXPECT_EQ(cli.Get("/v1/models")->status, 401);
  EXPECT_EQ(cli.Get("/health")->status, 200);
  httplib::Headers h{{"Authorization", "Bearer k3y"}};
  EXPECT_EQ(cli.Get("/v1/models", h)->status, 200);
  httplib::Headers wrong{{"Authorization", "Bearer k3z"}};
  EXPECT_EQ(cli.Get("/v1/models", wrong)->status, 401);
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace

// lmzip serve -m MODEL : an OpenAI-compatible HTTP server (legacy completions with prompt log-probabilities) so
// that lm-evaluation-harness's local-completions model and any client can score through lmzip. The endpoints
// live in the library (serve/service.h); this file adapts cpp-httplib to them, and handles signals.
#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "bpc_output.h"
#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/version.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/serve/service.h"

namespace lmzip::cli {
namespace {

struct ServeArgs {
  std::string model_path, tokenizer_path, name;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  long long max_tokens_per_request = 0;  // 0: the model's training context (2048 when it has none)
  long long max_body_bytes = 32ll << 20;
  long long max_queue = 64;
  long long max_batch_tokens = 4096;
  double timeout = 600;
  std::string api_key;
};

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

serve::HttpResponse plain_error(int status, const std::string& message) {
  return {.status = status, .body = serve::dump(serve::error_body(serve::ApiError(status, message))),
          .content_type = "application/json", .headers = {}};
}

// The socket a request arrived on (cpp-httplib 0.11 does not hand it to handlers): the descriptor whose peer is
// the request's remote address and port. -1 when none is.
int connection_fd(const std::string& ip, int port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      continue;
    }
    if (ip == host && port == std::atoi(serv)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

// Whether the peer of `fd` closed the connection: a peek reads end-of-stream (or the socket failed). A pipelined
// next request is data, so a client that keeps its connection open is never taken for gone.
bool peer_closed(int fd) {
  char c;
  const ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void reply(const serve::HttpResponse& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  res.set_content(r.body, r.content_type);
}

int run_serve(int argc, char** argv) {
  ServeArgs a;
  ArgParser args("lmzip serve -m MODEL [--host 127.0.0.1] [--port 8080] [--tokenizer FILE] [-t N]\n"
                 "            [--max-tokens-per-request N] [--api-key KEY] [--timeout S] [--max-queue N]\n"
                 "            [--max-batch-tokens N]",
                 "Serves the model over HTTP with OpenAI's legacy completions API, returning the prompt's\n"
                 "log-probabilities (echo + logprobs) exactly as lmzip bpc computes them, and greedy generation.\n"
                 "Point lm-evaluation-harness at it with --model local-completions --model_args\n"
                 "base_url=http://127.0.0.1:8080/v1/completions,tokenizer_backend=remote (docs/SERVE.md).\n"
                 "Listens on 127.0.0.1 unless --host says otherwise; prints 'listening on http://HOST:PORT'\n"
                 "on stdout when ready (--port 0: a free port). SIGINT/SIGTERM stop it after the running requests.");
  args.option("-m,--model", "MODEL", &a.model_path, "the model: a .gguf file or a Hugging Face checkpoint directory");
  args.option("--tokenizer", "FILE", &a.tokenizer_path,
              "tokenizer.model, tokenizer.json or a .gguf vocabulary to use instead of the model's own");
  args.option("--host", "ADDR", &a.host, "address to listen on (default 127.0.0.1)");
  args.option("--port", "N", &a.port, "port (default 8080; 0: any free port)");
  args.option("-t,--threads", "N", &a.threads, "threads (default: all)");
  args.option("--max-tokens-per-request", "N", &a.max_tokens_per_request,
              "most tokens per prompt, max_tokens included (default: the model's context, else 2048)");
  args.option("--max-body-bytes", "N", &a.max_body_bytes, "largest request body (default 32 MiB; larger: 413)");
  args.option("--max-queue", "N", &a.max_queue, "requests waiting for or running on the model before 503 (default 64)");
  args.option("--max-batch-tokens", "N", &a.max_batch_tokens,
              "rows of one packed pass gathering waiting scoring requests (default 4096; 1: no gathering)");
  args.option("--timeout", "S", &a.timeout, "seconds a request may run before 504 (default 600)");
  args.option("--api-key", "KEY", &a.api_key,
              "require \"Authorization: Bearer KEY\" (default: $LMZIP_SERVE_API_KEY; none: open)");
  args.option("--name", "NAME", &a.name, "the model's name in responses (default: the file name)");
  if (!args.parse(argc, argv)) return 0;
  if (a.model_path.empty()) throw UsageError("serve: -m MODEL is required");
  if (a.port < 0 || a.port > 65535) throw UsageError("--port must lie in [0, 65535]");
  if (a.max_queue < 1) throw UsageError("--max-queue must be positive");
  if (a.max_batch_tokens < 1) throw UsageError("--max-batch-tokens must be positive");
  if (a.max_body_bytes < 1) throw UsageError("--max-body-bytes must be positive");
  if (!(a.timeout > 0)) throw UsageError("--timeout must be positive");
  if (a.api_key.empty()) {
    if (const char* k = std::getenv("LMZIP_SERVE_API_KEY")) a.api_key = k;
  }
  if (!is_loopback(a.host)) {
    std::cerr << "lmzip serve: warning: listening on " << a.host << ", not a loopback address: anyone who can reach "
              << "it can use the model" << (a.api_key.empty() ? " (no --api-key set)" : "") << "\n";
  }

  // SIGINT/SIGTERM set a flag (any thread may take the signal: OpenBLAS starts its own before main); a watcher
  // thread then stops the server, which finishes the running requests.
  // The watcher holds the server too, so that it outlives this function.
  const auto server_ptr = std::make_shared<httplib::Server>();
  httplib::Server& server = *server_ptr;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::thread([server_ptr] {
    while (g_stop_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::cerr << "lmzip serve: " << (g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
              << ": stopping after the running requests\n";
    for (;;) {  // until the process exits (a stop before listening began is repeated)
      server_ptr->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }).detach();

  const ModelSource source = open_model_source(a.model_path, a.tokenizer_path);
  std::unique_ptr<Tokenizer> tokenizer = source.tokenizer();
  std::unique_ptr<Model> model = source.load_model();
  ThreadPool pool(resolve_threads(a.threads));
  const int64_t n_ctx = model->config().n_ctx_train > 0 ? model->config().n_ctx_train : 2048;
  serve::ServiceOptions options{
      .model_name = a.name.empty() ? model_display_name(a.model_path) : a.name,
      .max_tokens_per_request = a.max_tokens_per_request > 0 ? a.max_tokens_per_request : n_ctx,
      .context_length = n_ctx,
      .request_timeout_s = a.timeout,
      .max_queue = static_cast<int>(std::min<long long>(a.max_queue, 1 << 20)),
      .api_key = a.api_key,
      .max_batch_tokens = a.max_batch_tokens,
      .threads = pool.size(),
      .bpc_json = {},
  };
  // /v1/lmzip/bpc answers with lmzip bpc --json's object, provenance included.
  const std::string started = iso_now();
  options.bpc_json = [&](const BpcResult& r, const ProtocolParams& params, const Corpus& corpus) {
    PartMeta meta{.model_name = options.model_name, .model_path = a.model_path, .model_id = source.id,
                  .model_format = source.format, .tokenizer_file = source.tokenizer_file,
                  .model_bytes = source.format == "gguf" ? source.file.file_size() : source.weight_bytes,
                  .corpus_name = corpus.name, .corpus_path = corpus.path, .corpus_sha256 = corpus.sha256, .field = {},
                  .skipped_empty = 0, .skipped_invalid = 0, .params = params, .shard = {},
                  .lmzip_version = kVersion, .device = "cpu", .host = {}, .started_at = started,
                  .finished_at = iso_now(), .threads = pool.size()};
    meta.seconds = r.seconds;
    nlohmann::json j = result_json(r, meta);
    add_uncertainty(j, estimate_uncertainty(r.per_doc, {.resamples = 1000, .seed = 20240415}), 1000);
    return j;
  };
  serve::Service service(*model, *tokenizer, pool, options);

  auto handler = [&service](const httplib::Request& req, httplib::Response& res) {
    serve::HttpRequest q{.method = req.method, .path = req.path, .body = req.body,
                         .authorization = req.get_header_value("Authorization"), .client_gone = {}};
    const int fd = connection_fd(req.remote_addr, req.remote_port);
    if (fd >= 0) q.client_gone = [fd] { return peer_closed(fd); };
    reply(service.handle(q), res);
  };
  for (const char* pattern : {R"(/.*)"}) {
    server.Get(pattern, handler);
    server.Post(pattern, handler);
    server.Put(pattern, handler);
    server.Delete(pattern, handler);
    server.Patch(pattern, handler);
  }
  // What httplib answers itself (a body over the limit: 413; a malformed request: 400) gets a JSON error too.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 413 ? "the request body is larger than the server's limit (--max-body-bytes)"
                                                  : "the request could not be read (HTTP status " + std::to_string(res.status) + ")";
    reply(plain_error(res.status, message), res);
  });
  server.set_payload_max_length(static_cast<size_t>(a.max_body_bytes));
  server.set_read_timeout(60, 0);
  server.set_write_timeout(60, 0);
  server.set_keep_alive_timeout(30);

  const int port = a.port == 0 ? server.bind_to_any_port(a.host) : (server.bind_to_port(a.host, a.port) ? a.port : -1);
  if (port < 0) throw Error("serve: cannot listen on " + a.host + ":" + std::to_string(a.port) + " (in use?)");
  if (g_stop_signal != 0) return 0;
  std::cerr << "lmzip serve: " << options.model_name << " (" << model->config().architecture << ", "
            << tokenizer->vocab_size() << " tokens, " << pool.size() << " threads), at most "
            << options.max_tokens_per_request << " tokens per prompt\n";
  std::cout << "listening on http://" << a.host << ":" << port << std::endl;
  server.listen_after_bind();
  std::cerr << "lmzip serve: stopped\n";
  return 0;
}

Registration reg{{"serve", "an OpenAI-compatible HTTP server with exact prompt log-probabilities (lm-eval)", run_serve}};

}  // namespace
}  // namespace lmzip::cli

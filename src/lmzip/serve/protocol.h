// lmzip serve's wire protocol as pure functions: a request body (JSON) → a validated request → (after the engine
// ran it) a response body. No sockets and no model here, so every rule is unit-tested and fuzzed
// (fuzz/fuzz_serve_request.cpp). The schema is OpenAI's legacy completions API as lm-evaluation-harness's
// `local-completions` model uses it, and vLLM's /tokenize, /detokenize and /tokenizer_info (lm-eval's "remote"
// tokenizer backend). docs/SERVE.md documents every field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmzip/score/protocol.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::serve {

// An error the client caused: an HTTP status and OpenAI's error object {"error": {message, type, param, code}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string type = "invalid_request_error")
      : std::runtime_error(message), status_(status), param_(std::move(param)), type_(std::move(type)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string param_, type_;
};

// {"error": {"message", "type", "param" (null when none), "code" (null)}}.
nlohmann::json error_body(const ApiError& e);

struct Limits {
  int64_t n_vocab = 0;                   // token ids must lie in [0, n_vocab)
  int64_t max_tokens_per_request = 2048; // per prompt: its tokens plus max_tokens (--max-tokens-per-request)
  size_t max_prompts = 1024;             // prompts in one request (a list of strings or of lists)
  int max_logprobs = 20;                 // the largest `logprobs` (alternatives per position)
  size_t max_stop = 16;                  // stop strings
  size_t max_stop_bytes = 1024;          // per stop string
  size_t max_documents = 100000;         // documents in one POST /v1/lmzip/bpc
};

// A prompt as the client gave it: text (tokenized by the server) or token ids.
using PromptInput = std::variant<std::string, std::vector<TokenId>>;

struct CompletionRequest {
  std::string model;                 // echoed back; any name is accepted (one model per server)
  std::vector<PromptInput> prompts;  // one choice per prompt, in order
  int max_tokens = 16;               // OpenAI's default; 0 allowed (with echo: pure scoring)
  bool echo = false;
  std::optional<int> logprobs;       // alternatives per position; absent: no logprobs object
  double temperature = 0;            // only greedy decoding: > 0 is refused when tokens are generated
  std::vector<std::string> stop;
  std::optional<int64_t> seed;       // accepted (greedy decoding uses no randomness)
  bool add_special_tokens = false;   // text prompts: add BOS/EOS as the vocabulary says (vLLM's field)
};

// Validates a POST /v1/completions body. Unknown fields are ignored; a known field of the wrong type or out of
// range is an ApiError 400 naming it (param); `stream`, `n` > 1, `best_of` > 1 and `suffix` are refused.
CompletionRequest parse_completion_request(const nlohmann::json& body, const Limits& limits);

// Parses a request body as JSON: ApiError 400 (with the parser's position) when it is not, or not an object.
nlohmann::json parse_body(std::string_view body);

// One choice's tokens after the engine ran: ids, log-probabilities (nullopt for the first prompt token) and
// alternatives, as (token text, ln p) pairs.
struct ChoiceToken {
  TokenId id = 0;
  std::string text;                 // the bytes this token adds to the choice's text
  std::optional<double> logprob;
  std::vector<std::pair<std::string, double>> top;  // most likely first
  bool has_top = false;             // false for the first prompt token (top_logprobs null)
};

struct Choice {
  std::string text;                 // echo: prompt + completion; else the completion
  std::vector<ChoiceToken> tokens;  // echo: the prompt's then the completion's; else the completion's
  std::vector<size_t> text_offset;  // byte offset in `text` where each token starts
  std::string finish_reason;        // "length" or "stop"
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

// The text of a token as the API spells it: the bytes when valid UTF-8, else "bytes:\xNN..." (as OpenAI
// writes partial characters), so that every string in a response is valid JSON.
std::string token_text(std::string_view bytes);

// The /v1/completions response object (ordered: top_logprobs keep most likely first).
nlohmann::ordered_json completion_response(const CompletionRequest& request, const std::vector<Choice>& choices,
                                   const std::string& id, int64_t created, const std::string& model_name);

// POST /tokenize {"prompt": str, "add_special_tokens": bool (default true)} (vLLM's schema).
struct TokenizeRequest {
  std::string prompt;
  bool add_special_tokens = true;
};
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);

// POST /detokenize {"tokens": [int]}; every id checked against limits.n_vocab.
std::vector<TokenId> parse_detokenize_request(const nlohmann::json& body, const Limits& limits);

// POST /v1/lmzip/bpc {"documents": [str, ...], "protocol", "window", "stride", "bos_mode", "max_chunks",
// "corpus"}: lmzip bpc on the documents (each non-empty, valid UTF-8), under the protocol as lmzip bpc's options
// name it. The response is lmzip bpc --json's object.
struct BpcRequest {
  std::vector<std::string> documents;
  ProtocolChoice protocol;
  std::string corpus = "request";  // the corpus name in the result
};
BpcRequest parse_bpc_request(const nlohmann::json& body, const Limits& limits);

// A response body: bytes that are not valid UTF-8 inside strings become U+FFFD (never an exception).
std::string dump(const nlohmann::json& j);
std::string dump(const nlohmann::ordered_json& j);

}  // namespace lmzip::serve

// The completions / tokenizer request parsers and the response builders (protocol.h).
#include "lmzip/serve/protocol.h"

#include "lmzip/core/utf8.h"

namespace lmzip::serve {
namespace {

using json = nlohmann::json;

ApiError bad(const std::string& param, const std::string& message) { return ApiError(400, message, param); }

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

bool get_bool(const json& body, const char* name, bool fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_boolean()) throw bad(name, std::string("'") + name + "' must be a boolean");
  return v->get<bool>();
}

// An integer field within [lo, hi]; floats (even 1.0), strings and booleans are refused.
std::optional<int64_t> get_int(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) throw bad(name, std::string("'") + name + "' must be an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw bad(name, std::string("'") + name + "' is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) {
    throw bad(name, std::string("'") + name + "' is " + std::to_string(x) + ", outside [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
  }
  return x;
}

TokenId token_id(const json& v, const std::string& where, const Limits& limits) {
  if (!v.is_number_integer()) throw bad("prompt", where + " must be a token id (an integer)");
  if (v.is_number_unsigned() ? v.get<uint64_t>() >= static_cast<uint64_t>(limits.n_vocab)
                             : (v.get<int64_t>() < 0 || v.get<int64_t>() >= limits.n_vocab)) {
    throw bad("prompt", where + " = " + v.dump() + " is outside the vocabulary [0, " + std::to_string(limits.n_vocab) + ")");
  }
  return static_cast<TokenId>(v.get<int64_t>());
}

std::vector<TokenId> token_list(const json& a, const std::string& where, const Limits& limits) {
  if (a.empty()) throw bad("prompt", where + " is an empty list of tokens");
  if (static_cast<int64_t>(a.size()) > limits.max_tokens_per_request) {
    throw ApiError(413, where + " has " + std::to_string(a.size()) + " tokens, more than the server's limit of " +
                            std::to_string(limits.max_tokens_per_request) + " (--max-tokens-per-request)",
                   "prompt");
  }
  std::vector<TokenId> ids;
  ids.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) ids.push_back(token_id(a[i], where + "[" + std::to_string(i) + "]", limits));
  return ids;
}

// "prompt": a string, a list of strings, a list of token ids, or a list of lists of token ids.
std::vector<PromptInput> parse_prompts(const json& body, const Limits& limits) {
  const json* p = field(body, "prompt");
  if (!p) throw bad("prompt", "'prompt' is required (a string, a list of strings, a list of token ids or a list of lists)");
  if (p->is_string()) return {p->get<std::string>()};
  if (!p->is_array()) throw bad("prompt", "'prompt' must be a string, a list of strings, a list of token ids or a list of lists");
  if (p->empty()) throw bad("prompt", "'prompt' is an empty list");
  if ((*p)[0].is_number()) return {token_list(*p, "prompt", limits)};
  if (p->size() > limits.max_prompts) {
    throw ApiError(413, "'prompt' has " + std::to_string(p->size()) + " prompts, more than the limit of " +
                            std::to_string(limits.max_prompts), "prompt");
  }
  std::vector<PromptInput> prompts;
  const bool strings = (*p)[0].is_string();
  for (size_t i = 0; i < p->size(); ++i) {
    const json& e = (*p)[i];
    const std::string where = "prompt[" + std::to_string(i) + "]";
    if (strings && e.is_string()) {
      prompts.emplace_back(e.get<std::string>());
    } else if (!strings && e.is_array()) {
      prompts.emplace_back(token_list(e, where, limits));
    } else {
      throw bad("prompt", where + " must be " + (strings ? "a string, as prompt[0] is" : "a list of token ids, as prompt[0] is"));
    }
  }
  return prompts;
}

std::vector<std::string> parse_stop(const json& body, const Limits& limits) {
  const json* s = field(body, "stop");
  if (!s) return {};
  std::vector<std::string> stop;
  auto add = [&](const json& v) {
    if (!v.is_string()) throw bad("stop", "'stop' must be a string or a list of strings");
    std::string text = v.get<std::string>();
    if (text.empty()) throw bad("stop", "'stop' strings must not be empty");
    if (text.size() > limits.max_stop_bytes) {
      throw bad("stop", "a 'stop' string is longer than " + std::to_string(limits.max_stop_bytes) + " bytes");
    }
    stop.push_back(std::move(text));
  };
  if (s->is_array()) {
    if (s->size() > limits.max_stop) throw bad("stop", "'stop' has more than " + std::to_string(limits.max_stop) + " strings");
    for (const json& v : *s) add(v);
  } else {
    add(*s);
  }
  return stop;
}

}  // namespace

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.what()}, {"type", e.type()}, {"param", e.param().empty() ? json(nullptr) : json(e.param())},
            {"code", nullptr}}}};
}

json parse_body(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    // The parser's message names the byte where it failed.
    throw ApiError(400, std::string("the request body is not valid JSON: ") + printable(e.what()));
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

CompletionRequest parse_completion_request(const json& body, const Limits& limits) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  CompletionRequest r;
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) throw bad("model", "'model' must be a string");
    r.model = m->get<std::string>();
  }
  r.prompts = parse_prompts(body, limits);
  r.max_tokens = static_cast<int>(get_int(body, "max_tokens", 0, limits.max_tokens_per_request).value_or(16));
  r.echo = get_bool(body, "echo", false);
  if (auto k = get_int(body, "logprobs", 0, limits.max_logprobs)) r.logprobs = static_cast<int>(*k);
  if (const json* t = field(body, "temperature")) {
    if (!t->is_number()) throw bad("temperature", "'temperature' must be a number");
    r.temperature = t->get<double>();
    if (!(r.temperature >= 0 && r.temperature <= 2)) throw bad("temperature", "'temperature' must lie in [0, 2]");
  }
  if (r.temperature > 0 && r.max_tokens > 0) {
    throw bad("temperature", "only greedy decoding is supported: send \"temperature\": 0 (or max_tokens 0)");
  }
  r.stop = parse_stop(body, limits);
  r.seed = get_int(body, "seed", INT64_MIN, INT64_MAX);
  if (get_int(body, "n", 1, 1)) {}  // more than one choice per prompt: refused by the range
  if (get_int(body, "best_of", 1, 1)) {}
  if (get_bool(body, "stream", false)) throw bad("stream", "streaming is not supported: send \"stream\": false");
  if (const json* s = field(body, "suffix")) {
    if (!s->is_string()) throw bad("suffix", "'suffix' must be a string");
    if (!s->get<std::string>().empty()) throw bad("suffix", "'suffix' (insertion) is not supported");
  }
  r.add_special_tokens = get_bool(body, "add_special_tokens", false);
  return r;
}

std::string token_text(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  static const char* hex = "0123456789abcdef";
  std::string out = "bytes:";
  for (unsigned char c : bytes) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

nlohmann::ordered_json completion_response(const CompletionRequest& request, const std::vector<Choice>& choices,
                                           const std::string& id, int64_t created, const std::string& model_name) {
  using ojson = nlohmann::ordered_json;
  ojson out_choices = ojson::array();
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const Choice& c = choices[i];
    prompt_tokens += c.prompt_tokens;
    completion_tokens += c.completion_tokens;
    ojson logprobs = nullptr;
    if (request.logprobs) {
      ojson tokens = ojson::array(), token_logprobs = ojson::array(), top_logprobs = ojson::array(),
            offsets = ojson::array();
      for (size_t t = 0; t < c.tokens.size(); ++t) {
        const ChoiceToken& tok = c.tokens[t];
        tokens.push_back(token_text(tok.text));
        token_logprobs.push_back(tok.logprob ? ojson(*tok.logprob) : ojson(nullptr));
        if (!tok.has_top) {
          top_logprobs.push_back(nullptr);
        } else {
          ojson top = ojson::object();
          for (const auto& [text, lp] : tok.top) {
            const std::string key = token_text(text);
            if (!top.contains(key)) top[key] = lp;  // two ids with one text: the more likely one's value
          }
          top_logprobs.push_back(std::move(top));
        }
        offsets.push_back(c.text_offset.at(t));
      }
      logprobs = {{"tokens", std::move(tokens)}, {"token_logprobs", std::move(token_logprobs)},
                  {"top_logprobs", std::move(top_logprobs)}, {"text_offset", std::move(offsets)}};
    }
    out_choices.push_back({{"index", i}, {"text", c.text}, {"logprobs", std::move(logprobs)},
                           {"finish_reason", c.finish_reason}});
  }
  return {{"id", id}, {"object", "text_completion"}, {"created", created},
          {"model", request.model.empty() ? model_name : request.model}, {"choices", std::move(out_choices)},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
                     {"total_tokens", prompt_tokens + completion_tokens}}}};
}

TokenizeRequest parse_tokenize_request(const json& body) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  TokenizeRequest r;
  const json* p = field(body, "prompt");
  if (!p || !p->is_string()) throw bad("prompt", "'prompt' must be a string");
  r.prompt = p->get<std::string>();
  r.add_special_tokens = get_bool(body, "add_special_tokens", true);
  return r;
}

std::vector<TokenId> parse_detokenize_request(const json& body, const Limits& limits) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  const json* t = field(body, "tokens");
  if (!t || !t->is_array()) throw bad("tokens", "'tokens' must be a list of token ids");
  std::vector<TokenId> ids;
  ids.reserve(t->size());
  for (size_t i = 0; i < t->size(); ++i) {
    try {
      ids.push_back(token_id((*t)[i], "tokens[" + std::to_string(i) + "]", limits));
    } catch (const ApiError& e) {
      throw bad("tokens", e.what());
    }
  }
  return ids;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

BpcRequest parse_bpc_request(const json& body, const Limits& limits) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  BpcRequest r;
  const json* docs = field(body, "documents");
  if (!docs || !docs->is_array() || docs->empty()) {
    throw bad("documents", "'documents' is required: a non-empty list of strings");
  }
  if (docs->size() > limits.max_documents) {
    throw ApiError(413, "'documents' has " + std::to_string(docs->size()) + " documents, more than the limit of " +
                            std::to_string(limits.max_documents), "documents");
  }
  for (size_t i = 0; i < docs->size(); ++i) {
    const json& d = (*docs)[i];
    const std::string where = "documents[" + std::to_string(i) + "]";
    if (!d.is_string()) throw bad("documents", where + " must be a string");
    if (d.get_ref<const std::string&>().empty()) throw bad("documents", where + " is empty");
    if (!is_valid_utf8(d.get_ref<const std::string&>())) throw bad("documents", where + " is not valid UTF-8");
    r.documents.push_back(d.get<std::string>());
  }
  auto text = [&](const char* name, std::string& out) {
    if (const json* v = field(body, name)) {
      if (!v->is_string()) throw bad(name, std::string("'") + name + "' must be a string");
      out = v->get<std::string>();
    }
  };
  text("protocol", r.protocol.protocol);
  text("bos_mode", r.protocol.bos_mode);
  text("corpus", r.corpus);
  constexpr int64_t kMaxWindow = int64_t{1} << 20;
  if (auto w = get_int(body, "window", 1, kMaxWindow)) r.protocol.window = *w;
  if (auto s = get_int(body, "stride", 1, kMaxWindow)) r.protocol.stride = *s;
  if (auto m = get_int(body, "max_chunks", 0, INT64_MAX)) r.protocol.max_chunks = *m;
  return r;
}

}  // namespace lmzip::serve

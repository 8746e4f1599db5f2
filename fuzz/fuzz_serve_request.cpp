// libFuzzer target for lmzip serve's request parsers (serve/protocol.h): any body must parse or raise ApiError
// with a 4xx status — never crash, hang, or throw anything else. The body goes through every parser (completions,
// tokenize, detokenize, lmzip bpc); what parses is echoed through the response builder, and a bpc request's
// protocol is resolved (a UsageError there is the 400 the service answers).
// Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/serve/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lmzip::serve;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Limits limits{.n_vocab = 32000, .max_tokens_per_request = 4096};
  nlohmann::json j;
  try {
    j = parse_body(body);
  } catch (const ApiError& e) {
    if (e.status() != 400) std::abort();
    return 0;
  }
  auto check = [](const ApiError& e) {
    if (e.status() < 400 || e.status() >= 500) std::abort();
    (void)dump(error_body(e));
  };
  try {
    const CompletionRequest r = parse_completion_request(j, limits);
    std::vector<Choice> choices(r.prompts.size());
    for (Choice& c : choices) {
      c.text = "x";
      c.tokens.push_back({.id = 1, .text = "\xc3", .logprob = std::nullopt, .top = {}, .has_top = false});
      c.text_offset.push_back(0);
      c.finish_reason = "length";
    }
    (void)dump(completion_response(r, choices, "cmpl-fuzz", 0, "fuzz"));
  } catch (const ApiError& e) {
    check(e);
  }
  try {
    (void)parse_tokenize_request(j);
  } catch (const ApiError& e) {
    check(e);
  }
  try {
    (void)parse_detokenize_request(j, limits);
  } catch (const ApiError& e) {
    check(e);
  }
  try {
    const BpcRequest r = parse_bpc_request(j, limits);
    (void)lmzip::resolve_protocol(r.protocol, 2048);
  } catch (const ApiError& e) {
    check(e);
  } catch (const lmzip::UsageError&) {
  }
  return 0;
}

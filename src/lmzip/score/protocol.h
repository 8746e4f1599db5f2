// Window protocols: from documents' tokens to the windows a model reads and the targets each window scores.
//
// A protocol is a pure function of the token stream it builds (documents' tokens, with whatever prefix tokens the
// protocol prescribes) to a list of windows. Every window is a contiguous slice [begin, begin + length) of that
// stream (optionally with its first token replaced), and scores the outputs at positions
// [first_scored, first_scored + n_scored) of the slice: the output at position p predicts stream[begin + p + 1].
// The scorer knows nothing about protocols; it only runs windows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

enum class Protocol {
  Hkust,     // the study's reference code (PROTOCOL.md §2), quirks included
  LmEval,    // lm-evaluation-harness loglikelihood_rolling, per document
  LlamaCpp,  // llama.cpp perplexity chunks over the whole text joined with "\n\n"
  Doc,       // lmzip's clean protocol: per document, BOS-prefixed, every token scored once
  Uncheatable,  // Uncheatable Eval (Jellyfish042/uncheatable_eval): per document, disjoint chunks, BOS per chunk
};

// One row per protocol: its name, the defaults and what its flags mean. The CLI's help and checks read these.
struct ProtocolInfo {
  Protocol protocol;
  const char* name;
  size_t window;     // default --window
  size_t stride;     // default --stride (= window where windows are disjoint)
  bool has_stride;   // whether --stride applies (false: disjoint windows)
  const char* summary;
};
const std::vector<ProtocolInfo>& protocol_table();
const ProtocolInfo& protocol_info(Protocol p);

std::string protocol_name(Protocol p);
// Parses "hkust", "lm-eval", "llama.cpp", "doc", "uncheatable" (and a few spellings); nullopt otherwise.
std::optional<Protocol> parse_protocol(const std::string& name);

// Uncheatable Eval's `bos_mode`: which token starts each chunk, and whether it is put in front of the chunk
// (add_*) or replaces the chunk's first token (replace_*, so that token is never scored).
enum class BosMode { AddBos, AddEos, AddNewline, ReplaceBos, ReplaceEos, ReplaceNewline };
std::string bos_mode_name(BosMode m);  // Uncheatable Eval's spelling: "add_default_bos", "replace_with_eos", ...
std::optional<BosMode> parse_bos_mode(const std::string& name);
bool bos_mode_replaces(BosMode m);

struct ProtocolParams {
  Protocol protocol = Protocol::Hkust;
  size_t window = 1900;  // tokens the model reads per window (hkust: windows are window+1 tokens long)
  size_t stride = 512;   // hkust: distance between window starts = tokens scored per later window; doc: the same
  size_t max_windows = 0;  // > 0: score only the first max_windows windows (llama-perplexity's --chunks)
  BosMode bos_mode = BosMode::AddBos;  // uncheatable only (its evaluator's default, add_default_bos)
};

// The default window/stride of a protocol (hkust 1900/512, lm-eval 2048, llama.cpp 512, doc 1900/512,
// uncheatable 4000).
ProtocolParams default_params(Protocol protocol);

// A protocol as a user names it (lmzip bpc's options, lmzip serve's /v1/lmzip/bpc fields); -1: the default.
struct ProtocolChoice {
  std::string protocol = "hkust";
  std::string bos_mode;        // uncheatable only ("" : its default)
  long long window = -1, stride = -1;
  long long max_chunks = 0;    // 0: all windows
};
// The parameters it means for a model trained on n_ctx_train tokens (0: unknown; lm-eval's window is capped by
// it). UsageError naming the option (--window, --stride, ...) for an unknown name or a value out of range.
ProtocolParams resolve_protocol(const ProtocolChoice& choice, int64_t n_ctx_train);

// The token stream a protocol scores, with the document each token belongs to.
struct TokenStream {
  std::vector<TokenId> tokens;
  std::vector<uint32_t> doc_of;  // doc_of[i]: index of the document token i belongs to
};

struct Window {
  size_t begin = 0;                         // stream index of the window's first input token
  size_t length = 0;                        // tokens the model reads
  std::optional<TokenId> first_token{};     // replaces stream[begin] as the first input (llama.cpp: BOS)
  size_t first_scored = 0;                  // first scored output position within the window
  size_t n_scored = 0;                      // outputs scored: positions first_scored .. first_scored+n_scored-1
};

// What a tokenized corpus gives the protocols: each document's tokens WITHOUT special tokens, and the
// special tokens the tokenizer would add.
struct TokenizedDocs {
  std::vector<std::vector<TokenId>> docs{};
  std::optional<TokenId> bos{};
  std::optional<TokenId> eos{};
  bool add_bos = false;  // the tokenizer's default: put BOS in front of a text
  bool add_eos = false;
};

// --- Stream builders (one per protocol) ----------------------------------------------------------------------

// hkust: each document with the tokenizer's default special tokens, concatenated with no separator.
TokenStream hkust_stream(const TokenizedDocs& docs);
// lm-eval / doc: each document prefixed by one token (BOS when the tokenizer has one, else EOS); none when the
// tokenizer has neither (then a document's first token cannot be scored).
TokenStream prefixed_stream(const TokenizedDocs& docs);
// uncheatable: each document prefixed by the chunk-start token of the bos_mode (the token every chunk starts with).
TokenStream prefixed_stream(const TokenizedDocs& docs, std::optional<TokenId> prefix);
// llama.cpp: the stream is the tokenization of the joined text (the caller tokenizes it with BOS).

// --- Window planners ------------------------------------------------------------------------------------------

// hkust: windows of window+1 tokens starting every `stride`, only where they fit; the first scores all `window`
// targets, later ones their last `stride`. No windows when the stream is shorter than window+1.
std::vector<Window> hkust_windows(size_t n_tokens, size_t window, size_t stride);

// llama.cpp perplexity: chunks of `window` tokens (trailing partial chunk dropped), BOS in place of each chunk's
// first token, outputs window/2 .. window-2 scored.
std::vector<Window> llamacpp_windows(size_t n_tokens, size_t window, TokenId bos);

// lm-eval loglikelihood_rolling over one document occupying stream [doc_begin, doc_end) whose first token is the
// prefix token: disjoint windows of `window` tokens, every document token scored once.
std::vector<Window> lmeval_windows(size_t doc_begin, size_t doc_end, size_t window);

// doc: one document occupying stream [doc_begin, doc_end) (prefix token first): sliding windows of at most
// `window` tokens advancing by `stride`, each scoring only targets not scored before; the last window ends at the
// document's end. Every token after the first is scored exactly once.
std::vector<Window> doc_windows(size_t doc_begin, size_t doc_end, size_t window, size_t stride);

// uncheatable: one document occupying stream [doc_begin, doc_end), its first token the chunk-start token
// `prefix`: the document's n tokens are cut into chunks of `window` tokens starting at 0, window, 2·window, …
// (the last one shorter). add (replace = false): each chunk is read after `prefix` and all its tokens are
// scored. replace: `prefix` takes the place of the chunk's first token, which is not scored (a one-token chunk
// scores nothing and has no window). The model reads one token fewer than Uncheatable Eval feeds it: the output
// after a chunk's last token is discarded there, and causal outputs do not depend on later inputs.
std::vector<Window> uncheatable_windows(size_t doc_begin, size_t doc_end, size_t window, TokenId prefix,
                                        bool replace);

// The whole plan for a protocol over a stream (for per-document protocols, windows never cross documents).
std::vector<Window> plan_windows(const ProtocolParams& params, const TokenStream& stream, std::optional<TokenId> bos);

// Total scored targets of a plan.
size_t count_scored(const std::vector<Window>& windows);

}  // namespace lmzip

#include "lmzip/score/protocol.h"

#include <algorithm>

#include "lmzip/core/error.h"

namespace lmzip {

const std::vector<ProtocolInfo>& protocol_table() {
  static const std::vector<ProtocolInfo> table = {
      {Protocol::Hkust, "hkust", 1900, 512, true,
       "the study's reference windowing (default): windows of W+1 tokens every S, first\n"
       "window scores W targets, later ones their last S (W=1900, S=512)"},
      {Protocol::LmEval, "lm-eval", 2048, 2048, false,
       "lm-evaluation-harness loglikelihood_rolling per document (W = min(2048, n_ctx))"},
      {Protocol::LlamaCpp, "llama.cpp", 512, 512, false,
       "llama.cpp perplexity chunks over the documents joined with \"\\n\\n\" (W=512)"},
      {Protocol::Doc, "doc", 1900, 512, true,
       "per document, BOS-prefixed, every token scored once, sliding windows (W=1900, S=512)"},
      {Protocol::Uncheatable, "uncheatable", 4000, 4000, false,
       "Uncheatable Eval: per document, disjoint chunks of W tokens each read after BOS\n"
       "(--bos-mode), NLL summed per document (W=4000)"},
  };
  return table;
}

const ProtocolInfo& protocol_info(Protocol p) {
  for (const auto& row : protocol_table()) {
    if (row.protocol == p) return row;
  }
  LMZIP_CHECK(false, "protocol without a row in protocol_table()");
  return protocol_table().front();
}

std::string protocol_name(Protocol p) { return protocol_info(p).name; }

std::optional<Protocol> parse_protocol(const std::string& name) {
  for (const auto& row : protocol_table()) {
    if (name == row.name) return row.protocol;
  }
  if (name == "lm_eval" || name == "lmeval") return Protocol::LmEval;
  if (name == "llamacpp" || name == "llama-cpp") return Protocol::LlamaCpp;
  if (name == "uncheatable_eval" || name == "uncheatable-eval") return Protocol::Uncheatable;
  return std::nullopt;
}

ProtocolParams default_params(Protocol protocol) {
  const ProtocolInfo& row = protocol_info(protocol);
  return {.protocol = protocol, .window = row.window, .stride = row.stride};
}

ProtocolParams resolve_protocol(const ProtocolChoice& a, int64_t n_ctx_train) {
  auto protocol = parse_protocol(a.protocol);
  if (!protocol) {
    std::string names;
    for (const auto& row : protocol_table()) names += std::string(names.empty() ? "" : ", ") + row.name;
    throw UsageError("unknown protocol '" + a.protocol + "' (choose " + names + ")");
  }
  ProtocolParams p = default_params(*protocol);
  const bool disjoint = !protocol_info(*protocol).has_stride;
  if (!a.bos_mode.empty()) {
    if (*protocol != Protocol::Uncheatable) throw UsageError("--bos-mode applies to --protocol uncheatable only");
    auto mode = parse_bos_mode(a.bos_mode);
    if (!mode) {
      throw UsageError("unknown --bos-mode '" + a.bos_mode + "' (add_default_bos, add_default_eos, add_newline_token, "
                       "replace_with_bos, replace_with_eos or replace_with_newline_token)");
    }
    p.bos_mode = *mode;
  }
  if (*protocol == Protocol::LmEval && n_ctx_train > 0) p.window = p.stride = std::min<size_t>(p.window, static_cast<size_t>(n_ctx_train));
  if (a.window >= 0) {
    if (a.window < 1) throw UsageError("--window must be positive");
    p.window = static_cast<size_t>(a.window);
    if (disjoint) p.stride = p.window;
    else if (a.stride < 0) p.stride = std::min(p.stride, p.window);
  }
  if (a.stride >= 0) {
    if (disjoint) {
      throw UsageError("--stride does not apply to the " + a.protocol + " protocol (its windows are disjoint)");
    }
    if (a.stride < 1) throw UsageError("--stride must be positive");
    p.stride = static_cast<size_t>(a.stride);
  }
  if (a.max_chunks < 0) throw UsageError("--max-chunks must be positive");
  p.max_windows = static_cast<size_t>(a.max_chunks);
  return p;
}

namespace {
constexpr BosMode kBosModes[] = {BosMode::AddBos,     BosMode::AddEos,     BosMode::AddNewline,
                                 BosMode::ReplaceBos, BosMode::ReplaceEos, BosMode::ReplaceNewline};
}  // namespace

std::string bos_mode_name(BosMode m) {
  switch (m) {
    case BosMode::AddBos: return "add_default_bos";
    case BosMode::AddEos: return "add_default_eos";
    case BosMode::AddNewline: return "add_newline_token";
    case BosMode::ReplaceBos: return "replace_with_bos";
    case BosMode::ReplaceEos: return "replace_with_eos";
    case BosMode::ReplaceNewline: return "replace_with_newline_token";
  }
  return "?";
}

std::optional<BosMode> parse_bos_mode(const std::string& name) {
  for (BosMode m : kBosModes) {
    if (name == bos_mode_name(m)) return m;
  }
  return std::nullopt;
}

bool bos_mode_replaces(BosMode m) {
  return m == BosMode::ReplaceBos || m == BosMode::ReplaceEos || m == BosMode::ReplaceNewline;
}

TokenStream hkust_stream(const TokenizedDocs& d) {
  TokenStream s;
  for (size_t i = 0; i < d.docs.size(); ++i) {
    auto doc = static_cast<uint32_t>(i);
    if (d.add_bos && d.bos) {
      s.tokens.push_back(*d.bos);
      s.doc_of.push_back(doc);
    }
    s.tokens.insert(s.tokens.end(), d.docs[i].begin(), d.docs[i].end());
    s.doc_of.insert(s.doc_of.end(), d.docs[i].size(), doc);
    if (d.add_eos && d.eos) {
      s.tokens.push_back(*d.eos);
      s.doc_of.push_back(doc);
    }
  }
  return s;
}

TokenStream prefixed_stream(const TokenizedDocs& d) { return prefixed_stream(d, d.bos ? d.bos : d.eos); }

TokenStream prefixed_stream(const TokenizedDocs& d, std::optional<TokenId> prefix) {
  TokenStream s;
  for (size_t i = 0; i < d.docs.size(); ++i) {
    auto doc = static_cast<uint32_t>(i);
    if (prefix) {
      s.tokens.push_back(*prefix);
      s.doc_of.push_back(doc);
    }
    s.tokens.insert(s.tokens.end(), d.docs[i].begin(), d.docs[i].end());
    s.doc_of.insert(s.doc_of.end(), d.docs[i].size(), doc);
  }
  return s;
}

std::vector<Window> hkust_windows(size_t n_tokens, size_t window, size_t stride) {
  LMZIP_CHECK(window >= 1 && stride >= 1 && stride <= window, "hkust needs 1 <= stride <= window");
  std::vector<Window> out;
  // A window holds window+1 tokens: it reads [start, start+window) and predicts [start+1, start+window].
  for (size_t start = 0; start + window + 1 <= n_tokens; start += stride) {
    Window w{.begin = start, .length = window};
    if (start == 0) {
      w.first_scored = 0;
      w.n_scored = window;
    } else {
      w.first_scored = window - stride;
      w.n_scored = stride;
    }
    out.push_back(w);
  }
  return out;
}

std::vector<Window> llamacpp_windows(size_t n_tokens, size_t window, TokenId bos) {
  LMZIP_CHECK(window >= 4, "llama.cpp chunks need at least 4 tokens");
  std::vector<Window> out;
  const size_t first = window / 2;
  for (size_t chunk = 0; (chunk + 1) * window <= n_tokens; ++chunk) {
    // Outputs first .. window-2 predict tokens within the chunk (the last output would predict past it).
    out.push_back(Window{.begin = chunk * window,
                         .length = window,
                         .first_token = bos,
                         .first_scored = first,
                         .n_scored = window - first - 1});
  }
  return out;
}

std::vector<Window> lmeval_windows(size_t doc_begin, size_t doc_end, size_t window) {
  LMZIP_CHECK(window >= 1 && doc_end >= doc_begin);
  std::vector<Window> out;
  // Stream [doc_begin] is the prefix token; the document's tokens are (doc_begin, doc_end).
  const size_t n = doc_end - doc_begin - 1;  // document tokens, all to be predicted
  if (doc_end - doc_begin < 1 || n == 0) return out;
  // First window: [prefix] + tokens[0 .. first_len-1) predicting tokens[0 .. first_len).
  size_t first_len = std::min(window, n);
  out.push_back(Window{.begin = doc_begin, .length = first_len, .first_scored = 0, .n_scored = first_len});
  size_t predicted = first_len;
  while (predicted < n) {
    size_t pred = std::min(n - predicted, window);
    size_t end = predicted + pred;  // exclusive, in document-token indices
    // The model reads tokens[end-window-1 .. end-1) (document indices) = stream (doc_begin+1) + that, and its
    // last `pred` outputs predict tokens[end-pred .. end).
    out.push_back(Window{.begin = doc_begin + 1 + end - window - 1,
                         .length = window,
                         .first_scored = window - pred,
                         .n_scored = pred});
    predicted = end;
  }
  return out;
}

std::vector<Window> doc_windows(size_t doc_begin, size_t doc_end, size_t window, size_t stride) {
  LMZIP_CHECK(window >= 1 && stride >= 1 && stride <= window, "doc needs 1 <= stride <= window");
  std::vector<Window> out;
  const size_t len = doc_end - doc_begin;  // stream tokens of the document, prefix included
  if (len < 2) return out;
  size_t scored_until = 1;  // document-relative index of the next token to score
  for (size_t start = 0; scored_until < len; start += stride) {
    // Reads [start, input_end) and predicts (start, input_end]; the last window stops at the document's end.
    size_t input_end = std::min(start + window, len - 1);
    size_t first_target = std::max(scored_until, start + 1);
    size_t last_target = input_end;  // inclusive
    if (last_target < first_target) continue;
    out.push_back(Window{.begin = doc_begin + start,
                         .length = input_end - start,
                         .first_scored = first_target - start - 1,
                         .n_scored = last_target - first_target + 1});
    scored_until = last_target + 1;
  }
  return out;
}

std::vector<Window> uncheatable_windows(size_t doc_begin, size_t doc_end, size_t window, TokenId prefix,
                                        bool replace) {
  LMZIP_CHECK(window >= 1 && doc_end > doc_begin, "uncheatable needs window >= 1 and the prefix token");
  std::vector<Window> out;
  const size_t n = doc_end - doc_begin - 1;  // the document's tokens, stream (doc_begin, doc_end)
  for (size_t b = 0; b < n; b += window) {
    const size_t k = std::min(window, n - b);  // the chunk: document tokens b .. b+k-1
    if (!replace) {
      // Reads [prefix, t[b] .. t[b+k-2]] (stream index doc_begin+b is the prefix or t[b-1], replaced by the
      // prefix); outputs 0 .. k-1 predict t[b] .. t[b+k-1].
      out.push_back(Window{.begin = doc_begin + b, .length = k, .first_token = prefix, .first_scored = 0,
                           .n_scored = k});
    } else if (k >= 2) {
      // Reads [prefix, t[b+1] .. t[b+k-2]] (t[b] replaced); outputs 0 .. k-2 predict t[b+1] .. t[b+k-1].
      out.push_back(Window{.begin = doc_begin + 1 + b, .length = k - 1, .first_token = prefix,
                           .first_scored = 0, .n_scored = k - 1});
    }
  }
  return out;
}

namespace {

// Calls fn(begin, end) for each document's range in a stream.
template <typename Fn>
void for_each_document(const TokenStream& s, Fn fn) {
  size_t begin = 0;
  for (size_t i = 1; i <= s.tokens.size(); ++i) {
    if (i == s.tokens.size() || s.doc_of[i] != s.doc_of[begin]) {
      fn(begin, i);
      begin = i;
    }
  }
}

}  // namespace

namespace {

std::vector<Window> plan_all_windows(const ProtocolParams& p, const TokenStream& s, std::optional<TokenId> bos) {
  switch (p.protocol) {
    case Protocol::Hkust: return hkust_windows(s.tokens.size(), p.window, p.stride);
    case Protocol::LlamaCpp: {
      if (!bos) throw Error("the llama.cpp protocol puts BOS at the start of each chunk, but the tokenizer has no BOS token");
      return llamacpp_windows(s.tokens.size(), p.window, *bos);
    }
    case Protocol::LmEval:
    case Protocol::Doc:
    case Protocol::Uncheatable: {
      std::vector<Window> out;
      for_each_document(s, [&](size_t begin, size_t end) {
        auto w = p.protocol == Protocol::LmEval ? lmeval_windows(begin, end, p.window)
                 : p.protocol == Protocol::Doc
                     ? doc_windows(begin, end, p.window, p.stride)
                     : uncheatable_windows(begin, end, p.window, s.tokens[begin], bos_mode_replaces(p.bos_mode));
        out.insert(out.end(), w.begin(), w.end());
      });
      return out;
    }
  }
  return {};
}

}  // namespace

std::vector<Window> plan_windows(const ProtocolParams& p, const TokenStream& s, std::optional<TokenId> bos) {
  std::vector<Window> windows = plan_all_windows(p, s, bos);
  if (p.max_windows > 0 && windows.size() > p.max_windows) windows.resize(p.max_windows);
  return windows;
}

size_t count_scored(const std::vector<Window>& windows) {
  size_t n = 0;
  for (const auto& w : windows) n += w.n_scored;
  return n;
}

}  // namespace lmzip

// Special-token splitting with llama.cpp's tokenizer_st_partition semantics, without its cost.
//
// llama.cpp walks the special tokens longest first (ties: unspecified there, by id here); each token splits every
// still-raw fragment at its leftmost non-overlapping occurrences that lie wholly inside that fragment, and the
// pieces it leaves raw are offered to the next (shorter) token. Running std::string::find for every special token
// over the whole text is O(text * specials), which is far too slow for vocabularies with thousands of
// user-defined tokens and megabyte corpora. Instead we find all occurrences of all special texts once (a first-byte
// filter plus a hash lookup per candidate length), then replay the same greedy, priority-ordered splitting over the
// occurrence lists; only tokens that occur at all are replayed, so the result is identical and the cost is
// O(text * distinct lengths at bytes that can start a special token).
#include "lmzip/tok/special.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <unordered_map>

namespace lmzip {

namespace {

// The attributes llama.cpp's tokenizer_st_partition sees, after llama_vocab::impl::load's fixes.
struct Attr {
  bool control = false;       // control or unknown: recognised only with parse_special
  bool user_defined = false;  // recognised always (unless also control)
  bool lstrip = false, rstrip = false;
};

// Texts llama.cpp marks as control tokens when it detects end-of-turn, fill-in-the-middle and end-of-generation
// tokens by name (its EOT/EOM/FIM auto-detection and EOG list), whatever type the file gives them.
constexpr std::string_view kAutoControlTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",  // <｜end▁of▁sentence｜>
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
    "<reponame>", "<|file_sep|>"};

// Other texts the load-time fixes below look up by name.
constexpr std::string_view kNamedTexts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>",
                                            "<|plamo:eos|>", "<mask>", "[MASK]", "<unk>", "<s>"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<Attr> llama_cpp_attributes(const Vocab& vocab) {
  const size_t n = vocab.size();
  std::vector<Attr> attrs(n);
  // Only a few dozen texts matter, so index those rather than the whole (possibly 262k-token) vocabulary.
  std::unordered_map<std::string_view, bool> wanted;  // text -> is an auto-control text
  for (std::string_view t : kNamedTexts) wanted.emplace(t, false);
  for (std::string_view t : kAutoControlTexts) wanted[t] = true;
  size_t max_len = 0;
  for (const auto& [t, _] : wanted) max_len = std::max(max_len, t.size());
  std::unordered_map<std::string_view, size_t> id_of;
  for (size_t id = 0; id < n; ++id) {
    const TokenType type = id < vocab.types.size() ? vocab.types[id] : TokenType::Normal;
    attrs[id].control = type == TokenType::Control || type == TokenType::Unknown;
    attrs[id].user_defined = type == TokenType::UserDefined;
    const std::string& text = vocab.tokens[id];
    if (text.size() > max_len) continue;
    auto it = wanted.find(text);
    if (it == wanted.end()) continue;
    if (it->second) attrs[id].control = true;
    id_of[text] = id;
  }
  auto has = [&](std::string_view t) { return id_of.count(t) > 0; };
  auto set_user_defined = [&](std::string_view t) {
    if (has(t)) attrs[id_of[t]] = Attr{.user_defined = true};
  };
  // gpt-oss: these are always rendered, so plain user-defined tokens.
  for (std::string_view t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) set_user_defined(t);
  // o200k_harmony / solar-open: "<|end|>" is not end-of-generation there.
  if (has("<|end|>") && ((has("<|return|>") && (has("<|call|>") || has("<|calls|>"))) ||
                         ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>")))) {
    set_user_defined("<|end|>");
  }
  // gemma4 and plamo have an ordinary "</s>".
  if (has("</s>") && (has("<|tool_response>") || has("<|plamo:eos|>"))) attrs[id_of["</s>"]] = Attr{};

  const std::string name = lower(vocab.name);
  auto contains = [](const std::string& s, std::initializer_list<std::string_view> subs) {
    for (std::string_view sub : subs) if (s.find(sub) != std::string::npos) return true;
    return false;
  };
  if (contains(vocab.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code", "mmbert"}) ||
      contains(vocab.architecture, {"nomic-bert-moe", "jina-bert-v3"})) {
    if (has("<mask>")) attrs[id_of["<mask>"]].lstrip = true;
  } else if (contains(name, {"phi-3", "phi3"})) {
    for (Attr& a : attrs) a.rstrip = a.rstrip || a.control || a.user_defined;
    if (has("</s>")) attrs[id_of["</s>"]].rstrip = true;
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) if (has(t)) attrs[id_of[t]].rstrip = false;
  } else if (contains(name, {"modern-bert"})) {
    if (has("[MASK]")) attrs[id_of["[MASK]"]].lstrip = true;
  }
  // Hugging Face tokenizer files state the stripping per added token.
  for (size_t id = 0; id < std::min(n, vocab.lstrip.size()); ++id) attrs[id].lstrip = attrs[id].lstrip || vocab.lstrip[id];
  for (size_t id = 0; id < std::min(n, vocab.rstrip.size()); ++id) attrs[id].rstrip = attrs[id].rstrip || vocab.rstrip[id];
  return attrs;
}

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }  // C isspace in the "C" locale

// A raw (not yet matched) or matched span of the input, as offsets.
struct Span {
  bool is_token;
  TokenId id;
  size_t begin, end;
};

}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) {
  const std::vector<Attr> attrs = llama_cpp_attributes(vocab);
  for (size_t id = 0; id < vocab.size(); ++id) {
    const Attr& a = attrs[id];
    if (!(a.control || a.user_defined) || vocab.tokens[id].empty()) continue;
    specials_.push_back({.id = static_cast<TokenId>(id),
                         .text = vocab.tokens[id],
                         .always = !a.control,
                         .lstrip = a.lstrip,
                         .rstrip = a.rstrip});
  }
  // Longest first, as llama.cpp; equal lengths by id so the result never depends on the sort implementation.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  plain_ = build_index(false);
  parsing_ = build_index(true);
}

SpecialTokenSplitter::Index SpecialTokenSplitter::build_index(bool parse_special) const {
  Index index;
  for (size_t k = 0; k < specials_.size(); ++k) {
    const Special& s = specials_[k];
    if (!parse_special && !s.always) continue;
    // Two tokens with the same text: the earlier (higher priority) one always wins, so keep the first.
    if (!index.by_text.emplace(s.text, k).second) continue;
    index.can_start[static_cast<unsigned char>(s.text[0])] = true;
    if (std::find(index.lengths.begin(), index.lengths.end(), s.text.size()) == index.lengths.end()) {
      index.lengths.push_back(s.text.size());
    }
  }
  return index;
}

std::vector<Fragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
  const Index& index = parse_special ? parsing_ : plain_;
  if (text.empty()) return {};
  if (index.by_text.empty()) return {Fragment{.is_token = false, .id = -1, .text = text}};

  // All occurrence start positions, per special (ascending, overlapping ones included).
  std::unordered_map<size_t, std::vector<size_t>> occurrences;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (!index.can_start[static_cast<unsigned char>(text[pos])]) continue;
    for (size_t len : index.lengths) {
      if (len > text.size() - pos) continue;
      auto it = index.by_text.find(text.substr(pos, len));
      if (it != index.by_text.end()) occurrences[it->second].push_back(pos);
    }
  }

  std::vector<Span> spans = {{false, -1, 0, text.size()}};
  std::vector<size_t> order;
  for (const auto& [k, _] : occurrences) order.push_back(k);
  std::sort(order.begin(), order.end());
  std::vector<Span> next;
  for (size_t k : order) {
    const Special& s = specials_[k];
    const std::vector<size_t>& occ = occurrences[k];
    next.clear();
    for (const Span& span : spans) {
      if (span.is_token) {
        next.push_back(span);
        continue;
      }
      // Greedy leftmost, non-overlapping matches wholly inside this raw span (llama.cpp's find-from-offset loop).
      size_t cursor = span.begin;
      auto it = std::lower_bound(occ.begin(), occ.end(), cursor);
      for (; it != occ.end() && *it + s.text.size() <= span.end; ++it) {
        if (*it < cursor) continue;
        size_t left_end = *it;
        if (s.lstrip) {
          while (left_end > cursor && is_space(text[left_end - 1])) --left_end;
        }
        if (left_end > cursor) next.push_back({false, -1, cursor, left_end});
        next.push_back({true, s.id, *it, *it + s.text.size()});
        cursor = *it + s.text.size();
        if (s.rstrip) {
          while (cursor < span.end && is_space(text[cursor])) ++cursor;
        }
      }
      if (cursor < span.end) next.push_back({false, -1, cursor, span.end});
    }
    spans.swap(next);
  }

  std::vector<Fragment> fragments;
  fragments.reserve(spans.size());
  for (const Span& span : spans) {
    fragments.push_back({.is_token = span.is_token, .id = span.id, .text = text.substr(span.begin, span.end - span.begin)});
  }
  return fragments;
}

}  // namespace lmzip

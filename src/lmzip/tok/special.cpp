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
#include <unordered_map>

namespace lmzip {

namespace {

bool is_special_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}

// A raw (not yet matched) or matched span of the input, as offsets.
struct Span {
  bool is_token;
  TokenId id;
  size_t begin, end;
};

}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) {
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (!is_special_type(vocab.types[id]) || vocab.tokens[id].empty()) continue;
    specials_.push_back({static_cast<TokenId>(id), vocab.tokens[id], vocab.types[id] == TokenType::UserDefined});
  }
  // Longest first, as llama.cpp; equal lengths by id so the result never depends on the sort implementation.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
}

std::vector<Fragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
  // Active specials (by priority index) and a lookup from their text to that index.
  std::array<bool, 256> can_start{};
  std::vector<size_t> lengths;
  std::unordered_map<std::string_view, size_t> index_of;
  for (size_t k = 0; k < specials_.size(); ++k) {
    const Special& s = specials_[k];
    if (!parse_special && !s.always) continue;
    // Two tokens with the same text: the earlier (higher priority) one always wins, so keep the first.
    if (!index_of.emplace(s.text, k).second) continue;
    can_start[static_cast<unsigned char>(s.text[0])] = true;
    if (std::find(lengths.begin(), lengths.end(), s.text.size()) == lengths.end()) lengths.push_back(s.text.size());
  }
  if (text.empty()) return {};
  if (index_of.empty()) {
    return {Fragment{.is_token = false, .id = -1, .text = text}};
  }

  // All occurrence start positions, per special (ascending, overlapping ones included).
  std::unordered_map<size_t, std::vector<size_t>> occurrences;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (!can_start[static_cast<unsigned char>(text[pos])]) continue;
    for (size_t len : lengths) {
      if (len > text.size() - pos) continue;
      auto it = index_of.find(text.substr(pos, len));
      if (it != index_of.end()) occurrences[it->second].push_back(pos);
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
        if (*it > cursor) next.push_back({false, -1, cursor, *it});
        next.push_back({true, s.id, *it, *it + s.text.size()});
        cursor = *it + s.text.size();
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

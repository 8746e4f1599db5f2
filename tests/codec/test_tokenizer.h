// A small deterministic tokenizer for codec tests: one token per byte plus a few multi-byte words (greedy
// longest match), BOS = id 0. It drops '\r' (a "normalization"), so text with '\r' does not round-trip and
// must go through raw spans: exactly the case the codec has to survive with real tokenizers.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip::test {

class TestTokenizer : public Tokenizer {
 public:
  TestTokenizer() : Tokenizer(make_vocab()) {
    for (size_t i = 0; i < vocab_.tokens.size(); ++i) ids_[vocab_.tokens[i]] = static_cast<TokenId>(i);
  }

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const override {
    std::vector<TokenId> out;
    if (options.add_special) out.push_back(0);
    for (size_t i = 0; i < text.size();) {
      if (text[i] == '\r') {
        ++i;
        continue;
      }
      size_t best_len = 1;
      TokenId best = byte_id(static_cast<uint8_t>(text[i]));
      for (size_t len = 2; len <= 6 && i + len <= text.size(); ++len) {
        auto it = ids_.find(std::string(text.substr(i, len)));
        if (it != ids_.end()) best_len = len, best = it->second;
      }
      out.push_back(best);
      i += best_len;
    }
    return out;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special = false) const override {
    std::string out;
    for (TokenId id : ids) {
      if (id == 0) {
        if (!skip_special) out += "<s>";
        continue;
      }
      out += id <= 256 ? std::string(1, static_cast<char>(id - 1)) : vocab_.tokens[static_cast<size_t>(id)];
    }
    return out;
  }

  static TokenId byte_id(uint8_t b) { return static_cast<TokenId>(b) + 1; }

 private:
  static Vocab make_vocab() {
    Vocab v;
    v.model = "test";
    v.tokens.push_back("<s>");
    for (int b = 0; b < 256; ++b) v.tokens.push_back("<0x" + std::to_string(b) + ">");
    for (const char* w : {"the", " the", "and", " and", "ing", "ion", " of", " a", "er", "in", "re", "on", "  ",
                          "    ", "\n\n", "def ", "self", "return", "()", " = "}) {
      v.tokens.emplace_back(w);
    }
    v.types.assign(v.tokens.size(), TokenType::Normal);
    v.bos = 0;
    v.add_bos = true;
    return v;
  }
  std::unordered_map<std::string, TokenId> ids_;
};

}  // namespace lmzip::test

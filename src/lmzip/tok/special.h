// Splitting text around special-token text before a tokenizer's algorithm runs, as llama.cpp does
// (tokenizer_st_partition): control and unknown tokens are recognised only when parse_special is set;
// user-defined tokens are always recognised. Longer token texts win over shorter ones. The token attributes are
// llama.cpp's after its load-time fixes: end-of-generation and fill-in-the-middle texts (<|endoftext|>, <|im_end|>,
// </s>, <|fim_prefix|>, ...) count as control tokens, and some models strip whitespace around special tokens
// (phi-3: after them; <mask> of jina/modern-bert: before it); the stripped whitespace is dropped from the text.
// Thread-safe: split() is const.
#pragma once

#include <array>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct Fragment {
  bool is_token = false;  // true: a whole special token (id); false: raw text to run through the algorithm
  TokenId id = -1;
  std::string_view text;  // the raw text (a view into the input)
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const Vocab& vocab);
  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Special {
    TokenId id;
    std::string_view text;
    bool always;  // user-defined: matched even when parse_special is false
    bool lstrip;  // whitespace before the token is dropped
    bool rstrip;  // whitespace after the token is dropped
  };
  // The specials active for one parse_special setting: which bytes can start one, their distinct lengths, and
  // their texts -> index into specials_ (the higher-priority one for duplicate texts).
  struct Index {
    std::array<bool, 256> can_start{};
    std::vector<size_t> lengths;
    std::unordered_map<std::string_view, size_t> by_text;
  };
  Index build_index(bool parse_special) const;

  std::vector<Special> specials_;  // longest text first
  Index plain_;                    // parse_special = false: user-defined tokens only
  Index parsing_;                  // parse_special = true
};

}  // namespace lmzip

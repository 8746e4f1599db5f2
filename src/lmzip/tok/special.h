// Splitting text around special-token text before a tokenizer's algorithm runs, as llama.cpp does
// (tokenizer_st_partition): control and unknown tokens are recognised only when parse_special is set;
// user-defined tokens are always recognised. Longer token texts win over shorter ones.
#pragma once

#include <string_view>
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
  };
  std::vector<Special> specials_;  // longest text first
};

}  // namespace lmzip

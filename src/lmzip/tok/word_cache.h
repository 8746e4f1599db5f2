// A bounded cache from a word's bytes to the token ids BPE gives it. Natural text repeats a few thousand words,
// and each miss costs a dozen lookups in a merge table too large for the CPU caches, so remembering words is what
// makes byte-level BPE fast. Not thread-safe: each thread keeps its own (see BpeTokenizer::encode).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

class WordCache {
 public:
  // `slots` (a power of two): the table size; it is emptied once half full, so memory stays bounded.
  explicit WordCache(size_t slots = size_t{1} << 15) : slots_(slots) {}

  static constexpr size_t kMaxWordBytes = 64;  // longer words are rare and rarely repeat: not cached

  // The ids cached for `word` (whose hash is `hash`), or an empty span when absent.
  std::span<const TokenId> find(std::string_view word, uint64_t hash) const {
    for (size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.n_ids == 0) return {};
      if (s.hash == hash && std::string_view(words_.data() + s.word_offset, s.word_len) == word) {
        return {ids_.data() + s.ids_offset, s.n_ids};
      }
    }
  }

  void insert(std::string_view word, uint64_t hash, std::span<const TokenId> ids) {
    if (ids.empty() || word.size() > kMaxWordBytes || ids.size() > 0xFFFF) return;
    if (2 * (used_ + 1) > slots_.size()) clear();
    size_t i = hash & (slots_.size() - 1);
    while (slots_[i].n_ids != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {hash, static_cast<uint32_t>(words_.size()), static_cast<uint32_t>(ids_.size()),
                 static_cast<uint16_t>(word.size()), static_cast<uint16_t>(ids.size())};
    words_.insert(words_.end(), word.begin(), word.end());
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++used_;
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    words_.clear();
    ids_.clear();
    used_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t word_offset = 0, ids_offset = 0;
    uint16_t word_len = 0, n_ids = 0;  // n_ids == 0: an empty slot
  };
  std::vector<Slot> slots_;
  std::vector<char> words_;    // the cached words' bytes, back to back
  std::vector<TokenId> ids_;  // their ids, back to back
  size_t used_ = 0;
};

}  // namespace lmzip

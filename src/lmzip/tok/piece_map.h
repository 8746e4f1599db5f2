// A read-only map from token text to id, built once per tokenizer: open addressing over a power-of-two table,
// looked up with a string_view so the hot merge loops never allocate. std::unordered_map<std::string, ...> costs a
// node per piece and an allocation per lookup key; this is one flat array.
//
// The map refers to the caller's vector of texts (the Vocab's tokens), which must outlive it and not change (the
// Vocab is immutable after the tokenizer is built). Thread-safe for concurrent lookups.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip {

// 64-bit hash of a short byte string (pieces are typically 1-16 bytes): 8 bytes at a time, multiply-xorshift mix.
inline uint64_t piece_hash(std::string_view s) {
  const uint64_t k = 0x9E3779B97F4A7C15ull;
  uint64_t h = s.size() * k;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

class PieceMap {
 public:
  PieceMap() = default;

  // Indexes `texts` (which must outlive the map and not change). Later duplicates of a text overwrite earlier
  // ones (llama.cpp's token_to_id keeps the last id).
  void build(const std::vector<std::string>& texts) {
    texts_ = &texts;
    size_t capacity = 16;
    while (capacity < texts.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (size_t id = 0; id < texts.size(); ++id) insert(texts[id], static_cast<int32_t>(id));
  }

  // The id of `text`, or -1.
  int32_t find(std::string_view text) const {
    if (slots_.empty()) return -1;
    const uint64_t h = piece_hash(text);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && (*texts_)[s.id] == text) return s.id;
    }
  }

 private:
  // 8 bytes a slot so the table stays small enough for the cache; the text is compared only on a tag match.
  struct Slot {
    uint32_t tag = 0;  // high half of the hash
    int32_t id = -1;
  };

  void insert(std::string_view text, int32_t id) {
    const uint64_t h = piece_hash(text);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0 || (s.tag == tag && (*texts_)[s.id] == text)) {
        s = Slot{tag, id};
        return;
      }
    }
  }

  const std::vector<std::string>* texts_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace lmzip

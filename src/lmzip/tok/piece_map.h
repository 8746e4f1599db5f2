// A read-only map from token text to id, built once per tokenizer: open addressing over a power-of-two table,
// looked up with a string_view so the hot merge loops never allocate. std::unordered_map<std::string, ...> costs a
// node per piece and an allocation per lookup key; this is one flat array.
//
// The map stores views into strings owned by the caller (the Vocab's token texts), which must outlive it and
// must not move (the Vocab is immutable after the tokenizer is built). Thread-safe for concurrent lookups.
#pragma once

#include <cstdint>
#include <cstring>
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

  // Later insertions of the same text overwrite earlier ones (llama.cpp's token_to_id keeps the last id).
  void build(const std::vector<std::string>& texts) {
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
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.text == text) return s.id;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string_view text;
    int32_t id = -1;
  };

  void insert(std::string_view text, int32_t id) {
    const uint64_t h = piece_hash(text);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0 || (s.hash == h && s.text == text)) {
        s = Slot{h, text, id};
        return;
      }
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace lmzip

// Byte-level BPE (tokenizer.ggml.model = "gpt2"), exact to Hugging Face tokenizers' BPE model with a ByteLevel
// pre-tokenizer, as llama.cpp's llm_tokenizer_bpe reproduces it:
//   text -> special-token fragments (SpecialTokenSplitter) -> words (PreTokenizer) -> per word: its bytes as
//   byte tokens, then merges applied lowest rank first (leftmost among equal ranks) -> token ids.
// Token texts are stored in GPT-2's byte-to-unicode alphabet ("Ġ" for a space byte); here everything runs on raw
// bytes and token ids instead: each token's text is decoded to its bytes once, merges become a table keyed by
// (left id, right id), and decode concatenates the bytes of the ids.
#include "lmzip/tok/bpe.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <queue>
#include <string_view>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"
#include "lmzip/tok/pretokenize.h"
#include "lmzip/tok/special.h"
#include "lmzip/tok/unicode.h"
#include "lmzip/tok/word_cache.h"

namespace lmzip {

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space,
// 0x7F..0xA0, 0xAD) are mapped in byte order to U+0100, U+0101, ... so that every byte is a visible character.
struct ByteAlphabet {
  std::array<uint32_t, 256> code_point{};  // byte -> code point
  std::array<int16_t, 324> byte_of{};      // code point (< 324) -> byte, or -1

  ByteAlphabet() {
    byte_of.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      code_point[b] = printable ? b : next++;
      byte_of[code_point[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

// The bytes a token text in the byte alphabet stands for. A code point outside the alphabet (some converted
// vocabularies carry a few) stands for its own UTF-8 bytes, so decode never loses text.
std::string bytes_of_token_text(std::string_view text) {
  const ByteAlphabet& alphabet = byte_alphabet();
  std::string bytes;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    uint32_t cp;
    const size_t len = unicode::decode_utf8(p, end, cp);
    if (cp < alphabet.byte_of.size() && alphabet.byte_of[cp] >= 0) {
      bytes += static_cast<char>(alphabet.byte_of[cp]);
    } else {
      bytes.append(reinterpret_cast<const char*>(p), len);
    }
    p += len;
  }
  return bytes;
}

// (left id, right id) -> (rank, merged id), open addressing with linear probing: the hot lookup of encoding.
class MergeTable {
 public:
  struct Merge {
    uint32_t rank;
    TokenId merged;
  };

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;  // load factor <= 1/2 keeps probe runs short
    slots_.assign(cap, Slot{kEmpty, {}});
    shift_ = 64 - static_cast<int>(__builtin_ctzll(cap));
  }

  // Inserts unless the pair is present (the first, lowest-rank occurrence of a duplicated merge wins, as in
  // llama.cpp). Returns false for a duplicate.
  bool insert(TokenId left, TokenId right, Merge m) {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return false;
      if (slots_[i].key == kEmpty) {
        slots_[i] = {key, m};
        return true;
      }
    }
  }

  const Merge* find(TokenId left, TokenId right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static uint64_t pack(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }

  std::vector<Slot> slots_;
  int shift_ = 60;
};

constexpr TokenId kNoToken = -1;

// Strings (owned elsewhere, e.g. the vocabulary's token texts) -> their index, open addressing over 32-bit slots
// with a hash tag each: a lookup touches about two cache lines, where std::unordered_map chases three or four
// pointers. Loading a vocabulary does a million lookups, so this halves its time.
class TextIndex {
 public:
  // Indexes texts[i] for every i where keep(i); a repeated text maps to its last index (llama.cpp's token_to_id).
  template <typename Keep>
  void build(const std::vector<std::string>& texts, Keep keep) {
    texts_ = &texts;
    size_t cap = 16;
    while (cap < 2 * texts.size()) cap *= 2;
    slots_.assign(cap, Slot{});
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!keep(i)) continue;
      const uint64_t h = XXH3_64bits(texts[i].data(), texts[i].size());
      size_t j = h & (cap - 1);
      for (; slots_[j].index_plus_one != 0; j = (j + 1) & (cap - 1)) {
        if (matches(slots_[j], h, texts[i])) break;
      }
      slots_[j] = {static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(i + 1)};
    }
  }

  TokenId find(std::string_view text) const {
    if (slots_.empty()) return kNoToken;
    const uint64_t h = XXH3_64bits(text.data(), text.size());
    for (size_t j = h & (slots_.size() - 1); slots_[j].index_plus_one != 0; j = (j + 1) & (slots_.size() - 1)) {
      if (matches(slots_[j], h, text)) return static_cast<TokenId>(slots_[j].index_plus_one - 1);
    }
    return kNoToken;
  }

 private:
  struct Slot {
    uint32_t tag = 0;             // high hash bits
    uint32_t index_plus_one = 0;  // 0: empty
  };
  bool matches(const Slot& s, uint64_t h, std::string_view text) const {
    return s.tag == static_cast<uint32_t>(h >> 32) && (*texts_)[s.index_plus_one - 1] == text;
  }
  const std::vector<std::string>* texts_ = nullptr;
  std::vector<Slot> slots_;
};

// This thread's word cache for the tokenizer numbered `owner`. Owners are numbered, not addressed, so a new
// tokenizer at a freed one's address never sees stale entries; switching tokenizers on a thread empties it.
WordCache& thread_word_cache(uint64_t owner) {
  struct Holder {
    uint64_t owner = 0;
    WordCache cache;
  };
  thread_local Holder holder;
  if (holder.owner != owner) {
    holder.cache.clear();
    holder.owner = owner;
  }
  return holder.cache;
}

uint64_t next_tokenizer_number() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

// The vocabulary with its invariants checked: a hand-made Vocab (tests, tools) may leave the types empty.
Vocab checked_vocab(Vocab vocab, const std::string& source_name) {
  if (vocab.types.empty()) vocab.types.assign(vocab.tokens.size(), TokenType::Normal);
  if (vocab.types.size() != vocab.tokens.size()) {
    throw Error(source_name + ": the vocabulary has " + std::to_string(vocab.tokens.size()) + " tokens but " +
                std::to_string(vocab.types.size()) + " token types");
  }
  for (const std::optional<TokenId>* id : {&vocab.bos, &vocab.eos, &vocab.unk}) {
    if (*id && (**id < 0 || static_cast<size_t>(**id) >= vocab.tokens.size())) {
      throw Error(source_name + ": special token id " + std::to_string(**id) + " is outside the vocabulary");
    }
  }
  return vocab;
}

constexpr uint32_t kNoRank = ~uint32_t{0};

// The pre-tokenizer tokenizer.ggml.pre names; a Hugging Face tokenizer.json states ignore_merges itself.
PreTokenizer pre_tokenizer_of(const Vocab& vocab, const std::string& source_name) {
  const PreTokenizer named = PreTokenizer::from_name(vocab.pre, source_name);
  return vocab.ignore_merges ? PreTokenizer(named.kind(), *vocab.ignore_merges) : named;
}

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(Vocab vocab, const std::string& source_name);
  BpeTokenizer(const BpeTokenizer&) = delete;  // the merge table and caches refer to this object's vocabulary
  BpeTokenizer& operator=(const BpeTokenizer&) = delete;

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options) const override;
  std::string decode(std::span<const TokenId> ids, bool skip_special) const override;

 private:
  struct Scratch {
    WordCache* cache = nullptr;
    PreTokenizer::Scratch pre;
    std::vector<std::string_view> words;
    std::vector<TokenId> ids;
    std::vector<uint32_t> ranks;
  };

  void load_merges(const TextIndex& text_to_id, const std::string& source_name);
  void encode_text(std::string_view text, std::vector<TokenId>& out, Scratch& s) const;
  void encode_word(std::string_view word, std::vector<TokenId>& out, Scratch& s) const;
  void merge_small(std::vector<TokenId>& ids, std::vector<uint32_t>& ranks) const;
  void merge_large(std::vector<TokenId>& ids) const;
  uint32_t rank_of(TokenId left, TokenId right) const {
    const MergeTable::Merge* m = merges_.find(left, right);
    return m ? m->rank : kNoRank;
  }

  const uint64_t number_ = next_tokenizer_number();  // identifies this tokenizer's entries in word caches
  PreTokenizer pre_;
  SpecialTokenSplitter specials_;
  std::vector<std::string> token_bytes_;   // id -> the bytes it decodes to
  TextIndex whole_word_;                   // bytes -> normal token (ignore_merges only)
  std::array<TokenId, 256> byte_token_{};  // byte -> its single-byte token, or kNoToken
  MergeTable merges_;                      // (left id, right id) -> (rank, merged id)
};

BpeTokenizer::BpeTokenizer(Vocab vocab, const std::string& source_name)
    : Tokenizer(checked_vocab(std::move(vocab), source_name)),
      pre_(pre_tokenizer_of(vocab_, source_name)),
      specials_(vocab_) {
  unicode::flags(0);  // builds the Unicode class table now rather than inside the first encode
  const size_t n = vocab_.size();
  token_bytes_.resize(n);
  for (size_t id = 0; id < n; ++id) {
    const TokenType type = vocab_.types[id];
    const bool literal = type == TokenType::Control || type == TokenType::UserDefined || type == TokenType::Unknown;
    token_bytes_[id] = literal ? vocab_.tokens[id] : bytes_of_token_text(vocab_.tokens[id]);
  }
  TextIndex text_to_id;  // token text (byte alphabet) -> id; only needed while loading
  text_to_id.build(vocab_.tokens, [](size_t) { return true; });
  const ByteAlphabet& alphabet = byte_alphabet();
  for (uint32_t b = 0; b < 256; ++b) {
    std::string text;
    append_utf8(text, alphabet.code_point[b]);
    byte_token_[b] = text_to_id.find(text);
  }
  if (pre_.ignore_merges()) {
    whole_word_.build(token_bytes_, [&](size_t id) { return vocab_.types[id] == TokenType::Normal; });
  }
  load_merges(text_to_id, source_name);
}

// tokenizer.ggml.merges: "left right" per entry, rank = index. A merge whose parts or result are not tokens can
// never apply to token ids; such entries are skipped (Hugging Face refuses the whole file; skipping keeps every
// valid merge exact).
void BpeTokenizer::load_merges(const TextIndex& text_to_id, const std::string& source_name) {
  if (vocab_.merges.empty()) {
    throw Error(source_name + ": byte-level BPE vocabulary has no merges ('tokenizer.ggml.merges' is missing or "
                "empty)");
  }
  merges_.reserve(vocab_.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const std::string_view merge = vocab_.merges[rank];
    const size_t space = merge.find(' ', 1);  // from 1: a left part may itself be a space in odd vocabularies
    if (space == std::string_view::npos) {
      throw Error(source_name + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] = '" + std::string(merge) +
                  "' is not two tokens separated by a space");
    }
    const std::string_view left = merge.substr(0, space), right = merge.substr(space + 1);
    joined.assign(left).append(right);
    const TokenId l = text_to_id.find(left), r = text_to_id.find(right), m = text_to_id.find(joined);
    if (l == kNoToken || r == kNoToken || m == kNoToken) continue;
    merges_.insert(l, r, {static_cast<uint32_t>(rank), m});
  }
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_special && vocab_.add_bos && vocab_.bos) out.push_back(*vocab_.bos);
  Scratch scratch;
  scratch.cache = &thread_word_cache(number_);
  for (const Fragment& fragment : specials_.split(text, options.parse_special)) {
    if (fragment.is_token) {
      out.push_back(fragment.id);
    } else {
      encode_text(fragment.text, out, scratch);
    }
  }
  if (options.add_special && vocab_.add_eos && vocab_.eos) out.push_back(*vocab_.eos);
  return out;
}

void BpeTokenizer::encode_text(std::string_view text, std::vector<TokenId>& out, Scratch& s) const {
  // Chunk by chunk, so the word list stays small however long the text.
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = pre_.chunk_end(text, begin);
    s.words.clear();
    pre_.split(text.substr(begin, end - begin), s.words, s.pre);
    for (std::string_view word : s.words) encode_word(word, out, s);
    begin = end;
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<TokenId>& out, Scratch& s) const {
  if (word.size() == 1 && byte_token_[static_cast<unsigned char>(word[0])] != kNoToken) {
    out.push_back(byte_token_[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (pre_.ignore_merges()) {
    if (const TokenId id = whole_word_.find(word); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  const uint64_t hash = cacheable ? XXH3_64bits(word.data(), word.size()) : 0;
  if (cacheable) {
    std::span<const TokenId> hit = s.cache->find(word, hash);
    if (!hit.empty()) {
      out.insert(out.end(), hit.begin(), hit.end());
      return;
    }
  }
  std::vector<TokenId>& ids = s.ids;
  ids.clear();
  for (char c : word) ids.push_back(byte_token_[static_cast<unsigned char>(c)]);
  // Quadratic scanning beats a heap for the short words that make up almost all text; long words (runs of
  // spaces, digits for gpt-2, unbroken scripts) take the O(n log n) path so no input is slow.
  if (ids.size() <= 64) {
    merge_small(ids, s.ranks);
  } else {
    merge_large(ids);
  }
  const size_t first = out.size();
  for (TokenId id : ids) {
    // A byte the vocabulary has no token for is dropped, as Hugging Face's BPE (without unk_token) and llama.cpp
    // drop it: falcon lacks 28 bytes (some controls), mpt/gpt-neox 13 and starcoder/refact 14 (bytes that valid
    // UTF-8 never or almost never uses). Such text cannot round-trip.
    if (id != kNoToken) out.push_back(id);
  }
  if (cacheable) s.cache->insert(word, hash, std::span<const TokenId>(out).subspan(first));
}

// Repeatedly merges the lowest-rank adjacent pair (leftmost on ties). ranks[i] caches the rank of (ids[i], ids[i+1]).
void BpeTokenizer::merge_small(std::vector<TokenId>& ids, std::vector<uint32_t>& ranks) const {
  if (ids.size() < 2) return;
  ranks.resize(ids.size() - 1);
  for (size_t i = 0; i + 1 < ids.size(); ++i) ranks[i] = rank_of(ids[i], ids[i + 1]);
  while (true) {
    size_t best = 0;
    for (size_t i = 1; i < ranks.size(); ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks.empty() || ranks[best] == kNoRank) return;
    ids[best] = merges_.find(ids[best], ids[best + 1])->merged;
    ids.erase(ids.begin() + static_cast<ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<ptrdiff_t>(best));
    if (best > 0) ranks[best - 1] = rank_of(ids[best - 1], ids[best]);
    if (best < ranks.size()) ranks[best] = rank_of(ids[best], ids[best + 1]);
  }
}

// The same merges with a priority queue over a linked list of symbols. A queued pair is stale once either side
// changed; it is recognised by comparing the ids it was queued with.
void BpeTokenizer::merge_large(std::vector<TokenId>& ids) const {
  struct Pair {
    uint32_t rank;
    uint32_t left;  // position of the left symbol (positions never move; ties go to the leftmost)
    TokenId left_id, right_id;
    bool operator>(const Pair& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  const size_t n = ids.size();
  std::vector<uint32_t> next(n), prev(n);
  for (size_t i = 0; i < n; ++i) next[i] = static_cast<uint32_t>(i + 1), prev[i] = static_cast<uint32_t>(i - 1);
  std::priority_queue<Pair, std::vector<Pair>, std::greater<Pair>> queue;
  auto push = [&](uint32_t left) {
    if (left >= n || next[left] >= n) return;
    const uint32_t rank = rank_of(ids[left], ids[next[left]]);
    if (rank != kNoRank) queue.push({rank, left, ids[left], ids[next[left]]});
  };
  for (uint32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    const uint32_t right = next[p.left];
    if (!alive[p.left] || right >= n || ids[p.left] != p.left_id || ids[right] != p.right_id) continue;
    ids[p.left] = merges_.find(p.left_id, p.right_id)->merged;
    alive[right] = false;
    next[p.left] = next[right];
    if (next[right] < n) prev[next[right]] = p.left;
    if (p.left > 0) push(prev[p.left]);
    push(p.left);
  }
  size_t w = 0;
  for (size_t i = 0; i < n; ++i) {
    if (alive[i]) ids[w++] = ids[i];
  }
  ids.resize(w);
}

std::string BpeTokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
  std::string out;
  for (TokenId id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) {
      throw Error("decode: token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                  std::to_string(token_bytes_.size()) + " tokens)");
    }
    if (skip_special && vocab_.types[static_cast<size_t>(id)] == TokenType::Control) continue;
    out += token_bytes_[static_cast<size_t>(id)];
  }
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab, const std::string& source_name) {
  return std::make_unique<BpeTokenizer>(std::move(vocab), source_name);
}

}  // namespace lmzip

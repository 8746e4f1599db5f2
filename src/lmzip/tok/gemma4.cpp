// Gemma 4's tokenizer, as llama.cpp runs it (LLAMA_VOCAB_TYPE_BPE with LLAMA_VOCAB_PRE_TYPE_GEMMA4):
//  - special tokens are split out first (SpecialTokenSplitter);
//  - in each raw fragment every ' ' becomes '▁' (no dummy prefix: add_space_prefix is false);
//  - the fragment is cut into runs of newlines and runs of everything else (the regex "[^\n]+|[\n]+");
//  - a newline run that is itself a vocabulary piece is emitted whole (llama.cpp PR 21343);
//  - otherwise the run is split into UTF-8 characters (not GPT-2's byte alphabet) and adjacent symbols are merged
//    by the merge list: lowest rank first, ties leftmost first;
//  - a final symbol that is not a piece becomes its <0xNN> byte tokens;
//  - BOS is always added with add_special (llama.cpp forces add_bos for this tokenizer).
//
// Symbols carry an interned id (a vocabulary id, or an id past the vocabulary for merge sides that are not
// pieces), so a merge lookup is one probe of a flat table keyed by the two ids: no strings in the hot loop.
#include "lmzip/tok/gemma4.h"

#include <queue>
#include <unordered_map>

#include "lmzip/core/error.h"
#include "lmzip/tok/piece_map.h"
#include "lmzip/tok/sp_common.h"
#include "lmzip/tok/special.h"

namespace lmzip {

namespace {

// (left symbol id, right symbol id) -> (rank, merged symbol id), open addressing.
class MergeTable {
 public:
  struct Merge {
    int32_t rank = -1;
    int32_t result = -1;
  };

  void reserve(size_t n) {
    size_t capacity = 16;
    while (capacity < n * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }
  // Keeps the first (lowest-rank) entry for a pair, as llama.cpp's bpe_ranks.emplace does.
  void insert(int32_t left, int32_t right, Merge merge) {
    const uint64_t key = pack(left, right);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].merge.rank < 0) {
        slots_[i] = {key, merge};
        return;
      }
      if (slots_[i].key == key) return;
    }
  }
  Merge find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].merge.rank < 0) return {};
      if (slots_[i].key == key) return slots_[i].merge;
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    Merge merge;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return x;
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct Symbol {
  int prev, next;
  uint32_t start, size;  // bytes of the word; size 0 once merged away
  int32_t sym;           // interned id (-1: a string no merge mentions and no piece has)
};

struct Bigram {
  int32_t rank;
  int left, right;
  uint32_t left_size, right_size;  // detect stale entries
  int32_t result;
};

// std::priority_queue puts the "largest" on top: lowest rank, then the smallest left index.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class Gemma4Tokenizer final : public Tokenizer {
 public:
  Gemma4Tokenizer(Vocab vocab, const std::string& source_name)
      : Tokenizer(sp::checked_vocab(std::move(vocab), source_name)), splitter_(vocab_) {
    pieces_.build(vocab_.tokens);
    byte_tokens_ = sp::byte_fallback_tokens(pieces_);
    build_merges(source_name);
  }

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options) const override {
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 2);
    // llama.cpp adds BOS for this tokenizer whatever the file says.
    if (options.add_special && vocab_.bos) out.push_back(*vocab_.bos);
    std::string escaped;
    for (const Fragment& fragment : splitter_.split(text, options.parse_special)) {
      if (fragment.is_token) {
        out.push_back(fragment.id);
        continue;
      }
      escaped.clear();
      sp::append_escaped(escaped, fragment.text);
      encode_escaped(escaped, out);
    }
    if (options.add_special && vocab_.add_eos && vocab_.eos) out.push_back(*vocab_.eos);
    return out;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special) const override {
    return sp::decode(vocab_, ids, skip_special, {.strip_prefix_space = false});
  }

 private:
  // Interned id of a string: its vocabulary id, an id past the vocabulary for a non-piece merge side, or -1.
  int32_t intern_find(std::string_view s) const {
    const int32_t id = pieces_.find(s);
    if (id >= 0) return id;
    if (extra_ids_.empty()) return -1;
    auto it = extra_ids_.find(std::string(s));  // only for characters outside the vocabulary: rare
    return it == extra_ids_.end() ? -1 : it->second;
  }

  int32_t intern(std::string_view s) {
    int32_t id = intern_find(s);
    if (id >= 0) return id;
    id = static_cast<int32_t>(vocab_.size() + extra_ids_.size());
    extra_ids_.emplace(std::string(s), id);
    return id;
  }

  void build_merges(const std::string& source_name) {
    if (vocab_.merges.empty()) {
      throw Error(source_name + ": gemma4 tokenizer has no merges ('tokenizer.ggml.merges' is missing or empty)");
    }
    merges_.reserve(vocab_.merges.size());
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
      const std::string& line = vocab_.merges[rank];
      // llama.cpp splits at the first space after the first byte (spaces are '▁' in pieces, so there is one).
      const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 >= line.size()) {
        throw Error(source_name + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] is not \"LEFT RIGHT\": \"" +
                    line + "\"");
      }
      const std::string_view left = std::string_view(line).substr(0, space);
      const std::string_view right = std::string_view(line).substr(space + 1);
      const int32_t l = intern(left), r = intern(right);
      const int32_t result = intern(std::string(left) + std::string(right));
      merges_.insert(l, r, {static_cast<int32_t>(rank), result});
      const bool right_starts_run = right.substr(0, sp::kSpace.size()) == sp::kSpace;
      const bool left_ends_run =
          left.size() >= sp::kSpace.size() && left.substr(left.size() - sp::kSpace.size()) == sp::kSpace;
      if (right_starts_run && !left_ends_run) crossing_.emplace_back(left, right);
    }
  }

  // Splits the escaped fragment into newline runs and other runs, and encodes each.
  void encode_escaped(std::string_view text, std::vector<TokenId>& out) const {
    WordCache cache;
    for (size_t start = 0; start < text.size();) {
      const bool newline = text[start] == '\n';
      size_t end = start;
      while (end < text.size() && (text[end] == '\n') == newline) ++end;
      const std::string_view run = text.substr(start, end - start);
      const TokenId whole = newline ? pieces_.find(run) : -1;
      if (whole >= 0) {
        out.push_back(whole);
      } else {
        encode_run(run, out, cache);
      }
      start = end;
    }
  }

  // Repeated words of one encode() call: word -> (offset, count) in ids.
  struct WordCache {
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> index;
    std::vector<TokenId> ids;
  };

  // A run is merged word by word (a word: a '▁' run and what follows up to the next one), which gives the
  // merge-list result exactly as long as no merge joins the two sides of a word start. Such "crossing" merges are
  // listed at load time (Gemma 4 has one: "> ▁</"); a word start where one could apply is not split.
  void encode_run(std::string_view run, std::vector<TokenId>& out, WordCache& cache) const {
    constexpr size_t kMaxCrossingMerges = 64;  // beyond that, checking costs more than splitting saves
    if (crossing_.size() > kMaxCrossingMerges) return encode_word(run, out);
    const size_t n = sp::kSpace.size();
    size_t word_start = 0;
    for (size_t pos = run.find(sp::kSpace); pos != std::string_view::npos; pos = run.find(sp::kSpace, pos + n)) {
      const bool continues_run = pos >= word_start + n && run.substr(pos - n, n) == sp::kSpace;
      if (pos > word_start && !continues_run && !may_cross(run, pos)) {
        encode_cached(run.substr(word_start, pos - word_start), out, cache);
        word_start = pos;
      }
    }
    encode_cached(run.substr(word_start), out, cache);
  }

  // Whether a crossing merge could join the symbols that end and start at `pos`.
  bool may_cross(std::string_view text, size_t pos) const {
    for (const auto& [left, right] : crossing_) {
      if (pos >= left.size() && text.substr(pos - left.size(), left.size()) == left &&
          text.substr(pos, right.size()) == right) {
        return true;
      }
    }
    return false;
  }

  void encode_cached(std::string_view word, std::vector<TokenId>& out, WordCache& cache) const {
    constexpr size_t kMaxCachedWord = 64;
    if (word.size() > kMaxCachedWord) return encode_word(word, out);
    auto it = cache.index.find(word);
    if (it != cache.index.end()) {
      const auto [offset, count] = it->second;
      out.insert(out.end(), cache.ids.begin() + offset, cache.ids.begin() + offset + count);
      return;
    }
    const size_t before = out.size();
    encode_word(word, out);
    cache.index.emplace(word, std::make_pair(static_cast<uint32_t>(cache.ids.size()),
                                             static_cast<uint32_t>(out.size() - before)));
    cache.ids.insert(cache.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
  }

  void encode_word(std::string_view word, std::vector<TokenId>& out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    for (uint32_t offset = 0; offset < word.size();) {
      const uint32_t size = static_cast<uint32_t>(sp::char_len(word, offset));
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({index - 1, offset + size == word.size() ? -1 : index + 1, offset, size,
                         intern_find(word.substr(offset, size))});
      offset += size;
    }
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0 || symbols[left].sym < 0 || symbols[right].sym < 0) return;
      const MergeTable::Merge m = merges_.find(symbols[left].sym, symbols[right].sym);
      if (m.rank >= 0) queue.push({m.rank, left, right, symbols[left].size, symbols[right].size, m.result});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& left = symbols[b.left];
      Symbol& right = symbols[b.right];
      if (left.size == 0 || right.size == 0 || left.size != b.left_size || right.size != b.right_size) continue;
      left.size += right.size;
      left.sym = b.result;
      right.size = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = b.left;
      try_add(left.prev, b.left);
      try_add(b.left, left.next);
    }

    const int32_t n_vocab = static_cast<int32_t>(vocab_.size());
    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      const Symbol& s = symbols[i];
      if (s.sym >= 0 && s.sym < n_vocab) {
        out.push_back(s.sym);
      } else {
        sp::append_bytes(word.substr(s.start, s.size), byte_tokens_, vocab_.unk, out);
      }
    }
  }

  SpecialTokenSplitter splitter_;
  PieceMap pieces_;
  // Merge sides/results that are not pieces, interned past the vocabulary (Gemma 4 has none).
  std::unordered_map<std::string, int32_t> extra_ids_;
  MergeTable merges_;
  std::vector<std::pair<std::string, std::string>> crossing_;  // merges joining X and a following '▁' run
  std::array<TokenId, 256> byte_tokens_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_gemma4_tokenizer(Vocab vocab, const std::string& source_name) {
  return std::make_unique<Gemma4Tokenizer>(std::move(vocab), source_name);
}

}  // namespace lmzip

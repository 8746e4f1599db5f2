// SentencePiece BPE ("llama" tokenizer model), exactly as llama.cpp's llm_tokenizer_spm does it.
//
// Per raw-text fragment (special tokens are split out first): a dummy-prefix space is prepended when
// add_space_prefix is set and the fragment starts the text or follows a special token; spaces become '▁'; the
// text is cut into UTF-8 characters; then adjacent symbol pairs whose concatenation is a vocabulary piece are
// merged, highest piece score first (ties: leftmost first), until no pair forms a piece. A final symbol that is
// not a piece (a character outside the vocabulary) becomes its <0xNN> byte tokens, or the unknown token.
//
// The merge loop is llama.cpp's: a linked list of symbols and a priority queue of candidate pairs, stale entries
// skipped when popped. O(n log n) per fragment. Lookups go through PieceMap (no allocation per candidate).
#include "lmzip/tok/spm.h"

#include <queue>
#include <unordered_map>

#include "lmzip/core/error.h"
#include "lmzip/tok/piece_map.h"
#include "lmzip/tok/sp_common.h"
#include "lmzip/tok/special.h"

namespace lmzip {

namespace {

struct Symbol {
  int prev, next;
  uint32_t start, size;  // bytes [start, start+size) of the escaped fragment; size 0 once merged away
};

struct Bigram {
  float score;
  int left, right;
  uint32_t size;  // bytes of the merged piece: detects stale entries (a side changed since the push)
};

// std::priority_queue puts the "largest" on top: highest score, then the smallest left index.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmTokenizer final : public Tokenizer {
 public:
  SpmTokenizer(Vocab vocab, const std::string& source_name)
      : Tokenizer(sp::checked_vocab(std::move(vocab), source_name)), splitter_(vocab_) {
    const size_t n = vocab_.size();
    // llama.cpp's defaults for SentencePiece vocabularies when the file names no special ids.
    auto default_id = [n](std::optional<TokenId>& slot, TokenId id) {
      if (!slot && static_cast<size_t>(id) < n) slot = id;
    };
    default_id(vocab_.bos, 1);
    default_id(vocab_.eos, 2);
    default_id(vocab_.unk, 0);
    add_space_prefix_ = vocab_.add_space_prefix.value_or(true);
    pieces_.build(vocab_.tokens);
    byte_tokens_ = sp::byte_fallback_tokens(pieces_);
    split_words_ = no_piece_spans_a_word_start(vocab_.tokens);
  }

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options) const override {
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 2);
    if (options.add_special && vocab_.add_bos && vocab_.bos) out.push_back(*vocab_.bos);
    std::string escaped;
    bool after_special = true;  // the start of the text counts as "after a special token" (llama.cpp)
    for (const Fragment& fragment : splitter_.split(text, options.parse_special)) {
      if (fragment.is_token) {
        out.push_back(fragment.id);
        after_special = true;
        continue;
      }
      escaped.clear();
      // Hugging Face's Metaspace prepend_scheme "first" (and slow LlamaTokenizer legacy=false): only a fragment
      // at the very start of the text gets the prefix.
      const bool at_start = fragment.text.data() == text.data();
      if (add_space_prefix_ && after_special && (at_start || !vocab_.space_prefix_at_start_only)) {
        escaped.append(sp::kSpace);
      }
      sp::append_escaped(escaped, fragment.text);
      encode_escaped(escaped, out);
      after_special = false;
    }
    if (options.add_special && vocab_.add_eos && vocab_.eos) out.push_back(*vocab_.eos);
    return out;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special) const override {
    return sp::decode(vocab_, ids, skip_special,
                      {.strip_prefix_space = add_space_prefix_, .prefix_at_start_only = vocab_.space_prefix_at_start_only});
  }

 private:
  // True when no piece holds a '▁' right after something other than '▁' (SentencePiece's split_by_whitespace
  // vocabularies). Then no merge can join the text before a run of '▁' with the run, so each "word" (a '▁' run
  // and what follows up to the next run) can be merged on its own with the same result: the merges inside a word
  // happen in the same relative order (score, then position) whether or not other words are in the queue.
  static bool no_piece_spans_a_word_start(const std::vector<std::string>& pieces) {
    for (const std::string& piece : pieces) {
      for (size_t p = piece.find(sp::kSpace, 1); p != std::string::npos; p = piece.find(sp::kSpace, p + 1)) {
        if (p < sp::kSpace.size() || std::string_view(piece).substr(p - sp::kSpace.size(), sp::kSpace.size()) != sp::kSpace) {
          return false;
        }
      }
    }
    return true;
  }

  // One escaped fragment: word by word (when exact, see no_piece_spans_a_word_start), repeated words from a
  // per-call cache: prose and code repeat most words, and a word's ids never depend on its neighbours.
  void encode_escaped(std::string_view text, std::vector<TokenId>& out) const {
    if (!split_words_) {
      encode_word(text, out);
      return;
    }
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> ids in cached_ids
    std::vector<TokenId> cached_ids;
    auto emit = [&](std::string_view word) {
      constexpr size_t kMaxCachedWord = 64;
      if (word.size() > kMaxCachedWord) return encode_word(word, out);
      auto it = cache.find(word);
      if (it == cache.end()) {
        const size_t before = out.size();
        encode_word(word, out);
        it = cache.emplace(word, std::make_pair(static_cast<uint32_t>(cached_ids.size()),
                                                static_cast<uint32_t>(out.size() - before))).first;
        cached_ids.insert(cached_ids.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
        return;
      }
      const auto [offset, count] = it->second;
      out.insert(out.end(), cached_ids.begin() + offset, cached_ids.begin() + offset + count);
    };
    const size_t n = sp::kSpace.size();
    size_t word_start = 0;
    for (size_t pos = text.find(sp::kSpace); pos != std::string_view::npos; pos = text.find(sp::kSpace, pos + n)) {
      const bool continues_run = pos >= word_start + n && text.substr(pos - n, n) == sp::kSpace;
      if (pos > word_start && !continues_run) {
        emit(text.substr(word_start, pos - word_start));
        word_start = pos;
      }
    }
    emit(text.substr(word_start));
  }

  // BPE over one word (or a whole fragment), appending its ids.
  void encode_word(std::string_view text, std::vector<TokenId>& out) const {
    if (text.empty()) return;
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (uint32_t offset = 0; offset < text.size();) {
      const uint32_t size = static_cast<uint32_t>(sp::char_len(text, offset));
      int index = static_cast<int>(symbols.size());
      symbols.push_back({index - 1, offset + size == text.size() ? -1 : index + 1, offset, size});
      offset += size;
    }
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const uint32_t size = symbols[left].size + symbols[right].size;
      const TokenId id = pieces_.find(text.substr(symbols[left].start, size));
      if (id >= 0) queue.push({vocab_.scores[id], left, right, size});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& left = symbols[b.left];
      Symbol& right = symbols[b.right];
      if (left.size == 0 || right.size == 0 || left.size + right.size != b.size) continue;  // stale
      left.size += right.size;
      right.size = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = b.left;
      try_add(left.prev, b.left);
      try_add(b.left, left.next);
    }

    for (int i = 0; i != -1; i = symbols[i].next) {
      const std::string_view piece = text.substr(symbols[i].start, symbols[i].size);
      const TokenId id = pieces_.find(piece);
      if (id >= 0) {
        out.push_back(id);
      } else {
        sp::append_bytes(piece, byte_tokens_, vocab_.unk, out);
      }
    }
  }

  SpecialTokenSplitter splitter_;
  PieceMap pieces_;
  std::array<TokenId, 256> byte_tokens_;
  bool add_space_prefix_ = true;
  bool split_words_ = false;  // see no_piece_spans_a_word_start
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab, const std::string& source_name) {
  return std::make_unique<SpmTokenizer>(std::move(vocab), source_name);
}

}  // namespace lmzip

// Pieces shared by the SentencePiece-style tokenizers ("llama" SentencePiece BPE and "gemma4" merge-ranked BPE):
// the '▁' (U+2581) space convention, <0xNN> byte-fallback tokens, and decoding ids back to exact bytes.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lmzip/tok/piece_map.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::sp {

inline constexpr std::string_view kSpace = "\xE2\x96\x81";  // '▁' U+2581, SentencePiece's visible space

// The vocabulary with scores and types filled in (0 and Normal when absent); lmzip::Error naming `source_name`
// when their sizes disagree with the token list.
Vocab checked_vocab(Vocab vocab, const std::string& source_name);

// Appends `raw` with every ' ' replaced by '▁' (llama.cpp's llama_escape_whitespace: spaces only, not tabs).
void append_escaped(std::string& out, std::string_view raw);
// Appends `piece` with every '▁' replaced by ' '.
void append_unescaped(std::string& out, std::string_view piece);

// The byte a "<0xNN>" piece stands for (two uppercase or lowercase hex digits), or nullopt.
std::optional<uint8_t> parse_byte_piece(std::string_view piece);

// For each byte value, the token that stands for it: "<0xNN>" when present, else (as llama.cpp falls back) the
// one-byte piece, else -1.
std::array<TokenId, 256> byte_fallback_tokens(const PieceMap& pieces);

// Length in bytes of the character starting at text[pos]: a lead byte and the continuation bytes it announces,
// or 1 for any byte that does not start a well-formed sequence. On valid UTF-8 this is llama.cpp's
// unicode_len_utf8 split. On invalid input llama.cpp takes a lead byte plus whatever bytes follow (so a bad byte
// can swallow the first byte of a following '▁' and the text no longer decodes to itself); here each bad byte is
// its own symbol, becomes its <0xNN> token, and decode(encode(x)) == x still holds.
inline size_t char_len(std::string_view text, size_t pos) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  const size_t n = kLen[static_cast<uint8_t>(text[pos]) >> 4];
  if (n == 1 || pos + n > text.size()) return 1;
  for (size_t i = 1; i < n; ++i) {
    if ((static_cast<uint8_t>(text[pos + i]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

struct DecodeRules {
  // Remove one leading space from the first text piece after the start and after each special token: the
  // dummy-prefix space the encoder added there.
  bool strip_prefix_space = false;
  // The prefix was added only at the start of the text: strip it only from the first id, or from the second when
  // the first is the BOS token (add_special).
  bool prefix_at_start_only = false;
};

// ids -> bytes: Normal (and Unused/Undefined) pieces with '▁' as space, Byte tokens as their byte, user-defined
// tokens as their text, control/unknown tokens as their text unless skip_special. An id outside the vocabulary is
// an lmzip::Error.
std::string decode(const Vocab& vocab, std::span<const TokenId> ids, bool skip_special, DecodeRules rules);

// Appends the byte-fallback tokens for the bytes of `symbol`; when a byte has no token, appends the unknown token
// once for the whole symbol instead. lmzip::Error when neither exists (the vocabulary cannot represent the text).
void append_bytes(std::string_view symbol, const std::array<TokenId, 256>& byte_tokens, std::optional<TokenId> unk,
                  std::vector<TokenId>& out);

}  // namespace lmzip::sp

#include "lmzip/tok/sp_common.h"

#include "lmzip/core/error.h"

namespace lmzip::sp {

Vocab checked_vocab(Vocab vocab, const std::string& source_name) {
  const size_t n = vocab.size();
  if (n == 0) throw Error(source_name + ": the tokenizer has an empty vocabulary");
  if (vocab.scores.empty()) vocab.scores.assign(n, 0.0f);
  if (vocab.types.empty()) vocab.types.assign(n, TokenType::Normal);
  if (vocab.scores.size() != n || vocab.types.size() != n) {
    throw Error(source_name + ": tokenizer scores/token types have " + std::to_string(vocab.scores.size()) + "/" +
                std::to_string(vocab.types.size()) + " entries for " + std::to_string(n) + " tokens");
  }
  return vocab;
}

void append_escaped(std::string& out, std::string_view raw) {
  size_t start = 0;
  for (size_t pos; (pos = raw.find(' ', start)) != std::string_view::npos; start = pos + 1) {
    out.append(raw.substr(start, pos - start));
    out.append(kSpace);
  }
  out.append(raw.substr(start));
}

void append_unescaped(std::string& out, std::string_view piece) {
  size_t start = 0;
  for (size_t pos; (pos = piece.find(kSpace, start)) != std::string_view::npos; start = pos + kSpace.size()) {
    out.append(piece.substr(start, pos - start));
    out.push_back(' ');
  }
  out.append(piece.substr(start));
}

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

std::optional<uint8_t> parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

std::array<TokenId, 256> byte_fallback_tokens(const PieceMap& pieces) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::array<TokenId, 256> table;
  for (int b = 0; b < 256; ++b) {
    const char name[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    TokenId id = pieces.find(std::string_view(name, 6));
    if (id < 0) {
      const char raw = static_cast<char>(b);
      id = pieces.find(std::string_view(&raw, 1));
    }
    table[b] = id;
  }
  return table;
}

void append_bytes(std::string_view symbol, const std::array<TokenId, 256>& byte_tokens, std::optional<TokenId> unk,
                  std::vector<TokenId>& out) {
  bool all_bytes = true;
  for (char c : symbol) all_bytes = all_bytes && byte_tokens[static_cast<uint8_t>(c)] >= 0;
  if (all_bytes) {
    for (char c : symbol) out.push_back(byte_tokens[static_cast<uint8_t>(c)]);
    return;
  }
  if (!unk) {
    throw Error("tokenizer cannot represent the text: no piece, byte token or unknown token for byte 0x" +
                std::string(1, "0123456789ABCDEF"[static_cast<uint8_t>(symbol[0]) >> 4]) +
                std::string(1, "0123456789ABCDEF"[static_cast<uint8_t>(symbol[0]) & 15]));
  }
  out.push_back(*unk);
}

std::string decode(const Vocab& vocab, std::span<const TokenId> ids, bool skip_special, DecodeRules rules) {
  std::string out;
  bool at_text_start = true;  // the next text piece carries the dummy-prefix space (when rules say so)
  for (size_t k = 0; k < ids.size(); ++k) {
    const TokenId id = ids[k];
    if (id < 0 || static_cast<size_t>(id) >= vocab.size()) {
      throw Error("cannot decode token id " + std::to_string(id) + ": the vocabulary has " +
                  std::to_string(vocab.size()) + " tokens");
    }
    const std::string& text = vocab.tokens[id];
    switch (vocab.types[id]) {
      case TokenType::Control:
      case TokenType::Unknown:
        if (!skip_special) out += text;
        at_text_start = !rules.prefix_at_start_only || (k == 0 && vocab.bos && id == *vocab.bos);
        break;
      case TokenType::UserDefined:
        out += text;
        at_text_start = !rules.prefix_at_start_only;
        break;
      case TokenType::Byte:
        if (auto byte = parse_byte_piece(text)) {
          out.push_back(static_cast<char>(*byte));
          at_text_start = false;
          break;
        }
        [[fallthrough]];  // a "byte" token without <0xNN> text: treat as an ordinary piece
      default: {
        size_t before = out.size();
        append_unescaped(out, text);
        if (rules.strip_prefix_space && at_text_start && out.size() > before && out[before] == ' ') {
          out.erase(before, 1);
        }
        at_text_start = false;
      }
    }
  }
  return out;
}

}  // namespace lmzip::sp

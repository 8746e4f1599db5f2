// SentencePiece ModelProto reader. The wire format: a message is a run of fields, each a varint tag
// (field number << 3 | wire type) then a value: 0 varint, 1 eight bytes, 2 a varint length and that many bytes
// (strings, bytes, sub-messages), 5 four bytes. Groups (3, 4) are obsolete and refused. Fields this reader does
// not need are skipped by their wire type, so newer files with more fields still load.
#include "lmzip/tok/sp_model.h"

#include <cctype>
#include <cstring>
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/tok/hf_json.h"

namespace lmzip {

namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kGroupStart = 3, kGroupEnd = 4, kFixed32 = 5 };

// One message's fields, read in order. Every read is checked against the message's bytes; errors name the
// source and the message path (e.g. "ModelProto.pieces[12]").
class WireReader {
 public:
  WireReader(std::string_view bytes, const std::string& source, std::string path)
      : data_(bytes), source_(source), path_(std::move(path)) {}

  // Reads the next field's tag and value; false at the end of the message.
  bool next() {
    if (pos_ >= data_.size()) return false;
    const uint64_t tag = varint("a field tag");
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) fail("invalid field number " + std::to_string(tag >> 3));
    field_ = static_cast<uint32_t>(tag >> 3);
    type_ = static_cast<uint32_t>(tag & 7);
    switch (type_) {
      case kVarint:
        value_ = varint("a varint value");
        break;
      case kFixed64:
        take(8, "a 64-bit value");
        break;
      case kBytes: {
        const uint64_t n = varint("a length");
        if (n > data_.size() - pos_) {
          fail("field " + std::to_string(field_) + " claims " + std::to_string(n) + " bytes but only " +
               std::to_string(data_.size() - pos_) + " remain (truncated file?)");
        }
        take(static_cast<size_t>(n), "");
        break;
      }
      case kFixed32:
        take(4, "a 32-bit value");
        break;
      case kGroupStart:
      case kGroupEnd:
        fail("field " + std::to_string(field_) + " uses the obsolete group encoding");
      default:
        fail("field " + std::to_string(field_) + " has invalid wire type " + std::to_string(type_));
    }
    return true;
  }

  uint32_t field() const { return field_; }

  // The current field's value as the named type; an error naming `name` when the wire type disagrees.
  std::string_view bytes(const char* name) const {
    expect(kBytes, name);
    return bytes_;
  }
  uint64_t u64(const char* name) const {
    expect(kVarint, name);
    return value_;
  }
  bool boolean(const char* name) const { return u64(name) != 0; }
  // int32 fields: negative values are written as 64-bit two's complement (ten bytes).
  int64_t i32(const char* name) const {
    const int64_t v = static_cast<int64_t>(u64(name));
    if (v < INT32_MIN || v > INT32_MAX) fail(std::string(name) + " = " + std::to_string(v) + " is not an int32");
    return v;
  }
  float f32(const char* name) const {
    expect(kFixed32, name);
    float f;
    std::memcpy(&f, bytes_.data(), 4);  // little-endian on every platform lmzip builds for
    return f;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(source_ + ": " + path_ + ": " + what + " (byte " + std::to_string(pos_) + " of the message)");
  }

 private:
  uint64_t varint(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail(std::string("truncated varint (") + what + ")");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(std::string("varint longer than 10 bytes (") + what + ")");
  }
  void take(size_t n, const char* what) {
    if (n > data_.size() - pos_) fail(std::string("truncated ") + what);
    bytes_ = data_.substr(pos_, n);
    pos_ += n;
  }
  void expect(uint32_t type, const char* name) const {
    if (type_ != type) {
      fail(std::string(name) + " (field " + std::to_string(field_) + ") has wire type " + std::to_string(type_) +
           ", expected " + std::to_string(type));
    }
  }

  std::string_view data_;
  const std::string& source_;
  std::string path_;
  size_t pos_ = 0;
  uint32_t field_ = 0, type_ = 0;
  uint64_t value_ = 0;
  std::string_view bytes_;
};

// ModelProto.SentencePiece.Type; the numbers equal TokenType's.
constexpr int64_t kNormal = 1, kByte = 6;

struct TrainerSpec {
  int64_t model_type = 1;  // UNIGRAM, the proto default
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int64_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
};

struct NormalizerSpec {
  std::string name;
  size_t charsmap_bytes = 0;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
};

TrainerSpec read_trainer_spec(std::string_view bytes, const std::string& source, TrainerSpec spec) {
  WireReader r(bytes, source, "ModelProto.trainer_spec");
  while (r.next()) {
    switch (r.field()) {
      case 3: spec.model_type = r.i32("model_type"); break;
      case 24: spec.treat_whitespace_as_suffix = r.boolean("treat_whitespace_as_suffix"); break;
      case 35: spec.byte_fallback = r.boolean("byte_fallback"); break;
      case 40: spec.unk_id = r.i32("unk_id"); break;
      case 41: spec.bos_id = r.i32("bos_id"); break;
      case 42: spec.eos_id = r.i32("eos_id"); break;
      case 43: spec.pad_id = r.i32("pad_id"); break;
      default: break;  // training options that do not change encoding
    }
  }
  return spec;
}

NormalizerSpec read_normalizer_spec(std::string_view bytes, const std::string& source, NormalizerSpec spec) {
  WireReader r(bytes, source, "ModelProto.normalizer_spec");
  while (r.next()) {
    switch (r.field()) {
      case 1: spec.name = std::string(r.bytes("name")); break;
      case 2: spec.charsmap_bytes = r.bytes("precompiled_charsmap").size(); break;
      case 3: spec.add_dummy_prefix = r.boolean("add_dummy_prefix"); break;
      case 4: spec.remove_extra_whitespaces = r.boolean("remove_extra_whitespaces"); break;
      case 5: spec.escape_whitespaces = r.boolean("escape_whitespaces"); break;
      default: break;
    }
  }
  return spec;
}

void read_piece(std::string_view bytes, const std::string& source, size_t index, Vocab& v) {
  WireReader r(bytes, source, "ModelProto.pieces[" + std::to_string(index) + "]");
  std::string piece;
  float score = 0.0f;
  int64_t type = kNormal;
  while (r.next()) {
    switch (r.field()) {
      case 1: piece = std::string(r.bytes("piece")); break;
      case 2: score = r.f32("score"); break;
      case 3: type = r.i32("type"); break;
      default: break;
    }
  }
  if (type < kNormal || type > kByte) r.fail("type = " + std::to_string(type) + " is not a SentencePiece piece type");
  if (piece.empty()) r.fail("piece is empty");
  v.tokens.push_back(std::move(piece));
  v.scores.push_back(score);
  v.types.push_back(static_cast<TokenType>(type));
}

std::string model_type_name(int64_t t) {
  switch (t) {
    case 1: return "UNIGRAM";
    case 2: return "BPE";
    case 3: return "WORD";
    case 4: return "CHAR";
    default: return std::to_string(t);
  }
}

// Meta's original Llama 3 tokenizer.model (tiktoken): lines of base64 text, a space and a rank.
bool looks_like_tiktoken(std::string_view bytes) {
  const size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos || eol == 0) return false;
  const std::string_view line = bytes.substr(0, eol);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size()) return false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    const bool b64 = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
    if (i < space ? !b64 : (i > space && !std::isdigit(static_cast<unsigned char>(c)))) return false;
  }
  return true;
}

}  // namespace

Vocab vocab_from_sp_model(std::string_view bytes, const std::string& source_name) {
  if (looks_like_tiktoken(bytes)) {
    throw Error(source_name + ": this is a tiktoken rank file (base64 token, rank per line), not a SentencePiece "
                "model; use the tokenizer.json beside it");
  }
  Vocab v;
  v.model = "llama";
  TrainerSpec trainer;
  NormalizerSpec normalizer;
  WireReader r(bytes, source_name, "ModelProto");
  while (r.next()) {
    switch (r.field()) {
      case 1:
        if (v.tokens.size() >= (size_t{1} << 31) - 1) r.fail("too many pieces");
        read_piece(r.bytes("pieces"), source_name, v.tokens.size(), v);
        break;
      case 2: trainer = read_trainer_spec(r.bytes("trainer_spec"), source_name, trainer); break;
      case 3: normalizer = read_normalizer_spec(r.bytes("normalizer_spec"), source_name, normalizer); break;
      default: break;  // self_test_data, denormalizer_spec
    }
  }
  if (v.tokens.empty()) throw Error(source_name + ": SentencePiece model has no pieces (ModelProto.pieces)");
  if (trainer.model_type != 2) {
    throw Error(source_name + ": SentencePiece model type " + model_type_name(trainer.model_type) +
                " (trainer_spec.model_type) is not supported; only BPE models can be tokenized");
  }
  if (!normalizer.escape_whitespaces) {
    throw Error(source_name + ": normalizer_spec.escape_whitespaces = false is not supported (spaces must become '▁')");
  }
  if (trainer.treat_whitespace_as_suffix) {
    throw Error(source_name + ": trainer_spec.treat_whitespace_as_suffix = true is not supported");
  }
  // A non-identity normalization (nmt_nfkc, ...) would change the text before tokenizing; the "llama" tokenizer
  // (like llama.cpp) does not apply it, so the ids could differ from SentencePiece's.
  if (normalizer.charsmap_bytes > 0) {
    throw Error(source_name + ": normalizer_spec '" + normalizer.name +
                "' applies a Unicode normalization (precompiled_charsmap), which lmzip does not implement");
  }
  if (normalizer.remove_extra_whitespaces) {
    throw Error(source_name + ": normalizer_spec.remove_extra_whitespaces = true (SentencePiece collapses runs of "
                "spaces) is not supported");
  }
  const int64_t n = static_cast<int64_t>(v.tokens.size());
  auto id = [n](int64_t i) -> std::optional<TokenId> {
    if (i < 0 || i >= n) return std::nullopt;  // -1: the model has no such token
    return static_cast<TokenId>(i);
  };
  v.unk = id(trainer.unk_id);
  v.bos = id(trainer.bos_id);
  v.eos = id(trainer.eos_id);
  v.pad = id(trainer.pad_id);
  v.add_bos = true;  // Hugging Face's LlamaTokenizer (add_bos_token) and llama.cpp's default
  v.add_eos = false;
  v.add_space_prefix = normalizer.add_dummy_prefix;
  return v;
}

Vocab vocab_from_sp_model_file(const std::string& path, const std::string& config_path) {
  Vocab v = vocab_from_sp_model(read_file(path), path);
  std::error_code ec;
  if (!config_path.empty() && std::filesystem::is_regular_file(config_path, ec)) {
    apply_hf_tokenizer_config(v, read_file(config_path), config_path, {.add_tokens = true, .legacy_flag = true});
  }
  return v;
}

}  // namespace lmzip

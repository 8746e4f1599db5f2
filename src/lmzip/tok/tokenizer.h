// Tokenizers read from GGUF metadata (tokenizer.ggml.*) or Hugging Face tokenizer files (hf_json.h, sp_model.h),
// exact to the reference implementations.
//
// Tokenizer is the one interface the rest of lmzip uses; the algorithms (SentencePiece BPE, byte-level BPE with
// named pre-tokenizers, ...) live behind it. A Tokenizer is immutable after construction and encode/decode are
// safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/format/gguf.h"

namespace lmzip {

using TokenId = int32_t;

// tokenizer.ggml.token_type values, as llama.cpp defines them.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

// The vocabulary as the GGUF file stores it, plus the special-token ids and flags.
struct Vocab {
  std::string model;  // tokenizer.ggml.model: "llama", "gpt2", ...
  std::string pre;    // tokenizer.ggml.pre ("" when absent)
  std::vector<std::string> tokens;
  std::vector<float> scores;          // empty when absent
  std::vector<TokenType> types;       // Normal when absent
  std::vector<std::string> merges;    // "a b" pairs, rank = index (byte-level BPE)
  std::optional<TokenId> bos, eos, unk, pad, sep, eot;
  bool add_bos = false;
  bool add_eos = false;
  std::optional<bool> add_space_prefix;  // tokenizer.ggml.add_space_prefix when present
  // Set by the Hugging Face loaders (hf_json.h, sp_model.h); a GGUF file leaves them at their defaults.
  std::optional<bool> ignore_merges;        // tokenizer.json model.ignore_merges; absent: as `pre` implies
  bool space_prefix_at_start_only = false;  // Metaspace prepend_scheme "first": no dummy prefix after special tokens
  std::vector<bool> lstrip, rstrip;         // per token: added_tokens lstrip/rstrip (empty when none are given)
  // general.name and general.architecture: llama.cpp keys a few special-token attributes on them (e.g. phi-3's
  // special tokens swallow the whitespace after them).
  std::string name, architecture;

  // Reads tokenizer.ggml.* from a GGUF file; errors name the file and key.
  static Vocab from_gguf(const GgufFile& file);
  // The vocabulary in one file, by its name (*.gguf, *.json, *.model; see Tokenizer::from_file).
  static Vocab from_file(const std::string& path);
  // Writes the tokenizer.ggml.* keys from_gguf reads back (a Hugging Face checkpoint read as GGUF).
  void write_gguf(GgufWriter& w) const;
  size_t size() const { return tokens.size(); }
};

// "" when two vocabularies tokenize alike (model, pre-tokenizer, pieces, types, scores, merges, special ids and
// flags); otherwise the first difference, e.g. "token 17 is 'ab' vs 'a'" (lmzip bpc --kl-base's check).
std::string vocab_difference(const Vocab& a, const Vocab& b);

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS as the vocabulary's add_bos/add_eos flags say
  bool parse_special = false;  // recognise special/control-token text (e.g. "<s>") in the input
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The tokenizer a GGUF file describes. lmzip::Error for a missing/unsupported tokenizer, naming the file.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
  static std::unique_ptr<Tokenizer> from_vocab(Vocab vocab, const std::string& source_name);
  // The tokenizer in one file, by its name: *.gguf (tokenizer.ggml.*), *.json (a Hugging Face tokenizer.json,
  // with the tokenizer_config.json beside it when present), *.model (a SentencePiece model, with the
  // tokenizer_config.json beside it when present). lmzip::Error for any other name, naming the file.
  static std::unique_ptr<Tokenizer> from_file(const std::string& path);
  // The tokenizer of a Hugging Face model directory: tokenizer.model when present (the SentencePiece model that
  // Hugging Face's slow tokenizers use, as the study did for the Llama family), else tokenizer.json
  // (vocab_from_hf_dir). source() names the file used.
  static std::unique_ptr<Tokenizer> from_hf_dir(const std::string& dir);
  // Which file of a Hugging Face model directory from_hf_dir reads first; lmzip::Error naming the directory when
  // it has neither.
  static std::string hf_tokenizer_file(const std::string& dir);

  virtual std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // The exact bytes the ids stand for (byte tokens as raw bytes; control tokens as their text unless
  // `skip_special`). For text the tokenizer can represent, decode(encode(x, {.add_special=false})) == x.
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special = false) const = 0;

  const Vocab& vocab() const { return vocab_; }
  size_t vocab_size() const { return vocab_.tokens.size(); }
  const std::string& piece(TokenId id) const { return vocab_.tokens.at(static_cast<size_t>(id)); }
  std::optional<TokenId> bos() const { return vocab_.bos; }
  std::optional<TokenId> eos() const { return vocab_.eos; }
  // The file (or other source name) the tokenizer was made from, for results to record.
  const std::string& source() const { return source_; }

 protected:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Vocab vocab_;

 private:
  std::string source_;
};

// A vocabulary and the file it came from.
struct VocabFile {
  Vocab vocab;
  std::string file;
};
// The vocabulary of a Hugging Face model directory: tokenizer.model, or tokenizer.json when there is none or it is
// of a kind lmzip does not read (a Unigram or tiktoken model; if neither reads, the error names both); nullopt
// when the directory has neither file.
std::optional<VocabFile> vocab_from_hf_dir(const std::string& dir);

}  // namespace lmzip

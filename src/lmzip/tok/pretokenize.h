// Pre-tokenizers of byte-level BPE vocabularies (tokenizer.ggml.pre): how text is cut into words before BPE
// merges run inside each word.
//
// Each pre-tokenizer is the sequence of regex splits its Hugging Face tokenizer.json applies (Split with
// behaviour Isolated, Digits, Punctuation, the ByteLevel regex), as llama.cpp's llama-vocab.cpp lists them per
// LLAMA_VOCAB_PRE_TYPE_*. Every regex is matched by hand-written code over code points with the exact regex
// semantics (first alternative that matches wins, greedy quantifiers with backtracking where it changes the
// result, the lookahead of \s+(?!\S)); a split step cuts every piece from the previous step at the leftmost
// matches and keeps the text between matches as pieces of its own. docs/TOKENIZERS-BPE.md gives each rule.
//
// A PreTokenizer is immutable and safe to use from many threads; split() keeps its scratch in the caller's Scratch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip {

enum class PreTokenizerKind {
  Default,        // llama.cpp's fallback when tokenizer.ggml.pre is absent or "default" (gpt-neox vocabularies)
  Gpt2,           // gpt-2, mpt, olmo, ...: the GPT-2 ByteLevel regex
  Llama3,         // llama-bpe (Llama 3), dbrx, ...: digits in groups of up to 3
  Qwen2,          // qwen2, stablelm2, ...: the Llama 3 regex with single digits
  Qwen35,         // qwen35: qwen2 with combining marks (\p{M}) kept inside words
  DeepseekLlm,    // deepseek-llm
  DeepseekCoder,  // deepseek-coder
  Falcon,         // falcon
  Starcoder,      // starcoder, refact, command-r, ...: single digits, then the GPT-2 regex
};

class PreTokenizer {
 public:
  // The pre-tokenizer for tokenizer.ggml.pre = `name` ("" when the key is absent). lmzip::Error naming
  // `source_name`, the key and the supported names when the name is unknown.
  static PreTokenizer from_name(const std::string& name, const std::string& source_name);

  // Whether llama.cpp adds BOS for this tokenizer.ggml.pre when the file has no tokenizer.ggml.add_bos_token
  // (the Llama 3 family does, like its Hugging Face post-processor).
  static bool adds_bos_by_default(std::string_view name);

  explicit PreTokenizer(PreTokenizerKind kind, bool ignore_merges = false) : kind_(kind), ignore_merges_(ignore_merges) {}

  PreTokenizerKind kind() const { return kind_; }
  // Hugging Face's BPE option ignore_merges (Llama 3): a word that is itself a vocabulary token is emitted whole.
  bool ignore_merges() const { return ignore_merges_; }

  // Reusable buffers for split(); one per thread.
  struct Scratch {
    std::vector<uint32_t> cps;       // code points (unicode::kInvalidByte for a malformed byte)
    std::vector<uint16_t> flags;     // unicode::flags per code point
    std::vector<uint32_t> offsets;   // byte offset of each code point, plus the text size at the end
    std::vector<uint32_t> bounds, next_bounds;  // piece boundaries (code point indices)
  };

  // Appends the words of `text` (views into it, in order, covering it exactly) to `words`. Malformed UTF-8 is
  // not an error: each bad byte is a code point of no class (see unicode.h), so it stays in the output.
  void split(std::string_view text, std::vector<std::string_view>& words, Scratch& scratch) const;
  std::vector<std::string> split(std::string_view text) const;  // convenience for tests and tools

  // Texts are processed in chunks of at least this many bytes, cut where no split can change (tests set it small
  // to prove that; the default keeps the scratch arrays in cache).
  void set_chunk_bytes(size_t bytes) { chunk_bytes_ = bytes; }
  // The end of the chunk of `text` that starts at `begin`: splitting chunk by chunk gives the same words.
  size_t chunk_end(std::string_view text, size_t begin) const;

 private:
  void split_chunk(std::string_view text, std::vector<std::string_view>& words, Scratch& scratch) const;

  PreTokenizerKind kind_;
  bool ignore_merges_;
  size_t chunk_bytes_ = size_t{1} << 16;
};

}  // namespace lmzip

// Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json) as a Vocab for the existing tokenizers.
//
// A tokenizer.json becomes one of two Vocab kinds, decided by its normalizer and pre-tokenizer:
//  - byte-level BPE (model "gpt2"): a ByteLevel pre-tokenizer, alone or in a Sequence with Split (regex),
//    Digits and Punctuation steps. The whole step list must equal one of the pre-tokenizers lmzip implements
//    (PreTokenizerKind); Split regexes are recognised by exact string match.
//  - SentencePiece-style BPE (model "llama"): the normalizer Sequence[Prepend "▁", Replace " "→"▁"] with no
//    pre-tokenizer, or a Metaspace pre-tokenizer that does not split. Pieces get scores from the merge order
//    (a piece's score is minus the rank of its first merge), which is the order the converter wrote them in.
// Anything else (WordPiece/Unigram/WordLevel models, other normalizers or pre-tokenizers, unknown regexes) is an
// lmzip::Error naming the file and the component. docs/TOKENIZERS.md lists what is supported.
#pragma once

#include <string>
#include <string_view>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// The vocabulary of a tokenizer.json held in `json`; errors name `source_name`. With `config_json` non-empty (a
// tokenizer_config.json, named `config_name` in errors), its add_bos_token/add_eos_token/bos_token/eos_token
// override what the post-processor says.
Vocab vocab_from_hf_json(std::string_view json, const std::string& source_name, std::string_view config_json = {},
                         const std::string& config_name = "tokenizer_config.json");

// The same from a file, with the tokenizer_config.json in the same directory when there is one.
Vocab vocab_from_hf_json_file(const std::string& path);

struct HfConfigOptions {
  bool add_tokens = false;   // append/override vocabulary entries from added_tokens_decoder (SentencePiece route)
  bool legacy_flag = false;  // honour "legacy": false (slow LlamaTokenizer: no dummy prefix after special tokens)
};

// Applies a tokenizer_config.json to `vocab`: add_bos_token, add_eos_token, bos/eos/unk/pad_token (a string or
// an {"content": ...} object, looked up in the vocabulary), and as `options` say the added tokens and the legacy
// flag. Errors name `config_name`.
void apply_hf_tokenizer_config(Vocab& vocab, std::string_view config_json, const std::string& config_name,
                               HfConfigOptions options);

}  // namespace lmzip

// SentencePiece model files (tokenizer.model: a protobuf sentencepiece.ModelProto) as a Vocab.
//
// The file is read with a small bounds-checked protobuf wire-format reader (no protobuf library): pieces (text,
// score, type), trainer_spec (model type, byte_fallback, unk/bos/eos/pad ids) and normalizer_spec
// (add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, precompiled_charsmap). Unknown fields are
// skipped; every length is checked against the buffer, and every error names the file and the field. Only BPE
// models become a Vocab (model "llama", SentencePiece BPE by piece score); Unigram, word and char models, and
// normalizations the "llama" tokenizer does not apply, are errors.
#pragma once

#include <string>
#include <string_view>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// The vocabulary of a SentencePiece model held in `bytes`; errors name `source_name`.
Vocab vocab_from_sp_model(std::string_view bytes, const std::string& source_name);

// The same from a file; with `config_path` non-empty and existing, that tokenizer_config.json's added tokens,
// special tokens and add_bos/add_eos flags are applied (as Hugging Face's slow LlamaTokenizer does).
Vocab vocab_from_sp_model_file(const std::string& path, const std::string& config_path = "");

}  // namespace lmzip

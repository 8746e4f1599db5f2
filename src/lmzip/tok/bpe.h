// Byte-level BPE ("gpt2" tokenizer model): merge ranks plus the pre-tokenizer named by tokenizer.ggml.pre.
#pragma once

#include <memory>
#include <string>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab, const std::string& source_name);

}  // namespace lmzip

// A checkpoint's tokenizer: the file given with --tokenizer, else the directory's (tok's vocab_from_hf_dir:
// tokenizer.model first, the study's slow tokenizers; docs/TOKENIZERS.md).
#include "lmzip/hf/architectures.h"

namespace lmzip {

std::optional<VocabFile> load_hf_tokenizer(const std::string& dir, const std::string& override_file) {
  if (!override_file.empty()) return VocabFile{Vocab::from_file(override_file), override_file};
  return vocab_from_hf_dir(dir);
}

}  // namespace lmzip

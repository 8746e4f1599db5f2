// Hugging Face checkpoints read in place: a directory with config.json, model.safetensors (or shards with
// model.safetensors.index.json) and tokenizer.model and/or tokenizer.json becomes the GgufFile that llama.cpp's
// converter would have written — the family's metadata keys from config.json, llama.cpp's tensor names, the
// tokenizer as tokenizer.ggml.* keys — with the tensors as views into the memory-mapped shards. Only where a
// layout differs and the engine cannot read it as stored (Gemma's norms stored as w for 1 + w, Mamba's A_log,
// Falcon's grouped and GPT-NeoX's per-head interleaved fused QKV rows) is a small copy made; Llama's un-permuted
// Q/K are read with the half-split RoPE instead of being rewritten. docs/HF.md lists the architectures.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct HfOptions {
  // The tokenizer file to use instead of the directory's (tokenizer.model, else tokenizer.json); a .gguf
  // file's vocabulary also works.
  std::string tokenizer_file;
  bool require_tokenizer = true;  // false: a checkpoint without tokenizer files still loads (no tokenizer keys)
};

struct HfCheckpoint {
  GgufFile file;               // assembled: metadata and tensor views (keeps the shards mapped)
  std::string dir;
  std::string architecture;    // config.json's architectures[0]
  std::string tokenizer_file;  // the file the tokenizer came from ("" when none)
  // Its vocabulary, complete (the tokenizer.ggml.* keys written into `file` cannot carry what the Hugging Face
  // loaders add: ignore_merges, per-token lstrip/rstrip, Metaspace's prepend scheme).
  std::optional<Vocab> vocab;
  // Checkpoint tensors no rule maps (buffers such as rotary_emb.inv_freq): ignored, listed for `lmzip info`.
  std::vector<std::string> unused_tensors;
};

// True when `path` is a directory holding config.json, or a config.json file.
bool is_hf_checkpoint(const std::string& path);

// Reads a checkpoint (a directory or its config.json). lmzip::Error naming the file and field otherwise.
HfCheckpoint open_hf_checkpoint(const std::string& path, const HfOptions& options = {});

// "LlamaForCausalLM, MistralForCausalLM, ..." (for errors and docs).
std::string supported_hf_architectures();

}  // namespace lmzip

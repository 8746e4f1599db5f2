// Test-side converter: a GGUF model written as a Hugging Face checkpoint the way transformers lays it out
// (config.json with transformers' key names, safetensors with its tensor names, Llama's Q/K un-permuted,
// Falcon's grouped and GPT-NeoX's per-head fused QKV, Gemma's norms as w for (1 + w), Mamba's A_log, experts one
// tensor each). Written independently of src/lmzip/hf/ (only the tensor names come from hf_tensor_name(), which
// hf_checkpoint_test checks against transformers' names), so the tests compare two implementations.
// Also used by bench/bench_hf_load.cpp.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/format/safetensors.h"

namespace lmzip::test {

std::vector<float> floats_of(const GgufTensorInfo& t);
// config.json as transformers writes it for class `cls`, from the GGUF's metadata.
nlohmann::json hf_config(const GgufFile& g, const std::string& cls);
// Writes `g` as a checkpoint of class `cls` into `dir` (two shards and an index when `sharded`).
void write_checkpoint(const GgufFile& g, const std::string& cls, const std::string& dir,
                      SafetensorsDtype dtype = SafetensorsDtype::F32, bool sharded = false);

}  // namespace lmzip::test

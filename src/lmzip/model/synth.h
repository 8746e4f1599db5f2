// Random-weight models of real shapes, written as GGUF: for tests (small shapes, every weight type) and
// benchmarks (qwen2-0.5b, llama-7b). Values are deterministic in (seed, tensor name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/format/ggml_types.h"
#include "lmzip/format/gguf.h"

namespace lmzip {

struct SynthShape {
  std::string arch = "llama";  // a registered family (family.h)
  int n_vocab = 512;           // ignored when a vocabulary file is given (its token count is used)
  int n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 160;
  int n_ctx = 512;
  int n_rot = 0;     // 0: the head dimension
  int head_dim = 0;  // > 0: attention.key_length/value_length (Gemma); 0: n_embd / n_head
  float rope_freq_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_output = false;  // no output.weight
  bool rope_freqs = false;   // write a Llama 3 style rope_freqs.weight (factors between 1 and 8)
  float rope_scale_linear = 0;  // > 0: rope.scaling.type "linear" with this rope.scaling.factor
  int n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;  // sparse experts
  int ssm_d_inner = 0, ssm_d_state = 0, ssm_d_conv = 0, ssm_dt_rank = 0;  // Mamba
  // Hybrid and mixed layers. With Mamba dimensions and heads, layer il attends iff il % attn_period ==
  // attn_offset (the others are Mamba blocks; attention.head_count_kv is then written per layer, 0 for Mamba).
  // With experts, layer il has them iff il >= dense_lead (written as leading_dense_block_count) and, when
  // expert_period > 0, il % expert_period == expert_offset; the other layers have a dense FFN.
  int attn_period = 0, attn_offset = 0;
  int expert_period = 0, expert_offset = 0, dense_lead = 0;
  // Latent attention (DeepSeek-V2): value_length when it differs from head_dim, q_lora_rank (0: attn_q
  // directly), kv_lora_rank.
  int v_head_dim = 0, q_lora_rank = 0, kv_lora_rank = 0;
  float rope_scale_yarn = 0;   // > 0: rope.scaling.type "yarn" with this factor
  int rope_yarn_orig_ctx = 0;  // its rope.scaling.original_context_length
  // Optional tensors of the family's table to write (per layer without "blk.N."), e.g. "attn_q.bias",
  // "attn_norm_2.weight" (Falcon-40B), "ffn_norm.weight" (StableLM, sequential).
  std::vector<std::string> optional_tensors{};
  // Family keys (family.h FamilyKey suffixes) with a value other than the family's synth default.
  std::vector<std::pair<std::string, double>> keys{};
};

// A shape by preset name: "tiny" (a small model of `arch`, every family), or a study model's real shape
// ("falcon-7b", "mixtral-8x7b", ...: the preset names its family; `arch` must then be empty or agree).
// nullopt for an unknown preset; throws lmzip::Error when `arch` contradicts the preset.
std::optional<SynthShape> synth_preset(std::string_view preset, std::string_view arch);
std::string synth_presets();  // "tiny, qwen2-0.5b, llama-7b, falcon-7b, ..."

struct SynthOptions {
  SynthShape shape;
  uint64_t seed = 1;
  GgmlType type = GgmlType::F32;  // of the 2-D matrices; norms and biases are F32
  std::string vocab_path;         // a GGUF whose tokenizer.* metadata is copied; empty: a synthetic vocabulary
};

struct SynthModel {
  GgufWriter writer;  // tensors are generated while it writes
  // Matrices whose rows are not a multiple of `type`'s block (e.g. 896 for Q4_K), written as Q8_0 or F16
  // instead, as llama.cpp's quantizer falls back; "name: TYPE".
  std::vector<std::string> fallbacks;
};

// Throws lmzip::Error for an unsupported architecture or type, a bad shape, or an unreadable vocabulary file.
SynthModel synth_model(const SynthOptions& options);

}  // namespace lmzip

// The one layer function: reads a layer's block description (block.h) and calls the blocks (blocks/*.cpp).
//   sequential:  x += post?(mixer(pre?(x)));  x += post?(ffn(norm2(x)))
//   parallel:    x += mixer(norm1(x)) + ffn(norm2(x))   (norm2 = norm1 when the layer has one norm)
// Rows before r0 are only needed as keys, values and states: the FFN and the residual skip them.
#include <string>

#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

void run_layer(const ModelConfig& c, const LayerSpec& spec, const LayerWeights& L, int layer, const PassRows& rows,
               ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd, n = rows.n, r0 = rows.r0, m = n - r0;
  float* x = s.x.data();
  float* x_out = x + r0 * d;  // the rows carried on: [m x d]
  const bool parallel = spec.residual == Residual::Parallel;
  // The mixer's input, all n rows: xn = norm1(x), or x itself without pre-norms.
  const float* mix_in = x;
  if (spec.pre_norm) {
    norm_rows(spec.norm, x, s.xn.data(), n, d, L.attn_norm, L.attn_norm_b, c.norm_eps, pool);
    mix_in = s.xn.data();
  }
  // A parallel FFN reads the layer's input: normalize it before the mixer changes x.
  const float* ffn_in = nullptr;
  if (parallel) {
    ffn_in = mix_in + r0 * d;
    if (!L.ffn_norm.empty()) {
      norm_rows(spec.norm, x_out, s.xn2.data(), m, d, L.ffn_norm, L.ffn_norm_b, c.norm_eps, pool);
      ffn_in = s.xn2.data();
    }
  }
  // Mixer: straight into the residual, or through its post-norm.
  const bool direct = !spec.post_norms;
  float* mix_out = direct ? x_out : s.mix.data();
  if (spec.mixer == MixerKind::Attention) {
    attention_block(c, spec, L, layer, mix_in, rows, mix_out, direct, s, pool);
  } else if (spec.mixer == MixerKind::LatentAttention) {
    latent_attention_block(c, L, layer, mix_in, rows, mix_out, direct, s, pool);
  } else {
    // The recurrent block produces every row; only [r0, n) are added.
    mamba_block(c, L, layer, mix_in, rows, s.mix.data(), false, s, pool);
    for (int64_t i = 0; i < m * d; ++i) mix_out[i] = direct ? mix_out[i] + s.mix[r0 * d + i] : s.mix[r0 * d + i];
  }
  if (!direct) {
    norm_rows(NormKind::Rms, s.mix.data(), s.mix.data(), m, d, L.post_attn_norm, {}, c.norm_eps, pool);
    for (int64_t i = 0; i < m * d; ++i) x_out[i] += s.mix[i];
  }
  if (spec.ffn.kind == FfnKind::None) return;
  // FFN input: sequential layers normalize the updated stream.
  if (!parallel) {
    ffn_in = x_out;
    if (spec.pre_norm) {
      norm_rows(spec.norm, x_out, s.xn.data(), m, d, L.ffn_norm, L.ffn_norm_b, c.norm_eps, pool);
      ffn_in = s.xn.data();
    }
  }
  float* ffn_out = direct ? x_out : s.mix.data();
  if (spec.ffn.kind == FfnKind::Experts) {
    experts_block(c, spec.ffn, L, ffn_in, m, ffn_out, direct, s, pool);
  } else {
    ffn_block(c, spec.ffn, L, ffn_in, m, ffn_out, direct, s, pool);
  }
  if (!direct) {
    norm_rows(NormKind::Rms, s.mix.data(), s.mix.data(), m, d, L.post_ffn_norm, {}, c.norm_eps, pool);
    for (int64_t i = 0; i < m * d; ++i) x_out[i] += s.mix[i];
  }
}

std::string LayerSpec::describe(RopeKind rope, int n_head, int n_head_kv) const {
  auto norm_name = [&] { return std::string(norm == NormKind::Rms ? "RMSNorm" : "LayerNorm"); };
  std::string mixer_s;
  if (mixer == MixerKind::Mamba) {
    mixer_s = "Mamba (conv + selective scan)";
  } else if (mixer == MixerKind::LatentAttention) {
    mixer_s = "latent attention (MLA, RoPE normal on the rope dims)";
  } else {
    mixer_s = std::string("attention (") + (n_head_kv == 1 ? "MQA" : n_head_kv < n_head ? "GQA" : "MHA") +
              (attention.fused_qkv ? ", fused QKV" : "") + (attention.qk_norm ? ", Q/K norm" : "") +
              (rope == RopeKind::None ? ", no RoPE" : rope == RopeKind::Neox ? ", RoPE neox" : ", RoPE normal") +
              (attention.sliding_window ? ", window " + std::to_string(attention.sliding_window) : "") +
              (attention.softcap > 0 ? ", softcap " + std::to_string(attention.softcap).substr(0, 5) : "") + ")";
  }
  const char* act = ffn.act == Activation::Silu ? "SiLU" : ffn.act == Activation::GeluTanh ? "GELU-tanh" : "GELU";
  std::string ffn_s;
  switch (ffn.kind) {
    case FfnKind::None: break;
    case FfnKind::Gated: ffn_s = std::string("gated ") + act + (ffn.fused_gate_up ? " (fused gate|up)" : ""); break;
    case FfnKind::Plain: ffn_s = std::string(act) + " MLP"; break;
    case FfnKind::Experts:
      ffn_s = std::string("experts (gated ") + act + (ffn.renormalize ? ", renormalized top-k" : ", top-k") +
              (ffn.shared_expert ? ffn.shared_expert_gated ? ", gated shared expert" : ", shared expert" : "") +
              (ffn.expert_weight_scale != 1 ? ", scale " + std::to_string(ffn.expert_weight_scale).substr(0, 5) : "") +
              ")";
      break;
  }
  const std::string pre = pre_norm ? norm_name() + " -> " : "";
  const std::string post = post_norms ? " -> RMSNorm" : "";
  if (ffn.kind == FfnKind::None) return pre + mixer_s + post + " -> +";
  if (residual == Residual::Parallel) return pre + "[" + mixer_s + " | " + ffn_s + "] -> +";
  return pre + mixer_s + post + " -> + -> " + pre + ffn_s + post + " -> +";
}

}  // namespace lmzip

// DeepSeek-V2 multi-head latent attention (MLA), as llama.cpp's deepseek2 graph computes it:
//   q = W_q_b rms(W_q_a xn)   (or W_q xn without q LoRA: "lite")      per head [q_nope | q_pe]
//   [c_kv | k_pe] = W_kv_a xn; [k_nope | v] per head = W_kv_b rms(c_kv)  one k_pe shared by all heads
//   RoPE (NORM pairs, YaRN frequencies) on q_pe and k_pe; scores q.k times mscale^2 / sqrt(key_length).
// The keys and values are expanded to ordinary heads and go through the common attention core
// (cache_and_attend): each head is stored rope part first, [pe | nope], in both q and k (a dot product does not
// see a common permutation), so RoPE rotates the first n_rot dimensions as for every other family; V is padded
// with zeros to the key head size (value_length < key_length), and the padding is dropped before W_o.
#include <algorithm>
#include <cstring>

#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

void latent_attention_block(const ModelConfig& c, const LayerWeights& L, int layer, const float* xn,
                            const PassRows& pass, float* out, bool accumulate, ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd, n = pass.n, r0 = pass.r0, n_q = n - r0;
  const int64_t hd = c.head_dim, rot = c.n_rot, nope = hd - rot, vd = c.v_head_dim, n_head = c.n_head;
  const int64_t q_dim = c.q_dim(), kv_lora = c.kv_lora_rank, kv_a_w = kv_lora + rot, kv_b_w = n_head * (nope + vd);
  // q of the carried rows, as stored ([nope | pe] per head), in s.attn (free until the attention writes it).
  float* q_raw = s.attn.data();
  if (c.q_lora_rank > 0) {
    project(s, xn + r0 * d, n_q, d, L.wq_a, s.mla_q_a.data(), c.q_lora_rank, false, pool);
    rms_norm(s.mla_q_a.data(), s.mla_q_a.data(), n_q, c.q_lora_rank, L.q_a_norm, c.norm_eps, pool);
    project(s, s.mla_q_a.data(), n_q, c.q_lora_rank, L.wq_b, q_raw, q_dim, false, pool);
  } else {
    project(s, xn + r0 * d, n_q, d, L.wq, q_raw, q_dim, false, pool);
  }
  for (int64_t r = 0; r < n_q; ++r) {
    for (int64_t h = 0; h < n_head; ++h) {
      const float* src = q_raw + r * q_dim + h * hd;
      float* dst = s.q.data() + r * q_dim + h * hd;
      std::copy_n(src + nope, rot, dst);
      std::copy_n(src, nope, dst + rot);
    }
  }
  // The compressed KV latent and k_pe of every row, the latent expanded per head.
  float* kv_a = s.mla_kv_a.data();
  project(s, xn, n, d, L.wkv_a, kv_a, kv_a_w, false, pool);
  for (int64_t r = 0; r < n; ++r) std::copy_n(kv_a + r * kv_a_w, kv_lora, s.mla_c.data() + r * kv_lora);
  rms_norm(s.mla_c.data(), s.mla_c.data(), n, kv_lora, L.kv_a_norm, c.norm_eps, pool);
  float* kv_b = s.mla_kv_b.data();
  project(s, s.mla_c.data(), n, kv_lora, L.wkv_b, kv_b, kv_b_w, false, pool);
  const int64_t kv_dim = c.kv_dim();  // n_head * hd: k heads [k_pe | k_nope], v heads [v | 0]
  for (int64_t r = 0; r < n; ++r) {
    const float* pe = kv_a + r * kv_a_w + kv_lora;
    for (int64_t h = 0; h < n_head; ++h) {
      const float* src = kv_b + r * kv_b_w + h * (nope + vd);
      float* k = s.k_new.data() + r * kv_dim + h * hd;
      float* v = s.v_new.data() + r * kv_dim + h * hd;
      std::copy_n(pe, rot, k);
      std::copy_n(src, nope, k + rot);
      std::copy_n(src + nope, vd, v);
      std::fill(v + vd, v + hd, 0.0f);
    }
  }
  cache_and_attend(c, AttentionSpec{}, layer, pass, s, pool);
  // Drop the value padding: [n_q x n_head hd] -> [n_q x n_head vd], in place (the destination never overtakes
  // the source).
  float* attn = s.attn.data();
  for (int64_t r = 0; r < n_q; ++r) {
    for (int64_t h = 0; h < n_head; ++h) {
      std::memmove(attn + (r * n_head + h) * vd, attn + r * q_dim + h * hd, static_cast<size_t>(vd) * sizeof(float));
    }
  }
  project(s, attn, n_q, n_head * vd, L.wo, out, d, accumulate, pool);
}

}  // namespace lmzip

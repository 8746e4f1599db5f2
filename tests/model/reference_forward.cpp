// A naive double-precision reference forward pass, one function per block, for every architecture family lmzip
// implements. Exact math as the published (Hugging Face) models define it, not llama.cpp's roundings: GELU is
// computed in double (erf or the tanh approximation, whichever the HF model uses), no F16 KV cache.
//
// Families (`general.architecture`) and what sets each apart. "NORM" RoPE rotates pairs (2i, 2i+1), "NEOX" pairs
// (i, i + n_rot/2); with n_rot < head size only the first n_rot dims of a head rotate. Fused QKV rows are Q|K|V.
//  llama      RMSNorm; Q/K/V; NORM RoPE; SwiGLU silu(gate x) * (up x). With `expert_count` (mixtral): a softmax
//             router, the top-k experts, their k weights renormalized to sum 1.
//  qwen2      llama + Q/K/V biases, NEOX RoPE.
//  qwen2moe   qwen2 with MoE: softmax, top-k, weights NOT renormalized, plus a shared SwiGLU expert scaled by
//             sigmoid(ffn_gate_inp_shexp . x).
//  qwen       (v1) fused QKV with bias, NEOX; FFN tensors are feed_forward_length/2 wide (shapes are read from the
//             tensors everywhere).
//  falcon     LayerNorm with bias; fused QKV, no projection biases; NEOX; erf-GELU MLP; parallel x + attn + mlp.
//             7B: attn_norm feeds both; 40B (decided by the presence of attn_norm_2): attn_norm_2 feeds attention,
//             attn_norm the MLP.
//  starcoder  LayerNorm; learned position_embd, no RoPE; fused QKV + bias, output bias; tanh-GELU MLP with biases.
//  starcoder2 LayerNorm; biases on every projection; NEOX; tanh-GELU MLP with biases.
//  gemma      RMSNorm (the GGUF weight is the whole multiplier); embeddings times sqrt(n_embd); head size from
//             key_length/value_length; NEOX; gated tanh-GELU FFN gelu(gate x) * (up x); tied output.
//  gemma2     gemma + RMSNorm on the attention and FFN outputs (post_attention_norm, post_ffw_norm) before the
//             residual adds; scores s -> cap * tanh(s / cap) before the mask; even layers see only keys with
//             pos_q - pos_k < sliding_window; final logits z -> cap * tanh(z / cap); query scale
//             1/sqrt(key_length) for 26 or 42 layers, 1/sqrt(n_embd/n_head) for 46 (HF query_pre_attn_scalar).
//  phi3       RMSNorm; fused QKV; NEOX, pair i's frequency divided by rope_factors_short[i] (sequence length <=
//             rope.scaling.original_context_length) or rope_factors_long[i], cos and sin times
//             rope.scaling.attn_factor; every layer sliding-window; ffn_up is [gate | up] fused, SwiGLU.
//  gptneox    LayerNorm; fused QKV + bias; partial NEOX; erf-GELU MLP with biases; use_parallel_residual:
//             x + attn(ln1 x) + mlp(ln2 x), else sequential.
//  stablelm   LayerNorm; Q/K/V biases; partial NEOX; SwiGLU; parallel (attn_norm feeds both) iff ffn_norm absent.
//  command-r  LayerNorm without bias; NORM RoPE; parallel x + attn(n) + ffn(n); logits times logit_scale;
//             per-head LayerNorm q/k norms when present.
//  olmo2      no pre-norms; RMSNorm over the whole projected Q and K vectors (before the head split); NEOX;
//             RMSNorm on the attention and FFN outputs before the residual adds.
//  deepseek2  MLA: q = q_b(rms(q_a x)) (attn_q without q LoRA), per head [nope | rope]; kv_a_mqa x =
//             [c (kv_lora_rank) | k_pe (n_rot)], kv_b(rms(c)) per head [k_nope | v]; one k_pe for all heads; NORM
//             RoPE on the rope parts with YaRN frequencies; scores times mscale^2 / sqrt(key_length), mscale =
//             1 + yarn_log_multiplier ln(factor). The first leading_dense_block_count FFNs are dense, then MoE
//             (softmax or sigmoid, top-k, renormalized iff expert_weights_norm, times expert_weights_scale) plus
//             ungated shared experts.
//  mamba      RMSNorm; a selective-scan mixer (mamba_mixer) with a residual; no attention and no FFN.
//  jamba      RMSNorm; each layer mixes with attention (no RoPE) or a Mamba mixer with RMSNorms on dt, B and C
//             (ssm_dt_norm, ssm_b_norm, ssm_c_norm), then a dense or MoE SwiGLU FFN (softmax, top-k, not
//             renormalized).
// Tied output (token_embd) when output.weight is absent.
#include "model/reference_forward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

#include "lmzip/kernels/dequant.h"

namespace lmzip::test {
namespace {

using Vec = std::vector<double>;

enum class Act { Silu, GeluErf, GeluTanh };
enum class Rope { None, Norm, Neox };

// The activation of each GELU family, as the HF model defines it (llama.cpp uses the tanh form everywhere).
constexpr Act kFalconAct = Act::GeluErf;       // Falcon: nn.GELU()
constexpr Act kGptNeoXAct = Act::GeluErf;      // GPT-NeoX: hidden_act "gelu"
constexpr Act kStarcoderAct = Act::GeluTanh;   // GPTBigCode: "gelu_pytorch_tanh"
constexpr Act kStarcoder2Act = Act::GeluTanh;  // Starcoder2: "gelu_pytorch_tanh"
constexpr Act kGemmaAct = Act::GeluTanh;       // Gemma: hidden_activation "gelu_pytorch_tanh"
constexpr Act kGemma2Act = Act::GeluTanh;      // Gemma2: "gelu_pytorch_tanh"

double silu(double x) { return x / (1.0 + std::exp(-x)); }

double activate(Act a, double x) {
  switch (a) {
    case Act::Silu: return silu(x);
    case Act::GeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Act::GeluTanh: return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return 0;
}

// A tensor as doubles, row-major: rows of n_in = ne[0] elements; rows = ne[1] * ne[2] (experts stacked).
struct Tensor {
  Vec v;
  size_t n_in = 0, rows = 0;
  std::vector<uint64_t> ne;
};

Tensor load(const GgufTensorInfo& t) {
  Tensor out;
  out.ne = t.dims;
  out.n_in = t.dims[0];
  out.rows = t.n_elements / out.n_in;
  const size_t row_bytes = *ggml_bytes(t.type, out.n_in);
  out.v.resize(t.n_elements);
  for (size_t r = 0; r < out.rows; ++r) {
    for (size_t i = 0; i < out.n_in; ++i) {
      out.v[r * out.n_in + i] = dequantize_element_reference(t.type, t.data + r * row_bytes, i);
    }
  }
  return out;
}

// Matrix e of a 3-D expert tensor {n_in, n_out, n_expert}.
Tensor expert(const Tensor& t, size_t e) {
  Tensor out;
  out.n_in = t.n_in;
  out.rows = t.ne[1];
  out.v.assign(t.v.begin() + static_cast<long>(e * out.rows * out.n_in),
               t.v.begin() + static_cast<long>((e + 1) * out.rows * out.n_in));
  return out;
}

// The tensors whose names start with `prefix` ("blk.3." or the global ones), keyed by the rest of the name.
struct Weights {
  std::map<std::string, Tensor> t;
  bool has(const std::string& n) const { return t.count(n) != 0; }
  const Tensor& operator[](const std::string& n) const {
    auto it = t.find(n);
    if (it == t.end()) throw std::runtime_error("reference: missing tensor " + n);
    return it->second;
  }
  const Tensor* opt(const std::string& n) const { return has(n) ? &t.at(n) : nullptr; }
};

Weights load_weights(const GgufFile& f, const std::string& prefix) {
  Weights w;
  for (const GgufTensorInfo& t : f.tensors()) {
    if (t.name.rfind(prefix, 0) != 0) continue;
    if (prefix.empty() && t.name.rfind("blk.", 0) == 0) continue;
    w.t.emplace(t.name.substr(prefix.size()), load(t));
  }
  return w;
}

// y = W x (+ b)
Vec linear(const Tensor& w, const Vec& x, const Tensor* b = nullptr) {
  if (x.size() != w.n_in) throw std::runtime_error("reference: shape mismatch");
  Vec y(w.rows);
  for (size_t o = 0; o < w.rows; ++o) {
    double s = b ? b->v[o] : 0.0;
    for (size_t i = 0; i < w.n_in; ++i) s += w.v[o * w.n_in + i] * x[i];
    y[o] = s;
  }
  return y;
}

Vec slice(const Vec& x, size_t off, size_t n) { return Vec(x.begin() + long(off), x.begin() + long(off + n)); }

Vec rms_norm(const Vec& x, const Tensor* w, double eps) {
  double ss = 0;
  for (double a : x) ss += a * a;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * (w ? w->v[i] : 1.0);
  return y;
}

// (x - mean) / sqrt(var + eps) * w (+ b); w and b are indexed from `off` (per-head norms).
Vec layer_norm(const Vec& x, const Tensor& w, const Tensor* b, double eps, size_t off = 0) {
  const double n = static_cast<double>(x.size());
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double var = 0;
  for (double a : x) var += (a - mean) * (a - mean);
  const double scale = 1.0 / std::sqrt(var / n + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) * scale * w.v[off + i] + (b ? b->v[off + i] : 0.0);
  return y;
}

Vec add(Vec a, const Vec& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// Numeric key, or the largest element of a per-layer array (jamba's head_count_kv is 0 on Mamba layers).
int64_t int_key(const GgufFile& f, const std::string& key, int64_t def) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return def;
  if (v->type() != GgufType::ARRAY) return *v->as_int();
  int64_t m = 0;
  for (uint64_t i = 0; i < v->array_size(); ++i) m = std::max(m, v->array_int(i));
  return m;
}

struct Config {
  std::string arch;
  int n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_k = 0, head_v = 0, n_rot = 0;
  double rms_eps = 1e-5, ln_eps = 1e-5;
  bool layer_norm = false;     // LayerNorm (with mean) instead of RMSNorm
  bool parallel = false;       // x + mixer(n1 x) + ffn(n2 x)
  Act act = Act::Silu;
  Rope rope = Rope::Norm;
  double rope_base = 10000, freq_scale = 1, rope_magnitude = 1;  // cos and sin times rope_magnitude
  bool yarn = false;
  int yarn_orig_ctx = 0;
  Vec rope_factors;            // per-pair frequency divisors (phi3, llama3)
  double q_scale = 0;          // multiplies q . k
  double attn_softcap = 0, final_softcap = 0, logit_scale = 1;
  int sliding_window = 0;
  bool window_even_layers_only = false;
  bool embd_scale = false;     // embeddings times sqrt(n_embd)
  int expert_used = 0, dense_lead = 0;
  bool expert_renorm = false, expert_sigmoid = false;
  double expert_scale = 1;
};

Config read_config(const GgufFile& f, const Weights& g, size_t n_tokens) {
  Config c;
  const std::string a = c.arch = f.architecture();
  auto dbl = [&](const std::string& k, double d) { return f.get_double(a + "." + k).value_or(d); };
  auto num = [&](const std::string& k, int64_t d) { return static_cast<int>(int_key(f, a + "." + k, d)); };
  c.n_embd = num("embedding_length", 0);
  c.n_layer = num("block_count", 0);
  c.n_head = num("attention.head_count", 0);
  c.n_head_kv = num("attention.head_count_kv", c.n_head);
  c.head_k = num("attention.key_length", c.n_head ? c.n_embd / c.n_head : 0);
  c.head_v = num("attention.value_length", c.head_k);
  c.n_rot = num("rope.dimension_count", c.head_k);
  c.rms_eps = dbl("attention.layer_norm_rms_epsilon", 1e-5);
  c.ln_eps = dbl("attention.layer_norm_epsilon", 1e-5);
  c.rope_base = dbl("rope.freq_base", 10000.0);
  c.q_scale = c.head_k ? 1.0 / std::sqrt(static_cast<double>(c.head_k)) : 0;
  c.expert_used = num("expert_used_count", 0);
  const std::string scaling = f.get_string(a + ".rope.scaling.type").value_or("linear");
  if (scaling != "none") c.freq_scale = 1.0 / dbl("rope.scaling.factor", 1.0);
  c.yarn = scaling == "yarn";
  c.yarn_orig_ctx = num("rope.scaling.original_context_length", num("context_length", 0));
  c.rope_magnitude = dbl("rope.scaling.attn_factor", 1.0) * (c.yarn ? 1.0 + 0.1 * std::log(1 / c.freq_scale) : 1.0);
  if (g.has("rope_freqs.weight")) c.rope_factors = g["rope_freqs.weight"].v;

  static const std::map<std::string, Rope> neox_or_none = {
      {"qwen", Rope::Neox},    {"qwen2", Rope::Neox},   {"qwen2moe", Rope::Neox}, {"falcon", Rope::Neox},
      {"phi3", Rope::Neox},    {"gemma", Rope::Neox},   {"gemma2", Rope::Neox},   {"starcoder2", Rope::Neox},
      {"gptneox", Rope::Neox}, {"stablelm", Rope::Neox}, {"olmo2", Rope::Neox},   {"starcoder", Rope::None},
      {"jamba", Rope::None},   {"mamba", Rope::None}};
  if (auto it = neox_or_none.find(a); it != neox_or_none.end()) c.rope = it->second;
  if (a == "llama") c.expert_renorm = true;  // mixtral
  if (a == "falcon" || a == "starcoder" || a == "starcoder2" || a == "gptneox" || a == "stablelm" ||
      a == "command-r") {
    c.layer_norm = true;
  }
  if (a == "falcon" || a == "command-r") c.parallel = true;
  if (a == "gptneox") c.parallel = f.get_bool(a + ".use_parallel_residual").value_or(true);
  if (a == "stablelm") c.parallel = !f.find_tensor("blk.0.ffn_norm.weight");
  if (a == "falcon") c.act = kFalconAct;
  if (a == "gptneox") c.act = kGptNeoXAct;
  if (a == "starcoder") c.act = kStarcoderAct;
  if (a == "starcoder2") c.act = kStarcoder2Act;
  if (a == "gemma") c.act = kGemmaAct;
  if (a == "gemma2") c.act = kGemma2Act;
  if (a == "gemma" || a == "gemma2") c.embd_scale = true;
  if (a == "gemma2") {
    c.attn_softcap = dbl("attn_logit_softcapping", 0);
    c.final_softcap = dbl("final_logit_softcapping", 0);
    c.sliding_window = num("attention.sliding_window", 0);
    c.window_even_layers_only = true;
    if (c.n_layer == 46) {
      c.q_scale = 1.0 / std::sqrt(static_cast<double>(c.n_embd / c.n_head));
    } else if (c.n_layer != 26 && c.n_layer != 42) {
      throw std::runtime_error("reference: gemma2 query scale unknown for this layer count");
    }
  }
  if (a == "phi3") {
    c.sliding_window = num("attention.sliding_window", 0);
    const bool long_ctx = n_tokens > static_cast<size_t>(c.yarn_orig_ctx);
    const std::string name = long_ctx ? "rope_factors_long.weight" : "rope_factors_short.weight";
    if (g.has(name)) c.rope_factors = g[name].v;
  }
  if (a == "command-r") c.logit_scale = dbl("logit_scale", 1.0);
  if (a == "deepseek2") {
    const double mscale = 1.0 + dbl("rope.scaling.yarn_log_multiplier", 0.0) * std::log(1.0 / c.freq_scale);
    c.q_scale = mscale * mscale / std::sqrt(static_cast<double>(c.head_k));
    c.rope_magnitude = 1.0;  // the YaRN magnitude is folded into q_scale instead
    c.dense_lead = num("leading_dense_block_count", 0);
    c.expert_renorm = f.get_bool(a + ".expert_weights_norm").value_or(false);
    c.expert_scale = dbl("expert_weights_scale", 1.0);
    c.expert_sigmoid = num("expert_gating_func", 1) == 2;
  }
  return c;
}

// The angle of RoPE pair i at position pos: base^(-2i/n_rot) / factor[i], interpolated by freq_scale; with YaRN,
// pairs below the correction range extrapolate (keep the unscaled angle) and those above interpolate, linearly
// blended in between (beta_fast 32, beta_slow 1).
double rope_angle(const Config& c, int i, int pos) {
  double extrap = pos * std::pow(c.rope_base, -2.0 * i / c.n_rot);
  if (!c.rope_factors.empty()) extrap /= c.rope_factors[static_cast<size_t>(i)];
  const double interp = extrap * c.freq_scale;
  if (!c.yarn) return interp;
  auto corr_dim = [&](double beta) {
    return c.n_rot * std::log(c.yarn_orig_ctx / (beta * 2 * M_PI)) / (2 * std::log(c.rope_base));
  };
  const double low = std::max(0.0, std::floor(corr_dim(32))), high = std::min(c.n_rot - 1.0, std::ceil(corr_dim(1)));
  const double ramp = 1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
  return interp * (1 - ramp) + extrap * ramp;
}

// Rotates dims [off, off + n_rot) of each of n_heads heads of width head_dim.
void rope(const Config& c, Vec& x, int n_heads, int head_dim, int off, int pos) {
  if (c.rope == Rope::None) return;
  for (int h = 0; h < n_heads; ++h) {
    double* v = x.data() + h * head_dim + off;
    for (int i = 0; i < c.n_rot / 2; ++i) {
      const double th = rope_angle(c, i, pos);
      const double cs = std::cos(th) * c.rope_magnitude, sn = std::sin(th) * c.rope_magnitude;
      const int p = c.rope == Rope::Neox ? i : 2 * i, q = c.rope == Rope::Neox ? i + c.n_rot / 2 : 2 * i + 1;
      const double x0 = v[p], x1 = v[q];
      v[p] = x0 * cs - x1 * sn;
      v[q] = x0 * sn + x1 * cs;
    }
  }
}

struct QKV {
  Vec q, k, v;  // [n_head * head_k], [n_head_kv * head_k], [n_head_kv * head_v]
};

// Multi-head latent attention (deepseek2): expands the compressed projections to ordinary per-head q, k, v.
QKV mla_project(const Config& c, const Weights& L, const Vec& x, int pos) {
  const int rope_dim = c.n_rot, nope = c.head_k - rope_dim;
  const Vec q = L.has("attn_q_a.weight")
                    ? linear(L["attn_q_b.weight"], rms_norm(linear(L["attn_q_a.weight"], x),
                                                            &L["attn_q_a_norm.weight"], c.rms_eps))
                    : linear(L["attn_q.weight"], x);
  const Vec kv_a = linear(L["attn_kv_a_mqa.weight"], x);
  const size_t kv_lora = kv_a.size() - static_cast<size_t>(rope_dim);
  Vec k_pe = slice(kv_a, kv_lora, static_cast<size_t>(rope_dim));
  rope(c, k_pe, 1, rope_dim, 0, pos);
  const Vec c_kv = rms_norm(slice(kv_a, 0, kv_lora), &L["attn_kv_a_norm.weight"], c.rms_eps);
  const Vec kv = linear(L["attn_kv_b.weight"], c_kv);
  QKV r{q, Vec(q.size()), Vec(static_cast<size_t>(c.n_head * c.head_v))};
  rope(c, r.q, c.n_head, c.head_k, nope, pos);
  for (int h = 0; h < c.n_head; ++h) {
    const double* src = kv.data() + h * (nope + c.head_v);
    for (int i = 0; i < nope; ++i) r.k[size_t(h * c.head_k + i)] = src[i];
    for (int i = 0; i < rope_dim; ++i) r.k[size_t(h * c.head_k + nope + i)] = k_pe[size_t(i)];
    for (int i = 0; i < c.head_v; ++i) r.v[size_t(h * c.head_v + i)] = src[nope + i];
  }
  return r;
}

// Q, K, V of one position (RoPE applied): separate or fused projections, optional biases and q/k norms.
QKV project(const Config& c, const Weights& L, const Vec& x, int pos) {
  if (c.arch == "deepseek2") return mla_project(c, L, x, pos);
  const size_t nq = size_t(c.n_head * c.head_k), nk = size_t(c.n_head_kv * c.head_k);
  const size_t nv = size_t(c.n_head_kv * c.head_v);
  QKV r;
  if (L.has("attn_qkv.weight")) {
    const Vec qkv = linear(L["attn_qkv.weight"], x, L.opt("attn_qkv.bias"));
    r = {slice(qkv, 0, nq), slice(qkv, nq, nk), slice(qkv, nq + nk, nv)};
  } else {
    r = {linear(L["attn_q.weight"], x, L.opt("attn_q.bias")), linear(L["attn_k.weight"], x, L.opt("attn_k.bias")),
         linear(L["attn_v.weight"], x, L.opt("attn_v.bias"))};
  }
  if (c.arch == "olmo2") {  // whole-vector RMSNorm
    r.q = rms_norm(r.q, &L["attn_q_norm.weight"], c.rms_eps);
    r.k = rms_norm(r.k, &L["attn_k_norm.weight"], c.rms_eps);
  } else if (L.has("attn_q_norm.weight")) {  // per-head LayerNorm (command-r, stablelm); weight {head_k, n_heads}
    auto per_head = [&](Vec& v, int n_heads, const Tensor& w) {
      const size_t stride = w.rows > 1 ? size_t(c.head_k) : 0;
      for (int h = 0; h < n_heads; ++h) {
        const Vec y = layer_norm(slice(v, size_t(h * c.head_k), size_t(c.head_k)), w, nullptr, c.ln_eps, h * stride);
        std::copy(y.begin(), y.end(), v.begin() + h * c.head_k);
      }
    };
    per_head(r.q, c.n_head, L["attn_q_norm.weight"]);
    per_head(r.k, c.n_head_kv, L["attn_k_norm.weight"]);
  }
  rope(c, r.q, c.n_head, c.head_k, 0, pos);
  rope(c, r.k, c.n_head_kv, c.head_k, 0, pos);
  return r;
}

// Causal softmax attention of position t over positions 0..t; heads share K/V in groups (GQA).
Vec attend(const Config& c, int layer, const std::vector<QKV>& s, size_t t) {
  const bool windowed = c.sliding_window > 0 && (!c.window_even_layers_only || layer % 2 == 0);
  const int group = c.n_head / c.n_head_kv;
  Vec out(static_cast<size_t>(c.n_head * c.head_v), 0.0);
  for (int h = 0; h < c.n_head; ++h) {
    const size_t qo = size_t(h * c.head_k), ko = size_t(h / group * c.head_k), vo = size_t(h / group * c.head_v);
    Vec score(t + 1, -std::numeric_limits<double>::infinity());
    double max = -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j <= t; ++j) {
      if (windowed && t - j >= static_cast<size_t>(c.sliding_window)) continue;
      double d = 0;
      for (int i = 0; i < c.head_k; ++i) d += s[t].q[qo + i] * s[j].k[ko + i];
      d *= c.q_scale;
      if (c.attn_softcap > 0) d = c.attn_softcap * std::tanh(d / c.attn_softcap);
      score[j] = d;
      max = std::max(max, d);
    }
    double sum = 0;
    for (double& x : score) sum += (x = std::exp(x - max));
    for (size_t j = 0; j <= t; ++j) {
      for (int i = 0; i < c.head_v; ++i) out[size_t(h * c.head_v) + i] += score[j] / sum * s[j].v[vo + i];
    }
  }
  return out;
}

// The attention block's output (after attn_output) for every position.
std::vector<Vec> attention(const Config& c, const Weights& L, int layer, const std::vector<Vec>& x) {
  std::vector<QKV> s(x.size());
  for (size_t t = 0; t < x.size(); ++t) s[t] = project(c, L, x[t], static_cast<int>(t));
  std::vector<Vec> out(x.size());
  for (size_t t = 0; t < x.size(); ++t) {
    out[t] = linear(L["attn_output.weight"], attend(c, layer, s, t), L.opt("attn_output.bias"));
  }
  return out;
}

// Mamba's selective-scan mixer over every position. ssm_in x = [u | z]; u runs through a causal depthwise conv
// (tap d_conv-1 on the current position) + bias and SiLU; ssm_x u = [dt (dt_rank) | B (d_state) | C (d_state)]
// (jamba: each RMSNormed); delta = softplus(ssm_dt dt + bias); per channel and state h = h exp(delta A) +
// delta B u, y = C . h + D u; out = ssm_out (y * silu(z)). States start at zero.
std::vector<Vec> mamba_mixer(const Config& c, const GgufFile& f, const Weights& L, const std::vector<Vec>& x) {
  const Tensor &conv = L["ssm_conv1d.weight"], &A = L["ssm_a"], &D = L["ssm_d"];
  const size_t d_inner = conv.rows, d_conv = conv.n_in, d_state = A.n_in, dt_rank = L["ssm_dt.weight"].n_in;
  const bool weightless_norms = f.get_bool(c.arch + ".ssm.dt_b_c_rms").value_or(false);
  const bool norms = weightless_norms || L.has("ssm_dt_norm.weight");
  auto norm = [&](const Vec& v, const char* name) { return rms_norm(v, L.opt(name), c.rms_eps); };
  std::vector<Vec> u_hist, out;
  Vec h(d_inner * d_state, 0.0);
  for (const Vec& xt : x) {
    const Vec uz = linear(L["ssm_in.weight"], xt);
    u_hist.push_back(slice(uz, 0, d_inner));
    const size_t t = u_hist.size() - 1;
    Vec u(d_inner);
    for (size_t ch = 0; ch < d_inner; ++ch) {
      double s = L["ssm_conv1d.bias"].v[ch];
      for (size_t k = 0; k < d_conv; ++k) {
        if (t + k + 1 >= d_conv) s += conv.v[ch * d_conv + k] * u_hist[t + k + 1 - d_conv][ch];
      }
      u[ch] = silu(s);
    }
    const Vec dbc = linear(L["ssm_x.weight"], u);
    Vec dt = slice(dbc, 0, dt_rank), B = slice(dbc, dt_rank, d_state), C = slice(dbc, dt_rank + d_state, d_state);
    if (norms) {
      dt = norm(dt, "ssm_dt_norm.weight");
      B = norm(B, "ssm_b_norm.weight");
      C = norm(C, "ssm_c_norm.weight");
    }
    const Vec delta_raw = linear(L["ssm_dt.weight"], dt, L.opt("ssm_dt.bias"));
    Vec y(d_inner);
    for (size_t ch = 0; ch < d_inner; ++ch) {
      const double delta = delta_raw[ch] <= 20 ? std::log1p(std::exp(delta_raw[ch])) : delta_raw[ch];
      double acc = 0;
      for (size_t s = 0; s < d_state; ++s) {
        double& hs = h[ch * d_state + s];
        hs = hs * std::exp(delta * A.v[ch * d_state + s]) + delta * B[s] * u[ch];
        acc += hs * C[s];
      }
      y[ch] = (acc + D.v[ch] * u[ch]) * silu(uz[d_inner + ch]);
    }
    out.push_back(linear(L["ssm_out.weight"], y));
  }
  return out;
}

// down(act(gate x) * (up x)); phi3's ffn_up holds [gate | up].
Vec gated_ffn(const Config& c, const Tensor* gate, const Tensor& up, const Tensor& down, const Vec& x) {
  Vec u = linear(up, x), g;
  if (gate) {
    g = linear(*gate, x);
  } else {
    g = slice(u, 0, u.size() / 2);
    u = slice(u, u.size() / 2, u.size() / 2);
  }
  for (size_t i = 0; i < u.size(); ++i) u[i] *= activate(c.act, g[i]);
  return linear(down, u);
}

// down(act(up x + b)) + b: the ungated MLP of falcon, starcoder, starcoder2, gpt-neox (biases optional).
Vec plain_mlp(const Config& c, const Weights& L, const Vec& x) {
  Vec u = linear(L["ffn_up.weight"], x, L.opt("ffn_up.bias"));
  for (double& a : u) a = activate(c.act, a);
  return linear(L["ffn_down.weight"], u, L.opt("ffn_down.bias"));
}

// Router probabilities (softmax, or sigmoid for deepseek gating func 2) over all experts, the top-k experts
// weighted by their probabilities (renormalized over the k when the family does), times expert_scale; plus the
// shared experts (qwen2moe: times sigmoid(ffn_gate_inp_shexp . x); deepseek2: ungated).
Vec moe(const Config& c, const Weights& L, const Vec& x) {
  const Vec logits = linear(L["ffn_gate_inp.weight"], x);
  Vec p(logits.size());
  if (c.expert_sigmoid) {
    for (size_t e = 0; e < p.size(); ++e) p[e] = 1.0 / (1.0 + std::exp(-logits[e]));
  } else {
    const double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (size_t e = 0; e < p.size(); ++e) sum += (p[e] = std::exp(logits[e] - max));
    for (double& a : p) a /= sum;
  }
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  order.resize(static_cast<size_t>(c.expert_used));
  double wsum = 0;
  for (size_t e : order) wsum += p[e];
  Vec out(x.size(), 0.0);
  for (size_t e : order) {
    const Tensor gate = expert(L["ffn_gate_exps.weight"], e);
    const Vec y = gated_ffn(c, &gate, expert(L["ffn_up_exps.weight"], e), expert(L["ffn_down_exps.weight"], e), x);
    const double w = p[e] / (c.expert_renorm ? wsum : 1.0) * c.expert_scale;
    for (size_t i = 0; i < out.size(); ++i) out[i] += w * y[i];
  }
  if (L.has("ffn_up_shexp.weight")) {
    const Vec y = gated_ffn(c, &L["ffn_gate_shexp.weight"], L["ffn_up_shexp.weight"], L["ffn_down_shexp.weight"], x);
    const double g = L.has("ffn_gate_inp_shexp.weight")
                         ? 1.0 / (1.0 + std::exp(-linear(L["ffn_gate_inp_shexp.weight"], x)[0]))
                         : 1.0;
    for (size_t i = 0; i < out.size(); ++i) out[i] += g * y[i];
  }
  return out;
}

Vec ffn(const Config& c, const Weights& L, int layer, const Vec& x) {
  if (L.has("ffn_gate_inp.weight") && layer >= c.dense_lead) return moe(c, L, x);
  if (L.has("ffn_gate.weight")) return gated_ffn(c, &L["ffn_gate.weight"], L["ffn_up.weight"], L["ffn_down.weight"], x);
  if (c.arch == "phi3") return gated_ffn(c, nullptr, L["ffn_up.weight"], L["ffn_down.weight"], x);
  return plain_mlp(c, L, x);
}

Vec norm(const Config& c, const Weights& W, const std::string& name, const Vec& x) {
  if (!c.layer_norm) return rms_norm(x, &W[name + ".weight"], c.rms_eps);
  return layer_norm(x, W[name + ".weight"], W.opt(name + ".bias"), c.ln_eps);
}

// One block: x + mix(n1 x) + ffn(n2 x) when parallel, else h = x + post(mix(n1 x)); h + post(ffn(n2 h)).
// Missing norms are skipped (olmo2 has no pre-norms, mamba no FFN).
void block(const Config& c, const GgufFile& f, const Weights& L, int layer, std::vector<Vec>& x) {
  const bool falcon40b = L.has("attn_norm_2.weight");
  const std::string mix_norm = falcon40b ? "attn_norm_2" : "attn_norm";
  std::vector<Vec> h(x.size());
  for (size_t t = 0; t < x.size(); ++t) h[t] = L.has(mix_norm + ".weight") ? norm(c, L, mix_norm, x[t]) : x[t];
  const std::vector<Vec> mixed = L.has("ssm_in.weight") ? mamba_mixer(c, f, L, h) : attention(c, L, layer, h);
  const bool has_ffn = L.has("ffn_up.weight") || L.has("ffn_gate_inp.weight");
  for (size_t t = 0; t < x.size(); ++t) {
    Vec m = mixed[t];
    if (L.has("post_attention_norm.weight")) m = norm(c, L, "post_attention_norm", m);
    if (c.parallel) {
      // falcon 40B: attn_norm feeds the MLP; gpt-neox: ffn_norm; otherwise the attention's input.
      const Vec n2 = falcon40b                  ? norm(c, L, "attn_norm", x[t])
                     : L.has("ffn_norm.weight") ? norm(c, L, "ffn_norm", x[t])
                                                : h[t];
      x[t] = add(add(x[t], m), ffn(c, L, layer, n2));
      continue;
    }
    x[t] = add(x[t], m);
    if (!has_ffn) continue;
    Vec y = ffn(c, L, layer, L.has("ffn_norm.weight") ? norm(c, L, "ffn_norm", x[t]) : x[t]);
    if (L.has("post_ffw_norm.weight")) y = norm(c, L, "post_ffw_norm", y);
    x[t] = add(x[t], y);
  }
}

}  // namespace

std::vector<double> reference_nll(const GgufFile& f, std::span<const TokenId> input,
                                  std::span<const ScoredTarget> targets) {
  const Weights g = load_weights(f, "");
  const Config c = read_config(f, g, input.size());
  const Tensor& embd = g["token_embd.weight"];
  const Tensor& out = g.has("output.weight") ? g["output.weight"] : embd;
  const size_t T = input.size(), d = embd.n_in;

  std::vector<Vec> x(T);  // the residual stream of every position
  for (size_t t = 0; t < T; ++t) {
    if (input[t] < 0 || static_cast<size_t>(input[t]) >= embd.rows) throw std::runtime_error("reference: bad token");
    x[t] = slice(embd.v, static_cast<size_t>(input[t]) * d, d);
    if (c.embd_scale) for (double& a : x[t]) a *= std::sqrt(static_cast<double>(c.n_embd));
    if (g.has("position_embd.weight")) x[t] = add(x[t], slice(g["position_embd.weight"].v, t * d, d));
  }
  for (int l = 0; l < c.n_layer; ++l) block(c, f, load_weights(f, "blk." + std::to_string(l) + "."), l, x);

  std::vector<double> nll;
  for (const ScoredTarget& st : targets) {
    if (st.position >= T) throw std::runtime_error("reference: bad position");
    Vec logits = linear(out, norm(c, g, "output_norm", x[st.position]));
    for (double& z : logits) {
      z *= c.logit_scale;
      if (c.final_softcap > 0) z = c.final_softcap * std::tanh(z / c.final_softcap);
    }
    const double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double z : logits) sum += std::exp(z - max);
    nll.push_back(max + std::log(sum) - logits[static_cast<size_t>(st.target)]);
  }
  return nll;
}

}  // namespace lmzip::test

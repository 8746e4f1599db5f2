#include "model/reference_forward.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "lmzip/kernels/dequant.h"

namespace lmzip::test {
namespace {

using Vec = std::vector<double>;

// A tensor as doubles, row-major [rows][n_in] (n_in = ne[0]).
struct Tensor {
  Vec v;
  size_t n_in = 0, rows = 0;
};

Tensor load(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (t == nullptr) throw std::runtime_error("reference: missing " + name);
  Tensor out;
  out.n_in = t->dims[0];
  out.rows = t->n_elements / out.n_in;
  const size_t row_bytes = *ggml_bytes(t->type, out.n_in);
  out.v.resize(t->n_elements);
  for (size_t r = 0; r < out.rows; ++r) {
    for (size_t i = 0; i < out.n_in; ++i) {
      out.v[r * out.n_in + i] = dequantize_element_reference(t->type, t->data + r * row_bytes, i);
    }
  }
  return out;
}

bool has(const GgufFile& f, const std::string& name) { return f.find_tensor(name) != nullptr; }

// y = W x (+ b)
Vec matvec(const Tensor& w, const Vec& x, const Vec* bias = nullptr) {
  Vec y(w.rows);
  for (size_t o = 0; o < w.rows; ++o) {
    double s = bias ? (*bias)[o] : 0.0;
    for (size_t i = 0; i < w.n_in; ++i) s += w.v[o * w.n_in + i] * x[i];
    y[o] = s;
  }
  return y;
}

Vec rmsnorm(const Vec& x, const Tensor& w, double eps) {
  double ss = 0;
  for (double a : x) ss += a * a;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w.v[i];
  return y;
}

struct Hparams {
  int n_embd, n_layer, n_head, n_head_kv, n_ff, n_rot, head_dim;
  double eps, base, linear_scale = 1.0;
  bool neox;
};

Hparams read_hparams(const GgufFile& f) {
  const std::string a = f.architecture();
  Hparams h;
  h.n_embd = static_cast<int>(f.require_int(a + ".embedding_length"));
  h.n_layer = static_cast<int>(f.require_int(a + ".block_count"));
  h.n_head = static_cast<int>(f.require_int(a + ".attention.head_count"));
  h.n_head_kv = static_cast<int>(f.get_int(a + ".attention.head_count_kv").value_or(h.n_head));
  h.n_ff = static_cast<int>(f.require_int(a + ".feed_forward_length"));
  h.head_dim = h.n_embd / h.n_head;
  h.n_rot = static_cast<int>(f.get_int(a + ".rope.dimension_count").value_or(h.head_dim));
  h.eps = f.get_double(a + ".attention.layer_norm_rms_epsilon").value_or(1e-5);
  h.base = f.get_double(a + ".rope.freq_base").value_or(10000.0);
  h.linear_scale = f.get_double(a + ".rope.scaling.factor").value_or(1.0);  // linear: position / factor
  h.neox = a == "qwen2";
  return h;
}

// Rotates each head of x (n_heads * head_dim) for position pos.
void rope(Vec& x, int n_heads, const Hparams& h, int pos, const Vec& factors) {
  for (int head = 0; head < n_heads; ++head) {
    double* v = x.data() + head * h.head_dim;
    for (int i = 0; i < h.n_rot / 2; ++i) {
      double theta = pos / h.linear_scale * std::pow(h.base, -2.0 * i / h.n_rot);
      if (!factors.empty()) theta /= factors[static_cast<size_t>(i)];
      const int a = h.neox ? i : 2 * i, b = h.neox ? i + h.n_rot / 2 : 2 * i + 1;
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
      v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

}  // namespace

std::vector<double> reference_nll(const GgufFile& f, std::span<const TokenId> input,
                                  std::span<const ScoredTarget> targets) {
  const Hparams h = read_hparams(f);
  const Tensor embd = load(f, "token_embd.weight");
  const Tensor out = has(f, "output.weight") ? load(f, "output.weight") : embd;
  const Tensor out_norm = load(f, "output_norm.weight");
  const Vec factors = has(f, "rope_freqs.weight") ? load(f, "rope_freqs.weight").v : Vec{};
  const size_t T = input.size();

  std::vector<Vec> x(T);  // the residual stream of every position
  for (size_t t = 0; t < T; ++t) {
    x[t].assign(embd.v.begin() + static_cast<long>(input[t] * embd.n_in),
                embd.v.begin() + static_cast<long>((input[t] + 1) * embd.n_in));
  }
  for (int l = 0; l < h.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const Tensor attn_norm = load(f, p + "attn_norm.weight"), wq = load(f, p + "attn_q.weight"),
                 wk = load(f, p + "attn_k.weight"), wv = load(f, p + "attn_v.weight"),
                 wo = load(f, p + "attn_output.weight"), ffn_norm = load(f, p + "ffn_norm.weight"),
                 wg = load(f, p + "ffn_gate.weight"), wu = load(f, p + "ffn_up.weight"),
                 wd = load(f, p + "ffn_down.weight");
    const bool bias = has(f, p + "attn_q.bias");
    const Vec bq = bias ? load(f, p + "attn_q.bias").v : Vec{}, bk = bias ? load(f, p + "attn_k.bias").v : Vec{},
              bv = bias ? load(f, p + "attn_v.bias").v : Vec{};
    std::vector<Vec> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      const Vec xn = rmsnorm(x[t], attn_norm, h.eps);
      q[t] = matvec(wq, xn, bias ? &bq : nullptr);
      k[t] = matvec(wk, xn, bias ? &bk : nullptr);
      v[t] = matvec(wv, xn, bias ? &bv : nullptr);
      rope(q[t], h.n_head, h, static_cast<int>(t), factors);
      rope(k[t], h.n_head_kv, h, static_cast<int>(t), factors);
    }
    for (size_t t = 0; t < T; ++t) {
      Vec attn(static_cast<size_t>(h.n_head * h.head_dim), 0.0);
      for (int head = 0; head < h.n_head; ++head) {
        const size_t kv_off = static_cast<size_t>(head / (h.n_head / h.n_head_kv) * h.head_dim);
        const size_t q_off = static_cast<size_t>(head * h.head_dim);
        Vec score(t + 1);
        double max = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double s = 0;
          for (int i = 0; i < h.head_dim; ++i) s += q[t][q_off + i] * k[j][kv_off + i];
          score[j] = s / std::sqrt(static_cast<double>(h.head_dim));
          max = std::max(max, score[j]);
        }
        double sum = 0;
        for (double& s : score) sum += (s = std::exp(s - max));
        for (size_t j = 0; j <= t; ++j) {
          for (int i = 0; i < h.head_dim; ++i) attn[q_off + i] += score[j] / sum * v[j][kv_off + i];
        }
      }
      const Vec o = matvec(wo, attn);
      for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
      const Vec xn = rmsnorm(x[t], ffn_norm, h.eps);
      Vec g = matvec(wg, xn);
      const Vec u = matvec(wu, xn);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = matvec(wd, g);
      for (size_t i = 0; i < d.size(); ++i) x[t][i] += d[i];
    }
  }
  std::vector<double> nll;
  for (const ScoredTarget& st : targets) {
    const Vec logits = matvec(out, rmsnorm(x[st.position], out_norm, h.eps));
    double max = -1e300;
    for (double z : logits) max = std::max(max, z);
    double sum = 0;
    for (double z : logits) sum += std::exp(z - max);
    nll.push_back(max + std::log(sum) - logits[static_cast<size_t>(st.target)]);
  }
  return nll;
}

}  // namespace lmzip::test

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/device/device.h"
#include "lmzip/kernels/ops.h"

namespace lmzip {
namespace {

[[noreturn]] void unsupported(const ModelConfig& c, const std::string& feature) {
  throw Error("--device cuda: the CUDA engine does not run " + feature + " (family " + c.architecture +
              "); it runs dense llama and qwen2 decoders (RMSNorm, split Q/K/V with optional biases, RoPE, "
              "grouped-query causal attention, SwiGLU, sequential residual); the CPU engine (--device cpu) runs "
              "this model");
}

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

}  // namespace

void check_cuda_support(const Model& model) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  if (c.architecture != "llama" && c.architecture != "qwen2") unsupported(c, "this family");
  if (c.n_expert > 0) unsupported(c, "sparse experts");
  if (c.output_norm != NormKind::Rms || !w.output_norm_b.empty()) unsupported(c, "a non-RMS output norm");
  if (c.embedding_scale > 0) unsupported(c, "an embedding scale");
  if (c.learned_positions) unsupported(c, "learned position embeddings");
  if (c.logit_scale != 1) unsupported(c, "a logit scale");
  if (c.final_softcap > 0) unsupported(c, "a final logit soft-cap");
  if (c.rope == RopeKind::None) unsupported(c, "attention without RoPE");
  if (!w.rope_factors_long.empty() || !w.rope_factors_short.empty()) unsupported(c, "LongRoPE factors");
  if (c.v_head_dim != 0 && c.v_head_dim != c.head_dim) unsupported(c, "value heads of another width");
  if (c.n_rot % 2 != 0 || c.n_rot > c.head_dim) unsupported(c, "an odd or oversized rope dimension count");
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0) unsupported(c, "this head grouping");
  for (size_t il = 0; il < c.layers.size(); ++il) {
    const LayerSpec& s = c.layers[il];
    const LayerWeights& L = w.layers[il];
    const std::string at = " (layer " + std::to_string(il) + ")";
    if (s.mixer != MixerKind::Attention) unsupported(c, "a non-attention mixer" + at);
    if (s.norm != NormKind::Rms || !s.pre_norm || s.post_norms) unsupported(c, "this norm layout" + at);
    if (s.residual != Residual::Sequential) unsupported(c, "a parallel residual" + at);
    if (s.attention.fused_qkv) unsupported(c, "a fused QKV projection" + at);
    if (s.attention.qk_norm) unsupported(c, "Q/K norms" + at);
    if (s.attention.sliding_window > 0) unsupported(c, "sliding-window attention" + at);
    if (s.attention.softcap > 0) unsupported(c, "attention soft-capping" + at);
    if (s.ffn.kind != FfnKind::Gated || s.ffn.act != Activation::Silu || s.ffn.fused_gate_up) {
      unsupported(c, "this feed-forward block (only SwiGLU)" + at);
    }
    if (!L.bo.empty() || !L.attn_norm_b.empty() || !L.ffn_norm_b.empty() || !L.b_up.empty() || !L.b_down.empty()) {
      unsupported(c, "output, norm or FFN biases" + at);
    }
    if (!L.wq.data || !L.wk.data || !L.wv.data || !L.wo.data || !L.w_gate.data || !L.w_up.data || !L.w_down.data) {
      unsupported(c, "a layer without the split Q/K/V/O and gate/up/down matrices" + at);
    }
  }
}

lmzip_cuda_config make_cuda_config(const Model& model, const CudaOptions& o) {
  const ModelConfig& c = model.config();
  if (o.max_tokens < 1) throw Error("--device cuda: the window length must be positive");
  if (o.max_seq < 1) throw Error("--device cuda: the batch must hold at least one window");
  lmzip_cuda_config k{};
  k.abi_version = LMZIP_CUDA_ABI_VERSION;
  k.n_vocab = c.n_vocab;
  k.n_embd = c.n_embd;
  k.n_layer = c.n_layer;
  k.n_head = c.n_head;
  k.n_head_kv = c.n_head_kv;
  k.head_dim = c.head_dim;
  k.n_ff = c.n_ff;
  k.n_rot = c.n_rot;
  k.rope_kind = c.rope == RopeKind::Neox ? LMZIP_CUDA_ROPE_NEOX : LMZIP_CUDA_ROPE_NORMAL;
  k.norm_eps = c.norm_eps;
  k.attn_scale = c.attn_scale;
  k.has_qkv_bias = 0;
  for (const LayerWeights& L : model.weights().layers) {
    if (!L.bq.empty() || !L.bk.empty() || !L.bv.empty()) k.has_qkv_bias = 1;
  }
  k.compute = o.compute == DeviceCompute::Fp32 ? LMZIP_CUDA_FP32 : LMZIP_CUDA_BF16;
  k.max_seq = o.max_seq;
  k.max_tokens = o.max_tokens;
  k.device = o.device;
  return k;
}

void export_cuda_tensors(const Model& model, const lmzip_cuda_config& k, const CudaTensorSink& fn) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  std::vector<float> buf;
  auto matrix = [&](int32_t layer, int32_t id, const WeightView& v) {
    buf.resize(static_cast<size_t>(v.n_in * v.n_out));
    v.dequantize_rows(0, v.n_out, buf.data());
    fn(layer, id, v.name, buf);
  };
  auto vec = [&](int32_t layer, int32_t id, const std::string& name, const std::vector<float>& v, size_t n) {
    if (v.empty()) {
      buf.assign(n, 0.0f);
      fn(layer, id, name + " (absent: zeros)", buf);
    } else {
      LMZIP_CHECK(v.size() == n, "export_cuda_tensors: " + name + " has the wrong size");
      fn(layer, id, name, v);
    }
  };
  const size_t d = static_cast<size_t>(c.n_embd), qd = static_cast<size_t>(c.q_dim()),
               kvd = static_cast<size_t>(c.kv_dim());
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerWeights& L = w.layers[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    vec(il, LMZIP_CUDA_T_ATTN_NORM, p + "attn_norm.weight", L.attn_norm, d);
    matrix(il, LMZIP_CUDA_T_WQ, L.wq);
    matrix(il, LMZIP_CUDA_T_WK, L.wk);
    matrix(il, LMZIP_CUDA_T_WV, L.wv);
    if (k.has_qkv_bias) {
      vec(il, LMZIP_CUDA_T_BQ, p + "attn_q.bias", L.bq, qd);
      vec(il, LMZIP_CUDA_T_BK, p + "attn_k.bias", L.bk, kvd);
      vec(il, LMZIP_CUDA_T_BV, p + "attn_v.bias", L.bv, kvd);
    }
    matrix(il, LMZIP_CUDA_T_WO, L.wo);
    vec(il, LMZIP_CUDA_T_FFN_NORM, p + "ffn_norm.weight", L.ffn_norm, d);
    matrix(il, LMZIP_CUDA_T_W_GATE, L.w_gate);
    matrix(il, LMZIP_CUDA_T_W_UP, L.w_up);
    matrix(il, LMZIP_CUDA_T_W_DOWN, L.w_down);
  }
  matrix(-1, LMZIP_CUDA_T_TOKEN_EMBD, w.token_embd);
  vec(-1, LMZIP_CUDA_T_OUTPUT_NORM, "output_norm.weight", w.output_norm, d);
  matrix(-1, LMZIP_CUDA_T_OUTPUT, w.output);
  // The CPU engine's table for positions 0..max_tokens-1 (the same frequencies, factors and scaling).
  RopeTable t = make_rope_table(0, k.max_tokens, c.n_rot, c.rope_freq_base, w.rope_freq_factors, c.rope_freq_scale,
                                c.rope_attn_factor, RopeYarn{.n_ctx_orig = c.rope_yarn ? c.rope_orig_ctx : 0});
  fn(-1, LMZIP_CUDA_T_ROPE_COS, "rope_cos", t.cos);
  fn(-1, LMZIP_CUDA_T_ROPE_SIN, "rope_sin", t.sin);
}

std::vector<std::string> cuda_plugin_candidates(const std::string& explicit_path) {
  if (!explicit_path.empty()) return {explicit_path};
  if (const char* env = std::getenv("LMZIP_CUDA_PLUGIN"); env && *env) return {env};
  std::vector<std::string> out;
  const std::string dir = exe_dir();
  if (!dir.empty()) {
    out.push_back(dir + "/liblmzip_cuda.so");
    out.push_back(dir + "/../lib/liblmzip_cuda.so");
  }
  out.push_back("liblmzip_cuda.so");  // the dynamic linker's search path (LD_LIBRARY_PATH, ldconfig)
  return out;
}

struct CudaEngine::Plugin {
  void* handle = nullptr;
  std::string path;
  lmzip_cuda_abi_version_fn abi_version = nullptr;
  lmzip_cuda_last_error_fn last_error = nullptr;
  lmzip_cuda_device_info_fn device_info = nullptr;
  lmzip_cuda_create_fn create = nullptr;
  lmzip_cuda_upload_fn upload = nullptr;
  lmzip_cuda_score_fn score = nullptr;
  lmzip_cuda_destroy_fn destroy = nullptr;
  ~Plugin() {
    if (handle) dlclose(handle);
  }
  void check(int rc, const char* what) const {
    if (rc != 0) {
      const char* m = last_error ? last_error() : nullptr;
      throw Error(std::string("--device cuda: ") + what + " failed: " + (m && *m ? m : "(no message)"));
    }
  }
};

std::unique_ptr<CudaEngine> CudaEngine::create(const Model& model, const CudaOptions& o) {
  check_cuda_support(model);
  const lmzip_cuda_config config = make_cuda_config(model, o);
  auto plugin = std::make_unique<Plugin>();
  std::string tried;
  for (const std::string& cand : cuda_plugin_candidates(o.plugin)) {
    dlerror();
    plugin->handle = dlopen(cand.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (plugin->handle) {
      plugin->path = cand;
      break;
    }
    const char* err = dlerror();
    tried += "\n  " + cand + ": " + (err ? err : "not loadable");
  }
  if (!plugin->handle) {
    throw Error("--device cuda: the CUDA plugin liblmzip_cuda.so could not be loaded; tried:" + tried +
                "\nbuild it on a machine with the CUDA toolkit (cmake -DLMZIP_CUDA=ON, or cmake -S src/cuda) and put "
                "it next to lmzip, on the library path, or in $LMZIP_CUDA_PLUGIN; --device cpu needs no GPU");
  }
  auto sym = [&](const char* name) {
    void* f = dlsym(plugin->handle, name);
    if (!f) throw Error("--device cuda: " + plugin->path + " is not an lmzip CUDA plugin (no symbol " + name + ")");
    return f;
  };
  plugin->abi_version = reinterpret_cast<lmzip_cuda_abi_version_fn>(sym("lmzip_cuda_abi_version"));
  plugin->last_error = reinterpret_cast<lmzip_cuda_last_error_fn>(sym("lmzip_cuda_last_error"));
  plugin->device_info = reinterpret_cast<lmzip_cuda_device_info_fn>(sym("lmzip_cuda_device_info"));
  plugin->create = reinterpret_cast<lmzip_cuda_create_fn>(sym("lmzip_cuda_create"));
  plugin->upload = reinterpret_cast<lmzip_cuda_upload_fn>(sym("lmzip_cuda_upload"));
  plugin->score = reinterpret_cast<lmzip_cuda_score_fn>(sym("lmzip_cuda_score"));
  plugin->destroy = reinterpret_cast<lmzip_cuda_destroy_fn>(sym("lmzip_cuda_destroy"));
  if (plugin->abi_version() != LMZIP_CUDA_ABI_VERSION) {
    throw Error("--device cuda: " + plugin->path + " has ABI version " + std::to_string(plugin->abi_version()) +
                ", this lmzip needs " + std::to_string(LMZIP_CUDA_ABI_VERSION) + ": rebuild the plugin");
  }
  lmzip_cuda_device_props info{};
  plugin->check(plugin->device_info(o.device, &info), "finding a CUDA GPU");

  std::unique_ptr<CudaEngine> e(new CudaEngine());
  e->plugin_ = std::move(plugin);
  e->n_vocab_ = config.n_vocab;
  e->max_tokens_ = config.max_tokens;
  e->max_seq_ = config.max_seq;
  e->description_ = std::string("cuda ") + info.name + (o.compute == DeviceCompute::Fp32 ? " fp32" : " bf16");
  e->plugin_->check(e->plugin_->create(&config, &e->engine_), "creating the engine");
  export_cuda_tensors(model, config, [&](int32_t layer, int32_t tensor, const std::string& name,
                                         std::span<const float> data) {
    const int rc = e->plugin_->upload(e->engine_, layer, tensor, data.data(), static_cast<int64_t>(data.size()));
    e->plugin_->check(rc, ("uploading " + name).c_str());
  });
  return e;
}

CudaEngine::~CudaEngine() {
  if (engine_ && plugin_ && plugin_->destroy) plugin_->destroy(engine_);
}

std::vector<double> CudaEngine::score(std::span<const TokenId> input, std::span<const ScoredTarget> targets) {
  Window w{input, targets};
  return std::move(score_batch(std::span<const Window>(&w, 1))[0]);
}

std::vector<std::vector<double>> CudaEngine::score_batch(std::span<const Window> windows) {
  if (windows.empty()) return {};
  if (static_cast<int>(windows.size()) > max_seq_) throw Error("cuda: more windows than the engine's batch");
  const size_t n = windows[0].input.size();
  if (n < 1 || n > static_cast<size_t>(max_tokens_)) {
    throw Error("cuda: a window of " + std::to_string(n) + " tokens (the engine takes 1.." +
                std::to_string(max_tokens_) + ")");
  }
  std::vector<int32_t> tokens, rows, targets;
  tokens.reserve(windows.size() * n);
  for (size_t s = 0; s < windows.size(); ++s) {
    const Window& w = windows[s];
    if (w.input.size() != n) throw Error("cuda: the windows of one batch must have one length");
    for (TokenId t : w.input) {
      if (t < 0 || t >= static_cast<TokenId>(n_vocab_)) throw Error("token id " + std::to_string(t) + " outside the vocabulary");
      tokens.push_back(static_cast<int32_t>(t));
    }
    for (const ScoredTarget& t : w.targets) {
      if (t.position >= n) throw Error("cuda: a target position outside its window");
      if (t.target < 0 || t.target >= static_cast<TokenId>(n_vocab_)) {
        throw Error("target token id " + std::to_string(t.target) + " outside the vocabulary");
      }
      rows.push_back(static_cast<int32_t>(s * n + t.position));
      targets.push_back(static_cast<int32_t>(t.target));
    }
  }
  std::vector<double> nats(rows.size());
  lmzip_cuda_request q{};
  q.n_seq = static_cast<int32_t>(windows.size());
  q.n_tokens = static_cast<int32_t>(n);
  q.tokens = tokens.data();
  q.n_targets = static_cast<int32_t>(rows.size());
  q.target_row = rows.data();
  q.target_token = targets.data();
  q.nats_out = nats.data();
  plugin_->check(plugin_->score(engine_, &q), "scoring");
  std::vector<std::vector<double>> out(windows.size());
  size_t k = 0;
  for (size_t s = 0; s < windows.size(); ++s) {
    out[s].assign(nats.begin() + static_cast<ptrdiff_t>(k),
                  nats.begin() + static_cast<ptrdiff_t>(k + windows[s].targets.size()));
    k += windows[s].targets.size();
  }
  return out;
}

}  // namespace lmzip

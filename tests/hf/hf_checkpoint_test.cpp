// Hugging Face checkpoints read in place. The GGUF fixtures of every family (../shared/archs, whose numbers
// llama.cpp produced) are written back as transformers lays its checkpoints out — config.json with its key
// names, safetensors with its tensor names, Llama's Q/K un-permuted, Falcon's grouped and GPT-NeoX's per-head
// fused QKV, Gemma's norms as w for (1 + w), Mamba's A_log, experts one tensor each — and the checkpoint must
// score the same tokens as the GGUF to 1e-6.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/format/safetensors.h"
#include "lmzip/hf/checkpoint.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/synth.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<float> floats_of(const GgufTensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  dequantize_row(t.type, t.data, v.data(), v.size());
  return v;
}

std::string bytes_of(const std::vector<float>& v, SafetensorsDtype dtype) {
  if (dtype == SafetensorsDtype::F32) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.data(), s.size());
    return s;
  }
  std::string s(v.size() * 2, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = dtype == SafetensorsDtype::BF16 ? float_to_bf16(v[i]) : float_to_fp16(v[i]);
    std::memcpy(s.data() + 2 * i, &h, 2);
  }
  return s;
}

// Rows of `v` (each `width` wide) reordered: out row i = in row from[i].
std::vector<float> take_rows(const std::vector<float>& v, int64_t width, const std::vector<int64_t>& from) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < from.size(); ++i) {
    std::copy_n(v.begin() + from[i] * width, width, out.begin() + static_cast<int64_t>(i) * width);
  }
  return out;
}

// llama.cpp's permute() for RoPE pairs undone: GGUF row (h, 2i + j) is Hugging Face row (h, j * hd/2 + i).
std::vector<int64_t> unpermute_order(int64_t n_head, int64_t head_dim) {
  std::vector<int64_t> from;
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < head_dim / 2; ++i) from.push_back(h * head_dim + 2 * i + j);
    }
  }
  return from;
}

int64_t meta_int(const GgufFile& g, const std::string& key, int64_t fallback = -1) {
  if (const auto* v = g.find(key); v != nullptr && v->type() == GgufType::ARRAY) {
    int64_t common = 0;
    for (uint64_t i = 0; i < v->array_size(); ++i) common = std::max(common, v->array_int(i));
    return common;
  }
  return g.get_int(key).value_or(fallback);
}
double meta_num(const GgufFile& g, const std::string& key, double fallback) { return g.get_double(key).value_or(fallback); }

// config.json as transformers writes it for `cls`, from the GGUF's metadata.
json hf_config(const GgufFile& g, const std::string& cls) {
  const std::string a = g.architecture();
  const int64_t n_embd = meta_int(g, a + ".embedding_length"), n_head = meta_int(g, a + ".attention.head_count", 0);
  const int64_t n_kv = meta_int(g, a + ".attention.head_count_kv", n_head);
  const int64_t head_dim = meta_int(g, a + ".attention.key_length", n_head ? n_embd / n_head : 0);
  const int64_t n_rot = meta_int(g, a + ".rope.dimension_count", head_dim);
  const bool tied = g.find_tensor("output.weight") == nullptr;
  json c;
  c["architectures"] = {cls};
  c["vocab_size"] = g.find_tensor("token_embd.weight")->dims[1];
  c["tie_word_embeddings"] = tied;
  c["torch_dtype"] = "float32";
  const double rms = meta_num(g, a + ".attention.layer_norm_rms_epsilon", 1e-5);
  const double ln = meta_num(g, a + ".attention.layer_norm_epsilon", 1e-5);
  auto decoder = [&]() {
    c["hidden_size"] = n_embd;
    c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["num_key_value_heads"] = n_kv;
    c["max_position_embeddings"] = meta_int(g, a + ".context_length");
    c["rope_theta"] = meta_num(g, a + ".rope.freq_base", 10000);
    if (head_dim != n_embd / n_head) c["head_dim"] = head_dim;
  };
  if (cls == "LlamaForCausalLM" || cls == "MixtralForCausalLM" || cls == "Qwen2ForCausalLM" ||
      cls == "Qwen2MoeForCausalLM" || cls == "GemmaForCausalLM" || cls == "Gemma2ForCausalLM" ||
      cls == "Phi3ForCausalLM") {
    decoder();
    c["rms_norm_eps"] = rms;
  }
  if (cls == "MixtralForCausalLM") {
    c["num_local_experts"] = meta_int(g, a + ".expert_count");
    c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
    c["sliding_window"] = nullptr;
  } else if (cls == "Qwen2MoeForCausalLM") {
    c["num_experts"] = meta_int(g, a + ".expert_count");
    c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
    c["moe_intermediate_size"] = meta_int(g, a + ".expert_feed_forward_length");
    c["shared_expert_intermediate_size"] = meta_int(g, a + ".expert_shared_feed_forward_length");
    c["norm_topk_prob"] = false;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = json::array();
  } else if (cls == "Gemma2ForCausalLM") {
    c["attn_logit_softcapping"] = meta_num(g, a + ".attn_logit_softcapping", 0);
    c["final_logit_softcapping"] = meta_num(g, a + ".final_logit_softcapping", 0);
    c["sliding_window"] = meta_int(g, a + ".attention.sliding_window");
    c["query_pre_attn_scalar"] = head_dim;
  } else if (cls == "Phi3ForCausalLM") {
    c["sliding_window"] = meta_int(g, a + ".attention.sliding_window");
    c["original_max_position_embeddings"] = meta_int(g, a + ".rope.scaling.original_context_length");
    if (const GgufTensorInfo* lf = g.find_tensor("rope_factors_long.weight")) {
      c["rope_scaling"] = {{"type", "longrope"},
                           {"long_factor", floats_of(*lf)},
                           {"short_factor", floats_of(*g.find_tensor("rope_factors_short.weight"))}};
    }
  } else if (cls == "QWenLMHeadModel") {
    c["hidden_size"] = n_embd;
    c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["kv_channels"] = head_dim;
    c["layer_norm_epsilon"] = rms;
    c["rotary_emb_base"] = meta_num(g, a + ".rope.freq_base", 10000);
    c["rotary_pct"] = 1.0;
    c["seq_length"] = meta_int(g, a + ".context_length");
    c["max_position_embeddings"] = meta_int(g, a + ".context_length");
  } else if (cls == "FalconForCausalLM") {
    const bool new_decoder = g.find_tensor("blk.0.attn_norm_2.weight") != nullptr;
    c["hidden_size"] = n_embd;
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["num_kv_heads"] = n_kv;
    c["new_decoder_architecture"] = new_decoder;
    c["multi_query"] = n_kv == 1;
    c["parallel_attn"] = true;
    c["bias"] = g.find_tensor("blk.0.attn_qkv.bias") != nullptr;
    c["alibi"] = false;
    c["layer_norm_epsilon"] = ln;
    c["ffn_hidden_size"] = meta_int(g, a + ".feed_forward_length");
  } else if (cls == "GPTBigCodeForCausalLM") {
    c["n_embd"] = n_embd;
    c["n_layer"] = meta_int(g, a + ".block_count");
    c["n_head"] = n_head;
    c["n_inner"] = meta_int(g, a + ".feed_forward_length");
    c["n_positions"] = meta_int(g, a + ".context_length");
    c["multi_query"] = true;
    c["layer_norm_epsilon"] = ln;
  } else if (cls == "Starcoder2ForCausalLM" || cls == "StableLmForCausalLM") {
    decoder();
    c[cls == "Starcoder2ForCausalLM" ? "norm_epsilon" : "layer_norm_eps"] = ln;
    if (cls == "StableLmForCausalLM") {
      c["partial_rotary_factor"] = static_cast<double>(n_rot) / static_cast<double>(head_dim);
      c["use_qkv_bias"] = g.find_tensor("blk.0.attn_q.bias") != nullptr;
      c["use_parallel_residual"] = g.find_tensor("blk.0.ffn_norm.weight") == nullptr;
    } else {
      c["use_bias"] = true;
    }
  } else if (cls == "GPTNeoXForCausalLM") {
    decoder();
    c["layer_norm_eps"] = ln;
    c["rotary_pct"] = static_cast<double>(n_rot) / static_cast<double>(head_dim);
    c["use_parallel_residual"] = g.get_bool(a + ".use_parallel_residual").value_or(true);
    c["hidden_act"] = "gelu";
  } else if (cls == "MambaForCausalLM" || cls == "JambaForCausalLM") {
    const bool jamba = cls == "JambaForCausalLM";
    c["hidden_size"] = n_embd;
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c[jamba ? "mamba_d_state" : "state_size"] = meta_int(g, a + ".ssm.state_size");
    c[jamba ? "mamba_d_conv" : "conv_kernel"] = meta_int(g, a + ".ssm.conv_kernel");
    c[jamba ? "mamba_expand" : "expand"] = meta_int(g, a + ".ssm.inner_size") / n_embd;
    c[jamba ? "mamba_dt_rank" : "time_step_rank"] = meta_int(g, a + ".ssm.time_step_rank");
    if (jamba) {
      c["rms_norm_eps"] = rms;
      c["num_attention_heads"] = n_head;
      c["num_key_value_heads"] = n_kv;
      c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
      c["num_experts"] = meta_int(g, a + ".expert_count");
      c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
      c["max_position_embeddings"] = meta_int(g, a + ".context_length");
      int first_attn = -1, first_exp = -1;
      for (int il = 0; il < meta_int(g, a + ".block_count"); ++il) {
        if (first_attn < 0 && g.find_tensor("blk." + std::to_string(il) + ".attn_q.weight")) first_attn = il;
        if (first_exp < 0 && g.find_tensor("blk." + std::to_string(il) + ".ffn_gate_inp.weight")) first_exp = il;
      }
      c["attn_layer_offset"] = first_attn;
      c["attn_layer_period"] = 2;
      c["expert_layer_offset"] = first_exp;
      c["expert_layer_period"] = 2;
    } else {
      c["layer_norm_epsilon"] = rms;
      c["intermediate_size"] = meta_int(g, a + ".ssm.inner_size");
    }
  }
  return c;
}

// Writes `g` as a Hugging Face checkpoint of class `cls` into `dir`.
void write_checkpoint(const GgufFile& g, const std::string& cls, const std::string& dir,
                      SafetensorsDtype dtype = SafetensorsDtype::F32, bool sharded = false) {
  fs::create_directories(dir);
  const json config = hf_config(g, cls);
  std::ofstream(dir + "/config.json") << config.dump(1);
  const std::string a = g.architecture();
  const int64_t n_head = meta_int(g, a + ".attention.head_count", 0), n_embd = meta_int(g, a + ".embedding_length");
  const int64_t n_kv = meta_int(g, a + ".attention.head_count_kv", n_head);
  const int64_t head_dim = meta_int(g, a + ".attention.key_length", n_head ? n_embd / n_head : 0);
  const bool llama = cls == "LlamaForCausalLM" || cls == "MixtralForCausalLM";
  const bool gemma = cls == "GemmaForCausalLM" || cls == "Gemma2ForCausalLM";
  std::vector<SafetensorsWriter> shards(sharded ? 2 : 1);
  json weight_map = json::object();
  size_t count = 0;
  auto put = [&](const std::string& gguf_name, std::vector<uint64_t> shape, const std::vector<float>& v) {
    const std::string name = hf_tensor_name(cls, gguf_name);
    ASSERT_FALSE(name.empty()) << cls << ": no checkpoint name for " << gguf_name;
    const size_t s = sharded ? count++ % 2 : 0;
    shards[s].add(name, dtype, shape, bytes_of(v, dtype));
    weight_map[name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  };
  for (const GgufTensorInfo& t : g.tensors()) {
    if (t.name == "rope_factors_long.weight" || t.name == "rope_factors_short.weight") continue;  // in config.json
    std::vector<float> v = floats_of(t);
    std::vector<uint64_t> shape(t.dims.rbegin(), t.dims.rend());
    const std::string& n = t.name;
    auto is = [&](const char* suffix) { return n.size() > std::strlen(suffix) && n.ends_with(suffix); };
    if (llama && (is(".attn_q.weight") || is(".attn_k.weight"))) {
      v = take_rows(v, n_embd, unpermute_order(is(".attn_q.weight") ? n_head : n_kv, head_dim));
    }
    if (gemma && n.find("norm") != std::string::npos) {
      for (float& x : v) x -= 1.0f;
    }
    if (is(".ssm_a")) {
      for (float& x : v) x = std::log(-x);
    }
    if (is(".ssm_conv1d.weight")) shape = {shape[0], 1, shape[1]};
    if (cls == "FalconForCausalLM" && (is(".attn_qkv.weight") || is(".attn_qkv.bias"))) {
      // GGUF [Q | K | V] -> per KV group: the group's queries, its key, its value.
      const int64_t width = is(".bias") ? 1 : n_embd, q_per = n_head / n_kv;
      std::vector<int64_t> from;
      for (int64_t grp = 0; grp < n_kv; ++grp) {
        for (int64_t q = 0; q < q_per; ++q)
          for (int64_t r = 0; r < head_dim; ++r) from.push_back((grp * q_per + q) * head_dim + r);
        for (int64_t r = 0; r < head_dim; ++r) from.push_back((n_head + grp) * head_dim + r);
        for (int64_t r = 0; r < head_dim; ++r) from.push_back((n_head + n_kv + grp) * head_dim + r);
      }
      v = take_rows(v, width, from);
    }
    if (cls == "GPTNeoXForCausalLM" && (is(".attn_qkv.weight") || is(".attn_qkv.bias"))) {
      const int64_t width = is(".bias") ? 1 : n_embd;
      std::vector<int64_t> from;
      for (int64_t h = 0; h < n_head; ++h)
        for (int64_t part = 0; part < 3; ++part)
          for (int64_t r = 0; r < head_dim; ++r) from.push_back((part * n_head + h) * head_dim + r);
      v = take_rows(v, width, from);
    }
    if (is("_exps.weight")) {
      // One tensor per expert: [n_expert, rows, cols] -> n_expert tensors (rows, cols).
      const std::string base = n.substr(0, n.size() - std::strlen("_exps.weight"));
      const uint64_t n_exp = shape[0], rows = shape[1], cols = shape[2];
      for (uint64_t e = 0; e < n_exp; ++e) {
        std::vector<float> part(v.begin() + static_cast<int64_t>(e * rows * cols),
                                v.begin() + static_cast<int64_t>((e + 1) * rows * cols));
        put(base + "." + std::to_string(e) + ".weight", {rows, cols}, part);
      }
      continue;
    }
    put(n, shape, v);
  }
  if (!sharded) {
    shards[0].write(dir + "/model.safetensors");
    return;
  }
  shards[0].write(dir + "/model-00001-of-00002.safetensors");
  shards[1].write(dir + "/model-00002-of-00002.safetensors");
  std::ofstream(dir + "/model.safetensors.index.json") << json{{"metadata", json::object()}, {"weight_map", weight_map}}.dump();
}

// -ln p of 95 pseudo-random next tokens (after BOS) under a model.
double total_nats(const Model& m, ThreadPool& pool, std::vector<double>* per = nullptr) {
  std::vector<TokenId> tokens = {1};
  uint64_t x = 88172645463325252ull;
  while (tokens.size() < 96) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    tokens.push_back(static_cast<TokenId>(3 + x % 7000));
  }
  std::vector<ScoredTarget> targets;
  for (uint32_t i = 0; i + 1 < tokens.size(); ++i) targets.push_back({i, tokens[i + 1]});
  const std::vector<double> nats = m.score(tokens, targets, pool);
  if (per) *per = nats;
  double sum = 0;
  for (double v : nats) sum += v;
  return sum;
}

void expect_same_model(const GgufFile& g, const std::string& cls, const std::string& dir, double rel) {
  ThreadPool pool(2);
  const auto reference = Model::load(g);
  const ModelSource source = open_model_source(dir, "", /*require_tokenizer=*/false);
  EXPECT_EQ(source.format, "safetensors");
  EXPECT_EQ(source.hf_architecture, cls);
  const auto loaded = source.load_model();
  std::vector<double> a, b;
  const double want = total_nats(*reference, pool, &a), got = total_nats(*loaded, pool, &b);
  EXPECT_LT(std::abs(got - want) / want, rel) << cls << ": checkpoint " << got << " nats, GGUF " << want;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_LT(worst, 1e3 * rel) << cls << ": worst per-token difference";
}

struct Case {
  const char* file;
  const char* cls;
};

class HfFamilies : public ::testing::TestWithParam<Case> {};

TEST_P(HfFamilies, CheckpointScoresLikeTheGgufFile) {
  LMZIP_REQUIRE_SHARED("archs");
  const Case c = GetParam();
  const GgufFile g = GgufFile::open(test::shared_dir() + "/archs/" + c.file);
  const std::string dir = test::temp_dir() + "/hf-" + c.file;
  write_checkpoint(g, c.cls, dir);
  expect_same_model(g, c.cls, dir, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, HfFamilies,
    ::testing::Values(Case{"llama.gguf", "LlamaForCausalLM"}, Case{"mixtral.gguf", "MixtralForCausalLM"},
                      Case{"qwen2.gguf", "Qwen2ForCausalLM"}, Case{"qwen2moe.gguf", "Qwen2MoeForCausalLM"},
                      Case{"qwen.gguf", "QWenLMHeadModel"}, Case{"falcon-7b.gguf", "FalconForCausalLM"},
                      Case{"falcon-40b.gguf", "FalconForCausalLM"}, Case{"starcoder.gguf", "GPTBigCodeForCausalLM"},
                      Case{"starcoder2.gguf", "Starcoder2ForCausalLM"}, Case{"gemma.gguf", "GemmaForCausalLM"},
                      Case{"gemma2.gguf", "Gemma2ForCausalLM"}, Case{"phi3.gguf", "Phi3ForCausalLM"},
                      Case{"gptneox.gguf", "GPTNeoXForCausalLM"}, Case{"stablelm.gguf", "StableLmForCausalLM"},
                      Case{"mamba.gguf", "MambaForCausalLM"}),
    [](const auto& info) {
      std::string s = info.param.file;
      s = s.substr(0, s.find('.'));
      std::erase(s, '-');
      return s;
    });

TEST(HfCheckpoint, JambaCheckpointScoresLikeTheGgufFile) {
  SynthOptions o;
  o.shape = *synth_preset("tiny", "jamba");
  o.shape.n_vocab = 8000;  // the scored tokens go up to 7002
  o.seed = 7;
  const std::string gguf = test::temp_dir() + "/jamba.gguf";
  synth_model(o).writer.write(gguf);
  const GgufFile g = GgufFile::open(gguf);
  write_checkpoint(g, "JambaForCausalLM", test::temp_dir() + "/hf-jamba");
  expect_same_model(g, "JambaForCausalLM", test::temp_dir() + "/hf-jamba", 1e-6);
}

TEST(HfCheckpoint, ShardedBf16CheckpointLoadsInPlace) {
  LMZIP_REQUIRE_SHARED("archs");
  const GgufFile g = GgufFile::open(test::shared_dir() + "/archs/mixtral.gguf");
  const std::string dir = test::temp_dir() + "/hf-mixtral-bf16";
  write_checkpoint(g, "MixtralForCausalLM", dir, SafetensorsDtype::BF16, /*sharded=*/true);
  const ModelSource s = open_model_source(dir, "", false);
  // BF16 matrices are used as stored: views into the mapping, no copy.
  const GgufTensorInfo* q = s.file.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::BF16);
  const GgufTensorInfo* e = s.file.find_tensor("blk.1.ffn_down.3.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, GgmlType::BF16);
  // Rounding the weights to bf16 moves the numbers a little, not a lot.
  expect_same_model(g, "MixtralForCausalLM", dir, 2e-2);
}

// The names are transformers' own (typed from its modeling files, not derived from lmzip's tables).
TEST(HfCheckpoint, TensorNamesAreTransformers) {
  const std::pair<std::pair<const char*, const char*>, const char*> cases[] = {
      {{"LlamaForCausalLM", "blk.3.attn_q.weight"}, "model.layers.3.self_attn.q_proj.weight"},
      {{"LlamaForCausalLM", "blk.0.ffn_norm.weight"}, "model.layers.0.post_attention_layernorm.weight"},
      {{"LlamaForCausalLM", "output.weight"}, "lm_head.weight"},
      {{"MixtralForCausalLM", "blk.1.ffn_up.7.weight"}, "model.layers.1.block_sparse_moe.experts.7.w3.weight"},
      {{"MixtralForCausalLM", "blk.1.ffn_gate_inp.weight"}, "model.layers.1.block_sparse_moe.gate.weight"},
      {{"Qwen2MoeForCausalLM", "blk.2.ffn_gate_inp_shexp.weight"}, "model.layers.2.mlp.shared_expert_gate.weight"},
      {{"QWenLMHeadModel", "blk.0.ffn_gate.weight"}, "transformer.h.0.mlp.w2.weight"},
      {{"FalconForCausalLM", "blk.0.attn_norm_2.weight"}, "transformer.h.0.ln_attn.weight"},
      {{"FalconForCausalLM", "blk.0.attn_qkv.weight"}, "transformer.h.0.self_attention.query_key_value.weight"},
      {{"GPTBigCodeForCausalLM", "position_embd.weight"}, "transformer.wpe.weight"},
      {{"Starcoder2ForCausalLM", "blk.0.ffn_up.bias"}, "model.layers.0.mlp.c_fc.bias"},
      {{"Gemma2ForCausalLM", "blk.4.post_ffw_norm.weight"}, "model.layers.4.post_feedforward_layernorm.weight"},
      {{"Gemma2ForCausalLM", "blk.4.ffn_norm.weight"}, "model.layers.4.pre_feedforward_layernorm.weight"},
      {{"Phi3ForCausalLM", "blk.0.ffn_up.weight"}, "model.layers.0.mlp.gate_up_proj.weight"},
      {{"GPTNeoXForCausalLM", "output.weight"}, "embed_out.weight"},
      {{"MambaForCausalLM", "blk.5.ssm_a"}, "backbone.layers.5.mixer.A_log"},
      {{"JambaForCausalLM", "blk.1.ssm_dt_norm.weight"}, "model.layers.1.mamba.dt_layernorm.weight"},
      {{"JambaForCausalLM", "blk.1.ffn_gate_inp.weight"}, "model.layers.1.feed_forward.router.weight"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(hf_tensor_name(in.first, in.second), want) << in.first << " " << in.second;
}

std::string open_error(const std::string& dir) {
  try {
    open_model_source(dir, "", false).load_model();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HfCheckpoint, BadCheckpointsGiveMessagesNamingFileAndField) {
  LMZIP_REQUIRE_SHARED("archs");
  const GgufFile g = GgufFile::open(test::shared_dir() + "/archs/qwen2.gguf");
  const std::string dir = test::temp_dir() + "/hf-bad";
  write_checkpoint(g, "Qwen2ForCausalLM", dir);
  json config = json::parse(std::ifstream(dir + "/config.json"));
  auto write_config = [&](const json& c) { std::ofstream(dir + "/config.json") << c.dump(); };

  json unknown = config;
  unknown["architectures"] = {"BertForMaskedLM"};
  write_config(unknown);
  std::string e = open_error(dir);
  EXPECT_NE(e.find("config.json: architecture 'BertForMaskedLM' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("Qwen2ForCausalLM"), std::string::npos) << e;  // the supported ones are listed

  json wrong = config;
  wrong["hidden_size"] = "64";
  write_config(wrong);
  e = open_error(dir);
  EXPECT_NE(e.find("config.json: hidden_size should be an integer"), std::string::npos) << e;

  json scaled = config;
  scaled["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  write_config(scaled);
  e = open_error(dir);
  EXPECT_NE(e.find("rope_scaling type 'yarn' is not supported (supported: linear, llama3)"), std::string::npos) << e;

  json heads = config;
  heads["num_key_value_heads"] = 1;  // the K/V tensors keep their 2-head shape
  write_config(heads);
  e = open_error(dir);
  EXPECT_NE(e.find("blk.0.attn_k.weight has shape [64, 32], expected [64, 16]"), std::string::npos) << e;
  EXPECT_NE(e.find("model.layers.0.self_attn.k_proj.weight"), std::string::npos) << e;

  write_config(config);
  {
    // A missing tensor: drop one from the file.
    SafetensorsFile f = SafetensorsFile::open(dir + "/model.safetensors");
    SafetensorsWriter w;
    for (const auto& t : f.tensors()) {
      if (t.name == "model.layers.1.mlp.up_proj.weight") continue;
      w.add(t.name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.n_bytes));
    }
    w.write(dir + "/model.safetensors");
  }
  e = open_error(dir);
  EXPECT_NE(e.find("missing tensor blk.1.ffn_up.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << e;

  fs::resize_file(dir + "/model.safetensors", fs::file_size(dir + "/model.safetensors") - 10);
  e = open_error(dir);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  fs::remove(dir + "/config.json");
  EXPECT_NE(open_error(dir).find("no config.json"), std::string::npos) << open_error(dir);

  // A checkpoint without tokenizer files, when a tokenizer is needed.
  write_config(config);
  write_checkpoint(g, "Qwen2ForCausalLM", dir);
  try {
    open_model_source(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("no tokenizer.model or tokenizer.json"), std::string::npos) << err.what();
  }
}

TEST(HfCheckpoint, Llama3RopeScalingBecomesFrequencyFactors) {
  LMZIP_REQUIRE_SHARED("archs");
  const GgufFile g = GgufFile::open(test::shared_dir() + "/archs/llama.gguf");
  const std::string dir = test::temp_dir() + "/hf-llama3";
  write_checkpoint(g, "LlamaForCausalLM", dir);
  json config = json::parse(std::ifstream(dir + "/config.json"));
  config["rope_theta"] = 500000.0;
  config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  std::ofstream(dir + "/config.json") << config.dump();
  const ModelSource s = open_model_source(dir, "", false);
  const GgufTensorInfo* f = s.file.find_tensor("rope_freqs.weight");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->dims, (std::vector<uint64_t>{8}));  // head_dim 16: 8 rotary frequencies
  std::vector<float> v = floats_of(*f);
  // Frequency i is 500000^(-2i/16); wavelength 2 pi / freq. Below 8192/4 = 2048 the factor is 1, above 8192 it is
  // 8, between them 1 / ((1 - s) / 8 + s) with s = (8192 / wavelength - 1) / 3.
  for (int i = 0; i < 8; ++i) {
    const double freq = std::pow(500000.0, -2.0 * i / 16), wavelen = 2 * M_PI / freq;
    double want = wavelen < 2048 ? 1 : wavelen > 8192 ? 8 : 0;
    if (want == 0) {
      const double sm = (8192 / wavelen - 1) / 3;
      want = 1 / ((1 - sm) / 8 + sm);
    }
    EXPECT_NEAR(v[static_cast<size_t>(i)], want, 1e-4 * want) << i;
  }
  EXPECT_EQ(v[0], 1.0f);  // the highest frequency is never scaled
  EXPECT_EQ(v[7], 8.0f);  // 500000^(-14/16) has a wavelength of ~602,000 > 8192
  EXPECT_NO_THROW(s.load_model());
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// `lmzip convert` undoes the checkpoint layout: the GGUF it writes holds the fixture's tensors bit for bit
// (Q/K permuted back for llama.cpp's pair RoPE, experts stacked again).
TEST(HfConvert, CheckpointConvertsBackToTheOriginalGgufTensors) {
  LMZIP_REQUIRE_SHARED("archs");
  for (const auto& [file, cls] : {std::pair{"llama.gguf", "LlamaForCausalLM"}, std::pair{"mixtral.gguf", "MixtralForCausalLM"},
                                  std::pair{"falcon-40b.gguf", "FalconForCausalLM"}, std::pair{"gemma.gguf", "GemmaForCausalLM"},
                                  std::pair{"mamba.gguf", "MambaForCausalLM"}}) {
    const std::string original = test::shared_dir() + "/archs/" + file;
    const GgufFile g = GgufFile::open(original);
    const std::string dir = test::temp_dir() + "/conv-" + file, out = test::temp_dir() + "/conv-" + file + ".gguf";
    write_checkpoint(g, cls, dir);
    const test::CliResult r = test::run_lmzip("convert " + dir + " -o " + out + " --tokenizer " + original);
    ASSERT_EQ(r.rc, 0) << r.err;
    const GgufFile back = GgufFile::open(out);
    EXPECT_EQ(back.architecture(), g.architecture());
    EXPECT_FALSE(back.has("lmzip.rope_kind"));
    for (const GgufTensorInfo& t : g.tensors()) {
      const GgufTensorInfo* b = back.find_tensor(t.name);
      ASSERT_NE(b, nullptr) << file << ": " << t.name;
      EXPECT_EQ(b->dims, t.dims) << t.name;
      ASSERT_EQ(b->type, t.type) << t.name;
      // Gemma's norms and Mamba's A went through 1 + (w - 1) and -exp(log(-A)): equal to rounding.
      const std::vector<float> x = floats_of(t), y = floats_of(*b);
      double worst = 0;
      for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]) / (1 + std::abs(x[i])));
      EXPECT_LT(worst, 1e-6) << file << ": " << t.name;
    }
    EXPECT_EQ(back.tensors().size(), g.tensors().size()) << file;
  }
}

TEST(HfConvert, QuantizesMatricesOnRequest) {
  LMZIP_REQUIRE_SHARED("archs");
  const std::string original = test::shared_dir() + "/archs/qwen2.gguf";
  const GgufFile g = GgufFile::open(original);
  const std::string dir = test::temp_dir() + "/conv-q8", out = test::temp_dir() + "/conv-q8.gguf";
  write_checkpoint(g, "Qwen2ForCausalLM", dir, SafetensorsDtype::BF16);
  const test::CliResult r = test::run_lmzip("convert " + dir + " -o " + out + " --type Q8_0 --tokenizer " + original);
  ASSERT_EQ(r.rc, 0) << r.err;
  const GgufFile back = GgufFile::open(out);
  EXPECT_EQ(back.find_tensor("blk.0.ffn_up.weight")->type, GgmlType::Q8_0);
  EXPECT_EQ(back.find_tensor("blk.0.attn_norm.weight")->type, GgmlType::F32);
  const test::CliResult again = test::run_lmzip("convert " + dir + " -o " + out + " --tokenizer " + original);
  EXPECT_NE(again.rc, 0);  // exists: --force needed
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
}

// The whole command line on a checkpoint: `lmzip bpc -m DIR` gives the GGUF file's numbers to 1e-6.
TEST(HfCli, BpcOfACheckpointEqualsTheGgufFiles) {
  LMZIP_REQUIRE_SHARED("zoo");
  const std::string zoo = test::shared_dir() + "/zoo";
  const std::string gguf = zoo + "/models/zoo-s1.gguf", corpus = zoo + "/corpora/cc.testA.jsonl";
  const GgufFile g = GgufFile::open(gguf);
  const std::string dir = test::temp_dir() + "/zoo-s1-hf";
  write_checkpoint(g, "LlamaForCausalLM", dir, SafetensorsDtype::F32, /*sharded=*/true);
  const test::CliResult a = test::run_lmzip("bpc --no-db --json -m " + gguf + " " + corpus);
  const test::CliResult b = test::run_lmzip("bpc --no-db --json -m " + dir + " --tokenizer " + gguf + " " + corpus);
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  const json ja = json::parse(a.out), jb = json::parse(b.out);
  EXPECT_EQ(ja["tokens"], jb["tokens"]);
  EXPECT_LT(std::abs(ja["bpc"].get<double>() - jb["bpc"].get<double>()) / ja["bpc"].get<double>(), 1e-6)
      << ja["bpc"] << " vs " << jb["bpc"];
  EXPECT_EQ(jb["model_format"], "safetensors");
  EXPECT_EQ(jb["model"], "zoo-s1-hf");
  EXPECT_EQ(jb["tokenizer_file"], gguf);
  EXPECT_NE(ja["model_id"], jb["model_id"]);
}

}  // namespace
}  // namespace lmzip

// The host side of the CUDA engine, without a GPU: the model -> plugin ABI mapping (the exported fp32 tensors
// equal the model's tensors dequantized element by element, the RoPE tables are the CPU engine's), the
// families it refuses (with a message naming the family and the feature), and the loader's error without a plugin.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/device/device.h"
#include "lmzip/format/gguf.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/ops.h"
#include "lmzip/model/synth.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

GgufFile synth_file(const std::string& arch, GgmlType type, const std::string& name, bool tied = false) {
  SynthOptions o;
  o.shape = *synth_preset("tiny", arch);
  o.shape.tied_output = tied;
  o.type = type;
  o.seed = 7;
  const std::string path = test::temp_dir() + "/" + name + ".gguf";
  synth_model(o).writer.write(path);
  return GgufFile::open(path);
}

struct Exported {
  int32_t layer, tensor;
  std::string name;
  std::vector<float> data;
};

std::vector<Exported> export_all(const Model& m, const lmzip_cuda_config& k) {
  std::vector<Exported> out;
  export_cuda_tensors(m, k, [&](int32_t layer, int32_t tensor, const std::string& name, std::span<const float> d) {
    out.push_back({layer, tensor, name, std::vector<float>(d.begin(), d.end())});
  });
  return out;
}

// Every element of a matrix equals dequantize_element_reference of the stored row.
void expect_matrix(const WeightView& v, const std::vector<float>& got) {
  ASSERT_EQ(got.size(), static_cast<size_t>(v.n_in * v.n_out)) << v.name;
  for (int64_t r = 0; r < v.n_out; ++r) {
    for (int64_t i = 0; i < v.n_in; ++i) {
      const float want = dequantize_element_reference(v.type, v.row(r), static_cast<size_t>(i));
      ASSERT_EQ(got[static_cast<size_t>(r * v.n_in + i)], want) << v.name << " row " << r << " col " << i;
    }
  }
}

void check_export(const Model& m, bool expect_bias) {
  check_cuda_support(m);
  const lmzip_cuda_config k = make_cuda_config(m, {.compute = DeviceCompute::Bf16, .max_tokens = 40, .max_seq = 2});
  const ModelConfig& c = m.config();
  EXPECT_EQ(k.abi_version, LMZIP_CUDA_ABI_VERSION);
  EXPECT_EQ(k.n_vocab, c.n_vocab);
  EXPECT_EQ(k.n_embd, c.n_embd);
  EXPECT_EQ(k.n_layer, c.n_layer);
  EXPECT_EQ(k.n_head_kv, c.n_head_kv);
  EXPECT_EQ(k.head_dim, c.head_dim);
  EXPECT_EQ(k.n_rot, c.n_rot);
  EXPECT_EQ(k.rope_kind, c.rope == RopeKind::Neox ? LMZIP_CUDA_ROPE_NEOX : LMZIP_CUDA_ROPE_NORMAL);
  EXPECT_EQ(k.has_qkv_bias, expect_bias ? 1 : 0);
  EXPECT_FLOAT_EQ(k.attn_scale, c.attn_scale);
  EXPECT_EQ(k.max_seq, 2);
  EXPECT_EQ(k.max_tokens, 40);
  const std::vector<Exported> ex = export_all(m, k);
  const size_t per_layer = expect_bias ? 12 : 9;
  ASSERT_EQ(ex.size(), per_layer * static_cast<size_t>(c.n_layer) + 5);
  const ModelWeights& w = m.weights();
  std::map<std::pair<int, int>, const Exported*> by_id;
  for (const Exported& e : ex) {
    EXPECT_TRUE(by_id.emplace(std::make_pair(e.layer, e.tensor), &e).second) << "uploaded twice: " << e.name;
  }
  auto get = [&](int layer, int tensor) -> const std::vector<float>& {
    auto it = by_id.find({layer, tensor});
    EXPECT_NE(it, by_id.end()) << "missing tensor " << layer << "/" << tensor;
    static const std::vector<float> none;
    return it == by_id.end() ? none : it->second->data;
  };
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerWeights& L = w.layers[static_cast<size_t>(il)];
    expect_matrix(L.wq, get(il, LMZIP_CUDA_T_WQ));
    expect_matrix(L.wk, get(il, LMZIP_CUDA_T_WK));
    expect_matrix(L.wv, get(il, LMZIP_CUDA_T_WV));
    expect_matrix(L.wo, get(il, LMZIP_CUDA_T_WO));
    expect_matrix(L.w_gate, get(il, LMZIP_CUDA_T_W_GATE));
    expect_matrix(L.w_up, get(il, LMZIP_CUDA_T_W_UP));
    expect_matrix(L.w_down, get(il, LMZIP_CUDA_T_W_DOWN));
    EXPECT_EQ(get(il, LMZIP_CUDA_T_ATTN_NORM), L.attn_norm);
    EXPECT_EQ(get(il, LMZIP_CUDA_T_FFN_NORM), L.ffn_norm);
    if (expect_bias) {
      EXPECT_EQ(get(il, LMZIP_CUDA_T_BQ), L.bq);
      EXPECT_EQ(get(il, LMZIP_CUDA_T_BK), L.bk);
      EXPECT_EQ(get(il, LMZIP_CUDA_T_BV), L.bv);
    }
  }
  expect_matrix(w.token_embd, get(-1, LMZIP_CUDA_T_TOKEN_EMBD));
  expect_matrix(w.output, get(-1, LMZIP_CUDA_T_OUTPUT));
  EXPECT_EQ(get(-1, LMZIP_CUDA_T_OUTPUT_NORM), w.output_norm);
  const RopeTable t = make_rope_table(0, 40, c.n_rot, c.rope_freq_base, w.rope_freq_factors, c.rope_freq_scale,
                                      c.rope_attn_factor);
  EXPECT_EQ(get(-1, LMZIP_CUDA_T_ROPE_COS), t.cos);
  EXPECT_EQ(get(-1, LMZIP_CUDA_T_ROPE_SIN), t.sin);
  EXPECT_EQ(get(-1, LMZIP_CUDA_T_ROPE_COS).size(), static_cast<size_t>(40 * c.n_rot / 2));
}

TEST(CudaMapping, LlamaTensorsEqualTheModelsDequantizedTensors) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_K}) {
    SCOPED_TRACE(ggml_type_name(type));
    GgufFile f = synth_file("llama", type, std::string("llama_") + ggml_type_name(type));
    auto m = Model::load(f);
    check_export(*m, false);
  }
}

TEST(CudaMapping, TiedOutputExportsTheEmbedding) {
  GgufFile f = synth_file("llama", GgmlType::F16, "llama_tied", true);
  auto m = Model::load(f);
  ASSERT_TRUE(m->config().tied_output);
  check_export(*m, false);
}

TEST(CudaMapping, Qwen2BiasesAndNeoxRope) {
  GgufFile f = synth_file("qwen2", GgmlType::Q8_0, "qwen2");
  auto m = Model::load(f);
  ASSERT_EQ(m->config().rope, RopeKind::Neox);
  check_export(*m, true);
}

TEST(CudaMapping, ZooModelMapsWithGqa) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2-Q8_0.gguf");
  GgufFile f = GgufFile::open(test::shared_dir() + "/zoo/models/zoo-m2-Q8_0.gguf");
  auto m = Model::load(f);
  EXPECT_LT(m->config().n_head_kv, m->config().n_head);
  check_export(*m, false);
}

TEST(CudaMapping, UnsupportedFamiliesAreRefusedByName) {
  for (const char* arch : {"falcon", "gemma2", "mamba", "phi3", "starcoder"}) {
    SCOPED_TRACE(arch);
    GgufFile f = synth_file(arch, GgmlType::F32, std::string("unsup_") + arch);
    auto m = Model::load(f);
    try {
      check_cuda_support(*m);
      ADD_FAILURE() << "accepted " << arch;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("family ") + arch), std::string::npos) << msg;
      EXPECT_NE(msg.find("CPU engine"), std::string::npos) << msg;
    }
  }
}

TEST(CudaMapping, QwenMoeIsRefusedForItsExperts) {
  GgufFile f = synth_file("qwen2moe", GgmlType::F32, "unsup_qwen2moe");
  auto m = Model::load(f);
  try {
    check_cuda_support(*m);
    ADD_FAILURE() << "accepted qwen2moe";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("family qwen2moe"), std::string::npos) << e.what();
  }
}

TEST(CudaLoader, MissingPluginIsAClearError) {
  GgufFile f = synth_file("llama", GgmlType::F32, "llama_noplugin");
  auto m = Model::load(f);
  const std::string bogus = test::temp_dir() + "/no-such-dir/liblmzip_cuda.so";
  EXPECT_EQ(cuda_plugin_candidates(bogus), std::vector<std::string>{bogus});
  try {
    CudaEngine::create(*m, {.max_tokens = 16, .plugin = bogus});
    ADD_FAILURE() << "created an engine without a plugin";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("could not be loaded"), std::string::npos) << msg;
    EXPECT_NE(msg.find(bogus), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
  }
}

TEST(CudaLoader, AFileThatIsNoPluginIsRefused) {
  GgufFile f = synth_file("llama", GgmlType::F32, "llama_notplugin");
  auto m = Model::load(f);
  // libm is a loadable shared library without the plugin's symbols.
  for (const char* lib : {"libm.so.6"}) {
    try {
      CudaEngine::create(*m, {.max_tokens = 16, .plugin = lib});
      ADD_FAILURE() << "accepted " << lib;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is not an lmzip CUDA plugin"), std::string::npos) << e.what();
    }
  }
}

TEST(CudaLoader, BadOptionsAreRefused) {
  GgufFile f = synth_file("llama", GgmlType::F32, "llama_badopt");
  auto m = Model::load(f);
  EXPECT_THROW(make_cuda_config(*m, {.max_tokens = 0}), Error);
  EXPECT_THROW(make_cuda_config(*m, {.max_tokens = 8, .max_seq = 0}), Error);
}

}  // namespace
}  // namespace lmzip

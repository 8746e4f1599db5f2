// Model::load on good and bad files: the configuration read from metadata, and a clear lmzip::Error naming the
// file and the tensor or key for a missing tensor, a wrong shape, an unsupported type or architecture.
#include <gtest/gtest.h>

#include <functional>

#include "lmzip/core/error.h"
#include "lmzip/model/model.h"
#include "lmzip/model/synth.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

// A one-layer llama model (n_embd 32, 2 heads, n_ff 64, vocab 10) with a hook to change one tensor:
// edit(name, type, dims) returns false to leave the tensor out.
using Edit = std::function<bool(const std::string& name, GgmlType& type, std::vector<uint64_t>& dims)>;

std::string write_model(const std::string& file, const Edit& edit, const std::string& arch = "llama",
                        const std::function<void(GgufWriter&)>& metadata = {}) {
  GgufWriter w;
  if (metadata) metadata(w);
  w.set_string("general.architecture", arch);
  w.set_u32(arch + ".embedding_length", 32);
  w.set_u32(arch + ".block_count", 1);
  w.set_u32(arch + ".feed_forward_length", 64);
  w.set_u32(arch + ".attention.head_count", 2);
  w.set_u32(arch + ".attention.head_count_kv", 1);
  w.set_f32(arch + ".rope.freq_base", 500000.0f);
  w.set_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> tensors = {
      {"token_embd.weight", {32, 10}},       {"output_norm.weight", {32}},
      {"output.weight", {32, 10}},           {"blk.0.attn_norm.weight", {32}},
      {"blk.0.attn_q.weight", {32, 32}},     {"blk.0.attn_k.weight", {32, 16}},
      {"blk.0.attn_v.weight", {32, 16}},     {"blk.0.attn_output.weight", {32, 32}},
      {"blk.0.ffn_norm.weight", {32}},       {"blk.0.ffn_gate.weight", {32, 64}},
      {"blk.0.ffn_up.weight", {32, 64}},     {"blk.0.ffn_down.weight", {64, 32}},
  };
  for (auto [name, dims] : tensors) {
    GgmlType type = GgmlType::F32;
    if (!edit(name, type, dims)) continue;
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    w.add_tensor(name, type, dims, std::string(*ggml_bytes(type, n), '\0'));
  }
  const std::string path = test::temp_dir() + "/" + file;
  w.write(path);
  return path;
}

// The lmzip::Error message of loading `path`, or "" when it loads.
std::string load_error(const std::string& path) {
  GgufFile f = GgufFile::open(path);
  try {
    Model::load(f);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const Edit kNoEdit = [](const std::string&, GgmlType&, std::vector<uint64_t>&) { return true; };

TEST(ModelLoad, ReadsConfiguration) {
  GgufFile f = GgufFile::open(write_model("good.gguf", kNoEdit));
  auto model = Model::load(f);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_vocab, 10);
  EXPECT_EQ(c.n_embd, 32);
  EXPECT_EQ(c.n_layer, 1);
  EXPECT_EQ(c.n_head, 2);
  EXPECT_EQ(c.n_head_kv, 1);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.n_rot, 16);
  EXPECT_EQ(c.n_ff, 64);
  EXPECT_EQ(c.rope_freq_base, 500000.0f);
  EXPECT_EQ(c.rope, RopeKind::Normal);
  EXPECT_FALSE(c.tied_output);
  EXPECT_TRUE(model->weights().layers[0].bq.empty());
  EXPECT_EQ(model->weights().layers[0].wk.n_out, 16);
}

TEST(ModelLoad, MissingOutputMeansTiedEmbedding) {
  GgufFile f = GgufFile::open(write_model("tied.gguf", [](const std::string& name, GgmlType&, auto&) {
    return name != "output.weight";
  }));
  auto model = Model::load(f);
  EXPECT_TRUE(model->config().tied_output);
  EXPECT_EQ(model->weights().output.data, model->weights().token_embd.data);
}

TEST(ModelLoad, MissingTensorNamesIt) {
  const std::string msg = load_error(write_model("missing.gguf", [](const std::string& name, GgmlType&, auto&) {
    return name != "blk.0.ffn_up.weight";
  }));
  EXPECT_NE(msg.find("missing.gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensor blk.0.ffn_up.weight"), std::string::npos) << msg;
}

TEST(ModelLoad, WrongShapeNamesTensorAndShapes) {
  const std::string msg = load_error(write_model("shape.gguf", [](const std::string& name, GgmlType&, auto& dims) {
    if (name == "blk.0.attn_k.weight") dims = {32, 32};
    return true;
  }));
  EXPECT_NE(msg.find("tensor blk.0.attn_k.weight has shape [32, 32], expected [32, 16]"), std::string::npos) << msg;
}

TEST(ModelLoad, UnsupportedTypeNamesTensorAndType) {
  const std::string msg = load_error(write_model("type.gguf", [](const std::string& name, GgmlType& type, auto&) {
    if (name == "blk.0.ffn_down.weight") type = GgmlType::MXFP4;  // a type lmzip parses but does not read
    return true;
  }));
  EXPECT_NE(msg.find("tensor blk.0.ffn_down.weight has type MXFP4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("supported: F32"), std::string::npos) << msg;
}

TEST(ModelLoad, RowsNotAMultipleOfTheBlock) {
  // 32 elements per row fit Q8_0 but not Q4_K (256).
  const std::string ok = load_error(write_model("q8.gguf", [](const std::string& name, GgmlType& type, auto&) {
    if (name == "blk.0.attn_q.weight") type = GgmlType::Q8_0;
    return true;
  }));
  EXPECT_EQ(ok, "");
}

TEST(ModelLoad, RopeScalingLinearIsReadAndOtherTypesAreRefused) {
  auto with = [](const std::string& type, float factor) {
    return [=](GgufWriter& w) {
      if (!type.empty()) w.set_string("llama.rope.scaling.type", type);
      w.set_f32("llama.rope.scaling.factor", factor);
    };
  };
  const std::string yarn = load_error(write_model("yarn.gguf", kNoEdit, "llama", with("yarn", 4.0f)));
  EXPECT_NE(yarn.find("rope scaling type 'yarn' is not supported (supported: none, linear)"), std::string::npos)
      << yarn;
  const std::string negative = load_error(write_model("neg.gguf", kNoEdit, "llama", with("linear", -2.0f)));
  EXPECT_NE(negative.find("rope scaling factor"), std::string::npos) << negative;
  EXPECT_EQ(load_error(write_model("none.gguf", kNoEdit, "llama", with("none", 4.0f))), "");
  // The older key llama.cpp also reads, with no type given.
  const std::string legacy = write_model("legacy.gguf", kNoEdit, "llama", [](GgufWriter& w) {
    w.set_f32("llama.rope.scale_linear", 2.0f);
  });
  GgufFile f = GgufFile::open(legacy);
  EXPECT_FLOAT_EQ(Model::load(f)->config().rope_freq_scale, 0.5f);
}

TEST(ModelLoad, UnsupportedArchitectureAndMissingKey) {
  const std::string arch = load_error(write_model("arch.gguf", kNoEdit, "rwkv6"));
  EXPECT_NE(arch.find("unsupported architecture 'rwkv6' (supported: llama, qwen2, qwen2moe, qwen, falcon"),
            std::string::npos) << arch;
  // The eps key follows the family's norm and is required: falcon (LayerNorm) reads layer_norm_epsilon.
  const std::string eps = load_error(write_model("falcon.gguf", kNoEdit, "falcon"));
  EXPECT_NE(eps.find("missing metadata falcon.attention.layer_norm_epsilon (required by falcon)"), std::string::npos)
      << eps;
  // qwen2 requires Q/K/V biases.
  const std::string bias = load_error(write_model("qwen2.gguf", kNoEdit, "qwen2"));
  EXPECT_NE(bias.find("missing tensor blk.0.attn_q.bias"), std::string::npos) << bias;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  const std::string path = test::temp_dir() + "/nokeys.gguf";
  w.write(path);
  const std::string key = load_error(path);
  EXPECT_NE(key.find("llama.embedding_length"), std::string::npos) << key;
}

TEST(Synth, PresetsAndVocabularyCopy) {
  auto qwen = synth_preset("qwen2-0.5b", "qwen2");
  ASSERT_TRUE(qwen.has_value());
  EXPECT_EQ(qwen->n_embd, 896);
  EXPECT_EQ(qwen->n_vocab, 151936);
  EXPECT_TRUE(qwen->tied_output);
  EXPECT_FALSE(synth_preset("gpt-5", "llama").has_value());
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-qwen2.gguf");
  SynthOptions o;
  o.shape = *synth_preset("tiny", "qwen2");
  o.vocab_path = test::shared_dir() + "/vocab/ggml-vocab-qwen2.gguf";
  const std::string path = test::temp_dir() + "/tiny-qwen2.gguf";
  synth_model(o).writer.write(path);
  GgufFile f = GgufFile::open(path);
  GgufFile vocab = GgufFile::open(o.vocab_path);
  const uint64_t n_tokens = vocab.find_array("tokenizer.ggml.tokens", GgufType::STRING)->array_size();
  EXPECT_EQ(f.find_array("tokenizer.ggml.tokens", GgufType::STRING)->array_size(), n_tokens);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), vocab.get_string("tokenizer.ggml.model"));
  auto model = Model::load(f);
  EXPECT_EQ(static_cast<uint64_t>(model->config().n_vocab), n_tokens);
  EXPECT_EQ(model->config().rope, RopeKind::Neox);
  EXPECT_EQ(model->weights().layers[0].bq.size(), 64u);
}

TEST(Synth, QuantizedTypeFallsBackWhereRowsDoNotFit) {
  SynthOptions o;
  o.shape = *synth_preset("tiny", "llama");  // n_embd 64: not a multiple of 256
  o.type = GgmlType::Q4_K;
  SynthModel m = synth_model(o);
  ASSERT_FALSE(m.fallbacks.empty());
  EXPECT_EQ(m.fallbacks[0], "token_embd.weight: Q8_0");
}

}  // namespace
}  // namespace lmzip

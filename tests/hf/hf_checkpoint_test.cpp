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
#include "lmzip/serve/service.h"
#include "hf/hf_writer.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::floats_of;
using test::write_checkpoint;

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
  // A tokenizer with more tokens than the embedding has rows.
  if (test::shared_has("hf-tokenizers/qwen2/tokenizer.json")) {
    fs::copy_file(test::shared_dir() + "/hf-tokenizers/qwen2/tokenizer.json", dir + "/tokenizer.json",
                  fs::copy_options::overwrite_existing);
    try {
      open_model_source(dir);
      ADD_FAILURE() << "no error";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("tokenizer.json: the tokenizer has 151"), std::string::npos) << err.what();
      EXPECT_NE(std::string(err.what()).find("has only 8000 rows"), std::string::npos) << err.what();
    }
    fs::remove(dir + "/tokenizer.json");
  } else {
    ADD_FAILURE() << "test material missing: " << test::shared_dir() << "/hf-tokenizers/qwen2/tokenizer.json";
  }

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

  // With the zoo's SentencePiece model as the checkpoint's tokenizer.model (what the study's slow tokenizer
  // reads), no --tokenizer is needed and nothing changes.
  fs::copy_file(zoo + "/models/zoo-spm.model", dir + "/tokenizer.model");
  const test::CliResult c = test::run_lmzip("bpc --no-db --json -m " + dir + " " + corpus);
  ASSERT_EQ(c.rc, 0) << c.err;
  const json jc = json::parse(c.out);
  EXPECT_EQ(jc["tokens"], ja["tokens"]);
  EXPECT_EQ(jc["total_nats"], jb["total_nats"]);
  EXPECT_EQ(jc["tokenizer_file"], dir + "/tokenizer.model");
  const test::CliResult info = test::run_lmzip("info --json " + dir);
  ASSERT_EQ(info.rc, 0) << info.err;
  const json ji = json::parse(info.out);
  EXPECT_EQ(ji["format"], "safetensors");
  EXPECT_EQ(ji["hf_architecture"], "LlamaForCausalLM");
  EXPECT_EQ(ji["architecture"], "llama");
}

// lmzip serve on a checkpoint directory: the echo log-probabilities of a prompt equal the GGUF file's Model::score
// values to 1e-6 (the same weights, read from safetensors).
TEST(HfServe, CompletionsOnACheckpointScoreLikeTheGgufFile) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string gguf = test::shared_dir() + "/zoo/models/zoo-s1.gguf";
  const std::string dir = test::temp_dir() + "/zoo-s1-hf-serve";
  write_checkpoint(GgufFile::open(gguf), "LlamaForCausalLM", dir);
  const ModelSource gsrc = open_model_source(gguf), hsrc = open_model_source(dir, gguf);
  const auto tok = gsrc.tokenizer();
  const auto gmodel = gsrc.load_model(), hmodel = hsrc.load_model();
  ThreadPool pool(2);
  serve::ServiceOptions options;
  options.model_name = "zoo-s1-hf";
  serve::Service service(*hmodel, *tok, pool, options);
  const std::vector<TokenId> ids = tok->encode("A checkpoint served over HTTP scores like its GGUF file.");
  const json body = {{"prompt", ids}, {"echo", true}, {"logprobs", 1}, {"max_tokens", 0}};
  const json r = json::parse(serve::dump(service.complete(serve::parse_completion_request(body, service.limits()))));
  std::vector<ScoredTarget> targets;
  for (size_t i = 0; i + 1 < ids.size(); ++i) targets.push_back({static_cast<uint32_t>(i), ids[i + 1]});
  const std::vector<double> nll = gmodel->score(ids, targets, pool);
  const json& lp = r["choices"][0]["logprobs"]["token_logprobs"];
  ASSERT_EQ(lp.size(), ids.size());
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_NEAR(lp[i].get<double>(), -nll[i - 1], 1e-6 * std::max(1.0, nll[i - 1])) << i;
  }
}

}  // namespace
}  // namespace lmzip

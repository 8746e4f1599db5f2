// Hugging Face tokenizer files (../shared/hf-tokenizers/FAMILY/) loaded with Tokenizer::from_file /
// from_hf_dir: each must give exactly the conformance vectors of its family's GGUF vocabulary, and the same ids
// as the GGUF tokenizer on real text. Families without vectors are compared with a sibling file or vocabulary.
#include <gtest/gtest.h>

#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/tok/hf_json.h"
#include "lmzip/tok/sp_model.h"
#include "lmzip/tok/tokenizer.h"
#include "testutil/testutil.h"
#include "tok/vectors.h"

namespace lmzip {
namespace {

using test::load_vectors;
using test::show;
using test::Vectors;

std::string hf(const std::string& rel) { return test::shared_dir() + "/hf-tokenizers/" + rel; }
std::string vocab_gguf(const std::string& name) { return test::shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf"; }

std::string param_name(std::string s) {
  for (char& c : s) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Conformance vectors through the Hugging Face files.

struct VectorCase {
  const char* file;     // under hf-tokenizers/
  const char* vectors;  // vocab/ggml-vocab-NAME.gguf.{inp,out}
};

class HfVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(HfVectors, MatchReferenceIds) {
  const VectorCase c = GetParam();
  LMZIP_REQUIRE_SHARED(std::string("hf-tokenizers/") + c.file);
  LMZIP_REQUIRE_SHARED(std::string("vocab/ggml-vocab-") + c.vectors + ".gguf.inp");
  std::unique_ptr<Tokenizer> tok = Tokenizer::from_file(hf(c.file));
  EXPECT_EQ(tok->source(), hf(c.file));
  const Vectors v = load_vectors(vocab_gguf(c.vectors));
  ASSERT_GT(v.inputs.size(), 0u);
  ASSERT_EQ(v.inputs.size(), v.expected.size());
  int failures = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    const std::vector<TokenId> got = tok->encode(v.inputs[i], {.add_special = false, .parse_special = false});
    if (got != v.expected[i]) {
      ++failures;
      ADD_FAILURE() << c.file << " vector " << i << ": input \"" << v.inputs[i] << "\"\n  expected "
                    << show(v.expected[i]) << "\n  got      " << show(got);
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << v.inputs.size() << " vectors differ";
  std::printf("[ vectors  ] %s: %zu/%zu %s vectors identical\n", c.file, v.inputs.size() - failures, v.inputs.size(),
              c.vectors);
}

INSTANTIATE_TEST_SUITE_P(Families, HfVectors,
                         ::testing::Values(VectorCase{"llama-bpe-3.2/tokenizer.json", "llama-bpe"},
                                           VectorCase{"qwen2/tokenizer.json", "qwen2"},
                                           VectorCase{"llama-spm/tokenizer.json", "llama-spm"},
                                           VectorCase{"llama-spm/tokenizer.model", "llama-spm"},
                                           VectorCase{"gpt-2/tokenizer.json", "gpt-2"},
                                           VectorCase{"deepseek-coder/tokenizer.json", "deepseek-coder"},
                                           VectorCase{"falcon/tokenizer.json", "falcon"},
                                           VectorCase{"starcoder/tokenizer.json", "starcoder"},
                                           VectorCase{"phi-3/tokenizer.json", "phi-3"},
                                           VectorCase{"phi-3/tokenizer.model", "phi-3"},
                                           // MPT ships the GPT-NeoX-20B tokenizer (vocabularies compared below).
                                           VectorCase{"gpt-neox/tokenizer.json", "mpt"},
                                           VectorCase{"gpt-neox/20B_tokenizer.json", "mpt"}),
                         [](const auto& info) { return param_name(info.param.file); });

// ---------------------------------------------------------------------------------------------------------------
// The same ids as another tokenizer on real text: the zoo corpora and every family's vector inputs.

std::vector<std::string> sample_texts() {
  std::vector<std::string> texts;
  for (const char* corpus : {"cc", "python", "arxiv_math"}) {
    texts.push_back(read_file(test::shared_dir() + "/zoo/corpora/" + corpus + ".testA.jsonl"));
  }
  for (const char* name : {"llama-spm", "llama-bpe", "qwen2", "gpt-2", "deepseek-coder", "falcon", "starcoder", "mpt",
                           "phi-3", "qwen35", "command-r", "gemma-4"}) {
    const Vectors v = load_vectors(vocab_gguf(name));
    texts.insert(texts.end(), v.inputs.begin(), v.inputs.end());
  }
  return texts;
}

void expect_same_ids(const Tokenizer& a, const Tokenizer& b, const EncodeOptions& options = {.add_special = false}) {
  static const std::vector<std::string> texts = sample_texts();
  int failures = 0;
  size_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<TokenId> x = a.encode(texts[i], options), y = b.encode(texts[i], options);
    tokens += x.size();
    if (x != y && ++failures <= 5) {
      size_t k = 0;
      while (k < x.size() && k < y.size() && x[k] == y[k]) ++k;
      ADD_FAILURE() << a.source() << " vs " << b.source() << ": text " << i << " differs at token " << k;
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << texts.size() << " texts differ";
  std::printf("[ same ids ] %s = %s on %zu texts (%zu tokens)\n", a.source().c_str(), b.source().c_str(),
              texts.size(), tokens);
}

struct GgufCase {
  const char* file;  // under hf-tokenizers/
  const char* gguf;  // vocab/ggml-vocab-NAME.gguf
};

class HfVsGguf : public ::testing::TestWithParam<GgufCase> {};

TEST_P(HfVsGguf, SameIdsOnRealText) {
  const GgufCase c = GetParam();
  LMZIP_REQUIRE_SHARED(std::string("hf-tokenizers/") + c.file);
  LMZIP_REQUIRE_SHARED("zoo/corpora");
  std::unique_ptr<Tokenizer> from_hf = Tokenizer::from_file(hf(c.file));
  std::unique_ptr<Tokenizer> from_gguf = Tokenizer::from_file(vocab_gguf(c.gguf));
  expect_same_ids(*from_hf, *from_gguf);
}

INSTANTIATE_TEST_SUITE_P(Families, HfVsGguf,
                         ::testing::Values(GgufCase{"llama-bpe-3.2/tokenizer.json", "llama-bpe"},
                                           GgufCase{"qwen2/tokenizer.json", "qwen2"},
                                           GgufCase{"llama-spm/tokenizer.json", "llama-spm"},
                                           GgufCase{"llama-spm/tokenizer.model", "llama-spm"},
                                           GgufCase{"gpt-2/tokenizer.json", "gpt-2"},
                                           GgufCase{"deepseek-coder/tokenizer.json", "deepseek-coder"},
                                           GgufCase{"falcon/tokenizer.json", "falcon"},
                                           GgufCase{"starcoder/tokenizer.json", "starcoder"},
                                           GgufCase{"phi-3/tokenizer.json", "phi-3"},
                                           GgufCase{"phi-3/tokenizer.model", "phi-3"},
                                           GgufCase{"gpt-neox/tokenizer.json", "mpt"}),
                         [](const auto& info) { return param_name(info.param.file); });

// The April 2024 Llama 3 tokenizer.json has no "ignore_merges" (so false, as the tokenizers library reads it);
// the reference vectors were made with it on (Llama 3.2's file says true, llama.cpp sets it for llama-bpe). Read
// as written, one vector differs ("Cửa Việt": " Việt" is a vocabulary token that the merges do not reach); with
// ignore_merges on, the file gives every vector and the GGUF tokenizer's ids.
TEST(HfTokenizer, Llama3OriginalFileDiffersOnlyByIgnoreMerges) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers/llama-bpe/tokenizer.json");
  Vocab vocab = vocab_from_hf_json_file(hf("llama-bpe/tokenizer.json"));
  EXPECT_EQ(vocab.ignore_merges, false);
  const Vectors v = load_vectors(vocab_gguf("llama-bpe"));
  std::unique_ptr<Tokenizer> as_written = Tokenizer::from_vocab(vocab, hf("llama-bpe/tokenizer.json"));
  std::vector<size_t> differing;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    if (as_written->encode(v.inputs[i], {.add_special = false}) != v.expected[i]) differing.push_back(i);
  }
  ASSERT_EQ(differing.size(), 1u);
  EXPECT_EQ(v.inputs[differing[0]], "C\xE1\xBB\xAD" "a Vi\xE1\xBB\x87t");
  vocab.ignore_merges = true;
  std::unique_ptr<Tokenizer> with_ignore = Tokenizer::from_vocab(vocab, hf("llama-bpe/tokenizer.json"));
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    EXPECT_EQ(with_ignore->encode(v.inputs[i], {.add_special = false}), v.expected[i]) << "vector " << i;
  }
  std::printf("[ vectors  ] llama-bpe/tokenizer.json: %zu/%zu llama-bpe vectors as written, %zu/%zu with ignore_merges\n",
              v.inputs.size() - differing.size(), v.inputs.size(), v.inputs.size(), v.inputs.size());
  expect_same_ids(*with_ignore, *Tokenizer::from_file(vocab_gguf("llama-bpe")));
}

// gpt-neox has no vectors. Its GGUF vocabulary names no pre-tokenizer, so llama.cpp (and lmzip) fall back to
// "default", which is not what the tokenizer.json says (ByteLevel = the GPT-2 regex). Same tokens and merges,
// and the same ids once the GGUF vocabulary is given the GPT-2 split; MPT's GGUF (which has vectors) is the same
// tokenizer.
TEST(HfTokenizer, GptNeoxEqualsItsGgufVocabularyWithTheGpt2Split) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers/gpt-neox/tokenizer.json");
  std::unique_ptr<Tokenizer> from_hf = Tokenizer::from_file(hf("gpt-neox/tokenizer.json"));
  for (const char* name : {"gpt-neox", "mpt"}) {
    Vocab v = Vocab::from_gguf(GgufFile::open(vocab_gguf(name)));
    ASSERT_GE(v.size(), from_hf->vocab_size());
    for (size_t id = 0; id < from_hf->vocab_size(); ++id) {
      ASSERT_EQ(v.tokens[id], from_hf->vocab().tokens[id]) << name << " token " << id;
    }
    EXPECT_EQ(v.merges, from_hf->vocab().merges) << name;
    if (std::string(name) == "gpt-neox") {
      EXPECT_EQ(v.pre, "");
      v.pre = "gpt-2";
    }
    expect_same_ids(*from_hf, *Tokenizer::from_vocab(std::move(v), vocab_gguf(name)));
  }
  expect_same_ids(*from_hf, *Tokenizer::from_file(hf("gpt-neox/20B_tokenizer.json")));
}

// Mistral has no GGUF here: its three files must agree with each other.
TEST(HfTokenizer, MistralModelAndJsonAgree) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers/mistral/tokenizer.model");
  std::unique_ptr<Tokenizer> model = Tokenizer::from_file(hf("mistral/tokenizer.model"));
  std::unique_ptr<Tokenizer> json = Tokenizer::from_file(hf("mistral/tokenizer.json"));
  std::unique_ptr<Tokenizer> metaspace = Tokenizer::from_file(hf("mistral/metaspace-revision-2024-07/tokenizer.json"));
  EXPECT_EQ(model->vocab().tokens, json->vocab().tokens);
  expect_same_ids(*model, *json);
  expect_same_ids(*model, *json, {.add_special = true, .parse_special = true});
  expect_same_ids(*model, *metaspace);
  for (const Tokenizer* t : {model.get(), json.get(), metaspace.get()}) {
    EXPECT_TRUE(t->vocab().add_bos) << t->source();
    EXPECT_EQ(t->bos(), 1) << t->source();
    EXPECT_EQ(t->eos(), 2) << t->source();
  }
  // prepend_scheme "first": no '▁' after a special token (the legacy files put one there).
  const std::vector<TokenId> legacy = json->encode("<s>Hello", {.add_special = false, .parse_special = true});
  const std::vector<TokenId> first = metaspace->encode("<s>Hello", {.add_special = false, .parse_special = true});
  ASSERT_FALSE(legacy.empty());
  EXPECT_EQ(legacy[0], 1);
  EXPECT_EQ(first[0], 1);
  ASSERT_GE(legacy.size(), 2u);
  ASSERT_GE(first.size(), 2u);
  EXPECT_EQ(json->piece(legacy[1]), "\xE2\x96\x81Hello");
  EXPECT_EQ(metaspace->piece(first[1]), "Hello");
  EXPECT_EQ(metaspace->decode(first), "<s>Hello");
  EXPECT_EQ(json->decode(legacy), "<s>Hello");
}

// The tokenizer.model and tokenizer.json of the same SentencePiece family agree (also with specials parsed).
TEST(HfTokenizer, SentencePieceModelAndJsonAgree) {
  for (const char* family : {"llama-spm", "phi-3"}) {
    LMZIP_REQUIRE_SHARED(std::string("hf-tokenizers/") + family + "/tokenizer.model");
    std::unique_ptr<Tokenizer> model = Tokenizer::from_file(hf(std::string(family) + "/tokenizer.model"));
    std::unique_ptr<Tokenizer> json = Tokenizer::from_file(hf(std::string(family) + "/tokenizer.json"));
    EXPECT_EQ(model->vocab().tokens, json->vocab().tokens) << family;
    expect_same_ids(*model, *json);
    EXPECT_EQ(model->vocab().add_bos, json->vocab().add_bos) << family;
    EXPECT_EQ(model->bos(), json->bos()) << family;
  }
}

// The zoo models' SentencePiece model against the zoo GGUF files' tokenizer.
TEST(HfTokenizer, ZooSentencePieceModelEqualsZooGguf) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-spm.model");
  std::unique_ptr<Tokenizer> model = Tokenizer::from_file(test::shared_dir() + "/zoo/models/zoo-spm.model");
  for (const char* gguf : {"zoo-s1.gguf", "zoo-m2.gguf"}) {
    std::unique_ptr<Tokenizer> g = Tokenizer::from_file(test::shared_dir() + "/zoo/models/" + gguf);
    EXPECT_EQ(model->vocab().tokens, g->vocab().tokens);
    EXPECT_EQ(model->vocab().scores, g->vocab().scores);
    EXPECT_EQ(model->vocab().types, g->vocab().types);
    expect_same_ids(*model, *g, {.add_special = true});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What the loaders read besides the pieces.

TEST(HfTokenizer, SpecialTokensAndFlags) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers");
  struct Expect {
    const char* file;
    const char* model;
    bool add_bos;
    std::optional<TokenId> bos, eos;
  };
  for (const Expect& e : {
           Expect{"llama-bpe/tokenizer.json", "gpt2", false, 128000, 128001},  // post_processor ByteLevel only
           Expect{"llama-bpe-3.2/tokenizer.json", "gpt2", true, 128000, 128009},
           Expect{"qwen2/tokenizer.json", "gpt2", false, std::nullopt, 151645},
           Expect{"llama-spm/tokenizer.json", "llama", true, 1, 2},
           Expect{"llama-spm/tokenizer.model", "llama", true, 1, 2},
           Expect{"phi-3/tokenizer.json", "llama", true, 1, 32000},
           Expect{"phi-3/tokenizer.model", "llama", true, 1, 32000},
           Expect{"deepseek-coder/tokenizer.json", "gpt2", true, 32013, 32021},
           Expect{"gpt-2/tokenizer.json", "gpt2", false, std::nullopt, std::nullopt},
       }) {
    std::unique_ptr<Tokenizer> t = Tokenizer::from_file(hf(e.file));
    EXPECT_EQ(t->vocab().model, e.model) << e.file;
    EXPECT_EQ(t->vocab().add_bos, e.add_bos) << e.file;
    EXPECT_FALSE(t->vocab().add_eos) << e.file;
    EXPECT_EQ(t->bos(), e.bos) << e.file;
    EXPECT_EQ(t->eos(), e.eos) << e.file;
  }
  // Llama 3.2 states ignore_merges; the Llama 3.0 file does not.
  EXPECT_EQ(Tokenizer::from_file(hf("llama-bpe-3.2/tokenizer.json"))->vocab().ignore_merges, true);
  EXPECT_EQ(Tokenizer::from_file(hf("llama-bpe/tokenizer.json"))->vocab().ignore_merges, false);
  // phi-3: the added tokens beyond the SentencePiece model come from tokenizer_config.json, with their types and
  // whitespace stripping (the same tokens llama.cpp strips for phi-3 by model name).
  std::unique_ptr<Tokenizer> phi = Tokenizer::from_file(hf("phi-3/tokenizer.model"));
  ASSERT_EQ(phi->vocab_size(), 32011u);
  EXPECT_EQ(phi->piece(32007), "<|end|>");
  EXPECT_EQ(phi->vocab().types[32007], TokenType::Control);
  EXPECT_EQ(phi->vocab().types[2], TokenType::UserDefined);  // </s>: special false in added_tokens_decoder
  // tokenizer_config.json says legacy: false, which the slow (SentencePiece) tokenizer honours: no '▁' after a
  // special token. The fast tokenizer.json keeps the legacy Prepend normalizer, so it puts one there.
  const EncodeOptions parse{.add_special = false, .parse_special = true};
  std::unique_ptr<Tokenizer> phi_json = Tokenizer::from_file(hf("phi-3/tokenizer.json"));
  const std::vector<TokenId> slow = phi->encode("<|user|>\nHi<|end|>", parse);
  const std::vector<TokenId> fast = phi_json->encode("<|user|>\nHi<|end|>", parse);
  ASSERT_EQ(slow.size(), 3u);
  ASSERT_EQ(fast.size(), 3u);
  EXPECT_EQ(slow[0], 32010);
  EXPECT_EQ(phi->piece(slow[1]), "Hi");  // the '\n' after <|user|> is stripped (rstrip)
  EXPECT_EQ(phi_json->piece(fast[1]), "\xE2\x96\x81Hi");
  EXPECT_EQ(slow[2], 32007);
  EXPECT_EQ(fast[2], 32007);
  EXPECT_EQ(phi->encode("Hi", parse), phi_json->encode("Hi", parse));  // the start of the text: both prefix
  EXPECT_EQ(phi->encode("<|user|>\nHi", {.add_special = false, .parse_special = true}),
            phi->encode("<|user|>Hi", {.add_special = false, .parse_special = true}));
}

TEST(HfTokenizer, DirectoryPrefersTheSentencePieceModel) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers");
  EXPECT_EQ(Tokenizer::hf_tokenizer_file(hf("llama-spm")), hf("llama-spm/tokenizer.model"));
  EXPECT_EQ(Tokenizer::hf_tokenizer_file(hf("mistral")), hf("mistral/tokenizer.model"));
  EXPECT_EQ(Tokenizer::hf_tokenizer_file(hf("qwen2")), hf("qwen2/tokenizer.json"));
  // Llama 3's original/tokenizer.model is tiktoken, one level down: the top-level tokenizer.json is used.
  EXPECT_EQ(Tokenizer::hf_tokenizer_file(hf("llama-bpe")), hf("llama-bpe/tokenizer.json"));
  std::unique_ptr<Tokenizer> t = Tokenizer::from_hf_dir(hf("phi-3"));
  EXPECT_EQ(t->source(), hf("phi-3/tokenizer.model"));
  EXPECT_THROW(Tokenizer::hf_tokenizer_file(test::shared_dir() + "/zoo"), Error);
}

// A tokenizer.model lmzip cannot read (here: not a protobuf at all) gives way to tokenizer.json; when neither
// reads, the error names both files.
TEST(HfTokenizer, UnreadableSentencePieceModelFallsBackToTheJson) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers");
  namespace fs = std::filesystem;
  const std::string dir = test::temp_dir() + "/fallback";
  fs::create_directories(dir);
  write_file_atomic(dir + "/tokenizer.model", std::string("\xff\xff\xff\xff not a model", 17));
  fs::copy_file(hf("qwen2/tokenizer.json"), dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
  std::optional<VocabFile> v = vocab_from_hf_dir(dir);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->file, dir + "/tokenizer.json");
  EXPECT_EQ(v->vocab.tokens, Tokenizer::from_file(hf("qwen2/tokenizer.json"))->vocab().tokens);
  EXPECT_EQ(Tokenizer::from_hf_dir(dir)->source(), dir + "/tokenizer.json");
  write_file_atomic(dir + "/tokenizer.json", "{ not json");
  try {
    vocab_from_hf_dir(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
  fs::remove(dir + "/tokenizer.model");
  fs::remove(dir + "/tokenizer.json");
  EXPECT_FALSE(vocab_from_hf_dir(dir).has_value());
}

// ---------------------------------------------------------------------------------------------------------------
// Refusals: each names the file and what is wrong.

std::string write_temp(const std::string& name, std::string_view content) {
  const std::string path = test::temp_dir() + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomic(path, content);
  return path;
}

std::string error_of(const std::string& path) {
  try {
    Tokenizer::from_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_error(const std::string& path, const std::string& needle) {
  const std::string message = error_of(path);
  EXPECT_NE(message.find(path), std::string::npos) << "the message does not name the file: " << message;
  EXPECT_NE(message.find(needle), std::string::npos) << "expected '" << needle << "' in: " << message;
}

constexpr const char* kTinyBpe = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}})";

TEST(HfTokenizerErrors, ModelTypesOtherThanBpe) {
  for (const char* type : {"Unigram", "WordPiece", "WordLevel"}) {
    std::string json = std::string(R"({"model": {"type": ")") + type + R"(", "vocab": []}})";
    expect_error(write_temp(std::string("types/") + type + "/tokenizer.json", json), std::string("model type '") + type + "'");
  }
}

TEST(HfTokenizerErrors, UnknownRegexAndComponents) {
  std::string json = kTinyBpe;
  json.replace(json.find(R"("pre_tokenizer")"), std::string::npos,
               R"("pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+|x"},
                 "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}})");
  expect_error(write_temp("regex/tokenizer.json", json), "pre_tokenizer Split regex not recognised: \\w+|x");

  std::string ws = kTinyBpe;
  ws.replace(ws.find(R"("pre_tokenizer")"), std::string::npos, R"("pre_tokenizer": {"type": "Whitespace"}})");
  expect_error(write_temp("ws/tokenizer.json", ws), "pre_tokenizer 'Whitespace' is not supported");

  std::string lower = kTinyBpe;
  lower.insert(1, R"("normalizer": {"type": "Lowercase"}, )");
  expect_error(write_temp("lower/tokenizer.json", lower), "normalizer 'Lowercase' is not supported");

  std::string combo = kTinyBpe;
  combo.replace(combo.find(R"("pre_tokenizer")"), std::string::npos,
                R"("pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": false},
                  {"type": "ByteLevel", "add_prefix_space": false}]}})");
  expect_error(write_temp("combo/tokenizer.json", combo), "[Digits, ByteLevel(regex)] is not a pre-tokenizer lmzip implements");
}

TEST(HfTokenizerErrors, OptionsThatWouldTokenizeDifferently) {
  std::string unk = kTinyBpe;
  unk.replace(unk.find(R"("merges")"), 0, R"("unk_token": "a", )");
  expect_error(write_temp("unk/tokenizer.json", unk), "model.unk_token is set and byte 0 has no token");

  const std::string spm_model =
      R"("model": {"type": "BPE", "byte_fallback": true, "vocab": {"▁": 0, "a": 1, "▁a": 2}, "merges": ["▁ a"]})";
  expect_error(write_temp("split/tokenizer.json",
                          "{" + spm_model + R"(, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}})"),
               "Metaspace with split: true is not supported");
  std::unique_ptr<Tokenizer> ok = Tokenizer::from_file(write_temp(
      "metaspace/tokenizer.json",
      "{" + spm_model + R"(, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false}})"));
  EXPECT_EQ(ok->vocab().model, "llama");
  EXPECT_EQ(ok->encode("a", {.add_special = false}), std::vector<TokenId>({2}));
  std::string single = kTinyBpe;
  single.insert(1, R"("added_tokens": [{"id": 3, "content": "<x>", "special": true, "single_word": true}], )");
  expect_error(write_temp("single/tokenizer.json", single), "single_word: true");
}

TEST(HfTokenizerErrors, MalformedJson) {
  expect_error(write_temp("bad/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0})"), "not valid JSON");
  expect_error(write_temp("bad2/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})"),
               "is not an integer token id");
  // A broken tokenizer_config.json beside a good tokenizer.json is named too.
  write_temp("badconfig/tokenizer.json", kTinyBpe);
  const std::string config = write_temp("badconfig/tokenizer_config.json", "{\"add_bos_token\": tru");
  const std::string message = error_of(test::temp_dir() + "/badconfig/tokenizer.json");
  EXPECT_NE(message.find(config), std::string::npos) << message;
  // The tiny file itself loads.
  EXPECT_NO_THROW(Tokenizer::from_file(write_temp("tiny/tokenizer.json", kTinyBpe)));
}

// Protobuf bytes: a length-delimited field, a varint field.
std::string pb_bytes(uint32_t field, std::string_view value) {
  std::string out;
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) out.push_back(static_cast<char>((v & 0x7F) | 0x80)), v >>= 7;
    out.push_back(static_cast<char>(v));
  };
  varint((uint64_t{field} << 3) | 2);
  varint(value.size());
  out.append(value);
  return out;
}
std::string pb_varint(uint32_t field, uint64_t value) {
  std::string out;
  for (uint64_t v = (uint64_t{field} << 3); ; v >>= 7) {
    out.push_back(static_cast<char>((v & 0x7F) | (v >= 0x80 ? 0x80 : 0)));
    if (v < 0x80) break;
  }
  for (uint64_t v = value; ; v >>= 7) {
    out.push_back(static_cast<char>((v & 0x7F) | (v >= 0x80 ? 0x80 : 0)));
    if (v < 0x80) break;
  }
  return out;
}

TEST(HfTokenizerErrors, SentencePieceModels) {
  const std::string pieces = pb_bytes(1, pb_bytes(1, "<unk>") + pb_varint(3, 2)) + pb_bytes(1, pb_bytes(1, "a"));
  const std::string normalizer = pb_bytes(3, pb_varint(4, 0));
  expect_error(write_temp("unigram/tokenizer.model", pieces + pb_bytes(2, pb_varint(3, 1)) + normalizer),
               "SentencePiece model type UNIGRAM");
  expect_error(write_temp("notrainer/tokenizer.model", pieces + normalizer), "model type UNIGRAM");
  const std::string bpe = pieces + pb_bytes(2, pb_varint(3, 2) + pb_varint(42, ~uint64_t{0})) + normalizer;
  std::unique_ptr<Tokenizer> tiny = Tokenizer::from_file(write_temp("bpe/tokenizer.model", bpe));
  EXPECT_EQ(tiny->vocab_size(), 2u);
  EXPECT_EQ(tiny->vocab().unk, 0);
  EXPECT_EQ(tiny->vocab().eos, std::nullopt);  // eos_id = -1
  EXPECT_EQ(tiny->encode("a", {.add_special = false}), std::vector<TokenId>({0, 1}));  // '▁' is unknown, 'a'

  const std::string real = read_file(hf("llama-spm/tokenizer.model"));
  for (size_t cut : {size_t{1}, size_t{7}, real.size() / 3, real.size() - 5}) {
    expect_error(write_temp("cut" + std::to_string(cut) + "/tokenizer.model", real.substr(0, cut)), "ModelProto");
  }
  std::string bad_type = real;
  bad_type[0] = static_cast<char>((1 << 3) | 7);  // field 1 with the invalid wire type 7
  expect_error(write_temp("wiretype/tokenizer.model", bad_type), "invalid wire type 7");
  expect_error(hf("llama-bpe/original/tokenizer.model"), "tiktoken");
  expect_error(write_temp("x/tokenizer.txt", "hello"), "not a tokenizer file");
}

// Every prefix of a real file is refused cleanly or loads; never a crash (the fuzz targets go further).
TEST(HfTokenizerErrors, TruncatedFilesNeverCrash) {
  LMZIP_REQUIRE_SHARED("hf-tokenizers/mistral/tokenizer.model");
  const std::string model = read_file(hf("mistral/tokenizer.model"));
  for (size_t cut = 0; cut < model.size(); cut += 997) {
    try {
      vocab_from_sp_model(std::string_view(model).substr(0, cut), "cut.model");
    } catch (const Error&) {
    }
  }
  const std::string json = read_file(hf("gpt-2/tokenizer.json"));
  for (size_t cut = 0; cut < json.size(); cut += json.size() / 37) {
    EXPECT_THROW(vocab_from_hf_json(std::string_view(json).substr(0, cut), "cut.json"), Error);
  }
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// The fuzz seeds are valid inputs (so the fuzzers start from loading files), except the Unigram one.
TEST(HfTokenizer, FuzzSeedsLoad) {
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::is_directory("fuzz/seeds/hf_json")) << "run from the source root (ctest does)";
  for (const auto& entry : fs::directory_iterator("fuzz/seeds/hf_json")) {
    const std::string input = read_file(entry.path().string());
    const size_t nul = input.find('\0');
    const std::string config = nul == std::string::npos ? "" : input.substr(nul + 1);
    Vocab v = vocab_from_hf_json(std::string_view(input).substr(0, nul), entry.path().string(), config);
    std::unique_ptr<Tokenizer> t = Tokenizer::from_vocab(std::move(v), entry.path().string());
    EXPECT_FALSE(t->encode("ab ab").empty()) << entry.path();
  }
  std::unique_ptr<Tokenizer> t = Tokenizer::from_file("fuzz/seeds/sp_model/tiny-bpe.model");
  EXPECT_EQ(t->encode("ab a", {.add_special = false}), std::vector<TokenId>({264, 262}));  // ▁ab ▁a
  EXPECT_THROW(Tokenizer::from_file("fuzz/seeds/sp_model/tiny-unigram.model"), Error);
}

}  // namespace
}  // namespace lmzip

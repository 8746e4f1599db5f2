#include "lmzip/format/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string sample_file() {
  GgufWriter w;
  w.set_string("general.architecture", "llama")
      .set_u32("llama.block_count", 2)
      .set_f32("llama.rope.freq_base", 10000.0f)
      .set_bool("tokenizer.ggml.add_bos_token", true)
      .set_i8("test.i8", -5)
      .set_u64("test.u64", 1ull << 40)
      .set_f64("test.f64", 0.25)
      .set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"})
      .set_f32s("tokenizer.ggml.scores", {0.f, 0.f, 0.f, -1.5f})
      .set_i32s("tokenizer.ggml.token_type", {2, 3, 3, 1});
  w.add_tensor_f32("a", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  w.add_tensor("b", GgmlType::Q8_0, {32}, std::string(34, '\1'));
  return w.to_bytes();
}

TEST(Gguf, WriterRoundTripsThroughReader) {
  std::string bytes = sample_file();
  GgufFile f = GgufFile::parse("mem", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.require_int("llama.block_count"), 2);
  EXPECT_FLOAT_EQ(*f.get_double("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(*f.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_EQ(*f.get_int("test.i8"), -5);
  EXPECT_EQ(*f.get_int("test.u64"), int64_t(1) << 40);
  EXPECT_DOUBLE_EQ(*f.get_double("test.f64"), 0.25);
  const GgufValue* toks = f.find_array("tokenizer.ggml.tokens", GgufType::STRING);
  ASSERT_NE(toks, nullptr);
  ASSERT_EQ(toks->array_size(), 4u);
  EXPECT_EQ(toks->array_strings()[3], "a");
  const GgufValue* scores = f.find_array("tokenizer.ggml.scores", GgufType::FLOAT32);
  EXPECT_FLOAT_EQ(scores->array_number(3), -1.5f);
  EXPECT_EQ(f.find_array("tokenizer.ggml.token_type", GgufType::INT32)->array_int(0), 2);
  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensorInfo* a = f.find_tensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dims, (std::vector<uint64_t>{4, 2}));
  EXPECT_EQ(a->n_bytes, 32u);
  EXPECT_EQ(a->rows(), 2u);
  float v[8];
  std::memcpy(v, a->data, sizeof v);
  EXPECT_EQ(v[7], 8.f);
  const GgufTensorInfo* b = f.find_tensor("b");
  EXPECT_EQ(b->type, GgmlType::Q8_0);
  EXPECT_EQ(b->n_bytes, 34u);
  EXPECT_EQ(b->offset % 32, 0u);
  EXPECT_EQ((f.data_offset() % 32), 0u);
}

TEST(Gguf, TypedLookupErrorsNameTheKey) {
  std::string bytes = sample_file();
  GgufFile f = GgufFile::parse("mem.gguf", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  EXPECT_FALSE(f.get_int("missing").has_value());
  try {
    f.require_int("llama.context_length");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mem.gguf: required metadata key 'llama.context_length' is missing"),
              std::string::npos);
  }
  EXPECT_THROW(f.get_int("general.architecture"), Error);
  EXPECT_THROW(f.find_array("tokenizer.ggml.tokens", GgufType::FLOAT32), Error);
}

TEST(Gguf, BlockSizes) {
  EXPECT_EQ(*ggml_bytes(GgmlType::Q4_K, 256), 144u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q5_K, 256), 176u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q6_K, 256), 210u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q8_K, 256), 292u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q4_0, 64), 36u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q4_1, 32), 20u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q5_0, 32), 22u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q5_1, 32), 24u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q2_K, 256), 84u);
  EXPECT_EQ(*ggml_bytes(GgmlType::Q3_K, 256), 110u);
  EXPECT_EQ(*ggml_bytes(GgmlType::IQ4_NL, 64), 36u);
  EXPECT_EQ(*ggml_bytes(GgmlType::IQ4_XS, 256), 136u);
  EXPECT_EQ(*ggml_bytes(GgmlType::IQ2_XXS, 256), 66u);
  EXPECT_EQ(ggml_type_info(20u)->type, GgmlType::IQ4_NL);
  EXPECT_EQ(ggml_type_info(23u)->type, GgmlType::IQ4_XS);
  EXPECT_EQ(*ggml_bytes(GgmlType::BF16, 3), 6u);
  EXPECT_FALSE(ggml_bytes(GgmlType::Q8_0, 33).has_value());
  EXPECT_EQ(ggml_type_info(99u), nullptr);
}

// Every truncation of a valid file is rejected with an Error, never a crash.
TEST(Gguf, EveryTruncationIsAnError) {
  std::string bytes = sample_file();
  for (size_t n = 0; n < bytes.size(); ++n) {
    // The writer pads the last tensor; cutting padding only is still a valid file.
    try {
      GgufFile::parse("cut", reinterpret_cast<const uint8_t*>(bytes.data()), n);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut: invalid GGUF"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(GgufFile::parse("cut", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() - 40), Error);
}

void patch_u64(std::string& s, size_t at, uint64_t v) { std::memcpy(&s[at], &v, 8); }

TEST(Gguf, HugeCountsAreRejectedWithoutAllocating) {
  std::string bytes = sample_file();
  std::string t = bytes;
  patch_u64(t, 8, ~0ull);  // tensor count
  EXPECT_THROW(GgufFile::parse("x", reinterpret_cast<const uint8_t*>(t.data()), t.size()), Error);
  t = bytes;
  patch_u64(t, 16, 1ull << 62);  // kv count
  EXPECT_THROW(GgufFile::parse("x", reinterpret_cast<const uint8_t*>(t.data()), t.size()), Error);
  t = bytes;
  patch_u64(t, 24, ~0ull - 3);  // first key's length
  EXPECT_THROW(GgufFile::parse("x", reinterpret_cast<const uint8_t*>(t.data()), t.size()), Error);
}

TEST(Gguf, BadMagicAndVersion) {
  std::string bytes = sample_file();
  std::string t = bytes;
  t[0] = 'X';
  try {
    GgufFile::parse("m.bin", reinterpret_cast<const uint8_t*>(t.data()), t.size());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a GGUF file"), std::string::npos);
  }
  t = bytes;
  t[4] = 1;
  EXPECT_THROW(GgufFile::parse("m", reinterpret_cast<const uint8_t*>(t.data()), t.size()), Error);
  t[4] = 2;  // v2 has the same layout as v3 for little-endian files
  EXPECT_NO_THROW(GgufFile::parse("m", reinterpret_cast<const uint8_t*>(t.data()), t.size()));
}

TEST(Gguf, UnknownTensorTypeIsNamed) {
  GgufWriter w;
  w.add_tensor_f32("weird", {4}, {1, 2, 3, 4});
  std::string bytes = w.to_bytes();
  // tensor info: after header (24) + name (8 + 5) + n_dims (4) + dim (8) comes the type.
  size_t type_at = 24 + 8 + 5 + 4 + 8;
  uint32_t bad = 77;
  std::memcpy(&bytes[type_at], &bad, 4);
  try {
    GgufFile::parse("w.gguf", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'weird': unknown tensor type id 77"), std::string::npos) << e.what();
  }
}

TEST(Gguf, ReadsRealVocabFiles) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  GgufFile f = GgufFile::open(test::shared_dir() + "/vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(f.require_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.find_array("tokenizer.ggml.tokens", GgufType::STRING)->array_size(), 32000u);
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// Inputs the fuzzer flagged (tests/format/regressions/): each must parse or fail with an Error, quickly.
TEST(GgufRegressions, FuzzerInputsFailCleanly) {
  for (const char* name : {"slow-unit-nested-arrays.gguf"}) {
    std::string path = std::string("tests/format/regressions/") + name;
    std::string bytes = read_file(path);
    try {
      GgufFile::parse(path, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("invalid GGUF"), std::string::npos) << e.what();
    }
  }
}

// A file may claim huge counts of nested arrays or strings: rejected with the key named, before any allocation
// for the claim (the parser reserves at most 65536 elements ahead of what it has read).
TEST(GgufRegressions, ClaimedCountsBeyondTheFileAreRejected) {
  for (GgufType inner : {GgufType::ARRAY, GgufType::STRING}) {
    std::string bytes = "GGUF";
    auto put32 = [&](uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); };
    auto put64 = [&](uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), 8); };
    put32(3);
    put64(0);  // tensors
    put64(1);  // metadata entries
    put64(1);
    bytes += "k";
    put32(static_cast<uint32_t>(GgufType::ARRAY));
    put32(static_cast<uint32_t>(inner));
    put64(1ull << 40);  // claimed elements
    bytes.append(4096, '\0');
    try {
      GgufFile::parse("claims", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("metadata key 'k'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cannot fit in the file"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lmzip

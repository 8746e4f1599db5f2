// `lmzip synth` end to end: writes a model `lmzip info` reads back with the requested shape, type and vocabulary;
// bad flags are usage errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

int run(const std::string& args, std::string* out, std::string* err) {
  return test::run_command(test::lmzip_bin() + " " + args, out, err);
}

TEST(SynthCli, WritesAModelInfoReadsBack) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-qwen2.gguf");
  const std::string path = test::temp_dir() + "/synth-tiny.gguf";
  std::string out, err;
  ASSERT_EQ(run("synth --arch qwen2 --preset tiny --seed 5 --type F16 --vocab " + test::shared_dir() +
                    "/vocab/ggml-vocab-qwen2.gguf -o " + path,
                &out, &err),
            0)
      << err;
  ASSERT_EQ(run("info --json " + path, &out, &err), 0) << err;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["architecture"], "qwen2");
  EXPECT_EQ(j["hyperparameters"]["embedding_length"], 64);
  EXPECT_EQ(j["hyperparameters"]["block_count"], 2);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 151936);
  EXPECT_NE(out.find("F16"), std::string::npos);
}

TEST(SynthCli, BadFlagsAreUsageErrors) {
  std::string out, err;
  EXPECT_EQ(run("synth --preset nope -o " + test::temp_dir() + "/x.gguf", &out, &err), 2);
  EXPECT_NE(err.find("unknown --preset 'nope'"), std::string::npos) << err;
  EXPECT_EQ(run("synth --type Q5_K -o " + test::temp_dir() + "/x.gguf", &out, &err), 1);
  EXPECT_NE(err.find("Q5_K"), std::string::npos) << err;
  EXPECT_EQ(run("synth --preset tiny", &out, &err), 2);
  EXPECT_NE(err.find("-o FILE.gguf is required"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip

// `lmzip tokenize`: the CLI contract scripts depend on (--ids, --no-bos, -f, --batch, --parse-special), the
// readable outputs, and clear errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

struct CliRun {
  int rc;
  std::string out, err;
};

CliRun lmzip(const std::string& args, const std::string& stdin_text = "") {
  // stdin comes from a file so any bytes pass through the shell untouched.
  static int counter = 0;
  const std::string input = test::temp_dir() + "/stdin." + std::to_string(counter++);
  std::ofstream(input, std::ios::binary) << stdin_text;
  CliRun r;
  r.rc = test::run_command(test::lmzip_bin() + " " + args + " < " + input, &r.out, &r.err);
  return r;
}

std::string llama_vocab() { return test::shared_dir() + "/vocab/ggml-vocab-llama-spm.gguf"; }
const std::string kDemoModel = "models/zoo-m2-F16.gguf";

TEST(TokenizeCli, IdsOnOneLine) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  CliRun r = lmzip("tokenize -m " + llama_vocab() + " --ids", "Hello world");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "1 15043 3186\n");
  r = lmzip("tokenize -m " + llama_vocab() + " --ids --no-bos", "Hello world");
  EXPECT_EQ(r.out, "15043 3186\n");
  // Nothing to print without BOS on empty input: an empty line.
  r = lmzip("tokenize -m " + llama_vocab() + " --ids --no-bos", "");
  EXPECT_EQ(r.out, "\n");
}

TEST(TokenizeCli, FileArgumentMatchesStdin) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  const std::string path = test::temp_dir() + "/text.txt";
  std::ofstream(path, std::ios::binary) << "Hello world";
  CliRun r = lmzip("tokenize -m " + llama_vocab() + " --ids -f " + path);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "1 15043 3186\n");
}

TEST(TokenizeCli, BatchOneLinePerInputInOrder) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  CliRun r = lmzip("tokenize -m " + llama_vocab() + " --batch --no-bos", "\"Hello world\"\n\"\"\n\"a\\nb\"\n\"Hello\"\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "15043 3186\n\n263 13 29890\n15043\n");
  r = lmzip("tokenize -m " + llama_vocab() + " --batch", "\"\"\n\"Hello\"\n");
  EXPECT_EQ(r.out, "1\n1 15043\n");
}

TEST(TokenizeCli, SpecialTextOnlyParsedOnRequest) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  CliRun plain = lmzip("tokenize -m " + llama_vocab() + " --ids --no-bos", "<s>x");
  CliRun parsed = lmzip("tokenize -m " + llama_vocab() + " --ids --no-bos --parse-special", "<s>x");
  ASSERT_EQ(plain.rc, 0) << plain.err;
  EXPECT_EQ(plain.out, "529 29879 29958 29916\n");  // "▁<", "s", ">", "x"
  EXPECT_EQ(parsed.out, "1 921\n");                 // <s>, "▁x"
  CliRun batch = lmzip("tokenize -m " + llama_vocab() + " --batch --no-bos --parse-special", "\"<s>x\"\n");
  EXPECT_EQ(batch.out, "1 921\n");
}

TEST(TokenizeCli, PiecesOfTheDemoModel) {
  CliRun r = lmzip("tokenize -m " + kDemoModel + " --pieces", "Compression represents intelligence linearly.\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "<s> \xE2\x96\x81" "Comp ression \xE2\x96\x81" "represents \xE2\x96\x81" "int ell ig ence "
                   "\xE2\x96\x81" "line ar ly . <0x0A>\n");
}

TEST(TokenizeCli, JsonAndSummary) {
  CliRun r = lmzip("tokenize -m " + kDemoModel + " --json", "Hello world");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens"), 5);
  EXPECT_EQ(j.at("bytes"), 11);
  EXPECT_EQ(j.at("ids"), nlohmann::json({1, 6431, 349, 295, 4586}));
  EXPECT_EQ(j.at("pieces").at(0), "<s>");
  r = lmzip("tokenize -m " + kDemoModel, "Hello world");
  EXPECT_EQ(r.out, "5 tokens for 11 bytes (2.2 bytes/token)\n1 6431 349 295 4586\n");
}

TEST(TokenizeCli, ClearErrors) {
  CliRun r = lmzip("tokenize --ids", "x");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("-m MODEL.gguf"), std::string::npos) << r.err;
  r = lmzip("tokenize -m " + kDemoModel + " --ids --json", "x");
  EXPECT_EQ(r.rc, 2);
  r = lmzip("tokenize -m /nonexistent/model.gguf", "x");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
  r = lmzip("tokenize -m " + kDemoModel + " --batch", "\"ok\"\nnot json\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("<stdin>:2: not valid JSON at column "), std::string::npos) << r.err;
  r = lmzip("tokenize -m " + kDemoModel + " --batch", "\"ok\"\n17\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("standard input line 2: --batch expects one JSON string per line"), std::string::npos) << r.err;
  // A file that is not GGUF.
  const std::string bogus = test::temp_dir() + "/bogus.gguf";
  std::ofstream(bogus) << "not a gguf file";
  r = lmzip("tokenize -m " + bogus, "x");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bogus.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lmzip

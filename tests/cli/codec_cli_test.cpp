// `lmzip compress` / `lmzip decompress` as scripts use them: files and pipes, --json fields, and clear errors
// (wrong model, corrupt file) that leave no output file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

std::string model(const char* name) { return test::shared_dir() + "/zoo/models/" + name; }

TEST(CodecCli, RoundTripWithJson) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  std::string dir = test::temp_dir(), in = dir + "/text.txt";
  std::string text = slurp(test::shared_dir() + "/zoo/corpora/cc.testA.txt").substr(0, 3000) + "\x80\xFF tail";
  spit(in, text);
  std::string out, err;
  int rc = test::run_command(test::lmzip_bin() + " compress -m " + model("zoo-s1.gguf") + " " + in + " -o " + dir +
                                 "/text.lmz -t 2 --json --codec zstd --segment-tokens 300",
                             &out, &err);
  ASSERT_EQ(rc, 0) << err;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["input_bytes"], text.size());
  EXPECT_EQ(j["output_bytes"], std::filesystem::file_size(dir + "/text.lmz"));
  EXPECT_GT(j["model_bits"].get<double>(), 0.0);
  EXPECT_NEAR(j["bits_per_byte"].get<double>(), 8.0 * j["output_bytes"].get<double>() / text.size(), 1e-9);
  // Within 0.5 % of the cross-entropy, plus a few bits per segment for span headers and the coder's flush.
  double ideal = j["model_bits"].get<double>() + j["raw_bits"].get<double>();
  EXPECT_LT(8 * j["payload_bytes"].get<double>(), ideal * 1.005 + 40 * j["segments"].get<double>());
  EXPECT_TRUE(j.contains("seconds"));
  EXPECT_GT(j["baselines"]["zstd -19"]["output_bytes"].get<double>(), j["output_bytes"].get<double>());
  rc = test::run_command(test::lmzip_bin() + " decompress -m " + model("zoo-s1.gguf") + " " + dir + "/text.lmz -o " +
                             dir + "/text.out -t 1",
                         &out, &err);
  ASSERT_EQ(rc, 0) << err;
  EXPECT_EQ(slurp(dir + "/text.out"), text);
}

TEST(CodecCli, PipesAndEmptyInput) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  std::string dir = test::temp_dir(), out, err;
  std::string cmd = "printf 'hello\\000world' | " + test::lmzip_bin() + " compress -m " + model("zoo-s1.gguf") +
                    " - -o - 2>/dev/null | " + test::lmzip_bin() + " decompress -m " + model("zoo-s1.gguf") +
                    " - -o - | od -c | head -1";
  ASSERT_EQ(test::run_command(cmd, &out, &err), 0) << err;
  EXPECT_NE(out.find("h   e   l   l   o  \\0   w   o   r   l   d"), std::string::npos) << out;
  spit(dir + "/empty", "");
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " compress -m " + model("zoo-s1.gguf") + " " + dir + "/empty", &out,
                              &err), 0) << err;
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " decompress -m " + model("zoo-s1.gguf") + " " + dir +
                                  "/empty.lmz -o " + dir + "/empty.out", &out, &err), 0) << err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/empty.out"));
  EXPECT_EQ(std::filesystem::file_size(dir + "/empty.out"), 0u);
}

TEST(CodecCli, ErrorsLeaveNoOutput) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s2.gguf");
  std::string dir = test::temp_dir(), out, err;
  spit(dir + "/a.txt", "The model has to be the same on both sides.\n");
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " compress -m " + model("zoo-s1.gguf") + " " + dir + "/a.txt",
                              &out, &err), 0) << err;
  // Wrong model: exit 1, the message says which fingerprint differs, no output file.
  int rc = test::run_command(test::lmzip_bin() + " decompress -m " + model("zoo-s2.gguf") + " " + dir +
                                 "/a.txt.lmz -o " + dir + "/wrong.out", &out, &err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("weights fingerprint differs"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/wrong.out"));
  // Truncated: exit 1, names the segment, no output file.
  std::string lmz = slurp(dir + "/a.txt.lmz");
  spit(dir + "/cut.lmz", lmz.substr(0, lmz.size() - 2));
  rc = test::run_command(test::lmzip_bin() + " decompress -m " + model("zoo-s1.gguf") + " " + dir + "/cut.lmz", &out,
                         &err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("segment 0 of 1"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/cut"));
  // Not an .lmz file at all.
  rc = test::run_command(test::lmzip_bin() + " decompress -m " + model("zoo-s1.gguf") + " " + dir + "/a.txt -o " +
                             dir + "/x", &out, &err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("not an .lmz file"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip

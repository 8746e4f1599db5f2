// `lmzip bpc --device`: the CPU default, the CUDA engine's options, and a clear error (exit 1) when the CUDA
// plugin or a GPU is missing. The GPU's numbers are checked by test_cuda on a GPU machine (scripts/cuda/check.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kModel = "models/zoo-m2-F16.gguf";

std::string corpus() {
  std::string path = test::temp_dir() + "/device.jsonl";
  write_file_atomic(path, "{\"content\": \"The quick brown fox jumps over the lazy dog. It was a sunny day.\"}\n");
  return path;
}

TEST(DeviceCli, CpuIsTheDefaultAndIsRecorded) {
  auto r = test::run_lmzip("bpc --json --no-db -m " + kModel + " " + corpus() + " --protocol doc --window 16 -t 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["device"], "cpu");
  auto r2 = test::run_lmzip("bpc --json --no-db --device cpu -m " + kModel + " " + corpus() +
                            " --protocol doc --window 16 -t 1");
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_EQ(nlohmann::json::parse(r2.out)["bpc"], nlohmann::json::parse(r.out)["bpc"]);
}

TEST(DeviceCli, CudaWithoutPluginIsAClearError) {
  const std::string bogus = test::temp_dir() + "/nowhere/liblmzip_cuda.so";
  ::setenv("LMZIP_CUDA_PLUGIN", bogus.c_str(), 1);
  auto r = test::run_lmzip("bpc --no-db --device cuda -m " + kModel + " " + corpus() + " --protocol doc --window 16");
  ::unsetenv("LMZIP_CUDA_PLUGIN");
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("CUDA plugin liblmzip_cuda.so could not be loaded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bogus), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--device cpu"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(DeviceCli, CudaWithoutPluginOnTheDefaultSearchPath) {
  ::unsetenv("LMZIP_CUDA_PLUGIN");
  auto r = test::run_lmzip("bpc --no-db --device cuda --compute fp32 -m " + kModel + " " + corpus() +
                           " --protocol doc --window 16");
  // Where a plugin and a GPU exist (a GPU machine with the plugin installed) this may succeed; elsewhere exit 1.
  if (r.rc != 0) {
    EXPECT_EQ(r.rc, 1) << r.err;
    EXPECT_NE(r.err.find("--device cuda"), std::string::npos) << r.err;
  }
}

TEST(DeviceCli, OptionErrorsAreUsageErrors) {
  const std::string base = "bpc --no-db -m " + kModel + " " + corpus() + " --protocol doc --window 16 ";
  auto r = test::run_lmzip(base + "--device tpu");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown --device 'tpu'"), std::string::npos) << r.err;
  r = test::run_lmzip(base + "--compute fp32");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--device cuda only"), std::string::npos) << r.err;
  r = test::run_lmzip(base + "--device cuda --compute fp16");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown --compute 'fp16'"), std::string::npos) << r.err;
  r = test::run_lmzip(base + "--device cuda --batch 0");
  EXPECT_EQ(r.rc, 2);
  r = test::run_lmzip(base + "--batch 2");
  EXPECT_EQ(r.rc, 2);
}

TEST(DeviceCli, HelpNamesTheDeviceOptions) {
  auto r = test::run_lmzip("bpc --help");
  ASSERT_EQ(r.rc, 0);
  for (const char* s : {"--device", "--compute", "--batch", "cuda"}) EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace lmzip

// The recurrent families against an independent PyTorch forward (tests/model/torch_forward.py, written from the
// Hugging Face definitions of Mamba and Jamba, float64): `lmzip bpc --protocol doc` on a short text gives the
// total nats PyTorch computes for the same token ids. Skipped, with the reason, where python3-torch is missing.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

// Debian's python3 (python3-torch is a Debian package); a python3 earlier on PATH may lack it.
std::string torch_python() {
  std::string out, err;
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    if (test::run_command(std::string(py) + " -c 'import torch, numpy'", &out, &err) == 0) return py;
  }
  return "";
}

double lmzip_total_nats(const std::string& model, const std::string& text_file) {
  const test::CliResult r =
      test::run_lmzip("bpc --json --no-db -m " + model + " " + text_file + " --protocol doc --window 512");
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.rc == 0 ? nlohmann::json::parse(r.out)["total_nats"].get<double>() : NAN;
}

double torch_total_nats(const std::string& python, const std::string& model, const std::string& text_file) {
  const test::CliResult ids = test::run_lmzip("tokenize -m " + model + " -f " + text_file + " --ids");
  EXPECT_EQ(ids.rc, 0) << ids.err;
  std::string out, err;
  const int rc = test::run_command(python + " tests/model/torch_forward.py " + model + " " + ids.out, &out, &err);
  EXPECT_EQ(rc, 0) << err;
  return rc == 0 ? std::stod(out) : NAN;
}

class TorchReference : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchReference, TotalNatsAgree) {
  const std::string python = torch_python();
  if (python.empty()) GTEST_SKIP() << "python3-torch is not installed: the PyTorch check of " << GetParam()
                                   << " is skipped (apt-get install python3-torch to run it)";
  std::string model = GetParam();
  if (model.find('/') == std::string::npos) {  // a family name: a tiny synth model of it
    const std::string path = test::temp_dir() + "/torch-" + model + ".gguf";
    const test::CliResult s = test::run_lmzip("synth --arch " + model + " --vocab " + test::shared_dir() +
                                              "/zoo/models/zoo-m2.gguf -o " + path);
    ASSERT_EQ(s.rc, 0) << s.err;
    model = path;
  } else {
    LMZIP_REQUIRE_SHARED("archs/reference.json");
    model = test::shared_dir() + "/" + model;
  }
  const std::string text = test::shared_dir() + "/zoo/corpora/cc.testA.txt";
  const std::string head = test::temp_dir() + "/torch-text.txt";
  std::string out, err;
  ASSERT_EQ(test::run_command("head -c 600 " + text + " > " + head, &out, &err), 0);
  const double got = lmzip_total_nats(model, head), want = torch_total_nats(python, model, head);
  EXPECT_NEAR(got, want, 1e-5 * want) << GetParam();
  std::printf("%s: lmzip %.9f nats, PyTorch %.9f, relative %.2e\n", GetParam().c_str(), got, want,
              std::abs(got - want) / want);
}

INSTANTIATE_TEST_SUITE_P(Recurrent, TorchReference,
                         ::testing::Values("archs/mamba.gguf", "archs/mamba-F16.gguf", "mamba", "jamba"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '/' || ch == '-' || ch == '.') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace lmzip

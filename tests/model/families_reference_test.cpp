// The fast forward (Model::score) against the double-precision reference forward (reference_forward.cpp,
// written apart from the engine) for every registered family and every weight type, on tiny synth models.
#include <gtest/gtest.h>

#include <cmath>

#include "lmzip/kernels/dequant.h"
#include "lmzip/model/family.h"
#include "lmzip/model/synth.h"
#include "model/reference_forward.h"
#include "model/synth_fixture.h"

namespace lmzip {
namespace {

struct Case {
  std::string arch;
  GgmlType type;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << ggml_type_name(c.type); }

class FamilyVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(FamilyVsReference, FastForwardAgreesWithDoubleReference) {
  const Case& c = GetParam();
  SynthShape shape = *synth_preset("tiny", c.arch);
  shape.n_vocab = 300;
  const test::SynthFixture f =
      test::load_synth(shape, 5, c.type, "ref-" + c.arch + "-" + std::string(ggml_type_name(c.type)));
  const auto tokens = test::random_tokens(24, 9);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
  ThreadPool pool(2);
  const std::vector<double> got = f.model->score(tokens, targets, pool);
  const std::vector<double> want = test::reference_nll(f.file, tokens, targets);
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  // fp32 activations against double: a few 1e-6 nats per token on these shapes; quantized weights are read
  // identically by both (the reference dequantizes element by element), so the bound does not depend on type.
  EXPECT_LT(worst, 1e-4) << c.arch << " " << ggml_type_name(c.type);
  RecordProperty("worst_nats", std::to_string(worst));
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const Family& f : families()) {
    for (GgmlType t : supported_weight_type_list()) out.push_back({f.name, t});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyVsReference, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param.arch + "_" + ggml_type_name(info.param.type);
  for (char& ch : n) if (ch == '-') ch = '_';
  return n;
});

}  // namespace
}  // namespace lmzip

#include "lmzip/score/loss_curve.h"

#include <gtest/gtest.h>

namespace lmzip {
namespace {

// Pieces "<s>" (special), "ab", "" (a token with no bytes), "c", "d", "efg".
class PieceTokenizer : public Tokenizer {
 public:
  PieceTokenizer() : Tokenizer(make_vocab()) {}
  std::vector<TokenId> encode(std::string_view, const EncodeOptions&) const override { return {}; }
  std::string decode(std::span<const TokenId> ids, bool skip_special) const override {
    std::string s;
    for (TokenId id : ids) {
      if (id == 0 && skip_special) continue;
      s += vocab_.tokens[static_cast<size_t>(id)];
    }
    return s;
  }

 private:
  static Vocab make_vocab() {
    Vocab v;
    v.tokens = {"<s>", "ab", "", "c", "d", "efg"};
    v.bos = 0;
    return v;
  }
};

// Two documents [BOS ab "" c] and [BOS d efg], one window each scoring every token after BOS:
// nats 2, 1, 3 and 4, 6.
TEST(LossCurve, TokenAndBytePositionsByHand) {
  ScoringPlan plan;
  plan.stream.tokens = {0, 1, 2, 3, 0, 4, 5};
  plan.stream.doc_of = {0, 0, 0, 0, 1, 1, 1};
  plan.docs.resize(2);
  plan.windows = {Window{.begin = 0, .length = 3, .first_scored = 0, .n_scored = 3},
                  Window{.begin = 4, .length = 2, .first_scored = 0, .n_scored = 2}};
  PieceTokenizer tok;
  LossCurve curve(plan, tok);
  curve.add_window(0, std::vector<double>{2, 1, 3});
  curve.add_window(1, std::vector<double>{4, 6});
  const auto& t = curve.by_token_position();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t[0].mean(), 3.0);  // (2 + 4) / 2
  EXPECT_DOUBLE_EQ(t[1].mean(), 3.5);  // (1 + 6) / 2
  EXPECT_DOUBLE_EQ(t[2].mean(), 3.0);
  EXPECT_EQ(t[2].count, 1u);
  // Document 0: "ab" gives bytes 0, 1 one nat each; "" passes its 1 nat to "c": byte 2 gets 4.
  // Document 1: "d" gives byte 0 4 nats; "efg" bytes 1..3 two each.
  const auto b = curve.by_byte_position();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_DOUBLE_EQ(b[0].mean(), 2.5);
  EXPECT_DOUBLE_EQ(b[1].mean(), 1.5);
  EXPECT_DOUBLE_EQ(b[2].mean(), 3.0);
  EXPECT_DOUBLE_EQ(b[3].mean(), 2.0);
  EXPECT_EQ(b[0].count, 2u);
  EXPECT_EQ(b[3].count, 1u);
  // Every nat lands on some byte: 16 in all.
  double total = 0;
  for (const auto& p : b) total += p.sum;
  EXPECT_DOUBLE_EQ(total, 16.0);
}

}  // namespace
}  // namespace lmzip

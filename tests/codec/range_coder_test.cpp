// The range coder: hand-worked examples, carry propagation, and round trips of random symbol streams.
#include <gtest/gtest.h>

#include <random>

#include "lmzip/codec/range_coder.h"

namespace lmzip::codec {
namespace {

struct Symbol {
  uint32_t cum, freq, total;
};

std::string encode_all(const std::vector<Symbol>& symbols) {
  RangeEncoder enc;
  for (const Symbol& s : symbols) enc.encode(s.cum, s.freq, s.total);
  return enc.finish();
}

void expect_decodes(const std::string& payload, const std::vector<Symbol>& symbols) {
  RangeDecoder dec(payload);
  for (size_t i = 0; i < symbols.size(); ++i) {
    const Symbol& s = symbols[i];
    uint32_t target = dec.decode(s.total);
    ASSERT_GE(target, s.cum) << "symbol " << i;
    ASSERT_LT(target, s.cum + s.freq) << "symbol " << i;
    dec.consume(s.cum, s.freq);
  }
}

TEST(RangeCoder, EmptyStreamIsEmpty) {
  EXPECT_EQ(encode_all({}), "");
  EXPECT_EQ(encode_all(std::vector<Symbol>(1000, {0, 5, 9})), "");  // the lowest value is all zero bytes
}

TEST(RangeCoder, HandWorkedTwoSymbols) {
  // range = 2^56-1; total 4: r = floor((2^56-1)/4) = 2^54-1. Symbol [1,2): low = r, range = r.
  // range >= 2^48: no shift. Symbol [3,4) of 4: r2 = floor((2^54-1)/4) = 2^52-1,
  // low = (2^54-1) + 3*(2^52-1) = 7*2^52 - 4 = 0x6F_FFFF_FFFF_FFFC, range = 2^52-1.
  // finish: round low up to a multiple of 2^48 -> 0x70 << 48; its top byte 0x70 is the only non-zero byte.
  std::string p = encode_all({{1, 1, 4}, {3, 1, 4}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(static_cast<uint8_t>(p[0]), 0x70);
  expect_decodes(p, {{1, 1, 4}, {3, 1, 4}});
}

TEST(RangeCoder, FirstUniformByteIsNearlyVerbatim) {
  // [0x12, 0x13) of 256: r = floor((2^56-1)/256) = 2^48-1, low = 0x12 * (2^48-1) = 0x12 << 48 minus 0x12:
  // the first byte out is 0x11 (the borrow), then 0xFF bytes, and the final rounding carries it back to 0x12.
  std::string p = encode_all({{0x12, 1, 256}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(static_cast<uint8_t>(p[0]), 0x12);
  std::vector<Symbol> s;
  for (uint32_t b : {0x12u, 0x34u, 0x56u, 0x78u, 0x9Au}) s.push_back({b, 1, 256});
  std::string q = encode_all(s);
  EXPECT_LE(q.size(), 6u);
  expect_decodes(q, s);
}

TEST(RangeCoder, CarryPropagatesThroughPendingFFBytes) {
  // Symbols at the very top of the range build up 0xFF bytes (pending); then a symbol pushing low over 2^56
  // must turn them into 0x00 and increment the byte before. Round trip proves the carry was applied.
  std::vector<Symbol> s = {{0, 1, 2}};
  for (int i = 0; i < 40; ++i) s.push_back({255, 1, 256});
  s.push_back({1, 1, 2});
  for (int i = 0; i < 20; ++i) s.push_back({3, 1, 4});
  expect_decodes(encode_all(s), s);
}

TEST(RangeCoder, RandomStreamsRoundTrip) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Symbol> s;
    int n = static_cast<int>(rng() % 2000);
    for (int i = 0; i < n; ++i) {
      uint32_t total = 1 + static_cast<uint32_t>(rng() % (1u << (1 + rng() % 28)));
      uint32_t cum = static_cast<uint32_t>(rng() % total);
      uint32_t freq = 1 + static_cast<uint32_t>(rng() % (total - cum));
      if (rng() % 4 == 0) cum = total - 1, freq = 1;  // extreme symbols exercise the carry path
      s.push_back({cum, freq, total});
    }
    expect_decodes(encode_all(s), s);
  }
}

TEST(RangeCoder, SizeMatchesInformationContent) {
  // 10000 symbols of probability 1/3 each: ideal 10000 * log2(3) bits = 1981.2 bytes. (All-zero symbols would
  // code to nothing at all: the payload's trailing zero bytes are implicit.)
  std::vector<Symbol> s;
  for (uint32_t i = 0; i < 10000; ++i) s.push_back({i * 7 % 3, 1, 3});
  std::string p = encode_all(s);
  EXPECT_GE(p.size(), 1981u);
  EXPECT_LE(p.size(), 1990u);
  expect_decodes(p, s);
}

}  // namespace
}  // namespace lmzip::codec

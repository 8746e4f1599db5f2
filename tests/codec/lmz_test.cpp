// Whole-file round trips through compress/decompress with the test tokenizer and count predictor: every kind
// of input comes back byte for byte, and the bytes never depend on the thread count.
#include <gtest/gtest.h>

#include "codec/codec_fixture.h"
#include "lmzip/codec/container.h"

namespace lmzip::codec {
namespace {

using test::compress_test;
using test::decompress_test;

void expect_round_trip(const std::string& input, uint32_t segment_tokens = 256) {
  std::string lmz = compress_test(input, segment_tokens);
  EXPECT_EQ(decompress_test(lmz), input);
}

TEST(Lmz, EmptyInput) {
  std::string lmz = compress_test("");
  // Header (68 + 10 + 8 bytes of strings) and the header checksum, no segments.
  EXPECT_EQ(lmz.size(), 68u + 10 + 8 + 8);
  EXPECT_EQ(decompress_test(lmz), "");
}

TEST(Lmz, OneByte) {
  for (int b : {0, 97, 10, 0x80, 0xFF}) expect_round_trip(std::string(1, static_cast<char>(b)));
}

TEST(Lmz, ShortText) {
  expect_round_trip("hi");
  expect_round_trip("hello, world\n");
  expect_round_trip("the cat and the dog");
}

TEST(Lmz, Binary) {
  expect_round_trip(test::random_bytes(100000, 1));
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  expect_round_trip(all + all + all);
  expect_round_trip(std::string(5000, '\0'));
}

TEST(Lmz, InvalidUtf8) {
  // Stray continuation bytes, overlong encodings, surrogates, truncated sequences, beyond U+10FFFF.
  expect_round_trip("ok \x80 text \xC0\xAF more \xED\xA0\x80 and \xF4\x90\x80\x80 end \xE2\x82");
  expect_round_trip("valid ünïcödé ✓ 😀 then \xFF\xFE\xFD and again ünïcödé text that is long enough");
}

TEST(Lmz, TextTheTokenizerDoesNotRoundTrip) {
  // The test tokenizer drops '\r': such lines must travel as raw spans.
  std::string crlf = "line one\r\nline two\r\nthe third line\nand the fourth\n";
  expect_round_trip(crlf);
  expect_round_trip(crlf + test::sample_text(20000, 5) + "\r\r\r");
}

TEST(Lmz, LongTextManySegments) {
  std::string text = test::sample_text(200000, 9);
  CompressStats stats;
  std::string lmz = compress_test(text, 128, 1, &stats);
  EXPECT_EQ(decompress_test(lmz), text);
  EXPECT_GT(stats.segments, 100u);
  EXPECT_EQ(stats.raw_bytes, 0u);
  // The payload is the coded cross-entropy plus a few bytes per segment; the integer tables cost < 0.5 %.
  EXPECT_LT(stats.freq_bits, stats.model_bits * 1.005);
  EXPECT_GT(stats.freq_bits, stats.model_bits * 0.999);
  double payload_bits = 8.0 * static_cast<double>(stats.payload_bytes);
  EXPECT_LT(payload_bits, stats.freq_bits + 8.0 * 4 * static_cast<double>(stats.segments));
}

TEST(Lmz, ThreadCountDoesNotChangeBytes) {
  std::string input = test::sample_text(60000, 3) + test::random_bytes(3000, 4) + test::sample_text(30000, 8);
  std::string one = compress_test(input, 200, 1);
  std::string two = compress_test(input, 200, 2);
  std::string five = compress_test(input, 200, 5);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, five);
  EXPECT_EQ(decompress_test(one, 1), input);
  EXPECT_EQ(decompress_test(one, 2), input);
  EXPECT_EQ(decompress_test(one, 7), input);
}

TEST(Lmz, SegmentTableDescribesTheInput) {
  std::string input = test::sample_text(50000, 11);
  std::string lmz = compress_test(input, 100);
  ParsedLmz parsed = parse_lmz(lmz, "x");
  uint64_t offset = 0, tokens = 0;
  for (const SegmentEntry& e : parsed.header.segments) {
    EXPECT_LE(e.token_count, 100u);
    offset += e.original_bytes;
    tokens += e.token_count;
  }
  // Segments are filled near the budget, not cut short (the last one may be short).
  EXPECT_GT(tokens, 85u * (parsed.header.segments.size() - 1));
  EXPECT_EQ(offset, input.size());
  EXPECT_EQ(parsed.header.original_size, input.size());
  EXPECT_EQ(parsed.header.model.name, "test-count");
}

TEST(Lmz, LargeInput) {
  std::string input = test::sample_text(400000, 21);
  input[200000] = '\xFF';
  std::string lmz = compress_test(input, 1024, 2);
  EXPECT_LT(lmz.size(), input.size() / 3);
  EXPECT_EQ(decompress_test(lmz, 2), input);
}

}  // namespace
}  // namespace lmzip::codec

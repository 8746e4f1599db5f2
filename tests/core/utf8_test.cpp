#include "lmzip/core/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "lmzip/core/hash.h"

namespace lmzip {
namespace {

TEST(Utf8, CountsCodePointsLikePythonLen) {
  EXPECT_EQ(count_code_points(""), 0u);
  EXPECT_EQ(count_code_points("abc"), 3u);
  EXPECT_EQ(count_code_points("\xc3\xa9t\xc3\xa9"), 3u);             // "été"
  EXPECT_EQ(count_code_points("\xe2\x96\x81"), 1u);                   // U+2581
  EXPECT_EQ(count_code_points("\xf0\x9f\x98\x80!"), 2u);              // emoji + '!'
}

TEST(Utf8, RejectsMalformedSequences) {
  size_t at = 99;
  EXPECT_TRUE(is_valid_utf8("plain \xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("ab\xff", &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x96"));          // truncated
}

TEST(Utf8, DecodeAndEncodeRoundTrip) {
  std::string s;
  for (uint32_t cp : {0x41u, 0xE9u, 0x2581u, 0x1F600u, 0x10FFFFu}) append_utf8(s, cp);
  size_t pos = 0;
  std::vector<uint32_t> got;
  while (pos < s.size()) got.push_back(decode_utf8(s, pos));
  EXPECT_EQ(got, (std::vector<uint32_t>{0x41, 0xE9, 0x2581, 0x1F600, 0x10FFFF}));
  pos = 0;
  EXPECT_EQ(decode_utf8("\xff", pos), 0xFFFDu);
  EXPECT_EQ(pos, 1u);
}

TEST(Hash, KnownDigests) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  std::string million(1000000, 'a');
  h.update(million.data(), 333);
  h.update(million.data() + 333, million.size() - 333);
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // XXH64 reference values (xxHash's own test: empty input, seed 0).
  EXPECT_EQ(hex_u64(xxh64("", 0)), "ef46db3751d8e999");
}

}  // namespace
}  // namespace lmzip

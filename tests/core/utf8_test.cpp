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
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                       "mnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  // Lengths around the block and padding boundaries (digests from python3's hashlib).
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes += static_cast<char>(i * 37 + 11);
  EXPECT_EQ(sha256_hex(std::string_view(bytes).substr(0, 55)), "2900465fcb533e05a158fd2b3be0e5e3b03740d83060aa3580e0d98a96bf2384");
  EXPECT_EQ(sha256_hex(std::string_view(bytes).substr(0, 64)), "94eb5de4943613fd048dc93393ab06877405faa39c11f53e9386083339833e7e");
  EXPECT_EQ(sha256_hex(std::string_view(bytes).substr(0, 119)), "b0dc41b1a384e2f1203f0351b38fbeaafceef577ce1191d5bfc25da39f721eae");
  EXPECT_EQ(sha256_hex(bytes), "5e48d64839a8bff5e2471507af6a49f9990817df437857f4a2007df41266e1b5");
  // XXH64 reference values (xxHash's own test: empty input, seed 0).
  EXPECT_EQ(hex_u64(xxh64("", 0)), "ef46db3751d8e999");
}

// Issue 18 item 15: what an error message quotes cannot write raw bytes or terminal escapes to the terminal.
TEST(Utf8, PrintableEscapesInvalidBytesAndControls) {
  EXPECT_EQ(printable("plain caf\xc3\xa9 \xf0\x9f\x98\x80 a\\b"), "plain caf\xc3\xa9 \xf0\x9f\x98\x80 a\\b");
  EXPECT_EQ(printable("caf\xe9"), "caf\\xE9");                       // Latin-1
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");  // ANSI escapes
  EXPECT_EQ(printable("a\nb\tc\r\x7f"), "a\\x0Ab\\x09c\\x0D\\x7F");
  EXPECT_EQ(printable("\xc2\x9b"), "\\xC2\\x9B");                  // C1 CSI
  EXPECT_EQ(printable("\xe2\x80\xae"), "\\xE2\\x80\\xAE");          // right-to-left override
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\xe2\x96"), "\\xE2\\x96");                  // truncated sequence
}

}  // namespace
}  // namespace lmzip
